//! The parsed node trees of a policy, as bytes: what the hooks keep between
//! runs so a commit does not parse the same YAML again.
//!
//! Parsing is most of what loading a policy costs (about 3 million
//! instructions for the 14 KB built-in pack; reading it back from these bytes
//! costs a fifth of that). An entry is written only after the files loaded
//! without an error, and holds the name and full text of every file: it is
//! used only when each is byte for byte the one being loaded, so a changed,
//! renamed or reordered policy is parsed again (there is no key to collide).
//! An entry keeps only the rules a hook may judge: a rule whose `on` lists
//! only subjects the hooks never check (`pull_request`, `release`) is left
//! out of its trees ([`HOOK_KINDS`]); everything else is kept whole. A policy
//! read from an entry is decoded and validated as always, except that the
//! syntax of its regexes and globs, checked when the entry was written, is
//! checked again only when they are compiled
//! ([`crate::syntax::Decoder::trusted`]), and that a waiver may name a rule
//! left out. Such a policy judges only [`HOOK_KINDS`]
//! ([`super::Policy::prepare`] refuses any other).
//!
//! Pure: the bytes are read and written by [`crate::sources::policy_cache`].
//! Bytes that are not a well-formed entry of this build are ignored (the
//! files are parsed), never trusted: lengths are checked against what is
//! left, nesting against the parser's own limit.

use super::{PolicySource, SubjectKind};
use crate::syntax::node::{Node, Span, Value};

/// The subjects the hooks judge (`check commit-msg`, `check branch`,
/// `check push`): the only rules an entry keeps are those that may apply to one.
pub(crate) const HOOK_KINDS: [SubjectKind; 2] = [SubjectKind::Commit, SubjectKind::Branch];

const MAGIC: &[u8] = b"git-policy node trees\n";
/// Bumped when the encoding changes; the build is checked too, since another
/// build may resolve the same YAML differently.
const FORMAT: u8 = 4;
/// The build: version and the commit it was built from (`--version`), so a
/// build from other sources (a developer's) never reads another's entries.
const BUILD: &str = env!("GIT_POLICY_LONG_VERSION");
/// Deeper than any tree the parser hands over (it stops at 48).
const MAX_DEPTH: usize = 64;

/// The entry for `sources`, which loaded without an error, and their parsed
/// trees (in the same order), without the rules no hook judges.
pub(crate) fn encode(sources: &[PolicySource], trees: &[&Node]) -> Vec<u8> {
    let size: usize = sources.iter().map(|s| s.text.len() * 3).sum();
    let mut out = Vec::with_capacity(size + 64);
    out.extend_from_slice(MAGIC);
    out.push(FORMAT);
    bytes(&mut out, BUILD.as_bytes());
    u32(&mut out, sources.len() as u32);
    for (source, tree) in sources.iter().zip(trees) {
        bytes(&mut out, source.name.as_bytes());
        out.push(u8::from(source.builtin));
        u32(&mut out, source.text.len() as u32);
        file(&mut out, tree);
    }
    let crc = checksum(&out, sources);
    u32(&mut out, crc);
    // The texts last (compared in full with the files being loaded); the
    // checksum binds them to the trees written for them.
    for source in sources {
        out.extend_from_slice(source.text.as_bytes());
    }
    out
}

/// CRC-32 of an entry's body and the texts its trees were parsed from: a
/// damaged entry, or trees spliced beside other texts, is parsed again, not
/// believed.
fn checksum(body: &[u8], sources: &[PolicySource]) -> u32 {
    let mut crc = flate2::Crc::new();
    crc.update(body);
    for source in sources {
        crc.update(source.text.as_bytes());
    }
    crc.sum()
}

