//! Man pages: one per command, checked in under docs/man/ (regenerate with
//! `UPDATE_DOCS=1 cargo test --test man`), and every page a page names exists.

use std::path::PathBuf;

fn man_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("docs/man")
}

#[test]
fn every_man_page_is_checked_in() {
    let pages = git_policy::commands::man_pages();
    assert!(pages.len() > 10, "{} pages", pages.len());
    if std::env::var_os("UPDATE_DOCS").is_some() {
        for entry in std::fs::read_dir(man_dir()).unwrap() {
            std::fs::remove_file(entry.unwrap().path()).unwrap();
        }
        for (name, page) in &pages {
            std::fs::write(man_dir().join(name), page).unwrap();
        }
    }
    for (name, page) in &pages {
        let checked_in = std::fs::read_to_string(man_dir().join(name)).unwrap_or_else(|e| {
            panic!("docs/man/{name}: {e} (UPDATE_DOCS=1 cargo test --test man)")
        });
        assert_eq!(
            &checked_in, page,
            "docs/man/{name} drifted (UPDATE_DOCS=1 cargo test --test man)"
        );
    }
    let files = std::fs::read_dir(man_dir()).unwrap().count();
    assert_eq!(files, pages.len(), "docs/man holds pages of no command");
}

/// A page names others as `git\-policy\-check(1)`: each must be a page here.
#[test]
fn every_page_a_page_names_exists() {
    let pages = git_policy::commands::man_pages();
    let names: Vec<String> = pages.iter().map(|(n, _)| n.clone()).collect();
    let reference = regex::Regex::new(r"(git(?:\\-[a-z]+)+)\(1\)").unwrap();
    let mut seen = 0;
    for (name, page) in &pages {
        for found in reference.captures_iter(page) {
            let file = format!("{}.1", found[1].replace("\\-", "-"));
            assert!(
                names.contains(&file),
                "{name} names {file}, which is no page"
            );
            seen += 1;
        }
    }
    assert!(seen > 10, "the main page names the subcommands' pages");
}

fn git_policy(dir: &std::path::Path) -> std::process::Command {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_git-policy"));
    cmd.current_dir(dir).env("NO_COLOR", "1");
    cmd
}

/// `git-policy man` printed only the main page, which names fourteen pages
/// it could not print: `man --dir DIR` writes them all, the pages docs/man holds.
#[test]
fn man_dir_writes_every_page() {
    let dir = tempfile::tempdir().unwrap();
    let out = git_policy(dir.path())
        .args(["man", "--dir", "share/man/man1"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let written = dir.path().join("share/man/man1");
    let mut files: Vec<String> = std::fs::read_dir(&written)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    files.sort();
    let mut expected: Vec<String> = std::fs::read_dir(man_dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    expected.sort();
    assert_eq!(files, expected);
    for file in &files {
        assert_eq!(
            std::fs::read_to_string(written.join(file)).unwrap(),
            std::fs::read_to_string(man_dir().join(file)).unwrap(),
            "{file}"
        );
    }
    // It says what it wrote, one path a line.
    let said = String::from_utf8_lossy(&out.stdout);
    assert_eq!(said.lines().count(), files.len(), "{said}");
    assert!(said.contains("git-policy-check-pr.1"), "{said}");
}

/// `man COMMAND…` prints one subcommand's page, however the command is written.
#[test]
fn man_prints_a_subcommand_page() {
    let dir = tempfile::tempdir().unwrap();
    let page = std::fs::read_to_string(man_dir().join("git-policy-check-pr.1")).unwrap();
    for args in [
        &["man", "check", "pr"][..],
        &["man", "check-pr"],
        &["man", "git-policy-check-pr"],
        &["man", "git-policy-check-pr.1"],
    ] {
        let out = git_policy(dir.path()).args(args).output().unwrap();
        assert!(out.status.success(), "{args:?}");
        assert_eq!(String::from_utf8_lossy(&out.stdout), page, "{args:?}");
    }
    let main = git_policy(dir.path()).arg("man").output().unwrap();
    assert_eq!(
        String::from_utf8_lossy(&main.stdout),
        std::fs::read_to_string(man_dir().join("git-policy.1")).unwrap()
    );
    let hooks = git_policy(dir.path())
        .args(["man", "install-hooks"])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&hooks.stdout).contains(".TH git-policy-install-hooks 1"));
}

/// A command that has no page is exit 2 with the way to the right one,
/// never the main page printed instead.
#[test]
fn man_refuses_a_command_without_a_page() {
    let dir = tempfile::tempdir().unwrap();
    let out = git_policy(dir.path())
        .args(["man", "chek", "pr"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(
        said.contains("did you mean `git-policy man check pr`"),
        "{said}"
    );
    let out = git_policy(dir.path())
        .args(["man", "deploy"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(said.contains("man --dir DIR"), "{said}");
}

/// A folder that cannot be written is exit 2, not a partial success.
#[test]
fn man_dir_that_cannot_be_written_is_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("file"), "").unwrap();
    let out = git_policy(dir.path())
        .args(["man", "--dir", "file/man1"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot create the folder"));
}
