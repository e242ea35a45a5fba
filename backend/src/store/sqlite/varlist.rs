//! Sorted integer sets stored as a blob of delta varints (block ids of a
//! trace, service ids of a trace).

use super::blocks::codec::{Cursor, put_uvarint};

/// Encodes a sorted, deduplicated list.
pub fn encode(ids: &[i64]) -> Vec<u8> {
    let mut out = Vec::with_capacity(ids.len() * 2);
    let mut prev = 0i64;
    for &id in ids {
        put_uvarint(&mut out, id.wrapping_sub(prev) as u64);
        prev = id;
    }
    out
}

/// Decodes a list; malformed bytes yield the prefix that could be read.
pub fn decode(bytes: &[u8]) -> Vec<i64> {
    let mut c = Cursor::new(bytes);
    let mut out = Vec::new();
    let mut prev = 0i64;
    while !c.is_empty() {
        match c.uvarint() {
            Ok(d) => {
                prev = prev.wrapping_add(d as i64);
                out.push(prev);
            }
            Err(_) => break,
        }
    }
    out
}

/// The union of a stored list and new ids, sorted and deduplicated.
pub fn merge(stored: &[u8], new: impl IntoIterator<Item = i64>) -> Vec<i64> {
    let mut ids = decode(stored);
    ids.extend(new);
    ids.sort_unstable();
    ids.dedup();
    ids
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_merge() {
        let ids = vec![1, 5, 900, 1 << 40];
        assert_eq!(decode(&encode(&ids)), ids);
        assert_eq!(merge(&encode(&ids), [5, 2]), vec![1, 2, 5, 900, 1 << 40]);
        assert!(decode(&[]).is_empty());
    }
}
