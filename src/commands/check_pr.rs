// Event payloads and API answers are untrusted text: never sliced or indexed
// by byte position (a hand-written event's short `base.sha` once reached
// `&sha[..10]`).
#![deny(clippy::string_slice, clippy::indexing_slicing)]

use std::collections::BTreeMap;
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
use crate::sources::event::{self, Event, MergeGroup};
use crate::sources::github::{self, GitHub};
use crate::sources::policy_files::{self, read_at_commit};
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

/// `check pr`: the merge gate of a pull request.
pub fn run(global: &Global, target: Target<'_>) -> Outcome {
    let offline = target.offline;
    let (comment, request_reviews) = (target.comment, target.request_reviews);
    let event_file = target.event.map(Path::to_path_buf);
    let Which {
        repo: repo_name,
        number,
        group,
    } = which(target)?;
    let mut settings = github::Settings::from_env()?;
    if offline {
        // Nothing is asked of GitHub offline; an address nothing answers on
        // makes sure of it.
        settings.api = String::from("http://127.0.0.1:9");
        settings.token = None;
    }
    let github::Connection { runtime, gh } = settings.connect()?;
    let _inside = runtime.enter();
    let git = git::open(&global.dir).ok();
    // libgit2 reads the base policy and the diffs before any walk: a damaged
    // pack index must stop it first (an offset past the pack's end crashes it).
    if let Some(repo) = &git {
        git::check_packs(repo)?;
    }
    let offline_pr = match (offline, &event_file) {
        (true, file) => Some(offline_event(file.as_deref(), git.as_ref(), &repo_name)?),
        (false, _) => None,
    };
    let marker = crate::report::comment::marker(
        &std::env::var("GITHUB_WORKFLOW").unwrap_or_default(),
        &std::env::var("GITHUB_JOB").unwrap_or_default(),
    );
    // A run that cannot judge says so in the comment an earlier run left
    // (which may say "all requirements met"), then stops.
    let undecided_comment = |why: &str| {
        if comment != CommentWhen::Never && !offline {
            let said = runtime.block_on(say_undecided(&gh, &repo_name, number, &marker, why));
            for text in said {
                err(&format!("note: {text}\n"));
            }
        }
    };
    let at = Reader {
        global,
        gh: &gh,
        git: git.as_ref(),
    };
    let checked = runtime.block_on(check(at, &repo_name, number, offline_pr, group.as_ref()));
    let Checked {
        policy,
        report,
        notes,
        unreadable,
        pr,
    } = match checked {
        Ok(checked) => checked,
        Err(failure) => {
            undecided_comment(&match &failure {
                Failure::Fatal(fatal) => fatal.message.clone(),
                Failure::Policy(invalid) => format!(
                    "the policy is invalid ({})",
                    crate::report::plural(invalid.errors.len(), "problem")
                ),
            });
            return Err(failure);
        }
    };
    // Notes go to stderr in every format: stdout stays one JSON object.
    for note in &notes {
        err(&format!("note: {note}\n"));
    }
    // Teams that could not be read are findings of their rules; when they
    // are the only errors, the verdict is theirs to decide: could not judge.
    let undecided = unreadable.first().filter(|_| {
        !report
            .findings
            .iter()
            .any(|f| f.level == Level::Error && !f.message.starts_with(UNRESOLVED_TEAM))
    });
    let code = verdict(global, &policy, &report, undecided.is_some());
    if global.format == Format::Github {
        write_github_files(&report)?;
    }
    if let Some(first) = undecided {
        undecided_comment(&format!(
            "the verdict depends on team members that could not be read: {}",
            first.message
        ));
        return Err(Fatal {
            message: format!(
                "the verdict depends on team members that could not be read: {}",
                first.message
            ),
            help: first.help.clone(),
        }
        .into());
    }
    // Written after the verdict, which nothing here changes: what could not
    // be written is a notice or a warning, never another exit status.
    if comment != CommentWhen::Never || request_reviews {
        let writes = Writes {
            comment,
            request_reviews,
            marker: &marker,
        };
        let said = runtime.block_on(write_back(&gh, &policy, &report, &pr, &writes));
        say_written(global, said);
    }
    Ok(code)
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

/// What writing the comment and the review requests said: a note, and under
/// Actions an annotation.
fn say_written(global: &Global, said: Vec<(Level, String)>) {
    for (level, text) in said {
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

/// Edits the comment an earlier run left (if any) to say that this run could
/// not judge the pull request, and why. Creates none. Returns what the
/// reader should know.
async fn say_undecided(
    gh: &GitHub,
    repo: &str,
    number: u64,
    marker: &str,
    why: &str,
) -> Vec<String> {
    use crate::sources::conversation as c;
    let found = async {
        let me = c::identity(gh).await?;
        c::own_comments(gh, repo, number, &me).await
    }
    .await;
    let own = match found {
        Ok(own) => own,
        Err(_) => {
            return vec![String::from(
                "could not read the pull request's comments to say that it was not judged",
            )];
        }
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
    match c::edit(gh, repo, first.id, &body).await {
        Ok(()) => vec![String::from(
            "the pull request comment now says that this run could not judge it",
        )],
        Err(_) => vec![String::from(
            "could not edit the pull request comment to say that this run could not judge it",
        )],
    }
}

/// What `check pr` writes to the pull request.
struct Writes<'a> {
    comment: CommentWhen,
    request_reviews: bool,
    marker: &'a str,
}

/// Requests the reviews the approval rules ask for, then creates or edits
/// the comment. Returns what the reader should know (nothing of it changes
/// the verdict).
#[expect(
    clippy::too_many_lines,
    reason = "a command's flow, step after step: to be split with issue 23 section 3 (thin commands), not done yet"
)]
async fn write_back(
    gh: &GitHub,
    policy: &Policy,
    report: &Report,
    pr: &PullRequest,
    writes: &Writes<'_>,
) -> Vec<(Level, String)> {
    use crate::rules::review_requests::{self, Requested};
    use crate::sources::conversation::{self, Refused};
    let mut said: Vec<(Level, String)> = Vec::new();
    let refused = |what: &str, why: Refused, said: &mut Vec<(Level, String)>| {
        let line = match why {
            Refused::NotPermitted(answer) => (
                Level::Notice,
                format!(
                    "git-policy did not {what}: GitHub refused the token ({answer}). A `pull_request` run from a fork gets a read-only token, and a job needs `permissions: pull-requests: write`; the verdict is unchanged and the job summary has every finding (docs/github-action.md, \"Permissions and forks\")"
                ),
            ),
            Refused::Failed(fatal) => (
                Level::Warning,
                format!(
                    "could not {what}: {}; the verdict is unchanged",
                    fatal.message
                ),
            ),
        };
        said.push(line);
    };
    if pr.offline {
        said.push((
            Level::Notice,
            String::from("offline: no comment or review request was written"),
        ));
        return said;
    }
    // Whose comment to edit, and whether there is one.
    let mut comment = None;
    if writes.comment != CommentWhen::Never {
        let found = async {
            let me = conversation::identity(gh).await?;
            let own = conversation::own_comments(gh, &pr.repo, pr.number, &me).await?;
            Ok::<_, Refused>((me, own))
        }
        .await;
        match found {
            Ok((me, own)) => {
                let own: Vec<_> = own
                    .into_iter()
                    .filter(|c| crate::report::comment::has_marker(&c.body, writes.marker))
                    .collect();
                let wanted =
                    writes.comment == CommentWhen::Always || !report.passed() || !own.is_empty();
                if wanted {
                    comment = Some((me, own));
                }
            }
            Err(why) => refused("read the pull request's comments", why, &mut said),
        }
    }
    let missing: Vec<&crate::rules::MissingApprovals> = report
        .findings
        .iter()
        .filter_map(|f| f.approvals.as_deref())
        .collect();
    let wants_requests =
        writes.request_reviews && !pr.draft && missing.iter().any(|m| m.request.is_some());
    let mut requested = Requested::default();
    if comment.is_some() || wants_requests {
        match conversation::requested(gh, &pr.repo, pr.number).await {
            Ok(found) => {
                requested = found;
                if wants_requests {
                    let plan = review_requests::plan(pr, &missing, &requested);
                    if !plan.is_empty() {
                        match conversation::request(gh, &pr.repo, pr.number, &plan).await {
                            Ok(()) => {
                                let mut who: Vec<String> = plan.reviewers.clone();
                                who.extend(plan.team_reviewers.iter().map(|t| format!("team {t}")));
                                said.push((
                                    Level::Notice,
                                    format!("requested reviews from {}", who.join(", ")),
                                ));
                                requested.users.extend(plan.reviewers);
                                requested.teams.extend(plan.team_reviewers);
                            }
                            Err(why) => refused("request reviews", why, &mut said),
                        }
                    }
                }
            }
            // Without knowing who is asked, asking again could ask twice.
            Err(why) => refused("read who is asked to review", why, &mut said),
        }
    }
    let Some((me, own)) = comment else {
        return said;
    };
    // Secrets are redacted before the text is escaped for Markdown (an
    // escaped `ghp\_…` no longer looks like a token) and in the body after.
    let mut shown = report.clone();
    for f in &mut shown.findings {
        f.message = super::redacted(&f.message).into();
        f.help = f.help.as_deref().map(|h| super::redacted(h).into());
        f.commit_subject = f.commit_subject.as_deref().map(super::redacted);
    }
    let body = super::redacted(&crate::report::comment::render(
        &crate::report::comment::Comment {
            report: &shown,
            policy,
            marker: writes.marker,
            head_sha: &pr.head_sha,
            requested: &requested,
        },
    ));
    if let Err(why) = keep_one_comment(gh, pr, &me, own, &body, writes.marker, &mut said).await {
        refused("write the pull request comment", why, &mut said);
    }
    said
}

/// Edits the oldest own comment with the marker, or creates one when there
/// is none after a second look (another run may have made it meanwhile);
/// a duplicate left by two runs racing is folded into the oldest.
#[expect(
    clippy::too_many_arguments,
    reason = "the gathered pull request is not one struct yet (issue 23 section 3)"
)]
async fn keep_one_comment(
    gh: &GitHub,
    pr: &PullRequest,
    me: &str,
    own: Vec<crate::sources::conversation::OwnComment>,
    body: &str,
    marker: &str,
    said: &mut Vec<(Level, String)>,
) -> Result<(), crate::sources::conversation::Refused> {
    use crate::report::comment::has_marker;
    use crate::sources::conversation as c;
    let ours = |list: Vec<c::OwnComment>| -> Vec<c::OwnComment> {
        list.into_iter()
            .filter(|x| has_marker(&x.body, marker))
            .collect()
    };
    let own = if own.is_empty() {
        ours(c::own_comments(gh, &pr.repo, pr.number, me).await?)
    } else {
        own
    };
    if let Some((first, extra)) = own.split_first() {
        if first.body != body {
            c::edit(gh, &pr.repo, first.id, body).await?;
        }
        for duplicate in extra {
            c::delete(gh, &pr.repo, duplicate.id).await?;
        }
        return Ok(());
    }
    let (id, author) = c::create(gh, &pr.repo, pr.number, body).await?;
    if let Some(author) = author.filter(|a| !a.eq_ignore_ascii_case(me)) {
        said.push((
            Level::Warning,
            format!(
                "the comment was written as {author}, but git-policy looks for comments by {me}: set GIT_POLICY_COMMENT_AUTHOR={author} so that the next run edits it instead of writing another"
            ),
        ));
        return Ok(());
    }
    let after = ours(c::own_comments(gh, &pr.repo, pr.number, me).await?);
    if let Some(oldest) = after.first().filter(|o| o.id != id) {
        c::edit(gh, &pr.repo, oldest.id, body).await?;
        c::delete(gh, &pr.repo, id).await?;
    }
    Ok(())
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

async fn check(
    at: Reader<'_>,
    repo_name: &str,
    number: u64,
    offline: Option<PullRequest>,
    group: Option<&MergeGroup>,
) -> Result<Checked, Failure> {
    let Reader { global, gh, git } = at;
    let mut notes = Vec::new();
    let is_offline = offline.is_some();
    let pr = match offline {
        Some(pr) => {
            notes.push(String::from(
                "offline: judged from the event payload and the clone; reviews, team members, label history and commit accounts were not read, so approvals are not judged",
            ));
            pr
        }
        None => pull_request::read(gh, repo_name, number).await?,
    };
    // The base branch's tip is read while the base commit's policy is.
    let reads_tip = !is_offline && global.policies.is_empty() && group.is_none();
    let (base, tip) = futures_util::join!(
        policy_at(global, gh, git, &pr.repo, &pr.base_sha, &mut notes),
        async {
            match reads_tip {
                true => github::branch_tip(gh, &pr.repo, &pr.base).await.map(Some),
                false => Ok(None),
            }
        }
    );
    let (base, mut tip) = (base?, tip?);
    // A merge queue entry lands on the group's base: that is the tip.
    if let Some(group) = group {
        tip = Some(merge_group_base(&pr, group, &mut notes)?);
    }
    // What the pull request's head is compared with: the files at its base
    // commit (none when the built-in pack stood in for them).
    let base_texts = if base.builtin {
        Vec::new()
    } else {
        texts(&base.sources)
    };
    let candidates = of_record(at, &pr, base, tip, &mut notes).await?;
    let mut judged = Vec::with_capacity(candidates.len());
    for candidate in &candidates {
        let sources = candidate.sources.clone();
        judged.push(judge_under(at, pr.clone(), sources, &base_texts, is_offline).await?);
    }
    let chosen = stricter(&judged);
    if let [tip, base] = candidates.as_slice() {
        let verdict = |c: &Checked| if failing(c) { "fails" } else { "passes" };
        let (decided, other) = if chosen == 0 {
            (tip, base)
        } else {
            (base, tip)
        };
        notes.push(format!(
            "the policy differs at the base branch's tip ({}) and at the pull request's base commit ({}): judged by the policy at {} {} (the stricter outcome); under the policy at {} {} it {}",
            short(&tip.sha),
            short(&base.sha),
            decided.what,
            short(&decided.sha),
            other.what,
            short(&other.sha),
            judged.get(1 - chosen).map_or("", verdict),
        ));
    }
    if chosen >= judged.len() {
        return Err(Fatal::new("no policy judged the pull request").into());
    }
    let mut checked = judged.swap_remove(chosen);
    notes.append(&mut checked.notes);
    checked.notes = notes;
    Ok(checked)
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
    notes: &mut Vec<String>,
) -> Result<Vec<Candidate>, Failure> {
    let Reader { global, gh, git } = at;
    let at_base = Candidate {
        what: "the pull request's base commit",
        sha: pr.base_sha.clone(),
        sources: base.sources,
    };
    let Some(tip) = tip else {
        if pr.offline {
            notes.push(format!(
                "offline: judged by the policy at the event's base commit {}; the base branch may have moved since, and the gate also applies its tip's policy",
                short(&pr.base_sha)
            ));
        }
        return Ok(vec![at_base]);
    };
    if tip.eq_ignore_ascii_case(&pr.base_sha) {
        return Ok(vec![at_base]);
    }
    let mut read = Vec::new();
    let at_tip = policy_at(global, gh, git, &pr.repo, &tip, &mut read).await?;
    if at_tip.builtin == base.builtin && texts(&at_tip.sources) == texts(&at_base.sources) {
        return Ok(vec![at_base]);
    }
    notes.append(&mut read);
    Ok(vec![
        Candidate {
            what: "the base branch's tip",
            sha: tip,
            sources: at_tip.sources,
        },
        at_base,
    ])
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

/// The pull request judged under one policy: the facts that policy needs
/// gathered, every rule applied, waivers and verdicts.
#[expect(
    clippy::too_many_lines,
    reason = "gathering what one policy needs, step after step: to be split with the gathered pull request as one struct (issue 23 section 3, not done yet)"
)]
async fn judge_under(
    at: Reader<'_>,
    mut pr: PullRequest,
    sources: Vec<PolicySource>,
    base_texts: &[(String, String)],
    is_offline: bool,
) -> Result<Checked, Failure> {
    let Reader { gh, git, .. } = at;
    let mut notes = Vec::new();
    let policy = load(sources).map_err(Failure::Policy)?;
    super::prepare(&policy, JUDGED)?;
    // What the policy needs gathered: the union over every rule that can
    // run here (the pull request, each commit, the head branch).
    let commit_needs = needs(&policy, SubjectKind::Commit);
    let pr_needs = needs(&policy, SubjectKind::PullRequest);
    let carries = |labels: &std::collections::BTreeSet<String>| {
        pr.labels.iter().any(|l| labels.contains(&l.to_lowercase()))
    };
    let granting = carries(&pr_needs.label_events) && !is_offline;
    // Who wrote its commits is read when it can matter: an approval by
    // someone other than the author (who may be a commit's author), or a
    // label someone may have granted.
    let approved_by_another = pr.reviews.iter().any(|r| {
        r.stance() == crate::facts::Stance::Approved && !r.author.eq_ignore_ascii_case(&pr.author)
    });
    let wanted = pull_request::CommitFacts {
        changes: commit_needs.changed_files,
        accounts: commit_needs.commit_accounts && !is_offline,
        writers: pr_needs.commit_writers && (approved_by_another || granting) && !is_offline,
    };
    if granting {
        let (labels, code) = github::label_events(gh, &pr.repo, pr.number).await?;
        pr.label_events = Some(labels);
        pr.code_events = code;
    }
    let all_teams: std::collections::BTreeSet<String> = pr_needs
        .teams
        .union(&pr_needs.grant_teams)
        .cloned()
        .collect();
    // Team members are read while the changes are gathered; a team only
    // matters (and its read only fails the check) when a rule that applies needs it.
    let no_teams = std::collections::BTreeSet::new();
    let (completed, teams) = futures_util::join!(
        pull_request::complete(gh, git, &mut pr, wanted, &mut notes),
        read_teams(gh, &policy, if is_offline { &no_teams } else { &all_teams })
    );
    completed?;
    // Tickets are verified in their trackers once the commits are read:
    // every ticket named anywhere, in one batch per tracker.
    let wanted = super::tracked::wanted(&policy, &[SubjectKind::PullRequest, SubjectKind::Commit]);
    if !wanted.is_empty() && !is_offline {
        let mut texts: Vec<&str> = vec![&pr.title, &pr.body, &pr.head];
        texts.extend(pr.commits.iter().map(|c| c.message.as_str()));
        let mut requests = 0;
        let facts = super::tracked::read(
            &policy,
            &wanted,
            &texts,
            super::tracked::settings()?,
            &mut requests,
        )
        .await?;
        if let Some(facts) = facts {
            for commit in &mut pr.commits {
                commit.tracked = Some(facts.clone());
            }
            pr.tracked = Some(facts);
        }
    }
    let mut applicable = Needs::default();
    for rule in policy
        .rules
        .iter()
        .filter(|r| applies(&policy, r, &Subject::PullRequest(&pr)))
    {
        rule_needs(&policy, rule, &mut applicable);
    }
    // Granting teams that could not be read grant nothing (the rule says so).
    for team in &applicable.grant_teams {
        if let Some(Ok(members)) = teams.get(team) {
            pr.team_members.insert(team.clone(), members.clone());
        }
    }
    // A team that cannot be read is a finding of the rules that need it
    // (with every other finding shown), not an abort of the whole check.
    let mut unreadable = Vec::new();
    for team in applicable.teams {
        match teams.get(&team) {
            Some(Ok(members)) => {
                pr.team_members.insert(team.clone(), members.clone());
            }
            Some(Err(fatal)) => {
                notes.push(fatal.message.clone());
                unreadable.push(fatal.clone());
            }
            None => {}
        }
    }
    let mut interner = Interner::default();
    let (mut findings, subjects_report) = judge(&policy, &pr, &mut interner);
    let today = super::today();
    // A pull request that changes the policy is judged by the base policy
    // (it must not weaken its own, nor waive its own findings); the proposed
    // one is reported as notices.
    if let Some(notice) = proposed(at, &pr, base_texts, today, &mut notes).await? {
        findings.push(notice);
    }
    let branch = Branch {
        name: pr.head.clone(),
    };
    let mut subjects = vec![Subject::PullRequest(&pr), Subject::Branch(&branch)];
    subjects.extend(pr.commits.iter().map(Subject::Commit));
    let mut report = Report {
        subject_kind: "pull_request",
        subject_ref: format!("{}#{}", pr.repo, pr.number),
        findings,
        checked: subjects_report.0,
        skipped: subjects_report.1,
        ..Report::default()
    };
    report.tickets = super::tracked::report_lines(&policy, pr.tracked.as_deref());
    crate::waivers::apply(&policy, &mut report, &waiver_scope(&pr), today);
    report.verdicts = verdicts(&policy, &subjects, &report.findings);
    crate::waivers::mark_verdicts(&mut report);
    Ok(Checked {
        policy,
        report,
        notes,
        unreadable,
        pr,
    })
}

