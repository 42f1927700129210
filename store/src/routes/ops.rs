//! `/healthz`, `/metrics`, `/v1/info`.

use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use axum::Json;
use sealcam_core::protocol::api::{Info, InfoLimits};

use crate::error::ApiError;
use crate::state::AppState;

pub(crate) async fn healthz() -> &'static str {
    "ok"
}

pub(crate) async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        state.metrics.render(),
    )
}

pub(crate) async fn info(State(state): State<AppState>) -> Result<Json<Info>, ApiError> {
    let org_key = state.db(|c| c.org_key()).await?;
    let l = &state.config.limits;
    let links = &state.config.links;
    Ok(Json(Info {
        limits: InfoLimits {
            link_default_expires_in_secs: links.default_expires_in_secs,
            link_default_max_bytes: links.default_max_bytes,
            link_default_max_uploads: links.default_max_uploads,
            max_envelope_bytes: l.max_envelope_bytes,
            max_json_bytes: u64::try_from(l.max_json_bytes).unwrap_or(u64::MAX),
        },
        org_key,
        store_key: state.store_key.public(),
        tls_pin: state.tls_pin.clone(),
        version: env!("CARGO_PKG_VERSION").to_string(),
    }))
}
