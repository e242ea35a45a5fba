//! The stored form of rollup buckets. One row holds a *pack*: the buckets
//! of one series within one hour (sixty 1-minute buckets, or the single
//! 1-hour bucket), so a day of 1-minute rollups is 24 rows per series
//! rather than 1,440.
//!
//! ```text
//! pack    = format:u8 kind:u8 n:uvarint bucket*n
//! bucket  = slot:u8 (bucket index within the hour, ascending) body
//! number  = count flags first_ms [last_ms] first [last] [min] [max] [sum] [increase] [sketch]
//! hist    = count flags [nb bound*nb] [count*(nb+1)] [sum] [min] [max]
//! exp     = count flags [sum] [min] [max] exp_buckets
//! summary = count flags [sum] last_ms nq (q v)*nq
//! ```
//!
//! Packs are read on every rolled-up query, a day of them per series for a
//! 24-hour chart, so they are plain varints, not zstd (which made such
//! queries a third slower, for half the bytes): the encoding is compact on
//! its own instead. A number is one varint tag: a whole number (|v| < 2^53)
//! as a zigzag varint, a short decimal (`0.0315` = 315·10⁻⁴, up to 15
//! places, kept only when it reads back bit for bit) as digits and places,
//! anything else as the tag and the double's 8 bytes. Number buckets leave
//! out what follows from other fields bit for bit (a minimum equal to the
//! first reading, the sum of one reading, a zero increase…), and histogram
//! buckets without observations leave out their counts. First and last
//! times are offsets in milliseconds (nothing computes with them; they only
//! order buckets).

use std::sync::Arc;

use super::exp_buckets::ExpBuckets;
use super::rollup_math::{ExpRollup, HistRollup, NumberRollup, Rollup, SummaryRollup};
use crate::store::sqlite::blocks::codec::{CodecError, Cursor, put_bytes, put_uvarint};

const FORMAT: u8 = 1;
const MS: u64 = 1_000_000;

const KIND_NUMBER: u8 = 1;
const KIND_HIST: u8 = 2;
const KIND_EXP: u8 = 3;
const KIND_SUMMARY: u8 = 4;

// Number bucket flags.
const MIN_FIRST: u8 = 1;
const MIN_LAST: u8 = 2;
const MAX_FIRST: u8 = 4;
const MAX_LAST: u8 = 8;
const SUM_DERIVED: u8 = 16;
const INC_ZERO: u8 = 32;
const INC_SUM: u8 = 64;
const SKETCH: u8 = 128;

// Histogram, exponential histogram and summary flags.
const HAS_MIN: u8 = 1;
const HAS_MAX: u8 = 2;
const SAME_BOUNDS: u8 = 4;
const HAS_SUM: u8 = 8;
/// Every bucket count is zero (a minute without observations).
const ZERO_COUNTS: u8 = 16;

/// Largest whole number written as a varint (beyond it doubles are inexact).
const MAX_WHOLE: f64 = 9_007_199_254_740_992.0;

/// Powers of ten that are exact doubles.
const POW10: [f64; 16] = [
    1.0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
];

fn zigzag(i: i64) -> u64 {
    ((i << 1) ^ (i >> 63)) as u64
}

fn unzigzag(z: u64) -> i64 {
    ((z >> 1) as i64) ^ -((z & 1) as i64)
}

/// Writes a double as the shortest of: a whole number, a decimal that
/// reads back bit for bit, or its 8 bytes (see the module doc).
fn put_num(out: &mut Vec<u8>, v: f64) {
    let negative_zero = v == 0.0 && v.is_sign_negative();
    if v.is_finite() && !negative_zero {
        if v.fract() == 0.0 && v.abs() < MAX_WHOLE {
            put_uvarint(out, zigzag(v as i64) << 2);
            return;
        }
        for (k, scale) in POW10.iter().enumerate().skip(1) {
            let m = (v * scale).round();
            if m.abs() >= MAX_WHOLE {
                break;
            }
            if same(m / scale, v) {
                put_uvarint(out, (zigzag(m as i64) << 6) | ((k as u64) << 2) | 2);
                return;
            }
        }
    }
    out.push(1);
    out.extend_from_slice(&v.to_bits().to_le_bytes());
}

fn read_num(c: &mut Cursor<'_>) -> Result<f64, CodecError> {
    let u = c.uvarint()?;
    match u & 3 {
        0 => Ok(unzigzag(u >> 2) as f64),
        2 => {
            let scale = POW10.get(((u >> 2) & 15) as usize).copied().unwrap_or(1.0);
            Ok(unzigzag(u >> 6) as f64 / scale)
        }
        _ if u == 1 => Ok(f64::from_bits(u64::from_le_bytes(c.array::<8>()?))),
        _ => Err(CodecError::Malformed("rollup number tag".into())),
    }
}

