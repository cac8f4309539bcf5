//! action/install.sh, the Action's install step, run outside GitHub: a local
//! HTTP server stands in for the release host, and the archive holds the real
//! binary of this build. A good archive installs and runs; a flipped byte, a
//! wrong version, a 404, a truncated download, a failed provenance check each
//! stop the step with nothing put on PATH.

mod common;

use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Instant;

use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const VERSION: &str = env!("CARGO_PKG_VERSION");
const TARGET: &str = "x86_64-unknown-linux-musl";

/// A copy of the action (install.sh, a checksums file, Cargo.toml for its own
/// version) and a runner's temp dir, GITHUB_PATH and GITHUB_OUTPUT.
struct Runner {
    dir: tempfile::TempDir,
}

impl Runner {
    fn new(checksums: &str) -> Runner {
        let dir = tempfile::tempdir().unwrap();
        let action = dir.path().join("action-copy");
        std::fs::create_dir_all(action.join("action")).unwrap();
        std::fs::copy(
            common::root().join("action/install.sh"),
            action.join("action/install.sh"),
        )
        .unwrap();
        std::fs::write(action.join("action/checksums.txt"), checksums).unwrap();
        std::fs::copy(common::root().join("Cargo.toml"), action.join("Cargo.toml")).unwrap();
        std::fs::create_dir_all(dir.path().join("temp")).unwrap();
        std::fs::write(dir.path().join("github_path"), "").unwrap();
        std::fs::write(dir.path().join("github_output"), "").unwrap();
        Runner { dir }
    }

    fn install(&self, mode: &str, env: &[(&str, &str)]) -> Output {
        let mut cmd = Command::new("bash");
        cmd.arg(self.dir.path().join("action-copy/action/install.sh"))
            .arg(mode)
            .env("RUNNER_OS", "Linux")
            .env("RUNNER_ARCH", "X64")
            .env("RUNNER_TEMP", self.dir.path().join("temp"))
            .env("GITHUB_PATH", self.dir.path().join("github_path"))
            .env("GITHUB_OUTPUT", self.dir.path().join("github_output"))
            .env("GIT_POLICY_ACTION_REPOSITORY", "octo/git-policy")
            .env_remove("GIT_POLICY_VERSION")
            .env_remove("GIT_POLICY_DOWNLOAD_BASE")
            .env_remove("GIT_POLICY_VERIFY_ATTESTATION");
        for (k, v) in env {
            cmd.env(k, v);
        }
        cmd.output().unwrap()
    }

    fn github_path(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("github_path")).unwrap()
    }

    fn github_output(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("github_output")).unwrap()
    }

    /// Fails closed: non-zero, an `::error` annotation saying `why`, nothing on PATH.
    fn assert_refused(&self, out: &Output, why: &str) {
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "must fail: {stderr}");
        assert!(
            stderr.contains("::error title=git-policy install::") && stderr.contains(why),
            "expected `{why}`: {stderr}"
        );
        assert_eq!(self.github_path(), "", "nothing may be put on PATH");
        assert!(
            !self.dir.path().join("temp/git-policy/bin").exists(),
            "nothing may be installed"
        );
    }
}

/// `git-policy-v<version>-<target>.tar.gz` with this build's binary at its
/// root (made once: the debug binary is large).
fn archive(binary: &Path) -> Vec<u8> {
    static ARCHIVE: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();
    ARCHIVE.get_or_init(|| make_archive(binary)).clone()
}

fn make_archive(binary: &Path) -> Vec<u8> {
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("git-policy");
    // Without debug info, as released (`strip = true`): a quicker archive.
    let stripped = Command::new("strip")
        .arg("-o")
        .arg(&copy)
        .arg(binary)
        .status()
        .is_ok_and(|s| s.success());
    if !stripped {
        std::fs::copy(binary, &copy).unwrap();
    }
    let out = dir.path().join("a.tar.gz");
    let status = Command::new("tar")
        .args(["-I", "gzip -1", "-cf"])
        .arg(&out)
        .arg("-C")
        .arg(dir.path())
        .arg("git-policy")
        .status()
        .unwrap();
    assert!(status.success());
    std::fs::read(out).unwrap()
}

fn binary() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_git-policy"))
}

fn sha256(bytes: &[u8]) -> String {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("f"), bytes).unwrap();
    let out = Command::new("sha256sum")
        .arg(dir.path().join("f"))
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout)[..64].to_string()
}

fn asset_path(version: &str) -> String {
    format!("/v{version}/git-policy-v{version}-{TARGET}.tar.gz")
}

async fn serve(route: &str, status: u16, body: Vec<u8>) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(route))
        .respond_with(ResponseTemplate::new(status).set_body_bytes(body))
        .mount(&server)
        .await;
    server
}

