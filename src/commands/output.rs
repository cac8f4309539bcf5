//! The output functions: the only place that writes to stdout and stderr.
//! Every write is inert (`report::inert`: nothing an Actions runner or a
//! terminal would obey) and redacted (the run's tokens); a closed pipe is
//! not an error.

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;
use std::sync::OnceLock;

use super::Global;
use super::failure::{FAILED, Failure, PASSED};
use crate::cli::Format;
use crate::policy::Policy;
use crate::report::inert::{Inert, Mode};
use crate::report::{self, Report, human::Style};
use crate::sources::Fatal;

/// How this run writes: set once, before any output.
struct Output {
    inert: Inert,
    format: Format,
}

static OUTPUT: OnceLock<Output> = OnceLock::new();

fn settings() -> &'static Output {
    OUTPUT.get_or_init(|| Output {
        inert: Inert {
            secrets: secrets_from_env(),
            color: false,
        },
        format: Format::Human,
    })
}

/// `text` made inert as JSON (still valid JSON, then unchanged by [`out`]'s
/// own pass), whatever the format.
pub(super) fn inert_json(text: &str) -> String {
    settings().inert.text(text, Mode::Json).into_owned()
}

/// Fixes the format and colour every later write uses, and makes a panic
/// "could not judge" ([`super::failure`]).
pub fn configure_output(format: Format, style: Style) {
    let _ = OUTPUT.set(Output {
        inert: Inert {
            secrets: secrets_from_env(),
            color: style.color,
        },
        format,
    });
    super::failure::report_panics(format, style);
}

/// Values that must never be shown: tokens the run may hold, and the
/// userinfo of `GITHUB_API_URL`.
fn secrets_from_env() -> Vec<String> {
    let mut secrets: Vec<String> = [
        "GITHUB_TOKEN",
        "GH_TOKEN",
        "GITHUB_PAT",
        "INPUT_TOKEN",
        "ACTIONS_RUNTIME_TOKEN",
        "ACTIONS_ID_TOKEN_REQUEST_TOKEN",
    ]
    .iter()
    .filter_map(|name| std::env::var(name).ok())
    .map(|v| v.trim().to_owned())
    .filter(|v| !v.is_empty())
    .collect();
    if let Ok(api) = std::env::var("GITHUB_API_URL")
        && let Some((_, rest)) = api.split_once("://")
        && let Some((userinfo, _)) = rest.split('/').next().unwrap_or("").rsplit_once('@')
    {
        secrets.push(userinfo.to_owned());
        secrets.extend(userinfo.split(':').map(str::to_owned));
    }
    secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
    secrets
}

fn stdout_mode() -> Mode {
    match settings().format {
        Format::Github => Mode::Github,
        Format::Json | Format::Sarif => Mode::Json,
        Format::Human | Format::Markdown => Mode::Text,
    }
}

/// Text bound for GitHub (a comment body) with the run's secrets redacted:
/// what is written to the API goes through the same redaction as stdout.
pub fn redacted(text: &str) -> String {
    inert().redact(text).into_owned()
}

/// The run's redaction: the environment's tokens, and those the trackers
/// were given once the policy named them.
pub(super) fn inert() -> std::borrow::Cow<'static, Inert> {
    let trackers = crate::sources::trackers::secrets();
    if trackers.is_empty() {
        return std::borrow::Cow::Borrowed(&settings().inert);
    }
    let mut inert = settings().inert.clone();
    inert.secrets.extend(trackers);
    inert.secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
    std::borrow::Cow::Owned(inert)
}

/// Whether stderr is a terminal (progress bars, prompts, colour).
#[expect(
    clippy::disallowed_methods,
    reason = "the output module: asks, writes nothing"
)]
pub fn stderr_is_terminal() -> bool {
    use std::io::IsTerminal;
    std::io::stderr().is_terminal()
}

/// Whether stdout is a terminal (colour).
#[expect(
    clippy::disallowed_methods,
    reason = "the output module: asks, writes nothing"
)]
pub fn stdout_is_terminal() -> bool {
    use std::io::IsTerminal;
    std::io::stdout().is_terminal()
}

