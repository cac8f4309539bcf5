//! Plain data gathered by `sources` and judged by the engine. Deserializable
//! so fixtures can state facts directly.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::fmt;

/// A file changed by a pull request or commit. A rename carries both paths.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct ChangedPath {
    pub(crate) path: String,
    pub(crate) previous: Option<String>,
}

impl ChangedPath {
    pub fn new(path: impl Into<String>) -> Self {
        Self {
            path: path.into(),
            previous: None,
        }
    }

    /// The new path, and the old one for a rename.
    pub(crate) fn paths(&self) -> impl Iterator<Item = &str> {
        std::iter::once(self.path.as_str()).chain(self.previous.as_deref())
    }
}

/// One commit: from a commit-msg file (no sha yet) or from history.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct Commit {
    pub sha: Option<String>,
    /// The cleaned message: comments and scissors removed.
    pub message: String,
    pub(crate) author_name: Option<String>,
    pub(crate) author_email: Option<String>,
    /// The GitHub account proved to have authored the commit: the account
    /// GitHub attributes it to (from its author e-mail, which anyone can
    /// type) counts only when a valid signature by that same account, not
    /// GitHub's own web-flow signature, or the pull request (its author is
    /// that account) proves it. `None`: not read, unknown or unproved.
    pub(crate) account: Option<String>,
    /// Every account GitHub associates with the commit (its author and
    /// committer, proved or not), lower case; `None`: not read.
    pub(crate) associated: Option<Vec<String>>,
    /// Number of parents; two or more is a merge.
    pub parents: usize,
    /// The branch it is being committed on, when known (the commit-msg hook).
    pub(crate) branch: Option<String>,
    /// Files it changes, when gathered (only if a rule needs them).
    pub(crate) changed: Option<Vec<ChangedPath>>,
    /// Where the commit is judged: on the developer's machine, in a pull
    /// request, or in the history of a release.
    pub(crate) stage: Stage,
    /// Its message says `This reverts commit <sha>.` and that commit is in
    /// its history (verified by the source; `false` when it could not be).
    pub(crate) reverts_its_history: bool,
    /// What the trackers' APIs say about the tickets it names (`None`: not read).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) tracked: Option<std::sync::Arc<TrackerFacts>>,
}

/// Where a commit is judged; exemptions and identities depend on it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Stage {
    /// The commit-msg hook, `check commits` (pre-push): the developer's own
    /// work, where git's name fields identify the author.
    #[default]
    Local,
    /// A pull request's commits: `fixup!` commits are still to be squashed,
    /// and authors are GitHub accounts.
    PullRequest,
    /// Commits in the history of a release: nothing is squashed any more,
    /// and git's name fields prove nothing.
    History,
}

/// The commit a message says it reverts (`This reverts commit <sha>.`, as
/// `git revert` writes it), when it says so.
pub(crate) fn reverted_commit(message: &str) -> Option<&str> {
    message.lines().find_map(|line| {
        let rest = line.trim().strip_prefix("This reverts commit ")?;
        let sha = rest.trim_end_matches('.').trim();
        let sha = sha.split(|c: char| c == ',' || c.is_whitespace()).next()?;
        (matches!(sha.len(), 40 | 64) && sha.bytes().all(|b| b.is_ascii_hexdigit())).then_some(sha)
    })
}

impl Commit {
    pub(crate) fn subject(&self) -> &str {
        subject_of(&self.message)
    }

    /// Everything after the subject line.
    pub(crate) fn body(&self) -> &str {
        body_of(&self.message)
    }

    pub(crate) fn is_merge(&self) -> bool {
        self.parents > 1
    }

    /// Short sha for messages, or "the commit message" before it is committed.
    pub(crate) fn label(&self) -> String {
        match &self.sha {
            Some(sha) => format!("commit {}", crate::text::short_sha(sha)),
            None => String::from("the commit message"),
        }
    }
}

/// A branch, by name.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Branch {
    pub(crate) name: String,
}

