//! Records staff: registered by the admin with a recipient and an auth key.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use sealcam_core::keys::{Recipient, StaffId, StaffPublicKey};
use serde::Deserialize;

use crate::audit::{Action, AuditEvent};
use crate::auth::Signed;
use crate::catalog::Staff;
use crate::error::{ApiError, StoreError};
use crate::ids::unix_now;
use crate::state::AppState;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AddBody {
    name: String,
    recipient: String,
    auth_key: String,
}

pub(crate) async fn add(
    State(state): State<AppState>,
    req: Signed,
) -> Result<(StatusCode, Json<serde_json::Value>), ApiError> {
    req.who.admin()?;
    let b: AddBody = super::json(&req.body)?;
    let name = b.name.trim().to_string();
    if !(1..=200).contains(&name.chars().count()) || name.chars().any(char::is_control) {
        return Err(ApiError::bad_request(
            "bad_name",
            "name must be 1 to 200 characters without control characters",
        ));
    }
    let recipient: Recipient = b.recipient.parse().map_err(|_| {
        ApiError::bad_request(
            "bad_key",
            "recipient is not a recipient public key (sealcam1…)",
        )
    })?;
    let auth_key: StaffPublicKey = b.auth_key.parse().map_err(|_| {
        ApiError::bad_request(
            "bad_key",
            "auth_key is not a staff public key (sealcamstaff1…)",
        )
    })?;
    let s = Staff {
        staff_id: auth_key.id(),
        name,
        recipient,
        auth_key,
        created_at: unix_now(),
        removed_at: None,
    };
    let staff_id = s.staff_id;
    let ev = AuditEvent::new(Action::StaffAdd, req.who.actor(), staff_id.to_string())
        .with_detail(serde_json::json!({"recipient_id": recipient.id()}));
    let r = state
        .db(move |c| match c.add_staff(&s, ev) {
            Err(StoreError::Conflict) => Ok(false),
            other => other.map(|()| true),
        })
        .await?;
    if !r {
        return Err(ApiError::conflict(
            "staff_exists",
            "a staff member with this auth key is already registered",
        ));
    }
    Ok((
        StatusCode::CREATED,
        Json(serde_json::json!({"staff_id": staff_id})),
    ))
}

pub(crate) async fn list(
    State(state): State<AppState>,
    req: Signed,
) -> Result<Json<Vec<serde_json::Value>>, ApiError> {
    req.who.admin()?;
    let staff = state.db(|c| c.list_staff()).await?;
    Ok(Json(
        staff
            .iter()
            .map(|s| {
                serde_json::json!({
                    "staff_id": s.staff_id,
                    "name": s.name,
                    "recipient": s.recipient.to_string(),
                    "auth_key": s.auth_key.to_string(),
                    "created_at": s.created_at,
                    "state": if s.removed_at.is_some() { "removed" } else { "active" },
                })
            })
            .collect(),
    ))
}

pub(crate) async fn remove(
    State(state): State<AppState>,
    Path(id): Path<String>,
    req: Signed,
) -> Result<StatusCode, ApiError> {
    req.who.admin()?;
    let id: StaffId = super::path_id(&id)?;
    let ev = AuditEvent::new(Action::StaffRemove, req.who.actor(), id.to_string());
    if state
        .db(move |c| c.remove_staff(id, unix_now(), ev))
        .await?
    {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::not_found("no such staff member"))
    }
}
