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
    repo.cmd()
        .args(["audit", "--release", "9.9.9"])
        .assert()
        .code(2)
        .stderr(contains("release page `docs/releases/9.9.9.md` not found"));
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
