//! The outbox: sealed envelopes waiting for the store, one file each.
//!
//! Only ciphertext is ever written here. An entry is written atomically
//! (temp file, fsync, rename, fsync the directory) before `capture`
//! returns, and removed only after the store's receipt for exactly those
//! bytes has been verified. A crash at any point leaves every entry either
//! complete or absent, never partial; temporary files from a crash are
//! removed when the outbox is opened. An envelope the store refuses for
//! good (for example, a recipient it no longer knows) is moved to
//! `rejected/` so it neither blocks the queue nor is lost.

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::Duration;

use sealcam_core::envelope::EnvelopeId;
use sealcam_platform::fsio;

const EXTENSION: &str = "sealcam";

/// One queued envelope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxEntry {
    /// Its id.
    pub id: EnvelopeId,
    /// Its size in bytes.
    pub size: u64,
    /// When it was queued (file modification time, Unix seconds).
    pub queued_at: u64,
}

/// An envelope written by [`Outbox::stage`], waiting for
/// [`Outbox::commit`].
#[derive(Debug)]
pub struct StagedFile {
    /// Its id.
    pub id: EnvelopeId,
    /// Its size in bytes.
    pub size: u64,
    path: PathBuf,
}

/// The outbox directory.
#[derive(Debug)]
pub struct Outbox {
    dir: PathBuf,
    rejected: PathBuf,
}

impl Outbox {
    /// Opens (creating if needed, mode 0700) the outbox in `dir` and
    /// removes temporary files left by a crash (only those older than an
    /// hour: a younger one may be another process's write in progress).
    pub fn open(dir: &Path) -> std::io::Result<Self> {
        let rejected = dir.join("rejected");
        fsio::ensure_private_dir(&rejected)?;
        fsio::remove_debris(dir, Duration::from_secs(3600))?;
        Ok(Outbox {
            dir: dir.to_owned(),
            rejected,
        })
    }

    fn path(&self, id: &EnvelopeId) -> PathBuf {
        self.dir.join(format!("{id}.{EXTENSION}"))
    }

    /// Queues an envelope durably.
    pub fn put(&self, id: &EnvelopeId, envelope: &[u8]) -> std::io::Result<()> {
        fsio::write_atomic(&self.path(id), envelope)
    }

    /// Writes an envelope durably under a temporary name, not yet queued:
    /// [`Outbox::commit`] queues a batch of them at once, [`Outbox::discard`]
    /// drops them. One a crash leaves behind is debris, removed when an
    /// outbox is opened an hour later.
    pub fn stage(&self, id: &EnvelopeId, envelope: &[u8]) -> std::io::Result<StagedFile> {
        let path = self
            .dir
            .join(format!("{}staged-{id}.{EXTENSION}", fsio::TMP_PREFIX));
        fsio::write_atomic(&path, envelope)?;
        Ok(StagedFile {
            id: *id,
            size: envelope.len() as u64,
            path,
        })
    }

    /// Queues staged envelopes: each is renamed into the queue, then the
    /// directory is synced once. On an error the ones not yet renamed stay
    /// staged (debris) and are named in no listing.
    pub fn commit(&self, staged: &[StagedFile]) -> std::io::Result<()> {
        for s in staged {
            fs::rename(&s.path, self.path(&s.id))?;
        }
        fsio::sync_dir(&self.dir)
    }

    /// Removes staged envelopes that will not be queued.
    pub fn discard(&self, staged: &[StagedFile]) {
        for s in staged {
            let _ = fs::remove_file(&s.path);
        }
    }

    /// Reads a queued envelope.
    pub fn read(&self, id: &EnvelopeId) -> std::io::Result<Vec<u8>> {
        fs::read(self.path(id))
    }

    /// BLAKE3 ([`sealcam_core::protocol::request::content_digest`]) and size of a
    /// queued envelope, read in a streaming pass;
    /// `None` if it is no longer queued.
    pub fn digest(&self, id: &EnvelopeId) -> std::io::Result<Option<([u8; 32], u64)>> {
        let Some(mut f) = self.open_file(id)? else {
            return Ok(None);
        };
        let mut hasher = blake3::Hasher::new();
        let mut buf = vec![0u8; 256 * 1024];
        let mut size = 0u64;
        loop {
            let n = f.read(&mut buf)?;
            if n == 0 {
                break;
            }
            hasher.update(&buf[..n]);
            size += n as u64;
        }
        Ok(Some((*hasher.finalize().as_bytes(), size)))
    }

