//! The pre-commit framework, for real: `pre-commit try-repo` runs this
//! repository's hooks (.pre-commit-hooks.yaml) in a temp repository, offline.
//!
//! - The default hooks are `language: python`: pre-commit pip-installs the
//!   root placeholder package, which pins the git-policy wheel. The wheel is
//!   built here with maturin (dev profile, in this build's target dir, so it
//!   reuses the test build) and served from a local wheelhouse with
//!   PIP_NO_INDEX: no cargo on PATH, no network.
//! - The `-src` hooks are `language: rust`: pre-commit runs `cargo install`;
//!   one cheap-profile build in `target/pre-commit-src` is shared by every run.
//!
//! pre-commit and maturin come from PyPI through `.ci/setup`, the setuptools
//! wheel into `.ci/wheelhouse` (`bash .ci/test`).

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;
use std::time::Instant;

fn tool(var: &str, name: &str) -> PathBuf {
    let path = std::env::var_os(var)
        .map(PathBuf::from)
        .unwrap_or_else(|| common::root().join(".ci/venv/bin").join(name));
    assert!(
        path.exists(),
        "{name} is not installed at {}: run the tests with `bash .ci/test`",
        path.display()
    );
    path
}

/// A folder holding the git-policy wheel of this source and the setuptools
/// wheel the placeholder package builds with: all pip may use.
fn wheelhouse() -> &'static Path {
    static WHEELHOUSE: OnceLock<tempfile::TempDir> = OnceLock::new();
    WHEELHOUSE
        .get_or_init(|| {
            let dir = tempfile::tempdir().unwrap();
            let started = Instant::now();
            let mut maturin = Command::new(tool("MATURIN", "maturin"));
            // What cargo sets for this test process (OUT_DIR, CARGO_PKG_*, …) is
            // not the environment of a build: keep it from maturin's cargo.
            for (key, _) in std::env::vars_os() {
                let key = key.to_string_lossy();
                if (key.starts_with("CARGO_") && key != "CARGO_HOME") || key == "OUT_DIR" {
                    maturin.env_remove(&*key);
                }
            }
            let out = maturin
                .args(["build", "--profile", "dev", "--locked", "--quiet", "--out"])
                .arg(dir.path())
                .current_dir(common::root().join("python"))
                .env("CARGO_TARGET_DIR", target_dir())
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "maturin build failed:\n{}",
                String::from_utf8_lossy(&out.stderr)
            );
            #[expect(clippy::print_stderr, reason = "the build's time, for the log")]
            {
                eprintln!("maturin build (dev profile): {:?}", started.elapsed());
            }
            let setuptools = std::fs::read_dir(common::root().join(".ci/wheelhouse"))
                .expect(".ci/wheelhouse: run `bash .ci/setup`")
                .map(|e| e.unwrap().path())
                .find(|p| p.to_string_lossy().contains("setuptools-"))
                .expect("no setuptools wheel in .ci/wheelhouse: run `bash .ci/setup`");
            std::fs::copy(
                &setuptools,
                dir.path().join(setuptools.file_name().unwrap()),
            )
            .unwrap();
            dir
        })
        .path()
}

/// This build's target dir (the test binary lives in `<target>/debug/deps`).
fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            Path::new(env!("CARGO_BIN_EXE_git-policy"))
                .ancestors()
                .nth(2)
                .unwrap()
                .to_path_buf()
        })
}

/// A PATH without cargo or rustup: the python hooks must not need Rust.
fn path_without_rust() -> String {
    let path = std::env::var("PATH").unwrap();
    std::env::split_paths(&path)
        .filter(|dir| !dir.join("cargo").exists() && !dir.join("rustc").exists())
        .map(|dir| dir.display().to_string())
        .collect::<Vec<_>>()
        .join(":")
}

enum Hooks {
    /// `language: python`, offline from the wheelhouse, without Rust on PATH.
    Python,
    /// `language: rust`, one shared cheap build.
    Source,
}