fn same(a: f64, b: f64) -> bool {
    a.to_bits() == b.to_bits()
}

fn kind_of(r: &Rollup) -> u8 {
    match r {
        Rollup::Number(_) => KIND_NUMBER,
        Rollup::Histogram(_) => KIND_HIST,
        Rollup::Exp(_) => KIND_EXP,
        Rollup::Summary(_) => KIND_SUMMARY,
    }
}

/// Encodes the buckets of one hour: (slot, bucket start, bucket) in slot
/// order, all of one kind.
pub fn encode_pack(buckets: &[(u8, u64, &Rollup)]) -> Result<Vec<u8>, CodecError> {
    let kind = buckets.first().map(|b| kind_of(b.2)).unwrap_or(KIND_NUMBER);
    let mut body = Vec::with_capacity(64 * buckets.len());
    put_uvarint(&mut body, buckets.len() as u64);
    let mut prev_bounds: Option<Arc<[f64]>> = None;
    for (slot, start, r) in buckets {
        if kind_of(r) != kind {
            return Err(CodecError::Malformed("rollup pack mixes kinds".into()));
        }
        body.push(*slot);
        match r {
            Rollup::Number(n) => put_number(&mut body, *start, n),
            Rollup::Histogram(h) => put_hist(&mut body, h, &mut prev_bounds),
            Rollup::Exp(e) => put_exp(&mut body, e),
            Rollup::Summary(s) => put_summary(&mut body, *start, s),
        }
    }
    let mut out = Vec::with_capacity(body.len() + 2);
    out.push(FORMAT);
    out.push(kind);
    out.extend_from_slice(&body);
    Ok(out)
}

fn put_number(out: &mut Vec<u8>, start: u64, n: &NumberRollup) {
    let many = n.count > 1;
    let mut flags = 0u8;
    if same(n.min, n.first) {
        flags |= MIN_FIRST;
    } else if many && same(n.min, n.last) {
        flags |= MIN_LAST;
    }
    if same(n.max, n.first) {
        flags |= MAX_FIRST;
    } else if many && same(n.max, n.last) {
        flags |= MAX_LAST;
    }
    if (n.count == 1 && same(n.sum, n.first)) || (n.count == 2 && same(n.sum, n.first + n.last)) {
        flags |= SUM_DERIVED;
    }
    if same(n.increase, 0.0) {
        flags |= INC_ZERO;
    } else if same(n.increase, n.sum) {
        flags |= INC_SUM;
    }
    if n.sketch.is_some() {
        flags |= SKETCH;
    }
    put_uvarint(out, n.count);
    out.push(flags);
    put_uvarint(out, n.first_time.saturating_sub(start) / MS);
    if many {
        put_uvarint(out, n.last_time.saturating_sub(n.first_time) / MS);
    }
    put_num(out, n.first);
    if many {
        put_num(out, n.last);
    }
    if flags & (MIN_FIRST | MIN_LAST) == 0 {
        put_num(out, n.min);
    }
    if flags & (MAX_FIRST | MAX_LAST) == 0 {
        put_num(out, n.max);
    }
    if flags & SUM_DERIVED == 0 {
        put_num(out, n.sum);
    }
    if flags & (INC_ZERO | INC_SUM) == 0 {
        put_num(out, n.increase);
    }
    if let Some(s) = &n.sketch {
        let mut b = Vec::new();
        s.encode(&mut b);
        put_bytes(out, &b);
    }
}

fn put_hist(out: &mut Vec<u8>, h: &HistRollup, prev: &mut Option<Arc<[f64]>>) {
    let mut flags = 0u8;
    if h.min.is_some() {
        flags |= HAS_MIN;
    }
    if h.max.is_some() {
        flags |= HAS_MAX;
    }
    if h.sum != 0.0 {
        flags |= HAS_SUM;
    }
    let same_bounds = prev.as_ref().is_some_and(|p| **p == *h.bounds);
    if same_bounds {
        flags |= SAME_BOUNDS;
    }
    let zero = h.counts.iter().all(|c| *c == 0);
    if zero {
        flags |= ZERO_COUNTS;
    }
    put_uvarint(out, h.count);
    out.push(flags);
    if !same_bounds {
        put_uvarint(out, h.bounds.len() as u64);
        for b in h.bounds.iter() {
            out.extend_from_slice(&b.to_bits().to_le_bytes());
        }
        *prev = Some(h.bounds.clone());
    }
    if !zero {
        for i in 0..=h.bounds.len() {
            put_uvarint(out, h.counts.get(i).copied().unwrap_or(0));
        }
    }
    if flags & HAS_SUM != 0 {
        put_num(out, h.sum);
    }
    if let Some(m) = h.min {
        put_num(out, m);
    }
    if let Some(m) = h.max {
        put_num(out, m);
    }
}

