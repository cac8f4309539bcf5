//! `--format github`: workflow-command annotations GitHub shows on the run
//! and the pull request. (Step summary and outputs: see the pull request check.)

use super::inert::{multi_line, one_line};
use super::{Report, plural};
use crate::engine::Finding;
use crate::policy::{InvalidPolicy, Level, Policy};

/// Escapes a message body of a workflow command.
pub(crate) fn escape_data(text: &str) -> String {
    text.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// Escapes a property value (`title=…`, `file=…`).
pub(crate) fn escape_property(text: &str) -> String {
    escape_data(text).replace(':', "%3A").replace(',', "%2C")
}

/// One `::error …::` line. `place` is (file, line); line 0: the file as a
/// whole (no `line=`).
/// Every part is escaped: control characters shown, line breaks and the
/// property separators encoded, so untrusted text cannot end the command.
pub(crate) fn annotation(
    level: &str,
    title: &str,
    place: Option<(&str, u32)>,
    message: &str,
) -> String {
    let mut props = vec![format!("title={}", escape_property(&multi_line(title)))];
    if let Some((file, line)) = place {
        props.push(format!("file={}", escape_property(&multi_line(file))));
        if line > 0 {
            props.push(format!("line={line}"));
        }
    }
    format!(
        "::{level} {}::{}\n",
        props.join(","),
        escape_data(&multi_line(message))
    )
}

pub(crate) fn render(report: &Report, policy: &Policy) -> String {
    let mut out = String::new();
    for f in &report.findings {
        let level = match f.level {
            Level::Error => "error",
            Level::Warning => "warning",
            Level::Notice => "notice",
        };
        let place = place(report, policy, f);
        let mut message = match &f.commit {
            Some(sha) => format!("{}: {}", super::short_sha(sha), f.message),
            None => f.message.to_string(),
        };
        if let Some(help) = &f.help {
            message.push_str(&format!("\nhelp: {help}"));
        }
        out.push_str(&annotation(
            level,
            &format!("git-policy: {}", f.rule),
            place,
            &message,
        ));
    }
    // A waived finding is a notice: shown on the run, never failing it.
    for w in &report.waived {
        let f = &w.finding;
        let place = place(report, policy, f);
        let mut message = match &f.commit {
            Some(sha) => format!("{}: {}", super::short_sha(sha), f.message),
            None => f.message.to_string(),
        };
        if let Some(waiver) = report.waivers.get(w.waiver) {
            message.push_str(&format!("\n{}", waiver.summary()));
        }
        out.push_str(&annotation(
            "notice",
            &format!("git-policy: {} (waived)", f.rule),
            place,
            &message,
        ));
    }
    let verdict = if report.passed() { "passed" } else { "failed" };
    out.push_str(&format!(
        "git-policy {verdict}: {}, {}, {}{} ({})\n",
        plural(report.count(Level::Error), "error"),
        plural(report.count(Level::Warning), "warning"),
        plural(report.count(Level::Notice), "notice"),
        waived_count(report),
        one_line(&report.subject_ref)
    ));
    out
}

/// Where a finding is annotated. In a pull request, a finding about a
/// changed file annotates that file (it shows in "Files changed"); the
/// others (description, approvals, commits) are for the run and the
/// comment, not the policy file. Elsewhere the policy line that asked for
/// it; never the built-in pack, which is no file of the repository.
fn place<'a>(report: &'a Report, policy: &'a Policy, f: &'a Finding) -> Option<(&'a str, u32)> {
    if report.subject_kind == "pull_request" {
        f.path.as_deref().map(|p| (p, 0))
    } else {
        policy
            .source(f.policy)
            .filter(|s| !s.builtin)
            .map(|s| (s.path(), f.policy.line))
    }
}

/// ", 2 waived" when findings were waived.
fn waived_count(report: &Report) -> String {
    match report.waived.len() {
        0 => String::new(),
        n => format!(", {n} waived"),
    }
}

pub(crate) fn policy_errors(invalid: &InvalidPolicy) -> String {
    let mut out = String::new();
    for e in &invalid.errors {
        let place = e.span.and_then(|s| {
            invalid
                .sources
                .get(s.file as usize)
                .filter(|src| !src.builtin)
                .map(|src| (src.path(), s.line))
        });
        let mut message = e.message.clone();
        if let Some(help) = &e.help {
            message.push_str(&format!("\nhelp: {help}"));
        }
        out.push_str(&annotation(
            "error",
            &format!("git-policy: {}", e.code),
            place,
            &message,
        ));
    }
    out
}

/// GitHub caps a step summary at 1 MiB.
pub(crate) const SUMMARY_LIMIT: usize = 1024 * 1024;

