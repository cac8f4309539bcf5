//! Finding and reading policy files: `--policy`, `.github/policies/`,
//! `.git-policy.yml`, then the built-in pack.

use std::path::{Path, PathBuf};

use walkdir::WalkDir;

use super::Fatal;
use crate::policy::PolicySource;

/// Where the policy came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Origin {
    /// `--policy` paths.
    Explicit,
    /// The repository's `.github/policies/` or `.git-policy.yml`.
    Repository,
    /// The embedded pack.
    Builtin,
}

pub(crate) const POLICY_DIR: &str = ".github/policies";
pub(crate) const POLICY_FILE: &str = ".git-policy.yml";

/// At most this many policy files are read from one place.
pub(crate) const MAX_FILES: usize = 200;
/// At most this many entries of a policy folder are looked at (files of
/// any kind and folders): a folder that is not a policy folder stops here.
pub(crate) const MAX_ENTRIES: usize = 2_000;
/// The largest policy file read.
pub(crate) const MAX_FILE_BYTES: u64 = 1024 * 1024;
/// The most policy text read in all.
pub(crate) const MAX_TOTAL_BYTES: u64 = 8 * 1024 * 1024;

/// Finds the policy for a work tree (`root`, if any), first that exists wins.
///
/// Every path read resolves inside the work tree (a repository's policy) or
/// inside the `--policy` folder walked; a link leading elsewhere, a file
/// that is not a regular file, or more files than the caps is exit 2,
/// never a silent skip.
pub(crate) fn discover(
    root: Option<&Path>,
    explicit: &[PathBuf],
    builtin: bool,
) -> Result<(Vec<PolicySource>, Origin), Fatal> {
    let mut budget = Budget::default();
    if !explicit.is_empty() {
        let mut sources = Vec::new();
        for path in explicit {
            if std::fs::symlink_metadata(path).is_err() {
                return Err(Fatal::new(format!("policy path `{}` does not exist", shown(path)))
                    .help("pass an existing file or folder to --policy, or leave it out to use the repository's policy"));
            }
            // The path itself is the caller's choice; what a folder holds must stay inside it.
            let fence = canonical(path)?;
            // Files are named by their path from the repository root when
            // they are in it (annotations then point at files that exist),
            // else as given.
            let root = root
                .and_then(|r| canonical(r).ok())
                .filter(|r| fence.starts_with(r));
            match &root {
                Some(root) => sources.extend(read_path(&fence, Some(root), &fence, &mut budget)?),
                None => sources.extend(read_path(path, None, &fence, &mut budget)?),
            }
        }
        if sources.is_empty() {
            return Err(
                Fatal::new("the --policy folders hold no *.yml or *.yaml file")
                    .help("add a policy file, e.g. with `git-policy init`"),
            );
        }
        return Ok((sources, Origin::Explicit));
    }
    if let Some(root) = root {
        let fence = canonical(root)?;
        let dir = root.join(POLICY_DIR);
        if exists(&dir) {
            let resolved = inside(&dir, &fence)?;
            if !resolved.is_dir() {
                return Err(Fatal::new(format!("`{POLICY_DIR}` is not a folder"))
                    .help(format!("policy files go in the folder `{POLICY_DIR}/`, or in one file `{POLICY_FILE}`")));
            }
            let sources = read_path(&dir, Some(root), &fence, &mut budget)?;
            if !sources.is_empty() {
                return Ok((sources, Origin::Repository));
            }
        }
        let file = root.join(POLICY_FILE);
        if exists(&file) {
            inside(&file, &fence)?;
            return Ok((
                vec![read_file(&file, Some(root), &fence, &mut budget)?],
                Origin::Repository,
            ));
        }
    }
    if builtin {
        return Ok((vec![PolicySource::builtin()], Origin::Builtin));
    }
    Err(Fatal::new("no policy found, and the built-in pack is disabled (--no-builtin / GIT_POLICY_NO_BUILTIN)").help(format!(
        "add `{POLICY_FILE}` or `{POLICY_DIR}/*.yml` (`git-policy init` writes a starter), pass --policy PATH, or allow the built-in pack"
    )))
}

/// Files and bytes read so far, against the caps.
#[derive(Default)]
struct Budget {
    entries: usize,
    files: usize,
    bytes: u64,
}

