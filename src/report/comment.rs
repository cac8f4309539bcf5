//! The pull request comment (`check pr --comment`): one living comment that
//! tells the author what is left before merge, in the order they would work
//! through it. Pure: the command finds, creates and edits the comment.
//!
//! Everything the pull request controls (titles, file names, logins, labels,
//! commit subjects) reaches the body through [`super::inert::comment_text`] or
//! [`super::inert::comment_code`]: it cannot forge the hidden marker, inject HTML,
//! links, images or `@mentions`, or end a code span.

use super::inert::{comment_code, comment_rich, comment_text};
use super::{Report, plural, short_sha};
use crate::engine::{ALSO_MISSING, Finding};
use crate::policy::Level;
use crate::rules::review_requests::{Requested, slug};

/// What the comment is rendered from.
pub(crate) struct Comment<'a> {
    pub(crate) report: &'a Report,
    /// The hidden first line that finds the comment again ([`marker`]).
    pub(crate) marker: &'a str,
    /// The head commit judged.
    pub(crate) head_sha: &'a str,
    /// Reviews requested on the pull request (after this run's requests).
    pub(crate) requested: &'a Requested,
}

/// Longest finding text shown, in characters: the comment is read on phones.
pub(crate) const MESSAGE_SHOWN: usize = 300;
/// Most items listed in each part; the job summary has the rest.
pub(crate) const ITEMS_SHOWN: usize = 15;

/// The hidden marker of the comment one workflow job writes, from the
/// workflow's name and the job's id (`GITHUB_WORKFLOW`, `GITHUB_JOB`): two
/// gates in one pull request each keep their own comment. Anything but
/// letters, digits and `._/ -` is percent-encoded (`>` among them), so the
/// marker cannot end the HTML comment it is.
pub(crate) fn marker(workflow: &str, job: &str) -> String {
    let clean = |text: &str| -> String {
        let mut out = String::new();
        for c in text.chars().take(100) {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '/' | ' ' | '-') {
                out.push(c);
            } else {
                let mut buffer = [0; 4];
                for byte in c.encode_utf8(&mut buffer).bytes() {
                    out.push_str(&format!("%{byte:02X}"));
                }
            }
        }
        out
    };
    format!(
        "<!-- git-policy:comment workflow={} job={} -->",
        clean(workflow),
        clean(job)
    )
}

/// Whether `body` is a comment written with `marker`: its first line is the
/// marker, exactly. (Who wrote it is checked too: see the command.)
pub(crate) fn has_marker(body: &str, marker: &str) -> bool {
    body.lines().next().map(str::trim_end) == Some(marker)
}

/// Where a requirement is documented.
pub(crate) fn docs_url(requirement: &str) -> String {
    format!(
        "{}/blob/main/docs/rules.md#{requirement}",
        env!("CARGO_PKG_REPOSITORY")
    )
}

