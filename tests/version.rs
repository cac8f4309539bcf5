//! What a release carries besides the binary's behaviour: `--version` names the
//! commit, the channels agree on the version and the archive names, and the
//! crate's metadata is complete (crates.io, cargo-binstall, the SARIF driver).

mod common;

use std::process::Command;

use serde_json::Value;

const VERSION: &str = env!("CARGO_PKG_VERSION");

fn read(path: &str) -> String {
    std::fs::read_to_string(common::root().join(path)).unwrap()
}

fn cargo_toml() -> Value {
    let text = read("Cargo.toml");
    // serde-saphyr reads YAML, not TOML: take the few keys needed line by line.
    let mut map = serde_json::Map::new();
    let mut section = String::new();
    for line in text.lines() {
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            section = name.to_string();
        } else if let Some((key, value)) = line.split_once(" = ") {
            map.insert(format!("{section}.{key}"), Value::String(value.to_string()));
        }
    }
    Value::Object(map)
}

#[test]
fn version_names_the_version_and_the_commit_it_was_built_from() {
    let out = common::git_policy(&common::root())
        .arg("--version")
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&out.stdout);
    let rest = said
        .strip_prefix(&format!("git-policy {VERSION} ("))
        .unwrap_or_else(|| panic!("{said}"));
    let (commit, date) = rest
        .trim_end()
        .trim_end_matches(')')
        .split_once(' ')
        .unwrap();
    assert_eq!(commit.len(), 12, "{said}");
    assert!(commit.chars().all(|c| c.is_ascii_hexdigit()), "{said}");
    assert!(date.len() == 10 && date.starts_with("20"), "{said}");
    // Built from this work tree: the commit is its HEAD.
    let head = Command::new("git")
        .args(["rev-parse", "HEAD"])
        .current_dir(common::root())
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&head.stdout).starts_with(commit),
        "--version says {commit}, HEAD is {}",
        String::from_utf8_lossy(&head.stdout)
    );
}

#[test]
fn the_crate_has_what_crates_io_and_binstall_need() {
    let toml = cargo_toml();
    for key in [
        "package.repository",
        "package.homepage",
        "package.documentation",
        "package.keywords",
        "package.categories",
        "package.rust-version",
        "package.license",
    ] {
        assert!(toml.get(key).is_some(), "Cargo.toml lacks {key}");
    }
    let pkg_url = toml["package.metadata.binstall.pkg-url"].as_str().unwrap();
    assert_eq!(
        pkg_url,
        r#""{ repo }/releases/download/v{ version }/{ name }-v{ version }-{ target }{ archive-suffix }""#
    );
    // The names the release workflow gives the archives.
    let package = read(".github/scripts/package.py");
    assert!(
        package.contains(r#"f"git-policy-v{version}-{target}""#),
        "package.py"
    );
}

#[test]
fn the_pre_commit_placeholder_pins_this_version_of_the_wheel() {
    let placeholder = read("pyproject.toml");
    assert!(
        placeholder.contains(&format!("dependencies = [\"git-policy=={VERSION}\"]")),
        "pyproject.toml must pin git-policy=={VERSION}"
    );
    assert!(placeholder.contains(&format!("version = \"{VERSION}\"")));
    let wheel = read("python/pyproject.toml");
    assert!(
        wheel.contains("bindings = \"bin\"") && wheel.contains("manifest-path = \"../Cargo.toml\"")
    );
    let changelog = read("CHANGELOG.md");
    assert!(
        changelog.contains(&format!("## [{VERSION}]")) || changelog.contains("## [Unreleased]")
    );
}

#[test]
fn the_release_builds_every_target_the_action_installs() {
    let release: Value = serde_saphyr::from_str(&read(".github/workflows/release.yml")).unwrap();
    let built: Vec<&str> = release["jobs"]["build"]["strategy"]["matrix"]["include"]
        .as_array()
        .unwrap()
        .iter()
        .map(|entry| entry["target"].as_str().unwrap())
        .collect();
    let install = read("action/install.sh");
    for target in [
        "x86_64-unknown-linux-musl",
        "aarch64-unknown-linux-musl",
        "x86_64-apple-darwin",
        "aarch64-apple-darwin",
        "x86_64-pc-windows-msvc",
    ] {
        assert!(
            built.contains(&target),
            "release.yml does not build {target}"
        );
        assert!(
            install.contains(&format!(") echo {target} ;;")),
            "install.sh does not map a runner to {target}"
        );
    }
    assert_eq!(built.len(), 5, "{built:?}");
}

#[test]
fn sarif_names_the_repository_as_the_drivers_information_uri() {
    let repo = common::Repo::new("main");
    repo.write("msg", "EPL-1 fine\n");
    let out = common::git_policy(repo.path())
        .args(["--format", "sarif", "check", "commit-msg", "msg"])
        .output()
        .unwrap();
    let sarif: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        sarif["runs"][0]["tool"]["driver"]["informationUri"],
        env!("CARGO_PKG_REPOSITORY")
    );
    assert!(env!("CARGO_PKG_REPOSITORY").starts_with("https://"));
}