/// A path for a message: control characters and line breaks shown escaped.
fn shown(path: &Path) -> String {
    crate::report::inert::one_line(&path.to_string_lossy()).into_owned()
}

/// Whether something (a link included, even a dangling one) is at `path`.
/// `.git-policy.yml` when it is not read because `.github/policies/` holds
/// the policy (`sources`, from [`discover`]): a file `init` wrote, left
/// behind when waivers went into the folder, would be dropped silently.
pub(crate) fn unread_policy_file(root: Option<&Path>, sources: &[PolicySource]) -> Option<PathBuf> {
    let root = root?;
    let from_folder = sources
        .first()
        .is_some_and(|s| !s.builtin && s.name.starts_with(&format!("{POLICY_DIR}/")));
    let file = root.join(POLICY_FILE);
    (from_folder && exists(&file)).then_some(file)
}

/// What to say about [`unread_policy_file`].
pub(crate) fn unread_policy_file_message() -> String {
    format!(
        "both `{POLICY_DIR}/` and `{POLICY_FILE}` exist: the policy is read from `{POLICY_DIR}/` only, and `{POLICY_FILE}` is NOT read"
    )
}

/// How to fix it.
pub(crate) const UNREAD_POLICY_FILE_HELP: &str = "move `.git-policy.yml` into the folder (e.g. `git mv .git-policy.yml .github/policies/policy.yml`; a folder's files are merged), or delete one of the two";

fn exists(path: &Path) -> bool {
    std::fs::symlink_metadata(path).is_ok()
}

fn canonical(path: &Path) -> Result<PathBuf, Fatal> {
    std::fs::canonicalize(path)
        .map_err(|e| Fatal::new(format!("cannot resolve `{}`: {e}", shown(path))))
}

/// `path` resolved, when it stays inside `fence`; exit 2 naming the link otherwise.
fn inside(path: &Path, fence: &Path) -> Result<PathBuf, Fatal> {
    let resolved = std::fs::canonicalize(path).map_err(|e| {
        Fatal::new(format!(
            "policy path `{}` cannot be resolved: {e}",
            shown(path)
        ))
        .help("a policy file that is a link must point at a file of the repository")
    })?;
    if !resolved.starts_with(fence) {
        return Err(Fatal::new(format!(
            "policy path `{}` is a link that leads outside {} (to `{}`); git-policy does not read it",
            shown(path),
            shown(fence),
            shown(&resolved)
        ))
        .help("policy files must be files of the repository: replace the link with the file itself"));
    }
    Ok(resolved)
}

/// A file, or every `*.yml`/`*.yaml` under a folder in name order.
fn read_path(
    path: &Path,
    base: Option<&Path>,
    fence: &Path,
    budget: &mut Budget,
) -> Result<Vec<PolicySource>, Fatal> {
    if !std::fs::metadata(path).is_ok_and(|m| m.is_dir()) {
        return Ok(vec![read_file(path, base, fence, budget)?]);
    }
    let mut files = Vec::new();
    // Links are not followed by the walk: each is resolved and fenced below.
    for entry in WalkDir::new(path).sort_by_file_name() {
        let entry = entry
            .map_err(|e| Fatal::new(format!("cannot read policy folder `{}`: {e}", shown(path))))?;
        budget.entries += 1;
        if budget.entries > MAX_ENTRIES {
            return Err(Fatal::new(format!(
                "policy folder `{}` holds more than {MAX_ENTRIES} entries; git-policy reads at most that many",
                shown(path)
            ))
            .help("a policy folder holds a few YAML files; check that it is the right folder"));
        }
        let name = entry.file_name().to_string_lossy();
        let yaml = name.ends_with(".yml") || name.ends_with(".yaml");
        let kind = entry.file_type();
        if kind.is_symlink() {
            let resolved = inside(entry.path(), fence)?;
            if resolved.is_dir() {
                return Err(Fatal::new(format!(
                    "policy folder entry `{}` is a link to a folder; git-policy does not follow it",
                    shown(entry.path())
                ))
                .help("move the files into the policy folder"));
            }
            if yaml {
                files.push(read_file(entry.path(), base, fence, budget)?);
            }
        } else if yaml && !kind.is_dir() {
            files.push(read_file(entry.path(), base, fence, budget)?);
        }
    }
    Ok(files)
}

