//! Inert output: text that the GitHub Actions runner cannot read as a
//! workflow command and a terminal cannot read as an escape sequence, with
//! secrets redacted. The last line of defence behind every renderer
//! (`commands::out` / `commands::err` pass every line through [`Inert::line`]).
//!
//! The runner reads stdout and stderr line by line (`\n`, `\r` and `\r\n`
//! end a line). A line is a command when, trimmed of whitespace, it starts
//! with `::` (`::add-mask::x`, `::stop-commands::tok`), or when it holds
//! `##[` anywhere (the legacy form, `##[set-output name=x;]y`).

use std::borrow::Cow;

/// How the text is written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Plain text (human, markdown, stderr of every format).
    Text,
    /// Pretty JSON (json, sarif on stdout): escapes stay valid inside strings.
    Json,
    /// `--format github` on stdout: git-policy's own annotations pass.
    Github,
}

/// Redaction and neutralization settings for one run.
#[derive(Clone, Debug, Default)]
pub struct Inert {
    /// Secret values (tokens) never to show.
    pub(crate) secrets: Vec<String>,
    /// Whether git-policy's own SGR colour sequences may pass.
    pub(crate) color: bool,
}

/// What replaces a secret.
pub(crate) const REDACTED: &str = "***";

/// Breaks `::` and `##[` without changing what a reader sees.
const ZERO_WIDTH_SPACE: char = '\u{200B}';

impl Inert {
    /// One line of output (without its `\n`), made inert.
    pub(crate) fn line<'a>(&self, line: &'a str, mode: Mode) -> Cow<'a, str> {
        let mut text = self.redact(line);
        if text.chars().any(needs_escape) {
            text = Cow::Owned(escape_controls(&text, mode, self.color));
        }
        if trim_start(&text).starts_with("::")
            && !(mode == Mode::Github && is_own_annotation(&text))
        {
            let start = text.len() - trim_start(&text).len();
            let mut owned = text.into_owned();
            owned.insert(start + 1, ZERO_WIDTH_SPACE);
            text = Cow::Owned(owned);
        }
        if text.contains("##[") {
            let replacement = match mode {
                // Only ever inside a string in JSON: `\u0023` is `#`, losslessly.
                Mode::Json => "#\\u0023[",
                Mode::Text | Mode::Github => "#\u{200B}#[",
            };
            text = Cow::Owned(text.replace("##[", replacement));
        }
        text
    }

    /// Every line of `text`, made inert; `\r` ends a line as for the runner.
    pub fn text<'a>(&self, text: &'a str, mode: Mode) -> Cow<'a, str> {
        let mut out = String::new();
        let mut changed = false;
        for piece in text.split_inclusive('\n') {
            let (body, newline) = match piece.strip_suffix('\n') {
                Some(body) => (body, "\n"),
                None => (piece, ""),
            };
            let inert = self.line(body, mode);
            changed |= matches!(inert, Cow::Owned(_));
            out.push_str(&inert);
            out.push_str(newline);
        }
        if changed {
            Cow::Owned(out)
        } else {
            Cow::Borrowed(text)
        }
    }

    /// Secret values and URL userinfo (`https://user:pass@host`) replaced by `***`.
    pub(crate) fn redact<'a>(&self, text: &'a str) -> Cow<'a, str> {
        let mut text = Cow::Borrowed(text);
        for secret in &self.secrets {
            // Short values would redact ordinary words.
            if secret.len() >= 8 && text.contains(secret.as_str()) {
                text = Cow::Owned(text.replace(secret.as_str(), REDACTED));
            }
        }
        if text.contains("://") || has_token_shape(&text) {
            let redacted = redact_patterns(&text);
            if redacted != text {
                text = Cow::Owned(redacted);
            }
        }
        text
    }
}

/// Untrusted text fit for one line of a report: control characters,
/// terminal escapes and bidirectional overrides shown as `\u{..}`, line
/// breaks as `\n` / `\r`.
pub(crate) fn one_line(text: &str) -> Cow<'_, str> {
    if text.chars().any(|c| needs_escape(c) || c == '\n') {
        Cow::Owned(
            text.chars()
                .map(|c| match c {
                    '\n' => String::from("\\n"),
                    c if needs_escape(c) => visible(c),
                    c => c.to_string(),
                })
                .collect(),
        )
    } else {
        Cow::Borrowed(text)
    }
}

