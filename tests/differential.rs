//! One judgement per commit, whoever asks: on random small histories and
//! random policies drawn from every requirement and condition that applies to
//! commits, the per-commit findings of `check commits A..B`, `audit A..B` and
//! `check pr` (git path: the clone holds both ends; API path: it does not,
//! and the commits and their files come from a mock of GitHub's API built
//! from the same repository) are identical. (`fixup!` commits differ by
//! design: exempt locally, "to be squashed" in a pull request, judged in a
//! release's history; they have their own test below.)

mod common;

use std::collections::BTreeSet;
use std::path::Path;

use common::github::{mount, mount_list};
use proptest::prelude::*;
use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const TOKEN: &str = "ghs_differentialTOKEN0123456789";

/// Rules on commits, each using a different requirement or condition.
const RULES: &[&str] = &[
    "  - id: ticket-subject\n    on: [commit]\n    require: { ticket: { in: [subject] } }\n",
    "  - id: ticket-body\n    on: [commit]\n    require: { ticket: { in: [body] } }\n",
    "  - id: ticket-message\n    on: [commit]\n    unless: { message: '^chore' }\n    require: { ticket: { in: [message] } }\n",
    "  - id: short-subject\n    on: [commit]\n    level: warning\n    require: { message: { subject_max_length: 24 } }\n",
    "  - id: no-wip\n    on: [commit]\n    require: { message: { forbid: '(?i)\\bwip\\b' } }\n",
    "  - id: typed-title\n    on: [commit]\n    require: { title: { pattern: '^(feat|fix|chore)' } }\n",
    "  - id: code-has-tests\n    on: [commit]\n    when: { changed: ['src/**'] }\n    require: { tests_changed: true }\n",
    "  - id: tests-folder\n    on: [commit]\n    require: { tests_changed: { paths: [tests] } }\n",
    "  - id: infra-ticket-in-body\n    on: [commit]\n    when: { changed: [iac] }\n    require: { ticket: { in: [body] } }\n",
    "  - id: docs-notice\n    on: [commit]\n    level: notice\n    when: { any: [{ changed: ['docs/**'] }, { message: 'docs' }] }\n    require: { ticket: { in: [subject] } }\n",
];

const SUBJECTS: &[&str] = &[
    "EPL-1 Add the retry",
    "feat: EPL-2 a longer subject line than the limit",
    "fix the login",
    "chore: bump",
    "WIP try something",
    "docs: explain EPL-3",
    "Merge branch 'main'",
    "Revert \"fix the login\"",
];

const BODIES: &[&str] = &["", "Part of EPL-9.", "See the ticket.", "wip"];

const FILES: &[&str] = &[
    "src/lib.rs",
    "src/net/retry.rs",
    "tests/retry.rs",
    "terraform/main.tf",
    "docs/guide.md",
    "README.md",
];

#[derive(Clone, Debug)]
struct Step {
    subject: usize,
    body: usize,
    /// Files written (index into FILES, content salt).
    files: Vec<(usize, u8)>,
    /// Files deleted, when present.
    delete: Option<usize>,
}

fn step() -> impl Strategy<Value = Step> {
    (
        0..SUBJECTS.len(),
        0..BODIES.len(),
        prop::collection::vec((0..FILES.len(), any::<u8>()), 0..3),
        prop::option::of(0..FILES.len()),
    )
        .prop_map(|(subject, body, files, delete)| Step {
            subject,
            body,
            files,
            delete,
        })
}

fn policy_of(rules: &[usize]) -> String {
    let mut text = String::from(
        "version: 1\ntickets:\n  jira: { pattern: '\\bEPL-[0-9]+\\b', example: EPL-1 }\npaths:\n  iac: ['terraform/**']\n  tests: ['tests/**']\nrules:\n",
    );
    for &i in rules {
        text.push_str(RULES[i]);
    }
    text
}

