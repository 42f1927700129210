//! Records staff: registered by the admin with a recipient and an auth key.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use sealcam_core::keys::StaffId;
use sealcam_core::protocol::api::{AddStaff, StaffAdded, StaffState, StaffSummary};

use crate::audit::{Action, AuditEvent};
use crate::auth::Signed;
use crate::catalog::Staff;
use crate::error::{ApiError, StoreError};
use crate::ids::unix_now;
use crate::state::AppState;

pub(crate) async fn add(
    State(state): State<AppState>,
    req: Signed,
) -> Result<(StatusCode, Json<StaffAdded>), ApiError> {
    req.who.admin()?;
    let AddStaff {
        auth_key,
        name,
        recipient,
    } = super::body(&req.body)?;
    let s = Staff {
        staff_id: auth_key.id(),
        name: name.as_str().to_owned(),
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
    Ok((StatusCode::CREATED, Json(StaffAdded { staff_id })))
}

pub(crate) async fn list(
    State(state): State<AppState>,
    req: Signed,
) -> Result<Json<Vec<StaffSummary>>, ApiError> {
    req.who.admin()?;
    let staff = state.db(|c| c.list_staff()).await?;
    Ok(Json(
        staff
            .into_iter()
            .map(|s| StaffSummary {
                auth_key: s.auth_key,
                created_at: s.created_at,
                name: s.name,
                recipient: s.recipient,
                staff_id: s.staff_id,
                state: if s.removed_at.is_some() {
                    StaffState::Removed
                } else {
                    StaffState::Active
                },
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
