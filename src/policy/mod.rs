//! The policy: a serde-free typed model decoded from spanned YAML, strictly
//! validated. Pure: text in, model or errors out; `sources` reads the files.

mod decode;
mod merge;
pub(crate) mod tree_cache;
mod validate;
mod waiver;

use std::collections::BTreeMap;

use schemars::{JsonSchema, Schema};

/// The leaf types, re-exported so existing paths keep working.
pub(crate) use crate::definitions::{Definitions, Kind, Predicate, RuleView, Team, Tracker};
/// Moved to [`crate::facts`]; re-exported so existing paths keep working.
pub(crate) use crate::facts::SubjectKind;
pub use crate::syntax::{
    Check, Decode, Decoder, ErrorCode, Field, Fields, Globs, GlobsError, GlobsMatcher, Haystacks,
    Level, MAX_GLOB_LEN, Matcher, Named, Node, Pattern, Patterns, PolicyError, Shorthand, Span,
    Spanned, Spec, Strings, Table, TrueForDefaults, branch_globs, did_you_mean, doc_text, glob,
    glob_set, node, non_empty, schema_of, undefined_name, unknown_name,
};
pub(crate) use crate::syntax::{names, options};
pub use decode::{PolicySource, parse_files};
pub(crate) use validate::InvalidPolicy;
pub use waiver::{DOC as WAIVERS_DOC, WaivedSubject, Waiver};

use crate::rules::Requirements;

/// Loads and validates policy files, merged in order.
pub fn load(sources: Vec<PolicySource>) -> Result<Policy, InvalidPolicy> {
    let trees = parse_files(&sources);
    load_parsed(sources, trees, false)
}

/// [`load`] with the files already parsed (`trees[i]` is `sources[i]`'s), in
/// three phases: each file decoded ([`decode`]), the files merged
/// ([`merge`]), the whole validated with its defaults ([`validate`]), every
/// problem of every phase reported at once. `trusted`: these very sources
/// loaded without an error before, with this build ([`Decoder::trusted`]);
/// only the hooks' cache says so.
pub(crate) fn load_parsed(
    sources: Vec<PolicySource>,
    trees: Vec<Result<Node, serde_saphyr::Error>>,
    trusted: bool,
) -> Result<Policy, InvalidPolicy> {
    if sources.len() > decode::MAX_POLICY_FILES {
        let errors = vec![decode::too_many_files(sources.len())];
        return Err(InvalidPolicy { sources, errors });
    }
    let mut d = Decoder {
        trusted,
        ..Decoder::default()
    };
    let mut layers = Vec::new();
    for ((index, source), tree) in sources.iter().enumerate().zip(trees) {
        // At most `MAX_POLICY_FILES` (checked above): the index fits.
        let index = u16::try_from(index).unwrap_or(u16::MAX);
        match tree {
            Ok(root) => {
                let file = decode::decode_file(&root, &mut d);
                let origin = merge::Origin::File(index);
                layers.extend(file.map(|file| merge::Layer { origin, file }));
            }
            Err(err) => d.error(decode::syntax_error(&err, source, index)),
        }
    }
    let merged = merge::merge(layers, &mut d.errors);
    validate::validate(merged, sources, trusted, d.errors)
}

/// The built-in pack, embedded so a repository without a policy still gets checked.
pub(crate) const BUILTIN_NAME: &str = "policies/release-train.yml";
pub const BUILTIN_TEXT: &str = include_str!("../../policies/release-train.yml");

/// The only policy format version this build reads.
pub(crate) const VERSION: i64 = 1;

names! {
    /// What counts as an exempt commit message: `fixup` (`fixup! …` and
    /// `amend! …`, squashed away before merge), `squash` (`squash! …`),
    /// `merge` (`Merge …` messages git writes), `revert` (`Revert "…"`).
    #[names(what = "exemption")]
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub(crate) enum Exemption {
        Fixup = "fixup",
        Squash = "squash",
        Merge = "merge",
        Revert = "revert",
    }
}

/// The exemptions reference (`commits: { exempt }`): what `git-policy
/// explain exemptions` prints, and the "Exemptions" section of
/// docs/policy.md (tests/docs.rs keeps them equal).
pub const EXEMPTIONS_DOC: &str = r#"An exemption means what a reviewer would assume, not what a message claims:

| exemption | holds when |
|---|---|
| `merge` | git made the commit as a merge (two or more parents; in the commit-msg hook: `MERGE_HEAD` is present). A commit merely titled `Merge …` is judged. |
| `revert` | the message says `This reverts commit <sha>.` (as `git revert` writes it) and that commit is in the reverting commit's own history (in a pull request read without a clone: one of its earlier commits) — or, after a rebase rewrote both, its rebased copy is: see [hooks.md](hooks.md#reverts). A commit merely titled `Revert "…"` is judged. |
| `fixup`, `squash` | only on the developer's machine (commit-msg hook, `check commits`): in a pull request such a commit is a `squash-before-merge` finding at the level `fixups_in_pull_requests` sets (`allow` exempts it there too), and in a release audit it is judged like any other commit, since it was never squashed. |
"#;

