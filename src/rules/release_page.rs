use crate::syntax::ErrorCode;
use std::any::Any;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::OnceLock;

use super::sections;
use super::{Context, RangeJudge, Requirement, Violation};
use crate::definitions::{Definitions, RuleView};
use crate::facts::SubjectKind;
use crate::facts::{Release, Subject, body_of, subject_of};
use crate::outcome::SectionState;
use crate::syntax::{Level, Node, PolicyError, Spanned, Strings, Table, names, non_empty, options};

pub(crate) const SUMMARY: &str = "The release page exists, has its sections with real content, and lists every ticket of the release.";

pub(crate) const DOC: &str = r#"## What it checks
The release page — `path` at the end of the audited range, with `{version}`
from `--release` or the release tag, or `--page FILE` — has each section in
`sections` with real content (as for `sections`: comments, placeholders and
`TBD` do not count). A section marked `pending_until_deploy` may say
"pending" until the audit is run with `--post-deploy`.

With `lists_all_tickets`, every ticket named by a commit of the range appears
on the page; each missing one is a finding naming the ticket and its commits.
Tickets on the page that no commit names are warnings (listed but not
shipped). `tickets_in` says where a commit names the tickets it delivers:
`subject`, `body` or `message` (default): many projects mention related
tickets in the body, and only the subject says what the commit delivers.
`trackers` narrows the trackers (default: all but incident trackers).

When one file holds every release (ZooKeeper's `releasenotes.md`, Keep a
Changelog's `CHANGELOG.md`), `section` names the heading of this release's
section, and only that section is read: its tickets, its required sections.
A ticket listed under another release's heading is not listed for this one,
and other releases' tickets are no warnings. `section: '{version}'` finds
`## [1.2.3]`, `## [1.2.3] - 2026-01-02`, `## 1.2.3 (2026-01-02)` and
`## v1.2.3` (brackets, case and what follows a space do not matter; what
follows the version directly does: `1.2.3-rc.1` and `1.2.30` are other
versions). The section runs to the next heading of its level or higher;
headings in code blocks and HTML comments are none. No section for the
release is a finding, and so are two (which one lists the release is a
guess).

`{version}` (from `--release`, else the release tag on the audited commit)
is filled in `path`, `section` and the `sections` headings; any other
`{…}` is refused by `validate`, and an audit whose release has no version
stops (exit 2) rather than guess.

## Why
P22: the release page lists every change scheduled for the deployment. P23:
it carries regression and integration test results. P25: observability
snapshots before and 24 hours after deployment. P26: a rollback plan, for
deviations from the benchmark.

## Example policy
```yaml
rules:
  - id: release-page
    on: [release]
    require:
      release_page:
        path: 'docs/releases/{version}.md'
        sections:
          - Changes
          - { heading: 'Test results', min_words: 5 }
          - Pre-deployment snapshot
          - { heading: 'Post-deployment snapshot', pending_until_deploy: true }
          - Rollback plan
        lists_all_tickets: true
        tickets_in: [subject]

  # One file for every release (Keep a Changelog).
  - id: changelog
    on: [release]
    require:
      release_page:
        path: CHANGELOG.md
        section: '{version}'
        lists_all_tickets: true
```

## How to fix
Add the missing tickets (with a line on what changed) and fill the sections
on the release page, commit it to the release branch, and audit again.
"#;

pub(crate) const SUBJECTS: &[SubjectKind] = &[SubjectKind::Release];

options! {
    /// The release page and what it must hold.
    #[options(what = "`release_page`", check = asks_for_something)]
    #[derive(Clone, Debug, Default)]
    pub struct Options {
        /// Path of the page at the release commit; `{version}` is replaced.
        pub(crate) path: Option<Spanned<String>> => with(non_empty),
        /// When one file holds every release: the heading of this release's
        /// section, e.g. `'{version}'` (Keep a Changelog's `## [1.2.3] - 2026-01-02`)
        /// or `'Release Notes - ZooKeeper - Version {version}'`. Only that
        /// section is read: its tickets, its sections.
        pub(crate) section: Option<Spanned<String>> => with(non_empty),
        /// Sections with real content.
        pub(crate) sections: sections::Options,
        /// Every ticket a commit of the range names appears on the page.
        pub(crate) lists_all_tickets: bool,
        /// Where commits name the tickets they deliver: `subject`, `body`, `message` (default).
        pub(crate) tickets_in: Vec<Part>,
        /// Trackers that count (default: every tracker not marked `incident`).
        pub(crate) trackers: Strings,
    }
}

names! {
    /// A part of a commit message.
    #[names(what = "`tickets_in` value", unknown = unknown_part)]
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub(crate) enum Part {
        Subject = "subject",
        Body = "body",
        Message = "message",
    }
}

fn unknown_part(node: &Node) -> PolicyError {
    PolicyError::at(
        ErrorCode::UnknownValue,
        node.span,
        format!(
            "unknown `tickets_in` value `{}`",
            node.as_str().unwrap_or("")
        ),
    )
    .help("use subject, body or message")
}

fn asks_for_something(options: &Options, table: &Table<'_>) -> Result<(), PolicyError> {
    if !options.sections.0.is_empty()
        || options.lists_all_tickets
        || options.path.is_some()
        || options.section.is_some()
    {
        return Ok(());
    }
    Err(PolicyError::at(
        ErrorCode::EmptyRequirement,
        table.span(),
        "`release_page` asks for nothing",
    )
    .help("give `sections`, `lists_all_tickets: true`, or at least the page's `path`"))
}

impl Requirement for Options {
    fn uses(&self, policy: &Definitions, used: &mut super::Used) {
        // Default: every tracker not marked `incident`.
        if self.trackers.0.is_empty() {
            for (name, _) in policy.tickets.iter().filter(|(_, t)| !t.incident) {
                used.name("tickets", name);
            }
        }
        used.names("tickets", &self.trackers);
    }

    fn needs<'a>(
        &'a self,
        policy: &'a Definitions,
        rule: RuleView<'a>,
        needs: &mut super::Needs<'a>,
    ) {
        needs.release_pages.push(PageQuery {
            options: self,
            policy,
            rule: &rule.id.value,
        });
    }

    fn validate(&self, cx: &super::Validation<'_>, errors: &mut Vec<PolicyError>) {
        let policy = cx.definitions;
        policy.check_trackers(&self.trackers, errors);
        let headings = self
            .sections
            .0
            .iter()
            .map(|s| ("a `sections` heading", &s.heading));
        let templates = [
            ("`path`", self.path.as_ref()),
            ("`section`", self.section.as_ref()),
        ];
        for (what, template) in templates
            .into_iter()
            .filter_map(|(w, t)| Some((w, t?)))
            .chain(headings)
        {
            if let Some(error) = unfillable_placeholder(what, template) {
                errors.push(error);
            }
        }
    }

    /// Judged without a walk of the range: the judge is fed the commits
    /// the facts hold.
    fn check(&self, cx: &Context<'_>, out: &mut Vec<Violation>) {
        let Subject::Release(release) = &cx.subject else {
            return;
        };
        self.judge_of(cx.definitions, release).judge(cx, out);
    }

    fn range_judge<'a>(
        &'a self,
        policy: &'a Definitions,
        _rule: RuleView<'a>,
    ) -> Option<Box<dyn RangeJudge + 'a>> {
        Some(Box::new(self.judge(policy)))
    }
}

