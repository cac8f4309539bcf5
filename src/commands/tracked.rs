//! Asking the trackers about the tickets a subject names: which trackers
//! and fields the policy needs, the texts the tickets are named in, and
//! the read itself (`sources::trackers`).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use super::check_commits::Judged;
use crate::engine::needs;
use crate::facts::{Commit, Stage, Subject, SubjectKind, TrackerFacts};
use crate::policy::Policy;
use crate::sources::Fatal;
use crate::sources::github::seconds_from_env;
use crate::sources::trackers::{self, Query, Settings};

/// Trackers to ask, with the fields each must give, for subjects of these
/// kinds: what their rules ask, and every tracker with an API when a kind
/// is decided by ticket type.
pub(crate) fn wanted(policy: &Policy, kinds: &[SubjectKind]) -> BTreeMap<String, BTreeSet<String>> {
    let mut out: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for kind in kinds {
        for (name, fields) in needs(policy, *kind).tracker_fields {
            out.entry(name).or_default().extend(fields);
        }
    }
    if policy.definitions.kinds_by_ticket_type() {
        for (name, tracker) in &policy.definitions.tickets {
            if tracker.api.is_some() {
                out.entry(name.clone()).or_default();
            }
        }
    }
    out
}

/// How long to wait for a tracker, and between retries: the network
/// settings of the run (`GIT_POLICY_HTTP_TIMEOUT`, `GIT_POLICY_RETRY_DELAY`).
/// The gate keeps answers across runs only where `GIT_POLICY_TRACKER_CACHE=on`
/// (a runner of one user's): its verdict is of record.
pub(crate) fn settings() -> Result<Settings, Fatal> {
    Ok(Settings {
        timeout: seconds_from_env("GIT_POLICY_HTTP_TIMEOUT", 30.0, 0.001, 3600.0)?,
        retry_delay: seconds_from_env("GIT_POLICY_RETRY_DELAY", 1.0, 0.0, 600.0)?,
        deadline: None,
        keep_across_runs: cache_setting()? == Some(true),
    })
}

/// The longest the hooks wait for the trackers, retries included.
pub(crate) const HOOK_DEADLINE: Duration = Duration::from_secs(3);

/// The hooks' settings: a short timeout and one overall deadline
/// ([`HOOK_DEADLINE`]), retries only within it; answers kept across runs
/// for trackers whose `api:` says `cache:`, unless `GIT_POLICY_TRACKER_CACHE=off`.
pub(crate) fn hook_settings() -> Result<Settings, Fatal> {
    let general = settings()?;
    Ok(Settings {
        timeout: general.timeout.min(HOOK_DEADLINE),
        retry_delay: general.retry_delay.min(Duration::from_millis(200)),
        deadline: Some(HOOK_DEADLINE),
        keep_across_runs: cache_setting()? != Some(false),
    })
}

/// `GIT_POLICY_TRACKER_CACHE`: `on`, `off`, or unset (`None`).
fn cache_setting() -> Result<Option<bool>, Fatal> {
    match std::env::var("GIT_POLICY_TRACKER_CACHE") {
        Err(std::env::VarError::NotPresent) => Ok(None),
        Ok(v) if v.is_empty() => Ok(None),
        Ok(v) if v == "on" => Ok(Some(true)),
        Ok(v) if v == "off" => Ok(Some(false)),
        Ok(_) | Err(std::env::VarError::NotUnicode(_)) => Err(Fatal::new(
            "GIT_POLICY_TRACKER_CACHE is neither `on` nor `off`",
        )
        .help("set it to `on` (keep tickets' answers across runs where the tracker's `api:` says `cache:`, the gate included) or `off` (ask every run), or unset it")),
    }
}

/// Reads the tickets of `wanted` trackers named in `texts`; `None` when
/// nothing is wanted. Requests taken are added to `requests`.
pub(crate) async fn read(
    policy: &Policy,
    wanted: &BTreeMap<String, BTreeSet<String>>,
    texts: &[&str],
    settings: Settings,
    requests: &mut usize,
) -> Result<Option<Arc<TrackerFacts>>, Fatal> {
    if wanted.is_empty() {
        return Ok(None);
    }
    let queries: Vec<Query<'_>> = wanted
        .iter()
        .filter_map(|(name, fields)| {
            let tracker = policy.definitions.tickets.get(name)?;
            Some(Query {
                name,
                tracker,
                ids: trackers::ids_in(tracker, texts.iter().copied()),
                fields: fields.clone(),
            })
        })
        .collect();
    let read = trackers::read(&queries, settings).await?;
    *requests += read.requests;
    for note in &read.notes {
        super::err(&format!("note: {}\n", crate::report::inert::one_line(note)));
    }
    Ok(Some(Arc::new(read.facts)))
}

/// The tickets read, for the reports, each with the kind its type decides.
pub(crate) fn report_lines(
    policy: &Policy,
    facts: Option<&TrackerFacts>,
) -> Vec<crate::report::TicketLine> {
    let Some(facts) = facts else {
        return Vec::new();
    };
    let mut kinds = BTreeMap::new();
    for (name, kind) in &policy.definitions.kinds {
        for t in kind.ticket_types.iter() {
            kinds
                .entry(t.value.to_lowercase())
                .or_insert_with(|| name.clone());
        }
    }
    crate::report::ticket_lines(facts, &kinds)
}

