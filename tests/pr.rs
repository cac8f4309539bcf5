//! `check pr` against a local GitHub (wiremock) serving responses shaped like
//! the real API, and event payloads shaped like Actions'. No network.

mod common;

use common::github::{BASE, HEAD, commit, file, mount, mount_list, output_of, pr_json, review};

use std::path::Path;

use serde_json::{Value, json};
use wiremock::matchers::{method, path, query_param, query_param_is_missing};
use wiremock::{Mock, MockServer, ResponseTemplate};

const TOKEN: &str = "ghp_s3cretT0kenThatMustNeverBePrinted0000";
const OLD: &str = "3333333333333333333333333333333333333333";

const POLICY: &str = r#"version: 1
tickets: { jira: { pattern: '\bEPL-[0-9]+\b' } }
teams:
  platform-engineering: { members: [asherman, agaete] }
  rte: { github: octo/release-train }
paths:
  iac: ['*.tf']
kinds:
  bug: { labels: [bug] }
rules:
  - id: draft-until-ready
    description: Pull requests stay in draft until ready (P10).
    on: [pull_request]
    require: { ready: true }
  - id: pr-ticket
    on: [pull_request]
    require: { ticket: { in: [title, body, branch] } }
  - id: bug-steps
    on: [pull_request]
    when: { kind: bug }
    require: { sections: [{ heading: 'Steps to reproduce', min_words: 4 }] }
  - id: iac-approval
    on: [pull_request]
    when: { changed: [iac] }
    require: { approval: { teams: [platform-engineering], fresh: head } }
  - id: rte-review
    on: [pull_request]
    when: { labels: [needs-rte] }
    require: { approval: { teams: [rte] } }
"#;

struct Pr {
    server: MockServer,
    dir: tempfile::TempDir,
}

impl Pr {
    /// A server answering for octo/app#42 with this pull request, reviews, files and commits.
    async fn new(mut pr: Value, reviews: Vec<Value>, files: Vec<Value>, commits: Vec<Value>) -> Pr {
        let server = MockServer::start().await;
        // GitHub declares how many files and commits the lists hold.
        pr["changed_files"] = json!(files.len());
        pr["commits"] = json!(commits.len());
        mount(&server, "/repos/octo/app/pulls/42", pr).await;
        mount_list(&server, "/repos/octo/app/pulls/42/reviews", reviews).await;
        mount_list(&server, "/repos/octo/app/pulls/42/files", files).await;
        mount_list(&server, "/repos/octo/app/pulls/42/commits", commits).await;
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("policy.yml"), POLICY).unwrap();
        Pr { server, dir }
    }

    fn cmd(&self, args: &[&str]) -> common::Cmd {
        let mut cmd = common::git_policy(self.dir.path());
        cmd.env("GITHUB_API_URL", self.server.uri())
            .env("GITHUB_TOKEN", TOKEN)
            .env("GIT_POLICY_RETRY_DELAY", "0.01")
            .env_remove("GITHUB_REPOSITORY")
            .env_remove("GITHUB_EVENT_NAME")
            .env_remove("GITHUB_STEP_SUMMARY")
            .env_remove("GITHUB_OUTPUT")
            .args(["--policy", "policy.yml"])
            .args(args);
        cmd
    }

    /// Runs `check pr --repo octo/app --number 42` (plus `args`) off the async runtime.
    async fn run(&self, args: &[&str]) -> std::process::Output {
        let mut cmd = self.cmd(&["check", "pr", "--repo", "octo/app", "--number", "42"]);
        cmd.args(args);
        output_of(cmd).await
    }
}

/// `--format json check pr --repo octo/app --number 42` in `dir`, with the
/// policy the repository (or the contents API) holds: no `--policy`.
async fn run_with_repository_policy(dir: &Path, server: &MockServer) -> std::process::Output {
    let mut cmd = common::git_policy(dir);
    cmd.env("GITHUB_API_URL", server.uri())
        .env("GITHUB_TOKEN", TOKEN)
        .args([
            "--format", "json", "check", "pr", "--repo", "octo/app", "--number", "42",
        ]);
    output_of(cmd).await
}

fn stdout(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn json_of(output: &std::process::Output) -> Value {
    serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", stdout(output)))
}

fn rules_failed(v: &Value) -> Vec<String> {
    v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["level"] == "error")
        .map(|f| f["rule"].as_str().unwrap().to_owned())
        .collect()
}

// ---- scenarios ----

