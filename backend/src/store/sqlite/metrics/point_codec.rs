//! One stored metric point ([`StoredPoint`]) and its binary form, used for
//! head rows and for the bodies of histogram, exponential-histogram and
//! summary chunks.
//!
//! Reading points back is on the path of every metric query and of every
//! seal (which also rolls the points up), so the form is plain varints and
//! raw doubles: about ten times faster to read than the JSON it replaced
//! (internally tagged JSON is buffered before it is parsed). Inside a run
//! of points (a chunk) each point is written against the one before it:
//! times and start times as differences, histogram bounds as "same as
//! before", cumulative bucket counts as differences, all small numbers that
//! zstd then folds further.
//!
//! Attributes are never written (the series holds them). Doubles are kept
//! bit for bit (NaN payloads, negative zero). Exemplars, which are rare,
//! stay JSON. Head rows written as JSON by earlier versions (they start
//! with `{`) are still read.

use std::sync::Arc;

use serde::Serialize;
use shared::UnixNanos;
use shared::metrics::{
    Exemplar, ExpBuckets, ExpHistogramPoint, HistogramPoint, NumberPoint, NumberValue, Quantile,
    SummaryPoint,
};

use crate::store::sqlite::blocks::codec::{CodecError, Cursor, put_ivarint, put_uvarint};

/// A stored point of any kind, as kept in the head and in chunks.
#[derive(Serialize, serde::Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase", tag = "k")]
pub enum StoredPoint {
    Number(shared::metrics::NumberPoint),
    Histogram(shared::metrics::HistogramPoint),
    ExpHistogram(shared::metrics::ExpHistogramPoint),
    Summary(shared::metrics::SummaryPoint),
}

impl StoredPoint {
    /// The point if it is a gauge/sum point.
    pub fn into_number(self) -> Option<shared::metrics::NumberPoint> {
        if let StoredPoint::Number(p) = self {
            Some(p)
        } else {
            None
        }
    }

    /// The point if it is an explicit-bucket histogram point.
    pub fn into_histogram(self) -> Option<shared::metrics::HistogramPoint> {
        if let StoredPoint::Histogram(p) = self {
            Some(p)
        } else {
            None
        }
    }

    /// The point if it is an exponential histogram point.
    pub fn into_exp_histogram(self) -> Option<shared::metrics::ExpHistogramPoint> {
        if let StoredPoint::ExpHistogram(p) = self {
            Some(p)
        } else {
            None
        }
    }

    /// The point if it is a summary point.
    pub fn into_summary(self) -> Option<shared::metrics::SummaryPoint> {
        if let StoredPoint::Summary(p) = self {
            Some(p)
        } else {
            None
        }
    }

    /// The point's timestamp.
    pub fn time(&self) -> UnixNanos {
        match self {
            StoredPoint::Number(p) => p.time,
            StoredPoint::Histogram(p) => p.time,
            StoredPoint::ExpHistogram(p) => p.time,
            StoredPoint::Summary(p) => p.time,
        }
    }
}

/// First byte of a binary head row (JSON rows start with `{`).
const HEAD_BINARY: u8 = 0xB1;

const TAG_NUMBER: u8 = 1;
const TAG_HISTOGRAM: u8 = 2;
const TAG_EXP: u8 = 3;
const TAG_SUMMARY: u8 = 4;

// Presence bits of optional fields.
const HAS_SUM: u8 = 1;
const HAS_MIN: u8 = 2;
const HAS_MAX: u8 = 4;
const SAME_BOUNDS: u8 = 8;
const COUNT_DELTAS: u8 = 16;

/// A head row for `p`.
pub fn encode_head_row(p: &StoredPoint) -> Result<Vec<u8>, CodecError> {
    let mut out = Vec::with_capacity(48);
    out.push(HEAD_BINARY);
    encode(&mut out, p, None)?;
    Ok(out)
}

