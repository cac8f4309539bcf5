//! The hooks keep the parsed policy files in `.git/git-policy/node-trees`
//! (see `src/policy/tree_cache.rs`). A cached run must judge exactly as an
//! uncached one: same output, same exit status, and an edited, damaged or
//! foreign entry is never believed.

mod common;

use common::{POLICY, Repo};

fn cache_file(repo: &Repo) -> std::path::PathBuf {
    repo.path().join(".git/git-policy/node-trees")
}

/// Runs the commit-msg hook on `message`: (exit status, stdout, stderr).
fn hook(repo: &Repo, message: &str) -> (Option<i32>, String, String) {
    repo.write(".git/COMMIT_EDITMSG", message);
    let out = repo
        .cmd()
        .args(["check", "commit-msg", ".git/COMMIT_EDITMSG"])
        .output()
        .unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn repo() -> Repo {
    let repo = Repo::new("feature/EPL-1-cache");
    repo.write(".git-policy.yml", POLICY);
    repo
}

#[test]
fn a_cached_run_judges_exactly_as_the_first() {
    let repo = repo();
    assert!(!cache_file(&repo).exists());
    for message in ["EPL-7 Retry on timeout\n", "Retry on timeout\n"] {
        let first = hook(&repo, message);
        assert!(cache_file(&repo).exists(), "the first run keeps the parse");
        let cached = hook(&repo, message);
        assert_eq!(first, cached, "{message}");
    }
    assert_eq!(hook(&repo, "EPL-7 Retry\n").0, Some(0));
    let (code, stdout, _) = hook(&repo, "Retry\n");
    assert_eq!(code, Some(1));
    assert!(stdout.contains("commit-ticket"), "{stdout}");
}

#[test]
fn an_edited_policy_is_read_again() {
    let repo = repo();
    assert_eq!(hook(&repo, "EPL-7 Retry\n").0, Some(0));
    // Same length, other ticket key: a stale entry would still pass EPL-7.
    repo.write(".git-policy.yml", &POLICY.replace("EPL", "ABC"));
    let (code, stdout, _) = hook(&repo, "EPL-7 Retry\n");
    assert_eq!(code, Some(1), "{stdout}");
    assert_eq!(hook(&repo, "ABC-7 Retry\n").0, Some(0));
    // An invalid edit is reported, with its place, cached entry or not.
    repo.write(
        ".git-policy.yml",
        &POLICY.replace("in: [message]", "in: [mesage]"),
    );
    let (code, _, stderr) = hook(&repo, "ABC-7 Retry\n");
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains(".git-policy.yml:9:"), "{stderr}");
}

#[test]
fn a_damaged_entry_is_parsed_again_and_replaced() {
    let repo = repo();
    let clean = hook(&repo, "Retry\n");
    let good = std::fs::read(cache_file(&repo)).unwrap();
    let mut flipped = good.clone();
    let middle = flipped.len() / 2;
    flipped[middle] ^= 0x01;
    for damaged in [
        b"not an entry".to_vec(),
        good[..good.len() / 2].to_vec(),
        flipped,
        Vec::new(),
    ] {
        std::fs::write(cache_file(&repo), &damaged).unwrap();
        assert_eq!(hook(&repo, "Retry\n"), clean);
        assert_eq!(std::fs::read(cache_file(&repo)).unwrap(), good, "rewritten");
    }
}

#[test]
fn a_git_directory_that_cannot_be_written_is_no_error() {
    let repo = repo();
    // A file where the cache's folder would be: nothing can be written there.
    repo.write(".git/git-policy", "in the way");
    assert_eq!(hook(&repo, "EPL-7 Retry\n").0, Some(0));
    let (code, stdout, _) = hook(&repo, "Retry\n");
    assert_eq!(code, Some(1), "{stdout}");
}

