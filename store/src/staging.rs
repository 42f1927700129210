//! Writing an upload to its staging file: bounded buffers, and direct I/O
//! where the filesystem allows it.
//!
//! An upload is copied once, from the network into a pooled, block-aligned
//! buffer; full buffers are written straight to disk with `O_DIRECT`
//! (Linux), so the bytes are not copied again into the page cache — on a
//! busy store that copy was the largest single cost (docs/BENCHMARKS.md
//! §6). The tail is written as one padded block and the file then cut to
//! its exact length. Where `O_DIRECT` is refused (tmpfs, other systems) the
//! same code writes through the page cache.
//!
//! Durability is not this module's job: the blob store fsyncs the file
//! when it commits it (`BlobStore::commit`).

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::net::IpAddr;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Alignment and granularity of direct writes (the largest logical block
/// size in use; a multiple of every smaller one).
pub const BLOCK: usize = 4096;
/// Size of one upload buffer.
pub const BUFFER_LEN: usize = 256 * 1024;

/// A bounded pool of upload buffers: at most `budget / BUFFER_LEN` exist
/// (each allocation is `BUFFER_LEN + BLOCK`, for alignment), so the memory
/// uploads hold does not grow with the number of clients: an upload waits
/// for a buffer instead, for a bounded time (`upload.rs`).
pub struct BufferPool {
    permits: Arc<Semaphore>,
    free: Mutex<Vec<Vec<u8>>>,
}

impl BufferPool {
    /// A pool of `budget_bytes` (at least one buffer).
    pub fn new(budget_bytes: usize) -> Self {
        BufferPool {
            permits: Arc::new(Semaphore::new((budget_bytes / BUFFER_LEN).max(1))),
            free: Mutex::new(Vec::new()),
        }
    }

    /// Waits for a buffer.
    pub async fn get(self: &Arc<Self>) -> UploadBuffer {
        // The semaphore is never closed, so acquiring cannot fail; if it
        // ever were, waiting forever would be wrong, so fall back to an
        // unpooled buffer.
        let permit = Arc::clone(&self.permits).acquire_owned().await.ok();
        let storage = self
            .free
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .pop()
            .unwrap_or_else(|| vec![0u8; BUFFER_LEN + BLOCK]);
        let start = align_offset(&storage);
        UploadBuffer {
            storage,
            start,
            len: 0,
            pool: Some((Arc::clone(self), permit)),
        }
    }
}

/// Who an upload's buffer is charged to.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Holder {
    /// An authenticated caller or a patient link, by its audit actor
    /// (`device:<id>`, `staff:<id>`, `admin:<id>`, `link:<id>`).
    Principal(String),
    /// A client address (link uploads; see `conn_limit::client_key`).
    Ip(IpAddr),
}

/// A cap on the upload buffers each [`Holder`] has at once, so that one
/// device, key, link or address cannot take the whole [`BufferPool`]: an
/// upload takes a share for each of its holders before it takes a buffer;
/// one that would exceed a cap is refused at once (`upload.rs`: 503), not
/// queued — a queued HTTP/2 upload would keep its unread data in the
/// connection's flow-control window and stall the others on it.
pub struct HolderQuota {
    per_principal: usize,
    per_ip: usize,
    held: Mutex<HashMap<Holder, usize>>,
}

impl HolderQuota {
    /// `per_principal` buffers per principal, `per_ip` per address.
    pub fn new(per_principal: usize, per_ip: usize) -> Arc<Self> {
        Arc::new(HolderQuota {
            per_principal: per_principal.max(1),
            per_ip: per_ip.max(1),
            held: Mutex::new(HashMap::new()),
        })
    }

    fn cap(&self, h: &Holder) -> usize {
        match h {
            Holder::Principal(_) => self.per_principal,
            Holder::Ip(_) => self.per_ip,
        }
    }

