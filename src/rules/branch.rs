use super::{Context, Requirement, Violation, pattern};
use crate::facts::SubjectKind;
use crate::syntax::{Patterns, PolicyError, Spanned, Table, options};

pub(crate) const SUMMARY: &str =
    "The branch name matches a pattern (and is not a protected branch).";

pub(crate) const DOC: &str = r#"## What it checks
The branch name matches one of `pattern` and none of `forbid`: the branch
itself (`check branch`), a pull request's head branch, or the branch a commit
is being made on (the commit-msg hook; commits read from history have no
branch and are not checked by this requirement).

## Why
P9: every task is developed on its own branch, named after its ticket; no
work is committed straight to `main` or a release branch.

## Example policy
```yaml
rules:
  - id: work-branch
    on: [branch, commit]
    require:
      branch:
        pattern: '^(feature|bugfix|hotfix|improvement)/[A-Z]+-[0-9]+'
        forbid: '^(main|master|release/.*)$'
        help: 'create a task branch: git switch -c feature/EPL-123-short-name'
```

## How to fix
Create a task branch and move the work there: `git switch -c
feature/EPL-123-short-name`; rename one with `git branch -m NEW`.
"#;

pub(crate) const SUBJECTS: &[SubjectKind] = &[
    SubjectKind::PullRequest,
    SubjectKind::Branch,
    SubjectKind::Commit,
];

options! {
    /// The branch name matches a pattern.
    #[options(what = "`branch`", check = needs_a_pattern)]
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
        "branch",
        options.pattern.is_some() || options.forbid.is_some(),
        table,
    )
}

impl Requirement for Options {
    fn check(&self, cx: &Context<'_>, out: &mut Vec<Violation>) {
        let Some(name) = cx.subject.branch() else {
            return;
        };
        pattern::check(
            "branch",
            name,
            self.pattern.as_ref(),
            self.forbid.as_ref(),
            self.help.as_ref(),
            out,
        );
    }
}
