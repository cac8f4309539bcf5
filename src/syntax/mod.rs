//! The leaf of the policy model: where things are written (spans, the
//! node tree), the errors that point at them, and the decoding machinery
//! every policy type is described with ([`Decode`], [`Table`], `options!`,
//! `names!`); the written values shared by all (strings, patterns, globs,
//! levels). Imports neither `policy` nor `rules`.

pub(crate) mod decode;
mod error;
mod escapes;
pub mod node;
mod table;

use std::borrow::Cow;

use globset::GlobSet;
use regex::Regex;
use schemars::{JsonSchema, Schema, SchemaGenerator};

pub use decode::{Decoder, Fields, glob, glob_set};
pub use error::{ErrorCode, PolicyError, did_you_mean, undefined_name};
pub use node::{Node, Span};
pub use table::{
    Check, Constraint, Decode, Field, Key, Named, Shorthand, Spec, Table, TableConstraint,
    TrueForDefaults, at_least_one, branch_globs, doc_text, key_names, keys_schema, non_empty,
    non_empty_list, schema_of, some_string, unknown_name,
};
pub(crate) use table::{names, options};

/// A value with the place it was written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Spanned<T> {
    pub value: T,
    pub(crate) span: Span,
}

impl<T> Spanned<T> {
    pub(crate) fn new(value: T, span: Span) -> Self {
        Self { value, span }
    }
}

impl<T> std::ops::Deref for Spanned<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.value
    }
}

impl<T: JsonSchema> JsonSchema for Spanned<T> {
    fn inline_schema() -> bool {
        T::inline_schema()
    }
    fn schema_name() -> Cow<'static, str> {
        T::schema_name()
    }
    fn schema_id() -> Cow<'static, str> {
        T::schema_id()
    }
    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        T::json_schema(generator)
    }
}

/// How many texts a compiled regex will search: the engine it is built
/// with, never what it matches (every configuration of the regex crate's
/// engine finds the same matches).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Haystacks {
    /// Many, or long ones (a history, a pull request): the full engine, with
    /// its literal prefilter and lazy DFA.
    Many,
    /// One short text (a hook's message or branch name): built without the
    /// prefilter and the lazy DFA, which cost more to build than they save
    /// on one short text.
    One,
}

/// A regular expression with its source text. Its syntax is checked when
/// the policy loads; it is compiled on first use, or by [`Policy::prepare`](crate::policy::Policy::prepare)
/// for the rules that apply to a subject (a compile failure there is a
/// policy error, exit 2, never a pattern that matches nothing).
#[derive(Clone, Debug)]
pub struct Pattern {
    pub(crate) source: Spanned<String>,
    /// What is compiled when it is not the source: a tracker's pattern with
    /// its Perl classes made ASCII ([`Pattern::with_ascii_classes`]).
    effective: Option<std::sync::Arc<str>>,
    pub(crate) compiled: std::sync::Arc<std::sync::OnceLock<Regex>>,
    /// Built for one short text ([`Haystacks::One`]); matching uses it when set.
    one: std::sync::Arc<std::sync::OnceLock<regex_automata::meta::Regex>>,
}

impl Pattern {
    /// A pattern whose syntax has been checked ([`Decoder::pattern`]).
    pub(crate) fn new(source: Spanned<String>) -> Pattern {
        Pattern {
            source,
            effective: None,
            compiled: Default::default(),
            one: Default::default(),
        }
    }

    /// The pattern with `\d`, `\w`, `\s` (and their negations, also inside
    /// `[...]`) meaning ASCII digits, word characters and spaces, as they do
    /// in most regex dialects, instead of the Rust regex crate's Unicode
    /// classes: a ticket id is `EPL-123`, never `EPL-١٢٣` (Arabic-Indic
    /// digits) or `EPL-１２３` (full-width). Explicit Unicode classes
    /// (`\p{N}`) are left as written. A pattern that does not parse is left
    /// as it is (compiling it reports the error).
    pub(crate) fn with_ascii_classes(mut self) -> Pattern {
        if let Some(ascii) = ascii_classes(&self.source.value) {
            self.effective = Some(ascii.into());
            self.compiled = Default::default();
            self.one = Default::default();
        }
        self
    }

    /// What is compiled: the source, or its ASCII-class form.
    fn text(&self) -> &str {
        self.effective.as_deref().unwrap_or(&self.source.value)
    }

