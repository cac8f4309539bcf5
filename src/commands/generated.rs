//! What is generated from the command line's and the policy's own
//! definitions: the man pages (`man`), the completion scripts
//! (`completions`), the JSON Schema of policy files (`schema`). Checked in
//! under docs/ and kept from drifting by tests/docs.rs.
//!
//! The man pages: the main page names one page per subcommand
//! (`git-policy-check-pr(1)`, …); `man COMMAND…` prints one of them,
//! `man --dir DIR` writes them all (what a package installs under
//! `share/man/man1`). The completion scripts offer the names `explain`
//! knows after `explain`.

use std::path::Path;
use std::process::ExitCode;

use clap::builder::PossibleValue;

use super::{Global, Outcome, PASSED, explain, out};
use crate::cli::Cli;
use crate::policy::{Policy, did_you_mean};
use crate::sources::Fatal;

/// `man [COMMAND]… [--dir DIR]`.
pub(crate) fn man(global: &Global, command: &[String], dir: Option<&Path>) -> Outcome {
    let pages = pages();
    if let Some(dir) = dir {
        return write_all(&global.dir.join(dir), &pages);
    }
    match pages.iter().find(|page| page.is_named(command)) {
        Some(page) => {
            out(&page.roff);
            Ok(ExitCode::from(PASSED))
        }
        None => Err(unknown_page(command, &pages).into()),
    }
}

/// The main page, `git-policy.1` (checked in as docs/man/git-policy.1).
pub fn man_page() -> String {
    man_pages()
        .into_iter()
        .next()
        .map(|(_, page)| page)
        .unwrap_or_default()
}

/// Every man page: `git-policy.1` first, then one per subcommand
/// (`git-policy-check-pr.1`, …), the pages the main one names under
/// SUBCOMMANDS (checked in under docs/man/).
pub fn man_pages() -> Vec<(String, String)> {
    pages().into_iter().map(|p| (p.file, p.roff)).collect()
}

struct Page {
    /// The subcommand's words (`["check", "pr"]`; none for the main page).
    words: Vec<String>,
    /// `git-policy-check-pr.1`.
    file: String,
    roff: String,
}

impl Page {
    /// `check pr` (as words), `check-pr`, `git-policy-check-pr` and
    /// `git-policy-check-pr.1` all name the page of `check pr`.
    fn is_named(&self, command: &[String]) -> bool {
        let asked = command.join("-");
        let asked = asked.strip_suffix(".1").unwrap_or(&asked);
        let file = self.file.strip_suffix(".1").unwrap_or(&self.file);
        command == self.words.as_slice()
            || asked == self.words.join("-")
            || (!asked.is_empty() && asked == file)
    }
}

fn pages() -> Vec<Page> {
    use clap::CommandFactory;
    fn add(command: clap::Command, words: Vec<String>, out: &mut Vec<Page>) {
        let man = clap_mangen::Man::new(command.clone());
        let mut buffer = Vec::new();
        // Rendering into memory cannot fail.
        let _ = man.render(&mut buffer);
        out.push(Page {
            words: words.clone(),
            file: man.get_filename(),
            roff: String::from_utf8_lossy(&buffer).into_owned(),
        });
        for sub in command.get_subcommands().filter(|s| !s.is_hide_set()) {
            let mut words = words.clone();
            words.push(sub.get_name().to_owned());
            add(sub.clone(), words, out);
        }
    }
    let mut command = Cli::command().disable_help_subcommand(true);
    command.build();
    let mut out = Vec::new();
    add(command, Vec::new(), &mut out);
    out
}

fn unknown_page(command: &[String], pages: &[Page]) -> Fatal {
    let commands: Vec<String> = pages
        .iter()
        .skip(1)
        .map(|page| page.words.join(" "))
        .collect();
    let asked = command.join(" ");
    let fatal = Fatal::new(format!(
        "`{asked}` is no git-policy command, so it has no man page"
    ));
    match did_you_mean(&asked, commands.iter().map(String::as_str)) {
        Some(close) => fatal.help(format!("did you mean `git-policy man {close}`?")),
        None => fatal.help(format!(
            "pages: {} (`git-policy man --dir DIR` writes them all)",
            commands.join(", ")
        )),
    }
}

fn write_all(dir: &Path, pages: &[Page]) -> Outcome {
    let failed = |what: &str, path: &Path, e: std::io::Error| {
        Fatal::new(format!("cannot {what} {}: {e}", path.display()))
    };
    std::fs::create_dir_all(dir).map_err(|e| failed("create the folder", dir, e))?;
    let mut written = String::new();
    for page in pages {
        let path = dir.join(&page.file);
        std::fs::write(&path, &page.roff).map_err(|e| failed("write", &path, e))?;
        written.push_str(&format!("{}\n", path.display()));
    }
    out(&written);
    Ok(ExitCode::from(PASSED))
}

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

/// `schema`: the JSON Schema of policy files, for editors.
pub(crate) fn schema() -> Outcome {
    out(&schema_text());
    Ok(ExitCode::from(PASSED))
}

/// The JSON Schema of policy files, as `schema` prints it and `init` writes it.
pub(crate) fn schema_text() -> String {
    let mut text = serde_json::to_string_pretty(&Policy::json_schema()).unwrap_or_default();
    text.push('\n');
    text
}
