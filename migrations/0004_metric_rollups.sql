-- Metric rollups (store/rollups.rs): per series, 1-minute and 1-hour buckets
-- computed from its sealed chunks, written in the transaction that seals the
-- points they summarise. One row covers one hour of one series: the hour's
-- minute buckets packed together (metric_rollups_1m) or the hour's single
-- bucket (metric_rollups_1h). Retention drops them in whole hours with the
-- points they summarise.
CREATE TABLE metric_rollups_1m (
    series_id INTEGER NOT NULL REFERENCES metric_series (id) ON DELETE CASCADE,
    hour      INTEGER NOT NULL,
    data      BLOB NOT NULL,
    PRIMARY KEY (series_id, hour)
) STRICT;

CREATE TABLE metric_rollups_1h (
    series_id INTEGER NOT NULL REFERENCES metric_series (id) ON DELETE CASCADE,
    hour      INTEGER NOT NULL,
    data      BLOB NOT NULL,
    PRIMARY KEY (series_id, hour)
) STRICT, WITHOUT ROWID;

-- The newest sealed point of each series (binary point form), written with
-- its rollups. A query adds the head's points to the rollups, and the first
-- head point's increase is taken against this one, so the chunks need not
-- be read.
CREATE TABLE metric_sealed_tail (
    series_id INTEGER PRIMARY KEY REFERENCES metric_series (id) ON DELETE CASCADE,
    time      INTEGER NOT NULL,
    point     BLOB NOT NULL
) STRICT;

-- Series with sealed chunks but no rollups yet (sealed before this
-- migration, or whose rollups could not be computed when sealed). The
-- compactor rolls each up from all its chunks and removes the row; until
-- then queries read the series' raw points.
CREATE TABLE metric_rollup_backfill (
    series_id INTEGER PRIMARY KEY REFERENCES metric_series (id) ON DELETE CASCADE
) STRICT;
INSERT INTO metric_rollup_backfill (series_id) SELECT DISTINCT series_id FROM metric_chunks;
