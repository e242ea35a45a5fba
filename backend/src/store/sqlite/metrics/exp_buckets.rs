//! Base-2 exponential buckets in OpenTelemetry's layout: at scale `s` bucket
//! `i` holds the magnitudes in `(2^(i/2^s), 2^((i+1)/2^s)]`, so lowering the
//! scale by one merges buckets pairwise (`i >> 1`) and any two bucket sets
//! can be merged exactly at the smaller of their scales.
//!
//! Rollups use this one structure twice: exponential-histogram points are
//! merged in it as sent, and gauge/sum values are recorded into it at
//! [`SKETCH_SCALE`] so percentiles of raw values can be answered from a
//! rollup (within ±0.55 %) without keeping the values.

use crate::store::sqlite::blocks::codec::{CodecError, Cursor, put_ivarint, put_uvarint};

/// Scale of value sketches: base 2^(1/64) ≈ 1.0109, so a bucket's
/// representative is within 0.55 % of every value in it.
pub const SKETCH_SCALE: i32 = 6;
/// Most buckets one side may span; beyond it the scale drops (halving the
/// resolution) so a hostile spread of values cannot grow memory unbounded.
pub const MAX_SPAN: usize = 2048;
/// Scales outside OpenTelemetry's range are clamped into it.
const MIN_SCALE: i32 = -10;
const MAX_SCALE: i32 = 20;

/// One side (positive or negative magnitudes): dense counts from `offset`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Side {
    pub offset: i32,
    pub counts: Vec<u64>,
}

impl Side {
    /// Sum of the counts.
    pub fn total(&self) -> u64 {
        self.counts.iter().fold(0u64, |a, c| a.saturating_add(*c))
    }

    /// Lowest and highest index with a count (None when empty).
    fn range(&self) -> Option<(i64, i64)> {
        let first = self.counts.iter().position(|c| *c > 0)?;
        let last = self.counts.iter().rposition(|c| *c > 0)?;
        Some((
            i64::from(self.offset) + first as i64,
            i64::from(self.offset) + last as i64,
        ))
    }

    /// Adds `n` to bucket `index`, growing the dense vector as needed. The
    /// caller keeps the span within [`MAX_SPAN`].
    fn add(&mut self, index: i32, n: u64) {
        if n == 0 {
            return;
        }
        if self.counts.is_empty() {
            self.offset = index;
            self.counts.push(n);
            return;
        }
        if index < self.offset {
            let grow = (self.offset - index) as usize;
            let mut v = vec![0u64; grow];
            v.extend_from_slice(&self.counts);
            self.counts = v;
            self.offset = index;
        }
        let at = (index - self.offset) as usize;
        if at >= self.counts.len() {
            self.counts.resize(at + 1, 0);
        }
        self.counts[at] = self.counts[at].saturating_add(n);
    }

    /// The same counts `by` scales lower.
    fn downscaled(&self, by: u32) -> Side {
        if by == 0 {
            return self.clone();
        }
        let mut out = Side::default();
        for (i, c) in self.counts.iter().enumerate() {
            let idx = (i64::from(self.offset) + i as i64) >> by.min(63);
            out.add(idx as i32, *c);
        }
        out
    }

    /// Non-zero buckets as (index, count), ascending.
    pub fn iter(&self) -> impl Iterator<Item = (i32, u64)> + '_ {
        self.counts
            .iter()
            .enumerate()
            .filter(|(_, c)| **c > 0)
            .map(|(i, c)| (self.offset + i as i32, *c))
    }
}

/// Exponential buckets of both signs plus a zero bucket.
#[derive(Clone, Debug, PartialEq)]
pub struct ExpBuckets {
    pub scale: i32,
    pub zero: u64,
    pub pos: Side,
    pub neg: Side,
}

impl ExpBuckets {
    /// No counts, at `scale`.
    pub fn empty(scale: i32) -> Self {
        Self {
            scale: scale.clamp(MIN_SCALE, MAX_SCALE),
            zero: 0,
            pos: Side::default(),
            neg: Side::default(),
        }
    }

    /// Buckets as an OpenTelemetry point sends them (spans over
    /// [`MAX_SPAN`] are brought down by lowering the scale).
    pub fn from_otlp(scale: i32, zero: u64, pos: (i32, &[u64]), neg: (i32, &[u64])) -> ExpBuckets {
        let mut b = ExpBuckets::empty(scale);
        // A clamped scale re-indexes: shift the sent indexes to match.
        let shift = u32::try_from(scale - b.scale).unwrap_or(0);
        b.zero = zero;
        for (i, c) in pos.1.iter().enumerate() {
            let idx = (i64::from(pos.0) + i as i64) >> shift.min(63);
            b.pos.add(clamp_i32(idx), *c);
        }
        for (i, c) in neg.1.iter().enumerate() {
            let idx = (i64::from(neg.0) + i as i64) >> shift.min(63);
            b.neg.add(clamp_i32(idx), *c);
        }
        b.fit();
        b
    }

