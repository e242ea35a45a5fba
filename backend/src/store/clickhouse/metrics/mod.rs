//! Metrics on ClickHouse: the catalog, metric queries and raw series, read
//! from the Collector exporter's five metric tables.
//!
//! The exporter keeps no series table: a series is the rows agreeing on
//! name, service, unit, resource, scope and attributes (`sql::SERIES`), and
//! every read finds them from the rows. Queries mean what they mean on the
//! embedded engine — both plan with `store::metric_plan` and evaluate with
//! `store::rollup_math` — but there are no rollups: each query aggregates
//! the raw rows in SQL per step ("rollup-free") and answers
//! `Resolution::Raw` at every step.
//!
//! Where the answers differ from the embedded engine's, and why:
//! - percentiles of gauge and sum readings are exact at every step (the
//!   embedded engine answers steps of a minute or more from a sketch,
//!   within 0.55 %);
//! - a series' predecessor for the first increase in a window is its last
//!   recorded point before the window, wherever it is (the embedded engine
//!   looks in the sealed chunk before the window);
//! - series are listed oldest first point first, not first written: the
//!   first one's kind, unit and description stand for the metric, and a
//!   group's histogram buckets are mapped onto the bounds of its first
//!   series in a step (the same series unless series of one name were
//!   written out of time order with different bounds; see `histograms`);
//! - a resource sent with its attributes in another order is the same
//!   series here (maps are sorted for the key), another one there;
//! - what the exporter's columns cannot hold: see `raw` (values as doubles,
//!   missing histogram min/max/sum, zero thresholds);
//! - a batch written twice byte for byte is stored once (the tables
//!   deduplicate identical inserts), where the embedded engine keeps both.
//!
//! Every statement binds its values (`{name:Type}`); the SQL text varies
//! only with the kind, the table's time columns and the aggregation.

mod catalog;
mod exp_histograms;
mod histograms;
mod numbers;
mod query;
mod raw;
mod selection;
mod sql;
mod summaries;

#[cfg(test)]
mod tests;

pub use catalog::metric_list;
pub use query::metric_query;
pub use raw::raw_series;
