#![allow(
    dead_code,
    unreachable_pub,
    reason = "each test binary uses some of the helpers, from its own crate"
)]
//! Helpers shared by the integration tests: the binary, temp repositories.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::Command;

use assert_cmd::cargo::CommandCargoExt;

pub mod github;

/// A recognisable fake token for tests that talk to a mocked GitHub
/// (`cmd.env("GITHUB_TOKEN", FAKE_TOKEN)`): like any token a test gives a
/// run, it must never appear in that run's output (see [`Cmd::output`]).
pub const FAKE_TOKEN: &str = "ghp_C0mm0nTestT0kenThatMustNeverBePrinted";

/// The binary, with an environment that cannot leak the developer's setup
/// (no token unless the test gives one).
pub fn git_policy(dir: &Path) -> Cmd {
    let mut cmd = Cmd {
        inner: assert_cmd::Command::from_std(
            Command::cargo_bin("git-policy").expect("binary built"),
        ),
        secrets: vec![FAKE_TOKEN.to_owned()],
    };
    cmd.current_dir(dir)
        .env_remove("GITHUB_ACTIONS")
        .env_remove("GITHUB_EVENT_PATH")
        .env_remove("GITHUB_OUTPUT")
        .env_remove("GITHUB_STEP_SUMMARY")
        .env_remove("GITHUB_TOKEN")
        .env_remove("GH_TOKEN")
        // A test run from a pre-commit hook must not look like one to `check push`.
        .env_remove("PRE_COMMIT")
        .env_remove("PRE_COMMIT_FROM_REF")
        .env_remove("PRE_COMMIT_TO_REF")
        .env_remove("PRE_COMMIT_LOCAL_BRANCH")
        .env_remove("PRE_COMMIT_REMOTE_BRANCH")
        .env_remove("PRE_COMMIT_REMOTE_NAME")
        .env_remove("GIT_POLICY_NO_BUILTIN")
        .env_remove("GIT_AUTHOR_NAME")
        .env_remove("GIT_AUTHOR_EMAIL")
        .env("NO_COLOR", "1")
        .env("COLUMNS", "100");
    cmd
}

/// A run of the binary whose output is checked, whatever the test asserts:
/// no secret it was given (a token, the userinfo of `GITHUB_API_URL`)
/// appears, and the Actions runner would find no workflow command in it
/// but git-policy's own annotations on stdout.
pub struct Cmd {
    inner: assert_cmd::Command,
    secrets: Vec<String>,
}

/// Methods not wrapped here reach `assert_cmd::Command` (they are not
/// checked: prefer adding a wrapper).
impl std::ops::Deref for Cmd {
    type Target = assert_cmd::Command;
    fn deref(&self) -> &assert_cmd::Command {
        &self.inner
    }
}

impl std::ops::DerefMut for Cmd {
    fn deref_mut(&mut self) -> &mut assert_cmd::Command {
        &mut self.inner
    }
}

impl Cmd {
    pub fn envs<I, K, V>(&mut self, vars: I) -> &mut Self
    where
        I: IntoIterator<Item = (K, V)>,
        K: AsRef<OsStr>,
        V: AsRef<OsStr>,
    {
        for (key, value) in vars {
            self.env(key, value);
        }
        self
    }

    pub fn timeout(&mut self, timeout: std::time::Duration) -> &mut Self {
        self.inner.timeout(timeout);
        self
    }

    pub fn arg(&mut self, arg: impl AsRef<OsStr>) -> &mut Self {
        self.inner.arg(arg);
        self
    }

    pub fn args<I, S>(&mut self, args: I) -> &mut Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.inner.args(args);
        self
    }

    pub fn env(&mut self, key: impl AsRef<OsStr>, value: impl AsRef<OsStr>) -> &mut Self {
        let (key, value) = (key.as_ref(), value.as_ref());
        let text = value.to_string_lossy();
        match key.to_str() {
            Some("GITHUB_TOKEN" | "GH_TOKEN" | "INPUT_TOKEN") if text.len() >= 8 => {
                self.secrets.push(text.into_owned());
            }
            Some("GITHUB_API_URL") => {
                if let Some((_, rest)) = text.split_once("://")
                    && let Some((userinfo, _)) =
                        rest.split('/').next().unwrap_or("").rsplit_once('@')
                {
                    self.secrets.extend(
                        userinfo
                            .split(':')
                            .filter(|s| s.len() >= 8)
                            .map(str::to_owned),
                    );
                }
            }
            _ => {}
        }
        self.inner.env(key, value);
        self
    }

    pub fn env_remove(&mut self, key: impl AsRef<OsStr>) -> &mut Self {
        self.inner.env_remove(key);
        self
    }

    pub fn current_dir(&mut self, dir: impl AsRef<Path>) -> &mut Self {
        self.inner.current_dir(dir);
        self
    }

    pub fn write_stdin(&mut self, input: impl Into<Vec<u8>>) -> &mut Self {
        self.inner.write_stdin(input);
        self
    }

    /// Runs it; panics when the output leaks a secret or holds a foreign
    /// workflow command.
    pub fn output(&mut self) -> std::io::Result<std::process::Output> {
        let output = self.inner.output()?;
        assert_inert(&output, &self.secrets);
        Ok(output)
    }

    pub fn assert(&mut self) -> assert_cmd::assert::Assert {
        use assert_cmd::assert::OutputAssertExt;
        self.output().expect("the binary runs").assert()
    }
}

/// The checks every run passes (see [`Cmd`]).
pub fn assert_inert(output: &std::process::Output, secrets: &[String]) {
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    for secret in secrets {
        assert!(
            !stdout.contains(secret.as_str()) && !stderr.contains(secret.as_str()),
            "a secret leaked:\n{stdout}\n{stderr}"
        );
    }
    let foreign: Vec<String> = runner_commands(&stdout)
        .into_iter()
        .filter(|c| !is_own_annotation(c))
        .chain(runner_commands(&stderr))
        .collect();
    assert!(
        foreign.is_empty(),
        "the runner would read these as workflow commands: {foreign:#?}\nstdout:\n{stdout}\nstderr:\n{stderr}"
    );
}

/// The lines the Actions runner reads as workflow commands: it ends a
/// line at `\n` or `\r`, trims whitespace, and takes `::name…` at the
/// start or the legacy `##[name…]` anywhere.
pub fn runner_commands(text: &str) -> Vec<String> {
    text.split(['\n', '\r'])
        .filter(|line| line.trim().starts_with("::") || line.contains("##["))
        .map(str::to_owned)
        .collect()
}

/// `::error title=git-policy…::`, `::warning …`, `::notice …`: the only
/// commands git-policy writes (`--format github`, on stdout).
pub fn is_own_annotation(line: &str) -> bool {
    ["::error ", "::warning ", "::notice "].iter().any(|start| {
        line.strip_prefix(start)
            .is_some_and(|rest| rest.starts_with("title=git-policy"))
    })
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

    pub fn cmd(&self) -> Cmd {
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
