//! The compressed chunk format for one series' metric points: exact (every
//! time and value bit comes back), self-describing and versioned.
//!
//! # Layout
//!
//! ```text
//! offset  size  field
//!      0     1  format version (1)
//!      1     1  encoding of the payload, see below
//!      2     1  time unit: 0 = 1 ns, 1 = 1 µs, 2 = 1 ms, 3 = 1 s
//!      3     4  point count, u32 little-endian
//!      7     8  min time (Unix ns), u64 LE; also the chunk's base time
//!     15     8  max time (Unix ns), u64 LE
//!     23     n  one zstd frame that records its content size
//!   23+n     4  CRC-32 of every byte before it, u32 LE
//! ```
//!
//! Points are stable-sorted by time. In the payload each time is a "tick":
//! `(time - base) / unit`, with the coarsest unit that divides every offset,
//! so a 10-second series becomes 0, 10, 20, … and its delta-of-delta is 0.
//! The payload is one of:
//!
//! - `0` Gorilla: the `tsz` crate's bit stream, started at tick 0;
//! - `1` columns, XOR: every time as a zigzag varint of its delta-of-delta
//!   (wrapping, so any gap fits), then every value XOR'd with the previous
//!   one as a varint;
//! - `2` columns, integer delta: the same times, then values as zigzag
//!   varints of `bits - previous bits` (an i64 counter's increments);
//! - `3` columns, decimal: one byte `d`, the same times, then zigzag-varint
//!   deltas of `k` where the value is exactly the f64 `k / 10^d`.
//!
//! Columns rather than pairs, so zstd sees runs of like bytes.
//!
//! # Why several encodings
//!
//! [`encode`] builds every candidate that applies, decodes each with the
//! reader [`decode`] uses, compares bit for bit, and keeps the smallest after
//! zstd. Gorilla (tsz) alone is not small enough: on a 720-point, 10-second
//! chunk it measured 1.55 bytes a point for a counter and 2.06 for a gauge
//! in 0.1 steps, because XOR'd decimal fractions keep most of their mantissa
//! and its bit-packed stream leaves zstd little to find. Byte-aligned
//! columns of decimal or integer deltas take those to about 0.6 (see
//! `regular_series_are_small`). Gorilla still wins where values share zero
//! high and low bits around noisy middle bits, as f32 readings widened to
//! f64 do.
//!
//! Gorilla also needs guarding: tsz 0.1.4 was written for in-order,
//! second-resolution streams and is silently lossy outside them (lines of
//! its `src/encode/std_encoder.rs` and `src/decode/std_decoder.rs`):
//! - The first delta from the stream start is written in 14 bits
//!   (`std_encoder.rs:69`), high bits dropped. Our stream starts at tick 0
//!   and the first point is the base, so that delta is always 0.
//! - Each delta-of-delta is cut with `as i32` (`std_encoder.rs:79`), and the
//!   decoder's sign extension (`std_decoder.rs:114`) reads the 32-bit
//!   pattern `0x8000_0000` as +2^31, so exactly `-(2^31-1) ..= 2^31` survives.
//! - Times must not decrease: `time - self.time` (`std_encoder.rs:78`)
//!   overflows otherwise; hence the sort.
//! - Values pass through `f64::from_bits`/`to_bits` (`std_encoder.rs:161`),
//!   exact on x86-64 and aarch64 but not promised for signalling NaNs on
//!   every target. The end-of-stream marker is control `1111` plus a 32-bit
//!   zero delta-of-delta (`std_encoder.rs:11`, read at `std_decoder.rs:108`),
//!   unambiguous only because a real 0 is written as a single bit.
//!
//! tsz's own decoder is not used on stored bytes: on a crafted stream its
//! arithmetic overflows (`std_decoder.rs:76`, `:145`, `:150`), which panics
//! in debug builds. The reader here parses the same bits with checks.

use tsz::stream::BufferedWriter;
use tsz::{DataPoint, Encode, StdEncoder};

/// One point: time in Unix nanoseconds, value as raw 64 bits (an f64's
/// `to_bits()`, or an i64 cast to u64). Any 64 bits come back unchanged: the
/// codec may try reading them as a float or an integer to pack them
/// smaller, but keeps such an encoding only when it round-trips exactly.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Sample {
    pub time: u64,
    pub bits: u64,
}

/// The version byte [`encode`] writes; [`decode`] refuses any other.
pub const FORMAT_VERSION: u8 = 1;

/// Most points one chunk may hold. [`decode`] refuses larger counts before
/// allocating, so a hostile header cannot ask for unbounded memory.
pub const MAX_POINTS: u32 = 1 << 20;

const HEADER_LEN: usize = 23;
const TRAILER_LEN: usize = 4;

/// Nanoseconds per tick, indexed by the header's unit byte.
const UNIT_NS: [u64; 4] = [1, 1_000, 1_000_000, 1_000_000_000];

/// zstd level: chunks are small, written once and read many times.
const ZSTD_LEVEL: i32 = 19;

/// tsz's first-delta field width (`std_encoder.rs:69`).
const GORILLA_FIRST_DELTA_BITS: u32 = 14;
/// The delta-of-delta range that survives tsz's `as i32` and its decoder's
/// sign extension (see the module doc).
const GORILLA_DOD_RANGE: std::ops::RangeInclusive<i128> = -(1 << 31) + 1..=1 << 31;
/// tsz's end-of-stream marker: control `1111`, then a 32-bit zero.
const GORILLA_END_MARKER: u64 = 0b1111 << 32;
/// Most bits one point takes in a tsz stream: `1111` and a 32-bit
/// delta-of-delta, then `11`, 6 + 6 bits of window and 64 of value.
const GORILLA_MAX_POINT_BITS: usize = 4 + 32 + 2 + 6 + 6 + 64;
/// Most bytes one point takes in columns: two 10-byte varints.
const COLUMNS_MAX_POINT_BYTES: usize = 20;

