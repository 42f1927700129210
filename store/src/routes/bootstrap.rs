//! `POST /v1/bootstrap`: registers the organisation key with the one-time
//! bootstrap code printed at start.

use axum::extract::{Request, State};
use axum::Json;
use sealcam_core::keys::OrgPublicKey;
use sealcam_core::protocol::request::content_digest;
use sealcam_core::protocol::Role;
use serde::Deserialize;

use crate::audit::{Action, AuditEvent};
use crate::auth::{check_signature, declared_digest, limit_ip, parse_signature, read_small_body};
use crate::catalog::BootstrapOutcome;
use crate::error::ApiError;
use crate::ids::{unix_now, OneTimeCode};
use crate::state::AppState;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Body {
    code: String,
    org_key: String,
}

pub(crate) async fn bootstrap(
    State(state): State<AppState>,
    req: Request,
) -> Result<Json<serde_json::Value>, ApiError> {
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
    let b: Body = super::json(&body)?;
    let org: OrgPublicKey = b.org_key.parse().map_err(|_| {
        ApiError::bad_request(
            "bad_key",
            "org_key is not an organisation public key (sealcamorg1…)",
        )
    })?;
    if auth.role != Role::Admin || auth.key_id != org.id().0 {
        return Err(unauth(
            "it must be signed by the organisation key being registered (role=admin)",
        ));
    }
    check_signature(&state, &parts, &auth, &org, &digest)
        .await
        .map_err(unauth)?;
    let bad_code = || ApiError::forbidden("the bootstrap code is wrong or was already used");
    let code = OneTimeCode::parse(&b.code).ok_or_else(bad_code)?;
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
            Ok(Json(serde_json::json!({"org_key": org.to_string()})))
        }
        BootstrapOutcome::AlreadyBootstrapped => Err(ApiError::conflict(
            "already_bootstrapped",
            "this store already has an organisation key",
        )),
        BootstrapOutcome::BadCode => Err(bad_code()),
    }
}
