//! Facts from git, through libgit2 (git2, vendored: no system libgit2 or OpenSSL).

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use git2::{DiffFindOptions, DiffOptions, ErrorCode, Oid, Repository, RepositoryOpenFlags};

use super::Fatal;
use crate::facts::{ChangedPath, Commit};

/// Opens the repository containing `dir`, explaining the usual failures.
pub(crate) fn open(dir: &Path) -> Result<Repository, Fatal> {
    let ceilings: [&Path; 0] = [];
    Repository::open_ext(dir, RepositoryOpenFlags::empty(), ceilings)
        .map_err(|e| open_error(dir, &e))
}

fn open_error(dir: &Path, e: &git2::Error) -> Fatal {
    let shown = dir.canonicalize().unwrap_or_else(|_| dir.to_path_buf());
    match e.code() {
        ErrorCode::NotFound => Fatal::new(format!(
            "not a git repository (or any parent folder): {}",
            shown.display()
        ))
        .help("run git-policy inside a repository, or point at one with -C DIR"),
        ErrorCode::Owner => {
            let repo = e
                .message()
                .split('\'')
                .nth(1)
                .map(str::to_owned)
                .unwrap_or_else(|| shown.display().to_string());
            Fatal::new(format!("git refuses the repository at {repo}: it is owned by another user ({})", e.message()))
                .help(format!(
                    "if you trust it, mark it safe: git config --global --add safe.directory '{repo}' (in a container or CI job, this usually means the checkout belongs to another uid)"
                ))
        }
        _ if e.message().contains("object format") => Fatal::new(format!(
            "cannot open the git repository at {}: it uses SHA-256 object ids, which git-policy does not read yet ({})",
            shown.display(),
            e.message()
        ))
        .help("judge a SHA-1 clone of the same history, or run without git-policy until SHA-256 is supported"),
        _ => Fatal::new(format!(
            "cannot open the git repository at {}: {}",
            shown.display(),
            e.message()
        )),
    }
}

/// The work tree root, where policy files live.
pub(crate) fn work_tree(repo: &Repository) -> Option<PathBuf> {
    repo.workdir().map(Path::to_path_buf)
}

/// What the commit-msg hook needs from git's configuration, read once.
pub(crate) struct HookConfig {
    /// `core.commentChar` (or git 2.45's `core.commentString`), when set.
    pub(crate) comment: Option<String>,
    /// Who is committing: `GIT_AUTHOR_*`, else `user.name` / `user.email`.
    pub(crate) author_name: Option<String>,
    pub(crate) author_email: Option<String>,
}

pub(crate) fn hook_config(repo: &Repository) -> HookConfig {
    let config = repo.config().ok().and_then(|mut c| c.snapshot().ok());
    let get = |key: &str| config.as_ref().and_then(|c| c.get_string(key).ok());
    HookConfig {
        comment: config.as_ref().and_then(last_comment_setting),
        author_name: std::env::var("GIT_AUTHOR_NAME")
            .ok()
            .or_else(|| get("user.name")),
        author_email: std::env::var("GIT_AUTHOR_EMAIL")
            .ok()
            .or_else(|| get("user.email")),
    }
}

/// `core.commentChar` and `core.commentString` set one thing in git: the
/// one set last (system, global, then local configuration, and within a
/// file the later line) is the one git uses, so it is the one read here.
fn last_comment_setting(config: &git2::Config) -> Option<String> {
    let entry = |key: &str| config.get_entry(key).ok().filter(|e| e.has_value());
    let (char_entry, string_entry) = (entry("core.commentChar"), entry("core.commentString"));
    match (&char_entry, &string_entry) {
        (None, None) => return None,
        (Some(one), None) | (None, Some(one)) => return one.value().ok().map(str::to_owned),
        // Set in files of different levels: the later file's wins.
        (Some(c), Some(s)) if c.level() != s.level() => {
            let later = if level_rank(c.level()) > level_rank(s.level()) {
                c
            } else {
                s
            };
            return later.value().ok().map(str::to_owned);
        }
        // In one file: the later line's, which only the entries' order tells.
        (Some(_), Some(_)) => {}
    }
    let mut last = None;
    let entries = config.entries(Some("^core\\.comment(char|string)$")).ok()?;
    let _ = entries.for_each(|entry| {
        if let Ok(value) = entry.value() {
            last = Some(value.to_owned());
        }
    });
    last
}