/// Powers of ten that f64 holds exactly, for the decimal encoding.
const POW10: [f64; 16] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
];
/// Largest decimal mantissa, so `k as f64` is exact.
const MAX_MANTISSA: f64 = (1u64 << 53) as f64;

/// Why a chunk could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ChunkError {
    #[error("chunk is {len} bytes, shorter than its header and checksum")]
    Truncated { len: usize },
    #[error("unsupported chunk format version {0}")]
    UnsupportedVersion(u8),
    #[error("unknown chunk encoding {0}")]
    UnknownEncoding(u8),
    #[error("unknown chunk time unit {0}")]
    UnknownTimeUnit(u8),
    #[error("chunk claims {count} points, more than the {MAX_POINTS} allowed")]
    TooManyPoints { count: u32 },
    #[error("chunk checksum mismatch: stored {stored:08x}, computed {computed:08x}")]
    Checksum { stored: u32, computed: u32 },
    #[error("chunk payload does not decompress: {0}")]
    Decompress(#[source] std::io::Error),
    #[error("malformed chunk: {0}")]
    Malformed(&'static str),
}

/// How the points inside the zstd frame are laid out (the header's second
/// byte; the module doc describes each).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Encoding {
    Gorilla = 0,
    Xor = 1,
    IntDelta = 2,
    Decimal = 3,
}

impl Encoding {
    const ALL: [Encoding; 4] = [
        Encoding::Gorilla,
        Encoding::Xor,
        Encoding::IntDelta,
        Encoding::Decimal,
    ];
}

/// The fixed-size fields in front of the payload.
#[derive(Debug)]
struct Header {
    encoding: Encoding,
    unit_ns: u64,
    count: u32,
    min: u64,
    max: u64,
}

/// Encodes samples (any order, duplicates allowed) into a chunk that
/// [`decode`]s to the same samples stable-sorted by time.
///
/// # Panics
///
/// If `samples` holds more than [`MAX_POINTS`]: the writer cuts chunks far
/// smaller, and a larger chunk could never be read back.
pub fn encode(samples: &[Sample]) -> Vec<u8> {
    assert!(
        samples.len() <= MAX_POINTS as usize,
        "a chunk holds at most {MAX_POINTS} points, got {}",
        samples.len()
    );
    let mut sorted = samples.to_vec();
    sorted.sort_by_key(|s| s.time);
    let min = sorted.first().map_or(0, |s| s.time);
    let max = sorted.last().map_or(0, |s| s.time);
    let unit_code = (0..UNIT_NS.len())
        .rev()
        .find(|&code| {
            sorted
                .iter()
                .all(|s| (s.time - min).is_multiple_of(UNIT_NS[code]))
        })
        .unwrap_or(0);
    let ticks: Vec<Sample> = sorted
        .iter()
        .map(|s| Sample {
            time: (s.time - min) / UNIT_NS[unit_code],
            bits: s.bits,
        })
        .collect();

    // XOR columns are exact for any input by construction (the property
    // tests hold them to it), so there is always something to write; every
    // other candidate must decode to exactly `ticks` before it may win.
    let bits: Vec<u64> = ticks.iter().map(|t| t.bits).collect();
    let xor = columns_encode(Encoding::Xor, 0, &ticks, &bits);
    let mut best = (Encoding::Xor, compress(&xor));
    for encoding in [Encoding::Gorilla, Encoding::IntDelta, Encoding::Decimal] {
        let raw = match encoding {
            Encoding::Gorilla => gorilla_encode(&ticks),
            Encoding::Decimal => decimal_mantissas(&ticks)
                .map(|(digits, ks)| columns_encode(encoding, digits, &ticks, &ks)),
            _ => Some(columns_encode(encoding, 0, &ticks, &bits)),
        };
        let Some(raw) = raw else { continue };
        if decode_payload(encoding, &raw, ticks.len()).ok().as_deref() != Some(&ticks[..]) {
            continue;
        }
        let packed = compress(&raw);
        if packed.len() < best.1.len() {
            best = (encoding, packed);
        }
    }
    let (encoding, payload) = best;

    let mut out = Vec::with_capacity(HEADER_LEN + payload.len() + TRAILER_LEN);
    out.push(FORMAT_VERSION);
    out.push(encoding as u8);
    out.push(unit_code as u8);
    out.extend_from_slice(&(sorted.len() as u32).to_le_bytes());
    out.extend_from_slice(&min.to_le_bytes());
    out.extend_from_slice(&max.to_le_bytes());
    out.extend_from_slice(&payload);
    let crc = crc32fast::hash(&out);
    out.extend_from_slice(&crc.to_le_bytes());
    out
}

/// Decodes a chunk. Any malformed, truncated or hostile input is an error,
/// never a panic, and memory stays bounded by [`MAX_POINTS`].
pub fn decode(bytes: &[u8]) -> Result<Vec<Sample>, ChunkError> {
    let (header, payload) = read_header(bytes)?;
    let raw = decompress(payload, header.encoding, header.count)?;
    let ticks = decode_payload(header.encoding, &raw, header.count as usize)?;
    let mut samples = Vec::with_capacity(ticks.len());
    for t in ticks {
        let time = t
            .time
            .checked_mul(header.unit_ns)
            .and_then(|offset| header.min.checked_add(offset))
            .ok_or(ChunkError::Malformed("time overflows u64"))?;
        if samples.last().is_some_and(|p: &Sample| p.time > time) {
            return Err(ChunkError::Malformed("times are not in order"));
        }
        samples.push(Sample { time, bits: t.bits });
    }
    let first = samples.first().map_or(0, |s| s.time);
    let last = samples.last().map_or(0, |s| s.time);
    if (first, last) != (header.min, header.max) {
        return Err(ChunkError::Malformed("times disagree with the header"));
    }
    Ok(samples)
}

