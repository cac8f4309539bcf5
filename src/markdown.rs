//! Markdown sections as a reviewer sees them on GitHub: headings and bold
//! labels, and the words under them.
//!
//! The document is read by a CommonMark parser with GitHub's extensions
//! (tables, task lists, strikethrough, footnotes, alerts), so a heading,
//! a code fence or an HTML block is one exactly when GitHub renders it so;
//! raw `<h1>` to `<h6>`, which the sanitiser keeps, are headings too.
//! The parser is pulldown-cmark, not comrak: both pass the CommonMark spec,
//! which is all that decides where a heading, a fence or an HTML block is,
//! and the GitHub-only differences comrak mirrors (tag filter, autolinks)
//! do not change a section or its words here. pulldown-cmark is a small
//! pull parser with one new dependency (`unicase`; +0.4 MB of release
//! binary with this module) that reads a 64 KB description in a few
//! milliseconds, where comrak builds a tree and brings more crates and a
//! larger entity table. Markdown is never read on the commit hooks' path
//! (only the pull request and release page requirements read it); what the
//! hooks pay is the loader relocating the parser's entity table at start
//! (about 60,000 instructions, 4.7% of a commit-msg check).
//!
//! What GitHub's sanitiser drops is not there: HTML comments, `<script>`,
//! `<style>` and the other elements whose content is not shown (everything
//! inside them, even Markdown after a blank line), tags and their attributes.
//! The text of other raw HTML is shown, so it counts, but Markdown inside an
//! HTML block is text, never a heading. Images, link reference definitions,
//! footnote definitions (shown at the end of the description, if at all) and
//! a fence's info string are no words. Code blocks are content. Characters
//! that show nothing (format characters, default-ignorable code points such
//! as U+3164 HANGUL FILLER and zero-width spaces) are removed before words
//! are counted; a word needs a visible letter or digit.

use std::borrow::Cow;
use std::sync::LazyLock;

use pulldown_cmark::{CodeBlockKind, Event, Options, Parser, Tag, TagEnd, TextMergeStream};

/// One section of a Markdown document.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Section {
    /// The heading text as shown (without `#`s or `**`).
    pub heading: String,
    /// 1–6 for headings, 7 for a bold label (`**Environment:**`).
    pub level: u8,
    /// The text shown under the heading, a line for each line shown, up to
    /// the next heading of the same or a higher level.
    pub content: String,
    /// Where a bold label starts a line of `content`, and its label.
    labels: Vec<(usize, String)>,
}

/// Text that template authors leave for the reader to replace.
pub(crate) const DEFAULT_PLACEHOLDERS: &[&str] = &[
    "_no response_",
    "no response",
    "tbd",
    "tba",
    "todo",
    "n/a",
    "na",
    "none",
    "-",
    "...",
    "…",
    "xxx",
];

/// Splits a document into sections: headings wherever GitHub shows one
/// (also in a quote or a list), and bold labels starting a line of text.
/// The pieces shown are taken as the parser's events are read, never kept
/// for the whole document (a release page has 70,000 lines).
pub fn sections(markdown: &str) -> Vec<Section> {
    let mut sections = Sections::default();
    Reader::read(markdown, |piece| sections.piece(piece));
    sections.out
}

/// Sections being built from the pieces shown, in order: each piece goes
/// into every section still open, up to the next heading of the same or a
/// higher level (a bold label's, to the next heading or label).
#[derive(Default)]
struct Sections {
    out: Vec<Section>,
    /// Indices in `out` of the sections still open.
    open: Vec<usize>,
}

impl Sections {
    fn piece(&mut self, piece: Piece) {
        let out = &mut self.out;
        self.open.retain(|&i| {
            let level = out[i].level;
            !match &piece {
                Piece::Heading { level: next, .. } => *next <= level,
                Piece::Label { .. } => level == 7,
                Piece::Line(_) => false,
            }
        });
        for &i in &self.open {
            let section = &mut out[i];
            let text = match &piece {
                Piece::Heading { text, .. } | Piece::Line(text) => text,
                Piece::Label { label, line, .. } => {
                    section.labels.push((section.content.len(), label.clone()));
                    line
                }
            };
            section.content.push('\n');
            section.content.push_str(text);
        }
        let (heading, level, content) = match piece {
            Piece::Heading { level, text } => (text, level, String::new()),
            Piece::Label { label, rest, .. } => (label, 7, rest),
            Piece::Line(_) => return,
        };
        self.open.push(out.len());
        out.push(Section {
            heading,
            level,
            content,
            labels: Vec::new(),
        });
    }
}