fn short_sha(release: &Release, index: u32) -> String {
    crate::text::short_sha(release.commits[index as usize].sha.as_deref().unwrap_or("")).to_owned()
}

/// The tracker regexes meant: the named trackers, else every tracker that is
/// (`incident`) or is not an incident tracker.
pub(crate) fn trackers<'p>(
    policy: &'p Definitions,
    named: &Strings,
    incident: bool,
) -> Vec<&'p regex::Regex> {
    policy
        .tickets
        .iter()
        .filter(|(name, t)| {
            if named.0.is_empty() {
                t.incident == incident
            } else {
                named.contains(name)
            }
        })
        .map(|(_, t)| t.pattern.regex())
        .collect()
}

/// Adds the tickets `text` (part of commit number `commit`) names to
/// `tickets`, borrowing them from the text; whether it named any.
pub(crate) fn collect_tickets<'t>(
    trackers: &[&regex::Regex],
    commit: u32,
    text: &'t str,
    tickets: &mut BTreeMap<&'t str, Vec<u32>>,
) -> bool {
    let mut named = false;
    for regex in trackers {
        for m in regex.find_iter(text) {
            named = true;
            let commits = tickets.entry(m.as_str()).or_default();
            if commits.last() != Some(&commit) {
                commits.push(commit);
            }
        }
    }
    named
}

/// The tickets a release's commits name as one rule counts them, with the
/// indices of their commits, and the commits that name none.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct NamedTickets {
    pub(crate) tickets: BTreeMap<String, Vec<u32>>,
    pub(crate) without_ticket: Vec<u32>,
}

/// A `release_page` rule's judge of a release: it keeps the tickets each
/// commit names (as the rule counts them) while the range is read, not the
/// messages, and reads the page once for the findings and the summary.
pub(crate) struct PageJudge<'p> {
    options: &'p Options,
    policy: &'p Definitions,
    trackers: Vec<&'p regex::Regex>,
    kept: Kept,
}

/// What a [`PageJudge`] keeps: the tickets named, what the page alone
/// decides (read before the walk, while little else is held in memory),
/// and the page as read with the tickets (once: the findings and the
/// summary are made on two threads).
#[derive(Default)]
struct Kept {
    namings: Namings,
    /// The tickets named, grouped once the walk is over.
    named: OnceLock<NamedTickets>,
    page: Option<PageRead>,
    read: OnceLock<PageReading>,
}

impl Kept {
    fn named(&self) -> &NamedTickets {
        self.named.get_or_init(|| self.namings.group())
    }
}

/// The tickets named while the range is read, appended as found: a map of
/// 70,000 tickets is 6 MB while the walk also holds the pack's caches;
/// they are grouped by ticket once the walk is over.
#[derive(Default)]
struct Namings {
    /// The tickets named, one after the other.
    text: String,
    /// Each naming: where its ticket ends in `text`, and its commit.
    ends: Vec<(usize, u32)>,
    without_ticket: Vec<u32>,
}

impl Namings {
    /// Each ticket with the commits naming it, in order, each once.
    fn group(&self) -> NamedTickets {
        let mut pairs = Vec::with_capacity(self.ends.len());
        let mut start = 0;
        for &(end, commit) in &self.ends {
            pairs.push((self.text.get(start..end).unwrap_or_default(), commit));
            start = end;
        }
        pairs.sort_unstable();
        pairs.dedup();
        let mut tickets: Vec<(String, Vec<u32>)> = Vec::new();
        for (ticket, commit) in pairs {
            match tickets.last_mut() {
                Some((last, commits)) if last == ticket => commits.push(commit),
                _ => tickets.push((ticket.to_owned(), vec![commit])),
            }
        }
        NamedTickets {
            tickets: tickets.into_iter().collect(),
            without_ticket: self.without_ticket.clone(),
        }
    }
}

/// What only the page, the version and the deployment decide.
#[derive(Debug, Default)]
struct PageRead {
    /// The facts it was read from ([`page_key`]): used only for the same.
    key: u64,
    /// Findings about the page itself, in order.
    findings: Vec<Violation>,
    sections: Vec<(String, SectionState)>,
    /// Where in the page its tickets are listed (the page, or its section).
    scope: Option<std::ops::Range<usize>>,
    /// Whether the page was read through: its tickets are compared.
    tickets_judged: bool,
}

/// The facts a [`PageRead`] depends on, hashed.
fn page_key(release: &Release) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut hasher = std::hash::DefaultHasher::new();
    release.version.hash(&mut hasher);
    release.post_deploy.hash(&mut hasher);
    release.page_missing.hash(&mut hasher);
    release
        .page
        .as_ref()
        .map(|p| (&p.path, &p.text))
        .hash(&mut hasher);
    hasher.finish()
}

