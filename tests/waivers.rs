//! Waivers (`waivers:` in the policy): a finding they cover is listed in
//! every format and fails nothing; expired and unused ones are warnings;
//! they are read strictly.

mod common;

use common::Repo;

/// The common policy, then `waivers`.
fn policy(waivers: &str) -> String {
    format!("{}waivers:\n{waivers}", common::POLICY)
}

/// A repository with a tagged start, a ticketless hotfix and a commit with
/// a ticket; returns it with the hotfix's and the good commit's ids.
fn history() -> (Repo, String, String) {
    let repo = Repo::new("main");
    repo.commit("EPL-1 initial");
    repo.git(&["tag", "v1.0.0"]);
    let hotfix = repo.commit("hotfix pushed during the outage");
    let good = repo.commit("EPL-2 a tracked change");
    (repo, hotfix, good)
}

fn waiver(sha: &str, extra: &str) -> String {
    format!(
        "  - commit: {sha}\n    rules: [commit-ticket]\n    reason: 'EPL-0 hotfix during the 2026-11 outage; EPL-912 tracks the follow-up'\n    granted_by: asherman\n{extra}"
    )
}

fn run(repo: &Repo, policy: &str, format: &str, args: &[&str]) -> std::process::Output {
    repo.write("policy.yml", policy);
    repo.cmd()
        .args(["--policy", "policy.yml", "--format", format])
        .args(args)
        .output()
        .unwrap()
}

fn text(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn json(out: &std::process::Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("not JSON ({e}): {}", text(out)))
}

const REASON: &str = "EPL-0 hotfix during the 2026-11 outage; EPL-912 tracks the follow-up";

#[test]
fn a_waived_finding_fails_nothing_and_is_listed_in_every_format() {
    let (repo, hotfix, _) = history();
    let policy = policy(&waiver(&hotfix, "    expires: 2999-12-31\n"));
    let range = ["check", "commits", "v1.0.0..HEAD"];
    // Without the waiver the hotfix fails the range.
    let bare = run(&repo, common::POLICY, "human", &range);
    assert_eq!(bare.status.code(), Some(1));

    let human = run(&repo, &policy, "human", &range);
    assert_eq!(human.status.code(), Some(0), "{}", text(&human));
    let shown = text(&human);
    assert!(
        shown.contains(&format!("waived[commit-ticket] (error) {}", &hotfix[..10])),
        "{shown}"
    );
    assert!(
        shown.contains(&format!(
            "waived for commit {} by asherman, until 2999-12-31: {REASON}",
            &hotfix[..10]
        )),
        "{shown}"
    );
    assert!(
        shown.contains("passed: v1.0.0..HEAD — 2 commits checked, 1 waived"),
        "{shown}"
    );

    let out = run(&repo, &policy, "json", &range);
    assert_eq!(out.status.code(), Some(0));
    let v = json(&out);
    assert_eq!(v["passed"], true);
    assert_eq!(v["counts"]["error"], 0, "a waived finding is not counted");
    let finding = &v["findings"][0];
    assert_eq!(finding["rule"], "commit-ticket");
    assert_eq!(finding["level"], "error");
    assert_eq!(finding["commit"], hotfix.as_str());
    assert_eq!(finding["waived"]["commit"], hotfix.as_str());
    assert_eq!(finding["waived"]["reason"], REASON);
    assert_eq!(finding["waived"]["granted_by"], "asherman");
    assert_eq!(finding["waived"]["expires"], "2999-12-31");
    assert_eq!(finding["waived"]["policy"]["line"], 15);
    assert_eq!(v["waivers"][0]["state"], "used");
    assert_eq!(
        v["waivers"][0]["rules"],
        serde_json::json!(["commit-ticket"])
    );

    let out = run(&repo, &policy, "sarif", &range);
    assert_eq!(out.status.code(), Some(0));
    let v = json(&out);
    let result = &v["runs"][0]["results"][0];
    assert_eq!(result["ruleId"], "commit-ticket");
    assert_eq!(result["level"], "error");
    let suppression = &result["suppressions"][0];
    assert_eq!(suppression["kind"], "external");
    assert_eq!(suppression["status"], "accepted");
    assert!(
        suppression["justification"]
            .as_str()
            .unwrap()
            .ends_with(REASON),
        "{suppression}"
    );
    assert_eq!(
        suppression["location"]["physicalLocation"]["artifactLocation"]["uri"],
        "policy.yml"
    );
    assert_eq!(v["runs"][0]["properties"]["waived"], 1);

    let out = run(&repo, &policy, "markdown", &range);
    assert_eq!(out.status.code(), Some(0));
    let shown = text(&out);
    assert!(shown.contains("0 errors, 0 warnings, 1 waived"), "{shown}");
    assert!(shown.contains("## Waived findings (1)"), "{shown}");
    assert!(
        shown.contains(&format!(
            "| error | `commit-ticket` | `{}` the commit names no ticket in the message | commit {} | {REASON} | asherman | 2999-12-31 |",
            &hotfix[..10],
            &hotfix[..10]
        )),
        "{shown}"
    );

    let out = run(&repo, &policy, "github", &range);
    assert_eq!(out.status.code(), Some(0));
    let shown = text(&out);
    assert!(
        shown.contains("::notice title=git-policy%3A commit-ticket (waived),file=policy.yml,line="),
        "{shown}"
    );
    assert!(!shown.contains("::error"), "{shown}");
}

