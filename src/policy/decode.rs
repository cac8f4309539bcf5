//! Loading, phase 1 of 3: each file's node tree into a [`PolicyFile`], every
//! problem reported, nothing merged with other files and no default filled
//! (that is [`super::merge`], then [`super::validate`]).
//!
//! A file is declared with `options!` like every other policy type: its
//! keys, their decoding and its schema come from one field list. Its parts
//! never fail as a whole: a named map keeps each name even when its value
//! fails ([`ByName`]), a rule that fails keeps its id and conditions
//! ([`RuleEntry::Failed`]), a setting keeps where it is written
//! ([`Setting`]). So the later phases see every name the author wrote, and a
//! broken entry is reported once, not again wherever it is used.

use schemars::{Schema, SchemaGenerator, json_schema};

use super::{AuditOptions, CommitOptions, Kind, Rule, Team, Tracker, VERSION, Waiver};
use crate::definitions::Predicate;
use crate::syntax::node::{self, Node, Span, Value};
use crate::syntax::{Decode, Decoder, ErrorCode, Globs, Matcher, PolicyError, options, schema_of};

/// One policy file's text and the name to show for it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PolicySource {
    pub name: String,
    pub text: String,
    /// The embedded pack, not a file of the repository.
    pub(crate) builtin: bool,
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
    pub(crate) fn path(&self) -> &str {
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
}

/// Most policy files one policy may be made of (spans number files in 16 bits).
pub(crate) const MAX_POLICY_FILES: usize = 1000;

/// Each file's node tree, or why it is not YAML: the part of loading that
/// the hooks keep between runs ([`super::tree_cache`]). Too many files: none
/// is parsed ([`super::load_parsed`] refuses them).
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

/// The policy is made of more files than spans can number.
pub(super) fn too_many_files(count: usize) -> PolicyError {
    PolicyError {
        code: ErrorCode::TooManyFiles.as_str(),
        message: format!(
            "the policy is made of {count} files; git-policy reads at most {MAX_POLICY_FILES}"
        ),
        label: String::new(),
        help: Some(String::from(
            "merge policy files: one file can hold any number of rules",
        )),
        span: None,
    }
}

options! {
    /// One git-policy policy file: named definitions (tickets, teams, paths, kinds), options (commits, audit), rules and waivers. The files of a policy are merged in order.
    #[options(what = "a policy file", schema = version_is_required)]
    #[derive(Debug, Default)]
    pub(crate) struct PolicyFile {
        /// Format version; must be 1.
        pub(crate) version: Option<Setting<Version>>,
        /// Ticket trackers by name.
        pub(crate) tickets: ByName<Tracker>,
        /// Approver teams by name.
        pub(crate) teams: ByName<Team>,
        /// Named sets of globs (gitignore-style).
        pub(crate) paths: ByName<Globs>,
        /// Change kinds by name; any listed signal is enough.
        pub(crate) kinds: ByName<Kind>,
        /// Commit check options.
        pub(crate) commits: Option<Setting<CommitOptions>>,
        /// Release audit options.
        pub(crate) audit: Option<Setting<AuditOptions>>,
        /// The rules.
        pub(crate) rules: RuleList,
        /// Exemptions of one commit, pull request or ticket from named rules, with a reason, who granted them and an optional expiry.
        pub(crate) waivers: WaiverList,
    }
}

/// `version` is the one key a file must have ([`decode_file`] reports it
/// missing in its own words).
fn version_is_required(schema: &mut Schema) {
    schema.insert("required".into(), serde_json::json!(["version"]));
}

/// A file's tree into a [`PolicyFile`]; `None` when it is not a mapping
/// (reported). Its parts that fail are reported and kept as failed.
pub(crate) fn decode_file(root: &Node, d: &mut Decoder) -> Option<PolicyFile> {
    if matches!(root.value, Value::Null) {
        d.error(
            PolicyError::at(ErrorCode::EmptyFile, root.span, "the policy file is empty").help(
                "start with `version: 1` and a `rules:` list; `git-policy init` writes a starter",
            ),
        );
        return None;
    }
    let file = PolicyFile::decode(root, d)?;
    if file.version.is_none() {
        d.error(
            PolicyError::at(
                ErrorCode::MissingVersion,
                Span {
                    len: 1,
                    ..root.span
                },
                "the policy file has no `version`",
            )
            .label("`version: 1` is missing")
            .help("add `version: 1` as the first line"),
        );
    }
    Some(file)
}

