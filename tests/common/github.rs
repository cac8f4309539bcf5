//! A local GitHub for `check pr` tests: response shapes of the real API
//! (trimmed to the fields git-policy reads, plus a few), served by wiremock.
#![allow(
    unreachable_pub,
    reason = "helpers shared by the test binaries, from their own crate"
)]

use serde_json::{Value, json};
use wiremock::matchers::{method, path, query_param, query_param_is_missing};
use wiremock::{Mock, MockServer, ResponseTemplate};

/// The token `check pr` tests give the binary.
pub const TOKEN: &str = "ghp_s3cretT0kenThatMustNeverBePrinted0000";
pub const HEAD: &str = "1111111111111111111111111111111111111111";
pub const BASE: &str = "2222222222222222222222222222222222222222";

/// A pull request as `GET /repos/{o}/{r}/pulls/{n}` returns it (trimmed to the fields read, plus a few).
pub fn pr_json(
    number: u64,
    title: &str,
    body: Option<&str>,
    draft: bool,
    labels: &[&str],
) -> Value {
    json!({
        "url": format!("https://api.github.com/repos/octo/app/pulls/{number}"),
        "id": 1_000 + number, "number": number, "state": "open", "locked": false,
        "title": title, "body": body, "draft": draft,
        "user": { "login": "dev", "id": 7, "type": "User" },
        "labels": labels.iter().map(|l| json!({ "id": 1, "name": l, "color": "f29513", "default": false })).collect::<Vec<_>>(),
        "milestone": null,
        "head": { "label": "octo:feature/EPL-1-vpc", "ref": "feature/EPL-1-vpc", "sha": HEAD, "user": { "login": "octo" } },
        "base": { "label": "octo:main", "ref": "main", "sha": BASE, "user": { "login": "octo" } },
        "author_association": "MEMBER", "merged": false, "mergeable": true, "comments": 0, "commits": 1,
        "additions": 10, "deletions": 2, "changed_files": 1
    })
}

pub fn review(login: &str, state: &str, commit: &str) -> Value {
    json!({ "id": 80, "user": { "login": login, "id": 1, "type": "User" }, "body": "", "state": state,
            "commit_id": commit, "submitted_at": "2026-11-20T17:00:00Z", "author_association": "MEMBER" })
}

pub fn file(name: &str) -> Value {
    json!({ "sha": "bbcd538c8e72b8c175046e27cc8f907076331401", "filename": name, "status": "modified",
            "additions": 1, "deletions": 0, "changes": 1, "patch": "@@ -1 +1 @@" })
}

pub fn commit(sha: &str, message: &str) -> Value {
    json!({ "sha": sha, "commit": { "author": { "name": "Dev", "email": "dev@example.com", "date": "2026-11-20T17:00:00Z" },
            "message": message }, "parents": [{ "sha": BASE }] })
}

/// Runs `cmd` off the async runtime (the mock server lives on it); the
/// token must appear in none of its output.
pub async fn output_of(mut cmd: super::Cmd) -> std::process::Output {
    let output = tokio::task::spawn_blocking(move || cmd.output().unwrap())
        .await
        .unwrap();
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    for token in [super::FAKE_TOKEN, TOKEN] {
        assert!(!all.contains(token), "the token leaked:\n{all}");
    }
    output
}

/// Serves `body` at `at`. A pull request (`/repos/{o}/{r}/pulls/{n}`) also
/// has its base branch served at its `base.sha`, as `git/ref/heads/{base}`
/// answers it: the base branch has not moved since (a test that moves it
/// mounts [`base_tip`], which wins).
pub async fn mount(server: &MockServer, at: &str, body: Value) {
    let segments: Vec<&str> = at.trim_start_matches('/').split('/').collect();
    if let ["repos", owner, repo, "pulls", number] = segments.as_slice()
        && number.parse::<u64>().is_ok()
        && let (Some(base), Some(sha)) =
            (body["base"]["ref"].as_str(), body["base"]["sha"].as_str())
    {
        Mock::given(method("GET"))
            .and(path(format!("/repos/{owner}/{repo}/git/ref/heads/{base}")))
            .respond_with(
                ResponseTemplate::new(200).set_body_json(ref_json(owner, repo, base, sha)),
            )
            .with_priority(10)
            .mount(server)
            .await;
    }
    Mock::given(method("GET"))
        .and(path(at))
        .respond_with(ResponseTemplate::new(200).set_body_json(body))
        .mount(server)
        .await;
}

