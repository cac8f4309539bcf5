//! Policy loading and validation: any text either loads, or fails with
//! errors whose locations lie inside the text and render without panicking.
//! A policy that loads is evaluated against a commit, a branch and a pull
//! request, so its patterns, globs and predicates run too.
#![no_main]

use git_policy::engine::evaluate;
use git_policy::facts::{Branch, ChangedPath, Commit, PullRequest, Subject};
use git_policy::policy::{PolicySource, load};
use git_policy::report::render_policy_errors;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match load(vec![PolicySource::new("fuzz.yml", text)]) {
        Ok(policy) => {
            let commit = Commit {
                message: String::from("EPL-1 Fix the login\n\nBody KAFKA-2"),
                author_name: Some(String::from("Ada")),
                author_email: Some(String::from("ada@example.com")),
                parents: 1,
                branch: Some(String::from("feature/EPL-1-login")),
                changed: Some(vec![ChangedPath::new("src/login.rs")]),
                ..Commit::default()
            };
            let _ = evaluate(&policy, Subject::Commit(&commit));
            let branch = Branch {
                name: String::from("feature/EPL-1-login"),
                ..Branch::default()
            };
            let _ = evaluate(&policy, Subject::Branch(&branch));
            let pr = PullRequest {
                title: String::from("EPL-1 Fix the login"),
                body: String::from("## Summary\nFixes it.\n## Steps to reproduce\n1. log in\n"),
                labels: vec![String::from("bug")],
                author: String::from("ada"),
                base: String::from("main"),
                head: String::from("feature/EPL-1-login"),
                changed: vec![ChangedPath::new(".github/workflows/ci.yml")],
                commits: vec![commit.clone()],
                ..PullRequest::default()
            };
            let _ = evaluate(&policy, Subject::PullRequest(&pr));
        }
        Err(invalid) => {
            assert!(
                !invalid.errors.is_empty(),
                "a rejected policy names an error"
            );
            for error in &invalid.errors {
                if let Some(span) = error.span {
                    let end = span.offset as usize + span.len as usize;
                    assert!(end <= text.len(), "span past the end: {error:?}");
                    assert!(
                        text.is_char_boundary(span.offset as usize),
                        "span inside a character: {error:?}"
                    );
                }
            }
            let rendered = render_policy_errors(&invalid, false, 100);
            assert!(!rendered.is_empty());
        }
    }
});