/// A pull request as the API and git describe it.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PullRequest {
    /// `owner/name`.
    pub repo: String,
    pub number: u64,
    pub title: String,
    /// Empty when GitHub sends `null`.
    pub body: String,
    pub draft: bool,
    pub labels: Vec<String>,
    /// Login of the author.
    pub author: String,
    /// Target branch.
    pub base: String,
    /// Source branch.
    pub head: String,
    pub milestone: Option<String>,
    /// The milestone was not given (an offline event without `milestone`):
    /// neither set nor cleared is known.
    pub milestone_unknown: bool,
    pub changed: Vec<ChangedPath>,
    pub commits: Vec<Commit>,
    /// Head and base commits.
    pub head_sha: String,
    pub base_sha: String,
    /// Reviews in the order they were submitted.
    pub reviews: Vec<Review>,
    /// Members of teams given as `github: org/slug`, by policy team name,
    /// as read from the API. A team missing here could not be read.
    pub team_members: BTreeMap<String, Vec<String>>,
    /// Judged from an event payload alone (`check pr --offline`): reviews
    /// and API facts were not read.
    pub offline: bool,
    /// Labels applied and removed, in order (read when a rule needs to know
    /// who applied a label); `None`: not read.
    pub label_events: Option<Vec<LabelEvent>>,
    /// How many commits and changed files the API says the pull request has
    /// (lists read through the API must be this long).
    pub declared_commits: u64,
    pub declared_files: u64,
    /// Files changed between a reviewed commit and the head, by reviewed
    /// commit (for `fresh: paths`). A commit missing here could not be diffed.
    pub changed_since: BTreeMap<String, Vec<ChangedPath>>,
    /// When code reached the head branch, from the timeline (read with
    /// `label_events`): a grant given before it does not cover it.
    pub code_events: Vec<CodeEvent>,
    /// What the trackers' APIs say about the tickets it names (`None`: not read).
    pub tracked: Option<std::sync::Arc<TrackerFacts>>,
}

/// What the trackers' APIs answered about the tickets a run names: by
/// tracker name, then by ticket id as it was written. A ticket missing
/// here was not read (never "absent").
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct TrackerFacts {
    pub(crate) tickets: BTreeMap<String, BTreeMap<String, TicketState>>,
}

impl TrackerFacts {
    pub(crate) fn get(&self, tracker: &str, id: &str) -> Option<&TicketState> {
        self.tickets.get(tracker)?.get(id)
    }

    /// The types of every ticket found (kinds decided by ticket type).
    pub(crate) fn types(&self) -> impl Iterator<Item = &str> {
        self.tickets
            .values()
            .flat_map(BTreeMap::values)
            .filter_map(|state| match state {
                TicketState::Found(t) => Some(t.kind.as_str()),
                TicketState::Absent => None,
            })
    }
}

/// One ticket as its tracker answered.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum TicketState {
    /// Not in the answer: no such ticket, or one the token may not see
    /// (Jira and Azure answer both alike).
    Absent,
    Found(Box<Ticket>),
}

/// A ticket's facts, normalized across trackers.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub(crate) struct Ticket {
    /// The key the tracker answers under: another than the one written
    /// when the ticket moved (Jira keeps the old key as an alias).
    pub(crate) key: String,
    /// Jira project key; Azure team project.
    pub(crate) project: String,
    /// Azure area path (`Platform\Payments`); `None` for Jira.
    pub(crate) area: Option<String>,
    /// The tracker's own type name (`Bug`, `User Story`).
    pub(crate) kind: String,
    pub(crate) status: String,
    /// Jira's status category (`To Do`, `In Progress`, `Done`) and its key
    /// (`new`, `indeterminate`, `done`); Azure has none.
    pub(crate) status_category: Option<(String, String)>,
    pub(crate) summary: String,
    /// The text of each field the policy asks about (`None`: absent or empty).
    pub(crate) fields: BTreeMap<String, Option<String>>,
    /// Where a person sees it.
    pub(crate) link: Option<String>,
}

