//! Which reviews to request for the approvals a pull request still misses
//! (`approval: { request: … }`, `check pr --request-reviews`). Pure: the
//! command reads who is already requested and sends the plan.

use std::collections::BTreeSet;

use super::MissingApprovals;
use super::approval::Request;
use crate::facts::PullRequest;

/// Reviews already requested on the pull request (lower case): logins, and
/// team slugs (`release-train`, GitHub's `requested_teams[].slug`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Requested {
    pub(crate) users: Vec<String>,
    pub(crate) teams: Vec<String>,
}

/// Reviews to request: `reviewers` (logins) and `team_reviewers` (slugs),
/// as `POST /repos/{repo}/pulls/{n}/requested_reviewers` takes them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Plan {
    pub(crate) reviewers: Vec<String>,
    pub(crate) team_reviewers: Vec<String>,
}

impl Plan {
    pub(crate) fn is_empty(&self) -> bool {
        self.reviewers.is_empty() && self.team_reviewers.is_empty()
    }
}

/// The slug of an `org/slug` team, lower case.
pub(crate) fn slug(github_team: &str) -> String {
    github_team
        .rsplit_once('/')
        .map_or(github_team, |(_, s)| s)
        .to_lowercase()
}

/// The reviews to request for `missing` (each group's missing approvals, in
/// rule order). Never on a draft, never the author, never someone already
/// requested or who reviewed the head commit; at most as many outstanding
/// as the rule asks (`true`: the approvals still missing; a team request
/// stands for the whole team). Run again on the same facts plus the
/// requests made, it asks for nothing more.
pub(crate) fn plan(pr: &PullRequest, missing: &[&MissingApprovals], requested: &Requested) -> Plan {
    let mut plan = Plan::default();
    if pr.draft || pr.offline {
        return plan;
    }
    let author = pr.author.to_lowercase();
    let reviewed_head: BTreeSet<String> = pr
        .reviews
        .iter()
        .filter(|r| r.commit == pr.head_sha)
        .map(|r| r.author.to_lowercase())
        .collect();
    let asked_user = |login: &str, plan: &Plan| {
        requested
            .users
            .iter()
            .any(|u| u.eq_ignore_ascii_case(login))
            || plan.reviewers.iter().any(|u| u == login)
    };
    let asked_team = |slug: &str, plan: &Plan| {
        requested.teams.iter().any(|t| t.eq_ignore_ascii_case(slug))
            || plan.team_reviewers.iter().any(|t| t == slug)
    };
    for group in missing {
        let Some(request) = group.request else {
            continue;
        };
        let needed = group.needed as usize;
        let target = match request {
            Request::Missing => needed,
            Request::All => usize::MAX,
            Request::Count(n) => n as usize,
        };
        let pool: BTreeSet<&str> = group
            .candidates
            .iter()
            .chain(&group.listed)
            .map(String::as_str)
            .filter(|l| *l != author)
            .collect();
        let slugs: Vec<String> = group.github_teams.iter().map(|t| slug(t)).collect();
        // Reviews already on their way: people asked or who looked at this
        // head without approving, and a team asked for (it stands for all).
        let mut pending = pool
            .iter()
            .filter(|l| asked_user(l, &plan) || reviewed_head.contains(**l))
            .count();
        if slugs.iter().any(|s| asked_team(s, &plan)) && request != Request::All {
            pending = pending.max(needed);
        }
        let mut open = target.saturating_sub(pending);
        for slug in &slugs {
            if open > 0 && !asked_team(slug, &plan) {
                plan.team_reviewers.push(slug.clone());
                open = if request == Request::All {
                    open
                } else {
                    open.saturating_sub(needed)
                };
            }
        }
        for login in &group.listed {
            if open == 0 {
                break;
            }
            if *login != author && !asked_user(login, &plan) && !reviewed_head.contains(login) {
                plan.reviewers.push(login.clone());
                open -= 1;
            }
        }
    }
    plan
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::facts::Review;

    const HEAD: &str = "1111111111111111111111111111111111111111";

    fn pr() -> PullRequest {
        PullRequest {
            author: "Dev".into(),
            head_sha: HEAD.into(),
            ..PullRequest::default()
        }
    }

    fn group(listed: &[&str], teams: &[&str], needed: u32, request: Request) -> MissingApprovals {
        MissingApprovals {
            group: "team x".into(),
            needed,
            candidates: listed.iter().map(|l| l.to_string()).collect(),
            github_teams: teams.iter().map(|t| t.to_string()).collect(),
            listed: listed.iter().map(|l| l.to_string()).collect(),
            request: Some(request),
        }
    }

    fn users(plan: &Plan) -> Vec<&str> {
        plan.reviewers.iter().map(String::as_str).collect()
    }

    #[test]
    fn requests_as_many_as_are_missing_in_policy_order() {
        let g = group(
            &["asherman", "agaete", "rdetjens"],
            &[],
            2,
            Request::Missing,
        );
        let p = plan(&pr(), &[&g], &Requested::default());
        assert_eq!(users(&p), ["asherman", "agaete"]);
        assert!(p.team_reviewers.is_empty());
    }

    #[test]
    fn never_on_a_draft_and_never_the_author() {
        let g = group(&["dev", "agaete"], &[], 2, Request::Missing);
        let mut draft = pr();
        draft.draft = true;
        assert!(plan(&draft, &[&g], &Requested::default()).is_empty());
        assert_eq!(
            users(&plan(&pr(), &[&g], &Requested::default())),
            ["agaete"]
        );
    }

    #[test]
    fn who_is_asked_or_reviewed_the_head_counts_and_is_not_asked_again() {
        let g = group(
            &["asherman", "agaete", "rdetjens"],
            &[],
            1,
            Request::Missing,
        );
        let asked = Requested {
            users: vec!["AGAETE".into()],
            teams: vec![],
        };
        assert!(plan(&pr(), &[&g], &asked).is_empty(), "one is on its way");
        let mut reviewed = pr();
        reviewed.reviews = vec![Review {
            author: "asherman".into(),
            state: "COMMENTED".into(),
            commit: HEAD.into(),
        }];
        assert!(plan(&reviewed, &[&g], &Requested::default()).is_empty());
        // A review of an older head does not count: ask again.
        reviewed.reviews[0].commit = "2".repeat(40);
        assert_eq!(
            users(&plan(&reviewed, &[&g], &Requested::default())),
            ["asherman"]
        );
    }

    #[test]
    fn a_github_team_is_requested_as_the_team_once() {
        let g = MissingApprovals {
            candidates: vec!["lee".into(), "kim".into()],
            ..group(&[], &["example-org/Release-Train"], 1, Request::Missing)
        };
        let p = plan(&pr(), &[&g], &Requested::default());
        assert_eq!(p.team_reviewers, ["release-train"]);
        assert!(p.reviewers.is_empty());
        let asked = Requested {
            users: vec![],
            teams: vec!["release-train".into()],
        };
        assert!(plan(&pr(), &[&g], &asked).is_empty());
    }

    #[test]
    fn all_and_count_ask_for_more() {
        let g = group(&["a1", "a2", "a3"], &[], 1, Request::All);
        assert_eq!(
            users(&plan(&pr(), &[&g], &Requested::default())),
            ["a1", "a2", "a3"]
        );
        let g = group(&["a1", "a2", "a3"], &[], 1, Request::Count(2));
        let asked = Requested {
            users: vec!["a3".into()],
            teams: vec![],
        };
        assert_eq!(users(&plan(&pr(), &[&g], &asked)), ["a1"]);
    }

    #[test]
    fn a_person_asked_for_one_group_counts_for_the_next() {
        let first = group(&["agaete"], &[], 1, Request::Missing);
        let second = group(&["agaete", "rdetjens"], &[], 1, Request::Missing);
        let p = plan(&pr(), &[&first, &second], &Requested::default());
        assert_eq!(users(&p), ["agaete"]);
    }

    #[test]
    fn no_request_option_asks_for_nothing() {
        let mut g = group(&["agaete"], &[], 1, Request::Missing);
        g.request = None;
        assert!(plan(&pr(), &[&g], &Requested::default()).is_empty());
    }
}
