use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = match git_policy::cli::Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            // Bad usage is "could not judge"; --help and --version are not errors.
            return ExitCode::from(if e.use_stderr() { 2 } else { 0 });
        }
    };
    git_policy::commands::run(cli)
}
