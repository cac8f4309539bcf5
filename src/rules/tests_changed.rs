use crate::syntax::ErrorCode;

use super::{Context, Requirement, Violation};
use crate::definitions::{ChangedRef, Definitions, RuleView};
use crate::facts::SubjectKind;
use crate::predicates::changed_matches;
use crate::syntax::{Decoder, Node, PolicyError, Shorthand, glob_set, node::Value, options};
use crate::text::plural;

pub(crate) const SUMMARY: &str = "The change adds or updates at least one test file.";

pub(crate) const DOC: &str = r#"## What it checks
At least one changed file (of the pull request, or of the commit) is a test
file: it matches `paths` (path-set names or globs). Without `paths`, common
test locations count: `test/`, `tests/`, `__tests__/`, `spec/` folders and
`*_test.*`, `*.test.*`, `*.spec.*`, `test_*.py`, `*Test.java`, `*Tests.cs`
files. A rename counts for both its old and new path.

## Why
P13: each bug fix gets a focused regression test.

## Example policy
```yaml
kinds:
  bug: { labels: [bug] }
paths:
  tests: ['tests/**', '**/*_test.go']
rules:
  - id: bug-regression-test
    on: [pull_request]
    when: { kind: bug }
    require:
      tests_changed: { paths: [tests] }
```

## How to fix
Add a test that fails without the fix and passes with it, in the same pull
request.
"#;

pub(crate) const SUBJECTS: &[SubjectKind] = &[SubjectKind::PullRequest, SubjectKind::Commit];

pub(crate) const DEFAULT_TEST_GLOBS: &[&str] = &[
    "**/test/**",
    "**/tests/**",
    "**/__tests__/**",
    "**/spec/**",
    "*_test.*",
    "*_tests.*",
    "*.test.*",
    "*.spec.*",
    "test_*.py",
    "*Test.java",
    "*Tests.java",
    "*Tests.cs",
];

/// The default test locations, compiled once.
pub(crate) fn default_tests() -> &'static globset::GlobSet {
    static SET: std::sync::LazyLock<globset::GlobSet> =
        std::sync::LazyLock::new(|| glob_set(DEFAULT_TEST_GLOBS));
    &SET
}

options! {
    /// At least one changed file is a test.
    #[options(what = "`tests_changed`", shorthand = TrueOnly)]
    #[derive(Clone, Debug, Default)]
    pub struct Options {
        /// Path-set names or globs that are tests. Default: common test locations.
        pub(crate) paths: Option<Vec<ChangedRef>>,
    }
}

/// `tests_changed: true` means the defaults; `false` would require nothing.
pub(crate) struct TrueOnly;

impl Shorthand<Options> for TrueOnly {
    fn decode(node: &Node, d: &mut Decoder) -> Option<Option<Options>> {
        match node.value {
            Value::Bool(true) => Some(Some(Options::default())),
            Value::Bool(false) => {
                d.error(
                    PolicyError::at(
                        ErrorCode::InvalidValue,
                        node.span,
                        "`tests_changed: false` requires nothing",
                    )
                    .help("remove the requirement instead"),
                );
                Some(None)
            }
            _ => None,
        }
    }
    fn schema(mapping: schemars::Schema) -> schemars::Schema {
        schemars::json_schema!({ "anyOf": [ { "const": true }, mapping ] })
    }
}

impl Requirement for Options {
    fn uses(&self, _: &Definitions, used: &mut super::Used) {
        if let Some(paths) = &self.paths {
            used.path_sets(paths);
        }
    }

    fn needs<'a>(&'a self, _: &'a Definitions, _: RuleView<'a>, needs: &mut super::Needs<'a>) {
        needs.changed_files = true;
    }

    fn validate(&self, cx: &super::Validation<'_>, errors: &mut Vec<PolicyError>) {
        let policy = cx.definitions;
        if let Some(paths) = &self.paths {
            policy.check_changed_refs(paths, errors);
        }
    }

    fn check(&self, cx: &Context<'_>, out: &mut Vec<Violation>) {
        let Some(changed) = cx.subject.changed() else {
            // A commit whose changed files were not read: whether a test
            // changed cannot be told, which is no pass.
            out.push(
                Violation::new("cannot tell whether a test changed: the changed files were not read")
                    .help("run the check where git-policy can read the commit's changes (a clone with its history)"),
            );
            return;
        };
        let is_test = match &self.paths {
            Some(refs) => changed
                .iter()
                .any(|c| c.paths().any(|p| changed_matches(refs, cx.definitions, p))),
            None => changed
                .iter()
                .any(|c| c.paths().any(|p| default_tests().is_match(p))),
        };
        if !is_test {
            out.push(
                Violation::new(format!(
                    "no test file among the {}",
                    plural(changed.len(), "changed file")
                ))
                .help(format!(
                    "add or update a regression test for this change (a test is a file matching {})",
                    self.what_counts(cx.definitions)
                )),
            );
        }
    }
}

impl Options {
    /// The globs a test file matches, as the help says them (a few).
    fn what_counts(&self, definitions: &Definitions) -> String {
        const SHOWN: usize = 6;
        let globs: Vec<&str> = match &self.paths {
            Some(refs) => refs
                .iter()
                .flat_map(|r| match r {
                    ChangedRef::Set(name) => definitions
                        .paths
                        .get(&name.value)
                        .into_iter()
                        .flat_map(|g| g.patterns.iter().map(|p| p.value.as_str()))
                        .collect::<Vec<_>>(),
                    ChangedRef::Glob(glob, _) => vec![glob.value.as_str()],
                })
                .collect(),
            None => DEFAULT_TEST_GLOBS.to_vec(),
        };
        let mut shown: Vec<String> = globs.iter().take(SHOWN).map(|g| format!("`{g}`")).collect();
        if globs.len() > SHOWN {
            shown.push(format!("{} more", globs.len() - SHOWN));
        }
        shown.join(", ")
    }
}

#[cfg(test)]
mod tests {

    #[test]
    fn a_commit_whose_changes_were_not_read_is_no_pass() {
        let text = "version: 1\nrules:\n  - id: regression-test\n    on: [commit]\n    require: { tests_changed: true }\n";
        let policy =
            crate::policy::load(vec![crate::policy::PolicySource::new("p.yml", text)]).unwrap();
        let commit = crate::facts::Commit {
            message: "Fix the login".into(),
            changed: None,
            ..Default::default()
        };
        let findings = crate::engine::evaluate(&policy, crate::facts::Subject::Commit(&commit));
        assert_eq!(findings.len(), 1, "{findings:?}");
        assert!(findings[0].message.contains("changed files were not read"));
    }
}
