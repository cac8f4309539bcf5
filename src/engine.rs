//! `evaluate(&Policy, Subject) -> findings`: pure, no I/O, no clock.

use std::collections::HashSet;
use std::sync::Arc;

pub use crate::outcome::{ALSO_MISSING, Finding, Outcome, Verdict};

use crate::outcome::FindingId;

use crate::facts::{Commit, Stage, Subject};
use crate::policy::{Exemption, Level, Merges, Policy};
use crate::predicates::holds;
use crate::rules::{Context, Needs, RangeJudge, Violation};

/// Why a subject was not judged at all.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Skip {
    /// Its message is exempt (`fixup!`, `Merge …`) per `commits.exempt`.
    ExemptMessage,
    /// A merge commit, with `commits.merges: skip`.
    Merge,
}

/// Why a commit is not judged, if it is not.
pub(crate) fn skip_reason(policy: &Policy, subject: &Subject<'_>) -> Option<Skip> {
    let Subject::Commit(commit) = subject else {
        return None;
    };
    if commit.is_merge() && policy.commits.merges == Merges::Skip {
        return Some(Skip::Merge);
    }
    if policy.commits.exempt.iter().any(|e| e.holds(commit))
        || (pending_fixup(policy, commit)
            && policy.commits.fixups_in_pull_requests.level().is_none())
    {
        return Some(Skip::ExemptMessage);
    }
    None
}

/// A `fixup!`/`squash!` commit in a pull request, where the policy exempts
/// those locally: it is to be squashed before merge.
fn pending_fixup(policy: &Policy, commit: &Commit) -> bool {
    commit.stage == Stage::PullRequest
        && policy.commits.exempt.iter().any(|e| {
            matches!(e, Exemption::Fixup | Exemption::Squash) && e.claimed_by(&commit.message)
        })
}

/// The finding for a `fixup!`/`squash!` commit still in a pull request.
fn squash_before_merge(
    policy: &Policy,
    commit: &Commit,
    level: Level,
    interner: &mut Interner,
) -> Finding {
    Finding {
        rule: interner.get(FindingId::SquashBeforeMerge.as_str()),
        level,
        message: interner.get(&format!(
            "{} is a `fixup!`/`squash!` commit: it is exempt from commit rules only until it is squashed, and it is still here",
            commit.label()
        )),
        help: Some(interner.get(
            "squash it into the commit it fixes (`git rebase -i --autosquash <base>`, then force-push), or merge with squash",
        )),
        commit: commit.sha.clone(),
        commit_subject: Some(crate::facts::shown_subject(commit.subject())),
        ticket: None,
        path: None,
        policy: policy.commits_span.unwrap_or_default(),
        requirement: None,
        approvals: None,
    }
}

/// Shares equal texts between findings: over a long history most findings
/// repeat the same rule id, message and help.
#[derive(Default)]
pub(crate) struct Interner(HashSet<Arc<str>>);

impl Interner {
    pub(crate) fn get(&mut self, text: &str) -> Arc<str> {
        if let Some(shared) = self.0.get(text) {
            return shared.clone();
        }
        let shared: Arc<str> = Arc::from(text);
        self.0.insert(shared.clone());
        shared
    }
}

/// Runs every rule that applies to the subject; findings come in rule order.
pub fn evaluate(policy: &Policy, subject: Subject<'_>) -> Vec<Finding> {
    evaluate_shared(policy, subject, &mut Interner::default())
}

/// [`evaluate`], sharing texts through `interner` across many subjects.
pub(crate) fn evaluate_shared(
    policy: &Policy,
    subject: Subject<'_>,
    interner: &mut Interner,
) -> Vec<Finding> {
    evaluate_with(policy, subject, None, interner)
}

/// [`evaluate_shared`] on a release whose range `judges` were fed while
/// its commits were read: a requirement that judges a range is asked
/// through its judge. Judges fed other than the release's commits judge
/// nothing: each says so (an error), never a pass.
pub(crate) fn evaluate_range(
    policy: &Policy,
    release: &crate::facts::Release,
    judges: &RangeJudges<'_>,
    interner: &mut Interner,
) -> Vec<Finding> {
    evaluate_with(policy, Subject::Release(release), Some(judges), interner)
}

/// The range judges of a policy's rules on releases (see [`RangeJudge`]),
/// each with its own state, fed every commit of the release's range once,
/// in the walk's order, while the commits are read. Commands drive them
/// without knowing any rule's options.
pub(crate) struct RangeJudges<'p> {
    judges: Vec<(&'p str, &'static str, Box<dyn RangeJudge + 'p>)>,
    fed: u32,
}