    pub(crate) fn is_match(&self, text: &str) -> bool {
        match self.one.get() {
            Some(one) => one.is_match(text),
            None => self.regex().is_match(text),
        }
    }

    /// Where the pattern matches `text`, left to right, without overlaps.
    pub(crate) fn find_all<'t>(&self, text: &'t str) -> Vec<&'t str> {
        match self.one.get() {
            Some(one) => one
                .find_iter(text)
                .filter_map(|m| text.get(m.range()))
                .collect(),
            None => self.regex().find_iter(text).map(|m| m.as_str()).collect(),
        }
    }

    /// The compiled regex. Commands compile what a subject needs before
    /// judging it ([`Policy::prepare`](crate::policy::Policy::prepare)); a pattern that still fails here
    /// stops the run (exit 2), it never matches nothing.
    pub(crate) fn regex(&self) -> &Regex {
        self.compiled.get_or_init(|| {
            Regex::new(self.text()).unwrap_or_else(|e| {
                panic!(
                    "the pattern at line {} cannot be compiled: {e}",
                    self.source.span.line
                )
            })
        })
    }

    /// Compiles the pattern now, for `haystacks`; the policy error says why
    /// it cannot be.
    pub(crate) fn compile(&self, haystacks: Haystacks) -> Result<(), PolicyError> {
        if self.compiled.get().is_some() || self.one.get().is_some() {
            return Ok(());
        }
        if haystacks == Haystacks::One
            && let Some(one) = one_text_regex(self.text())
        {
            let _ = self.one.set(one);
            return Ok(());
        }
        // (A pattern the lean build refuses gets the full build, and its error.)
        let regex =
            Regex::new(self.text()).map_err(|e| decode::invalid_regex(self.source.span, &e))?;
        let _ = self.compiled.set(regex);
        Ok(())
    }
}

/// `pattern` with each Perl class (`\d \D \w \W \s \S`) replaced by its
/// ASCII POSIX class; `None` when it has none or does not parse.
fn ascii_classes(pattern: &str) -> Option<String> {
    use regex_syntax::ast::{self, Ast, ClassPerlKind, ClassSetItem, Visitor};
    struct Perl(Vec<(usize, usize, String)>);
    fn posix(class: &ast::ClassPerl) -> String {
        let name = match class.kind {
            ClassPerlKind::Digit => "digit",
            ClassPerlKind::Space => "space",
            ClassPerlKind::Word => "word",
        };
        format!("[:{}{name}:]", if class.negated { "^" } else { "" })
    }
    impl Visitor for Perl {
        type Output = Vec<(usize, usize, String)>;
        type Err = ();
        fn finish(self) -> Result<Self::Output, ()> {
            Ok(self.0)
        }
        fn visit_pre(&mut self, node: &Ast) -> Result<(), ()> {
            if let Ast::ClassPerl(class) = node {
                let span = class.span;
                self.0.push((
                    span.start.offset,
                    span.end.offset,
                    format!("[{}]", posix(class)),
                ));
            }
            Ok(())
        }
        fn visit_class_set_item_pre(&mut self, item: &ClassSetItem) -> Result<(), ()> {
            if let ClassSetItem::Perl(class) = item {
                let span = class.span;
                self.0
                    .push((span.start.offset, span.end.offset, posix(class)));
            }
            Ok(())
        }
    }
    // Most patterns name no Perl class (`[0-9]`): no parse for them (the
    // hooks load the policy on every commit).
    let perl = ["\\d", "\\w", "\\s", "\\D", "\\W", "\\S"];
    if !perl.iter().any(|class| pattern.contains(class)) {
        return None;
    }
    let parsed = ast::parse::Parser::new().parse(pattern).ok()?;
    let mut spans = ast::visit(&parsed, Perl(Vec::new())).ok()?;
    if spans.is_empty() {
        return None;
    }
    spans.sort_by_key(|(start, _, _)| *start);
    let mut out = String::with_capacity(pattern.len() + 16 * spans.len());
    let mut at = 0;
    for (start, end, with) in spans {
        out.push_str(pattern.get(at..start)?);
        out.push_str(&with);
        at = end;
    }
    out.push_str(pattern.get(at..)?);
    Some(out)
}