/// Code reaching a pull request's head branch, from its timeline.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct CodeEvent {
    /// The commit (`None` for a force-push, which names the new head only
    /// through the commits that follow).
    pub(crate) sha: Option<String>,
    /// When (ISO 8601, UTC): GitHub's time of a force-push; for a commit,
    /// its committer date, which git writes (GitHub records no push time).
    pub(crate) at: String,
    /// A force-push (`head_ref_force_pushed`) rather than a commit.
    pub(crate) forced: bool,
}

/// A label applied to or removed from a pull request, from its timeline.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct LabelEvent {
    pub(crate) label: String,
    /// Login of who did it (`ghost` for a deleted account).
    pub(crate) actor: String,
    /// Applied (`labeled`) or removed (`unlabeled`).
    pub(crate) added: bool,
    /// When, as GitHub writes it (ISO 8601, UTC).
    pub(crate) at: String,
}

/// A pull request's title changed (a `renamed` timeline event).
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Rename {
    pub(crate) from: String,
    pub(crate) to: String,
    /// When (ISO 8601, UTC).
    pub(crate) at: String,
}

/// A pull request's milestone set or cleared (a `milestoned` or
/// `demilestoned` timeline event).
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct MilestoneEvent {
    pub(crate) title: String,
    /// Set (`milestoned`) or cleared (`demilestoned`).
    pub(crate) added: bool,
    /// When (ISO 8601, UTC).
    pub(crate) at: String,
}

/// A merged pull request as the API describes it now, with the times that
/// let it be seen as it stood when it was merged ([`Self::at_merge`]).
/// Only merged pull requests are described: their facts before the merge
/// no longer change, so the audit may keep them on disk.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct MergedPullRequest {
    pub(crate) repo: String,
    pub(crate) number: u64,
    /// The title now (renames after the merge are undone by `at_merge`).
    pub(crate) title: String,
    /// The description now: GitHub keeps no history of it through its API.
    pub(crate) body: String,
    /// When the description was edited after the merge (ISO 8601): then the
    /// text the gate judged is unknown, and `at_merge` holds it empty.
    pub(crate) body_edited_at: Option<String>,
    pub(crate) author: String,
    pub(crate) base: String,
    pub(crate) head: String,
    pub(crate) base_sha: String,
    pub(crate) head_sha: String,
    /// The milestone now; the one at the merge is replayed from `milestone_events`.
    pub(crate) milestone: Option<String>,
    /// ISO 8601, UTC.
    pub(crate) merged_at: String,
    pub(crate) merged_by: Option<String>,
    pub(crate) merge_commit_sha: String,
    pub(crate) declared_commits: u64,
    pub(crate) declared_files: u64,
    /// Every review, with when it was submitted (`None`: never submitted).
    pub(crate) reviews: Vec<DatedReview>,
    /// Every label event and title change of its timeline, in order.
    pub(crate) label_events: Vec<LabelEvent>,
    /// Its commits (committer dates) and force-pushes, for whether an
    /// expedited grant covered the code merged.
    #[serde(default)]
    pub(crate) code_events: Vec<CodeEvent>,
    pub(crate) renames: Vec<Rename>,
    /// Every milestone event of its timeline, in order: the milestone at the
    /// merge is replayed from them, as the labels are.
    pub(crate) milestone_events: Vec<MilestoneEvent>,
    /// Files and commits as merged; `commit_changes`: each commit's own
    /// files were read too.
    pub(crate) changed: Vec<ChangedPath>,
    pub(crate) commits: Vec<Commit>,
    pub(crate) commit_changes: bool,
    pub(crate) changed_since: BTreeMap<String, Vec<ChangedPath>>,
}

/// A review with the commit it was made on and when it was submitted.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct DatedReview {
    pub(crate) author: String,
    pub(crate) state: String,
    pub(crate) commit: String,
    /// ISO 8601, UTC; `None` for a review never submitted.
    pub(crate) submitted_at: Option<String>,
}

/// Whether ISO 8601 time `a` is in a later second than `b`; `false` when
/// either cannot be read.
fn after_second(a: &str, b: &str) -> bool {
    match (
        chrono::DateTime::parse_from_rfc3339(a),
        chrono::DateTime::parse_from_rfc3339(b),
    ) {
        (Ok(a), Ok(b)) => a.timestamp() > b.timestamp(),
        _ => false,
    }
}

