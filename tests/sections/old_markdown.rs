//! The description reader of old (line scanning, before issue 21): kept
//! only here, as the oracle `tests/sections.rs` compares the new reader with.
//! Copied unchanged from `src/markdown.rs` as it stood.
#![allow(
    unreachable_pub,
    reason = "the oracle, used from the test crate that includes it"
)]
#![allow(dead_code, reason = "the old reader, kept whole as an oracle")]

/// One section of a Markdown document.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Section {
    /// The heading text as written (without `#`s or `**`).
    pub heading: String,
    /// 1–6 for `#` headings, 7 for a bold label (`**Environment:**`).
    pub level: u8,
    /// Everything under the heading, up to the next heading of the same or a higher level.
    pub content: String,
}

/// Text that template authors leave for the reader to replace.
pub const DEFAULT_PLACEHOLDERS: &[&str] = &[
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

/// Splits a document into sections. Lines inside fenced code blocks are
/// content; HTML comments (to their end, or the document's) are not there at
/// all: GitHub does not render them, so a heading inside one is no heading.
pub fn sections(markdown: &str) -> Vec<Section> {
    let visible = blank_html_comments(markdown);
    let lines: Vec<&str> = visible.lines().collect();
    // (line index, level, heading, inline content after a bold label)
    let mut heads: Vec<(usize, u8, String, String)> = Vec::new();
    let mut fence: Option<&str> = None;
    for (i, line) in lines.iter().enumerate() {
        let trimmed = line.trim_start();
        if let Some(marker) = fence {
            if trimmed.starts_with(marker) {
                fence = None;
            }
            continue;
        }
        if trimmed.starts_with("```") {
            fence = Some("```");
            continue;
        }
        if trimmed.starts_with("~~~") {
            fence = Some("~~~");
            continue;
        }
        if let Some((level, text)) = atx_heading(line) {
            heads.push((i, level, text, String::new()));
        } else if let Some((text, rest)) = bold_label(trimmed) {
            heads.push((i, 7, text, rest));
        } else if i + 1 < lines.len() && !trimmed.is_empty() && line.len() - trimmed.len() < 4 {
            let next = lines[i + 1].trim();
            if !next.is_empty() && next.chars().all(|c| c == '=') {
                heads.push((i, 1, trimmed.trim().to_owned(), String::new()));
            } else if next.len() >= 2
                && next.chars().all(|c| c == '-')
                && !trimmed.starts_with(['-', '*', '+'])
            {
                heads.push((i, 2, trimmed.trim().to_owned(), String::new()));
            }
        }
    }
    let mut out = Vec::new();
    for (n, (start, level, heading, inline)) in heads.iter().enumerate() {
        let end = heads[n + 1..]
            .iter()
            .find(|h| h.1 <= *level || *level == 7)
            .map(|h| h.0)
            .unwrap_or(lines.len());
        let body_start =
            if *level <= 2 && lines.get(start + 1).is_some_and(|l| is_setext_underline(l)) {
                start + 2
            } else {
                start + 1
            };
        let mut content = inline.clone();
        for line in lines.get(body_start.min(end)..end).unwrap_or(&[]) {
            content.push('\n');
            content.push_str(line);
        }
        out.push(Section {
            heading: heading.clone(),
            level: *level,
            content,
        });
    }
    out
}

fn is_setext_underline(line: &str) -> bool {
    let t = line.trim();
    t.len() >= 2 && (t.chars().all(|c| c == '=') || t.chars().all(|c| c == '-'))
}

fn atx_heading(line: &str) -> Option<(u8, String)> {
    let trimmed = line.trim_start();
    if line.len() - trimmed.len() > 3 {
        return None;
    }
    let hashes = trimmed.chars().take_while(|&c| c == '#').count();
    if !(1..=6).contains(&hashes) {
        return None;
    }
    let rest = &trimmed[hashes..];
    if !rest.is_empty() && !rest.starts_with([' ', '\t']) {
        return None;
    }
    let text = rest.trim().trim_end_matches('#').trim();
    Some((hashes as u8, text.to_owned()))
}

/// `**Label:** rest` or `__Label__` at the start of a line.
fn bold_label(line: &str) -> Option<(String, String)> {
    let marker = if line.starts_with("**") {
        "**"
    } else if line.starts_with("__") {
        "__"
    } else {
        return None;
    };
    let inner = &line[2..];
    let end = inner.find(marker)?;
    let label = inner[..end].trim();
    if label.is_empty() {
        return None;
    }
    let rest = inner[end + 2..].trim_start_matches(':').trim();
    Some((
        label.trim_end_matches(':').trim().to_owned(),
        rest.to_owned(),
    ))
}

/// A heading reduced for comparison: lower case, letters and digits, single spaces.
pub fn normalize(text: &str) -> String {
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

/// The real content of a section: without HTML comments, empty lines,
/// unchecked template checkboxes and placeholder text.
pub fn real_content(content: &str, placeholders: &[String]) -> String {
    let without_comments = strip_html_comments(content);
    let mut out = String::new();
    for line in without_comments.lines() {
        let t = strip_marker(line.trim());
        if t.is_empty() || t.starts_with("[ ]") || is_link_reference_definition(t) {
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

/// Drops a list or quote marker (`- `, `* `, `+ `, `> `, `1. `) from a line.
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
        && let Some(rest) = line[digits..].strip_prefix(". ")
    {
        return rest.trim();
    }
    line
}

/// The content up to the first bold label naming another section: in
/// `## Environment` followed by `**Logs:** …`, the logs are not the environment.
pub fn cut_at_labels<'a>(content: &'a str, others: &[&str]) -> &'a str {
    let mut offset = 0;
    for line in content.split_inclusive('\n') {
        if let Some((label, _)) = bold_label(line.trim_start())
            && offset > 0
            && others.iter().any(|o| heading_matches(&label, o))
        {
            return &content[..offset];
        }
        offset += line.len();
    }
    content
}

pub fn word_count(text: &str) -> usize {
    text.split_whitespace()
        .filter(|w| w.chars().any(char::is_alphanumeric))
        .count()
}

/// The text with every HTML comment replaced by the line breaks it held,
/// so line numbers stay put. An unclosed comment runs to the end, as in
/// CommonMark.
fn blank_html_comments(text: &str) -> std::borrow::Cow<'_, str> {
    if !text.contains("<!--") {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("<!--") {
        out.push_str(&rest[..start]);
        let (comment, after) = match rest[start..].find("-->") {
            Some(end) => rest[start..].split_at(end + 3),
            None => (&rest[start..], ""),
        };
        out.extend(comment.chars().filter(|&c| c == '\n'));
        rest = after;
    }
    out.push_str(rest);
    std::borrow::Cow::Owned(out)
}

/// `[label]: destination` — a link reference definition, which renders as
/// nothing (footnotes, `[^1]: text`, do render).
fn is_link_reference_definition(line: &str) -> bool {
    let Some(rest) = line.strip_prefix('[') else {
        return false;
    };
    if rest.starts_with('^') {
        return false;
    }
    match rest.split_once("]:") {
        Some((label, destination)) => {
            !label.trim().is_empty()
                && !label.contains(['[', ']'])
                && !destination.trim().is_empty()
        }
        None => false,
    }
}

fn strip_html_comments(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("<!--") {
        out.push_str(&rest[..start]);
        match rest[start..].find("-->") {
            Some(end) => rest = &rest[start + end + 3..],
            None => {
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}
