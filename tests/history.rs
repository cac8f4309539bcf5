//! The history walker against git itself: on random histories (merges, extra
//! roots, clock skew) stored as a fast-import pack, a repacked pack with
//! deltified commits, or loose objects, `history()` yields exactly the
//! commits of `git rev-list`, in its order, with their messages.

mod common;

use std::io::Write;
use std::process::{Command, Stdio};

use common::Repo;
use git_policy::sources::git::history;
use proptest::prelude::*;

/// One commit of a generated history: its parents (earlier commits) and
/// how far its committer date is moved back (clock skew).
#[derive(Clone, Debug)]
struct Spec {
    parents: Vec<usize>,
    skew: i64,
}

#[derive(Clone, Copy, Debug)]
enum Storage {
    /// As `git fast-import` writes it: one pack, commits whole.
    FastImport,
    /// `git repack -adf`: commits with long, similar messages become deltas.
    Repacked,
    /// Every object loose.
    Loose,
    /// The older half packed, the newer half loose.
    Mixed,
}

fn histories() -> impl Strategy<Value = Vec<Spec>> {
    (2usize..28).prop_flat_map(|n| {
        proptest::collection::vec(
            (
                0usize..1000,
                0usize..1000,
                0u8..10,
                prop_oneof![8 => Just(0i64), 1 => 1i64..5000],
            ),
            n,
        )
        .prop_map(|raw| {
            raw.into_iter()
                .enumerate()
                .map(|(i, (a, b, shape, skew))| {
                    let parents = match (i, shape) {
                        (0, _) | (_, 0) => Vec::new(), // a root
                        (_, 1..=2) if i > 1 => {
                            // a merge
                            let (a, b) = (a % i, b % i);
                            if a == b { vec![a] } else { vec![a, b] }
                        }
                        _ => vec![if shape < 6 { i - 1 } else { a % i }],
                    };
                    Spec { parents, skew }
                })
                .collect()
        })
    })
}

/// Writes the history with fast-import: commit `i` on `refs/heads/c{i}`,
/// committer date 1,600,000,000 + 60·i − skew, a long body so that repacking
/// deltifies commits.
fn build(specs: &[Spec], storage: Storage) -> Repo {
    let repo = Repo::new("main");
    let mut stream = String::new();
    for (i, spec) in specs.iter().enumerate() {
        let time = 1_600_000_000 + 60 * i as i64 - spec.skew;
        let body = "The same long paragraph, so that commits delta well. ".repeat(30);
        let message = format!("EPL-{i} Change number {i}\n\n{body}\n");
        stream += &format!(
            "commit refs/heads/c{i}\nmark :{}\nauthor Ada <ada@example.com> {time} +0000\ncommitter Ada <ada@example.com> {time} +0000\ndata {}\n{message}",
            i + 1,
            message.len()
        );
        for (k, parent) in spec.parents.iter().enumerate() {
            let verb = if k == 0 { "from" } else { "merge" };
            stream += &format!("{verb} :{}\n", parent + 1);
        }
        stream += "\n";
    }
    let mut child = Command::new("git")
        .args(["-c", "fastimport.unpackLimit=0", "fast-import", "--quiet"])
        .current_dir(repo.path())
        .stdin(Stdio::piped())
        .spawn()
        .expect("git fast-import runs");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stream.as_bytes())
        .unwrap();
    assert!(child.wait().unwrap().success());
    match storage {
        Storage::FastImport => {}
        Storage::Repacked => {
            repo.git(&[
                "repack",
                "-q",
                "-a",
                "-d",
                "-f",
                "--window=50",
                "--depth=20",
            ]);
        }
        Storage::Loose => unpack(&repo),
        Storage::Mixed => {
            unpack(&repo);
            let half = format!("c{}", specs.len() / 2);
            let objects = repo.git(&["rev-list", &half]);
            let mut child = Command::new("git")
                .args(["pack-objects", "-q", ".git/objects/pack/pack"])
                .current_dir(repo.path())
                .stdin(Stdio::piped())
                .stdout(Stdio::null())
                .spawn()
                .unwrap();
            child
                .stdin
                .take()
                .unwrap()
                .write_all(format!("{objects}\n").as_bytes())
                .unwrap();
            assert!(child.wait().unwrap().success());
        }
    }
    repo
}

/// Moves the objects of every pack out into loose objects.
fn unpack(repo: &Repo) {
    let packs = repo.path().join(".git/objects/pack");
    for entry in std::fs::read_dir(&packs).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "pack") {
            let bytes = std::fs::read(&path).unwrap();
            std::fs::remove_file(&path).unwrap();
            std::fs::remove_file(path.with_extension("idx")).unwrap();
            let mut child = Command::new("git")
                .args(["unpack-objects", "-q"])
                .current_dir(repo.path())
                .stdin(Stdio::piped())
                .spawn()
                .unwrap();
            child.stdin.take().unwrap().write_all(&bytes).unwrap();
            assert!(child.wait().unwrap().success());
        }
    }
}

