//! Release evidence (issue 15): every commit of the audited range has its
//! pull request, re-judged as it stood at merge time by the policy of its
//! base commit. GitHub is a local mock answering in the shapes of the
//! REST reference (pulls, reviews, timeline) and GraphQL's schema.

mod common;

use std::collections::HashMap;

use common::{FAKE_TOKEN, Repo};
use serde_json::{Value, json};
use wiremock::matchers::{method, path, query_param};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

const POLICY_V1: &str = r#"version: 1
tickets:
  jira: { pattern: '\bEPL-[0-9]+\b' }
teams:
  rte: { members: [rte-lead, reviewer] }
rules:
  - id: peer-review
    on: [pull_request]
    unless: { labels: [trivial] }
    require:
      approval: { count: 1, expedited: { labels: [expedited], granted_by: [rte] } }
"#;

/// One merged pull request of the scenario.
struct Pull {
    number: u64,
    title: &'static str,
    /// (reviewer, state, submitted at)
    reviews: Vec<(&'static str, &'static str, &'static str)>,
    /// (label, actor, added, at)
    labels: Vec<(&'static str, &'static str, bool, &'static str)>,
    merged_by: &'static str,
}

const MERGED_AT: &str = "2026-03-02T10:00:00Z";
const BEFORE: &str = "2026-03-02T09:00:00Z";
const AFTER: &str = "2026-03-02T12:00:00Z";

/// The scenario's repository: a tag, then one commit per change (squash
/// merges: each pull request's merge commit is its head).
struct Scenario {
    repo: Repo,
    /// sha → the pull request that brought it (None: pushed directly).
    commits: Vec<(String, Option<Pull>)>,
}

fn scenario() -> Scenario {
    let repo = Repo::new("main");
    repo.write(".git-policy.yml", POLICY_V1);
    repo.git(&["add", "."]);
    repo.commit("EPL-0 initial policy");
    repo.git(&["tag", "v1.0.0"]);
    let mut commits = Vec::new();
    let mut pr = |title: &'static str, pull: Option<Pull>| {
        let sha = repo.commit(title);
        commits.push((sha, pull));
    };
    let approved = |who| vec![(who, "APPROVED", BEFORE)];
    pr(
        "EPL-1 Reviewed change",
        Some(Pull {
            number: 1,
            title: "EPL-1 Reviewed change",
            reviews: vec![
                ("reviewer", "COMMENTED", BEFORE),
                ("dev", "APPROVED", BEFORE),
                ("reviewer", "APPROVED", BEFORE),
            ],
            labels: vec![],
            merged_by: "dev",
        }),
    );
    pr("EPL-2 Hotfix pushed straight to main", None);
    pr(
        "EPL-3 Admin merge",
        Some(Pull {
            number: 3,
            title: "EPL-3 Admin merge",
            reviews: vec![("reviewer", "CHANGES_REQUESTED", BEFORE)],
            labels: vec![],
            merged_by: "admin",
        }),
    );
    pr(
        "EPL-4 Approved too late",
        Some(Pull {
            number: 4,
            title: "EPL-4 Approved too late",
            reviews: vec![("reviewer", "APPROVED", AFTER)],
            labels: vec![],
            merged_by: "dev",
        }),
    );
    pr(
        "EPL-5 Labelled trivial after the merge",
        Some(Pull {
            number: 5,
            title: "EPL-5 Labelled trivial after the merge",
            reviews: vec![],
            labels: vec![("trivial", "dev", true, AFTER)],
            merged_by: "dev",
        }),
    );
    // The policy is made stricter (two approvals) by #6, which its own
    // base policy (one) judges; #7 then needs two.
    repo.write(
        ".git-policy.yml",
        &POLICY_V1.replace("approval: { count: 1,", "approval: { count: 2,"),
    );
    repo.git(&["add", "."]);
    pr(
        "EPL-6 Require two approvals",
        Some(Pull {
            number: 6,
            title: "EPL-6 Require two approvals",
            reviews: approved("reviewer"),
            labels: vec![],
            merged_by: "dev",
        }),
    );
    pr(
        "EPL-8 Expedited and reviewed",
        Some(Pull {
            number: 8,
            title: "EPL-8 Expedited and reviewed",
            reviews: vec![("reviewer", "APPROVED", AFTER)],
            labels: vec![("expedited", "rte-lead", true, BEFORE)],
            merged_by: "rte-lead",
        }),
    );
    pr(
        "EPL-9 Expedited, never reviewed",
        Some(Pull {
            number: 9,
            title: "EPL-9 Expedited, never reviewed",
            reviews: vec![],
            labels: vec![("expedited", "rte-lead", true, BEFORE)],
            merged_by: "rte-lead",
        }),
    );
    Scenario { repo, commits }
}

fn user(login: &str) -> Value {
    json!({ "login": login, "id": 1, "node_id": "MDQ6VXNlcjE=", "type": "User", "site_admin": false })
}

/// `GET /repos/{o}/{r}/pulls/{n}` in the reference shape (the fields git-policy reads, and some it does not).
fn pull_json(pull: &Pull, sha: &str, parent: &str) -> Value {
    json!({
        "url": format!("https://api.github.com/repos/octo/app/pulls/{}", pull.number),
        "id": 1000 + pull.number, "node_id": "MDExOlB1bGxSZXF1ZXN0MQ==",
        "number": pull.number, "state": "closed", "locked": false,
        "title": pull.title, "user": user("dev"), "body": "Made for the release.",
        "labels": [], "milestone": null, "active_lock_reason": null,
        "created_at": "2026-03-01T10:00:00Z", "updated_at": AFTER, "closed_at": MERGED_AT,
        "merged_at": MERGED_AT, "merge_commit_sha": sha, "assignee": null, "assignees": [],
        "requested_reviewers": [], "requested_teams": [],
        "head": { "label": "octo:feature", "ref": format!("feature/EPL-{}", pull.number), "sha": sha, "user": user("dev") },
        "base": { "label": "octo:main", "ref": "main", "sha": parent, "user": user("octo") },
        "author_association": "MEMBER", "auto_merge": null, "draft": false,
        "merged": true, "mergeable": null, "merged_by": user(pull.merged_by),
        "comments": 0, "review_comments": 0, "commits": 1, "additions": 1, "deletions": 0, "changed_files": 0
    })
}

fn review_json(i: usize, (who, state, at): &(&str, &str, &str), sha: &str) -> Value {
    json!({ "id": 80 + i, "node_id": "MDE3OlB1bGxSZXF1ZXN0UmV2aWV3ODA=", "user": user(who),
        "body": "", "state": state, "html_url": "https://github.com/octo/app/pull/1#pullrequestreview-80",
        "pull_request_url": "https://api.github.com/repos/octo/app/pulls/1",
        "submitted_at": at, "commit_id": sha, "author_association": "COLLABORATOR" })
}

fn label_json((label, actor, added, at): &(&str, &str, bool, &str)) -> Value {
    json!({ "id": 6430295168u64, "node_id": "LOE_lADODwFebM5HwC0kzwAAAAF_RoSA",
        "url": "https://api.github.com/repos/octo/app/issues/events/6430295168",
        "actor": user(actor), "event": if *added { "labeled" } else { "unlabeled" },
        "commit_id": null, "commit_url": null, "created_at": at,
        "label": { "name": label, "color": "f29513" }, "performed_via_github_app": null })
}

/// GraphQL's answer for one commit.
fn commit_node(sha: &str, pull: Option<&Pull>) -> Value {
    let nodes: Vec<Value> = pull
        .map(|p| {
            json!({ "number": p.number, "mergedAt": MERGED_AT, "baseRefName": "main",
                "headRefOid": sha, "mergeCommit": { "oid": sha } })
        })
        .into_iter()
        .collect();
    json!({ "oid": sha, "author": { "user": { "login": "dev" } }, "signature": null,
        "associatedPullRequests": { "totalCount": nodes.len(), "nodes": nodes } })
}

/// Answers GraphQL queries from `nodes` (sha → answer), alias by alias.
fn graphql(nodes: HashMap<String, Value>) -> impl Fn(&Request) -> ResponseTemplate {
    move |request: &Request| {
        let body: Value = serde_json::from_slice(&request.body).unwrap();
        let query = body["query"].as_str().unwrap();
        let mut repository = serde_json::Map::new();
        for line in query.lines() {
            let Some((alias, rest)) = line.trim().split_once(": object(oid: \"") else {
                continue;
            };
            let sha = &rest[..40];
            repository.insert(
                alias.to_owned(),
                nodes.get(sha).cloned().unwrap_or(Value::Null),
            );
        }
        ResponseTemplate::new(200).set_body_json(json!({ "data": { "repository": repository } }))
    }
}

async fn serve(s: &Scenario) -> MockServer {
    let server = MockServer::start().await;
    let ok = |v: Value| ResponseTemplate::new(200).set_body_json(v);
    let mut nodes = HashMap::new();
    let mut parent = s.repo.git(&["rev-parse", "v1.0.0"]);
    for (sha, pull) in &s.commits {
        nodes.insert(sha.clone(), commit_node(sha, pull.as_ref()));
        if let Some(pull) = pull {
            let n = pull.number;
            Mock::given(method("GET"))
                .and(path(format!("/repos/octo/app/pulls/{n}")))
                .respond_with(ok(pull_json(pull, sha, &parent)))
                .mount(&server)
                .await;
            let reviews: Vec<Value> = pull
                .reviews
                .iter()
                .enumerate()
                .map(|(i, r)| review_json(i, r, sha))
                .collect();
            if n == 1 {
                // Pagination: the approval is on the second page.
                let link = format!(
                    "<{}/repos/octo/app/pulls/1/reviews?per_page=100&page=2>; rel=\"next\", <{}/repos/octo/app/pulls/1/reviews?per_page=100&page=2>; rel=\"last\"",
                    server.uri(),
                    server.uri()
                );
                Mock::given(method("GET"))
                    .and(path("/repos/octo/app/pulls/1/reviews"))
                    .and(query_param("page", "2"))
                    .respond_with(ok(Value::Array(reviews[2..].to_vec())))
                    .mount(&server)
                    .await;
                Mock::given(method("GET"))
                    .and(path("/repos/octo/app/pulls/1/reviews"))
                    .respond_with(
                        ok(Value::Array(reviews[..2].to_vec()))
                            .insert_header("link", link.as_str()),
                    )
                    .mount(&server)
                    .await;
            } else {
                Mock::given(method("GET"))
                    .and(path(format!("/repos/octo/app/pulls/{n}/reviews")))
                    .respond_with(ok(Value::Array(reviews)))
                    .mount(&server)
                    .await;
            }
            let timeline: Vec<Value> = pull.labels.iter().map(label_json).collect();
            Mock::given(method("GET"))
                .and(path(format!("/repos/octo/app/issues/{n}/timeline")))
                .respond_with(ok(Value::Array(timeline)))
                .mount(&server)
                .await;
        }
        parent = sha.clone();
    }
    Mock::given(method("POST"))
        .and(path("/graphql"))
        .respond_with(graphql(nodes))
        .mount(&server)
        .await;
    server
}

/// `audit v1.0.0..HEAD --repo octo/app` with JSON output, under `policy`
/// when given (else the repository's own).
fn json_audit(s: &Scenario, policy: Option<&std::path::Path>) -> common::Cmd {
    let mut cmd = s.repo.cmd();
    if let Some(policy) = policy {
        cmd.arg("--policy").arg(policy);
    }
    cmd.args([
        "--format",
        "json",
        "audit",
        "v1.0.0..HEAD",
        "--repo",
        "octo/app",
    ]);
    cmd
}

/// The audit against the mock, with a token and its own cache.
fn audit_with(
    s: &Scenario,
    server: &MockServer,
    cache: &std::path::Path,
    policy: Option<&std::path::Path>,
) -> common::Cmd {
    let mut cmd = json_audit(s, policy);
    cmd.arg("--cache")
        .arg(cache)
        .env("GITHUB_API_URL", server.uri())
        .env("GITHUB_TOKEN", FAKE_TOKEN)
        .env("GIT_POLICY_RETRY_DELAY", "0.01");
    cmd
}

fn audit(s: &Scenario, server: &MockServer, cache: &std::path::Path) -> common::Cmd {
    audit_with(s, server, cache, None)
}

async fn run(mut cmd: common::Cmd) -> (i32, Value, String) {
    let out = tokio::task::spawn_blocking(move || cmd.output().unwrap())
        .await
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        serde_json::from_slice(&out.stdout).unwrap_or(Value::Null),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn verdicts(v: &Value) -> Vec<(Value, String)> {
    v["release"]["changes"]
        .as_array()
        .unwrap_or_else(|| panic!("no changes: {v}"))
        .iter()
        .map(|c| {
            (
                c["pull_request"].clone(),
                c["verdict"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn evidence_messages(v: &Value) -> Vec<String> {
    v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["rule"] == "release-evidence")
        .map(|f| f["message"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn every_change_of_a_realistic_range_is_judged_as_it_stood_at_merge() {
    let s = scenario();
    let server = serve(&s).await;
    let cache = tempfile::tempdir().unwrap();
    let (code, v, stderr) = run(audit(&s, &server, cache.path())).await;
    assert_eq!(code, 1, "{stderr}\n{v}");
    assert_eq!(v["release"]["evidence"], "checked");
    assert_eq!(
        verdicts(&v),
        [
            (json!(1), "passed".to_owned()),
            (Value::Null, "pushed_directly".to_owned()),
            (json!(3), "failed".to_owned()),
            (json!(4), "failed".to_owned()),
            (json!(5), "failed".to_owned()),
            // Judged by the policy at its base (one approval), not today's (two).
            (json!(6), "passed".to_owned()),
            (json!(8), "expedited".to_owned()),
            (json!(9), "expedited".to_owned()),
        ]
    );
    let messages = evidence_messages(&v);
    let has = |needle: &str| {
        assert!(
            messages.iter().any(|m| m.contains(needle)),
            "no finding contains {needle:?}: {messages:#?}"
        )
    };
    has(
        "`EPL-2 Hotfix pushed straight to main` (GitHub account @dev) was pushed directly to `main`",
    );
    has(
        "pull request #3 (EPL-3 Admin merge) was merged while `peer-review` failed: needs 1 more approval from a reviewer other than the author; has 0, merged by @admin",
    );
    has(
        "pull request #3 (EPL-3 Admin merge) was merged while `peer-review` failed: changes requested by reviewer",
    );
    has("pull request #4 (EPL-4 Approved too late) was merged while `peer-review` failed");
    has("approved only after the merge by reviewer (not counted)");
    has(
        "pull request #5 (EPL-5 Labelled trivial after the merge) was merged while `peer-review` failed",
    );
    has(
        "pull request #9 (EPL-9 Expedited, never reviewed) was merged on the expedited path (`expedited`, granted by @rte-lead), merged by @rte-lead, and has no post-implementation review",
    );
    assert_eq!(messages.len(), 6, "{messages:#?}");
    let first = &v["release"]["changes"][0];
    assert_eq!(
        first["approvers"],
        json!([{ "login": "reviewer", "teams": ["rte"] }]),
        "the author's own approval never counts; the second page of reviews is read"
    );
    assert_eq!(first["tickets"], json!(["EPL-1"]));
    assert_eq!(first["merged_by"], "dev");
    let expedited = &v["release"]["changes"][6]["expedited"];
    assert_eq!(expedited["reviewed_by"], "reviewer");
    assert_eq!(expedited["granted_by"], "@rte-lead");
    // The Markdown report carries the same evidence.
    let mut md = audit(&s, &server, cache.path());
    md.args(["--format", "markdown"]);
    let out = tokio::task::spawn_blocking(move || md.output().unwrap())
        .await
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("## Evidence (8 changes: 2 through the gate, 1 expedited and reviewed, 1 expedited without its review, 1 pushed directly, 3 merged while a rule failed)"), "{text}");
    assert!(text.contains("| #3 EPL-3 Admin merge | EPL-3 | @dev |  | @admin | 2026-03-02T10:00:00Z | ❌ merged while `peer-review` failed |"), "{text}");
    assert!(
        text.contains("| #1 EPL-1 Reviewed change | EPL-1 | @dev | @reviewer (rte) | @dev |"),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_cached_rerun_costs_one_query_and_a_corrupt_entry_is_read_again() {
    let s = scenario();
    let server = serve(&s).await;
    let cache = tempfile::tempdir().unwrap();
    let (_, first, _) = run(audit(&s, &server, cache.path())).await;
    let sent = server.received_requests().await.unwrap().len();
    assert!(sent > 8, "{sent}");
    server.reset().await;

    // The same answers again, mounted on the same server.
    let again = serve(&s).await;
    let (_, second, stderr) = run(audit(&s, &again, cache.path())).await;
    let requests = again.received_requests().await.unwrap();
    assert_eq!(
        requests.len(),
        1,
        "only the GraphQL query: {:?}\n{stderr}",
        requests
            .iter()
            .map(|r| r.url.path().to_owned())
            .collect::<Vec<_>>()
    );
    assert_eq!(verdicts(&first), verdicts(&second));
    assert_eq!(evidence_messages(&first), evidence_messages(&second));
    // A corrupt entry, and one that claims a pass for an admin merge: both ignored.
    let folder = cache.path().join("octo+app");
    for entry in std::fs::read_dir(&folder).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if name.starts_with("3-") {
            let text = std::fs::read_to_string(&path).unwrap();
            // Forged: the same entry with another pull request's number inside.
            std::fs::write(&path, text.replace("\"number\":3", "\"number\":30")).unwrap();
        } else if name.starts_with("4-") {
            std::fs::write(&path, "{ not json").unwrap();
        }
    }
    let third = serve(&s).await;
    let (_, v, stderr) = run(audit(&s, &third, cache.path())).await;
    assert!(
        stderr.contains("ignored: it is about another pull request"),
        "{stderr}"
    );
    assert!(stderr.contains("cache entry"), "{stderr}");
    assert_eq!(verdicts(&v), verdicts(&first));
    let paths: Vec<String> = third
        .received_requests()
        .await
        .unwrap()
        .iter()
        .map(|r| r.url.path().to_owned())
        .collect();
    assert!(
        paths.contains(&"/repos/octo/app/pulls/3".to_owned()),
        "{paths:?}"
    );
    assert!(
        paths.contains(&"/repos/octo/app/pulls/4".to_owned()),
        "{paths:?}"
    );
    assert!(
        !paths.contains(&"/repos/octo/app/pulls/1".to_owned()),
        "{paths:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_short_rate_limit_is_waited_for_and_a_long_one_stops_the_audit() {
    let s = scenario();
    let server = serve(&s).await;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let limited = |reset: u64| {
        ResponseTemplate::new(403)
            .insert_header("x-ratelimit-remaining", "0")
            .insert_header("x-ratelimit-reset", reset.to_string().as_str())
            .set_body_json(json!({ "message": "API rate limit exceeded" }))
    };
    Mock::given(method("POST"))
        .and(path("/graphql"))
        .respond_with(limited(now + 1))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    let cache = tempfile::tempdir().unwrap();
    let mut cmd = audit(&s, &server, cache.path());
    cmd.env("GIT_POLICY_LONGEST_WAIT", "5");
    let (code, v, stderr) = run(cmd).await;
    assert_eq!(code, 1, "waited for the reset, then judged: {stderr}");
    assert_eq!(verdicts(&v).len(), 8);

    let server = serve(&s).await;
    Mock::given(method("POST"))
        .and(path("/graphql"))
        .respond_with(limited(now + 3600))
        .with_priority(1)
        .mount(&server)
        .await;
    let mut cmd = audit(&s, &server, cache.path());
    cmd.env("GIT_POLICY_LONGEST_WAIT", "5");
    let (code, v, stderr) = run(cmd).await;
    assert_eq!(code, 2, "{stderr}");
    assert_eq!(v["passed"], Value::Null, "nothing was judged: {v}");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("rate limit is used up"),
        "{v}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn server_errors_are_retried_a_few_times_then_not_a_pass() {
    let s = scenario();
    let server = serve(&s).await;
    Mock::given(method("GET"))
        .and(path("/repos/octo/app/pulls/4"))
        .respond_with(ResponseTemplate::new(502))
        .with_priority(1)
        .mount(&server)
        .await;
    let cache = tempfile::tempdir().unwrap();
    let (code, v, stderr) = run(audit(&s, &server, cache.path())).await;
    assert_eq!(code, 2, "{stderr}");
    assert_eq!(
        v["error"]["message"],
        "GitHub failed GET /repos/octo/app/pulls/4 (502) (after 3 attempts)"
    );
    let tries = server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter(|r| r.url.path() == "/repos/octo/app/pulls/4")
        .count();
    assert_eq!(tries, 3);
}

#[test]
fn without_a_token_evidence_is_not_checked_a_warning_or_an_error_when_required() {
    let s = scenario();
    let out = json_audit(&s, None).output().unwrap();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(0), "{v}");
    assert_eq!(v["release"]["evidence"], "not_checked");
    let finding = &v["findings"][0];
    assert_eq!(finding["rule"], "release-evidence");
    assert_eq!(finding["level"], "warning");
    assert!(
        finding["message"]
            .as_str()
            .unwrap()
            .starts_with("release evidence not checked: there is no GitHub token")
    );
    s.repo.write(
        ".git-policy.yml",
        &format!("{POLICY_V1}audit: {{ evidence: require }}\n"),
    );
    s.repo.git(&["add", "."]);
    s.repo.commit("EPL-10 Require evidence");
    let out = json_audit(&s, None).output().unwrap();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(1), "{v}");
    assert_eq!(v["findings"][0]["level"], "error");
    s.repo.write(
        ".git-policy.yml",
        &format!("{POLICY_V1}audit: {{ evidence: off }}\n"),
    );
    s.repo.git(&["add", "."]);
    s.repo.commit("EPL-11 No evidence");
    let out = s
        .repo
        .cmd()
        .args(["--format", "json", "audit", "v1.0.0..HEAD"])
        .output()
        .unwrap();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(0), "{v}");
    assert!(v["release"].get("evidence").is_none(), "{v}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_direct_push_by_release_tooling_is_exempt_only_when_signed() {
    let s = scenario();
    let direct = s.commits[1].0.clone();
    let mut node = commit_node(&direct, None);
    node["author"] = json!({ "user": { "login": "release-bot[bot]" } });
    for (signed, verdict) in [(false, "pushed_directly"), (true, "exempt")] {
        let server = serve(&s).await;
        node["signature"] = json!({ "isValid": signed });
        let mut nodes = HashMap::new();
        for (sha, pull) in &s.commits {
            nodes.insert(sha.clone(), commit_node(sha, pull.as_ref()));
        }
        nodes.insert(direct.clone(), node.clone());
        Mock::given(method("POST"))
            .and(path("/graphql"))
            .respond_with(graphql(nodes))
            .with_priority(1)
            .mount(&server)
            .await;
        let cache = tempfile::tempdir().unwrap();
        let policy = tempfile::tempdir().unwrap();
        let file = policy.path().join("p.yml");
        std::fs::write(
            &file,
            format!("{POLICY_V1}audit: {{ exempt_accounts: ['release-bot[bot]'] }}\n"),
        )
        .unwrap();
        let cmd = audit_with(&s, &server, cache.path(), Some(&file));
        let (_, v, stderr) = run(cmd).await;
        assert_eq!(verdicts(&v)[1].1, verdict, "signed: {signed}\n{stderr}");
        assert_eq!(verdicts(&v)[1].0, Value::Null);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_direct_push_is_waived_by_its_commit_and_only_so() {
    let s = scenario();
    let direct = s.commits[1].0.clone();
    let server = serve(&s).await;
    let cache = tempfile::tempdir().unwrap();
    let policy = tempfile::tempdir().unwrap();
    let file = policy.path().join("p.yml");
    let waiver = |subject: &str| {
        format!(
            "{POLICY_V1}waivers:\n  - {{ {subject}, rules: [release-evidence], reason: 'outage hotfix, EPL-912 follows up', granted_by: rte }}\n"
        )
    };
    std::fs::write(&file, waiver(&format!("commit: {direct}"))).unwrap();
    let audit = |file: &std::path::Path| audit_with(&s, &server, cache.path(), Some(file));
    let (_, v, stderr) = run(audit(&file)).await;
    let about_direct = |waived: bool| -> Vec<Value> {
        v["findings"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["rule"] == "release-evidence" && f["commit"] == direct.as_str())
            .filter(|f| f.get("waived").is_some() == waived)
            .cloned()
            .collect()
    };
    assert!(about_direct(false).is_empty(), "{v}\n{stderr}");
    assert_eq!(about_direct(true).len(), 1, "{v}");
    assert_eq!(v["waivers"][0]["state"], "used", "{v}");
    // The change is still listed as pushed directly: a waiver excuses, it does not rewrite.
    assert_eq!(verdicts(&v)[1].1, "pushed_directly", "{v}");

    // Waiving the audit's own rule for a pull request or a ticket is a policy error.
    std::fs::write(&file, waiver("pull_request: 3")).unwrap();
    let out = audit(&file).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    // --format json: the policy error is the JSON document on stdout.
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("`release-evidence` findings are about commits"),
        "{stdout}"
    );
}
