//! The tables: the OpenTelemetry Collector `clickhouseexporter`'s schema
//! (`exporter/clickhouseexporter/internal/sqltemplates/`), created when
//! missing, and probed at start-up so that tables written by any of the
//! exporter's documented versions are read the way they were written.

use std::collections::HashMap;
use std::time::Duration;

use clickhouse::Row;
use serde::Deserialize;

use super::super::StoreError;
use super::client::{Ch, ClickHouseConfig};

pub const TRACES: &str = "otel_traces";
pub const TRACE_ID_TS: &str = "otel_traces_trace_id_ts";
pub const TRACE_ID_TS_MV: &str = "otel_traces_trace_id_ts_mv";
pub const LOGS: &str = "otel_logs";
pub const GAUGE: &str = "otel_metrics_gauge";
pub const SUM: &str = "otel_metrics_sum";
pub const HISTOGRAM: &str = "otel_metrics_histogram";
pub const EXP_HISTOGRAM: &str = "otel_metrics_exp_histogram";
pub const SUMMARY: &str = "otel_metrics_summary";

/// Every table Sightline reads, in creation order (the lookup table before
/// the view that fills it).
pub const TABLES: [&str; 8] = [
    TRACES,
    TRACE_ID_TS,
    LOGS,
    GAUGE,
    SUM,
    HISTOGRAM,
    EXP_HISTOGRAM,
    SUMMARY,
];

/// How a table's time column was declared: the exporter wrote metric times
/// as `DateTime` before it moved to `DateTime64(9)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TimeColumn {
    Nanos,
    Seconds,
}

/// What the probe found, as far as queries must adapt to it.
#[derive(Clone, Debug)]
pub struct Schema {
    /// The time column type of each metric table.
    pub metric_time: HashMap<&'static str, TimeColumn>,
    /// `otel_logs` has an `EventName` column (newer exporters).
    pub logs_event_name: bool,
    /// `otel_logs.Body` has a `text` index (ClickHouse 26.2+): token
    /// searches are answered by it.
    pub logs_text_index: bool,
    /// `otel_traces_trace_id_ts` exists: a trace's time range is found
    /// there before its spans are read.
    pub trace_id_ts: bool,
}

impl Schema {
    /// The expression giving metric time in Unix nanoseconds for `table`.
    pub fn metric_time_nanos(&self, table: &str, column: &str) -> String {
        match self.metric_time.get(table) {
            Some(TimeColumn::Seconds) => format!("toInt64(toUnixTimestamp({column})) * 1000000000"),
            _ => format!("toUnixTimestamp64Nano({column})"),
        }
    }

    /// The expression turning a Unix-nanosecond parameter into a value
    /// comparable with `table`'s time column.
    pub fn metric_time_param(&self, table: &str, param: &str) -> String {
        match self.metric_time.get(table) {
            Some(TimeColumn::Seconds) => {
                format!("toDateTime(intDiv({{{param}:Int64}}, 1000000000))")
            }
            _ => format!("fromUnixTimestamp64Nano({{{param}:Int64}})"),
        }
    }
}

#[derive(Row, Deserialize)]
struct ColumnRow {
    table: String,
    name: String,
    #[serde(rename = "type")]
    ty: String,
}

#[derive(Row, Deserialize)]
struct IndexRow {
    table: String,
    expr: String,
    #[serde(rename = "type")]
    ty: String,
}

/// Columns a table must have for Sightline to read it.
fn required(table: &str) -> &'static [&'static str] {
    const METRIC: &[&str] = &[
        "ResourceAttributes",
        "ScopeName",
        "ScopeVersion",
        "ServiceName",
        "MetricName",
        "MetricDescription",
        "MetricUnit",
        "Attributes",
        "StartTimeUnix",
        "TimeUnix",
    ];
    match table {
        TRACES => &[
            "Timestamp",
            "TraceId",
            "SpanId",
            "ParentSpanId",
            "TraceState",
            "SpanName",
            "SpanKind",
            "ServiceName",
            "ResourceAttributes",
            "ScopeName",
            "ScopeVersion",
            "SpanAttributes",
            "Duration",
            "StatusCode",
            "StatusMessage",
            "Events.Timestamp",
            "Events.Name",
            "Events.Attributes",
            "Links.TraceId",
            "Links.SpanId",
            "Links.TraceState",
            "Links.Attributes",
        ],
        TRACE_ID_TS => &["TraceId", "Start", "End"],
        LOGS => &[
            "Timestamp",
            "TraceId",
            "SpanId",
            "TraceFlags",
            "SeverityText",
            "SeverityNumber",
            "ServiceName",
            "Body",
            "ResourceSchemaUrl",
            "ResourceAttributes",
            "ScopeSchemaUrl",
            "ScopeName",
            "ScopeVersion",
            "ScopeAttributes",
            "LogAttributes",
        ],
        _ => METRIC,
    }
}

