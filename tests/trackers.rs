//! Tickets verified in their trackers (issue 25): `check pr`, the audit and
//! the commit-msg hook against local Jira Cloud, Jira Data Center and Azure
//! Boards servers (wiremock) answering in the shapes the real APIs use.
//! Requests are counted: batching is part of the contract.

mod common;

use common::Repo;
use common::github::{commit, file, mount, mount_list, output_of, pr_json};

use base64::Engine;
use serde_json::{Value, json};
use wiremock::matchers::{method, path, path_regex, query_param};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

const GITHUB_TOKEN: &str = "ghp_s3cretT0kenThatMustNeverBePrinted0000";
const JIRA_TOKEN: &str = "ATATT3xFfGF0jiraCloudTokenNeverPrinted";
const JIRA_USER: &str = "ci-bot@acme.example";
const DC_TOKEN: &str = "NjQ4MjY1dataCenterPatNeverPrinted";
const AZURE_TOKEN: &str = "azdopat0123456789neverprinted0123456789abcdef";
const SHA_A: &str = "4444444444444444444444444444444444444444";
const SHA_B: &str = "5555555555555555555555555555555555555555";

// ---- the trackers' answers (shapes of the real APIs, our own values) ----

/// A Jira issue as `bulkfetch` / `search` / `GET issue` answer it.
fn jira_issue(key: &str, kind: &str, status: &str, category: (&str, &str), summary: &str) -> Value {
    let project = key.split('-').next().unwrap();
    json!({
        "expand": "renderedFields,names,schema,operations,editmeta,changelog,versionedRepresentations",
        "id": "10231",
        "self": format!("https://jira.invalid/rest/api/3/issue/{key}"),
        "key": key,
        "fields": {
            "summary": summary,
            "issuetype": { "self": "https://jira.invalid/rest/api/3/issuetype/10001", "id": "10001",
                           "description": "", "name": kind, "subtask": false, "hierarchyLevel": 0 },
            "project": { "self": "https://jira.invalid/rest/api/3/project/10000", "id": "10000",
                         "key": project, "name": project, "projectTypeKey": "software", "simplified": true },
            "status": { "self": "https://jira.invalid/rest/api/3/status/10000", "description": "",
                        "name": status, "id": "10000",
                        "statusCategory": { "self": "https://jira.invalid/rest/api/3/statuscategory/2",
                                            "id": 2, "key": category.1, "colorName": "blue-gray", "name": category.0 } }
        }
    })
}

const TODO: (&str, &str) = ("To Do", "new");
const DOING: (&str, &str) = ("In Progress", "indeterminate");
const DONE: (&str, &str) = ("Done", "done");

fn with_field(mut issue: Value, name: &str, value: Value) -> Value {
    issue["fields"][name] = value;
    issue
}

/// Jira Cloud's `POST /rest/api/3/issue/bulkfetch` and `GET issue/{key}`
/// over `issues`; `moved` maps an old key to the issue now answering it.
async fn jira_cloud(server: &MockServer, issues: Vec<Value>, moved: Vec<(&str, &str)>) {
    let moved: Vec<(String, String)> = moved
        .into_iter()
        .map(|(a, b)| (a.to_owned(), b.to_owned()))
        .collect();
    let find = {
        let issues = issues.clone();
        let moved = moved.clone();
        move |key: &str| -> Option<Value> {
            let key = moved
                .iter()
                .find(|(old, _)| old == key)
                .map_or(key.to_owned(), |(_, new)| new.clone());
            issues.iter().find(|i| i["key"] == key.as_str()).cloned()
        }
    };
    let bulk = {
        let find = find.clone();
        move |request: &Request| {
            let body: Value = serde_json::from_slice(&request.body).unwrap();
            let keys = body["issueIdsOrKeys"].as_array().unwrap();
            assert!(keys.len() <= 100, "bulkfetch takes at most 100 keys");
            let found: Vec<Value> = keys
                .iter()
                .filter_map(|k| find(k.as_str().unwrap()))
                .collect();
            ResponseTemplate::new(200).set_body_json(
                json!({ "expand": "schema,names", "issues": found, "issueErrors": [] }),
            )
        }
    };
    Mock::given(method("POST"))
        .and(path("/rest/api/3/issue/bulkfetch"))
        .respond_with(bulk)
        .mount(server)
        .await;
    let single = move |request: &Request| {
        let key = request.url.path().rsplit('/').next().unwrap().to_owned();
        match find(&key) {
            Some(issue) => ResponseTemplate::new(200).set_body_json(issue),
            None => ResponseTemplate::new(404).set_body_json(json!({
                "errorMessages": ["Issue does not exist or you do not have permission to see it."], "errors": {} })),
        }
    };
    Mock::given(method("GET"))
        .and(path_regex(r"^/rest/api/3/issue/[A-Z0-9_]+-[0-9]+$"))
        .respond_with(single)
        .mount(server)
        .await;
}

/// An Azure work item as `workitemsbatch` answers it (the fields asked).
fn work_item(id: u64, project: &str, area: &str, kind: &str, state: &str, title: &str) -> Value {
    json!({
        "id": id, "rev": 3,
        "fields": {
            "System.Id": id, "System.AreaPath": area, "System.TeamProject": project,
            "System.WorkItemType": kind, "System.State": state, "System.Title": title
        },
        "url": format!("https://dev.azure.com/acme/_apis/wit/workItems/{id}")
    })
}

/// `POST {org}/{project}/_apis/wit/workitemsbatch`: `errorPolicy: omit`
/// answers each id in order, null for one it cannot give.
async fn azure(server: &MockServer, project: &str, items: Vec<Value>) {
    let answer = move |request: &Request| {
        let body: Value = serde_json::from_slice(&request.body).unwrap();
        assert_eq!(body["errorPolicy"], "omit");
        let ids = body["ids"].as_array().unwrap();
        assert!(ids.len() <= 200, "workitemsbatch takes at most 200 ids");
        let value: Vec<Value> = ids
            .iter()
            .map(|id| {
                items
                    .iter()
                    .find(|i| i["id"] == *id)
                    .cloned()
                    .unwrap_or(Value::Null)
            })
            .collect();
        ResponseTemplate::new(200).set_body_json(json!({ "count": value.len(), "value": value }))
    };
    Mock::given(method("POST"))
        .and(path(format!("/acme/{project}/_apis/wit/workitemsbatch")))
        .and(query_param("api-version", "7.1"))
        .respond_with(answer)
        .mount(server)
        .await;
}

// ---- the pull request ----

struct Run {
    github: MockServer,
    tracker: MockServer,
    dir: tempfile::TempDir,
}

impl Run {
    /// octo/app#42 with this title, body and commits; the policy is
    /// `policy` with `{URL}` replaced by the tracker server's address.
    async fn new(policy: &str, title: &str, body: &str, commits: Vec<Value>) -> Run {
        let github = MockServer::start().await;
        let tracker = MockServer::start().await;
        let mut pr = pr_json(42, title, Some(body), false, &[]);
        pr["changed_files"] = json!(1);
        pr["commits"] = json!(commits.len());
        pr["head"]["ref"] = json!("feature/login");
        mount(&github, "/repos/octo/app/pulls/42", pr).await;
        mount_list(&github, "/repos/octo/app/pulls/42/reviews", vec![]).await;
        mount_list(
            &github,
            "/repos/octo/app/pulls/42/files",
            vec![file("src/lib.rs")],
        )
        .await;
        mount_list(&github, "/repos/octo/app/pulls/42/commits", commits).await;
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("policy.yml"),
            policy.replace("{URL}", &tracker.uri()),
        )
        .unwrap();
        Run {
            github,
            tracker,
            dir,
        }
    }

    fn cmd(&self, format: &str) -> common::Cmd {
        let mut cmd = common::git_policy(self.dir.path());
        cmd.env("GITHUB_API_URL", self.github.uri())
            .env("GITHUB_TOKEN", GITHUB_TOKEN)
            .env("GIT_POLICY_RETRY_DELAY", "0.01")
            .env("JIRA_USER", JIRA_USER)
            .env("JIRA_TOKEN", JIRA_TOKEN)
            .env("JIRA_DC_TOKEN", DC_TOKEN)
            .env("AZURE_DEVOPS_TOKEN", AZURE_TOKEN)
            .env_remove("GITHUB_REPOSITORY")
            .env_remove("GITHUB_EVENT_NAME")
            .args(["--format", format, "--policy", "policy.yml"])
            .args(["check", "pr", "--repo", "octo/app", "--number", "42"]);
        cmd
    }

    async fn run(&self, format: &str) -> std::process::Output {
        self.run_cmd(self.cmd(format)).await
    }

    async fn run_cmd(&self, cmd: common::Cmd) -> std::process::Output {
        let output = output_of(cmd).await;
        let all = format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        for secret in secrets() {
            assert!(!all.contains(&secret), "a tracker secret leaked:\n{all}");
        }
        output
    }

    /// Requests the tracker received.
    async fn tracker_requests(&self) -> Vec<Request> {
        self.tracker.received_requests().await.unwrap()
    }
}

