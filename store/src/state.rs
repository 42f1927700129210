//! Shared state of a running store.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use sealcam_core::envelope::EnvelopeId;
use sealcam_core::keys::StoreSigningKey;

use crate::blobs::BlobStore;
use crate::catalog::Catalog;
use crate::config::Config;
use crate::error::{ApiError, StoreError};
use crate::metrics::Metrics;
use crate::rate_limit::RateLimiter;

/// Everything handlers share.
pub struct Inner {
    /// Configuration.
    pub config: Config,
    /// The catalog.
    pub catalog: Arc<dyn Catalog>,
    /// The blob store.
    pub blobs: Arc<dyn BlobStore>,
    /// Signs receipts.
    pub store_key: StoreSigningKey,
    /// TLS SPKI pin.
    pub tls_pin: String,
    /// Upload buffers (bounded memory whatever the number of uploads).
    pub upload_buffers: Arc<crate::staging::BufferPool>,
    /// Each holder's share of the upload buffers.
    pub upload_quota: Arc<crate::staging::HolderQuota>,
    /// Which failed authentications are audited.
    pub auth_audit: crate::auth_audit::AuthFailureAudit,
    /// Serialises uploads of the same envelope id.
    pub upload_locks: Mutex<HashMap<EnvelopeId, Arc<tokio::sync::Mutex<()>>>>,
    /// Per-IP limiter (anonymous and link endpoints).
    pub ip_limiter: RateLimiter,
    /// Per-link limiter.
    pub link_limiter: RateLimiter,
    /// Metrics.
    pub metrics: Metrics,
}

/// Cheap-to-clone handle on [`Inner`].
#[derive(Clone)]
pub struct AppState(pub Arc<Inner>);

impl std::ops::Deref for AppState {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.0
    }
}

impl AppState {
    /// Runs a blocking catalog call off the async runtime.
    pub async fn db<T, F>(&self, f: F) -> Result<T, ApiError>
    where
        T: Send + 'static,
        F: FnOnce(&dyn Catalog) -> Result<T, StoreError> + Send + 'static,
    {
        let catalog = Arc::clone(&self.catalog);
        let r = tokio::task::spawn_blocking(move || f(catalog.as_ref()))
            .await
            .map_err(|_| StoreError::Task)?;
        Ok(r?)
    }

    /// Runs a blocking blob-store call off the async runtime.
    pub async fn blob<T, F>(&self, f: F) -> Result<T, ApiError>
    where
        T: Send + 'static,
        F: FnOnce(&dyn BlobStore) -> Result<T, StoreError> + Send + 'static,
    {
        let blobs = Arc::clone(&self.blobs);
        let r = tokio::task::spawn_blocking(move || f(blobs.as_ref()))
            .await
            .map_err(|_| StoreError::Task)?;
        Ok(r?)
    }

    /// The lock serialising uploads of `id`.
    pub fn upload_lock(&self, id: EnvelopeId) -> Arc<tokio::sync::Mutex<()>> {
        let mut locks = self.upload_locks.lock().unwrap_or_else(|e| e.into_inner());
        Arc::clone(locks.entry(id).or_default())
    }

    /// Forgets `id`'s lock when nobody else holds or waits for it.
    pub fn release_upload_lock(&self, id: EnvelopeId, lock: Arc<tokio::sync::Mutex<()>>) {
        let mut locks = self.upload_locks.lock().unwrap_or_else(|e| e.into_inner());
        // Two references: the map's and ours.
        if Arc::strong_count(&lock) <= 2 {
            locks.remove(&id);
        }
    }
}