#[tokio::test(flavor = "multi_thread")]
async fn a_ready_pull_request_with_a_ticket_passes() {
    let pr = Pr::new(
        pr_json(42, "EPL-1 Retry the login", None, false, &[]),
        vec![],
        vec![file("src/login.rs")],
        vec![commit(HEAD, "EPL-1 retry")],
    )
    .await;
    let out = pr.run(&["--format", "json"]).await;
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        stdout(&out),
        stderr(&out)
    );
    let v = json_of(&out);
    assert_eq!(
        v["subject"],
        json!({ "kind": "pull_request", "ref": "octo/app#42" })
    );
    assert_eq!(v["passed"], true);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_draft_fails_and_says_what_else_is_missing() {
    let mut draft = pr_json(42, "Retry the login", None, true, &[]);
    draft["head"]["ref"] = json!("retry-login");
    let pr = Pr::new(draft, vec![], vec![file("src/login.rs")], vec![]).await;
    let out = pr.run(&["--format", "json"]).await;
    assert_eq!(out.status.code(), Some(1));
    let v = json_of(&out);
    let draft = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["rule"] == "draft-until-ready")
        .unwrap();
    assert_eq!(
        draft["message"],
        "the pull request is a draft; also missing before it can merge: pr-ticket (pull request #42 names no ticket in the title, body or branch name)"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_bug_fix_needs_real_reproduction_steps() {
    let template = "## Steps to reproduce\n<!-- list the steps -->\n\n## Notes\nEPL-9";
    let pr = Pr::new(
        pr_json(42, "EPL-9 Fix the crash", Some(template), false, &["bug"]),
        vec![],
        vec![file("src/a.rs")],
        vec![],
    )
    .await;
    let out = pr.run(&["--format", "json"]).await;
    assert_eq!(rules_failed(&json_of(&out)), ["bug-steps"]);
    let filled = "## Steps to reproduce\n1. open the app offline\n2. press login twice\n";
    let pr = Pr::new(
        pr_json(42, "EPL-9 Fix the crash", Some(filled), false, &["bug"]),
        vec![],
        vec![file("src/a.rs")],
        vec![],
    )
    .await;
    assert_eq!(pr.run(&[]).await.status.code(), Some(0));
}

async fn terraform(reviews: Vec<Value>) -> (i32, Vec<String>, Value) {
    let pr = Pr::new(
        pr_json(42, "EPL-3 Widen the VPC", None, false, &[]),
        reviews,
        vec![file("infra/vpc.tf")],
        vec![],
    )
    .await;
    let out = pr.run(&["--format", "json"]).await;
    let v = json_of(&out);
    (out.status.code().unwrap(), rules_failed(&v), v)
}

#[tokio::test(flavor = "multi_thread")]
async fn terraform_changes_need_a_fresh_platform_engineering_approval() {
    let (code, failed, _) = terraform(vec![review("agaete", "APPROVED", HEAD)]).await;
    assert_eq!(
        (code, failed.len()),
        (0, 0),
        "approved by a member on the head commit"
    );
    let (code, failed, v) = terraform(vec![review("octocat", "APPROVED", HEAD)]).await;
    assert_eq!(
        (code, failed),
        (1, vec!["iac-approval".to_owned()]),
        "approved by a non-member"
    );
    assert_eq!(
        v["findings"][0]["help"],
        "request a review from agaete, asherman"
    );
    let (code, _, _) = terraform(vec![review("dev", "APPROVED", HEAD)]).await;
    assert_eq!(code, 1, "the author's own approval never counts");
    let (code, _, v) = terraform(vec![review("agaete", "APPROVED", OLD)]).await;
    assert_eq!(code, 1, "approved an older commit");
    assert!(
        v["findings"][0]["message"]
            .as_str()
            .unwrap()
            .contains("approved an older commit: agaete")
    );
    let (code, _, v) = terraform(vec![
        review("agaete", "APPROVED", HEAD),
        review("asherman", "CHANGES_REQUESTED", HEAD),
    ])
    .await;
    assert_eq!(code, 1, "changes requested by a member block");
    assert_eq!(
        v["findings"][0]["message"],
        "changes requested by asherman (team platform-engineering)"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_team_is_read_through_the_api_over_three_pages() {
    let pr = Pr::new(
        pr_json(42, "EPL-4 Hotfix", None, false, &["needs-rte"]),
        vec![review("member-250", "APPROVED", HEAD)],
        vec![file("a.rs")],
        vec![],
    )
    .await;
    let members: Vec<Value> = (1..=250)
        .map(|i| json!({ "login": format!("member-{i}"), "id": i, "type": "User" }))
        .collect();
    mount_list(
        &pr.server,
        "/orgs/octo/teams/release-train/members",
        members,
    )
    .await;
    let out = pr.run(&["--format", "json"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    let requests = pr.server.received_requests().await.unwrap();
    let team_pages = requests
        .iter()
        .filter(|r| r.url.path() == "/orgs/octo/teams/release-train/members")
        .count();
    assert_eq!(team_pages, 3);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_team_the_token_cannot_read_fails_closed_only_when_needed() {
    let pr = Pr::new(
        pr_json(42, "EPL-4 Hotfix", None, false, &["needs-rte"]),
        vec![review("someone", "APPROVED", HEAD)],
        vec![file("a.rs")],
        vec![],
    )
    .await;
    Mock::given(method("GET"))
        .and(path("/orgs/octo/teams/release-train/members"))
        .respond_with(
            ResponseTemplate::new(403)
                .set_body_json(json!({ "message": "Resource not accessible by integration" })),
        )
        .mount(&pr.server)
        .await;
    let out = pr.run(&[]).await;
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.contains("cannot read the members of team `rte` (octo/release-train)"),
        "{err}"
    );
    assert!(
        err.contains("list the team's `members` in the policy"),
        "{err}"
    );
    // Without the label, the rte rule does not apply: the unreadable team is not needed.
    let other = Pr::new(
        pr_json(42, "EPL-4 Hotfix", None, false, &[]),
        vec![],
        vec![file("a.rs")],
        vec![],
    )
    .await;
    Mock::given(method("GET"))
        .and(path("/orgs/octo/teams/release-train/members"))
        .respond_with(ResponseTemplate::new(403))
        .mount(&other.server)
        .await;
    assert_eq!(other.run(&[]).await.status.code(), Some(0));
}

#[tokio::test(flavor = "multi_thread")]
async fn two_hundred_fifty_files_over_three_pages() {
    let mut files: Vec<Value> = (0..249).map(|i| file(&format!("src/file{i}.rs"))).collect();
    files.push(file("infra/late.tf"));
    let pr = Pr::new(
        pr_json(42, "EPL-5 Big change", None, false, &[]),
        vec![],
        files,
        vec![],
    )
    .await;
    let out = pr.run(&["--format", "json"]).await;
    // Only the last page holds the terraform file: all three pages were read.
    assert_eq!(rules_failed(&json_of(&out)), ["iac-approval"]);
    assert!(
        json_of(&out)["findings"][0]["message"]
            .as_str()
            .unwrap()
            .contains("infra/late.tf")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn github_format_writes_annotations_summary_and_outputs() {
    let pr = Pr::new(
        pr_json(42, "Widen the VPC", None, false, &[]),
        vec![],
        vec![file("infra/vpc.tf")],
        vec![],
    )
    .await;
    let summary = pr.dir.path().join("summary.md");
    let outputs = pr.dir.path().join("outputs.txt");
    let mut cmd = pr.cmd(&["check", "pr", "--repo", "octo/app", "--number", "42"]);
    cmd.env("GITHUB_ACTIONS", "true")
        .env("GITHUB_STEP_SUMMARY", &summary)
        .env("GITHUB_OUTPUT", &outputs);
    let out = output_of(cmd).await;
    assert_eq!(out.status.code(), Some(1));
    let text = stdout(&out);
    assert!(
        text.contains("::error title=git-policy%3A iac-approval,file=infra/vpc.tf::"),
        "a finding about a changed file annotates that file, not the policy: {text}"
    );
    assert!(!text.contains("file=policy.yml"), "{text}");
    let summary = std::fs::read_to_string(summary).unwrap();
    assert!(
        summary.contains("| `draft-until-ready` | ✅ passed |"),
        "{summary}"
    );
    assert!(
        summary.contains("| `iac-approval` | ❌ error |"),
        "{summary}"
    );
    assert!(
        summary.contains("| `bug-steps` | ➖ not applicable |"),
        "{summary}"
    );
    // A rule without a description says what it requires.
    assert!(
        summary.contains("| `pr-ticket` | ✅ passed | `ticket`: "),
        "{summary}"
    );
    let outputs = std::fs::read_to_string(outputs).unwrap();
    assert!(
        outputs.starts_with("passed=false\nerrors=1\nwarnings=0\nfindings<<git_policy_"),
        "{outputs}"
    );
    assert!(outputs.contains("\"rule\":\"iac-approval\""), "{outputs}");
}

// ---- policy from the base commit ----

#[tokio::test(flavor = "multi_thread")]
async fn a_pull_request_that_deletes_a_rule_is_judged_by_the_base_policy() {
    let repo = common::Repo::new("main");
    repo.write(".git-policy.yml", POLICY);
    repo.git(&["add", "."]);
    repo.git(&["commit", "-q", "-m", "EPL-1 policy"]);
    let base = repo.git(&["rev-parse", "HEAD"]);
    repo.git(&["checkout", "-q", "-b", "feature/EPL-2-relax"]);
    let relaxed = POLICY.replace("  - id: pr-ticket\n    on: [pull_request]\n    require: { ticket: { in: [title, body, branch] } }\n", "");
    repo.write(".git-policy.yml", &relaxed);
    repo.write("infra/x.txt", "x");
    repo.git(&["add", "."]);
    repo.git(&["commit", "-q", "-m", "drop the ticket rule"]);
    let head = repo.git(&["rev-parse", "HEAD"]);
    let server = MockServer::start().await;
    let mut pr = pr_json(42, "Drop the ticket rule", None, false, &[]);
    pr["head"]["ref"] = json!("relax");
    pr["head"]["sha"] = json!(head);
    pr["base"]["sha"] = json!(base);
    mount(&server, "/repos/octo/app/pulls/42", pr).await;
    mount_list(&server, "/repos/octo/app/pulls/42/reviews", vec![]).await;
    let out = run_with_repository_policy(repo.path(), &server).await;
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let v = json_of(&out);
    assert_eq!(
        rules_failed(&v),
        ["pr-ticket"],
        "the deleted rule still applies to the PR that deletes it"
    );
    let notice = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["rule"] == "proposed-policy")
        .unwrap();
    assert_eq!(notice["level"], "notice");
    assert_eq!(
        notice["message"],
        "this pull request changes the policy; under the proposed policy it would pass"
    );
    // Files and commits came from git: no API request for them.
    let requests = server.received_requests().await.unwrap();
    assert!(
        requests.iter().all(|r| !r.url.path().ends_with("/files")),
        "changed files read from git"
    );
}

/// A waiver of pull request 42 from `pr-ticket`.
const WAIVER_42: &str = "waivers:\n  - pull_request: 42\n    rules: [pr-ticket]\n    reason: 'a spike; EPL-9 tracks the real work'\n    granted_by: asherman\n";

/// A repository whose base commit holds `base_policy` and whose head holds
/// `head_policy`, with pull request 42 (no ticket anywhere) between them.
async fn ticketless_pr(base_policy: &str, head_policy: &str) -> (common::Repo, MockServer) {
    let repo = common::Repo::new("main");
    repo.write(".git-policy.yml", base_policy);
    repo.git(&["add", "."]);
    repo.git(&["commit", "-q", "-m", "EPL-1 policy"]);
    let base = repo.git(&["rev-parse", "HEAD"]);
    repo.git(&["checkout", "-q", "-b", "spike"]);
    repo.write(".git-policy.yml", head_policy);
    repo.write("src/x.txt", "x");
    repo.git(&["add", "."]);
    repo.git(&["commit", "-q", "-m", "a spike"]);
    let head = repo.git(&["rev-parse", "HEAD"]);
    let server = MockServer::start().await;
    let mut pr = pr_json(42, "A spike", None, false, &[]);
    pr["head"]["ref"] = json!("spike");
    pr["head"]["sha"] = json!(head);
    pr["base"]["sha"] = json!(base);
    mount(&server, "/repos/octo/app/pulls/42", pr).await;
    mount_list(&server, "/repos/octo/app/pulls/42/reviews", vec![]).await;
    (repo, server)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_waiver_the_pull_request_adds_to_its_own_head_waives_nothing() {
    let (repo, server) = ticketless_pr(POLICY, &format!("{POLICY}{WAIVER_42}")).await;
    let out = run_with_repository_policy(repo.path(), &server).await;
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let v = json_of(&out);
    assert_eq!(rules_failed(&v), ["pr-ticket"]);
    assert!(
        v["findings"]
            .as_array()
            .unwrap()
            .iter()
            .all(|f| f.get("waived").is_none()),
        "{v:#}"
    );
    assert!(v.get("waivers").is_none(), "the base policy has no waiver");
    let notice = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["rule"] == "proposed-policy")
        .unwrap();
    assert_eq!(
        notice["message"],
        "this pull request changes the policy; under the proposed policy it would pass (1 finding waived by the proposed policy's waivers, which take effect only once merged)"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_waiver_in_the_base_policy_waives_the_pull_request() {
    let policy = format!("{POLICY}{WAIVER_42}");
    let (repo, server) = ticketless_pr(&policy, &policy).await;
    let summary = repo.path().join("summary.md");
    let mut cmd = common::git_policy(repo.path());
    cmd.env("GITHUB_API_URL", server.uri())
        .env("GITHUB_TOKEN", TOKEN)
        .env("GITHUB_STEP_SUMMARY", &summary)
        .args([
            "--format", "github", "check", "pr", "--repo", "octo/app", "--number", "42",
        ]);
    let out = output_of(cmd).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        // About the description: on no file, like the finding it waives
        // (issue 14.4: not on the policy file).
        text.contains("::notice title=git-policy%3A pr-ticket (waived)::"),
        "{text}"
    );
    assert!(
        text.contains(
            "waived for pull request #42 by asherman: a spike; EPL-9 tracks the real work"
        ),
        "{text}"
    );
    assert!(
        text.contains("git-policy passed: 0 errors, 0 warnings, 0 notices, 1 waived"),
        "{text}"
    );
    let summary = std::fs::read_to_string(summary).unwrap();
    assert!(summary.contains("| `pr-ticket` | 🔕 waived |"), "{summary}");
    assert!(summary.contains("### Waived findings (1)"), "{summary}");
    // The same run in JSON: the finding is listed, with its waiver, and not counted.
    let out = run_with_repository_policy(repo.path(), &server).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let v = json_of(&out);
    assert_eq!(v["passed"], true);
    assert_eq!(v["counts"]["error"], 0);
    let waived: Vec<&Value> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f.get("waived").is_some())
        .collect();
    assert_eq!(waived.len(), 1, "{v:#}");
    assert_eq!(waived[0]["rule"], "pr-ticket");
    assert_eq!(waived[0]["level"], "error");
    assert_eq!(waived[0]["waived"]["pull_request"], 42);
    assert_eq!(waived[0]["waived"]["granted_by"], "asherman");
    assert_eq!(v["waivers"][0]["state"], "used");
    assert_eq!(v["waivers"][0]["findings"], 1);
}

// ---- faults ----

async fn fault(response: ResponseTemplate) -> std::process::Output {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/repos/octo/app/pulls/42"))
        .respond_with(response)
        .mount(&server)
        .await;
    mount_list(&server, "/repos/octo/app/pulls/42/reviews", vec![]).await;
    let pr = Pr {
        server,
        dir: tempfile::tempdir().unwrap(),
    };
    std::fs::write(pr.dir.path().join("policy.yml"), POLICY).unwrap();
    let mut out = None;
    for format in ["human", "json", "github"] {
        let o = pr.run(&["--format", format]).await;
        assert_eq!(
            o.status.code(),
            Some(2),
            "{format}: {}{}",
            stdout(&o),
            stderr(&o)
        );
        out = Some(o);
    }
    let human = pr.run(&[]).await;
    assert!(!stderr(&human).contains("panicked"));
    let _ = out;
    human
}

#[tokio::test(flavor = "multi_thread")]
async fn a_server_error_is_retried_and_a_later_success_counts() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/repos/octo/app/pulls/42"))
        .respond_with(ResponseTemplate::new(500))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    mount(
        &server,
        "/repos/octo/app/pulls/42",
        pr_json(42, "EPL-1 ok", None, false, &[]),
    )
    .await;
    mount_list(&server, "/repos/octo/app/pulls/42/reviews", vec![]).await;
    mount_list(
        &server,
        "/repos/octo/app/pulls/42/files",
        vec![file("a.rs")],
    )
    .await;
    mount_list(
        &server,
        "/repos/octo/app/pulls/42/commits",
        vec![commit(HEAD, "EPL-1 ok")],
    )
    .await;
    let pr = Pr {
        server,
        dir: tempfile::tempdir().unwrap(),
    };
    std::fs::write(pr.dir.path().join("policy.yml"), POLICY).unwrap();
    let out = pr.run(&[]).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_persistent_bad_gateway_is_not_a_pass() {
    let out = fault(ResponseTemplate::new(502)).await;
    assert!(
        stderr(&out)
            .contains("GitHub failed GET /repos/octo/app/pulls/42 (502) (after 3 attempts)"),
        "{}",
        stderr(&out)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_rejected_token_is_explained() {
    let out =
        fault(ResponseTemplate::new(401).set_body_json(json!({ "message": "Bad credentials" })))
            .await;
    assert!(
        stderr(&out).contains("GitHub rejected the token (401: Bad credentials)"),
        "{}",
        stderr(&out)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_exhausted_rate_limit_says_when_it_resets() {
    let response = ResponseTemplate::new(403)
        .insert_header("x-ratelimit-remaining", "0")
        .insert_header("x-ratelimit-reset", "4102444800")
        .set_body_json(json!({ "message": "API rate limit exceeded" }));
    let out = fault(response).await;
    assert!(stderr(&out).contains("rate limit is used up (403) for GET /repos/octo/app/pulls/42; it resets at 00:00:00 UTC"), "{}", stderr(&out));
}

#[tokio::test(flavor = "multi_thread")]
async fn throttling_is_retried_then_reported() {
    let out = fault(ResponseTemplate::new(429).insert_header("retry-after", "0")).await;
    assert!(stderr(&out).contains("GitHub is throttling requests (429) for GET /repos/octo/app/pulls/42 (after 3 attempts)"), "{}", stderr(&out));
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unknown_pull_request_is_a_clear_404() {
    let out =
        fault(ResponseTemplate::new(404).set_body_json(json!({ "message": "Not Found" }))).await;
    assert!(
        stderr(&out)
            .contains("GitHub found nothing at GET /repos/octo/app/pulls/42 (404: Not Found)"),
        "{}",
        stderr(&out)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn malformed_json_is_not_a_pass() {
    let out = fault(
        ResponseTemplate::new(200).set_body_raw("{\"number\": 42, \"title\": ", "application/json"),
    )
    .await;
    assert!(
        stderr(&out).contains("with invalid JSON"),
        "{}",
        stderr(&out)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_slow_answer_times_out() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/repos/octo/app/pulls/42"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(pr_json(42, "EPL-1", None, false, &[]))
                .set_delay(std::time::Duration::from_secs(3)),
        )
        .mount(&server)
        .await;
    mount_list(&server, "/repos/octo/app/pulls/42/reviews", vec![]).await;
    let pr = Pr {
        server,
        dir: tempfile::tempdir().unwrap(),
    };
    std::fs::write(pr.dir.path().join("policy.yml"), POLICY).unwrap();
    let mut cmd = pr.cmd(&["check", "pr", "--repo", "octo/app", "--number", "42"]);
    cmd.env("GIT_POLICY_HTTP_TIMEOUT", "0.2");
    let out = output_of(cmd).await;
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("GitHub did not answer GET /repos/octo/app/pulls/42 within 0.2 s"),
        "{}",
        stderr(&out)
    );
}

// ---- events ----

fn event_cmd(dir: &Path, event: &Path, name: Option<&str>) -> common::Cmd {
    let mut cmd = common::git_policy(dir);
    cmd.env("GITHUB_API_URL", "http://127.0.0.1:9")
        .env("GITHUB_TOKEN", TOKEN)
        .arg("check")
        .arg("pr")
        .arg("--event")
        .arg(event);
    match name {
        Some(n) => cmd.env("GITHUB_EVENT_NAME", n),
        None => cmd.env_remove("GITHUB_EVENT_NAME"),
    };
    cmd
}

#[test]
fn event_files_that_cannot_name_a_pull_request_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing.json");
    event_cmd(dir.path(), &missing, None)
        .assert()
        .code(2)
        .stderr(predicates::str::contains("cannot read the event file"));
    let push = dir.path().join("push.json");
    std::fs::write(
        &push,
        r#"{"ref":"refs/heads/main","repository":{"full_name":"octo/app"}}"#,
    )
    .unwrap();
    event_cmd(dir.path(), &push, Some("push"))
        .assert()
        .code(2)
        .stderr(predicates::str::contains("this run is a `push` event"));
    let issue = dir.path().join("issue.json");
    std::fs::write(
        &issue,
        r#"{"action":"opened","issue":{"number":1},"repository":{"full_name":"octo/app"}}"#,
    )
    .unwrap();
    event_cmd(dir.path(), &issue, None)
        .assert()
        .code(2)
        .stderr(predicates::str::contains("has no `pull_request`"));
    // A merge group that names no pull request is not a pass.
    let queue = dir.path().join("merge_group.json");
    std::fs::write(
        &queue,
        r#"{"action":"checks_requested","merge_group":{"head_sha":"abc"}}"#,
    )
    .unwrap();
    event_cmd(dir.path(), &queue, Some("merge_group"))
        .assert()
        .code(2)
        .stderr(predicates::str::contains("merge_group.head_ref"));
    // Without GITHUB_EVENT_NAME a `merge_group` key makes nothing a merge group.
    event_cmd(dir.path(), &queue, None)
        .assert()
        .code(2)
        .stderr(predicates::str::contains("has no `pull_request`"));
}

// ---- merge queue ----

const QUEUE_HEAD: &str = "4444444444444444444444444444444444444444";
const NEW_BASE: &str = "5555555555555555555555555555555555555555";

/// A `merge_group` event as GitHub sends it (`checks_requested`).
fn merge_group_event(head_ref: &str, base_ref: &str, base_sha: &str) -> Value {
    json!({
        "action": "checks_requested",
        "merge_group": {
            "head_sha": QUEUE_HEAD,
            "head_ref": head_ref,
            "base_sha": base_sha,
            "base_ref": base_ref,
            "head_commit": { "id": QUEUE_HEAD, "tree_id": QUEUE_HEAD, "message": "Merge pull request #42 from octo/feature/EPL-1-vpc", "timestamp": "2026-12-07T10:00:00Z",
                             "author": { "name": "GitHub", "email": "noreply@github.com" }, "committer": { "name": "GitHub", "email": "noreply@github.com" } }
        },
        "repository": { "full_name": "octo/app" },
        "sender": { "login": "dev", "type": "User" }
    })
}

fn queue_ref(number: u64) -> String {
    format!("refs/heads/gh-readonly-queue/main/pr-{number}-{NEW_BASE}")
}

/// `check pr` on a merge_group event file, with the given policy flags.
async fn run_merge_group(pr: &Pr, event: &Value, with_policy: bool) -> std::process::Output {
    let file = pr.dir.path().join("merge_group.json");
    std::fs::write(&file, event.to_string()).unwrap();
    let mut cmd = common::git_policy(pr.dir.path());
    cmd.env("GITHUB_API_URL", pr.server.uri())
        .env("GITHUB_TOKEN", TOKEN)
        .env("GIT_POLICY_RETRY_DELAY", "0.01")
        .env("GITHUB_EVENT_NAME", "merge_group")
        .env_remove("GITHUB_REPOSITORY")
        .env_remove("GITHUB_STEP_SUMMARY")
        .env_remove("GITHUB_OUTPUT");
    if with_policy {
        cmd.args(["--policy", "policy.yml"]);
    }
    cmd.args(["--format", "json", "check", "pr", "--event"])
        .arg(&file);
    output_of(cmd).await
}

/// It used to pass with "checked before they were queued": the queued pull
/// request is judged like on a pull_request event.
#[tokio::test(flavor = "multi_thread")]
async fn a_merge_group_judges_the_pull_request_it_queues() {
    let mut branchless = pr_json(42, "Widen the VPC", None, false, &[]);
    branchless["head"]["ref"] = json!("vpc");
    let pr = Pr::new(
        branchless,
        vec![],
        vec![file("a.rs")],
        vec![commit(HEAD, "no ticket")],
    )
    .await;
    let out = run_merge_group(
        &pr,
        &merge_group_event(&queue_ref(42), "refs/heads/main", NEW_BASE),
        true,
    )
    .await;
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}{}",
        stdout(&out),
        stderr(&out)
    );
    let v = json_of(&out);
    assert_eq!(v["subject"]["ref"], "octo/app#42");
    assert_eq!(rules_failed(&v), ["pr-ticket"], "{v}");
    // And one that meets the policy passes.
    let good = Pr::new(
        pr_json(42, "EPL-1 Widen the VPC", None, false, &[]),
        vec![],
        vec![file("a.rs")],
        vec![commit(HEAD, "EPL-1 widen")],
    )
    .await;
    let out = run_merge_group(
        &good,
        &merge_group_event(&queue_ref(42), "refs/heads/main", NEW_BASE),
        true,
    )
    .await;
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        stdout(&out),
        stderr(&out)
    );
    assert!(
        stderr(&out).contains("merge group: pull request #42"),
        "{}",
        stderr(&out)
    );
}

/// The merge lands on the group's base: the policy there decides, not the
/// one at the pull request's older `base.sha`.
#[tokio::test(flavor = "multi_thread")]
async fn a_merge_group_is_judged_by_the_policy_of_its_new_base() {
    use base64::Engine;
    let mut branchless = pr_json(42, "Widen the VPC", None, false, &[]);
    branchless["head"]["ref"] = json!("vpc");
    let pr = Pr::new(
        branchless,
        vec![],
        vec![file("a.rs")],
        vec![commit(HEAD, "no ticket")],
    )
    .await;
    let lax = "version: 1\nrules:\n  - id: draft-until-ready\n    on: [pull_request]\n    require: { ready: true }\n";
    for (sha, text) in [(BASE, lax), (HEAD, lax), (NEW_BASE, POLICY)] {
        let content = base64::engine::general_purpose::STANDARD.encode(text);
        Mock::given(method("GET"))
            .and(path("/repos/octo/app/contents/.git-policy.yml"))
            .and(query_param("ref", sha))
            .respond_with(ResponseTemplate::new(200).set_body_json(
                json!({ "type": "file", "encoding": "base64", "name": ".git-policy.yml",
                "path": ".git-policy.yml", "content": content }),
            ))
            .mount(&pr.server)
            .await;
    }
    let out = run_merge_group(
        &pr,
        &merge_group_event(&queue_ref(42), "refs/heads/main", NEW_BASE),
        false,
    )
    .await;
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}{}",
        stdout(&out),
        stderr(&out)
    );
    let v = json_of(&out);
    assert_eq!(rules_failed(&v), ["pr-ticket"], "{v}");
    assert_eq!(
        v["findings"][0]["policy"]["file"],
        ".git-policy.yml@5555555555"
    );
}

/// A queue branch that names no pull request, or a pull request that
/// targets another branch than the group: could not judge.
#[tokio::test(flavor = "multi_thread")]
async fn a_merge_group_that_names_no_pull_request_of_its_base_exits_2() {
    let pr = Pr::new(
        pr_json(42, "EPL-1 Widen the VPC", None, false, &[]),
        vec![],
        vec![file("a.rs")],
        vec![commit(HEAD, "EPL-1 widen")],
    )
    .await;
    for (head_ref, base_ref, base_sha, says) in [
        (
            "refs/heads/main".to_owned(),
            "refs/heads/main",
            NEW_BASE,
            "is not a merge queue branch",
        ),
        (
            "refs/heads/gh-readonly-queue/main/pr-42".to_owned(),
            "refs/heads/main",
            NEW_BASE,
            "is not a merge queue branch",
        ),
        (
            queue_ref(42),
            "refs/heads/main",
            "5555",
            "is not a commit id",
        ),
        (
            queue_ref(42).replace("/main/", "/develop/"),
            "refs/heads/main",
            NEW_BASE,
            "names the base `develop`",
        ),
    ] {
        let out =
            run_merge_group(&pr, &merge_group_event(&head_ref, base_ref, base_sha), true).await;
        assert_eq!(
            out.status.code(),
            Some(2),
            "{head_ref}: {}{}",
            stdout(&out),
            stderr(&out)
        );
        // --format json: the reason is the JSON document's.
        assert!(stdout(&out).contains(says), "{head_ref}: {}", stdout(&out));
    }
    // The queue of `develop` naming #42, which GitHub says targets `main`.
    let develop = queue_ref(42).replace("/main/", "/develop/");
    let out = run_merge_group(
        &pr,
        &merge_group_event(&develop, "refs/heads/develop", NEW_BASE),
        true,
    )
    .await;
    assert_eq!(
        out.status.code(),
        Some(2),
        "{}{}",
        stdout(&out),
        stderr(&out)
    );
    assert!(
        stdout(&out)
            .contains("the merge group merges into `develop`, but pull request #42 targets `main`"),
        "{}",
        stdout(&out)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_pull_request_event_is_re_read_live() {
    // The payload is stale (a draft, old title); the live pull request is what counts.
    let pr = Pr::new(
        pr_json(42, "EPL-1 Retry the login", None, false, &[]),
        vec![],
        vec![file("a.rs")],
        vec![],
    )
    .await;
    let payload = json!({ "action": "synchronize", "number": 42, "pull_request": pr_json(42, "old title", None, true, &[]),
                          "repository": { "full_name": "octo/app" } });
    let event = pr.dir.path().join("event.json");
    std::fs::write(&event, payload.to_string()).unwrap();
    let mut cmd = pr.cmd(&["check", "pr", "--event"]);
    cmd.arg(&event).env("GITHUB_EVENT_NAME", "pull_request");
    let out = output_of(cmd).await;
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        stdout(&out),
        stderr(&out)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_base_policy_is_read_through_the_contents_api_without_a_clone() {
    use base64::Engine;
    let server = MockServer::start().await;
    let mut pr = pr_json(42, "Widen the VPC", None, false, &[]);
    pr["head"]["ref"] = json!("vpc");
    mount(&server, "/repos/octo/app/pulls/42", pr).await;
    mount_list(&server, "/repos/octo/app/pulls/42/reviews", vec![]).await;
    mount_list(
        &server,
        "/repos/octo/app/pulls/42/files",
        vec![file("a.rs")],
    )
    .await;
    mount_list(
        &server,
        "/repos/octo/app/pulls/42/commits",
        vec![commit(HEAD, "no ticket here")],
    )
    .await;
    let content = base64::engine::general_purpose::STANDARD.encode(POLICY);
    // As GitHub sends it: base64 in lines of 60.
    let wrapped: Vec<String> = content
        .as_bytes()
        .chunks(60)
        .map(|c| String::from_utf8(c.to_vec()).unwrap())
        .collect();
    for sha in [BASE, HEAD] {
        Mock::given(method("GET"))
            .and(path("/repos/octo/app/contents/.git-policy.yml"))
            .and(query_param("ref", sha))
            .respond_with(ResponseTemplate::new(200).set_body_json(
                json!({ "type": "file", "encoding": "base64", "name": ".git-policy.yml",
                "path": ".git-policy.yml", "content": wrapped.join("\n") }),
            ))
            .mount(&server)
            .await;
    }
    // No .github/policies/ folder at either commit: 404, which is not an error.
    let dir = tempfile::tempdir().unwrap();
    let out = run_with_repository_policy(dir.path(), &server).await;
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let v = json_of(&out);
    assert_eq!(rules_failed(&v), ["pr-ticket"], "{v}");
    assert_eq!(
        v["findings"][0]["policy"]["file"],
        ".git-policy.yml@2222222222"
    );
    assert!(
        stderr(&out).contains("read through the API"),
        "{}",
        stderr(&out)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn commit_and_branch_rules_run_on_the_pull_request_too() {
    let policy = "version: 1\ntickets: { jira: { pattern: '\\bEPL-[0-9]+\\b' } }\nrules:\n  - id: commit-ticket\n    on: [commit]\n    require: { ticket: { in: [message] } }\n  - id: branch-name\n    on: [branch]\n    require: { branch: { pattern: '^(feature|bugfix)/' } }\n";
    let mut pr_value = pr_json(42, "EPL-1 Retry", None, false, &[]);
    pr_value["head"]["ref"] = json!("wip");
    let pr = Pr::new(
        pr_value,
        vec![],
        vec![file("a.rs")],
        vec![
            commit(HEAD, "EPL-1 first"),
            commit(OLD, "second without ticket"),
        ],
    )
    .await;
    std::fs::write(pr.dir.path().join("policy.yml"), policy).unwrap();
    let v = json_of(&pr.run(&["--format", "json"]).await);
    let found: Vec<(String, Value)> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (f["rule"].as_str().unwrap().to_owned(), f["commit"].clone()))
        .collect();
    assert_eq!(
        found,
        [
            ("commit-ticket".to_owned(), json!(OLD)),
            ("branch-name".to_owned(), Value::Null)
        ]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn over_githubs_file_cap_the_api_list_is_not_trusted() {
    // 3,001 files declared: GitHub lists only 3,000, so the list cannot be complete.
    let files: Vec<Value> = (0..3000).map(|i| file(&format!("src/f{i}.rs"))).collect();
    let pr = Pr::new(
        pr_json(42, "EPL-1 Huge", None, false, &[]),
        vec![],
        files,
        vec![commit(HEAD, "EPL-1 Huge")],
    )
    .await;
    let mut declared = pr_json(42, "EPL-1 Huge", None, false, &[]);
    declared["changed_files"] = json!(3001);
    let server = MockServer::start().await;
    mount(&server, "/repos/octo/app/pulls/42", declared).await;
    mount_list(&server, "/repos/octo/app/pulls/42/reviews", vec![]).await;
    let pr = Pr { server, ..pr };
    let out = pr.run(&[]).await;
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.contains("has 3001 files; GitHub lists at most 3000, so the list would be incomplete"),
        "{err}"
    );
    assert!(err.contains("fetch-depth: 0"), "{err}");
}

// ---- facts complete or no verdict (issue 9) ----

/// A pull request whose lists all pass the policy, with `edit` applied to
/// the answer of `GET /pulls/42` after the counts are set.
async fn passing_pr(edit: impl FnOnce(&mut Value)) -> Pr {
    let pr = Pr::new(
        pr_json(42, "EPL-1 Retry", None, false, &[]),
        vec![],
        vec![file("src/a.rs")],
        vec![commit(HEAD, "EPL-1 Retry")],
    )
    .await;
    let mut value = pr_json(42, "EPL-1 Retry", None, false, &[]);
    edit(&mut value);
    let server = MockServer::start().await;
    mount(&server, "/repos/octo/app/pulls/42", value).await;
    mount_list(&server, "/repos/octo/app/pulls/42/reviews", vec![]).await;
    mount_list(
        &server,
        "/repos/octo/app/pulls/42/files",
        vec![file("src/a.rs")],
    )
    .await;
    mount_list(
        &server,
        "/repos/octo/app/pulls/42/commits",
        vec![commit(HEAD, "EPL-1 Retry")],
    )
    .await;
    Pr { server, ..pr }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_passing_baseline_of_these_cases_passes() {
    let out = passing_pr(|_| {}).await.run(&[]).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_pull_request_padded_past_250_commits_is_not_judged_from_the_api() {
    let out = passing_pr(|v| v["commits"] = json!(251))
        .await
        .run(&[])
        .await;
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.contains("has 251 commits; GitHub lists at most 250"),
        "{err}"
    );
    assert!(err.contains("fetch-depth: 0"), "{err}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_list_shorter_than_declared_is_not_a_pass() {
    for (field, what) in [("commits", "commits"), ("changed_files", "files")] {
        let out = passing_pr(|v| v[field] = json!(3)).await.run(&[]).await;
        assert_eq!(out.status.code(), Some(2), "{field}");
        let err = stderr(&out);
        assert!(
            err.contains(&format!(
                "GitHub lists 1 {what} for pull request octo/app#42, which declares 3"
            )),
            "{err}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn off_shape_answers_are_exit_2_naming_the_field() {
    type Edit = Box<dyn FnOnce(&mut Value) + Send>;
    let cases: Vec<(&str, Edit)> = vec![
        ("`draft`", Box::new(|v| v["draft"] = Value::Null)),
        ("`draft`", Box::new(|v| v["draft"] = json!("false"))),
        (
            "missing field `draft`",
            Box::new(|v| {
                v.as_object_mut().unwrap().remove("draft");
            }),
        ),
        (
            "`head.sha`",
            Box::new(|v| v["head"]["sha"] = json!("not-a-sha")),
        ),
        (
            "`head.sha`",
            Box::new(|v| v["head"]["sha"] = json!("é".repeat(20))),
        ),
        (
            "`labels[0]`: missing field `name`",
            Box::new(|v| v["labels"] = json!([{ "id": 1 }])),
        ),
    ];
    for (named, edit) in cases {
        let out = passing_pr(edit).await.run(&[]).await;
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{named}: {err}");
        assert!(err.contains("GET /repos/octo/app/pulls/42"), "{err}");
        assert!(err.contains(named), "{named}: {err}");
        assert!(!err.contains("panicked"), "{err}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn malformed_list_entries_are_exit_2_naming_the_field() {
    let cases = [
        (
            "/repos/octo/app/pulls/42/files",
            json!({ "sha": "bbcd538c8e72b8c175046e27cc8f907076331401", "status": "added" }),
            "missing field `filename`",
        ),
        (
            "/repos/octo/app/pulls/42/commits",
            json!({ "sha": HEAD, "commit": { "message": null }, "parents": [{ "sha": BASE }] }),
            "`[0].commit.message`",
        ),
        (
            "/repos/octo/app/pulls/42/commits",
            json!({ "sha": "g".repeat(40), "commit": { "message": "EPL-1 x" }, "parents": [] }),
            "`[0].sha`",
        ),
        (
            "/repos/octo/app/pulls/42/reviews",
            json!({ "user": { "login": "a" }, "state": "APPROVED", "commit_id": "🙂🙂🙂🙂🙂🙂🙂🙂🙂🙂" }),
            "`[0].commit_id`",
        ),
    ];
    for (at, entry, named) in cases {
        let server = MockServer::start().await;
        mount(
            &server,
            "/repos/octo/app/pulls/42",
            pr_json(42, "EPL-1 Retry", None, false, &[]),
        )
        .await;
        for list in ["reviews", "files", "commits"] {
            let full = format!("/repos/octo/app/pulls/42/{list}");
            let items = if full == at {
                vec![entry.clone()]
            } else if list == "files" {
                vec![file("src/a.rs")]
            } else if list == "commits" {
                vec![commit(HEAD, "EPL-1 Retry")]
            } else {
                vec![]
            };
            mount_list(&server, &full, items).await;
        }
        let pr = Pr {
            server,
            dir: tempfile::tempdir().unwrap(),
        };
        std::fs::write(pr.dir.path().join("policy.yml"), POLICY).unwrap();
        let out = pr.run(&[]).await;
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{named}: {err}");
        assert!(err.contains(&format!("GET {at}")), "{err}");
        assert!(err.contains(named), "{named}: {err}");
        assert!(!err.contains("panicked"), "{err}");
    }
}

/// A reviews list whose every page announces a next one.
#[tokio::test(flavor = "multi_thread")]
async fn an_endless_next_link_is_refused_after_the_endless_cap() {
    let pr = passing_pr(|_| {}).await;
    let server = MockServer::start().await;
    mount(
        &server,
        "/repos/octo/app/pulls/42",
        pr_json(42, "EPL-1 Retry", None, false, &[]),
    )
    .await;
    let page = |n: u32| {
        ResponseTemplate::new(200)
            .set_body_json(json!([review(&format!("r{n}"), "COMMENTED", HEAD)]))
            .insert_header("link", "<http://x/?page=2>; rel=\"next\"")
    };
    Mock::given(method("GET"))
        .and(path("/repos/octo/app/pulls/42/reviews"))
        .and(query_param_is_missing("page"))
        .respond_with(page(1))
        .mount(&server)
        .await;
    for n in 2..=120u32 {
        Mock::given(method("GET"))
            .and(path("/repos/octo/app/pulls/42/reviews"))
            .and(query_param("page", n.to_string().as_str()))
            .respond_with(page(n))
            .mount(&server)
            .await;
    }
    let pr = Pr { server, ..pr };
    let out = pr.run(&[]).await;
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("more than 100"), "{err}");
    let asked = pr.server.received_requests().await.unwrap().len();
    assert!(asked <= 102, "{asked} requests");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_repeated_page_is_refused() {
    let pr = passing_pr(|_| {}).await;
    let server = MockServer::start().await;
    mount(
        &server,
        "/repos/octo/app/pulls/42",
        pr_json(42, "EPL-1 Retry", None, false, &[]),
    )
    .await;
    Mock::given(method("GET"))
        .and(path("/repos/octo/app/pulls/42/reviews"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!([review("a", "COMMENTED", HEAD)]))
                .insert_header("link", "<http://x/?page=2>; rel=\"next\""),
        )
        .mount(&server)
        .await;
    let pr = Pr { server, ..pr };
    let out = pr.run(&[]).await;
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("a repeat of the page before it"), "{err}");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_absurd_last_page_is_refused_without_fetching_it() {
    let pr = passing_pr(|_| {}).await;
    let server = MockServer::start().await;
    mount(
        &server,
        "/repos/octo/app/pulls/42",
        pr_json(42, "EPL-1 Retry", None, false, &[]),
    )
    .await;
    for last in ["4294967295", "99999999999999", "x"] {
        Mock::given(method("GET"))
            .and(path("/repos/octo/app/pulls/42/reviews"))
            .respond_with(
                ResponseTemplate::new(200)
                    .set_body_json(json!([]))
                    .insert_header(
                    "link",
                    format!(
                        "<http://x/?page=2>; rel=\"next\", <http://x/?page={last}>; rel=\"last\""
                    )
                    .as_str(),
                ),
            )
            .up_to_n_times(1)
            .mount(&server)
            .await;
    }
    let pr = Pr { server, ..pr };
    for _ in 0..3 {
        let out = pr.run(&[]).await;
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{err}");
        assert!(
            err.contains("more than the 100 page(s) this list can have"),
            "{err}"
        );
    }
    let asked = pr.server.received_requests().await.unwrap().len();
    assert!(asked <= 6, "{asked} requests");
}

#[tokio::test(flavor = "multi_thread")]
async fn unusable_timeouts_are_a_usage_error() {
    let pr = passing_pr(|_| {}).await;
    for (var, value) in [
        ("GIT_POLICY_HTTP_TIMEOUT", "inf"),
        ("GIT_POLICY_HTTP_TIMEOUT", "1e20"),
        ("GIT_POLICY_HTTP_TIMEOUT", "NaN"),
        ("GIT_POLICY_HTTP_TIMEOUT", "-1"),
        ("GIT_POLICY_HTTP_TIMEOUT", "0"),
        ("GIT_POLICY_RETRY_DELAY", "inf"),
        ("GIT_POLICY_RETRY_DELAY", "ten"),
    ] {
        let mut cmd = pr.cmd(&["check", "pr", "--repo", "octo/app", "--number", "42"]);
        cmd.env(var, value);
        let out = output_of(cmd).await;
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{var}={value}: {err}");
        assert!(
            err.contains(&format!("{var}=`{value}` is not a number of seconds")),
            "{err}"
        );
        assert!(!err.contains("panicked"), "{err}");
    }
}

/// Text GitHub does not show is not a section: a heading inside an HTML
/// comment, or a section holding only link reference definitions.
#[tokio::test(flavor = "multi_thread")]
async fn hidden_markdown_is_not_a_reproduction() {
    for body in [
        "<!--\n## Steps to reproduce\n1. open the app offline\n2. press login twice\n-->\nEPL-9",
        "## Steps to reproduce\n[steps]: https://example.com/open-the-app-offline-and-press-login-twice\n",
        "## Steps to reproduce\n<!-- 1. open the app offline\n2. press login twice\n",
    ] {
        let pr = Pr::new(
            pr_json(42, "EPL-9 Fix the crash", Some(body), false, &["bug"]),
            vec![],
            vec![file("src/a.rs")],
            vec![],
        )
        .await;
        let out = pr.run(&["--format", "json"]).await;
        assert_eq!(rules_failed(&json_of(&out)), ["bug-steps"], "{body}");
    }
}

/// The expedited path is granted, not claimed: the label counts only when a
/// member of the granting team applied it (the timeline's `labeled` actor).
#[tokio::test(flavor = "multi_thread")]
async fn an_expedited_label_counts_only_when_granted() {
    const EXPEDITED: &str = r#"version: 1
teams:
  platform-engineering: { members: [asherman, agaete] }
paths:
  iac: ['*.tf']
rules:
  - id: iac-approval
    on: [pull_request]
    when: { changed: [iac] }
    require:
      approval: { teams: [platform-engineering], expedited: { labels: [expedited], granted_by: [platform-engineering] } }
"#;
    for (labelled_by, code, level, said) in [
        (
            "dev",
            1,
            "error",
            "it was applied by @dev, the pull request's author",
        ),
        (
            "octocat",
            1,
            "error",
            "it was applied by @octocat, who is not in platform-engineering",
        ),
        (
            "asherman",
            0,
            "warning",
            "expedited (`expedited`, granted by @asherman)",
        ),
    ] {
        let pr = Pr::new(
            pr_json(42, "EPL-1 Open the port", None, false, &["expedited"]),
            vec![],
            vec![file("main.tf")],
            vec![commit(HEAD, "EPL-1 Open the port")],
        )
        .await;
        mount_list(
            &pr.server,
            "/repos/octo/app/issues/42/timeline",
            vec![json!({ "event": "labeled", "actor": { "login": labelled_by }, "label": { "name": "expedited", "color": "f00" }, "created_at": "2026-11-20T09:00:00Z" })],
        )
        .await;
        std::fs::write(pr.dir.path().join("policy.yml"), EXPEDITED).unwrap();
        let out = pr.run(&["--format", "json"]).await;
        assert_eq!(out.status.code(), Some(code), "{}", stderr(&out));
        let v = json_of(&out);
        let finding = &v["findings"][0];
        assert_eq!(finding["level"], level, "{v}");
        assert!(finding["message"].as_str().unwrap().contains(said), "{v}");
    }
}

// ---- dry runs and no token (issue 13) ----

/// `check pr --event FILE --offline` judges a recorded event from the
/// payload and the clone alone: no request is made, approvals are reported
/// as not judged (never as met).
#[test]
fn a_recorded_event_is_judged_offline() {
    let repo = common::Repo::new("main");
    repo.write(
        ".git-policy.yml",
        "version: 1\ntickets: { jira: { pattern: '\\bEPL-[0-9]+\\b' } }\nrules:\n  - id: draft-until-ready\n    on: [pull_request]\n    require: { ready: true }\n  - id: pr-ticket\n    on: [pull_request]\n    require: { ticket: { in: [title, body, branch] } }\n  - id: commit-ticket\n    on: [commit]\n    require: { ticket: { in: [message] } }\n  - id: review\n    on: [pull_request]\n    require: { approval: { count: 1 } }\n",
    );
    repo.git(&["add", "."]);
    repo.git(&["commit", "-q", "--no-verify", "-m", "EPL-1 policy"]);
    let base = repo.git(&["rev-parse", "HEAD"]);
    repo.git(&["checkout", "-q", "-b", "feature/EPL-2-x"]);
    let head = repo.commit("Retry the login");
    let mut pr = pr_json(42, "EPL-2 Retry", None, true, &[]);
    pr["head"]["sha"] = json!(head);
    pr["base"]["sha"] = json!(base);
    pr["head"]["ref"] = json!("feature/EPL-2-x");
    let event = json!({ "action": "opened", "number": 42, "pull_request": pr,
        "repository": { "full_name": "octo/app" } });
    repo.write("event.json", &event.to_string());
    let out = repo
        .cmd()
        .args([
            "--format",
            "json",
            "check",
            "pr",
            "--event",
            "event.json",
            "--offline",
        ])
        .env_remove("GITHUB_TOKEN")
        .env("GITHUB_EVENT_NAME", "pull_request")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("offline: judged from the event payload and the clone"));
    let v = json_of(&out);
    let mut failed = rules_failed(&v);
    failed.sort();
    assert_eq!(failed, ["commit-ticket", "draft-until-ready"], "{v}");
    let review = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["rule"] == "review")
        .unwrap();
    assert_eq!(review["level"], "notice", "{v}");
    assert!(
        review["message"]
            .as_str()
            .unwrap()
            .starts_with("not judged offline: approval by")
    );
    // A hand-written event short of a field it uses: exit 2 naming the field
    // and what the file needs, not "GitHub's answer … re-run the job".
    let mut short = event.clone();
    short["pull_request"]
        .as_object_mut()
        .unwrap()
        .remove("title");
    repo.write("event.json", &short.to_string());
    let out = repo
        .cmd()
        .args(["check", "pr", "--event", "event.json", "--offline"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.contains(
            "the event payload's `pull_request` is not as GitHub sends it: missing field `title`"
        ) && err.contains("git-policy event")
            && err.contains("$GITHUB_EVENT_PATH")
            && !err.contains("GitHub's answer")
            && !err.contains("re-run the job"),
        "{err}"
    );
    // Offline without the commits in the clone: exit 2 with the fix.
    let mut elsewhere = event.clone();
    elsewhere["pull_request"]["head"]["sha"] = json!("9".repeat(40));
    repo.write("event.json", &elsewhere.to_string());
    let out = repo
        .cmd()
        .args(["check", "pr", "--event", "event.json", "--offline"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("does not hold both the base"),
        "{}",
        stderr(&out)
    );
}

/// A dry run that can pass (issue 24 §5). Offline, approvals were an error
/// (exit 1) naming no file, and a hand-written event needed `commits`,
/// `changed_files` and `milestone`, which offline judging does not use. Now
/// what needs the API is a notice naming the rule and the path, the verdict
/// is the offline facts', an unknown milestone is a notice of the milestone
/// rule, and `git-policy event` writes an event the check accepts.
#[test]
fn an_offline_dry_run_passes_on_what_it_can_judge() {
    let repo = common::Repo::new("main");
    repo.write(
        ".git-policy.yml",
        "version: 1\ntickets: { jira: { pattern: '\\bEPL-[0-9]+\\b' } }\npaths:\n  ci-cd: ['.github/workflows/**']\nteams:\n  platform: { members: [asherman] }\nrules:\n  - id: pr-ticket\n    on: [pull_request]\n    require: { ticket: { in: [title, branch] } }\n  - id: ci-cd-approval\n    on: [pull_request]\n    when: { changed: [ci-cd] }\n    require: { approval: { teams: [platform] } }\n  - id: planned\n    on: [pull_request]\n    when: { labels: [feature] }\n    require: { milestone: true }\n",
    );
    repo.git(&["add", "."]);
    repo.commit("EPL-1 policy");
    repo.git(&["switch", "-q", "-c", "feature/EPL-2-ci"]);
    repo.write(".github/workflows/ci.yml", "on: push\n");
    repo.git(&["add", "."]);
    repo.commit("EPL-2 run the tests");
    // `git-policy event`: head and base from the clone.
    let out = repo
        .cmd()
        .args([
            "event",
            "--title",
            "EPL-2 Run the tests",
            "--label",
            "feature",
            "--milestone",
            "Sprint 3",
        ])
        .env_remove("GITHUB_REPOSITORY")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let event: Value = serde_json::from_slice(&out.stdout).unwrap();
    let pr = &event["pull_request"];
    assert_eq!(pr["head"]["ref"], "feature/EPL-2-ci", "{event}");
    assert_eq!(pr["head"]["sha"], repo.git(&["rev-parse", "HEAD"]).as_str());
    assert_eq!(pr["base"]["ref"], "main");
    assert_eq!(pr["base"]["sha"], repo.git(&["rev-parse", "main"]).as_str());
    assert_eq!(
        (pr["commits"].as_u64(), pr["changed_files"].as_u64()),
        (Some(1), Some(1))
    );
    assert_eq!(pr["labels"][0]["name"], "feature");
    assert_eq!(pr["milestone"]["title"], "Sprint 3");
    repo.write("event.json", &event.to_string());
    let check = |file: &str| {
        let out = repo
            .cmd()
            .args([
                "--format",
                "json",
                "check",
                "pr",
                "--offline",
                "--event",
                file,
            ])
            .env_remove("GITHUB_TOKEN")
            .output()
            .unwrap();
        (out.status.code(), json_of(&out))
    };
    let (code, v) = check("event.json");
    assert_eq!(code, Some(0), "{v}");
    let findings = v["findings"].as_array().unwrap();
    assert_eq!(findings.len(), 1, "{v}");
    assert_eq!(findings[0]["rule"], "ci-cd-approval");
    assert_eq!(findings[0]["level"], "notice");
    assert_eq!(findings[0]["path"], ".github/workflows/ci.yml");
    assert!(
        findings[0]["message"]
            .as_str()
            .unwrap()
            .contains("for changes to .github/workflows/ci.yml"),
        "{v}"
    );
    // Without the fields offline judging does not use: accepted; the
    // milestone, unknown, is a notice of the rule that asks for it.
    let mut short = event.clone();
    for field in ["commits", "changed_files", "milestone"] {
        short["pull_request"].as_object_mut().unwrap().remove(field);
    }
    repo.write("short.json", &short.to_string());
    let (code, v) = check("short.json");
    assert_eq!(code, Some(0), "{v}");
    let planned = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["rule"] == "planned")
        .unwrap_or_else(|| panic!("{v}"));
    assert_eq!(planned["level"], "notice", "{v}");
    // A verdict the offline facts decide still fails: no ticket.
    let out = repo
        .cmd()
        .args([
            "event",
            "--title",
            "Run the tests",
            "--head",
            "main",
            "--base",
            "main",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stderr(&out).contains("changes nothing"), "{}", stderr(&out));
    repo.write("main.json", &String::from_utf8_lossy(&out.stdout));
    let (code, v) = check("main.json");
    assert_eq!(code, Some(1), "{v}");
    assert_eq!(rules_failed(&v), ["pr-ticket"], "{v}");
}

/// `git-policy event` writes untrusted text (title, body, labels, branch
/// names) into JSON: inert for the Actions runner in every format, and
/// still the very text given once parsed.
#[test]
fn the_event_a_user_writes_is_inert_and_lossless() {
    let repo = common::Repo::new("main");
    repo.commit("EPL-1 base");
    repo.git(&["switch", "-q", "-c", "feature/EPL-2"]);
    repo.commit("EPL-2 work");
    let title = "EPL-2 ##[set-output name=passed;]true";
    let body = "::add-mask::x\n::error::forged\r::warning::y\u{202e}";
    for format in ["human", "github", "json"] {
        let out = repo
            .cmd()
            .args([
                "--format", format, "event", "--title", title, "--body", body,
            ])
            .args(["--label", "##[error]label"])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        common::assert_inert(&out, &[]);
        let event: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(event["pull_request"]["title"], title);
        assert_eq!(event["pull_request"]["body"], body);
        assert_eq!(event["pull_request"]["labels"][0]["name"], "##[error]label");
    }
}

/// Without a token, a failing API read says that first.
#[tokio::test(flavor = "multi_thread")]
async fn without_a_token_the_message_says_so() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(404).set_body_json(json!({ "message": "Not Found" })))
        .mount(&server)
        .await;
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = common::git_policy(dir.path());
    cmd.env("GITHUB_API_URL", server.uri())
        .env_remove("GITHUB_TOKEN")
        .args(["check", "pr", "--repo", "octo/app", "--number", "42"]);
    let out = output_of(cmd).await;
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(err.starts_with("error: no GITHUB_TOKEN is set: "), "{err}");
    assert!(err.contains("--offline"), "{err}");
}

/// A team that cannot be read is a finding of its rule, shown with every
/// other finding; the check still fails (exit 1) when another rule decides
/// it, and only says "could not judge" (exit 2) when that team alone would.
#[tokio::test(flavor = "multi_thread")]
async fn an_unreadable_team_is_a_finding_beside_the_others() {
    let pr = Pr::new(
        pr_json(42, "EPL-4 Hotfix", None, true, &["needs-rte"]),
        vec![review("someone", "APPROVED", HEAD)],
        vec![file("a.rs")],
        vec![commit(HEAD, "EPL-4 Hotfix")],
    )
    .await;
    Mock::given(method("GET"))
        .and(path("/orgs/octo/teams/release-train/members"))
        .respond_with(
            ResponseTemplate::new(403)
                .set_body_json(json!({ "message": "Resource not accessible by integration" })),
        )
        .mount(&pr.server)
        .await;
    let out = pr.run(&["--format", "json"]).await;
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let v = json_of(&out);
    let mut failed = rules_failed(&v);
    failed.sort();
    assert_eq!(failed, ["draft-until-ready", "rte-review"], "{v}");
    assert!(stderr(&out).contains("cannot read the members of team `rte`"));
    // The same pull request ready for review: the team alone decides.
    let mut ready = pr_json(42, "EPL-4 Hotfix", None, false, &["needs-rte"]);
    ready["commits"] = json!(1);
    let server = MockServer::start().await;
    mount(&server, "/repos/octo/app/pulls/42", ready).await;
    mount_list(
        &server,
        "/repos/octo/app/pulls/42/reviews",
        vec![review("someone", "APPROVED", HEAD)],
    )
    .await;
    mount_list(
        &server,
        "/repos/octo/app/pulls/42/files",
        vec![file("a.rs")],
    )
    .await;
    mount_list(
        &server,
        "/repos/octo/app/pulls/42/commits",
        vec![commit(HEAD, "EPL-4 Hotfix")],
    )
    .await;
    let pr = Pr { server, ..pr };
    let out = pr.run(&["--format", "json"]).await;
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    // stdout is one JSON document, the could-not-judge one (it used to be the
    // report followed by it: two documents); the finding is shown on stderr.
    let v = json_of(&out);
    assert_eq!(v["passed"], Value::Null, "{v}");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("the verdict depends on team members that could not be read"),
        "{v}"
    );
    assert!(
        stderr(&out).contains("cannot tell who may approve"),
        "{}",
        stderr(&out)
    );
    let out = pr.run(&["--format", "sarif"]).await;
    assert_eq!(out.status.code(), Some(2));
    let v = json_of(&out);
    assert!(v["runs"].is_array(), "{v}");
    // In the human format the finding comes first, then why there is no verdict.
    let out = pr.run(&[]).await;
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stdout).contains("cannot tell who may approve"));
    assert!(stderr(&out).contains("error: the verdict depends on team members"));
}

// ---- the policy of record (issue 21, §3) ----

/// `main` holds `first`, then `second` (the pull request's base commit),
/// then `third` (the tip now); the pull request (no ticket anywhere) adds a
/// file on top of `second`. The server says the base branch is at `third`.
async fn base_moved_since(first: &str, second: &str, third: &str) -> (common::Repo, MockServer) {
    base_moved_to(first, second, third, None).await
}

/// As [`base_moved_since`], the server giving `tip` (when given) as the base branch's tip.
async fn base_moved_to(
    first: &str,
    second: &str,
    third: &str,
    tip_given: Option<&str>,
) -> (common::Repo, MockServer) {
    let repo = common::Repo::new("main");
    repo.write(".git-policy.yml", first);
    repo.git(&["add", "."]);
    repo.git(&["commit", "-q", "-m", "EPL-1 policy"]);
    repo.write(".git-policy.yml", second);
    repo.git(&[
        "commit",
        "-q",
        "--allow-empty",
        "-am",
        "EPL-2 policy, changed",
    ]);
    let base = repo.git(&["rev-parse", "HEAD"]);
    repo.git(&["checkout", "-q", "-b", "relax"]);
    repo.write("src/x.txt", "x");
    repo.git(&["add", "."]);
    repo.git(&["commit", "-q", "-m", "a change"]);
    let head = repo.git(&["rev-parse", "HEAD"]);
    repo.git(&["checkout", "-q", "main"]);
    repo.write(".git-policy.yml", third);
    repo.git(&[
        "commit",
        "-q",
        "--allow-empty",
        "-am",
        "EPL-3 policy, changed again",
    ]);
    let tip = repo.git(&["rev-parse", "HEAD"]);
    let override_tip = tip_given;
    let server = MockServer::start().await;
    let mut pr = pr_json(42, "A change", None, false, &[]);
    pr["head"]["ref"] = json!("relax");
    pr["head"]["sha"] = json!(head);
    pr["base"]["sha"] = json!(base);
    mount(&server, "/repos/octo/app/pulls/42", pr).await;
    mount_list(&server, "/repos/octo/app/pulls/42/reviews", vec![]).await;
    common::github::base_tip(&server, "main", override_tip.unwrap_or(&tip)).await;
    (repo, server)
}

fn without_pr_ticket() -> String {
    POLICY.replace(
        "  - id: pr-ticket\n    on: [pull_request]\n    require: { ticket: { in: [title, body, branch] } }\n",
        "",
    )
}

/// A pull request opened while a rule was lifted is judged by the policy
/// its merge lands on once the base branch restores the rule: GitHub does
/// not move `base.sha` when the base branch moves.
#[tokio::test(flavor = "multi_thread")]
async fn a_rule_restored_on_the_base_branch_applies_to_a_pull_request_opened_without_it() {
    let (repo, server) = base_moved_since(POLICY, &without_pr_ticket(), POLICY).await;
    let out = run_with_repository_policy(repo.path(), &server).await;
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}{}",
        stdout(&out),
        stderr(&out)
    );
    assert_eq!(rules_failed(&json_of(&out)), ["pr-ticket"]);
    let err = stderr(&out);
    assert!(
        err.contains("judged by the policy at the base branch's tip")
            && err.contains("under the policy at the pull request's base commit")
            && err.contains("it passes"),
        "{err}"
    );
}

/// The other way round: a rule lifted on the base branch after the pull
/// request was opened does not lift it for this pull request until it is
/// brought up to date: where the two policies differ, the stricter stands.
#[tokio::test(flavor = "multi_thread")]
async fn where_the_tip_and_the_base_commit_differ_the_stricter_outcome_stands() {
    let (repo, server) = base_moved_since(POLICY, POLICY, &without_pr_ticket()).await;
    let out = run_with_repository_policy(repo.path(), &server).await;
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}{}",
        stdout(&out),
        stderr(&out)
    );
    assert_eq!(rules_failed(&json_of(&out)), ["pr-ticket"]);
    assert!(
        stderr(&out).contains("judged by the policy at the pull request's base commit"),
        "{}",
        stderr(&out)
    );
    // Both lifted: it passes, and no policy notice is made up.
    let (repo, server) = base_moved_since(POLICY, &without_pr_ticket(), &without_pr_ticket()).await;
    let out = run_with_repository_policy(repo.path(), &server).await;
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        stdout(&out),
        stderr(&out)
    );
    assert!(!stderr(&out).contains("differs"), "{}", stderr(&out));
}

/// The tip the clone does not hold is read through the contents API; a
/// base branch GitHub does not know, or an answer for another ref, is exit 2.
#[tokio::test(flavor = "multi_thread")]
async fn a_base_tip_that_cannot_be_read_is_not_a_pass() {
    // Another ref in the answer (a prefix match, say).
    let (repo, server) = base_moved_since(POLICY, &without_pr_ticket(), POLICY).await;
    server.reset().await;
    let mut pr = pr_json(42, "A change", None, false, &[]);
    pr["head"]["ref"] = json!("relax");
    pr["head"]["sha"] = json!(repo.git(&["rev-parse", "relax"]));
    pr["base"]["sha"] = json!(repo.git(&["rev-parse", "main~1"]));
    Mock::given(method("GET"))
        .and(path("/repos/octo/app/pulls/42"))
        .respond_with(ResponseTemplate::new(200).set_body_json(pr))
        .mount(&server)
        .await;
    mount_list(&server, "/repos/octo/app/pulls/42/reviews", vec![]).await;
    let out = run_with_repository_policy(repo.path(), &server).await;
    assert_eq!(
        out.status.code(),
        Some(2),
        "{}{}",
        stdout(&out),
        stderr(&out)
    );
    assert!(
        format!("{}{}", stdout(&out), stderr(&out)).contains("GitHub has no branch `main`"),
        "{}{}",
        stdout(&out),
        stderr(&out)
    );
    Mock::given(method("GET"))
        .and(path("/repos/octo/app/git/ref/heads/main"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "ref": "refs/heads/main-old", "object": { "sha": OLD, "type": "commit" } })))
        .mount(&server)
        .await;
    let out = run_with_repository_policy(repo.path(), &server).await;
    assert_eq!(
        out.status.code(),
        Some(2),
        "{}{}",
        stdout(&out),
        stderr(&out)
    );
    assert!(
        format!("{}{}", stdout(&out), stderr(&out)).contains("is not that branch's commit"),
        "{}{}",
        stdout(&out),
        stderr(&out)
    );
}

/// A tip the clone lacks (the checkout is older than the branch) is read
/// through the contents API, and still decides.
#[tokio::test(flavor = "multi_thread")]
async fn a_base_tip_outside_the_clone_is_read_through_the_api() {
    use base64::Engine;
    let lifted = without_pr_ticket();
    let (repo, server) = base_moved_to(POLICY, &lifted, &lifted, Some(OLD)).await;
    let encoded = base64::engine::general_purpose::STANDARD.encode(POLICY);
    Mock::given(method("GET"))
        .and(path("/repos/octo/app/contents/.github/policies"))
        .and(query_param("ref", OLD))
        .respond_with(ResponseTemplate::new(404).set_body_json(json!({ "message": "Not Found" })))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/repos/octo/app/contents/.git-policy.yml"))
        .and(query_param("ref", OLD))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "type": "file", "encoding": "base64", "path": ".git-policy.yml",
            "size": POLICY.len(), "content": encoded })))
        .mount(&server)
        .await;
    let out = run_with_repository_policy(repo.path(), &server).await;
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}{}",
        stdout(&out),
        stderr(&out)
    );
    assert_eq!(rules_failed(&json_of(&out)), ["pr-ticket"]);
}