impl<'p> RangeJudges<'p> {
    /// A judge for each requirement of a rule on releases that judges a range.
    pub(crate) fn new(policy: &'p Policy) -> Self {
        let mut judges = Vec::new();
        for rule in policy.rules_on(crate::policy::SubjectKind::Release) {
            for (info, _, requirement) in rule.require.each() {
                if let Some(judge) = requirement.range_judge(&policy.definitions, rule.view()) {
                    judges.push((rule.id.value.as_str(), info.name, judge));
                }
            }
        }
        RangeJudges { judges, fed: 0 }
    }

    /// The release's facts other than its commits, before they are fed
    /// (see [`RangeJudge::prepare`]).
    pub(crate) fn prepare(&mut self, release: &crate::facts::Release) {
        for (_, _, judge) in &mut self.judges {
            judge.prepare(release);
        }
    }

    /// The next commit of the range: its whole message.
    pub(crate) fn commit(&mut self, message: &str) {
        for (_, _, judge) in &mut self.judges {
            judge.commit(self.fed, message);
        }
        self.fed += 1;
    }

    /// How many commits were fed.
    pub(crate) fn fed(&self) -> usize {
        self.fed as usize
    }

    /// The judge of rule `rule`'s requirement `requirement`.
    pub(crate) fn judge(&self, rule: &str, requirement: &str) -> Option<&(dyn RangeJudge + 'p)> {
        self.judges
            .iter()
            .find(|(r, q, _)| *r == rule && *q == requirement)
            .map(|(_, _, judge)| &**judge)
    }

    /// The judge of rule `rule`'s requirement `requirement`, taken out.
    pub(crate) fn take(
        &mut self,
        rule: &str,
        requirement: &str,
    ) -> Option<Box<dyn RangeJudge + 'p>> {
        let at = self
            .judges
            .iter()
            .position(|(r, q, _)| *r == rule && *q == requirement)?;
        Some(self.judges.swap_remove(at).2)
    }
}

/// Judges one requirement: through its range judge when one was fed the
/// release's range, else on the subject's facts.
fn check_one(
    requirement: &dyn crate::rules::Requirement,
    name: &str,
    cx: &Context<'_>,
    judges: Option<&RangeJudges<'_>>,
    out: &mut Vec<Violation>,
) {
    let Some((judges, judge)) = judges.and_then(|j| Some((j, j.judge(&cx.rule.id.value, name)?)))
    else {
        requirement.check(cx, out);
        return;
    };
    match &cx.subject {
        Subject::Release(release) if judges.fed() == release.commits.len() => judge.judge(cx, out),
        _ => out.push(
            Violation::new(format!(
                "`{name}` was not judged: its judge was fed {} commits, and the release has {}",
                judges.fed(),
                match &cx.subject {
                    Subject::Release(release) => release.commits.len(),
                    _ => 0,
                }
            ))
            .help("this is a bug in git-policy; please report it"),
        ),
    }
}

fn evaluate_with(
    policy: &Policy,
    subject: Subject<'_>,
    judges: Option<&RangeJudges<'_>>,
    interner: &mut Interner,
) -> Vec<Finding> {
    let mut findings = Vec::new();
    if skip_reason(policy, &subject).is_some() {
        return findings;
    }
    if let Subject::Commit(commit) = &subject
        && let Some(level) = policy.commits.fixups_in_pull_requests.level()
        && pending_fixup(policy, commit)
    {
        findings.push(squash_before_merge(policy, commit, level, interner));
        return findings;
    }
    let mut violations: Vec<Violation> = Vec::new();
    let mut draft_finding = None;
    for rule in policy.rules_on(subject.kind()) {
        let cx = Context {
            definitions: &policy.definitions,
            subject,
            rule: rule.view(),
        };
        if let Some(finding) = not_judged(rule, &subject, interner) {
            findings.push(finding);
            continue;
        }
        if let Some(when) = &rule.when
            && !holds(when, &policy.definitions, &subject)
        {
            continue;
        }
        if let Some(unless) = &rule.unless
            && holds(unless, &policy.definitions, &subject)
        {
            continue;
        }
        for (info, span, requirement) in rule.require.each() {
            violations.clear();
            check_one(requirement, info.name, &cx, judges, &mut violations);
            for v in violations.drain(..) {
                let (commit, commit_subject) = match &subject {
                    Subject::Commit(c) => (
                        c.sha.clone(),
                        Some(crate::facts::shown_subject(c.subject())),
                    ),
                    _ => (None, None),
                };
                if requirement.lists_what_else_is_missing() {
                    draft_finding = Some(findings.len());
                }
                findings.push(Finding {
                    rule: interner.get(&rule.id.value),
                    // A requirement may lower its finding's level, never raise it.
                    level: v.level.map_or(rule.level, |l| l.max(rule.level)),
                    message: interner.get(&v.message),
                    help: v.help.as_deref().map(|h| interner.get(h)),
                    commit,
                    commit_subject,
                    ticket: v.ticket,
                    path: v.path,
                    policy: span,
                    requirement: Some(info.name),
                    approvals: v.approvals,
                });
            }
        }
    }
    // A draft is told everything else it still needs before it can merge.
    if let Some(index) = draft_finding {
        let others: Vec<String> = findings
            .iter()
            .enumerate()
            .filter(|(i, f)| *i != index && f.level == Level::Error)
            .map(|(_, f)| format!("{} ({})", f.rule, f.message))
            .collect();
        if !others.is_empty() {
            let message = format!(
                "{}{ALSO_MISSING}{}",
                findings[index].message,
                others.join("; ")
            );
            findings[index].message = interner.get(&message);
        }
    }
    findings
}

