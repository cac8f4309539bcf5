//! The shipped pack: every rule names its process statements and has a
//! passing and a failing fixture under fixtures/pack/<rule-id>/.

use std::path::Path;

use git_policy::engine::evaluate;
use git_policy::facts::{Branch, Commit, PullRequest, Release, Subject};
use git_policy::policy::{Policy, PolicySource, load};
use serde::Deserialize;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Fixture {
    commit: Option<Commit>,
    branch: Option<Branch>,
    pull_request: Option<PullRequest>,
    release: Option<Release>,
}

fn pack() -> Policy {
    load(vec![PolicySource::builtin()])
        .unwrap_or_else(|e| panic!("built-in pack invalid: {:?}", e.errors))
}

fn findings_of(policy: &Policy, path: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let fixture: Fixture =
        serde_saphyr::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let findings = match (
        &fixture.commit,
        &fixture.branch,
        &fixture.pull_request,
        &fixture.release,
    ) {
        (Some(c), None, None, None) => evaluate(policy, Subject::Commit(c)),
        (None, Some(b), None, None) => evaluate(policy, Subject::Branch(b)),
        (None, None, Some(pr), None) => evaluate(policy, Subject::PullRequest(pr)),
        (None, None, None, Some(r)) => evaluate(policy, Subject::Release(r)),
        _ => panic!(
            "{}: give exactly one of commit, branch, pull_request, release",
            path.display()
        ),
    };
    findings
        .into_iter()
        .map(|f| format!("{}: {}", f.rule, f.message))
        .collect()
}

#[test]
fn every_rule_has_a_passing_and_a_failing_fixture() {
    let policy = pack();
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/pack");
    assert!(
        policy.rules.len() >= 9,
        "the pack encodes at least P1-P9/P13"
    );
    for rule in &policy.rules {
        let id = &rule.id.value;
        let fail = findings_of(&policy, &dir.join(id).join("fail.yml"));
        assert!(
            fail.iter().any(|f| f.starts_with(&format!("{id}: "))),
            "{id}/fail.yml should fail {id}; got {fail:?}"
        );
        let pass = findings_of(&policy, &dir.join(id).join("pass.yml"));
        assert!(
            !pass.iter().any(|f| f.starts_with(&format!("{id}: "))),
            "{id}/pass.yml should pass {id}; got {pass:?}"
        );
    }
    // No fixture folder for a rule that no longer exists.
    for entry in std::fs::read_dir(&dir).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        assert!(
            policy.rules.iter().any(|r| r.id.value == name),
            "fixtures/pack/{name} has no rule"
        );
    }
}

#[test]
fn every_rule_names_its_process_statements() {
    let p_id = regex::Regex::new(r"\bP([0-9]+)\b").unwrap();
    let mut covered = std::collections::BTreeSet::new();
    for rule in &pack().rules {
        let description = rule
            .description
            .as_ref()
            .map(|d| d.value.as_str())
            .unwrap_or("");
        let ids: Vec<u32> = p_id
            .captures_iter(description)
            .map(|c| c[1].parse().unwrap())
            .collect();
        assert!(
            !ids.is_empty(),
            "rule {} names no P id: {description:?}",
            rule.id.value
        );
        covered.extend(ids);
    }
    // Every statement of PROCESS.md.
    for required in 1..=28 {
        assert!(covered.contains(&required), "P{required} is not encoded");
    }
}

#[test]
fn the_bug_template_left_unfilled_names_every_empty_section() {
    let policy = pack();
    let dir =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/pack/bug-reproduction-steps/fail.yml");
    let found: Vec<String> = findings_of(&policy, &dir)
        .into_iter()
        .filter(|f| f.starts_with("bug-reproduction-steps"))
        .collect();
    insta::assert_snapshot!(found.join("\n"));
}

