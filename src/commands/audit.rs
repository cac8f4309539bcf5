use std::collections::{BTreeSet, HashSet};
use std::process::ExitCode;

use git2::{Oid, Repository};

use super::check_commits::Keep;
use super::{Failure, Global, Outcome, PASSED, err, finish, policy_for};
use crate::cli::AuditArgs;
use crate::engine::{Interner, RangeJudges, evaluate_range, evaluate_shared, needs};
use crate::facts::{Release, ReleasePage, Stage, Subject};
use crate::policy::{EmptyRange, SubjectKind};
use crate::report::{ReleaseSummary, Report};
use crate::rules::Needs;
use crate::rules::release_page::PageQuery;
use crate::sources::github;
use crate::sources::release::{self, ReleaseTag};
use crate::sources::{Fatal, git};

/// The release evidence, when the policy asks for it (its notes on stderr).
fn gather_evidence(
    global: &Global,
    repo: &Repository,
    args: &AuditArgs,
    policy: &crate::policy::Policy,
    facts: &Release,
) -> Result<crate::evidence::Evidence, Failure> {
    if !super::evidence::due(policy) {
        return Ok(crate::evidence::Evidence::Off);
    }
    let commits: Vec<(String, String)> = facts
        .commits
        .iter()
        .filter_map(|c| Some((c.sha.clone()?, c.subject().to_owned())))
        .collect();
    let range = super::evidence::Range {
        repository: repository_name(repo, args)?,
        commits: &commits,
        exempt: &policy.audit.exempt_accounts,
    };
    let gathered = super::evidence::gather(global, repo, args, range)?;
    for note in gathered.notes {
        err(&format!(
            "note: {}\n",
            crate::report::inert::one_line(&note)
        ));
    }
    Ok(gathered.evidence)
}

/// The branch the audited commits were pushed to, for the evidence's words.
fn branch_name(repo: &Repository, args: &AuditArgs) -> String {
    if args.branch.is_empty() {
        repo.head()
            .ok()
            .filter(|h| h.is_branch())
            .and_then(|h| h.shorthand().ok().map(str::to_owned))
            .unwrap_or_else(|| String::from("the branch"))
    } else {
        args.branch.join("`, `")
    }
}

/// What the audit judges, for waivers: the release's commits a waiver names
/// and every ticket it involves.
fn waiver_scope(policy: &crate::policy::Policy, release: &ReleaseSummary) -> crate::waivers::Scope {
    let mut tickets: BTreeSet<String> = release.tickets.keys().cloned().collect();
    tickets.extend(release.missing.iter().cloned());
    tickets.extend(release.unlisted.iter().cloned());
    tickets.extend(release.incidents.keys().cloned());
    let waivable = crate::waivers::waived_commits(policy);
    crate::waivers::Scope {
        commits: release
            .shas
            .iter()
            .filter(|sha| waivable.contains(sha.as_str()))
            .cloned()
            .collect(),
        pull_request: None,
        release_tickets: Some(tickets),
    }
}

/// The range to audit, its last commit and the version it releases.
fn audited_range(
    repo: &Repository,
    args: &AuditArgs,
) -> Result<(String, Oid, Option<String>), Failure> {
    let tags = release::release_tags(repo, args.tag_pattern.as_deref())?;
    if args.tag_pattern.is_some() && tags.is_empty() {
        return Err(Fatal::new(format!(
            "no tag matches --tag-pattern `{}` and names a version",
            args.tag_pattern.as_deref().unwrap_or("")
        ))
        .help("list the tags with `git tag`; the pattern is a glob such as `v*`")
        .into());
    }
    resolve_range(repo, &tags, args.range.as_deref(), args.release.as_deref())
}

