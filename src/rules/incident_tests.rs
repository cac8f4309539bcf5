use crate::syntax::ErrorCode;
use std::collections::BTreeMap;

use super::{Context, Requirement, Violation};
use crate::definitions::{ChangedRef, Definitions, RuleView};
use crate::facts::SubjectKind;
use crate::facts::{Release, Subject};
use crate::predicates::changed_matches;
use crate::syntax::{PolicyError, Strings, TrueForDefaults, options};

pub(crate) const SUMMARY: &str =
    "Every incident named in the release has a regression test that references it.";

pub(crate) const DOC: &str = r#"## What it checks
Each incident ticket named by a commit of the audited range — a ticket of a
tracker marked `incident: true` (or of the listed `trackers`) — is referenced
by at least one test file at the end of the range: a file matching `tests`
(path-set names or globs; default: the common test locations of
`tests_changed`) whose text contains the ticket id.

## Why
P24: every incident is turned into regression tests in the next release.

## Example policy
```yaml
tickets:
  incidents: { pattern: '\bINC-[0-9]+\b', incident: true }
rules:
  - id: incident-regression-tests
    on: [release]
    require:
      incident_tests: { tests: ['tests/**'] }
```

## How to fix
Write a regression test for the incident and name the incident in it (a
comment such as `// INC-42: login loop after token refresh` is enough).
"#;

pub(crate) const SUBJECTS: &[SubjectKind] = &[SubjectKind::Release];

options! {
    /// Incidents of the release have regression tests.
    #[options(what = "`incident_tests`", shorthand = TrueForDefaults)]
    #[derive(Clone, Debug, Default)]
    pub struct Options {
        /// Incident trackers (default: every tracker with `incident: true`).
        pub(crate) trackers: Strings,
        /// Test files: path-set names or globs (default: common test locations).
        pub(crate) tests: Option<Vec<ChangedRef>>,
    }
}

impl Requirement for Options {
    fn uses(&self, policy: &Definitions, used: &mut super::Used) {
        // Default: every tracker marked `incident: true`.
        if self.trackers.0.is_empty() {
            for (name, _) in policy.tickets.iter().filter(|(_, t)| t.incident) {
                used.name("tickets", name);
            }
        }
        used.names("tickets", &self.trackers);
        if let Some(tests) = &self.tests {
            used.path_sets(tests);
        }
    }

    fn needs<'a>(&'a self, policy: &'a Definitions, _: RuleView<'a>, needs: &mut super::Needs<'a>) {
        needs.incident_references.push(IncidentQuery {
            options: self,
            policy,
        });
    }

    fn validate(&self, cx: &super::Validation<'_>, errors: &mut Vec<PolicyError>) {
        let (policy, rule) = (cx.definitions, cx.rule);
        policy.check_trackers(&self.trackers, errors);
        if let Some(tests) = &self.tests {
            policy.check_changed_refs(tests, errors);
        }
        if self.trackers.0.is_empty() && !policy.tickets.values().any(|t| t.incident) {
            errors.push(
                PolicyError::at(
                    ErrorCode::NoIncidentTracker,
                    rule.require_span,
                    "`incident_tests` has no incident tracker to read",
                )
                .help("mark a tracker `incident: true` under `tickets:`, or list `trackers`"),
            );
        }
    }

    fn check(&self, cx: &Context<'_>, out: &mut Vec<Violation>) {
        let Subject::Release(release) = &cx.subject else {
            return;
        };
        for (ticket, commits) in self.incidents(cx.definitions, release) {
            let tests = release.incident_references.get(&ticket).map_or(0, Vec::len);
            if tests == 0 {
                let shas: Vec<String> = commits
                    .iter()
                    .map(|c| c.chars().take(10).collect())
                    .collect();
                let mut v = Violation::new(format!("incident {ticket} (commit {}) has no regression test: no test file references it", shas.join(", ")))
                    .help(format!("add a regression test and name {ticket} in it"));
                v.ticket = Some(ticket);
                out.push(v);
            }
        }
    }
}

