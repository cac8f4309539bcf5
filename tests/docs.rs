//! Generated files stay in step with the code: docs/rules.md and
//! docs/policy.schema.json. `UPDATE_DOCS=1 cargo test --test docs` rewrites them.

use std::path::Path;

fn check(path: &str, expected: &str) {
    let full = Path::new(env!("CARGO_MANIFEST_DIR")).join(path);
    if std::env::var_os("UPDATE_DOCS").is_some() {
        std::fs::write(&full, expected).unwrap();
        return;
    }
    let actual = std::fs::read_to_string(&full).unwrap_or_default();
    assert!(
        actual == expected,
        "{path} is out of date: run `UPDATE_DOCS=1 cargo test --test docs` and commit it"
    );
}

#[test]
fn rules_reference_is_generated_from_the_rule_files() {
    check("docs/rules.md", &git_policy::rules::reference_markdown());
}

#[test]
fn json_schema_is_checked_in() {
    let mut schema =
        serde_json::to_string_pretty(&git_policy::policy::Policy::json_schema()).unwrap();
    schema.push('\n');
    check("docs/policy.schema.json", &schema);
}

// Whether the schema accepts what the loader accepts: tests/schema.rs.

#[test]
fn man_page_is_checked_in() {
    let page = git_policy::commands::man_page();
    assert!(page.contains(".TH git-policy 1"), "{page}");
    check("docs/man/git-policy.1", &page);
}

#[test]
fn completions_cover_every_command_and_parse() {
    for shell in [
        clap_complete::Shell::Bash,
        clap_complete::Shell::Zsh,
        clap_complete::Shell::Fish,
    ] {
        let script = git_policy::commands::completions(shell);
        for command in [
            "check",
            "audit",
            "validate",
            "explain",
            "init",
            "event",
            "install-hooks",
            "schema",
            "completions",
            "man",
        ] {
            assert!(script.contains(command), "{shell}: no `{command}`");
        }
    }
    let bash = git_policy::commands::completions(clap_complete::Shell::Bash);
    let status = std::process::Command::new("bash")
        .args(["-n", "-c", &bash])
        .status()
        .unwrap();
    assert!(
        status.success(),
        "the bash completion script does not parse"
    );
}

/// ARCHITECTURE.md names modules that exist: every `src/…` path it gives is
/// a file or folder of the crate, and every top-level module is named.
#[test]
fn architecture_names_the_modules_that_exist() {
    let text =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("ARCHITECTURE.md"))
            .unwrap();
    let mut named = Vec::new();
    for (at, _) in text.match_indices("`src/") {
        let rest = &text[at + 1..];
        let end = rest.find('`').unwrap();
        named.push(rest[..end].to_owned());
    }
    assert!(named.len() >= 20, "{named:?}");
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let missing: Vec<&String> = named
        .iter()
        .filter(|p| !root.join(p.trim_end_matches('/')).exists())
        .collect();
    assert!(
        missing.is_empty(),
        "ARCHITECTURE.md names what does not exist: {missing:?}"
    );
    for entry in std::fs::read_dir(root.join("src")).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        if name == "lib.rs" || name == "main.rs" {
            continue;
        }
        assert!(
            named.iter().any(|n| n == &format!("src/{name}")),
            "ARCHITECTURE.md does not place src/{name}"
        );
    }
}

/// `explain waivers` / `explain exemptions` print the reference the code
/// keeps; docs/policy.md shows the same text (it drifted apart before there
/// was one).
#[test]
fn policy_md_shows_the_waivers_and_exemptions_reference() {
    let policy_md =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/policy.md"))
            .unwrap();
    for (what, doc) in [
        ("Waivers", git_policy::policy::WAIVERS_DOC),
        ("Exemptions", git_policy::policy::EXEMPTIONS_DOC),
    ] {
        assert!(
            policy_md.contains(doc),
            "docs/policy.md's {what} section differs from the text `explain` prints \
             (src/policy): make them equal"
        );
    }
}

/// Relative links in the README, CONTRIBUTING.md and docs/*.md lead to a
/// file that exists and, with an `#anchor` into a Markdown file, to one of
/// its headings (GitHub's slugs): moving a section (the README's Speed
/// figures into docs/performance.md) must not leave a link behind.
#[test]
fn relative_links_in_the_docs_resolve() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let fenced = regex::Regex::new(r"(?s)```.*?```").unwrap();
    let link = regex::Regex::new(r"\]\(([^)\s]+)\)").unwrap();
    let heading = regex::Regex::new(r"(?m)^#+\s+(.*)$").unwrap();
    let text_of = |path: &Path| {
        let text = std::fs::read_to_string(path).unwrap();
        fenced.replace_all(&text, "").into_owned()
    };
    let slugs = |path: &Path| -> Vec<String> {
        heading
            .captures_iter(&text_of(path))
            .map(|c| {
                c[1].trim()
                    .to_lowercase()
                    .chars()
                    .filter(|c| c.is_alphanumeric() || *c == '-' || *c == '_' || *c == ' ')
                    .map(|c| if c == ' ' { '-' } else { c })
                    .collect()
            })
            .collect()
    };
    let mut files = vec![root.join("README.md"), root.join("CONTRIBUTING.md")];
    for entry in std::fs::read_dir(root.join("docs")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "md") {
            files.push(path);
        }
    }
    let mut broken = Vec::new();
    for file in &files {
        for c in link.captures_iter(&text_of(file)) {
            let target = &c[1];
            if target.contains("://") || target.starts_with("mailto:") {
                continue;
            }
            let (path, anchor) = target.split_once('#').unwrap_or((target, ""));
            let full = if path.is_empty() {
                file.clone()
            } else {
                file.parent().unwrap().join(path)
            };
            if !full.exists() {
                broken.push(format!("{}: {target}", file.display()));
            } else if !anchor.is_empty()
                && full.extension().is_some_and(|e| e == "md")
                && !slugs(&full).iter().any(|s| s == anchor)
            {
                broken.push(format!("{}: {target} (no such heading)", file.display()));
            }
        }
    }
    assert!(broken.is_empty(), "broken links:\n{}", broken.join("\n"));
}
