//! `--format sarif`, validated by Microsoft's SARIF Multitool (`validate`),
//! installed from npm by `.ci/setup` (`bash .ci/test` sets SARIF_MULTITOOL).

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use common::{POLICY, Repo};
use git_policy::engine::Finding;
use git_policy::policy::{Level, PolicySource, load};
use git_policy::report::{Report, sarif};
use serde_json::Value;

fn multitool() -> PathBuf {
    let path = std::env::var_os("SARIF_MULTITOOL")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            common::root()
                .join(".ci/node/node_modules/@microsoft/sarif-multitool-linux/Sarif.Multitool")
        });
    assert!(
        path.exists(),
        "the SARIF Multitool is not installed at {}: run the tests with `bash .ci/test`",
        path.display()
    );
    path
}

/// What the Multitool's `validate` reports on a SARIF file: (rule, level, message) per problem.
fn validate(dir: &Path, sarif: &str) -> Vec<(String, String, String)> {
    let input = dir.join("input.sarif");
    let output = dir.join("validation.sarif");
    std::fs::write(&input, sarif).unwrap();
    let run = Command::new(multitool())
        .arg("validate")
        .arg(&input)
        .arg("--output")
        .arg(&output)
        .args(["--log", "ForceOverwrite"])
        // .NET needs no ICU for this; without this it may refuse to start on slim systems.
        .env("DOTNET_SYSTEM_GLOBALIZATION_INVARIANT", "1")
        .output()
        .expect("the SARIF Multitool runs");
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(
        output.exists(),
        "validate wrote no report (exit {:?}):\n{stdout}\n{}",
        run.status.code(),
        String::from_utf8_lossy(&run.stderr)
    );
    let report: Value = serde_json::from_str(&std::fs::read_to_string(&output).unwrap()).unwrap();
    report["runs"][0]["results"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .map(|r| {
            (
                r["ruleId"].as_str().unwrap_or("").to_owned(),
                // SARIF's default level is `warning`.
                r["level"].as_str().unwrap_or("warning").to_owned(),
                format!("{} {}", r["message"]["id"], r["message"]["arguments"]),
            )
        })
        .collect()
}

/// Asserts the Multitool finds no problem. Without a `repository` in
/// Cargo.toml there is no `informationUri` to give, which it notes (SARIF2005).
fn assert_valid(dir: &Path, sarif: &str) {
    let problems: Vec<_> = validate(dir, sarif)
        .into_iter()
        .filter(|(rule, ..)| !(rule == "SARIF2005" && env!("CARGO_PKG_REPOSITORY").is_empty()))
        .collect();
    assert!(problems.is_empty(), "{problems:#?}\n{sarif}");
}

/// `--format sarif check commit-msg` on a message file holding `message`.
fn commit_msg_sarif(repo: &Repo, message: &str) -> std::process::Output {
    let file = repo.path().join("MSG");
    std::fs::write(&file, message).unwrap();
    repo.cmd()
        .args(["--format", "sarif", "check", "commit-msg"])
        .arg(&file)
        .output()
        .unwrap()
}

fn sarif_of(output: &std::process::Output) -> Value {
    serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}):\n{}\n{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        )
    })
}

#[test]
fn the_validator_catches_a_broken_log() {
    // The check below would be worthless if the validator accepted anything.
    let dir = tempfile::tempdir().unwrap();
    // No `tool`, a result without a `message`: both required by the schema.
    let broken = r#"{"version":"2.1.0","runs":[{"results":[{"level":"error"}]}]}"#;
    let problems = validate(dir.path(), broken);
    let errors: Vec<&str> = problems
        .iter()
        .filter(|(_, level, _)| level == "error")
        .map(|(rule, ..)| rule.as_str())
        .collect();
    assert_eq!(errors, ["JSON1002", "JSON1002"], "{problems:#?}");
}

