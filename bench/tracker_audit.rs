//! An audit of a release naming 1,000 tickets across two trackers (500
//! Jira Cloud keys, 500 Azure Boards work items), each tracker answering
//! after DELAY: the requests sent and the wall time of the tracker reads.
//! Usage: cargo run --release --example tracker-audit -- target/release/git-policy
#![expect(clippy::print_stdout, reason = "a benchmark prints its figures")]

use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

const DELAY: Duration = Duration::from_millis(50);
const PER_TRACKER: usize = 500;

const POLICY: &str = r#"version: 1
tickets:
  jira:
    pattern: '\bEPL-[0-9]+\b'
    api: { kind: jira-cloud, url: '{URL}', user_env: JIRA_USER, token_env: JIRA_TOKEN }
  boards:
    pattern: '\bAB#[0-9]+\b'
    api: { kind: azure-boards, url: '{URL}/acme', project: Platform, token_env: AZURE_DEVOPS_TOKEN }
rules:
  - id: release-tickets-signed-off
    on: [release]
    require:
      ticket: { exists: true, status: { in: [QA Passed, Done] } }
"#;

#[tokio::main(flavor = "multi_thread")]
#[expect(
    clippy::too_many_lines,
    reason = "a benchmark script, read top to bottom"
)]
async fn main() {
    let binary = std::env::args()
        .nth(1)
        .unwrap_or_else(|| String::from("target/release/git-policy"));
    let binary = std::fs::canonicalize(&binary)
        .unwrap_or_else(|e| panic!("{binary}: {e} (build it: cargo build --release)"));
    let server = MockServer::start().await;
    let jira = |request: &Request| {
        let body: Value = serde_json::from_slice(&request.body).unwrap();
        let issues: Vec<Value> = body["issueIdsOrKeys"]
            .as_array()
            .unwrap()
            .iter()
            .map(|key| {
                let key = key.as_str().unwrap();
                json!({ "id": "1", "key": key, "fields": {
                    "summary": format!("Story {key}"), "issuetype": { "name": "Story" },
                    "project": { "key": "EPL" },
                    "status": { "name": "Done", "statusCategory": { "key": "done", "name": "Done" } } } })
            })
            .collect();
        ResponseTemplate::new(200)
            .set_body_json(json!({ "issues": issues, "issueErrors": [] }))
            .set_delay(DELAY)
    };
    Mock::given(method("POST"))
        .and(path("/rest/api/3/issue/bulkfetch"))
        .respond_with(jira)
        .mount(&server)
        .await;
    let boards = |request: &Request| {
        let body: Value = serde_json::from_slice(&request.body).unwrap();
        let value: Vec<Value> = body["ids"]
            .as_array()
            .unwrap()
            .iter()
            .map(|id| {
                json!({ "id": id, "fields": {
                    "System.Title": format!("Bug {id}"), "System.WorkItemType": "Bug",
                    "System.State": "QA Passed", "System.TeamProject": "Platform",
                    "System.AreaPath": "Platform" } })
            })
            .collect();
        ResponseTemplate::new(200)
            .set_body_json(json!({ "count": value.len(), "value": value }))
            .set_delay(DELAY)
    };
    Mock::given(method("POST"))
        .and(path("/acme/Platform/_apis/wit/workitemsbatch"))
        .respond_with(boards)
        .mount(&server)
        .await;

    let dir = tempfile::tempdir().unwrap();
    let git = |args: &[&str]| {
        let status = Command::new("git")
            .args(args)
            .current_dir(dir.path())
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("HOME", dir.path())
            .env("GIT_AUTHOR_NAME", "Bench")
            .env("GIT_AUTHOR_EMAIL", "bench@example.com")
            .env("GIT_COMMITTER_NAME", "Bench")
            .env("GIT_COMMITTER_EMAIL", "bench@example.com")
            .status()
            .unwrap();
        assert!(status.success(), "git {args:?}");
    };
    git(&["init", "-q", "-b", "main"]);
    std::fs::write(
        dir.path().join(".git-policy.yml"),
        POLICY.replace("{URL}", &server.uri()),
    )
    .unwrap();
    git(&["add", "."]);
    git(&["commit", "-q", "-m", "initial"]);
    git(&["tag", "v1.0.0"]);
    // 100 commits, each naming 5 Jira keys and 5 work items.
    for c in 0..PER_TRACKER / 5 {
        let names: Vec<String> = (1..=5)
            .flat_map(|i| {
                let n = c * 5 + i;
                [format!("EPL-{n}"), format!("AB#{n}")]
            })
            .collect();
        git(&[
            "commit",
            "-q",
            "--allow-empty",
            "-m",
            &format!("{} work", names.join(" ")),
        ]);
    }
    let started = Instant::now();
    let output = Command::new(&binary)
        .current_dir(dir.path())
        .env("JIRA_USER", "bench@example.com")
        .env("JIRA_TOKEN", "bench-jira-token")
        .env("AZURE_DEVOPS_TOKEN", "bench-azure-token")
        .args(["--format", "json", "audit", "v1.0.0..HEAD"])
        .output()
        .unwrap();
    let wall = started.elapsed();
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let requests = server.received_requests().await.unwrap();
    let jira = requests
        .iter()
        .filter(|r| r.url.path().ends_with("bulkfetch"))
        .count();
    let boards = requests.len() - jira;
    println!(
        "audit of {} tickets (2 trackers, {} ms an answer): {} requests (jira {jira}, boards {boards}), {:.0} ms wall",
        2 * PER_TRACKER,
        DELAY.as_millis(),
        requests.len(),
        wall.as_secs_f64() * 1000.0
    );
}
