//! Applying the policy's waivers to a report: pure, like the engine. The
//! date comes in as a fact (`today`), read by the command.
//!
//! A finding is waived when a waiver that has not expired names its rule
//! and covers what it is about:
//! - `commit: <sha>`: the findings about that commit (whichever command judges it);
//! - `pull_request: N`: in `check pr` of that pull request, the findings
//!   about it, its head branch and its commits;
//! - `ticket: ID`: in the release audit, the release's findings about that
//!   ticket (not on the release page, no regression test). Never a commit's
//!   finding: a message that merely names the ticket escapes nothing.
//!
//! A waived finding moves to [`Report::waived`]: listed, not counted, never
//! failing. An expired waiver waives nothing and is a warning; a waiver
//! whose subject was judged in this run and that waived nothing is a warning
//! (cargo-deny's unmatched `ignore` entries). Waivers about what this run
//! did not judge say nothing: a hook checking one commit does not call every
//! other waiver unused.

use std::collections::BTreeSet;
use std::sync::Arc;

use chrono::NaiveDate;

use crate::outcome::{Finding, FindingId, Outcome};
use crate::outcome::{Report, Waived, WaiverState, WaiverUse};
use crate::policy::{Level, Policy, WaivedSubject, Waiver};

/// What a run judged, to tell a waiver that matched nothing from one about
/// something else.
#[derive(Clone, Debug, Default)]
pub(crate) struct Scope {
    /// Full ids of the commits judged (or skipped as exempt).
    pub(crate) commits: BTreeSet<String>,
    /// The pull request `check pr` judged.
    pub(crate) pull_request: Option<u64>,
    /// In the release audit: the tickets the release involves (named by its
    /// commits, on its page, incidents). `None`: not a release audit.
    pub(crate) release_tickets: Option<BTreeSet<String>>,
}

/// Rule id of the warning about an expired waiver.
pub const EXPIRED: &str = FindingId::ExpiredWaiver.as_str();
/// Rule id of the warning about a waiver that waived nothing.
pub(crate) const UNUSED: &str = FindingId::UnusedWaiver.as_str();

/// Waives what the policy's waivers cover, and warns about expired and
/// unused ones. Does nothing for a policy without waivers.
pub(crate) fn apply(policy: &Policy, report: &mut Report, scope: &Scope, today: NaiveDate) {
    if policy.waivers.is_empty() {
        return;
    }
    let mut uses: Vec<WaiverUse> = policy.waivers.iter().map(waiver_use).collect();
    let expired: Vec<bool> = policy.waivers.iter().map(|w| w.expired(today)).collect();
    let mut kept = Vec::with_capacity(report.findings.len());
    for finding in std::mem::take(&mut report.findings) {
        let mut waived_by = None;
        for (index, waiver) in policy.waivers.iter().enumerate() {
            if covers(waiver, &finding, scope) {
                uses[index].findings += 1;
                if !expired[index] && waived_by.is_none() {
                    waived_by = Some(index);
                }
            }
        }
        match waived_by {
            Some(waiver) => report.waived.push(Waived { finding, waiver }),
            None => kept.push(finding),
        }
    }
    report.findings = kept;
    forget_waived_in_draft(report);
    for (index, waiver) in policy.waivers.iter().enumerate() {
        let judged = uses[index].findings > 0 || in_scope(&waiver.subject.value, scope);
        let used = report.waived.iter().any(|w| w.waiver == index);
        let state = match (expired[index], used, judged) {
            (true, _, true) => WaiverState::Expired,
            (false, true, _) => WaiverState::Used,
            (false, false, true) => WaiverState::Unused,
            (_, _, false) => WaiverState::NotJudged,
        };
        uses[index].state = state;
        match state {
            WaiverState::Expired => report.findings.push(warning(
                EXPIRED,
                waiver,
                format!(
                    "the waiver for {} expired on {}: it waives nothing{}",
                    waiver.describe(),
                    uses[index].expires.as_deref().unwrap_or(""),
                    match uses[index].findings {
                        0 => String::new(),
                        1 => String::from(", and the finding it would waive stands"),
                        n => format!(", and the {n} findings it would waive stand"),
                    }
                ),
                "renew it with a new `expires` date (and a reason that still holds), or remove it and fix what it waived",
            )),
            WaiverState::Unused => report.findings.push(warning(
                UNUSED,
                waiver,
                format!(
                    "the waiver for {} waived nothing: {} was judged and no finding of those rules is about it",
                    waiver.describe(),
                    waiver.subject.value.describe()
                ),
                "remove the waiver: what it waived is fixed, or it names the wrong rule",
            )),
            WaiverState::Used | WaiverState::NotJudged => {}
        }
    }
    report.waivers = uses;
}

/// A rule whose every finding was waived shows as waived, not passed.
pub(crate) fn mark_verdicts(report: &mut Report) {
    for verdict in &mut report.verdicts {
        if matches!(verdict.outcome, None | Some(Outcome::Passed))
            && report
                .waived
                .iter()
                .any(|w| *w.finding.rule == *verdict.rule)
        {
            verdict.outcome = Some(Outcome::Waived);
        }
    }
}

