//! The audit's release evidence: for every commit of the range, the pull
//! request that brought it, re-judged as it stood at merge time with the
//! policy of the commit its merge landed on (the merge commit's first
//! parent) and, where it differs, the policy of its base commit: the
//! stricter outcome stands.

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::rc::Rc;

use git2::{Oid, Repository};

use super::{Failure, Global};
use crate::cli::AuditArgs;
use crate::engine::{Interner, needs};
use crate::evidence::{Change, Evidence, Verdict};
use crate::facts::MergedPullRequest;
use crate::policy::{EvidenceMode, Policy, PolicySource, SubjectKind, load};
use crate::sources::evidence::{self as api, CONCURRENCY, Cache, CommitOrigin, PullRef};
use crate::sources::github::{self, GitHub};
use crate::sources::policy_of_record::{Found, PolicyReader};
use crate::sources::{Fatal, pull_request};

/// Whether the audit owes evidence: the policy has `pull_request` rules
/// (or asks for it), and does not turn it off.
pub(crate) fn due(policy: &Policy) -> bool {
    match policy.audit.evidence.as_ref().map(|e| e.value) {
        Some(EvidenceMode::Off) => false,
        Some(_) => true,
        None => policy.rules_on(SubjectKind::PullRequest).next().is_some(),
    }
}

/// What the audit asks evidence of: the commits of the range (sha,
/// subject), in its order; the repository (OWNER/NAME) when known; the
/// accounts exempt from pull requests.
pub(crate) struct Range<'a> {
    pub(crate) repository: Option<String>,
    pub(crate) commits: &'a [(String, String)],
    pub(crate) exempt: &'a [String],
}

/// The evidence, and what the reader should know about how it was read.
pub(crate) struct Gathered {
    pub(crate) evidence: Evidence,
    pub(crate) notes: Vec<String>,
}

/// Gathers and judges the evidence of a range.
pub(crate) fn gather(
    global: &Global,
    git: &Repository,
    args: &AuditArgs,
    range: Range<'_>,
) -> Result<Gathered, Failure> {
    let settings = github::Settings::from_env()?;
    let not_checked = |why: &str| Gathered {
        evidence: Evidence::NotChecked(why.to_owned()),
        notes: Vec::new(),
    };
    let Some(_token) = settings.token.as_deref() else {
        return Ok(not_checked(
            "there is no GitHub token (GITHUB_TOKEN) to read the pull requests with",
        ));
    };
    let Some(name) = range.repository else {
        return Ok(not_checked(
            "the GitHub repository is not known (pass --repo OWNER/NAME)",
        ));
    };
    let longest_wait = github::seconds_from_env("GIT_POLICY_LONGEST_WAIT", 60.0, 0.0, 3600.0)?;
    let github::Connection { runtime, mut gh } = settings.connect()?;
    let _inside = runtime.enter();
    gh.wait_for_rate_limits_up_to(longest_wait);
    let (cache, mut notes) = open_cache(args);
    let bar = progress(range.commits.len());
    let work = Work {
        global,
        git,
        gh: &gh,
        repo: &name,
        cache: cache.as_ref(),
        policies: RefCell::default(),
        teams: RefCell::default(),
        notes: RefCell::default(),
        bar: &bar,
    };
    let changes = runtime.block_on(judge_range(&work, args, range.commits, range.exempt));
    bar.finish_and_clear();
    notes.extend(work.notes.take());
    if std::env::var_os("GIT_POLICY_REPORT_REQUESTS").is_some() {
        notes.push(format!(
            "release evidence: {} GitHub requests",
            gh.requests.load(std::sync::atomic::Ordering::Relaxed)
        ));
    }
    Ok(Gathered {
        evidence: Evidence::Checked(changes?),
        notes,
    })
}