/// Builds base (one commit) and a branch of `steps` on top, with an
/// optional merge of a side branch; returns (base, head).
fn build(repo: &common::Repo, steps: &[Step], merge_at: Option<usize>) -> (String, String) {
    repo.write("README.md", "base\n");
    repo.git(&["add", "-A"]);
    repo.git(&["commit", "-q", "--no-verify", "-m", "EPL-1 base"]);
    let base = repo.git(&["rev-parse", "HEAD"]);
    for (i, s) in steps.iter().enumerate() {
        if merge_at == Some(i) {
            repo.git(&["checkout", "-q", "-b", "side"]);
            repo.write("side.txt", &format!("side {i}\n"));
            repo.git(&["add", "-A"]);
            repo.git(&["commit", "-q", "--no-verify", "-m", "side work"]);
            repo.git(&["checkout", "-q", "-"]);
            repo.git(&[
                "merge",
                "-q",
                "--no-ff",
                "--no-verify",
                "-m",
                "Merge branch 'side'",
                "side",
            ]);
        }
        for &(f, salt) in &s.files {
            repo.write(FILES[f], &format!("{i} {salt}\n"));
        }
        if let Some(d) = s.delete {
            let full = repo.path().join(FILES[d]);
            if full.exists() {
                std::fs::remove_file(full).unwrap();
            }
        }
        repo.git(&["add", "-A"]);
        let message = if BODIES[s.body].is_empty() {
            SUBJECTS[s.subject].to_owned()
        } else {
            format!("{}\n\n{}", SUBJECTS[s.subject], BODIES[s.body])
        };
        repo.git(&[
            "commit",
            "-q",
            "--allow-empty",
            "--no-verify",
            "-m",
            &message,
        ]);
    }
    (base, repo.git(&["rev-parse", "HEAD"]))
}

/// Per-commit findings of a JSON report: (rule, level, commit, message).
fn commit_findings(stdout: &[u8]) -> BTreeSet<(String, String, String, String)> {
    let v: Value = serde_json::from_slice(stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(stdout)));
    v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["commit"].is_string())
        .map(|f| {
            let s = |k: &str| f[k].as_str().unwrap_or_default().to_owned();
            (s("rule"), s("level"), s("commit"), s("message"))
        })
        .collect()
}

fn run(dir: &Path, args: &[&str], api: Option<&str>) -> std::process::Output {
    let mut cmd = common::git_policy(dir);
    cmd.args(args);
    if let Some(uri) = api {
        cmd.env("GITHUB_API_URL", uri).env("GITHUB_TOKEN", TOKEN);
    }
    let out = cmd.output().unwrap();
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!all.contains(TOKEN), "the token leaked:\n{all}");
    assert!(
        matches!(out.status.code(), Some(0 | 1)),
        "{args:?} could not judge:\n{all}"
    );
    out
}

fn files_of(repo: &common::Repo, args: &[&str]) -> Vec<Value> {
    let mut out = Vec::new();
    for line in repo.git(args).lines().filter(|l| !l.is_empty()) {
        let (status, name) = line.split_once('\t').unwrap();
        out.push(
            json!({ "sha": "bbcd538c8e72b8c175046e27cc8f907076331401", "filename": name,
            "status": match status { "A" => "added", "D" => "removed", _ => "modified" },
            "additions": 1, "deletions": 0, "changes": 1 }),
        );
    }
    out
}

/// A mock of GitHub answering for octo/app#42 with what the repository holds.
async fn serve(repo: &common::Repo, base: &str, head: &str) -> MockServer {
    serve_head(repo, base, head, "feature/EPL-1-x").await
}

