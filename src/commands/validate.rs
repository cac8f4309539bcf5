use std::process::ExitCode;

use serde_json::json;

use super::{Global, Outcome, PASSED, out, policy_for};
use crate::cli::Format;
use crate::policy::Policy;
use crate::sources::git;

/// `validate`: load and check the policy only.
pub(crate) fn run(global: &Global) -> Outcome {
    let policy = valid_policy(global)?;
    let mut warnings = unused_warnings(&policy);
    warnings.extend(place_warnings(&policy));
    warnings.extend(non_ticket_warnings(&policy));
    warnings.extend(expired_waivers(&policy, super::today()));
    out(&match global.format {
        Format::Json => as_json(&policy, &warnings),
        _ => as_text(&policy, &warnings),
    });
    Ok(ExitCode::from(PASSED))
}

/// The policy, loaded and with every matcher built (a set too large is
/// reported here even when no subject at hand would need it). Outside a
/// repository, only --policy or the built-in pack can be validated.
fn valid_policy(global: &Global) -> Result<Policy, super::Failure> {
    let root = git::open(&global.dir)
        .ok()
        .and_then(|r| git::work_tree(&r))
        .or_else(|| global.dir.canonicalize().ok());
    let policy = policy_for(global, root.as_deref())?;
    // Two places for one policy: `validate` refuses what every run warns about.
    if global.policies.is_empty()
        && crate::sources::policy_files::unread_policy_file(root.as_deref(), &policy.sources)
            .is_some()
    {
        return Err(crate::sources::Fatal::new(
            crate::sources::policy_files::unread_policy_file_message(),
        )
        .help(crate::sources::policy_files::UNREAD_POLICY_FILE_HELP)
        .into());
    }
    policy.prepare_all().map_err(|errors| {
        super::Failure::Policy(crate::policy::InvalidPolicy {
            sources: policy.sources.clone(),
            errors,
        })
    })?;
    Ok(policy)
}

fn files(policy: &Policy) -> Vec<&str> {
    policy.sources.iter().map(|s| s.name.as_str()).collect()
}

/// `--format json`: the files, the rules and the warnings.
fn as_json(policy: &Policy, warnings: &[serde_json::Value]) -> String {
    let rules: Vec<_> = policy
        .rules
        .iter()
        .map(|r| json!({ "id": r.id.value, "on": r.on.iter().map(|o| o.value.name()).collect::<Vec<_>>(), "level": r.level.name() }))
        .collect();
    let value = json!({ "tool": "git-policy", "version": env!("CARGO_PKG_VERSION"), "valid": true, "files": files(policy), "rules": rules, "warnings": warnings });
    format!(
        "{}\n",
        serde_json::to_string_pretty(&value).unwrap_or_default()
    )
}

/// Every other format: a line per rule, then the warnings.
fn as_text(policy: &Policy, warnings: &[serde_json::Value]) -> String {
    let mut text = format!(
        "policy is valid: {} from {}\n",
        crate::report::plural(policy.rules.len(), "rule"),
        files(policy).join(", ")
    );
    for r in &policy.rules {
        let on: Vec<&str> = r.on.iter().map(|o| o.value.name()).collect();
        text.push_str(&format!(
            "  {:<28} {:<8} on {}\n",
            r.id.value,
            r.level.name(),
            on.join(", ")
        ));
    }
    for w in warnings {
        text.push_str(&format!(
            "warning[{}]: {} ({}:{}:{})\n",
            w["code"].as_str().unwrap_or_default(),
            w["message"].as_str().unwrap_or_default(),
            w["file"].as_str().unwrap_or_default(),
            w["line"],
            w["column"]
        ));
    }
    text
}

/// Definitions no rule uses, as cargo-deny reports unused allow entries.
fn unused_warnings(policy: &Policy) -> Vec<serde_json::Value> {
    crate::rules::unused_definitions(policy)
        .into_iter()
        .map(|(section, name, span)| {
            let what = match section {
                "tickets" => "tracker",
                "teams" => "team",
                "paths" => "path set",
                _ => "kind",
            };
            let file = policy.source(span).map_or("", |s| s.name.as_str());
            json!({
                "code": crate::policy::ErrorCode::UnusedDefinition.as_str(),
                "message": format!("{what} `{name}` (under `{section}:`) is used by no rule"),
                "file": file,
                "line": span.line,
                "column": span.column,
            })
        })
        .collect()
}

fn warning(
    policy: &Policy,
    code: crate::policy::ErrorCode,
    span: crate::policy::Span,
    message: String,
) -> serde_json::Value {
    let file = policy.source(span).map_or("", |s| s.name.as_str());
    json!({
        "code": code.as_str(),
        "message": message,
        "file": file,
        "line": span.line,
        "column": span.column,
    })
}

