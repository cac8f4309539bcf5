//! Third-party notices: every release archive and wheel carries the notices of
//! what its binary statically links (`.github/scripts/notices.py` writes them,
//! `.github/scripts/package.py` packs them), and native code nobody read the
//! licence of stops the release instead of shipping without its notice.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn python(script: &str, args: &[&Path]) -> Output {
    Command::new("python3")
        .arg("-c")
        .arg(script)
        .args(args)
        .current_dir(root())
        .output()
        .unwrap()
}

/// A wheel as maturin writes it for `bindings = "bin"`: the binary as a
/// script, METADATA with a description after the headers, RECORD.
fn wheel(dir: &Path) -> PathBuf {
    let wheel = dir.join("git_policy-1.0.0-py3-none-macosx_11_0_arm64.whl");
    let made = python(
        r#"
import sys, zipfile, hashlib, base64
files = {
    'git_policy-1.0.0.data/scripts/git-policy': b'\xcf\xfa\xed\xfe binary',
    'git_policy-1.0.0.dist-info/WHEEL': b'Wheel-Version: 1.0\n',
    'git_policy-1.0.0.dist-info/METADATA': b'Metadata-Version: 2.4\nName: git-policy\nVersion: 1.0.0\n\n# git-policy\n\nThe README.\n',
}
def line(name, data):
    d = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b'=').decode()
    return f'{name},sha256={d},{len(data)}\n'
record = ''.join(line(n, d) for n, d in files.items()) + 'git_policy-1.0.0.dist-info/RECORD,,\n'
with zipfile.ZipFile(sys.argv[1], 'w') as z:
    for n, d in files.items():
        info = zipfile.ZipInfo(n)
        info.external_attr = (0o755 if 'scripts' in n else 0o644) << 16
        z.writestr(info, d)
    z.writestr('git_policy-1.0.0.dist-info/RECORD', record)
"#,
        &[&wheel],
    );
    assert!(made.status.success(), "{made:?}");
    wheel
}

fn package(wheel: &Path, target: &str, notices: &Path, out: &Path) -> Output {
    Command::new("python3")
        .arg(root().join(".github/scripts/package.py"))
        .arg(wheel)
        .args(["1.0.0", target])
        .arg(notices)
        .arg(out)
        .output()
        .unwrap()
}

const NOTICES_TEXT: &str = "Third-party notices for git-policy (aarch64-apple-darwin)\n\n\
    jemalloc: Copyright (C) 2002-present Jason Evans\n";

/// The archives held the binary only, the wheel no notices at all.
#[test]
fn the_archive_and_the_wheel_carry_the_notices() {
    let dir = tempfile::tempdir().unwrap();
    let wheel = wheel(dir.path());
    let notices = dir.path().join("THIRD-PARTY-NOTICES.txt");
    std::fs::write(&notices, NOTICES_TEXT).unwrap();
    let out = package(
        &wheel,
        "aarch64-apple-darwin",
        &notices,
        &dir.path().join("assets"),
    );
    assert!(out.status.success(), "{out:?}");
    // The archive: the binary and the notices, at its root.
    let archive = dir
        .path()
        .join("assets/git-policy-v1.0.0-aarch64-apple-darwin.tar.gz");
    let listed = python(
        r#"
import sys, tarfile
with tarfile.open(sys.argv[1]) as t:
    for m in t.getmembers():
        print(m.name, oct(m.mode))
    sys.stdout.write(t.extractfile('THIRD-PARTY-NOTICES.txt').read().decode())
"#,
        &[&archive],
    );
    assert!(listed.status.success(), "{listed:?}");
    assert_eq!(
        String::from_utf8_lossy(&listed.stdout),
        format!("git-policy 0o755\nTHIRD-PARTY-NOTICES.txt 0o644\n{NOTICES_TEXT}")
    );
    // The wheel: a licence file (PEP 639) in METADATA and RECORD, every RECORD
    // line true, the binary untouched.
    let checked = python(
        r#"
import sys, zipfile, hashlib, base64
z = zipfile.ZipFile(sys.argv[1])
names = set(z.namelist())
lic = 'git_policy-1.0.0.dist-info/licenses/THIRD-PARTY-NOTICES.txt'
assert lic in names, names
sys.stdout.write(z.read(lic).decode())
meta = z.read('git_policy-1.0.0.dist-info/METADATA').decode()
head, body = meta.split('\n\n', 1)
assert 'License-File: THIRD-PARTY-NOTICES.txt' in head.split('\n'), meta
assert body == '# git-policy\n\nThe README.\n', body
record = z.read('git_policy-1.0.0.dist-info/RECORD').decode().splitlines()
listed = set()
for line in record:
    name, digest, size = line.rsplit(',', 2)
    listed.add(name)
    if name.endswith('RECORD'):
        assert digest == '' and size == '', line
        continue
    data = z.read(name)
    want = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b'=').decode()
    assert digest == 'sha256=' + want and int(size) == len(data), line
assert listed == names, (listed ^ names)
binary = z.getinfo('git_policy-1.0.0.data/scripts/git-policy')
assert z.read(binary) == b'\xcf\xfa\xed\xfe binary'
assert binary.external_attr >> 16 == 0o755
"#,
        &[&wheel],
    );
    assert!(
        checked.status.success(),
        "{}",
        String::from_utf8_lossy(&checked.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&checked.stdout), NOTICES_TEXT);
}

