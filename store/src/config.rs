//! Configuration: built-in defaults, an optional TOML file, then the
//! command line (which wins). Every field has a default, so the store runs
//! with no configuration at all.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;

/// Why the configuration was refused.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read config file {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The file is not valid TOML for this schema.
    #[error("config file {path}: {message}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// The parser's message.
        message: String,
    },
    /// A value is out of range.
    #[error("config: {0}")]
    Invalid(String),
}

/// When a filed envelope's ciphertext is deleted. The default is `All`:
/// with `Any`, the first team to file an image deletes it for every other
/// recipient, who then never sees it (their inbox drops it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FiledPolicy {
    /// As soon as any recipient has filed it.
    Any,
    /// Once every recipient has filed it.
    All,
}

/// The whole configuration (TOML schema: see docs/API.md "Configuration").
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Data directory (catalog, blobs, TLS, store key).
    pub data: PathBuf,
    /// Address to listen on; port 0 picks a free one.
    pub listen: SocketAddr,
    /// The URL clients use (host added to the generated certificate; base of
    /// patient link pages).
    pub public_url: Option<String>,
    /// TLS.
    pub tls: TlsConfig,
    /// Request limits.
    pub limits: Limits,
    /// Retention.
    pub retention: Retention,
    /// Rate limits.
    pub rate_limit: RateLimits,
    /// Patient link defaults and bounds.
    pub links: LinkDefaults,
    /// Enrolment code bounds.
    pub enrolment: EnrolmentDefaults,
    /// Audit log bounds.
    pub audit: AuditLimits,
}

/// Operator-supplied certificate and key (PEM); generated when absent.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TlsConfig {
    /// Certificate chain (PEM).
    pub cert: Option<PathBuf>,
    /// Private key (PEM, PKCS#8, SEC1 or PKCS#1).
    pub key: Option<PathBuf>,
}

/// Request and connection limits.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Limits {
    /// Largest envelope accepted (bytes).
    pub max_envelope_bytes: u64,
    /// Largest JSON or small binary body (bytes).
    pub max_json_bytes: usize,
    /// Whole-request timeout (seconds).
    pub request_timeout_secs: u64,
    /// Connections served at once. When all are taken, a new connection
    /// waits (a bounded number of them, for at most the handshake
    /// timeout) while the longest-idle connection is closed to make room;
    /// beyond that it is closed at once (store/src/conn_limit.rs).
    pub max_connections: usize,
    /// Connections one client address may hold (IPv4 address or IPv6
    /// /64), waiting ones included; more are closed at once. Behind a
    /// reverse proxy or a shared NAT, raise it (to `max_connections`: a
    /// larger value means the same).
    pub max_connections_per_ip: usize,
    /// The TLS handshake must finish within this (seconds).
    pub handshake_timeout_secs: u64,
    /// HTTP/1: a request head must arrive within this (seconds) of the
    /// connection or of the previous response — slow headers are cut, and
    /// an idle keep-alive connection is closed, after it.
    pub header_timeout_secs: u64,
    /// A connection with no request in flight for this long (seconds) is
    /// closed (HTTP/2: GOAWAY first).
    pub idle_timeout_secs: u64,
    /// HTTP/2 PING and SETTINGS frames a client may send per second on one
    /// connection (bursts of ten seconds' worth); beyond, the connection
    /// is closed.
    pub http2_control_frames_per_sec: u32,
    /// Memory for upload buffers, all uploads together (MiB): each
    /// upload in flight holds one 256 KiB buffer; beyond the budget an
    /// upload waits for one. Envelopes are never held whole in memory.
    pub upload_buffer_mib: u32,
    /// Upload buffers one device, staff key or patient link may hold at
    /// once; a further upload is answered 503 at once.
    pub upload_buffers_per_principal: u32,
    /// Upload buffers patient-link uploads from one client address may
    /// hold at once.
    pub upload_buffers_per_ip: u32,
    /// How long an upload may send nothing (seconds) before it is cut
    /// with 408 — also the longest an upload waits for a buffer (then
    /// 503). A stalled client must not hold a buffer for the whole
    /// request timeout.
    pub upload_idle_timeout_secs: u64,
    /// Every request body (uploads included) must bring at least this
    /// many bytes a second, averaged over each window of
    /// `body_rate_window_secs` spent waiting for it (the first window is
    /// the grace period), or it is cut with 408 (so, with a floor, a body
    /// silent for a window is cut before `upload_idle_timeout_secs`).
    /// 0: no floor.
    pub body_min_bytes_per_sec: u64,
    /// The window of `body_min_bytes_per_sec` (seconds).
    pub body_rate_window_secs: u64,
    /// Write staged uploads with `O_DIRECT` (Linux), bypassing the page
    /// cache; refused filesystems fall back to ordinary writes.
    pub direct_io: bool,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_envelope_bytes: 64 * 1024 * 1024,
            max_json_bytes: 256 * 1024,
            request_timeout_secs: 300,
            max_connections: 512,
            max_connections_per_ip: 64,
            handshake_timeout_secs: 10,
            header_timeout_secs: 20,
            idle_timeout_secs: 60,
            http2_control_frames_per_sec: 10,
            upload_buffer_mib: 64,
            upload_buffers_per_principal: 8,
            upload_buffers_per_ip: 16,
            upload_idle_timeout_secs: 30,
            body_min_bytes_per_sec: 16 * 1024,
            body_rate_window_secs: 20,
            direct_io: true,
        }
    }
}