/// `version: 1`, the only format this build reads.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Version;

impl Decode for Version {
    fn decode(node: &Node, d: &mut Decoder) -> Option<Self> {
        match node.value {
            Value::Int(VERSION) => Some(Version),
            Value::Int(other) => {
                d.error(
                    PolicyError::at(ErrorCode::UnsupportedVersion, node.span, format!("unsupported policy version {other}"))
                        .label("this git-policy reads version 1")
                        .help("set `version: 1`, or upgrade git-policy if the file was written for a newer one"),
                );
                None
            }
            _ => {
                d.error(
                    PolicyError::at(
                        ErrorCode::WrongType,
                        node.span,
                        format!("expected the number 1, found {}", node.type_name()),
                    )
                    .help("write `version: 1` without quotes"),
                );
                None
            }
        }
    }
    fn schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({ "type": "integer", "format": "uint8", "minimum": 1, "maximum": 1 })
    }
}

/// A key written in a file, whether or not its value decoded: one that
/// failed (reported) still counts as written, so a second file setting it
/// again is told so.
#[derive(Clone, Debug)]
pub(crate) struct Setting<T> {
    /// Where the value is written.
    pub(crate) span: Span,
    /// `None`: it failed to decode (reported).
    pub(crate) value: Option<T>,
    /// The keys written under it (audit options are set key by key).
    pub(crate) keys: Vec<String>,
}

impl<T: Decode> Decode for Setting<T> {
    /// Never fails: what failed is kept as failed.
    fn decode(node: &Node, d: &mut Decoder) -> Option<Self> {
        let keys = match &node.value {
            Value::Map(entries) => entries
                .iter()
                .filter_map(|(k, _)| k.as_str().map(str::to_owned))
                .collect(),
            _ => Vec::new(),
        };
        Some(Setting {
            span: node.span,
            value: T::decode(node, d),
            keys,
        })
    }
    fn schema(generator: &mut SchemaGenerator) -> Schema {
        schema_of::<T>(generator)
    }
    /// `T`'s schema says already whether it may be empty.
    fn empty_is_valid() -> bool {
        false
    }
}

/// A definition that rules refer to by name (`tickets`, `teams`, `paths`,
/// `kinds`).
pub(crate) trait Definition: Decode {
    /// The key it is defined under, as [`super::Policy::defined_at`] names it.
    const SECTION: &'static str;
    /// What one is called in messages.
    const WHAT: &'static str;
    /// Decodes the definition of `name`.
    fn decode_named(_name: &str, node: &Node, d: &mut Decoder) -> Option<Self> {
        Self::decode(node, d)
    }
}

impl Definition for Tracker {
    const SECTION: &'static str = "tickets";
    const WHAT: &'static str = "tracker";
    fn decode_named(_: &str, node: &Node, d: &mut Decoder) -> Option<Self> {
        let tracker = Tracker::decode(node, d)?;
        // Whether the example matches is known once the pattern is compiled:
        // when a rule that uses the tracker is about to judge (or `validate`).
        if let Some(example) = &tracker.example {
            d.matchers
                .push(Matcher::Example(tracker.pattern.clone(), example.clone()));
        }
        // Ticket ids are ASCII: `\d` is 0-9 here, not any script's digit.
        let mut tracker = tracker;
        tracker.pattern = tracker.pattern.with_ascii_classes();
        Some(tracker)
    }
}

impl Definition for Team {
    const SECTION: &'static str = "teams";
    const WHAT: &'static str = "team";
}

impl Definition for Kind {
    const SECTION: &'static str = "kinds";
    const WHAT: &'static str = "kind";
}

