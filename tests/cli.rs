//! The binary on temp repositories: the local checks, their bad inputs, and
//! the hooks end to end.

mod common;

use common::{POLICY, Repo, git_policy};
use predicates::str::contains;

fn repo_with_policy(branch: &str) -> Repo {
    let repo = Repo::new(branch);
    repo.write(".git-policy.yml", POLICY);
    repo
}

fn json(output: &std::process::Output) -> serde_json::Value {
    serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {}",
            String::from_utf8_lossy(&output.stdout)
        )
    })
}

// ---- check commit-msg ----

#[test]
fn commit_msg_with_ticket_passes() {
    let repo = repo_with_policy("feature/EPL-1-x");
    repo.write("msg", "EPL-12 Retry the login call\n");
    repo.cmd()
        .args(["check", "commit-msg", "msg"])
        .assert()
        .code(0)
        .stdout(contains("passed"));
}

#[test]
fn commit_msg_without_ticket_names_rule_missing_and_fix() {
    let repo = repo_with_policy("feature/EPL-1-x");
    repo.write(
        "msg",
        "Retry the login call\n# Please enter the commit message for your changes. EPL-1\n",
    );
    let out = repo
        .cmd()
        .args(["check", "commit-msg", "msg"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("commit-ticket"), "names the rule: {text}");
    assert!(
        text.contains("names no ticket in the message"),
        "says what is missing: {text}"
    );
    assert!(
        text.contains("help: name a ticket in the message, e.g. `EPL-123`"),
        "says how to fix: {text}"
    );
    assert!(
        text.contains(".git-policy.yml:9:7"),
        "points at the policy line: {text}"
    );
}

#[test]
fn commit_msg_ignores_comments_and_everything_below_scissors() {
    let repo = repo_with_policy("feature/EPL-1-x");
    let raw = "Retry the login call\n# EPL-1 in a comment does not count\n# ------------------------ >8 ------------------------\nEPL-2 in the diff does not count\n";
    repo.write("msg", raw);
    repo.cmd()
        .args(["check", "commit-msg", "msg"])
        .assert()
        .code(1);
}

#[test]
fn commit_msg_honours_core_comment_char() {
    let repo = repo_with_policy("feature/EPL-1-x");
    repo.git(&["config", "core.commentChar", ";"]);
    // With `;` as the comment char, a line starting with `#` is message text.
    repo.write("msg", "#EPL-7 Retry the login call\n; EPL-8 comment\n");
    repo.cmd()
        .args(["check", "commit-msg", "msg"])
        .assert()
        .code(0);
    repo.write("msg", "Retry the login call\n; EPL-8 comment\n");
    repo.cmd()
        .args(["check", "commit-msg", "msg"])
        .assert()
        .code(1);
}

#[test]
fn fixup_and_merge_messages_are_exempt_unless_the_policy_says_otherwise() {
    let repo = repo_with_policy("feature/EPL-1-x");
    let head = repo.commit("EPL-1 Start");
    for message in [
        "fixup! Retry the login call",
        "squash! Retry",
        &format!("Revert \"Retry\"\n\nThis reverts commit {head}.\n"),
    ] {
        repo.write("msg", message);
        repo.cmd()
            .args(["check", "commit-msg", "msg"])
            .assert()
            .code(0)
            .stdout(contains("passed"));
    }
    // A merge git is making (MERGE_HEAD present) is a merge.
    let merge_head = repo.path().join(".git/MERGE_HEAD");
    std::fs::write(&merge_head, format!("{head}\n")).unwrap();
    repo.write("msg", "Merge branch 'main' into feature/x");
    repo.cmd()
        .args(["check", "commit-msg", "msg"])
        .assert()
        .code(0);
    std::fs::remove_file(&merge_head).unwrap();
    repo.write(
        ".git-policy.yml",
        &format!("{POLICY}commits: {{ exempt: [merge] }}\n"),
    );
    repo.write("msg", "fixup! Retry the login call");
    repo.cmd()
        .args(["check", "commit-msg", "msg"])
        .assert()
        .code(1);
}

/// Exemptions mean what a reviewer would assume: a message that only
/// claims to be a merge or a revert is judged like any other.
#[test]
fn merge_and_revert_messages_alone_exempt_nothing() {
    let repo = repo_with_policy("feature/EPL-1-x");
    for message in [
        "Merge branch 'main' into feature/x",
        "Revert \"Retry\"",
        "Revert \"Retry\"\n\nThis reverts commit 0123456789abcdef0123456789abcdef01234567.\n",
    ] {
        repo.write("msg", message);
        repo.cmd()
            .args(["check", "commit-msg", "msg"])
            .assert()
            .code(1)
            .stdout(contains("commit-ticket"));
    }
    // The same through history: a fake merge and a fake revert are judged.
    let fake_merge = repo.commit("Merge branch 'x'");
    let fake_revert = repo.commit(
        "Revert \"Something\"\n\nThis reverts commit 0123456789abcdef0123456789abcdef01234567.",
    );
    repo.write("login.txt", "retry\n");
    repo.git(&["add", "login.txt"]);
    repo.git(&["commit", "-q", "--no-verify", "-m", "EPL-1 Retry the login"]);
    repo.git(&["revert", "--no-edit", "HEAD"]);
    let out = repo
        .cmd()
        .args(["--format", "json", "check", "commits", "HEAD"])
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["checked"], 3, "{v}");
    assert_eq!(v["skipped"], 1, "the real revert is exempt: {v}");
    let mut failing: Vec<&str> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["commit"].as_str().unwrap_or_default())
        .collect();
    failing.sort_unstable();
    let mut expected = [fake_merge.as_str(), fake_revert.as_str()];
    expected.sort_unstable();
    assert_eq!(failing, expected, "{v}");
}

#[test]
fn commit_msg_json_has_the_contract_shape() {
    let repo = repo_with_policy("feature/EPL-1-x");
    repo.write("msg", "Retry the login call");
    let out = repo
        .cmd()
        .args(["--format", "json", "check", "commit-msg", "msg"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let v = json(&out);
    assert_eq!(v["tool"], "git-policy");
    assert_eq!(v["subject"]["kind"], "commit");
    assert_eq!(v["passed"], false);
    assert_eq!(
        v["counts"],
        serde_json::json!({ "error": 1, "warning": 0, "notice": 0 })
    );
    let f = &v["findings"][0];
    assert_eq!(f["rule"], "commit-ticket");
    assert_eq!(f["level"], "error");
    assert_eq!(f["policy"]["file"], ".git-policy.yml");
    assert_eq!(f["policy"]["line"], 9);
}

#[test]
fn commit_msg_bad_inputs_exit_2_with_a_reason() {
    let repo = repo_with_policy("feature/EPL-1-x");
    repo.write("empty", "# only a comment\n\n");
    repo.cmd()
        .args(["check", "commit-msg", "empty"])
        .assert()
        .code(2)
        .stderr(contains("is empty"));
    std::fs::write(repo.path().join("latin1"), b"EPL-1 R\xe9essayer\n").unwrap();
    repo.cmd()
        .args(["check", "commit-msg", "latin1"])
        .assert()
        .code(2)
        .stderr(contains("not valid UTF-8"));
    repo.cmd()
        .args(["check", "commit-msg", "missing"])
        .assert()
        .code(2)
        .stderr(contains("cannot read commit message file `missing`"));
}

#[test]
fn outside_a_repository_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("msg"), "EPL-1 x").unwrap();
    git_policy(dir.path())
        .args(["check", "commit-msg", "msg"])
        .assert()
        .code(2)
        .stderr(contains("not a git repository"))
        .stderr(contains("-C DIR"));
}

