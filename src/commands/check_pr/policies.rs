//! The policies a pull request is judged by (the base branch's tip, its
//! base commit, a merge group's base) and the one it proposes.

use super::judge::{judge, waiver_scope};
use super::{Checked, JUDGED, Reader, failing};
use crate::commands::Failure;
use crate::engine::{Finding, Interner};
use crate::facts::PullRequest;
use crate::policy::{Level, Policy, PolicySource, load};
use crate::report::Report;
use crate::sources::Fatal;
use crate::sources::event::MergeGroup;
use crate::sources::github;
use crate::sources::policy_of_record::Found;
use crate::text::short_sha as short;

/// A policy the pull request may be judged by, and where it was read.
pub(super) struct Candidate {
    /// "the base branch's tip", "the pull request's base commit".
    pub(super) what: &'static str,
    pub(super) sha: String,
    pub(super) sources: Vec<PolicySource>,
}

/// The policies a pull request is judged by, and the texts of its base
/// commit's files (none when the built-in pack stood in for them): what
/// the pull request's head is compared with.
pub(super) struct Policies {
    pub(super) candidates: Vec<Candidate>,
    pub(super) base_texts: Vec<(String, String)>,
    pub(super) notes: Vec<String>,
}

/// Reads the policy at the pull request's base commit and, online, the base
/// branch's tip (at the same time); for a merge queue entry, the group's base.
pub(super) async fn policies(
    at: Reader<'_>,
    pr: &PullRequest,
    group: Option<&MergeGroup>,
) -> Result<Policies, Failure> {
    let mut notes = Vec::new();
    let reads_tip = !pr.offline && at.global.policies.is_empty() && group.is_none();
    let (base, tip) = futures_util::join!(policy_at(at, &pr.repo, &pr.base_sha), async {
        match reads_tip {
            true => github::branch_tip(at.gh, &pr.repo, &pr.base)
                .await
                .map(Some),
            false => Ok(None),
        }
    });
    let (base, mut tip) = (base?, tip?);
    notes.extend(base.note.clone());
    // A merge queue entry lands on the group's base: that is the tip.
    if let Some(group) = group {
        tip = Some(merge_group_base(pr, group)?);
        notes.push(format!(
            "merge group: pull request #{} judged as it merges onto {} at {}, by the policy there",
            pr.number,
            group.base_branch,
            short(&group.base_sha)
        ));
    }
    let base_texts = if base.builtin {
        Vec::new()
    } else {
        texts(&base.sources)
    };
    let OfRecord {
        candidates,
        notes: read,
    } = of_record(at, pr, base, tip).await?;
    notes.extend(read);
    Ok(Policies {
        candidates,
        base_texts,
        notes,
    })
}

/// Which policy decided when the tip's and the base commit's differ, and
/// what the other would have said.
pub(super) fn policies_differ(
    tip: &Candidate,
    base: &Candidate,
    judged: &[Checked],
    chosen: usize,
) -> String {
    let verdict = |c: &Checked| if failing(c) { "fails" } else { "passes" };
    let (decided, other) = if chosen == 0 {
        (tip, base)
    } else {
        (base, tip)
    };
    format!(
        "the policy differs at the base branch's tip ({}) and at the pull request's base commit ({}): judged by the policy at {} {} (the stricter outcome); under the policy at {} {} it {}",
        short(&tip.sha),
        short(&base.sha),
        decided.what,
        short(&decided.sha),
        other.what,
        short(&other.sha),
        judged.get(1 - chosen).map_or("", verdict),
    )
}

/// The policies of record, and what the reader should know about them.
pub(super) struct OfRecord {
    pub(super) candidates: Vec<Candidate>,
    pub(super) notes: Vec<String>,
}

/// The policies a pull request is judged by. The policy of record is the
/// one at the commit the merge will land on: the base branch's tip now,
/// read through the API (GitHub does not move a pull request's `base.sha`
/// when its base branch moves). Where the policy at the pull request's own
/// base commit differs, both judge and the stricter outcome stands. Offline
/// and with `--policy` there is one candidate.
pub(super) async fn of_record(
    at: Reader<'_>,
    pr: &PullRequest,
    base: Record,
    tip: Option<String>,
) -> Result<OfRecord, Failure> {
    let at_base = Candidate {
        what: "the pull request's base commit",
        sha: pr.base_sha.clone(),
        sources: base.sources,
    };
    let one = |candidate: Candidate, notes: Vec<String>| OfRecord {
        candidates: vec![candidate],
        notes,
    };
    let Some(tip) = tip else {
        let mut notes = Vec::new();
        if pr.offline {
            notes.push(format!(
                "offline: judged by the policy at the event's base commit {}; the base branch may have moved since, and the gate also applies its tip's policy",
                short(&pr.base_sha)
            ));
        }
        return Ok(one(at_base, notes));
    };
    if tip.eq_ignore_ascii_case(&pr.base_sha) {
        return Ok(one(at_base, Vec::new()));
    }
    let at_tip = policy_at(at, &pr.repo, &tip).await?;
    if at_tip.builtin == base.builtin && texts(&at_tip.sources) == texts(&at_base.sources) {
        return Ok(one(at_base, Vec::new()));
    }
    Ok(OfRecord {
        candidates: vec![
            Candidate {
                what: "the base branch's tip",
                sha: tip,
                sources: at_tip.sources,
            },
            at_base,
        ],
        notes: at_tip.note.into_iter().collect(),
    })
}

