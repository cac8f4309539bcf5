use std::process::ExitCode;

use git2::{Oid, Repository};

use super::{Global, Outcome, PASSED, err, finish, policy_for};
use crate::cli::Format;
use crate::engine::{Finding, evaluate, needs_changes, skip_reason};
use crate::facts::Subject;
use crate::policy::{Policy, SubjectKind};
use crate::report::Report;
use crate::sources::{Fatal, git};

/// `check commits RANGE`: every commit of a range (pre-push, CI).
pub fn run(global: &Global, range: &str, exclude_remote: Option<&str>) -> Outcome {
    let repo = git::open(&global.dir)?;
    let root = git::work_tree(&repo);
    let policy = policy_for(global, root.as_deref())?;
    let oids = git::range(&repo, range, exclude_remote)?;
    if oids.is_empty() && global.format == Format::Human {
        err(&format!("note: `{range}` holds no commits; nothing to check\n"));
    }
    let with_changes = needs_changes(&policy, SubjectKind::Commit);
    let (findings, checked, skipped) = judge(&repo, &policy, &oids, with_changes)?;
    let report = Report { subject_kind: "commit", subject_ref: range.to_owned(), findings, checked, skipped };
    let code = finish(global, &policy, &report);
    Ok(if oids.is_empty() { ExitCode::from(PASSED) } else { code })
}

/// Reads and judges commits on every core; results keep the walk's order.
fn judge(repo: &Repository, policy: &Policy, oids: &[Oid], with_changes: bool) -> Result<(Vec<Finding>, usize, usize), Fatal> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).clamp(1, 8);
    let threads = threads.min(oids.len().div_ceil(512)).max(1);
    let chunk = oids.len().div_ceil(threads).max(1);
    let git_dir = repo.path().to_path_buf();
    let results: Vec<Result<(Vec<Finding>, usize, usize), Fatal>> = std::thread::scope(|scope| {
        let handles: Vec<_> = oids
            .chunks(chunk)
            .map(|part| {
                let git_dir = &git_dir;
                scope.spawn(move || {
                    let repo = Repository::open(git_dir).map_err(|e| Fatal::new(format!("cannot open the repository: {}", e.message())))?;
                    let (mut findings, mut checked, mut skipped) = (Vec::new(), 0, 0);
                    for oid in part {
                        let commit = git::read_commit(&repo, *oid, with_changes)
                            .map_err(|e| Fatal::new(format!("cannot read commit {oid}: {}", e.message())))?;
                        let subject = Subject::Commit(&commit);
                        if skip_reason(policy, &subject).is_some() {
                            skipped += 1;
                        } else {
                            checked += 1;
                            findings.extend(evaluate(policy, subject));
                        }
                    }
                    Ok((findings, checked, skipped))
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|_| Err(Fatal::new("a worker reading commits stopped unexpectedly"))))
            .collect()
    });
    let mut all = (Vec::new(), 0, 0);
    for result in results {
        let (findings, checked, skipped) = result?;
        all.0.extend(findings);
        all.1 += checked;
        all.2 += skipped;
    }
    Ok(all)
}