/// Reads a head row, binary or (from earlier versions) JSON.
pub fn decode_head_row(bytes: &[u8]) -> Result<StoredPoint, CodecError> {
    match bytes.first() {
        Some(b'{') => {
            serde_json::from_slice(bytes).map_err(|e| CodecError::Malformed(e.to_string()))
        }
        Some(&HEAD_BINARY) => {
            let mut c = Cursor::new(bytes.get(1..).unwrap_or_default());
            let p = decode(&mut c, None)?;
            if !c.is_empty() {
                return Err(CodecError::Malformed("bytes after a head point".into()));
            }
            Ok(p)
        }
        _ => Err(CodecError::Malformed("unknown head row format".into())),
    }
}

fn put_f64(out: &mut Vec<u8>, v: f64) {
    out.extend_from_slice(&v.to_bits().to_le_bytes());
}

fn read_f64(c: &mut Cursor<'_>) -> Result<f64, CodecError> {
    Ok(f64::from_bits(u64::from_le_bytes(c.array::<8>()?)))
}

fn put_delta(out: &mut Vec<u8>, v: u64, before: u64) {
    put_ivarint(out, v.wrapping_sub(before) as i64);
}

fn read_delta(c: &mut Cursor<'_>, before: u64) -> Result<u64, CodecError> {
    Ok(before.wrapping_add(c.ivarint()? as u64))
}

fn put_exemplars(out: &mut Vec<u8>, ex: &[Exemplar]) -> Result<(), CodecError> {
    if ex.is_empty() {
        put_uvarint(out, 0);
        return Ok(());
    }
    let json = serde_json::to_vec(ex).map_err(|e| CodecError::Malformed(e.to_string()))?;
    put_uvarint(out, json.len() as u64);
    out.extend_from_slice(&json);
    Ok(())
}

fn read_exemplars(c: &mut Cursor<'_>) -> Result<Vec<Exemplar>, CodecError> {
    let n = c.len()?;
    if n == 0 {
        return Ok(Vec::new());
    }
    serde_json::from_slice(c.take(n)?).map_err(|e| CodecError::Malformed(e.to_string()))
}

fn put_options(
    out: &mut Vec<u8>,
    bits: &mut u8,
    sum: Option<f64>,
    min: Option<f64>,
    max: Option<f64>,
) {
    for (v, bit) in [(sum, HAS_SUM), (min, HAS_MIN), (max, HAS_MAX)] {
        if let Some(v) = v {
            *bits |= bit;
            put_f64(out, v);
        }
    }
}

type Extremes = (Option<f64>, Option<f64>, Option<f64>);

fn read_options(c: &mut Cursor<'_>, bits: u8) -> Result<Extremes, CodecError> {
    let mut read = |bit: u8| -> Result<Option<f64>, CodecError> {
        if bits & bit != 0 {
            Ok(Some(read_f64(c)?))
        } else {
            Ok(None)
        }
    };
    Ok((read(HAS_SUM)?, read(HAS_MIN)?, read(HAS_MAX)?))
}

/// The (time, start time) of the point before, or zeros.
fn times_of(prev: Option<&StoredPoint>) -> (u64, u64) {
    match prev {
        None => (0, 0),
        Some(StoredPoint::Number(p)) => (p.time.0, p.start_time.0),
        Some(StoredPoint::Histogram(p)) => (p.time.0, p.start_time.0),
        Some(StoredPoint::ExpHistogram(p)) => (p.time.0, p.start_time.0),
        Some(StoredPoint::Summary(p)) => (p.time.0, p.start_time.0),
    }
}