/// The cache of merged pull requests, unless `--no-cache`; one that cannot
/// be opened is a note, and every pull request is read from GitHub.
fn open_cache(args: &AuditArgs) -> (Option<Cache>, Vec<String>) {
    if args.no_cache {
        return (None, Vec::new());
    }
    let Some(dir) = args.cache.clone().or_else(api::default_dir) else {
        return (None, Vec::new());
    };
    match Cache::open(&dir) {
        Ok(cache) => (Some(cache), Vec::new()),
        Err(why) => (
            None,
            vec![format!("{why}; every pull request is read from GitHub")],
        ),
    }
}

/// The pull requests that brought commits of the range, by number, with
/// the commits each brought.
type ByPull = BTreeMap<u64, (PullRef, Vec<String>)>;

/// Each commit's pull request: merged, with its merge commit in the range,
/// into one of the given branches; the one that merged it first. The
/// commits no such pull request brought are direct pushes (with their index).
fn brought_by<'o>(
    origins: &'o [CommitOrigin],
    in_range: &HashSet<&str>,
    args: &AuditArgs,
) -> (ByPull, Vec<(usize, &'o CommitOrigin)>) {
    // Each commit's pull request: merged, with its merge commit in the
    // range, into one of the given branches; the one that merged it first.
    let mut by_pull = ByPull::new();
    let mut direct: Vec<(usize, &CommitOrigin)> = Vec::new();
    for (i, origin) in origins.iter().enumerate() {
        let brought = origin
            .pulls
            .iter()
            .filter(|p| p.merged_at.is_some())
            .filter(|p| {
                p.merge_commit
                    .as_deref()
                    .is_some_and(|m| in_range.contains(m))
            })
            .filter(|p| args.branch.is_empty() || args.branch.contains(&p.base))
            .min_by_key(|p| {
                (
                    p.merge_commit.as_deref() != Some(origin.sha.as_str()),
                    p.number,
                )
            });
        match brought {
            Some(pull) => by_pull
                .entry(pull.number)
                .or_insert_with(|| (pull.clone(), Vec::new()))
                .1
                .push(origin.sha.clone()),
            None => direct.push((i, origin)),
        }
    }
    (by_pull, direct)
}

/// A commit pushed without a pull request: exempt only when an exempt
/// account's own valid signature proves it.
fn direct_change(title: &str, origin: &CommitOrigin, exempt: &[String]) -> Change {
    // The account is proved only by its own valid signature, not by
    // the author e-mail nor by GitHub's web-flow signature (which an API
    // caller gets with an author of their choosing).
    let proved = pull_request::proved(origin.account.as_deref(), origin.signature.as_ref(), "");
    let account_exempt = proved
        .as_deref()
        .is_some_and(|a| exempt.iter().any(|e| e.eq_ignore_ascii_case(a)));
    Change {
        title: title.to_owned(),
        commits: vec![origin.sha.clone()],
        author: origin.account.clone(),
        verdict: Some(if account_exempt {
            Verdict::Exempt
        } else {
            Verdict::PushedDirectly
        }),
        signed: origin.signed,
        ..Change::default()
    }
}

/// What every pull request's judgement shares.
struct Work<'a> {
    global: &'a Global,
    git: &'a Repository,
    gh: &'a GitHub,
    repo: &'a str,
    cache: Option<&'a Cache>,
    /// Policies by the texts of their files (most pull requests share one).
    policies: RefCell<HashMap<Vec<(String, String)>, Loaded>>,
    /// Members of `github:` teams, by `org/slug`.
    teams: RefCell<HashMap<String, Vec<String>>>,
    notes: RefCell<Vec<String>>,
    bar: &'a indicatif::ProgressBar,
}

