//! `validate` warns about definitions no rule uses (as cargo-deny warns about
//! unused allow entries); the policy stays valid.

use assert_cmd::Command;

const POLICY: &str = r#"version: 1
tickets:
  jira: { pattern: '\bEPL-[0-9]+\b' }
  legacy: { pattern: '\bOLD-[0-9]+\b' }
  incidents: { pattern: '\bINC-[0-9]+\b', incident: true }
teams:
  platform: { members: [a] }
  rte: { members: [b] }
  nobody: { members: [c] }
paths:
  ci: ['.ci/**']
  tests: ['tests/**']
  docs: ['docs/**']
kinds:
  bug: { labels: [bug] }
  feature: { labels: [feature] }
  chore: { labels: [chore] }
rules:
  - id: ci-approval
    on: [pull_request]
    when: { changed: [ci], kind: bug }
    require:
      approval: { teams: [platform], count: 1 }
  - id: release
    on: [release]
    require:
      release_page: { path: 'docs/releases/{version}.md', trackers: [jira] }
      incident_tests: { tests: [tests] }
      release_checks: { expedited: { labels: [expedited], granted_by: [rte] } }
  - id: classified
    on: [pull_request]
    require:
      kind: { any_of: [feature] }
"#;

fn validate(format: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("p.yml"), POLICY).unwrap();
    let out = Command::cargo_bin("git-policy")
        .unwrap()
        .current_dir(dir.path())
        .args(["--policy", "p.yml", "--format", format, "validate"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn validate_warns_about_definitions_no_rule_uses() {
    let text = validate("human");
    let warnings: Vec<&str> = text.lines().filter(|l| l.starts_with("warning")).collect();
    assert_eq!(
        warnings,
        [
            "warning[policy::unused-definition]: tracker `legacy` (under `tickets:`) is used by no rule (p.yml:4:3)",
            "warning[policy::unused-definition]: team `nobody` (under `teams:`) is used by no rule (p.yml:9:3)",
            "warning[policy::unused-definition]: path set `docs` (under `paths:`) is used by no rule (p.yml:13:3)",
            "warning[policy::unused-definition]: kind `chore` (under `kinds:`) is used by no rule (p.yml:17:3)",
        ],
        "{text}"
    );
}

#[test]
fn validate_json_lists_the_unused_definitions() {
    let value: serde_json::Value = serde_json::from_str(&validate("json")).unwrap();
    assert_eq!(value["valid"], true);
    let names: Vec<&str> = value["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["message"].as_str().unwrap())
        .collect();
    assert_eq!(names.len(), 4, "{names:?}");
}

#[test]
fn a_ticket_rule_without_trackers_uses_every_tracker() {
    let policy = git_policy::policy::load(vec![git_policy::policy::PolicySource::new(
        "p.yml",
        "version: 1\ntickets:\n  a: { pattern: 'A-1' }\n  b: { pattern: 'B-1' }\nrules:\n  - id: t\n    require: { ticket: true }\n",
    )])
    .unwrap();
    assert!(git_policy::rules::unused_definitions(&policy).is_empty());
}

#[test]
fn the_built_in_pack_defines_nothing_unused() {
    let policy =
        git_policy::policy::load(vec![git_policy::policy::PolicySource::builtin()]).unwrap();
    assert_eq!(git_policy::rules::unused_definitions(&policy), []);
}

/// 13.2: a `ticket` place a subject of the rule does not have is read as
/// another place there (or ignored, on a branch): `validate` says which.
#[test]
fn validate_warns_about_ticket_places_a_subject_does_not_have() {
    let dir = tempfile::tempdir().unwrap();
    let policy = r#"version: 1
tickets:
  jira: { pattern: '\bEPL-[0-9]+\b' }
rules:
  - id: commit-title
    on: [commit]
    require: { ticket: { in: [title] } }
  - id: pr-message
    on: [pull_request]
    require: { ticket: { in: [title, message] } }
  - id: fine
    on: [pull_request, commit]
    require: { ticket: { in: [body] } }
"#;
    std::fs::write(dir.path().join("p.yml"), policy).unwrap();
    let out = Command::cargo_bin("git-policy")
        .unwrap()
        .current_dir(dir.path())
        .args(["--policy", "p.yml", "validate"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let text = String::from_utf8(out.stdout).unwrap();
    let warnings: Vec<&str> = text.lines().filter(|l| l.starts_with("warning")).collect();
    assert_eq!(
        warnings,
        [
            "warning[policy::place-not-on-subject]: ticket place `title` (rule `commit-title`) does not exist on `commit`: read as `subject` there; places on commit: subject, body, message, branch (p.yml:7:31)",
            "warning[policy::place-not-on-subject]: ticket place `message` (rule `pr-message`) does not exist on `pull_request`: read as `commits` there: every commit message, whole; places on pull_request: title, body, branch, commits (p.yml:10:38)",
        ],
        "{text}"
    );
}

/// A tracker pattern for any KEY-123 takes `UTF-8`, `SHA-256`,
/// `CVE-2025-1234`, `ISO-8601` (and, with one-letter keys, `X-1`) for
/// tickets: `validate` warns with the pattern's file:line:col, and the
/// policy stays valid. A pattern naming its keys is not warned about.
#[test]
fn validate_warns_about_a_tracker_pattern_that_takes_non_tickets() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("p.yml"),
        "version: 1\ntickets:\n  any: { pattern: '\\b[A-Z]+-[0-9]+\\b' }\n  jira: { pattern: '\\b(ABC|OPS)-[0-9]+\\b' }\nrules:\n  - id: commit-ticket\n    on: [commit]\n    require: { ticket: { in: [message] } }\n",
    )
    .unwrap();
    let out = Command::cargo_bin("git-policy")
        .unwrap()
        .current_dir(dir.path())
        .args(["--policy", "p.yml", "validate"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let text = String::from_utf8(out.stdout).unwrap();
    let warnings: Vec<&str> = text.lines().filter(|l| l.starts_with("warning")).collect();
    assert_eq!(warnings.len(), 1, "{text}");
    assert!(
        warnings[0].starts_with("warning[policy::tracker-accepts-non-tickets]: the pattern of tracker `any` takes `UTF-8`, `UTF-16`, `UCS-2`, `SHA-1`, `SHA-256` and ")
            && warnings[0].ends_with("(p.yml:3:19)"),
        "{text}"
    );
    let json = Command::cargo_bin("git-policy")
        .unwrap()
        .current_dir(dir.path())
        .args(["--policy", "p.yml", "--format", "json", "validate"])
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    let message = v["warnings"][0]["message"].as_str().unwrap();
    assert!(message.contains("more for tickets"), "{message}");
    assert_eq!(v["warnings"][0]["line"], 3);
}
