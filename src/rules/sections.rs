use crate::policy::ErrorCode;
use schemars::JsonSchema;

use super::{Context, Requirement, Violation};
use crate::facts::Subject;
use crate::markdown;
use crate::policy::{Decoder, Node, PolicyError, Spanned, SubjectKind};

pub const SUMMARY: &str = "The pull request description has these sections, with real content.";

pub const DOC: &str = r#"## What it checks
The pull request description has each listed section — a Markdown heading
(`## Steps to reproduce`) or a bold label at the start of a line
(`**Environment:** …`) — and the section holds real content. Not content:
HTML comments (`<!-- … -->`), empty lines, unchecked template checkboxes,
`<angle-bracket>` prompts, common placeholders (`_No response_`, `TBD`,
`TODO`, `N/A`, `-`, `...`) and the section's own `placeholder` texts (the
template's prompt). `min_words` asks for at least that many words of real
content. Headings compare case-insensitively, ignoring punctuation and
emoji; `Steps to reproduce (required)` counts as `Steps to reproduce`.

## Why
P4: a bug report carries reproduction steps, logs and environment details.
P5: developers confirm the steps (a template left unfilled does not count).
P8: a feature request carries a justification and an impact assessment.

## Example policy
```yaml
kinds:
  bug: { labels: [bug] }
rules:
  - id: bug-reproduction-steps
    on: [pull_request]
    when: { kind: bug }
    require:
      sections:
        - { heading: 'Steps to reproduce', min_words: 5, placeholder: 'List the steps' }
        - Environment
        - Logs
```

## How to fix
Edit the pull request description: fill each section named in the finding
with real text, replacing the template's prompts.
"#;

pub const SUBJECTS: &[SubjectKind] = &[SubjectKind::PullRequest];

/// Sections the pull request description must have, with real content.
#[derive(Clone, Debug, Default, JsonSchema)]
pub struct Options(#[schemars(with = "crate::policy::OneOrMany<Section>")] pub Vec<SectionSpec>);

/// How one section is written: its heading, or a mapping with options.
pub struct Section;

impl JsonSchema for Section {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Section".into()
    }
    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        let options = generator.subschema_for::<SectionSpec>();
        schemars::json_schema!({
            "description": "A section: its heading, or `{ heading, min_words, placeholder }`.",
            "anyOf": [ { "type": "string", "minLength": 1 }, options ]
        })
    }
}

/// One required section with options.
#[derive(Clone, Debug, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SectionSpec {
    /// The heading or bold label text.
    pub heading: Spanned<String>,
    /// At least this many words of real content. Default 1.
    pub min_words: Option<u32>,
    /// Template prompt text that does not count as content.
    #[serde(default)]
    #[schemars(with = "crate::policy::OneOrMany<String>")]
    pub placeholder: Vec<String>,
    /// On a release page: "pending" is enough until the post-deployment audit.
    #[serde(default)]
    pub pending_until_deploy: bool,
}

/// How `sections` is written (the JSON Schema of its options).
pub fn schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
    generator.subschema_for::<Options>()
}

impl crate::policy::Decode for Options {
    fn decode(node: &Node, d: &mut Decoder) -> Option<Self> {
        decode(node, d)
    }
    fn schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schema(generator)
    }
}

pub fn decode(node: &Node, d: &mut Decoder) -> Option<Options> {
    let items = d.list(node);
    if items.is_empty() {
        d.error(
            PolicyError::at(ErrorCode::Empty, node.span, "`sections` lists no section")
                .help("list at least one heading"),
        );
        return None;
    }
    let mut out = Vec::new();
    let mut ok = true;
    for item in items {
        if item.as_str().is_some() {
            match d.non_empty_string(item) {
                Some(heading) => out.push(SectionSpec {
                    heading,
                    min_words: None,
                    placeholder: Vec::new(),
                    pending_until_deploy: false,
                }),
                None => ok = false,
            }
            continue;
        }
        let keys = [
            "heading",
            "min_words",
            "placeholder",
            "pending_until_deploy",
        ];
        let Some(fields) = d.fields(item, "a section", &keys) else {
            ok = false;
            continue;
        };
        let heading = fields
            .required("heading", d)
            .and_then(|n| d.non_empty_string(n));
        let min_words = fields
            .get("min_words")
            .and_then(|n| d.count(n))
            .map(|n| n.value);
        let placeholder = match fields.get("placeholder") {
            Some(n) => d
                .strings(n)
                .map(|v| v.into_iter().map(|s| s.value).collect()),
            None => Some(Vec::new()),
        };
        let pending_until_deploy = fields
            .get("pending_until_deploy")
            .is_some_and(|n| d.bool(n).unwrap_or(false));
        match (heading, placeholder) {
            (Some(heading), Some(placeholder)) => out.push(SectionSpec {
                heading,
                min_words,
                placeholder,
                pending_until_deploy,
            }),
            _ => ok = false,
        }
    }
    ok.then_some(Options(out))
}

/// Checks one Markdown document; shared with the release page, where
/// `post_deploy` says whether "pending" sections must be filled by now.
pub fn check_document(
    document: &str,
    specs: &[SectionSpec],
    what: &str,
    post_deploy: bool,
    out: &mut Vec<Violation>,
) {
    let found = markdown::sections(document);
    for spec in specs {
        let wanted = &spec.heading.value;
        let Some(section) = found
            .iter()
            .find(|s| markdown::heading_matches(&s.heading, wanted))
        else {
            out.push(
                Violation::new(format!("{what} has no `{wanted}` section")).help(format!(
                    "add a `## {wanted}` heading (or a `**{wanted}:**` line) with its content"
                )),
            );
            continue;
        };
        let others: Vec<&str> = specs
            .iter()
            .filter(|s| s.heading.value != *wanted)
            .map(|s| s.heading.value.as_str())
            .collect();
        let content = markdown::real_content(
            markdown::cut_at_labels(&section.content, &others),
            &spec.placeholder,
        );
        let words = markdown::word_count(&content);
        let min = spec.min_words.unwrap_or(1) as usize;
        if spec.pending_until_deploy
            && content.trim_start().to_lowercase().starts_with("pending")
            && words <= 4
        {
            if post_deploy {
                out.push(
                    Violation::new(format!("section `{}` in {what} still says pending after deployment", section.heading))
                        .help("publish the post-deployment snapshot (24 hours after deployment) and replace \"pending\" with it"),
                );
            }
            continue;
        }
        if words == 0 {
            out.push(
                Violation::new(format!("section `{}` in {what} is empty (only template text, comments or placeholders)", section.heading))
                    .help(format!("write the real {} under it", wanted.to_lowercase())),
            );
        } else if words < min {
            out.push(
                Violation::new(format!(
                    "section `{}` in {what} has {words} word(s); at least {min} required",
                    section.heading
                ))
                .help("give enough detail for someone else to act on it"),
            );
        }
    }
}

impl Requirement for Options {
    fn check(&self, cx: &Context<'_>, out: &mut Vec<Violation>) {
        let Subject::PullRequest(pr) = &cx.subject else {
            return;
        };
        check_document(
            &pr.body,
            &self.0,
            "the pull request description",
            false,
            out,
        );
    }
}
