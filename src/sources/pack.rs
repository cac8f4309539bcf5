//! Commit objects read straight from pack files: the fast path of the
//! history walk.
//!
//! Reading 100,000 commits through libgit2 costs about 4 µs each, most of it
//! per-object overhead (a new zlib stream, window bookkeeping, an object
//! allocation) rather than inflating 200 bytes. This reader looks a commit up
//! in the pack indexes (version 2), reads its bytes through a small block
//! cache (bounded memory, whatever the pack's size) and inflates it with one
//! reused zlib stream.
//!
//! It reads commits stored whole, and commits stored as deltas (servers
//! pack most commits of a real history so, in chains) whose bases lie in the
//! same pack: each base rebuilt is kept in a bounded cache (`BASE_CACHE`),
//! so that a walk pays one delta a commit rather than its whole chain each
//! time, as git's delta base cache does. Everything else — loose objects,
//! bases in another pack, alternates, unusual index versions, packs whose
//! index tables take more than 32 MiB — answers [`PackRead::Elsewhere`],
//! and the caller asks libgit2. What it reads is verified: the SHA-1 of
//! `commit <len>\0<body>` must be the id looked up, so a damaged or
//! substituted entry (or base) is never taken for the commit. An entry the
//! index points at that cannot be what it claims (an offset outside the
//! pack, a stream that does not inflate to its size, a delta whose base is
//! not an entry before it, that does not apply to its base, a chain of
//! bases that loops, another object's bytes) answers [`PackRead::Damaged`]:
//! the caller stops there, without handing the damaged pack to libgit2
//! (which trusts the index's offsets).

use std::cmp::Ordering;
use std::collections::{HashMap, VecDeque};
use std::fs::File;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering as AtomicOrdering};
use std::sync::mpsc::{self, Receiver, SyncSender, TryRecvError};
use std::thread::JoinHandle;

use flate2::{Decompress, FlushDecompress, Status};
use git2::Oid;
use sha1::{Digest, Sha1};

/// What the packs say about a commit id.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum PackRead {
    /// Its bytes (without git's object header), their id verified.
    Commit(Vec<u8>),
    /// Not in a pack this reader reads (absent, a delta of a base in
    /// another pack, another type, a pack it did not open): libgit2's to
    /// read.
    Elsewhere,
    /// An index points at it but the entry is not it: what is wrong.
    Damaged(String),
}

/// A commit's bytes read from a pack whose id is still to be checked
/// ([`PackReader::read_commit_unchecked`]).
pub(crate) enum Unchecked {
    /// The bytes, and the name of the pack they came from: [`check_id`]
    /// must pass before anything is concluded from them.
    Read(Vec<u8>, Arc<str>),
    /// Not read from a pack, or damaged: as [`PackReader::read_commit`].
    Other(PackRead),
}

/// Pack files of an object database, and the state reused between reads.
pub(crate) struct PackReader {
    packs: Vec<Pack>,
    inflater: Decompress,
    /// Where a delta is applied, then swapped with `object`.
    scratch: Vec<u8>,
    /// The object being rebuilt, and the delta being applied to it.
    object: Vec<u8>,
    delta: Vec<u8>,
    /// The deltas of the chain being resolved (reused: no allocation a commit).
    chain: Vec<(u64, u64, usize)>,
    cache: BaseCache,
    /// Where the entry [`PackReader::resolve`] last rebuilt ends.
    end: Option<u64>,
    /// Commits decoded on a second thread ahead of the walk, and how the
    /// walk has fared without: see [`ReadAhead`].
    ahead: Option<ReadAhead>,
    misses: usize,
    ahead_runs: usize,
    /// Commits the read-ahead rebuilt for the walk.
    ahead_served: usize,
}

struct Pack {
    /// The pack file's name, for messages.
    name: Arc<str>,
    index: Index,
    file: File,
    len: u64,
    blocks: BlockCache,
}

/// A pack's index (version 2). The first lookups read what they need from
/// the file (a short walk pays for a few reads, not for the whole index);
/// after [`LOAD_AFTER`] lookups its tables are read into memory once.
struct Index {
    file: File,
    /// Object count, from the fan-out table.
    count: usize,
    fanout: Box<[u32; 256]>,
    /// Where the large-offset table starts, and its length.
    large_at: u64,
    large_len: usize,
    lookups: usize,
    /// The sorted ids, the offsets and the large offsets (not the CRCs).
    tables: Option<Tables>,
}

struct Tables {
    ids: Vec<u8>,
    offsets: Vec<u8>,
    large_offsets: Vec<u8>,
}

const OID_LEN: usize = 20;
/// The most index memory a pack may take here (its ids and offsets: 24
/// bytes an object, 1.4 million objects); larger packs are read by libgit2,
/// which maps the index instead of reading it.
const MAX_TABLES: usize = 32 << 20;
/// Lookups answered from the index file before its tables are loaded.
const LOAD_AFTER: usize = 2048;
/// Where the tables start in an index file: magic, version, fan-out.
const IDS_AT: usize = 8 + 256 * 4;
/// Entries searched on each side of an id's guessed place in the index.
const WINDOW: usize = 48;
/// Blocks of a page: a walk over deltified commits jumps between the
/// commits' region and their bases, and a miss copies one small block
/// rather than 64 KiB (100,000 commits: 0.1 GB copied instead of 2.2 GB).
const BLOCK: usize = 4 * 1024;
const BLOCKS: usize = 1024;
/// Pack entry types.
const COMMIT: u8 = 1;
const TAG: u8 = 4;
const OFS_DELTA: u8 = 6;
const REF_DELTA: u8 = 7;
/// Objects (and deltas) larger than this are libgit2's to read.
const MAX_OBJECT: usize = 64 << 20;
/// Deltas followed from one object before its chain is taken for a cycle:
/// git writes chains of at most 4,095 (pack-objects clamps `--depth`).
const MAX_CHAIN: usize = 10_000;
/// The most bytes of rebuilt objects the base cache keeps, and what each
/// costs besides its bytes. 100,000 deltified commits: 1.16 inflated
/// streams a commit with 16 MiB, 1.34 with 8 MiB, 1.13 with 32 MiB (git's
/// default limit is 96 MiB; its walk of git/git takes 75 MiB in all).
const BASE_CACHE: usize = 16 << 20;
const CACHED_OVERHEAD: usize = 64;

/// Recently read blocks of a pack, direct-mapped: 4 MiB at most.
struct BlockCache {
    slots: Vec<Option<(u64, Vec<u8>)>>,
}

