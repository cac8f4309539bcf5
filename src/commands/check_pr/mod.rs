//! `check pr`: the merge gate of a pull request. `run` reads top to bottom:
//! which pull request, the clone and GitHub, `check` (the policies it is
//! judged by, `policies.rs`; the facts each needs and the judgement,
//! `judge.rs`), then `conclude` (the verdict, `write_back.rs`).

// Event payloads and API answers are untrusted text: never sliced or indexed
// by byte position (a hand-written event's short `base.sha` once reached
// `&sha[..10]`).
#![deny(clippy::string_slice, clippy::indexing_slicing)]

use std::path::Path;
use std::process::ExitCode;

use git2::{Oid, Repository};

use super::{Failure, Global, Outcome, err, finish};
use crate::cli::{CommentWhen, Format};
use crate::facts::PullRequest;
use crate::policy::{Level, Policy, SubjectKind};
use crate::report::Report;
use crate::sources::event::{self, Event, MergeGroup};
use crate::sources::github::{self, GitHub};
use crate::sources::policy_of_record::PolicyReader;
use crate::sources::{Fatal, git, pull_request};
use crate::text::short_sha as short;

mod judge;
mod policies;
mod write_back;

pub(super) use judge::judge;
use judge::judge_under;
pub(super) use policies::texts;
use policies::{Policies, policies, policies_differ};
use write_back::{Writes, say_undecided, say_written, write_back};

/// What `check pr` judges: the pull request, each of its commits, its head branch.
const JUDGED: &[SubjectKind] = &[
    SubjectKind::PullRequest,
    SubjectKind::Commit,
    SubjectKind::Branch,
];

/// Which pull request: from the event file, or named.
pub(crate) struct Target<'a> {
    pub(crate) event: Option<&'a Path>,
    pub(crate) repo: Option<&'a str>,
    pub(crate) number: Option<u64>,
    /// Judge from the event payload and the clone alone.
    pub(crate) offline: bool,
    /// When to write the pull request comment.
    pub(crate) comment: CommentWhen,
    /// Request the reviews approval rules ask for.
    pub(crate) request_reviews: bool,
}

/// `check pr`: the merge gate of a pull request. Gathers the pull request
/// and judges it under the policy of record (`check`), then writes the
/// verdict and what it says back to the pull request (`conclude`).
pub(crate) fn run(global: &Global, target: Target<'_>) -> Outcome {
    let event_file = target.event.map(Path::to_path_buf);
    let writes = Writes::of(&target);
    let which = which(target)?;
    let github::Connection { runtime, gh } = connect(writes.offline)?;
    let _inside = runtime.enter();
    let git = clone(global)?;
    let offline_pr = match writes.offline {
        true => Some(offline_event(
            event_file.as_deref(),
            git.as_ref(),
            &which.repo,
        )?),
        false => None,
    };
    let at = Reader {
        global,
        gh: &gh,
        git: git.as_ref(),
    };
    runtime.block_on(async {
        let checked = check(at, &which, offline_pr).await;
        conclude(at, &which, &writes, checked).await
    })
}

/// Writes the verdict (notes on stderr, the report, the Actions files),
/// then the comment and review requests. A run that cannot judge says so
/// in the comment an earlier run left (which may say "all requirements
/// met"), then stops.
async fn conclude(
    at: Reader<'_>,
    which: &Which,
    writes: &Writes,
    checked: Result<Checked, Failure>,
) -> Outcome {
    let global = at.global;
    let checked = match checked {
        Ok(checked) => checked,
        Err(failure) => {
            tell_undecided(at.gh, which, writes, &why_undecided(&failure)).await;
            return Err(failure);
        }
    };
    // Notes go to stderr in every format: stdout stays one JSON object.
    for note in &checked.notes {
        err(&format!("note: {note}\n"));
    }
    let undecided = undecided(&checked);
    let code = verdict(
        global,
        &checked.policy,
        &checked.report,
        undecided.is_some(),
    );
    if global.format == Format::Github {
        super::output::write_github_files(&checked.report)?;
    }
    if let Some(fatal) = undecided {
        tell_undecided(at.gh, which, writes, &fatal.message).await;
        return Err(fatal.into());
    }
    // Written after the verdict, which nothing here changes: what could not
    // be written is a notice or a warning, never another exit status.
    if writes.comment != CommentWhen::Never || writes.request_reviews {
        say_written(global, write_back(at.gh, &checked, writes).await);
    }
    Ok(code)
}

