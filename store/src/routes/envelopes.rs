//! Envelopes: device upload, staff fetch, staff "filed".

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use sealcam_core::envelope::EnvelopeId;
use tokio_util::io::ReaderStream;

use crate::audit::{Action, AuditEvent};
use crate::auth::{Signed, SignedHead};
use crate::catalog::{EnvelopeRow, Source};
use crate::error::ApiError;
use crate::ids::unix_now;
use crate::metrics::{inc, GaugeGuard};
use crate::state::AppState;
use crate::upload::{self, CheckMode};

pub(crate) async fn upload(
    State(state): State<AppState>,
    Path(id): Path<String>,
    head: SignedHead,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let device = head.who.active_device()?.clone();
    let id: EnvelopeId = id
        .parse()
        .map_err(|_| ApiError::bad_request("bad_id", "the envelope id must be 32 hex digits"))?;
    let org = state.db(|c| c.org_key()).await?.ok_or_else(|| {
        ApiError::unavailable("not_bootstrapped", "the store has no organisation key yet")
    })?;
    let limit = state.config.limits.max_envelope_bytes;
    let _gauge = GaugeGuard::new(&state.metrics.uploads_in_flight);
    let r = async {
        upload::check_length(&headers, limit)?;
        let staged = upload::receive(&state, body, limit, &[head.who.holder()]).await?;
        if staged.blake3 != head.content_digest {
            inc(&state.metrics.auth_failures);
            return Err(ApiError::unauthorized(
                "the body does not match its signed digest (X-Sealcam-Content-BLAKE3)",
            ));
        }
        if let Some(resp) = upload::precheck(&state, &staged, id).await? {
            return Ok(resp);
        }
        let mode = CheckMode::Device {
            org: Box::new(org),
            device: device.device_id,
        };
        let h = upload::check(&state, &staged, id, mode).await?;
        let row = EnvelopeRow {
            id,
            blake3: staged.blake3,
            size: staged.size,
            created_at: h.created_at,
            received_at: unix_now(),
            source: Source::Device,
            sender: Some(device.device_id),
            link_id: None,
            context: None,
            recipients: h.recipients,
            blob_deleted_at: None,
        };
        let ev = AuditEvent::new(
            Action::EnvelopeUpload,
            format!("device:{}", device.device_id),
            id.to_string(),
        )
        .with_detail(
            serde_json::json!({"size": staged.size, "blake3": sealcam_core::hex::encode(&staged.blake3)}),
        );
        upload::commit(&state, staged, row, vec![ev]).await
    }
    .await;
    if matches!(&r, Err(e) if e.status.is_client_error() && e.status != StatusCode::CONFLICT) {
        inc(&state.metrics.uploads_rejected);
    }
    r
}

/// The envelope row if `staff` is one of its recipients and its bytes are
/// kept; `None` otherwise (so non-recipients learn nothing).
async fn addressed(
    state: &AppState,
    id: &str,
    recipient: sealcam_core::keys::RecipientId,
) -> Result<EnvelopeRow, ApiError> {
    let nf = || ApiError::not_found("no such envelope for you");
    let id: EnvelopeId = id.parse().map_err(|_| nf())?;
    let row = state.db(move |c| c.envelope(id)).await?.ok_or_else(nf)?;
    if !row.recipients.contains(&recipient) {
        return Err(nf());
    }
    Ok(row)
}

pub(crate) async fn fetch(
    State(state): State<AppState>,
    Path(id): Path<String>,
    req: Signed,
) -> Result<Response, ApiError> {
    let staff = req.who.staff()?;
    let row = addressed(&state, &id, staff.recipient.id()).await?;
    let nf = || ApiError::not_found("no such envelope for you");
    if row.blob_deleted_at.is_some() {
        return Err(nf());
    }
    let eid = row.id;
    let blob = state.blob(move |b| b.open(eid)).await?.ok_or_else(nf)?;
    let ev = AuditEvent::new(Action::EnvelopeFetch, req.who.actor(), eid.to_string());
    state.db(move |c| c.append_audit(unix_now(), ev)).await?;
    inc(&state.metrics.fetches);
    let file = tokio::fs::File::from_std(blob.file);
    Ok((
        [
            (header::CONTENT_TYPE, "application/octet-stream".to_string()),
            (header::CONTENT_LENGTH, blob.len.to_string()),
        ],
        Body::from_stream(ReaderStream::with_capacity(file, 64 * 1024)),
    )
        .into_response())
}

pub(crate) async fn filed(
    State(state): State<AppState>,
    Path(id): Path<String>,
    req: Signed,
) -> Result<StatusCode, ApiError> {
    let staff = req.who.staff()?;
    let recipient = staff.recipient.id();
    let row = addressed(&state, &id, recipient).await?;
    let eid = row.id;
    let ev = AuditEvent::new(Action::EnvelopeFiled, req.who.actor(), eid.to_string())
        .with_detail(serde_json::json!({"recipient_id": recipient}));
    let ok = state
        .db(move |c| c.mark_filed(eid, recipient, unix_now(), ev))
        .await?;
    if ok {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::not_found("no such envelope for you"))
    }
}
