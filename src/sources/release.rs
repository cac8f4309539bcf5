//! Facts for the release audit: release tags, the release page and the test
//! files that name incidents, all read from git at the release commit.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use git2::{ObjectType, Oid, Repository, TreeWalkMode, TreeWalkResult};

use super::Fatal;

/// A tag that names a release: `v1.2.0`, `1.2.0`, `release-1.2.0`,
/// `project-1.2.0`, `v2.0.0-rc.1`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ReleaseTag {
    pub(crate) name: String,
    pub(crate) version: semver::Version,
    pub(crate) commit: Oid,
}

/// Tags whose name ends in a semantic version (see [`tag_version`]),
/// filtered by a glob like git's `--match`.
pub(crate) fn release_tags(
    repo: &Repository,
    pattern: Option<&str>,
) -> Result<Vec<ReleaseTag>, Fatal> {
    let matcher = match pattern {
        Some(p) => Some(
            globset::Glob::new(p)
                .map_err(|e| {
                    Fatal::new(format!("invalid --tag-pattern `{p}`: {}", e.kind()))
                        .help("use a glob such as `v*` or `release-*`")
                })?
                .compile_matcher(),
        ),
        None => None,
    };
    let names = repo
        .tag_names(None)
        .map_err(|e| Fatal::new(format!("cannot list tags: {}", e.message())))?;
    let mut tags = Vec::new();
    for name in names.iter() {
        let Ok(Some(name)) = name else { continue };
        if matcher.as_ref().is_some_and(|m| !m.is_match(name)) {
            continue;
        }
        let Some(version) = tag_version(name) else {
            continue;
        };
        let Ok(commit) = repo
            .find_reference(&format!("refs/tags/{name}"))
            .and_then(|r| r.peel_to_commit())
        else {
            continue;
        };
        tags.push(ReleaseTag {
            name: name.to_owned(),
            version,
            commit: commit.id(),
        });
    }
    Ok(tags)
}

/// The version a tag name ends in: after any `path/`, a semantic version
/// that starts the name or follows `-`, `_`, `@` or a `v`/`V` that does:
/// `v1.2.3`, `1.2.3`, `release-1.2.3`, `project-1.2.3`, `log4j-2.17.0`,
/// `h2-2.1.0`, `project-v1.2.3`, `releases/v1.2.3`. A digit inside a word
/// (`log4j`) starts no version.
pub(crate) fn tag_version(name: &str) -> Option<semver::Version> {
    let text = name.rsplit('/').next().unwrap_or(name);
    let bytes = text.as_bytes();
    let boundary = |i: usize| i == 0 || matches!(bytes[i - 1], b'-' | b'_' | b'@');
    (0..bytes.len())
        .filter(|&i| bytes[i].is_ascii_digit())
        .filter(|&i| {
            boundary(i) || (i >= 1 && matches!(bytes[i - 1], b'v' | b'V') && boundary(i - 1))
        })
        .find_map(|i| semver::Version::parse(text.get(i..)?).ok())
}

/// Where the default range starts: among the release tags nearest to `head`
/// on its history (those no other such tag on it descends from, as `git
/// describe` finds them), the highest version. A tag on `head` itself does
/// not count, nor, when the released version is known, a tag of that version
/// or a later one (its release candidates: `v1.3.0-rc.1` when releasing
/// 1.3.0); when it is unknown, pre-release tags count only if no final
/// release is found.
///
/// One walk from `head`, newest commit first, that stops as soon as every
/// path still open leads only below a tag found: the commits since the
/// previous release, not the whole history once per tag.
pub(crate) fn start_tag(
    repo: &Repository,
    tags: &[ReleaseTag],
    head: Oid,
    releasing: Option<&semver::Version>,
) -> Result<Option<ReleaseTag>, Fatal> {
    let below = |tag: &&ReleaseTag| match releasing {
        Some(v) => {
            (tag.version.major, tag.version.minor, tag.version.patch) < (v.major, v.minor, v.patch)
        }
        None => tag.version.pre.is_empty(),
    };
    let mut found = nearest_tags(repo, tags.iter().filter(below), head)?;
    if found.is_empty() && releasing.is_none() {
        found = nearest_tags(repo, tags.iter(), head)?;
    }
    Ok(found
        .into_iter()
        .max_by(|a, b| a.version.cmp(&b.version))
        .cloned())
}

