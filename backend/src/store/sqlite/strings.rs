//! Interned strings of the index (service, span and metric names): the
//! index stores small integers, this table maps them back.

use rustc_hash::FxHashMap as HashMap;

use rusqlite::{Connection, OptionalExtension, params};

use crate::store::StoreError;

/// The writer's cache of interned strings.
#[derive(Default)]
pub struct Interner {
    ids: HashMap<String, i64>,
}

impl Interner {
    /// The id of `s`, inserting it on first sight (inside the caller's
    /// transaction, so a rolled-back batch leaves nothing behind — the cache
    /// is cleared by [`Interner::forget`] in that case).
    pub fn id(&mut self, conn: &Connection, s: &str) -> Result<i64, StoreError> {
        if let Some(&id) = self.ids.get(s) {
            return Ok(id);
        }
        let existing: Option<i64> = conn
            .prepare_cached("SELECT id FROM strings WHERE value = ?1")?
            .query_row(params![s], |r| r.get(0))
            .optional()?;
        let id = match existing {
            Some(id) => id,
            None => {
                conn.prepare_cached("INSERT INTO strings (value) VALUES (?1)")?
                    .execute(params![s])?;
                conn.last_insert_rowid()
            }
        };
        self.ids.insert(s.to_owned(), id);
        Ok(id)
    }

    /// Drops the cache after a failed transaction.
    pub fn forget(&mut self) {
        self.ids.clear();
    }
}

/// Looks a string id up (read side); `None` when the string was never seen.
pub fn lookup(conn: &Connection, s: &str) -> Result<Option<i64>, StoreError> {
    Ok(conn
        .prepare_cached("SELECT id FROM strings WHERE value = ?1")?
        .query_row(params![s], |r| r.get(0))
        .optional()?)
}

/// The string of an id (read side).
pub fn value(conn: &Connection, id: i64) -> Result<String, StoreError> {
    Ok(conn
        .prepare_cached("SELECT value FROM strings WHERE id = ?1")?
        .query_row(params![id], |r| r.get(0))
        .optional()?
        .unwrap_or_default())
}
