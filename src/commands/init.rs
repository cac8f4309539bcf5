use std::io::{BufRead, IsTerminal};
use std::process::ExitCode;

use super::{Failure, Global, Outcome, PASSED, err};
use crate::cli::{InitArgs, Preset};
use crate::definitions::non_tickets;
use crate::policy::{BUILTIN_TEXT, PolicySource, load};
use crate::sources::policy_files::POLICY_FILE;
use crate::sources::{Fatal, git};

pub(crate) const SCHEMA_FILE: &str = ".git-policy.schema.json";

/// How many of the latest commits `init` reads for the team's ticket keys.
pub(crate) const HISTORY_COMMITS: usize = 500;

/// What the team told `init` (flags, or answers on a terminal).
#[derive(Debug, Default)]
struct Answers {
    keys: Vec<String>,
    url: Option<String>,
    forbid_default_branch: bool,
    /// (glob, team) pairs.
    guards: Vec<(String, String)>,
}

/// `init`: writes `.git-policy.yml` for this team (or a preset) and the JSON
/// Schema it points editors at, then says what it will enforce and how to
/// commit it.
pub(crate) fn run(global: &Global, args: &InitArgs) -> Outcome {
    let target = Target::of(global, args)?;
    let repo = target.repo.as_ref();
    let branch = repo.and_then(git::current_branch);
    // The repository's default branch, never merely the current one (the
    // policy is often written on a task branch).
    let default_branch = repo
        .and_then(default_branch)
        .unwrap_or_else(|| String::from("main"));
    let preset = preset(args)?;
    let answers = answers(args, repo, preset, &default_branch)?;
    let Composed { text, policy } = compose(preset, &answers, &default_branch)?;
    let write = |path: &std::path::Path, text: &str| {
        std::fs::write(path, text)
            .map_err(|e| Fatal::new(format!("cannot write {}: {e}", path.display())))
    };
    write(&target.policy_path, &text)?;
    write(&target.schema_path, &super::generated::schema_text())?;
    let mut said = what_was_written(&target.policy_path, &target.schema_path, preset, &policy);
    let on_default = branch.as_deref() == Some(default_branch.as_str());
    said.push_str(&next_steps(preset, &answers, on_default, &default_branch));
    err(&said);
    Ok(ExitCode::from(PASSED))
}

/// Where `init` writes: the repository's root (or the folder), never
/// through a link, never over a file unless forced.
struct Target {
    repo: Option<git2::Repository>,
    policy_path: std::path::PathBuf,
    schema_path: std::path::PathBuf,
}

impl Target {
    fn of(global: &Global, args: &InitArgs) -> Result<Target, Fatal> {
        // `--policy` names policies to read; `init` would silently write
        // elsewhere than the user asked.
        if let Some(asked) = global.policies.first() {
            return Err(Fatal::new(format!(
                "`init` writes `{POLICY_FILE}` at the repository's root; it does not write to --policy `{}`",
                crate::report::inert::one_line(&asked.display().to_string())
            ))
            .help("run `git-policy init` without --policy (then move or rename the file if you keep policies elsewhere: the checks take --policy PATH)"));
        }
        let repo = git::open(&global.dir).ok();
        let root = match &repo {
            Some(repo) => git::work_tree(repo).ok_or_else(|| {
                Fatal::new("the repository is bare: there is no work tree to write a policy into")
            })?,
            None => global.dir.clone(),
        };
        let target = Target {
            repo,
            policy_path: root.join(POLICY_FILE),
            schema_path: root.join(SCHEMA_FILE),
        };
        for path in [&target.policy_path, &target.schema_path] {
            // A committed link (even a dangling one, which `exists` calls
            // absent) would have `init` write wherever it points.
            if std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink()) {
                return Err(Fatal::new(format!(
                    "{} is a symbolic link; git-policy does not write through it",
                    path.display()
                ))
                .help("remove the link (or replace it with a file) and run init again"));
            }
            if path.exists() && !args.force {
                return Err(Fatal::new(format!("{} already exists", path.display()))
                    .help("pass --force to overwrite it"));
            }
        }
        Ok(target)
    }
}

