use std::io::Read;
use std::process::ExitCode;

use git2::{Oid, Repository};
use serde_json::{Value, json};

use super::{Global, Outcome, PASSED, err, out};
use crate::cli::EventArgs;
use crate::sources::{Fatal, git};

/// `event`: a `pull_request` event payload, as GitHub sends it, for this
/// clone's branch: what `check pr --offline --event FILE` reads, so a
/// policy can be tried on a branch in a minute. Flags give what only GitHub
/// knows (title, description, labels, draft, author, milestone); the base
/// and head branches and their commits come from the clone.
pub(crate) fn run(global: &Global, args: &EventArgs) -> Outcome {
    let repo = git::open(&global.dir)?;
    let (head_name, head) = head(&repo, args.head.as_deref())?;
    let (base_name, base) = base(&repo, args.base.as_deref())?;
    let (commits, changed_files, only_subject) = count(&repo, base, head)?;
    if commits == 0 {
        err(&format!(
            "note: `{head_name}` has no commit that `{base_name}` lacks: the pull request changes nothing\n"
        ));
    }
    let pull = Pull {
        title: args
            .title
            .clone()
            .unwrap_or_else(|| only_subject.unwrap_or_else(|| head_name.clone())),
        body: body(args)?,
        author: author(args),
        full_name: repository(&repo, args.repo.as_deref())?,
        base: json!({ "ref": base_name, "sha": base.to_string() }),
        head: json!({ "ref": head_name, "sha": head.to_string() }),
        commits,
        changed_files,
    };
    if args.number == 0 {
        return Err(Fatal::new("pull request number 0 does not exist")
            .help("pass a positive number, e.g. --number 42")
            .into());
    }
    let mut text = serde_json::to_string_pretty(&payload(args, pull))
        .map_err(|e| Fatal::new(format!("cannot write the event: {e}")))?;
    text.push('\n');
    // Inert as JSON whatever --format says: still valid JSON, and then
    // unchanged by `out`'s own pass.
    out(&super::output::inert_json(&text));
    Ok(ExitCode::from(PASSED))
}

/// What the clone and the flags say of the pull request.
struct Pull {
    title: String,
    body: Option<String>,
    author: String,
    /// OWNER/NAME.
    full_name: String,
    /// `ref` and `sha` of each side.
    base: Value,
    head: Value,
    commits: u64,
    changed_files: u64,
}

/// The author: given, else the account running the workflow, else `octocat`.
fn author(args: &EventArgs) -> String {
    args.author
        .clone()
        .or_else(|| std::env::var("GITHUB_ACTOR").ok())
        .filter(|a| !a.trim().is_empty())
        .unwrap_or_else(|| String::from("octocat"))
}

/// The event, in the shape of GitHub's `pull_request` payload.
fn payload(args: &EventArgs, pull: Pull) -> Value {
    let labels: Vec<Value> = args
        .labels
        .iter()
        .map(|l| l.trim())
        .filter(|l| !l.is_empty())
        .map(|name| json!({ "name": name }))
        .collect();
    let kind = if crate::rules::approval::is_bot(&pull.author) {
        "Bot"
    } else {
        "User"
    };
    let mut base = pull.base;
    base["repo"] = json!({ "full_name": pull.full_name });
    json!({
        "action": "opened",
        "number": args.number,
        "pull_request": {
            "number": args.number,
            "state": "open",
            "title": pull.title,
            "body": pull.body,
            "draft": args.draft,
            "labels": labels,
            "user": { "login": pull.author, "type": kind },
            "base": base,
            "head": pull.head,
            "milestone": args.milestone.as_ref().map(|title| json!({ "title": title })),
            "commits": pull.commits,
            "changed_files": pull.changed_files,
        },
        "repository": { "full_name": pull.full_name },
    })
}

/// The head branch (given, else the current one) and its commit.
fn head(repo: &Repository, given: Option<&str>) -> Result<(String, Oid), Fatal> {
    if let Some(name) = given {
        return branch_commit(repo, name)
            .map(|oid| (name.to_owned(), oid))
            .ok_or_else(|| {
                Fatal::new(format!(
                    "no branch `{name}` in this clone (nor `origin/{name}`)"
                ))
                .help("pass --head with a branch `git branch` lists")
            });
    }
    let head = repo
        .head()
        .map_err(|e| Fatal::new(format!("cannot read HEAD: {}", e.message())))?;
    if !head.is_branch() {
        return Err(Fatal::new(
            "HEAD is not on a branch (detached): which branch is the pull request's?",
        )
        .help("pass --head BRANCH, or `git switch` to the branch"));
    }
    let name = head
        .shorthand()
        .map_err(|_| Fatal::new("the current branch's name is not UTF-8"))?
        .to_owned();
    let oid = head
        .peel_to_commit()
        .map_err(|e| Fatal::new(format!("cannot read `{name}`: {}", e.message())))?
        .id();
    Ok((name, oid))
}