/// The release page as one rule reads it.
#[derive(Debug, Default)]
struct PageReading {
    /// The rule's findings, in order.
    findings: Vec<Violation>,
    /// Tickets named and not on the page; on the page and named by none.
    missing: Vec<String>,
    unlisted: BTreeSet<String>,
    /// The state of each required section, for the summary.
    sections: Vec<(String, SectionState)>,
}

impl RangeJudge for PageJudge<'_> {
    fn commit(&mut self, index: u32, message: &str) {
        let text = self.options.part(message);
        let namings = &mut self.kept.namings;
        let mut named = false;
        for regex in &self.trackers {
            for m in regex.find_iter(text) {
                named = true;
                namings.text.push_str(m.as_str());
                namings.ends.push((namings.text.len(), index));
            }
        }
        if !named {
            namings.without_ticket.push(index);
        }
    }

    fn prepare(&mut self, release: &Release) {
        self.kept.page = Some(self.options.read_page(release));
    }

    fn judge(&self, cx: &Context<'_>, out: &mut Vec<Violation>) {
        let Subject::Release(release) = &cx.subject else {
            return;
        };
        out.extend(self.reading(release).findings.iter().cloned());
    }

    fn kept(&self) -> &(dyn Any + Send + Sync) {
        &self.kept
    }

    fn into_kept(self: Box<Self>) -> Box<dyn Any + Send + Sync> {
        Box::new(self.kept)
    }
}

impl PageJudge<'_> {
    fn reading(&self, release: &Release) -> &PageReading {
        self.kept.read.get_or_init(|| {
            let kept = &self.kept;
            self.options
                .read(self.policy, kept.named(), release, kept.page.as_ref())
        })
    }
}

/// What the audit must read for a `release_page` rule: the page; its
/// summary, from what the rule's judge kept.
pub(crate) struct PageQuery<'a> {
    options: &'a Options,
    policy: &'a Definitions,
    rule: &'a str,
}

impl<'a> PageQuery<'a> {
    /// The requirement whose judge this rule's is (see [`RangeJudge`]).
    pub(crate) const REQUIREMENT: &'static str = "release_page";

    /// The page path with `{version}` filled in: `None` when the rule names
    /// no path, `Err` when it needs a version that is unknown (the template is given).
    pub(crate) fn path(&self, version: Option<&str>) -> Option<Result<String, String>> {
        let template = self.options.path.as_ref()?.value.clone();
        Some(self.options.page_path(version)?.map_err(|()| template))
    }

    /// The id of the rule asking.
    pub(crate) fn rule(&self) -> &'a str {
        self.rule
    }

    /// Whether judging the page needs the released version (see [`Options::needs_version`]).
    pub(crate) fn needs_version(&self, page_given: bool) -> bool {
        self.options.needs_version(page_given)
    }

    /// The release summary's tickets (missing, unlisted, commits without
    /// one), links and page sections, from what `judge` (this rule's, fed
    /// the range) kept; without it, from the commits the facts hold. `true`
    /// when the tickets stay in the judge (to be moved into the summary
    /// with [`PageQuery::tickets`] rather than copied).
    pub(crate) fn summarize(
        &self,
        release: &Release,
        judge: Option<&dyn RangeJudge>,
        out: &mut crate::outcome::ReleaseSummary,
    ) -> bool {
        let fed;
        let (kept, borrowed) = match judge.and_then(|j| j.kept().downcast_ref::<Kept>()) {
            Some(kept) => (kept, true),
            None => {
                fed = self.options.judge_of(self.policy, release);
                (&fed.kept, false)
            }
        };
        let reading = kept.read.get_or_init(|| {
            self.options
                .read(self.policy, kept.named(), release, kept.page.as_ref())
        });
        out.links = self
            .policy
            .tickets
            .values()
            .filter_map(|t| Some((t.pattern.regex().clone(), t.url.as_ref()?.value.clone())))
            .collect();
        out.missing = reading.missing.clone();
        out.missing.sort_by(|a, b| crate::text::natural_cmp(a, b));
        out.unlisted = reading.unlisted.iter().cloned().collect();
        out.unlisted.sort_by(|a, b| crate::text::natural_cmp(a, b));
        out.without_ticket = kept
            .namings
            .without_ticket
            .iter()
            .map(|&i| {
                (
                    i,
                    crate::facts::shown_subject(release.commits[i as usize].subject()),
                )
            })
            .collect();
        if !borrowed {
            out.tickets = kept.named().tickets.clone();
        }
        out.sections = reading.sections.clone();
        borrowed
    }

    /// The state of each section this rule requires, on the release's page
    /// (as `judge`, this rule's, read it; without it, read again).
    pub(crate) fn section_states(
        &self,
        release: &Release,
        judge: Option<&dyn RangeJudge>,
    ) -> Vec<(String, SectionState)> {
        match judge.and_then(|j| j.kept().downcast_ref::<Kept>()) {
            Some(kept) => kept
                .read
                .get_or_init(|| {
                    self.options
                        .read(self.policy, kept.named(), release, kept.page.as_ref())
                })
                .sections
                .clone(),
            None => {
                let judge = self.options.judge_of(self.policy, release);
                judge.reading(release).sections.clone()
            }
        }
    }

    /// The tickets this rule's judge kept, taken from it: ticket → the
    /// indices of the commits naming it.
    pub(crate) fn tickets(judge: Box<dyn RangeJudge + '_>) -> BTreeMap<String, Vec<u32>> {
        judge
            .into_kept()
            .downcast::<Kept>()
            .map(|kept| {
                let named = kept.named.into_inner();
                named.unwrap_or_else(|| kept.namings.group()).tickets
            })
            .unwrap_or_default()
    }
}

impl Options {
    /// This rule's judge of a release, before any commit is fed.
    pub(crate) fn judge<'p>(&'p self, policy: &'p Definitions) -> PageJudge<'p> {
        PageJudge {
            options: self,
            policy,
            trackers: trackers(policy, &self.trackers, false),
            kept: Kept::default(),
        }
    }

    /// This rule's judge, fed the commits the facts hold.
    fn judge_of<'p>(&'p self, policy: &'p Definitions, release: &Release) -> PageJudge<'p> {
        let mut judge = self.judge(policy);
        for (i, commit) in release.commits.iter().enumerate() {
            judge.commit(i as u32, &commit.message);
        }
        judge
    }

