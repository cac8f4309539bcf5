//! Writing to a pull request's conversation: the living comment
//! (`check pr --comment`) and review requests (`--request-reviews`).
//! Reads are strict like every other; each write is sent once.

use http::Method;
use serde::Deserialize;
use serde_json::{Value, json};

use super::Fatal;
use super::github::{GitHub, MAX_ITEMS, decode};
use crate::rules::review_requests::{Plan, Requested};

/// Why a write did not happen.
pub(crate) enum Refused {
    /// The token may not write here (403: a `pull_request` run from a fork
    /// gets a read-only token, or the job lacks `pull-requests: write`).
    NotPermitted(String),
    /// Anything else: GitHub failed, answered off shape, or could not be reached.
    Failed(Fatal),
}

impl From<Fatal> for Refused {
    fn from(f: Fatal) -> Self {
        Refused::Failed(f)
    }
}

/// The default `GITHUB_TOKEN` of a workflow writes as this account.
pub(crate) const ACTIONS_BOT: &str = "github-actions[bot]";

/// Who the token writes as: `GIT_POLICY_COMMENT_AUTHOR` when set (a GitHub
/// App's `<slug>[bot]`), else `GET /user` (a personal token), else — when
/// that is refused, as it is for installation tokens such as the workflow's
/// `GITHUB_TOKEN` — `github-actions[bot]`.
pub(crate) async fn identity(gh: &GitHub) -> Result<String, Refused> {
    if let Some(login) = std::env::var("GIT_POLICY_COMMENT_AUTHOR")
        .ok()
        .map(|l| l.trim().to_owned())
        .filter(|l| !l.is_empty())
    {
        return Ok(login);
    }
    #[derive(Deserialize)]
    struct Me {
        login: String,
    }
    let answer = gh.send(Method::GET, "/user", None).await?;
    match answer.status {
        200 => Ok(decode::<Me>(&answer.body, "GET /user")?.login),
        401 | 403 | 404 => Ok(String::from(ACTIONS_BOT)),
        _ => Err(Refused::Failed(Fatal::new(format!(
            "GitHub answered GET /user with {}",
            answer.said()
        )))),
    }
}

/// A comment of the pull request written by the token's account.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct OwnComment {
    pub(crate) id: u64,
    pub(crate) body: String,
}

/// The comments `me` wrote on the pull request (oldest first). Anyone can
/// write a comment holding the marker: only the account's own count.
pub(crate) async fn own_comments(
    gh: &GitHub,
    repo: &str,
    number: u64,
    me: &str,
) -> Result<Vec<OwnComment>, Refused> {
    #[derive(Deserialize)]
    struct User {
        login: String,
        #[serde(rename = "type")]
        kind: String,
    }
    #[derive(Deserialize)]
    struct Listed {
        id: u64,
        body: Option<String>,
        /// null for a deleted account.
        user: Option<User>,
    }
    let path = format!("/repos/{repo}/issues/{number}/comments");
    let listed: Vec<Listed> = decode(
        &Value::Array(gh.all(&path, MAX_ITEMS).await?),
        &format!("GET {path}"),
    )?;
    let bot = me.ends_with("[bot]");
    let mut own: Vec<OwnComment> = listed
        .into_iter()
        .filter(|c| {
            c.user
                .as_ref()
                .is_some_and(|u| u.login.eq_ignore_ascii_case(me) && (!bot || u.kind == "Bot"))
        })
        .map(|c| OwnComment {
            id: c.id,
            body: c.body.unwrap_or_default(),
        })
        .collect();
    own.sort_by_key(|c| c.id);
    Ok(own)
}

#[derive(Deserialize)]
struct Written {
    id: u64,
    user: Option<WrittenBy>,
}

#[derive(Deserialize)]
struct WrittenBy {
    login: String,
}

/// A comment just posted.
pub(crate) struct Created {
    pub(crate) id: u64,
    /// The account it was written as, when GitHub says.
    pub(crate) author: Option<String>,
}

/// Posts a comment.
pub(crate) async fn create(
    gh: &GitHub,
    repo: &str,
    number: u64,
    body: &str,
) -> Result<Created, Refused> {
    let path = format!("/repos/{repo}/issues/{number}/comments");
    let answer = written(gh, Method::POST, &path, Some(&json!({ "body": body }))).await?;
    let made: Written = decode(&answer, &format!("POST {path}"))?;
    Ok(Created {
        id: made.id,
        author: made.user.map(|u| u.login),
    })
}

/// Replaces a comment's body.
pub(crate) async fn edit(gh: &GitHub, repo: &str, id: u64, body: &str) -> Result<(), Refused> {
    let path = format!("/repos/{repo}/issues/comments/{id}");
    written(gh, Method::PATCH, &path, Some(&json!({ "body": body }))).await?;
    Ok(())
}

/// Deletes a comment (a duplicate this run made while racing another).
pub(crate) async fn delete(gh: &GitHub, repo: &str, id: u64) -> Result<(), Refused> {
    let path = format!("/repos/{repo}/issues/comments/{id}");
    written(gh, Method::DELETE, &path, None).await?;
    Ok(())
}

/// Reviews requested and not yet given (GitHub drops a request once the
/// reviewer reviews).
pub(crate) async fn requested(gh: &GitHub, repo: &str, number: u64) -> Result<Requested, Refused> {
    #[derive(Deserialize)]
    struct User {
        login: String,
    }
    #[derive(Deserialize)]
    struct Team {
        slug: String,
    }
    #[derive(Deserialize)]
    struct Listed {
        users: Vec<User>,
        teams: Vec<Team>,
    }
    let path = format!("/repos/{repo}/pulls/{number}/requested_reviewers");
    let (value, _) = gh.get(&path).await?;
    let listed: Listed = decode(&value, &format!("GET {path}"))?;
    Ok(Requested {
        users: listed
            .users
            .into_iter()
            .map(|u| u.login.to_lowercase())
            .collect(),
        teams: listed
            .teams
            .into_iter()
            .map(|t| t.slug.to_lowercase())
            .collect(),
    })
}

/// Requests the reviews of `plan`.
pub(crate) async fn request(
    gh: &GitHub,
    repo: &str,
    number: u64,
    plan: &Plan,
) -> Result<(), Refused> {
    let path = format!("/repos/{repo}/pulls/{number}/requested_reviewers");
    let mut body = serde_json::Map::new();
    if !plan.reviewers.is_empty() {
        body.insert("reviewers".into(), json!(plan.reviewers));
    }
    if !plan.team_reviewers.is_empty() {
        body.insert("team_reviewers".into(), json!(plan.team_reviewers));
    }
    written(gh, Method::POST, &path, Some(&Value::Object(body))).await?;
    Ok(())
}

/// Sends a write; a 403 is [`Refused::NotPermitted`], any other failure
/// [`Refused::Failed`] naming the request.
async fn written(
    gh: &GitHub,
    method: Method,
    path: &str,
    body: Option<&Value>,
) -> Result<Value, Refused> {
    let answer = gh.send(method.clone(), path, body).await?;
    if answer.is_success() {
        return Ok(answer.body);
    }
    if answer.status == 403
        && answer
            .body
            .get("message")
            .and_then(Value::as_str)
            .is_some_and(|m| !m.contains("rate limit"))
    {
        return Err(Refused::NotPermitted(answer.said()));
    }
    Err(Refused::Failed(Fatal::new(format!(
        "GitHub refused {method} {path} ({})",
        answer.said()
    ))))
}
