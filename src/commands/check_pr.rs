// Event payloads and API answers are untrusted text: never sliced or indexed
// by byte position (a hand-written event's short `base.sha` once reached
// `&sha[..10]`).
#![deny(clippy::string_slice, clippy::indexing_slicing)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::ExitCode;

use git2::{Oid, Repository};

use super::{Failure, Global, Outcome, err, finish};
use crate::cli::{CommentWhen, Format};
use crate::engine::{
    Finding, Interner, applies, evaluate_shared, needs, rule_needs, skip_reason, verdicts,
};
use crate::facts::{Branch, PullRequest, Subject};
use crate::policy::{Level, Policy, PolicySource, SubjectKind, load};
use crate::report::Report;
use crate::rules::Needs;
use crate::sources::conversation::{self, OwnComment, Refused};
use crate::sources::event::{self, Event, MergeGroup};
use crate::sources::github::{self, GitHub};
use crate::sources::policy_of_record::{Found, PolicyReader};
use crate::sources::{Fatal, git, pull_request};
use crate::text::short_sha as short;

/// What `check pr` judges: the pull request, each of its commits, its head branch.
const JUDGED: &[SubjectKind] = &[
    SubjectKind::PullRequest,
    SubjectKind::Commit,
    SubjectKind::Branch,
];

/// Which pull request: from the event file, or named.
pub struct Target<'a> {
    pub event: Option<&'a Path>,
    pub repo: Option<&'a str>,
    pub number: Option<u64>,
    /// Judge from the event payload and the clone alone.
    pub offline: bool,
    /// When to write the pull request comment.
    pub comment: CommentWhen,
    /// Request the reviews approval rules ask for.
    pub request_reviews: bool,
}

