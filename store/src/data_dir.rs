//! The data directory: private to the store's user, and served by one
//! store process at a time.
//!
//! At start the directory is created mode 0700, or refused if it exists
//! and other users may enter it (an open enrolment code's hash or a link's
//! state must not be readable by a local user); the catalog is created mode
//! 0600 before SQLite opens it, so its WAL and shared-memory files (which
//! SQLite creates with the database's mode) are private too. Then
//! `store.lock` is locked (an advisory `flock`, released when the process
//! ends, however it ends): a second store on the same directory, on any
//! port, stops before it changes anything.

use std::fs::{DirBuilder, File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// The lock file's name in the data directory.
pub const LOCK_FILE: &str = "store.lock";

/// Why the data directory cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum DataDirError {
    /// Other users may read or enter the directory.
    #[error(
        "the data directory {path} is open to other users (mode {mode:03o}); \
         make it private with `chmod 700 {path}` and start again"
    )]
    NotPrivate {
        /// The directory.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
    /// Another store process holds the lock.
    #[error(
        "another sealcam-store is already serving {path}{holder}; stop it first \
         (or give this one another --data directory)"
    )]
    InUse {
        /// The directory.
        path: PathBuf,
        /// " (process N)" when the holder wrote its pid.
        holder: String,
    },
    /// A file system call failed.
    #[error("the data directory {path}: {what}: {source}")]
    Io {
        /// The directory.
        path: PathBuf,
        /// What was being done.
        what: &'static str,
        /// The error.
        #[source]
        source: std::io::Error,
    },
}

/// An open, locked data directory. The lock lasts as long as this value
/// (and at most as long as the process).
#[derive(Debug)]
pub struct DataDir {
    path: PathBuf,
    _lock: File,
}

impl DataDir {
    /// Creates (0700) or checks the directory, locks it, and makes the
    /// catalog files private (see the module documentation).
    pub fn open(path: &Path, catalog_file: &str) -> Result<DataDir, DataDirError> {
        let io = |what| {
            move |source| DataDirError::Io {
                path: path.to_path_buf(),
                what,
                source,
            }
        };
        DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(path)
            .map_err(io("creating it"))?;
        let mode = std::fs::metadata(path)
            .map_err(io("reading its permissions"))?
            .permissions()
            .mode()
            & 0o777;
        if mode & 0o077 != 0 {
            return Err(DataDirError::NotPrivate {
                path: path.to_path_buf(),
                mode,
            });
        }
        let mut lock = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .open(path.join(LOCK_FILE))
            .map_err(io("opening store.lock"))?;
        match lock.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                let holder = std::fs::read_to_string(path.join(LOCK_FILE))
                    .ok()
                    .and_then(|s| s.trim().parse::<u32>().ok())
                    .map(|pid| format!(" (process {pid})"))
                    .unwrap_or_default();
                return Err(DataDirError::InUse {
                    path: path.to_path_buf(),
                    holder,
                });
            }
            Err(std::fs::TryLockError::Error(e)) => return Err(io("locking store.lock")(e)),
        }
        lock.set_len(0)
            .and_then(|()| writeln!(lock, "{}", std::process::id()))
            .map_err(io("writing store.lock"))?;
        // The catalog and the files SQLite derives from it: private. A
        // catalog from an older store may have been created 0644.
        OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .open(path.join(catalog_file))
            .map_err(io("creating the catalog"))?;
        for suffix in ["", "-wal", "-shm"] {
            let file = path.join(format!("{catalog_file}{suffix}"));
            match std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                    return Err(io("making the catalog private")(e))
                }
                _ => {}
            }
        }
        Ok(DataDir {
            path: path.to_path_buf(),
            _lock: lock,
        })
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mode(p: &Path) -> u32 {
        std::fs::metadata(p).expect("meta").permissions().mode() & 0o777
    }

    #[test]
    fn a_new_directory_is_private_and_locked_once() {
        let parent = tempfile::tempdir().expect("tempdir");
        let data = parent.path().join("data");
        let first = DataDir::open(&data, "catalog.sqlite").expect("open");
        assert_eq!(mode(&data), 0o700);
        assert_eq!(mode(&data.join("catalog.sqlite")), 0o600);
        let second = DataDir::open(&data, "catalog.sqlite").expect_err("locked");
        let message = second.to_string();
        assert!(matches!(second, DataDirError::InUse { .. }), "{message}");
        assert!(
            message.contains(&format!("process {}", std::process::id())),
            "{message}"
        );
        drop(first);
        DataDir::open(&data, "catalog.sqlite").expect("free again");
    }

    #[test]
    fn a_directory_open_to_others_is_refused_and_left_alone() {
        let parent = tempfile::tempdir().expect("tempdir");
        let data = parent.path().join("data");
        std::fs::create_dir(&data).expect("mkdir");
        std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        let refused = DataDir::open(&data, "catalog.sqlite").expect_err("open to others");
        assert!(matches!(
            refused,
            DataDirError::NotPrivate { mode: 0o755, .. }
        ));
        assert!(refused.to_string().contains("chmod 700"), "{refused}");
        assert_eq!(
            std::fs::read_dir(&data).expect("ls").count(),
            0,
            "nothing created"
        );
    }

    #[test]
    fn an_old_catalog_is_made_private() {
        let parent = tempfile::tempdir().expect("tempdir");
        let data = parent.path().join("data");
        std::fs::create_dir(&data).expect("mkdir");
        std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o700)).expect("chmod");
        for f in ["catalog.sqlite", "catalog.sqlite-wal"] {
            std::fs::write(data.join(f), b"").expect("write");
            std::fs::set_permissions(data.join(f), std::fs::Permissions::from_mode(0o644))
                .expect("chmod");
        }
        let _dir = DataDir::open(&data, "catalog.sqlite").expect("open");
        assert_eq!(mode(&data.join("catalog.sqlite")), 0o600);
        assert_eq!(mode(&data.join("catalog.sqlite-wal")), 0o600);
    }
}
