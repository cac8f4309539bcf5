//! From policy texts to a validated [`Policy`], with every error at once.

use crate::policy::ErrorCode;
use std::collections::BTreeMap;

use super::Decode;
use super::{
    AuditOptions, CommitOptions, Globs, Kind, Policy, PolicyError, Spanned, SubjectKind, Team,
    Tracker, VERSION,
};
use super::{ChangedRef, Definitions, Predicate};
use crate::rules::{self, Requirements};
use crate::syntax::node::{self, Node, Span, Value};
use crate::syntax::{Decoder, Key, key_names, keys_schema, schema_of};
use schemars::{Schema, SchemaGenerator, json_schema};

/// One policy file's text and the name to show for it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PolicySource {
    pub name: String,
    pub text: String,
    /// The embedded pack, not a file of the repository.
    pub builtin: bool,
}

impl PolicySource {
    pub fn new(name: impl Into<String>, text: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            text: text.into(),
            builtin: false,
        }
    }

    pub fn builtin() -> Self {
        Self {
            name: super::BUILTIN_NAME.into(),
            text: super::BUILTIN_TEXT.into(),
            builtin: true,
        }
    }

    /// The file's path in the repository: the name without the `@<commit>`
    /// a policy read from a commit carries (`.github/policies/a.yml@1a2b3c4d5e`).
    pub fn path(&self) -> &str {
        match self.name.rsplit_once('@') {
            Some((path, commit))
                if (7..=40).contains(&commit.len())
                    && commit.bytes().all(|b| b.is_ascii_hexdigit()) =>
            {
                path
            }
            _ => &self.name,
        }
    }

    /// 1-based line and column of a byte offset.
    pub fn line_col(&self, offset: usize) -> (usize, usize) {
        let before = self.text.get(..offset.min(self.text.len())).unwrap_or("");
        let line = before.matches('\n').count() + 1;
        let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
        (line, column)
    }
}

/// The policy did not load; every problem found, with the texts to show them in.
#[derive(Debug)]
pub struct InvalidPolicy {
    pub sources: Vec<PolicySource>,
    pub errors: Vec<PolicyError>,
}

/// The keys of a policy file, each once: the keys [`decode_file`] accepts
/// and the file's schema ([`file_schema`]) come from this list. A file's
/// keys are read together (definitions merge across files), so the file is
/// decoded by hand, key by key, below.
const TOP: [Key; 9] = [
    Key::new(
        "version",
        "Format version; must be 1.",
        |_| json_schema!({ "type": "integer", "format": "uint8", "minimum": 1, "maximum": 1 }),
    )
    .required(),
    Key::new("tickets", "Ticket trackers by name.", by_name::<Tracker>),
    Key::new("teams", "Approver teams by name.", by_name::<Team>),
    Key::new(
        "paths",
        "Named sets of globs (gitignore-style).",
        by_name::<Globs>,
    ),
    Key::new(
        "kinds",
        "Change kinds by name; any listed signal is enough.",
        by_name::<Kind>,
    ),
    Key::new(
        "commits",
        "Commit check options.",
        schema_of::<CommitOptions>,
    ),
    Key::new("audit", "Release audit options.", schema_of::<AuditOptions>),
    Key::new("rules", "The rules.", list_of::<Rule>),
    Key::new(
        "waivers",
        "Exemptions of one commit, pull request or ticket from named rules, with a reason, who granted them and an optional expiry.",
        list_of::<super::Waiver>,
    ),
];

const TOP_KEYS: [&str; 9] = key_names(&TOP);

/// What one policy file is, for its schema's description.
const FILE_DOC: &str = "One git-policy policy file: named definitions (tickets, teams, paths, kinds), options (commits, audit), rules and waivers. The files of a policy are merged in order.";

/// `key:` with nothing after it: the loader reads an empty mapping or list,
/// so the schema accepts the null YAML makes of it.
fn or_empty(schema: Schema) -> Schema {
    json_schema!({ "anyOf": [ schema, { "type": "null" } ] })
}