/// The tokens, and the Authorization values made of them.
fn secrets() -> Vec<String> {
    let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
    vec![
        JIRA_TOKEN.to_owned(),
        DC_TOKEN.to_owned(),
        AZURE_TOKEN.to_owned(),
        b64(&format!("{JIRA_USER}:{JIRA_TOKEN}")),
        b64(&format!(":{AZURE_TOKEN}")),
    ]
}

fn json_of(output: &std::process::Output) -> Value {
    serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {}\n{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        )
    })
}

/// `(rule, ticket, message)` of each finding.
fn findings(v: &Value) -> Vec<(String, String, String)> {
    v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["rule"].as_str().unwrap_or_default().to_owned(),
                f["ticket"].as_str().unwrap_or_default().to_owned(),
                f["message"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

fn message_for<'a>(all: &'a [(String, String, String)], ticket: &str, needle: &str) -> &'a str {
    all.iter()
        .find(|(_, t, m)| t == ticket && m.contains(needle))
        .map(|(_, _, m)| m.as_str())
        .unwrap_or_else(|| panic!("no finding on {ticket} saying `{needle}` in {all:#?}"))
}

const CLOUD_POLICY: &str = r#"version: 1
tickets:
  jira:
    pattern: '\b(EPL|OPS)-[0-9]+\b'
    api: { kind: jira-cloud, url: '{URL}', user_env: JIRA_USER, token_env: JIRA_TOKEN }
kinds:
  bug: { ticket_types: [Bug] }
rules:
  - id: ticket-verified
    on: [pull_request]
    require:
      ticket:
        exists: true
        projects: [EPL]
        types: [Bug, Story]
        status: { not_in: [Closed] }
        fields: { customfield_10033: { present: true } }
  - id: bug-steps
    on: [pull_request]
    when: { kind: bug }
    require: { sections: [{ heading: 'Steps to reproduce', min_words: 4 }] }
"#;

