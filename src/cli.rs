//! Command-line definitions (clap derive).
//!
//! The doc comments below are clap's help text, shown as written: a URL
//! there is text, and `<latest release tag …>` is not HTML.
#![expect(
    rustdoc::bare_urls,
    rustdoc::invalid_html_tags,
    reason = "doc comments here are clap's help text, not rustdoc"
)]

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Enforce your delivery process on Git: pull requests, branches, commits and
/// releases checked against YAML policy files.
#[derive(Debug, Parser)]
#[command(name = "git-policy", version = version_text(), max_term_width = 100)]
#[command(
    after_help = "Exit status: 0 passed (warnings allowed), 1 an error-level finding, 2 could not judge.\n\
Policy: --policy PATH, else .github/policies/*.yml, else .git-policy.yml, else the built-in pack.\n\
Docs: `git-policy explain` lists requirements, policy keys and rules; `git-policy explain ticket` explains one."
)]
pub struct Cli {
    #[command(flatten)]
    pub(crate) global: GlobalArgs,
    #[command(subcommand)]
    pub(crate) command: Command,
}

/// `-V`/`--version` name the commit the binary was built from (build.rs);
/// everything else that renders the command (man page, completions, help)
/// keeps the plain version, so generated docs do not change with every commit.
fn version_text() -> &'static str {
    let asks = std::env::args_os()
        .skip(1)
        .any(|arg| arg == "--version" || arg == "-V");
    if asks {
        env!("GIT_POLICY_LONG_VERSION")
    } else {
        env!("CARGO_PKG_VERSION")
    }
}

#[derive(Debug, Args)]
pub(crate) struct GlobalArgs {
    /// Run as if started in DIR.
    #[arg(short = 'C', global = true, value_name = "DIR")]
    pub(crate) dir: Option<PathBuf>,
    /// Policy file or folder (repeatable; folders are read for *.yml / *.yaml and merged).
    #[arg(long = "policy", global = true, value_name = "PATH")]
    pub(crate) policies: Vec<PathBuf>,
    /// Output format [default: github when GITHUB_ACTIONS=true, else human].
    #[arg(long, global = true, value_enum)]
    pub(crate) format: Option<Format>,
    /// Never fall back to the built-in policy pack.
    #[arg(long, global = true, env = "GIT_POLICY_NO_BUILTIN", value_parser = clap::builder::FalseyValueParser::new())]
    pub(crate) no_builtin: bool,
    /// When to use colour (NO_COLOR is honoured by `auto`).
    #[arg(long, global = true, value_enum, default_value_t = ColorChoice::Auto)]
    pub(crate) color: ColorChoice,
}

/// When `check pr` writes its comment.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum CommentWhen {
    /// When the check fails, or to update a comment already there.
    Auto,
    /// On every run (a passing first run too).
    Always,
    /// Never (the default).
    Never,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Diagnostics for people, pointing at the policy line behind each finding.
    Human,
    /// One JSON object on stdout (see docs/json.md).
    Json,
    /// GitHub Actions workflow commands (annotations), step summary and outputs.
    Github,
    /// A Markdown report (the release audit's, to paste into the release page).
    Markdown,
    /// SARIF 2.1.0, for code scanning (GitHub code scanning, SARIF viewers).
    Sarif,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum ColorChoice {
    Auto,
    Always,
    Never,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Check a commit message, a branch, or a range of commits.
    #[command(subcommand)]
    Check(Check),
    /// The RTE's release audit before tagging a release candidate.
    Audit(AuditArgs),
    /// Load and validate the policy only; lists every error with its place.
    Validate,
    /// Explain a requirement (`ticket`), a policy key (`waivers`) or a rule of the policy (`commit-ticket`); list them all without an argument.
    Explain {
        /// A requirement name, a policy key (`when`, `unless`, `waivers`, `exemptions`) or a rule id.
        topic: Option<String>,
    },
    /// Write a starter policy for your team (.git-policy.yml) and its JSON Schema.
    Init(InitArgs),
    /// Print a pull request event for `check pr --offline --event FILE`: this
    /// clone's branch as a pull request, to try a policy before pushing.
    Event(EventArgs),
    /// Install commit-msg and pre-push hooks that run git-policy.
    InstallHooks {
        /// Replace hooks not written by git-policy (the old one is kept beside it).
        #[arg(long)]
        force: bool,
    },
    /// Print the JSON Schema of policy files.
    Schema,
    /// Print a shell completion script (e.g. `git-policy completions bash > /etc/bash_completion.d/git-policy`).
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
    /// Print a man page (roff): this one, or a command's (`git-policy man check pr`);
    /// `--dir DIR` writes every page, e.g. `git-policy man --dir ~/.local/share/man/man1`.
    Man {
        /// The command whose page to print, e.g. `check pr` [default: the main page].
        #[arg(value_name = "COMMAND", conflicts_with = "folder")]
        command: Vec<String>,
        /// Write every page (`git-policy.1`, `git-policy-check-pr.1`, …) into DIR instead.
        #[arg(long = "dir", value_name = "DIR")]
        folder: Option<PathBuf>,
    },
}

