//! Byte-level building blocks of the block formats: varints, zigzag, a
//! string dictionary, attribute values, and the column container that
//! compresses each column with zstd on its own (so a query decompresses only
//! the columns it reads).
//!
//! Everything read back from disk goes through [`Cursor`], which returns
//! [`CodecError`] on truncated or hostile input instead of panicking.

use rustc_hash::FxHashMap;

use shared::trace::{Resource, Scope};
use shared::{AnyValue, KeyValue};

/// Why stored bytes could not be decoded.
#[derive(Debug, thiserror::Error)]
pub enum CodecError {
    #[error("block is truncated ({0})")]
    Truncated(&'static str),
    #[error("block is malformed: {0}")]
    Malformed(String),
    #[error("unsupported block format version {0}")]
    Version(u8),
    #[error("zstd: {0}")]
    Zstd(#[from] std::io::Error),
}

/// Interns shared values (resources, scopes) of a block: each distinct value
/// is stored once. Lookups go by pointer first (items of one request share
/// their `Arc`), by value only for a pointer not seen yet.
pub struct ArcTable<T: PartialEq> {
    items: Vec<std::sync::Arc<T>>,
    by_ptr: FxHashMap<*const T, u32>,
}

impl<T: PartialEq> Default for ArcTable<T> {
    fn default() -> Self {
        Self {
            items: Vec::new(),
            by_ptr: FxHashMap::default(),
        }
    }
}

impl<T: PartialEq> ArcTable<T> {
    /// The index of `v`, adding it on first sight.
    pub fn index(&mut self, v: &std::sync::Arc<T>) -> u32 {
        let ptr = std::sync::Arc::as_ptr(v);
        if let Some(&i) = self.by_ptr.get(&ptr) {
            return i;
        }
        let i = match self.items.iter().position(|x| **x == **v) {
            Some(i) => i as u32,
            None => {
                self.items.push(v.clone());
                (self.items.len() - 1) as u32
            }
        };
        self.by_ptr.insert(ptr, i);
        i
    }

    /// The distinct values, in index order.
    pub fn items(&self) -> &[std::sync::Arc<T>] {
        &self.items
    }
}

/// Attribute values nested deeper than this are refused on read (the ingest
/// path refuses them earlier, so only corrupt data gets here).
const MAX_VALUE_DEPTH: usize = 40;

/// Largest decompressed column accepted, so a corrupt length cannot make us
/// allocate without bound.
pub const MAX_COLUMN_BYTES: usize = 256 << 20;

// ---- writing ----------------------------------------------------------------

/// Appends an unsigned LEB128 varint.
pub fn put_uvarint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// Appends a signed varint (zigzag).
pub fn put_ivarint(out: &mut Vec<u8>, v: i64) {
    put_uvarint(out, ((v << 1) ^ (v >> 63)) as u64);
}

/// Appends a length-prefixed byte string.
pub fn put_bytes(out: &mut Vec<u8>, b: &[u8]) {
    put_uvarint(out, b.len() as u64);
    out.extend_from_slice(b);
}

/// Appends `values` as byte planes: the width in bytes of the largest
/// value, then the lowest byte of every value, then the next byte of every
/// value, and so on. Random low bytes and skewed high bytes then sit in
/// separate runs, where zstd's entropy coder sees each distribution alone;
/// a varint mixes them.
pub fn put_planes(out: &mut Vec<u8>, values: &[u64]) {
    let max = values.iter().copied().max().unwrap_or(0);
    let width = (64 - max.leading_zeros()).div_ceil(8) as usize;
    out.push(width as u8);
    for b in 0..width {
        out.extend(values.iter().map(|v| (v >> (8 * b)) as u8));
    }
}

/// Zigzag form of a signed value, for [`put_planes`].
pub fn zigzag(v: i64) -> u64 {
    ((v << 1) ^ (v >> 63)) as u64
}

/// Inverse of [`zigzag`].
pub fn unzigzag(u: u64) -> i64 {
    ((u >> 1) as i64) ^ -((u & 1) as i64)
}

/// Interns strings of one block: each distinct string is stored once and
/// referred to by its index, which is what makes repeated service names,
/// attribute keys and values nearly free.
///
/// Blocks are encoded in two passes: the first only collects strings, then
/// [`DictBuilder::freeze_sorted`] orders them, and the second pass gets
/// the final indexes. Sorted strings put look-alikes (messages of one
/// template, URLs of one route) side by side, where zstd finds them.
#[derive(Default)]
pub struct DictBuilder {
    /// Each string once, its index its position: one allocation per
    /// distinct string, lookups by `&str`.
    strings: indexmap::IndexSet<String, rustc_hash::FxBuildHasher>,
}

impl DictBuilder {
    /// The index of `s`, adding it on first sight. Index 0 is always "".
    pub fn intern(&mut self, s: &str) -> u32 {
        if self.strings.is_empty() {
            self.strings.insert(String::new());
        }
        let i = match self.strings.get_index_of(s) {
            Some(i) => i,
            None => self.strings.insert_full(s.to_owned()).0,
        };
        i as u32
    }

    /// Re-numbers the collected strings in sorted order ("" stays 0).
    pub fn freeze_sorted(&mut self) {
        self.intern("");
        self.strings.sort_unstable();
    }

    /// Serialises the dictionary as a column.
    pub fn finish(mut self) -> Vec<u8> {
        self.intern("");
        let mut out = Vec::new();
        put_uvarint(&mut out, self.strings.len() as u64);
        for s in &self.strings {
            put_bytes(&mut out, s.as_bytes());
        }
        out
    }

    /// Serialises the dictionary front-coded, as two columns: the count,
    /// then per string the length of what it shares with the string before
    /// and of the rest; and the rests end to end. Sorted strings share long
    /// prefixes, and zstd finds the remaining repeats better in text
    /// without lengths woven through it.
    pub fn finish_front_coded(mut self) -> (Vec<u8>, Vec<u8>) {
        self.intern("");
        let (mut lens, mut text) = (Vec::new(), Vec::new());
        put_uvarint(&mut lens, self.strings.len() as u64);
        let mut prev: &[u8] = &[];
        for s in &self.strings {
            let s = s.as_bytes();
            let shared = s.iter().zip(prev).take_while(|(a, b)| a == b).count();
            put_uvarint(&mut lens, shared as u64);
            put_uvarint(&mut lens, (s.len() - shared) as u64);
            text.extend_from_slice(&s[shared..]);
            prev = s;
        }
        (lens, text)
    }
}

const TAG_EMPTY: u8 = 0;
const TAG_STRING: u8 = 1;
const TAG_BOOL_FALSE: u8 = 2;
const TAG_BOOL_TRUE: u8 = 3;
const TAG_INT: u8 = 4;
const TAG_DOUBLE: u8 = 5;
const TAG_BYTES: u8 = 6;
const TAG_ARRAY: u8 = 7;
const TAG_KVLIST: u8 = 8;

/// Appends one value: a tag byte and its payload (strings by dictionary index).
pub fn put_value(out: &mut Vec<u8>, dict: &mut DictBuilder, v: &AnyValue) {
    match v {
        AnyValue::Empty => out.push(TAG_EMPTY),
        AnyValue::String(s) => {
            out.push(TAG_STRING);
            put_uvarint(out, u64::from(dict.intern(s)));
        }
        AnyValue::Bool(false) => out.push(TAG_BOOL_FALSE),
        AnyValue::Bool(true) => out.push(TAG_BOOL_TRUE),
        AnyValue::Int(i) => {
            out.push(TAG_INT);
            put_ivarint(out, *i);
        }
        AnyValue::Double(d) => {
            out.push(TAG_DOUBLE);
            out.extend_from_slice(&d.to_bits().to_le_bytes());
        }
        AnyValue::Bytes(b) => {
            out.push(TAG_BYTES);
            put_bytes(out, b);
        }
        AnyValue::Array(items) => {
            out.push(TAG_ARRAY);
            put_uvarint(out, items.len() as u64);
            for item in items {
                put_value(out, dict, item);
            }
        }
        AnyValue::KvList(kvs) => {
            out.push(TAG_KVLIST);
            put_attrs(out, dict, kvs);
        }
    }
}

/// Appends a list of attributes: count, then (key index, value) pairs.
pub fn put_attrs(out: &mut Vec<u8>, dict: &mut DictBuilder, kvs: &[KeyValue]) {
    put_uvarint(out, kvs.len() as u64);
    for kv in kvs {
        put_uvarint(out, u64::from(dict.intern(&kv.key)));
        put_value(out, dict, &kv.value);
    }
}

// ---- reading ------------------------------------------------------------------

/// A bounds-checked reader over stored bytes.
#[derive(Clone)]
pub struct Cursor<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    pub fn new(buf: &'a [u8]) -> Self {
        Self { buf, pos: 0 }
    }

    /// Bytes read so far.
    pub fn position(&self) -> usize {
        self.pos
    }

    /// True when every byte was read.
    pub fn is_empty(&self) -> bool {
        self.pos >= self.buf.len()
    }

    pub fn u8(&mut self) -> Result<u8, CodecError> {
        let b = *self
            .buf
            .get(self.pos)
            .ok_or(CodecError::Truncated("byte"))?;
        self.pos += 1;
        Ok(b)
    }

    pub fn take(&mut self, n: usize) -> Result<&'a [u8], CodecError> {
        let end = self
            .pos
            .checked_add(n)
            .ok_or(CodecError::Truncated("length"))?;
        let s = self
            .buf
            .get(self.pos..end)
            .ok_or(CodecError::Truncated("bytes"))?;
        self.pos = end;
        Ok(s)
    }

