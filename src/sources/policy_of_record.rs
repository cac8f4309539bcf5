//! The policy at a commit, from git or else from the API: the one place
//! that decides where a commit's policy files are read. `check pr` reads
//! the policy of record (the base branch's tip, the pull request's base
//! commit) and the one its head proposes; the audit's evidence reads the
//! policy each merged pull request landed on. Both ask here.

use std::path::PathBuf;

use git2::{Oid, Repository};
use serde_json::Value;

use super::Fatal;
use super::github::{GitHub, contents_path};
use super::policy_files::{
    self, MAX_ENTRIES, MAX_FILE_BYTES, MAX_FILES, MAX_TOTAL_BYTES, POLICY_DIR, POLICY_FILE,
    read_at_commit,
};
use crate::policy::PolicySource;

/// Where the policy of a commit is read from.
#[derive(Clone, Copy)]
pub struct PolicyReader<'a> {
    pub gh: &'a GitHub,
    /// The clone, when there is one: read first.
    pub git: Option<&'a Repository>,
    /// OWNER/NAME, for the contents API.
    pub repo: &'a str,
    /// `--policy`: these files stand in for every commit's.
    pub given: &'a [PathBuf],
}

/// What a commit's policy is.
#[derive(Debug)]
pub enum Found {
    /// The files `--policy` names (the commit's are not read).
    Given(Vec<PolicySource>),
    /// The commit's own policy files.
    AtCommit(Vec<PolicySource>),
    /// The commit has neither `.github/policies/` nor `.git-policy.yml`.
    Absent,
}

impl PolicyReader<'_> {
    /// The policy at `sha`: the `--policy` files when given; else the
    /// commit's files, read with git when the clone holds the commit, else
    /// through the contents API. Anything unreadable is exit 2, never "no
    /// policy".
    pub async fn at(&self, sha: &str) -> Result<Found, Fatal> {
        if !self.given.is_empty() {
            let (sources, _) = policy_files::discover(None, self.given, false)?;
            return Ok(Found::Given(sources));
        }
        Ok(match self.files_at(sha).await? {
            Some(sources) => Found::AtCommit(sources),
            None => Found::Absent,
        })
    }

    /// The commit's own policy files (`--policy` aside): `None` only when
    /// it has none.
    pub async fn files_at(&self, sha: &str) -> Result<Option<Vec<PolicySource>>, Fatal> {
        let local = self.git.and_then(|clone| {
            Oid::from_str(sha)
                .ok()
                .filter(|oid| clone.find_commit(*oid).is_ok())
                .map(|oid| (clone, oid))
        });
        match local {
            Some((clone, oid)) => read_at_commit(clone, oid),
            None => through_api(self.gh, self.repo, sha).await,
        }
    }
}

/// Folders of `.github/policies/` listed through the API (a request each).
pub(crate) const MAX_FOLDERS: usize = 32;

/// Policy files at a commit, through the contents API (when the clone lacks
/// the commit): `.github/policies/**.yml`, else `.git-policy.yml`.
///
/// `None` only when GitHub says neither path exists (404). A link, a
/// submodule, an entry off the documented shape, a file too large to be
/// sent inline, or more entries than the caps of a local read
/// (`policy_files::MAX_*`) is exit 2: the pull request chooses its head's
/// files, so their number must not choose how many requests are sent.
async fn through_api(
    gh: &GitHub,
    repo: &str,
    sha: &str,
) -> Result<Option<Vec<PolicySource>>, Fatal> {
    let mut files = list_policy_folder(gh, repo, sha).await?;
    let single = files.is_empty();
    if single {
        files.push(POLICY_FILE.to_owned());
    }
    files.sort();
    let shown = |path: &str| crate::report::inert::one_line(path).into_owned();
    let reads = files.iter().map(|path| async move {
        match gh.get_optional(&contents_path(repo, path, sha)).await? {
            Some(v) => decode_content(&v, path, sha).map(Some),
            // `.git-policy.yml` may be absent; a listed file may not.
            None if single => Ok(None),
            None => Err(Fatal::new(format!(
                "GitHub listed `{}` at {sha} but then found nothing there",
                shown(path)
            ))
            .help("re-run the job")),
        }
    });
    // A few at a time: the caps bound the total, this the burst.
    use futures_util::stream::{StreamExt, TryStreamExt};
    let sources: Vec<_> = futures_util::stream::iter(reads)
        .buffered(8)
        .try_collect::<Vec<_>>()
        .await?
        .into_iter()
        .flatten()
        .collect();
    let mut total = 0u64;
    for source in &sources {
        total += source.text.len() as u64;
        if total > MAX_TOTAL_BYTES {
            return Err(too_many(&format!(
                "the policy files at {sha} hold more than {} MiB",
                MAX_TOTAL_BYTES / 1024 / 1024
            )));
        }
    }
    Ok((!sources.is_empty()).then_some(sources))
}