/// Returns (min time, max time, point count) from the header alone, so a
/// query can skip a chunk without decompressing it. The checksum is still
/// verified. An empty chunk reports `(0, 0, 0)`.
pub fn time_range(bytes: &[u8]) -> Result<(u64, u64, u32), ChunkError> {
    let (header, _) = read_header(bytes)?;
    Ok((header.min, header.max, header.count))
}

/// One-shot zstd of an in-memory buffer sized by zstd's own bound: it can
/// fail only if allocation does, which aborts anyway.
fn compress(raw: &[u8]) -> Vec<u8> {
    zstd::bulk::compress(raw, ZSTD_LEVEL).expect("zstd compresses in memory")
}

/// Checks the checksum and the header fields; returns the header and the
/// zstd payload.
fn read_header(bytes: &[u8]) -> Result<(Header, &[u8]), ChunkError> {
    let body_len = bytes
        .len()
        .checked_sub(TRAILER_LEN)
        .filter(|&n| n >= HEADER_LEN)
        .ok_or(ChunkError::Truncated { len: bytes.len() })?;
    let (body, trailer) = bytes.split_at(body_len);
    let (head, payload) = body.split_at(HEADER_LEN);
    let stored = u32::from_le_bytes(le_array(trailer));
    let computed = crc32fast::hash(body);
    if stored != computed {
        return Err(ChunkError::Checksum { stored, computed });
    }
    let head: [u8; HEADER_LEN] = le_array(head);
    let (version, encoding, unit) = (head[0], head[1], head[2]);
    if version != FORMAT_VERSION {
        return Err(ChunkError::UnsupportedVersion(version));
    }
    let encoding = *Encoding::ALL
        .get(usize::from(encoding))
        .ok_or(ChunkError::UnknownEncoding(encoding))?;
    let unit_ns = *UNIT_NS
        .get(usize::from(unit))
        .ok_or(ChunkError::UnknownTimeUnit(unit))?;
    let count = u32::from_le_bytes(le_array(&head[3..7]));
    let min = u64::from_le_bytes(le_array(&head[7..15]));
    let max = u64::from_le_bytes(le_array(&head[15..23]));
    if count > MAX_POINTS {
        return Err(ChunkError::TooManyPoints { count });
    }
    if min > max || (count == 0 && max != 0) {
        return Err(ChunkError::Malformed("header time range is inconsistent"));
    }
    let header = Header {
        encoding,
        unit_ns,
        count,
        min,
        max,
    };
    Ok((header, payload))
}

/// Copies a slice whose length the caller has fixed into an array (so the
/// header's fields are read at constant offsets).
fn le_array<const N: usize>(slice: &[u8]) -> [u8; N] {
    let mut out = [0; N];
    out.copy_from_slice(slice);
    out
}

/// Decompresses the payload after checking that it is one zstd frame whose
/// recorded size fits `count` points of `encoding`, so what is allocated is
/// bounded by the point count (itself capped) and by the bytes the frame
/// really holds, not by what a hostile frame header claims.
fn decompress(payload: &[u8], encoding: Encoding, count: u32) -> Result<Vec<u8>, ChunkError> {
    let count = count as usize;
    let (min_len, max_len) = match encoding {
        // The 64-bit start and the 36-bit end marker around the points, each
        // of which takes at least 2 bits.
        Encoding::Gorilla => (
            (64 + 36 + 2 * count).div_ceil(8),
            (64 + 36 + count * GORILLA_MAX_POINT_BITS).div_ceil(8),
        ),
        // At least a byte for each point's time and one for its value; one
        // more for the decimal digits.
        _ => (2 * count, 1 + count * COLUMNS_MAX_POINT_BYTES),
    };
    let frame_len = zstd::zstd_safe::find_frame_compressed_size(payload)
        .map_err(|_| ChunkError::Malformed("payload is not a zstd frame"))?;
    if frame_len != payload.len() {
        return Err(ChunkError::Malformed("bytes after the zstd frame"));
    }
    let Ok(Some(size)) = zstd::zstd_safe::get_frame_content_size(payload) else {
        return Err(ChunkError::Malformed("zstd frame does not record its size"));
    };
    let size = usize::try_from(size)
        .ok()
        .filter(|size| (min_len..=max_len).contains(size))
        .ok_or(ChunkError::Malformed(
            "payload size does not fit the point count",
        ))?;
    let raw = zstd::bulk::decompress(payload, size).map_err(ChunkError::Decompress)?;
    if raw.len() != size {
        return Err(ChunkError::Malformed("zstd frame is shorter than it says"));
    }
    Ok(raw)
}

/// Decodes `count` tick-unit samples laid out as `encoding`, requiring that
/// nothing is left over.
fn decode_payload(encoding: Encoding, raw: &[u8], count: usize) -> Result<Vec<Sample>, ChunkError> {
    match encoding {
        Encoding::Gorilla => gorilla_decode(raw, count),
        _ => columns_decode(encoding, raw, count),
    }
}