/// `key: { name: T, … }`.
fn by_name<T: Decode>(generator: &mut SchemaGenerator) -> Schema {
    or_empty(json_schema!({ "type": "object", "additionalProperties": schema_of::<T>(generator) }))
}

/// `key: [T, …]` (a list, not one item for a list of one).
fn list_of<T: Decode>(generator: &mut SchemaGenerator) -> Schema {
    or_empty(json_schema!({ "type": "array", "items": schema_of::<T>(generator) }))
}

/// The schema of one policy file, from [`TOP`].
pub(super) fn file_schema(generator: &mut SchemaGenerator) -> Schema {
    keys_schema(&TOP, generator, FILE_DOC)
}

/// Most policy files one policy may be made of (spans number files in 16 bits).
pub const MAX_POLICY_FILES: usize = 1000;

/// Loads and validates policy files, merged in order.
pub fn load(sources: Vec<PolicySource>) -> Result<Policy, InvalidPolicy> {
    let trees = parse_files(&sources);
    load_parsed(sources, trees, false)
}

/// Each file's node tree, or why it is not YAML: the part of [`load`]
/// that the hooks keep between runs ([`super::tree_cache`]).
/// Too many files: none is parsed ([`load_parsed`] refuses them).
pub fn parse_files(sources: &[PolicySource]) -> Vec<Result<Node, serde_saphyr::Error>> {
    if sources.len() > MAX_POLICY_FILES {
        return Vec::new();
    }
    sources
        .iter()
        .enumerate()
        .map(|(index, source)| node::parse(&source.text, u16::try_from(index).unwrap_or(u16::MAX)))
        .collect()
}