/// `audit [RANGE]`: is this release complete and traceable?
pub(crate) fn run(global: &Global, args: &AuditArgs) -> Outcome {
    git::tune_for_history();
    let repo = git::open(&global.dir)?;
    let root = git::work_tree(&repo);
    let policy = policy_for(global, root.as_deref())?;
    super::prepare(
        &policy,
        &[
            crate::policy::SubjectKind::Commit,
            crate::policy::SubjectKind::Release,
        ],
    )?;
    let (range, end, version) = audited_range(&repo, args)?;
    let release_needs = needs(&policy, SubjectKind::Release);
    let mut facts = Release {
        version: version.clone(),
        range: range.clone(),
        post_deploy: args.post_deploy,
        ..Release::default()
    };
    // Rules that judge the range as a whole are fed its commits while they
    // are read; what the page alone decides is judged first, while little
    // else is held in memory (a page of 70,000 lines parses to 20 MB).
    let mut judges = RangeJudges::new(&policy);
    let page = read_page(&repo, &release_needs, args, end, version.as_deref()).map(|read| {
        (facts.page, facts.page_missing) = read;
        judges.prepare(&facts);
    });
    let mut judged = walk(&repo, &policy, &release_needs, &range, &mut judges)?;
    // Every ticket of the release, and of its commits' ticket rules: one read.
    let tracked = super::tracked::audit_tickets(&policy, &mut judged)?;
    if judged.kept.is_empty() {
        let message = format!("`{range}` holds no commits: there is nothing to release");
        if policy.audit.empty_range == EmptyRange::Pass {
            err(&format!("note: {message}\n"));
            return Ok(ExitCode::from(PASSED));
        }
        return Err(Fatal::new(message).help("check the range (is HEAD the release commit?), or set `audit: { empty_range: pass }` in the policy").into());
    }
    page?;
    facts.commits = std::mem::take(&mut judged.kept);
    facts.incident_references = incident_references(&repo, &release_needs, &facts, end)?;
    read_api_facts(&repo, &policy, &release_needs, args, &mut facts, end)?;
    facts.tracked = tracked;
    let evidence = gather_evidence(global, &repo, args, &policy, &facts)?;
    // One rule, one verdict: a commit rule that reads the branch could not
    // judge a commit of the walk; its pull request's head branch, which the
    // evidence proves, can.
    if let crate::evidence::Evidence::Checked(changes) = &evidence {
        judge_on_head_branches(&repo, &policy, changes, &mut judged.findings)?;
    }
    let branch = branch_name(&repo, args);
    // Everything git can tell is read: let the pack mappings go before judging the release.
    drop(repo);
    let (mut findings, checked, skipped) = (judged.findings, judged.checked, judged.skipped);
    let (judged, mut release) = judge_release(&policy, &release_needs, &mut facts, judges)?;
    findings.extend(judged);
    findings.extend(crate::evidence::findings(&policy, &evidence, &branch));
    release.evidence = evidence;
    let scope = waiver_scope(&policy, &release);
    let mut report = Report {
        subject_kind: "release",
        subject_ref: match &version {
            Some(v) => format!("release {v} ({range})"),
            None => format!("release {range}"),
        },
        findings,
        checked,
        skipped,
        verdicts: Vec::new(),
        release: Some(release),
        tickets: super::tracked::report_lines(&policy, facts.tracked.as_deref()),
        ..Report::default()
    };
    super::waive(&policy, &mut report, &scope);
    let code = finish(global, &policy, &report);
    // The process ends here: freeing 100,000 commits' worth one by one only costs time.
    std::mem::forget(report);
    Ok(code)
}

/// Reads and judges the commits of the range, feeding the range `judges`;
/// keeps what the release rules need of each commit.
fn walk(
    repo: &Repository,
    policy: &crate::policy::Policy,
    release_needs: &Needs<'_>,
    range: &str,
    judges: &mut RangeJudges<'_>,
) -> Result<super::check_commits::Judged, Failure> {
    let progress = progress(range);
    // Commit rules judge each commit with the facts they need (changed files included).
    let with_changes = needs(policy, SubjectKind::Commit).changed_files;
    let history = git::history(repo, range, None, with_changes)?;
    // Whole messages only when a release rule reads them.
    let keep = if release_needs.release_messages() {
        Keep::Messages
    } else {
        Keep::Subjects
    };
    let mut judged =
        super::check_commits::judge(policy, history, Stage::History, None, keep, Some(judges))?;
    super::check_commits::settle_reverts(repo, policy, &mut judged);
    progress.finish_and_clear();
    Ok(judged)
}

