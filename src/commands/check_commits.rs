use std::process::ExitCode;
use std::sync::mpsc;

use super::{Global, Outcome, PASSED, err, finish, policy_for};
use crate::cli::Format;
use crate::engine::{Finding, Interner, RangeJudges, evaluate_shared, needs, skip_reason};
use crate::facts::{ReleaseCommit, Stage, Subject};
use crate::policy::{Exemption, Policy, SubjectKind};
use crate::report::Report;
use crate::sources::history::{History, ReadCommit};
use crate::sources::{Fatal, git};

/// `check commits RANGE`: every commit of a range (pre-push, CI).
pub(crate) fn run(
    global: &Global,
    range: &str,
    exclude_remote: Option<&str>,
    branch: Option<&str>,
) -> Outcome {
    git::tune_for_history();
    let repo = git::open(&global.dir)?;
    let root = git::work_tree(&repo);
    let policy = policy_for(global, root.as_deref())?;
    super::prepare(&policy, &[crate::policy::SubjectKind::Commit])?;
    let with_changes = needs(&policy, SubjectKind::Commit).changed_files;
    let history = git::history(&repo, range, exclude_remote, with_changes)?;
    let mut judged = judge(&policy, history, Stage::Local, branch, Keep::Nothing, None)?;
    super::tracked::judge_local(&policy, &mut [&mut judged]);
    settle_reverts(&repo, &policy, &mut judged);
    let Judged {
        findings,
        checked,
        skipped,
        waivable,
        ..
    } = judged;
    if checked + skipped == 0 && global.format == Format::Human {
        err(&format!(
            "note: `{range}` holds no commits; nothing to check\n"
        ));
    }
    let mut report = Report {
        subject_kind: "commit",
        subject_ref: range.to_owned(),
        findings,
        checked,
        skipped,
        ..Report::default()
    };
    let scope = crate::waivers::Scope {
        commits: waivable,
        ..Default::default()
    };
    super::waive(&policy, &mut report, &scope);
    let code = finish(global, &policy, &report);
    // The process ends here: freeing every finding one by one only costs time.
    std::mem::forget(report);
    Ok(if checked + skipped == 0 {
        ExitCode::from(PASSED)
    } else {
        code
    })
}

/// What judging a history found: findings, commits checked and skipped,
/// and (when asked) the commits themselves, kept small (see [`Keep`]).
pub(super) struct Judged {
    pub(crate) findings: Vec<Finding>,
    pub(crate) checked: usize,
    pub(crate) skipped: usize,
    pub(crate) kept: Vec<ReleaseCommit>,
    /// Commits whose message claims to revert a commit: judged like any
    /// other until [`settle_reverts`] verifies the claim.
    pub(crate) revert_claims: Vec<String>,
    /// The commits of the walk that a commit waiver names.
    pub(crate) waivable: std::collections::BTreeSet<String>,
    /// Commits naming tickets a tracker is to be asked about: judged once
    /// the tickets are read ([`super::tracked::Deferring`]), by the caller;
    /// each with where its findings go in `findings` (the walk's order).
    pub(crate) deferred: Vec<(usize, crate::facts::Commit)>,
}

/// Exempts the commits that really revert a commit of their history (the
/// `revert` exemption), dropping the findings they were judged with.
pub(super) fn settle_reverts(repo: &git2::Repository, policy: &Policy, judged: &mut Judged) {
    for sha in std::mem::take(&mut judged.revert_claims) {
        let Ok(oid) = git2::Oid::from_str(&sha) else {
            continue;
        };
        let Ok(commit) = repo.find_commit(oid) else {
            continue;
        };
        let message = String::from_utf8_lossy(commit.message_bytes()).into_owned();
        let fact = crate::facts::Commit {
            reverts_its_history: crate::sources::reverts_its_history(repo, oid, &message),
            message,
            ..crate::facts::Commit::default()
        };
        if skip_reason(policy, &Subject::Commit(&fact)).is_some() {
            judged
                .findings
                .retain(|f| f.commit.as_deref() != Some(sha.as_str()));
            judged
                .deferred
                .retain(|(_, c)| c.sha.as_deref() != Some(sha.as_str()));
            judged.checked -= 1;
            judged.skipped += 1;
        } else {
            // Say why the exemption did not apply, not only what is missing.
            let named =
                crate::facts::reverted_commit(&fact.message).map_or("?", crate::report::short_sha);
            let why: std::sync::Arc<str> = format!(
                " (not exempt as a revert: the commit it names, {named}, is not in its history, and no commit there with the subject it quotes has exactly the change it undoes; see docs/hooks.md#reverts)"
            )
            .into();
            for finding in &mut judged.findings {
                if finding.commit.as_deref() == Some(sha.as_str()) {
                    finding.message = format!("{}{why}", finding.message).into();
                }
            }
        }
    }
}