/// Under the built-in pack (no policy at the base, none at the head) no
/// pull request is told that it removes the policy files.
#[tokio::test(flavor = "multi_thread")]
async fn the_built_in_pack_makes_up_no_removed_policy_notice() {
    let repo = common::Repo::new("main");
    repo.write("README.md", "hello");
    repo.git(&["add", "."]);
    repo.git(&["commit", "-q", "-m", "EPL-1 start"]);
    let base = repo.git(&["rev-parse", "HEAD"]);
    repo.git(&["checkout", "-q", "-b", "feature/EPL-2-x"]);
    repo.write("src/x.txt", "x");
    repo.git(&["add", "."]);
    repo.git(&["commit", "-q", "-m", "EPL-2 a change"]);
    let head = repo.git(&["rev-parse", "HEAD"]);
    let server = MockServer::start().await;
    let mut pr = pr_json(42, "EPL-2 A change", Some("EPL-2"), false, &[]);
    pr["head"]["ref"] = json!("feature/EPL-2-x");
    pr["head"]["sha"] = json!(head);
    pr["base"]["sha"] = json!(base);
    mount(&server, "/repos/octo/app/pulls/42", pr).await;
    mount_list(&server, "/repos/octo/app/pulls/42/reviews", vec![]).await;
    let out = run_with_repository_policy(repo.path(), &server).await;
    let all = format!("{}{}", stdout(&out), stderr(&out));
    assert!(all.contains("using the built-in pack"), "{all}");
    assert!(!all.contains("removes the policy files"), "{all}");
    assert!(!all.contains("proposed-policy"), "{all}");
}

