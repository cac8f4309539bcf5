//! Requirements: one file each, registered here.
//!
//! Each file holds its documentation (`DOC`, printed by `explain` and
//! rendered into `docs/`), its options declared once (`options!`: the
//! struct, its decoding and its schema), their validation and check.
//! Requirements see the policy's [`Definitions`] and a [`RuleView`] of their
//! rule, never the policy itself: `rules` builds on `syntax`, `definitions`
//! and `facts`, and `policy` holds the rules.

pub(crate) mod approval;
pub(crate) mod branch;
pub(crate) mod expedited;
pub(crate) mod incident_tests;
pub(crate) mod kind;
pub(crate) mod labels;
pub(crate) mod message;
pub(crate) mod milestone;
mod pattern;
pub(crate) mod ready;
pub(crate) mod release_checks;
pub(crate) mod release_page;
pub(crate) mod review_requests;
pub(crate) mod sections;
pub(crate) mod tests_changed;
pub(crate) mod ticket;
pub(crate) mod title;
mod tracked;

use schemars::{Schema, SchemaGenerator, json_schema};

use std::collections::BTreeMap;

pub(crate) use crate::outcome::MissingApprovals;

use crate::definitions::{Definitions, RuleView};
use crate::facts::{Subject, SubjectKind};
use crate::syntax::{
    Decode, Decoder, Level, Node, PolicyError, Span, Spanned, Spec, Table, schema_of,
};

/// What a requirement needs to judge a subject.
pub struct Context<'a> {
    /// What the rule can refer to by name.
    pub(crate) definitions: &'a Definitions,
    pub(crate) subject: Subject<'a>,
    /// The rule being checked (its conditions name the paths it guards).
    pub(crate) rule: RuleView<'a>,
}

/// A requirement not met: what is missing and how to fix it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Violation {
    pub(crate) message: String,
    pub(crate) help: Option<String>,
    pub(crate) ticket: Option<String>,
    pub(crate) path: Option<String>,
    /// A lower level than the rule's (the expedited path turns approval
    /// errors into warnings); never a higher one.
    pub(crate) level: Option<Level>,
    /// Approvals still missing, in a form commands can act on (review requests).
    pub(crate) approvals: Option<Box<MissingApprovals>>,
}

impl Violation {
    pub(crate) fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            ..Self::default()
        }
    }

    pub(crate) fn help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }
}

/// The facts a policy needs gathered before it can judge a kind of
/// subject: each requirement and condition declares its own, and commands
/// gather the union ([`crate::engine::needs`]). Commands and sources ask
/// this, never a rule's options.
#[derive(Default)]
pub struct Needs<'a> {
    /// The files each subject changes (a pull request, each commit).
    pub(crate) changed_files: bool,
    /// The GitHub account of each commit (conditions on `authors`: in a
    /// pull request, commits are matched by proved account).
    pub(crate) commit_accounts: bool,
    /// Every account GitHub associates with a pull request's commits
    /// (approvals and grants: the authors of its commits give neither).
    pub(crate) commit_writers: bool,
    /// Labels (lower case) whose history matters: who applied them (the
    /// pull request's timeline), read when the pull request carries one.
    pub(crate) label_events: std::collections::BTreeSet<String>,
    /// Policy team names whose members the judgement needs.
    pub(crate) teams: std::collections::BTreeSet<String>,
    /// Teams whose members may grant an exception (the expedited path): read
    /// when possible; when not, nothing is granted (never a pass).
    pub(crate) grant_teams: std::collections::BTreeSet<String>,
    /// Release pages to read, with the tickets their rule counts.
    pub(crate) release_pages: Vec<release_page::PageQuery<'a>>,
    /// Incident tickets whose regression tests must be found.
    pub(crate) incident_references: Vec<incident_tests::IncidentQuery<'a>>,
    /// The release commit's checks and the expedited pull requests.
    pub(crate) status_checks: Vec<release_checks::ChecksQuery<'a>>,
    /// Trackers whose API must be asked about the tickets named, with the
    /// fields (tracker field ids) the policy asks about.
    pub(crate) tracker_fields:
        std::collections::BTreeMap<String, std::collections::BTreeSet<String>>,
    /// A release rule reads its commits' whole messages from the facts: a
    /// `ticket` rule on releases asks a tracker about every ticket named,
    /// in a body too.
    pub(crate) release_bodies: bool,
}

