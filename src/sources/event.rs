//! The GitHub Actions event (`GITHUB_EVENT_PATH`): which pull request to check.

// The payload is untrusted text: never sliced or indexed by byte position.
#![deny(clippy::string_slice, clippy::indexing_slicing)]

use std::path::Path;

use serde_json::Value;

use super::Fatal;

/// What a workflow run asks to be checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Event {
    /// A pull request, to be re-read live through the API (a re-run replays an old payload).
    PullRequest { repo: String, number: u64 },
    /// A merge queue entry: the pull request its queue branch names, to be
    /// judged as it would merge onto the group's base.
    MergeGroup(MergeGroup),
}

/// A merge queue entry (`merge_group` event), as far as `check pr` reads it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct MergeGroup {
    pub(crate) repo: String,
    /// The pull request the queue branch names (`gh-readonly-queue/<base>/pr-<n>-<sha>`).
    pub(crate) number: u64,
    /// The branch the group merges into (`merge_group.base_ref`, without `refs/heads/`).
    pub(crate) base_branch: String,
    /// The commit the group is built on: the base the merge lands on.
    pub(crate) base_sha: String,
}

/// Pull request event names `check pr` accepts (and `merge_group`).
pub(crate) const PULL_REQUEST_EVENTS: &[&str] =
    &["pull_request", "pull_request_target", "pull_request_review"];

/// The prefix of the branches GitHub's merge queue makes.
pub(crate) const QUEUE_PREFIX: &str = "gh-readonly-queue/";

/// Reads the event file. `name` is `GITHUB_EVENT_NAME` when known.
pub(crate) fn read(path: &Path, name: Option<&str>) -> Result<Event, Fatal> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        Fatal::new(format!("cannot read the event file `{}`: {e}", path.display()))
            .help("in GitHub Actions GITHUB_EVENT_PATH names it; elsewhere pass --repo OWNER/NAME --number N")
    })?;
    parse(&text, name).map_err(|f| Fatal {
        message: format!("{} (event file `{}`)", f.message, path.display()),
        help: f.help,
    })
}

