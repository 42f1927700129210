//! The store under load from strangers and link holders (issue 11, items
//! 7–10), against a real `sealcam-store` on loopback, with small limits
//! and timeouts set in its TOML configuration so each case takes seconds:
//!
//! - connections: one client address holds at most its share
//!   (`limits.max_connections_per_ip`); a full store closes its
//!   longest-idle connection for a newcomer; the sockets a TCP flood gets
//!   the store to hold are bounded; request headers must arrive within
//!   `limits.header_timeout_secs`; idle keep-alive connections (HTTP/1.1
//!   and HTTP/2) are closed after `limits.idle_timeout_secs`;
//! - uploads: a trickling body is cut once it falls below
//!   `limits.body_min_bytes_per_sec` over a window, and a device or link
//!   holds at most `limits.upload_buffers_per_principal` upload buffers, so
//!   other callers still get one;
//! - audit: a flood of failed authentications adds a bounded number of
//!   entries whose counts still add up to every failure, in an intact
//!   chain;
//! - HTTP/2: a PING or SETTINGS flood closes the connection.
//!
//! Source addresses: the whole of 127.0.0.0/8 reaches loopback on Linux,
//! so "other clients" connect from 127.0.0.2, 127.0.0.3, …
//!
//! Nothing here prints tokens, keys or envelope bytes.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::atomic::AtomicUsize;
use std::sync::Arc;
use std::time::{Duration, Instant};

use sealcam_core::keys::DeviceSigningKey;
use sealcam_test_support::store::{
    audit_command, jpeg_of_len, tiny_jpeg, Auth, StoreProcess, World,
};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};
use tokio_rustls::client::TlsStream;
use tokio_rustls::rustls;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, ServerName};

/// Rate limits out of the way.
const NO_RATE_LIMITS: &str = "
[rate_limit]
ip_per_minute = 100000
ip_burst = 100000
link_per_minute = 100000
link_burst = 100000
";

fn store_with(limits: &str) -> StoreProcess {
    StoreProcess::start_with_config(&format!("{NO_RATE_LIMITS}\n[limits]\n{limits}\n"))
}

fn addr(store: &StoreProcess) -> SocketAddr {
    store
        .url
        .strip_prefix("https://")
        .expect("https url")
        .parse()
        .expect("socket address")
}

/// 127.0.0.`n`.
fn lo(n: u8) -> Ipv4Addr {
    Ipv4Addr::new(127, 0, 0, n)
}

/// A TCP connection to the store from `src`.
async fn tcp_from(src: Ipv4Addr, to: SocketAddr) -> std::io::Result<TcpStream> {
    let s = TcpSocket::new_v4()?;
    s.bind(SocketAddr::from((src, 0)))?;
    s.connect(to).await
}