/// Writes to stdout, inert (see `report::inert`); a closed pipe (`| head`)
/// is not an error.
#[expect(clippy::disallowed_methods, reason = "the output module")]
pub fn out(text: &str) {
    let mut stdout = std::io::stdout().lock();
    let _ = stdout.write_all(inert().text(text, stdout_mode()).as_bytes());
    let _ = stdout.flush();
}

/// Writes to stderr, inert: plain text in every format.
#[expect(clippy::disallowed_methods, reason = "the output module")]
pub fn err(text: &str) {
    let mut stderr = std::io::stderr().lock();
    let _ = stderr.write_all(inert().text(text, Mode::Text).as_bytes());
}

/// A stream to stdout that makes each line inert as it is written (a large
/// JSON report is never held whole).
struct InertStdout {
    line: Vec<u8>,
    mode: Mode,
    sink: std::io::BufWriter<std::io::StdoutLock<'static>>,
}

impl InertStdout {
    #[expect(clippy::disallowed_methods, reason = "the output module")]
    fn new() -> InertStdout {
        InertStdout {
            line: Vec::new(),
            mode: stdout_mode(),
            sink: std::io::BufWriter::new(std::io::stdout().lock()),
        }
    }

    fn write_line(&mut self) -> std::io::Result<()> {
        let line = String::from_utf8_lossy(&self.line);
        let inert = inert().line(&line, self.mode).into_owned();
        self.sink.write_all(inert.as_bytes())?;
        self.line.clear();
        Ok(())
    }
}

impl Drop for InertStdout {
    fn drop(&mut self) {
        let _ = self.flush();
    }
}

impl Write for InertStdout {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        for piece in buf.split_inclusive(|b| *b == b'\n') {
            match piece.strip_suffix(b"\n") {
                Some(body) => {
                    self.line.extend_from_slice(body);
                    self.write_line()?;
                    self.sink.write_all(b"\n")?;
                }
                None => self.line.extend_from_slice(piece),
            }
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        if !self.line.is_empty() {
            self.write_line()?;
        }
        self.sink.flush()
    }
}

/// Renders a report in the chosen format and maps it to 0 or 1.
pub fn finish(global: &Global, policy: &Policy, report: &Report) -> ExitCode {
    match global.format {
        Format::Human => {
            // Streamed, each line made inert as it goes (a closed pipe is not an error).
            let mut stdout = InertStdout::new();
            let _ = report::human::write_report(report, policy, global.style, &mut stdout);
            let _ = stdout.flush();
        }
        Format::Json => {
            // A closed pipe (`| head`) is not an error of the check.
            let _ = report::json::write(report, policy, InertStdout::new());
        }
        Format::Github => out(&report::github::render(report, policy)),
        Format::Markdown => out(&report::markdown::render(report)),
        Format::Sarif => {
            let _ = report::sarif::write(report, policy, InertStdout::new());
        }
    }
    ExitCode::from(if report.passed() { PASSED } else { FAILED })
}

/// `$GITHUB_STEP_SUMMARY` and `$GITHUB_OUTPUT`, when Actions provides them.
pub(crate) fn write_github_files(report: &Report) -> Result<(), Failure> {
    let append = |var: &str, text: &str| -> Result<(), Fatal> {
        let Some(path) = std::env::var_os(var).filter(|p| !p.is_empty()) else {
            return Ok(());
        };
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(|e| {
                Fatal::new(format!(
                    "cannot write {var} ({}): {e}",
                    Path::new(&path).display()
                ))
            })?;
        file.write_all(text.as_bytes())
            .map_err(|e| Fatal::new(format!("cannot write {var}: {e}")))
    };
    append(
        "GITHUB_STEP_SUMMARY",
        &redacted(&report::github::step_summary(report)),
    )?;
    append(
        "GITHUB_OUTPUT",
        &report::github::outputs(report, &heredoc_delimiter()),
    )?;
    Ok(())
}

/// A heredoc delimiter for `$GITHUB_OUTPUT` that no value can guess.
pub fn heredoc_delimiter() -> String {
    use std::hash::{BuildHasher, Hasher};
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u128(nanos);
    format!(
        "git_policy_{:x}_{:016x}",
        std::process::id(),
        hasher.finish()
    )
}
