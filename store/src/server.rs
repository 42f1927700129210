//! `serve`: open the data directory, print the start-up lines, serve over
//! TLS until SIGTERM/SIGINT ([`crate::accept`]), then drain in-flight
//! requests (30 s).

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::Router;
use sealcam_core::keys::{decode_key_file, encode_key_file, KeyError, StoreSigningKey};
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

use crate::blobs::{BlobStore, FsBlobStore};
use crate::catalog::{Catalog, SqliteCatalog};
use crate::config::Config;
use crate::error::{ApiError, StoreError};
use crate::ids::OneTimeCode;
use crate::metrics::{inc, Metrics};
use crate::rate_limit::RateLimiter;
use crate::state::{AppState, Inner};
use crate::tls;
use sealcam_platform::fsio::write_atomic as write_secret_file;

/// Catalog file name in the data directory.
pub const CATALOG_FILE: &str = "catalog.sqlite";
/// Store key file name in the data directory.
pub const STORE_KEY_FILE: &str = "store.key";
/// Threads for blocking work (file I/O, catalog calls).
pub const MAX_BLOCKING_THREADS: usize = 256;
/// How long in-flight requests may run after a shutdown signal.
pub const DRAIN_SECS: u64 = 30;

/// Why the store could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// Configuration refused.
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// TLS setup failed.
    #[error(transparent)]
    Tls(#[from] tls::TlsError),
    /// The data directory is not private, or another store serves it.
    #[error(transparent)]
    DataDir(#[from] crate::data_dir::DataDirError),
    /// The listen address cannot be bound.
    #[error(
        "cannot listen on {addr}: {source}; is another program (perhaps another \
         sealcam-store) using it? Choose another address with --listen"
    )]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The error.
        #[source]
        source: std::io::Error,
    },
    /// The store key file is unreadable.
    #[error("{STORE_KEY_FILE}: {0}")]
    StoreKey(KeyError),
    /// Binding or serving failed.
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: &'static str,
        /// The error.
        #[source]
        source: std::io::Error,
    },
}

fn io(what: &'static str) -> impl FnOnce(std::io::Error) -> StartError {
    move |source| StartError::Io { what, source }
}

fn load_or_create_store_key(data: &Path) -> Result<StoreSigningKey, StartError> {
    let path = data.join(STORE_KEY_FILE);
    match std::fs::read_to_string(&path) {
        Ok(text) => decode_key_file::<StoreSigningKey>(&text, || {
            Err(KeyError::KeyFile {
                reason: "the store key must not be passphrase-protected",
            })
        })
        .map_err(StartError::StoreKey),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let key = StoreSigningKey::generate();
            let text = encode_key_file(&key, None, crate::ids::unix_now())
                .map_err(StartError::StoreKey)?;
            write_secret_file(&path, text.as_bytes()).map_err(io("writing store.key"))?;
            Ok(key)
        }
        Err(e) => Err(StartError::Io {
            what: "reading store.key",
            source: e,
        }),
    }
}

/// Removes blobs the catalog does not know (a crash between rename and
/// catalog commit) and empties the staging directory.
pub fn recover(catalog: &dyn Catalog, blobs: &dyn BlobStore) -> Result<usize, StoreError> {
    blobs.clear_staging()?;
    let live: std::collections::HashSet<_> = catalog.live_envelope_ids()?.into_iter().collect();
    let mut removed = 0;
    for id in blobs.list()? {
        if !live.contains(&id) {
            blobs.delete(id)?;
            removed += 1;
        }
    }
    Ok(removed)
}

async fn count_status(
    axum::extract::State(state): axum::extract::State<AppState>,
    req: Request,
    next: Next,
) -> Response {
    let resp = next.run(req).await;
    let s = resp.status();
    let m = &state.metrics;
    if s.is_success() {
        inc(&m.responses_2xx);
    } else if s.is_client_error() {
        inc(&m.responses_4xx);
    } else if s.is_server_error() {
        inc(&m.responses_5xx);
    }
    resp
}

/// Every request body at the minimum rate ([`crate::pace`]).
async fn pace_body(State(state): State<AppState>, req: Request) -> Request {
    let l = &state.config.limits;
    let pace = crate::pace::Pace {
        floor: l.body_min_bytes_per_sec,
        window: Duration::from_secs(l.body_rate_window_secs),
    };
    let counter = state.clone();
    req.map(|body| {
        pace.wrap(body, move || {
            inc(&counter.metrics.bodies_too_slow);
        })
    })
}

