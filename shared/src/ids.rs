//! Trace and span identifiers: fixed-size byte arrays shown as lowercase hex.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Why a textual or binary id was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    /// The id had the wrong number of bytes (or hex digits).
    #[error("{kind} must be {expected} bytes ({} hex digits), got {got} bytes", expected * 2)]
    WrongLength {
        kind: &'static str,
        expected: usize,
        got: usize,
    },
    /// The text held something other than hex digits.
    #[error("{kind} is not hexadecimal: {text:?}")]
    NotHex { kind: &'static str, text: String },
    /// A trace id prefix with too few digits to be worth looking up.
    #[error(
        "a trace id is 32 hex digits, or its first {} or more; got {got} digits",
        TraceIdPrefix::MIN_DIGITS
    )]
    TooShort { got: usize },
}

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident, $len:expr, $kind:expr) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
        pub struct $name(pub [u8; $len]);

        impl $name {
            /// Number of bytes in this id.
            pub const LEN: usize = $len;

            /// Builds the id from raw bytes, refusing any other length.
            pub fn from_bytes(bytes: &[u8]) -> Result<Self, IdError> {
                <[u8; $len]>::try_from(bytes)
                    .map(Self)
                    .map_err(|_| IdError::WrongLength { kind: $kind, expected: $len, got: bytes.len() })
            }

            /// Parses hex in either case, as OTLP/JSON exporters write it.
            pub fn from_hex(text: &str) -> Result<Self, IdError> {
                if text.len() % 2 != 0 || text.len() != $len * 2 {
                    return Err(IdError::WrongLength { kind: $kind, expected: $len, got: text.len() / 2 });
                }
                let mut out = [0u8; $len];
                for (i, pair) in text.as_bytes().chunks_exact(2).enumerate() {
                    let hi = hex_digit(pair[0]);
                    let lo = hex_digit(pair[1]);
                    match (hi, lo) {
                        (Some(h), Some(l)) => out[i] = (h << 4) | l,
                        _ => return Err(IdError::NotHex { kind: $kind, text: text.to_owned() }),
                    }
                }
                Ok(Self(out))
            }

            /// True for the all-zero id, which OTLP uses to mean "absent".
            pub fn is_zero(&self) -> bool {
                self.0.iter().all(|b| *b == 0)
            }

            /// Lowercase hex form.
            pub fn to_hex(&self) -> String {
                self.to_string()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                for b in self.0 {
                    write!(f, "{b:02x}")?;
                }
                Ok(())
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({self})", stringify!($name))
            }
        }

        impl FromStr for $name {
            type Err = IdError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Self::from_hex(s)
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(&self.to_string())
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
                Self::from_hex(&text).map_err(serde::de::Error::custom)
            }
        }
    };
}

id_type!(
    /// A 16-byte W3C trace id.
    TraceId,
    16,
    "trace id"
);
id_type!(
    /// An 8-byte span id.
    SpanId,
    8,
    "span id"
);

/// The first hex digits of a trace id (8 to 32, lowercase), as lists show
/// ids (`87f8f764…`) and people paste them.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct TraceIdPrefix(String);

impl TraceIdPrefix {
    /// Fewer digits than this are refused: 8 digits tell ~4 billion ids apart.
    pub const MIN_DIGITS: usize = 8;

    /// Parses 8 to 32 hex digits in either case.
    pub fn parse(text: &str) -> Result<Self, IdError> {
        let text = text.trim();
        if !text.bytes().all(|b| hex_digit(b).is_some()) {
            return Err(IdError::NotHex {
                kind: "trace id",
                text: text.to_owned(),
            });
        }
        if text.len() < Self::MIN_DIGITS {
            return Err(IdError::TooShort { got: text.len() });
        }
        if text.len() > TraceId::LEN * 2 {
            return Err(IdError::WrongLength {
                kind: "trace id",
                expected: TraceId::LEN,
                got: text.len() / 2,
            });
        }
        Ok(Self(text.to_ascii_lowercase()))
    }

    /// The digits, lowercase.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The lowest and the highest trace id starting with these digits.
    pub fn bounds(&self) -> (TraceId, TraceId) {
        let pad = |fill: char| {
            let mut hex = self.0.clone();
            while hex.len() < TraceId::LEN * 2 {
                hex.push(fill);
            }
            TraceId::from_hex(&hex).unwrap_or_default()
        };
        (pad('0'), pad('f'))
    }

    /// True when `id` starts with these digits.
    pub fn matches(&self, id: &TraceId) -> bool {
        id.to_hex().starts_with(&self.0)
    }
}

impl fmt::Display for TraceIdPrefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A trace as a path names it: the whole id, or a prefix of it to resolve.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum TraceIdRef {
    Full(TraceId),
    Prefix(TraceIdPrefix),
}

impl TraceIdRef {
    /// 32 hex digits are an id; 8 to 31 a prefix; anything else is refused.
    pub fn parse(text: &str) -> Result<Self, IdError> {
        let prefix = TraceIdPrefix::parse(text)?;
        if prefix.0.len() == TraceId::LEN * 2 {
            TraceId::from_hex(&prefix.0).map(Self::Full)
        } else {
            Ok(Self::Prefix(prefix))
        }
    }
}

impl fmt::Display for TraceIdRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Full(id) => id.fmt(f),
            Self::Prefix(p) => p.fmt(f),
        }
    }
}