/// Encodes tick-unit samples with tsz, or `None` where tsz would lose
/// them: a first delta over 14 bits or a delta-of-delta outside
/// [`GORILLA_DOD_RANGE`]. The caller still checks the round trip.
fn gorilla_encode(ticks: &[Sample]) -> Option<Vec<u8>> {
    // The stream starts at tick 0; tsz's first delta is from there.
    let (mut prev, mut prev_delta) = (0u64, 0u64);
    for (i, t) in ticks.iter().enumerate() {
        let delta = t.time.checked_sub(prev)?;
        if i == 0 {
            if delta >= 1 << GORILLA_FIRST_DELTA_BITS {
                return None;
            }
        } else if !GORILLA_DOD_RANGE.contains(&(i128::from(delta) - i128::from(prev_delta))) {
            return None;
        }
        (prev, prev_delta) = (t.time, delta);
    }
    let mut encoder = StdEncoder::new(0, BufferedWriter::new());
    for t in ticks {
        encoder.encode(DataPoint::new(t.time, f64::from_bits(t.bits)));
    }
    Some(encoder.close().into_vec())
}

/// Reads tsz's bit layout (start time, first point, then delta-of-deltas
/// and XOR'd values, then the end marker) with checked arithmetic.
fn gorilla_decode(raw: &[u8], count: usize) -> Result<Vec<Sample>, ChunkError> {
    let mut r = BitReader { bytes: raw, pos: 0 };
    if r.bits(64)? != 0 {
        return Err(ChunkError::Malformed(
            "gorilla stream does not start at tick 0",
        ));
    }
    let mut out = Vec::with_capacity(count);
    let (mut time, mut delta, mut value) = (0u64, 0u64, 0u64);
    // tsz's decoder starts with an empty window, so it would read 64 bits.
    let (mut leading, mut trailing) = (0u32, 0u32);
    for i in 0..count {
        if i == 0 {
            if r.bit()? {
                return Err(ChunkError::Malformed(
                    "gorilla stream ends before its first point",
                ));
            }
            delta = r.bits(GORILLA_FIRST_DELTA_BITS)?;
            time = delta;
            value = r.bits(64)?;
        } else {
            let dod = read_dod(&mut r)?.ok_or(ChunkError::Malformed(
                "gorilla stream ends before its count",
            ))?;
            delta = delta
                .checked_add_signed(dod)
                .ok_or(ChunkError::Malformed("gorilla delta out of range"))?;
            time = time
                .checked_add(delta)
                .ok_or(ChunkError::Malformed("gorilla time overflows"))?;
            if r.bit()? {
                if r.bit()? {
                    leading = r.bits(6)? as u32;
                    let significant = r.bits(6)? as u32 + 1;
                    trailing =
                        64u32
                            .checked_sub(leading + significant)
                            .ok_or(ChunkError::Malformed(
                                "gorilla value window exceeds 64 bits",
                            ))?;
                }
                // leading + trailing <= 63 here, so 1..=64 bits are read and
                // the shift is at most 63.
                value ^= r.bits(64 - leading - trailing)? << trailing;
            }
        }
        out.push(Sample { time, bits: value });
    }
    if r.bits(36)? != GORILLA_END_MARKER {
        return Err(ChunkError::Malformed("gorilla stream has no end marker"));
    }
    r.finish()?;
    Ok(out)
}

/// Reads one delta-of-delta; `None` is the end marker.
fn read_dod(r: &mut BitReader<'_>) -> Result<Option<i64>, ChunkError> {
    let mut ones = 0;
    while ones < 4 && r.bit()? {
        ones += 1;
    }
    let size = match ones {
        0 => return Ok(Some(0)),
        1 => 7,
        2 => 9,
        3 => 12,
        _ => 32,
    };
    let v = r.bits(size)? as i64;
    if size == 32 && v == 0 {
        return Ok(None);
    }
    // tsz's sign extension, asymmetry included (`std_decoder.rs:114`).
    Ok(Some(if v > 1 << (size - 1) {
        v - (1 << size)
    } else {
        v
    }))
}

/// Reads bits most-significant first, as tsz's `BufferedWriter` lays them.
struct BitReader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl BitReader<'_> {
    fn bit(&mut self) -> Result<bool, ChunkError> {
        let byte = self
            .bytes
            .get(self.pos / 8)
            .ok_or(ChunkError::Malformed("gorilla stream is truncated"))?;
        let bit = (byte >> (7 - self.pos % 8)) & 1;
        self.pos += 1;
        Ok(bit == 1)
    }

    /// Reads `n <= 64` bits.
    fn bits(&mut self, n: u32) -> Result<u64, ChunkError> {
        let mut v = 0u64;
        for _ in 0..n {
            v = (v << 1) | u64::from(self.bit()?);
        }
        Ok(v)
    }

    /// Requires that nothing but zero padding in the last byte is left.
    fn finish(&self) -> Result<(), ChunkError> {
        let rem = self.pos % 8;
        let padding_is_zero =
            rem == 0 || self.bytes.get(self.pos / 8).is_some_and(|&b| b << rem == 0);
        if self.pos.div_ceil(8) == self.bytes.len() && padding_is_zero {
            Ok(())
        } else {
            Err(ChunkError::Malformed("bytes after the gorilla end marker"))
        }
    }
}

/// The fewest decimal digits `d` for which every value is exactly the f64
/// `k / 10^d` for an integer `|k| <= 2^53` (what parsing a short decimal
/// gives), and those `k`. `-0.0`, NaN and infinities never qualify.
fn decimal_mantissas(ticks: &[Sample]) -> Option<(u8, Vec<u64>)> {
    (0..POW10.len()).find_map(|d| {
        let ks = ticks
            .iter()
            .map(|t| decimal_mantissa(t.bits, d).map(|k| k as u64))
            .collect::<Option<Vec<u64>>>()?;
        Some((d as u8, ks))
    })
}