    /// The page as this rule reads it, with the tickets the commits name:
    /// the findings, the tickets missing and unlisted, the sections' states.
    /// What only the page decides is taken from `page` when it was read
    /// from these facts (before the walk), else read now.
    fn read(
        &self,
        policy: &Definitions,
        named: &NamedTickets,
        release: &Release,
        page: Option<&PageRead>,
    ) -> PageReading {
        let fresh;
        let page_read = match page.filter(|p| p.key == page_key(release)) {
            Some(read) => read,
            None => {
                fresh = self.read_page(release);
                &fresh
            }
        };
        let text = page_read
            .scope
            .clone()
            .and_then(|range| release.page.as_ref()?.text.get(range));
        let (missing, unlisted) = self.compare(policy, &named.tickets, text);
        let mut reading = PageReading {
            findings: page_read.findings.clone(),
            missing,
            unlisted,
            sections: page_read.sections.clone(),
        };
        if let Some(page) = &release.page
            && page_read.tickets_judged
            && self.lists_all_tickets
        {
            let tickets = self.ticket_findings(named, &reading, release, page);
            reading.findings.extend(tickets);
        }
        reading
    }

    /// What only the page (its section), the version and the deployment
    /// decide: its findings and the sections' states. The one place the
    /// page is parsed as Markdown, once.
    fn read_page(&self, release: &Release) -> PageRead {
        let scope = self.scope(release);
        let mut read = PageRead {
            key: page_key(release),
            scope: scope.as_ref().ok().cloned().flatten(),
            ..PageRead::default()
        };
        let Some(page) = &release.page else {
            let message = match &release.page_missing {
                Some(looked) => format!("the release page {looked} is not there"),
                None => String::from("the release has no release page"),
            };
            read.findings.push(
                Violation::new(message).help("write and commit the page, or pass --page FILE"),
            );
            return read;
        };
        let specs = self.filled_sections(release.version.as_deref());
        let (text, specs) =
            match (scope, specs) {
                (Ok(Some(range)), Ok(specs)) => (page.text.get(range).unwrap_or_default(), specs),
                (Ok(None), _) => return read,
                (Err(message), _) => {
                    read.findings
                        .push(Violation::new(message).help(self.section_help(page)));
                    read.sections = self.all_missing();
                    return read;
                }
                (Ok(Some(_)), Err(message)) => {
                    read.findings.push(Violation::new(message).help(
                        "pass --release VERSION, or audit a range that ends at a release tag",
                    ));
                    read.sections = self.all_missing();
                    return read;
                }
            };
        let what = match &self.section {
            Some(_) => format!(
                "the release page {} (its section for {})",
                page.path,
                release.version.as_deref().unwrap_or("")
            ),
            None => format!("the release page {}", page.path),
        };
        let found = crate::markdown::sections(text);
        sections::check_sections(
            &found,
            &specs,
            &what,
            release.post_deploy,
            &mut read.findings,
        );
        read.sections = states(&found, &specs, release.post_deploy);
        read.tickets_judged = true;
        read
    }

    /// A finding for each ticket named and not on the page, and a warning
    /// for each on the page that no commit names.
    fn ticket_findings(
        &self,
        named: &NamedTickets,
        reading: &PageReading,
        release: &Release,
        page: &crate::facts::ReleasePage,
    ) -> Vec<Violation> {
        let mut out = Vec::new();
        for ticket in &reading.missing {
            let shas: Vec<String> = named.tickets[ticket]
                .iter()
                .map(|&i| short_sha(release, i))
                .collect();
            let mut v = Violation::new(format!(
                "ticket {ticket} (commit {}) is not on the release page",
                shas.join(", ")
            ))
            .help(match &self.section {
                Some(_) => format!(
                    "add {ticket} to the section for {} in {} with a line on what changed",
                    release.version.as_deref().unwrap_or("this release"),
                    page.path
                ),
                None => format!("add {ticket} to {} with a line on what changed", page.path),
            });
            v.ticket = Some(ticket.clone());
            out.push(v);
        }
        for ticket in &reading.unlisted {
            let mut v = Violation::new(format!(
                "ticket {ticket} is on the release page, but no commit of {} names it",
                release.range
            ))
            .help("remove it from the page, or check that its change is in this release");
            v.ticket = Some(ticket.clone());
            v.level = Some(Level::Warning);
            out.push(v);
        }
        out
    }

    /// The tickets named and not on the page (`text`: the page or its
    /// section), and those on it that no commit names. Both sides sorted,
    /// then walked together: no lookups in either.
    fn compare(
        &self,
        policy: &Definitions,
        named: &BTreeMap<String, Vec<u32>>,
        text: Option<&str>,
    ) -> (Vec<String>, BTreeSet<String>) {
        let mut on_page: Vec<&str> = match text {
            Some(text) => trackers(policy, &self.trackers, false)
                .iter()
                .flat_map(|r| r.find_iter(text).map(|m| m.as_str()))
                .collect(),
            None => Vec::new(),
        };
        on_page.sort_unstable();
        on_page.dedup();
        let (mut missing, mut unlisted) = (Vec::new(), BTreeSet::new());
        let mut named = named.keys().map(String::as_str).peekable();
        let mut listed = on_page.into_iter().peekable();
        loop {
            match (named.peek(), listed.peek()) {
                (Some(n), Some(l)) if n == l => {
                    named.next();
                    listed.next();
                }
                (Some(n), Some(l)) if n < l => {
                    missing.push(named.next().unwrap_or_default().to_owned())
                }
                (Some(_), Some(_)) | (None, Some(_)) => {
                    unlisted.insert(listed.next().unwrap_or_default().to_owned());
                }
                (Some(_), None) => missing.push(named.next().unwrap_or_default().to_owned()),
                (None, None) => break,
            }
        }
        (missing, unlisted)
    }

    /// Each required section missing (no section for this release, or no
    /// version for its heading).
    fn all_missing(&self) -> Vec<(String, SectionState)> {
        self.sections
            .0
            .iter()
            .map(|s| (s.heading.value.clone(), SectionState::MissingOrEmpty))
            .collect()
    }