/// The Markdown table for `$GITHUB_STEP_SUMMARY`: every rule's verdict, then the findings.
pub(crate) fn step_summary(report: &Report) -> String {
    use crate::engine::Outcome;
    let verdict = if report.passed() {
        "✅ passed"
    } else {
        "❌ failed"
    };
    let mut out = format!(
        "## git-policy: {} {verdict}\n\n{}, {}, {}{}\n\n| rule | verdict | what it requires |\n|---|---|---|\n",
        super::table_cell(&report.subject_ref),
        plural(report.count(Level::Error), "error"),
        plural(report.count(Level::Warning), "warning"),
        plural(report.count(Level::Notice), "notice"),
        waived_count(report)
    );
    for v in &report.verdicts {
        let shown = match v.outcome {
            None => "➖ not applicable",
            Some(Outcome::Passed) => "✅ passed",
            Some(Outcome::Found(Level::Error)) => "❌ error",
            Some(Outcome::Found(Level::Warning)) => "⚠️ warning",
            Some(Outcome::Found(Level::Notice)) => "ℹ️ notice",
            Some(Outcome::Waived) => "🔕 waived",
        };
        out.push_str(&format!(
            "| `{}` | {shown} | {} |\n",
            v.rule,
            super::table_cell(v.description.as_deref().unwrap_or(""))
        ));
    }
    if !report.tickets.is_empty() {
        out.push_str("\n### Tickets\n\n");
        out.push_str(&super::tickets_table(&report.tickets));
    }
    if !report.findings.is_empty() {
        out.push('\n');
        out.push_str(super::FINDINGS_HEADER);
        for f in &report.findings {
            let row = super::finding_row(f);
            if out.len() + row.len() > SUMMARY_LIMIT - 200 {
                out.push_str("\n… more findings than a step summary can hold; see the job log.\n");
                break;
            }
            out.push_str(&row);
        }
    }
    let waived = super::waived_section(report, "\n###");
    if out.len() + waived.len() <= SUMMARY_LIMIT - 200 {
        out.push_str(&waived);
    }
    out.push('\n');
    out
}

/// `$GITHUB_OUTPUT` lines: `passed`, `errors` (count), `warnings`, and
/// `findings` as JSON lines in a heredoc with `delimiter`.
pub(crate) fn outputs(report: &Report, delimiter: &str) -> String {
    let lines: Vec<String> = report
        .findings
        .iter()
        .map(|f| {
            serde_json::json!({ "rule": &*f.rule, "level": f.level.name(), "message": &*f.message })
                .to_string()
        })
        .collect();
    let body = lines.join("\n");
    // The delimiter must not occur in the value; lengthen it until it does not.
    let mut delimiter = delimiter.to_owned();
    while body.contains(&delimiter) {
        delimiter.push('_');
    }
    format!(
        "passed={}\nerrors={}\nwarnings={}\nfindings<<{delimiter}\n{body}\n{delimiter}\n",
        report.passed(),
        report.count(Level::Error),
        report.count(Level::Warning)
    )
}

/// `$GITHUB_OUTPUT` lines when nothing could be judged (exit status 2):
/// `passed=false` and the one-line `reason`, in a heredoc with `delimiter`.
pub(crate) fn failure_outputs(reason: &str, delimiter: &str) -> String {
    let mut delimiter = delimiter.to_owned();
    while reason.contains(&delimiter) {
        delimiter.push('_');
    }
    format!("passed=false\nerror<<{delimiter}\n{reason}\n{delimiter}\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_per_workflow_command_rules() {
        let line = annotation("error", "a:b,c", Some(("x,y.yml", 3)), "100% done\nnext");
        assert_eq!(
            line,
            "::error title=a%3Ab%2Cc,file=x%2Cy.yml,line=3::100%25 done%0Anext\n"
        );
    }

    fn many_findings(n: usize, message: &str) -> Report {
        let finding = crate::engine::Finding {
            rule: "r".into(),
            level: Level::Error,
            message: message.into(),
            help: None,
            commit: None,
            commit_subject: None,
            ticket: None,
            path: None,
            policy: crate::policy::Span::default(),
            requirement: None,
            approvals: None,
        };
        Report {
            subject_kind: "pull_request",
            subject_ref: "o/r#1".into(),
            findings: vec![finding; n],
            ..Report::default()
        }
    }

    #[test]
    fn the_step_summary_stays_under_githubs_cap() {
        let report = many_findings(20_000, &"x".repeat(200));
        let summary = step_summary(&report);
        assert!(summary.len() <= SUMMARY_LIMIT, "{} bytes", summary.len());
        assert!(summary.contains("more findings than a step summary can hold"));
    }

    #[test]
    fn an_output_delimiter_never_occurs_in_the_value() {
        let report = many_findings(1, "git_policy_EOF appears in this message");
        let text = outputs(&report, "git_policy_EOF");
        let delimiter = text
            .lines()
            .find_map(|l| l.strip_prefix("findings<<"))
            .unwrap();
        assert_ne!(delimiter, "git_policy_EOF");
        assert_eq!(
            text.lines().filter(|l| *l == delimiter).count(),
            1,
            "{text}"
        );
        assert!(text.starts_with("passed=false\nerrors=1\nwarnings=0\n"));
    }
}