/// Judges the release and writes its summary, one core each (both only
/// read the facts). The summary takes the tickets the first page rule's
/// judge kept and the commits' shas; the commits' messages go.
fn judge_release(
    policy: &crate::policy::Policy,
    release_needs: &Needs<'_>,
    facts: &mut Release,
    mut judges: RangeJudges<'_>,
) -> Result<(Vec<crate::engine::Finding>, ReleaseSummary), Failure> {
    let mut interner = Interner::default();
    let facts_read: &Release = facts;
    let (judged, release) = std::thread::scope(|scope| {
        let summarized = scope.spawn(|| summary(release_needs, facts_read, &judges));
        let judged = evaluate_range(policy, facts_read, &judges, &mut interner);
        (judged, summarized.join())
    });
    let (mut release, borrowed) = release
        .map_err(|_| Fatal::new("the thread summarizing the release stopped unexpectedly"))?;
    // Every expedited change, with who granted, merged and reviewed it.
    release.expedited = facts
        .expedited
        .is_some()
        .then(|| crate::rules::release_checks::expedited_evidence(policy, facts));
    // The tickets kept during the walk move into the summary (not copied).
    if let Some(query) = release_needs.release_pages.first().filter(|_| borrowed)
        && let Some(judge) = judges.take(query.rule(), PageQuery::REQUIREMENT)
    {
        release.tickets = PageQuery::tickets(judge);
    }
    // The summary refers to commits by index; keep their shas, let the messages go.
    release.shas = std::mem::take(&mut facts.commits)
        .into_iter()
        .map(|c| c.sha.unwrap_or_default())
        .collect();
    Ok((judged, release))
}

/// The range, its end commit and the released version (`--release`, else
/// a release tag on the end commit). Default range: from the release tag
/// [`release::start_tag`] finds on HEAD's history, `..HEAD`.
fn resolve_range(
    repo: &Repository,
    tags: &[ReleaseTag],
    given: Option<&str>,
    release: Option<&str>,
) -> Result<(String, Oid, Option<String>), Failure> {
    let unknown = |spec: &str, e: git2::Error| {
        Fatal::new(format!("unknown revision in `{spec}`: {}", e.message())).help("name commits git knows, e.g. v1.2.0..HEAD; in CI, fetch tags and history (`fetch-depth: 0`)")
    };
    let version = |end: Oid| {
        release
            .map(str::to_owned)
            .or_else(|| release::version_at(tags, end))
    };
    if let Some(spec) = given {
        let revspec = repo.revparse(spec).map_err(|e| unknown(spec, e))?;
        let end = revspec
            .to()
            .or(revspec.from())
            .ok_or_else(|| Fatal::new(format!("`{spec}` names no commit")))?;
        let end = end.peel_to_commit().map_err(|e| unknown(spec, e))?.id();
        return Ok((spec.to_owned(), end, version(end)));
    }
    let head = repo
        .head()
        .and_then(|h| h.peel_to_commit())
        .map_err(|e| unknown("HEAD", e))?
        .id();
    let version = version(head);
    // A version that is no semantic one (`--release 2026.12`) skips no tag.
    let releasing = version
        .as_deref()
        .and_then(|v| release::tag_version(v.trim()));
    let Some(previous) = release::start_tag(repo, tags, head, releasing.as_ref())? else {
        let mut fatal = Fatal::new("no release tag on HEAD's history to start the range from")
            .help("pass the range (`git-policy audit v1.2.0..HEAD`; for a first release, `git-policy audit HEAD`), or --tag-pattern if your release tags are not versions");
        if git::is_shallow(repo) {
            fatal = fatal.help("history is shallow and may not hold the tags: `git fetch --unshallow --tags`, or actions/checkout with `fetch-depth: 0`");
        }
        return Err(fatal.into());
    };
    Ok((format!("{}..HEAD", previous.name), head, version))
}

/// The release page: `--page`, else the `release_page` path at the release commit.
fn read_page(
    repo: &Repository,
    needs: &Needs<'_>,
    args: &AuditArgs,
    end: Oid,
    version: Option<&str>,
) -> Result<(Option<ReleasePage>, Option<String>), Failure> {
    // A `{version}` that cannot be filled in: not judged, never a guess.
    if version.is_none()
        && let Some(query) = needs
            .release_pages
            .iter()
            .find(|q| q.needs_version(args.page.is_some()))
    {
        return Err(Fatal::new(format!(
            "the release page of rule `{}` needs {{version}}, and the release has none",
            query.rule()
        ))
        .help("pass --release VERSION (e.g. --release 1.3.0), or audit a range that ends at a release tag")
        .into());
    }
    if let Some(file) = &args.page {
        let bytes = std::fs::read(file).map_err(|e| {
            Fatal::new(format!(
                "cannot read the release page `{}`: {e}",
                file.display()
            ))
        })?;
        let text = String::from_utf8(bytes).map_err(|e| {
            Fatal::new(format!(
                "the release page `{}` is not valid UTF-8 (byte {})",
                file.display(),
                e.utf8_error().valid_up_to()
            ))
            .help("save the page as UTF-8")
        })?;
        return Ok((
            Some(ReleasePage {
                path: file.display().to_string(),
                text,
            }),
            None,
        ));
    }
    let Some(query) = needs.release_pages.first() else {
        return Ok((None, None));
    };
    let Some(path) = query.path(version) else {
        return Ok((None, None));
    };
    let path = path.map_err(|template| {
        Fatal::new(format!("the release page path `{template}` needs {{version}}, and the release has none"))
            .help("pass --release VERSION (e.g. --release 1.3.0), or audit a range that ends at a release tag")
    })?;
    // A missing page is a finding of the page rule, beside every other one
    // (exit 1: not ready), not a stop that hides them.
    match release::file_at(repo, end, &path)? {
        Some(text) => Ok((Some(ReleasePage { path, text }), None)),
        None => Ok((
            None,
            Some(format!(
                "`{path}` at {}",
                crate::report::short_sha(&end.to_string())
            )),
        )),
    }
}