fn try_repo(repo: &common::Repo, hooks: Hooks, args: &[&str]) -> Output {
    let mut cmd = Command::new(tool("PRE_COMMIT", "pre-commit"));
    cmd.args(["try-repo"])
        .arg(common::root())
        .args(args)
        .current_dir(repo.path())
        .env("NO_COLOR", "1");
    match hooks {
        Hooks::Python => {
            cmd.env("PATH", path_without_rust())
                .env("PIP_NO_INDEX", "1")
                .env("PIP_FIND_LINKS", wheelhouse())
                .env("PIP_DISABLE_PIP_VERSION_CHECK", "1")
                .env("PIP_NO_CACHE_DIR", "1");
        }
        Hooks::Source => {
            // pre-commit runs `cargo install --path <a fresh clone>`: a shared target
            // dir and a cheap profile let every run after the first reuse one build.
            cmd.env("CARGO_TARGET_DIR", target_dir().join("pre-commit-src"))
                .env("CARGO_PROFILE_RELEASE_OPT_LEVEL", "0")
                .env("CARGO_PROFILE_RELEASE_LTO", "false")
                .env("CARGO_PROFILE_RELEASE_CODEGEN_UNITS", "256")
                .env("CARGO_PROFILE_RELEASE_DEBUG", "false")
                .env("CARGO_PROFILE_RELEASE_INCREMENTAL", "false");
        }
    }
    cmd.output().unwrap()
}

fn said(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr)
}

fn repo_with_policy() -> common::Repo {
    let repo = common::Repo::new("feature/EPL-1-x");
    repo.write(".git-policy.yml", common::POLICY);
    repo.git(&["add", "."]);
    repo.git(&["commit", "-q", "--no-verify", "-m", "EPL-1 policy"]);
    repo.write("bad-msg", "Retry the login\n");
    repo.write("good-msg", "EPL-1 Retry the login\n");
    repo
}

fn commit_msg(repo: &common::Repo, hooks: Hooks, id: &str, file: &str) -> Output {
    try_repo(
        repo,
        hooks,
        &[
            id,
            "--hook-stage",
            "commit-msg",
            "--commit-msg-filename",
            file,
        ],
    )
}

