//! Every requirement has a fixture folder, fixtures/requirements/<name>/:
//! `policy.yml` (rules that use it), `pass*.yml` cases that meet it and
//! `fail*.yml` cases that do not, each failure rendered by the human report
//! the user sees and snapshotted (ruff's fixture-per-rule).

use std::path::{Path, PathBuf};

use git_policy::engine::{Finding, applies, evaluate};
use git_policy::facts::{Branch, Commit, PullRequest, Release, Subject};
use git_policy::policy::{Policy, PolicySource, load};
use git_policy::report::Report;
use git_policy::report::human::{Style, render_report};
use git_policy::report::inert::{Inert, Mode};
use git_policy::rules::ALL;
use serde::Deserialize;

/// One case: exactly one subject, as the sources would gather it.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Fixture {
    commit: Option<Commit>,
    branch: Option<Branch>,
    pull_request: Option<PullRequest>,
    release: Option<Release>,
}

impl Fixture {
    fn subject(&self, path: &Path) -> Subject<'_> {
        match (
            &self.commit,
            &self.branch,
            &self.pull_request,
            &self.release,
        ) {
            (Some(c), None, None, None) => Subject::Commit(c),
            (None, Some(b), None, None) => Subject::Branch(b),
            (None, None, Some(pr), None) => Subject::PullRequest(pr),
            (None, None, None, Some(r)) => Subject::Release(r),
            _ => panic!(
                "{}: give exactly one of commit, branch, pull_request, release",
                path.display()
            ),
        }
    }
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/requirements")
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The folder's policy, named by its path in the repository (the snapshot
/// shows it), checked to hold a rule that requires it.
fn policy_of(requirement: &str) -> Policy {
    let name = format!("fixtures/requirements/{requirement}/policy.yml");
    let policy = load(vec![PolicySource::new(
        &name,
        read(&root().join(requirement).join("policy.yml")),
    )])
    .unwrap_or_else(|e| panic!("{name} is invalid: {:?}", e.errors));
    assert!(
        policy.rules.iter().any(|rule| rule
            .require
            .each()
            .iter()
            .any(|(info, _, _)| info.name == requirement)),
        "{name}: no rule requires `{requirement}`"
    );
    policy
}

/// The cases of a folder starting with `prefix`, by file stem, sorted.
fn cases(requirement: &str, prefix: &str) -> Vec<(String, PathBuf)> {
    let mut out: Vec<(String, PathBuf)> = std::fs::read_dir(root().join(requirement))
        .unwrap_or_else(|e| panic!("fixtures/requirements/{requirement}: {e}"))
        .map(|entry| entry.unwrap().path())
        .filter_map(|path| {
            let stem = path.file_stem()?.to_str()?.to_owned();
            (stem.starts_with(prefix) && path.extension()? == "yml").then_some((stem, path))
        })
        .collect();
    out.sort();
    out
}

fn render(policy: &Policy, subject: Subject<'_>, findings: Vec<Finding>) -> String {
    let report = Report {
        subject_kind: subject.kind().name(),
        subject_ref: subject.kind().name().to_owned(),
        findings,
        checked: 1,
        ..Report::default()
    };
    let rendered = render_report(
        &report,
        policy,
        Style {
            color: false,
            width: 100,
        },
    );
    // What the user sees: the writer passes every line through `Inert`.
    Inert::default().text(&rendered, Mode::Text).into_owned()
}

/// No line the runner would read as a workflow command (`::cmd` at the
/// start of a line, `##[cmd]` anywhere; `\r` also ends a line).
fn runner_commands(rendered: &str) -> Vec<&str> {
    rendered
        .split(['\n', '\r'])
        .filter(|line| line.trim_start().starts_with("::") || line.contains("##["))
        .collect()
}

#[test]
fn every_requirement_has_a_fixture_folder_and_no_folder_is_without_one() {
    for info in ALL {
        let dir = root().join(info.name);
        assert!(
            dir.join("policy.yml").is_file(),
            "requirement `{}` has no fixtures/requirements/{}/policy.yml",
            info.name,
            info.name
        );
    }
    for entry in std::fs::read_dir(root()).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        assert!(
            ALL.iter().any(|i| i.name == name),
            "fixtures/requirements/{name} names no requirement"
        );
    }
}

/// Reads a case and judges it with the folder's policy.
fn judge(policy: &Policy, path: &Path, check: &mut dyn FnMut(Subject<'_>, Vec<Finding>)) {
    let fixture: Fixture =
        serde_saphyr::from_str(&read(path)).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let subject = fixture.subject(path);
    policy
        .prepare(&[subject.kind()])
        .unwrap_or_else(|e| panic!("{}: {e:?}", path.display()));
    check(subject, evaluate(policy, subject));
}

#[test]
fn every_requirement_passes_its_passing_cases() {
    let mut wrong = Vec::new();
    for info in ALL {
        let policy = policy_of(info.name);
        let passing = cases(info.name, "pass");
        if passing.is_empty() {
            wrong.push(format!("{}: no pass*.yml", info.name));
        }
        for (case, path) in passing {
            judge(&policy, &path, &mut |subject, findings| {
                // A pass no rule looked at proves nothing.
                if !policy.rules.iter().any(|r| applies(&policy, r, &subject)) {
                    wrong.push(format!(
                        "{}/{case}: no rule of the policy applies",
                        info.name
                    ));
                }
                if !findings.is_empty() {
                    wrong.push(format!(
                        "{}/{case} should pass; got:\n{}",
                        info.name,
                        render(&policy, subject, findings)
                    ));
                }
            });
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn every_requirement_fails_its_failing_cases_with_a_rendered_finding() {
    let mut wrong = Vec::new();
    for info in ALL {
        let policy = policy_of(info.name);
        let failing = cases(info.name, "fail");
        if failing.is_empty() {
            wrong.push(format!("{}: no fail*.yml", info.name));
        }
        for (case, path) in failing {
            judge(&policy, &path, &mut |subject, findings| {
                if !findings.iter().any(|f| f.requirement == Some(info.name)) {
                    wrong.push(format!(
                        "{}/{case} should fail `{}`; got {findings:?}",
                        info.name, info.name
                    ));
                }
                let rendered = render(&policy, subject, findings);
                let commands = runner_commands(&rendered);
                if !commands.is_empty() {
                    wrong.push(format!("{}/{case}: not inert: {commands:?}", info.name));
                }
                let name = info.name;
                insta::assert_snapshot!(format!("{name}-{case}"), rendered);
            });
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}
