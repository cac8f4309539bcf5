//! The rendered reports, snapshotted: what a developer sees in the hook and
//! what a machine reads. Review every change to these snapshots.

mod common;

use common::{POLICY, Repo};

fn repo() -> Repo {
    let repo = Repo::new("feature/EPL-1-login");
    repo.write(".git-policy.yml", &format!("{POLICY}  - id: subject-length\n    level: warning\n    on: [commit]\n    require: {{ message: {{ subject_max_length: 30 }} }}\n"));
    repo.write(
        "msg",
        "epl-7 Retry the login call when the gateway times out\n",
    );
    repo
}

#[test]
fn human_report_for_a_failing_message() {
    let repo = repo();
    let out = repo
        .cmd()
        .args(["check", "commit-msg", "msg"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    insta::assert_snapshot!(String::from_utf8(out.stdout).unwrap());
}

#[test]
fn json_report_for_a_failing_message() {
    let repo = repo();
    let out = repo
        .cmd()
        .args(["--format", "json", "check", "commit-msg", "msg"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    insta::assert_snapshot!(String::from_utf8(out.stdout).unwrap());
}

#[test]
fn human_report_for_a_passing_branch() {
    let repo = repo();
    let out = repo
        .cmd()
        .args(["check", "branch", "feature/EPL-2-export"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    insta::assert_snapshot!(String::from_utf8(out.stdout).unwrap());
}
