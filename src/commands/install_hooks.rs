use std::path::{Path, PathBuf};
use std::process::ExitCode;

use super::{Global, Outcome, PASSED, err};
use crate::sources::{Fatal, git};

/// Marks hooks this command wrote, so it may replace them later.
pub(crate) const MARKER: &str = "# installed by git-policy install-hooks";

/// `install-hooks`: commit-msg and pre-push hooks that call git-policy.
pub(crate) fn run(global: &Global, force: bool) -> Outcome {
    let repo = git::open(&global.dir)?;
    let dir = hooks_dir(&repo);
    std::fs::create_dir_all(&dir)
        .map_err(|e| Fatal::new(format!("cannot create {}: {e}", dir.display())))?;
    let exe = std::env::current_exe()
        .ok()
        .map(|p| p.display().to_string())
        .unwrap_or_else(|| String::from("git-policy"));
    let hooks = [
        ("commit-msg", commit_msg_hook(&exe)),
        ("pre-push", pre_push_hook(&exe)),
    ];
    // Check both before writing either: all or nothing.
    for (name, _) in &hooks {
        may_replace(&dir, name, force)?;
    }
    for (name, script) in &hooks {
        install(&dir, name, script)?;
    }
    Ok(ExitCode::from(PASSED))
}

/// Whether the hook `name` may be written: not through a link, not over one
/// git-policy did not write unless forced.
fn may_replace(dir: &Path, name: &str, force: bool) -> Result<(), Fatal> {
    let path = dir.join(name);
    if std::fs::symlink_metadata(&path).is_ok_and(|m| m.file_type().is_symlink()) {
        return Err(Fatal::new(format!(
            "{} is a symbolic link; git-policy does not write through it",
            path.display()
        ))
        .help("remove the link (or replace it with a file) and run install-hooks again"));
    }
    if let Ok(existing) = std::fs::read_to_string(&path) {
        if !existing.contains(MARKER) && !force {
            return Err(Fatal::new(format!("{} already exists and was not written by git-policy", path.display()))
                .help(format!(
                    "--force replaces it (keeping the old one as {name}.pre-git-policy), or call git-policy from it: `git-policy check commit-msg \"$1\"`"
                )));
        }
    } else if path.exists() {
        return Err(Fatal::new(format!(
            "{} exists but cannot be read",
            path.display()
        )));
    }
    Ok(())
}

/// Writes the hook `name`, keeping one git-policy did not write as
/// `NAME.pre-git-policy`.
fn install(dir: &Path, name: &str, script: &str) -> Result<(), Fatal> {
    let path = dir.join(name);
    if let Ok(existing) = std::fs::read_to_string(&path)
        && !existing.contains(MARKER)
    {
        let backup = dir.join(format!("{name}.pre-git-policy"));
        std::fs::rename(&path, &backup).map_err(|e| {
            Fatal::new(format!(
                "cannot keep the old hook as {}: {e}",
                backup.display()
            ))
        })?;
        err(&format!(
            "kept the previous {name} hook as {}\n",
            backup.display()
        ));
    }
    write_executable(&path, script)?;
    err(&format!("installed {}\n", path.display()));
    Ok(())
}

/// Where git looks for hooks: `core.hooksPath` (relative to the work tree,
/// where hooks run), else the common git dir's `hooks` (shared by every
/// linked worktree: a worktree's own git dir has no hooks git runs).
fn hooks_dir(repo: &git2::Repository) -> PathBuf {
    let configured = repo
        .config()
        .ok()
        .and_then(|c| c.get_path("core.hooksPath").ok());
    match configured {
        Some(p) if p.is_absolute() => p,
        Some(p) => repo.workdir().unwrap_or_else(|| repo.commondir()).join(p),
        None => repo.commondir().join("hooks"),
    }
}

fn shell_quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}

fn preamble(exe: &str) -> String {
    format!(
        "#!/bin/sh\n{MARKER}; run it again to update, delete this file to remove.\n\
         installed_bin={}\n\
         GIT_POLICY=\"${{GIT_POLICY:-$installed_bin}}\"\n\
         [ -x \"$GIT_POLICY\" ] || GIT_POLICY=git-policy\n",
        shell_quote(exe)
    )
}

fn commit_msg_hook(exe: &str) -> String {
    format!(
        "{}exec \"$GIT_POLICY\" check commit-msg \"$1\"\n",
        preamble(exe)
    )
}

fn pre_push_hook(exe: &str) -> String {
    // git hands over each updated ref on stdin; `check push` reads them: the
    // remote branch that changes (`git push origin topic:main` is `main`) and
    // every commit the remote lacks, also on a first push to an empty remote.
    format!("{}exec \"$GIT_POLICY\" check push \"$1\"\n", preamble(exe))
}

/// Writes a new file beside `path` and renames it over: a link made at
/// `path` after the check is replaced, never written through.
fn write_executable(path: &Path, text: &str) -> Result<(), Fatal> {
    use std::io::Write;
    let temporary = path.with_extension(format!("git-policy-{}.tmp", std::process::id()));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o755);
    }
    let written = options
        .open(&temporary)
        .and_then(|mut file| file.write_all(text.as_bytes()));
    if let Err(e) = written {
        let _ = std::fs::remove_file(&temporary);
        return Err(Fatal::new(format!("cannot write {}: {e}", path.display())));
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&temporary, std::fs::Permissions::from_mode(0o755))
            .map_err(|e| Fatal::new(format!("cannot make {} executable: {e}", path.display())))?;
    }
    std::fs::rename(&temporary, path).map_err(|e| {
        let _ = std::fs::remove_file(&temporary);
        Fatal::new(format!("cannot write {}: {e}", path.display()))
    })
}