    /// All counts (zero bucket included).
    pub fn total(&self) -> u64 {
        self.zero
            .saturating_add(self.pos.total())
            .saturating_add(self.neg.total())
    }

    /// Bucket index of magnitude `m > 0` at `scale`.
    fn index_of(m: f64, scale: i32) -> i32 {
        let x = (m.log2() * 2f64.powi(scale)).ceil() - 1.0;
        if x.is_nan() {
            0
        } else {
            x.clamp(f64::from(i32::MIN / 2), f64::from(i32::MAX / 2)) as i32
        }
    }

    /// Lower edge `2^(i/2^scale)` of bucket `i`.
    fn lower_edge(index: i32, scale: i32) -> f64 {
        (f64::from(index) * 2f64.powi(-scale)).exp2()
    }

    /// Records one value (NaN is ignored; zero goes to the zero bucket).
    pub fn record(&mut self, v: f64) {
        if v.is_nan() {
            return;
        }
        if v == 0.0 {
            self.zero = self.zero.saturating_add(1);
            return;
        }
        let m = v.abs().min(f64::MAX);
        loop {
            let idx = Self::index_of(m, self.scale);
            let side = if v > 0.0 { &self.pos } else { &self.neg };
            let fits = match side.range() {
                None => true,
                Some((lo, hi)) => {
                    let lo = lo.min(i64::from(idx));
                    let hi = hi.max(i64::from(idx));
                    ((hi - lo) as usize) < MAX_SPAN
                }
            };
            if fits || self.scale <= MIN_SCALE {
                let side = if v > 0.0 {
                    &mut self.pos
                } else {
                    &mut self.neg
                };
                side.add(idx, 1);
                return;
            }
            self.downscale_to(self.scale - 1);
        }
    }

    /// Lowers the scale to `scale` (no-op when already at or below it).
    pub fn downscale_to(&mut self, scale: i32) {
        if scale >= self.scale {
            return;
        }
        let by = (self.scale - scale) as u32;
        self.pos = self.pos.downscaled(by);
        self.neg = self.neg.downscaled(by);
        self.scale = scale;
    }

    /// Lowers the scale until each side spans at most [`MAX_SPAN`] buckets.
    fn fit(&mut self) {
        let span = |s: &Side| {
            s.range()
                .map(|(lo, hi)| (hi - lo) as usize + 1)
                .unwrap_or(0)
        };
        while (span(&self.pos) > MAX_SPAN || span(&self.neg) > MAX_SPAN) && self.scale > MIN_SCALE {
            self.downscale_to(self.scale - 1);
        }
    }

    /// Adds `other`'s counts (exact at the smaller scale of the two, lower
    /// still if the union would span more than [`MAX_SPAN`] buckets).
    pub fn merge(&mut self, other: &ExpBuckets) {
        let mut scale = self.scale.min(other.scale);
        let union_fits = |scale: i32| {
            [(&self.pos, &other.pos), (&self.neg, &other.neg)]
                .iter()
                .all(|(a, b)| {
                    let shift = |s: &Side, from: i32| {
                        let by = (from - scale).clamp(0, 63) as u32;
                        s.range().map(|(lo, hi)| (lo >> by, hi >> by))
                    };
                    match (shift(a, self.scale), shift(b, other.scale)) {
                        (Some((l1, h1)), Some((l2, h2))) => {
                            ((h1.max(h2) - l1.min(l2)) as usize) < MAX_SPAN
                        }
                        _ => true,
                    }
                })
        };
        while !union_fits(scale) && scale > MIN_SCALE {
            scale -= 1;
        }
        self.downscale_to(scale);
        let by = (other.scale - scale).clamp(0, 31) as u32;
        self.zero = self.zero.saturating_add(other.zero);
        for (i, c) in other.pos.iter() {
            self.pos.add(i >> by, c);
        }
        for (i, c) in other.neg.iter() {
            self.neg.add(i >> by, c);
        }
    }