async fn judge_range(
    work: &Work<'_>,
    args: &AuditArgs,
    commits: &[(String, String)],
    exempt: &[String],
) -> Result<Vec<Change>, Failure> {
    use futures_util::stream::{StreamExt, TryStreamExt};
    let shas: Vec<String> = commits.iter().map(|(s, _)| s.clone()).collect();
    let in_range: HashSet<&str> = shas.iter().map(String::as_str).collect();
    work.bar
        .set_message("finding the pull request of each commit");
    let origins = api::origins(work.gh, work.repo, &shas, &|n| work.bar.inc(n as u64)).await?;
    let (by_pull, mut direct) = brought_by(&origins, &in_range, args);
    let pulls = read_pulls(work, by_pull, commits.len()).await?;
    let reads = pulls.into_iter().map(|pull| judge_pull(work, pull));
    let credited: Vec<Credited> = futures_util::stream::iter(reads)
        .buffered(CONCURRENCY)
        .try_collect()
        .await?;
    // A commit GitHub associates with a pull request that did not bring it
    // reached the branch some other way: it is judged as a direct push.
    let mut changes = Vec::with_capacity(credited.len());
    for Credited { change, uncredited } in credited {
        for sha in uncredited {
            if let Some(found) = origins.iter().enumerate().find(|(_, o)| o.sha == sha) {
                direct.push(found);
            }
        }
        changes.push(change);
    }
    direct.sort_by_key(|(i, _)| *i);
    for (i, origin) in direct {
        changes.push(direct_change(&commits[i].1, origin, exempt));
    }
    oldest_first(&mut changes, &shas);
    Ok(changes)
}

/// Oldest first (the walk gives the newest first): by each change's oldest commit.
fn oldest_first(changes: &mut [Change], shas: &[String]) {
    let position: HashMap<&str, usize> = shas
        .iter()
        .enumerate()
        .map(|(i, s)| (s.as_str(), i))
        .collect();
    changes.sort_by_key(|c| {
        std::cmp::Reverse(
            c.commits
                .iter()
                .filter_map(|s| position.get(s.as_str()))
                .max()
                .copied(),
        )
    });
}

/// A merged pull request that brought commits of the range, with its facts
/// as read.
struct Pull {
    pull: PullRef,
    merged: MergedPullRequest,
    /// The facts came from the cache.
    from_cache: bool,
    /// Its files and commits as GraphQL listed them.
    listed: Option<pull_request::Listed>,
    /// The commits of the range it brought.
    shas: Vec<String>,
}

/// A merged pull request's facts as read, from the cache or GitHub.
struct Read {
    merged: MergedPullRequest,
    from_cache: bool,
    listed: Option<pull_request::Listed>,
}

/// Each pull request's facts: from the cache, else read from GitHub in
/// batches (one GraphQL query per 25 pull requests).
async fn read_pulls(
    work: &Work<'_>,
    by_pull: ByPull,
    commits: usize,
) -> Result<Vec<Pull>, Failure> {
    let mut known: HashMap<u64, Read> = HashMap::new();
    let mut unread: Vec<u64> = Vec::new();
    for (number, (pull, _)) in &by_pull {
        match cached(work, *number, pull)? {
            Some(merged) => {
                known.insert(
                    *number,
                    Read {
                        merged,
                        from_cache: true,
                        listed: None,
                    },
                );
            }
            None => unread.push(*number),
        }
    }
    work.bar
        .set_length((commits + unread.len() + by_pull.len()) as u64);
    work.bar
        .set_message(format!("reading {} merged pull requests", unread.len()));
    for (merged, listed) in
        api::merged_pulls(work.gh, work.repo, &unread, &|n| work.bar.inc(n as u64)).await?
    {
        let read = Read {
            merged,
            from_cache: false,
            listed,
        };
        known.insert(read.merged.number, read);
    }
    work.bar
        .set_message(format!("re-judging {} merged pull requests", by_pull.len()));
    let mut pulls = Vec::with_capacity(by_pull.len());
    for (number, (pull, shas)) in by_pull {
        let Some(read) = known.remove(&number) else {
            return Err(Fatal::new(format!("pull request #{number} was not read")).into());
        };
        pulls.push(Pull {
            pull,
            merged: read.merged,
            from_cache: read.from_cache,
            listed: read.listed,
            shas,
        });
    }
    Ok(pulls)
}