    pub fn array<const N: usize>(&mut self) -> Result<[u8; N], CodecError> {
        let s = self.take(N)?;
        <[u8; N]>::try_from(s).map_err(|_| CodecError::Truncated("array"))
    }

    pub fn uvarint(&mut self) -> Result<u64, CodecError> {
        let mut v: u64 = 0;
        for shift in (0..64).step_by(7) {
            let b = self.u8()?;
            v |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Ok(v);
            }
        }
        Err(CodecError::Malformed("varint longer than 64 bits".into()))
    }

    pub fn ivarint(&mut self) -> Result<i64, CodecError> {
        Ok(unzigzag(self.uvarint()?))
    }

    /// Reads `n` values written by [`put_planes`].
    pub fn planes(&mut self, n: usize) -> Result<Vec<u64>, CodecError> {
        let width = usize::from(self.u8()?);
        if width > 8 {
            return Err(CodecError::Malformed(format!("{width}-byte plane values")));
        }
        let mut out = vec![0u64; n];
        for b in 0..width {
            let plane = self.take(n)?;
            for (v, byte) in out.iter_mut().zip(plane) {
                *v |= u64::from(*byte) << (8 * b);
            }
        }
        Ok(out)
    }

    /// A varint used as a count or index; refuses values that cannot be
    /// real for a buffer of this size (each element takes at least a byte).
    pub fn len(&mut self) -> Result<usize, CodecError> {
        let v = self.uvarint()?;
        let remaining = self.buf.len().saturating_sub(self.pos);
        usize::try_from(v)
            .ok()
            .filter(|n| *n <= remaining.saturating_add(1) * 8 + 16)
            .ok_or_else(|| CodecError::Malformed(format!("count {v} exceeds the data")))
    }

    pub fn u32v(&mut self) -> Result<u32, CodecError> {
        let v = self.uvarint()?;
        u32::try_from(v).map_err(|_| CodecError::Malformed(format!("{v} does not fit 32 bits")))
    }

    /// The next `n` bytes, `n` as read from a varint.
    pub fn bytes_of(&mut self, n: u64) -> Result<&'a [u8], CodecError> {
        self.take(usize::try_from(n).map_err(|_| CodecError::Truncated("length"))?)
    }

    pub fn bytes(&mut self) -> Result<&'a [u8], CodecError> {
        let n = self.len()?;
        self.take(n)
    }
}

