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
    fn serde_uses_hex_strings() {
        let id = SpanId([0xab, 1, 2, 3, 4, 5, 6, 0xff]);
        let json = serde_json::to_string(&id).unwrap();
        assert_eq!(json, "\"ab010203040506ff\"");
        assert_eq!(serde_json::from_str::<SpanId>(&json).unwrap(), id);
    }
}
