//! Commit objects as git reads them. Crafted objects (written with
//! `git hash-object --literally`: odd header orders, NULs, encodings, odd
//! dates) are read by git-policy exactly as `git log` shows them — which
//! commits, in which order, with how many parents and which message —
//! whether they are read from a pack or through libgit2.

mod common;

use std::io::Write;
use std::process::{Command, Stdio};

use common::{POLICY, Repo};
use git_policy::sources::git::history;
use predicates::str::contains;
use proptest::prelude::*;

const EMPTY_TREE: &str = "4b825dc642cb6eb9a060e54bf8d69288fbee4904";

/// Writes `raw` as a commit object, as git stores it; returns its id.
fn write_object(repo: &Repo, raw: &[u8]) -> String {
    let mut child = Command::new("git")
        .args([
            "hash-object",
            "-t",
            "commit",
            "-w",
            "--literally",
            "--stdin",
        ])
        .current_dir(repo.path())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(raw).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

fn empty_tree(repo: &Repo) {
    let out = Command::new("git")
        .args(["hash-object", "-t", "tree", "-w", "/dev/null"])
        .current_dir(repo.path())
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), EMPTY_TREE);
}

fn with_policy() -> Repo {
    let repo = Repo::new("main");
    repo.write(".git-policy.yml", POLICY);
    empty_tree(&repo);
    repo
}

fn header(parents: &[&str], time: u64) -> String {
    let mut h = format!("tree {EMPTY_TREE}\n");
    for p in parents {
        h += &format!("parent {p}\n");
    }
    h += &format!(
        "author Ada <ada@example.com> {time} +0000\ncommitter Ada <ada@example.com> {time} +0000\n"
    );
    h
}

#[test]
fn a_parent_line_after_the_committer_is_not_a_merge() {
    // git (and `git fsck --strict`) read one parent: the second `parent`
    // line is an unknown header. It is an ordinary commit, checked as one.
    let repo = with_policy();
    let root = write_object(
        &repo,
        format!("{}\nEPL-1 root\n", header(&[], 1)).as_bytes(),
    );
    let side = write_object(
        &repo,
        format!("{}\nEPL-2 side\n", header(&[], 2)).as_bytes(),
    );
    let odd = format!(
        "{}parent {side}\n\nfix the login without a ticket\n",
        header(&[&root], 3)
    );
    let odd = write_object(&repo, odd.as_bytes());
    repo.git(&["update-ref", "refs/heads/main", &odd]);
    assert_eq!(repo.git(&["log", "--format=%P", "-1"]), root);
    assert_eq!(repo.git(&["rev-list", "HEAD"]).lines().count(), 2);
    repo.cmd()
        .args(["check", "commits", "HEAD"])
        .assert()
        .code(1)
        .stdout(contains("fix the login without a ticket"))
        .stdout(contains("2 commits checked"));
}

#[test]
fn a_nul_in_the_message_hides_the_rest_as_in_git_log() {
    // `git log` shows the message up to the NUL: the ticket after it is
    // not there for a reviewer, so it does not count.
    let repo = with_policy();
    let raw = format!("{}\nfix the login\0 EPL-7\n", header(&[], 1));
    let id = write_object(&repo, raw.as_bytes());
    repo.git(&["update-ref", "refs/heads/main", &id]);
    assert_eq!(repo.git(&["log", "--format=%B"]), "fix the login");
    repo.cmd()
        .args(["check", "commits", "HEAD"])
        .assert()
        .code(1)
        .stdout(contains("fix the login"));
}

#[test]
fn a_message_in_latin1_is_read_as_git_log_shows_it() {
    let repo = with_policy();
    let mut raw = header(&[], 1).into_bytes();
    raw.extend_from_slice(b"encoding ISO-8859-1\n\nEPL-3 caf\xe9 \xa9\n");
    let id = write_object(&repo, &raw);
    repo.git(&["update-ref", "refs/heads/main", &id]);
    let git = git2::Repository::open(repo.path()).unwrap();
    let commit = history(&git, "HEAD", None, false)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .decode()
        .unwrap();
    assert_eq!(commit.message, "EPL-3 café ©");
    assert_eq!(repo.git(&["log", "--format=%B"]), commit.message);
}