impl PackReader {
    /// The packs in `objects/pack` of the object directory `objects`. Packs
    /// that cannot be opened are left to libgit2.
    pub(crate) fn open(objects: &Path) -> PackReader {
        let mut packs = Vec::new();
        if let Ok(entries) = std::fs::read_dir(objects.join("pack")) {
            let mut indexes: Vec<_> = entries
                .filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|e| e == "idx"))
                .collect();
            indexes.sort();
            packs.extend(indexes.iter().filter_map(|idx| Pack::open(idx)));
        }
        PackReader::of(packs)
    }

    fn of(packs: Vec<Pack>) -> PackReader {
        PackReader {
            packs,
            inflater: Decompress::new(true),
            scratch: Vec::new(),
            object: Vec::new(),
            delta: Vec::new(),
            chain: Vec::new(),
            cache: BaseCache {
                objects: HashMap::new(),
                order: VecDeque::new(),
                bytes: 0,
                clock: 0,
            },
            end: None,
            ahead: None,
            misses: 0,
            ahead_runs: 0,
            ahead_served: 0,
        }
    }

    /// The raw commit `oid` (without git's object header), when the first
    /// pack whose index lists it holds it whole or as a chain of deltas
    /// within that pack; see [`PackRead`].
    pub(crate) fn read_commit(&mut self, oid: Oid) -> PackRead {
        match self.read_commit_unchecked(oid) {
            Unchecked::Read(data, pack) => match check_id(oid, &data, &pack) {
                Ok(()) => PackRead::Commit(data),
                Err(what) => PackRead::Damaged(what),
            },
            Unchecked::Other(read) => read,
        }
    }

    /// As [`PackReader::read_commit`], but the id check is left to the
    /// caller: the history walk leaves it to the thread that judges the
    /// commits, so that hashing does not hold up the reading (SHA-1 of
    /// 100,000 commits is 5% of the walk). Whoever concludes anything from
    /// the bytes must first pass [`check_id`].
    pub(crate) fn read_commit_unchecked(&mut self, oid: Oid) -> Unchecked {
        let id = oid.as_bytes();
        for number in 0..self.packs.len() {
            let pack = &mut self.packs[number];
            let offset = match pack.find(id) {
                Found::Offset(offset) => offset,
                Found::Absent => continue,
                Found::Damaged => {
                    return Unchecked::Other(PackRead::Damaged(format!(
                        "its index entry in {} is damaged",
                        pack.name
                    )));
                }
            };
            if !pack.holds(offset) {
                return Unchecked::Other(PackRead::Damaged(format!(
                    "the index of {} points outside the pack (offset {offset})",
                    pack.name
                )));
            }
            if let Some(data) = self.ahead.as_mut().and_then(|a| a.take(number, offset)) {
                self.misses = 0;
                self.ahead_served += 1;
                return Unchecked::Read(data, Arc::clone(&self.packs[number].name));
            }
            let kind = match self.resolve(number, offset) {
                Ok(Some(kind)) => kind,
                Ok(None) => return Unchecked::Other(PackRead::Elsewhere),
                Err(what) => {
                    return Unchecked::Other(PackRead::Damaged(format!(
                        "its entry in {}: {what}",
                        self.packs[number].name
                    )));
                }
            };
            if kind != COMMIT {
                return Unchecked::Other(PackRead::Elsewhere); // libgit2 says what it is
            }
            let data = std::mem::take(&mut self.object);
            self.read_ahead_from(number);
            return Unchecked::Read(data, Arc::clone(&self.packs[number].name));
        }
        Unchecked::Other(PackRead::Elsewhere)
    }

    /// After [`AHEAD_AFTER`] commits in a row decoded here, starts decoding
    /// the entries of pack `number` that follow the one just read on a
    /// second thread (replacing the one there was, which had gone astray).
    fn read_ahead_from(&mut self, number: usize) {
        self.misses += 1;
        if self.misses < AHEAD_AFTER || self.ahead_runs >= AHEAD_RUNS {
            return;
        }
        let Some(start) = self.end else {
            return;
        };
        self.misses = 0;
        self.ahead_runs += 1;
        self.ahead = None; // stops and joins the one there was
        self.ahead = ReadAhead::start(&self.packs[number], number, start);
    }

    /// Rebuilds the object at `offset` of pack `number` into `self.object`:
    /// its type, `None` when it is libgit2's to read (a base in another
    /// pack, an object too large), or what is damaged. Bases are taken
    /// from the cache where they are, and the bases rebuilt are kept there.
    /// Also sets `self.end`: where the entry at `offset` ends, when its own
    /// stream was inflated (not when the cache held it).
    fn resolve(&mut self, number: usize, offset: u64) -> Result<Option<u8>, &'static str> {
        let Self {
            packs,
            inflater,
            scratch,
            object,
            delta,
            chain,
            cache,
            end,
            ..
        } = self;
        let pack = &mut packs[number];
        *end = None;
        // The deltas to apply, outermost first: (offset, data, size).
        chain.clear();
        let mut at = offset;
        let kind = loop {
            if let Some((kind, data)) = cache.get((number, at)) {
                object.clear();
                object.extend_from_slice(data);
                break kind;
            }
            if chain.len() >= MAX_CHAIN {
                return Err("its delta chain is longer than any git writes (a cycle?)");
            }
            let header = pack
                .header(at)
                .ok_or("not a pack entry where one should be")?;
            let Some(size) = usize::try_from(header.size)
                .ok()
                .filter(|&s| s <= MAX_OBJECT)
            else {
                return Ok(None); // not worth the fast path
            };
            match header.base {
                Base::None => {
                    let Some(stream_end) = pack.inflate(header.data, size, inflater, object) else {
                        return Err("an object does not inflate to the size its header says");
                    };
                    if chain.is_empty() {
                        *end = Some(stream_end);
                    } else {
                        cache.put((number, at), header.kind, object);
                    }
                    break header.kind;
                }
                Base::Offset(base) => {
                    chain.push((at, header.data, size));
                    at = base;
                }
                Base::Id(id) => match pack.find(&id) {
                    Found::Offset(base) if pack.holds(base) => {
                        chain.push((at, header.data, size));
                        at = base;
                    }
                    Found::Offset(_) | Found::Damaged => {
                        return Err("the index entry of a delta's base is damaged");
                    }
                    Found::Absent => return Ok(None), // a base elsewhere
                },
            }
        };
        for (i, &(entry, data, size)) in chain.iter().enumerate().rev() {
            let Some(stream_end) = pack.inflate(data, size, inflater, delta) else {
                return Err("a delta does not inflate to the size its header says");
            };
            apply_delta(object, delta, scratch).ok_or("a delta does not apply to its base")?;
            std::mem::swap(object, scratch);
            if i > 0 {
                cache.put((number, entry), kind, object);
            } else {
                *end = Some(stream_end);
            }
        }
        Ok(Some(kind))
    }
}

/// Commits of one pack rebuilt on a second thread, ahead of the walk.
///
/// A walk over a long history is one chain of dependent reads (a commit
/// must be inflated before its parents are known), so a second core cannot
/// share it by splitting the walk; but git writes a pack's commits first,
/// in the order its own walk visits them (pack-objects' write order), which
/// is the order this walk reads them. So a thread rebuilds the pack's
/// entries one after the other from where the walk is, while the walk finds
/// each commit it wants already rebuilt and only parses its header. The
/// thread stops at the first entry that is not a commit (the trees follow
/// the commits), at anything it cannot read (the walk then reads that entry
/// itself, and reports it damaged if it is), or when the walk stops.
///
/// Nothing it hands over is trusted more than what the walk reads itself:
/// the bytes of the entry at the offset the index gave, whose id the caller
/// then checks ([`check_id`]).
struct ReadAhead {
    pack: usize,
    receiver: Option<Receiver<Batch>>,
    /// Commits received, by offset, in the pack's order.
    buffer: VecDeque<(u64, Vec<u8>)>,
    /// Commits received that the walk has passed, kept for a while: git
    /// writes a delta's base before it, so a commit that is the base of a
    /// newer one comes early (9% of the bench's commits; 5,500 at most
    /// waiting at once), and the oldest dropped first.
    passed: HashMap<u64, Vec<u8>>,
    passed_order: VecDeque<u64>,
    passed_bytes: usize,
    /// Every commit entry before this offset has been sent.
    sent: Arc<AtomicU64>,
    /// An offset the walk has reached past the thread: it skips to there.
    skip: Arc<AtomicU64>,
    thread: Option<JoinHandle<()>>,
}

/// Commits rebuilt by the read-ahead, each with its offset in the pack.
type Batch = Vec<(u64, Vec<u8>)>;

/// Commits decoded in a row by the walk itself before a read-ahead starts
/// (a push of a few commits never starts one), and how many start in one
/// walk at most.
const AHEAD_AFTER: usize = 256;
const AHEAD_RUNS: usize = 8;
/// Commits sent together (at most 128, or 256 KiB), and batches in
/// flight: fewer, larger batches wake the walk less often (2,900 context
/// switches a 100,000-commit walk instead of 7,900 with batches of 32).
const AHEAD_BATCH: usize = 128;
const AHEAD_BATCH_BYTES: usize = 256 * 1024;
const AHEAD_BATCHES: usize = 4;
/// The largest commit the read-ahead hands over (larger ones, the walk
/// reads itself): with the batches' bounds, at most ~7 MiB in flight.
const AHEAD_LARGEST: usize = 1 << 20;
/// How far ahead of the thread a commit may lie for the walk to wait for
/// the thread rather than read it itself (and have the thread skip there).
const AHEAD_REACH: u64 = 1024 * 1024;
/// Commits passed by the walk kept at most, and their bytes.
const PASSED: usize = 8192;
const PASSED_BYTES: usize = 8 << 20;

impl ReadAhead {
    /// Starts rebuilding the entries of `pack` (number `number`) from the
    /// entry at `start`; `None` when no thread can be started.
    fn start(pack: &Pack, number: usize, start: u64) -> Option<ReadAhead> {
        let mut reader = PackReader::of(vec![pack.reopen()?]);
        let (sender, receiver) = mpsc::sync_channel(AHEAD_BATCHES);
        let sent = Arc::new(AtomicU64::new(start));
        let skip = Arc::new(AtomicU64::new(0));
        let (their_sent, their_skip) = (Arc::clone(&sent), Arc::clone(&skip));
        let thread = std::thread::Builder::new()
            .name(String::from("read-ahead"))
            .spawn(move || reader.decode_ahead(start, &sender, &their_sent, &their_skip))
            .ok()?;
        Some(ReadAhead {
            pack: number,
            receiver: Some(receiver),
            buffer: VecDeque::new(),
            passed: HashMap::new(),
            passed_order: VecDeque::new(),
            passed_bytes: 0,
            sent,
            skip,
            thread: Some(thread),
        })
    }

    /// The commit at `offset` of pack `pack`, when the thread has rebuilt
    /// it (waiting for it when the thread is close behind); `None`: the
    /// walk reads it itself.
    fn take(&mut self, pack: usize, offset: u64) -> Option<Vec<u8>> {
        if pack != self.pack {
            return None;
        }
        if let Some(data) = self.passed.remove(&offset) {
            self.passed_bytes -= data.len();
            return Some(data);
        }
        loop {
            while let Some(&(at, _)) = self.buffer.front() {
                match at.cmp(&offset) {
                    Ordering::Less => self.pass(),
                    Ordering::Equal => return self.buffer.pop_front().map(|(_, data)| data),
                    Ordering::Greater => return None, // behind the thread, or not a commit
                }
            }
            let receiver = self.receiver.as_ref()?;
            let sent = self.sent.load(AtomicOrdering::Acquire);
            match receiver.try_recv() {
                Ok(batch) => {
                    self.buffer.extend(batch);
                    continue;
                }
                Err(TryRecvError::Disconnected) => {
                    self.receiver = None;
                    return None;
                }
                Err(TryRecvError::Empty) => {}
            }
            if offset < sent {
                return None; // everything before `sent` was received, and not it
            }
            if offset - sent > AHEAD_REACH {
                self.skip.store(offset, AtomicOrdering::Relaxed);
                return None;
            }
            match receiver.recv() {
                Ok(batch) => self.buffer.extend(batch),
                Err(_) => {
                    self.receiver = None;
                    return None;
                }
            }
        }
    }
}