/// Whether any flag answers a question of the minimal policy.
fn flags_given(args: &InitArgs) -> bool {
    !args.ticket_keys.is_empty()
        || args.tracker_url.is_some()
        || args.forbid_default_branch
        || !args.guard.is_empty()
}

/// The preset asked for. The pack is copied as it is: answers meant for the
/// minimal policy would be silently dropped, and the commands printed after
/// would not match the policy written.
fn preset(args: &InitArgs) -> Result<Preset, Fatal> {
    let preset = args.preset.unwrap_or(Preset::Minimal);
    if preset == Preset::ReleaseTrain && flags_given(args) {
        return Err(Fatal::new(
            "--ticket-keys, --tracker-url, --forbid-default-branch and --guard shape the minimal policy; `--preset release-train` copies the built-in pack as it is",
        )
        .help("drop those flags and edit the pack's `tickets:`, `teams:` and `paths:` after `init`, or leave out `--preset release-train`"));
    }
    Ok(preset)
}

/// What the team wants: asked on a terminal when nothing is given, else
/// from the flags; the ticket keys default to those the history already
/// writes.
fn answers(
    args: &InitArgs,
    repo: Option<&git2::Repository>,
    preset: Preset,
    default_branch: &str,
) -> Result<Answers, Fatal> {
    let interactive = preset == Preset::Minimal
        && args.preset.is_none()
        && !flags_given(args)
        && !args.no_input
        && std::io::stdin().is_terminal()
        && super::stderr_is_terminal();
    // The keys the team already writes: the default, never a pattern that
    // takes `UTF-8` or `CVE-2025-1234` for a ticket.
    let from_history = match (repo, preset) {
        (Some(repo), Preset::Minimal) if args.ticket_keys.is_empty() => keys_in_history(repo)?,
        _ => Vec::new(),
    };
    let mut answers = if interactive {
        ask(default_branch, &from_history)?
    } else {
        from_flags(args)?
    };
    if preset == Preset::Minimal {
        settle_keys(&mut answers, &from_history)?;
    }
    Ok(answers)
}

/// The policy to write, as text and loaded.
struct Composed {
    text: String,
    policy: crate::policy::Policy,
}

/// The policy's text, loaded and compiled: a bad glob or key is reported
/// before anything is written.
fn compose(preset: Preset, answers: &Answers, default_branch: &str) -> Result<Composed, Failure> {
    let body = match preset {
        Preset::ReleaseTrain => BUILTIN_TEXT.to_owned(),
        Preset::Minimal => minimal(answers, default_branch),
    };
    let text = format!("# yaml-language-server: $schema=./{SCHEMA_FILE}\n{body}");
    let policy =
        load(vec![PolicySource::new(POLICY_FILE, text.clone())]).map_err(Failure::Policy)?;
    policy.prepare_all().map_err(|errors| {
        Failure::Policy(crate::policy::InvalidPolicy {
            sources: policy.sources.clone(),
            errors,
        })
    })?;
    Ok(Composed { text, policy })
}

/// "wrote …" and the rules the written policy enforces.
fn what_was_written(
    policy_path: &std::path::Path,
    schema_path: &std::path::Path,
    preset: Preset,
    policy: &crate::policy::Policy,
) -> String {
    let mut said = format!(
        "wrote {} ({}, {} rule(s)) and {} (for editor completion)\n\nFrom the next commit on, once the hooks are installed (and on every pull request the Action checks):\n",
        policy_path.display(),
        match preset {
            Preset::Minimal => "minimal",
            Preset::ReleaseTrain => {
                "the release-train pack: adapt its ticket keys, teams and paths, which name a fictional organisation"
            }
        },
        policy.rules.len(),
        schema_path.display()
    );
    for rule in &policy.rules {
        let on: Vec<&str> = rule.on.iter().map(|o| o.value.name()).collect();
        let description = rule.description.as_ref().map_or("", |d| d.value.as_str());
        said.push_str(&format!(
            "  - {} ({}): {description}\n",
            rule.id.value,
            on.join(", ")
        ));
    }
    said
}

