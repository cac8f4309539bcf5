//! The leaf of the policy model: where things are written (spans, the
//! node tree), the errors that point at them, and the decoding machinery
//! every policy type is described with ([`Decode`], [`Table`], `options!`,
//! `names!`); the written values shared by all (strings, patterns, globs,
//! levels). Imports neither `policy` nor `rules`.

pub mod decode;
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
    Check, Decode, Field, Key, Named, Shorthand, Spec, Table, TrueForDefaults, branch_globs,
    doc_text, key_names, keys_schema, non_empty, schema_of, unknown_name,
};
pub(crate) use table::{names, options};

/// A value with the place it was written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Spanned<T> {
    pub value: T,
    pub span: Span,
}

impl<T> Spanned<T> {
    pub fn new(value: T, span: Span) -> Self {
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

/// A regular expression with its source text. Its syntax is checked when
/// the policy loads; it is compiled on first use, or by [`Policy::prepare`](crate::policy::Policy::prepare)
/// for the rules that apply to a subject (a compile failure there is a
/// policy error, exit 2, never a pattern that matches nothing).
#[derive(Clone, Debug)]
pub struct Pattern {
    pub source: Spanned<String>,
    pub(crate) compiled: std::sync::Arc<std::sync::OnceLock<Regex>>,
}

impl Pattern {
    /// A pattern whose syntax has been checked ([`Decoder::pattern`]).
    pub fn new(source: Spanned<String>) -> Pattern {
        Pattern {
            source,
            compiled: Default::default(),
        }
    }

    /// An already compiled pattern.
    pub fn compiled(source: Spanned<String>, regex: Regex) -> Pattern {
        let pattern = Pattern::new(source);
        let _ = pattern.compiled.set(regex);
        pattern
    }

    pub fn is_match(&self, text: &str) -> bool {
        self.regex().is_match(text)
    }

    /// The compiled regex. Commands compile what a subject needs before
    /// judging it ([`Policy::prepare`](crate::policy::Policy::prepare)); a pattern that still fails here
    /// stops the run (exit 2), it never matches nothing.
    pub fn regex(&self) -> &Regex {
        self.compiled.get_or_init(|| {
            Regex::new(&self.source.value).unwrap_or_else(|e| {
                panic!(
                    "the pattern at line {} cannot be compiled: {e}",
                    self.source.span.line
                )
            })
        })
    }

    /// Compiles the pattern now; the policy error says why it cannot be.
    pub fn compile(&self) -> Result<(), PolicyError> {
        if self.compiled.get().is_none() {
            let regex = Regex::new(&self.source.value)
                .map_err(|e| decode::invalid_regex(self.source.span, &e))?;
            let _ = self.compiled.set(regex);
        }
        Ok(())
    }
}

/// One or more regexes; a single string stands for a list of one.
#[derive(Clone, Debug, Default)]
pub struct Patterns(pub Vec<Pattern>);

impl Patterns {
    pub fn any_match(&self, text: &str) -> bool {
        self.0.iter().any(|p| p.is_match(text))
    }
}

/// Globs with their source text. Each glob is parsed when the policy loads;
/// the matcher is built on first use, or by [`Policy::prepare`](crate::policy::Policy::prepare) for the
/// rules that apply to a subject (and for all by `validate`): a set that
/// cannot be built is a policy error, never a set that matches nothing.
#[derive(Clone, Debug, Default)]
pub struct Globs {
    pub patterns: Vec<Spanned<String>>,
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
pub enum GlobSyntax {
    /// A path: gitignore-style ([`decode::base_glob`]).
    Path,
    /// A branch name: `*` crosses `/`.
    Branch,
}

impl GlobSyntax {
    /// The glob, and whether everything under it must be added (`glob/**`).
    pub fn parse(self, text: &str) -> Result<(globset::Glob, bool), globset::Error> {
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
    pub fn new(
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
    pub fn unparsed(
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

    pub fn is_match(&self, path: &str) -> bool {
        self.matcher.set().is_match(path)
    }

    /// Builds the matcher now; the policy error says why it cannot be.
    pub fn compile(&self) -> Result<(), PolicyError> {
        self.matcher.compile()
    }

    /// What builds this set, to be kept in the policy's list.
    pub fn matcher(&self) -> Matcher {
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
    pub fn compile(&self) -> Result<(), PolicyError> {
        match self {
            Matcher::Pattern(p) => p.compile(),
            Matcher::Globs(g) => g.compile(),
            Matcher::Example(pattern, example) => {
                pattern.compile()?;
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
    pub fn iter(&self) -> impl Iterator<Item = &Spanned<String>> {
        self.0.iter()
    }
    pub fn contains(&self, text: &str) -> bool {
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
