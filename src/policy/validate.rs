//! Loading, phase 3 of 3: the merged policy ([`super::merge`]) into the
//! [`Policy`] the engine uses, or every problem found. The only place
//! defaults are filled (`commits`, `audit`, a rule's `on`). Each requirement
//! validates its own options ([`crate::rules::Requirement::validate`]); what
//! is checked here is what no one requirement knows: rule ids, the subjects
//! a rule names, the names its conditions use, the waivers.

use std::collections::{BTreeMap, BTreeSet};

use super::decode::FailedRule;
use super::merge::{AuditSet, Merged};
use super::{AuditOptions, Policy, PolicySource, Predicate, Rule, SubjectKind};
use crate::definitions::Definitions;
use crate::rules::Validation;
use crate::syntax::{ErrorCode, Haystacks, PolicyError, Span, Spanned};

/// The policy did not load; every problem found, with the texts to show them in.
#[derive(Debug)]
pub struct InvalidPolicy {
    pub(crate) sources: Vec<PolicySource>,
    pub errors: Vec<PolicyError>,
}

/// The merged policy, checked, with its defaults. `errors`: those the
/// earlier phases found (cross-checks run after them too, so every problem
/// shows at once). `trusted`: read from the hooks' kept parse
/// ([`Policy::hooks_only`]).
pub(crate) fn validate(
    mut merged: Merged,
    sources: Vec<PolicySource>,
    trusted: bool,
    mut errors: Vec<PolicyError>,
) -> Result<Policy, InvalidPolicy> {
    let failed_rules = std::mem::take(&mut merged.failed_rules);
    let mut policy = with_defaults(merged, sources, trusted);
    policy.definitions.check_ticket_types(&mut errors);
    check_rule_ids(&policy.rules, &mut errors);
    for rule in &policy.rules {
        check_rule(rule, &policy.definitions, &mut errors);
    }
    for rule in &mut policy.rules {
        default_subjects(rule, &mut errors);
    }
    // A rule that failed to decode is not also an unknown rule where a
    // waiver names it; the names its conditions use are still checked.
    let failed_ids: BTreeSet<&str> = failed_rules
        .iter()
        .filter_map(|r| r.id.as_deref())
        .collect();
    super::waiver::validate(&policy, &failed_ids, &mut errors);
    for condition in failed_rules.iter().flat_map(|r| &r.conditions) {
        condition.visit(&mut |p| check_predicate(p, &policy.definitions, &mut errors));
    }
    if errors.is_empty() {
        return Ok(policy);
    }
    Err(invalid(policy, &failed_rules, errors))
}

/// The policy as written with the defaults of what no layer sets (a
/// rule's `on` is filled once its rule is checked: [`default_subjects`]).
fn with_defaults(merged: Merged, sources: Vec<PolicySource>, trusted: bool) -> Policy {
    Policy {
        definitions: merged.definitions,
        // A setting no layer writes (or one that failed: the policy is
        // invalid), not a fact: its documented default.
        commits: merged
            .commits
            .as_ref()
            .and_then(|c| c.value.clone())
            .unwrap_or_default(),
        commits_span: merged.commits.map(|c| c.span),
        audit: audit_options(merged.audit),
        rules: merged.rules,
        sources,
        defined_at: merged.defined_at,
        waivers: merged.waivers,
        matchers: merged.matchers,
        hooks_only: trusted,
    }
}

/// Every problem at once: those found compiling the policy's regexes and
/// glob sets (examples that do not match, sets too large), a failed rule's
/// included, join the others, in the order of the files.
fn invalid(
    policy: Policy,
    failed_rules: &[FailedRule],
    mut errors: Vec<PolicyError>,
) -> InvalidPolicy {
    let compiled = policy
        .rules
        .iter()
        .flat_map(|r| &r.matchers)
        .chain(policy.matchers.values().flatten())
        .chain(failed_rules.iter().flat_map(|r| &r.matchers))
        .filter_map(|m| m.compile(Haystacks::Many).err());
    errors.extend(compiled);
    errors.sort_by_key(|e| e.span);
    errors.dedup();
    InvalidPolicy {
        sources: policy.sources,
        errors,
    }
}

