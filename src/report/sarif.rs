//! `--format sarif`: SARIF 2.1.0, for code scanning tools (GitHub code
//! scanning, Azure DevOps, IDE SARIF viewers).
//!
//! One run; one `rules` entry per rule of the policy (its id, description and
//! requirements); one result per finding, located at the changed file it is
//! about, else at the rule's requirement in the policy file (not for the
//! built-in pack, which is no file of the repository). On exit status 2 the
//! run has no `results` and its invocation says why, with the policy errors'
//! locations.

use std::collections::BTreeMap;

use serde::Serialize;

use super::Report;
use crate::policy::{InvalidPolicy, Level, Policy, PolicySource};

const SCHEMA: &str = "https://json.schemastore.org/sarif-2.1.0.json";
const VERSION: &str = "2.1.0";
/// Where relative artifact URIs start: the repository's root.
const SRCROOT: &str = "%SRCROOT%";

#[derive(Serialize)]
struct Log<'a> {
    #[serde(rename = "$schema")]
    schema: &'static str,
    version: &'static str,
    runs: [Run<'a>; 1],
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Run<'a> {
    tool: Tool,
    invocations: [Invocation; 1],
    #[serde(skip_serializing_if = "Option::is_none")]
    results: Option<Vec<SarifResult<'a>>>,
    column_kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    properties: Option<RunProperties<'a>>,
}

#[derive(Serialize)]
struct RunProperties<'a> {
    subject: &'a str,
    reference: &'a str,
    passed: bool,
    checked: usize,
    skipped: usize,
    #[serde(skip_serializing_if = "is_zero")]
    waived: usize,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

