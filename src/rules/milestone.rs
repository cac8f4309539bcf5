use schemars::JsonSchema;

use super::{Context, Requirement, Violation};
use crate::facts::Subject;
use crate::policy::{Decoder, Node, Pattern, SubjectKind, node::Value};

pub const SUMMARY: &str = "The pull request is planned: it has a milestone (a sprint).";

pub const DOC: &str = r#"## What it checks
The pull request has a milestone; with `pattern`, the milestone's title must
match it (e.g. sprints named `Sprint 42`).

## Why
P7: bugs are planned sprint-wise.

## Example policy
```yaml
kinds:
  bug: { labels: [bug] }
rules:
  - id: bug-planned-in-sprint
    on: [pull_request]
    when: { kind: bug }
    require:
      milestone: { pattern: '^Sprint [0-9]+' }
```
`milestone: true` asks for any milestone.

## How to fix
Set the pull request's milestone to the sprint that plans the work.
"#;

pub const SUBJECTS: &[SubjectKind] = &[SubjectKind::PullRequest];

/// The pull request has a milestone (matching `pattern`, when given).
#[derive(Clone, Debug, Default, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Options {
    /// Regex the milestone title must match.
    pub pattern: Option<Pattern>,
}

/// How `milestone` is written: its options, or `true` for the defaults.
pub fn schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
    generator.subschema_for::<crate::policy::OrTrue<Options>>()
}

pub fn decode(node: &Node, d: &mut Decoder) -> Option<Options> {
    if let Value::Bool(true) = node.value {
        return Some(Options::default());
    }
    let fields = d.fields(node, "`milestone`", &["pattern"])?;
    let pattern = match fields.get("pattern") {
        Some(n) => Some(d.pattern(n)?),
        None => None,
    };
    Some(Options { pattern })
}

impl Requirement for Options {
    fn check(&self, cx: &Context<'_>, out: &mut Vec<Violation>) {
        let Subject::PullRequest(pr) = &cx.subject else {
            return;
        };
        match (&pr.milestone, &self.pattern) {
            (None, _) => out.push(
                Violation::new("the pull request has no milestone")
                    .help("set the milestone to the sprint that plans this work"),
            ),
            (Some(m), Some(p)) if !p.is_match(m) => out.push(
                Violation::new(format!(
                    "milestone `{m}` does not match `{}`",
                    p.source.value
                ))
                .help("set the milestone to the sprint that plans this work"),
            ),
            _ => {}
        }
    }
}
