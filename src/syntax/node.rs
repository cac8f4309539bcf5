//! A YAML document as a tree of spanned nodes.
//!
//! serde stops at the first error, but a policy author wants every mistake at
//! once. So the file is parsed into this tree first, and the typed model is
//! decoded from it by [`super::decode`], which keeps going after an error.
//!
//! The tree is built straight from the YAML parser's events (granit-parser,
//! the parser under serde-saphyr, with the options serde-saphyr gives it).
//! What that builder does not decide the way serde-saphyr would — a syntax
//! error (for serde-saphyr's wording), anchors and aliases, tags, merge
//! keys, a key written twice, more than one document, a plain scalar that
//! may be a number other than a plain decimal, a budget limit approached —
//! is handed to serde-saphyr, so both paths give the same tree and the same
//! errors (`tests` compares them on every policy of the test suite).

use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};

/// Where a value sits in a policy file: file index, byte range, line, column.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Span {
    pub(crate) file: u16,
    pub(crate) offset: u32,
    pub(crate) len: u32,
    /// 1-based line.
    pub(crate) line: u32,
    /// 1-based column.
    pub(crate) column: u32,
}

impl Span {
    pub(crate) fn source_span(&self) -> miette::SourceSpan {
        (self.offset as usize, self.len as usize).into()
    }
}

/// One YAML node.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Value {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    String(String),
    Seq(Vec<Node>),
    Map(Vec<(Node, Node)>),
}

/// A YAML node with the place it was written.
#[derive(Clone, Debug, PartialEq)]
pub struct Node {
    pub(crate) value: Value,
    pub(crate) span: Span,
    /// A `"double-quoted"` scalar: its escapes (`\b`) were decoded by YAML.
    pub(crate) double_quoted: bool,
}

impl Node {
    /// What kind of YAML value this is, for "expected X, found Y" messages.
    pub(crate) fn type_name(&self) -> &'static str {
        match &self.value {
            Value::Null => "null",
            Value::Bool(_) => "a boolean",
            Value::Int(_) => "an integer",
            Value::Float(_) => "a number",
            Value::String(_) => "a string",
            Value::Seq(_) => "a list",
            Value::Map(_) => "a mapping",
        }
    }

    pub(crate) fn as_str(&self) -> Option<&str> {
        match &self.value {
            Value::String(s) => Some(s),
            _ => None,
        }
    }
}

/// Parses `text` (the contents of policy file number `file`) into a node tree.
pub(crate) fn parse(text: &str, file: u16) -> Result<Node, serde_saphyr::Error> {
    match from_events(text, file) {
        Some(node) => Ok(node),
        None => parse_with_serde(text, file),
    }
}

/// serde-saphyr's budget (its defaults), kept well inside: past these the
/// file goes to serde-saphyr, which enforces them.
const MAX_DEPTH: usize = 48;
const MAX_NODES: usize = 200_000;
const MAX_SCALAR_BYTES: usize = 32 << 20;

/// The tree built from the parser's events, or `None` where serde-saphyr
/// must decide (see the module documentation).
fn from_events(text: &str, file: u16) -> Option<Node> {
    use granit_parser::{Event, Parser};
    // What serde-saphyr's default budget gives the parser, so the parser
    // accepts and refuses the same texts.
    let options = granit_parser::options! {
        simple_key_max_lookahead: 1024,
        flow_nesting_limit: 255,
        block_nesting_limit: 255,
        emit_comments: false,
    };
    enum Frame {
        Seq(Vec<Node>, Span),
        Map(Vec<(Node, Node)>, Option<Node>, Span),
    }
    let mut stack: Vec<Frame> = Vec::new();
    let mut root: Option<Node> = None;
    let mut documents = 0;
    let mut nodes = 0usize;
    let mut scalar_bytes = 0usize;
    for item in Parser::new_from_str_with_options(text, options) {
        let (event, span) = item.ok()?;
        let node = match event {
            Event::StreamStart | Event::StreamEnd | Event::DocumentEnd | Event::Comment(..) => {
                continue;
            }
            Event::DocumentStart(..) => {
                documents += 1;
                if documents > 1 {
                    return None;
                }
                continue;
            }
            Event::Scalar(value, style, anchor, tag) => {
                if anchor != 0 || tag.is_some() {
                    return None;
                }
                nodes += 1;
                scalar_bytes += value.len();
                if nodes > MAX_NODES || scalar_bytes > MAX_SCALAR_BYTES {
                    return None;
                }
                let double_quoted = style == granit_parser::ScalarStyle::DoubleQuoted;
                Node {
                    value: resolve(value, style)?,
                    span: span_of(&span, text, file),
                    double_quoted,
                }
            }
            Event::SequenceStart(_, anchor, ref tag) | Event::MappingStart(_, anchor, ref tag) => {
                if anchor != 0 || tag.is_some() || stack.len() >= MAX_DEPTH {
                    return None;
                }
                nodes += 1;
                let at = span_of(&span, text, file);
                stack.push(if matches!(event, Event::MappingStart(..)) {
                    Frame::Map(Vec::new(), None, at)
                } else {
                    Frame::Seq(Vec::new(), at)
                });
                continue;
            }
            Event::SequenceEnd => match stack.pop()? {
                Frame::Seq(items, span) => Node {
                    value: Value::Seq(items),
                    span,
                    double_quoted: false,
                },
                Frame::Map(..) => return None,
            },
            Event::MappingEnd => match stack.pop()? {
                Frame::Map(entries, None, span) if !has_repeated_key(&entries) => Node {
                    value: Value::Map(entries),
                    span,
                    double_quoted: false,
                },
                _ => return None,
            },
            _ => return None,
        };
        match stack.last_mut() {
            None if root.is_none() => root = Some(node),
            None => return None,
            Some(Frame::Seq(items, _)) => items.push(node),
            Some(Frame::Map(_, key @ None, _)) => {
                // Complex keys and merge keys (`<<`) are serde-saphyr's to resolve.
                match &node.value {
                    Value::Seq(_) | Value::Map(_) => return None,
                    Value::String(s) if s == "<<" => return None,
                    _ => *key = Some(node),
                }
            }
            Some(Frame::Map(entries, key, _)) => entries.push((key.take()?, node)),
        }
    }
    if !stack.is_empty() {
        return None;
    }
    root
}