/// Retention: when ciphertext is deleted.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Retention {
    /// Delete once filed by any or all recipients.
    pub filed_policy: FiledPolicy,
    /// Delete at this age regardless (seconds; default 30 days).
    pub max_age_secs: u64,
    /// How often the sweeper runs (seconds).
    pub sweep_interval_secs: u64,
}

impl Default for Retention {
    fn default() -> Self {
        Retention {
            filed_policy: FiledPolicy::All,
            max_age_secs: 30 * 24 * 3600,
            sweep_interval_secs: 60,
        }
    }
}

/// Token-bucket rate limits, per client IP (anonymous and link endpoints)
/// and per patient link.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RateLimits {
    /// Sustained requests per minute per IP.
    pub ip_per_minute: u32,
    /// Burst per IP.
    pub ip_burst: u32,
    /// Sustained requests per minute per link.
    pub link_per_minute: u32,
    /// Burst per link.
    pub link_burst: u32,
}

impl Default for RateLimits {
    fn default() -> Self {
        RateLimits {
            ip_per_minute: 60,
            ip_burst: 30,
            link_per_minute: 30,
            link_burst: 10,
        }
    }
}

/// Patient link defaults and bounds.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LinkDefaults {
    /// Default lifetime (seconds; 7 days).
    pub default_expires_in_secs: u64,
    /// Longest lifetime allowed (seconds; 30 days).
    pub max_expires_in_secs: u64,
    /// Default number of uploads.
    pub default_max_uploads: u32,
    /// Most uploads allowed on one link.
    pub max_max_uploads: u32,
    /// Default size limit per upload (bytes; 32 MiB; capped at
    /// `limits.max_envelope_bytes`).
    pub default_max_bytes: u64,
}

impl Default for LinkDefaults {
    fn default() -> Self {
        LinkDefaults {
            default_expires_in_secs: 7 * 24 * 3600,
            max_expires_in_secs: 30 * 24 * 3600,
            default_max_uploads: 5,
            max_max_uploads: 100,
            default_max_bytes: 32 * 1024 * 1024,
        }
    }
}

/// Enrolment code bounds.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EnrolmentDefaults {
    /// Default lifetime (seconds; 1 day).
    pub default_expires_in_secs: u64,
    /// Longest lifetime (seconds; 7 days).
    pub max_expires_in_secs: u64,
}

impl Default for EnrolmentDefaults {
    fn default() -> Self {
        EnrolmentDefaults {
            default_expires_in_secs: 24 * 3600,
            max_expires_in_secs: 7 * 24 * 3600,
        }
    }
}

/// Bounds on what failed authentication writes to the audit log
/// (store/src/auth_audit.rs).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuditLimits {
    /// The interval (seconds) over which failures are aggregated: one
    /// entry at once per (claimed key, reason), its repeats as one count
    /// at the interval's end.
    pub auth_failure_interval_secs: u64,
    /// Entries written at once per interval, all keys together; further
    /// failures are counted in one `auth.failure.suppressed` entry.
    pub auth_failure_entries_per_interval: u32,
}