/// The comment's Markdown body.
pub(crate) fn render(c: &Comment<'_>) -> String {
    let mut out = format!("{}\n", c.marker);
    let errors: Vec<(usize, &Finding)> = {
        let mut e: Vec<(usize, &Finding)> = c
            .report
            .findings
            .iter()
            .filter(|f| f.level == Level::Error)
            .map(|f| (part(f.requirement), f))
            .collect();
        e.sort_by_key(|(p, _)| *p);
        e
    };
    let folded: Vec<&Finding> = c
        .report
        .findings
        .iter()
        .filter(|f| f.level != Level::Error)
        .collect();
    // Commits failing a rule the same way are one item: twenty commits
    // without a ticket are one thing to fix, not twenty lines.
    let mut items: Vec<(usize, Vec<&Finding>)> = Vec::new();
    for (part, f) in errors {
        let same = |g: &(usize, Vec<&Finding>)| {
            let first = g.1[0];
            f.commit.is_some()
                && first.commit.is_some()
                && first.rule == f.rule
                && first.message == f.message
                && first.help == f.help
        };
        match items.iter_mut().find(|g| same(g)) {
            Some(group) => group.1.push(f),
            None => items.push((part, vec![f])),
        }
    }
    if items.is_empty() {
        out.push_str("### ✅ git-policy: all requirements met\n");
    } else {
        out.push_str(&format!(
            "### ❌ git-policy: {} left before this can merge\n\n",
            plural(items.len(), "thing")
        ));
        for (i, (part, group)) in items.iter().take(ITEMS_SHOWN).enumerate() {
            let shown = match group.as_slice() {
                [f] => item(c, *part, f),
                many => commits_item(c, many),
            };
            out.push_str(&format!("{}. {shown}\n", i + 1));
        }
        if items.len() > ITEMS_SHOWN {
            out.push_str(&format!(
                "\n… and {} more in the job summary.\n",
                items.len() - ITEMS_SHOWN
            ));
        }
    }
    if !folded.is_empty() {
        let warnings = folded.iter().filter(|f| f.level == Level::Warning).count();
        let notices = folded.len() - warnings;
        let mut counts = Vec::new();
        if warnings > 0 {
            counts.push(plural(warnings, "warning"));
        }
        if notices > 0 {
            counts.push(plural(notices, "notice"));
        }
        out.push_str(&format!(
            "\n<details><summary>{}</summary>\n\n",
            counts.join(", ")
        ));
        for f in folded.iter().take(ITEMS_SHOWN) {
            let mark = if f.level == Level::Warning {
                "⚠️"
            } else {
                "ℹ️"
            };
            out.push_str(&format!("- {mark} {}\n", line(c, f)));
        }
        if folded.len() > ITEMS_SHOWN {
            out.push_str(&format!(
                "- … and {} more in the job summary\n",
                folded.len() - ITEMS_SHOWN
            ));
        }
        out.push_str("\n</details>\n");
    }
    if !c.report.tickets.is_empty() {
        out.push_str(&format!(
            "\n<details><summary>{}</summary>\n\n{}\n</details>\n",
            plural(c.report.tickets.len(), "ticket"),
            super::tickets_table(&c.report.tickets)
        ));
    }
    out.push_str(&format!(
        "\n<sub>git-policy checked {} · every rule's verdict is in the job summary</sub>\n",
        comment_code(short_sha(c.head_sha))
    ));
    out
}

/// The comment of a run that could not judge the pull request (exit 2):
/// whatever an earlier run said no longer stands.
pub(crate) fn undecided(marker: &str, why: &str) -> String {
    format!(
        "{marker}\n### ⚠️ git-policy could not judge this pull request\n\n{}\n\nNothing earlier in this comment stands until a run can judge it again; the job's log says more.\n",
        comment_text(&shorten(why, MESSAGE_SHOWN))
    )
}

/// The order an author works through what is left.
const PARTS: &[&str] = &[
    "Draft",
    "Description",
    "Ticket",
    "Labels and milestone",
    "Approvals",
    "Also",
    "Commits",
];

fn part(requirement: Option<&str>) -> usize {
    match requirement {
        Some("ready") => 0,
        Some("sections" | "title") => 1,
        Some("ticket") => 2,
        Some("labels" | "milestone" | "kind") => 3,
        Some("approval") => 4,
        _ => 5,
    }
}

fn item(c: &Comment<'_>, part: usize, f: &Finding) -> String {
    let part = if f.commit.is_some() { 6 } else { part };
    format!("**{}**: {}", PARTS[part], line(c, f))
}

/// Commits shown by name in a group; the job summary lists every one.
const COMMITS_SHOWN: usize = 5;

/// Several commits failing a rule the same way, as one item.
fn commits_item(c: &Comment<'_>, group: &[&Finding]) -> String {
    let mut named: Vec<String> = group
        .iter()
        .take(COMMITS_SHOWN)
        .map(|f| commit_named(f, "").trim_end().to_owned())
        .collect();
    if group.len() > COMMITS_SHOWN {
        named.push(format!("and {} more", group.len() - COMMITS_SHOWN));
    }
    let prefix = format!("{} commits: {} · ", group.len(), named.join(", "));
    format!("**{}**: {}", PARTS[6], line_after(c, group[0], prefix))
}