/// Creates what is missing (when allowed), then probes every table.
pub async fn prepare(ch: &Ch, config: &ClickHouseConfig) -> Result<Schema, StoreError> {
    if config.create_tables {
        let mut statements = create_statements(config).into_iter();
        // The database may not exist yet: create it without naming it as
        // the current one.
        if let Some(create_database) = statements.next() {
            ch.run(ch.server_sql(&create_database)).await?;
        }
        for statement in statements {
            ch.run(ch.sql(&statement)).await?;
        }
    }
    probe(ch, &config.database).await
}

/// Reads the tables' columns and indexes and decides how to use them;
/// refuses, naming the table and column, what it cannot read.
pub async fn probe(ch: &Ch, database: &str) -> Result<Schema, StoreError> {
    let columns: Vec<ColumnRow> = ch
        .rows(
            ch.sql(
                "SELECT table, name, type FROM system.columns
                 WHERE database = {db:String} AND table IN {tables:Array(String)}",
            )
            .param("db", database)
            .param("tables", TABLES.to_vec()),
        )
        .await?;
    let mut by_table: HashMap<&str, HashMap<&str, &str>> = HashMap::new();
    for c in &columns {
        by_table
            .entry(c.table.as_str())
            .or_default()
            .insert(c.name.as_str(), c.ty.as_str());
    }
    for table in TABLES {
        let Some(found) = by_table.get(table) else {
            if table == TRACE_ID_TS {
                continue;
            }
            return Err(StoreError::UnsupportedSchema(format!(
                "ClickHouse database {database:?} has no table {table}: create it (start without \
                 --clickhouse-no-create-tables) or point --clickhouse-database at the Collector's database"
            )));
        };
        if let Some(missing) = required(table).iter().find(|c| !found.contains_key(*c)) {
            return Err(StoreError::UnsupportedSchema(format!(
                "table {database}.{table} has no column {missing}: it is not a table of the \
                 OpenTelemetry Collector's clickhouseexporter schema Sightline reads"
            )));
        }
    }
    let mut metric_time = HashMap::new();
    for table in [GAUGE, SUM, HISTOGRAM, EXP_HISTOGRAM, SUMMARY] {
        let ty = by_table
            .get(table)
            .and_then(|t| t.get("TimeUnix"))
            .copied()
            .unwrap_or_default();
        let time = if ty.starts_with("DateTime64(9") {
            TimeColumn::Nanos
        } else if ty.starts_with("DateTime") {
            TimeColumn::Seconds
        } else {
            return Err(StoreError::UnsupportedSchema(format!(
                "{database}.{table}.TimeUnix is {ty}, not DateTime64(9) or DateTime"
            )));
        };
        metric_time.insert(table, time);
    }
    let trace_ts = by_table
        .get(TRACES)
        .and_then(|t| t.get("Timestamp"))
        .copied()
        .unwrap_or_default();
    if !trace_ts.starts_with("DateTime64(9") {
        return Err(StoreError::UnsupportedSchema(format!(
            "{database}.{TRACES}.Timestamp is {trace_ts}, not DateTime64(9)"
        )));
    }
    let indexes: Vec<IndexRow> = ch
        .rows(
            ch.sql(
                "SELECT table, expr, type FROM system.data_skipping_indices
                 WHERE database = {db:String} AND table = {t:String}",
            )
            .param("db", database)
            .param("t", LOGS),
        )
        .await?;
    Ok(Schema {
        metric_time,
        logs_event_name: by_table
            .get(LOGS)
            .is_some_and(|t| t.contains_key("EventName")),
        logs_text_index: indexes
            .iter()
            .any(|i| i.table == LOGS && i.ty == "text" && i.expr.contains("Body")),
        trace_id_ts: by_table.contains_key(TRACE_ID_TS),
    })
}