/// What to do next: validate, commit on a branch (named as the policy
/// wants), install the hooks.
fn next_steps(preset: Preset, answers: &Answers, on_default: bool, default_branch: &str) -> String {
    let mut out = String::new();
    // A ticket and a branch the written policy accepts: the pack wants its
    // own keys and a kind's branch prefix (`feature/`).
    let (example, prefix) = match preset {
        Preset::ReleaseTrain => (String::from("EPL-1"), "feature"),
        Preset::Minimal => (
            answers
                .keys
                .first()
                .map_or_else(|| String::from("ABC-1"), |k| format!("{k}-1")),
            "chore",
        ),
    };
    for (_, team) in answers.guards.iter().filter(|(_, t)| t.contains('/')) {
        out.push_str(&format!(
            "\nnote: the team {team} is read through the GitHub API: the pull request gate needs a token that can read org members (members:read; the default GITHUB_TOKEN cannot), or name its members instead (--guard 'GLOB=user:alice+bob')\n"
        ));
    }
    out.push_str("\nNext:\n  1. git-policy validate\n");
    if on_default && (answers.forbid_default_branch || preset == Preset::ReleaseTrain) {
        out.push_str(&format!(
            "  2. you are on `{default_branch}`, where the policy refuses work: commit it on a branch\n       git switch -c {prefix}/{example}-git-policy\n"
        ));
    } else if preset == Preset::ReleaseTrain {
        out.push_str(&format!(
            "  2. commit it on a task branch named after its ticket, as the pack asks\n       git switch -c {prefix}/{example}-git-policy\n"
        ));
    } else {
        out.push_str("  2. commit the policy on a branch, as any change\n");
    }
    out.push_str(&format!(
        "     its own commit is checked too, so name a ticket:\n       git add {POLICY_FILE} {SCHEMA_FILE} && git commit -m \"{example} Add git-policy\"\n  3. git-policy install-hooks   (commit-msg and pre-push)\n"
    ));
    out
}

/// The keys the minimal policy names: those given, else the history's
/// (said so); none is exit 2, never a pattern for any `KEY-123`.
fn settle_keys(answers: &mut Answers, from_history: &[String]) -> Result<(), Fatal> {
    if answers.keys.is_empty() {
        if from_history.is_empty() {
            return Err(Fatal::new(format!(
                "no ticket keys given, and none found in the last {HISTORY_COMMITS} commits"
            ))
            .help("pass your tracker's keys: --ticket-keys ABC,OPS (tickets look like ABC-123); git-policy never writes a pattern that would take UTF-8, SHA-256 or CVE-2025-1234 for a ticket")
            );
        }
        err(&format!(
            "note: ticket keys {}: the most frequent in the last {HISTORY_COMMITS} commits (pass --ticket-keys to choose others)\n",
            from_history.join(", ")
        ));
        answers.keys = from_history.to_vec();
    }
    for key in answers
        .keys
        .iter()
        .filter(|k| non_tickets::is_non_ticket_key(k))
    {
        err(&format!(
            "note: `{key}-…` is also how common non-tickets are written (UTF-8, SHA-256, CVE-2025-1234, ISO-8601): is `{key}` your tracker's key?\n"
        ));
    }
    Ok(())
}

/// The branch `origin/HEAD` points at, else `init.defaultBranch`, else a
/// local `main` or `master`.
fn default_branch(repo: &git2::Repository) -> Option<String> {
    if let Ok(reference) = repo.find_reference("refs/remotes/origin/HEAD")
        && let Ok(Some(target)) = reference.symbolic_target()
    {
        return target
            .strip_prefix("refs/remotes/origin/")
            .map(str::to_owned);
    }
    if let Some(name) = repo
        .config()
        .ok()
        .and_then(|c| c.get_string("init.defaultBranch").ok())
        .filter(|b| !b.is_empty())
    {
        return Some(name);
    }
    ["main", "master"]
        .into_iter()
        .find(|name| repo.find_branch(name, git2::BranchType::Local).is_ok())
        .map(str::to_owned)
}

