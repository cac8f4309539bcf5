use crate::syntax::ErrorCode;
use std::collections::{BTreeMap, BTreeSet};

pub(crate) use crate::outcome::Request;

use super::{Context, Requirement, Violation};
use crate::definitions::{ChangedRef, Definitions, RuleView};
use crate::facts::SubjectKind;
use crate::facts::{PullRequest, Stance, Subject};
use crate::predicates::changed_matches;
use crate::syntax::{
    Decode, Decoder, Level, Node, PolicyError, Strings, Table, did_you_mean, names, options,
    schema_of, undefined_name,
};

pub(crate) const SUMMARY: &str =
    "Approvals from teams or people, counted per group, fresh enough, with no changes requested.";

pub(crate) const DOC: &str = r#"## What it checks
Each group needs `count` approvals from its `teams` (names under `teams:`)
and `users` (GitHub logins); a group with neither accepts anyone. Several
groups in one rule each need their own count.

- Only each reviewer's latest approval or change request counts (a dismissed
  review counts as neither); comments do not change a stance.
- Only a peer's approval counts: never the author's, never a bot's (a login
  ending `[bot]`: GitHub Apps, `github-actions[bot]`), and never that of an
  account GitHub associates with one of its commits as author or committer
  (proved or not), even when someone else opened the pull request. When the
  commits' accounts could not be read, no approval counts.
- A change request from someone who could approve blocks the group.
- `fresh: head` counts only approvals of the head commit (GitHub's "dismiss
  stale approvals": a push needs a new approval; the built-in pack's peer
  review and RTE review use it); `fresh: paths` also keeps older approvals
  when no file matching the rule's `changed` paths was touched since the
  approved commit; `fresh: any` (default) counts all.
- `expedited: { labels: [expedited], granted_by: [rte] }` (P21): with one of
  these labels, **applied by a member of a `granted_by` team** (the pull
  request's timeline says who applied it, the latest by time), a missing
  approval is a warning, not an error, and the finding says who granted it
  and that a post-implementation review is due. No grant, the finding says
  why and stays an error: a label applied by anyone else, by the pull
  request's author or an author of its commits (even in a `granted_by`
  team); code that reached the head at or after the label (a commit's
  committer date, a force-push): a grant covers the code it was given for;
  label events whose order cannot be told (a removal or two actors in the
  last second).

The finding names the paths that made the rule apply, the approvals still
needed, who can give them, and approvals that do not count (an older
commit's, or someone outside the group's).

`request` makes `check pr --request-reviews` (the Action's default) ask for
the missing reviews once the pull request is ready for review, never on a
draft: `request: true` asks as many people as approvals are missing (a
`github:` team is asked as the team, `members` and `users` one by one, in
the order the policy lists them); `request: all` asks everyone who can
approve; `request: { count: N }` keeps up to N reviews asked at once. Never
the author, never someone already asked or who reviewed the head commit;
a re-run asks for nothing more.

## Why
P11: every fix is peer reviewed by someone other than the author. P12: bug
fixes are reviewed by the RTE. P14–P19: Platform Engineering approves CI/CD,
production configuration, deployment, IaC, network and access changes. P20:
the architecture review approves architectural changes. P21: the expedited
path.

## Example policy
```yaml
teams:
  platform-engineering: { members: [asherman, agaete, rdetjens] }
  rte: { github: example-org/release-train }
paths:
  iac: ['*.tf', 'terraform/**']
rules:
  - id: iac-approval
    on: [pull_request]
    when: { changed: [iac] }
    require:
      approval:
        groups:
          - { teams: [platform-engineering], count: 1, fresh: paths }
          - { count: 1 }            # and a peer review by anyone
        expedited: { labels: [expedited], granted_by: [rte] }
        request: true               # ask the missing reviewers (check pr --request-reviews)
```

## How to fix
Request a review from one of the people the finding names; after new pushes,
ask them to re-approve when the rule counts only fresh approvals.
"#;

pub(crate) const SUBJECTS: &[SubjectKind] = &[SubjectKind::PullRequest];

/// Approvals the pull request needs, as [`Written`] says them: one group
/// inline, or several under `groups`.
#[derive(Clone, Debug, Default)]
pub struct Options {
    pub(crate) groups: Vec<Group>,
    pub(crate) expedited: Option<super::expedited::Expedited>,
    pub(crate) request: Option<Request>,
}

impl Decode for Options {
    fn decode(node: &Node, d: &mut Decoder) -> Option<Self> {
        let written = Written::decode(node, d)?;
        let groups = match written.groups {
            Some(groups) => groups,
            None => vec![Group {
                teams: written.teams,
                users: written.users,
                count: written.count,
                fresh: written.fresh,
            }],
        };
        Some(Options {
            groups,
            expedited: written.expedited.map(Into::into),
            request: written.request.0,
        })
    }

    fn schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schema_of::<Written>(generator)
    }
}

options! {
    /// How `approval` is written: one group inline (`teams`, `users`, `count`,
    /// `fresh`), or several under `groups`; not both.
    #[options(what = "`approval`", constraint = ONE_FORM)]
    #[derive(Clone, Debug)]
    pub(crate) struct Written {
        /// Team names (under `teams:`).
        pub(crate) teams: Strings,
        /// GitHub logins.
        pub(crate) users: Strings,
        /// Approvals needed. Default 1.
        pub(crate) count: u32 => default(|| 1) => constraint(SOME_APPROVAL),
        /// Which approvals count: `any` (default), `head`, `paths`.
        pub(crate) fresh: Fresh,
        /// Several groups, each met on its own.
        pub(crate) groups: Option<Vec<Group>> => constraint(SOME_GROUP),
        /// The expedited path: approvals missing become warnings when a member of
        /// a `granted_by` team applied one of its labels.
        pub(crate) expedited: Option<super::expedited::ExpeditedPath>,
        /// Request the missing reviews when the pull request is ready for review
        /// (`check pr --request-reviews`): `true` as many as are missing, `all`
        /// everyone who can approve, `{ count: N }` up to N at once. A `github:`
        /// team is requested as the team; `members` and `users` by login; never
        /// the author, nor anyone already asked or who reviewed the head commit.
        pub(crate) request: RequestSetting,
    }
}

options! {
    /// One group of approvers.
    #[options(what = "an approver group")]
    #[derive(Clone, Debug)]
    pub(crate) struct Group {
        /// Team names (under `teams:`).
        pub(crate) teams: Strings,
        /// GitHub logins.
        pub(crate) users: Strings,
        /// Approvals needed. Default 1.
        pub(crate) count: u32 => default(|| 1) => constraint(SOME_APPROVAL),
        /// Which approvals count: `any` (default), `head`, `paths`.
        pub(crate) fresh: Fresh,
    }
}

