use super::{Context, Requirement, Violation};
use crate::definitions::{Definitions, RuleView};
use crate::facts::Subject;
use crate::facts::SubjectKind;
use crate::syntax::{Level, TrueForDefaults, branch_globs, options};

pub(crate) const SUMMARY: &str = "The release commit's checks are all green; expedited changes had their post-implementation review.";

pub(crate) const DOC: &str = r#"## What it checks
Through the GitHub API (a token in `GITHUB_TOKEN`; the repository from
`--repo`, `GITHUB_REPOSITORY` or the `origin` remote):

- every check run and commit status of the release commit (the end of the
  audited range) succeeded — pending and failing ones are findings, and so is a
  commit with no checks at all (no evidence is not a pass). Checks named in
  `ignore` (globs) and the job running the audit (`GITHUB_JOB`) are left out;
- with `expedited: { labels, granted_by, reviewed_by, within_hours }`, each
  pull request merged in the range with one of these labels (P21) was
  *granted* the expedited path — its timeline shows a member of a
  `granted_by` team applying the label before the merge — and has its
  post-implementation review: an approval by a member of `reviewed_by`
  (default: `granted_by`), not its author, within `within_hours` (default 24)
  after the merge. Each expedited change is listed with who granted it, who
  reviewed it and when; a label nobody entitled applied, or a missing or late
  review, is a finding.

Without a token these facts cannot be read: the finding says "not checked",
as a warning — or an error with `required: true`. Never a silent pass.

## Why
P27: the RC is promoted only when all regression tests pass. P21: expedited
changes get a post-implementation review within 24 hours.

## Example policy
```yaml
teams:
  rte: { members: [rte-lead] }
rules:
  - id: release-checks-green
    on: [release]
    require:
      release_checks:
        required: true
        ignore: ['codecov/*']
        expedited: { labels: [expedited], granted_by: [rte], within_hours: 24 }
```

## How to fix
Wait for the checks to finish, fix the failing ones and audit again; ask a
reviewer for the post-implementation review of each expedited pull request.
"#;

pub(crate) const SUBJECTS: &[SubjectKind] = &[SubjectKind::Release];

options! {
    /// The release commit's checks, and the expedited path's follow-up.
    #[options(what = "`release_checks`", shorthand = TrueForDefaults)]
    #[derive(Clone, Debug, Default)]
    pub struct Options {
        /// Not being able to check (no token) is an error, not a warning.
        pub(crate) required: bool,
        /// The expedited path: who may grant it, who reviews after the merge, how soon.
        pub(crate) expedited: Option<super::expedited::Expedited>,
        /// Check names to leave out (globs; `*` matches any text).
        pub(crate) ignore: crate::syntax::Globs => with(branch_globs),
    }
}

/// What the audit must read through the API for a `release_checks` rule.
pub(crate) struct ChecksQuery<'a> {
    options: &'a Options,
}

impl ChecksQuery<'_> {
    /// Whether a check of this name is left out.
    pub(crate) fn ignores(&self, name: &str) -> bool {
        self.options.ignore.is_match(name)
    }

    /// Labels of the expedited path.
    pub(crate) fn expedited_labels(&self) -> Vec<String> {
        self.options
            .expedited
            .iter()
            .flat_map(|e| e.labels.iter().map(|l| l.value.clone()))
            .collect()
    }
}

impl Requirement for Options {
    fn uses(&self, _: &Definitions, used: &mut super::Used) {
        if let Some(expedited) = &self.expedited {
            expedited.uses(used);
        }
    }