/// `pattern` as `regex::Regex::new` builds it (same syntax, match kind,
/// empty-match and size rules), without the prefilter and the lazy DFA.
/// `None` when it cannot be built (the full build then says why).
fn one_text_regex(pattern: &str) -> Option<regex_automata::meta::Regex> {
    use regex_automata::{MatchKind, meta, util::syntax};
    meta::Builder::new()
        .configure(
            meta::Config::new()
                .nfa_size_limit(Some(10 * (1 << 20)))
                .match_kind(MatchKind::LeftmostFirst)
                .utf8_empty(true)
                .auto_prefilter(false)
                .onepass(false)
                .hybrid(false),
        )
        .syntax(syntax::Config::new().utf8(true))
        .build(pattern)
        .ok()
}

/// One or more regexes; a single string stands for a list of one.
#[derive(Clone, Debug, Default)]
pub struct Patterns(pub Vec<Pattern>);

impl Patterns {
    pub(crate) fn any_match(&self, text: &str) -> bool {
        self.0.iter().any(|p| p.is_match(text))
    }
}

/// Globs with their source text. Each glob is parsed when the policy loads;
/// the matcher is built on first use, or by [`Policy::prepare`](crate::policy::Policy::prepare) for the
/// rules that apply to a subject (and for all by `validate`): a set that
/// cannot be built is a policy error, never a set that matches nothing.
#[derive(Clone, Debug, Default)]
pub struct Globs {
    pub(crate) patterns: Vec<Spanned<String>>,
    matcher: std::sync::Arc<GlobsMatcher>,
}

/// The parsed globs of a [`Globs`] and the matcher built from them, shared
/// with the policy's list of matchers to build.
#[derive(Default)]
pub struct GlobsMatcher {
    /// Each glob, with whether it also stands for everything under it
    /// (`glob/**`, added when the set is built), and where it is written.
    globs: Vec<(globset::Glob, bool, Span)>,
    /// Globs of a policy known to be valid ([`Decoder::trusted`]): parsed
    /// when the set is built, not when the policy is loaded.
    unparsed: Vec<(Spanned<String>, GlobSyntax)>,
    /// Where the list is written, for the error when the set cannot be built.
    span: Span,
    /// How a build failure is reported.
    error: GlobsError,
    pub(crate) set: std::sync::OnceLock<GlobSet>,
}

/// How a glob's text is read.
#[derive(Clone, Copy, Debug)]
pub(crate) enum GlobSyntax {
    /// A path: gitignore-style ([`decode::base_glob`]).
    Path,
    /// A branch name: `*` crosses `/`.
    Branch,
}

impl GlobSyntax {
    /// The glob, and whether everything under it must be added (`glob/**`).
    pub(crate) fn parse(self, text: &str) -> Result<(globset::Glob, bool), globset::Error> {
        match self {
            GlobSyntax::Path => decode::base_glob(text),
            GlobSyntax::Branch => Ok((
                globset::GlobBuilder::new(text)
                    .literal_separator(false)
                    .build()?,
                false,
            )),
        }
    }
}

/// How a glob set that cannot be built is reported.
#[derive(Clone, Copy, Debug, Default)]
pub enum GlobsError {
    /// A list of globs: `policy::glob-set-too-large` on the list.
    #[default]
    TooLarge,
    /// One glob of `changed`: `policy::invalid-glob` on it.
    Invalid,
}

impl Globs {
    /// Parsed globs (their syntax checked), to be built into one matcher:
    /// `(glob, also everything under it, where it is written)`.
    pub(crate) fn new(
        patterns: Vec<Spanned<String>>,
        globs: Vec<(globset::Glob, bool, Span)>,
        span: Span,
        error: GlobsError,
    ) -> Globs {
        Globs {
            patterns,
            matcher: std::sync::Arc::new(GlobsMatcher {
                globs,
                unparsed: Vec::new(),
                span,
                error,
                set: std::sync::OnceLock::new(),
            }),
        }
    }

    /// Globs of a policy known to be valid, parsed when the set is built.
    pub(crate) fn unparsed(
        patterns: Vec<Spanned<String>>,
        syntax: GlobSyntax,
        span: Span,
        error: GlobsError,
    ) -> Globs {
        Globs {
            matcher: std::sync::Arc::new(GlobsMatcher {
                globs: Vec::new(),
                unparsed: patterns.iter().map(|p| (p.clone(), syntax)).collect(),
                span,
                error,
                set: std::sync::OnceLock::new(),
            }),
            patterns,
        }
    }

