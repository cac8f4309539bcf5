//! The outcome model: what a check found and how it ended — findings, each
//! rule's verdict, the report, the release's account and its evidence.
//! Plain data that `rules`, `engine`, `evidence`, `waivers` and every
//! renderer share; it imports none of them (`tests/layers.rs`).

pub(crate) mod evidence;
mod id;

use std::sync::Arc;

pub use id::FindingId;

use crate::syntax::{Level, Span};

/// One thing a subject is missing, attributed to the rule that requires it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    pub rule: Arc<str>,
    pub level: Level,
    pub message: Arc<str>,
    pub help: Option<Arc<str>>,
    pub commit: Option<String>,
    /// Subject line of the commit, for readable reports.
    pub commit_subject: Option<String>,
    pub ticket: Option<String>,
    pub path: Option<String>,
    /// The requirement key in the policy that asked for this.
    pub policy: Span,
    /// The requirement that produced it (`ticket`, `approval`, …); `None`
    /// for git-policy's own findings ([`FindingId`]).
    pub requirement: Option<&'static str>,
    /// Approvals still missing (approval findings), for review requests.
    pub approvals: Option<Box<MissingApprovals>>,
}

/// What the engine appends to a draft's finding before the rest it misses
/// (the pull request comment lists those as items of their own).
pub const ALSO_MISSING: &str = "; also missing before it can merge: ";

/// What became of one rule over a check, for the step summary.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verdict {
    pub(crate) rule: String,
    pub(crate) description: Option<String>,
    /// `None`: the rule did not apply.
    pub(crate) outcome: Option<Outcome>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    Passed,
    Found(Level),
    /// Every finding of the rule was waived.
    Waived,
}

/// The approvals one group still needs: what the comment shows and what
/// `check pr --request-reviews` asks for. Logins are lower case.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MissingApprovals {
    /// Who must approve, as the finding names them ("team rte", "@octocat").
    pub(crate) group: String,
    /// Approvals still needed.
    pub(crate) needed: u32,
    /// Everyone known who can give them: not the author, not who already
    /// approved. Empty when anyone can, or no one known can.
    pub(crate) candidates: Vec<String>,
    /// The group's teams read through the API (`org/slug`): requested as teams.
    pub(crate) github_teams: Vec<String>,
    /// Logins the policy lists (`users`, team `members`), in policy order,
    /// without the author and who already approved: requested one by one.
    pub(crate) listed: Vec<String>,
    /// What the rule asks to request (`None`: nothing).
    pub(crate) request: Option<Request>,
}

/// Which reviews to request when approvals are missing (never on a draft).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Request {
    /// `request: true`: as many as approvals are still missing.
    Missing,
    /// `request: all`: everyone who can approve (a `github:` team as the team).
    All,
    /// `request: { count: N }`: up to N reviews outstanding at once.
    Count(u32),
}

/// What was checked and what was found.
#[derive(Clone, Debug, Default)]
pub struct Report {
    /// `pull_request`, `commit`, `branch` or `release`.
    pub subject_kind: &'static str,
    /// What it was: `HEAD~3..HEAD`, `feature/EPL-1-x`, `the commit message`.
    pub subject_ref: String,
    pub findings: Vec<Finding>,
    /// How many subjects were judged (commits in a range).
    pub checked: usize,
    /// Subjects skipped by `commits.exempt` / `commits.merges`.
    pub skipped: usize,
    /// Each rule's outcome (the pull request check fills it for the step summary).
    pub verdicts: Vec<Verdict>,
    /// What the release audit found out about the release.
    pub release: Option<ReleaseSummary>,
    /// Findings a waiver covers: listed in every format, counted in none,
    /// never failing the check.
    pub waived: Vec<Waived>,
    /// What became of each waiver of the policy in this run (empty when the
    /// policy has none).
    pub waivers: Vec<WaiverUse>,
    /// The tickets named, as their trackers answered (empty when no tracker
    /// was asked).
    pub tickets: Vec<TicketLine>,
}

/// One ticket as its tracker answered, for the reports.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TicketLine {
    pub(crate) id: String,
    /// `None`: not found, or not visible to the token.
    pub(crate) ticket: Option<crate::facts::Ticket>,
    /// The kind its type decides (`bug`, `feature`, `improvement`), if any.
    pub(crate) kind: Option<String>,
}

