-- Per service and minute: what the service catalog (RED) shows, kept apart
-- from the blocks so any window costs a few rows. Written when spans and
-- logs are first stored (compaction does not touch it); retention deletes
-- minutes older than the oldest block left.
-- class: 0 = all spans, 1 = server/consumer spans (requests),
--        2 = root spans of another kind (requests of services without
--            server spans), 3 = log records.
CREATE TABLE service_minutes (
    service_id  INTEGER NOT NULL,
    minute      INTEGER NOT NULL,
    class       INTEGER NOT NULL,
    item_count  INTEGER NOT NULL,
    error_count INTEGER NOT NULL,
    last_time   INTEGER NOT NULL,
    durations   BLOB NOT NULL,
    PRIMARY KEY (service_id, minute, class)
) STRICT, WITHOUT ROWID;
CREATE INDEX service_minutes_by_minute ON service_minutes (minute);