/// The trackers whose tickets a commit judged at `stage` is read against:
/// in the audit (`History`), every tracker a commit rule asks; locally
/// (the hooks, `check commits`), those whose `api:` says `hooks: check`.
/// A commit naming one of their tickets is judged once the tickets are
/// read ([`Deferring`]).
pub(crate) fn deferring(policy: &Policy, stage: Stage) -> Deferring<'_> {
    let mut wanted = wanted_for_commits(policy, stage);
    wanted.retain(|_, _| stage != Stage::PullRequest);
    Deferring {
        trackers: wanted
            .keys()
            .filter_map(|name| policy.definitions.tickets.get(name))
            .collect(),
    }
}

/// Trackers whose tickets commits are judged against, by commit stage.
pub(crate) struct Deferring<'p> {
    trackers: Vec<&'p crate::definitions::Tracker>,
}

impl Deferring<'_> {
    /// Whether `commit` names a ticket of these trackers (in its message
    /// or its branch): it is then judged with the tickets read.
    pub(crate) fn names_ticket(&self, commit: &Commit) -> bool {
        self.trackers.iter().any(|t| {
            t.pattern.is_match(&commit.message)
                || commit
                    .branch
                    .as_deref()
                    .is_some_and(|b| t.pattern.is_match(b))
        })
    }
}

fn wanted_for_commits(policy: &Policy, stage: Stage) -> BTreeMap<String, BTreeSet<String>> {
    let mut wanted = needs(policy, SubjectKind::Commit).tracker_fields;
    if stage == Stage::Local {
        wanted.retain(|name, _| hooks_check(policy, name));
    }
    wanted
}

fn hooks_check(policy: &Policy, tracker: &str) -> bool {
    policy
        .definitions
        .tickets
        .get(tracker)
        .and_then(|t| t.api.as_ref())
        .is_some_and(|api| api.value.hooks_check())
}

/// Judges the commits the walk deferred ([`Deferring`]) with `facts`.
pub(crate) fn judge_deferred(
    policy: &Policy,
    judged: &mut Judged,
    facts: Option<&Arc<TrackerFacts>>,
) {
    // From the last, so each place in `findings` still holds (a place past
    // the end, after findings were dropped, is the end).
    for (at, mut commit) in std::mem::take(&mut judged.deferred).into_iter().rev() {
        commit.tracked = facts.cloned();
        let found = crate::engine::evaluate(policy, Subject::Commit(&commit));
        let at = at.min(judged.findings.len());
        judged.findings.splice(at..at, found);
    }
}

/// The release audit's tickets: those the release rules ask about (named
/// in the kept messages) and those the commit rules ask about (named by
/// the deferred commits), read together in batches; then the deferred
/// commits are judged. A tracker that fails is exit 2, never a pass.
pub(crate) fn audit_tickets(
    policy: &Policy,
    judged: &mut Judged,
) -> Result<Option<Arc<TrackerFacts>>, Fatal> {
    let mut all = wanted(policy, &[SubjectKind::Release]);
    for (name, fields) in wanted_for_commits(policy, Stage::History) {
        all.entry(name).or_default().extend(fields);
    }
    if all.is_empty() {
        return Ok(None);
    }
    let mut texts: Vec<&str> = judged.kept.iter().map(|c| c.message.as_str()).collect();
    texts.extend(deferred_texts(&judged.deferred));
    let facts = block_on(read(policy, &all, &texts, settings()?, &mut 0))?;
    judge_deferred(policy, judged, facts.as_ref());
    Ok(facts)
}

/// Local commits (`check push`, `check commits`): the tickets their
/// deferred commits name, read from the `hooks: check` trackers in one
/// batch for all of them within the hooks' deadline, then the commits
/// judged. The local checks are advisory: a tracker that cannot be read is
/// a warning, and the commits are judged without it.
pub(crate) fn judge_local(policy: &Policy, judged: &mut [&mut Judged]) {
    let texts: Vec<&str> = judged
        .iter()
        .flat_map(|j| deferred_texts(&j.deferred))
        .collect();
    let facts = if texts.is_empty() {
        None
    } else {
        for_hooks(policy, &texts)
    };
    for one in judged {
        judge_deferred(policy, one, facts.as_ref());
    }
}

/// The tickets `texts` name in the trackers whose `api:` says `hooks:
/// check` (no other tracker is called from a hook), within the hooks'
/// deadline; `None` (with a warning) when they cannot be read: the hooks
/// are advisory, the gate judges the tickets.
pub(crate) fn for_hooks(policy: &Policy, texts: &[&str]) -> Option<Arc<TrackerFacts>> {
    let wanted = wanted_for_commits(policy, Stage::Local);
    if wanted.is_empty() {
        return None;
    }
    let read = hook_settings()
        .and_then(|settings| block_on(read(policy, &wanted, texts, settings, &mut 0)));
    match read {
        Ok(facts) => facts,
        Err(fatal) => {
            super::err(&format!(
                "warning: tickets not verified: {}; the hook goes on (the pull request check verifies them)\n",
                crate::report::inert::one_line(&fatal.message)
            ));
            None
        }
    }
}

fn deferred_texts(commits: &[(usize, Commit)]) -> impl Iterator<Item = &str> {
    commits
        .iter()
        .flat_map(|(_, c)| std::iter::once(c.message.as_str()).chain(c.branch.as_deref()))
}

fn block_on<T>(future: impl std::future::Future<Output = Result<T, Fatal>>) -> Result<T, Fatal> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Fatal::new(format!("cannot start the async runtime: {e}")))?;
    let _inside = runtime.enter();
    runtime.block_on(future)
}