/// [`serve`], with the pull request's head branch named.
async fn serve_head(repo: &common::Repo, base: &str, head: &str, branch: &str) -> MockServer {
    let server = MockServer::start().await;
    let range = format!("{base}..{head}");
    let shas: Vec<String> = repo
        .git(&["rev-list", "--reverse", "--topo-order", &range])
        .lines()
        .map(str::to_owned)
        .collect();
    let files = files_of(repo, &["diff", "--no-renames", "--name-status", base, head]);
    mount(
        &server,
        "/repos/octo/app/pulls/42",
        json!({ "number": 42, "state": "open", "title": "EPL-1 The change", "body": null, "draft": false,
            "user": { "login": "dev", "id": 7, "type": "User" }, "labels": [], "milestone": null,
            "head": { "ref": branch, "sha": head }, "base": { "ref": "main", "sha": base },
            "commits": shas.len(), "changed_files": files.len(), "merged": false }),
    )
    .await;
    mount_list(&server, "/repos/octo/app/pulls/42/reviews", vec![]).await;
    mount_list(&server, "/repos/octo/app/pulls/42/files", files).await;
    // No commit is signed: `ada`, whose e-mail it is, is not proved.
    common::github::mount_signatures(&server, vec![]).await;
    let mut commits = Vec::new();
    for sha in &shas {
        let message = repo.git(&["log", "-1", "--format=%B", sha]);
        let parents: Vec<Value> = repo
            .git(&["log", "-1", "--format=%P", sha])
            .split_whitespace()
            .map(|p| json!({ "sha": p }))
            .collect();
        commits.push(json!({ "sha": sha, "commit": { "message": message,
            "author": { "name": "Ada Lovelace", "email": "ada@example.com", "date": "2026-11-20T17:00:00Z" } },
            "author": { "login": "ada", "id": 3, "type": "User" }, "parents": parents }));
        // A commit's files, as GitHub lists them: against its first parent.
        let changed = files_of(
            repo,
            &[
                "diff-tree",
                "-r",
                "--no-commit-id",
                "--no-renames",
                "--name-status",
                "--root",
                "-m",
                "--first-parent",
                sha,
            ],
        );
        Mock::given(method("GET"))
            .and(path(format!("/repos/octo/app/commits/{sha}")))
            .respond_with(
                ResponseTemplate::new(200).set_body_json(json!({ "sha": sha, "files": changed })),
            )
            .mount(&server)
            .await;
    }
    mount_list(&server, "/repos/octo/app/pulls/42/commits", commits).await;
    server
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn every_command_judges_each_commit_alike(
        steps in prop::collection::vec(step(), 1..6),
        rules in prop::collection::btree_set(0..RULES.len(), 1..5),
        merge_at in prop::option::of(0..6usize),
    ) {
        let repo = common::Repo::new("feature/EPL-1-x");
        let (base, head) = build(&repo, &steps, merge_at.filter(|m| *m < steps.len()));
        let rules: Vec<usize> = rules.into_iter().collect();
        let policy = policy_of(&rules);
        let policy_dir = tempfile::tempdir().unwrap();
        let policy_file = policy_dir.path().join("policy.yml");
        std::fs::write(&policy_file, &policy).unwrap();
        let p = policy_file.to_str().unwrap();
        let range = format!("{base}..{head}");

        let commits = commit_findings(&run(repo.path(), &["--format", "json", "--policy", p, "check", "commits", &range], None).stdout);
        let audit = commit_findings(&run(repo.path(), &["--format", "json", "--policy", p, "audit", &range], None).stdout);
        prop_assert_eq!(&commits, &audit, "audit differs from check commits under\n{}", policy);

        let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
        let server = runtime.block_on(serve(&repo, &base, &head));
        let pr_args = ["--format", "json", "--policy", p, "check", "pr", "--repo", "octo/app", "--number", "42"];
        // Git path: the clone holds both ends.
        let git_path = commit_findings(&run(repo.path(), &pr_args, Some(&server.uri())).stdout);
        prop_assert_eq!(&commits, &git_path, "check pr (git) differs from check commits under\n{}", policy);
        // API path: no clone at all.
        let elsewhere = tempfile::tempdir().unwrap();
        let api_path = commit_findings(&run(elsewhere.path(), &pr_args, Some(&server.uri())).stdout);
        prop_assert_eq!(&commits, &api_path, "check pr (API) differs from check commits under\n{}", policy);
        drop(server);
    }
}

