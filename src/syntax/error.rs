//! Errors found in policy files. Plain data: `report` turns them into miette
//! diagnostics with the file's source.

use super::node::Span;

/// One problem in a policy file, with the place it points at.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PolicyError {
    /// Stable code, e.g. `policy::unknown-key`: an [`ErrorCode`]'s text.
    pub code: &'static str,
    /// What is wrong.
    pub message: String,
    /// The text under the label in the snippet.
    pub(crate) label: String,
    /// How to fix it.
    pub(crate) help: Option<String>,
    /// Where. `None` for problems about no particular place (no policy found).
    pub(crate) span: Option<Span>,
}

impl PolicyError {
    pub(crate) fn at(code: ErrorCode, span: Span, message: impl Into<String>) -> Self {
        let message = message.into();
        Self {
            code: code.as_str(),
            label: String::from("here"),
            message,
            help: None,
            span: Some(span),
        }
    }

    pub(crate) fn label(mut self, label: impl Into<String>) -> Self {
        self.label = label.into();
        self
    }

    pub(crate) fn help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }
}

macro_rules! error_codes {
    ($($variant:ident => $code:literal, $summary:literal,)*) => {
        /// Every kind of policy error, with a stable code (`policy::…`) that
        /// reports carry and `git-policy explain` lists.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum ErrorCode {
            $( #[doc = $summary] $variant, )*
        }

        impl ErrorCode {
            pub const ALL: &'static [ErrorCode] = &[$(Self::$variant),*];

            /// The stable code, e.g. `policy::unknown-key`.
            pub fn as_str(self) -> &'static str {
                match self {
                    $( Self::$variant => concat!("policy::", $code), )*
                }
            }

            /// What the error means, in one line.
            pub(crate) fn summary(self) -> &'static str {
                match self {
                    $( Self::$variant => $summary, )*
                }
            }
        }
    };
}

error_codes! {
    BranchNotAlwaysKnown => "branch-not-always-known", "A commit rule that reads the commit's branch, which `check commits` without --branch and the audit without the commit's pull request do not know (a `validate` warning, not an error).",
    ConflictingKeys => "conflicting-keys", "Two keys that exclude each other are both set.",
    DuplicateDefinition => "duplicate-definition", "A tracker, team, path set or kind is defined twice (in one file or across merged files).",
    DuplicateRuleId => "duplicate-rule-id", "Two rules share an id.",
    DuplicateWaiver => "duplicate-waiver", "Two waivers exempt the same commit, pull request or ticket from the same rule.",
    Empty => "empty", "A value that must say something is empty.",
    EmptyCondition => "empty-condition", "A `when` / `unless` with nothing to test.",
    EmptyFile => "empty-file", "A policy file with nothing in it.",
    EmptyKind => "empty-kind", "A kind with no signal (labels, branches or title).",
    EmptyPathSet => "empty-path-set", "A path set that can match nothing.",
    EmptyRequire => "empty-require", "A rule whose `require` holds no requirement.",
    EmptyRequirement => "empty-requirement", "A requirement whose options ask for nothing.",
    EmptyTeam => "empty-team", "A team with neither members nor a GitHub team.",
    ExpiredWaiver => "expired-waiver", "A waiver past its `expires` date: it waives nothing any more (a warning, not an error).",
    ExampleMismatch => "example-mismatch", "A tracker's `example` that its own pattern does not match.",
    ExpeditedNotGranted => "expedited-not-granted", "An expedited path that no team grants, or given as a bare list of labels.",
    FreshPathsWithoutPaths => "fresh-paths-without-paths", "`fresh: paths` on an approval whose rule names no paths.",
    GlobSetTooLarge => "glob-set-too-large", "A set of globs too large or complex to compile into one matcher (never a set that matches nothing).",
    InvalidGlob => "invalid-glob", "A glob that does not parse, or is too long.",
    InvalidId => "invalid-id", "A rule id that is not kebab-case.",
    InvalidRegex => "invalid-regex", "A regular expression that does not compile.",
    InvalidValue => "invalid-value", "A value out of its allowed range.",
    MissingKey => "missing-key", "A key that must be present is missing.",
    MissingVersion => "missing-version", "A policy file without `version:`.",
    NoCommonSubject => "no-common-subject", "A rule whose requirements share no subject.",
    NoIncidentTracker => "no-incident-tracker", "Incident checks without a tracker marked `incident: true`.",
    NoTrackers => "no-trackers", "Ticket checks in a policy that defines no tracker.",
    NoTrackerApi => "no-tracker-api", "Ticket checks that need a tracker's API (`exists`, `projects`, `types`, `status`, `fields`, a kind's `ticket_types`) where no tracker they name has an `api:`.",
    PlaceNotOnSubject => "place-not-on-subject", "A `ticket` place (`in:`) that one of the rule's subjects does not have (a `validate` warning, not an error).",
    RequirementNotOnSubject => "requirement-not-on-subject", "A requirement on a subject it cannot judge (`on:`).",
    TooManyFiles => "too-many-files", "A policy made of more files than git-policy reads.",
    TrackerAcceptsNonTickets => "tracker-accepts-non-tickets", "A tracker pattern that takes common non-tickets (`UTF-8`, `SHA-256`, `CVE-2025-1234`, `ISO-8601`, `X-1`) for tickets (a `validate` warning, not an error).",
    UndefinedName => "undefined-name", "A team, path set, kind, tracker or (in a waiver) rule name that is not defined.",
    UnknownKey => "unknown-key", "A key the mapping does not take (with a \"did you mean\").",
    UnknownPlaceholder => "unknown-placeholder", "A `{…}` in a release page's path or headings other than `{version}`, which the audit cannot fill in.",
    UnknownValue => "unknown-value", "A value that is not one of the allowed names.",
    UnusedDefinition => "unused-definition", "A tracker, team, path set or kind that no rule uses (a `validate` warning, not an error).",
    UnsupportedVersion => "unsupported-version", "A `version:` this build does not read.",
    WaiverNeverApplies => "waiver-never-applies", "A waiver naming a rule that can never judge what it waives (a commit rule for a ticket, a release rule for a commit).",
    WrongType => "wrong-type", "A value of the wrong YAML type.",
    YamlEscapeInPattern => "yaml-escape-in-pattern", "A double-quoted pattern whose backslash escapes YAML consumed (`\\b` became a backspace); single quotes keep them.",
    YamlSyntax => "yaml-syntax", "The file is not valid YAML.",
}

#[cfg(test)]
impl ErrorCode {
    fn parse(code: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|c| c.as_str() == code)
    }
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
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
        ErrorCode::UndefinedName,
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
    fn every_code_is_unique_and_parses_back() {
        let mut seen = std::collections::BTreeSet::new();
        for code in ErrorCode::ALL {
            assert!(seen.insert(code.as_str()), "{code} twice");
            assert_eq!(ErrorCode::parse(code.as_str()), Some(*code));
            assert!(!code.summary().is_empty());
        }
    }

    #[test]
    fn suggests_close_names_only() {
        assert_eq!(
            did_you_mean("requre", ["require", "rules"]),
            Some("require")
        );
        assert_eq!(did_you_mean("zzz", ["require", "rules"]), None);
    }
}
