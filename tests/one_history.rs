//! Every command walks the same history: the commits as stored. Grafts and
//! replacement objects (which make `git log` show another history, and
//! which libgit2 applies in some places and not others) are refused with
//! exit 2 by `check commits`, `audit` and `check pr` alike; a linked
//! worktree of a shallow clone knows its shallow boundary.

mod common;

use common::{POLICY, Repo, git_policy};
use predicates::str::contains;
use serde_json::json;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

/// `EPL-1 first` ← `no ticket here` ← `EPL-3 third`; returns the three ids.
fn three_commits() -> (Repo, [String; 3]) {
    let repo = Repo::new("main");
    repo.write(".git-policy.yml", POLICY);
    let a = repo.commit("EPL-1 first");
    let b = repo.commit("no ticket here");
    let c = repo.commit("EPL-3 third");
    (repo, [a, b, c])
}

#[test]
fn check_commits_refuses_grafts_instead_of_judging_another_history() {
    let (repo, [a, _, c]) = three_commits();
    // The commit without a ticket is stored; it is only hidden from `git log`.
    repo.cmd()
        .args(["check", "commits", "HEAD"])
        .assert()
        .code(1)
        .stdout(contains("no ticket here"));
    std::fs::create_dir_all(repo.path().join(".git/info")).unwrap();
    std::fs::write(repo.path().join(".git/info/grafts"), format!("{c} {a}\n")).unwrap();
    assert!(!repo.git(&["log", "--format=%s"]).contains("no ticket here"));
    repo.cmd()
        .args(["check", "commits", "HEAD"])
        .assert()
        .code(2)
        .stderr(contains("grafts"));
    let first = format!("{a}..HEAD");
    repo.cmd()
        .args(["audit", &first, "--page", "/dev/null"])
        .assert()
        .code(2)
        .stderr(contains("grafts"));
}

#[test]
fn replace_refs_are_refused_unless_git_ignores_them_too() {
    let (repo, [a, _, c]) = three_commits();
    repo.git(&["replace", "--graft", &c, &a]);
    repo.cmd()
        .args(["check", "commits", "HEAD"])
        .assert()
        .code(2)
        .stderr(contains("replaces objects"))
        .stderr(contains("GIT_NO_REPLACE_OBJECTS"));
    // With replacements off, git shows the stored history: judged.
    repo.cmd()
        .env("GIT_NO_REPLACE_OBJECTS", "1")
        .args(["check", "commits", "HEAD"])
        .assert()
        .code(1)
        .stdout(contains("no ticket here"));
}

/// `check pr` with the clone holding both ends: the local path.
async fn check_pr(repo: &Repo, base: &str, head: &str) -> std::process::Output {
    let server = MockServer::start().await;
    let pr = json!({
        "url": "https://api.github.com/repos/octo/app/pulls/42",
        "id": 1042, "number": 42, "state": "open", "locked": false,
        "title": "EPL-3 Third", "body": null, "draft": false,
        "user": { "login": "dev", "id": 7, "type": "User" },
        "labels": [], "milestone": null,
        "head": { "label": "octo:feature/EPL-3", "ref": "feature/EPL-3", "sha": head, "user": { "login": "octo" } },
        "base": { "label": "octo:main", "ref": "main", "sha": base, "user": { "login": "octo" } },
        "author_association": "MEMBER", "merged": false, "mergeable": true, "comments": 0, "commits": 2,
        "additions": 1, "deletions": 0, "changed_files": 0
    });
    // The base branch has not moved: its tip is the pull request's base.
    let tip = json!({ "ref": "refs/heads/main", "object": { "sha": base, "type": "commit" } });
    for (at, body) in [
        ("/repos/octo/app/pulls/42", pr),
        ("/repos/octo/app/pulls/42/reviews", json!([])),
        ("/repos/octo/app/git/ref/heads/main", tip),
    ] {
        Mock::given(method("GET"))
            .and(path(at))
            .respond_with(ResponseTemplate::new(200).set_body_json(body))
            .mount(&server)
            .await;
    }
    let mut cmd = git_policy(repo.path());
    cmd.env("GITHUB_API_URL", server.uri())
        .env("GITHUB_TOKEN", "test-token")
        .args(["check", "pr", "--repo", "octo/app", "--number", "42"]);
    tokio::task::spawn_blocking(move || cmd.output().unwrap())
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn check_pr_walks_the_same_history_as_check_commits() {
    let (repo, [a, _, c]) = three_commits();
    let out = check_pr(&repo, &a, &c).await;
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("no ticket here"));
    // With grafts, libgit2's revwalk hid the commit without a ticket: a
    // pass where `check commits` saw it. Now both refuse.
    std::fs::create_dir_all(repo.path().join(".git/info")).unwrap();
    std::fs::write(repo.path().join(".git/info/grafts"), format!("{c} {a}\n")).unwrap();
    let out = check_pr(&repo, &a, &c).await;
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("grafts"));
}

#[test]
fn a_linked_worktree_of_a_shallow_clone_judges_the_fetched_history() {
    let origin = Repo::new("main");
    for i in 0..6 {
        origin.commit(&format!("EPL-{i} change"));
    }
    origin.write(".git-policy.yml", POLICY);
    origin.git(&["add", ".git-policy.yml"]);
    origin.git(&["commit", "-q", "-m", "EPL-9 add policy"]);
    let clone = tempfile::tempdir().unwrap();
    let url = format!("file://{}", origin.path().display());
    let status = std::process::Command::new("git")
        .args(["clone", "-q", "--depth", "3", &url])
        .arg(clone.path().join("c"))
        .status()
        .unwrap();
    assert!(status.success());
    let main = clone.path().join("c");
    let linked = clone.path().join("linked");
    let status = std::process::Command::new("git")
        .args(["worktree", "add", "-q", "--detach"])
        .arg(&linked)
        .current_dir(&main)
        .status()
        .unwrap();
    assert!(status.success());
    for dir in [&main, &linked] {
        // Within the fetched history: judged.
        git_policy(dir)
            .args(["check", "commits", "HEAD~2..HEAD"])
            .assert()
            .code(0);
        // Across the boundary: named as such.
        git_policy(dir)
            .args(["check", "commits", "HEAD"])
            .assert()
            .code(2)
            .stderr(contains("history is shallow"));
    }
}

#[test]
fn a_sha256_repository_is_refused_with_a_clear_message() {
    let dir = tempfile::tempdir().unwrap();
    let status = std::process::Command::new("git")
        .args(["init", "-q", "--object-format=sha256", "-b", "main"])
        .arg(dir.path())
        .status()
        .unwrap();
    assert!(status.success());
    std::fs::write(dir.path().join(".git-policy.yml"), POLICY).unwrap();
    git_policy(dir.path())
        .args(["check", "commits", "HEAD"])
        .assert()
        .code(2)
        .stderr(contains("SHA-256"));
}
