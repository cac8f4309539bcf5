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

/// The policy at a commit, from git or else from the API, is one reader
/// (`sources::policy_of_record`) that `check pr` and the audit's evidence
/// both ask: the clone decides when it holds the commit (GitHub is not
/// asked, even when it would answer otherwise), the contents API when it
/// does not, and `--policy` stands in for every commit.
mod policy_of_record {
    use std::time::Duration;

    use base64::Engine;
    use git_policy::sources::github::{Connection, Settings};
    use git_policy::sources::policy_of_record::{Found, PolicyReader};
    use serde_json::json;
    use wiremock::matchers::{any, path, query_param};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    use super::common::Repo;

    /// A server (it answers from its own thread) set up by `mount`.
    fn server(mount: impl AsyncFnOnce(&MockServer)) -> MockServer {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async {
            let server = MockServer::start().await;
            mount(&server).await;
            server
        })
    }

    /// A server that fails the test if anything asks it.
    fn silent() -> MockServer {
        server(async |server| {
            Mock::given(any())
                .respond_with(ResponseTemplate::new(500))
                .expect(0)
                .mount(server)
                .await;
        })
    }

    fn connect(server: &MockServer) -> Connection {
        Settings {
            api: server.uri(),
            token: Some(String::from("t")),
            timeout: Duration::from_secs(5),
            retry_delay: Duration::from_millis(1),
        }
        .connect()
        .unwrap()
    }

    fn commit_policy(repo: &Repo, text: &str) -> String {
        repo.write(".git-policy.yml", text);
        repo.git(&["add", "."]);
        repo.git(&["commit", "-q", "-m", "policy"]);
        repo.git(&["rev-parse", "HEAD"])
    }

    #[test]
    fn a_commit_the_clone_holds_is_read_with_git_without_asking_github() {
        let repo = Repo::new("main");
        repo.commit("no policy yet");
        let bare = repo.git(&["rev-parse", "HEAD"]);
        let with = commit_policy(&repo, "version: 1\n# from git\n");
        let git = git2::Repository::open(repo.path()).unwrap();
        let server = silent();
        let Connection { runtime, gh } = connect(&server);
        let reader = PolicyReader {
            gh: &gh,
            git: Some(&git),
            repo: "octo/app",
            given: &[],
        };
        let Found::AtCommit(sources) = runtime.block_on(reader.at(&with)).unwrap() else {
            panic!("the commit's own files were not found");
        };
        assert_eq!(sources.len(), 1);
        assert_eq!(sources[0].name, format!(".git-policy.yml@{}", &with[..10]));
        assert_eq!(sources[0].text, "version: 1\n# from git\n");
        // No policy in the clone is no policy: GitHub is not asked for one.
        let found = runtime.block_on(reader.at(&bare)).unwrap();
        assert!(matches!(found, Found::Absent), "{found:?}");
    }

    #[test]
    fn a_commit_the_clone_lacks_is_read_through_the_contents_api() {
        let repo = Repo::new("main");
        repo.commit("unrelated");
        let git = git2::Repository::open(repo.path()).unwrap();
        let (known, unknown) = ("a".repeat(40), "b".repeat(40));
        let text = "version: 1\n# from the API\n";
        let server = server(async |server| {
            Mock::given(path("/repos/octo/app/contents/.git-policy.yml"))
                .and(query_param("ref", known.as_str()))
                .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                    "type": "file",
                    "encoding": "base64",
                    "size": text.len(),
                    "content": base64::engine::general_purpose::STANDARD.encode(text),
                })))
                .expect(2)
                .mount(server)
                .await;
        });
        let Connection { runtime, gh } = connect(&server);
        // With a clone that lacks the commit, and without a clone.
        for git in [Some(&git), None] {
            let reader = PolicyReader {
                gh: &gh,
                git,
                repo: "octo/app",
                given: &[],
            };
            let Found::AtCommit(sources) = runtime.block_on(reader.at(&known)).unwrap() else {
                panic!("the API's files were not found");
            };
            assert_eq!(sources.len(), 1);
            assert_eq!(sources[0].name, format!(".git-policy.yml@{}", &known[..10]));
            assert_eq!(sources[0].text, text);
            // GitHub has neither path (404 both): no policy, not an error.
            let found = runtime.block_on(reader.at(&unknown)).unwrap();
            assert!(matches!(found, Found::Absent), "{found:?}");
        }
    }

    #[test]
    fn the_policy_given_stands_in_for_every_commit_and_nothing_is_read() {
        let repo = Repo::new("main");
        let head = commit_policy(&repo, "version: 1\n# the commit's\n");
        let given_dir = tempfile::tempdir().unwrap();
        let given = given_dir.path().join("given.yml");
        std::fs::write(&given, "version: 1\n# given\n").unwrap();
        let git = git2::Repository::open(repo.path()).unwrap();
        let server = silent();
        let Connection { runtime, gh } = connect(&server);
        let reader = PolicyReader {
            gh: &gh,
            git: Some(&git),
            repo: "octo/app",
            given: std::slice::from_ref(&given),
        };
        for sha in [head.clone(), "c".repeat(40)] {
            let Found::Given(sources) = runtime.block_on(reader.at(&sha)).unwrap() else {
                panic!("--policy did not stand in for {sha}");
            };
            assert_eq!(sources.len(), 1);
            assert_eq!(sources[0].text, "version: 1\n# given\n");
        }
        // The commit's own files, when asked for them (the head's proposal).
        let own = runtime.block_on(reader.files_at(&head)).unwrap().unwrap();
        assert_eq!(own[0].text, "version: 1\n# the commit's\n");
    }
}