#[test]
fn an_expired_waiver_waives_nothing_and_warns() {
    let (repo, hotfix, _) = history();
    let policy = policy(&waiver(&hotfix, "    expires: 2020-01-31\n"));
    let out = run(
        &repo,
        &policy,
        "json",
        &["check", "commits", "v1.0.0..HEAD"],
    );
    assert_eq!(out.status.code(), Some(1), "the finding stands");
    let v = json(&out);
    assert_eq!(v["counts"]["error"], 1);
    let findings = v["findings"].as_array().unwrap();
    assert!(findings.iter().all(|f| f.get("waived").is_none()));
    let warning = findings
        .iter()
        .find(|f| f["rule"] == "expired-waiver")
        .unwrap_or_else(|| panic!("{v:#}"));
    assert_eq!(warning["level"], "warning");
    assert_eq!(
        warning["message"],
        format!(
            "the waiver for commit {} from commit-ticket (granted by asherman) expired on 2020-01-31: it waives nothing, and the finding it would waive stands",
            &hotfix[..10]
        )
    );
    assert_eq!(v["waivers"][0]["state"], "expired");
    // `validate` says so too, whatever is judged.
    let out = run(&repo, &policy, "human", &["validate"]);
    assert_eq!(out.status.code(), Some(0));
    assert!(
        text(&out).contains("warning[policy::expired-waiver]: the waiver for commit"),
        "{}",
        text(&out)
    );
}

#[test]
fn a_waiver_that_waived_nothing_warns_only_where_its_commit_was_judged() {
    let (repo, _, good) = history();
    let policy = policy(&waiver(&good, ""));
    let out = run(
        &repo,
        &policy,
        "json",
        &["check", "commits", "HEAD~1..HEAD"],
    );
    assert_eq!(out.status.code(), Some(0));
    let v = json(&out);
    let warning = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["rule"] == "unused-waiver")
        .unwrap_or_else(|| panic!("{v:#}"));
    assert_eq!(warning["level"], "warning");
    assert_eq!(v["waivers"][0]["state"], "unused");
    // A range without that commit says nothing about it (as a hook checking
    // one commit says nothing about every other waiver).
    let out = run(
        &repo,
        &policy,
        "json",
        &["check", "commits", "v1.0.0..HEAD~1"],
    );
    let v = json(&out);
    assert!(
        v["findings"]
            .as_array()
            .unwrap()
            .iter()
            .all(|f| f["rule"] != "unused-waiver"),
        "{v:#}"
    );
    assert_eq!(v["waivers"][0]["state"], "not_judged");
}