/// Appends `p` (without attributes), written against `prev`, the point
/// before it in the same run.
pub fn encode(
    out: &mut Vec<u8>,
    p: &StoredPoint,
    prev: Option<&StoredPoint>,
) -> Result<(), CodecError> {
    let (pt, ps) = times_of(prev);
    match p {
        StoredPoint::Number(n) => {
            out.push(TAG_NUMBER);
            put_delta(out, n.time.0, pt);
            put_delta(out, n.start_time.0, ps);
            put_uvarint(out, u64::from(n.flags));
            match n.value {
                NumberValue::AsDouble(d) => {
                    out.push(0);
                    put_f64(out, d);
                }
                NumberValue::AsInt(i) => {
                    out.push(1);
                    put_ivarint(out, i);
                }
            }
            put_exemplars(out, &n.exemplars)
        }
        StoredPoint::Histogram(h) => {
            out.push(TAG_HISTOGRAM);
            put_delta(out, h.time.0, pt);
            put_delta(out, h.start_time.0, ps);
            put_uvarint(out, u64::from(h.flags));
            put_uvarint(out, h.count);
            let before = match prev {
                Some(StoredPoint::Histogram(b)) => Some(b),
                _ => None,
            };
            let mut bits = 0u8;
            let at = out.len();
            out.push(0);
            put_options(out, &mut bits, h.sum, h.min, h.max);
            if before.is_some_and(|b| {
                b.explicit_bounds.len() == h.explicit_bounds.len()
                    && b.explicit_bounds
                        .iter()
                        .zip(&h.explicit_bounds)
                        .all(|(x, y)| x.to_bits() == y.to_bits())
            }) {
                bits |= SAME_BOUNDS;
            } else {
                put_uvarint(out, h.explicit_bounds.len() as u64);
                for b in &h.explicit_bounds {
                    put_f64(out, *b);
                }
            }
            put_uvarint(out, h.bucket_counts.len() as u64);
            match before.filter(|b| b.bucket_counts.len() == h.bucket_counts.len()) {
                Some(b) => {
                    bits |= COUNT_DELTAS;
                    for (c, pc) in h.bucket_counts.iter().zip(&b.bucket_counts) {
                        put_delta(out, *c, *pc);
                    }
                }
                None => {
                    for c in &h.bucket_counts {
                        put_uvarint(out, *c);
                    }
                }
            }
            out[at] = bits;
            put_exemplars(out, &h.exemplars)
        }
        StoredPoint::ExpHistogram(h) => {
            out.push(TAG_EXP);
            put_delta(out, h.time.0, pt);
            put_delta(out, h.start_time.0, ps);
            put_uvarint(out, u64::from(h.flags));
            put_uvarint(out, h.count);
            let mut bits = 0u8;
            let at = out.len();
            out.push(0);
            put_options(out, &mut bits, h.sum, h.min, h.max);
            out[at] = bits;
            put_ivarint(out, i64::from(h.scale));
            put_uvarint(out, h.zero_count);
            put_f64(out, h.zero_threshold);
            for side in [&h.positive, &h.negative] {
                put_ivarint(out, i64::from(side.offset));
                put_uvarint(out, side.bucket_counts.len() as u64);
                for c in &side.bucket_counts {
                    put_uvarint(out, *c);
                }
            }
            put_exemplars(out, &h.exemplars)
        }
        StoredPoint::Summary(s) => {
            out.push(TAG_SUMMARY);
            put_delta(out, s.time.0, pt);
            put_delta(out, s.start_time.0, ps);
            put_uvarint(out, u64::from(s.flags));
            put_uvarint(out, s.count);
            put_f64(out, s.sum);
            put_uvarint(out, s.quantile_values.len() as u64);
            for q in &s.quantile_values {
                put_f64(out, q.quantile);
                put_f64(out, q.value);
            }
            Ok(())
        }
    }
}

