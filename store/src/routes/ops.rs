//! `/healthz`, `/metrics`, `/v1/info`.

use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use axum::Json;

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

pub(crate) async fn info(
    State(state): State<AppState>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let org = state.db(|c| c.org_key()).await?;
    let l = &state.config.limits;
    Ok(Json(serde_json::json!({
        "store_key": state.store_key.public().to_string(),
        "org_key": org.map(|k| k.to_string()),
        "tls_pin": state.tls_pin,
        "version": env!("CARGO_PKG_VERSION"),
        "limits": {
            "max_envelope_bytes": l.max_envelope_bytes,
            "max_json_bytes": l.max_json_bytes,
            "link_default_max_bytes": state.config.links.default_max_bytes,
            "link_default_max_uploads": state.config.links.default_max_uploads,
            "link_default_expires_in_secs": state.config.links.default_expires_in_secs,
        },
    })))
}
