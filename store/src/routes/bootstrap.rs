//! `POST /v1/bootstrap`: registers the organisation key with the one-time
//! bootstrap code printed at start.

use axum::extract::{Request, State};
use axum::Json;
use sealcam_core::protocol::api::{BootstrapRequest, Bootstrapped};
use sealcam_core::protocol::request::content_digest;
use sealcam_core::protocol::Role;

use crate::audit::{Action, AuditEvent};
use crate::auth::{check_signature, declared_digest, limit_ip, parse_signature, read_small_body};
use crate::catalog::BootstrapOutcome;
use crate::error::ApiError;
use crate::ids::unix_now;
use crate::state::AppState;

pub(crate) async fn bootstrap(
    State(state): State<AppState>,
    req: Request,
) -> Result<Json<Bootstrapped>, ApiError> {
    let (parts, body) = req.into_parts();
    limit_ip(&state, &parts)?;
    let body = read_small_body(body, state.config.limits.max_json_bytes).await?;
    let unauth =
        |why: &str| ApiError::unauthorized(format!("bootstrap request not authenticated: {why}"));
    let auth = parse_signature(&parts).map_err(unauth)?;
    let digest = declared_digest(&parts).map_err(unauth)?;
    if content_digest(&body) != digest {
        return Err(unauth("the body does not match its signed digest"));
    }
    let b: BootstrapRequest = super::body(&body)?;
    let org = b.org_key;
    if auth.role != Role::Admin || auth.key_id != org.id().0 {
        return Err(unauth(
            "it must be signed by the organisation key being registered (role=admin)",
        ));
    }
    check_signature(&state, &parts, &auth, &org, &digest)
        .await
        .map_err(unauth)?;
    let bad_code = || ApiError::forbidden("the bootstrap code is wrong or was already used");
    // Read only now: an unauthenticated caller learns nothing about codes.
    let code = b.code.parse().ok_or_else(bad_code)?;
    let hash = code.digest();
    let ev = AuditEvent::new(
        Action::Bootstrap,
        format!("admin:{}", org.id()),
        org.id().to_string(),
    );
    let outcome = state
        .db(move |c| c.bootstrap(hash, &org, unix_now(), ev))
        .await?;
    match outcome {
        BootstrapOutcome::Done => {
            tracing::info!(org_id = %org.id(), "bootstrapped: organisation key registered");
            Ok(Json(Bootstrapped { org_key: org }))
        }
        BootstrapOutcome::AlreadyBootstrapped => Err(ApiError::conflict(
            "already_bootstrapped",
            "this store already has an organisation key",
        )),
        BootstrapOutcome::BadCode => Err(bad_code()),
    }
}
