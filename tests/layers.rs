//! The module layers hold: `syntax` (spans, errors, decoding) imports no
//! other module of the crate; `definitions` builds on `syntax` and `facts`
//! only; `rules` never reaches the policy, the engine, the sources or the
//! commands, so `policy` (which holds the rules) and `rules` do not import
//! each other in a circle. Test modules may use anything. `LAYERS` places
//! every top-level module with what it may import, and the module graph
//! has no cycle.

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
    // `outcome`: the release page's summary types (plain data, no policy).
    let allowed = [
        "syntax",
        "definitions",
        "facts",
        "rules",
        "predicates",
        "markdown",
        "outcome",
        "text",
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

/// Every top-level module of the crate, with the modules it may import.
/// Pure modules first, each above only what it lists; a module missing
/// here fails [`every_module_has_a_place`], so a new one is placed
/// deliberately. `sources`, `commands` and `cli` do I/O.
const LAYERS: &[(&str, &[&str])] = &[
    ("syntax", &[]),
    ("text", &[]),
    ("markdown", &[]),
    ("facts", &["text"]),
    ("definitions", &["syntax", "facts"]),
    ("predicates", &["syntax", "definitions", "facts"]),
    ("outcome", &["syntax", "text", "facts"]),
    (
        "rules",
        &[
            "syntax",
            "text",
            "markdown",
            "facts",
            "definitions",
            "predicates",
            "outcome",
        ],
    ),
    (
        "policy",
        &[
            "syntax",
            "text",
            "facts",
            "definitions",
            "predicates",
            "outcome",
            "rules",
        ],
    ),
    (
        "engine",
        &[
            "syntax",
            "text",
            "facts",
            "definitions",
            "predicates",
            "outcome",
            "rules",
            "policy",
        ],
    ),
    (
        "evidence",
        &[
            "syntax", "text", "facts", "outcome", "rules", "policy", "engine",
        ],
    ),
    (
        "waivers",
        &[
            "syntax", "text", "facts", "outcome", "policy", "engine", "evidence",
        ],
    ),
    (
        "report",
        &[
            "syntax",
            "text",
            "markdown",
            "facts",
            "definitions",
            "outcome",
            "rules",
            "policy",
            "engine",
            "evidence",
            "waivers",
        ],
    ),
    (
        "sources",
        &[
            "syntax",
            "text",
            "markdown",
            "facts",
            "definitions",
            "outcome",
            "rules",
            "policy",
            "engine",
            "evidence",
            "report",
        ],
    ),
    (
        "commands",
        &[
            "syntax",
            "text",
            "markdown",
            "facts",
            "definitions",
            "predicates",
            "outcome",
            "rules",
            "policy",
            "engine",
            "evidence",
            "waivers",
            "report",
            "sources",
            "cli",
        ],
    ),
    ("cli", &[]),
];

/// Top-level module → (file:line, module it names) for every `crate::`
/// path in `src/`, tests left out.
fn module_graph() -> std::collections::BTreeMap<String, Vec<(String, String)>> {
    let src = root().join("src");
    let mut graph = std::collections::BTreeMap::<String, Vec<(String, String)>>::new();
    let mut stack = vec![src.clone()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            if path.extension().and_then(|e| e.to_str()) != Some("rs") {
                continue;
            }
            let relative = path.strip_prefix(&src).unwrap();
            let top = relative
                .components()
                .next()
                .unwrap()
                .as_os_str()
                .to_string_lossy()
                .trim_end_matches(".rs")
                .to_owned();
            if top == "lib" || top == "main" {
                continue;
            }
            let edges = graph.entry(top.clone()).or_default();
            for (line, module) in crate_paths(&path) {
                if module != top {
                    edges.push((format!("src/{}:{line}", relative.display()), module));
                }
            }
        }
    }
    graph
}

/// A cycle among `edges` (module → modules it imports), if any.
fn find_cycle(edges: &std::collections::BTreeMap<String, Vec<String>>) -> Option<Vec<String>> {
    fn visit(
        node: &str,
        edges: &std::collections::BTreeMap<String, Vec<String>>,
        path: &mut Vec<String>,
        done: &mut std::collections::BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(at) = path.iter().position(|n| n == node) {
            let mut cycle = path[at..].to_vec();
            cycle.push(node.to_owned());
            return Some(cycle);
        }
        if done.contains(node) {
            return None;
        }
        path.push(node.to_owned());
        for next in edges.get(node).into_iter().flatten() {
            if let Some(cycle) = visit(next, edges, path, done) {
                return Some(cycle);
            }
        }
        path.pop();
        done.insert(node.to_owned());
        None
    }
    let mut done = std::collections::BTreeSet::new();
    edges
        .keys()
        .find_map(|node| visit(node, edges, &mut Vec::new(), &mut done))
}

#[test]
fn every_module_has_a_place() {
    let graph = module_graph();
    let placed: Vec<&str> = LAYERS.iter().map(|(m, _)| *m).collect();
    let unplaced: Vec<&String> = graph
        .keys()
        .filter(|m| !placed.contains(&m.as_str()))
        .collect();
    assert!(
        unplaced.is_empty(),
        "modules with no place in tests/layers.rs LAYERS: {unplaced:?}"
    );
    assert!(graph.len() >= 14, "{:?}", graph.keys());
}

#[test]
fn each_module_imports_only_what_its_layer_allows() {
    let graph = module_graph();
    let mut wrong = Vec::new();
    for (module, allowed) in LAYERS {
        for (at, imported) in graph.get(*module).into_iter().flatten() {
            if !allowed.contains(&imported.as_str()) {
                wrong.push(format!("{at}: `{module}` imports crate::{imported}"));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "imports against the layers:\n{}",
        wrong.join("\n")
    );
}

#[test]
fn no_two_modules_import_each_other() {
    let graph: std::collections::BTreeMap<String, Vec<String>> = module_graph()
        .into_iter()
        .map(|(m, edges)| (m, edges.into_iter().map(|(_, to)| to).collect()))
        .collect();
    assert_eq!(find_cycle(&graph), None, "the module graph has a cycle");
}

#[test]
fn the_cycle_check_sees_a_cycle() {
    let edges: std::collections::BTreeMap<String, Vec<String>> = [
        ("a", vec!["b"]),
        ("b", vec!["c"]),
        ("c", vec!["a"]),
        ("d", vec!["a"]),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.into_iter().map(String::from).collect()))
    .collect();
    assert_eq!(
        find_cycle(&edges),
        Some(vec!["a".into(), "b".into(), "c".into(), "a".into()])
    );
    let acyclic: std::collections::BTreeMap<String, Vec<String>> =
        [("a", vec!["b"]), ("b", vec![])]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.into_iter().map(String::from).collect()))
            .collect();
    assert_eq!(find_cycle(&acyclic), None);
}
