//! Attribute values: every OTLP `AnyValue` kind, kept losslessly.
//!
//! On the wire the API uses OTLP/JSON's own shape (`{"stringValue": "…"}`,
//! `{"intValue": "…"}` as a decimal string, bytes as base64, non-finite
//! doubles as `"NaN"`, `"Infinity"`, `"-Infinity"`), so a user who knows OTLP
//! reads it without a manual and nothing is rounded on the way.

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde::de::{self, MapAccess, Visitor};
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// One attribute value.
#[derive(Clone, Debug, PartialEq, Default)]
pub enum AnyValue {
    /// No value was set (OTLP allows an empty `AnyValue`).
    #[default]
    Empty,
    String(String),
    Bool(bool),
    Int(i64),
    Double(f64),
    Bytes(Vec<u8>),
    Array(Vec<AnyValue>),
    KvList(Vec<KeyValue>),
}

/// A key and its value; order is kept as sent.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct KeyValue {
    pub key: String,
    #[serde(default)]
    pub value: AnyValue,
}

impl KeyValue {
    /// Shorthand for a string attribute.
    pub fn string(key: impl Into<String>, value: impl Into<String>) -> Self {
        Self {
            key: key.into(),
            value: AnyValue::String(value.into()),
        }
    }
}

impl AnyValue {
    /// The value as a string, when it is one.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            AnyValue::String(s) => Some(s),
            _ => None,
        }
    }

    /// A short human rendering used for filters and display: strings as-is,
    /// scalars in their usual form, composites as compact JSON.
    pub fn to_display_string(&self) -> String {
        match self {
            AnyValue::Empty => String::new(),
            AnyValue::String(s) => s.clone(),
            AnyValue::Bool(b) => b.to_string(),
            AnyValue::Int(i) => i.to_string(),
            AnyValue::Double(d) => d.to_string(),
            AnyValue::Bytes(b) => BASE64.encode(b),
            AnyValue::Array(_) | AnyValue::KvList(_) => {
                serde_json::to_string(self).unwrap_or_default()
            }
        }
    }
}

/// Finds an attribute by key.
pub fn find<'a>(attrs: &'a [KeyValue], key: &str) -> Option<&'a AnyValue> {
    attrs.iter().find(|kv| kv.key == key).map(|kv| &kv.value)
}

impl Serialize for AnyValue {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(usize::from(!matches!(self, AnyValue::Empty))))?;
        match self {
            AnyValue::Empty => {}
            AnyValue::String(v) => map.serialize_entry("stringValue", v)?,
            AnyValue::Bool(v) => map.serialize_entry("boolValue", v)?,
            AnyValue::Int(v) => map.serialize_entry("intValue", &v.to_string())?,
            AnyValue::Double(v) => {
                if v.is_finite() {
                    map.serialize_entry("doubleValue", v)?
                } else if v.is_nan() {
                    map.serialize_entry("doubleValue", "NaN")?
                } else if *v > 0.0 {
                    map.serialize_entry("doubleValue", "Infinity")?
                } else {
                    map.serialize_entry("doubleValue", "-Infinity")?
                }
            }
            AnyValue::Bytes(v) => map.serialize_entry("bytesValue", &BASE64.encode(v))?,
            AnyValue::Array(v) => map.serialize_entry("arrayValue", &ArrayRef { values: v })?,
            AnyValue::KvList(v) => map.serialize_entry("kvlistValue", &KvListRef { values: v })?,
        }
        map.end()
    }
}

#[derive(Serialize)]
struct ArrayRef<'a> {
    values: &'a [AnyValue],
}

#[derive(Serialize)]
struct KvListRef<'a> {
    values: &'a [KeyValue],
}

#[derive(Deserialize)]
struct ArrayOwned {
    #[serde(default)]
    values: Vec<AnyValue>,
}

#[derive(Deserialize)]
struct KvListOwned {
    #[serde(default)]
    values: Vec<KeyValue>,
}

/// A double as OTLP/JSON writes it: a number or one of the special strings.
struct JsonDouble(f64);

impl<'de> Deserialize<'de> for JsonDouble {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = f64;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a number, \"NaN\", \"Infinity\" or \"-Infinity\"")
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<f64, E> {
                Ok(v)
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<f64, E> {
                Ok(v as f64)
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<f64, E> {
                Ok(v as f64)
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<f64, E> {
                match v {
                    "NaN" => Ok(f64::NAN),
                    "Infinity" => Ok(f64::INFINITY),
                    "-Infinity" => Ok(f64::NEG_INFINITY),
                    other => other
                        .parse()
                        .map_err(|_| E::custom(format!("{other:?} is not a double"))),
                }
            }
        }
        d.deserialize_any(V).map(JsonDouble)
    }
}

