//! Small text helpers every layer uses: shortened commit ids, counted
//! nouns, the natural order of ticket ids. A leaf: imports nothing of the crate.

/// Natural order for ticket ids: runs of digits compare as numbers, so
/// `ZOOKEEPER-842` comes before `ZOOKEEPER-1200` (a plain string order puts
/// it after). Ties (`EPL-07` and `EPL-7`) fall back to the string order.
pub(crate) fn natural_cmp(a: &str, b: &str) -> std::cmp::Ordering {
    use std::cmp::Ordering;
    fn runs(text: &str) -> impl Iterator<Item = (bool, &str)> {
        let mut rest = text;
        std::iter::from_fn(move || {
            let first = rest.chars().next()?;
            let digits = first.is_ascii_digit();
            let end = rest
                .find(|c: char| c.is_ascii_digit() != digits)
                .unwrap_or(rest.len());
            let (run, after) = rest.split_at(end);
            rest = after;
            Some((digits, run))
        })
    }
    let (mut left, mut right) = (runs(a), runs(b));
    loop {
        match (left.next(), right.next()) {
            (None, None) => return a.cmp(b),
            (None, Some(_)) => return Ordering::Less,
            (Some(_), None) => return Ordering::Greater,
            (Some((true, x)), Some((true, y))) => {
                let (x, y) = (x.trim_start_matches('0'), y.trim_start_matches('0'));
                let order = x.len().cmp(&y.len()).then_with(|| x.cmp(y));
                if order != Ordering::Equal {
                    return order;
                }
            }
            (Some((_, x)), Some((_, y))) => {
                let order = x.cmp(y);
                if order != Ordering::Equal {
                    return order;
                }
            }
        }
    }
}

/// The first 10 characters of a commit id (never splitting a character).
pub(crate) fn short_sha(sha: &str) -> &str {
    sha.char_indices()
        .nth(10)
        .and_then(|(i, _)| sha.get(..i))
        .unwrap_or(sha)
}

/// "1 error", "2 warnings".
pub(crate) fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        format!("{n} {word}")
    } else {
        format!("{n} {word}s")
    }
}

#[cfg(test)]
mod tests {
    use super::natural_cmp;

    #[test]
    fn tickets_sort_naturally() {
        let mut ids = vec![
            "ZOOKEEPER-1200",
            "ZOOKEEPER-842",
            "EPL-7",
            "EPL-07",
            "AB#10",
            "AB#9",
            "EPL-7a",
            "ZOOKEEPER-842",
        ];
        ids.sort_by(|a, b| natural_cmp(a, b));
        assert_eq!(
            ids,
            [
                "AB#9",
                "AB#10",
                "EPL-07",
                "EPL-7",
                "EPL-7a",
                "ZOOKEEPER-842",
                "ZOOKEEPER-842",
                "ZOOKEEPER-1200"
            ]
        );
        // A string order would put 1200 first.
        assert!("ZOOKEEPER-1200" < "ZOOKEEPER-842");
    }
}
