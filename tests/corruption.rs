//! A damaged pack or pack index, through the binary: `check commits`
//! either judges exactly the stored history (the same report as on the
//! undamaged repository, which is what `git log` shows there) or exits 2 —
//! never a verdict on other bytes, never a signal. Damage: random bytes of
//! the pack or its index, two entries' offsets swapped, an offset moved
//! near, past or far past the pack's end.

mod common;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use common::{POLICY, Repo, git_policy};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};

const IDS_AT: usize = 8 + 256 * 4;

/// 16 commits, every third without a ticket, written by fast-import as one
/// pack; `repacked`: with long similar messages, repacked so that most
/// commits are deltas.
fn build(repacked: bool) -> Repo {
    build_with(repacked, true)
}

/// As [`build`]; `ofs`: deltas name their base by offset (git's default),
/// else by id.
fn build_with(repacked: bool, ofs: bool) -> Repo {
    let repo = Repo::new("main");
    let mut stream = String::new();
    for i in 1..=16 {
        let ticket = if i % 3 == 0 {
            String::new()
        } else {
            format!("EPL-{i} ")
        };
        let body = if repacked {
            "A long paragraph repeated so that commits delta well. ".repeat(20)
        } else {
            String::from("body")
        };
        let message = format!("{ticket}change {i}\n\n{body}\n");
        stream += &format!(
            "commit refs/heads/main\nmark :{i}\ncommitter A <a@example.com> {} +0000\ndata {}\n{message}\n",
            1_600_000_000 + i * 60,
            message.len()
        );
    }
    let mut child = Command::new("git")
        .args(["-c", "fastimport.unpackLimit=0", "fast-import", "--quiet"])
        .current_dir(repo.path())
        .stdin(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stream.as_bytes())
        .unwrap();
    assert!(child.wait().unwrap().success());
    if repacked {
        let ofs = format!("repack.useDeltaBaseOffset={ofs}");
        repo.git(&["-c", &ofs, "repack", "-q", "-a", "-d", "-f", "--window=50"]);
    }
    repo
}

fn pack_files(repo: &Repo) -> (PathBuf, PathBuf) {
    let idx = std::fs::read_dir(repo.path().join(".git/objects/pack"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e == "idx"))
        .unwrap();
    let pack = idx.with_extension("pack");
    for file in [&idx, &pack] {
        let mut permissions = std::fs::metadata(file).unwrap().permissions();
        #[expect(
            clippy::permissions_set_readonly_false,
            reason = "a temp pack made writable to damage it"
        )]
        permissions.set_readonly(false);
        std::fs::set_permissions(file, permissions).unwrap();
    }
    (idx, pack)
}

