//! The JSON Schema tells the truth: what the loader accepts, the schema
//! accepts, checked with a real JSON Schema validator on the built-in pack,
//! the starter file `init` writes, every policy under `fixtures/` that loads,
//! and every `Example policy` block of the rule docs; and invalid policies
//! are rejected by both. YAML is read as 1.2 (`on:` is a key, not `true`).

use std::path::{Path, PathBuf};

use git_policy::policy::{BUILTIN_TEXT, Policy, PolicySource, load};

fn validator() -> jsonschema::Validator {
    let schema = serde_json::to_value(Policy::json_schema()).unwrap();
    jsonschema::validator_for(&schema).unwrap_or_else(|e| panic!("the schema is invalid: {e}"))
}

/// YAML 1.2 to JSON, as an editor's YAML language server reads it.
fn to_json(text: &str) -> serde_json::Value {
    let options = serde_saphyr::options! { strict_booleans: true };
    serde_saphyr::from_str_with_options(text, options)
        .unwrap_or_else(|e| panic!("not YAML: {e}\n{text}"))
}

/// The schema's complaints about one policy text (empty: valid).
fn schema_errors(validator: &jsonschema::Validator, text: &str) -> Vec<String> {
    let json = to_json(text);
    validator
        .iter_errors(&json)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect()
}

fn loads(name: &str, text: &str) -> Result<(), String> {
    load(vec![PolicySource::new(name, text)])
        .map(|_| ())
        .map_err(|e| {
            e.errors
                .iter()
                .map(|e| format!("{}: {}", e.code, e.message))
                .collect::<Vec<_>>()
                .join("; ")
        })
}

fn yaml_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            yaml_files(&path, out);
        } else if matches!(
            path.extension().and_then(|e| e.to_str()),
            Some("yml" | "yaml")
        ) {
            out.push(path);
        }
    }
}

/// The `yaml` blocks under `## Example policy` in a rule's documentation,
/// with `version: 1` added when the block leaves it out.
fn example_policies(doc: &str) -> Vec<String> {
    let Some(start) = doc.find("## Example policy") else {
        return Vec::new();
    };
    let section = &doc[start + 2..];
    let section = &section[..section.find("\n## ").unwrap_or(section.len())];
    let mut out = Vec::new();
    let mut rest = section;
    while let Some(open) = rest.find("```yaml\n") {
        let body = &rest[open + 8..];
        let close = body.find("```").unwrap();
        let block = &body[..close];
        out.push(if block.contains("version:") {
            block.to_owned()
        } else {
            format!("version: 1\n{block}")
        });
        rest = &body[close + 3..];
    }
    out
}

#[test]
fn the_built_in_pack_and_the_starter_file_satisfy_the_schema() {
    let v = validator();
    loads("pack", BUILTIN_TEXT).unwrap();
    let errors = schema_errors(&v, BUILTIN_TEXT);
    assert!(errors.is_empty(), "{}", errors.join("\n"));
    // What `init` writes: the pack under a `$schema` comment.
    let starter =
        format!("# yaml-language-server: $schema=./.git-policy.schema.json\n{BUILTIN_TEXT}");
    loads("starter", &starter).unwrap();
    assert_eq!(schema_errors(&v, &starter), Vec::<String>::new());
}

