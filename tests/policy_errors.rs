//! Every malformed policy under fixtures/policies/invalid/ exits 2 and
//! points at the offending value: file:line:col and a snippet. The rendered
//! diagnostics are snapshotted (reviewed in tests/snapshots/).

mod common;

use common::{git_policy, root};

#[test]
fn malformed_policies_are_rejected_with_a_pointer() {
    let dir = root().join("fixtures/policies/invalid");
    let mut count = 0;
    insta::glob!(&dir, "*.yml", |path| {
        count += 1;
        let output = git_policy(&dir)
            .args(["--policy"])
            .arg(path)
            .arg("validate")
            .output()
            .unwrap();
        let stderr = String::from_utf8(output.stderr).unwrap();
        assert_eq!(
            output.status.code(),
            Some(2),
            "{}: {stderr}",
            path.display()
        );
        assert!(
            output.stdout.is_empty(),
            "nothing on stdout for a human failure"
        );
        let name = path.file_name().unwrap().to_string_lossy();
        let located = regex::Regex::new(&format!(r"{}:\d+:\d+: ", regex::escape(&name))).unwrap();
        assert!(
            located.is_match(&stderr),
            "{name}: no file:line:col in\n{stderr}"
        );
        assert!(
            stderr.contains("╭─["),
            "{name}: no source snippet in\n{stderr}"
        );
        assert!(!stderr.contains("panicked"), "{name}: panic\n{stderr}");
        insta::assert_snapshot!(stderr);
    });
    assert!(count >= 20, "at least 20 malformed policies, found {count}");
}

#[test]
fn many_mistakes_in_one_file_are_all_reported() {
    let dir = root().join("fixtures/policies/invalid");
    let output = git_policy(&dir)
        .args(["--policy", "24-many-errors-at-once.yml", "validate"])
        .output()
        .unwrap();
    let stderr = String::from_utf8(output.stderr).unwrap();
    for needle in [
        "unclosed character class",
        "`exmple`",
        "`commits`",
        "`mesage`",
        "`iaac`",
        "`one_of` is an empty list",
    ] {
        assert!(stderr.contains(needle), "missing {needle} in\n{stderr}");
    }
    assert!(stderr.contains("6 problems"), "{stderr}");
}

#[test]
fn json_lists_policy_errors_with_places() {
    let dir = root().join("fixtures/policies/invalid");
    let output = git_policy(&dir)
        .args([
            "--format",
            "json",
            "--policy",
            "07-undefined-tracker.yml",
            "validate",
        ])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let value: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(value["passed"], serde_json::Value::Null);
    let error = &value["policy_errors"][0];
    assert_eq!(error["code"], "policy::undefined-name");
    assert_eq!(
        error["file"],
        "fixtures/policies/invalid/07-undefined-tracker.yml"
    );
    assert_eq!(
        (error["line"].as_u64(), error["column"].as_u64()),
        (Some(6), Some(37))
    );
    assert_eq!(error["help"], "did you mean `jira`?");
}

#[test]
fn policy_folder_files_are_merged_and_duplicates_across_files_rejected() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("a.yml"),
        "version: 1\ntickets:\n  jira: { pattern: '\\bEPL-[0-9]+\\b' }\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("b.yaml"),
        "version: 1\nrules:\n  - id: commit-ticket\n    on: [commit]\n    require: { ticket: { trackers: [jira] } }\n",
    )
    .unwrap();
    git_policy(dir.path())
        .args(["--policy", "."])
        .arg("validate")
        .assert()
        .success()
        .stdout(predicates::str::contains("1 rule from a.yml, b.yaml"));
    std::fs::write(
        dir.path().join("c.yml"),
        "version: 1\ntickets:\n  jira: { pattern: 'X-[0-9]+' }\n",
    )
    .unwrap();
    let output = git_policy(dir.path())
        .args(["--policy", "."])
        .arg("validate")
        .output()
        .unwrap();
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr.contains("c.yml:3:3: tracker `jira` is defined twice"),
        "{stderr}"
    );
}