/// `ticket` places (`in:`) that one of the rule's subjects does not have.
fn place_warnings(policy: &Policy) -> Vec<serde_json::Value> {
    let mut out = Vec::new();
    for rule in &policy.rules {
        if let Some(ticket) = &rule.require.ticket {
            for (span, message) in ticket.value.foreign_places(rule.view()) {
                out.push(warning(
                    policy,
                    crate::policy::ErrorCode::PlaceNotOnSubject,
                    span,
                    message,
                ));
            }
        }
    }
    out.extend(branch_warnings(policy));
    out
}

/// One rule, one verdict: a commit's branch is known in the commit-msg
/// hook, the pre-push check and `check pr`, not in `check commits` without
/// `--branch` nor in the audit without the commit's pull request. Each rule
/// that reads it is named with what it does there.
fn branch_warnings(policy: &Policy) -> Vec<serde_json::Value> {
    const KNOWN: &str = "a commit's branch is known in the commit-msg hook, the pre-push check and `check pr`, but not in `check commits` without --branch, nor in the audit for a commit whose pull request the release evidence does not name";
    let mut out = Vec::new();
    for rule in policy.rules_on(crate::policy::SubjectKind::Commit) {
        let id = &rule.id.value;
        if let Some(ticket) = &rule.require.ticket {
            for place in ticket
                .value
                .places
                .iter()
                .filter(|p| p.value == crate::rules::ticket::Place::Branch)
            {
                out.push(warning(
                    policy,
                    crate::policy::ErrorCode::BranchNotAlwaysKnown,
                    place.span,
                    format!("rule `{id}` reads a commit's `branch`: {KNOWN}; there, a commit whose other places name no ticket is a notice \"not judged\", not a pass or a failure"),
                ));
            }
        }
        // A rule on branches too judges the branch itself wherever one is known.
        let on_branches = rule
            .on
            .iter()
            .any(|o| o.value == crate::policy::SubjectKind::Branch);
        if let Some(branch) = rule.require.branch.as_ref().filter(|_| !on_branches) {
            out.push(warning(
                policy,
                crate::policy::ErrorCode::BranchNotAlwaysKnown,
                branch.span,
                format!("rule `{id}` requires a commit's `branch`: {KNOWN}; there it does not judge the commit (put the rule `on: [branch]` too, to judge the branch itself)"),
            ));
        }
        let mut conditions = false;
        for p in rule.when.iter().chain(rule.unless.iter()) {
            p.visit(&mut |q| conditions |= q.branches.is_some());
        }
        if conditions {
            out.push(warning(
                policy,
                crate::policy::ErrorCode::BranchNotAlwaysKnown,
                rule.id.span,
                format!("rule `{id}` has a `branches` condition on commits: {KNOWN}; there it does not hold (`when` does not apply the rule, `unless` does not exempt)"),
            ));
        }
    }
    out
}

/// Tracker patterns that take `UTF-8`, `SHA-256`, `CVE-2025-1234` for
/// tickets: every commit that mentions one would name a ticket.
fn non_ticket_warnings(policy: &Policy) -> Vec<serde_json::Value> {
    let mut out = Vec::new();
    for (name, tracker) in &policy.tickets {
        let accepted = crate::definitions::non_tickets::accepted(tracker.pattern.regex());
        if accepted.is_empty() {
            continue;
        }
        let shown: Vec<String> = accepted.iter().take(5).map(|s| format!("`{s}`")).collect();
        let more = match accepted.len() {
            n if n > 5 => format!(" and {} more", n - 5),
            _ => String::new(),
        };
        out.push(warning(
            policy,
            crate::policy::ErrorCode::TrackerAcceptsNonTickets,
            tracker.pattern.source.span,
            format!(
                "the pattern of tracker `{name}` takes {}{more} for tickets: a commit that mentions one names a ticket; list your keys instead, e.g. '\\b(ABC|OPS)-[0-9]+\\b'",
                shown.join(", ")
            ),
        ));
    }
    out
}

/// Waivers past their `expires` date: they waive nothing any more.
fn expired_waivers(policy: &Policy, today: chrono::NaiveDate) -> Vec<serde_json::Value> {
    policy
        .waivers
        .iter()
        .filter(|w| w.expired(today))
        .map(|w| {
            let expires = w
                .expires
                .as_ref()
                .map(|e| e.value.format("%Y-%m-%d").to_string())
                .unwrap_or_default();
            warning(
                policy,
                crate::policy::ErrorCode::ExpiredWaiver,
                w.span,
                format!(
                    "the waiver for {} expired on {expires}: it waives nothing; renew or remove it",
                    w.describe()
                ),
            )
        })
        .collect()
}
