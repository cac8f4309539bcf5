//! Commands: gather facts, evaluate, render, write. The only place (with
//! `sources`) that prints, reads the environment or touches files.

mod audit;
mod check_branch;
mod check_commit_msg;
pub(crate) mod check_commits;
mod check_pr;
mod explain;
mod init;
mod install_hooks;
mod schema;
mod validate;

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use crate::cli::{Check, Cli, ColorChoice, Command, Format};
use crate::policy::{InvalidPolicy, Policy, load};
use crate::report::{self, Report, human::Style};
use crate::sources::Fatal;
use crate::sources::policy_files::{self, Origin};

/// Settings every command shares.
pub struct Global {
    pub dir: PathBuf,
    pub policies: Vec<PathBuf>,
    pub format: Format,
    pub builtin: bool,
    pub style: Style,
}

/// Why a command could not judge (exit 2).
pub enum Failure {
    Fatal(Fatal),
    Policy(InvalidPolicy),
}

impl From<Fatal> for Failure {
    fn from(f: Fatal) -> Self {
        Failure::Fatal(f)
    }
}

pub type Outcome = Result<ExitCode, Failure>;

pub const PASSED: u8 = 0;
pub const FAILED: u8 = 1;
pub const ERROR: u8 = 2;

/// Runs the parsed command line; maps every outcome to an exit status.
pub fn run(cli: Cli) -> ExitCode {
    let g = cli.global;
    let format = g.format.unwrap_or_else(|| {
        if std::env::var("GITHUB_ACTIONS").is_ok_and(|v| v == "true") {
            Format::Github
        } else {
            Format::Human
        }
    });
    let color = match g.color {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => {
            std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
                && std::io::stderr().is_terminal()
                && std::io::stdout().is_terminal()
        }
    };
    let width = std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(100);
    let global = Global {
        dir: g.dir.unwrap_or_else(|| PathBuf::from(".")),
        policies: g.policies,
        format,
        builtin: !g.no_builtin,
        style: Style { color, width },
    };
    let outcome = match cli.command {
        Command::Check(Check::Pr {
            event,
            repo,
            number,
            offline,
        }) => check_pr::run(
            &global,
            check_pr::Target {
                event: event.as_deref(),
                repo: repo.as_deref(),
                number,
                offline,
            },
        ),
        Command::Check(Check::CommitMsg { file }) => check_commit_msg::run(&global, &file),
        Command::Check(Check::Branch { name }) => check_branch::run(&global, name),
        Command::Check(Check::Commits {
            range,
            exclude_remote,
        }) => check_commits::run(&global, &range, exclude_remote.as_deref()),
        Command::Audit(args) => audit::run(&global, &args),
        Command::Validate => validate::run(&global),
        Command::Explain { topic } => explain::run(&global, topic.as_deref()),
        Command::Init(args) => init::run(&global, &args),
        Command::InstallHooks { force } => install_hooks::run(&global, force),
        Command::Schema => schema::run(),
        Command::Completions { shell } => {
            out(&completions(shell));
            Ok(ExitCode::from(PASSED))
        }
        Command::Man => man(),
    };
    match outcome {
        Ok(code) => code,
        Err(failure) => {
            report_failure(&global, &failure);
            ExitCode::from(ERROR)
        }
    }
}

fn report_failure(global: &Global, failure: &Failure) {
    match (global.format, failure) {
        (Format::Json, _) => out(&report::json::render_failure(failure_parts(failure))),
        (Format::Sarif, _) => {
            let parts = failure_parts(failure);
            out(&report::sarif::render_failure(
                parts.message,
                parts.help,
                parts.invalid,
            ));
            match failure {
                Failure::Fatal(f) => err(&human_fatal(f, global.style.color)),
                Failure::Policy(invalid) => err(&report::render_policy_errors(
                    invalid,
                    global.style.color,
                    global.style.width,
                )),
            }
        }
        (Format::Github, Failure::Fatal(f)) => {
            out(&report::github::annotation(
                "error",
                "git-policy",
                None,
                &with_help(&f.message, f.help.as_deref()),
            ));
            err(&human_fatal(f, global.style.color));
        }
        (Format::Github, Failure::Policy(invalid)) => {
            out(&report::github::policy_errors(invalid));
            err(&report::render_policy_errors(
                invalid,
                global.style.color,
                global.style.width,
            ));
        }
        (Format::Human | Format::Markdown, Failure::Fatal(f)) => {
            err(&human_fatal(f, global.style.color))
        }
        (Format::Human | Format::Markdown, Failure::Policy(invalid)) => err(
            &report::render_policy_errors(invalid, global.style.color, global.style.width),
        ),
    }
}