fn run(repo: &Repo, policy: &Path) -> (Option<i32>, String, String) {
    let out = git_policy(repo.path())
        .args(["--format", "json", "--policy"])
        .arg(policy)
        .args(["check", "commits", "HEAD"])
        .output()
        .unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[derive(Clone, Debug)]
enum Damage {
    /// Bytes xor-ed: in the index (true) or the pack.
    Flips(Vec<(bool, prop::sample::Index, u8)>),
    /// Two entries' pack offsets exchanged.
    Swap(prop::sample::Index, prop::sample::Index),
    /// One entry's offset moved: `Near(k)` is k bytes before the pack's
    /// end, `Past(k)` k bytes after it, `Raw` any 32-bit value.
    Near(prop::sample::Index, u8),
    Past(prop::sample::Index, u16),
    Raw(prop::sample::Index, u32),
}

fn damages() -> impl Strategy<Value = Damage> {
    let index = any::<prop::sample::Index>;
    prop_oneof![
        3 => proptest::collection::vec((any::<bool>(), index(), any::<u8>()), 1..8)
            .prop_map(Damage::Flips),
        2 => (index(), index()).prop_map(|(a, b)| Damage::Swap(a, b)),
        1 => (index(), any::<u8>()).prop_map(|(a, k)| Damage::Near(a, k)),
        1 => (index(), any::<u16>()).prop_map(|(a, k)| Damage::Past(a, k)),
        1 => (index(), any::<u32>()).prop_map(|(a, v)| Damage::Raw(a, v)),
    ]
}

fn apply(damage: &Damage, idx: &mut [u8], pack: &mut [u8]) {
    let count = u32::from_be_bytes(idx[8 + 255 * 4..IDS_AT].try_into().unwrap()) as usize;
    let offsets_at = IDS_AT + count * 24;
    let slot = |i: &prop::sample::Index| {
        let at = offsets_at + i.index(count) * 4;
        at..at + 4
    };
    let pack_len = pack.len() as u32;
    let mut set = |i: &prop::sample::Index, value: u32| {
        idx[slot(i)].copy_from_slice(&value.to_be_bytes());
    };
    match damage {
        Damage::Flips(flips) => {
            for (in_index, at, byte) in flips {
                let target: &mut [u8] = if *in_index { &mut *idx } else { &mut *pack };
                let at = at.index(target.len());
                target[at] ^= byte | 1;
            }
        }
        Damage::Swap(a, b) => swap_offsets(idx, a.index(count), b.index(count)),
        Damage::Near(a, k) => set(a, pack_len.saturating_sub(u32::from(*k) + 1)),
        Damage::Past(a, k) => set(a, pack_len + u32::from(*k)),
        Damage::Raw(a, v) => set(a, *v),
    }
}

/// Exchanges the pack offsets of the `a`-th and `b`-th ids of an index.
fn swap_offsets(idx: &mut [u8], a: usize, b: usize) {
    let count = u32::from_be_bytes(idx[8 + 255 * 4..IDS_AT].try_into().unwrap()) as usize;
    let slot = |i: usize| IDS_AT + count * 24 + i * 4;
    for k in 0..4 {
        idx.swap(slot(a) + k, slot(b) + k);
    }
}

fn damaged_repository_is_judged_whole_or_not_at_all(repacked: bool, cases: u32) {
    let repo = build(repacked);
    let policy = repo.path().join("policy.yml");
    std::fs::write(&policy, POLICY).unwrap();
    let expected = run(&repo, &policy);
    assert_eq!(expected.0, Some(1), "{}", expected.2);
    assert_eq!(expected.1.matches("\"rule\": \"commit-ticket\"").count(), 5);
    let (idx, pack) = pack_files(&repo);
    let (idx_bytes, pack_bytes) = (std::fs::read(&idx).unwrap(), std::fs::read(&pack).unwrap());
    let judged = std::cell::Cell::new(0);
    let mut runner = TestRunner::new(Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    });
    runner
        .run(&damages(), |damage| {
            let (mut i, mut p) = (idx_bytes.clone(), pack_bytes.clone());
            apply(&damage, &mut i, &mut p);
            std::fs::write(&idx, &i).unwrap();
            std::fs::write(&pack, &p).unwrap();
            let (code, stdout, stderr) = run(&repo, &policy);
            prop_assert!(code.is_some(), "killed by a signal: {stderr}");
            if code != Some(2) {
                judged.set(judged.get() + 1);
                prop_assert_eq!(code, expected.0, "{}", stderr);
                prop_assert_eq!(&stdout, &expected.1, "a verdict on other data");
            }
            Ok(())
        })
        .unwrap();
    std::fs::write(&idx, &idx_bytes).unwrap();
    std::fs::write(&pack, &pack_bytes).unwrap();
    // Damage that misses every commit (another object, the checksums) is
    // judged as before: the test sees both outcomes.
    assert!(judged.get() > 0);
}

#[test]
fn a_damaged_pack_of_whole_commits_is_judged_whole_or_not_at_all() {
    damaged_repository_is_judged_whole_or_not_at_all(false, 300);
}

#[test]
fn a_damaged_pack_of_deltified_commits_is_judged_whole_or_not_at_all() {
    damaged_repository_is_judged_whole_or_not_at_all(true, 200);
}

