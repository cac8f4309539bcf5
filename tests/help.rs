//! The command line as users see it: `--help` of every command, snapshotted.

mod common;

use clap::CommandFactory;
use git_policy::cli::Cli;

#[test]
fn cli_definition_is_consistent() {
    Cli::command().debug_assert();
}

#[test]
fn help_of_every_command() {
    let dir = tempfile::tempdir().unwrap();
    for args in [
        &[][..],
        &["check"],
        &["check", "pr"],
        &["check", "commit-msg"],
        &["check", "branch"],
        &["check", "commits"],
        &["audit"],
        &["validate"],
        &["explain"],
        &["init"],
        &["event"],
        &["install-hooks"],
        &["schema"],
        &["completions"],
        &["man"],
    ] {
        let output = common::git_policy(dir.path())
            .args(args)
            .arg("--help")
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(0), "{args:?}");
        let name = if args.is_empty() {
            String::from("git-policy")
        } else {
            args.join("-")
        };
        insta::assert_snapshot!(
            format!("help-{name}"),
            String::from_utf8(output.stdout).unwrap()
        );
    }
}