/// A hand-written event's short or non-ASCII `base.sha` once reached
/// `&sha[..10]` (a panic: in a release build, SIGABRT and no verdict). It is
/// refused as no commit id before any message quotes it; the slices are gone
/// (`short()`, and clippy's `string_slice` denied in check_pr.rs).
#[test]
fn a_hand_written_event_with_a_short_base_sha_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    for sha in ["abc", "ééééééééééé", "22222222é2"] {
        let mut pr = pr_json(1, "EPL-1 t", None, false, &[]);
        pr["base"]["sha"] = json!(sha);
        let event = dir.path().join("event.json");
        std::fs::write(
            &event,
            json!({ "pull_request": pr, "repository": { "full_name": "octo/app" } }).to_string(),
        )
        .unwrap();
        let out = event_cmd(dir.path(), &event, Some("pull_request"))
            .arg("--offline")
            .output()
            .unwrap();
        let said = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{sha}: {said}");
        assert!(said.contains("is not a commit id"), "{sha}: {said}");
        assert!(!said.contains("internal error"), "{sha}: {said}");
    }
}

// ---- issue 21: identity is proved; the expedited path is granted by someone else, for this code ----

const EXPEDITED_POLICY: &str = r#"version: 1
teams:
  platform-engineering: { members: [asherman, agaete] }