#[test]
fn swapped_offsets_of_two_commits_are_not_a_pass() {
    // The regression of issue 9: two commits' entries exchanged in the
    // index made each read as the other; the report came out wrong.
    let repo = build(false);
    let policy = repo.path().join("policy.yml");
    std::fs::write(&policy, POLICY).unwrap();
    let (idx, _) = pack_files(&repo);
    let bytes = std::fs::read(&idx).unwrap();
    let count = u32::from_be_bytes(bytes[8 + 255 * 4..IDS_AT].try_into().unwrap()) as usize;
    let id = |i: usize| bytes[IDS_AT + i * 20..IDS_AT + (i + 1) * 20].to_vec();
    let place = |sha: &str| {
        let raw: Vec<u8> = (0..20)
            .map(|k| u8::from_str_radix(&sha[2 * k..2 * k + 2], 16).unwrap())
            .collect();
        (0..count).find(|&i| id(i) == raw).unwrap()
    };
    // A commit with a ticket and one without, both in the range.
    let without = repo.git(&["rev-parse", "HEAD~1"]);
    let with = repo.git(&["rev-parse", "HEAD~2"]);
    let mut damaged = bytes.clone();
    swap_offsets(&mut damaged, place(&with), place(&without));
    std::fs::write(&idx, &damaged).unwrap();
    let (code, stdout, stderr) = run(&repo, &policy);
    assert_eq!(code, Some(2), "{stdout}{stderr}");
    // With `--format json` the error is reported in the JSON object.
    assert!(stdout.contains("holds other bytes"), "{stdout}");
    assert!(stdout.contains("git fsck"), "{stdout}");
}

/// A deltified commit of the range that is no other object's base, not
/// HEAD (which libgit2 reads to resolve the range): its pack offset, and
/// where its delta data starts after the type-and-size bytes.
fn lone_delta(repo: &Repo) -> (String, usize, usize) {
    lone_delta_where(repo, |_| true)
}

/// As [`lone_delta`], the first whose entry's first byte passes `first`.
fn lone_delta_where(repo: &Repo, first: impl Fn(u8) -> bool) -> (String, usize, usize) {
    let (idx, pack) = pack_files(repo);
    let listing = repo.git(&["verify-pack", "-v", idx.to_str().unwrap()]);
    let rows: Vec<Vec<&str>> = listing
        .lines()
        .map(|l| l.split_whitespace().collect())
        .collect();
    let bases: Vec<&str> = rows.iter().filter(|r| r.len() == 7).map(|r| r[6]).collect();
    let head = repo.git(&["rev-parse", "HEAD"]);
    let bytes = std::fs::read(pack).unwrap();
    let row = rows
        .iter()
        .find(|r| {
            r.len() == 7
                && r[1] == "commit"
                && r[0] != head.trim()
                && !bases.contains(&r[0])
                && first(bytes[r[4].parse::<usize>().unwrap()])
        })
        .expect("a deltified commit that is no base");
    let offset: usize = row[4].parse().unwrap();
    let mut at = offset;
    while bytes[at] & 0x80 != 0 {
        at += 1;
    }
    (row[0].to_owned(), offset, at + 1)
}

/// Writes `damage` into the pack and runs `check commits HEAD`: exit 2,
/// naming the damaged commit, never a verdict.
fn assert_refused(repo: &Repo, commit: &str, damage: impl FnOnce(&mut Vec<u8>)) {
    let policy = repo.path().join("policy.yml");
    std::fs::write(&policy, POLICY).unwrap();
    assert_eq!(run(repo, &policy).0, Some(1), "undamaged: judged");
    let (_, pack) = pack_files(repo);
    let mut bytes = std::fs::read(&pack).unwrap();
    damage(&mut bytes);
    std::fs::write(&pack, &bytes).unwrap();
    let (code, stdout, stderr) = run(repo, &policy);
    assert_eq!(code, Some(2), "{stdout}{stderr}");
    assert!(
        stdout.contains(&format!("cannot read commit {commit}")),
        "{stdout}{stderr}"
    );
    assert!(!stdout.contains("\"rule\": \"commit-ticket\""), "{stdout}");
}

