//! Errors found in policy files. Plain data: `report` turns them into miette
//! diagnostics with the file's source.

use super::node::Span;

/// One problem in a policy file, with the place it points at.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PolicyError {
    /// Stable code, e.g. `policy::unknown-key`.
    pub code: &'static str,
    /// What is wrong.
    pub message: String,
    /// The text under the label in the snippet.
    pub label: String,
    /// How to fix it.
    pub help: Option<String>,
    /// Where. `None` for problems about no particular place (no policy found).
    pub span: Option<Span>,
}

impl PolicyError {
    pub fn at(code: &'static str, span: Span, message: impl Into<String>) -> Self {
        let message = message.into();
        Self {
            code,
            label: String::from("here"),
            message,
            help: None,
            span: Some(span),
        }
    }

    pub fn label(mut self, label: impl Into<String>) -> Self {
        self.label = label.into();
        self
    }

    pub fn help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }
}

/// The closest candidate to `word`, when it is close enough to be a likely typo.
pub fn did_you_mean<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    candidates
        .into_iter()
        .map(|c| (strsim::jaro_winkler(word, c), c))
        .filter(|(score, _)| *score > 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c)
}

/// "undefined kind `bugs`" on a name that refers to a definition under
/// `section:` (`kinds`, `paths`, `tickets`, `teams`), suggesting a close one.
pub fn undefined_name<'a>(
    what: &str,
    section: &str,
    name: &super::Spanned<String>,
    defined: impl Iterator<Item = &'a str> + Clone,
    how_to_define: &str,
) -> PolicyError {
    let error = PolicyError::at(
        "policy::undefined-name",
        name.span,
        format!("undefined {what} `{}`", name.value),
    )
    .label(format!("no {what} of this name under `{section}:`"));
    match did_you_mean(&name.value, defined.clone()) {
        Some(close) => error.help(format!("did you mean `{close}`?")),
        None => {
            let known: Vec<&str> = defined.collect();
            if known.is_empty() {
                error.help(how_to_define.to_owned())
            } else {
                error.help(format!("{how_to_define}; defined: {}", known.join(", ")))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_close_names_only() {
        assert_eq!(
            did_you_mean("requre", ["require", "rules"]),
            Some("require")
        );
        assert_eq!(did_you_mean("zzz", ["require", "rules"]), None);
    }
}
