use crate::syntax::ErrorCode;

use super::{Context, Requirement, Violation};
use crate::facts::Subject;
use crate::facts::SubjectKind;
use crate::syntax::{Node, PolicyError, Strings, Table, options};

pub(crate) const SUMMARY: &str =
    "The pull request carries exactly one of, any of, or all of some labels.";

pub(crate) const DOC: &str = r#"## What it checks
The pull request's labels: `one_of` — exactly one of these (a bug has one
priority); `any_of` — at least one; `all_of` — every one; `none_of` — none.
Label names compare case-insensitively.

## Why
P3: work is classified as bug, feature request or improvement. P6: a bug
carries one priority (critical, major or minor).

## Example policy
```yaml
kinds:
  bug: { labels: [bug] }
rules:
  - id: bug-priority
    on: [pull_request]
    when: { kind: bug }
    require:
      labels: { one_of: [critical, major, minor] }
```

## How to fix
Add (or remove) the labels on the pull request; re-run the check (the
workflow runs again on `labeled` / `unlabeled`).
"#;

pub(crate) const SUBJECTS: &[SubjectKind] = &[SubjectKind::PullRequest];

options! {
    /// Labels the pull request must (or must not) carry.
    #[options(what = "`labels`", check = needs_a_list)]
    #[derive(Clone, Debug, Default)]
    pub struct Options {
        /// Exactly one of these.
        pub(crate) one_of: Option<Strings> => constraint(SOME_LABEL),
        /// At least one of these.
        pub(crate) any_of: Option<Strings> => constraint(SOME_LABEL),
        /// All of these.
        pub(crate) all_of: Option<Strings> => constraint(SOME_LABEL),
        /// None of these.
        pub(crate) none_of: Option<Strings> => constraint(SOME_LABEL),
    }
}

/// A list of labels, when written, names a label.
const SOME_LABEL: crate::syntax::Constraint<Strings> = crate::syntax::Constraint {
    check: not_empty,
    schema: crate::syntax::some_string,
};

fn not_empty(list: &Strings, key: &str, node: &Node) -> Result<(), PolicyError> {
    if !list.0.is_empty() {
        return Ok(());
    }
    Err(PolicyError::at(
        ErrorCode::Empty,
        node.span,
        format!("`{key}` is an empty list"),
    )
    .help("list at least one label"))
}

fn needs_a_list(options: &Options, table: &Table<'_>) -> Result<(), PolicyError> {
    let lists = [
        &options.one_of,
        &options.any_of,
        &options.all_of,
        &options.none_of,
    ];
    if lists.iter().any(|l| l.is_some()) {
        return Ok(());
    }
    Err(PolicyError::at(
        ErrorCode::EmptyRequirement,
        table.span(),
        "`labels` needs `one_of`, `any_of`, `all_of` or `none_of`",
    ))
}

fn names(list: &Strings) -> String {
    list.iter()
        .map(|s| format!("`{}`", s.value))
        .collect::<Vec<_>>()
        .join(", ")
}

impl Requirement for Options {
    fn check(&self, cx: &Context<'_>, out: &mut Vec<Violation>) {
        let Subject::PullRequest(pr) = &cx.subject else {
            return;
        };
        let has = |label: &str| pr.labels.iter().any(|l| l.eq_ignore_ascii_case(label));
        if let Some(one_of) = &self.one_of {
            let present: Vec<&str> = one_of
                .iter()
                .filter(|l| has(l))
                .map(|l| l.value.as_str())
                .collect();
            match present.len() {
                1 => {}
                0 => out.push(
                    Violation::new(format!("none of the labels {} is set", names(one_of)))
                        .help("add exactly one of them"),
                ),
                _ => out.push(
                    Violation::new(format!(
                        "{} labels set ({}); exactly one of {} is allowed",
                        present.len(),
                        present.join(", "),
                        names(one_of)
                    ))
                    .help("keep one and remove the others"),
                ),
            }
        }
        if let Some(any_of) = &self.any_of
            && !any_of.iter().any(|l| has(l))
        {
            out.push(
                Violation::new(format!("none of the labels {} is set", names(any_of)))
                    .help("add at least one of them"),
            );
        }
        if let Some(all_of) = &self.all_of {
            let missing: Vec<&str> = all_of
                .iter()
                .filter(|l| !has(l))
                .map(|l| l.value.as_str())
                .collect();
            if !missing.is_empty() {
                out.push(
                    Violation::new(format!("missing label(s): {}", missing.join(", ")))
                        .help("add them to the pull request"),
                );
            }
        }
        if let Some(none_of) = &self.none_of {
            let present: Vec<&str> = none_of
                .iter()
                .filter(|l| has(l))
                .map(|l| l.value.as_str())
                .collect();
            if !present.is_empty() {
                out.push(
                    Violation::new(format!("label(s) not allowed: {}", present.join(", ")))
                        .help("remove them from the pull request"),
                );
            }
        }
    }
}
