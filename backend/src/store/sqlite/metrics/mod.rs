//! Metrics in the SQLite engine: series and the head (`ingest`), the chunk
//! codecs, sealing heads into chunks, rollups and their arithmetic, the
//! metric catalog and queries, and reading points back.

pub mod chunk;
pub mod exp_buckets;
pub mod ingest;
pub mod metric_chunks;
pub mod point_codec;
pub mod query;
pub mod read;
pub mod rollup_codec;
pub mod rollup_math;
pub mod rollups;
pub mod sealing;

#[cfg(test)]
pub(crate) mod tests;
