use crate::syntax::ErrorCode;

use super::{Context, Requirement, Violation, pattern};
use crate::facts::Subject;
use crate::facts::SubjectKind;
use crate::syntax::{Patterns, PolicyError, Spanned, Table, options};

pub(crate) const SUMMARY: &str =
    "The commit message matches a pattern; the subject line has a length limit.";

pub(crate) const DOC: &str = r#"## What it checks
The whole commit message (subject, blank line, body; comments and everything
below git's scissors line removed) matches one of `pattern` and none of
`forbid`. Use `(?m)` for line anchors. `subject_max_length` caps the first
line's length in characters.

## Why
Messages people can read in `git log --oneline` and in the release audit
(P1, P22: the audit lists changes by their subjects).

## Example policy
```yaml
rules:
  - id: message-shape
    on: [commit]
    require:
      message:
        forbid: '^(?i)(wip|tmp|fixup)\b'
        subject_max_length: 72
```

## How to fix
Reword the message: `git commit --amend` for the last commit, `git rebase -i`
for older ones.
"#;

pub(crate) const SUBJECTS: &[SubjectKind] = &[SubjectKind::Commit];

options! {
    /// The commit message matches a pattern.
    #[options(what = "`message`", check = needs_a_limit)]
    #[derive(Clone, Debug, Default)]
    pub struct Options {
        /// Any of these must match the whole message.
        pub(crate) pattern: Option<Patterns>,
        /// None of these may match.
        pub(crate) forbid: Option<Patterns>,
        /// Longest subject line allowed, in characters.
        pub(crate) subject_max_length: Option<u32>,
        /// How to fix, shown instead of the default help.
        pub(crate) help: Option<Spanned<String>>,
    }
}

fn needs_a_limit(options: &Options, table: &Table<'_>) -> Result<(), PolicyError> {
    if options.pattern.is_some() || options.forbid.is_some() || options.subject_max_length.is_some()
    {
        return Ok(());
    }
    Err(PolicyError::at(
        ErrorCode::EmptyRequirement,
        table.span(),
        "`message` needs `pattern`, `forbid` or `subject_max_length`",
    )
    .help("add `pattern: '<regex>'`"))
}

impl Requirement for Options {
    fn check(&self, cx: &Context<'_>, out: &mut Vec<Violation>) {
        let Subject::Commit(commit) = &cx.subject else {
            return;
        };
        let message = commit.message.as_str();
        let first = commit.subject();
        // The finding quotes only the subject (pattern::check does).
        pattern::check(
            "message",
            message,
            self.pattern.as_ref(),
            self.forbid.as_ref(),
            self.help.as_ref(),
            out,
        );
        if let Some(max) = self.subject_max_length {
            let len = first.chars().count();
            if len > max as usize {
                out.push(
                    Violation::new(format!(
                        "subject line is {len} characters long; at most {max} allowed"
                    ))
                    .help(
                        "shorten the first line and move details to the body, after a blank line",
                    ),
                );
            }
        }
    }
}
