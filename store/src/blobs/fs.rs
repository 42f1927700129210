//! Blobs as files: `DIR/blobs/ab/cd/<32 hex id>`, staged under
//! `DIR/blobs/tmp/`. Commit = fsync file, rename, fsync directory.

use std::fs;
use std::path::{Path, PathBuf};

use sealcam_core::envelope::EnvelopeId;

use super::{BlobReader, BlobStore};
use crate::error::StoreError;
use crate::ids::random_bytes;
use sealcam_platform::fsio::{self, sync_dir};

/// Filesystem blob store.
pub struct FsBlobStore {
    root: PathBuf,
    tmp: PathBuf,
}

impl FsBlobStore {
    /// Opens (creating) `root` and `root/tmp`.
    pub fn open(root: &Path) -> Result<Self, StoreError> {
        let tmp = root.join("tmp");
        fs::create_dir_all(&tmp).map_err(|e| StoreError::io("creating the blob directory", e))?;
        Ok(FsBlobStore {
            root: root.to_path_buf(),
            tmp,
        })
    }

    fn path(&self, id: EnvelopeId) -> PathBuf {
        let hex = id.to_string();
        self.root.join(&hex[0..2]).join(&hex[2..4]).join(hex)
    }

    /// Creates `dir` (and missing parents up to the root), fsyncing each
    /// parent whose entries changed.
    fn ensure_dir(&self, dir: &Path) -> Result<(), StoreError> {
        if dir.is_dir() {
            return Ok(());
        }
        if let Some(parent) = dir.parent() {
            if parent != self.root {
                self.ensure_dir(parent)?;
            }
            match fs::create_dir(dir) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
                Err(e) => return Err(StoreError::io("creating a blob directory", e)),
            }
            sync_dir(parent).map_err(|e| StoreError::io("syncing a blob directory", e))?;
        }
        Ok(())
    }
}

impl BlobStore for FsBlobStore {
    fn staging_dir(&self) -> &Path {
        &self.tmp
    }

    fn staging_path(&self) -> PathBuf {
        self.tmp.join(format!(
            "{}.part",
            sealcam_core::hex::encode(&random_bytes::<16>())
        ))
    }

    fn clear_staging(&self) -> Result<(), StoreError> {
        let entries =
            fs::read_dir(&self.tmp).map_err(|e| StoreError::io("reading blobs/tmp", e))?;
        for entry in entries {
            let entry = entry.map_err(|e| StoreError::io("reading blobs/tmp", e))?;
            let p = entry.path();
            let r = if p.is_dir() {
                fs::remove_dir_all(&p)
            } else {
                fs::remove_file(&p)
            };
            r.map_err(|e| StoreError::io("emptying blobs/tmp", e))?;
        }
        sync_dir(&self.tmp).map_err(|e| StoreError::io("syncing blobs/tmp", e))
    }

    fn commit(&self, id: EnvelopeId, staged: &Path) -> Result<(), StoreError> {
        let dest = self.path(id);
        let dir = dest
            .parent()
            .ok_or_else(|| StoreError::Corrupt("blob path has no parent".into()))?;
        self.ensure_dir(dir)?;
        fsio::commit_file(staged, &dest)
            .map_err(|e| StoreError::io("moving an upload into place", e))
    }

    fn open(&self, id: EnvelopeId) -> Result<Option<BlobReader>, StoreError> {
        match fs::File::open(self.path(id)) {
            Ok(file) => {
                let len = file
                    .metadata()
                    .map_err(|e| StoreError::io("reading a blob", e))?
                    .len();
                Ok(Some(BlobReader { file, len }))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(StoreError::io("opening a blob", e)),
        }
    }

    fn delete(&self, id: EnvelopeId) -> Result<(), StoreError> {
        fsio::remove_durably(&self.path(id)).map_err(|e| StoreError::io("deleting a blob", e))
    }

    fn list(&self) -> Result<Vec<EnvelopeId>, StoreError> {
        let mut out = Vec::new();
        let io = |e| StoreError::io("listing blobs", e);
        for a in fs::read_dir(&self.root).map_err(io)? {
            let a = a.map_err(io)?;
            if a.file_name() == "tmp" || !a.path().is_dir() {
                continue;
            }
            for b in fs::read_dir(a.path()).map_err(io)? {
                let b = b.map_err(io)?;
                if !b.path().is_dir() {
                    continue;
                }
                for f in fs::read_dir(b.path()).map_err(io)? {
                    let f = f.map_err(io)?;
                    if let Some(id) = f
                        .file_name()
                        .to_str()
                        .and_then(|s| s.parse::<EnvelopeId>().ok())
                    {
                        out.push(id);
                    }
                }
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    fn staged(store: &FsBlobStore, bytes: &[u8]) -> PathBuf {
        let p = store.staging_path();
        fs::write(&p, bytes).expect("write");
        p
    }

    #[test]
    fn commit_open_delete() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = FsBlobStore::open(&dir.path().join("blobs")).expect("open");
        let id = EnvelopeId([7; 16]);
        let p = staged(&store, b"hello");
        store.commit(id, &p).expect("commit");
        assert!(!p.exists(), "staged file consumed");
        let mut r = store.open(id).expect("open").expect("exists");
        assert_eq!(r.len, 5);
        let mut s = String::new();
        r.file.read_to_string(&mut s).expect("read");
        assert_eq!(s, "hello");
        assert_eq!(store.list().expect("list"), vec![id]);
        store.delete(id).expect("delete");
        store.delete(id).expect("delete again is fine");
        assert!(store.open(id).expect("open").is_none());
        assert!(store.list().expect("list").is_empty());
    }

    #[test]
    fn clear_staging_removes_partial_uploads_only() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = FsBlobStore::open(&dir.path().join("blobs")).expect("open");
        let id = EnvelopeId([1; 16]);
        let p = staged(&store, b"kept");
        store.commit(id, &p).expect("commit");
        let partial = staged(&store, b"half an upl");
        store.clear_staging().expect("clear");
        assert!(!partial.exists());
        assert!(store.open(id).expect("open").is_some());
    }

    #[test]
    fn commit_replaces_atomically_without_a_torn_file() {
        // A second commit under the same id (only possible outside the
        // store's per-id lock) leaves one whole file, never a mixture.
        let dir = tempfile::tempdir().expect("tempdir");
        let store = FsBlobStore::open(&dir.path().join("blobs")).expect("open");
        let id = EnvelopeId([2; 16]);
        let a = staged(&store, &[b'a'; 100_000]);
        let b = staged(&store, &[b'b'; 100_000]);
        store.commit(id, &a).expect("commit a");
        store.commit(id, &b).expect("commit b");
        let mut r = store.open(id).expect("open").expect("exists");
        let mut v = Vec::new();
        r.file.read_to_end(&mut v).expect("read");
        assert!(v.iter().all(|&c| c == b'b') && v.len() == 100_000);
    }
}
