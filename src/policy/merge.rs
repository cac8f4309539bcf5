//! Loading, phase 2 of 3: the decoded files ([`super::decode`]) into one
//! policy as written, with no default filled ([`super::validate`] does
//! that). A name is defined once across the files, `commits:` is set once,
//! `audit:` options are set key by key (a later file's key wins), rules
//! and waivers are every file's in order.
//!
//! Where a layer of policy read from elsewhere plugs in (a policy that
//! `extends:` names, tracker settings read from the tracker): decode it into
//! a [`PolicyFile`] with a [`super::PolicySource`] to show its errors in,
//! give it its [`Origin`], and put it in the list [`merge`] takes where it
//! ranks: an earlier layer keeps a name, a later one sets audit options.

use std::collections::BTreeMap;

use super::decode::{ByName, Definition, FailedRule, PolicyFile, RuleEntry, Setting};
use super::{CommitOptions, EmptyRange, EvidenceMode, Rule, Waiver};
use crate::definitions::Definitions;
use crate::syntax::{ErrorCode, Matcher, PolicyError, Span, Spanned};

/// Where a layer of policy comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Origin {
    /// A policy file of the repository (or the built-in pack), by its index
    /// among the sources: the `file` of every span in it.
    File(u16),
}

/// One decoded file and where it comes from.
#[derive(Debug)]
pub(crate) struct Layer {
    pub(crate) origin: Origin,
    pub(crate) file: PolicyFile,
}

