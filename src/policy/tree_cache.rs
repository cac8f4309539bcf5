//! The parsed node trees of a policy, as bytes: what the hooks keep between
//! runs so a commit does not parse the same YAML again.
//!
//! Parsing is most of what loading a policy costs (about 3 million
//! instructions for the 14 KB built-in pack; reading it back from these bytes
//! costs a fifth of that). An entry is written only after the files loaded
//! without an error, and holds the name and full text of every file: it is
//! used only when each is byte for byte the one being loaded, so a changed,
//! renamed or reordered policy is parsed again (there is no key to collide).
//! A policy read from an entry is decoded and validated as always, except
//! that the syntax of its regexes and globs, checked when the entry was
//! written, is checked again only when they are compiled
//! ([`super::decode::Decoder::trusted`]).
//!
//! Pure: the bytes are read and written by [`crate::sources::policy_cache`].
//! Bytes that are not a well-formed entry of this build are ignored (the
//! files are parsed), never trusted: lengths are checked against what is
//! left, nesting against the parser's own limit.

use super::PolicySource;
use crate::syntax::node::{Node, Span, Value};

const MAGIC: &[u8] = b"git-policy node trees\n";
/// Bumped when the encoding changes; the build is checked too, since another
/// build may resolve the same YAML differently.
const FORMAT: u8 = 1;
/// The build: version and the commit it was built from (`--version`), so a
/// build from other sources (a developer's) never reads another's entries.
const BUILD: &str = env!("GIT_POLICY_LONG_VERSION");
/// Deeper than any tree the parser hands over (it stops at 48).
const MAX_DEPTH: usize = 64;

/// The entry for `sources`, which loaded without an error, and their parsed
/// trees (in the same order).
pub fn encode(sources: &[PolicySource], trees: &[&Node]) -> Vec<u8> {
    let size: usize = sources.iter().map(|s| s.text.len() * 3).sum();
    let mut out = Vec::with_capacity(size + 64);
    out.extend_from_slice(MAGIC);
    out.push(FORMAT);
    bytes(&mut out, BUILD.as_bytes());
    u32(&mut out, sources.len() as u32);
    for (source, tree) in sources.iter().zip(trees) {
        bytes(&mut out, source.name.as_bytes());
        out.push(u8::from(source.builtin));
        bytes(&mut out, source.text.as_bytes());
        node(&mut out, tree);
    }
    let crc = checksum(&out);
    u32(&mut out, crc);
    out
}

/// CRC-32 of an entry's body: a damaged file is parsed again, not believed.
fn checksum(body: &[u8]) -> u32 {
    let mut crc = flate2::Crc::new();
    crc.update(body);
    crc.sum()
}

/// The trees of `sources` when `entry` was written for exactly these texts
/// by this build; `None` otherwise.
pub fn decode(entry: &[u8], sources: &[PolicySource]) -> Option<Vec<Node>> {
    let (body, crc) = entry.split_at_checked(entry.len().checked_sub(4)?)?;
    if checksum(body).to_le_bytes() != crc {
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
            || r.bytes()? != source.text.as_bytes()
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

fn node(out: &mut Vec<u8>, n: &Node) {
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
        let sources = sources();
        let trees = parsed(&sources);
        let entry = encode(&sources, &refs(&trees));
        assert_eq!(decode(&entry, &sources), Some(trees));
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
            let trusted =
                crate::policy::load_parsed(sources, trees.into_iter().map(Ok).collect(), true)
                    .unwrap();
            assert_eq!(checked.prepare_all(), trusted.prepare_all(), "{file}");
            assert_eq!(format!("{checked:?}"), format!("{trusted:?}"), "{file}");
            compared += 1;
        }
        assert!(compared >= 18, "{compared} policies compared");
    }

    #[test]
    fn an_entry_of_another_build_is_not_used() {
        let sources = sources();
        let entry = encode(&sources, &refs(&parsed(&sources)));
        let mut body = entry[..entry.len() - 4].to_vec();
        body[MAGIC.len()] = FORMAT + 1;
        let crc = checksum(&body);
        u32(&mut body, crc);
        assert_eq!(decode(&body, &sources), None);
    }
}
