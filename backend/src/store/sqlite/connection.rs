//! Opening SQLite connections with the settings every connection needs.

use std::path::Path;
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};

use crate::store::StoreError;

/// Opens the read-write connection owned by the single writer. WAL lets
/// readers run while it writes; `synchronous=NORMAL` keeps every commit
/// durable against a process crash (the WAL is fsynced at checkpoints, which
/// only a power loss can beat).
pub fn open_writer(path: &Path) -> Result<Connection, StoreError> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    conn.busy_timeout(Duration::from_secs(5))?;
    // auto_vacuum must be chosen before the first table exists; it lets the
    // retention code hand freed pages back to the file system.
    conn.pragma_update(None, "auto_vacuum", "INCREMENTAL")?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    Ok(conn)
}

/// Opens a read-only connection for queries: it never takes the write lock,
/// so queries never wait for ingest.
pub fn open_reader(path: &Path) -> Result<Connection, StoreError> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    conn.busy_timeout(Duration::from_secs(5))?;
    // Without the planner's stability guarantee the bundled SQLite (built
    // with STAT4) re-prepares a cached statement on every run whose range
    // bounds are parameters (`time >= ?2`): a third of a metric query's
    // statement time.
    conn.set_db_config(
        rusqlite::config::DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG,
        true,
    )?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    Ok(conn)
}

/// Bytes the database occupies on disk: the main file plus its WAL.
pub fn size_on_disk(db_path: &Path) -> u64 {
    let main = std::fs::metadata(db_path).map(|m| m.len()).unwrap_or(0);
    let mut wal_name = db_path.as_os_str().to_owned();
    wal_name.push("-wal");
    let wal = std::fs::metadata(Path::new(&wal_name))
        .map(|m| m.len())
        .unwrap_or(0);
    main + wal
}
