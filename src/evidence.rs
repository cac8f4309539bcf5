//! Release evidence: for every change of a release, whether it went through
//! the merge gate, judged as it stood at merge time. Pure: the audit
//! gathers the facts (`sources::evidence`), this turns them into rows and
//! findings.

use std::collections::BTreeSet;
use std::sync::Arc;

pub use crate::outcome::evidence::{Approver, Change, Evidence, Expedited, RULE, Verdict};

use crate::facts::{MergedPullRequest, PullRequest, Stance};
use crate::outcome::Finding;
use crate::policy::{EvidenceMode, Level, Policy, Span};

/// Hours after the merge within which an expedited change's review is due.
pub(crate) const REVIEW_WINDOW_HOURS: f64 = 24.0;

/// The row of a merged pull request, from its facts at merge (`at_merge`,
/// with team members filled in) and the findings its base policy gave then.
pub(crate) fn pull_request_change(
    policy: &Policy,
    merged: &MergedPullRequest,
    pr: &PullRequest,
    findings: &[Finding],
    commits: Vec<String>,
) -> Change {
    let failed: Vec<(String, String)> = findings
        .iter()
        .filter(|f| f.level == Level::Error)
        .map(|f| {
            let about = f
                .commit
                .as_deref()
                .map(|c| format!("{}: ", crate::text::short_sha(c)))
                .unwrap_or_default();
            let mut message = format!("{about}{}", f.message);
            if let Some(edited) = &merged.body_edited_at {
                message.push_str(&format!(
                    " (its description was edited after the merge, at {edited}: the text the gate judged cannot be read, so it counts as empty)"
                ));
            }
            (f.rule.to_string(), message)
        })
        .collect();
    let expedited = crate::engine::expedited_grant(policy, pr).map(|(label, by, teams)| {
        let (reviewers, _) =
            crate::rules::expedited::members(&policy.definitions, &teams, &pr.team_members);
        let reviewed = merged
            .approved_after_merge()
            .into_iter()
            .filter(|(login, _)| {
                !login.eq_ignore_ascii_case(&pr.author) && reviewers.contains(&login.to_lowercase())
            })
            .find(|(_, at)| {
                crate::rules::expedited::hours_between(&merged.merged_at, at)
                    .is_some_and(|h| h > 0.0 && h <= REVIEW_WINDOW_HOURS)
            })
            .map(|(login, at)| (login.to_owned(), at.to_owned()));
        Expedited {
            label,
            granted_by: by,
            reviewed,
        }
    });
    let verdict = if !failed.is_empty() {
        Verdict::Failed
    } else if expedited.is_some()
        && findings
            .iter()
            .any(|f| f.level == Level::Warning && f.message.contains("— expedited ("))
    {
        Verdict::Expedited
    } else {
        Verdict::Passed
    };
    Change {
        pull_request: Some(merged.number),
        title: pr.title.clone(),
        commits,
        merge_commit: Some(merged.merge_commit_sha.clone()),
        base: Some(merged.base.clone()),
        head: Some(pr.head.clone()),
        author: Some(merged.author.clone()),
        tickets: tickets(policy, pr),
        approvers: approvers(policy, pr),
        approved_after_merge: merged
            .approved_after_merge()
            .into_iter()
            .map(|(login, _)| login.to_owned())
            .filter(|login| {
                !pr.reviews
                    .iter()
                    .any(|r| r.author == *login && r.stance() == Stance::Approved)
            })
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect(),
        merged_by: merged.merged_by.clone(),
        merged_at: Some(merged.merged_at.clone()),
        policy_commit: Some(merged.base_sha.clone()),
        verdict: Some(verdict),
        failed,
        expedited: expedited.filter(|_| verdict == Verdict::Expedited),
        signed: false,
    }
}

