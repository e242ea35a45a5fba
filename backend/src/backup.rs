//! Consistent copies of the database while the server keeps running.
//!
//! SQLite's online backup API copies every page inside one read
//! transaction of the source, so the copy is the database as of one commit
//! even while the writer goes on (WAL readers never block the writer). The
//! copy is written beside its destination and renamed into place only when
//! complete and checked, so a failed or interrupted backup never leaves a
//! file that looks like a good one.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use rusqlite::{Connection, OpenFlags};

/// Why a backup could not be made.
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    #[error("no database at {0} (is --data-dir right?)")]
    NoDatabase(PathBuf),
    #[error("{0} already exists; choose another file or pass --force")]
    Exists(PathBuf),
    #[error("cannot read the database {path}: {source}")]
    Source {
        path: PathBuf,
        #[source]
        source: rusqlite::Error,
    },
    #[error("cannot write the backup {path}: {source}")]
    Destination {
        path: PathBuf,
        #[source]
        source: rusqlite::Error,
    },
    #[error("the copy failed its integrity check: {0}")]
    Corrupt(String),
    #[error("cannot move the finished backup to {path}: {source}")]
    Rename {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// What a finished backup holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackupReport {
    /// Bytes of the backup file.
    pub bytes: u64,
    /// How long the copy and its check took.
    pub elapsed: Duration,
}

/// Copies the database at `db` to `out`, refusing to replace an existing
/// file unless `overwrite`. The copy is a self-contained file (rollback
/// journal mode, no `-wal` beside it) that a server opens as its
/// `sightline.db` directly.
pub fn backup(db: &Path, out: &Path, overwrite: bool) -> Result<BackupReport, BackupError> {
    let started = Instant::now();
    if !db.is_file() {
        return Err(BackupError::NoDatabase(db.to_owned()));
    }
    if out.exists() && !overwrite {
        return Err(BackupError::Exists(out.to_owned()));
    }
    let partial = partial_path(out);
    let _ = fs::remove_file(&partial);
    let result = copy_into(db, &partial).and_then(|()| {
        fs::rename(&partial, out).map_err(|source| BackupError::Rename {
            path: out.to_owned(),
            source,
        })
    });
    if result.is_err() {
        let _ = fs::remove_file(&partial);
    }
    result?;
    Ok(BackupReport {
        bytes: fs::metadata(out).map(|m| m.len()).unwrap_or(0),
        elapsed: started.elapsed(),
    })
}

/// `out` with `.partial` appended to its file name.
fn partial_path(out: &Path) -> PathBuf {
    let mut name = out.as_os_str().to_owned();
    name.push(".partial");
    PathBuf::from(name)
}

fn copy_into(db: &Path, dest: &Path) -> Result<(), BackupError> {
    let source_err = |source| BackupError::Source {
        path: db.to_owned(),
        source,
    };
    let dest_err = |source| BackupError::Destination {
        path: dest.to_owned(),
        source,
    };
    let src =
        Connection::open_with_flags(db, OpenFlags::SQLITE_OPEN_READ_ONLY).map_err(source_err)?;
    src.busy_timeout(Duration::from_secs(5))
        .map_err(source_err)?;
    let mut dst = Connection::open_with_flags(
        dest,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE,
    )
    .map_err(dest_err)?;
    {
        let copy = rusqlite::backup::Backup::new(&src, &mut dst).map_err(dest_err)?;
        // All pages in one step: one read transaction, one consistent
        // snapshot. Stepping in pieces would restart on every commit of the
        // running writer.
        loop {
            match copy.step(-1).map_err(source_err)? {
                rusqlite::backup::StepResult::Done => break,
                // Busy or locked: the writer holds a lock for a moment.
                _ => std::thread::sleep(Duration::from_millis(20)),
            }
        }
    }
    drop(src);
    dst.pragma_update(None, "journal_mode", "DELETE")
        .map_err(dest_err)?;
    let check: String = dst
        .query_row("PRAGMA quick_check", [], |r| r.get(0))
        .map_err(dest_err)?;
    if check != "ok" {
        return Err(BackupError::Corrupt(check));
    }
    dst.close().map_err(|(_, e)| dest_err(e))?;
    // The rename must not land before the bytes.
    if let Ok(f) = fs::File::open(dest) {
        let _ = f.sync_all();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::sqlite::connection::open_writer;
    use crate::store::sqlite::migrate;

    fn database(dir: &Path) -> PathBuf {
        let path = dir.join("sightline.db");
        let mut conn = open_writer(&path).unwrap();
        migrate::apply(&mut conn).unwrap();
        conn.execute_batch("CREATE TABLE probe(v TEXT); INSERT INTO probe VALUES ('kept');")
            .unwrap();
        path
    }

    #[test]
    fn the_copy_is_a_self_contained_database_with_the_data() {
        let dir = tempfile::tempdir().unwrap();
        let db = database(dir.path());
        let out = dir.path().join("copy.db");
        let report = backup(&db, &out, false).unwrap();
        assert!(report.bytes > 0);
        assert!(!partial_path(&out).exists());
        let mut wal = out.as_os_str().to_owned();
        wal.push("-wal");
        assert!(!Path::new(&wal).exists(), "the copy must not need a WAL");
        let copy = Connection::open(&out).unwrap();
        let mode: String = copy
            .query_row("PRAGMA journal_mode", [], |r| r.get(0))
            .unwrap();
        assert_eq!(mode, "delete");
        let v: String = copy
            .query_row("SELECT v FROM probe", [], |r| r.get(0))
            .unwrap();
        assert_eq!(v, "kept");
    }

    #[test]
    fn an_existing_file_is_kept_unless_overwrite_is_asked() {
        let dir = tempfile::tempdir().unwrap();
        let db = database(dir.path());
        let out = dir.path().join("copy.db");
        fs::write(&out, b"precious").unwrap();
        assert!(matches!(
            backup(&db, &out, false),
            Err(BackupError::Exists(_))
        ));
        assert_eq!(fs::read(&out).unwrap(), b"precious");
        backup(&db, &out, true).unwrap();
        assert_ne!(fs::read(&out).unwrap(), b"precious");
    }

    #[test]
    fn a_missing_database_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let err = backup(&dir.path().join("nope.db"), &dir.path().join("o.db"), false)
            .unwrap_err()
            .to_string();
        assert!(err.contains("no database"), "{err}");
    }
}