/// A path set must match something.
impl Definition for Globs {
    const SECTION: &'static str = "paths";
    const WHAT: &'static str = "path set";
    fn decode_named(name: &str, node: &Node, d: &mut Decoder) -> Option<Self> {
        let globs = d.globs(node)?;
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
        Some(globs)
    }
}

/// One named definition, kept even when its value failed.
#[derive(Clone, Debug)]
pub(crate) struct Entry<T> {
    /// Its name, where it is written.
    pub(crate) name: crate::syntax::Spanned<String>,
    /// `None`: it failed to decode (reported).
    pub(crate) value: Option<T>,
    /// Its regexes and glob sets, those of a value that failed included
    /// (compiled when the policy is invalid anyway, to report them too).
    pub(crate) matchers: Vec<Matcher>,
}

/// `key: { name: T, … }`: every name, in the order written.
#[derive(Clone, Debug)]
pub(crate) struct ByName<T>(pub Vec<Entry<T>>);

impl<T> Default for ByName<T> {
    fn default() -> Self {
        Self(Vec::new())
    }
}

impl<T: Definition> Decode for ByName<T> {
    /// Never fails: a value of the wrong type is reported and read as
    /// empty, a name that is not a string is reported and left out.
    fn decode(node: &Node, d: &mut Decoder) -> Option<Self> {
        let (what, key) = (T::WHAT, T::SECTION);
        let entries = match &node.value {
            Value::Map(entries) => entries,
            Value::Null => return Some(Self::default()),
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
                return Some(Self::default());
            }
        };
        let mut out = Vec::new();
        for (name_node, value) in entries {
            let Some(name) = name_node.as_str() else {
                d.error(PolicyError::at(
                    ErrorCode::WrongType,
                    name_node.span,
                    format!("a {what} name must be a string"),
                ));
                continue;
            };
            let mark = d.matchers.len();
            let value = T::decode_named(name, value, d);
            out.push(Entry {
                name: crate::syntax::Spanned::new(name.to_owned(), name_node.span),
                value,
                matchers: d.matchers.split_off(mark),
            });
        }
        Some(Self(out))
    }
    fn schema(generator: &mut SchemaGenerator) -> Schema {
        json_schema!({ "type": "object", "additionalProperties": schema_of::<T>(generator) })
    }
}

/// The items of `key: [ … ]` (a list, not one item for a list of one);
/// `None`: not a list (reported).
fn list_items<'a>(node: &'a Node, d: &mut Decoder, what: &str, help: &str) -> Option<&'a [Node]> {
    match &node.value {
        Value::Seq(items) => Some(items),
        Value::Null => Some(&[]),
        _ => {
            d.error(
                PolicyError::at(
                    ErrorCode::WrongType,
                    node.span,
                    format!("expected a list of {what}, found {}", node.type_name()),
                )
                .help(help),
            );
            None
        }
    }
}

/// A rule as written: decoded, or failed with what the later phases still
/// need of it.
#[derive(Clone, Debug)]
pub(crate) enum RuleEntry {
    Decoded(Box<Rule>),
    Failed(FailedRule),
}

/// A rule that failed to decode (reported).
#[derive(Clone, Debug, Default)]
pub(crate) struct FailedRule {
    /// Its id, when it is a string: a waiver naming it is not told the
    /// rule does not exist.
    pub(crate) id: Option<String>,
    /// Its `when` and `unless`, those that decode, read quietly (their
    /// errors are reported already), to cross-check the names they use.
    pub(crate) conditions: Vec<Predicate>,
    /// Its regexes and glob sets, compiled since the policy is invalid.
    pub(crate) matchers: Vec<Matcher>,
}

/// `rules:`, every rule kept in order.
#[derive(Clone, Debug, Default)]
pub(crate) struct RuleList(pub Vec<RuleEntry>);

