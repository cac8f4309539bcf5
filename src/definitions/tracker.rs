//! Ticket trackers: what a reference to a ticket looks like, and the near
//! misses (`epl-12`, `EPL 12`) that are reported as hints. Shared by the
//! requirements that look for tickets.

use regex::Regex;

use crate::syntax::{
    ErrorCode, Node, Pattern, PolicyError, Spanned, Strings, Table, names, non_empty, options,
};

options! {
    /// A ticket tracker: what a reference to one of its tickets looks like.
    #[options(what = "a tracker")]
    #[derive(Clone, Debug)]
    pub(crate) struct Tracker {
        /// Regex matching one ticket id, e.g. `\b(EPL|SCP)-[0-9]+\b`. Its `\d`, `\w` and `\s` are ASCII (`EPL-١٢٣` is no ticket); `\p{…}` classes are kept as written.
        pub(crate) pattern: Pattern => required,
        /// Link template for reports; `{id}` is replaced by the ticket id.
        pub(crate) url: Option<Spanned<String>> => with(non_empty),
        /// A sample id shown in help messages, e.g. `EPL-123`.
        pub(crate) example: Option<Spanned<String>> => with(non_empty),
        /// Tickets of this tracker are incidents (used by the release audit).
        pub(crate) incident: bool,
        /// Where the tracker's API answers: tickets are then verified there
        /// (`exists`, `projects`, `types`, `status`, `fields` of `ticket`).
        pub(crate) api: Option<Spanned<TrackerApi>>,
        ;
        /// A looser form of `pattern` that finds near misses (`epl-12`, `EPL 12`),
        /// compiled on first use: only a failing check needs it.
        pub(crate) near_miss: std::sync::OnceLock<Option<Regex>> = std::sync::OnceLock::new(),
    }
}

options! {
    /// A tracker's API: tickets named are read there, in batches, with the
    /// token in the environment variable `token_env` (never in the policy).
    #[options(what = "a tracker `api`", check = api_fits_kind)]
    #[derive(Clone, Debug)]
    pub(crate) struct TrackerApi {
        /// `jira-cloud` (REST v3, e-mail and API token), `jira-data-center` (REST v2, personal access token as Bearer) or `azure-boards`.
        pub(crate) kind: Spanned<ApiKind> => required,
        /// Base URL: `https://acme.atlassian.net`, `https://jira.acme.com`, or the Azure DevOps organization `https://dev.azure.com/acme`.
        pub(crate) url: Spanned<String> => required => with(non_empty) => check(http_url),
        /// Environment variable holding the account's e-mail (jira-cloud only).
        pub(crate) user_env: Option<Spanned<String>> => with(non_empty) => check(env_name),
        /// Environment variable holding the token (API token, personal access token).
        pub(crate) token_env: Spanned<String> => required => with(non_empty) => check(env_name),
        /// The Azure DevOps project the work items are in (azure-boards only).
        pub(crate) project: Option<Spanned<String>> => with(non_empty),
        /// `check`: the local checks verify tickets too (the commit-msg and pre-push hooks, `check commits`: one 3 s deadline, a warning when unreachable). Default: only the gate and the audit call the tracker.
        pub(crate) hooks: Option<Spanned<HookCalls>>,
        /// Keep each ticket's answer across runs for this long (`30s`, `10m`, at most `1h`), on this machine, for this user and token only. Used by the local hooks and `check commits`; `check pr` and `audit` use it only where `GIT_POLICY_TRACKER_CACHE=on` (docs/trackers.md). Default: every run asks.
        pub(crate) cache: Option<Spanned<String>> => with(non_empty) => check(cache_lifetime),
    }
}

/// The longest a ticket's answer is kept across runs.
pub(crate) const LONGEST_CACHE: std::time::Duration = std::time::Duration::from_secs(3600);

names! {
    /// The kind of tracker API.
    #[names(what = "tracker api kind", label = "not a tracker api kind")]
    #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
    pub(crate) enum ApiKind {
        JiraCloud = "jira-cloud",
        JiraDataCenter = "jira-data-center",
        AzureBoards = "azure-boards",
    }
}

names! {
    /// Whether the local hooks call the tracker.
    #[names(what = "hooks setting", label = "not a hooks setting")]
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub(crate) enum HookCalls {
        Check = "check",
        Skip = "skip",
    }
}

impl TrackerApi {
    /// How long a ticket's answer may be kept across runs (`cache:`).
    pub(crate) fn cache_lifetime(&self) -> Option<std::time::Duration> {
        self.cache.as_ref().and_then(|c| lifetime(&c.value))
    }

    /// Whether the local hooks verify this tracker's tickets.
    pub(crate) fn hooks_check(&self) -> bool {
        self.hooks
            .as_ref()
            .is_some_and(|h| h.value == HookCalls::Check)
    }
}

