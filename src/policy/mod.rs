//! The policy: a serde-free typed model decoded from spanned YAML, strictly
//! validated. Pure: text in, model or errors out; `sources` reads the files.

mod decode;
mod error;
mod escapes;
mod load;
pub mod node;
mod predicate;
mod table;
pub mod tracker;
mod waiver;

use std::borrow::Cow;
use std::collections::BTreeMap;

use globset::GlobSet;
use regex::Regex;
use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};

/// Moved to [`crate::facts`]; re-exported so existing paths keep working.
pub use crate::facts::SubjectKind;
pub use decode::{Decoder, Fields, glob, glob_set};
pub use error::{ErrorCode, PolicyError, did_you_mean, undefined_name};
pub use load::{InvalidPolicy, PolicySource, check_changed_refs, load};
pub use node::{Node, Span};
pub use predicate::{ChangedRef, Predicate};
pub use table::{
    Decode, Field, Named, Shorthand, Spec, Table, TrueForDefaults, branch_globs, doc_text,
    non_empty, schema_of, unknown_name,
};
pub(crate) use table::{names, options};
pub use tracker::Tracker;
pub use waiver::{WaivedSubject, Waiver};

use crate::rules::Requirements;

/// The built-in pack, embedded so a repository without a policy still gets checked.
pub const BUILTIN_NAME: &str = "policies/release-train.yml";
pub const BUILTIN_TEXT: &str = include_str!("../../policies/release-train.yml");