/// What `init` writes: asked on a terminal, or given as flags.
#[derive(Debug, Args)]
pub(crate) struct InitArgs {
    /// Overwrite existing files.
    #[arg(long)]
    pub(crate) force: bool,
    /// `minimal`: tickets in commits and pull requests, drafts (the default);
    /// `release-train`: the built-in 29-rule pack of a release train, to adapt.
    #[arg(long, value_enum)]
    pub(crate) preset: Option<Preset>,
    /// Your tracker's project keys, e.g. `ABC,OPS` (tickets look like ABC-123)
    /// [default: the most frequent keys of the last 500 commits].
    #[arg(long, value_name = "KEYS", value_delimiter = ',')]
    pub(crate) ticket_keys: Vec<String>,
    /// Link to a ticket, with `{id}`, e.g. https://example.atlassian.net/browse/{id}.
    #[arg(long, value_name = "URL")]
    pub(crate) tracker_url: Option<String>,
    /// Refuse work committed straight to the default branch.
    #[arg(long)]
    pub(crate) forbid_default_branch: bool,
    /// Paths a team must approve: `GLOB=TEAM`, where TEAM is a GitHub team
    /// `org/team-slug` or people `user:alice+bob` (repeatable), e.g.
    /// `.github/workflows/**=acme/platform`.
    #[arg(long, value_name = "GLOB=TEAM")]
    pub(crate) guard: Vec<String>,
    /// Never ask, even on a terminal.
    #[arg(long)]
    pub(crate) no_input: bool,
}

/// The pull request `event` describes; what is not given comes from the clone.
#[derive(Debug, Args)]
#[command(
    after_help = "Example:\n  git-policy event --title 'EPL-1 Log in with SSO' --label feature > event.json\n  git-policy check pr --offline --event event.json"
)]
pub(crate) struct EventArgs {
    /// Title [default: the subject of its only commit, else the head branch's name].
    #[arg(long, value_name = "TEXT")]
    pub(crate) title: Option<String>,
    /// Description (Markdown) [default: none].
    #[arg(long, value_name = "TEXT", conflicts_with = "body_file")]
    pub(crate) body: Option<String>,
    /// Read the description from FILE (`-`: stdin).
    #[arg(long, value_name = "FILE")]
    pub(crate) body_file: Option<PathBuf>,
    /// A label (repeatable, or comma-separated).
    #[arg(long = "label", value_name = "NAME", value_delimiter = ',')]
    pub(crate) labels: Vec<String>,
    /// The pull request is a draft.
    #[arg(long)]
    pub(crate) draft: bool,
    /// The branch it merges into [default: the remote's default branch (`origin/HEAD`), else main or master].
    #[arg(long, value_name = "BRANCH")]
    pub(crate) base: Option<String>,
    /// The branch it merges [default: the current branch].
    #[arg(long, value_name = "BRANCH")]
    pub(crate) head: Option<String>,
    /// The author's GitHub login [default: $GITHUB_ACTOR, else octocat].
    #[arg(long, value_name = "LOGIN")]
    pub(crate) author: Option<String>,
    /// The milestone's title [default: none].
    #[arg(long, value_name = "TITLE")]
    pub(crate) milestone: Option<String>,
    /// OWNER/NAME [default: $GITHUB_REPOSITORY, else the `origin` remote, else local/repository].
    #[arg(long, value_name = "OWNER/NAME")]
    pub(crate) repo: Option<String>,
    /// The pull request's number.
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub(crate) number: u64,
}

