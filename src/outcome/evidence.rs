//! Release evidence as data: for every change of a release, how it reached
//! the branch. Judged by [`crate::evidence`], rendered by [`crate::report`].

use super::FindingId;

/// The rule id evidence findings carry.
pub const RULE: &str = FindingId::ReleaseEvidence.as_str();

/// What the audit could establish about the release's changes.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Evidence {
    /// The policy turns evidence off, or has no `pull_request` rule.
    #[default]
    Off,
    /// Evidence was due but could not be gathered: why.
    NotChecked(String),
    /// One row per change.
    Checked(Vec<Change>),
}

/// How a change reached the branch, judged at merge time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Its pull request met every error-level rule of its base policy when merged.
    Passed,
    /// It met them on the expedited path (P21), granted by the right team.
    Expedited,
    /// It was merged while a rule failed.
    Failed,
    /// No merged pull request brought the commit.
    PushedDirectly,
    /// Pushed without a pull request by an exempt account, proved by that
    /// account's own valid signature (not GitHub's web-flow one).
    Exempt,
    /// Its base commit had no policy: no gate was in force.
    NoPolicy,
    /// Its base commit's policy is invalid: the gate could not judge it.
    NotJudged,
}

impl Verdict {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Verdict::Passed => "passed",
            Verdict::Expedited => "expedited",
            Verdict::Failed => "failed",
            Verdict::PushedDirectly => "pushed_directly",
            Verdict::Exempt => "exempt",
            Verdict::NoPolicy => "no_policy",
            Verdict::NotJudged => "not_judged",
        }
    }
}

/// One change of the release: a merged pull request, or a commit that
/// reached the branch without one.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Change {
    pub(crate) pull_request: Option<u64>,
    /// The pull request's title at merge, or the commit's subject.
    pub(crate) title: String,
    /// The range's commits it brought.
    pub(crate) commits: Vec<String>,
    pub(crate) merge_commit: Option<String>,
    /// The branch it was merged into.
    pub(crate) base: Option<String>,
    /// Its pull request's head branch (the branch its commits were on).
    pub(crate) head: Option<String>,
    /// Its author's GitHub account (for a commit: the account GitHub
    /// attributes it to, when any).
    pub(crate) author: Option<String>,
    pub(crate) tickets: Vec<String>,
    /// Who approved it before the merge, with the policy teams each is in.
    pub(crate) approvers: Vec<Approver>,
    /// Who approved only after the merge (not counted).
    pub(crate) approved_after_merge: Vec<String>,
    pub(crate) merged_by: Option<String>,
    pub(crate) merged_at: Option<String>,
    /// The commit whose policy judged it (its base).
    pub(crate) policy_commit: Option<String>,
    pub(crate) verdict: Option<Verdict>,
    /// The error-level rules it failed at merge: (rule, what was missing).
    pub(crate) failed: Vec<(String, String)>,
    /// The expedited path: who granted it and its post-implementation
    /// review (`None` while none is found).
    pub(crate) expedited: Option<Expedited>,
    /// A commit's signature was verified by GitHub (direct pushes).
    pub(crate) signed: bool,
}

/// An approver and the policy teams they are in.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Approver {
    pub(crate) login: String,
    pub(crate) teams: Vec<String>,
}

/// The expedited path of one change.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Expedited {
    pub(crate) label: String,
    pub(crate) granted_by: String,
    /// (who, when) of the post-implementation review.
    pub(crate) reviewed: Option<(String, String)>,
}

impl Change {
    pub(crate) fn verdict(&self) -> Verdict {
        self.verdict.unwrap_or(Verdict::NotJudged)
    }
}
