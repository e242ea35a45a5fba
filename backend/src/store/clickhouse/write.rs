//! Writes: a batch becomes rows of the exporter's tables and is inserted
//! with synchronous `INSERT`s (RowBinary), so the sender is answered only
//! after ClickHouse has written every row of it.
//!
//! Tables are created with `non_replicated_deduplication_window` (and
//! replicated tables deduplicate by default): a batch sent again after a
//! failed or unanswered attempt forms the same insert blocks, which
//! ClickHouse drops instead of storing twice.

use clickhouse::{RowOwned, RowWrite};

use super::super::StoreError;
use super::super::contract::{WriteBatch, WriteOutcome};
use super::client::Ch;
use super::rows::{self, MetricRows};
use super::schema::{self, Schema, TimeColumn};

/// Inserts `rows` into `table` in one statement.
async fn insert<T>(ch: &Ch, table: &str, rows: &[T]) -> Result<(), StoreError>
where
    T: RowOwned + RowWrite,
{
    if rows.is_empty() {
        return Ok(());
    }
    ch.deadline(async {
        let mut insert = ch.client().insert::<T>(table).await?;
        for row in rows {
            insert.write(row).await?;
        }
        insert.end().await
    })
    .await
}

/// Writes one batch; answers once every row is in ClickHouse.
pub async fn write(
    ch: &Ch,
    schema: &Schema,
    batch: WriteBatch,
) -> Result<WriteOutcome, StoreError> {
    let accepted = batch.item_count();
    match batch {
        WriteBatch::Spans(b) => insert(ch, schema::TRACES, &rows::span_rows(&b)).await?,
        WriteBatch::Logs(b) => insert(ch, schema::LOGS, &rows::log_rows(&b)).await?,
        WriteBatch::Metrics(b) => write_metrics(ch, schema, rows::metric_rows(&b)).await?,
    }
    Ok(WriteOutcome {
        accepted,
        rejected: 0,
        reason: None,
    })
}

async fn write_metrics(ch: &Ch, schema: &Schema, rows: MetricRows) -> Result<(), StoreError> {
    if rows.is_empty() {
        return Ok(());
    }
    if let Some(table) = schema
        .metric_time
        .iter()
        .find(|(_, t)| **t == TimeColumn::Seconds)
        .map(|(table, _)| *table)
    {
        return Err(StoreError::UnsupportedSchema(format!(
            "{table} keeps metric times as DateTime (an older exporter's schema): Sightline reads it \
             but writes only DateTime64(9) tables; point --clickhouse-database at a new database"
        )));
    }
    insert(ch, schema::GAUGE, &rows.gauge).await?;
    insert(ch, schema::SUM, &rows.sum).await?;
    insert(ch, schema::HISTOGRAM, &rows.histogram).await?;
    insert(ch, schema::EXP_HISTOGRAM, &rows.exp_histogram).await?;
    insert(ch, schema::SUMMARY, &rows.summary).await
}