/// A decoded string dictionary: every string in one buffer (one
/// allocation however many strings a block holds).
pub struct Dict {
    text: String,
    ends: Vec<usize>,
}

impl Dict {
    pub fn decode(col: &[u8]) -> Result<Self, CodecError> {
        let mut c = Cursor::new(col);
        let n = c.len()?;
        let mut text = String::with_capacity(col.len());
        let mut ends = Vec::with_capacity(n);
        for _ in 0..n {
            let b = c.bytes()?;
            text.push_str(
                std::str::from_utf8(b)
                    .map_err(|_| CodecError::Malformed("dictionary string is not UTF-8".into()))?,
            );
            ends.push(text.len());
        }
        Ok(Self { text, ends })
    }

    /// Every string, in index order.
    pub fn strings(&self) -> impl Iterator<Item = &str> {
        let starts = std::iter::once(0).chain(self.ends.iter().copied());
        starts
            .zip(self.ends.iter().copied())
            .filter_map(|(start, end)| self.text.get(start..end))
    }

    /// Reads the two columns written by
    /// [`DictBuilder::finish_front_coded`].
    pub fn decode_front_coded(lens: &[u8], rests: &[u8]) -> Result<Self, CodecError> {
        let mut c = Cursor::new(lens);
        let mut rests = Cursor::new(rests);
        let n = c.len()?;
        let mut text: Vec<u8> = Vec::with_capacity(rests.buf.len() * 2);
        let mut ends = Vec::with_capacity(n);
        let mut start = 0;
        for _ in 0..n {
            let shared = usize::try_from(c.uvarint()?).unwrap_or(usize::MAX);
            let rest = rests.bytes_of(c.uvarint()?)?;
            if shared > text.len() - start || text.len() + shared + rest.len() > MAX_COLUMN_BYTES {
                return Err(CodecError::Malformed("front-coded dictionary".into()));
            }
            let new_start = text.len();
            text.extend_from_within(start..start + shared);
            text.extend_from_slice(rest);
            start = new_start;
            ends.push(text.len());
        }
        let text = String::from_utf8(text)
            .map_err(|_| CodecError::Malformed("dictionary string is not UTF-8".into()))?;
        if ends.iter().any(|&e| !text.is_char_boundary(e)) {
            return Err(CodecError::Malformed(
                "dictionary string is not UTF-8".into(),
            ));
        }
        Ok(Self { text, ends })
    }

