//! A corpus of bad inputs through the binary: each exits 2, names the
//! problem, and never panics.

mod common;

use common::{POLICY, Repo, root};

struct Case {
    name: &'static str,
    args: Vec<String>,
    expect: &'static str,
}

fn case(name: &'static str, args: &[&str], expect: &'static str) -> Case {
    Case {
        name,
        args: args.iter().map(|a| (*a).to_owned()).collect(),
        expect,
    }
}

fn run(repo: &Repo, case: &Case) {
    let out = repo
        .cmd()
        .args(&case.args)
        .env("GITHUB_API_URL", "http://127.0.0.1:9")
        .env("GIT_POLICY_HTTP_TIMEOUT", "1")
        .env("GIT_POLICY_RETRY_DELAY", "0")
        .output()
        .unwrap();
    let said =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(2),
        "{}: expected exit 2\n{said}",
        case.name
    );
    assert!(
        said.contains(case.expect),
        "{}: expected `{}` in\n{said}",
        case.name,
        case.expect
    );
    assert!(
        !said.contains("panicked") && !said.contains("RUST_BACKTRACE"),
        "{}: panic\n{said}",
        case.name
    );
}

#[test]
#[expect(
    clippy::too_many_lines,
    reason = "one table of bad inputs, each a few lines, read top to bottom"
)]
fn every_bad_input_exits_2_with_its_reason() {
    let repo = Repo::new("feature/EPL-1-x");
    repo.write(".git-policy.yml", POLICY);
    repo.git(&["add", "."]);
    repo.git(&["commit", "-q", "-m", "EPL-1 policy"]);
    let w = |name: &str, bytes: &[u8]| std::fs::write(repo.path().join(name), bytes).unwrap();
    w("empty-msg", b"");
    w("comment-msg", b"# only a comment\n# another\n");
    w("latin1-msg", b"EPL-1 caf\xe9\n");
    w("nul-msg", b"\xff\xfe\x00\x00");
    w(
        "scissors-only",
        b"# ------------------------ >8 ------------------------\nEPL-1 below the scissors\n",
    );
    w("not-json.json", b"{ nope");
    w("array.json", b"[1, 2]");
    w(
        "push.json",
        br#"{"ref":"refs/heads/main","repository":{"full_name":"o/r"}}"#,
    );
    w(
        "issue.json",
        br#"{"action":"opened","issue":{"number":1},"repository":{"full_name":"o/r"}}"#,
    );
    w(
        "no-number.json",
        br#"{"pull_request":{"title":"x"},"repository":{"full_name":"o/r"}}"#,
    );
    w("no-repo.json", br#"{"pull_request":{"number":3}}"#);
    w("latin1-page.md", b"## Changes\ncaf\xe9\n");
    w("latin1-policy.yml", b"version: 1\n# caf\xe9\n");
    w("tab-policy.yml", b"version: 1\nrules:\n\t- id: x\n");
    w("list-policy.yml", b"- version: 1\n");
    w("scalar-policy.yml", b"just a string\n");
    w(
        "deep-policy.yml",
        format!(
            "version: 1\nrules:\n  - id: x\n    require: {{ message: {{ pattern: '{}' }} }}\n",
            "(".repeat(300)
        )
        .as_bytes(),
    );
    std::fs::create_dir_all(repo.path().join("a-folder")).unwrap();
    let elsewhere = tempfile::tempdir().unwrap();
    let outside: &'static str = Box::leak(elsewhere.path().display().to_string().into_boxed_str());
    let mut cases = vec![
        case(
            "empty message",
            &["check", "commit-msg", "empty-msg"],
            "is empty",
        ),
        case(
            "comment-only message",
            &["check", "commit-msg", "comment-msg"],
            "is empty",
        ),
        case(
            "latin-1 message",
            &["check", "commit-msg", "latin1-msg"],
            "not valid UTF-8",
        ),
        case(
            "binary message",
            &["check", "commit-msg", "nul-msg"],
            "not valid UTF-8",
        ),
        case(
            "only below the scissors",
            &["check", "commit-msg", "scissors-only"],
            "is empty",
        ),
        case(
            "missing message file",
            &["check", "commit-msg", "no-such-file"],
            "cannot read commit message file",
        ),
        case(
            "message file is a folder",
            &["check", "commit-msg", "a-folder"],
            "cannot read commit message file",
        ),
        case(
            "event not JSON",
            &["check", "pr", "--event", "not-json.json"],
            "not valid JSON",
        ),
        case(
            "event is an array",
            &["check", "pr", "--event", "array.json"],
            "not a JSON object",
        ),
        case(
            "push event",
            &["check", "pr", "--event", "push.json"],
            "no `pull_request`",
        ),
        case(
            "issue event",
            &["check", "pr", "--event", "issue.json"],
            "no `pull_request`",
        ),
        case(
            "event without number",
            &["check", "pr", "--event", "no-number.json"],
            "no `number`",
        ),
        case(
            "event without repository",
            &["check", "pr", "--event", "no-repo.json"],
            "repository.full_name",
        ),
        case(
            "missing event file",
            &["check", "pr", "--event", "nope.json"],
            "cannot read the event file",
        ),
        case(
            "--repo without --number",
            &["check", "pr", "--repo", "o/r"],
            "--repo needs --number",
        ),
        case(
            "bad --repo",
            &["check", "pr", "--repo", "just-a-name", "--number", "1"],
            "is not OWNER/NAME",
        ),
        case(
            "--repo with an empty part",
            &["check", "pr", "--repo", "octo//app", "--number", "1"],
            "is not OWNER/NAME",
        ),
        case(
            "--repo climbing out of the API path",
            &["check", "pr", "--repo", "../../orgs", "--number", "1"],
            "is not OWNER/NAME",
        ),
        case(
            "pull request number 0",
            &["check", "pr", "--repo", "o/r", "--number", "0"],
            "number 0 does not exist",
        ),
        case(
            "API unreachable",
            &["check", "pr", "--repo", "o/r", "--number", "1"],
            "cannot reach GitHub",
        ),
        case(
            "unknown start revision",
            &["check", "commits", "nope..HEAD"],
            "unknown revision",
        ),
        case(
            "unknown end revision",
            &["check", "commits", "HEAD..nope"],
            "unknown revision",
        ),
        case(
            "unknown symmetric range",
            &["check", "commits", "nope...HEAD"],
            "unknown revision",
        ),
        case(
            "garbage revision",
            &["check", "commits", "@@@"],
            "unknown revision",
        ),
        case(
            "too far back",
            &["check", "commits", "HEAD~999"],
            "unknown revision",
        ),
        case(
            "empty branch name",
            &["check", "branch", ""],
            "branch name is empty",
        ),
        case(
            "audit unknown revision",
            &["audit", "nope..HEAD", "--release", "1.0.0"],
            "unknown revision",
        ),
        case("audit without release tag", &["audit"], "no release tag"),
        case(
            "audit empty range",
            &["audit", "HEAD..HEAD", "--page", "latin1-page.md"],
            "holds no commits",
        ),
        case(
            "audit page missing",
            &["audit", "HEAD", "--page", "no-page.md"],
            "cannot read the release page",
        ),
        case(
            "audit page not UTF-8",
            &["audit", "HEAD", "--page", "latin1-page.md"],
            "not valid UTF-8",
        ),
        case(
            "audit tag pattern matching nothing",
            &["audit", "--tag-pattern", "release-*"],
            "no tag matches",
        ),
        case(
            "audit bad tag pattern",
            &["audit", "--tag-pattern", "v[*"],
            "invalid --tag-pattern",
        ),
        case(
            "policy not UTF-8",
            &["--policy", "latin1-policy.yml", "validate"],
            "not valid UTF-8",
        ),
        case(
            "policy with tabs",
            &["--policy", "tab-policy.yml", "validate"],
            "invalid YAML",
        ),
        case(
            "policy is a list",
            &["--policy", "list-policy.yml", "validate"],
            "expected a mapping",
        ),
        case(
            "policy is a scalar",
            &["--policy", "scalar-policy.yml", "validate"],
            "expected a mapping",
        ),
        case(
            "policy with a runaway regex",
            &["--policy", "deep-policy.yml", "validate"],
            "invalid regular expression",
        ),
        case(
            "policy path missing",
            &["--policy", "missing.yml", "validate"],
            "does not exist",
        ),
        case(
            "policy folder empty",
            &["--policy", "a-folder", "validate"],
            "hold no *.yml",
        ),
        case(
            "no policy, built-in disabled",
            &["-C", outside, "--no-builtin", "validate"],
            "no policy found",
        ),
        case(
            "not a repository",
            &["-C", outside, "check", "branch", "x"],
            "not a git repository",
        ),
        case(
            "explain unknown topic",
            &["explain", "nothing-like-it"],
            "neither a requirement nor a rule",
        ),
        case(
            "unknown command",
            &["frobnicate"],
            "unrecognized subcommand",
        ),
        case(
            "unknown format",
            &["--format", "yaml", "validate"],
            "invalid value 'yaml'",
        ),
        case(
            "unknown shell",
            &["completions", "tcsh"],
            "invalid value 'tcsh'",
        ),
        case(
            "unknown flag",
            &["check", "branch", "--frob"],
            "unexpected argument",
        ),
    ];
    for entry in std::fs::read_dir(root().join("fixtures/policies/invalid")).unwrap() {
        let path = entry.unwrap().path();
        let name: &'static str = Box::leak(
            path.file_name()
                .unwrap()
                .to_string_lossy()
                .into_owned()
                .into_boxed_str(),
        );
        let arg: &'static str = Box::leak(path.display().to_string().into_boxed_str());
        cases.push(case(
            name,
            &["--policy", arg, "validate"],
            "the policy is invalid",
        ));
    }
    assert!(cases.len() >= 60, "the corpus has {} inputs", cases.len());
    for c in &cases {
        run(&repo, c);
    }
}

#[test]
fn policy_loading_never_panics_on_truncated_or_mangled_text() {
    // Every prefix of the built-in pack (and a few byte-level manglings) either
    // loads or is rejected with at least one located error: no panic, no silent pass.
    let text = git_policy::policy::BUILTIN_TEXT;
    let mut inputs: Vec<String> = (0..text.len())
        .step_by(37)
        .filter(|&i| text.is_char_boundary(i))
        .map(|i| text[..i].to_owned())
        .collect();
    inputs.push(text.replace(':', ""));
    inputs.push(text.replace('\'', "\""));
    inputs.push(text.replace("  ", "\t"));
    inputs.push(text.replace('[', "{"));
    for input in inputs {
        match git_policy::policy::load(vec![git_policy::policy::PolicySource::new(
            "p.yml",
            input.clone(),
        )]) {
            Ok(_) => {}
            Err(invalid) => assert!(
                !invalid.errors.is_empty(),
                "rejected without a reason:\n{input}"
            ),
        }
    }
}