names! {
    /// Which approvals still count after new commits.
    #[names(what = "`fresh` value", unknown = unknown_fresh)]
    #[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
    pub(crate) enum Fresh {
        #[default]
        Any = "any",
        Head = "head",
        Paths = "paths",
    }
}

fn unknown_fresh(node: &Node) -> PolicyError {
    let given = node.as_str().unwrap_or("");
    let error = PolicyError::at(
        ErrorCode::UnknownValue,
        node.span,
        format!("unknown `fresh` value `{given}`"),
    )
    .label("not a freshness");
    match did_you_mean(given, ["any", "head", "paths"]) {
        Some(close) => error.help(format!("did you mean `{close}`?")),
        None => error.help("use one of: any, head, paths"),
    }
}

fn some_approval(count: &u32, _: &str, node: &Node) -> Result<(), PolicyError> {
    if *count > 0 {
        return Ok(());
    }
    Err(PolicyError::at(
        ErrorCode::InvalidValue,
        node.span,
        "`count: 0` requires no approval",
    )
    .help("use `count: 1` or more, or remove the group"))
}

/// A group's `count` asks for an approval.
const SOME_APPROVAL: crate::syntax::Constraint<u32> = crate::syntax::Constraint {
    check: some_approval,
    schema: crate::syntax::at_least_one,
};

/// `request: { count }` asks for a review.
const SOME_REVIEW: crate::syntax::Constraint<u32> = crate::syntax::Constraint {
    check: some_review,
    schema: crate::syntax::at_least_one,
};

#[expect(clippy::ptr_arg, reason = "a field check's signature takes `&Vec`")]
fn lists_a_group(groups: &Vec<Group>, _: &str, node: &Node) -> Result<(), PolicyError> {
    if !groups.is_empty() {
        return Ok(());
    }
    Err(
        PolicyError::at(ErrorCode::Empty, node.span, "`groups` lists no group")
            .help("give at least one `{ teams: [...], count: 1 }`"),
    )
}

/// `groups`, when written, lists a group.
const SOME_GROUP: crate::syntax::Constraint<Vec<Group>> = crate::syntax::Constraint {
    check: lists_a_group,
    schema: crate::syntax::non_empty_list,
};

/// `groups` or one inline group.
const ONE_FORM: crate::syntax::TableConstraint<Written> = crate::syntax::TableConstraint {
    check: inline_or_groups,
    schema: not_both,
};

/// `groups` and an inline group are not both given.
fn inline_or_groups(written: &Written, table: &Table<'_>) -> Result<(), PolicyError> {
    if written.groups.is_none() {
        return Ok(());
    }
    match Group::KEYS.iter().find_map(|k| table.key(k)) {
        None => Ok(()),
        Some(inline) => Err(PolicyError::at(
            ErrorCode::ConflictingKeys,
            inline.span,
            "give either `groups` or one inline group, not both",
        )
        .help("move these keys into an item of `groups`")),
    }
}

fn not_both(schema: &mut schemars::Schema) {
    let both: Vec<serde_json::Value> = Group::KEYS
        .iter()
        .map(|k| serde_json::json!({ "required": ["groups", k] }))
        .collect();
    schema.insert("not".into(), serde_json::json!({ "anyOf": both }));
}

/// `request: true | false | all | { count: N }` (`false`, or absent: none).
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct RequestSetting(pub Option<Request>);

options! {
    /// `request: { count: N }`.
    #[options(what = "`request`")]
    #[derive(Clone, Copy, Debug)]
    pub(crate) struct RequestCount {
        /// Reviews outstanding at once.
        pub(crate) count: u32 => required => constraint(SOME_REVIEW),
    }
}

fn some_review(count: &u32, _: &str, node: &Node) -> Result<(), PolicyError> {
    if *count > 0 {
        return Ok(());
    }
    Err(PolicyError::at(
        ErrorCode::InvalidValue,
        node.span,
        "`request: { count: 0 }` requests no review",
    )
    .help("use `count: 1` or more, or `request: false`"))
}

impl Decode for RequestSetting {
    fn decode(node: &Node, d: &mut Decoder) -> Option<Self> {
        use crate::syntax::node::Value;
        match &node.value {
            Value::Bool(b) => Some(RequestSetting(b.then_some(Request::Missing))),
            Value::String(s) if s == "all" => Some(RequestSetting(Some(Request::All))),
            Value::Map(_) => {
                RequestCount::decode(node, d).map(|r| RequestSetting(Some(Request::Count(r.count))))
            }
            _ => {
                d.error(
                    PolicyError::at(
                        ErrorCode::WrongType,
                        node.span,
                        format!("`request` is {}", node.type_name()),
                    )
                    .help("write `request: true` (the missing count), `request: all`, or `request: { count: 2 }`"),
                );
                None
            }
        }
    }

    fn schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        let count = schema_of::<RequestCount>(generator);
        schemars::json_schema!({ "anyOf": [ { "type": "boolean" }, { "const": "all" }, count ] })
    }
}

impl Requirement for Options {
    fn uses(&self, _: &Definitions, used: &mut super::Used) {
        for group in &self.groups {
            used.names("teams", &group.teams);
        }
        if let Some(expedited) = &self.expedited {
            expedited.uses(used);
        }
    }