/// The facts judging this kind of subject needs: the union of what every
/// rule on it declares (its conditions and its requirements). Commands
/// gather exactly this.
pub(crate) fn needs(policy: &Policy, kind: crate::policy::SubjectKind) -> Needs<'_> {
    let mut needs = Needs::default();
    for rule in policy.rules_on(kind) {
        rule_needs(policy, rule, &mut needs);
    }
    needs
}

/// Whether judging this kind of subject needs its changed files.
pub(crate) fn needs_changes(policy: &Policy, kind: crate::policy::SubjectKind) -> bool {
    needs(policy, kind).changed_files
}

/// What one rule needs, added to `needs`.
pub(crate) fn rule_needs<'a>(
    policy: &'a Policy,
    rule: &'a crate::policy::Rule,
    needs: &mut Needs<'a>,
) {
    for p in rule.when.iter().chain(rule.unless.iter()) {
        p.visit(&mut |q| {
            needs.changed_files |= q.changed.is_some();
            needs.commit_accounts |= q.authors.is_some();
        });
    }
    for (_, _, requirement) in rule.require.each() {
        requirement.needs(&policy.definitions, rule.view(), needs);
    }
}

/// The expedited path a pull request took, when an applicable `approval`
/// rule's label was on it and a member of its `granted_by` teams applied
/// it: (label, who granted it, the granting teams).
pub(crate) fn expedited_grant(
    policy: &Policy,
    pr: &crate::facts::PullRequest,
) -> Option<(String, String, crate::syntax::Strings)> {
    let subject = Subject::PullRequest(pr);
    policy
        .rules_on(crate::facts::SubjectKind::PullRequest)
        .filter(|rule| applies(policy, rule, &subject))
        .filter_map(|rule| rule.require.approval.as_ref()?.value.expedited.as_ref())
        .find_map(|e| {
            let label = e.label(&pr.labels)?;
            let granter =
                crate::rules::approval::granted(e, label, &policy.definitions, pr).ok()?;
            Some((label.to_owned(), granter, e.granted_by.clone()))
        })
}

/// A rule whose `when` or `unless` reads a fact that was not gathered
/// ([`crate::predicates::ungathered`]): neither skipped nor applied on a
/// guess, but an error saying it could not be judged.
fn not_judged(
    rule: &crate::policy::Rule,
    subject: &Subject<'_>,
    interner: &mut Interner,
) -> Option<Finding> {
    let (key, why) = [("when", &rule.when), ("unless", &rule.unless)]
        .into_iter()
        .find_map(|(key, p)| Some((key, crate::predicates::ungathered(p.as_ref()?, subject)?)))?;
    let (commit, commit_subject) = match subject {
        Subject::Commit(c) => (
            c.sha.clone(),
            Some(crate::facts::shown_subject(c.subject())),
        ),
        _ => (None, None),
    };
    Some(Finding {
        rule: interner.get(&rule.id.value),
        level: Level::Error,
        message: interner.get(&format!(
            "not judged: its `{key}` cannot be evaluated ({why})"
        )),
        help: Some(interner.get(
            "run the check where git-policy can read the commit's changes (a clone with its history)",
        )),
        commit,
        commit_subject,
        ticket: None,
        path: None,
        policy: rule.span,
        requirement: None,
        approvals: None,
    })
}

