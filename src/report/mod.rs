//! Rendering: findings and policy errors to text. Pure: returns `String`s.

pub mod comment;
mod diagnostic;
pub mod github;
pub mod human;
pub mod inert;
pub mod json;
pub mod markdown;
pub mod sarif;

pub use diagnostic::{Named, render_policy_errors};

use crate::engine::Finding;
use crate::policy::Level;

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
    pub verdicts: Vec<crate::engine::Verdict>,
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
    pub id: String,
    /// `None`: not found, or not visible to the token.
    pub ticket: Option<crate::facts::Ticket>,
    /// The kind its type decides (`bug`, `feature`, `improvement`), if any.
    pub kind: Option<String>,
}

/// The tickets a subject names as their trackers answered, in natural
/// order; `kinds` maps a type name (lower case) to the kind it decides.
pub fn ticket_lines(
    facts: &crate::facts::TrackerFacts,
    kinds: &std::collections::BTreeMap<String, String>,
) -> Vec<TicketLine> {
    let mut out: Vec<TicketLine> = facts
        .tickets
        .values()
        .flat_map(|tickets| tickets.iter())
        .map(|(id, state)| {
            let ticket = match state {
                crate::facts::TicketState::Found(t) => Some((**t).clone()),
                crate::facts::TicketState::Absent => None,
            };
            let kind = ticket
                .as_ref()
                .and_then(|t| kinds.get(&t.kind.to_lowercase()).cloned());
            TicketLine {
                id: id.clone(),
                ticket,
                kind,
            }
        })
        .collect();
    out.sort_by(|a, b| natural_cmp(&a.id, &b.id));
    out
}

/// The Markdown table of tickets: summary, type and state, with a link.
pub fn tickets_table(lines: &[TicketLine]) -> String {
    let mut out = String::from("| ticket | summary | type | state |\n|---|---|---|---|\n");
    for line in lines {
        match &line.ticket {
            Some(t) => {
                let id = match &t.link {
                    Some(link) => format!("[{}]({})", table_cell(&line.id), table_cell(link)),
                    None => table_cell(&line.id),
                };
                let moved = if t.key != line.id {
                    format!(" (now {})", table_cell(&t.key))
                } else {
                    String::new()
                };
                out.push_str(&format!(
                    "| {id}{moved} | {} | {} | {} |\n",
                    table_cell(&crate::facts::shown_subject(&t.summary)),
                    table_cell(&t.kind),
                    table_cell(&t.status)
                ));
            }
            None => out.push_str(&format!(
                "| {} | ❌ not found, or not visible to the token | | |\n",
                table_cell(&line.id)
            )),
        }
    }
    out
}

/// A finding a waiver covers.
#[derive(Clone, Debug)]
pub struct Waived {
    pub finding: Finding,
    /// Index into [`Report::waivers`].
    pub waiver: usize,
}

/// One waiver of the policy and what it did in this run.
#[derive(Clone, Debug)]
pub struct WaiverUse {
    /// `commit`, `pull_request` or `ticket`.
    pub key: &'static str,
    /// The sha, number or ticket.
    pub value: String,
    /// "commit 3f2a9c1e12", "pull request #12", "ticket EPL-77".
    pub subject: String,
    pub rules: Vec<String>,
    pub reason: String,
    pub granted_by: String,
    /// YYYY-MM-DD.
    pub expires: Option<String>,
    /// Where it is written.
    pub policy: crate::policy::Span,
    pub state: WaiverState,
    /// How many findings it waived (or, expired, would have waived).
    pub findings: usize,
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
    pub fn name(self) -> &'static str {
        match self {
            Self::Used => "used",
            Self::Unused => "unused",
            Self::Expired => "expired",
            Self::NotJudged => "not_judged",
        }
    }
}

impl WaiverUse {
    /// "waived for commit 3f2a9c1e12 by asherman (until 2027-03-31): <reason>".
    pub fn summary(&self) -> String {
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
    pub version: Option<String>,
    pub range: String,
    pub commits: usize,
    /// Path of the release page read, if any.
    pub page: Option<String>,
    /// Every commit's sha, in the order of the range.
    pub shas: Vec<String>,
    /// Ticket → indices of the commits naming it.
    pub tickets: std::collections::BTreeMap<String, Vec<u32>>,
    /// Tickets not on the page.
    pub missing: Vec<String>,
    /// Tickets on the page that no commit names.
    pub unlisted: Vec<String>,
    /// Commits naming no ticket: (index, subject).
    pub without_ticket: Vec<(u32, String)>,
    /// Link templates: a tracker's pattern and its `url` (`{id}` is the ticket).
    pub links: Vec<(regex::Regex, String)>,
    /// Required page sections and their state.
    pub sections: Vec<(String, SectionState)>,
    /// Each expedited change: who granted, merged and reviewed it, or what is
    /// missing (`None`: not checked).
    pub expedited: Option<Vec<String>>,
    /// The release commit's checks (`None`: not read).
    pub checks: Option<crate::facts::ChecksState>,
    /// Incident ticket → test files that reference it.
    pub incidents: std::collections::BTreeMap<String, Vec<String>>,
    /// Whether each change went through the merge gate.
    pub evidence: crate::evidence::Evidence,
}

impl ReleaseSummary {
    pub fn sha(&self, index: u32) -> &str {
        self.shas.get(index as usize).map_or("", String::as_str)
    }

    /// The ticket's link, from its tracker's `url`.
    pub fn link(&self, ticket: &str) -> Option<String> {
        self.links
            .iter()
            .find(|(pattern, _)| pattern.is_match(ticket))
            .map(|(_, url)| url.replace("{id}", ticket))
    }
}

impl Report {
    pub fn passed(&self) -> bool {
        !self.findings.iter().any(|f| f.level == Level::Error)
    }