/// Where the sections under the `wanted` headings are in the document:
/// byte ranges.
pub(crate) fn heading_section_ranges(
    markdown: &str,
    wanted: &[String],
) -> Vec<std::ops::Range<usize>> {
    let options = Options::ENABLE_TABLES
        | Options::ENABLE_FOOTNOTES
        | Options::ENABLE_STRIKETHROUGH
        | Options::ENABLE_TASKLISTS
        | Options::ENABLE_GFM;
    // (level, text, where the heading starts)
    let mut headings: Vec<(u8, String, usize)> = Vec::new();
    let mut open: Option<(u8, String, usize)> = None;
    for (event, at) in Parser::new_ext(markdown, options).into_offset_iter() {
        match event {
            Event::Start(Tag::Heading { level, .. }) => {
                open = Some((level as u8, String::new(), at.start));
            }
            Event::End(TagEnd::Heading(_)) => headings.extend(open.take()),
            Event::Text(text) | Event::Code(text) => {
                if let Some((_, heading, _)) = &mut open {
                    heading.push_str(&text);
                }
            }
            Event::SoftBreak | Event::HardBreak => {
                if let Some((_, heading, _)) = &mut open {
                    heading.push(' ');
                }
            }
            _ => {}
        }
    }
    headings
        .iter()
        .enumerate()
        .filter(|(_, (_, text, _))| wanted.iter().any(|w| version_heading_matches(text, w)))
        .map(|(index, (level, _, start))| {
            let end = headings[index + 1..]
                .iter()
                .find(|(next, _, _)| next <= level)
                .map_or(markdown.len(), |(_, _, at)| *at);
            *start..end
        })
        .collect()
}

/// Whether a written heading is a release's: equal to `wanted` once
/// brackets are dropped and spaces and case folded, or `wanted` followed by
/// a space, `(`, `:` or `,` and more (a date: `[1.2.3] - 2026-01-02`).
/// What follows the version directly keeps it another version: `1.2.30`,
/// `1.2.3.1`, `1.2.3-rc.1` are not `1.2.3`.
pub(crate) fn version_heading_matches(written: &str, wanted: &str) -> bool {
    let fold = |text: &str| {
        visible(text)
            .replace(['[', ']'], " ")
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
            .to_lowercase()
    };
    let (written, wanted) = (fold(written), fold(wanted));
    !wanted.is_empty()
        && (written == wanted
            || written
                .strip_prefix(&wanted)
                .is_some_and(|rest| rest.starts_with([' ', '(', ':', ','])))
}

/// A heading reduced for comparison: lower case, letters and digits, single spaces.
pub fn normalize(text: &str) -> String {
    let text = visible(text);
    let mut out = String::with_capacity(text.len());
    for word in text
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
    {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(&word.to_lowercase());
    }
    out
}

/// Whether a written heading is the one wanted: equal, or starting with it
/// (`Steps to reproduce (required)` is `Steps to reproduce`).
pub fn heading_matches(written: &str, wanted: &str) -> bool {
    let (w, n) = (normalize(written), normalize(wanted));
    !n.is_empty() && (w == n || w.strip_prefix(&n).is_some_and(|rest| rest.starts_with(' ')))
}

/// The real content of a section's text: without empty lines, unchecked
/// template checkboxes and placeholder text.
pub fn real_content(content: &str, placeholders: &[String]) -> String {
    let mut out = String::new();
    for line in content.lines() {
        let t = strip_marker(line.trim());
        if t.is_empty() || t.starts_with("[ ]") {
            continue;
        }
        let bare = t.trim_end_matches([':', '.']).trim();
        let lower = bare.to_lowercase();
        let is_placeholder = DEFAULT_PLACEHOLDERS.contains(&lower.as_str())
            || (bare.starts_with('<') && bare.ends_with('>') && !bare.contains("</"))
            || placeholders.iter().any(|p| {
                let p = normalize(p);
                !p.is_empty() && normalize(bare) == p
            });
        if is_placeholder {
            continue;
        }
        if !out.is_empty() {
            out.push('\n');
        }
        out.push_str(t);
    }
    out
}

/// The section's content up to the first bold label naming another section:
/// in `## Environment` followed by `**Logs:** …`, the logs are not the environment.
pub fn cut_at_labels<'a>(section: &'a Section, others: &[&str]) -> &'a str {
    section
        .labels
        .iter()
        .find(|(_, label)| others.iter().any(|o| heading_matches(label, o)))
        .map_or(&section.content, |&(at, _)| {
            section.content.get(..at).unwrap_or_default()
        })
}

/// Words shown: runs of characters between spaces holding a visible letter
/// or digit (not a combining mark alone, not a character that shows nothing).
pub fn word_count(text: &str) -> usize {
    visible(text)
        .split_whitespace()
        .filter(|w| is_word(w))
        .count()
}

/// U+2800: a braille cell with no dots, shown as a space.
const BRAILLE_BLANK: char = '\u{2800}';

/// Characters that show nothing: format characters and default-ignorable
/// code points (zero-width spaces and joiners, U+115F, U+1160, U+3164 and
/// U+FFA0 Hangul fillers, variation selectors, tags).
static INVISIBLE: LazyLock<Vec<(char, char)>> =
    LazyLock::new(|| unicode_class(r"[\p{Default_Ignorable_Code_Point}\p{Cf}]"));

/// A letter or digit that shows on its own.
static VISIBLE_LETTER: LazyLock<Vec<(char, char)>> = LazyLock::new(|| {
    unicode_class(r"[[\p{Alphabetic}\p{N}]--[\p{M}\p{Default_Ignorable_Code_Point}]]")
});

/// The ranges of a Unicode character class, from the regex parser's tables
/// (no automaton is built: a description is read in one pass).
fn unicode_class(pattern: &str) -> Vec<(char, char)> {
    use regex_syntax::hir::{Class, HirKind};
    let hir = regex_syntax::Parser::new()
        .parse(pattern)
        .expect("a valid class");
    match hir.kind() {
        HirKind::Class(Class::Unicode(class)) => class
            .ranges()
            .iter()
            .map(|range| (range.start(), range.end()))
            .collect(),
        _ => unreachable!("a Unicode class"),
    }
}

