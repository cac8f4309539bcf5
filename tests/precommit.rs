//! The pre-commit framework, for real: `pre-commit try-repo` runs this
//! repository's hooks (.pre-commit-hooks.yaml, `language: rust`) in a temp
//! repository. pre-commit comes from PyPI through `.ci/setup` (`bash .ci/test`
//! sets PRE_COMMIT).

mod common;

use std::path::PathBuf;
use std::process::{Command, Output};

fn pre_commit() -> PathBuf {
    let path = std::env::var_os("PRE_COMMIT")
        .map(PathBuf::from)
        .unwrap_or_else(|| common::root().join(".ci/venv/bin/pre-commit"));
    assert!(
        path.exists(),
        "pre-commit is not installed at {}: run the tests with `bash .ci/test`",
        path.display()
    );
    path
}

fn try_repo(repo: &common::Repo, args: &[&str]) -> Output {
    Command::new(pre_commit())
        .args(["try-repo"])
        .arg(common::root())
        .args(args)
        .current_dir(repo.path())
        .env("NO_COLOR", "1")
        // pre-commit builds the hook with `cargo install`: a quick build is enough here.
        .env("CARGO_PROFILE_RELEASE_LTO", "false")
        .env("CARGO_PROFILE_RELEASE_CODEGEN_UNITS", "16")
        .output()
        .unwrap()
}

#[test]
fn pre_commit_runs_the_commit_msg_and_pre_push_hooks() {
    let repo = common::Repo::new("feature/EPL-1-x");
    repo.write(".git-policy.yml", common::POLICY);
    repo.git(&["add", "."]);
    repo.git(&["commit", "-q", "--no-verify", "-m", "EPL-1 policy"]);
    repo.write("bad-msg", "Retry the login\n");
    repo.write("good-msg", "EPL-1 Retry the login\n");
    let bad = try_repo(
        &repo,
        &[
            "git-policy-commit-msg",
            "--hook-stage",
            "commit-msg",
            "--commit-msg-filename",
            "bad-msg",
        ],
    );
    let said =
        String::from_utf8_lossy(&bad.stdout).into_owned() + &String::from_utf8_lossy(&bad.stderr);
    assert!(
        !bad.status.success(),
        "a message without a ticket must fail:\n{said}"
    );
    assert!(
        said.contains("git-policy (commit message)")
            && said.contains("Failed")
            && said.contains("commit-ticket"),
        "{said}"
    );
    let good = try_repo(
        &repo,
        &[
            "git-policy-commit-msg",
            "--hook-stage",
            "commit-msg",
            "--commit-msg-filename",
            "good-msg",
        ],
    );
    assert!(
        good.status.success(),
        "{}",
        String::from_utf8_lossy(&good.stdout)
    );
    let from = repo.git(&["rev-parse", "HEAD"]);
    repo.commit("no ticket here");
    let to = repo.commit("EPL-2 fine");
    let push = try_repo(
        &repo,
        &[
            "git-policy-push",
            "--hook-stage",
            "pre-push",
            "--from-ref",
            &from,
            "--to-ref",
            &to,
        ],
    );
    let said = String::from_utf8_lossy(&push.stdout).into_owned();
    assert!(!push.status.success(), "{said}");
    assert!(
        said.contains("no ticket here") && said.contains("2 commits checked"),
        "{said}"
    );
}
