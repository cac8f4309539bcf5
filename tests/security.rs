//! What a pull request's author controls (title, body, branch, labels,
//! commit messages, author names, file names, the head's files) can neither
//! make the gate pass, leak a secret, nor steer the Actions runner.
//! docs/security.md lists each guarantee with the test here that proves it.
//!
//! Every run goes through `common::Cmd`, which already fails a test when a
//! token leaks or the runner would find a command git-policy did not mean.

mod common;

use std::path::Path;

use common::{POLICY, Repo, runner_commands};
use serde_json::{Value, json};
use wiremock::matchers::{method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

const TOKEN: &str = "ghp_SecurityTestT0kenNeverPrinted0000000";
const HEAD: &str = "1111111111111111111111111111111111111111";
const BASE: &str = "2222222222222222222222222222222222222222";
const FORMATS: [&str; 5] = ["human", "json", "github", "markdown", "sarif"];

/// Everything the runner or a terminal or a Markdown page could act on.
const HOSTILE: &[&str] = &[
    "\n::set-output name=passed::true",
    "\r::add-mask::x",
    "x ##[set-output name=passed;]true",
    "\n::stop-commands::tok",
    "\n  \u{a0}::error title=forged::forged",
    "\x1b]8;;https://evil.example\x07click\x1b]8;;\x07",
    "\x1b[2J\x1b[8m",
    "<img src=x onerror=alert(1)>",
    "\u{85}::warning::nel",
    "\u{202e}reversed",
];

fn hostile() -> String {
    HOSTILE.concat()
}

/// Output no terminal or page can act on: no raw escape, carriage return
/// or C1 control, and (for Markdown) no raw HTML.
fn assert_displayable(format: &str, text: &str) {
    assert!(
        !text
            .chars()
            .any(|c| (c.is_control() && c != '\n' && c != '\t') || c == '\u{202e}'),
        "a control character reached the output ({format}):\n{text:?}"
    );
    if matches!(format, "markdown" | "step summary") {
        assert!(
            !text.contains("<img"),
            "raw HTML reached the output ({format}):\n{text}"
        );
    }
}

/// The per-format rule on top of `common::assert_inert`: only `--format
/// github` writes annotations, and only on stdout.
fn assert_commands_only_in_github(format: &str, output: &std::process::Output) {
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    if format != "github" {
        assert_eq!(
            runner_commands(&stdout),
            Vec::<String>::new(),
            "{format} stdout"
        );
    }
    assert_eq!(runner_commands(&stderr), Vec::<String>::new(), "stderr");
    assert_displayable(format, &stdout);
    assert_displayable("stderr", &stderr);
}

// ---- check pr through a local GitHub ----

fn pr_json(title: &str, body: &str, head_ref: &str, labels: &[&str], files: u64) -> Value {
    json!({
        "url": "https://api.github.com/repos/octo/app/pulls/42",
        "id": 1042, "number": 42, "state": "open", "locked": false,
        "title": title, "body": body, "draft": false,
        "user": { "login": "dev", "id": 7, "type": "User" },
        "labels": labels.iter().map(|l| json!({ "id": 1, "name": l, "color": "f29513", "default": false })).collect::<Vec<_>>(),
        "milestone": null,
        "head": { "label": "octo:x", "ref": head_ref, "sha": HEAD, "user": { "login": "octo" } },
        "base": { "label": "octo:main", "ref": "main", "sha": BASE, "user": { "login": "octo" } },
        "author_association": "MEMBER", "merged": false, "mergeable": true, "comments": 0, "commits": 1,
        "additions": 10, "deletions": 2, "changed_files": files
    })
}

fn file(name: &str) -> Value {
    json!({ "sha": "bbcd538c8e72b8c175046e27cc8f907076331401", "filename": name, "status": "modified",
            "additions": 1, "deletions": 0, "changes": 1, "patch": "@@ -1 +1 @@" })
}

fn commit(message: &str, author: &str) -> Value {
    json!({ "sha": HEAD, "commit": { "author": { "name": author, "email": "dev@example.com", "date": "2026-11-20T17:00:00Z" },
            "message": message }, "parents": [{ "sha": BASE }] })
}

async fn mount(server: &MockServer, at: &str, body: Value) {
    common::github::mount(server, at, body).await;
}

/// A pull request whose every author-controlled field is hostile.
async fn hostile_pr() -> MockServer {
    let evil = hostile();
    let server = MockServer::start().await;
    let files = [format!("infra/{evil}.tf"), format!("a{evil}.rs")];
    mount(
        &server,
        "/repos/octo/app/pulls/42",
        pr_json(
            &format!("Fix {evil}"),
            &format!("## Steps to reproduce\n{evil}"),
            &format!("feature/{evil}"),
            &["bug", &evil],
            files.len() as u64,
        ),
    )
    .await;
    mount(&server, "/repos/octo/app/pulls/42/reviews", json!([])).await;
    mount(
        &server,
        "/repos/octo/app/pulls/42/files",
        Value::Array(files.iter().map(|f| file(f)).collect()),
    )
    .await;
    mount(
        &server,
        "/repos/octo/app/pulls/42/commits",
        json!([commit(&format!("Subject {evil}\n\nbody {evil}"), &evil)]),
    )
    .await;
    server
}

/// Rules that quote the pull request's text back, at `level`.
fn pr_policy(level: &str) -> String {
    format!(
        r#"version: 1
tickets: {{ jira: {{ pattern: '\bEPL-[0-9]+\b' }} }}
teams: {{ platform: {{ members: [asherman] }} }}
paths: {{ iac: ['**/*.tf'] }}
kinds: {{ bug: {{ labels: [bug] }} }}
rules:
  - id: pr-ticket
    level: {level}
    on: [pull_request]
    require: {{ ticket: {{ in: [title, body, branch] }} }}
  - id: commit-ticket
    level: {level}
    on: [commit]
    require: {{ ticket: {{ in: [message] }} }}
  - id: iac-approval
    level: {level}
    on: [pull_request]
    when: {{ changed: [iac] }}
    require: {{ approval: {{ teams: [platform] }} }}
  - id: branch-name
    level: {level}
    on: [branch]
    require: {{ branch: {{ pattern: '^bugfix/' }} }}
"#
    )
}

struct Run {
    output: std::process::Output,
    github_output: String,
    summary: String,
}

async fn check_pr(server: &MockServer, dir: &Path, format: &str, extra: &[&str]) -> Run {
    let github_output = tempfile::NamedTempFile::new_in(dir)
        .unwrap()
        .into_temp_path();
    let summary = tempfile::NamedTempFile::new_in(dir)
        .unwrap()
        .into_temp_path();
    let mut cmd = common::git_policy(dir);
    cmd.env("GITHUB_API_URL", server.uri())
        .env("GITHUB_TOKEN", TOKEN)
        .env("GIT_POLICY_RETRY_DELAY", "0.01")
        .env("GITHUB_OUTPUT", &*github_output)
        .env("GITHUB_STEP_SUMMARY", &*summary)
        .env_remove("GITHUB_REPOSITORY")
        .env_remove("GITHUB_EVENT_NAME")
        .args(extra)
        .args([
            "--format", format, "check", "pr", "--repo", "octo/app", "--number", "42",
        ]);
    let output = tokio::task::spawn_blocking(move || cmd.output().unwrap())
        .await
        .unwrap();
    Run {
        output,
        github_output: std::fs::read_to_string(&github_output).unwrap_or_default(),
        summary: std::fs::read_to_string(&summary).unwrap_or_default(),
    }
}

/// The runner's parsing rules over every string a pull request author
/// controls, in every format, on exit statuses 0, 1 and 2: only
/// git-policy's own annotations, and `passed` in `$GITHUB_OUTPUT` always
/// agrees with the exit status.
#[tokio::test(flavor = "multi_thread")]
async fn hostile_pull_request_text_is_inert_in_every_format_and_exit_status() {
    let server = hostile_pr().await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("failing.yml"), pr_policy("error")).unwrap();
    std::fs::write(dir.path().join("passing.yml"), pr_policy("notice")).unwrap();
    // An API error whose message is hostile and echoes the token.
    let broken = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/repos/octo/app/pulls/42"))
        .respond_with(
            ResponseTemplate::new(403).set_body_json(
                json!({ "message": format!("Bad credentials {TOKEN} {}", hostile()) }),
            ),
        )
        .mount(&broken)
        .await;
    for format in FORMATS {
        for (server, policy, code) in [
            (&server, "passing.yml", 0),
            (&server, "failing.yml", 1),
            (&broken, "failing.yml", 2),
        ] {
            let run = check_pr(server, dir.path(), format, &["--policy", policy]).await;
            let said = format!(
                "{format} exit {code}:\n{}{}",
                String::from_utf8_lossy(&run.output.stdout),
                String::from_utf8_lossy(&run.output.stderr)
            );
            assert_eq!(run.output.status.code(), Some(code), "{said}");
            assert_commands_only_in_github(format, &run.output);
            if format == "github" {
                let passed = run
                    .github_output
                    .lines()
                    .filter_map(|l| l.strip_prefix("passed="))
                    .collect::<Vec<_>>();
                assert_eq!(passed, [if code == 0 { "true" } else { "false" }], "{said}");
                assert!(!run.github_output.contains(TOKEN));
                assert_displayable("step summary", &run.summary);
                if code == 2 {
                    assert!(
                        run.github_output.contains("\nerror<<"),
                        "{}",
                        run.github_output
                    );
                }
            }
            if code == 1 && format == "human" {
                // The hostile text is shown, escaped, not dropped.
                assert!(said.contains("\\u{1b}]8;;https://evil.example"), "{said}");
            }
        }
    }
}

