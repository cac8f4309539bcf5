//! `check pr --comment --request-reviews` against a local GitHub that keeps
//! state between runs (the pull request, its reviews, its comments, its
//! requested reviewers), answering in the real API's shapes. Each test
//! asserts the exact writes (method, path, body) the runs made.

mod common;

use std::sync::{Arc, Mutex};

use common::github::{BASE, HEAD, TOKEN, commit, file, output_of, pr_json, review};
use serde_json::{Value, json};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate, matchers::any};

/// The policy of the pull request sequence: one rule per part of the comment.
const POLICY: &str = r#"version: 1
tickets: { jira: { pattern: '\bEPL-[0-9]+\b', url: 'https://jira.example.com/browse/{id}' } }
teams:
  platform-engineering: { members: [asherman, agaete, rdetjens] }
  rte: { github: octo/release-train }
paths:
  iac: ['*.tf', 'terraform/**']
kinds:
  bug: { labels: [bug] }
rules:
  - id: draft-until-ready
    on: [pull_request]
    require: { ready: true }
  - id: bug-steps
    on: [pull_request]
    when: { kind: bug }
    require: { sections: [{ heading: 'Steps to reproduce', min_words: 5 }] }
  - id: pr-ticket
    on: [pull_request]
    require: { ticket: { in: [title, body, branch] } }
  - id: bug-priority
    on: [pull_request]
    when: { kind: bug }
    require: { labels: { one_of: [critical, major, minor] } }
  - id: iac-approval
    on: [pull_request]
    when: { changed: [iac] }
    require: { approval: { teams: [platform-engineering], fresh: head, request: true } }
  - id: rte-review
    on: [pull_request]
    when: { labels: [needs-rte] }
    require: { approval: { teams: [rte], request: true } }
"#;

const FORBIDDEN: &str = r#"{"message":"Resource not accessible by integration","documentation_url":"https://docs.github.com/rest/issues/comments#create-an-issue-comment"}"#;

/// What GitHub holds about octo/app#42.
struct State {
    pr: Value,
    reviews: Vec<Value>,
    files: Vec<Value>,
    commits: Vec<Value>,
    /// (id, login, type, body)
    comments: Vec<(u64, String, String, String)>,
    next_id: u64,
    requested_users: Vec<String>,
    requested_teams: Vec<String>,
    /// The token cannot write (a `pull_request` run from a fork).
    read_only: bool,
    /// Another run posts its comment when this many comment lists have been read.
    rival_at_list: Option<usize>,
    /// Another run posts its comment just before this run's POST lands.
    rival_at_create: bool,
    lists: usize,
    /// Every write, as `METHOD path body`.
    writes: Vec<String>,
}

impl State {
    fn comment_json(&self, c: &(u64, String, String, String)) -> Value {
        json!({
            "id": c.0, "node_id": "IC_kwDOA", "url": format!("https://api.github.com/repos/octo/app/issues/comments/{}", c.0),
            "html_url": format!("https://github.com/octo/app/pull/42#issuecomment-{}", c.0),
            "body": c.3,
            "user": { "login": c.1, "id": 41898282, "node_id": "MDM6Qm90NDE4OTgyODI=", "type": c.2, "site_admin": false },
            "created_at": "2026-11-20T17:00:00Z", "updated_at": "2026-11-20T17:00:00Z",
            "issue_url": "https://api.github.com/repos/octo/app/issues/42",
            "author_association": "NONE", "performed_via_github_app": null
        })
    }

    fn rival(&mut self, body: &str) {
        let id = self.next_id;
        self.next_id += 1;
        self.comments.push((
            id,
            "github-actions[bot]".into(),
            "Bot".into(),
            body.to_owned(),
        ));
    }
}

#[derive(Clone)]
struct FakeGitHub(Arc<Mutex<State>>);

