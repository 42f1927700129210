//! The upload pipeline shared by device and link uploads:
//!
//! 1. [`receive`]: stream the body into a staging file through a pooled
//!    buffer (direct I/O where possible, [`crate::staging`]; at most
//!    `limits.upload_buffers_per_principal` per device, staff key or link
//!    and `limits.upload_buffers_per_ip` per address for link uploads; the
//!    body no slower than `limits.body_min_bytes_per_sec`, [`crate::pace`]) while
//!    checking it as an envelope in the same pass
//!    ([`EnvelopeStream`]: the header is parsed as soon as it has
//!    arrived, every byte is hashed once with BLAKE3); refuse past the
//!    size limit or as soon as the bytes cannot be an envelope. Nothing is
//!    held whole in memory and nothing is read back;
//! 2. [`check`]: the device signature and certificate (devices), or the
//!    structure (links; a signed envelope is verified in full), the id in
//!    the path, the sender, the recipients;
//! 3. [`commit`]: under a per-id lock, compare with an existing row
//!    (same digest: same receipt; different: conflict), else make the blob
//!    durable (fsync, rename, fsync dir), then commit the catalog row and
//!    its audit entries, then sign the receipt.

use std::path::PathBuf;
use std::time::Duration;

use axum::body::Body;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt;
use sealcam_core::envelope::{EnvelopeId, EnvelopeStream, RoutingHeader, StreamedEnvelope};
use sealcam_core::keys::{DeviceId, OrgPublicKey};
use sealcam_core::protocol::Receipt;

use crate::audit::AuditEvent;
use crate::catalog::{DeviceState, EnvelopeRow, InsertOutcome};
use crate::error::ApiError;
use crate::ids::unix_now;
use crate::metrics::inc;
use crate::staging::{Holder, StagingFile, UploadBuffer};
use crate::state::AppState;

/// An upload staged on local disk and checked as an envelope. The file is
/// removed when this is dropped unless it was committed (moved away).
pub struct Staged {
    /// The staging file.
    pub path: PathBuf,
    /// BLAKE3 of its bytes (the request content digest; the receipt's).
    pub blake3: [u8; 32],
    /// Its length.
    pub size: u64,
    /// What the streaming check found.
    envelope: StreamedEnvelope,
}