/// The order git reads configuration files in (later wins).
fn level_rank(level: git2::ConfigLevel) -> u8 {
    match level {
        git2::ConfigLevel::ProgramData => 0,
        git2::ConfigLevel::System => 1,
        git2::ConfigLevel::XDG => 2,
        git2::ConfigLevel::Global => 3,
        git2::ConfigLevel::Local => 4,
        git2::ConfigLevel::Worktree => 5,
        git2::ConfigLevel::App => 6,
        git2::ConfigLevel::Highest => 7,
    }
}

/// The checked-out branch; `None` when HEAD is detached.
pub(crate) fn current_branch(repo: &Repository) -> Option<String> {
    let head = repo.find_reference("HEAD").ok()?;
    let target = head.symbolic_target().ok()??;
    target.strip_prefix("refs/heads/").map(str::to_owned)
}

/// Files staged for the commit being made (index against HEAD).
pub(crate) fn staged_changes(repo: &Repository) -> Result<Vec<ChangedPath>, Fatal> {
    let head_tree = match repo.head() {
        Ok(head) => Some(
            head.peel_to_tree()
                .map_err(|e| Fatal::new(format!("cannot read HEAD: {}", e.message())))?,
        ),
        Err(_) => None, // first commit
    };
    let index = repo
        .index()
        .map_err(|e| Fatal::new(format!("cannot read the index: {}", e.message())))?;
    let mut diff = repo
        .diff_tree_to_index(
            head_tree.as_ref(),
            Some(&index),
            Some(&mut DiffOptions::new()),
        )
        .map_err(|e| Fatal::new(format!("cannot diff the index: {}", e.message())))?;
    changes(&mut diff)
}

/// Files changed from `from` to `to`; with `merge_base`, from their merge
/// base (what a pull request changes: `base...head`). Renames carry both paths.
pub(crate) fn changes_between(
    repo: &Repository,
    from: &str,
    to: &str,
    merge_base: bool,
) -> Result<Vec<ChangedPath>, Fatal> {
    let err = |e: git2::Error| Fatal::new(format!("cannot diff {from}...{to}: {}", e.message()));
    let from = Oid::from_str(from).map_err(err)?;
    let to = Oid::from_str(to).map_err(err)?;
    let start = if merge_base {
        repo.merge_base(from, to).map_err(err)?
    } else {
        from
    };
    let old = repo
        .find_commit(start)
        .and_then(|c| c.tree())
        .map_err(err)?;
    let new = repo.find_commit(to).and_then(|c| c.tree()).map_err(err)?;
    let mut diff = repo
        .diff_tree_to_tree(Some(&old), Some(&new), Some(&mut DiffOptions::new()))
        .map_err(err)?;
    changes(&mut diff)
}

/// Files a commit changes against its first parent.
pub(crate) fn commit_changes(
    repo: &Repository,
    commit: &git2::Commit<'_>,
) -> Result<Vec<ChangedPath>, git2::Error> {
    let tree = commit.tree()?;
    let parent = match commit.parent(0) {
        Ok(p) => Some(p.tree()?),
        Err(_) => None,
    };
    let mut diff =
        repo.diff_tree_to_tree(parent.as_ref(), Some(&tree), Some(&mut DiffOptions::new()))?;
    changes(&mut diff).map_err(|f| git2::Error::from_str(&f.message))
}

fn changes(diff: &mut git2::Diff<'_>) -> Result<Vec<ChangedPath>, Fatal> {
    diff.find_similar(Some(DiffFindOptions::new().renames(true)))
        .map_err(|e| Fatal::new(format!("cannot detect renames: {}", e.message())))?;
    let mut out = Vec::new();
    for delta in diff.deltas() {
        let new = delta
            .new_file()
            .path()
            .map(|p| p.to_string_lossy().replace('\\', "/"));
        let old = delta
            .old_file()
            .path()
            .map(|p| p.to_string_lossy().replace('\\', "/"));
        match (new, old) {
            (Some(new), Some(old)) if new != old => out.push(ChangedPath {
                path: new,
                previous: Some(old),
            }),
            (Some(path), _) | (None, Some(path)) => out.push(ChangedPath::new(path)),
            (None, None) => {}
        }
    }
    Ok(out)
}

