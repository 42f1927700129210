//! `GET /v1/inbox`: envelopes addressed to the caller's recipient key and
//! not yet filed by it.

use axum::extract::State;
use axum::Json;
use sealcam_core::protocol::api::InboxEntry;

use crate::auth::Signed;
use crate::error::ApiError;
use crate::state::AppState;

pub(crate) async fn inbox(
    State(state): State<AppState>,
    req: Signed,
) -> Result<Json<Vec<InboxEntry>>, ApiError> {
    let recipient = req.who.staff()?.recipient.id();
    let rows = state.db(move |c| c.inbox(recipient)).await?;
    Ok(Json(
        rows.into_iter()
            .map(|r| InboxEntry {
                context: r.context,
                created_at: r.created_at,
                envelope_id: r.id,
                link_id: r.link_id,
                received_at: r.received_at,
                receipt: sealcam_core::protocol::Receipt::sign(
                    &state.store_key,
                    r.id,
                    r.blake3,
                    r.size,
                    r.received_at,
                ),
                size: r.size,
                source: r.source,
            })
            .collect(),
    ))
}