    fn needs<'a>(&'a self, _: &'a Definitions, _: RuleView<'a>, needs: &mut super::Needs<'a>) {
        // The authors of its commits neither approve nor grant.
        needs.commit_writers = true;
        for group in &self.groups {
            needs
                .teams
                .extend(group.teams.iter().map(|t| t.value.clone()));
        }
        if let Some(expedited) = &self.expedited {
            needs.grant_teams.extend(expedited.teams());
            needs
                .label_events
                .extend(expedited.labels.iter().map(|l| l.value.to_lowercase()));
        }
    }

    fn validate(&self, cx: &super::Validation<'_>, errors: &mut Vec<PolicyError>) {
        let (policy, rule) = (cx.definitions, cx.rule);
        if let Some(expedited) = &self.expedited {
            expedited.validate(policy, errors);
        }
        for group in &self.groups {
            for team in group
                .teams
                .iter()
                .filter(|t| !policy.defines("teams", &t.value))
            {
                let defined = policy.teams.keys().map(String::as_str);
                errors.push(undefined_name(
                    "team",
                    "teams",
                    team,
                    defined,
                    "define it under `teams:` with `members` or `github`",
                ));
            }
            if group.fresh == Fresh::Paths && rule_paths(rule).is_empty() {
                errors.push(
                    PolicyError::at(
                        ErrorCode::FreshPathsWithoutPaths,
                        rule.require_span,
                        format!(
                            "`fresh: paths` in rule `{}` has no paths to watch",
                            rule.id.value
                        ),
                    )
                    .help("add `when: { changed: [...] }` to the rule, or use `fresh: head`"),
                );
            }
        }
    }

    fn check(&self, cx: &Context<'_>, out: &mut Vec<Violation>) {
        let Subject::PullRequest(pr) = &cx.subject else {
            return;
        };
        let paths = rule_paths(cx.rule);
        let matched: Vec<&str> = pr
            .changed
            .iter()
            .flat_map(|c| c.paths())
            .filter(|p| !paths.is_empty() && changed_matches(&paths, cx.definitions, p))
            .collect();
        if pr.offline {
            // Offline, the verdict is what the offline facts decide: what
            // needs the API is a notice saying which rule and which file
            // asked for it, never a failure nor a pass.
            let changes = match matched.as_slice() {
                [] => String::new(),
                [one] => format!(" for changes to {one}"),
                [first, rest @ ..] => {
                    format!(" for changes to {first} and {} more", rest.len())
                }
            };
            for group in &self.groups {
                let mut notice = Violation::new(format!(
                    "not judged offline: approval by {}{changes} (reviews and team members come from the GitHub API)",
                    group_name(group),
                ))
                .help("run `check pr` without --offline (with GITHUB_TOKEN) to judge it");
                notice.level = Some(Level::Notice);
                notice.path = matched.first().map(|p| (*p).to_owned());
                out.push(notice);
            }
            return;
        }
        let expedited = self.expedited.as_ref().and_then(|e| {
            let label = e.label(&pr.labels)?;
            Some((e, label, granted(e, label, cx.definitions, pr)))
        });
        let stances = latest_stances(pr);
        // A review requesting changes blocks the pull request once, under
        // the first group it counts in, not again under each group.
        let mut blocking = BTreeSet::new();
        for group in &self.groups {
            let mut found = Vec::new();
            GroupCheck {
                group,
                policy: cx.definitions,
                pr,
                stances: &stances,
                request: self.request,
                single: self.groups.len() == 1,
                paths: &paths,
                matched: &matched,
            }
            .check(&mut blocking, &mut found);
            for mut v in found {
                match &expedited {
                    Some((e, label, Ok(granter))) => {
                        v.level = Some(Level::Warning);
                        v.message = format!(
                            "{} — expedited (`{label}`, granted by {granter}): a post-implementation review is due within {} hours (P21)",
                            v.message,
                            e.window_hours()
                        );
                    }
                    Some((_, label, Err(why))) => {
                        v.message = format!(
                            "{} — the `{label}` label does not make it expedited: {why}",
                            v.message
                        );
                    }
                    None => {}
                }
                out.push(v);
            }
        }
    }
}

/// Who granted the expedited path through `label`, or why nobody did. A
/// grant is a member of a `granted_by` team applying the label, who is
/// neither the pull request's author nor an author of its commits, after
/// the last code reached its head (a grant covers the code it was given for).
pub(crate) fn granted(
    expedited: &super::expedited::Expedited,
    label: &str,
    policy: &Definitions,
    pr: &PullRequest,
) -> Result<String, String> {
    let Some(events) = &pr.label_events else {
        return Err(String::from(
            "who applied it could not be read (the pull request's timeline)",
        ));
    };
    let Some(event) = super::expedited::Expedited::applied_by(label, events, None) else {
        return Err(String::from(
            "its timeline shows no one applying it last (or not in an order that can be told)",
        ));
    };
    let (members, unresolved) =
        super::expedited::members(policy, &expedited.granted_by, &pr.team_members);
    let teams: Vec<&str> = expedited
        .granted_by
        .iter()
        .map(|t| t.value.as_str())
        .collect();
    let actor = event.actor.to_lowercase();
    if actor == pr.author.to_lowercase() {
        return Err(format!(
            "it was applied by @{}, the pull request's author, who cannot grant their own expedited path",
            event.actor
        ));
    }
    match code_authors(pr) {
        None => {
            return Err(String::from(
                "who wrote its commits could not be read, so whether the label's author wrote them cannot be told",
            ));
        }
        Some(code) if code.contains(&actor) => {
            return Err(format!(
                "it was applied by @{}, an author of its commits, who cannot grant an expedited path for their own code",
                event.actor
            ));
        }
        Some(_) => {}
    }
    if !members.contains(&actor) {
        if !unresolved.is_empty() {
            return Err(format!(
                "who may grant it is unknown: the members of {} were not read",
                unresolved.join(", ")
            ));
        }
        return Err(format!(
            "it was applied by @{}, who is not in {} (only they may grant it)",
            event.actor,
            teams.join(", ")
        ));
    }
    if let Some(later) = code_after(pr, &event.at) {
        return Err(format!(
            "@{} applied it at {}, and {later}: a grant covers only the code it was given for (the label must be applied again after the last push)",
            event.actor, event.at
        ));
    }
    Ok(format!("@{}", event.actor))
}

/// The first code that reached the head at or after `granted_at` (the same
/// second is not proved to come before), or whose time cannot be read.
fn code_after(pr: &PullRequest, granted_at: &str) -> Option<String> {
    let granted = chrono::DateTime::parse_from_rfc3339(granted_at).ok();
    for code in &pr.code_events {
        let at = chrono::DateTime::parse_from_rfc3339(&code.at).ok();
        let what = match (&code.sha, code.forced) {
            (_, true) => String::from("a force-push"),
            (Some(sha), false) => format!("commit {}", sha.chars().take(7).collect::<String>()),
            (None, false) => String::from("a commit"),
        };
        match (granted, at) {
            (Some(g), Some(a)) if a.timestamp() < g.timestamp() => {}
            (_, Some(_)) => return Some(format!("{what} reached the head at {}", code.at)),
            (_, None) => {
                return Some(format!(
                    "{what} reached the head at a time that cannot be read"
                ));
            }
        }
    }
    None
}

/// A GitHub App's or Actions' account: `name[bot]` (sources write a bot's
/// login so whatever the API calls it).
pub(crate) fn is_bot(login: &str) -> bool {
    login.to_ascii_lowercase().ends_with("[bot]")
}