impl Respond for FakeGitHub {
    fn respond(&self, req: &Request) -> ResponseTemplate {
        let mut s = self.0.lock().unwrap();
        let at = req.url.path().to_owned();
        let verb = req.method.as_str().to_owned();
        let body: Value = serde_json::from_slice(&req.body).unwrap_or(Value::Null);
        if verb != "GET" {
            s.writes.push(format!("{verb} {at} {body}"));
            if s.read_only {
                return ResponseTemplate::new(403)
                    .set_body_raw(FORBIDDEN, "application/json; charset=utf-8");
            }
        }
        let ok = |v: Value| ResponseTemplate::new(200).set_body_json(v);
        match (verb.as_str(), at.as_str()) {
            ("GET", "/user") => ResponseTemplate::new(403)
                .set_body_raw(FORBIDDEN, "application/json; charset=utf-8"),
            ("GET", "/repos/octo/app/pulls/42") => {
                let mut pr = s.pr.clone();
                pr["changed_files"] = json!(s.files.len());
                pr["commits"] = json!(s.commits.len());
                ok(pr)
            }
            ("GET", "/repos/octo/app/pulls/42/reviews") => ok(Value::Array(s.reviews.clone())),
            ("GET", "/repos/octo/app/pulls/42/files") => ok(Value::Array(s.files.clone())),
            ("GET", "/repos/octo/app/pulls/42/commits") => ok(Value::Array(s.commits.clone())),
            ("GET", "/orgs/octo/teams/release-train/members") => ok(json!([
                { "login": "lee", "id": 3, "type": "User" }, { "login": "kim", "id": 4, "type": "User" }
            ])),
            ("GET", "/repos/octo/app/issues/42/comments") => {
                s.lists += 1;
                if s.rival_at_list == Some(s.lists) {
                    let theirs = s
                        .comments
                        .iter()
                        .find(|c| c.1 == "github-actions[bot]")
                        .map(|c| c.3.clone());
                    let body = theirs.unwrap_or_else(|| marker_of_job("merge-gate") + "\nrival");
                    s.rival(&body);
                }
                let list: Vec<Value> = s.comments.iter().map(|c| s.comment_json(c)).collect();
                ok(Value::Array(list))
            }
            ("POST", "/repos/octo/app/issues/42/comments") => {
                let text = body["body"].as_str().unwrap().to_owned();
                if s.rival_at_create {
                    s.rival(&format!("{}\nrival", text.lines().next().unwrap()));
                }
                let id = s.next_id;
                s.next_id += 1;
                let made = (id, "github-actions[bot]".into(), "Bot".into(), text);
                let answer = s.comment_json(&made);
                s.comments.push(made);
                ResponseTemplate::new(201).set_body_json(answer)
            }
            ("PATCH", p) if p.starts_with("/repos/octo/app/issues/comments/") => {
                let id: u64 = p.rsplit('/').next().unwrap().parse().unwrap();
                let text = body["body"].as_str().unwrap().to_owned();
                let Some(i) = s.comments.iter().position(|c| c.0 == id) else {
                    return ResponseTemplate::new(404);
                };
                s.comments[i].3 = text;
                let answer = s.comment_json(&s.comments[i]);
                ok(answer)
            }
            ("DELETE", p) if p.starts_with("/repos/octo/app/issues/comments/") => {
                let id: u64 = p.rsplit('/').next().unwrap().parse().unwrap();
                s.comments.retain(|c| c.0 != id);
                ResponseTemplate::new(204)
            }
            ("GET", "/repos/octo/app/pulls/42/requested_reviewers") => ok(json!({
                "users": s.requested_users.iter().map(|l| json!({ "login": l, "id": 9, "type": "User", "site_admin": false })).collect::<Vec<_>>(),
                "teams": s.requested_teams.iter().map(|t| json!({ "id": 1, "node_id": "MDQ6VGVhbTE=", "name": t, "slug": t, "description": "", "privacy": "closed", "permission": "pull", "parent": null })).collect::<Vec<_>>(),
            })),
            ("POST", "/repos/octo/app/pulls/42/requested_reviewers") => {
                for l in body["reviewers"].as_array().into_iter().flatten() {
                    s.requested_users.push(l.as_str().unwrap().to_owned());
                }
                for t in body["team_reviewers"].as_array().into_iter().flatten() {
                    s.requested_teams.push(t.as_str().unwrap().to_owned());
                }
                let mut pr = s.pr.clone();
                pr["requested_reviewers"] = json!(s.requested_users.iter().map(|l| json!({ "login": l })).collect::<Vec<_>>());
                ResponseTemplate::new(201).set_body_json(pr)
            }
            _ => ResponseTemplate::new(404)
                .set_body_json(json!({ "message": "Not Found", "documentation_url": "https://docs.github.com/rest" })),
        }
    }
}

fn marker_of_job(job: &str) -> String {
    format!("<!-- git-policy:comment workflow=CI job={job} -->")
}

struct Fake {
    server: MockServer,
    state: Arc<Mutex<State>>,
    dir: tempfile::TempDir,
}

