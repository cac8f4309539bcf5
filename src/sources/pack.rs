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
//! It reads only what is simple to read exactly: a whole (undeltified)
//! commit in a pack it could open, whose index tables fit in 32 MiB.
//! Everything else — loose objects, deltified entries, alternates, unusual
//! index versions — answers [`PackRead::Elsewhere`], and the caller asks
//! libgit2. What it reads is verified: the SHA-1 of `commit <len>\0<body>`
//! must be the id looked up, so a damaged or substituted entry is never
//! taken for the commit. An entry the index points at that cannot be what
//! it claims (an offset outside the pack, a stream that does not inflate to
//! its size, another object's bytes) answers [`PackRead::Damaged`]: the
//! caller stops there, without handing the damaged pack to libgit2 (which
//! trusts the index's offsets).

use std::fs::File;
use std::path::Path;

use flate2::{Decompress, FlushDecompress, Status};
use git2::Oid;
use sha1::{Digest, Sha1};

/// What the packs say about a commit id.
#[derive(Debug, PartialEq, Eq)]
pub enum PackRead {
    /// Its bytes (without git's object header), their id verified.
    Commit(Vec<u8>),
    /// Not in a pack this reader reads whole (absent, deltified, another
    /// type, a pack it did not open): libgit2's to read.
    Elsewhere,
    /// An index points at it but the entry is not it: what is wrong.
    Damaged(String),
}

/// Pack files of an object database, and the state reused between reads.
pub struct PackReader {
    packs: Vec<Pack>,
    inflater: Decompress,
    /// Inflated into first: room to spare keeps zlib on its fast path
    /// (which wants 258 bytes of free output), then copied out exactly.
    scratch: Vec<u8>,
}

struct Pack {
    /// The pack file's name, for messages.
    name: String,
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
const BLOCK: usize = 64 * 1024;
const BLOCKS: usize = 8;
/// Pack entry types.
const COMMIT: u8 = 1;

/// Recently read 64 KiB blocks of a pack, direct-mapped: 512 KiB at most.
struct BlockCache {
    slots: Vec<Option<(u64, Vec<u8>)>>,
}

impl PackReader {
    /// The packs in `objects/pack` of the object directory `objects`. Packs
    /// that cannot be opened are left to libgit2.
    pub fn open(objects: &Path) -> PackReader {
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
        PackReader {
            packs,
            inflater: Decompress::new(true),
            scratch: Vec::new(),
        }
    }