/// Each reviewer whose latest stance before the merge was an approval (the
/// author, an author of its commits and a bot never count), with the
/// policy teams they are in.
pub(crate) fn approvers(policy: &Policy, pr: &PullRequest) -> Vec<Approver> {
    let code = crate::rules::approval::code_authors(pr);
    let mut latest: std::collections::BTreeMap<String, (&str, Stance)> = Default::default();
    for review in &pr.reviews {
        let stance = review.stance();
        if stance != Stance::None {
            latest.insert(review.author.to_lowercase(), (&review.author, stance));
        }
    }
    latest
        .into_iter()
        .filter(|(login, (_, stance))| {
            *stance == Stance::Approved
                && *login != pr.author.to_lowercase()
                && !crate::rules::approval::is_bot(login)
                && !code.as_ref().is_some_and(|c| c.contains(login))
        })
        .map(|(login, (shown, _))| Approver {
            login: shown.to_owned(),
            teams: policy
                .definitions
                .teams
                .iter()
                .filter(|(name, team)| {
                    team.members
                        .iter()
                        .any(|m| m.value.eq_ignore_ascii_case(&login))
                        || pr
                            .team_members
                            .get(*name)
                            .is_some_and(|m| m.iter().any(|m| m.eq_ignore_ascii_case(&login)))
                })
                .map(|(name, _)| name.clone())
                .collect(),
        })
        .collect()
}

/// The tickets a pull request names in its title, description or branch,
/// by every tracker of the policy.
pub(crate) fn tickets(policy: &Policy, pr: &PullRequest) -> Vec<String> {
    let mut found = BTreeSet::new();
    for tracker in policy.definitions.tickets.values() {
        for text in [&pr.title, &pr.body, &pr.head] {
            found.extend(
                tracker
                    .pattern
                    .regex()
                    .find_iter(text)
                    .map(|m| m.as_str().to_owned()),
            );
        }
    }
    found.into_iter().collect()
}

/// The findings of the evidence: every change that did not go through the
/// gate, and an expedited change without its review. `branch` names where
/// the commits were pushed.
pub(crate) fn findings(policy: &Policy, evidence: &Evidence, branch: &str) -> Vec<Finding> {
    let mode = policy
        .audit
        .evidence
        .as_ref()
        .map(|e| e.value)
        .unwrap_or_default();
    let span = policy
        .audit
        .evidence
        .as_ref()
        .map(|e| e.span)
        .unwrap_or_default();
    let bypass = if mode == EvidenceMode::Warn {
        Level::Warning
    } else {
        Level::Error
    };
    let changes = match evidence {
        Evidence::Off => return Vec::new(),
        Evidence::NotChecked(why) => {
            let level = if mode == EvidenceMode::Require {
                Level::Error
            } else {
                Level::Warning
            };
            return vec![finding(
                level,
                format!(
                    "release evidence not checked: {why}; nothing shows that each change went through the merge gate"
                ),
                "run the audit with GITHUB_TOKEN (contents and pull-requests: read) and --repo OWNER/NAME, or set `audit: { evidence: off }`",
                None,
                span,
            )];
        }
        Evidence::Checked(changes) => changes,
    };
    let mut out = Vec::new();
    for change in changes {
        change_findings(change, branch, bypass, span, &mut out);
    }
    out
}