/// The full ids of the commits that commit waivers name, to note which a
/// run judges.
pub(crate) fn waived_commits(policy: &Policy) -> BTreeSet<&str> {
    policy
        .waivers
        .iter()
        .filter_map(|w| match &w.subject.value {
            WaivedSubject::Commit(sha) => Some(sha.as_str()),
            _ => None,
        })
        .collect()
}

/// Whether `waiver` (expired or not) is about `finding`.
pub(crate) fn covers(waiver: &Waiver, finding: &Finding, scope: &Scope) -> bool {
    if !waiver.names(&finding.rule) {
        return false;
    }
    match &waiver.subject.value {
        WaivedSubject::Commit(sha) => finding.commit.as_deref() == Some(sha.as_str()),
        WaivedSubject::PullRequest(number) => scope.pull_request == Some(*number),
        WaivedSubject::Ticket(ticket) => {
            scope.release_tickets.is_some()
                && finding.commit.is_none()
                && finding.ticket.as_deref() == Some(ticket.as_str())
        }
    }
}

/// A draft's finding lists what else the pull request misses before it can
/// merge (see `engine::evaluate`); a waived finding is not missing.
fn forget_waived_in_draft(report: &mut Report) {
    if report.waived.is_empty() {
        return;
    }
    let waived: Vec<String> = report
        .waived
        .iter()
        .map(|w| format!("{} ({})", w.finding.rule, w.finding.message))
        .collect();
    for finding in &mut report.findings {
        let Some((own, rest)) = finding.message.split_once(crate::engine::ALSO_MISSING) else {
            continue;
        };
        let mut items = rest.to_owned();
        for item in &waived {
            for shape in [format!("{item}; "), format!("; {item}"), item.clone()] {
                if let Some(at) = items.find(&shape) {
                    items.replace_range(at..at + shape.len(), "");
                    break;
                }
            }
        }
        let message = if items.is_empty() {
            own.to_owned()
        } else {
            format!("{own}{}{items}", crate::engine::ALSO_MISSING)
        };
        finding.message = Arc::from(message);
    }
}

fn in_scope(subject: &WaivedSubject, scope: &Scope) -> bool {
    match subject {
        WaivedSubject::Commit(sha) => scope.commits.contains(sha),
        WaivedSubject::PullRequest(number) => scope.pull_request == Some(*number),
        WaivedSubject::Ticket(ticket) => scope
            .release_tickets
            .as_ref()
            .is_some_and(|t| t.contains(ticket)),
    }
}

fn waiver_use(waiver: &Waiver) -> WaiverUse {
    WaiverUse {
        key: waiver.subject.value.key(),
        value: waiver.subject.value.value(),
        subject: waiver.subject.value.describe(),
        rules: waiver.rules.iter().map(|r| r.value.clone()).collect(),
        reason: waiver.reason.value.clone(),
        granted_by: waiver.granted_by.value.clone(),
        expires: waiver
            .expires
            .as_ref()
            .map(|e| e.value.format("%Y-%m-%d").to_string()),
        policy: waiver.span,
        state: WaiverState::NotJudged,
        findings: 0,
    }
}