impl ReadAhead {
    /// Keeps the first commit received, which the walk has passed.
    fn pass(&mut self) {
        let Some((at, data)) = self.buffer.pop_front() else {
            return;
        };
        self.passed_bytes += data.len();
        if let Some(old) = self.passed.insert(at, data) {
            self.passed_bytes -= old.len();
        }
        self.passed_order.push_back(at);
        while self.passed.len() > PASSED || self.passed_bytes > PASSED_BYTES {
            let Some(oldest) = self.passed_order.pop_front() else {
                break;
            };
            if let Some(gone) = self.passed.remove(&oldest) {
                self.passed_bytes -= gone.len();
            }
        }
        if self.passed_order.len() > 2 * PASSED {
            let passed = &self.passed;
            self.passed_order.retain(|at| passed.contains_key(at));
        }
    }
}

impl Drop for ReadAhead {
    fn drop(&mut self) {
        // Its next send fails: the thread ends within a batch.
        self.receiver = None;
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl PackReader {
    /// The read-ahead thread's loop (its reader holds the one pack): entry
    /// after entry from `at`, commits sent in batches, until an entry is
    /// not a commit or cannot be read, or the walk stops listening.
    fn decode_ahead(
        &mut self,
        mut at: u64,
        sender: &SyncSender<Batch>,
        sent: &AtomicU64,
        skip: &AtomicU64,
    ) {
        let mut batch = Vec::with_capacity(AHEAD_BATCH);
        let mut bytes = 0;
        loop {
            let wanted = skip.load(AtomicOrdering::Relaxed);
            if wanted > at {
                batch.clear(); // all before where the walk is
                bytes = 0;
                at = wanted;
                sent.store(at, AtomicOrdering::Release);
            }
            let (Ok(Some(COMMIT)), Some(end)) = (self.resolve(0, at), self.end) else {
                break;
            };
            // A commit larger than any a person writes is left to the walk:
            // what is in flight stays small, whatever the pack holds.
            if self.object.len() <= AHEAD_LARGEST {
                bytes += self.object.len();
                batch.push((at, std::mem::take(&mut self.object)));
            }
            at = end;
            if batch.len() == AHEAD_BATCH || bytes >= AHEAD_BATCH_BYTES {
                bytes = 0;
                let full = std::mem::replace(&mut batch, Vec::with_capacity(AHEAD_BATCH));
                if sender.send(full).is_err() {
                    return;
                }
                sent.store(at, AtomicOrdering::Release);
            }
        }
        if !batch.is_empty() {
            let _ = sender.send(batch);
        }
    }
}

/// Whether `data`, read from pack `pack` for the commit `oid`, is that
/// commit: the SHA-1 of `commit <len>\0<data>` is its id. What is wrong when not.
pub(crate) fn check_id(oid: Oid, data: &[u8], pack: &str) -> Result<(), String> {
    if object_id(COMMIT, data)[..] == *oid.as_bytes() {
        Ok(())
    } else {
        Err(format!(
            "{pack} holds other bytes where its index says it is (substituted or corrupt)"
        ))
    }
}

/// Checks that every offset in the (version 2) pack indexes of the object
/// directory `objects` lies inside its pack: libgit2 trusts them, and one
/// past the end can crash it (a signal, not an error). Run before libgit2
/// reads any object. The error names the pack. Costs one read of 4 bytes
/// an object (0.4 MB for 100,000 objects).
pub(crate) fn check_offsets(objects: &Path) -> Result<(), String> {
    let Ok(entries) = std::fs::read_dir(objects.join("pack")) else {
        return Ok(());
    };
    for idx in entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "idx"))
    {
        check_index(&idx).map_err(|what| {
            format!(
                "the pack index {} is damaged: {what}",
                idx.file_name().unwrap_or_default().to_string_lossy()
            )
        })?;
    }
    Ok(())
}

/// See [`check_offsets`]. Indexes or packs that cannot be opened, or of
/// another version, are left to libgit2, which reports them.
fn check_index(idx: &Path) -> Result<(), String> {
    let (Ok(index), Ok(pack)) = (File::open(idx), File::open(idx.with_extension("pack"))) else {
        return Ok(());
    };
    let (Ok(index_meta), Ok(pack_meta)) = (index.metadata(), pack.metadata()) else {
        return Ok(());
    };
    let mut head = [0u8; IDS_AT];
    if read_at(&index, &mut head, 0).is_err() || head[..8] != [0xff, b't', b'O', b'c', 0, 0, 0, 2] {
        return Ok(());
    }
    let count = u64::from(u32::from_be_bytes([
        head[IDS_AT - 4],
        head[IDS_AT - 3],
        head[IDS_AT - 2],
        head[IDS_AT - 1],
    ]));
    let offsets_at = IDS_AT as u64 + count * (OID_LEN as u64 + 4);
    let large_at = offsets_at + count * 4;
    let Some(large_len) = index_meta.len().checked_sub(large_at + 2 * OID_LEN as u64) else {
        return Err(String::from("it is shorter than its object count needs"));
    };
    let large_count = large_len / 8;
    // An entry needs the pack's 12-byte header before it and its 20-byte trailer after.
    let valid = |offset: u64| offset >= 12 && offset.saturating_add(20) < pack_meta.len();
    const CHUNK: u64 = 16 * 1024;
    let mut buf = Vec::new();
    let mut done = 0;
    while done < count {
        let n = (count - done).min(CHUNK);
        buf.resize(n as usize * 4, 0);
        read_at(&index, &mut buf, offsets_at + done * 4).map_err(|e| e.to_string())?;
        for raw in buf.chunks_exact(4) {
            let raw = u32::from_be_bytes([raw[0], raw[1], raw[2], raw[3]]);
            if raw & 0x8000_0000 == 0 {
                if !valid(u64::from(raw)) {
                    return Err(format!("an offset ({raw}) lies outside the pack"));
                }
            } else if u64::from(raw & 0x7fff_ffff) >= large_count {
                return Err(String::from("a large offset is missing from its table"));
            }
        }
        done += n;
    }
    let mut done = 0;
    while done < large_count {
        let n = (large_count - done).min(CHUNK);
        buf.resize(n as usize * 8, 0);
        read_at(&index, &mut buf, large_at + done * 8).map_err(|e| e.to_string())?;
        for raw in buf.chunks_exact(8) {
            let offset = u64::from_be_bytes(raw.try_into().unwrap_or_default());
            if !valid(offset) {
                return Err(format!("an offset ({offset}) lies outside the pack"));
            }
        }
        done += n;
    }
    Ok(())
}

/// The id git gives an object of pack type `kind` (1 commit, 2 tree, 3
/// blob, 4 tag): the SHA-1 of `<type> <len>\0<body>`.
pub(crate) fn object_id(kind: u8, body: &[u8]) -> [u8; OID_LEN] {
    let name: &[u8] = match kind {
        COMMIT => b"commit",
        2 => b"tree",
        3 => b"blob",
        _ => b"tag",
    };
    // `<len>` in decimal, without an allocation.
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    let mut len = body.len();
    loop {
        at -= 1;
        digits[at] = b'0' + (len % 10) as u8;
        len /= 10;
        if len == 0 {
            break;
        }
    }
    let mut hasher = Sha1::new();
    hasher.update(name);
    hasher.update(b" ");
    hasher.update(&digits[at..]);
    hasher.update([0]);
    hasher.update(body);
    hasher.finalize().into()
}

/// An index lookup.
enum Found {
    Offset(u64),
    Absent,
    /// Listed, with an offset the index cannot hold (a large offset out of
    /// its table).
    Damaged,
}

impl Pack {
    fn open(idx: &Path) -> Option<Pack> {
        let index = File::open(idx).ok()?;
        let mut head = [0u8; 8 + 256 * 4];
        read_at(&index, &mut head, 0).ok()?;
        // Version 2: `\xfftOc`, then version 2 in network order.
        if head[..8] != [0xff, b't', b'O', b'c', 0, 0, 0, 2] {
            return None;
        }
        let mut fanout = Box::new([0u32; 256]);
        for (i, slot) in fanout.iter_mut().enumerate() {
            let at = 8 + i * 4;
            *slot = u32::from_be_bytes(head[at..at + 4].try_into().ok()?);
        }
        if fanout.windows(2).any(|w| w[0] > w[1]) {
            return None;
        }
        let count = fanout[255] as usize;
        if count * (OID_LEN + 4) > MAX_TABLES {
            return None; // a huge pack: libgit2 maps its index instead
        }
        let index_len = index.metadata().ok()?.len();
        let tables = (IDS_AT + count * (OID_LEN + 4 + 4)) as u64;
        // Two trailing checksums; anything between is the large-offset table.
        let large = index_len.checked_sub(tables + 2 * OID_LEN as u64)?;
        if large % 8 != 0 {
            return None;
        }
        let file = File::open(idx.with_extension("pack")).ok()?;
        let len = file.metadata().ok()?.len();
        let mut signature = [0u8; 8];
        read_at(&file, &mut signature, 0).ok()?;
        if &signature[..4] != b"PACK" || !matches!(signature[7], 2 | 3) {
            return None;
        }
        Some(Pack {
            name: idx
                .with_extension("pack")
                .file_name()
                .map(|n| Arc::from(n.to_string_lossy()))
                .unwrap_or_else(|| Arc::from("")),
            index: Index {
                file: index,
                count,
                fanout,
                large_at: tables,
                large_len: usize::try_from(large).ok()?,
                lookups: 0,
                tables: None,
            },
            file,
            len,
            blocks: BlockCache {
                slots: (0..BLOCKS).map(|_| None).collect(),
            },
        })
    }