impl Exemption {
    /// Whether the message claims this exemption (what the commit really
    /// is decides whether it holds: [`Exemption::holds`]).
    pub(crate) fn claimed_by(self, message: &str) -> bool {
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
    pub(crate) fn holds(self, commit: &crate::facts::Commit) -> bool {
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
    pub(crate) enum Merges {
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
    pub(crate) enum Fixups {
        #[default]
        Error = "error",
        Warning = "warning",
        Notice = "notice",
        Allow = "allow",
    }
}

impl Fixups {
    /// The level of the finding; `None`: allowed.
    pub(crate) fn level(self) -> Option<Level> {
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
    pub(crate) struct CommitOptions {
        /// Messages that commit rules skip. Default: all four.
        pub(crate) exempt: Vec<Exemption> => default(|| Exemption::ALL.to_vec()),
        /// Merge commits in a range: `skip` (default) or `check`.
        pub(crate) merges: Merges,
        /// `fixup!`/`squash!` commits in a pull request (they are exempt only
        /// locally, before they are squashed): `error` (default), `warning` or
        /// `notice` "to be squashed before merge", or `allow`.
        pub(crate) fixups_in_pull_requests: Fixups,
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
    pub(crate) struct AuditOptions {
        /// A range with no commit: `fail` (default, exit status 2) or `pass`.
        pub(crate) empty_range: EmptyRange,
        /// Release evidence (every change reached the branch through a pull
        /// request that passed the gate at merge time): `on` (default when the
        /// policy has `pull_request` rules; not checked without a token is a
        /// warning), `require` (not checked is an error), `warn` (bypasses are
        /// warnings), `off`.
        pub(crate) evidence: Option<Spanned<EvidenceMode>>,
        /// GitHub accounts whose commits may reach the branch without a pull
        /// request (release tooling): only commits with a valid signature
        /// whose signer is that account (not GitHub's web-flow signature).
        pub(crate) exempt_accounts: Vec<String> => with(|node, d| {
            d.strings(node).map(|v| v.into_iter().map(|s| s.value).collect())
        }),
    }
}

names! {
    /// How the release audit treats release evidence.
    #[names(what = "`evidence` value", unknown = unknown_evidence)]
    #[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
    pub(crate) enum EvidenceMode {
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
    pub(crate) enum EmptyRange {
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
        pub(crate) on: Vec<Spanned<SubjectKind>> => constraint(SOME_SUBJECT),
        /// The rule applies only when this holds.
        pub(crate) when: Option<Predicate>,
        /// The rule does not apply when this holds.
        pub(crate) unless: Option<Predicate>,
        /// What must be true.
        pub require: Requirements => required => with(decode::requirements),
        /// `error` (default) fails the check; `warning` and `notice` inform.
        pub(crate) level: Level,
        ;
        /// The whole rule.
        pub span: Span = Span::default(),
        /// Its `require:` key.
        pub require_span: Span = Span::default(),
        /// Its regexes and glob sets, compiled before it judges a subject.
        pub(crate) matchers: Vec<Matcher> = Vec::new(),
    }
}

/// `on`, when written, names a subject.
const SOME_SUBJECT: crate::syntax::Constraint<Vec<Spanned<SubjectKind>>> =
    crate::syntax::Constraint {
        check: some_subject,
        schema: crate::syntax::non_empty_list,
    };

#[expect(clippy::ptr_arg, reason = "a field check's signature takes `&Vec`")]
fn some_subject(on: &Vec<Spanned<SubjectKind>>, _: &str, node: &Node) -> Result<(), PolicyError> {
    if !on.is_empty() {
        return Ok(());
    }
    Err(PolicyError::at(ErrorCode::Empty, node.span, "`on` is an empty list: the rule would never run")
        .help("list subjects: pull_request, commit, branch, release; or remove `on` to use every subject the requirements support"))
}

impl Rule {
    /// What its requirements see of it.
    pub(crate) fn view(&self) -> RuleView<'_> {
        RuleView {
            id: &self.id,
            on: &self.on,
            when: self.when.as_ref(),
            unless: self.unless.as_ref(),
            require_span: self.require_span,
        }
    }
}

/// A policy is its definitions and its rules: where the definitions are
/// wanted (conditions, requirements), the policy will do.
impl std::ops::Deref for Policy {
    type Target = Definitions;
    fn deref(&self) -> &Definitions {
        &self.definitions
    }
}

impl crate::rules::RuleSet for Policy {
    fn definitions(&self) -> &Definitions {
        &self.definitions
    }
    fn defined_at(&self) -> &BTreeMap<(&'static str, String), Span> {
        &self.defined_at
    }
    fn each_rule(&self) -> Vec<(RuleView<'_>, &Requirements)> {
        self.rules.iter().map(|r| (r.view(), &r.require)).collect()
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

/// A whole policy: every file merged.
#[derive(Clone, Debug)]
pub struct Policy {
    /// Trackers, teams, path sets and kinds, by name.
    pub(crate) definitions: Definitions,
    pub(crate) commits: CommitOptions,
    /// Where `commits:` is set, when it is.
    pub(crate) commits_span: Option<Span>,
    pub(crate) audit: AuditOptions,
    pub rules: Vec<Rule>,
    /// The files the policy came from, for diagnostics.
    pub(crate) sources: Vec<PolicySource>,
    /// Where each named definition is: `("tickets" | "teams" | "paths" |
    /// "kinds", name)` to the span of its name.
    pub(crate) defined_at: BTreeMap<(&'static str, String), Span>,
    /// Exemptions from named rules, every file's in order.
    pub(crate) waivers: Vec<Waiver>,
    /// The regexes and glob sets of each definition, compiled when a rule
    /// that refers to it is about to judge a subject.
    pub(crate) matchers: BTreeMap<(&'static str, String), Vec<Matcher>>,
    /// Read from the hooks' kept parse ([`tree_cache`]): it holds only the
    /// rules that may judge one of [`tree_cache::HOOK_KINDS`], so it judges
    /// nothing else ([`Policy::prepare`] refuses).
    pub(crate) hooks_only: bool,
}

/// One policy file, as a schemars type: its schema is [`decode::PolicyFile`]'s.
struct TopLevel;

impl JsonSchema for TopLevel {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "git-policy policy file".into()
    }
    fn json_schema(generator: &mut schemars::SchemaGenerator) -> Schema {
        <decode::PolicyFile as Decode>::schema(generator)
    }
}

impl Policy {
    /// The JSON Schema of a policy file. An absent key and `key: null` are
    /// not the same to the loader (a null value is the wrong type), so the
    /// schema does not let optional values be null either.
    pub fn json_schema() -> Schema {
        schemars::schema_for!(TopLevel)
    }

    pub(crate) fn source(&self, span: Span) -> Option<&PolicySource> {
        self.sources.get(span.file as usize)
    }

    /// Compiles the regexes and glob sets that judging these kinds of
    /// subject needs: those of the rules on them and of the definitions
    /// those rules refer to. Every pattern's syntax was checked at load; what
    /// is compiled here can still be too large for the matcher, a policy
    /// error like the others (exit 2).
    pub fn prepare(&self, kinds: &[SubjectKind]) -> Result<(), Vec<PolicyError>> {
        self.prepare_for(kinds, Haystacks::Many)
    }

    /// [`Policy::prepare`], the regexes built for `haystacks` (a hook judges
    /// one short text: [`Haystacks::One`]).
    pub(crate) fn prepare_for(
        &self,
        kinds: &[SubjectKind],
        haystacks: Haystacks,
    ) -> Result<(), Vec<PolicyError>> {
        // A bug, never a verdict: the run stops with an internal error.
        assert!(
            !self.hooks_only || kinds.iter().all(|k| tree_cache::HOOK_KINDS.contains(k)),
            "a policy read from the hooks' kept parse holds no rule on {kinds:?}"
        );
        let mut used = crate::rules::Used::default();
        let mut errors = Vec::new();
        for rule in self
            .rules
            .iter()
            .filter(|r| r.on.iter().any(|o| kinds.contains(&o.value)))
        {
            crate::rules::rule_uses(&self.definitions, rule.view(), &rule.require, &mut used);
            errors.extend(
                rule.matchers
                    .iter()
                    .filter_map(|m| m.compile(haystacks).err()),
            );
        }
        for ((section, name), matchers) in &self.matchers {
            if used.contains(section, name) {
                errors.extend(matchers.iter().filter_map(|m| m.compile(haystacks).err()));
            }
        }
        finish_errors(errors)
    }

    /// Compiles every regex and glob set (`validate`: a set too large is
    /// reported even when no subject at hand needs it).
    pub(crate) fn prepare_all(&self) -> Result<(), Vec<PolicyError>> {
        let errors = self
            .rules
            .iter()
            .flat_map(|r| &r.matchers)
            .chain(self.matchers.values().flatten())
            .filter_map(|m| m.compile(Haystacks::Many).err())
            .collect();
        finish_errors(errors)
    }

    /// Rules that apply to a kind of subject.
    pub(crate) fn rules_on(&self, kind: SubjectKind) -> impl Iterator<Item = &Rule> {
        self.rules
            .iter()
            .filter(move |r| r.on.iter().any(|o| o.value == kind))
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