impl Fake {
    async fn new(pr: Value, files: &[&str], policy: &str) -> Fake {
        let state = Arc::new(Mutex::new(State {
            pr,
            reviews: vec![],
            files: files.iter().map(|f| file(f)).collect(),
            commits: vec![commit(HEAD, "EPL-7 fix the route")],
            comments: vec![],
            next_id: 1000,
            requested_users: vec![],
            requested_teams: vec![],
            read_only: false,
            rival_at_list: None,
            rival_at_create: false,
            lists: 0,
            writes: vec![],
        }));
        let server = MockServer::start().await;
        Mock::given(any())
            .respond_with(FakeGitHub(state.clone()))
            .mount(&server)
            .await;
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("policy.yml"), policy).unwrap();
        Fake { server, state, dir }
    }

    fn with<T>(&self, f: impl FnOnce(&mut State) -> T) -> T {
        f(&mut self.state.lock().unwrap())
    }

    /// Runs `check pr` for octo/app#42 as the `merge-gate` job of workflow `CI`.
    async fn run(&self, args: &[&str]) -> std::process::Output {
        self.run_as("merge-gate", args).await
    }

    async fn run_as(&self, job: &str, args: &[&str]) -> std::process::Output {
        let mut cmd = common::git_policy(self.dir.path());
        cmd.env("GITHUB_API_URL", self.server.uri())
            .env("GITHUB_TOKEN", TOKEN)
            .env("GIT_POLICY_RETRY_DELAY", "0.01")
            .env("GITHUB_WORKFLOW", "CI")
            .env("GITHUB_JOB", job)
            .env_remove("GITHUB_REPOSITORY")
            .env_remove("GITHUB_EVENT_NAME")
            .env_remove("GIT_POLICY_COMMENT_AUTHOR")
            .args([
                "--policy",
                "policy.yml",
                "check",
                "pr",
                "--repo",
                "octo/app",
            ])
            .args(["--number", "42"])
            .args(args);
        let out = output_of(cmd).await;
        for write in self.with(|s| s.writes.clone()) {
            assert!(
                !write.contains(TOKEN),
                "the token was written to GitHub: {write}"
            );
        }
        out
    }

    /// The writes since the last call, as `METHOD path body`.
    fn writes(&self) -> Vec<String> {
        self.with(|s| std::mem::take(&mut s.writes))
    }

    /// The bodies of the comments on the pull request, oldest first.
    fn comments(&self) -> Vec<String> {
        self.with(|s| s.comments.iter().map(|c| c.3.clone()).collect())
    }

    /// The one comment there is.
    fn the_comment(&self) -> String {
        let all = self.comments();
        assert_eq!(all.len(), 1, "{all:#?}");
        all[0].clone()
    }
}

fn code(out: &std::process::Output) -> i32 {
    out.status.code().unwrap_or(-1)
}

