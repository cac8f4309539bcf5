//! Commands: gather facts, evaluate, render, write. The only place (with
//! `sources`) that prints, reads the environment or touches files. One file
//! per command; `output` writes, `failure` says why a command could not
//! judge, `generated` holds what is generated from the command line (man
//! pages, completions, the policy's JSON Schema).

mod audit;
mod check_branch;
mod check_commit_msg;
pub(crate) mod check_commits;
mod check_pr;
mod check_push;
mod event;
mod evidence;
mod explain;
mod failure;
mod generated;
mod init;
mod install_hooks;
mod output;
mod tracked;
mod validate;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use crate::cli::{Check, Cli, ColorChoice, Command, Format};
use crate::policy::{InvalidPolicy, Policy};
use crate::report::{Report, human::Style};
use crate::sources::policy_files::{self, Origin};

pub use failure::{ERROR, FAILED, Failure, Outcome, PASSED};
pub use generated::{completions, man_page, man_pages};
pub use output::{
    configure_output, err, finish, heredoc_delimiter, out, redacted, stderr_is_terminal,
    stdout_is_terminal,
};

/// Settings every command shares.
pub struct Global {
    pub(crate) dir: PathBuf,
    pub(crate) policies: Vec<PathBuf>,
    pub(crate) format: Format,
    pub(crate) builtin: bool,
    pub(crate) style: Style,
}

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
    let style = style(g.color);
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
            failure::report_failure(global.format, global.style, &failure);
            ExitCode::from(ERROR)
        }
    }
}

/// Colour (asked, or on a terminal without `NO_COLOR`) and width (`COLUMNS`).
fn style(color: ColorChoice) -> Style {
    let color = match color {
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
    Style { color, width }
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
        Command::Schema => generated::schema(),
        Command::Completions { shell } => {
            out(&completions(shell));
            Ok(ExitCode::from(PASSED))
        }
        Command::Man { command, folder } => generated::man(global, &command, folder.as_deref()),
    }
}

/// Finds, reads and validates the policy for a work tree.
pub(crate) fn policy_for(global: &Global, root: Option<&Path>) -> Result<Policy, Failure> {
    policy_cached(global, root, None)
}

/// [`policy_for`] for the hooks, which run on every commit and push: the
/// parsed files are kept in `git_dir` between runs ([`crate::sources::policy_cache`]).
pub(crate) fn policy_cached(
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
pub(crate) fn today() -> chrono::NaiveDate {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .ok()
        .and_then(|d| chrono::DateTime::from_timestamp(i64::try_from(d.as_secs()).ok()?, 0))
        .map_or(chrono::NaiveDate::MAX, |t| t.date_naive())
}

/// Applies the policy's waivers to a report, as of today.
pub(crate) fn waive(policy: &Policy, report: &mut Report, scope: &crate::waivers::Scope) {
    crate::waivers::apply(policy, report, scope, today());
}

/// Compiles the regexes and glob sets that judging these kinds of subject
/// needs (only the rules on them: the hook does not build the pull
/// request's path sets); one that cannot be built is a policy error, exit 2.
pub(crate) fn prepare(
    policy: &Policy,
    kinds: &[crate::policy::SubjectKind],
) -> Result<(), Failure> {
    prepare_for(policy, kinds, crate::syntax::Haystacks::Many)
}

/// [`prepare`] for judging one text of `len` bytes (a hook's message or
/// branch name): regexes built for one text when it is short.
pub(crate) fn prepare_one(
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