    /// The part of a message where this rule looks for tickets.
    fn part<'c>(&self, message: &'c str) -> &'c str {
        // With several parts given, the widest wins (message ⊇ subject, body).
        if self.tickets_in.is_empty()
            || self.tickets_in.contains(&Part::Message)
            || (self.tickets_in.contains(&Part::Subject) && self.tickets_in.contains(&Part::Body))
        {
            message
        } else if self.tickets_in.contains(&Part::Subject) {
            subject_of(message)
        } else {
            body_of(message)
        }
    }

    /// The page path with `{version}` filled in; `None` when it needs a version that is unknown.
    pub(crate) fn page_path(&self, version: Option<&str>) -> Option<Result<String, ()>> {
        Some(fill(&self.path.as_ref()?.value, version))
    }

    /// Whether reading the page needs the released version: a `{version}`
    /// in its path (unless the page is given), its section's heading or a
    /// required section's heading.
    pub(crate) fn needs_version(&self, page_given: bool) -> bool {
        [
            self.path.as_ref().filter(|_| !page_given),
            self.section.as_ref(),
        ]
        .into_iter()
        .flatten()
        .map(|t| &t.value)
        .chain(self.sections.0.iter().map(|s| &s.heading.value))
        .any(|t| t.contains(VERSION))
    }

    /// Where in the page the release's own text is (its section, or all of it).
    fn scope(&self, release: &Release) -> Result<Option<std::ops::Range<usize>>, String> {
        let Some(page) = &release.page else {
            return Ok(None);
        };
        let Some(section) = &self.section else {
            return Ok(Some(0..page.text.len()));
        };
        let version = release.version.as_deref();
        let Ok(heading) = fill(&section.value, version) else {
            return Err(format!(
                "the section of the release page {} is `{}`, and the release has no version to fill in",
                page.path, section.value
            ));
        };
        // `## v1.2.3` is 1.2.3's section too.
        let mut wanted = vec![heading];
        if let Some(v) = version
            && section.value.contains(VERSION)
            && !v.starts_with(['v', 'V'])
        {
            wanted.push(section.value.replace(VERSION, &format!("v{v}")));
        }
        // Two sections for one release: which one lists its changes is a
        // guess, so neither is taken.
        match crate::markdown::heading_section_ranges(&page.text, &wanted).as_slice() {
            [one] => Ok(Some(one.clone())),
            [] => Err(format!(
                "the release page {} has no section for {} (a heading `{}`)",
                page.path,
                version.unwrap_or("this release"),
                wanted[0]
            )),
            several => Err(format!(
                "the release page {} has {} sections for {} (headings `{}`): keep one",
                page.path,
                several.len(),
                version.unwrap_or("this release"),
                wanted[0]
            )),
        }
    }

    fn section_help(&self, page: &crate::facts::ReleasePage) -> String {
        let heading = self.section.as_ref().map_or("", |s| s.value.as_str());
        format!(
            "add a heading `{heading}` (with the version) and this release's changes under it to {}; in Keep a Changelog, rename `## [Unreleased]` to the version being released",
            page.path
        )
    }

    /// The required sections with `{version}` filled in their headings.
    fn filled_sections(&self, version: Option<&str>) -> Result<Vec<sections::SectionSpec>, String> {
        self.sections
            .0
            .iter()
            .map(|spec| {
                let mut spec = spec.clone();
                spec.heading.value = fill(&spec.heading.value, version).map_err(|()| {
                    format!(
                        "the required section `{}` needs {VERSION}, and the release has none",
                        spec.heading.value
                    )
                })?;
                Ok(spec)
            })
            .collect()
    }
}

/// The state of each required section among the sections `found`: each
/// judged alone, and again as if deployed (pending shows only then).
fn states(
    found: &[crate::markdown::Section],
    specs: &[sections::SectionSpec],
    post_deploy: bool,
) -> Vec<(String, SectionState)> {
    let mut out = Vec::new();
    for spec in specs {
        let (mut now, mut after) = (Vec::new(), Vec::new());
        let spec_alone = std::slice::from_ref(spec);
        sections::check_sections(found, spec_alone, "the page", post_deploy, &mut now);
        sections::check_sections(found, spec_alone, "the page", true, &mut after);
        let state = match (now.is_empty(), after.is_empty()) {
            (false, _) => SectionState::MissingOrEmpty,
            (true, false) => SectionState::Pending,
            (true, true) => SectionState::Complete,
        };
        out.push((spec.heading.value.clone(), state));
    }
    out
}

/// The one placeholder: the released version.
pub(crate) const VERSION: &str = "{version}";

/// `template` with `{version}` filled in; `Err` when it needs a version that is unknown.
fn fill(template: &str, version: Option<&str>) -> Result<String, ()> {
    match (template.contains(VERSION), version) {
        (false, _) => Ok(template.to_owned()),
        (true, Some(v)) => Ok(template.replace(VERSION, v)),
        (true, None) => Err(()),
    }
}

