//! Bounded auditing of failed authentication.
//!
//! Every failed authentication used to append one audit entry (one durable
//! write), so anonymous badly-signed requests grew the catalog as fast as
//! they could be sent. Now, per interval (`audit.auth_failure_interval_secs`,
//! 60 s by default):
//!
//! - the first failure of each (claimed actor, reason) is written at once,
//!   `{"reason": …}`, as before, while fewer than
//!   `audit.auth_failure_entries_per_interval` entries were written in the
//!   interval;
//! - its repeats in the interval are counted, and written as one entry at
//!   the interval's end: `{"reason": …, "count": n, "within_secs": s}`;
//! - failures beyond the cap, of any actor, are counted together and written
//!   as one `auth.failure.suppressed` entry (actor `store`,
//!   `{"count": n, "within_secs": s}`) at the interval's end.
//!
//! So an interval adds at most `2 × cap + 1` entries, and the counts of
//! the `auth.failure` and `auth.failure.suppressed` entries add up to the
//! number of failures (the metric `sealcam_auth_failures_total` counts each
//! one as it happens). The entries go through the ordinary hash chain.
//! Memory: at most `cap` (actor, reason) pairs are remembered.

use std::collections::HashMap;
use std::sync::Mutex;

use crate::audit::{Action, AuditEvent};
use crate::ids::unix_now;
use crate::state::AppState;

/// Counts of the current interval.
#[derive(Debug, Default)]
struct Interval {
    /// Entries written at once in this interval.
    written: u32,
    /// Repeats per (actor, reason) written at once in this interval.
    repeats: HashMap<(String, &'static str), u64>,
    /// Failures neither written nor counted as a repeat.
    suppressed: u64,
}

/// Decides which failed authentications are written to the audit log.
#[derive(Debug)]
pub struct AuthFailureAudit {
    cap: u32,
    interval_secs: u64,
    current: Mutex<Interval>,
}

impl AuthFailureAudit {
    /// At most `cap` immediate entries per interval of `interval_secs`.
    pub fn new(cap: u32, interval_secs: u64) -> Self {
        AuthFailureAudit {
            cap,
            interval_secs,
            current: Mutex::new(Interval::default()),
        }
    }

    /// The interval (seconds).
    pub fn interval_secs(&self) -> u64 {
        self.interval_secs
    }

    /// Records one failure by `actor` (the claimed `role:key`, or
    /// `anonymous`); returns the entry to write now, if any.
    pub fn record(&self, actor: String, reason: &'static str) -> Option<AuditEvent> {
        // Counters only: a poisoned lock still holds usable numbers.
        let mut cur = self.current.lock().unwrap_or_else(|e| e.into_inner());
        let key = (actor, reason);
        if let Some(n) = cur.repeats.get_mut(&key) {
            *n += 1;
            return None;
        }
        if cur.written >= self.cap {
            cur.suppressed += 1;
            return None;
        }
        cur.written += 1;
        let ev = AuditEvent::new(Action::AuthFailure, key.0.clone(), "")
            .with_detail(serde_json::json!({ "reason": reason }));
        cur.repeats.insert(key, 0);
        Some(ev)
    }

    /// Ends the interval: the entries summing up its repeats and
    /// suppressed failures (none when there were none).
    pub fn end_interval(&self) -> Vec<AuditEvent> {
        let ended = {
            let mut cur = self.current.lock().unwrap_or_else(|e| e.into_inner());
            std::mem::take(&mut *cur)
        };
        let within = self.interval_secs;
        let mut out: Vec<AuditEvent> = ended
            .repeats
            .into_iter()
            .filter(|(_, n)| *n > 0)
            .map(|((actor, reason), n)| {
                AuditEvent::new(Action::AuthFailure, actor, "").with_detail(
                    serde_json::json!({ "reason": reason, "count": n, "within_secs": within }),
                )
            })
            .collect();
        // A stable order in the log.
        out.sort_by(|a, b| (&a.actor, &a.detail).cmp(&(&b.actor, &b.detail)));
        if ended.suppressed > 0 {
            out.push(
                AuditEvent::new(Action::AuthFailureSuppressed, "store", "").with_detail(
                    serde_json::json!({ "count": ended.suppressed, "within_secs": within }),
                ),
            );
        }
        out
    }
}

/// Ends the current interval and writes its summary entries.
pub async fn flush(state: &AppState) {
    let events = state.auth_audit.end_interval();
    if events.is_empty() {
        return;
    }
    let now = unix_now();
    for ev in events {
        if let Err(e) = state.db(move |c| c.append_audit(now, ev)).await {
            tracing::warn!(status = %e.status, "could not audit repeated authentication failures");
        }
    }
}

/// Ends an interval every `audit.auth_failure_interval_secs` until `stop`
/// is cancelled, then once more (never in the middle of writing one).
pub async fn run(state: AppState, stop: tokio_util::sync::CancellationToken) {
    let period = std::time::Duration::from_secs(state.auth_audit.interval_secs().max(1));
    let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => flush(&state).await,
            () = stop.cancelled() => break,
        }
    }
    flush(&state).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn count(ev: &AuditEvent) -> u64 {
        let v: serde_json::Value = serde_json::from_str(&ev.detail).expect("json");
        v.get("count")
            .and_then(serde_json::Value::as_u64)
            .unwrap_or(1)
    }

    #[test]
    fn one_entry_per_actor_and_reason_then_a_count() {
        let a = AuthFailureAudit::new(10, 60);
        let mut now = Vec::new();
        for _ in 0..100 {
            now.extend(a.record("device:aa".into(), "bad signature"));
            now.extend(a.record("device:aa".into(), "replayed"));
            now.extend(a.record("anonymous".into(), "bad signature"));
        }
        assert_eq!(now.len(), 3, "one entry each at once");
        assert!(now[0].detail.contains("bad signature") && !now[0].detail.contains("count"));
        let end = a.end_interval();
        assert_eq!(end.len(), 3);
        assert!(end.iter().all(|e| e.action == Action::AuthFailure));
        assert!(end.iter().all(|e| count(e) == 99));
        let total: u64 = now.iter().chain(&end).map(count).sum();
        assert_eq!(total, 300, "the counts add up to the failures");
        // The next interval starts afresh.
        assert!(a.end_interval().is_empty());
        assert!(a.record("device:aa".into(), "replayed").is_some());
    }

    #[test]
    fn beyond_the_cap_failures_are_counted_in_one_entry() {
        let a = AuthFailureAudit::new(5, 60);
        let now: Vec<_> = (0..1000)
            .filter_map(|i| a.record(format!("device:{i}"), "unknown or revoked device"))
            .collect();
        assert_eq!(now.len(), 5);
        let end = a.end_interval();
        assert_eq!(end.len(), 1);
        assert_eq!(end[0].action, Action::AuthFailureSuppressed);
        assert_eq!(end[0].actor, "store");
        assert_eq!(count(&end[0]), 995);
        // Repeats of the ones written are still counted as repeats.
        let a = AuthFailureAudit::new(1, 60);
        assert!(a.record("x".into(), "r").is_some());
        assert!(a.record("y".into(), "r").is_none());
        assert!(a.record("x".into(), "r").is_none());
        let end = a.end_interval();
        assert_eq!(end.iter().map(count).collect::<Vec<_>>(), vec![1, 1]);
    }
}
