//! Shared by `title`, `branch` and `message`: text must match / must not match.

use crate::syntax::ErrorCode;
use crate::syntax::{Patterns, PolicyError, Spanned, Table};

use super::Violation;

/// `{what}` needs `pattern` or `forbid` (the check of `title` and `branch`).
pub(crate) fn needs_a_pattern(
    what: &str,
    has_one: bool,
    table: &Table<'_>,
) -> Result<(), PolicyError> {
    if has_one {
        return Ok(());
    }
    Err(PolicyError::at(
        ErrorCode::EmptyRequirement,
        table.span(),
        format!("`{what}` needs `pattern` or `forbid`"),
    )
    .help("add `pattern: '<regex>'`"))
}

/// Checks `text` against `pattern` (any must match) and `forbid` (none may).
pub(crate) fn check(
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