/// Settings for reading much history: objects are not re-hashed on read
/// (git does not either), and the object cache is bounded so a walk over
/// 100k commits stays small. Call before any other libgit2 use.
pub(crate) fn tune_for_history() {
    git2::opts::strict_hash_verification(false);
    // Each commit is read once, so caching objects only costs time and memory.
    git2::opts::enable_caching(false);
    // SAFETY: called once, on the main thread, before any repository is opened.
    unsafe {
        let _ = git2::opts::set_cache_max_size(CACHE_BYTES);
        // Map packs in small windows, so reading a whole history does not
        // keep every page of a large pack resident.
        let _ = git2::opts::set_mwindow_size(WINDOW_BYTES);
        let _ = git2::opts::set_mwindow_mapped_limit(MAPPED_LIMIT_BYTES);
    }
}

const WINDOW_BYTES: usize = 4 * 1024 * 1024;
const MAPPED_LIMIT_BYTES: usize = 16 * 1024 * 1024;

/// Enough for the commits a walk has just parsed; older entries are evicted.
const CACHE_BYTES: isize = 0;

/// The commits a revision names: the tips to walk from and the commits to
/// hide. `A..B`, `A...B` or one revision (everything reachable);
/// `hide_remote` also hides what a remote already has (the pre-push hook
/// for a new branch).
fn range_ends(
    repo: &Repository,
    spec: &str,
    hide_remote: Option<&str>,
) -> Result<(Vec<Oid>, Vec<Oid>), Fatal> {
    refuse_rewritten_history(repo)?;
    check_packs(repo)?;
    let revspec = repo
        .revparse(spec)
        .map_err(|e| unknown_revision(repo, spec, &e))?;
    let mode = revspec.mode();
    let from = revspec.from().map(|o| o.peel_to_commit().map(|c| c.id()));
    let to = revspec.to().map(|o| o.peel_to_commit().map(|c| c.id()));
    let resolve = |r: Option<Result<Oid, git2::Error>>| -> Result<Option<Oid>, Fatal> {
        r.transpose()
            .map_err(|e| Fatal::new(format!("`{spec}` does not name commits: {}", e.message())))
    };
    let (from, to) = (resolve(from)?, resolve(to)?);
    let (mut tips, mut hidden) = (Vec::new(), Vec::new());
    if mode.contains(git2::RevparseMode::RANGE) {
        let from = from.ok_or_else(|| Fatal::new(format!("`{spec}` has no start")))?;
        let to = to.ok_or_else(|| Fatal::new(format!("`{spec}` has no end")))?;
        tips.push(to);
        if mode.contains(git2::RevparseMode::MERGE_BASE) {
            tips.push(from);
            // `A...B`: what either has and not all their merge bases (none
            // for unrelated histories: then both sides whole).
            match repo.merge_bases(from, to) {
                Ok(bases) => hidden.extend(bases.iter().copied()),
                Err(e) if e.code() == git2::ErrorCode::NotFound => {}
                Err(e) => {
                    return Err(Fatal::new(format!("cannot walk `{spec}`: {}", e.message())));
                }
            }
        } else {
            hidden.push(from);
        }
    } else {
        tips.push(from.ok_or_else(|| Fatal::new(format!("`{spec}` names no commit")))?);
    }
    if let Some(remote) = hide_remote {
        // Nothing to hide when the remote has no branches yet: every commit is new.
        if let Ok(references) = repo.references_glob(&format!("refs/remotes/{remote}/*")) {
            hidden.extend(
                references
                    .filter_map(Result::ok)
                    .filter_map(|r| r.peel_to_commit().ok())
                    .map(|c| c.id()),
            );
        }
    }
    Ok((tips, hidden))
}

/// The commits of `spec`, each read once (see [`super::history`]): the one
/// walk every command uses, so the hook, the pull request gate and the audit
/// see the same commits for the same range.
pub fn history<'r>(
    repo: &'r Repository,
    spec: &str,
    hide_remote: Option<&str>,
    with_changes: bool,
) -> Result<super::history::History<'r>, Fatal> {
    let (tips, hidden) = range_ends(repo, spec, hide_remote)?;
    super::history::OwnWalk::new(repo, &tips, &hidden, with_changes)
}