/// The release workflow's "Check the archived binary" step, run as written on an
/// archive of a real static-pie program (what rustc builds for musl by default;
/// `file` calls it "static-pie linked", and the step used to grep for
/// "statically linked"), and on a dynamic one, which it must refuse.
#[test]
#[cfg(all(target_os = "linux", target_arch = "x86_64"))]
fn the_release_check_passes_a_static_pie_binary_and_refuses_a_dynamic_one() {
    let release: Value = serde_saphyr::from_str(&read(".github/workflows/release.yml")).unwrap();
    let script = release["jobs"]["build"]["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|step| {
            step["name"]
                .as_str()
                .is_some_and(|name| name.starts_with("Check the archived binary"))
        })
        .expect("release.yml checks the archived binary")["run"]
        .as_str()
        .unwrap()
        .to_owned();
    let target = "x86_64-unknown-linux-musl";
    let version = "9.9.9";
    let check = |link: &str| {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("main.c"),
            "#include <stdio.h>\nint main(void) { puts(\"git-policy 9.9.9 (test)\"); return 0; }\n",
        )
        .unwrap();
        let built = Command::new("cc")
            .args([link, "main.c", "-o", "git-policy"])
            .current_dir(dir.path())
            .output()
            .unwrap();
        assert!(built.status.success(), "cc {link}: {built:?}");
        // Every archive carries the notices of what its binary links.
        std::fs::write(
            dir.path().join("THIRD-PARTY-NOTICES.txt"),
            format!("Third-party notices for git-policy ({target})\n"),
        )
        .unwrap();
        std::fs::create_dir(dir.path().join("assets")).unwrap();
        let archive = format!("assets/git-policy-v{version}-{target}.tar.gz");
        assert!(
            Command::new("tar")
                .args(["-czf", &archive, "git-policy", "THIRD-PARTY-NOTICES.txt"])
                .current_dir(dir.path())
                .status()
                .unwrap()
                .success()
        );
        std::fs::remove_file(dir.path().join("git-policy")).unwrap();
        Command::new("bash")
            .args(["-c", &script])
            .env("TARGET", target)
            .env("VERSION", version)
            .env("RUNNER_ARCH_NAME", "X64")
            .current_dir(dir.path())
            .output()
            .unwrap()
    };
    let static_pie = check("-static-pie");
    assert!(static_pie.status.success(), "{static_pie:?}");
    let dynamic = check("-pie");
    assert!(!dynamic.status.success(), "{dynamic:?}");
    assert!(
        String::from_utf8_lossy(&dynamic.stdout).contains(&format!(
            "::error::the {target} binary is dynamically linked"
        )),
        "{dynamic:?}"
    );
}

/// The MSRV the README states is the crate's `rust-version`, and no locked
/// dependency needs a newer Rust. (Clippy's `incompatible_msrv`, on in CI,
/// checks the standard library calls against it; this machine has one
/// toolchain, so the old compiler itself is not run.)
#[test]
fn the_stated_msrv_is_the_crates_and_every_dependency_builds_on_it() {
    let ours = cargo_toml()["package.rust-version"]
        .as_str()
        .unwrap()
        .trim_matches('"')
        .to_owned();
    let readme = read("README.md");
    assert!(
        readme.contains(&format!("Rust installed ({ours} or newer)")),
        "README's two commands must state the MSRV {ours}"
    );
    let parse = |v: &str| -> Vec<u32> { v.split('.').map(|p| p.parse().unwrap()).collect() };
    let out = Command::new(env!("CARGO"))
        .args(["metadata", "--format-version", "1", "--locked", "--offline"])
        .current_dir(common::root())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let metadata: Value = serde_json::from_slice(&out.stdout).unwrap();
    let newer: Vec<String> = metadata["packages"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|p| {
            let needs = p["rust_version"].as_str()?;
            (parse(needs) > parse(&ours))
                .then(|| format!("{} {} needs {needs}", p["name"], p["version"]))
        })
        .collect();
    assert!(
        newer.is_empty(),
        "dependencies that need a newer Rust than {ours}: {newer:?}"
    );
}