/// [`load`] with the files already parsed (`trees[i]` is `sources[i]`'s).
/// `trusted`: these very sources loaded without an error before, with this
/// build ([`Decoder::trusted`]); only the hooks' cache says so.
pub fn load_parsed(
    sources: Vec<PolicySource>,
    trees: Vec<Result<Node, serde_saphyr::Error>>,
    trusted: bool,
) -> Result<Policy, InvalidPolicy> {
    if sources.len() > MAX_POLICY_FILES {
        let count = sources.len();
        return Err(InvalidPolicy {
            sources,
            errors: vec![PolicyError {
                code: ErrorCode::TooManyFiles.as_str(),
                message: format!(
                    "the policy is made of {count} files; git-policy reads at most {MAX_POLICY_FILES}"
                ),
                label: String::new(),
                help: Some(String::from(
                    "merge policy files: one file can hold any number of rules",
                )),
                span: None,
            }],
        });
    }
    let mut d = Decoder {
        trusted,
        ..Decoder::default()
    };
    let mut policy = Policy {
        definitions: Definitions::default(),
        commits: CommitOptions::default(),
        commits_span: None,
        audit: super::AuditOptions::default(),
        rules: Vec::new(),
        sources: Vec::new(),
        defined_at: BTreeMap::new(),
        waivers: Vec::new(),
        matchers: BTreeMap::new(),
        hooks_only: trusted,
    };
    let mut first_definition: BTreeMap<(&'static str, String), Span> = BTreeMap::new();
    let mut commits_set: Option<Span> = None;
    let mut orphans: Vec<Predicate> = Vec::new();
    for ((index, source), tree) in sources.iter().enumerate().zip(trees) {
        // At most MAX_POLICY_FILES (checked above): the index fits.
        let file = u16::try_from(index).unwrap_or(u16::MAX);
        let root = match tree {
            Ok(root) => root,
            Err(err) => {
                d.error(syntax_error(&err, source, file));
                continue;
            }
        };
        decode_file(
            &root,
            &mut d,
            &mut policy,
            &mut first_definition,
            &mut commits_set,
            &mut orphans,
        );
    }
    policy.sources = sources;
    policy.commits_span = commits_set;
    policy.defined_at = first_definition;
    // Cross-checks run even after decode errors, so every problem shows at
    // once; entries that failed to decode left placeholders behind, so
    // references to them are not reported as undefined.
    validate(&mut policy, &mut d.errors);
    super::waiver::validate(&policy, &mut d.errors);
    for p in &orphans {
        p.visit(&mut |q| check_predicate(q, &policy, &mut d.errors));
    }
    if d.errors.is_empty() {
        Ok(policy)
    } else {
        // Invalid already: every problem is shown at once, those found
        // compiling its regexes and glob sets (examples that do not match,
        // sets too large) included.
        let compiled = policy
            .rules
            .iter()
            .flat_map(|r| &r.matchers)
            .chain(policy.matchers.values().flatten())
            .chain(&d.matchers)
            .filter_map(|m| m.compile(crate::syntax::Haystacks::Many).err());
        let mut errors = std::mem::take(&mut d.errors);
        errors.extend(compiled);
        errors.sort_by_key(|e| e.span);
        errors.dedup();
        Err(InvalidPolicy {
            sources: policy.sources,
            errors,
        })
    }
}

fn syntax_error(err: &serde_saphyr::Error, source: &PolicySource, file: u16) -> PolicyError {
    let text = err.to_string();
    // The message ends with "at line L column C"; the label shows the place.
    let mut message = text
        .split(" at line ")
        .next()
        .unwrap_or(&text)
        .trim()
        .to_owned();
    let mut help = String::from(
        "check the indentation and quoting; quote patterns with single quotes: '\\bEPL-[0-9]+\\b'",
    );
    if let Some(rest) = message.strip_prefix("duplicate mapping key") {
        let key = rest
            .trim_start_matches(':')
            .split(',')
            .next()
            .unwrap_or("")
            .trim();
        message = if key.is_empty() {
            String::from("a key appears twice in this mapping")
        } else {
            format!("key `{key}` appears twice in this mapping")
        };
        help = String::from(
            "keep one of them: YAML readers disagree on which one wins, so git-policy refuses both",
        );
    }
    let span = err.location().map(|loc| {
        let line = loc.line().max(1) as usize;
        let column = loc.column().max(1) as usize;
        let line_start: usize = source
            .text
            .split_inclusive('\n')
            .take(line - 1)
            .map(str::len)
            .sum();
        let line_text = source
            .text
            .get(line_start.min(source.text.len())..)
            .unwrap_or_default()
            .lines()
            .next()
            .unwrap_or("");
        let col_bytes: usize = line_text.chars().take(column - 1).map(char::len_utf8).sum();
        let offset = (line_start + col_bytes).min(source.text.len());
        let len = source
            .text
            .get(offset..)
            .unwrap_or_default()
            .chars()
            .next()
            .map_or(0, char::len_utf8)
            .max(if offset < source.text.len() { 1 } else { 0 });
        Span {
            file,
            offset: offset as u32,
            len: len as u32,
            line: line as u32,
            column: column as u32,
        }
    });
    let span = span.unwrap_or(Span {
        file,
        offset: 0,
        len: 0,
        line: 1,
        column: 1,
    });
    PolicyError::at(
        ErrorCode::YamlSyntax,
        span,
        format!("invalid YAML: {message}"),
    )
    .label("YAML syntax error")
    .help(help)
}

fn decode_file(
    root: &Node,
    d: &mut Decoder,
    policy: &mut Policy,
    seen: &mut BTreeMap<(&'static str, String), Span>,
    commits_set: &mut Option<Span>,
    orphans: &mut Vec<Predicate>,
) {
    if matches!(root.value, Value::Null) {
        d.error(
            PolicyError::at(ErrorCode::EmptyFile, root.span, "the policy file is empty").help(
                "start with `version: 1` and a `rules:` list; `git-policy init` writes a starter",
            ),
        );
        return;
    }
    let Some(fields) = d.fields(root, "a policy file", &TOP_KEYS) else {
        return;
    };
    let mut matchers = std::mem::take(&mut policy.matchers);
    match fields.get("version") {
        None => d.error(
            PolicyError::at(ErrorCode::MissingVersion, Span { len: 1, ..root.span }, "the policy file has no `version`")
                .label("`version: 1` is missing")
                .help("add `version: 1` as the first line"),
        ),
        Some(n) => match n.value {
            Value::Int(VERSION) => {}
            Value::Int(other) => d.error(
                PolicyError::at(ErrorCode::UnsupportedVersion, n.span, format!("unsupported policy version {other}"))
                    .label("this git-policy reads version 1")
                    .help("set `version: 1`, or upgrade git-policy if the file was written for a newer one"),
            ),
            _ => d.error(
                PolicyError::at(ErrorCode::WrongType, n.span, format!("expected the number 1, found {}", n.type_name()))
                    .help("write `version: 1` without quotes"),
            ),
        },
    }
    named_entries(
        &fields,
        "tickets",
        "tracker",
        d,
        seen,
        &mut matchers,
        |name, node, d| {
            let mut tracker =
                decode_tracker(node, d).unwrap_or_else(|| placeholder_tracker(node.span));
            // Ticket ids are ASCII: `\d` is 0-9 here, not any script's digit.
            tracker.pattern = tracker.pattern.with_ascii_classes();
            policy.definitions.tickets.insert(name, tracker);
            Some(())
        },
    );
    named_entries(
        &fields,
        "teams",
        "team",
        d,
        seen,
        &mut matchers,
        |name, node, d| {
            // A team that failed to decode stays as a placeholder: references
            // to it are not reported as undefined.
            let team = Team::decode(node, d).unwrap_or_else(Team::default);
            policy.definitions.teams.insert(name, team);
            Some(())
        },
    );
    named_entries(
        &fields,
        "paths",
        "path set",
        d,
        seen,
        &mut matchers,
        |name, node, d| {
            let Some(globs) = d.globs(node) else {
                policy.definitions.paths.insert(name, Globs::default());
                return None;
            };
            if globs.patterns.is_empty() {
                d.error(
                    PolicyError::at(
                        ErrorCode::EmptyPathSet,
                        node.span,
                        format!("path set `{name}` can match nothing"),
                    )
                    .label("no globs")
                    .help("list at least one glob, e.g. ['.github/workflows/**']"),
                );
                return None;
            }
            policy.definitions.paths.insert(name, globs);
            Some(())
        },
    );
    named_entries(
        &fields,
        "kinds",
        "kind",
        d,
        seen,
        &mut matchers,
        |name, node, d| {
            let kind = Kind::decode(node, d).unwrap_or_else(Kind::default);
            policy.definitions.kinds.insert(name, kind);
            Some(())
        },
    );
    policy.matchers = matchers;
    if let Some(node) = fields.get("commits") {
        if let Some(first) = commits_set {
            d.error(
                PolicyError::at(
                    ErrorCode::DuplicateDefinition,
                    node.span,
                    "`commits:` is set in more than one policy file",
                )
                .help(format!("keep one; the first is at line {}", first.line)),
            );
        } else {
            *commits_set = Some(node.span);
            if let Some(options) = CommitOptions::decode(node, d) {
                policy.commits = options;
            }
        }
    }
    if let Some(node) = fields.get("audit")
        && let Some(audit) = AuditOptions::decode(node, d)
    {
        // Each file sets the options it writes; the others stay as earlier
        // files set them.
        let written = |key: &str| matches!(&node.value, Value::Map(entries) if entries.iter().any(|(k, _)| k.as_str() == Some(key)));
        if written("empty_range") {
            policy.audit.empty_range = audit.empty_range;
        }
        if written("evidence") {
            policy.audit.evidence = audit.evidence;
        }
        if written("exempt_accounts") {
            policy.audit.exempt_accounts = audit.exempt_accounts;
        }
    }
    super::waiver::decode(fields.get("waivers"), d, &mut policy.waivers);
    if let Some(rules) = fields.get("rules") {
        match &rules.value {
            Value::Seq(items) => {
                for item in items {
                    match decode_rule(item, d) {
                        Ok(rule) => policy.rules.push(rule),
                        Err(conditions) => orphans.extend(conditions),
                    }
                }
            }
            Value::Null => {}
            _ => d.error(
                PolicyError::at(
                    ErrorCode::WrongType,
                    rules.span,
                    format!("expected a list of rules, found {}", rules.type_name()),
                )
                .help("write each rule as a list item: `- id: my-rule`"),
            ),
        }
    }
}

/// Decodes `key: { name: …, … }`, reporting names defined twice across files.
#[expect(
    clippy::too_many_arguments,
    reason = "the names seen and the matchers are state across files: they go with the decode/merge/validate split of loading (issue 23 §1, not done yet)"
)]
fn named_entries(
    fields: &super::Fields<'_>,
    key: &'static str,
    what: &'static str,
    d: &mut Decoder,
    seen: &mut BTreeMap<(&'static str, String), Span>,
    matchers_of: &mut BTreeMap<(&'static str, String), Vec<super::Matcher>>,
    mut decode: impl FnMut(String, &Node, &mut Decoder) -> Option<()>,
) {
    let Some(node) = fields.get(key) else { return };
    let entries = match &node.value {
        Value::Map(entries) => entries,
        Value::Null => return,
        _ => {
            d.error(
                PolicyError::at(
                    ErrorCode::WrongType,
                    node.span,
                    format!(
                        "expected a mapping of {what} names, found {}",
                        node.type_name()
                    ),
                )
                .help(format!("write `{key}:` followed by `name: …` lines")),
            );
            return;
        }
    };
    for (name_node, value) in entries {
        let Some(name) = name_node.as_str() else {
            d.error(PolicyError::at(
                ErrorCode::WrongType,
                name_node.span,
                format!("a {what} name must be a string"),
            ));
            continue;
        };
        if let Some(first) = seen.get(&(key, name.to_owned())) {
            d.error(
                PolicyError::at(
                    ErrorCode::DuplicateDefinition,
                    name_node.span,
                    format!("{what} `{name}` is defined twice"),
                )
                .label("second definition")
                .help(format!(
                    "the first is at line {} of policy file #{}; rename or remove one",
                    first.line,
                    first.file + 1
                )),
            );
            continue;
        }
        seen.insert((key, name.to_owned()), name_node.span);
        let mark = d.matchers.len();
        decode(name.to_owned(), value, d);
        let matchers = d.matchers.split_off(mark);
        if !matchers.is_empty() {
            matchers_of.insert((key, name.to_owned()), matchers);
        }
    }
}

fn decode_tracker(node: &Node, d: &mut Decoder) -> Option<Tracker> {
    let tracker = Tracker::decode(node, d)?;
    // Whether the example matches is known once the pattern is compiled:
    // when a rule that uses the tracker is about to judge (or `validate`).
    if let Some(example) = &tracker.example {
        d.matchers.push(super::Matcher::Example(
            tracker.pattern.clone(),
            example.clone(),
        ));
    }
    Some(tracker)
}

/// Stands in for a tracker that failed to decode: matches nothing.
fn placeholder_tracker(span: Span) -> Tracker {
    let source = Spanned::new(String::from("[^\\s\\S]"), span);
    let regex =
        regex::Regex::new(&source.value).unwrap_or_else(|_| unreachable!("a constant regex"));
    Tracker {
        pattern: super::Pattern::compiled(source, regex),
        url: None,
        example: None,
        incident: false,
        api: None,
        near_miss: std::sync::OnceLock::new(),
    }
}

/// A rule, or on failure the conditions that did decode (still cross-checked).
fn decode_rule(node: &Node, d: &mut Decoder) -> Result<Rule, Vec<Predicate>> {
    let mark = d.matchers.len();
    let Some(mut rule) = Rule::decode(node, d) else {
        // Its matchers stay with the decoder: compiled if the policy is
        // invalid anyway. Its conditions are read again, quietly (their
        // errors are reported already), to cross-check the names they use.
        return Err(conditions_of(node));
    };
    let require_key = match &node.value {
        Value::Map(entries) => entries.iter().find(|(k, _)| k.as_str() == Some("require")),
        _ => None,
    };
    rule.span = node.span;
    rule.require_span = require_key.map_or(node.span, |(k, _)| k.span);
    rule.matchers = d.matchers.split_off(mark);
    Ok(rule)
}

/// The `when` and `unless` of a rule that failed to decode, those that do.
fn conditions_of(node: &Node) -> Vec<Predicate> {
    let Value::Map(entries) = &node.value else {
        return Vec::new();
    };
    let mut quiet = Decoder::default();
    entries
        .iter()
        .filter(|(k, _)| matches!(k.as_str(), Some("when" | "unless")))
        .filter_map(|(_, v)| Predicate::decode(v, &mut quiet))
        .collect()
}

/// `require:`, which must require something.
pub(super) fn requirements(node: &Node, d: &mut Decoder) -> Option<Requirements> {
    if matches!(&node.value, Value::Null) || matches!(&node.value, Value::Map(m) if m.is_empty()) {
        d.error(
            PolicyError::at(
                ErrorCode::EmptyRequire,
                node.span,
                "`require` is empty: the rule would always pass",
            )
            .label("nothing required")
            .help(format!(
                "require at least one of: {}",
                rules::ALL
                    .iter()
                    .map(|i| i.name)
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
        );
        return None;
    }
    Requirements::decode(node, d)
}

/// A list schema (one or many) that needs at least one item.
pub(super) fn non_empty_list(schema: &mut schemars::Schema) {
    if let Some(serde_json::Value::Array(forms)) = schema.get_mut("anyOf")
        && let Some(serde_json::Value::Object(list)) = forms.get_mut(1)
    {
        list.insert("minItems".into(), 1.into());
    }
}

use super::Rule;

fn validate(policy: &mut Policy, errors: &mut Vec<PolicyError>) {
    policy.definitions.check_ticket_types(errors);
    let mut ids: BTreeMap<String, Span> = BTreeMap::new();
    for rule in &policy.rules {
        let id = &rule.id;
        if !is_kebab_case(&id.value) {
            errors.push(
                PolicyError::at(
                    ErrorCode::InvalidId,
                    id.span,
                    format!("rule id `{}` is not kebab-case", id.value),
                )
                .help(format!(
                    "use lower-case words joined by dashes, e.g. `{}`",
                    to_kebab(&id.value)
                )),
            );
        }
        if let Some(first) = ids.get(&id.value) {
            errors.push(
                PolicyError::at(
                    ErrorCode::DuplicateRuleId,
                    id.span,
                    format!("rule id `{}` is used twice", id.value),
                )
                .label("second use")
                .help(format!(
                    "rule ids must be unique (findings carry them); the first is at line {}",
                    first.line
                )),
            );
        } else {
            ids.insert(id.value.clone(), id.span);
        }
        for predicate in rule.when.iter().chain(rule.unless.iter()) {
            predicate.visit(&mut |p| check_predicate(p, policy, errors));
        }
        for (info, span, requirement) in rule.require.each() {
            requirement.validate(&policy.definitions, rule.view(), errors);
            for subject in &rule.on {
                if !info.subjects.contains(&subject.value) {
                    errors.push(
                        PolicyError::at(
                            ErrorCode::RequirementNotOnSubject,
                            subject.span,
                            format!("requirement `{}` cannot be checked on `{}`", info.name, subject.value),
                        )
                        .label(format!("`{}` has no meaning here", info.name))
                        .help(format!(
                            "`{}` works on: {}; remove `{}` from `on`, or move the requirement to its own rule",
                            info.name,
                            info.subjects.iter().map(|s| s.name()).collect::<Vec<_>>().join(", "),
                            subject.value
                        )),
                    );
                }
            }
            if info.name == "ticket" && policy.definitions.tickets.is_empty() {
                errors.push(
                    PolicyError::at(
                        ErrorCode::NoTrackers,
                        span,
                        "`ticket` is required but no tracker is defined",
                    )
                    .help(
                        "define one under `tickets:`, e.g. `jira: { pattern: '\\bEPL-[0-9]+\\b' }`",
                    ),
                );
            }
        }
    }
    // Default `on`: every subject all of the rule's requirements support.
    for rule in &mut policy.rules {
        if rule.on.is_empty() {
            let supported: Vec<SubjectKind> = SubjectKind::ALL
                .into_iter()
                .filter(|s| {
                    rule.require
                        .each()
                        .iter()
                        .all(|(info, _, _)| info.subjects.contains(s))
                })
                // A ticket that asks no tracker has nothing to judge on a
                // release; one that does is judged on pull requests and releases.
                .filter(|s| match rule.require.ticket.as_ref() {
                    None => true,
                    Some(t) if t.value.asks_tracker() => {
                        matches!(s, SubjectKind::PullRequest | SubjectKind::Release)
                    }
                    Some(_) => *s != SubjectKind::Release,
                })
                .collect();
            if supported.is_empty() {
                errors.push(
                    PolicyError::at(ErrorCode::NoCommonSubject, rule.require_span, format!("the requirements of rule `{}` share no subject", rule.id.value))
                        .help("split it into rules whose requirements work on the same subject, or set `on`"),
                );
            }
            rule.on = supported
                .into_iter()
                .map(|s| Spanned::new(s, rule.require_span))
                .collect();
        }
    }
}

fn check_predicate(p: &Predicate, policy: &Policy, errors: &mut Vec<PolicyError>) {
    if let Some(kinds) = &p.kind {
        policy.definitions.check_kinds(kinds, errors);
    }
    if let Some(refs) = &p.changed {
        check_changed_refs(refs, policy, errors);
    }
}

/// Every named path set in `refs` is defined.
pub fn check_changed_refs(refs: &[ChangedRef], policy: &Policy, errors: &mut Vec<PolicyError>) {
    policy.definitions.check_changed_refs(refs, errors);
}

fn is_kebab_case(id: &str) -> bool {
    !id.is_empty()
        && id.split('-').all(|part| {
            !part.is_empty()
                && part
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        })
}

fn to_kebab(id: &str) -> String {
    let mut out = String::new();
    for c in id.chars() {
        if c.is_ascii_alphanumeric() {
            if c.is_ascii_uppercase() && !out.is_empty() && !out.ends_with('-') {
                out.push('-');
            }
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('-') && !out.is_empty() {
            out.push('-');
        }
    }
    out.trim_end_matches('-').to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The keys a policy file may have and its schema's properties are the
    /// same list; `version` is the one required.
    #[test]
    fn the_file_schema_and_the_accepted_keys_are_one_list() {
        let schema = super::super::Policy::json_schema().to_value();
        let mut properties: Vec<&str> = schema["properties"]
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        let mut keys = TOP_KEYS.to_vec();
        properties.sort_unstable();
        keys.sort_unstable();
        assert_eq!(properties, keys);
        assert_eq!(schema["required"], serde_json::json!(["version"]));
        assert_eq!(schema["additionalProperties"], false);
        for key in TOP_KEYS {
            assert!(
                schema["properties"][key]["description"].is_string(),
                "{key} is documented"
            );
        }
        let invalid =
            load(vec![PolicySource::new("p.yml", "version: 1\nwaiver: []\n")]).unwrap_err();
        assert_eq!(invalid.errors.len(), 1, "{:?}", invalid.errors);
        assert_eq!(invalid.errors[0].code, "policy::unknown-key");
        assert_eq!(
            invalid.errors[0].help.as_deref(),
            Some("did you mean `waivers`?")
        );
    }

    /// 65,537 files used to wrap the 16-bit file index of spans, pinning
    /// errors to the wrong file.
    #[test]
    fn too_many_policy_files_are_refused_not_wrapped() {
        let sources: Vec<PolicySource> = (0..=MAX_POLICY_FILES)
            .map(|i| PolicySource::new(format!("p{i}.yml"), "version: 1\n"))
            .collect();
        let Err(invalid) = load(sources) else {
            panic!("1,001 files must be refused")
        };
        assert_eq!(invalid.errors.len(), 1);
        assert_eq!(invalid.errors[0].code, "policy::too-many-files");
        assert!(invalid.errors[0].message.contains("1001 files"));
        let fine: Vec<PolicySource> = (0..MAX_POLICY_FILES)
            .map(|i| PolicySource::new(format!("p{i}.yml"), "version: 1\n"))
            .collect();
        assert!(load(fine).is_ok());
    }
}
