//! The GitHub REST API, through octocrab (rustls). Every failure is a
//! [`Fatal`] that says what failed and how to fix it; nothing is guessed.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use futures_util::future::try_join_all;
use http::HeaderMap;
use http::header::HeaderName;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use serde_json::Value;

use super::Fatal;

/// Characters escaped in a query value (everything but unreserved ones).
const QUERY_VALUE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// A GitHub API client for one run.
pub struct GitHub {
    client: octocrab::Octocrab,
    base: String,
    timeout: Duration,
    retry_delay: Duration,
    authenticated: bool,
    /// Longest wait for a rate limit (`Retry-After`, `X-RateLimit-Reset`)
    /// within one run; a longer one is exit 2.
    longest_wait: Duration,
    /// Requests sent (retries included), for the benchmark.
    pub(crate) requests: AtomicUsize,
}

/// Whether `name` is a GitHub `owner/name`: an owner of letters, digits and
/// `-`, a name of letters, digits, `.`, `_` and `-` (not `.` or `..`).
pub(crate) fn is_repository_name(name: &str) -> bool {
    let Some((owner, repo)) = name.split_once('/') else {
        return false;
    };
    !owner.is_empty()
        && owner
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        && !repo.is_empty()
        && repo != "."
        && repo != ".."
        && repo
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

/// Attempts for a request that fails with 5xx, 429 or a timeout.
const ATTEMPTS: u32 = 3;
/// Longest `Retry-After` worth waiting for within one run.
const LONGEST_RETRY_AFTER: u64 = 5;
pub(crate) const PER_PAGE: u32 = 100;

impl GitHub {
    /// `api` is `GITHUB_API_URL` (default `https://api.github.com`).
    pub(crate) fn new(
        api: &str,
        token: Option<&str>,
        timeout: Duration,
        retry_delay: Duration,
    ) -> Result<GitHub, Fatal> {
        let base = api.trim_end_matches('/').to_owned();
        let mut builder = octocrab::OctocrabBuilder::new()
            .base_uri(base.as_str())
            .map_err(|_| {
                Fatal::new(format!("GITHUB_API_URL `{api}` is not a URL"))
                    .help("unset it to use https://api.github.com")
            })?
            .add_header(
                HeaderName::from_static("accept"),
                String::from("application/vnd.github+json"),
            )
            .add_header(
                HeaderName::from_static("x-github-api-version"),
                String::from("2022-11-28"),
            )
            .set_connect_timeout(Some(timeout))
            .set_read_timeout(Some(timeout));
        let authenticated = token.is_some_and(|t| !t.is_empty());
        if let Some(token) = token.filter(|t| !t.is_empty()) {
            builder = builder.personal_token(token.to_owned());
        }
        let client = builder
            .build()
            .map_err(|e| Fatal::new(format!("cannot set up the GitHub client: {e}")))?;
        Ok(GitHub {
            client,
            base,
            timeout,
            retry_delay,
            authenticated,
            longest_wait: Duration::from_secs(LONGEST_RETRY_AFTER),
            requests: AtomicUsize::new(0),
        })
    }

    /// Waits for rate limits up to `longest` (default 5 s) instead of stopping.
    pub(crate) fn wait_for_rate_limits_up_to(&mut self, longest: Duration) {
        self.longest_wait = longest;
    }

    /// GET one resource as JSON, retrying what may pass on retry.
    pub(crate) async fn get(&self, path: &str) -> Result<(Value, HeaderMap), Fatal> {
        self.get_maybe(path, false)
            .await
            .map(|found| found.unwrap_or((Value::Null, HeaderMap::new())))
    }

    /// GET a resource that may not exist: 404 is `None`.
    pub(crate) async fn get_optional(&self, path: &str) -> Result<Option<Value>, Fatal> {
        Ok(self.get_maybe(path, true).await?.map(|(v, _)| v))
    }

    async fn get_maybe(
        &self,
        path: &str,
        missing_ok: bool,
    ) -> Result<Option<(Value, HeaderMap)>, Fatal> {
        self.get_maybe_inner(path, missing_ok).await.map_err(|f| {
            if self.authenticated {
                return f;
            }
            // Without a token most failures have that cause: say so first.
            Fatal {
                message: format!("no GITHUB_TOKEN is set: {}", f.message),
                help: Some(String::from(
                    "set GITHUB_TOKEN (in Actions: the action's `token` input, default `${{ github.token }}`); to try a policy on a recorded event without the API, run `git-policy check pr --event FILE --offline` in a clone",
                )),
            }
        })
    }

    async fn get_maybe_inner(
        &self,
        path: &str,
        missing_ok: bool,
    ) -> Result<Option<(Value, HeaderMap)>, Fatal> {
        let url = format!("{}{path}", self.base);
        let mut last = None;
        for attempt in 1..=ATTEMPTS {
            match self.attempt(&url, path, missing_ok).await {
                Ok(found) => return Ok(found),
                Err(Failure::Final(fatal)) => return Err(fatal),
                Err(Failure::Retry(fatal, wait)) => {
                    last = Some(fatal);
                    if attempt < ATTEMPTS {
                        tokio::time::sleep(wait.unwrap_or(self.retry_delay * attempt)).await;
                    }
                }
            }
        }
        let fatal = last.unwrap_or_else(|| Fatal::new(format!("GitHub request {path} failed")));
        Err(Fatal {
            message: format!("{} (after {ATTEMPTS} attempts)", fatal.message),
            help: fatal.help,
        })
    }

    async fn attempt(
        &self,
        url: &str,
        path: &str,
        missing_ok: bool,
    ) -> Result<Option<(Value, HeaderMap)>, Failure> {
        self.requests.fetch_add(1, Ordering::Relaxed);
        let send = async {
            let response = self.client._get(url).await?;
            let status = response.status();
            let headers = response.headers().clone();
            let body = self.client.body_to_string(response).await?;
            Ok::<_, octocrab::Error>((status, headers, body))
        };
        let (status, headers, body) = match tokio::time::timeout(self.timeout, send).await {
            Err(_) => {
                return Err(Failure::Retry(
                    Fatal::new(format!("GitHub did not answer GET {path} within {:.1} s", self.timeout.as_secs_f64()))
                        .help("GitHub may be slow or down: re-run the job; git-policy never passes a check it could not finish"),
                    None,
                ));
            }
            Ok(Err(e)) => {
                return Err(Failure::Retry(
                    Fatal::new(format!(
                        "cannot reach GitHub for GET {path}: {}",
                        first_line(&e.to_string())
                    ))
                    .help(format!(
                        "check GITHUB_API_URL ({}) and the network",
                        self.base
                    )),
                    None,
                ));
            }
            Ok(Ok(answer)) => answer,
        };
        if status.is_success() {
            let value = serde_json::from_str(&body).map_err(|e| {
                Failure::Final(
                    Fatal::new(format!("GitHub answered GET {path} with invalid JSON: {e}"))
                        .help("re-run the job; if it persists, GitHub is failing"),
                )
            })?;
            return Ok(Some((value, headers)));
        }
        if missing_ok && status.as_u16() == 404 {
            return Ok(None);
        }
        Err(self.status_failure(status.as_u16(), &headers, &body, &format!("GET {path}")))
    }

    fn status_failure(&self, status: u16, headers: &HeaderMap, body: &str, what: &str) -> Failure {
        let said = serde_json::from_str::<Value>(body)
            .ok()
            .and_then(|v| v.get("message").and_then(Value::as_str).map(str::to_owned))
            .unwrap_or_default();
        let said = if said.is_empty() {
            String::new()
        } else {
            format!(": {said}")
        };
        let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
        match status {
            401 => Failure::Final(
                Fatal::new(format!("GitHub rejected the token (401{said}) for {what}"))
                    .help("check GITHUB_TOKEN (in a workflow: the action's `token` input, default `${{ github.token }}`)"),
            ),
            403 | 429 if header("x-ratelimit-remaining") == Some("0") => {
                let reset = header("x-ratelimit-reset").and_then(|r| r.parse::<u64>().ok());
                let fatal = Fatal::new(format!("GitHub's API rate limit is used up ({status}) for {what}; {}", describe_reset(reset)))
                    .help(if self.authenticated {
                        "wait for the reset and re-run the job"
                    } else {
                        "give a token (GITHUB_TOKEN): authenticated requests have a much higher limit"
                    });
                // A reset soon enough is waited for; a later one stops the run.
                match reset.map(|r| r.saturating_sub(now_secs())) {
                    Some(secs) if Duration::from_secs(secs) <= self.longest_wait => {
                        Failure::Retry(fatal, Some(Duration::from_secs(secs + 1)))
                    }
                    _ => Failure::Final(fatal),
                }
            }
            403 | 429 if header("retry-after").is_some() => {
                let wait = header("retry-after").and_then(|r| r.parse::<u64>().ok());
                let fatal = Fatal::new(format!("GitHub is throttling requests ({status}{said}) for {what}"))
                    .help("wait a minute and re-run the job");
                match wait {
                    Some(secs) if Duration::from_secs(secs) > self.longest_wait => Failure::Final(Fatal {
                        message: format!("{}; GitHub asks to retry after {secs} s", fatal.message),
                        help: fatal.help,
                    }),
                    Some(secs) => Failure::Retry(fatal, Some(Duration::from_secs(secs))),
                    None => Failure::Retry(fatal, None),
                }
            }
            429 => Failure::Retry(
                Fatal::new(format!("GitHub is throttling requests (429{said}) for {what}"))
                    .help("wait a minute and re-run the job"),
                None,
            ),
            403 => Failure::Final(
                Fatal::new(format!("GitHub refused {what} (403{said})"))
                    .help("the token lacks a permission: in a workflow, grant `permissions: contents: read, pull-requests: read`; reading org teams needs members:read"),
            ),
            404 => Failure::Final(
                Fatal::new(format!("GitHub found nothing at {what} (404{said})"))
                    .help("check the repository and number; a token without access to a private repository also gets 404"),
            ),
            500..=599 => Failure::Retry(Fatal::new(format!("GitHub failed {what} ({status}{said})")).help("GitHub is having trouble: re-run the job"), None),
            _ => Failure::Final(Fatal::new(format!("GitHub answered {what} with {status}{said}"))),
        }
    }

    /// Every item of a paginated list of at most `cap` items (the
    /// endpoint's documented maximum, or [`MAX_ITEMS`]). The first page tells
    /// how many pages there are (`Link: rel="last"`); the rest are fetched at
    /// once. A list announced past its cap, a `next` link that never ends, or
    /// a page that repeats the previous one is exit 2: never a truncated list.
    pub(crate) async fn all(&self, path: &str, cap: usize) -> Result<Vec<Value>, Fatal> {
        let sep = if path.contains('?') { '&' } else { '?' };
        let first = format!("{path}{sep}per_page={PER_PAGE}");
        let max_pages = cap.div_ceil(PER_PAGE as usize).max(1);
        let too_long = |pages: String| {
            Fatal::new(format!(
                "GitHub announces {pages} pages for GET {path}, more than the {max_pages} page(s) this list can have ({cap} items at most); the answer cannot be trusted"
            ))
            .help("re-run the job; if it persists, the API (or a proxy in front of it) is misbehaving")
        };
        let (value, headers) = self.get(&first).await?;
        let mut items = array(value, path)?;
        let link = link_header(&headers, path)?;
        if let Some(last) = last_page(&link) {
            if last as usize > max_pages {
                return Err(too_long(last.to_string()));
            }
            let pages = (2..=last).map(|page| {
                let url = format!("{first}&page={page}");
                async move { self.get(&url).await.and_then(|(v, _)| array(v, path)) }
            });
            for page in try_join_all(pages).await? {
                items.extend(page);
            }
        } else if has_next(&link) {
            // No last page announced: follow `next` one page at a time.
            let mut previous = items.clone();
            let mut page = 2usize;
            loop {
                if page > max_pages {
                    return Err(too_long(format!("more than {max_pages}")));
                }
                let (value, headers) = self.get(&format!("{first}&page={page}")).await?;
                let got = array(value, path)?;
                if got.is_empty() || got == previous {
                    return Err(Fatal::new(format!(
                        "GitHub's page {page} of GET {path} is {} while a `next` page was announced; the list cannot be trusted",
                        if got.is_empty() { "empty" } else { "a repeat of the page before it" }
                    ))
                    .help("re-run the job; if it persists, the API (or a proxy in front of it) is misbehaving"));
                }
                items.extend(got.iter().cloned());
                previous = got;
                if !has_next(&link_header(&headers, path)?) {
                    break;
                }
                page += 1;
            }
        }
        if items.len() > cap {
            return Err(Fatal::new(format!(
                "GitHub listed {} items for GET {path}, more than the {cap} it can list; the answer cannot be trusted",
                items.len()
            )));
        }
        Ok(items)
    }
}

/// The status and JSON body of a request sent once ([`GitHub::send`]).
pub(crate) struct Answer {
    pub(crate) status: u16,
    /// `null` when the body is empty (204) or, on a failure, not JSON.
    pub(crate) body: Value,
}

impl Answer {
    pub(crate) fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// GitHub's `message`, or the status.
    pub(crate) fn said(&self) -> String {
        match self.body.get("message").and_then(Value::as_str) {
            Some(m) if !m.is_empty() => format!("{}: {m}", self.status),
            _ => self.status.to_string(),
        }
    }
}

impl GitHub {
    /// Sends one request (writes: POST, PATCH, DELETE; or a GET whose
    /// failure the caller judges) and returns its status and body. Sent
    /// once, never retried: a retried POST could comment twice.
    pub(crate) async fn send(
        &self,
        method: http::Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<Answer, Fatal> {
        self.requests.fetch_add(1, Ordering::Relaxed);
        let url = format!("{}{path}", self.base);
        let send = async {
            let response = match method.as_str() {
                "POST" => self.client._post(url.as_str(), body).await?,
                "PATCH" => self.client._patch(url.as_str(), body).await?,
                "DELETE" => self.client._delete(url.as_str(), body).await?,
                _ => self.client._get(url.as_str()).await?,
            };
            let status = response.status().as_u16();
            let text = self.client.body_to_string(response).await?;
            Ok::<_, octocrab::Error>((status, text))
        };
        let (status, text) = match tokio::time::timeout(self.timeout, send).await {
            Err(_) => {
                return Err(Fatal::new(format!(
                    "GitHub did not answer {method} {path} within {:.1} s",
                    self.timeout.as_secs_f64()
                )));
            }
            Ok(Err(e)) => {
                return Err(Fatal::new(format!(
                    "cannot reach GitHub for {method} {path}: {}",
                    first_line(&e.to_string())
                )));
            }
            Ok(Ok(answer)) => answer,
        };
        let body = if text.trim().is_empty() {
            Value::Null
        } else {
            match serde_json::from_str(&text) {
                Ok(v) => v,
                Err(e) if (200..300).contains(&status) => {
                    return Err(Fatal::new(format!(
                        "GitHub answered {method} {path} with invalid JSON: {e}"
                    )));
                }
                Err(_) => Value::Null,
            }
        };
        Ok(Answer { status, body })
    }
}

/// Most items read from one list that documents no maximum (100 pages).
pub(crate) const MAX_ITEMS: usize = 10_000;

fn link_header(headers: &HeaderMap, path: &str) -> Result<String, Fatal> {
    match headers.get("link") {
        None => Ok(String::new()),
        Some(v) => v.to_str().map(str::to_owned).map_err(|_| {
            Fatal::new(format!(
                "GitHub's Link header for GET {path} is not text; the list cannot be paged"
            ))
        }),
    }
}

fn has_next(link: &str) -> bool {
    link.split(',').any(|part| part.contains("rel=\"next\""))
}

/// Decodes an API answer into a strict type: a field missing, null where
/// it may not be, or of the wrong type is exit 2 naming the endpoint and field.
pub(crate) fn decode<T: serde::de::DeserializeOwned>(
    value: &Value,
    what: &str,
) -> Result<T, Fatal> {
    serde_path_to_error::deserialize(value).map_err(|e: serde_path_to_error::Error<serde_json::Error>| {
        let at = e.path().to_string();
        let at = if at == "." { String::from("the top level") } else { format!("`{at}`") };
        Fatal::new(format!(
            "GitHub's answer to {what} is off its documented shape at {at}: {}",
            e.inner()
        ))
        .help("git-policy judges only complete, well-formed facts: re-run the job; if it persists, the API (or a proxy in front of it) is misbehaving")
    })
}

/// A commit id as the API sends it: 40 (SHA-1) or 64 (SHA-256) lowercase hex digits.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct Sha(pub String);

impl Sha {
    pub(crate) fn is_valid(text: &str) -> bool {
        matches!(text.len(), 40 | 64)
            && text
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    }
}

impl<'de> serde::Deserialize<'de> for Sha {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Sha, D::Error> {
        let text = String::deserialize(d)?;
        if Sha::is_valid(&text) {
            Ok(Sha(text))
        } else {
            Err(serde::de::Error::custom(format!(
                "`{}` is not a commit id (40 or 64 lowercase hex digits)",
                text.chars().take(80).collect::<String>()
            )))
        }
    }
}

/// Network settings from the environment: `GITHUB_API_URL`, `GITHUB_TOKEN`,
/// `GIT_POLICY_HTTP_TIMEOUT` and `GIT_POLICY_RETRY_DELAY` (seconds).
pub struct Settings {
    pub api: String,
    pub token: Option<String>,
    pub timeout: Duration,
    pub retry_delay: Duration,
}

impl Settings {
    pub(crate) fn from_env() -> Result<Settings, Fatal> {
        Ok(Settings {
            api: std::env::var("GITHUB_API_URL")
                .ok()
                .filter(|u| !u.is_empty())
                .unwrap_or_else(|| String::from("https://api.github.com")),
            token: std::env::var("GITHUB_TOKEN").ok().filter(|t| !t.is_empty()),
            timeout: seconds_from_env("GIT_POLICY_HTTP_TIMEOUT", 30.0, 0.001, 3600.0)?,
            retry_delay: seconds_from_env("GIT_POLICY_RETRY_DELAY", 1.0, 0.0, 600.0)?,
        })
    }

    /// The one place a command connects to GitHub: a current-thread
    /// runtime, and the client built inside it (octocrab's client starts a
    /// background task), with these settings' token.
    pub fn connect(&self) -> Result<Connection, Fatal> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| Fatal::new(format!("cannot start the async runtime: {e}")))?;
        let gh = {
            let _inside = runtime.enter();
            GitHub::new(
                &self.api,
                self.token.as_deref(),
                self.timeout,
                self.retry_delay,
            )?
        };
        Ok(Connection { runtime, gh })
    }
}

