//! All the facts about one pull request: the API for what only GitHub knows
//! (the live pull request, reviews, teams), git for what the clone holds
//! (changed files, commits), the API again when the clone lacks them.

use std::collections::{BTreeMap, BTreeSet};

use futures_util::future::try_join_all;
use git2::{Oid, Repository};
use serde::Deserialize;
use serde_json::Value;

use super::Fatal;
use super::git;
use super::github::{GitHub, MAX_ITEMS, PER_PAGE, Sha, decode, last_page};
use crate::facts::{ChangedPath, Commit, PullRequest, Review, Stage};
use crate::policy::Policy;

/// GitHub lists at most this many files of a pull request.
pub const FILES_CAP: usize = 3000;
/// GitHub lists at most this many commits of a pull request.
pub const COMMITS_CAP: usize = 250;

/// The live pull request and its reviews (one round of requests).
pub async fn read(gh: &GitHub, repo: &str, number: u64) -> Result<PullRequest, Fatal> {
    let (pr_path, reviews_path) = (
        format!("/repos/{repo}/pulls/{number}"),
        format!("/repos/{repo}/pulls/{number}/reviews"),
    );
    let (pr, reviews) =
        futures_util::try_join!(gh.get(&pr_path), gh.all(&reviews_path, MAX_ITEMS))?;
    let api: ApiPull = decode(&pr.0, &format!("GET {pr_path}"))?;
    let reviews: Vec<ApiReview> = decode(&Value::Array(reviews), &format!("GET {reviews_path}"))?;
    let mut pr = api.into_facts(repo);
    pr.reviews = reviews.into_iter().map(ApiReview::into_facts).collect();
    Ok(pr)
}

/// What to gather about a pull request's commits beyond their messages.
#[derive(Clone, Copy, Debug, Default)]
pub struct CommitFacts {
    /// Each commit's own changed files.
    pub changes: bool,
    /// Each commit's GitHub account (always read on the API path).
    pub accounts: bool,
}

/// The pull request an event payload describes (`pull_request` has the
/// shape of `GET /pulls/{n}`), for judging offline: no reviews are known.
pub fn from_event(text: &str, repo: &str) -> Result<PullRequest, Fatal> {
    let payload: Value = serde_json::from_str(text)
        .map_err(|e| Fatal::new(format!("the event payload is not valid JSON: {e}")))?;
    let Some(pr) = payload.get("pull_request") else {
        return Err(Fatal::new("the event payload has no `pull_request`"));
    };
    // A recorded or hand-written file, not an API answer: say what it lacks.
    let api: ApiPull = serde_path_to_error::deserialize(pr).map_err(
        |e: serde_path_to_error::Error<serde_json::Error>| {
            let at = e.path().to_string();
            let at = if at == "." { String::new() } else { format!(".{at}") };
            Fatal::new(format!(
                "the event payload's `pull_request{at}` is not as GitHub sends it: {}",
                e.inner()
            ))
            .help("use an event recorded from a run (the file at $GITHUB_EVENT_PATH); a hand-written `pull_request` needs `number`, `title`, `body` (or null), `draft`, `labels`, `user.login`, `base` and `head` (`ref`, `sha`), `milestone` (or null), `commits` and `changed_files`")
        },
    )?;
    let mut pr = api.into_facts(repo);
    pr.offline = true;
    Ok(pr)
}

/// Fills in changed files and commits (with what `wanted` asks of each
/// commit): from git when the clone has both commits, else from the API,
/// whose lists must be as long as the pull request declares. `notes`
/// collects what the reader should know.
pub async fn complete(
    gh: &GitHub,
    git: Option<&Repository>,
    pr: &mut PullRequest,
    wanted: CommitFacts,
    notes: &mut Vec<String>,
) -> Result<(), Fatal> {
    complete_from(gh, git, pr, wanted, notes, None).await
}

/// A pull request's files and commits as already read through GraphQL
/// (whole, and only when REST would give the very same facts).
#[derive(Clone, Debug, Default)]
pub struct Listed {
    pub changed: Vec<ChangedPath>,
    pub commits: Vec<Commit>,
    /// Every commit's account is the one REST gives (else they serve only
    /// when no rule needs accounts).
    pub accounts_exact: bool,
}

