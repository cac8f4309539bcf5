//! `waivers:` — exemptions granted after the fact, in the spirit of
//! cargo-deny's `ignore` entries: one commit (by full sha), one pull request
//! or one ticket, from rules named one by one, with a reason, who granted it
//! and an optional expiry. Read from the policy like every other key (for a
//! pull request: at the base commit, so a pull request cannot waive itself).

use std::collections::BTreeMap;

use chrono::NaiveDate;
use schemars::{Schema, SchemaGenerator, json_schema};

use super::{Policy, Spanned, SubjectKind};
use crate::syntax::node::{Node, Span, Value};
use crate::syntax::{
    Decode, Decoder, ErrorCode, Key, PolicyError, key_names, keys_schema, undefined_name,
};

/// The `waivers:` reference: what `git-policy explain waivers` prints, and
/// the "Waivers" section of docs/policy.md (tests/docs.rs keeps them equal).
pub const DOC: &str = r#"A ticketless commit that reached `main` fails every later audit, and the only
other fix is rewriting `main`. A waiver exempts **one** commit, pull request
or ticket from the rules it names, with a reason, who granted it and, if you
like, an expiry (in the spirit of cargo-deny's `ignore` entries):

```yaml
waivers:
  - commit: 3f2a9c1e5b7d4c2a9e8f1b3c5d7e9f0a1b2c3d4e   # the full id: a short one is an error
    rules: [commit-ticket]                               # rule ids, each must exist; there is no `all`
    reason: "EPL-0 hotfix pushed during the 2026-11 outage; EPL-912 tracks the follow-up"
    granted_by: asherman                                 # required
    expires: 2027-03-31                                  # optional, YYYY-MM-DD (UTC); still waives that day
  - pull_request: 1234
    rules: [approvals-iac]
    reason: "the IaC change was reviewed in the incident call"
    granted_by: rte
  - ticket: EPL-77
    rules: [release-lists-all-changes]
    reason: "EPL-77 ships dark; the page lists it once it is switched on"
    granted_by: rte
```

Each waiver names exactly one of:

| key | covers the findings of the named rules … |
|---|---|
| `commit` | about that commit, whichever command judges it (hook, `check commits`, `check pr`, `audit`). By its full 40-character id (`git rev-parse <commit>`): a short id is ambiguous, and a later commit can be made to share it. Never by message: messages are authored text. The audit's [release evidence](audit.md#release-evidence) findings (a direct push, a merge over a failing rule) are waived this way too, under the rule name `release-evidence`. |
| `pull_request` | in `check pr` of that pull request: about the pull request, its head branch and its commits. The release audit does not know which pull request a commit came from: to waive a commit in the audit, waive it by `commit`. |
| `ticket` | in the release audit, about that ticket: the release page not listing it, an incident without a regression test. Never a commit's finding, so a message that merely names the ticket escapes nothing. The ticket must be one of a tracker's, written as the tracker does. |

A waived finding does not fail the check and is not counted, but every format
lists it with its waiver: human (`waived[rule]` lines with the reason), JSON
(the finding with a `waived` object, and a top-level `waivers` array — see
[json.md](json.md)), GitHub (a `notice` annotation, and a "Waived findings"
table in the step summary, whose rule verdict reads "waived"), Markdown and
the audit report ("Waived findings"), SARIF (`suppressions` of kind
`external` with the reason as `justification` — see [sarif.md](sarif.md)).

- **Expired** (past `expires`): it waives nothing — the findings stand — and
  it is an `expired-waiver` warning wherever what it names is judged, and in
  `validate`.
- **Unused**: a waiver whose commit, pull request or ticket was judged in this
  run and that waived nothing is an `unused-waiver` warning (fixed, or the
  wrong rule named). A waiver about something the run did not judge says
  nothing: a hook checking one commit does not call every other waiver unused.
- A rule that can never judge what is waived (a release rule in a `commit`
  waiver, a commit rule in a `ticket` waiver), an unknown rule id (with "did
  you mean"), the same thing waived twice from the same rule, a missing or
  empty `reason` or `granted_by`: policy errors.
- Waivers are read from the policy like every other key. For a pull request
  that is the policy **at the base commit**: a waiver a pull request adds for
  itself waives nothing in its own check; the "proposed policy" notice says
  what it would waive once merged. Keep them in the policy's own file, or,
  when the policy is a folder (`.github/policies/`), in a file of their own
  there (`.github/policies/waivers.yml`, with `version: 1`): a folder's files
  are merged. The folder and `.git-policy.yml` are never read together: when
  both exist, only the folder is read, every run warns that
  `.git-policy.yml` is not, and `validate` refuses it (exit 2) — move the
  file into the folder first.
"#;

/// One waiver.
#[derive(Clone, Debug)]
pub struct Waiver {
    /// What it exempts.
    pub(crate) subject: Spanned<WaivedSubject>,
    /// The rule ids it exempts that subject from.
    pub(crate) rules: Vec<Spanned<String>>,
    /// Why (mandatory).
    pub(crate) reason: Spanned<String>,
    /// Who granted it (mandatory).
    pub(crate) granted_by: Spanned<String>,
    /// The last day it waives anything (UTC); `None`: no expiry.
    pub(crate) expires: Option<Spanned<NaiveDate>>,
    /// The whole entry.
    pub(crate) span: Span,
}

/// What a waiver exempts.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum WaivedSubject {
    /// A commit, by its full id (lower case).
    Commit(String),
    /// A pull request of the checked repository, by number.
    PullRequest(u64),
    /// A ticket, exactly as its tracker writes it.
    Ticket(String),
}

impl WaivedSubject {
    /// `commit`, `pull_request` or `ticket`: the key it is written with.
    pub(crate) fn key(&self) -> &'static str {
        match self {
            Self::Commit(_) => "commit",
            Self::PullRequest(_) => "pull_request",
            Self::Ticket(_) => "ticket",
        }
    }

    /// The value, as written in JSON and SARIF.
    pub(crate) fn value(&self) -> String {
        match self {
            Self::Commit(sha) => sha.clone(),
            Self::PullRequest(n) => n.to_string(),
            Self::Ticket(t) => t.clone(),
        }
    }

    /// "commit 3f2a9c1e12", "pull request #12", "ticket EPL-77".
    pub(crate) fn describe(&self) -> String {
        match self {
            Self::Commit(sha) => format!("commit {}", crate::text::short_sha(sha)),
            Self::PullRequest(n) => format!("pull request #{n}"),
            Self::Ticket(t) => format!("ticket {t}"),
        }
    }

    /// The subjects whose findings a waiver of this kind can cover: a
    /// commit's own findings; everything `check pr` judges for a pull request
    /// (itself, its head branch, its commits); a release's findings about a ticket.
    pub(crate) fn judged_on(&self) -> &'static [SubjectKind] {
        match self {
            Self::Commit(_) => &[SubjectKind::Commit],
            Self::PullRequest(_) => &[
                SubjectKind::PullRequest,
                SubjectKind::Commit,
                SubjectKind::Branch,
            ],
            Self::Ticket(_) => &[SubjectKind::Release],
        }
    }
}