/// A runtime and the GitHub client that lives in it ([`Settings::connect`]).
pub struct Connection {
    pub runtime: tokio::runtime::Runtime,
    pub gh: GitHub,
}

/// A duration in seconds from `var`: unset or empty gives `default`; anything
/// but a finite number within `min..=max` is a usage error.
pub(crate) fn seconds_from_env(
    var: &str,
    default: f64,
    min: f64,
    max: f64,
) -> Result<Duration, Fatal> {
    let Some(text) = std::env::var_os(var).filter(|v| !v.is_empty()) else {
        return Ok(Duration::from_secs_f64(default));
    };
    let text = text.to_string_lossy();
    match text.trim().parse::<f64>() {
        Ok(secs) if secs.is_finite() && (min..=max).contains(&secs) => {
            Ok(Duration::from_secs_f64(secs))
        }
        _ => Err(Fatal::new(format!(
            "{var}=`{}` is not a number of seconds between {min} and {max}",
            text.chars().take(40).collect::<String>()
        ))
        .help(format!(
            "set {var} to seconds, e.g. {var}={default}, or unset it"
        ))),
    }
}

enum Failure {
    /// Retrying may help (5xx, 429, timeouts); an optional wait.
    Retry(Fatal, Option<Duration>),
    Final(Fatal),
}

