//! Prometheus metrics, hand-written text exposition format (counters and
//! gauges in atomics; no labels carrying ids or patient data).

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};

/// The store's counters and gauges.
#[derive(Default)]
pub struct Metrics {
    /// HTTP responses by class.
    pub responses_2xx: AtomicU64,
    /// 4xx responses.
    pub responses_4xx: AtomicU64,
    /// 5xx responses.
    pub responses_5xx: AtomicU64,
    /// Envelopes accepted (new).
    pub uploads_accepted: AtomicU64,
    /// Re-uploads of identical bytes.
    pub uploads_duplicate: AtomicU64,
    /// Uploads refused (invalid, conflict, too large, link unusable).
    pub uploads_rejected: AtomicU64,
    /// Bytes of accepted envelopes.
    pub upload_bytes: AtomicU64,
    /// Uploads being received right now.
    pub uploads_in_flight: AtomicU64,
    /// Upload buffers held right now (of `limits.upload_buffer_mib`).
    pub upload_buffers_in_use: AtomicU64,
    /// Envelopes fetched by staff.
    pub fetches: AtomicU64,
    /// Requests that failed authentication.
    pub auth_failures: AtomicU64,
    /// Requests refused by rate limits.
    pub rate_limited: AtomicU64,
    /// Blobs deleted by retention.
    pub retention_deleted: AtomicU64,
    /// Connections being served (TLS handshake onwards).
    pub connections_open: AtomicU64,
    /// Connections closed at once: their address held its share.
    pub connections_refused_per_ip: AtomicU64,
    /// Connections closed at once or after waiting: the store was full.
    pub connections_refused_full: AtomicU64,
    /// TLS handshakes that failed or timed out.
    pub connections_handshake_failed: AtomicU64,
    /// Connections closed after `limits.idle_timeout_secs` without a request.
    pub connections_closed_idle: AtomicU64,
    /// Idle connections closed to make room for a waiting one.
    pub connections_evicted: AtomicU64,
    /// HTTP/2 connections closed for too many PING/SETTINGS frames.
    pub connections_control_frames: AtomicU64,
    /// Request bodies cut for arriving below `limits.body_min_bytes_per_sec`.
    pub bodies_too_slow: AtomicU64,
    /// Uploads answered 503: no buffer, or their principal's share, in time.
    pub uploads_busy: AtomicU64,
}

/// Adds one.
pub fn inc(c: &AtomicU64) {
    c.fetch_add(1, Ordering::Relaxed);
}

/// Guard that decrements a gauge when dropped.
pub struct GaugeGuard<'a>(&'a AtomicU64);

impl<'a> GaugeGuard<'a> {
    /// Increments `g` until the guard is dropped.
    pub fn new(g: &'a AtomicU64) -> Self {
        g.fetch_add(1, Ordering::Relaxed);
        GaugeGuard(g)
    }
}

impl Drop for GaugeGuard<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

impl Metrics {
    /// The text exposition.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let mut metric = |name: &str, kind: &str, help: &str, samples: &[(&str, &AtomicU64)]| {
            let _ = writeln!(out, "# HELP {name} {help}");
            let _ = writeln!(out, "# TYPE {name} {kind}");
            for (labels, v) in samples {
                let _ = writeln!(out, "{name}{labels} {}", v.load(Ordering::Relaxed));
            }
        };
        metric(
            "sealcam_http_responses_total",
            "counter",
            "HTTP responses by status class.",
            &[
                ("{class=\"2xx\"}", &self.responses_2xx),
                ("{class=\"4xx\"}", &self.responses_4xx),
                ("{class=\"5xx\"}", &self.responses_5xx),
            ],
        );
        metric(
            "sealcam_uploads_total",
            "counter",
            "Envelope uploads by result.",
            &[
                ("{result=\"accepted\"}", &self.uploads_accepted),
                ("{result=\"duplicate\"}", &self.uploads_duplicate),
                ("{result=\"rejected\"}", &self.uploads_rejected),
            ],
        );
        metric(
            "sealcam_upload_bytes_total",
            "counter",
            "Bytes of accepted envelopes.",
            &[("", &self.upload_bytes)],
        );
        metric(
            "sealcam_uploads_in_flight",
            "gauge",
            "Uploads being received.",
            &[("", &self.uploads_in_flight)],
        );
        metric(
            "sealcam_upload_buffers_in_use",
            "gauge",
            "Upload buffers held (256 KiB each).",
            &[("", &self.upload_buffers_in_use)],
        );
        metric(
            "sealcam_fetches_total",
            "counter",
            "Envelopes fetched by staff.",
            &[("", &self.fetches)],
        );
        metric(
            "sealcam_auth_failures_total",
            "counter",
            "Requests that failed authentication.",
            &[("", &self.auth_failures)],
        );
        metric(
            "sealcam_rate_limited_total",
            "counter",
            "Requests refused by rate limits.",
            &[("", &self.rate_limited)],
        );
        metric(
            "sealcam_connections_open",
            "gauge",
            "Connections being served.",
            &[("", &self.connections_open)],
        );
        metric(
            "sealcam_connections_refused_total",
            "counter",
            "Connections closed unserved, by reason.",
            &[
                ("{reason=\"per_ip\"}", &self.connections_refused_per_ip),
                ("{reason=\"full\"}", &self.connections_refused_full),
            ],
        );
        metric(
            "sealcam_connections_closed_total",
            "counter",
            "Connections closed by the store, by reason.",
            &[
                ("{reason=\"handshake\"}", &self.connections_handshake_failed),
                ("{reason=\"idle\"}", &self.connections_closed_idle),
                ("{reason=\"evicted\"}", &self.connections_evicted),
                (
                    "{reason=\"control_frames\"}",
                    &self.connections_control_frames,
                ),
            ],
        );
        metric(
            "sealcam_bodies_too_slow_total",
            "counter",
            "Request bodies cut for arriving below the minimum rate.",
            &[("", &self.bodies_too_slow)],
        );
        metric(
            "sealcam_uploads_busy_total",
            "counter",
            "Uploads answered 503 busy.",
            &[("", &self.uploads_busy)],
        );
        metric(
            "sealcam_retention_deleted_total",
            "counter",
            "Envelope blobs deleted by retention.",
            &[("", &self.retention_deleted)],
        );
        out
    }
}
