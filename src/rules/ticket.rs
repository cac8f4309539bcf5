use crate::syntax::ErrorCode;
use std::collections::BTreeSet;

use super::{Context, Requirement, Violation};
#[cfg(test)]
use crate::definitions::tracker::near_miss_pattern;
use crate::definitions::tracker::near_misses;
use crate::definitions::{Definitions, RuleView, Tracker};
use crate::facts::Subject;
use crate::facts::SubjectKind;
use crate::syntax::{Node, PolicyError, Spanned, Strings, TrueForDefaults, names, options};

pub(crate) const SUMMARY: &str =
    "A ticket reference in the title, body, branch, commits or message.";

pub(crate) const DOC: &str = r#"## What it checks
The subject names at least one ticket of the policy's trackers (`tickets:`),
in the places listed by `in`:

| subject | places it can look | default |
|---|---|---|
| pull_request | `title`, `body`, `branch` (head), `commits` (any commit message) | all four |
| commit | `subject` (first line), `body`, `message` (both), `branch` (when known) | `message` |
| branch | `branch` | `branch` |

On a commit, `title` means the subject line and `commits` the message; places a
subject does not have are skipped, and if none is left the subject's default is
used. A commit's `branch` is known in the commit-msg hook, the pre-push check,
`check pr`, `check commits --branch NAME` and, in the audit, from the pull
request the release evidence names; where it is not, a commit whose other
places name no ticket is a notice "not judged" (never judged on the other
places alone, a verdict the hook would not give), and `validate` warns.
`trackers` narrows which trackers count (default: all). `max` caps how
many distinct tickets may be named (a branch carries one ticket).

Near misses are reported as hints: `KAFKa-16331` or `KAFKA 14515` look like a
ticket of a tracker whose pattern is `\bKAFKA-[0-9]+\b` but do not match it.

### Tickets verified in their tracker
For trackers with an `api:` (Jira Cloud, Jira Data Center, Azure Boards;
see docs/trackers.md), each ticket named is read from the tracker, all of a
run's tickets in as few requests as the API allows, and judged:

