//! `audit` on temp repositories with tagged releases, pages, incidents and tests.

mod common;

use common::Repo;
use predicates::str::contains;

const POLICY: &str = r#"version: 1
tickets:
  jira: { pattern: '\bEPL-[0-9]+\b', url: 'https://jira.example.com/browse/{id}' }
  incidents: { pattern: '\bINC-[0-9]+\b', incident: true }
rules:
  - id: commit-ticket
    on: [commit]
    require: { ticket: { in: [message], trackers: [jira] } }
  - id: release-page
    on: [release]
    require:
      release_page:
        path: 'docs/releases/{version}.md'
        sections: ['Changes', { heading: 'Post-deployment snapshot', pending_until_deploy: true }]
        lists_all_tickets: true
        tickets_in: [subject]
  - id: incident-tests
    on: [release]
    require: { incident_tests: { tests: ['tests/**'] } }
"#;

const PAGE: &str = "## Changes\n- EPL-2 login retries\n- EPL-3 invoice export\n\n## Post-deployment snapshot\nPending\n";

/// v1.2.0, then three commits and a page for 1.3.0.
fn release_repo() -> Repo {
    let repo = Repo::new("main");
    repo.write(".git-policy.yml", POLICY);
    repo.git(&["add", "."]);
    repo.git(&["commit", "-q", "-m", "EPL-1 initial"]);
    repo.git(&["tag", "v1.2.0"]);
    repo.git(&["tag", "not-a-version"]);
    repo.commit("EPL-2 Retry the login (INC-7)\n\nCloses #12 from user/EPL-77");
    repo.commit("EPL-3 Export invoices");
    repo.write(
        "tests/login.rs",
        "// INC-7: the login loop after a token refresh\n",
    );
    repo.write("docs/releases/1.3.0.md", PAGE);
    repo.git(&["add", "."]);
    repo.git(&[
        "commit",
        "-q",
        "-m",
        "EPL-2 Regression test and release page",
    ]);
    repo
}

fn json(out: &std::process::Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&out.stdout)))
}

#[test]
fn a_complete_release_passes_from_the_latest_tag() {
    let repo = release_repo();
    let out = repo
        .cmd()
        .args(["--format", "json", "audit", "--release", "1.3.0"])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let v = json(&out);
    assert_eq!(v["subject"]["kind"], "release");
    let release = &v["release"];
    assert_eq!(release["range"], "v1.2.0..HEAD");
    assert_eq!(release["version"], "1.3.0");
    assert_eq!(release["commits"], 3);
    assert_eq!(release["page"], "docs/releases/1.3.0.md");
    let ids: Vec<&str> = release["tickets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        ["EPL-2", "EPL-3"],
        "EPL-77 is only in a body; EPL-1 is before the range"
    );
    assert_eq!(
        release["tickets"][0]["url"],
        "https://jira.example.com/browse/EPL-2"
    );
    assert_eq!(
        release["tickets"][0]["commits"].as_array().unwrap().len(),
        2
    );
    assert_eq!(release["missing"], serde_json::json!([]));
}

