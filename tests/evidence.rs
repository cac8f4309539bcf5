//! Release evidence (issue 15): every commit of the audited range has its
//! pull request, re-judged as it stood at merge time by the policy of its
//! base commit. GitHub is a local mock answering in the shapes of the
//! REST reference (pulls, reviews, timeline) and GraphQL's schema.

mod common;

use std::collections::HashMap;

use common::{FAKE_TOKEN, Repo};
use serde_json::{Value, json};
use wiremock::matchers::{body_string_contains, method, path};
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
/// When each pull request's commit was committed: before its label.
const COMMITTED_AT: &str = "2026-03-02T08:00:00Z";

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
            // A GitHub App merged it: GraphQL names it `renovate`, a `Bot`.
            merged_by: "renovate[bot]",
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

/// An `Actor` as GraphQL writes it: a GitHub App's bot is a `Bot` whose
/// login has no `[bot]` (REST writes `name[bot]`).
fn actor(login: &str) -> Value {
    match login.strip_suffix("[bot]") {
        Some(bot) => json!({ "__typename": "Bot", "login": bot }),
        None => json!({ "__typename": "User", "login": login }),
    }
}

/// GitHub's page size for these lists (`first: 100`).
const PAGE: usize = 100;

/// An opaque cursor after the first `offset` items.
fn cursor(offset: usize) -> String {
    format!("Y3Vyc29yOnYyOpHO{offset:08}")
}

/// One page of a connection, from `after` (a cursor of [`cursor`]), with
/// `totalCount` when `counted`.
fn page(items: &[Value], after: Option<&str>, counted: bool) -> Value {
    let start = after.map_or(0, |c| {
        c.strip_prefix("Y3Vyc29yOnYyOpHO")
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("not a cursor of this mock: {c}"))
    });
    let end = (start + PAGE).min(items.len());
    let mut v = json!({
        "pageInfo": { "hasNextPage": end < items.len(), "endCursor": if end > start { json!(cursor(end)) } else { Value::Null } },
        "nodes": items[start..end],
    });
    if counted {
        v["totalCount"] = json!(items.len());
    }
    v
}

fn review_node((who, state, at): &(&str, &str, &str), sha: &str) -> Value {
    json!({ "author": actor(who), "state": state, "submittedAt": at, "commit": { "oid": sha } })
}

fn label_node((label, who, added, at): &(&str, &str, bool, &str)) -> Value {
    json!({ "__typename": if *added { "LabeledEvent" } else { "UnlabeledEvent" },
        "actor": actor(who), "createdAt": at, "label": { "name": label } })
}

/// A pull request's reviews and timeline events, every page.
struct Lists {
    reviews: Vec<Value>,
    timeline: Vec<Value>,
    files: Vec<Value>,
    commits: Vec<Value>,
}

/// The lists of `pull`, whose head commit is `sha`.
fn lists(pull: &Pull, sha: &str) -> Lists {
    let mut reviews: Vec<Value> = pull.reviews.iter().map(|r| review_node(r, sha)).collect();
    let mut timeline: Vec<Value> = pull.labels.iter().map(label_node).collect();
    if pull.number == 1 {
        // Pagination: 99 comments and the author's own approval fill the
        // first page; the approval that counts is on the second.
        let comment = review_node(&("reviewer", "COMMENTED", BEFORE), sha);
        let mut first = vec![comment; PAGE - 2];
        first.extend(reviews.drain(..2));
        reviews.splice(0..0, first);
    }
    if pull.number == 8 {
        // Pagination: 100 label events (`wip` on and off) before `expedited`.
        let wip: Vec<Value> = (0..PAGE)
            .map(|i| label_node(&("wip", "dev", i % 2 == 0, BEFORE)))
            .collect();
        timeline.splice(0..0, wip);
    }
    // One commit (its head) changing one file.
    let files =
        vec![json!({ "path": format!("src/change{}.rs", pull.number), "changeType": "ADDED" })];
    let commits = vec![
        json!({ "commit": { "oid": sha, "message": pull.title, "parents": { "totalCount": 1 }, "committedDate": COMMITTED_AT,
        "author": { "name": "Dev", "email": "dev@example.com", "user": { "login": "dev" } } } }),
    ];
    Lists {
        reviews,
        timeline,
        files,
        commits,
    }
}

/// GraphQL's `PullRequest` with the fields git-policy asks for, and the
/// first page of its files, commits, reviews and timeline.
fn pull_node(pull: &Pull, merge: &str, head: &str, parent: &str, lists: &Lists) -> Value {
    json!({
        "number": pull.number, "title": pull.title, "body": "Made for the release.",
        "author": actor("dev"), "baseRefName": "main", "headRefName": format!("feature/EPL-{}", pull.number),
        "baseRefOid": parent, "headRefOid": head, "milestone": null,
        "mergedAt": MERGED_AT, "mergedBy": actor(pull.merged_by), "mergeCommit": { "oid": merge },
        "changedFiles": lists.files.len(),
        "files": page(&lists.files, None, true),
        "commits": page(&lists.commits, None, true),
        "reviews": page(&lists.reviews, None, true),
        "timelineItems": page(&lists.timeline, None, false),
    })
}