/// The only policy format version this build reads.
pub const VERSION: i64 = 1;

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
/// the policy loads; it is compiled on first use, or by [`Policy::prepare`]
/// for the rules that apply to a subject (a compile failure there is a
/// policy error, exit 2, never a pattern that matches nothing).
#[derive(Clone, Debug)]
pub struct Pattern {
    pub source: Spanned<String>,
    compiled: std::sync::Arc<std::sync::OnceLock<Regex>>,
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
    /// judging it ([`Policy::prepare`]); a pattern that still fails here
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
/// the matcher is built on first use, or by [`Policy::prepare`] for the
/// rules that apply to a subject (and for all by `validate`): a set that
/// cannot be built is a policy error, never a set that matches nothing.
#[derive(Clone, Debug, Default)]
pub struct Globs {
    pub patterns: Vec<Spanned<String>>,
    matcher: std::sync::Arc<GlobsMatcher>,
}

/// The parsed globs of a [`Globs`] and the matcher built from them, shared
/// with the policy's list of matchers to build.
#[derive(Debug, Default)]
pub struct GlobsMatcher {
    /// Each glob, with whether it also stands for everything under it
    /// (`glob/**`, added when the set is built), and where it is written.
    globs: Vec<(globset::Glob, bool, Span)>,
    /// Where the list is written, for the error when the set cannot be built.
    span: Span,
    /// How a build failure is reported.
    error: GlobsError,
    set: std::sync::OnceLock<GlobSet>,
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
                span,
                error,
                set: std::sync::OnceLock::new(),
            }),
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
        for (glob, folder, span) in &self.globs {
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

/// A regex or glob set compiled on demand ([`Policy::prepare`]).
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

options! {
    /// A team of approvers.
    #[options(what = "a team", check = has_members)]
    #[derive(Clone, Debug, Default)]
    pub struct Team {
        /// GitHub logins.
        pub members: Strings,
        /// `org/team-slug`, resolved through the GitHub API.
        pub github: Option<Spanned<String>> => with(non_empty) => check(org_slash_team),
    }
}

fn org_slash_team(github: &Spanned<String>, _: &str, _: &Node) -> Result<(), PolicyError> {
    let parts: Vec<&str> = github.value.split('/').collect();
    if parts.len() == 2 && parts.iter().all(|p| !p.is_empty()) {
        return Ok(());
    }
    Err(PolicyError::at(
        ErrorCode::InvalidValue,
        github.span,
        format!("`{}` is not an `org/team-slug`", github.value),
    )
    .help("write the team as `org/team-slug`, e.g. `example-org/platform-engineering`"))
}

fn has_members(team: &Team, table: &Table<'_>) -> Result<(), PolicyError> {
    if !team.members.0.is_empty() || team.github.is_some() {
        return Ok(());
    }
    Err(PolicyError::at(
        ErrorCode::EmptyTeam,
        table.span(),
        "a team needs `members` or `github`",
    )
    .help("list GitHub logins under `members`, or name the GitHub team as `github: org/team-slug`"))
}

options! {
    /// How a change is classified; any listed signal is enough.
    #[options(what = "a kind", check = has_a_signal)]
    #[derive(Clone, Debug, Default)]
    pub struct Kind {
        /// Pull request labels.
        pub labels: Strings,
        /// Branch name globs, e.g. `bugfix/*`.
        pub branches: Option<Globs> => with(branch_globs),
        /// Regex on the pull request title or the commit subject.
        pub title: Option<Pattern>,
    }
}

fn has_a_signal(kind: &Kind, table: &Table<'_>) -> Result<(), PolicyError> {
    if !kind.labels.0.is_empty() || kind.branches.is_some() || kind.title.is_some() {
        return Ok(());
    }
    Err(PolicyError::at(
        ErrorCode::EmptyKind,
        table.span(),
        "a kind needs at least one signal",
    )
    .help("give `labels`, `branches` or `title`"))
}

names! {
    /// What counts as an exempt commit message: `fixup` (`fixup! …` and
    /// `amend! …`, squashed away before merge), `squash` (`squash! …`),
    /// `merge` (`Merge …` messages git writes), `revert` (`Revert "…"`).
    #[names(what = "exemption")]
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub enum Exemption {
        Fixup = "fixup",
        Squash = "squash",
        Merge = "merge",
        Revert = "revert",
    }
}

impl Exemption {
    /// Whether the message claims this exemption (what the commit really
    /// is decides whether it holds: [`Exemption::holds`]).
    pub fn claimed_by(self, message: &str) -> bool {
        match self {
            Self::Fixup => message.starts_with("fixup! ") || message.starts_with("amend! "),
            Self::Squash => message.starts_with("squash! "),
            Self::Merge => message.starts_with("Merge "),
            Self::Revert => message.starts_with("Revert \""),
        }
    }

    /// Whether the exemption holds for a commit: what a reviewer would
    /// assume, not what its message claims. `merge`: git made it as a merge
    /// (two or more parents); `revert`: it names, in git's words, a commit of
    /// its own history (checked by the source); `fixup`/`squash`: only
    /// before the commit leaves the developer's machine.
    pub fn holds(self, commit: &crate::facts::Commit) -> bool {
        use crate::facts::Stage;
        self.claimed_by(&commit.message)
            && match self {
                Self::Merge => commit.is_merge(),
                Self::Revert => commit.reverts_its_history,
                Self::Fixup | Self::Squash => commit.stage == Stage::Local,
            }
    }
}

names! {
    /// How merge commits in a range are treated: `skip` (not checked) or
    /// `check` (checked like any other).
    #[names(what = "`merges` value")]
    #[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
    pub enum Merges {
        #[default]
        Skip = "skip",
        Check = "check",
    }
}

names! {
    /// `fixup!`/`squash!` commits in a pull request: the level of the
    /// finding "to be squashed before merge", or `allow`.
    #[names(what = "`fixups_in_pull_requests` value")]
    #[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
    pub enum Fixups {
        #[default]
        Error = "error",
        Warning = "warning",
        Notice = "notice",
        Allow = "allow",
    }
}

impl Fixups {
    /// The level of the finding; `None`: allowed.
    pub fn level(self) -> Option<Level> {
        match self {
            Self::Error => Some(Level::Error),
            Self::Warning => Some(Level::Warning),
            Self::Notice => Some(Level::Notice),
            Self::Allow => None,
        }
    }
}

options! {
    /// Options for commit checks.
    #[options(what = "`commits`")]
    #[derive(Clone, Debug)]
    pub struct CommitOptions {
        /// Messages that commit rules skip. Default: all four.
        pub exempt: Vec<Exemption> => default(|| Exemption::ALL.to_vec()),
        /// Merge commits in a range: `skip` (default) or `check`.
        pub merges: Merges,
        /// `fixup!`/`squash!` commits in a pull request (they are exempt only
        /// locally, before they are squashed): `error` (default), `warning` or
        /// `notice` "to be squashed before merge", or `allow`.
        pub fixups_in_pull_requests: Fixups,
    }
}

impl Default for CommitOptions {
    fn default() -> Self {
        Self {
            exempt: Exemption::ALL.to_vec(),
            merges: Merges::Skip,
            fixups_in_pull_requests: Fixups::Error,
        }
    }
}

options! {
    /// Options of the release audit.
    #[options(what = "`audit`")]
    #[derive(Clone, Debug, Default)]
    pub struct AuditOptions {
        /// A range with no commit: `fail` (default, exit status 2) or `pass`.
        pub empty_range: EmptyRange,
        /// Release evidence (every change reached the branch through a pull
        /// request that passed the gate at merge time): `on` (default when the
        /// policy has `pull_request` rules; not checked without a token is a
        /// warning), `require` (not checked is an error), `warn` (bypasses are
        /// warnings), `off`.
        pub evidence: Option<Spanned<EvidenceMode>>,
        /// GitHub accounts whose commits may reach the branch without a pull
        /// request (release tooling), matched on the account GitHub attributes
        /// the commit to, and only for commits with a signature GitHub verified.
        pub exempt_accounts: Vec<String> => with(|node, d| {
            d.strings(node).map(|v| v.into_iter().map(|s| s.value).collect())
        }),
    }
}

names! {
    /// How the release audit treats release evidence.
    #[names(what = "`evidence` value", unknown = unknown_evidence)]
    #[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
    pub enum EvidenceMode {
        Off = "off",
        Warn = "warn",
        #[default]
        On = "on",
        Require = "require",
    }
}

fn unknown_evidence(node: &Node) -> PolicyError {
    PolicyError::at(
        ErrorCode::UnknownValue,
        node.span,
        "`evidence` is `off`, `warn`, `on` or `require`",
    )
    .help("`on` (default): bypasses are errors, and evidence not checked (no token) is a warning; `require` makes that an error too")
}

names! {
    /// A range with no commit: `fail` (exit status 2) or `pass`.
    #[names(what = "`empty_range` value", unknown = unknown_empty_range)]
    #[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
    pub enum EmptyRange {
        #[default]
        Fail = "fail",
        Pass = "pass",
    }
}

fn unknown_empty_range(node: &Node) -> PolicyError {
    PolicyError::at(
        ErrorCode::UnknownValue,
        node.span,
        "`empty_range` is `fail` or `pass`",
    )
    .help("`fail` (default) stops the audit of an empty range with exit status 2")
}

options! {
    /// One rule: when it applies and what it requires.
    #[options(what = "a rule")]
    #[derive(Clone, Debug)]
    pub struct Rule {
        /// Unique, kebab-case; findings carry it.
        pub id: Spanned<String> => required => with(non_empty),
        /// What the rule is for; name the process statements it encodes.
        pub description: Option<Spanned<String>>,
        /// Subjects the rule applies to. Default: every subject its requirements support.
        pub on: Vec<Spanned<SubjectKind>> => check(some_subject) => schema(load::non_empty_list),
        /// The rule applies only when this holds.
        pub when: Option<Predicate> => with(load::condition),
        /// The rule does not apply when this holds.
        pub unless: Option<Predicate> => with(load::condition),
        /// What must be true.
        pub require: Requirements => required => with(load::requirements),
        /// `error` (default) fails the check; `warning` and `notice` inform.
        pub level: Level,
        ;
        /// The whole rule.
        pub span: Span = Span::default(),
        /// Its `require:` key.
        pub require_span: Span = Span::default(),
        /// Its regexes and glob sets, compiled before it judges a subject.
        pub matchers: Vec<Matcher> = Vec::new(),
    }
}

#[allow(clippy::ptr_arg)] // a field check's signature
fn some_subject(on: &Vec<Spanned<SubjectKind>>, _: &str, node: &Node) -> Result<(), PolicyError> {
    if !on.is_empty() {
        return Ok(());
    }
    Err(PolicyError::at(ErrorCode::Empty, node.span, "`on` is an empty list: the rule would never run")
        .help("list subjects: pull_request, commit, branch, release; or remove `on` to use every subject the requirements support"))
}

/// A subject a rule can judge.
impl Decode for SubjectKind {
    const NAME: Option<&'static str> = Some("SubjectKind");
    fn decode(node: &Node, d: &mut Decoder) -> Option<Self> {
        let name = d.string(node)?;
        let kind = SubjectKind::parse(&name.value);
        if kind.is_none() {
            d.error(unknown_name(
                &name,
                "subject",
                None,
                &SubjectKind::ALL.map(SubjectKind::name),
            ));
        }
        kind
    }
    fn schema(_: &mut SchemaGenerator) -> Schema {
        let names: Vec<&str> = SubjectKind::ALL.iter().map(|s| s.name()).collect();
        json_schema!({ "description": "A subject a rule can judge.", "type": "string", "enum": names })
    }
}

fn finish_errors(mut errors: Vec<PolicyError>) -> Result<(), Vec<PolicyError>> {
    if errors.is_empty() {
        return Ok(());
    }
    errors.sort_by_key(|e| e.span);
    errors.dedup();
    Err(errors)
}

/// A value, or `true` for its defaults (`ticket: true`).
pub struct OrTrue<T>(std::marker::PhantomData<T>);

impl<T: JsonSchema> JsonSchema for OrTrue<T> {
    fn inline_schema() -> bool {
        true
    }
    fn schema_name() -> Cow<'static, str> {
        format!("{}OrTrue", T::schema_name()).into()
    }
    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        let inner = generator.subschema_for::<T>();
        json_schema!({ "anyOf": [ { "const": true }, inner ] })
    }
}