// ---- policy discovery ----

#[test]
fn built_in_pack_is_used_with_a_notice_and_can_be_disabled() {
    let repo = Repo::new("feature/EPL-1-x");
    repo.write("msg", "EPL-1 Retry the login call");
    repo.cmd()
        .args(["check", "commit-msg", "msg"])
        .assert()
        .code(0)
        .stderr(contains("using the built-in pack"));
    repo.cmd()
        .args(["--no-builtin", "check", "commit-msg", "msg"])
        .assert()
        .code(2)
        .stderr(contains("no policy found"));
    repo.cmd()
        .env("GIT_POLICY_NO_BUILTIN", "1")
        .args(["check", "commit-msg", "msg"])
        .assert()
        .code(2)
        .stderr(contains("no policy found"));
}

#[test]
fn github_policies_folder_wins_over_the_dot_file() {
    let repo = repo_with_policy("feature/EPL-1-x");
    repo.write(
        ".github/policies/strict.yml",
        "version: 1\nrules:\n  - id: short\n    require: { message: { subject_max_length: 5 } }\n",
    );
    repo.write("msg", "EPL-1 Retry the login call");
    repo.cmd()
        .args(["check", "commit-msg", "msg"])
        .assert()
        .code(1)
        .stdout(contains("short"));
}

#[test]
fn an_invalid_repository_policy_stops_the_check() {
    let repo = Repo::new("feature/EPL-1-x");
    repo.write(
        ".git-policy.yml",
        "version: 1\nrules:\n  - id: x\n    require: { tickt: {} }\n",
    );
    repo.write("msg", "EPL-1 x");
    repo.cmd()
        .args(["check", "commit-msg", "msg"])
        .assert()
        .code(2)
        .stderr(contains(".git-policy.yml:4:16: unknown key `tickt`"));
}

// ---- check branch ----

#[test]
fn branch_names_are_checked() {
    let repo = repo_with_policy("main");
    repo.commit("EPL-1 first");
    repo.cmd()
        .args(["check", "branch"])
        .assert()
        .code(1)
        .stdout(contains("branch `main` matches the forbidden pattern"));
    repo.cmd()
        .args(["check", "branch", "feature/EPL-2-login"])
        .assert()
        .code(0);
    repo.cmd()
        .args(["check", "branch", "refs/heads/bugfix/x"])
        .assert()
        .code(0);
    repo.cmd()
        .args(["check", "branch", "wip"])
        .assert()
        .code(1)
        .stdout(contains("does not match the required pattern"));
}

#[test]
fn detached_head_needs_a_branch_name() {
    let repo = repo_with_policy("main");
    let sha = repo.commit("EPL-1 first");
    repo.git(&["checkout", "-q", &sha]);
    repo.cmd()
        .args(["check", "branch"])
        .assert()
        .code(2)
        .stderr(contains("HEAD is detached"));
}

// ---- check commits ----

#[test]
fn every_commit_of_a_range_is_judged() {
    let repo = repo_with_policy("main");
    let base = repo.commit("EPL-1 first");
    repo.commit("EPL-2 second");
    let bad = repo.commit("third without ticket");
    repo.commit("fixup! third without ticket");
    let range = format!("{base}..HEAD");
    let out = repo
        .cmd()
        .args(["--format", "json", "check", "commits", &range])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let v = json(&out);
    assert_eq!(v["checked"], 2);
    assert_eq!(v["skipped"], 1);
    assert_eq!(v["findings"].as_array().unwrap().len(), 1);
    assert_eq!(v["findings"][0]["commit"], bad.as_str());
    repo.cmd()
        .args(["check", "commits", &format!("{base}..HEAD~2")])
        .assert()
        .code(0);
}

#[test]
fn merge_commits_follow_the_policy() {
    let repo = repo_with_policy("main");
    let base = repo.commit("EPL-1 first");
    repo.git(&["checkout", "-q", "-b", "feature/EPL-2"]);
    repo.commit("EPL-2 work");
    repo.git(&["checkout", "-q", "main"]);
    repo.commit("EPL-3 other");
    repo.git(&[
        "merge",
        "-q",
        "--no-ff",
        "--no-edit",
        "-m",
        "integrate the feature",
        "feature/EPL-2",
    ]);
    let range = format!("{base}..HEAD");
    repo.cmd()
        .args(["check", "commits", &range])
        .assert()
        .code(0)
        .stdout(contains("1 skipped"));
    repo.write(
        ".git-policy.yml",
        &format!("{POLICY}commits: {{ merges: check }}\n"),
    );
    repo.cmd()
        .args(["check", "commits", &range])
        .assert()
        .code(1)
        .stdout(contains("integrate the feature"));
}

#[test]
fn many_findings_are_listed_one_per_line() {
    let repo = repo_with_policy("main");
    for i in 0..20 {
        repo.commit(&format!("change number {i}"));
    }
    let out = repo
        .cmd()
        .args(["check", "commits", "HEAD"])
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(text.matches("error[commit-ticket]").count(), 20, "{text}");
    assert!(text.contains("20 findings from rule `commit-ticket`"));
    assert!(text.contains(" — 20 commits checked, 20 errors"), "{text}");
}

#[test]
fn unknown_revision_and_empty_range() {
    let repo = repo_with_policy("main");
    repo.commit("EPL-1 first");
    repo.cmd()
        .args(["check", "commits", "nope..HEAD"])
        .assert()
        .code(2)
        .stderr(contains("unknown revision in `nope..HEAD`"));
    repo.cmd()
        .args(["check", "commits", "HEAD..HEAD"])
        .assert()
        .code(0)
        .stderr(contains("holds no commits"));
}

#[test]
fn a_range_crossing_a_shallow_boundary_is_not_judged() {
    let origin = repo_with_policy("main");
    for i in 0..6 {
        origin.commit(&format!("EPL-{i} change"));
    }
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
    let dir = clone.path().join("c");
    git_policy(&dir)
        .args(["check", "commits", "HEAD"])
        .assert()
        .code(2)
        .stderr(contains("history is shallow"))
        .stderr(contains("fetch-depth: 0"));
    git_policy(&dir)
        .args(["check", "commits", "HEAD~5..HEAD"])
        .assert()
        .code(2)
        .stderr(contains("shallow"));
    // Within the fetched history the range is judged.
    git_policy(&dir)
        .args(["check", "commits", "HEAD~2..HEAD"])
        .assert()
        .code(0);
}

#[cfg(unix)]
#[test]
fn a_repository_owned_by_someone_else_explains_safe_directory() {
    let repo = repo_with_policy("main");
    // Only root can give a directory away; elsewhere the case cannot be built.
    let chown = std::process::Command::new("chown")
        .args(["-R", "4242:4242"])
        .arg(repo.path())
        .status();
    if !chown.is_ok_and(|s| s.success()) {
        eprintln!("skipped: cannot chown (not root)");
        return;
    }
    let home = tempfile::tempdir().unwrap();
    git_policy(repo.path())
        .env("HOME", home.path())
        .args(["check", "branch", "x"])
        .assert()
        .code(2)
        .stderr(contains("owned by another user"))
        .stderr(contains("git config --global --add safe.directory"));
}

