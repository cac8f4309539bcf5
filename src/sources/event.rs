//! The GitHub Actions event (`GITHUB_EVENT_PATH`): which pull request to check.

use std::path::Path;

use serde_json::Value;

use super::Fatal;

/// What a workflow run asks to be checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    /// A pull request, to be re-read live through the API (a re-run replays an old payload).
    PullRequest { repo: String, number: u64 },
    /// A merge queue entry: its pull requests were checked before they were queued.
    MergeGroup,
}

/// Event names `check pr` accepts.
pub const PULL_REQUEST_EVENTS: &[&str] =
    &["pull_request", "pull_request_target", "pull_request_review"];

/// Reads the event file. `name` is `GITHUB_EVENT_NAME` when known.
pub fn read(path: &Path, name: Option<&str>) -> Result<Event, Fatal> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        Fatal::new(format!("cannot read the event file `{}`: {e}", path.display()))
            .help("in GitHub Actions GITHUB_EVENT_PATH names it; elsewhere pass --repo OWNER/NAME --number N")
    })?;
    parse(&text, name).map_err(|f| Fatal {
        message: format!("{} (event file `{}`)", f.message, path.display()),
        help: f.help,
    })
}

/// Parses an event payload.
pub fn parse(text: &str, name: Option<&str>) -> Result<Event, Fatal> {
    let payload: Value = serde_json::from_str(text)
        .map_err(|e| Fatal::new(format!("the event payload is not valid JSON: {e}")))?;
    if !payload.is_object() {
        return Err(Fatal::new("the event payload is not a JSON object"));
    }
    let name = name.filter(|n| !n.is_empty());
    match name {
        Some("merge_group") => return Ok(Event::MergeGroup),
        Some(other) if !PULL_REQUEST_EVENTS.contains(&other) => {
            return Err(Fatal::new(format!("`check pr` runs on pull request events; this run is a `{other}` event")).help(
                "trigger the workflow `on: pull_request` (and `pull_request_review`), or pass --repo OWNER/NAME --number N",
            ));
        }
        _ => {}
    }
    if name.is_none() && payload.get("merge_group").is_some() {
        return Ok(Event::MergeGroup);
    }
    let Some(pr) = payload.get("pull_request").filter(|v| v.is_object()) else {
        return Err(Fatal::new("the event payload has no `pull_request`")
            .help("run `check pr` on pull_request, pull_request_target or pull_request_review events, or pass --repo OWNER/NAME --number N"));
    };
    let number = pr
        .get("number")
        .or_else(|| payload.get("number"))
        .and_then(Value::as_u64)
        .filter(|&n| n > 0)
        .ok_or_else(|| {
            Fatal::new("the event's `pull_request` has no `number` (a positive integer)")
        })?;
    let repo = payload
        .pointer("/repository/full_name")
        .or_else(|| pr.pointer("/base/repo/full_name"))
        .and_then(Value::as_str)
        .ok_or_else(|| {
            Fatal::new("the event has no `repository.full_name`").help("pass --repo OWNER/NAME")
        })?;
    if !super::github::is_repository_name(repo) {
        return Err(Fatal::new(format!(
            "the event's `repository.full_name` `{repo}` is not OWNER/NAME"
        ))
        .help("pass --repo OWNER/NAME"));
    }
    Ok(Event::PullRequest {
        repo: repo.to_owned(),
        number,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pull_request_events_name_the_repository_and_number() {
        let payload = r#"{"action":"opened","number":2,"pull_request":{"number":2,"draft":false},"repository":{"full_name":"octo/app"}}"#;
        for name in [
            None,
            Some("pull_request"),
            Some("pull_request_target"),
            Some("pull_request_review"),
        ] {
            assert_eq!(
                parse(payload, name).unwrap(),
                Event::PullRequest {
                    repo: "octo/app".into(),
                    number: 2
                }
            );
        }
    }

    #[test]
    fn numbers_and_repository_names_are_checked() {
        let event = |number: &str, repo: &str| {
            format!(
                r#"{{"pull_request":{{"number":{number}}},"repository":{{"full_name":{repo}}}}}"#
            )
        };
        for (number, repo, problem) in [
            ("0", r#""octo/app""#, "number"),
            ("-3", r#""octo/app""#, "number"),
            ("2.5", r#""octo/app""#, "number"),
            ("2", r#""octo""#, "not OWNER/NAME"),
            ("2", r#""octo//app""#, "not OWNER/NAME"),
            ("2", r#""octo/app/x""#, "not OWNER/NAME"),
            ("2", r#""../../etc""#, "not OWNER/NAME"),
            ("2", r#""octo/app?x=1""#, "not OWNER/NAME"),
            ("2", "7", "full_name"),
        ] {
            let e = parse(&event(number, repo), Some("pull_request")).unwrap_err();
            assert!(
                e.message.contains(problem),
                "{number} {repo}: {}",
                e.message
            );
        }
        assert!(parse(&event("7", r#""my-org/app.rs_2""#), None).is_ok());
    }

    #[test]
    fn merge_groups_pass_and_other_events_are_refused() {
        assert_eq!(
            parse(r#"{"merge_group":{"head_sha":"abc"}}"#, None).unwrap(),
            Event::MergeGroup
        );
        assert_eq!(
            parse(r#"{"merge_group":{}}"#, Some("merge_group")).unwrap(),
            Event::MergeGroup
        );
        let push = parse(r#"{"ref":"refs/heads/main"}"#, Some("push")).unwrap_err();
        assert!(
            push.message.contains("this run is a `push` event"),
            "{}",
            push.message
        );
        let none = parse(r#"{"action":"created","issue":{}}"#, None).unwrap_err();
        assert!(none.message.contains("has no `pull_request`"));
        assert!(
            parse("{not json", None)
                .unwrap_err()
                .message
                .contains("not valid JSON")
        );
    }
}