#[test]
fn commit_findings_point_at_the_rule_in_the_policy_file() {
    let repo = Repo::new("feature/EPL-1-x");
    repo.write(".github/policies/policy.yml", POLICY);
    repo.git(&["add", "."]);
    repo.commit("EPL-1 Add the policy");
    let bad = repo.commit("Tidy up");
    let output = repo
        .cmd()
        .args(["--format", "sarif", "check", "commits", "HEAD"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let log = sarif_of(&output);
    let run = &log["runs"][0];
    let rules = run["tool"]["driver"]["rules"].as_array().unwrap();
    let ids: Vec<&str> = rules.iter().map(|r| r["id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["commit-ticket", "branch-name"], "one entry per rule");
    assert_eq!(
        rules[0]["fullDescription"]["text"],
        "Every commit names its ticket (P1)."
    );
    let results = run["results"].as_array().unwrap();
    assert_eq!(results.len(), 1, "{results:#?}");
    let result = &results[0];
    assert_eq!(result["ruleId"], "commit-ticket");
    assert_eq!(result["ruleIndex"], 0);
    assert_eq!(result["level"], "error");
    assert_eq!(result["properties"]["commit"], bad.as_str());
    assert!(
        result["message"]["text"]
            .as_str()
            .unwrap()
            .starts_with(&format!("{} (Tidy up): ", &bad[..10]))
    );
    let location = &result["locations"][0]["physicalLocation"];
    assert_eq!(
        location["artifactLocation"]["uri"],
        ".github/policies/policy.yml"
    );
    assert_eq!(location["artifactLocation"]["uriBaseId"], "%SRCROOT%");
    // `ticket:` of the commit-ticket rule: line 9, column 7 of POLICY.
    assert_eq!(location["region"]["startLine"], 9);
    assert_eq!(location["region"]["startColumn"], 7);
    assert_eq!(run["properties"]["passed"], false);
    assert_eq!(run["invocations"][0]["executionSuccessful"], true);
    assert_valid(repo.path(), &String::from_utf8_lossy(&output.stdout));
}

#[test]
fn the_built_in_pack_is_no_file_so_its_findings_have_no_location() {
    let repo = Repo::new("main");
    repo.commit("Tidy up");
    let output = commit_msg_sarif(&repo, "no ticket here\n");
    assert_eq!(output.status.code(), Some(1));
    let log = sarif_of(&output);
    let run = &log["runs"][0];
    let results = run["results"].as_array().unwrap();
    assert!(!results.is_empty());
    assert!(results.iter().all(|r| r.get("locations").is_none()));
    let rules = run["tool"]["driver"]["rules"].as_array().unwrap();
    let pack = load(vec![PolicySource::builtin()]).unwrap();
    assert_eq!(rules.len(), pack.rules.len(), "every rule of the pack");
    assert_valid(repo.path(), &String::from_utf8_lossy(&output.stdout));
}

#[test]
fn a_clean_run_has_an_empty_result_list() {
    let repo = Repo::new("feature/EPL-1-x");
    repo.write(".git-policy.yml", POLICY);
    repo.git(&["add", "."]);
    repo.commit("EPL-1 Add the policy");
    let output = repo
        .cmd()
        .args(["--format", "sarif", "check", "branch"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0));
    let log = sarif_of(&output);
    assert_eq!(log["runs"][0]["results"], serde_json::json!([]));
    assert_valid(repo.path(), &String::from_utf8_lossy(&output.stdout));
}

#[test]
fn an_invalid_policy_is_a_failed_invocation_with_located_notifications() {
    let repo = Repo::new("main");
    repo.write(
        ".git-policy.yml",
        "version: 1\nrules:\n  - id: x\n    on: [comit]\n    require: { ticket: {} }\n",
    );
    let output = commit_msg_sarif(&repo, "EPL-1 Fix\n");
    assert_eq!(output.status.code(), Some(2));
    let log = sarif_of(&output);
    let run = &log["runs"][0];
    assert!(run.get("results").is_none(), "nothing was judged");
    let invocation = &run["invocations"][0];
    assert_eq!(invocation["executionSuccessful"], false);
    let notes = invocation["toolExecutionNotifications"].as_array().unwrap();
    let located = notes
        .iter()
        .find(|n| n["descriptor"]["id"].is_string())
        .expect("a policy error");
    assert!(
        located["message"]["text"]
            .as_str()
            .unwrap()
            .contains("comit")
    );
    let place = &located["locations"][0]["physicalLocation"];
    assert_eq!(place["artifactLocation"]["uri"], ".git-policy.yml");
    assert_eq!(place["region"]["startLine"], 4);
    assert_valid(repo.path(), &String::from_utf8_lossy(&output.stdout));
}

#[test]
fn a_fatal_error_is_a_failed_invocation() {
    let dir = tempfile::tempdir().unwrap();
    let output = common::git_policy(dir.path())
        .args(["--format", "sarif", "check", "branch"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let log = sarif_of(&output);
    let note = &log["runs"][0]["invocations"][0]["toolExecutionNotifications"][0];
    assert!(
        note["message"]["text"]
            .as_str()
            .unwrap()
            .contains("not a git repository"),
        "{note}"
    );
    assert_valid(dir.path(), &String::from_utf8_lossy(&output.stdout));
}

#[test]
fn findings_about_a_changed_file_point_at_that_file() {
    // Approval findings name the changed file that needs the approval
    // (a pull request check needs the API; the renderer is pure).
    let policy = load(vec![PolicySource::new(".github/policies/p.yml", POLICY)]).unwrap();
    let report = Report {
        subject_kind: "pull_request",
        subject_ref: "octo/app#7".into(),
        findings: vec![
            Finding {
                rule: Arc::from("ci-cd-approval"),
                level: Level::Error,
                message: Arc::from("needs an approval from @octo/platform"),
                help: Some(Arc::from("ask the platform team to review")),
                commit: None,
                commit_subject: None,
                ticket: None,
                path: Some(".github/workflows/deploy prod.yml".into()),
                policy: policy.rules[0].require_span,
                requirement: None,
                approvals: None,
            },
            Finding {
                rule: Arc::from("proposed-policy"),
                level: Level::Notice,
                message: Arc::from("the pull request changes the policy"),
                help: None,
                commit: None,
                commit_subject: None,
                ticket: None,
                path: None,
                policy: policy.rules[0].span,
                requirement: None,
                approvals: None,
            },
        ],
        ..Report::default()
    };
    let text = sarif::render(&report, &policy);
    let log: Value = serde_json::from_str(&text).unwrap();
    let results = log["runs"][0]["results"].as_array().unwrap();
    let place = &results[0]["locations"][0]["physicalLocation"];
    assert_eq!(
        place["artifactLocation"]["uri"],
        ".github/workflows/deploy%20prod.yml"
    );
    assert_eq!(place["region"]["startLine"], 1);
    // A rule id the policy does not have gets its own entry, and the index points at it.
    let rules = log["runs"][0]["tool"]["driver"]["rules"]
        .as_array()
        .unwrap();
    let index = results[1]["ruleIndex"].as_u64().unwrap() as usize;
    assert_eq!(rules[index]["id"], "proposed-policy");
    assert_eq!(results[1]["level"], "note");
    let dir = tempfile::tempdir().unwrap();
    assert_valid(dir.path(), &text);
}

#[test]
fn a_waived_finding_is_a_suppressed_result() {
    let repo = Repo::new("main");
    repo.commit("EPL-1 initial");
    let hotfix = repo.commit("hotfix");
    repo.write(
        ".git-policy.yml",
        &format!(
            "{POLICY}waivers:\n  - commit: {hotfix}\n    rules: [commit-ticket]\n    reason: outage hotfix\n    granted_by: asherman\n"
        ),
    );
    let output = repo
        .cmd()
        .args(["--format", "sarif", "check", "commits", "HEAD~1..HEAD"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0));
    let log = sarif_of(&output);
    let result = &log["runs"][0]["results"][0];
    assert_eq!(result["ruleId"], "commit-ticket");
    assert_eq!(result["suppressions"][0]["kind"], "external");
    assert_eq!(
        result["suppressions"][0]["location"]["physicalLocation"]["region"]["startLine"],
        15
    );
    assert_valid(repo.path(), &String::from_utf8_lossy(&output.stdout));
}