    pub fn get(&self, i: u32) -> Result<&str, CodecError> {
        let i = i as usize;
        let end = *self
            .ends
            .get(i)
            .ok_or_else(|| CodecError::Malformed(format!("dictionary index {i} out of range")))?;
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        self.text
            .get(start..end)
            .ok_or_else(|| CodecError::Malformed("dictionary offsets".into()))
    }

    pub fn read(&self, c: &mut Cursor<'_>) -> Result<String, CodecError> {
        let i = c.u32v()?;
        self.get(i).map(str::to_owned)
    }

    /// Reads a reference without building the string (for rows a reader
    /// skips).
    pub fn skip(&self, c: &mut Cursor<'_>) -> Result<(), CodecError> {
        let i = c.u32v()?;
        if (i as usize) < self.ends.len() {
            Ok(())
        } else {
            Err(CodecError::Malformed(format!(
                "dictionary index {i} out of range"
            )))
        }
    }
}

/// Moves past one value written by [`put_value`] without building it.
pub fn skip_value(c: &mut Cursor<'_>, dict: &Dict) -> Result<(), CodecError> {
    skip_value_at(c, dict, 0)
}

fn skip_value_at(c: &mut Cursor<'_>, dict: &Dict, depth: usize) -> Result<(), CodecError> {
    if depth > MAX_VALUE_DEPTH {
        return Err(CodecError::Malformed("value nested too deeply".into()));
    }
    match c.u8()? {
        TAG_EMPTY | TAG_BOOL_FALSE | TAG_BOOL_TRUE => {}
        TAG_STRING => dict.skip(c)?,
        TAG_INT => {
            c.ivarint()?;
        }
        TAG_DOUBLE => {
            c.array::<8>()?;
        }
        TAG_BYTES => {
            c.bytes()?;
        }
        TAG_ARRAY => {
            for _ in 0..c.len()? {
                skip_value_at(c, dict, depth + 1)?;
            }
        }
        TAG_KVLIST => skip_attrs_at(c, dict, depth + 1)?,
        t => return Err(CodecError::Malformed(format!("unknown value tag {t}"))),
    }
    Ok(())
}

/// Moves past a list written by [`put_attrs`], noting which of `wanted`
/// (key, value-as-text) pairs it holds: bit `i` of the result is set when
/// pair `i` is present (as `shared::query::value_matches` compares). Strings and integers compare without building the
/// value; other kinds are built only when their key is wanted.
pub fn scan_attrs(
    c: &mut Cursor<'_>,
    dict: &Dict,
    wanted: &[(&str, &str)],
) -> Result<u64, CodecError> {
    let mut found = 0u64;
    for _ in 0..c.len()? {
        let key = dict.get(c.u32v()?)?;
        let hits: Vec<usize> = (0..wanted.len().min(64))
            .filter(|&i| wanted[i].0 == key)
            .collect();
        if hits.is_empty() {
            skip_value(c, dict)?;
            continue;
        }
        let mut peek = c.clone();
        let text = match peek.u8()? {
            TAG_STRING => {
                let s = dict.get(peek.u32v()?)?;
                *c = peek;
                std::borrow::Cow::Borrowed(s)
            }
            TAG_INT => {
                let v = peek.ivarint()?;
                *c = peek;
                std::borrow::Cow::Owned(v.to_string())
            }
            _ => {
                // Arrays match by any element too: compare the built value.
                let value = read_value(c, dict)?;
                for i in hits {
                    if shared::query::value_matches(&value, wanted[i].1) {
                        found |= 1 << i;
                    }
                }
                continue;
            }
        };
        for i in hits {
            if wanted[i].1 == text {
                found |= 1 << i;
            }
        }
    }
    Ok(found)
}

