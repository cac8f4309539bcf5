//! The `when` / `unless` model. Evaluation lives in `crate::predicates`.

use crate::syntax::decode::base_glob;
use crate::syntax::{
    Decoder, ErrorCode, Globs, Node, Pattern, PolicyError, Spanned, Strings, Table, branch_globs,
    options,
};

options! {
    /// Conditions on a subject: every key present must hold; a list inside a key
    /// is any-of. A fact the subject does not have (labels of a commit) never holds.
    #[options(what = "a condition (`when`/`unless`)", constraint = SOME_CONDITION)]
    #[derive(Clone, Debug, Default)]
    pub(crate) struct Predicate {
        /// Change kind names (from `kinds`).
        pub(crate) kind: Option<Strings>,
        /// Pull request labels (any of).
        pub(crate) labels: Option<Strings>,
        /// Authors: GitHub logins, or commit author names or emails.
        pub(crate) authors: Option<Strings>,
        /// Head branch globs, e.g. `hotfix/*`.
        pub(crate) branches: Option<Globs> => with(branch_globs),
        /// Target branch globs (pull requests).
        pub(crate) base: Option<Globs> => with(branch_globs),
        /// Path-set names or globs; holds when any changed file matches.
        pub(crate) changed: Option<Vec<ChangedRef>>,
        /// Regex on the pull request title.
        pub(crate) title: Option<Pattern>,
        /// Regex on the pull request body.
        pub(crate) body: Option<Pattern>,
        /// Regex on the commit message.
        pub(crate) message: Option<Pattern>,
        /// Whether the pull request is a draft.
        pub(crate) draft: Option<bool>,
        /// Holds when any of these holds.
        pub(crate) any: Option<Vec<Predicate>>,
        /// Holds when all of these hold.
        pub(crate) all: Option<Vec<Predicate>>,
        /// Holds when this does not.
        pub(crate) not: Option<Box<Predicate>>,
    }
}

/// A condition tests something: it has a key.
const SOME_CONDITION: crate::syntax::TableConstraint<Predicate> = crate::syntax::TableConstraint {
    check: not_empty,
    schema: at_least_one,
};

fn not_empty(_: &Predicate, table: &Table<'_>) -> Result<(), PolicyError> {
    if !table.entries().is_empty() {
        return Ok(());
    }
    Err(PolicyError::at(
        ErrorCode::EmptyCondition,
        table.span(),
        "this condition is empty",
    )
    .help(format!(
        "give at least one of: {}",
        Predicate::KEYS.join(", ")
    )))
}

fn at_least_one(schema: &mut schemars::Schema) {
    schema.insert("minProperties".into(), 1.into());
}

/// One entry of `changed`: a named path set or a glob.
#[derive(Clone, Debug)]
pub(crate) enum ChangedRef {
    Set(Spanned<String>),
    Glob(Spanned<String>, Globs),
}

impl Predicate {
    /// Every `(kind name)` and `(path-set name)` it refers to, for validation.
    pub(crate) fn visit(&self, f: &mut impl FnMut(&Predicate)) {
        f(self);
        for p in self.any.iter().chain(self.all.iter()).flatten() {
            p.visit(f);
        }
        if let Some(p) = &self.not {
            p.visit(f);
        }
    }
}

/// A word is a path-set name; anything with `/`, `.` or glob syntax is a glob.
pub(crate) fn looks_like_glob(text: &str) -> bool {
    text.contains(['/', '.', '*', '?', '[', '{'])
}

/// A path-set name or a glob.
impl crate::syntax::Decode for ChangedRef {
    fn decode(node: &Node, d: &mut Decoder) -> Option<Self> {
        let name = d.non_empty_string(node)?;
        if !looks_like_glob(&name.value) {
            return Some(ChangedRef::Set(name));
        }
        if d.trusted {
            let set = d.unparsed_changed_glob(&name);
            return Some(ChangedRef::Glob(name, set));
        }
        match base_glob(&name.value) {
            Ok((glob, folder)) => {
                let set = d.changed_glob(&name, glob, folder);
                Some(ChangedRef::Glob(name, set))
            }
            Err(err) => {
                d.error(
                    PolicyError::at(
                        ErrorCode::InvalidGlob,
                        name.span,
                        format!("invalid glob: {}", err.kind()),
                    )
                    .label("this glob does not parse"),
                );
                None
            }
        }
    }
    fn schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({ "type": "string" })
    }
}
