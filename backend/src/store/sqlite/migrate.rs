//! Applies the numbered SQL files of `migrations/` (embedded at build time)
//! in order, each in its own transaction; the schema version is SQLite's
//! `user_version`.

use rusqlite::Connection;

use crate::store::StoreError;

include!(concat!(env!("OUT_DIR"), "/migrations.rs"));

/// The schema version this binary creates.
pub fn latest_version() -> u32 {
    MIGRATIONS.last().map(|m| m.0).unwrap_or(0)
}

/// Brings the database up to [`latest_version`]; returns the versions applied.
pub fn apply(conn: &mut Connection) -> Result<Vec<u32>, StoreError> {
    let current: u32 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
    let known = latest_version();
    if current > known {
        return Err(StoreError::SchemaTooNew {
            found: current,
            known,
        });
    }
    let mut applied = Vec::new();
    for &(version, name, sql) in MIGRATIONS.iter().filter(|m| m.0 > current) {
        let tx = conn.transaction()?;
        tx.execute_batch(sql)
            .map_err(|source| StoreError::Migration {
                name: name.to_owned(),
                source,
            })?;
        // user_version cannot be bound as a parameter; the value is ours.
        tx.execute_batch(&format!("PRAGMA user_version = {version}"))?;
        tx.commit()?;
        applied.push(version);
    }
    Ok(applied)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrations_are_numbered_in_order_without_gaps() {
        for (i, m) in MIGRATIONS.iter().enumerate() {
            assert_eq!(m.0 as usize, i + 1, "migration {} out of sequence", m.1);
        }
        assert!(latest_version() >= 1);
    }

    #[test]
    fn apply_is_idempotent_and_refuses_newer_schemas() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("t.db");
        let mut conn = crate::store::sqlite::connection::open_writer(&path).unwrap();
        assert_eq!(apply(&mut conn).unwrap().len(), MIGRATIONS.len());
        assert!(apply(&mut conn).unwrap().is_empty());
        conn.execute_batch("PRAGMA user_version = 9999").unwrap();
        assert!(matches!(
            apply(&mut conn),
            Err(StoreError::SchemaTooNew { found: 9999, .. })
        ));
    }

    #[test]
    fn trace_summaries_become_relative_and_stay_findable_by_id() {
        let tmp = tempfile::tempdir().unwrap();
        let mut conn =
            crate::store::sqlite::connection::open_writer(&tmp.path().join("t.db")).unwrap();
        // A database as version 4 left it: absolute end and root start.
        for &(version, _, sql) in MIGRATIONS.iter().filter(|m| m.0 <= 4) {
            conn.execute_batch(sql).unwrap();
            conn.execute_batch(&format!("PRAGMA user_version = {version}"))
                .unwrap();
        }
        let with_spans = [7u8; 16];
        let logs_only = [9u8; 16];
        conn.execute(
            "INSERT INTO traces (trace_id, start_time, end_time, span_count, error_count, root_service_id,
               root_name_id, root_start, root_is_real, services, span_blocks, log_count, log_blocks)
             VALUES (?1, 1000, 1500, 3, 0, 1, 2, 1200, 0, x'', x'', 0, x''),
                    (?2, 2000, 2600, 0, 0, 0, 0, 0, 0, x'', x'', 4, x'')",
            rusqlite::params![with_spans.as_slice(), logs_only.as_slice()],
        )
        .unwrap();

        assert_eq!(apply(&mut conn).unwrap(), vec![5]);
        let read = |id: &[u8; 16]| -> (i64, i64, i64) {
            conn.query_row(
                concat!(
                    "SELECT start_time, duration, root_offset FROM traces WHERE ",
                    trace_by_id!()
                ),
                [id.as_slice()],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .unwrap()
        };
        assert_eq!(read(&with_spans), (1000, 500, 200));
        assert_eq!(read(&logs_only), (2000, 600, 0));
        assert_eq!(
            conn.query_row("PRAGMA integrity_check", [], |r| r.get::<_, String>(0))
                .unwrap(),
            "ok"
        );
    }

    #[test]
    fn trace_lookups_by_id_use_the_id_index() {
        let tmp = tempfile::tempdir().unwrap();
        let mut conn =
            crate::store::sqlite::connection::open_writer(&tmp.path().join("t.db")).unwrap();
        apply(&mut conn).unwrap();
        let plan: Vec<String> = conn
            .prepare(concat!(
                "EXPLAIN QUERY PLAN SELECT id FROM traces WHERE ",
                trace_by_id!()
            ))
            .unwrap()
            .query_map([[1u8; 16].as_slice()], |r| r.get(3))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert!(
            plan.iter().any(|step| step.contains("INDEX traces_by_id")),
            "{plan:?}"
        );
    }
}
