//! `GET /v1/audit?after=<seq>&limit=<n>`: audit entries as JSON lines (admin).

use axum::extract::{Query, State};
use axum::http::header;
use axum::response::IntoResponse;
use sealcam_core::protocol::api::AuditQuery;

use crate::auth::Signed;
use crate::error::ApiError;
use crate::state::AppState;

/// Most entries per request.
const MAX_LIMIT: u64 = 10_000;

pub(crate) async fn entries(
    State(state): State<AppState>,
    Query(p): Query<AuditQuery>,
    req: Signed,
) -> Result<impl IntoResponse, ApiError> {
    req.who.admin()?;
    let after = p.after.unwrap_or(0);
    let limit = p.limit.unwrap_or(1000).clamp(1, MAX_LIMIT);
    let entries = state.db(move |c| c.audit_entries(after, limit)).await?;
    let mut out = String::new();
    for e in &entries {
        out.push_str(&serde_json::to_string(e).map_err(|_| ApiError::internal())?);
        out.push('\n');
    }
    Ok(([(header::CONTENT_TYPE, "application/x-ndjson")], out))
}