/// A pull request's facts from the cache, when it holds them; a cache that
/// cannot be read is a note.
fn cached(
    work: &Work<'_>,
    number: u64,
    pull: &PullRef,
) -> Result<Option<MergedPullRequest>, Failure> {
    // Only merged pull requests whose merge commit is in the range get here.
    let Some(merge) = pull.merge_commit.as_deref() else {
        return Err(Fatal::new(format!(
            "pull request #{number} has no merge commit: it cannot be judged as merged"
        ))
        .into());
    };
    let Some(cache) = work.cache else {
        return Ok(None);
    };
    match cache.get(work.repo, number, merge, &pull.head_sha) {
        Ok(found) => Ok(found),
        Err(why) => {
            work.notes.borrow_mut().push(why);
            Ok(None)
        }
    }
}

/// One pull request's change, and the commits GitHub associates with it
/// that it did not bring.
struct Credited {
    change: Change,
    uncredited: Vec<String>,
}

/// One merged pull request: its facts (cache or API), the policies it is
/// judged by, and the stricter of their verdicts on it as it stood at merge.
async fn judge_pull(work: &Work<'_>, read: Pull) -> Result<Credited, Failure> {
    let Pull {
        pull,
        mut merged,
        from_cache,
        listed,
        shas,
    } = read;
    let Some(merge) = pull.merge_commit.clone() else {
        return Err(Fatal::new(format!(
            "pull request #{} has no merge commit: it cannot be judged as merged",
            pull.number
        ))
        .into());
    };
    if merged.merge_commit_sha != merge {
        return Err(Fatal::new(format!(
            "GitHub gives pull request #{} two merge commits ({merge} and {})",
            pull.number, merged.merge_commit_sha
        ))
        .into());
    }
    let candidates = candidates(work, &merged, &merge).await?;
    let wanted = wanted(&candidates);
    if !from_cache || (wanted.changes && !merged.commit_changes) {
        complete(work, &mut merged, wanted, listed).await?;
    }
    let (shas_in, uncredited) = credit(work.git, &merged, shas)?;
    let mut judged: Vec<Change> = Vec::with_capacity(candidates.len());
    for (sha, policy) in &candidates {
        let mut change = match policy.as_ref() {
            None => row_without_policy(&merged, shas_in.clone(), Verdict::NoPolicy),
            Some(loaded) => match loaded.as_ref() {
                Err(_) => row_without_policy(&merged, shas_in.clone(), Verdict::NotJudged),
                Ok(policy) => judge_merged(work, policy, &merged, shas_in.clone()).await?,
            },
        };
        change.policy_commit = Some(sha.clone());
        judged.push(change);
    }
    work.bar.inc(1);
    // The first of the most severe outcomes: the policy of record's on a tie.
    let mut chosen = 0;
    for (i, change) in judged.iter().enumerate() {
        if severity(change.verdict()) > severity(judged[chosen].verdict()) {
            chosen = i;
        }
    }
    Ok(Credited {
        change: judged.swap_remove(chosen),
        uncredited,
    })
}

/// The policies a merged pull request is judged by, each with the commit
/// it was read at. The policy of record is the one at the merge's first
/// parent (what the merge landed on); GitHub's `baseRefOid` may be older.
/// Where the two differ, the stricter outcome stands.
async fn candidates(
    work: &Work<'_>,
    merged: &MergedPullRequest,
    merge: &str,
) -> Result<Vec<(String, Rc<Option<Loaded>>)>, Failure> {
    let mut shas = vec![merged.base_sha.clone()];
    if let Some(parent) = first_parent(work.git, merge)?
        && !parent.eq_ignore_ascii_case(&merged.base_sha)
    {
        shas.insert(0, parent);
    }
    let mut candidates: Vec<(String, Rc<Option<Loaded>>)> = Vec::new();
    for sha in shas {
        let policy = policy_at(work, &sha).await?;
        let same = candidates
            .iter()
            .any(|(_, known)| match (known.as_ref(), policy.as_ref()) {
                (None, None) => true,
                (Some(a), Some(b)) => Rc::ptr_eq(a, b),
                _ => false,
            });
        if !same {
            candidates.push((sha, policy));
        }
    }
    Ok(candidates)
}

