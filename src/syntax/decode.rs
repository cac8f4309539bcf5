//! Decoding the typed policy from a node tree, collecting every error.

use super::ErrorCode;
use globset::{Glob, GlobBuilder, GlobSet, GlobSetBuilder};

use super::error::{PolicyError, did_you_mean};
use super::node::{Node, Span, Value};
use super::{GlobSyntax, Globs, GlobsError, Matcher, Pattern, Spanned};

/// Collects errors while the model is decoded; a decode function returns
/// `None` after it has recorded why.
#[derive(Default)]
pub struct Decoder {
    pub(crate) errors: Vec<PolicyError>,
    /// Every regex and glob set decoded, to be compiled when needed: the
    /// loader hands each rule and each definition its own.
    pub(crate) matchers: Vec<Matcher>,
    /// These very texts loaded without an error before, with this build
    /// (the hooks' cache says so): the syntax of regexes and globs is not
    /// checked again; they are parsed when compiled, which still stops the
    /// run on an error (exit 2).
    pub(crate) trusted: bool,
}

/// The entries of one mapping, checked against the keys it may have.
pub struct Fields<'a> {
    entries: &'a [(Node, Node)],
    span: Span,
    what: &'a str,
}

impl<'a> Fields<'a> {
    pub(crate) fn get(&self, key: &str) -> Option<&'a Node> {
        self.entries
            .iter()
            .find(|(k, _)| k.as_str() == Some(key))
            .map(|(_, v)| v)
    }

    /// The key node itself, to point at `require:` rather than its value.
    pub(crate) fn key(&self, key: &str) -> Option<&'a Node> {
        self.entries
            .iter()
            .find(|(k, _)| k.as_str() == Some(key))
            .map(|(k, _)| k)
    }

    pub(crate) fn span(&self) -> Span {
        self.span
    }

    pub(crate) fn entries(&self) -> &'a [(Node, Node)] {
        self.entries
    }

    /// A key that must be present: reports its absence on the mapping.
    pub(crate) fn required(&self, key: &str, decoder: &mut Decoder) -> Option<&'a Node> {
        let found = self.get(key);
        // A misspelt key (`requre`) was already reported with "did you mean".
        let misspelt = || {
            self.entries.iter().any(|(k, _)| {
                k.as_str()
                    .is_some_and(|k| k != key && did_you_mean(k, [key]).is_some())
            })
        };
        if found.is_none() && !misspelt() {
            decoder.error(
                PolicyError::at(
                    ErrorCode::MissingKey,
                    self.span,
                    format!("{} is missing `{key}`", self.what),
                )
                .label(format!("`{key}` is missing here"))
                .help(format!("add `{key}:` here")),
            );
        }
        found
    }
}

impl Decoder {
    pub(crate) fn error(&mut self, error: PolicyError) {
        self.errors.push(error);
    }

    fn expected(&mut self, node: &Node, expected: &str) {
        self.error(
            PolicyError::at(
                ErrorCode::WrongType,
                node.span,
                format!("expected {expected}, found {}", node.type_name()),
            )
            .label(format!("expected {expected}")),
        );
    }