/// Untrusted text that may span lines: as [`one_line`], but `\n` kept.
pub(crate) fn multi_line(text: &str) -> Cow<'_, str> {
    if text.chars().any(needs_escape) {
        Cow::Owned(
            text.chars()
                .map(|c| {
                    if needs_escape(c) {
                        visible(c)
                    } else {
                        c.to_string()
                    }
                })
                .collect(),
        )
    } else {
        Cow::Borrowed(text)
    }
}

/// Untrusted text inside a comment GitHub renders as Markdown (the pull
/// request comment), on one line, shown as written but inert: no HTML (so no
/// forged hidden marker), no link, image, emphasis or code span (Markdown
/// punctuation backslash-escaped), no table cell break, no `@mention` or
/// `#123` reference (a zero-width space after `@` and `#`), no autolink
/// (`://` and `www.` broken the same way), control characters visible.
pub(crate) fn comment_text(text: &str) -> String {
    let line = one_line(text);
    let chars: Vec<char> = line.chars().collect();
    let broken = reference_breaks(&chars);
    let mut out = String::with_capacity(line.len() + 16);
    for (i, &c) in chars.iter().enumerate() {
        if broken.get(i).copied().unwrap_or(false) {
            out.push(ZERO_WIDTH_SPACE);
        }
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '@' | '#' => {
                out.push(c);
                out.push(ZERO_WIDTH_SPACE);
            }
            ':' if chars.get(i + 1) == Some(&'/') => {
                out.push(c);
                out.push(ZERO_WIDTH_SPACE);
            }
            '.' if i >= 3 && chars[i - 3..i].iter().all(|w| w.eq_ignore_ascii_case(&'w')) => {
                out.push(ZERO_WIDTH_SPACE);
                out.push(c);
            }
            '\\' | '`' | '*' | '_' | '[' | ']' | '(' | ')' | '!' | '|' | '~' | '{' | '}' | '$' => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out
}

/// Where a zero-width space goes before a character so that GitHub links
/// no reference: inside `GH-123` (an issue), and every six characters of a
/// run of seven or more hex digits (a commit id GitHub would link).
fn reference_breaks(chars: &[char]) -> Vec<bool> {
    let mut breaks = vec![false; chars.len()];
    let word = |i: usize| {
        chars
            .get(i)
            .is_some_and(|c| c.is_alphanumeric() || *c == '_')
    };
    let mut i = 0;
    while i < chars.len() {
        if !word(i) {
            i += 1;
            continue;
        }
        let start = i;
        while word(i) {
            i += 1;
        }
        let run = &chars[start..i];
        if run.len() >= 7 && run.iter().all(char::is_ascii_hexdigit) {
            for at in (start + 6..i).step_by(6) {
                breaks[at] = true;
            }
        }
        // `GH-` then a digit, at the start of a word.
        if run.len() == 2
            && run.iter().map(char::to_ascii_uppercase).eq(['G', 'H'])
            && chars.get(i) == Some(&'-')
            && chars.get(i + 1).is_some_and(char::is_ascii_digit)
        {
            breaks[i] = true;
        }
    }
    breaks
}

/// Untrusted text as a Markdown code span in a GitHub comment: fenced by one
/// more backtick than its longest run of them, so it cannot end the span;
/// on one line, control characters visible. Inside a code span GitHub
/// renders no HTML, link or mention.
pub(crate) fn comment_code(text: &str) -> String {
    let line = one_line(text);
    let mut longest = 0;
    let mut run = 0;
    for c in line.chars() {
        run = if c == '`' { run + 1 } else { 0 };
        longest = longest.max(run);
    }
    let fence = "`".repeat(longest + 1);
    // One space on each side is stripped by Markdown: a leading or trailing
    // backtick (or space) then cannot touch the fence.
    if line.starts_with(['`', ' ']) || line.ends_with(['`', ' ']) {
        format!("{fence} {line} {fence}")
    } else {
        format!("{fence}{line}{fence}")
    }
}

/// A message in a GitHub comment, its `quoted` parts (section names,
/// labels, patterns, file names) as code spans and the rest as
/// [`comment_text`]. Every part is inert either way: text that brings its
/// own backticks can only move where a code span starts or ends. With an
/// odd number of backticks the whole message is plain text.
pub(crate) fn comment_rich(text: &str) -> String {
    let parts: Vec<&str> = text.split('`').collect();
    if parts.len().is_multiple_of(2) {
        return comment_text(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    for (i, part) in parts.iter().enumerate() {
        if i % 2 == 0 {
            out.push_str(&comment_text(part));
        } else if part.is_empty() {
            out.push_str(r"\`\`");
        } else {
            out.push_str(&comment_code(part));
        }
    }
    out
}

/// Text whose byte offsets must not move (a policy file under a miette
/// snippet): each control character, escape or bidirectional override
/// becomes as many `?` as it has bytes.
pub(crate) fn same_length(text: &str) -> Cow<'_, str> {
    if has_escapes(text) {
        Cow::Owned(
            text.chars()
                .map(|c| {
                    if needs_escape(c) && c != '\r' {
                        "?".repeat(c.len_utf8())
                    } else {
                        c.to_string()
                    }
                })
                .collect(),
        )
    } else {
        Cow::Borrowed(text)
    }
}

/// Whether `text` holds a character [`same_length`] replaces. A policy is
/// mostly ASCII: bytes are checked one at a time and only the others are
/// decoded, several times cheaper than decoding every character.
fn has_escapes(text: &str) -> bool {
    let bytes = text.as_bytes();
    let mut at = 0;
    while let Some(&b) = bytes.get(at) {
        if b.is_ascii() {
            if !matches!(b, b' '..=b'~' | b'\t' | b'\n' | b'\r') {
                return true;
            }
            at += 1;
        } else {
            // `at` is on a character boundary: only whole characters are skipped.
            let Some(c) = text.get(at..).and_then(|rest| rest.chars().next()) else {
                return true;
            };
            if needs_escape(c) {
                return true;
            }
            at += c.len_utf8();
        }
    }
    false
}

/// Whether the runner would read `line` as a workflow command (what the
/// tests assert no output line is).
#[cfg(test)]
fn is_command(line: &str) -> bool {
    trim_start(line).starts_with("::") || line.contains("##[")
}

/// `::error title=git-policy…`, `::warning …`, `::notice …`: what
/// `report::github::annotation` writes (its title and data are escaped).
pub(crate) fn is_own_annotation(line: &str) -> bool {
    ["::error ", "::warning ", "::notice "].iter().any(|start| {
        line.strip_prefix(start)
            .is_some_and(|rest| rest.starts_with("title=git-policy"))
    })
}

/// Whitespace as .NET's `Trim` sees it, and, to be safe, the invisible
/// format characters some Unicode versions counted as spaces.
fn trim_start(line: &str) -> &str {
    line.trim_start_matches(|c: char| {
        c.is_whitespace()
            || matches!(
                c,
                '\u{180e}' | '\u{200b}'..='\u{200d}' | '\u{2060}' | '\u{feff}'
            )
    })
}

/// C0 and C1 controls (but tab), DEL, and bidirectional overrides.
fn needs_escape(c: char) -> bool {
    (c.is_control() && c != '\t' && c != '\n')
        || matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

fn visible(c: char) -> String {
    match c {
        '\r' => String::from("\\r"),
        c => format!("\\u{{{:x}}}", c as u32),
    }
}

fn escape_controls(line: &str, mode: Mode, color: bool) -> String {
    let mut out = String::with_capacity(line.len() + 8);
    let mut rest = line;
    while let Some(c) = rest.chars().next() {
        if c == '\x1b' && color && mode != Mode::Json {
            let sgr = sgr_length(rest);
            if let (true, Some(sequence), Some(after)) = (sgr > 0, rest.get(..sgr), rest.get(sgr..))
            {
                out.push_str(sequence);
                rest = after;
                continue;
            }
        }
        if needs_escape(c) {
            match mode {
                // Inside a JSON string (the only place serde_json leaves one).
                Mode::Json => out.push_str(&format!("\\u{:04x}", c as u32)),
                Mode::Text | Mode::Github => out.push_str(&visible(c)),
            }
        } else {
            out.push(c);
        }
        rest = rest.get(c.len_utf8()..).unwrap_or_default();
    }
    out
}

/// Length of a colour sequence (`ESC [ digits;… m`) at the start, or 0.
fn sgr_length(text: &str) -> usize {
    let Some(params) = text.strip_prefix("\x1b[") else {
        return 0;
    };
    let digits = params
        .bytes()
        .take_while(|b| b.is_ascii_digit() || *b == b';')
        .count();
    if params.as_bytes().get(digits) == Some(&b'm') {
        2 + digits + 1
    } else {
        0
    }
}

/// Whether `text` holds a GitHub token's prefix. The `gh?_` prefixes are
/// found by one scan for `gh` rather than one scan each (each line of a
/// 30,000-finding report passes here).
fn has_token_shape(text: &str) -> bool {
    text.match_indices("gh").any(|(at, _)| {
        let rest = &text.as_bytes()[at..];
        ["ghp_", "gho_", "ghu_", "ghs_", "ghr_"]
            .iter()
            .any(|p| rest.starts_with(p.as_bytes()))
    }) || text.contains("github_pat_")
}

fn redact_patterns(text: &str) -> String {
    use std::sync::OnceLock;
    static USERINFO: OnceLock<regex::Regex> = OnceLock::new();
    static TOKEN: OnceLock<regex::Regex> = OnceLock::new();
    let userinfo = USERINFO.get_or_init(|| {
        regex::Regex::new(r"(?i)\b([a-z][a-z0-9+.\-]*://)[^/?#@\s]+@").expect("valid regex")
    });
    let token = TOKEN.get_or_init(|| {
        regex::Regex::new(r"\b(?:gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,})")
            .expect("valid regex")
    });
    let text = userinfo.replace_all(text, format!("${{1}}{REDACTED}@"));
    token.replace_all(&text, REDACTED).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_shapes_are_found_wherever_they_are() {
        for prefix in ["ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_"] {
            for text in [
                format!("{prefix}x"),
                format!("a gh gh_ {prefix}"),
                format!("ghgh{prefix}1"),
            ] {
                assert!(has_token_shape(&text), "{text}");
            }
        }
        for text in ["", "g", "gh", "ghx_ ghp ghithub_pat", "github_pa_", "GHP_x"] {
            assert!(!has_token_shape(text), "{text}");
        }
    }

    #[test]
    fn same_length_keeps_offsets_and_borrows_plain_text() {
        let plain = "version: 1\r\n\trules: [] # ok ~\n";
        assert!(matches!(same_length(plain), Cow::Borrowed(t) if t == plain));
        let hostile = "a\x1b[31mb\x7f c\u{85}d\u{202e}e\r\né";
        let out = same_length(hostile);
        assert_eq!(out.len(), hostile.len());
        assert_eq!(out, "a?[31mb? c??d???e\r\né");
        // Non-ASCII without anything to replace is borrowed too.
        assert!(matches!(same_length("naïve: ✓\n"), Cow::Borrowed(_)));
        // The byte scan decides as decoding every character would.
        for c in (0..0x3000)
            .chain(0xFFF0..0x1_0010)
            .filter_map(char::from_u32)
        {
            let text = format!("ok é {c} ✓");
            let decoded = text.chars().any(|c| needs_escape(c) && c != '\r');
            assert_eq!(has_escapes(&text), decoded, "U+{:04X}", c as u32);
        }
    }

    fn inert() -> Inert {
        Inert {
            secrets: vec![String::from("s3cr3t-value-42")],
            color: false,
        }
    }

    #[test]
    fn ordinary_text_is_unchanged() {
        let text = "error: the policy is invalid: 1 problem in .git-policy.yml\n  help: x: y\n";
        assert!(matches!(inert().text(text, Mode::Text), Cow::Borrowed(_)));
    }

    #[test]
    fn commands_are_broken_in_every_mode() {
        for mode in [Mode::Text, Mode::Json, Mode::Github] {
            for line in [
                "::set-output name=passed::true",
                "  \u{a0}::add-mask::x",
                "::stop-commands::tok",
                "\u{feff}\u{200b}::add-mask::y",
                "::error title=evil::x",
                "x ##[set-output name=passed;]true",
            ] {
                let out = inert().line(line, mode);
                assert!(!is_command(&out), "{mode:?} {line:?} → {out:?}");
            }
        }
    }

    #[test]
    fn own_annotations_pass_only_in_github_mode() {
        let line = "::error title=git-policy%3A rule::message";
        assert_eq!(inert().line(line, Mode::Github), line);
        assert!(!is_command(&inert().line(line, Mode::Text)));
    }

    #[test]
    fn json_escapes_stay_json() {
        let line = r###"    "message": "x ##[stop-commands] \u0085""###;
        let out = inert().line(line, Mode::Json);
        let value: serde_json::Value = serde_json::from_str(&format!("{{{out}}}")).unwrap();
        assert_eq!(value["message"], "x ##[stop-commands] \u{85}");
        assert!(!is_command(&out));
        let c1 = inert().line("\"a\u{9b}b\"", Mode::Json);
        assert_eq!(c1, "\"a\\u009bb\"");
    }

    #[test]
    fn carriage_returns_and_escapes_become_visible() {
        assert_eq!(
            inert().line("a\r::add-mask::x", Mode::Text),
            "a\\r::add-mask::x"
        );
        assert_eq!(
            inert().line("\x1b]8;;http://x\x07link", Mode::Text),
            "\\u{1b}]8;;http://x\\u{7}link"
        );
        let colored = Inert {
            color: true,
            ..inert()
        };
        assert_eq!(
            colored.line("\x1b[1;31merror\x1b[0m \x1b[2J", Mode::Text),
            "\x1b[1;31merror\x1b[0m \\u{1b}[2J"
        );
    }

    #[test]
    fn secrets_and_userinfo_are_redacted() {
        let i = inert();
        assert_eq!(i.redact("token s3cr3t-value-42!"), "token ***!");
        assert_eq!(
            i.redact("check GITHUB_API_URL (https://user:pw@ghe.example.com/api/v3)"),
            "check GITHUB_API_URL (https://***@ghe.example.com/api/v3)"
        );
        assert_eq!(
            i.redact("Bad credentials ghp_0123456789abcdefghijABCDEFGHIJ"),
            "Bad credentials ***"
        );
        assert_eq!(
            i.redact("mail ada@example.com at https://x.org/a?b=c@d"),
            "mail ada@example.com at https://x.org/a?b=c@d"
        );
    }

    fn pieces() -> impl proptest::strategy::Strategy<Value = String> {
        use proptest::prelude::*;
        let piece = prop_oneof![
            Just(":"),
            Just("::"),
            Just("#"),
            Just("##["),
            Just("["),
            Just("\r"),
            Just("\n"),
            Just(" "),
            Just("\t"),
            Just("\u{a0}"),
            Just("\u{85}"),
            Just("\u{feff}"),
            Just("\u{200b}"),
            Just("\x1b"),
            Just("\x1b[31m"),
            Just("error title=git-policy"),
            Just("add-mask"),
            Just("\\"),
            Just("\""),
            Just("x"),
        ];
        proptest::collection::vec(piece, 0..24).prop_map(|p| p.concat())
    }

    proptest::proptest! {
        /// Whatever the text, no line of the output is a runner command
        /// (but git-policy's own annotations in github mode) and no raw
        /// control character but `\n` and `\t` is left.
        #[test]
        fn no_text_survives_as_a_command(text in pieces(), color in proptest::bool::ANY) {
            let inert = Inert { secrets: Vec::new(), color };
            for mode in [Mode::Text, Mode::Github] {
                let out = inert.text(&text, mode);
                for line in out.split('\n') {
                    proptest::prop_assert!(
                        !is_command(line) || (mode == Mode::Github && is_own_annotation(line)),
                        "{:?} → {:?}", text, line
                    );
                    if !color {
                        proptest::prop_assert!(!line.chars().any(needs_escape), "{:?}", line);
                    }
                }
            }
        }

        /// JSON stays JSON, with the same value, and inert.
        #[test]
        fn json_strings_keep_their_value(text in pieces()) {
            let document = serde_json::to_string_pretty(&serde_json::json!({ "message": text })).unwrap();
            let out = inert().text(&document, Mode::Json);
            let value: serde_json::Value = serde_json::from_str(&out).unwrap();
            proptest::prop_assert_eq!(value["message"].as_str(), Some(text.as_str()));
            for line in out.split('\n') {
                proptest::prop_assert!(!is_command(line), "{:?}", line);
                proptest::prop_assert!(!line.chars().any(needs_escape), "{:?}", line);
            }
        }
    }

    #[test]
    fn one_line_shows_breaks() {
        assert_eq!(one_line("a\n::x\r\x1b[31m"), "a\\n::x\\r\\u{1b}[31m");
        assert_eq!(multi_line("a\nb\u{202e}"), "a\nb\\u{202e}");
    }
}