/// The commit whose policy judges a merge queue entry: the group's base,
/// once the live pull request is known to merge into the group's branch.
pub(super) fn merge_group_base(pr: &PullRequest, group: &MergeGroup) -> Result<String, Fatal> {
    if pr.base != group.base_branch {
        return Err(Fatal::new(format!(
            "the merge group merges into `{}`, but pull request #{} targets `{}`",
            group.base_branch, pr.number, pr.base
        ))
        .help("the queue branch names another pull request than the one GitHub reports; re-run the merge queue"));
    }
    Ok(group.base_sha.clone())
}

/// The policy at a commit: its files, or the built-in pack when it has none.
pub(super) struct Record {
    pub(super) sources: Vec<PolicySource>,
    pub(super) builtin: bool,
    /// Where it came from, when the reader should know.
    pub(super) note: Option<String>,
}

/// The policy at a commit ([`crate::sources::policy_of_record::PolicyReader::at`]); the built-in pack when
/// the commit has none and it is allowed.
pub(super) async fn policy_at(at: Reader<'_>, repo: &str, sha: &str) -> Result<Record, Failure> {
    let record = |sources, builtin, note| Record {
        sources,
        builtin,
        note,
    };
    match at.policies(repo).at(sha).await? {
        Found::Given(sources) => Ok(record(
            sources,
            false,
            Some(String::from(
                "the policy comes from --policy, not from the pull request's base commit",
            )),
        )),
        Found::AtCommit(sources) => Ok(record(sources, false, None)),
        Found::Absent if at.global.builtin => Ok(record(
            vec![PolicySource::builtin()],
            true,
            Some(format!(
                "the base commit {} has no policy (.github/policies/ or .git-policy.yml); using the built-in pack {}",
                short(sha),
                crate::policy::BUILTIN_NAME
            )),
        )),
        Found::Absent => Err(Fatal::new(format!(
            "the base commit {sha} has no policy, and the built-in pack is disabled"
        ))
        .help("commit a policy to the base branch (`git-policy init`), or allow the built-in pack")
        .into()),
    }
}

/// (path without the @sha suffix, text) of each policy file, to compare versions.
pub(in crate::commands) fn texts(sources: &[PolicySource]) -> Vec<(String, String)> {
    sources
        .iter()
        .map(|s| {
            (
                s.name.split('@').next().unwrap_or(&s.name).to_owned(),
                s.text.clone(),
            )
        })
        .collect()
}

/// The policy the pull request proposes, as a notice (and a note when the
/// proposed files are read).
pub(super) struct Proposal {
    pub(super) notice: Finding,
    pub(super) note: Option<String>,
}

/// A notice about the policy the pull request proposes, when it changes it.
pub(super) async fn proposed(
    at: Reader<'_>,
    pr: &PullRequest,
    base: &[(String, String)],
    today: chrono::NaiveDate,
) -> Result<Option<Proposal>, Failure> {
    if !at.global.policies.is_empty() {
        return Ok(None);
    }
    let head = at
        .policies(&pr.repo)
        .files_at(&pr.head_sha)
        .await?
        .unwrap_or_default();
    if texts(&head) == base {
        return Ok(None);
    }
    if head.is_empty() {
        return Ok(Some(Proposal {
            notice: proposal_notice(String::from(
                "this pull request removes the policy files; the base policy still applies to it",
            )),
            note: None,
        }));
    }
    let proposed = load(head).and_then(|policy| match policy.prepare(JUDGED) {
        Ok(()) => Ok(policy),
        Err(errors) => Err(crate::policy::InvalidPolicy {
            sources: policy.sources,
            errors,
        }),
    });
    let message = match proposed {
        Err(invalid) => format!(
            "this pull request changes the policy, and the proposed policy is invalid ({} problem(s), first: {}); it would stop every check once merged",
            invalid.errors.len(),
            invalid
                .errors
                .first()
                .map_or(String::new(), |e| e.message.clone())
        ),
        Ok(proposed) => under_proposed(&proposed, pr, today),
    };
    Ok(Some(Proposal {
        notice: proposal_notice(message),
        note: Some(String::from(
            "the pull request changes policy files: judged by the base commit's policy",
        )),
    }))
}

/// What the pull request's judgement would be under the policy it proposes.
pub(super) fn under_proposed(
    proposed: &Policy,
    pr: &PullRequest,
    today: chrono::NaiveDate,
) -> String {
    let judged = judge(proposed, pr, &mut Interner::default());
    // The proposed policy's waivers apply to its own judgement only.
    let mut under = Report {
        findings: judged.findings,
        ..Report::default()
    };
    crate::waivers::apply(proposed, &mut under, &waiver_scope(pr), today);
    let errors: Vec<String> = under
        .findings
        .iter()
        .filter(|f| f.level == Level::Error)
        .map(|f| format!("{}: {}", f.rule, f.message))
        .collect();
    let waived = match under.waived.len() {
        0 => String::new(),
        n => format!(
            " ({} waived by the proposed policy's waivers, which take effect only once merged)",
            crate::report::plural(n, "finding")
        ),
    };
    if errors.is_empty() {
        format!(
            "this pull request changes the policy; under the proposed policy it would pass{waived}"
        )
    } else {
        format!(
            "this pull request changes the policy; under the proposed policy it would fail{waived}: {}",
            errors.join("; ")
        )
    }
}

/// The `proposed-policy` notice.
pub(super) fn proposal_notice(message: String) -> Finding {
    Finding {
        rule: crate::outcome::FindingId::ProposedPolicy.as_str().into(),
        level: Level::Notice,
        message: message.into(),
        help: Some(
            "the base policy decides this check; the proposed one takes effect once merged".into(),
        ),
        commit: None,
        commit_subject: None,
        ticket: None,
        path: None,
        policy: crate::policy::Span::default(),
        requirement: None,
        approvals: None,
    }
}