fn warning(rule: &str, waiver: &Waiver, message: String, help: &str) -> Finding {
    Finding {
        rule: Arc::from(rule),
        level: Level::Warning,
        message: Arc::from(message),
        help: Some(Arc::from(help)),
        commit: None,
        commit_subject: None,
        ticket: None,
        path: None,
        policy: waiver.span,
        requirement: None,
        approvals: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::facts::{Commit, Subject};
    use crate::policy::{PolicySource, load};

    const SHA: &str = "3f2a9c1e3f2a9c1e3f2a9c1e3f2a9c1e3f2a9c1e";

    fn policy(waivers: &str) -> Policy {
        let text = format!(
            r#"version: 1
tickets: {{ jira: {{ pattern: '\bEPL-[0-9]+\b' }} }}
rules:
  - id: commit-ticket
    on: [commit]
    require: {{ ticket: {{ in: [message] }} }}
  - id: subject-length
    on: [commit]
    require: {{ message: {{ subject_max_length: 10 }} }}
  - id: release-page
    on: [release]
    require: {{ release_page: {{ path: 'docs/{{version}}.md' }} }}
waivers:
{waivers}"#
        );
        load(vec![PolicySource::new("p.yml", text)]).unwrap_or_else(|e| panic!("{:?}", e.errors))
    }

    fn report(policy: &Policy, message: &str) -> Report {
        let commit = Commit {
            sha: Some(SHA.into()),
            message: message.into(),
            ..Commit::default()
        };
        Report {
            findings: crate::engine::evaluate(policy, Subject::Commit(&commit)),
            ..Report::default()
        }
    }

    fn day(text: &str) -> NaiveDate {
        NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap()
    }

    fn scope() -> Scope {
        Scope {
            commits: [SHA.to_owned()].into(),
            ..Scope::default()
        }
    }

    #[test]
    fn a_commit_waiver_waives_only_the_rules_it_names() {
        let p = policy(&format!(
            "  - {{ commit: '{}', rules: [commit-ticket], reason: outage, granted_by: rte }}\n",
            SHA.to_uppercase()
        ));
        let mut r = report(&p, "a long subject without a ticket");
        assert_eq!(r.findings.len(), 2);
        apply(&p, &mut r, &scope(), day("2026-01-01"));
        let left: Vec<&str> = r.findings.iter().map(|f| &*f.rule).collect();
        assert_eq!(left, ["subject-length"]);
        assert_eq!(r.waived.len(), 1);
        assert_eq!(&*r.waived[0].finding.rule, "commit-ticket");
        assert_eq!(r.waivers[0].state, WaiverState::Used);
    }

    #[test]
    fn a_drafts_finding_no_longer_lists_what_was_waived() {
        let text = r#"version: 1
tickets: { jira: { pattern: '\bEPL-[0-9]+\b' } }
rules:
  - id: draft
    on: [pull_request]
    require: { ready: true }
  - id: pr-ticket
    on: [pull_request]
    require: { ticket: { in: [title] } }
  - id: pr-labelled
    on: [pull_request]
    require: { labels: { any_of: [bug, feature] } }
waivers:
  - { pull_request: 7, rules: [pr-ticket], reason: outage, granted_by: rte }
"#;
        let p = load(vec![PolicySource::new("p.yml", text.to_owned())])
            .unwrap_or_else(|e| panic!("{:?}", e.errors));
        let pr = crate::facts::PullRequest {
            number: 7,
            title: "No ticket here".into(),
            draft: true,
            ..crate::facts::PullRequest::default()
        };
        let mut r = Report {
            findings: crate::engine::evaluate(&p, Subject::PullRequest(&pr)),
            ..Report::default()
        };
        let draft = |r: &Report| {
            r.findings
                .iter()
                .find(|f| &*f.rule == "draft")
                .map(|f| f.message.to_string())
                .unwrap()
        };
        assert!(draft(&r).contains("pr-ticket ("), "{}", draft(&r));
        let scope = Scope {
            pull_request: Some(7),
            ..Scope::default()
        };
        apply(&p, &mut r, &scope, day("2026-01-01"));
        assert_eq!(r.waived.len(), 1);
        let message = draft(&r);
        assert!(!message.contains("pr-ticket"), "{message}");
        assert!(message.contains("pr-labelled ("), "{message}");
    }

    #[test]
    fn an_expired_waiver_waives_nothing_and_warns() {
        let p = policy(&format!(
            "  - {{ commit: '{SHA}', rules: [commit-ticket], reason: outage, granted_by: rte, expires: 2026-03-31 }}\n"
        ));
        let mut r = report(&p, "short");
        apply(&p, &mut r, &scope(), day("2026-03-31"));
        assert!(r.passed(), "the expiry day itself still waives");
        let mut r = report(&p, "short");
        apply(&p, &mut r, &scope(), day("2026-04-01"));
        assert!(!r.passed());
        assert!(r.waived.is_empty());
        let warning = r.findings.iter().find(|f| &*f.rule == EXPIRED).unwrap();
        assert_eq!(warning.level, Level::Warning);
        assert!(
            warning.message.contains("expired on 2026-03-31"),
            "{}",
            warning.message
        );
        assert_eq!(r.waivers[0].state, WaiverState::Expired);
    }

    #[test]
    fn an_unused_waiver_warns_only_when_its_subject_was_judged() {
        let p = policy(&format!(
            "  - {{ commit: '{SHA}', rules: [commit-ticket], reason: outage, granted_by: rte }}\n"
        ));
        let mut r = report(&p, "EPL-1 x");
        apply(&p, &mut r, &scope(), day("2026-01-01"));
        assert!(r.findings.iter().any(|f| &*f.rule == UNUSED));
        let mut r = report(&p, "EPL-1 x");
        apply(&p, &mut r, &Scope::default(), day("2026-01-01"));
        assert!(r.findings.is_empty(), "{:?}", r.findings);
        assert_eq!(r.waivers[0].state, WaiverState::NotJudged);
    }

    #[test]
    fn a_ticket_waiver_never_covers_a_commit_that_names_the_ticket() {
        let p =
            policy("  - { ticket: EPL-7, rules: [release-page], reason: r, granted_by: rte }\n");
        let about_ticket = Finding {
            ticket: Some("EPL-7".into()),
            ..report(&p, "short").findings[0].clone()
        };
        let mut release_finding = about_ticket.clone();
        release_finding.rule = "release-page".into();
        release_finding.commit = None;
        let mut commit_finding = release_finding.clone();
        commit_finding.commit = Some(SHA.into());
        let release = Scope {
            release_tickets: Some(["EPL-7".to_owned()].into()),
            ..Scope::default()
        };
        let waiver = &p.waivers[0];
        assert!(covers(waiver, &release_finding, &release));
        assert!(!covers(waiver, &commit_finding, &release));
        assert!(
            !covers(waiver, &release_finding, &Scope::default()),
            "only in a release audit"
        );
        let mut other_rule = release_finding.clone();
        other_rule.rule = "commit-ticket".into();
        assert!(!covers(waiver, &other_rule, &release));
    }
}
