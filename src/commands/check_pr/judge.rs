//! The pull request judged under one policy: what that policy needs
//! gathered (label history, commits, teams, tickets), every rule applied,
//! waivers and verdicts.

use std::collections::{BTreeMap, BTreeSet};

use super::policies::proposed;
use super::{Checked, JUDGED, Reader};
use crate::commands::Failure;
use crate::engine::{
    Finding, Interner, applies, evaluate_shared, needs, rule_needs, skip_reason, verdicts,
};
use crate::facts::{Branch, PullRequest, Subject};
use crate::policy::{Policy, PolicySource, SubjectKind, load};
use crate::report::Report;
use crate::rules::Needs;
use crate::sources::github::{self, GitHub};
use crate::sources::{Fatal, pull_request};

/// The pull request judged under one policy: the facts that policy needs
/// gathered, every rule applied, waivers and verdicts.
pub(super) async fn judge_under(
    at: Reader<'_>,
    pr: PullRequest,
    sources: Vec<PolicySource>,
    base_texts: &[(String, String)],
) -> Result<Checked, Failure> {
    let policy = load(sources).map_err(Failure::Policy)?;
    crate::commands::prepare(&policy, JUDGED)?;
    let wanted = wanted(&policy, &pr);
    let Gathered {
        pr,
        unreadable,
        mut notes,
    } = gather(at, pr, &policy, &wanted).await?;
    let mut judged = judge(&policy, &pr, &mut Interner::default());
    let today = crate::commands::today();
    // A pull request that changes the policy is judged by the base policy
    // (it must not weaken its own, nor waive its own findings); the proposed
    // one is reported as notices.
    if let Some(proposal) = proposed(at, &pr, base_texts, today).await? {
        judged.findings.push(proposal.notice);
        notes.extend(proposal.note);
    }
    let report = report_of(&policy, &pr, judged, today);
    Ok(Checked {
        policy,
        report,
        notes,
        unreadable,
        pr,
    })
}

/// What one policy needs gathered about the pull request: the union over
/// every rule that can run here (the pull request, each commit, the head
/// branch). Offline, nothing more is asked of GitHub.
pub(super) struct Wanted {
    pub(super) commits: pull_request::CommitFacts,
    /// The label history (a label someone may have granted).
    pub(super) label_events: bool,
    /// The teams whose members approval rules may need.
    pub(super) teams: BTreeSet<String>,
    /// The trackers to ask about the tickets named, with their fields.
    pub(super) tickets: BTreeMap<String, BTreeSet<String>>,
}

pub(super) fn wanted(policy: &Policy, pr: &PullRequest) -> Wanted {
    let online = !pr.offline;
    let commit_needs = needs(policy, SubjectKind::Commit);
    let pr_needs = needs(policy, SubjectKind::PullRequest);
    let carries =
        |labels: &BTreeSet<String>| pr.labels.iter().any(|l| labels.contains(&l.to_lowercase()));
    let granting = carries(&pr_needs.label_events) && online;
    // Who wrote its commits is read when it can matter: an approval by
    // someone other than the author (who may be a commit's author), or a
    // label someone may have granted.
    let approved_by_another = pr.reviews.iter().any(|r| {
        r.stance() == crate::facts::Stance::Approved && !r.author.eq_ignore_ascii_case(&pr.author)
    });
    let commits = pull_request::CommitFacts {
        changes: commit_needs.changed_files,
        accounts: commit_needs.commit_accounts && online,
        writers: pr_needs.commit_writers && (approved_by_another || granting) && online,
    };
    let teams = match online {
        true => pr_needs
            .teams
            .union(&pr_needs.grant_teams)
            .cloned()
            .collect(),
        false => BTreeSet::new(),
    };
    let tickets = match online {
        true => crate::commands::tracked::wanted(
            policy,
            &[SubjectKind::PullRequest, SubjectKind::Commit],
        ),
        false => BTreeMap::new(),
    };
    Wanted {
        commits,
        label_events: granting,
        teams,
        tickets,
    }
}

/// The pull request with what one policy needs, and what the reader should
/// know about how it was read.
pub(super) struct Gathered {
    pub(super) pr: PullRequest,
    /// Teams the rules that apply need, which could not be read: findings
    /// of those rules, not an abort of the whole check.
    pub(super) unreadable: Vec<Fatal>,
    pub(super) notes: Vec<String>,
}

pub(super) async fn gather(
    at: Reader<'_>,
    mut pr: PullRequest,
    policy: &Policy,
    wanted: &Wanted,
) -> Result<Gathered, Failure> {
    let Reader { gh, git, .. } = at;
    if wanted.label_events {
        let (labels, code) = github::label_events(gh, &pr.repo, pr.number).await?;
        pr.label_events = Some(labels);
        pr.code_events = code;
    }
    // Team members are read while the changes are gathered; a team only
    // matters (and its read only fails the check) when a rule that applies needs it.
    let (completed, teams) = futures_util::join!(
        pull_request::complete(gh, git, &mut pr, wanted.commits),
        read_teams(gh, policy, &wanted.teams)
    );
    let mut notes = completed?.notes;
    read_tickets(policy, &mut pr, &wanted.tickets).await?;
    let unreadable = place_teams(policy, &mut pr, teams);
    notes.extend(unreadable.iter().map(|fatal| fatal.message.clone()));
    Ok(Gathered {
        pr,
        unreadable,
        notes,
    })
}