/// Whether a rule runs on a subject: it is `on` the subject's kind and its
/// `when` holds and its `unless` does not.
pub fn applies(policy: &Policy, rule: &crate::policy::Rule, subject: &Subject<'_>) -> bool {
    rule.on.iter().any(|o| o.value == subject.kind())
        && rule
            .when
            .as_ref()
            .is_none_or(|w| holds(w, &policy.definitions, subject))
        && !rule
            .unless
            .as_ref()
            .is_some_and(|u| holds(u, &policy.definitions, subject))
}

/// One verdict per rule of the policy: applied (to any of `subjects`) or
/// not, and the worst level found.
pub(crate) fn verdicts(
    policy: &Policy,
    subjects: &[Subject<'_>],
    findings: &[Finding],
) -> Vec<Verdict> {
    policy
        .rules
        .iter()
        .map(|rule| {
            let worst = findings
                .iter()
                .filter(|f| *f.rule == *rule.id.value)
                .map(|f| f.level)
                .min();
            let outcome = match worst {
                Some(level) => Some(Outcome::Found(level)),
                None if subjects
                    .iter()
                    .any(|s| skip_reason(policy, s).is_none() && applies(policy, rule, s)) =>
                {
                    Some(Outcome::Passed)
                }
                None => None,
            };
            // A rule without a description is described by what it requires.
            let description = rule
                .description
                .as_ref()
                .map(|d| d.value.clone())
                .or_else(|| {
                    let names: Vec<String> = rule
                        .require
                        .each()
                        .iter()
                        .map(|(info, _, _)| format!("`{}`: {}", info.name, info.summary))
                        .collect();
                    (!names.is_empty()).then(|| names.join(" "))
                });
            Verdict {
                rule: rule.id.value.clone(),
                description,
                outcome,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::facts::{Branch, Commit};
    use crate::policy::{PolicySource, load};

    const POLICY: &str = r#"version: 1
tickets: { jira: { pattern: '\bEPL-[0-9]+\b' } }
rules:
  - id: commit-ticket
    on: [commit]
    unless: { authors: ['dependabot[bot]'] }
    require: { ticket: { in: [subject] } }
  - id: subject-length
    level: warning
    require: { message: { subject_max_length: 20 } }
  - id: branch-name
    on: [branch]
    require: { branch: { forbid: '^main$' } }
"#;

    fn policy() -> Policy {
        load(vec![PolicySource::new("p.yml", POLICY)]).unwrap_or_else(|e| panic!("{:?}", e.errors))
    }

    #[test]
    fn rules_run_on_their_subjects_only() {
        let p = policy();
        let c = Commit {
            message: "a subject that is far too long".into(),
            ..Commit::default()
        };
        let f = evaluate(&p, Subject::Commit(&c));
        let rules: Vec<(&str, Level)> = f.iter().map(|f| (&*f.rule, f.level)).collect();
        assert_eq!(
            rules,
            [
                ("commit-ticket", Level::Error),
                ("subject-length", Level::Warning)
            ]
        );
        let b = Branch {
            name: "main".into(),
        };
        let f = evaluate(&p, Subject::Branch(&b));
        assert_eq!(f.len(), 1);
        assert_eq!(&*f[0].rule, "branch-name");
    }

    #[test]
    fn unless_exempts_and_exempt_messages_skip() {
        let p = policy();
        let bot = Commit {
            message: "bump x".into(),
            author_name: Some("dependabot[bot]".into()),
            ..Commit::default()
        };
        assert!(
            evaluate(&p, Subject::Commit(&bot))
                .iter()
                .all(|f| &*f.rule != "commit-ticket")
        );
        let fixup = Commit {
            message: "fixup! EPL-1 x".into(),
            ..Commit::default()
        };
        assert_eq!(
            skip_reason(&p, &Subject::Commit(&fixup)),
            Some(Skip::ExemptMessage)
        );
        let merge = Commit {
            message: "anything".into(),
            parents: 2,
            ..Commit::default()
        };
        assert_eq!(skip_reason(&p, &Subject::Commit(&merge)), Some(Skip::Merge));
        assert!(evaluate(&p, Subject::Commit(&merge)).is_empty());
    }

    #[test]
    fn merges_are_checked_when_the_policy_says_so() {
        let text = format!("{POLICY}commits: {{ merges: check, exempt: [] }}\n");
        let p = load(vec![PolicySource::new("p.yml", text)]).unwrap();
        let merge = Commit {
            message: "Merge branch 'x'".into(),
            parents: 2,
            ..Commit::default()
        };
        assert_eq!(skip_reason(&p, &Subject::Commit(&merge)), None);
        assert!(
            evaluate(&p, Subject::Commit(&merge))
                .iter()
                .any(|f| &*f.rule == "commit-ticket")
        );
    }
}