impl Default for AuditLimits {
    fn default() -> Self {
        AuditLimits {
            auth_failure_interval_secs: 60,
            auth_failure_entries_per_interval: 100,
        }
    }
}

/// The most connections `limits.max_connections` may allow.
pub const MAX_CONNECTIONS: usize = 1_000_000;
/// The longest timeout or interval accepted (one day).
pub const MAX_TIMEOUT_SECS: u64 = 86_400;

/// The default listen address.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8443";
/// The default data directory.
pub const DEFAULT_DATA: &str = "./sealcam-data";

impl Default for Config {
    fn default() -> Self {
        Config {
            data: PathBuf::from(DEFAULT_DATA),
            listen: SocketAddr::from(([127, 0, 0, 1], 8443)),
            public_url: None,
            tls: TlsConfig::default(),
            limits: Limits::default(),
            retention: Retention::default(),
            rate_limit: RateLimits::default(),
            links: LinkDefaults::default(),
            enrolment: EnrolmentDefaults::default(),
            audit: AuditLimits::default(),
        }
    }
}

impl Config {
    /// Parses TOML text.
    pub fn from_toml(text: &str, path: &Path) -> Result<Self, ConfigError> {
        let c: Config = toml::from_str(text).map_err(|e| ConfigError::Parse {
            path: path.to_path_buf(),
            message: e.message().to_string(),
        })?;
        Ok(c)
    }

