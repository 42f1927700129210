//! Enrolment codes (admin) and device enrolment (anonymous, with a code).

use axum::extract::{Path, Request, State};
use axum::http::StatusCode;
use axum::Json;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use sealcam_core::keys::DevicePublicKey;
use sealcam_core::record::Clinician;
use serde::Deserialize;

use crate::audit::{Action, AuditEvent};
use crate::auth::{limit_ip, read_small_body, Signed};
use crate::catalog::Enrolment;
use crate::error::{ApiError, StoreError};
use crate::ids::{unix_now, EnrolmentId, OneTimeCode};
use crate::state::AppState;
use sealcam_core::protocol::enrolment::proof_message;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateBody {
    clinician: Clinician,
    expires_in_secs: Option<u64>,
}

pub(crate) async fn create(
    State(state): State<AppState>,
    req: Signed,
) -> Result<(StatusCode, Json<serde_json::Value>), ApiError> {
    req.who.admin()?;
    let b: CreateBody = super::json(&req.body)?;
    let bounds = &state.config.enrolment;
    let lifetime = b.expires_in_secs.unwrap_or(bounds.default_expires_in_secs);
    if lifetime == 0 || lifetime > bounds.max_expires_in_secs {
        return Err(ApiError::bad_request(
            "bad_expiry",
            format!(
                "expires_in_secs must be 1 to {}",
                bounds.max_expires_in_secs
            ),
        ));
    }
    let now = unix_now();
    let code = OneTimeCode::generate();
    let e = Enrolment {
        id: EnrolmentId::random(),
        clinician: b.clinician,
        created_at: now,
        expires_at: now + lifetime,
        state: crate::catalog::EnrolmentState::Open,
    };
    let (id, expires_at) = (e.id, e.expires_at);
    let hash = code.digest();
    let ev = AuditEvent::new(Action::EnrolmentCreate, req.who.actor(), id.to_string())
        .with_detail(serde_json::json!({"expires_at": expires_at}));
    state.db(move |c| c.create_enrolment(&e, hash, ev)).await?;
    Ok((
        StatusCode::CREATED,
        Json(serde_json::json!({"id": id, "code": code.expose(), "expires_at": expires_at})),
    ))
}

pub(crate) async fn list(
    State(state): State<AppState>,
    req: Signed,
) -> Result<Json<Vec<Enrolment>>, ApiError> {
    req.who.admin()?;
    let now = unix_now();
    Ok(Json(state.db(move |c| c.list_enrolments(now)).await?))
}

pub(crate) async fn revoke(
    State(state): State<AppState>,
    Path(id): Path<String>,
    req: Signed,
) -> Result<StatusCode, ApiError> {
    req.who.admin()?;
    let id: EnrolmentId = super::path_id(&id)?;
    let ev = AuditEvent::new(Action::EnrolmentRevoke, req.who.actor(), id.to_string());
    let found = state
        .db(move |c| c.revoke_enrolment(id, unix_now(), ev))
        .await?;
    if found {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::not_found("no such enrolment code"))
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EnrolBody {
    code_digest: String,
    device_key: String,
    proof: String,
    binding: String,
}

pub(crate) async fn enrol(
    State(state): State<AppState>,
    req: Request,
) -> Result<(StatusCode, Json<serde_json::Value>), ApiError> {
    let (parts, body) = req.into_parts();
    limit_ip(&state, &parts)?;
    let body = read_small_body(body, state.config.limits.max_json_bytes).await?;
    let b: EnrolBody = super::json(&body)?;
    let bad_code = || {
        ApiError::forbidden("the enrolment code is unknown, already used or expired; ask the administrator for a new one")
    };
    // The device sends the code's digest, never the code: the store keeps
    // only digests, and the binding below is keyed by the code itself.
    let digest: [u8; 32] = sealcam_core::hex::decode(&b.code_digest).ok_or_else(|| {
        ApiError::bad_request(
            "bad_code_digest",
            "code_digest must be 64 lower-case hex digits (SHA-256 of the canonical code)",
        )
    })?;
    let key: DevicePublicKey = b.device_key.parse().map_err(|_| {
        ApiError::bad_request(
            "bad_key",
            "device_key is not a device public key (sealcamdev1…)",
        )
    })?;
    let b64_n = |s: &str| URL_SAFE_NO_PAD.decode(s.as_bytes()).ok();
    let proof: [u8; 64] = b64_n(&b.proof)
        .and_then(|v| v.try_into().ok())
        .ok_or_else(|| {
            ApiError::bad_request("bad_proof", "proof must be 86 base64url characters")
        })?;
    let binding: [u8; 32] = b64_n(&b.binding)
        .and_then(|v| v.try_into().ok())
        .ok_or_else(|| {
            ApiError::bad_request("bad_binding", "binding must be 43 base64url characters")
        })?;
    key.verify(&proof_message(&digest), &proof).map_err(|_| {
        ApiError::bad_request(
            "bad_proof",
            "the proof is not the device key's signature over the enrolment code",
        )
    })?;
    let hash = digest;

    let device_id = key.id();
    let ev = AuditEvent::new(
        Action::DeviceEnrol,
        format!("device:{device_id}"),
        device_id.to_string(),
    );
    let r = state
        .db(
            move |c| match c.enrol_device(hash, &key, binding, unix_now(), ev) {
                Err(StoreError::Conflict) => Ok(Err(())),
                other => other.map(Ok),
            },
        )
        .await?;
    match r {
        Ok(Some(d)) => Ok((
            StatusCode::CREATED,
            Json(serde_json::json!({"device_id": d.device_id, "state": "pending"})),
        )),
        Ok(None) => Err(bad_code()),
        Err(()) => Err(ApiError::conflict(
            "already_enrolled",
            "this device key is already enrolled",
        )),
    }
}