#[derive(Serialize)]
struct Tool {
    driver: Driver,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Driver {
    name: &'static str,
    version: &'static str,
    semantic_version: &'static str,
    /// The project's home, once Cargo.toml names a `repository`.
    #[serde(skip_serializing_if = "Option::is_none")]
    information_uri: Option<&'static str>,
    rules: Vec<RuleOut>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct RuleOut {
    id: String,
    short_description: Text,
    full_description: Text,
    help: Text,
    default_configuration: Configuration,
    properties: RuleProperties,
}

#[derive(Serialize)]
struct RuleProperties {
    subjects: Vec<&'static str>,
    requirements: Vec<&'static str>,
}

#[derive(Serialize)]
struct Configuration {
    level: &'static str,
}

#[derive(Serialize)]
struct Text {
    text: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Invocation {
    execution_successful: bool,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    tool_execution_notifications: Vec<Notification>,
}

#[derive(Serialize)]
struct Notification {
    level: &'static str,
    message: Text,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    locations: Vec<Location>,
    #[serde(skip_serializing_if = "Option::is_none")]
    descriptor: Option<Descriptor>,
}

#[derive(Serialize)]
struct Descriptor {
    id: &'static str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SarifResult<'a> {
    rule_id: &'a str,
    rule_index: usize,
    level: &'static str,
    message: Text,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    locations: Vec<Location>,
    /// A waived finding: suppressed by the policy (`external`), with the reason.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    suppressions: Vec<Suppression>,
    properties: ResultProperties<'a>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Suppression {
    kind: &'static str,
    status: &'static str,
    justification: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    location: Option<Location>,
}

#[derive(Serialize)]
struct ResultProperties<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    commit: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    ticket: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    help: Option<&'a str>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Location {
    physical_location: PhysicalLocation,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PhysicalLocation {
    artifact_location: ArtifactLocation,
    #[serde(skip_serializing_if = "Option::is_none")]
    region: Option<Region>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ArtifactLocation {
    uri: String,
    uri_base_id: &'static str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Region {
    start_line: u32,
    start_column: u32,
}

fn level(level: Level) -> &'static str {
    match level {
        Level::Error => "error",
        Level::Warning => "warning",
        Level::Notice => "note",
    }
}

/// A relative path as a URI reference: each segment percent-encoded.
fn uri(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for byte in path.trim_start_matches("./").bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b'/' => {
                out.push(byte as char);
            }
            _ => out.push_str(&format!("%{byte:02X}")),
        }
    }
    out
}

fn file_location(path: &str, region: Option<Region>) -> Location {
    Location {
        physical_location: PhysicalLocation {
            artifact_location: ArtifactLocation {
                uri: uri(path),
                uri_base_id: SRCROOT,
            },
            region,
        },
    }
}

/// A policy file of the repository at a line and column (not the built-in pack).
fn policy_location(source: Option<&PolicySource>, line: u32, column: u32) -> Option<Location> {
    let source = source.filter(|s| !s.builtin)?;
    Some(file_location(
        source.path(),
        Some(Region {
            start_line: line.max(1),
            start_column: column.max(1),
        }),
    ))
}

fn driver(rules: Vec<RuleOut>) -> Driver {
    Driver {
        name: "git-policy",
        version: env!("CARGO_PKG_VERSION"),
        semantic_version: env!("CARGO_PKG_VERSION"),
        information_uri: Some(env!("CARGO_PKG_REPOSITORY")).filter(|u| !u.is_empty()),
        rules,
    }
}

/// The rules of the policy, and an entry for each rule id a finding names
/// that the policy does not (git-policy's own notices).
fn rules(report: &Report, policy: &Policy) -> (Vec<RuleOut>, BTreeMap<String, usize>) {
    let mut out = Vec::new();
    let mut index = BTreeMap::new();
    for rule in &policy.rules {
        if index.contains_key(&rule.id.value) {
            continue;
        }
        let present = rule.require.each();
        let requirements: Vec<&'static str> = present.iter().map(|(info, ..)| info.name).collect();
        let described = rule.description.as_ref().map(|d| d.value.trim().to_owned());
        let short = described
            .as_deref()
            .and_then(|d| d.lines().next())
            .map(str::to_owned)
            .unwrap_or_else(|| format!("{} requires {}", rule.id.value, requirements.join(", ")));
        let help = present
            .iter()
            .map(|(info, ..)| format!("{}: {}", info.name, info.summary))
            .collect::<Vec<_>>()
            .join("\n");
        index.insert(rule.id.value.clone(), out.len());
        out.push(RuleOut {
            id: rule.id.value.clone(),
            full_description: Text {
                text: described.unwrap_or_else(|| short.clone()),
            },
            short_description: Text { text: short },
            help: Text {
                text: if help.is_empty() {
                    String::from("See `git-policy explain`.")
                } else {
                    help
                },
            },
            default_configuration: Configuration {
                level: level(rule.level),
            },
            properties: RuleProperties {
                subjects: rule.on.iter().map(|s| s.value.name()).collect(),
                requirements,
            },
        });
    }
    for finding in &report.findings {
        if index.contains_key(&*finding.rule) {
            continue;
        }
        index.insert(finding.rule.to_string(), out.len());
        out.push(RuleOut {
            id: finding.rule.to_string(),
            short_description: Text {
                text: format!("git-policy's own `{}` notice", finding.rule),
            },
            full_description: Text {
                text: format!(
                    "A finding of git-policy itself, not of a rule of the policy: `{}`.",
                    finding.rule
                ),
            },
            help: Text {
                text: String::from("See the finding's message."),
            },
            default_configuration: Configuration {
                level: level(finding.level),
            },
            properties: RuleProperties {
                subjects: Vec::new(),
                requirements: Vec::new(),
            },
        });
    }
    (out, index)
}

/// The SARIF log of a report, written to `sink` as it is serialized.
pub(crate) fn write(
    report: &Report,
    policy: &Policy,
    sink: impl std::io::Write,
) -> std::io::Result<()> {
    let (rules, index) = rules(report, policy);
    let waived = report
        .waived
        .iter()
        .map(|w| (&w.finding, report.waivers.get(w.waiver)));
    let results = report
        .findings
        .iter()
        .map(|f| (f, None))
        .chain(waived)
        .map(|(f, waiver)| {
            let location = match &f.path {
                // About the whole file: anchored at its first line, as
                // code scanning needs a line.
                Some(path) => Some(file_location(
                    path,
                    Some(Region {
                        start_line: 1,
                        start_column: 1,
                    }),
                )),
                None => policy_location(policy.source(f.policy), f.policy.line, f.policy.column),
            };
            let text = match (&f.commit, &f.commit_subject) {
                (Some(sha), Some(subject)) => {
                    format!("{} ({subject}): {}", super::short_sha(sha), f.message)
                }
                (Some(sha), None) => format!("{}: {}", super::short_sha(sha), f.message),
                _ => f.message.to_string(),
            };
            SarifResult {
                rule_id: &f.rule,
                rule_index: index.get(&*f.rule).copied().unwrap_or_default(),
                level: level(f.level),
                message: Text { text },
                locations: location.into_iter().collect(),
                suppressions: waiver
                    .map(|u| Suppression {
                        kind: "external",
                        status: "accepted",
                        justification: u.summary(),
                        location: policy_location(
                            policy.source(u.policy),
                            u.policy.line,
                            u.policy.column,
                        ),
                    })
                    .into_iter()
                    .collect(),
                properties: ResultProperties {
                    commit: f.commit.as_deref(),
                    ticket: f.ticket.as_deref(),
                    help: f.help.as_deref(),
                },
            }
        })
        .collect();
    let log = Log {
        schema: SCHEMA,
        version: VERSION,
        runs: [Run {
            tool: Tool {
                driver: driver(rules),
            },
            invocations: [Invocation {
                execution_successful: true,
                tool_execution_notifications: Vec::new(),
            }],
            results: Some(results),
            column_kind: "unicodeCodePoints",
            properties: Some(RunProperties {
                subject: report.subject_kind,
                reference: &report.subject_ref,
                passed: report.passed(),
                checked: report.checked,
                skipped: report.skipped,
                waived: report.waived.len(),
            }),
        }],
    };
    let mut sink = sink;
    serde_json::to_writer_pretty(&mut sink, &log)?;
    sink.write_all(b"\n")?;
    sink.flush()
}

/// [`write()`] into a string.
pub fn render(report: &Report, policy: &Policy) -> String {
    let mut bytes = Vec::new();
    let _ = write(report, policy, &mut bytes);
    String::from_utf8(bytes).unwrap_or_default()
}

/// The SARIF log of a run that could not judge (exit status 2): no
/// results; the invocation failed, with the reason and each policy error.
pub(crate) fn render_failure(
    message: &str,
    help: Option<&str>,
    invalid: Option<&InvalidPolicy>,
) -> String {
    let mut notifications = vec![Notification {
        level: "error",
        message: Text {
            text: match help {
                Some(help) => format!("{message}\nhelp: {help}"),
                None => message.to_owned(),
            },
        },
        locations: Vec::new(),
        descriptor: None,
    }];
    for e in invalid.map(|i| i.errors.as_slice()).unwrap_or_default() {
        let location = e.span.and_then(|span| {
            let source = invalid.and_then(|i| i.sources.get(span.file as usize));
            policy_location(source, span.line, span.column)
        });
        notifications.push(Notification {
            level: "error",
            message: Text {
                text: match &e.help {
                    Some(help) => format!("{}\nhelp: {help}", e.message),
                    None => e.message.clone(),
                },
            },
            locations: location.into_iter().collect(),
            descriptor: Some(Descriptor { id: e.code }),
        });
    }
    let log = Log {
        schema: SCHEMA,
        version: VERSION,
        runs: [Run {
            tool: Tool {
                driver: driver(Vec::new()),
            },
            invocations: [Invocation {
                execution_successful: false,
                tool_execution_notifications: notifications,
            }],
            results: None,
            column_kind: "unicodeCodePoints",
            properties: None,
        }],
    };
    let mut text = serde_json::to_string_pretty(&log).unwrap_or_default();
    text.push('\n');
    text
}
