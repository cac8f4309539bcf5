//! A YAML document as a tree of spanned nodes.
//!
//! serde stops at the first error, but a policy author wants every mistake at
//! once. So the file is parsed (by serde-saphyr, which knows every position)
//! into this tree first, and the typed model is decoded from it by
//! [`super::decode`], which keeps going after an error.

use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};

/// Where a value sits in a policy file: file index, byte range, line, column.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Span {
    pub file: u16,
    pub offset: u32,
    pub len: u32,
    /// 1-based line.
    pub line: u32,
    /// 1-based column.
    pub column: u32,
}

impl Span {
    pub fn source_span(&self) -> miette::SourceSpan {
        (self.offset as usize, self.len as usize).into()
    }
}

/// One YAML node.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
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
    pub value: Value,
    pub span: Span,
    /// A `"double-quoted"` scalar: its escapes (`\b`) were decoded by YAML.
    pub double_quoted: bool,
}

impl Node {
    /// What kind of YAML value this is, for "expected X, found Y" messages.
    pub fn type_name(&self) -> &'static str {
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

    pub fn as_str(&self) -> Option<&str> {
        match &self.value {
            Value::String(s) => Some(s),
            _ => None,
        }
    }
}

/// Parses `text` (the contents of policy file number `file`) into a node tree.
pub fn parse(text: &str, file: u16) -> Result<Node, serde_saphyr::Error> {
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
    let mut len = span.byte_len().unwrap_or(0) as usize;
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
    // Collections carry only their opening position; label the first line.
    if len == 0 {
        let rest = text.get(offset..).unwrap_or("");
        len = rest.find('\n').unwrap_or(rest.len()).max(1).min(rest.len());
    }
    let double_quoted =
        matches!(value, Value::String(_)) && text.as_bytes().get(offset) == Some(&b'"');
    Node {
        value,
        double_quoted,
        span: Span {
            file,
            offset: offset as u32,
            len: len as u32,
            line: location.line() as u32,
            column: location.column() as u32,
        },
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
            &text[key.span.offset as usize..][..key.span.len as usize],
            "id"
        );
        assert_eq!(
            &text[id.span.offset as usize..][..id.span.len as usize],
            "'a b'"
        );
        assert_eq!((id.span.line, id.span.column), (3, 9));
        let (on, _) = &rule[1];
        assert_eq!(on.as_str(), Some("on"), "`on` must stay a string key");
    }
}