    /// Takes a share for every holder at once; `None` (and nothing taken)
    /// when one of them is at its cap.
    pub fn try_take(self: &Arc<Self>, holders: &[Holder]) -> Option<Shares> {
        // Counts only: a poisoned lock holds usable numbers.
        let mut held = self.held.lock().unwrap_or_else(|e| e.into_inner());
        if holders
            .iter()
            .any(|h| held.get(h).copied().unwrap_or(0) >= self.cap(h))
        {
            return None;
        }
        for h in holders {
            *held.entry(h.clone()).or_insert(0) += 1;
        }
        Some(Shares {
            quota: Arc::clone(self),
            holders: holders.to_vec(),
        })
    }

    /// Buffers charged to `h` now.
    pub fn held(&self, h: &Holder) -> usize {
        let held = self.held.lock().unwrap_or_else(|e| e.into_inner());
        held.get(h).copied().unwrap_or(0)
    }
}

/// The shares an upload took; given back when dropped.
pub struct Shares {
    quota: Arc<HolderQuota>,
    holders: Vec<Holder>,
}

impl Drop for Shares {
    fn drop(&mut self) {
        let mut held = self.quota.held.lock().unwrap_or_else(|e| e.into_inner());
        for h in &self.holders {
            if let Some(n) = held.get_mut(h) {
                *n -= 1;
                if *n == 0 {
                    held.remove(h);
                }
            }
        }
    }
}

/// Where in `v` the first `BLOCK`-aligned byte is.
fn align_offset(v: &[u8]) -> usize {
    // Reading a pointer's address is safe; nothing is dereferenced.
    let addr = v.as_ptr() as usize;
    (BLOCK - addr % BLOCK) % BLOCK
}

/// One block-aligned buffer of [`BUFFER_LEN`] bytes, returned to its pool
/// on drop. Holds upload bytes: an envelope's plaintext routing header and
/// ciphertext, or whatever a client sent before the check refused it.
pub struct UploadBuffer {
    storage: Vec<u8>,
    start: usize,
    len: usize,
    pool: Option<(Arc<BufferPool>, Option<OwnedSemaphorePermit>)>,
}

impl std::fmt::Debug for UploadBuffer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UploadBuffer")
            .field("len", &self.len)
            .finish_non_exhaustive()
    }
}

impl UploadBuffer {
    /// Copies as much of `bytes` as fits; returns how many.
    pub fn fill(&mut self, bytes: &[u8]) -> usize {
        let n = bytes.len().min(BUFFER_LEN - self.len);
        let at = self.start + self.len;
        self.storage[at..at + n].copy_from_slice(&bytes[..n]);
        self.len += n;
        n
    }

    /// Whether it holds [`BUFFER_LEN`] bytes.
    pub fn is_full(&self) -> bool {
        self.len == BUFFER_LEN
    }

    /// The bytes held.
    pub fn bytes(&self) -> &[u8] {
        &self.storage[self.start..self.start + self.len]
    }

    /// The bytes held, zero-padded to a whole number of blocks (aligned).
    fn padded(&mut self) -> &[u8] {
        let padded = self.len.div_ceil(BLOCK) * BLOCK;
        self.storage[self.start + self.len..self.start + padded].fill(0);
        &self.storage[self.start..self.start + padded]
    }

    /// Empties it for reuse.
    pub fn clear(&mut self) {
        self.len = 0;
    }
}

impl Drop for UploadBuffer {
    fn drop(&mut self) {
        if let Some((pool, permit)) = self.pool.take() {
            let storage = std::mem::take(&mut self.storage);
            pool.free
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(storage);
            drop(permit);
        }
    }
}

/// Set once `O_DIRECT` has been refused, so it is not tried again.
static DIRECT_REFUSED: AtomicBool = AtomicBool::new(false);

/// A staging file being written. Blocking: call from `spawn_blocking`.
pub struct StagingFile {
    file: File,
    direct: bool,
    written: u64,
}

impl StagingFile {
    /// Creates `path` (new, owner-only), with `O_DIRECT` when `direct` is
    /// asked for and the filesystem accepts it.
    pub fn create(path: &Path, direct: bool) -> std::io::Result<Self> {
        Self::create_using(path, direct, &DIRECT_REFUSED, open)
    }

