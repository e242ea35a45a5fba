-- Trace summaries, smaller (about 20 bytes less per trace):
-- * end and root start are kept relative to the start: a duration fits in
--   4 bytes where a nanosecond timestamp takes 8, and the root usually starts
--   the trace, so its offset is 0, which SQLite stores in no bytes at all;
-- * trace ids are found through an index on their last 8 bytes instead of a
--   UNIQUE index on all 16. Those are the bytes W3C trace ids keep random
--   (AWS X-Ray ids start with a timestamp), so a key rarely has two rows, and
--   lookups compare the whole id as well. The single writer keeps ids unique.
CREATE TABLE traces_compact (
    id              INTEGER PRIMARY KEY,
    trace_id        BLOB NOT NULL,
    start_time      INTEGER NOT NULL,
    duration        INTEGER NOT NULL,
    span_count      INTEGER NOT NULL,
    error_count     INTEGER NOT NULL,
    root_service_id INTEGER NOT NULL,
    root_name_id    INTEGER NOT NULL,
    root_offset     INTEGER NOT NULL,
    root_is_real    INTEGER NOT NULL,
    services        BLOB NOT NULL,
    span_blocks     BLOB NOT NULL,
    log_count       INTEGER NOT NULL,
    log_blocks      BLOB NOT NULL
) STRICT;
INSERT INTO traces_compact (id, trace_id, start_time, duration, span_count, error_count,
    root_service_id, root_name_id, root_offset, root_is_real, services, span_blocks,
    log_count, log_blocks)
SELECT id, trace_id, start_time, end_time - start_time, span_count, error_count,
    root_service_id, root_name_id,
    CASE WHEN span_count > 0 THEN root_start - start_time ELSE 0 END,
    root_is_real, services, span_blocks, log_count, log_blocks
FROM traces ORDER BY id;
DROP TABLE traces;
ALTER TABLE traces_compact RENAME TO traces;
CREATE INDEX traces_by_id ON traces (substr(trace_id, 9));
CREATE INDEX traces_by_start ON traces (start_time) WHERE span_count > 0;