    fn needs<'a>(&'a self, _: &'a Definitions, _: RuleView<'a>, needs: &mut super::Needs<'a>) {
        needs.status_checks.push(ChecksQuery { options: self });
        if let Some(expedited) = &self.expedited {
            needs.grant_teams.extend(expedited.teams());
        }
    }

    fn validate(&self, cx: &super::Validation<'_>, errors: &mut Vec<crate::syntax::PolicyError>) {
        let policy = cx.definitions;
        if let Some(expedited) = &self.expedited {
            expedited.validate(policy, errors);
        }
    }

    fn check(&self, cx: &Context<'_>, out: &mut Vec<Violation>) {
        let Subject::Release(release) = &cx.subject else {
            return;
        };
        let not_checked = |what: &str| {
            let mut v = Violation::new(format!(
                "{what} not checked: there is no GitHub token to read them with"
            ))
            .help("run the audit with GITHUB_TOKEN set (and --repo OWNER/NAME outside Actions)");
            if !self.required {
                v.level = Some(Level::Warning);
            }
            v
        };
        match &release.checks {
            None => out.push(not_checked("the release commit's checks were")),
            Some(checks) => {
                if !checks.failing.is_empty() {
                    out.push(
                        Violation::new(format!(
                            "checks failing on the release commit: {}",
                            checks.failing.join(", ")
                        ))
                        .help("fix them: the RC is promoted only when all regression tests pass"),
                    );
                }
                if !checks.pending.is_empty() {
                    out.push(
                        Violation::new(format!(
                            "checks still running on the release commit: {}",
                            checks.pending.join(", ")
                        ))
                        .help("wait for them to finish and audit again"),
                    );
                }
                if checks.failing.is_empty()
                    && checks.pending.is_empty()
                    && checks.passed.is_empty()
                {
                    out.push(
                        Violation::new("no check ran on the release commit: nothing shows the regression tests passed")
                            .help("run the regression suite on the release commit (CI on the release branch or tag)"),
                    );
                }
            }
        }
        let Some(expedited) = &self.expedited else {
            return;
        };
        match &release.expedited {
            None => out.push(not_checked("expedited pull requests were")),
            Some(prs) => {
                out.extend(prs.iter().filter_map(|pr| {
                    judge_expedited(expedited, cx.definitions, release, pr).err()
                }));
            }
        }
    }
}

/// Every expedited change of the release, as the audit reports it: who
/// granted it, who merged it, who reviewed it and when, or what is missing.
pub(crate) fn expedited_evidence(
    policy: &impl super::RuleSet,
    release: &crate::facts::Release,
) -> Vec<String> {
    let Some(prs) = &release.expedited else {
        return Vec::new();
    };
    let rules = policy.each_rule();
    let Some(e) = rules
        .iter()
        .filter(|(rule, _)| rule.on.iter().any(|o| o.value == SubjectKind::Release))
        .find_map(|(_, require)| require.release_checks.as_ref()?.value.expedited.as_ref())
    else {
        return Vec::new();
    };
    prs.iter()
        .map(
            |pr| match judge_expedited(e, policy.definitions(), release, pr) {
                Ok(line) => line,
                Err(v) => v.message,
            },
        )
        .collect()
}