    /// [`StagingFile::create`] with the opener and the "refused" flag
    /// given (tests simulate a filesystem that refuses direct I/O).
    fn create_using(
        path: &Path,
        direct: bool,
        refused: &AtomicBool,
        open: impl Fn(&Path, bool) -> std::io::Result<File>,
    ) -> std::io::Result<Self> {
        if direct && !refused.load(Ordering::Relaxed) {
            match open(path, true) {
                Ok(file) => {
                    return Ok(StagingFile {
                        file,
                        direct: true,
                        written: 0,
                    })
                }
                // EINVAL: the filesystem does not do direct I/O. Linux
                // creates the file before it checks O_DIRECT, so the
                // refused open leaves an empty file behind: ours (the
                // name is fresh and O_EXCL), removed before the retry.
                Err(e) if e.kind() == std::io::ErrorKind::InvalidInput => {
                    refused.store(true, Ordering::Relaxed);
                    tracing::info!(
                        "the staging filesystem refuses O_DIRECT; writing through the page cache"
                    );
                    match std::fs::remove_file(path) {
                        Ok(()) => {}
                        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                        Err(e) => return Err(e),
                    }
                }
                Err(e) => return Err(e),
            }
        }
        Ok(StagingFile {
            file: open(path, false)?,
            direct: false,
            written: 0,
        })
    }

    /// Whether writes bypass the page cache.
    pub fn is_direct(&self) -> bool {
        self.direct
    }

    /// Writes a full buffer.
    pub fn write_full(&mut self, buf: &UploadBuffer) -> std::io::Result<()> {
        debug_assert!(buf.is_full());
        self.file.write_all(buf.bytes())?;
        self.written += buf.len as u64;
        Ok(())
    }

    /// Writes `bytes` through `buf`, blocking: each buffer is written as
    /// it fills; what is left stays in `buf` for [`StagingFile::finish`].
    /// (The store's async upload path does the same, one full buffer per
    /// blocking task.)
    pub fn write_through(
        &mut self,
        buf: &mut UploadBuffer,
        mut bytes: &[u8],
    ) -> std::io::Result<()> {
        while !bytes.is_empty() {
            let n = buf.fill(bytes);
            bytes = &bytes[n..];
            if buf.is_full() {
                self.write_full(buf)?;
                buf.clear();
            }
        }
        Ok(())
    }

    /// Writes the last, partial buffer and cuts the file to its length.
    pub fn finish(mut self, last: &mut UploadBuffer) -> std::io::Result<u64> {
        if last.len == 0 {
            return Ok(self.written);
        }
        let len = self.written + last.len as u64;
        if self.direct {
            self.file.write_all(last.padded())?;
            self.file.set_len(len)?;
        } else {
            self.file.write_all(last.bytes())?;
        }
        self.written = len;
        Ok(len)
    }
}

