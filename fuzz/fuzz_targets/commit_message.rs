//! Commit messages: a commit-msg hook's file (comment character, comments,
//! scissors) cleaned and judged by the built-in pack, and the same bytes read
//! as a raw git commit object by the history walker's decoder.
#![no_main]

use std::sync::LazyLock;

use git_policy::engine::evaluate;
use git_policy::facts::{Commit, Subject};
use git_policy::policy::{Policy, PolicySource, load};
use git_policy::sources::history::decode_raw_commit;
use git_policy::sources::hook::{clean_message, comment_prefix};
use libfuzzer_sys::fuzz_target;

static PACK: LazyLock<Policy> =
    LazyLock::new(|| load(vec![PolicySource::builtin()]).expect("the built-in pack loads"));

fuzz_target!(|data: &[u8]| {
    if let Some((commit, parents, _time)) = decode_raw_commit(data) {
        assert!(commit.parents as usize >= parents.len());
        let _ = evaluate(&PACK, Subject::Commit(&commit));
    }
    let Ok(raw) = std::str::from_utf8(data) else {
        return;
    };
    for setting in [None, Some("auto"), Some(";")] {
        let comment = comment_prefix(setting, raw);
        let message = clean_message(raw, &comment);
        assert!(
            !message.ends_with('\n'),
            "a cleaned message has no trailing newline"
        );
        assert!(
            message.lines().all(|l| !l.starts_with(comment.as_str())),
            "a comment line survived cleaning"
        );
        let commit = Commit {
            message,
            branch: Some(String::from("feature/EPL-1-login")),
            ..Commit::default()
        };
        let _ = evaluate(&PACK, Subject::Commit(&commit));
    }
});
