//! The blob store: envelope bytes, by id.
//!
//! [`BlobStore`] is the seam for a future S3-compatible backend;
//! [`FsBlobStore`] is the embedded default. Uploads are first staged to a
//! local file (under [`BlobStore::staging_dir`]) while they are hashed,
//! then verified, then [`BlobStore::commit`]ted; the catalog row is
//! written only after `commit` returns (the blob is durable).

mod fs;

pub use fs::FsBlobStore;

use std::path::{Path, PathBuf};

use sealcam_core::envelope::EnvelopeId;

use crate::error::StoreError;

/// A stored envelope opened for reading.
pub struct BlobReader {
    /// The file.
    pub file: std::fs::File,
    /// Its length.
    pub len: u64,
}

/// Durable storage of envelope bytes.
pub trait BlobStore: Send + Sync + 'static {
    /// Directory for uploads in progress (local disk).
    fn staging_dir(&self) -> &Path;
    /// A fresh, unique staging path.
    fn staging_path(&self) -> PathBuf;
    /// Empties the staging directory (at start).
    fn clear_staging(&self) -> Result<(), StoreError>;
    /// Makes the staged file the durable blob of `id` (the staged file is
    /// consumed). Durable when this returns.
    fn commit(&self, id: EnvelopeId, staged: &Path) -> Result<(), StoreError>;
    /// Opens a blob; `None` if there is none.
    fn open(&self, id: EnvelopeId) -> Result<Option<BlobReader>, StoreError>;
    /// Deletes a blob (no error if absent).
    fn delete(&self, id: EnvelopeId) -> Result<(), StoreError>;
    /// Every stored blob's id.
    fn list(&self) -> Result<Vec<EnvelopeId>, StoreError>;
}
