//! Per-block Bloom filters: "might this block hold span id X / attribute
//! k=v / word w?" in about 10 bits per entry, so a lookup reads a few
//! kilobytes per block instead of the block. A false positive only costs a
//! block decode; a false negative cannot happen.
//!
//! Hashing is xxh3 (stable across versions and platforms: the filters are
//! stored), with double hashing for the probe positions.

use xxhash_rust::xxh3::xxh3_64_with_seed;

use shared::value::AnyValue;

use super::codec::CodecError;

/// Probes per entry; with 10 bits per entry this gives ~1 % false positives.
const PROBES: u32 = 7;
const BITS_PER_ENTRY: usize = 10;

/// What an entry is, so "span id abc" and the word "abc" never collide.
#[derive(Clone, Copy, Debug)]
#[repr(u64)]
pub enum Namespace {
    SpanId = 1,
    Attribute = 2,
    Term = 3,
    Service = 4,
}

fn hash(ns: Namespace, bytes: &[u8]) -> u64 {
    xxh3_64_with_seed(bytes, ns as u64)
}

/// The attribute keys whose `key=value` pairs go into block filters
/// (`--indexed-attributes`). Every attribute of every stored item is checked
/// against it, so the keys are hashed and the entry is written into one
/// reused buffer instead of a fresh string per attribute.
/// Cloning shares the key set: every receiver thread takes its own copy.
#[derive(Clone)]
pub struct IndexedKeys {
    keys: std::sync::Arc<rustc_hash::FxHashSet<String>>,
    entry: String,
}

impl IndexedKeys {
    pub fn new(keys: &[String]) -> Self {
        Self {
            keys: std::sync::Arc::new(keys.iter().cloned().collect()),
            entry: String::new(),
        }
    }

    /// Adds the entry `key=value` to `bloom` when `key` is indexed; for an
    /// array, also one `key=element` entry per element, since a filter
    /// matches an array by any of its elements (`shared::query::value_matches`).
    pub fn add(&mut self, bloom: &mut BloomBuilder, key: &str, value: &AnyValue) {
        if !self.keys.contains(key) {
            return;
        }
        self.add_entry(bloom, key, value);
        if let AnyValue::Array(items) = value {
            for item in items {
                self.add_entry(bloom, key, item);
            }
        }
    }

    fn add_entry(&mut self, bloom: &mut BloomBuilder, key: &str, value: &AnyValue) {
        self.entry.clear();
        self.entry.push_str(key);
        self.entry.push('=');
        match value {
            AnyValue::String(s) => self.entry.push_str(s),
            other => self.entry.push_str(&other.to_display_string()),
        }
        bloom.add(Namespace::Attribute, self.entry.as_bytes());
    }
}

/// Collects entries, then builds a filter sized for them.
#[derive(Default, Debug)]
pub struct BloomBuilder {
    hashes: Vec<u64>,
}

impl BloomBuilder {
    pub fn add(&mut self, ns: Namespace, bytes: &[u8]) {
        self.hashes.push(hash(ns, bytes));
    }

    /// Adds every entry of `other` (filters of parts of one block, built
    /// apart and joined before [`BloomBuilder::finish`]).
    pub fn extend(&mut self, other: BloomBuilder) {
        self.hashes.extend(other.hashes);
    }

    /// Number of entries added (duplicates included).
    pub fn len(&self) -> usize {
        self.hashes.len()
    }

    /// True when nothing was added.
    pub fn is_empty(&self) -> bool {
        self.hashes.is_empty()
    }

    /// The serialised filter: bit count (u32 LE) then the bit array.
    pub fn finish(mut self) -> Vec<u8> {
        self.hashes.sort_unstable();
        self.hashes.dedup();
        let bits = (self.hashes.len() * BITS_PER_ENTRY)
            .max(64)
            .next_multiple_of(64);
        let mut words = vec![0u64; bits / 64];
        for h in &self.hashes {
            for p in probes(*h, bits as u64) {
                words[(p / 64) as usize] |= 1 << (p % 64);
            }
        }
        let mut out = Vec::with_capacity(4 + bits / 8);
        out.extend_from_slice(&(bits as u32).to_le_bytes());
        for w in words {
            out.extend_from_slice(&w.to_le_bytes());
        }
        out
    }
}

fn probes(h: u64, bits: u64) -> impl Iterator<Item = u64> {
    let h1 = h;
    let h2 = h.rotate_left(32) | 1;
    (0..u64::from(PROBES)).map(move |i| h1.wrapping_add(i.wrapping_mul(h2)) % bits)
}