impl Waiver {
    /// Past its expiry date on `today` (the expiry day itself still waives).
    pub(crate) fn expired(&self, today: NaiveDate) -> bool {
        self.expires.as_ref().is_some_and(|e| e.value < today)
    }

    /// Whether it names `rule`.
    pub(crate) fn names(&self, rule: &str) -> bool {
        self.rules.iter().any(|r| r.value == rule)
    }

    /// "commit 3f2a9c1e12 (ticket-in-commit, granted by asherman)".
    pub(crate) fn describe(&self) -> String {
        let rules: Vec<&str> = self.rules.iter().map(|r| r.value.as_str()).collect();
        format!(
            "{} from {} (granted by {})",
            self.subject.describe(),
            rules.join(", "),
            self.granted_by.value
        )
    }
}

/// A waiver's keys, each once: the keys [`Waiver::decode`] accepts and
/// its schema come from this list. What it exempts is one of the first
/// three (the schema's `oneOf`).
const FIELDS: [Key; 7] = [
    Key::new(
        "commit",
        "The commit's full id (40 or 64 hexadecimal characters; a short id is refused).",
        |_| json_schema!({ "type": "string", "pattern": "^\\s*([0-9a-fA-F]{40}|[0-9a-fA-F]{64})\\s*$" }),
    ),
    Key::new(
        "pull_request",
        "A pull request of this repository, by number: its own, its head branch's and its commits' findings.",
        |_| json_schema!({ "type": "integer", "minimum": 1 }),
    ),
    Key::new(
        "ticket",
        "A ticket, as its tracker writes it: the release's findings about it.",
        |_| text_schema(),
    ),
    Key::new(
        "rules",
        "The ids of the rules it waives (each must exist; there is no `all`).",
        |_| json_schema!({ "anyOf": [ text_schema(), { "type": "array", "items": text_schema(), "minItems": 1 } ] }),
    )
    .required(),
    Key::new("reason", "Why it is waived (mandatory).", |_| text_schema()).required(),
    Key::new("granted_by", "Who granted it (mandatory).", |_| text_schema()).required(),
    Key::new(
        "expires",
        "The last day it waives anything, YYYY-MM-DD (UTC); after it, a warning and the findings stand.",
        |_| json_schema!({ "type": "string", "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}$", "format": "date" }),
    ),
];

