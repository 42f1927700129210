//! The accept loop and the life of a connection.
//!
//! For each TCP connection: admission ([`crate::conn_limit`]: per-address
//! share, bounded slots and wait), the TLS handshake within
//! `limits.handshake_timeout_secs`, then HTTP/1.1 or HTTP/2 (hyper, chosen
//! by the client's first bytes) with:
//!
//! - HTTP/1: the request head within `limits.header_timeout_secs` of the
//!   connection or of the previous response (hyper's header read timeout:
//!   slow headers, and idle keep-alive, end there);
//! - HTTP/2: keep-alive PINGs (a peer that stops answering is dropped) and
//!   a limit on the PING and SETTINGS frames a client sends
//!   ([`crate::h2_frames`]);
//! - both: a connection with no request in flight for
//!   `limits.idle_timeout_secs` is closed (gracefully: HTTP/2 GOAWAY), as
//!   is the longest-idle connection when the store is full and another
//!   connection waits; a connection asked to close gets [`CLOSE_GRACE`] to
//!   do so (more while a request is in flight on it), then is dropped.
//!
//! On shutdown: stop accepting, ask every connection to close gracefully,
//! and wait up to [`crate::server::DRAIN_SECS`] for them.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::ConnectInfo;
use axum::http::Request;
use axum::Router;
use hyper::body::{Body as HttpBody, Frame, Incoming, SizeHint};
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto::Builder;
use tokio::net::{TcpListener, TcpStream};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tower::ServiceExt as _;

use crate::config::Limits;
use crate::conn_limit::{Admission, ConnLimits, InFlight, Refused};
use crate::h2_frames::ControlFrameLimit;
use crate::metrics::{inc, GaugeGuard};
use crate::state::AppState;

/// HTTP/1 read buffer limit per connection.
const HTTP1_MAX_BUF: usize = 32 * 1024;
/// HTTP/2 flow-control windows (stream and connection).
const HTTP2_WINDOW: u32 = 256 * 1024;
/// Largest HTTP/2 frame a client may send: fewer, larger DATA frames per
/// upload (the protocol default is 16 KiB).
const HTTP2_MAX_FRAME: u32 = 128 * 1024;
/// HTTP/2 streams per connection.
const HTTP2_MAX_STREAMS: u32 = 32;
/// HTTP/2 keep-alive: a PING this often, answered within the timeout.
const HTTP2_PING_INTERVAL: Duration = Duration::from_secs(30);
const HTTP2_PING_TIMEOUT: Duration = Duration::from_secs(20);
/// How long a connection asked to close (idle, or making room) may take
/// to say goodbye (HTTP/2: GOAWAY, PING, final GOAWAY) before it is
/// dropped.
pub const CLOSE_GRACE: Duration = Duration::from_secs(5);
/// Pause after a failed `accept` (e.g. out of file descriptors), so the
/// loop does not spin.
const ACCEPT_ERROR_PAUSE: Duration = Duration::from_millis(50);

/// The HTTP settings: memory bounds (what a connection may have received
/// but the handler not yet written to disk: hyper's defaults, 1 MiB HTTP/2
/// windows and ~400 KiB HTTP/1 buffers, times hundreds of connections
/// would be most of the memory budget) and timeouts.
fn http_builder(limits: &Limits) -> Builder<TokioExecutor> {
    let mut b = Builder::new(TokioExecutor::new());
    b.http1()
        .timer(TokioTimer::new())
        .header_read_timeout(Duration::from_secs(limits.header_timeout_secs))
        .max_buf_size(HTTP1_MAX_BUF);
    b.http2()
        .timer(TokioTimer::new())
        .initial_stream_window_size(HTTP2_WINDOW)
        .initial_connection_window_size(HTTP2_WINDOW)
        .max_frame_size(HTTP2_MAX_FRAME)
        .max_concurrent_streams(HTTP2_MAX_STREAMS)
        .keep_alive_interval(Some(HTTP2_PING_INTERVAL))
        .keep_alive_timeout(HTTP2_PING_TIMEOUT);
    b
}

/// What every connection task shares.
struct Shared {
    state: AppState,
    router: Router,
    tls: tokio_rustls::TlsAcceptor,
    http: Builder<TokioExecutor>,
    limits: Arc<ConnLimits>,
    closing: CancellationToken,
    handshake_timeout: Duration,
    idle_timeout: Duration,
    control_frames_per_sec: u32,
}

