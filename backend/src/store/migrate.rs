//! Applies the numbered SQL files of `migrations/` (embedded at build time)
//! in order, each in its own transaction; the schema version is SQLite's
//! `user_version`.

use rusqlite::Connection;

use super::StoreError;

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
        let mut conn = crate::store::connection::open_writer(&path).unwrap();
        assert_eq!(apply(&mut conn).unwrap().len(), MIGRATIONS.len());
        assert!(apply(&mut conn).unwrap().is_empty());
        conn.execute_batch("PRAGMA user_version = 9999").unwrap();
        assert!(matches!(
            apply(&mut conn),
            Err(StoreError::SchemaTooNew { found: 9999, .. })
        ));
    }
}
