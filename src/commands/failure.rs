//! Why a command could not judge, and how that is said: exit status 2,
//! the message (redacted, inert) in every format, and under Actions
//! `passed=false` in `$GITHUB_OUTPUT`. A panic is reported the same way.

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

use super::output::{err, heredoc_delimiter, inert, out};
use crate::cli::Format;
use crate::policy::InvalidPolicy;
use crate::report::{self, human::Style};
use crate::sources::Fatal;

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

/// What a command returns: its exit status, or why it could not judge.
pub type Outcome = Result<ExitCode, Failure>;

pub const PASSED: u8 = 0;
pub const FAILED: u8 = 1;
pub const ERROR: u8 = 2;

/// Says why the command could not judge, in the run's format.
pub(super) fn report_failure(format: Format, style: Style, failure: &Failure) {
    // Redacted before rendering, so that wrapping cannot split a secret.
    let redacted;
    let failure = match failure {
        Failure::Fatal(f) => {
            let inert = &inert();
            redacted = Failure::Fatal(Fatal {
                message: inert.redact(&f.message).into_owned(),
                help: f.help.as_deref().map(|h| inert.redact(h).into_owned()),
            });
            &redacted
        }
        Failure::Policy(_) => failure,
    };
    if format == Format::Github {
        write_failure_outputs(failure);
    }
    match (format, failure) {
        (Format::Json, _) => out(&report::json::render_failure(failure_parts(failure))),
        (Format::Sarif, _) => {
            let parts = failure_parts(failure);
            out(&report::sarif::render_failure(
                parts.message,
                parts.help,
                parts.invalid,
            ));
            match failure {
                Failure::Fatal(f) => err(&human_fatal(f, style.color)),
                Failure::Policy(invalid) => err(&report::render_policy_errors(
                    invalid,
                    style.color,
                    style.width,
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
            err(&human_fatal(f, style.color));
        }
        (Format::Github, Failure::Policy(invalid)) => {
            out(&report::github::policy_errors(invalid));
            err(&report::render_policy_errors(
                invalid,
                style.color,
                style.width,
            ));
        }
        (Format::Human | Format::Markdown, Failure::Fatal(f)) => err(&human_fatal(f, style.color)),
        (Format::Human | Format::Markdown, Failure::Policy(invalid)) => err(
            &report::render_policy_errors(invalid, style.color, style.width),
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
    let mut s = format!("{label}: {}\n", report::inert::multi_line(&f.message));
    if let Some(help) = &f.help {
        s.push_str(&format!("  help: {}\n", report::inert::multi_line(help)));
    }
    s
}

/// On exit status 2 in `--format github`, `$GITHUB_OUTPUT` still says
/// `passed=false` (and why): a later step never sees a missing or forged value.
fn write_failure_outputs(failure: &Failure) {
    let Some(path) = std::env::var_os("GITHUB_OUTPUT").filter(|p| !p.is_empty()) else {
        return;
    };
    let reason = match failure {
        Failure::Fatal(f) => f.message.clone(),
        Failure::Policy(invalid) => format!(
            "the policy is invalid: {}",
            report::plural(invalid.errors.len(), "problem")
        ),
    };
    let reason = report::inert::one_line(&inert().redact(&reason)).into_owned();
    let text = report::github::failure_outputs(&reason, &heredoc_delimiter());
    let written = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .and_then(|mut file| file.write_all(text.as_bytes()));
    if let Err(e) = written {
        err(&format!(
            "error: cannot write GITHUB_OUTPUT ({}): {e}\n",
            Path::new(&path).display()
        ));
    }
}

/// Makes a panic "could not judge": its message through [`err`], the
/// failure reported as every other (`passed=false` under Actions), exit
/// status 2. The hook runs under `panic = "abort"` too, where nothing
/// unwinds to a `catch_unwind`.
pub(super) fn report_panics(format: Format, style: Style) {
    std::panic::set_hook(Box::new(move |info| {
        err(&format!("error: internal error: {info}\n"));
        let failure = Failure::Fatal(
            Fatal::new(format!(
                "git-policy stopped on an internal error: {}",
                panic_message(info)
            ))
            .help("an unfinished check is no verdict; please report it with the message above"),
        );
        report_failure(format, style, &failure);
        std::process::exit(ERROR.into());
    }));
}

/// What the panic said (its payload is a `&str` or a `String` from `panic!`).
fn panic_message(info: &std::panic::PanicHookInfo<'_>) -> String {
    let payload = info.payload();
    let text = payload
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("(no message)");
    match info.location() {
        Some(at) => format!("{text} ({}:{})", at.file(), at.line()),
        None => text.to_owned(),
    }
}
