//! Ticket trackers' APIs: Jira Cloud (REST v3 `issue/bulkfetch`), Jira
//! Data Center (REST v2 `search` with `key in (…)`) and Azure Boards
//! (`wit/workitemsbatch`). Every ticket a run names is read in as few
//! requests as the API allows (100 keys, 200 work items a request), a few
//! requests at a time, and remembered for the run. Whatever is not a
//! complete, well-formed answer is a [`Fatal`] naming the tracker: an
//! unverified ticket never passes.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use base64::Engine;
use futures_util::StreamExt;
use http::HeaderMap;
use http::header::HeaderName;
use serde_json::{Value, json};

use super::Fatal;
use super::tracker_cache::{self, DiskCache};
use crate::definitions::Tracker;
use crate::definitions::tracker::{ApiKind, TrackerApi};
use crate::facts::{Ticket, TicketState, TrackerFacts};

/// Jira Cloud's `bulkfetch` takes at most 100 keys.
pub(crate) const JIRA_CLOUD_BATCH: usize = 100;
/// Keys per JQL `key in (…)` query (Data Center): one page of 100 results.
pub(crate) const JIRA_DC_BATCH: usize = 100;
/// Azure's `workitemsbatch` takes at most 200 ids.
pub(crate) const AZURE_BATCH: usize = 200;
/// Requests in flight per tracker: polite to a shared server.
pub(crate) const CONCURRENT_REQUESTS: usize = 4;
/// Attempts for a request failing with 5xx, 429 or a timeout.
const ATTEMPTS: u32 = 3;
/// Longest `Retry-After` waited for within one run.
const LONGEST_RETRY_AFTER: Duration = Duration::from_secs(5);
/// Most pages of one Data Center search (a batch of 100 keys fits in one;
/// a server that pages by fewer still ends well before this).
const MAX_PAGES: usize = 100;

/// The tickets to read from one tracker, and the fields to read besides
/// summary, type, status and project.
pub(crate) struct Query<'a> {
    pub(crate) name: &'a str,
    pub(crate) tracker: &'a Tracker,
    pub(crate) ids: BTreeSet<String>,
    pub(crate) fields: BTreeSet<String>,
}

/// How the trackers are asked.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Settings {
    /// The longest wait for one answer.
    pub(crate) timeout: Duration,
    pub(crate) retry_delay: Duration,
    /// The longest the whole read may take, retries included (the hooks:
    /// a developer waits); `None`: each request has its own timeout.
    pub(crate) deadline: Option<Duration>,
    /// Whether answers are kept across runs for trackers whose `api:` says
    /// `cache:` ([`super::tracker_cache`]).
    pub(crate) keep_across_runs: bool,
}

/// What a run read: the facts, the requests it took (retries included),
/// and notes for the user (a cache that could not be used).
pub(crate) struct Read {
    pub(crate) facts: TrackerFacts,
    pub(crate) requests: usize,
    pub(crate) notes: Vec<String>,
}

/// Reads every query's tickets, all trackers at once. Any failure is the
/// run's failure (the gate, the audit); the hooks catch it and warn.
pub(crate) async fn read(queries: &[Query<'_>], settings: Settings) -> Result<Read, Fatal> {
    let requests = AtomicUsize::new(0);
    let cached = queries.iter().any(|q| {
        q.tracker
            .api
            .as_ref()
            .is_some_and(|a| a.value.cache_lifetime().is_some())
    });
    let mut notes = Vec::new();
    let disk = if settings.keep_across_runs && cached {
        match DiskCache::open_default() {
            Ok(disk) => Some(disk),
            Err(why) => {
                notes.push(format!("tickets' answers are not kept across runs: {why}"));
                None
            }
        }
    } else {
        None
    };
    let reads = queries
        .iter()
        .map(|q| read_one(q, settings, &requests, disk.as_ref()));
    let all = futures_util::future::join_all(reads);
    let results = match settings.deadline {
        None => all.await,
        Some(deadline) => tokio::time::timeout(deadline, all).await.map_err(|_| {
            let names: Vec<String> = queries
                .iter()
                .map(|q| match &q.tracker.api {
                    Some(api) => format!(
                        "tracker `{}` ({}, {})",
                        q.name,
                        api.value.kind.value.name(),
                        api.value.url.value.trim().trim_end_matches('/')
                    ),
                    None => format!("tracker `{}`", q.name),
                })
                .collect();
            let all = if names.len() > 1 { " all" } else { "" };
            Fatal::new(format!(
                "{} did not{all} answer within {:.1} s (the local checks' limit, retries included)",
                names.join(" and "),
                deadline.as_secs_f64()
            ))
        })?,
    };
    let mut facts = TrackerFacts::default();
    for (query, result) in queries.iter().zip(results) {
        facts.tickets.insert(query.name.to_owned(), result?);
    }
    Ok(Read {
        facts,
        requests: requests.load(Ordering::Relaxed),
        notes,
    })
}

/// The ticket ids of `tracker` named in `texts`, as the pattern matches
/// them. Only those the tracker's id syntax allows are ever sent
/// ([`ApiKind::request_id`]); the rule reports the others as invalid.
pub(crate) fn ids_in<'t>(
    tracker: &Tracker,
    texts: impl IntoIterator<Item = &'t str>,
) -> BTreeSet<String> {
    let mut ids = BTreeSet::new();
    for text in texts {
        for id in tracker.pattern.find_all(text) {
            ids.insert(id.to_owned());
        }
    }
    ids
}