/// `<word><sha> “<subject>” `, inert.
fn commit_named(f: &Finding, word: &str) -> String {
    let mut text = String::new();
    if let Some(sha) = &f.commit {
        text.push_str(&format!("{word}{} ", comment_code(short_sha(sha))));
        if let Some(subject) = &f.commit_subject {
            text.push_str(&format!("“{}” ", comment_text(&shorten(subject, 80))));
        }
    }
    text
}

/// A finding on one line: what is missing, how to fix it, who was asked,
/// the rule and its docs.
fn line(c: &Comment<'_>, f: &Finding) -> String {
    let prefix = if f.commit.is_some() {
        format!("{}· ", commit_named(f, "commit "))
    } else {
        String::new()
    };
    line_after(c, f, prefix)
}

/// [`line()`] with `prefix` (already inert) before the message.
fn line_after(c: &Comment<'_>, f: &Finding, prefix: String) -> String {
    let mut message: &str = &f.message;
    if let Some((own, _)) = message.split_once(ALSO_MISSING) {
        message = own;
    }
    let mut text = prefix;
    text.push_str(&comment_rich(&shorten(message, MESSAGE_SHOWN)));
    let mut tail = Vec::new();
    if let Some(help) = &f.help {
        tail.push(format!(
            "**Fix:** {}",
            comment_rich(&shorten(help, MESSAGE_SHOWN))
        ));
    }
    if let Some(missing) = &f.approvals {
        let mut asked: Vec<String> = missing
            .github_teams
            .iter()
            .filter(|t| {
                c.requested
                    .teams
                    .iter()
                    .any(|r| r.eq_ignore_ascii_case(&slug(t)))
            })
            .map(|t| format!("team {t}"))
            .collect();
        asked.extend(
            missing
                .candidates
                .iter()
                .chain(&missing.listed)
                .filter(|l| c.requested.users.iter().any(|r| r.eq_ignore_ascii_case(l)))
                .map(String::clone),
        );
        // Once each, whatever the case and wherever the name came from.
        let mut seen = std::collections::HashSet::new();
        asked.retain(|a| seen.insert(a.to_lowercase()));
        if !asked.is_empty() {
            tail.push(format!(
                "**Asked:** {}",
                comment_text(&shorten(&asked.join(", "), MESSAGE_SHOWN))
            ));
        }
    }
    let rule = comment_code(&f.rule);
    match f.requirement {
        Some(name) => tail.push(format!("{rule} ([docs]({}))", docs_url(name))),
        None => tail.push(rule),
    }
    // Continuation lines of a list item: indented under its text.
    format!("{text}<br>\n   {}", tail.join(" · "))
}