/// The tags among `candidates` reached from `head` before any other
/// candidate below them (see [`start_tag`]).
fn nearest_tags<'t>(
    repo: &Repository,
    candidates: impl Iterator<Item = &'t ReleaseTag>,
    head: Oid,
) -> Result<Vec<&'t ReleaseTag>, Fatal> {
    use std::collections::hash_map::Entry;
    use std::collections::{BinaryHeap, HashMap};

    struct Node {
        /// Below a tag found: reached, but no tag under it counts.
        covered: bool,
        done: bool,
    }
    let mut tagged: HashMap<Oid, Vec<&ReleaseTag>> = HashMap::new();
    for tag in candidates.filter(|t| t.commit != head) {
        tagged.entry(tag.commit).or_default().push(tag);
    }
    let mut found = Vec::new();
    if tagged.is_empty() {
        return Ok(found);
    }
    let read = |oid: Oid| {
        repo.find_commit(oid).map_err(|e| {
            Fatal::new(format!("cannot read commit {oid}: {}", e.message()))
                .help("the history is incomplete; in CI, fetch it whole (`fetch-depth: 0`)")
        })
    };
    let mut nodes: HashMap<Oid, Node> = HashMap::new();
    let mut queue: BinaryHeap<(i64, Oid)> = BinaryHeap::new();
    // Commits queued and not covered: the walk ends when there are none.
    let mut open = 0usize;
    fn push(
        oid: Oid,
        time: i64,
        covered: bool,
        nodes: &mut HashMap<Oid, Node>,
        queue: &mut BinaryHeap<(i64, Oid)>,
        open: &mut usize,
    ) {
        match nodes.entry(oid) {
            Entry::Vacant(slot) => {
                slot.insert(Node {
                    covered,
                    done: false,
                });
                queue.push((time, oid));
                if !covered {
                    *open += 1;
                }
            }
            Entry::Occupied(mut slot) => {
                let node = slot.get_mut();
                if covered && !node.covered {
                    node.covered = true;
                    if node.done {
                        // Walked as open: walk it again, to cover what is below.
                        node.done = false;
                        queue.push((time, oid));
                    } else {
                        *open -= 1;
                    }
                }
            }
        }
    }
    let first = read(head)?;
    push(
        head,
        first.time().seconds(),
        false,
        &mut nodes,
        &mut queue,
        &mut open,
    );
    while open > 0 {
        let Some((_, oid)) = queue.pop() else { break };
        let Some(node) = nodes.get_mut(&oid) else {
            continue;
        };
        if node.done {
            continue;
        }
        node.done = true;
        let mut covered = node.covered;
        if !covered {
            open -= 1;
            if let Some(here) = tagged.get(&oid) {
                found.extend(here.iter().copied());
                covered = true;
            }
        }
        let commit = read(oid)?;
        for (n, parent) in commit.parent_ids().enumerate() {
            let time = commit
                .parent(n)
                .map_err(|e| {
                    Fatal::new(format!("cannot read commit {parent}: {}", e.message()))
                        .help("the history is incomplete; in CI, fetch it whole (`fetch-depth: 0`)")
                })?
                .time()
                .seconds();
            push(parent, time, covered, &mut nodes, &mut queue, &mut open);
        }
    }
    found.sort_by(|a, b| a.name.cmp(&b.name));
    found.dedup_by(|a, b| a.name == b.name);
    Ok(found)
}

/// The version of a release tag on the commit itself, if any.
pub(crate) fn version_at(tags: &[ReleaseTag], commit: Oid) -> Option<String> {
    tags.iter()
        .filter(|t| t.commit == commit)
        .max_by(|a, b| a.version.cmp(&b.version))
        .map(|t| t.version.to_string())
}

/// A file's text at a commit; `None` when it is not there.
pub(crate) fn file_at(repo: &Repository, commit: Oid, path: &str) -> Result<Option<String>, Fatal> {
    let tree = repo
        .find_commit(commit)
        .and_then(|c| c.tree())
        .map_err(|e| Fatal::new(format!("cannot read commit {commit}: {}", e.message())))?;
    let Ok(entry) = tree.get_path(Path::new(path)) else {
        return Ok(None);
    };
    let blob = repo
        .find_blob(entry.id())
        .map_err(|e| Fatal::new(format!("cannot read {path} at {commit}: {}", e.message())))?;
    String::from_utf8(blob.content().to_vec())
        .map(Some)
        .map_err(|e| {
            Fatal::new(format!(
                "{path} at {} is not valid UTF-8 (byte {})",
                crate::report::short_sha(&commit.to_string()),
                e.utf8_error().valid_up_to()
            ))
            .help("save the page as UTF-8")
        })
}

/// For each ticket, the files (at `commit`, for which `is_test` holds) whose text contains it.
pub(crate) fn references(
    repo: &Repository,
    commit: Oid,
    tickets: &BTreeSet<String>,
    is_test: impl Fn(&str) -> bool,
) -> Result<BTreeMap<String, Vec<String>>, Fatal> {
    let mut found: BTreeMap<String, Vec<String>> = BTreeMap::new();
    if tickets.is_empty() {
        return Ok(found);
    }
    let tree = repo
        .find_commit(commit)
        .and_then(|c| c.tree())
        .map_err(|e| Fatal::new(format!("cannot read commit {commit}: {}", e.message())))?;
    let mut failure = None;
    tree.walk(TreeWalkMode::PreOrder, |dir, entry| {
        if entry.kind() != Some(ObjectType::Blob) {
            return TreeWalkResult::Ok;
        }
        let path = format!("{dir}{}", entry.name().unwrap_or(""));
        if !is_test(&path) {
            return TreeWalkResult::Ok;
        }
        match repo.find_blob(entry.id()) {
            Ok(blob) => {
                let text = String::from_utf8_lossy(blob.content());
                for ticket in tickets.iter().filter(|t| text.contains(t.as_str())) {
                    found.entry(ticket.clone()).or_default().push(path.clone());
                }
                TreeWalkResult::Ok
            }
            Err(e) => {
                failure = Some(Fatal::new(format!("cannot read {path}: {}", e.message())));
                TreeWalkResult::Abort
            }
        }
    })
    .map_err(|e| {
        failure.clone().unwrap_or_else(|| {
            Fatal::new(format!("cannot walk the tree of {commit}: {}", e.message()))
        })
    })?;
    match failure {
        Some(f) => Err(f),
        None => Ok(found),
    }
}
