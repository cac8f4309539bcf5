//! The `when` / `unless` model. Evaluation lives in `crate::predicates`.

use crate::policy::ErrorCode;
use schemars::JsonSchema;

use super::decode::{Decoder, base_glob};
use super::node::{Node, Span};
use super::{Globs, Pattern, PolicyError, Spanned, Strings};

/// Conditions on a subject: every key present must hold; a list inside a key
/// is any-of. A fact the subject does not have (labels of a commit) never holds.
#[derive(Clone, Debug, Default, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(extend("minProperties" = 1))]
pub struct Predicate {
    /// Change kind names (from `kinds`).
    pub kind: Option<Strings>,
    /// Pull request labels (any of).
    pub labels: Option<Strings>,
    /// Authors: GitHub logins, or commit author names or emails.
    pub authors: Option<Strings>,
    /// Head branch globs, e.g. `hotfix/*`.
    pub branches: Option<Globs>,
    /// Target branch globs (pull requests).
    pub base: Option<Globs>,
    /// Path-set names or globs; holds when any changed file matches.
    #[schemars(with = "Option<Strings>")]
    pub changed: Option<Vec<ChangedRef>>,
    /// Regex on the pull request title.
    pub title: Option<Pattern>,
    /// Regex on the pull request body.
    pub body: Option<Pattern>,
    /// Regex on the commit message.
    pub message: Option<Pattern>,
    /// Whether the pull request is a draft.
    pub draft: Option<bool>,
    /// Holds when any of these holds.
    #[schemars(with = "Option<super::OneOrMany<Predicate>>")]
    pub any: Option<Vec<Predicate>>,
    /// Holds when all of these hold.
    #[schemars(with = "Option<super::OneOrMany<Predicate>>")]
    pub all: Option<Vec<Predicate>>,
    /// Holds when this does not.
    pub not: Option<Box<Predicate>>,
    #[schemars(skip)]
    pub span: Span,
}

/// One entry of `changed`: a named path set or a glob.
#[derive(Clone, Debug)]
pub enum ChangedRef {
    Set(Spanned<String>),
    Glob(Spanned<String>, Globs),
}

pub const KEYS: &[&str] = &[
    "kind", "labels", "authors", "branches", "base", "changed", "title", "body", "message",
    "draft", "any", "all", "not",
];

impl Predicate {
    pub fn decode(node: &Node, d: &mut Decoder) -> Option<Predicate> {
        let fields = d.fields(node, "a condition (`when`/`unless`)", KEYS)?;
        let mut p = Predicate {
            span: node.span,
            ..Predicate::default()
        };
        let mut ok = true;
        macro_rules! field {
            ($key:literal, $target:expr, $decode:expr) => {
                if let Some(value) = fields.get($key) {
                    match $decode(value) {
                        Some(v) => $target = Some(v),
                        None => ok = false,
                    }
                }
            };
        }
        field!("kind", p.kind, |n| d.strings(n).map(Strings));
        field!("labels", p.labels, |n| d.strings(n).map(Strings));
        field!("authors", p.authors, |n| d.strings(n).map(Strings));
        field!("branches", p.branches, |n| d.branch_globs(n));
        field!("base", p.base, |n| d.branch_globs(n));
        field!("changed", p.changed, |n| Predicate::decode_changed_refs(
            n, d
        ));
        field!("title", p.title, |n| d.pattern(n));
        field!("body", p.body, |n| d.pattern(n));
        field!("message", p.message, |n| d.pattern(n));
        field!("draft", p.draft, |n| d.bool(n));
        field!("any", p.any, |n| decode_list(n, d));
        field!("all", p.all, |n| decode_list(n, d));
        field!("not", p.not, |n| Predicate::decode(n, d).map(Box::new));
        if fields.entries().is_empty() {
            d.error(
                PolicyError::at(
                    ErrorCode::EmptyCondition,
                    node.span,
                    "this condition is empty",
                )
                .help(format!("give at least one of: {}", KEYS.join(", "))),
            );
            ok = false;
        }
        ok.then_some(p)
    }

    /// Every `(kind name)` and `(path-set name)` it refers to, for validation.
    pub fn visit(&self, f: &mut impl FnMut(&Predicate)) {
        f(self);
        for p in self.any.iter().chain(self.all.iter()).flatten() {
            p.visit(f);
        }
        if let Some(p) = &self.not {
            p.visit(f);
        }
    }
}

fn decode_list(node: &Node, d: &mut Decoder) -> Option<Vec<Predicate>> {
    let mut out = Vec::new();
    let mut ok = true;
    for item in d.list(node) {
        match Predicate::decode(item, d) {
            Some(p) => out.push(p),
            None => ok = false,
        }
    }
    ok.then_some(out)
}

/// A word is a path-set name; anything with `/`, `.` or glob syntax is a glob.
pub fn looks_like_glob(text: &str) -> bool {
    text.contains(['/', '.', '*', '?', '[', '{'])
}

impl Predicate {
    /// Path-set names or globs, as `changed` and `tests_changed` take them.
    pub fn decode_changed_refs(node: &Node, d: &mut Decoder) -> Option<Vec<ChangedRef>> {
        decode_changed(node, d)
    }
}

fn decode_changed(node: &Node, d: &mut Decoder) -> Option<Vec<ChangedRef>> {
    let names = d.strings(node)?;
    let mut out = Vec::new();
    let mut ok = true;
    for name in names {
        if looks_like_glob(&name.value) && d.trusted {
            let set = d.unparsed_changed_glob(&name);
            out.push(ChangedRef::Glob(name, set));
        } else if looks_like_glob(&name.value) {
            match base_glob(&name.value) {
                Ok((glob, folder)) => {
                    let set = d.changed_glob(&name, glob, folder);
                    out.push(ChangedRef::Glob(name, set));
                }
                Err(err) => {
                    ok = false;
                    d.error(
                        PolicyError::at(
                            ErrorCode::InvalidGlob,
                            name.span,
                            format!("invalid glob: {}", err.kind()),
                        )
                        .label("this glob does not parse"),
                    );
                }
            }
        } else {
            out.push(ChangedRef::Set(name));
        }
    }
    ok.then_some(out)
}