fn tls_config(store: &StoreProcess, alpn: &[&[u8]]) -> Arc<rustls::ClientConfig> {
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(&store.cert_pem()) {
        roots.add(cert.expect("cert.pem")).expect("trust the store");
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut c = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("protocol versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    c.alpn_protocols = alpn.iter().map(|a| a.to_vec()).collect();
    Arc::new(c)
}

/// A TLS connection from `src` offering `alpn`, within `within`.
async fn tls_from(
    store: &StoreProcess,
    src: Ipv4Addr,
    alpn: &[&[u8]],
    within: Duration,
) -> std::io::Result<TlsStream<TcpStream>> {
    let connector = tokio_rustls::TlsConnector::from(tls_config(store, alpn));
    let name = ServerName::try_from("127.0.0.1").expect("server name");
    tokio::time::timeout(within, async {
        let tcp = tcp_from(src, addr(store)).await?;
        connector.connect(name, tcp).await
    })
    .await
    .unwrap_or_else(|_| Err(std::io::Error::other("handshake timed out")))
}

/// Reads (and discards) until the peer closes; how long that took, or
/// `None` when it was still open after `within`.
async fn closed_within<S: tokio::io::AsyncRead + Unpin>(
    s: &mut S,
    within: Duration,
) -> Option<Duration> {
    let started = Instant::now();
    let mut buf = vec![0u8; 16 * 1024];
    let r = tokio::time::timeout(within, async {
        loop {
            match s.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
    })
    .await;
    r.ok().map(|()| started.elapsed())
}

/// A well-behaved client from 127.0.0.`n`: `GET /healthz`, or the error.
async fn healthz_from(store: &StoreProcess, n: u8, within: Duration) -> Result<u16, String> {
    let http = reqwest::Client::builder()
        .use_rustls_tls()
        .tls_built_in_root_certs(false)
        .add_root_certificate(reqwest::Certificate::from_pem(&store.cert_pem()).expect("pem"))
        .local_address(IpAddr::V4(lo(n)))
        .timeout(within)
        .build()
        .expect("client");
    http.get(format!("{}/healthz", store.url))
        .send()
        .await
        .map(|r| r.status().as_u16())
        .map_err(|e| format!("{e}"))
}

/// Sockets the store process holds (its listener included).
fn store_sockets(store: &StoreProcess) -> usize {
    let dir = format!("/proc/{}/fd", store.pid());
    std::fs::read_dir(dir)
        .expect("/proc/PID/fd")
        .flatten()
        .filter(|e| {
            std::fs::read_link(e.path()).is_ok_and(|t| t.to_string_lossy().starts_with("socket:"))
        })
        .count()
}

// ---------------------------------------------------------------------------
// Item 7: connections

/// One client address opens 16 TLS connections to a store that serves 16:
/// only `max_connections_per_ip` (4) are let in, and another client is
/// served at once.
#[tokio::test(flavor = "multi_thread")]
async fn one_address_cannot_hold_every_connection() {
    let store = store_with("max_connections = 16\nmax_connections_per_ip = 4");
    let mut held = Vec::new();
    let mut refused = 0;
    for _ in 0..16 {
        match tls_from(&store, lo(2), &[b"http/1.1"], Duration::from_secs(5)).await {
            Ok(s) => held.push(s),
            Err(_) => refused += 1,
        }
    }
    assert_eq!(
        (held.len(), refused),
        (4, 12),
        "one address gets its share of connections and no more"
    );
    let r = healthz_from(&store, 3, Duration::from_secs(5)).await;
    assert_eq!(r, Ok(200), "another client is served");
    drop(held);
}

/// A store full of idle connections (8 addresses, one each, TLS done,
/// no request) closes the longest-idle one for a newcomer, which is
/// served at once — not after the idle timeout (60 s by default).
#[tokio::test(flavor = "multi_thread")]
async fn a_full_store_makes_room_by_closing_an_idle_connection() {
    let store = store_with("max_connections = 8\nmax_connections_per_ip = 8");
    let mut held = Vec::new();
    for n in 10..18 {
        let s = tls_from(&store, lo(n), &[b"http/1.1"], Duration::from_secs(5))
            .await
            .expect("a free slot");
        held.push(s);
    }
    let started = Instant::now();
    let r = healthz_from(&store, 3, Duration::from_secs(5)).await;
    assert_eq!(r, Ok(200), "a newcomer is served while the store is full");
    assert!(started.elapsed() < Duration::from_secs(4));
    // One of the idle ones was closed to make room.
    let mut closed = 0;
    for s in &mut held {
        if closed_within(s, Duration::from_millis(200)).await.is_some() {
            closed += 1;
        }
    }
    assert!(closed >= 1, "no idle connection was closed");
}

/// 300 plain TCP connections that never start TLS (a store that serves
/// 16): the store holds a bounded number of sockets (16 served + 16
/// waiting), and a well-behaved client is served within seconds.
#[tokio::test(flavor = "multi_thread")]
async fn a_plain_tcp_flood_holds_a_bounded_number_of_sockets() {
    let store = store_with(
        "max_connections = 16\nmax_connections_per_ip = 1000\nhandshake_timeout_secs = 3",
    );
    // Let start-up settle, then count the store's sockets.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let baseline = store_sockets(&store);
    let mut flood = Vec::new();
    for _ in 0..300 {
        if let Ok(s) = tcp_from(lo(2), addr(&store)).await {
            flood.push(s);
        }
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let held = store_sockets(&store).saturating_sub(baseline);
    assert!(
        held <= 16 + 16 + 2,
        "the store holds {held} sockets for a flood of 300 (16 served + 16 waiting)"
    );
    let started = Instant::now();
    let r = healthz_from(&store, 3, Duration::from_secs(8)).await;
    assert_eq!(r, Ok(200), "a client is served during the flood");
    assert!(
        started.elapsed() < Duration::from_secs(6),
        "served after {:?}",
        started.elapsed()
    );
    drop(flood);
}

/// Request headers sent one byte every 500 ms, on 8 connections from 8
/// addresses (a store that serves 8): each is closed once
/// `header_timeout_secs` (2 s) have passed, and a client is served.
#[tokio::test(flavor = "multi_thread")]
async fn slow_request_headers_are_cut() {
    let store =
        store_with("max_connections = 8\nmax_connections_per_ip = 8\nheader_timeout_secs = 2");
    let started = Instant::now();
    let mut tasks = Vec::new();
    for n in 20..28 {
        let mut s = tls_from(&store, lo(n), &[b"http/1.1"], Duration::from_secs(5))
            .await
            .expect("a free slot");
        tasks.push(tokio::spawn(async move {
            let _ = s.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n").await;
            let opened = Instant::now();
            // One header byte every 500 ms, for up to 20 s.
            for _ in 0..40 {
                if s.write_all(b"X").await.is_err() || s.flush().await.is_err() {
                    break;
                }
                if closed_within(&mut s, Duration::from_millis(500))
                    .await
                    .is_some()
                {
                    return Some(opened.elapsed());
                }
            }
            closed_within(&mut s, Duration::from_millis(100))
                .await
                .map(|_| opened.elapsed())
        }));
    }
    let r = healthz_from(&store, 3, Duration::from_secs(8)).await;
    assert_eq!(r, Ok(200), "a client is served while headers trickle");
    for t in tasks {
        let closed = t.await.expect("task");
        assert!(
            closed.is_some_and(|d| d < Duration::from_secs(6)),
            "a trickling request head was still open after {:?} (closed: {closed:?})",
            started.elapsed()
        );
    }
}

/// An HTTP/1.1 keep-alive connection that made one request, and an HTTP/2
/// connection that made none, are closed once idle for about
/// `idle_timeout_secs` (2 s; HTTP/2 with GOAWAY).
#[tokio::test(flavor = "multi_thread")]
async fn idle_keep_alive_connections_are_closed() {
    let store = store_with("idle_timeout_secs = 2\nheader_timeout_secs = 2");
    // HTTP/1.1: one request, then nothing.
    let mut h1 = tls_from(&store, lo(2), &[b"http/1.1"], Duration::from_secs(5))
        .await
        .expect("tls");
    h1.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .expect("request");
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    while !got.ends_with(b"ok") {
        let n = tokio::time::timeout(Duration::from_secs(5), h1.read(&mut buf))
            .await
            .expect("an answer")
            .expect("read");
        assert!(n > 0, "closed before answering");
        got.extend_from_slice(&buf[..n]);
    }
    assert!(got.starts_with(b"HTTP/1.1 200"), "answered 200");
    let idle = closed_within(&mut h1, Duration::from_secs(10)).await;
    assert!(
        idle.is_some_and(|d| d < Duration::from_secs(5)),
        "an idle HTTP/1.1 keep-alive connection stayed open ({idle:?})"
    );

    // HTTP/2: the preface and SETTINGS, then nothing.
    let mut h2 = tls_from(&store, lo(2), &[b"h2"], Duration::from_secs(5))
        .await
        .expect("tls");
    assert_eq!(h2.get_ref().1.alpn_protocol(), Some(&b"h2"[..]));
    h2.write_all(&h2_preface_and_settings())
        .await
        .expect("preface");
    let started = Instant::now();
    let mut frames = FrameReader::default();
    let mut goaway = false;
    let closed = tokio::time::timeout(Duration::from_secs(12), async {
        loop {
            let n = match h2.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => n,
            };
            for (kind, _flags) in frames.push(&buf[..n]) {
                goaway |= kind == GOAWAY;
            }
        }
    })
    .await;
    assert!(
        closed.is_ok(),
        "an idle HTTP/2 connection stayed open for {:?}",
        started.elapsed()
    );
    assert!(goaway, "an idle HTTP/2 connection is told GOAWAY");
    assert!(
        started.elapsed() >= Duration::from_millis(1500),
        "not before the idle timeout"
    );
}

// ---------------------------------------------------------------------------
// Item 8: uploads

/// A long envelope upload sent one byte every `pause`, through `auth` to
/// `path`.
fn trickle(
    w: &World,
    auth: Auth,
    path: String,
    bytes: Vec<u8>,
    pause: Duration,
) -> tokio::task::JoinHandle<Result<(u16, String), String>> {
    let client = w.client.clone();
    tokio::spawn(async move {
        client
            .send_streamed(
                &auth,
                "PUT",
                &path,
                bytes,
                1,
                pause,
                Arc::new(AtomicUsize::new(0)),
                false,
            )
            .await
            .map(|r| (r.status, r.error_code()))
            .map_err(|e| format!("{e}"))
    })
}

/// Four uploads trickling one byte a second (a pace the 30 s idle timeout
/// never sees) hold every buffer of a 4-buffer pool; with a floor of
/// 4 KiB/s over 2 s windows they are cut (`408 upload_too_slow`) within
/// seconds and another device's upload goes through.
#[tokio::test(flavor = "multi_thread")]
async fn trickling_uploads_are_cut_below_the_minimum_rate() {
    let store = store_with(
        "upload_buffer_mib = 1\nupload_idle_timeout_secs = 30\nupload_buffers_per_principal = 4\n\
         body_min_bytes_per_sec = 4096\nbody_rate_window_secs = 2",
    );
    let w = World::new(&store, 1, 2).await;
    let rcpt = w.recipients();
    let (d0, d1) = (&w.devices[0], &w.devices[1]);
    let started = Instant::now();
    let mut trickles = Vec::new();
    for _ in 0..4 {
        let e = d0.seal_image(&jpeg_of_len(50_000), &rcpt);
        trickles.push(trickle(
            &w,
            d0.auth(),
            format!("/v1/envelopes/{}", e.id),
            e.bytes,
            Duration::from_secs(1),
        ));
    }
    // Let them take their buffers.
    tokio::time::sleep(Duration::from_millis(700)).await;
    let e = d1.seal_image(&tiny_jpeg(), &rcpt);
    let r = w.upload(d1, &e).await;
    assert_eq!(
        (r.status, r.error_code()),
        (201, String::new()),
        "another device's upload while the trickles hold the pool"
    );
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "accepted after {:?}",
        started.elapsed()
    );
    let mut cut = 0;
    for t in trickles {
        // The store may also answer and close while the client still
        // sends (a transport error on this side).
        if let Ok(answer) = t.await.expect("task") {
            assert_eq!(answer, (408, "(upload_too_slow)".to_string()));
            cut += 1;
        }
    }
    assert!(cut >= 1, "no trickle was answered 408 upload_too_slow");
    assert!(
        started.elapsed() < Duration::from_secs(12),
        "the trickles were cut after {:?}",
        started.elapsed()
    );
}

/// With `upload_buffers_per_principal = 1`, a device and a link trickling
/// three uploads each (no rate floor) hold one buffer each of a 4-buffer
/// pool: another device's upload goes through at once.
#[tokio::test(flavor = "multi_thread")]
async fn a_principal_holds_at_most_its_share_of_upload_buffers() {
    let store = store_with(
        "upload_buffer_mib = 1\nupload_idle_timeout_secs = 30\nupload_buffers_per_principal = 1\n\
         body_min_bytes_per_sec = 0",
    );
    let w = World::new(&store, 1, 2).await;
    let rcpt = w.recipients();
    let (d0, d1) = (&w.devices[0], &w.devices[1]);
    let (_, token) = w
        .create_link(
            &w.device_actor(0),
            sealcam_core::protocol::api::CreateLink {
                capability: None,
                context: None,
                expires_in_secs: None,
                max_bytes: None,
                max_uploads: Some(10),
            },
        )
        .await;
    let mut trickles = Vec::new();
    for _ in 0..3 {
        let e = d0.seal_image(&jpeg_of_len(50_000), &rcpt);
        trickles.push(trickle(
            &w,
            d0.auth(),
            format!("/v1/envelopes/{}", e.id),
            e.bytes,
            Duration::from_millis(500),
        ));
        let e = sealcam_test_support::store::seal_unsigned(&rcpt);
        trickles.push(trickle(
            &w,
            Auth::Link(token.clone()),
            format!("/v1/link/envelopes/{}", e.id),
            e.bytes,
            Duration::from_millis(500),
        ));
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let started = Instant::now();
    let e = d1.seal_image(&tiny_jpeg(), &rcpt);
    let r = w.upload(d1, &e).await;
    assert_eq!(
        (r.status, r.error_code()),
        (201, String::new()),
        "another device's upload while a device and a link trickle"
    );
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "accepted after {:?}",
        started.elapsed()
    );
    for t in trickles {
        t.abort();
    }
}

// ---------------------------------------------------------------------------
// Item 9: audit

fn audit_lines(text: &str) -> Vec<Value> {
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).expect("audit line is JSON"))
        .collect()
}

