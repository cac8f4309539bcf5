//! GitHub Actions event payloads: any text is parsed into a pull request to
//! check, a merge group, or an error, never a panic.
#![no_main]

use git_policy::sources::event::{Event, parse};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    for name in [
        None,
        Some("pull_request"),
        Some("pull_request_target"),
        Some("merge_group"),
        Some("push"),
    ] {
        match parse(text, name) {
            Ok(Event::PullRequest { repo, number }) => {
                assert!(number > 0, "pull request number 0 accepted");
                assert!(repo.contains('/'), "repository `{repo}` is not owner/name");
            }
            Ok(Event::MergeGroup) => {}
            Err(fatal) => assert!(!fatal.message.is_empty()),
        }
    }
});
