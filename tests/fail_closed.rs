//! Fail closed on the policy side: nothing the policy asks for silently
//! matches nothing.

mod common;

/// About 3,000 ordinary globs can exceed the glob matcher's size limit;
/// such a set used to match nothing (so the rule never applied) while
/// `validate` called the policy fine.
#[test]
fn a_glob_set_too_large_to_build_is_a_policy_error() {
    let repo = common::Repo::new("main");
    let globs: Vec<String> = (0..3000)
        .map(|i| format!("'**/[a-z]*team-{i}-*[0-9]/**/*.{{tf,tfvars,hcl}}'"))
        .collect();
    repo.write(
        ".git-policy.yml",
        &format!(
            "version: 1\npaths:\n  big: [{}]\nrules:\n  - id: r\n    on: [pull_request]\n    when: {{ changed: [big] }}\n    require: {{ ready: true }}\n",
            globs.join(", ")
        ),
    );
    for args in [&["validate"][..], &["check", "branch", "main"][..]] {
        let out = repo.cmd().args(args).output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains("policy::glob-set-too-large"), "{err}");
        assert!(err.contains(".git-policy.yml:3:8"), "{err}");
    }
}