/// At most `max` characters, with `…` when cut.
fn shorten(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((end, _)) => format!("{}…", text.get(..end).unwrap_or_default()),
        None => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_marker_cannot_end_its_html_comment() {
        let m = marker("CI --> <img src=x>", "gate\n-->");
        assert_eq!(m.matches("-->").count(), 1, "{m}");
        assert!(m.ends_with(" -->"));
        assert_eq!(m.matches('<').count(), 1, "{m}");
        assert!(has_marker(&format!("{m}\nbody"), &m));
        assert!(!has_marker(&format!("x {m}\nbody"), &m));
        assert_ne!(marker("CI", "gate"), marker("CI", "other"));
    }

    #[test]
    fn issue_and_commit_references_are_not_linked() {
        use crate::report::inert::comment_text;
        let sha = "0123456789abcdef0123456789abcdef01234567";
        let shown = comment_text(&format!("fixes GH-7 and gh-12 in {sha} (also deadbeef1)"));
        assert!(
            !shown.contains("GH-7") && !shown.contains("gh-12"),
            "{shown}"
        );
        // No run of seven or more hex digits is left whole.
        let longest = shown
            .split(|c: char| !c.is_ascii_hexdigit())
            .map(str::len)
            .max()
            .unwrap();
        assert!(longest < 7, "{shown}");
        // What is read is unchanged once the zero-width spaces are gone.
        assert_eq!(
            shown.replace('\u{200b}', ""),
            format!("fixes GH-7 and gh-12 in {sha} \\(also deadbeef1\\)")
        );
        // Words that only look like hex in part, and `GH` elsewhere, stay as they are.
        assert_eq!(
            comment_text("GHOST-1 ahead 123456 HIGH-7"),
            "GHOST-1 ahead 123456 HIGH-7"
        );
    }

    #[test]
    fn who_was_asked_is_named_once() {
        let finding = Finding {
            rule: "peer-review".into(),
            level: Level::Error,
            message: "needs 1 approval".into(),
            help: None,
            commit: None,
            commit_subject: None,
            ticket: None,
            path: None,
            policy: crate::policy::Span::default(),
            requirement: None,
            approvals: Some(Box::new(crate::rules::MissingApprovals {
                candidates: vec!["lee".into(), "kim".into()],
                listed: vec!["kim".into(), "Lee".into()],
                ..Default::default()
            })),
        };
        let requested = Requested {
            users: vec!["lee".into(), "kim".into()],
            teams: vec![],
        };
        let report = Report::default();
        let c = Comment {
            report: &report,
            marker: "m",
            head_sha: "abc",
            requested: &requested,
        };
        let shown = line(&c, &finding);
        assert!(shown.contains("**Asked:** lee, kim ·"), "{shown}");
    }

    #[test]
    fn a_run_that_cannot_judge_replaces_what_the_comment_said() {
        let m = marker("CI", "gate");
        let body = undecided(&m, "GitHub failed GET /repos/o/r/pulls/1 (502) @octo #9");
        assert!(has_marker(&body, &m));
        assert!(body.contains("could not judge this pull request"), "{body}");
        assert!(!body.contains("all requirements met"), "{body}");
        assert!(!body.contains("@o") && !body.contains("#9"), "{body}");
    }

    #[test]
    fn comment_text_is_inert_markdown() {
        use crate::report::inert::comment_text;
        let hostile = "<!-- git-policy:comment workflow=CI job=gate --> ![x](https://evil/x.png) [click](javascript:alert) @octo/team #1 www.evil.com `code` | cell |\n## heading";
        let shown = comment_text(hostile);
        assert!(!shown.contains('<'), "{shown}");
        assert!(!shown.contains("!["), "{shown}");
        assert!(!shown.contains("]("), "{shown}");
        assert!(!shown.contains("@o"), "{shown}");
        assert!(!shown.contains("#1"), "{shown}");
        assert!(!shown.contains("://"), "{shown}");
        assert!(!shown.contains("www."), "{shown}");
        assert!(!shown.contains('\n'), "{shown}");
        // Every `|` and backtick is escaped.
        let chars: Vec<char> = shown.chars().collect();
        for (i, ch) in chars.iter().enumerate() {
            if matches!(ch, '|' | '`' | '[' | ']') {
                assert_eq!(chars[i - 1], '\\', "{shown}");
            }
        }
    }

    #[test]
    fn quoted_parts_are_code_spans_and_stay_inert() {
        use crate::report::inert::comment_rich;
        assert_eq!(
            comment_rich("section `Steps to reproduce` is empty (only text)"),
            "section `Steps to reproduce` is empty \\(only text\\)"
        );
        // Odd backticks: all plain text, every backtick escaped.
        assert_eq!(comment_rich("a `b c"), "a \\`b c");
        // A hostile file name inside the quotes stays in its code span; one
        // that brings backticks only moves the spans, and what falls outside
        // them is escaped text.
        let hostile = "changes to `x`<img src=x>`@octo/team` and `[a](javascript:b)`";
        let shown = comment_rich(hostile);
        assert!(!shown.contains("<img"), "{shown}");
        assert!(shown.contains("`@octo/team`"), "{shown}");
        assert_eq!(
            shown,
            "changes to `x`&lt;img src=x&gt;`@octo/team` and `[a](javascript:b)`"
        );
        assert_eq!(comment_rich("empty `` pair"), "empty \\`\\` pair");
    }

    #[test]
    fn a_code_span_cannot_be_ended_by_its_text() {
        use crate::report::inert::comment_code;
        assert_eq!(comment_code("a`b"), "``a`b``");
        assert_eq!(comment_code("``x"), "``` ``x ```");
        assert_eq!(comment_code("x\ny"), "`x\\ny`");
        assert_eq!(comment_code("bug-steps"), "`bug-steps`");
    }
}