// ---- hooks, init, explain, schema ----

#[test]
fn installed_hooks_reject_a_commit_without_a_ticket() {
    let repo = repo_with_policy("feature/EPL-1-login");
    repo.cmd()
        .arg("install-hooks")
        .assert()
        .success()
        .stderr(contains("commit-msg"));
    let hook = std::fs::read_to_string(repo.path().join(".git/hooks/commit-msg")).unwrap();
    assert!(hook.contains("check commit-msg \"$1\""));
    let commit = |message: &str| {
        std::process::Command::new("git")
            .args(["commit", "--allow-empty", "-m", message])
            .current_dir(repo.path())
            .env("NO_COLOR", "1")
            .output()
            .unwrap()
    };
    let rejected = commit("Retry the login call");
    assert!(!rejected.status.success(), "the hook must block the commit");
    let said = String::from_utf8_lossy(&rejected.stdout).into_owned()
        + &String::from_utf8_lossy(&rejected.stderr);
    assert!(
        said.contains("commit-ticket")
            && said.contains("names no ticket")
            && said.contains("help:"),
        "{said}"
    );
    assert!(commit("EPL-1 Retry the login call").status.success());
}

#[test]
fn install_hooks_refuses_a_foreign_hook_without_force() {
    let repo = repo_with_policy("main");
    repo.write(".git/hooks/pre-push", "#!/bin/sh\necho mine\n");
    repo.cmd()
        .arg("install-hooks")
        .assert()
        .code(2)
        .stderr(contains("was not written by git-policy"))
        .stderr(contains("--force"));
    assert!(
        !repo.path().join(".git/hooks/commit-msg").exists(),
        "nothing written when refusing"
    );
    repo.cmd()
        .args(["install-hooks", "--force"])
        .assert()
        .success();
    assert_eq!(
        std::fs::read_to_string(repo.path().join(".git/hooks/pre-push.pre-git-policy")).unwrap(),
        "#!/bin/sh\necho mine\n"
    );
    // Our own hooks are updated in place without --force.
    repo.cmd().arg("install-hooks").assert().success();
}

#[test]
fn pre_push_hook_checks_the_pushed_commits() {
    let remote = tempfile::tempdir().unwrap();
    assert!(
        std::process::Command::new("git")
            .args(["init", "-q", "--bare"])
            .arg(remote.path())
            .status()
            .unwrap()
            .success()
    );
    let repo = repo_with_policy("feature/EPL-1-login");
    repo.git(&[
        "remote",
        "add",
        "origin",
        &remote.path().display().to_string(),
    ]);
    repo.commit("EPL-1 good");
    repo.cmd().arg("install-hooks").assert().success();
    let push = || {
        std::process::Command::new("git")
            .args(["push", "-q", "origin", "HEAD"])
            .current_dir(repo.path())
            .output()
            .unwrap()
    };
    assert!(
        push().status.success(),
        "{}",
        String::from_utf8_lossy(&push().stderr)
    );
    repo.commit("no ticket here");
    let out = push();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("no ticket here"));
}

#[test]
fn init_writes_a_valid_policy_with_a_schema_line() {
    let repo = Repo::new("main");
    repo.cmd()
        .args(["init", "--ticket-keys", "ABC"])
        .assert()
        .success();
    let text = std::fs::read_to_string(repo.path().join(".git-policy.yml")).unwrap();
    assert!(text.starts_with("# yaml-language-server: $schema=./.git-policy.schema.json\n"));
    let schema: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(repo.path().join(".git-policy.schema.json")).unwrap(),
    )
    .unwrap();
    assert!(schema["properties"]["rules"].is_object());
    repo.cmd()
        .arg("validate")
        .assert()
        .success()
        .stderr(predicates::str::contains("built-in").not());
    repo.cmd()
        .args(["init", "--ticket-keys", "ABC"])
        .assert()
        .code(2)
        .stderr(contains("already exists"));
}

#[test]
fn explain_prints_requirements_and_rules() {
    let repo = repo_with_policy("main");
    repo.cmd()
        .args(["explain", "ticket"])
        .assert()
        .success()
        .stdout(contains("## How to fix"))
        .stdout(contains("KAFKa-16331"));
    repo.cmd()
        .args(["explain", "commit-ticket"])
        .assert()
        .success()
        .stdout(contains("ticket: { in: [message] }"));
    repo.cmd()
        .args(["explain", "comit-ticket"])
        .assert()
        .code(2)
        .stderr(contains("did you mean `commit-ticket`"));
    repo.cmd()
        .arg("explain")
        .assert()
        .success()
        .stdout(contains("tests_changed"))
        .stdout(contains("branch-name"));
}

#[test]
fn usage_errors_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    git_policy(dir.path())
        .args(["check", "bogus"])
        .assert()
        .code(2);
    git_policy(dir.path())
        .args(["--format", "yaml", "validate"])
        .assert()
        .code(2);
    git_policy(dir.path()).arg("--help").assert().code(0);
}

use predicates::prelude::PredicateBooleanExt;

#[test]
fn whole_history_walk_matches_git_rev_list() {
    // `check commits HEAD` uses git-policy's own single-read walker; it must
    // visit exactly the commits git does, merges and all.
    let repo = repo_with_policy("main");
    repo.commit("EPL-1 root");
    for branch in ["a", "b"] {
        repo.git(&["checkout", "-q", "-b", branch, "main"]);
        repo.commit(&format!("{branch} one"));
        repo.commit(&format!("EPL-2 {branch} two"));
    }
    repo.git(&["checkout", "-q", "main"]);
    repo.commit("main without ticket");
    repo.git(&["merge", "-q", "--no-ff", "--no-edit", "a"]);
    repo.git(&["merge", "-q", "--no-ff", "--no-edit", "b"]);
    repo.write(
        ".git-policy.yml",
        &format!("{POLICY}commits: {{ exempt: [], merges: check }}\n"),
    );
    let out = repo
        .cmd()
        .args(["--format", "json", "check", "commits", "HEAD"])
        .output()
        .unwrap();
    let v = json(&out);
    let mut flagged: Vec<String> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["commit"].as_str().unwrap().to_owned())
        .collect();
    flagged.sort();
    let mut expected: Vec<String> = repo
        .git(&["log", "--format=%H %s"])
        .lines()
        .filter(|l| !l.contains("EPL-"))
        .map(|l| l.split(' ').next().unwrap().to_owned())
        .collect();
    expected.sort();
    assert_eq!(flagged, expected);
    assert_eq!(
        v["checked"].as_u64(),
        Some(repo.git(&["rev-list", "--count", "HEAD"]).parse().unwrap())
    );
}

#[test]
fn github_format_is_the_default_in_actions() {
    let repo = repo_with_policy("main");
    repo.write("msg", "Retry the login call");
    let out = repo
        .cmd()
        .env("GITHUB_ACTIONS", "true")
        .args(["check", "commit-msg", "msg"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.starts_with("::error title=git-policy%3A commit-ticket,file=.git-policy.yml,line=9::the commit names no ticket in the message%0Ahelp: "),
        "{text}"
    );
    // Annotations never point into the built-in pack, which is not a file of the repository.
    let bare = Repo::new("main");
    bare.write("msg", "Retry the login call");
    let out = bare
        .cmd()
        .env("GITHUB_ACTIONS", "true")
        .args(["check", "commit-msg", "msg"])
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.starts_with("::error title=git-policy%3A commit-ticket::"),
        "{text}"
    );
}