#[test]
fn a_short_or_forged_commit_id_is_refused() {
    let (repo, hotfix, _) = history();
    // Quoted: twelve hex digits can all be decimal ones, which YAML reads as a number (its own error).
    let short = format!("'{}'", &hotfix[..12]);
    for (sha, expected) in [
        (
            short.as_str(),
            "is a short commit id; a waiver names the full one",
        ),
        ("'hotfix pushed during the outage'", "is not a commit id"),
        ("229653622756", "YAML read this commit id as a number"),
    ] {
        let out = run(&repo, &policy(&waiver(sha, "")), "human", &["validate"]);
        assert_eq!(out.status.code(), Some(2), "{sha}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(expected), "{stderr}");
        assert!(stderr.contains("policy.yml:15:13"), "{stderr}");
    }
}

#[test]
fn a_ticket_waiver_covers_the_release_findings_about_that_ticket_only() {
    let repo = Repo::new("main");
    repo.commit("EPL-1 initial");
    repo.git(&["tag", "v1.2.0"]);
    repo.commit("EPL-2 listed");
    repo.commit("EPL-4 not on the page");
    // Names the waived ticket, but has no ticket of the tracker.
    repo.commit("hotfix, see epl-4");
    repo.write("docs/releases/1.3.0.md", "## Changes\n- EPL-2 listed\n");
    repo.git(&["add", "."]);
    repo.git(&["commit", "-q", "-m", "EPL-2 release page"]);
    let policy = r#"version: 1
tickets:
  jira: { pattern: '\bEPL-[0-9]+\b' }
rules:
  - id: commit-ticket
    on: [commit]
    require: { ticket: { in: [message] } }
  - id: release-page
    on: [release]
    require:
      release_page: { path: 'docs/releases/{version}.md', sections: [Changes], lists_all_tickets: true }
waivers:
  - ticket: EPL-4
    rules: [release-page]
    reason: 'EPL-4 ships dark; the page lists it once it is switched on'
    granted_by: rte-lead
"#;
    let audit = ["audit", "--release", "1.3.0"];
    let out = run(&repo, policy, "json", &audit);
    assert_eq!(
        out.status.code(),
        Some(1),
        "the ticketless commit still fails"
    );
    let v = json(&out);
    let standing: Vec<&str> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f.get("waived").is_none())
        .map(|f| f["rule"].as_str().unwrap())
        .collect();
    assert_eq!(standing, ["commit-ticket"], "{v:#}");
    let waived: Vec<&serde_json::Value> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f.get("waived").is_some())
        .collect();
    assert_eq!(waived.len(), 1, "{v:#}");
    assert_eq!(waived[0]["rule"], "release-page");
    assert_eq!(waived[0]["ticket"], "EPL-4");
    assert_eq!(waived[0]["waived"]["ticket"], "EPL-4");
    // The audit's Markdown report, pasted into the release page, shows it.
    let out = run(&repo, policy, "markdown", &audit);
    let shown = text(&out);
    assert!(shown.contains("## Waived findings (1)"), "{shown}");
    assert!(
        shown.contains("| ticket EPL-4 | EPL-4 ships dark; the page lists it once it is switched on | rte-lead | never |"),
        "{shown}"
    );
    assert!(
        shown.contains("❌ not ready — 1 error, 0 warnings, 1 waived"),
        "{shown}"
    );
    // A ticket waiver cannot name a commit rule: it would never apply.
    let commit_rule = policy.replace("rules: [release-page]", "rules: [commit-ticket]");
    let out = run(&repo, &commit_rule, "human", &["validate"]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("rule `commit-ticket` (on commit) never judges a ticket"),
        "{stderr}"
    );
}

#[test]
fn a_hostile_waiver_reason_is_inert_in_every_format() {
    let (repo, hotfix, _) = history();
    let waivers = format!(
        "  - commit: {hotfix}\n    rules: [commit-ticket]\n    reason: \"x\\n::set-output name=passed::true\\r::add-mask::y ##[error]z <img src=x onerror=alert(1)> \\e]8;;http://evil\\a| pipe\"\n    granted_by: \"rte\\n::error::forged\"\n"
    );
    let policy = policy(&waivers);
    for format in ["human", "json", "github", "markdown", "sarif"] {
        // `common::git_policy` fails the test on any workflow command that is
        // not git-policy's own annotation.
        let out = run(
            &repo,
            &policy,
            format,
            &["check", "commits", "v1.0.0..HEAD"],
        );
        assert_eq!(out.status.code(), Some(0), "{format}: {}", text(&out));
        let shown = text(&out);
        assert!(!shown.contains('\u{1b}'), "{format}: {shown}");
        if format == "markdown" {
            assert!(!shown.contains("<img"), "raw HTML: {shown}");
        }
        assert!(
            shown.contains("set-output name=passed"),
            "{format}: the reason is shown, made inert: {shown}"
        );
    }
}