fn array(value: Value, path: &str) -> Result<Vec<Value>, Fatal> {
    match value {
        Value::Array(items) => Ok(items),
        other => Err(Fatal::new(format!(
            "GitHub answered GET {path} with {} where a list was expected",
            kind(&other)
        ))),
    }
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

fn first_line(text: &str) -> &str {
    text.lines().next().unwrap_or(text)
}

/// The page number of `rel="last"` in a `Link` header (`Some(u32::MAX)`
/// when it is announced but unreadable, so the caller's bound refuses it).
pub(crate) fn last_page(link: &str) -> Option<u32> {
    let part = link.split(',').find(|part| part.contains("rel=\"last\""))?;
    Some(last_page_number(part).unwrap_or(u32::MAX))
}

fn last_page_number(part: &str) -> Option<u32> {
    let url = part.split(['<', '>']).nth(1)?;
    url.split(['?', '&'])
        .find_map(|kv| kv.strip_prefix("page="))
        .and_then(|n| n.parse().ok())
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// "resets at 14:05:00 UTC (in 12 min)".
fn describe_reset(reset: Option<u64>) -> String {
    let Some(reset) = reset else {
        return String::from("GitHub did not say when it resets");
    };
    let now = now_secs();
    let in_minutes = reset.saturating_sub(now).div_ceil(60);
    let day = reset % 86_400;
    format!(
        "it resets at {:02}:{:02}:{:02} UTC (in {in_minutes} min)",
        day / 3600,
        day % 3600 / 60,
        day % 60
    )
}

/// The commit a branch points at now (`GET /repos/{repo}/git/ref/heads/{branch}`):
/// where a pull request's merge will land. A branch GitHub does not have, or
/// an answer that is not exactly that branch's commit, is exit 2.
pub(crate) async fn branch_tip(gh: &GitHub, repo: &str, branch: &str) -> Result<String, Fatal> {
    let shown = crate::report::inert::one_line(branch).into_owned();
    let encoded: Vec<String> = branch.split('/').map(percent_encode).collect();
    let path = format!("/repos/{repo}/git/ref/heads/{}", encoded.join("/"));
    let Some(answer) = gh.get_optional(&path).await? else {
        return Err(Fatal::new(format!(
            "GitHub has no branch `{shown}` (the pull request's base): the policy it will merge under cannot be read"
        ))
        .help("re-run the check once the base branch exists; a pull request whose base was deleted cannot be merged"));
    };
    let wanted = format!("refs/heads/{branch}");
    let named = answer.get("ref").and_then(Value::as_str);
    let object = answer.get("object");
    let kind = object.and_then(|o| o.get("type")).and_then(Value::as_str);
    let sha = object.and_then(|o| o.get("sha")).and_then(Value::as_str);
    match (named, kind, sha) {
        (Some(name), Some("commit"), Some(sha))
            if name == wanted && sha.len() == 40 && sha.bytes().all(|b| b.is_ascii_hexdigit()) =>
        {
            Ok(sha.to_ascii_lowercase())
        }
        _ => Err(Fatal::new(format!(
            "GitHub's answer for the base branch `{shown}` ({path}) is not that branch's commit (expected `ref: {}` and an `object` of type commit with a 40-hex sha)",
            crate::report::inert::one_line(&wanted)
        ))
        .help("re-run the job; if it persists, the API answered in an unexpected shape")),
    }
}

/// `/repos/{repo}/contents/{path}?ref={sha}`, each path segment
/// percent-encoded (`my policy.yml`, `?`, `#`, `%`).
pub(crate) fn contents_path(repo: &str, path: &str, sha: &str) -> String {
    let encoded: Vec<String> = path.split('/').map(percent_encode).collect();
    format!(
        "/repos/{repo}/contents/{}?ref={}",
        encoded.join("/"),
        percent_encode(sha)
    )
}

/// Everything but RFC 3986's unreserved characters, as `%XX`.
fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// Check runs and commit statuses of a commit; `ignored` names are left out.
/// Both lists are read whole (every page their `total_count` announces) or
/// the audit stops.
pub(crate) async fn checks(
    gh: &GitHub,
    repo: &str,
    sha: &str,
    ignored: &dyn Fn(&str) -> bool,
) -> Result<crate::facts::ChecksState, Fatal> {
    #[derive(serde::Deserialize)]
    struct Runs {
        total_count: usize,
        check_runs: Vec<Run>,
    }
    #[derive(serde::Deserialize)]
    struct Run {
        name: String,
        status: String,
        conclusion: Option<String>,
    }
    #[derive(serde::Deserialize)]
    struct Combined {
        total_count: usize,
        statuses: Vec<Status>,
    }
    #[derive(serde::Deserialize)]
    struct Status {
        context: String,
        state: String,
    }
    let runs_path = format!("/repos/{repo}/commits/{sha}/check-runs?per_page={PER_PAGE}");
    let status_path = format!("/repos/{repo}/commits/{sha}/status?per_page={PER_PAGE}");
    let ((runs, _), (status, _)) =
        futures_util::try_join!(gh.get(&runs_path), gh.get(&status_path))?;
    let runs_what = format!("GET {runs_path}");
    let status_what = format!("GET {status_path}");
    let first: Runs = decode(&runs, &runs_what)?;
    let combined: Combined = decode(&status, &status_what)?;
    for (total, what) in [
        (first.total_count, &runs_what),
        (combined.total_count, &status_what),
    ] {
        if total > MAX_ITEMS {
            return Err(Fatal::new(format!(
                "GitHub announces {total} items for {what}, more than the {MAX_ITEMS} git-policy reads; the checks cannot be judged"
            )));
        }
    }
    let later_pages = |total: usize, path: String| {
        (2..=total.div_ceil(PER_PAGE as usize)).map(move |page| {
            let path = format!("{path}&page={page}");
            async move { gh.get(&path).await.map(|(v, _)| (v, path)) }
        })
    };
    let (run_pages, status_pages) = futures_util::try_join!(
        try_join_all(later_pages(first.total_count, runs_path.clone())),
        try_join_all(later_pages(combined.total_count, status_path.clone()))
    )?;
    let mut all_runs = first.check_runs;
    for (page, path) in run_pages {
        all_runs.extend(decode::<Runs>(&page, &format!("GET {path}"))?.check_runs);
    }
    let mut statuses = combined.statuses;
    for (page, path) in status_pages {
        statuses.extend(decode::<Combined>(&page, &format!("GET {path}"))?.statuses);
    }
    for (read, total, what) in [
        (all_runs.len(), first.total_count, &runs_what),
        (statuses.len(), combined.total_count, &status_what),
    ] {
        if read != total {
            return Err(Fatal::new(format!(
                "GitHub announced {total} items for {what} but listed {read}; the checks cannot be judged on an incomplete list"
            ))
            .help("re-run the audit; if it persists, the API (or a proxy in front of it) is misbehaving"));
        }
    }
    let mut state = crate::facts::ChecksState::default();
    for run in all_runs {
        if ignored(&run.name) {
            continue;
        }
        let conclusion = run.conclusion.unwrap_or_default();
        match (run.status.as_str(), conclusion.as_str()) {
            ("completed", "success" | "neutral" | "skipped") => state.passed.push(run.name),
            ("completed", _) => state.failing.push(format!("{} ({conclusion})", run.name)),
            _ => state.pending.push(run.name),
        }
    }
    for status in statuses {
        if ignored(&status.context) {
            continue;
        }
        match status.state.as_str() {
            "success" => state.passed.push(status.context),
            "pending" => state.pending.push(status.context),
            other => state.failing.push(format!("{} ({other})", status.context)),
        }
    }
    Ok(state)
}

/// Pull requests with one of `labels`, merged as one of `commits`: who
/// merged them when, their reviews with times, and who applied and removed
/// their labels (the timeline).
pub(crate) async fn expedited(
    gh: &GitHub,
    repo: &str,
    labels: &[String],
    commits: &std::collections::HashSet<String>,
) -> Result<Vec<crate::facts::ExpeditedPullRequest>, Fatal> {
    #[derive(serde::Deserialize)]
    struct Issue {
        number: u64,
        pull_request: Option<serde::de::IgnoredAny>,
    }
    #[derive(serde::Deserialize)]
    struct User {
        login: String,
    }
    #[derive(serde::Deserialize)]
    struct Label {
        name: String,
    }
    #[derive(serde::Deserialize)]
    struct Pull {
        number: u64,
        title: String,
        user: User,
        labels: Vec<Label>,
        merged_at: Option<String>,
        merge_commit_sha: Option<Sha>,
        merged_by: Option<User>,
    }
    #[derive(serde::Deserialize)]
    struct TimedReview {
        user: Option<User>,
        state: String,
        submitted_at: Option<String>,
    }
    let mut numbers = std::collections::BTreeSet::new();
    for label in labels {
        let path = format!(
            "/repos/{repo}/issues?state=closed&labels={}",
            utf8_percent_encode(label, QUERY_VALUE)
        );
        let issues: Vec<Issue> = decode(
            &Value::Array(gh.all(&path, MAX_ITEMS).await?),
            &format!("GET {path}"),
        )?;
        numbers.extend(
            issues
                .into_iter()
                .filter(|i| i.pull_request.is_some())
                .map(|i| i.number),
        );
    }
    let reads = numbers.into_iter().map(|number| async move {
        let pr_path = format!("/repos/{repo}/pulls/{number}");
        let reviews_path = format!("/repos/{repo}/pulls/{number}/reviews");
        let ((pr, _), reviews) =
            futures_util::try_join!(gh.get(&pr_path), gh.all(&reviews_path, MAX_ITEMS))?;
        let pr: Pull = decode(&pr, &format!("GET {pr_path}"))?;
        let (Some(merged_at), Some(sha)) = (pr.merged_at, pr.merge_commit_sha) else {
            return Ok::<_, Fatal>(None);
        };
        if !commits.contains(&sha.0) {
            return Ok(None);
        }
        let Some(label) = pr
            .labels
            .iter()
            .find(|l| labels.iter().any(|e| e.eq_ignore_ascii_case(&l.name)))
            .map(|l| l.name.clone())
        else {
            return Ok(None);
        };
        let reviews: Vec<TimedReview> =
            decode(&Value::Array(reviews), &format!("GET {reviews_path}"))?;
        let (label_events, _) = label_events(gh, repo, number).await?;
        Ok(Some(crate::facts::ExpeditedPullRequest {
            number: pr.number,
            title: pr.title,
            author: pr.user.login,
            label,
            merged_at,
            merged_by: pr.merged_by.map(|u| u.login),
            label_events,
            reviews: reviews
                .into_iter()
                .filter_map(|r| {
                    Some(crate::facts::TimedReview {
                        author: r.user.map_or_else(|| String::from("ghost"), |u| u.login),
                        state: r.state,
                        // A pending review has no time: it was never submitted.
                        submitted_at: r.submitted_at?,
                    })
                })
                .collect(),
        }))
    });
    let mut found: Vec<_> = try_join_all(reads).await?.into_iter().flatten().collect();
    found.sort_by_key(|p| p.number);
    Ok(found)
}

/// Who applied and removed labels on a pull request, and when code
/// reached its head, from its timeline
/// (`GET /repos/{repo}/issues/{n}/timeline`), in the timeline's order.
pub(crate) async fn label_events(
    gh: &GitHub,
    repo: &str,
    number: u64,
) -> Result<(Vec<crate::facts::LabelEvent>, Vec<crate::facts::CodeEvent>), Fatal> {
    let (labels, _, code) = timeline(gh, repo, number).await?;
    Ok((labels, code))
}

/// A pull request's label events, title changes (`renamed`) and code
/// events (`committed`, `head_ref_force_pushed`), in order, from its timeline.
pub(crate) async fn timeline(
    gh: &GitHub,
    repo: &str,
    number: u64,
) -> Result<
    (
        Vec<crate::facts::LabelEvent>,
        Vec<crate::facts::Rename>,
        Vec<crate::facts::CodeEvent>,
    ),
    Fatal,
> {
    #[derive(serde::Deserialize)]
    struct Actor {
        login: String,
    }
    #[derive(serde::Deserialize)]
    struct Label {
        name: String,
    }
    #[derive(serde::Deserialize)]
    struct Labelled {
        actor: Option<Actor>,
        label: Label,
        created_at: String,
    }
    #[derive(serde::Deserialize)]
    struct Renamed {
        rename: Rename,
        created_at: String,
    }
    #[derive(serde::Deserialize)]
    struct Rename {
        from: String,
        to: String,
    }
    // A `committed` event has no time of GitHub's: only its git dates.
    #[derive(serde::Deserialize)]
    struct Committed {
        sha: Sha,
        committer: GitPerson,
    }
    #[derive(serde::Deserialize)]
    struct GitPerson {
        date: String,
    }
    #[derive(serde::Deserialize)]
    struct ForcePushed {
        created_at: String,
    }
    let path = format!("/repos/{repo}/issues/{number}/timeline");
    let events = gh.all(&path, MAX_ITEMS).await?;
    let mut out = Vec::new();
    let mut renames = Vec::new();
    let mut code = Vec::new();
    for (i, event) in events.iter().enumerate() {
        let what = || format!("GET {path} (event {i})");
        let added = match event.get("event").and_then(Value::as_str) {
            Some("labeled") => true,
            Some("unlabeled") => false,
            Some("renamed") => {
                let e: Renamed = decode(event, &what())?;
                renames.push(crate::facts::Rename {
                    from: e.rename.from,
                    to: e.rename.to,
                    at: e.created_at,
                });
                continue;
            }
            Some("committed") => {
                let e: Committed = decode(event, &what())?;
                code.push(crate::facts::CodeEvent {
                    sha: Some(e.sha.0),
                    at: e.committer.date,
                    forced: false,
                });
                continue;
            }
            Some("head_ref_force_pushed") => {
                let e: ForcePushed = decode(event, &what())?;
                code.push(crate::facts::CodeEvent {
                    sha: None,
                    at: e.created_at,
                    forced: true,
                });
                continue;
            }
            _ => continue,
        };
        let e: Labelled = decode(event, &what())?;
        out.push(crate::facts::LabelEvent {
            label: e.label.name,
            actor: e.actor.map_or_else(|| String::from("ghost"), |a| a.login),
            added,
            at: e.created_at,
        });
    }
    Ok((out, renames, code))
}

/// The GraphQL endpoint for a REST base URL: `https://api.github.com/graphql`;
/// on GitHub Enterprise Server, `https://HOST/api/v3` → `https://HOST/api/graphql`.
pub(crate) fn graphql_url(api: &str) -> String {
    let base = api.trim_end_matches('/');
    match base.strip_suffix("/api/v3") {
        Some(host) => format!("{host}/api/graphql"),
        None => format!("{base}/graphql"),
    }
}

impl GitHub {
    /// POST one GraphQL query; its `data`. Retries what may pass on retry
    /// (5xx, throttling within the longest wait); an `errors` answer is exit 2.
    pub(crate) async fn graphql(&self, query: &str) -> Result<Value, Fatal> {
        self.graphql_with(query, Value::Null).await
    }

    /// POST one GraphQL query with its `variables` (values GitHub sent,
    /// such as page cursors, go there, never into the query's text).
    pub(crate) async fn graphql_with(&self, query: &str, variables: Value) -> Result<Value, Fatal> {
        let url = graphql_url(&self.base);
        let what = "the GraphQL query (POST /graphql)";
        let body = if variables.is_null() {
            serde_json::json!({ "query": query })
        } else {
            serde_json::json!({ "query": query, "variables": variables })
        };
        let mut last = None;
        for attempt in 1..=ATTEMPTS {
            self.requests.fetch_add(1, Ordering::Relaxed);
            let send = async {
                let response = self.client._post(url.as_str(), Some(&body)).await?;
                let status = response.status();
                let headers = response.headers().clone();
                let text = self.client.body_to_string(response).await?;
                Ok::<_, octocrab::Error>((status, headers, text))
            };
            let failure = match tokio::time::timeout(self.timeout, send).await {
                Err(_) => Failure::Retry(
                    Fatal::new(format!("GitHub did not answer {what} within {:.1} s", self.timeout.as_secs_f64()))
                        .help("GitHub may be slow or down: re-run the job; git-policy never passes a check it could not finish"),
                    None,
                ),
                Ok(Err(e)) => Failure::Retry(
                    Fatal::new(format!("cannot reach GitHub for {what}: {}", first_line(&e.to_string())))
                        .help(format!("check GITHUB_API_URL ({}) and the network", self.base)),
                    None,
                ),
                Ok(Ok((status, headers, text))) if status.is_success() => {
                    let value: Value = serde_json::from_str(&text).map_err(|e| {
                        Fatal::new(format!("GitHub answered {what} with invalid JSON: {e}"))
                            .help("re-run the job; if it persists, GitHub is failing")
                    })?;
                    match graphql_errors(&value) {
                        None => match value.get("data") {
                            Some(data) if data.is_object() => return Ok(data.clone()),
                            _ => {
                                return Err(Fatal::new(format!("GitHub answered {what} without `data`"))
                                    .help("re-run the job; if it persists, the API (or a proxy in front of it) is misbehaving"));
                            }
                        },
                        // GraphQL's rate limit comes as an error with a 200.
                        Some((kind, _)) if kind == "RATE_LIMITED" => {
                            self.status_failure(403, &headers, &text, what)
                        }
                        Some((kind, message)) => {
                            return Err(Fatal::new(format!(
                                "GitHub refused {what}: {} ({})",
                                crate::report::inert::one_line(&message),
                                crate::report::inert::one_line(&kind)
                            ))
                            .help("the token needs `contents: read` and `pull-requests: read` on the repository; re-run the job if GitHub was failing"));
                        }
                    }
                }
                Ok(Ok((status, headers, text))) => {
                    self.status_failure(status.as_u16(), &headers, &text, what)
                }
            };
            match failure {
                Failure::Final(fatal) => return Err(fatal),
                Failure::Retry(fatal, wait) => {
                    last = Some(fatal);
                    if attempt < ATTEMPTS {
                        tokio::time::sleep(wait.unwrap_or(self.retry_delay * attempt)).await;
                    }
                }
            }
        }
        let fatal = last.unwrap_or_else(|| Fatal::new(format!("{what} failed")));
        Err(Fatal {
            message: format!("{} (after {ATTEMPTS} attempts)", fatal.message),
            help: fatal.help,
        })
    }
}

/// The first GraphQL error: (type, message).
fn graphql_errors(value: &Value) -> Option<(String, String)> {
    let first = value.get("errors")?.as_array()?.first()?;
    let kind = first
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or("ERROR")
        .to_owned();
    let message = first
        .get("message")
        .and_then(Value::as_str)
        .unwrap_or("no message")
        .to_owned();
    Some((kind, message))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_last_page_from_a_link_header() {
        let link = r#"<https://api.github.com/repositories/1/pulls/2/files?per_page=100&page=2>; rel="next", <https://api.github.com/repositories/1/pulls/2/files?per_page=100&page=3>; rel="last""#;
        assert_eq!(last_page(link), Some(3));
        assert_eq!(last_page(r#"<https://x/y?page=2>; rel="next""#), None);
        assert_eq!(last_page(""), None);
    }

    #[test]
    fn the_graphql_endpoint_follows_the_rest_base() {
        assert_eq!(
            graphql_url("https://api.github.com"),
            "https://api.github.com/graphql"
        );
        assert_eq!(
            graphql_url("https://ghe.example.com/api/v3/"),
            "https://ghe.example.com/api/graphql"
        );
        assert_eq!(
            graphql_url("http://127.0.0.1:8080"),
            "http://127.0.0.1:8080/graphql"
        );
    }

    #[test]
    fn reset_times_are_shown_in_utc() {
        assert!(describe_reset(Some(1_700_000_000)).starts_with("it resets at 22:13:20 UTC"));
    }
}
