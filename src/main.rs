use std::process::ExitCode;

use clap::Parser;
use git_policy::commands::{err, out};

fn main() -> ExitCode {
    let cli = match git_policy::cli::Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            // Through the writer like everything else: arguments may hold
            // text a pull request controls.
            let text = e.render().to_string();
            if e.use_stderr() {
                err(&text);
            } else {
                out(&text);
            }
            // Bad usage is "could not judge"; --help and --version are not errors.
            return ExitCode::from(if e.use_stderr() { 2 } else { 0 });
        }
    };
    git_policy::commands::run(cli)
}