/// GraphQL's answer for one commit.
fn commit_node(sha: &str, head: &str, pull: Option<&Pull>) -> Value {
    let nodes: Vec<Value> = pull
        .map(|p| {
            json!({ "number": p.number, "mergedAt": MERGED_AT, "baseRefName": "main",
                "headRefOid": head, "mergeCommit": { "oid": sha } })
        })
        .into_iter()
        .collect();
    json!({ "oid": sha, "author": { "user": { "login": "dev" } }, "signature": null,
        "associatedPullRequests": { "totalCount": nodes.len(), "nodes": nodes } })
}

/// What the GraphQL mock knows: commits by sha, pull requests by number.
#[derive(Clone, Default)]
struct Graph {
    commits: HashMap<String, Value>,
    pulls: HashMap<u64, (Value, std::sync::Arc<Lists>)>,
}

/// Answers GraphQL queries from `graph`, alias by alias (`c0: object(oid:
/// …)`, `p3: pullRequest(number: 3)`); a query with an `after` variable
/// asks for the next page of one pull request's reviews or timeline.
fn graphql(graph: Graph) -> impl Fn(&Request) -> ResponseTemplate {
    move |request: &Request| {
        let body: Value = serde_json::from_slice(&request.body).unwrap();
        let query = body["query"].as_str().unwrap();
        let variables = &body["variables"];
        if let Some(after) = variables["after"].as_str() {
            let number = variables["number"].as_u64().unwrap();
            let lists = &graph.pulls[&number].1;
            let (field, connection) = if query.contains("reviews(first: 100, after: $after)") {
                ("reviews", page(&lists.reviews, Some(after), true))
            } else if query.contains("files(first: 100, after: $after)") {
                ("files", page(&lists.files, Some(after), true))
            } else if query.contains("commits(first: 100, after: $after)") {
                ("commits", page(&lists.commits, Some(after), true))
            } else {
                assert!(query.contains("timelineItems(first: 100, after: $after, itemTypes: [LABELED_EVENT, UNLABELED_EVENT,"), "{query}");
                ("timelineItems", page(&lists.timeline, Some(after), false))
            };
            return ResponseTemplate::new(200).set_body_json(
                json!({ "data": { "repository": { "pullRequest": { field: connection } } } }),
            );
        }
        let mut repository = serde_json::Map::new();
        for line in query.lines() {
            let line = line.trim();
            if let Some((alias, rest)) = line.split_once(": object(oid: \"") {
                let sha = &rest[..40];
                repository.insert(
                    alias.to_owned(),
                    graph.commits.get(sha).cloned().unwrap_or(Value::Null),
                );
            } else if let Some((alias, rest)) = line.split_once(": pullRequest(number: ") {
                let number: u64 = rest.split(')').next().unwrap().parse().unwrap();
                let mut node = graph
                    .pulls
                    .get(&number)
                    .map_or(Value::Null, |p| p.0.clone());
                // GitHub sends only the timeline items asked for.
                if !query.contains("HEAD_REF_FORCE_PUSHED_EVENT")
                    && let Some(items) = node["timelineItems"]["nodes"].as_array_mut()
                {
                    items.retain(|i| i["__typename"] != "HeadRefForcePushedEvent");
                }
                repository.insert(alias.to_owned(), node);
            }
        }
        ResponseTemplate::new(200).set_body_json(json!({ "data": { "repository": repository } }))
    }
}

/// The mock's knowledge of the scenario.
fn graph(s: &Scenario) -> Graph {
    graph_with(s, true)
}

/// The head commit of pull request `n` merged as `merge`: `merge` itself
/// when the clone has the heads, else one only GitHub has (a squash merge
/// whose branch is gone).
fn head_of(n: u64, merge: &str, local_heads: bool) -> String {
    if local_heads {
        merge.to_owned()
    } else {
        format!("{n:040x}")
    }
}

fn graph_with(s: &Scenario, local_heads: bool) -> Graph {
    let mut graph = Graph::default();
    let mut parent = s.repo.git(&["rev-parse", "v1.0.0"]);
    for (sha, pull) in &s.commits {
        let head = pull
            .as_ref()
            .map_or(sha.clone(), |p| head_of(p.number, sha, local_heads));
        graph
            .commits
            .insert(sha.clone(), commit_node(sha, &head, pull.as_ref()));
        if let Some(pull) = pull {
            let lists = lists(pull, &head);
            let node = pull_node(pull, sha, &head, &parent, &lists);
            graph
                .pulls
                .insert(pull.number, (node, std::sync::Arc::new(lists)));
        }
        parent = sha.clone();
    }
    graph
}

async fn serve(s: &Scenario) -> MockServer {
    serve_graph(graph(s)).await
}