paths:
  iac: ['*.tf']
rules:
  - id: iac-approval
    on: [pull_request]
    when: { changed: [iac] }
    require:
      approval: { teams: [platform-engineering], expedited: { labels: [expedited], granted_by: [platform-engineering] } }
"#;

/// A REST commit of the pull request whose author e-mail GitHub attributes
/// to `author` and committer e-mail to `committer`, committed at `at`.
fn commit_by(sha: &str, message: &str, author: &str, committer: &str, at: &str) -> Value {
    let mut c = commit(sha, message);
    c["commit"]["committer"] =
        json!({ "name": committer, "email": format!("{committer}@example.com"), "date": at });
    c["author"] = json!({ "login": author, "id": 5, "type": "User" });
    c["committer"] = json!({ "login": committer, "id": 6, "type": "User" });
    c
}

fn labeled(actor: &str, added: bool, at: &str) -> Value {
    json!({ "event": if added { "labeled" } else { "unlabeled" }, "actor": { "login": actor },
        "label": { "name": "expedited", "color": "f00" }, "created_at": at })
}

fn committed(sha: &str, at: &str) -> Value {
    json!({ "event": "committed", "sha": sha, "node_id": "C_kw", "author": { "name": "Dev", "email": "dev@example.com", "date": at },
        "committer": { "name": "Dev", "email": "dev@example.com", "date": at }, "message": "EPL-1 Open the port",
        "parents": [{ "sha": BASE }], "verification": { "verified": false, "reason": "unsigned", "signature": null, "payload": null } })
}

