//! The upload pipeline shared by device and link uploads:
//!
//! 1. [`receive`]: stream the body to a staging file while hashing it
//!    (SHA-256), refusing past the size limit — no whole-body buffering;
//! 2. [`check`]: under a semaphore bounding how many envelopes are in
//!    memory at once, read the staged file back and run
//!    `envelope::verify` (devices) or `envelope::inspect` (links), then
//!    drop the buffer;
//! 3. [`commit`]: under a per-id lock, compare with an existing row
//!    (same hash: same receipt; different: conflict), else make the blob
//!    durable (fsync, rename, fsync dir), then commit the catalog row and
//!    its audit entries, then sign the receipt.

use std::path::PathBuf;

use axum::body::Body;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt;
use sealcam_core::envelope::{self, EnvelopeId, RoutingHeader};
use sealcam_core::keys::{DeviceId, OrgPublicKey};
use sealcam_core::protocol::Receipt;
use sha2::{Digest, Sha256};
use tokio::io::AsyncWriteExt;

use crate::audit::AuditEvent;
use crate::catalog::{EnvelopeRow, InsertOutcome};
use crate::error::ApiError;
use crate::ids::unix_now;
use crate::metrics::inc;
use crate::state::AppState;

/// An upload staged on local disk. The file is removed when this is
/// dropped unless it was committed (moved away).
pub struct Staged {
    /// The staging file.
    pub path: PathBuf,
    /// SHA-256 of its bytes.
    pub sha256: [u8; 32],
    /// Its length.
    pub size: u64,
}

impl Drop for Staged {
    fn drop(&mut self) {
        // Best effort: after a commit the file is gone (renamed).
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Refuses early when `Content-Length` already exceeds `limit`.
pub fn check_length(headers: &HeaderMap, limit: u64) -> Result<(), ApiError> {
    let len = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if len.is_some_and(|n| n > limit) {
        return Err(ApiError::too_large(limit));
    }
    Ok(())
}

/// Streams `body` into a staging file, hashing; 413 past `limit`.
pub async fn receive(state: &AppState, body: Body, limit: u64) -> Result<Staged, ApiError> {
    let path = state.blobs.staging_path();
    let file = tokio::fs::File::create(&path).await.map_err(|e| {
        tracing::error!(error = %e, "cannot create a staging file");
        ApiError::internal()
    })?;
    // From here on the file is removed on every early return.
    let mut staged = Staged {
        path,
        sha256: [0; 32],
        size: 0,
    };
    let mut out = tokio::io::BufWriter::with_capacity(32 * 1024, file);
    let mut hasher = Sha256::new();
    let mut stream = body.into_data_stream();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| {
            if crate::auth::is_length_limit(&e) {
                ApiError::too_large(limit)
            } else {
                ApiError::bad_request(
                    "body_interrupted",
                    "the upload was interrupted; send it again",
                )
            }
        })?;
        staged.size += chunk.len() as u64;
        if staged.size > limit {
            return Err(ApiError::too_large(limit));
        }
        hasher.update(&chunk);
        out.write_all(&chunk).await.map_err(|e| {
            tracing::error!(error = %e, "writing a staging file failed");
            ApiError::internal()
        })?;
    }
    out.flush().await.map_err(|e| {
        tracing::error!(error = %e, "writing a staging file failed");
        ApiError::internal()
    })?;
    staged.sha256 = hasher.finalize().into();
    Ok(staged)
}

/// How to check a staged envelope.
pub enum CheckMode {
    /// Signed by this device, certificate chaining to `org`.
    Device {
        /// The organisation key.
        org: Box<OrgPublicKey>,
        /// The uploading device.
        device: DeviceId,
    },
    /// Patient links: unsigned allowed (structure only); a signed
    /// envelope is verified in full against `org`, so nothing arrives
    /// looking device-signed that is not.
    Link {
        /// The organisation key (none before bootstrap).
        org: Option<Box<OrgPublicKey>>,
    },
}

fn invalid(m: impl Into<String>) -> ApiError {
    ApiError::bad_request("invalid_envelope", m)
}