/// Secret values the trackers were given this run (tokens and the
/// `Authorization` values made of them): every output redacts them.
pub(crate) fn secrets() -> Vec<String> {
    // None recorded yet is none to redact; a lock poisoned by a panic
    // elsewhere still holds every token read, and each must stay redacted.
    match SECRETS.get() {
        Some(store) => store
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone(),
        None => Vec::new(),
    }
}

static SECRETS: OnceLock<Mutex<Vec<String>>> = OnceLock::new();

fn remember_secret(value: &str) {
    if value.is_empty() {
        return;
    }
    let store = SECRETS.get_or_init(|| Mutex::new(Vec::new()));
    // A poisoned lock still records the token: it must be redacted.
    let mut secrets = store
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if !secrets.iter().any(|s| s == value) {
        secrets.push(value.to_owned());
        secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
    }
}

/// Answers already read this run, by tracker, fields and ticket: a second
/// policy judging the same pull request asks nothing again.
static CACHE: OnceLock<Mutex<HashMap<String, TicketState>>> = OnceLock::new();

fn cache() -> &'static Mutex<HashMap<String, TicketState>> {
    CACHE.get_or_init(|| Mutex::new(HashMap::new()))
}

fn cache_key(api: &TrackerApi, fields: &BTreeSet<String>, id: &str) -> String {
    let fields: Vec<&str> = fields.iter().map(String::as_str).collect();
    format!(
        "{}\u{0}{}\u{0}{}\u{0}{}\u{0}{id}",
        api.kind.value.name(),
        api.url.value,
        api.token_env.value,
        fields.join("\u{1}")
    )
}

async fn read_one(
    query: &Query<'_>,
    settings: Settings,
    requests: &AtomicUsize,
    disk: Option<&DiskCache>,
) -> Result<BTreeMap<String, TicketState>, Fatal> {
    let Some(api) = query.tracker.api.as_ref().map(|a| &a.value) else {
        return Err(Fatal::new(format!(
            "tracker `{}` has no `api:` to ask",
            query.name
        )));
    };
    let mut out = BTreeMap::new();
    let mut wanted: Vec<(String, String)> = Vec::new();
    if let Ok(cached) = cache().lock() {
        for id in &query.ids {
            match cached.get(&cache_key(api, &query.fields, id)) {
                Some(state) => {
                    out.insert(id.clone(), state.clone());
                }
                // An id this tracker cannot have is never sent (nor read):
                // the rule reports it as invalid.
                None => {
                    if let Some(sent) = sendable(query.tracker, api.kind.value, id) {
                        wanted.push((id.clone(), sent));
                    }
                }
            }
        }
    }
    if wanted.is_empty() {
        return Ok(out);
    }
    let authorization = authorization(query.name, api)?;
    // Across runs: only for this tracker, these credentials, these fields.
    let kept = disk.zip(api.cache_lifetime());
    let disk_key = |id: &str| tracker_cache::key(api, &authorization, &query.fields, id);
    if let Some((disk, lifetime)) = kept {
        wanted.retain(|(id, _)| match disk.get(&disk_key(id), lifetime) {
            Some(state) => {
                out.insert(id.clone(), state);
                false
            }
            None => true,
        });
        if wanted.is_empty() {
            return Ok(out);
        }
    }
    let client = Client::new(query.name, api, settings, requests, &authorization)?;
    let batch = match api.kind.value {
        ApiKind::JiraCloud => JIRA_CLOUD_BATCH,
        ApiKind::JiraDataCenter => JIRA_DC_BATCH,
        ApiKind::AzureBoards => AZURE_BATCH,
    };
    let batches: Vec<Vec<(String, String)>> = wanted.chunks(batch).map(<[_]>::to_vec).collect();
    let results: Vec<Result<Vec<(String, TicketState)>, Fatal>> =
        futures_util::stream::iter(batches.iter().map(|b| client.batch(b, &query.fields)))
            .buffer_unordered(CONCURRENT_REQUESTS)
            .collect()
            .await;
    let mut fresh = Vec::new();
    for result in results {
        fresh.extend(result?);
    }
    if let Ok(mut cached) = cache().lock() {
        for (id, state) in &fresh {
            cached.insert(cache_key(api, &query.fields, id), state.clone());
        }
    }
    if let Some((disk, _)) = kept {
        for (id, state) in &fresh {
            disk.put(&disk_key(id), state);
        }
    }
    out.extend(fresh);
    Ok(out)
}