    /// The same pack opened again (the same files, its own caches), for
    /// another thread.
    fn reopen(&self) -> Option<Pack> {
        Some(Pack {
            name: Arc::clone(&self.name),
            index: Index {
                file: self.index.file.try_clone().ok()?,
                count: self.index.count,
                fanout: self.index.fanout.clone(),
                large_at: self.index.large_at,
                large_len: self.index.large_len,
                lookups: 0,
                tables: None,
            },
            file: self.file.try_clone().ok()?,
            len: self.len,
            blocks: BlockCache {
                slots: (0..BLOCKS).map(|_| None).collect(),
            },
        })
    }

    /// The offset of `id` in the pack.
    fn find(&mut self, id: &[u8]) -> Found {
        self.index.find(id)
    }

    /// Whether an entry can start at `offset`: past the 12-byte header,
    /// before the 20-byte trailer.
    fn holds(&self, offset: u64) -> bool {
        offset >= 12 && offset.saturating_add(20) < self.len
    }

    /// The entry header at `offset`: type, size, where its data starts, and
    /// for a delta where its base is. `None`: not an entry.
    fn header(&mut self, offset: u64) -> Option<Header> {
        // Type and size (7 bits a byte after the first 4), then an OFS delta's
        // base distance or a REF delta's base id. An entry near the end of
        // the pack has fewer bytes after it than this.
        let mut header = [0u8; 48];
        let mut have = 0;
        while have < header.len() {
            let at = offset.checked_add(have as u64)?;
            let Some(chunk) = self.blocks.chunk(&self.file, self.len, at) else {
                break;
            };
            let n = chunk.len().min(header.len() - have);
            header[have..have + n].copy_from_slice(&chunk[..n]);
            have += n;
        }
        let header = &header[..have];
        let mut byte = *header.first()?;
        let kind = (byte >> 4) & 7;
        let mut size = u64::from(byte & 0x0f);
        let mut shift = 4;
        let mut used = 1;
        while byte & 0x80 != 0 {
            byte = *header.get(used)?;
            used += 1;
            if shift > 63 - 7 {
                return None;
            }
            size |= u64::from(byte & 0x7f) << shift;
            shift += 7;
        }
        let base = match kind {
            COMMIT..=TAG => Base::None,
            OFS_DELTA => {
                // git's encoding (packfile.c `get_delta_base`): big-endian
                // 7 bits a byte, each continuation adding one.
                let mut byte = *header.get(used)?;
                used += 1;
                let mut distance = u64::from(byte & 0x7f);
                while byte & 0x80 != 0 {
                    byte = *header.get(used)?;
                    used += 1;
                    distance = distance.checked_add(1)?.checked_mul(128)? | u64::from(byte & 0x7f);
                }
                // A base lies after the pack's 12-byte header and before the delta.
                let base = offset
                    .checked_sub(distance)
                    .filter(|&b| b >= 12 && distance > 0)?;
                Base::Offset(base)
            }
            REF_DELTA => {
                let id = header.get(used..used + OID_LEN)?.try_into().ok()?;
                used += OID_LEN;
                Base::Id(id)
            }
            _ => return None, // 0 and 5: not a type git writes
        };
        Some(Header {
            kind,
            size,
            data: offset.checked_add(used as u64)?,
            base,
        })
    }

    /// Inflates the zlib stream at `at` into `out`, which must come to
    /// exactly `size` bytes: where the stream ends (the next entry starts),
    /// or `None` when it does not.
    fn inflate(
        &mut self,
        at: u64,
        size: usize,
        inflater: &mut Decompress,
        out: &mut Vec<u8>,
    ) -> Option<u64> {
        // Room to spare: a stream longer than its header says shows, and
        // zlib decodes fast only with 258 bytes of free output.
        out.clear();
        out.reserve(size + 512);
        inflater.reset(true);
        let mut at = at;
        loop {
            let input = self.blocks.chunk(&self.file, self.len, at)?;
            let before = inflater.total_in();
            let status = inflater
                .decompress_vec(input, out, FlushDecompress::None)
                .ok()?;
            let consumed = inflater.total_in() - before;
            at += consumed;
            match status {
                Status::StreamEnd => break,
                _ if consumed == 0 || out.len() > size => return None,
                Status::Ok | Status::BufError => {}
            }
        }
        (out.len() == size).then_some(at)
    }
}

/// An entry's header.
struct Header {
    kind: u8,
    /// The inflated size of its data (for a delta: of the delta).
    size: u64,
    /// Where its zlib stream starts.
    data: u64,
    base: Base,
}

enum Base {
    /// A whole object.
    None,
    Offset(u64),
    Id([u8; OID_LEN]),
}

/// Applies a git delta to `base` (patch-delta.c): `None` when the delta is
/// not one for this base (its sizes, a copy outside the base, an unknown
/// instruction, a result longer or shorter than it says).
fn apply_delta(base: &[u8], delta: &[u8], out: &mut Vec<u8>) -> Option<()> {
    fn size(delta: &[u8], at: &mut usize) -> Option<usize> {
        let mut value: u64 = 0;
        let mut shift = 0;
        loop {
            let byte = *delta.get(*at)?;
            *at += 1;
            if shift > 63 - 7 {
                return None;
            }
            value |= u64::from(byte & 0x7f) << shift;
            shift += 7;
            if byte & 0x80 == 0 {
                return usize::try_from(value).ok();
            }
        }
    }
    let mut at = 0;
    if size(delta, &mut at)? != base.len() {
        return None;
    }
    let target = size(delta, &mut at)?;
    if target > MAX_OBJECT {
        return None;
    }
    out.clear();
    out.reserve(target);
    while let Some(&command) = delta.get(at) {
        at += 1;
        if command & 0x80 != 0 {
            let mut offset = 0usize;
            let mut length = 0usize;
            for bit in 0..4 {
                if command & (1 << bit) != 0 {
                    offset |= usize::from(*delta.get(at)?) << (8 * bit);
                    at += 1;
                }
            }
            for bit in 0..3 {
                if command & (0x10 << bit) != 0 {
                    length |= usize::from(*delta.get(at)?) << (8 * bit);
                    at += 1;
                }
            }
            if length == 0 {
                length = 0x10000;
            }
            let end = offset.checked_add(length)?;
            if end > base.len() || out.len() + length > target {
                return None;
            }
            out.extend_from_slice(&base[offset..end]);
        } else if command != 0 {
            let length = usize::from(command);
            let bytes = delta.get(at..at + length)?;
            if out.len() + length > target {
                return None;
            }
            out.extend_from_slice(bytes);
            at += length;
        } else {
            return None; // reserved
        }
    }
    (out.len() == target).then_some(())
}

/// Objects recently rebuilt from deltas (and their bases), by pack and
/// offset, least recently used dropped first: a walk reads the commits of a
/// delta chain one after the other, and each then costs one delta, not the
/// whole chain again (git's delta base cache, packfile.c).
struct BaseCache {
    objects: HashMap<(usize, u64), Cached>,
    /// Keys in the order they were last used; an entry whose stamp is not
    /// its object's current one is stale and skipped.
    order: VecDeque<((usize, u64), u64)>,
    bytes: usize,
    clock: u64,
}

struct Cached {
    kind: u8,
    data: Vec<u8>,
    stamp: u64,
}

impl BaseCache {
    fn get(&mut self, key: (usize, u64)) -> Option<(u8, &[u8])> {
        self.clock += 1;
        let cached = self.objects.get_mut(&key)?;
        cached.stamp = self.clock;
        self.order.push_back((key, self.clock));
        if self.order.len() > 4 * self.objects.len() + 64 {
            let objects = &self.objects;
            self.order
                .retain(|(key, stamp)| objects.get(key).is_some_and(|c| c.stamp == *stamp));
        }
        let cached = self.objects.get(&key)?;
        Some((cached.kind, &cached.data))
    }

    fn put(&mut self, key: (usize, u64), kind: u8, data: &[u8]) {
        if data.len() > BASE_CACHE / 4 || self.objects.contains_key(&key) {
            return;
        }
        self.clock += 1;
        self.bytes += data.len() + CACHED_OVERHEAD;
        self.objects.insert(
            key,
            Cached {
                kind,
                data: data.to_vec(),
                stamp: self.clock,
            },
        );
        self.order.push_back((key, self.clock));
        while self.bytes > BASE_CACHE {
            let Some((old, stamp)) = self.order.pop_front() else {
                break;
            };
            if self.objects.get(&old).is_some_and(|c| c.stamp == stamp)
                && let Some(gone) = self.objects.remove(&old)
            {
                self.bytes -= gone.data.len() + CACHED_OVERHEAD;
            }
        }
    }
}

