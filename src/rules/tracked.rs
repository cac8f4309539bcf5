//! The `ticket` options judged through a tracker's API (`exists`,
//! `projects`, `types`, `status`, `fields`, `moved`): each named ticket as
//! its tracker answered, one finding per thing wrong, each naming the
//! ticket, where it was named, its summary, its current value and a link.

use super::ticket::{FieldChecks, Moved, Options, StatusNames};
use super::{Context, Violation};
use crate::definitions::Tracker;
use crate::definitions::tracker::{ApiKind, listed};
use crate::facts::{Stage, Subject, Ticket, TicketState, TrackerFacts};

/// Judges every ticket the subject names in a tracker with an API.
pub(crate) fn check(options: &Options, cx: &Context<'_>, out: &mut Vec<Violation>) {
    let trackers: Vec<(&str, &Tracker)> = options.api_trackers(cx.definitions).collect();
    if trackers.is_empty() {
        return;
    }
    let named = named_tickets(options, &cx.subject, &trackers);
    if named.is_empty() {
        // Naming no ticket is the plain `ticket` finding's business.
        return;
    }
    if matches!(cx.subject, Subject::Branch(_)) {
        // Refused by validation; a branch alone is judged offline.
        return;
    }
    let Some(facts) = cx.subject.tracked() else {
        // A local commit is judged by the hooks, which are advisory: they
        // ask a tracker only when it says `hooks: check`, and warn when
        // they cannot. Anywhere else, unread facts are no pass.
        if matches!(cx.subject, Subject::Commit(c) if c.stage == Stage::Local) {
            return;
        }
        let names: Vec<&str> = trackers.iter().map(|(n, _)| *n).collect();
        out.push(
            Violation::new(format!(
                "the tickets named ({}) were not verified in {}: the tracker was not asked",
                named
                    .iter()
                    .map(|n| n.id.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
                names.join(", ")
            ))
            .help("run the check where the tracker's token is set (docs/trackers.md); an unverified ticket never passes"),
        );
        return;
    };
    for ticket in &named {
        judge(options, facts, ticket, &cx.subject, out);
    }
}

/// A ticket as a subject names it.
pub(crate) struct Named<'t> {
    pub(crate) tracker: &'t str,
    pub(crate) definition: &'t Tracker,
    pub(crate) id: String,
    /// Where it was first named: `the title`, `commit abc1234`.
    pub(crate) place: String,
}

/// Every distinct ticket of `trackers` the subject names, where first named.
pub(crate) fn named_tickets<'t>(
    options: &Options,
    subject: &Subject<'_>,
    trackers: &[(&'t str, &'t Tracker)],
) -> Vec<Named<'t>> {
    let mut texts: Vec<(String, &str)> = Vec::new();
    match subject {
        Subject::PullRequest(pr) => {
            for (place, text) in options.texts(subject) {
                if place != "commit messages" {
                    texts.push((format!("the {place}"), text));
                }
            }
            if options
                .texts(subject)
                .iter()
                .any(|(p, _)| *p == "commit messages")
            {
                for c in &pr.commits {
                    texts.push((c.label(), c.message.as_str()));
                }
            }
        }
        Subject::Release(release) => {
            for c in &release.commits {
                let label = match &c.sha {
                    Some(sha) => format!("commit {}", crate::text::short_sha(sha)),
                    None => String::from("a commit"),
                };
                texts.push((label, c.message.as_str()));
            }
        }
        Subject::Commit(_) | Subject::Branch(_) => {
            for (place, text) in options.texts(subject) {
                texts.push((format!("the {place}"), text));
            }
        }
    }
    let mut out: Vec<Named<'t>> = Vec::new();
    for (place, text) in &texts {
        for (name, tracker) in trackers {
            for id in tracker.pattern.find_all(text) {
                if !out.iter().any(|n| n.tracker == *name && n.id == id) {
                    out.push(Named {
                        tracker: name,
                        definition: tracker,
                        id: id.to_owned(),
                        place: place.clone(),
                    });
                }
            }
        }
    }
    out
}

fn judge(
    options: &Options,
    facts: &TrackerFacts,
    named: &Named<'_>,
    subject: &Subject<'_>,
    out: &mut Vec<Violation>,
) {
    let Some(ticket) = answered(facts, named, subject, out) else {
        return;
    };
    let about = describe(ticket, link_of(named.definition, &ticket.key).as_deref());
    check_identity(options, named, ticket, &about, out);
    if let Some(status) = &options.status {
        check_status(&status.value, named, ticket, &about, out);
    }
    if let Some(fields) = &options.fields {
        check_fields(&fields.value, named, ticket, &about, out);
    }
}