/// Whether ISO 8601 time `a` is proved to be before `b`: in an earlier
/// second. GitHub's times have one-second resolution, so something in the
/// same second as `b` may have happened after it. `false` when either cannot
/// be read (a fact of unknown time is not "before the merge").
pub(crate) fn strictly_before(a: &str, b: &str) -> bool {
    match (
        chrono::DateTime::parse_from_rfc3339(a),
        chrono::DateTime::parse_from_rfc3339(b),
    ) {
        (Ok(a), Ok(b)) => a.timestamp() < b.timestamp(),
        _ => false,
    }
}

impl MergedPullRequest {
    /// The pull request as it stood when it was merged: what is proved to
    /// come before it (an earlier second; see [`strictly_before`]): the reviews
    /// submitted by then, the labels it carried then (its timeline
    /// replayed), its title then, not a draft; files and commits as merged;
    /// the description as it reads now, or empty if edited after the merge.
    pub(crate) fn at_merge(&self) -> PullRequest {
        let before = |at: &str| strictly_before(at, &self.merged_at);
        let label_events: Vec<LabelEvent> = self
            .label_events
            .iter()
            .filter(|e| before(&e.at))
            .cloned()
            .collect();
        let mut labels: Vec<String> = Vec::new();
        for event in &label_events {
            labels.retain(|l| !l.eq_ignore_ascii_case(&event.label));
            if event.added {
                labels.push(event.label.clone());
            }
        }
        let mut title = self.title.clone();
        for rename in self.renames.iter().rev().filter(|r| !before(&r.at)) {
            if rename.to == title {
                title = rename.from.clone();
            }
        }
        PullRequest {
            repo: self.repo.clone(),
            number: self.number,
            title,
            // Edited after the merge: what the gate saw cannot be read, and
            // today's text may have been written to pass (fail closed).
            body: if self.body_edited_at.is_some() {
                String::new()
            } else {
                self.body.clone()
            },
            draft: false,
            labels,
            author: self.author.clone(),
            base: self.base.clone(),
            head: self.head.clone(),
            // Replayed from the events up to the merge: a milestone set
            // later does not count.
            milestone: self.milestone_events.iter().filter(|e| before(&e.at)).fold(
                None,
                |now, e| match (e.added, now) {
                    (true, _) => Some(e.title.clone()),
                    (false, Some(t)) if t != e.title => Some(t),
                    (false, _) => None,
                },
            ),
            milestone_unknown: false,
            changed: self.changed.clone(),
            commits: self.commits.clone(),
            head_sha: self.head_sha.clone(),
            base_sha: self.base_sha.clone(),
            reviews: self
                .reviews
                .iter()
                .filter(|r| r.submitted_at.as_deref().is_some_and(before))
                .map(|r| Review {
                    author: r.author.clone(),
                    state: r.state.clone(),
                    commit: r.commit.clone(),
                })
                .collect(),
            team_members: BTreeMap::new(),
            offline: false,
            label_events: Some(label_events),
            declared_commits: self.declared_commits,
            declared_files: self.declared_files,
            changed_since: self.changed_since.clone(),
            // Code that reached the head after the merge was not merged
            // (the merge's own second is kept: not proved before it).
            code_events: self
                .code_events
                .iter()
                .filter(|e| !after_second(&e.at, &self.merged_at))
                .cloned()
                .collect(),
            tracked: None,
        }
    }

    /// Approvals submitted after the merge: (login, when).
    pub(crate) fn approved_after_merge(&self) -> Vec<(&str, &str)> {
        self.reviews
            .iter()
            .filter(|r| r.state.eq_ignore_ascii_case("APPROVED"))
            .filter_map(|r| Some((r.author.as_str(), r.submitted_at.as_deref()?)))
            .filter(|(_, at)| !strictly_before(at, &self.merged_at))
            .collect()
    }
}