/// The audit options: each as the last layer to set it wrote it, else its default.
fn audit_options(set: AuditSet) -> AuditOptions {
    let default = AuditOptions::default();
    AuditOptions {
        empty_range: set.empty_range.unwrap_or(default.empty_range),
        evidence: set.evidence.unwrap_or(default.evidence),
        exempt_accounts: set.exempt_accounts.unwrap_or(default.exempt_accounts),
    }
}

/// Rule ids are kebab-case and unique.
fn check_rule_ids(rules: &[Rule], errors: &mut Vec<PolicyError>) {
    let mut ids: BTreeMap<&str, Span> = BTreeMap::new();
    for rule in rules {
        let id = &rule.id;
        if !is_kebab_case(&id.value) {
            errors.push(
                PolicyError::at(
                    ErrorCode::InvalidId,
                    id.span,
                    format!("rule id `{}` is not kebab-case", id.value),
                )
                .help(format!(
                    "use lower-case words joined by dashes, e.g. `{}`",
                    to_kebab(&id.value)
                )),
            );
        }
        if let Some(first) = ids.get(id.value.as_str()) {
            errors.push(
                PolicyError::at(
                    ErrorCode::DuplicateRuleId,
                    id.span,
                    format!("rule id `{}` is used twice", id.value),
                )
                .label("second use")
                .help(format!(
                    "rule ids must be unique (findings carry them); the first is at line {}",
                    first.line
                )),
            );
        } else {
            ids.insert(&id.value, id.span);
        }
    }
}

/// One rule: the names its conditions use, each requirement's own
/// validation, and the subjects it names can be judged by each.
fn check_rule(rule: &Rule, definitions: &Definitions, errors: &mut Vec<PolicyError>) {
    for predicate in rule.when.iter().chain(rule.unless.iter()) {
        predicate.visit(&mut |p| check_predicate(p, definitions, errors));
    }
    for (info, span, requirement) in rule.require.each() {
        let cx = Validation {
            definitions,
            rule: rule.view(),
            span,
        };
        requirement.validate(&cx, errors);
        for subject in rule.on.iter().filter(|s| !info.subjects.contains(&s.value)) {
            errors.push(
                PolicyError::at(
                    ErrorCode::RequirementNotOnSubject,
                    subject.span,
                    format!("requirement `{}` cannot be checked on `{}`", info.name, subject.value),
                )
                .label(format!("`{}` has no meaning here", info.name))
                .help(format!(
                    "`{}` works on: {}; remove `{}` from `on`, or move the requirement to its own rule",
                    info.name,
                    info.subjects.iter().map(|s| s.name()).collect::<Vec<_>>().join(", "),
                    subject.value
                )),
            );
        }
    }
}

/// A rule that leaves out `on` judges every subject each of its
/// requirements can be checked on and judges by default.
fn default_subjects(rule: &mut Rule, errors: &mut Vec<PolicyError>) {
    if !rule.on.is_empty() {
        return;
    }
    let each = rule.require.each();
    let supported: Vec<SubjectKind> = SubjectKind::ALL
        .into_iter()
        .filter(|s| {
            each.iter()
                .all(|(info, _, r)| info.subjects.contains(s) && r.on_by_default(*s))
        })
        .collect();
    if supported.is_empty() {
        errors.push(
            PolicyError::at(
                ErrorCode::NoCommonSubject,
                rule.require_span,
                format!(
                    "the requirements of rule `{}` share no subject",
                    rule.id.value
                ),
            )
            .help("split it into rules whose requirements work on the same subject, or set `on`"),
        );
    }
    rule.on = supported
        .into_iter()
        .map(|s| Spanned::new(s, rule.require_span))
        .collect();
}

fn check_predicate(p: &Predicate, definitions: &Definitions, errors: &mut Vec<PolicyError>) {
    if let Some(kinds) = &p.kind {
        definitions.check_kinds(kinds, errors);
    }
    if let Some(refs) = &p.changed {
        definitions.check_changed_refs(refs, errors);
    }
}