/// A `{…}` in a template other than `{version}`: a placeholder the audit
/// cannot fill (`{verison}`, `{date}`), or a brace left open, which would
/// be looked for literally and never found.
fn unfillable_placeholder(what: &str, template: &Spanned<String>) -> Option<PolicyError> {
    let text = template.value.replace(VERSION, "");
    let at = text.find(['{', '}'])?;
    let rest = text.get(at..).unwrap_or_default();
    let shown = match rest.find('}') {
        Some(end) if rest.starts_with('{') => rest.get(..=end).unwrap_or(rest),
        _ => rest.get(..1).unwrap_or(rest),
    };
    Some(
        PolicyError::at(
            ErrorCode::UnknownPlaceholder,
            template.span,
            format!(
                "{what} `{}` holds `{shown}`, which the audit cannot fill in",
                template.value
            ),
        )
        .label("not {version}")
        .help("the one placeholder is `{version}` (from --release, or the release tag on the audited commit)"),
    )
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::NamedTickets;
    use crate::rules::RangeJudge;

    use crate::engine::evaluate;
    use crate::facts::{Release, ReleaseCommit, ReleasePage, Subject};
    use crate::policy::{Level, Policy, PolicySource, load};

    const POLICY: &str = "version: 1
tickets:
  jira: { pattern: '\\bEPL-[0-9]+\\b' }
  incidents: { pattern: '\\bINC-[0-9]+\\b', incident: true }
rules:
  - id: release-page
    on: [release]
    require:
      release_page:
        path: 'docs/releases/{version}.md'
        sections:
          - Changes
          - { heading: 'Post-deployment snapshot', pending_until_deploy: true }
        lists_all_tickets: true
        tickets_in: [subject]
";

    fn policy() -> Policy {
        load(vec![PolicySource::new("p.yml", POLICY)]).unwrap_or_else(|e| panic!("{:?}", e.errors))
    }

    fn commit(sha: &str, message: &str) -> ReleaseCommit {
        ReleaseCommit {
            sha: Some(sha.into()),
            message: message.into(),
        }
    }

    fn release(page: &str, post_deploy: bool) -> Release {
        Release {
            version: Some("1.3.0".into()),
            range: "v1.2.0..HEAD".into(),
            commits: vec![
                commit(
                    "aaaaaaaaaaaa",
                    "EPL-1 Retry the login\n\nCloses #2220 from user/EPL-99",
                ),
                commit("bbbbbbbbbbbb", "EPL-2 Export invoices"),
                commit("cccccccccccc", "Tidy up; see INC-7"),
            ],
            page: Some(ReleasePage {
                path: "docs/releases/1.3.0.md".into(),
                text: page.into(),
            }),
            post_deploy,
            ..Release::default()
        }
    }

    fn found(release: &Release) -> Vec<(Level, String)> {
        evaluate(&policy(), Subject::Release(release))
            .into_iter()
            .map(|f| (f.level, f.message.to_string()))
            .collect()
    }

    #[test]
    fn a_complete_page_passes_and_pending_is_fine_before_deployment() {
        let page = "## Changes\n- EPL-1 login retries\n- EPL-2 invoice export\n\n## Post-deployment snapshot\nPending\n";
        assert!(
            found(&release(page, false)).is_empty(),
            "{:?}",
            found(&release(page, false))
        );
        let after = found(&release(page, true));
        assert_eq!(after.len(), 1);
        assert!(
            after[0].1.contains("still says pending after deployment"),
            "{after:?}"
        );
    }

    #[test]
    fn missing_tickets_name_their_commits_and_unlisted_ones_warn() {
        let page = "## Changes\n- EPL-1 login retries\n- EPL-5 something else\n\n## Post-deployment snapshot\nTBD\n";
        let f = found(&release(page, false));
        assert!(
            f.contains(&(
                Level::Error,
                "ticket EPL-2 (commit bbbbbbbbbb) is not on the release page".into()
            )),
            "{f:?}"
        );
        assert!(
            f.contains(&(
                Level::Warning,
                "ticket EPL-5 is on the release page, but no commit of v1.2.0..HEAD names it"
                    .into()
            )),
            "{f:?}"
        );
        // EPL-99 is only mentioned in a body: with `tickets_in: [subject]` it is not part of the release.
        assert!(!f.iter().any(|(_, m)| m.contains("EPL-99")), "{f:?}");
        // Incident tickets are not release-page tickets.
        assert!(!f.iter().any(|(_, m)| m.contains("INC-7")), "{f:?}");
        // A placeholder is not a snapshot.
        assert!(
            f.iter()
                .any(|(_, m)| m.contains("`Post-deployment snapshot`") && m.contains("is empty")),
            "{f:?}"
        );
    }

    /// What the judge fed commit by commit keeps and reads, for a policy.
    fn judged(p: &Policy, facts: &Release) -> (NamedTickets, Vec<String>, BTreeSet<String>) {
        let rule = &p.rules[0];
        let options = &rule.require.release_page.as_ref().unwrap().value;
        let mut judge = options.judge(&p.definitions);
        for (i, commit) in facts.commits.iter().enumerate() {
            judge.commit(i as u32, &commit.message);
        }
        let reading = judge.reading(facts);
        (
            judge.kept.named().clone(),
            reading.missing.clone(),
            reading.unlisted.clone(),
        )
    }

    #[test]
    fn the_judge_keeps_tickets_with_their_commits_and_commits_without_tickets() {
        let p = policy();
        let facts = release("EPL-1", false);
        let (named, missing, _) = judged(&p, &facts);
        assert_eq!(
            named.tickets.keys().map(String::as_str).collect::<Vec<_>>(),
            ["EPL-1", "EPL-2"]
        );
        assert_eq!(
            named.without_ticket,
            [2],
            "the third commit, `Tidy up; see INC-7`, names no ticket"
        );
        assert_eq!(missing, ["EPL-2"]);
        // Fed by the engine while the commits are read (as the audit does):
        // the same findings as judged from the facts' commits.
        let mut judges = crate::engine::RangeJudges::new(&p);
        for commit in &facts.commits {
            judges.commit(&commit.message);
        }
        let from_facts = evaluate(&p, Subject::Release(&facts));
        let mut interner = crate::engine::Interner::default();
        let fed = crate::engine::evaluate_range(&p, &facts, &judges, &mut interner);
        assert_eq!(fed, from_facts);
        assert_eq!(
            from_facts.len(),
            3,
            "two sections and EPL-2: {from_facts:?}"
        );
        // Fed other than the release's commits: not judged, an error.
        judges.commit("EPL-9 one more");
        let wrong = crate::engine::evaluate_range(&p, &facts, &judges, &mut interner);
        assert_eq!(wrong.len(), 1, "{wrong:?}");
        assert!(wrong[0].message.contains("was not judged"), "{wrong:?}");
        assert_eq!(wrong[0].level, Level::Error);
        let rule = &p.rules[0];
        let options = &rule.require.release_page.as_ref().unwrap().value;
        assert_eq!(
            options.page_path(Some("1.3.0")),
            Some(Ok("docs/releases/1.3.0.md".into()))
        );
        assert_eq!(options.page_path(None), Some(Err(())));
    }

    /// What the page alone decides may be read before the walk; it is used
    /// only for a release with the same page, version and deployment.
    #[test]
    fn a_page_read_before_the_walk_is_used_only_for_the_same_facts() {
        let p = policy();
        let options = &p.rules[0].require.release_page.as_ref().unwrap().value;
        let complete = "## Changes\n- EPL-1 login retries\n- EPL-2 invoice export\n\n## Post-deployment snapshot\nPending\n";
        let judged = |prepared: &Release, facts: &Release| {
            let mut judge = options.judge(&p.definitions);
            judge.prepare(&Release {
                commits: Vec::new(),
                ..prepared.clone()
            });
            for (i, commit) in facts.commits.iter().enumerate() {
                judge.commit(i as u32, &commit.message);
            }
            let findings: Vec<String> = judge
                .reading(facts)
                .findings
                .iter()
                .map(|v| v.message.clone())
                .collect();
            findings
        };
        let fresh = |facts: &Release| {
            let mut judge = options.judge(&p.definitions);
            for (i, commit) in facts.commits.iter().enumerate() {
                judge.commit(i as u32, &commit.message);
            }
            let findings: Vec<String> = judge
                .reading(facts)
                .findings
                .iter()
                .map(|v| v.message.clone())
                .collect();
            findings
        };
        let (empty, full) = (release("## Changes\n", false), release(complete, false));
        assert!(fresh(&full).is_empty(), "{:?}", fresh(&full));
        assert_eq!(judged(&full, &full), fresh(&full));
        // Read from another page, another version, after deployment: read again.
        assert_eq!(judged(&empty, &full), fresh(&full));
        assert_eq!(judged(&full, &empty), fresh(&empty));
        let mut other_version = full.clone();
        other_version.version = Some("9.9.9".into());
        assert_eq!(judged(&other_version, &full), fresh(&full));
        let deployed = release(complete, true);
        assert_eq!(judged(&full, &deployed), fresh(&deployed));
        assert_eq!(fresh(&deployed).len(), 1, "pending after deployment");
    }

    #[test]
    fn missing_and_unlisted_tickets_interleaved() {
        let p = policy();
        let commit = |m: &str| ReleaseCommit {
            sha: Some("0".repeat(40)),
            message: m.into(),
        };
        let facts = Release {
            commits: vec![
                commit("EPL-5 e"),
                commit("EPL-1 a"),
                commit("EPL-3 c"),
                commit("EPL-5 again"),
            ],
            page: Some(ReleasePage {
                path: "p.md".into(),
                text: "- EPL-6\n- EPL-3\n- EPL-2\n- EPL-0\n- EPL-3\n- EPL-10".into(),
            }),
            ..Release::default()
        };
        let (named, missing, unlisted) = judged(&p, &facts);
        assert_eq!(missing, ["EPL-1", "EPL-5"]);
        assert_eq!(
            unlisted.iter().map(String::as_str).collect::<Vec<_>>(),
            ["EPL-0", "EPL-10", "EPL-2", "EPL-6"]
        );
        assert_eq!(named.tickets["EPL-5"], [0, 3]);
    }

    const CHANGELOG_POLICY: &str = "version: 1
tickets:
  jira: { pattern: '\\bEPL-[0-9]+\\b' }
rules:
  - id: changelog
    on: [release]
    require:
      release_page:
        path: CHANGELOG.md
        section: '{version}'
        sections: [Fixed]
        lists_all_tickets: true
";

    const CHANGELOG: &str = "# Changelog

## [Unreleased]

### Fixed
- EPL-9 not released yet

## [1.3.0] - 2026-01-02

### Fixed
- EPL-1 login retries

## [1.3.0-rc.1] - 2025-12-20

### Fixed
- EPL-2 listed for the candidate only

## [1.2.0] - 2025-11-01

### Fixed
- EPL-2 invoice export (an older release)
- EPL-7 something long gone

[1.3.0]: https://example.com/compare/v1.2.0...v1.3.0
";

    fn changelog_release(text: &str, version: Option<&str>) -> Release {
        Release {
            version: version.map(str::to_owned),
            range: "v1.2.0..HEAD".into(),
            commits: vec![
                commit("aaaaaaaaaaaa", "EPL-1 Retry the login"),
                commit("bbbbbbbbbbbb", "EPL-2 Export invoices"),
            ],
            page: Some(ReleasePage {
                path: "CHANGELOG.md".into(),
                text: text.into(),
            }),
            ..Release::default()
        }
    }

    fn changelog_found(release: &Release) -> Vec<(Level, String)> {
        let p = load(vec![PolicySource::new("p.yml", CHANGELOG_POLICY)])
            .unwrap_or_else(|e| panic!("{:?}", e.errors));
        evaluate(&p, Subject::Release(release))
            .into_iter()
            .map(|f| (f.level, f.message.to_string()))
            .collect()
    }

    /// One file for every release: only this release's section counts. A
    /// ticket under an older release's heading is not listed for this one,
    /// and other releases' tickets are no warnings.
    #[test]
    fn a_section_of_a_shared_file_is_the_release_page() {
        let found = changelog_found(&changelog_release(CHANGELOG, Some("1.3.0")));
        assert_eq!(
            found,
            [(
                Level::Error,
                "ticket EPL-2 (commit bbbbbbbbbb) is not on the release page".into()
            )],
            "EPL-2 is listed under 1.2.0 and the candidate only; EPL-7 and EPL-9 are other releases'"
        );
        // `## v1.3.0` and a plain `## 1.3.0 (2026-01-02)` are the section too.
        for heading in ["## v1.3.0", "## 1.3.0 (2026-01-02)", "1.3.0\n-----"] {
            let text = format!(
                "# Changelog\n\n{heading}\n\n### Fixed\n- EPL-1\n- EPL-2\n\n## 1.2.0\n- EPL-7\n"
            );
            let found = changelog_found(&changelog_release(&text, Some("1.3.0")));
            assert!(found.is_empty(), "{heading}: {found:?}");
        }
        // Neither 1.3.0's candidate nor 1.3.01 nor 1.3.0.1 is 1.3.0.
        let text = "## [1.3.0-rc.1]\n### Fixed\n- EPL-1 EPL-2\n## 1.3.01\n### Fixed\n- EPL-1 EPL-2\n## 1.3.0.1\n### Fixed\n- EPL-1 EPL-2\n";
        let found = changelog_found(&changelog_release(text, Some("1.3.0")));
        assert_eq!(
            found,
            [(
                Level::Error,
                "the release page CHANGELOG.md has no section for 1.3.0 (a heading `1.3.0`)".into()
            )]
        );
        // Two headings for one release: neither is taken for it.
        let text =
            "## [1.3.0]\n### Fixed\n- EPL-1 EPL-2\n## [1.2.0]\n### 1.3.0 backports\n- EPL-7\n";
        assert_eq!(
            changelog_found(&changelog_release(text, Some("1.3.0"))),
            [(
                Level::Error,
                "the release page CHANGELOG.md has 2 sections for 1.3.0 (headings `1.3.0`): keep one".into()
            )]
        );
        // A heading in a code block or an HTML comment is none.
        let text = "<!--\n## [1.3.0]\n- EPL-1 EPL-2\n-->\n```\n## [1.3.0]\n### Fixed\n- EPL-1 EPL-2\n```\n";
        assert_eq!(
            changelog_found(&changelog_release(text, Some("1.3.0"))).len(),
            1
        );
        // The required sections are the release's own: 1.2.0's `Fixed` is not 1.3.0's.
        let text = "## [1.3.0]\n- EPL-1 EPL-2\n## [1.2.0]\n### Fixed\n- EPL-7\n";
        let found = changelog_found(&changelog_release(text, Some("1.3.0")));
        assert_eq!(
            found,
            [(
                Level::Error,
                "the release page CHANGELOG.md (its section for 1.3.0) has no `Fixed` section"
                    .into()
            )]
        );
        // Without a version, the section cannot be told: a finding, never the whole file.
        let found = changelog_found(&changelog_release(CHANGELOG, None));
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(
            found[0].1.contains("has no version to fill in"),
            "{found:?}"
        );
    }

    /// `{version}` is the one placeholder: anything else in the path, the
    /// section heading or a required heading is refused with its place.
    #[test]
    fn a_placeholder_the_audit_cannot_fill_is_refused() {
        for (key, value) in [
            ("path", "'docs/{verison}.md'"),
            ("section", "'Release {date}'"),
            ("section", "'Release {version'"),
            ("sections", "['Changes in {major}']"),
        ] {
            let policy = format!(
                "version: 1\ntickets:\n  jira: {{ pattern: 'EPL-[0-9]+' }}\nrules:\n  - id: page\n    on: [release]\n    require:\n      release_page:\n        lists_all_tickets: true\n        {key}: {value}\n"
            );
            let errors = match load(vec![PolicySource::new("p.yml", policy.as_str())]) {
                Ok(p) => p.prepare_all().err().unwrap_or_default(),
                Err(e) => e.errors,
            };
            assert_eq!(errors.len(), 1, "{key}: {errors:?}");
            assert_eq!(errors[0].code, "policy::unknown-placeholder", "{errors:?}");
            assert_eq!(errors[0].span.map(|s| s.line), Some(10), "{errors:?}");
        }
        let fine = "version: 1\ntickets:\n  jira: { pattern: 'EPL-[0-9]+' }\nrules:\n  - id: page\n    on: [release]\n    require:\n      release_page: { path: 'docs/{version}.md', section: 'Release {version}', sections: ['Changes in {version}'] }\n";
        assert!(load(vec![PolicySource::new("p.yml", fine)]).is_ok());
    }

    proptest::proptest! {
        /// Tickets gathered during the walk and matched against the page by
        /// a sorted merge agree with the plain definition: missing = named by
        /// a commit's subject and not on the page; unlisted = on the page and
        /// named by no commit; without_ticket = commits whose subject names none.
        #[test]
        fn the_index_matches_its_definition(
            subjects in proptest::collection::vec(
                proptest::collection::vec(0u8..40, 0..3), 0..30),
            bodies in proptest::collection::vec(0u8..40, 0..30),
            listed in proptest::collection::vec(0u8..60, 0..40),
        ) {
            let p = policy();
            let commits: Vec<ReleaseCommit> = subjects
                .iter()
                .enumerate()
                .map(|(i, ids)| {
                    let names: Vec<String> = ids.iter().map(|n| format!("EPL-{n}")).collect();
                    let body = bodies.get(i).map(|n| format!("\n\nsee EPL-{n}")).unwrap_or_default();
                    ReleaseCommit { sha: Some(format!("{i:040}")), message: format!("Change {}{body}", names.join(" ")) }
                })
                .collect();
            let page: String = listed.iter().map(|n| format!("- EPL-{n}\n")).collect();
            let facts = Release {
                commits,
                page: Some(ReleasePage { path: "p.md".into(), text: page }),
                ..Release::default()
            };
            let (index, missing, unlisted) = judged(&p, &facts);

            let named: BTreeSet<String> = subjects.iter().flatten().map(|n| format!("EPL-{n}")).collect();
            let on_page: BTreeSet<String> = listed.iter().map(|n| format!("EPL-{n}")).collect();
            let expected_missing: Vec<String> = named.difference(&on_page).cloned().collect();
            let expected_unlisted: BTreeSet<String> = on_page.difference(&named).cloned().collect();
            let without: Vec<u32> = subjects.iter().enumerate().filter(|(_, ids)| ids.is_empty()).map(|(i, _)| i as u32).collect();
            proptest::prop_assert_eq!(&missing, &expected_missing);
            proptest::prop_assert_eq!(&unlisted, &expected_unlisted);
            proptest::prop_assert_eq!(index.without_ticket.as_slice(), without.as_slice());
            for (ticket, commits) in index.tickets.iter() {
                let expected: Vec<u32> = subjects.iter().enumerate()
                    .filter(|(_, ids)| ids.iter().any(|n| &format!("EPL-{n}") == ticket))
                    .map(|(i, _)| i as u32).collect();
                proptest::prop_assert_eq!(commits, &expected);
            }
        }
    }
}