const KEYS: [&str; 7] = key_names(&FIELDS);

/// A string that is not blank.
fn text_schema() -> Schema {
    json_schema!({ "type": "string", "pattern": "\\S" })
}

/// One waiver, read from the keys `FIELDS` describes. Its keys are read
/// together (one of three names the subject), and an entry wrong only in
/// its reason, who granted it or its expiry still comes back (see below).
impl Decode for Waiver {
    const NAME: Option<&'static str> = Some("Waiver");

    fn decode(node: &Node, d: &mut Decoder) -> Option<Self> {
        decode_one(node, d)
    }

    fn schema(generator: &mut SchemaGenerator) -> Schema {
        let mut schema = keys_schema(
            &FIELDS,
            generator,
            "Exempts one commit, pull request or ticket from the rules it names.",
        );
        schema.insert(
            "oneOf".into(),
            serde_json::json!([
                { "required": ["commit"] },
                { "required": ["pull_request"] },
                { "required": ["ticket"] }
            ]),
        );
        schema
    }
}

fn decode_one(node: &Node, d: &mut Decoder) -> Option<Waiver> {
    let fields = d.fields(node, "a waiver", &KEYS)?;
    let present: Vec<(&Node, &Node)> = ["commit", "pull_request", "ticket"]
        .iter()
        .filter_map(|k| Some((fields.key(k)?, fields.get(k)?)))
        .collect();
    let mut ok = true;
    let subject = match present.as_slice() {
        [] => {
            d.error(
                PolicyError::at(
                    ErrorCode::MissingKey,
                    fields.span(),
                    "a waiver names what it waives",
                )
                .label("no `commit`, `pull_request` or `ticket` here")
                .help(
                    "add one of `commit: <full sha>`, `pull_request: <number>` or `ticket: <id>`",
                ),
            );
            None
        }
        [(key, value)] => subject(key, value, d),
        [(first, _), (second, _), ..] => {
            d.error(
                PolicyError::at(
                    ErrorCode::ConflictingKeys,
                    second.span,
                    format!(
                        "a waiver names one thing; this one has both `{}` and `{}`",
                        first.as_str().unwrap_or(""),
                        second.as_str().unwrap_or("")
                    ),
                )
                .help("split it into one waiver per commit, pull request or ticket"),
            );
            None
        }
    };
    let rules = fields.required("rules", d).and_then(|n| {
        if matches!(&n.value, Value::Seq(items) if items.is_empty()) {
            d.error(
                PolicyError::at(
                    ErrorCode::Empty,
                    n.span,
                    "`rules` is an empty list: the waiver would waive nothing",
                )
                .help("name each rule it waives by its `id`: a waiver says what it waives"),
            );
            return None;
        }
        d.strings(n)
    });
    let reason = fields
        .required("reason", d)
        .and_then(|n| d.non_empty_string(n));
    let granted_by = fields
        .required("granted_by", d)
        .and_then(|n| d.non_empty_string(n));
    let expires = match fields.get("expires") {
        Some(n) => {
            let date = date(n, d);
            ok &= date.is_some();
            date
        }
        None => None,
    };
    let (Some(subject), Some(rules)) = (subject, rules) else {
        return None;
    };
    // An entry wrong elsewhere is still cross-checked (its rule names), so
    // every problem shows at once; the errors recorded keep the policy from
    // loading, so the placeholders never waive anything.
    let placeholder = || Spanned::new(String::new(), node.span);
    let complete = ok && reason.is_some() && granted_by.is_some();
    debug_assert!(complete || !d.errors.is_empty());
    Some(Waiver {
        subject,
        rules,
        reason: reason.unwrap_or_else(placeholder),
        granted_by: granted_by.unwrap_or_else(placeholder),
        expires,
        span: node.span,
    })
}

