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
//! commit in a pack it could open, whose index tables fit in 32 MiB. Everything else — loose objects,
//! deltified entries, alternates, unusual index versions, any read error —
//! answers `None`, and the caller asks libgit2, which stays the authority.

use std::fs::File;
use std::path::Path;

use flate2::{Decompress, FlushDecompress, Status};
use git2::Oid;

/// Pack files of an object database, and the state reused between reads.
pub struct PackReader {
    packs: Vec<Pack>,
    inflater: Decompress,
    /// Inflated into first: room to spare keeps zlib on its fast path
    /// (which wants 258 bytes of free output), then copied out exactly.
    scratch: Vec<u8>,
}

struct Pack {
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
    /// in one of the packs; `None` leaves it to libgit2.
    pub fn read_commit(&mut self, oid: Oid) -> Option<Vec<u8>> {
        let id = oid.as_bytes();
        let (inflater, scratch) = (&mut self.inflater, &mut self.scratch);
        self.packs.iter_mut().find_map(|pack| {
            let offset = pack.find(id)?;
            pack.read_whole(offset, COMMIT, inflater, scratch)
        })
    }
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
    fn find(&mut self, id: &[u8]) -> Option<u64> {
        self.index.find(id)
    }

    /// Inflates the entry at `offset` when it is a whole object of `kind`.
    fn read_whole(
        &mut self,
        offset: u64,
        kind: u8,
        inflater: &mut Decompress,
        out: &mut Vec<u8>,
    ) -> Option<Vec<u8>> {
        // Entry header: type and size, 7 bits a byte after the first 4.
        let mut header = [0u8; 16];
        let mut have = 0;
        while have < header.len() {
            let chunk =
                self.blocks
                    .chunk(&self.file, self.len, offset.checked_add(have as u64)?)?;
            let n = chunk.len().min(header.len() - have);
            header[have..have + n].copy_from_slice(&chunk[..n]);
            have += n;
        }
        let mut byte = header[0];
        if (byte >> 4) & 7 != kind {
            return None; // another type, or a delta: libgit2's job
        }
        let mut size = u64::from(byte & 0x0f);
        let mut shift = 4;
        let mut used = 1;
        while byte & 0x80 != 0 {
            byte = *header.get(used)?;
            used += 1;
            size |= u64::from(byte & 0x7f).checked_shl(shift)?;
            shift += 7;
            if shift > 63 {
                return None;
            }
        }
        // A commit larger than this is not worth the fast path.
        let size = usize::try_from(size).ok().filter(|&s| s <= 64 << 20)?;
        // Room to spare: a stream longer than its header says shows, and
        // zlib decodes fast only with 258 bytes of free output.
        out.clear();
        out.reserve(size + 512);
        inflater.reset(true);
        let mut at = offset.checked_add(used as u64)?;
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
        (out.len() == size).then(|| out.clone())
    }
}

impl Index {
    /// The offset of `id` in the pack. Ids are uniformly distributed, so
    /// its place in its fan-out bucket is guessed from its next four bytes
    /// and only a window around the guess is searched (two or three cache
    /// misses, or one read of the file, instead of a dozen); when the window
    /// misses, the whole bucket is searched.
    fn find(&mut self, id: &[u8]) -> Option<u64> {
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
        let at = match self.search(id, from, to)? {
            Ok(at) => at,
            Err(true) => return None, // inside the window, and not there
            Err(false) => self.search(id, low, high)?.ok()?,
        };
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
            let ours = reader.read_commit(*id).expect("in the pack");
            let theirs = odb.read(*id).unwrap();
            assert_eq!(ours, theirs.data());
        }
        // An id the pack does not hold (a blob-like id next to a real one).
        let mut other = ids[0].as_bytes().to_vec();
        other[19] ^= 1;
        assert!(
            reader
                .read_commit(Oid::from_bytes(&other).unwrap())
                .is_none()
        );
    }

    #[test]
    fn a_damaged_index_is_left_to_libgit2_without_panicking() {
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
                assert!(reader.read_commit(*id).is_none(), "offset {bad:#x}");
            }
        }
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
                for id in &ids {
                    let _ = reader.read_commit(*id);
                }
                Ok(())
            })
            .unwrap();
    }
}