/// A finding a waiver covers.
#[derive(Clone, Debug)]
pub struct Waived {
    pub(crate) finding: Finding,
    /// Index into [`Report::waivers`].
    pub(crate) waiver: usize,
}

/// One waiver of the policy and what it did in this run.
#[derive(Clone, Debug)]
pub struct WaiverUse {
    /// `commit`, `pull_request` or `ticket`.
    pub(crate) key: &'static str,
    /// The sha, number or ticket.
    pub(crate) value: String,
    /// "commit 3f2a9c1e12", "pull request #12", "ticket EPL-77".
    pub(crate) subject: String,
    pub(crate) rules: Vec<String>,
    pub(crate) reason: String,
    pub(crate) granted_by: String,
    /// YYYY-MM-DD.
    pub(crate) expires: Option<String>,
    /// Where it is written.
    pub(crate) policy: Span,
    pub(crate) state: WaiverState,
    /// How many findings it waived (or, expired, would have waived).
    pub(crate) findings: usize,
}

/// What a waiver did in one run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WaiverState {
    /// It waived at least one finding.
    Used,
    /// What it names was judged, and it waived nothing (a warning).
    Unused,
    /// Past its `expires` date: it waived nothing (a warning when what it
    /// names was judged).
    Expired,
    /// What it names was not judged in this run.
    NotJudged,
}

impl WaiverState {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::Used => "used",
            Self::Unused => "unused",
            Self::Expired => "expired",
            Self::NotJudged => "not_judged",
        }
    }
}

impl WaiverUse {
    /// "waived for commit 3f2a9c1e12 by asherman (until 2027-03-31): `<reason>`".
    pub(crate) fn summary(&self) -> String {
        let until = self
            .expires
            .as_deref()
            .map(|e| format!(", until {e}"))
            .unwrap_or_default();
        format!(
            "waived for {} by {}{until}: {}",
            self.subject, self.granted_by, self.reason
        )
    }
}

/// A release page section's state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SectionState {
    Complete,
    /// Says "pending", allowed until the post-deployment audit.
    Pending,
    MissingOrEmpty,
}

/// The release audit's account of a release (JSON `release`, the Markdown
/// report), kept compact: commits are indices into `shas`.
#[derive(Clone, Debug, Default)]
pub struct ReleaseSummary {
    pub(crate) version: Option<String>,
    pub(crate) range: String,
    pub(crate) commits: usize,
    /// Path of the release page read, if any.
    pub(crate) page: Option<String>,
    /// Every commit's sha, in the order of the range.
    pub(crate) shas: Vec<String>,
    /// Ticket → indices of the commits naming it.
    pub(crate) tickets: std::collections::BTreeMap<String, Vec<u32>>,
    /// Tickets not on the page.
    pub(crate) missing: Vec<String>,
    /// Tickets on the page that no commit names.
    pub(crate) unlisted: Vec<String>,
    /// Commits naming no ticket: (index, subject).
    pub(crate) without_ticket: Vec<(u32, String)>,
    /// Link templates: a tracker's pattern and its `url` (`{id}` is the ticket).
    pub(crate) links: Vec<(regex::Regex, String)>,
    /// Required page sections and their state.
    pub(crate) sections: Vec<(String, SectionState)>,
    /// Each expedited change: who granted, merged and reviewed it, or what is
    /// missing (`None`: not checked).
    pub(crate) expedited: Option<Vec<String>>,
    /// The release commit's checks (`None`: not read).
    pub(crate) checks: Option<crate::facts::ChecksState>,
    /// Incident ticket → test files that reference it.
    pub(crate) incidents: std::collections::BTreeMap<String, Vec<String>>,
    /// Whether each change went through the merge gate.
    pub(crate) evidence: evidence::Evidence,
}

impl ReleaseSummary {
    pub(crate) fn sha(&self, index: u32) -> &str {
        self.shas.get(index as usize).map_or("", String::as_str)
    }

    /// The ticket's link, from its tracker's `url`.
    pub(crate) fn link(&self, ticket: &str) -> Option<String> {
        self.links
            .iter()
            .find(|(pattern, _)| pattern.is_match(ticket))
            .map(|(_, url)| url.replace("{id}", ticket))
    }
}

impl Report {
    pub(crate) fn passed(&self) -> bool {
        !self.findings.iter().any(|f| f.level == Level::Error)
    }

    pub(crate) fn count(&self, level: Level) -> usize {
        self.findings.iter().filter(|f| f.level == level).count()
    }
}
