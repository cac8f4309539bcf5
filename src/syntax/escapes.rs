//! Patterns whose backslashes YAML consumed: in a `"double-quoted"` scalar,
//! `"\bEPL-[0-9]+\b"` is a backspace, not a word boundary, and the regex
//! then matches nothing anyone writes. Refused, with the single-quoted fix.

use super::error::{ErrorCode, PolicyError};
use super::node::Node;

/// The error for a double-quoted pattern holding a character only a YAML
/// escape can have put there, where the author almost surely meant a regex
/// escape. Tab, line feed and carriage return are left alone: `"\t"` and
/// `'\t'` match the same text.
pub(crate) fn trap(node: &Node, value: &str) -> Option<PolicyError> {
    if !node.double_quoted {
        return None;
    }
    let escape = value.chars().find_map(yaml_escape)?;
    let fixed = single_quoted(value);
    let meaning = match escape.as_str() {
        "\\b" => " (a backspace, where the regex meant a word boundary)",
        _ => "",
    };
    Some(
        PolicyError::at(
            ErrorCode::YamlEscapeInPattern,
            node.span,
            format!(
                "this double-quoted pattern holds `{escape}` as decoded by YAML{meaning}, not the regex escape",
            ),
        )
        .label("YAML consumed the backslash here")
        .help(format!(
            "write the pattern in single quotes, which keep backslashes as written: {fixed}"
        )),
    )
}

/// The escape a double-quoted YAML scalar writes for `c`, when `c` is a
/// character nobody types into a pattern any other way.
fn yaml_escape(c: char) -> Option<String> {
    Some(String::from(match c {
        '\u{0}' => "\\0",
        '\u{7}' => "\\a",
        '\u{8}' => "\\b",
        '\u{b}' => "\\v",
        '\u{c}' => "\\f",
        '\u{1b}' => "\\e",
        '\u{85}' => "\\N",
        '\u{2028}' => "\\L",
        '\u{2029}' => "\\P",
        c if c.is_control() && !matches!(c, '\t' | '\n' | '\r') => {
            return Some(format!("\\x{{{:x}}}", c as u32));
        }
        _ => return None,
    }))
}

/// The pattern as the author meant it, in single quotes.
fn single_quoted(value: &str) -> String {
    let mut out = String::from("'");
    for c in value.chars() {
        match c {
            '\'' => out.push_str("''"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            c => match yaml_escape(c) {
                Some(escape) => out.push_str(&escape),
                None => out.push(c),
            },
        }
    }
    out.push('\'');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::syntax::node::Value;
    use crate::syntax::node::parse;

    fn scalar(yaml: &str) -> Node {
        let root = parse(&format!("p: {yaml}\n"), 0).unwrap();
        let Value::Map(entries) = root.value else {
            panic!()
        };
        entries.into_iter().next().unwrap().1
    }

    #[test]
    fn a_double_quoted_word_boundary_is_a_backspace_and_refused() {
        let node = scalar(r#""\bAB#[0-9]+\b""#);
        assert!(node.double_quoted);
        let value = node.as_str().unwrap().to_owned();
        assert_eq!(value, "\u{8}AB#[0-9]+\u{8}");
        let error = trap(&node, &value).expect("a trap");
        assert_eq!(error.code, "policy::yaml-escape-in-pattern");
        assert!(error.message.contains("backspace"), "{}", error.message);
        assert_eq!(
            error.help.as_deref(),
            Some(
                r"write the pattern in single quotes, which keep backslashes as written: '\bAB#[0-9]+\b'"
            )
        );
    }

    #[test]
    fn single_quoted_plain_and_harmless_double_quoted_patterns_pass() {
        for yaml in [
            r"'\bAB#[0-9]+\b'",
            r"\bAB#[0-9]+\b",
            r#""\\bAB#[0-9]+\\b""#,
            r#""^feat\t""#,
            r#""it's""#,
        ] {
            let node = scalar(yaml);
            let value = node.as_str().unwrap().to_owned();
            assert!(trap(&node, &value).is_none(), "{yaml}");
        }
        assert!(!scalar(r"'\b'").double_quoted);
    }

    #[test]
    fn every_consumed_escape_is_named_and_restored() {
        for (yaml, escape) in [
            (r#""\aX""#, r"\a"),
            (r#""\eX""#, r"\e"),
            (r#""\fX""#, r"\f"),
            (r#""\vX""#, r"\v"),
            (r#""\0X""#, r"\0"),
            (r#""\PX""#, r"\P"),
        ] {
            let node = scalar(yaml);
            let value = node.as_str().unwrap().to_owned();
            let error = trap(&node, &value).unwrap_or_else(|| panic!("{yaml}"));
            assert!(error.message.contains(escape), "{}", error.message);
            assert!(
                error.help.unwrap().ends_with(&format!("'{escape}X'")),
                "{yaml}"
            );
        }
    }
}