#[tokio::test(flavor = "multi_thread")]
async fn a_pinned_release_installs_verified_and_runs() {
    let bytes = archive(&binary());
    let runner = Runner::new(&format!("{VERSION} {TARGET} {}\n", sha256(&bytes)));
    let server = serve(&asset_path(VERSION), 200, bytes).await;
    let started = Instant::now();
    let out = runner.install(
        "download",
        &[
            ("GIT_POLICY_VERSION", VERSION),
            ("GIT_POLICY_DOWNLOAD_BASE", &server.uri()),
        ],
    );
    let took = started.elapsed();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    eprintln!("install step (download path): {took:?}");
    let bin_dir = runner.github_path();
    let bin_dir = bin_dir.trim_end();
    assert_eq!(
        Path::new(bin_dir),
        runner.dir.path().join("temp/git-policy/bin")
    );
    let said = Command::new(Path::new(bin_dir).join("git-policy"))
        .arg("--version")
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&said.stdout).starts_with(&format!("git-policy {VERSION} (")),
        "{said:?}"
    );
    assert!(runner.github_output().contains("source=false"));
}

#[tokio::test(flavor = "multi_thread")]
async fn the_version_defaults_to_the_actions_own_and_a_v_prefix_is_accepted() {
    let bytes = archive(&binary());
    let runner = Runner::new(&format!("{VERSION} {TARGET} {}\n", sha256(&bytes)));
    let server = serve(&asset_path(VERSION), 200, bytes).await;
    let base = server.uri();
    let out = runner.install("download", &[("GIT_POLICY_DOWNLOAD_BASE", &base)]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let runner = Runner::new(
        &std::fs::read_to_string(runner.dir.path().join("action-copy/action/checksums.txt"))
            .unwrap(),
    );
    let v = format!("v{VERSION}");
    let out = runner.install(
        "download",
        &[
            ("GIT_POLICY_VERSION", &v),
            ("GIT_POLICY_DOWNLOAD_BASE", &base),
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!runner.github_path().is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn one_flipped_byte_fails_closed() {
    let bytes = archive(&binary());
    let runner = Runner::new(&format!("{VERSION} {TARGET} {}\n", sha256(&bytes)));
    let mut flipped = bytes.clone();
    let middle = flipped.len() / 2;
    flipped[middle] ^= 0x01;
    let server = serve(&asset_path(VERSION), 200, flipped).await;
    let out = runner.install(
        "download",
        &[
            ("GIT_POLICY_VERSION", VERSION),
            ("GIT_POLICY_DOWNLOAD_BASE", &server.uri()),
        ],
    );
    runner.assert_refused(&out, "SHA-256 mismatch");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_version_without_a_pinned_checksum_fails_without_downloading() {
    let bytes = archive(&binary());
    let runner = Runner::new(&format!("{VERSION} {TARGET} {}\n", sha256(&bytes)));
    let server = serve(&asset_path("9.9.9"), 200, bytes).await;
    let out = runner.install(
        "download",
        &[
            ("GIT_POLICY_VERSION", "9.9.9"),
            ("GIT_POLICY_DOWNLOAD_BASE", &server.uri()),
        ],
    );
    runner.assert_refused(&out, "git-policy 9.9.9 has no pinned SHA-256");
    assert!(server.received_requests().await.unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn an_archive_of_another_version_fails_closed() {
    // The pinned checksum matches, but the binary inside says another version.
    let bytes = archive(&binary());
    let runner = Runner::new(&format!("9.9.9 {TARGET} {}\n", sha256(&bytes)));
    let server = serve(&asset_path("9.9.9"), 200, bytes).await;
    let out = runner.install(
        "download",
        &[
            ("GIT_POLICY_VERSION", "9.9.9"),
            ("GIT_POLICY_DOWNLOAD_BASE", &server.uri()),
        ],
    );
    runner.assert_refused(&out, "not git-policy 9.9.9");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_404_fails_closed() {
    let bytes = archive(&binary());
    let runner = Runner::new(&format!("{VERSION} {TARGET} {}\n", sha256(&bytes)));
    let server = serve(&asset_path(VERSION), 404, b"Not Found".to_vec()).await;
    let out = runner.install(
        "download",
        &[
            ("GIT_POLICY_VERSION", VERSION),
            ("GIT_POLICY_DOWNLOAD_BASE", &server.uri()),
        ],
    );
    runner.assert_refused(&out, "could not download");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_short_body_fails_closed() {
    // A complete response of half the archive: the checksum catches it.
    let bytes = archive(&binary());
    let runner = Runner::new(&format!("{VERSION} {TARGET} {}\n", sha256(&bytes)));
    let server = serve(&asset_path(VERSION), 200, bytes[..bytes.len() / 2].to_vec()).await;
    let out = runner.install(
        "download",
        &[
            ("GIT_POLICY_VERSION", VERSION),
            ("GIT_POLICY_DOWNLOAD_BASE", &server.uri()),
        ],
    );
    runner.assert_refused(&out, "SHA-256 mismatch");
}

#[test]
fn a_connection_cut_mid_download_fails_closed() {
    // The server announces the whole archive and closes after half of it.
    let bytes = archive(&binary());
    let runner = Runner::new(&format!("{VERSION} {TARGET} {}\n", sha256(&bytes)));
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let server = std::thread::spawn(move || {
        // curl retries; answer every attempt the same way.
        listener.set_nonblocking(false).unwrap();
        for stream in listener.incoming().take(4) {
            let mut stream = stream.unwrap();
            let mut request = [0u8; 4096];
            let _ = stream.read(&mut request);
            let head = format!(
                "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nContent-Type: application/gzip\r\nConnection: close\r\n\r\n",
                bytes.len()
            );
            let _ = stream.write_all(head.as_bytes());
            let _ = stream.write_all(&bytes[..bytes.len() / 2]);
        }
    });
    let out = runner.install(
        "download",
        &[
            ("GIT_POLICY_VERSION", VERSION),
            ("GIT_POLICY_DOWNLOAD_BASE", &base),
        ],
    );
    runner.assert_refused(&out, "could not download");
    drop(server);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failed_provenance_check_fails_closed_and_a_good_one_installs() {
    let bytes = archive(&binary());
    let checksums = format!("{VERSION} {TARGET} {}\n", sha256(&bytes));
    let server = serve(&asset_path(VERSION), 200, bytes).await;
    let fake_bin = tempfile::tempdir().unwrap();
    let log = fake_bin.path().join("gh.log");
    let gh = fake_bin.path().join("gh");
    let path = format!(
        "{}:{}",
        fake_bin.path().display(),
        std::env::var("PATH").unwrap()
    );
    for (status, installs) in [(1, false), (0, true)] {
        std::fs::write(
            &gh,
            format!(
                "#!/bin/sh\necho \"$@\" >> '{}'\nexit {status}\n",
                log.display()
            ),
        )
        .unwrap();
        Command::new("chmod").arg("+x").arg(&gh).status().unwrap();
        let runner = Runner::new(&checksums);
        let out = runner.install(
            "download",
            &[
                ("GIT_POLICY_VERSION", VERSION),
                ("GIT_POLICY_DOWNLOAD_BASE", &server.uri()),
                ("GIT_POLICY_VERIFY_ATTESTATION", "true"),
                ("PATH", &path),
            ],
        );
        if installs {
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            assert!(!runner.github_path().is_empty());
        } else {
            runner.assert_refused(&out, "build provenance");
        }
    }
    let calls = std::fs::read_to_string(&log).unwrap();
    let asset = format!("git-policy-v{VERSION}-{TARGET}.tar.gz --repo octo/git-policy");
    assert_eq!(calls.matches(&asset).count(), 2, "{calls}");
    assert!(calls.starts_with("attestation verify "), "{calls}");
}

#[test]
fn no_release_for_the_actions_own_version_asks_for_a_build_from_source() {
    let runner = Runner::new("# nothing released\n");
    let out = runner.install(
        "download",
        &[("GIT_POLICY_DOWNLOAD_BASE", "http://127.0.0.1:9")],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let outputs = runner.github_output();
    assert_eq!(
        outputs, "source=true\n",
        "no cache key: builds are not cached"
    );
    assert_eq!(runner.github_path(), "");
}

/// The cache key was public and the entry unverifiable: whoever could write
/// the cache chose the binary. A build left where the cache used to restore
/// it, answering `--version` as a real one does, is never used.
#[test]
fn a_build_planted_where_the_cache_restored_it_is_never_used() {
    let runner = Runner::new("");
    let planted = runner.dir.path().join("temp/git-policy-source/bin");
    std::fs::create_dir_all(&planted).unwrap();
    std::fs::copy(binary(), planted.join("git-policy")).unwrap();
    // No cargo on PATH: nothing can be built, so nothing may be installed.
    let out = runner.install("source", &[("PATH", "/usr/bin:/bin")]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(stderr.contains("needs cargo"), "{stderr}");
    assert_eq!(runner.github_path(), "", "the planted build is not on PATH");
    // And the action restores no cache at all.
    let action = std::fs::read_to_string(common::root().join("action.yml")).unwrap();
    assert!(!action.contains("actions/cache"), "{action}");
}

/// What install.sh prints is inert: a `version` input with a line break
/// and `##[` cannot issue a workflow command.
#[test]
fn inputs_echoed_by_install_are_inert() {
    let runner = Runner::new("");
    let out = runner.install(
        "download",
        &[(
            "GIT_POLICY_VERSION",
            "9.9.9\n::add-mask::x\r::stop-commands::t ##[set-output name=passed;]true",
        )],
    );
    runner.assert_refused(&out, "has no pinned SHA-256");
    let stderr = String::from_utf8_lossy(&out.stderr);
    for line in stderr.split(['\n', '\r']) {
        assert!(
            !line.trim_start().starts_with("::")
                || line.starts_with("::error title=git-policy install::"),
            "{line}"
        );
        assert!(!line.contains("##["), "{line}");
    }
    assert!(
        stderr.contains("9.9.9%0A::add-mask::x%0D::stop-commands"),
        "{stderr}"
    );
}

#[test]
fn an_unsupported_runner_with_a_version_fails_closed() {
    let runner = Runner::new(&format!("{VERSION} {TARGET} {}\n", "0".repeat(64)));
    let out = runner.install(
        "download",
        &[("GIT_POLICY_VERSION", VERSION), ("RUNNER_ARCH", "ARM")],
    );
    runner.assert_refused(&out, "no pinned SHA-256 for this runner");
}