#[test]
fn a_nul_in_the_header_is_not_judged() {
    let repo = with_policy();
    let raw = format!("{}x-odd a\0b\n\nEPL-1 fine\n", header(&[], 1));
    let id = write_object(&repo, raw.as_bytes());
    repo.git(&["update-ref", "refs/heads/main", &id]);
    repo.cmd()
        .args(["check", "commits", "HEAD"])
        .assert()
        .code(2)
        .stderr(contains("malformed"));
}

/// One crafted commit: its parents (earlier commits of the chain), what
/// odd thing its object holds.
#[derive(Clone, Debug)]
struct Crafted {
    parents: Vec<usize>,
    /// A `parent` line after the committer, naming this earlier commit.
    stray_parent: Option<usize>,
    /// Upper-case hex in the `parent` lines.
    upper_hex: bool,
    date: Date,
    extra: Extra,
    ticket: bool,
}

#[derive(Clone, Debug)]
enum Date {
    Plain(u64),
    Negative(u64),
    Overflowing,
    Spaces(u64),
    /// `committer` before `author`: git reads no date (0).
    Swapped(u64),
    NoNumber,
}

#[derive(Clone, Debug)]
enum Extra {
    None,
    NulInMessage,
    Latin1,
    Utf8Label,
    Signature,
    TrailingBlankLines,
    Mergetag,
}

fn crafted() -> impl Strategy<Value = Crafted> {
    (
        proptest::collection::vec(0usize..100, 0..3),
        proptest::option::weighted(0.3, 0usize..100),
        proptest::bool::weighted(0.2),
        prop_oneof![
            6 => (0u64..5000).prop_map(Date::Plain),
            1 => (0u64..5000).prop_map(Date::Negative),
            1 => Just(Date::Overflowing),
            1 => (0u64..5000).prop_map(Date::Spaces),
            1 => (0u64..5000).prop_map(Date::Swapped),
            1 => Just(Date::NoNumber),
        ],
        prop_oneof![
            4 => Just(Extra::None),
            1 => Just(Extra::NulInMessage),
            1 => Just(Extra::Latin1),
            1 => Just(Extra::Utf8Label),
            1 => Just(Extra::Signature),
            1 => Just(Extra::TrailingBlankLines),
            1 => Just(Extra::Mergetag),
        ],
        any::<bool>(),
    )
        .prop_map(
            |(parents, stray_parent, upper_hex, date, extra, ticket)| Crafted {
                parents,
                stray_parent,
                upper_hex,
                date,
                extra,
                ticket,
            },
        )
}

fn raw_commit(i: usize, spec: &Crafted, ids: &[String]) -> Vec<u8> {
    let hex = |k: usize| {
        let id = &ids[k % ids.len()];
        if spec.upper_hex {
            id.to_uppercase()
        } else {
            id.clone()
        }
    };
    let mut raw = format!("tree {EMPTY_TREE}\n").into_bytes();
    if !ids.is_empty() {
        let mut seen = Vec::new();
        for &p in &spec.parents {
            let p = hex(p);
            if !seen.contains(&p) {
                raw.extend_from_slice(format!("parent {p}\n").as_bytes());
                seen.push(p);
            }
        }
    }
    let base = 1_600_000_000u64 + 60 * i as u64;
    let author = format!("author Ada <ada@example.com> {base} +0000\n");
    let committer = |date: &str| format!("committer Ada <ada@example.com> {date} +0000\n");
    let lines = match &spec.date {
        Date::Plain(skew) => author + &committer(&(base - skew).to_string()),
        Date::Negative(n) => author + &committer(&format!("-{n}")),
        Date::Overflowing => author + &committer("99999999999999999999999"),
        Date::Spaces(skew) => {
            author
                + &format!(
                    "committer Ada <ada@example.com>   \t{} +0000\n",
                    base - skew
                )
        }
        Date::Swapped(skew) => committer(&(base - skew).to_string()) + &author,
        Date::NoNumber => author + "committer Ada <ada@example.com> soon\n",
    };
    raw.extend_from_slice(lines.as_bytes());
    if let (Some(p), false) = (spec.stray_parent, ids.is_empty()) {
        raw.extend_from_slice(format!("parent {}\n", hex(p)).as_bytes());
    }
    let ticket = if spec.ticket {
        format!("EPL-{i} ")
    } else {
        String::new()
    };
    let subject = format!("{ticket}change {i}");
    match spec.extra {
        Extra::None => raw.extend_from_slice(format!("\n{subject}\n").as_bytes()),
        Extra::NulInMessage => {
            raw.extend_from_slice(format!("\nchange {i}\0{subject} after a NUL\n").as_bytes())
        }
        Extra::Latin1 => {
            raw.extend_from_slice(b"encoding ISO-8859-1\n\n");
            raw.extend_from_slice(subject.as_bytes());
            raw.extend_from_slice(b" d\xe9j\xe0 vu \x80\xff\n");
        }
        Extra::Utf8Label => {
            raw.extend_from_slice(format!("encoding utf8\n\n{subject} déjà vu\n").as_bytes())
        }
        Extra::Signature => raw.extend_from_slice(
            format!("gpgsig -----BEGIN PGP SIGNATURE-----\n \n author Eve <e@x> 1 +0000\n -----END PGP SIGNATURE-----\n\n{subject}\n\nbody\n")
                .as_bytes(),
        ),
        Extra::TrailingBlankLines => {
            raw.extend_from_slice(format!("\n\n\n{subject}\n\n\n").as_bytes())
        }
        Extra::Mergetag => raw.extend_from_slice(
            format!("mergetag object {EMPTY_TREE}\n type tree\n\n{subject}\n").as_bytes(),
        ),
    }
    raw
}