/// Verifies the staged envelope: structure, (device) signature and
/// certificate, id, sender, recipients in the published directory.
pub async fn check(
    state: &AppState,
    staged: &Staged,
    path_id: EnvelopeId,
    mode: CheckMode,
) -> Result<RoutingHeader, ApiError> {
    let dir = state.db(|c| c.directory()).await?;
    let dir = dir
        .ok_or_else(|| invalid("no recipient directory is published, so no recipient is known"))?;
    let header = {
        let _permit = state
            .verify_permits
            .acquire()
            .await
            .map_err(|_| ApiError::internal())?;
        let budget = state.config.limits.verify_memory_mib;
        let mib = u32::try_from(staged.size.div_ceil(1024 * 1024))
            .unwrap_or(u32::MAX)
            .clamp(1, budget);
        let _bytes = state
            .verify_memory
            .acquire_many(mib)
            .await
            .map_err(|_| ApiError::internal())?;
        let _gauge = crate::metrics::GaugeGuard::new(&state.metrics.verifying);
        let path = staged.path.clone();
        let (org, strict) = match &mode {
            CheckMode::Device { org, .. } => (Some(**org), true),
            CheckMode::Link { org } => (org.as_deref().copied(), false),
        };
        tokio::task::spawn_blocking(move || -> Result<RoutingHeader, ApiError> {
            let bytes = std::fs::read(&path).map_err(|e| {
                tracing::error!(error = %e, "reading a staging file failed");
                ApiError::internal()
            })?;
            let refused =
                |e: &dyn std::fmt::Display| invalid(format!("the envelope was refused: {e}"));
            let routing = envelope::inspect(&bytes).map_err(|e| refused(&e))?;
            if strict || routing.sender.is_some() {
                let org = org.ok_or_else(|| {
                    invalid("a signed envelope cannot be checked before the store is bootstrapped")
                })?;
                return envelope::verify(&bytes, &org, unix_now()).map_err(|e| refused(&e));
            }
            Ok(routing)
            // `bytes` is dropped here, before the permit is released.
        })
        .await
        .map_err(|_| ApiError::internal())??
    };
    if header.id != path_id {
        return Err(invalid(
            "the envelope id in the path is not the id inside the envelope",
        ));
    }
    if let CheckMode::Device { device, .. } = mode {
        if header.sender != Some(device) {
            return Err(invalid(
                "the envelope was signed by a different device than the caller",
            ));
        }
    }
    if let Some(unknown) = header
        .recipients
        .iter()
        .find(|r| !dir.recipients.contains(r))
    {
        return Err(invalid(format!(
            "recipient {unknown} is not in the published directory"
        )));
    }
    Ok(header)
}

fn receipt_response(state: &AppState, row: &EnvelopeRow, status: StatusCode) -> Response {
    let receipt = Receipt::sign(
        &state.store_key,
        row.id,
        row.sha256,
        row.size,
        row.received_at,
    );
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        receipt.to_json(),
    )
        .into_response()
}

/// The answer for an id that already has a row.
pub fn existing(
    state: &AppState,
    staged: &Staged,
    row: &EnvelopeRow,
) -> Result<Response, ApiError> {
    if row.sha256 == staged.sha256 && row.size == staged.size {
        inc(&state.metrics.uploads_duplicate);
        Ok(receipt_response(state, row, StatusCode::OK))
    } else {
        inc(&state.metrics.uploads_rejected);
        Err(ApiError::conflict(
            "envelope_conflict",
            "an envelope with this id but different bytes is already stored",
        ))
    }
}

/// Looks for an existing row before any verification work.
pub async fn precheck(
    state: &AppState,
    staged: &Staged,
    id: EnvelopeId,
) -> Result<Option<Response>, ApiError> {
    let row = state.db(move |c| c.envelope(id)).await?;
    row.map(|r| existing(state, staged, &r)).transpose()
}

/// Commits a verified upload and answers with its receipt.
///
/// The critical section runs in its own task holding the per-id lock, so a
/// client that disconnects mid-commit cannot release the lock while its
/// blob is still being renamed into place under another upload's row.
pub async fn commit(
    state: &AppState,
    staged: Staged,
    row: EnvelopeRow,
    audit: Vec<AuditEvent>,
) -> Result<Response, ApiError> {
    let id = row.id;
    let task_state = state.clone();
    let task = tokio::spawn(async move {
        let state = &task_state;
        let lock = state.upload_lock(id);
        let guard = std::sync::Arc::clone(&lock).lock_owned().await;
        let result = commit_locked(state, staged, row, audit).await;
        drop(guard);
        state.release_upload_lock(id, lock);
        result
    });
    task.await.map_err(|_| ApiError::internal())?
}

/// [`commit`] under the per-id lock.
async fn commit_locked(
    state: &AppState,
    staged: Staged,
    row: EnvelopeRow,
    audit: Vec<AuditEvent>,
) -> Result<Response, ApiError> {
    let id = row.id;
    {
        if let Some(resp) = precheck(state, &staged, id).await? {
            return Ok(resp);
        }
        let path = staged.path.clone();
        state.blob(move |b| b.commit(id, &path)).await?;
        let r = row.clone();
        let now = row.received_at;
        let outcome = state.db(move |c| c.insert_envelope(&r, now, audit)).await;
        match outcome {
            Ok(InsertOutcome::Inserted) => {
                inc(&state.metrics.uploads_accepted);
                state
                    .metrics
                    .upload_bytes
                    .fetch_add(row.size, std::sync::atomic::Ordering::Relaxed);
                tracing::info!(envelope_id = %id, size = row.size, "envelope stored");
                Ok(receipt_response(state, &row, StatusCode::CREATED))
            }
            Ok(InsertOutcome::Exists(existing_row)) => {
                // Only possible with several writers sharing the catalog
                // (a future multi-node deployment, whose blob store must
                // then stage per upload): answer from the committed row.
                existing(state, &staged, &existing_row)
            }
            Ok(InsertOutcome::LinkUnusable) => {
                // Under the lock and without a row, the blob is ours.
                let _ = state.blob(move |b| b.delete(id)).await;
                inc(&state.metrics.uploads_rejected);
                Err(ApiError::gone())
            }
            Err(e) => {
                // No row: the blob is an orphan; remove it now (start-up
                // would too).
                let _ = state.blob(move |b| b.delete(id)).await;
                Err(e)
            }
        }
    }
}