| option | a finding when the ticket… |
|---|---|
| `exists: true` | is not found, or the token may not see it (trackers answer both alike) |
| `projects: [EPL]` | is in another Jira project, Azure team project or area path |
| `types: [Bug]` | is of another type (the tracker's own names) |
| `status: { in: [...] }` / `{ not_in: [...] }` | is in a status (or Jira status category) not allowed |
| `fields: { id: { min_words: 5 } }`, `{ present: true }` | leaves a field empty or too short |
| `moved: refuse` (default) or `accept` | answers under another key (Jira moved it) |

Each finding names the ticket, where it was named, its summary, its current
value and a link. A tracker that fails (unreachable, 401, 403, 429, 5xx, a
malformed or short answer) stops the check (exit 2): an unverified ticket
never passes. On `release`, the requirement judges every ticket the
release's commits name (P29: `status: { in: [QA Passed, Done] }`); on
`commit`, the audit judges each commit of the release (in the same
batches). The local hooks (commit-msg, pre-push) ask a tracker only when
its `api:` says `hooks: check`. An id the tracker cannot have (`epl-1` for
Jira) is never sent: it is a finding of its own.

## Why
P1: all work is tracked through a ticket. P2: only the product's own project
keys count. P9: a branch carries one ticket. P29: QA signs a release's
tickets off before it is promoted. A pattern proves an id is well formed,
not that the ticket exists, is on the board, or is done.

## Example policy
```yaml
tickets:
  jira: { pattern: '\b(EPL|EPLX|SCP)-[0-9]+\b', example: EPL-123 }
rules:
  - id: commit-ticket
    on: [commit]
    require:
      ticket: { in: [subject] }
  - id: branch-ticket
    on: [branch]
    require:
      ticket: { max: 1 }
```
With a tracker's API (docs/trackers.md):
```yaml
tickets:
  boards:
    pattern: '\bAB#[0-9]+\b'
    api: { kind: azure-boards, url: 'https://dev.azure.com/acme', project: Platform, token_env: AZURE_DEVOPS_TOKEN }
rules:
  - id: ticket-on-the-board
    on: [pull_request]
    require:
      ticket: { exists: true, projects: [Platform], status: { not_in: [Closed, Removed] } }
  - id: release-tickets-signed-off
    on: [release]
    require:
      ticket: { status: { in: [QA Passed, Done] } }
```

## How to fix
Name the ticket, exactly as the tracker writes it (`EPL-123`, upper case,
with the dash), in one of the places listed: `git commit --amend` for the
last commit message, `git rebase -i` for older ones, `git branch -m` for a
branch name, or edit the pull request title. A ticket the tracker refuses is
fixed in the tracker (its project, type, status or fields), or by naming the
ticket the change delivers.
"#;

pub(crate) const SUBJECTS: &[SubjectKind] = &[
    SubjectKind::PullRequest,
    SubjectKind::Commit,
    SubjectKind::Branch,
    SubjectKind::Release,
];

options! {
    /// A ticket reference in the title, body, branch, commits or message.
    #[options(what = "`ticket`", shorthand = TrueForDefaults)]
    #[derive(Clone, Debug, Default)]
    pub struct Options {
        /// Where to look (see `explain ticket`).
        pub(crate) places: Vec<Spanned<Place>> as "in",
        /// Tracker names that count. Default: every tracker.
        pub(crate) trackers: Strings,
        /// At most this many distinct tickets.
        pub(crate) max: Option<u32> => constraint(SOME_TICKET),
        /// Each ticket named is found in its tracker and visible to the token (trackers with an `api:`).
        pub(crate) exists: Option<Spanned<bool>>,
        /// Jira project keys, or Azure team projects or area paths, a ticket must be in (P2).
        pub(crate) projects: Strings,
        /// The tracker's own type names a ticket must have (`Bug`, `User Story`).
        pub(crate) types: Strings,
        /// Status names, or Jira status categories (`To Do`, `In Progress`, `Done`), a ticket must be in (`in`) or not in (`not_in`).
        pub(crate) status: Option<Spanned<StatusNames>>,
        /// Fields a ticket must fill, by the tracker's field id (`Microsoft.VSTS.TCM.ReproSteps`, `customfield_10033`).
        pub(crate) fields: Option<Spanned<FieldChecks>>,
        /// A ticket Jira answers under another key (it moved): `refuse` (default, a finding naming the new key) or `accept`.
        pub(crate) moved: Option<Spanned<Moved>>,
    }
}

options! {
    /// Status names (or Jira status categories) a ticket must be in, or not in.
    #[options(what = "`status`", check = in_or_not_in)]
    #[derive(Clone, Debug, Default)]
    pub(crate) struct StatusNames {
        /// The ticket's status must be one of these.
        pub(crate) within: Strings as "in",
        /// The ticket's status must be none of these.
        pub(crate) not_in: Strings,
    }
}

fn in_or_not_in(status: &StatusNames, table: &crate::syntax::Table<'_>) -> Result<(), PolicyError> {
    match (status.within.0.is_empty(), status.not_in.0.is_empty()) {
        (false, true) | (true, false) => Ok(()),
        (true, true) => Err(PolicyError::at(
            ErrorCode::EmptyRequirement,
            table.span(),
            "`status` lists no status",
        )
        .help("write `status: { in: [Done] }` or `status: { not_in: [Closed] }`")),
        (false, false) => Err(PolicyError::at(
            ErrorCode::ConflictingKeys,
            table.span(),
            "`status` takes `in` or `not_in`, not both",
        )
        .help("keep one: `in` lists the states allowed, `not_in` those refused")),
    }
}

options! {
    /// What a ticket's field must hold.
    #[options(what = "a field check", check = asks_something)]
    #[derive(Clone, Debug, Default)]
    pub(crate) struct FieldCheck {
        /// At least this many words (HTML and Jira's document format read as text).
        pub(crate) min_words: Option<u32> => constraint(SOME_WORDS),
        /// The field has a value.
        pub(crate) present: Option<bool>,
    }
}

fn some_words(min: &u32, _: &str, node: &Node) -> Result<(), PolicyError> {
    if *min > 0 {
        return Ok(());
    }
    Err(PolicyError::at(
        ErrorCode::InvalidValue,
        node.span,
        "`min_words: 0` asks for nothing",
    )
    .help("use `min_words: 1` or more, or `present: true`"))
}

fn asks_something(check: &FieldCheck, table: &crate::syntax::Table<'_>) -> Result<(), PolicyError> {
    if check.min_words.is_some() || check.present == Some(true) {
        return Ok(());
    }
    Err(PolicyError::at(
        ErrorCode::EmptyRequirement,
        table.span(),
        "this field check asks for nothing",
    )
    .help("write `{ present: true }` or `{ min_words: 5 }`"))
}

/// `fields:` — a field id to what it must hold, in the order written.
#[derive(Clone, Debug, Default)]
pub(crate) struct FieldChecks(pub Vec<(Spanned<String>, FieldCheck)>);

impl crate::syntax::Decode for FieldChecks {
    const NAME: Option<&'static str> = Some("FieldChecks");
    fn decode(node: &Node, d: &mut crate::syntax::Decoder) -> Option<Self> {
        let crate::syntax::node::Value::Map(entries) = &node.value else {
            d.error(
                PolicyError::at(
                    ErrorCode::WrongType,
                    node.span,
                    format!(
                        "expected a mapping of field ids, found {}",
                        node.type_name()
                    ),
                )
                .help("write `fields: { 'Microsoft.VSTS.Common.Priority': { present: true } }`"),
            );
            return None;
        };
        let mut out = Vec::new();
        let mut ok = true;
        for (key, value) in entries {
            let name = d.non_empty_string(key);
            let check = FieldCheck::decode(value, d);
            match (name, check) {
                (Some(name), Some(check)) => out.push((name, check)),
                _ => ok = false,
            }
        }
        if ok && out.is_empty() {
            d.error(
                PolicyError::at(
                    ErrorCode::EmptyRequirement,
                    node.span,
                    "`fields` names no field",
                )
                .help("name a field, or remove `fields`"),
            );
            return None;
        }
        ok.then_some(FieldChecks(out))
    }
    fn schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        let item = crate::syntax::schema_of::<FieldCheck>(generator);
        schemars::json_schema!({
            "description": "Field ids (the tracker's own: `Microsoft.VSTS.TCM.ReproSteps`, `customfield_10033`) to what each must hold.",
            "type": "object",
            "additionalProperties": item,
            "minProperties": 1
        })
    }
}