/// Globs of every kind, read from the cache (parsed only when compiled):
/// a path set, a folder, a glob in `changed`, branch globs in `unless`.
#[test]
fn globs_read_from_the_cache_match_as_parsed_ones() {
    let repo = Repo::new("feature/cache");
    repo.write(
        ".git-policy.yml",
        r#"version: 1
tickets:
  jira: { pattern: '\bEPL-[0-9]+\b', example: EPL-1 }
paths:
  infra: ['*.tf', 'deploy/']
rules:
  - id: infra-ticket
    on: [commit]
    when: { changed: [infra, 'db/**/*.sql'] }
    unless: { branches: ['hotfix/*'] }
    require: { ticket: { in: [message] } }
"#,
    );
    repo.git(&["add", ".git-policy.yml"]);
    repo.git(&["commit", "-q", "--no-verify", "-m", "EPL-1 policy"]);
    let staged = |path: &str| {
        repo.git(&["reset", "-q"]);
        repo.write(path, "x\n");
        repo.git(&["add", path]);
    };
    for (path, refused) in [
        ("infra/prod/main.tf", true),
        ("deploy/web/app.yml", true),
        ("db/migrations/001.sql", true),
        ("README.md", false),
        ("src/deploy.rs", false),
    ] {
        staged(path);
        let first = hook(&repo, "Retry on timeout\n");
        let cached = hook(&repo, "Retry on timeout\n");
        assert_eq!(first, cached, "{path}");
        assert_eq!(
            first.0,
            Some(if refused { 1 } else { 0 }),
            "{path}: {first:?}"
        );
        std::fs::remove_file(cache_file(&repo)).unwrap();
    }
    repo.git(&["switch", "-q", "-c", "hotfix/login"]);
    staged("infra/prod/main.tf");
    hook(&repo, "Retry on timeout\n");
    assert_eq!(
        hook(&repo, "Retry on timeout\n").0,
        Some(0),
        "exempt on hotfix/*"
    );
}

/// A policy with rules on pull requests and releases, and waivers naming them.
const WITH_OTHER_SUBJECTS: &str = r#"version: 1
tickets:
  jira: { pattern: '\bEPL-[0-9]+\b', example: EPL-1 }
rules:
  - id: commit-ticket
    on: [commit]
    require: { ticket: { in: [message] } }
  - id: task-branch
    on: [branch]
    require: { branch: { pattern: '^feature/' } }
  - id: pr-ready
    on: [pull_request]
    require: { ready: true }
  - id: release-tests
    on: [release]
    require: { release_checks: { required: true } }
waivers:
  - pull_request: 12
    rules: [pr-ready, commit-ticket]
    reason: the outage fix of 2026-11
    granted_by: rte
  - ticket: EPL-9
    rules: [release-tests]
    reason: tested by hand, see EPL-10
    granted_by: rte
"#;

/// The kept parse holds only the rules a hook judges (the pull request and
/// release rules are left out, waivers may name them): every hook, in
/// every format, says exactly what it said when it parsed the files. SARIF
/// lists every rule of the policy, so it always reads the files.
#[test]
fn the_rules_left_out_of_the_kept_parse_change_nothing_a_hook_says() {
    let run = |repo: &Repo, args: &[&str], stdin: &str| {
        let out = repo.cmd().args(args).write_stdin(stdin).output().unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    for (policy, branch) in [
        (Some(WITH_OTHER_SUBJECTS), "feature/EPL-1-cache"),
        (Some(WITH_OTHER_SUBJECTS), "main"),
        (None, "feature/EPL-1-cache"),
        (None, "main"),
    ] {
        let repo = Repo::new(branch);
        if let Some(policy) = policy {
            repo.write(".git-policy.yml", policy);
        }
        let head = repo.commit("Retry on timeout");
        repo.write(".git/COMMIT_EDITMSG", "Retry on timeout\n");
        let push = format!(
            "refs/heads/{branch} {head} refs/heads/{branch} {}\n",
            "0".repeat(40)
        );
        for format in ["human", "json", "github", "sarif"] {
            for (args, stdin) in [
                (&["check", "commit-msg", ".git/COMMIT_EDITMSG"][..], ""),
                (&["check", "branch"][..], ""),
                (&["check", "push", "origin"][..], push.as_str()),
            ] {
                let args: Vec<&str> = args.iter().copied().chain(["--format", format]).collect();
                let _ = std::fs::remove_file(cache_file(&repo));
                let first = run(&repo, &args, stdin);
                assert_eq!(cache_file(&repo).exists(), format != "sarif", "{args:?}");
                let again = run(&repo, &args, stdin);
                assert_eq!(first, again, "{branch} {args:?}");
                assert!(
                    matches!(first.0, Some(0 | 1)),
                    "{branch} {args:?}: {first:?}"
                );
            }
        }
        // SARIF after a run that kept the parse: every rule is still listed.
        run(&repo, &["check", "branch"], "");
        assert!(cache_file(&repo).exists());
        let (_, sarif, _) = run(&repo, &["check", "branch", "--format", "sarif"], "");
        let listed = if policy.is_some() {
            "release-tests"
        } else {
            "release-checks-green"
        };
        assert!(sarif.contains(&format!("\"id\": \"{listed}\"")), "{sarif}");
    }
}