/// The router with middleware: body limit, minimum body rate, timeout,
/// tracing (method and route only: never headers, never query values),
/// status metrics.
pub fn app(state: AppState) -> Router {
    let limits = &state.config.limits;
    // Streamed uploads enforce their own (lower or equal) limit; this is
    // the outer bound for every body.
    let body_limit = usize::try_from(limits.max_envelope_bytes).unwrap_or(usize::MAX);
    let timeout = Duration::from_secs(limits.request_timeout_secs);
    let trace = TraceLayer::new_for_http().make_span_with(|req: &Request| {
        let route = req
            .extensions()
            .get::<axum::extract::MatchedPath>()
            .map_or("unmatched", |p| p.as_str())
            .to_string();
        tracing::info_span!("request", method = %req.method(), route = %route)
    });
    crate::routes::router()
        .layer(middleware::from_fn(plain_paths))
        .layer(middleware::map_response(json_errors))
        .layer(middleware::from_fn_with_state(state.clone(), count_status))
        .layer(trace)
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            timeout,
        ))
        .layer(RequestBodyLimitLayer::new(body_limit))
        .layer(middleware::map_request_with_state(state.clone(), pace_body))
        .with_state(state)
}

/// Refuses a path with percent-encoding: no route or id needs it, and
/// decoding would give one resource two spellings.
async fn plain_paths(req: Request, next: Next) -> Response {
    if req.uri().path().contains('%') {
        return ApiError::bad_request(
            "bad_path",
            "request paths are plain ASCII without percent-encoding \
             (ids are 32 lower-case hex digits)",
        )
        .into_response();
    }
    next.run(req).await
}

/// Every error answer is the JSON error body (docs/API.md): the ones the
/// router, the body limit or the timeout make themselves (404 for an
/// unknown path, 405, 413, 408) are given one.
async fn json_errors(resp: Response) -> Response {
    let status = resp.status();
    let is_json = resp
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    if !(status.is_client_error() || status.is_server_error()) || is_json {
        return resp;
    }
    let (code, message) = match status {
        StatusCode::NOT_FOUND => ("not_found", "no such resource (see docs/API.md)"),
        StatusCode::METHOD_NOT_ALLOWED => (
            "method_not_allowed",
            "this resource does not take that method (see docs/API.md)",
        ),
        StatusCode::PAYLOAD_TOO_LARGE => ("too_large", "the body is larger than the limit"),
        StatusCode::REQUEST_TIMEOUT => ("timeout", "the request took too long; try again"),
        s if s.is_server_error() => ("internal", "the store failed; try again later"),
        _ => ("bad_request", "the request is not valid (see docs/API.md)"),
    };
    let headers = resp.headers().clone();
    let mut fresh = ApiError::new(status, code, message).into_response();
    // Keep what the original said beyond its body (retry-after, allow).
    for name in [axum::http::header::RETRY_AFTER, axum::http::header::ALLOW] {
        if let Some(v) = headers.get(&name) {
            fresh.headers_mut().insert(name, v.clone());
        }
    }
    fresh
}

/// What `serve` prints on start (contract: docs/STORE-CONTRACT.md).
pub struct Banner {
    /// `https://host:port`.
    pub url: String,
    /// `sha256/…`.
    pub tls_pin: String,
    /// `sealcamstore1…`.
    pub store_key: String,
    /// Present until bootstrapped.
    pub bootstrap_code: Option<OneTimeCode>,
}

impl Banner {
    /// The lines, in order.
    pub fn lines(&self) -> Vec<String> {
        let mut v = vec![
            format!("sealcam-store {} listening", env!("CARGO_PKG_VERSION")),
            format!("url: {}", self.url),
            format!("tls-pin: {}", self.tls_pin),
            format!("store-key: {}", self.store_key),
        ];
        if let Some(code) = &self.bootstrap_code {
            v.push(format!("bootstrap-code: {}", code.expose()));
        }
        v.push("ready".to_string());
        v
    }
}

