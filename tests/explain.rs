//! `explain` knows the policy keys people ask about (`when`, `unless`,
//! `waivers`, `exemptions`), and the shell completions offer every name
//! `explain` knows without a policy after `explain <TAB>`.

mod common;

use common::Repo;
use predicates::str::contains;

/// `explain when|unless|waivers|exemptions` used to be "neither a
/// requirement nor a rule of the policy" (exit 2).
#[test]
fn explain_knows_when_unless_waivers_and_exemptions() {
    let repo = Repo::new("main");
    for (topic, reference) in [
        ("when", git_policy::predicates::DOC),
        ("unless", git_policy::predicates::DOC),
        ("waivers", git_policy::policy::WAIVERS_DOC),
        ("exemptions", git_policy::policy::EXEMPTIONS_DOC),
    ] {
        let out = repo.cmd().args(["explain", topic]).output().unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert_eq!(out.status.code(), Some(0), "explain {topic}: {text}");
        assert!(
            text.starts_with(&format!("# Policy key `{topic}`\n")),
            "{text}"
        );
        assert!(text.contains(reference), "explain {topic}:\n{text}");
    }
    // What each key does, beyond the shared conditions table.
    repo.cmd()
        .args(["explain", "unless"])
        .assert()
        .stdout(contains(
            "does not judge the subjects for which its condition",
        ));
    repo.cmd()
        .args(["explain", "exemptions"])
        .assert()
        .stdout(contains("exempt: []"));
    // The singular, as people write it.
    repo.cmd()
        .args(["explain", "waiver"])
        .assert()
        .success()
        .stdout(contains("# Policy key `waivers`"));
    // Listed, and a near miss is pointed at them.
    let list = repo.cmd().arg("explain").output().unwrap();
    let list = String::from_utf8_lossy(&list.stdout);
    let keys = list
        .split("Policy keys")
        .nth(1)
        .unwrap_or_else(|| panic!("no policy keys listed:\n{list}"));
    for topic in ["when", "unless", "waivers", "exemptions"] {
        assert!(keys.contains(&format!("  {topic} ")), "{list}");
    }
    repo.cmd()
        .args(["explain", "exemptoins"])
        .assert()
        .code(2)
        .stderr(contains("did you mean `exemptions`"));
}

/// A rule of the policy is still explained, and what is neither says so.
#[test]
fn explain_still_finds_rules_and_refuses_the_unknown() {
    let repo = Repo::new("main");
    repo.write(
        ".git-policy.yml",
        "version: 1\ntickets: { jira: { pattern: '\\bEPL-[0-9]+\\b' } }\n\
         rules:\n  - id: commit-ticket\n    on: [commit]\n    unless: { message: '^WIP' }\n\
         \x20   require: { ticket: { in: [message] } }\n",
    );
    repo.cmd()
        .args(["explain", "commit-ticket"])
        .assert()
        .success()
        .stdout(contains("# Rule `commit-ticket`"));
    repo.cmd()
        .args(["explain", "nothing-like-it"])
        .assert()
        .code(2)
        .stderr(contains("nor a policy key"));
}

/// Every name `explain` knows without a policy, for the completions.
fn topics() -> Vec<&'static str> {
    git_policy::rules::ALL
        .iter()
        .map(|i| i.name)
        .chain(["when", "unless", "waivers", "exemptions"])
        .collect()
}

/// `git-policy explain <TAB>` in a real bash offered nothing but options
/// (and then file names).
#[test]
fn bash_completes_explain_topics() {
    let repo = Repo::new("main");
    let script = repo.cmd().args(["completions", "bash"]).output().unwrap();
    assert!(script.status.success());
    repo.write("completion.bash", &String::from_utf8_lossy(&script.stdout));
    let complete = |line: &str| -> Vec<String> {
        let words: Vec<&str> = line.split(' ').collect();
        let program = format!(
            "source completion.bash\nCOMP_WORDS=({})\nCOMP_CWORD={}\nCOMP_LINE='{line}'\nCOMP_POINT=${{#COMP_LINE}}\n_git__policy git-policy '{}' '{}'\nprintf '%s\\n' \"${{COMPREPLY[@]}}\"\n",
            words
                .iter()
                .map(|w| format!("'{w}'"))
                .collect::<Vec<_>>()
                .join(" "),
            words.len() - 1,
            words[words.len() - 1],
            words[words.len() - 2],
        );
        let out = std::process::Command::new("bash")
            .args(["--norc", "-c", &program])
            .current_dir(repo.path())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(str::to_owned)
            .collect()
    };
    let offered = complete("git-policy explain ");
    for topic in topics() {
        assert!(
            offered.iter().any(|w| w == topic),
            "`explain <TAB>` lacks {topic}: {offered:?}"
        );
    }
    assert_eq!(complete("git-policy explain wai"), ["waivers"]);
    assert_eq!(complete("git-policy explain release_p"), ["release_page"]);
}

/// zsh and fish offer the same names, with their summaries.
#[test]
fn zsh_and_fish_complete_explain_topics() {
    for shell in [clap_complete::Shell::Zsh, clap_complete::Shell::Fish] {
        let script = git_policy::commands::completions(shell);
        for topic in topics() {
            let offered = match shell {
                clap_complete::Shell::Zsh => format!("{topic}\\:\""),
                _ => format!(
                    "-n \"__fish_git_policy_using_subcommand explain\" -f -a '{topic}' -d '"
                ),
            };
            assert!(
                script.contains(&offered),
                "{shell}: `explain <TAB>` lacks {topic}"
            );
        }
    }
}