/// Probes a filter where it is stored, reading only the bytes the probes
/// land on (a few pages) instead of the whole filter: a span-id lookup
/// asks every block's filter, and reading them whole costs ~20 KB each.
pub fn stored_may_contain(
    blob: &rusqlite::blob::Blob<'_>,
    ns: Namespace,
    bytes: &[u8],
) -> Result<bool, CodecError> {
    let mut head = [0u8; 4];
    blob.read_at_exact(&mut head, 0)
        .map_err(|_| CodecError::Truncated("bloom"))?;
    let bits = u64::from(u32::from_le_bytes(head));
    if bits == 0 || bits % 64 != 0 || blob.len() as u64 != 4 + bits / 8 {
        return Err(CodecError::Malformed("bloom filter size".into()));
    }
    for p in probes(hash(ns, bytes), bits) {
        let mut byte = [0u8; 1];
        let at = usize::try_from(4 + p / 8).map_err(|_| CodecError::Truncated("bloom"))?;
        blob.read_at_exact(&mut byte, at)
            .map_err(|_| CodecError::Truncated("bloom"))?;
        if byte[0] & (1 << (p % 8)) == 0 {
            return Ok(false);
        }
    }
    Ok(true)
}

/// A stored filter, checked in place.
pub struct Bloom<'a> {
    bits: u64,
    data: &'a [u8],
}

impl<'a> Bloom<'a> {
    pub fn parse(bytes: &'a [u8]) -> Result<Self, CodecError> {
        let (head, data) = bytes
            .split_first_chunk::<4>()
            .ok_or(CodecError::Truncated("bloom"))?;
        let bits = u64::from(u32::from_le_bytes(*head));
        if bits == 0 || bits % 64 != 0 || data.len() as u64 != bits / 8 {
            return Err(CodecError::Malformed("bloom filter size".into()));
        }
        Ok(Self { bits, data })
    }

    /// False means "certainly not in the block".
    pub fn may_contain(&self, ns: Namespace, bytes: &[u8]) -> bool {
        self.may_contain_hash(hash(ns, bytes))
    }

    fn may_contain_hash(&self, h: u64) -> bool {
        probes(h, self.bits).all(|p| {
            self.data
                .get((p / 8) as usize)
                .is_some_and(|byte| byte & (1 << (p % 8)) != 0)
        })
    }
}

/// The words of a text, as full-text search sees them: maximal runs of
/// letters and digits, lower-cased, 2 to 64 characters long.
pub fn terms(text: &str) -> impl Iterator<Item = String> + '_ {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|t| t.chars().count() >= 2)
        .map(|t| t.chars().take(64).collect::<String>().to_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_false_negatives_and_few_false_positives() {
        let mut b = BloomBuilder::default();
        for i in 0u32..4096 {
            b.add(Namespace::SpanId, &i.to_le_bytes());
        }
        let bytes = b.finish();
        let f = Bloom::parse(&bytes).unwrap();
        for i in 0u32..4096 {
            assert!(f.may_contain(Namespace::SpanId, &i.to_le_bytes()));
        }
        let fp = (10_000u32..20_000)
            .filter(|i| f.may_contain(Namespace::SpanId, &i.to_le_bytes()))
            .count();
        assert!(fp < 300, "{fp} false positives in 10000");
        // Another namespace with the same bytes is a different entry.
        let other = (0u32..1000)
            .filter(|i| f.may_contain(Namespace::Term, &i.to_le_bytes()))
            .count();
        assert!(other < 50, "{other}");
    }

    #[test]
    fn empty_filter_and_garbage() {
        let f = BloomBuilder::default().finish();
        assert!(!Bloom::parse(&f).unwrap().may_contain(Namespace::Term, b"x"));
        assert!(Bloom::parse(&[1, 2]).is_err());
        assert!(Bloom::parse(&[64, 0, 0, 0, 1]).is_err());
    }

    /// Regression: a filter on an indexed array attribute (captured HTTP
    /// headers) skipped every block, whose filter held only the whole array.
    #[test]
    fn indexed_arrays_add_each_element() {
        let key = "http.request.header.x_req_id";
        let mut indexed = IndexedKeys::new(&[key.to_owned()]);
        let mut b = BloomBuilder::default();
        let value = AnyValue::Array(vec![AnyValue::String("req-1995".into()), AnyValue::Int(7)]);
        indexed.add(&mut b, key, &value);
        let bytes = b.finish();
        let f = Bloom::parse(&bytes).unwrap();
        for entry in [
            format!("{key}=req-1995"),
            format!("{key}=7"),
            format!("{key}={}", value.to_display_string()),
        ] {
            assert!(
                f.may_contain(Namespace::Attribute, entry.as_bytes()),
                "{entry}"
            );
        }
    }

    #[test]
    fn terms_split_and_lowercase() {
        let t: Vec<String> = terms("Payment FAILED: order 7f3a-b2, retry=3 (x)").collect();
        assert_eq!(t, ["payment", "failed", "order", "7f3a", "b2", "retry"]);
    }
}