/// The base branch (given, else the remote's default branch, else `main`
/// or `master`) and its commit: the remote's copy when there is one.
fn base(repo: &Repository, given: Option<&str>) -> Result<(String, Oid), Fatal> {
    if let Some(name) = given {
        return branch_commit(repo, name)
            .map(|oid| (name.to_owned(), oid))
            .ok_or_else(|| {
                Fatal::new(format!(
                    "no branch `{name}` in this clone (nor `origin/{name}`)"
                ))
                .help("pass --base with a branch `git branch -a` lists (fetch it first)")
            });
    }
    let default = repo
        .find_reference("refs/remotes/origin/HEAD")
        .ok()
        .and_then(|r| r.symbolic_target().ok().flatten().map(str::to_owned))
        .and_then(|t| t.strip_prefix("refs/remotes/origin/").map(str::to_owned));
    default
        .into_iter()
        .chain(["main", "master"].map(String::from))
        .find_map(|name| branch_commit(repo, &name).map(|oid| (name, oid)))
        .ok_or_else(|| {
            Fatal::new("cannot tell the base branch: no `origin/HEAD`, `main` or `master`")
                .help("pass --base BRANCH")
        })
}

/// `origin/NAME` (what the pull request merges into on GitHub), else `NAME`.
fn branch_commit(repo: &Repository, name: &str) -> Option<Oid> {
    [
        format!("refs/remotes/origin/{name}"),
        format!("refs/heads/{name}"),
    ]
    .iter()
    .find_map(|r| {
        repo.find_reference(r)
            .ok()?
            .peel_to_commit()
            .ok()
            .map(|c| c.id())
    })
}

/// Commits the head has that the base lacks, files changed since their
/// merge base (as GitHub counts both), and the subject of the only commit.
fn count(repo: &Repository, base: Oid, head: Oid) -> Result<(u64, u64, Option<String>), Fatal> {
    let failed = |e: git2::Error| Fatal::new(format!("cannot read the history: {}", e.message()));
    let mut walk = repo.revwalk().map_err(failed)?;
    walk.push(head).map_err(failed)?;
    walk.hide(base).map_err(failed)?;
    let mut commits = Vec::new();
    for oid in walk {
        commits.push(oid.map_err(failed)?);
    }
    let only_subject = match commits.as_slice() {
        [only] => repo
            .find_commit(*only)
            .ok()
            .and_then(|c| c.summary().ok().flatten().map(str::to_owned)),
        _ => None,
    };
    let fork = repo.merge_base(base, head).map_err(failed)?;
    let tree = |oid: Oid| repo.find_commit(oid).and_then(|c| c.tree());
    let diff = repo
        .diff_tree_to_tree(
            Some(&tree(fork).map_err(failed)?),
            Some(&tree(head).map_err(failed)?),
            None,
        )
        .map_err(failed)?;
    Ok((
        commits.len() as u64,
        diff.deltas().len() as u64,
        only_subject,
    ))
}

fn body(args: &EventArgs) -> Result<Option<String>, Fatal> {
    let Some(path) = &args.body_file else {
        return Ok(args.body.clone().filter(|b| !b.is_empty()));
    };
    let mut text = String::new();
    let read = if path.as_os_str() == "-" {
        std::io::stdin().read_to_string(&mut text).map(|_| ())
    } else {
        std::fs::read_to_string(path).map(|t| text = t)
    };
    read.map_err(|e| {
        Fatal::new(format!(
            "cannot read the description `{}`: {e}",
            path.display()
        ))
    })?;
    Ok(Some(text).filter(|b| !b.is_empty()))
}

/// OWNER/NAME: given, else `GITHUB_REPOSITORY`, else the `origin` remote's
/// GitHub address, else `local/repository`.
fn repository(repo: &Repository, given: Option<&str>) -> Result<String, Fatal> {
    let name = given
        .map(str::to_owned)
        .or_else(|| {
            std::env::var("GITHUB_REPOSITORY")
                .ok()
                .filter(|r| !r.is_empty())
        })
        .or_else(|| super::audit::origin_repository(repo))
        .unwrap_or_else(|| String::from("local/repository"));
    if !crate::sources::github::is_repository_name(&name) {
        return Err(Fatal::new(format!("`{name}` is not OWNER/NAME")).help("e.g. --repo octo/app"));
    }
    Ok(name)
}