names! {
    /// What a moved ticket (answered under another key) is.
    #[names(what = "moved setting", label = "not a moved setting")]
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub(crate) enum Moved {
        Refuse = "refuse",
        Accept = "accept",
    }
}

impl Options {
    /// Whether this requirement asks a tracker's API anything.
    pub(crate) fn asks_tracker(&self) -> bool {
        self.exists.as_ref().is_some_and(|e| e.value)
            || !self.projects.0.is_empty()
            || !self.types.0.is_empty()
            || self.status.is_some()
            || self.fields.is_some()
    }

    /// The trackers this requirement judges through their API.
    pub(crate) fn api_trackers<'a>(
        &'a self,
        definitions: &'a Definitions,
    ) -> impl Iterator<Item = (&'a str, &'a Tracker)> {
        definitions
            .trackers(&self.trackers)
            .filter(|(_, t)| t.api.is_some())
    }

    /// Where the first tracker option is written, for errors.
    fn tracker_option_span(&self) -> Option<crate::syntax::Span> {
        self.exists
            .as_ref()
            .filter(|e| e.value)
            .map(|e| e.span)
            .or_else(|| self.projects.iter().next().map(|p| p.span))
            .or_else(|| self.types.iter().next().map(|p| p.span))
            .or_else(|| self.status.as_ref().map(|s| s.span))
            .or_else(|| self.fields.as_ref().map(|f| f.span))
    }
}

names! {
    /// A place a ticket can be named.
    #[names(what = "ticket place", label = "not a place a ticket can be named")]
    #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
    pub(crate) enum Place {
        Title = "title",
        Body = "body",
        Branch = "branch",
        Commits = "commits",
        Subject = "subject",
        Message = "message",
    }
}

/// `max`, when written, allows a ticket.
const SOME_TICKET: crate::syntax::Constraint<u32> = crate::syntax::Constraint {
    check: not_zero,
    schema: crate::syntax::at_least_one,
};

/// `min_words`, when written, asks for a word.
const SOME_WORDS: crate::syntax::Constraint<u32> = crate::syntax::Constraint {
    check: some_words,
    schema: crate::syntax::at_least_one,
};

