//! What rules refer to by name: trackers (`tickets`), teams, path sets
//! (`paths`) and change kinds (`kinds`), the conditions (`when`/`unless`)
//! and the view of a rule its requirements get. A leaf under `policy` and
//! `rules`: it imports neither.

pub(crate) mod non_tickets;
pub(crate) mod predicate;
pub(crate) mod tracker;

use std::collections::BTreeMap;

use schemars::{Schema, SchemaGenerator, json_schema};

use crate::facts::SubjectKind;
use crate::syntax::{
    Decode, Decoder, ErrorCode, Globs, Node, Pattern, PolicyError, Span, Spanned, Strings, Table,
    branch_globs, non_empty, options, undefined_name, unknown_name,
};

pub(crate) use predicate::{ChangedRef, Predicate};
pub(crate) use tracker::Tracker;

/// The named definitions of a policy, every file's merged.
#[derive(Clone, Debug, Default)]
pub struct Definitions {
    pub(crate) tickets: BTreeMap<String, Tracker>,
    pub(crate) teams: BTreeMap<String, Team>,
    pub(crate) paths: BTreeMap<String, Globs>,
    pub(crate) kinds: BTreeMap<String, Kind>,
    /// `(section, name)` of each definition written whose value failed to
    /// decode: still defined for the cross-checks, so a broken entry is
    /// reported once, not again as undefined wherever it is used. Empty in a
    /// policy that loaded.
    pub(crate) failed: std::collections::BTreeSet<(&'static str, String)>,
}

impl Definitions {
    /// Whether `name` is defined under `section` (`tickets`, `teams`,
    /// `paths`, `kinds`), its definition failed or not.
    pub(crate) fn defines(&self, section: &'static str, name: &str) -> bool {
        let decoded = match section {
            "tickets" => self.tickets.contains_key(name),
            "teams" => self.teams.contains_key(name),
            "paths" => self.paths.contains_key(name),
            "kinds" => self.kinds.contains_key(name),
            _ => false,
        };
        decoded || self.failed.contains(&(section, name.to_owned()))
    }

    /// Whether anything is defined under `section`, failed or not.
    pub(crate) fn defines_any(&self, section: &'static str) -> bool {
        let decoded = match section {
            "tickets" => !self.tickets.is_empty(),
            "teams" => !self.teams.is_empty(),
            "paths" => !self.paths.is_empty(),
            "kinds" => !self.kinds.is_empty(),
            _ => false,
        };
        decoded || self.failed.iter().any(|(s, _)| *s == section)
    }

    /// Errors for kind names that `kinds:` does not define.
    pub(crate) fn check_kinds(&self, names: &Strings, errors: &mut Vec<PolicyError>) {
        for name in names.iter().filter(|n| !self.defines("kinds", &n.value)) {
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
    pub(crate) fn check_trackers(&self, names: &Strings, errors: &mut Vec<PolicyError>) {
        for name in names.iter().filter(|n| !self.defines("tickets", &n.value)) {
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
    pub(crate) fn trackers<'a>(
        &'a self,
        names: &'a Strings,
    ) -> impl Iterator<Item = (&'a str, &'a Tracker)> {
        self.tickets
            .iter()
            .filter(move |(name, _)| names.0.is_empty() || names.contains(name))
            .map(|(n, t)| (n.as_str(), t))
    }

    /// Every named path set in `refs` is defined.
    pub(crate) fn check_changed_refs(&self, refs: &[ChangedRef], errors: &mut Vec<PolicyError>) {
        for r in refs {
            if let ChangedRef::Set(name) = r
                && !self.defines("paths", &name.value)
            {
                let defined = self.paths.keys().map(String::as_str);
                let how = "define it under `paths:`, or write a glob (a glob has `/`, `.` or `*`)";
                errors.push(undefined_name("path set", "paths", name, defined, how));
            }
        }
    }
}

/// What a requirement sees of the rule that holds it.
#[derive(Clone, Copy, Debug)]
pub struct RuleView<'a> {
    pub(crate) id: &'a Spanned<String>,
    pub(crate) on: &'a [Spanned<SubjectKind>],
    pub(crate) when: Option<&'a Predicate>,
    pub(crate) unless: Option<&'a Predicate>,
    /// Where its `require:` is written.
    pub(crate) require_span: Span,
}

options! {
    /// A team of approvers.
    #[options(what = "a team", check = has_members)]
    #[derive(Clone, Debug, Default)]
    pub(crate) struct Team {
        /// GitHub logins.
        pub(crate) members: Strings,
        /// `org/team-slug`, resolved through the GitHub API.
        pub(crate) github: Option<Spanned<String>> => with(non_empty) => check(org_slash_team),
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
    pub(crate) struct Kind {
        /// Pull request labels.
        pub(crate) labels: Strings,
        /// Branch name globs, e.g. `bugfix/*`.
        pub(crate) branches: Option<Globs> => with(branch_globs),
        /// Regex on the pull request title or the commit subject.
        pub(crate) title: Option<Pattern>,
        /// Ticket types (the tracker's own names, e.g. `Bug`): a subject whose named ticket has one is of this kind, whatever its labels say (read through a tracker's `api:`).
        pub(crate) ticket_types: Strings,
    }
}

fn has_a_signal(kind: &Kind, table: &Table<'_>) -> Result<(), PolicyError> {
    if !kind.labels.0.is_empty()
        || kind.branches.is_some()
        || kind.title.is_some()
        || !kind.ticket_types.0.is_empty()
    {
        return Ok(());
    }
    Err(PolicyError::at(
        ErrorCode::EmptyKind,
        table.span(),
        "a kind needs at least one signal",
    )
    .help("give `labels`, `branches`, `title` or `ticket_types`"))
}

impl Definitions {
    /// Kinds decided by ticket type need a tracker that can be asked.
    pub(crate) fn check_ticket_types(&self, errors: &mut Vec<PolicyError>) {
        if self.tickets.values().any(|t| t.api.is_some()) {
            return;
        }
        for (name, kind) in &self.kinds {
            if let Some(first) = kind.ticket_types.iter().next() {
                errors.push(
                    PolicyError::at(
                        ErrorCode::NoTrackerApi,
                        first.span,
                        format!("kind `{name}` is decided by ticket type, but no tracker under `tickets:` has an `api:` to read it"),
                    )
                    .help("give a tracker an `api: { kind, url, token_env }` (docs/trackers.md), or decide the kind by `labels`, `branches` or `title`"),
                );
            }
        }
    }

    /// Whether any kind is decided by ticket type.
    pub(crate) fn kinds_by_ticket_type(&self) -> bool {
        self.kinds.values().any(|k| !k.ticket_types.0.is_empty())
    }
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