/// A starting point for `init`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum Preset {
    Minimal,
    ReleaseTrain,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Check {
    /// Check a pull request: the merge gate (GitHub Actions: the event in GITHUB_EVENT_PATH).
    Pr {
        /// The Actions event payload [default: $GITHUB_EVENT_PATH].
        #[arg(long, value_name = "FILE")]
        event: Option<PathBuf>,
        /// OWNER/NAME [default: $GITHUB_REPOSITORY], with --number.
        #[arg(long, value_name = "OWNER/NAME")]
        repo: Option<String>,
        /// Pull request number (instead of an event).
        #[arg(long, value_name = "N")]
        number: Option<u64>,
        /// Judge from the event payload and the clone alone, without the API
        /// (a dry run of a policy on a recorded event, or one `git-policy event`
        /// writes; what needs the API, such as approvals, is a notice).
        #[arg(long, requires = "event")]
        offline: bool,
        /// Keep one comment on the pull request saying what is left before
        /// merge, edited in place: `auto` (the bare flag) when the check fails
        /// or a comment exists, `always`, or `never` (the default). Needs
        /// `pull-requests: write`; without it, a notice and the same verdict.
        #[arg(long, value_name = "WHEN", num_args = 0..=1, default_value = "never", default_missing_value = "auto", require_equals = true)]
        comment: CommentWhen,
        /// Request the reviews that rules with `approval: { request: … }` still
        /// miss (never on a draft, never twice). Needs `pull-requests: write`.
        #[arg(long)]
        request_reviews: bool,
    },
    /// Check a commit message file (git's commit-msg hook passes it as $1).
    CommitMsg {
        /// The message file, e.g. .git/COMMIT_EDITMSG.
        file: PathBuf,
    },
    /// Check a branch name (default: the current branch).
    Branch {
        /// Branch name.
        name: Option<String>,
    },
    /// Check what a push publishes: the branches it updates and every commit
    /// the remote lacks (git's pre-push hook on stdin, or pre-commit's PRE_COMMIT_* variables).
    Push {
        /// The remote's name (git passes it to the pre-push hook as $1).
        remote: Option<String>,
    },
    /// Check every commit of a range, e.g. origin/main..HEAD.
    Commits {
        /// `A..B`, `A...B`, or one revision (all its history).
        range: String,
        /// Also leave out commits a remote already has (pre-push on a new branch).
        #[arg(long, value_name = "REMOTE")]
        exclude_remote: Option<String>,
        /// The branch the commits are on or pushed to (pre-push: the remote
        /// branch), for rules on a commit's branch, as the commit-msg hook knows it.
        #[arg(long, value_name = "NAME")]
        branch: Option<String>,
    },
}

#[derive(Debug, Args)]
pub(crate) struct AuditArgs {
    /// `A..B` [default: <latest release tag reachable from HEAD>..HEAD].
    pub(crate) range: Option<String>,
    /// The version being released (fills `{version}` in the release page path).
    #[arg(long, value_name = "VERSION")]
    pub(crate) release: Option<String>,
    /// Audit this release page file instead of the one in the repository.
    #[arg(long, value_name = "FILE")]
    pub(crate) page: Option<PathBuf>,
    /// Which tags are releases (a glob, like git's --match) [default: tags that are semantic versions].
    #[arg(long, value_name = "GLOB")]
    pub(crate) tag_pattern: Option<String>,
    /// The deployment is done: post-deployment sections may no longer say "pending".
    #[arg(long)]
    pub(crate) post_deploy: bool,
    /// OWNER/NAME for the API checks [default: $GITHUB_REPOSITORY, else the `origin` remote].
    #[arg(long, value_name = "OWNER/NAME")]
    pub(crate) repo: Option<String>,
    /// Release evidence: only pull requests merged into this branch count (repeatable) [default: any branch].
    #[arg(long, value_name = "NAME")]
    pub(crate) branch: Vec<String>,
    /// Keep merged pull requests' facts in DIR [default: $XDG_CACHE_HOME/git-policy/evidence].
    #[arg(long, value_name = "DIR", conflicts_with = "no_cache")]
    pub(crate) cache: Option<PathBuf>,
    /// Read every pull request from GitHub; keep nothing on disk.
    #[arg(long)]
    pub(crate) no_cache: bool,
}