/// Exit 2 in `--format github` before this change wrote nothing to
/// `$GITHUB_OUTPUT`: a later `if: steps.gate.outputs.passed != 'false'` passed.
#[tokio::test(flavor = "multi_thread")]
async fn exit_2_in_github_format_writes_passed_false() {
    let broken = MockServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("p.yml"), POLICY).unwrap();
    let run = check_pr(&broken, dir.path(), "github", &["--policy", "p.yml"]).await;
    assert_eq!(run.output.status.code(), Some(2));
    assert!(
        run.github_output.starts_with("passed=false\nerror<<"),
        "{}",
        run.github_output
    );
}

/// A proxy or server that echoes the token in an error body, and a
/// `GITHUB_API_URL` with userinfo: neither is shown, in any format.
#[tokio::test(flavor = "multi_thread")]
async fn api_errors_and_api_urls_never_show_a_secret() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("p.yml"), POLICY).unwrap();
    for status in [401, 404, 422, 500] {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .respond_with(ResponseTemplate::new(status).set_body_json(
                json!({ "message": format!("token {TOKEN} rejected; Authorization: token {TOKEN}") }),
            ))
            .mount(&server)
            .await;
        for format in FORMATS {
            // common::Cmd fails the test if TOKEN shows.
            let run = check_pr(&server, dir.path(), format, &["--policy", "p.yml"]).await;
            assert_eq!(run.output.status.code(), Some(2), "{status} {format}");
            assert!(!run.github_output.contains(TOKEN));
        }
    }
    let password = "hunter2-userinfo-password";
    for format in FORMATS {
        let mut cmd = common::git_policy(dir.path());
        cmd.env(
            "GITHUB_API_URL",
            format!("http://robot:{password}@127.0.0.1:9/api"),
        )
        .env("GIT_POLICY_RETRY_DELAY", "0.01")
        .env("GIT_POLICY_HTTP_TIMEOUT", "2")
        .args(["--policy", "p.yml", "--format", format])
        .args(["check", "pr", "--repo", "octo/app", "--number", "42"]);
        let output = cmd.output().unwrap();
        assert_eq!(output.status.code(), Some(2));
        let all = format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        assert!(!all.contains(password), "{all}");
    }
}

