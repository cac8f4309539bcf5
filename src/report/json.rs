//! `--format json`: the contract object of DESIGN.md §3.

use serde::Serialize;
use serde::ser::Serializer;
use serde_json::{Value, json};

use super::{ReleaseSummary, Report};
use crate::engine::Finding;
use crate::policy::{Level, Policy};

#[derive(Serialize)]
struct Document<'a> {
    tool: &'static str,
    version: &'static str,
    subject: SubjectOut<'a>,
    passed: bool,
    #[serde(serialize_with = "findings")]
    findings: (&'a Report, &'a Policy),
    counts: Counts,
    checked: usize,
    skipped: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    release: Option<ReleaseOut<'a>>,
    /// Every waiver of the policy and what it did; absent when it has none.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    waivers: Vec<WaiverOut<'a>>,
}

#[derive(Serialize)]
struct WaiverOut<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    commit: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pull_request: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    ticket: Option<&'a str>,
    rules: &'a [String],
    reason: &'a str,
    granted_by: &'a str,
    expires: Option<&'a str>,
    /// `used`, `unused`, `expired` or `not_judged`.
    state: &'static str,
    /// Findings it waived (expired: would have waived).
    findings: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    policy: Option<PolicyOut<'a>>,
}

/// On a waived finding: the waiver that covers it.
#[derive(Serialize)]
struct WaivedOut<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    commit: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pull_request: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    ticket: Option<&'a str>,
    reason: &'a str,
    granted_by: &'a str,
    expires: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    policy: Option<PolicyOut<'a>>,
}

fn waiver_subject(w: &super::WaiverUse) -> (Option<&str>, Option<u64>, Option<&str>) {
    match w.key {
        "commit" => (Some(&w.value), None, None),
        "pull_request" => (None, w.value.parse().ok(), None),
        _ => (None, None, Some(&w.value)),
    }
}

fn policy_out<'a>(policy: &'a Policy, span: crate::policy::Span) -> Option<PolicyOut<'a>> {
    policy.source(span).map(|s| PolicyOut {
        file: &s.name,
        line: span.line,
        column: span.column,
        builtin: s.builtin,
    })
}

#[derive(Serialize)]
struct ReleaseOut<'a> {
    version: Option<&'a str>,
    range: &'a str,
    commits: usize,
    page: Option<&'a str>,
    #[serde(serialize_with = "tickets")]
    tickets: &'a ReleaseSummary,
    missing: &'a [String],
    unlisted: &'a [String],
    without_ticket: Vec<CommitOut<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    expedited: Option<&'a [String]>,
    /// `checked` or `not_checked`; absent when the policy has no evidence to give.
    #[serde(skip_serializing_if = "Option::is_none")]
    evidence: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    changes: Option<Vec<ChangeOut<'a>>>,
}

/// One change of the release and whether it went through the gate.
#[derive(Serialize)]
struct ChangeOut<'a> {
    pull_request: Option<u64>,
    title: &'a str,
    commits: &'a [String],
    merge_commit: Option<&'a str>,
    base: Option<&'a str>,
    author: Option<&'a str>,
    tickets: &'a [String],
    approvers: Vec<ApproverOut<'a>>,
    approved_after_merge: &'a [String],
    merged_by: Option<&'a str>,
    merged_at: Option<&'a str>,
    policy_commit: Option<&'a str>,
    verdict: &'static str,
    failed: Vec<FailedOut<'a>>,
    expedited: Option<ExpeditedOut<'a>>,
    signed: bool,
}

#[derive(Serialize)]
struct ApproverOut<'a> {
    login: &'a str,
    teams: &'a [String],
}

#[derive(Serialize)]
struct FailedOut<'a> {
    rule: &'a str,
    missing: &'a str,
}

#[derive(Serialize)]
struct ExpeditedOut<'a> {
    label: &'a str,
    granted_by: &'a str,
    reviewed_by: Option<&'a str>,
    reviewed_at: Option<&'a str>,
}

fn changes_out(changes: &[crate::evidence::Change]) -> Vec<ChangeOut<'_>> {
    changes
        .iter()
        .map(|c| ChangeOut {
            pull_request: c.pull_request,
            title: &c.title,
            commits: &c.commits,
            merge_commit: c.merge_commit.as_deref(),
            base: c.base.as_deref(),
            author: c.author.as_deref(),
            tickets: &c.tickets,
            approvers: c
                .approvers
                .iter()
                .map(|a| ApproverOut {
                    login: &a.login,
                    teams: &a.teams,
                })
                .collect(),
            approved_after_merge: &c.approved_after_merge,
            merged_by: c.merged_by.as_deref(),
            merged_at: c.merged_at.as_deref(),
            policy_commit: c.policy_commit.as_deref(),
            verdict: c.verdict().name(),
            failed: c
                .failed
                .iter()
                .map(|(rule, missing)| FailedOut { rule, missing })
                .collect(),
            expedited: c.expedited.as_ref().map(|e| ExpeditedOut {
                label: &e.label,
                granted_by: &e.granted_by,
                reviewed_by: e.reviewed.as_ref().map(|(who, _)| who.as_str()),
                reviewed_at: e.reviewed.as_ref().map(|(_, at)| at.as_str()),
            }),
            signed: c.signed,
        })
        .collect()
}

#[derive(Serialize)]
struct TicketOut<'a> {
    id: &'a str,
    commits: Vec<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    url: Option<String>,
}

