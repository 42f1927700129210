//! Retention: a background task that deletes envelope bytes once filed
//! (by any or all recipients, per config) or past the maximum age. The
//! catalog row stays (marked deleted) so re-uploads of the same id keep
//! getting their receipt and the audit trail stays meaningful.

use std::time::Duration;

use crate::audit::{Action, AuditEvent};
use crate::error::ApiError;
use crate::ids::unix_now;
use crate::metrics::inc;
use crate::state::AppState;

/// Runs one sweep; returns how many blobs were deleted.
pub async fn sweep(state: &AppState) -> Result<usize, ApiError> {
    let r = &state.config.retention;
    let (max_age, policy) = (r.max_age_secs, r.filed_policy);
    let now = unix_now();
    let due = state
        .db(move |c| c.retention_due(now, max_age, policy))
        .await?;
    let n = due.len();
    for id in due {
        // Mark first, then delete: a crash in between leaves an orphan
        // blob, which start-up removes; never a row pointing at nothing
        // that is still served.
        let ev = AuditEvent::new(Action::EnvelopeDelete, "store", id.to_string());
        state
            .db(move |c| c.mark_blob_deleted(id, unix_now(), ev))
            .await?;
        state.blob(move |b| b.delete(id)).await?;
        inc(&state.metrics.retention_deleted);
        tracing::info!(envelope_id = %id, "retention deleted envelope bytes");
    }
    Ok(n)
}

/// Sweeps every `retention.sweep_interval_secs` until the task is aborted.
pub async fn run(state: AppState) {
    let every = Duration::from_secs(state.config.retention.sweep_interval_secs);
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        if let Err(e) = sweep(&state).await {
            tracing::warn!(status = %e.status, "retention sweep failed; will retry");
        }
    }
}