/// [`complete`], with the files and commits `listed` already (used instead
/// of the two REST lists when the clone lacks the commits).
pub async fn complete_from(
    gh: &GitHub,
    git: Option<&Repository>,
    pr: &mut PullRequest,
    wanted: CommitFacts,
    notes: &mut Vec<String>,
    listed: Option<Listed>,
) -> Result<(), Fatal> {
    let local = git.filter(|r| has_commit(r, &pr.head_sha) && has_commit(r, &pr.base_sha));
    if let Some(repo) = local {
        pr.changed = git::changes_between(repo, &pr.base_sha, &pr.head_sha, true)?;
        let range = format!("{}..{}", pr.base_sha, pr.head_sha);
        let mut commits = Vec::new();
        for read in git::history(repo, &range, None, wanted.changes)? {
            let mut commit = read?.decode()?;
            commit.stage = Stage::PullRequest;
            // Each commit is on the pull request's head branch, as in the hook.
            commit.branch = Some(pr.head.clone());
            if let Some(oid) = commit.sha.as_deref().and_then(|s| Oid::from_str(s).ok()) {
                commit.reverts_its_history = super::reverts_its_history(repo, oid, &commit.message);
            }
            commits.push(commit);
        }
        commits.reverse();
        if wanted.accounts {
            let accounts = accounts(gh, pr).await?;
            for commit in &mut commits {
                commit.account = commit.sha.as_ref().and_then(|s| accounts.get(s)).cloned();
            }
        }
        pr.commits = commits;
        for review in &pr.reviews {
            if review.commit != pr.head_sha
                && !pr.changed_since.contains_key(&review.commit)
                && has_commit(repo, &review.commit)
            {
                let since = git::changes_between(repo, &review.commit, &pr.head_sha, false)?;
                pr.changed_since.insert(review.commit.clone(), since);
            }
        }
        return Ok(());
    }
    let repo = pr.repo.clone();
    let number = pr.number;
    let (files_path, commits_path) = (
        format!("/repos/{repo}/pulls/{number}/files"),
        format!("/repos/{repo}/pulls/{number}/commits"),
    );
    let clone_help = "check out the repository with its history (actions/checkout with `fetch-depth: 0`) so git-policy reads the changes from git";
    for (declared, cap, what) in [
        (pr.declared_files, FILES_CAP, "files"),
        (pr.declared_commits, COMMITS_CAP, "commits"),
    ] {
        if declared > cap as u64 {
            return Err(Fatal::new(format!(
                "pull request {repo}#{number} has {declared} {what}; GitHub lists at most {cap}, so the list would be incomplete"
            ))
            .help(clone_help));
        }
    }
    let (files, commits) = match listed {
        Some(listed) if listed.accounts_exact || !wanted.accounts => {
            (listed.changed, listed.commits)
        }
        _ => {
            let (files, commits) = futures_util::try_join!(
                gh.all(&files_path, FILES_CAP),
                gh.all(&commits_path, COMMITS_CAP)
            )?;
            let files: Vec<ApiFile> = decode(&Value::Array(files), &format!("GET {files_path}"))?;
            let commits: Vec<ApiCommit> =
                decode(&Value::Array(commits), &format!("GET {commits_path}"))?;
            (
                files.into_iter().map(ApiFile::into_facts).collect(),
                commits
                    .into_iter()
                    .map(ApiCommit::into_facts)
                    .collect::<Result<Vec<Commit>, Fatal>>()?,
            )
        }
    };
    for (listed, declared, what) in [
        (files.len(), pr.declared_files, "files"),
        (commits.len(), pr.declared_commits, "commits"),
    ] {
        if listed as u64 != declared {
            return Err(Fatal::new(format!(
                "GitHub lists {listed} {what} for pull request {repo}#{number}, which declares {declared}; git-policy does not judge an incomplete list"
            ))
            .help(clone_help));
        }
    }
    pr.changed = files;
    let mut read: Vec<Commit> = Vec::with_capacity(commits.len());
    for mut commit in commits {
        commit.branch = Some(pr.head.clone());
        // Without the clone, a revert is verified only against the pull
        // request's own earlier commits.
        commit.reverts_its_history = crate::facts::reverted_commit(&commit.message)
            .is_some_and(|sha| read.iter().any(|c| c.sha.as_deref() == Some(sha)));
        read.push(commit);
    }
    if wanted.changes {
        let shas: Vec<String> = read.iter().filter_map(|c| c.sha.clone()).collect();
        let reads = shas.iter().map(|sha| commit_files(gh, &repo, sha));
        let files = try_join_all(reads).await?;
        for (commit, files) in read.iter_mut().zip(files) {
            commit.changed = Some(files);
        }
    }
    pr.commits = read;
    notes.push(String::from(
        "changed files and commits were read through the API: the clone does not hold both the base and head commits (actions/checkout with `fetch-depth: 0` lets git-policy use git)",
    ));
    Ok(())
}

