//! Text that looks like a ticket reference and is none: encodings, hashes,
//! standards, advisories, licences, architectures (`UTF-8`, `SHA-256`,
//! `CVE-2025-1234`, `ISO-8601`, `X-1`). A tracker pattern that finds a
//! ticket in them lets every commit that mentions one through; `init` never
//! writes one and `validate` warns about one.

use regex::Regex;

/// One sample per key that is no tracker's.
pub(crate) const SAMPLES: &[&str] = &[
    "UTF-8",
    "UTF-16",
    "UCS-2",
    "SHA-1",
    "SHA-256",
    "MD-5",
    "CRC-32",
    "BASE-64",
    "AES-256",
    "RSA-2048",
    "CVE-2025-1234",
    "CWE-79",
    "ISO-8601",
    "RFC-2119",
    "IEEE-754",
    "ECMA-262",
    "PEP-8",
    "HTTP-2",
    "TLS-1",
    "IPV-6",
    "CP-1252",
    "X-1",
    "X86-64",
    "ARM-64",
    "AMD-64",
    "WIN-32",
    "GPL-3",
    "LGPL-2",
    "AGPL-3",
    "MPL-2",
    "COVID-19",
];

/// The samples in which `pattern` finds a ticket.
pub(crate) fn accepted(pattern: &Regex) -> Vec<&'static str> {
    SAMPLES
        .iter()
        .copied()
        .filter(|sample| {
            pattern.is_match(sample) || pattern.is_match(&format!("Fix {sample} handling"))
        })
        .collect()
}

/// Whether `key` (as in `KEY-123`) is no tracker's: a sample's key, or a
/// single letter.
pub(crate) fn is_non_ticket_key(key: &str) -> bool {
    key.len() < 2
        || SAMPLES
            .iter()
            .any(|sample| sample.split('-').next() == Some(key))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_generic_pattern_accepts_every_sample_and_named_keys_none() {
        let generic = Regex::new(r"\b[A-Z][A-Z0-9_]+-[0-9]+\b").unwrap();
        // X-1 has a one-letter key: only a pattern that allows those takes it.
        assert_eq!(accepted(&generic).len(), SAMPLES.len() - 1);
        assert!(accepted(&Regex::new(r"\b[A-Z]+-[0-9]+\b").unwrap()).contains(&"X-1"));
        assert!(accepted(&Regex::new(r"\b(ABC|OPS)-[0-9]+\b").unwrap()).is_empty());
        assert!(accepted(&Regex::new(r"\bAB#[0-9]+\b").unwrap()).is_empty());
        assert!(is_non_ticket_key("UTF") && is_non_ticket_key("X") && is_non_ticket_key("CVE"));
        assert!(!is_non_ticket_key("ABC") && !is_non_ticket_key("ZOOKEEPER"));
    }
}