impl Index {
    /// The offset of `id` in the pack. Ids are uniformly distributed, so
    /// its place in its fan-out bucket is guessed from its next four bytes
    /// and only a window around the guess is searched (two or three cache
    /// misses, or one read of the file, instead of a dozen); when the window
    /// misses, the whole bucket is searched.
    fn find(&mut self, id: &[u8]) -> Found {
        match self.position(id) {
            None => Found::Absent,
            Some(at) => self.offset(at).map_or(Found::Damaged, Found::Offset),
        }
    }

    /// Where `id` is listed in the index.
    fn position(&mut self, id: &[u8]) -> Option<usize> {
        self.lookups += 1;
        if self.tables.is_none() && self.lookups > LOAD_AFTER {
            self.tables = self.load();
            if self.tables.is_none() {
                self.lookups = 0; // keep reading the file; try again later
            }
        }
        let first = usize::from(*id.first()?);
        let low = if first == 0 {
            0
        } else {
            self.fanout[first - 1] as usize
        };
        let high = (self.fanout[first] as usize).min(self.count);
        let span = high.checked_sub(low)?;
        if span == 0 {
            return None;
        }
        let key = u64::from(u32::from_be_bytes(id.get(1..5)?.try_into().ok()?));
        let guess = low + ((key * span as u64) >> 32) as usize;
        let from = guess.saturating_sub(WINDOW).max(low);
        let to = (guess + WINDOW).min(high);
        match self.search(id, from, to)? {
            Ok(at) => Some(at),
            Err(true) => None, // inside the window, and not there
            Err(false) => self.search(id, low, high)?.ok(),
        }
    }

    /// The pack offset of the `at`-th id.
    fn offset(&self, at: usize) -> Option<u64> {
        let raw = u32::from_be_bytes(
            self.bytes((IDS_AT + self.count * (OID_LEN + 4) + at * 4) as u64, 4)?
                .as_ref()
                .try_into()
                .ok()?,
        );
        if raw & 0x8000_0000 == 0 {
            return Some(u64::from(raw));
        }
        let i = (raw & 0x7fff_ffff) as usize * 8;
        if i + 8 > self.large_len {
            return None;
        }
        let large = self.bytes(self.large_at + i as u64, 8)?;
        Some(u64::from_be_bytes(large.as_ref().try_into().ok()?))
    }

    /// Binary search of `id` among the ids `from..to`: its position, or
    /// whether it would lie strictly inside them.
    fn search(&self, id: &[u8], from: usize, to: usize) -> Option<Result<usize, bool>> {
        let ids = self.bytes((IDS_AT + from * OID_LEN) as u64, (to - from) * OID_LEN)?;
        let ids = ids.as_ref();
        let at = |i: usize| ids.get(i * OID_LEN..(i + 1) * OID_LEN);
        let n = to - from;
        // No look at the window's two ends first: each is a cache miss in a
        // large index (profiled: these comparisons were 6% of a walk's
        // samples); where the search ends says whether `id` is inside.
        let (mut low, mut high) = (0, n);
        while low < high {
            let middle = low + (high - low) / 2;
            match at(middle)?.cmp(id) {
                std::cmp::Ordering::Less => low = middle + 1,
                std::cmp::Ordering::Greater => high = middle,
                std::cmp::Ordering::Equal => return Some(Ok(from + middle)),
            }
        }
        Some(Err(low > 0 && low < n))
    }

    /// `len` bytes of the index file at `at`: from the tables when they are
    /// loaded, else read from the file.
    fn bytes(&self, at: u64, len: usize) -> Option<std::borrow::Cow<'_, [u8]>> {
        if let Some(tables) = &self.tables {
            let at = usize::try_from(at).ok()?;
            let ids_end = IDS_AT + self.count * OID_LEN;
            let offsets_at = ids_end + self.count * 4;
            let offsets_end = offsets_at + self.count * 4;
            let large_at = usize::try_from(self.large_at).ok()?;
            let slice = if (IDS_AT..ids_end).contains(&at) {
                tables.ids.get(at - IDS_AT..at - IDS_AT + len)
            } else if (offsets_at..offsets_end).contains(&at) {
                tables.offsets.get(at - offsets_at..at - offsets_at + len)
            } else if at >= large_at {
                tables.large_offsets.get(at - large_at..at - large_at + len)
            } else {
                None
            };
            return slice.map(std::borrow::Cow::Borrowed);
        }
        let mut bytes = vec![0u8; len];
        read_at(&self.file, &mut bytes, at).ok()?;
        Some(std::borrow::Cow::Owned(bytes))
    }

    /// Reads the ids, offsets and large offsets into memory.
    fn load(&self) -> Option<Tables> {
        let mut ids = vec![0u8; self.count * OID_LEN];
        read_at(&self.file, &mut ids, IDS_AT as u64).ok()?;
        let mut offsets = vec![0u8; self.count * 4];
        read_at(
            &self.file,
            &mut offsets,
            (IDS_AT + self.count * (OID_LEN + 4)) as u64,
        )
        .ok()?;
        let mut large_offsets = vec![0u8; self.large_len];
        read_at(&self.file, &mut large_offsets, self.large_at).ok()?;
        Some(Tables {
            ids,
            offsets,
            large_offsets,
        })
    }
}

impl BlockCache {
    /// The bytes of the pack from `at` to the end of its block.
    fn chunk(&mut self, file: &File, len: u64, at: u64) -> Option<&[u8]> {
        let number = at / BLOCK as u64;
        let slot = (number % BLOCKS as u64) as usize;
        let cached = matches!(&self.slots[slot], Some((n, _)) if *n == number);
        if !cached {
            let start = number * BLOCK as u64;
            if start >= len {
                return None; // an offset past the end: a damaged index
            }
            let end = start.saturating_add(BLOCK as u64).min(len);
            let mut bytes = match self.slots[slot].take() {
                Some((_, mut reused)) => {
                    reused.resize((end - start) as usize, 0);
                    reused
                }
                None => vec![0u8; (end - start) as usize],
            };
            read_at(file, &mut bytes, start).ok()?;
            self.slots[slot] = Some((number, bytes));
        }
        let (_, bytes) = self.slots[slot].as_ref()?;
        let from = (at % BLOCK as u64) as usize;
        bytes.get(from..).filter(|rest| !rest.is_empty())
    }
}

/// Reads exactly `buf.len()` bytes of `file` at `offset`, leaving the file's
/// position alone (one `pread` on Unix).
#[cfg(unix)]
fn read_at(file: &File, buf: &mut [u8], offset: u64) -> std::io::Result<()> {
    use std::os::unix::fs::FileExt;
    file.read_exact_at(buf, offset)
}

