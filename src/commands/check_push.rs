use std::io::{BufRead, IsTerminal};

use git2::{Oid, Repository};

use super::{Global, Outcome, err, finish, policy_cached};
use crate::engine::{Finding, evaluate, needs};
use crate::facts::{Branch, Stage, Subject};
use crate::policy::SubjectKind;
use crate::report::Report;
use crate::sources::{Fatal, git};
use crate::syntax::Level;

/// One ref a push updates.
#[derive(Debug, PartialEq, Eq)]
struct Update {
    /// The commit pushed (a sha or a ref git knows).
    local: String,
    /// The branch it updates on the remote (`refs/heads/` removed).
    branch: Option<String>,
    /// What the remote has there now; `None` for a new branch (or an empty remote).
    remote: Option<String>,
}

/// `check push [REMOTE]`: what a push is about to publish — the branch names
/// it updates and every commit the remote does not have. Reads git's pre-push
/// protocol on stdin (`<local ref> <local sha> <remote ref> <remote sha>`),
/// or the pre-commit framework's `PRE_COMMIT_*` variables (`TO_REF` and
/// `FROM_REF`, or only the branches when the push holds a root commit).
pub(crate) fn run(global: &Global, remote: Option<&str>) -> Outcome {
    git::tune_for_history();
    let repo = git::open(&global.dir)?;
    let root = git::work_tree(&repo);
    let policy = policy_cached(global, root.as_deref(), Some(repo.commondir()))?;
    super::prepare(&policy, &[SubjectKind::Commit, SubjectKind::Branch])?;
    let (updates, remote) = updates(remote)?;
    let mut report = Report {
        subject_kind: "push",
        subject_ref: format!("push to {}", remote.as_deref().unwrap_or("the remote")),
        ..Report::default()
    };
    let mut scope = crate::waivers::Scope::default();
    let mut pushed = Vec::new();
    for update in &updates {
        pushed.push(judge_update(&repo, &policy, update, remote.as_deref())?);
    }
    // The tickets of every pushed commit, asked in one batch.
    let mut all: Vec<&mut super::check_commits::Judged> = pushed.iter_mut().collect();
    super::tracked::judge_local(&policy, &mut all);
    for judged in pushed {
        report.findings.extend(judged.findings);
        scope.commits.extend(judged.waivable);
        report.checked += judged.checked;
        report.skipped += judged.skipped;
    }
    if updates.is_empty() {
        err("note: the push updates no branch (tags and deletions are not checked)\n");
    }
    super::waive(&policy, &mut report, &scope);
    let status = finish(global, &policy, &report);
    if report
        .findings
        .iter()
        .any(|f| f.level == Level::Error && f.commit.is_some())
    {
        // The rule's own help says how to write the next commit; a commit
        // already made needs rewording, or, once shared or older than the
        // policy, a waiver.
        err(&format!(
            "note: reword a refused commit before pushing it (`git commit --amend` for the last one, `git rebase -i <its parent>` for an older one); one that cannot be rewritten (already shared, or made before the policy) can be waived by its full id, with a reason: {}/blob/main/docs/policy.md#waivers\n",
            env!("CARGO_PKG_REPOSITORY")
        ));
    }
    Ok(status)
}

/// One ref the push updates: the branch rules on its name, the commit rules
/// on each commit it brings; the branch's findings first.
fn judge_update(
    repo: &Repository,
    policy: &crate::policy::Policy,
    update: &Update,
    remote: Option<&str>,
) -> Result<super::check_commits::Judged, super::Failure> {
    let mut branch_findings = Vec::new();
    if let Some(name) = &update.branch {
        let branch = Branch { name: name.clone() };
        branch_findings = evaluate(policy, Subject::Branch(&branch));
    }
    let local = resolve(repo, &update.local)?;
    // What the push brings: what the remote's branch does not have, less
    // what any remote-tracking branch of this remote already reaches
    // (a teammate's commit on `main`, brought in by a merge or a rebase,
    // was judged, or waived, where it landed). The remote's commit may be
    // one this clone never fetched: then what no remote-tracking branch
    // of this remote has.
    let range = match update.remote.as_deref() {
        Some(sha) if Oid::from_str(sha).is_ok_and(|oid| repo.find_commit(oid).is_ok()) => {
            format!("{sha}..{local}")
        }
        Some(sha) => {
            err(&format!(
                "note: the remote's {} is not in this clone (fetch to see it): checking the commits {} does not have\n",
                crate::report::short_sha(sha),
                remote.unwrap_or("the remote")
            ));
            local.to_string()
        }
        None => local.to_string(),
    };
    let with_changes = needs(policy, SubjectKind::Commit).changed_files;
    let history = git::history(repo, &range, remote, with_changes)?;
    let mut judged = super::check_commits::judge(
        policy,
        history,
        Stage::Local,
        update.branch.as_deref(),
        super::check_commits::Keep::Nothing,
        None,
    )?;
    super::check_commits::settle_reverts(repo, policy, &mut judged);
    fold_into_branch(&mut branch_findings, &mut judged.findings);
    branch_findings.append(&mut judged.findings);
    judged.findings = branch_findings;
    Ok(judged)
}