/// `check pr` of an expedited pull request by `author` with `commits` and
/// this timeline, under [`EXPEDITED_POLICY`]: (exit status, first finding).
async fn expedited_run(
    author: &str,
    commits: Vec<Value>,
    timeline: Vec<Value>,
) -> (Option<i32>, Value) {
    let mut json = pr_json(42, "EPL-1 Open the port", None, false, &["expedited"]);
    json["user"]["login"] = json!(author);
    let pr = Pr::new(json, vec![], vec![file("main.tf")], commits).await;
    mount_list(&pr.server, "/repos/octo/app/issues/42/timeline", timeline).await;
    std::fs::write(pr.dir.path().join("policy.yml"), EXPEDITED_POLICY).unwrap();
    let out = pr.run(&["--format", "json"]).await;
    let v = json_of(&out);
    (out.status.code(), v["findings"][0].clone())
}

fn assert_not_granted((code, finding): &(Option<i32>, Value), why: &str) {
    assert_eq!(*code, Some(1), "{finding}");
    assert_eq!(finding["level"], "error", "{finding}");
    let message = finding["message"].as_str().unwrap();
    assert!(message.contains("does not make it expedited"), "{message}");
    assert!(message.contains(why), "{message}");
}

/// Neither the pull request's author nor an author of its commits grants
/// the expedited path, even as a member of the granting team.
#[tokio::test(flavor = "multi_thread")]
async fn the_author_and_the_commits_authors_cannot_grant_the_expedited_path() {
    let early = "2026-11-20T08:00:00Z";
    let at = "2026-11-20T09:00:00Z";
    // A granter opened it and labelled it.
    let own = expedited_run(
        "asherman",
        vec![commit_by(
            HEAD,
            "EPL-1 Open the port",
            "asherman",
            "asherman",
            early,
        )],
        vec![committed(HEAD, early), labeled("asherman", true, at)],
    )
    .await;
    assert_not_granted(&own, "the pull request's author");
    // A colleague opened it; the granter wrote (or committed) its code.
    for (author, committer) in [("asherman", "dev"), ("dev", "asherman")] {
        let theirs = expedited_run(
            "dev",
            vec![commit_by(
                HEAD,
                "EPL-1 Open the port",
                author,
                committer,
                early,
            )],
            vec![committed(HEAD, early), labeled("asherman", true, at)],
        )
        .await;
        assert_not_granted(&theirs, "an author of its commits");
    }
    // Someone who wrote none of it grants it.
    let (code, finding) = expedited_run(
        "dev",
        vec![commit_by(HEAD, "EPL-1 Open the port", "dev", "dev", early)],
        vec![committed(HEAD, early), labeled("asherman", true, at)],
    )
    .await;
    assert_eq!(code, Some(0), "{finding}");
    assert_eq!(finding["level"], "warning", "{finding}");
}