fn in_class(c: char, class: &[(char, char)]) -> bool {
    class
        .binary_search_by(|&(start, end)| {
            if end < c {
                std::cmp::Ordering::Less
            } else if start > c {
                std::cmp::Ordering::Greater
            } else {
                std::cmp::Ordering::Equal
            }
        })
        .is_ok()
}

/// The text without GitHub's emoji shortcodes (`:x:`, `:+1:`), shown as
/// pictures, not as words: any that could be one (fewer words, never more).
fn without_emoji(text: &str) -> Cow<'_, str> {
    let is_name = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit() || b"_+-".contains(&b);
    let bytes = text.as_bytes();
    let mut out: Option<String> = None;
    let mut kept = 0;
    let mut at = 0;
    while let Some(found) = text.get(at..).unwrap_or_default().find(':') {
        let open = at + found;
        let name = bytes[open + 1..]
            .iter()
            .take_while(|&&b| is_name(b))
            .count();
        let close = open + 1 + name;
        if name > 0 && bytes.get(close) == Some(&b':') {
            out.get_or_insert_with(String::new)
                .push_str(text.get(kept..open).unwrap_or_default());
            kept = close + 1;
            at = close + 1;
        } else {
            at = open + 1;
        }
    }
    match out {
        Some(mut out) => {
            out.push_str(text.get(kept..).unwrap_or_default());
            Cow::Owned(out)
        }
        None => Cow::Borrowed(text),
    }
}

/// The text without characters that show nothing, and a braille blank as
/// the space it shows.
fn visible(text: &str) -> Cow<'_, str> {
    if text.is_ascii()
        || !text
            .chars()
            .any(|c| c == BRAILLE_BLANK || in_class(c, &INVISIBLE))
    {
        return Cow::Borrowed(text);
    }
    Cow::Owned(
        text.chars()
            .filter(|&c| !in_class(c, &INVISIBLE))
            .map(|c| if c == BRAILLE_BLANK { ' ' } else { c })
            .collect(),
    )
}

fn is_word(word: &str) -> bool {
    if word.is_ascii() {
        word.bytes().any(|b| b.is_ascii_alphanumeric())
    } else {
        word.chars().any(|c| in_class(c, &VISIBLE_LETTER))
    }
}

/// Drops a list or quote marker (`- `, `* `, `+ `, `> `, `1. `) from a line
/// (text that shows one: escaped, or in code).
fn strip_marker(line: &str) -> &str {
    for marker in ["- ", "* ", "+ ", "> "] {
        if let Some(rest) = line.strip_prefix(marker) {
            return rest.trim();
        }
    }
    if matches!(line, "-" | "*" | "+" | ">") {
        return "";
    }
    let digits = line.chars().take_while(char::is_ascii_digit).count();
    if digits > 0
        && let Some(rest) = line.get(digits..).unwrap_or_default().strip_prefix(". ")
    {
        return rest.trim();
    }
    line
}

/// What the document shows, in order.
#[derive(Debug)]
enum Piece {
    Heading {
        level: u8,
        text: String,
    },
    /// A line of text starting with bold: `**Logs:** see the trace`.
    Label {
        /// `Logs`
        label: String,
        /// `see the trace`
        rest: String,
        /// `Logs: see the trace`
        line: String,
    },
    Line(String),
}

/// Walks the parser's events, keeping what a reader sees.
#[derive(Default)]
struct Reader {
    pieces: Vec<Piece>,
    /// The line being read.
    line: String,
    /// The heading being read, if shown.
    heading: Option<(u8, String)>,
    /// Inside a heading that is not shown.
    hidden_heading: bool,
    /// The bold text starting the line being read, and how deep in bold.
    label: Option<(String, usize)>,
    /// The line started with this bold text.
    label_done: Option<String>,
    /// In a paragraph or a list item's text, where a bold label may start a line.
    in_text: bool,
    /// How many list items are open.
    items: usize,
    /// Inside images and footnote definitions: shown elsewhere, or not as words.
    hidden: usize,
    /// In a code block.
    in_code: bool,
    /// In a code block shown as a map or a model.
    hidden_code: bool,
    html: Html,
}

impl Reader {
    /// Reads a document, giving each piece shown to `shown` as soon as it is complete.
    fn read(markdown: &str, mut shown: impl FnMut(Piece)) {
        let options = Options::ENABLE_TABLES
            | Options::ENABLE_FOOTNOTES
            | Options::ENABLE_STRIKETHROUGH
            | Options::ENABLE_TASKLISTS
            | Options::ENABLE_GFM;
        let mut reader = Reader::default();
        // Merged, so that `:white_check_mark:` is one text to find an emoji in.
        for event in TextMergeStream::new(Parser::new_ext(markdown, options)) {
            reader.event(event);
            reader.pieces.drain(..).for_each(&mut shown);
        }
        reader.end_heading();
        reader.end_line();
        reader.pieces.drain(..).for_each(shown);
    }