async fn serve_graph(graph: Graph) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/graphql"))
        .respond_with(graphql(graph))
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
    // GraphQL's `Bot` `renovate` is REST's `renovate[bot]`, as policies name it.
    assert_eq!(v["release"]["changes"][4]["merged_by"], "renovate[bot]");
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
    // Batched: one query for the commits, one for the seven pull requests,
    // and the second page of #1's reviews and of #8's timeline. No REST.
    let sent: Vec<String> = server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .map(|r| format!("{} {}", r.method, r.url.path()))
        .collect();
    assert_eq!(sent, ["POST /graphql"; 4], "{sent:?}");
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
    let asked: Vec<String> = third
        .received_requests()
        .await
        .unwrap()
        .iter()
        .map(|r| String::from_utf8_lossy(&r.body).into_owned())
        .collect();
    let read = |n: u64| {
        asked
            .iter()
            .any(|q| q.contains(&format!("p{n}: pullRequest(number: {n})")))
    };
    assert!(read(3) && read(4), "{asked:?}");
    assert!(!read(1), "{asked:?}");
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
    // The query that reads pull request #4 (with the others) fails.
    Mock::given(method("POST"))
        .and(path("/graphql"))
        .and(body_string_contains("p4: pullRequest(number: 4)"))
        .respond_with(ResponseTemplate::new(502))
        .with_priority(1)
        .mount(&server)
        .await;
    let cache = tempfile::tempdir().unwrap();
    let (code, v, stderr) = run(audit(&s, &server, cache.path())).await;
    assert_eq!(code, 2, "{stderr}");
    assert_eq!(
        v["error"]["message"],
        "GitHub failed the GraphQL query (POST /graphql) (502) (after 3 attempts)"
    );
    let tries = server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter(|r| String::from_utf8_lossy(&r.body).contains("p4: pullRequest(number: 4)"))
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
async fn a_direct_push_is_exempt_only_by_the_exempt_accounts_own_signature() {
    // Release tooling as a machine user whose own key signs its commits.
    // The account GitHub attributes a commit to comes from the author
    // e-mail anyone can type: only a valid signature whose signer is that
    // account, and not GitHub's web-flow signature (which an API caller
    // gets with an `author` of their choosing), proves it.
    let s = scenario();
    let direct = s.commits[1].0.clone();
    let mut node = commit_node(&direct, &direct, None);
    node["author"] = json!({ "user": { "login": "release-bot" } });
    let signature = |valid: bool, by_github: bool, signer: Option<&str>| {
        json!({ "isValid": valid, "wasSignedByGitHub": by_github,
            "signer": signer.map(|l| json!({ "login": l })) })
    };
    for (signature, verdict, case) in [
        (Value::Null, "pushed_directly", "unsigned"),
        (
            signature(false, false, Some("release-bot")),
            "pushed_directly",
            "an invalid signature",
        ),
        (
            signature(true, false, Some("Release-Bot")),
            "exempt",
            "its own signature",
        ),
        (
            signature(true, false, Some("mallory")),
            "pushed_directly",
            "someone else's valid signature",
        ),
        (
            signature(true, false, None),
            "pushed_directly",
            "a signer GitHub does not know",
        ),
        (
            signature(true, true, Some("web-flow")),
            "pushed_directly",
            "GitHub's web-flow signature",
        ),
        (
            signature(true, true, Some("release-bot")),
            "pushed_directly",
            "web-flow naming the account",
        ),
    ] {
        node["signature"] = signature;
        let mut graph = graph(&s);
        graph.commits.insert(direct.clone(), node.clone());
        let server = serve_graph(graph).await;
        let cache = tempfile::tempdir().unwrap();
        let policy = tempfile::tempdir().unwrap();
        let file = policy.path().join("p.yml");
        std::fs::write(
            &file,
            format!("{POLICY_V1}audit: {{ exempt_accounts: ['release-bot'] }}\n"),
        )
        .unwrap();
        let cmd = audit_with(&s, &server, cache.path(), Some(&file));
        let (_, v, stderr) = run(cmd).await;
        assert_eq!(verdicts(&v)[1].1, verdict, "{case}\n{stderr}");
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

#[tokio::test(flavor = "multi_thread")]
async fn a_list_github_cuts_short_is_never_a_pass() {
    let s = scenario();
    let cache = tempfile::tempdir().unwrap();
    // (what is broken in #1's answer, what the audit says)
    let broken: [(&str, Value, &str); 3] = [
        (
            "/reviews/pageInfo/endCursor",
            Value::Null,
            "has another page but gives no cursor to it",
        ),
        (
            "/reviews/totalCount",
            json!(102),
            "GitHub counts 102 reviews of pull request octo/app#1 but listed 101",
        ),
        (
            "/timelineItems/nodes/0",
            json!({ "__typename": "ClosedEvent", "createdAt": BEFORE }),
            "an event of a kind not asked for (ClosedEvent)",
        ),
    ];
    for (at, value, says) in broken {
        let mut graph = graph(&s);
        let node = &mut graph.pulls.get_mut(&1).unwrap().0;
        if at.starts_with("/timelineItems/nodes") {
            node["timelineItems"]["nodes"] = json!([value]);
        } else {
            *node.pointer_mut(at).unwrap() = value;
        }
        let server = serve_graph(graph).await;
        let (code, v, stderr) = run(audit(&s, &server, cache.path())).await;
        assert_eq!(code, 2, "{at}: {stderr}\n{v}");
        let message = v["error"]["message"].as_str().unwrap_or_default();
        assert!(message.contains(says), "{at}: {message}");
        assert!(v["passed"].is_null() && v.get("release").is_none(), "{v}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn graphql_s_own_rate_limit_answer_is_waited_for_or_stops_the_audit() {
    // GraphQL's primary rate limit: HTTP 200, an error of type RATE_LIMITED,
    // and the reset time in the headers.
    let s = scenario();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let limited = |reset: u64| {
        ResponseTemplate::new(200)
            .insert_header("x-ratelimit-remaining", "0")
            .insert_header("x-ratelimit-reset", reset.to_string().as_str())
            .set_body_json(
                json!({ "errors": [{ "type": "RATE_LIMITED", "code": "graphql_rate_limit",
                "message": "API rate limit already exceeded for user ID 1." }] }),
            )
    };
    for (reset, code) in [(now + 1, 1), (now + 3600, 2)] {
        let server = serve(&s).await;
        Mock::given(method("POST"))
            .and(path("/graphql"))
            .and(body_string_contains("pullRequest(number: "))
            .respond_with(limited(reset))
            .up_to_n_times(1)
            .with_priority(1)
            .mount(&server)
            .await;
        let cache = tempfile::tempdir().unwrap();
        let mut cmd = audit(&s, &server, cache.path());
        cmd.env("GIT_POLICY_LONGEST_WAIT", "5");
        let (got, v, stderr) = run(cmd).await;
        assert_eq!(got, code, "reset in {} s: {stderr}\n{v}", reset - now);
        if code == 1 {
            assert_eq!(verdicts(&v).len(), 8, "waited, asked again, judged: {v}");
        } else {
            assert!(v["passed"].is_null(), "{v}");
            assert!(
                v["error"]["message"]
                    .as_str()
                    .unwrap()
                    .contains("rate limit is used up"),
                "{v}"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn without_the_heads_in_the_clone_files_and_commits_come_from_the_same_queries() {
    // Squash merges whose branches are gone: the clone has no head commit,
    // so each pull request's files and commits come from GitHub.
    let s = scenario();
    let cache = tempfile::tempdir().unwrap();
    let server = serve_graph(graph_with(&s, false)).await;
    let (code, v, stderr) = run(audit(&s, &server, cache.path())).await;
    assert_eq!(code, 1, "{stderr}\n{v}");
    let local = serve(&s).await;
    let (_, expected, _) = run(audit(&s, &local, tempfile::tempdir().unwrap().path())).await;
    assert_eq!(verdicts(&v), verdicts(&expected));
    assert_eq!(evidence_messages(&v), evidence_messages(&expected));
    let sent: Vec<String> = server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .map(|r| format!("{} {}", r.method, r.url.path()))
        .collect();
    assert_eq!(sent, ["POST /graphql"; 4], "no REST list: {sent:?}");

    // A renamed file: GraphQL does not name its previous path, REST does;
    // that pull request's files and commits are read through REST.
    let mut graph = graph_with(&s, false);
    let node = &mut graph.pulls.get_mut(&3).unwrap().0;
    node["files"]["nodes"][0]["changeType"] = json!("RENAMED");
    let server = serve_graph(graph).await;
    let head = format!("{:040x}", 3);
    Mock::given(method("GET"))
        .and(path("/repos/octo/app/pulls/3/files"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([{
            "sha": head, "filename": "src/change3.rs", "status": "renamed", "additions": 0, "deletions": 0,
            "changes": 0, "previous_filename": "src/old3.rs" }])))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/repos/octo/app/pulls/3/commits"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([{
            "sha": head, "node_id": "C_kwDOAJy2KtoAKDNk", "commit": { "message": "EPL-3 Admin merge",
                "author": { "name": "Dev", "email": "dev@example.com", "date": BEFORE } },
            "parents": [{ "sha": "0".repeat(40) }], "author": user_json("dev") }])))
        .mount(&server)
        .await;
    let cache = tempfile::tempdir().unwrap();
    let (_, v, stderr) = run(audit(&s, &server, cache.path())).await;
    assert_eq!(verdicts(&v), verdicts(&expected), "{stderr}");
    let mut rest: Vec<String> = server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter(|r| r.method.as_str() == "GET")
        .map(|r| r.url.path().to_owned())
        .collect();
    rest.sort();
    assert_eq!(
        rest,
        [
            "/repos/octo/app/pulls/3/commits",
            "/repos/octo/app/pulls/3/files"
        ],
        "{rest:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_commit_without_a_github_user_costs_rest_only_when_a_rule_matches_accounts() {
    // GraphQL names no account for a commit whose author is no GitHub user
    // — or is a bot, which REST names. Only a rule on accounts needs to know.
    let s = scenario();
    let mut graph = graph_with(&s, false);
    let node = &mut graph.pulls.get_mut(&4).unwrap().0;
    node["commits"]["nodes"][0]["commit"]["author"]["user"] = Value::Null;
    let head = format!("{:040x}", 4);
    // Its signature, asked when the account is to be proved: none.
    graph
        .commits
        .insert(head.clone(), json!({ "oid": head, "signature": null }));
    let server = serve_graph(graph).await;
    Mock::given(method("GET"))
        .and(path("/repos/octo/app/pulls/4/files"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([{
            "sha": head, "filename": "src/change4.rs", "status": "added", "additions": 1, "deletions": 0,
            "changes": 1, "previous_filename": null }])))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/repos/octo/app/pulls/4/commits"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([{
            "sha": head, "node_id": "C_kwDOAJy2KtoAKDNk", "commit": { "message": "EPL-4 Approved too late",
                "author": { "name": "Dev", "email": "dev@example.com", "date": BEFORE } },
            "parents": [{ "sha": "0".repeat(40) }], "author": user_json("renovate[bot]") }])))
        .mount(&server)
        .await;
    let rest = || async {
        let mut paths: Vec<String> = server
            .received_requests()
            .await
            .unwrap()
            .iter()
            .filter(|r| r.method.as_str() == "GET")
            .map(|r| r.url.path().to_owned())
            .collect();
        paths.sort();
        paths
    };
    let cache = tempfile::tempdir().unwrap();
    let (code, _, stderr) = run(audit(&s, &server, cache.path())).await;
    assert_eq!(code, 1, "{stderr}");
    assert!(rest().await.is_empty(), "{:?}", rest().await);

    let policy = tempfile::tempdir().unwrap();
    let file = policy.path().join("p.yml");
    std::fs::write(
        &file,
        format!(
            "{POLICY_V1}  - id: commit-ticket\n    on: [commit]\n    unless: {{ authors: ['renovate[bot]'] }}\n    require: {{ ticket: {{ in: [message] }} }}\n"
        ),
    )
    .unwrap();
    let cache = tempfile::tempdir().unwrap();
    let (code, v, stderr) = run(audit_with(&s, &server, cache.path(), Some(&file))).await;
    assert_eq!(code, 1, "{stderr}\n{v}");
    assert_eq!(
        rest().await,
        [
            "/repos/octo/app/pulls/4/commits",
            "/repos/octo/app/pulls/4/files"
        ]
    );
}

