//! The hooks' cache of parsed policy files ([`crate::policy::tree_cache`]):
//! one file in the repository's git directory, `git-policy/node-trees`.
//!
//! Only the parse is kept: decoding and validation run on every load. The
//! cache is best effort: a missing, unreadable, damaged or stale file means
//! the files are parsed, and a file that cannot be written is not an error.

use std::path::{Path, PathBuf};

use crate::policy::{Node, PolicySource, parse_files, tree_cache};

/// Where the entry lives under a git directory (the common one, shared by
/// worktrees).
pub fn path(git_dir: &Path) -> PathBuf {
    git_dir.join("git-policy").join("node-trees")
}

/// The node tree of each source: from the cache when it holds exactly these
/// texts, else parsed (and the cache rewritten when every file parsed).
pub fn parsed(git_dir: &Path, sources: &[PolicySource]) -> Vec<Result<Node, serde_saphyr::Error>> {
    let file = path(git_dir);
    if let Ok(entry) = std::fs::read(&file)
        && let Some(trees) = tree_cache::decode(&entry, sources)
    {
        return trees.into_iter().map(Ok).collect();
    }
    let parsed = parse_files(sources);
    let trees: Option<Vec<Node>> = parsed.iter().map(|t| t.as_ref().ok().cloned()).collect();
    if let Some(trees) = trees
        && !trees.is_empty()
    {
        write(&file, &tree_cache::encode(sources, &trees));
    }
    parsed
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
