//! Evaluates a pull request with 3,000 changed paths against a policy with
//! 100 globs (10 path sets in 10 rules), as `check pr` does after gathering.
//! Usage: cargo run --release --example glob-eval
#![expect(clippy::print_stdout, reason = "a benchmark prints its figures")]

use std::time::Instant;

use git_policy::engine::evaluate;
use git_policy::facts::{ChangedPath, PullRequest, Subject};
use git_policy::policy::{PolicySource, load};

fn main() {
    let mut policy = String::from("version: 1\nteams: { pe: { members: [a, b] } }\npaths:\n");
    for set in 0..10 {
        let globs: Vec<String> = (0..10)
            .map(|g| format!("'svc{set}/part{g}/**/*.tf'"))
            .collect();
        policy.push_str(&format!("  set{set}: [{}]\n", globs.join(", ")));
    }
    policy.push_str("rules:\n");
    for set in 0..10 {
        policy.push_str(&format!(
            "  - id: approval-{set}\n    on: [pull_request]\n    when: {{ changed: [set{set}] }}\n    require: {{ approval: {{ teams: [pe], fresh: paths }} }}\n"
        ));
    }
    let policy = load(vec![PolicySource::new("bench.yml", policy)])
        .unwrap_or_else(|e| panic!("{:?}", e.errors));
    let pr = PullRequest {
        number: 1,
        author: "dev".into(),
        changed: (0..3000)
            .map(|i| ChangedPath::new(format!("svc{}/part{}/deep/dir{i}/main.tf", i % 12, i % 11)))
            .collect(),
        ..PullRequest::default()
    };
    let mut times = Vec::new();
    let mut findings = 0;
    for _ in 0..50 {
        let started = Instant::now();
        findings = evaluate(&policy, Subject::PullRequest(&pr)).len();
        times.push(started.elapsed().as_secs_f64() * 1000.0);
    }
    times.sort_by(f64::total_cmp);
    println!(
        "evaluate: 3000 changed paths x 100 globs (10 rules): median {:.2} ms, max {:.2} ms over 50 runs ({findings} findings)",
        times[times.len() / 2],
        times[times.len() - 1]
    );
}