/// A grant covers the code it was given for: a commit or a force-push
/// after the label (by time, whatever the timeline's order), or in the
/// label's own second, is not covered.
#[tokio::test(flavor = "multi_thread")]
async fn an_expedited_grant_does_not_cover_code_pushed_after_it() {
    let label_at = "2026-11-20T09:00:00Z";
    let later = "2026-11-20T09:30:00Z";
    let force = |at: &str| json!({ "event": "head_ref_force_pushed", "actor": { "login": "dev" }, "commit_id": null, "created_at": at });
    let c = || vec![commit_by(HEAD, "EPL-1 Open the port", "dev", "dev", later)];
    for (timeline, why) in [
        (
            vec![labeled("asherman", true, label_at), committed(HEAD, later)],
            "reached the head at 2026-11-20T09:30:00Z",
        ),
        // Listed before the label, committed after it.
        (
            vec![committed(HEAD, later), labeled("asherman", true, label_at)],
            "reached the head at 2026-11-20T09:30:00Z",
        ),
        // In the label's own second.
        (
            vec![
                committed(HEAD, label_at),
                labeled("asherman", true, label_at),
            ],
            "reached the head at 2026-11-20T09:00:00Z",
        ),
    ] {
        let ran = expedited_run("dev", c(), timeline).await;
        assert_not_granted(&ran, why);
        assert_not_granted(&ran, "a grant covers only the code it was given for");
    }
    let early = "2026-11-20T08:00:00Z";
    let pushed = expedited_run(
        "dev",
        vec![commit_by(HEAD, "EPL-1 Open the port", "dev", "dev", early)],
        vec![
            committed(HEAD, early),
            labeled("asherman", true, label_at),
            force(later),
        ],
    )
    .await;
    assert_not_granted(&pushed, "a force-push reached the head");
}

