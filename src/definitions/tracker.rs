//! Ticket trackers: what a reference to a ticket looks like, and the near
//! misses (`epl-12`, `EPL 12`) that are reported as hints. Shared by the
//! requirements that look for tickets.

use regex::Regex;

use crate::syntax::{Pattern, Spanned, non_empty, options};

options! {
    /// A ticket tracker: what a reference to one of its tickets looks like.
    #[options(what = "a tracker")]
    #[derive(Clone, Debug)]
    pub struct Tracker {
        /// Regex matching one ticket id, e.g. `\b(EPL|SCP)-[0-9]+\b`. Its `\d`, `\w` and `\s` are ASCII (`EPL-١٢٣` is no ticket); `\p{…}` classes are kept as written.
        pub pattern: Pattern => required,
        /// Link template for reports; `{id}` is replaced by the ticket id.
        pub url: Option<Spanned<String>> => with(non_empty),
        /// A sample id shown in help messages, e.g. `EPL-123`.
        pub example: Option<Spanned<String>> => with(non_empty),
        /// Tickets of this tracker are incidents (used by the release audit).
        pub incident: bool,
        ;
        /// A looser form of `pattern` that finds near misses (`epl-12`, `EPL 12`),
        /// compiled on first use: only a failing check needs it.
        pub near_miss: std::sync::OnceLock<Option<Regex>> = std::sync::OnceLock::new(),
    }
}

impl Tracker {
    pub fn near_miss(&self) -> Option<&Regex> {
        self.near_miss
            .get_or_init(|| near_miss_pattern(&self.pattern.source.value))
            .as_ref()
    }
}

/// Text that nearly matches a tracker: `(place, text, corrected form if it then matches)`.
pub fn near_misses(
    texts: &[(&str, &str)],
    trackers: &[(&str, &Tracker)],
) -> Vec<(String, String, Option<String>)> {
    let mut out = Vec::new();
    for (place, text) in texts {
        for (_, tracker) in trackers {
            let Some(loose) = tracker.near_miss() else {
                continue;
            };
            for m in loose.find_iter(text) {
                let candidate = m.as_str();
                if tracker.pattern.is_match(candidate) {
                    continue;
                }
                let fixed: String = candidate
                    .chars()
                    .map(|c| {
                        if c == ' ' || c == '_' {
                            '-'
                        } else {
                            c.to_ascii_uppercase()
                        }
                    })
                    .collect();
                let fixed = tracker.pattern.is_match(&fixed).then_some(fixed);
                out.push((place.to_string(), candidate.to_owned(), fixed));
            }
        }
    }
    out
}

/// A looser form of a tracker pattern: any case, and `-` may be a space or `_`.
/// Built from the pattern text; `None` when the result does not compile.
pub fn near_miss_pattern(pattern: &str) -> Option<regex::Regex> {
    let mut loose = String::with_capacity(pattern.len() + 8);
    let mut in_class = false;
    let mut escaped = false;
    for c in pattern.chars() {
        if escaped {
            loose.push(c);
            escaped = false;
            continue;
        }
        match c {
            '\\' => {
                escaped = true;
                loose.push(c);
            }
            '[' => {
                in_class = true;
                loose.push(c);
            }
            ']' => {
                in_class = false;
                loose.push(c);
            }
            '-' if !in_class => loose.push_str("[-_ ]"),
            _ => loose.push(c),
        }
    }
    regex::RegexBuilder::new(&loose)
        .case_insensitive(true)
        .build()
        .ok()
}
