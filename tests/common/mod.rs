#![allow(dead_code)]
//! Helpers shared by the integration tests: the binary, temp repositories.

use std::path::{Path, PathBuf};
use std::process::Command;

use assert_cmd::cargo::CommandCargoExt;

/// The binary, with an environment that cannot leak the developer's setup.
pub fn git_policy(dir: &Path) -> assert_cmd::Command {
    let mut cmd =
        assert_cmd::Command::from_std(Command::cargo_bin("git-policy").expect("binary built"));
    cmd.current_dir(dir)
        .env_remove("GITHUB_ACTIONS")
        .env_remove("GITHUB_EVENT_PATH")
        .env_remove("GITHUB_TOKEN")
        .env_remove("GIT_POLICY_NO_BUILTIN")
        .env_remove("GIT_AUTHOR_NAME")
        .env_remove("GIT_AUTHOR_EMAIL")
        .env("NO_COLOR", "1")
        .env("COLUMNS", "100");
    cmd
}

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A throwaway git repository made with the git CLI.
pub struct Repo {
    pub dir: tempfile::TempDir,
}

impl Repo {
    pub fn new(branch: &str) -> Repo {
        let dir = tempfile::tempdir().expect("temp dir");
        let repo = Repo { dir };
        repo.git(&["init", "-q", "-b", branch]);
        repo.git(&["config", "user.name", "Ada Lovelace"]);
        repo.git(&["config", "user.email", "ada@example.com"]);
        repo.git(&["config", "commit.gpgsign", "false"]);
        repo
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Runs git; panics with its output when it fails.
    pub fn git(&self, args: &[&str]) -> String {
        let out = Command::new("git")
            .args(args)
            .current_dir(self.path())
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("HOME", self.path())
            .output()
            .expect("git runs");
        assert!(
            out.status.success(),
            "git {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    }

    /// An empty commit with this message; returns its sha.
    pub fn commit(&self, message: &str) -> String {
        self.git(&[
            "commit",
            "-q",
            "--allow-empty",
            "--no-verify",
            "-m",
            message,
        ]);
        self.git(&["rev-parse", "HEAD"])
    }

    pub fn write(&self, path: &str, text: &str) {
        let full = self.path().join(path);
        std::fs::create_dir_all(full.parent().unwrap()).unwrap();
        std::fs::write(full, text).unwrap();
    }

    pub fn cmd(&self) -> assert_cmd::Command {
        git_policy(self.path())
    }
}

/// A small policy for CLI tests.
pub const POLICY: &str = r#"version: 1
tickets:
  jira: { pattern: '\b(EPL|SCP)-[0-9]+\b', example: EPL-123 }
rules:
  - id: commit-ticket
    description: Every commit names its ticket (P1).
    on: [commit]
    require:
      ticket: { in: [message] }
  - id: branch-name
    on: [branch]
    require:
      branch: { pattern: '^(feature|bugfix)/', forbid: '^main$' }
"#;