/// How many failures an `auth.failure` / `auth.failure.suppressed` entry
/// stands for (1, or its `count`).
fn failures_in(entry: &Value) -> u64 {
    let detail: Value = entry["detail"]
        .as_str()
        .and_then(|d| serde_json::from_str(d).ok())
        .unwrap_or(Value::Null);
    detail["count"].as_u64().unwrap_or(1)
}

fn is_failure_entry(e: &Value) -> bool {
    matches!(
        e["action"].as_str(),
        Some("auth.failure" | "auth.failure.suppressed")
    )
}

/// 600 failed authentications in a few seconds (200 by one unknown device
/// key, 200 by fresh keys each time, 200 anonymous): at most
/// 2 × 10 + 1 entries per 2 s interval, whose counts add up to 600; the
/// metric counts all 600; the chain verifies.
#[tokio::test(flavor = "multi_thread")]
async fn failed_authentication_floods_are_aggregated_in_the_audit_log() {
    let mut store = StoreProcess::start_with_config(&format!(
        "{NO_RATE_LIMITS}\n[audit]\nauth_failure_interval_secs = 2\nauth_failure_entries_per_interval = 10\n"
    ));
    let w = World::new(&store, 1, 1).await;
    let before = audit_lines(
        &w.admin()
            .get("/v1/audit?limit=10000")
            .await
            .expect(200, "audit")
            .text(),
    );
    assert!(
        !before.iter().any(is_failure_entry),
        "no failures in the set-up"
    );
    let metric = |text: &str| -> u64 {
        text.lines()
            .find_map(|l| l.strip_prefix("sealcam_auth_failures_total "))
            .and_then(|v| v.trim().parse().ok())
            .expect("sealcam_auth_failures_total")
    };
    let failures_before = metric(&w.client.anonymous().get("/metrics").await.text());

    let fixed = Arc::new(DeviceSigningKey::generate());
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..600 {
        let auth = match i % 3 {
            0 => Auth::Device(Arc::clone(&fixed)),
            1 => Auth::Device(Arc::new(DeviceSigningKey::generate())),
            _ => Auth::Anonymous,
        };
        let actor = w.as_(auth);
        tasks.spawn(async move { actor.get("/v1/inbox").await.status });
        while tasks.len() >= 16 {
            assert_eq!(tasks.join_next().await.expect("task").expect("join"), 401);
        }
    }
    while let Some(s) = tasks.join_next().await {
        assert_eq!(s.expect("join"), 401);
    }
    let took = started.elapsed();
    let failures = metric(&w.client.anonymous().get("/metrics").await.text()) - failures_before;
    assert_eq!(failures, 600, "the metric counts every failure");

    // Stop the store (the last interval's counts are written on the way
    // out), then read and verify the log offline.
    store.terminate();
    let status = store.wait_exit(Duration::from_secs(40));
    assert!(status.is_some_and(|s| s.success()), "exit 0: {status:?}");
    let verify = audit_command("verify", store.data_dir());
    assert!(
        verify.status.success(),
        "audit verify: {}",
        String::from_utf8_lossy(&verify.stdout)
    );
    let export = audit_command("export", store.data_dir());
    assert!(export.status.success(), "audit export");
    let entries: Vec<Value> = audit_lines(&String::from_utf8_lossy(&export.stdout))
        .into_iter()
        .filter(is_failure_entry)
        .collect();
    let counted: u64 = entries.iter().map(failures_in).sum();
    assert_eq!(counted, 600, "the entries' counts add up to the failures");
    let intervals = took.as_secs() / 2 + 2;
    assert!(
        entries.len() as u64 <= intervals * 21,
        "{} entries for 600 failures in {took:?}",
        entries.len()
    );
    // The fixed key's repeats are in a count, not in 200 rows.
    let fixed_actor = format!("device:{}", fixed.public().id());
    let fixed_rows = entries
        .iter()
        .filter(|e| e["actor"] == fixed_actor.as_str())
        .count() as u64;
    assert!(fixed_rows <= 2 * intervals, "{fixed_rows} rows for one key");
}