    fn event(&mut self, event: Event<'_>) {
        match event {
            Event::Start(tag) => self.start(tag),
            Event::End(tag) => self.end(tag),
            Event::Text(text) => {
                if self.html.shows_text() {
                    if self.in_code {
                        self.show(&text);
                    } else {
                        self.show(&without_emoji(&text));
                    }
                }
            }
            Event::Code(text) => {
                if self.html.shows_text() {
                    self.show(&text);
                }
            }
            Event::Html(html) | Event::InlineHtml(html) => {
                for shown in self.html.read(&html) {
                    match shown {
                        Shown::Text(text) => self.show(&without_emoji(&text)),
                        Shown::Heading(level) => self.start_html_heading(level),
                        Shown::HeadingEnd => self.end_heading(),
                    }
                }
            }
            Event::SoftBreak | Event::HardBreak => self.line_break(),
            Event::Rule => self.end_line(),
            Event::TaskListMarker(done) => {
                if self.hidden == 0 && self.html.shows_text() {
                    self.line.push_str(if done { "[x] " } else { "[ ] " });
                }
            }
            // A footnote reference shows a number; math is not enabled.
            Event::FootnoteReference(_) | Event::InlineMath(_) | Event::DisplayMath(_) => {}
        }
    }

    fn start(&mut self, tag: Tag<'_>) {
        match tag {
            Tag::Paragraph => {
                self.end_line();
                self.in_text = true;
            }
            Tag::Item => {
                self.end_line();
                self.items += 1;
                self.in_text = true;
            }
            Tag::Heading { level, .. } => {
                // A Markdown heading closes an HTML one, as in a browser.
                self.end_heading();
                self.end_line();
                self.in_text = false;
                if self.hidden == 0 && self.html.shows_text() {
                    self.heading = Some((level as u8, String::new()));
                } else {
                    self.hidden_heading = true;
                }
            }
            Tag::Strong => {
                if let Some((_, depth)) = &mut self.label {
                    *depth += 1;
                } else if self.in_text
                    && self.label_done.is_none()
                    && self.heading.is_none()
                    && self.hidden == 0
                    && self.html.shows_text()
                    && self.line.trim().is_empty()
                {
                    self.label = Some((String::new(), 1));
                }
            }
            Tag::Image { .. } => self.hidden += 1,
            Tag::FootnoteDefinition(_) => {
                self.end_line();
                self.hidden += 1;
            }
            Tag::CodeBlock(kind) => {
                self.end_line();
                self.in_text = false;
                self.in_code = true;
                // GitHub shows these as a map or a 3D model, not as text.
                if let CodeBlockKind::Fenced(info) = kind
                    && let Some(language) = info.split_whitespace().next()
                    && ["geojson", "topojson", "stl"].contains(&language.to_lowercase().as_str())
                {
                    self.hidden += 1;
                    self.hidden_code = true;
                }
            }
            Tag::BlockQuote(_)
            | Tag::HtmlBlock
            | Tag::List(_)
            | Tag::Table(_)
            | Tag::TableHead
            | Tag::TableRow
            | Tag::TableCell
            | Tag::DefinitionList
            | Tag::DefinitionListTitle
            | Tag::DefinitionListDefinition
            | Tag::MetadataBlock(_) => {
                self.end_line();
                self.in_text = false;
            }
            Tag::Emphasis
            | Tag::Strikethrough
            | Tag::Superscript
            | Tag::Subscript
            | Tag::Link { .. } => {}
        }
    }

    fn end(&mut self, tag: TagEnd) {
        match tag {
            TagEnd::Heading(_) => self.end_heading(),
            TagEnd::Strong => {
                if let Some((text, depth)) = &mut self.label {
                    *depth -= 1;
                    if *depth == 0 {
                        self.label_done = Some(std::mem::take(text));
                        self.label = None;
                        self.line.clear();
                    }
                }
            }
            TagEnd::Image => self.hidden = self.hidden.saturating_sub(1),
            TagEnd::CodeBlock => {
                self.end_line();
                self.in_text = false;
                self.in_code = false;
                if std::mem::take(&mut self.hidden_code) {
                    self.hidden = self.hidden.saturating_sub(1);
                }
            }
            TagEnd::FootnoteDefinition => {
                self.end_line();
                self.hidden = self.hidden.saturating_sub(1);
            }
            TagEnd::Item => {
                self.end_line();
                self.items = self.items.saturating_sub(1);
                self.in_text = false;
            }
            TagEnd::List(_) => {
                self.end_line();
                // Text may go on in the item holding the list.
                self.in_text = self.items > 0;
            }
            TagEnd::Emphasis
            | TagEnd::Strikethrough
            | TagEnd::Superscript
            | TagEnd::Subscript
            | TagEnd::Link => {}
            _ => {
                self.end_line();
                self.in_text = false;
            }
        }
    }

    /// `<h1>` to `<h6>` in raw HTML: a heading, unless inside one.
    fn start_html_heading(&mut self, level: u8) {
        if self.heading.is_some() || self.hidden_heading || self.hidden > 0 || self.label.is_some()
        {
            return;
        }
        self.end_line();
        self.in_text = false;
        self.heading = Some((level, String::new()));
    }

    fn end_heading(&mut self) {
        if let Some((level, text)) = self.heading.take() {
            self.pieces.push(Piece::Heading {
                level,
                text: text.trim().to_owned(),
            });
        }
        self.hidden_heading = false;
    }