/// The findings about one change: none when it went through the gate.
fn change_findings(
    change: &Change,
    branch: &str,
    bypass: Level,
    span: Span,
    out: &mut Vec<Finding>,
) {
    let name = match change.pull_request {
        Some(n) => format!(
            "pull request #{n} ({})",
            crate::facts::shown_subject(&change.title)
        ),
        None => String::new(),
    };
    let merged_by = change.merged_by.as_deref().map_or_else(
        || String::from("merged by an unknown account"),
        |m| format!("merged by @{m}"),
    );
    match change.verdict() {
            Verdict::Passed | Verdict::Exempt => {}
            Verdict::PushedDirectly => {
                let sha = change.commits.first().map_or("", String::as_str);
                let who = change
                    .author
                    .as_deref()
                    .map(|a| format!(" (GitHub account @{a})"))
                    .unwrap_or_default();
                out.push(finding(
                    bypass,
                    format!(
                        "commit {} `{}`{who} was pushed directly to `{branch}`: no merged pull request brought it (P9, P11)",
                        crate::text::short_sha(sha),
                        crate::facts::shown_subject(&change.title)
                    ),
                    "changes reach a release branch through a reviewed pull request: revert it and open one; for release tooling, list its account in `audit: { exempt_accounts: [...] }` and have its commits signed",
                    Some(sha.to_owned()),
                    span,
                ));
            }
            Verdict::Failed => {
                for (rule, missing) in &change.failed {
                    let mut message = format!(
                        "{name} was merged while `{rule}` failed: {missing}, {merged_by}"
                    );
                    if !change.approved_after_merge.is_empty() {
                        message.push_str(&format!(
                            "; approved only after the merge by {} (not counted)",
                            change.approved_after_merge.join(", ")
                        ));
                    }
                    out.push(finding(
                        bypass,
                        message,
                        "a merge over a failing gate is a bypass: record the exception (who allowed it and why) and review the change now; restrict who may bypass branch protection",
                        change.merge_commit.clone(),
                        span,
                    ));
                }
            }
            Verdict::Expedited => {
                if let Some(e) = &change.expedited
                    && e.reviewed.is_none()
                {
                    out.push(finding(
                        bypass,
                        format!(
                            "{name} was merged on the expedited path (`{}`, granted by {}), {merged_by}, and has no post-implementation review: an approval by the granting team (not its author) within {REVIEW_WINDOW_HOURS} h of the merge (P21)",
                            e.label, e.granted_by
                        ),
                        "ask a member of the granting team to review and approve it now",
                        change.merge_commit.clone(),
                        span,
                    ));
                }
            }
            Verdict::NoPolicy => out.push(finding(
                Level::Warning,
                format!(
                    "{name} was merged when its base commit {} had no policy: no gate was in force",
                    change.policy_commit.as_deref().map_or("", crate::text::short_sha)
                ),
                "review the change now if the release needs it gated",
                change.merge_commit.clone(),
                span,
            )),
            Verdict::NotJudged => out.push(finding(
                bypass,
                format!(
                    "{name} was merged while the gate could not judge it: the policy at its base commit {} is invalid, {merged_by}",
                    change.policy_commit.as_deref().map_or("", crate::text::short_sha)
                ),
                "a merge the gate could not judge is a bypass: review the change now",
                change.merge_commit.clone(),
                span,
            )),
        }
}

fn finding(
    level: Level,
    message: String,
    help: &str,
    commit: Option<String>,
    span: Span,
) -> Finding {
    Finding {
        rule: Arc::from(RULE),
        level,
        message: Arc::from(message.as_str()),
        help: Some(Arc::from(help)),
        commit,
        commit_subject: None,
        ticket: None,
        path: None,
        policy: span,
        requirement: None,
        approvals: None,
    }
}