/// A `TTL` clause keeping `age` of data by `time_expr`, or nothing.
fn ttl(time_expr: &str, age: Option<Duration>) -> String {
    match age {
        Some(a) => format!("TTL {time_expr} + toIntervalSecond({})", a.as_secs().max(1)),
        None => String::new(),
    }
}

/// Backtick-quotes an identifier (database and cluster names come from
/// flags, never from requests).
pub fn ident(s: &str) -> String {
    format!("`{}`", s.replace('\\', "\\\\").replace('`', "\\`"))
}

/// The columns of `otel_traces`, as the exporter declares them.
const TRACES_COLUMNS: &str = "
    Timestamp DateTime64(9) CODEC(Delta(8), ZSTD(1)),
    TraceId String CODEC(ZSTD(1)),
    SpanId String CODEC(ZSTD(1)),
    ParentSpanId String CODEC(ZSTD(1)),
    TraceState String CODEC(ZSTD(1)),
    SpanName LowCardinality(String) CODEC(ZSTD(1)),
    SpanKind LowCardinality(String) CODEC(ZSTD(1)),
    ServiceName LowCardinality(String) CODEC(ZSTD(1)),
    ResourceAttributes Map(LowCardinality(String), String) CODEC(ZSTD(1)),
    ScopeName String CODEC(ZSTD(1)),
    ScopeVersion String CODEC(ZSTD(1)),
    SpanAttributes Map(LowCardinality(String), String) CODEC(ZSTD(1)),
    Duration UInt64 CODEC(T64, ZSTD(1)),
    StatusCode LowCardinality(String) CODEC(ZSTD(1)),
    StatusMessage String CODEC(ZSTD(1)),
    Events Nested (
        Timestamp DateTime64(9),
        Name LowCardinality(String),
        Attributes Map(LowCardinality(String), String)
    ) CODEC(ZSTD(1)),
    Links Nested (
        TraceId String,
        SpanId String,
        TraceState String,
        Attributes Map(LowCardinality(String), String)
    ) CODEC(ZSTD(1)),
    INDEX idx_trace_id TraceId TYPE bloom_filter(0.001) GRANULARITY 1,
    INDEX idx_res_attr_key mapKeys(ResourceAttributes) TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_res_attr_value mapValues(ResourceAttributes) TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_span_attr_key mapKeys(SpanAttributes) TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_span_attr_value mapValues(SpanAttributes) TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_duration Duration TYPE minmax GRANULARITY 1";

const TRACES_KEYS: &str = "PARTITION BY toDate(Timestamp)
    ORDER BY (ServiceName, SpanName, toDateTime(Timestamp))";

const TRACE_ID_TS_COLUMNS: &str = "
    TraceId String CODEC(ZSTD(1)),
    Start SimpleAggregateFunction(min, DateTime) CODEC(ZSTD(1)),
    End SimpleAggregateFunction(max, DateTime) CODEC(ZSTD(1))";

const TRACE_ID_TS_KEYS: &str = "PARTITION BY toStartOfWeek(Start)
    ORDER BY (TraceId)";