// ---- local commands ----

/// The commit-msg hook and `check commits` on hostile messages, author
/// names and file names, in every format.
#[test]
fn hostile_commits_and_file_names_are_inert_in_every_format() {
    let evil = hostile();
    let repo = Repo::new("feature/EPL-1-x");
    repo.write(".git-policy.yml", POLICY);
    repo.git(&["add", "."]);
    repo.git(&["commit", "-q", "-m", "EPL-1 policy"]);
    let evil_subject = evil.replace('\r', "");
    repo.commit(&format!("Subject {evil_subject}"));
    let message_file = format!("msg{}", evil.replace(['\u{85}', '\u{202e}'], ""));
    repo.write(&message_file, &format!("Subject {evil}\n"));
    for format in FORMATS {
        for args in [
            vec!["check", "commit-msg", message_file.as_str()],
            vec!["check", "commits", "HEAD~1..HEAD"],
        ] {
            let output = repo
                .cmd()
                .args(["--format", format])
                .args(&args)
                .output()
                .unwrap();
            assert_eq!(output.status.code(), Some(1), "{format} {args:?}");
            assert_commands_only_in_github(format, &output);
        }
    }
}

/// The release audit over a hostile commit subject and release page, in
/// every format (the Markdown report lists the subjects).
#[test]
fn hostile_commits_in_the_release_audit_are_inert_in_every_format() {
    let policy = r#"version: 1
tickets: { jira: { pattern: '\bEPL-[0-9]+\b', url: 'https://jira.example.com/browse/{id}' } }
rules:
  - id: commit-ticket
    on: [commit]
    require: { ticket: { in: [message] } }
  - id: release-page
    on: [release]
    require:
      release_page:
        path: 'docs/releases/{version}.md'
        sections: ['Changes']
        lists_all_tickets: true
"#;
    let evil = hostile();
    let repo = Repo::new("main");
    repo.write(".git-policy.yml", policy);
    repo.git(&["add", "."]);
    repo.git(&["commit", "-q", "-m", "EPL-1 initial"]);
    repo.git(&["tag", "v1.0.0"]);
    repo.commit(&format!("Subject {}", evil.replace(['\n', '\r'], " ")));
    repo.write(
        "docs/releases/1.1.0.md",
        &format!("## Changes\n- EPL-9 {evil}\n"),
    );
    repo.git(&["add", "."]);
    repo.git(&["commit", "-q", "-m", "EPL-2 page"]);
    for format in FORMATS {
        let output = repo
            .cmd()
            .args(["--format", format, "audit", "--release", "1.1.0"])
            .output()
            .unwrap();
        assert_eq!(
            output.status.code(),
            Some(1),
            "{format}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        assert_commands_only_in_github(format, &output);
    }
}

/// A policy file whose name carries a line break and a command (a file
/// the pull request adds), unreadable as YAML: exit 2, inert.
#[test]
fn a_hostile_policy_file_name_is_inert_in_every_format() {
    let repo = Repo::new("main");
    let name = format!("bad{}.yml", hostile().replace(['/', '\u{85}'], ""));
    repo.write(
        &format!(".github/policies/{name}"),
        "version: 1\nrules: [\n",
    );
    for format in FORMATS {
        let output = repo
            .cmd()
            .args(["--format", format, "validate"])
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(2), "{format}");
        assert_commands_only_in_github(format, &output);
    }
}

