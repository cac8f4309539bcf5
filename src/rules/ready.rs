use crate::syntax::ErrorCode;

use super::{Context, Requirement, Violation};
use crate::facts::Subject;
use crate::facts::SubjectKind;
use crate::syntax::{Decode, Decoder, Node, PolicyError, node::Value};

pub(crate) const SUMMARY: &str = "The pull request is not a draft.";

pub(crate) const DOC: &str = r#"## What it checks
The pull request is marked ready for review: a draft does not pass. The
finding lists what else the pull request is still missing, so the author sees
the whole way to merge at once.

## Why
P10: pull requests stay in draft until they are ready to merge; the check is
the merge gate, so a draft must not pass it.

## Example policy
```yaml
rules:
  - id: draft-until-ready
    on: [pull_request]
    require: { ready: true }
```

## How to fix
When the work is done, click **Ready for review** on the pull request (or
`gh pr ready`); the check runs again on `ready_for_review`.
"#;

pub(crate) const SUBJECTS: &[SubjectKind] = &[SubjectKind::PullRequest];

/// `ready: true`: the pull request is not a draft.
#[derive(Clone, Debug, Default)]
pub struct Options(pub bool);

/// Written `ready: true`, nothing else.
impl Decode for Options {
    const NAME: Option<&'static str> = Some("Ready");

    fn decode(node: &Node, d: &mut Decoder) -> Option<Self> {
        match node.value {
            Value::Bool(true) => Some(Options(true)),
            Value::Bool(false) => {
                d.error(
                    PolicyError::at(
                        ErrorCode::InvalidValue,
                        node.span,
                        "`ready: false` requires nothing",
                    )
                    .help("remove the requirement instead"),
                );
                None
            }
            _ => {
                d.error(
                    PolicyError::at(
                        ErrorCode::WrongType,
                        node.span,
                        format!("expected `true`, found {}", node.type_name()),
                    )
                    .help("write `ready: true`"),
                );
                None
            }
        }
    }

    fn schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({ "const": true, "description": "`ready: true`: the pull request is not a draft." })
    }
}

impl Requirement for Options {
    fn check(&self, cx: &Context<'_>, out: &mut Vec<Violation>) {
        let Subject::PullRequest(pr) = &cx.subject else {
            return;
        };
        if pr.draft {
            // The engine appends what else is missing (see `engine::evaluate`).
            out.push(
                Violation::new("the pull request is a draft")
                    .help("mark it ready for review when the work is done (`gh pr ready`)"),
            );
        }
    }

    fn lists_what_else_is_missing(&self) -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use crate::engine::evaluate;
    use crate::facts::{PullRequest, Subject};
    use crate::policy::{PolicySource, load};

    #[test]
    fn a_draft_fails_and_lists_what_else_is_missing() {
        let text = "version: 1\nrules:\n  - id: draft-until-ready\n    require: { ready: true }\n  - id: planned\n    require: { milestone: true }\n";
        let policy = load(vec![PolicySource::new("p.yml", text)]).unwrap();
        let draft = PullRequest {
            draft: true,
            ..PullRequest::default()
        };
        let found = evaluate(&policy, Subject::PullRequest(&draft));
        assert_eq!(
            &*found[0].message,
            "the pull request is a draft; also missing before it can merge: planned (the pull request has no milestone)"
        );
        let ready = PullRequest {
            milestone: Some("Sprint 3".into()),
            ..PullRequest::default()
        };
        assert!(evaluate(&policy, Subject::PullRequest(&ready)).is_empty());
    }
}
