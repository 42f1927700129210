//! Durable file writes: a temporary file in the same directory, created
//! new (`O_EXCL`) with its final mode, written, fsynced, renamed over the
//! target, then the directory fsynced. On any failure the temporary file is
//! removed and the error returned; the target is either the old file or
//! the new one, never a mix. Every file sealcam writes goes through here.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::Path;

/// Prefix of temporary files; anything starting with it is debris from a
/// crash and is removed by [`remove_debris`].
pub const TMP_PREFIX: &str = ".tmp-";

/// Writes `bytes` to `path` atomically and durably, replacing any file
/// there. The file is created mode 0600.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    write_via_temp(path, bytes, Replace::Yes)
}

/// [`write_atomic`], but refuses (`ErrorKind::AlreadyExists`) to replace a
/// file that exists, even one created while this was writing.
pub fn write_atomic_new(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    write_via_temp(path, bytes, Replace::No)
}

/// Moves a complete file written elsewhere on the same file system (a
/// staged upload) to `dest` durably: fsync the file, rename it into place,
/// fsync `dest`'s directory.
pub fn commit_file(staged: &Path, dest: &Path) -> std::io::Result<()> {
    File::open(staged)?.sync_all()?;
    fs::rename(staged, dest)?;
    sync_dir(parent_dir(dest))
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Replace {
    Yes,
    No,
}

fn parent_dir(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

/// A temporary file beside `path` (a unique name, created new with mode
/// 0600), written and fsynced, then moved into place (renamed, or for
/// `Replace::No` hard-linked so that an existing file is never replaced),
/// and the directory fsynced. The temporary file is removed on failure.
fn write_via_temp(path: &Path, bytes: &[u8], replace: Replace) -> std::io::Result<()> {
    let dir = parent_dir(path);
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
        match replace {
            Replace::Yes => fs::rename(&tmp, path)?,
            Replace::No => {
                fs::hard_link(&tmp, path)?;
                fs::remove_file(&tmp)?;
            }
        }
        sync_dir(dir)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

/// Writes `files` (name, bytes) into a new directory `parent/name/`
/// atomically: a temporary directory `parent/.tmp-<name>-<random>/`, every
/// file created new (mode 0600) and fsynced, the directory fsynced, renamed
/// into place, `parent` fsynced. On any failure the temporary directory is
/// removed and `parent/name` does not exist; an existing `parent/name` is
/// never replaced (`ErrorKind::AlreadyExists`).
pub fn write_dir_atomic(parent: &Path, name: &str, files: &[(&str, &[u8])]) -> std::io::Result<()> {
    let target = parent.join(name);
    let mut suffix = [0u8; 8];
    getrandom::fill(&mut suffix).map_err(|e| std::io::Error::other(e.to_string()))?;
    let tmp = parent.join(format!(
        "{TMP_PREFIX}{name}-{:016x}",
        u64::from_le_bytes(suffix)
    ));
    fs::DirBuilder::new().mode(0o700).create(&tmp)?;
    let result = (|| {
        for (file, bytes) in files {
            let mut f = OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(tmp.join(file))?;
            f.write_all(bytes)?;
            f.sync_all()?;
        }
        sync_dir(&tmp)?;
        // rename(2) would replace an empty directory: refuse any existing one.
        if fs::symlink_metadata(&target).is_ok() {
            return Err(std::io::Error::new(
                std::io::ErrorKind::AlreadyExists,
                "the directory appeared while it was being written",
            ));
        }
        fs::rename(&tmp, &target)?;
        sync_dir(parent)
    })();
    if result.is_err() && tmp.exists() {
        let _ = fs::remove_dir_all(&tmp);
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
    sync_dir(parent_dir(path))
}

/// fsync a directory, so renames and removals in it survive a crash.
pub fn sync_dir(dir: &Path) -> std::io::Result<()> {
    File::open(dir)?.sync_all()
}

/// Creates `dir` (and parents) with mode 0700 if missing.
pub fn ensure_private_dir(dir: &Path) -> std::io::Result<()> {
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

    #[test]
    fn a_new_file_never_replaces_one_and_leaves_no_temporary() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().join("out.bin");
        write_atomic_new(&p, b"first").expect("write");
        let refused = write_atomic_new(&p, b"second").expect_err("exists");
        assert_eq!(refused.kind(), std::io::ErrorKind::AlreadyExists);
        assert_eq!(fs::read(&p).expect("read"), b"first");
        assert_eq!(
            fs::metadata(&p).expect("meta").permissions().mode() & 0o777,
            0o600
        );
        let names: Vec<_> = fs::read_dir(dir.path())
            .expect("ls")
            .map(|e| e.expect("entry").file_name())
            .collect();
        assert_eq!(names, ["out.bin"], "the temporary file is gone");
        // Into a directory that does not exist: an error, nothing left.
        let missing = dir.path().join("no/such/dir/x");
        assert!(write_atomic(&missing, b"x").is_err());
    }

    #[test]
    fn write_dir_is_all_or_nothing() {
        let d = tempfile::tempdir().expect("tempdir");
        write_dir_atomic(d.path(), "abc", &[("a", b"1"), ("b", b"22")]).expect("write");
        assert_eq!(fs::read(d.path().join("abc/a")).expect("a"), b"1");
        assert_eq!(fs::read(d.path().join("abc/b")).expect("b"), b"22");
        // A second write of the same name is refused and leaves nothing.
        let again = write_dir_atomic(d.path(), "abc", &[("a", b"x")]).expect_err("exists");
        assert_eq!(again.kind(), std::io::ErrorKind::AlreadyExists);
        // A file that cannot be created (a name with a slash into a
        // missing dir) fails, and no temporary directory is left.
        assert!(write_dir_atomic(d.path(), "def", &[("a", b"1"), ("no/such", b"2")]).is_err());
        let names: Vec<String> = fs::read_dir(d.path())
            .expect("list")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, ["abc"]);
        assert_eq!(fs::read(d.path().join("abc/a")).expect("a"), b"1");
        let mode = fs::metadata(d.path().join("abc/a"))
            .expect("meta")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    #[test]
    fn a_staged_file_is_committed_into_place() {
        let dir = tempfile::tempdir().expect("tempdir");
        let staged = dir.path().join("upload.part");
        fs::write(&staged, b"ciphertext").expect("stage");
        let dest = dir.path().join("blob");
        commit_file(&staged, &dest).expect("commit");
        assert_eq!(fs::read(&dest).expect("read"), b"ciphertext");
        assert!(!staged.exists());
        assert!(commit_file(&staged, &dest).is_err(), "nothing staged");
    }
}
