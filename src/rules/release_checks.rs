use schemars::JsonSchema;

use super::{Context, Requirement, Violation};
use crate::facts::Subject;
use crate::policy::{Decoder, Level, Node, Strings, SubjectKind, node::Value};

pub const SUMMARY: &str = "The release commit's checks are all green; expedited changes had their post-implementation review.";

pub const DOC: &str = r#"## What it checks
Through the GitHub API (a token in `GITHUB_TOKEN`; the repository from
`--repo`, `GITHUB_REPOSITORY` or the `origin` remote):

- every check run and commit status of the release commit (the end of the
  audited range) succeeded — pending and failing ones are findings, and so is a
  commit with no checks at all (no evidence is not a pass). Checks named in
  `ignore` (globs) and the job running the audit (`GITHUB_JOB`) are left out;
- with `expedited`, pull requests carrying one of these labels and merged in
  the range have had a review after their merge (the post-implementation
  review); each that has not is a finding.

Without a token these facts cannot be read: the finding says "not checked",
as a warning — or an error with `required: true`. Never a silent pass.

## Why
P27: the RC is promoted only when all regression tests pass. P21: expedited
changes get a post-implementation review within 24 hours.

## Example policy
```yaml
rules:
  - id: release-checks-green
    on: [release]
    require:
      release_checks: { required: true, expedited: [expedited], ignore: ['codecov/*'] }
```

## How to fix
Wait for the checks to finish, fix the failing ones and audit again; ask a
reviewer for the post-implementation review of each expedited pull request.
"#;

pub const SUBJECTS: &[SubjectKind] = &[SubjectKind::Release];

/// The release commit's checks, and the expedited path's follow-up.
#[derive(Clone, Debug, Default, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Options {
    /// Not being able to check (no token) is an error, not a warning.
    #[serde(default)]
    pub required: bool,
    /// Labels of the expedited path; their merged pull requests need a later review.
    #[serde(default)]
    pub expedited: Strings,
    /// Check names to leave out (globs; `*` matches any text).
    #[serde(default)]
    #[schemars(with = "Strings")]
    pub ignore: crate::policy::Globs,
}

/// What the audit must read through the API for a `release_checks` rule.
pub struct ChecksQuery<'a> {
    options: &'a Options,
}

impl ChecksQuery<'_> {
    /// Whether a check of this name is left out.
    pub fn ignores(&self, name: &str) -> bool {
        self.options.ignore.is_match(name)
    }

    /// Labels of the expedited path.
    pub fn expedited_labels(&self) -> Vec<String> {
        self.options
            .expedited
            .iter()
            .map(|l| l.value.clone())
            .collect()
    }
}

pub fn decode(node: &Node, d: &mut Decoder) -> Option<Options> {
    if let Value::Bool(true) = node.value {
        return Some(Options::default());
    }
    let fields = d.fields(
        node,
        "`release_checks`",
        &["required", "expedited", "ignore"],
    )?;
    let required = fields
        .get("required")
        .is_some_and(|n| d.bool(n).unwrap_or(false));
    let expedited = match fields.get("expedited") {
        Some(n) => Strings(d.strings(n)?),
        None => Strings::default(),
    };
    let ignore = match fields.get("ignore") {
        Some(n) => d.branch_globs(n)?,
        None => crate::policy::Globs::default(),
    };
    Some(Options {
        required,
        expedited,
        ignore,
    })
}

impl Requirement for Options {
    fn needs<'a>(
        &'a self,
        _: &'a crate::policy::Policy,
        _: &'a crate::policy::Rule,
        needs: &mut super::Needs<'a>,
    ) {
        needs.status_checks.push(ChecksQuery { options: self });
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
        if self.expedited.0.is_empty() {
            return;
        }
        match &release.expedited {
            None => out.push(not_checked("expedited pull requests were")),
            Some(prs) => {
                for pr in prs.iter().filter(|p| !p.reviewed_after_merge) {
                    out.push(
                        Violation::new(format!("expedited pull request #{} ({}) has had no review since it was merged", pr.number, pr.title))
                            .help("the expedited path owes a post-implementation review within 24 hours: ask a reviewer to review it now"),
                    );
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::engine::evaluate;
    use crate::facts::{ChecksState, ExpeditedPullRequest, Release, Subject};
    use crate::policy::{Level, PolicySource, load};

    fn found(required: bool, release: &Release) -> Vec<(Level, String)> {
        let text = format!(
            "version: 1\nrules:\n  - id: checks\n    require: {{ release_checks: {{ required: {required}, expedited: [expedited] }} }}\n"
        );
        let policy = load(vec![PolicySource::new("p.yml", text)])
            .unwrap_or_else(|e| panic!("{:?}", e.errors));
        evaluate(&policy, Subject::Release(release))
            .into_iter()
            .map(|f| (f.level, f.message.to_string()))
            .collect()
    }

    #[test]
    fn green_checks_and_reviewed_expedited_changes_pass() {
        let release = Release {
            checks: Some(ChecksState {
                passed: vec!["ci".into()],
                ..ChecksState::default()
            }),
            expedited: Some(vec![ExpeditedPullRequest {
                number: 5,
                title: "Hotfix".into(),
                reviewed_after_merge: true,
            }]),
            ..Release::default()
        };
        assert!(found(true, &release).is_empty());
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

    #[test]
    fn expedited_changes_without_a_later_review_are_listed() {
        let release = Release {
            checks: Some(ChecksState {
                passed: vec!["ci".into()],
                ..ChecksState::default()
            }),
            expedited: Some(vec![ExpeditedPullRequest {
                number: 9,
                title: "Patch the gateway".into(),
                reviewed_after_merge: false,
            }]),
            ..Release::default()
        };
        assert_eq!(found(false, &release), [(Level::Error, "expedited pull request #9 (Patch the gateway) has had no review since it was merged".to_owned())]);
    }
}
