//! Rendering: findings and policy errors to text. Pure: returns `String`s.

pub(crate) mod comment;
mod diagnostic;
pub mod github;
pub mod human;
pub mod inert;
pub(crate) mod json;
pub(crate) mod markdown;
pub mod sarif;

pub(crate) use diagnostic::render_policy_errors;

pub use crate::outcome::{
    ReleaseSummary, Report, SectionState, TicketLine, Waived, WaiverState, WaiverUse,
};
pub(crate) use crate::text::{natural_cmp, plural, short_sha};

use crate::outcome::Finding;

/// The tickets a subject names as their trackers answered, in natural
/// order; `kinds` maps a type name (lower case) to the kind it decides.
pub(crate) fn ticket_lines(
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
pub(crate) fn tickets_table(lines: &[TicketLine]) -> String {
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

/// The header of a Markdown findings table.
pub(crate) const FINDINGS_HEADER: &str =
    "| level | rule | finding | how to fix |\n|---|---|---|---|\n";

/// The header of a Markdown table of waived findings.
pub(crate) const WAIVED_HEADER: &str = "| level | rule | finding | waived for | reason | granted by | expires |\n|---|---|---|---|---|---|---|\n";

/// One row of a Markdown table of waived findings.
pub(crate) fn waived_row(report: &Report, w: &Waived) -> String {
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
pub(crate) fn waived_section(report: &Report, heading: &str) -> String {
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
pub(crate) fn finding_row(f: &Finding) -> String {
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
pub(crate) fn table_cell(text: &str) -> String {
    markdown_text(&text.replace(['\n', '\r'], " "))
}

/// Untrusted text for Markdown, on one line: pipes escaped, `<` and `>` as
/// entities (GitHub would render raw HTML), control characters visible.
pub(crate) fn markdown_text(text: &str) -> String {
    inert::one_line(text)
        .replace('|', "\\|")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}
