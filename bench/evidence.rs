//! Release evidence at release scale: `audit` of a range of N squash-merged
//! pull requests (N = 100 and 500), against a local mock of GitHub that
//! delays every answer by DELAY. Requests sent together come back
//! together, so wall time / DELAY is about the number of sequential rounds.
//! Each N runs twice: first with an empty cache, then re-run on the cache;
//! once with each pull request's head commit in the clone (files and
//! commits from git), once without (a squash merge whose branch is gone:
//! files and commits from the same GraphQL queries; the REST lists the mock
//! also serves are for a pull request GraphQL cannot describe exactly).
//! Usage: cargo run --release --example evidence -- target/release/git-policy
#![expect(
    clippy::print_stdout,
    clippy::print_stderr,
    reason = "a benchmark prints its figures"
)]

use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use wiremock::matchers::{method, path, path_regex};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

const DELAY: Duration = Duration::from_millis(50);
const MERGED_AT: &str = "2026-03-02T10:00:00Z";

const POLICY: &str = r#"version: 1
tickets:
  jira: { pattern: '\bEPL-[0-9]+\b' }
rules:
  - id: peer-review
    on: [pull_request]
    require:
      approval: { count: 1 }
"#;

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let binary = std::env::args()
        .nth(1)
        .unwrap_or_else(|| String::from("target/release/git-policy"));
    let binary = std::fs::canonicalize(&binary)
        .unwrap_or_else(|e| panic!("{binary}: {e} (build it: cargo build --release)"));
    for (local_heads, clone) in [
        (true, "heads in the clone"),
        (false, "heads not in the clone"),
    ] {
        for n in [100usize, 500] {
            let dir = tempfile::tempdir().unwrap();
            let shas = history(dir.path(), n);
            let (base, shas) = (shas[0].clone(), shas[1..].to_vec());
            let cache = tempfile::tempdir().unwrap();
            for run in ["first run", "cached re-run"] {
                let server = serve(&base, &shas, local_heads).await;
                let started = Instant::now();
                let output = Command::new(&binary)
                    .current_dir(dir.path())
                    .env("GITHUB_API_URL", server.uri())
                    .env("GITHUB_TOKEN", "t")
                    .args([
                        "--format", "json", "audit", "v0..HEAD", "--repo", "octo/app",
                    ])
                    .arg("--cache")
                    .arg(cache.path())
                    .output()
                    .unwrap();
                let wall = started.elapsed();
                let requests = server.received_requests().await.unwrap().len();
                let v: Value = serde_json::from_slice(&output.stdout).unwrap_or(Value::Null);
                let changes = v["release"]["changes"].as_array().map_or(0, Vec::len);
                println!(
                    "{n} pull requests ({clone}), {run}: {requests} requests, {:.2} s with {} ms per answer -> {:.0} sequential rounds (exit {:?}, {changes} changes judged)",
                    wall.as_secs_f64(),
                    DELAY.as_millis(),
                    wall.as_secs_f64() / DELAY.as_secs_f64(),
                    output.status.code(),
                );
                if changes != n {
                    eprintln!("{}", String::from_utf8_lossy(&output.stderr));
                }
            }
        }
    }
}

/// A repository with the policy, tag `v0`, then `n` commits (each a squash-merged pull request).
fn history(dir: &std::path::Path, n: usize) -> Vec<String> {
    let git = |args: &[&str]| {
        let out = Command::new("git")
            .args(args)
            .current_dir(dir)
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("HOME", dir)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    };
    git(&["init", "-q", "-b", "main"]);
    git(&["config", "user.name", "Bench"]);
    git(&["config", "user.email", "bench@example.com"]);
    git(&["config", "commit.gpgsign", "false"]);
    std::fs::write(dir.join(".git-policy.yml"), POLICY).unwrap();
    git(&["add", "."]);
    git(&["commit", "-q", "-m", "EPL-0 policy"]);
    git(&["tag", "v0"]);
    // One fast-import stream for the n commits.
    let mut stream = String::new();
    for i in 1..=n {
        let message = format!("EPL-{i} Change {i} (#{i})");
        stream.push_str(&format!(
            "commit refs/heads/main\ncommitter Bench <bench@example.com> {} +0000\ndata {}\n{message}\n",
            1_700_000_000 + i,
            message.len() + 1
        ));
        if i == 1 {
            stream.push_str("from refs/heads/main^0\n");
        }
        stream.push('\n');
    }
    let mut child = Command::new("git")
        .args(["fast-import", "--quiet", "--force"])
        .current_dir(dir)
        .stdin(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stream.as_bytes())
        .unwrap();
    assert!(child.wait().unwrap().success());
    git(&["reset", "-q", "--hard", "main"]);
    // The tag first: pull request i's base is entry i - 1.
    let mut shas = vec![git(&["rev-parse", "v0"])];
    shas.extend(
        git(&["rev-list", "--reverse", "v0..main"])
            .lines()
            .map(str::to_owned),
    );
    shas
}