/// The commit whose policy judges a merge queue entry: the group's base,
/// once the live pull request is known to merge into the group's branch.
fn merge_group_base(
    pr: &PullRequest,
    group: &MergeGroup,
    notes: &mut Vec<String>,
) -> Result<String, Fatal> {
    if pr.base != group.base_branch {
        return Err(Fatal::new(format!(
            "the merge group merges into `{}`, but pull request #{} targets `{}`",
            group.base_branch, pr.number, pr.base
        ))
        .help("the queue branch names another pull request than the one GitHub reports; re-run the merge queue"));
    }
    notes.push(format!(
        "merge group: pull request #{} judged as it merges onto {} at {}, by the policy there",
        pr.number,
        group.base_branch,
        short(&group.base_sha)
    ));
    Ok(group.base_sha.clone())
}

/// What `check pr` judges, for waivers: the pull request and its commits.
fn waiver_scope(pr: &PullRequest) -> crate::waivers::Scope {
    crate::waivers::Scope {
        commits: pr.commits.iter().filter_map(|c| c.sha.clone()).collect(),
        pull_request: Some(pr.number),
        release_tickets: None,
    }
}

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

/// PR rules on the pull request, commit rules on each commit, branch rules
/// on the head branch. Returns findings and (judged, skipped) subject counts.
pub(super) fn judge(
    policy: &Policy,
    pr: &PullRequest,
    interner: &mut Interner,
) -> (Vec<Finding>, (usize, usize)) {
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
    (findings, (judged + 1, skipped))
}