fn read_file(
    path: &Path,
    base: Option<&Path>,
    fence: &Path,
    budget: &mut Budget,
) -> Result<PolicySource, Fatal> {
    use std::io::Read;
    let link = std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink());
    if link {
        inside(path, fence)?;
    }
    let metadata = std::fs::metadata(path)
        .map_err(|e| Fatal::new(format!("cannot read policy file `{}`: {e}", shown(path))))?;
    if !metadata.is_file() {
        return Err(Fatal::new(format!(
            "policy file `{}` is not a regular file",
            shown(path)
        )));
    }
    budget.files += 1;
    if budget.files > MAX_FILES {
        return Err(Fatal::new(format!(
            "more than {MAX_FILES} policy files; git-policy reads at most that many"
        ))
        .help("merge policy files, or point --policy at the right folder"));
    }
    if metadata.len() > MAX_FILE_BYTES {
        return Err(too_large(&shown(path)));
    }
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .and_then(|f| f.take(MAX_FILE_BYTES + 1).read_to_end(&mut bytes))
        .map_err(|e| Fatal::new(format!("cannot read policy file `{}`: {e}", shown(path))))?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(too_large(&shown(path)));
    }
    budget.bytes += bytes.len() as u64;
    if budget.bytes > MAX_TOTAL_BYTES {
        return Err(too_much());
    }
    let name = base
        .and_then(|b| path.strip_prefix(b).ok())
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(path)
        .to_string_lossy()
        .replace('\\', "/");
    let name = name.strip_prefix("./").map(str::to_owned).unwrap_or(name);
    let text = String::from_utf8(bytes).map_err(|e| {
        Fatal::new(format!(
            "policy file `{}` is not valid UTF-8 (byte {})",
            crate::report::inert::one_line(&name),
            e.utf8_error().valid_up_to()
        ))
        .help("save the file as UTF-8")
    })?;
    Ok(PolicySource::new(name, text))
}

fn too_large(name: &str) -> Fatal {
    Fatal::new(format!(
        "policy file `{name}` is larger than {} KiB; git-policy reads at most that much",
        MAX_FILE_BYTES / 1024
    ))
    .help("a policy file is a few kilobytes of YAML; check that it is the right file")
}

fn too_much() -> Fatal {
    Fatal::new(format!(
        "the policy files hold more than {} MiB; git-policy reads at most that much",
        MAX_TOTAL_BYTES / 1024 / 1024
    ))
}

/// Policy files as they are in a commit's tree (for a pull request's base).
/// `None` only when neither `.github/policies/` nor `.git-policy.yml`
/// exists at that commit; anything unreadable is exit 2, never "no policy".
pub fn read_at_commit(
    repo: &git2::Repository,
    commit: git2::Oid,
) -> Result<Option<Vec<PolicySource>>, Fatal> {
    let tree = repo
        .find_commit(commit)
        .and_then(|c| c.tree())
        .map_err(|e| Fatal::new(format!("cannot read commit {commit}: {}", e.message())))?;
    let mut budget = Budget::default();
    if let Some(entry) = entry_at(&tree, POLICY_DIR, commit)? {
        if entry.kind() != Some(git2::ObjectType::Tree) {
            return Err(Fatal::new(format!(
                "`{POLICY_DIR}` at {commit} is {}, not a folder; git-policy cannot read the policy there",
                describe(&entry)
            ))
            .help(format!("policy files go in the folder `{POLICY_DIR}/`, or in one file `{POLICY_FILE}`")));
        }
        let dir = repo.find_tree(entry.id()).map_err(|e| {
            Fatal::new(format!(
                "cannot read `{POLICY_DIR}` at {commit}: {}",
                e.message()
            ))
        })?;
        let mut found = Vec::new();
        walk_tree(repo, &dir, POLICY_DIR, commit, &mut budget, &mut found)?;
        if !found.is_empty() {
            found.sort_by(|a, b| a.name.cmp(&b.name));
            return Ok(Some(found));
        }
    }
    if let Some(entry) = entry_at(&tree, POLICY_FILE, commit)? {
        return Ok(Some(vec![blob_source(
            repo,
            &entry,
            POLICY_FILE,
            commit,
            &mut budget,
        )?]));
    }
    Ok(None)
}