/// What the valid policies among `candidates` need gathered of the commits.
fn wanted(candidates: &[(String, Rc<Option<Loaded>>)]) -> pull_request::CommitFacts {
    let mut wanted = pull_request::CommitFacts::default();
    let policies = candidates
        .iter()
        .filter_map(|(_, p)| p.as_ref().as_ref())
        .filter_map(|loaded| loaded.as_ref().as_ref().ok());
    for policy in policies {
        let commit_needs = needs(policy, SubjectKind::Commit);
        wanted.changes |= commit_needs.changed_files;
        wanted.accounts |= commit_needs.commit_accounts;
        wanted.writers |= needs(policy, SubjectKind::PullRequest).commit_writers;
    }
    wanted
}

/// The merged pull request's files and commits as they stood at merge (the
/// files and commits GraphQL listed serve when the clone lacks them); then
/// kept in the cache.
async fn complete(
    work: &Work<'_>,
    merged: &mut MergedPullRequest,
    wanted: pull_request::CommitFacts,
    listed: Option<pull_request::Listed>,
) -> Result<(), Failure> {
    let mut at_merge = merged.at_merge();
    // Its notes are the live pull request's ("read through the API"); the
    // evidence says nothing of how each merged one was read.
    let _read =
        pull_request::complete_from(work.gh, Some(work.git), &mut at_merge, wanted, listed).await?;
    merged.changed = at_merge.changed;
    merged.commits = at_merge.commits;
    merged.changed_since = at_merge.changed_since;
    merged.commit_changes = wanted.changes;
    if let Some(cache) = work.cache
        && let Err(why) = cache.put(merged)
    {
        work.notes.borrow_mut().push(why);
    }
    Ok(())
}

/// Which of `shas` (the commits GitHub associates with a merged pull
/// request) the pull request brought: its merge commit, one of its own
/// commits, or one of the commits a rebase merge made of them (on the merge
/// commit's first-parent line, at most as many as it has commits, each with
/// the subject and author of one of its commits). Returns (credited, not).
fn credit(
    git: &Repository,
    merged: &MergedPullRequest,
    shas: Vec<String>,
) -> Result<(Vec<String>, Vec<String>), Failure> {
    let own: HashSet<String> = merged
        .commits
        .iter()
        .filter_map(|c| c.sha.as_deref())
        .map(str::to_ascii_lowercase)
        .collect();
    let made_of_them = rebased(git, merged)?;
    Ok(shas.into_iter().partition(|sha| {
        let sha = sha.to_ascii_lowercase();
        sha.eq_ignore_ascii_case(&merged.merge_commit_sha)
            || own.contains(&sha)
            || made_of_them.contains(&sha)
    }))
}

/// The commits a rebase merge made of the pull request's commits: from the
/// merge commit back along first parents, while each one is a single-parent
/// commit with the subject and author e-mail of one of its commits, at most
/// as many as it has.
fn rebased(git: &Repository, merged: &MergedPullRequest) -> Result<HashSet<String>, Failure> {
    // A commit whose author e-mail is unknown (or empty) matches nothing:
    // an empty e-mail on both sides proves no rebase.
    let mut originals: Vec<(String, String)> = merged
        .commits
        .iter()
        .filter_map(|c| {
            let email = c.author_email.as_deref().filter(|e| !e.is_empty())?;
            Some((
                c.message.lines().next().unwrap_or("").trim().to_owned(),
                email.to_lowercase(),
            ))
        })
        .collect();
    let mut found = HashSet::new();
    let Ok(mut oid) = Oid::from_str(&merged.merge_commit_sha) else {
        return Ok(found);
    };
    while !originals.is_empty() {
        let Ok(commit) = git.find_commit(oid) else {
            break;
        };
        if commit.parent_count() != 1 {
            break;
        }
        let subject = String::from_utf8_lossy(commit.message_bytes())
            .lines()
            .next()
            .unwrap_or("")
            .trim()
            .to_owned();
        let email = String::from_utf8_lossy(commit.author().email_bytes()).to_lowercase();
        let Some(at) = originals
            .iter()
            .position(|(s, e)| *s == subject && *e == email)
        else {
            break;
        };
        originals.swap_remove(at);
        found.insert(oid.to_string());
        let Ok(parent) = commit.parent_id(0) else {
            break;
        };
        oid = parent;
    }
    Ok(found)
}