/// What the audit must find for an `incident_tests` rule: the test files
/// (at the release commit) that reference each incident ticket.
pub(crate) struct IncidentQuery<'a> {
    options: &'a Options,
    policy: &'a Definitions,
}

impl IncidentQuery<'_> {
    /// The incident tickets the release's commits name.
    pub(crate) fn tickets(&self, release: &Release) -> std::collections::BTreeSet<String> {
        self.options
            .incidents(self.policy, release)
            .into_keys()
            .collect()
    }

    /// Whether `path` is a test file where a reference counts.
    pub(crate) fn is_test(&self, path: &str) -> bool {
        self.options.is_test(self.policy, path)
    }
}

impl Options {
    /// Incident tickets named by the release's commits, with their commits.
    pub(crate) fn incidents(
        &self,
        policy: &Definitions,
        release: &Release,
    ) -> BTreeMap<String, Vec<String>> {
        let trackers = super::release_page::trackers(policy, &self.trackers, true);
        let mut found = BTreeMap::new();
        for (i, commit) in release.commits.iter().enumerate() {
            super::release_page::collect_tickets(&trackers, i as u32, &commit.message, &mut found);
        }
        let sha = |i: &u32| release.commits[*i as usize].sha.clone().unwrap_or_default();
        found
            .into_iter()
            .map(|(ticket, commits)| (ticket.to_owned(), commits.iter().map(sha).collect()))
            .collect()
    }

    /// Whether a path is a test file for this requirement.
    pub(crate) fn is_test(&self, policy: &Definitions, path: &str) -> bool {
        match &self.tests {
            Some(refs) => changed_matches(refs, policy, path),
            None => super::tests_changed::default_tests().is_match(path),
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::engine::evaluate;
    use crate::facts::{Release, ReleaseCommit, Subject};
    use crate::policy::{PolicySource, load};

    #[test]
    fn each_incident_needs_a_referencing_test() {
        let text = "version: 1\ntickets:\n  jira: { pattern: '\\bEPL-[0-9]+\\b' }\n  incidents: { pattern: '\\bINC-[0-9]+\\b', incident: true }\nrules:\n  - id: incident-tests\n    require: { incident_tests: { tests: ['tests/**'] } }\n";
        let policy = load(vec![PolicySource::new("p.yml", text)])
            .unwrap_or_else(|e| panic!("{:?}", e.errors));
        let mut release = Release {
            range: "v1..HEAD".into(),
            commits: vec![
                ReleaseCommit {
                    sha: Some("aaaa".into()),
                    message: "EPL-1 Fix the login loop (INC-42)".into(),
                },
                ReleaseCommit {
                    sha: Some("bbbb".into()),
                    message: "EPL-2 Guard the cache, INC-43".into(),
                },
            ],
            ..Release::default()
        };
        release
            .incident_references
            .insert("INC-42".into(), vec!["tests/login.rs".into()]);
        let found = evaluate(&policy, Subject::Release(&release));
        let messages: Vec<&str> = found.iter().map(|f| &*f.message).collect();
        assert_eq!(
            messages,
            ["incident INC-43 (commit bbbb) has no regression test: no test file references it"]
        );
        let rule = &policy.rules[0];
        let options = &rule.require.incident_tests.as_ref().unwrap().value;
        assert!(
            options.is_test(&policy, "tests/a/b.rs") && !options.is_test(&policy, "src/tests.rs")
        );
    }

    #[test]
    fn a_policy_without_incident_trackers_is_refused() {
        let text = "version: 1\ntickets: { jira: { pattern: 'X' } }\nrules:\n  - id: i\n    require: { incident_tests: true }\n";
        let errors = load(vec![PolicySource::new("p.yml", text)])
            .unwrap_err()
            .errors;
        assert_eq!(errors[0].code, "policy::no-incident-tracker");
    }
}