/// The head commit of pull request `n`: its merge commit when the clone
/// has the heads; else a commit only GitHub has (as after a squash merge
/// whose branch was deleted), whose files and commits come from REST.
fn head_of(n: usize, merge: &str, local_heads: bool) -> String {
    if local_heads {
        merge.to_owned()
    } else {
        format!("{n:040x}")
    }
}

async fn serve(first_base: &str, shas: &[String], local_heads: bool) -> MockServer {
    let first_base = first_base.to_owned();
    let server = MockServer::start().await;
    let numbered: std::collections::HashMap<String, usize> = shas
        .iter()
        .enumerate()
        .map(|(i, s)| (s.clone(), i + 1))
        .collect();
    let by_number: Vec<String> = shas.to_vec();
    let graphql = move |request: &Request| {
        let body: Value = serde_json::from_slice(&request.body).unwrap();
        let mut repository = serde_json::Map::new();
        for line in body["query"].as_str().unwrap().lines() {
            let line = line.trim();
            if let Some((alias, rest)) = line.split_once(": object(oid: \"") {
                // Which pull request brought each commit.
                let sha = &rest[..40];
                let n = numbered[sha];
                let head = head_of(n, sha, local_heads);
                repository.insert(alias.to_owned(), json!({ "oid": sha, "author": { "user": { "login": "dev" } }, "signature": null,
                    "associatedPullRequests": { "totalCount": 1, "nodes": [{ "number": n, "mergedAt": MERGED_AT, "baseRefName": "main", "headRefOid": head, "mergeCommit": { "oid": sha } }] } }));
            } else if let Some((alias, rest)) = line.split_once(": pullRequest(number: ") {
                // A merged pull request, with one approval and no label events.
                let n: usize = rest.split(')').next().unwrap().parse().unwrap();
                let sha = &by_number[n - 1];
                let parent = if n == 1 {
                    &first_base
                } else {
                    &by_number[n - 2]
                };
                let head = head_of(n, sha, local_heads);
                let user = |login: &str| json!({ "__typename": "User", "login": login });
                repository.insert(alias.to_owned(), json!({
                    "number": n, "title": format!("EPL-{n} Change {n}"), "body": "", "author": user("dev"),
                    "baseRefName": "main", "headRefName": format!("feature/EPL-{n}"), "baseRefOid": parent, "headRefOid": head,
                    "milestone": null, "mergedAt": MERGED_AT, "mergedBy": user("dev"), "mergeCommit": { "oid": sha },
                    "changedFiles": if local_heads { 0 } else { 1 },
                    "files": { "totalCount": if local_heads { 0 } else { 1 }, "pageInfo": { "hasNextPage": false, "endCursor": if local_heads { Value::Null } else { json!("Y3Vyc29yOnYyOpHOAAAAAQ==") } },
                        "nodes": if local_heads { json!([]) } else { json!([{ "path": format!("src/change{n}.rs"), "changeType": "ADDED" }]) } },
                    "commits": { "totalCount": 1, "pageInfo": { "hasNextPage": false, "endCursor": "Y3Vyc29yOnYyOpHOAAAAAQ==" },
                        "nodes": [{ "commit": { "oid": head, "message": format!("EPL-{n} Change {n}"), "parents": { "totalCount": 1 },
                            "author": { "name": "Dev", "email": "dev@example.com", "user": { "login": "dev" } } } }] },
                    "reviews": { "totalCount": 1, "pageInfo": { "hasNextPage": false, "endCursor": "Y3Vyc29yOnYyOpHOAAAAAQ==" },
                        "nodes": [{ "author": user("reviewer"), "state": "APPROVED", "submittedAt": "2026-03-02T09:00:00Z", "commit": { "oid": head } }] },
                    "timelineItems": { "pageInfo": { "hasNextPage": false, "endCursor": null }, "nodes": [] } }));
            }
        }
        ResponseTemplate::new(200)
            .set_delay(DELAY)
            .set_body_json(json!({ "data": { "repository": repository } }))
    };
    Mock::given(method("POST"))
        .and(path("/graphql"))
        .respond_with(graphql)
        .mount(&server)
        .await;
    // A pull request's files and commits, read through REST when the clone
    // lacks its head.
    let lists = move |request: &Request| {
        let parts: Vec<&str> = request.url.path().split('/').collect();
        let n: usize = parts[5].parse().unwrap();
        let head = format!("{n:040x}");
        let body = if parts[6] == "files" {
            json!([{ "sha": head, "filename": format!("src/change{n}.rs"), "status": "added", "additions": 1, "deletions": 0, "changes": 1, "previous_filename": null }])
        } else {
            json!([{ "sha": head, "commit": { "message": format!("EPL-{n} Change {n}"), "author": { "name": "Dev", "email": "dev@example.com", "date": MERGED_AT } },
                "parents": [{ "sha": "0".repeat(40) }], "author": { "login": "dev" } }])
        };
        ResponseTemplate::new(200)
            .set_delay(DELAY)
            .set_body_json(body)
    };
    Mock::given(method("GET"))
        .and(path_regex(
            r"^/repos/octo/app/pulls/[0-9]+/(files|commits)$",
        ))
        .respond_with(lists)
        .mount(&server)
        .await;
    server
}