    /// Adds text shown (line breaks in it end lines).
    fn show(&mut self, text: &str) {
        if self.hidden > 0 || self.hidden_heading || text.is_empty() {
            return;
        }
        for (n, part) in text.split('\n').enumerate() {
            if n > 0 {
                self.line_break();
            }
            let part = visible(part);
            if let Some((label, _)) = &mut self.label {
                label.push_str(&part);
            } else if let Some((_, heading)) = &mut self.heading {
                heading.push_str(&part);
            } else {
                self.line.push_str(&part);
            }
        }
    }

    fn line_break(&mut self) {
        if let Some((label, _)) = &mut self.label {
            label.push(' ');
        } else if let Some((_, heading)) = &mut self.heading {
            heading.push(' ');
        } else {
            self.end_line();
        }
    }

    fn end_line(&mut self) {
        let line = std::mem::take(&mut self.line);
        if let Some((text, _)) = self.label.take() {
            // Bold running past the line's end (a paragraph's last line).
            self.label_done = Some(text + &line);
            return self.end_line();
        }
        match self.label_done.take() {
            Some(text) if !text.trim().is_empty() => {
                let label = text.trim().trim_end_matches(':').trim().to_owned();
                let rest = line.trim_start_matches(':').trim().to_owned();
                self.pieces.push(Piece::Label {
                    label,
                    rest,
                    line: text + &line,
                });
            }
            Some(text) => self.push_line(text + &line),
            None => self.push_line(line),
        }
    }

    fn push_line(&mut self, line: String) {
        if !line.trim().is_empty() {
            self.pieces.push(Piece::Line(line));
        }
    }
}

/// Raw HTML as the browser reads it after GitHub's sanitiser, across the
/// pieces of a document: which text it shows.
#[derive(Default)]
struct Html {
    state: HtmlState,
}

#[derive(Default)]
enum HtmlState {
    /// Text, shown.
    #[default]
    Text,
    /// Inside a tag: its name (lower case) so far, whether it closes an
    /// element, whether the name is complete, and an open quote.
    Tag {
        name: String,
        closing: bool,
        named: bool,
        quote: Option<char>,
    },
    /// `<!-- … -->`
    Comment,
    /// `<!…>` or `<?…>`
    Declaration,
    /// Inside an element dropped with its content, up to `</name`.
    Dropped(String),
    /// `<plaintext>`: the rest of the document.
    Plaintext,
}

/// Elements shown with nothing inside: GitHub's sanitiser (or its tag
/// filter) drops them, and a browser shows no text of those it keeps.
const DROPPED: &[&str] = &[
    "script", "style", "title", "textarea", "xmp", "iframe", "noembed", "noframes", "noscript",
    "template", "svg", "math", "object", "select",
];

/// Elements that start a line of their own.
const BLOCKS: &[&str] = &[
    "address",
    "article",
    "aside",
    "blockquote",
    "br",
    "caption",
    "dd",
    "details",
    "div",
    "dl",
    "dt",
    "figcaption",
    "figure",
    "footer",
    "header",
    "hr",
    "li",
    "ol",
    "p",
    "pre",
    "section",
    "summary",
    "table",
    "td",
    "th",
    "tr",
    "ul",
];

impl Html {
    /// Whether Markdown text here is shown (not inside a comment, a tag or
    /// a dropped element).
    fn shows_text(&self) -> bool {
        matches!(self.state, HtmlState::Text)
    }

    /// What this raw HTML shows: text, and where `<h1>` to `<h6>` start and end.
    fn read(&mut self, html: &str) -> Vec<Shown> {
        let mut out = Vec::new();
        let mut shown = String::new();
        let mut rest = html;
        while let Some(c) = rest.chars().next() {
            let step = c.len_utf8();
            match &mut self.state {
                HtmlState::Text => {
                    if let Some(used) = self.text_step(rest, c, &mut shown) {
                        rest = rest.get(used..).unwrap_or_default();
                        continue;
                    }
                }
                HtmlState::Tag {
                    name,
                    closing,
                    named,
                    quote,
                } => match *quote {
                    Some(q) if c == q => *quote = None,
                    Some(_) => {}
                    None if c == '>' => {
                        let name = std::mem::take(name);
                        let closing = *closing;
                        self.tag_ends(name, closing, &mut shown, &mut out);
                    }
                    None if c == '"' || c == '\'' => {
                        *named = true;
                        *quote = Some(c);
                    }
                    None if !*named && (c.is_ascii_alphanumeric() || c == '-') => {
                        name.push(c.to_ascii_lowercase());
                    }
                    None => *named = true,
                },
                HtmlState::Comment => match rest.find("-->") {
                    Some(end) => {
                        self.state = HtmlState::Text;
                        rest = rest.get(end + 3..).unwrap_or_default();
                        continue;
                    }
                    None => rest = "",
                },
                HtmlState::Declaration => {
                    if c == '>' {
                        self.state = HtmlState::Text;
                    }
                }
                HtmlState::Dropped(name) => {
                    if let Some(end) = closing_tag(rest, name) {
                        self.state = HtmlState::Tag {
                            name: std::mem::take(name),
                            closing: true,
                            named: true,
                            quote: None,
                        };
                        rest = rest.get(end..).unwrap_or_default();
                        continue;
                    }
                    rest = "";
                    continue;
                }
                HtmlState::Plaintext => rest = "",
            }
            rest = rest.get(step..).unwrap_or("");
        }
        out.push(Shown::Text(shown));
        out
    }
    /// One step in text at `c` (the first character of `rest`): how many
    /// bytes it took when it took more than `c` or started a tag, a comment
    /// or a declaration; `None` when `c` was shown.
    fn text_step(&mut self, rest: &str, c: char, shown: &mut String) -> Option<usize> {
        if c == '&' {
            let (text, used) = entity(rest);
            shown.push_str(&text);
            return Some(used);
        }
        if c != '<' {
            shown.push(c);
            return None;
        }
        if let Some(after) = rest.strip_prefix("<!--") {
            // `<!-->` and `<!--->` end where they start.
            let after = match after.strip_prefix('>').or_else(|| after.strip_prefix("->")) {
                Some(after) => after,
                None => {
                    self.state = HtmlState::Comment;
                    after
                }
            };
            return Some(rest.len() - after.len());
        }
        let next = rest.get(1..).unwrap_or_default().chars().next();
        let closing = next == Some('/');
        let first = if closing {
            rest.get(2..).unwrap_or_default().chars().next()
        } else {
            next
        };
        if first.is_some_and(|c| c.is_ascii_alphabetic()) {
            self.state = HtmlState::Tag {
                name: String::new(),
                closing,
                named: false,
                quote: None,
            };
            return Some(if closing { 2 } else { 1 });
        }
        if matches!(next, Some('!' | '?')) || (closing && first.is_some()) {
            self.state = HtmlState::Declaration;
            return Some(2);
        }
        shown.push('<');
        None
    }

