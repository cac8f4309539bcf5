//! The commit-msg hook's input: the message file git hands over.

use std::path::Path;

use super::Fatal;

/// How git marks comment lines in the message file.
pub fn comment_prefix(configured: Option<&str>, raw: &str) -> String {
    match configured {
        Some("auto") => {
            // git picked a character not used in the message; its own help text shows which.
            raw.lines()
                .find_map(|l| {
                    let mut chars = l.chars();
                    let c = chars.next()?;
                    let rest = chars.as_str();
                    (rest.starts_with(" Please enter the commit message")
                        || rest.starts_with(" ------------------------ >8"))
                    .then(|| c.to_string())
                })
                .unwrap_or_else(|| String::from("#"))
        }
        Some(c) if !c.is_empty() => c.to_owned(),
        _ => String::from("#"),
    }
}

/// The message as git will store it: comment lines and everything below the
/// scissors line dropped, trailing spaces and surplus blank lines removed.
pub fn clean_message(raw: &str, comment: &str) -> String {
    let scissors = format!("{comment} ------------------------ >8 ------------------------");
    let mut lines: Vec<&str> = Vec::new();
    for line in raw.lines() {
        if line.starts_with(&scissors) {
            break;
        }
        if line.starts_with(comment) {
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
pub fn read_message_file(path: &Path) -> Result<String, Fatal> {
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
    fn auto_comment_char_is_read_from_gits_help_text() {
        let raw = "fix\n; Please enter the commit message for your changes.\n";
        assert_eq!(comment_prefix(Some("auto"), raw), ";");
        assert_eq!(comment_prefix(None, raw), "#");
        assert_eq!(comment_prefix(Some("%"), raw), "%");
    }
}
