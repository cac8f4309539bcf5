//! Fail closed on the policy side: nothing the policy asks for silently
//! matches nothing.

mod common;

/// About 3,000 ordinary globs can exceed the glob matcher's size limit;
/// such a set used to match nothing (so the rule never applied) while
/// `validate` called the policy fine. Sets are built for the rules that
/// judge the subject at hand (and all of them by `validate`): a check that
/// needs the set stops with the same error; a check of a subject no rule
/// using it applies to (`check branch` here) never builds it.
#[test]
fn a_glob_set_too_large_to_build_is_a_policy_error() {
    let repo = common::Repo::new("feature/EPL-1-x");
    let globs: Vec<String> = (0..3000)
        .map(|i| format!("'**/[a-z]*team-{i}-*[0-9]/**/*.{{tf,tfvars,hcl}}'"))
        .collect();
    repo.write(
        ".git-policy.yml",
        &format!(
            "version: 1\npaths:\n  big: [{}]\nrules:\n  - id: r\n    on: [pull_request, commit]\n    when: {{ changed: [big] }}\n    require: {{ title: {{ pattern: '^EPL' }} }}\n",
            globs.join(", ")
        ),
    );
    repo.write("msg", "EPL-1 A message\n");
    for args in [&["validate"][..], &["check", "commit-msg", "msg"][..]] {
        let out = repo.cmd().args(args).output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains("policy::glob-set-too-large"), "{err}");
        assert!(err.contains(".git-policy.yml:3:8"), "{err}");
    }
    let out = repo.cmd().args(["check", "branch"]).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
}

/// A 4 MB commit subject (the issue saw 1.5 GB of report from 100 MB) is
/// shown capped, in every format, and still judged.
#[test]
fn a_huge_commit_subject_is_shown_capped() {
    let repo = common::Repo::new("feature/EPL-1-x");
    repo.write(".git-policy.yml", common::POLICY);
    repo.write(
        ".git-policy.yml",
        &format!(
            "{}  - id: typed\n    on: [commit]\n    require: {{ title: {{ pattern: '^feat' }}, message: {{ forbid: 'x{{5}}' }} }}\n",
            common::POLICY
        ),
    );
    let subject = "x".repeat(4 << 20);
    repo.write("msg", &subject);
    repo.git(&["commit", "-q", "--allow-empty", "--no-verify", "-F", "msg"]);
    for format in ["human", "json", "github", "sarif", "markdown"] {
        let out = repo
            .cmd()
            .args(["--format", format, "check", "commits", "HEAD"])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1), "{format}");
        let size = out.stdout.len() + out.stderr.len();
        assert!(size < 64 << 10, "{format}: {size} bytes of report");
    }
    // The hook judges the message too, and shows it capped.
    let out = repo
        .cmd()
        .args(["check", "commit-msg", "msg"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.len() + out.stderr.len() < 64 << 10);
}
