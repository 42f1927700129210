//! `PUT/GET /v1/directory`: the org-signed recipient directory, stored and
//! served byte for byte.

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::Json;
use sealcam_core::keys::SignedDirectory;
use sealcam_core::protocol::api::{DirectoryPublished, LinkState};

use crate::audit::{Action, AuditEvent};
use crate::auth::{AnyAuth, Signed};
use crate::catalog::StoredDirectory;
use crate::error::ApiError;
use crate::ids::unix_now;
use crate::state::AppState;

pub(crate) async fn publish(
    State(state): State<AppState>,
    req: Signed,
) -> Result<Json<DirectoryPublished>, ApiError> {
    let org = *req.who.admin()?;
    let signed = SignedDirectory::from_bytes(&req.body).map_err(|e| {
        ApiError::bad_request(
            "bad_directory",
            format!("not a valid signed directory: {e}"),
        )
    })?;
    let now = unix_now();
    let dir = signed.verify(&org, now).map_err(|e| {
        ApiError::bad_request(
            "bad_directory",
            format!("the directory does not verify against the organisation key: {e}"),
        )
    })?;
    let stored = StoredDirectory {
        version: dir.version,
        bytes: req.body.to_vec(),
        recipients: dir.entries.iter().map(|e| e.recipient.id()).collect(),
    };
    let version = stored.version;
    let ev = AuditEvent::new(
        Action::DirectoryPublish,
        req.who.actor(),
        version.to_string(),
    )
    .with_detail(serde_json::json!({"entries": stored.recipients.len()}));
    let newer = state
        .db(move |c| c.publish_directory(&stored, now, ev))
        .await?;
    if !newer {
        return Err(ApiError::conflict(
            "directory_not_newer",
            "a directory with this version or a newer one is already published",
        ));
    }
    Ok(Json(DirectoryPublished { version }))
}

pub(crate) async fn fetch(
    State(state): State<AppState>,
    who: AnyAuth,
) -> Result<Response, ApiError> {
    match &who {
        AnyAuth::Signed(p) => p.not_pending()?,
        AnyAuth::Link(l) => {
            let s = l.state(unix_now());
            if s == LinkState::Revoked || s == LinkState::Expired {
                return Err(ApiError::gone());
            }
        }
    }
    let dir = state.db(|c| c.directory()).await?;
    let dir =
        dir.ok_or_else(|| ApiError::not_found("no recipient directory has been published"))?;
    Ok((
        [(header::CONTENT_TYPE, "application/octet-stream")],
        dir.bytes,
    )
        .into_response())
}