/// Every account (lower case) GitHub associates with a commit of the pull
/// request, as author or committer, proved or not: none of them reviews or
/// grants its own code. `None` when a commit's accounts were not read.
pub(crate) fn code_authors(pr: &PullRequest) -> Option<BTreeSet<String>> {
    let mut all = BTreeSet::new();
    for commit in &pr.commits {
        all.extend(commit.associated.as_ref()?.iter().map(|a| a.to_lowercase()));
        all.extend(commit.account.iter().map(|a| a.to_lowercase()));
    }
    Some(all)
}

/// Each reviewer's latest approval / change request / dismissal, by lower-cased login.
fn latest_stances(pr: &PullRequest) -> BTreeMap<String, (Stance, &str, &str)> {
    let mut latest = BTreeMap::new();
    for review in &pr.reviews {
        let stance = review.stance();
        if stance != Stance::None {
            latest.insert(
                review.author.to_lowercase(),
                (stance, review.author.as_str(), review.commit.as_str()),
            );
        }
    }
    latest
}

/// The path sets and globs in the rule's conditions.
fn rule_paths(rule: RuleView<'_>) -> Vec<ChangedRef> {
    let mut refs = Vec::new();
    for p in rule.when.iter() {
        p.visit(&mut |q| refs.extend(q.changed.iter().flatten().cloned()));
    }
    refs
}

/// Each reviewer's latest stance, by lower-cased login: (stance, login as
/// shown, reviewed commit).
type Stances<'a> = BTreeMap<String, (Stance, &'a str, &'a str)>;

/// One approval group judged on one pull request.
struct GroupCheck<'a> {
    group: &'a Group,
    policy: &'a Definitions,
    pr: &'a PullRequest,
    stances: &'a Stances<'a>,
    request: Option<Request>,
    /// The rule has this one group: an approval from outside it is said so
    /// (with several, it may count for another).
    single: bool,
    /// The rule's path sets and globs (for `fresh: paths`).
    paths: &'a [ChangedRef],
    /// The changed files the rule's paths matched.
    matched: &'a [&'a str],
}

/// Whose approvals count and why the others do not, for one group.
#[derive(Default)]
struct Tally<'a> {
    approvers: Vec<&'a str>,
    /// Approved an older commit than `fresh` asks for.
    stale: Vec<String>,
    blockers: Vec<&'a str>,
    /// Approved, but not in the group.
    outsiders: Vec<&'a str>,
    bots: Vec<&'a str>,
    /// The pull request's author approved it (said, so no one wonders).
    author: Vec<&'a str>,
    /// Approved, but wrote commits of the pull request.
    writers: Vec<&'a str>,
}

impl<'a> GroupCheck<'a> {
    fn check(&self, blocking: &mut BTreeSet<String>, out: &mut Vec<Violation>) {
        let author = self.pr.author.to_lowercase();
        let (eligible, unresolved) = self.eligible();
        // The authors of its code review no more than the pull request's
        // author does, whoever opened it; nor does a bot (no peer).
        let code = code_authors(self.pr);
        let judge = Eligibility {
            author: &author,
            code: code.as_ref(),
            eligible: eligible.as_ref(),
        };
        let tally = self.tally(&judge, unresolved.is_empty());
        // Approvals by people known to be eligible may already be enough; if
        // not, a team that was not read leaves the count unknown: say only that.
        // A change request from someone who may be in an unread team could block.
        let unknown_blocker = self.stances.iter().any(|(login, (stance, _, _))| {
            *stance == Stance::ChangesRequested && *login != author && !judge.may_approve(login)
        });
        if code.is_none() && !tally.approvers.is_empty() {
            out.push(
                Violation::new(format!("cannot tell whether {} wrote commits of this pull request: the GitHub accounts of its commits were not read", tally.approvers.join(", ")))
                    .help("run `check pr` with a token that can read the pull request's commits; an author of its code does not review it"),
            );
            return;
        }
        if !unresolved.is_empty()
            && (tally.approvers.len() < self.group.count as usize || unknown_blocker)
        {
            out.push(
                Violation::new(format!("cannot tell who may approve: the members of {} were not read", unresolved.join(", ")))
                    .help("list the team's `members` in the policy, or give a token that can read org team members (members:read)"),
            );
            return;
        }
        let who = group_name(self.group);
        if tally.approvers.len() < self.group.count as usize {
            out.push(self.missing(&judge, &tally, &who));
        }
        let blockers: Vec<&str> = tally
            .blockers
            .iter()
            .copied()
            .filter(|login| blocking.insert(login.to_lowercase()))
            .collect();
        if !blockers.is_empty() {
            out.push(
                Violation::new(format!(
                    "changes requested by {} ({who})",
                    blockers.join(", ")
                ))
                .help("address the review, then ask them to approve or dismiss it"),
            );
        }
    }

    /// Who may approve (`None`: anyone), and the GitHub teams whose members
    /// were not read.
    fn eligible(&self) -> (Option<BTreeSet<String>>, Vec<String>) {
        let mut unresolved = Vec::new();
        if self.group.teams.0.is_empty() && self.group.users.0.is_empty() {
            return (None, unresolved);
        }
        let mut set: BTreeSet<String> = self
            .group
            .users
            .iter()
            .map(|u| u.value.to_lowercase())
            .collect();
        for team in self.group.teams.iter() {
            let Some(def) = self.policy.teams.get(&team.value) else {
                continue;
            };
            set.extend(def.members.iter().map(|m| m.value.to_lowercase()));
            if let Some(github) = &def.github {
                match self.pr.team_members.get(&team.value) {
                    Some(members) => set.extend(members.iter().map(|m| m.to_lowercase())),
                    None => unresolved.push(format!("{} ({})", team.value, github.value)),
                }
            }
        }
        (Some(set), unresolved)
    }

    /// Whether an approval of `commit` is fresh enough for the group.
    fn fresh(&self, commit: &str) -> bool {
        match self.group.fresh {
            Fresh::Any => true,
            Fresh::Head => commit == self.pr.head_sha,
            Fresh::Paths => {
                commit == self.pr.head_sha
                    || self.pr.changed_since.get(commit).is_some_and(|since| {
                        !since
                            .iter()
                            .flat_map(|c| c.paths())
                            .any(|p| changed_matches(self.paths, self.policy, p))
                    })
            }
        }
    }