    pub(crate) fn is_match(&self, path: &str) -> bool {
        self.matcher.set().is_match(path)
    }

    /// What builds this set, to be kept in the policy's list.
    pub(crate) fn matcher(&self) -> Matcher {
        Matcher::Globs(self.matcher.clone())
    }
}

/// What was written and what it built: the same whether the globs were
/// parsed when loaded or when built.
impl std::fmt::Debug for GlobsMatcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GlobsMatcher")
            .field("span", &self.span)
            .field("error", &self.error)
            .field("set", &self.set)
            .finish_non_exhaustive()
    }
}

impl GlobsMatcher {
    fn set(&self) -> &GlobSet {
        self.set.get_or_init(|| {
            self.build().unwrap_or_else(|e| {
                panic!(
                    "the globs at line {} cannot be compiled: {}",
                    self.span.line, e.message
                )
            })
        })
    }

    fn build(&self) -> Result<GlobSet, PolicyError> {
        let mut builder = globset::GlobSetBuilder::new();
        let mut parsed = Vec::with_capacity(self.unparsed.len());
        for (text, syntax) in &self.unparsed {
            let (glob, folder) = syntax
                .parse(&text.value)
                .map_err(|err| decode::invalid_glob(text.span, &err))?;
            parsed.push((glob, folder, text.span));
        }
        for (glob, folder, span) in self.globs.iter().chain(&parsed) {
            builder.add(glob.clone());
            if *folder {
                // The glob parsed, so the glob followed by `/**` does too;
                // should it not, it is reported, never skipped.
                let under = decode::glob_builder(&format!("{}/**", glob.glob()))
                    .build()
                    .map_err(|err| decode::invalid_glob(*span, &err))?;
                builder.add(under);
            }
        }
        builder.build().map_err(|err| match self.error {
            GlobsError::TooLarge => decode::unbuildable_globs(self.span, self.globs.len(), &err),
            GlobsError::Invalid => PolicyError::at(
                ErrorCode::InvalidGlob,
                self.span,
                format!("invalid glob: {err}"),
            ),
        })
    }

    fn compile(&self) -> Result<(), PolicyError> {
        if self.set.get().is_none() {
            let set = self.build()?;
            let _ = self.set.set(set);
        }
        Ok(())
    }
}

/// A regex or glob set compiled on demand ([`Policy::prepare`](crate::policy::Policy::prepare)).
#[derive(Clone, Debug)]
pub enum Matcher {
    Pattern(Pattern),
    Globs(std::sync::Arc<GlobsMatcher>),
    /// A tracker's pattern and the example that must match it: checked when
    /// the pattern is compiled.
    Example(Pattern, Spanned<String>),
}

impl Matcher {
    pub(crate) fn compile(&self, haystacks: Haystacks) -> Result<(), PolicyError> {
        match self {
            Matcher::Pattern(p) => p.compile(haystacks),
            Matcher::Globs(g) => g.compile(),
            Matcher::Example(pattern, example) => {
                pattern.compile(haystacks)?;
                if pattern.is_match(&example.value) {
                    return Ok(());
                }
                Err(PolicyError::at(
                    ErrorCode::ExampleMismatch,
                    example.span,
                    format!(
                        "example `{}` does not match the tracker's pattern",
                        example.value
                    ),
                )
                .help(
                    "fix the example or the pattern: help messages show this example as a valid ticket",
                ))
            }
        }
    }
}

/// Longest glob accepted (keeps compiled matchers within regex size limits).
pub const MAX_GLOB_LEN: usize = 512;

/// Names or values: a single string stands for a list of one.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Strings(pub Vec<Spanned<String>>);

impl Strings {
    pub(crate) fn iter(&self) -> impl Iterator<Item = &Spanned<String>> {
        self.0.iter()
    }
    pub(crate) fn contains(&self, text: &str) -> bool {
        self.0.iter().any(|s| s.value == text)
    }
}