#[test]
fn the_python_hooks_install_the_wheel_offline_without_rust_and_check_messages_and_pushes() {
    let repo = repo_with_policy();
    wheelhouse();
    let started = Instant::now();
    let bad = commit_msg(&repo, Hooks::Python, "git-policy-commit-msg", "bad-msg");
    eprintln!(
        "first use of the python commit-msg hook (pip install from a local wheelhouse): {:?}",
        started.elapsed()
    );
    let text = said(&bad);
    assert!(
        !bad.status.success(),
        "a message without a ticket must fail:\n{text}"
    );
    assert!(
        text.contains("git-policy (commit message)")
            && text.contains("Failed")
            && text.contains("commit-ticket"),
        "{text}"
    );
    let good = commit_msg(&repo, Hooks::Python, "git-policy-commit-msg", "good-msg");
    assert!(good.status.success(), "{}", said(&good));

    let from = repo.git(&["rev-parse", "HEAD"]);
    repo.commit("no ticket here");
    let to = repo.commit("EPL-2 fine");
    let push = try_repo(
        &repo,
        Hooks::Python,
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
    let text = said(&push);
    assert!(!push.status.success(), "{text}");
    assert!(
        text.contains("no ticket here") && text.contains("2 commits checked"),
        "{text}"
    );
}

#[test]
fn the_python_hook_fails_closed_when_the_wheel_is_not_available() {
    // Without the pinned wheel pip must fail: the hook never runs something else.
    let repo = repo_with_policy();
    let empty = tempfile::tempdir().unwrap();
    let out = Command::new(tool("PRE_COMMIT", "pre-commit"))
        .args(["try-repo"])
        .arg(common::root())
        .args([
            "git-policy-commit-msg",
            "--hook-stage",
            "commit-msg",
            "--commit-msg-filename",
            "good-msg",
        ])
        .current_dir(repo.path())
        .env("NO_COLOR", "1")
        .env("PATH", path_without_rust())
        .env("PIP_NO_INDEX", "1")
        .env("PIP_FIND_LINKS", empty.path())
        .output()
        .unwrap();
    let text = said(&out);
    assert!(!out.status.success(), "{text}");
    assert!(
        text.contains("An unexpected error has occurred") || text.contains("CalledProcessError"),
        "{text}"
    );
}

#[test]
fn the_src_hook_builds_with_cargo_and_rejects_a_ticketless_message() {
    let repo = repo_with_policy();
    let started = Instant::now();
    let bad = commit_msg(&repo, Hooks::Source, "git-policy-commit-msg-src", "bad-msg");
    eprintln!(
        "first use of the rust (-src) commit-msg hook, shared cheap build: {:?}",
        started.elapsed()
    );
    let text = said(&bad);
    assert!(
        !bad.status.success(),
        "a message without a ticket must fail:\n{text}"
    );
    assert!(
        text.contains("git-policy (commit message, built from source)")
            && text.contains("Failed")
            && text.contains("commit-ticket"),
        "{text}"
    );
}

/// `.github/scripts/package.py` on a copy of `wheel` (it adds the notices
/// to the wheel in place: never the wheelhouse's own), with notices for
/// `target`, into `out`.
fn pack_a_copy(wheel: &Path, target: &str, out: &Path) -> std::process::ExitStatus {
    let work = tempfile::tempdir().unwrap();
    let notices = work.path().join("THIRD-PARTY-NOTICES.txt");
    std::fs::write(
        &notices,
        format!("Third-party notices for git-policy ({target})\n"),
    )
    .unwrap();
    let copy = work.path().join(wheel.file_name().unwrap());
    std::fs::copy(wheel, &copy).unwrap();
    Command::new("python3")
        .arg(common::root().join(".github/scripts/package.py"))
        .arg(&copy)
        .args([env!("CARGO_PKG_VERSION"), target])
        .arg(&notices)
        .arg(out)
        .status()
        .unwrap()
}

#[test]
fn the_release_archive_holds_the_wheels_own_binary() {
    // .github/scripts/package.py, as the release workflow runs it on each wheel.
    let wheel = std::fs::read_dir(wheelhouse())
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("git_policy-")
        })
        .unwrap();
    let out_dir = tempfile::tempdir().unwrap();
    // The test wheel holds this glibc build, which package.py would refuse under a
    // musl target (not static: tests/static_binary.rs); the packing is the same.
    let target = "x86_64-unknown-linux-gnu";
    let version = env!("CARGO_PKG_VERSION");
    assert!(pack_a_copy(&wheel, target, out_dir.path()).success());
    let name = format!("git-policy-v{version}-{target}.tar.gz");
    let archive = out_dir.path().join(&name);
    let listed = Command::new("tar")
        .arg("-tvzf")
        .arg(&archive)
        .output()
        .unwrap();
    let listed = String::from_utf8_lossy(&listed.stdout);
    // The binary and the notices of what it links, nothing else.
    assert_eq!(listed.lines().count(), 2, "{listed}");
    assert!(
        listed
            .lines()
            .any(|l| l.starts_with("-rwxr-xr-x") && l.trim_end().ends_with(" git-policy")),
        "{listed}"
    );
    assert!(
        listed
            .lines()
            .any(|l| l.trim_end().ends_with(" THIRD-PARTY-NOTICES.txt")),
        "{listed}"
    );
    let sums = std::fs::read_to_string(out_dir.path().join(format!("{name}.sha256"))).unwrap();
    let check = Command::new("sha256sum")
        .args(["--check", "--strict", "-"])
        .current_dir(out_dir.path())
        .stdin(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut child| {
            use std::io::Write;
            child.stdin.take().unwrap().write_all(sums.as_bytes())?;
            child.wait()
        })
        .unwrap();
    assert!(check.success(), "{sums}");
    // The archived bytes are the wheel's binary, and it runs.
    let unpacked = tempfile::tempdir().unwrap();
    assert!(
        Command::new("tar")
            .arg("-xzf")
            .arg(&archive)
            .arg("-C")
            .arg(unpacked.path())
            .status()
            .unwrap()
            .success()
    );
    let from_wheel = Command::new("unzip")
        .arg("-p")
        .arg(&wheel)
        .arg("*.data/scripts/git-policy")
        .output()
        .unwrap()
        .stdout;
    assert!(!from_wheel.is_empty());
    assert_eq!(
        std::fs::read(unpacked.path().join("git-policy")).unwrap(),
        from_wheel
    );
    let said = Command::new(unpacked.path().join("git-policy"))
        .arg("--version")
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&said.stdout).starts_with(&format!("git-policy {version} (")));
    // The same wheel packs to the same bytes (fixed timestamps).
    let again = tempfile::tempdir().unwrap();
    assert!(pack_a_copy(&wheel, target, again.path()).success());
    assert_eq!(
        std::fs::read(&archive).unwrap(),
        std::fs::read(again.path().join(&name)).unwrap()
    );
}