fn from_flags(args: &InitArgs) -> Result<Answers, Fatal> {
    let keys = args
        .ticket_keys
        .iter()
        .map(|k| k.trim().to_owned())
        .filter(|k| !k.is_empty())
        .collect::<Vec<_>>();
    for key in &keys {
        check_key(key)?;
    }
    let mut guards = Vec::new();
    for guard in &args.guard {
        guards.push(parse_guard(guard)?);
    }
    Ok(Answers {
        keys,
        url: args.tracker_url.clone().filter(|u| !u.trim().is_empty()),
        forbid_default_branch: args.forbid_default_branch,
        guards,
    })
}

fn check_key(key: &str) -> Result<(), Fatal> {
    let ok = key.len() <= 32
        && key.chars().next().is_some_and(|c| c.is_ascii_uppercase())
        && key
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_');
    if ok {
        Ok(())
    } else {
        Err(Fatal::new(format!("`{key}` is not a ticket key"))
            .help("keys are capital letters and digits, as in ABC-123: pass --ticket-keys ABC,OPS"))
    }
}

/// `GLOB=org/team` (a GitHub team) or `GLOB=user:alice+bob` (people): a
/// bare name is either, so it is refused (`platform` once became a user).
/// The team comes back as `org/team`, or logins joined by `+`.
fn parse_guard(text: &str) -> Result<(String, String), Fatal> {
    const FORMS: &str = "TEAM is `org/team-slug` (a GitHub team) or `user:login` (people, joined by `+`: `user:alice+bob`), e.g. --guard '.github/workflows/**=acme/platform' or --guard 'terraform/**=user:alice+bob'";
    let bad = || Fatal::new(format!("`{text}` is not GLOB=TEAM")).help(FORMS);
    let (glob, team) = text.rsplit_once('=').ok_or_else(bad)?;
    let (glob, team) = (glob.trim(), team.trim());
    if glob.is_empty() || team.is_empty() {
        return Err(bad());
    }
    let name_ok = |name: &str| {
        !name.is_empty()
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '[' | ']'))
    };
    if let Some(logins) = team.strip_prefix("user:") {
        let logins: Vec<&str> = logins
            .split('+')
            .map(|l| l.trim().strip_prefix("user:").unwrap_or(l.trim()))
            .collect();
        if logins.iter().all(|l| name_ok(l)) {
            return Ok((glob.to_owned(), logins.join("+")));
        }
        return Err(bad());
    }
    match team.split_once('/') {
        Some((org, slug)) if name_ok(org) && name_ok(slug) => {
            Ok((glob.to_owned(), team.to_owned()))
        }
        Some(_) => Err(bad()),
        None => Err(Fatal::new(format!(
            "`{team}` in --guard `{text}` could be a GitHub team or a person"
        ))
        .help(FORMS)),
    }
}

/// The most frequent ticket keys (`KEY` of `KEY-123`) in the latest
/// [`HISTORY_COMMITS`] commits on HEAD, without those of common
/// non-tickets: each named by at least two commits and by at least a tenth
/// as many as the first, at most five. None in a repository without commits.
fn keys_in_history(repo: &git2::Repository) -> Result<Vec<String>, Fatal> {
    let Ok(head) = repo.head().and_then(|h| h.peel_to_commit()) else {
        return Ok(Vec::new());
    };
    let failed = |e: git2::Error| Fatal::new(format!("cannot read the history: {}", e.message()));
    let mut walk = repo.revwalk().map_err(failed)?;
    walk.set_sorting(git2::Sort::TIME).map_err(failed)?;
    walk.push(head.id()).map_err(failed)?;
    let mut messages = Vec::new();
    for oid in walk.take(HISTORY_COMMITS) {
        let commit = repo.find_commit(oid.map_err(failed)?).map_err(failed)?;
        messages.push(String::from_utf8_lossy(commit.message_bytes()).into_owned());
    }
    Ok(frequent_keys(messages.iter().map(String::as_str)))
}