    /// Opens a queued envelope for reading; `None` if it is no longer queued.
    pub fn open_file(&self, id: &EnvelopeId) -> std::io::Result<Option<fs::File>> {
        match fs::File::open(self.path(id)) {
            Ok(f) => Ok(Some(f)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Removes an envelope the store has confirmed.
    pub fn remove(&self, id: &EnvelopeId) -> std::io::Result<()> {
        fsio::remove_durably(&self.path(id))
    }

    /// Moves an envelope the store refused for good to `rejected/`, with
    /// the store's reason beside it (`<id>.reason`).
    pub fn reject(&self, id: &EnvelopeId, reason: &str) -> std::io::Result<()> {
        fsio::write_atomic(
            &self.rejected.join(format!("{id}.reason")),
            reason.as_bytes(),
        )?;
        let to = self.rejected.join(format!("{id}.{EXTENSION}"));
        fs::rename(self.path(id), to)?;
        fsio::sync_dir(&self.rejected)?;
        fsio::sync_dir(&self.dir)
    }

    /// The store's reason for refusing an envelope, if recorded.
    pub fn rejection_reason(&self, id: &EnvelopeId) -> Option<String> {
        fs::read_to_string(self.rejected.join(format!("{id}.reason"))).ok()
    }

    /// Moves every refused envelope back into the queue. Returns how many.
    pub fn requeue_rejected(&self) -> std::io::Result<usize> {
        let entries = self.rejected()?;
        for e in &entries {
            fs::rename(
                self.rejected.join(format!("{}.{EXTENSION}", e.id)),
                self.path(&e.id),
            )?;
            fsio::remove_durably(&self.rejected.join(format!("{}.reason", e.id)))?;
        }
        fsio::sync_dir(&self.dir)?;
        fsio::sync_dir(&self.rejected)?;
        Ok(entries.len())
    }

    /// The queued envelopes, oldest first.
    pub fn list(&self) -> std::io::Result<Vec<OutboxEntry>> {
        list_dir(&self.dir)
    }

    /// The envelopes the store refused.
    pub fn rejected(&self) -> std::io::Result<Vec<OutboxEntry>> {
        list_dir(&self.rejected)
    }
}

fn list_dir(dir: &Path) -> std::io::Result<Vec<OutboxEntry>> {
    let mut out = Vec::new();
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name();
        let Some(id) = name
            .to_str()
            .and_then(|n| n.strip_suffix(&format!(".{EXTENSION}")))
            .and_then(|stem| stem.parse::<EnvelopeId>().ok())
        else {
            continue;
        };
        let meta = match entry.metadata() {
            Ok(m) => m,
            // Sent (and removed) by another process meanwhile.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(e),
        };
        if !meta.is_file() {
            continue;
        }
        let queued_at = meta
            .modified()
            .ok()
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .map_or(0, |d| d.as_secs());
        out.push(OutboxEntry {
            id,
            size: meta.len(),
            queued_at,
        });
    }
    out.sort_by_key(|e| (e.queued_at, e.id));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn put_list_remove_reject() {
        let dir = tempfile::tempdir().expect("tempdir");
        let outbox = Outbox::open(dir.path()).expect("open");
        let a = EnvelopeId([1; 16]);
        let b = EnvelopeId([2; 16]);
        outbox.put(&a, b"envelope a").expect("put");
        outbox.put(&b, b"envelope bb").expect("put");
        fs::write(dir.path().join("notes.txt"), b"ignored").expect("write");
        fs::write(dir.path().join(".tmp-x"), b"debris").expect("write");
        let outbox = Outbox::open(dir.path()).expect("reopen");
        assert!(
            dir.path().join(".tmp-x").exists(),
            "a fresh temporary file may be another process's write: kept"
        );
        fsio::remove_debris(dir.path(), Duration::ZERO).expect("clean");
        assert!(!dir.path().join(".tmp-x").exists(), "old debris removed");
        let ids: Vec<_> = outbox.list().expect("list").iter().map(|e| e.id).collect();
        assert_eq!(ids.len(), 2);
        assert!(ids.contains(&a) && ids.contains(&b));
        assert_eq!(outbox.read(&b).expect("read"), b"envelope bb");
        assert_eq!(
            outbox.digest(&b).expect("digest"),
            Some((
                sealcam_core::protocol::request::content_digest(b"envelope bb"),
                11
            ))
        );
        outbox.remove(&a).expect("remove");
        assert_eq!(outbox.digest(&a).expect("digest"), None);
        outbox
            .reject(&b, "400 invalid_envelope: test")
            .expect("reject");
        assert!(outbox.list().expect("list").is_empty());
        assert_eq!(outbox.rejected().expect("rejected")[0].id, b);
        assert_eq!(
            outbox.rejection_reason(&b).as_deref(),
            Some("400 invalid_envelope: test")
        );
        assert_eq!(outbox.requeue_rejected().expect("requeue"), 1);
        assert_eq!(outbox.list().expect("list")[0].id, b);
        assert!(outbox.rejected().expect("rejected").is_empty());
        assert_eq!(outbox.rejection_reason(&b), None);
    }
}