/// How far an outcome is from "through the gate", to pick the stricter of two.
fn severity(verdict: Verdict) -> u8 {
    match verdict {
        Verdict::Passed | Verdict::Exempt => 0,
        Verdict::Expedited => 1,
        Verdict::NoPolicy => 2,
        Verdict::PushedDirectly => 3,
        Verdict::NotJudged => 4,
        Verdict::Failed => 5,
    }
}

/// The first parent of a merge commit of the range (in the clone).
fn first_parent(git: &Repository, merge: &str) -> Result<Option<String>, Failure> {
    let commit = Oid::from_str(merge)
        .ok()
        .and_then(|oid| git.find_commit(oid).ok())
        .ok_or_else(|| {
            Fatal::new(format!(
                "the merge commit {merge} is not in the clone, though the range holds it"
            ))
        })?;
    Ok(commit.parent_ids().next().map(|p| p.to_string()))
}

/// One merged pull request judged by one policy, as it stood at merge.
async fn judge_merged(
    work: &Work<'_>,
    policy: &Policy,
    merged: &MergedPullRequest,
    shas: Vec<String>,
) -> Result<Change, Failure> {
    let mut pr = merged.at_merge();
    let pr_needs = needs(policy, SubjectKind::PullRequest);
    for team in pr_needs.teams.union(&pr_needs.grant_teams) {
        if let Some(members) = team_members(work, policy, team).await? {
            pr.team_members.insert(team.clone(), members);
        }
    }
    let judged = super::check_pr::judge(policy, &pr, &mut Interner::default());
    Ok(crate::evidence::pull_request_change(
        policy,
        merged,
        &pr,
        &judged.findings,
        shas,
    ))
}

fn row_without_policy(merged: &MergedPullRequest, shas: Vec<String>, verdict: Verdict) -> Change {
    let pr = merged.at_merge();
    Change {
        pull_request: Some(merged.number),
        title: pr.title,
        commits: shas,
        merge_commit: Some(merged.merge_commit_sha.clone()),
        base: Some(merged.base.clone()),
        head: Some(pr.head),
        author: Some(merged.author.clone()),
        merged_by: merged.merged_by.clone(),
        merged_at: Some(merged.merged_at.clone()),
        policy_commit: Some(merged.base_sha.clone()),
        verdict: Some(verdict),
        ..Change::default()
    }
}

type Loaded = Rc<Result<Policy, String>>;

/// The policy at a base commit ([`PolicyReader::at`]): `None` when it has
/// none; an invalid one is `Some(Err)`. Loaded once per distinct set of files.
async fn policy_at(work: &Work<'_>, sha: &str) -> Result<Rc<Option<Loaded>>, Failure> {
    let reader = PolicyReader {
        gh: work.gh,
        git: Some(work.git),
        repo: work.repo,
        given: &work.global.policies,
    };
    Ok(Rc::new(match reader.at(sha).await? {
        Found::Given(sources) | Found::AtCommit(sources) => Some(load_once(work, sources)),
        Found::Absent => None,
    }))
}

fn load_once(work: &Work<'_>, sources: Vec<PolicySource>) -> Loaded {
    let key = super::check_pr::texts(&sources);
    if let Some(known) = work.policies.borrow().get(&key) {
        return known.clone();
    }
    // Compiled before judging, as `check pr` does: a set that cannot be
    // built makes the policy invalid (not judged), never a set matching nothing.
    let kinds = [
        crate::policy::SubjectKind::PullRequest,
        crate::policy::SubjectKind::Commit,
        crate::policy::SubjectKind::Branch,
    ];
    let loaded = Rc::new(
        load(sources)
            .map_err(|invalid| invalid.errors.len())
            .and_then(|policy| policy.prepare(&kinds).map(|()| policy).map_err(|e| e.len()))
            .map_err(|problems| format!("invalid policy ({problems} problem(s))")),
    );
    work.policies.borrow_mut().insert(key, loaded.clone());
    loaded
}

