//! The command line as users see it: `--help` of every command, snapshotted.

mod common;

use clap::CommandFactory;
use git_policy::cli::Cli;

#[test]
fn cli_definition_is_consistent() {
    Cli::command().debug_assert();
}

/// Every command of the tree (the root first), as the words that name it;
/// clap's own `help` subcommands left out.
fn command_paths(command: &clap::Command, path: Vec<String>) -> Vec<Vec<String>> {
    let mut out = vec![path.clone()];
    for sub in command.get_subcommands() {
        if sub.get_name() == "help" {
            continue;
        }
        let mut next = path.clone();
        next.push(sub.get_name().to_owned());
        out.extend(command_paths(sub, next));
    }
    out
}

#[test]
fn help_of_every_command() {
    let dir = tempfile::tempdir().unwrap();
    let commands = command_paths(&Cli::command(), Vec::new());
    // Every command has its page: the tree is walked, not listed by hand.
    assert!(commands.len() >= 15, "{commands:?}");
    assert!(commands.contains(&vec!["check".to_owned(), "push".to_owned()]));
    for args in &commands {
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