fn failure_parts(failure: &Failure) -> report::json::FailureParts<'_> {
    match failure {
        Failure::Fatal(f) => report::json::FailureParts {
            message: &f.message,
            help: f.help.as_deref(),
            invalid: None,
        },
        Failure::Policy(invalid) => report::json::FailureParts {
            message: "the policy is invalid",
            help: None,
            invalid: Some(invalid),
        },
    }
}

fn with_help(message: &str, help: Option<&str>) -> String {
    match help {
        Some(h) => format!("{message}\nhelp: {h}"),
        None => message.to_owned(),
    }
}

fn human_fatal(f: &Fatal, color: bool) -> String {
    let label = if color {
        "\x1b[1;31merror\x1b[0m"
    } else {
        "error"
    };
    let mut s = format!("{label}: {}\n", f.message);
    if let Some(help) = &f.help {
        s.push_str(&format!("  help: {help}\n"));
    }
    s
}

/// A completion script for `shell`.
pub fn completions(shell: clap_complete::Shell) -> String {
    use clap::CommandFactory;
    let mut command = Cli::command();
    let mut buffer = Vec::new();
    clap_complete::generate(shell, &mut command, "git-policy", &mut buffer);
    String::from_utf8_lossy(&buffer).into_owned()
}

/// The man page, in roff (checked in as docs/man/git-policy.1).
pub fn man_page() -> String {
    use clap::CommandFactory;
    let mut buffer = Vec::new();
    // Rendering into memory cannot fail.
    let _ = clap_mangen::Man::new(Cli::command()).render(&mut buffer);
    String::from_utf8_lossy(&buffer).into_owned()
}

fn man() -> Outcome {
    out(&man_page());
    Ok(ExitCode::from(PASSED))
}

/// Writes to stdout; a closed pipe (`| head`) is not an error.
pub fn out(text: &str) {
    let mut stdout = std::io::stdout().lock();
    let _ = stdout.write_all(text.as_bytes());
    let _ = stdout.flush();
}

pub fn err(text: &str) {
    let mut stderr = std::io::stderr().lock();
    let _ = stderr.write_all(text.as_bytes());
}

/// Finds, reads and validates the policy for a work tree.
pub fn policy_for(global: &Global, root: Option<&Path>) -> Result<Policy, Failure> {
    let (sources, origin) = policy_files::discover(root, &global.policies, global.builtin)?;
    if origin == Origin::Builtin {
        err(&format!(
            "note: no policy in this repository ({}/ or {}); using the built-in pack {} (`git-policy init` copies it to adapt)\n",
            policy_files::POLICY_DIR,
            policy_files::POLICY_FILE,
            crate::policy::BUILTIN_NAME
        ));
    }
    load(sources).map_err(Failure::Policy)
}

/// Renders a report in the chosen format and maps it to 0 or 1.
pub fn finish(global: &Global, policy: &Policy, report: &Report) -> ExitCode {
    match global.format {
        Format::Human => out(&report::human::render_report(report, policy, global.style)),
        Format::Json => {
            let stdout = std::io::stdout().lock();
            // A closed pipe (`| head`) is not an error of the check.
            let _ = report::json::write(report, policy, std::io::BufWriter::new(stdout));
        }
        Format::Github => out(&report::github::render(report, policy)),
        Format::Markdown => out(&report::markdown::render(report)),
        Format::Sarif => {
            let stdout = std::io::stdout().lock();
            let _ = report::sarif::write(report, policy, std::io::BufWriter::new(stdout));
        }
    }
    ExitCode::from(if report.passed() { PASSED } else { FAILED })
}
