//! Reading many commits fast: each commit object is inflated once.
//!
//! libgit2's revwalk reads every commit to follow parents, and reading the
//! message afterwards reads it again. For a plain revision (`HEAD`: all its
//! history) this walker reads each object once, in the order `git log` uses
//! (newest committer date first), and parses it directly. Ranges that hide
//! commits (`A..B`) keep libgit2's revwalk, which handles hiding exactly.

use std::cmp::Ordering;
use std::collections::{BinaryHeap, HashSet};

use git2::{ObjectType, Odb, Oid, Repository};

use super::Fatal;
use super::git::{RangeWalk, read_commit, shallow_boundary};
use crate::facts::Commit;

/// A commit as the walk hands it over: raw (decoded by the consumer, on
/// another thread) or already decoded.
pub enum ReadCommit {
    Raw { oid: Oid, data: Vec<u8> },
    Decoded(Commit),
}

impl ReadCommit {
    pub fn decode(self) -> Result<Commit, Fatal> {
        match self {
            ReadCommit::Decoded(commit) => Ok(commit),
            ReadCommit::Raw { oid, data } => {
                let mut commit = parse_commit(&data)
                    .ok_or_else(|| {
                        Fatal::new(format!(
                            "commit {oid} is malformed (its header cannot be read)"
                        ))
                    })?
                    .commit;
                commit.sha = Some(oid.to_string());
                Ok(commit)
            }
        }
    }
}

/// Commits of a range, newest first, read once each.
pub enum History<'r> {
    Own(OwnWalk<'r>),
    Lib {
        repo: &'r Repository,
        walk: RangeWalk<'r>,
        with_changes: bool,
    },
}

impl Iterator for History<'_> {
    type Item = Result<ReadCommit, Fatal>;

    fn next(&mut self) -> Option<Self::Item> {
        match self {
            History::Own(walk) => walk.next(),
            History::Lib {
                repo,
                walk,
                with_changes,
            } => Some(walk.next()?.and_then(|oid| {
                read_commit(repo, oid, *with_changes)
                    .map(ReadCommit::Decoded)
                    .map_err(|e| Fatal::new(format!("cannot read commit {oid}: {}", e.message())))
            })),
        }
    }
}

/// Everything reachable from `start`, newest committer date first.
pub struct OwnWalk<'r> {
    repo: &'r Repository,
    odb: Odb<'r>,
    queue: BinaryHeap<Pending>,
    seen: HashSet<Oid>,
    shallow: HashSet<Oid>,
    sequence: u64,
    with_changes: bool,
    failed: bool,
}

struct Pending {
    time: i64,
    sequence: u64,
    oid: Oid,
    parents: Vec<Oid>,
    data: Vec<u8>,
}

impl Ord for Pending {
    fn cmp(&self, other: &Self) -> Ordering {
        // Newest first; among equal dates, the one queued first.
        self.time
            .cmp(&other.time)
            .then(other.sequence.cmp(&self.sequence))
    }
}

