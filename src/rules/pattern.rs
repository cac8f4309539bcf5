//! Shared by `title`, `branch` and `message`: text must match / must not match.

use crate::policy::ErrorCode;
use crate::policy::{Decoder, Fields, Node, Patterns, PolicyError, Spanned};

use super::Violation;

pub fn patterns(
    fields: &Fields<'_>,
    key: &str,
    d: &mut Decoder,
    ok: &mut bool,
) -> Option<Patterns> {
    let node = fields.get(key)?;
    match d.patterns(node) {
        Some(p) => Some(Patterns(p)),
        None => {
            *ok = false;
            None
        }
    }
}

/// Checks `text` against `pattern` (any must match) and `forbid` (none may).
pub fn check(
    what: &str,
    text: &str,
    pattern: Option<&Patterns>,
    forbid: Option<&Patterns>,
    help: Option<&Spanned<String>>,
    out: &mut Vec<Violation>,
) {
    let custom = help.map(|h| h.value.clone());
    // Quote the first line, capped: a message can be long, a subject huge.
    let shown = crate::facts::shown_subject(crate::facts::subject_of(text));
    if let Some(pattern) = pattern
        && !pattern.any_match(text)
    {
        let sources: Vec<String> = pattern
            .0
            .iter()
            .map(|p| format!("`{}`", p.source.value))
            .collect();
        out.push(
            Violation::new(format!(
                "{what} `{shown}` does not match the required pattern"
            ))
            .help(
                custom
                    .clone()
                    .unwrap_or_else(|| format!("make it match {}", sources.join(" or "))),
            ),
        );
    }
    if let Some(forbid) = forbid
        && let Some(p) = forbid.0.iter().find(|p| p.is_match(text))
    {
        out.push(
            Violation::new(format!(
                "{what} `{shown}` matches the forbidden pattern `{}`",
                p.source.value
            ))
            .help(custom.unwrap_or_else(|| String::from("change it so it no longer matches"))),
        );
    }
}

/// `pattern`, `forbid` and `help`, as decoded by [`decode_match`].
pub type Match = (Option<Patterns>, Option<Patterns>, Option<Spanned<String>>);

/// `{ pattern, forbid, help }` as `title` and `branch` take it; one of the
/// first two is required.
pub fn decode_match(node: &Node, d: &mut Decoder, what: &str) -> Option<Match> {
    let label = format!("`{what}`");
    let fields = d.fields(node, &label, &["pattern", "forbid", "help"])?;
    let mut ok = true;
    let pattern = patterns(&fields, "pattern", d, &mut ok);
    let forbid = patterns(&fields, "forbid", d, &mut ok);
    let help = fields.get("help").and_then(|n| d.string(n));
    if ok && pattern.is_none() && forbid.is_none() {
        d.error(
            PolicyError::at(
                ErrorCode::EmptyRequirement,
                fields.span(),
                format!("`{what}` needs `pattern` or `forbid`"),
            )
            .help("add `pattern: '<regex>'`"),
        );
        ok = false;
    }
    ok.then_some((pattern, forbid, help))
}