fn not_zero(max: &u32, _: &str, node: &Node) -> Result<(), PolicyError> {
    if *max > 0 {
        return Ok(());
    }
    Err(PolicyError::at(
        ErrorCode::InvalidValue,
        node.span,
        "`max: 0` would forbid every ticket",
    )
    .help("use `max: 1` or more, or remove `max`"))
}

impl Requirement for Options {
    fn uses(&self, _: &Definitions, used: &mut super::Used) {
        if self.trackers.0.is_empty() {
            used.every("tickets");
        }
        used.names("tickets", &self.trackers);
    }

    fn validate(&self, cx: &super::Validation<'_>, errors: &mut Vec<PolicyError>) {
        let (policy, rule) = (cx.definitions, cx.rule);
        if !policy.defines_any("tickets") {
            errors.push(
                PolicyError::at(
                    ErrorCode::NoTrackers,
                    cx.span,
                    "`ticket` is required but no tracker is defined",
                )
                .help("define one under `tickets:`, e.g. `jira: { pattern: '\\bEPL-[0-9]+\\b' }`"),
            );
        }
        policy.check_trackers(&self.trackers, errors);
        let on_release = rule.on.iter().find(|o| o.value == SubjectKind::Release);
        if let Some(span) = self.tracker_option_span() {
            if let Some(on) = rule.on.iter().find(|o| o.value == SubjectKind::Branch) {
                errors.push(
                    PolicyError::at(
                        ErrorCode::RequirementNotOnSubject,
                        on.span,
                        "tickets are not verified in their tracker on `branch`: a branch alone is judged offline",
                    )
                    .help("verify the branch's ticket on the pull request (`on: [pull_request]`, `in: [branch]`), or move `branch` to a rule without tracker options"),
                );
            }
            // Named trackers must each have an API; by default, at least one must.
            let named = &self.trackers;
            let without: Vec<&Spanned<String>> = named
                .iter()
                .filter(|n| {
                    policy
                        .tickets
                        .get(&n.value)
                        .is_some_and(|t| t.api.is_none())
                })
                .collect();
            for name in &without {
                errors.push(
                    PolicyError::at(
                        ErrorCode::NoTrackerApi,
                        name.span,
                        format!(
                            "tracker `{}` has no `api:`, so its tickets cannot be verified (`exists`, `projects`, `types`, `status`, `fields`)",
                            name.value
                        ),
                    )
                    .help("give the tracker an `api: { kind, url, token_env }` (docs/trackers.md), or drop it from `trackers`"),
                );
            }
            if named.0.is_empty()
                && !policy.tickets.is_empty()
                && policy.tickets.values().all(|t| t.api.is_none())
            {
                errors.push(
                    PolicyError::at(
                        ErrorCode::NoTrackerApi,
                        span,
                        "this asks a tracker about each ticket, but no tracker under `tickets:` has an `api:`",
                    )
                    .help("give a tracker an `api: { kind, url, token_env }` (docs/trackers.md), or remove the option"),
                );
            }
        } else if let Some(on) = on_release {
            errors.push(
                PolicyError::at(
                    ErrorCode::EmptyRequirement,
                    on.span,
                    "on `release`, `ticket` judges the release's tickets through a tracker's API, and this asks it nothing",
                )
                .help("add `exists`, `projects`, `types`, `status` or `fields` (e.g. `status: { in: [QA Passed, Done] }`), or remove `release` from `on`"),
            );
        }
    }

    /// A ticket that asks no tracker has nothing to judge on a release; one
    /// that does is judged on pull requests and releases.
    fn on_by_default(&self, subject: SubjectKind) -> bool {
        if self.asks_tracker() {
            matches!(subject, SubjectKind::PullRequest | SubjectKind::Release)
        } else {
            subject != SubjectKind::Release
        }
    }

