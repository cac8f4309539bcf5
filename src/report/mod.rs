//! Rendering: findings and policy errors to text. Pure: returns `String`s.

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

/// The first 10 characters of a commit id (never splitting a character).
pub fn short_sha(sha: &str) -> &str {
    sha.char_indices().nth(10).map_or(sha, |(i, _)| &sha[..i])
}

/// "1 error", "2 warnings".
pub fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        format!("{n} {word}")
    } else {
        format!("{n} {word}s")
    }
}
