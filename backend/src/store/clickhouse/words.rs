//! Free-text words over a log body as ClickHouse conditions, with the
//! embedded engine's rule ([`terms`]): a word is a run of
//! alphanumeric characters (`char::is_alphanumeric`, Unicode) of at least
//! two characters, compared lower-cased on its first 64 characters; every
//! word of the query must be a word of the body.
//!
//! ClickHouse's own tokens (`hasToken`, `tokenbf_v1`, the `splitByNonAlpha`
//! text index) split only at ASCII separators: any non-ASCII byte is part
//! of a token, so `“error”` or `café—bar` hide the words `error` and `bar`,
//! and their case-insensitive lookups fold ASCII letters only. So:
//! - `hasTokenCaseInsensitive` answers first: a token it finds is always a
//!   word by the rule, and for an ASCII body it finds exactly the words;
//! - a body with other characters is checked by a regular expression over
//!   `lowerUTF8(Body)` whose word characters are generated from
//!   `char::is_alphanumeric`, so both engines split at the same places.
//!
//! Neither can use the exporter's `tokenbf_v1` index (it is case-sensitive;
//! ClickHouse skips granules for `hasToken` only) nor a text index (its
//! tokens are the ASCII-split ones): a word search reads the `Body` column
//! of the rows the other conditions leave.

use std::sync::LazyLock;

use clickhouse::query::Query;

use crate::store::sqlite::blocks::bloom::terms;

/// Characters of a word the embedded engine keeps (`bloom::terms`): a
/// query word this long matches every body word it starts.
const KEPT_CHARS: usize = 64;

/// The characters of a word as the inside of a regular expression class:
/// every `char::is_alphanumeric` character, as literal ranges (none of
/// them is special inside a class).
static WORD_CHARS: LazyLock<String> = LazyLock::new(|| {
    let mut class = String::new();
    let mut run: Option<(char, char)> = None;
    let close = |class: &mut String, (lo, hi): (char, char)| {
        class.push(lo);
        if hi != lo {
            class.push('-');
            class.push(hi);
        }
    };
    for c in char::MIN..=char::MAX {
        if !c.is_alphanumeric() {
            continue;
        }
        run = match run {
            Some((lo, hi)) if u32::from(hi) + 1 == u32::from(c) => Some((lo, c)),
            Some(r) => {
                close(&mut class, r);
                Some((c, c))
            }
            None => Some((c, c)),
        };
    }
    if let Some(r) = run {
        close(&mut class, r);
    }
    class
});

/// The words of a free-text query, each once, in order; empty when it has
/// nothing searchable (only punctuation or one-letter words).
pub fn of_query(q: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for w in terms(q) {
        if !out.contains(&w) {
            out.push(w);
        }
    }
    out
}

/// True for a word the embedded engine cut to its first characters.
fn is_cut(word: &str) -> bool {
    word.chars().count() >= KEPT_CHARS
}

/// The regular expression finding `word` (lower case) as a word of a
/// lower-cased body; a cut word also finds the longer words it starts.
fn pattern(word: &str) -> String {
    let class = &*WORD_CHARS;
    if is_cut(word) {
        format!("(?:^|[^{class}]){word}")
    } else {
        format!("(?:^|[^{class}]){word}(?:[^{class}]|$)")
    }
}

/// The condition "every word is a word of `Body`", binding parameters
/// `w{i}` and `re{i}` ([`bind`]); `None` without words.
pub fn condition(words: &[String]) -> Option<String> {
    if words.is_empty() {
        return None;
    }
    Some(
        words
            .iter()
            .enumerate()
            .map(|(i, w)| {
                let exact = format!("match(lowerUTF8(Body), {{re{i}:String}})");
                if is_cut(w) {
                    exact
                } else {
                    // `OrNull`: a needle ClickHouse would not take as one
                    // token answers NULL (the regular expression decides)
                    // instead of failing the query.
                    format!(
                        "(hasTokenCaseInsensitiveOrNull(Body, {{w{i}:String}})
                          OR (NOT isASCII(Body) AND {exact}))"
                    )
                }
            })
            .collect::<Vec<_>>()
            .join(" AND "),
    )
}

/// Binds the parameters of [`condition`].
pub fn bind(mut query: Query, words: &[String]) -> Query {
    for (i, w) in words.iter().enumerate() {
        query = query
            .param(&format!("w{i}"), w)
            .param(&format!("re{i}"), pattern(w));
    }
    query
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The characters a class lists, ranges expanded.
    fn listed(class: &str) -> Vec<char> {
        let chars: Vec<char> = class.chars().collect();
        let mut out = Vec::new();
        let mut i = 0;
        while i < chars.len() {
            if chars.get(i + 1) == Some(&'-') && i + 2 < chars.len() {
                out.extend(chars[i]..=chars[i + 2]);
                i += 3;
            } else {
                out.push(chars[i]);
                i += 1;
            }
        }
        out
    }

    #[test]
    fn the_class_lists_exactly_the_alphanumeric_characters() {
        let listed = listed(&WORD_CHARS);
        let expected: Vec<char> = (char::MIN..=char::MAX)
            .filter(|c| c.is_alphanumeric())
            .collect();
        assert_eq!(listed, expected);
        assert!(WORD_CHARS.starts_with("0-9A-Za-z"));
    }

    #[test]
    fn query_words_follow_the_embedded_rule_once_each() {
        assert_eq!(
            of_query("Payment FAILED: payment x (retry=3)"),
            ["payment", "failed", "retry"]
        );
        assert!(of_query("a - ! b").is_empty());
        let long = "a".repeat(70);
        assert_eq!(of_query(&long), ["a".repeat(64)]);
        assert!(pattern(&"a".repeat(64)).ends_with(&"a".repeat(64)));
    }
}