/// Streams the tickets, resolving commit indices and links as it goes.
fn tickets<S: Serializer>(summary: &&ReleaseSummary, serializer: S) -> Result<S::Ok, S::Error> {
    let r = *summary;
    let mut sorted: Vec<_> = r.tickets.iter().collect();
    sorted.sort_by(|a, b| super::natural_cmp(a.0, b.0));
    serializer.collect_seq(sorted.into_iter().map(|(id, commits)| TicketOut {
        id,
        commits: commits.iter().map(|&i| r.sha(i)).collect(),
        url: r.link(id),
    }))
}

#[derive(Serialize)]
struct CommitOut<'a> {
    sha: &'a str,
    subject: &'a str,
}

#[derive(Serialize)]
struct SubjectOut<'a> {
    kind: &'a str,
    #[serde(rename = "ref")]
    reference: &'a str,
}

#[derive(Serialize)]
struct Counts {
    error: usize,
    warning: usize,
    notice: usize,
}

#[derive(Serialize)]
struct FindingOut<'a> {
    rule: &'a str,
    level: &'static str,
    message: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    help: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    commit: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    ticket: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    path: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    policy: Option<PolicyOut<'a>>,
    /// Present on a waived finding, which neither counts nor fails the check.
    #[serde(skip_serializing_if = "Option::is_none")]
    waived: Option<WaivedOut<'a>>,
}

#[derive(Serialize)]
struct PolicyOut<'a> {
    file: &'a str,
    line: u32,
    column: u32,
    builtin: bool,
}

/// Streams findings without building a JSON tree (a long history has many):
/// those that stand, then the waived ones, each with its waiver.
fn findings<S: Serializer>(value: &(&Report, &Policy), serializer: S) -> Result<S::Ok, S::Error> {
    let (report, policy) = *value;
    let standing = report.findings.iter().map(|f| finding_out(f, policy, None));
    let waived = report.waived.iter().map(|w| {
        let waiver = report.waivers.get(w.waiver).map(|u| {
            let (commit, pull_request, ticket) = waiver_subject(u);
            WaivedOut {
                commit,
                pull_request,
                ticket,
                reason: &u.reason,
                granted_by: &u.granted_by,
                expires: u.expires.as_deref(),
                policy: policy_out(policy, u.policy),
            }
        });
        finding_out(&w.finding, policy, waiver)
    });
    serializer.collect_seq(standing.chain(waived))
}

fn finding_out<'a>(
    f: &'a Finding,
    policy: &'a Policy,
    waived: Option<WaivedOut<'a>>,
) -> FindingOut<'a> {
    FindingOut {
        rule: &f.rule,
        level: f.level.name(),
        message: &f.message,
        help: f.help.as_deref(),
        commit: f.commit.as_deref(),
        ticket: f.ticket.as_deref(),
        path: f.path.as_deref(),
        policy: policy_out(policy, f.policy),
        waived,
    }
}

/// The JSON report, written straight to `sink` as it is serialized: a
/// report of 100,000 commits is never held as one string.
pub(crate) fn write(
    report: &Report,
    policy: &Policy,
    sink: impl std::io::Write,
) -> std::io::Result<()> {
    let document = Document {
        tool: "git-policy",
        version: env!("CARGO_PKG_VERSION"),
        subject: SubjectOut {
            kind: report.subject_kind,
            reference: &report.subject_ref,
        },
        passed: report.passed(),
        findings: (report, policy),
        counts: Counts {
            error: report.count(Level::Error),
            warning: report.count(Level::Warning),
            notice: report.count(Level::Notice),
        },
        checked: report.checked,
        skipped: report.skipped,
        release: report.release.as_ref().map(|r| ReleaseOut {
            version: r.version.as_deref(),
            range: &r.range,
            commits: r.commits,
            page: r.page.as_deref(),
            tickets: r,
            missing: &r.missing,
            unlisted: &r.unlisted,
            without_ticket: r
                .without_ticket
                .iter()
                .map(|(i, subject)| CommitOut {
                    sha: r.sha(*i),
                    subject,
                })
                .collect(),
            expedited: r.expedited.as_deref(),
            evidence: match &r.evidence {
                crate::evidence::Evidence::Off => None,
                crate::evidence::Evidence::NotChecked(_) => Some("not_checked"),
                crate::evidence::Evidence::Checked(_) => Some("checked"),
            },
            changes: match &r.evidence {
                crate::evidence::Evidence::Checked(changes) => Some(changes_out(changes)),
                _ => None,
            },
        }),
        waivers: report
            .waivers
            .iter()
            .map(|u| {
                let (commit, pull_request, ticket) = waiver_subject(u);
                WaiverOut {
                    commit,
                    pull_request,
                    ticket,
                    rules: &u.rules,
                    reason: &u.reason,
                    granted_by: &u.granted_by,
                    expires: u.expires.as_deref(),
                    state: u.state.name(),
                    findings: u.findings,
                    policy: policy_out(policy, u.policy),
                }
            })
            .collect(),
    };
    let mut sink = sink;
    serde_json::to_writer_pretty(&mut sink, &document)?;
    sink.write_all(b"\n")?;
    sink.flush()
}

/// What went wrong when a command could not judge.
pub(crate) struct FailureParts<'a> {
    pub(crate) message: &'a str,
    pub(crate) help: Option<&'a str>,
    pub(crate) invalid: Option<&'a crate::policy::InvalidPolicy>,
}

/// The JSON printed on exit status 2: `passed` is `null` — nothing was judged.
pub(crate) fn render_failure(parts: FailureParts<'_>) -> String {
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