impl Drop for Staged {
    fn drop(&mut self) {
        // Best effort: after a commit the file is gone (renamed).
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Removes a staging file on every early return of [`receive`].
struct StagingGuard(Option<PathBuf>);

impl StagingGuard {
    /// Hands the path over (to [`Staged`], which removes it on drop).
    fn keep(mut self) -> PathBuf {
        self.0.take().unwrap_or_default()
    }
}

impl Drop for StagingGuard {
    fn drop(&mut self) {
        if let Some(p) = &self.0 {
            let _ = std::fs::remove_file(p);
        }
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

fn invalid(m: impl Into<String>) -> ApiError {
    ApiError::bad_request("invalid_envelope", m)
}

fn refused(e: &dyn std::fmt::Display) -> ApiError {
    invalid(format!("the envelope was refused: {e}"))
}

fn write_failed(e: std::io::Error) -> ApiError {
    tracing::error!(error = %e, "writing a staging file failed");
    ApiError::internal()
}

/// Writes a full buffer in a blocking task; gives both back.
async fn write_full(
    mut file: StagingFile,
    mut buf: UploadBuffer,
) -> Result<(StagingFile, UploadBuffer), ApiError> {
    tokio::task::spawn_blocking(move || {
        file.write_full(&buf)?;
        buf.clear();
        Ok((file, buf))
    })
    .await
    .map_err(|_| ApiError::internal())?
    .map_err(write_failed)
}

/// Writes the last, partial buffer in a blocking task.
async fn write_last(file: StagingFile, mut buf: UploadBuffer) -> Result<(), ApiError> {
    tokio::task::spawn_blocking(move || file.finish(&mut buf))
        .await
        .map_err(|_| ApiError::internal())?
        .map(drop)
        .map_err(write_failed)
}

/// Streams `body` into a staging file, checking it as an envelope as it
/// arrives: 413 past `limit` (or as soon as the header announces more),
/// 400 as soon as the bytes cannot be an envelope. Its buffer is charged to
/// `holders` (the caller; for link uploads, the link and the address).
pub async fn receive(
    state: &AppState,
    body: Body,
    limit: u64,
    holders: &[Holder],
) -> Result<Staged, ApiError> {
    let path = state.blobs.staging_path();
    let direct = state.config.limits.direct_io;
    let p = path.clone();
    let mut file = tokio::task::spawn_blocking(move || StagingFile::create(&p, direct))
        .await
        .map_err(|_| ApiError::internal())?
        .map_err(|e| {
            tracing::error!(error = %e, "cannot create a staging file");
            ApiError::internal()
        })?;
    // From here on the file is removed on every early return.
    let guard = StagingGuard(Some(path));
    let idle = Duration::from_secs(state.config.limits.upload_idle_timeout_secs);
    let mut stream = body.into_data_stream();
    // A buffer is taken only once the body has started, and for a bounded
    // time: clients that stall cannot hold the pool (they are cut after
    // `idle` without a byte, or once below the minimum rate), a holder
    // over its share is refused at once, and an upload that cannot get a
    // buffer is told to come back rather than queued for the whole request
    // timeout.
    let first = next_chunk(&mut stream, idle, limit).await?;
    let _shares = state
        .upload_quota
        .try_take(holders)
        .ok_or_else(|| busy(state))?;
    let mut buf = tokio::time::timeout(idle, state.upload_buffers.get())
        .await
        .map_err(|_| busy(state))?;
    let _in_use = crate::metrics::GaugeGuard::new(&state.metrics.upload_buffers_in_use);
    let mut check = EnvelopeStream::new();
    let mut size = 0u64;
    let mut pending = first;
    while let Some(chunk) = pending {
        size += chunk.len() as u64;
        if size > limit {
            return Err(ApiError::too_large(limit));
        }
        check.update(&chunk).map_err(|e| refused(&e))?;
        if check.expected_len().is_some_and(|n| n > limit) {
            return Err(ApiError::too_large(limit));
        }
        let mut rest = &chunk[..];
        while !rest.is_empty() {
            let n = buf.fill(rest);
            rest = &rest[n..];
            if buf.is_full() {
                (file, buf) = write_full(file, buf).await?;
            }
        }
        pending = next_chunk(&mut stream, idle, limit).await?;
    }
    let envelope = check.finish().map_err(|e| refused(&e))?;
    write_last(file, buf).await?;
    Ok(Staged {
        path: guard.keep(),
        blake3: envelope.digest(),
        size,
        envelope,
    })
}

/// The next piece of the body: `None` at its end; 408 when nothing came
/// for `idle` or it came too slowly; 413 past the body limit; 400 when the
/// client went away.
async fn next_chunk(
    stream: &mut axum::body::BodyDataStream,
    idle: Duration,
    limit: u64,
) -> Result<Option<axum::body::Bytes>, ApiError> {
    let next = tokio::time::timeout(idle, stream.next())
        .await
        .map_err(|_| {
            ApiError::new(
                StatusCode::REQUEST_TIMEOUT,
                "upload_stalled",
                format!(
                    "the upload sent nothing for {} seconds; send it again",
                    idle.as_secs()
                ),
            )
        })?;
    match next {
        None => Ok(None),
        Some(Ok(chunk)) => Ok(Some(chunk)),
        Some(Err(e)) if crate::auth::is_length_limit(&e) => Err(ApiError::too_large(limit)),
        Some(Err(e)) => match crate::pace::too_slow(&e) {
            Some(slow) => Err(ApiError::new(
                StatusCode::REQUEST_TIMEOUT,
                "upload_too_slow",
                format!(
                    "the upload arrived slower than {} bytes per second; send it again",
                    slow.floor
                ),
            )),
            None => Err(ApiError::bad_request(
                "body_interrupted",
                "the upload was interrupted; send it again",
            )),
        },
    }
}

/// 503 when no upload buffer (or no share of one) came free in time.
fn busy(state: &AppState) -> ApiError {
    inc(&state.metrics.uploads_busy);
    let mut e = ApiError::unavailable(
        "busy",
        "the store is receiving as many uploads as it can hold; try again shortly",
    );
    e.retry_after = Some(5);
    e
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

/// Checks the staged envelope: (device) signature and certificate, id,
/// sender, recipients in the published directory. The structure was
/// checked while it streamed in.
pub async fn check(
    state: &AppState,
    staged: &Staged,
    path_id: EnvelopeId,
    mode: CheckMode,
) -> Result<RoutingHeader, ApiError> {
    let dir = state.db(|c| c.directory()).await?;
    let dir = dir
        .ok_or_else(|| invalid("no recipient directory is published, so no recipient is known"))?;
    let (org, strict) = match &mode {
        CheckMode::Device { org, .. } => (Some(&**org), true),
        CheckMode::Link { org } => (org.as_deref(), false),
    };
    let routing = staged.envelope.routing();
    let header = if strict || routing.sender.is_some() {
        let org = org.ok_or_else(|| {
            invalid("a signed envelope cannot be checked before the store is bootstrapped")
        })?;
        // Two Ed25519 verifications (certificate, signature): ~0.1 ms.
        staged
            .envelope
            .verify(org, unix_now())
            .map_err(|e| refused(&e))?
    } else {
        routing
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
    // On every route, a signature counts only from a device that is
    // active now: not one revoked since its certificate was issued (the
    // certificate alone cannot say), nor one never approved.
    if let Some(sender) = header.sender {
        let device = state.db(move |c| c.device(sender)).await?;
        if !device.is_some_and(|d| d.state == DeviceState::Active) {
            return Err(invalid(
                "the envelope is signed by a device that is not active (revoked, or not \
                 approved on this store)",
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
        row.blake3,
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
    if row.blake3 == staged.blake3 && row.size == staged.size {
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