/// The Windows archive (a zip) carries them too.
#[test]
fn the_windows_zip_carries_the_notices() {
    let dir = tempfile::tempdir().unwrap();
    let wheel = dir.path().join("git_policy-1.0.0-py3-none-win_amd64.whl");
    let made = python(
        r#"
import sys, zipfile
with zipfile.ZipFile(sys.argv[1], 'w') as z:
    z.writestr('git_policy-1.0.0.data/scripts/git-policy.exe', b'MZ')
    z.writestr('git_policy-1.0.0.dist-info/METADATA', 'Metadata-Version: 2.4\nName: git-policy\n')
    z.writestr('git_policy-1.0.0.dist-info/RECORD', '')
"#,
        &[&wheel],
    );
    assert!(made.status.success());
    let notices = dir.path().join("notices.txt");
    std::fs::write(
        &notices,
        "Third-party notices for git-policy (x86_64-pc-windows-msvc)\n",
    )
    .unwrap();
    let out = package(
        &wheel,
        "x86_64-pc-windows-msvc",
        &notices,
        &dir.path().join("assets"),
    );
    assert!(out.status.success(), "{out:?}");
    let archive = dir
        .path()
        .join("assets/git-policy-v1.0.0-x86_64-pc-windows-msvc.zip");
    let listed = python(
        "import sys, zipfile\nprint(sorted(zipfile.ZipFile(sys.argv[1]).namelist()))",
        &[&archive],
    );
    assert_eq!(
        String::from_utf8_lossy(&listed.stdout).trim(),
        "['THIRD-PARTY-NOTICES.txt', 'git-policy.exe']"
    );
}

/// No notices, or another target's: nothing is packed.
#[test]
fn missing_or_foreign_notices_are_refused() {
    for (what, text, said) in [
        ("missing", None, "cannot read the third-party notices"),
        (
            "another target's",
            Some("Third-party notices for git-policy (x86_64-unknown-linux-musl)\n"),
            "holds no third-party notices for aarch64-apple-darwin",
        ),
        (
            "not notices",
            Some("hello\n"),
            "holds no third-party notices",
        ),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let wheel = wheel(dir.path());
        let notices = dir.path().join("THIRD-PARTY-NOTICES.txt");
        if let Some(text) = text {
            std::fs::write(&notices, text).unwrap();
        }
        let before = std::fs::read(&wheel).unwrap();
        let out = package(
            &wheel,
            "aarch64-apple-darwin",
            &notices,
            &dir.path().join("assets"),
        );
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{what}: packed");
        assert!(stderr.contains(said), "{what}: {stderr}");
        assert!(
            !dir.path().join("assets").exists(),
            "{what}: archive written"
        );
        assert_eq!(
            std::fs::read(&wheel).unwrap(),
            before,
            "{what}: wheel changed"
        );
    }
}

