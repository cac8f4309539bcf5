//! git-policy: a team's delivery process, written as YAML policy files,
//! enforced on pull requests, branches, commits and releases.
//!
//! Data flows one way: `sources` gather facts → `engine` evaluates the
//! policy → `report` renders → `commands` write. `syntax` (spans, errors,
//! decoding) and `definitions` (what rules refer to by name) are the leaves
//! `policy` and `rules` both build on; `policy` holds the rules, never the
//! reverse. `policy`, `engine`,
//! `predicates`, `rules`, `waivers`, `markdown` and `report` are pure.
//!
//! No text is sliced with `&text[a..b]` (a panic on a cut character, or on
//! an offset a crafted input moved): `str::get` or [`text::short_sha`].
#![deny(clippy::string_slice)]
#![allow(
    rustdoc::private_intra_doc_links,
    reason = "the library serves the binary and its tests; its docs are built with private items (`cargo doc --document-private-items`)"
)]

pub mod definitions;
pub mod engine;
pub mod evidence;
pub mod facts;
pub mod markdown;
pub mod outcome;
pub mod policy;
pub mod predicates;
pub mod report;
pub mod rules;
pub mod syntax;
pub mod text;
pub mod waivers;

pub mod cli;
pub mod commands;
pub mod sources;
