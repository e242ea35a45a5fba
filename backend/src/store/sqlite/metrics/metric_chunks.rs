//! Sealed runs of one series' points. Gauges and sums keep (time, value) in
//! the exact Gorilla-style [`super::chunk`] codec and everything else a point
//! carries (start time, flags, integer-vs-double, exemplars) in a small
//! zstd column beside it, so regular series cost about a byte per point.
//! Histogram, exponential-histogram and summary points are multi-valued;
//! they are kept in the binary point form of [`super::point_codec`], each
//! point written against the one before, zstd-compressed (chunks of
//! earlier versions hold JSON lines, still read).
//!
//! The series' attributes are not repeated per point: readers put them back.

use shared::metrics::{Exemplar, NumberPoint, NumberValue};
use shared::{KeyValue, UnixNanos};

use super::chunk::{self, Sample};
use super::point_codec;
use super::point_codec::StoredPoint;
use crate::store::sqlite::blocks::codec::{
    CodecError, Cursor, put_bytes, put_ivarint, put_uvarint,
};

const KIND_NUMBER: u8 = 1;
/// Written by earlier versions only.
const KIND_JSON: u8 = 2;
const KIND_POINTS: u8 = 3;
/// Largest decompressed extras column accepted.
const MAX_EXTRAS: usize = 64 << 20;

/// The point without its attributes (the series holds them).
pub fn strip_attributes(p: &StoredPoint) -> StoredPoint {
    let mut p = p.clone();
    match &mut p {
        StoredPoint::Number(n) => n.attributes.clear(),
        StoredPoint::Histogram(n) => n.attributes.clear(),
        StoredPoint::ExpHistogram(n) => n.attributes.clear(),
        StoredPoint::Summary(n) => n.attributes.clear(),
    }
    p
}

/// Encodes points of one series (time-sorted by the caller).
pub fn encode(points: &[StoredPoint]) -> Result<Vec<u8>, CodecError> {
    let numbers: Option<Vec<&NumberPoint>> = points
        .iter()
        .map(|p| {
            if let StoredPoint::Number(n) = p {
                Some(n)
            } else {
                None
            }
        })
        .collect();
    let mut out = Vec::new();
    match numbers {
        Some(numbers) => {
            out.push(KIND_NUMBER);
            let samples: Vec<Sample> = numbers
                .iter()
                .map(|n| Sample {
                    time: n.time.0,
                    bits: match n.value {
                        NumberValue::AsDouble(d) => d.to_bits(),
                        NumberValue::AsInt(i) => i as u64,
                    },
                })
                .collect();
            put_bytes(&mut out, &chunk::encode(&samples));
            // The chunk codec stable-sorts by time: write extras in that order.
            let mut order: Vec<usize> = (0..numbers.len()).collect();
            order.sort_by_key(|&i| numbers[i].time);
            let mut extras = Vec::new();
            let mut prev_start = 0u64;
            for i in order {
                let n = numbers[i];
                put_ivarint(&mut extras, n.start_time.0.wrapping_sub(prev_start) as i64);
                prev_start = n.start_time.0;
                put_uvarint(&mut extras, u64::from(n.flags));
                extras.push(u8::from(matches!(n.value, NumberValue::AsInt(_))));
                if n.exemplars.is_empty() {
                    put_uvarint(&mut extras, 0);
                } else {
                    let json = serde_json::to_vec(&n.exemplars)
                        .map_err(|e| CodecError::Malformed(e.to_string()))?;
                    put_uvarint(&mut extras, json.len() as u64);
                    extras.extend_from_slice(&json);
                }
            }
            put_uvarint(&mut out, extras.len() as u64);
            out.extend_from_slice(&zstd::bulk::compress(&extras, 19)?);
        }
        None => {
            out.push(KIND_POINTS);
            let mut raw = Vec::with_capacity(points.len() * 48);
            for (i, p) in points.iter().enumerate() {
                point_codec::encode(&mut raw, p, i.checked_sub(1).and_then(|j| points.get(j)))?;
            }
            put_uvarint(&mut out, raw.len() as u64);
            out.extend_from_slice(&zstd::bulk::compress(&raw, 19)?);
        }
    }
    Ok(out)
}

