//! Where facts come from: files, git, the hook's input. The only modules
//! (with `commands`) that touch the file system and the environment.

pub mod conversation;
pub mod event;
pub mod evidence;
pub mod git;
pub mod github;
pub mod history;
pub mod hook;
pub mod pack;
pub mod policy_cache;
pub mod policy_files;
pub mod pull_request;
pub mod release;
pub mod trackers;

use std::fmt;

/// A problem that stops a command from judging: exit status 2.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fatal {
    pub message: String,
    pub help: Option<String>,
}

impl Fatal {
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            help: None,
        }
    }

    pub fn help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }
}

impl fmt::Display for Fatal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Fatal {}

/// Whether `message` (of commit `oid`) says `This reverts commit <sha>.` of
/// a commit in its own history (an ancestor): only then is the `revert`
/// exemption more than a claim. Any doubt (unknown commit, unreadable
/// graph) is `false`, and the commit is judged like any other.
pub fn reverts_its_history(repo: &git2::Repository, oid: git2::Oid, message: &str) -> bool {
    let Some(reverted) = crate::facts::reverted_commit(message) else {
        return false;
    };
    let Ok(reverted) = git2::Oid::from_str(reverted) else {
        return false;
    };
    reverted != oid
        && repo.find_commit(reverted).is_ok()
        && repo.graph_descendant_of(oid, reverted).unwrap_or(false)
}

/// [`reverts_its_history`] for a commit being made on top of HEAD: the
/// reverted commit is HEAD or one of its ancestors.
pub fn reverts_head_history(repo: &git2::Repository, message: &str) -> bool {
    let Some(reverted) = crate::facts::reverted_commit(message) else {
        return false;
    };
    let (Ok(reverted), Ok(head)) = (
        git2::Oid::from_str(reverted),
        repo.head().and_then(|h| h.peel_to_commit()),
    ) else {
        return false;
    };
    repo.find_commit(reverted).is_ok()
        && (head.id() == reverted
            || repo
                .graph_descendant_of(head.id(), reverted)
                .unwrap_or(false))
}
