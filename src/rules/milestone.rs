use super::{Context, Requirement, Violation};
use crate::facts::Subject;
use crate::facts::SubjectKind;
use crate::syntax::{Pattern, TrueForDefaults, options};

pub(crate) const SUMMARY: &str = "The pull request is planned: it has a milestone (a sprint).";

pub(crate) const DOC: &str = r#"## What it checks
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

pub(crate) const SUBJECTS: &[SubjectKind] = &[SubjectKind::PullRequest];

options! {
    /// The pull request has a milestone (matching `pattern`, when given).
    #[options(what = "`milestone`", shorthand = TrueForDefaults)]
    #[derive(Clone, Debug, Default)]
    pub struct Options {
        /// Regex the milestone title must match.
        pub(crate) pattern: Option<Pattern>,
    }
}

impl Requirement for Options {
    fn check(&self, cx: &Context<'_>, out: &mut Vec<Violation>) {
        let Subject::PullRequest(pr) = &cx.subject else {
            return;
        };
        if pr.milestone_unknown {
            let mut notice = Violation::new(
                "not judged offline: the event gives no `milestone` (null when there is none)",
            )
            .help(
                "add `\"milestone\": {\"title\": \"…\"}` (or null) to the event's `pull_request`",
            );
            notice.level = Some(crate::syntax::Level::Notice);
            out.push(notice);
            return;
        }
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