/// The tree entry at `path`; `None` only when nothing is there.
fn entry_at(
    tree: &git2::Tree<'_>,
    path: &str,
    commit: git2::Oid,
) -> Result<Option<git2::TreeEntry<'static>>, Fatal> {
    match tree.get_path(Path::new(path)) {
        Ok(entry) => Ok(Some(entry)),
        Err(e) if e.code() == git2::ErrorCode::NotFound => Ok(None),
        Err(e) => Err(Fatal::new(format!(
            "cannot look up `{path}` at {commit}: {}",
            e.message()
        ))),
    }
}

fn describe(entry: &git2::TreeEntry<'_>) -> &'static str {
    match (entry.kind(), entry.filemode()) {
        (_, 0o120000) => "a symbolic link",
        (Some(git2::ObjectType::Commit), _) => "a submodule",
        (Some(git2::ObjectType::Blob), _) => "a file",
        (Some(git2::ObjectType::Tree), _) => "a folder",
        _ => "an object of unknown kind",
    }
}

fn walk_tree(
    repo: &git2::Repository,
    tree: &git2::Tree<'_>,
    prefix: &str,
    commit: git2::Oid,
    budget: &mut Budget,
    found: &mut Vec<PolicySource>,
) -> Result<(), Fatal> {
    for entry in tree.iter() {
        budget.entries += 1;
        if budget.entries > MAX_ENTRIES {
            return Err(Fatal::new(format!(
                "`{POLICY_DIR}` at {commit} holds more than {MAX_ENTRIES} entries; git-policy reads at most that many"
            )));
        }
        let name = String::from_utf8_lossy(entry.name_bytes());
        let path = format!("{prefix}/{name}");
        let yaml = name.ends_with(".yml") || name.ends_with(".yaml");
        match (entry.kind(), entry.filemode()) {
            (Some(git2::ObjectType::Tree), _) => {
                let sub = repo.find_tree(entry.id()).map_err(|e| {
                    Fatal::new(format!(
                        "cannot read `{}` at {commit}: {}",
                        crate::report::inert::one_line(&path),
                        e.message()
                    ))
                })?;
                walk_tree(repo, &sub, &path, commit, budget, found)?;
            }
            (Some(git2::ObjectType::Blob), 0o100644 | 0o100755) if yaml => {
                found.push(blob_source(repo, &entry, &path, commit, budget)?);
            }
            (Some(git2::ObjectType::Blob), 0o100644 | 0o100755) => {}
            _ => {
                // A link or a submodule: what it stands for cannot be read here.
                return Err(Fatal::new(format!(
                    "`{}` at {commit} is {}; git-policy does not read policy files through links or submodules",
                    crate::report::inert::one_line(&path),
                    describe(&entry)
                ))
                .help("keep policy files as plain files in the policy folder"));
            }
        }
    }
    Ok(())
}

fn blob_source(
    repo: &git2::Repository,
    entry: &git2::TreeEntry<'_>,
    path: &str,
    commit: git2::Oid,
    budget: &mut Budget,
) -> Result<PolicySource, Fatal> {
    let full = commit.to_string();
    let short = crate::text::short_sha(&full);
    let shown = crate::report::inert::one_line(path);
    if entry.kind() != Some(git2::ObjectType::Blob) || entry.filemode() == 0o120000 {
        return Err(Fatal::new(format!(
            "`{shown}` at {commit} is {}, not a policy file",
            describe(entry)
        ))
        .help("a policy file must be a plain file of the repository"));
    }
    budget.files += 1;
    if budget.files > MAX_FILES {
        return Err(Fatal::new(format!(
            "more than {MAX_FILES} policy files at {commit}; git-policy reads at most that many"
        )));
    }
    let blob = repo
        .find_blob(entry.id())
        .map_err(|e| Fatal::new(format!("cannot read {shown} at {commit}: {}", e.message())))?;
    let size = blob.content().len() as u64;
    if size > MAX_FILE_BYTES {
        return Err(too_large(&format!("{shown}@{short}")));
    }
    budget.bytes += size;
    if budget.bytes > MAX_TOTAL_BYTES {
        return Err(too_much());
    }
    let text = std::str::from_utf8(blob.content()).map_err(|_| {
        Fatal::new(format!(
            "policy file `{shown}` at {commit} is not valid UTF-8"
        ))
    })?;
    Ok(PolicySource::new(format!("{path}@{short}"), text))
}