/// Tickets are verified in their trackers once the commits are read: every
/// ticket named anywhere, in one batch per tracker.
pub(super) async fn read_tickets(
    policy: &Policy,
    pr: &mut PullRequest,
    wanted: &BTreeMap<String, BTreeSet<String>>,
) -> Result<(), Fatal> {
    if wanted.is_empty() {
        return Ok(());
    }
    let mut texts: Vec<&str> = vec![&pr.title, &pr.body, &pr.head];
    texts.extend(pr.commits.iter().map(|c| c.message.as_str()));
    let mut requests = 0;
    let settings = crate::commands::tracked::settings()?;
    let facts =
        crate::commands::tracked::read(policy, wanted, &texts, settings, &mut requests).await?;
    if let Some(facts) = facts {
        for commit in &mut pr.commits {
            commit.tracked = Some(facts.clone());
        }
        pr.tracked = Some(facts);
    }
    Ok(())
}

/// Gives the pull request the members of the teams the rules that apply
/// need; returns those that could not be read. Granting teams that could
/// not be read grant nothing (the rule says so).
pub(super) fn place_teams(
    policy: &Policy,
    pr: &mut PullRequest,
    teams: BTreeMap<String, Result<Vec<String>, Fatal>>,
) -> Vec<Fatal> {
    let mut applicable = Needs::default();
    for rule in policy
        .rules
        .iter()
        .filter(|r| applies(policy, r, &Subject::PullRequest(pr)))
    {
        rule_needs(policy, rule, &mut applicable);
    }
    for team in &applicable.grant_teams {
        if let Some(Ok(members)) = teams.get(team) {
            pr.team_members.insert(team.clone(), members.clone());
        }
    }
    let mut unreadable = Vec::new();
    for team in applicable.teams {
        match teams.get(&team) {
            Some(Ok(members)) => {
                pr.team_members.insert(team.clone(), members.clone());
            }
            Some(Err(fatal)) => unreadable.push(fatal.clone()),
            None => {}
        }
    }
    unreadable
}

/// The report of the pull request's judgement: findings, subjects, tickets,
/// waivers as of `today`, verdicts.
pub(super) fn report_of(
    policy: &Policy,
    pr: &PullRequest,
    judged: Judged,
    today: chrono::NaiveDate,
) -> Report {
    let branch = Branch {
        name: pr.head.clone(),
    };
    let mut subjects = vec![Subject::PullRequest(pr), Subject::Branch(&branch)];
    subjects.extend(pr.commits.iter().map(Subject::Commit));
    let mut report = Report {
        subject_kind: "pull_request",
        subject_ref: format!("{}#{}", pr.repo, pr.number),
        findings: judged.findings,
        checked: judged.checked,
        skipped: judged.skipped,
        ..Report::default()
    };
    report.tickets = crate::commands::tracked::report_lines(policy, pr.tracked.as_deref());
    crate::waivers::apply(policy, &mut report, &waiver_scope(pr), today);
    report.verdicts = verdicts(policy, &subjects, &report.findings);
    crate::waivers::mark_verdicts(&mut report);
    report
}

/// Findings of one judgement, with how many subjects were judged and
/// skipped.
pub(in crate::commands) struct Judged {
    pub(in crate::commands) findings: Vec<Finding>,
    pub(in crate::commands) checked: usize,
    pub(in crate::commands) skipped: usize,
}

/// PR rules on the pull request, commit rules on each commit, branch rules
/// on the head branch.
pub(in crate::commands) fn judge(
    policy: &Policy,
    pr: &PullRequest,
    interner: &mut Interner,
) -> Judged {
    let mut findings = evaluate_shared(policy, Subject::PullRequest(pr), interner);
    let (mut judged, mut skipped) = (1, 0);
    for commit in &pr.commits {
        let subject = Subject::Commit(commit);
        if skip_reason(policy, &subject).is_some() {
            skipped += 1;
            continue;
        }
        judged += 1;
        findings.extend(evaluate_shared(policy, subject, interner));
    }
    let branch = Branch {
        name: pr.head.clone(),
    };
    findings.extend(evaluate_shared(policy, Subject::Branch(&branch), interner));
    Judged {
        findings,
        checked: judged + 1,
        skipped,
    }
}

/// What `check pr` judges, for waivers: the pull request and its commits.
pub(super) fn waiver_scope(pr: &PullRequest) -> crate::waivers::Scope {
    crate::waivers::Scope {
        commits: pr.commits.iter().filter_map(|c| c.sha.clone()).collect(),
        pull_request: Some(pr.number),
        release_tickets: None,
    }
}

/// The members of each team, read at the same time; a team that cannot
/// be read is an error of that team only.
pub(super) async fn read_teams(
    gh: &GitHub,
    policy: &Policy,
    teams: &std::collections::BTreeSet<String>,
) -> BTreeMap<String, Result<Vec<String>, Fatal>> {
    let mut out = BTreeMap::new();
    let reads = teams.iter().map(|team| async move {
        let one = std::iter::once(team.clone()).collect();
        (
            team.clone(),
            pull_request::resolve_teams(gh, policy, &one)
                .await
                .map(|mut m| m.remove(team).unwrap_or_default()),
        )
    });
    for (team, result) in futures_util::future::join_all(reads).await {
        out.insert(team, result);
    }
    out
}
