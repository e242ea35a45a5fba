//! What is stored, per signal: row counts, time ranges, and the bytes and
//! parts ClickHouse reports for the tables (`system.parts`, active parts).

use clickhouse::Row;
use serde::Deserialize;
use shared::UnixNanos;
use shared::api::SignalStats;

use super::super::StoreError;
use super::super::contract::StoredCounts;
use super::client::Ch;
use super::schema::{
    EXP_HISTOGRAM, GAUGE, HISTOGRAM, LOGS, SUM, SUMMARY, Schema, TRACE_ID_TS, TRACES,
};

#[derive(Row, Deserialize)]
struct Extent {
    items: u64,
    oldest: i64,
    newest: i64,
}

#[derive(Row, Deserialize)]
struct Parts {
    parts: u64,
    bytes: u64,
}

#[derive(Row, Deserialize)]
struct Count {
    n: u64,
}

/// Active parts and bytes on disk of `tables`.
pub async fn parts(ch: &Ch, tables: &[&str]) -> Result<(u64, u64), StoreError> {
    let p: Vec<Parts> = ch
        .rows(
            ch.sql(
                "SELECT count() AS parts, sum(bytes_on_disk) AS bytes FROM system.parts
                 WHERE active AND database = currentDatabase() AND table IN {t:Array(String)}",
            )
            .param("t", tables.to_vec()),
        )
        .await?;
    Ok(p.first().map_or((0, 0), |p| (p.parts, p.bytes)))
}

async fn extent(ch: &Ch, sql: &str) -> Result<Extent, StoreError> {
    Ok(ch
        .rows::<Extent>(ch.sql(sql))
        .await?
        .into_iter()
        .next()
        .unwrap_or(Extent {
            items: 0,
            oldest: 0,
            newest: 0,
        }))
}

fn stats(e: &Extent, (parts, bytes): (u64, u64)) -> SignalStats {
    let t = |v: i64| (e.items > 0).then(|| UnixNanos(u64::try_from(v).unwrap_or(0)));
    SignalStats {
        items: e.items,
        blocks: parts,
        stored_bytes: bytes,
        oldest: t(e.oldest),
        newest: t(e.newest),
    }
}

/// Counts of what is stored.
pub async fn stored(ch: &Ch, schema: &Schema) -> Result<StoredCounts, StoreError> {
    let spans = extent(
        ch,
        &format!(
            "SELECT count() AS items, min(toUnixTimestamp64Nano(Timestamp)) AS oldest,
                    max(toUnixTimestamp64Nano(Timestamp)) AS newest FROM {TRACES}"
        ),
    )
    .await?;
    let logs = extent(
        ch,
        &format!(
            "SELECT count() AS items, min(toUnixTimestamp64Nano(Timestamp)) AS oldest,
                    max(toUnixTimestamp64Nano(Timestamp)) AS newest FROM {LOGS}"
        ),
    )
    .await?;
    let metric_tables = [GAUGE, SUM, HISTOGRAM, EXP_HISTOGRAM, SUMMARY];
    let union = metric_tables
        .iter()
        .map(|t| {
            format!(
                "SELECT {} AS t, ServiceName, MetricName, Attributes, ResourceAttributes FROM {t}",
                schema.metric_time_nanos(t, "TimeUnix")
            )
        })
        .collect::<Vec<_>>()
        .join(" UNION ALL ");
    let points = extent(
        ch,
        &format!("SELECT count() AS items, min(t) AS oldest, max(t) AS newest FROM ({union})"),
    )
    .await?;
    let series = ch
        .rows::<Count>(ch.sql(&format!(
            "SELECT uniqExact(ServiceName, MetricName, Attributes, ResourceAttributes) AS n FROM ({union})"
        )))
        .await?
        .first()
        .map_or(0, |c| c.n);
    let traces = ch
        .rows::<Count>(ch.sql(&format!("SELECT uniqExact(TraceId) AS n FROM {TRACES}")))
        .await?
        .first()
        .map_or(0, |c| c.n);
    Ok(StoredCounts {
        spans: stats(&spans, parts(ch, &[TRACES, TRACE_ID_TS]).await?),
        logs: stats(&logs, parts(ch, &[LOGS]).await?),
        metric_points: stats(&points, parts(ch, &metric_tables).await?),
        traces,
        metric_series: series,
    })
}
