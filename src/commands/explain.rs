use std::process::ExitCode;

use super::{Failure, Global, Outcome, PASSED, out, policy_for};
use crate::outcome::FindingId;
use crate::policy::{EXEMPTIONS_DOC, ErrorCode, Policy, WAIVERS_DOC, did_you_mean};
use crate::rules;
use crate::sources::{Fatal, git};

/// A policy key `explain` documents besides the requirements: its text is
/// the reference the code keeps (docs/rules.md and docs/policy.md show the
/// same; tests/docs.rs checks it).
pub(crate) struct Topic {
    pub(crate) name: &'static str,
    /// Other words for it (`waiver`), accepted but not listed.
    pub(crate) aliases: &'static [&'static str],
    pub(crate) summary: &'static str,
    /// What the key does, before the shared reference.
    pub(crate) intro: &'static str,
    pub(crate) doc: &'static str,
}

/// `when`, `unless`, `waivers`, `exemptions`.
pub(crate) const TOPICS: &[Topic] = &[
    Topic {
        name: "when",
        aliases: &["conditions"],
        summary: "A rule judges only the subjects for which this condition holds.",
        intro: "A rule with `when:` judges only the subjects for which its condition holds;\n\
                it says nothing about the others (no finding). With `unless:` too, a rule\n\
                judges a subject when `when` holds and `unless` does not.",
        doc: crate::predicates::DOC,
    },
    Topic {
        name: "unless",
        aliases: &[],
        summary: "A rule does not judge the subjects for which this condition holds.",
        intro: "A rule with `unless:` does not judge the subjects for which its condition\n\
                holds (no finding): an exception written in the policy, read like every\n\
                other key (for a pull request: at the base commit). With `when:` too, a rule\n\
                judges a subject when `when` holds and `unless` does not. For one commit,\n\
                pull request or ticket granted after the fact, see `git-policy explain waivers`.",
        doc: crate::predicates::DOC,
    },
    Topic {
        name: "waivers",
        aliases: &["waiver"],
        summary: "One commit, pull request or ticket exempted from named rules, with a reason.",
        intro: "`waivers:` is a top-level key of the policy: a list of entries.",
        doc: WAIVERS_DOC,
    },
    Topic {
        name: "exemptions",
        aliases: &["exemption", "exempt"],
        summary: "Commits that commit rules skip (`commits: { exempt }`): merges, reverts, fixups.",
        intro: "`commits: { exempt: [fixup, squash, merge, revert] }` (the default: all four)\n\
                names the exemptions commit rules honour; `exempt: []` judges every commit.",
        doc: EXEMPTIONS_DOC,
    },
];

/// The names `explain` knows without reading a policy, with their
/// summaries: requirements and policy keys (the shell completions offer them).
pub(crate) fn completion_topics() -> Vec<(&'static str, &'static str)> {
    rules::ALL
        .iter()
        .map(|i| (i.name, i.summary))
        .chain(TOPICS.iter().map(|t| (t.name, t.summary)))
        .collect()
}

/// `explain [TOPIC]`: a requirement's documentation, or a rule of the policy.
pub(crate) fn run(global: &Global, topic: Option<&str>) -> Outcome {
    let root = git::open(&global.dir).ok().and_then(|r| git::work_tree(&r));
    let text = match topic {
        None => listing(global, root.as_deref()),
        Some(topic) => match reference(topic).or_else(|| built_in(topic)) {
            Some(text) => text,
            None => of_policy(global, root.as_deref(), topic)?,
        },
    };
    out(&text);
    Ok(ExitCode::from(PASSED))
}