#[test]
fn colour_only_when_asked_or_on_a_terminal() {
    let repo = repo_with_policy("main");
    repo.write("msg", "Retry the login call");
    let plain = repo
        .cmd()
        .args(["check", "commit-msg", "msg"])
        .output()
        .unwrap();
    assert!(
        !String::from_utf8_lossy(&plain.stdout).contains('\u{1b}'),
        "no ANSI when not a terminal"
    );
    let coloured = repo
        .cmd()
        .args(["--color", "always", "check", "commit-msg", "msg"])
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&coloured.stdout).contains("\u{1b}["),
        "ANSI with --color always"
    );
}

#[test]
fn unreadable_policy_inputs_exit_2() {
    let repo = Repo::new("main");
    repo.write("msg", "EPL-1 x");
    repo.cmd()
        .args(["--policy", "nowhere.yml", "check", "commit-msg", "msg"])
        .assert()
        .code(2)
        .stderr(contains("`nowhere.yml` does not exist"));
    std::fs::write(repo.path().join("latin1.yml"), b"version: 1\n# caf\xe9\n").unwrap();
    repo.cmd()
        .args(["--policy", "latin1.yml", "validate"])
        .assert()
        .code(2)
        .stderr(contains("is not valid UTF-8"));
    std::fs::create_dir(repo.path().join("empty-dir")).unwrap();
    repo.cmd()
        .args(["--policy", "empty-dir", "validate"])
        .assert()
        .code(2)
        .stderr(contains("hold no *.yml"));
}

#[test]
fn git_runs_it_as_a_subcommand() {
    let repo = repo_with_policy("main");
    let bin_dir = assert_cmd::cargo::cargo_bin("git-policy")
        .parent()
        .unwrap()
        .to_path_buf();
    let path = format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let out = std::process::Command::new("git")
        .args(["policy", "validate"])
        .current_dir(repo.path())
        .env("PATH", path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        String::from_utf8_lossy(&out.stdout)
            .contains("policy is valid: 2 rules from .git-policy.yml")
    );
}

/// `init` with the team's own answers as flags: their keys, their teams,
/// nothing fictional; what it prints says what is enforced and how to commit.
#[test]
fn init_writes_the_teams_own_policy() {
    let repo = Repo::new("main");
    let out = repo
        .cmd()
        .args([
            "init",
            "--ticket-keys",
            "ABC,OPS",
            "--tracker-url",
            "https://acme.example/browse/{id}",
            "--forbid-default-branch",
            "--guard",
            ".github/workflows/**=acme/platform",
            "--guard",
            "terraform/**=user:alice+bob",
        ])
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{said}");
    let text = std::fs::read_to_string(repo.path().join(".git-policy.yml")).unwrap();
    for expected in [
        r"'\b(ABC|OPS)-[0-9]+\b'",
        "'https://acme.example/browse/{id}'",
        "github: 'acme/platform'",
        "members: ['alice', 'bob']",
        "forbid: '^main$'",
    ] {
        assert!(text.contains(expected), "{expected} missing:\n{text}");
    }
    for fictional in ["example-org", "EPL", "asherman"] {
        assert!(!text.contains(fictional), "{fictional} in:\n{text}");
    }
    assert!(said.contains("work-on-a-branch (branch, commit)"), "{said}");
    // A team read through the API needs a token the default one is not.
    assert!(
        said.contains("the team acme/platform is read through the GitHub API")
            && said.contains("members:read"),
        "{said}"
    );
    assert!(!said.contains("the team alice+bob"), "{said}");
    assert!(!said.contains("the team user:"), "{said}");
    assert!(
        said.contains("git switch -c chore/ABC-1-git-policy"),
        "{said}"
    );
    assert!(
        said.contains("git commit -m \"ABC-1 Add git-policy\""),
        "{said}"
    );
    repo.cmd().arg("validate").assert().success();
    // The next commit is judged by it: its keys, not the pack's.
    repo.write("msg", "EPL-1 Retry\n");
    repo.cmd()
        .args(["check", "commit-msg", "msg"])
        .assert()
        .code(1);
    repo.write("msg", "OPS-7 Retry\n");
    repo.cmd()
        .args(["check", "commit-msg", "msg"])
        .assert()
        .code(1)
        .stdout(contains("work-on-a-branch"));
    repo.git(&["switch", "-q", "-c", "chore/OPS-7-x"]);
    repo.cmd()
        .args(["check", "commit-msg", "msg"])
        .assert()
        .code(0);
    // A guard that is no glob is refused before anything is written.
    let other = Repo::new("main");
    other
        .cmd()
        .args(["init", "--guard", "terraform"])
        .assert()
        .code(2)
        .stderr(contains("is not GLOB=TEAM"));
    assert!(!other.path().join(".git-policy.yml").exists());
    // The release-train preset is the built-in pack.
    other
        .cmd()
        .args(["init", "--preset", "release-train"])
        .assert()
        .success();
    let pack = std::fs::read_to_string(other.path().join(".git-policy.yml")).unwrap();
    assert!(pack.contains("id: release-checks-green"));
}

/// The policy is often written on a task branch: the branch kept free of
/// work is the default one, never the current one.
#[test]
fn init_on_a_task_branch_forbids_the_default_branch_not_the_current_one() {
    let repo = Repo::new("chore/ABC-1-git-policy");
    repo.cmd()
        .args(["init", "--ticket-keys", "ABC", "--forbid-default-branch"])
        .assert()
        .success();
    let text = std::fs::read_to_string(repo.path().join(".git-policy.yml")).unwrap();
    assert!(text.contains("forbid: '^main$'"), "{text}");
    repo.write("msg", "ABC-1 Add git-policy\n");
    repo.cmd()
        .args(["check", "commit-msg", "msg"])
        .assert()
        .code(0);
}

/// What `init` prints next is what the written policy accepts: followed
/// literally, with the hooks installed, the policy's own commit goes through
/// and its branch passes, for both presets. (The release-train pack once
/// got `chore/ABC-1-git-policy` and "ABC-1 Add git-policy", both refused.)
#[test]
fn init_prints_next_steps_the_written_policy_accepts() {
    for args in [
        &["init", "--ticket-keys", "OPS", "--forbid-default-branch"][..],
        &["init", "--no-input"][..],
        &["init", "--preset", "release-train"][..],
    ] {
        let repo = Repo::new("main");
        // The keys `init --no-input` reads from the history.
        repo.commit("OPS-1 Initial commit");
        repo.commit("OPS-2 Second commit");
        let out = repo.cmd().args(args).output().unwrap();
        let said = String::from_utf8_lossy(&out.stderr).into_owned();
        assert_eq!(out.status.code(), Some(0), "{args:?}: {said}");
        let step = |prefix: &str| {
            said.lines()
                .map(str::trim)
                .find_map(|line| line.strip_prefix(prefix))
                .map(str::to_owned)
        };
        let branch = step("git switch -c ");
        if let Some(branch) = &branch {
            repo.git(&["switch", "-q", "-c", branch]);
        } else {
            assert!(!args.contains(&"release-train"), "{said}");
            repo.git(&["switch", "-q", "-c", "chore/OPS-1-git-policy"]);
        }
        let message = step("git add .git-policy.yml .git-policy.schema.json && git commit -m ")
            .unwrap_or_else(|| panic!("{args:?}: no commit step in {said}"));
        let message = message.trim_matches('"');
        repo.cmd().arg("install-hooks").assert().success();
        repo.git(&["add", ".git-policy.yml", ".git-policy.schema.json"]);
        let commit = std::process::Command::new("git")
            .args(["commit", "-q", "-m", message])
            .current_dir(repo.path())
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("HOME", repo.path())
            .env("NO_COLOR", "1")
            .output()
            .unwrap();
        assert!(
            commit.status.success(),
            "{args:?}: `{message}` refused by the hook: {}{}",
            String::from_utf8_lossy(&commit.stdout),
            String::from_utf8_lossy(&commit.stderr)
        );
        repo.cmd().args(["check", "branch"]).assert().code(0);
    }
    // Answers for the minimal policy are not silently dropped by the pack.
    let repo = Repo::new("main");
    repo.cmd()
        .args(["init", "--preset", "release-train", "--ticket-keys", "ABC"])
        .assert()
        .code(2)
        .stderr(contains("shape the minimal policy"));
    assert!(!repo.path().join(".git-policy.yml").exists());
}