/// A span as serde-saphyr reports it: byte offset and length of the
/// event, 1-based line and column of its start.
fn span_of(span: &granit_parser::Span, text: &str, file: u16) -> Span {
    let (offset, len) = match (span.start.byte_offset(), span.end.byte_offset()) {
        (Some(start), Some(end)) => (start, end.saturating_sub(start)),
        _ => (0, 0),
    };
    finish_span(
        offset,
        len,
        span.start.line(),
        span.start.col() + 1,
        text,
        file,
    )
}

fn finish_span(
    offset: usize,
    mut len: usize,
    line: usize,
    column: usize,
    text: &str,
    file: u16,
) -> Span {
    // Collections carry only their opening position; label the first line.
    if len == 0 {
        let rest = text.get(offset..).unwrap_or("");
        len = rest.find('\n').unwrap_or(rest.len()).max(1).min(rest.len());
    }
    Span {
        file,
        offset: offset as u32,
        len: len as u32,
        line: line as u32,
        column: column as u32,
    }
}

/// A scalar's value under the YAML 1.2 core schema, as serde-saphyr
/// resolves it with `strict_booleans`; `None` for a plain scalar that may be
/// a number in another form (`0x1F`, `1e3`, `-5`, `.5`, `1_000`).
fn resolve(value: std::borrow::Cow<'_, str>, style: granit_parser::ScalarStyle) -> Option<Value> {
    if style != granit_parser::ScalarStyle::Plain {
        return Some(Value::String(value.into_owned()));
    }
    Some(match value.as_ref() {
        "" | "~" | "null" | "Null" | "NULL" => Value::Null,
        "true" | "True" | "TRUE" => Value::Bool(true),
        "false" | "False" | "FALSE" => Value::Bool(false),
        text => {
            let bytes = text.as_bytes();
            match bytes[0] {
                b'0'..=b'9' => {
                    let decimal =
                        bytes.iter().all(u8::is_ascii_digit) && (text == "0" || bytes[0] != b'0');
                    return decimal.then(|| text.parse().ok().map(Value::Int)).flatten();
                }
                b'+' | b'-' => return None,
                // `.5` is a number and `.inf` / `.nan` are numbers; `.github/**` is not.
                b'.' if bytes.get(1).is_none_or(|b| {
                    b.is_ascii_digit() || matches!(b, b'i' | b'I' | b'n' | b'N')
                }) =>
                {
                    return None;
                }
                _ => Value::String(value.into_owned()),
            }
        }
    })
}

/// Whether a mapping has two keys that are, or may be, the same (what
/// serde-saphyr reports as a duplicate key, with its own wording).
fn has_repeated_key(entries: &[(Node, Node)]) -> bool {
    fn text(node: &Node) -> String {
        match &node.value {
            Value::String(s) => s.clone(),
            Value::Int(i) => i.to_string(),
            Value::Bool(b) => b.to_string(),
            Value::Null => String::new(),
            _ => String::from("\u{0}"),
        }
    }
    let mut seen = std::collections::HashSet::with_capacity(entries.len());
    entries.iter().any(|(key, _)| !seen.insert(text(key)))
}