// ---------------------------------------------------------------------------
// Item 10: HTTP/2 control frames

const SETTINGS: u8 = 0x4;
const PING: u8 = 0x6;
const GOAWAY: u8 = 0x7;

fn frame(kind: u8, flags: u8, payload: &[u8]) -> Vec<u8> {
    let len = u32::try_from(payload.len()).expect("small");
    let mut f = len.to_be_bytes()[1..].to_vec();
    f.extend_from_slice(&[kind, flags, 0, 0, 0, 0]);
    f.extend_from_slice(payload);
    f
}

fn h2_preface_and_settings() -> Vec<u8> {
    let mut v = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".to_vec();
    v.extend(frame(SETTINGS, 0, &[]));
    v
}

/// Splits a byte stream into (type, flags) of its frames.
#[derive(Default)]
struct FrameReader {
    buf: Vec<u8>,
}

impl FrameReader {
    fn push(&mut self, bytes: &[u8]) -> Vec<(u8, u8)> {
        self.buf.extend_from_slice(bytes);
        let mut out = Vec::new();
        loop {
            if self.buf.len() < 9 {
                return out;
            }
            let len = u32::from_be_bytes([0, self.buf[0], self.buf[1], self.buf[2]]) as usize;
            if self.buf.len() < 9 + len {
                return out;
            }
            out.push((self.buf[3], self.buf[4]));
            self.buf.drain(..9 + len);
        }
    }
}

