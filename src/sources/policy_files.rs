//! Finding and reading policy files: `--policy`, `.github/policies/`,
//! `.git-policy.yml`, then the built-in pack.

use std::path::{Path, PathBuf};

use walkdir::WalkDir;

use super::Fatal;
use crate::policy::PolicySource;

/// Where the policy came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Origin {
    /// `--policy` paths.
    Explicit,
    /// The repository's `.github/policies/` or `.git-policy.yml`.
    Repository,
    /// The embedded pack.
    Builtin,
}

pub const POLICY_DIR: &str = ".github/policies";
pub const POLICY_FILE: &str = ".git-policy.yml";

/// Finds the policy for a work tree (`root`, if any), first that exists wins.
pub fn discover(
    root: Option<&Path>,
    explicit: &[PathBuf],
    builtin: bool,
) -> Result<(Vec<PolicySource>, Origin), Fatal> {
    if !explicit.is_empty() {
        let mut sources = Vec::new();
        for path in explicit {
            if !path.exists() {
                return Err(Fatal::new(format!("policy path `{}` does not exist", path.display()))
                    .help("pass an existing file or folder to --policy, or leave it out to use the repository's policy"));
            }
            sources.extend(read_path(path, path.parent())?);
        }
        if sources.is_empty() {
            return Err(
                Fatal::new("the --policy folders hold no *.yml or *.yaml file")
                    .help("add a policy file, e.g. with `git-policy init`"),
            );
        }
        return Ok((sources, Origin::Explicit));
    }
    if let Some(root) = root {
        let dir = root.join(POLICY_DIR);
        if dir.is_dir() {
            let sources = read_path(&dir, Some(root))?;
            if !sources.is_empty() {
                return Ok((sources, Origin::Repository));
            }
        }
        let file = root.join(POLICY_FILE);
        if file.is_file() {
            return Ok((vec![read_file(&file, Some(root))?], Origin::Repository));
        }
    }
    if builtin {
        return Ok((vec![PolicySource::builtin()], Origin::Builtin));
    }
    Err(Fatal::new("no policy found, and the built-in pack is disabled (--no-builtin / GIT_POLICY_NO_BUILTIN)").help(format!(
        "add `{POLICY_FILE}` or `{POLICY_DIR}/*.yml` (`git-policy init` writes a starter), pass --policy PATH, or allow the built-in pack"
    )))
}

/// A file, or every `*.yml`/`*.yaml` under a folder in name order.
fn read_path(path: &Path, base: Option<&Path>) -> Result<Vec<PolicySource>, Fatal> {
    if path.is_file() {
        return Ok(vec![read_file(path, base)?]);
    }
    let mut files = Vec::new();
    for entry in WalkDir::new(path).sort_by_file_name() {
        let entry = entry.map_err(|e| {
            Fatal::new(format!(
                "cannot read policy folder `{}`: {e}",
                path.display()
            ))
        })?;
        let name = entry.file_name().to_string_lossy();
        if entry.file_type().is_file() && (name.ends_with(".yml") || name.ends_with(".yaml")) {
            files.push(read_file(entry.path(), base)?);
        }
    }
    Ok(files)
}

fn read_file(path: &Path, base: Option<&Path>) -> Result<PolicySource, Fatal> {
    let bytes = std::fs::read(path)
        .map_err(|e| Fatal::new(format!("cannot read policy file `{}`: {e}", path.display())))?;
    let name = base
        .and_then(|b| path.strip_prefix(b).ok())
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(path)
        .to_string_lossy()
        .replace('\\', "/");
    let name = name.strip_prefix("./").map(str::to_owned).unwrap_or(name);
    let text = String::from_utf8(bytes).map_err(|e| {
        Fatal::new(format!(
            "policy file `{name}` is not valid UTF-8 (byte {})",
            e.utf8_error().valid_up_to()
        ))
        .help("save the file as UTF-8")
    })?;
    Ok(PolicySource::new(name, text))
}

/// Policy files as they are in a commit's tree (for a pull request's base).
/// `None` when the commit has none.
pub fn read_at_commit(
    repo: &git2::Repository,
    commit: git2::Oid,
) -> Result<Option<Vec<PolicySource>>, Fatal> {
    let tree = repo
        .find_commit(commit)
        .and_then(|c| c.tree())
        .map_err(|e| Fatal::new(format!("cannot read commit {commit}: {}", e.message())))?;
    let blob_text = |path: &str, oid: git2::Oid| -> Result<PolicySource, Fatal> {
        let blob = repo
            .find_blob(oid)
            .map_err(|e| Fatal::new(format!("cannot read {path} at {commit}: {}", e.message())))?;
        let text = std::str::from_utf8(blob.content()).map_err(|_| {
            Fatal::new(format!(
                "policy file `{path}` at {commit} is not valid UTF-8"
            ))
        })?;
        Ok(PolicySource::new(
            format!("{path}@{}", &commit.to_string()[..10]),
            text,
        ))
    };
    if let Ok(entry) = tree.get_path(Path::new(POLICY_DIR))
        && let Ok(dir) = entry.to_object(repo).and_then(|o| o.peel_to_tree())
    {
        let mut found = Vec::new();
        let mut error = None;
        dir.walk(git2::TreeWalkMode::PreOrder, |prefix, e| {
            let name = e.name().unwrap_or("");
            if e.kind() == Some(git2::ObjectType::Blob)
                && (name.ends_with(".yml") || name.ends_with(".yaml"))
            {
                let path = format!("{POLICY_DIR}/{prefix}{name}");
                match blob_text(&path, e.id()) {
                    Ok(s) => found.push(s),
                    Err(err) => {
                        error = Some(err);
                        return git2::TreeWalkResult::Abort;
                    }
                }
            }
            git2::TreeWalkResult::Ok
        })
        .ok();
        if let Some(err) = error {
            return Err(err);
        }
        if !found.is_empty() {
            found.sort_by(|a, b| a.name.cmp(&b.name));
            return Ok(Some(found));
        }
    }
    if let Ok(entry) = tree.get_path(Path::new(POLICY_FILE)) {
        return Ok(Some(vec![blob_text(POLICY_FILE, entry.id())?]));
    }
    Ok(None)
}