/// One review of a pull request.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Review {
    /// Login of the reviewer.
    pub(crate) author: String,
    /// `APPROVED`, `CHANGES_REQUESTED`, `COMMENTED`, `DISMISSED`, `PENDING`
    /// (any case: webhooks send lower case).
    pub(crate) state: String,
    /// The head commit the review was made on.
    pub(crate) commit: String,
}

/// What a review says, for counting approvals.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Stance {
    Approved,
    ChangesRequested,
    Dismissed,
    /// Comments and pending reviews do not change a reviewer's stance.
    None,
}

impl Review {
    pub(crate) fn stance(&self) -> Stance {
        match self.state.to_ascii_uppercase().as_str() {
            "APPROVED" => Stance::Approved,
            "CHANGES_REQUESTED" => Stance::ChangesRequested,
            "DISMISSED" => Stance::Dismissed,
            _ => Stance::None,
        }
    }
}

/// A release: the commits of its range and its release page.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Release {
    /// `1.3.0`, from `--release` or the tag at the range's end.
    pub version: Option<String>,
    /// The range audited, e.g. `v1.2.0..HEAD`.
    pub range: String,
    pub commits: Vec<ReleaseCommit>,
    /// The release page: its path and text (`None`: none was found).
    pub page: Option<ReleasePage>,
    /// Where the page was looked for when it was not there: "`path` at
    /// abc1234" (a finding with the others, not a stop).
    pub page_missing: Option<String>,
    /// Audited after deployment: post-deployment sections may no longer be "pending".
    pub post_deploy: bool,
    /// Incident ticket → test files (at the range's end) that reference it.
    pub incident_references: BTreeMap<String, Vec<String>>,
    /// The release commit's checks, read through the API. `None`: not checked (no token).
    pub checks: Option<ChecksState>,
    /// Expedited pull requests merged in the range. `None`: not checked (no token).
    pub expedited: Option<Vec<ExpeditedPullRequest>>,
    /// Members of teams given as `github: org/slug` that release rules
    /// name, by policy team name, as read from the API.
    pub team_members: BTreeMap<String, Vec<String>>,
    /// What the trackers' APIs say about the tickets its commits name
    /// (`None`: not read).
    pub tracked: Option<std::sync::Arc<TrackerFacts>>,
}

/// The checks of a commit: check runs and commit statuses together.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ChecksState {
    pub(crate) passed: Vec<String>,
    pub(crate) failing: Vec<String>,
    pub(crate) pending: Vec<String>,
}

/// A pull request merged in a release's range with an expedited label.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ExpeditedPullRequest {
    pub(crate) number: u64,
    pub(crate) title: String,
    /// Login of its author.
    pub(crate) author: String,
    /// The label that made it expedited.
    pub(crate) label: String,
    /// When it was merged (ISO 8601, UTC), and by whom.
    pub(crate) merged_at: String,
    pub(crate) merged_by: Option<String>,
    /// Its labels' history, from its timeline.
    pub(crate) label_events: Vec<LabelEvent>,
    /// Its reviews, with when they were submitted.
    pub(crate) reviews: Vec<TimedReview>,
}

/// A review with its time, for what happened after a merge.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub(crate) struct TimedReview {
    pub(crate) author: String,
    pub(crate) state: String,
    /// ISO 8601, UTC.
    pub(crate) submitted_at: String,
}

/// A commit of a release, kept small: a long range holds many.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ReleaseCommit {
    pub(crate) sha: Option<String>,
    /// The whole message, or only its subject when no release rule reads
    /// more (`rules::Needs::release_messages`).
    pub(crate) message: String,
}

impl ReleaseCommit {
    pub(crate) fn subject(&self) -> &str {
        subject_of(&self.message)
    }
}

/// The first line of a commit message.
pub(crate) fn subject_of(message: &str) -> &str {
    message.lines().next().unwrap_or("").trim_end()
}

/// Longest subject a report shows, in characters.
pub(crate) const SUBJECT_SHOWN: usize = 200;