fn open(path: &Path, direct: bool) -> std::io::Result<File> {
    let mut o = OpenOptions::new();
    o.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        o.mode(0o600);
        #[cfg(target_os = "linux")]
        if direct {
            o.custom_flags(libc::O_DIRECT);
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = direct;
    o.open(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn write_through(pool: &Arc<BufferPool>, path: &Path, data: &[u8], direct: bool) -> bool {
        let mut f = StagingFile::create(path, direct).expect("create");
        let mut buf = pool.get().await;
        f.write_through(&mut buf, data).expect("write");
        let used_direct = f.is_direct();
        assert_eq!(f.finish(&mut buf).expect("finish"), data.len() as u64);
        used_direct
    }

    #[tokio::test]
    async fn every_length_round_trips() {
        let dir = tempfile::tempdir().expect("tempdir");
        let pool = Arc::new(BufferPool::new(2 * BUFFER_LEN));
        let data: Vec<u8> = (0..3 * BUFFER_LEN + 5000)
            .map(|i| (i % 251) as u8)
            .collect();
        for (i, len) in [
            0,
            1,
            BLOCK - 1,
            BLOCK,
            BLOCK + 1,
            BUFFER_LEN - 1,
            BUFFER_LEN,
            BUFFER_LEN + 1,
            data.len(),
        ]
        .into_iter()
        .enumerate()
        {
            for direct in [true, false] {
                let p = dir.path().join(format!("{i}-{direct}"));
                write_through(&pool, &p, &data[..len], direct).await;
                assert_eq!(std::fs::read(&p).expect("read"), &data[..len], "len {len}");
            }
        }
    }

    #[tokio::test]
    async fn buffers_are_aligned_reused_and_bounded() {
        let pool = Arc::new(BufferPool::new(2 * BUFFER_LEN));
        let a = pool.get().await;
        let b = pool.get().await;
        assert_eq!(a.storage.as_ptr().wrapping_add(a.start) as usize % BLOCK, 0);
        assert_eq!(b.storage.as_ptr().wrapping_add(b.start) as usize % BLOCK, 0);
        let third = tokio::time::timeout(std::time::Duration::from_millis(50), pool.get()).await;
        assert!(third.is_err(), "a third buffer waits for one to come back");
        let a_ptr = a.storage.as_ptr();
        drop(a);
        let c = pool.get().await;
        assert_eq!(c.storage.as_ptr(), a_ptr, "the returned buffer is reused");
        assert_eq!(c.len, 0);
    }

    /// Linux creates the file, then refuses O_DIRECT with EINVAL: the
    /// fallback must still open a fresh file, and remember the refusal.
    #[tokio::test]
    async fn a_refused_direct_open_falls_back() {
        let dir = tempfile::tempdir().expect("tempdir");
        let refused = AtomicBool::new(false);
        let kernel_like = |p: &Path, direct: bool| {
            let f = open(p, false)?;
            if direct {
                drop(f);
                return Err(std::io::Error::from_raw_os_error(22)); // EINVAL
            }
            Ok(f)
        };
        let p = dir.path().join("a.part");
        let mut f = StagingFile::create_using(&p, true, &refused, kernel_like).expect("falls back");
        assert!(!f.is_direct());
        assert!(refused.load(Ordering::Relaxed), "the refusal is remembered");
        let pool = Arc::new(BufferPool::new(BUFFER_LEN));
        let mut buf = pool.get().await;
        f.write_through(&mut buf, b"bytes").expect("write");
        f.finish(&mut buf).expect("finish");
        assert_eq!(std::fs::read(&p).expect("read"), b"bytes");
        // Next time O_DIRECT is not even tried.
        let tried = AtomicBool::new(false);
        let q = dir.path().join("b.part");
        let g = StagingFile::create_using(&q, true, &refused, |p: &Path, direct: bool| {
            tried.store(direct, Ordering::Relaxed);
            open(p, direct)
        })
        .expect("create");
        assert!(!g.is_direct() && !tried.load(Ordering::Relaxed));
    }

    #[test]
    fn each_holder_keeps_to_its_share() {
        let q = HolderQuota::new(2, 1);
        let dev = Holder::Principal("device:a".into());
        let link = Holder::Principal("link:b".into());
        let other_link = Holder::Principal("link:c".into());
        let ip = Holder::Ip("192.0.2.1".parse().expect("ip"));
        let a = q.try_take(std::slice::from_ref(&dev)).expect("first");
        let _b = q.try_take(std::slice::from_ref(&dev)).expect("second");
        assert!(
            q.try_take(std::slice::from_ref(&dev)).is_none(),
            "a third is refused"
        );
        // Others are not held up; a link upload needs its link's and its
        // address's share, and takes neither when one is full.
        let l = q.try_take(&[link.clone(), ip.clone()]).expect("link");
        assert!(q.try_take(&[other_link.clone(), ip.clone()]).is_none());
        assert_eq!(
            q.held(&other_link),
            0,
            "nothing taken when one holder is full"
        );
        drop(a);
        let _c = q
            .try_take(std::slice::from_ref(&dev))
            .expect("a share came back");
        drop(l);
        assert_eq!((q.held(&dev), q.held(&ip), q.held(&link)), (2, 0, 0));
    }

    #[test]
    fn a_staging_file_is_never_overwritten() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().join("x");
        std::fs::write(&p, b"kept").expect("write");
        assert!(StagingFile::create(&p, true).is_err());
        assert_eq!(std::fs::read(&p).expect("read"), b"kept");
    }
}
