//! `attr=key:value` matching, the same way the Bloom filters index it: the
//! value's display text (`42`, `true`, the string itself), or the text of
//! one element of an array (`shared::query::value_matches`).

use shared::KeyValue;
use shared::query::AttrFilter;

use super::SearchContext;
use crate::store::sqlite::blocks::bloom::{Bloom, Namespace};

/// True if every filter matches one of `sets` (e.g. span attributes, then
/// resource attributes). `service.name` matches through the resource.
pub fn all_match(filters: &[AttrFilter], sets: &[&[KeyValue]]) -> bool {
    filters
        .iter()
        .all(|f| sets.iter().any(|set| set.iter().any(|kv| f.matches(kv))))
}

/// False only when the block's filter proves some indexed `key=value` is
/// absent (a filter on a key that is not indexed proves nothing).
pub fn block_may_match(ctx: &SearchContext, filter: &Bloom<'_>, filters: &[AttrFilter]) -> bool {
    filters.iter().all(|f| {
        !ctx.is_indexed(&f.key)
            || filter.may_contain(
                Namespace::Attribute,
                format!("{}={}", f.key, f.value).as_bytes(),
            )
    })
}

/// The filters as (key, value) pairs for the block readers' byte-level
/// matching.
pub fn pairs(filters: &[AttrFilter]) -> Vec<(&str, &str)> {
    filters
        .iter()
        .map(|f| (f.key.as_str(), f.value.as_str()))
        .collect()
}