/// Moves past a list written by [`put_attrs`] without building it.
pub fn skip_attrs(c: &mut Cursor<'_>, dict: &Dict) -> Result<(), CodecError> {
    skip_attrs_at(c, dict, 0)
}

fn skip_attrs_at(c: &mut Cursor<'_>, dict: &Dict, depth: usize) -> Result<(), CodecError> {
    for _ in 0..c.len()? {
        dict.skip(c)?;
        skip_value_at(c, dict, depth)?;
    }
    Ok(())
}

/// Reads one value written by [`put_value`].
pub fn read_value(c: &mut Cursor<'_>, dict: &Dict) -> Result<AnyValue, CodecError> {
    read_value_at(c, dict, 0)
}

fn read_value_at(c: &mut Cursor<'_>, dict: &Dict, depth: usize) -> Result<AnyValue, CodecError> {
    if depth > MAX_VALUE_DEPTH {
        return Err(CodecError::Malformed("value nested too deeply".into()));
    }
    Ok(match c.u8()? {
        TAG_EMPTY => AnyValue::Empty,
        TAG_STRING => AnyValue::String(dict.read(c)?),
        TAG_BOOL_FALSE => AnyValue::Bool(false),
        TAG_BOOL_TRUE => AnyValue::Bool(true),
        TAG_INT => AnyValue::Int(c.ivarint()?),
        TAG_DOUBLE => AnyValue::Double(f64::from_bits(u64::from_le_bytes(c.array()?))),
        TAG_BYTES => AnyValue::Bytes(c.bytes()?.to_vec()),
        TAG_ARRAY => {
            let n = c.len()?;
            let mut items = Vec::with_capacity(n.min(1024));
            for _ in 0..n {
                items.push(read_value_at(c, dict, depth + 1)?);
            }
            AnyValue::Array(items)
        }
        TAG_KVLIST => AnyValue::KvList(read_attrs_at(c, dict, depth + 1)?),
        t => return Err(CodecError::Malformed(format!("unknown value tag {t}"))),
    })
}

/// Reads a list written by [`put_attrs`].
pub fn read_attrs(c: &mut Cursor<'_>, dict: &Dict) -> Result<Vec<KeyValue>, CodecError> {
    read_attrs_at(c, dict, 0)
}

fn read_attrs_at(
    c: &mut Cursor<'_>,
    dict: &Dict,
    depth: usize,
) -> Result<Vec<KeyValue>, CodecError> {
    let n = c.len()?;
    let mut out = Vec::with_capacity(n.min(1024));
    for _ in 0..n {
        let key = dict.read(c)?;
        let value = read_value_at(c, dict, depth)?;
        out.push(KeyValue { key, value });
    }
    Ok(out)
}

/// The resource table column of a block.
pub fn put_resources(dict: &mut DictBuilder, resources: &[std::sync::Arc<Resource>]) -> Vec<u8> {
    let mut out = Vec::new();
    put_uvarint(&mut out, resources.len() as u64);
    for r in resources {
        put_attrs(&mut out, dict, &r.attributes);
        put_uvarint(&mut out, u64::from(r.dropped_attributes_count));
        put_bytes(&mut out, r.schema_url.as_bytes());
    }
    out
}

/// Reads a column written by [`put_resources`].
pub fn read_resources(col: &[u8], dict: &Dict) -> Result<Vec<Resource>, CodecError> {
    let mut c = Cursor::new(col);
    let n = c.len()?;
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        out.push(Resource {
            attributes: read_attrs(&mut c, dict)?,
            dropped_attributes_count: c.u32v()?,
            schema_url: String::from_utf8_lossy(c.bytes()?).into_owned(),
        });
    }
    Ok(out)
}

/// The scope table column of a block.
pub fn put_scopes(dict: &mut DictBuilder, scopes: &[std::sync::Arc<Scope>]) -> Vec<u8> {
    let mut out = Vec::new();
    put_uvarint(&mut out, scopes.len() as u64);
    for s in scopes {
        put_uvarint(&mut out, u64::from(dict.intern(&s.name)));
        put_uvarint(&mut out, u64::from(dict.intern(&s.version)));
        put_attrs(&mut out, dict, &s.attributes);
        put_uvarint(&mut out, u64::from(s.dropped_attributes_count));
        put_bytes(&mut out, s.schema_url.as_bytes());
    }
    out
}