    /// Reads a TOML file.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Self::from_toml(&text, path)
    }

    /// Checks ranges that would make the store misbehave.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let bad = |m: &str| Err(ConfigError::Invalid(m.to_string()));
        if self.tls.cert.is_some() != self.tls.key.is_some() {
            return bad("tls.cert and tls.key must be given together");
        }
        if self.limits.max_envelope_bytes == 0 {
            return bad("limits.max_envelope_bytes must be positive");
        }
        let lim = &self.limits;
        if lim.max_connections == 0 || lim.max_connections > MAX_CONNECTIONS {
            return bad("limits.max_connections must be 1..=1000000");
        }
        if lim.max_connections_per_ip == 0 {
            return bad("limits.max_connections_per_ip must be positive");
        }
        for (name, v) in [
            ("handshake_timeout_secs", lim.handshake_timeout_secs),
            ("header_timeout_secs", lim.header_timeout_secs),
            ("idle_timeout_secs", lim.idle_timeout_secs),
            ("upload_idle_timeout_secs", lim.upload_idle_timeout_secs),
            ("request_timeout_secs", lim.request_timeout_secs),
            ("body_rate_window_secs", lim.body_rate_window_secs),
        ] {
            if v == 0 || v > MAX_TIMEOUT_SECS {
                return Err(ConfigError::Invalid(format!(
                    "limits.{name} must be 1..={MAX_TIMEOUT_SECS}"
                )));
            }
        }
        if lim.http2_control_frames_per_sec == 0 {
            return bad("limits.http2_control_frames_per_sec must be positive");
        }
        if lim.upload_buffer_mib == 0 {
            return bad("limits.upload_buffer_mib must be positive");
        }
        if lim.upload_buffers_per_principal == 0 || lim.upload_buffers_per_ip == 0 {
            return bad(
                "limits.upload_buffers_per_principal and upload_buffers_per_ip must be positive",
            );
        }
        let a = &self.audit;
        if a.auth_failure_interval_secs == 0 || a.auth_failure_interval_secs > MAX_TIMEOUT_SECS {
            return bad("audit.auth_failure_interval_secs must be 1..=86400");
        }
        if a.auth_failure_entries_per_interval == 0 {
            return bad("audit.auth_failure_entries_per_interval must be positive");
        }
        if self.retention.sweep_interval_secs == 0 {
            return bad("retention.sweep_interval_secs must be positive");
        }
        let r = &self.rate_limit;
        if r.ip_per_minute == 0 || r.ip_burst == 0 || r.link_per_minute == 0 || r.link_burst == 0 {
            return bad("rate_limit values must be positive");
        }
        let l = &self.links;
        if l.default_expires_in_secs == 0 || l.default_expires_in_secs > l.max_expires_in_secs {
            return bad("links.default_expires_in_secs must be 1..=links.max_expires_in_secs");
        }
        if l.default_max_uploads == 0 || l.default_max_uploads > l.max_max_uploads {
            return bad("links.default_max_uploads must be 1..=links.max_max_uploads");
        }
        if l.default_max_bytes == 0 {
            return bad("links.default_max_bytes must be positive");
        }
        let e = &self.enrolment;
        if e.default_expires_in_secs == 0 || e.default_expires_in_secs > e.max_expires_in_secs {
            return bad(
                "enrolment.default_expires_in_secs must be 1..=enrolment.max_expires_in_secs",
            );
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_recipient_keeps_its_copy_by_default() {
        assert_eq!(Retention::default().filed_policy, FiledPolicy::All);
    }

    #[test]
    fn empty_file_is_defaults() {
        let c = Config::from_toml("", Path::new("x.toml")).expect("parses");
        assert_eq!(c.retention.max_age_secs, 30 * 24 * 3600);
        assert_eq!(c.links.default_max_uploads, 5);
        assert_eq!(c.listen.to_string(), DEFAULT_LISTEN);
        c.validate().expect("valid");
    }

    #[test]
    fn full_file() {
        let text = r#"
            data = "/tmp/x"
            listen = "127.0.0.1:0"
            public_url = "https://store.example"
            [tls]
            cert = "c.pem"
            key = "k.pem"
            [limits]
            max_envelope_bytes = 1000000
            [retention]
            filed_policy = "all"
            max_age_secs = 5
            sweep_interval_secs = 1
            [rate_limit]
            ip_per_minute = 5
            ip_burst = 2
            link_per_minute = 3
            link_burst = 1
            [links]
            default_max_bytes = 1000
        "#;
        let c = Config::from_toml(text, Path::new("x.toml")).expect("parses");
        assert_eq!(c.retention.filed_policy, FiledPolicy::All);
        assert_eq!(c.retention.sweep_interval_secs, 1);
        assert_eq!(c.rate_limit.link_burst, 1);
        assert_eq!(c.listen.port(), 0);
        c.validate().expect("valid");
    }

    #[test]
    fn unknown_keys_and_bad_values_refused() {
        assert!(Config::from_toml("nope = 1", Path::new("x")).is_err());
        assert!(Config::from_toml("[retention]\nfiled_policy = \"some\"", Path::new("x")).is_err());
        let c = Config::from_toml("[retention]\nsweep_interval_secs = 0", Path::new("x"))
            .expect("parses");
        assert!(c.validate().is_err());
        let c = Config::from_toml("[tls]\ncert = \"a\"", Path::new("x")).expect("parses");
        assert!(c.validate().is_err());
        for bad in [
            "[limits]\nmax_connections_per_ip = 0",
            "[limits]\nidle_timeout_secs = 0",
            "[limits]\nheader_timeout_secs = 100000",
            "[limits]\nhttp2_control_frames_per_sec = 0",
            "[limits]\nupload_buffers_per_principal = 0",
            "[audit]\nauth_failure_interval_secs = 0",
            "[audit]\nauth_failure_entries_per_interval = 0",
        ] {
            let c = Config::from_toml(bad, Path::new("x")).expect("parses");
            assert!(c.validate().is_err(), "{bad}");
        }
    }

    #[test]
    fn connection_and_audit_limits_parse() {
        let text = "
            [limits]
            max_connections = 16
            max_connections_per_ip = 4
            handshake_timeout_secs = 3
            header_timeout_secs = 2
            idle_timeout_secs = 2
            http2_control_frames_per_sec = 5
            upload_buffers_per_principal = 1
            upload_buffers_per_ip = 2
            body_min_bytes_per_sec = 0
            body_rate_window_secs = 2
            [audit]
            auth_failure_interval_secs = 2
            auth_failure_entries_per_interval = 10
        ";
        let c = Config::from_toml(text, Path::new("x.toml")).expect("parses");
        c.validate().expect("valid");
        assert_eq!(c.limits.max_connections_per_ip, 4);
        assert_eq!(c.limits.body_min_bytes_per_sec, 0);
        assert_eq!(c.audit.auth_failure_entries_per_interval, 10);
        Config::default().validate().expect("defaults are valid");
    }
}