/// See [`keys_in_history`].
fn frequent_keys<'m>(messages: impl Iterator<Item = &'m str>) -> Vec<String> {
    static KEY: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
        regex::Regex::new(r"\b([A-Z][A-Z0-9_]*)-[0-9]+\b").unwrap_or_else(|_| unreachable!())
    });
    let mut counts: std::collections::BTreeMap<&str, usize> = std::collections::BTreeMap::new();
    for message in messages {
        let keys: std::collections::BTreeSet<&str> = KEY
            .captures_iter(message)
            .filter_map(|c| c.get(1))
            .map(|m| m.as_str())
            .filter(|k| !non_tickets::is_non_ticket_key(k) && k.len() <= 32)
            .collect();
        for key in keys {
            *counts.entry(key).or_default() += 1;
        }
    }
    let mut ranked: Vec<(&str, usize)> = counts.into_iter().collect();
    ranked.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    let top = ranked.first().map_or(0, |(_, n)| *n);
    ranked
        .into_iter()
        .filter(|(_, n)| *n >= 2 && *n * 10 >= top)
        .take(5)
        .map(|(k, _)| k.to_owned())
        .collect()
}

/// Questions on a terminal; an empty answer takes the default shown.
fn ask(default_branch: &str, from_history: &[String]) -> Result<Answers, Fatal> {
    let stdin = std::io::stdin();
    let mut lines = stdin.lock().lines();
    let mut prompt = |question: &str| -> Result<String, Fatal> {
        // A prompt, not a report: no newline, and never text from a
        // pull request.
        super::err(question);
        match lines.next() {
            Some(Ok(line)) => Ok(line.trim().to_owned()),
            Some(Err(e)) => Err(Fatal::new(format!("cannot read the answer: {e}"))),
            None => Ok(String::new()),
        }
    };
    let mut answers = Answers::default();
    let question = if from_history.is_empty() {
        String::from(
            "Ticket keys of your tracker, comma-separated (e.g. ABC,OPS; tickets look like ABC-123): ",
        )
    } else {
        format!(
            "Ticket keys of your tracker, comma-separated [{}, the most frequent in the last {HISTORY_COMMITS} commits]: ",
            from_history.join(",")
        )
    };
    // Keys are required: a pattern for any KEY-123 takes UTF-8 for a ticket.
    for _ in 0..5 {
        let keys = prompt(&question)?;
        let keys: Vec<String> = if keys.is_empty() {
            from_history.to_vec()
        } else {
            keys.split(',')
                .map(|k| k.trim().to_uppercase())
                .filter(|k| !k.is_empty())
                .collect()
        };
        if keys.is_empty() {
            err(
                "  your tracker's keys are needed (a pattern for any KEY-123 would take UTF-8 or CVE-2025-1234 for a ticket)\n",
            );
            continue;
        }
        match keys.iter().try_for_each(|k| check_key(k)) {
            Ok(()) => {
                answers.keys = keys;
                break;
            }
            Err(e) => err(&format!(
                "  {}; {}\n",
                e.message,
                e.help.unwrap_or_default()
            )),
        }
    }
    if answers.keys.is_empty() {
        return Err(Fatal::new("no ticket keys given")
            .help("run init again and give your tracker's keys, or pass --ticket-keys ABC,OPS"));
    }
    let url = prompt(
        "Link to a ticket, with {id} (e.g. https://example.atlassian.net/browse/{id}; empty: none): ",
    )?;
    answers.url = (!url.is_empty()).then_some(url);
    let forbid = prompt(&format!(
        "Refuse commits made straight on `{default_branch}`? [y/N]: "
    ))?;
    answers.forbid_default_branch = matches!(forbid.to_lowercase().as_str(), "y" | "yes");
    loop {
        let guard = prompt(
            "Paths a team must approve, GLOB=TEAM (TEAM: org/team-slug or user:alice+bob; empty: done): ",
        )?;
        if guard.is_empty() {
            break;
        }
        match parse_guard(&guard) {
            Ok(pair) => answers.guards.push(pair),
            Err(e) => err(&format!(
                "  {}; {}\n",
                e.message,
                e.help.unwrap_or_default()
            )),
        }
    }
    Ok(answers)
}