/// Reads a point written by [`encode`] against the same `prev`.
pub fn decode(c: &mut Cursor<'_>, prev: Option<&StoredPoint>) -> Result<StoredPoint, CodecError> {
    let (pt, ps) = times_of(prev);
    let tag = c.u8()?;
    let time = UnixNanos(read_delta(c, pt)?);
    let start_time = UnixNanos(read_delta(c, ps)?);
    let flags = c.u32v()?;
    match tag {
        TAG_NUMBER => {
            let value = match c.u8()? {
                0 => NumberValue::AsDouble(read_f64(c)?),
                1 => NumberValue::AsInt(c.ivarint()?),
                k => return Err(CodecError::Malformed(format!("number kind {k}"))),
            };
            Ok(StoredPoint::Number(NumberPoint {
                attributes: Vec::new(),
                start_time,
                time,
                value,
                exemplars: read_exemplars(c)?,
                flags,
            }))
        }
        TAG_HISTOGRAM => {
            let count = c.uvarint()?;
            let bits = c.u8()?;
            let (sum, min, max) = read_options(c, bits)?;
            let before = match prev {
                Some(StoredPoint::Histogram(b)) => Some(b),
                _ => None,
            };
            let explicit_bounds = if bits & SAME_BOUNDS != 0 {
                before
                    .map(|b| b.explicit_bounds.clone())
                    .ok_or_else(|| CodecError::Malformed("bounds of no previous point".into()))?
            } else {
                let n = c.len()?;
                (0..n).map(|_| read_f64(c)).collect::<Result<_, _>>()?
            };
            let n = c.len()?;
            let bucket_counts = if bits & COUNT_DELTAS != 0 {
                let b = before
                    .filter(|b| b.bucket_counts.len() == n)
                    .ok_or_else(|| CodecError::Malformed("counts of no previous point".into()))?;
                b.bucket_counts
                    .iter()
                    .map(|pc| read_delta(c, *pc))
                    .collect::<Result<_, _>>()?
            } else {
                (0..n).map(|_| c.uvarint()).collect::<Result<_, _>>()?
            };
            Ok(StoredPoint::Histogram(HistogramPoint {
                attributes: Vec::new(),
                start_time,
                time,
                count,
                sum,
                bucket_counts,
                explicit_bounds,
                exemplars: read_exemplars(c)?,
                flags,
                min,
                max,
            }))
        }
        TAG_EXP => {
            let count = c.uvarint()?;
            let bits = c.u8()?;
            let (sum, min, max) = read_options(c, bits)?;
            let scale = i32::try_from(c.ivarint()?)
                .map_err(|_| CodecError::Malformed("exponential scale".into()))?;
            let zero_count = c.uvarint()?;
            let zero_threshold = read_f64(c)?;
            let mut side = || -> Result<ExpBuckets, CodecError> {
                let offset = i32::try_from(c.ivarint()?)
                    .map_err(|_| CodecError::Malformed("bucket offset".into()))?;
                let n = c.len()?;
                Ok(ExpBuckets {
                    offset,
                    bucket_counts: (0..n).map(|_| c.uvarint()).collect::<Result<_, _>>()?,
                })
            };
            let positive = side()?;
            let negative = side()?;
            Ok(StoredPoint::ExpHistogram(ExpHistogramPoint {
                attributes: Vec::new(),
                start_time,
                time,
                count,
                sum,
                scale,
                zero_count,
                positive,
                negative,
                flags,
                exemplars: read_exemplars(c)?,
                min,
                max,
                zero_threshold,
            }))
        }
        TAG_SUMMARY => {
            let count = c.uvarint()?;
            let sum = read_f64(c)?;
            let n = c.len()?;
            let quantile_values = (0..n)
                .map(|_| {
                    Ok(Quantile {
                        quantile: read_f64(c)?,
                        value: read_f64(c)?,
                    })
                })
                .collect::<Result<_, CodecError>>()?;
            Ok(StoredPoint::Summary(SummaryPoint {
                attributes: Vec::new(),
                start_time,
                time,
                count,
                sum,
                quantile_values,
                flags,
            }))
        }
        t => Err(CodecError::Malformed(format!("point tag {t}"))),
    }
}

/// A histogram point read in place from a run: what aggregation needs of
/// it, borrowed from the reader's buffers.
pub struct HistView<'a> {
    pub time: u64,
    /// Start time (0: none).
    pub start: u64,
    pub flags: u32,
    pub count: u64,
    pub sum: Option<f64>,
    pub min: Option<f64>,
    pub max: Option<f64>,
    pub bounds: &'a Arc<[f64]>,
    pub counts: &'a [u64],
}

/// Reads a run of histogram points (a chunk body) without building a
/// [`StoredPoint`] per point: bounds are shared while they repeat and the
/// bucket counts are updated in one buffer. Queries over raw histogram
/// points spend most of their time here, so it allocates nothing per
/// point. Gives the same points as [`decode`].
#[derive(Default)]
pub struct HistRunReader {
    time: u64,
    start: u64,
    bounds: Arc<[f64]>,
    counts: Vec<u64>,
    any: bool,
}

