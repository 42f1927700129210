//! HTTP routes (docs/API.md). One module per resource.

mod audit;
mod bootstrap;
mod devices;
mod directory;
mod enrolment;
mod envelopes;
mod inbox;
mod links;
mod ops;
mod staff;

use axum::body::Bytes;
use axum::routing::{delete, get, post, put};
use axum::Router;
use serde::de::DeserializeOwned;

use crate::error::ApiError;
use crate::state::AppState;

/// The store's routes (without middleware).
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(ops::healthz))
        .route("/metrics", get(ops::metrics))
        .route("/v1/info", get(ops::info))
        .route("/v1/bootstrap", post(bootstrap::bootstrap))
        .route(
            "/v1/directory",
            put(directory::publish).get(directory::fetch),
        )
        .route(
            "/v1/enrolments",
            post(enrolment::create).get(enrolment::list),
        )
        .route("/v1/enrolments/{id}", delete(enrolment::revoke))
        .route("/v1/enrol", post(enrolment::enrol))
        .route("/v1/devices", get(devices::list))
        .route("/v1/devices/me", get(devices::me))
        .route("/v1/devices/{device_id}/certificate", put(devices::certify))
        .route("/v1/devices/{device_id}", delete(devices::revoke))
        .route("/v1/staff", post(staff::add).get(staff::list))
        .route("/v1/staff/{staff_id}", delete(staff::remove))
        .route(
            "/v1/envelopes/{envelope_id}",
            put(envelopes::upload).get(envelopes::fetch),
        )
        .route("/v1/envelopes/{envelope_id}/filed", post(envelopes::filed))
        .route("/v1/inbox", get(inbox::inbox))
        .route("/v1/links", post(links::create).get(links::list))
        .route("/v1/links/{link_id}", delete(links::revoke))
        .route("/v1/link", get(links::info))
        .route("/v1/link/envelopes/{envelope_id}", put(links::upload))
        .route("/v1/audit", get(audit::entries))
}

/// Parses a JSON body; errors never echo values from it.
pub(crate) fn json<T: DeserializeOwned>(body: &Bytes) -> Result<T, ApiError> {
    serde_json::from_slice(body).map_err(|e| {
        let msg = e.to_string();
        let safe = msg.starts_with("missing field") || msg.starts_with("unknown field");
        let what = if safe {
            msg.split(" at line")
                .next()
                .unwrap_or("invalid")
                .to_string()
        } else {
            format!(
                "invalid {} at line {} column {}",
                match e.classify() {
                    serde_json::error::Category::Syntax => "JSON syntax",
                    serde_json::error::Category::Eof => "JSON (truncated)",
                    _ => "value",
                },
                e.line(),
                e.column()
            )
        };
        ApiError::bad_request("bad_json", format!("the JSON body is not valid: {what}"))
    })
}

/// Parses a path id, 404 if malformed (no oracle beyond "not found").
pub(crate) fn path_id<T: std::str::FromStr>(s: &str) -> Result<T, ApiError> {
    s.parse()
        .map_err(|_| ApiError::not_found("no such resource (ids are 32 lower-case hex digits)"))
}