/// The tree through serde-saphyr: what [`from_events`] leaves to it.
fn parse_with_serde(text: &str, file: u16) -> Result<Node, serde_saphyr::Error> {
    // YAML 1.2 booleans: `on:` is a key here, not `true`.
    let options = serde_saphyr::options! { strict_booleans: true, with_snippet: false };
    let raw: serde_saphyr::Spanned<RawValue> = serde_saphyr::from_str_with_options(text, options)?;
    Ok(convert(raw, text, file))
}

/// The tree as serde-saphyr hands it over, before spans are resolved.
enum RawValue {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    String(String),
    Seq(Vec<serde_saphyr::Spanned<RawValue>>),
    Map(
        Vec<(
            serde_saphyr::Spanned<RawValue>,
            serde_saphyr::Spanned<RawValue>,
        )>,
    ),
}

fn convert(raw: serde_saphyr::Spanned<RawValue>, text: &str, file: u16) -> Node {
    let location = raw.referenced;
    let span = location.span();
    let offset = span.byte_offset().unwrap_or(0) as usize;
    let len = span.byte_len().unwrap_or(0) as usize;
    let value = match raw.value {
        RawValue::Null => Value::Null,
        RawValue::Bool(b) => Value::Bool(b),
        RawValue::Int(i) => Value::Int(i),
        RawValue::Float(f) => Value::Float(f),
        RawValue::String(s) => Value::String(s),
        RawValue::Seq(items) => Value::Seq(
            items
                .into_iter()
                .map(|item| convert(item, text, file))
                .collect(),
        ),
        RawValue::Map(entries) => Value::Map(
            entries
                .into_iter()
                .map(|(k, v)| (convert(k, text, file), convert(v, text, file)))
                .collect(),
        ),
    };
    let double_quoted =
        matches!(value, Value::String(_)) && text.as_bytes().get(offset) == Some(&b'"');
    Node {
        value,
        double_quoted,
        span: finish_span(
            offset,
            len,
            location.line() as usize,
            location.column() as usize,
            text,
            file,
        ),
    }
}

impl<'de> Deserialize<'de> for RawValue {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(RawVisitor)
    }
}

struct RawVisitor;