    fn needs<'a>(
        &'a self,
        policy: &'a Definitions,
        rule: RuleView<'a>,
        needs: &mut super::Needs<'a>,
    ) {
        if !self.asks_tracker() {
            return;
        }
        // On a release, every ticket a commit names counts, in its body too.
        needs.release_bodies |= rule.on.iter().any(|o| o.value == SubjectKind::Release);
        for (name, _) in self.api_trackers(policy) {
            let fields = needs.tracker_fields.entry(name.to_owned()).or_default();
            if let Some(checks) = &self.fields {
                fields.extend(checks.value.0.iter().map(|(n, _)| n.value.clone()));
            }
        }
    }

    fn check(&self, cx: &Context<'_>, out: &mut Vec<Violation>) {
        if self.asks_tracker() {
            super::tracked::check(self, cx, out);
        }
        if matches!(cx.subject, Subject::Release(_)) {
            return;
        }
        let texts = self.texts(&cx.subject);
        let trackers: Vec<(&str, &Tracker)> = cx.definitions.trackers(&self.trackers).collect();
        // Without `max`, one match is all that is asked: the search stops
        // at the first (a history of matching messages costs one search
        // each); the tickets are listed only when they are counted.
        let mut found = BTreeSet::new();
        let named = if self.max.is_none() {
            texts
                .iter()
                .any(|(_, text)| trackers.iter().any(|(_, t)| t.pattern.is_match(text)))
        } else {
            for (_, text) in &texts {
                for (_, tracker) in &trackers {
                    for ticket in tracker.pattern.find_all(text) {
                        found.insert(ticket.to_owned());
                    }
                }
            }
            !found.is_empty()
        };
        if !named && let Some(unknown) = unknown_branch(&self.places, &cx.subject) {
            // The branch the rule reads is not known here (`check commits`
            // without --branch, the audit without the commit's pull
            // request): not judged, rather than judged on the other places
            // alone, a verdict the hook and the pull request gate would not give.
            let mut notice = Violation::new(format!(
                "{BRANCH_NOT_KNOWN}{}",
                if texts.is_empty() {
                    String::new()
                } else {
                    format!(
                        ", and its {} names no ticket",
                        join_places(texts.iter().map(|(p, _)| *p))
                    )
                }
            ))
            .help(unknown);
            notice.level = Some(crate::syntax::Level::Notice);
            out.push(notice);
            return;
        }
        if !named {
            let where_ = join_places(texts.iter().map(|(p, _)| *p));
            let mut help = format!("name a ticket in {where_}");
            if let Some(example) = trackers.iter().find_map(|(_, t)| t.example.as_ref()) {
                help = format!("{help}, e.g. `{}`", example.value);
            }
            let keys: Vec<String> = trackers
                .iter()
                .map(|(n, t)| format!("{n}: `{}`", t.pattern.source.value))
                .collect();
            if !keys.is_empty() {
                help = format!("{help} (ticket patterns: {})", keys.join(", "));
            }
            let mut violation =
                Violation::new(format!("{} names no ticket in {where_}", what(&cx.subject)));
            let misses = near_misses(&texts, &trackers);
            if let Some((place, text, fixed)) = misses.first() {
                violation.message = format!(
                    "{}; `{text}` in the {place} looks like a ticket but does not match",
                    violation.message
                );
                help = match fixed {
                    Some(fixed) => format!(
                        "write `{fixed}` instead of `{text}`; ticket ids are exact: case and dash matter"
                    ),
                    None => format!("`{text}` does not match the tracker's pattern; {help}"),
                };
                violation.ticket = Some(text.clone());
            }
            out.push(violation.help(help));
            return;
        }
        if let Some(max) = self.max
            && found.len() > max as usize
        {
            let list: Vec<&str> = found.iter().map(String::as_str).collect();
            out.push(
                    Violation::new(format!(
                        "{} names {} tickets ({}); at most {max} allowed",
                        what(&cx.subject),
                        found.len(),
                        list.join(", ")
                    ))
                    .help("one task, one branch, one ticket: split the work, or keep only the ticket it delivers"),
                );
        }
    }
}

impl Options {
    /// Places `in:` lists that one of the rule's subjects does not have,
    /// with what they are read as there (a `validate` warning): `(where,
    /// message)`.
    pub(crate) fn foreign_places(&self, rule: RuleView<'_>) -> Vec<(crate::syntax::Span, String)> {
        let mut out = Vec::new();
        for subject in rule.on.iter().map(|o| o.value) {
            let (native, read_as): (&[Place], fn(Place) -> &'static str) = match subject {
                SubjectKind::PullRequest => (
                    &[Place::Title, Place::Body, Place::Branch, Place::Commits],
                    |_| "read as `commits` there: every commit message, whole",
                ),
                SubjectKind::Commit => (
                    &[Place::Subject, Place::Body, Place::Message, Place::Branch],
                    |p| match p {
                        Place::Title => "read as `subject` there",
                        _ => "read as `message` there",
                    },
                ),
                SubjectKind::Branch => (
                    &[Place::Branch],
                    |_| "ignored there: a branch is checked by its name",
                ),
                SubjectKind::Release => continue,
            };
            for place in &self.places {
                if native.contains(&place.value) {
                    continue;
                }
                let names: Vec<&str> = native.iter().map(|p| p.name()).collect();
                out.push((
                    place.span,
                    format!(
                        "ticket place `{}` (rule `{}`) does not exist on `{subject}`: {}; places on {subject}: {}",
                        place.value.name(),
                        rule.id.value,
                        read_as(place.value),
                        names.join(", ")
                    ),
                ));
            }
        }
        out
    }
}

