//! The module layers hold: `syntax` (spans, errors, decoding) imports no
//! other module of the crate; `definitions` builds on `syntax` and `facts`
//! only; `rules` never reaches the policy, the engine, the sources or the
//! commands, so `policy` (which holds the rules) and `rules` do not import
//! each other in a circle. Test modules may use anything.

mod common;

use common::root;

/// The code of a source file before its `#[cfg(test)] mod tests`, with the
/// crate paths it names (`crate::x`).
fn crate_paths(path: &std::path::Path) -> Vec<(usize, String)> {
    let text = std::fs::read_to_string(path).unwrap();
    let code = match text.find("#[cfg(test)]\nmod tests") {
        Some(at) => &text[..at],
        None => &text,
    };
    let mut out = Vec::new();
    for (number, line) in code.lines().enumerate() {
        let line = line.trim_start();
        if line.starts_with("//") {
            continue;
        }
        for (at, _) in line.match_indices("crate::") {
            let module: String = line[at + 7..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            out.push((number + 1, module));
        }
    }
    out
}

fn check_layer(folder: &str, allowed: &[&str]) -> usize {
    let dir = root().join("src").join(folder);
    let mut files = 0;
    let mut wrong = Vec::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().and_then(|e| e.to_str()) != Some("rs") {
            continue;
        }
        files += 1;
        for (line, module) in crate_paths(&path) {
            if !allowed.contains(&module.as_str()) {
                wrong.push(format!(
                    "{}:{line}: crate::{module}",
                    path.strip_prefix(root()).unwrap().display()
                ));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "src/{folder} may use only {allowed:?}:\n{}",
        wrong.join("\n")
    );
    files
}

#[test]
fn syntax_is_a_leaf() {
    assert!(check_layer("syntax", &["syntax"]) >= 5);
}

#[test]
fn definitions_build_on_syntax_and_facts_only() {
    assert!(check_layer("definitions", &["syntax", "facts", "definitions"]) >= 3);
}

#[test]
fn rules_do_not_import_the_policy() {
    // `report`: the release page's summary types (rendered data, no policy).
    let allowed = [
        "syntax",
        "definitions",
        "facts",
        "rules",
        "predicates",
        "markdown",
        "report",
    ];
    assert!(check_layer("rules", &allowed) >= 15);
}

#[test]
fn conditions_are_evaluated_without_the_policy() {
    let path = root().join("src/predicates.rs");
    let wrong: Vec<String> = crate_paths(&path)
        .into_iter()
        .filter(|(_, m)| !["syntax", "definitions", "facts"].contains(&m.as_str()))
        .map(|(line, m)| format!("src/predicates.rs:{line}: crate::{m}"))
        .collect();
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn the_check_sees_a_forbidden_import() {
    let dir = std::env::temp_dir().join(format!("layers-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("x.rs");
    std::fs::write(
        &file,
        "use crate::policy::Policy;\n// crate::engine in a comment\n#[cfg(test)]\nmod tests {\n    use crate::engine::evaluate;\n}\n",
    )
    .unwrap();
    let found = crate_paths(&file);
    std::fs::remove_dir_all(&dir).unwrap();
    assert_eq!(found, [(1, String::from("policy"))]);
}