impl<'de> Visitor<'de> for RawVisitor {
    type Value = RawValue;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any YAML value")
    }
    fn visit_unit<E>(self) -> Result<RawValue, E> {
        Ok(RawValue::Null)
    }
    fn visit_none<E>(self) -> Result<RawValue, E> {
        Ok(RawValue::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<RawValue, D::Error> {
        RawValue::deserialize(d)
    }
    fn visit_bool<E>(self, v: bool) -> Result<RawValue, E> {
        Ok(RawValue::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<RawValue, E> {
        Ok(RawValue::Int(v))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<RawValue, E> {
        i64::try_from(v)
            .map(RawValue::Int)
            .or(Ok(RawValue::Float(v as f64)))
    }
    fn visit_f64<E>(self, v: f64) -> Result<RawValue, E> {
        Ok(RawValue::Float(v))
    }
    fn visit_str<E>(self, v: &str) -> Result<RawValue, E> {
        Ok(RawValue::String(v.to_owned()))
    }
    fn visit_string<E>(self, v: String) -> Result<RawValue, E> {
        Ok(RawValue::String(v))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<RawValue, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(RawValue::Seq(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RawValue, A::Error> {
        let mut entries = Vec::new();
        while let Some(key) = map.next_key()? {
            let value = map.next_value()?;
            entries.push((key, value));
        }
        Ok(RawValue::Map(entries))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_point_at_values() {
        let text = "version: 1\nrules:\n  - id: 'a b'\n    on: [commit]\n";
        let node = parse(text, 0).unwrap();
        let Value::Map(entries) = &node.value else {
            panic!("{node:?}")
        };
        let (_, rules) = &entries[1];
        let Value::Seq(items) = &rules.value else {
            panic!()
        };
        let Value::Map(rule) = &items[0].value else {
            panic!()
        };
        let (key, id) = &rule[0];
        assert_eq!(
            text.get(key.span.offset as usize..(key.span.offset + key.span.len) as usize),
            Some("id")
        );
        assert_eq!(
            text.get(id.span.offset as usize..(id.span.offset + id.span.len) as usize),
            Some("'a b'")
        );
        assert_eq!((id.span.line, id.span.column), (3, 9));
        let (on, _) = &rule[1];
        assert_eq!(on.as_str(), Some("on"), "`on` must stay a string key");
    }

    /// Every `*.yml` under `dir`, recursively.
    fn yaml_files(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                yaml_files(&path, out);
            } else if path.extension().is_some_and(|e| e == "yml" || e == "yaml") {
                out.push(path);
            }
        }
    }

    /// The tree built from events is the tree serde-saphyr builds, spans
    /// included; where the builder declines, serde-saphyr decides.
    fn same_tree(text: &str) -> bool {
        let Some(fast) = from_events(text, 3) else {
            return false;
        };
        match parse_with_serde(text, 3) {
            Ok(slow) => assert_eq!(fast, slow, "{text:?}"),
            Err(e) => panic!("serde-saphyr refuses what the builder accepts: {e}\n{text}"),
        }
        true
    }

    #[test]
    fn the_event_tree_is_serde_saphyrs_tree_on_every_policy_of_the_suite() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut files = Vec::new();
        for dir in ["fixtures", "policies", "bench", "docs"] {
            yaml_files(&root.join(dir), &mut files);
        }
        assert!(files.len() > 50, "{}", files.len());
        let mut declined = Vec::new();
        for path in &files {
            let text = std::fs::read_to_string(path).unwrap();
            if !same_tree(&text) {
                declined.push(path.strip_prefix(root).unwrap().display().to_string());
            }
        }
        // Only invalid policies are left to serde-saphyr (syntax errors, keys
        // twice…), and the pack's release fixtures (facts, not policies:
        // `version: 1.3.0` may be a number as far as the builder knows).
        let unexpected: Vec<&String> = declined
            .iter()
            .filter(|p| {
                !p.starts_with("fixtures/policies/invalid/")
                    && !((p.starts_with("fixtures/pack/")
                        || p.starts_with("fixtures/pack-api/")
                        || (p.starts_with("fixtures/requirements/")
                            && !p.ends_with("/policy.yml")))
                        && (p.contains("release") || p.contains("incident")))
            })
            .collect();
        assert!(files.len() - declined.len() > 60, "{declined:?}");
        assert!(unexpected.is_empty(), "{unexpected:?}");
        assert!(same_tree(crate::policy::BUILTIN_TEXT));
    }

    #[test]
    fn scalars_resolve_as_serde_saphyr_resolves_them() {
        let scalars = [
            "a",
            "on",
            "off",
            "yes",
            "y",
            "true",
            "True",
            "TRUE",
            "tRue",
            "false",
            "null",
            "Null",
            "NULL",
            "~",
            "",
            "0",
            "1",
            "12",
            "007",
            "0x1F",
            "0o17",
            "1_000",
            "1.5",
            "1e3",
            ".5",
            ".inf",
            "-.inf",
            ".nan",
            ".NaN",
            "-1",
            "+1",
            "-",
            "+",
            ".",
            "..",
            ".github/**",
            "9223372036854775807",
            "9223372036854775808",
            "2fa",
            "'1'",
            "\"true\"",
            "inf",
            "nan",
            "Infinity",
            "[]",
            "{}",
            "[a, 1, true]",
            "{a: 1, b: [x]}",
            "|\n  text\n",
            ">\n  folded\n",
            "a b c",
            "é",
            "'é'",
            "\"\\u00e9\"",
            "1:2",
            "a: b",
        ];
        for scalar in scalars {
            for text in [
                format!("k: {scalar}\n"),
                format!("- {scalar}\n"),
                format!("{scalar}\n"),
            ] {
                if from_events(&text, 0).is_some() {
                    same_tree(&text);
                } else {
                    // Declined: serde-saphyr decides (a number, an error…).
                    let _ = parse_with_serde(&text, 0);
                }
            }
        }
        for plain in ["a", "on", "true", "null", "12", ".github/**", "é"] {
            assert!(
                same_tree(&format!("k: {plain}\n")),
                "{plain} is decided from events"
            );
        }
    }

    #[test]
    fn what_the_builder_leaves_to_serde_saphyr() {
        for text in [
            "a: 1\na: 2\n",       // a key written twice: serde-saphyr's error
            "a: &x 1\nb: *x\n",   // anchors and aliases
            "a: !!str 1\n",       // tags
            "<<: {a: 1}\nb: 2\n", // merge keys
            "a: 1\n---\nb: 2\n",  // two documents
            "a: [1\n",            // a syntax error: serde-saphyr words it
            "? [a]\n: 1\n",       // a complex key
            "",                   // no document
        ] {
            assert!(from_events(text, 0).is_none(), "{text:?}");
        }
        assert!(same_tree(
            "version: 1\nrules:\n  - id: a\n    on: [commit]\n"
        ));
    }
}