    /// `self - earlier` bucket by bucket, at the smaller scale; `None` when
    /// any count went down (the source restarted).
    pub fn minus(&self, earlier: &ExpBuckets) -> Option<ExpBuckets> {
        let scale = self.scale.min(earlier.scale);
        let mut a = self.clone();
        a.downscale_to(scale);
        let mut b = earlier.clone();
        b.downscale_to(scale);
        a.zero = a.zero.checked_sub(b.zero)?;
        for (side_a, side_b) in [(&mut a.pos, &b.pos), (&mut a.neg, &b.neg)] {
            for (i, c) in side_b.iter() {
                let at = i64::from(i) - i64::from(side_a.offset);
                let slot = usize::try_from(at)
                    .ok()
                    .and_then(|at| side_a.counts.get_mut(at))?;
                *slot = slot.checked_sub(c)?;
            }
        }
        Some(a)
    }

    /// Buckets in ascending value order as (lower, upper, count); the zero
    /// bucket is the point 0.
    fn ascending(&self) -> Vec<(f64, f64, u64)> {
        let mut out = Vec::new();
        for (i, c) in self.neg.iter().collect::<Vec<_>>().into_iter().rev() {
            let lo = Self::lower_edge(i, self.scale);
            let hi = Self::lower_edge(i.saturating_add(1), self.scale);
            out.push((-hi, -lo, c));
        }
        if self.zero > 0 {
            out.push((0.0, 0.0, self.zero));
        }
        for (i, c) in self.pos.iter() {
            let lo = Self::lower_edge(i, self.scale);
            let hi = Self::lower_edge(i.saturating_add(1), self.scale);
            out.push((lo, hi, c));
        }
        out
    }

    /// The `q` quantile of a histogram's observations, interpolating
    /// linearly inside the bucket that holds rank `q·count` (as Prometheus'
    /// `histogram_quantile` does), clamped to the known min and max.
    pub fn quantile(&self, q: f64, min: Option<f64>, max: Option<f64>) -> Option<f64> {
        let total = self.total();
        if total == 0 || !(0.0..=1.0).contains(&q) {
            return None;
        }
        let rank = q * total as f64;
        let mut before = 0u64;
        let mut found = None;
        for (lo, hi, c) in self.ascending() {
            if (before + c) as f64 >= rank {
                let into = (rank - before as f64) / c as f64;
                found = Some(lo + (hi - lo) * into.clamp(0.0, 1.0));
                break;
            }
            before += c;
        }
        found.map(|v| clamp_opt(v, min, max))
    }

    /// The value of 0-based rank `k` among the recorded values: the
    /// representative of its bucket (`2·hi/(1+base)`, within 0.55 % at
    /// [`SKETCH_SCALE`]).
    pub fn value_at_rank(&self, k: u64) -> Option<f64> {
        let base = Self::lower_edge(1, self.scale);
        let mut before = 0u64;
        for (lo, hi, c) in self.ascending() {
            if before + c > k {
                return Some(if lo == 0.0 && hi == 0.0 {
                    0.0
                } else if hi > 0.0 {
                    2.0 * hi / (1.0 + base)
                } else {
                    2.0 * lo / (1.0 + base)
                });
            }
            before += c;
        }
        None
    }

    /// Appends the compact form: scale, zero count, then per side the
    /// non-zero buckets as (gap, count) varint pairs.
    pub fn encode(&self, out: &mut Vec<u8>) {
        put_ivarint(out, i64::from(self.scale));
        put_uvarint(out, self.zero);
        for side in [&self.pos, &self.neg] {
            let nonzero: Vec<(i32, u64)> = side.iter().collect();
            put_uvarint(out, nonzero.len() as u64);
            let mut prev: Option<i32> = None;
            for (i, c) in nonzero {
                match prev {
                    None => put_ivarint(out, i64::from(i)),
                    Some(p) => put_uvarint(out, (i64::from(i) - i64::from(p) - 1) as u64),
                }
                put_uvarint(out, c);
                prev = Some(i);
            }
        }
    }