/// Refuses pack indexes whose offsets point outside their packs, before
/// libgit2 reads an object through them (it trusts them, and may crash).
/// [`history`] calls it first; a command that reads objects
/// through libgit2 before walking should too.
pub(crate) fn check_packs(repo: &Repository) -> Result<(), Fatal> {
    super::pack::check_offsets(&repo.commondir().join("objects")).map_err(|what| {
        Fatal::new(what).help(
            "the repository is damaged: `git fsck --full` names what is wrong; a fresh clone fixes it",
        )
    })
}

/// Refuses a repository whose history git shows rewritten: grafts
/// (`info/grafts`, which libgit2 also applies in places) or replacement
/// objects (`refs/replace/`, which libgit2 ignores). git-policy judges the
/// commits as stored, and `git log` would show others: no verdict (exit 2)
/// rather than one about a history nobody sees. Shallow boundaries are
/// handled by the walk itself.
pub(crate) fn refuse_rewritten_history(repo: &Repository) -> Result<(), Fatal> {
    let grafts = std::env::var_os("GIT_GRAFT_FILE")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo.commondir().join("info").join("grafts"));
    if std::fs::metadata(&grafts).is_ok_and(|m| m.len() > 0) {
        return Err(Fatal::new(format!(
            "the repository has grafts ({}): git shows a rewritten history, git-policy judges only the commits as stored",
            grafts.display()
        ))
        .help("grafts are deprecated: remove the file (or run `git replace --convert-graft-file` and see below), then run git-policy again"));
    }
    let replace_ignored = std::env::var_os("GIT_NO_REPLACE_OBJECTS").is_some()
        || repo
            .config()
            .and_then(|c| c.get_bool("core.useReplaceRefs"))
            .is_ok_and(|use_them| !use_them);
    if !replace_ignored {
        let base =
            std::env::var("GIT_REPLACE_REF_BASE").unwrap_or_else(|_| String::from("refs/replace/"));
        let glob = format!("{}/*", base.trim_end_matches('/'));
        if let Some(first) = repo
            .references_glob(&glob)
            .ok()
            .and_then(|mut refs| refs.find_map(Result::ok))
        {
            return Err(Fatal::new(format!(
                "the repository replaces objects ({}): git shows a rewritten history, git-policy judges only the commits as stored",
                first.name().unwrap_or(&base)
            ))
            .help("run with GIT_NO_REPLACE_OBJECTS=1 (git then shows the stored history too), or delete the replacements (`git replace -d`)"));
        }
    }
    Ok(())
}

fn unknown_revision(repo: &Repository, spec: &str, e: &git2::Error) -> Fatal {
    let mut fatal = Fatal::new(format!("unknown revision in `{spec}`: {}", e.message()))
        .help("name commits git knows (`git rev-parse <rev>` must succeed), e.g. origin/main..HEAD; in CI, fetch them first");
    if is_shallow(repo) {
        fatal = fatal.help("history is shallow and may not hold that revision: `git fetch --unshallow`, or actions/checkout with `fetch-depth: 0`");
    }
    fatal
}

/// Commits whose parents a shallow clone did not fetch: the `shallow` file
/// of the common git directory, which linked worktrees share (libgit2's
/// `is_shallow` looks in the worktree's own git directory).
pub(crate) fn shallow_boundary(repo: &Repository) -> HashSet<Oid> {
    std::fs::read_to_string(repo.commondir().join("shallow"))
        .unwrap_or_default()
        .lines()
        .filter_map(|l| Oid::from_str(l.trim()).ok())
        .collect()
}

/// Whether the clone is shallow (see [`shallow_boundary`]).
pub(crate) fn is_shallow(repo: &Repository) -> bool {
    repo.commondir().join("shallow").exists()
}

/// Reads one commit's facts, as the walk reads them (git's header rules,
/// the message as `git log` shows it, the id verified).
pub(crate) fn read_commit(
    repo: &Repository,
    oid: Oid,
    with_changes: bool,
) -> Result<Commit, Fatal> {
    let mut commit = super::history::read_one(repo, oid)?;
    if with_changes {
        let changed = repo
            .find_commit(oid)
            .and_then(|c| commit_changes(repo, &c))
            .map_err(|e| Fatal::new(format!("cannot diff commit {oid}: {}", e.message())))?;
        commit.changed = Some(changed);
    }
    Ok(commit)
}