fn user_json(login: &str) -> Value {
    json!({ "login": login, "id": 1, "node_id": "MDQ6VXNlcjE=", "type": "User", "site_admin": false })
}

/// A description edited after the merge is not the one the gate judged, and
/// GitHub's API keeps no earlier text: it counts as empty (today's text may
/// have been written to pass). Edited before the merge, it is the text judged.
#[tokio::test(flavor = "multi_thread")]
async fn a_description_edited_after_the_merge_counts_as_empty() {
    let s = small_scenario(
        "version: 1\ntickets:\n  jira: { pattern: '\\bEPL-[0-9]+\\b' }\nrules:\n  - id: testing-notes\n    on: [pull_request]\n    require:\n      sections: [Testing]\n",
        &[
            (11, "EPL-11 Edited before the merge"),
            (12, "EPL-12 Edited after it"),
        ],
    );
    let mut graph = graph(&s);
    for (number, edited) in [(11, BEFORE), (12, AFTER)] {
        let node = &mut graph.pulls.get_mut(&number).unwrap().0;
        node["body"] = json!("## Testing\n\nRan the whole suite against staging.\n");
        node["lastEditedAt"] = json!(edited);
    }
    let (code, v, stderr) = audit_against(&s, graph).await;
    assert_eq!(code, 1, "{stderr}\n{v}");
    assert_eq!(
        verdicts(&v),
        [
            (json!(11), "passed".to_owned()),
            (json!(12), "failed".to_owned())
        ]
    );
    let messages = evidence_messages(&v);
    assert_eq!(messages.len(), 1, "{messages:#?}");
    assert!(
        messages[0].starts_with("pull request #12 (EPL-12 Edited after it) was merged while `testing-notes` failed: ")
            && messages[0].contains(&format!("(its description was edited after the merge, at {AFTER}: the text the gate judged cannot be read, so it counts as empty)")),
        "{messages:#?}"
    );
    // Never edited: the description is the one judged.
    let mut graph = graph_with_testing_notes(&s);
    for number in [11, 12] {
        graph.pulls.get_mut(&number).unwrap().0["lastEditedAt"] = Value::Null;
    }
    let (code, v, stderr) = audit_against(&s, graph).await;
    assert_eq!(code, 0, "{stderr}\n{v}");
    assert_eq!(
        verdicts(&v),
        [
            (json!(11), "passed".to_owned()),
            (json!(12), "passed".to_owned())
        ]
    );
}