/// The policy as written, every layer merged; defaults not filled.
#[derive(Debug, Default)]
pub(crate) struct Merged {
    /// The definitions whose value decoded; the names of the others are in
    /// [`Definitions::failed`].
    pub(crate) definitions: Definitions,
    /// Where each name is defined (the first definition), failed ones included.
    pub(crate) defined_at: BTreeMap<(&'static str, String), Span>,
    /// The regexes and glob sets of each definition.
    pub(crate) matchers: BTreeMap<(&'static str, String), Vec<Matcher>>,
    /// `commits:`, from the one layer that sets it.
    pub(crate) commits: Option<Setting<CommitOptions>>,
    pub(crate) audit: AuditSet,
    pub(crate) rules: Vec<Rule>,
    /// Rules that failed to decode (the policy is invalid).
    pub(crate) failed_rules: Vec<FailedRule>,
    pub(crate) waivers: Vec<Waiver>,
}

/// The `audit:` options some layer sets; the last layer to set one wins.
#[derive(Clone, Debug, Default)]
pub(crate) struct AuditSet {
    pub(crate) empty_range: Option<EmptyRange>,
    pub(crate) evidence: Option<Option<Spanned<EvidenceMode>>>,
    pub(crate) exempt_accounts: Option<Vec<String>>,
}

/// Merges the layers in order; a name defined twice and `commits:` set
/// twice are errors (the first stays).
pub(crate) fn merge(layers: Vec<Layer>, errors: &mut Vec<PolicyError>) -> Merged {
    let mut merged = Merged::default();
    for layer in layers {
        match layer.origin {
            // Every file merges alike; a layer read from elsewhere that
            // merges otherwise is told apart here.
            Origin::File(_) => {}
        }
        let file = layer.file;
        named(file.tickets, &mut merged, errors, |d| &mut d.tickets);
        named(file.teams, &mut merged, errors, |d| &mut d.teams);
        named(file.paths, &mut merged, errors, |d| &mut d.paths);
        named(file.kinds, &mut merged, errors, |d| &mut d.kinds);
        if let Some(commits) = file.commits {
            match &merged.commits {
                Some(first) => errors.push(
                    PolicyError::at(
                        ErrorCode::DuplicateDefinition,
                        commits.span,
                        "`commits:` is set in more than one policy file",
                    )
                    .help(format!(
                        "keep one; the first is at line {}",
                        first.span.line
                    )),
                ),
                None => merged.commits = Some(commits),
            }
        }
        if let Some(Setting {
            value: Some(audit),
            keys,
            ..
        }) = file.audit
        {
            let written = |key: &str| keys.iter().any(|k| k == key);
            let set = &mut merged.audit;
            if written("empty_range") {
                set.empty_range = Some(audit.empty_range);
            }
            if written("evidence") {
                set.evidence = Some(audit.evidence);
            }
            if written("exempt_accounts") {
                set.exempt_accounts = Some(audit.exempt_accounts);
            }
        }
        for rule in file.rules.0 {
            match rule {
                RuleEntry::Decoded(rule) => merged.rules.push(*rule),
                RuleEntry::Failed(failed) => merged.failed_rules.push(failed),
            }
        }
        merged.waivers.extend(file.waivers.0);
    }
    merged
}

/// Adds one layer's definitions of a kind; a name defined by an earlier
/// layer is an error, and the first definition stays.
fn named<T: Definition>(
    entries: ByName<T>,
    merged: &mut Merged,
    errors: &mut Vec<PolicyError>,
    map: fn(&mut Definitions) -> &mut BTreeMap<String, T>,
) {
    let (section, what) = (T::SECTION, T::WHAT);
    for entry in entries.0 {
        let name = entry.name;
        let key = (section, name.value.clone());
        if let Some(first) = merged.defined_at.get(&key) {
            errors.push(
                PolicyError::at(
                    ErrorCode::DuplicateDefinition,
                    name.span,
                    format!("{what} `{}` is defined twice", name.value),
                )
                .label("second definition")
                .help(format!(
                    "the first is at line {} of policy file #{}; rename or remove one",
                    first.line,
                    first.file + 1
                )),
            );
            continue;
        }
        merged.defined_at.insert(key.clone(), name.span);
        if !entry.matchers.is_empty() {
            merged.matchers.insert(key.clone(), entry.matchers);
        }
        match entry.value {
            Some(value) => {
                map(&mut merged.definitions).insert(name.value, value);
            }
            None => {
                merged.definitions.failed.insert(key);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::policy::{EvidenceMode, PolicySource, load};

    fn codes(files: &[&str]) -> Vec<&'static str> {
        let sources = files
            .iter()
            .enumerate()
            .map(|(i, text)| PolicySource::new(format!("p{i}.yml"), *text))
            .collect();
        let invalid = load(sources).unwrap_err();
        invalid.errors.iter().map(|e| e.code).collect()
    }

    /// Each file is decoded whole before the files are merged: a definition
    /// (or `commits:`) written again in a later file is a duplicate, and
    /// its own problems are reported too (the one-pass loader skipped a
    /// duplicate unread, so they showed only once the first was removed).
    #[test]
    fn a_second_definition_is_a_duplicate_and_its_own_problems_show_too() {
        let first =
            "version: 1\ntickets:\n  jira: { pattern: 'A-[0-9]+' }\ncommits: { merges: check }\n";
        let second = "version: 1\ntickets:\n  jira: { pattern: '[' }\ncommits: { merges: bogus }\n";
        assert_eq!(
            codes(&[first, second]),
            [
                "policy::duplicate-definition",
                "policy::invalid-regex",
                "policy::duplicate-definition",
                "policy::unknown-value",
            ]
        );
    }

    /// Audit options are set key by key: a later file's key wins, the
    /// others stay as earlier files set them, the rest take their default.
    #[test]
    fn audit_options_merge_key_by_key() {
        let first = "version: 1\naudit: { empty_range: pass, evidence: off }\n";
        let second = "version: 1\naudit: { evidence: warn }\n";
        let policy = load(vec![
            PolicySource::new("a.yml", first),
            PolicySource::new("b.yml", second),
        ])
        .unwrap();
        assert_eq!(policy.audit.empty_range, crate::policy::EmptyRange::Pass);
        assert_eq!(
            policy.audit.evidence.map(|e| e.value),
            Some(EvidenceMode::Warn)
        );
        assert!(policy.audit.exempt_accounts.is_empty());
        assert_eq!(policy.commits.exempt.len(), 4, "the default: all four");
    }
}
