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

/// The last line of a human report has one shape for every command that
/// judges: `passed|failed: <what> — <counts>`, with the counts in one order.
#[test]
fn every_command_ends_with_the_same_summary_line() {
    let repo = repo();
    repo.git(&["add", ".git-policy.yml"]);
    repo.git(&["commit", "-q", "--no-verify", "-m", "EPL-1 policy"]);
    let base = repo.git(&["rev-parse", "HEAD"]);
    let head = repo.commit("EPL-1 Retry the login");
    repo.write(
        "event.json",
        &format!(
            r#"{{"action":"opened","number":7,"pull_request":{{"number":7,"title":"EPL-1 Retry","body":null,"draft":false,"labels":[],"user":{{"login":"ada"}},"milestone":null,"commits":1,"changed_files":0,"base":{{"ref":"main","sha":"{base}"}},"head":{{"ref":"feature/EPL-1-login","sha":"{head}"}}}},"repository":{{"full_name":"octo/app"}}}}"#
        ),
    );
    let shape = regex::Regex::new(
        r"^(passed|failed): \S.* — ((\d+ commits? checked|\d+ skipped \(merges and exempt messages\)|\d+ errors?|\d+ warnings?|\d+ notices?|\d+ waived|no findings)(, |$))+$",
    )
    .unwrap();
    let runs: [(&[&str], &str); 6] = [
        (&["check", "commit-msg", "msg"], ""),
        (&["check", "branch"], ""),
        (&["check", "commits", &format!("{base}..HEAD")], ""),
        (
            &["check", "push", "origin"],
            &format!(
                "refs/heads/feature/EPL-1-login {head} refs/heads/feature/EPL-1-login {base}\n"
            ),
        ),
        (&["check", "pr", "--event", "event.json", "--offline"], ""),
        (&["audit", &format!("{base}..HEAD")], ""),
    ];
    for (args, stdin) in runs {
        let out = repo.cmd().args(args).write_stdin(stdin).output().unwrap();
        assert!(
            matches!(out.status.code(), Some(0 | 1)),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let said = String::from_utf8_lossy(&out.stdout);
        let last = said.lines().last().unwrap_or_default();
        assert!(shape.is_match(last), "{args:?}: `{last}`\n{said}");
    }
}