    /// A tag `name` ends (`>`): a heading starts or ends, a block breaks
    /// the line, `<plaintext>` and dropped elements change what follows.
    fn tag_ends(&mut self, name: String, closing: bool, shown: &mut String, out: &mut Vec<Shown>) {
        self.state = HtmlState::Text;
        if let Some(level) = heading_level(&name) {
            out.push(Shown::Text(std::mem::take(shown)));
            out.push(if closing {
                Shown::HeadingEnd
            } else {
                Shown::Heading(level)
            });
        } else if BLOCKS.contains(&name.as_str()) {
            shown.push('\n');
        }
        if !closing {
            if name == "plaintext" {
                self.state = HtmlState::Plaintext;
            } else if DROPPED.contains(&name.as_str()) {
                self.state = HtmlState::Dropped(name);
            }
        }
    }
}

/// What a piece of raw HTML shows.
#[derive(Debug, PartialEq, Eq)]
enum Shown {
    Text(String),
    /// `<h2>`: a heading of level 2 starts.
    Heading(u8),
    /// `</h2>`
    HeadingEnd,
}

/// `h1` to `h6`: the heading's level.
fn heading_level(name: &str) -> Option<u8> {
    match name.as_bytes() {
        [b'h', level @ b'1'..=b'6'] => Some(level - b'0'),
        _ => None,
    }
}

/// Where `</name` (followed by a space, `/` or `>`) ends in `html`, if it is there.
fn closing_tag(html: &str, name: &str) -> Option<usize> {
    html.match_indices("</").find_map(|(at, _)| {
        let end = at + 2 + name.len();
        let candidate = html.get(at + 2..end)?;
        let after = html.get(end..).unwrap_or_default().chars().next();
        (candidate.eq_ignore_ascii_case(name)
            && after.is_none_or(|c| c.is_ascii_whitespace() || c == '/' || c == '>'))
        .then_some(end)
    })
}

/// A character reference at the start of `text` (which starts with `&`):
/// the text it shows and how many bytes it takes. Numeric references may
/// leave out the `;`, as may `&nbsp` and `&shy` (the ones that show nothing;
/// the other legacy references show a character, counted either way).
fn entity(text: &str) -> (Cow<'static, str>, usize) {
    let body = text.get(1..).unwrap_or_default();
    if let Some(number) = body.strip_prefix('#') {
        let (digits, radix, skip) = match number.strip_prefix(['x', 'X']) {
            Some(hex) => (
                hex.chars().take_while(char::is_ascii_hexdigit).count(),
                16,
                3,
            ),
            None => (
                number.chars().take_while(char::is_ascii_digit).count(),
                10,
                2,
            ),
        };
        if digits > 0 {
            let start = skip;
            let value =
                u32::from_str_radix(text.get(start..start + digits).unwrap_or_default(), radix)
                    .ok();
            let c = value
                .and_then(char::from_u32)
                .filter(|&c| c != '\0')
                .unwrap_or('\u{FFFD}');
            let mut used = start + digits;
            if text.get(used..).unwrap_or_default().starts_with(';') {
                used += 1;
            }
            return (Cow::Owned(c.to_string()), used);
        }
        return (Cow::Borrowed("&"), 1);
    }
    let name_len = body.chars().take_while(char::is_ascii_alphanumeric).count();
    if name_len > 0 && name_len <= 32 && body.get(name_len..).unwrap_or_default().starts_with(';') {
        let reference = text.get(..name_len + 2).unwrap_or_default();
        // The parser knows every named reference: as Markdown, `&name;` alone
        // is the character it names, or itself when it names none.
        let decoded: String = Parser::new(reference)
            .filter_map(|event| match event {
                Event::Text(text) => Some(text.into_string()),
                _ => None,
            })
            .collect();
        return (Cow::Owned(decoded), reference.len());
    }
    for (legacy, c) in [("nbsp", "\u{A0}"), ("shy", "\u{AD}")] {
        if body.starts_with(legacy) {
            return (Cow::Borrowed(c), legacy.len() + 1);
        }
    }
    (Cow::Borrowed("&"), 1)
}

