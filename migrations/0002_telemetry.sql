-- Spans and logs live in immutable compressed blocks; the tables below are
-- the index that lets every query open only the blocks it needs.

-- Interned strings (service names, span names, metric names) used by the index.
CREATE TABLE strings (
    id    INTEGER PRIMARY KEY,
    value TEXT NOT NULL UNIQUE
) STRICT;

-- One row per block. signal: 1 = spans, 2 = logs. Ids grow with write order,
-- which is also eviction order.
CREATE TABLE blocks (
    id         INTEGER PRIMARY KEY,
    signal     INTEGER NOT NULL,
    format     INTEGER NOT NULL,
    item_count INTEGER NOT NULL,
    min_time   INTEGER NOT NULL,
    max_time   INTEGER NOT NULL,
    bytes      INTEGER NOT NULL
) STRICT;
CREATE INDEX blocks_by_signal ON blocks (signal, max_time);
CREATE INDEX blocks_by_time ON blocks (max_time);

-- The compressed block itself, apart so index scans never page through it.
CREATE TABLE block_data (
    block_id INTEGER PRIMARY KEY REFERENCES blocks (id) ON DELETE CASCADE,
    data     BLOB NOT NULL
) STRICT;

-- Bloom filter of each block (span ids, indexed attributes, log words).
CREATE TABLE block_filters (
    block_id INTEGER PRIMARY KEY REFERENCES blocks (id) ON DELETE CASCADE,
    filter   BLOB NOT NULL
) STRICT;

-- What a span block holds, per (service, span name, kind).
CREATE TABLE span_groups (
    block_id     INTEGER NOT NULL REFERENCES blocks (id) ON DELETE CASCADE,
    service_id   INTEGER NOT NULL,
    name_id      INTEGER NOT NULL,
    kind         INTEGER NOT NULL,
    span_count   INTEGER NOT NULL,
    error_count  INTEGER NOT NULL,
    min_start    INTEGER NOT NULL,
    max_start    INTEGER NOT NULL,
    min_duration INTEGER NOT NULL,
    max_duration INTEGER NOT NULL,
    PRIMARY KEY (block_id, service_id, name_id, kind)
) STRICT, WITHOUT ROWID;
CREATE INDEX span_groups_by_service ON span_groups (service_id, name_id, block_id);

-- What a log block holds, per (service, severity number).
CREATE TABLE log_groups (
    block_id        INTEGER NOT NULL REFERENCES blocks (id) ON DELETE CASCADE,
    service_id      INTEGER NOT NULL,
    severity_number INTEGER NOT NULL,
    log_count       INTEGER NOT NULL,
    min_time        INTEGER NOT NULL,
    max_time        INTEGER NOT NULL,
    PRIMARY KEY (block_id, service_id, severity_number)
) STRICT, WITHOUT ROWID;
CREATE INDEX log_groups_by_service ON log_groups (service_id, block_id);

-- One row per trace, merged as its spans and logs arrive (in any order).
-- span_blocks / log_blocks / services are varint lists of ids; eviction
-- removes a block from the lists of the traces it holds, and the row once
-- no block is left.
CREATE TABLE traces (
    id              INTEGER PRIMARY KEY,
    trace_id        BLOB NOT NULL UNIQUE,
    start_time      INTEGER NOT NULL,
    end_time        INTEGER NOT NULL,
    span_count      INTEGER NOT NULL,
    error_count     INTEGER NOT NULL,
    root_service_id INTEGER NOT NULL,
    root_name_id    INTEGER NOT NULL,
    root_start      INTEGER NOT NULL,
    root_is_real    INTEGER NOT NULL,
    services        BLOB NOT NULL,
    span_blocks     BLOB NOT NULL,
    log_count       INTEGER NOT NULL,
    log_blocks      BLOB NOT NULL
) STRICT;
CREATE INDEX traces_by_start ON traces (start_time) WHERE span_count > 0;

-- Traces by each service they touch, for "traces of service X".
-- trace_row grows with arrival, so "newest first" is a reverse scan.
CREATE TABLE trace_services (
    service_id INTEGER NOT NULL,
    trace_row  INTEGER NOT NULL,
    PRIMARY KEY (service_id, trace_row)
) STRICT, WITHOUT ROWID;

-- Metric series: one per (metric, resource, scope, attributes).
CREATE TABLE metric_series (
    id            INTEGER PRIMARY KEY,
    name_id       INTEGER NOT NULL,
    kind          INTEGER NOT NULL,
    unit          TEXT NOT NULL,
    description   TEXT NOT NULL,
    temporality   INTEGER NOT NULL,
    monotonic     INTEGER NOT NULL,
    service_id    INTEGER NOT NULL,
    identity_hash INTEGER NOT NULL,
    identity      BLOB NOT NULL,
    first_time    INTEGER NOT NULL,
    last_time     INTEGER NOT NULL
) STRICT;
CREATE INDEX metric_series_by_name ON metric_series (name_id, service_id);
CREATE INDEX metric_series_by_hash ON metric_series (identity_hash);

-- Points not yet sealed into a chunk (acknowledged, so durable, but small).
CREATE TABLE metric_head (
    series_id INTEGER NOT NULL REFERENCES metric_series (id) ON DELETE CASCADE,
    time      INTEGER NOT NULL,
    seq       INTEGER NOT NULL,
    point     BLOB NOT NULL,
    PRIMARY KEY (series_id, time, seq)
) STRICT, WITHOUT ROWID;

-- Sealed, compressed runs of points of one series.
CREATE TABLE metric_chunks (
    id          INTEGER PRIMARY KEY,
    series_id   INTEGER NOT NULL REFERENCES metric_series (id) ON DELETE CASCADE,
    min_time    INTEGER NOT NULL,
    max_time    INTEGER NOT NULL,
    point_count INTEGER NOT NULL,
    data        BLOB NOT NULL
) STRICT;
CREATE INDEX metric_chunks_by_series ON metric_chunks (series_id, max_time);

-- Counters of this database's life (evictions, rejections) for /api/stats.
CREATE TABLE counters (
    name  TEXT PRIMARY KEY,
    value INTEGER NOT NULL
) STRICT;
