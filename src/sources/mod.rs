//! Where facts come from: files, git, the hook's input. The only modules
//! (with `commands`) that touch the file system and the environment.

pub(crate) mod conversation;
pub(crate) mod event;
pub(crate) mod evidence;
pub mod git;
pub mod github;
pub(crate) mod history;
pub mod hook;
pub(crate) mod pack;
pub mod policy_cache;
pub mod policy_files;
pub mod policy_of_record;
pub(crate) mod pull_request;
pub(crate) mod release;
pub(crate) mod tracker_cache;
pub(crate) mod trackers;

use std::fmt;

/// A problem that stops a command from judging: exit status 2.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fatal {
    pub message: String,
    pub(crate) help: Option<String>,
}

impl Fatal {
    pub(crate) fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            help: None,
        }
    }

    pub(crate) fn help(mut self, help: impl Into<String>) -> Self {
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
pub(crate) fn reverts_its_history(repo: &git2::Repository, oid: git2::Oid, message: &str) -> bool {
    let Some(reverted) = crate::facts::reverted_commit(message) else {
        return false;
    };
    let Ok(reverted) = git2::Oid::from_str(reverted) else {
        return false;
    };
    (reverted != oid
        && repo.find_commit(reverted).is_ok()
        && repo.graph_descendant_of(oid, reverted).unwrap_or(false))
        || reverts_by_patch_identity(repo, oid, message)
}

/// How many commits of a revert's history are searched for the commit it
/// undoes when the one its message names is not there.
pub(crate) const REBASED_REVERT_SEARCH: usize = 10_000;

/// How many commits one run reads in all for such searches: many crafted
/// `Revert "…"` commits cannot make a run read the history over and over
/// (past it, a claim is not verified: the commit is judged like any other).
pub(crate) const REBASED_REVERT_BUDGET: usize = 200_000;

static REBASED_REVERT_READS: std::sync::atomic::AtomicUsize =
    std::sync::atomic::AtomicUsize::new(0);

/// After a rebase, `git revert`'s `This reverts commit <sha>` names the
/// commit as it was before: no longer in the history. The revert still
/// undoes its rebased copy, which has the same patch identity (`git patch-id
/// --stable`: the diff without line numbers or whitespace): a commit of its
/// history, within [`REBASED_REVERT_SEARCH`] commits, with the subject the
/// revert quotes (`Revert "<subject>"`) and one parent, whose change is
/// exactly the revert's change reversed. Any doubt is `false`.
fn reverts_by_patch_identity(repo: &git2::Repository, oid: git2::Oid, message: &str) -> bool {
    let Some(subject) = message
        .lines()
        .next()
        .and_then(|line| line.strip_prefix("Revert \""))
        .and_then(|rest| rest.strip_suffix('"'))
    else {
        return false;
    };
    let found = || -> Option<bool> {
        let revert = repo.find_commit(oid).ok()?;
        let undone = patch_id(repo, &revert, true)?;
        let mut walk = repo.revwalk().ok()?;
        walk.push(revert.parent_id(0).ok()?).ok()?;
        use std::sync::atomic::Ordering;
        Some(
            walk.take(REBASED_REVERT_SEARCH)
                .map_while(Result::ok)
                .take_while(|_| {
                    REBASED_REVERT_READS.fetch_add(1, Ordering::Relaxed) < REBASED_REVERT_BUDGET
                })
                .filter_map(|id| repo.find_commit(id).ok())
                .any(|commit| {
                    commit.summary_bytes() == Some(subject.as_bytes())
                        && patch_id(repo, &commit, false) == Some(undone)
                }),
        )
    };
    found().unwrap_or(false)
}

/// The stable patch id of a one-parent commit's change (reversed: of the
/// change that undoes it); `None` for a merge, a root, an empty change, or
/// anything unreadable.
fn patch_id(
    repo: &git2::Repository,
    commit: &git2::Commit<'_>,
    reversed: bool,
) -> Option<git2::Oid> {
    if commit.parent_count() != 1 {
        return None;
    }
    let (old, new) = (commit.parent(0).ok()?.tree().ok()?, commit.tree().ok()?);
    let (old, new) = if reversed { (new, old) } else { (old, new) };
    let diff = repo.diff_tree_to_tree(Some(&old), Some(&new), None).ok()?;
    if diff.deltas().len() == 0 {
        return None;
    }
    diff.patchid(None).ok()
}

/// [`reverts_its_history`] for a commit being made on top of HEAD: the
/// reverted commit is HEAD or one of its ancestors.
pub(crate) fn reverts_head_history(repo: &git2::Repository, message: &str) -> bool {
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