const LOGS_COLUMNS: &str = "
    Timestamp DateTime64(9) CODEC(Delta(8), ZSTD(1)),
    TimestampTime DateTime DEFAULT toDateTime(Timestamp),
    TraceId String CODEC(ZSTD(1)),
    SpanId String CODEC(ZSTD(1)),
    TraceFlags UInt8,
    SeverityText LowCardinality(String) CODEC(ZSTD(1)),
    SeverityNumber UInt8,
    ServiceName LowCardinality(String) CODEC(ZSTD(1)),
    Body String CODEC(ZSTD(1)),
    ResourceSchemaUrl LowCardinality(String) CODEC(ZSTD(1)),
    ResourceAttributes Map(LowCardinality(String), String) CODEC(ZSTD(1)),
    ScopeSchemaUrl LowCardinality(String) CODEC(ZSTD(1)),
    ScopeName String CODEC(ZSTD(1)),
    ScopeVersion LowCardinality(String) CODEC(ZSTD(1)),
    ScopeAttributes Map(LowCardinality(String), String) CODEC(ZSTD(1)),
    LogAttributes Map(LowCardinality(String), String) CODEC(ZSTD(1)),
    EventName String CODEC(ZSTD(1)),
    INDEX idx_trace_id TraceId TYPE bloom_filter(0.001) GRANULARITY 1,
    INDEX idx_res_attr_key mapKeys(ResourceAttributes) TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_res_attr_value mapValues(ResourceAttributes) TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_scope_attr_key mapKeys(ScopeAttributes) TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_scope_attr_value mapValues(ScopeAttributes) TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_log_attr_key mapKeys(LogAttributes) TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_log_attr_value mapValues(LogAttributes) TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_body Body TYPE tokenbf_v1(32768, 3, 0) GRANULARITY 8";

const LOGS_KEYS: &str = "PARTITION BY toDate(TimestampTime)
    PRIMARY KEY (ServiceName, TimestampTime)
    ORDER BY (ServiceName, TimestampTime, Timestamp)";

/// The columns every metric table starts with.
const METRIC_HEAD: &str = "
    ResourceAttributes Map(LowCardinality(String), String) CODEC(ZSTD(1)),
    ResourceSchemaUrl String CODEC(ZSTD(1)),
    ScopeName String CODEC(ZSTD(1)),
    ScopeVersion String CODEC(ZSTD(1)),
    ScopeAttributes Map(LowCardinality(String), String) CODEC(ZSTD(1)),
    ScopeDroppedAttrCount UInt32 CODEC(ZSTD(1)),
    ScopeSchemaUrl String CODEC(ZSTD(1)),
    ServiceName LowCardinality(String) CODEC(ZSTD(1)),
    MetricName String CODEC(ZSTD(1)),
    MetricDescription String CODEC(ZSTD(1)),
    MetricUnit String CODEC(ZSTD(1)),
    Attributes Map(LowCardinality(String), String) CODEC(ZSTD(1)),
    StartTimeUnix DateTime64(9) CODEC(Delta, ZSTD(1)),
    TimeUnix DateTime64(9) CODEC(Delta, ZSTD(1)),";

const EXEMPLARS: &str = "
    Exemplars Nested (
        FilteredAttributes Map(LowCardinality(String), String),
        TimeUnix DateTime64(9),
        Value Float64,
        SpanId String,
        TraceId String
    ) CODEC(ZSTD(1)),";

const METRIC_INDEXES: &str = "
    INDEX idx_res_attr_key mapKeys(ResourceAttributes) TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_res_attr_value mapValues(ResourceAttributes) TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_scope_attr_key mapKeys(ScopeAttributes) TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_scope_attr_value mapValues(ScopeAttributes) TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_attr_key mapKeys(Attributes) TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_attr_value mapValues(Attributes) TYPE bloom_filter(0.01) GRANULARITY 1";

const METRIC_KEYS: &str = "PARTITION BY toDate(TimeUnix)
    ORDER BY (ServiceName, MetricName, Attributes, toUnixTimestamp64Nano(TimeUnix))";