/// The pack's exemptions hold only for what a pull request's author cannot
/// claim: a bot's branch name without the bot's account, a long-lived
/// branch name as a pull request's head, exempt nothing.
#[test]
fn exemptions_need_what_an_author_cannot_claim() {
    let policy = pack();
    let failing = |yaml: &str| -> Vec<String> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("case.yml");
        std::fs::write(&path, yaml).unwrap();
        findings_of(&policy, &path)
            .into_iter()
            .map(|f| f.split(':').next().unwrap_or_default().to_owned())
            .collect()
    };
    let pr = |author: &str, head: &str| {
        format!(
            "pull_request: {{ number: 1, title: 'Bump serde', author: '{author}', head: '{head}', base: main, labels: [improvement], reviews: [] }}\n"
        )
    };
    let claimed = failing(&pr("mallory", "renovate/serde-1.x"));
    assert!(
        claimed.contains(&"pull-request-ticket".to_owned()),
        "{claimed:?}"
    );
    assert!(claimed.contains(&"peer-review".to_owned()), "{claimed:?}");
    assert!(claimed.contains(&"branch-ticket".to_owned()), "{claimed:?}");
    let bot = failing(&pr("renovate[bot]", "renovate/serde-1.x"));
    for rule in ["pull-request-ticket", "peer-review", "branch-ticket"] {
        assert!(!bot.contains(&rule.to_owned()), "{rule}: {bot:?}");
    }
    let develop = failing(&pr("mallory", "develop"));
    assert!(develop.contains(&"branch-ticket".to_owned()), "{develop:?}");
    // Checked on its own (the hook), a long-lived branch is exempt.
    let local = failing("branch: { name: develop }\n");
    assert!(!local.contains(&"branch-ticket".to_owned()), "{local:?}");
}

/// P11 "reviewed" means this code: the pack's peer review counts only an
/// approval of the head commit (a push after it needs a new one), and an
/// approval by a bot or by an author of its commits is no peer review.
#[test]
fn peer_review_counts_a_fresh_independent_approval_only() {
    let policy = pack();
    let failed = |reviewer: &str, commit: &str, associated: &str| -> bool {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("case.yml");
        // No `associated` given: no commits listed.
        let commits = if associated.is_empty() {
            String::from("[]")
        } else {
            format!(
                "[{{ sha: '1111111111111111111111111111111111111111', message: 'EPL-12 change', associated: [{associated}] }}]"
            )
        };
        let yaml = format!(
            "pull_request:\n  number: 12\n  author: dev\n  title: 'EPL-12 Change'\n  head: 'feature/EPL-12-change'\n  labels: [improvement]\n  head_sha: '1111111111111111111111111111111111111111'\n  commits: {commits}\n  reviews: [{{ author: '{reviewer}', state: APPROVED, commit: '{commit}' }}]\n"
        );
        std::fs::write(&path, yaml).unwrap();
        findings_of(&policy, &path)
            .iter()
            .any(|f| f.starts_with("peer-review:"))
    };
    let head = "1111111111111111111111111111111111111111";
    let older = "3333333333333333333333333333333333333333";
    assert!(
        !failed("colleague", head, ""),
        "a colleague approved the head"
    );
    assert!(failed("colleague", older, ""), "approved an older head");
    assert!(failed("github-actions[bot]", head, ""), "a bot approved");
    assert!(!failed("colleague", head, "dev"), "someone else wrote it");
    assert!(
        failed("colleague", head, "colleague"),
        "an author of its commits approved"
    );
}

/// The rules the pack ships commented out (`#~`: they need a tracker's
/// API) load once uncommented, and each passes and fails its fixture under
/// fixtures/pack-api/<rule-id>/ (facts with what the tracker answered).
#[test]
fn rules_needing_a_tracker_api_work_once_uncommented() {
    let text: String = PolicySource::builtin()
        .text
        .lines()
        .map(|line| {
            let indent = line.len() - line.trim_start().len();
            match line.trim_start().strip_prefix("#~ ") {
                Some(rest) => format!("{}{rest}\n", &line[..indent]),
                None => format!("{line}\n"),
            }
        })
        .collect();
    assert!(
        text.lines().all(|l| !l.trim_start().starts_with("#~")),
        "every `#~` line is followed by a space"
    );
    let policy = load(vec![PolicySource::new("release-train.yml", text)])
        .unwrap_or_else(|e| panic!("uncommented pack invalid: {:?}", e.errors));
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/pack-api");
    let mut seen = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let id = entry.unwrap().file_name().to_string_lossy().into_owned();
        assert!(
            policy.rules.iter().any(|r| r.id.value == id),
            "fixtures/pack-api/{id} has no rule"
        );
        let fail = findings_of(&policy, &dir.join(&id).join("fail.yml"));
        assert!(
            fail.iter().any(|f| f.starts_with(&format!("{id}: "))),
            "{id}/fail.yml should fail {id}; got {fail:?}"
        );
        let pass = findings_of(&policy, &dir.join(&id).join("pass.yml"));
        assert!(
            !pass.iter().any(|f| f.starts_with(&format!("{id}: "))),
            "{id}/pass.yml should pass {id}; got {pass:?}"
        );
        seen += 1;
    }
    assert_eq!(seen, 3, "P1/P2, P4-P6 and P29 have their fixtures");
}