fn url_for(addr: SocketAddr) -> String {
    let ip = if addr.ip().is_unspecified() {
        match addr {
            SocketAddr::V4(_) => "127.0.0.1".to_string(),
            SocketAddr::V6(_) => "[::1]".to_string(),
        }
    } else {
        match addr {
            SocketAddr::V4(a) => a.ip().to_string(),
            SocketAddr::V6(a) => format!("[{}]", a.ip()),
        }
    };
    format!("https://{ip}:{}", addr.port())
}

/// An opened data directory, ready to serve.
pub struct Opened {
    /// Handler state.
    pub state: AppState,
    /// rustls configuration.
    pub server_config: Arc<rustls::ServerConfig>,
    /// The bootstrap code, while not bootstrapped (a fresh one each start).
    pub bootstrap_code: Option<OneTimeCode>,
    /// The data directory, locked while this lives.
    pub data_dir: crate::data_dir::DataDir,
}

/// Opens the data directory (private, locked: [`crate::data_dir`]):
/// catalog, blobs (with crash recovery), store key, TLS material,
/// bootstrap code. Nothing in it changes unless the lock was taken.
pub fn open(config: Config) -> Result<Opened, StartError> {
    config.validate()?;
    let data = config.data.clone();
    let data_dir = crate::data_dir::DataDir::open(&data, CATALOG_FILE)?;
    let catalog: Arc<dyn Catalog> = Arc::new(SqliteCatalog::open(&data.join(CATALOG_FILE))?);
    let blobs: Arc<dyn BlobStore> = Arc::new(FsBlobStore::open(&data.join("blobs"))?);
    let removed = recover(catalog.as_ref(), blobs.as_ref())?;
    if removed > 0 {
        tracing::warn!(
            removed,
            "removed blobs without a catalog row (interrupted uploads)"
        );
    }
    let store_key = load_or_create_store_key(&data)?;
    let operator = match (&config.tls.cert, &config.tls.key) {
        (Some(c), Some(k)) => Some((c.as_path(), k.as_path())),
        _ => None,
    };
    let host = config.public_url.as_deref().and_then(tls::url_host);
    let material = tls::load_or_generate(&data, operator, host)?;
    let bootstrap_code = if catalog.org_key()?.is_none() {
        let code = OneTimeCode::generate();
        catalog.set_bootstrap_code(code.digest())?;
        Some(code)
    } else {
        None
    };
    let state = AppState(Arc::new(Inner {
        upload_buffers: Arc::new(crate::staging::BufferPool::new(
            config.limits.upload_buffer_mib as usize * 1024 * 1024,
        )),
        upload_quota: crate::staging::HolderQuota::new(
            config.limits.upload_buffers_per_principal as usize,
            config.limits.upload_buffers_per_ip as usize,
        ),
        auth_audit: crate::auth_audit::AuthFailureAudit::new(
            config.audit.auth_failure_entries_per_interval,
            config.audit.auth_failure_interval_secs,
        ),
        ip_limiter: RateLimiter::new(config.rate_limit.ip_per_minute, config.rate_limit.ip_burst),
        link_limiter: RateLimiter::new(
            config.rate_limit.link_per_minute,
            config.rate_limit.link_burst,
        ),
        upload_locks: Default::default(),
        metrics: Metrics::default(),
        tls_pin: material.pin,
        store_key,
        catalog,
        blobs,
        config,
    }));
    Ok(Opened {
        state,
        server_config: material.server_config,
        bootstrap_code,
        data_dir,
    })
}