#[test]
fn every_example_policy_of_the_rule_docs_loads_and_satisfies_the_schema() {
    let v = validator();
    let mut docs: Vec<(&str, &str)> = git_policy::rules::ALL
        .iter()
        .map(|i| (i.name, i.doc))
        .collect();
    docs.push(("when / unless", git_policy::predicates::DOC));
    let mut checked = 0;
    let mut failures = Vec::new();
    for (name, doc) in docs {
        for example in example_policies(doc) {
            checked += 1;
            if let Err(e) = loads(name, &example) {
                failures.push(format!(
                    "{name}: the loader refuses its example: {e}\n{example}"
                ));
            }
            let errors = schema_errors(&v, &example);
            if !errors.is_empty() {
                failures.push(format!(
                    "{name}: the schema refuses its example: {errors:#?}\n{example}"
                ));
            }
        }
    }
    assert!(
        checked >= git_policy::rules::ALL.len(),
        "only {checked} examples found"
    );
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// Errors that are about the shape of the file, which a schema can see (the
/// others need the rest of the policy: undefined names, duplicate ids, …).
const SHAPE_ERRORS: &[&str] = &[
    "policy::unknown-key",
    "policy::wrong-type",
    "policy::unknown-value",
    "policy::missing-key",
    "policy::missing-version",
    "policy::unsupported-version",
    "policy::empty-file",
];

#[test]
fn every_fixture_policy_is_judged_alike_by_the_loader_and_the_schema() {
    let v = validator();
    let mut files = Vec::new();
    yaml_files(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures"),
        &mut files,
    );
    files.sort();
    let mut failures = Vec::new();
    let mut policies = 0;
    for path in files {
        let text = std::fs::read_to_string(&path).unwrap();
        let name = path.display().to_string();
        // Fixture facts (`commit:`, `pull_request:` …) are not policies.
        let Ok(json) = serde_saphyr::from_str_with_options::<serde_json::Value>(
            &text,
            serde_saphyr::options! { strict_booleans: true },
        ) else {
            continue; // YAML syntax errors: neither reads them
        };
        let is_policy = json.get("version").is_some()
            || json.get("rules").is_some()
            || path.components().any(|c| c.as_os_str() == "policies");
        if !is_policy {
            continue;
        }
        policies += 1;
        let loaded = load(vec![PolicySource::new(&name, text.as_str())]);
        let schema = schema_errors(&v, &text);
        match loaded {
            Ok(_) if !schema.is_empty() => failures.push(format!(
                "{name}: loads, but the schema refuses it: {schema:#?}"
            )),
            Err(e) => {
                let shape = e.errors.iter().any(|e| SHAPE_ERRORS.contains(&e.code));
                if shape && schema.is_empty() {
                    let codes: Vec<&str> = e.errors.iter().map(|e| e.code).collect();
                    failures.push(format!(
                        "{name}: the loader refuses it ({codes:?}) but the schema accepts it"
                    ));
                }
            }
            Ok(_) => {}
        }
    }
    assert!(policies >= 30, "only {policies} fixture policies found");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Policies wrong in shape: the loader and the schema both refuse each one.
const INVALID: &[(&str, &str)] = &[
    ("no version", "rules: []\n"),
    ("version 2", "version: 2\n"),
    ("version as string", "version: '1'\n"),
    ("unknown top-level key", "version: 1\nrule: []\n"),
    (
        "a requirement written with nothing after it that needs an option",
        "version: 1\nrules:\n  - id: a\n    on: [pull_request]\n    require:\n      labels:\n",
    ),
    (
        "`require` with nothing after it",
        "version: 1\nrules:\n  - id: a\n    on: [pull_request]\n    require:\n",
    ),
    (
        "unknown rule key",
        "version: 1\nrules:\n  - id: a\n    requre: { ready: true }\n",
    ),
    ("rule without require", "version: 1\nrules:\n  - id: a\n"),
    (
        "rule without id",
        "version: 1\nrules:\n  - require: { ready: true }\n",
    ),
    (
        "unknown requirement",
        "version: 1\nrules:\n  - id: a\n    require: { readdy: true }\n",
    ),
    (
        "unknown subject",
        "version: 1\nrules:\n  - id: a\n    on: [pr]\n    require: { ready: true }\n",
    ),
    (
        "unknown level",
        "version: 1\nrules:\n  - id: a\n    level: fatal\n    require: { ready: true }\n",
    ),
    (
        "tracker without pattern",
        "version: 1\ntickets:\n  jira: { url: 'https://x/{id}' }\n",
    ),
    (
        "tracker with unknown key",
        "version: 1\ntickets:\n  jira: { pattern: 'A-1', urls: x }\n",
    ),
    (
        "team with unknown key",
        "version: 1\nteams:\n  a: { member: [x] }\n",
    ),
    (
        "paths as a mapping",
        "version: 1\npaths:\n  ci: { glob: x }\n",
    ),
    (
        "a ticket `max` of 0",
        "version: 1\ntickets:\n  jira: { pattern: '\\bA-[0-9]+\\b' }\nrules:\n  - id: a\n    on: [pull_request]\n    require: { ticket: { max: 0 } }\n",
    ),
    (
        "a field's `min_words` of 0",
        "version: 1\ntickets:\n  jira: { pattern: '\\bA-[0-9]+\\b', api: { kind: jira-cloud, url: 'https://x.atlassian.net', user_env: U, token_env: T } }\nrules:\n  - id: a\n    on: [pull_request]\n    require: { ticket: { fields: { description: { min_words: 0 } } } }\n",
    ),
    (
        "an empty list of labels",
        "version: 1\nrules:\n  - id: a\n    on: [pull_request]\n    require: { labels: { any_of: [] } }\n",
    ),
    (
        "kind with unknown key",
        "version: 1\nkinds:\n  bug: { label: [bug] }\n",
    ),
    (
        "unknown commit exemption",
        "version: 1\ncommits: { exempt: [wip] }\n",
    ),
    (
        "unknown merges value",
        "version: 1\ncommits: { merges: sometimes }\n",
    ),
    ("unknown audit key", "version: 1\naudit: { empty: pass }\n"),
    ("rules as a mapping", "version: 1\nrules: { a: 1 }\n"),
    (
        "ticket max as string",
        "version: 1\ntickets:\n  j: { pattern: 'A-1' }\nrules:\n  - id: a\n    require: { ticket: { max: one } }\n",
    ),
    (
        "unknown ticket place",
        "version: 1\ntickets:\n  j: { pattern: 'A-1' }\nrules:\n  - id: a\n    require: { ticket: { in: [titel] } }\n",
    ),
    (
        "ready as string",
        "version: 1\nrules:\n  - id: a\n    require: { ready: 'yes' }\n",
    ),
    (
        "unknown condition",
        "version: 1\nrules:\n  - id: a\n    when: { labelz: [x] }\n    require: { ready: true }\n",
    ),
    (
        "sections with unknown key",
        "version: 1\nrules:\n  - id: a\n    require: { sections: [{ heading: A, words: 3 }] }\n",
    ),
    (
        "approval count as string",
        "version: 1\nteams:\n  t: { members: [a] }\nrules:\n  - id: a\n    require: { approval: { teams: [t], count: two } }\n",
    ),
    (
        "empty on",
        "version: 1\nrules:\n  - id: a\n    on: []\n    require: { ready: true }\n",
    ),
    (
        "ticket: false",
        "version: 1\ntickets:\n  j: { pattern: 'A-1' }\nrules:\n  - id: a\n    require: { ticket: false }\n",
    ),
    (
        "empty require",
        "version: 1\nrules:\n  - id: a\n    require: {}\n",
    ),
    (
        "empty condition",
        "version: 1\nrules:\n  - id: a\n    when: {}\n    require: { ready: true }\n",
    ),
    (
        "null condition",
        "version: 1\nrules:\n  - id: a\n    when:\n    require: { ready: true }\n",
    ),
    (
        "groups and an inline group",
        "version: 1\nteams:\n  t: { members: [a] }\nrules:\n  - id: a\n    require: { approval: { teams: [t], groups: [{ teams: [t] }] } }\n",
    ),
    (
        "approval count 0 as text",
        "version: 1\nrules:\n  - id: a\n    require: { approval: { users: [a], fresh: never } }\n",
    ),
    (
        "waiver without a reason",
        "version: 1\nrules:\n  - id: a\n    require: { ready: true }\nwaivers:\n  - { pull_request: 1, rules: [a], granted_by: x }\n",
    ),
    (
        "waiver of two things",
        "version: 1\nrules:\n  - id: a\n    require: { ready: true }\nwaivers:\n  - { pull_request: 1, commit: 3f2a9c1e3f2a9c1e3f2a9c1e3f2a9c1e3f2a9c1e, rules: [a], reason: r, granted_by: x }\n",
    ),
    (
        "waiver of a short commit id",
        "version: 1\nrules:\n  - id: a\n    require: { ready: true }\nwaivers:\n  - { commit: 3f2a9c1e, rules: [a], reason: r, granted_by: x }\n",
    ),
    (
        "waiver with an empty rule list",
        "version: 1\nrules:\n  - id: a\n    require: { ready: true }\nwaivers:\n  - { pull_request: 1, rules: [], reason: r, granted_by: x }\n",
    ),
    (
        "waiver expiring on a date not written YYYY-MM-DD",
        "version: 1\nrules:\n  - id: a\n    require: { ready: true }\nwaivers:\n  - { pull_request: 1, rules: [a], reason: r, granted_by: x, expires: 2027-3-1 }\n",
    ),
    (
        "waiver with a blank reason",
        "version: 1\nrules:\n  - id: a\n    require: { ready: true }\nwaivers:\n  - { pull_request: 1, rules: [a], reason: ' ', granted_by: x }\n",
    ),
    (
        "approval request of no review",
        "version: 1\nrules:\n  - id: a\n    require: { approval: { users: [a], request: { count: 0 } } }\n",
    ),
    (
        "approval request of an unknown kind",
        "version: 1\nrules:\n  - id: a\n    require: { approval: { users: [a], request: some } }\n",
    ),
];

/// Shorthands and single-item lists: the loader and the schema both accept each one.
const VALID: &[(&str, &str)] = &[
    (
        "single strings for lists",
        "version: 1\npaths:\n  ci: '.ci/**'\nrules:\n  - id: a\n    when: { changed: ci, labels: x, branches: 'hotfix/*' }\n    require: { sections: Notes }\n",
    ),
    (
        "one predicate for `any`",
        "version: 1\nrules:\n  - id: a\n    unless: { any: { labels: [x] } }\n    require: { ready: true }\n",
    ),
    (
        "`true` shorthands",
        "version: 1\ntickets:\n  j: { pattern: 'A-1', incident: true }\nrules:\n  - id: a\n    require: { ticket: true, milestone: true, tests_changed: true }\n  - id: b\n    on: [release]\n    require: { incident_tests: true, release_checks: true }\n",
    ),
    (
        "approval groups",
        "version: 1\nteams:\n  t: { members: [a] }\nrules:\n  - id: a\n    require: { approval: { groups: [{ teams: [t], count: 2, fresh: head }, { users: [b] }] } }\n",
    ),
    (
        "approval requests",
        "version: 1\nteams:\n  t: { members: [a] }\nrules:\n  - id: a\n    require: { approval: { teams: [t], request: true } }\n  - id: b\n    require: { approval: { teams: [t], request: all } }\n  - id: c\n    require: { approval: { groups: [{ teams: [t] }], request: { count: 2 } } }\n",
    ),
    ("no rules", "version: 1\n"),
    (
        "requirements and options written with nothing after them",
        "version: 1\ntickets:\n  j: { pattern: 'X-[0-9]+' }\nrules:\n  - id: a\n    on: [pull_request]\n    require:\n      ticket:\n      milestone:\n      tests_changed:\n      approval:\n",
    ),
    (
        "every top-level key written with nothing after it",
        "version: 1\ntickets:\nteams:\npaths:\nkinds:\ncommits:\naudit:\nrules:\nwaivers:\n",
    ),
    (
        "waivers of each kind",
        "version: 1\ntickets:\n  j: { pattern: '\\bEPL-[0-9]+\\b' }\nrules:\n  - id: a\n    require: { ticket: true }\n  - id: b\n    on: [release]\n    require: { release_page: { path: 'x/{version}.md' } }\nwaivers:\n  - { commit: 3F2A9C1E3F2A9C1E3F2A9C1E3F2A9C1E3F2A9C1E, rules: a, reason: r, granted_by: x, expires: 2027-03-31 }\n  - { pull_request: 12, rules: [a], reason: r, granted_by: x }\n  - { ticket: EPL-7, rules: [b], reason: r, granted_by: x }\n",
    ),
];

#[test]
fn valid_shorthands_are_accepted_by_both_the_loader_and_the_schema() {
    let v = validator();
    let mut failures = Vec::new();
    for (what, text) in VALID {
        if let Err(e) = loads(what, text) {
            failures.push(format!("{what}: the loader refuses it: {e}"));
        }
        let errors = schema_errors(&v, text);
        if !errors.is_empty() {
            failures.push(format!("{what}: the schema refuses it: {errors:?}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn invalid_policies_are_refused_by_both_the_loader_and_the_schema() {
    let v = validator();
    let mut failures = Vec::new();
    for (what, text) in INVALID {
        if loads(what, text).is_ok() {
            failures.push(format!("{what}: the loader accepts it"));
        }
        if schema_errors(&v, text).is_empty() {
            failures.push(format!("{what}: the schema accepts it"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn explain_lists_every_policy_error_code() {
    let out = assert_cmd::Command::cargo_bin("git-policy")
        .unwrap()
        .args(["-C", env!("CARGO_MANIFEST_DIR"), "explain"])
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    for code in git_policy::policy::ErrorCode::ALL {
        assert!(text.contains(code.as_str()), "`explain` lacks {code}");
    }
}

#[test]
fn explain_lists_and_explains_every_built_in_finding_id() {
    let run = |args: &[&str]| {
        let out = assert_cmd::Command::cargo_bin("git-policy")
            .unwrap()
            .args(["-C", env!("CARGO_MANIFEST_DIR"), "explain"])
            .args(args)
            .output()
            .unwrap();
        assert!(out.status.success(), "explain {args:?}: {out:?}");
        String::from_utf8(out.stdout).unwrap()
    };
    let list = run(&[]);
    for id in git_policy::outcome::FindingId::ALL {
        assert!(list.contains(id.as_str()), "`explain` lacks {id}");
        let one = run(&[id.as_str()]);
        assert!(one.starts_with(&format!("# Finding `{id}`")), "{one}");
        assert!(one.contains(id.summary()), "{one}");
    }
    // The ids findings carry are the enum's: the waiver check, the audit and
    // the pull request check all name them through it.
    assert_eq!(git_policy::evidence::RULE, "release-evidence");
    assert_eq!(git_policy::waivers::EXPIRED, "expired-waiver");
}