/// Reads a column written by [`put_scopes`].
pub fn read_scopes(col: &[u8], dict: &Dict) -> Result<Vec<Scope>, CodecError> {
    let mut c = Cursor::new(col);
    let n = c.len()?;
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        out.push(Scope {
            name: dict.read(&mut c)?,
            version: dict.read(&mut c)?,
            attributes: read_attrs(&mut c, dict)?,
            dropped_attributes_count: c.u32v()?,
            schema_url: String::from_utf8_lossy(c.bytes()?).into_owned(),
        });
    }
    Ok(out)
}

// ---- the column container -----------------------------------------------------

/// How hard to compress a block.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Effort {
    /// Blocks written by ingest, on the writer's critical path (and often
    /// rewritten by compaction soon after).
    Ingest,
    /// Blocks written by compaction, off the critical path and kept long.
    Archive,
}

impl Effort {
    /// zstd levels. Ingest uses 3 (dfast): every ingest block is rewritten
    /// by compaction, and level 6's lazy search was a fifth of the writer's
    /// time. Archive stops at 9 (lazy2): level 12's binary-tree search made
    /// the compactor a third of all CPU under sustained ingest for 0.3 %
    /// smaller span blocks on the benchmark workload.
    fn level(self) -> i32 {
        match self {
            Effort::Ingest => 3,
            Effort::Archive => 9,
        }
    }
}

/// Builds a block: a header of (id, raw length, compressed length) per
/// column, then the zstd-compressed columns.
pub struct ContainerWriter {
    magic: [u8; 4],
    version: u8,
    effort: Effort,
    columns: Vec<(u8, Vec<u8>)>,
}

impl ContainerWriter {
    pub fn new(magic: [u8; 4], version: u8, effort: Effort) -> Self {
        Self {
            magic,
            version,
            effort,
            columns: Vec::new(),
        }
    }

    pub fn column(&mut self, id: u8, data: Vec<u8>) {
        self.columns.push((id, data));
    }

    /// Compresses every column and lays the block out.
    pub fn finish(self) -> Result<Vec<u8>, CodecError> {
        let mut header = Vec::new();
        header.extend_from_slice(&self.magic);
        header.push(self.version);
        put_uvarint(&mut header, self.columns.len() as u64);
        let mut body = Vec::new();
        for (id, raw) in &self.columns {
            let packed = if raw.is_empty() {
                Vec::new()
            } else {
                with_compressor(self.effort.level(), |c| c.compress(raw))?
            };
            header.push(*id);
            put_uvarint(&mut header, raw.len() as u64);
            put_uvarint(&mut header, packed.len() as u64);
            body.extend_from_slice(&packed);
        }
        header.extend_from_slice(&body);
        Ok(header)
    }
}

/// A parsed block whose columns are decompressed on demand.
pub struct ContainerReader<'a> {
    pub version: u8,
    columns: Vec<(u8, usize, &'a [u8])>,
}

impl<'a> ContainerReader<'a> {
    pub fn parse(buf: &'a [u8], magic: [u8; 4], max_version: u8) -> Result<Self, CodecError> {
        let mut c = Cursor::new(buf);
        if c.array::<4>()? != magic {
            return Err(CodecError::Malformed("wrong block magic".into()));
        }
        let version = c.u8()?;
        if version == 0 || version > max_version {
            return Err(CodecError::Version(version));
        }
        let n = c.len()?;
        let mut heads = Vec::with_capacity(n.min(64));
        for _ in 0..n {
            let id = c.u8()?;
            let raw = usize::try_from(c.uvarint()?).unwrap_or(usize::MAX);
            if raw > MAX_COLUMN_BYTES {
                return Err(CodecError::Malformed(format!(
                    "column {id} claims {raw} bytes"
                )));
            }
            let packed = c.len()?;
            heads.push((id, raw, packed));
        }
        let mut columns = Vec::with_capacity(heads.len());
        for (id, raw, packed) in heads {
            columns.push((id, raw, c.take(packed)?));
        }
        Ok(Self { version, columns })
    }

