//! A mergeable histogram of span durations with bounded relative error,
//! stored per service and minute so the service catalog's percentiles over
//! any window come from a few rows instead of decoding every span.
//!
//! Buckets are log-linear: 32 per power of two, so a bucket is ~2.2 % wide
//! and the midpoint answer is within ~1.1 % of any value in it. The stored
//! form is sparse: (index delta, count) varint pairs.

use crate::store::sqlite::blocks::codec::{Cursor, put_uvarint};

const SUB_BUCKETS: f64 = 32.0;
/// The bucket of the largest duration (`u64::MAX` ns); stored data naming a
/// larger one is damaged.
const MAX_BUCKET: u32 = 64 * 32 + 1;

/// Durations (nanoseconds) counted per log-linear bucket, densely (at most
/// 64 × 32 + 1 buckets), so merging many rows is additions, not lookups.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct DurationHistogram {
    buckets: Vec<u64>,
}

fn bucket_of(ns: u64) -> u32 {
    if ns <= 1 {
        return 0;
    }
    ((ns as f64).log2() * SUB_BUCKETS) as u32 + 1
}

/// A representative value of a bucket (its geometric middle).
fn value_of(bucket: u32) -> u64 {
    if bucket == 0 {
        return 1;
    }
    let lo = f64::from(bucket - 1) / SUB_BUCKETS;
    let hi = f64::from(bucket) / SUB_BUCKETS;
    (((lo + hi) / 2.0).exp2()).round() as u64
}

impl DurationHistogram {
    fn add(&mut self, bucket: u32, n: u64) {
        let i = bucket as usize;
        if self.buckets.len() <= i {
            self.buckets.resize(i + 1, 0);
        }
        // Saturating: counts read back from damaged bytes may be huge.
        self.buckets[i] = self.buckets[i].saturating_add(n);
    }

    pub fn record(&mut self, ns: u64) {
        self.add(bucket_of(ns), 1);
    }

    /// Records `n` durations in the bucket of `ns` (counts aggregated
    /// elsewhere, e.g. per bucket in SQL).
    pub fn record_n(&mut self, ns: u64, n: u64) {
        self.add(bucket_of(ns), n);
    }

    pub fn merge(&mut self, other: &DurationHistogram) {
        if self.buckets.len() < other.buckets.len() {
            self.buckets.resize(other.buckets.len(), 0);
        }
        for (mine, theirs) in self.buckets.iter_mut().zip(&other.buckets) {
            *mine = mine.saturating_add(*theirs);
        }
    }

    /// Adds a histogram in its stored form without building it first.
    pub fn merge_encoded(&mut self, bytes: &[u8]) {
        let mut c = Cursor::new(bytes);
        let mut b = 0u32;
        while !c.is_empty() {
            let (Ok(d), Ok(n)) = (c.uvarint(), c.uvarint()) else {
                break;
            };
            let Some(next) = u32::try_from(d)
                .ok()
                .and_then(|d| b.checked_add(d))
                .filter(|&b| b <= MAX_BUCKET)
            else {
                break;
            };
            b = next;
            self.add(b, n);
        }
    }

    fn nonzero(&self) -> impl Iterator<Item = (u32, u64)> + '_ {
        self.buckets
            .iter()
            .enumerate()
            .filter(|(_, n)| **n > 0)
            .map(|(b, n)| (b as u32, *n))
    }

    pub fn count(&self) -> u64 {
        self.buckets.iter().fold(0u64, |a, n| a.saturating_add(*n))
    }

    /// The `q`-quantile (0..=1); `None` when empty.
    pub fn quantile(&self, q: f64) -> Option<u64> {
        let total = self.count();
        if total == 0 {
            return None;
        }
        // Nearest rank: the smallest value with at least q of the data at
        // or below it.
        let rank = ((q.clamp(0.0, 1.0) * total as f64).ceil() as u64).max(1);
        let mut seen = 0u64;
        let mut last = 0;
        for (b, n) in self.nonzero() {
            seen = seen.saturating_add(n);
            last = b;
            if seen >= rank {
                return Some(value_of(b));
            }
        }
        Some(value_of(last))
    }

    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        let mut prev = 0;
        for (b, n) in self.nonzero() {
            put_uvarint(&mut out, u64::from(b - prev));
            put_uvarint(&mut out, n);
            prev = b;
        }
        out
    }

    /// Reads [`encode`](Self::encode)'s output; damaged bytes end the read
    /// (the histogram keeps what was readable).
    pub fn decode(bytes: &[u8]) -> Self {
        let mut h = Self::default();
        h.merge_encoded(bytes);
        h
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_are_within_two_percent() {
        let mut h = DurationHistogram::default();
        let values: Vec<u64> = (1..=10_000u64).map(|i| i * 1_000).collect();
        for &v in &values {
            h.record(v);
        }
        for q in [0.5, 0.95, 0.99] {
            let exact = values[(q * values.len() as f64).ceil() as usize - 1] as f64;
            let got = h.quantile(q).unwrap() as f64;
            assert!((got - exact).abs() / exact < 0.02, "q{q}: {got} vs {exact}");
        }
        assert_eq!(h.count(), 10_000);
    }

    #[test]
    fn encode_decode_and_merge() {
        let mut a = DurationHistogram::default();
        let mut b = DurationHistogram::default();
        for v in [0, 1, 2, 999, 1_000_000, 3_600_000_000_000, u64::MAX] {
            a.record(v);
            b.record(v / 2);
        }
        assert_eq!(DurationHistogram::decode(&a.encode()), a);
        let mut m = a.clone();
        m.merge(&b);
        assert_eq!(m.count(), 14);
        assert_eq!(DurationHistogram::decode(&m.encode()), m);
        assert_eq!(DurationHistogram::default().quantile(0.5), None);
        // Damaged input never panics.
        let _ = DurationHistogram::decode(&[0xff, 0xff, 0xff]);
    }
}
