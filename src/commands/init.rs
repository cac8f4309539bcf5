use std::process::ExitCode;

use super::{Global, Outcome, PASSED, err};
use crate::policy::BUILTIN_TEXT;
use crate::sources::policy_files::POLICY_FILE;
use crate::sources::{Fatal, git};

pub const SCHEMA_FILE: &str = ".git-policy.schema.json";

/// `init`: writes `.git-policy.yml` (the built-in pack, to adapt) and the
/// JSON Schema it points editors at.
pub fn run(global: &Global, force: bool) -> Outcome {
    let root = match git::open(&global.dir) {
        Ok(repo) => git::work_tree(&repo).ok_or_else(|| {
            Fatal::new("the repository is bare: there is no work tree to write a policy into")
        })?,
        Err(_) => global.dir.clone(),
    };
    let policy_path = root.join(POLICY_FILE);
    let schema_path = root.join(SCHEMA_FILE);
    for path in [&policy_path, &schema_path] {
        if path.exists() && !force {
            return Err(Fatal::new(format!("{} already exists", path.display()))
                .help("pass --force to overwrite it")
                .into());
        }
    }
    let text = format!("# yaml-language-server: $schema=./{SCHEMA_FILE}\n{BUILTIN_TEXT}");
    let write = |path: &std::path::Path, text: &str| {
        std::fs::write(path, text)
            .map_err(|e| Fatal::new(format!("cannot write {}: {e}", path.display())))
    };
    write(&policy_path, &text)?;
    write(&schema_path, &super::schema::schema_text())?;
    err(&format!(
        "wrote {} (the release-train pack: adapt the ticket keys, kinds and rules) and {} (for editor completion)\nnext: `git-policy validate`, then `git-policy install-hooks`\n",
        policy_path.display(),
        schema_path.display()
    ));
    Ok(ExitCode::from(PASSED))
}