/// The body columns of each metric table (between head and indexes).
fn metric_body(table: &str) -> String {
    match table {
        GAUGE => format!("Value Float64 CODEC(ZSTD(1)), Flags UInt32 CODEC(ZSTD(1)),{EXEMPLARS}"),
        SUM => format!(
            "Value Float64 CODEC(ZSTD(1)), Flags UInt32 CODEC(ZSTD(1)),{EXEMPLARS}
             AggregationTemporality Int32 CODEC(ZSTD(1)),
             IsMonotonic Boolean CODEC(Delta, ZSTD(1)),"
        ),
        HISTOGRAM => format!(
            "Count UInt64 CODEC(Delta, ZSTD(1)),
             Sum Float64 CODEC(ZSTD(1)),
             BucketCounts Array(UInt64) CODEC(ZSTD(1)),
             ExplicitBounds Array(Float64) CODEC(ZSTD(1)),{EXEMPLARS}
             Flags UInt32 CODEC(ZSTD(1)),
             Min Float64 CODEC(ZSTD(1)),
             Max Float64 CODEC(ZSTD(1)),
             AggregationTemporality Int32 CODEC(ZSTD(1)),"
        ),
        EXP_HISTOGRAM => format!(
            "Count UInt64 CODEC(Delta, ZSTD(1)),
             Sum Float64 CODEC(ZSTD(1)),
             Scale Int32 CODEC(ZSTD(1)),
             ZeroCount UInt64 CODEC(ZSTD(1)),
             PositiveOffset Int32 CODEC(ZSTD(1)),
             PositiveBucketCounts Array(UInt64) CODEC(ZSTD(1)),
             NegativeOffset Int32 CODEC(ZSTD(1)),
             NegativeBucketCounts Array(UInt64) CODEC(ZSTD(1)),{EXEMPLARS}
             Flags UInt32 CODEC(ZSTD(1)),
             Min Float64 CODEC(ZSTD(1)),
             Max Float64 CODEC(ZSTD(1)),
             AggregationTemporality Int32 CODEC(ZSTD(1)),"
        ),
        _ => "Count UInt64 CODEC(Delta, ZSTD(1)),
             Sum Float64 CODEC(ZSTD(1)),
             ValueAtQuantiles Nested (Quantile Float64, Value Float64) CODEC(ZSTD(1)),
             Flags UInt32 CODEC(ZSTD(1)),"
            .to_owned(),
    }
}

/// One table's columns, keys, the expression its TTL counts from, its
/// retention and its sharding key.
struct TableSpec {
    name: &'static str,
    /// `MergeTree`, or `AggregatingMergeTree` for the id lookup, whose
    /// `SimpleAggregateFunction` columns then merge to one row per trace.
    engine: &'static str,
    columns: String,
    keys: &'static str,
    ttl: String,
    shard_by: &'static str,
}

fn specs(config: &ClickHouseConfig) -> Vec<TableSpec> {
    let mut out = vec![
        TableSpec {
            name: TRACES,
            engine: "MergeTree",
            columns: TRACES_COLUMNS.to_owned(),
            keys: TRACES_KEYS,
            ttl: ttl("toDateTime(Timestamp)", config.ttl_spans),
            shard_by: "cityHash64(TraceId)",
        },
        TableSpec {
            name: TRACE_ID_TS,
            engine: "AggregatingMergeTree",
            columns: TRACE_ID_TS_COLUMNS.to_owned(),
            keys: TRACE_ID_TS_KEYS,
            ttl: ttl("toDateTime(Start)", config.ttl_spans),
            shard_by: "cityHash64(TraceId)",
        },
        TableSpec {
            name: LOGS,
            engine: "MergeTree",
            columns: LOGS_COLUMNS.to_owned(),
            keys: LOGS_KEYS,
            ttl: ttl("TimestampTime", config.ttl_logs),
            shard_by: "cityHash64(TraceId)",
        },
    ];
    for name in [GAUGE, SUM, HISTOGRAM, EXP_HISTOGRAM, SUMMARY] {
        out.push(TableSpec {
            name,
            engine: "MergeTree",
            columns: format!("{METRIC_HEAD}\n    {}{METRIC_INDEXES}", metric_body(name)),
            keys: METRIC_KEYS,
            ttl: ttl("toDateTime(TimeUnix)", config.ttl_metrics),
            shard_by: "cityHash64(ServiceName, MetricName, Attributes)",
        });
    }
    out
}