    /// Sorts each reviewer's latest stance into what counts and what does
    /// not (`teams_read`: every team's members are known).
    fn tally(&self, judge: &Eligibility<'_>, teams_read: bool) -> Tally<'a> {
        let author = judge.author;
        let mut tally = Tally::default();
        for (login, (stance, shown, commit)) in self.stances {
            if *stance == Stance::Approved && login == author {
                tally.author.push(*shown);
                continue;
            }
            if *stance == Stance::Approved && login != author {
                if is_bot(login) {
                    tally.bots.push(*shown);
                    continue;
                }
                if judge.writer(login) {
                    tally.writers.push(*shown);
                    continue;
                }
            }
            if !judge.may_approve(login) {
                if self.single && *stance == Stance::Approved && login != author && teams_read {
                    tally.outsiders.push(*shown);
                }
                continue;
            }
            match stance {
                Stance::Approved if self.fresh(commit) => tally.approvers.push(*shown),
                Stance::Approved => tally
                    .stale
                    .push(format!("{shown} (on {})", crate::text::short_sha(commit))),
                Stance::ChangesRequested => tally.blockers.push(*shown),
                _ => {}
            }
        }
        tally
    }

    /// " for changes to a, b and 3 more" (nothing when the rule names no paths).
    fn why(&self) -> String {
        if self.matched.is_empty() {
            return String::new();
        }
        let mut shown: Vec<&str> = self.matched.iter().take(5).copied().collect();
        shown.dedup();
        let more = if self.matched.len() > 5 {
            format!(" and {} more", self.matched.len() - 5)
        } else {
            String::new()
        };
        format!(" for changes to {}{more}", shown.join(", "))
    }

    /// The finding for approvals still missing, with who could give them.
    fn missing(&self, judge: &Eligibility<'_>, tally: &Tally<'_>, who: &str) -> Violation {
        let author = judge.author;
        let needed = self.group.count as usize - tally.approvers.len();
        let mut message = format!(
            "needs {} from {who}{}; has {}",
            plural_approvals(needed),
            self.why(),
            tally.approvers.len()
        );
        for (list, why) in [
            (
                &tally.stale.iter().map(String::as_str).collect::<Vec<_>>(),
                String::from("approved an older commit"),
            ),
            (&tally.author, String::from("the pull request's author")),
            (&tally.bots, String::from("a bot is no peer reviewer")),
            (&tally.writers, String::from("an author of its commits")),
            (&tally.outsiders, format!("not in {who}")),
        ] {
            if !list.is_empty() {
                message.push_str(&format!("; not counted, {why}: {}", list.join(", ")));
            }
        }
        let approved = |l: &str| tally.approvers.iter().any(|a| a.eq_ignore_ascii_case(l));
        let can_still = |l: &str| l != author && !is_bot(l) && !judge.writer(l) && !approved(l);
        let help = match judge.eligible {
            Some(set) => {
                let candidates: Vec<&str> = set
                    .iter()
                    .map(String::as_str)
                    .filter(|l| can_still(l))
                    .collect();
                if candidates.is_empty() {
                    String::from("no one else in the group can approve: add approvers to the team")
                } else {
                    format!("request a review from {}", candidates.join(", "))
                }
            }
            None => String::from("request a review from anyone but the author"),
        };
        let mut listed: Vec<String> = Vec::new();
        let inline = self.group.users.iter().map(|u| u.value.as_str()).chain(
            self.group
                .teams
                .iter()
                .filter_map(|t| self.policy.teams.get(&t.value))
                .flat_map(|def| def.members.iter().map(|m| m.value.as_str())),
        );
        for login in inline {
            let lower = login.to_lowercase();
            if lower != author
                && !judge.writer(&lower)
                && !approved(login)
                && !listed.contains(&lower)
            {
                listed.push(lower);
            }
        }
        let missing = super::MissingApprovals {
            group: who.to_owned(),
            needed: needed as u32,
            candidates: judge
                .eligible
                .into_iter()
                .flatten()
                .filter(|l| can_still(l))
                .cloned()
                .collect(),
            github_teams: self
                .group
                .teams
                .iter()
                .filter_map(|t| self.policy.teams.get(&t.value)?.github.as_ref())
                .map(|g| g.value.clone())
                .collect(),
            listed,
            request: self.request,
        };
        let mut violation = Violation::new(message).help(help);
        violation.path = self.matched.first().map(|p| (*p).to_owned());
        violation.approvals = Some(Box::new(missing));
        violation
    }
}

/// Who may approve for a group: not the author, no bot, no author of the
/// pull request's commits, and, when the group names people, one of them.
struct Eligibility<'a> {
    /// The pull request's author, lower case.
    author: &'a str,
    /// The accounts of its commits (`None`: not read).
    code: Option<&'a BTreeSet<String>>,
    /// `None`: anyone.
    eligible: Option<&'a BTreeSet<String>>,
}

impl Eligibility<'_> {
    fn writer(&self, login: &str) -> bool {
        self.code.is_some_and(|c| c.contains(login))
    }

    fn may_approve(&self, login: &str) -> bool {
        login != self.author
            && !is_bot(login)
            && !self.writer(login)
            && self.eligible.is_none_or(|e| e.contains(login))
    }
}

fn group_name(group: &Group) -> String {
    let mut parts: Vec<String> = group
        .teams
        .iter()
        .map(|t| format!("team {}", t.value))
        .collect();
    parts.extend(group.users.iter().map(|u| format!("@{}", u.value)));
    if parts.is_empty() {
        String::from("a reviewer other than the author")
    } else {
        parts.join(" or ")
    }
}

fn plural_approvals(n: usize) -> String {
    if n == 1 {
        String::from("1 more approval")
    } else {
        format!("{n} more approvals")
    }
}

#[cfg(test)]
mod tests {
    use crate::engine::evaluate;
    use crate::facts::{ChangedPath, PullRequest, Review, Subject};
    use crate::policy::{Level, Policy, PolicySource, load};

    const HEAD: &str = "1111111111111111111111111111111111111111";
    const OLD: &str = "2222222222222222222222222222222222222222";

    fn policy(approval: &str) -> Policy {
        let text = format!(
            "version: 1
teams:
  platform-engineering: {{ members: [asherman, agaete, rdetjens] }}
  rte: {{ github: example-org/release-train }}
paths:
  iac: ['*.tf', 'terraform/**']
rules:
  - id: iac-approval
    on: [pull_request]
    when: {{ changed: [iac] }}
    require:
      approval: {approval}
"
        );
        load(vec![PolicySource::new("p.yml", text)]).unwrap_or_else(|e| panic!("{:?}", e.errors))
    }

    fn review(author: &str, state: &str, commit: &str) -> Review {
        Review {
            author: author.into(),
            state: state.into(),
            commit: commit.into(),
        }
    }

