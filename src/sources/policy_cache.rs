//! The hooks' cache of parsed policy files ([`crate::policy::tree_cache`]):
//! one file in the repository's git directory, `git-policy/node-trees`.
//!
//! Only the parse of a policy that loaded without an error is kept; decoding
//! and validation run on every load. The cache is best effort: a missing,
//! unreadable, damaged or stale file means the files are parsed, and a file
//! that cannot be written is not an error.

use std::path::{Path, PathBuf};

use crate::policy::{
    InvalidPolicy, Node, Policy, PolicySource, load_parsed, parse_files, tree_cache,
};

/// Where the entry lives under a git directory (the common one, shared by
/// worktrees).
pub(crate) fn path(git_dir: &Path) -> PathBuf {
    git_dir.join("git-policy").join("node-trees")
}

/// Loads `sources`: from the cached trees when an entry holds exactly these
/// files (then trusted: see [`tree_cache`]), else parsed, and the entry
/// rewritten when they load without an error.
pub(crate) fn load(git_dir: &Path, sources: Vec<PolicySource>) -> Result<Policy, InvalidPolicy> {
    let file = path(git_dir);
    if let Ok(entry) = std::fs::read(&file)
        && let Some(trees) = tree_cache::decode(&entry, &sources)
    {
        return load_parsed(sources, trees.into_iter().map(Ok).collect(), true);
    }
    let parsed = parse_files(&sources);
    // Encoded now, written only once the policy has loaded without an error.
    let trees: Option<Vec<&Node>> = parsed.iter().map(|t| t.as_ref().ok()).collect();
    let entry = trees
        .filter(|t| !t.is_empty())
        .map(|trees| tree_cache::encode(&sources, &trees));
    let policy = load_parsed(sources, parsed, false)?;
    if let Some(entry) = entry {
        write(&file, &entry);
    }
    Ok(policy)
}

/// Writes through a temporary file and a rename, so a reader never sees half an entry.
fn write(file: &Path, entry: &[u8]) {
    let Some(dir) = file.parent() else { return };
    if std::fs::create_dir_all(dir).is_err() {
        return;
    }
    let tmp = dir.join(format!(".node-trees.{}", std::process::id()));
    if std::fs::write(&tmp, entry).is_ok() && std::fs::rename(&tmp, file).is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
}