fn put_exp(out: &mut Vec<u8>, e: &ExpRollup) {
    let mut flags = 0u8;
    if e.min.is_some() {
        flags |= HAS_MIN;
    }
    if e.max.is_some() {
        flags |= HAS_MAX;
    }
    if e.sum != 0.0 {
        flags |= HAS_SUM;
    }
    put_uvarint(out, e.count);
    out.push(flags);
    if flags & HAS_SUM != 0 {
        put_num(out, e.sum);
    }
    if let Some(m) = e.min {
        put_num(out, m);
    }
    if let Some(m) = e.max {
        put_num(out, m);
    }
    e.buckets.encode(out);
}

fn put_summary(out: &mut Vec<u8>, start: u64, s: &SummaryRollup) {
    let flags = if s.sum != 0.0 { HAS_SUM } else { 0 };
    put_uvarint(out, s.count);
    out.push(flags);
    if flags & HAS_SUM != 0 {
        put_num(out, s.sum);
    }
    put_uvarint(out, s.last_time.saturating_sub(start) / MS);
    put_uvarint(out, s.quantiles.len() as u64);
    for (q, v) in &s.quantiles {
        put_num(out, *q);
        put_num(out, *v);
    }
}

/// Decodes a pack of the hour starting at `hour`, whose buckets are
/// `width` nanoseconds wide, calling `f(bucket start, bucket)` in time
/// order. Value sketches are decoded only when `sketches` is set (they are
/// skipped cheaply otherwise). The bucket lent to `f` is reused for the
/// next one (a query merges it into a step and moves on; nothing is
/// allocated per bucket).
pub fn decode_pack(
    bytes: &[u8],
    hour: u64,
    width: u64,
    sketches: bool,
    mut f: impl FnMut(u64, &Rollup),
) -> Result<(), CodecError> {
    let mut c = Cursor::new(bytes);
    let format = c.u8()?;
    if format != FORMAT {
        return Err(CodecError::Version(format));
    }
    let kind = c.u8()?;
    let n = c.len()?;
    let slots = (3_600_000_000_000 / width.max(1)).max(1);
    let mut prev_slot: Option<u8> = None;
    let mut prev_bounds: Arc<[f64]> = Arc::from(Vec::new());
    let mut bucket: Option<Rollup> = None;
    for _ in 0..n {
        let slot = c.u8()?;
        if u64::from(slot) >= slots || prev_slot.is_some_and(|p| slot <= p) {
            return Err(CodecError::Malformed(format!("rollup slot {slot}")));
        }
        prev_slot = Some(slot);
        let start = hour + u64::from(slot) * width;
        match (kind, &mut bucket) {
            (KIND_HIST, Some(Rollup::Histogram(h))) => read_hist(&mut c, &mut prev_bounds, h)?,
            (KIND_HIST, _) => {
                let mut h = HistRollup {
                    count: 0,
                    sum: 0.0,
                    min: None,
                    max: None,
                    bounds: prev_bounds.clone(),
                    counts: Vec::new(),
                };
                read_hist(&mut c, &mut prev_bounds, &mut h)?;
                bucket = Some(Rollup::Histogram(h));
            }
            (KIND_NUMBER, _) => {
                bucket = Some(Rollup::Number(read_number(&mut c, start, sketches)?))
            }
            (KIND_EXP, _) => bucket = Some(Rollup::Exp(read_exp(&mut c)?)),
            (KIND_SUMMARY, _) => bucket = Some(Rollup::Summary(read_summary(&mut c, start)?)),
            (k, _) => return Err(CodecError::Malformed(format!("rollup kind {k}"))),
        }
        if let Some(b) = &bucket {
            f(start, b);
        }
    }
    if !c.is_empty() {
        return Err(CodecError::Malformed("bytes after the rollup pack".into()));
    }
    Ok(())
}