/// The tracker's answer about a named ticket: the ticket, or the finding
/// that says it was not read, not found or not visible.
fn answered<'f>(
    facts: &'f TrackerFacts,
    named: &Named<'_>,
    subject: &Subject<'_>,
    out: &mut Vec<Violation>,
) -> Option<&'f Ticket> {
    let id = &named.id;
    let tracker = named.tracker;
    let link = |key: &str| link_of(named.definition, key);
    if let Some(api) = &named.definition.api
        && let Err(what) = api.value.kind.value.request_id(id)
    {
        // Never sent: the tracker would answer "not found", which is not the fault.
        let form = match api.value.kind.value {
            ApiKind::AzureBoards => {
                "a work item id is a number from 1 to 2147483647, e.g. `AB#123`"
            }
            _ => {
                "a Jira key is the project key in upper case, `-` and the issue number, e.g. `EPL-123`"
            }
        };
        out.push(
            finding(
                named,
                format!(
                    "{id} (named in {}) is {what}, so {tracker} was not asked about it",
                    named.place
                ),
            )
            .help(format!(
                "{form}; if the tracker's `pattern` matches ids the tracker cannot have, narrow it"
            )),
        );
        return None;
    }
    let state = match facts.get(tracker, id) {
        Some(state) => state,
        None => {
            // The advisory hooks ask only trackers that say `hooks: check`.
            if matches!(subject, Subject::Commit(c) if c.stage == Stage::Local) {
                return None;
            }
            out.push(
                finding(
                    named,
                    format!(
                        "{id} (named in {}) was not verified in {tracker}: its answer was not read",
                        named.place
                    ),
                )
                .help("re-run the check; an unverified ticket never passes"),
            );
            return None;
        }
    };
    let ticket: &Ticket = match state {
        TicketState::Absent => {
            let how = match named.definition.api.as_ref().map(|a| a.kind.value) {
                Some(ApiKind::AzureBoards) => {
                    "open it signed in as the token's owner: if it shows, the token lacks `Work Items (Read)` or the area's permission"
                }
                _ => {
                    "open it signed in as the token's account: if it shows, that account lacks `Browse projects` on its project (or an issue security level hides it)"
                }
            };
            out.push(
                finding(
                    named,
                    format!(
                        "{id} (named in {}) was not found in {tracker}, or the token may not see it: the tracker answers both alike{}",
                        named.place,
                        shown_link(link(id).as_deref())
                    ),
                )
                .help(format!("check the id is right; {how}")),
            );
            return None;
        }
        TicketState::Found(ticket) => ticket,
    };
    Some(ticket)
}

/// Moved, wrong project, wrong type.
fn check_identity(
    options: &Options,
    named: &Named<'_>,
    ticket: &Ticket,
    about: &str,
    out: &mut Vec<Violation>,
) {
    let id = &named.id;
    let tracker = named.tracker;
    if ticket.key != *id {
        let accept = options
            .moved
            .as_ref()
            .is_some_and(|m| m.value == Moved::Accept);
        if !accept {
            out.push(
                finding(
                    named,
                    format!(
                        "{id} (named in {}) has moved: {tracker} answers it as {}{about}",
                        named.place, ticket.key
                    ),
                )
                .help(format!(
                    "name the ticket by its current key `{}`, or accept moved tickets with `moved: accept`",
                    ticket.key
                )),
            );
        }
    }
    if !options.projects.0.is_empty() && !in_projects(ticket, options) {
        let current = match &ticket.area {
            Some(area) => format!("project `{}`, area `{area}`", ticket.project),
            None => format!("project `{}`", ticket.project),
        };
        out.push(
            finding(
                named,
                format!(
                    "{id} (named in {}) is in {current}, not in {}{about}",
                    named.place,
                    listed(&options.projects)
                ),
            )
            .help("name a ticket of this product's board, or move the ticket there"),
        );
    }
    if !options.types.0.is_empty()
        && !options
            .types
            .iter()
            .any(|t| t.value.eq_ignore_ascii_case(&ticket.kind))
    {
        out.push(
            finding(
                named,
                format!(
                    "{id} (named in {}) is a `{}`, not one of {}{about}",
                    named.place,
                    ticket.kind,
                    listed(&options.types)
                ),
            )
            .help("name a ticket of the right type, or have the triager change its type"),
        );
    }
}