/// Runs one function of notices.py on fake packages.
fn bundled_notices(packages_json: &str) -> Output {
    python(
        r#"
import json, sys
sys.path.insert(0, '.github/scripts')
import notices
for heading, text in notices.bundled_notices(json.loads(sys.argv[1])):
    print(heading)
"#,
        &[Path::new(packages_json)],
    )
}

/// A crate that compiles native code (`links`) nobody has read the licences
/// of stops the notices: its notice would be missing from the release.
#[test]
fn native_code_without_a_reviewed_notice_stops_the_notices() {
    let dir = tempfile::tempdir().unwrap();
    let manifest = dir.path().join("Cargo.toml");
    let packages = format!(
        r#"[{{"name": "openssl-sys", "version": "0.9.0", "links": "openssl", "manifest_path": {manifest:?}}}]"#
    );
    let out = bundled_notices(&packages);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("openssl-sys 0.9.0 links native code (openssl)"),
        "{stderr}"
    );
    // A listed crate whose licence file changed (a new version bundling
    // something else) stops it too, until the new text is read.
    std::fs::create_dir_all(dir.path().join("jemalloc")).unwrap();
    std::fs::write(dir.path().join("jemalloc/COPYING"), "changed\n").unwrap();
    let packages = format!(
        r#"[{{"name": "tikv-jemalloc-sys", "version": "9.9.9", "links": "jemalloc", "manifest_path": {manifest:?}}}]"#
    );
    let out = bundled_notices(&packages);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("is not the text whose notice was reviewed"),
        "{stderr}"
    );
    // Missing: the same.
    std::fs::remove_file(dir.path().join("jemalloc/COPYING")).unwrap();
    let out = bundled_notices(&packages);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot read its licence file"));
}