fn read_number(c: &mut Cursor<'_>, start: u64, sketches: bool) -> Result<NumberRollup, CodecError> {
    let count = c.uvarint()?;
    if count == 0 {
        return Err(CodecError::Malformed("empty number bucket".into()));
    }
    let flags = c.u8()?;
    let many = count > 1;
    let first_time = start.saturating_add(c.uvarint()?.saturating_mul(MS));
    let last_time = if many {
        first_time.saturating_add(c.uvarint()?.saturating_mul(MS))
    } else {
        first_time
    };
    let first = read_num(c)?;
    let last = if many { read_num(c)? } else { first };
    let min = match flags & (MIN_FIRST | MIN_LAST) {
        0 => read_num(c)?,
        MIN_FIRST => first,
        _ => last,
    };
    let max = match flags & (MAX_FIRST | MAX_LAST) {
        0 => read_num(c)?,
        MAX_FIRST => first,
        _ => last,
    };
    let sum = if flags & SUM_DERIVED == 0 {
        read_num(c)?
    } else if many {
        first + last
    } else {
        first
    };
    let increase = if flags & INC_ZERO != 0 {
        0.0
    } else if flags & INC_SUM != 0 {
        sum
    } else {
        read_num(c)?
    };
    let sketch = if flags & SKETCH != 0 {
        let b = c.bytes()?;
        if sketches {
            Some(ExpBuckets::decode(&mut Cursor::new(b))?)
        } else {
            None
        }
    } else {
        None
    };
    Ok(NumberRollup {
        count,
        sum,
        min,
        max,
        first_time,
        first,
        last_time,
        last,
        increase,
        sketch,
    })
}

fn read_extremes(
    c: &mut Cursor<'_>,
    flags: u8,
) -> Result<(f64, Option<f64>, Option<f64>), CodecError> {
    let sum = if flags & HAS_SUM != 0 {
        read_num(c)?
    } else {
        0.0
    };
    let min = if flags & HAS_MIN != 0 {
        Some(read_num(c)?)
    } else {
        None
    };
    let max = if flags & HAS_MAX != 0 {
        Some(read_num(c)?)
    } else {
        None
    };
    Ok((sum, min, max))
}

/// Reads a histogram bucket into `h`, reusing its bucket vector.
fn read_hist(
    c: &mut Cursor<'_>,
    prev: &mut Arc<[f64]>,
    h: &mut HistRollup,
) -> Result<(), CodecError> {
    h.count = c.uvarint()?;
    let flags = c.u8()?;
    if flags & SAME_BOUNDS == 0 {
        let nb = c.len()?;
        let mut bounds = Vec::with_capacity(nb);
        for _ in 0..nb {
            bounds.push(f64::from_bits(u64::from_le_bytes(c.array::<8>()?)));
        }
        *prev = Arc::from(bounds);
    }
    if !Arc::ptr_eq(&h.bounds, prev) {
        h.bounds = prev.clone();
    }
    h.counts.clear();
    if flags & ZERO_COUNTS != 0 {
        h.counts.resize(prev.len() + 1, 0);
    } else {
        for _ in 0..=prev.len() {
            h.counts.push(c.uvarint()?);
        }
    }
    (h.sum, h.min, h.max) = read_extremes(c, flags)?;
    Ok(())
}

fn read_exp(c: &mut Cursor<'_>) -> Result<ExpRollup, CodecError> {
    let count = c.uvarint()?;
    let flags = c.u8()?;
    let (sum, min, max) = read_extremes(c, flags)?;
    Ok(ExpRollup {
        count,
        sum,
        min,
        max,
        buckets: ExpBuckets::decode(c)?,
    })
}

