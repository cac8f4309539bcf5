use std::process::ExitCode;
use std::sync::mpsc;

use super::{Global, Outcome, PASSED, err, finish, policy_for};
use crate::cli::Format;
use crate::engine::{Finding, Interner, evaluate_shared, needs, skip_reason};
use crate::facts::{ReleaseCommit, ReleaseTickets, Subject};
use crate::policy::{Policy, SubjectKind};
use crate::report::Report;
use crate::rules::release_page::TicketCollector;
use crate::sources::history::{History, ReadCommit};
use crate::sources::{Fatal, git};

/// `check commits RANGE`: every commit of a range (pre-push, CI).
pub fn run(global: &Global, range: &str, exclude_remote: Option<&str>) -> Outcome {
    git::tune_for_history();
    let repo = git::open(&global.dir)?;
    let root = git::work_tree(&repo);
    let policy = policy_for(global, root.as_deref())?;
    let with_changes = needs(&policy, SubjectKind::Commit).changed_files;
    let history = git::history(&repo, range, exclude_remote, with_changes)?;
    let Judged {
        findings,
        checked,
        skipped,
        ..
    } = judge(&policy, history, false, None)?;
    if checked + skipped == 0 && global.format == Format::Human {
        err(&format!(
            "note: `{range}` holds no commits; nothing to check\n"
        ));
    }
    let report = Report {
        subject_kind: "commit",
        subject_ref: range.to_owned(),
        findings,
        checked,
        skipped,
        ..Report::default()
    };
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
/// and (when asked) the commits themselves, kept small: sha and message.
pub(super) struct Judged {
    pub findings: Vec<Finding>,
    pub checked: usize,
    pub skipped: usize,
    pub kept: Vec<ReleaseCommit>,
    /// What the ticket collector gathered, when one was given.
    pub tickets: Option<ReleaseTickets>,
}

/// Commits travel to the judge in batches, to keep channel traffic low.
const BATCH: usize = 512;

/// Reads commits on this thread while a second one decodes and judges
/// them; findings keep the walk's order. With `keep`, the judge also keeps
/// each commit's sha and message (the release audit needs them), and
/// `collector` gathers the tickets they name.
pub(super) fn judge(
    policy: &Policy,
    history: History<'_>,
    keep: bool,
    mut collector: Option<TicketCollector<'_>>,
) -> Result<Judged, Fatal> {
    let (sender, receiver) = mpsc::sync_channel::<Vec<ReadCommit>>(4);
    std::thread::scope(|scope| {
        let judge = scope.spawn(move || -> Result<Judged, Fatal> {
            let mut judged = Judged {
                findings: Vec::new(),
                checked: 0,
                skipped: 0,
                kept: Vec::new(),
                tickets: None,
            };
            let mut index = 0u32;
            let mut interner = Interner::default();
            for batch in receiver {
                for read in batch {
                    let commit = read.decode()?;
                    let subject = Subject::Commit(&commit);
                    if skip_reason(policy, &subject).is_some() {
                        judged.skipped += 1;
                    } else {
                        judged.checked += 1;
                        judged
                            .findings
                            .extend(evaluate_shared(policy, subject, &mut interner));
                    }
                    if let Some(collector) = collector.as_mut() {
                        collector.add(index, &commit.message);
                    }
                    index += 1;
                    if keep {
                        judged.kept.push(ReleaseCommit {
                            sha: commit.sha,
                            message: commit.message,
                        });
                    }
                }
            }
            judged.tickets = collector.map(TicketCollector::finish);
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
        read.and(judged)
    })
}