    fn terraform_pr(reviews: Vec<Review>) -> PullRequest {
        PullRequest {
            number: 5,
            author: "dev".into(),
            head_sha: HEAD.into(),
            changed: vec![
                ChangedPath::new("infra/main.tf"),
                ChangedPath::new("README.md"),
            ],
            reviews,
            ..PullRequest::default()
        }
    }

    fn messages(policy: &Policy, pr: &PullRequest) -> Vec<(Level, String, Option<String>)> {
        evaluate(policy, Subject::PullRequest(pr))
            .into_iter()
            .map(|f| {
                (
                    f.level,
                    f.message.to_string(),
                    f.help.map(|h| h.to_string()),
                )
            })
            .collect()
    }

    #[test]
    fn a_member_approval_passes() {
        let p = policy("{ teams: [platform-engineering] }");
        assert!(messages(&p, &terraform_pr(vec![review("agaete", "APPROVED", HEAD)])).is_empty());
    }

    #[test]
    fn non_member_and_author_approvals_do_not_count() {
        let p = policy("{ teams: [platform-engineering] }");
        let mut pr = terraform_pr(vec![
            review("octocat", "APPROVED", HEAD),
            review("asherman", "approved", HEAD),
        ]);
        pr.author = "asherman".into();
        let found = messages(&p, &pr);
        assert_eq!(found.len(), 1, "{found:?}");
        let (level, message, help) = &found[0];
        assert_eq!(*level, Level::Error);
        assert_eq!(
            message,
            "needs 1 more approval from team platform-engineering for changes to infra/main.tf; has 0; not counted, the pull request's author: asherman; not counted, not in team platform-engineering: octocat"
        );
        assert_eq!(
            help.as_deref(),
            Some("request a review from agaete, rdetjens")
        );
    }

    #[test]
    fn fresh_head_ignores_approvals_of_older_commits() {
        let p = policy("{ teams: [platform-engineering], fresh: head }");
        let found = messages(&p, &terraform_pr(vec![review("agaete", "APPROVED", OLD)]));
        assert_eq!(found.len(), 1);
        assert!(
            found[0]
                .1
                .contains("not counted, approved an older commit: agaete (on 2222222222)"),
            "{found:?}"
        );
        let any = policy("{ teams: [platform-engineering] }");
        assert!(messages(&any, &terraform_pr(vec![review("agaete", "APPROVED", OLD)])).is_empty());
    }

    #[test]
    fn fresh_paths_keeps_approvals_while_guarded_files_are_untouched() {
        let p = policy("{ teams: [platform-engineering], fresh: paths }");
        let mut pr = terraform_pr(vec![review("agaete", "APPROVED", OLD)]);
        pr.changed_since
            .insert(OLD.into(), vec![ChangedPath::new("README.md")]);
        assert!(
            messages(&p, &pr).is_empty(),
            "only README changed since the approval"
        );
        pr.changed_since
            .insert(OLD.into(), vec![ChangedPath::new("terraform/vpc.tf")]);
        assert_eq!(
            messages(&p, &pr).len(),
            1,
            "a guarded file changed since the approval"
        );
        pr.changed_since.clear();
        assert_eq!(
            messages(&p, &pr).len(),
            1,
            "unknown changes since the approval: not fresh (fail closed)"
        );
    }

    #[test]
    fn latest_stance_wins_and_changes_requested_blocks() {
        let p = policy("{ teams: [platform-engineering] }");
        let blocked = terraform_pr(vec![
            review("agaete", "APPROVED", HEAD),
            review("rdetjens", "CHANGES_REQUESTED", HEAD),
        ]);
        let found = messages(&p, &blocked);
        assert_eq!(found.len(), 1);
        assert_eq!(
            found[0].1,
            "changes requested by rdetjens (team platform-engineering)"
        );
        // Approving later replaces the change request; a comment does not.
        let resolved = terraform_pr(vec![
            review("rdetjens", "CHANGES_REQUESTED", OLD),
            review("rdetjens", "COMMENTED", HEAD),
            review("rdetjens", "APPROVED", HEAD),
        ]);
        assert!(messages(&p, &resolved).is_empty());
        let dismissed = terraform_pr(vec![
            review("agaete", "APPROVED", HEAD),
            review("agaete", "DISMISSED", HEAD),
        ]);
        assert_eq!(
            messages(&p, &dismissed).len(),
            1,
            "a dismissed approval does not count"
        );
    }

    #[test]
    fn a_change_request_blocks_once_whatever_the_groups() {
        // Named in a team group and in the "anyone" group: one review, one
        // finding (it read as two blockers, the second "a reviewer other
        // than the author").
        let p = policy("{ groups: [{ teams: [platform-engineering] }, { count: 1 }] }");
        let blocked = terraform_pr(vec![
            review("agaete", "APPROVED", HEAD),
            review("octocat", "APPROVED", HEAD),
            review("rdetjens", "CHANGES_REQUESTED", HEAD),
        ]);
        let found = messages(&p, &blocked);
        assert_eq!(
            found.iter().map(|f| f.1.as_str()).collect::<Vec<_>>(),
            ["changes requested by rdetjens (team platform-engineering)"],
        );
    }

    #[test]
    fn groups_each_need_their_own_count() {
        let p = policy(
            "{ groups: [{ teams: [platform-engineering], count: 2 }, { users: [octocat] }] }",
        );
        let found = messages(&p, &terraform_pr(vec![review("agaete", "APPROVED", HEAD)]));
        let texts: Vec<&str> = found.iter().map(|f| f.1.as_str()).collect();
        assert_eq!(
            texts,
            [
                "needs 1 more approval from team platform-engineering for changes to infra/main.tf; has 1",
                "needs 1 more approval from @octocat for changes to infra/main.tf; has 0"
            ]
        );
    }

    #[test]
    fn the_rule_does_not_apply_without_guarded_changes() {
        let p = policy("{ teams: [platform-engineering] }");
        let mut pr = terraform_pr(vec![]);
        pr.changed = vec![ChangedPath::new("src/main.rs")];
        assert!(messages(&p, &pr).is_empty());
    }

    fn labelled(actor: &str) -> crate::facts::LabelEvent {
        crate::facts::LabelEvent {
            label: "expedited".into(),
            actor: actor.into(),
            added: true,
            at: "2026-11-20T10:00:00Z".into(),
        }
    }

    fn labelled_at(actor: &str, added: bool, at: &str) -> crate::facts::LabelEvent {
        crate::facts::LabelEvent {
            label: "expedited".into(),
            actor: actor.into(),
            added,
            at: at.into(),
        }
    }