/// Opens everything, binds, prints the banner through `print`, and serves
/// until `shutdown` resolves; then drains in-flight requests.
pub async fn serve(
    config: Config,
    print: impl FnOnce(&Banner),
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<(), StartError> {
    let listen = config.listen;
    // Bind before the data directory is touched: a start that cannot serve
    // changes nothing (in particular not the bootstrap code).
    let listener = std::net::TcpListener::bind(listen).map_err(|source| StartError::Bind {
        addr: listen,
        source,
    })?;
    let Opened {
        state,
        server_config,
        bootstrap_code,
        data_dir: _locked,
    } = open(config)?;
    listener
        .set_nonblocking(true)
        .map_err(io("configuring the listener"))?;
    let addr = listener
        .local_addr()
        .map_err(io("reading the listen address"))?;
    let listener =
        tokio::net::TcpListener::from_std(listener).map_err(io("configuring the listener"))?;
    print(&Banner {
        url: url_for(addr),
        tls_pin: state.tls_pin.clone(),
        store_key: state.store_key.public().to_string(),
        bootstrap_code,
    });
    tracing::info!(%addr, "serving");

    let retention = tokio::spawn(crate::retention::run(state.clone()));
    let audit_stop = tokio_util::sync::CancellationToken::new();
    let auth_audit = tokio::spawn(crate::auth_audit::run(state.clone(), audit_stop.clone()));
    let shutdown = async move {
        shutdown.await;
        tracing::info!("shutting down: draining in-flight requests");
    };
    crate::accept::serve(
        listener,
        server_config,
        state.clone(),
        app(state.clone()),
        shutdown,
        Duration::from_secs(DRAIN_SECS),
    )
    .await;
    retention.abort();
    // The last interval's counts of failed authentications are written.
    audit_stop.cancel();
    let _ = auth_audit.await;
    Ok(())
}

/// Installs the SIGTERM and SIGINT handlers now (call it inside the
/// runtime, before the banner, so a signal sent as soon as `ready` is read
/// is never lost to the default action) and returns a future that resolves
/// on either.
pub fn shutdown_signal() -> std::io::Result<impl std::future::Future<Output = ()> + Send + 'static>
{
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let mut term = signal(SignalKind::terminate())?;
        let mut int = signal(SignalKind::interrupt())?;
        Ok(async move {
            tokio::select! {
                _ = term.recv() => {},
                _ = int.recv() => {},
            }
        })
    }
    #[cfg(not(unix))]
    {
        Ok(async move {
            let _ = tokio::signal::ctrl_c().await;
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn banner_lines_follow_the_contract() {
        let b = Banner {
            url: url_for("0.0.0.0:8443".parse().expect("addr")),
            tls_pin: "sha256/x".into(),
            store_key: "sealcamstore1x".into(),
            bootstrap_code: Some(OneTimeCode::generate()),
        };
        let lines = b.lines();
        assert_eq!(lines.len(), 6);
        assert!(lines[0].starts_with("sealcam-store ") && lines[0].ends_with(" listening"));
        assert_eq!(lines[1], "url: https://127.0.0.1:8443");
        assert_eq!(lines[2], "tls-pin: sha256/x");
        assert_eq!(lines[3], "store-key: sealcamstore1x");
        assert!(lines[4].starts_with("bootstrap-code: ") && lines[4].len() == 16 + 39);
        assert_eq!(lines[5], "ready");
        let without = Banner {
            bootstrap_code: None,
            ..b
        };
        assert_eq!(without.lines().len(), 5);
        assert_eq!(url_for("[::1]:0".parse().expect("addr")), "https://[::1]:0");
    }

    #[tokio::test]
    async fn a_start_that_cannot_bind_names_the_address_and_changes_nothing() {
        let parent = tempfile::tempdir().expect("tempdir");
        let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = taken.local_addr().expect("addr");
        let config = Config {
            data: parent.path().join("data"),
            listen: addr,
            ..Config::default()
        };
        let err = serve(config, |_| panic!("no banner"), async {})
            .await
            .expect_err("the port is taken");
        let message = err.to_string();
        assert!(matches!(err, StartError::Bind { .. }), "{message}");
        assert!(message.contains(&addr.to_string()), "{message}");
        assert!(message.contains("--listen"), "{message}");
        assert!(!parent.path().join("data").exists(), "nothing created");
    }

    #[test]
    fn a_second_store_on_the_same_data_keeps_the_first_ones_bootstrap_code() {
        let parent = tempfile::tempdir().expect("tempdir");
        let config = || Config {
            data: parent.path().join("data"),
            ..Config::default()
        };
        let first = open(config()).expect("first");
        let code = first.bootstrap_code.as_ref().expect("a code").digest();
        let second = open(config());
        assert!(
            matches!(second, Err(StartError::DataDir(_))),
            "a second store is refused"
        );
        // The first store's code still opens its bootstrap.
        let org = sealcam_core::keys::OrgSigningKey::generate().public();
        let ev = crate::audit::AuditEvent::new(
            crate::audit::Action::Bootstrap,
            format!("admin:{}", org.id()),
            org.id().to_string(),
        );
        let outcome = first
            .state
            .catalog
            .bootstrap(code, &org, 1, ev)
            .expect("catalog");
        assert!(matches!(outcome, crate::catalog::BootstrapOutcome::Done));
    }
}
