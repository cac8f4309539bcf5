//! What `check pr` writes back to the pull request: review requests and
//! the living comment, or that a run could not judge it.

use super::{Checked, Target, Which};
use crate::cli::{CommentWhen, Format};
use crate::commands::{Global, err};
use crate::facts::PullRequest;
use crate::policy::Level;
use crate::sources::conversation::{self, OwnComment, Refused};
use crate::sources::github::GitHub;

/// What writing the comment and the review requests said: a note, and under
/// Actions an annotation.
pub(super) fn say_written(global: &Global, said: Vec<Said>) {
    for Said { level, text } in said {
        if global.format == Format::Github {
            crate::commands::out(&crate::report::github::annotation(
                level.name(),
                "git-policy: pull request comment",
                None,
                &text,
            ));
        }
        err(&format!("note: {text}\n"));
    }
}

/// What `check pr` writes to the pull request.
pub(super) struct Writes {
    pub(super) comment: CommentWhen,
    pub(super) request_reviews: bool,
    /// Offline, nothing is written.
    pub(super) offline: bool,
    /// What marks this workflow job's comment.
    pub(super) marker: String,
}

impl Writes {
    pub(super) fn of(target: &Target<'_>) -> Writes {
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
pub(super) struct Said {
    pub(super) level: Level,
    pub(super) text: String,
}

/// Edits the comment an earlier run left (if any) to say that this run could
/// not judge the pull request, and why. Creates none. Returns what the
/// reader should know.
pub(super) async fn say_undecided(
    gh: &GitHub,
    which: &Which,
    writes: &Writes,
    why: &str,
) -> Vec<String> {
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
    let body = crate::commands::redacted(&crate::report::comment::undecided(
        marker,
        &crate::commands::redacted(why),
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
pub(super) async fn write_back(gh: &GitHub, checked: &Checked, writes: &Writes) -> Vec<Said> {
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
pub(super) async fn own_comment(
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
pub(super) struct Ours {
    pub(super) me: String,
    pub(super) own: Vec<OwnComment>,
}

/// Asks for the reviews the missing approvals name that nobody is asked
/// for yet; `requested` then holds them too.
pub(super) async fn request_reviews(
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
pub(super) fn comment_body(
    checked: &Checked,
    marker: &str,
    requested: &crate::rules::review_requests::Requested,
) -> String {
    let mut shown = checked.report.clone();
    for f in &mut shown.findings {
        f.message = crate::commands::redacted(&f.message).into();
        f.help = f
            .help
            .as_deref()
            .map(|h| crate::commands::redacted(h).into());
        f.commit_subject = f.commit_subject.as_deref().map(crate::commands::redacted);
    }
    crate::commands::redacted(&crate::report::comment::render(
        &crate::report::comment::Comment {
            report: &shown,
            marker,
            head_sha: &checked.pr.head_sha,
            requested,
        },
    ))
}

/// What a refused write or read says.
pub(super) fn refused(what: &str, why: Refused) -> Said {
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
pub(super) async fn keep_one_comment(
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