/// [`say_undecided`], and what it said as notes.
async fn tell_undecided(gh: &GitHub, which: &Which, writes: &Writes, why: &str) {
    for text in say_undecided(gh, which, writes, why).await {
        err(&format!("note: {text}\n"));
    }
}

/// The GitHub client. Nothing is asked of GitHub offline; an address
/// nothing answers on makes sure of it.
fn connect(offline: bool) -> Result<github::Connection, Fatal> {
    let mut settings = github::Settings::from_env()?;
    if offline {
        settings.api = String::from("http://127.0.0.1:9");
        settings.token = None;
    }
    settings.connect()
}

/// The clone, when the directory is one. libgit2 reads the base policy and
/// the diffs before any walk: a damaged pack index must stop it first (an
/// offset past the pack's end crashes it).
fn clone(global: &Global) -> Result<Option<Repository>, Fatal> {
    let git = git::open(&global.dir).ok();
    if let Some(repo) = &git {
        git::check_packs(repo)?;
    }
    Ok(git)
}

/// What the comment of an undecided run says stopped it.
fn why_undecided(failure: &Failure) -> String {
    match failure {
        Failure::Fatal(fatal) => fatal.message.clone(),
        Failure::Policy(invalid) => format!(
            "the policy is invalid ({})",
            crate::report::plural(invalid.errors.len(), "problem")
        ),
    }
}

/// Teams that could not be read are findings of their rules; when they are
/// the only errors, the verdict is theirs to decide: could not judge.
fn undecided(checked: &Checked) -> Option<Fatal> {
    let first = checked.unreadable.first()?;
    let other_errors = checked
        .report
        .findings
        .iter()
        .any(|f| f.level == Level::Error && !f.message.starts_with(UNRESOLVED_TEAM));
    if other_errors {
        return None;
    }
    Some(Fatal {
        message: format!(
            "the verdict depends on team members that could not be read: {}",
            first.message
        ),
        help: first.help.clone(),
    })
}

/// Where `check pr` reads from: the command line, GitHub and the clone.
#[derive(Clone, Copy)]
struct Reader<'a> {
    global: &'a Global,
    gh: &'a GitHub,
    git: Option<&'a Repository>,
}