/// The trees of `sources` when `entry` was written for exactly these texts
/// by this build; `None` otherwise.
pub(crate) fn decode(entry: &[u8], sources: &[PolicySource]) -> Option<Vec<Node>> {
    let texts_len = sources
        .iter()
        .try_fold(0usize, |n, s| n.checked_add(s.text.len()))?;
    let (checked, mut texts) = entry.split_at_checked(entry.len().checked_sub(texts_len)?)?;
    for source in sources {
        let (text, rest) = texts.split_at(source.text.len());
        if text != source.text.as_bytes() {
            return None;
        }
        texts = rest;
    }
    let (body, crc) = checked.split_at_checked(checked.len().checked_sub(4)?)?;
    if checksum(body, sources).to_le_bytes() != crc {
        return None;
    }
    let mut r = Reader { rest: body };
    if r.take(MAGIC.len())? != MAGIC || r.byte()? != FORMAT {
        return None;
    }
    let version = r.bytes()?;
    if version != BUILD.as_bytes() || r.u32()? as usize != sources.len() {
        return None;
    }
    let mut trees = Vec::with_capacity(sources.len());
    for (index, source) in sources.iter().enumerate() {
        if r.bytes()? != source.name.as_bytes()
            || r.byte()? != u8::from(source.builtin)
            || r.u32()? as usize != source.text.len()
        {
            return None;
        }
        let file = u16::try_from(index).ok()?;
        trees.push(r.node(file, source.text.len(), 0)?);
    }
    r.rest.is_empty().then_some(trees)
}

fn u32(out: &mut Vec<u8>, n: u32) {
    out.extend_from_slice(&n.to_le_bytes());
}

fn bytes(out: &mut Vec<u8>, b: &[u8]) {
    u32(out, b.len() as u32);
    out.extend_from_slice(b);
}

/// A file's tree, its top-level `rules` list without the rules no hook judges.
fn file(out: &mut Vec<u8>, tree: &Node) {
    let Value::Map(entries) = &tree.value else {
        return node(out, tree);
    };
    head(out, tree);
    u32(out, entries.len() as u32);
    for (key, value) in entries {
        node(out, key);
        match &value.value {
            Value::Seq(rules) if key.as_str() == Some("rules") => {
                head(out, value);
                let kept: Vec<&Node> = rules.iter().filter(|r| judged_by_a_hook(r)).collect();
                u32(out, kept.len() as u32);
                kept.into_iter().for_each(|rule| node(out, rule));
            }
            _ => node(out, value),
        }
    }
}

/// Whether a hook may judge this rule: unless its `on` is written and names
/// only subjects no hook checks. Anything unexpected keeps the rule.
fn judged_by_a_hook(rule: &Node) -> bool {
    let Value::Map(entries) = &rule.value else {
        return true;
    };
    let Some((_, on)) = entries.iter().find(|(k, _)| k.as_str() == Some("on")) else {
        return true;
    };
    let names: Vec<Option<&str>> = match &on.value {
        Value::String(name) => vec![Some(name.as_str())],
        Value::Seq(items) => items.iter().map(Node::as_str).collect(),
        _ => return true,
    };
    names.is_empty()
        || names.into_iter().any(|name| {
            name.and_then(SubjectKind::parse)
                .is_none_or(|kind| HOOK_KINDS.contains(&kind))
        })
}

/// A node's tag and span.
fn head(out: &mut Vec<u8>, n: &Node) {
    let tag = match &n.value {
        Value::Null => 0,
        Value::Bool(false) => 1,
        Value::Bool(true) => 2,
        Value::Int(_) => 3,
        Value::Float(_) => 4,
        Value::String(_) => 5,
        Value::Seq(_) => 6,
        Value::Map(_) => 7,
    };
    out.push(tag | if n.double_quoted { 0x80 } else { 0 });
    for v in [n.span.offset, n.span.len, n.span.line, n.span.column] {
        u32(out, v);
    }
}

fn node(out: &mut Vec<u8>, n: &Node) {
    head(out, n);
    match &n.value {
        Value::Null | Value::Bool(_) => {}
        Value::Int(i) => out.extend_from_slice(&i.to_le_bytes()),
        Value::Float(f) => out.extend_from_slice(&f.to_bits().to_le_bytes()),
        Value::String(s) => bytes(out, s.as_bytes()),
        Value::Seq(items) => {
            u32(out, items.len() as u32);
            items.iter().for_each(|item| node(out, item));
        }
        Value::Map(entries) => {
            u32(out, entries.len() as u32);
            for (k, v) in entries {
                node(out, k);
                node(out, v);
            }
        }
    }
}

