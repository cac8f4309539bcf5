//! `--format markdown`: a report to paste into a release page or a ticket.

use super::{ReleaseSummary, Report, markdown_text as md, plural, short_sha};
use crate::policy::Level;

pub(crate) fn render(report: &Report) -> String {
    let (e, w) = (report.count(Level::Error), report.count(Level::Warning));
    let mut out = String::new();
    match &report.release {
        Some(r) => release(report, r, (e, w), &mut out),
        None => {
            let verdict = if report.passed() {
                "✅ passed"
            } else {
                "❌ failed"
            };
            out.push_str(&format!(
                "# git-policy: {} {verdict}\n\n{}, {}{}\n\n",
                md(&report.subject_ref),
                plural(e, "error"),
                plural(w, "warning"),
                waived(report)
            ));
            if !report.tickets.is_empty() {
                out.push_str("## Tickets\n\n");
                out.push_str(&super::tickets_table(&report.tickets));
                out.push('\n');
            }
        }
    }
    if !report.findings.is_empty() {
        out.push_str("## Findings\n\n");
        out.push_str(super::FINDINGS_HEADER);
        for f in &report.findings {
            out.push_str(&super::finding_row(f));
        }
    }
    if !report.waived.is_empty() {
        if !report.findings.is_empty() {
            out.push('\n');
        }
        out.push_str(&super::waived_section(report, "##"));
    }
    out
}

/// The release's tickets as their trackers answered, grouped by the kind
/// their type decides (bugs, features, improvements), and those a rule
/// found not signed off.
fn release_tickets(report: &Report, out: &mut String) {
    let mut groups: Vec<(String, Vec<super::TicketLine>)> = Vec::new();
    for line in &report.tickets {
        let name = line.kind.clone().unwrap_or_else(|| String::from("other"));
        match groups.iter_mut().find(|(n, _)| *n == name) {
            Some((_, lines)) => lines.push(line.clone()),
            None => groups.push((name, vec![line.clone()])),
        }
    }
    groups.sort_by_key(|(name, _)| (name == "other", name.clone()));
    for (name, lines) in &groups {
        out.push_str(&format!("### {} ({})\n\n", md(name), lines.len()));
        out.push_str(&super::tickets_table(lines));
        out.push('\n');
    }
    let mut held: Vec<&str> = report
        .findings
        .iter()
        .filter_map(|f| f.ticket.as_deref())
        .filter(|t| report.tickets.iter().any(|l| l.id == *t))
        .collect();
    held.sort_by(|a, b| super::natural_cmp(a, b));
    held.dedup();
    if !held.is_empty() {
        out.push_str(&format!(
            "### Not signed off ({})\n\n{}\n\n",
            held.len(),
            md(&held.join(", "))
        ));
    }
}

/// The release audit's account: verdict, tickets, checks, evidence, page.
fn release(report: &Report, r: &ReleaseSummary, (e, w): (usize, usize), out: &mut String) {
    let version = r
        .version
        .as_deref()
        .map(|v| format!("{} ", md(v)))
        .unwrap_or_default();
    out.push_str(&format!(
        "# Release audit: {version}(`{}`)\n\n",
        md(&r.range)
    ));
    let verdict = if report.passed() {
        "✅ ready"
    } else {
        "❌ not ready"
    };
    out.push_str(&format!(
        "**Verdict:** {verdict} — {}, {}{} · {}\n\n",
        plural(e, "error"),
        plural(w, "warning"),
        waived(report),
        plural(r.commits, "commit")
    ));
    release_tickets_part(report, r, out);
    release_checks_part(r, out);
    release_sections_part(r, out);
}

/// Tickets named by the range, as the trackers answered, on the page or not,
/// and commits without one.
fn release_tickets_part(report: &Report, r: &ReleaseSummary, out: &mut String) {
    out.push_str(&format!("## Tickets ({})\n\n", r.tickets.len()));
    if r.tickets.is_empty() {
        out.push_str("No commit of the range names a ticket.\n\n");
    } else {
        out.push_str("| ticket | on the release page | commits |\n|---|---|---|\n");
        let mut sorted: Vec<_> = r.tickets.iter().collect();
        sorted.sort_by(|a, b| super::natural_cmp(a.0, b.0));
        for (ticket, commits) in sorted {
            let shown = match r.link(ticket) {
                Some(url) => format!("[{}]({})", md(ticket), md(&url)),
                None => md(ticket),
            };
            let listed = if r.missing.contains(ticket) {
                "❌ missing"
            } else {
                "✅"
            };
            let shas: Vec<String> = commits
                .iter()
                .map(|&i| {
                    let c = r.sha(i);
                    format!("`{}`", md(short_sha(c)))
                })
                .collect();
            out.push_str(&format!("| {shown} | {listed} | {} |\n", shas.join(" ")));
        }
        out.push('\n');
    }
    if !report.tickets.is_empty() {
        release_tickets(report, out);
    }
    if !r.unlisted.is_empty() {
        out.push_str(&format!(
            "On the page but named by no commit: {}\n\n",
            md(&r.unlisted.join(", "))
        ));
    }
    out.push_str(&format!(
        "## Commits without a ticket ({})\n\n",
        r.without_ticket.len()
    ));
    for (index, subject) in &r.without_ticket {
        let sha = r.sha(*index);
        out.push_str(&format!("- `{}` {}\n", md(short_sha(sha)), md(subject)));
    }
    if r.without_ticket.is_empty() {
        out.push_str("None.\n");
    }
    out.push('\n');
}