/// A YAML single-quoted string.
fn quoted(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

/// The minimal policy: tickets in commits and pull requests, drafts, and
/// what the team asked for. Nothing fictional: no example org, no logins
/// but those given.
fn minimal(answers: &Answers, default_branch: &str) -> String {
    // `run` never gets here without keys: no pattern for any KEY-123.
    let first = answers.keys.first().map_or("ABC", String::as_str);
    let (pattern, example) = (
        format!(r"\b({})-[0-9]+\b", answers.keys.join("|")),
        format!("{first}-123"),
    );
    let mut out = String::from("version: 1\n\ntickets:\n");
    out.push_str(&format!(
        "  tracker: {{ pattern: {}, example: {example}",
        quoted(&pattern)
    ));
    if let Some(url) = &answers.url {
        out.push_str(&format!(", url: {}", quoted(url)));
    }
    out.push_str(" }\n");
    // Teams and path sets of the guards, merged by team.
    let mut teams: Vec<(String, String, Vec<String>)> = Vec::new();
    for (glob, team) in &answers.guards {
        let name = team_name(team, teams.len());
        match teams.iter_mut().find(|(_, t, _)| t == team) {
            Some((_, _, globs)) => globs.push(glob.clone()),
            None => teams.push((name, team.clone(), vec![glob.clone()])),
        }
    }
    if !teams.is_empty() {
        out.push_str("\nteams:\n");
        for (name, team, _) in &teams {
            if team.contains('/') {
                out.push_str("  # read through the GitHub API: the gate's token needs org members:read (the default GITHUB_TOKEN cannot), or list `members: [...]` instead\n");
                out.push_str(&format!("  {name}: {{ github: {} }}\n", quoted(team)));
            } else {
                let members: Vec<String> = team.split('+').map(quoted).collect();
                out.push_str(&format!(
                    "  {name}: {{ members: [{}] }}\n",
                    members.join(", ")
                ));
            }
        }
        out.push_str("\npaths:\n");
        for (name, _, globs) in &teams {
            let globs: Vec<String> = globs.iter().map(|g| quoted(g)).collect();
            out.push_str(&format!("  {name}-paths: [{}]\n", globs.join(", ")));
        }
    }
    out.push_str(
        "\nrules:\n  - id: commit-ticket\n    description: Every commit names its ticket in its message.\n    on: [commit]\n    require:\n      ticket: { in: [message] }\n\n  - id: pull-request-ticket\n    description: Every pull request names its ticket (title, description, branch or commits).\n    on: [pull_request]\n    require:\n      ticket: { in: [title, body, branch, commits] }\n\n  - id: draft-until-ready\n    description: A draft pull request is not ready to merge.\n    on: [pull_request]\n    require:\n      ready: true\n",
    );
    if answers.forbid_default_branch {
        out.push_str(&format!(
            "\n  - id: work-on-a-branch\n    description: No work is committed straight to {default_branch}; each change has its own branch.\n    on: [branch, commit]\n    require:\n      branch:\n        forbid: {}\n        help: {}\n",
            quoted(&format!("^{}$", regex::escape(default_branch))),
            quoted(&format!("move the work to a branch: git switch -c feature/{example}-short-name"))
        ));
    }
    for (name, team, _) in &teams {
        out.push_str(&format!(
            "\n  - id: {name}-approval\n    description: Changes to these paths need an approval from {team}.\n    on: [pull_request]\n    when: {{ changed: [{name}-paths] }}\n    require:\n      approval: {{ teams: [{name}], count: 1 }}\n"
        ));
    }
    out
}

/// A policy name for a guard's team: the slug of `org/slug`, else `reviewers-N`.
fn team_name(team: &str, index: usize) -> String {
    match team.split_once('/') {
        Some((_, slug)) => slug
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() {
                    c.to_ascii_lowercase()
                } else {
                    '-'
                }
            })
            .collect(),
        None => format!("reviewers-{}", index + 1),
    }
}