    fn commit_by(sha: &str, associated: &[&str]) -> crate::facts::Commit {
        crate::facts::Commit {
            sha: Some(sha.into()),
            associated: Some(associated.iter().map(|a| a.to_string()).collect()),
            ..crate::facts::Commit::default()
        }
    }

    fn code_at(at: &str, forced: bool) -> crate::facts::CodeEvent {
        crate::facts::CodeEvent {
            sha: (!forced).then(|| HEAD.to_owned()),
            at: at.into(),
            forced,
        }
    }

    const EXPEDITED: &str = "{ teams: [platform-engineering], expedited: { labels: [expedited], granted_by: [platform-engineering] } }";

    /// A pull request labelled `expedited` by `events`, one commit by `dev`
    /// committed at 09:00.
    fn expedited_pr(events: Vec<crate::facts::LabelEvent>) -> PullRequest {
        let mut pr = terraform_pr(vec![]);
        pr.labels = vec!["expedited".into()];
        pr.label_events = Some(events);
        pr.commits = vec![commit_by(HEAD, &["dev"])];
        pr.code_events = vec![code_at("2026-11-20T09:00:00Z", false)];
        pr
    }

    #[test]
    fn an_author_in_the_granting_team_cannot_grant_their_own_expedited_path() {
        let p = policy(EXPEDITED);
        let mut pr = expedited_pr(vec![labelled("asherman")]);
        pr.author = "ASherman".into();
        let found = messages(&p, &pr);
        assert_eq!(found[0].0, Level::Error, "{found:?}");
        assert!(
            found[0].1.contains("the pull request's author"),
            "{}",
            found[0].1
        );
    }

    #[test]
    fn an_author_of_its_commits_cannot_grant_the_expedited_path() {
        let p = policy(EXPEDITED);
        // Someone else opened it; a granter wrote (or committed) a commit.
        for writer in [vec!["dev", "asherman"], vec!["agaete", "ASherman"]] {
            let mut pr = expedited_pr(vec![labelled("asherman")]);
            pr.commits.push(commit_by(OLD, &writer));
            let found = messages(&p, &pr);
            assert_eq!(found[0].0, Level::Error, "{found:?}");
            assert!(
                found[0].1.contains("an author of its commits"),
                "{}",
                found[0].1
            );
        }
        // Whose commits they are unknown: no grant.
        let mut pr = expedited_pr(vec![labelled("asherman")]);
        pr.commits[0].associated = None;
        let found = messages(&p, &pr);
        assert_eq!(found[0].0, Level::Error, "{found:?}");
        assert!(
            found[0]
                .1
                .contains("who wrote its commits could not be read"),
            "{}",
            found[0].1
        );
    }

    #[test]
    fn a_grant_does_not_cover_code_pushed_after_it() {
        let p = policy(EXPEDITED);
        assert_eq!(
            messages(&p, &expedited_pr(vec![labelled("asherman")]))[0].0,
            Level::Warning,
            "code committed before the grant is covered"
        );
        for (code, why) in [
            (
                code_at("2026-11-20T10:30:00Z", false),
                "reached the head at 2026-11-20T10:30:00Z",
            ),
            (
                code_at("2026-11-20T10:30:00Z", true),
                "a force-push reached the head",
            ),
            // The same second is not proved to come before the grant.
            (
                code_at("2026-11-20T10:00:00.500Z", false),
                "reached the head",
            ),
            (code_at("yesterday", false), "a time that cannot be read"),
        ] {
            let mut pr = expedited_pr(vec![labelled("asherman")]);
            pr.code_events.push(code);
            let found = messages(&p, &pr);
            assert_eq!(found[0].0, Level::Error, "{found:?}");
            assert!(found[0].1.contains(why), "{}", found[0].1);
            assert!(
                found[0]
                    .1
                    .contains("a grant covers only the code it was given for"),
                "{}",
                found[0].1
            );
        }
    }

    #[test]
    fn label_events_are_ordered_by_time_not_by_list_position() {
        let p = policy(EXPEDITED);
        // Listed last, but the granter's label came first: octocat removed
        // and re-applied it later.
        let pr = expedited_pr(vec![
            labelled_at("octocat", true, "2026-11-20T10:00:00Z"),
            labelled_at("octocat", false, "2026-11-20T10:04:00Z"),
            labelled_at("octocat", true, "2026-11-20T10:05:00Z"),
            labelled_at("asherman", true, "2026-11-20T10:01:00Z"),
        ]);
        let found = messages(&p, &pr);
        assert_eq!(found[0].0, Level::Error, "{found:?}");
        assert!(found[0].1.contains("applied by @octocat"), "{}", found[0].1);
        // Removed and applied in the same second: which came last is unknown.
        for events in [
            vec![
                labelled_at("asherman", false, "2026-11-20T10:05:00Z"),
                labelled_at("asherman", true, "2026-11-20T10:05:00Z"),
            ],
            vec![
                labelled_at("octocat", true, "2026-11-20T10:05:00Z"),
                labelled_at("asherman", true, "2026-11-20T10:05:00Z"),
            ],
            vec![labelled_at("asherman", true, "not a time")],
        ] {
            let found = messages(&p, &expedited_pr(events));
            assert_eq!(found[0].0, Level::Error, "{found:?}");
            assert!(
                found[0].1.contains("does not make it expedited"),
                "{}",
                found[0].1
            );
        }
    }

    #[test]
    fn a_bot_approval_is_no_peer_review() {
        let p = policy("{ count: 1 }");
        for bot in ["github-actions[bot]", "Renovate[BOT]"] {
            let found = messages(&p, &terraform_pr(vec![review(bot, "APPROVED", HEAD)]));
            assert_eq!(found.len(), 1, "{bot}: {found:?}");
            assert!(
                found[0]
                    .1
                    .contains("not counted, a bot is no peer reviewer"),
                "{}",
                found[0].1
            );
        }
    }

    #[test]
    fn an_author_of_its_commits_does_not_approve_them() {
        let p = policy("{ teams: [platform-engineering] }");
        // dev opened it; agaete authored (or committed) a commit of it.
        for associated in [vec!["agaete"], vec!["dev", "AGaete"]] {
            let mut pr = terraform_pr(vec![review("agaete", "APPROVED", HEAD)]);
            pr.commits = vec![commit_by(HEAD, &associated)];
            let found = messages(&p, &pr);
            assert_eq!(found.len(), 1, "{found:?}");
            assert!(
                found[0]
                    .1
                    .contains("not counted, an author of its commits: agaete"),
                "{}",
                found[0].1
            );
        }
        // A commit whose accounts were not read: the approval is not proved independent.
        let mut pr = terraform_pr(vec![review("agaete", "APPROVED", HEAD)]);
        pr.commits = vec![crate::facts::Commit::default()];
        let found = messages(&p, &pr);
        assert!(
            found[0]
                .1
                .starts_with("cannot tell whether agaete wrote commits"),
            "{found:?}"
        );
        // Someone who wrote none of it approves.
        pr.commits = vec![commit_by(HEAD, &["dev"])];
        assert!(messages(&p, &pr).is_empty());
    }