fn read_summary(c: &mut Cursor<'_>, start: u64) -> Result<SummaryRollup, CodecError> {
    let count = c.uvarint()?;
    let flags = c.u8()?;
    let sum = if flags & HAS_SUM != 0 {
        read_num(c)?
    } else {
        0.0
    };
    let last_time = start.saturating_add(c.uvarint()?.saturating_mul(MS));
    let nq = c.len()?;
    let mut quantiles = Vec::with_capacity(nq);
    for _ in 0..nq {
        quantiles.push((read_num(c)?, read_num(c)?));
    }
    Ok(SummaryRollup {
        count,
        sum,
        last_time,
        quantiles,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::sqlite::metrics::exp_buckets::SKETCH_SCALE;

    const MIN: u64 = 60_000_000_000;
    const HOUR: u64 = 3_600_000_000_000;

    fn round_trip(buckets: Vec<(u8, Rollup)>, width: u64) {
        let hour = 1_700_000_000 / 3600 * HOUR;
        let refs: Vec<(u8, u64, &Rollup)> = buckets
            .iter()
            .map(|(s, r)| (*s, hour + u64::from(*s) * width, r))
            .collect();
        let bytes = encode_pack(&refs).unwrap();
        let mut back = Vec::new();
        decode_pack(&bytes, hour, width, true, |t, r| back.push((t, r.clone()))).unwrap();
        let want: Vec<(u64, Rollup)> = refs.iter().map(|(_, t, r)| (*t, (*r).clone())).collect();
        assert_eq!(back, want);
        for cut in 0..bytes.len() {
            assert!(
                decode_pack(&bytes[..cut], hour, width, true, |_, _| {}).is_err(),
                "cut at {cut} of {}",
                bytes.len()
            );
        }
    }

    fn number(start: u64, values: &[f64], increase: f64) -> Rollup {
        let mut r = NumberRollup::point(start + 7 * MS, values[0], 0.0, true);
        for (i, v) in values.iter().enumerate().skip(1) {
            r.add(start + 7 * MS + i as u64 * 10_000_000_000, *v, 0.0);
        }
        r.increase = increase;
        Rollup::Number(r)
    }

    #[test]
    fn number_buckets_round_trip_bit_for_bit() {
        let hour = 1_700_000_000 / 3600 * HOUR;
        let buckets = vec![
            (0, number(hour, &[1.0], 0.0)),
            (1, number(hour + MIN, &[2.5, -0.0], 2.5)),
            (2, number(hour + 2 * MIN, &[3.0, 1.0, 9.0, 4.0], 0.1)),
            (59, number(hour + 59 * MIN, &[f64::MAX, 1e-300, 7.0], 6.0)),
        ];
        round_trip(buckets, MIN);
    }

    proptest::proptest! {
        /// Every double reads back bit for bit, whichever form it took.
        #[test]
        fn numbers_round_trip_bit_for_bit(
            bits in proptest::prelude::any::<u64>(),
            digits in -10_000_000i64..10_000_000,
            places in 0usize..16,
        ) {
            for v in [f64::from_bits(bits), digits as f64 / POW10[places], -0.0, f64::NAN] {
                let mut out = Vec::new();
                put_num(&mut out, v);
                let back = read_num(&mut Cursor::new(&out)).unwrap();
                proptest::prop_assert_eq!(back.to_bits(), v.to_bits());
            }
        }
    }

    #[test]
    fn short_decimals_take_a_few_bytes() {
        for (v, len) in [(0.0315, 3), (12.5, 2), (3.0, 1), (-0.25, 2), (0.1 + 0.2, 9)] {
            let mut out = Vec::new();
            put_num(&mut out, v);
            assert_eq!(out.len(), len, "{v}");
        }
    }

    #[test]
    fn regular_counter_minutes_are_small() {
        let hour = 1_700_000_000 / 3600 * HOUR;
        let rollups: Vec<(u8, Rollup)> = (0..60u8)
            .map(|m| {
                let base = 1000.0 + f64::from(m) * 60.0;
                let start = hour + u64::from(m) * MIN;
                let vals: Vec<f64> = (0..6).map(|i| base + f64::from(i) * 10.0).collect();
                (m, number(start, &vals, 60.0))
            })
            .collect();
        let refs: Vec<(u8, u64, &Rollup)> = rollups
            .iter()
            .map(|(s, r)| (*s, hour + u64::from(*s) * MIN, r))
            .collect();
        let bytes = encode_pack(&refs).unwrap();
        assert!(bytes.len() < 60 * 40, "{} bytes for an hour", bytes.len());
        round_trip(rollups, MIN);
    }

    #[test]
    fn histogram_exp_and_summary_buckets_round_trip() {
        let bounds: Arc<[f64]> = Arc::from(vec![0.5, 1.0, 5.0]);
        let h = |n: u64| {
            Rollup::Histogram(HistRollup {
                count: n,
                sum: n as f64 * 0.7,
                min: Some(0.1),
                max: (n > 1).then_some(7.5),
                bounds: bounds.clone(),
                counts: vec![n, 0, 0, 0],
            })
        };
        round_trip(vec![(0, h(1)), (3, h(4)), (4, h(0))], MIN);
        let mut buckets = ExpBuckets::empty(SKETCH_SCALE);
        for v in [0.0, 1.5, -3.0, 2e9] {
            buckets.record(v);
        }
        let e = Rollup::Exp(ExpRollup {
            count: 4,
            sum: 2e9,
            min: Some(-3.0),
            max: None,
            buckets,
        });
        round_trip(vec![(0, e)], HOUR);
        let s = Rollup::Summary(SummaryRollup {
            count: 9,
            sum: 4.25,
            last_time: 1_700_000_000 / 3600 * HOUR + 11 * MS,
            quantiles: vec![(0.5, 1.0), (0.99, 2.75)],
        });
        round_trip(vec![(0, s)], HOUR);
    }
}
