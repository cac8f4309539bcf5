//! action.yml and its scripts: inputs reach scripts only through `env:`, the
//! scripts parse, third-party actions are pinned, and the run step refuses a
//! `policy:` inside a pull request's checkout (run outside GitHub, with the
//! environment the runner would give it).

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

fn action() -> Value {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/action.yml")).unwrap();
    serde_saphyr::from_str(&text).unwrap()
}

#[test]
fn inputs_are_the_documented_ones() {
    let action = action();
    let inputs: Vec<&str> = action["inputs"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    for name in [
        "policy",
        "format",
        "args",
        "token",
        "version",
        "verify-attestation",
        "comment",
        "request-reviews",
    ] {
        assert!(inputs.contains(&name), "input `{name}` missing: {inputs:?}");
    }
    assert_eq!(action["inputs"]["token"]["default"], "${{ github.token }}");
    assert_eq!(action["inputs"]["comment"]["default"], "auto");
    assert_eq!(action["inputs"]["request-reviews"]["default"], "true");
    assert_eq!(action["runs"]["using"], "composite");
    // And every input is in the documentation's table of inputs.
    let docs = std::fs::read_to_string(common::root().join("docs/github-action.md")).unwrap();
    let table = docs.split("## Action inputs").nth(1).unwrap();
    let table = table.split("\n## ").next().unwrap();
    for name in &inputs {
        assert!(
            table.contains(&format!("| `{name}` |")),
            "input `{name}` is not in docs/github-action.md's table"
        );
    }
}

#[test]
fn scripts_never_expand_expressions_and_are_valid_bash() {
    let mut scripts = 0;
    for step in action()["runs"]["steps"].as_array().unwrap() {
        let Some(script) = step["run"].as_str() else {
            continue;
        };
        scripts += 1;
        assert!(
            !script.contains("${{"),
            "step `{}` expands an expression inside its script",
            step["name"]
        );
        let status = Command::new("bash")
            .args(["-n", "-c", script])
            .status()
            .unwrap();
        assert!(
            status.success(),
            "step `{}` is not valid bash",
            step["name"]
        );
    }
    assert_eq!(scripts, 3);
    for script in ["action/install.sh", "action/run.sh"] {
        let status = Command::new("bash")
            .arg("-n")
            .arg(common::root().join(script))
            .status()
            .unwrap();
        assert!(status.success(), "{script} is not valid bash");
    }
}

#[test]
fn third_party_actions_are_pinned_to_a_full_commit() {
    for step in action()["runs"]["steps"].as_array().unwrap() {
        if let Some(uses) = step["uses"].as_str() {
            let (_, sha) = uses.split_once('@').unwrap();
            assert!(
                sha.len() == 40 && sha.chars().all(|c| c.is_ascii_hexdigit()),
                "{uses} is not pinned to a commit"
            );
        }
    }
}

/// A pull request's checkout (`GITHUB_WORKSPACE`) and a trusted folder beside it.
struct Job {
    dir: tempfile::TempDir,
}

impl Job {
    fn new() -> Job {
        let dir = tempfile::tempdir().unwrap();
        let policy = "version: 1\nrules:\n  - id: commit-ticket\n    on: [commit]\n    require:\n      ticket: { in: [message] }\ntickets:\n  jira: { pattern: '\\bEPL-[0-9]+\\b' }\n";
        for folder in ["workspace", "temp/trusted"] {
            std::fs::create_dir_all(dir.path().join(folder)).unwrap();
            std::fs::write(dir.path().join(folder).join("policy.yml"), policy).unwrap();
        }
        Job { dir }
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    fn run(&self, event: &str, policy: &str) -> Output {
        self.run_args(event, policy, "validate")
    }

    fn run_args(&self, event: &str, policy: &str, args: &str) -> Output {
        let bin = Path::new(env!("CARGO_BIN_EXE_git-policy"))
            .parent()
            .unwrap();
        let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap());
        Command::new("bash")
            .arg(common::root().join("action/run.sh"))
            .current_dir(self.path("workspace"))
            .env("PATH", path)
            .env("GITHUB_EVENT_NAME", event)
            .env("GITHUB_WORKSPACE", self.path("workspace"))
            .env("GIT_POLICY_POLICY", policy)
            .env("GIT_POLICY_ARGS", args)
            .env("GIT_POLICY_FORMAT", "json")
            .env_remove("GITHUB_ACTIONS")
            .env("NO_COLOR", "1")
            .output()
            .unwrap()
    }
}

fn assert_refused(out: &Output) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.starts_with("::error title=git-policy policy::")
            && stderr.contains("inside the checkout")
            && stderr.contains("RUNNER_TEMP")
            && stderr.contains("leave `policy:` empty"),
        "{stderr}"
    );
    assert!(out.stdout.is_empty(), "git-policy must not run");
}