impl Decode for RuleList {
    /// Never fails: a value that is not a list is reported and read as empty.
    fn decode(node: &Node, d: &mut Decoder) -> Option<Self> {
        let help = "write each rule as a list item: `- id: my-rule`";
        let Some(items) = list_items(node, d, "rules", help) else {
            return Some(Self::default());
        };
        Some(Self(
            items.iter().map(|item| decode_rule(item, d)).collect(),
        ))
    }
    fn schema(generator: &mut SchemaGenerator) -> Schema {
        json_schema!({ "type": "array", "items": schema_of::<Rule>(generator) })
    }
}

fn decode_rule(node: &Node, d: &mut Decoder) -> RuleEntry {
    let mark = d.matchers.len();
    let Some(mut rule) = Rule::decode(node, d) else {
        return RuleEntry::Failed(FailedRule {
            id: entry_of(node, "id")
                .and_then(Node::as_str)
                .map(str::to_owned),
            conditions: conditions_of(node),
            matchers: d.matchers.split_off(mark),
        });
    };
    rule.span = node.span;
    rule.require_span = key_of(node, "require").map_or(node.span, |k| k.span);
    rule.matchers = d.matchers.split_off(mark);
    RuleEntry::Decoded(Box::new(rule))
}

/// The key node `key` of a mapping.
fn key_of<'a>(node: &'a Node, key: &str) -> Option<&'a Node> {
    match &node.value {
        Value::Map(entries) => entries
            .iter()
            .find(|(k, _)| k.as_str() == Some(key))
            .map(|(k, _)| k),
        _ => None,
    }
}

/// The value under `key` of a mapping.
fn entry_of<'a>(node: &'a Node, key: &str) -> Option<&'a Node> {
    match &node.value {
        Value::Map(entries) => entries
            .iter()
            .find(|(k, _)| k.as_str() == Some(key))
            .map(|(_, v)| v),
        _ => None,
    }
}

/// The `when` and `unless` of a rule that failed to decode, those that do.
fn conditions_of(node: &Node) -> Vec<Predicate> {
    let mut quiet = Decoder::default();
    ["when", "unless"]
        .iter()
        .filter_map(|key| entry_of(node, key))
        .filter_map(|v| Predicate::decode(v, &mut quiet))
        .collect()
}

/// `waivers:`, those that decode (each problem reported).
#[derive(Clone, Debug, Default)]
pub(crate) struct WaiverList(pub Vec<Waiver>);

impl Decode for WaiverList {
    /// Never fails: a value that is not a list is reported and read as empty.
    fn decode(node: &Node, d: &mut Decoder) -> Option<Self> {
        let help = "write each waiver as a list item: `- commit: <full sha>`";
        let Some(items) = list_items(node, d, "waivers", help) else {
            return Some(Self::default());
        };
        Some(Self(
            items
                .iter()
                .filter_map(|item| Waiver::decode(item, d))
                .collect(),
        ))
    }
    fn schema(generator: &mut SchemaGenerator) -> Schema {
        json_schema!({ "type": "array", "items": schema_of::<Waiver>(generator) })
    }
}

/// Text that is not YAML, pointed at where the parser stopped.
pub(super) fn syntax_error(
    err: &serde_saphyr::Error,
    source: &PolicySource,
    file: u16,
) -> PolicyError {
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
    let span = err
        .location()
        .map(|loc| span_at(source, file, loc.line(), loc.column()))
        .unwrap_or(Span {
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

/// The span of the character at a 1-based line and column of the text.
fn span_at(source: &PolicySource, file: u16, line: u64, column: u64) -> Span {
    let line = line.max(1) as usize;
    let column = column.max(1) as usize;
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
}

/// `require:`, which must require something.
pub(super) fn requirements(node: &Node, d: &mut Decoder) -> Option<crate::rules::Requirements> {
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
                crate::rules::ALL
                    .iter()
                    .map(|i| i.name)
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
        );
        return None;
    }
    crate::rules::Requirements::decode(node, d)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::load;

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
        let mut keys = PolicyFile::KEYS.to_vec();
        properties.sort_unstable();
        keys.sort_unstable();
        assert_eq!(properties, keys);
        assert_eq!(schema["required"], serde_json::json!(["version"]));
        assert_eq!(schema["additionalProperties"], false);
        for key in PolicyFile::KEYS {
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