fn is_kebab_case(id: &str) -> bool {
    !id.is_empty()
        && id.split('-').all(|part| {
            !part.is_empty()
                && part
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        })
}

fn to_kebab(id: &str) -> String {
    let mut out = String::new();
    for c in id.chars() {
        if c.is_ascii_alphanumeric() {
            if c.is_ascii_uppercase() && !out.is_empty() && !out.ends_with('-') {
                out.push('-');
            }
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('-') && !out.is_empty() {
            out.push('-');
        }
    }
    out.trim_end_matches('-').to_owned()
}

#[cfg(test)]
mod tests {
    use crate::policy::{PolicySource, load};

    /// The codes of the errors loading `text` reports.
    fn codes(text: &str) -> Vec<&'static str> {
        let invalid = load(vec![PolicySource::new("p.yml", text)]).unwrap_err();
        invalid.errors.iter().map(|e| e.code).collect()
    }

    /// An empty path set used to be left out of the definitions: every
    /// condition naming it was also an "undefined path set".
    #[test]
    fn an_empty_path_set_is_not_also_undefined_where_a_condition_names_it() {
        let text = "version: 1\npaths:\n  iac: []\nrules:\n  - id: tests\n    on: [pull_request]\n    when: { changed: [iac] }\n    require: { tests_changed: { paths: [iac] } }\n";
        assert_eq!(codes(text), ["policy::empty-path-set"]);
    }

    /// A rule that failed to decode used to be unknown to the waivers:
    /// every waiver naming it was also an "undefined rule".
    #[test]
    fn a_rule_that_fails_is_not_also_unknown_where_a_waiver_names_it() {
        let text = "version: 1\ntickets:\n  jira: { pattern: 'EPL-[0-9]+' }\nrules:\n  - id: commit-ticket\n    on: [commit]\n    require: { ticket: { in: [mesage] } }\nwaivers:\n  - commit: 3f2a9c1e5b7d4c2a9e8f1b3c5d7e9f0a1b2c3d4e\n    rules: [commit-ticket]\n    reason: outage\n    granted_by: rte\n";
        assert_eq!(codes(text), ["policy::unknown-value"]);
        // A rule that is not written at all is still unknown.
        let unknown = text.replace("rules: [commit-ticket]", "rules: [commit-tickets]");
        assert_eq!(
            codes(&unknown),
            ["policy::unknown-value", "policy::undefined-name"]
        );
    }

    /// A tracker that failed to decode used to stand in as one without an
    /// `api:`: a rule asking its API about tickets was also told so.
    #[test]
    fn a_tracker_that_fails_is_not_also_without_an_api_where_a_rule_names_it() {
        let text = "version: 1\ntickets:\n  jira: { pattern: 'EPL-[0-9]+', url: 3 }\nrules:\n  - id: ticket-exists\n    on: [pull_request]\n    require: { ticket: { trackers: [jira], exists: true } }\n";
        assert_eq!(codes(text), ["policy::wrong-type"]);
    }

    /// Every kind of definition whose value fails is still defined for the
    /// cross-checks (no placeholder stands in for it), and nothing that
    /// failed reaches a policy.
    #[test]
    fn a_definition_that_fails_is_reported_once_wherever_it_is_used() {
        let text = "version: 1\ntickets:\n  jira: { pattern: '[' }\nteams:\n  infra: { members: 3 }\npaths:\n  iac: ['[']\nkinds:\n  bug: { labels: 3 }\nrules:\n  - id: r\n    on: [pull_request]\n    when: { kind: [bug], changed: [iac] }\n    require:\n      ticket: { trackers: [jira] }\n      approval: { groups: [{ teams: [infra] }] }\n";
        let codes = codes(text);
        assert!(
            !codes.contains(&"policy::undefined-name") && !codes.contains(&"policy::no-trackers"),
            "{codes:?}"
        );
        assert_eq!(codes.len(), 4, "one error per broken definition: {codes:?}");
    }
}
