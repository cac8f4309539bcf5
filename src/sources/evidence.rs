//! Release evidence from GitHub: which pull request brought each commit of
//! a range (GraphQL, 100 commits a query), what each merged pull request
//! was (GraphQL, 25 pull requests a query, with their reviews and label
//! and title events), and a disk cache of merged pull requests (their facts
//! before the merge no longer change).

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_json::Value;

use super::Fatal;
use super::github::{GitHub, MAX_ITEMS, Sha, decode};
use super::pull_request::{
    COMMITS_CAP, FILES_CAP, GqlSignature, Listed, SIGNATURE, Signature, proved,
};
use crate::facts::{ChangedPath, Commit, MergedPullRequest, Stage};

/// Commits asked about in one GraphQL query (aliases `c0`..`c99`).
pub(crate) const BATCH: usize = 100;
/// Requests (or pull requests being read) in flight at once: GitHub asks
/// integrations not to send many concurrent requests (secondary rate limits).
pub(crate) const CONCURRENCY: usize = 4;
/// Pull requests GraphQL lists per commit before the REST list is read instead.
const ASSOCIATED: usize = 5;

/// What GitHub says about one commit of the range.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct CommitOrigin {
    pub(crate) sha: String,
    /// The account GitHub attributes the commit to (from its author e-mail,
    /// which proves nothing on its own: see `signature`).
    pub(crate) account: Option<String>,
    /// GitHub verified the commit's signature (by anyone).
    pub(crate) signed: bool,
    /// The signature as GitHub verified it: who signed, and whether it is
    /// GitHub's own web-flow signature.
    pub(crate) signature: Option<Signature>,
    /// Pull requests associated with it (merged or not).
    pub(crate) pulls: Vec<PullRef>,
}

/// A pull request associated with a commit.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct PullRef {
    pub(crate) number: u64,
    pub(crate) merged_at: Option<String>,
    pub(crate) base: String,
    pub(crate) merge_commit: Option<String>,
    pub(crate) head_sha: String,
}

/// The origin of each of `shas`, in order: one GraphQL query per
/// [`BATCH`] commits, [`CONCURRENCY`] at a time. `done` is told how many
/// commits were answered.
pub(crate) async fn origins(
    gh: &GitHub,
    repo: &str,
    shas: &[String],
    done: &(dyn Fn(usize) + Sync),
) -> Result<Vec<CommitOrigin>, Fatal> {
    use futures_util::stream::{StreamExt, TryStreamExt};
    let (owner, name) = repo.split_once('/').unwrap_or((repo, ""));
    let batches = shas.chunks(BATCH).map(|chunk| async move {
        let found = batch(gh, owner, name, chunk).await?;
        done(chunk.len());
        Ok::<_, Fatal>(found)
    });
    let answered: Vec<Vec<CommitOrigin>> = futures_util::stream::iter(batches)
        .buffered(CONCURRENCY)
        .try_collect()
        .await?;
    let mut all: Vec<CommitOrigin> = answered.into_iter().flatten().collect();
    // A commit with more associated pull requests than GraphQL listed: its
    // REST list, read whole.
    let partial: Vec<usize> = all
        .iter()
        .enumerate()
        .filter(|(_, o)| o.pulls.len() >= ASSOCIATED)
        .map(|(i, _)| i)
        .collect();
    let reads = partial.iter().map(|&i| {
        let sha = all[i].sha.clone();
        async move { Ok::<_, Fatal>((i, pulls_of(gh, repo, &sha).await?)) }
    });
    let listed: Vec<(usize, Vec<PullRef>)> = futures_util::stream::iter(reads)
        .buffered(CONCURRENCY)
        .try_collect()
        .await?;
    for (i, pulls) in listed {
        all[i].pulls = pulls;
    }
    Ok(all)
}

#[derive(Deserialize)]
struct GqlCommit {
    oid: Sha,
    author: Option<GqlActor>,
    signature: Option<GqlSignature>,
    #[serde(rename = "associatedPullRequests")]
    associated: GqlPulls,
}

#[derive(Deserialize)]
struct GqlActor {
    user: Option<GqlUser>,
}

#[derive(Deserialize)]
struct GqlUser {
    login: String,
}

#[derive(Deserialize)]
struct GqlPulls {
    #[serde(rename = "totalCount")]
    total_count: usize,
    nodes: Vec<GqlPull>,
}

#[derive(Deserialize)]
struct GqlPull {
    number: u64,
    #[serde(rename = "mergedAt")]
    merged_at: Option<String>,
    #[serde(rename = "baseRefName")]
    base_ref_name: String,
    #[serde(rename = "headRefOid")]
    head_ref_oid: Sha,
    #[serde(rename = "mergeCommit")]
    merge_commit: Option<GqlOid>,
}

#[derive(Deserialize)]
struct GqlOid {
    oid: Sha,
}

/// The GraphQL query for a batch: `owner`, `name` and every sha are checked
/// before they are written into it (GitHub names and hex digits only).
pub(crate) fn query(owner: &str, name: &str, shas: &[String]) -> String {
    let mut q = format!("query {{ repository(owner: \"{owner}\", name: \"{name}\") {{\n");
    for (i, sha) in shas.iter().enumerate() {
        q.push_str(&format!(
            "  c{i}: object(oid: \"{sha}\") {{ ... on Commit {{ oid author {{ user {{ login }} }} signature {{ {SIGNATURE} }} associatedPullRequests(first: {ASSOCIATED}) {{ totalCount nodes {{ number mergedAt baseRefName headRefOid mergeCommit {{ oid }} }} }} }} }}\n"
        ));
    }
    q.push_str("} }");
    q
}