/// Members of a `github:` team, read once per run. A team that cannot be
/// read stops the audit: the verdict of every pull request it gates would
/// be unknown.
async fn team_members(
    work: &Work<'_>,
    policy: &Policy,
    team: &str,
) -> Result<Option<Vec<String>>, Failure> {
    let Some(slug) = policy
        .definitions
        .teams
        .get(team)
        .and_then(|t| t.github.as_ref())
        .map(|g| g.value.clone())
    else {
        return Ok(None);
    };
    if let Some(members) = work.teams.borrow().get(&slug) {
        return Ok(Some(members.clone()));
    }
    let wanted: BTreeSet<String> = std::iter::once(team.to_owned()).collect();
    let mut read = pull_request::resolve_teams(work.gh, policy, &wanted).await?;
    // Never "no members" for a team that was not in the answer: that is an
    // unread fact, and stops the audit like a team that cannot be read.
    let members = read.remove(team).ok_or_else(|| {
        Fatal::new(format!(
            "the members of team `{team}` (GitHub team `{slug}`) were not read"
        ))
    })?;
    work.teams.borrow_mut().insert(slug, members.clone());
    Ok(Some(members))
}

/// A bar on stderr while the evidence is read; hidden unless stderr is a terminal.
fn progress(commits: usize) -> indicatif::ProgressBar {
    if !super::stderr_is_terminal() {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::new(commits as u64);
    if let Ok(style) = indicatif::ProgressStyle::with_template("{bar:30} {pos}/{len} {msg}") {
        bar.set_style(style);
    }
    bar
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A commit with no author e-mail on the branch and one with an empty
    /// e-mail on `main` are not a rebase of each other.
    #[test]
    fn a_commit_without_an_author_email_is_no_rebase() {
        let dir = tempfile::tempdir().unwrap();
        let repo = Repository::init(dir.path()).unwrap();
        // libgit2 writes no empty e-mail, git's raw objects may hold one.
        let tree = repo.treebuilder(None).unwrap().write().unwrap();
        let raw = |parent: Option<Oid>, subject: &str| {
            let parent = parent.map_or(String::new(), |p| format!("parent {p}\n"));
            let text = format!(
                "tree {tree}\n{parent}author X <> 1700000000 +0000\ncommitter X <> 1700000000 +0000\n\n{subject}\n"
            );
            repo.odb()
                .unwrap()
                .write(git2::ObjectType::Commit, text.as_bytes())
                .unwrap()
        };
        let first = raw(None, "EPL-1 base");
        let merge = raw(Some(first), "EPL-2 change");
        let tree = repo.find_tree(tree).unwrap();
        let parent = repo.find_commit(first).unwrap();
        let commit = |email: Option<&str>| crate::facts::Commit {
            sha: Some(format!("{:040x}", 7)),
            message: String::from("EPL-2 change"),
            author_email: email.map(str::to_owned),
            ..crate::facts::Commit::default()
        };
        for email in [None, Some("")] {
            let merged = MergedPullRequest {
                merge_commit_sha: merge.to_string(),
                commits: vec![commit(email)],
                ..MergedPullRequest::default()
            };
            assert!(
                rebased(&repo, &merged).ok().unwrap().is_empty(),
                "{email:?}"
            );
        }
        // The same commit with an e-mail on both sides is one.
        let signature =
            git2::Signature::new("X", "x@example.com", &git2::Time::new(1_700_000_000, 0)).unwrap();
        let merge = repo
            .commit(
                None,
                &signature,
                &signature,
                "EPL-2 change",
                &tree,
                &[&parent],
            )
            .unwrap();
        let merged = MergedPullRequest {
            merge_commit_sha: merge.to_string(),
            commits: vec![commit(Some("X@example.com"))],
            ..MergedPullRequest::default()
        };
        assert_eq!(rebased(&repo, &merged).ok().unwrap().len(), 1);
    }
}
