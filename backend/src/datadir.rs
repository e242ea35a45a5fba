//! The data directory and its lock: one server per directory.

use std::fs::{self, File, OpenOptions};
use std::path::{Path, PathBuf};

/// Why the data directory cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum DataDirError {
    #[error("cannot create data directory {path}: {source}")]
    Create {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot open lock file {path}: {source}")]
    LockFile {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("data directory {0} is in use by another sightline process")]
    InUse(PathBuf),
}

/// An exclusively locked data directory. The lock is an OS file lock, so a
/// crashed process never leaves it held; the lock file is removed on drop.
#[derive(Debug)]
pub struct DataDir {
    path: PathBuf,
    lock_path: PathBuf,
    lock: Option<File>,
}

impl DataDir {
    /// Name of the lock file inside the data directory.
    pub const LOCK_FILE: &'static str = "sightline.lock";
    /// Name of the database file inside the data directory.
    pub const DB_FILE: &'static str = "sightline.db";

    /// Creates the directory if needed and takes its lock.
    pub fn open(path: &Path) -> Result<Self, DataDirError> {
        fs::create_dir_all(path).map_err(|source| DataDirError::Create {
            path: path.to_owned(),
            source,
        })?;
        let lock_path = path.join(Self::LOCK_FILE);
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(|source| DataDirError::LockFile {
                path: lock_path.clone(),
                source,
            })?;
        match file.try_lock() {
            Ok(()) => {}
            Err(fs::TryLockError::WouldBlock) => return Err(DataDirError::InUse(path.to_owned())),
            Err(fs::TryLockError::Error(source)) => {
                return Err(DataDirError::LockFile {
                    path: lock_path,
                    source,
                });
            }
        }
        Ok(Self {
            path: path.to_owned(),
            lock_path,
            lock: Some(file),
        })
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The database file.
    pub fn db_path(&self) -> PathBuf {
        self.path.join(Self::DB_FILE)
    }
}

impl Drop for DataDir {
    fn drop(&mut self) {
        // Remove while still holding the lock so no other process can take a
        // lock on the file we are about to delete.
        let _ = fs::remove_file(&self.lock_path);
        drop(self.lock.take());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn second_open_is_refused_and_lock_file_is_removed_on_drop() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("data");
        let first = DataDir::open(&dir).unwrap();
        assert!(matches!(DataDir::open(&dir), Err(DataDirError::InUse(_))));
        assert!(dir.join(DataDir::LOCK_FILE).exists());
        drop(first);
        assert!(!dir.join(DataDir::LOCK_FILE).exists());
        let _again = DataDir::open(&dir).unwrap();
    }
}