/// zstd-decompresses `src` into exactly `raw` bytes with this thread's
/// decompression context: metric queries decompress thousands of small
/// packs and chunks, and setting up a context costs more than most of them.
pub fn inflate(src: &[u8], raw: usize) -> Result<Vec<u8>, CodecError> {
    thread_local! {
        static CONTEXT: std::cell::RefCell<Option<zstd::bulk::Decompressor<'static>>> =
            const { std::cell::RefCell::new(None) };
    }
    let out = CONTEXT.with(|cell| -> Result<Vec<u8>, CodecError> {
        let mut slot = cell
            .try_borrow_mut()
            .map_err(|_| CodecError::Malformed("nested decompression".into()))?;
        if slot.is_none() {
            *slot = Some(zstd::bulk::Decompressor::new()?);
        }
        match slot.as_mut() {
            Some(d) => Ok(d.decompress(src, raw)?),
            None => Err(CodecError::Malformed("no decompression context".into())),
        }
    })?;
    if out.len() != raw {
        return Err(CodecError::Malformed(
            "data decompressed to the wrong size".into(),
        ));
    }
    Ok(out)
}

/// The point with the series' attributes put back.
pub fn with_attributes(mut p: StoredPoint, attrs: &[KeyValue]) -> StoredPoint {
    let a = attrs.to_vec();
    match &mut p {
        StoredPoint::Number(n) => n.attributes = a,
        StoredPoint::Histogram(n) => n.attributes = a,
        StoredPoint::ExpHistogram(n) => n.attributes = a,
        StoredPoint::Summary(n) => n.attributes = a,
    }
    p
}

/// Decodes a chunk, giving every point the series' attributes.
pub fn decode(bytes: &[u8], attributes: &[KeyValue]) -> Result<Vec<StoredPoint>, CodecError> {
    let mut c = Cursor::new(bytes);
    match c.u8()? {
        KIND_NUMBER => {
            let samples = chunk::decode(c.bytes()?)
                .map_err(|e| CodecError::Malformed(format!("metric chunk: {e}")))?;
            let raw = usize::try_from(c.uvarint()?).unwrap_or(usize::MAX);
            if raw > MAX_EXTRAS {
                return Err(CodecError::Malformed("extras column too large".into()));
            }
            let rest = c.take(remaining(&c, bytes))?;
            let extras = if raw == 0 {
                Vec::new()
            } else {
                inflate(rest, raw)?
            };
            if extras.len() != raw {
                return Err(CodecError::Malformed(
                    "extras decompressed to the wrong size".into(),
                ));
            }
            let mut e = Cursor::new(&extras);
            let mut out = Vec::with_capacity(samples.len());
            let mut prev_start = 0u64;
            for s in samples {
                let start = prev_start.wrapping_add(e.ivarint()? as u64);
                prev_start = start;
                let flags = e.u32v()?;
                let is_int = e.u8()? != 0;
                let n_ex = e.len()?;
                let exemplars: Vec<Exemplar> = if n_ex == 0 {
                    Vec::new()
                } else {
                    serde_json::from_slice(e.take(n_ex)?)
                        .map_err(|err| CodecError::Malformed(err.to_string()))?
                };
                out.push(StoredPoint::Number(NumberPoint {
                    attributes: attributes.to_vec(),
                    start_time: UnixNanos(start),
                    time: UnixNanos(s.time),
                    value: if is_int {
                        NumberValue::AsInt(s.bits as i64)
                    } else {
                        NumberValue::AsDouble(f64::from_bits(s.bits))
                    },
                    exemplars,
                    flags,
                }));
            }
            Ok(out)
        }
        KIND_JSON => {
            let raw = usize::try_from(c.uvarint()?).unwrap_or(usize::MAX);
            if raw > MAX_EXTRAS {
                return Err(CodecError::Malformed("chunk too large".into()));
            }
            let rest = c.take(remaining(&c, bytes))?;
            let lines = zstd::bulk::decompress(rest, raw)?;
            if lines.len() != raw {
                return Err(CodecError::Malformed(
                    "chunk decompressed to the wrong size".into(),
                ));
            }
            lines
                .split(|b| *b == b'\n')
                .filter(|l| !l.is_empty())
                .map(|l| {
                    serde_json::from_slice::<StoredPoint>(l)
                        .map(|p| with_attributes(p, attributes))
                        .map_err(|e| CodecError::Malformed(e.to_string()))
                })
                .collect()
        }
        KIND_POINTS => {
            let raw = usize::try_from(c.uvarint()?).unwrap_or(usize::MAX);
            if raw > MAX_EXTRAS {
                return Err(CodecError::Malformed("chunk too large".into()));
            }
            let rest = c.take(remaining(&c, bytes))?;
            let body = inflate(rest, raw)?;
            let mut b = Cursor::new(&body);
            // A histogram point takes some 30 bytes or more.
            let mut out: Vec<StoredPoint> = Vec::with_capacity(body.len() / 32);
            while !b.is_empty() {
                let p = point_codec::decode(&mut b, out.last())?;
                out.push(p);
            }
            if !attributes.is_empty() {
                out = out
                    .into_iter()
                    .map(|p| with_attributes(p, attributes))
                    .collect();
            }
            Ok(out)
        }
        k => Err(CodecError::Malformed(format!(
            "unknown metric chunk kind {k}"
        ))),
    }
}