#[cfg(test)]
mod tests {

    /// The sections as they were built before streaming: from every piece
    /// of the document, kept.
    fn sections_from_all_pieces(markdown: &str) -> Vec<Section> {
        let mut pieces = Vec::new();
        Reader::read(markdown, |piece| pieces.push(piece));
        let mut out = Vec::new();
        for (start, piece) in pieces.iter().enumerate() {
            let (heading, level, mut content) = match piece {
                Piece::Heading { level, text } => (text, *level, String::new()),
                Piece::Label { label, rest, .. } => (label, 7, rest.clone()),
                Piece::Line(_) => continue,
            };
            let mut labels = Vec::new();
            for piece in pieces.iter().skip(start + 1) {
                let text = match piece {
                    Piece::Heading { level: next, .. } if *next <= level => break,
                    Piece::Label { .. } if level == 7 => break,
                    Piece::Heading { text, .. } | Piece::Line(text) => text,
                    Piece::Label { label, line, .. } => {
                        labels.push((content.len(), label.clone()));
                        line
                    }
                };
                content.push('\n');
                content.push_str(text);
            }
            out.push(Section {
                heading: heading.clone(),
                level,
                content,
                labels,
            });
        }
        out
    }

    proptest::proptest! {
        /// Sections built as the pieces come are those built from every
        /// piece kept: headings of each level, labels, lines, nesting.
        #[test]
        fn streamed_sections_are_those_of_all_pieces(
            lines in proptest::collection::vec(0usize..12, 0..40),
        ) {
            const PARTS: [&str; 12] = [
                "# One", "## Two", "### Three", "#### Four", "**Logs:** a trace",
                "**Env:**", "- EPL-1 item", "plain text", "", "> ## quoted",
                "Setext\n---", "<h2>html</h2>",
            ];
            let document: Vec<&str> = lines.iter().map(|&i| PARTS[i]).collect();
            let document = document.join("\n");
            proptest::prop_assert_eq!(sections(&document), sections_from_all_pieces(&document));
        }
    }

    use super::*;

    const BODY: &str = "## Steps to reproduce\n<!-- list the steps -->\n1. open the app\n2. click login\n\n## Environment\n_No response_\n\n**Logs:** see attached trace\n\n```\n# not a heading\n```\n";

    #[test]
    fn splits_headings_and_bold_labels() {
        let s = sections(BODY);
        let names: Vec<&str> = s.iter().map(|s| s.heading.as_str()).collect();
        assert_eq!(names, ["Steps to reproduce", "Environment", "Logs"]);
        assert!(s[2].content.contains("# not a heading"));
    }

    #[test]
    fn placeholders_and_comments_are_not_content() {
        let s = sections(BODY);
        assert_eq!(
            real_content(&s[0].content, &[]),
            "open the app\nclick login"
        );
        assert_eq!(real_content(cut_at_labels(&s[1], &["Logs"]), &[]), "");
        assert_eq!(
            word_count(&real_content(&s[2].content, &[])),
            6,
            "the fenced block is content"
        );
        let custom = vec![String::from("Describe the environment here")];
        assert_eq!(
            real_content("Describe the environment here.\n", &custom),
            ""
        );
    }

    #[test]
    fn sections_inside_html_comments_are_not_there() {
        let body = "<!--\n## Steps to reproduce\n1. open the app and click login twice\n-->\n## Environment\nlinux\n";
        let s = sections(body);
        let names: Vec<&str> = s.iter().map(|s| s.heading.as_str()).collect();
        assert_eq!(names, ["Environment"]);
        // An unclosed comment hides everything after it, as GitHub renders it.
        let s = sections("## Steps to reproduce\n<!-- 1. open the app\n2. click login\n");
        assert_eq!(real_content(&s[0].content, &[]), "");
        // Line structure is kept: a heading after a comment is still found.
        let s = sections("<!-- a\nb -->\n## Steps\none two");
        assert_eq!(s[0].heading, "Steps");
    }

    #[test]
    fn link_reference_definitions_are_not_content() {
        // Was: a footnote definition's text counted where it was written.
        // GitHub shows it at the end of the description, and only when
        // something refers to it: it is no word of the section.
        let s = sections(
            "## Repro\n[repro]: https://example.com/a-long-reproduction-video\n[^1]: a footnote that renders\n\nseen[^1]\n",
        );
        assert_eq!(real_content(&s[0].content, &[]), "seen");
    }

    #[test]
    fn headings_match_loosely() {
        assert!(heading_matches("Steps to Reproduce:", "steps to reproduce"));
        assert!(heading_matches(
            "🐛 Steps to reproduce (required)",
            "Steps to reproduce"
        ));
        assert!(!heading_matches("Steps", "Steps to reproduce"));
        assert!(!heading_matches("Reproduce", "Steps to reproduce"));
    }