async fn batch(
    gh: &GitHub,
    owner: &str,
    name: &str,
    shas: &[String],
) -> Result<Vec<CommitOrigin>, Fatal> {
    if let Some(bad) = shas.iter().find(|s| !Sha::is_valid(s)) {
        return Err(Fatal::new(format!("`{bad}` is not a commit id")));
    }
    let data = gh.graphql(&query(owner, name, shas)).await?;
    let what = "the GraphQL query for the range's pull requests";
    let Some(repository) = data.get("repository").filter(|r| r.is_object()) else {
        return Err(Fatal::new(format!(
            "GitHub found no repository {owner}/{name} for {what}"
        ))
        .help("check --repo; a token without access to a private repository sees nothing"));
    };
    let mut out = Vec::with_capacity(shas.len());
    for (i, sha) in shas.iter().enumerate() {
        let node = repository.get(format!("c{i}")).unwrap_or(&Value::Null);
        if node.is_null() {
            return Err(Fatal::new(format!(
                "GitHub does not know commit {sha} of the range in {owner}/{name}"
            ))
            .help("push the branch before auditing it, or audit a range of commits GitHub has"));
        }
        let commit: GqlCommit = decode(node, &format!("{what} (commit {sha})"))?;
        if commit.oid.0 != *sha {
            return Err(Fatal::new(format!(
                "GitHub answered about commit {} when asked about {sha}",
                commit.oid.0
            ))
            .help("re-run the audit; if it persists, the API (or a proxy in front of it) is misbehaving"));
        }
        let listed = commit.associated.nodes.len();
        let mut pulls: Vec<PullRef> = commit
            .associated
            .nodes
            .into_iter()
            .map(|p| PullRef {
                number: p.number,
                merged_at: p.merged_at,
                base: p.base_ref_name,
                merge_commit: p.merge_commit.map(|m| m.oid.0),
                head_sha: p.head_ref_oid.0,
            })
            .collect();
        let signature = commit.signature.map(GqlSignature::into_facts);
        if commit.associated.total_count > listed {
            // Marks the commit for its REST list (`origins`).
            pulls.resize(ASSOCIATED.max(listed), PullRef::default());
        }
        out.push(CommitOrigin {
            sha: sha.clone(),
            account: commit.author.and_then(|a| a.user).map(|u| u.login),
            signed: signature.as_ref().is_some_and(|s| s.valid),
            signature,
            pulls,
        });
    }
    Ok(out)
}

/// Every pull request associated with a commit, through REST
/// (`GET /repos/{repo}/commits/{sha}/pulls`, every page).
async fn pulls_of(gh: &GitHub, repo: &str, sha: &str) -> Result<Vec<PullRef>, Fatal> {
    #[derive(Deserialize)]
    struct Pull {
        number: u64,
        merged_at: Option<String>,
        merge_commit_sha: Option<Sha>,
        base: Ref,
        head: Ref,
    }
    #[derive(Deserialize)]
    struct Ref {
        #[serde(rename = "ref")]
        name: String,
        sha: Sha,
    }
    let path = format!("/repos/{repo}/commits/{sha}/pulls");
    let listed: Vec<Pull> = decode(
        &Value::Array(gh.all(&path, MAX_ITEMS).await?),
        &format!("GET {path}"),
    )?;
    Ok(listed
        .into_iter()
        .map(|p| {
            let _ = p.base.sha;
            PullRef {
                number: p.number,
                merged_at: p.merged_at,
                base: p.base.name,
                merge_commit: p.merge_commit_sha.map(|s| s.0),
                head_sha: p.head.sha.0,
            }
        })
        .collect())
}

/// Pull requests read in one GraphQL query (aliases `p<number>`). With
/// files, commits (and two parents each), reviews and timeline events asked
/// 100 at a time, a query asks for at most 25 × (1 + 4 × 100 + 2 × 100) =
/// 15,025 nodes (GitHub's limit: 500,000) and costs GitHub's rate limit
/// about one point.
pub(crate) const PULLS_PER_QUERY: usize = 25;
/// Items of a connection asked for at a time (GraphQL's `first`: 100 at most).
const PAGE: usize = 100;
/// Pages of one connection read at most: 10,000 items, as the REST lists.
const MAX_PAGES: usize = MAX_ITEMS / PAGE;

// GitHub's limits: 100 items a page, 500,000 nodes a query (kept far below).
const _: () = assert!(PAGE <= 100 && PULLS_PER_QUERY * (1 + 6 * PAGE) < 500_000 / 20);

/// What is asked of each review.
const REVIEWS: &str = "totalCount pageInfo { hasNextPage endCursor } nodes { author { __typename login } state submittedAt commit { oid } }";
/// What is asked of the timeline: label changes, title changes, milestone
/// changes and force-pushes.
const TIMELINE: &str = "pageInfo { hasNextPage endCursor } nodes { __typename ... on LabeledEvent { actor { __typename login } createdAt label { name } } ... on UnlabeledEvent { actor { __typename login } createdAt label { name } } ... on RenamedTitleEvent { createdAt previousTitle currentTitle } ... on MilestonedEvent { createdAt milestoneTitle } ... on DemilestonedEvent { createdAt milestoneTitle } ... on HeadRefForcePushedEvent { createdAt } }";
const TIMELINE_TYPES: &str = "itemTypes: [LABELED_EVENT, UNLABELED_EVENT, RENAMED_TITLE_EVENT, MILESTONED_EVENT, DEMILESTONED_EVENT, HEAD_REF_FORCE_PUSHED_EVENT]";
/// What is asked of each changed file.
const FILES: &str = "totalCount pageInfo { hasNextPage endCursor } nodes { path changeType }";
/// What is asked of each commit (as REST's commit list gives it), with
/// what proves who made it (its signature) and its committer date.
const COMMITS: &str = "totalCount pageInfo { hasNextPage endCursor } nodes { commit { oid message committedDate parents(first: 2) { totalCount } author { name email user { login } } committer { user { login } } signature { isValid wasSignedByGitHub signer { login } } } }";