#[test]
fn missing_tickets_and_incidents_without_tests_are_findings() {
    let repo = release_repo();
    repo.commit("EPL-4 Cache invoices, INC-8");
    let out = repo
        .cmd()
        .args(["--format", "json", "audit", "--release", "1.3.0"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let v = json(&out);
    let messages: Vec<&str> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["message"].as_str().unwrap())
        .collect();
    assert!(
        messages
            .iter()
            .any(|m| m.starts_with("ticket EPL-4 (commit ")
                && m.ends_with("is not on the release page")),
        "{messages:?}"
    );
    assert!(
        messages
            .iter()
            .any(|m| m.starts_with("incident INC-8 (commit ")),
        "{messages:?}"
    );
    assert!(
        !messages.iter().any(|m| m.contains("INC-7")),
        "INC-7 has its test: {messages:?}"
    );
    assert_eq!(v["release"]["missing"], serde_json::json!(["EPL-4"]));
}

#[test]
fn the_markdown_report_is_ready_to_paste() {
    let repo = release_repo();
    repo.commit("tidy up");
    let out = repo
        .cmd()
        .args(["--format", "markdown", "audit", "--release", "1.3.0"])
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    let text = regex::Regex::new("`[0-9a-f]{10}`")
        .unwrap()
        .replace_all(&text, "`<sha>`");
    insta::assert_snapshot!(text);
}

/// The report an RTE signs shows every section any release page rule
/// requires (not only the first rule's), and the incidents with their tests.
#[test]
fn the_markdown_report_shows_every_rules_sections() {
    let repo = release_repo();
    repo.write(
        ".git-policy.yml",
        &format!(
            "{POLICY}  - id: rollback\n    on: [release]\n    require:\n      release_page: {{ path: 'docs/releases/{{version}}.md', sections: ['Rollback plan'] }}\n"
        ),
    );
    let out = repo
        .cmd()
        .args(["--format", "markdown", "audit", "--release", "1.3.0"])
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("| Changes | ✅ complete |"), "{text}");
    assert!(
        text.contains("| Rollback plan | ❌ missing or empty |"),
        "{text}"
    );
    assert!(text.contains("| INC-7 | `tests/login.rs` |"), "{text}");
}