/// `30s`, `10m`, `1h`: a whole number of seconds, minutes or hours, from
/// one second to [`LONGEST_CACHE`].
fn lifetime(text: &str) -> Option<std::time::Duration> {
    let text = text.trim();
    let unit = text.chars().last()?;
    let number: u64 = text.strip_suffix(unit)?.trim().parse().ok()?;
    let seconds = match unit {
        's' => number,
        'm' => number.checked_mul(60)?,
        'h' => number.checked_mul(3600)?,
        _ => return None,
    };
    let lifetime = std::time::Duration::from_secs(seconds);
    (seconds > 0 && lifetime <= LONGEST_CACHE).then_some(lifetime)
}

fn cache_lifetime(text: &Spanned<String>, _: &str, _: &Node) -> Result<(), PolicyError> {
    if lifetime(&text.value).is_some() {
        return Ok(());
    }
    Err(PolicyError::at(
        ErrorCode::InvalidValue,
        text.span,
        format!("`{}` is not a cache lifetime from 1s to 1h", text.value),
    )
    .help("write seconds, minutes or hours, e.g. `cache: 10m`; answers are kept briefly so a ticket's change shows soon"))
}

impl ApiKind {
    /// The form of `id` sent to the tracker: a Jira key (`EPL-123`: an
    /// upper-case project key, `-`, a number), an Azure work item number
    /// (the id's trailing digits, 1 to 2147483647). `Err`: what the id is
    /// not, for the finding; such an id is never sent.
    pub(crate) fn request_id(self, id: &str) -> Result<String, &'static str> {
        match self {
            ApiKind::JiraCloud | ApiKind::JiraDataCenter => {
                let not_key = "not a valid Jira key";
                let (project, number) = id.split_once('-').ok_or(not_key)?;
                let project_ok = project.starts_with(|c: char| c.is_ascii_uppercase())
                    && project
                        .bytes()
                        .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_')
                    && project.len() <= 255;
                let number_ok = !number.is_empty()
                    && number.len() <= 18
                    && number.bytes().all(|b| b.is_ascii_digit());
                if project_ok && number_ok {
                    Ok(id.to_owned())
                } else {
                    Err(not_key)
                }
            }
            ApiKind::AzureBoards => {
                let digits = id.len() - id.trim_end_matches(|c: char| c.is_ascii_digit()).len();
                let number: i32 = id
                    .get(id.len() - digits..)
                    .and_then(|d| d.parse().ok())
                    .ok_or("not an Azure work item id")?;
                if number > 0 {
                    Ok(number.to_string())
                } else {
                    Err("not an Azure work item id")
                }
            }
        }
    }
}

fn http_url(url: &Spanned<String>, _: &str, _: &Node) -> Result<(), PolicyError> {
    let text = url.value.trim();
    let rest = text
        .strip_prefix("https://")
        .or_else(|| text.strip_prefix("http://"));
    let host = rest.map(|r| r.split('/').next().unwrap_or(""));
    match host {
        Some(h) if !h.is_empty() && !h.contains('@') && !text.contains(['?', '#', '{', ' ']) => Ok(()),
        _ => Err(PolicyError::at(
            ErrorCode::InvalidValue,
            url.span,
            format!("`{}` is not an http(s) base URL", url.value),
        )
        .help("write the base URL without credentials, query or `{id}`, e.g. `https://acme.atlassian.net`")),
    }
}

fn env_name(name: &Spanned<String>, _: &str, _: &Node) -> Result<(), PolicyError> {
    let ok = name
        .value
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'_')
        && !name.value.as_bytes()[0].is_ascii_digit();
    if ok {
        return Ok(());
    }
    Err(PolicyError::at(
        ErrorCode::InvalidValue,
        name.span,
        format!("`{}` is not an environment variable name", name.value),
    )
    .help("name the variable that holds the value (letters, digits and `_`), e.g. `JIRA_TOKEN`; never the token itself"))
}

fn api_fits_kind(api: &TrackerApi, table: &Table<'_>) -> Result<(), PolicyError> {
    let kind = api.kind.value;
    let wrong = |span, message: String, help: &str| {
        Err(PolicyError::at(ErrorCode::ConflictingKeys, span, message).help(help.to_owned()))
    };
    match kind {
        ApiKind::JiraCloud if api.user_env.is_none() => Err(PolicyError::at(
            ErrorCode::MissingKey,
            table.span(),
            "a `jira-cloud` api needs `user_env`: Jira Cloud takes the account's e-mail with its API token",
        )
        .help("add `user_env: JIRA_USER` (the variable holding the e-mail)")),
        ApiKind::JiraDataCenter | ApiKind::AzureBoards if api.user_env.is_some() => wrong(
            api.user_env.as_ref().map_or(table.span(), |u| u.span),
            format!("`user_env` has no meaning for `{}`: its token is sent alone", kind.name()),
            "remove `user_env`",
        ),
        ApiKind::AzureBoards if api.project.is_none() => Err(PolicyError::at(
            ErrorCode::MissingKey,
            table.span(),
            "an `azure-boards` api needs `project`: work items are read through a project",
        )
        .help("add `project: <the Azure DevOps project>`")),
        ApiKind::JiraCloud | ApiKind::JiraDataCenter if api.project.is_some() => wrong(
            api.project.as_ref().map_or(table.span(), |p| p.span),
            String::from("`project` is for `azure-boards`; Jira keys name their project"),
            "remove `project`; list the Jira project keys a rule accepts in its `ticket: { projects: [...] }`",
        ),
        _ => Ok(()),
    }
}

