use super::{Context, Requirement, Violation, pattern};
use crate::facts::Subject;
use crate::facts::SubjectKind;
use crate::syntax::{Patterns, PolicyError, Spanned, Table, options};

pub(crate) const SUMMARY: &str =
    "The pull request title (or commit subject line) matches a pattern.";

pub(crate) const DOC: &str = r#"## What it checks
The pull request title, or on a commit its subject line (first line), matches
one of `pattern` and none of `forbid`. Patterns are regular expressions.

## Why
A readable history: titles say what a change delivers (P1, P3 when the
title carries the change kind, e.g. `fix:`).

## Example policy
```yaml
rules:
  - id: conventional-title
    on: [pull_request, commit]
    require:
      title:
        pattern: '^(feat|fix|docs|refactor|test|chore|ci)(\([a-z0-9-]+\))?!?: '
        forbid: '(?i)\bwip\b'
        help: 'start the title with a type, e.g. `fix(login): …`'
```

## How to fix
Edit the pull request title, or reword the commit (`git commit --amend`,
`git rebase -i`).
"#;

pub(crate) const SUBJECTS: &[SubjectKind] = &[SubjectKind::PullRequest, SubjectKind::Commit];

options! {
    /// The title (or commit subject) matches a pattern.
    #[options(what = "`title`", check = needs_a_pattern)]
    #[derive(Clone, Debug, Default)]
    pub struct Options {
        /// Any of these must match.
        pub(crate) pattern: Option<Patterns>,
        /// None of these may match.
        pub(crate) forbid: Option<Patterns>,
        /// How to fix, shown instead of the default help.
        pub(crate) help: Option<Spanned<String>>,
    }
}

fn needs_a_pattern(options: &Options, table: &Table<'_>) -> Result<(), PolicyError> {
    pattern::needs_a_pattern(
        "title",
        options.pattern.is_some() || options.forbid.is_some(),
        table,
    )
}

impl Requirement for Options {
    fn check(&self, cx: &Context<'_>, out: &mut Vec<Violation>) {
        let (what, text) = match &cx.subject {
            Subject::PullRequest(pr) => ("title", pr.title.as_str()),
            Subject::Commit(c) => ("subject line", c.subject()),
            Subject::Branch(_) | Subject::Release(_) => return,
        };
        pattern::check(
            what,
            text,
            self.pattern.as_ref(),
            self.forbid.as_ref(),
            self.help.as_ref(),
            out,
        );
    }
}