names! {
    /// How serious a finding is. Only `error` fails the check.
    #[names(what = "level")]
    #[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
    pub enum Level {
        #[default]
        Error = "error",
        Warning = "warning",
        Notice = "notice",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn a_trackers_perl_classes_are_ascii() {
        let ticket = |source: &str| {
            let p =
                Pattern::new(Spanned::new(source.to_owned(), Span::default())).with_ascii_classes();
            p.compile(Haystacks::Many).unwrap();
            p
        };
        for source in [
            r"\b[A-Z]+-\d+\b",
            r"\bEPL-[\d]+\b",
            r"\bEPL-\w+",
            r"(?i)epl-\d{1,6}",
        ] {
            let p = ticket(source);
            assert!(p.is_match("EPL-123"), "{source}");
            for lookalike in ["EPL-١٢٣", "EPL-１２３", "EPL-߁߂", "EPL-໑໒"] {
                assert!(!p.is_match(lookalike), "{source} matched {lookalike}");
            }
        }
        // Negations and spaces stay ASCII too; explicit Unicode classes are kept.
        assert!(ticket(r"EPL\s\d").is_match("EPL 1"));
        assert!(!ticket(r"EPL\s\d").is_match("EPL\u{2003}1"));
        assert!(ticket(r"EPL-[^\d\s]").is_match("EPL-١"));
        assert!(ticket(r"EPL-\D").is_match("EPL-١"));
        assert!(ticket(r"EPL-\p{Nd}").is_match("EPL-١"));
        assert_eq!(
            ascii_classes(r"\bAB#\d+\b|[\w.]+\S"),
            Some(String::from(
                r"\bAB#[[:digit:]]+\b|[[:word:].]+[[:^space:]]"
            ))
        );
        assert_eq!(ascii_classes(r"\bEPL-[0-9]+\b"), None);
        assert_eq!(
            ascii_classes(r"\\d"),
            None,
            "an escaped backslash is no class"
        );
        // Without it, the regex crate's `\d` is any script's digit.
        assert!(pattern(r"\bEPL-\d+\b", Haystacks::Many).is_match("EPL-١٢٣"));
    }

    fn pattern(source: &str, haystacks: Haystacks) -> Pattern {
        let p = Pattern::new(Spanned::new(source.to_owned(), Span::default()));
        p.compile(haystacks).unwrap();
        p
    }

    /// Patterns like the ones policies hold: tickets with Unicode `\b`,
    /// anchored branch names with Unicode `.`, alternations, classes, empty
    /// matches.
    const SOURCES: &[&str] = &[
        r"\b(EPL|EPLX|SCP)-[0-9]+\b",
        r"^(main|master|release/.+)$",
        r"^(feature|bugfix|hotfix)/[A-Z]+-[0-9]+-[a-z0-9-]+$",
        r"(?i)^(fix|feat|chore)(\([\w-]+\))?!?: \S",
        r"\bAB#[0-9]+\b",
        r"^\s*$",
        r"x*",
        r"[\p{Greek}]+",
        r"(?m)^Steps to reproduce:?$",
    ];

    #[test]
    fn a_regex_built_for_one_text_is_the_full_one_in_its_engines_only() {
        for source in SOURCES {
            let one = pattern(source, Haystacks::One);
            assert!(
                one.one.get().is_some() && one.compiled.get().is_none(),
                "{source}"
            );
            let many = pattern(source, Haystacks::Many);
            assert!(
                many.one.get().is_none() && many.compiled.get().is_some(),
                "{source}"
            );
        }
    }

    proptest! {
        /// Built for one text or for many, a pattern finds the same matches.
        #[test]
        fn one_text_and_many_find_the_same(
            text in r"(EPL|SCP|EPLX|AB#|main|release/|feature/|fix|é|Ωλ| |-|_|\n|[0-9]|[a-zA-Z]|\(|\)|:|!){0,40}"
        ) {
            static BUILT: std::sync::LazyLock<Vec<(&str, Pattern, Pattern)>> =
                std::sync::LazyLock::new(|| {
                    SOURCES
                        .iter()
                        .map(|s| (*s, pattern(s, Haystacks::One), pattern(s, Haystacks::Many)))
                        .collect()
                });
            for (source, one, many) in BUILT.iter() {
                prop_assert_eq!(one.find_all(&text), many.find_all(&text), "{}", source);
                prop_assert_eq!(one.is_match(&text), many.is_match(&text), "{}", source);
            }
        }
    }
}
