//! Commands: gather facts, evaluate, render, write. The only place (with
//! `sources`) that prints, reads the environment or touches files.

mod audit;
mod check_branch;
mod check_commit_msg;
pub(crate) mod check_commits;
mod check_pr;
mod check_push;
mod completions;
mod event;
mod evidence;
mod explain;
mod init;
mod install_hooks;
mod man;
mod schema;
mod tracked;
mod validate;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::OnceLock;

use crate::cli::{Check, Cli, ColorChoice, Command, Format};
use crate::policy::{InvalidPolicy, Policy};
use crate::report::inert::{Inert, Mode};
use crate::report::{self, Report, human::Style};
use crate::sources::Fatal;
use crate::sources::policy_files::{self, Origin};

pub use completions::completions;
pub use man::{man_page, man_pages};

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
                && stderr_is_terminal()
                && stdout_is_terminal()
        }
    };
    let width = std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(100);
    let style = Style { color, width };
    configure_output(format, style);
    let global = Global {
        dir: g.dir.unwrap_or_else(|| PathBuf::from(".")),
        policies: g.policies,
        format,
        builtin: !g.no_builtin,
        style,
    };
    // A panic never returns here: the hook (`configure_output`) reports it
    // and exits 2, under `panic = "abort"` (release builds) as under unwind.
    match dispatch(&global, cli.command) {
        Ok(code) => code,
        Err(failure) => {
            report_failure(global.format, global.style, &failure);
            ExitCode::from(ERROR)
        }
    }
}

fn dispatch(global: &Global, command: Command) -> Outcome {
    // Debug builds only (and the `release-test` profile, which keeps release's
    // panic strategy): a panic on demand, for tests/panic.rs. Compiled out of
    // release builds, so no environment can make a shipped binary panic.
    #[cfg(debug_assertions)]
    if let Some(message) = std::env::var_os("GIT_POLICY_DEBUG_PANIC") {
        panic!("{}", message.to_string_lossy());
    }
    match command {
        Command::Check(Check::Pr {
            event,
            repo,
            number,
            offline,
            comment,
            request_reviews,
        }) => check_pr::run(
            global,
            check_pr::Target {
                event: event.as_deref(),
                repo: repo.as_deref(),
                number,
                offline,
                comment,
                request_reviews,
            },
        ),
        Command::Check(Check::CommitMsg { file }) => check_commit_msg::run(global, &file),
        Command::Check(Check::Push { remote }) => check_push::run(global, remote.as_deref()),
        Command::Check(Check::Branch { name }) => check_branch::run(global, name),
        Command::Check(Check::Commits {
            range,
            exclude_remote,
            branch,
        }) => check_commits::run(
            global,
            &range,
            exclude_remote.as_deref(),
            branch.as_deref().filter(|b| !b.is_empty()),
        ),
        Command::Audit(args) => audit::run(global, &args),
        Command::Validate => validate::run(global),
        Command::Explain { topic } => explain::run(global, topic.as_deref()),
        Command::Init(args) => init::run(global, &args),
        Command::Event(args) => event::run(global, &args),
        Command::InstallHooks { force } => install_hooks::run(global, force),
        Command::Schema => schema::run(),
        Command::Completions { shell } => {
            out(&completions(shell));
            Ok(ExitCode::from(PASSED))
        }
        Command::Man { command, folder } => man::run(global, &command, folder.as_deref()),
    }
}

fn report_failure(format: Format, style: Style, failure: &Failure) {
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

/// Fixes the format and colour every later write uses, and makes a panic
/// "could not judge": its message through [`err`], the failure reported as
/// every other (`passed=false` under Actions), exit status 2. The hook runs
/// under `panic = "abort"` too, where nothing unwinds to a `catch_unwind`.
pub fn configure_output(format: Format, style: Style) {
    let _ = OUTPUT.set(Output {
        inert: Inert {
            secrets: secrets_from_env(),
            color: style.color,
        },
        format,
    });
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
fn inert() -> std::borrow::Cow<'static, Inert> {
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

/// Finds, reads and validates the policy for a work tree.
pub fn policy_for(global: &Global, root: Option<&Path>) -> Result<Policy, Failure> {
    policy_cached(global, root, None)
}

/// [`policy_for`] for the hooks, which run on every commit and push: the
/// parsed files are kept in `git_dir` between runs ([`crate::sources::policy_cache`]).
pub fn policy_cached(
    global: &Global,
    root: Option<&Path>,
    git_dir: Option<&Path>,
) -> Result<Policy, Failure> {
    let (sources, origin) = policy_files::discover(root, &global.policies, global.builtin)?;
    if origin == Origin::Repository && policy_files::unread_policy_file(root, &sources).is_some() {
        err(&format!(
            "warning: {}; {}\n",
            policy_files::unread_policy_file_message(),
            policy_files::UNREAD_POLICY_FILE_HELP
        ));
    }
    if origin == Origin::Builtin {
        err(&format!(
            "note: no policy in this repository ({}/ or {}); using the built-in pack {} (`git-policy init` copies it to adapt)\n",
            policy_files::POLICY_DIR,
            policy_files::POLICY_FILE,
            crate::policy::BUILTIN_NAME
        ));
    }
    // SARIF lists every rule of the policy; the kept parse holds only those
    // a hook judges.
    let git_dir = git_dir.filter(|_| !matches!(global.format, Format::Sarif));
    match git_dir {
        Some(dir) => crate::sources::policy_cache::load(dir, sources),
        None => crate::policy::load(sources),
    }
    .map_err(Failure::Policy)
}

/// Today's date (UTC): the one fact waivers need. A clock that cannot be
/// read makes every waiver with an expiry expired (fail closed).
pub fn today() -> chrono::NaiveDate {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .ok()
        .and_then(|d| chrono::DateTime::from_timestamp(i64::try_from(d.as_secs()).ok()?, 0))
        .map_or(chrono::NaiveDate::MAX, |t| t.date_naive())
}

/// Applies the policy's waivers to a report, as of today.
pub fn waive(policy: &Policy, report: &mut Report, scope: &crate::waivers::Scope) {
    crate::waivers::apply(policy, report, scope, today());
}

/// Compiles the regexes and glob sets that judging these kinds of subject
/// needs (only the rules on them: the hook does not build the pull
/// request's path sets); one that cannot be built is a policy error, exit 2.
pub fn prepare(policy: &Policy, kinds: &[crate::policy::SubjectKind]) -> Result<(), Failure> {
    prepare_for(policy, kinds, crate::syntax::Haystacks::Many)
}

/// [`prepare`] for judging one text of `len` bytes (a hook's message or
/// branch name): regexes built for one text when it is short.
pub fn prepare_one(
    policy: &Policy,
    kinds: &[crate::policy::SubjectKind],
    len: usize,
) -> Result<(), Failure> {
    // Past this, the lazy DFA pays for itself.
    const SHORT: usize = 64 * 1024;
    let haystacks = if len <= SHORT {
        crate::syntax::Haystacks::One
    } else {
        crate::syntax::Haystacks::Many
    };
    prepare_for(policy, kinds, haystacks)
}

fn prepare_for(
    policy: &Policy,
    kinds: &[crate::policy::SubjectKind],
    haystacks: crate::syntax::Haystacks,
) -> Result<(), Failure> {
    policy.prepare_for(kinds, haystacks).map_err(|errors| {
        Failure::Policy(InvalidPolicy {
            sources: policy.sources.clone(),
            errors,
        })
    })
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