fn decimal_mantissa(bits: u64, d: usize) -> Option<i64> {
    let k = (f64::from_bits(bits) * POW10[d]).round();
    if k.is_nan() || k.abs() > MAX_MANTISSA {
        return None;
    }
    let k = k as i64;
    (decimal_value(k, d) == bits).then_some(k)
}

fn decimal_value(k: i64, d: usize) -> u64 {
    (k as f64 / POW10[d]).to_bits()
}

/// Lays out a columns payload: for [`Encoding::Decimal`] the digit count,
/// then the time column, then `words` (raw bits, or decimal mantissas)
/// XOR'd or differenced with their predecessor.
fn columns_encode(encoding: Encoding, digits: u8, ticks: &[Sample], words: &[u64]) -> Vec<u8> {
    let mut out = Vec::with_capacity(1 + ticks.len() * 4);
    if encoding == Encoding::Decimal {
        out.push(digits);
    }
    let (mut prev, mut prev_delta) = (0u64, 0u64);
    for t in ticks {
        let delta = t.time.wrapping_sub(prev);
        put_varint(&mut out, zigzag(delta.wrapping_sub(prev_delta)));
        (prev, prev_delta) = (t.time, delta);
    }
    let mut prev_word = 0u64;
    for &word in words {
        put_varint(
            &mut out,
            match encoding {
                Encoding::Xor => word ^ prev_word,
                _ => zigzag(word.wrapping_sub(prev_word)),
            },
        );
        prev_word = word;
    }
    out
}

fn columns_decode(encoding: Encoding, raw: &[u8], count: usize) -> Result<Vec<Sample>, ChunkError> {
    let mut rest = raw;
    let mut digits = 0;
    if encoding == Encoding::Decimal {
        let (&d, tail) = rest
            .split_first()
            .ok_or(ChunkError::Malformed("decimal payload has no digit count"))?;
        if usize::from(d) >= POW10.len() {
            return Err(ChunkError::Malformed("decimal digit count out of range"));
        }
        (digits, rest) = (usize::from(d), tail);
    }
    let mut out = Vec::with_capacity(count);
    let (mut time, mut delta) = (0u64, 0u64);
    for _ in 0..count {
        delta = delta.wrapping_add(unzigzag(get_varint(&mut rest)?));
        time = time.wrapping_add(delta);
        out.push(Sample { time, bits: 0 });
    }
    let mut word = 0u64;
    for sample in &mut out {
        let v = get_varint(&mut rest)?;
        word = match encoding {
            Encoding::Xor => word ^ v,
            _ => word.wrapping_add(unzigzag(v)),
        };
        sample.bits = match encoding {
            Encoding::Decimal => decimal_value(word as i64, digits),
            _ => word,
        };
    }
    if !rest.is_empty() {
        return Err(ChunkError::Malformed("bytes after the value column"));
    }
    Ok(out)
}

/// Maps a wrapping difference, read as i64, to small unsigned numbers for
/// small magnitudes of either sign.
fn zigzag(v: u64) -> u64 {
    let v = v as i64;
    ((v << 1) ^ (v >> 63)) as u64
}

fn unzigzag(z: u64) -> u64 {
    (z >> 1) ^ (z & 1).wrapping_neg()
}

fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push(v as u8 | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn get_varint(rest: &mut &[u8]) -> Result<u64, ChunkError> {
    let mut v = 0u64;
    for shift in (0..64).step_by(7) {
        let (&byte, tail) = rest
            .split_first()
            .ok_or(ChunkError::Malformed("column is truncated"))?;
        *rest = tail;
        if shift == 63 && byte > 1 {
            return Err(ChunkError::Malformed("varint overflows 64 bits"));
        }
        v |= u64::from(byte & 0x7f) << shift;
        if byte < 0x80 {
            return Ok(v);
        }
    }
    Err(ChunkError::Malformed("varint overflows 64 bits"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const T0: u64 = 1_700_000_000_000_000_000;
    const TEN_S: u64 = 10_000_000_000;

    /// Value bit patterns that break naive codecs.
    const SPECIAL_BITS: [u64; 16] = [
        0x7ff8_0000_0000_0000, // f64::NAN
        0xfff8_0000_0000_0000, // negative quiet NaN
        0x7ff0_0000_0000_0001, // signalling NaN
        0x7ff8_0000_dead_beef, // NaN with a payload
        0x7fff_ffff_ffff_ffff, // NaN, all payload bits
        0x7ff0_0000_0000_0000, // +inf
        0xfff0_0000_0000_0000, // -inf
        0x8000_0000_0000_0000, // -0.0, and i64::MIN
        0,
        0x7fef_ffff_ffff_ffff, // f64::MAX
        1,                     // smallest subnormal, and i64 1
        0x7fff_ffff_ffff_fffe, // i64::MAX - 1
        0x7fff_ffff_ffff_ffff, // i64::MAX
        u64::MAX,              // i64 -1
        0x3ff0_0000_0000_0000, // 1.0
        0x4059_0000_0000_0000, // 100.0
    ];

    fn stable_sort_by_time(samples: &[Sample]) -> Vec<Sample> {
        let mut sorted = samples.to_vec();
        sorted.sort_by_key(|s| s.time);
        sorted
    }

    fn encoding_of(chunk: &[u8]) -> Encoding {
        Encoding::ALL[usize::from(chunk[1])]
    }

    /// Builds a chunk around any payload, with a valid checksum and zstd
    /// frame, so the payload readers can be fed hostile bytes directly.
    fn wrap(head: [u8; 3], count: u32, min: u64, max: u64, raw: &[u8]) -> Vec<u8> {
        let mut out = head.to_vec();
        out.extend_from_slice(&count.to_le_bytes());
        out.extend_from_slice(&min.to_le_bytes());
        out.extend_from_slice(&max.to_le_bytes());
        out.extend_from_slice(&compress(raw));
        let crc = crc32fast::hash(&out);
        out.extend_from_slice(&crc.to_le_bytes());
        out
    }

    /// Sets one header byte and fixes the checksum.
    fn with_header_byte(chunk: &[u8], index: usize, value: u8) -> Vec<u8> {
        let mut out = chunk[..chunk.len() - TRAILER_LEN].to_vec();
        out[index] = value;
        let crc = crc32fast::hash(&out);
        out.extend_from_slice(&crc.to_le_bytes());
        out
    }

    /// A repeatable xorshift, so measured sizes do not move between runs.
    struct Rng(u64);
    impl Rng {
        fn below(&mut self, n: u64) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0 % n
        }
    }

    /// 720 points every 10 s (two hours), values from `value`.
    fn ten_second_series(mut value: impl FnMut() -> u64) -> Vec<Sample> {
        (0..720)
            .map(|i| Sample {
                time: T0 + i * TEN_S,
                bits: value(),
            })
            .collect()
    }

    fn bytes_per_point(name: &str, samples: &[Sample]) -> f64 {
        let chunk = encode(samples);
        assert_eq!(decode(&chunk).unwrap(), stable_sort_by_time(samples));
        let per_point = chunk.len() as f64 / samples.len() as f64;
        println!(
            "{name:>28}: {:>5} bytes, {per_point:.3} bytes/point, {:?}",
            chunk.len(),
            encoding_of(&chunk)
        );
        per_point
    }

    #[test]
    fn regular_series_are_small() {
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        // A request counter: a monotonic double growing by 0-19 a scrape.
        let mut total = 1234.0f64;
        let counter = ten_second_series(|| {
            total += rng.below(20) as f64;
            total.to_bits()
        });
        // A gauge with a few significant digits: a temperature-like walk
        // in steps of 0.1 (decimal fractions, inexact in binary).
        let mut tenths = 503i64;
        let gauge = ten_second_series(|| {
            tenths += rng.below(11) as i64 - 5;
            (tenths as f64 / 10.0).to_bits()
        });
        let counter_bpp = bytes_per_point("counter (f64, +0..19)", &counter);
        let gauge_bpp = bytes_per_point("gauge (f64, 0.1 steps)", &gauge);
        assert!(counter_bpp <= 2.0, "counter: {counter_bpp:.3} bytes/point");
        assert!(gauge_bpp <= 2.0, "gauge: {gauge_bpp:.3} bytes/point");
        println!("target is 1.4 bytes/point, floor 2.0");
    }

    /// Each encoding wins on the shape it is for, so each reader is
    /// exercised end to end; the other sizes are printed for the record.
    #[test]
    fn each_encoding_wins_its_shape() {
        let mut rng = Rng(0x2545_f491_4f6c_dd1d);
        let mut n = 1_000_000i64;
        let int_counter = ten_second_series(|| {
            n += rng.below(20) as i64;
            n as u64
        });
        // f32 readings widened to f64: 29 zero mantissa bits at the end.
        let mut f = 300.0f32;
        let widened = ten_second_series(|| {
            f += (rng.below(2001) as f32 - 1000.0) / 1024.0 * 0.37;
            f64::from(f).to_bits()
        });
        let mut tenths = 200i64;
        let decimal = ten_second_series(|| {
            tenths += rng.below(7) as i64 - 3;
            (tenths as f64 / 10.0).to_bits()
        });
        for (samples, wins) in [
            (&int_counter, Encoding::IntDelta),
            (&widened, Encoding::Gorilla),
            (&decimal, Encoding::Decimal),
        ] {
            let chunk = encode(samples);
            bytes_per_point(&format!("{wins:?} shape"), samples);
            assert_eq!(encoding_of(&chunk), wins);
        }

        let mut x = 0.5f64;
        bytes_per_point(
            "f64 full precision",
            &ten_second_series(|| {
                x = (x + (rng.below(1001) as f64 - 500.0) / 3e5).abs();
                x.to_bits()
            }),
        );
        bytes_per_point("constant", &ten_second_series(|| 42f64.to_bits()));
        let mut y = 20.0f64;
        let jittered: Vec<Sample> = (0..720u64)
            .map(|i| {
                y += (rng.below(11) as f64 - 5.0) / 10.0;
                Sample {
                    time: T0 + i * TEN_S + rng.below(200) * 1_000_000,
                    bits: y.to_bits(),
                }
            })
            .collect();
        bytes_per_point("f64 drift, ms jitter", &jittered);
    }

    #[test]
    fn empty_and_single_point_chunks() {
        let empty = encode(&[]);
        assert_eq!(decode(&empty).unwrap(), []);
        assert_eq!(time_range(&empty).unwrap(), (0, 0, 0));
        let one = [Sample {
            time: u64::MAX,
            bits: SPECIAL_BITS[2],
        }];
        let chunk = encode(&one);
        assert_eq!(decode(&chunk).unwrap(), one);
        assert_eq!(time_range(&chunk).unwrap(), (u64::MAX, u64::MAX, 1));
    }

    #[test]
    fn time_range_reads_the_header() {
        let samples = [
            Sample { time: 30, bits: 3 },
            Sample { time: 10, bits: 1 },
            Sample { time: 20, bits: 2 },
        ];
        assert_eq!(time_range(&encode(&samples)).unwrap(), (10, 30, 3));
    }

    #[test]
    fn out_of_order_and_duplicate_times_keep_arrival_order() {
        let samples = [
            Sample {
                time: T0 + TEN_S,
                bits: 7,
            },
            Sample { time: T0, bits: 1 },
            Sample {
                time: T0 + TEN_S,
                bits: 5,
            },
            Sample { time: T0, bits: 0 },
        ];
        let back = decode(&encode(&samples)).unwrap();
        assert_eq!(
            back.iter().map(|s| s.bits).collect::<Vec<_>>(),
            [1, 0, 7, 5]
        );
    }

    #[test]
    fn extreme_gaps_fall_back_to_columns() {
        let samples = [
            Sample {
                time: u64::MAX,
                bits: 1.5f64.to_bits(),
            },
            Sample {
                time: 0,
                bits: (-0.0f64).to_bits(),
            },
            Sample {
                time: 1,
                bits: f64::NAN.to_bits(),
            },
        ];
        let chunk = encode(&samples);
        assert_ne!(encoding_of(&chunk), Encoding::Gorilla);
        assert_eq!(decode(&chunk).unwrap(), stable_sort_by_time(&samples));
    }

    fn ticks(times: &[u64]) -> Vec<Sample> {
        times.iter().map(|&time| Sample { time, bits: 0 }).collect()
    }

    /// tsz writes a delta-of-delta of -2^31 as `0x8000_0000` and reads it
    /// back as +2^31; the guard must refuse it and accept +2^31.
    #[test]
    fn gorilla_guards_match_tsz_limits() {
        use tsz::stream::BufferedReader;
        use tsz::{Decode, StdDecoder};

        let two31 = 1u64 << 31;
        let lossy = ticks(&[0, two31, two31]);
        let mut encoder = StdEncoder::new(0, BufferedWriter::new());
        for t in &lossy {
            encoder.encode(DataPoint::new(t.time, 0.0));
        }
        let mut tsz_decoder = StdDecoder::new(BufferedReader::new(encoder.close()));
        let times: Vec<u64> = (0..3)
            .map(|_| tsz_decoder.next().unwrap().get_time())
            .collect();
        assert_eq!(times, [0, two31, 3 * two31], "tsz itself misreads it");
        assert_eq!(gorilla_encode(&lossy), None);

        for ok in [
            ticks(&[0, two31]),
            ticks(&[0, two31, 2 * two31 - 1 + two31]),
            ticks(&[0, 10, 20, 30, 31, 41]),
        ] {
            let raw = gorilla_encode(&ok).expect("in range");
            assert_eq!(gorilla_decode(&raw, ok.len()).unwrap(), ok);
        }
        assert_eq!(gorilla_encode(&ticks(&[0, two31 + 1])), None);
        assert!(gorilla_encode(&ticks(&[(1 << 14) - 1])).is_some());
        assert_eq!(gorilla_encode(&ticks(&[1 << 14])), None);
    }

    /// Our reader and tsz's decoder agree on what tsz writes.
    #[test]
    fn gorilla_reader_matches_tsz_decoder() {
        use tsz::stream::BufferedReader;
        use tsz::{Decode, StdDecoder};

        let points: Vec<Sample> = (0..100u64)
            .map(|i| Sample {
                time: i * 10 + i % 3,
                bits: SPECIAL_BITS[i as usize % SPECIAL_BITS.len()] ^ (i << 20),
            })
            .collect();
        let raw = gorilla_encode(&points).unwrap();
        let mut theirs = StdDecoder::new(BufferedReader::new(raw.clone().into_boxed_slice()));
        for p in gorilla_decode(&raw, points.len()).unwrap() {
            let dp = theirs.next().unwrap();
            assert_eq!((dp.get_time(), dp.get_value().to_bits()), (p.time, p.bits));
        }
        assert!(theirs.next().is_err(), "both see the end marker");
    }

    #[test]
    fn header_fields_are_checked() {
        let chunk = encode(&[Sample { time: 5, bits: 6 }]);
        assert!(matches!(
            decode(&with_header_byte(&chunk, 0, 2)),
            Err(ChunkError::UnsupportedVersion(2))
        ));
        assert!(matches!(
            decode(&with_header_byte(&chunk, 1, 9)),
            Err(ChunkError::UnknownEncoding(9))
        ));
        assert!(matches!(
            decode(&with_header_byte(&chunk, 2, 4)),
            Err(ChunkError::UnknownTimeUnit(4))
        ));
        assert!(matches!(
            decode(&with_header_byte(&chunk, 6, 0xff)),
            Err(ChunkError::TooManyPoints { .. })
        ));
        assert!(matches!(
            time_range(&chunk[..chunk.len() - 1]),
            Err(ChunkError::Checksum { .. })
        ));
        assert!(matches!(
            decode(&chunk[..10]),
            Err(ChunkError::Truncated { len: 10 })
        ));
        // A count the payload cannot hold is refused before allocating.
        let huge = wrap([1, 1, 0], MAX_POINTS, 0, 0, &[0; 8]);
        assert!(matches!(decode(&huge), Err(ChunkError::Malformed(_))));
    }

    fn any_bits() -> impl Strategy<Value = u64> {
        prop_oneof![
            any::<u64>(),
            prop::sample::select(&SPECIAL_BITS[..]),
            (-1000i64..1000).prop_map(|i| (i as f64 / 10.0).to_bits()),
            (-1000i64..1000).prop_map(|i| i as u64),
        ]
    }

    fn any_time() -> impl Strategy<Value = u64> {
        prop_oneof![
            any::<u64>(),
            Just(0),
            Just(u64::MAX),
            (0u64..100).prop_map(|k| T0 + k * TEN_S),
            (0u64..1000).prop_map(|k| T0 + k * 1_000_000),
            (0u64..1_000_000).prop_map(|k| T0 + k),
        ]
    }

    /// Series on a grid (any base, any step), some times repeated, values
    /// coherent enough that each encoding gets chosen, then shuffled.
    fn gridded_series() -> impl Strategy<Value = Vec<Sample>> {
        let step =
            prop::sample::select(&[1, 7, 1_000, 1_000_000, 1_000_000_000, TEN_S, 1 << 40][..]);
        let point = (any::<bool>(), 0u64..3, any_bits(), -50i64..50);
        (
            0..u64::MAX / 2,
            step,
            any::<u8>(),
            prop::collection::vec(point, 1..300),
        )
            .prop_map(|(base, step, kind, points)| {
                let (mut k, mut walk) = (0u64, 1000i64);
                points
                    .into_iter()
                    .map(|(repeat, jitter, bits, delta)| {
                        k += u64::from(!repeat);
                        walk += delta;
                        let bits = match kind % 4 {
                            0 => bits,
                            1 => walk as u64,
                            2 => (walk as f64 / 100.0).to_bits(),
                            _ => (walk as f64).to_bits(),
                        };
                        let jitter = if kind % 3 == 0 { jitter } else { 0 };
                        Sample {
                            time: base.saturating_add((k * step).saturating_add(jitter)),
                            bits,
                        }
                    })
                    .collect::<Vec<_>>()
            })
            .prop_shuffle()
    }

    proptest! {
        #[test]
        fn round_trips_any_samples(
            samples in prop::collection::vec((any_time(), any_bits()), 0..200)
        ) {
            let samples: Vec<Sample> =
                samples.into_iter().map(|(time, bits)| Sample { time, bits }).collect();
            let chunk = encode(&samples);
            let expected = stable_sort_by_time(&samples);
            prop_assert_eq!(decode(&chunk).unwrap(), expected.clone());
            let (min, max, count) = time_range(&chunk).unwrap();
            prop_assert_eq!(count as usize, samples.len());
            prop_assert_eq!(min, expected.first().map_or(0, |s| s.time));
            prop_assert_eq!(max, expected.last().map_or(0, |s| s.time));
        }

        #[test]
        fn round_trips_gridded_series(samples in gridded_series()) {
            let chunk = encode(&samples);
            prop_assert_eq!(decode(&chunk).unwrap(), stable_sort_by_time(&samples));
        }

        /// Our reader against tsz's writer directly, whatever wins in `encode`.
        #[test]
        fn gorilla_payload_round_trips(
            points in prop::collection::vec((-300i64..300, any_bits()), 1..200)
        ) {
            let (mut time, mut delta) = (0u64, 0i64);
            let ticks: Vec<Sample> = points
                .into_iter()
                .map(|(dod, bits)| {
                    delta = (delta + dod).max(0);
                    time += delta as u64;
                    Sample { time, bits }
                })
                .collect();
            let ticks: Vec<Sample> =
                ticks.iter().map(|s| Sample { time: s.time - ticks[0].time, bits: s.bits }).collect();
            if let Some(raw) = gorilla_encode(&ticks) {
                prop_assert_eq!(gorilla_decode(&raw, ticks.len()).unwrap(), ticks);
            }
        }

        #[test]
        fn random_bytes_are_rejected(bytes in prop::collection::vec(any::<u8>(), 0..300)) {
            prop_assert!(decode(&bytes).is_err());
            prop_assert!(time_range(&bytes).is_err());
        }

        #[test]
        fn truncated_or_flipped_chunks_are_rejected(
            samples in gridded_series(),
            cut in any::<prop::sample::Index>(),
            flip in any::<prop::sample::Index>(),
        ) {
            let chunk = encode(&samples);
            prop_assert!(decode(&chunk[..cut.index(chunk.len())]).is_err());
            let mut flipped = chunk.clone();
            let bit = flip.index(chunk.len() * 8);
            flipped[bit / 8] ^= 1 << (bit % 8);
            prop_assert!(decode(&flipped).is_err());
        }

        /// Past the checksum and zstd: payloads with valid framing but
        /// hostile contents must not panic the readers.
        #[test]
        fn hostile_payloads_do_not_panic(
            samples in gridded_series(),
            encoding in 0u8..4,
            unit in 0u8..4,
            count_delta in -3i64..3,
            flips in prop::collection::vec(any::<prop::sample::Index>(), 0..4),
            min in prop_oneof![Just(0u64), any::<u64>()],
            max in prop_oneof![Just(u64::MAX), any::<u64>()],
            garbage in prop::collection::vec(any::<u8>(), 0..64),
        ) {
            let sorted = stable_sort_by_time(&samples);
            let base = sorted[0].time;
            let ticks: Vec<Sample> =
                sorted.iter().map(|s| Sample { time: s.time - base, bits: s.bits }).collect();
            let bits: Vec<u64> = ticks.iter().map(|t| t.bits).collect();
            let mut raw = match Encoding::ALL[usize::from(encoding)] {
                Encoding::Gorilla => gorilla_encode(&ticks).unwrap_or(garbage),
                Encoding::Decimal => decimal_mantissas(&ticks)
                    .map(|(d, ks)| columns_encode(Encoding::Decimal, d, &ticks, &ks))
                    .unwrap_or(garbage),
                e => columns_encode(e, 0, &ticks, &bits),
            };
            if !raw.is_empty() {
                for flip in &flips {
                    let bit = flip.index(raw.len() * 8);
                    raw[bit / 8] ^= 1 << (bit % 8);
                }
            }
            let count = (ticks.len() as i64 + count_delta).max(0) as u32;
            let (min, max) = (min.min(max), min.max(max));
            let _ = decode(&wrap([FORMAT_VERSION, encoding, unit], count, min, max, &raw));
            let _ = decode(&wrap([FORMAT_VERSION, encoding, unit], count, base, sorted[sorted.len() - 1].time, &raw));
        }
    }
}