/// Label events are ordered by their time: the last to apply the label is
/// the last in time, not in the list; a removal and an application in the
/// same second are not a grant.
#[tokio::test(flavor = "multi_thread")]
async fn expedited_label_events_are_ordered_by_time_not_list_position() {
    let early = "2026-11-20T08:00:00Z";
    let c = || vec![commit_by(HEAD, "EPL-1 Open the port", "dev", "dev", early)];
    let reordered = expedited_run(
        "dev",
        c(),
        vec![
            committed(HEAD, early),
            labeled("octocat", true, "2026-11-20T09:00:00Z"),
            labeled("octocat", false, "2026-11-20T09:04:00Z"),
            labeled("octocat", true, "2026-11-20T09:05:00Z"),
            labeled("asherman", true, "2026-11-20T09:01:00Z"),
        ],
    )
    .await;
    assert_not_granted(&reordered, "applied by @octocat");
    let tie = expedited_run(
        "dev",
        c(),
        vec![
            committed(HEAD, early),
            labeled("asherman", false, "2026-11-20T09:05:00Z"),
            labeled("asherman", true, "2026-11-20T09:05:00Z"),
        ],
    )
    .await;
    assert_not_granted(&tie, "not in an order that can be told");
}

const PEER_POLICY: &str = r#"version: 1
rules:
  - id: peer-review
    on: [pull_request]
    require: { approval: { count: 1 } }
"#;

async fn peer_review_run(reviews: Vec<Value>, commits: Vec<Value>) -> (Option<i32>, Value) {
    let pr = Pr::new(
        pr_json(42, "EPL-1 Open the port", None, false, &[]),
        reviews,
        vec![file("src/lib.rs")],
        commits,
    )
    .await;
    std::fs::write(pr.dir.path().join("policy.yml"), PEER_POLICY).unwrap();
    let out = pr.run(&["--format", "json"]).await;
    let v = json_of(&out);
    (out.status.code(), v)
}

/// A bot's approval is no peer review: REST's `type: Bot`, a `[bot]` login.
#[tokio::test(flavor = "multi_thread")]
async fn a_bot_approval_is_no_peer_review() {
    let early = "2026-11-20T08:00:00Z";
    let bot = |login: &str| {
        let mut r = review(login, "APPROVED", HEAD);
        r["user"]["type"] = json!("Bot");
        r
    };
    for reviewer in ["github-actions[bot]", "copilot-pull-request-reviewer"] {
        let (code, v) = peer_review_run(
            vec![bot(reviewer)],
            vec![commit_by(HEAD, "EPL-1 x", "dev", "dev", early)],
        )
        .await;
        assert_eq!(code, Some(1), "{reviewer}: {v}");
        assert!(
            v["findings"][0]["message"]
                .as_str()
                .unwrap()
                .contains("a bot is no peer reviewer"),
            "{v}"
        );
    }
}

/// The authors (and committers) of a pull request's commits do not approve
/// their own code, even when someone else opened the pull request.
#[tokio::test(flavor = "multi_thread")]
async fn an_author_of_its_commits_does_not_approve_them() {
    let early = "2026-11-20T08:00:00Z";
    for (author, committer) in [("colleague", "dev"), ("dev", "colleague")] {
        let (code, v) = peer_review_run(
            vec![review("colleague", "APPROVED", HEAD)],
            vec![commit_by(HEAD, "EPL-1 x", author, committer, early)],
        )
        .await;
        assert_eq!(code, Some(1), "{v}");
        assert!(
            v["findings"][0]["message"]
                .as_str()
                .unwrap()
                .contains("an author of its commits: colleague"),
            "{v}"
        );
    }
    let (code, v) = peer_review_run(
        vec![review("colleague", "APPROVED", HEAD)],
        vec![commit_by(HEAD, "EPL-1 x", "dev", "dev", early)],
    )
    .await;
    assert_eq!(code, Some(0), "{v}");
}

/// A commit's account is the author e-mail's, which anyone can type: it
/// exempts only when the pull request (opened by that account) or a valid
/// signature by that account, not GitHub's web-flow one, proves it.
#[tokio::test(flavor = "multi_thread")]
async fn a_commit_account_from_a_typed_email_exempts_nothing() {
    const POLICY: &str = r#"version: 1
tickets: { jira: { pattern: '\bEPL-[0-9]+\b' } }
rules:
  - id: commit-ticket
    on: [commit]
    unless: { authors: ['dependabot[bot]', 'release-bot'] }
    require: { ticket: { in: [message] } }
"#;
    let early = "2026-11-20T08:00:00Z";
    let sig = |valid: bool, by_github: bool, signer: Option<&str>| json!({ "isValid": valid, "wasSignedByGitHub": by_github, "signer": signer.map(|l| json!({ "login": l })) });
    for (pr_author, account, signature, exempt, case) in [
        (
            "dev",
            "dependabot[bot]",
            Value::Null,
            false,
            "an e-mail alone",
        ),
        (
            "dev",
            "dependabot[bot]",
            sig(true, true, Some("web-flow")),
            false,
            "web-flow",
        ),
        (
            "dev",
            "release-bot",
            sig(true, true, Some("release-bot")),
            false,
            "web-flow naming the account",
        ),
        (
            "dev",
            "release-bot",
            sig(true, false, Some("dev")),
            false,
            "someone else's signature",
        ),
        (
            "dev",
            "release-bot",
            sig(false, false, Some("release-bot")),
            false,
            "an invalid signature",
        ),
        (
            "dev",
            "release-bot",
            sig(true, false, Some("release-bot")),
            true,
            "its own signature",
        ),
        (
            "dependabot[bot]",
            "dependabot[bot]",
            Value::Null,
            true,
            "the pull request's own author",
        ),
    ] {
        let mut json = pr_json(42, "EPL-1 Bump", None, false, &[]);
        json["user"]["login"] = json!(pr_author);
        let pr = Pr::new(
            json,
            vec![],
            vec![file("Cargo.lock")],
            vec![commit_by(HEAD, "Bump serde", account, "dev", early)],
        )
        .await;
        common::github::mount_signatures(&pr.server, vec![(HEAD.to_owned(), signature)]).await;
        std::fs::write(pr.dir.path().join("policy.yml"), POLICY).unwrap();
        let out = pr.run(&["--format", "json"]).await;
        let v = json_of(&out);
        let code = if exempt { 0 } else { 1 };
        assert_eq!(
            out.status.code(),
            Some(code),
            "{case}: {v}\n{}",
            stderr(&out)
        );
    }
}

/// With the commits in the clone (files and commits from git), who wrote
/// them is still read from GitHub: an approval by an author of a commit, as
/// GitHub attributes it, does not count.
#[tokio::test(flavor = "multi_thread")]
async fn in_a_clone_an_author_of_its_commits_does_not_approve_them() {
    let repo = common::Repo::new("feature/EPL-1-x");
    let base = repo.commit("EPL-0 base");
    repo.write("src/lib.rs", "pub fn x() {}\n");
    repo.git(&["add", "."]);
    let head = repo.commit("EPL-1 change");
    let policy_dir = tempfile::tempdir().unwrap();
    let policy = policy_dir.path().join("peer.yml");
    std::fs::write(&policy, PEER_POLICY).unwrap();
    for (writer, passes) in [("colleague", false), ("dev", true)] {
        let server = MockServer::start().await;
        let mut pr = pr_json(42, "EPL-1 change", None, false, &[]);
        pr["base"]["sha"] = json!(base);
        pr["head"]["sha"] = json!(head);
        mount(&server, "/repos/octo/app/pulls/42", pr).await;
        mount_list(
            &server,
            "/repos/octo/app/pulls/42/reviews",
            vec![review("colleague", "APPROVED", &head)],
        )
        .await;
        mount_list(
            &server,
            "/repos/octo/app/pulls/42/commits",
            vec![commit_by(
                &head,
                "EPL-1 change",
                writer,
                "dev",
                "2026-11-20T08:00:00Z",
            )],
        )
        .await;
        let mut cmd = repo.cmd();
        cmd.env("GITHUB_API_URL", server.uri())
            .env("GITHUB_TOKEN", TOKEN)
            .env_remove("GITHUB_EVENT_NAME")
            .env_remove("GITHUB_STEP_SUMMARY")
            .env_remove("GITHUB_OUTPUT")
            .arg("--policy")
            .arg(&policy)
            .args([
                "--format", "json", "check", "pr", "--repo", "octo/app", "--number", "42",
            ]);
        let out = output_of(cmd).await;
        let v = json_of(&out);
        assert_eq!(
            out.status.code(),
            Some(if passes { 0 } else { 1 }),
            "{writer}: {v}\n{}",
            stderr(&out)
        );
        let read: Vec<String> = server
            .received_requests()
            .await
            .unwrap()
            .iter()
            .map(|r| r.url.path().to_owned())
            .collect();
        assert!(
            !read.iter().any(|p| p.ends_with("/files")),
            "files come from git: {read:?}"
        );
    }
}
