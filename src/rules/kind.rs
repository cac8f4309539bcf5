use crate::syntax::ErrorCode;

use super::{Context, Requirement, Violation};
use crate::definitions::Definitions;
use crate::facts::{Subject, SubjectKind};
use crate::predicates::kinds_of;
use crate::syntax::{PolicyError, Strings, Table, options};

pub(crate) const SUMMARY: &str =
    "The change is classified as one of the policy's kinds (bug, feature, …).";

pub(crate) const DOC: &str = r#"## What it checks
The subject is at least one of the listed kinds (defined under `kinds:`): a
pull request by its labels, head branch or title; a branch by its name; a
commit by its subject line (or branch, when known).

## Why
P3: work is classified as a bug, a feature request or an improvement; the
other rules (reproduction steps, priority, justification) depend on it.

## Example policy
```yaml
kinds:
  bug: { labels: [bug], branches: ['bugfix/*'], title: '^fix' }
  feature: { labels: [feature], branches: ['feature/*'], title: '^feat' }
rules:
  - id: change-classified
    on: [pull_request, branch]
    require:
      kind: { any_of: [bug, feature] }
```

## How to fix
Add a kind label to the pull request, or name the branch with a kind prefix
(`bugfix/EPL-123-…`, `feature/EPL-123-…`).
"#;

pub(crate) const SUBJECTS: &[SubjectKind] = &[
    SubjectKind::PullRequest,
    SubjectKind::Branch,
    SubjectKind::Commit,
];

options! {
    /// The change is classified as one of these kinds.
    #[options(what = "`kind`", check = lists_a_kind)]
    #[derive(Clone, Debug, Default)]
    pub struct Options {
        /// Kind names; the subject must be at least one.
        pub(crate) any_of: Strings => required,
    }
}

fn lists_a_kind(options: &Options, table: &Table<'_>) -> Result<(), PolicyError> {
    if !options.any_of.0.is_empty() {
        return Ok(());
    }
    Err(
        PolicyError::at(ErrorCode::Empty, table.span(), "`any_of` lists no kind")
            .help("list kind names from `kinds:`"),
    )
}

impl Requirement for Options {
    fn uses(&self, _: &Definitions, used: &mut super::Used) {
        used.names("kinds", &self.any_of);
    }

    fn validate(&self, cx: &super::Validation<'_>, errors: &mut Vec<PolicyError>) {
        let policy = cx.definitions;
        policy.check_kinds(&self.any_of, errors);
    }

    fn check(&self, cx: &Context<'_>, out: &mut Vec<Violation>) {
        let is = kinds_of(cx.definitions, &cx.subject);
        if self.any_of.iter().any(|k| is.contains(&k.value.as_str())) {
            return;
        }
        let wanted: Vec<&str> = self.any_of.iter().map(|k| k.value.as_str()).collect();
        let signals: Vec<String> = wanted
            .iter()
            .filter_map(|name| cx.definitions.kinds.get(*name))
            .flat_map(|kind| signals(kind, &cx.subject))
            .collect();
        let mut help = String::from("classify it");
        if !signals.is_empty() {
            help = format!("{help}: {}", signals.join(", "));
        }
        out.push(
            Violation::new(format!(
                "the change is not classified as {}",
                wanted.join(", ").replace(", ", " / ")
            ))
            .help(help),
        );
    }
}

/// The signals of `kind` the subject can carry, as the help offers them:
/// a branch has no labels and no title, a commit no labels.
fn signals(kind: &crate::definitions::Kind, subject: &Subject<'_>) -> Vec<String> {
    let mut out = Vec::new();
    let pull_request = matches!(subject, Subject::PullRequest(_));
    if pull_request && let Some(label) = kind.labels.iter().next() {
        out.push(format!("label `{}`", label.value));
    }
    if let Some(branch) = kind.branches.as_ref().and_then(|b| b.patterns.first()) {
        out.push(format!("branch `{}`", branch.value));
    }
    if let Some(title) = &kind.title {
        match subject {
            Subject::PullRequest(_) => {
                out.push(format!("a title matching `{}`", title.source.value))
            }
            Subject::Commit(_) => out.push(format!("a subject matching `{}`", title.source.value)),
            Subject::Branch(_) | Subject::Release(_) => {}
        }
    }
    out
}
