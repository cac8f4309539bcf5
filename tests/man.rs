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