    /// (id, raw length, compressed length) of every column, in block order.
    pub fn column_sizes(&self) -> impl Iterator<Item = (u8, usize, usize)> + '_ {
        self.columns
            .iter()
            .map(|&(id, raw, packed)| (id, raw, packed.len()))
    }

    /// The decompressed bytes of column `id` (empty if the block lacks it).
    pub fn column(&self, id: u8) -> Result<Vec<u8>, CodecError> {
        let Some(&(_, raw, packed)) = self.columns.iter().find(|c| c.0 == id) else {
            return Ok(Vec::new());
        };
        if raw == 0 {
            return Ok(Vec::new());
        }
        let out = with_decompressor(|d| d.decompress(packed, raw))?;
        if out.len() != raw {
            return Err(CodecError::Malformed(format!(
                "column {id} decompressed to the wrong size"
            )));
        }
        Ok(out)
    }

    /// The first `len` bytes of column `id` (all of it when shorter): the
    /// zstd stream is decoded only that far, so a reader that needs the
    /// rows at the top of a block skips the cost of the rest.
    pub fn column_prefix(&self, id: u8, len: usize) -> Result<Vec<u8>, CodecError> {
        let Some(&(_, raw, packed)) = self.columns.iter().find(|c| c.0 == id) else {
            return Ok(Vec::new());
        };
        if len >= raw {
            return self.column(id);
        }
        let mut out = vec![0u8; len];
        with_stream_decompressor(|d| -> Result<(), CodecError> {
            let stream_error = |code: usize| {
                CodecError::Malformed(format!(
                    "column {id}: {}",
                    zstd::zstd_safe::get_error_name(code)
                ))
            };
            d.reset(zstd::zstd_safe::ResetDirective::SessionOnly)
                .map_err(stream_error)?;
            let mut input = zstd::zstd_safe::InBuffer::around(packed);
            let mut output = zstd::zstd_safe::OutBuffer::around(out.as_mut_slice());
            while output.pos() < len {
                let before = (input.pos(), output.pos());
                d.decompress_stream(&mut output, &mut input)
                    .map_err(stream_error)?;
                if (input.pos(), output.pos()) == before {
                    return Err(CodecError::Malformed(format!("column {id} is truncated")));
                }
            }
            Ok(())
        })?;
        Ok(out)
    }
}

thread_local! {
    // zstd contexts are costly to create (hundreds of KB each): every
    // thread keeps one of each and reuses it for every column.
    static COMPRESSOR: std::cell::RefCell<Option<zstd::bulk::Compressor<'static>>> =
        const { std::cell::RefCell::new(None) };
    static DECOMPRESSOR: std::cell::RefCell<Option<zstd::bulk::Decompressor<'static>>> =
        const { std::cell::RefCell::new(None) };
    static STREAM_DECOMPRESSOR: std::cell::RefCell<Option<zstd::zstd_safe::DCtx<'static>>> =
        const { std::cell::RefCell::new(None) };
}

