//! `GET /v1/inbox`: envelopes addressed to the caller's recipient key and
//! not yet filed by it.

use axum::extract::State;
use axum::Json;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;

use crate::auth::Signed;
use crate::error::ApiError;
use crate::state::AppState;

pub(crate) async fn inbox(
    State(state): State<AppState>,
    req: Signed,
) -> Result<Json<Vec<serde_json::Value>>, ApiError> {
    let recipient = req.who.staff()?.recipient.id();
    let rows = state.db(move |c| c.inbox(recipient)).await?;
    Ok(Json(
        rows.iter()
            .map(|r| {
                let mut v = serde_json::json!({
                    "envelope_id": r.id.to_string(),
                    "size": r.size,
                    "created_at": r.created_at,
                    "received_at": r.received_at,
                    "source": r.source,
                });
                if let Some(l) = r.link_id {
                    v["link_id"] = serde_json::json!(l);
                }
                if let Some(c) = &r.context {
                    v["context"] = serde_json::json!(URL_SAFE_NO_PAD.encode(c));
                }
                v
            })
            .collect(),
    ))
}