/// The policy at a commit: its files, or the built-in pack when it has none.
struct Record {
    sources: Vec<PolicySource>,
    builtin: bool,
}

/// The policy files at a commit: git when the clone has it, else the API.
async fn policy_at(
    global: &Global,
    gh: &GitHub,
    git: Option<&Repository>,
    repo: &str,
    sha: &str,
    notes: &mut Vec<String>,
) -> Result<Record, Failure> {
    if !global.policies.is_empty() {
        notes.push(String::from(
            "the policy comes from --policy, not from the pull request's base commit",
        ));
        return Ok(Record {
            sources: policy_files::discover(None, &global.policies, false)?.0,
            builtin: false,
        });
    }
    let local = git.and_then(|r| {
        Oid::from_str(sha)
            .ok()
            .filter(|oid| r.find_commit(*oid).is_ok())
            .map(|oid| (r, oid))
    });
    let found = match local {
        Some((repo, oid)) => read_at_commit(repo, oid)?,
        None => github::policy_at(gh, repo, sha).await?,
    };
    match found {
        Some(sources) => Ok(Record {
            sources,
            builtin: false,
        }),
        None if global.builtin => {
            notes.push(format!(
                "the base commit {} has no policy (.github/policies/ or .git-policy.yml); using the built-in pack {}",
                short(sha),
                crate::policy::BUILTIN_NAME
            ));
            Ok(Record {
                sources: vec![PolicySource::builtin()],
                builtin: true,
            })
        }
        None => Err(Fatal::new(format!(
            "the base commit {sha} has no policy, and the built-in pack is disabled"
        ))
        .help("commit a policy to the base branch (`git-policy init`), or allow the built-in pack")
        .into()),
    }
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

/// A notice about the policy the pull request proposes, when it changes it.
async fn proposed(
    at: Reader<'_>,
    pr: &PullRequest,
    base: &[(String, String)],
    today: chrono::NaiveDate,
    notes: &mut Vec<String>,
) -> Result<Option<Finding>, Failure> {
    let Reader { global, gh, git } = at;
    if !global.policies.is_empty() {
        return Ok(None);
    }
    let local = git.and_then(|r| {
        Oid::from_str(&pr.head_sha)
            .ok()
            .filter(|oid| r.find_commit(*oid).is_ok())
            .map(|oid| (r, oid))
    });
    let head = match local {
        Some((repo, oid)) => read_at_commit(repo, oid)?,
        None => github::policy_at(gh, &pr.repo, &pr.head_sha).await?,
    };
    let head = head.unwrap_or_default();
    if texts(&head) == base {
        return Ok(None);
    }
    let notice = |message: String| Finding {
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
    };
    if head.is_empty() {
        return Ok(Some(notice(String::from(
            "this pull request removes the policy files; the base policy still applies to it",
        ))));
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
        Ok(proposed) => {
            let (findings, _) = judge(&proposed, pr, &mut Interner::default());
            // The proposed policy's waivers apply to its own judgement only.
            let mut under = Report {
                findings,
                ..Report::default()
            };
            crate::waivers::apply(&proposed, &mut under, &waiver_scope(pr), today);
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
    };
    notes.push(String::from(
        "the pull request changes policy files: judged by the base commit's policy",
    ));
    Ok(Some(notice(message)))
}

/// `$GITHUB_STEP_SUMMARY` and `$GITHUB_OUTPUT`, when Actions provides them.
fn write_github_files(report: &Report) -> Result<(), Failure> {
    use std::io::Write;
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
        &super::redacted(&crate::report::github::step_summary(report)),
    )?;
    append(
        "GITHUB_OUTPUT",
        &crate::report::github::outputs(report, &delimiter()),
    )?;
    Ok(())
}

/// A heredoc delimiter for `$GITHUB_OUTPUT` that no value can contain.
fn delimiter() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!("git_policy_{:x}_{:x}", std::process::id(), nanos)
}