/// Shas and messages as the walker yields them.
fn walked(repo: &Repo, spec: &str) -> Vec<(String, String)> {
    let git = git2::Repository::open(repo.path()).unwrap();
    history(&git, spec, None, false)
        .unwrap()
        .map(|read| {
            let commit = read.unwrap().decode().unwrap();
            (commit.sha.unwrap(), commit.message)
        })
        .collect()
}

fn check(specs: &[Spec], storage: Storage, ranges: &[(usize, usize)]) {
    let repo = build(specs, storage);
    let last = specs.len() - 1;
    let mut names = vec![format!("c{last}")];
    for &(a, b) in ranges {
        let (a, b) = (a % specs.len(), b % specs.len());
        names.push(format!("c{a}..c{b}"));
        names.push(format!("c{a}...c{b}"));
        names.push(format!("c{a}"));
    }
    for name in names {
        let expected = repo.git(&["rev-list", &name]);
        let expected: Vec<&str> = expected.lines().collect();
        let got = walked(&repo, &name);
        let shas: Vec<&str> = got.iter().map(|(s, _)| s.as_str()).collect();
        assert_eq!(
            shas, expected,
            "`{name}` ({storage:?}) differs from git rev-list"
        );
        // Messages as git prints them, in one call: `sha NUL message RS`.
        let logged = repo.git(&["log", "--format=%H%x00%B%x1e", &name]);
        let messages: Vec<(String, String)> = logged
            .split('\x1e')
            .filter_map(|entry| {
                let (sha, message) = entry.trim_start_matches('\n').split_once('\0')?;
                Some((sha.to_owned(), message.trim_end().to_owned()))
            })
            .collect();
        assert_eq!(got, messages, "messages of `{name}` ({storage:?})");
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn the_walk_is_git_rev_list(
        specs in histories(),
        storage in prop_oneof![
            Just(Storage::FastImport),
            Just(Storage::Repacked),
            Just(Storage::Loose),
            Just(Storage::Mixed),
        ],
        ranges in proptest::collection::vec((0usize..1000, 0usize..1000), 1..4),
    ) {
        check(&specs, storage, &ranges);
    }
}

#[test]
fn repacking_deltifies_commits_so_the_fallback_is_exercised() {
    let specs: Vec<Spec> = (0..12)
        .map(|i| Spec {
            parents: if i == 0 { vec![] } else { vec![i - 1] },
            skew: 0,
        })
        .collect();
    let repo = build(&specs, Storage::Repacked);
    let pack = std::fs::read_dir(repo.path().join(".git/objects/pack"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e == "idx"))
        .unwrap();
    let listing = repo.git(&["verify-pack", "-v", pack.to_str().unwrap()]);
    let deltified = listing
        .lines()
        .filter(|l| l.split_whitespace().nth(1) == Some("commit"))
        .filter(|l| l.split_whitespace().count() > 5)
        .count();
    assert!(deltified > 0, "no commit was deltified:\n{listing}");
    check(&specs, Storage::Repacked, &[(3, 11), (0, 5)]);
}

#[test]
fn a_skewed_merge_history_matches_git() {
    // A side branch dated before its fork point, merged back.
    let specs = vec![
        Spec {
            parents: vec![],
            skew: 0,
        },
        Spec {
            parents: vec![0],
            skew: 0,
        },
        Spec {
            parents: vec![1],
            skew: 0,
        },
        Spec {
            parents: vec![1],
            skew: 4000,
        },
        Spec {
            parents: vec![3],
            skew: 0,
        },
        Spec {
            parents: vec![2, 4],
            skew: 0,
        },
        Spec {
            parents: vec![5],
            skew: 0,
        },
    ];
    for storage in [Storage::FastImport, Storage::Loose] {
        check(&specs, storage, &[(2, 6), (4, 6), (3, 2), (6, 6)]);
    }
}

#[test]
fn a_long_history_is_read_from_the_index_tables_too() {
    // Past 2,048 lookups the pack index is read into memory; before, from the file.
    let specs: Vec<Spec> = (0..3000)
        .map(|i| Spec {
            parents: match i {
                0 => vec![],
                i if i % 97 == 0 => vec![i - 1, i / 2],
                i => vec![i - 1],
            },
            skew: 0,
        })
        .collect();
    check(&specs, Storage::FastImport, &[(1500, 2999), (10, 2999)]);
}