/// One value, standing for a list of one, or a list of them.
pub struct OneOrMany<T>(std::marker::PhantomData<T>);

impl<T: JsonSchema> JsonSchema for OneOrMany<T> {
    fn inline_schema() -> bool {
        true
    }
    fn schema_name() -> Cow<'static, str> {
        format!("OneOrMany{}", T::schema_name()).into()
    }
    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        let inner = generator.subschema_for::<T>();
        json_schema!({ "anyOf": [ inner.clone(), { "type": "array", "items": inner } ] })
    }
}

/// Removes `null` from the types schemars allows for `Option` fields.
fn drop_null(value: &mut serde_json::Value) {
    use serde_json::Value as Json;
    match value {
        Json::Object(map) => {
            if let Some(Json::Array(types)) = map.get_mut("type") {
                types.retain(|t| t != "null");
                if types.len() == 1 {
                    let only = types.remove(0);
                    map.insert("type".into(), only);
                }
            }
            if let Some(Json::Array(any)) = map.get_mut("anyOf") {
                any.retain(|s| s.get("type").and_then(Json::as_str) != Some("null"));
                if any.len() == 1 {
                    let only = any.remove(0);
                    map.remove("anyOf");
                    if let Json::Object(only) = only {
                        for (k, v) in only {
                            map.entry(k).or_insert(v);
                        }
                    }
                }
            }
            for v in map.values_mut() {
                drop_null(v);
            }
        }
        Json::Array(items) => items.iter_mut().for_each(drop_null),
        _ => {}
    }
}