fn text(out: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn methods_and_paths(writes: &[String]) -> Vec<String> {
    writes
        .iter()
        .map(|w| w.splitn(3, ' ').take(2).collect::<Vec<_>>().join(" "))
        .collect()
}

fn vpc_fix(draft: bool) -> Value {
    let mut pr = pr_json(42, "Fix the VPC route", None, draft, &["bug"]);
    pr["head"]["ref"] = json!("fix-vpc-route");
    pr
}

const STEPS: &str =
    "## Steps to reproduce\n\nDeploy the staging stack, then call the payments API from the VPC.\n";

/// The Done-when sequence: opened as draft, ready for review, edited,
/// approved by the wrong person, approved by the team.
#[tokio::test(flavor = "multi_thread")]
async fn a_pull_request_from_draft_to_merge() {
    let gh = Fake::new(vpc_fix(true), &["terraform/vpc.tf"], POLICY).await;
    let args = ["--comment", "--request-reviews"];

    // 1. Opened as draft: one comment, everything left, no review request.
    let out = gh.run(&args).await;
    assert_eq!(code(&out), 1, "{}", text(&out));
    assert_eq!(
        methods_and_paths(&gh.writes()),
        ["POST /repos/octo/app/issues/42/comments"]
    );
    insta::assert_snapshot!("1_opened_as_draft", gh.the_comment());

    // 2. Ready for review: the draft item goes, the team is asked (one
    //    approval missing: one reviewer, in policy order).
    gh.with(|s| s.pr["draft"] = json!(false));
    let out = gh.run(&args).await;
    assert_eq!(code(&out), 1, "{}", text(&out));
    let writes = gh.writes();
    assert_eq!(
        writes[0],
        r#"POST /repos/octo/app/pulls/42/requested_reviewers {"reviewers":["asherman"]}"#
    );
    assert_eq!(
        methods_and_paths(&writes[1..]),
        ["PATCH /repos/octo/app/issues/comments/1000"]
    );
    insta::assert_snapshot!("2_ready_for_review", gh.the_comment());

    // 3. Edited: ticket, steps and priority given; only the approval is left.
    //    Nobody is asked twice.
    gh.with(|s| {
        s.pr["title"] = json!("EPL-7 Fix the VPC route");
        s.pr["body"] = json!(STEPS);
        s.pr["labels"] = json!([{ "id": 1, "name": "bug" }, { "id": 2, "name": "major" }]);
    });
    let out = gh.run(&args).await;
    assert_eq!(code(&out), 1, "{}", text(&out));
    assert_eq!(
        methods_and_paths(&gh.writes()),
        ["PATCH /repos/octo/app/issues/comments/1000"]
    );
    insta::assert_snapshot!("3_edited", gh.the_comment());

    // A re-run on the same facts writes nothing.
    let out = gh.run(&args).await;
    assert_eq!(code(&out), 1);
    assert_eq!(gh.writes(), Vec::<String>::new());

    // 4. Approved by someone outside the team: still missing, and the
    //    comment says why that approval does not count. No new request:
    //    asherman is still asked.
    gh.with(|s| s.reviews = vec![review("octocat", "APPROVED", HEAD)]);
    let out = gh.run(&args).await;
    assert_eq!(code(&out), 1, "{}", text(&out));
    assert_eq!(
        methods_and_paths(&gh.writes()),
        ["PATCH /repos/octo/app/issues/comments/1000"]
    );
    insta::assert_snapshot!("4_approved_by_the_wrong_person", gh.the_comment());

    // 5. Approved by the team (GitHub drops asherman's request once he
    //    reviews): the comment is edited to "all met", not deleted.
    gh.with(|s| {
        s.reviews.push(review("asherman", "APPROVED", HEAD));
        s.requested_users.clear();
    });
    let out = gh.run(&args).await;
    assert_eq!(code(&out), 0, "{}", text(&out));
    assert_eq!(
        methods_and_paths(&gh.writes()),
        ["PATCH /repos/octo/app/issues/comments/1000"]
    );
    insta::assert_snapshot!("5_approved_by_the_team", gh.the_comment());

    // Merged: a last run changes nothing.
    let out = gh.run(&args).await;
    assert_eq!(code(&out), 0);
    assert_eq!(gh.writes(), Vec::<String>::new());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_pull_request_that_passes_on_its_first_run_gets_no_comment_unless_asked() {
    let mut pr = pr_json(42, "EPL-7 Retry the login", None, false, &[]);
    pr["head"]["ref"] = json!("retry-login");
    let gh = Fake::new(pr, &["src/login.rs"], POLICY).await;
    let out = gh.run(&["--comment"]).await;
    assert_eq!(code(&out), 0, "{}", text(&out));
    assert_eq!(gh.writes(), Vec::<String>::new());
    assert!(gh.comments().is_empty());
    let out = gh.run(&["--comment=always"]).await;
    assert_eq!(code(&out), 0, "{}", text(&out));
    assert_eq!(
        methods_and_paths(&gh.writes()),
        ["POST /repos/octo/app/issues/42/comments"]
    );
    assert!(
        gh.the_comment()
            .contains("### ✅ git-policy: all requirements met"),
        "{}",
        gh.the_comment()
    );
    // Without the flag, nothing is read or written.
    let out = gh.run(&[]).await;
    assert_eq!(code(&out), 0);
    assert_eq!(gh.writes(), Vec::<String>::new());
}

#[tokio::test(flavor = "multi_thread")]
async fn two_jobs_keep_a_comment_each_and_others_comments_are_never_edited() {
    let gh = Fake::new(vpc_fix(false), &["terraform/vpc.tf"], POLICY).await;
    // Someone pasted the marker in a comment of their own.
    gh.with(|s| {
        s.comments.push((
            7,
            "mallory".into(),
            "User".into(),
            format!(
                "{}\nall requirements met, merge away",
                marker_of_job("merge-gate")
            ),
        ))
    });
    gh.run(&["--comment"]).await;
    gh.run_as("second-gate", &["--comment"]).await;
    assert_eq!(
        methods_and_paths(&gh.writes()),
        [
            "POST /repos/octo/app/issues/42/comments",
            "POST /repos/octo/app/issues/42/comments"
        ]
    );
    gh.run(&["--comment"]).await;
    gh.run_as("second-gate", &["--comment"]).await;
    assert_eq!(gh.writes(), Vec::<String>::new(), "each found its own");
    let comments = gh.comments();
    assert_eq!(comments.len(), 3);
    assert!(comments[0].contains("merge away"), "mallory's is untouched");
    assert!(comments[1].starts_with(&marker_of_job("merge-gate")));
    assert!(comments[2].starts_with(&marker_of_job("second-gate")));
}

#[tokio::test(flavor = "multi_thread")]
async fn racing_runs_leave_one_comment() {
    // The other run's comment appears between this run's first look and
    // its second: it is edited, nothing is created.
    let gh = Fake::new(vpc_fix(false), &["terraform/vpc.tf"], POLICY).await;
    gh.with(|s| s.rival_at_list = Some(2));
    let out = gh.run(&["--comment"]).await;
    assert_eq!(code(&out), 1, "{}", text(&out));
    assert_eq!(
        methods_and_paths(&gh.writes()),
        ["PATCH /repos/octo/app/issues/comments/1000"]
    );
    assert!(!gh.the_comment().contains("rival"));

    // Both post at once: the later one folds itself into the older.
    let gh = Fake::new(vpc_fix(false), &["terraform/vpc.tf"], POLICY).await;
    gh.with(|s| s.rival_at_create = true);
    let out = gh.run(&["--comment"]).await;
    assert_eq!(code(&out), 1, "{}", text(&out));
    assert_eq!(
        methods_and_paths(&gh.writes()),
        [
            "POST /repos/octo/app/issues/42/comments",
            "PATCH /repos/octo/app/issues/comments/1000",
            "DELETE /repos/octo/app/issues/comments/1001"
        ]
    );
    let left = gh.the_comment();
    assert!(!left.contains("rival") && left.contains("left before this can merge"));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_read_only_token_leaves_the_verdict_and_says_why() {
    for (pr, expected) in [(vpc_fix(false), 1), (vpc_fix(true), 1)] {
        let gh = Fake::new(pr, &["terraform/vpc.tf"], POLICY).await;
        gh.with(|s| s.read_only = true);
        let summary = gh.dir.path().join("summary.md");
        let cmd_args = ["--comment", "--request-reviews"];
        let out = {
            let mut cmd = common::git_policy(gh.dir.path());
            cmd.env("GITHUB_API_URL", gh.server.uri())
                .env("GITHUB_TOKEN", TOKEN)
                .env("GITHUB_ACTIONS", "true")
                .env("GITHUB_STEP_SUMMARY", &summary)
                .env("GITHUB_WORKFLOW", "CI")
                .env("GITHUB_JOB", "merge-gate")
                .args([
                    "--policy",
                    "policy.yml",
                    "check",
                    "pr",
                    "--repo",
                    "octo/app",
                ])
                .args(["--number", "42"])
                .args(cmd_args);
            output_of(cmd).await
        };
        assert_eq!(code(&out), expected, "{}", text(&out));
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            stdout.contains("::notice title=git-policy%3A pull request comment::git-policy did not write the pull request comment: GitHub refused the token (403: Resource not accessible by integration)"),
            "{stdout}"
        );
        // The notice names a section the docs have.
        let docs = std::fs::read_to_string(common::root().join("docs/github-action.md")).unwrap();
        let section = stdout
            .split("(docs/github-action.md, \"")
            .nth(1)
            .and_then(|rest| rest.split('"').next())
            .unwrap_or_else(|| panic!("no docs section named: {stdout}"));
        assert!(docs.contains(&format!("\n## {section}\n")), "{section}");
        // Annotations where the author looks: the changed file an approval
        // is about; the description's findings on no file (not the policy).
        assert!(
            stdout.contains("::error title=git-policy%3A iac-approval,file=terraform/vpc.tf::"),
            "{stdout}"
        );
        assert!(
            stdout.contains("::error title=git-policy%3A bug-steps::"),
            "{stdout}"
        );
        assert!(!stdout.contains("policy.yml"), "{stdout}");
        let summary = std::fs::read_to_string(summary).unwrap();
        assert!(
            summary.contains("| `iac-approval` | ❌ error |"),
            "{summary}"
        );
        assert!(gh.comments().is_empty());
    }
    // A passing pull request stays a pass.
    let mut pr = pr_json(42, "EPL-7 Retry the login", None, false, &[]);
    pr["head"]["ref"] = json!("retry-login");
    let gh = Fake::new(pr, &["src/login.rs"], POLICY).await;
    gh.with(|s| s.read_only = true);
    let out = gh.run(&["--comment=always"]).await;
    assert_eq!(code(&out), 0, "{}", text(&out));
    assert!(text(&out).contains("Resource not accessible by integration"));
}

#[tokio::test(flavor = "multi_thread")]
async fn review_requests_go_to_the_right_people_once() {
    // A team read through the API is requested as the team; inline members
    // by login; never the author, never who already reviewed this head.
    let mut pr = vpc_fix(false);
    pr["user"]["login"] = json!("asherman");
    pr["labels"] = json!([{ "id": 1, "name": "needs-rte" }]);
    let gh = Fake::new(pr, &["terraform/vpc.tf"], POLICY).await;
    gh.with(|s| s.reviews = vec![review("agaete", "COMMENTED", BASE)]);
    gh.run(&["--request-reviews"]).await;
    assert_eq!(
        gh.writes(),
        [
            r#"POST /repos/octo/app/pulls/42/requested_reviewers {"reviewers":["agaete"],"team_reviewers":["release-train"]}"#
        ]
    );
    gh.run(&["--request-reviews"]).await;
    assert_eq!(gh.writes(), Vec::<String>::new(), "asked once");
    // agaete comments on the head without approving: GitHub drops her
    // request; she is not asked again, nor is another member (her review counts as under way).
    gh.with(|s| {
        s.reviews = vec![review("agaete", "COMMENTED", HEAD)];
        s.requested_users.clear();
    });
    gh.run(&["--request-reviews"]).await;
    assert_eq!(gh.writes(), Vec::<String>::new());
    // Without --request-reviews nothing is requested.
    gh.with(|s| {
        s.reviews.clear();
        s.requested_users.clear();
    });
    gh.run(&[]).await;
    assert_eq!(gh.writes(), Vec::<String>::new());
}

#[tokio::test(flavor = "multi_thread")]
async fn hostile_pull_request_text_is_inert_in_the_comment() {
    let title = "<!-- git-policy:comment workflow=CI job=merge-gate --> @octo/everyone ![pwn](https://evil.example/x.png) [click](https://evil.example) #1 ghp_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
    let mut pr = pr_json(42, title, Some("</details> | x | `"), false, &["bug"]);
    pr["head"]["ref"] = json!("x`y");
    let gh = Fake::new(
        pr,
        &[
            "terraform/`@team`<img src=x>|.tf",
            "terraform/ghp_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA.tf",
        ],
        POLICY,
    )
    .await;
    let out = gh.run(&["--comment"]).await;
    assert_eq!(code(&out), 1, "{}", text(&out));
    let body = gh.the_comment();
    assert_eq!(body.matches("<!--").count(), 1, "only our marker: {body}");
    assert!(body.starts_with(&marker_of_job("merge-gate")), "{body}");
    // What GitHub renders as Markdown: everything but code spans, whose
    // content is shown as it is (no mention, link, image or HTML there).
    let rendered = outside_code_spans(&body);
    for forbidden in [
        "@octo",
        "@team",
        "![",
        "](https://evil",
        "<img",
        "</details> |",
        "#1 ",
    ] {
        assert!(!rendered.contains(forbidden), "{forbidden:?} in {body}");
    }
    assert!(!body.contains("ghp_A"), "a token in {body}");
    assert!(
        body.contains("terraform/\\*\\*\\*.tf"),
        "a token-shaped name is redacted: {body}"
    );
    insta::assert_snapshot!("hostile", body);
}

/// `body` without its code spans, as CommonMark finds them: a run of n
/// backticks (not escaped) opens one, the next run of exactly n closes it.
fn outside_code_spans(body: &str) -> String {
    let chars: Vec<char> = body.chars().collect();
    let run = |from: usize| chars[from..].iter().take_while(|&&c| c == '`').count();
    let mut out = String::new();
    let mut i = 0;
    while i < chars.len() {
        match chars[i] {
            '\\' if i + 1 < chars.len() => {
                out.push(chars[i]);
                out.push(chars[i + 1]);
                i += 2;
            }
            '`' => {
                let n = run(i);
                let mut j = i + n;
                let mut close = None;
                while j < chars.len() {
                    if chars[j] == '`' {
                        let m = run(j);
                        if m == n {
                            close = Some(j + m);
                            break;
                        }
                        j += m;
                    } else {
                        j += 1;
                    }
                }
                match close {
                    Some(end) => {
                        out.push_str("CODE");
                        i = end;
                    }
                    None => {
                        out.extend(&chars[i..i + n]);
                        i += n;
                    }
                }
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    out
}

#[test]
fn code_spans_are_found_as_commonmark_finds_them() {
    assert_eq!(outside_code_spans("a `b` c"), "a CODE c");
    assert_eq!(outside_code_spans("a ``b`c`` d"), "a CODE d");
    assert_eq!(outside_code_spans("a \\`b` c"), "a \\`b` c");
    assert_eq!(outside_code_spans("a `b"), "a `b");
    assert_eq!(outside_code_spans("@x `@y`"), "@x CODE");
}

/// The built-in pack's typical pull requests, as their authors see them.
async fn pack_pull_request(pr: Value, files: &[&str], commits: Vec<Value>) -> String {
    let pack = std::fs::read_to_string(common::root().join("policies/release-train.yml")).unwrap();
    // The pack's API teams, read from the org: serve them as this repo's.
    let pack = pack.replace("example-org/", "octo/");
    let gh = Fake::new(pr, files, &pack).await;
    gh.with(|s| s.commits = commits);
    let out = gh.run(&["--comment"]).await;
    assert_eq!(code(&out), 1, "{}", text(&out));
    gh.the_comment()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_packs_bug_fix_and_infrastructure_comments() {
    let mut bug = pr_json(
        42,
        "fix(payments): retry declined cards once",
        Some(
            "## Steps to reproduce\n\nList the steps to reproduce the bug\n\n## Logs\n\n## Environment\n\nVersion, OS, deployment\n",
        ),
        false,
        &["bug"],
    );
    bug["head"]["ref"] = json!("bugfix/EPL-412-retry-declined");
    let body = pack_pull_request(
        bug,
        &["src/payments/retry.rs"],
        vec![commit(HEAD, "EPL-412 retry declined cards once")],
    )
    .await;
    insta::assert_snapshot!("pack_bug_fix", body);

    let mut infra = pr_json(
        42,
        "chore(infra): widen the payments VPC EPL-415",
        Some("Widens the VPC for the new payments subnet."),
        false,
        &["improvement"],
    );
    infra["head"]["ref"] = json!("chore/EPL-415-widen-vpc");
    let body = pack_pull_request(
        infra,
        &["terraform/payments/vpc.tf", ".github/workflows/deploy.yml"],
        vec![commit(HEAD, "EPL-415 widen the payments VPC")],
    )
    .await;
    insta::assert_snapshot!("pack_infrastructure", body);
}

#[tokio::test(flavor = "multi_thread")]
async fn warnings_and_notices_are_folded_below_what_is_left() {
    let policy = format!(
        "{POLICY}{}",
        r#"  - id: sprint-milestone
    on: [pull_request]
    level: warning
    require: { milestone: true }
  - id: pr-labelled
    on: [pull_request]
    level: notice
    require: { labels: { one_of: [bug, feature, improvement] } }
"#
    );
    let mut pr = pr_json(42, "EPL-7 Retry the login", None, false, &[]);
    pr["head"]["ref"] = json!("retry-login");
    let gh = Fake::new(pr, &["terraform/vpc.tf"], &policy).await;
    let out = gh.run(&["--comment"]).await;
    assert_eq!(code(&out), 1, "{}", text(&out));
    let body = gh.the_comment();
    // What is left comes first; the warning and the notice after it, folded.
    let (left, folded) = body.split_once("<details>").expect(&body);
    assert!(
        left.contains("1 thing left") && left.contains("`iac-approval`"),
        "{body}"
    );
    assert!(
        !left.contains("sprint-milestone") && !left.contains("pr-labelled"),
        "{body}"
    );
    assert!(
        folded.starts_with("<summary>1 warning, 1 notice</summary>"),
        "{body}"
    );
    insta::assert_snapshot!("folded_warnings", body);

    // The approval given: "all met", with the warning still folded below.
    gh.with(|s| s.reviews = vec![review("asherman", "APPROVED", HEAD)]);
    let out = gh.run(&["--comment"]).await;
    assert_eq!(code(&out), 0, "{}", text(&out));
    assert_eq!(
        methods_and_paths(&gh.writes()),
        [
            "POST /repos/octo/app/issues/42/comments",
            "PATCH /repos/octo/app/issues/comments/1000"
        ]
    );
    insta::assert_snapshot!("folded_warnings_all_met", gh.the_comment());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_waived_finding_of_a_pull_request_is_not_annotated_on_the_policy_file() {
    let policy = format!(
        "{POLICY}{}",
        r#"waivers:
  - pull_request: 42
    rules: [iac-approval, bug-priority]
    reason: 'EPL-9 reviewed in the incident call'
    granted_by: rte
"#
    );
    let gh = Fake::new(vpc_fix(false), &["terraform/vpc.tf"], &policy).await;
    let mut cmd = common::git_policy(gh.dir.path());
    cmd.env("GITHUB_API_URL", gh.server.uri())
        .env("GITHUB_TOKEN", TOKEN)
        .args(["--format", "github", "--policy", "policy.yml"])
        .args(["check", "pr", "--repo", "octo/app", "--number", "42"]);
    let out = output_of(cmd).await;
    assert_eq!(code(&out), 1, "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    // The waived approval is about the changed file: annotated there; the
    // waived label finding is about the pull request: on no file.
    assert!(
        stdout
            .contains("::notice title=git-policy%3A iac-approval (waived),file=terraform/vpc.tf::"),
        "{stdout}"
    );
    assert!(
        stdout.contains("::notice title=git-policy%3A bug-priority (waived)::"),
        "{stdout}"
    );
    assert!(!stdout.contains("policy.yml"), "{stdout}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_long_list_stays_short_and_commit_subjects_are_inert() {
    let policy = format!(
        "{POLICY}{}",
        r#"  - id: commit-ticket
    on: [commit]
    require: { ticket: { in: [message] } }
"#
    );
    let mut pr = pr_json(42, "EPL-7 Retry the login", None, false, &[]);
    pr["head"]["ref"] = json!("retry-login");
    let gh = Fake::new(pr, &["src/login.rs"], &policy).await;
    let hostile = "@octo/everyone <img src=x> ![x](https://evil.example/x.png) ";
    let commits: Vec<Value> = (0..20)
        .map(|i| {
            let sha = format!("c0ffee{i:02x}{}", "0".repeat(32));
            commit(&sha, &format!("{hostile}{}", "long subject ".repeat(20)))
        })
        .collect();
    gh.with(|s| s.commits = commits);
    let out = gh.run(&["--comment"]).await;
    assert_eq!(code(&out), 1, "{}", text(&out));
    let body = gh.the_comment();
    // Twenty commits failing one rule the same way are one thing to fix.
    assert!(body.contains("### ❌ git-policy: 1 thing left"), "{body}");
    assert_eq!(body.matches("**Commits**").count(), 1, "{body}");
    assert!(
        body.contains("1. **Commits**: 20 commits: `c0ffee0000` “"),
        "{body}"
    );
    assert!(
        body.contains("`c0ffee0400` “") && !body.contains("`c0ffee0500`"),
        "five commits named: {body}"
    );
    assert!(body.contains(", and 15 more · "), "{body}");
    assert!(body.contains("`commit-ticket`"), "{body}");
    let rendered = outside_code_spans(&body);
    for forbidden in ["@octo", "<img", "![", "](https://evil"] {
        assert!(!rendered.contains(forbidden), "{forbidden:?} in {body}");
    }
    // A subject is cut to 80 characters on its line.
    assert!(!body.contains(&"long subject ".repeat(6)), "{body}");
    assert!(body.len() < 8_000, "{} bytes", body.len());
}

#[tokio::test(flavor = "multi_thread")]
async fn twenty_things_left_show_fifteen_and_say_how_many_more() {
    // Twenty commit rules, each failing the one commit: twenty items.
    let rules: String = (0..20)
        .map(|i| format!("  - id: commit-ticket-{i:02}\n    on: [commit]\n    require: {{ ticket: {{ in: [message] }} }}\n"))
        .collect();
    let policy = format!("{POLICY}{rules}");
    let mut pr = pr_json(42, "EPL-7 Retry the login", None, false, &[]);
    pr["head"]["ref"] = json!("retry-login");
    let gh = Fake::new(pr, &["src/login.rs"], &policy).await;
    let sha = format!("c0ffee{}", "0".repeat(34));
    gh.with(|s| s.commits = vec![commit(&sha, "Retry the login")]);
    let out = gh.run(&["--comment"]).await;
    assert_eq!(code(&out), 1, "{}", text(&out));
    let body = gh.the_comment();
    assert!(body.contains("### ❌ git-policy: 20 things left"), "{body}");
    assert_eq!(body.matches("**Commits**").count(), 15, "{body}");
    assert!(
        body.contains("`commit-ticket-14`") && !body.contains("`commit-ticket-15`"),
        "{body}"
    );
    assert!(body.contains("… and 5 more in the job summary."), "{body}");
}

/// A run that cannot judge (exit 2) does not leave an earlier "all
/// requirements met" standing: the comment says the check could not judge.
#[tokio::test(flavor = "multi_thread")]
async fn a_run_that_cannot_judge_says_so_in_the_comment() {
    let mut pr = pr_json(42, "EPL-7 Retry the login", None, false, &[]);
    pr["head"]["ref"] = json!("retry-login");
    let gh = Fake::new(pr, &["src/login.rs"], POLICY).await;
    let out = gh.run(&["--comment=always"]).await;
    assert_eq!(code(&out), 0, "{}", text(&out));
    assert!(gh.the_comment().contains("all requirements met"));
    // The files list is now malformed: the run cannot judge.
    gh.with(|s| s.files.push(json!({ "filename": 7 })));
    let out = gh.run(&["--comment"]).await;
    assert_eq!(code(&out), 2, "{}", text(&out));
    let body = gh.the_comment();
    assert!(body.contains("could not judge this pull request"), "{body}");
    assert!(!body.contains("all requirements met"), "{body}");
    assert!(
        text(&out).contains("now says that this run could not judge it"),
        "{}",
        text(&out)
    );
    // With no comment there, none is made for it.
    let mut pr = pr_json(42, "EPL-7 Retry the login", None, false, &[]);
    pr["head"]["ref"] = json!("retry-login");
    let gh = Fake::new(pr, &["src/login.rs"], POLICY).await;
    gh.with(|s| s.files.push(json!({ "filename": 7 })));
    let out = gh.run(&["--comment"]).await;
    assert_eq!(code(&out), 2, "{}", text(&out));
    assert!(gh.comments().is_empty());
}