#[cfg(windows)]
fn read_at(file: &File, mut buf: &mut [u8], mut offset: u64) -> std::io::Result<()> {
    use std::os::windows::fs::FileExt;
    while !buf.is_empty() {
        match file.seek_read(buf, offset) {
            Ok(0) => return Err(std::io::ErrorKind::UnexpectedEof.into()),
            Ok(n) => {
                buf = &mut buf[n..];
                offset += n as u64;
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Elsewhere the fast path is off: every read goes to libgit2.
#[cfg(not(any(unix, windows)))]
fn read_at(_: &File, _: &mut [u8], _: u64) -> std::io::Result<()> {
    Err(std::io::ErrorKind::Unsupported.into())
}

#[cfg(test)]
mod tests {
    use std::io::Write;
    use std::process::{Command, Stdio};

    use super::*;

    /// A repository of three commits written by fast-import (one pack), and its ids.
    fn packed() -> (tempfile::TempDir, Vec<Oid>) {
        let dir = tempfile::tempdir().unwrap();
        let git = |args: &[&str]| {
            let out = Command::new("git")
                .args(args)
                .current_dir(dir.path())
                .output()
                .unwrap();
            assert!(out.status.success(), "{args:?}");
            String::from_utf8(out.stdout).unwrap()
        };
        git(&["init", "-q", "-b", "main"]);
        let mut stream = String::new();
        for i in 1..=3 {
            let message = format!("EPL-{i} Change {i}\n");
            stream += &format!(
                "commit refs/heads/main\nmark :{i}\ncommitter A <a@b> {} +0000\ndata {}\n{message}\n",
                1_600_000_000 + i,
                message.len()
            );
        }
        let mut child = Command::new("git")
            .args(["-c", "fastimport.unpackLimit=0", "fast-import", "--quiet"])
            .current_dir(dir.path())
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
        let ids = git(&["rev-list", "main"])
            .lines()
            .map(|l| Oid::from_str(l).unwrap())
            .collect();
        (dir, ids)
    }

    fn index_path(dir: &Path) -> std::path::PathBuf {
        std::fs::read_dir(dir.join(".git/objects/pack"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .find(|p| p.extension().is_some_and(|e| e == "idx"))
            .unwrap()
    }

    /// A history of `count` commits with long, similar messages (as real
    /// projects write them), repacked as servers pack: most commits are
    /// deltas, many of deltas. `ofs`: bases named by offset (git's default),
    /// else by id.
    fn repacked(count: usize, ofs: bool) -> (tempfile::TempDir, Vec<Oid>) {
        repacked_with(count, ofs, None)
    }

    /// As [`repacked`], the commit number `large` (if any) with a message
    /// larger than the read-ahead hands over.
    fn repacked_with(
        count: usize,
        ofs: bool,
        large: Option<usize>,
    ) -> (tempfile::TempDir, Vec<Oid>) {
        let dir = tempfile::tempdir().unwrap();
        let git = |args: &[&str]| {
            let out = Command::new("git")
                .args(args)
                .current_dir(dir.path())
                .output()
                .unwrap();
            assert!(out.status.success(), "{args:?}");
            String::from_utf8(out.stdout).unwrap()
        };
        git(&["init", "-q", "-b", "main"]);
        let sentences = [
            "When the upstream service answers slowly, the code gave up after the first attempt.",
            "Keep the old behaviour behind a flag for one release, so deployments can move at their pace.",
            "This also removes a lock that was held across the network call, which made requests wait.",
            "Measured on the staging cluster: the 99th percentile latency drops from 840 ms to 120 ms.",
            "The test suite gains a case for an empty response, which used to panic in this module.",
        ];
        let mut stream = String::new();
        for i in 1..=count {
            let body: Vec<&str> = (0..4).map(|k| sentences[(i * 7 + k * 3) % 5]).collect();
            let mut message = format!(
                "EPL-{i} Change {i}\n\n{}\n\nSigned-off-by: Ada Lovelace <ada@example.com>\n",
                body.join(" ")
            );
            if large == Some(i) {
                message += &format!("{}\n", body.join(" ")).repeat(AHEAD_LARGEST / 300);
            }
            stream += &format!(
                "commit refs/heads/main\nmark :{i}\nauthor Ada Lovelace <ada@example.com> {} +0100\ncommitter A <a@b> {} +0000\ndata {}\n{message}\n",
                1_600_000_000 + i,
                1_600_000_000 + i,
                message.len()
            );
        }
        let mut child = Command::new("git")
            .args(["fast-import", "--quiet"])
            .current_dir(dir.path())
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
        let ofs = format!("repack.useDeltaBaseOffset={ofs}");
        git(&[
            "-c",
            &ofs,
            "repack",
            "-q",
            "-adf",
            "--depth=50",
            "--window=250",
        ]);
        let ids = git(&["rev-list", "main"])
            .lines()
            .map(|l| Oid::from_str(l).unwrap())
            .collect();
        (dir, ids)
    }

    /// Commits stored as deltas in the pack, and the longest chain among them
    /// (`git verify-pack -v`: a delta's line ends in its depth and base).
    fn deltified_commits(dir: &Path) -> (usize, usize) {
        let out = Command::new("git")
            .args(["verify-pack", "-v"])
            .arg(index_path(dir))
            .output()
            .unwrap();
        assert!(out.status.success());
        let (mut deltas, mut deepest) = (0, 0);
        for line in String::from_utf8(out.stdout).unwrap().lines() {
            let fields: Vec<&str> = line.split_whitespace().collect();
            if fields.get(1) == Some(&"commit") && fields.len() == 7 {
                deltas += 1;
                deepest = deepest.max(fields[5].parse().unwrap());
            }
        }
        (deltas, deepest)
    }

    #[test]
    fn deltified_commits_read_from_the_pack_are_what_libgit2_reads() {
        for ofs in [true, false] {
            let (dir, ids) = repacked(300, ofs);
            let (deltas, deepest) = deltified_commits(dir.path());
            // The test is about deltas: most commits are, in chains.
            assert!(
                deltas > ids.len() / 2,
                "{deltas} of {} deltified",
                ids.len()
            );
            assert!(deepest >= 3, "chains of at most {deepest}");
            let repo = git2::Repository::open(dir.path()).unwrap();
            let odb = repo.odb().unwrap();
            // In the walk's order, then again in the reverse (other cache
            // hits and misses), with a fresh reader each time.
            for order in [ids.clone(), ids.iter().rev().copied().collect()] {
                let mut reader = PackReader::open(&dir.path().join(".git/objects"));
                for id in &order {
                    let theirs = odb.read(*id).unwrap();
                    assert_eq!(
                        reader.read_commit(*id),
                        PackRead::Commit(theirs.data().to_vec()),
                        "{id} (offsets: {ofs})"
                    );
                }
            }
        }
    }

    /// Reads `order` with one reader, each commit compared with libgit2's
    /// bytes; how many the read-ahead rebuilt.
    fn read_all_as_libgit2(dir: &Path, order: &[Oid]) -> usize {
        let repo = git2::Repository::open(dir).unwrap();
        let odb = repo.odb().unwrap();
        let mut reader = PackReader::open(&dir.join(".git/objects"));
        for id in order {
            let theirs = odb.read(*id).unwrap();
            assert_eq!(
                reader.read_commit(*id),
                PackRead::Commit(theirs.data().to_vec()),
                "{id}"
            );
        }
        reader.ahead_served
    }

    /// The read-ahead thread rebuilds the commits of a long walk before the
    /// walk asks (git writes them in the walk's order), and hands over
    /// exactly what libgit2 reads, in any order the walk asks for them.
    #[test]
    fn a_long_walk_reads_ahead_on_a_second_thread_what_libgit2_reads() {
        let (dir, ids) = repacked(3 * AHEAD_AFTER + 600, true);
        let (deltas, _) = deltified_commits(dir.path());
        assert!(
            deltas > ids.len() / 2,
            "{deltas} of {} deltified",
            ids.len()
        );
        // In the walk's order: all but the first commits come from the
        // thread, those written early as a newer commit's base too.
        let served = read_all_as_libgit2(dir.path(), &ids);
        assert!(
            served >= ids.len() - AHEAD_AFTER - 8,
            "{served} of {} read ahead",
            ids.len()
        );
        // In other orders the thread is mostly out of step, and the walk
        // reads for itself: still the same bytes.
        let reversed: Vec<Oid> = ids.iter().rev().copied().collect();
        read_all_as_libgit2(dir.path(), &reversed);
        let mut shuffled = ids.clone();
        let mut state = 0x2545_f491_4f6c_dd1du64;
        for i in (1..shuffled.len()).rev() {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            shuffled.swap(i, (state % (i as u64 + 1)) as usize);
        }
        read_all_as_libgit2(dir.path(), &shuffled);
        // Half in order, then a jump far back, then in order again.
        let half = ids.len() / 2;
        let jumping: Vec<Oid> = ids[..half]
            .iter()
            .chain(&ids[..AHEAD_AFTER + 100])
            .chain(&ids[half..])
            .copied()
            .collect();
        read_all_as_libgit2(dir.path(), &jumping);
    }

    /// A commit larger than the read-ahead hands over, amid a long walk:
    /// the walk reads it itself, and the read-ahead goes on after it.
    #[test]
    fn a_huge_commit_amid_a_long_walk_is_read_by_the_walk() {
        let count = 2 * AHEAD_AFTER + 300;
        let (dir, ids) = repacked_with(count, true, Some(count - AHEAD_AFTER - 100));
        let repo = git2::Repository::open(dir.path()).unwrap();
        let odb = repo.odb().unwrap();
        let largest = ids
            .iter()
            .map(|id| odb.read(*id).unwrap().len())
            .max()
            .unwrap();
        assert!(largest > AHEAD_LARGEST, "{largest}");
        let served = read_all_as_libgit2(dir.path(), &ids);
        assert!(
            served >= ids.len() - AHEAD_AFTER - 8,
            "{served} of {} read ahead",
            ids.len()
        );
    }

    /// Damage past the point where the read-ahead starts: the thread stops
    /// there, the walk reads the entry itself, and never takes other bytes
    /// for a commit; what the index points at that is damaged is reported so.
    #[test]
    fn damage_ahead_of_the_walk_is_never_taken_for_a_commit() {
        use proptest::prelude::*;
        use proptest::test_runner::{Config, TestRunner};

        let (dir, ids) = repacked(2 * AHEAD_AFTER + 200, true);
        let idx = index_path(dir.path());
        let pack = idx.with_extension("pack");
        let pack_bytes = std::fs::read(&pack).unwrap();
        let objects = dir.path().join(".git/objects");
        let originals: Vec<Vec<u8>> = {
            let mut reader = PackReader::open(&objects);
            ids.iter()
                .map(|id| match reader.read_commit(*id) {
                    PackRead::Commit(data) => data,
                    other => panic!("{id}: {other:?}"),
                })
                .collect()
        };
        // Where the commits after the first AHEAD_AFTER lie in the pack.
        let start = {
            let mut reader = PackReader::open(&objects);
            let Found::Offset(at) = reader.packs[0].find(ids[AHEAD_AFTER + 10].as_bytes()) else {
                panic!("not in the index");
            };
            at as usize
        };
        let end = {
            let mut reader = PackReader::open(&objects);
            ids.iter()
                .map(|id| match reader.packs[0].find(id.as_bytes()) {
                    Found::Offset(at) => at as usize,
                    _ => 0,
                })
                .max()
                .unwrap()
        };
        let flips = proptest::collection::vec((start..end, any::<u8>()), 1..6);
        let mut runner = TestRunner::new(Config {
            cases: 48,
            ..Config::default()
        });
        runner
            .run(&flips, |flips| {
                let mut p = pack_bytes.clone();
                for (at, byte) in flips {
                    p[at] ^= byte | 1;
                }
                std::fs::write(&pack, &p).unwrap();
                let mut reader = PackReader::open(&objects);
                let mut not_read = 0;
                for (id, original) in ids.iter().zip(&originals) {
                    match reader.read_commit(*id) {
                        PackRead::Commit(data) => prop_assert_eq!(&data, original),
                        // Damaged, or now another type (libgit2's to read).
                        PackRead::Damaged(_) | PackRead::Elsewhere => not_read += 1,
                    }
                }
                prop_assert!(not_read > 0);
                Ok(())
            })
            .unwrap();
    }

    /// A pack and its index written by hand, entry by entry, so that damage
    /// git would never write can be written.
    struct HandPack {
        bytes: Vec<u8>,
        listed: Vec<([u8; OID_LEN], u64)>,
    }

    impl HandPack {
        fn new() -> HandPack {
            HandPack {
                bytes: b"PACK\0\0\0\x02\0\0\0\0".to_vec(),
                listed: Vec::new(),
            }
        }

        /// Appends an entry: `size` is what its header declares.
        fn entry(&mut self, kind: u8, size: usize, base: &[u8], data: &[u8]) -> u64 {
            let offset = self.bytes.len() as u64;
            let mut size = size;
            let mut byte = (kind << 4) | (size & 0x0f) as u8;
            size >>= 4;
            while size > 0 {
                self.bytes.push(byte | 0x80);
                byte = (size & 0x7f) as u8;
                size >>= 7;
            }
            self.bytes.push(byte);
            self.bytes.extend_from_slice(base);
            let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
            z.write_all(data).unwrap();
            self.bytes.extend(z.finish().unwrap());
            offset
        }

        fn commit(&mut self, body: &[u8]) -> ([u8; OID_LEN], u64) {
            let at = self.entry(COMMIT, body.len(), &[], body);
            let id = object_id(COMMIT, body);
            self.listed.push((id, at));
            (id, at)
        }

        /// An OFS delta `distance` bytes after its base, listed as `id`.
        fn ofs_delta(&mut self, id: [u8; OID_LEN], distance: u64, delta: &[u8]) -> u64 {
            let mut encoded = vec![(distance & 0x7f) as u8];
            let mut rest = distance >> 7;
            while rest > 0 {
                rest -= 1;
                encoded.insert(0, 0x80 | (rest & 0x7f) as u8);
                rest >>= 7;
            }
            let at = self.entry(OFS_DELTA, delta.len(), &encoded, delta);
            self.listed.push((id, at));
            at
        }

        fn ref_delta(&mut self, id: [u8; OID_LEN], base: [u8; OID_LEN], delta: &[u8]) -> u64 {
            let at = self.entry(REF_DELTA, delta.len(), &base, delta);
            self.listed.push((id, at));
            at
        }

        /// Writes the pack and its index (version 2) into `objects/pack`.
        fn write(mut self, objects: &Path) {
            let count = (self.listed.len() as u32).to_be_bytes();
            self.bytes[8..12].copy_from_slice(&count);
            let checksum: [u8; 20] = Sha1::digest(&self.bytes).into();
            self.bytes.extend_from_slice(&checksum);
            self.listed.sort();
            let mut idx = vec![0xff, b't', b'O', b'c', 0, 0, 0, 2];
            for first in 0..256 {
                let n = self
                    .listed
                    .iter()
                    .filter(|(id, _)| usize::from(id[0]) <= first)
                    .count();
                idx.extend_from_slice(&(n as u32).to_be_bytes());
            }
            for (id, _) in &self.listed {
                idx.extend_from_slice(id);
            }
            idx.extend(std::iter::repeat_n(0, 4 * self.listed.len())); // CRCs, unread
            for (_, at) in &self.listed {
                idx.extend_from_slice(&(*at as u32).to_be_bytes());
            }
            idx.extend_from_slice(&checksum);
            let own: [u8; 20] = Sha1::digest(&idx).into();
            idx.extend_from_slice(&own);
            let dir = objects.join("pack");
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(dir.join("pack-hand.pack"), &self.bytes).unwrap();
            std::fs::write(dir.join("pack-hand.idx"), &idx).unwrap();
        }
    }

    /// A delta from `base` to `target`: their common prefix copied, the rest
    /// inserted.
    fn delta(base: &[u8], target: &[u8]) -> Vec<u8> {
        let varint = |mut n: usize, out: &mut Vec<u8>| loop {
            let byte = (n & 0x7f) as u8;
            n >>= 7;
            if n == 0 {
                out.push(byte);
                break;
            }
            out.push(byte | 0x80);
        };
        let mut out = Vec::new();
        varint(base.len(), &mut out);
        varint(target.len(), &mut out);
        let common = base
            .iter()
            .zip(target)
            .take_while(|(a, b)| a == b)
            .count()
            .min(0xff);
        if common > 0 {
            out.extend_from_slice(&[0x80 | 0x10, common as u8]); // copy from 0, `common` bytes
        }
        for chunk in target[common..].chunks(0x7f) {
            out.push(chunk.len() as u8);
            out.extend_from_slice(chunk);
        }
        out
    }

    const FIRST: &[u8] = b"tree 4b825dc642cb6eb9a060e54bf8d69288fbee4904\nauthor A <a@b> 1 +0000\ncommitter A <a@b> 1 +0000\n\nEPL-1 first\n";
    const SECOND: &[u8] = b"tree 4b825dc642cb6eb9a060e54bf8d69288fbee4904\nauthor A <a@b> 1 +0000\ncommitter A <a@b> 2 +0000\n\nEPL-2 second\n";

    /// Reads `id` from a pack written by `build`.
    /// An index with more ids to a first byte than the search window spans
    /// (100 a bucket, and 1,000 guessed wrong): every listed id is found
    /// where it is, every id next to one or elsewhere is absent, before and
    /// after the tables are loaded.
    #[test]
    fn index_lookups_find_every_id_and_only_those() {
        let dir = tempfile::tempdir().unwrap();
        let mut pack = HandPack::new();
        let mut listed = Vec::new();
        for i in 0..25_600 {
            let body = format!("tree {:040}\n\nchange {i}\n", 0);
            listed.push(pack.commit(body.as_bytes()));
        }
        // Ids far from where their bytes guess them (all guessed at the
        // start of their bucket): found only by searching the whole bucket.
        // Only the index is read here, so they need no object of their own.
        let at = listed[0].1;
        for i in 0..1_000u32 {
            let mut id = object_id(COMMIT, format!("skewed {i}").as_bytes());
            id[..5].copy_from_slice(&[0xfe, 0, 0, 0, 0]);
            id[5..9].copy_from_slice(&i.to_be_bytes());
            pack.listed.push((id, at));
            listed.push((id, at));
        }
        pack.write(dir.path());
        let ids: std::collections::HashSet<[u8; OID_LEN]> =
            listed.iter().map(|(id, _)| *id).collect();
        // Next to a listed id, and anywhere (other ids' hashes).
        let mut absent: Vec<[u8; OID_LEN]> = listed
            .iter()
            .flat_map(|(id, _)| {
                [1u8, 255].map(|delta| {
                    let mut near = *id;
                    near[19] = near[19].wrapping_add(delta);
                    near
                })
            })
            .collect();
        absent.extend((0..5_000).map(|i| object_id(COMMIT, format!("absent {i}").as_bytes())));
        absent.retain(|id| !ids.contains(id));
        let mut reader = PackReader::open(dir.path());
        let index = &mut reader.packs[0].index;
        for round in 0..2 {
            for &(id, at) in &listed {
                assert!(matches!(index.find(&id), Found::Offset(o) if o == at));
            }
            for id in &absent {
                assert!(matches!(index.find(id), Found::Absent));
            }
            assert!(index.tables.is_some(), "round {round}");
        }
    }

    fn read_hand(build: impl FnOnce(&mut HandPack), id: [u8; OID_LEN]) -> PackRead {
        let dir = tempfile::tempdir().unwrap();
        let mut pack = HandPack::new();
        build(&mut pack);
        pack.write(dir.path());
        let mut reader = PackReader::open(dir.path());
        assert_eq!(reader.packs.len(), 1);
        reader.read_commit(Oid::from_bytes(&id).unwrap())
    }

    #[test]
    fn hand_written_deltas_read_as_git_writes_them() {
        let second = object_id(COMMIT, SECOND);
        let ofs = read_hand(
            |p| {
                let (_, at) = p.commit(FIRST);
                let next = p.bytes.len() as u64;
                p.ofs_delta(second, next - at, &delta(FIRST, SECOND));
            },
            second,
        );
        assert_eq!(ofs, PackRead::Commit(SECOND.to_vec()));
        let by_id = read_hand(
            |p| {
                let (first, _) = p.commit(FIRST);
                p.ref_delta(second, first, &delta(FIRST, SECOND));
            },
            second,
        );
        assert_eq!(by_id, PackRead::Commit(SECOND.to_vec()));
        // A base in another pack (or loose): libgit2's to read.
        let elsewhere = read_hand(
            |p| {
                p.commit(FIRST);
                p.ref_delta(second, [7; OID_LEN], &delta(FIRST, SECOND));
            },
            second,
        );
        assert_eq!(elsewhere, PackRead::Elsewhere);
    }

    fn assert_damaged(read: PackRead, case: &str) {
        assert!(matches!(read, PackRead::Damaged(_)), "{case}: {read:?}");
    }

    #[test]
    fn a_delta_with_a_bad_base_offset_is_damaged() {
        let second = object_id(COMMIT, SECOND);
        let good = delta(FIRST, SECOND);
        // Before the pack's header, past the pack's start, zero (itself),
        // into the middle of the base entry.
        for (case, distance) in [
            ("before the header", |next: u64, _| next - 4),
            ("before the pack", |next: u64, _| next + 100),
            ("itself", |_, _| 0),
            ("mid-entry", |next: u64, at: u64| next - at - 3),
        ] as [(&str, fn(u64, u64) -> u64); 4]
        {
            let read = read_hand(
                |p| {
                    let (_, at) = p.commit(FIRST);
                    let next = p.bytes.len() as u64;
                    p.ofs_delta(second, distance(next, at), &good);
                },
                second,
            );
            assert_damaged(read, case);
        }
        // A distance that overflows while it is decoded.
        let read = read_hand(
            |p| {
                p.commit(FIRST);
                let at = p.entry(OFS_DELTA, good.len(), &[0xff; 12], &good);
                p.listed.push((second, at));
            },
            second,
        );
        assert_damaged(read, "overflowing distance");
    }

    #[test]
    fn a_truncated_or_wrong_delta_is_damaged() {
        let second = object_id(COMMIT, SECOND);
        let good = delta(FIRST, SECOND);
        let mut wrong_source = good.clone();
        wrong_source[0] ^= 1;
        // The copy of the common prefix moved to offset 0xf0 of a shorter base.
        let mut outside = good.clone();
        assert_eq!(outside[2], 0x90, "sizes of one byte each, then the copy");
        outside.splice(2..3, [0x91, 0xf0]);
        let mut reserved = good.clone();
        reserved.push(0);
        let cases: Vec<(&str, Vec<u8>, usize)> = vec![
            ("cut short", good[..good.len() - 5].to_vec(), good.len() - 5),
            ("shorter than its header says", good.clone(), good.len() + 9),
            ("longer than its header says", good.clone(), good.len() - 1),
            ("for another base", wrong_source, good.len()),
            ("copying outside its base", outside.clone(), outside.len()),
            (
                "with the reserved instruction",
                reserved.clone(),
                reserved.len(),
            ),
            (
                "building fewer bytes than it says",
                good[..good.len() - 1].to_vec(),
                good.len() - 1,
            ),
        ];
        for (case, data, declared) in cases {
            let read = read_hand(
                |p| {
                    let (_, at) = p.commit(FIRST);
                    let next = p.bytes.len() as u64;
                    assert!(next - at < 0x80, "a distance of one byte");
                    let entry = p.entry(OFS_DELTA, declared, &[(next - at) as u8], &data);
                    p.listed.push((second, entry));
                },
                second,
            );
            assert_damaged(read, case);
        }
    }

    #[test]
    fn a_cycle_of_deltas_is_damaged() {
        let (first, second) = (object_id(COMMIT, FIRST), object_id(COMMIT, SECOND));
        let d = delta(FIRST, SECOND);
        // Its own base.
        let read = read_hand(
            |p| {
                p.ref_delta(second, second, &d);
            },
            second,
        );
        assert_damaged(read, "its own base");
        // Two deltas, each the other's base.
        let read = read_hand(
            |p| {
                p.ref_delta(second, first, &d);
                p.ref_delta(first, second, &delta(SECOND, FIRST));
            },
            second,
        );
        assert_damaged(read, "each other's base");
    }

    #[test]
    fn commits_read_from_the_pack_are_what_git_stored() {
        let (dir, ids) = packed();
        let mut reader = PackReader::open(&dir.path().join(".git/objects"));
        let repo = git2::Repository::open(dir.path()).unwrap();
        let odb = repo.odb().unwrap();
        for id in &ids {
            let theirs = odb.read(*id).unwrap();
            assert_eq!(
                reader.read_commit(*id),
                PackRead::Commit(theirs.data().to_vec())
            );
        }
        // An id the pack does not hold (a blob-like id next to a real one).
        let mut other = ids[0].as_bytes().to_vec();
        other[19] ^= 1;
        assert_eq!(
            reader.read_commit(Oid::from_bytes(&other).unwrap()),
            PackRead::Elsewhere
        );
    }

    #[test]
    fn a_damaged_index_is_reported_not_left_to_libgit2() {
        let (dir, ids) = packed();
        let idx = index_path(dir.path());
        let original = std::fs::read(&idx).unwrap();
        let count =
            u32::from_be_bytes(original[8 + 255 * 4..8 + 256 * 4].try_into().unwrap()) as usize;
        let offsets_at = IDS_AT + count * (OID_LEN + 4);
        // Every offset past the end of the pack, a large offset out of its table, zero.
        for bad in [0x7fff_ff00u32, 0x8000_0005, 0] {
            let mut damaged = original.clone();
            for i in 0..count {
                damaged[offsets_at + i * 4..offsets_at + i * 4 + 4]
                    .copy_from_slice(&bad.to_be_bytes());
            }
            std::fs::write(&idx, &damaged).unwrap();
            let mut reader = PackReader::open(&dir.path().join(".git/objects"));
            for id in &ids {
                let read = reader.read_commit(*id);
                assert!(
                    matches!(read, PackRead::Damaged(_)),
                    "offset {bad:#x}: {read:?}"
                );
            }
        }
        // Two commits' offsets swapped: each entry is a whole commit, but not
        // the one asked for.
        let mut swapped = original.clone();
        let at = |i: usize| offsets_at + i * 4..offsets_at + i * 4 + 4;
        let place = |id: &Oid| {
            (0..count)
                .find(|&i| {
                    &original[IDS_AT + i * OID_LEN..IDS_AT + (i + 1) * OID_LEN] == id.as_bytes()
                })
                .unwrap()
        };
        let (a, b) = (place(&ids[0]), place(&ids[1]));
        let (first, second) = (swapped[at(a)].to_vec(), swapped[at(b)].to_vec());
        swapped[at(a)].copy_from_slice(&second);
        swapped[at(b)].copy_from_slice(&first);
        std::fs::write(&idx, &swapped).unwrap();
        let mut reader = PackReader::open(&dir.path().join(".git/objects"));
        for id in &ids[..2] {
            let read = reader.read_commit(*id);
            assert!(matches!(read, PackRead::Damaged(_)), "{id}: {read:?}");
        }
        assert!(matches!(reader.read_commit(ids[2]), PackRead::Commit(_)));
        // Truncated, or another version: not opened at all.
        for damaged in [original[..original.len() / 2].to_vec(), {
            let mut v = original.clone();
            v[7] = 3;
            v
        }] {
            std::fs::write(&idx, &damaged).unwrap();
            let reader = PackReader::open(&dir.path().join(".git/objects"));
            assert!(reader.packs.is_empty());
        }
    }

    #[test]
    fn damaged_packs_and_indexes_never_panic() {
        use proptest::prelude::*;
        use proptest::test_runner::{Config, TestRunner};

        let (dir, ids) = packed();
        let idx = index_path(dir.path());
        let pack = idx.with_extension("pack");
        let (idx_bytes, pack_bytes) = (std::fs::read(&idx).unwrap(), std::fs::read(&pack).unwrap());
        let originals: Vec<Vec<u8>> = {
            let mut reader = PackReader::open(&dir.path().join(".git/objects"));
            ids.iter()
                .map(|id| match reader.read_commit(*id) {
                    PackRead::Commit(data) => data,
                    other => panic!("{id}: {other:?}"),
                })
                .collect()
        };
        let flips = proptest::collection::vec(
            (any::<bool>(), any::<prop::sample::Index>(), any::<u8>()),
            1..8,
        );
        let mut runner = TestRunner::new(Config {
            cases: 256,
            ..Config::default()
        });
        runner
            .run(&flips, |flips| {
                let (mut i, mut p) = (idx_bytes.clone(), pack_bytes.clone());
                for (in_index, at, byte) in flips {
                    let target = if in_index { &mut i } else { &mut p };
                    let at = at.index(target.len());
                    target[at] ^= byte | 1;
                }
                std::fs::write(&idx, &i).unwrap();
                std::fs::write(&pack, &p).unwrap();
                let mut reader = PackReader::open(&dir.path().join(".git/objects"));
                for (id, original) in ids.iter().zip(&originals) {
                    // Whatever the damage, never other bytes for the commit.
                    if let PackRead::Commit(data) = reader.read_commit(*id) {
                        prop_assert_eq!(&data, original);
                    }
                }
                Ok(())
            })
            .unwrap();
    }
}