/// The scenario's graph, each description holding a `Testing` section.
fn graph_with_testing_notes(s: &Scenario) -> Graph {
    let mut graph = graph(s);
    for (node, _) in graph.pulls.values_mut() {
        node["body"] = json!("## Testing\n\nRan the whole suite against staging.\n");
    }
    graph
}

/// The milestone a pull request had when it merged is replayed from its
/// timeline's `milestoned` / `demilestoned` events, as its labels are: one
/// set after the merge does not count, one cleared after it still does.
#[tokio::test(flavor = "multi_thread")]
async fn the_milestone_is_the_one_it_had_at_merge() {
    // (number, title, milestone now, its timeline's milestone events)
    type Case = (u64, &'static str, Value, Vec<(&'static str, &'static str)>);
    let cases: [Case; 3] = [
        (
            21,
            "EPL-21 Planned before the merge",
            json!({ "title": "Sprint 1" }),
            vec![("MilestonedEvent", BEFORE)],
        ),
        (
            22,
            "EPL-22 Planned after it",
            json!({ "title": "Sprint 1" }),
            vec![("MilestonedEvent", AFTER)],
        ),
        (
            23,
            "EPL-23 Unplanned after it",
            Value::Null,
            vec![("MilestonedEvent", BEFORE), ("DemilestonedEvent", AFTER)],
        ),
    ];
    let pulls: Vec<(u64, &'static str)> = cases.iter().map(|c| (c.0, c.1)).collect();
    let s = small_scenario(
        "version: 1\nrules:\n  - id: planned\n    on: [pull_request]\n    require:\n      milestone: true\n",
        &pulls,
    );
    let mut graph = graph(&s);
    for (number, _, milestone, events) in &cases {
        let events: Vec<Value> = events
            .iter()
            .map(|(kind, at)| json!({ "__typename": kind, "createdAt": at, "milestoneTitle": "Sprint 1" }))
            .collect();
        let node = &mut graph.pulls.get_mut(number).unwrap().0;
        node["milestone"] = milestone.clone();
        node["timelineItems"] = page(&events, None, false);
    }
    let (code, v, stderr) = audit_against(&s, graph).await;
    assert_eq!(code, 1, "{stderr}\n{v}");
    assert_eq!(
        verdicts(&v),
        [
            (json!(21), "passed".to_owned()),
            (json!(22), "failed".to_owned()),
            (json!(23), "passed".to_owned())
        ]
    );
    let messages = evidence_messages(&v);
    assert_eq!(messages.len(), 1, "{messages:#?}");
    assert!(
        messages[0].starts_with(
            "pull request #22 (EPL-22 Planned after it) was merged while `planned` failed: "
        ),
        "{messages:#?}"
    );
}

/// A repository with `policy`, tag `v1.0.0`, then one squash-merged pull
/// request per `(number, title)`, none reviewed or labelled.
fn small_scenario(policy: &str, pulls: &[(u64, &'static str)]) -> Scenario {
    let repo = Repo::new("main");
    repo.write(".git-policy.yml", policy);
    repo.git(&["add", "."]);
    repo.commit("EPL-0 initial policy");
    repo.git(&["tag", "v1.0.0"]);
    let mut commits = Vec::new();
    for &(number, title) in pulls {
        let sha = repo.commit(title);
        commits.push((
            sha,
            Some(Pull {
                number,
                title,
                reviews: vec![],
                labels: vec![],
                merged_by: "dev",
            }),
        ));
    }
    Scenario { repo, commits }
}

/// Serves `graph` and audits `s` against it, with a cache of its own.
async fn audit_against(s: &Scenario, graph: Graph) -> (i32, Value, String) {
    let server = serve_graph(graph).await;
    let cache = tempfile::tempdir().unwrap();
    run(audit(s, &server, cache.path())).await
}

/// One rule, one verdict (issue 24 §2): `ticket: { in: [message, branch] }`
/// passes the hook, the pre-push check and `check pr` when the branch names
/// the ticket, and the audit, which did not know a commit's branch, failed
/// the same commits. It now judges them on the head branch of the pull
/// request the evidence proves brought them; without evidence, "not judged".
#[tokio::test(flavor = "multi_thread")]
async fn the_audit_reads_a_commits_branch_from_its_pull_request() {
    const POLICY: &str = r#"version: 1
tickets:
  jira: { pattern: '\bEPL-[0-9]+\b' }
rules:
  - id: pr-ticket
    on: [pull_request]
    require: { ticket: { in: [title, branch] } }
  - id: commit-ticket
    on: [commit]
    require: { ticket: { in: [message, branch] } }
"#;
    let s = small_scenario(
        POLICY,
        &[(31, "Log in with SSO"), (32, "Log out everywhere")],
    );
    let (code, v, stderr) = audit_against(&s, graph(&s)).await;
    assert_eq!(code, 0, "{stderr}\n{v}");
    assert!(
        !v["findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["rule"] == "commit-ticket"),
        "{v}"
    );
    // Without the evidence, the branch is not known: a notice per commit,
    // never the message alone's verdict.
    s.repo.write(
        ".git-policy.yml",
        &format!("{POLICY}audit: {{ evidence: off }}\n"),
    );
    let policy = s.repo.path().join(".git-policy.yml");
    let (code, v, stderr) = run(json_audit(&s, Some(&policy))).await;
    assert_eq!(code, 0, "{stderr}\n{v}");
    let notices: Vec<&Value> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["rule"] == "commit-ticket")
        .collect();
    assert_eq!(notices.len(), 2, "{v}");
    assert!(
        notices.iter().all(|f| f["level"] == "notice"
            && f["message"]
                .as_str()
                .unwrap()
                .starts_with("not judged: the commit's branch is not known here")),
        "{v}"
    );
}

/// Issue 21 in the evidence: a merged pull request is re-judged with who
/// wrote its commits and when its code arrived. An approval by a bot or by
/// an author (or committer) of its commits is no review; the expedited
/// label covers only code that was there when it was applied, and is no
/// grant when a granter wrote the code.
#[tokio::test(flavor = "multi_thread")]
async fn evidence_counts_independent_reviews_and_grants_for_the_code_merged() {
    let s = small_scenario(
        POLICY_V1,
        &[
            (21, "EPL-21 Expedited, code before the label"),
            (22, "EPL-22 Commit after the label"),
            (23, "EPL-23 Force-pushed after the label"),
            (24, "EPL-24 Approved by its committer"),
            (25, "EPL-25 Approved by a bot"),
            (26, "EPL-26 Labelled by its author"),
        ],
    );
    let mut graph = graph(&s);
    let label = |who: &str| label_node(&("expedited", who, true, BEFORE));
    let later = "2026-03-02T09:30:00Z";
    for number in [21, 22, 23, 26] {
        let node = &mut graph.pulls.get_mut(&number).unwrap().0;
        node["timelineItems"]["nodes"] = json!([label("rte-lead")]);
    }
    fn commit(graph: &mut Graph, number: u64) -> &mut Value {
        &mut graph.pulls.get_mut(&number).unwrap().0["commits"]["nodes"][0]["commit"]
    }
    commit(&mut graph, 22)["committedDate"] = json!(later);
    graph.pulls.get_mut(&23).unwrap().0["timelineItems"]["nodes"]
        .as_array_mut()
        .unwrap()
        .push(json!({ "__typename": "HeadRefForcePushedEvent", "createdAt": later }));
    commit(&mut graph, 24)["committer"] = json!({ "user": { "login": "reviewer" } });
    commit(&mut graph, 26)["author"]["user"] = json!({ "login": "rte-lead" });
    for (number, reviewer) in [(24, "reviewer"), (25, "github-actions[bot]")] {
        let head = graph.pulls[&number].0["headRefOid"]
            .as_str()
            .unwrap()
            .to_owned();
        let reviews = vec![review_node(&(reviewer, "APPROVED", BEFORE), &head)];
        graph.pulls.get_mut(&number).unwrap().0["reviews"] = page(&reviews, None, true);
    }
    let (code, v, stderr) = audit_against(&s, graph).await;
    assert_eq!(code, 1, "{stderr}\n{v}");
    assert_eq!(
        verdicts(&v),
        [
            (json!(21), "expedited".to_owned()),
            (json!(22), "failed".to_owned()),
            (json!(23), "failed".to_owned()),
            (json!(24), "failed".to_owned()),
            (json!(25), "failed".to_owned()),
            (json!(26), "failed".to_owned()),
        ],
        "{v}"
    );
}

/// GitHub's times have one-second resolution: an approval, a label or a
/// description edit in the merge's own second is not proved to precede the
/// merge, so it does not count for it (and such an edit counts as after).
#[tokio::test(flavor = "multi_thread")]
async fn what_happened_in_the_merges_own_second_does_not_count_for_it() {
    const SAME_SECOND: &str = MERGED_AT;
    const SECOND_BEFORE: &str = "2026-03-02T09:59:59Z";
    let mut s = small_scenario(
        POLICY_V1,
        &[
            (31, "EPL-31 Approved the second before"),
            (32, "EPL-32 Approved in the merge's second"),
            (33, "EPL-33 Labelled trivial in the merge's second"),
        ],
    );
    let mut pulls = s.commits.iter_mut().filter_map(|(_, p)| p.as_mut());
    pulls.next().unwrap().reviews = vec![("reviewer", "APPROVED", SECOND_BEFORE)];
    pulls.next().unwrap().reviews = vec![("reviewer", "APPROVED", SAME_SECOND)];
    pulls.next().unwrap().labels = vec![("trivial", "reviewer", true, SAME_SECOND)];
    let (code, v, stderr) = audit_against(&s, graph(&s)).await;
    assert_eq!(code, 1, "{stderr}\n{v}");
    assert_eq!(
        verdicts(&v),
        [
            (json!(31), "passed".to_owned()),
            (json!(32), "failed".to_owned()),
            (json!(33), "failed".to_owned())
        ]
    );
    // A description edited in the merge's second counts as edited after it.
    let s = small_scenario(
        "version: 1\nrules:\n  - id: testing-notes\n    on: [pull_request]\n    require:\n      sections: [Testing]\n",
        &[(34, "EPL-34 Edited in the merge's second")],
    );
    let mut graph = graph_with_testing_notes(&s);
    graph.pulls.get_mut(&34).unwrap().0["lastEditedAt"] = json!(SAME_SECOND);
    let (code, v, stderr) = audit_against(&s, graph).await;
    assert_eq!(code, 1, "{stderr}\n{v}");
    assert_eq!(verdicts(&v), [(json!(34), "failed".to_owned())]);
}

/// The policy of record is the one the merge landed on (its first parent),
/// not GitHub's `baseRefOid`, which does not move with the base branch: a
/// pull request opened while a rule was lifted, and merged after the rule
/// came back, is judged by the rule. Where the two differ, the stricter stands.
#[tokio::test(flavor = "multi_thread")]
async fn a_pull_request_opened_while_a_rule_was_lifted_is_judged_by_the_restored_rule() {
    let repo = Repo::new("main");
    repo.write(".git-policy.yml", POLICY_V1);
    repo.git(&["add", "."]);
    repo.commit("EPL-0 initial policy");
    repo.git(&["tag", "v1.0.0"]);
    let approved = |number, title| Pull {
        number,
        title,
        reviews: vec![("reviewer", "APPROVED", BEFORE)],
        labels: vec![],
        merged_by: "dev",
    };
    repo.write(".git-policy.yml", "version: 1\nrules: []\n");
    repo.git(&["add", "."]);
    let lifted = repo.commit("EPL-40 Lift peer review for a day");
    repo.write(".git-policy.yml", POLICY_V1);
    repo.git(&["add", "."]);
    let restored = repo.commit("EPL-41 Restore peer review");
    let late = repo.commit("EPL-42 Opened while it was lifted");
    let mut unreviewed = approved(42, "EPL-42 Opened while it was lifted");
    unreviewed.reviews.clear();
    let s = Scenario {
        repo,
        commits: vec![
            (
                lifted.clone(),
                Some(approved(40, "EPL-40 Lift peer review for a day")),
            ),
            (restored, Some(approved(41, "EPL-41 Restore peer review"))),
            (late, Some(unreviewed)),
        ],
    };
    let mut graph = graph(&s);
    graph.pulls.get_mut(&42).unwrap().0["baseRefOid"] = json!(lifted);
    let (code, v, stderr) = audit_against(&s, graph).await;
    assert_eq!(code, 1, "{stderr}\n{v}");
    assert_eq!(
        verdicts(&v),
        [
            (json!(40), "passed".to_owned()),
            (json!(41), "passed".to_owned()),
            (json!(42), "failed".to_owned())
        ]
    );
    let changes = v["release"]["changes"].as_array().unwrap();
    let decided = changes.iter().find(|c| c["pull_request"] == 42).unwrap();
    assert_ne!(decided["policy_commit"], json!(lifted), "{decided}");
}

/// A commit is credited to a merged pull request only when that pull
/// request brought it (its merge commit, one of its commits, or a rebase
/// of them), not because GitHub associates the two: a commit pushed
/// straight to the branch, which GitHub also lists under a pull request
/// merged later, is a direct push.
#[tokio::test(flavor = "multi_thread")]
async fn a_commit_github_merely_associates_with_a_pull_request_is_a_direct_push() {
    let mut s = small_scenario(
        POLICY_V1,
        &[
            (51, "EPL-51 Pushed straight to main"),
            (52, "EPL-52 Reviewed and squash-merged"),
        ],
    );
    for (_, pull) in &mut s.commits {
        pull.as_mut().unwrap().reviews = vec![("reviewer", "APPROVED", BEFORE)];
    }
    let (direct, merge) = (s.commits[0].0.clone(), s.commits[1].0.clone());
    let mut graph = graph(&s);
    // GitHub lists the direct push under pull request 52, merged as `merge`.
    let merge_pull = Pull {
        number: 52,
        title: "EPL-52 Reviewed and squash-merged",
        reviews: vec![],
        labels: vec![],
        merged_by: "dev",
    };
    graph.pulls.remove(&51);
    graph.commits.insert(
        direct.clone(),
        commit_node(&merge, &merge, Some(&merge_pull)),
    );
    graph.commits.get_mut(&direct).unwrap()["oid"] = json!(direct);
    let (code, v, stderr) = audit_against(&s, graph).await;
    assert_eq!(code, 1, "{stderr}\n{v}");
    assert_eq!(
        verdicts(&v),
        [
            (Value::Null, "pushed_directly".to_owned()),
            (json!(52), "passed".to_owned())
        ],
        "{v}"
    );
}

/// A rebase merge lands new commits made of the pull request's own (same
/// subjects and authors, other ids): each is credited to it.
#[tokio::test(flavor = "multi_thread")]
async fn the_commits_of_a_rebase_merge_are_the_pull_requests() {
    let mut s = small_scenario(POLICY_V1, &[(61, "EPL-61 First of two")]);
    let first = s.commits[0].0.clone();
    let second = s.repo.commit("EPL-61 Second of two");
    let pull = Pull {
        number: 61,
        title: "EPL-61 Two commits, rebased",
        reviews: vec![("reviewer", "APPROVED", BEFORE)],
        labels: vec![],
        merged_by: "dev",
    };
    s.commits = vec![(first.clone(), None), (second.clone(), None)];
    let mut graph = graph(&s);
    // The branch's own commits, which the clone does not have.
    let original = |n: u64, subject: &str| {
        // GitHub's `committedDate` is never null (GitTimestamp!).
        json!({ "commit": { "oid": format!("{n:040x}"), "message": subject, "parents": { "totalCount": 1 },
            "committedDate": COMMITTED_AT,
            "author": { "name": "Ada Lovelace", "email": "ada@example.com", "user": { "login": "dev" } } } })
    };
    let lists = Lists {
        reviews: pull
            .reviews
            .iter()
            .map(|r| review_node(r, &format!("{:040x}", 612)))
            .collect(),
        timeline: vec![],
        files: vec![json!({ "path": "src/two.rs", "changeType": "ADDED" })],
        commits: vec![
            original(611, "EPL-61 First of two"),
            original(612, "EPL-61 Second of two"),
        ],
    };
    let parent = s.repo.git(&["rev-parse", "v1.0.0"]);
    let node = pull_node(&pull, &second, &format!("{:040x}", 612), &parent, &lists);
    graph.pulls.insert(61, (node, std::sync::Arc::new(lists)));
    for sha in [&first, &second] {
        let mut answer = commit_node(&second, &format!("{:040x}", 612), Some(&pull));
        answer["oid"] = json!(sha);
        graph.commits.insert(sha.clone(), answer);
    }
    let (code, v, stderr) = audit_against(&s, graph).await;
    assert_eq!(code, 0, "{stderr}\n{v}");
    assert_eq!(verdicts(&v), [(json!(61), "passed".to_owned())], "{v}");
}

/// A grant covers only code pushed before it: a commit whose commit date
/// GitHub's answer leaves out is not dated "" (which would order it
/// somewhere), it stops the audit.
#[tokio::test(flavor = "multi_thread")]
async fn a_commit_without_its_date_stops_the_audit() {
    let s = small_scenario(POLICY_V1, &[(41, "EPL-41 Expedited, commit undated")]);
    let mut graph = graph(&s);
    let node = &mut graph.pulls.get_mut(&41).unwrap().0;
    node["timelineItems"]["nodes"] = json!([label_node(&("expedited", "rte-lead", true, BEFORE))]);
    node["commits"]["nodes"][0]["commit"]
        .as_object_mut()
        .unwrap()
        .remove("committedDate");
    let (code, v, stderr) = audit_against(&s, graph).await;
    assert_eq!(code, 2, "{stderr}\n{v}");
    let said = format!("{stderr}{v}");
    assert!(said.contains("has no `committedDate`"), "{said}");
}