/// Serves `router` on `listener` over TLS until `shutdown` resolves, then
/// drains (up to `drain`).
pub async fn serve(
    listener: TcpListener,
    tls: Arc<rustls::ServerConfig>,
    state: AppState,
    router: Router,
    shutdown: impl Future<Output = ()>,
    drain: Duration,
) {
    let l = &state.config.limits;
    let shared = Arc::new(Shared {
        router,
        tls: tokio_rustls::TlsAcceptor::from(tls),
        http: http_builder(l),
        limits: ConnLimits::new(l.max_connections, l.max_connections_per_ip),
        closing: CancellationToken::new(),
        handshake_timeout: Duration::from_secs(l.handshake_timeout_secs),
        idle_timeout: Duration::from_secs(l.idle_timeout_secs),
        control_frames_per_sec: l.http2_control_frames_per_sec,
        state: state.clone(),
    });
    tokio::pin!(shutdown);
    loop {
        let accepted = tokio::select! {
            biased;
            () = &mut shutdown => break,
            r = listener.accept() => r,
        };
        let (tcp, peer) = match accepted {
            Ok(a) => a,
            Err(e) => {
                tracing::warn!(error = %e, "accepting a connection failed");
                tokio::time::sleep(ACCEPT_ERROR_PAUSE).await;
                continue;
            }
        };
        match shared.limits.admit(peer.ip()) {
            Ok(admission) => {
                tokio::spawn(connection(Arc::clone(&shared), tcp, peer, admission));
            }
            Err(why) => {
                let m = &state.metrics;
                inc(match why {
                    Refused::PerIp => &m.connections_refused_per_ip,
                    Refused::Full => &m.connections_refused_full,
                });
                // Closed unread: nothing of it was read or allocated.
                drop(tcp);
            }
        }
    }
    drop(listener);
    shared.closing.cancel();
    if tokio::time::timeout(drain, shared.limits.closed())
        .await
        .is_err()
    {
        tracing::warn!(
            open = shared.limits.live(),
            "connections still open after the drain period: closing them"
        );
    }
}

/// One connection, from admission to close.
async fn connection(shared: Arc<Shared>, tcp: TcpStream, peer: SocketAddr, admission: Admission) {
    let m = &shared.state.metrics;
    let ticket = match admission {
        Admission::Now(t) => t,
        Admission::Wait(w) => {
            tokio::select! {
                t = w.ready() => t,
                () = tokio::time::sleep(shared.handshake_timeout) => {
                    inc(&m.connections_refused_full);
                    return;
                }
                () = shared.closing.cancelled() => return,
            }
        }
    };
    let conn = Arc::clone(ticket.conn());
    let _open = GaugeGuard::new(&m.connections_open);
    let _ = tcp.set_nodelay(true);
    let tls = tokio::select! {
        r = tokio::time::timeout(shared.handshake_timeout, shared.tls.accept(tcp)) => match r {
            Ok(Ok(s)) => s,
            Ok(Err(_)) | Err(_) => {
                inc(&m.connections_handshake_failed);
                return;
            }
        },
        () = conn.evicted() => {
            inc(&m.connections_evicted);
            return;
        }
        () = shared.closing.cancelled() => return,
    };
    let flood_state = shared.state.clone();
    let io = ControlFrameLimit::new(tls, shared.control_frames_per_sec, move || {
        inc(&flood_state.metrics.connections_control_frames);
        tracing::debug!("closing an HTTP/2 connection that sent too many PING/SETTINGS frames");
    });
    let service = {
        let router = shared.router.clone();
        let conn = Arc::clone(&conn);
        hyper::service::service_fn(move |mut req: Request<Incoming>| {
            req.extensions_mut().insert(ConnectInfo(peer));
            let busy = conn.begin_request();
            let router = router.clone();
            async move {
                let resp = match router.oneshot(req.map(Body::new)).await {
                    Ok(r) => r,
                    Err(never) => match never {},
                };
                Ok::<_, Infallible>(resp.map(|inner| Tracked { inner, _busy: busy }))
            }
        })
    };
    let http = shared.http.serve_connection(TokioIo::new(io), service);
    tokio::pin!(http);
    // Set once the connection was asked to close: drop it then.
    let mut give_up: Option<Instant> = None;
    let mut draining = false;
    loop {
        let idle_check = match conn.idle_for() {
            Some(idle) => Instant::now() + shared.idle_timeout.saturating_sub(idle),
            None => Instant::now() + shared.idle_timeout,
        };
        let asked = give_up.is_some() || draining;
        tokio::select! {
            _ = &mut http => break,
            () = shared.closing.cancelled(), if !asked => {
                // The server's drain period bounds this one.
                http.as_mut().graceful_shutdown();
                draining = true;
            }
            () = conn.evicted(), if !asked => {
                inc(&m.connections_evicted);
                http.as_mut().graceful_shutdown();
                give_up = Some(Instant::now() + CLOSE_GRACE);
            }
            () = tokio::time::sleep_until(idle_check), if !asked => {
                if conn.idle_for().is_some_and(|d| d >= shared.idle_timeout) {
                    conn.closing();
                    inc(&m.connections_closed_idle);
                    http.as_mut().graceful_shutdown();
                    give_up = Some(Instant::now() + CLOSE_GRACE);
                }
            }
            () = sleep_until_opt(give_up), if give_up.is_some() => {
                // A request that slipped in as it was asked to close may
                // finish (hyper closes after it); anything else is dropped.
                if conn.idle_for().is_some() {
                    break;
                }
                give_up = Some(Instant::now() + CLOSE_GRACE);
            }
        }
    }
    drop(ticket);
}

async fn sleep_until_opt(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

/// A response body that keeps its request counted as in flight until it
/// has been sent (or dropped).
struct Tracked {
    inner: Body,
    _busy: InFlight,
}

impl HttpBody for Tracked {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        Pin::new(&mut self.get_mut().inner).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