    pub fn count(&self, level: Level) -> usize {
        self.findings.iter().filter(|f| f.level == level).count()
    }
}

/// The header of a Markdown findings table.
pub const FINDINGS_HEADER: &str = "| level | rule | finding | how to fix |\n|---|---|---|---|\n";

/// The header of a Markdown table of waived findings.
pub const WAIVED_HEADER: &str = "| level | rule | finding | waived for | reason | granted by | expires |\n|---|---|---|---|---|---|---|\n";

/// One row of a Markdown table of waived findings.
pub fn waived_row(report: &Report, w: &Waived) -> String {
    let f = &w.finding;
    let about = f
        .commit
        .as_deref()
        .map(|c| format!("`{}` ", markdown_text(short_sha(c))))
        .unwrap_or_default();
    let (subject, reason, granted, expires) = match report.waivers.get(w.waiver) {
        Some(u) => (
            table_cell(&u.subject),
            table_cell(&u.reason),
            table_cell(&u.granted_by),
            table_cell(u.expires.as_deref().unwrap_or("never")),
        ),
        None => Default::default(),
    };
    format!(
        "| {} | `{}` | {about}{} | {subject} | {reason} | {granted} | {expires} |\n",
        f.level.name(),
        f.rule,
        table_cell(&f.message),
    )
}

/// A "## Waived findings" Markdown section, empty when none was waived.
pub fn waived_section(report: &Report, heading: &str) -> String {
    if report.waived.is_empty() {
        return String::new();
    }
    let mut out = format!("{heading} Waived findings ({})\n\n", report.waived.len());
    out.push_str(WAIVED_HEADER);
    for w in &report.waived {
        out.push_str(&waived_row(report, w));
    }
    out.push('\n');
    out
}

/// One row of a Markdown findings table.
pub fn finding_row(f: &Finding) -> String {
    let about = f
        .commit
        .as_deref()
        .map(|c| format!("`{}` ", markdown_text(short_sha(c))))
        .unwrap_or_default();
    format!(
        "| {} | `{}` | {about}{} | {} |\n",
        f.level.name(),
        f.rule,
        table_cell(&f.message),
        table_cell(f.help.as_deref().unwrap_or(""))
    )
}

/// Text fit for a Markdown table cell: no pipes, no line breaks, no raw
/// HTML, no control characters.
pub fn table_cell(text: &str) -> String {
    markdown_text(&text.replace(['\n', '\r'], " "))
}

/// Untrusted text for Markdown, on one line: pipes escaped, `<` and `>` as
/// entities (GitHub would render raw HTML), control characters visible.
pub fn markdown_text(text: &str) -> String {
    inert::one_line(text)
        .replace('|', "\\|")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// Natural order for ticket ids: runs of digits compare as numbers, so
/// `ZOOKEEPER-842` comes before `ZOOKEEPER-1200` (a plain string order puts
/// it after). Ties (`EPL-07` and `EPL-7`) fall back to the string order.
pub fn natural_cmp(a: &str, b: &str) -> std::cmp::Ordering {
    use std::cmp::Ordering;
    fn runs(text: &str) -> impl Iterator<Item = (bool, &str)> {
        let mut rest = text;
        std::iter::from_fn(move || {
            let first = rest.chars().next()?;
            let digits = first.is_ascii_digit();
            let end = rest
                .find(|c: char| c.is_ascii_digit() != digits)
                .unwrap_or(rest.len());
            let (run, after) = rest.split_at(end);
            rest = after;
            Some((digits, run))
        })
    }
    let (mut left, mut right) = (runs(a), runs(b));
    loop {
        match (left.next(), right.next()) {
            (None, None) => return a.cmp(b),
            (None, Some(_)) => return Ordering::Less,
            (Some(_), None) => return Ordering::Greater,
            (Some((true, x)), Some((true, y))) => {
                let (x, y) = (x.trim_start_matches('0'), y.trim_start_matches('0'));
                let order = x.len().cmp(&y.len()).then_with(|| x.cmp(y));
                if order != Ordering::Equal {
                    return order;
                }
            }
            (Some((_, x)), Some((_, y))) => {
                let order = x.cmp(y);
                if order != Ordering::Equal {
                    return order;
                }
            }
        }
    }
}

/// The first 10 characters of a commit id (never splitting a character).
pub fn short_sha(sha: &str) -> &str {
    sha.char_indices()
        .nth(10)
        .and_then(|(i, _)| sha.get(..i))
        .unwrap_or(sha)
}

/// "1 error", "2 warnings".
pub fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        format!("{n} {word}")
    } else {
        format!("{n} {word}s")
    }
}

#[cfg(test)]
mod tests {
    use super::natural_cmp;

    #[test]
    fn tickets_sort_naturally() {
        let mut ids = vec![
            "ZOOKEEPER-1200",
            "ZOOKEEPER-842",
            "EPL-7",
            "EPL-07",
            "AB#10",
            "AB#9",
            "EPL-7a",
            "ZOOKEEPER-842",
        ];
        ids.sort_by(|a, b| natural_cmp(a, b));
        assert_eq!(
            ids,
            [
                "AB#9",
                "AB#10",
                "EPL-07",
                "EPL-7",
                "EPL-7a",
                "ZOOKEEPER-842",
                "ZOOKEEPER-842",
                "ZOOKEEPER-1200"
            ]
        );
        // A string order would put 1200 first.
        assert!("ZOOKEEPER-1200" < "ZOOKEEPER-842");
    }
}
