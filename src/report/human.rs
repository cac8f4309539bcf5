//! The human report: miette diagnostics pointing at the policy line behind
//! each finding; one line per finding when there are many.

use miette::Severity;

use super::diagnostic::{Named, Plain, render};
use super::inert::{multi_line, one_line};
use super::short_sha as short;
use super::{Report, plural};
use crate::engine::Finding;
use crate::policy::{Level, Policy};

/// Up to this many findings, each is a full diagnostic with a snippet.
pub(crate) const FULL_LIMIT: usize = 12;

/// How to draw.
#[derive(Clone, Copy, Debug)]
pub struct Style {
    pub color: bool,
    pub width: usize,
}

/// The human report: each finding with its snippet (or, past [`FULL_LIMIT`],
/// one snippet per rule and a line per finding), the waived findings, the summary.
pub fn render_report(report: &Report, policy: &Policy, style: Style) -> String {
    let mut out = Vec::new();
    // Writing into a Vec cannot fail.
    let _ = write_report(report, policy, style, &mut out);
    String::from_utf8_lossy(&out).into_owned()
}

/// [`render_report`] written piece by piece: 30,000 findings are never held
/// as one text (the audit of a long history stays within its memory goal).
pub(crate) fn write_report(
    report: &Report,
    policy: &Policy,
    style: Style,
    out: &mut dyn std::io::Write,
) -> std::io::Result<()> {
    if report.findings.len() <= FULL_LIMIT {
        for finding in &report.findings {
            out.write_all(
                render(&diagnostic(finding, policy, None), style.color, style.width).as_bytes(),
            )?;
        }
    } else {
        // Many findings: the rule's snippet once, then a line per finding.
        let mut rules: Vec<&str> = Vec::new();
        for f in &report.findings {
            if !rules.contains(&&*f.rule) {
                rules.push(&f.rule);
            }
        }
        for rule in rules {
            let of_rule: Vec<&Finding> = report
                .findings
                .iter()
                .filter(|f| &*f.rule == rule)
                .collect();
            let first = of_rule[0];
            let summary = format!("{} from rule `{rule}`", plural(of_rule.len(), "finding"));
            out.write_all(
                render(
                    &diagnostic(first, policy, Some(summary)),
                    style.color,
                    style.width,
                )
                .as_bytes(),
            )?;
            for f in &of_rule {
                out.write_all(line(f, style.color).as_bytes())?;
            }
            out.write_all(b"\n")?;
        }
    }
    out.write_all(waived(report, style.color).as_bytes())?;
    if let Some(release) = &report.release {
        match &release.evidence {
            crate::evidence::Evidence::Checked(changes) => out.write_all(
                format!(
                    "evidence: {}\n",
                    one_line(&crate::evidence::summary(changes))
                )
                .as_bytes(),
            )?,
            crate::evidence::Evidence::NotChecked(_) => {
                out.write_all(b"evidence: not checked\n")?;
            }
            crate::evidence::Evidence::Off => {}
        }
    }
    out.write_all(summary(report, style.color).as_bytes())
}

/// The waived findings, each with its waiver: shown, not counted.
fn waived(report: &Report, color: bool) -> String {
    let mut out = String::new();
    for w in &report.waived {
        let f = &w.finding;
        let about = match (&f.commit, &f.commit_subject) {
            (Some(sha), Some(subject)) => format!(
                "{} {}: ",
                paint(short(sha), "33", color),
                truncate(&one_line(subject), 60)
            ),
            _ => String::new(),
        };
        out.push_str(&format!(
            "{}[{}] ({}) {about}{}\n",
            paint("waived", "1;35", color),
            f.rule,
            f.level.name(),
            one_line(&f.message)
        ));
        if let Some(waiver) = report.waivers.get(w.waiver) {
            out.push_str(&format!("  {}\n", one_line(&waiver.summary())));
        }
    }
    if !out.is_empty() {
        out.push('\n');
    }
    out
}

fn diagnostic<'a>(finding: &Finding, policy: &'a Policy, summary: Option<String>) -> Plain<'a> {
    let source = policy.source(finding.policy);
    let about = match (&finding.commit, &finding.commit_subject) {
        (Some(sha), Some(subject)) => format!("{} \"{}\": ", short(sha), one_line(subject)),
        _ => String::new(),
    };
    let message = match summary {
        Some(summary) => summary,
        None => format!("{about}{}", multi_line(&finding.message)),
    };
    let rule = policy.rules.iter().find(|r| *r.id.value == *finding.rule);
    let label = match rule.and_then(|r| r.description.as_ref()) {
        Some(d) => format!("required by `{}`: {}", finding.rule, d.value),
        None => format!("required by rule `{}`", finding.rule),
    };
    Plain {
        message,
        code: Some(finding.rule.to_string()),
        severity: severity(finding.level),
        help: finding.help.as_deref().map(|h| multi_line(h).into_owned()),
        label: source.map(|_| (label, finding.policy.source_span())),
        source: source.map(|s| Named::new(&s.name, &s.text)),
        related: Vec::new(),
    }
}

fn severity(level: Level) -> Severity {
    match level {
        Level::Error => Severity::Error,
        Level::Warning => Severity::Warning,
        Level::Notice => Severity::Advice,
    }
}

fn paint(text: &str, code: &str, color: bool) -> String {
    if color {
        format!("\x1b[{code}m{text}\x1b[0m")
    } else {
        text.to_owned()
    }
}

fn line(f: &Finding, color: bool) -> String {
    let level = match f.level {
        Level::Error => paint("error", "1;31", color),
        Level::Warning => paint("warning", "1;33", color),
        Level::Notice => paint("notice", "1;36", color),
    };
    let about = match (&f.commit, &f.commit_subject) {
        (Some(sha), Some(subject)) => format!(
            "{} {}: ",
            paint(short(sha), "33", color),
            truncate(&one_line(subject), 60)
        ),
        _ => String::new(),
    };
    format!("  {level}[{}] {about}{}\n", f.rule, one_line(&f.message))
}

fn truncate(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_owned()
    } else {
        format!("{}…", text.chars().take(max - 1).collect::<String>())
    }
}

/// The last line, the same shape for every command:
/// `passed: <what> — <counts>` or `failed: <what> — <counts>`.
fn summary(report: &Report, color: bool) -> String {
    let (e, w, n) = (
        report.count(Level::Error),
        report.count(Level::Warning),
        report.count(Level::Notice),
    );
    let mut parts = Vec::new();
    if matches!(report.subject_kind, "commit" | "release" | "push")
        && (report.checked != 1 || report.skipped > 0)
    {
        parts.push(format!("{} checked", plural(report.checked, "commit")));
        if report.skipped > 0 {
            parts.push(format!(
                "{} skipped (merges and exempt messages)",
                report.skipped
            ));
        }
    }
    for (count, what) in [(e, "error"), (w, "warning"), (n, "notice")] {
        if count > 0 {
            parts.push(plural(count, what));
        }
    }
    if !report.waived.is_empty() {
        parts.push(format!("{} waived", report.waived.len()));
    }
    if e + w + n == 0 && report.waived.is_empty() {
        parts.push(String::from("no findings"));
    }
    let verdict = if report.passed() {
        paint("passed:", "1;32", color)
    } else {
        paint("failed:", "1;31", color)
    };
    format!(
        "{verdict} {} — {}\n",
        one_line(&report.subject_ref),
        parts.join(", ")
    )
}