/// Sends the preface, then `frames` copies of `flood`; counts the ACKs of
/// that kind the store sends and whether it closed the connection (within
/// 15 s).
async fn flood(store: &StoreProcess, kind: u8, payload: &[u8], frames: usize) -> (usize, bool) {
    let s = tls_from(store, lo(2), &[b"h2"], Duration::from_secs(5))
        .await
        .expect("tls");
    assert_eq!(s.get_ref().1.alpn_protocol(), Some(&b"h2"[..]));
    let (mut rd, mut wr) = tokio::io::split(s);
    let mut out = h2_preface_and_settings();
    for _ in 0..frames {
        out.extend(frame(kind, 0, payload));
    }
    let writer = tokio::spawn(async move {
        let _ = wr.write_all(&out).await;
        let _ = wr.flush().await;
        // Keep the connection open from this side.
        tokio::time::sleep(Duration::from_secs(30)).await;
        drop(wr);
    });
    let mut frames_in = FrameReader::default();
    let mut acks = 0;
    let mut buf = vec![0u8; 64 * 1024];
    let closed = tokio::time::timeout(Duration::from_secs(15), async {
        loop {
            let n = match rd.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => n,
            };
            for (k, flags) in frames_in.push(&buf[..n]) {
                if k == kind && flags & 1 == 1 {
                    acks += 1;
                }
            }
            if acks > frames {
                return;
            }
        }
    })
    .await
    .is_ok();
    writer.abort();
    // Closed means by the store, not because every frame was answered.
    (acks, closed && acks < frames)
}

/// 5000 PINGs, or 5000 SETTINGS, on one HTTP/2 connection, to a store
/// allowing 5 a second (bursts of 50): the store answers about 50 and
/// closes the connection.
#[tokio::test(flavor = "multi_thread")]
async fn http2_ping_and_settings_floods_close_the_connection() {
    let store = store_with("http2_control_frames_per_sec = 5");
    let (acks, closed) = flood(&store, PING, &[1, 2, 3, 4, 5, 6, 7, 8], 5000).await;
    assert!(
        closed,
        "a PING flood: the connection stayed open ({acks} answered)"
    );
    assert!(acks <= 60, "a PING flood: {acks} PINGs answered");
    let (acks, closed) = flood(&store, SETTINGS, &[], 5000).await;
    assert!(
        closed,
        "a SETTINGS flood: the connection stayed open ({acks} answered)"
    );
    // The client's first SETTINGS is acknowledged too.
    assert!(acks <= 61, "a SETTINGS flood: {acks} SETTINGS answered");
    // Other connections are served.
    assert_eq!(
        healthz_from(&store, 3, Duration::from_secs(5)).await,
        Ok(200)
    );
}