fn subject(key: &Node, value: &Node, d: &mut Decoder) -> Option<Spanned<WaivedSubject>> {
    match key.as_str() {
        Some("commit") => {
            if matches!(value.value, Value::Int(_) | Value::Float(_)) {
                d.error(
                    PolicyError::at(
                        ErrorCode::WrongType,
                        value.span,
                        "YAML read this commit id as a number",
                    )
                    .help("quote the commit id: commit: '<full sha>'"),
                );
                return None;
            }
            let sha = d.non_empty_string(value)?;
            let lower = sha.value.trim().to_ascii_lowercase();
            let hex = lower.bytes().all(|b| b.is_ascii_hexdigit());
            if hex && matches!(lower.len(), 40 | 64) {
                return Some(Spanned::new(WaivedSubject::Commit(lower), value.span));
            }
            let error = if hex && lower.len() < 40 {
                PolicyError::at(
                    ErrorCode::InvalidValue,
                    value.span,
                    format!("`{}` is a short commit id; a waiver names the full one", sha.value),
                )
                .label("short commit id")
                .help("`git rev-parse <short id>` prints the full 40-character id; a short id is ambiguous, and a later commit can be made to share it")
            } else {
                PolicyError::at(
                    ErrorCode::InvalidValue,
                    value.span,
                    format!("`{}` is not a commit id", sha.value),
                )
                .help("write the commit's full id (40 hexadecimal characters, `git rev-parse <commit>`); waivers never match commit messages")
            };
            d.error(error);
            None
        }
        Some("pull_request") => match value.value {
            Value::Int(n) if n > 0 => Some(Spanned::new(
                WaivedSubject::PullRequest(n as u64),
                value.span,
            )),
            _ => {
                d.error(
                    PolicyError::at(
                        ErrorCode::InvalidValue,
                        value.span,
                        "`pull_request` is the pull request's number",
                    )
                    .help("write the number GitHub shows, without `#`: `pull_request: 1234`"),
                );
                None
            }
        },
        _ => {
            let ticket = d.non_empty_string(value)?;
            Some(Spanned::new(
                WaivedSubject::Ticket(ticket.value.trim().to_owned()),
                value.span,
            ))
        }
    }
}

fn date(node: &Node, d: &mut Decoder) -> Option<Spanned<NaiveDate>> {
    let text = match &node.value {
        Value::String(s) => s.as_str(),
        _ => "",
    };
    let shaped = text.len() == 10
        && text.bytes().enumerate().all(|(i, b)| {
            if i == 4 || i == 7 {
                b == b'-'
            } else {
                b.is_ascii_digit()
            }
        });
    match NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        Ok(date) if shaped => Some(Spanned::new(date, node.span)),
        _ => {
            d.error(
                PolicyError::at(
                    ErrorCode::InvalidValue,
                    node.span,
                    "`expires` is a date: YYYY-MM-DD",
                )
                .label("not a date")
                .help("e.g. `expires: 2027-03-31` (the waiver still waives on that day, UTC)"),
            );
            None
        }
    }
}

/// Cross-checks once every file is read: each rule exists and can judge
/// what is waived, each ticket is a ticket of a tracker, nothing is waived twice.
/// `failed_rules`: ids of rules that failed to decode (reported already).
pub(crate) fn validate(
    policy: &Policy,
    failed_rules: &std::collections::BTreeSet<&str>,
    errors: &mut Vec<PolicyError>,
) {
    let mut seen: BTreeMap<(WaivedSubject, &str), Span> = BTreeMap::new();
    for waiver in &policy.waivers {
        let subject = &waiver.subject.value;
        if let WaivedSubject::Ticket(ticket) = subject {
            validate_ticket(policy, ticket, waiver.subject.span, errors);
        }
        for name in &waiver.rules {
            if failed_rules.contains(name.value.as_str())
                || !validate_rule(policy, subject, name, errors)
            {
                continue;
            }
            let key = (subject.clone(), name.value.as_str());
            if let Some(first) = seen.get(&key) {
                errors.push(
                    PolicyError::at(
                        ErrorCode::DuplicateWaiver,
                        name.span,
                        format!(
                            "{} is already waived from `{}`",
                            subject.describe(),
                            name.value
                        ),
                    )
                    .label("waived twice")
                    .help(format!(
                        "keep one waiver; the first is at line {} of policy file #{}",
                        first.line,
                        first.file + 1
                    )),
                );
            } else {
                seen.insert(key, name.span);
            }
        }
    }
}

