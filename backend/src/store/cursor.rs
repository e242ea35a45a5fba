//! Opaque page cursors: the sort key of the last item returned, so the next
//! page starts strictly after it whatever was written or compacted since.
//! Written as URL-safe base64 of `"<kind>:<fields>"`.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// A cursor that is not one of ours.
#[derive(Debug, thiserror::Error)]
#[error("parameter cursor: not a cursor of this list (pass next_cursor back unchanged)")]
pub struct BadCursor;

/// Encodes a cursor of list `kind` from its fields.
pub fn encode(kind: &str, fields: &[String]) -> String {
    URL_SAFE_NO_PAD.encode(format!("{kind}:{}", fields.join(":")))
}

/// Decodes a cursor of list `kind` into exactly `n` fields.
pub fn decode(kind: &str, cursor: &str, n: usize) -> Result<Vec<String>, BadCursor> {
    let bytes = URL_SAFE_NO_PAD.decode(cursor).map_err(|_| BadCursor)?;
    let text = String::from_utf8(bytes).map_err(|_| BadCursor)?;
    let rest = text
        .strip_prefix(kind)
        .and_then(|r| r.strip_prefix(':'))
        .ok_or(BadCursor)?;
    let fields: Vec<String> = rest.split(':').map(str::to_owned).collect();
    if fields.len() != n {
        return Err(BadCursor);
    }
    Ok(fields)
}

/// Parses a numeric cursor field.
pub fn number<T: std::str::FromStr>(field: &str) -> Result<T, BadCursor> {
    field.parse().map_err(|_| BadCursor)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_rejects_others() {
        let c = encode("traces", &["17".into(), "4".into()]);
        assert_eq!(decode("traces", &c, 2).unwrap(), vec!["17", "4"]);
        assert!(decode("spans", &c, 2).is_err());
        assert!(decode("traces", &c, 3).is_err());
        assert!(decode("traces", "!!!", 2).is_err());
    }
}
