//! The expedited path (P21), shared by `approval` (the merge gate) and
//! `release_checks` (the audit): a label that counts only when a member of a
//! named team applied it, never when the author (or anyone else) claims it.

use crate::syntax::ErrorCode;
use std::collections::{BTreeMap, BTreeSet};

use crate::definitions::Definitions;
use crate::facts::LabelEvent;
use crate::syntax::{
    Decoder, Node, PolicyError, Shorthand, Strings, node::Value, options, undefined_name,
};

options! {
    /// `expedited: { labels: [...], granted_by: [teams], reviewed_by, within_hours }`
    /// in `release_checks` (`approval` takes [`ExpeditedPath`]).
    #[options(what = "`expedited`", shorthand = Granted)]
    #[derive(Clone, Debug, Default)]
    pub(crate) struct Expedited {
        /// Labels of the expedited path.
        pub(crate) labels: Strings => required,
        /// Teams whose members may grant it (the label counts only when one of
        /// them applied it, as the pull request's timeline shows).
        pub(crate) granted_by: Strings => required,
        /// Teams whose members give the post-implementation review (audit only;
        /// default: `granted_by`).
        pub(crate) reviewed_by: Strings,
        /// Hours after the merge within which that review is due (audit only; default 24).
        pub(crate) within_hours: Option<u32>,
    }
}

options! {
    /// `expedited: { labels: [...], granted_by: [teams] }` in `approval`.
    #[options(what = "`expedited`", shorthand = Granted)]
    #[derive(Clone, Debug, Default)]
    pub(crate) struct ExpeditedPath {
        /// Labels of the expedited path.
        pub(crate) labels: Strings => required,
        /// Teams whose members may grant it (the label counts only when one of
        /// them applied it, as the pull request's timeline shows).
        pub(crate) granted_by: Strings => required,
    }
}

impl From<ExpeditedPath> for Expedited {
    fn from(path: ExpeditedPath) -> Self {
        Expedited {
            labels: path.labels,
            granted_by: path.granted_by,
            ..Expedited::default()
        }
    }
}

/// The plain list of labels of earlier versions is refused: a label anyone
/// can add must not turn approvals into warnings.
pub(crate) struct Granted;

impl<T> Shorthand<T> for Granted {
    fn decode(node: &Node, d: &mut Decoder) -> Option<Option<T>> {
        if matches!(node.value, Value::Map(_)) {
            return None;
        }
        d.error(
            PolicyError::at(
                ErrorCode::ExpeditedNotGranted,
                node.span,
                "the expedited path must say who may grant it",
            )
            .label("a label alone can be added by anyone, the pull request's author included")
            .help("write `expedited: { labels: [expedited], granted_by: [rte] }`: the label then counts only when a member of `rte` applied it"),
        );
        Some(None)
    }
    fn schema(mapping: schemars::Schema) -> schemars::Schema {
        mapping
    }
}

impl Expedited {
    /// Undefined team names.
    /// The teams it names.
    pub(crate) fn uses(&self, used: &mut super::Used) {
        used.names("teams", &self.granted_by);
        used.names("teams", &self.reviewed_by);
    }

    pub(crate) fn validate(&self, policy: &Definitions, errors: &mut Vec<PolicyError>) {
        for team in self
            .granted_by
            .iter()
            .chain(self.reviewed_by.iter())
            .filter(|t| !policy.defines("teams", &t.value))
        {
            errors.push(undefined_name(
                "team",
                "teams",
                team,
                policy.teams.keys().map(String::as_str),
                "define it under `teams:` with `members` or `github`",
            ));
        }
    }

    /// Every team it names.
    pub(crate) fn teams(&self) -> impl Iterator<Item = String> + '_ {
        self.granted_by
            .iter()
            .chain(self.reviewed_by.iter())
            .map(|t| t.value.clone())
    }

    /// The expedited label among `labels`, if any.
    pub(crate) fn label<'l>(&self, labels: &'l [String]) -> Option<&'l str> {
        labels
            .iter()
            .find(|l| self.labels.iter().any(|e| e.value.eq_ignore_ascii_case(l)))
            .map(String::as_str)
    }

    /// Who applied `label` last (among events no later than `until`, when
    /// given), if it is still applied then. Events are ordered by their
    /// time, not by their place in the list; an event whose time cannot be
    /// read, or a last second holding a removal or two actors, grants
    /// nothing (which came last cannot be told).
    pub(crate) fn applied_by<'e>(
        label: &str,
        events: &'e [LabelEvent],
        until: Option<&str>,
    ) -> Option<&'e LabelEvent> {
        let mut timed = Vec::new();
        for event in events
            .iter()
            .filter(|e| e.label.eq_ignore_ascii_case(label))
        {
            let at = chrono::DateTime::parse_from_rfc3339(&event.at).ok()?;
            if until.is_none_or(|u| crate::facts::strictly_before(&event.at, u)) {
                timed.push((at, event));
            }
        }
        timed.sort_by_key(|(at, _)| *at);
        let (last, event) = *timed.last()?;
        let second = last.timestamp();
        let same: Vec<&LabelEvent> = timed
            .iter()
            .filter(|(at, _)| at.timestamp() == second)
            .map(|(_, e)| *e)
            .collect();
        let one_actor = same
            .iter()
            .all(|e| e.actor.eq_ignore_ascii_case(&event.actor));
        (same.iter().all(|e| e.added) && one_actor).then_some(event)
    }

    /// Reviewers of the post-implementation review.
    pub(crate) fn reviewers(&self) -> &Strings {
        if self.reviewed_by.0.is_empty() {
            &self.granted_by
        } else {
            &self.reviewed_by
        }
    }

    pub(crate) fn window_hours(&self) -> u32 {
        self.within_hours.unwrap_or(24)
    }
}

/// The lower-cased logins of `teams`: inline members, and members read
/// through the API (`read`, by team name). Teams given as `github:` and not
/// read are returned as unresolved (`name (org/slug)`), never as empty.
pub(crate) fn members(
    policy: &Definitions,
    teams: &Strings,
    read: &BTreeMap<String, Vec<String>>,
) -> (BTreeSet<String>, Vec<String>) {
    let mut set = BTreeSet::new();
    let mut unresolved = Vec::new();
    for team in teams.iter() {
        let Some(def) = policy.teams.get(&team.value) else {
            continue;
        };
        set.extend(def.members.iter().map(|m| m.value.to_lowercase()));
        if let Some(github) = &def.github {
            match read.get(&team.value) {
                Some(members) => set.extend(members.iter().map(|m| m.to_lowercase())),
                None => unresolved.push(format!("{} ({})", team.value, github.value)),
            }
        }
    }
    (set, unresolved)
}

/// Hours from `from` to `to` (ISO 8601 times as GitHub writes them);
/// `None` when either cannot be read.
pub(crate) fn hours_between(from: &str, to: &str) -> Option<f64> {
    let from = chrono::DateTime::parse_from_rfc3339(from).ok()?;
    let to = chrono::DateTime::parse_from_rfc3339(to).ok()?;
    Some((to - from).num_seconds() as f64 / 3600.0)
}
