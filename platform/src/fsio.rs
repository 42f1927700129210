//! Durable file writes: a temporary file in the same directory, created
//! new (`O_EXCL`) with its final mode, written, fsynced, renamed over the
//! target, then the directory fsynced. On any failure the temporary file is
//! removed and the error returned; the target is either the old file or
//! the new one, never a mix. Every file sealcam writes goes through here.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

/// Prefix of temporary files; anything starting with it is debris from a
/// crash and is removed by [`remove_debris`].
pub const TMP_PREFIX: &str = ".tmp-";

/// Writes `bytes` to `path` atomically and durably.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .ok_or_else(|| std::io::Error::other("the file name is not valid UTF-8"))?;
    let mut suffix = [0u8; 8];
    getrandom::fill(&mut suffix).map_err(|e| std::io::Error::other(e.to_string()))?;
    let tmp = dir.join(format!(
        "{TMP_PREFIX}{name}-{:016x}",
        u64::from_le_bytes(suffix)
    ));
    let result = (|| {
        let mut f = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        drop(f);
        fs::rename(&tmp, path)?;
        sync_dir(dir)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

/// Removes `path` and makes the removal durable.
pub fn remove_durably(path: &Path) -> std::io::Result<()> {
    match fs::remove_file(path) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e),
    }
    sync_dir(path.parent().unwrap_or(Path::new(".")))
}

/// fsync a directory, so renames and removals in it survive a crash.
pub fn sync_dir(dir: &Path) -> std::io::Result<()> {
    File::open(dir)?.sync_all()
}

/// Creates `dir` (and parents) with mode 0700 if missing.
pub fn ensure_private_dir(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
}

/// Deletes temporary files left by a crash in `dir`, if not modified for
/// `older_than` (a younger one may be a write in progress).
pub fn remove_debris(dir: &Path, older_than: std::time::Duration) -> std::io::Result<usize> {
    let mut removed = 0;
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        let is_tmp = entry
            .file_name()
            .to_str()
            .is_some_and(|n| n.starts_with(TMP_PREFIX));
        if !is_tmp {
            continue;
        }
        let age = entry
            .metadata()
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.elapsed().ok())
            .unwrap_or_default();
        if age >= older_than {
            match fs::remove_file(entry.path()) {
                Ok(()) => removed += 1,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(e),
            }
        }
    }
    Ok(removed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn atomic_write_replaces_and_is_private() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().join("a.bin");
        write_atomic(&p, b"one").expect("write");
        write_atomic(&p, b"two").expect("overwrite");
        assert_eq!(fs::read(&p).expect("read"), b"two");
        assert_eq!(
            fs::metadata(&p).expect("meta").permissions().mode() & 0o777,
            0o600
        );
        fs::write(dir.path().join(".tmp-a.bin-1"), b"debris").expect("debris");
        assert_eq!(
            remove_debris(dir.path(), std::time::Duration::from_secs(3600)).expect("clean"),
            0,
            "fresh: kept"
        );
        assert_eq!(
            remove_debris(dir.path(), std::time::Duration::ZERO).expect("clean"),
            1
        );
        let names: Vec<_> = fs::read_dir(dir.path())
            .expect("ls")
            .map(|e| e.expect("entry").file_name())
            .collect();
        assert_eq!(names, ["a.bin"]);
        remove_durably(&p).expect("remove");
        remove_durably(&p).expect("removing twice is fine");
    }
}
