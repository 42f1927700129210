//! Enrolment codes (admin) and device enrolment (anonymous, with a code).

use axum::extract::{Path, Request, State};
use axum::http::StatusCode;
use axum::Json;
use sealcam_core::protocol::api::{
    CreateEnrolment, DeviceState, EnrolRequest, Enrolled, EnrolmentCreated, EnrolmentSummary,
};

use crate::audit::{Action, AuditEvent};
use crate::auth::{limit_ip, read_small_body, Signed};
use crate::catalog::Enrolment;
use crate::error::{ApiError, StoreError};
use crate::ids::{unix_now, EnrolmentId, OneTimeCode};
use crate::state::AppState;

pub(crate) async fn create(
    State(state): State<AppState>,
    req: Signed,
) -> Result<(StatusCode, Json<EnrolmentCreated>), ApiError> {
    req.who.admin()?;
    let b: CreateEnrolment = super::body(&req.body)?;
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
        Json(EnrolmentCreated {
            code,
            expires_at,
            id,
        }),
    ))
}

pub(crate) async fn list(
    State(state): State<AppState>,
    req: Signed,
) -> Result<Json<Vec<EnrolmentSummary>>, ApiError> {
    req.who.admin()?;
    let now = unix_now();
    let list = state.db(move |c| c.list_enrolments(now)).await?;
    Ok(Json(list.into_iter().map(EnrolmentSummary::from).collect()))
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

pub(crate) async fn enrol(
    State(state): State<AppState>,
    req: Request,
) -> Result<(StatusCode, Json<Enrolled>), ApiError> {
    let (parts, body) = req.into_parts();
    limit_ip(&state, &parts)?;
    let body = read_small_body(body, state.config.limits.max_json_bytes).await?;
    // The device sends the code's digest, never the code: the store keeps
    // only digests, and the binding is keyed by the code itself.
    let b: EnrolRequest = super::body(&body)?;
    let bad_code = || {
        ApiError::forbidden("the enrolment code is unknown, already used or expired; ask the administrator for a new one")
    };
    if !b.proof_verifies() {
        return Err(ApiError::bad_request(
            "bad_proof",
            "the proof is not the device key's signature over the enrolment code",
        ));
    }
    let (hash, key, binding) = (b.code_digest, b.device_key, b.binding);

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
            Json(Enrolled {
                device_id: d.device_id,
                state: DeviceState::Pending,
            }),
        )),
        Ok(None) => Err(bad_code()),
        Err(()) => Err(ApiError::conflict(
            "already_enrolled",
            "this device key is already enrolled",
        )),
    }
}
