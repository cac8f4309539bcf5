use super::{Global, Outcome, finish, policy_cached};
use crate::engine::evaluate;
use crate::facts::{Branch, Subject};
use crate::report::Report;
use crate::sources::{Fatal, git};

/// `check branch [NAME]`: naming and ticket rules on a branch.
pub(crate) fn run(global: &Global, name: Option<String>) -> Outcome {
    let repo = git::open(&global.dir)?;
    let name = match name {
        Some(n) if n.trim().is_empty() => return Err(Fatal::new("the branch name is empty").help("pass a name: git-policy check branch feature/EPL-123-x").into()),
        Some(n) => n.strip_prefix("refs/heads/").map(str::to_owned).unwrap_or(n),
        None => git::current_branch(&repo).ok_or_else(|| {
            Fatal::new("HEAD is detached: there is no current branch to check")
                .help("name the branch: git-policy check branch NAME (in CI: the PR's head ref, e.g. $GITHUB_HEAD_REF)")
        })?,
    };
    let root = git::work_tree(&repo);
    let policy = policy_cached(global, root.as_deref(), Some(repo.commondir()))?;
    super::prepare_one(&policy, &[crate::policy::SubjectKind::Branch], name.len())?;
    let branch = Branch { name };
    let report = Report {
        subject_kind: "branch",
        subject_ref: format!("branch {}", branch.name),
        findings: evaluate(&policy, Subject::Branch(&branch)),
        checked: 1,
        skipped: 0,
        ..Report::default()
    };
    Ok(finish(global, &policy, &report))
}
