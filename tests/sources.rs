//! Sources on real repositories: policy files read from a commit's tree.

mod common;

use common::Repo;
use git_policy::sources::policy_files::read_at_commit;

#[test]
fn policies_are_read_from_a_commit_not_the_work_tree() {
    let repo = Repo::new("main");
    repo.write(".github/policies/b.yml", "version: 1\n# b\n");
    repo.write(".github/policies/nested/a.yaml", "version: 1\n# a\n");
    repo.write(".github/policies/readme.txt", "not a policy");
    repo.git(&["add", "."]);
    repo.git(&["commit", "-q", "-m", "policies"]);
    let base = repo.git(&["rev-parse", "HEAD"]);
    // The work tree changes after the commit; the commit's version is what counts.
    repo.write(
        ".github/policies/b.yml",
        "version: 1\n# edited, not committed\n",
    );
    let git = git2::Repository::open(repo.path()).unwrap();
    let oid = git2::Oid::from_str(&base).unwrap();
    let sources = read_at_commit(&git, oid).unwrap().expect("policies found");
    let names: Vec<&str> = sources.iter().map(|s| s.name.as_str()).collect();
    let short = &base[..10];
    assert_eq!(
        names,
        [
            format!(".github/policies/b.yml@{short}"),
            format!(".github/policies/nested/a.yaml@{short}")
        ]
    );
    assert_eq!(sources[0].text, "version: 1\n# b\n");
}

#[test]
fn the_dot_file_is_read_when_there_is_no_policy_folder_and_none_is_none() {
    let repo = Repo::new("main");
    repo.commit("empty");
    let git = git2::Repository::open(repo.path()).unwrap();
    let first = git.head().unwrap().target().unwrap();
    assert!(read_at_commit(&git, first).unwrap().is_none());
    repo.write(".git-policy.yml", "version: 1\n");
    repo.git(&["add", "."]);
    repo.git(&["commit", "-q", "-m", "policy"]);
    let second = git.head().unwrap().target().unwrap();
    let sources = read_at_commit(&git, second).unwrap().unwrap();
    assert_eq!(sources.len(), 1);
    assert!(sources[0].name.starts_with(".git-policy.yml@"));
}

#[test]
fn a_policy_blob_that_is_not_utf8_is_an_error() {
    let repo = Repo::new("main");
    std::fs::write(
        repo.path().join(".git-policy.yml"),
        b"version: 1\n# caf\xe9\n",
    )
    .unwrap();
    repo.git(&["add", "."]);
    repo.git(&["commit", "-q", "-m", "latin-1 policy"]);
    let git = git2::Repository::open(repo.path()).unwrap();
    let head = git.head().unwrap().target().unwrap();
    let err = read_at_commit(&git, head).unwrap_err();
    assert!(err.message.contains("not valid UTF-8"), "{}", err.message);
}