/// The `CREATE … IF NOT EXISTS` statements for `config`, in order.
///
/// On one server: `MergeTree` tables under the exporter's names. With a
/// cluster: `<name>_local` tables `ON CLUSTER` as `ReplicatedMergeTree`,
/// and `Distributed` tables under the exporter's names in front of them,
/// sharded so a trace (spans, its id lookup and its logs) stays on one
/// shard and a metric series on one shard.
pub fn create_statements(config: &ClickHouseConfig) -> Vec<String> {
    let db = ident(&config.database);
    let mut out = Vec::new();
    let on_cluster = config
        .cluster
        .as_deref()
        .map(|c| format!("ON CLUSTER {}", ident(c)))
        .unwrap_or_default();
    out.push(format!("CREATE DATABASE IF NOT EXISTS {db} {on_cluster}"));
    for spec in specs(config) {
        let local = match &config.cluster {
            Some(_) => format!("{}_local", spec.name),
            None => spec.name.to_owned(),
        };
        let engine = match &config.cluster {
            Some(_) => format!(
                "Replicated{}('/clickhouse/tables/{{shard}}/{}/{local}', '{{replica}}')",
                spec.engine,
                config.database.replace(['\'', '\\', '/'], "_")
            ),
            None => format!("{}()", spec.engine),
        };
        // Replicated tables deduplicate retried inserts by default; a
        // plain MergeTree only with a window.
        let dedup = match &config.cluster {
            Some(_) => "",
            None => ", non_replicated_deduplication_window = 1000",
        };
        out.push(format!(
            "CREATE TABLE IF NOT EXISTS {db}.{} {on_cluster} ({}\n) ENGINE = {engine}\n    {}\n    {}\n    SETTINGS index_granularity = 8192, ttl_only_drop_parts = 1{dedup}",
            ident(&local),
            spec.columns,
            spec.keys,
            spec.ttl,
        ));
        if let Some(cluster) = &config.cluster {
            out.push(format!(
                "CREATE TABLE IF NOT EXISTS {db}.{} {on_cluster} AS {db}.{} ENGINE = Distributed({}, {db}, {}, {})",
                ident(spec.name),
                ident(&local),
                ident(cluster),
                ident(&local),
                spec.shard_by,
            ));
        }
    }
    // The view fills the id → time range lookup from every span insert;
    // on a cluster it runs on each shard's local tables.
    let (from, to) = match &config.cluster {
        Some(_) => (format!("{TRACES}_local"), format!("{TRACE_ID_TS}_local")),
        None => (TRACES.to_owned(), TRACE_ID_TS.to_owned()),
    };
    out.push(format!(
        "CREATE MATERIALIZED VIEW IF NOT EXISTS {db}.{} {on_cluster} TO {db}.{}
         AS SELECT TraceId, min(Timestamp) AS Start, max(Timestamp) AS End
         FROM {db}.{} WHERE TraceId != '' GROUP BY TraceId",
        ident(TRACE_ID_TS_MV),
        ident(&to),
        ident(&from),
    ));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cluster_gets_replicated_local_tables_behind_distributed_ones() {
        let mut config = ClickHouseConfig::new("http://ch:8123", "otel");
        config.cluster = Some("prod".into());
        config.ttl_logs = Some(Duration::from_secs(86_400));
        let all = create_statements(&config).join("\n");
        assert!(all.contains("CREATE DATABASE IF NOT EXISTS `otel` ON CLUSTER `prod`"));
        assert!(all.contains(
            "`otel`.`otel_traces_local` ON CLUSTER `prod` (\n    Timestamp DateTime64(9)"
        ));
        assert!(all.contains(
            "ReplicatedMergeTree('/clickhouse/tables/{shard}/otel/otel_traces_local', '{replica}')"
        ));
        assert!(all.contains(
            "`otel`.`otel_traces` ON CLUSTER `prod` AS `otel`.`otel_traces_local` ENGINE = Distributed(`prod`, `otel`, `otel_traces_local`, cityHash64(TraceId))"
        ));
        assert!(all.contains("TTL TimestampTime + toIntervalSecond(86400)"));
        assert!(all.contains("TO `otel`.`otel_traces_trace_id_ts_local`"));
        assert_eq!(all.matches("Distributed(").count(), TABLES.len());
    }

    #[test]
    fn one_server_gets_plain_merge_trees_and_no_ttl_by_default() {
        let all = create_statements(&ClickHouseConfig::new("http://ch:8123", "otel")).join("\n");
        assert!(!all.contains("Distributed"));
        assert!(!all.contains("TTL"));
        assert_eq!(
            all.matches("ENGINE = MergeTree()").count(),
            TABLES.len() - 1
        );
        assert_eq!(all.matches("ENGINE = AggregatingMergeTree()").count(), 1);
    }

    #[test]
    fn identifiers_are_quoted() {
        assert_eq!(ident("a`b"), "`a\\`b`");
    }
}