/// What `git log` shows of each commit: id, parent count, message.
fn logged(repo: &Repo, spec: &str) -> Vec<(String, usize, String)> {
    let out = Command::new("git")
        .args([
            "--no-replace-objects",
            "log",
            "--format=%H%x00%P%x00%B%x1e",
            spec,
        ])
        .current_dir(repo.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    text.split('\x1e')
        .filter_map(|entry| {
            let mut parts = entry.trim_start_matches('\n').splitn(3, '\0');
            let (sha, parents, message) = (parts.next()?, parts.next()?, parts.next()?);
            Some((
                sha.to_owned(),
                parents.split_whitespace().count(),
                message.trim_end().to_owned(),
            ))
        })
        .collect()
}

fn walked(repo: &Repo, spec: &str) -> Result<Vec<(String, usize, String)>, String> {
    let git = git2::Repository::open(repo.path()).unwrap();
    let walk = history(&git, spec, None, false).map_err(|f| f.message)?;
    walk.map(|read| {
        let commit = read.and_then(|r| r.decode()).map_err(|f| f.message)?;
        Ok((commit.sha.unwrap(), commit.parents, commit.message))
    })
    .collect()
}

fn check_crafted(specs: &[Crafted], packed: bool) {
    let repo = Repo::new("main");
    empty_tree(&repo);
    let mut ids: Vec<String> = Vec::new();
    for (i, spec) in specs.iter().enumerate() {
        let id = write_object(&repo, &raw_commit(i, spec, &ids));
        ids.push(id);
    }
    // The range's ends are resolved by libgit2, which parses them (and
    // refuses what it cannot parse, e.g. an overflowing date: exit 2): the
    // tip is a plain commit on top of the crafted ones.
    let plain = Crafted {
        parents: vec![ids.len() - 1],
        stray_parent: None,
        upper_hex: false,
        date: Date::Plain(0),
        extra: Extra::None,
        ticket: true,
    };
    let tip = write_object(&repo, &raw_commit(ids.len(), &plain, &ids));
    repo.git(&["update-ref", "refs/heads/main", &tip]);
    if packed {
        // Keep every object (a stray parent is not reachable for git).
        repo.git(&["repack", "-q", "-a", "-d", "-k"]);
    }
    let expected = logged(&repo, "HEAD");
    let mut ranges = vec![String::from("HEAD")];
    let middle = ids.len() / 2;
    if ids.len() > 2 && matches!(specs[middle].date, Date::Plain(_)) {
        ranges.push(format!("{}..HEAD", ids[middle]));
    }
    for range in ranges {
        let expected = if range == "HEAD" {
            expected.clone()
        } else {
            logged(&repo, &range)
        };
        assert_eq!(
            walked(&repo, &range),
            Ok(expected),
            "`{range}`, packed: {packed}"
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn crafted_commits_are_read_as_git_log_shows_them(
        specs in proptest::collection::vec(crafted(), 1..8),
        packed in any::<bool>(),
    ) {
        check_crafted(&specs, packed);
    }
}