struct Reader<'a> {
    rest: &'a [u8],
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if n > self.rest.len() {
            return None;
        }
        let (head, tail) = self.rest.split_at(n);
        self.rest = tail;
        Some(head)
    }

    fn byte(&mut self) -> Option<u8> {
        Some(self.take(1)?[0])
    }

    fn u32(&mut self) -> Option<u32> {
        Some(u32::from_le_bytes(self.take(4)?.try_into().ok()?))
    }

    fn u64(&mut self) -> Option<u64> {
        Some(u64::from_le_bytes(self.take(8)?.try_into().ok()?))
    }

    fn bytes(&mut self) -> Option<&'a [u8]> {
        let n = self.u32()? as usize;
        self.take(n)
    }

    /// A count of items, each at least `min` bytes long: no more than what is left.
    fn count(&mut self, min: usize) -> Option<usize> {
        let n = self.u32()? as usize;
        (n.checked_mul(min)? <= self.rest.len()).then_some(n)
    }

    fn node(&mut self, file: u16, text_len: usize, depth: usize) -> Option<Node> {
        // Tag and span: the least a node takes.
        const NODE: usize = 17;
        if depth > MAX_DEPTH {
            return None;
        }
        let tag = self.byte()?;
        let [offset, len, line, column] = [self.u32()?, self.u32()?, self.u32()?, self.u32()?];
        // Spans index the text (miette slices it): they must lie inside it.
        if (offset as usize).checked_add(len as usize)? > text_len {
            return None;
        }
        let value = match tag & 0x7f {
            0 => Value::Null,
            1 => Value::Bool(false),
            2 => Value::Bool(true),
            3 => Value::Int(self.u64()? as i64),
            4 => Value::Float(f64::from_bits(self.u64()?)),
            5 => Value::String(String::from(std::str::from_utf8(self.bytes()?).ok()?)),
            6 => {
                let n = self.count(NODE)?;
                let mut items = Vec::with_capacity(n);
                for _ in 0..n {
                    items.push(self.node(file, text_len, depth + 1)?);
                }
                Value::Seq(items)
            }
            7 => {
                let n = self.count(2 * NODE)?;
                let mut entries = Vec::with_capacity(n);
                for _ in 0..n {
                    let key = self.node(file, text_len, depth + 1)?;
                    entries.push((key, self.node(file, text_len, depth + 1)?));
                }
                Value::Map(entries)
            }
            _ => return None,
        };
        Some(Node {
            value,
            span: Span {
                file,
                offset,
                len,
                line,
                column,
            },
            double_quoted: tag & 0x80 != 0,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::syntax::node::parse;

    fn sources() -> Vec<PolicySource> {
        vec![
            PolicySource::new("a.yml", crate::policy::BUILTIN_TEXT),
            PolicySource::new(
                "b.yml",
                "version: 1\nrules:\n  - id: x\n    on: [commit]\n    require: { message: { pattern: \"^x\" } }\n    n: [1, 2.5, null, true, false, ~]\n",
            ),
        ]
    }

    fn refs(trees: &[Node]) -> Vec<&Node> {
        trees.iter().collect()
    }

    fn parsed(sources: &[PolicySource]) -> Vec<Node> {
        sources
            .iter()
            .enumerate()
            .map(|(i, s)| parse(&s.text, i as u16).unwrap())
            .collect()
    }

    #[test]
    fn the_trees_read_back_are_the_trees_parsed() {
        // (Rules on a hook's subjects only: the others are left out, below.)
        let sources = &sources()[1..];
        let trees = parsed(sources);
        let entry = encode(sources, &refs(&trees));
        assert_eq!(decode(&entry, sources), Some(trees));
    }

    #[test]
    fn an_entry_is_used_only_for_the_very_same_texts() {
        let sources = sources();
        let entry = encode(&sources, &refs(&parsed(&sources)));
        let mut edited = sources.clone();
        edited[1].text = edited[1].text.replace("^x", "^y");
        assert_eq!(decode(&entry, &edited), None, "an edited file");
        let mut renamed = sources.clone();
        renamed[1].name = String::from("c.yml");
        assert_eq!(decode(&entry, &renamed), None, "a renamed file");
        let reordered: Vec<PolicySource> = sources.iter().rev().cloned().collect();
        assert_eq!(decode(&entry, &reordered), None, "files in another order");
        assert_eq!(decode(&entry, &sources[..1]), None, "a file fewer");
    }

    #[test]
    fn trees_spliced_beside_other_texts_of_the_same_length_are_not_used() {
        let sources = sources();
        let entry = encode(&sources, &refs(&parsed(&sources)));
        let mut other = sources.clone();
        other[1].text = other[1].text.replace("^x", "^y");
        assert_eq!(other[1].text.len(), sources[1].text.len());
        assert_ne!(other[1].text, sources[1].text);
        // The entry's texts replaced by the other texts, trees and checksum kept.
        let texts: usize = sources.iter().map(|s| s.text.len()).sum();
        let mut spliced = entry[..entry.len() - texts].to_vec();
        for source in &other {
            spliced.extend_from_slice(source.text.as_bytes());
        }
        assert_eq!(decode(&spliced, &other), None);
    }

    #[test]
    fn damaged_bytes_are_never_trusted() {
        let sources = &sources()[1..];
        let entry = encode(sources, &refs(&parsed(sources)));
        assert!(decode(&entry, sources).is_some());
        for cut in 0..entry.len() {
            assert_eq!(decode(&entry[..cut], sources), None, "cut at {cut}");
        }
        let mut longer = entry.clone();
        longer.push(0);
        assert_eq!(decode(&longer, sources), None, "trailing bytes");
        for at in 0..entry.len() {
            let mut bad = entry.clone();
            bad[at] ^= 0x24;
            assert_eq!(decode(&bad, sources), None, "byte {at} changed");
        }
    }

    #[test]
    fn a_well_formed_entry_with_spans_outside_the_text_is_refused() {
        let sources = &sources()[1..];
        let mut trees = parsed(sources);
        trees[0].span.offset = sources[0].text.len() as u32;
        trees[0].span.len = 1;
        assert_eq!(decode(&encode(sources, &refs(&trees)), sources), None);
    }

    /// Every policy of the repository that loads: read from an entry (its
    /// regexes and globs parsed only when compiled), it is the same policy,
    /// compiled to the same matchers.
    #[test]
    fn a_trusted_policy_is_the_policy() {
        fn yaml(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
            for entry in std::fs::read_dir(dir).unwrap().flatten() {
                let path = entry.path();
                if path.is_dir() {
                    yaml(&path, out);
                } else if path.extension().is_some_and(|e| e == "yml") {
                    out.push(path);
                }
            }
        }
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut files = Vec::new();
        for dir in ["fixtures", "policies", "bench"] {
            yaml(&root.join(dir), &mut files);
        }
        let mut texts: Vec<(String, String)> = files
            .iter()
            .map(|f| (f.display().to_string(), std::fs::read_to_string(f).unwrap()))
            .collect();
        // And the example of every requirement's documentation.
        for info in crate::rules::ALL {
            for block in info.doc.split("```yaml\n").skip(1) {
                let example = block.split("```").next().unwrap_or_default();
                let text = if example.contains("version:") {
                    example.to_owned()
                } else {
                    format!("version: 1\n{example}")
                };
                texts.push((info.name.to_owned(), text));
            }
        }
        let mut compared = 0;
        for (file, text) in texts {
            let sources = vec![PolicySource::new("p.yml", text)];
            let Ok(checked) = crate::policy::load(sources.clone()) else {
                continue;
            };
            let entry = encode(&checked.sources, &refs(&parsed(&sources)));
            let trees = decode(&entry, &sources).unwrap();
            let kept =
                crate::policy::load_parsed(sources, trees.into_iter().map(Ok).collect(), true)
                    .unwrap();
            assert!(kept.hooks_only);
            assert_eq!(
                checked.prepare(&HOOK_KINDS),
                kept.prepare(&HOOK_KINDS),
                "{file}"
            );
            // The same rules on every subject a hook judges, the same
            // definitions, options and waivers: the same policy for a hook.
            for kind in HOOK_KINDS {
                let on = |p: &crate::policy::Policy| {
                    format!("{:?}", p.rules_on(kind).collect::<Vec<_>>())
                };
                assert_eq!(on(&checked), on(&kept), "{file}: rules on {kind}");
            }
            let rest = |p: &crate::policy::Policy| {
                format!(
                    "{:?}",
                    (
                        &p.definitions,
                        &p.commits,
                        &p.audit,
                        &p.waivers,
                        &p.matchers,
                        &p.sources
                    )
                )
            };
            assert_eq!(rest(&checked), rest(&kept), "{file}");
            // What is left out is what no hook judges.
            for rule in &checked.rules {
                let judged = rule.on.iter().any(|o| HOOK_KINDS.contains(&o.value));
                let kept_it = kept.rules.iter().any(|r| r.id == rule.id);
                assert!(kept_it || !judged, "{file}: {} left out", rule.id.value);
            }
            compared += 1;
        }
        assert!(compared >= 18, "{compared} policies compared");
    }

    /// An entry keeps a rule unless its `on` names only subjects no hook
    /// judges; the rest of the file is kept whole.
    #[test]
    fn an_entry_keeps_the_rules_a_hook_may_judge() {
        let text = "version: 1\nrules:\n  - id: pr\n    on: pull_request\n    require: { ready: true }\n  - id: both\n    on: [pull_request, commit]\n    require: { message: { pattern: x } }\n  - id: release\n    on: [release, pull_request]\n    require: { tests_changed: true }\n  - id: implied\n    require: { message: { pattern: x } }\n  - id: branch\n    on: [branch]\n    require: { branch: { pattern: x } }\n";
        let sources = vec![PolicySource::new("p.yml", text)];
        let trees = decode(&encode(&sources, &refs(&parsed(&sources))), &sources).unwrap();
        let Value::Map(entries) = &trees[0].value else {
            panic!()
        };
        let (_, rules) = entries
            .iter()
            .find(|(k, _)| k.as_str() == Some("rules"))
            .unwrap();
        let Value::Seq(rules) = &rules.value else {
            panic!()
        };
        let ids: Vec<&str> = rules
            .iter()
            .map(|r| match &r.value {
                Value::Map(e) => e
                    .iter()
                    .find(|(k, _)| k.as_str() == Some("id"))
                    .unwrap()
                    .1
                    .as_str()
                    .unwrap(),
                _ => panic!(),
            })
            .collect();
        assert_eq!(ids, ["both", "implied", "branch"]);
        // The built-in pack: its commit and branch rules only.
        let pack = vec![PolicySource::new("a.yml", crate::policy::BUILTIN_TEXT)];
        let full = crate::policy::load(pack.clone()).unwrap();
        let trees = decode(&encode(&pack, &refs(&parsed(&pack))), &pack).unwrap();
        let kept =
            crate::policy::load_parsed(pack, trees.into_iter().map(Ok).collect(), true).unwrap();
        let judged = full
            .rules
            .iter()
            .filter(|r| r.on.iter().any(|o| HOOK_KINDS.contains(&o.value)))
            .count();
        assert_eq!(kept.rules.len(), judged);
        assert!(
            kept.rules.len() * 4 < full.rules.len(),
            "{} of {}",
            kept.rules.len(),
            full.rules.len()
        );
    }

    /// A policy read from an entry judges only what a hook judges.
    #[test]
    #[should_panic(expected = "holds no rule on [PullRequest]")]
    fn a_kept_policy_refuses_to_judge_a_pull_request() {
        let sources = vec![PolicySource::new("a.yml", crate::policy::BUILTIN_TEXT)];
        let trees = decode(&encode(&sources, &refs(&parsed(&sources))), &sources).unwrap();
        let kept =
            crate::policy::load_parsed(sources, trees.into_iter().map(Ok).collect(), true).unwrap();
        let _ = kept.prepare(&[SubjectKind::PullRequest]);
    }

    #[test]
    fn an_entry_of_another_build_is_not_used() {
        let sources = sources();
        let entry = encode(&sources, &refs(&parsed(&sources)));
        let texts: usize = sources.iter().map(|s| s.text.len()).sum();
        let (checked, texts) = entry.split_at(entry.len() - texts);
        let rewritten = |format: u8| {
            let mut body = checked[..checked.len() - 4].to_vec();
            body[MAGIC.len()] = format;
            let crc = checksum(&body, &sources);
            u32(&mut body, crc);
            body.extend_from_slice(texts);
            body
        };
        assert!(decode(&rewritten(FORMAT), &sources).is_some());
        assert_eq!(decode(&rewritten(FORMAT + 1), &sources), None);
    }
}
