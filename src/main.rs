use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches};
use git_policy::commands::{err, out};

/// musl's allocator makes the released (static musl) build's walks of long
/// histories ~35% slower than the glibc build; jemalloc closes the gap.
#[cfg(target_env = "musl")]
#[global_allocator]
static GLOBAL: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// jemalloc's options, read at its start: one arena for the two threads (the
/// default, four per core, keeps more freed pages: the audit of 100,000 commits
/// would pass the 64 MiB goal).
#[cfg(target_env = "musl")]
#[unsafe(export_name = "_rjem_malloc_conf")]
static MALLOC_CONF: &[u8; 10] = b"narenas:1\0";

fn main() -> ExitCode {
    // `Cli::try_parse`, without dropping the command tree afterwards: the
    // process ends soon and its memory goes back whole (a hook runs on every
    // commit; the drop was 3% of one).
    let mut command = git_policy::cli::Cli::command();
    let parsed = command
        .try_get_matches_from_mut(std::env::args_os())
        .and_then(|mut matches| {
            git_policy::cli::Cli::from_arg_matches_mut(&mut matches)
                .map_err(|e| e.format(&mut command))
        });
    std::mem::forget(command);
    let cli = match parsed {
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
