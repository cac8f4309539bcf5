//! Tickets' answers kept across runs, when a tracker's `api:` says
//! `cache: 10m`: one file per ticket in the user's cache directory
//! (`$XDG_CACHE_HOME/git-policy/trackers`, else `~/.cache/…`).
//!
//! Never trusted across users: the directory must be the user's own and
//! closed to others (0700), each entry a regular file of the user's, 0600.
//! An entry is keyed by a hash of the tracker (kind, URL, project), the
//! credentials (a token sees what its account may see: another token
//! never reads this one's answers), the fields asked and the ticket id;
//! the token itself is never written. Only found tickets are kept, for at
//! most the policy's lifetime (itself at most an hour). An entry that is
//! damaged, not the user's, open to others, from the future or too old is
//! ignored and the tracker asked: a bad entry is never a pass.

use std::collections::BTreeSet;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::definitions::tracker::TrackerApi;
use crate::facts::TicketState;

/// The largest entry read: a ticket's answer is a few kilobytes.
const LARGEST_ENTRY: u64 = 1 << 20;
/// The format of an entry; another is ignored.
const FORMAT: u32 = 1;

/// The user's cache directory of tickets' answers, checked fit to trust.
pub(crate) struct DiskCache {
    dir: PathBuf,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Entry {
    format: u32,
    /// Seconds since the Unix epoch when the tracker answered.
    stored: u64,
    state: TicketState,
}

impl DiskCache {
    /// The user's cache directory (`$XDG_CACHE_HOME`, when absolute, else
    /// `$HOME/.cache`), made if missing; `Err` says why it cannot be used.
    pub(crate) fn open_default() -> Result<DiskCache, String> {
        let base = std::env::var_os("XDG_CACHE_HOME")
            .map(PathBuf::from)
            .filter(|p| p.is_absolute())
            .or_else(|| {
                std::env::var_os("HOME")
                    .map(PathBuf::from)
                    .filter(|p| p.is_absolute())
                    .map(|home| home.join(".cache"))
            })
            .ok_or("neither XDG_CACHE_HOME nor HOME names a directory")?;
        DiskCache::open(&base.join("git-policy").join("trackers"))
    }

    /// `dir`, made (0700) if missing, when it is the user's own directory
    /// closed to others, in a parent of the user's that no one else may
    /// write to (who could otherwise put another directory in its place).
    pub(crate) fn open(dir: &Path) -> Result<DiskCache, String> {
        if cfg!(not(unix)) {
            return Err(String::from(
                "answers are kept across runs only on Unix, where who owns the folder is checked",
            ));
        }
        if std::fs::symlink_metadata(dir).is_err() {
            make_private_dir(dir).map_err(|e| format!("cannot make `{}`: {e}", dir.display()))?;
        }
        if let Some(parent) = dir.parent() {
            users_dir(parent, 0o022, "of yours that no one else may write to")?;
        }
        users_dir(dir, 0o077, "of yours, closed to others (mode 0700)")?;
        Ok(DiskCache {
            dir: dir.to_owned(),
        })
    }

    /// The answer kept under `key`, when it is sound and younger than
    /// `lifetime`.
    pub(crate) fn get(&self, key: &str, lifetime: Duration) -> Option<TicketState> {
        let path = self.dir.join(key);
        let meta = std::fs::symlink_metadata(&path).ok()?;
        if !meta.file_type().is_file() || !owned_without(&meta, 0o077) {
            return None;
        }
        if meta.len() > LARGEST_ENTRY {
            return None;
        }
        let text = std::fs::read(&path).ok()?;
        let entry: Entry = serde_json::from_slice(&text).ok()?;
        let now = now_seconds()?;
        // From the future (a clock set back, a planted file): not trusted.
        let age = now.checked_sub(entry.stored)?;
        let fresh = entry.format == FORMAT && Duration::from_secs(age) < lifetime;
        match entry.state {
            TicketState::Found(_) if fresh => Some(entry.state),
            _ => None,
        }
    }

    /// Keeps a found ticket's answer under `key` (best effort: a cache
    /// that cannot be written only means the next run asks again).
    pub(crate) fn put(&self, key: &str, state: &TicketState) {
        if !matches!(state, TicketState::Found(_)) {
            // A ticket not found may be made a minute later: ask again.
            return;
        }
        let Some(stored) = now_seconds() else { return };
        let entry = Entry {
            format: FORMAT,
            stored,
            state: state.clone(),
        };
        let Ok(text) = serde_json::to_vec(&entry) else {
            return;
        };
        let tmp = self.dir.join(format!(".{key}.{}.tmp", std::process::id()));
        let written = private_file(&tmp).and_then(|mut f| f.write_all(&text));
        if written.is_err() || std::fs::rename(&tmp, self.dir.join(key)).is_err() {
            let _ = std::fs::remove_file(&tmp);
        }
    }
}

/// The entry name of ticket `id` for this tracker, these credentials (the
/// `Authorization` value: the token, with the user for Jira Cloud) and
/// these fields: a hex SHA-256, so no part of the token is written.
pub(crate) fn key(
    api: &TrackerApi,
    authorization: &str,
    fields: &BTreeSet<String>,
    id: &str,
) -> String {
    let mut hash = Sha256::new();
    let project = api.project.as_ref().map_or("", |p| p.value.as_str());
    for part in [
        "git-policy tracker cache 1",
        api.kind.value.name(),
        api.url.value.trim().trim_end_matches('/'),
        project,
        authorization,
    ] {
        hash.update(part.len().to_le_bytes());
        hash.update(part.as_bytes());
    }
    hash.update(fields.len().to_le_bytes());
    for field in fields {
        hash.update(field.len().to_le_bytes());
        hash.update(field.as_bytes());
    }
    hash.update(id.len().to_le_bytes());
    hash.update(id.as_bytes());
    hash.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

fn now_seconds() -> Option<u64> {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .ok()
        .map(|d| d.as_secs())
}

#[cfg(unix)]
fn make_private_dir(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
}

#[cfg(not(unix))]
fn make_private_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)
}

/// `Ok` when `dir` is a directory (not a link) of the user's without any
/// of the `forbidden` permission bits; `must` says what it must be.
fn users_dir(dir: &Path, forbidden: u32, must: &str) -> Result<(), String> {
    let meta = std::fs::symlink_metadata(dir)
        .map_err(|e| format!("cannot read `{}`: {e}", dir.display()))?;
    if !meta.file_type().is_dir() {
        return Err(format!("`{}` is not a directory", dir.display()));
    }
    if !owned_without(&meta, forbidden) {
        return Err(format!(
            "`{}` must be a directory {must}: answers kept there could be another user's",
            dir.display()
        ));
    }
    Ok(())
}

/// Owned by this process's user, without any of the `forbidden` permission bits.
#[cfg(unix)]
fn owned_without(meta: &std::fs::Metadata, forbidden: u32) -> bool {
    use std::os::unix::fs::MetadataExt;
    // SAFETY: geteuid has no preconditions and cannot fail.
    let user = unsafe { libc::geteuid() };
    meta.uid() == user && meta.mode() & forbidden == 0
}

/// Elsewhere ownership is not checked, so nothing is trusted (and
/// [`DiskCache::open`] refuses).
#[cfg(not(unix))]
fn owned_without(_meta: &std::fs::Metadata, _forbidden: u32) -> bool {
    false
}

#[cfg(unix)]
fn private_file(path: &Path) -> std::io::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
}

#[cfg(not(unix))]
fn private_file(path: &Path) -> std::io::Result<std::fs::File> {
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
}