/// The form of `id` sent to the tracker, when the pattern matches it whole
/// and it is an id this tracker can have ([`ApiKind::request_id`]).
fn sendable(tracker: &Tracker, kind: ApiKind, id: &str) -> Option<String> {
    if tracker.pattern.find_all(id).first() != Some(&id) {
        return None;
    }
    kind.request_id(id).ok()
}

/// The `Authorization` value for `api`, from the token (and, for Jira
/// Cloud, the user) in the environment; each secret is remembered for
/// redaction.
fn authorization(name: &str, api: &TrackerApi) -> Result<String, Fatal> {
    let env = |var: &str| {
        std::env::var(var)
            .ok()
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
            .ok_or_else(|| {
                Fatal::new(format!(
                    "tracker `{name}`: {var} is not set, so its tickets cannot be verified"
                ))
                .help(format!(
                    "set {var} where git-policy runs (in a workflow: `env: {var}: ${{{{ secrets.{var} }}}}`); see docs/trackers.md for the permissions it needs"
                ))
            })
    };
    let token = env(&api.token_env.value)?;
    remember_secret(&token);
    let authorization = match api.kind.value {
        ApiKind::JiraCloud => {
            let user_env = api.user_env.as_ref().map_or("", |u| u.value.as_str());
            let user = env(user_env)?;
            let basic = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{token}"));
            remember_secret(&basic);
            format!("Basic {basic}")
        }
        ApiKind::JiraDataCenter => format!("Bearer {token}"),
        ApiKind::AzureBoards => {
            let basic = base64::engine::general_purpose::STANDARD.encode(format!(":{token}"));
            remember_secret(&basic);
            format!("Basic {basic}")
        }
    };
    Ok(authorization)
}

/// A JQL string literal: `"…"` with `"` and `\` escaped. Ids are checked
/// to be keys before they get here; this keeps it so if that ever changes.
pub(crate) fn jql_string(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' | '\\' | '\'' => {
                out.push('\\');
                out.push(c);
            }
            c if c.is_control() => out.push(' '),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

struct Client<'a> {
    name: &'a str,
    api: &'a TrackerApi,
    http: octocrab::Octocrab,
    base: String,
    settings: Settings,
    requests: &'a AtomicUsize,
}

enum Failure {
    Retry(Fatal, Option<Duration>),
    Final(Fatal),
}