/// The GitHub account of each commit of the pull request, by sha, from the
/// API's commit list (which must hold every commit).
async fn accounts(gh: &GitHub, pr: &PullRequest) -> Result<BTreeMap<String, String>, Fatal> {
    let (repo, number) = (&pr.repo, pr.number);
    if pr.declared_commits > COMMITS_CAP as u64 {
        return Err(Fatal::new(format!(
            "pull request {repo}#{number} has {} commits; a rule matches commit authors by GitHub account, and GitHub lists the accounts of at most {COMMITS_CAP} commits",
            pr.declared_commits
        ))
        .help("split the pull request, or match commit authors in a pull_request rule (`authors` of the pull request)"));
    }
    let path = format!("/repos/{repo}/pulls/{number}/commits");
    let listed: Vec<ApiCommit> = decode(
        &Value::Array(gh.all(&path, COMMITS_CAP).await?),
        &format!("GET {path}"),
    )?;
    if listed.len() as u64 != pr.declared_commits {
        return Err(Fatal::new(format!(
            "GitHub lists {} commits for pull request {repo}#{number}, which declares {}; commit authors cannot be verified",
            listed.len(),
            pr.declared_commits
        )));
    }
    Ok(listed
        .into_iter()
        .filter_map(|c| Some((c.sha.0, c.author?.login)))
        .collect())
}

/// The files one commit changes, through `GET /repos/{repo}/commits/{sha}`
/// (paged, at most 3,000 files).
async fn commit_files(gh: &GitHub, repo: &str, sha: &str) -> Result<Vec<ChangedPath>, Fatal> {
    #[derive(serde::Deserialize)]
    struct ApiCommitFiles {
        files: Vec<ApiFile>,
    }
    let path = format!("/repos/{repo}/commits/{sha}");
    let first = format!("{path}?per_page={PER_PAGE}");
    let (value, headers) = gh.get(&first).await?;
    let mut files = decode::<ApiCommitFiles>(&value, &format!("GET {first}"))?.files;
    let link = headers
        .get("link")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if let Some(last) = last_page(link) {
        if last as usize > FILES_CAP.div_ceil(PER_PAGE as usize) {
            return Err(Fatal::new(format!(
                "GitHub announces {last} pages of files for GET {path}, more than the {FILES_CAP} files it lists; the list would be incomplete"
            ))
            .help("check out the repository with its history (actions/checkout with `fetch-depth: 0`)"));
        }
        let pages = (2..=last).map(|page| {
            let url = format!("{first}&page={page}");
            async move {
                let (v, _) = gh.get(&url).await?;
                decode::<ApiCommitFiles>(&v, &format!("GET {url}")).map(|f| f.files)
            }
        });
        for page in try_join_all(pages).await? {
            files.extend(page);
        }
    }
    if files.len() >= FILES_CAP {
        return Err(Fatal::new(format!(
            "commit {sha} changes {FILES_CAP} or more files, GitHub's limit for listing them; the list would be incomplete"
        ))
        .help("check out the repository with its history (actions/checkout with `fetch-depth: 0`)"));
    }
    Ok(files.into_iter().map(ApiFile::into_facts).collect())
}

/// Members of the `github:` teams that the applicable approval rules name, by policy team name.
pub async fn resolve_teams(
    gh: &GitHub,
    policy: &Policy,
    teams: &BTreeSet<String>,
) -> Result<BTreeMap<String, Vec<String>>, Fatal> {
    let wanted: Vec<(String, String)> = teams
        .iter()
        .filter_map(|name| {
            let github = policy.definitions.teams.get(name)?.github.as_ref()?;
            Some((name.clone(), github.value.clone()))
        })
        .collect();
    let reads = wanted.iter().map(|(name, github)| async move {
        let (org, slug) = github.split_once('/').unwrap_or((github.as_str(), ""));
        let members_path = format!("/orgs/{org}/teams/{slug}/members");
        let members = gh.all(&members_path, MAX_ITEMS).await.map_err(|f| Fatal {
            message: format!("cannot read the members of team `{name}` ({github}): {}", f.message),
            help: Some(String::from(
                "the workflow's default GITHUB_TOKEN cannot read org teams: list the team's `members` in the policy, or pass a token with members:read (a GitHub App or fine-grained token) as `token`",
            )),
        })?;
        let members: Vec<ApiUser> = decode(&Value::Array(members), &format!("GET {members_path}"))?;
        let logins = members.into_iter().map(|m| m.login).collect();
        Ok::<_, Fatal>((name.clone(), logins))
    });
    Ok(try_join_all(reads).await?.into_iter().collect())
}