/// The real notices of a musl build (the one that links the most: jemalloc
/// and musl too), from this repository's Cargo.lock and cargo-about from
/// `.ci/setup`: the bundled C code, the toolchain's libraries and the crates
/// are all there.
#[test]
fn the_generated_notices_cover_every_statically_linked_part() {
    let tools = root().join(".ci/cargo/bin");
    assert!(
        tools.join("cargo-about").exists(),
        "cargo-about is not installed in .ci/cargo: run the tests with `bash .ci/test`"
    );
    let path = std::env::join_paths(
        std::iter::once(tools).chain(std::env::split_paths(&std::env::var_os("PATH").unwrap())),
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let target = "x86_64-unknown-linux-musl";
    let file = dir.path().join("THIRD-PARTY-NOTICES.txt");
    let out = notices_py(&path).arg(target).arg(&file).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(text.starts_with(&format!("Third-party notices for git-policy ({target})\n")));
    for (part, marker) in [
        // libgit2 and the code it bundles.
        (
            "libgit2",
            "libgit2 is Copyright (C) the libgit2 contributors",
        ),
        (
            "llhttp",
            "The bundled llhttp dependency is licensed under the MIT license",
        ),
        ("PCRE2", "The bundled PCRE implementation (deps/pcre2/)"),
        ("SHA-1 DC", "The bundled SHA1 collision detection code"),
        ("zlib", "Jean-loup Gailly"),
        ("jemalloc", "Jason Evans"),
        // The toolchain.
        ("Rust std", "The Rust Standard Library is dual-licensed"),
        (
            "musl",
            "musl as a whole is licensed under the following standard MIT license",
        ),
        // Crates, through cargo-about.
        ("serde", "  serde 1."),
        ("ring", "  ring 0.17.14"),
        ("tikv-jemallocator", "  tikv-jemallocator 0.6"),
    ] {
        assert!(text.contains(marker), "{part} ({marker:?}) missing");
    }
}

/// Every release target's notices can be written (`--check`: without
/// cargo-about), and hold what that target links: jemalloc and musl only in
/// the musl builds.
#[test]
fn every_release_target_has_its_bundled_and_toolchain_notices() {
    let path = std::env::var_os("PATH").unwrap();
    for target in [
        "x86_64-unknown-linux-musl",
        "aarch64-unknown-linux-musl",
        "x86_64-apple-darwin",
        "aarch64-apple-darwin",
        "x86_64-pc-windows-msvc",
    ] {
        let out = notices_py(&path)
            .arg("--check")
            .arg(target)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{target}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let parts = String::from_utf8_lossy(&out.stdout);
        let musl = target.ends_with("-musl");
        for (part, present) in [
            ("libgit2-sys", true),
            ("libz-sys", true),
            ("The Rust standard library", true),
            ("tikv-jemalloc-sys", musl),
            ("musl libc", musl),
        ] {
            assert_eq!(parts.contains(part), present, "{target}: {part}:\n{parts}");
        }
    }
}

/// notices.py, run as CI and the release run it.
fn notices_py(path: &std::ffi::OsStr) -> Command {
    let mut cmd = Command::new("python3");
    cmd.arg(root().join(".github/scripts/notices.py"))
        .current_dir(root())
        .env("PATH", path)
        .env("CARGO_NET_OFFLINE", "true");
    // What cargo sets for this test process is not a build's environment.
    for (key, _) in std::env::vars_os() {
        let key = key.to_string_lossy().into_owned();
        if (key.starts_with("CARGO_") && key != "CARGO_HOME" && key != "CARGO_NET_OFFLINE")
            || key == "OUT_DIR"
        {
            cmd.env_remove(key);
        }
    }
    cmd
}

/// `cargo deny check licenses bans sources` passes on this Cargo.lock, offline,
/// with deny.toml (there was no deny.toml: every licence was refused).
#[test]
fn cargo_deny_accepts_the_licences_bans_and_sources() {
    let tools = root().join(".ci/cargo/bin");
    assert!(
        tools.join("cargo-deny").exists(),
        "cargo-deny is not installed in .ci/cargo: run the tests with `bash .ci/test`"
    );
    let mut cmd = Command::new(tools.join("cargo-deny"));
    cmd.args([
        "deny",
        "--locked",
        "--offline",
        "check",
        "--show-stats",
        "licenses",
        "bans",
        "sources",
    ])
    .current_dir(root());
    for (key, _) in std::env::vars_os() {
        let key = key.to_string_lossy().into_owned();
        if (key.starts_with("CARGO_") && key != "CARGO_HOME") || key == "OUT_DIR" {
            cmd.env_remove(key);
        }
    }
    let out = cmd.output().unwrap();
    let said =
        String::from_utf8_lossy(&out.stderr).into_owned() + &String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{:?}: {said}", out.status);
    for check in ["bans ok", "licenses ok", "sources ok"] {
        assert!(said.contains(check), "{said}");
    }
}

/// The release installs the cargo-about that CI tests with, and gives each
/// build its target's notices.
#[test]
fn the_release_ships_the_notices_ci_checks() {
    let setup = std::fs::read_to_string(root().join(".ci/setup")).unwrap();
    let release = std::fs::read_to_string(root().join(".github/workflows/release.yml")).unwrap();
    let pinned = regex::Regex::new(r"cargo-about@[0-9.]+").unwrap();
    let in_setup: Vec<&str> = pinned.find_iter(&setup).map(|m| m.as_str()).collect();
    let in_release: Vec<&str> = pinned.find_iter(&release).map(|m| m.as_str()).collect();
    assert_eq!(in_setup.len(), 1, "{in_setup:?}");
    assert!(
        !in_release.is_empty() && in_release.iter().all(|v| *v == in_setup[0]),
        "release.yml installs {in_release:?}, .ci/setup {in_setup:?}"
    );
    assert!(release.contains("python3 .github/scripts/notices.py \"$target\""));
    assert!(release.contains("\"notices/$TARGET/THIRD-PARTY-NOTICES.txt\" assets"));
    assert!(release.contains("needs: [plan, notices]"));
}
