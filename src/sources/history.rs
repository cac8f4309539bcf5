//! Reading many commits fast: each commit object is inflated once.
//!
//! libgit2's revwalk reads every commit to follow parents, and reading the
//! message afterwards reads it again. This walker reads each object once —
//! from the pack files directly where it can ([`PackReader`]), else through
//! libgit2 — in the order `git log` uses (newest committer date first), and
//! hands over the raw bytes, to be parsed on another thread.
//!
//! Ranges that hide commits (`A..B`, `A...B`, what a remote has) are walked
//! as git's `limit_list` does: hidden commits mark their ancestors hidden,
//! the walk ends when only hidden commits are left (and a few more, for
//! clock skew), and commits are handed over once no hidden commit is left
//! to be walked that could still hide them.

use std::cmp::Ordering;
use std::collections::hash_map::Entry;
use std::collections::{BinaryHeap, HashMap, HashSet, VecDeque};
use std::sync::Arc;

use git2::{ObjectType, Odb, Oid, Repository};

use super::Fatal;
use super::git::shallow_boundary;
use super::pack::{PackRead, PackReader, Unchecked, check_id, object_id};
use crate::facts::Commit;

/// A commit as the walk hands it over: raw (decoded by the consumer, on
/// another thread) or already decoded.
pub enum ReadCommit {
    /// `unchecked`: the pack the bytes came from when their id is still to
    /// be checked; [`ReadCommit::decode`] checks it first.
    Raw {
        oid: Oid,
        data: Vec<u8>,
        unchecked: Option<Arc<str>>,
    },
    Decoded {
        oid: Oid,
        commit: Commit,
    },
}