/// Commits travel to the judge in batches, to keep channel traffic low.
const BATCH: usize = 512;

/// What the judge keeps of each commit, for the release rules.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Keep {
    Nothing,
    /// Its sha and subject: what the release summary and the evidence show.
    Subjects,
    /// Its sha and whole message: a release rule reads messages
    /// ([`crate::rules::Needs::release_messages`]).
    Messages,
}

/// Reads commits on this thread while a second one decodes and judges
/// them; findings keep the walk's order. The judge also keeps what `keep`
/// says of each commit (the release audit needs it), and feeds each whole
/// message to the release's range `judges`.
pub(super) fn judge(
    policy: &Policy,
    history: History<'_>,
    stage: Stage,
    branch: Option<&str>,
    keep: Keep,
    mut judges: Option<&mut RangeJudges<'_>>,
) -> Result<Judged, Fatal> {
    let (sender, receiver) = mpsc::sync_channel::<Vec<ReadCommit>>(4);
    std::thread::scope(|scope| {
        let judge = scope.spawn(move || -> Result<Judged, Fatal> {
            let mut judged = Judged {
                findings: Vec::new(),
                checked: 0,
                skipped: 0,
                kept: Vec::new(),
                revert_claims: Vec::new(),
                waivable: Default::default(),
                deferred: Vec::new(),
            };
            let deferring = super::tracked::deferring(policy, stage);
            let waived_commits = crate::waivers::waived_commits(policy);
            let reverts_exempt = policy.commits.exempt.contains(&Exemption::Revert);
            let mut interner = Interner::default();
            for batch in receiver {
                for read in batch {
                    let mut commit = read.decode()?;
                    commit.stage = stage;
                    commit.branch = branch.map(str::to_owned);
                    if let Some(sha) = &commit.sha
                        && waived_commits.contains(sha.as_str())
                    {
                        judged.waivable.insert(sha.clone());
                    }
                    let subject = Subject::Commit(&commit);
                    if skip_reason(policy, &subject).is_some() {
                        judged.skipped += 1;
                    } else {
                        judged.checked += 1;
                        if reverts_exempt
                            && Exemption::Revert.claimed_by(&commit.message)
                            && crate::facts::reverted_commit(&commit.message).is_some()
                            && let Some(sha) = &commit.sha
                        {
                            judged.revert_claims.push(sha.clone());
                        }
                        if deferring.names_ticket(&commit) {
                            judged
                                .deferred
                                .push((judged.findings.len(), commit.clone()));
                        } else {
                            judged
                                .findings
                                .extend(evaluate_shared(policy, subject, &mut interner));
                        }
                    }
                    if let Some(judges) = judges.as_deref_mut() {
                        judges.commit(&commit.message);
                    }
                    match keep {
                        Keep::Nothing => {}
                        Keep::Subjects => judged.kept.push(ReleaseCommit {
                            message: crate::facts::subject_of(&commit.message).to_owned(),
                            sha: commit.sha,
                        }),
                        Keep::Messages => judged.kept.push(ReleaseCommit {
                            sha: commit.sha,
                            message: commit.message,
                        }),
                    }
                }
            }
            Ok(judged)
        });
        let read = (|| {
            let mut batch = Vec::with_capacity(BATCH);
            for commit in history {
                batch.push(commit?);
                if batch.len() == BATCH {
                    let full = std::mem::replace(&mut batch, Vec::with_capacity(BATCH));
                    if sender.send(full).is_err() {
                        break; // the judge stopped on an error, reported below
                    }
                }
            }
            if !batch.is_empty() {
                let _ = sender.send(batch);
            }
            Ok::<(), Fatal>(())
        })();
        drop(sender);
        let judged = judge
            .join()
            .map_err(|_| Fatal::new("the thread judging commits stopped unexpectedly"))?;
        // Both failed: the judge's error is about an earlier commit (it
        // checks the ids the walk left unchecked, in the walk's order).
        match (read, judged) {
            (_, Err(e)) | (Err(e), Ok(_)) => Err(e),
            (Ok(()), Ok(judged)) => Ok(judged),
        }
    })
}
