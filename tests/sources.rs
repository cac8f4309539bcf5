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

mod cleaning {
    use std::io::Write;
    use std::process::{Command, Stdio};

    use git_policy::sources::hook::clean_message;
    use proptest::prelude::*;

    /// What git stores for a message edited in the commit-msg flow:
    /// `git stripspace --strip-comments` (without its final newline).
    fn git_stripspace(raw: &str, comment: char) -> String {
        let mut child = Command::new("git")
            .args(["-c", &format!("core.commentChar={comment}")])
            .args(["stripspace", "--strip-comments"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("git runs");
        child
            .stdin
            .take()
            .unwrap()
            .write_all(raw.as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success());
        String::from_utf8(out.stdout)
            .unwrap()
            .trim_end_matches('\n')
            .to_owned()
    }

    fn lines() -> impl Strategy<Value = String> {
        let piece = prop_oneof![
            Just(String::from("EPL-1 Fix")),
            Just(String::from("#")),
            Just(String::from(";")),
            Just(String::from(" ")),
            Just(String::from("\t")),
            Just(String::from("\r")),
            Just(String::from("\u{0b}")),
            Just(String::from("\u{0c}")),
            Just(String::from("\u{a0}")),
            Just(String::from("é")),
            Just(String::from("x")),
        ];
        proptest::collection::vec(proptest::collection::vec(piece, 0..5), 0..8).prop_map(|lines| {
            lines
                .into_iter()
                .map(|l| l.concat())
                .collect::<Vec<_>>()
                .join("\n")
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

        /// The message judged is the message git will store.
        #[test]
        fn cleaning_is_gits_stripspace(raw in lines(), comment in prop_oneof![Just('#'), Just(';')]) {
            prop_assert_eq!(clean_message(&raw, &comment.to_string()), git_stripspace(&raw, comment));
        }
    }
}