fn incident_references(
    repo: &Repository,
    needs: &Needs<'_>,
    facts: &Release,
    end: Oid,
) -> Result<std::collections::BTreeMap<String, Vec<String>>, Failure> {
    let mut all = std::collections::BTreeMap::new();
    for query in &needs.incident_references {
        let tickets: BTreeSet<String> = query.tickets(facts);
        let found = release::references(repo, end, &tickets, |path| query.is_test(path))?;
        for (ticket, files) in found {
            all.entry(ticket).or_insert(files);
        }
    }
    Ok(all)
}

/// The release summary; `true` when its tickets are those the first page
/// rule's judge kept (left there, to be moved in rather than copied).
fn summary(needs: &Needs<'_>, facts: &Release, judges: &RangeJudges<'_>) -> (ReleaseSummary, bool) {
    let judge = |query: &PageQuery<'_>| judges.judge(query.rule(), PageQuery::REQUIREMENT);
    let mut out = ReleaseSummary {
        version: facts.version.clone(),
        range: facts.range.clone(),
        commits: facts.commits.len(),
        page: facts.page.as_ref().map(|p| p.path.clone()),
        ..ReleaseSummary::default()
    };
    let borrowed = match needs.release_pages.first() {
        Some(query) => query.summarize(facts, judge(query), &mut out),
        None => false,
    };
    // The sections every release page rule requires, each once.
    for query in needs.release_pages.iter().skip(1) {
        for (heading, state) in query.section_states(facts, judge(query)) {
            if !out.sections.iter().any(|(h, _)| *h == heading) {
                out.sections.push((heading, state));
            }
        }
    }
    out.checks = facts.checks.clone();
    out.incidents = facts.incident_references.clone();
    // Incidents with no test yet are shown too.
    for query in &needs.incident_references {
        for ticket in query.tickets(facts) {
            out.incidents.entry(ticket).or_default();
        }
    }
    (out, borrowed)
}

/// The release commit's checks and the expedited pull requests, when a
/// `release_checks` rule asks and a token is given (else they stay unknown).
fn read_api_facts(
    repo: &Repository,
    policy: &crate::policy::Policy,
    needs: &Needs<'_>,
    args: &AuditArgs,
    facts: &mut Release,
    end: Oid,
) -> Result<(), Failure> {
    let Some(query) = needs.status_checks.first() else {
        return Ok(());
    };
    let settings = github::Settings::from_env()?;
    let Some(_token) = settings.token.as_deref() else {
        return Ok(());
    };
    let name = repository_name(repo, args)?.ok_or_else(|| {
        Fatal::new("cannot tell which GitHub repository to read the release checks from")
            .help("pass --repo OWNER/NAME")
    })?;
    let github::Connection { runtime, gh } = settings.connect()?;
    let _inside = runtime.enter();
    // The audit's own job is running on this commit: it is not a release check.
    let own_job = std::env::var("GITHUB_JOB").ok();
    let ignored = |name: &str| query.ignores(name) || own_job.as_deref() == Some(name);
    let labels = query.expedited_labels();
    let shas: HashSet<String> = facts.commits.iter().filter_map(|c| c.sha.clone()).collect();
    let sha = end.to_string();
    let (checks, expedited, teams) = runtime.block_on(async {
        let expedited = async {
            if labels.is_empty() {
                Ok(Vec::new())
            } else {
                github::expedited(&gh, &name, &labels, &shas).await
            }
        };
        // Members of `github:` teams: a team that cannot be read stays
        // unknown, and the rule that needs it says so (never "no members").
        let teams = async {
            let reads = needs.teams.union(&needs.grant_teams).map(|team| async {
                let one = std::iter::once(team.clone()).collect();
                crate::sources::pull_request::resolve_teams(&gh, policy, &one).await
            });
            Ok::<_, Fatal>(futures_util::future::join_all(reads).await)
        };
        futures_util::try_join!(github::checks(&gh, &name, &sha, &ignored), expedited, teams)
    })?;
    facts.checks = Some(checks);
    facts.expedited = Some(expedited);
    for members in teams.into_iter().flatten() {
        facts.team_members.extend(members);
    }
    Ok(())
}