fn assert_ran(out: &Output) {
    let stdout = String::from_utf8_lossy(&out.stdout);
    let report: Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
    assert!(
        out.status.success() && report["valid"] == true,
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn a_policy_inside_a_pull_requests_checkout_is_refused() {
    let job = Job::new();
    let inside = job.path("workspace/policy.yml");
    let dotted = job.path("temp/../workspace/policy.yml");
    // `//x` is `/x`, though no longer a prefix of the workspace as written.
    let doubled = format!("/{}", inside.display()).replace("/policy.yml", "//policy.yml");
    for event in [
        "pull_request",
        "pull_request_target",
        "pull_request_review",
        "pull_request_review_comment",
    ] {
        for policy in [
            "policy.yml",
            "./policy.yml",
            ".",
            inside.to_str().unwrap(),
            dotted.to_str().unwrap(),
            &doubled,
        ] {
            assert_refused(&job.run(event, policy));
        }
    }
}

#[test]
fn a_link_in_the_checkout_to_a_trusted_policy_is_refused_too() {
    // The pull request would choose which file the link names.
    let job = Job::new();
    std::os::unix::fs::symlink(job.path("temp/trusted"), job.path("workspace/trusted")).unwrap();
    assert_refused(&job.run("pull_request", "trusted/policy.yml"));
    // And a link outside that leads into the checkout.
    std::os::unix::fs::symlink(job.path("workspace"), job.path("temp/into-checkout")).unwrap();
    let via = job.path("temp/into-checkout/policy.yml");
    assert_refused(&job.run("pull_request", via.to_str().unwrap()));
}

#[test]
fn a_trusted_policy_outside_the_checkout_is_used() {
    let job = Job::new();
    let trusted = job.path("temp/trusted");
    let out = job.run("pull_request", trusted.to_str().unwrap());
    assert_ran(&out);
    assert!(String::from_utf8_lossy(&out.stdout).contains("policy.yml"));
}

#[test]
fn on_events_whose_workflow_comes_from_the_checkout_it_is_trusted() {
    let job = Job::new();
    for event in ["push", "workflow_dispatch", "schedule", "release"] {
        assert_ran(&job.run(event, "policy.yml"));
        assert_ran(&job.run_args(event, "", "validate --policy policy.yml"));
    }
}

/// Fail closed: every event but the four whose workflow file comes from the
/// checked-out commit may check out code a pull request chose (the merge
/// queue's merge of it, a comment's or a finished run's pull request), and
/// an event never heard of is one of them.
#[test]
fn every_other_event_refuses_a_policy_in_the_checkout() {
    let job = Job::new();
    for event in [
        "merge_group",
        "issue_comment",
        "workflow_run",
        "check_run",
        "check_suite",
        "pull_request_review",
        "repository_dispatch",
        "a_future_event",
        "",
    ] {
        assert_refused(&job.run(event, "policy.yml"));
    }
}

/// `args: … --policy PATH` names a policy as the input does.
#[test]
fn a_policy_named_in_args_inside_the_checkout_is_refused() {
    let job = Job::new();
    let inside = job.path("workspace/policy.yml");
    let inside = inside.to_str().unwrap();
    for args in [
        "validate --policy policy.yml".to_owned(),
        "validate --policy=policy.yml".to_owned(),
        "--policy ./policy.yml validate".to_owned(),
        format!("validate --policy {inside}"),
        format!("check pr --policy={inside}"),
        // A trusted one first, then one the pull request controls.
        format!(
            "validate --policy {} --policy policy.yml",
            job.path("temp/trusted").display()
        ),
    ] {
        for event in ["pull_request", "pull_request_target", "merge_group"] {
            assert_refused(&job.run_args(event, "", &args));
        }
    }
    // Outside the checkout it runs.
    let trusted = format!("validate --policy={}", job.path("temp/trusted").display());
    assert_ran(&job.run_args("pull_request", "", &trusted));
}

/// Commands that judge what the checkout holds find their policy in it when
/// none is named: on these events the pull request would choose it.
#[test]
fn a_judging_command_without_a_trusted_policy_is_refused() {
    let job = Job::new();
    for args in [
        "check commits HEAD~1..HEAD",
        "check branch",
        "--format json check branch feature/x",
        "audit --version 1.0.0",
        "check commits -C . HEAD",
    ] {
        assert_refused(&job.run_args("pull_request", "", args));
        assert_refused(&job.run_args("issue_comment", "", args));
    }
    let trusted = job.path("temp/trusted").display().to_string();
    for args in [
        format!("-C {trusted} check branch main"),
        format!("check branch -C{trusted} main"),
    ] {
        let out = job.run_args("pull_request", "", &args);
        assert!(
            !String::from_utf8_lossy(&out.stderr).contains("::error title=git-policy policy::"),
            "{out:?}"
        );
    }
}

/// What run.sh echoes is inert: a `policy:` value with line breaks or `##[`
/// issues no workflow command.
#[test]
fn inputs_echoed_by_run_are_inert() {
    let job = Job::new();
    for policy in [
        "policy.yml\n::add-mask::x",
        "policy.yml\r::stop-commands::token",
        "policy.yml\n  ::set-output name=passed::true",
        "policy.yml ##[set-output name=passed;]true",
        "policy.yml\u{1b}]8;;x\u{7}",
    ] {
        let out = job.run("pull_request", policy);
        assert_refused(&out);
        let stderr = String::from_utf8_lossy(&out.stderr);
        for line in stderr.split(['\n', '\r']) {
            assert!(
                !line.trim_start().starts_with("::")
                    || line.starts_with("::error title=git-policy policy::"),
                "{policy:?}: {line}"
            );
            assert!(!line.contains("##["), "{policy:?}: {line}");
            assert!(!line.contains('\u{1b}'), "{policy:?}: {line}");
        }
    }
}

#[test]
fn without_a_policy_input_nothing_is_refused() {
    let job = Job::new();
    let out = job.run("pull_request", "");
    assert!(
        !String::from_utf8_lossy(&out.stderr).contains("::error title=git-policy policy::"),
        "{out:?}"
    );
}

/// What run.sh hands git-policy, with a stand-in `git-policy` on PATH that
/// prints its arguments.
fn arguments(args: &str, comment: Option<&str>, request: Option<&str>) -> (Option<i32>, String) {
    let bin = tempfile::tempdir().unwrap();
    let fake = bin.path().join("git-policy");
    std::fs::write(&fake, "#!/usr/bin/env bash\nprintf '%s|' \"$@\"\n").unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).unwrap();
    let path = format!(
        "{}:{}",
        bin.path().display(),
        std::env::var("PATH").unwrap()
    );
    let mut cmd = Command::new("bash");
    cmd.arg(common::root().join("action/run.sh"))
        .env("PATH", path)
        .env("GIT_POLICY_ARGS", args)
        .env("GIT_POLICY_FORMAT", "github")
        .env_remove("GIT_POLICY_POLICY")
        .env_remove("GIT_POLICY_COMMENT")
        .env_remove("GIT_POLICY_REQUEST_REVIEWS");
    if let Some(c) = comment {
        cmd.env("GIT_POLICY_COMMENT", c);
    }
    if let Some(r) = request {
        cmd.env("GIT_POLICY_REQUEST_REVIEWS", r);
    }
    let out = cmd.output().unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

#[test]
fn the_comment_and_review_inputs_reach_check_pr_only() {
    assert_eq!(
        arguments("check pr", Some("auto"), Some("true")),
        (
            Some(0),
            String::from("--format|github|check|pr|--comment=auto|--request-reviews|")
        )
    );
    assert_eq!(
        arguments("check pr", Some("always"), Some("false")).1,
        "--format|github|check|pr|--comment=always|"
    );
    assert_eq!(
        arguments("check pr", Some("never"), Some("false")).1,
        "--format|github|check|pr|"
    );
    assert_eq!(
        arguments("validate", Some("auto"), Some("true")).1,
        "--format|github|validate|",
        "only check pr writes to the pull request"
    );
    assert_eq!(
        arguments("check pr --event e.json", None, None).1,
        "--format|github|check|pr|--event|e.json|"
    );
    assert_eq!(arguments("check pr", Some("sometimes"), None).0, Some(2));
    assert_eq!(arguments("check pr", None, Some("yes")).0, Some(2));
}

/// The workflows the README and docs/github-action.md tell people to copy.
fn documented_workflows() -> Vec<(String, Value)> {
    let mut found = Vec::new();
    for doc in ["README.md", "docs/github-action.md"] {
        let text =
            std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(doc)).unwrap();
        for block in text.split("```yaml").skip(1) {
            let block = block.split("```").next().unwrap();
            // Blocks indented in a list item: as written, less the indent.
            let indent = block
                .lines()
                .filter(|l| !l.trim().is_empty())
                .map(|l| l.len() - l.trim_start().len())
                .min()
                .unwrap_or(0);
            let yaml: String = block
                .lines()
                .map(|l| l.get(indent..).unwrap_or("").to_owned() + "\n")
                .collect();
            if yaml.contains("\njobs:") {
                let parsed: Value =
                    serde_saphyr::from_str(&yaml).unwrap_or_else(|e| panic!("{doc}: {e}\n{yaml}"));
                found.push((doc.to_owned(), parsed));
            }
        }
    }
    found
}

#[test]
fn documented_workflows_give_each_job_the_least_it_needs() {
    let workflows = documented_workflows();
    assert!(workflows.len() >= 4, "{}", workflows.len());
    let mut writers = 0;
    for (doc, w) in &workflows {
        assert_eq!(w["permissions"], serde_json::json!({}), "{doc}: {w:#}");
        let events: Vec<&str> = w["on"]
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        for (name, job) in w["jobs"].as_object().unwrap() {
            let permissions = &job["permissions"];
            assert!(
                permissions.is_object(),
                "{doc}: job {name} says what it needs"
            );
            let steps = job["steps"].as_array().unwrap();
            for step in steps {
                let uses = step["uses"].as_str().unwrap_or("");
                // Outside `pull_request`, the job holds a write token: it
                // never checks out the pull request's head, and an artifact
                // (made by the pull request's run) lands outside the workspace.
                if !events.contains(&"pull_request") {
                    if uses.starts_with("actions/checkout") {
                        assert!(
                            step["with"]["ref"].is_null(),
                            "{doc}: {name} checks out {step}"
                        );
                    }
                    if uses.starts_with("actions/download-artifact") {
                        let path = step["with"]["path"].as_str().unwrap_or("");
                        assert!(
                            path.starts_with("${{ runner.temp }}"),
                            "{doc}: {name}: {path}"
                        );
                    }
                }
                if !uses.contains("/git-policy@") {
                    continue;
                }
                let with = &step["with"];
                let writes = with["comment"].as_str() != Some("never")
                    || with["request-reviews"].as_str() != Some("false");
                let can = permissions["pull-requests"].as_str();
                if writes {
                    writers += 1;
                    assert_eq!(can, Some("write"), "{doc}: job {name} writes the comment");
                } else {
                    assert_eq!(can, Some("read"), "{doc}: job {name} writes nothing");
                }
            }
        }
    }
    assert!(writers >= 3, "{writers}");
}

#[test]
fn the_readme_workflow_runs_on_every_step_of_a_pull_request_and_may_comment() {
    let (_, readme) = documented_workflows()
        .into_iter()
        .find(|(doc, _)| doc == "README.md")
        .expect("the README has a workflow");
    let types = |event: &str| -> Vec<String> {
        readme["on"][event]["types"]
            .as_array()
            .unwrap_or_else(|| panic!("{event}: {readme:#}"))
            .iter()
            .map(|t| t.as_str().unwrap().to_owned())
            .collect()
    };
    for t in [
        "opened",
        "edited",
        "synchronize",
        "ready_for_review",
        "converted_to_draft",
        "labeled",
        "unlabeled",
    ] {
        assert!(types("pull_request").contains(&t.to_owned()), "{t}");
    }
    for t in ["submitted", "dismissed"] {
        assert!(types("pull_request_review").contains(&t.to_owned()), "{t}");
    }
    let gate = &readme["jobs"]["merge-gate"]["permissions"];
    assert_eq!(gate["pull-requests"], "write");
    assert_eq!(gate["contents"], "read");
    assert_eq!(gate.as_object().unwrap().len(), 2, "nothing more: {gate}");
}