/// `check pr`: the merge gate of a pull request. Gathers the pull request
/// and judges it under the policy of record (`check`), then writes the
/// verdict and what it says back to the pull request (`conclude`).
pub fn run(global: &Global, target: Target<'_>) -> Outcome {
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

/// What writing the comment and the review requests said: a note, and under
/// Actions an annotation.
fn say_written(global: &Global, said: Vec<Said>) {
    for Said { level, text } in said {
        if global.format == Format::Github {
            super::out(&crate::report::github::annotation(
                level.name(),
                "git-policy: pull request comment",
                None,
                &text,
            ));
        }
        err(&format!("note: {text}\n"));
    }
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

/// What `check pr` writes to the pull request.
struct Writes {
    comment: CommentWhen,
    request_reviews: bool,
    /// Offline, nothing is written.
    offline: bool,
    /// What marks this workflow job's comment.
    marker: String,
}

impl Writes {
    fn of(target: &Target<'_>) -> Writes {
        Writes {
            comment: target.comment,
            request_reviews: target.request_reviews,
            offline: target.offline,
            marker: crate::report::comment::marker(
                &std::env::var("GITHUB_WORKFLOW").unwrap_or_default(),
                &std::env::var("GITHUB_JOB").unwrap_or_default(),
            ),
        }
    }
}

/// One thing the reader should know about what was written (nothing of it
/// changes the verdict).
struct Said {
    level: Level,
    text: String,
}

/// Edits the comment an earlier run left (if any) to say that this run could
/// not judge the pull request, and why. Creates none. Returns what the
/// reader should know.
async fn say_undecided(gh: &GitHub, which: &Which, writes: &Writes, why: &str) -> Vec<String> {
    if writes.comment == CommentWhen::Never || writes.offline {
        return Vec::new();
    }
    let (repo, marker) = (which.repo.as_str(), writes.marker.as_str());
    let found = async {
        let me = conversation::identity(gh).await?;
        conversation::own_comments(gh, repo, which.number, &me).await
    }
    .await;
    let Ok(own) = found else {
        return vec![String::from(
            "could not read the pull request's comments to say that it was not judged",
        )];
    };
    let Some(first) = own
        .into_iter()
        .find(|x| crate::report::comment::has_marker(&x.body, marker))
    else {
        return Vec::new();
    };
    let body = super::redacted(&crate::report::comment::undecided(
        marker,
        &super::redacted(why),
    ));
    match conversation::edit(gh, repo, first.id, &body).await {
        Ok(()) => vec![String::from(
            "the pull request comment now says that this run could not judge it",
        )],
        Err(_) => vec![String::from(
            "could not edit the pull request comment to say that this run could not judge it",
        )],
    }
}

/// Requests the reviews the approval rules ask for, then creates or edits
/// the comment. Returns what the reader should know.
async fn write_back(gh: &GitHub, checked: &Checked, writes: &Writes) -> Vec<Said> {
    let (pr, report) = (&checked.pr, &checked.report);
    if pr.offline {
        return vec![Said {
            level: Level::Notice,
            text: String::from("offline: no comment or review request was written"),
        }];
    }
    let mut said = Vec::new();
    // Whose comment to edit, and whether there is one.
    let comment = match writes.comment {
        CommentWhen::Never => None,
        _ => match own_comment(gh, pr, writes, report.passed()).await {
            Ok(ours) => ours,
            Err(why) => {
                said.push(refused("read the pull request's comments", why));
                None
            }
        },
    };
    let missing: Vec<&crate::rules::MissingApprovals> = report
        .findings
        .iter()
        .filter_map(|f| f.approvals.as_deref())
        .collect();
    let wants_requests =
        writes.request_reviews && !pr.draft && missing.iter().any(|m| m.request.is_some());
    let mut requested = crate::rules::review_requests::Requested::default();
    if comment.is_some() || wants_requests {
        match conversation::requested(gh, &pr.repo, pr.number).await {
            Ok(found) => {
                requested = found;
                if wants_requests {
                    said.extend(request_reviews(gh, pr, &missing, &mut requested).await);
                }
            }
            // Without knowing who is asked, asking again could ask twice.
            Err(why) => said.push(refused("read who is asked to review", why)),
        }
    }
    let Some(ours) = comment else {
        return said;
    };
    let body = comment_body(checked, &writes.marker, &requested);
    match keep_one_comment(gh, pr, ours, &body, &writes.marker).await {
        Ok(warning) => said.extend(warning),
        Err(why) => said.push(refused("write the pull request comment", why)),
    }
    said
}

/// The account the token writes as, and its comments with the marker:
/// `None` when no comment is wanted (none yet, and the pull request passes
/// unless every run must write one).
async fn own_comment(
    gh: &GitHub,
    pr: &PullRequest,
    writes: &Writes,
    passed: bool,
) -> Result<Option<Ours>, Refused> {
    let me = conversation::identity(gh).await?;
    let own: Vec<OwnComment> = conversation::own_comments(gh, &pr.repo, pr.number, &me)
        .await?
        .into_iter()
        .filter(|c| crate::report::comment::has_marker(&c.body, &writes.marker))
        .collect();
    let wanted = writes.comment == CommentWhen::Always || !passed || !own.is_empty();
    Ok(wanted.then_some(Ours { me, own }))
}

/// Who writes the comment, and the comments with the marker it wrote.
struct Ours {
    me: String,
    own: Vec<OwnComment>,
}

/// Asks for the reviews the missing approvals name that nobody is asked
/// for yet; `requested` then holds them too.
async fn request_reviews(
    gh: &GitHub,
    pr: &PullRequest,
    missing: &[&crate::rules::MissingApprovals],
    requested: &mut crate::rules::review_requests::Requested,
) -> Option<Said> {
    let plan = crate::rules::review_requests::plan(pr, missing, requested);
    if plan.is_empty() {
        return None;
    }
    if let Err(why) = conversation::request(gh, &pr.repo, pr.number, &plan).await {
        return Some(refused("request reviews", why));
    }
    let mut who: Vec<String> = plan.reviewers.clone();
    who.extend(plan.team_reviewers.iter().map(|t| format!("team {t}")));
    requested.users.extend(plan.reviewers);
    requested.teams.extend(plan.team_reviewers);
    Some(Said {
        level: Level::Notice,
        text: format!("requested reviews from {}", who.join(", ")),
    })
}

/// The comment's text. Secrets are redacted before the text is escaped for
/// Markdown (an escaped `ghp\_…` no longer looks like a token) and in the
/// body after.
fn comment_body(
    checked: &Checked,
    marker: &str,
    requested: &crate::rules::review_requests::Requested,
) -> String {
    let mut shown = checked.report.clone();
    for f in &mut shown.findings {
        f.message = super::redacted(&f.message).into();
        f.help = f.help.as_deref().map(|h| super::redacted(h).into());
        f.commit_subject = f.commit_subject.as_deref().map(super::redacted);
    }
    super::redacted(&crate::report::comment::render(
        &crate::report::comment::Comment {
            report: &shown,
            policy: &checked.policy,
            marker,
            head_sha: &checked.pr.head_sha,
            requested,
        },
    ))
}

/// What a refused write or read says.
fn refused(what: &str, why: Refused) -> Said {
    match why {
        Refused::NotPermitted(answer) => Said {
            level: Level::Notice,
            text: format!(
                "git-policy did not {what}: GitHub refused the token ({answer}). A `pull_request` run from a fork gets a read-only token, and a job needs `permissions: pull-requests: write`; the verdict is unchanged and the job summary has every finding (docs/github-action.md, \"Permissions and forks\")"
            ),
        },
        Refused::Failed(fatal) => Said {
            level: Level::Warning,
            text: format!(
                "could not {what}: {}; the verdict is unchanged",
                fatal.message
            ),
        },
    }
}

/// Edits the oldest own comment with the marker, or creates one when there
/// is none after a second look (another run may have made it meanwhile);
/// a duplicate left by two runs racing is folded into the oldest. Returns
/// a warning when the comment was written as another account.
async fn keep_one_comment(
    gh: &GitHub,
    pr: &PullRequest,
    ours: Ours,
    body: &str,
    marker: &str,
) -> Result<Option<Said>, Refused> {
    use crate::report::comment::has_marker;
    let Ours { me, own } = ours;
    let marked = |list: Vec<OwnComment>| -> Vec<OwnComment> {
        list.into_iter()
            .filter(|x| has_marker(&x.body, marker))
            .collect()
    };
    let own = if own.is_empty() {
        marked(conversation::own_comments(gh, &pr.repo, pr.number, &me).await?)
    } else {
        own
    };
    if let Some((first, extra)) = own.split_first() {
        if first.body != body {
            conversation::edit(gh, &pr.repo, first.id, body).await?;
        }
        for duplicate in extra {
            conversation::delete(gh, &pr.repo, duplicate.id).await?;
        }
        return Ok(None);
    }
    let created = conversation::create(gh, &pr.repo, pr.number, body).await?;
    if let Some(author) = created.author.filter(|a| !a.eq_ignore_ascii_case(&me)) {
        return Ok(Some(Said {
            level: Level::Warning,
            text: format!(
                "the comment was written as {author}, but git-policy looks for comments by {me}: set GIT_POLICY_COMMENT_AUTHOR={author} so that the next run edits it instead of writing another"
            ),
        }));
    }
    let after = marked(conversation::own_comments(gh, &pr.repo, pr.number, &me).await?);
    if let Some(oldest) = after.first().filter(|o| o.id != created.id) {
        conversation::edit(gh, &pr.repo, oldest.id, body).await?;
        conversation::delete(gh, &pr.repo, created.id).await?;
    }
    Ok(None)
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

/// A policy the pull request may be judged by, and where it was read.
struct Candidate {
    /// "the base branch's tip", "the pull request's base commit".
    what: &'static str,
    sha: String,
    sources: Vec<PolicySource>,
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

/// The policies a pull request is judged by, and the texts of its base
/// commit's files (none when the built-in pack stood in for them): what
/// the pull request's head is compared with.
struct Policies {
    candidates: Vec<Candidate>,
    base_texts: Vec<(String, String)>,
    notes: Vec<String>,
}

/// Reads the policy at the pull request's base commit and, online, the base
/// branch's tip (at the same time); for a merge queue entry, the group's base.
async fn policies(
    at: Reader<'_>,
    pr: &PullRequest,
    group: Option<&MergeGroup>,
) -> Result<Policies, Failure> {
    let mut notes = Vec::new();
    let reads_tip = !pr.offline && at.global.policies.is_empty() && group.is_none();
    let (base, tip) = futures_util::join!(policy_at(at, &pr.repo, &pr.base_sha), async {
        match reads_tip {
            true => github::branch_tip(at.gh, &pr.repo, &pr.base)
                .await
                .map(Some),
            false => Ok(None),
        }
    });
    let (base, mut tip) = (base?, tip?);
    notes.extend(base.note.clone());
    // A merge queue entry lands on the group's base: that is the tip.
    if let Some(group) = group {
        tip = Some(merge_group_base(pr, group)?);
        notes.push(format!(
            "merge group: pull request #{} judged as it merges onto {} at {}, by the policy there",
            pr.number,
            group.base_branch,
            short(&group.base_sha)
        ));
    }
    let base_texts = if base.builtin {
        Vec::new()
    } else {
        texts(&base.sources)
    };
    let OfRecord {
        candidates,
        notes: read,
    } = of_record(at, pr, base, tip).await?;
    notes.extend(read);
    Ok(Policies {
        candidates,
        base_texts,
        notes,
    })
}

/// Which policy decided when the tip's and the base commit's differ, and
/// what the other would have said.
fn policies_differ(tip: &Candidate, base: &Candidate, judged: &[Checked], chosen: usize) -> String {
    let verdict = |c: &Checked| if failing(c) { "fails" } else { "passes" };
    let (decided, other) = if chosen == 0 {
        (tip, base)
    } else {
        (base, tip)
    };
    format!(
        "the policy differs at the base branch's tip ({}) and at the pull request's base commit ({}): judged by the policy at {} {} (the stricter outcome); under the policy at {} {} it {}",
        short(&tip.sha),
        short(&base.sha),
        decided.what,
        short(&decided.sha),
        other.what,
        short(&other.sha),
        judged.get(1 - chosen).map_or("", verdict),
    )
}

/// The policies of record, and what the reader should know about them.
struct OfRecord {
    candidates: Vec<Candidate>,
    notes: Vec<String>,
}

/// The policies a pull request is judged by. The policy of record is the
/// one at the commit the merge will land on: the base branch's tip now,
/// read through the API (GitHub does not move a pull request's `base.sha`
/// when its base branch moves). Where the policy at the pull request's own
/// base commit differs, both judge and the stricter outcome stands. Offline
/// and with `--policy` there is one candidate.
async fn of_record(
    at: Reader<'_>,
    pr: &PullRequest,
    base: Record,
    tip: Option<String>,
) -> Result<OfRecord, Failure> {
    let at_base = Candidate {
        what: "the pull request's base commit",
        sha: pr.base_sha.clone(),
        sources: base.sources,
    };
    let one = |candidate: Candidate, notes: Vec<String>| OfRecord {
        candidates: vec![candidate],
        notes,
    };
    let Some(tip) = tip else {
        let mut notes = Vec::new();
        if pr.offline {
            notes.push(format!(
                "offline: judged by the policy at the event's base commit {}; the base branch may have moved since, and the gate also applies its tip's policy",
                short(&pr.base_sha)
            ));
        }
        return Ok(one(at_base, notes));
    };
    if tip.eq_ignore_ascii_case(&pr.base_sha) {
        return Ok(one(at_base, Vec::new()));
    }
    let at_tip = policy_at(at, &pr.repo, &tip).await?;
    if at_tip.builtin == base.builtin && texts(&at_tip.sources) == texts(&at_base.sources) {
        return Ok(one(at_base, Vec::new()));
    }
    Ok(OfRecord {
        candidates: vec![
            Candidate {
                what: "the base branch's tip",
                sha: tip,
                sources: at_tip.sources,
            },
            at_base,
        ],
        notes: at_tip.note.into_iter().collect(),
    })
}

/// The commit whose policy judges a merge queue entry: the group's base,
/// once the live pull request is known to merge into the group's branch.
fn merge_group_base(pr: &PullRequest, group: &MergeGroup) -> Result<String, Fatal> {
    if pr.base != group.base_branch {
        return Err(Fatal::new(format!(
            "the merge group merges into `{}`, but pull request #{} targets `{}`",
            group.base_branch, pr.number, pr.base
        ))
        .help("the queue branch names another pull request than the one GitHub reports; re-run the merge queue"));
    }
    Ok(group.base_sha.clone())
}

/// The policy at a commit: its files, or the built-in pack when it has none.
struct Record {
    sources: Vec<PolicySource>,
    builtin: bool,
    /// Where it came from, when the reader should know.
    note: Option<String>,
}

/// The policy at a commit ([`PolicyReader::at`]); the built-in pack when
/// the commit has none and it is allowed.
async fn policy_at(at: Reader<'_>, repo: &str, sha: &str) -> Result<Record, Failure> {
    let record = |sources, builtin, note| Record {
        sources,
        builtin,
        note,
    };
    match at.policies(repo).at(sha).await? {
        Found::Given(sources) => Ok(record(
            sources,
            false,
            Some(String::from(
                "the policy comes from --policy, not from the pull request's base commit",
            )),
        )),
        Found::AtCommit(sources) => Ok(record(sources, false, None)),
        Found::Absent if at.global.builtin => Ok(record(
            vec![PolicySource::builtin()],
            true,
            Some(format!(
                "the base commit {} has no policy (.github/policies/ or .git-policy.yml); using the built-in pack {}",
                short(sha),
                crate::policy::BUILTIN_NAME
            )),
        )),
        Found::Absent => Err(Fatal::new(format!(
            "the base commit {sha} has no policy, and the built-in pack is disabled"
        ))
        .help("commit a policy to the base branch (`git-policy init`), or allow the built-in pack")
        .into()),
    }
}

/// The pull request judged under one policy: the facts that policy needs
/// gathered, every rule applied, waivers and verdicts.
async fn judge_under(
    at: Reader<'_>,
    pr: PullRequest,
    sources: Vec<PolicySource>,
    base_texts: &[(String, String)],
) -> Result<Checked, Failure> {
    let policy = load(sources).map_err(Failure::Policy)?;
    super::prepare(&policy, JUDGED)?;
    let wanted = wanted(&policy, &pr);
    let Gathered {
        pr,
        unreadable,
        mut notes,
    } = gather(at, pr, &policy, &wanted).await?;
    let mut judged = judge(&policy, &pr, &mut Interner::default());
    let today = super::today();
    // A pull request that changes the policy is judged by the base policy
    // (it must not weaken its own, nor waive its own findings); the proposed
    // one is reported as notices.
    if let Some(proposal) = proposed(at, &pr, base_texts, today).await? {
        judged.findings.push(proposal.notice);
        notes.extend(proposal.note);
    }
    let report = report_of(&policy, &pr, judged, today);
    Ok(Checked {
        policy,
        report,
        notes,
        unreadable,
        pr,
    })
}

/// What one policy needs gathered about the pull request: the union over
/// every rule that can run here (the pull request, each commit, the head
/// branch). Offline, nothing more is asked of GitHub.
struct Wanted {
    commits: pull_request::CommitFacts,
    /// The label history (a label someone may have granted).
    label_events: bool,
    /// The teams whose members approval rules may need.
    teams: BTreeSet<String>,
    /// The trackers to ask about the tickets named, with their fields.
    tickets: BTreeMap<String, BTreeSet<String>>,
}

fn wanted(policy: &Policy, pr: &PullRequest) -> Wanted {
    let online = !pr.offline;
    let commit_needs = needs(policy, SubjectKind::Commit);
    let pr_needs = needs(policy, SubjectKind::PullRequest);
    let carries =
        |labels: &BTreeSet<String>| pr.labels.iter().any(|l| labels.contains(&l.to_lowercase()));
    let granting = carries(&pr_needs.label_events) && online;
    // Who wrote its commits is read when it can matter: an approval by
    // someone other than the author (who may be a commit's author), or a
    // label someone may have granted.
    let approved_by_another = pr.reviews.iter().any(|r| {
        r.stance() == crate::facts::Stance::Approved && !r.author.eq_ignore_ascii_case(&pr.author)
    });
    let commits = pull_request::CommitFacts {
        changes: commit_needs.changed_files,
        accounts: commit_needs.commit_accounts && online,
        writers: pr_needs.commit_writers && (approved_by_another || granting) && online,
    };
    let teams = match online {
        true => pr_needs
            .teams
            .union(&pr_needs.grant_teams)
            .cloned()
            .collect(),
        false => BTreeSet::new(),
    };
    let tickets = match online {
        true => super::tracked::wanted(policy, &[SubjectKind::PullRequest, SubjectKind::Commit]),
        false => BTreeMap::new(),
    };
    Wanted {
        commits,
        label_events: granting,
        teams,
        tickets,
    }
}

/// The pull request with what one policy needs, and what the reader should
/// know about how it was read.
struct Gathered {
    pr: PullRequest,
    /// Teams the rules that apply need, which could not be read: findings
    /// of those rules, not an abort of the whole check.
    unreadable: Vec<Fatal>,
    notes: Vec<String>,
}

async fn gather(
    at: Reader<'_>,
    mut pr: PullRequest,
    policy: &Policy,
    wanted: &Wanted,
) -> Result<Gathered, Failure> {
    let Reader { gh, git, .. } = at;
    if wanted.label_events {
        let (labels, code) = github::label_events(gh, &pr.repo, pr.number).await?;
        pr.label_events = Some(labels);
        pr.code_events = code;
    }
    // Team members are read while the changes are gathered; a team only
    // matters (and its read only fails the check) when a rule that applies needs it.
    let (completed, teams) = futures_util::join!(
        pull_request::complete(gh, git, &mut pr, wanted.commits),
        read_teams(gh, policy, &wanted.teams)
    );
    let mut notes = completed?.notes;
    read_tickets(policy, &mut pr, &wanted.tickets).await?;
    let unreadable = place_teams(policy, &mut pr, teams);
    notes.extend(unreadable.iter().map(|fatal| fatal.message.clone()));
    Ok(Gathered {
        pr,
        unreadable,
        notes,
    })
}

/// Tickets are verified in their trackers once the commits are read: every
/// ticket named anywhere, in one batch per tracker.
async fn read_tickets(
    policy: &Policy,
    pr: &mut PullRequest,
    wanted: &BTreeMap<String, BTreeSet<String>>,
) -> Result<(), Fatal> {
    if wanted.is_empty() {
        return Ok(());
    }
    let mut texts: Vec<&str> = vec![&pr.title, &pr.body, &pr.head];
    texts.extend(pr.commits.iter().map(|c| c.message.as_str()));
    let mut requests = 0;
    let settings = super::tracked::settings()?;
    let facts = super::tracked::read(policy, wanted, &texts, settings, &mut requests).await?;
    if let Some(facts) = facts {
        for commit in &mut pr.commits {
            commit.tracked = Some(facts.clone());
        }
        pr.tracked = Some(facts);
    }
    Ok(())
}

/// Gives the pull request the members of the teams the rules that apply
/// need; returns those that could not be read. Granting teams that could
/// not be read grant nothing (the rule says so).
fn place_teams(
    policy: &Policy,
    pr: &mut PullRequest,
    teams: BTreeMap<String, Result<Vec<String>, Fatal>>,
) -> Vec<Fatal> {
    let mut applicable = Needs::default();
    for rule in policy
        .rules
        .iter()
        .filter(|r| applies(policy, r, &Subject::PullRequest(pr)))
    {
        rule_needs(policy, rule, &mut applicable);
    }
    for team in &applicable.grant_teams {
        if let Some(Ok(members)) = teams.get(team) {
            pr.team_members.insert(team.clone(), members.clone());
        }
    }
    let mut unreadable = Vec::new();
    for team in applicable.teams {
        match teams.get(&team) {
            Some(Ok(members)) => {
                pr.team_members.insert(team.clone(), members.clone());
            }
            Some(Err(fatal)) => unreadable.push(fatal.clone()),
            None => {}
        }
    }
    unreadable
}

/// The report of the pull request's judgement: findings, subjects, tickets,
/// waivers as of `today`, verdicts.
fn report_of(
    policy: &Policy,
    pr: &PullRequest,
    judged: Judged,
    today: chrono::NaiveDate,
) -> Report {
    let branch = Branch {
        name: pr.head.clone(),
    };
    let mut subjects = vec![Subject::PullRequest(pr), Subject::Branch(&branch)];
    subjects.extend(pr.commits.iter().map(Subject::Commit));
    let mut report = Report {
        subject_kind: "pull_request",
        subject_ref: format!("{}#{}", pr.repo, pr.number),
        findings: judged.findings,
        checked: judged.checked,
        skipped: judged.skipped,
        ..Report::default()
    };
    report.tickets = super::tracked::report_lines(policy, pr.tracked.as_deref());
    crate::waivers::apply(policy, &mut report, &waiver_scope(pr), today);
    report.verdicts = verdicts(policy, &subjects, &report.findings);
    crate::waivers::mark_verdicts(&mut report);
    report
}

/// Findings of one judgement, with how many subjects were judged and
/// skipped.
pub(super) struct Judged {
    pub(super) findings: Vec<Finding>,
    pub(super) checked: usize,
    pub(super) skipped: usize,
}

/// PR rules on the pull request, commit rules on each commit, branch rules
/// on the head branch.
pub(super) fn judge(policy: &Policy, pr: &PullRequest, interner: &mut Interner) -> Judged {
    let mut findings = evaluate_shared(policy, Subject::PullRequest(pr), interner);
    let (mut judged, mut skipped) = (1, 0);
    for commit in &pr.commits {
        let subject = Subject::Commit(commit);
        if skip_reason(policy, &subject).is_some() {
            skipped += 1;
            continue;
        }
        judged += 1;
        findings.extend(evaluate_shared(policy, subject, interner));
    }
    let branch = Branch {
        name: pr.head.clone(),
    };
    findings.extend(evaluate_shared(policy, Subject::Branch(&branch), interner));
    Judged {
        findings,
        checked: judged + 1,
        skipped,
    }
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

/// What `check pr` judges, for waivers: the pull request and its commits.
fn waiver_scope(pr: &PullRequest) -> crate::waivers::Scope {
    crate::waivers::Scope {
        commits: pr.commits.iter().filter_map(|c| c.sha.clone()).collect(),
        pull_request: Some(pr.number),
        release_tickets: None,
    }
}

/// The members of each team, read at the same time; a team that cannot
/// be read is an error of that team only.
async fn read_teams(
    gh: &GitHub,
    policy: &Policy,
    teams: &std::collections::BTreeSet<String>,
) -> BTreeMap<String, Result<Vec<String>, Fatal>> {
    let mut out = BTreeMap::new();
    let reads = teams.iter().map(|team| async move {
        let one = std::iter::once(team.clone()).collect();
        (
            team.clone(),
            pull_request::resolve_teams(gh, policy, &one)
                .await
                .map(|mut m| m.remove(team).unwrap_or_default()),
        )
    });
    for (team, result) in futures_util::future::join_all(reads).await {
        out.insert(team, result);
    }
    out
}

/// (path without the @sha suffix, text) of each policy file, to compare versions.
pub(super) fn texts(sources: &[PolicySource]) -> Vec<(String, String)> {
    sources
        .iter()
        .map(|s| {
            (
                s.name.split('@').next().unwrap_or(&s.name).to_owned(),
                s.text.clone(),
            )
        })
        .collect()
}

/// The policy the pull request proposes, as a notice (and a note when the
/// proposed files are read).
struct Proposal {
    notice: Finding,
    note: Option<String>,
}

/// A notice about the policy the pull request proposes, when it changes it.
async fn proposed(
    at: Reader<'_>,
    pr: &PullRequest,
    base: &[(String, String)],
    today: chrono::NaiveDate,
) -> Result<Option<Proposal>, Failure> {
    if !at.global.policies.is_empty() {
        return Ok(None);
    }
    let head = at
        .policies(&pr.repo)
        .files_at(&pr.head_sha)
        .await?
        .unwrap_or_default();
    if texts(&head) == base {
        return Ok(None);
    }
    if head.is_empty() {
        return Ok(Some(Proposal {
            notice: proposal_notice(String::from(
                "this pull request removes the policy files; the base policy still applies to it",
            )),
            note: None,
        }));
    }
    let proposed = load(head).and_then(|policy| match policy.prepare(JUDGED) {
        Ok(()) => Ok(policy),
        Err(errors) => Err(crate::policy::InvalidPolicy {
            sources: policy.sources,
            errors,
        }),
    });
    let message = match proposed {
        Err(invalid) => format!(
            "this pull request changes the policy, and the proposed policy is invalid ({} problem(s), first: {}); it would stop every check once merged",
            invalid.errors.len(),
            invalid
                .errors
                .first()
                .map_or(String::new(), |e| e.message.clone())
        ),
        Ok(proposed) => under_proposed(&proposed, pr, today),
    };
    Ok(Some(Proposal {
        notice: proposal_notice(message),
        note: Some(String::from(
            "the pull request changes policy files: judged by the base commit's policy",
        )),
    }))
}

/// What the pull request's judgement would be under the policy it proposes.
fn under_proposed(proposed: &Policy, pr: &PullRequest, today: chrono::NaiveDate) -> String {
    let judged = judge(proposed, pr, &mut Interner::default());
    // The proposed policy's waivers apply to its own judgement only.
    let mut under = Report {
        findings: judged.findings,
        ..Report::default()
    };
    crate::waivers::apply(proposed, &mut under, &waiver_scope(pr), today);
    let errors: Vec<String> = under
        .findings
        .iter()
        .filter(|f| f.level == Level::Error)
        .map(|f| format!("{}: {}", f.rule, f.message))
        .collect();
    let waived = match under.waived.len() {
        0 => String::new(),
        n => format!(
            " ({} waived by the proposed policy's waivers, which take effect only once merged)",
            crate::report::plural(n, "finding")
        ),
    };
    if errors.is_empty() {
        format!(
            "this pull request changes the policy; under the proposed policy it would pass{waived}"
        )
    } else {
        format!(
            "this pull request changes the policy; under the proposed policy it would fail{waived}: {}",
            errors.join("; ")
        )
    }
}

/// The `proposed-policy` notice.
fn proposal_notice(message: String) -> Finding {
    Finding {
        rule: crate::outcome::FindingId::ProposedPolicy.as_str().into(),
        level: Level::Notice,
        message: message.into(),
        help: Some(
            "the base policy decides this check; the proposed one takes effect once merged".into(),
        ),
        commit: None,
        commit_subject: None,
        ticket: None,
        path: None,
        policy: crate::policy::Span::default(),
        requirement: None,
        approvals: None,
    }
}