/// Every name `explain` knows: requirements, policy keys, policy errors,
/// built-in findings, and the rules of the policy when there is one.
fn listing(global: &Global, root: Option<&std::path::Path>) -> String {
    let mut text = String::from(
        "Requirements (what a rule can `require`; `git-policy explain NAME` for details):\n",
    );
    for info in rules::ALL {
        let on: Vec<&str> = info.subjects.iter().map(|s| s.name()).collect();
        text.push_str(&format!(
            "  {:<15} {}  [{}]\n",
            info.name,
            info.summary,
            on.join(", ")
        ));
    }
    text.push_str("\nPolicy keys (`git-policy explain NAME`):\n");
    for topic in TOPICS {
        text.push_str(&format!("  {:<15} {}\n", topic.name, topic.summary));
    }
    text.push_str("\nPolicy errors (`git-policy explain CODE` for one):\n");
    for code in ErrorCode::ALL {
        text.push_str(&format!("  {:<36} {}\n", code.as_str(), code.summary()));
    }
    text.push_str("\nFindings git-policy raises itself (not rules of the policy):\n");
    for id in FindingId::ALL {
        text.push_str(&format!("  {:<36} {}\n", id.as_str(), id.summary()));
    }
    if let Ok(policy) = policy_for(global, root) {
        text.push_str(&format!(
            "\nRules of the policy ({}):\n",
            policy
                .sources
                .iter()
                .map(|s| s.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ));
        for r in &policy.rules {
            let description = r.description.as_ref().map_or("", |d| d.value.as_str());
            text.push_str(&format!("  {:<28} {description}\n", r.id.value));
        }
    }
    text
}

/// A finding git-policy raises itself, or a policy error code. `expired-waiver`
/// is both (`validate` reports it, a check raises it): both are told.
fn built_in(topic: &str) -> Option<String> {
    let mut text = String::new();
    if let Some(id) = FindingId::parse(topic) {
        let waiver = if id == FindingId::ReleaseEvidence {
            " A waiver of the commit (`commit:` with its full sha) can name it in `rules:`."
        } else {
            ""
        };
        text.push_str(&format!(
            "# Finding `{id}`\n\n{}\n\nRaised by git-policy itself, not by a rule of the policy.{waiver}\n",
            id.summary()
        ));
    }
    if let Some(code) = ErrorCode::ALL
        .iter()
        .find(|c| c.as_str() == topic || c.as_str().strip_prefix("policy::") == Some(topic))
    {
        if !text.is_empty() {
            text.push('\n');
        }
        text.push_str(&format!("# Policy error `{code}`\n\n{}\n", code.summary()));
    }
    (!text.is_empty()).then_some(text)
}

/// A rule of the policy; any other name is exit 2, with the closest one.
fn of_policy(
    global: &Global,
    root: Option<&std::path::Path>,
    topic: &str,
) -> Result<String, Failure> {
    let policy = policy_for(global, root)?;
    if let Some(rule) = policy.rules.iter().find(|r| r.id.value == topic) {
        return Ok(explain_rule(&policy, rule));
    }
    let names = rules::ALL
        .iter()
        .map(|i| i.name)
        .chain(TOPICS.iter().map(|t| t.name))
        .chain(policy.rules.iter().map(|r| r.id.value.as_str()));
    let fatal = Fatal::new(format!(
        "`{topic}` is neither a requirement nor a rule of the policy, nor a policy key"
    ));
    let fatal = match did_you_mean(topic, names) {
        Some(close) => fatal.help(format!(
            "did you mean `{close}`? (`git-policy explain` lists them all)"
        )),
        None => fatal.help("`git-policy explain` lists requirements, policy keys and rules"),
    };
    Err(fatal.into())
}

/// A requirement's or a policy key's documentation: what needs no policy.
fn reference(topic: &str) -> Option<String> {
    if let Some(info) = rules::info(topic) {
        let on: Vec<&str> = info.subjects.iter().map(|s| s.name()).collect();
        return Some(format!(
            "# Requirement `{}`\n\n{}\n\nWorks on: {}\n\n{}",
            info.name,
            info.summary,
            on.join(", "),
            info.doc
        ));
    }
    let topic = TOPICS
        .iter()
        .find(|t| t.name == topic || t.aliases.contains(&topic))?;
    Some(format!(
        "# Policy key `{}`\n\n{}\n\n{}\n\n{}",
        topic.name, topic.summary, topic.intro, topic.doc
    ))
}

fn explain_rule(policy: &Policy, rule: &crate::policy::Rule) -> String {
    let source = policy.source(rule.span);
    let mut text = format!("# Rule `{}`\n\n", rule.id.value);
    if let Some(d) = &rule.description {
        text.push_str(&format!("{}\n\n", d.value));
    }
    let on: Vec<&str> = rule.on.iter().map(|o| o.value.name()).collect();
    text.push_str(&format!(
        "Level: {}. Runs on: {}.\n",
        rule.level.name(),
        on.join(", ")
    ));
    if let Some(source) = source {
        let before = |o: usize| source.text.get(..o).unwrap_or_default();
        let start = before(rule.span.offset as usize)
            .rfind('\n')
            .map_or(0, |i| i + 1);
        let next = policy
            .rules
            .iter()
            .filter(|r| r.span.file == rule.span.file && r.span.offset > rule.span.offset)
            .map(|r| r.span.offset as usize)
            .min()
            .map(|o| before(o).rfind('\n').map_or(o, |i| i + 1))
            .unwrap_or(source.text.len());
        text.push_str(&format!(
            "Defined in {} at line {}:\n\n",
            source.name, rule.span.line
        ));
        for line in source
            .text
            .get(start..next)
            .unwrap_or_default()
            .trim_end()
            .lines()
        {
            text.push_str(&format!("    {line}\n"));
        }
    }
    text.push_str("\nRequirements:\n");
    for (info, _, _) in rule.require.each() {
        text.push_str(&format!(
            "  {:<15} {} (`git-policy explain {}`)\n",
            info.name, info.summary, info.name
        ));
    }
    text
}
