//! `when` / `unless`: does a condition hold for a subject?
//!
//! A fact the subject does not have never holds: `labels` on a commit is
//! false, so `unless: { labels: [no-ticket] }` never exempts a commit, and
//! `when: { labels: [x] }` never selects one.

use crate::facts::Subject;

/// The conditions reference, rendered into `docs/rules.md`.
pub const DOC: &str = r#"Every key present must hold (and); a list inside a key is any-of;
`any:`, `all:` and `not:` compose. A fact the subject does not have never
holds: `labels` on a commit is false, so `unless: { labels: [no-ticket] }`
never exempts a commit, and `when: { labels: [x] }` never selects one. A
fact the subject has but that could not be read (a commit's changed files)
is no guess either way: the rule is an error, "not judged".

| key | holds when | subjects that have the fact |
|---|---|---|
| `kind` | the subject is one of these kinds (`kinds:`; by label, branch or title) | pull_request, branch, commit |
| `labels` | the pull request has one of these labels (case-insensitive) | pull_request |
| `authors` | the author is one of these: for a pull request its author's GitHub login (verified); for a commit in a pull request (the gate, the release evidence), its GitHub account only when proved — the account GitHub attributes from the author e-mail counts when it is the pull request's author, or when a valid signature by that same account (not GitHub's web-flow signature, which proves no author) signed the commit; otherwise the commit has no account and matches no `authors` (in a release audit's own commit rules, none is known); for a commit checked locally (hook, `check commits`), git's author name or email (self-asserted: anyone can set it) | pull_request, commit |
| `branches` | the head branch matches one of these globs (`*` crosses `/`) | pull_request, branch, commit (hook only) |
| `base` | the target branch matches one of these globs | pull_request |
| `changed` | a changed file (old or new path of a rename) matches a named path set or glob | pull_request, commit |
| `title` | the title (commit: subject line) matches the regex | pull_request, commit |
| `body` | the description matches the regex | pull_request |
| `message` | the commit message matches the regex | commit |
| `draft` | the draft state equals this boolean | pull_request |
| `any` | any of the listed conditions holds | all |
| `all` | all of the listed conditions hold | all |
| `not` | the condition does not hold | all |

```yaml
when:
  all:
    - { kind: bug }
    - any: [{ changed: [iac] }, { changed: ['deploy/**'] }]
unless: { labels: [expedited] }
```
"#;
use crate::definitions::{ChangedRef, Definitions, Predicate};

/// A fact the subject has but that was not gathered, read by a key of `p`
/// (nested ones too): then `p` can be neither true nor false, and the rule
/// is not judged ([`crate::engine::evaluate`] says so) rather than skipped
/// or applied on a guess. A fact the subject does not have at all (`labels`
/// on a commit) is not this: it never holds.
pub(crate) fn ungathered(p: &Predicate, subject: &Subject<'_>) -> Option<&'static str> {
    if p.changed.is_some()
        && let Subject::Commit(commit) = subject
        && commit.changed.is_none()
    {
        return Some("the commit's changed files were not read");
    }
    p.any
        .iter()
        .flatten()
        .chain(p.all.iter().flatten())
        .chain(p.not.as_deref())
        .find_map(|q| ungathered(q, subject))
}

/// Whether every key of `p` holds for the subject.
pub(crate) fn holds(p: &Predicate, policy: &Definitions, subject: &Subject<'_>) -> bool {
    holds_who(p, policy, subject)
        && holds_where(p, policy, subject)
        && holds_text(p, subject)
        && holds_combined(p, policy, subject)
}

/// `kind`, `labels`, `authors`: what the subject is and who wrote it.
fn holds_who(p: &Predicate, policy: &Definitions, subject: &Subject<'_>) -> bool {
    if let Some(kinds) = &p.kind {
        let is = kinds_of(policy, subject);
        if !kinds.iter().any(|k| is.contains(&k.value.as_str())) {
            return false;
        }
    }
    if let Some(labels) = &p.labels {
        let Subject::PullRequest(pr) = subject else {
            return false;
        };
        if !labels
            .iter()
            .any(|l| pr.labels.iter().any(|have| have.eq_ignore_ascii_case(l)))
        {
            return false;
        }
    }
    if let Some(authors) = &p.authors {
        let candidates: Vec<&str> = match subject {
            Subject::PullRequest(pr) => vec![pr.author.as_str()],
            // Locally, git's name fields are the developer's own; anywhere
            // else anyone could have written them: only a GitHub account
            // proved for the commit counts (`Commit::account`).
            Subject::Commit(c) if c.stage == crate::facts::Stage::Local => c
                .author_name
                .iter()
                .chain(c.author_email.iter())
                .map(String::as_str)
                .collect(),
            Subject::Commit(c) => c.account.iter().map(String::as_str).collect(),
            Subject::Branch(_) | Subject::Release(_) => Vec::new(),
        };
        if !authors
            .iter()
            .any(|a| candidates.iter().any(|c| c.eq_ignore_ascii_case(a)))
        {
            return false;
        }
    }
    true
}

/// `branches`, `base`, `changed`: where the subject is and what it touches.
fn holds_where(p: &Predicate, policy: &Definitions, subject: &Subject<'_>) -> bool {
    if let Some(branches) = &p.branches {
        match subject.branch() {
            Some(b) if branches.is_match(b) => {}
            _ => return false,
        }
    }
    if let Some(base) = &p.base {
        let Subject::PullRequest(pr) = subject else {
            return false;
        };
        if !base.is_match(&pr.base) {
            return false;
        }
    }
    if let Some(refs) = &p.changed {
        let Some(changed) = subject.changed() else {
            return false;
        };
        if !changed
            .iter()
            .any(|c| c.paths().any(|path| changed_matches(refs, policy, path)))
        {
            return false;
        }
    }
    true
}

/// `title`, `body`, `message`, `draft`: what the subject says.
fn holds_text(p: &Predicate, subject: &Subject<'_>) -> bool {
    if let Some(title) = &p.title {
        let text = match subject {
            Subject::PullRequest(pr) => pr.title.as_str(),
            Subject::Commit(c) => c.subject(),
            Subject::Branch(_) | Subject::Release(_) => return false,
        };
        if !title.is_match(text) {
            return false;
        }
    }
    if let Some(body) = &p.body {
        let Subject::PullRequest(pr) = subject else {
            return false;
        };
        if !body.is_match(&pr.body) {
            return false;
        }
    }
    if let Some(message) = &p.message {
        let Subject::Commit(c) = subject else {
            return false;
        };
        if !message.is_match(&c.message) {
            return false;
        }
    }
    if let Some(draft) = p.draft {
        let Subject::PullRequest(pr) = subject else {
            return false;
        };
        if pr.draft != draft {
            return false;
        }
    }
    true
}

/// `any`, `all`, `not`: predicates of predicates.
fn holds_combined(p: &Predicate, policy: &Definitions, subject: &Subject<'_>) -> bool {
    if let Some(any) = &p.any
        && !any.iter().any(|q| holds(q, policy, subject))
    {
        return false;
    }
    if let Some(all) = &p.all
        && !all.iter().all(|q| holds(q, policy, subject))
    {
        return false;
    }
    if let Some(not) = &p.not
        && holds(not, policy, subject)
    {
        return false;
    }
    true
}

/// Whether a path matches any named set or glob.
pub(crate) fn changed_matches(refs: &[ChangedRef], policy: &Definitions, path: &str) -> bool {
    refs.iter().any(|r| match r {
        ChangedRef::Set(name) => policy
            .paths
            .get(&name.value)
            .is_some_and(|g| g.is_match(path)),
        ChangedRef::Glob(_, matcher) => matcher.is_match(path),
    })
}

/// The kind names a subject is: any listed signal is enough.
pub(crate) fn kinds_of<'a>(policy: &'a Definitions, subject: &Subject<'_>) -> Vec<&'a str> {
    policy
        .kinds
        .iter()
        .filter(|(_, kind)| {
            let by_label = match subject {
                Subject::PullRequest(pr) => kind
                    .labels
                    .iter()
                    .any(|l| pr.labels.iter().any(|have| have.eq_ignore_ascii_case(l))),
                _ => false,
            };
            let by_branch = kind
                .branches
                .as_ref()
                .is_some_and(|g| subject.branch().is_some_and(|b| g.is_match(b)));
            let by_title = kind.title.as_ref().is_some_and(|t| match subject {
                Subject::PullRequest(pr) => t.is_match(&pr.title),
                Subject::Commit(c) => t.is_match(c.subject()),
                Subject::Branch(_) | Subject::Release(_) => false,
            });
            // The triager's word: a ticket of one of these types, as its
            // tracker answered (labels and branch names are the author's).
            let by_ticket = !kind.ticket_types.0.is_empty()
                && subject.tracked().is_some_and(|facts| {
                    facts.types().any(|t| {
                        kind.ticket_types
                            .iter()
                            .any(|want| want.value.eq_ignore_ascii_case(t))
                    })
                });
            by_label || by_branch || by_title || by_ticket
        })
        .map(|(name, _)| name.as_str())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::facts::{Branch, ChangedPath, Commit, PullRequest};
    use crate::policy::{Policy, PolicySource, load};

    const POLICY: &str = r#"version: 1
tickets: { jira: { pattern: '\bEPL-[0-9]+\b' } }
paths: { iac: ['**/*.tf', 'terraform/**'] }
kinds:
  bug: { labels: [bug], branches: ['bugfix/*', 'hotfix/*'], title: '^(fix|bug)\b' }
rules:
  - id: r
    when:
      all:
        - { kind: bug }
        - any: [{ changed: [iac] }, { changed: ['docs/*.md'] }]
        - not: { labels: [skip] }
    require: { tests_changed: true }
"#;

    fn setup() -> Policy {
        load(vec![PolicySource::new("p.yml", POLICY)]).unwrap_or_else(|e| panic!("{:?}", e.errors))
    }

    fn pr(labels: &[&str], head: &str, title: &str, files: &[&str]) -> PullRequest {
        PullRequest {
            labels: labels.iter().map(|s| s.to_string()).collect(),
            head: head.into(),
            title: title.into(),
            changed: files.iter().map(|f| ChangedPath::new(*f)).collect(),
            ..PullRequest::default()
        }
    }

    #[test]
    fn kind_from_any_signal() {
        let p = setup();
        assert_eq!(
            kinds_of(&p, &Subject::PullRequest(&pr(&["Bug"], "x", "y", &[]))),
            ["bug"]
        );
        assert_eq!(
            kinds_of(
                &p,
                &Subject::PullRequest(&pr(&[], "bugfix/EPL-1", "y", &[]))
            ),
            ["bug"]
        );
        assert_eq!(
            kinds_of(&p, &Subject::PullRequest(&pr(&[], "x", "fix: crash", &[]))),
            ["bug"]
        );
        assert!(
            kinds_of(
                &p,
                &Subject::PullRequest(&pr(&[], "feature/x", "feat: y", &[]))
            )
            .is_empty()
        );
        assert_eq!(
            kinds_of(
                &p,
                &Subject::Branch(&Branch {
                    name: "hotfix/EPL-2".into()
                })
            ),
            ["bug"]
        );
    }

    #[test]
    fn all_any_not_compose() {
        let p = setup();
        let when = p.rules[0].when.as_ref().unwrap();
        assert!(holds(
            when,
            &p,
            &Subject::PullRequest(&pr(&["bug"], "x", "y", &["infra/main.tf"]))
        ));
        assert!(holds(
            when,
            &p,
            &Subject::PullRequest(&pr(&["bug"], "x", "y", &["docs/a.md"]))
        ));
        assert!(!holds(
            when,
            &p,
            &Subject::PullRequest(&pr(&["bug"], "x", "y", &["docs/deep/a.md"]))
        ));
        assert!(!holds(
            when,
            &p,
            &Subject::PullRequest(&pr(&["bug", "skip"], "x", "y", &["a.tf"]))
        ));
        assert!(!holds(
            when,
            &p,
            &Subject::PullRequest(&pr(&[], "x", "y", &["a.tf"]))
        ));
    }

    #[test]
    fn facts_a_subject_lacks_never_hold() {
        let p = setup();
        let when = p.rules[0].when.as_ref().unwrap();
        let c = Commit {
            message: "fix: x".into(),
            changed: None,
            ..Commit::default()
        };
        assert!(
            !holds(when, &p, &Subject::Commit(&c)),
            "no changed files gathered: `changed` cannot hold"
        );
    }

    #[test]
    fn a_rule_whose_condition_reads_ungathered_changes_is_not_judged() {
        // A commit whose changed files were not read: `when: { changed }`
        // would skip the rule and `unless: { changed }` apply it, each on a
        // guess. Either way the rule is an error saying it was not judged.
        for condition in ["when", "unless"] {
            let text = format!(
                "version: 1\npaths: {{ iac: ['**/*.tf'] }}\nrules:\n  - id: r\n    on: [commit]\n    {condition}: {{ not: {{ changed: [iac] }} }}\n    require: {{ message: {{ pattern: '^x' }} }}\n"
            );
            let p = load(vec![PolicySource::new("p.yml", &text)])
                .unwrap_or_else(|e| panic!("{:?}", e.errors));
            let c = Commit {
                message: "fix: y".into(),
                changed: None,
                ..Commit::default()
            };
            let found = crate::engine::evaluate(&p, Subject::Commit(&c));
            let messages: Vec<&str> = found.iter().map(|f| &*f.message).collect();
            assert_eq!(
                messages,
                [format!(
                    "not judged: its `{condition}` cannot be evaluated (the commit's changed files were not read)"
                )],
                "{condition}"
            );
            assert_eq!(found[0].level, crate::policy::Level::Error);
            // With its changed files read, the rule is judged as written.
            let read = Commit {
                changed: Some(vec![ChangedPath::new("main.tf")]),
                ..c
            };
            let judged = crate::engine::evaluate(&p, Subject::Commit(&read));
            assert!(
                judged.iter().all(|f| !f.message.starts_with("not judged")),
                "{judged:?}"
            );
        }
    }

    #[test]
    fn renames_match_old_and_new_path() {
        let p = setup();
        let when = p.rules[0].when.as_ref().unwrap();
        let mut moved = pr(&["bug"], "x", "y", &[]);
        moved.changed = vec![ChangedPath {
            path: "attic/main.txt".into(),
            previous: Some("terraform/main.tf".into()),
        }];
        assert!(holds(when, &p, &Subject::PullRequest(&moved)));
    }
}