impl Needs<'_> {
    /// Whether a release rule reads its commits' whole messages from the
    /// facts: an `incident_tests` rule, or a `ticket` rule asking a tracker
    /// (a `release_page` rule's judge is fed them while the commits are
    /// read, see [`RangeJudge`]). Else the audit keeps each commit's
    /// subject only, which is all the summary and the evidence show:
    /// 100,000 messages are 60 MB.
    pub(crate) fn release_messages(&self) -> bool {
        self.release_bodies || !self.incident_references.is_empty()
    }
}

/// The definitions (`tickets`, `teams`, `paths`, `kinds`) that rules refer
/// to, to warn about the others (as cargo-deny warns about unused allow entries).
#[derive(Default)]
pub struct Used {
    names: std::collections::BTreeSet<(&'static str, String)>,
    every: std::collections::BTreeSet<&'static str>,
}

impl Used {
    /// `name` under `section` is used.
    pub(crate) fn name(&mut self, section: &'static str, name: &str) {
        self.names.insert((section, name.to_owned()));
    }

    pub(crate) fn names(&mut self, section: &'static str, names: &crate::syntax::Strings) {
        for n in names.iter() {
            self.name(section, &n.value);
        }
    }

    /// Every definition under `section` is used (a default such as "every tracker").
    pub(crate) fn every(&mut self, section: &'static str) {
        self.every.insert(section);
    }

    /// Path-set names among `changed`-style references.
    pub(crate) fn path_sets(&mut self, refs: &[crate::definitions::ChangedRef]) {
        for r in refs {
            if let crate::definitions::ChangedRef::Set(name) = r {
                self.name("paths", &name.value);
            }
        }
    }