#[tokio::test(flavor = "multi_thread")]
#[expect(
    clippy::too_many_lines,
    reason = "one scenario with every finding kind, asserted in turn"
)]
async fn jira_cloud_every_finding_names_ticket_place_summary_value_and_link() {
    let run = Run::new(
        CLOUD_POLICY,
        "EPL-1 Fix the login loop",
        "Also OPS-7, EPL-3, EPL-4, EPL-9 and EPL-5.",
        vec![commit(SHA_A, "EPL-6 tidy the session code")],
    )
    .await;
    let env = json!("Chrome 120");
    jira_cloud(
        &run.tracker,
        vec![
            with_field(
                jira_issue(
                    "EPL-1",
                    "Bug",
                    "In Progress",
                    DOING,
                    "Login loops after refresh",
                ),
                "customfield_10033",
                env.clone(),
            ),
            with_field(
                jira_issue("OPS-7", "Story", "In Progress", DOING, "Ops dashboard"),
                "customfield_10033",
                env.clone(),
            ),
            with_field(
                jira_issue("EPL-3", "Epic", "In Progress", DOING, "Identity epic"),
                "customfield_10033",
                env.clone(),
            ),
            with_field(
                jira_issue("EPL-4", "Story", "Closed", DONE, "Old work"),
                "customfield_10033",
                env.clone(),
            ),
            with_field(
                jira_issue("EPL-50", "Story", "To Do", TODO, "Moved story"),
                "customfield_10033",
                env.clone(),
            ),
            with_field(
                jira_issue("EPL-6", "Story", "To Do", TODO, "Session tidy"),
                "customfield_10033",
                Value::Null,
            ),
        ],
        vec![("EPL-5", "EPL-50")],
    )
    .await;
    let output = run.run("json").await;
    assert_eq!(
        output.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let all = findings(&json_of(&output));
    let wrong_project = message_for(&all, "OPS-7", "is in project `OPS`, not in `EPL`");
    assert!(
        wrong_project.contains("(named in the body)"),
        "{wrong_project}"
    );
    assert!(
        wrong_project.contains("\"Ops dashboard\" (Story, In Progress)"),
        "{wrong_project}"
    );
    assert!(
        wrong_project.contains(&format!("{}/browse/OPS-7", run.tracker.uri())),
        "{wrong_project}"
    );
    message_for(&all, "EPL-3", "is a `Epic`, not one of `Bug`, `Story`");
    message_for(
        &all,
        "EPL-4",
        "is `Closed` (Done), which this rule refuses (`Closed`)",
    );
    let absent = message_for(
        &all,
        "EPL-9",
        "was not found in jira, or the token may not see it",
    );
    assert!(absent.contains("answers both alike"), "{absent}");
    message_for(&all, "EPL-5", "has moved: jira answers it as EPL-50");
    let field = message_for(&all, "EPL-6", "has no `customfield_10033`");
    assert!(field.contains("(named in commit 4444444"), "{field}");
    // The ticket's type decides the kind: a Bug, whatever the labels say.
    assert!(
        all.iter().any(|(rule, _, _)| rule == "bug-steps"),
        "{all:#?}"
    );
    // EPL-1 is right in every way.
    assert!(!all.iter().any(|(_, t, _)| t == "EPL-1"), "{all:#?}");

    let requests = run.tracker_requests().await;
    let bulk: Vec<&Request> = requests
        .iter()
        .filter(|r| r.url.path().ends_with("bulkfetch"))
        .collect();
    assert_eq!(
        bulk.len(),
        1,
        "one bulkfetch for all the pull request's tickets"
    );
    let body: Value = serde_json::from_slice(&bulk[0].body).unwrap();
    assert_eq!(
        body["fields"],
        json!([
            "summary",
            "status",
            "issuetype",
            "project",
            "customfield_10033"
        ])
    );
    let expected = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{JIRA_USER}:{JIRA_TOKEN}"))
    );
    assert_eq!(
        bulk[0]
            .headers
            .get("authorization")
            .unwrap()
            .to_str()
            .unwrap(),
        expected
    );
    // Two keys unanswered and one issue unasked: each asked alone, once.
    assert_eq!(
        requests.len(),
        3,
        "{:?}",
        requests.iter().map(|r| r.url.path()).collect::<Vec<_>>()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn jira_cloud_a_clean_pull_request_passes_in_one_request() {
    let run = Run::new(
        CLOUD_POLICY,
        "EPL-1 Fix the login loop",
        "## Steps to reproduce\nLog in, wait an hour, refresh the page.\n",
        vec![
            commit(SHA_A, "EPL-1 fix"),
            commit(SHA_B, "EPL-2 and EPL-5 test"),
        ],
    )
    .await;
    let env = json!({ "type": "doc", "version": 1, "content": [{ "type": "paragraph", "content": [{ "type": "text", "text": "Chrome" }] }] });
    jira_cloud(
        &run.tracker,
        vec![
            with_field(
                jira_issue("EPL-1", "Bug", "In Progress", DOING, "Login loops"),
                "customfield_10033",
                env.clone(),
            ),
            with_field(
                jira_issue("EPL-2", "Story", "To Do", TODO, "Tests"),
                "customfield_10033",
                env.clone(),
            ),
            with_field(
                jira_issue("EPL-5", "Story", "To Do", TODO, "More tests"),
                "customfield_10033",
                env,
            ),
        ],
        vec![],
    )
    .await;
    let output = run.run("json").await;
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(run.tracker_requests().await.len(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_moved_ticket_is_refused_or_accepted_as_the_policy_says() {
    for (extra, code) in [("", 1), ("\n        moved: accept", 0)] {
        let policy = CLOUD_POLICY.replace(
            "fields: { customfield_10033: { present: true } }",
            &format!("fields: {{ customfield_10033: {{ present: true }} }}{extra}"),
        );
        let run = Run::new(&policy, "EPL-5 Tidy", "", vec![commit(SHA_A, "EPL-5 tidy")]).await;
        jira_cloud(
            &run.tracker,
            vec![with_field(
                jira_issue("EPL-50", "Story", "To Do", TODO, "Moved"),
                "customfield_10033",
                json!("x"),
            )],
            vec![("EPL-5", "EPL-50")],
        )
        .await;
        let output = run.run("json").await;
        assert_eq!(
            output.status.code(),
            Some(code),
            "{extra}: {}",
            String::from_utf8_lossy(&output.stdout)
        );
        if code == 1 {
            let all = findings(&json_of(&output));
            let moved = message_for(&all, "EPL-5", "has moved");
            assert!(moved.contains("EPL-50"), "{moved}");
        }
        // One key unanswered, one issue unasked: that is the move, no second request.
        assert_eq!(run.tracker_requests().await.len(), 1);
    }
}

// ---- Jira Data Center ----

const DC_POLICY: &str = r#"version: 1
tickets:
  ops:
    pattern: '\bOPS-\S+'
    api: { kind: jira-data-center, url: '{URL}', token_env: JIRA_DC_TOKEN }
rules:
  - id: ticket-verified
    on: [pull_request]
    require:
      ticket: { exists: true, status: { in: [QA Passed, Done] } }
"#;

#[tokio::test(flavor = "multi_thread")]
async fn jira_data_center_pages_the_search_and_never_sends_an_id_unescaped() {
    let run = Run::new(
        DC_POLICY,
        "OPS-1 OPS-2 OPS-3",
        "see OPS-4\")OR(project=\"SECRET",
        vec![commit(SHA_A, "OPS-1 work")],
    )
    .await;
    let issues = [
        jira_issue("OPS-1", "Task", "QA Passed", DOING, "One"),
        jira_issue("OPS-2", "Task", "Done", DONE, "Two"),
        jira_issue("OPS-3", "Task", "In Review", DOING, "Three"),
    ];
    // The server pages by two, whatever it is asked.
    let answer = move |request: &Request| {
        let body: Value = serde_json::from_slice(&request.body).unwrap();
        let start = body["startAt"].as_u64().unwrap() as usize;
        let page: Vec<Value> = issues.iter().skip(start).take(2).cloned().collect();
        ResponseTemplate::new(200).set_body_json(json!({
            "expand": "schema,names", "startAt": start, "maxResults": 2, "total": issues.len(), "issues": page }))
    };
    Mock::given(method("POST"))
        .and(path("/rest/api/2/search"))
        .respond_with(answer)
        .mount(&run.tracker)
        .await;
    let output = run.run("json").await;
    assert_eq!(
        output.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let all = findings(&json_of(&output));
    message_for(
        &all,
        "OPS-3",
        "is `In Review` (In Progress), not in `QA Passed`, `Done`",
    );
    // The crafted id is no Jira key: never sent, and said so (not "not found").
    message_for(
        &all,
        "OPS-4\")OR(project=\"SECRET",
        "is not a valid Jira key, so ops was not asked about it",
    );
    assert!(
        !all.iter()
            .any(|(_, t, m)| t.starts_with("OPS-4") && m.contains("not found")),
        "{all:#?}"
    );
    let requests = run.tracker_requests().await;
    assert_eq!(requests.len(), 2, "two pages");
    for (i, request) in requests.iter().enumerate() {
        let body: Value = serde_json::from_slice(&request.body).unwrap();
        assert_eq!(body["jql"], "key in (\"OPS-1\", \"OPS-2\", \"OPS-3\")");
        assert_eq!(body["validateQuery"], "warn");
        assert_eq!(body["startAt"], json!(i * 2));
        assert_eq!(
            request
                .headers
                .get("authorization")
                .unwrap()
                .to_str()
                .unwrap(),
            format!("Bearer {DC_TOKEN}")
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn jira_data_center_a_short_search_is_exit_2() {
    let run = Run::new(
        DC_POLICY,
        "OPS-1 OPS-2 OPS-3",
        "",
        vec![commit(SHA_A, "OPS-1")],
    )
    .await;
    Mock::given(method("POST"))
        .and(path("/rest/api/2/search"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "startAt": 0, "maxResults": 50, "total": 3, "issues": [] })))
        .mount(&run.tracker)
        .await;
    let output = run.run("human").await;
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("tracker `ops`") && stderr.contains("short"),
        "{stderr}"
    );
}

// ---- Azure Boards ----

const AZURE_POLICY: &str = r#"version: 1
tickets:
  boards:
    pattern: '\bAB#[0-9]+\b'
    api: { kind: azure-boards, url: '{URL}/acme', project: Platform, token_env: AZURE_DEVOPS_TOKEN }
rules:
  - id: work-item-verified
    on: [pull_request]
    require:
      ticket:
        exists: true
        projects: [Platform]
        types: [Bug, User Story]
        status: { not_in: [Removed, Closed] }
        fields: { 'Microsoft.VSTS.TCM.ReproSteps': { min_words: 5 }, 'Microsoft.VSTS.Common.Priority': { present: true } }
"#;

#[tokio::test(flavor = "multi_thread")]
#[expect(
    clippy::too_many_lines,
    reason = "one scenario with every finding kind, asserted in turn"
)]
async fn azure_boards_every_finding_in_one_batch() {
    let run = Run::new(
        AZURE_POLICY,
        "AB#101 Fix the export",
        "Also AB#102, AB#103, AB#104, AB#105 and AB#106.",
        vec![commit(SHA_A, "AB#101 fix")],
    )
    .await;
    let full = |mut item: Value| {
        item["fields"]["Microsoft.VSTS.TCM.ReproSteps"] =
            json!("<div>Open the export page and click <b>CSV</b></div>");
        item["fields"]["Microsoft.VSTS.Common.Priority"] = json!(2);
        item
    };
    let mut short = work_item(
        104,
        "Platform",
        "Platform\\Payments",
        "Bug",
        "Active",
        "Export fails",
    );
    short["fields"]["Microsoft.VSTS.TCM.ReproSteps"] = json!("<div>It&nbsp;breaks</div>");
    azure(
        &run.tracker,
        "Platform",
        vec![
            full(work_item(
                101,
                "Platform",
                "Platform\\Payments",
                "Bug",
                "Active",
                "Export is slow",
            )),
            full(work_item(
                103,
                "Marketing",
                "Marketing\\Web",
                "Bug",
                "Active",
                "Banner",
            )),
            short,
            full(work_item(
                105,
                "Platform",
                "Platform",
                "Bug",
                "Removed",
                "Duplicate",
            )),
            full(work_item(
                106, "Platform", "Platform", "Task", "Active", "Chore",
            )),
        ],
    )
    .await;
    let output = run.run("json").await;
    assert_eq!(
        output.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let all = findings(&json_of(&output));
    message_for(
        &all,
        "AB#102",
        "was not found in boards, or the token may not see it",
    );
    let area = message_for(
        &all,
        "AB#103",
        "is in project `Marketing`, area `Marketing\\Web`, not in `Platform`",
    );
    assert!(
        area.contains(&format!("{}/acme/_workitems/edit/103", run.tracker.uri())),
        "{area}"
    );
    message_for(
        &all,
        "AB#104",
        "has 2 word(s) in `Microsoft.VSTS.TCM.ReproSteps`, at least 5 required",
    );
    message_for(&all, "AB#104", "has no `Microsoft.VSTS.Common.Priority`");
    message_for(&all, "AB#105", "is `Removed`, which this rule refuses");
    message_for(
        &all,
        "AB#106",
        "is a `Task`, not one of `Bug`, `User Story`",
    );
    assert!(!all.iter().any(|(_, t, _)| t == "AB#101"), "{all:#?}");
    let requests = run.tracker_requests().await;
    assert_eq!(requests.len(), 1, "one batch");
    let body: Value = serde_json::from_slice(&requests[0].body).unwrap();
    assert_eq!(body["ids"], json!([101, 102, 103, 104, 105, 106]));
    assert!(
        body["fields"]
            .as_array()
            .unwrap()
            .contains(&json!("Microsoft.VSTS.TCM.ReproSteps"))
    );
    assert_eq!(
        requests[0]
            .headers
            .get("authorization")
            .unwrap()
            .to_str()
            .unwrap(),
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(format!(":{AZURE_TOKEN}"))
        )
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn azure_boards_a_batch_answered_short_is_exit_2() {
    let run = Run::new(
        AZURE_POLICY,
        "AB#101 AB#102",
        "",
        vec![commit(SHA_A, "AB#101")],
    )
    .await;
    // Two ids asked, one answered and no null in place of the other.
    Mock::given(method("POST"))
        .and(path("/acme/Platform/_apis/wit/workitemsbatch"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "count": 1, "value": [work_item(101, "Platform", "Platform", "Bug", "Active", "x")] })))
        .mount(&run.tracker)
        .await;
    let output = run.run("human").await;
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("tracker `boards`") && stderr.contains("short"),
        "{stderr}"
    );
}

// ---- failures: exit 2 naming the tracker, never a pass ----

#[tokio::test(flavor = "multi_thread")]
async fn a_failing_tracker_is_exit_2_naming_it() {
    let cases: Vec<(&str, ResponseTemplate, &str)> = vec![
        ("401", ResponseTemplate::new(401).set_body_string(format!("bad token {JIRA_TOKEN}")), "rejected the credentials (401)"),
        ("403", ResponseTemplate::new(403), "refused POST /rest/api/3/issue/bulkfetch (403)"),
        ("429", ResponseTemplate::new(429).insert_header("retry-after", "120"), "retry after 120 s"),
        ("500", ResponseTemplate::new(500), "failed POST /rest/api/3/issue/bulkfetch (500) (after 3 attempts)"),
        ("malformed", ResponseTemplate::new(200).set_body_string("{\"issues\": [tru"), "invalid JSON"),
        ("off shape", ResponseTemplate::new(200).set_body_json(json!({ "issues": [{ "key": "EPL-1" }] })), "off its documented shape"),
        ("issue errors", ResponseTemplate::new(200).set_body_json(json!({ "issues": [], "issueErrors": [{ "id": "10001", "errorMessage": "Try again later" }] })), "could not return 1 of the tickets"),
        ("timeout", ResponseTemplate::new(200).set_body_json(json!({ "issues": [] })).set_delay(std::time::Duration::from_secs(3)), "did not answer POST /rest/api/3/issue/bulkfetch within"),
    ];
    for (name, response, says) in cases {
        let run = Run::new(CLOUD_POLICY, "EPL-1 Fix", "", vec![commit(SHA_A, "EPL-1")]).await;
        Mock::given(method("POST"))
            .and(path("/rest/api/3/issue/bulkfetch"))
            .respond_with(response)
            .mount(&run.tracker)
            .await;
        let mut cmd = run.cmd("human");
        cmd.env("GIT_POLICY_HTTP_TIMEOUT", "0.5");
        let output = run.run_cmd(cmd).await;
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{name}: {stderr}");
        assert!(stderr.contains("tracker `jira`"), "{name}: {stderr}");
        assert!(stderr.contains(says), "{name}: no `{says}` in {stderr}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_tracker_token_that_is_not_set_is_exit_2() {
    let run = Run::new(CLOUD_POLICY, "EPL-1 Fix", "", vec![commit(SHA_A, "EPL-1")]).await;
    let mut cmd = run.cmd("human");
    cmd.env_remove("JIRA_TOKEN");
    let output = run.run_cmd(cmd).await;
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("tracker `jira`: JIRA_TOKEN is not set"),
        "{stderr}"
    );
    assert!(run.tracker_requests().await.is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn tracker_tokens_are_redacted_in_every_format() {
    // A summary that holds the token (pasted into the ticket): shown, redacted.
    for format in ["json", "human", "github", "markdown", "sarif"] {
        let run = Run::new(CLOUD_POLICY, "EPL-4 Fix", "", vec![commit(SHA_A, "EPL-4")]).await;
        jira_cloud(
            &run.tracker,
            vec![with_field(
                jira_issue(
                    "EPL-4",
                    "Story",
                    "Closed",
                    DONE,
                    &format!("token is {JIRA_TOKEN} oops"),
                ),
                "customfield_10033",
                json!("x"),
            )],
            vec![],
        )
        .await;
        // `Run::run_cmd` fails the test if any tracker secret is printed.
        let output = run.run(format).await;
        assert_eq!(output.status.code(), Some(1), "{format}");
        let all = String::from_utf8_lossy(&output.stdout);
        assert!(
            all.contains("***") && all.contains("oops"),
            "{format}: {all}"
        );
    }
}

// ---- the commit-msg hook ----

const HOOK_POLICY: &str = r#"version: 1
tickets:
  jira:
    pattern: '\bEPL-[0-9]+\b'
    api: { kind: jira-cloud, url: '{URL}', user_env: JIRA_USER, token_env: JIRA_TOKEN{HOOKS} }
rules:
  - id: commit-ticket
    on: [commit]
    require: { ticket: { in: [message], exists: true } }
"#;

async fn hook(hooks: &str, url: Option<&str>) -> (std::process::Output, usize) {
    let server = MockServer::start().await;
    jira_cloud(&server, vec![], vec![]).await;
    let repo = Repo::new("main");
    let url = url.map_or_else(|| server.uri(), str::to_owned);
    repo.write(
        ".git-policy.yml",
        &HOOK_POLICY.replace("{URL}", &url).replace("{HOOKS}", hooks),
    );
    repo.write("msg", "EPL-404 Fix the login\n");
    let mut cmd = repo.cmd();
    cmd.env("JIRA_USER", JIRA_USER)
        .env("JIRA_TOKEN", JIRA_TOKEN)
        .args(["check", "commit-msg", "msg"]);
    let output = tokio::task::spawn_blocking(move || cmd.output().unwrap())
        .await
        .unwrap();
    (output, server.received_requests().await.unwrap().len())
}

#[tokio::test(flavor = "multi_thread")]
async fn the_hook_calls_no_tracker_unless_it_says_hooks_check() {
    let (output, requests) = hook("", None).await;
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(requests, 0);
    let (output, requests) = hook(", hooks: check", None).await;
    assert_eq!(
        output.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(requests, 1);
    let shown = String::from_utf8_lossy(&output.stdout);
    assert!(
        shown.contains("EPL-404 (named in the message) was not found"),
        "{shown}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_hook_warns_when_the_tracker_is_unreachable() {
    let (output, _) = hook(", hooks: check", Some("http://127.0.0.1:9")).await;
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains("warning: tickets not verified") && stderr.contains("tracker `jira`"),
        "{stderr}"
    );
    assert!(!stderr.contains(JIRA_TOKEN));
}

// ---- the release audit ----

const AUDIT_POLICY: &str = r#"version: 1
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

#[tokio::test(flavor = "multi_thread")]
async fn the_audit_judges_every_ticket_of_the_release_in_batches() {
    let server = MockServer::start().await;
    let repo = Repo::new("main");
    repo.write(
        ".git-policy.yml",
        &AUDIT_POLICY.replace("{URL}", &server.uri()),
    );
    repo.git(&["add", "."]);
    repo.git(&["commit", "-q", "-m", "EPL-1 initial"]);
    repo.git(&["tag", "v1.0.0"]);
    // 150 Jira tickets and 250 work items, ten a commit.
    for chunk in 0..40 {
        let names: Vec<String> = (0..10)
            .map(|i| {
                let n = chunk * 10 + i;
                if n < 150 {
                    format!("EPL-{}", n + 1)
                } else {
                    format!("AB#{}", n - 149)
                }
            })
            .collect();
        repo.commit(&format!("{} work", names.join(" ")));
    }
    let issues: Vec<Value> = (1..=150)
        .filter(|n| *n != 77)
        .map(|n| {
            let status = if n == 42 {
                ("In Review", DOING)
            } else {
                ("Done", DONE)
            };
            jira_issue(
                &format!("EPL-{n}"),
                "Story",
                status.0,
                status.1,
                &format!("Story {n}"),
            )
        })
        .collect();
    jira_cloud(&server, issues, vec![]).await;
    let items: Vec<Value> = (1..=250)
        .map(|n| {
            work_item(
                n,
                "Platform",
                "Platform",
                "Bug",
                if n == 7 { "Active" } else { "QA Passed" },
                &format!("Bug {n}"),
            )
        })
        .collect();
    azure(&server, "Platform", items).await;
    let mut cmd = repo.cmd();
    cmd.env("JIRA_USER", JIRA_USER)
        .env("JIRA_TOKEN", JIRA_TOKEN)
        .env("AZURE_DEVOPS_TOKEN", AZURE_TOKEN)
        .args(["--format", "json", "audit", "v1.0.0..HEAD"]);
    let output = tokio::task::spawn_blocking(move || cmd.output().unwrap())
        .await
        .unwrap();
    assert_eq!(
        output.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let all = findings(&json_of(&output));
    message_for(
        &all,
        "EPL-42",
        "is `In Review` (In Progress), not in `QA Passed`, `Done`",
    );
    message_for(&all, "EPL-77", "was not found");
    message_for(&all, "AB#7", "is `Active`, not in `QA Passed`, `Done`");
    assert_eq!(all.len(), 3, "{all:#?}");
    let requests = server.received_requests().await.unwrap();
    let jira = requests
        .iter()
        .filter(|r| r.url.path().ends_with("bulkfetch"))
        .count();
    let boards = requests
        .iter()
        .filter(|r| r.url.path().ends_with("workitemsbatch"))
        .count();
    // At most one request per 100 tickets: 150 keys in 2, 250 ids in 2.
    assert_eq!((jira, boards, requests.len()), (2, 2, 4));
}

/// A ticket a commit names only in its body is a ticket of the release:
/// it is read from the tracker and judged like one named in a subject (the
/// audit kept subjects only, and EPL-42, In Review, passed unread).
#[tokio::test(flavor = "multi_thread")]
async fn the_audit_judges_tickets_named_in_commit_bodies() {
    let server = MockServer::start().await;
    let repo = Repo::new("main");
    repo.write(
        ".git-policy.yml",
        &AUDIT_POLICY.replace("{URL}", &server.uri()),
    );
    repo.git(&["add", "."]);
    repo.git(&["commit", "-q", "-m", "EPL-1 initial"]);
    repo.git(&["tag", "v1.0.0"]);
    repo.commit("EPL-2 Retry the login");
    repo.commit("Guard the session cache\n\nDelivers EPL-42.");
    let issues = vec![
        jira_issue("EPL-2", "Story", "Done", DONE, "Retry"),
        jira_issue("EPL-42", "Story", "In Review", DOING, "Cache"),
    ];
    jira_cloud(&server, issues, vec![]).await;
    let mut cmd = repo.cmd();
    cmd.env("JIRA_USER", JIRA_USER)
        .env("JIRA_TOKEN", JIRA_TOKEN)
        .env("AZURE_DEVOPS_TOKEN", AZURE_TOKEN)
        .args(["--format", "json", "audit", "v1.0.0..HEAD"]);
    let output = tokio::task::spawn_blocking(move || cmd.output().unwrap())
        .await
        .unwrap();
    assert_eq!(
        output.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let all = findings(&json_of(&output));
    message_for(
        &all,
        "EPL-42",
        "is `In Review` (In Progress), not in `QA Passed`, `Done`",
    );
    assert_eq!(all.len(), 1, "{all:#?}");
}

// ---- reports ----

#[tokio::test(flavor = "multi_thread")]
async fn reports_show_each_ticket_with_summary_type_and_state() {
    let run = Run::new(
        CLOUD_POLICY,
        "EPL-1 Fix",
        "and EPL-9",
        vec![commit(SHA_A, "EPL-1")],
    )
    .await;
    jira_cloud(
        &run.tracker,
        vec![with_field(
            jira_issue(
                "EPL-1",
                "Bug",
                "In Progress",
                DOING,
                "Login | loops <b>x</b> ##[set-output name=a]b",
            ),
            "customfield_10033",
            json!("x"),
        )],
        vec![],
    )
    .await;
    let summary = run.dir.path().join("summary.md");
    let mut cmd = run.cmd("markdown");
    cmd.env("GITHUB_STEP_SUMMARY", &summary);
    let output = run.run_cmd(cmd).await;
    assert_eq!(output.status.code(), Some(1));
    let shown = String::from_utf8_lossy(&output.stdout);
    assert!(
        shown.contains("## Tickets\n\n| ticket | summary | type | state |"),
        "{shown}"
    );
    assert!(
        shown.contains("/browse/EPL-1) | Login \\| loops &lt;b&gt;x&lt;/b&gt;"),
        "{shown}"
    );
    assert!(shown.contains("| Bug | In Progress |"), "{shown}");
    assert!(
        shown.contains("| EPL-9 | ❌ not found, or not visible to the token |"),
        "{shown}"
    );
    let mut cmd = run.cmd("github");
    cmd.env("GITHUB_STEP_SUMMARY", &summary);
    run.run_cmd(cmd).await;
    let written = std::fs::read_to_string(&summary).unwrap();
    assert!(
        written.contains("### Tickets") && written.contains("| Bug | In Progress |"),
        "{written}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_audit_report_groups_tickets_by_type_and_lists_those_not_signed_off() {
    let server = MockServer::start().await;
    let repo = Repo::new("main");
    let policy = AUDIT_POLICY.replace("{URL}", &server.uri()).replace(
        "rules:",
        "kinds:\n  bug: { ticket_types: [Bug] }\n  feature: { ticket_types: [Story] }\nrules:",
    );
    repo.write(".git-policy.yml", &policy);
    repo.git(&["add", "."]);
    repo.git(&["commit", "-q", "-m", "initial"]);
    repo.git(&["tag", "v1.0.0"]);
    repo.commit("EPL-1 login");
    repo.commit("EPL-2 export AB#3");
    jira_cloud(
        &server,
        vec![
            jira_issue("EPL-1", "Story", "Done", DONE, "Login page"),
            jira_issue("EPL-2", "Story", "In QA", DOING, "Export"),
        ],
        vec![],
    )
    .await;
    azure(
        &server,
        "Platform",
        vec![work_item(
            3,
            "Platform",
            "Platform",
            "Bug",
            "QA Passed",
            "Export crash",
        )],
    )
    .await;
    let mut cmd = repo.cmd();
    cmd.env("JIRA_USER", JIRA_USER)
        .env("JIRA_TOKEN", JIRA_TOKEN)
        .env("AZURE_DEVOPS_TOKEN", AZURE_TOKEN)
        .args(["--format", "markdown", "audit", "v1.0.0..HEAD"]);
    let output = tokio::task::spawn_blocking(move || cmd.output().unwrap())
        .await
        .unwrap();
    assert_eq!(
        output.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let shown = String::from_utf8_lossy(&output.stdout);
    let bugs = shown.find("### bug (1)").expect(&shown);
    let features = shown.find("### feature (2)").expect(&shown);
    assert!(bugs < features, "{shown}");
    assert!(
        shown.contains("| Export crash | Bug | QA Passed |"),
        "{shown}"
    );
    assert!(shown.contains("### Not signed off (1)\n\nEPL-2"), "{shown}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_rule_without_on_verifies_tickets_on_the_pull_request_not_its_branch_or_commits() {
    // Without `on`, a ticket rule that asks a tracker runs on pull requests
    // (and releases): the head branch and the commits judged alone would
    // have nothing read for them.
    let policy = CLOUD_POLICY.replace(
        "  - id: ticket-verified\n    on: [pull_request]\n",
        "  - id: ticket-verified\n",
    );
    assert!(!policy.contains("id: ticket-verified\n    on:"));
    let run = Run::new(
        &policy,
        "EPL-1 Fix the login loop",
        "## Steps to reproduce\nLog in, wait an hour, refresh the page.\n",
        vec![commit(SHA_A, "EPL-1 fix")],
    )
    .await;
    jira_cloud(
        &run.tracker,
        vec![with_field(
            jira_issue("EPL-1", "Bug", "In Progress", DOING, "Login loops"),
            "customfield_10033",
            json!("x"),
        )],
        vec![],
    )
    .await;
    let output = run.run("json").await;
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stdout)
    );
}

// ---- ids the tracker cannot have (issue 25: validated before any request) ----

fn assert_no_secret(output: &std::process::Output) {
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    for secret in secrets() {
        assert!(!all.contains(&secret), "a tracker secret leaked:\n{all}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn an_id_the_tracker_cannot_have_is_its_own_finding_and_never_sent() {
    let policy = r#"version: 1
tickets:
  jira:
    pattern: '(?i)\bepl-[0-9]+\b'
    api: { kind: jira-cloud, url: '{URL}', user_env: JIRA_USER, token_env: JIRA_TOKEN }
  boards:
    pattern: '\bAB#[0-9]+\b'
    api: { kind: azure-boards, url: '{URL}/acme', project: Platform, token_env: AZURE_DEVOPS_TOKEN }
rules:
  - id: ticket-verified
    on: [pull_request]
    require: { ticket: { in: [title, body], exists: true } }
"#;
    let run = Run::new(
        policy,
        "EPL-1 fix the login",
        "also epl-2, AB#0 and AB#99999999999",
        vec![commit(SHA_A, "EPL-1 work")],
    )
    .await;
    jira_cloud(
        &run.tracker,
        vec![jira_issue("EPL-1", "Bug", "Done", DONE, "Login")],
        vec![],
    )
    .await;
    azure(&run.tracker, "Platform", vec![]).await;
    let output = run.run("json").await;
    assert_eq!(
        output.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let all = findings(&json_of(&output));
    message_for(
        &all,
        "epl-2",
        "(named in the body) is not a valid Jira key, so jira was not asked about it",
    );
    message_for(
        &all,
        "AB#0",
        "is not an Azure work item id, so boards was not asked",
    );
    message_for(&all, "AB#99999999999", "is not an Azure work item id");
    assert!(
        !all.iter().any(|(_, _, m)| m.contains("not found")),
        "an invalid id is not \"not found\": {all:#?}"
    );
    assert_eq!(all.len(), 3, "{all:#?}");
    // Only the valid key was asked; Azure was not called at all.
    let requests = run.tracker_requests().await;
    assert_eq!(requests.len(), 1, "{requests:?}");
    let body: Value = serde_json::from_slice(&requests[0].body).unwrap();
    assert_eq!(body["issueIdsOrKeys"], json!(["EPL-1"]));
}

// ---- the hook's one deadline ----

#[tokio::test(flavor = "multi_thread")]
async fn the_hook_waits_at_most_three_seconds_for_a_slow_tracker() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/rest/api/3/issue/bulkfetch"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_delay(std::time::Duration::from_secs(20))
                .set_body_json(json!({ "issues": [], "issueErrors": [] })),
        )
        .mount(&server)
        .await;
    let repo = Repo::new("main");
    repo.write(
        ".git-policy.yml",
        &HOOK_POLICY
            .replace("{URL}", &server.uri())
            .replace("{HOOKS}", ", hooks: check"),
    );
    repo.write("msg", "EPL-404 Fix the login\n");
    let mut cmd = repo.cmd();
    cmd.env("JIRA_USER", JIRA_USER)
        .env("JIRA_TOKEN", JIRA_TOKEN)
        .env("GIT_POLICY_RETRY_DELAY", "0.2")
        .args(["check", "commit-msg", "msg"]);
    let started = std::time::Instant::now();
    let output = tokio::task::spawn_blocking(move || cmd.output().unwrap())
        .await
        .unwrap();
    let took = started.elapsed();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains("warning: tickets not verified") && stderr.contains("within 3.0 s"),
        "{stderr}"
    );
    // One deadline for the whole read: not 3 tries of 3 s each (about 9 s).
    assert!(
        took < std::time::Duration::from_millis(4500),
        "the hook took {took:?}"
    );
    assert_no_secret(&output);
}

// ---- answers kept across runs (`api: { cache: … }`) ----

const CACHE_POLICY: &str = r#"version: 1
tickets:
  jira:
    pattern: '\bEPL-[0-9]+\b'
    api: { kind: jira-cloud, url: '{URL}', user_env: JIRA_USER, token_env: JIRA_TOKEN, hooks: check, cache: 10m }
rules:
  - id: commit-ticket
    on: [commit]
    require: { ticket: { in: [message], exists: true, status: { in: [Done] } } }
"#;

/// A repository whose commit-msg hook asks a Jira server, with its own
/// cache directory (`XDG_CACHE_HOME`).
struct Cached {
    server: MockServer,
    repo: Repo,
    home: tempfile::TempDir,
}

impl Cached {
    async fn new(issues: Vec<Value>) -> Cached {
        let server = MockServer::start().await;
        jira_cloud(&server, issues, vec![]).await;
        let repo = Repo::new("main");
        repo.write(
            ".git-policy.yml",
            &CACHE_POLICY.replace("{URL}", &server.uri()),
        );
        Cached {
            server,
            repo,
            home: tempfile::tempdir().unwrap(),
        }
    }

    fn dir(&self) -> std::path::PathBuf {
        self.home.path().join("git-policy").join("trackers")
    }

    /// The one entry in the cache.
    fn entry(&self) -> std::path::PathBuf {
        let entries: Vec<std::path::PathBuf> = std::fs::read_dir(self.dir())
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        assert_eq!(entries.len(), 1, "{entries:?}");
        entries[0].clone()
    }

    /// Runs the hook on `message` with this token; the requests it made.
    async fn run(&self, message: &str, token: &str) -> (std::process::Output, usize) {
        let before = self.server.received_requests().await.unwrap().len();
        self.repo.write("msg", message);
        let mut cmd = self.repo.cmd();
        cmd.env("JIRA_USER", JIRA_USER)
            .env("JIRA_TOKEN", token)
            .env("XDG_CACHE_HOME", self.home.path())
            .env_remove("GIT_POLICY_TRACKER_CACHE")
            .args(["check", "commit-msg", "msg"]);
        let output = tokio::task::spawn_blocking(move || cmd.output().unwrap())
            .await
            .unwrap();
        assert_no_secret(&output);
        let all = format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        assert!(!all.contains(token), "the token leaked:\n{all}");
        let after = self.server.received_requests().await.unwrap().len();
        (output, after - before)
    }

    /// Rewrites the entry's time to `shift` seconds from now.
    fn stored_at(&self, shift: i64) {
        let entry = self.entry();
        let mut value: Value = serde_json::from_slice(&std::fs::read(&entry).unwrap()).unwrap();
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64;
        value["stored"] = json!(now + shift);
        std::fs::write(&entry, serde_json::to_vec(&value).unwrap()).unwrap();
    }
}

fn mode(path: &std::path::Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

fn code(output: &std::process::Output) -> Option<i32> {
    output.status.code()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_cache_keeps_an_answer_for_its_lifetime_only_in_a_private_file() {
    let cached = Cached::new(vec![jira_issue("EPL-1", "Bug", "Done", DONE, "Login")]).await;
    let (output, requests) = cached.run("EPL-1 Fix the login\n", JIRA_TOKEN).await;
    assert_eq!(code(&output), Some(0), "{output:?}");
    assert_eq!(requests, 1);
    // Private to the user: the folder 0700, the entry 0600, no token in it.
    let entry = cached.entry();
    assert_eq!(mode(&cached.dir()), 0o700);
    assert_eq!(mode(cached.dir().parent().unwrap()), 0o700);
    assert_eq!(mode(&entry), 0o600);
    let text = std::fs::read_to_string(&entry).unwrap();
    for secret in secrets() {
        assert!(!text.contains(&secret));
        assert!(!entry.to_string_lossy().contains(&secret));
    }
    // A hit: the second run asks nothing.
    let (output, requests) = cached.run("EPL-1 Fix the login again\n", JIRA_TOKEN).await;
    assert_eq!(code(&output), Some(0), "{output:?}");
    assert_eq!(requests, 0);
    // Older than its lifetime (10 minutes): asked again.
    cached.stored_at(-601);
    let (_, requests) = cached.run("EPL-1 Fix the login\n", JIRA_TOKEN).await;
    assert_eq!(requests, 1);
    // From the future: never trusted, asked again.
    cached.stored_at(3600);
    let (_, requests) = cached.run("EPL-1 Fix the login\n", JIRA_TOKEN).await;
    assert_eq!(requests, 1);
    // Fresh again: a hit.
    let (_, requests) = cached.run("EPL-1 Fix the login\n", JIRA_TOKEN).await;
    assert_eq!(requests, 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn another_token_never_reads_the_answers_kept_for_one() {
    let cached = Cached::new(vec![jira_issue("EPL-1", "Bug", "Done", DONE, "Login")]).await;
    let (_, requests) = cached.run("EPL-1 Fix\n", JIRA_TOKEN).await;
    assert_eq!(requests, 1);
    // What a token may see differs: another token asks for itself.
    let (output, requests) = cached
        .run("EPL-1 Fix\n", "ATATT3xFfGF0anotherTokenOfAnotherAccount")
        .await;
    assert_eq!(code(&output), Some(0), "{output:?}");
    assert_eq!(requests, 1);
    let entries = std::fs::read_dir(cached.dir()).unwrap().count();
    assert_eq!(entries, 2, "one entry per token");
    let (_, requests) = cached.run("EPL-1 Fix\n", JIRA_TOKEN).await;
    assert_eq!(requests, 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_damaged_or_planted_cache_entry_is_never_a_pass() {
    // EPL-1 is Done; EPL-2 is not in the tracker at all.
    let cached = Cached::new(vec![jira_issue("EPL-1", "Bug", "Done", DONE, "Login")]).await;
    let (_, requests) = cached.run("EPL-1 Fix\n", JIRA_TOKEN).await;
    assert_eq!(requests, 1);
    let entry = cached.entry();
    // Damaged: ignored, asked again, rewritten.
    std::fs::write(&entry, b"{\"format\": 1, \"stored\": ").unwrap();
    let (output, requests) = cached.run("EPL-1 Fix\n", JIRA_TOKEN).await;
    assert_eq!(code(&output), Some(0), "{output:?}");
    assert_eq!(requests, 1);
    let (_, requests) = cached.run("EPL-1 Fix\n", JIRA_TOKEN).await;
    assert_eq!(requests, 0, "the damaged entry was rewritten");
    // A sound entry for EPL-1, copied where EPL-2's would be: its name is a
    // hash of the ticket too, so the copy is never found for EPL-2.
    let (output, requests) = cached.run("EPL-2 Fix\n", JIRA_TOKEN).await;
    assert_eq!(code(&output), Some(1), "{output:?}");
    assert_eq!(requests, 1);
    // An entry open to others is not trusted: made 0644, it is asked again.
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&entry, std::fs::Permissions::from_mode(0o644)).unwrap();
    let (_, requests) = cached.run("EPL-1 Fix\n", JIRA_TOKEN).await;
    assert_eq!(requests, 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_cache_folder_open_to_others_or_not_the_users_is_not_used() {
    use std::os::unix::fs::PermissionsExt;
    let cached = Cached::new(vec![jira_issue("EPL-1", "Bug", "Done", DONE, "Login")]).await;
    let (_, requests) = cached.run("EPL-1 Fix\n", JIRA_TOKEN).await;
    assert_eq!(requests, 1);
    std::fs::set_permissions(cached.dir(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let (output, requests) = cached.run("EPL-1 Fix\n", JIRA_TOKEN).await;
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(code(&output), Some(0), "{stderr}");
    assert_eq!(requests, 1, "the entry in an open folder is not read");
    assert!(
        stderr.contains("not kept across runs") && stderr.contains("closed to others"),
        "{stderr}"
    );
    std::fs::set_permissions(cached.dir(), std::fs::Permissions::from_mode(0o700)).unwrap();
    let (_, requests) = cached.run("EPL-1 Fix\n", JIRA_TOKEN).await;
    assert_eq!(requests, 0);
    // Another user's folder (only root can make one here): not used either.
    if std::os::unix::fs::chown(cached.dir(), Some(65534), Some(65534)).is_ok() {
        let (output, requests) = cached.run("EPL-1 Fix\n", JIRA_TOKEN).await;
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(requests, 1, "{stderr}");
        assert!(stderr.contains("not kept across runs"), "{stderr}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_gate_keeps_no_answer_across_runs_unless_told() {
    let policy = CLOUD_POLICY.replace(
        "token_env: JIRA_TOKEN }",
        "token_env: JIRA_TOKEN, cache: 10m }",
    );
    let run = Run::new(
        &policy,
        "EPL-1 fix the login",
        "Steps to reproduce: open the login page",
        vec![commit(SHA_A, "EPL-1 work")],
    )
    .await;
    jira_cloud(
        &run.tracker,
        vec![with_field(
            jira_issue("EPL-1", "Story", "Done", DONE, "Login"),
            "customfield_10033",
            json!("yes"),
        )],
        vec![],
    )
    .await;
    let home = tempfile::tempdir().unwrap();
    let gate = |setting: Option<&str>| {
        let mut cmd = run.cmd("json");
        cmd.env("XDG_CACHE_HOME", home.path());
        match setting {
            Some(value) => cmd.env("GIT_POLICY_TRACKER_CACHE", value),
            None => cmd.env_remove("GIT_POLICY_TRACKER_CACHE"),
        };
        cmd
    };
    for _ in 0..2 {
        let output = run.run_cmd(gate(None)).await;
        assert_eq!(code(&output), Some(0), "{output:?}");
    }
    assert_eq!(
        run.tracker_requests().await.len(),
        2,
        "the gate asks every run"
    );
    assert!(!home.path().join("git-policy").exists());
    for _ in 0..2 {
        let output = run.run_cmd(gate(Some("on"))).await;
        assert_eq!(code(&output), Some(0), "{output:?}");
    }
    assert_eq!(
        run.tracker_requests().await.len(),
        3,
        "told to, it keeps them"
    );
    let output = run.run_cmd(gate(Some("yes"))).await;
    assert_eq!(code(&output), Some(2), "{output:?}");
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        said.contains("GIT_POLICY_TRACKER_CACHE is neither"),
        "{said}"
    );
}

// ---- commit rules in the audit, and the pre-push check ----

#[tokio::test(flavor = "multi_thread")]
async fn the_audit_judges_commit_rules_with_tracker_options_batched_with_the_release() {
    let server = MockServer::start().await;
    let repo = Repo::new("main");
    let policy = format!(
        "{AUDIT_POLICY}  - id: commit-ticket-exists
    on: [commit]
    require: {{ ticket: {{ in: [message], exists: true, types: [Story, Bug] }} }}
"
    );
    repo.write(".git-policy.yml", &policy.replace("{URL}", &server.uri()));
    repo.git(&["add", "."]);
    repo.git(&["commit", "-q", "-m", "EPL-1 initial"]);
    repo.git(&["tag", "v1.0.0"]);
    // 150 Jira tickets and 250 work items, ten a commit.
    let mut shas = Vec::new();
    for chunk in 0..40 {
        let names: Vec<String> = (0..10)
            .map(|i| {
                let n = chunk * 10 + i;
                if n < 150 {
                    format!("EPL-{}", n + 1)
                } else {
                    format!("AB#{}", n - 149)
                }
            })
            .collect();
        shas.push(repo.commit(&format!("{} work", names.join(" "))));
    }
    // EPL-77 is missing, EPL-5 is an Epic (the commit rule's types), EPL-42
    // and AB#7 are not signed off (the release rule).
    let issues: Vec<Value> = (1..=150)
        .filter(|n| *n != 77)
        .map(|n| {
            let kind = if n == 5 { "Epic" } else { "Story" };
            let status = if n == 42 {
                ("In Review", DOING)
            } else {
                ("Done", DONE)
            };
            jira_issue(
                &format!("EPL-{n}"),
                kind,
                status.0,
                status.1,
                &format!("Story {n}"),
            )
        })
        .collect();
    jira_cloud(&server, issues, vec![]).await;
    let items: Vec<Value> = (1..=250)
        .map(|n| {
            let state = if n == 7 { "Active" } else { "QA Passed" };
            work_item(n, "Platform", "Platform", "Bug", state, &format!("Bug {n}"))
        })
        .collect();
    azure(&server, "Platform", items).await;
    let mut cmd = repo.cmd();
    cmd.env("JIRA_USER", JIRA_USER)
        .env("JIRA_TOKEN", JIRA_TOKEN)
        .env("AZURE_DEVOPS_TOKEN", AZURE_TOKEN)
        .args(["--format", "json", "audit", "v1.0.0..HEAD"]);
    let output = tokio::task::spawn_blocking(move || cmd.output().unwrap())
        .await
        .unwrap();
    assert_no_secret(&output);
    assert_eq!(
        output.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let report = json_of(&output);
    let all = findings(&report);
    assert!(
        !all.iter().any(|(_, _, m)| m.contains("not verified")),
        "every commit's tickets were verified: {all:#?}"
    );
    let on_commit = |ticket: &str, needle: &str| -> String {
        let finding = report["findings"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| {
                f["rule"] == "commit-ticket-exists"
                    && f["ticket"] == ticket
                    && f["message"].as_str().unwrap().contains(needle)
            })
            .unwrap_or_else(|| panic!("no commit finding on {ticket}: {all:#?}"));
        finding["commit"].as_str().unwrap().to_owned()
    };
    // Each names the commit it was named in.
    assert_eq!(on_commit("EPL-77", "was not found"), shas[7]);
    assert_eq!(
        on_commit("EPL-5", "is a `Epic`, not one of `Story`, `Bug`"),
        shas[0]
    );
    message_for(
        &all,
        "EPL-42",
        "is `In Review` (In Progress), not in `QA Passed`, `Done`",
    );
    message_for(&all, "AB#7", "is `Active`, not in `QA Passed`, `Done`");
    // EPL-77 twice (the commit's rule and the release's), EPL-5, EPL-42, AB#7.
    assert_eq!(all.len(), 5, "{all:#?}");
    let requests = server.received_requests().await.unwrap();
    // The commits' tickets and the release's, read together: one request
    // per 100 tickets (150 keys in 2, 250 ids in 2).
    assert_eq!(requests.len(), 4, "{requests:?}");
}

const PUSH_POLICY: &str = r#"version: 1
tickets:
  jira:
    pattern: '\bEPL-[0-9]+\b'
    api: { kind: jira-cloud, url: '{URL}', user_env: JIRA_USER, token_env: JIRA_TOKEN{HOOKS} }
rules:
  - id: commit-ticket
    on: [commit]
    require: { ticket: { in: [message], exists: true, types: [Story] } }
"#;

/// Pushes two new branches (`feature/a`: EPL-1, EPL-2, EPL-3; `feature/b`:
/// EPL-1, EPL-4) through `check push`; the output and the tracker's requests.
async fn push(hooks: &str, url: Option<&str>) -> (std::process::Output, Vec<Request>) {
    let server = MockServer::start().await;
    jira_cloud(
        &server,
        vec![
            jira_issue("EPL-1", "Story", "Done", DONE, "One"),
            jira_issue("EPL-3", "Epic", "To Do", TODO, "Three"),
            jira_issue("EPL-4", "Story", "To Do", TODO, "Four"),
        ],
        vec![],
    )
    .await;
    let repo = Repo::new("feature/a");
    let url = url.map_or_else(|| server.uri(), str::to_owned);
    repo.write(
        ".git-policy.yml",
        &PUSH_POLICY.replace("{URL}", &url).replace("{HOOKS}", hooks),
    );
    repo.git(&["add", "."]);
    repo.git(&["commit", "-q", "-m", "EPL-1 add the policy"]);
    repo.commit("EPL-2 fix the login");
    let a = repo.commit("EPL-3 fix the logout");
    repo.git(&["checkout", "-q", "-b", "feature/b", "HEAD~2"]);
    let b = repo.commit("EPL-4 fix the menu");
    let zero = "0".repeat(40);
    let mut cmd = repo.cmd();
    cmd.env("JIRA_USER", JIRA_USER)
        .env("JIRA_TOKEN", JIRA_TOKEN)
        .env("GIT_POLICY_RETRY_DELAY", "0.01")
        .args(["--format", "json", "check", "push", "origin"])
        .write_stdin(format!(
            "refs/heads/feature/a {a} refs/heads/feature/a {zero}\nrefs/heads/feature/b {b} refs/heads/feature/b {zero}\n"
        ));
    let output = tokio::task::spawn_blocking(move || cmd.output().unwrap())
        .await
        .unwrap();
    assert_no_secret(&output);
    (output, server.received_requests().await.unwrap())
}

#[tokio::test(flavor = "multi_thread")]
async fn pre_push_asks_the_tracker_once_for_every_pushed_commit_when_it_says_hooks_check() {
    let (output, requests) = push(", hooks: check", None).await;
    assert_eq!(
        output.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let all = findings(&json_of(&output));
    message_for(&all, "EPL-2", "(named in the message) was not found");
    message_for(&all, "EPL-3", "is a `Epic`, not one of `Story`");
    assert_eq!(all.len(), 2, "{all:#?}");
    // One batch for both branches' commits.
    assert_eq!(requests.len(), 1, "{requests:?}");
    let body: Value = serde_json::from_slice(&requests[0].body).unwrap();
    let mut keys: Vec<&str> = body["issueIdsOrKeys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k.as_str().unwrap())
        .collect();
    keys.sort_unstable();
    assert_eq!(keys, ["EPL-1", "EPL-2", "EPL-3", "EPL-4"]);
    // Without `hooks: check`, the push asks nothing.
    let (output, requests) = push("", None).await;
    assert_eq!(output.status.code(), Some(0));
    assert!(requests.is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn pre_push_warns_and_goes_on_when_the_tracker_is_unreachable() {
    let (output, _) = push(", hooks: check", Some("http://127.0.0.1:9")).await;
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains("warning: tickets not verified") && stderr.contains("tracker `jira`"),
        "{stderr}"
    );
    assert!(findings(&json_of(&output)).is_empty());
}

#[test]
fn a_cache_lifetime_past_an_hour_or_unreadable_is_a_policy_error() {
    let repo = Repo::new("main");
    for (lifetime, ok) in [
        ("10m", true),
        ("30s", true),
        ("1h", true),
        ("61m", false),
        ("2h", false),
        ("0s", false),
        ("ten minutes", false),
    ] {
        repo.write(
            "policy.yml",
            &CACHE_POLICY
                .replace("{URL}", "https://acme.atlassian.net")
                .replace("cache: 10m", &format!("cache: '{lifetime}'")),
        );
        let output = repo
            .cmd()
            .args(["--policy", "policy.yml", "validate"])
            .output()
            .unwrap();
        let said = String::from_utf8_lossy(&output.stderr);
        if ok {
            assert_eq!(output.status.code(), Some(0), "{lifetime}: {said}");
        } else {
            assert_eq!(output.status.code(), Some(2), "{lifetime}: {said}");
            assert!(
                said.contains("is not a cache lifetime from 1s to 1h"),
                "{said}"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn pre_push_a_revert_naming_a_ticket_stays_exempt_once_its_tickets_are_read() {
    let server = MockServer::start().await;
    jira_cloud(&server, vec![], vec![]).await;
    let repo = Repo::new("feature/a");
    repo.write(
        ".git-policy.yml",
        &PUSH_POLICY
            .replace("{URL}", &server.uri())
            .replace("{HOOKS}", ", hooks: check"),
    );
    repo.git(&["add", "."]);
    repo.git(&["commit", "-q", "-m", "EPL-1 add the policy"]);
    let reverted = repo.commit("EPL-2 fix the login");
    let head = repo.commit(&format!(
        "Revert \"EPL-2 fix the login\"\n\nThis reverts commit {reverted}.\n"
    ));
    let mut cmd = repo.cmd();
    cmd.env("JIRA_USER", JIRA_USER)
        .env("JIRA_TOKEN", JIRA_TOKEN)
        .args(["--format", "json", "check", "push", "origin"])
        .write_stdin(format!(
            "refs/heads/feature/a {head} refs/heads/feature/a {}\n",
            "0".repeat(40)
        ));
    let output = tokio::task::spawn_blocking(move || cmd.output().unwrap())
        .await
        .unwrap();
    assert_no_secret(&output);
    let report = json_of(&output);
    let commits: Vec<&str> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["commit"].as_str().unwrap_or_default())
        .collect();
    // EPL-1 and EPL-2 are not in the tracker: the two commits naming them
    // are refused; the revert, exempt, is not.
    assert_eq!(commits.len(), 2, "{report}");
    assert!(!commits.contains(&head.as_str()), "{report}");
    assert_eq!(report["skipped"], 1, "{report}");
    assert_eq!(server.received_requests().await.unwrap().len(), 1);
}