/// A first push to an empty remote through pre-commit's pre-push stage, for
/// real: pre-commit then sets no `PRE_COMMIT_FROM_REF`/`TO_REF` (the push holds
/// the root commit), and the push hook still judges every commit pushed. It
/// once said "the push updates no branch" and passed. The hook is git-policy
/// itself (`language: system`, a copy of this build): no wheel, no cargo.
#[test]
fn a_first_push_to_an_empty_remote_through_pre_commit_gets_a_verdict() {
    let bin = tempfile::tempdir().unwrap();
    let git_policy = bin.path().join("git-policy");
    std::fs::copy(env!("CARGO_BIN_EXE_git-policy"), &git_policy).unwrap();
    let remote = tempfile::tempdir().unwrap();
    let pre_commit_home = tempfile::tempdir().unwrap();
    let repo = repo_with_policy();
    assert!(
        Command::new("git")
            .args(["init", "-q", "--bare"])
            .arg(remote.path())
            .status()
            .unwrap()
            .success()
    );
    repo.write(
        ".pre-commit-config.yaml",
        &format!(
            "repos:\n  - repo: local\n    hooks:\n      - id: git-policy-push\n        name: git-policy (pushed commits)\n        entry: {} check push\n        language: system\n        stages: [pre-push]\n        pass_filenames: false\n        always_run: true\n",
            git_policy.display()
        ),
    );
    repo.git(&["add", ".pre-commit-config.yaml"]);
    repo.git(&["commit", "-q", "--no-verify", "-m", "EPL-1 hooks"]);
    repo.commit("no ticket here");
    repo.git(&["remote", "add", "origin", remote.path().to_str().unwrap()]);
    let run = |args: &[&str]| {
        Command::new(args[0])
            .args(&args[1..])
            .current_dir(repo.path())
            .env("PRE_COMMIT_HOME", pre_commit_home.path())
            .env("NO_COLOR", "1")
            .env("HOME", repo.path())
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .output()
            .unwrap()
    };
    let pre_commit = tool("PRE_COMMIT", "pre-commit");
    let install = run(&[
        pre_commit.to_str().unwrap(),
        "install",
        "--hook-type",
        "pre-push",
    ]);
    assert!(install.status.success(), "{}", said(&install));
    let push = run(&["git", "push", "origin", "feature/EPL-1-x"]);
    let text = said(&push);
    assert!(
        !push.status.success(),
        "a ticketless commit was pushed:\n{text}"
    );
    assert!(
        text.contains("no ticket here") && text.contains("3 commits checked"),
        "{text}"
    );
    // Once fixed, the same first push goes through.
    repo.git(&["reset", "-q", "--hard", "HEAD~1"]);
    let push = run(&["git", "push", "origin", "feature/EPL-1-x"]);
    assert!(push.status.success(), "{}", said(&push));
}