/// A fast hasher for maps keyed by ids (or other short keys) that live for
/// one trace in one browser tab: a multiply-fold of each 8-byte word, about
/// ten times cheaper than std's SipHash in WebAssembly. It has no random
/// seed, so it is not for maps an attacker could fill with colliding keys
/// on a shared server; the worst a crafted trace can do is slow its own view.
#[derive(Clone, Copy, Default)]
pub struct IdHasher(u64);

const IDHASH_K: u64 = 0x9E37_79B9_7F4A_7C15;

impl IdHasher {
    fn add(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(IDHASH_K);
    }
}

impl std::hash::Hasher for IdHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let mut w = [0u8; 8];
            w.copy_from_slice(c);
            self.add(u64::from_le_bytes(w));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut w = [0u8; 8];
            w[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(w) ^ ((rest.len() as u64) << 56));
        }
    }

    fn write_u8(&mut self, i: u8) {
        self.add(u64::from(i));
    }

    fn write_u32(&mut self, i: u32) {
        self.add(u64::from(i));
    }

    fn write_u64(&mut self, i: u64) {
        self.add(i);
    }

    fn write_usize(&mut self, i: usize) {
        self.add(i as u64);
    }

    fn finish(&self) -> u64 {
        // MurmurHash3's finaliser: every input bit reaches the low bits,
        // which hash tables index by.
        let mut x = self.0;
        x ^= x >> 33;
        x = x.wrapping_mul(0xFF51_AFD7_ED55_8CCD);
        x ^= x >> 33;
        x = x.wrapping_mul(0xC4CE_B9FE_1A85_EC53);
        x ^ (x >> 33)
    }
}

/// `HashMap`/`HashSet` state using [`IdHasher`].
pub type IdBuildHasher = std::hash::BuildHasherDefault<IdHasher>;

fn hex_digit(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_round_trip_accepts_upper_case() {
        let id = TraceId::from_hex("5B8EFFF798038103D269B633813FC60C").unwrap();
        assert_eq!(id.to_string(), "5b8efff798038103d269b633813fc60c");
        assert_eq!(TraceId::from_hex(&id.to_string()).unwrap(), id);
    }

    #[test]
    fn wrong_length_is_refused_with_a_message() {
        let err = TraceId::from_hex("5b8efff798038103d269b633813fc6").unwrap_err();
        assert_eq!(
            err.to_string(),
            "trace id must be 16 bytes (32 hex digits), got 15 bytes"
        );
        assert!(SpanId::from_bytes(&[1, 2, 3]).is_err());
    }

    #[test]
    fn non_hex_is_refused() {
        assert!(matches!(
            SpanId::from_hex("zz00000000000000"),
            Err(IdError::NotHex { .. })
        ));
    }

    #[test]
    fn the_id_hasher_spreads_sequential_and_random_ids() {
        use std::collections::HashSet;
        use std::hash::BuildHasher;
        let h = IdBuildHasher::default();
        let buckets = |ids: &mut dyn Iterator<Item = SpanId>| {
            ids.map(|id| h.hash_one(id) & 1023)
                .collect::<HashSet<_>>()
                .len()
        };
        // 4096 ids into 1024 low-bit buckets: nearly all buckets are used.
        let seq = buckets(&mut (0..4096u64).map(|i| SpanId(i.to_be_bytes())));
        let high = buckets(&mut (0..4096u64).map(|i| SpanId((i << 40).to_be_bytes())));
        assert!(seq > 1000 && high > 1000, "{seq} {high}");
        assert_eq!(h.hash_one(SpanId([1; 8])), h.hash_one(SpanId([1; 8])));
        assert_ne!(h.hash_one("ab"), h.hash_one("ba"));
    }

    #[test]
    fn trace_id_prefixes_and_refs() {
        let full = "87F8F764AABBCCDDEEFF001122334455";
        assert_eq!(
            TraceIdRef::parse(full),
            Ok(TraceIdRef::Full(TraceId::from_hex(full).unwrap()))
        );
        let TraceIdRef::Prefix(p) = TraceIdRef::parse(" 87F8f764a ").unwrap() else {
            panic!("a prefix");
        };
        assert_eq!(p.as_str(), "87f8f764a");
        let (lo, hi) = p.bounds();
        assert_eq!(lo.to_hex(), "87f8f764a00000000000000000000000");
        assert_eq!(hi.to_hex(), "87f8f764afffffffffffffffffffffff");
        assert!(p.matches(&TraceId::from_hex(full).unwrap()));
        assert!(!p.matches(&TraceId::from_hex("87f8f764b00000000000000000000000").unwrap()));
        assert_eq!(
            TraceIdRef::parse("87f8f76"),
            Err(IdError::TooShort { got: 7 })
        );
        assert!(
            IdError::TooShort { got: 7 }
                .to_string()
                .contains("first 8 or more")
        );
        assert!(matches!(
            TraceIdRef::parse("87f8f764x"),
            Err(IdError::NotHex { .. })
        ));
        assert!(matches!(
            TraceIdRef::parse(&format!("{full}00")),
            Err(IdError::WrongLength { .. })
        ));
    }

    #[test]
    fn serde_uses_hex_strings() {
        let id = SpanId([0xab, 1, 2, 3, 4, 5, 6, 0xff]);
        let json = serde_json::to_string(&id).unwrap();
        assert_eq!(json, "\"ab010203040506ff\"");
        assert_eq!(serde_json::from_str::<SpanId>(&json).unwrap(), id);
    }
}