    /// Reads what [`ExpBuckets::encode`] wrote.
    pub fn decode(c: &mut Cursor<'_>) -> Result<ExpBuckets, CodecError> {
        let scale = i32::try_from(c.ivarint()?)
            .ok()
            .filter(|s| (MIN_SCALE..=MAX_SCALE).contains(s))
            .ok_or_else(|| CodecError::Malformed("exponential scale".into()))?;
        let mut b = ExpBuckets::empty(scale);
        b.zero = c.uvarint()?;
        for side in [&mut b.pos, &mut b.neg] {
            let n = c.len()?;
            let mut prev: Option<i64> = None;
            for _ in 0..n {
                let idx = match prev {
                    None => c.ivarint()?,
                    Some(p) => {
                        let gap = i64::try_from(c.uvarint()?)
                            .map_err(|_| CodecError::Malformed("bucket gap".into()))?;
                        p.checked_add(1)
                            .and_then(|x| x.checked_add(gap))
                            .ok_or_else(|| CodecError::Malformed("bucket index".into()))?
                    }
                };
                let idx32 = i32::try_from(idx)
                    .ok()
                    .filter(|i| (i32::MIN / 2..=i32::MAX / 2).contains(i))
                    .ok_or_else(|| CodecError::Malformed("bucket index".into()))?;
                if !side.counts.is_empty() && idx - i64::from(side.offset) >= MAX_SPAN as i64 {
                    return Err(CodecError::Malformed("bucket span".into()));
                }
                let count = c.uvarint()?;
                if count == 0 {
                    return Err(CodecError::Malformed("empty stored bucket".into()));
                }
                side.add(idx32, count);
                prev = Some(idx);
            }
        }
        Ok(b)
    }
}

fn clamp_i32(v: i64) -> i32 {
    v.clamp(i64::from(i32::MIN / 2), i64::from(i32::MAX / 2)) as i32
}

/// `v` limited to `[min, max]` where they are known.
pub fn clamp_opt(v: f64, min: Option<f64>, max: Option<f64>) -> f64 {
    let v = match min {
        Some(m) if v < m => m,
        _ => v,
    };
    match max {
        Some(m) if v > m => m,
        _ => v,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recorded_values_come_back_within_the_sketch_error() {
        let mut b = ExpBuckets::empty(SKETCH_SCALE);
        let values = [0.001, 0.5, 1.0, 3.0, 1e6, -2.0, 0.0, 42.0];
        for v in values {
            b.record(v);
        }
        let mut sorted = values.to_vec();
        sorted.sort_by(f64::total_cmp);
        for (k, want) in sorted.iter().enumerate() {
            let got = b.value_at_rank(k as u64).unwrap();
            let err = if *want == 0.0 {
                got.abs()
            } else {
                ((got - want) / want).abs()
            };
            assert!(err <= 0.0055, "rank {k}: {got} vs {want}");
        }
        assert_eq!(b.total(), values.len() as u64);
    }

    #[test]
    fn merging_at_different_scales_keeps_every_count() {
        let mut a = ExpBuckets::empty(6);
        let mut b = ExpBuckets::empty(3);
        for v in [1.0, 2.0, 3.0] {
            a.record(v);
            b.record(v * 10.0);
        }
        a.merge(&b);
        assert_eq!(a.scale, 3);
        assert_eq!(a.total(), 6);
        let median = a.value_at_rank(2).unwrap();
        assert!((2.5..=3.5).contains(&median), "{median}");
    }

    #[test]
    fn a_wide_spread_lowers_the_scale_instead_of_growing() {
        let mut b = ExpBuckets::empty(SKETCH_SCALE);
        b.record(1e-300);
        b.record(1e300);
        assert!(b.scale < SKETCH_SCALE);
        assert!(b.pos.counts.len() <= MAX_SPAN);
        assert_eq!(b.total(), 2);
    }

    #[test]
    fn minus_detects_restarts() {
        let mut before = ExpBuckets::empty(2);
        before.record(1.0);
        let mut after = before.clone();
        after.record(5.0);
        let d = after.minus(&before).unwrap();
        assert_eq!(d.total(), 1);
        assert!(before.minus(&after).is_none());
    }

    #[test]
    fn quantiles_interpolate_inside_a_bucket() {
        // Scale 0: bucket 0 is (1, 2], bucket 1 is (2, 4].
        let b = ExpBuckets::from_otlp(0, 0, (0, &[2, 2]), (0, &[]));
        assert_eq!(b.quantile(0.5, None, None), Some(2.0));
        assert_eq!(b.quantile(0.75, None, None), Some(3.0));
        assert_eq!(b.quantile(1.0, None, Some(3.5)), Some(3.5));
    }

    #[test]
    fn encoding_round_trips_and_refuses_truncation() {
        let mut b = ExpBuckets::empty(SKETCH_SCALE);
        for v in [-5.0, -0.25, 0.0, 0.0, 7.0, 7.01, 9e9] {
            b.record(v);
        }
        let mut bytes = Vec::new();
        b.encode(&mut bytes);
        let back = ExpBuckets::decode(&mut Cursor::new(&bytes)).unwrap();
        assert_eq!(back, b);
        for cut in 0..bytes.len() {
            assert!(ExpBuckets::decode(&mut Cursor::new(&bytes[..cut])).is_err());
        }
    }
}