impl<'a> Client<'a> {
    fn new(
        name: &'a str,
        api: &'a TrackerApi,
        settings: Settings,
        requests: &'a AtomicUsize,
        authorization: &str,
    ) -> Result<Client<'a>, Fatal> {
        let base = api.url.value.trim().trim_end_matches('/').to_owned();
        let authorization = authorization.to_owned();
        let http = octocrab::OctocrabBuilder::new()
            .base_uri(base.as_str())
            .map_err(|_| Fatal::new(format!("tracker `{name}`: `{base}` is not a URL")))?
            .add_header(
                HeaderName::from_static("accept"),
                String::from("application/json"),
            )
            .add_header(HeaderName::from_static("authorization"), authorization)
            .set_connect_timeout(Some(settings.timeout))
            .set_read_timeout(Some(settings.timeout))
            .build()
            .map_err(|e| {
                Fatal::new(format!(
                    "cannot set up the client for tracker `{name}`: {e}"
                ))
            })?;
        Ok(Client {
            name,
            api,
            http,
            base,
            settings,
            requests,
        })
    }

    fn what(&self) -> String {
        format!(
            "tracker `{}` ({}, {})",
            self.name,
            self.api.kind.value.name(),
            self.base
        )
    }

    /// One batch: `(id as written, id as sent)` to each one's state.
    async fn batch(
        &self,
        ids: &[(String, String)],
        fields: &BTreeSet<String>,
    ) -> Result<Vec<(String, TicketState)>, Fatal> {
        match self.api.kind.value {
            ApiKind::JiraCloud | ApiKind::JiraDataCenter => self.jira_batch(ids, fields).await,
            ApiKind::AzureBoards => self.azure_batch(ids, fields).await,
        }
    }

    async fn jira_batch(
        &self,
        ids: &[(String, String)],
        fields: &BTreeSet<String>,
    ) -> Result<Vec<(String, TicketState)>, Fatal> {
        let mut wanted: Vec<String> = ["summary", "status", "issuetype", "project"]
            .map(String::from)
            .to_vec();
        for field in fields {
            if !wanted.contains(field) {
                wanted.push(field.clone());
            }
        }
        let keys: Vec<&str> = ids.iter().map(|(_, sent)| sent.as_str()).collect();
        let issues = match self.api.kind.value {
            ApiKind::JiraCloud => {
                let path = "/rest/api/3/issue/bulkfetch";
                let body =
                    json!({ "issueIdsOrKeys": keys, "fields": wanted, "fieldsByKeys": false });
                let answer = self.post(path, &body).await?;
                if let Some(errors) = answer.get("issueErrors").and_then(Value::as_array)
                    && !errors.is_empty()
                {
                    let said = errors
                        .iter()
                        .take(3)
                        .map(|e| {
                            e.get("errorMessage")
                                .and_then(Value::as_str)
                                .unwrap_or("an error")
                                .to_owned()
                        })
                        .collect::<Vec<_>>()
                        .join("; ");
                    return Err(Fatal::new(format!(
                        "{} could not return {} of the tickets asked for (POST {path}): {said}",
                        self.what(),
                        errors.len()
                    ))
                    .help("Jira reports these errors as passing: re-run the check"));
                }
                self.issues(&answer, path)?
            }
            _ => self.jira_search(&keys, &wanted).await?,
        };
        if issues.len() > keys.len() {
            return Err(self.off_shape(
                "the search",
                &format!(
                    "{} issues answered for {} keys asked",
                    issues.len(),
                    keys.len()
                ),
            ));
        }
        let mut by_key: BTreeMap<String, Ticket> = BTreeMap::new();
        for issue in &issues {
            let ticket = self.jira_ticket(issue, fields)?;
            if by_key.insert(ticket.key.clone(), ticket).is_some() {
                return Err(self.off_shape("the search", "an issue answered twice"));
            }
        }
        let asked: BTreeSet<&str> = keys.iter().copied().collect();
        let extra: Vec<&Ticket> = by_key
            .values()
            .filter(|t| !asked.contains(t.key.as_str()))
            .collect();
        let unanswered: Vec<&str> = keys
            .iter()
            .copied()
            .filter(|k| !by_key.contains_key(*k))
            .collect();
        // One key unanswered and one issue unasked: that issue is the key,
        // moved. More: the batch does not say which is which.
        let only_move = match (extra.as_slice(), unanswered.as_slice()) {
            ([ticket], [key]) => Some((*key, (*ticket).clone())),
            _ => None,
        };
        let mut out = Vec::new();
        for (written, sent) in ids {
            if let Some(ticket) = by_key.get(sent) {
                out.push((
                    written.clone(),
                    TicketState::Found(Box::new(ticket.clone())),
                ));
            } else if let Some((key, ticket)) = only_move.as_ref().filter(|(k, _)| k == sent) {
                let _ = key;
                out.push((
                    written.clone(),
                    TicketState::Found(Box::new(ticket.clone())),
                ));
            } else if !extra.is_empty() {
                // Jira answers a moved key under its new key, and a batch
                // does not say which key it answers: ask this one alone.
                out.push((
                    written.clone(),
                    self.jira_single(sent, &wanted, fields).await?,
                ));
            } else {
                out.push((written.clone(), TicketState::Absent));
            }
        }
        Ok(out)
    }

    /// Data Center: `key in (…)`, page by page; an unknown key is a
    /// warning (`validateQuery: warn`), not a failed batch.
    async fn jira_search(&self, keys: &[&str], wanted: &[String]) -> Result<Vec<Value>, Fatal> {
        let path = "/rest/api/2/search";
        let list: Vec<String> = keys.iter().map(|k| jql_string(k)).collect();
        let jql = format!("key in ({})", list.join(", "));
        let mut issues: Vec<Value> = Vec::new();
        let mut total: Option<u64> = None;
        for _ in 0..MAX_PAGES {
            let body = json!({
                "jql": jql,
                "startAt": issues.len(),
                "maxResults": JIRA_DC_BATCH,
                "fields": wanted,
                "validateQuery": "warn",
            });
            let answer = self.post(path, &body).await?;
            let page = self.issues(&answer, path)?;
            let said_total = answer.get("total").and_then(Value::as_u64).ok_or_else(|| {
                self.off_shape(&format!("POST {path}"), "no `total` in the answer")
            })?;
            let start = answer.get("startAt").and_then(Value::as_u64);
            if start.is_some_and(|s| s != issues.len() as u64) {
                return Err(self.off_shape(
                    &format!("POST {path}"),
                    "a page that starts elsewhere than asked",
                ));
            }
            if total.is_some_and(|t| t != said_total) {
                return Err(
                    self.off_shape(&format!("POST {path}"), "the total changed between pages")
                );
            }
            total = Some(said_total);
            if said_total > keys.len() as u64 {
                return Err(self.off_shape(
                    &format!("POST {path}"),
                    &format!("{said_total} issues for {} keys asked", keys.len()),
                ));
            }
            let empty = page.is_empty();
            issues.extend(page);
            if issues.len() as u64 >= said_total {
                if issues.len() as u64 > said_total {
                    return Err(
                        self.off_shape(&format!("POST {path}"), "more issues than its total")
                    );
                }
                return Ok(issues);
            }
            if empty {
                return Err(Fatal::new(format!(
                    "{} answered POST {path} short: {} of {said_total} issues, then an empty page",
                    self.what(),
                    issues.len()
                ))
                .help("re-run the check; git-policy never judges a partial answer"));
            }
        }
        Err(Fatal::new(format!(
            "{} pages POST {path} without end",
            self.what()
        )))
    }

    async fn jira_single(
        &self,
        key: &str,
        wanted: &[String],
        fields: &BTreeSet<String>,
    ) -> Result<TicketState, Fatal> {
        let version = match self.api.kind.value {
            ApiKind::JiraCloud => 3,
            _ => 2,
        };
        // `key` is an upper-case key (checked before): safe in a path.
        let path = format!(
            "/rest/api/{version}/issue/{key}?fields={}",
            wanted.join(",")
        );
        match self.send(http::Method::GET, &path, None, true).await? {
            None => Ok(TicketState::Absent),
            Some(issue) => Ok(TicketState::Found(Box::new(
                self.jira_ticket(&issue, fields)?,
            ))),
        }
    }

    fn issues(&self, answer: &Value, path: &str) -> Result<Vec<Value>, Fatal> {
        match answer.get("issues") {
            Some(Value::Array(issues)) => Ok(issues.clone()),
            None if answer.get("issueErrors").is_some() => Ok(Vec::new()),
            _ => Err(self.off_shape(&format!("POST {path}"), "no `issues` list")),
        }
    }

    fn jira_ticket(&self, issue: &Value, fields: &BTreeSet<String>) -> Result<Ticket, Fatal> {
        let what = "an issue";
        let text = |v: Option<&Value>, field: &str| -> Result<String, Fatal> {
            v.and_then(Value::as_str)
                .map(str::to_owned)
                .ok_or_else(|| self.off_shape(what, &format!("no `{field}`")))
        };
        let key = text(issue.get("key"), "key")?;
        let f = issue
            .get("fields")
            .filter(|f| f.is_object())
            .ok_or_else(|| self.off_shape(what, "no `fields`"))?;
        let status = f.get("status");
        let category = status.and_then(|s| s.get("statusCategory")).and_then(|c| {
            Some((
                c.get("name")?.as_str()?.to_owned(),
                c.get("key")?.as_str()?.to_owned(),
            ))
        });
        Ok(Ticket {
            project: text(
                f.get("project").and_then(|p| p.get("key")),
                "fields.project.key",
            )?,
            area: None,
            kind: text(
                f.get("issuetype").and_then(|t| t.get("name")),
                "fields.issuetype.name",
            )?,
            status: text(status.and_then(|s| s.get("name")), "fields.status.name")?,
            status_category: category,
            summary: text(f.get("summary"), "fields.summary")?,
            fields: fields
                .iter()
                .map(|name| (name.clone(), f.get(name).and_then(text_of)))
                .collect(),
            link: Some(format!("{}/browse/{key}", self.base)),
            key,
        })
    }

    async fn azure_batch(
        &self,
        ids: &[(String, String)],
        fields: &BTreeSet<String>,
    ) -> Result<Vec<(String, TicketState)>, Fatal> {
        let project = self.api.project.as_ref().map_or("", |p| p.value.as_str());
        let path = format!(
            "/{}/_apis/wit/workitemsbatch?api-version=7.1",
            percent_encoding::utf8_percent_encode(project, PATH_SEGMENT)
        );
        let mut wanted: Vec<String> = [
            "System.Id",
            "System.Title",
            "System.WorkItemType",
            "System.State",
            "System.TeamProject",
            "System.AreaPath",
        ]
        .map(String::from)
        .to_vec();
        for field in fields {
            if !wanted.contains(field) {
                wanted.push(field.clone());
            }
        }
        let numbers: Vec<u64> = ids
            .iter()
            .filter_map(|(_, sent)| sent.parse().ok())
            .collect();
        let body = json!({ "ids": numbers, "fields": wanted, "errorPolicy": "omit" });
        let answer = self.post(&path, &body).await?;
        let what = format!("POST {path}");
        let Some(Value::Array(items)) = answer.get("value") else {
            return Err(self.off_shape(&what, "no `value` list"));
        };
        let count = answer.get("count").and_then(Value::as_u64);
        // `omit` answers each id asked, in order, null for one it cannot give.
        if count != Some(items.len() as u64) || items.len() != numbers.len() {
            return Err(Fatal::new(format!(
                "{} answered {what} short: {} item(s) (count {}) for {} work items asked",
                self.what(),
                items.len(),
                count.map_or_else(|| String::from("missing"), |c| c.to_string()),
                numbers.len()
            ))
            .help("re-run the check; git-policy never judges a partial answer"));
        }
        let mut by_id: BTreeMap<u64, Ticket> = BTreeMap::new();
        for item in items.iter().filter(|i| !i.is_null()) {
            let (id, ticket) = self.azure_ticket(item, fields)?;
            if !numbers.contains(&id) || by_id.insert(id, ticket).is_some() {
                return Err(
                    self.off_shape(&what, &format!("work item {id} answered unasked or twice"))
                );
            }
        }
        Ok(ids
            .iter()
            .map(|(written, sent)| {
                let state = sent.parse::<u64>().ok().and_then(|n| by_id.get(&n)).map_or(
                    TicketState::Absent,
                    |t| {
                        let mut t = t.clone();
                        // Work items keep their number: the key is the id as written.
                        t.key = written.clone();
                        TicketState::Found(Box::new(t))
                    },
                );
                (written.clone(), state)
            })
            .collect())
    }

    fn azure_ticket(
        &self,
        item: &Value,
        fields: &BTreeSet<String>,
    ) -> Result<(u64, Ticket), Fatal> {
        let what = "a work item";
        let id = item
            .get("id")
            .and_then(Value::as_u64)
            .ok_or_else(|| self.off_shape(what, "no `id`"))?;
        let f = item
            .get("fields")
            .filter(|f| f.is_object())
            .ok_or_else(|| self.off_shape(what, "no `fields`"))?;
        let text = |name: &str| -> Result<String, Fatal> {
            f.get(name)
                .and_then(Value::as_str)
                .map(str::to_owned)
                .ok_or_else(|| self.off_shape(what, &format!("no `{name}` on work item {id}")))
        };
        Ok((
            id,
            Ticket {
                key: id.to_string(),
                project: text("System.TeamProject")?,
                area: Some(text("System.AreaPath")?),
                kind: text("System.WorkItemType")?,
                status: text("System.State")?,
                status_category: None,
                summary: text("System.Title")?,
                fields: fields
                    .iter()
                    .map(|name| (name.clone(), f.get(name).and_then(text_of)))
                    .collect(),
                link: Some(format!("{}/_workitems/edit/{id}", self.base)),
            },
        ))
    }

    fn off_shape(&self, what: &str, detail: &str) -> Fatal {
        Fatal::new(format!(
            "{}'s answer to {what} is off its documented shape: {detail}",
            self.what()
        ))
        .help("git-policy judges only complete, well-formed answers: re-run the check; if it persists, the tracker (or a proxy in front of it) is misbehaving")
    }

    async fn post(&self, path: &str, body: &Value) -> Result<Value, Fatal> {
        self.send(http::Method::POST, path, Some(body), false)
            .await?
            .ok_or_else(|| {
                Fatal::new(format!(
                    "{} found nothing at POST {path} (404)",
                    self.what()
                ))
            })
    }

    /// Sends a request, retrying what may pass on retry (reads only: these
    /// POSTs read). `missing_ok`: a 404 is `None`.
    async fn send(
        &self,
        method: http::Method,
        path: &str,
        body: Option<&Value>,
        missing_ok: bool,
    ) -> Result<Option<Value>, Fatal> {
        let mut last = None;
        for attempt in 0..ATTEMPTS {
            match self.attempt(&method, path, body, missing_ok).await {
                Ok(value) => return Ok(value),
                Err(Failure::Final(fatal)) => return Err(fatal),
                Err(Failure::Retry(fatal, wait)) => {
                    if attempt + 1 < ATTEMPTS {
                        tokio::time::sleep(wait.unwrap_or(self.settings.retry_delay)).await;
                    }
                    last = Some(fatal);
                }
            }
        }
        let fatal = last.unwrap_or_else(|| Fatal::new("no attempt"));
        Err(Fatal {
            message: format!("{} (after {ATTEMPTS} attempts)", fatal.message),
            help: fatal.help,
        })
    }

    async fn attempt(
        &self,
        method: &http::Method,
        path: &str,
        body: Option<&Value>,
        missing_ok: bool,
    ) -> Result<Option<Value>, Failure> {
        self.requests.fetch_add(1, Ordering::Relaxed);
        let url = format!("{}{path}", self.base);
        let what = format!("{method} {}", path.split('?').next().unwrap_or(path));
        let send = async {
            let response = match *method {
                http::Method::POST => self.http._post(url.as_str(), body).await?,
                _ => self.http._get(url.as_str()).await?,
            };
            let status = response.status().as_u16();
            let headers = response.headers().clone();
            let text = self.http.body_to_string(response).await?;
            Ok::<_, octocrab::Error>((status, headers, text))
        };
        let (status, headers, text) = match tokio::time::timeout(self.settings.timeout, send).await
        {
            Err(_) => {
                return Err(Failure::Retry(
                    Fatal::new(format!(
                        "{} did not answer {what} within {:.1} s",
                        self.what(),
                        self.settings.timeout.as_secs_f64()
                    ))
                    .help("the tracker may be slow or down: re-run the check; an unverified ticket never passes"),
                    None,
                ));
            }
            Ok(Err(e)) => {
                let said = e.to_string();
                return Err(Failure::Retry(
                    Fatal::new(format!(
                        "cannot reach {} for {what}: {}",
                        self.what(),
                        said.lines().next().unwrap_or("")
                    ))
                    .help("check the tracker's `api: url` and the network"),
                    None,
                ));
            }
            Ok(Ok(answer)) => answer,
        };
        if (200..300).contains(&status) {
            return serde_json::from_str(&text).map(Some).map_err(|e| {
                Failure::Final(
                    Fatal::new(format!(
                        "{} answered {what} with invalid JSON: {e}",
                        self.what()
                    ))
                    .help("re-run the check; if it persists, the tracker (or a proxy in front of it) is failing"),
                )
            });
        }
        if status == 404 && missing_ok {
            return Ok(None);
        }
        Err(self.status_failure(status, &headers, &what))
    }

    fn status_failure(&self, status: u16, headers: &HeaderMap, what: &str) -> Failure {
        let tracker = self.what();
        let token = &self.api.token_env.value;
        match status {
            401 => Failure::Final(
                Fatal::new(format!("{tracker} rejected the credentials (401) for {what}"))
                    .help(format!("check {token}{}: it may be expired or revoked", match &self.api.user_env {
                        Some(user) => format!(" and {}", user.value),
                        None => String::new(),
                    })),
            ),
            403 => Failure::Final(
                Fatal::new(format!("{tracker} refused {what} (403)"))
                    .help(format!("the account behind {token} lacks a permission (docs/trackers.md lists what each tracker needs)")),
            ),
            429 => {
                let wait = headers
                    .get("retry-after")
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.trim().parse::<u64>().ok())
                    .map(Duration::from_secs);
                let fatal = Fatal::new(format!("{tracker} is throttling requests (429) for {what}"))
                    .help("wait and re-run the check");
                match wait {
                    Some(wait) if wait > LONGEST_RETRY_AFTER => Failure::Final(Fatal {
                        message: format!("{}; it asks to retry after {} s", fatal.message, wait.as_secs()),
                        help: fatal.help,
                    }),
                    wait => Failure::Retry(fatal, wait),
                }
            }
            500..=599 => Failure::Retry(
                Fatal::new(format!("{tracker} failed {what} ({status})"))
                    .help("the tracker is having trouble: re-run the check"),
                None,
            ),
            _ => Failure::Final(Fatal::new(format!("{tracker} answered {what} with {status}"))),
        }
    }
}

