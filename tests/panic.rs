//! A panic is "could not judge": exit status 2, its message, and under
//! Actions `passed=false` — in the release profile too, whose
//! `panic = "abort"` never unwinds to a `catch_unwind` (before, a panic there
//! was SIGABRT with no output). The trigger, `GIT_POLICY_DEBUG_PANIC`, exists
//! only in builds with debug assertions: the test profile, and
//! `release-test`, which is release with its panic strategy but no LTO.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Runs `binary --format FORMAT validate` with a panic asked for, under a
/// runner's GITHUB_OUTPUT; returns the output and what GITHUB_OUTPUT got.
fn panicking(binary: &Path, format: &str) -> (Output, String) {
    let dir = tempfile::tempdir().unwrap();
    let github_output = dir.path().join("github_output");
    std::fs::write(&github_output, "").unwrap();
    let out = Command::new(binary)
        .current_dir(dir.path())
        .args(["--format", format, "validate"])
        .env(
            "GIT_POLICY_DEBUG_PANIC",
            "boom ##[set-output name=passed;]true",
        )
        .env("GITHUB_OUTPUT", &github_output)
        .env("GITHUB_ACTIONS", "true")
        .env("NO_COLOR", "1")
        .env_remove("RUST_BACKTRACE")
        .output()
        .unwrap();
    (out, std::fs::read_to_string(&github_output).unwrap())
}

fn assert_reported(binary: &Path) {
    let (out, outputs) = panicking(binary, "github");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stdout}{stderr}");
    assert!(
        stdout
            .starts_with("::error title=git-policy::git-policy stopped on an internal error: boom"),
        "{stdout}"
    );
    assert!(stderr.contains("internal error"), "{stderr}");
    assert!(stderr.contains("boom"), "{stderr}");
    assert!(outputs.contains("passed=false"), "{outputs}");
    assert!(!outputs.contains("passed=true"), "{outputs}");
    // The message is inert like every other.
    assert!(
        !format!("{stdout}{stderr}").contains("##["),
        "{stdout}{stderr}"
    );
    // JSON: one failure document on stdout.
    let (out, _) = panicking(binary, "json");
    assert_eq!(out.status.code(), Some(2));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stdout)));
    assert!(
        doc["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("git-policy stopped on an internal error: boom"),
        "{doc}"
    );
    assert_eq!(doc["passed"], serde_json::Value::Null);
}

#[test]
fn a_panic_is_could_not_judge_in_the_test_build() {
    assert_reported(Path::new(env!("CARGO_BIN_EXE_git-policy")));
}

/// The release profile aborts on panic; `release-test` keeps that. Built
/// here once (a target folder of its own: the running `cargo test` holds
/// the lock of the usual one).
#[test]
fn a_panic_is_could_not_judge_in_the_release_profile() {
    let manifest = common::root().join("Cargo.toml");
    let text = std::fs::read_to_string(&manifest).unwrap();
    let profile = |name: &str| -> String {
        text.split(&format!("[profile.{name}]\n"))
            .nth(1)
            .unwrap_or_else(|| panic!("no [profile.{name}]"))
            .split("\n[")
            .next()
            .unwrap()
            .to_owned()
    };
    assert!(
        profile("release").contains("panic = \"abort\""),
        "this test is about the abort strategy"
    );
    let test_profile = profile("release-test");
    assert!(
        test_profile.contains("inherits = \"release\""),
        "{test_profile}"
    );
    assert!(!test_profile.contains("panic"), "{test_profile}");
    let target: PathBuf = Path::new(env!("CARGO_TARGET_TMPDIR")).join("release-test");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| String::from("cargo"));
    let built = Command::new(cargo)
        .current_dir(common::root())
        .args([
            "build",
            "--profile",
            "release-test",
            "--bin",
            "git-policy",
            "--locked",
            "--offline",
            "--quiet",
        ])
        .env("CARGO_TARGET_DIR", &target)
        .status()
        .unwrap();
    assert!(built.success());
    assert_reported(&target.join("release-test/git-policy"));
}