    pub(crate) fn contains(&self, section: &'static str, name: &str) -> bool {
        self.every.contains(section) || self.names.contains(&(section, name.to_owned()))
    }
}

/// What [`unused_definitions`] reads of a policy: its definitions, where
/// each is written, and its rules (the policy implements it; `rules` does
/// not know the policy's type).
pub trait RuleSet {
    fn definitions(&self) -> &Definitions;
    /// `("tickets" | "teams" | "paths" | "kinds", name)` to where it is written.
    fn defined_at(&self) -> &BTreeMap<(&'static str, String), Span>;
    /// Each rule, with what it requires.
    fn each_rule(&self) -> Vec<(RuleView<'_>, &Requirements)>;
}

/// The definitions one rule refers to, through its conditions and its
/// requirements.
pub(crate) fn rule_uses(
    definitions: &Definitions,
    rule: RuleView<'_>,
    require: &Requirements,
    used: &mut Used,
) {
    for p in rule.when.iter().chain(rule.unless.iter()) {
        p.visit(&mut |q| {
            if let Some(kinds) = &q.kind {
                used.names("kinds", kinds);
            }
            if let Some(changed) = &q.changed {
                used.path_sets(changed);
            }
        });
    }
    for (_, _, requirement) in require.each() {
        requirement.uses(definitions, used);
    }
}

/// Definitions no rule refers to: `(section, name, where it is defined)`,
/// in file order.
pub fn unused_definitions(policy: &impl RuleSet) -> Vec<(&'static str, &str, Span)> {
    let mut used = Used::default();
    for (rule, require) in policy.each_rule() {
        rule_uses(policy.definitions(), rule, require, &mut used);
    }
    let mut out: Vec<(&'static str, &str, Span)> = policy
        .defined_at()
        .iter()
        .filter(|((section, name), _)| !used.contains(section, name))
        .map(|((section, name), span)| (*section, name.as_str(), *span))
        .collect();
    out.sort_by_key(|(_, _, span)| *span);
    out
}

/// What a requirement's validation sees ([`Requirement::validate`]).
pub struct Validation<'a> {
    /// What the rule can refer to by name.
    pub(crate) definitions: &'a Definitions,
    /// The rule that holds it (`on` as written: empty when left out).
    pub(crate) rule: RuleView<'a>,
    /// Where the requirement is written: its key under `require:`.
    pub(crate) span: Span,
}

/// The behaviour every requirement provides.
pub trait Requirement {
    /// The definitions it refers to, by name or by default (for warnings
    /// about unused ones).
    fn uses(&self, _policy: &Definitions, _used: &mut Used) {}
    /// The facts this requirement needs gathered (default: none beyond the subject's own).
    fn needs<'a>(&'a self, _policy: &'a Definitions, _rule: RuleView<'a>, _needs: &mut Needs<'a>) {}
    /// Cross-checks against the rest of the policy (names it refers to) and
    /// the rule that holds it, each error at the span of what is wrong (the
    /// requirement's own key: [`Validation::span`]).
    fn validate(&self, _cx: &Validation<'_>, _errors: &mut Vec<PolicyError>) {}
    /// Whether a rule that leaves out `on` judges `subject` with it, among
    /// the subjects it can be checked on (default: every one).
    fn on_by_default(&self, _subject: SubjectKind) -> bool {
        true
    }
    /// Judges one subject; pushes a violation per thing missing.
    fn check(&self, cx: &Context<'_>, out: &mut Vec<Violation>);
    /// Its judge of a range of commits (a release), when it judges one as
    /// a whole: the engine feeds it each commit while the range is read
    /// and asks it, not [`Requirement::check`], to judge the release.
    fn range_judge<'a>(
        &'a self,
        _policy: &'a Definitions,
        _rule: RuleView<'a>,
    ) -> Option<Box<dyn RangeJudge + 'a>> {
        None
    }
    /// Whether its finding tells the subject everything else it is missing
    /// (a draft is told what it needs before it can merge).
    fn lists_what_else_is_missing(&self) -> bool {
        false
    }
}

/// A requirement's judge of a range of commits (a release), with its own
/// state: fed each commit of the range once, in the walk's order, while
/// the commits are read, it keeps only what it needs of them (the facts
/// need not keep 100,000 messages), then judges the release with the rest
/// of the facts. The engine drives it ([`crate::engine::RangeJudges`]);
/// commands and sources never see its options.
pub trait RangeJudge: Send + Sync {
    /// The release's facts other than its commits (its page, its version),
    /// read before the walk: what it judges of them alone is judged now,
    /// while little else is held in memory. Used only if the release it
    /// judges has the same.
    fn prepare(&mut self, _release: &crate::facts::Release) {}
    /// Commit number `index` of the range (walk order), its whole message.
    fn commit(&mut self, index: u32, message: &str);
    /// Judges the release once every commit of its range was fed.
    fn judge(&self, cx: &Context<'_>, out: &mut Vec<Violation>);
    /// What it kept, for its requirement's own use outside judging (the
    /// release summary); the requirement knows the type.
    fn kept(&self) -> &(dyn std::any::Any + Send + Sync);
    /// What it kept, taken (moved into the summary rather than copied).
    fn into_kept(self: Box<Self>) -> Box<dyn std::any::Any + Send + Sync>;
}

/// Registry entry: a requirement's name, where it can run, and its docs.
pub struct Info {
    pub name: &'static str,
    pub(crate) subjects: &'static [SubjectKind],
    pub(crate) summary: &'static str,
    pub doc: &'static str,
}

macro_rules! requirements {
    ($($name:ident),* $(,)?) => {
        /// What a rule requires; each key is one requirement.
        #[derive(Clone, Debug, Default)]
        pub struct Requirements {
            $( pub $name: Option<Spanned<$name::Options>>, )*
        }

        /// Every requirement, in the order they are checked.
        pub const ALL: &[Info] = &[
            $( Info { name: stringify!($name), subjects: $name::SUBJECTS, summary: $name::SUMMARY, doc: $name::DOC }, )*
        ];

        /// Each key is one requirement, decoded and described by its file's
        /// `Options` ([`Decode`]), shorthands such as `ticket: true` included.
        impl Decode for Requirements {
            const NAME: Option<&'static str> = Some("Requirements");

            /// An empty `require` is refused by the rule (it requires nothing).
            fn empty_is_valid() -> bool {
                false
            }

            fn decode(node: &Node, d: &mut Decoder) -> Option<Requirements> {
                const NAMES: &[&str] = &[$(stringify!($name)),*];
                let mut table = Table::open(node, "`require`", NAMES, d)?;
                let mut out = Requirements::default();
                $(
                    if let Some(key) = table.key(stringify!($name)) {
                        out.$name = table
                            .optional::<Option<$name::Options>>(d, stringify!($name), Spec::new())
                            .flatten()
                            .map(|options| Spanned::new(options, key.span));
                    }
                )*
                (!table.failed()).then_some(out)
            }

            fn schema(generator: &mut SchemaGenerator) -> Schema {
                let mut properties = serde_json::Map::new();
                $(
                    let mut schema = schema_of::<$name::Options>(generator);
                    schema.insert("description".into(), $name::SUMMARY.into());
                    properties.insert(stringify!($name).into(), schema.to_value());
                )*
                json_schema!({
                    "description": "What a rule requires; each key is one requirement (`git-policy explain NAME`).",
                    "type": "object",
                    "properties": properties,
                    "additionalProperties": false,
                    "minProperties": 1
                })
            }
        }

        impl Requirements {
            /// Each requirement present, with its registry entry and the span of its key.
            pub fn each(&self) -> Vec<(&'static Info, Span, &dyn Requirement)> {
                let mut out: Vec<(&'static Info, Span, &dyn Requirement)> = Vec::new();
                let mut index = 0;
                $(
                    if let Some(options) = &self.$name {
                        out.push((&ALL[index], options.span, &options.value));
                    }
                    index += 1;
                )*
                let _ = index;
                out
            }
        }
    };
}

requirements!(
    ticket,
    title,
    branch,
    message,
    kind,
    labels,
    sections,
    tests_changed,
    milestone,
    ready,
    approval,
    release_page,
    incident_tests,
    release_checks,
);

/// The registry entry for a requirement name.
pub(crate) fn info(name: &str) -> Option<&'static Info> {
    ALL.iter().find(|i| i.name == name)
}

/// `docs/rules.md`: every requirement's documentation, generated from the
/// rule files (a test fails when the checked-in file drifts).
pub fn reference_markdown() -> String {
    let mut out = String::from(
        "<!-- Generated from src/rules/*.rs by `UPDATE_DOCS=1 cargo test --test docs`; do not edit. -->\n\
         # Requirements\n\n\
         A rule's `require:` holds one or more requirements; every one must be met.\n\
         `git-policy explain NAME` prints the same text.\n\n\
         | requirement | what it checks | subjects |\n|---|---|---|\n",
    );
    for info in ALL {
        let on: Vec<&str> = info.subjects.iter().map(|s| s.name()).collect();
        out.push_str(&format!(
            "| [`{}`](#{}) | {} | {} |\n",
            info.name,
            info.name,
            info.summary,
            on.join(", ")
        ));
    }
    for info in ALL {
        out.push_str(&format!("\n# `{}`\n\n{}\n\n", info.name, info.summary));
        // Sections of the rule doc become sub-headings of this page.
        out.push_str(
            &info
                .doc
                .replace("\n## ", "\n### ")
                .replacen("## ", "### ", 1),
        );
    }
    out.push_str(&format!(
        "\n# Conditions (`when` / `unless`)\n\n{}",
        crate::predicates::DOC
    ));
    out
}
