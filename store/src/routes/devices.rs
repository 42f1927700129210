//! Devices: list, approve (org-signed certificate), revoke, and `me`.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use sealcam_core::keys::{DeviceCertificate, DeviceId};
use sealcam_core::protocol::api::{DeviceCertified, DeviceMe, DeviceSummary};

use crate::audit::{Action, AuditEvent};
use crate::auth::{Principal, Signed};
use crate::catalog::{Device, DeviceState};
use crate::error::ApiError;
use crate::ids::unix_now;
use crate::state::AppState;

fn summary(d: Device) -> DeviceSummary {
    DeviceSummary {
        binding: d.binding,
        clinician: d.clinician,
        device_id: d.device_id,
        device_key: d.device_key,
        enrolled_at: d.enrolled_at,
        enrolment_id: d.enrolment_id,
        state: d.state,
    }
}

pub(crate) async fn list(
    State(state): State<AppState>,
    req: Signed,
) -> Result<Json<Vec<DeviceSummary>>, ApiError> {
    req.who.admin()?;
    let devices = state.db(|c| c.list_devices()).await?;
    Ok(Json(devices.into_iter().map(summary).collect()))
}

pub(crate) async fn me(req: Signed) -> Result<Json<DeviceMe>, ApiError> {
    let Principal::Device(d) = &req.who else {
        return Err(ApiError::forbidden("only a device may ask about itself"));
    };
    Ok(Json(DeviceMe {
        certificate: d.certificate.clone(),
        device_id: d.device_id,
        state: d.state,
    }))
}

pub(crate) async fn certify(
    State(state): State<AppState>,
    Path(id): Path<String>,
    req: Signed,
) -> Result<Json<DeviceCertified>, ApiError> {
    let org = *req.who.admin()?;
    let id: DeviceId = super::path_id(&id)?;
    let device = state.db(move |c| c.device(id)).await?;
    let device = device.ok_or_else(|| ApiError::not_found("no such device"))?;
    if device.state == DeviceState::Revoked {
        return Err(ApiError::conflict(
            "device_revoked",
            "this device was revoked; enrol it again with a new code",
        ));
    }
    let bad = |m: String| ApiError::bad_request("bad_certificate", m);
    let cert = DeviceCertificate::from_bytes(&req.body)
        .map_err(|e| bad(format!("not a valid device certificate: {e}")))?;
    cert.verify(&org, unix_now()).map_err(|e| {
        bad(format!(
            "the certificate does not verify now against the organisation key: {e}"
        ))
    })?;
    if cert.device_key() != &device.device_key {
        return Err(bad("the certificate is for a different device key".into()));
    }
    if cert.clinician() != &device.clinician {
        return Err(bad(
            "the certificate names a different clinician than the enrolment code".into(),
        ));
    }
    let bytes = req.body.to_vec();
    let ev = AuditEvent::new(Action::DeviceApprove, req.who.actor(), id.to_string())
        .with_detail(serde_json::json!({"not_after": cert.not_after()}));
    let ok = state.db(move |c| c.activate_device(id, &bytes, ev)).await?;
    if !ok {
        return Err(ApiError::conflict(
            "device_revoked",
            "this device was revoked",
        ));
    }
    Ok(Json(DeviceCertified {
        state: DeviceState::Active,
    }))
}

pub(crate) async fn revoke(
    State(state): State<AppState>,
    Path(id): Path<String>,
    req: Signed,
) -> Result<StatusCode, ApiError> {
    req.who.admin()?;
    let id: DeviceId = super::path_id(&id)?;
    let ev = AuditEvent::new(Action::DeviceRevoke, req.who.actor(), id.to_string());
    if state.db(move |c| c.revoke_device(id, ev)).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::not_found("no such device"))
    }
}
