//! All the facts about one pull request: the API for what only GitHub knows
//! (the live pull request, reviews, teams), git for what the clone holds
//! (changed files, commits), the API again when the clone lacks them.

use std::collections::{BTreeMap, BTreeSet};

use futures_util::future::try_join_all;
use git2::{Oid, Repository};
use serde_json::Value;

use super::Fatal;
use super::git;
use super::github::GitHub;
use crate::facts::{ChangedPath, Commit, PullRequest, Review};
use crate::policy::{Policy, SubjectKind};

/// GitHub lists at most this many files of a pull request.
pub const FILES_CAP: usize = 3000;

/// The live pull request and its reviews (one round of requests).
pub async fn read(gh: &GitHub, repo: &str, number: u64) -> Result<PullRequest, Fatal> {
    let (pr_path, reviews_path) = (
        format!("/repos/{repo}/pulls/{number}"),
        format!("/repos/{repo}/pulls/{number}/reviews"),
    );
    let (pr, reviews) = futures_util::try_join!(gh.get(&pr_path), gh.all(&reviews_path))?;
    let mut pr = pull_request_from_json(&pr.0, repo)?;
    pr.reviews = reviews.iter().filter_map(review_from_json).collect();
    Ok(pr)
}

/// Fills in changed files and commits: from git when the clone has both
/// commits, else from the API. `notes` collects what the reader should know.
pub async fn complete(
    gh: &GitHub,
    git: Option<&Repository>,
    pr: &mut PullRequest,
    notes: &mut Vec<String>,
) -> Result<(), Fatal> {
    let local = git.filter(|r| has_commit(r, &pr.head_sha) && has_commit(r, &pr.base_sha));
    if let Some(repo) = local {
        pr.changed = git::changes_between(repo, &pr.base_sha, &pr.head_sha, true)?;
        let range = format!("{}..{}", pr.base_sha, pr.head_sha);
        let mut commits = Vec::new();
        for commit in git::history(repo, &range, None, false)? {
            commits.push(commit?.decode()?);
        }
        commits.reverse();
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
    let (files, commits) = futures_util::try_join!(gh.all(&files_path), gh.all(&commits_path))?;
    if files.len() >= FILES_CAP {
        return Err(Fatal::new(format!(
            "pull request {repo}#{number} changes {} or more files, GitHub's limit for listing them; the list would be incomplete",
            FILES_CAP
        ))
        .help("check out the repository with its history (actions/checkout with `fetch-depth: 0`) so git-policy reads the changes from git"));
    }
    pr.changed = files.iter().filter_map(changed_from_json).collect();
    pr.commits = commits.iter().filter_map(commit_from_json).collect();
    notes.push(String::from(
        "changed files and commits were read through the API: the clone does not hold both the base and head commits (actions/checkout with `fetch-depth: 0` lets git-policy use git)",
    ));
    Ok(())
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
            let github = policy.teams.get(name)?.github.as_ref()?;
            Some((name.clone(), github.value.clone()))
        })
        .collect();
    let reads = wanted.iter().map(|(name, github)| async move {
        let (org, slug) = github.split_once('/').unwrap_or((github.as_str(), ""));
        let members = gh.all(&format!("/orgs/{org}/teams/{slug}/members")).await.map_err(|f| Fatal {
            message: format!("cannot read the members of team `{name}` ({github}): {}", f.message),
            help: Some(String::from(
                "the workflow's default GITHUB_TOKEN cannot read org teams: list the team's `members` in the policy, or pass a token with members:read (a GitHub App or fine-grained token) as `token`",
            )),
        })?;
        let logins = members.iter().filter_map(|m| m.get("login").and_then(Value::as_str).map(str::to_owned)).collect();
        Ok::<_, Fatal>((name.clone(), logins))
    });
    Ok(try_join_all(reads).await?.into_iter().collect())
}

/// Team names used by approval requirements of rules on pull requests.
pub fn approval_teams<'a>(
    rules: impl Iterator<Item = &'a crate::policy::Rule>,
) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for rule in rules.filter(|r| r.on.iter().any(|o| o.value == SubjectKind::PullRequest)) {
        if let Some(approval) = &rule.require.approval {
            for group in &approval.value.groups {
                out.extend(group.teams.iter().map(|t| t.value.clone()));
            }
        }
    }
    out
}

fn has_commit(repo: &Repository, sha: &str) -> bool {
    Oid::from_str(sha)
        .ok()
        .is_some_and(|oid| repo.find_commit(oid).is_ok())
}

fn text(value: &Value, pointer: &str) -> Option<String> {
    value
        .pointer(pointer)
        .and_then(Value::as_str)
        .map(str::to_owned)
}

/// The facts of a pull request from `GET /repos/{repo}/pulls/{n}`.
pub fn pull_request_from_json(v: &Value, repo: &str) -> Result<PullRequest, Fatal> {
    let missing = |what: &str| {
        Fatal::new(format!(
            "GitHub's answer for the pull request lacks `{what}`"
        ))
        .help("re-run the job; if it persists, GitHub is failing")
    };
    Ok(PullRequest {
        repo: repo.to_owned(),
        number: v
            .get("number")
            .and_then(Value::as_u64)
            .ok_or_else(|| missing("number"))?,
        title: text(v, "/title").ok_or_else(|| missing("title"))?,
        // GitHub sends null for an empty description.
        body: text(v, "/body").unwrap_or_default(),
        // Absent in answers older than drafts: not a draft.
        draft: v.get("draft").and_then(Value::as_bool).unwrap_or(false),
        labels: v
            .get("labels")
            .and_then(Value::as_array)
            .map(|ls| {
                ls.iter()
                    .filter_map(|l| l.get("name").and_then(Value::as_str).map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default(),
        author: text(v, "/user/login").ok_or_else(|| missing("user.login"))?,
        base: text(v, "/base/ref").ok_or_else(|| missing("base.ref"))?,
        head: text(v, "/head/ref").ok_or_else(|| missing("head.ref"))?,
        base_sha: text(v, "/base/sha").ok_or_else(|| missing("base.sha"))?,
        head_sha: text(v, "/head/sha").ok_or_else(|| missing("head.sha"))?,
        milestone: text(v, "/milestone/title"),
        ..PullRequest::default()
    })
}

pub fn review_from_json(v: &Value) -> Option<Review> {
    Some(Review {
        // A deleted account shows as null; GitHub calls it "ghost".
        author: text(v, "/user/login").unwrap_or_else(|| String::from("ghost")),
        state: text(v, "/state")?,
        commit: text(v, "/commit_id").unwrap_or_default(),
    })
}

pub fn changed_from_json(v: &Value) -> Option<ChangedPath> {
    Some(ChangedPath {
        path: text(v, "/filename")?,
        previous: text(v, "/previous_filename"),
    })
}

pub fn commit_from_json(v: &Value) -> Option<Commit> {
    Some(Commit {
        sha: text(v, "/sha"),
        message: text(v, "/commit/message")?,
        author_name: text(v, "/commit/author/name"),
        author_email: text(v, "/commit/author/email"),
        parents: v
            .get("parents")
            .and_then(Value::as_array)
            .map_or(1, Vec::len),
        branch: None,
        changed: None,
    })
}