/// The ticket's state against `status: { in | not_in }`.
fn check_status(
    status: &StatusNames,
    named: &Named<'_>,
    ticket: &Ticket,
    about: &str,
    out: &mut Vec<Violation>,
) {
    let id = &named.id;
    let matches = |names: &crate::syntax::Strings| {
        names.iter().any(|n| {
            n.value.eq_ignore_ascii_case(&ticket.status)
                || ticket.status_category.as_ref().is_some_and(|(name, key)| {
                    n.value.eq_ignore_ascii_case(name) || n.value.eq_ignore_ascii_case(key)
                })
        })
    };
    let state = match &ticket.status_category {
        Some((category, _)) => format!("`{}` ({category})", ticket.status),
        None => format!("`{}`", ticket.status),
    };
    if !status.within.0.is_empty() && !matches(&status.within) {
        out.push(
            finding(
                named,
                format!(
                    "{id} (named in {}) is {state}, not in {}{about}",
                    named.place,
                    listed(&status.within)
                ),
            )
            .help("move the ticket on in its workflow (or name the ticket this change delivers)"),
        );
    }
    if !status.not_in.0.is_empty() && matches(&status.not_in) {
        out.push(
            finding(
                named,
                format!(
                    "{id} (named in {}) is {state}, which this rule refuses ({}){about}",
                    named.place,
                    listed(&status.not_in)
                ),
            )
            .help("reopen the ticket, or name the open ticket this change delivers"),
        );
    }
}

fn check_fields(
    fields: &FieldChecks,
    named: &Named<'_>,
    ticket: &Ticket,
    about: &str,
    out: &mut Vec<Violation>,
) {
    let id = &named.id;
    for (field, check) in &fields.0 {
        let text = ticket.fields.get(&field.value).cloned().flatten();
        let words = text.as_deref().map_or(0, count_words);
        if check.present == Some(true) && words == 0 {
            out.push(
                finding(
                    named,
                    format!(
                        "{id} (named in {}) has no `{}`{about}",
                        named.place, field.value
                    ),
                )
                .help(format!("fill `{}` in the ticket", field.value)),
            );
            continue;
        }
        if let Some(min) = check.min_words
            && words < min as usize
        {
            out.push(
                finding(
                    named,
                    format!(
                        "{id} (named in {}) has {words} word(s) in `{}`, at least {min} required{about}",
                        named.place, field.value
                    ),
                )
                .help(format!("write `{}` out in the ticket", field.value)),
            );
        }
    }
}

fn finding(named: &Named<'_>, message: String) -> Violation {
    let mut v = Violation::new(message);
    v.ticket = Some(named.id.clone());
    v
}

/// Whether the ticket is in one of the projects listed: a Jira project
/// key, an Azure team project, or an Azure area path or one of its parents.
fn in_projects(ticket: &Ticket, options: &Options) -> bool {
    options.projects.iter().any(|p| {
        let p = p.value.as_str();
        p.eq_ignore_ascii_case(&ticket.project)
            || ticket.area.as_deref().is_some_and(|area| {
                area.eq_ignore_ascii_case(p)
                    || area
                        .get(..p.len())
                        .is_some_and(|head| head.eq_ignore_ascii_case(p))
                        && area
                            .get(p.len()..)
                            .is_some_and(|rest| rest.starts_with('\\'))
            })
    })
}

/// ` — "summary" (Bug, Active): link`, for messages.
fn describe(ticket: &Ticket, link: Option<&str>) -> String {
    let summary = crate::facts::shown_subject(&ticket.summary);
    format!(
        " — \"{summary}\" ({}, {}){}",
        ticket.kind,
        ticket.status,
        shown_link(link)
    )
}

fn shown_link(link: Option<&str>) -> String {
    match link {
        Some(link) => format!(": {link}"),
        None => String::new(),
    }
}

/// The link to a ticket: the tracker's `url` template, else its API's
/// browse page.
pub(crate) fn link_of(tracker: &Tracker, key: &str) -> Option<String> {
    if let Some(url) = &tracker.url {
        return Some(url.value.replace("{id}", key));
    }
    let api = tracker.api.as_ref()?;
    let base = api.url.value.trim_end_matches('/');
    Some(match api.kind.value {
        ApiKind::JiraCloud | ApiKind::JiraDataCenter => format!("{base}/browse/{key}"),
        ApiKind::AzureBoards => {
            let number: String = key.chars().filter(char::is_ascii_digit).collect();
            format!("{base}/_workitems/edit/{number}")
        }
    })
}

/// Words in a field's text, HTML tags left out (Azure's rich text).
pub(crate) fn count_words(text: &str) -> usize {
    let mut plain = String::with_capacity(text.len());
    let mut in_tag = false;
    for c in text.chars() {
        match c {
            '<' => {
                in_tag = true;
                plain.push(' ');
            }
            '>' if in_tag => in_tag = false,
            _ if !in_tag => plain.push(c),
            _ => {}
        }
    }
    let plain = plain.replace("&nbsp;", " ");
    plain
        .split_whitespace()
        .filter(|w| w.chars().any(char::is_alphanumeric))
        .count()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_are_counted_without_html() {
        assert_eq!(count_words("<div>Open the <b>login</b> page</div>"), 4);
        assert_eq!(count_words("<br/>&nbsp;<div></div>"), 0);
        assert_eq!(count_words("1. open 2. click"), 4);
    }
}
