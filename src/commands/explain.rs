use std::process::ExitCode;

use super::{Global, Outcome, PASSED, out, policy_for};
use crate::outcome::FindingId;
use crate::policy::{ErrorCode, Policy, did_you_mean};
use crate::rules;
use crate::sources::{Fatal, git};

/// `explain [TOPIC]`: a requirement's documentation, or a rule of the policy.
pub fn run(global: &Global, topic: Option<&str>) -> Outcome {
    let root = git::open(&global.dir).ok().and_then(|r| git::work_tree(&r));
    let Some(topic) = topic else {
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
        text.push_str("\nPolicy errors (`git-policy explain CODE` for one):\n");
        for code in ErrorCode::ALL {
            text.push_str(&format!("  {:<36} {}\n", code.as_str(), code.summary()));
        }
        text.push_str("\nFindings git-policy raises itself (not rules of the policy):\n");
        for id in FindingId::ALL {
            text.push_str(&format!("  {:<36} {}\n", id.as_str(), id.summary()));
        }
        if let Ok(policy) = policy_for(global, root.as_deref()) {
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
        out(&text);
        return Ok(ExitCode::from(PASSED));
    };
    if let Some(info) = rules::info(topic) {
        let on: Vec<&str> = info.subjects.iter().map(|s| s.name()).collect();
        out(&format!(
            "# Requirement `{}`\n\n{}\n\nWorks on: {}\n\n{}",
            info.name,
            info.summary,
            on.join(", "),
            info.doc
        ));
        return Ok(ExitCode::from(PASSED));
    }
    // `expired-waiver` is both a policy error code (`validate`) and a
    // finding a check raises: both are told.
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
    if !text.is_empty() {
        out(&text);
        return Ok(ExitCode::from(PASSED));
    }
    let policy = policy_for(global, root.as_deref())?;
    if let Some(rule) = policy.rules.iter().find(|r| r.id.value == topic) {
        out(&explain_rule(&policy, rule));
        return Ok(ExitCode::from(PASSED));
    }
    let names = rules::ALL
        .iter()
        .map(|i| i.name)
        .chain(policy.rules.iter().map(|r| r.id.value.as_str()));
    let mut fatal = Fatal::new(format!(
        "`{topic}` is neither a requirement nor a rule of the policy"
    ));
    fatal = match did_you_mean(topic, names) {
        Some(close) => fatal.help(format!(
            "did you mean `{close}`? (`git-policy explain` lists both)"
        )),
        None => fatal.help("`git-policy explain` lists requirements and rules"),
    };
    Err(fatal.into())
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