/// The GraphQL query for a batch of merged pull requests: the fields, the
/// first 100 reviews and the first 100 label and title events of each.
/// Only numbers are written into it; the repository goes in variables.
pub(crate) fn pulls_query(numbers: &[u64]) -> String {
    let mut q = String::from(
        "query($owner: String!, $name: String!) { repository(owner: $owner, name: $name) {\n",
    );
    for n in numbers {
        q.push_str(&format!("  p{n}: pullRequest(number: {n}) {{ ...Pull }}\n"));
    }
    q.push_str("} }\n");
    q.push_str(&format!(
        "fragment Pull on PullRequest {{ number title body author {{ __typename login }} baseRefName headRefName baseRefOid headRefOid milestone {{ title }} lastEditedAt mergedAt mergedBy {{ __typename login }} mergeCommit {{ oid }} changedFiles files(first: {PAGE}) {{ {FILES} }} commits(first: {PAGE}) {{ {COMMITS} }} reviews(first: {PAGE}) {{ {REVIEWS} }} timelineItems(first: {PAGE}, {TIMELINE_TYPES}) {{ {TIMELINE} }} }}\n"
    ));
    q
}

/// The merged pull requests `numbers` (each brought a commit of the range),
/// [`PULLS_PER_QUERY`] a GraphQL query, [`CONCURRENCY`] queries at a time;
/// a pull request with more than 100 reviews or timeline events is paged
/// on, never cut short. `done` is told how many were read.
pub(crate) async fn merged_pulls(
    gh: &GitHub,
    repo: &str,
    numbers: &[u64],
    done: &(dyn Fn(usize) + Sync),
) -> Result<Vec<(MergedPullRequest, Option<Listed>)>, Fatal> {
    use futures_util::stream::{StreamExt, TryStreamExt};
    let batches = numbers.chunks(PULLS_PER_QUERY).map(|chunk| async move {
        let read = pull_batch(gh, repo, chunk).await?;
        done(chunk.len());
        Ok::<_, Fatal>(read)
    });
    let read: Vec<Vec<(MergedPullRequest, Option<Listed>)>> = futures_util::stream::iter(batches)
        .buffered(CONCURRENCY)
        .try_collect()
        .await?;
    Ok(read.into_iter().flatten().collect())
}

/// An actor's login as REST writes it: GraphQL names a GitHub App's bot
/// `name`, REST `name[bot]`; a deleted account (null) is `ghost`.
#[derive(Deserialize)]
struct GqlLogin {
    #[serde(rename = "__typename")]
    typename: String,
    login: String,
}