fn with_stream_decompressor<T>(
    f: impl FnOnce(&mut zstd::zstd_safe::DCtx<'static>) -> Result<T, CodecError>,
) -> Result<T, CodecError> {
    STREAM_DECOMPRESSOR.with(|cell| {
        let mut slot = cell.borrow_mut();
        let d = slot.get_or_insert_with(zstd::zstd_safe::DCtx::create);
        f(d)
    })
}

fn with_compressor<T>(
    level: i32,
    f: impl FnOnce(&mut zstd::bulk::Compressor<'static>) -> std::io::Result<T>,
) -> std::io::Result<T> {
    COMPRESSOR.with(|cell| {
        let mut slot = cell.borrow_mut();
        let c = match slot.as_mut() {
            Some(c) => {
                c.set_compression_level(level)?;
                c
            }
            None => slot.insert(zstd::bulk::Compressor::new(level)?),
        };
        f(c)
    })
}

fn with_decompressor<T>(
    f: impl FnOnce(&mut zstd::bulk::Decompressor<'static>) -> std::io::Result<T>,
) -> std::io::Result<T> {
    DECOMPRESSOR.with(|cell| {
        let mut slot = cell.borrow_mut();
        let d = match slot.as_mut() {
            Some(d) => d,
            None => slot.insert(zstd::bulk::Decompressor::new()?),
        };
        f(d)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn varints_round_trip(u in any::<u64>(), i in any::<i64>()) {
            let mut b = Vec::new();
            put_uvarint(&mut b, u);
            put_ivarint(&mut b, i);
            let mut c = Cursor::new(&b);
            prop_assert_eq!(c.uvarint().unwrap(), u);
            prop_assert_eq!(c.ivarint().unwrap(), i);
            prop_assert!(c.is_empty());
        }

        #[test]
        fn planes_round_trip(values in prop::collection::vec(any::<u64>().prop_map(|v| v >> (v % 64)), 0..64)) {
            let mut b = Vec::new();
            put_planes(&mut b, &values);
            let mut c = Cursor::new(&b);
            prop_assert_eq!(c.planes(values.len()).unwrap(), values);
            prop_assert!(c.is_empty());
        }

        #[test]
        fn garbage_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
            let dict = Dict {
                text: "a".into(),
                ends: vec![0, 1],
            };
            let mut c = Cursor::new(&bytes);
            let _ = read_attrs(&mut c, &dict);
            let _ = ContainerReader::parse(&bytes, *b"TEST", 1).map(|r| r.column(1));
            let _ = Dict::decode(&bytes);
            let (a, b) = bytes.split_at(bytes.len() / 2);
            let _ = Dict::decode_front_coded(a, b);
        }
    }

    #[test]
    fn values_round_trip_through_the_dictionary() {
        let attrs = vec![
            KeyValue::string("s", "hello"),
            KeyValue {
                key: "i".into(),
                value: AnyValue::Int(i64::MIN),
            },
            KeyValue {
                key: "d".into(),
                value: AnyValue::Double(f64::NAN),
            },
            KeyValue {
                key: "b".into(),
                value: AnyValue::Bytes(vec![0, 255]),
            },
            KeyValue {
                key: "nested".into(),
                value: AnyValue::Array(vec![
                    AnyValue::Bool(true),
                    AnyValue::KvList(vec![KeyValue::string("k", "hello")]),
                    AnyValue::Empty,
                ]),
            },
        ];
        let mut dict = DictBuilder::default();
        let mut col = Vec::new();
        put_attrs(&mut col, &mut dict, &attrs);
        let dict = Dict::decode(&dict.finish()).unwrap();
        let back = read_attrs(&mut Cursor::new(&col), &dict).unwrap();
        assert_eq!(back.len(), attrs.len());
        assert!(matches!(back[2].value, AnyValue::Double(d) if d.is_nan()));
        assert_eq!(back[4], attrs[4]);
        assert_eq!(back[0], attrs[0]);
    }

    #[test]
    fn front_coded_dictionaries_round_trip() {
        let words = [
            "",
            "é",
            "è",
            "payment",
            "payment failed",
            "pay",
            "zz",
            "payment failed!",
        ];
        let mut b = DictBuilder::default();
        for w in words {
            b.intern(w);
        }
        b.freeze_sorted();
        let indexes: Vec<u32> = words.iter().map(|w| b.intern(w)).collect();
        let (lens, rests) = b.finish_front_coded();
        let dict = Dict::decode_front_coded(&lens, &rests).unwrap();
        for (w, i) in words.iter().zip(indexes) {
            assert_eq!(dict.get(i).unwrap(), *w);
        }
        for cut in 0..rests.len() {
            assert!(Dict::decode_front_coded(&lens, &rests[..cut]).is_err());
        }
    }

    #[test]
    fn container_round_trip_and_lazy_columns() {
        let mut w = ContainerWriter::new(*b"TEST", 1, Effort::Ingest);
        w.column(1, b"hello hello hello hello".to_vec());
        w.column(2, Vec::new());
        let bytes = w.finish().unwrap();
        let r = ContainerReader::parse(&bytes, *b"TEST", 1).unwrap();
        assert_eq!(r.column(1).unwrap(), b"hello hello hello hello");
        assert!(r.column(2).unwrap().is_empty());
        assert!(r.column(9).unwrap().is_empty());
        assert!(matches!(
            ContainerReader::parse(&bytes, *b"TEST", 0),
            Err(CodecError::Version(1))
        ));
        assert!(ContainerReader::parse(&bytes[..bytes.len() - 1], *b"TEST", 1).is_err());
    }

    /// A prefix read decodes only what it needs and equals the start of
    /// the full column, across zstd's internal 128 KiB blocks; a damaged
    /// stream is an error.
    #[test]
    fn column_prefixes_equal_the_start_of_the_column() {
        let data: Vec<u8> = (0..400_000u32)
            .flat_map(|i| (i.wrapping_mul(2_654_435_761) >> (i % 13)).to_le_bytes())
            .collect();
        let mut w = ContainerWriter::new(*b"TEST", 1, Effort::Ingest);
        w.column(1, data.clone());
        let bytes = w.finish().unwrap();
        let r = ContainerReader::parse(&bytes, *b"TEST", 1).unwrap();
        for len in [
            0,
            1,
            1000,
            131_072,
            131_073,
            900_000,
            data.len(),
            data.len() + 5,
        ] {
            let prefix = r.column_prefix(1, len).unwrap();
            assert_eq!(prefix, data[..len.min(data.len())], "len {len}");
        }
        assert!(r.column_prefix(9, 10).unwrap().is_empty());
        let mut damaged = bytes.clone();
        let cut = damaged.len() / 2;
        damaged.truncate(cut);
        damaged.extend(std::iter::repeat_n(0u8, bytes.len() - cut));
        let r = ContainerReader::parse(&damaged, *b"TEST", 1).unwrap();
        assert!(r.column_prefix(1, data.len() - 1).is_err());
    }
}