/// Strings a [`Strings`] holds, for messages.
pub(crate) fn listed(names: &Strings) -> String {
    let names: Vec<String> = names.iter().map(|n| format!("`{}`", n.value)).collect();
    names.join(", ")
}

impl Tracker {
    pub(crate) fn near_miss(&self) -> Option<&Regex> {
        self.near_miss
            .get_or_init(|| near_miss_pattern(&self.pattern.source.value))
            .as_ref()
    }
}

/// Text that nearly matches a tracker: `(place, text, corrected form if it then matches)`.
pub(crate) fn near_misses(
    texts: &[(&str, &str)],
    trackers: &[(&str, &Tracker)],
) -> Vec<(String, String, Option<String>)> {
    let mut out = Vec::new();
    for (place, text) in texts {
        for (_, tracker) in trackers {
            let Some(loose) = tracker.near_miss() else {
                continue;
            };
            for m in loose.find_iter(text) {
                let candidate = m.as_str();
                if tracker.pattern.is_match(candidate) {
                    continue;
                }
                let fixed: String = candidate
                    .chars()
                    .map(|c| {
                        if c == ' ' || c == '_' {
                            '-'
                        } else {
                            c.to_ascii_uppercase()
                        }
                    })
                    .collect();
                let fixed = tracker.pattern.is_match(&fixed).then_some(fixed);
                out.push((place.to_string(), candidate.to_owned(), fixed));
            }
        }
    }
    out
}

/// A looser form of a tracker pattern: any case, and `-` may be a space or `_`.
/// Built from the pattern text; `None` when the result does not compile.
pub(crate) fn near_miss_pattern(pattern: &str) -> Option<regex::Regex> {
    let mut loose = String::with_capacity(pattern.len() + 8);
    let mut in_class = false;
    let mut escaped = false;
    for c in pattern.chars() {
        if escaped {
            loose.push(c);
            escaped = false;
            continue;
        }
        match c {
            '\\' => {
                escaped = true;
                loose.push(c);
            }
            '[' => {
                in_class = true;
                loose.push(c);
            }
            ']' => {
                in_class = false;
                loose.push(c);
            }
            '-' if !in_class => loose.push_str("[-_ ]"),
            _ => loose.push(c),
        }
    }
    regex::RegexBuilder::new(&loose)
        .case_insensitive(true)
        .build()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_sent_only_in_the_trackers_syntax() {
        let jira = ApiKind::JiraCloud;
        assert_eq!(jira.request_id("EPL-12"), Ok(String::from("EPL-12")));
        assert_eq!(jira.request_id("A_2B-1"), Ok(String::from("A_2B-1")));
        for bad in [
            "epl-12",
            "EPL-",
            "-12",
            "EPL-1x",
            "1PL-2",
            "EPL-1\") OR (x",
            "EPL 12",
        ] {
            assert_eq!(jira.request_id(bad), Err("not a valid Jira key"), "{bad}");
        }
        let azure = ApiKind::AzureBoards;
        assert_eq!(azure.request_id("AB#0042"), Ok(String::from("42")));
        assert_eq!(
            azure.request_id("AB#2147483647"),
            Ok(String::from("2147483647"))
        );
        for bad in ["AB#0", "AB#", "AB#2147483648", "AB#99999999999"] {
            assert_eq!(
                azure.request_id(bad),
                Err("not an Azure work item id"),
                "{bad}"
            );
        }
    }

    #[test]
    fn cache_lifetimes_are_short_and_bounded() {
        let secs = std::time::Duration::from_secs;
        assert_eq!(lifetime("30s"), Some(secs(30)));
        assert_eq!(lifetime("10m"), Some(secs(600)));
        assert_eq!(lifetime("1h"), Some(secs(3600)));
        for bad in [
            "0s",
            "61m",
            "2h",
            "10",
            "m",
            "-5m",
            "1.5m",
            "18446744073709551615h",
            "10d",
        ] {
            assert_eq!(lifetime(bad), None, "{bad}");
        }
    }
}