impl PartialOrd for Pending {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for Pending {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Pending {}

impl<'r> OwnWalk<'r> {
    pub fn new(repo: &'r Repository, start: Oid, with_changes: bool) -> Result<OwnWalk<'r>, Fatal> {
        let odb = repo
            .odb()
            .map_err(|e| Fatal::new(format!("cannot open the object database: {}", e.message())))?;
        let mut walk = OwnWalk {
            repo,
            odb,
            queue: BinaryHeap::new(),
            seen: HashSet::new(),
            shallow: shallow_boundary(repo),
            sequence: 0,
            with_changes,
            failed: false,
        };
        walk.enqueue(start)?;
        Ok(walk)
    }

    fn enqueue(&mut self, oid: Oid) -> Result<(), Fatal> {
        if !self.seen.insert(oid) {
            return Ok(());
        }
        let object = self.odb.read(oid).map_err(|e| {
            Fatal::new(format!("cannot read commit {oid}: {}", e.message()))
                .help("the history is incomplete (a partial or damaged clone?); `git fsck` tells, `git fetch --unshallow` or a fresh clone fixes it")
        })?;
        if object.kind() != ObjectType::Commit {
            return Err(Fatal::new(format!(
                "{oid} is a {}, not a commit",
                object.kind()
            )));
        }
        let (parents, time) = parse_header(object.data()).ok_or_else(|| {
            Fatal::new(format!(
                "commit {oid} is malformed (its header cannot be read)"
            ))
        })?;
        self.sequence += 1;
        let data = object.data().to_vec();
        self.queue.push(Pending {
            time,
            sequence: self.sequence,
            oid,
            parents,
            data,
        });
        Ok(())
    }

    fn step(&mut self) -> Option<Result<ReadCommit, Fatal>> {
        let Pending {
            oid, parents, data, ..
        } = self.queue.pop()?;
        if self.shallow.contains(&oid) {
            return Some(Err(shallow_error(oid)));
        }
        for parent in &parents {
            if let Err(e) = self.enqueue(*parent) {
                return Some(Err(e));
            }
        }
        if !self.with_changes {
            return Some(Ok(ReadCommit::Raw { oid, data }));
        }
        let mut commit = match (ReadCommit::Raw { oid, data }).decode() {
            Ok(commit) => commit,
            Err(e) => return Some(Err(e)),
        };
        match self
            .repo
            .find_commit(oid)
            .and_then(|c| super::git::commit_changes(self.repo, &c))
        {
            Ok(changed) => commit.changed = Some(changed),
            Err(e) => {
                return Some(Err(Fatal::new(format!(
                    "cannot diff commit {oid}: {}",
                    e.message()
                ))));
            }
        }
        Some(Ok(ReadCommit::Decoded(commit)))
    }
}

impl Iterator for OwnWalk<'_> {
    type Item = Result<ReadCommit, Fatal>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed {
            return None;
        }
        let item = self.step();
        if matches!(item, Some(Err(_))) {
            self.failed = true;
        }
        item
    }
}

pub fn shallow_error(oid: Oid) -> Fatal {
    Fatal::new(format!(
        "history is shallow: the range reaches commit {} whose parents were not fetched, so it cannot be judged whole",
        &oid.to_string()[..10]
    ))
    .help("fetch the full history: `git fetch --unshallow`, or in GitHub Actions use actions/checkout with `fetch-depth: 0`")
}

/// Parent ids and committer time: all the walk itself needs.
fn parse_header(data: &[u8]) -> Option<(Vec<Oid>, i64)> {
    let mut parents = Vec::new();
    for line in data.split(|&b| b == b'\n') {
        if line.is_empty() {
            break;
        }
        if let Some(hex) = line.strip_prefix(b"parent ") {
            parents.push(Oid::from_str(std::str::from_utf8(hex).ok()?).ok()?);
        } else if let Some(who) = line.strip_prefix(b"committer ") {
            return Some((parents, signature_time(who)?));
        }
    }
    None
}

fn signature_time(text: &[u8]) -> Option<i64> {
    let close = text.iter().rposition(|&b| b == b'>')?;
    let after = std::str::from_utf8(&text[close + 1..]).ok()?.trim();
    after.split(' ').next()?.parse().ok()
}

/// Decodes a raw commit object (as stored by git, without the object
/// header): `None` when its header cannot be read. Public for the fuzzer.
pub fn decode_raw_commit(data: &[u8]) -> Option<(Commit, Vec<Oid>, i64)> {
    let (parents, time) = parse_header(data)?;
    Some((parse_commit(data)?.commit, parents, time))
}

/// A raw commit decoded.
struct Parsed {
    commit: Commit,
}

/// Decodes a raw commit: header lines (`parent`, `author`; others and
/// continuation lines skipped), a blank line, the message.
fn parse_commit(data: &[u8]) -> Option<Parsed> {
    let mut parents = 0;
    let (mut author_name, mut author_email) = (None, None);
    let mut rest = data;
    loop {
        let end = rest.iter().position(|&b| b == b'\n').unwrap_or(rest.len());
        let line = &rest[..end];
        rest = rest.get(end + 1..).unwrap_or(&[]);
        if line.is_empty() {
            break;
        }
        if line.starts_with(b"parent ") {
            parents += 1;
        } else if let Some(who) = line.strip_prefix(b"author ") {
            let (name, email) = signature(who)?;
            author_name = Some(name);
            author_email = Some(email);
        }
        if rest.is_empty() {
            break;
        }
    }
    let message = String::from_utf8_lossy(rest).trim_end().to_owned();
    Some(Parsed {
        commit: Commit {
            message,
            author_name,
            author_email,
            parents,
            ..Commit::default()
        },
    })
}

/// `Name <email> 1600000000 +0000` → (name, email).
fn signature(text: &[u8]) -> Option<(String, String)> {
    let open = text.iter().position(|&b| b == b'<')?;
    let close = open + text[open..].iter().position(|&b| b == b'>')?;
    let name = String::from_utf8_lossy(&text[..open]).trim().to_owned();
    let email = String::from_utf8_lossy(&text[open + 1..close]).into_owned();
    Some((name, email))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_headers_signatures_and_message() {
        let raw = b"tree 4b825dc642cb6eb9a060e54bf8d69288fbee4904\n\
parent 0123456789012345678901234567890123456789\n\
parent 1111111111111111111111111111111111111111\n\
author Ada Lovelace <ada@example.com> 1600000000 +0100\n\
committer Grace Hopper <grace@example.com> 1600000060 -0500\n\
gpgsig -----BEGIN PGP SIGNATURE-----\n \n iQEz\n -----END PGP SIGNATURE-----\n\
\n\
EPL-1 Fix the login\n\nBody line\n";
        let p = parse_commit(raw).unwrap();
        assert_eq!(
            parse_header(raw).map(|(parents, time)| (parents.len(), time)),
            Some((2, 1_600_000_060))
        );
        assert_eq!(p.commit.author_name.as_deref(), Some("Ada Lovelace"));
        assert_eq!(p.commit.author_email.as_deref(), Some("ada@example.com"));
        assert_eq!(p.commit.message, "EPL-1 Fix the login\n\nBody line");
        assert_eq!(p.commit.parents, 2);
    }

    #[test]
    fn a_root_commit_with_an_empty_message() {
        let raw = b"tree 4b825dc642cb6eb9a060e54bf8d69288fbee4904\nauthor A <a@b> 1 +0000\ncommitter A <a@b> 2 +0000\n\n";
        let p = parse_commit(raw).unwrap();
        assert_eq!(parse_header(raw), Some((Vec::new(), 2)));
        assert_eq!(p.commit.parents, 0);
        assert_eq!(p.commit.message, "");
    }
}