/// `GET /repos/{owner}/{repo}/git/ref/heads/{branch}` as GitHub answers it.
fn ref_json(owner: &str, repo: &str, branch: &str, sha: &str) -> Value {
    json!({ "ref": format!("refs/heads/{branch}"), "node_id": "REF_1",
        "url": format!("https://api.github.com/repos/{owner}/{repo}/git/refs/heads/{branch}"),
        "object": { "sha": sha, "type": "commit",
            "url": format!("https://api.github.com/repos/{owner}/{repo}/git/commits/{sha}") } })
}

/// The base branch `branch` of `octo/app` points at `sha` now (it moved
/// since the pull request's `base.sha`).
pub async fn base_tip(server: &MockServer, branch: &str, sha: &str) {
    Mock::given(method("GET"))
        .and(path(format!("/repos/octo/app/git/ref/heads/{branch}")))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(ref_json("octo", "app", branch, sha)),
        )
        .with_priority(1)
        .mount(server)
        .await;
}

/// A list, paginated 100 per page with GitHub's Link header.
pub async fn mount_list(server: &MockServer, at: &str, items: Vec<Value>) {
    let pages: Vec<&[Value]> = if items.is_empty() {
        vec![&[][..]]
    } else {
        items.chunks(100).collect()
    };
    let last = pages.len();
    for (i, page) in pages.iter().enumerate() {
        let number = i + 1;
        let mut response = ResponseTemplate::new(200).set_body_json(Value::Array(page.to_vec()));
        if last > 1 {
            let link = |p: usize, rel: &str| {
                format!(
                    "<{}{at}?per_page=100&page={p}>; rel=\"{rel}\"",
                    server.uri()
                )
            };
            let mut links = Vec::new();
            if number < last {
                links.push(link(number + 1, "next"));
                links.push(link(last, "last"));
            }
            if number > 1 {
                links.push(link(1, "first"));
                links.push(link(number - 1, "prev"));
            }
            response = response.insert_header("link", links.join(", ").as_str());
        }
        let mut mock = Mock::given(method("GET"))
            .and(path(at))
            .and(query_param("per_page", "100"));
        mock = if number == 1 {
            mock.and(query_param_is_missing("page"))
        } else {
            mock.and(query_param("page", number.to_string().as_str()))
        };
        mock.respond_with(response).mount(server).await;
    }
}

/// GitHub's GraphQL answer about commits' signatures (`cN: object(oid: …) {
/// ... on Commit { oid signature { … } } }`): `known` by sha, null (unsigned)
/// for any other commit.
#[allow(dead_code, reason = "not every test binary asks for signatures")]
pub async fn mount_signatures(server: &MockServer, known: Vec<(String, Value)>) {
    let answer = move |request: &wiremock::Request| {
        let body: Value = serde_json::from_slice(&request.body).unwrap();
        let query = body["query"].as_str().unwrap_or_default();
        let mut repository = serde_json::Map::new();
        for line in query.lines() {
            if let Some((alias, rest)) = line.trim().split_once(": object(oid: \"") {
                let sha = rest.split('"').next().unwrap_or_default();
                let signature = known
                    .iter()
                    .find(|(s, _)| s == sha)
                    .map_or(Value::Null, |(_, v)| v.clone());
                repository.insert(
                    alias.to_owned(),
                    json!({ "oid": sha, "signature": signature }),
                );
            }
        }
        ResponseTemplate::new(200).set_body_json(json!({ "data": { "repository": repository } }))
    };
    Mock::given(method("POST"))
        .and(path("/graphql"))
        .respond_with(answer)
        .mount(server)
        .await;
}