/// How a commit finding "not judged" for want of its branch starts: the
/// audit judges such a commit again on its pull request's head branch.
pub(crate) const BRANCH_NOT_KNOWN: &str = "not judged: the commit's branch is not known here";

/// When the rule reads a commit's branch and it is not known: how to give it.
fn unknown_branch(places: &[Spanned<Place>], subject: &Subject<'_>) -> Option<&'static str> {
    let Subject::Commit(c) = subject else {
        return None;
    };
    (c.branch.is_none() && places.iter().any(|p| p.value == Place::Branch)).then_some(
        "a commit's branch is known in the commit-msg hook, the pre-push check and `check pr`; pass `check commits --branch NAME`, or let the audit read the commit's pull request (release evidence)",
    )
}

fn what(subject: &Subject<'_>) -> String {
    match subject {
        Subject::PullRequest(pr) => format!("pull request #{}", pr.number),
        Subject::Commit(_) => String::from("the commit"),
        Subject::Branch(b) => format!("branch `{}`", b.name),
        Subject::Release(r) => format!("release {}", r.range),
    }
}

impl Options {
    /// The texts to search, by place, for this subject.
    pub(super) fn texts<'a>(&self, subject: &Subject<'a>) -> Vec<(&'static str, &'a str)> {
        let mut places: Vec<Place> = self.places.iter().map(|p| p.value).collect();
        places.sort();
        places.dedup();
        let mut out: Vec<(&'static str, &'a str)> = Vec::new();
        match subject {
            Subject::PullRequest(pr) => {
                if places.is_empty() {
                    places = vec![Place::Title, Place::Body, Place::Branch, Place::Commits];
                }
                for place in &places {
                    match place {
                        Place::Title => add(&mut out, "title", &pr.title),
                        Place::Body => add(&mut out, "body", &pr.body),
                        Place::Branch => add(&mut out, "branch name", &pr.head),
                        Place::Commits | Place::Message | Place::Subject => {
                            if !out.iter().any(|(n, _)| *n == "commit messages") {
                                out.extend(
                                    pr.commits
                                        .iter()
                                        .map(|c| ("commit messages", c.message.as_str())),
                                );
                                if pr.commits.is_empty() {
                                    out.push(("commit messages", ""));
                                }
                            }
                        }
                    }
                }
            }
            Subject::Commit(c) => {
                if places.is_empty() {
                    places = vec![Place::Message];
                }
                for place in &places {
                    match place {
                        Place::Title | Place::Subject => add(&mut out, "subject line", c.subject()),
                        Place::Body => add(&mut out, "message body", c.body()),
                        Place::Message | Place::Commits => add(&mut out, "message", &c.message),
                        Place::Branch => {
                            if let Some(b) = &c.branch {
                                add(&mut out, "branch name", b)
                            }
                        }
                    }
                }
            }
            Subject::Branch(b) => add(&mut out, "branch name", &b.name),
            // Not a subject of this requirement (validation refuses it).
            Subject::Release(_) => {}
        }
        out
    }
}

fn add<'a>(out: &mut Vec<(&'static str, &'a str)>, name: &'static str, text: &'a str) {
    if !out.iter().any(|(n, _)| *n == name) {
        out.push((name, text));
    }
}