/// On a terminal `init` asks; answers typed at its prompts end up in the policy.
#[test]
fn init_asks_on_a_terminal() {
    let repo = Repo::new("main");
    let binary = assert_cmd::cargo::cargo_bin("git-policy");
    let answers = "ABC\nhttps://acme.example/browse/{id}\ny\ndocs/**=user:alice\n\n";
    let out = std::process::Command::new("script")
        .args(["-qec", &format!("{} init", binary.display()), "/dev/null"])
        .current_dir(repo.path())
        .env("NO_COLOR", "1")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut child| {
            use std::io::Write;
            child.stdin.take().unwrap().write_all(answers.as_bytes())?;
            child.wait_with_output()
        })
        .unwrap();
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{said}");
    assert!(said.contains("Ticket keys of your tracker"), "{said}");
    let text = std::fs::read_to_string(repo.path().join(".git-policy.yml")).unwrap();
    assert!(text.contains(r"'\b(ABC)-[0-9]+\b'"), "{text}");
    assert!(text.contains("forbid: '^main$'"), "{text}");
    assert!(text.contains("members: ['alice']"), "{text}");
}

/// Pushes always get a verdict on what they publish: a first push to an empty
/// remote, a push over remote commits this clone never fetched, and the
/// pre-commit framework's variables with no "from" (a new branch).
#[test]
fn pushes_always_get_a_verdict() {
    let remote = tempfile::tempdir().unwrap();
    std::process::Command::new("git")
        .args(["init", "-q", "--bare"])
        .arg(remote.path())
        .status()
        .unwrap();
    let repo = repo_with_policy("feature/EPL-1-x");
    repo.git(&["add", "."]);
    repo.git(&["commit", "-q", "--no-verify", "-m", "EPL-1 policy"]);
    repo.git(&["remote", "add", "origin", remote.path().to_str().unwrap()]);
    repo.cmd().arg("install-hooks").assert().success();
    repo.commit("Retry the login");
    // First push to an empty remote: both commits are judged; one has no ticket.
    let out = std::process::Command::new("git")
        .args(["push", "origin", "feature/EPL-1-x"])
        .current_dir(repo.path())
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    let said =
        String::from_utf8_lossy(&out.stderr).into_owned() + &String::from_utf8_lossy(&out.stdout);
    assert!(!out.status.success(), "{said}");
    assert!(
        said.contains("commit-ticket") && said.contains("Retry the login"),
        "{said}"
    );
    assert!(!said.contains("invalid"), "{said}");
    // ... and says how to fix a commit already made: reword it, or waive it.
    assert!(
        said.contains("git commit --amend") && said.contains("docs/policy.md#waivers"),
        "{said}"
    );
    repo.git(&[
        "commit",
        "-q",
        "--amend",
        "--allow-empty",
        "--no-verify",
        "-m",
        "EPL-1 Retry the login",
    ]);
    repo.git(&["push", "-q", "origin", "feature/EPL-1-x"]);
    // Someone else pushes on top; this clone does not fetch it, and force-pushes.
    let other = tempfile::tempdir().unwrap();
    std::process::Command::new("git")
        .args(["clone", "-q", remote.path().to_str().unwrap()])
        .arg(other.path().join("c"))
        .status()
        .unwrap();
    let c = other.path().join("c");
    for args in [
        &["config", "user.email", "b@example.com"][..],
        &["config", "user.name", "B"][..],
        &["checkout", "-q", "feature/EPL-1-x"][..],
        &["commit", "-q", "--allow-empty", "-m", "EPL-1 theirs"][..],
        &["push", "-q", "origin", "feature/EPL-1-x"][..],
    ] {
        assert!(
            std::process::Command::new("git")
                .args(args)
                .current_dir(&c)
                .status()
                .unwrap()
                .success()
        );
    }
    repo.commit("no ticket here");
    let out = std::process::Command::new("git")
        .args(["push", "--force", "origin", "feature/EPL-1-x"])
        .current_dir(repo.path())
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    let said =
        String::from_utf8_lossy(&out.stderr).into_owned() + &String::from_utf8_lossy(&out.stdout);
    assert!(!out.status.success(), "{said}");
    assert!(said.contains("is not in this clone"), "{said}");
    assert!(said.contains("no ticket here"), "{said}");
    // pre-commit: PRE_COMMIT_FROM_REF unset on a new branch.
    let out = repo
        .cmd()
        .args(["--format", "json", "check", "push"])
        .env("PRE_COMMIT_TO_REF", "HEAD")
        .env("PRE_COMMIT_REMOTE_NAME", "origin")
        .env("PRE_COMMIT_REMOTE_BRANCH", "refs/heads/feature/EPL-1-y")
        .env_remove("PRE_COMMIT_FROM_REF")
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["checked"], 1, "the one commit origin lacks: {v}");
}

