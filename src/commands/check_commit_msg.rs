use std::path::Path;

use super::{Global, Outcome, finish, policy_cached};
use crate::engine::{evaluate, needs_changes, skip_reason};
use crate::facts::{Commit, Subject};
use crate::policy::SubjectKind;
use crate::report::Report;
use crate::sources::{Fatal, git, hook};

/// `check commit-msg FILE`: the commit-msg hook.
pub(crate) fn run(global: &Global, file: &Path) -> Outcome {
    let raw = hook::read_message_file(file)?;
    let repo = git::open(&global.dir)?;
    let config = git::hook_config(&repo);
    let message = cleaned(&raw, config.comment.as_deref(), file)?;
    let root = git::work_tree(&repo);
    let policy = policy_cached(global, root.as_deref(), Some(repo.commondir()))?;
    super::prepare_one(&policy, &[SubjectKind::Commit], message.len())?;
    let commit = being_made(&repo, &policy, config, message)?;
    let subject = Subject::Commit(&commit);
    let skipped = skip_reason(&policy, &subject).is_some();
    let report = Report {
        subject_kind: "commit",
        subject_ref: format!("commit message ({})", file.display()),
        findings: evaluate(&policy, subject),
        checked: usize::from(!skipped),
        skipped: usize::from(skipped),
        ..Report::default()
    };
    let code = finish(global, &policy, &report);
    // The process ends here: its memory goes back whole, not freed piece by piece.
    std::mem::forget(policy);
    Ok(code)
}

/// The message as git will record it (comment lines removed); an empty one
/// is exit 2.
fn cleaned(raw: &str, comment_char: Option<&str>, file: &Path) -> Result<String, Fatal> {
    let comments = hook::comment_prefixes(comment_char, raw);
    let message = hook::clean_message_any(raw, &comments);
    if message.is_empty() {
        let comment = comments.join("`, `");
        return Err(Fatal::new(format!("the commit message in `{}` is empty (after removing `{comment}` comment lines)", file.display()))
            .help("write a message that says what the commit does and names its ticket, e.g. `EPL-123 Fix login timeout`"));
    }
    Ok(message)
}

/// The commit being made, with what the policy needs of it: its staged
/// changes, and the tickets it names when it is judged.
fn being_made(
    repo: &git2::Repository,
    policy: &crate::policy::Policy,
    config: git::HookConfig,
    message: String,
) -> Result<Commit, Fatal> {
    let changed = if needs_changes(policy, SubjectKind::Commit) {
        Some(git::staged_changes(repo)?)
    } else {
        None
    };
    let mut commit = Commit {
        sha: None,
        reverts_its_history: crate::sources::reverts_head_history(repo, &message),
        message,
        author_name: config.author_name,
        author_email: config.author_email,
        // Being made by `git merge` (MERGE_HEAD present): a merge, as it
        // will be in history.
        parents: if repo.path().join("MERGE_HEAD").exists() {
            2
        } else {
            0
        },
        branch: git::current_branch(repo),
        changed,
        ..Commit::default()
    };
    if skip_reason(policy, &Subject::Commit(&commit)).is_none() {
        let texts: Vec<&str> = std::iter::once(commit.message.as_str())
            .chain(commit.branch.as_deref())
            .collect();
        commit.tracked = super::tracked::for_hooks(policy, &texts);
    }
    Ok(commit)
}
