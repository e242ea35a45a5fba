//! What the searches over the compressed blocks share: traces, spans
//! (`spans::trace_search`, `spans::span_search`) and logs (`logs::search`)
//! are searched newest first, paginated by cursor. The index tables choose
//! which blocks to open (time ranges, span groups, log groups, Bloom
//! filters); the blocks are then decoded and filtered exactly, so an index
//! can only cost time, never a wrong answer.

pub mod attrs;
pub mod newest;

use std::sync::Arc;

/// What every search needs to know besides the query.
#[derive(Clone, Debug, Default)]
pub struct SearchContext {
    /// Attribute keys the Bloom filters hold (`--indexed-attributes`):
    /// filters on other keys must open every block of the window.
    pub indexed: Arc<Vec<String>>,
}

impl SearchContext {
    /// True if a filter on `key` can skip blocks by their Bloom filter.
    pub fn is_indexed(&self, key: &str) -> bool {
        self.indexed.iter().any(|k| k == key)
    }
}