/// A panic's message goes through the same writer (and is exit 2).
#[test]
fn bad_usage_is_inert() {
    let dir = tempfile::tempdir().unwrap();
    let output = common::git_policy(dir.path())
        .args(["check", "branch", "--bogus\n::set-output name=passed::true"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
}

// ---- item 2: policy files that are not files of the repository ----

#[cfg(unix)]
#[test]
fn a_policy_file_linked_outside_the_repository_is_refused() {
    let outside = tempfile::tempdir().unwrap();
    let secret = outside.path().join("environ");
    std::fs::write(&secret, "GITHUB_TOKEN=very-secret-value-1234\nOTHER=x\n").unwrap();
    let repo = Repo::new("main");
    std::os::unix::fs::symlink(&secret, repo.path().join(".git-policy.yml")).unwrap();
    for format in FORMATS {
        let output = repo
            .cmd()
            .args(["--format", format, "validate"])
            .output()
            .unwrap();
        let all = format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        assert_eq!(output.status.code(), Some(2), "{all}");
        assert!(!all.contains("very-secret-value"), "{all}");
        assert!(all.contains(".git-policy.yml"), "names the link: {all}");
        assert!(all.contains("outside"), "{all}");
    }
    // /proc/self/environ, as in the report.
    if Path::new("/proc/self/environ").exists() {
        let repo = Repo::new("main");
        std::os::unix::fs::symlink("/proc/self/environ", repo.path().join(".git-policy.yml"))
            .unwrap();
        let output = repo
            .cmd()
            .env("GITHUB_TOKEN", TOKEN)
            .arg("validate")
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(2));
    }
}

#[cfg(unix)]
#[test]
fn a_policy_folder_linked_outside_the_repository_is_refused() {
    let outside = tempfile::tempdir().unwrap();
    for i in 0..50 {
        std::fs::write(
            outside.path().join(format!("{i}.yml")),
            "version: 1\nrules: []\n",
        )
        .unwrap();
    }
    let repo = Repo::new("main");
    std::fs::create_dir_all(repo.path().join(".github")).unwrap();
    std::os::unix::fs::symlink(outside.path(), repo.path().join(".github/policies")).unwrap();
    let output = repo.cmd().arg("validate").output().unwrap();
    let err = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{err}");
    assert!(
        err.contains(".github/policies") && err.contains("outside"),
        "{err}"
    );
}

#[cfg(unix)]
#[test]
fn a_linked_file_in_the_policy_folder_is_never_skipped() {
    // Outside the repository: refused, naming the link (it used to be
    // skipped, and the built-in pack used instead).
    let outside = tempfile::tempdir().unwrap();
    std::fs::write(outside.path().join("p.yml"), POLICY).unwrap();
    let repo = Repo::new("main");
    std::fs::create_dir_all(repo.path().join(".github/policies")).unwrap();
    std::os::unix::fs::symlink(
        outside.path().join("p.yml"),
        repo.path().join(".github/policies/team.yml"),
    )
    .unwrap();
    let output = repo.cmd().arg("validate").output().unwrap();
    let err = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{err}");
    assert!(err.contains("team.yml") && err.contains("outside"), "{err}");
    assert!(!err.contains("built-in"), "{err}");
    // Inside the repository: read.
    let repo = Repo::new("main");
    repo.write("shared/p.yml", POLICY);
    std::fs::create_dir_all(repo.path().join(".github/policies")).unwrap();
    std::os::unix::fs::symlink(
        "../../shared/p.yml",
        repo.path().join(".github/policies/team.yml"),
    )
    .unwrap();
    repo.cmd()
        .args(["check", "branch", "main"])
        .assert()
        .code(1)
        .stderr(predicates::str::contains("built-in").not());
    // Dangling: exit 2, not the built-in pack.
    let repo = Repo::new("main");
    std::os::unix::fs::symlink("nowhere.yml", repo.path().join(".git-policy.yml")).unwrap();
    let output = repo.cmd().arg("validate").output().unwrap();
    assert_eq!(output.status.code(), Some(2));
}

#[test]
fn a_policy_folder_is_read_only_up_to_its_caps() {
    let dir = tempfile::tempdir().unwrap();
    let folder = dir.path().join("huge");
    std::fs::create_dir_all(&folder).unwrap();
    for i in 0..2_100 {
        std::fs::write(folder.join(format!("{i}.txt")), "").unwrap();
    }
    let output = common::git_policy(dir.path())
        .args(["--policy", "huge", "validate"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{err}");
    assert!(err.contains("more than 2000 entries"), "{err}");
    std::fs::write(dir.path().join("big.yml"), "#".repeat(2 * 1024 * 1024)).unwrap();
    let output = common::git_policy(dir.path())
        .args(["--policy", "big.yml", "validate"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{err}");
    assert!(err.contains("larger than 1024 KiB"), "{err}");
}

// ---- issue 9 item 3: an unreadable base policy is not "no policy" ----

fn committed_policy_repo() -> (Repo, git2::Oid, git2::Oid) {
    let repo = Repo::new("main");
    repo.write(".github/policies/team.yml", POLICY);
    repo.git(&["add", "."]);
    repo.git(&["commit", "-q", "-m", "policy"]);
    let git = git2::Repository::open(repo.path()).unwrap();
    let head = git.head().unwrap().peel_to_commit().unwrap();
    let folder = head
        .tree()
        .unwrap()
        .get_path(Path::new(".github/policies"))
        .unwrap()
        .id();
    let id = head.id();
    (repo, id, folder)
}

#[test]
fn a_missing_policy_tree_object_is_an_error_not_no_policy() {
    use git_policy::sources::policy_files::read_at_commit;
    let (repo, commit, folder) = committed_policy_repo();
    let hex = folder.to_string();
    std::fs::remove_file(
        repo.path()
            .join(".git/objects")
            .join(&hex[..2])
            .join(&hex[2..]),
    )
    .unwrap();
    let git = git2::Repository::open(repo.path()).unwrap();
    let found = read_at_commit(&git, commit);
    assert!(found.is_err(), "{found:?}");
}

#[cfg(unix)]
#[test]
fn a_linked_policy_folder_in_a_commit_is_an_error_not_no_policy() {
    use git_policy::sources::policy_files::read_at_commit;
    let repo = Repo::new("main");
    repo.write("elsewhere/team.yml", POLICY);
    std::fs::create_dir_all(repo.path().join(".github")).unwrap();
    std::os::unix::fs::symlink("../elsewhere", repo.path().join(".github/policies")).unwrap();
    repo.git(&["add", "."]);
    repo.git(&["commit", "-q", "-m", "linked policy folder"]);
    let git = git2::Repository::open(repo.path()).unwrap();
    let head = git.head().unwrap().target().unwrap();
    let err = read_at_commit(&git, head).unwrap_err();
    assert!(err.message.contains("symbolic link"), "{}", err.message);
    // Nothing at either path is the only "no policy".
    let empty = Repo::new("main");
    let sha = empty.commit("nothing");
    let git = git2::Repository::open(empty.path()).unwrap();
    assert_eq!(
        read_at_commit(&git, git2::Oid::from_str(&sha).unwrap()).unwrap(),
        None
    );
}

/// Base and head policies through the contents API (no clone).
async fn contents_server() -> MockServer {
    let server = MockServer::start().await;
    mount(
        &server,
        "/repos/octo/app/pulls/42",
        pr_json("EPL-1 Fix", "", "feature/EPL-1-x", &[], 1),
    )
    .await;
    mount(&server, "/repos/octo/app/pulls/42/reviews", json!([])).await;
    mount(
        &server,
        "/repos/octo/app/pulls/42/files",
        json!([file("a.rs")]),
    )
    .await;
    mount(
        &server,
        "/repos/octo/app/pulls/42/commits",
        json!([commit("EPL-1 Fix", "Dev")]),
    )
    .await;
    server
}

fn content(path: &str, text: &str) -> Value {
    use base64::Engine;
    json!({ "type": "file", "encoding": "base64", "path": path, "size": text.len(),
            "content": base64::engine::general_purpose::STANDARD.encode(text) })
}

async fn respond(server: &MockServer, at: &str, sha: &str, status: u16, body: Value) {
    Mock::given(method("GET"))
        .and(path(at))
        .and(query_param("ref", sha))
        .respond_with(ResponseTemplate::new(status).set_body_json(body))
        .mount(server)
        .await;
}

async fn check_pr_without_clone(server: &MockServer) -> std::process::Output {
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = common::git_policy(dir.path());
    cmd.env("GITHUB_API_URL", server.uri())
        .env("GITHUB_TOKEN", TOKEN)
        .env("GIT_POLICY_RETRY_DELAY", "0.01")
        .args([
            "--format", "json", "check", "pr", "--repo", "octo/app", "--number", "42",
        ]);
    tokio::task::spawn_blocking(move || cmd.output().unwrap())
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_linked_policy_folder_through_the_contents_api_is_an_error() {
    let server = contents_server().await;
    respond(
        &server,
        "/repos/octo/app/contents/.github/policies",
        BASE,
        200,
        json!({ "type": "symlink", "target": "../elsewhere", "path": ".github/policies" }),
    )
    .await;
    let output = check_pr_without_clone(&server).await;
    let err = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(output.status.code(), Some(2), "{err}");
    assert!(err.contains("symlink"), "{err}");
    assert!(!err.contains("built-in"), "{err}");
}

/// The head adds a policy file with a hostile name (the proposed policy,
/// read through the contents API): exit 1 with the notice, or exit 2 when
/// the file is a link, inert in every format either way.
#[tokio::test(flavor = "multi_thread")]
async fn a_hostile_proposed_policy_file_name_is_inert_in_every_format() {
    let evil = hostile().replace('/', "");
    let head_path = format!(".github/policies/{evil}.yml");
    for (kind, code) in [("file", 1), ("symlink", 2)] {
        let server = contents_server().await;
        respond(
            &server,
            "/repos/octo/app/contents/.github/policies",
            BASE,
            404,
            json!({ "message": "Not Found" }),
        )
        .await;
        respond(
            &server,
            "/repos/octo/app/contents/.git-policy.yml",
            BASE,
            200,
            content(".git-policy.yml", "version: 1\nrules:\n  - id: never-passes\n    on: [pull_request]\n    require: { labels: { one_of: [never] } }\n"),
        )
        .await;
        respond(
            &server,
            "/repos/octo/app/contents/.github/policies",
            HEAD,
            200,
            json!([{ "type": kind, "path": head_path }]),
        )
        .await;
        Mock::given(method("GET"))
            .and(wiremock::matchers::path_regex(
                "^/repos/octo/app/contents/.github/policies/bad",
            ))
            .respond_with(
                ResponseTemplate::new(200)
                    .set_body_json(content(&head_path, "version: 1\nrules: [\n")),
            )
            .mount(&server)
            .await;
        Mock::given(method("GET"))
            .and(wiremock::matchers::path_regex(
                "^/repos/octo/app/contents/.github/policies/%0A",
            ))
            .respond_with(
                ResponseTemplate::new(200)
                    .set_body_json(content(&head_path, "version: 1\nrules: [\n")),
            )
            .mount(&server)
            .await;
        for format in FORMATS {
            let dir = tempfile::tempdir().unwrap();
            let run = check_pr(&server, dir.path(), format, &[]).await;
            assert_eq!(
                run.output.status.code(),
                Some(code),
                "{kind} {format}: {}{}",
                String::from_utf8_lossy(&run.output.stdout),
                String::from_utf8_lossy(&run.output.stderr)
            );
            assert_commands_only_in_github(format, &run.output);
        }
    }
}

/// `a#b.yml`, `my policy.yml`, `?`: one request each, to the right path.
#[tokio::test(flavor = "multi_thread")]
async fn contents_api_paths_are_percent_encoded() {
    let server = contents_server().await;
    let names = ["my policy.yml", "a#b.yml", "q?x=1.yml"];
    for sha in [BASE, HEAD] {
        respond(
            &server,
            "/repos/octo/app/contents/.github/policies",
            sha,
            200,
            Value::Array(
                names
                    .iter()
                    .map(|n| json!({ "type": "file", "path": format!(".github/policies/{n}") }))
                    .collect(),
            ),
        )
        .await;
    }
    let policies = [
        "version: 1\ntickets: { jira: { pattern: '\\bEPL-[0-9]+\\b' } }\nrules: []\n",
        "version: 1\nrules:\n  - id: never-passes\n    on: [pull_request]\n    require: { labels: { one_of: [never] } }\n",
        "version: 1\nrules: []\n",
    ];
    for (name, policy) in names.iter().zip(policies) {
        let encoded = name
            .replace(' ', "%20")
            .replace('#', "%23")
            .replace('?', "%3F")
            .replace('=', "%3D");
        for sha in [BASE, HEAD] {
            respond(
                &server,
                &format!("/repos/octo/app/contents/.github/policies/{encoded}"),
                sha,
                200,
                content(&format!(".github/policies/{name}"), policy),
            )
            .await;
        }
    }
    let output = check_pr_without_clone(&server).await;
    let v: Value = serde_json::from_slice(&output.stdout).unwrap_or(Value::Null);
    assert_eq!(
        output.status.code(),
        Some(1),
        "{v}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(v["findings"][0]["rule"], "never-passes", "{v}");
}

/// A head with 4,000 policy files used to cost 4,027 requests; now the
/// listing alone says no, and nothing is decided by the proposed policy.
#[tokio::test(flavor = "multi_thread")]
async fn a_head_with_thousands_of_policy_files_sends_a_bounded_number_of_requests() {
    let server = contents_server().await;
    respond(
        &server,
        "/repos/octo/app/contents/.github/policies",
        BASE,
        404,
        json!({ "message": "Not Found" }),
    )
    .await;
    respond(
        &server,
        "/repos/octo/app/contents/.git-policy.yml",
        BASE,
        200,
        content(".git-policy.yml", "version: 1\nrules: []\n"),
    )
    .await;
    let many: Vec<Value> = (0..4_000)
        .map(|i| json!({ "type": "file", "path": format!(".github/policies/p{i}.yml") }))
        .collect();
    respond(
        &server,
        "/repos/octo/app/contents/.github/policies",
        HEAD,
        200,
        Value::Array(many),
    )
    .await;
    Mock::given(method("GET"))
        .and(wiremock::matchers::path_regex(
            "^/repos/octo/app/contents/.github/policies/p[0-9]+.yml$",
        ))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(content("x.yml", "version: 1\nrules: []\n")),
        )
        .mount(&server)
        .await;
    let output = check_pr_without_clone(&server).await;
    let requests = server.received_requests().await.unwrap_or_default().len();
    let err = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(output.status.code(), Some(2), "{err}");
    assert!(requests < 50, "{requests} requests");
    assert!(err.contains("more than"), "{err}");
}

// ---- item 6: hooks ----

fn git_in(dir: &Path, args: &[&str]) -> std::process::Output {
    std::process::Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("HOME", dir)
        .env("NO_COLOR", "1")
        .output()
        .unwrap()
}

fn policy_repo(branch: &str) -> Repo {
    let repo = Repo::new(branch);
    repo.write(".git-policy.yml", POLICY);
    repo.git(&["add", "."]);
    repo.git(&["commit", "-q", "--no-verify", "-m", "EPL-1 policy"]);
    repo
}

#[test]
fn install_hooks_in_a_linked_worktree_installs_hooks_git_runs() {
    let repo = policy_repo("feature/EPL-1-x");
    let worktree = repo.path().join("linked");
    repo.git(&[
        "worktree",
        "add",
        "-q",
        "-b",
        "feature/EPL-2-y",
        worktree.to_str().unwrap(),
    ]);
    common::git_policy(&worktree)
        .arg("install-hooks")
        .assert()
        .success();
    let rejected = git_in(&worktree, &["commit", "--allow-empty", "-m", "no ticket"]);
    assert!(
        !rejected.status.success(),
        "the hook did not run in the linked worktree"
    );
    assert!(
        git_in(&worktree, &["commit", "--allow-empty", "-m", "EPL-2 ok"])
            .status
            .success()
    );
}

#[cfg(unix)]
#[test]
fn install_hooks_never_writes_through_a_linked_hook() {
    let repo = policy_repo("main");
    let outside = tempfile::tempdir().unwrap();
    let target = outside.path().join("victim");
    let before = "#!/bin/sh\n# installed by git-policy install-hooks\nold\n";
    std::fs::write(&target, before).unwrap();
    std::fs::create_dir_all(repo.path().join(".git/hooks")).unwrap();
    std::os::unix::fs::symlink(&target, repo.path().join(".git/hooks/commit-msg")).unwrap();
    for force in [false, true] {
        let mut cmd = repo.cmd();
        cmd.arg("install-hooks");
        if force {
            cmd.arg("--force");
        }
        cmd.assert()
            .code(2)
            .stderr(predicates::str::contains("symbolic link"));
        assert_eq!(std::fs::read_to_string(&target).unwrap(), before);
    }
}

#[test]
fn pre_push_checks_the_remote_branch_being_updated() {
    let remote = tempfile::tempdir().unwrap();
    assert!(
        git_in(remote.path(), &["init", "-q", "--bare"])
            .status
            .success()
    );
    let repo = policy_repo("feature/EPL-3");
    repo.git(&["remote", "add", "origin", remote.path().to_str().unwrap()]);
    repo.cmd().arg("install-hooks").assert().success();
    // The policy forbids a branch named main; pushing to it is checked by its remote name.
    let push = git_in(repo.path(), &["push", "-q", "origin", "feature/EPL-3:main"]);
    assert!(
        !push.status.success(),
        "pushed to main unchecked: {}",
        String::from_utf8_lossy(&push.stderr)
    );
    assert!(
        git_in(repo.path(), &["push", "-q", "origin", "feature/EPL-3"])
            .status
            .success()
    );
}

#[cfg(unix)]
#[test]
fn comment_char_auto_matches_gits_choice_against_a_decoy() {
    use std::os::unix::fs::PermissionsExt;
    let repo = policy_repo("feature/EPL-1-x");
    repo.git(&["config", "core.commentChar", "auto"]);
    repo.cmd().arg("install-hooks").assert().success();
    // The editor puts a decoy help line first and hides the ticket on a
    // line git drops as a comment: git stores "Fix login\n; Please enter…".
    let editor = repo.path().join("editor.sh");
    std::fs::write(
        &editor,
        "#!/bin/sh\n{ printf 'Fix login\\n; Please enter the commit message\\n#EPL-1 here\\n'; cat \"$1\"; } > \"$1.new\" && mv \"$1.new\" \"$1\"\n",
    )
    .unwrap();
    std::fs::set_permissions(&editor, std::fs::Permissions::from_mode(0o755)).unwrap();
    let out = std::process::Command::new("git")
        .args(["commit", "--allow-empty"])
        .current_dir(repo.path())
        .env("GIT_EDITOR", &editor)
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    let stored = repo.git(&["log", "-1", "--format=%B"]);
    assert!(
        !out.status.success(),
        "a ticketless message got through: {stored:?}"
    );
}

use predicates::prelude::PredicateBooleanExt;

/// Escapes inside a policy file (shown under a diagnostic) never reach a
/// terminal, even with colours on: only git-policy's own colour sequences do.
#[test]
fn escapes_in_a_policy_file_never_reach_a_terminal_even_in_colour() {
    let repo = Repo::new("main");
    repo.write(
        ".git-policy.yml",
        "version: 1\n# \x1b]8;;https://evil.example\x07x\x1b]8;;\x07 \x1b[2J \u{9b}2J \x1b[8mhidden\nrules: [\n",
    );
    for format in FORMATS {
        let output = repo
            .cmd()
            .args(["--color", "always", "--format", format, "validate"])
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(2), "{format}");
        let all = format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        assert!(
            !all.contains("\x1b]")
                && !all.contains("\x1b[2J")
                && !all.contains("\x1b[8m")
                && !all.contains('\u{9b}'),
            "{format}: {all:?}"
        );
        if format == "human" {
            assert!(all.contains("rules: ["), "the snippet is shown: {all}");
        }
    }
}

/// `core.commentChar` and `core.commentString` set one thing: git uses the
/// one set last. A line hidden behind the one the hook did not use is not a
/// ticket.
#[cfg(unix)]
#[test]
fn the_comment_setting_set_last_is_the_one_the_hook_uses() {
    use std::os::unix::fs::PermissionsExt;
    // (first, second, whether the first is in the user's global file, the
    // comment character git then uses)
    for (first, second, global, hidden) in [
        (
            ("core.commentString", ";"),
            ("core.commentChar", "%"),
            false,
            "%",
        ),
        (
            ("core.commentChar", "%"),
            ("core.commentString", ";"),
            false,
            ";",
        ),
        (
            ("core.commentString", ";"),
            ("core.commentChar", "%"),
            true,
            "%",
        ),
        (
            ("core.commentChar", "%"),
            ("core.commentString", ";"),
            true,
            ";",
        ),
    ] {
        let repo = policy_repo("feature/EPL-1-x");
        let home = tempfile::tempdir().unwrap();
        if global {
            let file = home.path().join(".gitconfig");
            let file = file.to_str().unwrap();
            git_in(repo.path(), &["config", "--file", file, first.0, first.1]);
        } else {
            repo.git(&["config", first.0, first.1]);
        }
        repo.git(&["config", second.0, second.1]);
        repo.cmd().arg("install-hooks").assert().success();
        let editor = repo.path().join("editor.sh");
        std::fs::write(
            &editor,
            format!("#!/bin/sh\nprintf '%s\\n' 'Fix login' '{hidden} EPL-1 here' > \"$1\"\n"),
        )
        .unwrap();
        std::fs::set_permissions(&editor, std::fs::Permissions::from_mode(0o755)).unwrap();
        let out = std::process::Command::new("git")
            .args(["commit", "--allow-empty"])
            .current_dir(repo.path())
            .env("GIT_EDITOR", &editor)
            .env("NO_COLOR", "1")
            .env("HOME", home.path())
            .env_remove("XDG_CONFIG_HOME")
            .env_remove("GIT_CONFIG_GLOBAL")
            .output()
            .unwrap();
        let stored = repo.git(&["log", "-1", "--format=%B"]);
        assert!(
            !out.status.success(),
            "{first:?} then {second:?} (global: {global}): a ticketless message got through: {stored:?}"
        );
        // The ticket in sight passes: the hook refused the hidden one only.
        std::fs::write(&editor, "#!/bin/sh\nprintf 'EPL-1 Fix login\\n' > \"$1\"\n").unwrap();
        let out = std::process::Command::new("git")
            .args(["commit", "--allow-empty"])
            .current_dir(repo.path())
            .env("GIT_EDITOR", &editor)
            .env("HOME", home.path())
            .env_remove("XDG_CONFIG_HOME")
            .env_remove("GIT_CONFIG_GLOBAL")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stdout)
        );
    }
}

/// `init` does not write through a committed symbolic link, dangling or
/// not, with or without `--force`: it would write wherever the link points.
#[cfg(unix)]
#[test]
fn init_does_not_write_through_a_committed_link() {
    for name in [".git-policy.yml", ".git-policy.schema.json"] {
        for force in [false, true] {
            let repo = Repo::new("main");
            let outside = tempfile::tempdir().unwrap();
            let target = outside.path().join("written-by-init");
            std::os::unix::fs::symlink(&target, repo.path().join(name)).unwrap();
            let mut cmd = repo.cmd();
            cmd.args(["init", "--no-input", "--ticket-keys", "EPL"]);
            if force {
                cmd.arg("--force");
            }
            let out = cmd.output().unwrap();
            assert_eq!(
                out.status.code(),
                Some(2),
                "{name} force={force}: {}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
            assert!(
                !target.exists(),
                "{name} force={force}: written through the link"
            );
            assert!(
                String::from_utf8_lossy(&out.stderr).contains("is a symbolic link"),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }
}