    /// A mapping whose keys must come from `keys`. Unknown keys are reported
    /// (with a suggestion) and skipped, so decoding goes on.
    pub(crate) fn fields<'a>(
        &mut self,
        node: &'a Node,
        what: &'a str,
        keys: &[&str],
    ) -> Option<Fields<'a>> {
        let Value::Map(entries) = &node.value else {
            if matches!(node.value, Value::Null) {
                // `key:` with nothing after it: an empty mapping.
                return Some(Fields {
                    entries: &[],
                    span: node.span,
                    what,
                });
            }
            self.expected(node, &format!("a mapping ({what})"));
            return None;
        };
        for (key, _) in entries {
            match key.as_str() {
                Some(name) if keys.contains(&name) => {}
                Some(name) => {
                    let mut error = PolicyError::at(
                        ErrorCode::UnknownKey,
                        key.span,
                        format!("unknown key `{name}` in {what}"),
                    )
                    .label("unknown key");
                    error = match did_you_mean(name, keys.iter().copied()) {
                        Some(close) => error.help(format!("did you mean `{close}`?")),
                        None => error.help(format!("{what} takes: {}", keys.join(", "))),
                    };
                    self.error(error);
                }
                None => self.expected(key, "a string key"),
            }
        }
        Some(Fields {
            entries,
            span: node.span,
            what,
        })
    }

    pub(crate) fn string(&mut self, node: &Node) -> Option<Spanned<String>> {
        match &node.value {
            Value::String(s) => Some(Spanned::new(s.clone(), node.span)),
            _ => {
                self.expected(node, "a string");
                None
            }
        }
    }

    pub(crate) fn non_empty_string(&mut self, node: &Node) -> Option<Spanned<String>> {
        let s = self.string(node)?;
        if s.value.trim().is_empty() {
            self.error(
                PolicyError::at(ErrorCode::Empty, node.span, "this must not be empty")
                    .label("empty"),
            );
            return None;
        }
        Some(s)
    }

    pub(crate) fn bool(&mut self, node: &Node) -> Option<bool> {
        match node.value {
            Value::Bool(b) => Some(b),
            _ => {
                self.expected(node, "true or false");
                None
            }
        }
    }

    pub(crate) fn count(&mut self, node: &Node) -> Option<Spanned<u32>> {
        match node.value {
            Value::Int(i) if (0..=u32::MAX as i64).contains(&i) => {
                Some(Spanned::new(i as u32, node.span))
            }
            _ => {
                self.expected(node, "a whole number (0 or more)");
                None
            }
        }
    }

    /// A list of items, or a single item standing for a list of one.
    pub(crate) fn list<'a>(&mut self, node: &'a Node) -> &'a [Node] {
        match &node.value {
            Value::Seq(items) => items,
            _ => std::slice::from_ref(node),
        }
    }

    pub(crate) fn strings(&mut self, node: &Node) -> Option<Vec<Spanned<String>>> {
        let mut out = Vec::new();
        let mut ok = true;
        for item in self.list(node) {
            match self.non_empty_string(item) {
                Some(s) => out.push(s),
                None => ok = false,
            }
        }
        ok.then_some(out)
    }

    /// A regex: its syntax is checked now (cheap); it is compiled when a
    /// rule that uses it is about to judge a subject.
    pub(crate) fn pattern(&mut self, node: &Node) -> Option<Pattern> {
        let source = self.string(node)?;
        if self.trusted {
            let pattern = Pattern::new(source);
            self.matchers.push(Matcher::Pattern(pattern.clone()));
            return Some(pattern);
        }
        if let Some(error) = super::escapes::trap(node, &source.value) {
            self.error(error);
            return None;
        }
        // The parser `Regex::new` runs first, with its defaults: the same
        // syntax errors, worded the same.
        match regex_syntax::Parser::new().parse(&source.value) {
            Ok(_) => {
                let pattern = Pattern::new(source);
                self.matchers.push(Matcher::Pattern(pattern.clone()));
                Some(pattern)
            }
            Err(err) => {
                self.error(invalid_regex(
                    node.span,
                    &regex::Error::Syntax(err.to_string()),
                ));
                None
            }
        }
    }

    pub(crate) fn patterns(&mut self, node: &Node) -> Option<Vec<Pattern>> {
        let mut out = Vec::new();
        let mut ok = true;
        for item in self.list(node) {
            match self.pattern(item) {
                Some(p) => out.push(p),
                None => ok = false,
            }
        }
        ok.then_some(out)
    }

    /// gitignore-style globs: `*` stays within a path segment, `**` crosses them.
    pub(crate) fn globs(&mut self, node: &Node) -> Option<Globs> {
        if self.trusted {
            return self.unparsed_globs(node, GlobSyntax::Path);
        }
        let mut compiled = Vec::new();
        let mut patterns = Vec::new();
        let mut ok = true;
        for item in self.list(node) {
            let Some(text) = self.glob_text(item) else {
                ok = false;
                continue;
            };
            match base_glob(&text.value) {
                Ok((glob, folder)) => {
                    compiled.push((glob, folder, text.span));
                    patterns.push(text);
                }
                Err(err) => {
                    ok = false;
                    self.error(
                        PolicyError::at(ErrorCode::InvalidGlob, item.span, format!("invalid glob: {}", err.kind()))
                            .label("this glob does not parse")
                            .help("globs are gitignore-style: `*` within a folder, `**` across folders, `{a,b}` alternatives, `[abc]` classes"),
                    );
                }
            }
        }
        if !ok {
            return None;
        }
        self.build_globs(node, patterns, compiled)
    }

    /// A glob's text: non-empty and not absurdly long.
    fn glob_text(&mut self, item: &Node) -> Option<Spanned<String>> {
        let text = self.non_empty_string(item)?;
        if text.value.len() > super::MAX_GLOB_LEN {
            self.error(
                PolicyError::at(
                    ErrorCode::InvalidGlob,
                    item.span,
                    format!("this glob is {} characters long", text.value.len()),
                )
                .help(format!(
                    "keep globs under {} characters; split it into several",
                    super::MAX_GLOB_LEN
                )),
            );
            return None;
        }
        Some(text)
    }
}