    #[test]
    fn a_granted_expedited_label_turns_missing_approval_into_a_warning() {
        let p = policy(
            "{ teams: [platform-engineering], expedited: { labels: [expedited], granted_by: [platform-engineering] } }",
        );
        let mut pr = terraform_pr(vec![]);
        pr.labels = vec!["Expedited".into()];
        pr.label_events = Some(vec![labelled("asherman")]);
        let found = messages(&p, &pr);
        assert_eq!(found[0].0, Level::Warning);
        assert!(
            found[0].1.ends_with(
                "expedited (`Expedited`, granted by @asherman): a post-implementation review is due within 24 hours (P21)"
            ),
            "{}",
            found[0].1
        );
    }

    #[test]
    fn an_expedited_label_the_author_added_grants_nothing() {
        let p = policy(
            "{ teams: [platform-engineering], expedited: { labels: [expedited], granted_by: [platform-engineering] } }",
        );
        let mut pr = terraform_pr(vec![]);
        pr.labels = vec!["expedited".into()];
        for (events, why) in [
            (
                Some(vec![labelled("dev")]),
                "it was applied by @dev, the pull request's author",
            ),
            (
                Some(vec![labelled("octocat")]),
                "it was applied by @octocat, who is not in platform-engineering",
            ),
            (None, "who applied it could not be read"),
            (
                Some(vec![
                    labelled_at("asherman", true, "2026-11-20T10:00:00Z"),
                    labelled_at("asherman", false, "2026-11-20T10:01:00Z"),
                    labelled_at("octocat", true, "2026-11-20T10:02:00Z"),
                ]),
                "it was applied by @octocat",
            ),
        ] {
            pr.label_events = events;
            let found = messages(&p, &pr);
            assert_eq!(found[0].0, Level::Error, "{found:?}");
            assert!(found[0].1.contains(why), "{}", found[0].1);
        }
    }

    #[test]
    fn a_bare_list_of_expedited_labels_is_refused() {
        let text = "version: 1\nteams: { pe: { members: [a] } }\nrules:\n  - id: x\n    on: [pull_request]\n    require:\n      approval: { teams: [pe], expedited: [expedited] }\n";
        let errors = load(vec![PolicySource::new("p.yml", text)])
            .unwrap_err()
            .errors;
        assert_eq!(errors[0].code, "policy::expedited-not-granted");
    }

    #[test]
    fn an_api_team_that_was_not_read_never_passes() {
        let p = policy("{ teams: [rte] }");
        let pr = terraform_pr(vec![review("someone", "APPROVED", HEAD)]);
        let found = messages(&p, &pr);
        assert!(found[0].1.starts_with("cannot tell who may approve: the members of rte (example-org/release-train) were not read"), "{found:?}");
        let mut read = pr.clone();
        read.team_members
            .insert("rte".into(), vec!["Someone".into()]);
        assert!(
            messages(&p, &read).is_empty(),
            "logins compare case-insensitively"
        );
    }

    #[test]
    fn anyone_but_the_author_satisfies_a_group_without_teams() {
        let p = policy("{ count: 1 }");
        assert!(messages(&p, &terraform_pr(vec![review("random", "APPROVED", HEAD)])).is_empty());
        assert_eq!(
            messages(&p, &terraform_pr(vec![review("dev", "APPROVED", HEAD)])).len(),
            1
        );
    }

    #[test]
    fn request_is_true_all_or_a_count() {
        use super::Request;
        let request = |written: &str| {
            let p = policy(&format!(
                "{{ teams: [platform-engineering], request: {written} }}"
            ));
            let options = p.rules[0].require.approval.as_ref().unwrap();
            options.value.request
        };
        assert_eq!(request("true"), Some(Request::Missing));
        assert_eq!(request("false"), None);
        assert_eq!(request("all"), Some(Request::All));
        assert_eq!(request("{ count: 2 }"), Some(Request::Count(2)));
        for wrong in ["{ count: 0 }", "some", "{ many: 2 }", "[x]"] {
            let text = format!(
                "version: 1\nteams: {{ pe: {{ members: [a] }} }}\nrules:\n  - id: x\n    on: [pull_request]\n    require:\n      approval: {{ teams: [pe], request: {wrong} }}\n"
            );
            assert!(
                load(vec![PolicySource::new("p.yml", text)]).is_err(),
                "{wrong} is refused"
            );
        }
    }

    #[test]
    fn missing_approvals_name_who_can_give_them_for_review_requests() {
        let p = policy("{ teams: [platform-engineering], fresh: head, request: true }");
        let mut pr = terraform_pr(vec![review("agaete", "APPROVED", OLD)]);
        pr.author = "RDetjens".into();
        let found = evaluate(&p, Subject::PullRequest(&pr));
        let missing = found[0].approvals.as_deref().unwrap();
        assert_eq!(missing.needed, 1);
        assert_eq!(missing.listed, ["asherman", "agaete"], "not the author");
        assert_eq!(missing.request, Some(super::Request::Missing));
        assert!(missing.github_teams.is_empty());
    }

    #[test]
    fn policy_mistakes_are_reported() {
        let text = "version: 1\nteams: { pe: { members: [a] } }\nrules:\n  - id: x\n    on: [pull_request]\n    require:\n      approval: { teams: [platform], fresh: paths, count: 0 }\n";
        let errors = load(vec![PolicySource::new("p.yml", text)])
            .unwrap_err()
            .errors;
        let codes: Vec<&str> = errors.iter().map(|e| e.code).collect();
        assert!(codes.contains(&"policy::invalid-value"), "{codes:?}");
        let text = text.replace(", count: 0", "");
        let errors = load(vec![PolicySource::new("p.yml", text)])
            .unwrap_err()
            .errors;
        let messages: Vec<&str> = errors.iter().map(|e| e.message.as_str()).collect();
        assert!(
            messages.contains(&"undefined team `platform`"),
            "{messages:?}"
        );
        assert!(
            messages
                .iter()
                .any(|m| m.contains("`fresh: paths` in rule `x` has no paths to watch")),
            "{messages:?}"
        );
    }
}