fn has_commit(repo: &Repository, sha: &str) -> bool {
    Oid::from_str(sha)
        .ok()
        .is_some_and(|oid| repo.find_commit(oid).is_ok())
}

/// `GET /repos/{repo}/pulls/{n}`, as far as git-policy reads it. Every
/// field is required in the shape GitHub documents (`body` and `milestone`
/// may be null); anything else is exit 2 naming the field.
#[derive(Deserialize)]
struct ApiPull {
    number: u64,
    title: String,
    body: Option<String>,
    draft: bool,
    labels: Vec<ApiLabel>,
    user: ApiUser,
    base: ApiRef,
    head: ApiRef,
    milestone: Option<ApiMilestone>,
    commits: u64,
    changed_files: u64,
}

#[derive(Deserialize)]
struct ApiLabel {
    name: String,
}

#[derive(Deserialize)]
struct ApiUser {
    login: String,
}

#[derive(Deserialize)]
struct ApiRef {
    #[serde(rename = "ref")]
    name: String,
    sha: Sha,
}

#[derive(Deserialize)]
struct ApiMilestone {
    title: String,
}

impl ApiPull {
    fn into_facts(self, repo: &str) -> PullRequest {
        PullRequest {
            repo: repo.to_owned(),
            number: self.number,
            title: self.title,
            // GitHub sends null for an empty description.
            body: self.body.unwrap_or_default(),
            draft: self.draft,
            labels: self.labels.into_iter().map(|l| l.name).collect(),
            author: self.user.login,
            base: self.base.name,
            head: self.head.name,
            base_sha: self.base.sha.0,
            head_sha: self.head.sha.0,
            milestone: self.milestone.map(|m| m.title),
            declared_commits: self.commits,
            declared_files: self.changed_files,
            ..PullRequest::default()
        }
    }
}

/// One review from `GET /repos/{repo}/pulls/{n}/reviews`.
#[derive(Deserialize)]
struct ApiReview {
    /// null for a deleted account.
    user: Option<ApiUser>,
    state: ReviewState,
    /// null on reviews that were never submitted against a commit.
    commit_id: Option<Sha>,
}

#[derive(Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
enum ReviewState {
    Approved,
    ChangesRequested,
    Commented,
    Dismissed,
    Pending,
}

impl ApiReview {
    fn into_facts(self) -> Review {
        Review {
            // GitHub shows a deleted account as "ghost".
            author: self.user.map_or_else(|| String::from("ghost"), |u| u.login),
            state: String::from(match self.state {
                ReviewState::Approved => "APPROVED",
                ReviewState::ChangesRequested => "CHANGES_REQUESTED",
                ReviewState::Commented => "COMMENTED",
                ReviewState::Dismissed => "DISMISSED",
                ReviewState::Pending => "PENDING",
            }),
            // No commit: the review is fresh for no head.
            commit: self.commit_id.map(|s| s.0).unwrap_or_default(),
        }
    }
}

/// One file from `GET /repos/{repo}/pulls/{n}/files` or a commit's `files`.
#[derive(Deserialize)]
struct ApiFile {
    filename: String,
    previous_filename: Option<String>,
}

impl ApiFile {
    fn into_facts(self) -> ChangedPath {
        ChangedPath {
            path: self.filename,
            previous: self.previous_filename,
        }
    }
}

/// One commit from `GET /repos/{repo}/pulls/{n}/commits`.
#[derive(Deserialize)]
struct ApiCommit {
    sha: Sha,
    commit: ApiCommitDetail,
    parents: Vec<ApiParent>,
    /// The GitHub account the commit is attributed to (null when its email
    /// matches none).
    author: Option<ApiUser>,
}

#[derive(Deserialize)]
struct ApiCommitDetail {
    message: String,
    author: Option<ApiPerson>,
}

#[derive(Deserialize)]
struct ApiPerson {
    name: String,
    email: String,
}

#[derive(Deserialize)]
struct ApiParent {
    #[allow(dead_code)]
    sha: Sha,
}

impl ApiCommit {
    fn into_facts(self) -> Result<Commit, Fatal> {
        Ok(Commit {
            sha: Some(self.sha.0),
            // git shows a message up to its first NUL.
            message: match self.commit.message.split_once('\0') {
                Some((shown, _)) => shown.to_owned(),
                None => self.commit.message,
            },
            author_name: self.commit.author.as_ref().map(|a| a.name.clone()),
            author_email: self.commit.author.map(|a| a.email),
            account: self.author.map(|a| a.login),
            parents: self.parents.len(),
            stage: Stage::PullRequest,
            ..Commit::default()
        })
    }
}