/// Parses an event payload. Its kind is `name` (`GITHUB_EVENT_NAME`) alone:
/// without a name it is read as a pull request event, whatever keys it holds.
pub(crate) fn parse(text: &str, name: Option<&str>) -> Result<Event, Fatal> {
    let payload: Value = serde_json::from_str(text)
        .map_err(|e| Fatal::new(format!("the event payload is not valid JSON: {e}")))?;
    if !payload.is_object() {
        return Err(Fatal::new("the event payload is not a JSON object"));
    }
    let name = name.filter(|n| !n.is_empty());
    match name {
        Some("merge_group") => return merge_group(&payload).map(Event::MergeGroup),
        Some(other) if !PULL_REQUEST_EVENTS.contains(&other) => {
            return Err(Fatal::new(format!("`check pr` runs on pull request events; this run is a `{other}` event")).help(
                "trigger the workflow `on: pull_request` (and `pull_request_review`), or pass --repo OWNER/NAME --number N",
            ));
        }
        _ => {}
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
    let repo = repository(
        payload
            .pointer("/repository/full_name")
            .or_else(|| pr.pointer("/base/repo/full_name")),
    )?;
    Ok(Event::PullRequest { repo, number })
}

fn repository(full_name: Option<&Value>) -> Result<String, Fatal> {
    let repo = full_name.and_then(Value::as_str).ok_or_else(|| {
        Fatal::new("the event has no `repository.full_name`").help("pass --repo OWNER/NAME")
    })?;
    if !super::github::is_repository_name(repo) {
        return Err(Fatal::new(format!(
            "the event's `repository.full_name` `{}` is not OWNER/NAME",
            shown(repo)
        ))
        .help("pass --repo OWNER/NAME"));
    }
    Ok(repo.to_owned())
}

/// A `merge_group` payload: the pull request its queue branch names, the
/// group's base. Anything else than GitHub's shape stops the check.
fn merge_group(payload: &Value) -> Result<MergeGroup, Fatal> {
    let help = "a merge_group event's `merge_group` has `head_ref` (refs/heads/gh-readonly-queue/<base>/pr-<number>-<sha>), `base_ref` and `base_sha`; to check one pull request pass --repo OWNER/NAME --number N";
    let field = |name: &str| -> Result<&str, Fatal> {
        payload
            .get("merge_group")
            .and_then(|g| g.get(name))
            .and_then(Value::as_str)
            .ok_or_else(|| {
                Fatal::new(format!("the merge_group event has no `merge_group.{name}`")).help(help)
            })
    };
    let (head_ref, base_ref, base_sha) =
        (field("head_ref")?, field("base_ref")?, field("base_sha")?);
    let refused = |what: String| Fatal::new(what).help(help);
    if !super::github::Sha::is_valid(base_sha) {
        return Err(refused(format!(
            "the merge group's `base_sha` `{}` is not a commit id",
            shown(base_sha)
        )));
    }
    let base_branch = base_ref.strip_prefix("refs/heads/").unwrap_or(base_ref);
    let Some((branch, number)) = queue_branch(head_ref) else {
        return Err(refused(format!(
            "the merge group's `head_ref` `{}` is not a merge queue branch (refs/heads/{QUEUE_PREFIX}<base>/pr-<number>-<sha>): cannot tell which pull request it merges",
            shown(head_ref)
        )));
    };
    if branch != base_branch || base_branch.is_empty() {
        return Err(refused(format!(
            "the merge group's `head_ref` `{}` names the base `{}`, but its `base_ref` is `{}`",
            shown(head_ref),
            shown(branch),
            shown(base_ref)
        )));
    }
    Ok(MergeGroup {
        repo: repository(payload.pointer("/repository/full_name"))?,
        number,
        base_branch: base_branch.to_owned(),
        base_sha: base_sha.to_owned(),
    })
}

/// `refs/heads/gh-readonly-queue/<base>/pr-<number>-<sha>` → (base, number).
/// The base may hold `/`; the number is ASCII digits, positive; the sha hex.
pub(crate) fn queue_branch(head_ref: &str) -> Option<(&str, u64)> {
    let rest = head_ref
        .strip_prefix("refs/heads/")
        .unwrap_or(head_ref)
        .strip_prefix(QUEUE_PREFIX)?;
    let (base, entry) = rest.rsplit_once('/')?;
    let (digits, sha) = entry.strip_prefix("pr-")?.split_once('-')?;
    let number_ok = !digits.is_empty()
        && digits.len() <= 19
        && digits.bytes().all(|b| b.is_ascii_digit())
        && !digits.starts_with('0');
    let sha_ok = super::github::Sha::is_valid(sha);
    if base.is_empty() || !number_ok || !sha_ok {
        return None;
    }
    Some((base, digits.parse().ok()?))
}

/// Untrusted text quoted in a message: at most 100 characters (never cut
/// inside one).
fn shown(text: &str) -> String {
    let mut out: String = text.chars().take(100).collect();
    if out.len() < text.len() {
        out.push('…');
    }
    out
}

#[cfg(test)]
#[expect(clippy::indexing_slicing, reason = "tests index fixtures they built")]
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

    const QUEUE_SHA: &str = "ec26c3e57ca3a959ca5aad62de7213c562f8c821";
    const BASE_SHA: &str = "2222222222222222222222222222222222222222";

    fn group(head_ref: &str, base_ref: &str, base_sha: &str) -> String {
        serde_json::json!({
            "action": "checks_requested",
            "merge_group": { "head_sha": QUEUE_SHA, "head_ref": head_ref, "base_sha": base_sha, "base_ref": base_ref },
            "repository": { "full_name": "octo/app" }
        })
        .to_string()
    }

    #[test]
    fn a_merge_group_names_its_pull_request_and_new_base() {
        let head = format!("refs/heads/gh-readonly-queue/main/pr-42-{QUEUE_SHA}");
        assert_eq!(
            parse(
                &group(&head, "refs/heads/main", BASE_SHA),
                Some("merge_group")
            )
            .unwrap(),
            Event::MergeGroup(MergeGroup {
                repo: "octo/app".into(),
                number: 42,
                base_branch: "main".into(),
                base_sha: BASE_SHA.into(),
            })
        );
        // A base branch with slashes.
        let head = format!("refs/heads/gh-readonly-queue/release/1.x/pr-7-{QUEUE_SHA}");
        let Event::MergeGroup(g) = parse(
            &group(&head, "refs/heads/release/1.x", BASE_SHA),
            Some("merge_group"),
        )
        .unwrap() else {
            panic!()
        };
        assert_eq!((g.number, g.base_branch.as_str()), (7, "release/1.x"));
    }

    #[test]
    fn a_merge_group_that_cannot_be_read_is_refused() {
        let ok_head = format!("refs/heads/gh-readonly-queue/main/pr-42-{QUEUE_SHA}");
        for (head, base_ref, base_sha, problem) in [
            (
                "refs/heads/main",
                "refs/heads/main",
                BASE_SHA,
                "not a merge queue branch",
            ),
            (
                "refs/heads/gh-readonly-queue/main/pr-x-abc",
                "refs/heads/main",
                BASE_SHA,
                "not a merge queue branch",
            ),
            (
                &format!("refs/heads/gh-readonly-queue/main/pr-0-{QUEUE_SHA}"),
                "refs/heads/main",
                BASE_SHA,
                "not a merge queue branch",
            ),
            (
                &format!("refs/heads/gh-readonly-queue/main/pr-٤٢-{QUEUE_SHA}"),
                "refs/heads/main",
                BASE_SHA,
                "not a merge queue branch",
            ),
            (
                &format!("refs/heads/gh-readonly-queue/main/pr-+42-{QUEUE_SHA}"),
                "refs/heads/main",
                BASE_SHA,
                "not a merge queue branch",
            ),
            (
                &format!("refs/heads/gh-readonly-queue/main/pr-99999999999999999999-{QUEUE_SHA}"),
                "refs/heads/main",
                BASE_SHA,
                "not a merge queue branch",
            ),
            (
                &format!("refs/heads/gh-readonly-queue/pr-42-{QUEUE_SHA}"),
                "refs/heads/main",
                BASE_SHA,
                "not a merge queue branch",
            ),
            (
                "refs/heads/gh-readonly-queue/main/pr-42-abc",
                "refs/heads/main",
                BASE_SHA,
                "not a merge queue branch",
            ),
            (
                &ok_head,
                "refs/heads/develop",
                BASE_SHA,
                "names the base `main`",
            ),
            (&ok_head, "refs/heads/main", "abc", "is not a commit id"),
            (
                &ok_head,
                "refs/heads/main",
                "é2222222222222222222222222222222222222222",
                "is not a commit id",
            ),
        ] {
            let e = parse(&group(head, base_ref, base_sha), Some("merge_group")).unwrap_err();
            assert!(e.message.contains(problem), "{head}: {}", e.message);
        }
        for missing in ["head_ref", "base_ref", "base_sha"] {
            let mut payload: Value =
                serde_json::from_str(&group(&ok_head, "refs/heads/main", BASE_SHA)).unwrap();
            payload["merge_group"]
                .as_object_mut()
                .unwrap()
                .remove(missing);
            let e = parse(&payload.to_string(), Some("merge_group")).unwrap_err();
            assert!(
                e.message.contains(&format!("merge_group.{missing}")),
                "{}",
                e.message
            );
        }
    }

    #[test]
    fn the_event_name_alone_makes_a_merge_group() {
        // Without GITHUB_EVENT_NAME a payload is a pull request event: a
        // `merge_group` key passes nothing.
        let head = format!("refs/heads/gh-readonly-queue/main/pr-42-{QUEUE_SHA}");
        let none = parse(&group(&head, "refs/heads/main", BASE_SHA), None).unwrap_err();
        assert!(
            none.message.contains("has no `pull_request`"),
            "{}",
            none.message
        );
        let bare = parse(r#"{"merge_group":{"head_sha":"abc"}}"#, None).unwrap_err();
        assert!(
            bare.message.contains("has no `pull_request`"),
            "{}",
            bare.message
        );
        let named = parse(r#"{"merge_group":{}}"#, Some("merge_group")).unwrap_err();
        assert!(
            named.message.contains("merge_group.head_ref"),
            "{}",
            named.message
        );
    }

    #[test]
    fn other_events_are_refused() {
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