/// One expedited change: who granted and who reviewed it, or the finding
/// that says what is missing.
fn judge_expedited(
    e: &super::expedited::Expedited,
    policy: &Definitions,
    release: &crate::facts::Release,
    pr: &crate::facts::ExpeditedPullRequest,
) -> Result<String, Violation> {
    use super::expedited::{Expedited, hours_between, members};
    let name = format!("expedited pull request #{} ({})", pr.number, pr.title);
    let merged = match &pr.merged_by {
        Some(by) => format!("merged at {} by @{by}", pr.merged_at),
        None => format!("merged at {}", pr.merged_at),
    };
    let (granters, unresolved) = members(policy, &e.granted_by, &release.team_members);
    let (reviewers, unresolved_reviewers) = members(policy, e.reviewers(), &release.team_members);
    let unresolved: Vec<String> = unresolved.into_iter().chain(unresolved_reviewers).collect();
    if !unresolved.is_empty() {
        return Err(Violation::new(format!(
            "{name}: cannot tell who may grant or review it: the members of {} were not read",
            unresolved.join(", ")
        ))
        .help("list the team's `members` in the policy, or give a token that can read org team members (members:read)"));
    }
    let teams = |s: &crate::syntax::Strings| {
        s.iter()
            .map(|t| t.value.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let granted = Expedited::applied_by(&pr.label, &pr.label_events, Some(&pr.merged_at));
    let granter = match granted {
        Some(event)
            if event.actor.eq_ignore_ascii_case(&pr.author)
                && granters.contains(&event.actor.to_lowercase()) =>
        {
            return Err(Violation::new(format!(
                "{name} was {merged} on the expedited path (`{}`), but its author @{} applied the label, and no one grants their own expedited path: its approvals were skipped without a grant",
                pr.label, event.actor
            ))
            .help("have the change reviewed now and record the exception; a member of the granting team other than the author applies the label"));
        }
        Some(event) if granters.contains(&event.actor.to_lowercase()) => event,
        Some(event) => {
            return Err(Violation::new(format!(
                "{name} was {merged} on the expedited path (`{}`), but @{} applied the label, who may not grant it ({}): its approvals were skipped without a grant",
                pr.label, event.actor, teams(&e.granted_by)
            ))
            .help("have the change reviewed now and record the exception; only members of the granting team may apply the label"));
        }
        None => {
            return Err(Violation::new(format!(
                "{name} was {merged} on the expedited path (`{}`), but its timeline shows no one applying the label before the merge",
                pr.label
            ))
            .help("have the change reviewed now and record the exception"));
        }
    };
    let window = f64::from(e.window_hours());
    let review = pr.reviews.iter().find(|r| {
        r.state.eq_ignore_ascii_case("APPROVED")
            && !r.author.eq_ignore_ascii_case(&pr.author)
            && reviewers.contains(&r.author.to_lowercase())
            && hours_between(&pr.merged_at, &r.submitted_at).is_some_and(|h| h > 0.0 && h <= window)
    });
    match review {
        Some(r) => {
            let hours = hours_between(&pr.merged_at, &r.submitted_at).unwrap_or_default();
            Ok(format!(
                "{name}: granted by @{} at {}, {merged}, reviewed by @{} at {} ({hours:.1} h after the merge)",
                granter.actor, granter.at, r.author, r.submitted_at
            ))
        }
        None => Err(Violation::new(format!(
            "{name}, granted by @{} and {merged}, has no post-implementation review: an approval by {} (not its author) within {} h of the merge",
            granter.actor,
            teams(e.reviewers()),
            e.window_hours()
        ))
        .help("ask a member of the reviewing team to review and approve it now; a late review is still owed, and still shows here")),
    }
}

#[cfg(test)]
mod tests {
    use crate::engine::evaluate;
    use crate::facts::{
        ChecksState, ExpeditedPullRequest, LabelEvent, Release, Subject, TimedReview,
    };
    use crate::policy::{Level, PolicySource, load};

    const POLICY: &str = "version: 1\nteams:\n  rte: { members: [rte-lead, reviewer] }\nrules:\n  - id: checks\n    require: { release_checks: { required: REQUIRED, expedited: { labels: [expedited], granted_by: [rte], within_hours: 24 } } }\n";

    fn policy(required: bool) -> crate::policy::Policy {
        let text = POLICY.replace("REQUIRED", &required.to_string());
        load(vec![PolicySource::new("p.yml", text)]).unwrap_or_else(|e| panic!("{:?}", e.errors))
    }

    fn found(required: bool, release: &Release) -> Vec<(Level, String)> {
        evaluate(&policy(required), Subject::Release(release))
            .into_iter()
            .map(|f| (f.level, f.message.to_string()))
            .collect()
    }

    /// Granted by a member of rte an hour before the merge at 10:00.
    fn expedited(label_by: &str, reviews: &[(&str, &str, &str)]) -> ExpeditedPullRequest {
        ExpeditedPullRequest {
            number: 9,
            title: "Patch the gateway".into(),
            author: "dev".into(),
            label: "expedited".into(),
            merged_at: "2026-11-20T10:00:00Z".into(),
            merged_by: Some("rte-lead".into()),
            label_events: vec![LabelEvent {
                label: "expedited".into(),
                actor: label_by.into(),
                added: true,
                at: "2026-11-20T09:00:00Z".into(),
            }],
            reviews: reviews
                .iter()
                .map(|(author, state, at)| TimedReview {
                    author: (*author).into(),
                    state: (*state).into(),
                    submitted_at: (*at).into(),
                })
                .collect(),
        }
    }

    fn green(prs: Vec<ExpeditedPullRequest>) -> Release {
        Release {
            checks: Some(ChecksState {
                passed: vec!["ci".into()],
                ..ChecksState::default()
            }),
            expedited: Some(prs),
            ..Release::default()
        }
    }

    #[test]
    fn an_author_in_the_granting_team_did_not_grant_their_own_expedited_change() {
        let mut pr = expedited(
            "rte-lead",
            &[("reviewer", "APPROVED", "2026-11-20T15:00:00Z")],
        );
        pr.author = "RTE-lead".into();
        let found = found(true, &green(vec![pr]));
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(
            found[0]
                .1
                .contains("but its author @rte-lead applied the label"),
            "{found:?}"
        );
    }

    #[test]
    fn green_checks_and_reviewed_expedited_changes_pass() {
        let release = green(vec![expedited(
            "rte-lead",
            &[("reviewer", "APPROVED", "2026-11-20T15:00:00Z")],
        )]);
        assert!(found(true, &release).is_empty());
        assert_eq!(
            super::expedited_evidence(&policy(true), &release),
            [
                "expedited pull request #9 (Patch the gateway): granted by @rte-lead at 2026-11-20T09:00:00Z, merged at 2026-11-20T10:00:00Z by @rte-lead, reviewed by @reviewer at 2026-11-20T15:00:00Z (5.0 h after the merge)"
            ]
        );
    }

    #[test]
    fn an_expedited_label_nobody_entitled_applied_is_a_bypass() {
        let release = green(vec![expedited(
            "dev",
            &[("reviewer", "APPROVED", "2026-11-20T15:00:00Z")],
        )]);
        let found = found(false, &release);
        assert_eq!(found.len(), 1);
        assert!(
            found[0]
                .1
                .contains("but @dev applied the label, who may not grant it (rte)"),
            "{found:?}"
        );
    }

    #[test]
    fn only_a_timely_approval_by_the_team_not_the_author_is_the_review() {
        for reviews in [
            vec![],
            vec![("reviewer", "COMMENTED", "2026-11-20T15:00:00Z")],
            vec![("dev", "APPROVED", "2026-11-20T15:00:00Z")],
            vec![("outsider", "APPROVED", "2026-11-20T15:00:00Z")],
            vec![("reviewer", "APPROVED", "2026-11-20T09:30:00Z")],
            vec![("reviewer", "APPROVED", "2026-11-21T10:00:01Z")],
            vec![("reviewer", "APPROVED", "not a time")],
        ] {
            let release = green(vec![expedited("rte-lead", &reviews)]);
            let found = found(false, &release);
            assert_eq!(found.len(), 1, "{reviews:?}");
            assert!(
                found[0].1.contains("has no post-implementation review: an approval by rte (not its author) within 24 h of the merge"),
                "{reviews:?}: {found:?}"
            );
        }
    }

    #[test]
    fn red_pending_and_absent_checks_fail() {
        let red = Release {
            checks: Some(ChecksState {
                failing: vec!["regression".into()],
                pending: vec!["e2e".into()],
                ..ChecksState::default()
            }),
            expedited: Some(vec![]),
            ..Release::default()
        };
        let messages: Vec<String> = found(false, &red).into_iter().map(|f| f.1).collect();
        assert_eq!(
            messages,
            [
                "checks failing on the release commit: regression",
                "checks still running on the release commit: e2e"
            ]
        );
        let none = Release {
            checks: Some(ChecksState::default()),
            expedited: Some(vec![]),
            ..Release::default()
        };
        assert!(
            found(false, &none)[0]
                .1
                .starts_with("no check ran on the release commit")
        );
    }

    #[test]
    fn not_checked_is_a_warning_or_an_error_when_required() {
        let unknown = Release::default();
        let lenient = found(false, &unknown);
        assert!(
            lenient
                .iter()
                .all(|(level, m)| *level == Level::Warning && m.contains("not checked")),
            "{lenient:?}"
        );
        assert!(
            found(true, &unknown)
                .iter()
                .all(|(level, _)| *level == Level::Error)
        );
    }
}