/// A first push of a history with its root commit through the pre-commit
/// framework: pre-commit sets no `PRE_COMMIT_FROM_REF`/`TO_REF` then, only the
/// branches (and has read git's stdin itself). Every commit the remote lacks
/// is judged; run by pre-commit with neither, the answer is exit 2, never
/// "the push updates no branch" and a pass.
#[test]
fn a_first_push_through_pre_commit_is_judged_whole() {
    let remote = tempfile::tempdir().unwrap();
    std::process::Command::new("git")
        .args(["init", "-q", "--bare"])
        .arg(remote.path())
        .status()
        .unwrap();
    let repo = repo_with_policy("feature/EPL-1-x");
    repo.git(&["add", "."]);
    repo.git(&["commit", "-q", "--no-verify", "-m", "EPL-1 policy"]);
    repo.git(&["remote", "add", "origin", remote.path().to_str().unwrap()]);
    let ticketless = repo.commit("Retry the login");
    let pre_commit = |vars: &[(&str, &str)]| {
        let mut cmd = repo.cmd();
        cmd.args(["--format", "json", "check", "push"])
            .env("PRE_COMMIT", "1")
            .write_stdin("");
        for (key, value) in vars {
            cmd.env(key, value);
        }
        cmd.output().unwrap()
    };
    // What pre-commit 4 sets for a push that holds the root commit.
    let out = pre_commit(&[
        ("PRE_COMMIT_LOCAL_BRANCH", "refs/heads/feature/EPL-1-x"),
        ("PRE_COMMIT_REMOTE_BRANCH", "refs/heads/feature/EPL-1-x"),
        ("PRE_COMMIT_REMOTE_NAME", "origin"),
        ("PRE_COMMIT_REMOTE_URL", remote.path().to_str().unwrap()),
    ]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v = json(&out);
    assert_eq!(v["checked"], 2, "both commits are new to origin: {v}");
    assert_eq!(v["findings"][0]["commit"], ticketless.as_str(), "{v}");
    // Run by pre-commit without either: what is pushed is unknown.
    let out = pre_commit(&[]);
    assert_eq!(out.status.code(), Some(2));
    let v = json(&out);
    assert!(
        v["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("did not say what is pushed")),
        "{v}"
    );
    // git's own lines on stdin are read even so (a hook run from such an environment).
    let head = repo.git(&["rev-parse", "HEAD"]);
    let out = repo
        .cmd()
        .args(["--format", "json", "check", "push", "origin"])
        .env("PRE_COMMIT", "1")
        .write_stdin(format!(
            "refs/heads/feature/EPL-1-x {head} refs/heads/feature/EPL-1-x {}\n",
            "0".repeat(40)
        ))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(json(&out)["checked"], 2);
}

/// Bash completion works past the first word (clap_complete names the
/// states of a hyphenated binary two ways; tested in a real bash).
#[test]
fn bash_completion_completes_subcommands_and_their_options() {
    let repo = Repo::new("main");
    let script = repo.cmd().args(["completions", "bash"]).output().unwrap();
    assert!(script.status.success());
    repo.write("completion.bash", &String::from_utf8_lossy(&script.stdout));
    let complete = |line: &str| -> String {
        let words: Vec<&str> = line.split(' ').collect();
        let program = format!(
            "source completion.bash\nCOMP_WORDS=({})\nCOMP_CWORD={}\nCOMP_LINE='{line}'\nCOMP_POINT=${{#COMP_LINE}}\n_git__policy git-policy '{}' '{}'\necho \"${{COMPREPLY[*]}}\"\n",
            words
                .iter()
                .map(|w| format!("'{w}'"))
                .collect::<Vec<_>>()
                .join(" "),
            words.len() - 1,
            words[words.len() - 1],
            words[words.len() - 2],
        );
        let out = std::process::Command::new("bash")
            .args(["--norc", "-c", &program])
            .current_dir(repo.path())
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    };
    let check = complete("git-policy check ");
    for sub in ["pr", "commit-msg", "branch", "commits", "push"] {
        assert!(check.split(' ').any(|w| w == sub), "`check <TAB>`: {check}");
    }
    let pr = complete("git-policy check pr --");
    assert!(pr.contains("--offline") && pr.contains("--event"), "{pr}");
    let top = complete("git-policy au");
    assert_eq!(top, "audit");
}

/// Help text wraps between words only: a regex in it stays whole, so it
/// can be read and pasted (it used to break at `-` and `|`).
#[test]
fn help_never_cuts_a_regex() {
    let repo = repo_with_policy("feature/EPL-1-x");
    repo.write("msg", "Retry the login\n");
    for columns in ["60", "80", "100"] {
        let out = repo
            .cmd()
            .args(["check", "commit-msg", "msg"])
            .env("COLUMNS", columns)
            .output()
            .unwrap();
        let said = String::from_utf8_lossy(&out.stdout).into_owned()
            + &String::from_utf8_lossy(&out.stderr);
        assert!(
            said.contains(r"`\b(EPL|SCP)-[0-9]+\b`"),
            "{columns} columns:\n{said}"
        );
    }
}

/// Errors and annotations name a policy file by its path from the
/// repository root (it used to be `x.yml` for `--policy bad/x.yml`, so
/// annotations pointed at files that do not exist).
#[test]
fn policy_files_are_named_from_the_repository_root() {
    let repo = Repo::new("main");
    repo.write(
        "policies/team/x.yml",
        "version: 1\nrules:\n  - id: x\n    require: { tickt: {} }\n",
    );
    for (dir, arg) in [
        (repo.path().to_path_buf(), "policies/team/x.yml"),
        (repo.path().join("policies"), "team/x.yml"),
        (repo.path().join("policies/team"), "."),
    ] {
        let out = common::git_policy(&dir)
            .args(["--format", "github", "--policy", arg, "validate"])
            .output()
            .unwrap();
        let said = String::from_utf8_lossy(&out.stdout);
        assert_eq!(out.status.code(), Some(2));
        assert!(
            said.contains("file=policies/team/x.yml,line=4"),
            "{arg}: {said}"
        );
    }
}

/// A tracker's `\d` is an ASCII digit: `EPL-١٢٣` (Arabic-Indic digits) names
/// no ticket, in the hook and in `check commits`.
#[test]
fn a_ticket_in_another_scripts_digits_is_no_ticket() {
    let repo = common::Repo::new("feature/x");
    repo.write(
        ".git-policy.yml",
        "version: 1\ntickets: { jira: { pattern: '\\bEPL-\\d+\\b' } }\nrules:\n  - id: commit-ticket\n    on: [commit]\n    require: { ticket: { in: [message] } }\n",
    );
    for (message, code) in [
        ("EPL-١٢٣ Retry the call\n", 1),
        ("EPL-１２３ Retry\n", 1),
        ("EPL-123 Retry\n", 0),
    ] {
        repo.write("msg", message);
        let out = repo
            .cmd()
            .args(["check", "commit-msg", "msg"])
            .output()
            .unwrap();
        assert_eq!(
            out.status.code(),
            Some(code),
            "{message}: {}",
            String::from_utf8_lossy(&out.stdout)
        );
    }
    repo.git(&["add", ".git-policy.yml"]);
    repo.commit("EPL-١٢٣ Retry the call");
    let out = repo
        .cmd()
        .args(["check", "commits", "HEAD"])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

/// A push judges only what it brings: after a rebase onto `origin/main`, a
/// teammate's ticketless commit already on the remote's `main` (pushed there
/// without hooks) is not this push's to fix, and `check commits
/// origin/main..HEAD` agrees.
#[test]
fn a_push_does_not_judge_what_the_remote_already_has() {
    let git_in = |dir: &std::path::Path, args: &[&str]| {
        let out = std::process::Command::new("git")
            .args(args)
            .current_dir(dir)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "git {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    let remote = tempfile::tempdir().unwrap();
    git_in(remote.path(), &["init", "-q", "--bare", "-b", "main"]);
    let url = remote.path().display().to_string();
    let repo = repo_with_policy("feature/EPL-1-login");
    repo.git(&["add", "."]);
    repo.commit("EPL-1 policy");
    repo.git(&["remote", "add", "origin", &url]);
    repo.git(&["push", "-q", "--no-verify", "origin", "HEAD:main", "HEAD"]);
    // A teammate pushes straight to main, without hooks.
    let teammate = tempfile::tempdir().unwrap();
    git_in(teammate.path(), &["clone", "-q", &url, "."]);
    git_in(
        teammate.path(),
        &[
            "-c",
            "user.name=T",
            "-c",
            "user.email=t@example.com",
            "commit",
            "-q",
            "--allow-empty",
            "-m",
            "teammate's quick fix",
        ],
    );
    git_in(
        teammate.path(),
        &["push", "-q", "--no-verify", "origin", "main"],
    );
    // Our branch: a good commit, rebased onto the new main, pushed with hooks.
    repo.commit("EPL-1 good");
    repo.cmd().arg("install-hooks").assert().success();
    repo.git(&["fetch", "-q", "origin"]);
    repo.git(&["rebase", "-q", "origin/main"]);
    let out = std::process::Command::new("git")
        .args(["push", "-q", "-f", "origin", "HEAD"])
        .current_dir(repo.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    repo.cmd()
        .args(["check", "commits", "origin/main..HEAD"])
        .assert()
        .code(0);
    // Our own ticketless commit is still refused.
    repo.commit("ours, no ticket");
    let out = std::process::Command::new("git")
        .args(["push", "-q", "origin", "HEAD"])
        .current_dir(repo.path())
        .output()
        .unwrap();
    assert!(!out.status.success());
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        said.contains("ours, no ticket") && !said.contains("teammate"),
        "{said}"
    );
}

/// Following the tip to keep waivers in `.github/policies/waivers.yml` next
/// to the `.git-policy.yml` that `init` wrote: the folder alone is read.
/// Every run says that `.git-policy.yml` is not, and `validate` refuses it.
#[test]
fn a_policy_file_the_policy_folder_shadows_is_never_dropped_silently() {
    let repo = repo_with_policy("feature/EPL-1-x");
    repo.write(
        ".github/policies/waivers.yml",
        "version: 1\nrules:\n  - id: subject-length\n    on: [commit]\n    require: { message: { subject_max_length: 72 } }\n",
    );
    repo.write("msg", "no ticket here\n");
    let out = repo
        .cmd()
        .args(["check", "commit-msg", "msg"])
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(
        said.contains("warning: both `.github/policies/` and `.git-policy.yml` exist")
            && said.contains("`.git-policy.yml` is NOT read"),
        "{said}"
    );
    repo.cmd()
        .arg("validate")
        .assert()
        .code(2)
        .stderr(contains("is NOT read").and(contains("git mv .git-policy.yml")));
    // One place: no warning.
    std::fs::remove_file(repo.path().join(".git-policy.yml")).unwrap();
    let out = repo
        .cmd()
        .args(["check", "commit-msg", "msg"])
        .output()
        .unwrap();
    assert!(!String::from_utf8_lossy(&out.stderr).contains("NOT read"));
    repo.cmd().arg("validate").assert().code(0);
}

/// `init --policy PATH` was accepted and ignored (the file went to the
/// repository's root): refused, nothing written.
#[test]
fn init_refuses_a_policy_path_it_would_ignore() {
    let repo = Repo::new("main");
    repo.cmd()
        .args([
            "--policy",
            "custom/policy.yml",
            "init",
            "--no-input",
            "--ticket-keys",
            "EPL",
        ])
        .assert()
        .code(2)
        .stderr(contains("does not write to --policy `custom/policy.yml`"));
    assert!(!repo.path().join(".git-policy.yml").exists());
    assert!(!repo.path().join("custom/policy.yml").exists());
}

/// A refused push to `main` with the built-in pack reported one mistake
/// twice: the branch, then each commit for the branch. Once now, saying how
/// many commits it covers, and no advice to reword commits that are fine.
#[test]
fn a_push_to_main_reports_the_branch_once() {
    let repo = Repo::new("main");
    let first = repo.commit("EPL-1 first");
    repo.commit("EPL-2 second");
    let head = repo.commit("EPL-3 third");
    let line = format!("refs/heads/main {head} refs/heads/main {first}\n");
    let out = repo
        .cmd()
        .args(["--color", "never", "check", "push", "origin"])
        .write_stdin(line.clone())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let said = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        said.matches("matches the forbidden pattern").count(),
        1,
        "{said}"
    );
    assert!(
        !String::from_utf8_lossy(&out.stderr).contains("reword a refused commit"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // JSON: one finding.
    let out = repo
        .cmd()
        .args(["--format", "json", "check", "push", "origin"])
        .write_stdin(line)
        .output()
        .unwrap();
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["findings"].as_array().unwrap().len(), 1, "{json}");
    assert!(json["findings"][0]["commit"].is_null(), "{json}");
    assert!(
        json["findings"][0]["message"]
            .as_str()
            .unwrap()
            .contains("the 2 commits this push brings"),
        "{json}"
    );
}

/// After a rebase, `git revert`'s message names the commit as it was before
/// the rebase, no longer in the history: the exemption lapsed silently and
/// the revert "named no ticket". It now follows the rebased commit by patch
/// identity; a revert whose change is not the reverse of that commit's is
/// still judged, and the finding says why the exemption did not apply.
#[test]
fn a_rebased_revert_keeps_its_exemption_by_patch_identity() {
    let repo = repo_with_policy("main");
    repo.git(&["add", "."]);
    repo.commit("EPL-1 policy");
    repo.git(&["switch", "-q", "-c", "feature/EPL-2"]);
    repo.write("a.txt", "one\ntwo\n");
    repo.git(&["add", "a.txt"]);
    repo.commit("add a\n\nEPL-2");
    repo.git(&["revert", "--no-edit", "HEAD"]);
    let before_rebase = repo.git(&["rev-parse", "HEAD~1"]);
    repo.git(&["switch", "-q", "main"]);
    repo.write("b.txt", "b\n");
    repo.git(&["add", "b.txt"]);
    repo.commit("EPL-3 add b on main");
    repo.git(&["switch", "-q", "feature/EPL-2"]);
    repo.git(&["rebase", "-q", "main"]);
    let message = repo.git(&["log", "-1", "--format=%B"]);
    assert!(message.contains(&before_rebase), "{message}");
    assert_ne!(repo.git(&["rev-parse", "HEAD~1"]), before_rebase);
    let out = repo
        .cmd()
        .args(["--format", "json", "check", "commits", "main..HEAD"])
        .output()
        .unwrap();
    let v = json(&out);
    assert_eq!(out.status.code(), Some(0), "{v}");
    assert_eq!(v["skipped"], 1, "{v}");
    // A "revert" that quotes the subject and names the old commit but does
    // something else is judged, and told why.
    repo.write("c.txt", "c\n");
    repo.git(&["add", "c.txt"]);
    repo.commit(&format!(
        "Revert \"add a\"\n\nThis reverts commit {before_rebase}.\n"
    ));
    let out = repo
        .cmd()
        .args(["--format", "json", "check", "commits", "main..HEAD"])
        .output()
        .unwrap();
    let v = json(&out);
    assert_eq!(out.status.code(), Some(1), "{v}");
    let message = v["findings"][0]["message"].as_str().unwrap();
    assert!(message.contains("not exempt as a revert"), "{v}");
}

/// One rule, one verdict (issue 24 §2): with `ticket: { in: [message,
/// branch] }`, a commit on `feature/EPL-1-x` passes the hook and the pull
/// request gate, and `check commits` failed it on the message alone. Without
/// `--branch` it is now "not judged" (a notice); with it, judged as the hook
/// does. `validate` names the rule and the place.
#[test]
fn a_rule_on_a_commits_branch_is_not_judged_where_the_branch_is_unknown() {
    let repo = Repo::new("main");
    repo.write(
        ".git-policy.yml",
        "version: 1\ntickets: { jira: { pattern: '\\bEPL-[0-9]+\\b' } }\nrules:\n  - id: commit-ticket\n    on: [commit]\n    require: { ticket: { in: [message, branch] } }\n",
    );
    repo.git(&["add", "."]);
    repo.commit("EPL-1 policy");
    repo.git(&["switch", "-q", "-c", "feature/EPL-2-login"]);
    repo.commit("Log in with SSO");
    repo.write("msg", "Log in with SSO\n");
    repo.cmd()
        .args(["check", "commit-msg", "msg"])
        .assert()
        .code(0);
    let out = repo
        .cmd()
        .args(["--format", "json", "check", "commits", "main..HEAD"])
        .output()
        .unwrap();
    let v = json(&out);
    assert_eq!(out.status.code(), Some(0), "{v}");
    assert_eq!(v["findings"][0]["level"], "notice", "{v}");
    assert!(
        v["findings"][0]["message"]
            .as_str()
            .unwrap()
            .starts_with("not judged: the commit's branch is not known here"),
        "{v}"
    );
    repo.cmd()
        .args([
            "check",
            "commits",
            "main..HEAD",
            "--branch",
            "feature/EPL-2-login",
        ])
        .assert()
        .code(0);
    repo.cmd()
        .args(["check", "commits", "main..HEAD", "--branch", "main"])
        .assert()
        .code(1)
        .stdout(contains("names no ticket in the branch name or message"));
    let out = repo
        .cmd()
        .args(["--format", "json", "validate"])
        .output()
        .unwrap();
    let v = json(&out);
    let warning = v["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|w| w["code"] == "policy::branch-not-always-known")
        .unwrap_or_else(|| panic!("{v}"));
    assert!(
        warning["message"]
            .as_str()
            .unwrap()
            .contains("rule `commit-ticket` reads a commit's `branch`"),
        "{v}"
    );
}

/// With no keys given, `init` offers the keys the history names (most
/// frequent first) and never writes a pattern that takes a non-ticket for a
/// ticket: `UTF-8`, `SHA-256`, `CVE-2025-1234`, `ISO-8601`, `X-1` are no keys.
#[test]
fn init_reads_ticket_keys_from_history_and_never_takes_non_tickets_for_tickets() {
    let repo = Repo::new("main");
    for message in [
        "ABC-1 Start",
        "ABC-2 Decode UTF-8 names",
        "ABC-3 Hash with SHA-256",
        "OPS-4 Patch CVE-2025-1234",
        "OPS-5 Dates in ISO-8601",
        "Fix X-1 and UTF-16 and SHA-1",
        "Bump SHA-256 and UTF-8 again",
        "ABC-6 quote of ZZZ-1 from another project",
    ] {
        repo.commit(message);
    }
    let out = repo.cmd().args(["init", "--no-input"]).output().unwrap();
    let said = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{said}");
    assert!(
        said.contains("note: ticket keys ABC, OPS: the most frequent in the last 500 commits"),
        "{said}"
    );
    let text = std::fs::read_to_string(repo.path().join(".git-policy.yml")).unwrap();
    assert!(text.contains(r"'\b(ABC|OPS)-[0-9]+\b'"), "{text}");
    for message in [
        "Fix UTF-8 decoding",
        "Use SHA-256",
        "CVE-2025-1234",
        "ISO-8601 dates",
        "X-1 tweak",
    ] {
        repo.write("msg", &format!("{message}\n"));
        repo.cmd()
            .args(["check", "commit-msg", "msg"])
            .assert()
            .code(1)
            .stdout(contains("names no ticket"));
    }
    repo.write("msg", "OPS-9 Retry\n");
    repo.cmd()
        .args(["check", "commit-msg", "msg"])
        .assert()
        .code(0);
    repo.cmd()
        .arg("validate")
        .assert()
        .success()
        .stdout(contains("tracker-accepts-non-tickets").not());
}

/// No keys given and none in the history: `init` asks for them (exit 2
/// with the flag to pass), writing nothing, rather than a pattern for any
/// KEY-123.
#[test]
fn init_without_keys_or_history_requires_ticket_keys() {
    let repo = Repo::new("main");
    repo.commit("Initial commit");
    repo.commit("Decode UTF-8 and SHA-256");
    for args in [
        &["init", "--no-input"][..],
        &["init", "--forbid-default-branch"][..],
    ] {
        repo.cmd()
            .args(args)
            .assert()
            .code(2)
            .stderr(contains(
                "no ticket keys given, and none found in the last 500 commits",
            ))
            .stderr(contains("--ticket-keys ABC,OPS"));
        assert!(!repo.path().join(".git-policy.yml").exists());
    }
}

/// `--guard 'GLOB=platform'` made a user named `platform`: a bare name is a
/// team or a person, so it is refused with both forms; `user:` says people.
#[test]
fn init_guard_names_a_team_or_people_never_a_bare_name() {
    for guard in [
        "docs/**=platform",
        "docs/**=alice+bob",
        "docs/**=acme/platform+bob",
        "docs/**=/platform",
        "docs/**=user:",
    ] {
        let repo = Repo::new("main");
        repo.cmd()
            .args(["init", "--ticket-keys", "ABC", "--guard", guard])
            .assert()
            .code(2)
            .stderr(contains("org/team-slug"))
            .stderr(contains("user:login"));
        assert!(!repo.path().join(".git-policy.yml").exists(), "{guard}");
    }
    let repo = Repo::new("main");
    repo.cmd()
        .args([
            "init",
            "--ticket-keys",
            "ABC",
            "--guard",
            "docs/**=platform",
        ])
        .assert()
        .stderr(contains("could be a GitHub team or a person"));
    repo.cmd()
        .args([
            "init",
            "--ticket-keys",
            "ABC",
            "--guard",
            "docs/**=user:alice+user:bob",
            "--guard",
            "ci/**=acme/platform",
        ])
        .assert()
        .success();
    let text = std::fs::read_to_string(repo.path().join(".git-policy.yml")).unwrap();
    assert!(text.contains("members: ['alice', 'bob']"), "{text}");
    assert!(text.contains("github: 'acme/platform'"), "{text}");
}

/// On a terminal, an empty answer to the keys question takes the keys the
/// history names, shown in the question; without any, it asks again and
/// never settles for a pattern for any KEY-123.
#[test]
fn init_on_a_terminal_offers_the_keys_of_the_history() {
    let binary = assert_cmd::cargo::cargo_bin("git-policy");
    let run = |repo: &Repo, answers: &str| {
        std::process::Command::new("script")
            .args(["-qec", &format!("{} init", binary.display()), "/dev/null"])
            .current_dir(repo.path())
            .env("NO_COLOR", "1")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .and_then(|mut child| {
                use std::io::Write;
                child.stdin.take().unwrap().write_all(answers.as_bytes())?;
                child.wait_with_output()
            })
            .unwrap()
    };
    let repo = Repo::new("main");
    repo.commit("PAY-1 Start");
    repo.commit("PAY-2 More, in UTF-8");
    let out = run(&repo, "\n\n\n\n");
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{said}");
    assert!(
        said.contains("[PAY, the most frequent in the last 500 commits]"),
        "{said}"
    );
    let text = std::fs::read_to_string(repo.path().join(".git-policy.yml")).unwrap();
    assert!(text.contains(r"'\b(PAY)-[0-9]+\b'"), "{text}");
    // No keys in the history: an empty answer is asked again.
    let repo = Repo::new("main");
    repo.commit("Start");
    let out = run(&repo, "\nOPS\n\n\n\n");
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{said}");
    assert!(said.contains("your tracker's keys are needed"), "{said}");
    let text = std::fs::read_to_string(repo.path().join(".git-policy.yml")).unwrap();
    assert!(text.contains(r"'\b(OPS)-[0-9]+\b'"), "{text}");
}