/// The decompressed body of a chunk of binary points (histograms and the
/// like), for readers that walk it in place (`point_codec::HistRunReader`);
/// `None` for a chunk of another kind.
pub fn points_body(bytes: &[u8]) -> Result<Option<Vec<u8>>, CodecError> {
    let mut c = Cursor::new(bytes);
    if c.u8()? != KIND_POINTS {
        return Ok(None);
    }
    let raw = usize::try_from(c.uvarint()?).unwrap_or(usize::MAX);
    if raw > MAX_EXTRAS {
        return Err(CodecError::Malformed("chunk too large".into()));
    }
    let rest = c.take(remaining(&c, bytes))?;
    Ok(Some(inflate(rest, raw)?))
}

/// Bytes left after the cursor (the cursor does not expose its position).
fn remaining(c: &Cursor<'_>, bytes: &[u8]) -> usize {
    bytes.len() - c.position()
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared::metrics::HistogramPoint;

    #[test]
    fn number_points_round_trip_with_everything_they_carry() {
        let attrs = vec![KeyValue::string("route", "/a")];
        let points: Vec<StoredPoint> = (0..200u64)
            .map(|i| {
                StoredPoint::Number(NumberPoint {
                    attributes: attrs.clone(),
                    start_time: UnixNanos(1_000),
                    time: UnixNanos(1_700_000_000_000_000_000 + i * 10_000_000_000),
                    value: if i % 7 == 0 {
                        NumberValue::AsInt(-(i as i64))
                    } else {
                        NumberValue::AsDouble(i as f64 * 1.5)
                    },
                    exemplars: if i == 3 {
                        vec![Exemplar {
                            time: UnixNanos(5),
                            value: Some(NumberValue::AsDouble(0.5)),
                            ..Default::default()
                        }]
                    } else {
                        vec![]
                    },
                    flags: u32::from(i == 9),
                })
            })
            .collect();
        let bytes = encode(&points).unwrap();
        assert!(
            bytes.len() < 200 * 4,
            "{} bytes for 200 points",
            bytes.len()
        );
        assert_eq!(decode(&bytes, &attrs).unwrap(), points);
    }

    #[test]
    fn histogram_points_round_trip() {
        let attrs = vec![KeyValue::string("k", "v")];
        let points = vec![StoredPoint::Histogram(HistogramPoint {
            attributes: attrs.clone(),
            time: UnixNanos(10),
            count: 3,
            sum: Some(1.5),
            bucket_counts: vec![1, 2],
            explicit_bounds: vec![1.0],
            min: Some(0.1),
            max: Some(f64::INFINITY),
            ..Default::default()
        })];
        let bytes = encode(&points).unwrap();
        assert_eq!(decode(&bytes, &attrs).unwrap(), points);
        for cut in 0..bytes.len() {
            assert!(decode(&bytes[..cut], &attrs).is_err());
        }
    }
}