impl ReadCommit {
    /// The commit, its id checked first when the walk left that to here.
    pub fn decode(self) -> Result<Commit, Fatal> {
        match self {
            ReadCommit::Decoded { commit, .. } => Ok(commit),
            ReadCommit::Raw {
                oid,
                data,
                unchecked,
            } => {
                if let Some(pack) = unchecked {
                    check_id(oid, &data, &pack).map_err(|what| damaged(oid, &what))?;
                }
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

/// The commits of a range, newest first, each read once.
pub(crate) type History<'r> = OwnWalk<'r>;

/// Commits reachable from the tips and not from the hidden commits, newest
/// committer date first.
pub struct OwnWalk<'r> {
    repo: &'r Repository,
    odb: Odb<'r>,
    packs: PackReader,
    queue: BinaryHeap<Pending>,
    nodes: HashMap<Oid, Node>,
    /// Parents of the commits taken while hidden commits were walked, to
    /// hide ancestors taken already (empty for a plain revision).
    parents: HashMap<Oid, Box<[Oid]>>,
    shallow: HashSet<Oid>,
    sequence: u64,
    with_changes: bool,
    /// Whether the ids of commits read from packs are checked by whoever
    /// decodes them rather than here: only when nothing is hidden, so that
    /// every commit read is handed over (and checked), and no unchecked
    /// bytes decide what is hidden.
    defer_checks: bool,
    /// Hidden commits in the queue: while there are any, a commit taken from
    /// the queue may still turn out hidden, so it waits in `held`.
    hidden_queued: usize,
    held: Vec<(Oid, Bytes)>,
    ready: VecDeque<(Oid, Bytes)>,
    /// Committer time of the last commit taken that was not hidden.
    last_shown: u64,
    slop: u8,
    done: bool,
    failed: bool,
}

/// What the walk knows of a commit it has read: two bytes, as a walk
/// over a long history holds one for every commit.
#[derive(Clone, Copy, Default)]
struct Node {
    hidden: bool,
    /// Taken from the queue (its parents are known and queued).
    taken: bool,
}

/// A commit's bytes, and the pack they came from when their id is still
/// to be checked.
type Bytes = (Vec<u8>, Option<Arc<str>>);

struct Pending {
    time: u64,
    sequence: u64,
    oid: Oid,
    parents: Vec<Oid>,
    data: Bytes,
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

/// Hidden commits walked after only hidden ones are left, as git does
/// (`SLOP` in revision.c): a commit dated wrong may still hide something.
const SLOP: u8 = 5;

impl<'r> OwnWalk<'r> {
    pub(crate) fn new(
        repo: &'r Repository,
        tips: &[Oid],
        hidden: &[Oid],
        with_changes: bool,
    ) -> Result<OwnWalk<'r>, Fatal> {
        let odb = repo
            .odb()
            .map_err(|e| Fatal::new(format!("cannot open the object database: {}", e.message())))?;
        let packs = PackReader::open(&repo.commondir().join("objects"));
        let mut walk = OwnWalk {
            repo,
            odb,
            packs,
            queue: BinaryHeap::new(),
            nodes: HashMap::new(),
            parents: HashMap::new(),
            shallow: shallow_boundary(repo),
            sequence: 0,
            with_changes,
            defer_checks: hidden.is_empty(),
            hidden_queued: 0,
            held: Vec::new(),
            ready: VecDeque::new(),
            last_shown: u64::MAX,
            slop: SLOP,
            done: false,
            failed: false,
        };
        for &oid in hidden {
            walk.enqueue(oid, true)?;
        }
        for &oid in tips {
            walk.enqueue(oid, false)?;
        }
        Ok(walk)
    }

    /// Reads `oid` and queues it, unless it was read before (then it is
    /// only marked hidden, when it is now reached from a hidden commit).
    fn enqueue(&mut self, oid: Oid, hidden: bool) -> Result<(), Fatal> {
        match self.nodes.entry(oid) {
            Entry::Occupied(_) => {
                if hidden {
                    self.hide(oid);
                }
                return Ok(());
            }
            Entry::Vacant(slot) => {
                slot.insert(Node {
                    hidden,
                    ..Node::default()
                });
            }
        }
        let data = self.read(oid)?;
        let Some((parents, time)) = parse_header(&data.0) else {
            check(oid, &data)?;
            return Err(Fatal::new(format!(
                "commit {oid} is malformed (its header cannot be read)"
            )));
        };
        if hidden {
            // A hidden root hides only itself: nothing to walk.
            if parents.is_empty() || self.shallow.contains(&oid) {
                return Ok(());
            }
            self.hidden_queued += 1;
        }
        self.sequence += 1;
        self.queue.push(Pending {
            time,
            sequence: self.sequence,
            oid,
            parents,
            data: if hidden { (Vec::new(), None) } else { data },
        });
        Ok(())
    }

    /// The commit's bytes: from the packs when possible, else libgit2;
    /// either way their id verified, so no other bytes pass for the commit
    /// (with `defer_checks`, bytes from a pack come with the pack's name,
    /// to be checked by [`ReadCommit::decode`] or [`check`]).
    fn read(&mut self, oid: Oid) -> Result<Bytes, Fatal> {
        let read = if self.defer_checks {
            match self.packs.read_commit_unchecked(oid) {
                Unchecked::Read(data, pack) => return Ok((data, Some(pack))),
                Unchecked::Other(read) => read,
            }
        } else {
            self.packs.read_commit(oid)
        };
        match read {
            PackRead::Commit(data) => return Ok((data, None)),
            PackRead::Damaged(what) => return Err(damaged(oid, &what)),
            PackRead::Elsewhere => {}
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
        // libgit2 does not re-hash what it reads (strict verification is off
        // for speed, and git does not either): done here, as for the packs.
        if object_id(1, object.data())[..] != *oid.as_bytes() {
            return Err(damaged(
                oid,
                "the object database returns other bytes for it (substituted or corrupt)",
            ));
        }
        Ok((object.data().to_vec(), None))
    }

    /// Marks `oid` hidden, and every ancestor of it already taken.
    fn hide(&mut self, oid: Oid) {
        let mut stack = vec![oid];
        while let Some(oid) = stack.pop() {
            let Some(node) = self.nodes.get_mut(&oid) else {
                continue;
            };
            if node.hidden {
                continue;
            }
            node.hidden = true;
            if node.taken {
                stack.extend(self.parents.get(&oid).into_iter().flatten().copied());
            } else {
                // Still queued: it now counts among the hidden ones.
                self.hidden_queued += 1;
            }
        }
    }

    /// Takes the newest queued commit; fills `ready` with what can be handed over.
    fn step(&mut self) -> Result<(), Fatal> {
        if self.hidden_queued == 0 && !self.held.is_empty() {
            // Nothing left that could hide them.
            let nodes = &self.nodes;
            self.ready.extend(
                self.held
                    .drain(..)
                    .filter(|(oid, _)| !nodes.get(oid).is_some_and(|n| n.hidden)),
            );
            return Ok(());
        }
        let Some(Pending {
            oid,
            parents,
            data,
            time,
            ..
        }) = self.queue.pop()
        else {
            self.done = true;
            return Ok(());
        };
        let limiting = self.hidden_queued > 0;
        let node = self.nodes.entry(oid).or_default();
        node.taken = true;
        let hidden = node.hidden;
        if limiting {
            self.parents.insert(oid, parents.clone().into_boxed_slice());
        }
        if hidden {
            self.hidden_queued -= 1;
            if !self.shallow.contains(&oid) {
                for parent in parents {
                    self.enqueue(parent, true)?;
                }
            }
            // git's still_interesting (revision.c): done when only hidden
            // commits older than the last one shown are left, after SLOP more.
            if let Some(newest) = self.queue.peek().map(|p| p.time) {
                if self.last_shown <= newest || self.hidden_queued < self.queue.len() {
                    self.slop = SLOP;
                } else {
                    self.slop -= 1;
                    if self.slop == 0 {
                        self.queue.clear();
                        self.hidden_queued = 0;
                    }
                }
            }
            return Ok(());
        }
        if self.shallow.contains(&oid) {
            return Err(shallow_error(oid));
        }
        self.last_shown = time;
        for parent in parents {
            if let Err(e) = self.enqueue(parent, false) {
                // The parent came from these bytes: unchecked, they are
                // what is wrong, if anything.
                check(oid, &data)?;
                return Err(e);
            }
        }
        if limiting {
            self.held.push((oid, data));
        } else {
            self.ready.push_back((oid, data));
        }
        Ok(())
    }

    fn hand_over(&self, oid: Oid, (data, unchecked): Bytes) -> Result<ReadCommit, Fatal> {
        let raw = ReadCommit::Raw {
            oid,
            data,
            unchecked,
        };
        if !self.with_changes {
            return Ok(raw);
        }
        let mut commit = raw.decode()?;
        let changed = self
            .repo
            .find_commit(oid)
            .and_then(|c| super::git::commit_changes(self.repo, &c))
            .map_err(|e| Fatal::new(format!("cannot diff commit {oid}: {}", e.message())))?;
        commit.changed = Some(changed);
        Ok(ReadCommit::Decoded { oid, commit })
    }
}

impl Iterator for OwnWalk<'_> {
    type Item = Result<ReadCommit, Fatal>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if self.failed {
                return None;
            }
            if let Some((oid, data)) = self.ready.pop_front() {
                let item = self.hand_over(oid, data);
                self.failed = item.is_err();
                return Some(item);
            }
            if self.done {
                return None;
            }
            if let Err(e) = self.step() {
                self.failed = true;
                return Some(Err(e));
            }
        }
    }
}

/// One commit, read and decoded as the walk does.
pub(crate) fn read_one(repo: &Repository, oid: Oid) -> Result<Commit, Fatal> {
    let mut walk = OwnWalk::new(repo, &[], &[], false)?;
    walk.defer_checks = false;
    let (data, unchecked) = walk.read(oid)?;
    if parse_header(&data).is_none() {
        return Err(Fatal::new(format!(
            "commit {oid} is malformed (its header cannot be read)"
        )));
    }
    ReadCommit::Raw {
        oid,
        data,
        unchecked,
    }
    .decode()
}

/// Checks the id of bytes the walk has not checked yet.
fn check(oid: Oid, (data, unchecked): &Bytes) -> Result<(), Fatal> {
    match unchecked {
        Some(pack) => check_id(oid, data, pack).map_err(|what| damaged(oid, &what)),
        None => Ok(()),
    }
}

/// A commit the object database holds damaged: no verdict on other bytes.
fn damaged(oid: Oid, what: &str) -> Fatal {
    Fatal::new(format!("cannot read commit {oid}: {what}")).help(
        "the repository is damaged: `git fsck --full` names what is wrong; a fresh clone fixes it",
    )
}

pub(crate) fn shallow_error(oid: Oid) -> Fatal {
    Fatal::new(format!(
        "history is shallow: the range reaches commit {} whose parents were not fetched, so it cannot be judged whole",
        crate::report::short_sha(&oid.to_string())
    ))
    .help("fetch the full history: `git fetch --unshallow`, or in GitHub Actions use actions/checkout with `fetch-depth: 0`")
}

/// Parent ids and committer date, read exactly as git's walk reads them
/// (commit.c `parse_commit_buffer`): the `tree` line first, then the
/// `parent` lines right after it — a `parent` line anywhere else is not a
/// parent — and the date from a `committer` line right after the `author`
/// line (0 when there is none, as git). `None` where git reports a bogus
/// commit.
fn parse_header(data: &[u8]) -> Option<(Vec<Oid>, u64)> {
    let (count, at) = parent_lines(data)?;
    let parents = (0..count)
        .map(|k| {
            let hex = &data[TREE + 1 + k * (PARENT + 1) + 7..][..40];
            let mut raw = [0u8; 20];
            for (byte, pair) in raw.iter_mut().zip(hex.chunks_exact(2)) {
                *byte = (hex_value(pair[0]) << 4) | hex_value(pair[1]);
            }
            Oid::from_bytes(&raw).ok()
        })
        .collect::<Option<Vec<Oid>>>()?;
    Some((parents, commit_date(&data[at..])))
}

/// `tree <hex>` and `parent <hex>` lines: their lengths with the newline.
const TREE: usize = 5 + 40;
const PARENT: usize = 7 + 40;

/// How many `parent` lines follow the `tree` line, and where the header
/// goes on after them (commit.c `parse_commit_buffer`); `None` where git
/// reports a bogus commit.
fn parent_lines(data: &[u8]) -> Option<(usize, usize)> {
    if data.len() <= TREE + 1
        || !data.starts_with(b"tree ")
        || data[TREE] != b'\n'
        || !is_hex(&data[5..TREE])
    {
        return None;
    }
    let mut at = TREE + 1;
    let mut count = 0;
    while at + PARENT < data.len() && data[at..].starts_with(b"parent ") {
        if data.len() <= at + PARENT + 1
            || data[at + PARENT] != b'\n'
            || !is_hex(&data[at + 7..at + PARENT])
        {
            return None;
        }
        count += 1;
        at += PARENT + 1;
    }
    Some((count, at))
}

/// How many `parent` lines follow the `tree` line of a header that
/// [`parse_header`] has accepted (the walk did, for every commit it hands
/// over): the same count, without checking the ids again.
fn parent_count(data: &[u8]) -> usize {
    let mut at = TREE + 1;
    let mut count = 0;
    while at + PARENT < data.len() && data[at..].starts_with(b"parent ") {
        count += 1;
        at += PARENT + 1;
    }
    count
}

/// 40 hex digits, either case (git's `get_oid_hex`). Branch-free, so the
/// compiler checks the 40 bytes at once: this runs twice a commit.
fn is_hex(hex: &[u8]) -> bool {
    let Ok(hex) = <&[u8; 40]>::try_from(hex) else {
        return false;
    };
    hex.iter().fold(true, |ok, &b| {
        let lower = b | 0x20;
        ok & ((b.wrapping_sub(b'0') < 10) | (lower.wrapping_sub(b'a') < 6))
    })
}

fn hex_value(digit: u8) -> u8 {
    match digit {
        b'0'..=b'9' => digit - b'0',
        b'a'..=b'f' => digit - b'a' + 10,
        _ => digit - b'A' + 10,
    }
}

/// commit.c `parse_commit_date`: the number after the last `>` of the
/// `committer` line that follows the `author` line; 0 when the lines are not
/// there or the number is not, as git. Like git's `strtoumax`, a leading `-`
/// wraps around and an overflow saturates (git 2.47's `rev-list --timestamp`
/// shows both).
fn commit_date(rest: &[u8]) -> u64 {
    if rest.len() <= 6 || !rest.starts_with(b"author") {
        return 0;
    }
    let Some(newline) = rest.iter().position(|&b| b == b'\n') else {
        return 0;
    };
    let rest = &rest[newline + 1..];
    if rest.len() <= 9 || !rest.starts_with(b"committer") {
        return 0;
    }
    let Some(eol) = rest.iter().position(|&b| b == b'\n') else {
        return 0;
    };
    let line = &rest[..eol];
    let Some(close) = line.iter().rposition(|&b| b == b'>') else {
        return 0;
    };
    let mut date = &line[close + 1..];
    while let [b' ' | b'\t' | b'\r', tail @ ..] = date {
        date = tail;
    }
    let (negative, digits) = match date {
        [b'-', tail @ ..] => (true, tail),
        [b'0'..=b'9', ..] => (false, date),
        _ => return 0,
    };
    let mut value: u64 = 0;
    for &b in digits.iter().take_while(|b| b.is_ascii_digit()) {
        match value
            .checked_mul(10)
            .and_then(|v| v.checked_add(u64::from(b - b'0')))
        {
            Some(v) => value = v,
            None => return u64::MAX, // strtoumax saturates
        }
    }
    if negative {
        value.wrapping_neg()
    } else {
        value
    }
}

/// A raw commit decoded.
struct Parsed {
    commit: Commit,
}

/// Decodes a raw commit as `git log` shows it: parents as git's walk
/// counts them (of a header [`parse_header`] accepted); the author from the last `author` line
/// and the message from after the first empty line up to the first NUL
/// (git treats the message as a C string: `%B` stops there), re-encoded
/// from the `encoding` header as git does (pretty.c `parse_commit_header`,
/// `logmsg_reencode`). A NUL inside the header makes git read the header and
/// the message at odds with each other: `None`.
fn parse_commit(data: &[u8]) -> Option<Parsed> {
    let parents = parent_count(data);
    let (mut author_name, mut author_email) = (None, None);
    let mut encoding: Option<&[u8]> = None;
    let mut rest = data;
    loop {
        let end = rest.iter().position(|&b| b == b'\n').unwrap_or(rest.len());
        let line = &rest[..end];
        if line.contains(&0) {
            return None;
        }
        rest = rest.get(end + 1..).unwrap_or(&[]);
        if line.is_empty() {
            break;
        }
        if let Some(who) = line.strip_prefix(b"author ") {
            let (name, email) = signature(who)?;
            author_name = Some(name);
            author_email = Some(email);
        } else if let Some(label) = line.strip_prefix(b"encoding ") {
            encoding.get_or_insert(label);
        }
        if rest.is_empty() {
            break;
        }
    }
    // Up to the first NUL (found a word at a time).
    let rest = std::ffi::CStr::from_bytes_until_nul(rest).map_or(rest, std::ffi::CStr::to_bytes);
    let message = match encoding {
        // `from_utf8` checks ASCII a word at a time; the lossy decoder
        // only when there is something to replace.
        None => match std::str::from_utf8(rest) {
            Ok(text) => text.trim_end().to_owned(),
            Err(_) => String::from_utf8_lossy(rest).trim_end().to_owned(),
        },
        Some(label) => decode_message(rest, label).trim_end().to_owned(),
    };
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

/// The message in UTF-8, as git's `logmsg_reencode` gives it for the
/// default output encoding: unchanged when it claims UTF-8 (or nothing),
/// converted from what its `encoding` header names, and left as stored when
/// the conversion fails or the encoding is unknown (git does the same when
/// iconv cannot convert).
fn decode_message(bytes: &[u8], label: &[u8]) -> String {
    let label = std::str::from_utf8(label).map_or("", str::trim);
    let lower = label.to_ascii_lowercase();
    if matches!(lower.as_str(), "utf-8" | "utf8") {
        return String::from_utf8_lossy(bytes).into_owned();
    }
    // iconv's ISO-8859-1 maps every byte to the same code point (WHATWG's
    // label of that name means windows-1252: not the same for 0x80-0x9f).
    if matches!(
        lower.as_str(),
        "iso-8859-1" | "iso8859-1" | "iso_8859-1" | "latin1" | "latin-1" | "l1"
    ) {
        return bytes.iter().map(|&b| char::from(b)).collect();
    }
    match encoding_rs::Encoding::for_label_no_replacement(label.as_bytes()) {
        Some(encoding) if !lower.contains("ascii") => encoding
            .decode_without_bom_handling_and_without_replacement(bytes)
            .map(std::borrow::Cow::into_owned)
            .unwrap_or_else(|| String::from_utf8_lossy(bytes).into_owned()),
        _ => String::from_utf8_lossy(bytes).into_owned(),
    }
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
            Some((2, 1_600_000_060u64))
        );
        assert_eq!(p.commit.author_name.as_deref(), Some("Ada Lovelace"));
        assert_eq!(p.commit.author_email.as_deref(), Some("ada@example.com"));
        assert_eq!(p.commit.message, "EPL-1 Fix the login\n\nBody line");
        assert_eq!(p.commit.parents, 2);
    }

    #[test]
    fn hex_ids_are_checked_as_git_does() {
        assert!(is_hex(b"0123456789abcdefABCDEF0123456789abcdef01"));
        for bad in [
            &b"0123456789abcdefABCDEF0123456789abcdef0g"[..],
            b"0123456789abcdefABCDEF0123456789abcdef0",
            b"0123456789abcdefABCDEF0123456789abcde /1",
            b"0123456789abcdefABCDEF0123456789abcdef:1",
        ] {
            assert!(!is_hex(bad), "{}", String::from_utf8_lossy(bad));
        }
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
