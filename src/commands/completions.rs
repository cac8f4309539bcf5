//! `completions SHELL`: a completion script generated from the command line
//! definitions, with the names `explain` knows offered after `explain`.

use clap::builder::PossibleValue;

use super::explain;
use crate::cli::Cli;

/// A completion script for `shell`.
pub fn completions(shell: clap_complete::Shell) -> String {
    use clap::CommandFactory;
    let mut command = Cli::command().mut_subcommand("explain", |explain| {
        // Only the script offers them: `explain` itself accepts any word (a
        // rule id of the policy in the current repository too).
        explain.mut_arg("topic", |topic| {
            topic.value_parser(
                explain::completion_topics()
                    .into_iter()
                    .map(|(name, summary)| PossibleValue::new(name).help(summary))
                    .collect::<Vec<_>>(),
            )
        })
    });
    let mut buffer = Vec::new();
    clap_complete::generate(shell, &mut command, "git-policy", &mut buffer);
    let script = String::from_utf8_lossy(&buffer).into_owned();
    if shell == clap_complete::Shell::Fish {
        // clap_complete's fish script completes options only, no positional
        // values: offer the topics after `explain` here.
        let quote = |text: &str| format!("'{}'", text.replace('\\', "\\\\").replace('\'', "\\'"));
        let mut script = script;
        for (name, summary) in explain::completion_topics() {
            script.push_str(&format!(
                "complete -c git-policy -n \"__fish_git_policy_using_subcommand explain\" -f -a {} -d {}\n",
                quote(name),
                quote(summary)
            ));
        }
        return script;
    }
    if shell == clap_complete::Shell::Bash {
        // clap_complete names the states of a hyphenated binary two ways
        // (`git__policy__subcmd__check` where it walks the words,
        // `git__subcmd__policy__subcmd__check` in the `case` that offers
        // them), so nothing is offered past the first word: use one name.
        return script.replace("git__subcmd__policy__", "git__policy__");
    }
    script
}