/// The GitHub repository: `--repo`, `$GITHUB_REPOSITORY`, else the
/// `origin` remote; one that is not OWNER/NAME is exit 2.
fn repository_name(repo: &Repository, args: &AuditArgs) -> Result<Option<String>, Failure> {
    let name = args
        .repo
        .clone()
        .or_else(|| {
            std::env::var("GITHUB_REPOSITORY")
                .ok()
                .filter(|r| !r.is_empty())
        })
        .or_else(|| origin_repository(repo));
    if let Some(name) = &name
        && !github::is_repository_name(name)
    {
        return Err(Fatal::new(format!("`{name}` is not OWNER/NAME"))
            .help("e.g. --repo octo/app")
            .into());
    }
    Ok(name)
}

/// Judges again, on the head branch of the pull request that brought it,
/// each commit a rule could not judge without its branch; the "not judged"
/// notice gives way to that rule's verdict. A commit no pull request brought
/// keeps its notice.
fn judge_on_head_branches(
    repo: &Repository,
    policy: &crate::policy::Policy,
    changes: &[crate::evidence::Change],
    findings: &mut Vec<crate::engine::Finding>,
) -> Result<(), Fatal> {
    let unknown = |f: &crate::engine::Finding| {
        f.commit.is_some()
            && f.message
                .starts_with(crate::rules::ticket::BRANCH_NOT_KNOWN)
    };
    if !findings.iter().any(unknown) {
        return Ok(());
    }
    let heads: std::collections::HashMap<&str, &str> = changes
        .iter()
        .filter_map(|c| Some((c.commits.as_slice(), c.head.as_deref()?)))
        .flat_map(|(shas, head)| shas.iter().map(move |s| (s.as_str(), head)))
        .collect();
    let with_changes = needs(policy, SubjectKind::Commit).changed_files;
    let mut judged_again = Vec::new();
    let mut replaced = HashSet::new();
    for finding in findings.iter().filter(|f| unknown(f)) {
        let Some(sha) = finding.commit.as_deref() else {
            continue;
        };
        let Some(head) = heads.get(sha) else {
            continue;
        };
        let oid = Oid::from_str(sha)
            .map_err(|e| Fatal::new(format!("`{sha}` is not a commit id: {e}")))?;
        let mut commit = git::read_commit(repo, oid, with_changes)?;
        commit.stage = Stage::History;
        commit.branch = Some((*head).to_owned());
        let mut interner = Interner::default();
        judged_again.extend(
            evaluate_shared(policy, Subject::Commit(&commit), &mut interner)
                .into_iter()
                .filter(|f| f.rule == finding.rule),
        );
        replaced.insert((sha.to_owned(), finding.rule.clone()));
    }
    findings.retain(|f| {
        !(unknown(f)
            && f.commit
                .as_ref()
                .is_some_and(|sha| replaced.contains(&(sha.clone(), f.rule.clone()))))
    });
    findings.extend(judged_again);
    Ok(())
}

/// `owner/name` from the `origin` remote's GitHub URL.
pub(super) fn origin_repository(repo: &Repository) -> Option<String> {
    let remote = repo.find_remote("origin").ok()?;
    let url = remote.url().ok()?;
    let path = url
        .split_once("github.com")
        .map(|(_, p)| p)?
        .trim_start_matches([':', '/']);
    let path = path.trim_end_matches('/').trim_end_matches(".git");
    (path.split('/').count() == 2).then(|| path.to_owned())
}

/// A spinner on stderr while the range is read; hidden unless stderr is a
/// terminal (nothing extra on stdout, nothing in logs).
fn progress(range: &str) -> indicatif::ProgressBar {
    if !super::stderr_is_terminal() {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::new_spinner();
    bar.enable_steady_tick(std::time::Duration::from_millis(120));
    // Written by indicatif, not through `out`/`err`: escaped here.
    bar.set_message(format!(
        "reading and judging the commits of {}",
        crate::report::inert::one_line(range)
    ));
    bar
}