fn join_places<'a>(places: impl Iterator<Item = &'a str>) -> String {
    let mut names: Vec<&str> = Vec::new();
    for p in places {
        if !names.contains(&p) {
            names.push(p);
        }
    }
    match names.as_slice() {
        [] => String::from("nothing"),
        [one] => format!("the {one}"),
        [init @ .., last] => format!("the {} or {last}", init.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::facts::{Branch, Commit, PullRequest};
    use crate::policy::{Policy, PolicySource, load};

    fn policy(extra: &str) -> Policy {
        let text = format!(
            "version: 1\ntickets:\n  jira: {{ pattern: '\\b(KAFKA|EPL)-[0-9]+\\b', example: EPL-123 }}\nrules:\n  - id: t\n    require:\n      ticket: {extra}\n"
        );
        load(vec![PolicySource::new("p.yml", text)]).unwrap_or_else(|e| panic!("{:?}", e.errors))
    }

    fn run(policy: &Policy, subject: Subject<'_>) -> Vec<Violation> {
        let cx = Context {
            definitions: &policy.definitions,
            subject,
            rule: policy.rules[0].view(),
        };
        let mut out = Vec::new();
        for (_, _, req) in policy.rules[0].require.each() {
            req.check(&cx, &mut out);
        }
        out
    }

    #[test]
    fn commit_with_ticket_passes_and_without_fails() {
        let p = policy("{}");
        let ok = Commit {
            message: "EPL-12 fix login".into(),
            ..Commit::default()
        };
        assert!(run(&p, Subject::Commit(&ok)).is_empty());
        let bad = Commit {
            message: "fix login".into(),
            ..Commit::default()
        };
        let v = run(&p, Subject::Commit(&bad));
        assert_eq!(v.len(), 1);
        assert!(
            v[0].message.contains("names no ticket in the message"),
            "{}",
            v[0].message
        );
        assert!(v[0].help.as_deref().unwrap().contains("EPL-123"));
    }

    #[test]
    fn subject_place_ignores_tickets_in_the_body() {
        let p = policy("{ in: [subject] }");
        let c = Commit {
            message: "fix login\n\nCloses EPL-12".into(),
            ..Commit::default()
        };
        let v = run(&p, Subject::Commit(&c));
        assert_eq!(v.len(), 1, "{v:?}");
        assert!(v[0].message.contains("subject line"));
    }

    #[test]
    fn near_misses_are_reported_with_the_correct_form() {
        let p = policy("{}");
        for (text, fixed) in [
            ("KAFKa-16331 fix", "KAFKA-16331"),
            ("KAFKA 14515: fix", "KAFKA-14515"),
        ] {
            let c = Commit {
                message: text.into(),
                ..Commit::default()
            };
            let v = run(&p, Subject::Commit(&c));
            assert_eq!(v.len(), 1);
            assert!(
                v[0].help
                    .as_deref()
                    .unwrap()
                    .contains(&format!("write `{fixed}`")),
                "{:?}",
                v[0]
            );
        }
    }

    #[test]
    fn pull_request_finds_ticket_in_any_commit() {
        let p = policy("{}");
        let pr = PullRequest {
            number: 7,
            title: "Fix login".into(),
            head: "fix-login".into(),
            commits: vec![
                Commit {
                    message: "wip".into(),
                    ..Commit::default()
                },
                Commit {
                    message: "EPL-9 more".into(),
                    ..Commit::default()
                },
            ],
            ..PullRequest::default()
        };
        assert!(run(&p, Subject::PullRequest(&pr)).is_empty());
        let pr = PullRequest {
            commits: vec![],
            ..pr
        };
        let v = run(&p, Subject::PullRequest(&pr));
        assert!(
            v[0].message
                .contains("the title, body, branch name or commit messages"),
            "{}",
            v[0].message
        );
    }

    #[test]
    fn max_caps_distinct_tickets() {
        let p = policy("{ max: 1 }");
        let b = Branch {
            name: "feature/EPL-1-EPL-2".into(),
        };
        let v = run(&p, Subject::Branch(&b));
        assert_eq!(v.len(), 1);
        assert!(v[0].message.contains("2 tickets (EPL-1, EPL-2)"));
        let b = Branch {
            name: "feature/EPL-1-login".into(),
        };
        assert!(run(&p, Subject::Branch(&b)).is_empty());
    }

    #[test]
    fn near_miss_pattern_loosens_dashes_outside_classes() {
        let r = near_miss_pattern(r"\b[A-Z]+-[0-9]+\b").unwrap();
        assert!(r.is_match("abc 12"));
        assert!(r.is_match("abc_12"));
    }
}