/// A whole policy: every file merged.
#[derive(Clone, Debug)]
pub struct Policy {
    pub tickets: BTreeMap<String, Tracker>,
    pub teams: BTreeMap<String, Team>,
    pub paths: BTreeMap<String, Globs>,
    pub kinds: BTreeMap<String, Kind>,
    pub commits: CommitOptions,
    /// Where `commits:` is set, when it is.
    pub commits_span: Option<Span>,
    pub audit: AuditOptions,
    pub rules: Vec<Rule>,
    /// The files the policy came from, for diagnostics.
    pub sources: Vec<PolicySource>,
    /// Where each named definition is: `("tickets" | "teams" | "paths" |
    /// "kinds", name)` to the span of its name.
    pub definitions: BTreeMap<(&'static str, String), Span>,
    /// Exemptions from named rules, every file's in order.
    pub waivers: Vec<Waiver>,
    /// The regexes and glob sets of each definition, compiled when a rule
    /// that refers to it is about to judge a subject.
    pub matchers: BTreeMap<(&'static str, String), Vec<Matcher>>,
}

/// The shape of one policy file, for the JSON Schema.
#[derive(JsonSchema)]
#[schemars(title = "git-policy policy file", deny_unknown_fields)]
#[allow(dead_code)]
struct PolicyFile {
    /// Format version; must be 1.
    #[schemars(range(min = 1, max = 1))]
    version: u8,
    /// Ticket trackers by name.
    #[serde(default)]
    tickets: BTreeMap<String, Tracker>,
    /// Approver teams by name.
    #[serde(default)]
    teams: BTreeMap<String, Team>,
    /// Named sets of globs (gitignore-style).
    #[serde(default)]
    paths: BTreeMap<String, Globs>,
    /// Change kinds by name; any listed signal is enough.
    #[serde(default)]
    kinds: BTreeMap<String, Kind>,
    /// Commit check options.
    #[serde(default)]
    commits: Option<CommitOptions>,
    /// Release audit options.
    #[serde(default)]
    audit: Option<AuditOptions>,
    /// The rules.
    #[serde(default)]
    rules: Vec<Rule>,
    /// Exemptions of one commit, pull request or ticket from named rules,
    /// with a reason, who granted them and an optional expiry.
    #[serde(default)]
    waivers: Vec<Waiver>,
}

impl Policy {
    /// The JSON Schema of a policy file. An absent key and `key: null` are
    /// not the same to the loader (a null value is the wrong type), so the
    /// schema does not let optional values be null either.
    pub fn json_schema() -> Schema {
        let mut schema = schemars::schema_for!(PolicyFile);
        if let Some(map) = schema.as_object_mut() {
            map.values_mut().for_each(drop_null);
        }
        schema
    }

    pub fn source(&self, span: Span) -> Option<&PolicySource> {
        self.sources.get(span.file as usize)
    }

    /// Compiles the regexes and glob sets that judging these kinds of
    /// subject needs: those of the rules on them and of the definitions
    /// those rules refer to. Every pattern's syntax was checked at load; what
    /// is compiled here can still be too large for the matcher, a policy
    /// error like the others (exit 2).
    pub fn prepare(&self, kinds: &[SubjectKind]) -> Result<(), Vec<PolicyError>> {
        let mut used = crate::rules::Used::default();
        let mut errors = Vec::new();
        for rule in self
            .rules
            .iter()
            .filter(|r| r.on.iter().any(|o| kinds.contains(&o.value)))
        {
            crate::rules::rule_uses(self, rule, &mut used);
            errors.extend(rule.matchers.iter().filter_map(|m| m.compile().err()));
        }
        for ((section, name), matchers) in &self.matchers {
            if used.contains(section, name) {
                errors.extend(matchers.iter().filter_map(|m| m.compile().err()));
            }
        }
        finish_errors(errors)
    }

    /// Compiles every regex and glob set (`validate`: a set too large is
    /// reported even when no subject at hand needs it).
    pub fn prepare_all(&self) -> Result<(), Vec<PolicyError>> {
        let errors = self
            .rules
            .iter()
            .flat_map(|r| &r.matchers)
            .chain(self.matchers.values().flatten())
            .filter_map(|m| m.compile().err())
            .collect();
        finish_errors(errors)
    }

    /// Rules that apply to a kind of subject.
    pub fn rules_on(&self, kind: SubjectKind) -> impl Iterator<Item = &Rule> {
        self.rules
            .iter()
            .filter(move |r| r.on.iter().any(|o| o.value == kind))
    }

    /// Errors for kind names that `kinds:` does not define.
    pub fn check_kinds(&self, names: &Strings, errors: &mut Vec<PolicyError>) {
        for name in names.iter().filter(|n| !self.kinds.contains_key(&n.value)) {
            let defined = self.kinds.keys().map(String::as_str);
            errors.push(undefined_name(
                "kind",
                "kinds",
                name,
                defined,
                "define it under `kinds:` (labels, branches or title)",
            ));
        }
    }

    /// Errors for tracker names that `tickets:` does not define.
    pub fn check_trackers(&self, names: &Strings, errors: &mut Vec<PolicyError>) {
        for name in names
            .iter()
            .filter(|n| !self.tickets.contains_key(&n.value))
        {
            let defined = self.tickets.keys().map(String::as_str);
            errors.push(undefined_name(
                "tracker",
                "tickets",
                name,
                defined,
                "define it under `tickets:` with a `pattern`",
            ));
        }
    }

    /// The trackers a ticket requirement means: the named ones, or all.
    pub fn trackers<'a>(
        &'a self,
        names: &'a Strings,
    ) -> impl Iterator<Item = (&'a str, &'a Tracker)> {
        self.tickets
            .iter()
            .filter(move |(name, _)| names.0.is_empty() || names.contains(name))
            .map(|(n, t)| (n.as_str(), t))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const POLICY: &str = "version: 1
tickets:
  jira: { pattern: 'EPL-[0-9]+', example: EPL-1 }
  other: { pattern: 'X-[0-9]+', example: nope }
paths:
  infra: ['terraform/**', '*.tf']
rules:
  - id: commit-ticket
    on: [commit]
    require: { ticket: { trackers: [jira], in: [message] } }
  - id: infra-ready
    on: [pull_request]
    when: { changed: [infra] }
    require: { ready: true }
";

    fn built(matchers: &[Matcher]) -> Vec<bool> {
        matchers
            .iter()
            .map(|m| match m {
                Matcher::Pattern(p) | Matcher::Example(p, _) => p.compiled.get().is_some(),
                Matcher::Globs(g) => g.set.get().is_some(),
            })
            .collect()
    }

    /// The commit-msg hook builds the commit rules' matchers and the
    /// trackers they use, not the pull request's path sets, nor a tracker
    /// no commit rule uses; `validate` builds (and checks) everything.
    #[test]
    fn prepare_builds_only_what_the_subjects_need() {
        let policy = load(vec![PolicySource::new("p.yml", POLICY)]).unwrap();
        let key = |section: &'static str, name: &str| (section, name.to_owned());
        assert!(built(&policy.matchers[&key("paths", "infra")]) == [false]);
        policy.prepare(&[SubjectKind::Commit]).unwrap();
        assert!(
            built(&policy.matchers[&key("tickets", "jira")])
                .iter()
                .all(|b| *b)
        );
        assert!(
            built(&policy.matchers[&key("tickets", "other")])
                .iter()
                .all(|b| !b)
        );
        assert!(built(&policy.matchers[&key("paths", "infra")]) == [false]);
        // The tracker no commit rule uses has an example that does not match:
        // reported when everything is built, as `validate` does.
        let errors = policy.prepare_all().unwrap_err();
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert_eq!(errors[0].code, "policy::example-mismatch");
        assert_eq!(
            (errors[0].span.unwrap().line, errors[0].span.unwrap().column),
            (4, 42)
        );
        assert!(built(&policy.matchers[&key("paths", "infra")]) == [true]);
    }

    /// An invalid policy shows every problem at once, those that only
    /// compiling finds included.
    #[test]
    fn an_invalid_policy_reports_compile_problems_too() {
        let text = POLICY.replace("on: [commit]", "on: [nothing]");
        let invalid = load(vec![PolicySource::new("p.yml", text)]).unwrap_err();
        let codes: Vec<&str> = invalid.errors.iter().map(|e| e.code).collect();
        assert_eq!(codes, ["policy::example-mismatch", "policy::unknown-value"]);
    }
}