/// The YAML files under `.github/policies/` at `sha`, listed through the
/// contents API folder by folder, within the caps of a local read.
async fn list_policy_folder(gh: &GitHub, repo: &str, sha: &str) -> Result<Vec<String>, Fatal> {
    let shown = |path: &str| crate::report::inert::one_line(path).into_owned();
    let mut files: Vec<String> = Vec::new();
    let mut folders = vec![POLICY_DIR.to_owned()];
    let mut entries = 0usize;
    let mut listed = 0usize;
    while let Some(folder) = folders.pop() {
        listed += 1;
        if listed > MAX_FOLDERS {
            return Err(too_many(&format!(
                "`{POLICY_DIR}` at {sha} holds more than {MAX_FOLDERS} folders"
            )));
        }
        let listing = gh.get_optional(&contents_path(repo, &folder, sha)).await?;
        let listing = match listing {
            None if folder == POLICY_DIR => break,
            None => {
                return Err(Fatal::new(format!(
                    "GitHub listed the folder `{}` at {sha} but then found nothing there",
                    shown(&folder)
                ))
                .help("re-run the job"));
            }
            Some(Value::Array(items)) => items,
            Some(other) => {
                let kind = other
                    .get("type")
                    .and_then(Value::as_str)
                    .unwrap_or("unknown");
                return Err(Fatal::new(format!(
                    "`{}` at {sha} is a {} (GitHub says), not a folder; git-policy cannot read the policy there",
                    shown(&folder),
                    shown(kind)
                ))
                .help(format!("policy files go in the folder `{POLICY_DIR}/`, or in one file `{POLICY_FILE}`")));
            }
        };
        entries += listing.len();
        if entries > MAX_ENTRIES {
            return Err(too_many(&format!(
                "`{POLICY_DIR}` at {sha} holds more than {MAX_ENTRIES} entries"
            )));
        }
        for entry in &listing {
            sort_listed(entry, &folder, sha, &mut folders, &mut files)?;
        }
        if files.len() > MAX_FILES {
            return Err(too_many(&format!(
                "more than {MAX_FILES} policy files at {sha}"
            )));
        }
    }
    Ok(files)
}

/// One entry of a folder listing: a folder to list, a YAML file to read,
/// another file to leave; a link or a submodule is exit 2.
fn sort_listed(
    entry: &Value,
    folder: &str,
    sha: &str,
    folders: &mut Vec<String>,
    files: &mut Vec<String>,
) -> Result<(), Fatal> {
    let shown = |path: &str| crate::report::inert::one_line(path).into_owned();
    let (Some(kind), Some(path)) = (
        entry.get("type").and_then(Value::as_str),
        entry.get("path").and_then(Value::as_str),
    ) else {
        return Err(Fatal::new(format!(
            "GitHub listed `{}` at {sha} with an entry that has no type or path",
            shown(folder)
        ))
        .help("re-run the job; if it persists, GitHub is failing"));
    };
    let yaml = path.ends_with(".yml") || path.ends_with(".yaml");
    match kind {
        "dir" => folders.push(path.to_owned()),
        "file" if yaml => files.push(path.to_owned()),
        "file" => {}
        _ => {
            return Err(Fatal::new(format!(
                "`{}` at {sha} is a {}; git-policy does not read policy files through links or submodules",
                shown(path),
                shown(kind)
            ))
            .help("keep policy files as plain files in the policy folder"));
        }
    }
    Ok(())
}

fn too_many(what: &str) -> Fatal {
    Fatal::new(format!(
        "{what}; git-policy reads at most that much of a policy"
    ))
    .help("a policy is a few YAML files; no verdict is given on a policy that cannot be read whole")
}

/// One file of the contents API, decoded within the cap of a local read.
fn decode_content(v: &Value, path: &str, sha: &str) -> Result<PolicySource, Fatal> {
    use base64::Engine;
    let shown = crate::report::inert::one_line(path);
    let kind = v.get("type").and_then(Value::as_str);
    if kind != Some("file") {
        return Err(Fatal::new(format!(
            "`{shown}` at {sha} is a {} (GitHub says), not a policy file",
            crate::report::inert::one_line(kind.unwrap_or("thing of unknown kind"))
        ))
        .help("a policy file must be a plain file of the repository"));
    }
    let size = v.get("size").and_then(Value::as_u64).unwrap_or(0);
    let (Some("base64"), Some(content)) = (
        v.get("encoding").and_then(Value::as_str),
        v.get("content").and_then(Value::as_str),
    ) else {
        return Err(Fatal::new(format!(
            "GitHub sent `{shown}` at {sha} without its content ({size} bytes; GitHub leaves out files over 1 MiB)"
        ))
        .help("a policy file is a few kilobytes of YAML"));
    };
    if size > MAX_FILE_BYTES || content.len() as u64 > 2 * MAX_FILE_BYTES {
        return Err(Fatal::new(format!(
            "policy file `{shown}` at {sha} is larger than {} KiB; git-policy reads at most that much",
            MAX_FILE_BYTES / 1024
        )));
    }
    let cleaned: String = content.chars().filter(|c| !c.is_whitespace()).collect();
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(cleaned)
        .map_err(|e| {
            Fatal::new(format!(
                "GitHub sent `{shown}` at {sha} in a form git-policy cannot decode: {e}"
            ))
        })?;
    let text = String::from_utf8(bytes).map_err(|_| {
        Fatal::new(format!("policy file `{shown}` at {sha} is not valid UTF-8"))
            .help("save the file as UTF-8")
    })?;
    Ok(PolicySource::new(
        format!("{path}@{}", crate::report::short_sha(sha)),
        text,
    ))
}