/// An i64 as OTLP/JSON writes it: a decimal string or a number.
struct JsonI64(i64);

impl<'de> Deserialize<'de> for JsonI64 {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(crate::time::I64Visitor).map(JsonI64)
    }
}

impl<'de> Deserialize<'de> for AnyValue {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = AnyValue;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an OTLP AnyValue object")
            }
            fn visit_unit<E: de::Error>(self) -> Result<AnyValue, E> {
                Ok(AnyValue::Empty)
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<AnyValue, A::Error> {
                let mut out = AnyValue::Empty;
                while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
                    out = match key.as_ref() {
                        "stringValue" => AnyValue::String(map.next_value()?),
                        "boolValue" => AnyValue::Bool(map.next_value()?),
                        "intValue" => AnyValue::Int(map.next_value::<JsonI64>()?.0),
                        "doubleValue" => AnyValue::Double(map.next_value::<JsonDouble>()?.0),
                        "bytesValue" => {
                            let text: String = map.next_value()?;
                            AnyValue::Bytes(BASE64.decode(text.as_bytes()).map_err(|e| {
                                de::Error::custom(format!("bytesValue is not base64: {e}"))
                            })?)
                        }
                        "arrayValue" => AnyValue::Array(map.next_value::<ArrayOwned>()?.values),
                        "kvlistValue" => AnyValue::KvList(map.next_value::<KvListOwned>()?.values),
                        _ => {
                            map.next_value::<de::IgnoredAny>()?;
                            out
                        }
                    };
                }
                Ok(out)
            }
        }
        d.deserialize_any(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn any_value() -> impl Strategy<Value = AnyValue> {
        let leaf = prop_oneof![
            Just(AnyValue::Empty),
            ".*".prop_map(AnyValue::String),
            any::<bool>().prop_map(AnyValue::Bool),
            any::<i64>().prop_map(AnyValue::Int),
            any::<f64>().prop_map(AnyValue::Double),
            prop::collection::vec(any::<u8>(), 0..16).prop_map(AnyValue::Bytes),
        ];
        leaf.prop_recursive(3, 24, 4, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(AnyValue::Array),
                prop::collection::vec(
                    (".*", inner).prop_map(|(key, value)| KeyValue { key, value }),
                    0..4
                )
                .prop_map(AnyValue::KvList),
            ]
        })
    }

    /// NaN never equals itself, so compare through the bit pattern class.
    fn same(a: &AnyValue, b: &AnyValue) -> bool {
        match (a, b) {
            (AnyValue::Double(x), AnyValue::Double(y)) => (x.is_nan() && y.is_nan()) || x == y,
            (AnyValue::Array(x), AnyValue::Array(y)) => {
                x.len() == y.len() && x.iter().zip(y).all(|(a, b)| same(a, b))
            }
            (AnyValue::KvList(x), AnyValue::KvList(y)) => {
                x.len() == y.len()
                    && x.iter()
                        .zip(y)
                        .all(|(a, b)| a.key == b.key && same(&a.value, &b.value))
            }
            _ => a == b,
        }
    }

    proptest! {
        #[test]
        fn json_round_trip_is_lossless(v in any_value()) {
            let json = serde_json::to_string(&v).unwrap();
            let back: AnyValue = serde_json::from_str(&json).unwrap();
            prop_assert!(same(&v, &back), "{v:?} -> {json} -> {back:?}");
        }
    }

    #[test]
    fn ints_are_strings_and_accept_numbers() {
        let v = AnyValue::Int(i64::MAX);
        assert_eq!(
            serde_json::to_string(&v).unwrap(),
            r#"{"intValue":"9223372036854775807"}"#
        );
        let n: AnyValue = serde_json::from_str(r#"{"intValue":12}"#).unwrap();
        assert_eq!(n, AnyValue::Int(12));
    }

    #[test]
    fn non_finite_doubles_survive() {
        let v: AnyValue = serde_json::from_str(r#"{"doubleValue":"-Infinity"}"#).unwrap();
        assert_eq!(v, AnyValue::Double(f64::NEG_INFINITY));
        assert_eq!(
            serde_json::to_string(&AnyValue::Double(f64::INFINITY)).unwrap(),
            r#"{"doubleValue":"Infinity"}"#
        );
    }
}