/// The property above is only worth something if the rules that need
/// changed files do fire on every path: one fixed case that must find them.
#[test]
fn commit_rules_that_need_changed_files_fire_in_every_command() {
    let repo = common::Repo::new("feature/EPL-1-x");
    let steps = [Step {
        subject: 0,
        body: 0,
        files: vec![(0, 1)],
        delete: None,
    }];
    let (base, head) = build(&repo, &steps, None);
    let policy_dir = tempfile::tempdir().unwrap();
    let policy_file = policy_dir.path().join("policy.yml");
    std::fs::write(&policy_file, policy_of(&[6])).unwrap();
    let p = policy_file.to_str().unwrap();
    let range = format!("{base}..{head}");
    let expected: BTreeSet<(String, String, String, String)> = [(
        String::from("code-has-tests"),
        String::from("error"),
        head.clone(),
    )]
    .into_iter()
    .map(|(r, l, c)| (r, l, c, String::new()))
    .collect();
    let rules_of = |found: BTreeSet<(String, String, String, String)>| -> BTreeSet<_> {
        found
            .into_iter()
            .map(|(r, l, c, _)| (r, l, c, String::new()))
            .collect()
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let server = runtime.block_on(serve(&repo, &base, &head));
    let elsewhere = tempfile::tempdir().unwrap();
    let pr_args = [
        "--format", "json", "--policy", p, "check", "pr", "--repo", "octo/app", "--number", "42",
    ];
    for (name, out) in [
        (
            "check commits",
            run(
                repo.path(),
                &[
                    "--format", "json", "--policy", p, "check", "commits", &range,
                ],
                None,
            ),
        ),
        (
            "audit",
            run(
                repo.path(),
                &["--format", "json", "--policy", p, "audit", &range],
                None,
            ),
        ),
        (
            "check pr (git)",
            run(repo.path(), &pr_args, Some(&server.uri())),
        ),
        (
            "check pr (API)",
            run(elsewhere.path(), &pr_args, Some(&server.uri())),
        ),
    ] {
        assert_eq!(out.status.code(), Some(1), "{name}");
        assert_eq!(rules_of(commit_findings(&out.stdout)), expected, "{name}");
    }
}

fn findings_of(out: &std::process::Output) -> Vec<(String, String)> {
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["commit"].is_string())
        .map(|f| {
            (
                f["rule"].as_str().unwrap().to_owned(),
                f["level"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

/// `fixup!` commits are exempt on the developer's machine, "to be squashed
/// before merge" in a pull request (a policy option), and judged like any
/// other commit once they are in a release's history.
#[test]
fn fixups_are_exempt_only_until_they_leave_the_machine() {
    let repo = common::Repo::new("feature/EPL-1-x");
    let steps = [Step {
        subject: 0,
        body: 0,
        files: vec![],
        delete: None,
    }];
    let (base, _) = build(&repo, &steps, None);
    repo.commit("fixup! EPL-1 Add the retry");
    let head = repo.git(&["rev-parse", "HEAD"]);
    let range = format!("{base}..{head}");
    let policy_dir = tempfile::tempdir().unwrap();
    let strict = policy_dir.path().join("strict.yml");
    let lenient = policy_dir.path().join("lenient.yml");
    let rules = "  - id: typed-title\n    on: [commit]\n    require: { title: { pattern: '^(feat|chore)' } }\n";
    std::fs::write(&strict, policy_of(&[]) + rules).unwrap();
    std::fs::write(
        &lenient,
        policy_of(&[]) + rules + "commits: { fixups_in_pull_requests: warning }\n",
    )
    .unwrap();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let server = runtime.block_on(serve(&repo, &base, &head));
    let elsewhere = tempfile::tempdir().unwrap();
    for policy in [&strict, &lenient] {
        let p = policy.to_str().unwrap();
        let local = run(
            repo.path(),
            &[
                "--format", "json", "--policy", p, "check", "commits", &range,
            ],
            None,
        );
        assert_eq!(
            findings_of(&local),
            [("typed-title".to_owned(), "error".to_owned())],
            "only the first commit: the fixup is exempt locally"
        );
        let audit = run(
            repo.path(),
            &["--format", "json", "--policy", p, "audit", &range],
            None,
        );
        assert_eq!(
            findings_of(&audit),
            [
                ("typed-title".to_owned(), "error".to_owned()),
                ("typed-title".to_owned(), "error".to_owned())
            ],
            "in a release's history the fixup is judged"
        );
        let level = if policy == &strict {
            "error"
        } else {
            "warning"
        };
        let args = [
            "--format", "json", "--policy", p, "check", "pr", "--repo", "octo/app", "--number",
            "42",
        ];
        for dir in [repo.path(), elsewhere.path()] {
            let pr = run(dir, &args, Some(&server.uri()));
            let mut found = findings_of(&pr);
            found.sort();
            assert_eq!(
                found,
                [
                    ("squash-before-merge".to_owned(), level.to_owned()),
                    ("typed-title".to_owned(), "error".to_owned())
                ],
            );
        }
    }
}

/// In a pull request, `authors` on a commit is the GitHub account the API
/// attributes it to; git's name field, which anyone can set, counts only on
/// the developer's machine.
#[test]
fn commit_authors_are_accounts_in_a_pull_request() {
    let repo = common::Repo::new("feature/EPL-1-x");
    let (base, _) = build(&repo, &[], None);
    repo.git(&[
        "-c",
        "user.name=dependabot[bot]",
        "commit",
        "-q",
        "--allow-empty",
        "--no-verify",
        "-m",
        "Bump x",
    ]);
    let head = repo.git(&["rev-parse", "HEAD"]);
    let range = format!("{base}..{head}");
    let policy_dir = tempfile::tempdir().unwrap();
    let policy = policy_dir.path().join("p.yml");
    std::fs::write(
        &policy,
        policy_of(&[]) + "  - id: ticket\n    on: [commit]\n    unless: { authors: ['dependabot[bot]'] }\n    require: { ticket: { in: [message] } }\n",
    )
    .unwrap();
    let p = policy.to_str().unwrap();
    let local = run(
        repo.path(),
        &[
            "--format", "json", "--policy", p, "check", "commits", &range,
        ],
        None,
    );
    assert!(
        findings_of(&local).is_empty(),
        "locally the git name is the developer's own"
    );
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    // The mock attributes every commit to the account `ada`.
    let server = runtime.block_on(serve(&repo, &base, &head));
    let args = [
        "--format", "json", "--policy", p, "check", "pr", "--repo", "octo/app", "--number", "42",
    ];
    let elsewhere = tempfile::tempdir().unwrap();
    for dir in [repo.path(), elsewhere.path()] {
        let pr = run(dir, &args, Some(&server.uri()));
        assert_eq!(
            findings_of(&pr),
            [("ticket".to_owned(), "error".to_owned())],
            "a git name proves nothing in a pull request"
        );
    }
    let audit = run(
        repo.path(),
        &["--format", "json", "--policy", p, "audit", &range],
        None,
    );
    assert_eq!(
        findings_of(&audit),
        [("ticket".to_owned(), "error".to_owned())]
    );
}

/// Rules on commits that the entry points must agree on, the commit's branch included.
const ENTRY_RULES: &[&str] = &[
    "  - id: ticket-anywhere\n    on: [commit]\n    require: { ticket: { in: [message, branch] } }\n",
    "  - id: ticket-subject\n    on: [commit]\n    require: { ticket: { in: [subject] } }\n",
    "  - id: not-on-main\n    on: [commit]\n    require: { branch: { forbid: '^main$' } }\n",
    "  - id: code-has-tests\n    on: [commit]\n    when: { changed: ['src/**'] }\n    require: { tests_changed: true }\n",
    "  - id: typed-title\n    on: [commit]\n    level: warning\n    require: { title: { pattern: '^(feat|fix|chore)' } }\n",
];

const BRANCHES: &[&str] = &["feature/EPL-5-retry", "fix-login", "main"];

fn rules_and_levels(out: &std::process::Output, per_commit: bool) -> Vec<(String, String, String)> {
    let v: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&out.stdout)));
    let mut found: Vec<(String, String, String)> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| !per_commit || f["commit"].is_string())
        .map(|f| {
            let s = |k: &str| f[k].as_str().unwrap_or_default().to_owned();
            (s("commit"), s("rule"), s("level"))
        })
        .collect();
    found.sort();
    found
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 8, failure_persistence: None, ..ProptestConfig::default() })]

    /// A commit the commit-msg hook accepts is accepted at push time (the
    /// pre-push hook, `check commits --branch`) and by the pull request gate,
    /// and vice versa: the same rules fail for the same commit everywhere.
    #[test]
    fn the_hooks_and_the_gate_agree(
        steps in prop::collection::vec(step(), 1..5),
        rules in prop::collection::btree_set(0..ENTRY_RULES.len(), 1..4),
        branch in 0..BRANCHES.len(),
    ) {
        let branch = BRANCHES[branch];
        let repo = common::Repo::new("main");
        let mut policy = policy_of(&[]);
        for &r in &rules {
            policy.push_str(ENTRY_RULES[r]);
        }
        let policy_dir = tempfile::tempdir().unwrap();
        let policy_file = policy_dir.path().join("policy.yml");
        std::fs::write(&policy_file, &policy).unwrap();
        let p = policy_file.to_str().unwrap();
        repo.write("README.md", "base\n");
        repo.git(&["add", "-A"]);
        repo.git(&["commit", "-q", "--no-verify", "-m", "EPL-1 base"]);
        let base = repo.git(&["rev-parse", "HEAD"]);
        if branch != "main" {
            repo.git(&["switch", "-q", "-c", branch]);
        }
        // The commit-msg hook's verdict on each message, with its staged files.
        let mut hook = Vec::new();
        for (i, s) in steps.iter().enumerate() {
            for &(f, salt) in &s.files {
                repo.write(FILES[f], &format!("{i} {salt}\n"));
            }
            repo.git(&["add", "-A"]);
            let message = if BODIES[s.body].is_empty() {
                SUBJECTS[s.subject].to_owned()
            } else {
                format!("{}\n\n{}", SUBJECTS[s.subject], BODIES[s.body])
            };
            repo.write(".git/MSG", &message);
            let out = common::git_policy(repo.path())
                .args(["--format", "json", "--policy", p, "check", "commit-msg", ".git/MSG"])
                .output()
                .unwrap();
            prop_assert!(matches!(out.status.code(), Some(0 | 1)), "{}", String::from_utf8_lossy(&out.stderr));
            repo.git(&["commit", "-q", "--allow-empty", "--no-verify", "-F", ".git/MSG"]);
            let sha = repo.git(&["rev-parse", "HEAD"]);
            hook.extend(rules_and_levels(&out, false).into_iter().map(|(_, r, l)| (sha.clone(), r, l)));
        }
        hook.sort();
        let head = repo.git(&["rev-parse", "HEAD"]);
        let range = format!("{base}..{head}");
        // What the pre-push hook runs for this push.
        let push = run(repo.path(), &["--format", "json", "--policy", p, "check", "commits", &range, "--branch", branch], None);
        prop_assert_eq!(&hook, &rules_and_levels(&push, true), "check commits --branch differs from the commit-msg hook under\n{}", policy);
        // The pre-push hook itself: git's lines on stdin, the pushed branch named there.
        let pushed = common::git_policy(repo.path())
            .args(["--format", "json", "--policy", p, "check", "push", "origin"])
            .write_stdin(format!("refs/heads/{branch} {head} refs/heads/{branch} {base}\n"))
            .output()
            .unwrap();
        prop_assert!(matches!(pushed.status.code(), Some(0 | 1)), "{}", String::from_utf8_lossy(&pushed.stderr));
        prop_assert_eq!(&hook, &rules_and_levels(&pushed, true), "pre-push differs from the commit-msg hook under\n{}", policy);
        // The pull request gate, from the clone and through the API.
        let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
        let server = runtime.block_on(serve_head(&repo, &base, &head, branch));
        let args = ["--format", "json", "--policy", p, "check", "pr", "--repo", "octo/app", "--number", "42"];
        let gate = run(repo.path(), &args, Some(&server.uri()));
        prop_assert_eq!(&hook, &rules_and_levels(&gate, true), "the gate differs from the commit-msg hook under\n{}", policy);
        let elsewhere = tempfile::tempdir().unwrap();
        let api = run(elsewhere.path(), &args, Some(&server.uri()));
        prop_assert_eq!(&hook, &rules_and_levels(&api, true), "the gate (API) differs from the commit-msg hook under\n{}", policy);
    }
}