/// A waived ticket is a ticket of one of the trackers.
fn validate_ticket(policy: &Policy, ticket: &str, span: Span, errors: &mut Vec<PolicyError>) {
    if policy.definitions.tickets.values().any(|t| {
        t.pattern
            .regex()
            .find_iter(ticket)
            .any(|m| m.as_str() == ticket)
    }) {
        return;
    }
    let patterns: Vec<String> = policy
        .definitions
        .tickets
        .iter()
        .map(|(name, t)| format!("{name}: `{}`", t.pattern.source.value))
        .collect();
    errors.push(
        PolicyError::at(
            ErrorCode::InvalidValue,
            span,
            format!("`{ticket}` is not a ticket of any tracker"),
        )
        .help(if patterns.is_empty() {
            String::from("define the tracker under `tickets:`")
        } else {
            format!(
                "write the ticket exactly as its tracker does ({})",
                patterns.join(", ")
            )
        }),
    );
}

/// A rule a waiver names exists and can judge what is waived. Whether the
/// name is a rule of the policy to check for duplicates.
fn validate_rule(
    policy: &Policy,
    subject: &WaivedSubject,
    name: &Spanned<String>,
    errors: &mut Vec<PolicyError>,
) -> bool {
    // The audit's own rule: a commit pushed straight to the branch, or
    // merged while a rule failed, is waived by that commit's sha.
    if name.value == crate::outcome::FindingId::ReleaseEvidence.as_str() {
        if !matches!(subject, WaivedSubject::Commit(_)) {
            errors.push(
                        PolicyError::at(
                            ErrorCode::WaiverNeverApplies,
                            name.span,
                            format!(
                                "`{}` findings are about commits: a {} waiver would waive nothing",
                                name.value,
                                subject.key().replace('_', " ")
                            ),
                        )
                        .help("waive a direct push or a merge over a failing rule by the commit's full sha (`commit:`)"),
                    );
        }
        return false;
    }
    let Some(rule) = policy.rules.iter().find(|r| r.id.value == name.value) else {
        if policy.hooks_only {
            // Left out of the hooks' kept parse: it was there when
            // the entry was written (the policy loaded without an error).
            return false;
        }
        let how = if name.value == "all" {
            "a waiver names each rule it waives by its `id`; there is no `all`"
        } else {
            "name a rule by its `id`"
        };
        errors.push(undefined_name(
            "rule",
            "rules",
            name,
            policy.rules.iter().map(|r| r.id.value.as_str()),
            how,
        ));
        return false;
    };
    let judged_on = subject.judged_on();
    if !rule.on.iter().any(|on| judged_on.contains(&on.value)) {
        let on: Vec<&str> = rule.on.iter().map(|o| o.value.name()).collect();
        errors.push(
                    PolicyError::at(
                        ErrorCode::WaiverNeverApplies,
                        name.span,
                        format!(
                            "rule `{}` (on {}) never judges a {}: this waiver would waive nothing",
                            name.value,
                            on.join(", "),
                            subject.key().replace('_', " ")
                        ),
                    )
                    .help(match subject {
                        WaivedSubject::Commit(_) => "a commit waiver covers rules on `commit`; waive a pull request's or a release's findings by `pull_request` or `ticket`",
                        WaivedSubject::PullRequest(_) => "a pull request waiver covers rules on `pull_request`, `commit` and `branch`; waive release findings by `ticket`",
                        WaivedSubject::Ticket(_) => "a ticket waiver covers release findings about that ticket (rules on `release`); waive a commit by its sha",
                    }),
                );
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::syntax::node;

    /// The keys a waiver may have and its schema's properties are the same
    /// list; `rules`, `reason` and `granted_by` are required, and it names
    /// one of `commit`, `pull_request` or `ticket`.
    #[test]
    fn the_waiver_schema_and_the_accepted_keys_are_one_list() {
        let schema = Waiver::schema(&mut SchemaGenerator::default()).to_value();
        let mut properties: Vec<&str> = schema["properties"]
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        let mut keys = KEYS.to_vec();
        properties.sort_unstable();
        keys.sort_unstable();
        assert_eq!(properties, keys);
        assert_eq!(
            schema["required"],
            serde_json::json!(["rules", "reason", "granted_by"])
        );
        assert_eq!(schema["oneOf"].as_array().unwrap().len(), 3);
        let root = node::parse(
            "ticket: EPL-1\nrules: a\nreason: r\ngranted_by: g\nexpire: 2027-01-01\n",
            0,
        )
        .unwrap();
        let mut d = Decoder::default();
        let waiver = Waiver::decode(&root, &mut d);
        assert!(waiver.is_some(), "only the unknown key is wrong");
        assert_eq!(d.errors.len(), 1, "{:?}", d.errors);
        assert_eq!(d.errors[0].help.as_deref(), Some("did you mean `expires`?"));
    }
}
