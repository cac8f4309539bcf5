//! Embeds the commit git-policy is built from, for `--version`:
//! `git-policy 0.1.0 (3f2c1a9b7d4e 2026-12-01)`.
//!
//! Sources, first found wins: `GIT_POLICY_BUILD_COMMIT` (builds from a
//! tarball), `.cargo_vcs_info.json` (a crate from crates.io, written by
//! `cargo package`), then git when this folder is the top of a work tree.
use std::path::Path;
use std::process::Command;

fn main() {
    println!("cargo:rerun-if-env-changed=GIT_POLICY_BUILD_COMMIT");
    let dir = std::env::var("CARGO_MANIFEST_DIR").unwrap_or_default();
    let dir = Path::new(&dir);
    let commit = std::env::var("GIT_POLICY_BUILD_COMMIT")
        .ok()
        .filter(|c| !c.is_empty())
        .map(|c| (c, String::new()))
        .or_else(|| from_vcs_info(dir))
        .or_else(|| from_git(dir));
    let text = match commit {
        Some((sha, date)) if date.is_empty() => format!("{} ({})", version(), short(&sha)),
        Some((sha, date)) => format!("{} ({} {date})", version(), short(&sha)),
        None => version(),
    };
    println!("cargo:rustc-env=GIT_POLICY_LONG_VERSION={text}");
}

fn version() -> String {
    std::env::var("CARGO_PKG_VERSION").unwrap_or_default()
}

fn short(sha: &str) -> &str {
    &sha[..sha.len().min(12)]
}

fn from_vcs_info(dir: &Path) -> Option<(String, String)> {
    let path = dir.join(".cargo_vcs_info.json");
    // Watching a file that does not exist would rerun this script on every build.
    if !path.exists() {
        return None;
    }
    println!("cargo:rerun-if-changed={}", path.display());
    let text = std::fs::read_to_string(path).ok()?;
    let after = &text[text.find("\"sha1\"")? + 6..];
    let start = after.find('"')? + 1;
    let end = start + after[start..].find('"')?;
    Some((after[start..end].to_string(), String::new()))
}

fn from_git(dir: &Path) -> Option<(String, String)> {
    let git = |args: &[&str]| -> Option<String> {
        let out = Command::new("git")
            .args(args)
            .current_dir(dir)
            .output()
            .ok()?;
        out.status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
    };
    // Only this repository's commit: a crate unpacked inside another work tree has none.
    let top = git(&["rev-parse", "--show-toplevel"])?;
    if std::fs::canonicalize(&top).ok()? != std::fs::canonicalize(dir).ok()? {
        return None;
    }
    // Rebuild when HEAD moves: HEAD itself, the branch it names, packed refs.
    let mut watched = vec!["HEAD".to_string(), "packed-refs".to_string()];
    if let Some(branch) = git(&["symbolic-ref", "-q", "HEAD"]) {
        watched.push(branch);
    }
    for name in watched {
        if let Some(path) = git(&["rev-parse", "--path-format=absolute", "--git-path", &name])
            && Path::new(&path).exists()
        {
            println!("cargo:rerun-if-changed={path}");
        }
    }
    let line = git(&["log", "-1", "--format=%H %cs"])?;
    let (sha, date) = line.split_once(' ')?;
    Some((sha.to_string(), date.to_string()))
}