/// Characters escaped in a path segment (the Azure project name).
const PATH_SEGMENT: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// A field's value as text: strings as they are, Jira's document format
/// (ADF) by its text nodes, options and users by their name, lists joined.
/// `None`: absent or empty.
pub(crate) fn text_of(value: &Value) -> Option<String> {
    let text = match value {
        Value::Null => return None,
        Value::String(s) => s.clone(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::Array(items) => items
            .iter()
            .filter_map(text_of)
            .collect::<Vec<_>>()
            .join(", "),
        Value::Object(map) => {
            if map.get("type").and_then(Value::as_str) == Some("doc") {
                let mut out = String::new();
                adf_text(value, &mut out);
                out
            } else if let Some(named) = ["value", "name", "displayName"]
                .iter()
                .find_map(|k| map.get(*k).and_then(Value::as_str))
            {
                named.to_owned()
            } else {
                value.to_string()
            }
        }
    };
    (!text.trim().is_empty()).then_some(text)
}

fn adf_text(node: &Value, out: &mut String) {
    if let Some(text) = node.get("text").and_then(Value::as_str) {
        out.push_str(text);
        out.push(' ');
    }
    if let Some(content) = node.get("content").and_then(Value::as_array) {
        for child in content {
            adf_text(child, out);
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_token_stays_redacted_after_a_panic_poisoned_the_store() {
        super::remember_secret("jira-token-that-must-stay-secret");
        let poisoned = std::thread::spawn(|| {
            let _held = super::SECRETS.get().unwrap().lock();
            panic!("poison the store");
        })
        .join();
        assert!(poisoned.is_err());
        assert!(super::SECRETS.get().unwrap().is_poisoned());
        super::remember_secret("azure-token-read-after-the-panic");
        let secrets = super::secrets();
        assert!(
            secrets
                .iter()
                .any(|s| s == "jira-token-that-must-stay-secret")
        );
        assert!(
            secrets
                .iter()
                .any(|s| s == "azure-token-read-after-the-panic")
        );
    }

    use super::*;

    #[test]
    fn jql_strings_are_quoted_and_escaped() {
        assert_eq!(jql_string("EPL-1"), "\"EPL-1\"");
        assert_eq!(
            jql_string("A-1\") OR project = X OR key in (\"B"),
            "\"A-1\\\") OR project = X OR key in (\\\"B\""
        );
        assert_eq!(jql_string("a\\b'c\n"), "\"a\\\\b\\'c \"");
    }

    #[test]
    fn field_values_read_as_text() {
        let adf = json!({"type": "doc", "version": 1, "content": [{"type": "paragraph", "content": [{"type": "text", "text": "Open the page"}]}]});
        assert_eq!(
            text_of(&adf).as_deref().map(str::trim),
            Some("Open the page")
        );
        assert_eq!(
            text_of(&json!({"name": "High", "id": "2"})).as_deref(),
            Some("High")
        );
        assert_eq!(text_of(&json!(2)).as_deref(), Some("2"));
        assert_eq!(text_of(&json!("")), None);
        assert_eq!(text_of(&json!([])), None);
        assert_eq!(text_of(&Value::Null), None);
    }
}