impl<'a> Reader<'a> {
    /// Where the policy at a commit of `repo` is read from.
    fn policies(&self, repo: &'a str) -> PolicyReader<'a> {
        PolicyReader {
            gh: self.gh,
            git: self.git,
            repo,
            given: &self.global.policies,
        }
    }
}

/// How the approval rule starts a finding about a team it could not read.
const UNRESOLVED_TEAM: &str = "cannot tell who may approve";

/// The pull request to judge; for a merge queue entry, also the group.
struct Which {
    repo: String,
    number: u64,
    group: Option<MergeGroup>,
}

fn which(target: Target<'_>) -> Result<Which, Failure> {
    if let Some(number) = target.number {
        let repo = match target.repo {
            Some(r) => r.to_owned(),
            None => std::env::var("GITHUB_REPOSITORY")
                .ok()
                .filter(|r| !r.is_empty())
                .ok_or_else(|| {
                    Fatal::new("--number needs a repository")
                        .help("pass --repo OWNER/NAME (or set GITHUB_REPOSITORY)")
                })?,
        };
        if !github::is_repository_name(&repo) {
            return Err(Fatal::new(format!("`{repo}` is not OWNER/NAME"))
                .help("e.g. --repo octo/app")
                .into());
        }
        if number == 0 {
            return Err(Fatal::new("pull request number 0 does not exist")
                .help("pass the number GitHub shows, e.g. --number 42")
                .into());
        }
        return Ok(Which {
            repo,
            number,
            group: None,
        });
    }
    if target.repo.is_some() {
        return Err(Fatal::new("--repo needs --number")
            .help("e.g. --repo octo/app --number 42")
            .into());
    }
    let path = match target.event {
        Some(p) => p.to_path_buf(),
        None => std::env::var_os("GITHUB_EVENT_PATH").filter(|p| !p.is_empty()).map(Into::into).ok_or_else(|| {
            Fatal::new("no pull request to check: no --event FILE, no GITHUB_EVENT_PATH, no --number")
                .help("in GitHub Actions run it on a pull_request event; elsewhere pass --repo OWNER/NAME --number N")
        })?,
    };
    let name = std::env::var("GITHUB_EVENT_NAME").ok();
    Ok(match event::read(&path, name.as_deref())? {
        Event::MergeGroup(group) => Which {
            repo: group.repo.clone(),
            number: group.number,
            group: Some(group),
        },
        Event::PullRequest { repo, number } => Which {
            repo,
            number,
            group: None,
        },
    })
}

/// The pull request as the event payload describes it, for `--offline`:
/// the clone must hold its base and head commits.
fn offline_pull_request(
    file: &Path,
    git: Option<&Repository>,
    repo_name: &str,
) -> Result<PullRequest, Failure> {
    let text = std::fs::read_to_string(file).map_err(|e| {
        Fatal::new(format!(
            "cannot read the event file `{}`: {e}",
            file.display()
        ))
    })?;
    let pr = pull_request::from_event(&text, repo_name)?;
    let held = git.is_some_and(|r| {
        [&pr.base_sha, &pr.head_sha]
            .iter()
            .all(|sha| Oid::from_str(sha).is_ok_and(|oid| r.find_commit(oid).is_ok()))
    });
    if !held {
        return Err(Fatal::new(format!(
            "--offline reads the commits and files from git, and this clone does not hold both the base ({}) and head ({}) commits of the event",
            short(&pr.base_sha),
            short(&pr.head_sha)
        ))
        .help("run it in a clone with that history (`git fetch origin <sha>`, or actions/checkout with `fetch-depth: 0`)")
        .into());
    }
    Ok(pr)
}

/// The pull request of the recorded event `--offline` judges.
fn offline_event(
    file: Option<&Path>,
    git: Option<&Repository>,
    repo_name: &str,
) -> Result<PullRequest, Failure> {
    match file {
        Some(file) => offline_pull_request(file, git, repo_name),
        None => Err(
            Fatal::new("--offline judges a recorded event: pass --event FILE")
                .help("e.g. git-policy check pr --event event.json --offline")
                .into(),
        ),
    }
}

/// Writes the report and gives the exit status. When the verdict waits on
/// teams that could not be read (`undecided`), JSON and SARIF keep stdout
/// for the could-not-judge document that follows: every finding is shown
/// first, on stderr.
fn verdict(global: &Global, policy: &Policy, report: &Report, undecided: bool) -> ExitCode {
    if undecided && matches!(global.format, Format::Json | Format::Sarif) {
        err(&crate::report::human::render_report(
            report,
            policy,
            global.style,
        ));
        return ExitCode::from(super::FAILED);
    }
    finish(global, policy, report)
}

/// What one run of `check pr` decided, under the policy that decided it.
struct Checked {
    policy: Policy,
    report: Report,
    notes: Vec<String>,
    unreadable: Vec<Fatal>,
    pr: PullRequest,
}

/// The pull request (from the API, or the offline event), judged under the
/// policy of record, and under its base commit's where that differs: the
/// stricter outcome stands.
async fn check(
    at: Reader<'_>,
    which: &Which,
    offline: Option<PullRequest>,
) -> Result<Checked, Failure> {
    let mut notes = Vec::new();
    let pr = match offline {
        Some(pr) => {
            notes.push(String::from(
                "offline: judged from the event payload and the clone; reviews, team members, label history and commit accounts were not read, so approvals are not judged",
            ));
            pr
        }
        None => pull_request::read(at.gh, &which.repo, which.number).await?,
    };
    let Policies {
        candidates,
        base_texts,
        notes: read,
    } = policies(at, &pr, which.group.as_ref()).await?;
    notes.extend(read);
    let mut judged = Vec::with_capacity(candidates.len());
    for candidate in &candidates {
        let sources = candidate.sources.clone();
        judged.push(judge_under(at, pr.clone(), sources, &base_texts).await?);
    }
    let chosen = stricter(&judged);
    if let [tip, base] = candidates.as_slice() {
        notes.push(policies_differ(tip, base, &judged, chosen));
    }
    if chosen >= judged.len() {
        return Err(Fatal::new("no policy judged the pull request").into());
    }
    let mut checked = judged.swap_remove(chosen);
    notes.append(&mut checked.notes);
    checked.notes = notes;
    Ok(checked)
}

/// Whether a judgement fails the check (or cannot decide it).
fn failing(checked: &Checked) -> bool {
    !checked.report.passed() || !checked.unreadable.is_empty()
}

/// Which judgement stands: the first that fails, else the first (the
/// policy of record).
fn stricter(judged: &[Checked]) -> usize {
    judged.iter().position(failing).unwrap_or(0)
}