/// A subject as reports show it: at most [`SUBJECT_SHOWN`] characters (a
/// 100 MB subject must not become gigabytes of report).
pub(crate) fn shown_subject(subject: &str) -> String {
    match subject.char_indices().nth(SUBJECT_SHOWN) {
        Some((end, _)) => format!("{}…", subject.get(..end).unwrap_or_default()),
        None => subject.to_owned(),
    }
}

/// Everything after a commit message's first line.
pub(crate) fn body_of(message: &str) -> &str {
    match message.split_once('\n') {
        Some((_, rest)) => rest.trim_start_matches(['\n', '\r']),
        None => "",
    }
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ReleasePage {
    pub path: String,
    pub text: String,
}

/// What a rule can be about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum SubjectKind {
    PullRequest,
    Commit,
    Branch,
    Release,
}

impl SubjectKind {
    pub(crate) const ALL: [SubjectKind; 4] =
        [Self::PullRequest, Self::Commit, Self::Branch, Self::Release];

    pub fn name(self) -> &'static str {
        match self {
            Self::PullRequest => "pull_request",
            Self::Commit => "commit",
            Self::Branch => "branch",
            Self::Release => "release",
        }
    }

    pub(crate) fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.name() == name)
    }
}

impl fmt::Display for SubjectKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What the engine judges.
#[derive(Clone, Copy, Debug)]
pub enum Subject<'a> {
    PullRequest(&'a PullRequest),
    Commit(&'a Commit),
    Branch(&'a Branch),
    Release(&'a Release),
}

impl Subject<'_> {
    /// What the trackers answered about the tickets the subject names.
    pub(crate) fn tracked(&self) -> Option<&TrackerFacts> {
        match self {
            Subject::PullRequest(pr) => pr.tracked.as_deref(),
            Subject::Commit(c) => c.tracked.as_deref(),
            Subject::Release(r) => r.tracked.as_deref(),
            Subject::Branch(_) => None,
        }
    }

    pub fn kind(&self) -> SubjectKind {
        match self {
            Subject::PullRequest(_) => SubjectKind::PullRequest,
            Subject::Commit(_) => SubjectKind::Commit,
            Subject::Branch(_) => SubjectKind::Branch,
            Subject::Release(_) => SubjectKind::Release,
        }
    }

    /// The branch the subject is on, when known.
    pub(crate) fn branch(&self) -> Option<&str> {
        match self {
            Subject::PullRequest(pr) => Some(&pr.head),
            Subject::Commit(c) => c.branch.as_deref(),
            Subject::Branch(b) => Some(&b.name),
            Subject::Release(_) => None,
        }
    }

    /// Changed files, when the subject has them.
    pub(crate) fn changed(&self) -> Option<&[ChangedPath]> {
        match self {
            Subject::PullRequest(pr) => Some(&pr.changed),
            Subject::Commit(c) => c.changed.as_deref(),
            Subject::Branch(_) | Subject::Release(_) => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_pushed_after_the_merge_is_not_what_was_merged() {
        let code = |at: &str| CodeEvent {
            sha: None,
            at: at.into(),
            forced: true,
        };
        let merged = MergedPullRequest {
            merged_at: "2026-03-02T10:00:00Z".into(),
            code_events: vec![
                code("2026-03-02T09:00:00Z"),
                code("2026-03-02T10:00:00.900Z"),
                code("2026-03-02T10:00:01Z"),
                code("unreadable"),
            ],
            ..MergedPullRequest::default()
        };
        let kept: Vec<String> = merged
            .at_merge()
            .code_events
            .into_iter()
            .map(|e| e.at)
            .collect();
        assert_eq!(
            kept,
            [
                "2026-03-02T09:00:00Z",
                "2026-03-02T10:00:00.900Z",
                "unreadable"
            ]
        );
    }

    #[test]
    fn subject_and_body_split_on_first_line() {
        let c = Commit {
            message: "feat: x EPL-1\n\nbody line\nmore".into(),
            ..Commit::default()
        };
        assert_eq!(c.subject(), "feat: x EPL-1");
        assert_eq!(c.body(), "body line\nmore");
        let c = Commit {
            message: "one line".into(),
            ..Commit::default()
        };
        assert_eq!(c.body(), "");
    }
}
