use crate::policy::ErrorCode;
use schemars::JsonSchema;

use super::{Context, Requirement, Violation, pattern};
use crate::facts::Subject;
use crate::policy::{Decoder, Node, Patterns, PolicyError, Spanned, SubjectKind};

pub const SUMMARY: &str =
    "The commit message matches a pattern; the subject line has a length limit.";

pub const DOC: &str = r#"## What it checks
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

pub const SUBJECTS: &[SubjectKind] = &[SubjectKind::Commit];

/// The commit message matches a pattern.
#[derive(Clone, Debug, Default, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Options {
    /// Any of these must match the whole message.
    pub pattern: Option<Patterns>,
    /// None of these may match.
    pub forbid: Option<Patterns>,
    /// Longest subject line allowed, in characters.
    pub subject_max_length: Option<u32>,
    /// How to fix, shown instead of the default help.
    pub help: Option<Spanned<String>>,
}

/// How `message` is written (the JSON Schema of its options).
pub fn schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
    generator.subschema_for::<Options>()
}

impl crate::policy::Decode for Options {
    fn decode(node: &Node, d: &mut Decoder) -> Option<Self> {
        decode(node, d)
    }
    fn schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schema(generator)
    }
}

pub fn decode(node: &Node, d: &mut Decoder) -> Option<Options> {
    let fields = d.fields(
        node,
        "`message`",
        &["pattern", "forbid", "subject_max_length", "help"],
    )?;
    let mut ok = true;
    let options = Options {
        pattern: pattern::patterns(&fields, "pattern", d, &mut ok),
        forbid: pattern::patterns(&fields, "forbid", d, &mut ok),
        subject_max_length: fields
            .get("subject_max_length")
            .and_then(|n| d.count(n))
            .map(|n| n.value),
        help: fields.get("help").and_then(|n| d.string(n)),
    };
    if options.pattern.is_none()
        && options.forbid.is_none()
        && options.subject_max_length.is_none()
        && ok
    {
        d.error(
            PolicyError::at(
                ErrorCode::EmptyRequirement,
                fields.span(),
                "`message` needs `pattern`, `forbid` or `subject_max_length`",
            )
            .help("add `pattern: '<regex>'`"),
        );
        ok = false;
    }
    ok.then_some(options)
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
