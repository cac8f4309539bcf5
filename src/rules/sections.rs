use crate::syntax::ErrorCode;

use super::{Context, Requirement, Violation};
use crate::facts::Subject;
use crate::facts::SubjectKind;
use crate::markdown;
use crate::syntax::{
    Decode, Decoder, Node, PolicyError, Shorthand, Spanned, non_empty, options, schema_of,
};

pub(crate) const SUMMARY: &str =
    "The pull request description has these sections, with real content.";

pub(crate) const DOC: &str = r#"## What it checks
The pull request description has each listed section, with real content.
The description is read as GitHub shows it (CommonMark with GitHub's
extensions). A section is a heading (`## Steps to reproduce`, underlined
with `===` or `---`, or `<h2>`; also inside a quote or a list) or a line of
text that starts with bold as GitHub shows it (`**Environment:** …`); it
runs to the next heading of the same or a higher level (a bold label's, to
the next heading or label). Not there at all: HTML comments (`<!-- … -->`),
`<script>`, `<style>` and the other elements GitHub drops with their
content (`title`, `textarea`, `xmp`, `iframe`, `noembed`, `noframes`,
`noscript`, `plaintext`, `template`, `svg`, `math`, `object`, `select`),
and HTML tags with their attributes. Markdown inside a raw HTML block is
text, never a heading or a label; in a code block, it is code.

Not content: images, emoji shortcodes (`:bug:`), link reference
definitions, footnote definitions (GitHub shows them at the end, if at
all), a code fence's info string, `geojson`, `topojson` and `stl` fences
(shown as a map or a model), empty lines, unchecked checkboxes (`[ ]`),
`<angle-bracket>` prompts, lines that are only a common placeholder (`_No response_`, `TBD`, `TODO`, `N/A`,
`-`, `...`; also in bold, code, a link or a table cell) or the section's
own `placeholder` texts (the template's prompt). Code blocks, link text and
the text of other raw HTML are content. A word is a run of characters
between spaces that holds a visible letter or digit: characters that show
nothing (zero-width and format characters, default-ignorable code points
such as the U+3164 Hangul filler) are removed first, and a combining mark
alone is no letter. `min_words` asks for at least that many words of real
content (default 1). Headings compare case-insensitively, ignoring
punctuation and emoji; `Steps to reproduce (required)` counts as `Steps to
reproduce`.

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

pub(crate) const SUBJECTS: &[SubjectKind] = &[SubjectKind::PullRequest];

/// Sections the pull request description must have, with real content:
/// one or more, each its heading or a mapping with options.
#[derive(Clone, Debug, Default)]
pub struct Options(pub Vec<SectionSpec>);

impl Decode for Options {
    const NAME: Option<&'static str> = Some("Sections");

    fn decode(node: &Node, d: &mut Decoder) -> Option<Self> {
        if d.list(node).is_empty() {
            d.error(
                PolicyError::at(ErrorCode::Empty, node.span, "`sections` lists no section")
                    .help("list at least one heading"),
            );
            return None;
        }
        Vec::<SectionSpec>::decode(node, d).map(Options)
    }

    fn schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        let item = schema_of::<SectionSpec>(generator);
        schemars::json_schema!({
            "description": "Sections the pull request description must have, with real content.",
            "anyOf": [ item.clone(), { "type": "array", "items": item, "minItems": 1 } ]
        })
    }
}

options! {
    /// One required section: its heading, or `{ heading, min_words, placeholder }`.
    #[options(what = "a section", shorthand = Heading)]
    #[derive(Clone, Debug)]
    pub struct SectionSpec {
        /// The heading or bold label text.
        pub(crate) heading: Spanned<String> => required => with(non_empty),
        /// At least this many words of real content. Default 1.
        pub(crate) min_words: Option<u32>,
        /// Template prompt text that does not count as content.
        pub(crate) placeholder: Vec<String> => with(|node, d| {
            d.strings(node).map(|v| v.into_iter().map(|s| s.value).collect())
        }),
        /// On a release page: "pending" is enough until the post-deployment audit.
        pub(crate) pending_until_deploy: bool,
    }
}

/// A section written as its heading alone.
pub(crate) struct Heading;

impl Shorthand<SectionSpec> for Heading {
    fn decode(node: &Node, d: &mut Decoder) -> Option<Option<SectionSpec>> {
        node.as_str()?;
        Some(d.non_empty_string(node).map(|heading| SectionSpec {
            heading,
            min_words: None,
            placeholder: Vec::new(),
            pending_until_deploy: false,
        }))
    }
    fn schema(mapping: schemars::Schema) -> schemars::Schema {
        schemars::json_schema!({ "anyOf": [ { "type": "string", "minLength": 1 }, mapping ] })
    }
}

/// Checks one Markdown document; shared with the release page, where
/// `post_deploy` says whether "pending" sections must be filled by now.
pub(crate) fn check_document(
    document: &str,
    specs: &[SectionSpec],
    what: &str,
    post_deploy: bool,
    out: &mut Vec<Violation>,
) {
    check_sections(&markdown::sections(document), specs, what, post_deploy, out);
}

/// [`check_document`] on a document's sections, already found (a page
/// judged several ways is parsed once).
pub(crate) fn check_sections(
    found: &[markdown::Section],
    specs: &[SectionSpec],
    what: &str,
    post_deploy: bool,
    out: &mut Vec<Violation>,
) {
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
        let content =
            markdown::real_content(markdown::cut_at_labels(section, &others), &spec.placeholder);
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