/// Compiles one glob the way policies use them, as in `.gitignore`: a
/// pattern without a slash matches at any depth (`*.tf` is `**/*.tf`), and a
/// pattern that names a folder also matches everything inside it
/// (`*security-group*` matches `infra/security-groups/web.json`).
pub fn glob(text: &str) -> Result<Vec<Glob>, globset::Error> {
    let (glob, folder) = base_glob(text)?;
    let mut out = vec![glob];
    if folder {
        out.push(glob_builder(&format!("{}/**", out[0].glob())).build()?);
    }
    Ok(out)
}

/// The glob as written (made to match at any depth when it has no slash),
/// and whether `glob/**` must be added for everything under a folder it
/// names. Parsing one is the syntax check; the second is built with the set.
pub(crate) fn base_glob(text: &str) -> Result<(Glob, bool), globset::Error> {
    let trimmed = text.trim_end_matches('/');
    let anchored = trimmed.trim_start_matches('/');
    let pattern = if trimmed.contains('/') {
        anchored.to_owned()
    } else {
        format!("**/{trimmed}")
    };
    let folder = !pattern.ends_with("/**");
    Ok((glob_builder(&pattern).build()?, folder))
}

/// How policy globs are read: `*` stays within a path segment, `\` escapes.
pub(crate) fn glob_builder(pattern: &str) -> GlobBuilder<'_> {
    let mut builder = GlobBuilder::new(pattern);
    builder.literal_separator(true).backslash_escape(true);
    builder
}

/// A glob that does not parse, as a policy error at `span`.
pub(crate) fn invalid_glob(span: Span, err: &globset::Error) -> PolicyError {
    PolicyError::at(
        ErrorCode::InvalidGlob,
        span,
        format!("invalid glob: {}", err.kind()),
    )
    .label("this glob does not parse")
}

/// Builds a set from built-in globs (defaults of the code, tested to build).
pub fn glob_set(patterns: &[&str]) -> GlobSet {
    let mut builder = GlobSetBuilder::new();
    for p in patterns {
        for g in glob(p).unwrap_or_else(|e| panic!("built-in glob `{p}`: {e}")) {
            builder.add(g);
        }
    }
    builder
        .build()
        .unwrap_or_else(|e| panic!("built-in globs {patterns:?}: {e}"))
}

/// A glob set that cannot be compiled (too many or too complex globs for
/// the matcher's size limit), as a policy error at `span`.
pub(crate) fn unbuildable_globs(span: Span, count: usize, err: &globset::Error) -> PolicyError {
    PolicyError::at(
        ErrorCode::GlobSetTooLarge,
        span,
        format!("these {count} glob(s) cannot be compiled into one matcher: {err}"),
    )
    .label("this set of globs cannot be compiled")
    .help("use fewer or simpler globs (a folder glob such as `terraform/**` covers every file under it); git-policy never lets a set it cannot build match nothing")
}

impl Decoder {
    /// A decoded list of globs, its matcher built when first needed.
    fn build_globs(
        &mut self,
        node: &Node,
        patterns: Vec<Spanned<String>>,
        compiled: Vec<(Glob, bool, Span)>,
    ) -> Option<Globs> {
        let globs = Globs::new(patterns, compiled, node.span, GlobsError::TooLarge);
        self.matchers.push(globs.matcher());
        Some(globs)
    }

