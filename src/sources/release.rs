//! Facts for the release audit: release tags, the release page and the test
//! files that name incidents, all read from git at the release commit.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use git2::{ObjectType, Oid, Repository, TreeWalkMode, TreeWalkResult};

use super::Fatal;

/// A tag that names a release: `v1.2.0`, `1.2.0`, `v2.0.0-rc.1`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReleaseTag {
    pub name: String,
    pub version: semver::Version,
    pub commit: Oid,
}

/// Tags whose name parses as a semantic version (after an optional `v`),
/// filtered by a glob like git's `--match`.
pub fn release_tags(repo: &Repository, pattern: Option<&str>) -> Result<Vec<ReleaseTag>, Fatal> {
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
        let text = name.rsplit('/').next().unwrap_or(name);
        let digits = text.trim_start_matches(|c: char| !c.is_ascii_digit());
        let Ok(version) = semver::Version::parse(digits) else {
            continue;
        };
        let Ok(commit) = repo
            .revparse_single(&format!("refs/tags/{name}"))
            .and_then(|o| o.peel_to_commit())
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

/// The highest-versioned release tag on `head`'s history, other than one on `head` itself.
pub fn latest_release_before(
    repo: &Repository,
    tags: &[ReleaseTag],
    head: Oid,
) -> Option<ReleaseTag> {
    tags.iter()
        .filter(|t| t.commit != head && repo.graph_descendant_of(head, t.commit).unwrap_or(false))
        .max_by(|a, b| a.version.cmp(&b.version))
        .cloned()
}

/// The version of a release tag on the commit itself, if any.
pub fn version_at(tags: &[ReleaseTag], commit: Oid) -> Option<String> {
    tags.iter()
        .filter(|t| t.commit == commit)
        .max_by(|a, b| a.version.cmp(&b.version))
        .map(|t| t.version.to_string())
}

/// A file's text at a commit; `None` when it is not there.
pub fn file_at(repo: &Repository, commit: Oid, path: &str) -> Result<Option<String>, Fatal> {
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
pub fn references(
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