#[test]
fn post_deploy_needs_the_snapshot() {
    let repo = release_repo();
    let out = repo
        .cmd()
        .args([
            "--format",
            "json",
            "audit",
            "--release",
            "1.3.0",
            "--post-deploy",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let message = json(&out)["findings"][0]["message"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        message,
        "section `Post-deployment snapshot` in the release page docs/releases/1.3.0.md still says pending after deployment"
    );
}

#[test]
fn the_version_comes_from_a_release_tag_on_the_end_commit() {
    let repo = release_repo();
    repo.git(&["tag", "v1.3.0"]);
    let out = repo
        .cmd()
        .args(["--format", "json", "audit", "v1.2.0..v1.3.0"])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(json(&out)["release"]["version"], "1.3.0");
}

#[test]
fn bad_inputs_exit_2_with_the_reason() {
    let repo = release_repo();
    repo.cmd()
        .args(["audit", "nope..HEAD", "--release", "1.3.0"])
        .assert()
        .code(2)
        .stderr(contains("unknown revision in `nope..HEAD`"));
    repo.cmd()
        .arg("audit")
        .assert()
        .code(2)
        .stderr(contains("needs {version}"))
        .stderr(contains("--release VERSION"));
    std::fs::write(repo.path().join("latin1.md"), b"## Changes\ncaf\xe9\n").unwrap();
    repo.cmd()
        .args(["audit", "--release", "1.3.0", "--page", "latin1.md"])
        .assert()
        .code(2)
        .stderr(contains("is not valid UTF-8"));
    repo.cmd()
        .args(["audit", "--release", "1.3.0", "--tag-pattern", "release-*"])
        .assert()
        .code(2)
        .stderr(contains("no tag matches --tag-pattern `release-*`"));
    repo.cmd()
        .args(["audit", "HEAD..HEAD", "--release", "1.3.0"])
        .assert()
        .code(2)
        .stderr(contains("holds no commits"));
    repo.write(
        ".git-policy.yml",
        &format!("{POLICY}audit: {{ empty_range: pass }}\n"),
    );
    repo.cmd()
        .args(["audit", "HEAD..HEAD", "--release", "1.3.0"])
        .assert()
        .code(0)
        .stderr(contains("holds no commits"));
}

#[test]
fn without_a_release_tag_the_range_must_be_given() {
    let repo = Repo::new("main");
    repo.write(".git-policy.yml", POLICY);
    repo.git(&["add", "."]);
    repo.git(&["commit", "-q", "-m", "EPL-1 initial"]);
    repo.cmd()
        .args(["audit", "--release", "1.0.0"])
        .assert()
        .code(2)
        .stderr(contains("no release tag on HEAD's history"));
}

#[test]
fn a_page_outside_the_repository_can_be_audited() {
    let repo = release_repo();
    let page = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(
        page.path(),
        "## Changes\n- EPL-2\n\n## Post-deployment snapshot\nPending\n",
    )
    .unwrap();
    let out = repo
        .cmd()
        .args(["--format", "json", "audit", "--page"])
        .arg(page.path())
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "no --release is needed with --page"
    );
    assert_eq!(
        json(&out)["release"]["missing"],
        serde_json::json!(["EPL-3"])
    );
}

mod api {
    use super::*;
    use serde_json::{Value, json};
    use wiremock::matchers::{method, path, query_param};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    fn with_checks(repo: &Repo, required: bool) {
        let rule = format!(
            "  - id: release-checks\n    on: [release]\n    require: {{ release_checks: {{ required: {required}, expedited: {{ labels: [expedited], granted_by: [rte] }}, ignore: ['codecov/*'] }} }}\n"
        );
        let policy = POLICY.replacen(
            "rules:\n",
            "teams:\n  rte: { members: [rte-lead, reviewer] }\nrules:\n",
            1,
        );
        repo.write(".git-policy.yml", &format!("{policy}{rule}"));
    }

    fn run_(repo: &Repo, server: Option<&MockServer>) -> common::Cmd {
        let mut cmd = repo.cmd();
        cmd.args([
            "--format",
            "json",
            "audit",
            "--release",
            "1.3.0",
            "--repo",
            "octo/app",
        ])
        .env("GIT_POLICY_RETRY_DELAY", "0.01")
        .env_remove("GITHUB_JOB");
        if let Some(server) = server {
            cmd.env("GITHUB_API_URL", server.uri())
                .env("GITHUB_TOKEN", "ghp_t0ken_that_is_never_printed");
        }
        cmd
    }

    async fn serve(sha: &str, runs: Value, statuses: Value, expedited: Vec<Value>) -> MockServer {
        let server = MockServer::start().await;
        let ok = |v: Value| ResponseTemplate::new(200).set_body_json(v);
        let total = runs.as_array().map_or(0, Vec::len);
        let statuses_total = statuses.as_array().map_or(0, Vec::len);
        Mock::given(method("GET"))
            .and(path(format!("/repos/octo/app/commits/{sha}/check-runs")))
            .respond_with(ok(json!({ "total_count": total, "check_runs": runs })))
            .mount(&server)
            .await;
        Mock::given(method("GET"))
            .and(path(format!("/repos/octo/app/commits/{sha}/status")))
            .respond_with(ok(
                json!({ "state": "success", "sha": sha, "total_count": statuses_total, "statuses": statuses }),
            ))
            .mount(&server)
            .await;
        let issues: Vec<Value> = expedited.iter().map(|pr| json!({ "number": pr["number"], "title": pr["title"], "pull_request": { "url": "x" }, "labels": [{ "name": "expedited" }] })).collect();
        Mock::given(method("GET"))
            .and(path("/repos/octo/app/issues"))
            .and(query_param("labels", "expedited"))
            .respond_with(ok(Value::Array(issues)))
            .mount(&server)
            .await;
        for pr in expedited {
            let number = pr["number"].as_u64().unwrap();
            let reviews = pr["reviews"].clone();
            let timeline = pr["timeline"].clone();
            Mock::given(method("GET"))
                .and(path(format!("/repos/octo/app/issues/{number}/timeline")))
                .respond_with(ok(timeline))
                .mount(&server)
                .await;
            Mock::given(method("GET"))
                .and(path(format!("/repos/octo/app/pulls/{number}")))
                .respond_with(ok(pr))
                .mount(&server)
                .await;
            Mock::given(method("GET"))
                .and(path(format!("/repos/octo/app/pulls/{number}/reviews")))
                .respond_with(ok(reviews))
                .mount(&server)
                .await;
        }
        server
    }

    fn run(name: &str, status: &str, conclusion: Option<&str>) -> Value {
        json!({ "id": 4, "name": name, "status": status, "conclusion": conclusion, "head_sha": "x" })
    }

    async fn output(mut cmd: common::Cmd) -> (i32, Value, String) {
        let out = tokio::task::spawn_blocking(move || cmd.output().unwrap())
            .await
            .unwrap();
        let all = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(!all.contains("ghp_t0ken"), "token leaked: {all}");
        let v = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
        (
            out.status.code().unwrap(),
            v,
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    fn messages(v: &Value) -> Vec<String> {
        v["findings"]
            .as_array()
            .map(|f| {
                f.iter()
                    .map(|f| {
                        format!(
                            "{}: {}",
                            f["level"].as_str().unwrap(),
                            f["message"].as_str().unwrap()
                        )
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn green_checks_pass_and_ignored_ones_do_not_count() {
        let repo = release_repo();
        with_checks(&repo, true);
        let sha = repo.git(&["rev-parse", "HEAD"]);
        let server = serve(
            &sha,
            json!([
                run("regression", "completed", Some("success")),
                run("codecov/patch", "completed", Some("failure"))
            ]),
            json!([{ "context": "jenkins", "state": "success" }]),
            vec![],
        )
        .await;
        let (code, v, err) = output(run_(&repo, Some(&server))).await;
        assert_eq!(code, 0, "{v} {err}");
        // The Markdown report names the green checks.
        let mut markdown = run_(&repo, Some(&server));
        markdown.args(["--format", "markdown"]);
        let out = tokio::task::spawn_blocking(move || markdown.output().unwrap())
            .await
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            text.contains("## Release checks (2 passed, 0 failing, 0 pending)"),
            "{text}"
        );
        assert!(
            text.contains("- ✅ regression") && text.contains("- ✅ jenkins"),
            "{text}"
        );
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn red_and_pending_checks_block_the_release() {
        let repo = release_repo();
        with_checks(&repo, true);
        let sha = repo.git(&["rev-parse", "HEAD"]);
        let server = serve(
            &sha,
            json!([
                run("regression", "completed", Some("failure")),
                run("e2e", "in_progress", None)
            ]),
            json!([{ "context": "jenkins", "state": "pending" }]),
            vec![],
        )
        .await;
        let (code, v, _) = output(run_(&repo, Some(&server))).await;
        assert_eq!(code, 1);
        assert_eq!(
            messages(&v),
            [
                "error: checks failing on the release commit: regression (failure)",
                "error: checks still running on the release commit: e2e, jenkins"
            ]
        );
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn an_expedited_change_without_a_later_review_is_listed() {
        let repo = release_repo();
        with_checks(&repo, true);
        let sha = repo.git(&["rev-parse", "HEAD"]);
        let merged_in_range = repo.git(&["rev-parse", "HEAD~1"]);
        let labelled = |by: &str| {
            json!([
                { "event": "commented", "actor": { "login": "x" }, "created_at": "2026-11-20T08:00:00Z", "body": "##[set-output]" },
                { "event": "labeled", "actor": { "login": by }, "label": { "name": "expedited", "color": "f00" }, "created_at": "2026-11-20T09:00:00Z" }
            ])
        };
        let pr = |number: u64, title: &str, by: &str, reviews: Value| {
            json!({
            "number": number, "title": title, "user": { "login": "dev" }, "labels": [{ "name": "expedited" }],
            "merged_at": "2026-11-20T10:00:00Z", "merge_commit_sha": merged_in_range, "merged_by": { "login": "rte-lead" },
            "reviews": reviews, "timeline": labelled(by) })
        };
        let expedited = vec![
            // Approved before the merge only: no post-implementation review.
            pr(
                9,
                "Patch the gateway",
                "rte-lead",
                json!([{ "user": { "login": "reviewer" }, "state": "APPROVED", "submitted_at": "2026-11-20T09:30:00Z", "commit_id": sha }]),
            ),
            // The author's own comment after the merge is no review.
            pr(
                10,
                "Commented later",
                "rte-lead",
                json!([{ "user": { "login": "dev" }, "state": "COMMENTED", "submitted_at": "2026-11-20T12:00:00Z", "commit_id": sha }]),
            ),
            // Reviewed in time by the team, but the author labelled it: never granted.
            pr(
                12,
                "Self-granted",
                "dev",
                json!([{ "user": { "login": "reviewer" }, "state": "APPROVED", "submitted_at": "2026-11-20T12:00:00Z", "commit_id": sha }]),
            ),
            // Granted and reviewed in time: evidence, no finding.
            pr(
                13,
                "Done right",
                "rte-lead",
                json!([{ "user": { "login": "reviewer" }, "state": "APPROVED", "submitted_at": "2026-11-20T12:00:00Z", "commit_id": sha }]),
            ),
            json!({ "number": 11, "title": "Another release", "user": { "login": "dev" }, "labels": [{ "name": "expedited" }], "merged_at": "2026-10-01T10:00:00Z",
                    "merge_commit_sha": "0000000000000000000000000000000000000000", "merged_by": null, "reviews": [], "timeline": [] }),
        ];
        let server = serve(
            &sha,
            json!([run("regression", "completed", Some("success"))]),
            json!([]),
            expedited,
        )
        .await;
        let (code, v, err) = output(run_(&repo, Some(&server))).await;
        assert_eq!(code, 1, "{v} {err}");
        let found = messages(&v);
        assert_eq!(found.len(), 3, "{found:?}");
        assert!(found[0].starts_with("error: expedited pull request #9 (Patch the gateway), granted by @rte-lead and merged at 2026-11-20T10:00:00Z by @rte-lead, has no post-implementation review"), "{found:?}");
        assert!(
            found[1].starts_with("error: expedited pull request #10 (Commented later)"),
            "{found:?}"
        );
        assert!(found[2].contains("#12 (Self-granted) was merged at 2026-11-20T10:00:00Z by @rte-lead on the expedited path (`expedited`), but @dev applied the label, who may not grant it (rte)"), "{found:?}");
        // The report lists every expedited change, the good one with its evidence.
        let listed = v["release"]["expedited"].as_array().unwrap();
        assert_eq!(listed.len(), 4, "{v}");
        assert_eq!(
            listed[3],
            "expedited pull request #13 (Done right): granted by @rte-lead at 2026-11-20T09:00:00Z, merged at 2026-11-20T10:00:00Z by @rte-lead, reviewed by @reviewer at 2026-11-20T12:00:00Z (2.0 h after the merge)"
        );
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn server_errors_are_not_a_pass() {
        let repo = release_repo();
        with_checks(&repo, true);
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .respond_with(ResponseTemplate::new(503))
            .mount(&server)
            .await;
        let (code, v, _) = output(run_(&repo, Some(&server))).await;
        assert_eq!(code, 2);
        assert_eq!(v["passed"], Value::Null);
        assert!(
            v["error"]["message"]
                .as_str()
                .unwrap()
                .contains("(503) (after 3 attempts)"),
            "{v}"
        );
    }

    #[test]
    fn without_a_token_the_checks_are_reported_not_checked() {
        let repo = release_repo();
        with_checks(&repo, false);
        let out = run_(&repo, None)
            .env_remove("GITHUB_TOKEN")
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0), "a warning when not required");
        let v: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert!(
            messages(&v)
                .iter()
                .all(|m| m.starts_with("warning: ") && m.contains("not checked")),
            "{:?}",
            messages(&v)
        );
        with_checks(&repo, true);
        run_(&repo, None)
            .env_remove("GITHUB_TOKEN")
            .assert()
            .code(1);
    }

    /// Check runs and statuses are read whole: a list shorter than its
    /// `total_count` is not a green release.
    #[tokio::test(flavor = "multi_thread")]
    async fn checks_listed_short_of_their_total_are_not_green() {
        let repo = release_repo();
        with_checks(&repo, true);
        let sha = repo.git(&["rev-parse", "HEAD"]);
        for (runs_total, statuses_total, named) in [(2, 0, "check-runs"), (1, 3, "/status")] {
            let server = MockServer::start().await;
            let ok = |v: Value| ResponseTemplate::new(200).set_body_json(v);
            Mock::given(method("GET"))
                .and(path(format!("/repos/octo/app/commits/{sha}/check-runs")))
                .respond_with(ok(json!({ "total_count": runs_total,
                    "check_runs": [run("regression", "completed", Some("success"))] })))
                .mount(&server)
                .await;
            Mock::given(method("GET"))
                .and(path(format!("/repos/octo/app/commits/{sha}/status")))
                .respond_with(ok(json!({ "state": "success", "sha": sha, "total_count": statuses_total, "statuses": [] })))
                .mount(&server)
                .await;
            Mock::given(method("GET"))
                .and(path("/repos/octo/app/issues"))
                .respond_with(ok(json!([])))
                .mount(&server)
                .await;
            let (code, v, err) = output(run_(&repo, Some(&server))).await;
            assert_eq!(code, 2, "{v} {err}");
            let said = format!("{v}{err}");
            assert!(said.contains("announced") && said.contains(named), "{said}");
        }
    }
}

/// A missing release page is a finding with the others (exit 1: not ready),
/// not a stop (exit 2) that hides every other finding of the release.
#[test]
fn a_missing_release_page_is_a_finding_beside_the_others() {
    let repo = release_repo();
    repo.commit("Quick fix without a ticket");
    let out = repo
        .cmd()
        .args(["audit", "--release", "9.9.9"])
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{said}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        said.contains("the release page `docs/releases/9.9.9.md` at ")
            && said.contains("is not there"),
        "{said}"
    );
    assert!(
        said.contains("write and commit the page, or pass --page FILE"),
        "{said}"
    );
}

/// Tickets sort naturally in every report: EPL-842 before EPL-1200.
#[test]
fn tickets_in_reports_sort_naturally() {
    let repo = Repo::new("main");
    repo.write(".git-policy.yml", POLICY);
    repo.git(&["add", "."]);
    repo.git(&["commit", "-q", "-m", "EPL-1 initial"]);
    repo.git(&["tag", "v1.2.0"]);
    repo.commit("EPL-1200 Later ticket");
    repo.commit("EPL-842 Earlier ticket");
    repo.commit("EPL-99 Small ticket");
    let page = "## Changes\n- EPL-1200\n\n## Post-deployment snapshot\nPending\n";
    std::fs::write(repo.path().join("page.md"), page).unwrap();
    let out = repo
        .cmd()
        .args([
            "--format",
            "json",
            "audit",
            "--release",
            "1.3.0",
            "--page",
            "page.md",
        ])
        .output()
        .unwrap();
    let v = json(&out);
    let ids: Vec<&str> = v["release"]["tickets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["EPL-99", "EPL-842", "EPL-1200"], "{v}");
    assert_eq!(
        v["release"]["missing"],
        serde_json::json!(["EPL-99", "EPL-842"]),
        "{v}"
    );
    let out = repo
        .cmd()
        .args([
            "--format",
            "markdown",
            "audit",
            "--release",
            "1.3.0",
            "--page",
            "page.md",
        ])
        .output()
        .unwrap();
    let md = String::from_utf8_lossy(&out.stdout);
    let table = md.split("## Tickets").nth(1).unwrap_or_default();
    let at = |id: &str| table.find(id).unwrap_or_else(|| panic!("{id}: {md}"));
    assert!(
        at("EPL-99") < at("EPL-842") && at("EPL-842") < at("EPL-1200"),
        "{md}"
    );
}

/// The range starts at the project's release tags whatever their style:
/// `v1.2.3`, `1.2.3`, `release-1.2.3`, `project-1.2.3`, and a project name
/// with digits in it (`log4j-1.2.0`, `h2-1.2.0`, once read as no version).
#[test]
fn release_tags_of_every_style_start_the_range() {
    for (previous, next) in [
        ("v1.2.0", "v1.3.0"),
        ("1.2.0", "1.3.0"),
        ("release-1.2.0", "release-1.3.0"),
        ("project-1.2.0", "project-1.3.0"),
        ("log4j-1.2.0", "log4j-1.3.0"),
        ("h2-1.2.0", "h2-1.3.0"),
        ("releases/v1.2.0", "releases/v1.3.0"),
    ] {
        let repo = Repo::new("main");
        repo.write(".git-policy.yml", POLICY);
        repo.git(&["add", "."]);
        repo.git(&["commit", "-q", "-m", "EPL-1 initial"]);
        repo.git(&["tag", "-a", "-m", "older", "v0.9.0"]);
        repo.commit("EPL-5 Between the releases");
        repo.git(&["tag", previous]);
        repo.commit("EPL-2 After the release");
        std::fs::write(repo.path().join("page.md"), PAGE).unwrap();
        let out = repo
            .cmd()
            .args([
                "--format",
                "json",
                "audit",
                "--release",
                "1.3.0",
                "--page",
                "page.md",
            ])
            .output()
            .unwrap();
        let v = json(&out);
        assert_eq!(v["release"]["range"], format!("{previous}..HEAD"), "{v}");
        // A tag on the end commit gives the version.
        repo.git(&["tag", next]);
        let out = repo
            .cmd()
            .args([
                "--format",
                "json",
                "audit",
                &format!("{previous}..HEAD"),
                "--page",
                "page.md",
            ])
            .output()
            .unwrap();
        assert_eq!(json(&out)["release"]["version"], "1.3.0", "{next}");
    }
}

/// Release candidates of the version audited are no release to start from:
/// releasing 3.9.4 after `release-3.9.4-0` and `-1` (ZooKeeper's RC tags),
/// the range starts at 3.9.3, not at the last candidate; a tag of a later
/// version is skipped too. Without a version, final releases win over
/// pre-releases.
#[test]
fn release_candidates_of_the_audited_version_do_not_start_the_range() {
    let repo = Repo::new("main");
    repo.write(".git-policy.yml", POLICY);
    repo.git(&["add", "."]);
    repo.git(&["commit", "-q", "-m", "EPL-1 initial"]);
    repo.git(&["tag", "release-3.9.3"]);
    repo.commit("EPL-2 First fix");
    repo.git(&["tag", "release-3.9.4-0"]);
    repo.commit("EPL-3 Second fix");
    repo.git(&["tag", "release-3.9.4-1"]);
    repo.git(&["tag", "release-4.0.0-alpha"]);
    repo.commit("EPL-2 Prepared 3.9.4");
    std::fs::write(repo.path().join("page.md"), PAGE).unwrap();
    let range = |args: &[&str]| {
        let out = repo
            .cmd()
            .args(["--format", "json", "audit", "--page", "page.md"])
            .args(args)
            .output()
            .unwrap();
        json(&out)["release"]["range"]
            .as_str()
            .unwrap_or("")
            .to_owned()
    };
    assert_eq!(range(&["--release", "3.9.4"]), "release-3.9.3..HEAD");
    assert_eq!(range(&[]), "release-3.9.3..HEAD");
    // The release tag on HEAD gives the version (its RC tag there too).
    repo.git(&["tag", "release-3.9.4"]);
    repo.git(&["tag", "release-3.9.4-2"]);
    assert_eq!(range(&[]), "release-3.9.3..HEAD");
    // The next release starts at this one (not at its RC tag on the same commit).
    repo.commit("EPL-9 Prepared 3.9.5-SNAPSHOT");
    assert_eq!(range(&["--release", "3.9.5"]), "release-3.9.4..HEAD");
}

/// The nearest release on HEAD's history starts the range, through merges:
/// a maintenance branch's tags that HEAD does not contain do not count, and
/// a release merged in from another line is found through the merge.
#[test]
fn the_start_tag_is_found_through_merges_and_not_on_other_branches() {
    let repo = Repo::new("main");
    repo.write(".git-policy.yml", POLICY);
    repo.git(&["add", "."]);
    repo.git(&["commit", "-q", "-m", "EPL-1 initial"]);
    repo.git(&["tag", "v1.0.0"]);
    repo.git(&["switch", "-q", "-c", "maintenance"]);
    repo.commit("EPL-7 Backport");
    repo.git(&["tag", "v1.0.1"]);
    repo.git(&["switch", "-q", "main"]);
    repo.commit("EPL-2 Work on main");
    repo.git(&["tag", "v1.1.0"]);
    repo.git(&["switch", "-q", "-c", "feature"]);
    repo.commit("EPL-3 Feature");
    repo.git(&["switch", "-q", "main"]);
    repo.commit("EPL-4 More work");
    repo.git(&[
        "merge",
        "-q",
        "--no-ff",
        "-m",
        "EPL-3 Merge the feature",
        "feature",
    ]);
    repo.git(&["tag", "v2.5.0", "maintenance"]);
    std::fs::write(repo.path().join("page.md"), PAGE).unwrap();
    let out = repo
        .cmd()
        .args([
            "--format",
            "json",
            "audit",
            "--release",
            "1.2.0",
            "--page",
            "page.md",
        ])
        .output()
        .unwrap();
    assert_eq!(json(&out)["release"]["range"], "v1.1.0..HEAD");
    // Merged into main, the maintenance line's release is found too; the
    // higher of the nearest releases starts the range.
    repo.git(&[
        "merge",
        "-q",
        "--no-ff",
        "-m",
        "EPL-7 Merge maintenance",
        "maintenance",
    ]);
    let out = repo
        .cmd()
        .args([
            "--format",
            "json",
            "audit",
            "--release",
            "3.0.0",
            "--page",
            "page.md",
        ])
        .output()
        .unwrap();
    assert_eq!(json(&out)["release"]["range"], "v2.5.0..HEAD");
}

/// The audit keeps only each commit's subject unless a release rule reads
/// more (memory: 100,000 messages are 60 MB). Rules that read the bodies —
/// the first page rule (its tickets gathered during the walk), a second page
/// rule, an incident rule — still see them, and the summary still shows the
/// subject of a commit without a ticket.
#[test]
fn release_rules_that_read_bodies_still_see_them_when_only_subjects_are_kept() {
    let first = r#"version: 1
tickets:
  jira: { pattern: '\bEPL-[0-9]+\b' }
  incidents: { pattern: '\bINC-[0-9]+\b', incident: true }
rules:
  - id: release-page
    on: [release]
    require: { release_page: { sections: [Changes], lists_all_tickets: true, tickets_in: [message] } }
"#;
    let body_page = "  - id: body-tickets\n    on: [release]\n    require: { release_page: { sections: [Changes], lists_all_tickets: true, tickets_in: [body] } }\n";
    let incidents = "  - id: incident-tests\n    on: [release]\n    require: { incident_tests: { tests: ['tests/**'] } }\n";
    let repo = Repo::new("main");
    repo.commit("EPL-1 initial");
    repo.git(&["tag", "v1.2.0"]);
    repo.commit("EPL-5 Retry the login\n\nAlso EPL-6, after INC-9.");
    repo.commit("Tidy up the invoices\n\nA long body that names no ticket at all.");
    std::fs::write(repo.path().join("page.md"), "## Changes\n- EPL-5\n").unwrap();
    let audit = |policy: &str| {
        std::fs::write(repo.path().join("policy.yml"), policy).unwrap();
        let out = repo
            .cmd()
            .args(["--policy", "policy.yml", "--format", "json", "audit"])
            .args(["--release", "1.3.0", "--page", "page.md"])
            .output()
            .unwrap();
        assert_eq!(
            out.status.code(),
            Some(1),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        json(&out)
    };
    let messages = |v: &serde_json::Value| -> Vec<String> {
        let mut found: Vec<String> = v["findings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| {
                format!(
                    "{}: {}",
                    f["rule"].as_str().unwrap(),
                    f["message"].as_str().unwrap()
                )
            })
            .map(|m| {
                regex::Regex::new("[0-9a-f]{10}")
                    .unwrap()
                    .replace_all(&m, "<sha>")
                    .into_owned()
            })
            .collect();
        found.sort();
        found
    };
    let v = audit(first);
    assert_eq!(v["release"]["missing"], serde_json::json!(["EPL-6"]), "{v}");
    assert_eq!(
        v["release"]["without_ticket"][0]["subject"], "Tidy up the invoices",
        "{v}"
    );
    assert_eq!(
        messages(&v),
        ["release-page: ticket EPL-6 (commit <sha>) is not on the release page"]
    );
    let v = audit(&format!("{first}{body_page}{incidents}"));
    assert_eq!(
        messages(&v),
        [
            "body-tickets: ticket EPL-5 is on the release page, but no commit of v1.2.0..HEAD names it",
            "body-tickets: ticket EPL-6 (commit <sha>) is not on the release page",
            "incident-tests: incident INC-9 (commit <sha>) has no regression test: no test file references it",
            "release-page: ticket EPL-6 (commit <sha>) is not on the release page",
        ],
        "{v}"
    );
}
