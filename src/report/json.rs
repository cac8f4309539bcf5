//! `--format json`: the contract object of DESIGN.md §3.

use serde_json::{Map, Value, json};

use super::Report;
use crate::policy::{Level, Policy};

pub fn render(report: &Report, policy: &Policy) -> String {
    let findings: Vec<Value> = report
        .findings
        .iter()
        .map(|f| {
            let mut o = Map::new();
            o.insert("rule".into(), json!(f.rule));
            o.insert("level".into(), json!(f.level.name()));
            o.insert("message".into(), json!(f.message));
            if let Some(help) = &f.help {
                o.insert("help".into(), json!(help));
            }
            if let Some(commit) = &f.commit {
                o.insert("commit".into(), json!(commit));
            }
            if let Some(ticket) = &f.ticket {
                o.insert("ticket".into(), json!(ticket));
            }
            if let Some(path) = &f.path {
                o.insert("path".into(), json!(path));
            }
            if let Some(source) = policy.source(f.policy) {
                o.insert(
                    "policy".into(),
                    json!({ "file": source.name, "line": f.policy.line, "column": f.policy.column, "builtin": source.builtin }),
                );
            }
            Value::Object(o)
        })
        .collect();
    let value = json!({
        "tool": "git-policy",
        "version": env!("CARGO_PKG_VERSION"),
        "subject": { "kind": report.subject_kind, "ref": report.subject_ref },
        "passed": report.passed(),
        "findings": findings,
        "counts": {
            "error": report.count(Level::Error),
            "warning": report.count(Level::Warning),
            "notice": report.count(Level::Notice),
        },
        "checked": report.checked,
        "skipped": report.skipped,
    });
    let mut text = serde_json::to_string_pretty(&value).unwrap_or_else(|_| String::from("{}"));
    text.push('\n');
    text
}

/// What went wrong when a command could not judge.
pub struct FailureParts<'a> {
    pub message: &'a str,
    pub help: Option<&'a str>,
    pub invalid: Option<&'a crate::policy::InvalidPolicy>,
}

/// The JSON printed on exit status 2: `passed` is `null` — nothing was judged.
pub fn render_failure(parts: FailureParts<'_>) -> String {
    let policy_errors: Vec<Value> = parts
        .invalid
        .map(|inv| {
            inv.errors
                .iter()
                .map(|e| {
                    let source = e.span.and_then(|s| inv.sources.get(s.file as usize));
                    json!({
                        "code": e.code,
                        "message": e.message,
                        "help": e.help,
                        "file": source.map(|s| s.name.as_str()),
                        "line": e.span.map(|s| s.line),
                        "column": e.span.map(|s| s.column),
                    })
                })
                .collect()
        })
        .unwrap_or_default();
    let value = json!({
        "tool": "git-policy",
        "version": env!("CARGO_PKG_VERSION"),
        "passed": null,
        "error": { "message": parts.message, "help": parts.help },
        "policy_errors": policy_errors,
    });
    let mut text = serde_json::to_string_pretty(&value).unwrap_or_else(|_| String::from("{}"));
    text.push('\n');
    text
}