    /// Globs of a trusted policy ([`Decoder::trusted`]): texts, parsed when built.
    fn unparsed_globs(&mut self, node: &Node, syntax: GlobSyntax) -> Option<Globs> {
        let items = self.list(node);
        let patterns = items
            .iter()
            .map(|item| self.string(item))
            .collect::<Option<Vec<_>>>()?;
        let globs = Globs::unparsed(patterns, syntax, node.span, GlobsError::TooLarge);
        self.matchers.push(globs.matcher());
        Some(globs)
    }

    /// One glob of `changed` of a trusted policy, parsed when built.
    pub(crate) fn unparsed_changed_glob(&mut self, name: &Spanned<String>) -> Globs {
        let globs = Globs::unparsed(
            vec![name.clone()],
            GlobSyntax::Path,
            name.span,
            GlobsError::Invalid,
        );
        self.matchers.push(globs.matcher());
        globs
    }

    /// One glob of `changed` (a set of its own), built when first needed.
    pub(crate) fn changed_glob(
        &mut self,
        name: &Spanned<String>,
        glob: Glob,
        folder: bool,
    ) -> Globs {
        let globs = Globs::new(
            vec![name.clone()],
            vec![(glob, folder, name.span)],
            name.span,
            GlobsError::Invalid,
        );
        self.matchers.push(globs.matcher());
        globs
    }
}

/// A regex that does not compile, as a policy error at `span`.
pub(crate) fn invalid_regex(span: Span, err: &regex::Error) -> PolicyError {
    let detail = match err {
        regex::Error::Syntax(text) => {
            let last = text.lines().last().unwrap_or(text).trim();
            last.strip_prefix("error: ").unwrap_or(last).to_owned()
        }
        other => other.to_string(),
    };
    PolicyError::at(ErrorCode::InvalidRegex, span, format!("invalid regular expression: {detail}"))
        .label("this regex does not compile")
        .help("patterns use Rust regex syntax (https://docs.rs/regex); in YAML, single quotes keep backslashes as written: '\\bABC-[0-9]+\\b'")
}

impl Decoder {
    /// Branch-name globs: `*` crosses `/`, so `release/*` matches `release/1.2/rc`.
    pub(crate) fn branch_globs(&mut self, node: &Node) -> Option<Globs> {
        if self.trusted {
            return self.unparsed_globs(node, GlobSyntax::Branch);
        }
        let mut compiled = Vec::new();
        let mut patterns = Vec::new();
        let mut ok = true;
        for item in self.list(node) {
            let Some(text) = self.glob_text(item) else {
                ok = false;
                continue;
            };
            match GlobBuilder::new(&text.value)
                .literal_separator(false)
                .build()
            {
                Ok(g) => {
                    compiled.push((g, false, text.span));
                    patterns.push(text);
                }
                Err(err) => {
                    ok = false;
                    self.error(
                        PolicyError::at(
                            ErrorCode::InvalidGlob,
                            item.span,
                            format!("invalid glob: {}", err.kind()),
                        )
                        .label("this glob does not parse"),
                    );
                }
            }
        }
        if !ok {
            return None;
        }
        self.build_globs(node, patterns, compiled)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_without_slash_match_at_any_depth() {
        let set = glob_set(&["*.tf", "terraform/**", "/Jenkinsfile"]);
        assert!(set.is_match("infra/prod/main.tf"));
        assert!(set.is_match("main.tf"));
        assert!(set.is_match("terraform/modules/vpc/x.hcl"));
        assert!(set.is_match("Jenkinsfile"));
        assert!(!set.is_match("src/terraform/x"));
        let folders = glob_set(&["*security-group*", "terraform/"]);
        assert!(
            folders.is_match("infra/security-groups/web.json"),
            "a folder name matches its contents"
        );
        assert!(folders.is_match("terraform/vpc/main.tf"));
        assert!(!folders.is_match("src/terraform.rs"));
        assert!(!set.is_match("main.tfvars"));
    }
}