/// "12 changes: 9 through the gate, 1 expedited and reviewed, 1 pushed
/// directly, 1 merged while a rule failed".
pub(crate) fn summary(changes: &[Change]) -> String {
    let count = |v: Verdict| changes.iter().filter(|c| c.verdict() == v).count();
    let reviewed = changes
        .iter()
        .filter(|c| c.verdict() == Verdict::Expedited)
        .filter(|c| c.expedited.as_ref().is_some_and(|e| e.reviewed.is_some()))
        .count();
    let mut parts = vec![format!("{} through the gate", count(Verdict::Passed))];
    for (n, what) in [
        (reviewed, "expedited and reviewed"),
        (
            count(Verdict::Expedited) - reviewed,
            "expedited without its review",
        ),
        (count(Verdict::Exempt), "exempt release tooling"),
        (count(Verdict::PushedDirectly), "pushed directly"),
        (count(Verdict::Failed), "merged while a rule failed"),
        (
            count(Verdict::NotJudged),
            "merged while the gate could not judge",
        ),
        (count(Verdict::NoPolicy), "merged before a policy existed"),
    ] {
        if n > 0 {
            parts.push(format!("{n} {what}"));
        }
    }
    format!(
        "{}: {}",
        crate::text::plural(changes.len(), "change"),
        parts.join(", ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::facts::{DatedReview, LabelEvent, Rename};
    use crate::policy::{PolicySource, load};

    fn merged() -> MergedPullRequest {
        MergedPullRequest {
            repo: "octo/app".into(),
            number: 7,
            title: "EPL-1 now".into(),
            author: "dev".into(),
            merged_at: "2026-01-10T10:00:00Z".into(),
            reviews: vec![
                DatedReview {
                    author: "early".into(),
                    state: "APPROVED".into(),
                    commit: "c".into(),
                    submitted_at: Some("2026-01-10T09:00:00Z".into()),
                },
                DatedReview {
                    author: "late".into(),
                    state: "APPROVED".into(),
                    commit: "c".into(),
                    submitted_at: Some("2026-01-10T11:00:00Z".into()),
                },
                DatedReview {
                    author: "pending".into(),
                    state: "PENDING".into(),
                    commit: "c".into(),
                    submitted_at: None,
                },
            ],
            label_events: vec![
                LabelEvent {
                    label: "bug".into(),
                    actor: "dev".into(),
                    added: true,
                    at: "2026-01-10T08:00:00Z".into(),
                },
                LabelEvent {
                    label: "no-ticket".into(),
                    actor: "dev".into(),
                    added: true,
                    at: "2026-01-10T12:00:00Z".into(),
                },
            ],
            renames: vec![Rename {
                from: "EPL-1 then".into(),
                to: "EPL-1 now".into(),
                at: "2026-01-11T00:00:00Z".into(),
            }],
            ..MergedPullRequest::default()
        }
    }

    #[test]
    fn a_pull_request_is_seen_as_it_stood_when_merged() {
        let pr = merged().at_merge();
        assert_eq!(pr.title, "EPL-1 then", "a rename after the merge is undone");
        assert_eq!(
            pr.labels,
            ["bug"],
            "a label added after the merge is not on it"
        );
        let reviewers: Vec<&str> = pr.reviews.iter().map(|r| r.author.as_str()).collect();
        assert_eq!(
            reviewers,
            ["early"],
            "later and unsubmitted reviews do not count"
        );
        assert_eq!(
            merged().approved_after_merge(),
            [("late", "2026-01-10T11:00:00Z")]
        );
    }

    #[test]
    fn the_author_never_counts_as_an_approver() {
        let policy = load(vec![PolicySource::new(
            "p.yml",
            "version: 1\nteams:\n  platform: { members: [early] }\nrules: []\n",
        )])
        .unwrap_or_else(|e| panic!("{:?}", e.errors));
        let mut pr = merged().at_merge();
        pr.reviews.push(crate::facts::Review {
            author: "dev".into(),
            state: "APPROVED".into(),
            commit: "c".into(),
        });
        assert_eq!(
            approvers(&policy, &pr),
            [Approver {
                login: "early".into(),
                teams: vec!["platform".into()]
            }]
        );
    }

    #[test]
    fn not_checked_is_a_warning_unless_required() {
        for (mode, level) in [("on", Level::Warning), ("require", Level::Error)] {
            let policy = load(vec![PolicySource::new(
                "p.yml",
                format!("version: 1\naudit: {{ evidence: {mode} }}\nrules: []\n"),
            )])
            .unwrap_or_else(|e| panic!("{:?}", e.errors));
            let found = findings(&policy, &Evidence::NotChecked("no token".into()), "main");
            assert_eq!(found.len(), 1);
            assert_eq!(found[0].level, level, "{mode}");
        }
    }
}