    #[test]
    fn bold_labels_inside_a_heading_stay_its_content() {
        let s = sections("## Environment\n**OS:** linux\n**Version:** 3\n## Next\nx");
        let env = s.iter().find(|s| s.heading == "Environment").unwrap();
        assert!(env.content.contains("linux") && env.content.contains("Version"));
    }

    #[test]
    fn setext_headings_are_sections() {
        let s = sections("Summary\n-------\ntext here\n\nDetails\n-------\nmore\n");
        assert_eq!(s.len(), 2);
        assert_eq!(s[0].heading, "Summary");
        assert_eq!(real_content(&s[0].content, &[]), "text here");
    }

    #[test]
    fn words_are_runs_of_visible_letters() {
        assert_eq!(word_count("open the app"), 3);
        assert_eq!(word_count("Straße über 東京 42"), 4);
        assert_eq!(word_count("\u{3164} \u{115F} \u{1160} \u{FFA0}"), 0);
        assert_eq!(
            word_count("\u{200B} \u{2060} \u{FEFF} \u{00AD} \u{E0041}"),
            0
        );
        assert_eq!(word_count("\u{0345} \u{0301}\u{0301} \u{093F}"), 0);
        assert_eq!(word_count("a\u{200B}b\u{200C}c"), 1, "zero-width joins");
        assert_eq!(word_count("a\u{2800}b\u{3000}c\u{00A0}d"), 4);
        assert_eq!(word_count("— … ## ** 🐛"), 0);
        assert_eq!(word_count("e\u{0301}t\u{0301}e\u{0301}"), 1);
    }

    #[test]
    fn what_github_shows_that_the_line_scanner_missed() {
        // One `-` underlines a heading; a heading's text may span lines.
        let s = sections("Steps to\nreproduce\n-\nopen the app\n");
        assert_eq!(
            (s[0].heading.as_str(), s[0].level),
            ("Steps to reproduce", 2)
        );
        // A bold label may start a list item or a quoted line.
        let s = sections("- **Environment:** linux\n> **Logs:** trace\n");
        let names: Vec<&str> = s.iter().map(|s| s.heading.as_str()).collect();
        assert_eq!(names, ["Environment", "Logs"]);
        // A label shown in code is code: it does not cut the section.
        let s = sections("## Steps\none\n```\n**Logs:** two\n```\n");
        assert_eq!(word_count(cut_at_labels(&s[0], &["Logs"])), 3);
        // An unclosed `<!--` inside a paragraph is text, shown as written;
        // comment syntax in code is shown too.
        let s = sections("## Steps\nsee <!-- the app\n\nmore\n\n```\n<!-- x --> y\n```\n");
        assert_eq!(
            real_content(&s[0].content, &[]),
            "see <!-- the app\nmore\n<!-- x --> y"
        );
    }

    #[test]
    fn headings_show_without_invisible_characters() {
        let s = sections("## Ste\u{200B}ps to re\u{3164}produce\ntext\n");
        assert!(heading_matches(&s[0].heading, "Steps to reproduce"));
        assert!(
            sections("## \u{3164}\n")
                .iter()
                .all(|s| normalize(&s.heading).is_empty())
        );
    }

    /// The text raw HTML shows, with headings as `#`.
    fn text_of(html: &mut Html, raw: &str) -> String {
        html.read(raw)
            .into_iter()
            .map(|shown| match shown {
                Shown::Text(text) => text,
                Shown::Heading(level) => "#".repeat(level.into()) + " ",
                Shown::HeadingEnd => String::from("\n"),
            })
            .collect()
    }

    #[test]
    fn emoji_shortcodes_are_dropped() {
        assert_eq!(without_emoji(":a: x :+1:y:white_check_mark:"), " x y");
        assert_eq!(
            without_emoji("10:30 a: b :: :X: é:"),
            "10:30 a: b :: :X: é:"
        );
        assert_eq!(without_emoji("a:b:c"), "ac");
    }

    #[test]
    fn raw_html_shows_its_text_only() {
        let mut html = Html::default();
        assert_eq!(
            text_of(&mut html, "<H2 id=x>Notes</h2>text"),
            "## Notes\ntext"
        );
        assert_eq!(
            text_of(&mut html, "<p title=\"a > b\">one <b>two</b><!-- x --></p>"),
            "\none two\n"
        );
        assert_eq!(text_of(&mut html, "<SCRIPT>hidden</script >shown"), "shown");
        assert_eq!(text_of(&mut html, "<style>a {}"), "");
        assert!(!html.shows_text());
        assert_eq!(text_of(&mut html, "b</style><br/>c"), "\nc");
        assert_eq!(
            text_of(&mut html, "&#x3164;&#65&amp;&nbsp&bogus;&"),
            "\u{3164}A&\u{A0}&bogus;&"
        );
        assert_eq!(
            text_of(&mut html, "<!-->a<!--->b<?x y?>c<!DOCTYPE html>d"),
            "abcd"
        );
        // `</` and no name starts a bogus comment, up to `>`.
        assert_eq!(text_of(&mut html, "1 < 2 </ 3 > 4 </>5"), "1 < 2  4 5");
        assert_eq!(text_of(&mut html, "<plaintext>x"), "");
        assert_eq!(text_of(&mut html, "</plaintext>x"), "");
    }
}