impl HistRunReader {
    /// The next point, `None` at the end of the run, an error for a point
    /// that is not a histogram or is malformed.
    pub fn next<'a>(&'a mut self, c: &mut Cursor<'_>) -> Result<Option<HistView<'a>>, CodecError> {
        if c.is_empty() {
            return Ok(None);
        }
        if c.u8()? != TAG_HISTOGRAM {
            return Err(CodecError::Malformed("not a histogram run".into()));
        }
        self.time = read_delta(c, self.time)?;
        self.start = read_delta(c, self.start)?;
        let flags = c.u32v()?;
        let count = c.uvarint()?;
        let bits = c.u8()?;
        let (sum, min, max) = read_options(c, bits)?;
        if bits & SAME_BOUNDS == 0 {
            let n = c.len()?;
            let bounds: Vec<f64> = (0..n).map(|_| read_f64(c)).collect::<Result<_, _>>()?;
            if *self.bounds != *bounds {
                self.bounds = Arc::from(bounds);
            }
        } else if !self.any {
            return Err(CodecError::Malformed("bounds of no previous point".into()));
        }
        let n = c.len()?;
        if bits & COUNT_DELTAS != 0 {
            if !self.any || self.counts.len() != n {
                return Err(CodecError::Malformed("counts of no previous point".into()));
            }
            for slot in self.counts.iter_mut() {
                *slot = read_delta(c, *slot)?;
            }
        } else {
            self.counts.clear();
            for _ in 0..n {
                self.counts.push(c.uvarint()?);
            }
        }
        let ex = c.len()?;
        c.take(ex)?;
        self.any = true;
        Ok(Some(HistView {
            time: self.time,
            start: self.start,
            flags,
            count,
            sum,
            min,
            max,
            bounds: &self.bounds,
            counts: &self.counts,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn f64_any() -> impl Strategy<Value = f64> {
        prop_oneof![
            any::<f64>(),
            Just(f64::NAN),
            Just(-0.0),
            Just(f64::INFINITY),
            (0u32..1000).prop_map(|x| f64::from(x) * 0.25),
        ]
    }

    fn point() -> impl Strategy<Value = StoredPoint> {
        let times = (any::<u64>(), any::<u64>(), any::<u32>());
        prop_oneof![
            (times, any::<bool>(), any::<i64>(), f64_any()).prop_map(|((t, s, f), int, i, d)| {
                StoredPoint::Number(NumberPoint {
                    time: UnixNanos(t),
                    start_time: UnixNanos(s),
                    flags: f,
                    value: if int {
                        NumberValue::AsInt(i)
                    } else {
                        NumberValue::AsDouble(d)
                    },
                    exemplars: if f % 5 == 0 {
                        vec![Exemplar {
                            time: UnixNanos(s),
                            value: Some(NumberValue::AsInt(i)),
                            ..Default::default()
                        }]
                    } else {
                        vec![]
                    },
                    ..Default::default()
                })
            }),
            (
                times,
                any::<u64>(),
                proptest::option::of(f64_any()),
                proptest::option::of(f64_any()),
                proptest::collection::vec(f64_any(), 0..4),
                proptest::collection::vec(any::<u64>(), 0..5)
            )
                .prop_map(|((t, s, f), count, sum, min, bounds, counts)| {
                    StoredPoint::Histogram(HistogramPoint {
                        time: UnixNanos(t),
                        start_time: UnixNanos(s),
                        flags: f,
                        count,
                        sum,
                        min,
                        max: sum,
                        explicit_bounds: bounds,
                        bucket_counts: counts,
                        ..Default::default()
                    })
                }),
            (
                times,
                any::<u64>(),
                -20i32..20,
                proptest::collection::vec(any::<u64>(), 0..5)
            )
                .prop_map(|((t, s, f), count, scale, counts)| {
                    StoredPoint::ExpHistogram(ExpHistogramPoint {
                        time: UnixNanos(t),
                        start_time: UnixNanos(s),
                        flags: f,
                        count,
                        sum: Some(1.5),
                        scale,
                        zero_count: count / 3,
                        positive: ExpBuckets {
                            offset: scale,
                            bucket_counts: counts.clone(),
                        },
                        negative: ExpBuckets {
                            offset: -scale,
                            bucket_counts: counts,
                        },
                        zero_threshold: 1e-9,
                        ..Default::default()
                    })
                }),
            (
                times,
                any::<u64>(),
                f64_any(),
                proptest::collection::vec((f64_any(), f64_any()), 0..4)
            )
                .prop_map(|((t, s, f), count, sum, qs)| {
                    StoredPoint::Summary(SummaryPoint {
                        time: UnixNanos(t),
                        start_time: UnixNanos(s),
                        flags: f,
                        count,
                        sum,
                        quantile_values: qs
                            .into_iter()
                            .map(|(quantile, value)| Quantile { quantile, value })
                            .collect(),
                        ..Default::default()
                    })
                }),
        ]
    }

    /// Equality that tells NaNs and zeros apart by their bits.
    fn bits(p: &StoredPoint) -> String {
        format!("{p:?}")
    }

    proptest! {
        #[test]
        fn runs_of_points_round_trip_bit_for_bit(points in proptest::collection::vec(point(), 1..12)) {
            let mut out = Vec::new();
            for (i, p) in points.iter().enumerate() {
                encode(&mut out, p, i.checked_sub(1).map(|j| &points[j])).unwrap();
            }
            let mut c = Cursor::new(&out);
            let mut back: Vec<StoredPoint> = Vec::new();
            for _ in 0..points.len() {
                let p = decode(&mut c, back.last()).unwrap();
                back.push(p);
            }
            prop_assert!(c.is_empty());
            for (a, b) in points.iter().zip(&back) {
                prop_assert_eq!(bits(a), bits(b));
            }
            for cut in 0..out.len() {
                let mut c = Cursor::new(&out[..cut]);
                let mut prev: Option<StoredPoint> = None;
                let mut ok = true;
                for _ in 0..points.len() {
                    match decode(&mut c, prev.as_ref()) {
                        Ok(p) => prev = Some(p),
                        Err(_) => { ok = false; break; }
                    }
                }
                prop_assert!(!ok, "a run cut at {} decoded", cut);
            }
        }

        /// The in-place reader sees what the general decoder sees.
        #[test]
        fn histogram_runs_read_in_place_as_decoded(
            runs in proptest::collection::vec(
                (any::<u64>(), proptest::collection::vec(0u64..1000, 3..4), 0u8..3),
                1..20,
            )
        ) {
            let points: Vec<StoredPoint> = runs
                .iter()
                .scan(0u64, |t, (dt, counts, bounds)| {
                    *t = t.wrapping_add(dt % 10_000);
                    Some(StoredPoint::Histogram(HistogramPoint {
                        time: UnixNanos(*t),
                        count: counts.iter().sum(),
                        sum: Some(1.25),
                        bucket_counts: counts.clone(),
                        explicit_bounds: vec![1.0, f64::from(*bounds) + 2.0],
                        min: (*bounds == 1).then_some(0.5),
                        ..Default::default()
                    }))
                })
                .collect();
            let mut out = Vec::new();
            for (i, p) in points.iter().enumerate() {
                encode(&mut out, p, i.checked_sub(1).map(|j| &points[j])).unwrap();
            }
            let mut c = Cursor::new(&out);
            let mut reader = HistRunReader::default();
            for p in &points {
                let StoredPoint::Histogram(h) = p else { unreachable!() };
                let v = reader.next(&mut c).unwrap().unwrap();
                prop_assert_eq!(v.time, h.time.0);
                prop_assert_eq!(v.count, h.count);
                prop_assert_eq!(v.counts, &h.bucket_counts[..]);
                prop_assert_eq!(&v.bounds[..], &h.explicit_bounds[..]);
                prop_assert_eq!((v.sum, v.min, v.max), (h.sum, h.min, h.max));
            }
            prop_assert!(reader.next(&mut c).unwrap().is_none());
        }

        #[test]
        fn head_rows_round_trip(p in point()) {
            let row = encode_head_row(&p).unwrap();
            prop_assert_eq!(bits(&decode_head_row(&row).unwrap()), bits(&p));
        }
    }

    #[test]
    fn json_head_rows_of_earlier_versions_are_read() {
        let p = StoredPoint::Number(NumberPoint {
            time: UnixNanos(5),
            value: NumberValue::AsInt(-3),
            ..Default::default()
        });
        let json = serde_json::to_vec(&p).unwrap();
        assert_eq!(decode_head_row(&json).unwrap(), p);
        assert!(decode_head_row(b"").is_err());
        assert!(decode_head_row(b"\x00").is_err());
    }
}