#[test]
fn a_delta_whose_base_offset_lies_outside_the_pack_is_not_a_pass() {
    let repo = build(true);
    let (commit, offset, distance_at) = lone_delta(&repo);
    // Its base distance made longer than its offset: before the pack's start.
    assert_refused(&repo, &commit, |bytes| {
        assert_eq!(bytes[offset] >> 4 & 7, 6, "an OFS delta");
        bytes[distance_at] |= 0x7f;
    });
}

#[test]
fn a_truncated_delta_is_not_a_pass() {
    let repo = build(true);
    let (commit, offset, _) = lone_delta_where(&repo, |first| first & 0x08 == 0);
    // The delta's header claims 8 bytes more than its stream holds.
    assert_refused(&repo, &commit, |bytes| bytes[offset] |= 0x08);
}

#[test]
fn a_delta_that_is_its_own_base_is_not_a_pass() {
    let repo = build_with(true, false);
    let (commit, offset, base_at) = lone_delta(&repo);
    let id: Vec<u8> = (0..20)
        .map(|k| u8::from_str_radix(&commit[2 * k..2 * k + 2], 16).unwrap())
        .collect();
    assert_refused(&repo, &commit, |bytes| {
        assert_eq!(bytes[offset] >> 4 & 7, 7, "a REF delta");
        bytes[base_at..base_at + 20].copy_from_slice(&id);
    });
}

/// An index entry that holds another commit, whose parent is in no pack:
/// the walk reads that parent before the commit's id is checked (on a plain
/// `HEAD` walk the check is left to the thread that judges commits), and
/// must still report the substitution, not a history with a missing commit.
#[test]
fn a_substituted_commit_whose_parent_is_missing_is_reported_as_substituted() {
    let repo = Repo::new("main");
    repo.commit("EPL-1 first");
    let middle = repo.commit("EPL-2 second");
    repo.commit("EPL-3 third");
    let tree = repo.git(&["rev-parse", "HEAD^{tree}"]);
    let orphan = format!(
        "tree {tree}\nparent {}\nauthor A <a@example.com> 1600000000 +0000\ncommitter A <a@example.com> 1600000000 +0000\n\nEPL-4 a commit whose parent is nowhere\n",
        "1".repeat(40)
    );
    let path = repo.path().join("orphan");
    std::fs::write(&path, orphan).unwrap();
    let orphan = repo.git(&["hash-object", "-t", "commit", "--literally", "-w", "orphan"]);
    // One pack of the history and the orphan, no deltas (a delta's base
    // named by id would follow the swap too); nothing loose.
    let mut ids = repo.git(&["rev-list", "--objects", "HEAD"]);
    ids.push('\n');
    ids.push_str(&orphan);
    ids.push('\n');
    let mut child = Command::new("git")
        .args(["pack-objects", "-q", "--window=0", ".git/objects/pack/pack"])
        .current_dir(repo.path())
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(ids.as_bytes())
        .unwrap();
    assert!(child.wait().unwrap().success());
    repo.git(&["prune-packed"]);
    let (idx, _) = pack_files(&repo);
    let bytes = std::fs::read(&idx).unwrap();
    let count = u32::from_be_bytes(bytes[8 + 255 * 4..IDS_AT].try_into().unwrap()) as usize;
    let place = |sha: &str| {
        let raw: Vec<u8> = (0..20)
            .map(|k| u8::from_str_radix(&sha[2 * k..2 * k + 2], 16).unwrap())
            .collect();
        (0..count)
            .find(|&i| bytes[IDS_AT + i * 20..IDS_AT + (i + 1) * 20] == raw[..])
            .unwrap()
    };
    let mut damaged = bytes.clone();
    swap_offsets(&mut damaged, place(&middle), place(&orphan));
    std::fs::write(&idx, &damaged).unwrap();
    let policy = repo.path().join("policy.yml");
    std::fs::write(&policy, POLICY).unwrap();
    let (code, stdout, stderr) = run(&repo, &policy);
    assert_eq!(code, Some(2), "{stdout}{stderr}");
    assert!(stdout.contains("holds other bytes"), "{stdout}");
    assert!(stdout.contains(&middle), "{stdout}");
}
