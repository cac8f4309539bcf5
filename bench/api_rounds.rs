//! Counts the GitHub API round-trips of `check pr` for a pull request with 250
//! changed files, 40 reviews and 2 teams read through the API. A local server
//! delays every answer by DELAY; requests sent together come back together,
//! so wall time / DELAY is the number of sequential rounds.
//! Usage: cargo run --release --example api-rounds -- target/release/git-policy
#![expect(
    clippy::print_stdout,
    clippy::print_stderr,
    reason = "a benchmark prints its figures"
)]

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use wiremock::matchers::{method, path, query_param, query_param_is_missing};
use wiremock::{Mock, MockServer, ResponseTemplate};

const DELAY: Duration = Duration::from_millis(250);
const HEAD: &str = "1111111111111111111111111111111111111111";

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let binary = std::env::args()
        .nth(1)
        .unwrap_or_else(|| String::from("target/release/git-policy"));
    let binary = std::fs::canonicalize(&binary)
        .unwrap_or_else(|e| panic!("{binary}: {e} (build it: cargo build --release)"));
    let server = MockServer::start().await;
    let pr = json!({ "number": 42, "title": "EPL-1 Widen the VPC", "body": null, "draft": false,
        "user": { "login": "dev" }, "labels": [{ "name": "bug" }], "milestone": { "title": "Sprint 9" },
        "head": { "ref": "bugfix/EPL-1-vpc", "sha": HEAD }, "base": { "ref": "main", "sha": "2222222222222222222222222222222222222222" },
        "commits": 1, "changed_files": 250 });
    answer(&server, "/repos/octo/app/pulls/42", None, pr).await;
    let reviews: Vec<Value> = (0..40).map(|i| json!({ "user": { "login": format!("reviewer{i}") }, "state": "COMMENTED", "commit_id": HEAD })).collect();
    list(&server, "/repos/octo/app/pulls/42/reviews", reviews).await;
    let files: Vec<Value> = (0..250)
        .map(|i| json!({ "filename": format!("infra/module{i}/main.tf"), "status": "modified" }))
        .collect();
    list(&server, "/repos/octo/app/pulls/42/files", files).await;
    list(&server, "/repos/octo/app/pulls/42/commits", vec![json!({ "sha": HEAD, "commit": { "message": "EPL-1 widen", "author": { "name": "Dev", "email": "d@x" } }, "parents": [{ "sha": "2222222222222222222222222222222222222222" }] })]).await;
    for team in ["platform", "release-train"] {
        let members: Vec<Value> = (0..150)
            .map(|i| json!({ "login": format!("{team}-{i}") }))
            .collect();
        list(
            &server,
            &format!("/orgs/octo/teams/{team}/members"),
            members,
        )
        .await;
    }
    let dir = tempfile::tempdir().unwrap();
    let policy = dir.path().join("policy.yml");
    std::fs::write(&policy, POLICY).unwrap();
    let started = Instant::now();
    let output = std::process::Command::new(&binary)
        .current_dir(dir.path())
        .env("GITHUB_API_URL", server.uri())
        .env("GITHUB_TOKEN", "t")
        .args(["--format", "json", "--policy"])
        .arg(&policy)
        .args(["check", "pr", "--repo", "octo/app", "--number", "42"])
        .output()
        .unwrap();
    let wall = started.elapsed();
    let requests = server.received_requests().await.unwrap().len();
    let verdict: Value = serde_json::from_slice(&output.stdout).unwrap_or(Value::Null);
    println!(
        "check pr (no clone: files and commits through the API): {requests} requests, {:.0} ms with {} ms per answer -> {:.1} sequential rounds (exit {:?}, {} findings)",
        wall.as_secs_f64() * 1000.0,
        DELAY.as_millis(),
        wall.as_secs_f64() / DELAY.as_secs_f64(),
        output.status.code(),
        verdict["findings"].as_array().map_or(0, Vec::len)
    );
    // A run that could not judge measured an error, not the rounds: stop the bench.
    if output.status.code() == Some(2) {
        eprintln!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        std::process::exit(1);
    }
}

const POLICY: &str = r#"version: 1
teams:
  platform-engineering: { github: octo/platform }
  rte: { github: octo/release-train }
paths:
  iac: ['*.tf']
kinds:
  bug: { labels: [bug] }
rules:
  - id: iac-approval
    on: [pull_request]
    when: { changed: [iac] }
    require: { approval: { teams: [platform-engineering] } }
  - id: bug-rte-review
    on: [pull_request]
    when: { kind: bug }
    require: { approval: { teams: [rte] } }
"#;

async fn answer(server: &MockServer, at: &str, page: Option<usize>, body: Value) {
    let mut mock = Mock::given(method("GET")).and(path(at));
    mock = match page {
        None | Some(1) => mock.and(query_param_is_missing("page")),
        Some(n) => mock.and(query_param("page", n.to_string().as_str())),
    };
    mock.respond_with(
        ResponseTemplate::new(200)
            .set_body_json(body)
            .set_delay(DELAY),
    )
    .mount(server)
    .await;
}

async fn list(server: &MockServer, at: &str, items: Vec<Value>) {
    let pages: Vec<Vec<Value>> = items.chunks(100).map(<[Value]>::to_vec).collect();
    let last = pages.len();
    for (i, page) in pages.into_iter().enumerate() {
        let n = i + 1;
        let mut response = ResponseTemplate::new(200)
            .set_body_json(Value::Array(page))
            .set_delay(DELAY);
        if n < last {
            let link = format!(
                "<{0}{at}?per_page=100&page={1}>; rel=\"next\", <{0}{at}?per_page=100&page={last}>; rel=\"last\"",
                server.uri(),
                n + 1
            );
            response = response.insert_header("link", link.as_str());
        }
        let mock = Mock::given(method("GET")).and(path(at));
        let mock = if n == 1 {
            mock.and(query_param_is_missing("page"))
        } else {
            mock.and(query_param("page", n.to_string().as_str()))
        };
        mock.respond_with(response).mount(server).await;
    }
}