fn login(actor: Option<GqlLogin>) -> String {
    match actor {
        None => String::from("ghost"),
        Some(a) if a.typename == "Bot" && !a.login.ends_with("[bot]") => {
            format!("{}[bot]", a.login)
        }
        Some(a) => a.login,
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct GqlPullRequest {
    number: u64,
    title: String,
    body: String,
    author: Option<GqlLogin>,
    base_ref_name: String,
    head_ref_name: String,
    base_ref_oid: Sha,
    head_ref_oid: Sha,
    milestone: Option<GqlMilestone>,
    /// When the description was last edited (`None`: never).
    last_edited_at: Option<String>,
    merged_at: Option<String>,
    merged_by: Option<GqlLogin>,
    merge_commit: Option<GqlOid>,
    changed_files: u64,
    files: GqlPage<GqlFile>,
    commits: GqlPage<GqlPullCommit>,
    reviews: GqlPage<GqlReview>,
    timeline_items: GqlPage<Value>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct GqlFile {
    path: String,
    change_type: String,
}

#[derive(Deserialize)]
struct GqlPullCommit {
    commit: GqlCommitDetail,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct GqlCommitDetail {
    oid: Sha,
    message: String,
    /// `None`: a time that cannot be read (no grant covers the commit).
    committed_date: Option<String>,
    parents: GqlCount,
    author: Option<GqlGitActor>,
    committer: Option<GqlCommitter>,
    signature: Option<GqlSignature>,
}

#[derive(Deserialize)]
struct GqlCommitter {
    user: Option<GqlUser>,
}

#[derive(Deserialize)]
struct GqlGitActor {
    name: Option<String>,
    email: Option<String>,
    user: Option<GqlUser>,
}

#[derive(Deserialize)]
struct GqlMilestone {
    title: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct GqlCount {
    total_count: u64,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct GqlPage<T> {
    /// Asked of reviews only.
    total_count: Option<usize>,
    page_info: GqlPageInfo,
    nodes: Vec<T>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct GqlPageInfo {
    has_next_page: bool,
    end_cursor: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct GqlReview {
    author: Option<GqlLogin>,
    state: GqlReviewState,
    submitted_at: Option<String>,
    commit: Option<GqlOid>,
}

/// `PullRequestReviewState`: any other value is off the schema.
#[derive(Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
enum GqlReviewState {
    Approved,
    ChangesRequested,
    Commented,
    Dismissed,
    Pending,
}

impl GqlReviewState {
    fn name(&self) -> &'static str {
        match self {
            GqlReviewState::Approved => "APPROVED",
            GqlReviewState::ChangesRequested => "CHANGES_REQUESTED",
            GqlReviewState::Commented => "COMMENTED",
            GqlReviewState::Dismissed => "DISMISSED",
            GqlReviewState::Pending => "PENDING",
        }
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct GqlLabelled {
    actor: Option<GqlLogin>,
    created_at: String,
    label: GqlLabel,
}

#[derive(Deserialize)]
struct GqlLabel {
    name: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct GqlRenamed {
    created_at: String,
    previous_title: String,
    current_title: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct GqlMilestoned {
    created_at: String,
    milestone_title: String,
}

/// The two lists of a pull request that may need more than one page.
#[derive(Clone, Copy)]
enum Connection {
    Reviews,
    Timeline,
    Files,
    Commits,
}

impl Connection {
    fn field(self) -> &'static str {
        match self {
            Connection::Reviews => "reviews",
            Connection::Timeline => "timelineItems",
            Connection::Files => "files",
            Connection::Commits => "commits",
        }
    }
}

/// Every page after the first of one list of pull request `number`.
async fn rest_of<T: serde::de::DeserializeOwned>(
    gh: &GitHub,
    repo: &str,
    number: u64,
    connection: Connection,
    mut page: GqlPageInfo,
    into: &mut Vec<T>,
) -> Result<(), Fatal> {
    let (owner, name) = repo.split_once('/').unwrap_or((repo, ""));
    let field = connection.field();
    let (arguments, selection) = match connection {
        Connection::Reviews => (String::new(), REVIEWS),
        Connection::Timeline => (format!(", {TIMELINE_TYPES}"), TIMELINE),
        Connection::Files => (String::new(), FILES),
        Connection::Commits => (String::new(), COMMITS),
    };
    let query = format!(
        "query($owner: String!, $name: String!, $number: Int!, $after: String!) {{ repository(owner: $owner, name: $name) {{ pullRequest(number: $number) {{ {field}(first: {PAGE}, after: $after{arguments}) {{ {selection} }} }} }} }}"
    );
    let what = format!(
        "the {} of pull request {repo}#{number}",
        match connection {
            Connection::Reviews => "reviews",
            Connection::Timeline => "timeline",
            Connection::Files => "files",
            Connection::Commits => "commits",
        }
    );
    let mut pages = 1;
    while page.has_next_page {
        let Some(after) = page.end_cursor.take() else {
            return Err(Fatal::new(format!(
                "GitHub says {what} has another page but gives no cursor to it; the list cannot be read whole"
            ))
            .help("re-run the audit; if it persists, the API (or a proxy in front of it) is misbehaving"));
        };
        pages += 1;
        if pages > MAX_PAGES {
            return Err(Fatal::new(format!(
                "{what} has more than {MAX_PAGES} pages ({} items at most are read); the answer cannot be trusted",
                MAX_PAGES * PAGE
            )));
        }
        let data = gh
            .graphql_with(
                &query,
                serde_json::json!({ "owner": owner, "name": name, "number": number, "after": after }),
            )
            .await?;
        let node = data
            .get("repository")
            .and_then(|r| r.get("pullRequest"))
            .and_then(|p| p.get(field))
            .filter(|c| c.is_object())
            .ok_or_else(|| {
                Fatal::new(format!("GitHub's answer about {what} (page {pages}) has no `{field}`"))
                    .help("re-run the audit; if it persists, the API (or a proxy in front of it) is misbehaving")
            })?;
        let next: GqlPage<T> = decode(
            node,
            &format!("the GraphQL query for {what} (page {pages})"),
        )?;
        into.extend(next.nodes);
        page = next.page_info;
    }
    Ok(())
}

async fn pull_batch(
    gh: &GitHub,
    repo: &str,
    numbers: &[u64],
) -> Result<Vec<(MergedPullRequest, Option<Listed>)>, Fatal> {
    let (owner, name) = repo.split_once('/').unwrap_or((repo, ""));
    let data = gh
        .graphql_with(
            &pulls_query(numbers),
            serde_json::json!({ "owner": owner, "name": name }),
        )
        .await?;
    let what = "the GraphQL query for the range's merged pull requests";
    let Some(repository) = data.get("repository").filter(|r| r.is_object()) else {
        return Err(Fatal::new(format!(
            "GitHub found no repository {owner}/{name} for {what}"
        ))
        .help("check --repo; a token without access to a private repository sees nothing"));
    };
    let mut out = Vec::with_capacity(numbers.len());
    for &number in numbers {
        let node = repository.get(format!("p{number}")).unwrap_or(&Value::Null);
        if node.is_null() {
            return Err(Fatal::new(format!(
                "GitHub does not know pull request {repo}#{number}, yet it brought a commit of the range"
            ))
            .help("re-run the audit; if it persists, the API (or a proxy in front of it) is misbehaving"));
        }
        let pull: GqlPullRequest = decode(node, &format!("{what} (#{number})"))?;
        if pull.number != number {
            return Err(Fatal::new(format!(
                "GitHub answered about pull request #{} when asked about #{number}",
                pull.number
            ))
            .help("re-run the audit; if it persists, the API (or a proxy in front of it) is misbehaving"));
        }
        out.push(merged_from(gh, repo, pull).await?);
    }
    Ok(out)
}

/// What a pull request's timeline says happened to it before its merge.
struct Timeline {
    label_events: Vec<crate::facts::LabelEvent>,
    renames: Vec<crate::facts::Rename>,
    milestone_events: Vec<crate::facts::MilestoneEvent>,
    /// Pushes of code (`code_events` of the commits, and force-pushes).
    code_events: Vec<crate::facts::CodeEvent>,
}

/// The timeline's events as facts; an event of a kind not asked for is exit 2.
fn timeline(
    events: &[Value],
    repo: &str,
    number: u64,
    code_events: Vec<crate::facts::CodeEvent>,
) -> Result<Timeline, Fatal> {
    let mut label_events = Vec::new();
    let mut renames = Vec::new();
    let mut milestone_events = Vec::new();
    let mut code_events = code_events;
    for (i, event) in events.iter().enumerate() {
        let what = || format!("the timeline of pull request {repo}#{number} (event {i})");
        match event.get("__typename").and_then(Value::as_str) {
            Some(kind @ ("LabeledEvent" | "UnlabeledEvent")) => {
                let e: GqlLabelled = decode(event, &what())?;
                label_events.push(crate::facts::LabelEvent {
                    label: e.label.name,
                    actor: login(e.actor),
                    added: kind == "LabeledEvent",
                    at: e.created_at,
                });
            }
            Some(kind @ ("MilestonedEvent" | "DemilestonedEvent")) => {
                let e: GqlMilestoned = decode(event, &what())?;
                milestone_events.push(crate::facts::MilestoneEvent {
                    title: e.milestone_title,
                    added: kind == "MilestonedEvent",
                    at: e.created_at,
                });
            }
            Some("HeadRefForcePushedEvent") => {
                #[derive(Deserialize)]
                #[serde(rename_all = "camelCase")]
                struct GqlForcePushed {
                    created_at: String,
                }
                let e: GqlForcePushed = decode(event, &what())?;
                code_events.push(crate::facts::CodeEvent {
                    sha: None,
                    at: e.created_at,
                    forced: true,
                });
            }
            Some("RenamedTitleEvent") => {
                let e: GqlRenamed = decode(event, &what())?;
                renames.push(crate::facts::Rename {
                    from: e.previous_title,
                    to: e.current_title,
                    at: e.created_at,
                });
            }
            other => {
                return Err(Fatal::new(format!(
                    "GitHub's answer to {} is an event of a kind not asked for ({})",
                    what(),
                    crate::report::inert::one_line(&other.unwrap_or("none").chars().take(40).collect::<String>())
                ))
                .help("re-run the audit; if it persists, the API (or a proxy in front of it) is misbehaving"));
            }
        }
    }
    Ok(Timeline {
        label_events,
        renames,
        milestone_events,
        code_events,
    })
}

/// Every review of a pull request, its list read whole and counted (a list
/// cut short is exit 2).
async fn all_reviews(
    gh: &GitHub,
    repo: &str,
    number: u64,
    first: GqlPage<GqlReview>,
) -> Result<Vec<GqlReview>, Fatal> {
    let mut reviews = first.nodes;
    rest_of(
        gh,
        repo,
        number,
        Connection::Reviews,
        first.page_info,
        &mut reviews,
    )
    .await?;
    // Reviews are counted, so a list cut short is seen.
    let counted = first.total_count.ok_or_else(|| {
        Fatal::new(format!(
            "GitHub's answer about the reviews of pull request {repo}#{number} has no `totalCount`"
        ))
    })?;
    if reviews.len() != counted {
        return Err(Fatal::new(format!(
            "GitHub counts {counted} reviews of pull request {repo}#{number} but listed {}; its approvals cannot be told",
            reviews.len()
        ))
        .help("re-run the audit (a review may have been submitted or deleted meanwhile)"));
    }
    Ok(reviews)
}

/// One pull request's answer, its lists read whole, as facts.
async fn merged_from(
    gh: &GitHub,
    repo: &str,
    pull: GqlPullRequest,
) -> Result<(MergedPullRequest, Option<Listed>), Fatal> {
    let number = pull.number;
    let author = login(pull.author);
    let listed = listed(gh, repo, number, &author, pull.files, pull.commits).await?;
    let (Some(merged_at), Some(merge_commit)) = (pull.merged_at, pull.merge_commit) else {
        return Err(Fatal::new(format!(
            "GitHub says pull request {repo}#{number} is not merged, yet it brought a commit of the range"
        ))
        .help("re-run the audit; if it persists, the API (or a proxy in front of it) is misbehaving"));
    };
    let reviews = all_reviews(gh, repo, number, pull.reviews).await?;
    let mut events = pull.timeline_items.nodes;
    rest_of(
        gh,
        repo,
        number,
        Connection::Timeline,
        pull.timeline_items.page_info,
        &mut events,
    )
    .await?;
    let Timeline {
        label_events,
        renames,
        milestone_events,
        code_events,
    } = timeline(&events, repo, number, listed.2)?;
    let reviews: Vec<crate::facts::DatedReview> = reviews
        .into_iter()
        .map(|r| crate::facts::DatedReview {
            author: login(r.author),
            state: r.state.name().to_owned(),
            // No commit: the review is fresh for no head.
            commit: r.commit.map(|c| c.oid.0).unwrap_or_default(),
            submitted_at: r.submitted_at,
        })
        .collect();
    let mut times_read = vec![merged_at.as_str()];
    times_read.extend(pull.last_edited_at.as_deref());
    times_read.extend(reviews.iter().filter_map(|r| r.submitted_at.as_deref()));
    times_read.extend(label_events.iter().map(|e| e.at.as_str()));
    times_read.extend(renames.iter().map(|r| r.at.as_str()));
    times_read.extend(milestone_events.iter().map(|e| e.at.as_str()));
    if let Some(bad) = times_read
        .iter()
        .find(|t| chrono::DateTime::parse_from_rfc3339(t).is_err())
    {
        return Err(Fatal::new(format!(
            "GitHub's answers about pull request {repo}#{number} hold a time that is not ISO 8601 (`{}`); what happened before the merge cannot be told",
            crate::report::inert::one_line(&bad.chars().take(40).collect::<String>())
        ))
        .help("re-run the audit; if it persists, the API (or a proxy in front of it) is misbehaving"));
    }
    // A description edited after the merge (or in its second: not proved
    // before it) is not the one the gate judged, and GitHub's API keeps no
    // earlier text to read instead.
    let body_edited_at = pull
        .last_edited_at
        .filter(|edited| !crate::facts::strictly_before(edited, &merged_at));
    let merged = MergedPullRequest {
        repo: repo.to_owned(),
        number,
        title: pull.title,
        body: pull.body,
        body_edited_at,
        author,
        base: pull.base_ref_name,
        head: pull.head_ref_name,
        base_sha: pull.base_ref_oid.0,
        head_sha: pull.head_ref_oid.0,
        milestone: pull.milestone.map(|m| m.title),
        merged_at,
        merged_by: pull.merged_by.map(|a| login(Some(a))),
        merge_commit_sha: merge_commit.oid.0,
        declared_commits: listed.1 as u64,
        declared_files: pull.changed_files,
        reviews,
        label_events,
        code_events,
        renames,
        milestone_events,
        ..MergedPullRequest::default()
    };
    Ok((merged, listed.0))
}

/// One commit of a pull request's GraphQL list as facts: its account only
/// as proved (see [`proved`]).
fn commit_facts(c: GqlPullCommit, pr_author: &str) -> Commit {
    let c = c.commit;
    let author = c.author;
    let attributed = author
        .as_ref()
        .and_then(|a| a.user.as_ref())
        .map(|u| u.login.clone());
    let signature = c.signature.map(GqlSignature::into_facts);
    let associated = attributed
        .iter()
        .cloned()
        .chain(c.committer.and_then(|c| c.user).map(|u| u.login))
        .map(|l| l.to_lowercase())
        .collect();
    Commit {
        sha: Some(c.oid.0),
        // git shows a message up to its first NUL.
        message: match c.message.split_once('\0') {
            Some((shown, _)) => shown.to_owned(),
            None => c.message,
        },
        author_name: author.as_ref().and_then(|a| a.name.clone()),
        author_email: author.as_ref().and_then(|a| a.email.clone()),
        account: proved(attributed.as_deref(), signature.as_ref(), pr_author),
        associated: Some(associated),
        parents: c.parents.total_count as usize,
        stage: Stage::PullRequest,
        ..Commit::default()
    }
}

/// A pull request's files and commits, read whole, as REST's lists give
/// them; `None` where only REST gives the same facts (a renamed or copied
/// file: REST names its previous path; more than GitHub lists). A commit
/// whose author is no GitHub user may be a bot's, which REST names and
/// GraphQL does not: then the accounts are not exact. With the number of
/// commits GitHub counts, and when each commit was committed (its git date).
async fn listed(
    gh: &GitHub,
    repo: &str,
    number: u64,
    pr_author: &str,
    files: GqlPage<GqlFile>,
    commits: GqlPage<GqlPullCommit>,
) -> Result<(Option<Listed>, usize, Vec<crate::facts::CodeEvent>), Fatal> {
    let (Some(file_count), Some(commit_count)) = (files.total_count, commits.total_count) else {
        return Err(Fatal::new(format!(
            "GitHub's answer about the files and commits of pull request {repo}#{number} has no `totalCount`"
        )));
    };
    if file_count > FILES_CAP || commit_count > COMMITS_CAP {
        // Not judged from these lists; no grant covers unknown code.
        let unknown = crate::facts::CodeEvent::default();
        return Ok((None, commit_count, vec![unknown]));
    }
    let mut file_nodes = files.nodes;
    rest_of(
        gh,
        repo,
        number,
        Connection::Files,
        files.page_info,
        &mut file_nodes,
    )
    .await?;
    let mut commit_nodes = commits.nodes;
    rest_of(
        gh,
        repo,
        number,
        Connection::Commits,
        commits.page_info,
        &mut commit_nodes,
    )
    .await?;
    if file_nodes.len() != file_count || commit_nodes.len() != commit_count {
        return Err(Fatal::new(format!(
            "GitHub counts {file_count} files and {commit_count} commits of pull request {repo}#{number} but listed {} and {}; its changes cannot be told",
            file_nodes.len(),
            commit_nodes.len()
        ))
        .help("re-run the audit; if it persists, the API (or a proxy in front of it) is misbehaving"));
    }
    let plain = |f: &GqlFile| {
        matches!(
            f.change_type.as_str(),
            "ADDED" | "DELETED" | "MODIFIED" | "CHANGED"
        )
    };
    let named = |c: &GqlPullCommit| {
        c.commit
            .author
            .as_ref()
            .is_some_and(|a| a.name.is_some() && a.email.is_some())
    };
    // When each commit was committed: a grant covers only code pushed
    // before it, so a commit without its date is refused, never dated "".
    let code_events = commit_nodes
        .iter()
        .map(|c| {
            let at = c.commit.committed_date.clone().ok_or_else(|| {
                Fatal::new(format!(
                    "GitHub's answer about commit {} of pull request {repo}#{number} has no `committedDate`",
                    crate::text::short_sha(&c.commit.oid.0)
                ))
                .help("re-run the audit; if it persists, the API (or a proxy in front of it) is misbehaving")
            })?;
            Ok(crate::facts::CodeEvent {
                sha: Some(c.commit.oid.0.clone()),
                at,
                forced: false,
            })
        })
        .collect::<Result<Vec<crate::facts::CodeEvent>, Fatal>>()?;
    if !file_nodes.iter().all(plain) || !commit_nodes.iter().all(named) {
        return Ok((None, commit_count, code_events));
    }
    let accounts_exact = commit_nodes
        .iter()
        .all(|c| c.commit.author.as_ref().is_some_and(|a| a.user.is_some()));
    let changed = file_nodes
        .into_iter()
        .map(|f| ChangedPath {
            path: f.path,
            previous: None,
        })
        .collect();
    let commits = commit_nodes
        .into_iter()
        .map(|c| commit_facts(c, pr_author))
        .collect();
    Ok((
        Some(Listed {
            changed,
            commits,
            accounts_exact,
        }),
        commit_count,
        code_events,
    ))
}

/// Merged pull requests kept on disk, one JSON file each, keyed by
/// repository, number, merge commit and head commit. An entry is read only
/// when it is a regular file of this user that no one else may write, and
/// it decodes whole, matches its key and holds well-formed facts; anything
/// else is ignored (and read again from GitHub), never trusted.
pub(crate) struct Cache {
    dir: PathBuf,
}

/// Version of the entries' format; entries of another are ignored.
/// 3: a commit's `account` is the proved one, with `associated` accounts,
/// and the pull request's `code_events`.
const FORMAT: u32 = 3;
/// Largest entry read back.
const MAX_ENTRY_BYTES: u64 = 64 * 1024 * 1024;

#[derive(serde::Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Entry {
    format: u32,
    pull: MergedPullRequest,
}

/// The default cache folder. Under GitHub Actions: `$RUNNER_TEMP/git-policy/evidence`,
/// which is private to the job (the runner empties it for each job), never a
/// folder an earlier job of a self-hosted runner could have written; no
/// cache when `RUNNER_TEMP` is not set. Elsewhere:
/// `$XDG_CACHE_HOME/git-policy/evidence`, else `~/.cache/git-policy/evidence`
/// (`%LOCALAPPDATA%` on Windows).
pub(crate) fn default_dir() -> Option<PathBuf> {
    default_dir_in(|name| std::env::var_os(name))
}

fn default_dir_in(env: impl Fn(&str) -> Option<std::ffi::OsString>) -> Option<PathBuf> {
    let var = |name: &str| {
        env(name)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
            .filter(|p| p.is_absolute())
    };
    let base = if env("GITHUB_ACTIONS").is_some_and(|v| v == "true") {
        var("RUNNER_TEMP")?
    } else {
        var("XDG_CACHE_HOME")
            .or_else(|| var("HOME").map(|h| h.join(".cache")))
            .or_else(|| var("LOCALAPPDATA"))?
    };
    Some(base.join("git-policy").join("evidence"))
}

impl Cache {
    /// The cache in `dir`, made (private to this user) if need be.
    pub(crate) fn open(dir: &Path) -> Result<Cache, String> {
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("cannot create the cache folder `{}`: {e}", dir.display()))?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let _ = std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700));
        }
        Ok(Cache {
            dir: dir.to_path_buf(),
        })
    }

    fn path(&self, repo: &str, number: u64, merge: &str, head: &str) -> PathBuf {
        self.dir
            .join(repo.replace('/', "+"))
            .join(format!("{number}-{merge}-{head}.json"))
    }

    /// The entry for this pull request, if one is there and sound; `Err`
    /// says why an entry that is there was ignored.
    pub(crate) fn get(
        &self,
        repo: &str,
        number: u64,
        merge: &str,
        head: &str,
    ) -> Result<Option<MergedPullRequest>, String> {
        let path = self.path(repo, number, merge, head);
        let Ok(meta) = std::fs::symlink_metadata(&path) else {
            return Ok(None);
        };
        let why = |reason: &str| format!("cache entry `{}` ignored: {reason}", path.display());
        if !meta.is_file() {
            return Err(why("not a regular file"));
        }
        if meta.len() > MAX_ENTRY_BYTES {
            return Err(why("too large"));
        }
        #[cfg(unix)]
        {
            use std::os::unix::fs::MetadataExt;
            // SAFETY: getuid has no preconditions and cannot fail.
            let me = unsafe { libc::getuid() };
            if meta.uid() != me || meta.mode() & 0o022 != 0 {
                return Err(why("another user owns it or may write it"));
            }
        }
        let bytes = std::fs::read(&path).map_err(|e| why(&e.to_string()))?;
        let entry: Entry = serde_json::from_slice(&bytes).map_err(|e| why(&e.to_string()))?;
        if entry.format != FORMAT {
            return Err(why("written by another version"));
        }
        let pull = entry.pull;
        if pull.repo != repo
            || pull.number != number
            || pull.merge_commit_sha != merge
            || pull.head_sha != head
        {
            return Err(why("it is about another pull request"));
        }
        sound(&pull).map_err(|reason| why(&reason))?;
        Ok(Some(pull))
    }

    /// Keeps a merged pull request (written whole, then renamed into place).
    pub(crate) fn put(&self, pull: &MergedPullRequest) -> Result<(), String> {
        let path = self.path(
            &pull.repo,
            pull.number,
            &pull.merge_commit_sha,
            &pull.head_sha,
        );
        let fail = |e: std::io::Error| format!("cannot write `{}`: {e}", path.display());
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(fail)?;
        }
        let entry = Entry {
            format: FORMAT,
            pull: pull.clone(),
        };
        let bytes = serde_json::to_vec(&entry).map_err(|e| e.to_string())?;
        let temporary = path.with_extension(format!("tmp{}", std::process::id()));
        std::fs::write(&temporary, bytes).map_err(fail)?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&temporary, std::fs::Permissions::from_mode(0o600))
                .map_err(fail)?;
        }
        std::fs::rename(&temporary, &path).map_err(fail)
    }
}

/// The checks GitHub's answers passed when first read.
fn sound(pull: &MergedPullRequest) -> Result<(), String> {
    let time = |t: &str| chrono::DateTime::parse_from_rfc3339(t).is_ok();
    let shas = [&pull.base_sha, &pull.head_sha, &pull.merge_commit_sha];
    if shas.iter().any(|s| !Sha::is_valid(s)) {
        return Err(String::from("a commit id is malformed"));
    }
    if !time(&pull.merged_at)
        || pull
            .reviews
            .iter()
            .any(|r| r.submitted_at.as_deref().is_some_and(|t| !time(t)))
        || pull.label_events.iter().any(|e| !time(&e.at))
        || pull.renames.iter().any(|r| !time(&r.at))
    {
        return Err(String::from("a time is malformed"));
    }
    if pull
        .commits
        .iter()
        .any(|c| !c.sha.as_deref().is_some_and(Sha::is_valid))
    {
        return Err(String::from("a commit of the pull request has no valid id"));
    }
    if pull.commits.len() as u64 != pull.declared_commits && pull.commits.len() < 250 {
        return Err(String::from("its commits are fewer than it declares"));
    }
    let seen: HashSet<&str> = pull
        .commits
        .iter()
        .filter_map(|c| c.sha.as_deref())
        .collect();
    if seen.len() != pull.commits.len() {
        return Err(String::from("a commit is listed twice"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn under_actions_the_cache_is_the_jobs_own_temporary_folder() {
        fn env(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<std::ffi::OsString> {
            move |name: &str| {
                vars.iter()
                    .find(|(k, _)| *k == name)
                    .map(|(_, v)| std::ffi::OsString::from(v))
            }
        }
        let actions = [
            ("GITHUB_ACTIONS", "true"),
            ("RUNNER_TEMP", "/runner/_temp"),
            ("HOME", "/home/runner"),
            ("XDG_CACHE_HOME", "/shared/cache"),
        ];
        assert_eq!(
            default_dir_in(env(&actions)),
            Some(PathBuf::from("/runner/_temp/git-policy/evidence"))
        );
        // Under Actions without RUNNER_TEMP: no cache, not the home folder
        // a self-hosted runner keeps between jobs.
        let without = [("GITHUB_ACTIONS", "true"), ("HOME", "/home/runner")];
        assert_eq!(default_dir_in(env(&without)), None);
        let local = [("HOME", "/home/dev"), ("RUNNER_TEMP", "/tmp/x")];
        assert_eq!(
            default_dir_in(env(&local)),
            Some(PathBuf::from("/home/dev/.cache/git-policy/evidence"))
        );
    }

    #[test]
    fn a_query_names_each_commit_by_alias() {
        let shas = vec!["a".repeat(40), "b".repeat(40)];
        let q = query("octo", "app", &shas);
        assert!(q.starts_with("query { repository(owner: \"octo\", name: \"app\")"));
        assert!(q.contains(&format!("c1: object(oid: \"{}\")", "b".repeat(40))));
        assert!(q.contains("associatedPullRequests(first: 5)"));
    }

    #[test]
    fn a_pull_request_query_asks_for_each_by_alias_and_pages_its_lists() {
        let q = pulls_query(&[3, 14]);
        assert!(q.contains("repository(owner: $owner, name: $name)"));
        assert!(q.contains("  p3: pullRequest(number: 3) { ...Pull }\n"));
        assert!(q.contains("  p14: pullRequest(number: 14) { ...Pull }\n"));
        assert!(q.contains("reviews(first: 100) { totalCount pageInfo { hasNextPage endCursor }"));
        assert!(q.contains(
            "timelineItems(first: 100, itemTypes: [LABELED_EVENT, UNLABELED_EVENT, RENAMED_TITLE_EVENT, MILESTONED_EVENT, DEMILESTONED_EVENT, HEAD_REF_FORCE_PUSHED_EVENT]) { pageInfo { hasNextPage endCursor }"
        ));
    }

    #[test]
    fn a_bot_is_named_as_rest_names_it() {
        let actor = |typename: &str, login: &str| {
            Some(GqlLogin {
                typename: typename.to_owned(),
                login: login.to_owned(),
            })
        };
        assert_eq!(login(actor("Bot", "renovate")), "renovate[bot]");
        assert_eq!(login(actor("User", "renovate")), "renovate");
        assert_eq!(login(None), "ghost");
    }
}