    /// The raw commit `oid` (without git's object header), when it lies whole
    /// in the first pack whose index lists it; see [`PackRead`].
    pub fn read_commit(&mut self, oid: Oid) -> PackRead {
        let id = oid.as_bytes();
        let (inflater, scratch) = (&mut self.inflater, &mut self.scratch);
        for pack in &mut self.packs {
            let offset = match pack.find(id) {
                Found::Offset(offset) => offset,
                Found::Absent => continue,
                Found::Damaged => {
                    return PackRead::Damaged(format!(
                        "its index entry in {} is damaged",
                        pack.name
                    ));
                }
            };
            // Past the 12-byte header, before the 20-byte trailer.
            if offset < 12 || offset.saturating_add(20) >= pack.len {
                return PackRead::Damaged(format!(
                    "the index of {} points outside the pack (offset {offset})",
                    pack.name
                ));
            }
            return match pack.read_whole(offset, COMMIT, inflater, scratch) {
                Entry::Whole(data) if object_id(COMMIT, &data)[..] == *id => PackRead::Commit(data),
                Entry::Whole(_) => PackRead::Damaged(format!(
                    "{} holds other bytes where its index says it is (substituted or corrupt)",
                    pack.name
                )),
                Entry::Other => PackRead::Elsewhere,
                Entry::Damaged => PackRead::Damaged(format!(
                    "its entry in {} does not inflate to what its header says",
                    pack.name
                )),
            };
        }
        PackRead::Elsewhere
    }
}

/// Checks that every offset in the (version 2) pack indexes of the object
/// directory `objects` lies inside its pack: libgit2 trusts them, and one
/// past the end can crash it (a signal, not an error). Run before libgit2
/// reads any object. The error names the pack. Costs one read of 4 bytes
/// an object (0.4 MB for 100,000 objects).
pub fn check_offsets(objects: &Path) -> Result<(), String> {
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
pub fn object_id(kind: u8, body: &[u8]) -> [u8; OID_LEN] {
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

/// A pack entry read at an offset.
enum Entry {
    Whole(Vec<u8>),
    /// Another type, a delta, too large to be worth it: libgit2's.
    Other,
    /// Not an entry: an unknown type, a stream that does not inflate to
    /// the size in its header, bytes past the end.
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
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
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

    /// The offset of `id` in the pack.
    fn find(&mut self, id: &[u8]) -> Found {
        self.index.find(id)
    }

    /// Inflates the entry at `offset` when it is a whole object of `kind`.
    fn read_whole(
        &mut self,
        offset: u64,
        kind: u8,
        inflater: &mut Decompress,
        out: &mut Vec<u8>,
    ) -> Entry {
        // Entry header: type and size, 7 bits a byte after the first 4. An
        // entry near the end of the pack has fewer than 16 bytes after it.
        let mut header = [0u8; 16];
        let mut have = 0;
        while have < header.len() {
            let Some(at) = offset.checked_add(have as u64) else {
                return Entry::Damaged;
            };
            let Some(chunk) = self.blocks.chunk(&self.file, self.len, at) else {
                break;
            };
            let n = chunk.len().min(header.len() - have);
            header[have..have + n].copy_from_slice(&chunk[..n]);
            have += n;
        }
        if have == 0 {
            return Entry::Damaged;
        }
        let mut byte = header[0];
        match (byte >> 4) & 7 {
            t if t == kind => {}
            0 | 5 => return Entry::Damaged, // not a type git writes
            _ => return Entry::Other,       // another type, or a delta: libgit2's job
        }
        let mut size = u64::from(byte & 0x0f);
        let mut shift = 4;
        let mut used = 1;
        while byte & 0x80 != 0 {
            let Some(&next) = header[..have].get(used) else {
                return Entry::Damaged;
            };
            byte = next;
            used += 1;
            size |= u64::from(byte & 0x7f).checked_shl(shift).unwrap_or(0);
            shift += 7;
            if shift > 63 {
                return Entry::Damaged;
            }
        }
        // A commit larger than this is not worth the fast path.
        let Some(size) = usize::try_from(size).ok().filter(|&s| s <= 64 << 20) else {
            return Entry::Other;
        };
        // Room to spare: a stream longer than its header says shows, and
        // zlib decodes fast only with 258 bytes of free output.
        out.clear();
        out.reserve(size + 512);
        inflater.reset(true);
        let mut at = offset + used as u64;
        loop {
            let Some(input) = self.blocks.chunk(&self.file, self.len, at) else {
                return Entry::Damaged;
            };
            let before = inflater.total_in();
            let Ok(status) = inflater.decompress_vec(input, out, FlushDecompress::None) else {
                return Entry::Damaged;
            };
            let consumed = inflater.total_in() - before;
            at += consumed;
            match status {
                Status::StreamEnd => break,
                _ if consumed == 0 || out.len() > size => return Entry::Damaged,
                Status::Ok | Status::BufError => {}
            }
        }
        if out.len() == size {
            Entry::Whole(out.clone())
        } else {
            Entry::Damaged
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
        if n == 0 || at(0)? > id || at(n - 1)? < id {
            return Some(Err(false));
        }
        let (mut low, mut high) = (0, n);
        while low < high {
            let middle = low + (high - low) / 2;
            match at(middle)?.cmp(id) {
                std::cmp::Ordering::Less => low = middle + 1,
                std::cmp::Ordering::Greater => high = middle,
                std::cmp::Ordering::Equal => return Some(Ok(from + middle)),
            }
        }
        Some(Err(true))
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
