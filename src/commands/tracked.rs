//! Asking the trackers about the tickets a subject names: which trackers
//! and fields the policy needs, the texts the tickets are named in, and
//! the read itself (`sources::trackers`).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use crate::engine::needs;
use crate::facts::{SubjectKind, TrackerFacts};
use crate::policy::Policy;
use crate::sources::Fatal;
use crate::sources::github::seconds_from_env;
use crate::sources::trackers::{self, Query, Settings};

/// Trackers to ask, with the fields each must give, for subjects of these
/// kinds: what their rules ask, and every tracker with an API when a kind
/// is decided by ticket type.
pub fn wanted(policy: &Policy, kinds: &[SubjectKind]) -> BTreeMap<String, BTreeSet<String>> {
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
pub fn settings() -> Result<Settings, Fatal> {
    Ok(Settings {
        timeout: seconds_from_env("GIT_POLICY_HTTP_TIMEOUT", 30.0, 0.001, 3600.0)?,
        retry_delay: seconds_from_env("GIT_POLICY_RETRY_DELAY", 1.0, 0.0, 600.0)?,
        deadline: None,
        keep_across_runs: cache_setting()? == Some(true),
    })
}

/// The longest the hooks wait for the trackers, retries included.
pub const HOOK_DEADLINE: Duration = Duration::from_secs(3);

/// The hooks' settings: a short timeout and one overall deadline
/// ([`HOOK_DEADLINE`]), retries only within it; answers kept across runs
/// for trackers whose `api:` says `cache:`, unless `GIT_POLICY_TRACKER_CACHE=off`.
pub fn hook_settings() -> Result<Settings, Fatal> {
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
pub async fn read(
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
pub fn report_lines(
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
