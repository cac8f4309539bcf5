//! The commit-msg hook's input: the message file git hands over.

use std::path::Path;

use super::Fatal;

/// How git marks comment lines in the message file (the first of
/// [`comment_prefixes`]).
#[cfg(test)]
fn comment_prefix(configured: Option<&str>, raw: &str) -> String {
    comment_prefixes(configured, raw)
        .into_iter()
        .next()
        .unwrap_or_else(|| String::from("#"))
}

/// git's candidates for `core.commentChar=auto`, in its order
/// (builtin/commit.c, `adjust_comment_line_char`).
pub(crate) const AUTO_CANDIDATES: [char; 10] = ['#', ';', '@', '!', '$', '%', '^', '&', '|', ':'];

/// Every prefix that may mark comment lines in the message file. One,
/// except with `core.commentChar=auto`: git chose a character for the
/// message before it was edited, and the hook sees only the edited file.
/// A character qualifies when git's help text in the file starts with it
/// and git's own choice for the file without its lines is that character;
/// a line made to look like git's help text can then only add a
/// character, whose lines are dropped too (the hook judges less text than
/// git stores, never more).
pub(crate) fn comment_prefixes(configured: Option<&str>, raw: &str) -> Vec<String> {
    match configured {
        Some("auto") => {
            let qualified: Vec<String> = AUTO_CANDIDATES
                .iter()
                .filter(|c| {
                    let help = format!("{c} Please enter the commit message");
                    let scissors = format!("{c} ------------------------ >8");
                    raw.lines()
                        .any(|l| l.starts_with(&help) || l.starts_with(&scissors))
                        && git_auto_comment_char(&without_lines_starting(raw, **c)) == Some(**c)
                })
                .map(char::to_string)
                .collect();
            if qualified.is_empty() {
                // No help text (`git commit -m`): git chose for this very message.
                vec![git_auto_comment_char(raw).unwrap_or('#').to_string()]
            } else {
                qualified
            }
        }
        Some(c) if !c.is_empty() => vec![c.to_owned()],
        _ => vec![String::from("#")],
    }
}

/// The comment character git picks for `message` with
/// `core.commentChar=auto`: `#` when the message holds none; else the first
/// candidate that starts no line (a line starts after `\n` or `\r`).
/// `None` when every candidate is used (git refuses to commit).
pub(crate) fn git_auto_comment_char(message: &str) -> Option<char> {
    if !message.contains('#') {
        return Some('#');
    }
    let mut used = Vec::new();
    let mut at_start = true;
    for c in message.chars() {
        if at_start {
            used.push(c);
        }
        at_start = c == '\n' || c == '\r';
    }
    AUTO_CANDIDATES.into_iter().find(|c| !used.contains(c))
}

fn without_lines_starting(raw: &str, c: char) -> String {
    raw.split_inclusive('\n')
        .filter(|l| !l.starts_with(c))
        .collect()
}

/// The message as git will store it: comment lines and everything below the
/// scissors line dropped, trailing spaces and surplus blank lines removed.
pub fn clean_message(raw: &str, comment: &str) -> String {
    clean_message_any(raw, &[comment.to_owned()])
}

/// [`clean_message`] with lines starting with any of `comments` dropped.
pub(crate) fn clean_message_any(raw: &str, comments: &[String]) -> String {
    let scissors: Vec<String> = comments
        .iter()
        .map(|c| format!("{c} ------------------------ >8 ------------------------"))
        .collect();
    let mut lines: Vec<&str> = Vec::new();
    for line in raw.lines() {
        if scissors.iter().any(|s| line.starts_with(s.as_str())) {
            break;
        }
        if comments.iter().any(|c| line.starts_with(c.as_str())) {
            continue;
        }
        // Trailing whitespace as git's stripspace sees it (its `isspace`:
        // not \v, \f or Unicode spaces, which git keeps).
        let line = line.trim_end_matches([' ', '\t', '\r', '\n']);
        if line.is_empty() && lines.last().is_none_or(|l| l.is_empty()) {
            continue;
        }
        lines.push(line);
    }
    while lines.last().is_some_and(|l| l.is_empty()) {
        lines.pop();
    }
    lines.join("\n")
}

/// Reads the message file: it must exist, be UTF-8 and hold a message.
pub(crate) fn read_message_file(path: &Path) -> Result<String, Fatal> {
    let bytes = std::fs::read(path).map_err(|e| {
        Fatal::new(format!("cannot read commit message file `{}`: {e}", path.display()))
            .help("git passes the file as the hook's first argument: `git-policy check commit-msg \"$1\"`")
    })?;
    String::from_utf8(bytes).map_err(|e| {
        Fatal::new(format!(
            "commit message file `{}` is not valid UTF-8 (invalid byte at offset {})",
            path.display(),
            e.utf8_error().valid_up_to()
        ))
        .help("write the message in UTF-8 (git config i18n.commitEncoding utf-8)")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strips_comments_and_scissors() {
        let raw = "EPL-1 fix login  \n\n\n# Please enter the commit message\nbody\n# ------------------------ >8 ------------------------\ndiff --git a b\n";
        assert_eq!(clean_message(raw, "#"), "EPL-1 fix login\n\nbody");
    }

    #[test]
    fn honours_a_custom_comment_char() {
        let raw = "#123 is not a comment here\n; comment\n";
        assert_eq!(clean_message(raw, ";"), "#123 is not a comment here");
    }

    #[test]
    fn auto_comment_char_is_gits_choice() {
        assert_eq!(git_auto_comment_char("fix"), Some('#'));
        assert_eq!(git_auto_comment_char("fix #12"), Some('#'));
        assert_eq!(git_auto_comment_char("#12 fix"), Some(';'));
        assert_eq!(git_auto_comment_char("#1\n;2\r@3"), Some('!'));
        assert_eq!(git_auto_comment_char("#\n;\n@\n!\n$\n%\n^\n&\n|\n:"), None);
    }

    #[test]
    fn a_decoy_help_line_does_not_choose_the_comment_char() {
        // git chose `#` (the message had none); the author wrote a decoy
        // `;` help line and hid the ticket on a `#` line git drops.
        let raw = "Fix login\n; Please enter the commit message\n#EPL-1\n# Please enter the commit message for your changes. Lines starting\n# with '#' will be ignored.\n";
        let prefixes = comment_prefixes(Some("auto"), raw);
        assert_eq!(prefixes[0], "#");
        let message = clean_message_any(raw, &prefixes);
        assert!(!message.contains("EPL-1"), "{message}");
    }

    #[test]
    fn auto_comment_char_is_read_from_gits_help_text() {
        let raw = "#12 fix\n; Please enter the commit message for your changes.\n";
        assert_eq!(comment_prefix(Some("auto"), raw), ";");
        assert_eq!(comment_prefix(None, raw), "#");
        assert_eq!(comment_prefix(Some("%"), raw), "%");
    }
}
