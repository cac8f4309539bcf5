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
pub(crate) const FILES_CAP: usize = 3000;
/// GitHub lists at most this many commits of a pull request.
pub(crate) const COMMITS_CAP: usize = 250;

/// The live pull request and its reviews (one round of requests).
pub(crate) async fn read(gh: &GitHub, repo: &str, number: u64) -> Result<PullRequest, Fatal> {
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
pub(crate) struct CommitFacts {
    /// Each commit's own changed files.
    pub(crate) changes: bool,
    /// Each commit's proved GitHub account (and its associated ones).
    pub(crate) accounts: bool,
    /// Every account GitHub associates with each commit (author and
    /// committer): who may not review or grant its code.
    pub(crate) writers: bool,
}

/// The pull request an event payload describes (`pull_request` has the
/// shape of `GET /pulls/{n}`), for judging offline: no reviews are known.
pub(crate) fn from_event(text: &str, repo: &str) -> Result<PullRequest, Fatal> {
    let payload: Value = serde_json::from_str(text)
        .map_err(|e| Fatal::new(format!("the event payload is not valid JSON: {e}")))?;
    let Some(pr) = payload.get("pull_request") else {
        return Err(Fatal::new("the event payload has no `pull_request`"));
    };
    // Offline, the commits and files come from the clone: the declared
    // counts, which only check the API's lists, are not needed. A missing
    // `milestone` is unknown (not "none"): the milestone rule says so.
    let mut pr = pr.clone();
    let milestone_unknown = pr.get("milestone").is_none();
    if let Some(fields) = pr.as_object_mut() {
        for unused in ["commits", "changed_files"] {
            fields.entry(unused).or_insert(Value::from(0));
        }
        fields.entry("milestone").or_insert(Value::Null);
    }
    // A recorded or hand-written file, not an API answer: say what it lacks.
    let api: ApiPull = serde_path_to_error::deserialize(&pr).map_err(
        |e: serde_path_to_error::Error<serde_json::Error>| {
            let at = e.path().to_string();
            let at = if at == "." { String::new() } else { format!(".{at}") };
            Fatal::new(format!(
                "the event payload's `pull_request{at}` is not as GitHub sends it: {}",
                e.inner()
            ))
            .help("use an event recorded from a run (the file at $GITHUB_EVENT_PATH), or write one with `git-policy event`; a hand-written `pull_request` needs `number`, `title`, `body` (or null), `draft`, `labels`, `user.login`, `base` and `head` (`ref`, `sha`), and `milestone` (or null) when a rule asks for one")
        },
    )?;
    let mut pr = api.into_facts(repo);
    pr.offline = true;
    pr.milestone_unknown = milestone_unknown;
    Ok(pr)
}

/// Fills in changed files and commits (with what `wanted` asks of each
/// commit): from git when the clone has both commits, else from the API,
/// whose lists must be as long as the pull request declares.
pub(crate) async fn complete(
    gh: &GitHub,
    git: Option<&Repository>,
    pr: &mut PullRequest,
    wanted: CommitFacts,
) -> Result<Completed, Fatal> {
    complete_from(gh, git, pr, wanted, None).await
}

/// How a pull request's files and commits were read.
#[derive(Debug, Default)]
#[must_use]
pub(crate) struct Completed {
    /// What the reader should know (one line each).
    pub(crate) notes: Vec<String>,
}

/// A pull request's files and commits as already read through GraphQL
/// (whole, and only when REST would give the very same facts).
#[derive(Clone, Debug, Default)]
pub(crate) struct Listed {
    pub(crate) changed: Vec<ChangedPath>,
    pub(crate) commits: Vec<Commit>,
    /// Every commit's accounts (proved and associated) are as REST and the
    /// signatures give them (else they serve only when no rule needs accounts).
    pub(crate) accounts_exact: bool,
}

/// The changes, commits and per-review changes of a pull request whose
/// base and head the clone has.
async fn complete_from_clone(
    gh: &GitHub,
    repo: &Repository,
    pr: &mut PullRequest,
    wanted: CommitFacts,
    listed: Option<Listed>,
) -> Result<(), Fatal> {
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
    if wanted.accounts || wanted.writers {
        // GraphQL's list, when it is exact (or only who wrote the
        // commits is asked: bots, which GraphQL does not name, review
        // nothing), else REST's.
        let accounts: BTreeMap<String, (Option<String>, Vec<String>)> = match listed {
            Some(listed) if listed.accounts_exact || !wanted.accounts => listed
                .commits
                .into_iter()
                .filter_map(|c| Some((c.sha?, (c.account, c.associated?))))
                .collect(),
            _ => accounts(gh, pr, wanted.accounts).await?,
        };
        for commit in &mut commits {
            // A commit GitHub does not list for the pull request has no
            // account, and who wrote it is unknown (fail closed).
            let found = commit.sha.as_ref().and_then(|s| accounts.get(s)).cloned();
            commit.account = found.as_ref().and_then(|(a, _)| a.clone());
            commit.associated = found.map(|(_, associated)| associated);
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
    Ok(())
}

/// [`complete`], with the files and commits `listed` already (used instead
/// of the two REST lists when the clone lacks the commits).
pub(crate) async fn complete_from(
    gh: &GitHub,
    git: Option<&Repository>,
    pr: &mut PullRequest,
    wanted: CommitFacts,
    listed: Option<Listed>,
) -> Result<Completed, Fatal> {
    let local = git.filter(|r| has_commit(r, &pr.head_sha) && has_commit(r, &pr.base_sha));
    if let Some(repo) = local {
        complete_from_clone(gh, repo, pr, wanted, listed).await?;
        return Ok(Completed::default());
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
            let attributed: Vec<Attribution> = commits.iter().map(ApiCommit::attribution).collect();
            let mut read = commits
                .into_iter()
                .map(ApiCommit::into_facts)
                .collect::<Result<Vec<Commit>, Fatal>>()?;
            if wanted.accounts || wanted.writers {
                let proved = prove(gh, pr, attributed, wanted.accounts).await?;
                for commit in &mut read {
                    let (account, associated) = commit
                        .sha
                        .as_ref()
                        .and_then(|s| proved.get(s))
                        .cloned()
                        .unwrap_or((None, Vec::new()));
                    commit.account = account;
                    commit.associated = Some(associated);
                }
            }
            (files.into_iter().map(ApiFile::into_facts).collect(), read)
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
    Ok(Completed {
        notes: vec![String::from(
            "changed files and commits were read through the API: the clone does not hold both the base and head commits (actions/checkout with `fetch-depth: 0` lets git-policy use git)",
        )],
    })
}

/// What GitHub says of who made one commit: the account it attributes the
/// commit to (from the author e-mail), and every account it associates
/// with it (author and committer), lower case.
#[derive(Clone, Debug, Default)]
pub(crate) struct Attribution {
    pub(crate) sha: String,
    pub(crate) author: Option<String>,
    pub(crate) associated: Vec<String>,
}

/// A commit's signature as GitHub's GraphQL API verifies it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Signature {
    /// `isValid`.
    pub(crate) valid: bool,
    /// `wasSignedByGitHub`: GitHub's web-flow key, for whoever was logged
    /// in or held the token, with the author e-mail the caller chose.
    pub(crate) by_github: bool,
    /// `signer.login`: the account whose key made it (matched by GitHub on
    /// the committer e-mail and the account's own keys).
    pub(crate) signer: Option<String>,
}

/// The account proved to have authored a commit GitHub attributes to
/// `attributed`: the pull request's own author (the pull request proves
/// it), or the signer of a valid signature that is not GitHub's web-flow
/// one. Anything else is an e-mail someone typed: no account.
pub(crate) fn proved(
    attributed: Option<&str>,
    signature: Option<&Signature>,
    pr_author: &str,
) -> Option<String> {
    let account = attributed?;
    let by_pull_request = account.eq_ignore_ascii_case(pr_author);
    let by_signature = signature.is_some_and(|s| {
        s.valid
            && !s.by_github
            && s.signer
                .as_deref()
                .is_some_and(|signer| signer.eq_ignore_ascii_case(account))
    });
    (by_pull_request || by_signature).then(|| account.to_owned())
}

/// Proved account and associated accounts of each commit of the pull
/// request, by sha, from the API's commit list (which must hold every
/// commit) and, for commits not attributed to its author, their signatures.
async fn accounts(
    gh: &GitHub,
    pr: &PullRequest,
    signed: bool,
) -> Result<BTreeMap<String, (Option<String>, Vec<String>)>, Fatal> {
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
    prove(
        gh,
        pr,
        listed.iter().map(ApiCommit::attribution).collect(),
        signed,
    )
    .await
}

/// Each commit's proved account (see [`proved`]) and associated accounts,
/// by sha. Signatures are read (GraphQL, 100 commits a query) only for
/// commits attributed to someone other than the pull request's author, and
/// only when `signed` (else only the pull request proves an account).
async fn prove(
    gh: &GitHub,
    pr: &PullRequest,
    attributed: Vec<Attribution>,
    signed: bool,
) -> Result<BTreeMap<String, (Option<String>, Vec<String>)>, Fatal> {
    let unproved: Vec<String> = attributed
        .iter()
        .filter(|_| signed)
        .filter(|a| {
            a.author
                .as_deref()
                .is_some_and(|login| !login.eq_ignore_ascii_case(&pr.author))
        })
        .map(|a| a.sha.clone())
        .collect();
    let signatures = signatures(gh, &pr.repo, &unproved).await?;
    Ok(attributed
        .into_iter()
        .map(|a| {
            let account = proved(a.author.as_deref(), signatures.get(&a.sha), &pr.author);
            (a.sha, (account, a.associated))
        })
        .collect())
}

/// The signatures of `shas` as GitHub verifies them (GraphQL: REST's
/// `verification` names no signer), by sha; a commit without one is absent.
pub(crate) async fn signatures(
    gh: &GitHub,
    repo: &str,
    shas: &[String],
) -> Result<BTreeMap<String, Signature>, Fatal> {
    #[derive(Deserialize)]
    struct GqlCommit {
        oid: Sha,
        signature: Option<GqlSignature>,
    }
    let mut found = BTreeMap::new();
    if shas.is_empty() {
        return Ok(found);
    }
    let Some((owner, name)) = repo
        .split_once('/')
        .filter(|_| super::github::is_repository_name(repo))
    else {
        return Err(Fatal::new(format!("`{repo}` is not OWNER/NAME")));
    };
    if let Some(bad) = shas.iter().find(|s| !Sha::is_valid(s)) {
        return Err(Fatal::new(format!("`{bad}` is not a commit id")));
    }
    for chunk in shas.chunks(100) {
        let mut query = String::from(
            "query($owner: String!, $name: String!) { repository(owner: $owner, name: $name) {\n",
        );
        for (i, sha) in chunk.iter().enumerate() {
            query.push_str(&format!(
                "  c{i}: object(oid: \"{sha}\") {{ ... on Commit {{ oid signature {{ {SIGNATURE} }} }} }}\n"
            ));
        }
        query.push_str("} }");
        let data = gh
            .graphql_with(&query, serde_json::json!({ "owner": owner, "name": name }))
            .await?;
        let what = "the GraphQL query for the signatures of the pull request's commits";
        let Some(repository) = data.get("repository").filter(|r| r.is_object()) else {
            return Err(Fatal::new(format!(
                "GitHub found no repository {repo} for {what}"
            )));
        };
        for (i, sha) in chunk.iter().enumerate() {
            let node = repository.get(format!("c{i}")).unwrap_or(&Value::Null);
            if node.is_null() {
                return Err(Fatal::new(format!(
                    "GitHub does not know commit {sha} of the pull request in {repo}; who wrote it cannot be proved"
                )));
            }
            let commit: GqlCommit = decode(node, &format!("{what} (commit {sha})"))?;
            if commit.oid.0 != *sha {
                return Err(Fatal::new(format!(
                    "GitHub answered about commit {} when asked about {sha}",
                    commit.oid.0
                )));
            }
            if let Some(signature) = commit.signature {
                found.insert(sha.clone(), signature.into_facts());
            }
        }
    }
    Ok(found)
}

/// What is asked of a commit's signature (GraphQL `GitSignature`).
pub(crate) const SIGNATURE: &str = "isValid wasSignedByGitHub signer { login }";

/// A `GitSignature`, as [`SIGNATURE`] asks for it.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct GqlSignature {
    is_valid: bool,
    was_signed_by_git_hub: bool,
    signer: Option<GqlSigner>,
}

#[derive(Deserialize)]
struct GqlSigner {
    login: String,
}

impl GqlSignature {
    pub(crate) fn into_facts(self) -> Signature {
        Signature {
            valid: self.is_valid,
            by_github: self.was_signed_by_git_hub,
            signer: self.signer.map(|s| s.login),
        }
    }
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
pub(crate) async fn resolve_teams(
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
    /// `User`, `Bot`, `Organization`, `Mannequin`.
    #[serde(rename = "type")]
    kind: Option<String>,
}

impl ApiUser {
    /// The login, a bot's as `name[bot]` whatever the API calls it.
    fn name(self) -> String {
        if self.kind.as_deref() == Some("Bot") && !crate::rules::approval::is_bot(&self.login) {
            format!("{}[bot]", self.login)
        } else {
            self.login
        }
    }
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
            author: self
                .user
                .map_or_else(|| String::from("ghost"), ApiUser::name),
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
    /// The account of its committer e-mail (null when it matches none).
    committer: Option<ApiUser>,
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
    #[expect(dead_code, reason = "read only to refuse an answer without it")]
    sha: Sha,
}

impl ApiCommit {
    fn attribution(&self) -> Attribution {
        Attribution {
            sha: self.sha.0.clone(),
            author: self.author.as_ref().map(|a| a.login.clone()),
            associated: self
                .author
                .iter()
                .chain(self.committer.iter())
                .map(|u| u.login.to_lowercase())
                .collect(),
        }
    }

    /// The commit, with no account: e-mails prove none ([`prove`] does).
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
            parents: self.parents.len(),
            stage: Stage::PullRequest,
            ..Commit::default()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::{Signature, proved};

    fn signed(valid: bool, by_github: bool, signer: Option<&str>) -> Signature {
        Signature {
            valid,
            by_github,
            signer: signer.map(str::to_owned),
        }
    }

    #[test]
    fn an_account_is_proved_by_its_own_signature_or_the_pull_request_only() {
        let own = signed(true, false, Some("Release-Bot"));
        assert_eq!(
            proved(Some("release-bot"), Some(&own), "dev").as_deref(),
            Some("release-bot")
        );
        assert_eq!(
            proved(Some("dev"), None, "DEV").as_deref(),
            Some("dev"),
            "the pull request's author"
        );
        for (signature, why) in [
            (None, "an e-mail alone"),
            (
                Some(signed(false, false, Some("release-bot"))),
                "an invalid signature",
            ),
            (
                Some(signed(true, false, Some("mallory"))),
                "someone else's signature",
            ),
            (
                Some(signed(true, false, None)),
                "a signer GitHub does not know",
            ),
            (
                Some(signed(true, true, Some("release-bot"))),
                "GitHub's web-flow signature",
            ),
        ] {
            assert_eq!(
                proved(Some("release-bot"), signature.as_ref(), "dev"),
                None,
                "{why}"
            );
        }
        assert_eq!(
            proved(None, Some(&own), "dev"),
            None,
            "no account attributed"
        );
    }
}