/// Release checks, incidents and their tests, expedited changes, evidence.
fn release_checks_part(r: &ReleaseSummary, out: &mut String) {
    if let Some(checks) = &r.checks {
        out.push_str(&format!(
            "## Release checks ({} passed, {} failing, {} pending)\n\n",
            checks.passed.len(),
            checks.failing.len(),
            checks.pending.len()
        ));
        for (mark, names) in [
            ("❌", &checks.failing),
            ("⏳", &checks.pending),
            ("✅", &checks.passed),
        ] {
            for name in names {
                out.push_str(&format!("- {mark} {}\n", md(name)));
            }
        }
        out.push('\n');
    }
    if !r.incidents.is_empty() {
        out.push_str(
            "## Incidents and their regression tests\n\n| incident | tests |\n|---|---|\n",
        );
        let mut sorted: Vec<_> = r.incidents.iter().collect();
        sorted.sort_by(|a, b| super::natural_cmp(a.0, b.0));
        for (ticket, files) in sorted {
            let shown: Vec<String> = files.iter().map(|f| format!("`{}`", md(f))).collect();
            let tests = if shown.is_empty() {
                String::from("❌ none")
            } else {
                shown.join(", ")
            };
            out.push_str(&format!("| {} | {tests} |\n", md(ticket)));
        }
        out.push('\n');
    }
    if let Some(expedited) = &r.expedited {
        out.push_str(&format!("## Expedited changes ({})\n\n", expedited.len()));
        for line in expedited {
            out.push_str(&format!("- {}\n", md(line)));
        }
        if expedited.is_empty() {
            out.push_str("None.\n");
        }
        out.push('\n');
    }
    match &r.evidence {
        crate::evidence::Evidence::Checked(changes) => evidence_table(changes, out),
        crate::evidence::Evidence::NotChecked(why) => {
            out.push_str(&format!("## Evidence\n\nNot checked: {}.\n\n", md(why)))
        }
        crate::evidence::Evidence::Off => {}
    }
}

/// The release page's required sections.
fn release_sections_part(r: &ReleaseSummary, out: &mut String) {
    if !r.sections.is_empty() {
        let page = md(r.page.as_deref().unwrap_or("the release page"));
        out.push_str(&format!(
            "## Release page sections ({page})\n\n| section | status |\n|---|---|\n"
        ));
        for (section, state) in &r.sections {
            let shown = match state {
                super::SectionState::Complete => "✅ complete",
                super::SectionState::Pending => "⏳ pending until deployment",
                super::SectionState::MissingOrEmpty => "❌ missing or empty",
            };
            out.push_str(&format!("| {} | {shown} |\n", md(section)));
        }
        out.push('\n');
    }
}

/// ", 2 waived" when findings were waived.
fn waived(report: &Report) -> String {
    match report.waived.len() {
        0 => String::new(),
        n => format!(", {n} waived"),
    }
}

/// The "Evidence" table: every change, whether it went through the gate.
fn evidence_table(changes: &[crate::evidence::Change], out: &mut String) {
    use crate::evidence::Verdict;
    out.push_str(&format!(
        "## Evidence ({})\n\n| change | tickets | author | approvers | merged by | merged at | verdict at merge |\n|---|---|---|---|---|---|---|\n",
        md(&crate::evidence::summary(changes))
    ));
    let login = |l: &str| format!("@{}", md(l));
    for c in changes {
        let change = match c.pull_request {
            Some(n) => format!(
                "#{n} {}",
                super::table_cell(&crate::facts::shown_subject(&c.title))
            ),
            None => format!(
                "`{}` {}",
                md(short_sha(c.commits.first().map_or("", String::as_str))),
                super::table_cell(&crate::facts::shown_subject(&c.title))
            ),
        };
        let approvers: Vec<String> = c
            .approvers
            .iter()
            .map(|a| {
                if a.teams.is_empty() {
                    login(&a.login)
                } else {
                    format!("{} ({})", login(&a.login), md(&a.teams.join(", ")))
                }
            })
            .collect();
        let mut approvers = approvers.join(", ");
        if !c.approved_after_merge.is_empty() {
            let late: Vec<String> = c.approved_after_merge.iter().map(|l| login(l)).collect();
            approvers.push_str(&format!(" · after the merge: {}", late.join(", ")));
        }
        let verdict = match c.verdict() {
            Verdict::Passed => String::from("✅ passed"),
            Verdict::Expedited => match c.expedited.as_ref().and_then(|e| e.reviewed.as_ref()) {
                Some((who, at)) => {
                    format!("⚠️ expedited, reviewed by {} at {}", login(who), md(at))
                }
                None => String::from("❌ expedited, no post-implementation review"),
            },
            Verdict::Exempt => String::from("✅ exempt (release tooling, signed)"),
            Verdict::PushedDirectly => String::from("❌ pushed directly"),
            Verdict::Failed => {
                let mut rules: Vec<String> = c
                    .failed
                    .iter()
                    .map(|(r, _)| format!("`{}`", md(r)))
                    .collect();
                rules.dedup();
                format!("❌ merged while {} failed", rules.join(", "))
            }
            Verdict::NoPolicy => String::from("⚠️ no policy at its base"),
            Verdict::NotJudged => String::from("❌ policy at its base invalid"),
        };
        out.push_str(&format!(
            "| {change} | {} | {} | {} | {} | {} | {verdict} |\n",
            md(&c.tickets.join(", ")),
            c.author.as_deref().map(login).unwrap_or_default(),
            approvers,
            c.merged_by.as_deref().map(login).unwrap_or_default(),
            md(c.merged_at.as_deref().unwrap_or("")),
        ));
    }
    out.push('\n');
}
