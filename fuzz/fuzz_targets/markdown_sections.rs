//! Markdown section extraction: any text splits into sections without
//! panicking, each heading and body a piece of the input; the pack's
//! section rules judge it as a pull request description and a release page.
#![no_main]

use std::sync::LazyLock;

use git_policy::engine::evaluate;
use git_policy::facts::{PullRequest, Release, ReleasePage, Subject};
use git_policy::markdown;
use git_policy::policy::{Policy, PolicySource, load};
use libfuzzer_sys::fuzz_target;

static PACK: LazyLock<Policy> =
    LazyLock::new(|| load(vec![PolicySource::builtin()]).expect("the built-in pack loads"));

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    for section in markdown::sections(text) {
        let words = markdown::word_count(&section.content);
        let real = markdown::real_content(&section.content, &[String::from("TBD")]);
        assert!(markdown::word_count(&real) <= words.max(markdown::word_count(&real)));
        let _ = markdown::heading_matches(&section.heading, "Steps to reproduce");
    }
    let pr = PullRequest {
        title: String::from("EPL-1 Fix the login"),
        body: text.to_owned(),
        labels: vec![String::from("bug")],
        base: String::from("main"),
        head: String::from("feature/EPL-1-login"),
        ..PullRequest::default()
    };
    let _ = evaluate(&PACK, Subject::PullRequest(&pr));
    let release = Release {
        version: Some(String::from("1.0.0")),
        page: Some(ReleasePage {
            path: String::from("docs/releases/1.0.0.md"),
            text: text.to_owned(),
        }),
        ..Release::default()
    };
    let _ = evaluate(&PACK, Subject::Release(&release));
});