/// One mistake, reported once: a rule on `[branch, commit]` that refuses the
/// branch a push updates refuses each commit pushed to it for the same
/// reason (the commit's branch is that branch). Those commit findings of the
/// same rule and requirement fold into the branch's finding, which says how
/// many commits it covers; rewording them would not help.
fn fold_into_branch(branch: &mut [Finding], commits: &mut Vec<Finding>) {
    for finding in branch.iter_mut() {
        let before = commits.len();
        commits.retain(|c| !(c.rule == finding.rule && c.policy == finding.policy));
        let folded = before - commits.len();
        if folded > 0 {
            let s = if folded == 1 { "" } else { "s" };
            finding.message = format!(
                "{} (it refuses the {folded} commit{s} this push brings to it)",
                finding.message
            )
            .into();
        }
    }
}

fn resolve(repo: &Repository, spec: &str) -> Result<Oid, Fatal> {
    repo.revparse_single(spec)
        .and_then(|o| o.peel_to_commit())
        .map(|c| c.id())
        .map_err(|e| {
            Fatal::new(format!(
                "cannot find the pushed commit `{spec}`: {}",
                e.message()
            ))
            .help("run it from git's pre-push hook, or pass what is pushed in PRE_COMMIT_TO_REF")
        })
}

/// The updates of this push, and the remote's name.
fn updates(remote: Option<&str>) -> Result<(Vec<Update>, Option<String>), Fatal> {
    let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    let remote = remote
        .map(str::to_owned)
        .or_else(|| var("PRE_COMMIT_REMOTE_NAME"));
    // The pre-commit framework reads git's stdin itself and hands over one update.
    if let Some(local) = var("PRE_COMMIT_TO_REF") {
        let branch = var("PRE_COMMIT_REMOTE_BRANCH").map(|b| strip_heads(&b));
        let remote_sha = var("PRE_COMMIT_FROM_REF").filter(|s| !is_zero(s));
        return Ok((
            vec![Update {
                local,
                branch,
                remote: remote_sha,
            }],
            remote,
        ));
    }
    // A push that publishes a root commit (an empty remote): pre-commit sets
    // no FROM/TO refs then, only the branches; what is new is what no
    // remote-tracking branch of the remote has.
    if let Some(local) = var("PRE_COMMIT_LOCAL_BRANCH") {
        let branch = var("PRE_COMMIT_REMOTE_BRANCH").map(|b| strip_heads(&b));
        return Ok((
            vec![Update {
                local,
                branch,
                remote: None,
            }],
            remote,
        ));
    }
    // pre-commit sets PRE_COMMIT=1 for its hooks, and reads git's stdin itself.
    let under_pre_commit = var("PRE_COMMIT").as_deref() == Some("1");
    let unknown = || {
        Fatal::new("the pre-commit framework did not say what is pushed (neither PRE_COMMIT_TO_REF nor PRE_COMMIT_LOCAL_BRANCH is set)")
            .help("run `check push` in pre-commit's pre-push stage (`pre-commit install --hook-type pre-push`); to check a range by hand, use `git-policy check commits A..B --branch NAME`")
    };
    if under_pre_commit && std::io::stdin().is_terminal() {
        return Err(unknown());
    }
    if std::io::stdin().is_terminal() {
        return Err(Fatal::new("`check push` reads what is pushed from git's pre-push hook (stdin) or the pre-commit framework (PRE_COMMIT_TO_REF)")
            .help("install it with `git-policy install-hooks`; to check a range by hand, use `git-policy check commits A..B --branch NAME`"));
    }
    let mut out = Vec::new();
    for line in std::io::stdin().lock().lines() {
        let line = line.map_err(|e| Fatal::new(format!("cannot read the pushed refs: {e}")))?;
        let fields: Vec<&str> = line.split_whitespace().collect();
        if fields.is_empty() {
            continue;
        }
        let [_, local_sha, remote_ref, remote_sha] = fields[..] else {
            return Err(Fatal::new(format!(
                "`{}` is not a pre-push line (`<local ref> <local sha> <remote ref> <remote sha>`)",
                line.chars().take(200).collect::<String>()
            )));
        };
        if is_zero(local_sha) || remote_ref.starts_with("refs/tags/") {
            continue; // a deletion, or a tag
        }
        out.push(Update {
            local: local_sha.to_owned(),
            branch: remote_ref
                .starts_with("refs/heads/")
                .then(|| strip_heads(remote_ref)),
            remote: (!is_zero(remote_sha)).then(|| remote_sha.to_owned()),
        });
    }
    // Under pre-commit, an empty stdin is what pre-commit left of it: what is
    // pushed is unknown, never "nothing".
    if out.is_empty() && under_pre_commit {
        return Err(unknown());
    }
    Ok((out, remote))
}

fn strip_heads(name: &str) -> String {
    name.strip_prefix("refs/heads/").unwrap_or(name).to_owned()
}

fn is_zero(sha: &str) -> bool {
    !sha.is_empty() && sha.bytes().all(|b| b == b'0')
}
