//! Driving a real `sealcam-store` process from tests (docs/STORE-CONTRACT.md).
//!
//! - [`StoreProcess`]: spawns `sealcam-store serve --data <tempdir> --listen
//!   127.0.0.1:0 [--config FILE]`, parses the lines the contract promises on
//!   stdout (`url:`, `tls-pin:`, `store-key:`, `bootstrap-code:`, `ready`),
//!   and can SIGKILL, SIGTERM and restart it on the same data dir. Dropping
//!   it kills the process.
//! - [`Client`]: an HTTPS client (reqwest, rustls with ring) that trusts
//!   exactly the store's certificate (`DATA/tls/cert.pem`), and signs each
//!   request for a role with `sealcam_core::protocol::request`, or sends a
//!   patient link token.
//! - Flows: [`World::new`] bootstraps a store, adds staff, publishes the
//!   directory and enrols and activates devices, the way an administrator
//!   would; envelopes are sealed with `sealcam_core::envelope::seal` over a
//!   tiny real JPEG ([`crate::fixtures`]).
//!
//! The binary: [`crate::binaries::store`].
//!
//! Nothing here prints keys, tokens, codes or envelope bytes: helpers that
//! fail say what they did and the status they got.

pub use crate::fixtures::{jpeg_of_len, record_for, tiny_jpeg, TestRng};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use sealcam_core::envelope::{self, EnvelopeId, Sealed, Signer};
use sealcam_core::keys::{
    DeviceCertificate, DevicePublicKey, DeviceSigningKey, DirectoryEntry, OrgSigningKey, Recipient,
    RecipientDirectory, RecipientIdentity, StaffSigningKey, StoreId, StorePublicKey,
};
use sealcam_core::protocol::api::{
    AddStaff, BootstrapRequest, CodeInput, CreateEnrolment, CreateLink, DeviceCertified,
    DeviceState, EnrolRequest, Enrolled, EnrolmentCreated, ErrorBody, InboxEntry, LinkCreated,
    StaffAdded, StaffName,
};
use sealcam_core::protocol::enrolment::OneTimeCode;
use sealcam_core::protocol::request::{self, RequestSigner, RequestTarget};
use sealcam_core::protocol::Receipt;
use sealcam_core::record::Clinician;
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// How long a store may take to print `ready`.
pub const START_TIMEOUT: Duration = Duration::from_secs(60);

// ---------------------------------------------------------------------------
// The binary

/// The `sealcam-store` binary under test ([`crate::binaries`]).
pub fn store_bin() -> PathBuf {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(crate::binaries::store).clone()
}

// ---------------------------------------------------------------------------
// The process

/// A running `sealcam-store serve`.
pub struct StoreProcess {
    child: Option<Child>,
    /// Keeps the temporary data dir alive (None when the caller owns it).
    _tmp: Option<tempfile::TempDir>,
    data: PathBuf,
    config: Option<PathBuf>,
    /// `https://127.0.0.1:PORT` as printed.
    pub url: String,
    /// `sha256/…` as printed.
    pub tls_pin: String,
    /// The store's receipt key, as printed.
    pub store_key: StorePublicKey,
    /// The bootstrap code, while the store is not bootstrapped.
    pub bootstrap_code: Option<String>,
    /// Every stdout line so far (the reader thread appends).
    stdout: Arc<Mutex<Vec<String>>>,
    stderr: Arc<Mutex<Vec<u8>>>,
}

impl StoreProcess {
    /// A store on a fresh temporary data dir, default configuration.
    pub fn start() -> StoreProcess {
        Self::start_with(None)
    }

    /// A store on a fresh temporary data dir with this TOML configuration
    /// (written to `config.toml` beside the data dir).
    pub fn start_with_config(toml: &str) -> StoreProcess {
        Self::start_with(Some(toml))
    }

    fn start_with(toml: Option<&str>) -> StoreProcess {
        let tmp = tempfile::tempdir().expect("tempdir");
        let data = tmp.path().join("data");
        let config = toml.map(|t| {
            let p = tmp.path().join("config.toml");
            std::fs::write(&p, t).expect("write config");
            p
        });
        let mut s = Self::spawn(data, config);
        s._tmp = Some(tmp);
        s
    }

    /// A store on `data` (created by the store if missing).
    pub fn start_in(data: &Path, config: Option<&Path>) -> StoreProcess {
        Self::spawn(data.to_path_buf(), config.map(Path::to_path_buf))
    }

    fn spawn(data: PathBuf, config: Option<PathBuf>) -> StoreProcess {
        let mut cmd = Command::new(store_bin());
        cmd.arg("serve")
            .arg("--data")
            .arg(&data)
            .args(["--listen", "127.0.0.1:0"]);
        if let Some(c) = &config {
            cmd.arg("--config").arg(c);
        }
        cmd.stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().expect("cannot start sealcam-store");

        let stderr = Arc::new(Mutex::new(Vec::new()));
        {
            let mut pipe = child.stderr.take().expect("stderr pipe");
            let sink = Arc::clone(&stderr);
            std::thread::spawn(move || {
                let mut buf = [0u8; 8192];
                loop {
                    match pipe.read(&mut buf) {
                        Ok(0) | Err(_) => break,
                        Ok(n) => lock(&sink).extend_from_slice(&buf[..n]),
                    }
                }
            });
        }
        let stdout = Arc::new(Mutex::new(Vec::new()));
        let (tx, rx) = mpsc::channel::<String>();
        {
            let pipe = child.stdout.take().expect("stdout pipe");
            let sink = Arc::clone(&stdout);
            std::thread::spawn(move || {
                for line in BufReader::new(pipe).lines() {
                    let Ok(line) = line else { break };
                    lock(&sink).push(line.clone());
                    let _ = tx.send(line);
                }
            });
        }

        let deadline = Instant::now() + START_TIMEOUT;
        let mut url = None;
        let mut pin = None;
        let mut key = None;
        let mut code = None;
        let mut ready = false;
        let mut failure = None;
        while !ready {
            let left = deadline.saturating_duration_since(Instant::now());
            match rx.recv_timeout(left) {
                Ok(line) => {
                    let line = line.trim_end();
                    if let Some(v) = line.strip_prefix("url: ") {
                        url = Some(v.trim().to_string());
                    } else if let Some(v) = line.strip_prefix("tls-pin: ") {
                        pin = Some(v.trim().to_string());
                    } else if let Some(v) = line.strip_prefix("store-key: ") {
                        key = Some(v.trim().to_string());
                    } else if let Some(v) = line.strip_prefix("bootstrap-code: ") {
                        code = Some(v.trim().to_string());
                    } else if line == "ready" {
                        ready = true;
                    }
                }
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    failure = Some(format!(
                        "no `ready` line within {}s",
                        START_TIMEOUT.as_secs()
                    ));
                    break;
                }
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    failure = Some("stdout closed before `ready`".to_string());
                    break;
                }
            }
        }
        let fail = |why: &str, child: &mut Child| -> ! {
            let _ = child.kill();
            let status = child.wait().ok();
            // Give the reader threads a moment to drain the pipes.
            std::thread::sleep(Duration::from_millis(100));
            panic!(
                "sealcam-store did not start: {why} (exit: {status:?})\n--- stdout ---\n{}\n--- stderr ---\n{}",
                lock(&stdout).join("\n"),
                String::from_utf8_lossy(&lock(&stderr))
            );
        };
        if let Some(why) = failure {
            fail(&why, &mut child);
        }
        let Some(url) = url else {
            fail("no `url:` line before `ready`", &mut child)
        };
        let Some(tls_pin) = pin else {
            fail("no `tls-pin:` line before `ready`", &mut child)
        };
        let Some(key) = key else {
            fail("no `store-key:` line before `ready`", &mut child)
        };
        let store_key = match key.parse::<StorePublicKey>() {
            Ok(k) => k,
            Err(e) => fail(&format!("`store-key:` is not a store key: {e}"), &mut child),
        };
        if !url.starts_with("https://127.0.0.1:") || url.ends_with(":0") {
            fail("`url:` is not https://127.0.0.1:<real port>", &mut child);
        }
        if !tls_pin.starts_with("sha256/") {
            fail("`tls-pin:` does not start with sha256/", &mut child);
        }
        StoreProcess {
            child: Some(child),
            _tmp: None,
            data,
            config,
            url,
            tls_pin,
            store_key,
            bootstrap_code: code,
            stdout,
            stderr,
        }
    }

    /// The data dir.
    pub fn data_dir(&self) -> &Path {
        &self.data
    }

    /// The process id (panics when it was stopped).
    pub fn pid(&self) -> u32 {
        self.child.as_ref().expect("store not running").id()
    }

    /// Everything the store wrote to stderr so far.
    pub fn stderr_text(&self) -> String {
        String::from_utf8_lossy(&lock(&self.stderr)).into_owned()
    }

    /// Every line the store wrote to stdout so far.
    pub fn stdout_lines(&self) -> Vec<String> {
        lock(&self.stdout).clone()
    }

    /// SIGKILL (no chance to clean up) and reap.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Sends SIGTERM (the process keeps running until it exits by itself;
    /// see [`StoreProcess::wait_exit`]).
    pub fn terminate(&mut self) {
        let pid = self.pid();
        let status = Command::new("kill")
            .args(["-TERM", &pid.to_string()])
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -TERM {pid} failed");
    }

    /// Waits up to `timeout` for the process to exit; `None` if it did not.
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + timeout;
        let child = self.child.as_mut()?;
        loop {
            if let Some(status) = child.try_wait().expect("try_wait") {
                self.child = None;
                return Some(status);
            }
            if Instant::now() >= deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Kills the process (if running) and starts a new one on the same data
    /// dir and configuration. The URL changes (a new port).
    pub fn restart(&mut self) {
        self.kill();
        let tmp = self._tmp.take();
        let mut fresh = Self::spawn(self.data.clone(), self.config.clone());
        fresh._tmp = tmp;
        *self = fresh;
    }

    /// The store's certificate (`DATA/tls/cert.pem`).
    pub fn cert_pem(&self) -> Vec<u8> {
        let p = self.data.join("tls/cert.pem");
        std::fs::read(&p).unwrap_or_else(|e| panic!("cannot read {}: {e}", p.display()))
    }

    /// A client that trusts exactly this store's certificate.
    pub fn client(&self) -> Client {
        Client::new(&self.url, &self.cert_pem()).for_store(&self.store_key)
    }

    /// Final blob files: everything under `DATA/blobs` except `blobs/tmp`.
    pub fn blob_files(&self) -> Vec<PathBuf> {
        let blobs = self.data.join("blobs");
        let mut out = Vec::new();
        walk(&blobs, &mut |p| {
            if !p.starts_with(blobs.join("tmp")) {
                out.push(p.to_path_buf());
            }
        });
        out.sort();
        out
    }

    /// Files in `DATA/blobs/tmp` (uploads in progress).
    pub fn tmp_files(&self) -> Vec<PathBuf> {
        let mut out = Vec::new();
        walk(&self.data.join("blobs/tmp"), &mut |p| {
            out.push(p.to_path_buf())
        });
        out.sort();
        out
    }

    /// Peak and current resident set size of the process, in KiB
    /// (`VmHWM`, `VmRSS` from /proc), if readable.
    pub fn rss_kib(&self) -> Option<(u64, u64)> {
        rss_kib(self.pid())
    }
}

impl Drop for StoreProcess {
    fn drop(&mut self) {
        self.kill();
    }
}

/// `VmHWM` and `VmRSS` of a process, in KiB.
pub fn rss_kib(pid: u32) -> Option<(u64, u64)> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let field = |name: &str| {
        status.lines().find_map(|l| {
            l.strip_prefix(name)?
                .trim()
                .trim_end_matches("kB")
                .trim()
                .parse::<u64>()
                .ok()
        })
    };
    Some((field("VmHWM:")?, field("VmRSS:")?))
}

fn walk(dir: &Path, f: &mut dyn FnMut(&Path)) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        match e.file_type() {
            Ok(t) if t.is_dir() => walk(&p, f),
            Ok(_) => f(&p),
            Err(_) => {}
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Runs `sealcam-store audit <sub> --data DIR` to completion.
pub fn audit_command(sub: &str, data: &Path) -> std::process::Output {
    Command::new(store_bin())
        .args(["audit", sub, "--data"])
        .arg(data)
        .stdin(Stdio::null())
        .output()
        .expect("run sealcam-store audit")
}

// ---------------------------------------------------------------------------
// Time, hashing, text

/// Unix seconds now.
pub fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// SHA-256.
pub fn sha256(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

/// BLAKE3 of `bytes`: the request content digest and the receipt digest.
pub fn blake3(bytes: &[u8]) -> [u8; 32] {
    request::content_digest(bytes)
}

/// Lower-case hex.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// base64url, no padding.
pub fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Polls `f` every 50 ms until it gives `Some`, or panics after `timeout`
/// saying what was awaited.
pub async fn eventually<T, F, Fut>(what: &str, timeout: Duration, mut f: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = f().await {
            return v;
        }
        assert!(
            Instant::now() < deadline,
            "timed out after {}s waiting for: {what}",
            timeout.as_secs_f32()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

// ---------------------------------------------------------------------------
// The client

/// Who a request is from.
#[derive(Clone)]
pub enum Auth {
    /// No `Authorization` header.
    Anonymous,
    /// Signed with the organisation key (`role=admin`).
    Admin(Arc<OrgSigningKey>),
    /// Signed with a device key (`role=device`).
    Device(Arc<DeviceSigningKey>),
    /// Signed with a staff auth key (`role=staff`).
    Staff(Arc<StaffSigningKey>),
    /// `Authorization: Sealcam-Link <token>`.
    Link(String),
}

impl std::fmt::Debug for Auth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Auth::Anonymous => "anonymous",
            Auth::Admin(_) => "admin",
            Auth::Device(_) => "device",
            Auth::Staff(_) => "staff",
            Auth::Link(_) => "link",
        })
    }
}

/// How to sign: the defaults are "now", a fresh nonce and the body's real
/// digest; the request-auth tests override them.
#[derive(Clone, Default)]
pub struct SignOpts {
    /// Timestamp to sign (default: now).
    pub ts: Option<u64>,
    /// Nonce to sign (default: fresh random).
    pub nonce: Option<[u8; 16]>,
    /// Digest to sign and send in the content header (default: the body's).
    pub digest: Option<[u8; 32]>,
    /// Send no content header at all.
    pub no_content_header: bool,
}

/// The `Authorization` header value (if any) and the content header for a
/// request, per the contract.
pub fn auth_headers(
    auth: &Auth,
    store: &StoreId,
    method: &str,
    path_and_query: &str,
    body: &[u8],
    opts: &SignOpts,
) -> Vec<(String, String)> {
    let digest = opts.digest.unwrap_or_else(|| request::content_digest(body));
    let ts = opts.ts.unwrap_or_else(now);
    let nonce = opts.nonce.unwrap_or_else(random16);
    let target = RequestTarget {
        store,
        method,
        path_and_query,
        content_digest: &digest,
    };
    fn sign<K: RequestSigner>(k: &K, t: &RequestTarget<'_>, ts: u64, n: [u8; 16]) -> String {
        request::authorization(k, t, ts, n)
    }
    let authorization = match auth {
        Auth::Anonymous => None,
        Auth::Admin(k) => Some(sign(k.as_ref(), &target, ts, nonce)),
        Auth::Device(k) => Some(sign(k.as_ref(), &target, ts, nonce)),
        Auth::Staff(k) => Some(sign(k.as_ref(), &target, ts, nonce)),
        Auth::Link(t) => Some(format!("{} {t}", request::LINK_SCHEME)),
    };
    let mut h = Vec::new();
    if let Some(a) = authorization {
        h.push(("authorization".to_string(), a));
    }
    if !opts.no_content_header {
        h.push((
            request::CONTENT_DIGEST_HEADER.to_string(),
            request::content_digest_header(&digest),
        ));
    }
    h
}

/// 16 random bytes.
pub fn random16() -> [u8; 16] {
    let mut n = [0u8; 16];
    getrandom::fill(&mut n).expect("the OS random generator");
    n
}

/// An answer: status, headers, body.
pub struct Resp {
    /// HTTP status.
    pub status: u16,
    /// Response headers.
    pub headers: reqwest::header::HeaderMap,
    /// Response body.
    pub body: Vec<u8>,
    /// HTTP version of the answer (`HTTP/1.1`, `HTTP/2.0`).
    pub version: String,
}

impl std::fmt::Debug for Resp {
    /// Status and the error code only: never the body (it may be an
    /// envelope or a token).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.status, self.error_code())
    }
}

impl Resp {
    /// The body as JSON (panics with the status, not the body, when it is
    /// not JSON).
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|_| panic!("answer ({}) is not JSON", self.status))
    }

    /// The body as the API type `T` (panics with the status, not the
    /// body, when it is not one).
    #[track_caller]
    pub fn parse<T: DeserializeOwned>(&self) -> T {
        serde_json::from_slice(&self.body).unwrap_or_else(|_| {
            panic!(
                "answer ({}) is not a {}",
                self.status,
                std::any::type_name::<T>()
            )
        })
    }

    /// The body as text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// `error` of an error body, or "" (for messages: codes are safe).
    pub fn error_code(&self) -> String {
        ErrorBody::from_json(&self.body)
            .map(|e| format!("({})", e.error))
            .unwrap_or_default()
    }

    /// Asserts the status; `what` names the request.
    #[track_caller]
    pub fn expect(self, status: u16, what: &str) -> Resp {
        assert_eq!(
            self.status,
            status,
            "{what}: expected {status}, got {} {}",
            self.status,
            self.error_code()
        );
        self
    }

    /// A header as text.
    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    }
}

/// An HTTPS client bound to one store.
#[derive(Clone)]
pub struct Client {
    http: reqwest::Client,
    /// `https://127.0.0.1:PORT`.
    pub base: String,
    /// The store's identity, bound into signed requests (set by
    /// [`StoreProcess::client`] or [`Client::for_store`]).
    pub store: StoreId,
}

impl Client {
    /// A client for `base` trusting exactly `cert_pem` (no built-in roots).
    pub fn new(base: &str, cert_pem: &[u8]) -> Client {
        Self::with_http1_only(base, cert_pem, false)
    }

    /// [`Client::new`]; with `http1_only`, no HTTP/2 offered in ALPN (the
    /// load bench compares the store's memory under both).
    pub fn with_http1_only(base: &str, cert_pem: &[u8], http1_only: bool) -> Client {
        let cert = reqwest::Certificate::from_pem(cert_pem).expect("the store's cert.pem parses");
        let mut b = reqwest::Client::builder()
            .use_rustls_tls()
            .tls_built_in_root_certs(false)
            .add_root_certificate(cert)
            .timeout(Duration::from_secs(120));
        if http1_only {
            b = b.http1_only();
        }
        let http = b.build().expect("reqwest client");
        Client {
            http,
            base: base.to_string(),
            store: StoreId([0; 16]),
        }
    }

    /// This client for the store with receipt key `store_key`.
    pub fn for_store(mut self, store_key: &StorePublicKey) -> Client {
        self.store = store_key.id();
        self
    }

    /// Sends a request with the contract's headers for `auth`, plus `extra`.
    pub async fn send(
        &self,
        auth: &Auth,
        method: &str,
        path: &str,
        body: Vec<u8>,
        opts: &SignOpts,
        extra: &[(&str, &str)],
    ) -> Resp {
        let headers = auth_headers(auth, &self.store, method, path, &body, opts);
        self.send_raw(method, path, body, &headers, extra).await
    }

    /// Sends exactly these headers (the request-auth tests forge them).
    /// Panics when there is no answer.
    pub async fn send_raw(
        &self,
        method: &str,
        path: &str,
        body: Vec<u8>,
        headers: &[(String, String)],
        extra: &[(&str, &str)],
    ) -> Resp {
        self.try_send_raw(method, path, body, headers, extra)
            .await
            .unwrap_or_else(|e| panic!("{method} {path}: no answer: {e}"))
    }

    /// [`Client::send_raw`], with a connection failure as an error (the
    /// crash test expects them).
    pub async fn try_send_raw(
        &self,
        method: &str,
        path: &str,
        body: Vec<u8>,
        headers: &[(String, String)],
        extra: &[(&str, &str)],
    ) -> Result<Resp, reqwest::Error> {
        let m = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
        let mut rb = self.http.request(m, format!("{}{path}", self.base));
        for (k, v) in headers {
            rb = rb.header(k.as_str(), v.as_str());
        }
        for (k, v) in extra {
            rb = rb.header(*k, *v);
        }
        if !body.is_empty() {
            rb = rb.body(body);
        }
        Ok(into_resp(rb.send().await?).await)
    }

    /// Signs and sends; a connection failure is an error.
    pub async fn try_send(
        &self,
        auth: &Auth,
        method: &str,
        path: &str,
        body: Vec<u8>,
        extra: &[(&str, &str)],
    ) -> Result<Resp, reqwest::Error> {
        let headers = auth_headers(auth, &self.store, method, path, &body, &SignOpts::default());
        self.try_send_raw(method, path, body, &headers, extra).await
    }

    /// Sends a request whose body is streamed in `chunk`-byte pieces, one
    /// every `pause`; `sent` counts the pieces handed to the connection
    /// (the graceful-shutdown test). Without `declare_length` the body
    /// goes without `Content-Length` (chunked on HTTP/1.1).
    #[allow(clippy::too_many_arguments)]
    pub async fn send_streamed(
        &self,
        auth: &Auth,
        method: &str,
        path: &str,
        body: Vec<u8>,
        chunk: usize,
        pause: Duration,
        sent: Arc<std::sync::atomic::AtomicUsize>,
        declare_length: bool,
    ) -> Result<Resp, reqwest::Error> {
        let headers = auth_headers(auth, &self.store, method, path, &body, &SignOpts::default());
        let m = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
        let len = body.len();
        let (tx, rx) = tokio::sync::mpsc::channel::<Result<Vec<u8>, std::io::Error>>(1);
        tokio::spawn(async move {
            for c in body.chunks(chunk.max(1)) {
                if tx.send(Ok(c.to_vec())).await.is_err() {
                    return;
                }
                sent.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                tokio::time::sleep(pause).await;
            }
        });
        let stream = futures_stream(rx);
        let mut rb = self
            .http
            .request(m, format!("{}{path}", self.base))
            .header("content-type", "application/octet-stream");
        if declare_length {
            rb = rb.header("content-length", len.to_string());
        }
        for (k, v) in &headers {
            rb = rb.header(k.as_str(), v.as_str());
        }
        let r = rb.body(reqwest::Body::wrap_stream(stream)).send().await?;
        Ok(into_resp(r).await)
    }

    /// An actor: this client acting as `auth`.
    pub fn as_(&self, auth: Auth) -> Actor {
        Actor {
            client: self.clone(),
            auth,
        }
    }

    /// This client, anonymous.
    pub fn anonymous(&self) -> Actor {
        self.as_(Auth::Anonymous)
    }
}

fn futures_stream(
    mut rx: tokio::sync::mpsc::Receiver<Result<Vec<u8>, std::io::Error>>,
) -> impl futures_core::Stream<Item = Result<Vec<u8>, std::io::Error>> + Send + 'static {
    futures_util_like::poll_fn_stream(move |cx| rx.poll_recv(cx))
}

/// A tiny `Stream` adapter (no futures-util dependency).
mod futures_util_like {
    use std::pin::Pin;
    use std::task::{Context, Poll};

    pub struct PollFn<F>(F);

    impl<T, F> futures_core::Stream for PollFn<F>
    where
        F: FnMut(&mut Context<'_>) -> Poll<Option<T>> + Unpin,
    {
        type Item = T;
        fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
            (self.get_mut().0)(cx)
        }
    }

    pub fn poll_fn_stream<T, F>(f: F) -> PollFn<F>
    where
        F: FnMut(&mut Context<'_>) -> Poll<Option<T>> + Unpin,
    {
        PollFn(f)
    }
}

async fn into_resp(r: reqwest::Response) -> Resp {
    let status = r.status().as_u16();
    let version = format!("{:?}", r.version());
    let headers = r.headers().clone();
    let body = r.bytes().await.map(|b| b.to_vec()).unwrap_or_default();
    Resp {
        status,
        headers,
        body,
        version,
    }
}

/// A client acting as one party.
#[derive(Clone)]
pub struct Actor {
    /// The connection.
    pub client: Client,
    /// Who it is.
    pub auth: Auth,
}

impl Actor {
    /// Any request, JSON or binary body.
    pub async fn call(&self, method: &str, path: &str, body: Body) -> Resp {
        let (bytes, ct) = body.into_parts();
        let extra: Vec<(&str, &str)> = ct.map(|c| vec![("content-type", c)]).unwrap_or_default();
        self.client
            .send(
                &self.auth,
                method,
                path,
                bytes,
                &SignOpts::default(),
                &extra,
            )
            .await
    }

    /// GET.
    pub async fn get(&self, path: &str) -> Resp {
        self.call("GET", path, Body::Empty).await
    }

    /// DELETE.
    pub async fn delete(&self, path: &str) -> Resp {
        self.call("DELETE", path, Body::Empty).await
    }

    /// POST JSON: an API request body, or raw JSON (`serde_json::Value`)
    /// for a deliberately malformed one.
    pub async fn post_json<B: Serialize>(&self, path: &str, body: &B) -> Resp {
        let v = serde_json::to_value(body).expect("the body serialises");
        self.call("POST", path, Body::Json(v)).await
    }

    /// PUT binary.
    pub async fn put_bytes(&self, path: &str, bytes: Vec<u8>) -> Resp {
        self.call("PUT", path, Body::Bytes(bytes)).await
    }
}

/// A request body.
#[derive(Clone)]
pub enum Body {
    /// None.
    Empty,
    /// JSON (`application/json`).
    Json(Value),
    /// Binary (`application/octet-stream`).
    Bytes(Vec<u8>),
}

impl Body {
    /// An API request body as JSON.
    pub fn json<B: Serialize>(body: &B) -> Body {
        Body::Json(serde_json::to_value(body).expect("the body serialises"))
    }

    fn into_parts(self) -> (Vec<u8>, Option<&'static str>) {
        match self {
            Body::Empty => (Vec::new(), None),
            Body::Json(v) => (
                serde_json::to_vec(&v).expect("json"),
                Some("application/json"),
            ),
            Body::Bytes(b) => (b, Some("application/octet-stream")),
        }
    }
}

// ---------------------------------------------------------------------------
// Parties and flows

/// The clinician every test device is enrolled for (the one in the
/// fixtures' record).
pub fn clinician() -> Clinician {
    crate::fixtures::clinician()
}

/// `POST /v1/enrolments` for `c`, with the store's default lifetime.
pub fn create_enrolment(c: Clinician) -> CreateEnrolment {
    CreateEnrolment {
        clinician: c,
        expires_in_secs: None,
    }
}

/// A staff member: auth key, recipient identity, id on the store.
pub struct Staff {
    /// Signs requests.
    pub key: Arc<StaffSigningKey>,
    /// Opens envelopes.
    pub identity: RecipientIdentity,
    /// `staff_id` as the store answered.
    pub id: String,
    /// Display name (also the directory name).
    pub name: String,
}

impl Staff {
    /// The staff member's recipient.
    pub fn recipient(&self) -> Recipient {
        self.identity.recipient()
    }

    /// Auth for requests.
    pub fn auth(&self) -> Auth {
        Auth::Staff(Arc::clone(&self.key))
    }
}

/// A device: key, certificate once active, id on the store.
pub struct Device {
    /// Signs requests and envelopes.
    pub key: Arc<DeviceSigningKey>,
    /// Set once activated.
    pub certificate: Option<DeviceCertificate>,
    /// `device_id` as the store answered.
    pub id: String,
}

impl Device {
    /// Auth for requests.
    pub fn auth(&self) -> Auth {
        Auth::Device(Arc::clone(&self.key))
    }

    /// Seals the tiny JPEG to `recipients`, signed by this device.
    pub fn seal(&self, recipients: &[Recipient]) -> Sealed {
        self.seal_image(&tiny_jpeg(), recipients)
    }

    /// Seals `image` (a sanitized JPEG) to `recipients`, signed by this device.
    pub fn seal_image(&self, image: &[u8], recipients: &[Recipient]) -> Sealed {
        let cert = self.certificate.as_ref().expect("device not activated");
        envelope::seal(
            image,
            &record_for(image),
            recipients,
            Signer::Device {
                key: &self.key,
                certificate: cert,
            },
            sealcam_platform::clock::unix_now(),
        )
        .expect("seal")
    }
}

/// Two envelopes with the same id and different bytes, both validly
/// signed by `d` (same deterministic randomness, different images).
pub fn twins(d: &Device, recipients: &[Recipient]) -> (Sealed, Sealed) {
    let cert = d.certificate.as_ref().expect("device not activated");
    let seed = hex(&random16());
    let one = |image: Vec<u8>| {
        let record = record_for(&image);
        envelope::seal_parts(
            &image,
            &record.to_json(),
            recipients,
            Signer::Device {
                key: &d.key,
                certificate: cert,
            },
            now(),
            &mut TestRng::new(&seed),
        )
        .expect("seal")
    };
    let a = one(tiny_jpeg());
    let b = one(jpeg_of_len(tiny_jpeg().len() + 100));
    assert_eq!(a.id, b.id);
    assert_ne!(a.bytes, b.bytes);
    (a, b)
}

/// An unsigned envelope of the tiny JPEG (what a patient's browser makes).
pub fn seal_unsigned(recipients: &[Recipient]) -> Sealed {
    let image = tiny_jpeg();
    envelope::seal(
        &image,
        &record_for(&image),
        recipients,
        Signer::Unsigned,
        sealcam_platform::clock::unix_now(),
    )
    .expect("seal")
}

/// The enrolment proof: the device key's signature over
/// `"sealcam/v1/enrol\0" ‖ SHA-256(code)`, base64url.
/// A proof of possession over the SHA-256 of `text` (which, for a valid
/// proof, is the canonical code: see core::protocol::enrolment).
pub fn enrol_proof(key: &DeviceSigningKey, text: &str) -> String {
    let m = sealcam_core::protocol::enrolment::proof_message(&sha256(text.as_bytes()));
    b64(&key.sign(&m))
}

/// A certificate for `device` from the org, valid from a minute ago for a year.
pub fn certificate_for(org: &OrgSigningKey, device: &DevicePublicKey) -> DeviceCertificate {
    let t = now();
    DeviceCertificate::issue(org, device, &clinician(), t - 60, t + 365 * 86_400).expect("issue")
}

/// A receipt answer, parsed and checked: signed by `store`, naming `bytes`.
#[track_caller]
pub fn check_receipt(resp: &Resp, store: &StorePublicKey, bytes: &[u8]) -> Receipt {
    let text = std::str::from_utf8(&resp.body).expect("receipt is UTF-8");
    let r = Receipt::from_json(text.trim_end())
        .unwrap_or_else(|e| panic!("receipt ({}) does not parse: {e}", resp.status));
    r.verify(store)
        .unwrap_or_else(|e| panic!("receipt does not verify with the store key: {e}"));
    r.confirms(store, bytes)
        .unwrap_or_else(|e| panic!("receipt does not confirm the envelope sent: {e}"));
    r
}

/// A bootstrapped store with an administrator, staff, a published
/// directory and active devices.
pub struct World {
    /// The client (anonymous by itself).
    pub client: Client,
    /// The organisation key.
    pub org: Arc<OrgSigningKey>,
    /// Staff, each a recipient in the directory.
    pub staff: Vec<Staff>,
    /// Active devices.
    pub devices: Vec<Device>,
    /// The directory's current version.
    pub directory_version: u64,
    /// The store's receipt key.
    pub store_key: StorePublicKey,
}

impl World {
    /// Bootstraps `store`, adds `staff` staff members (recipients in the
    /// directory, published), enrols and activates `devices` devices.
    pub async fn new(store: &StoreProcess, staff: usize, devices: usize) -> World {
        let client = store.client();
        let org = Arc::new(OrgSigningKey::generate());
        let code = store
            .bootstrap_code
            .clone()
            .expect("a fresh store prints a bootstrap code");
        bootstrap(&client, &org, &code)
            .await
            .expect(200, "POST /v1/bootstrap");
        let mut w = World {
            client,
            org,
            staff: Vec::new(),
            devices: Vec::new(),
            directory_version: 0,
            store_key: store.store_key,
        };
        for i in 0..staff {
            let s = w.add_staff(&format!("Records team {i}")).await;
            w.staff.push(s);
        }
        if staff > 0 {
            w.publish_directory(&[]).await;
        }
        for _ in 0..devices {
            let d = w.enrol_device().await;
            w.devices.push(d);
        }
        w
    }

    /// The administrator.
    pub fn admin(&self) -> Actor {
        self.client.as_(Auth::Admin(Arc::clone(&self.org)))
    }

    /// Acting as `auth`.
    pub fn as_(&self, auth: Auth) -> Actor {
        self.client.as_(auth)
    }

    /// Staff `i`.
    pub fn staff_actor(&self, i: usize) -> Actor {
        self.as_(self.staff[i].auth())
    }

    /// Device `i`.
    pub fn device_actor(&self, i: usize) -> Actor {
        self.as_(self.devices[i].auth())
    }

    /// Every staff member's recipient (the directory's entries).
    pub fn recipients(&self) -> Vec<Recipient> {
        self.staff.iter().map(Staff::recipient).collect()
    }

    /// Registers a staff member with fresh keys.
    pub async fn add_staff(&self, name: &str) -> Staff {
        let key = Arc::new(StaffSigningKey::generate());
        let identity = RecipientIdentity::generate();
        let r = self
            .admin()
            .post_json(
                "/v1/staff",
                &AddStaff {
                    auth_key: key.public(),
                    name: StaffName::new(name).expect("a usable staff name"),
                    recipient: identity.recipient(),
                },
            )
            .await
            .expect(201, "POST /v1/staff");
        let id = r.parse::<StaffAdded>().staff_id.to_string();
        Staff {
            key,
            identity,
            id,
            name: name.to_string(),
        }
    }

    /// Publishes a new directory version: every staff member's recipient
    /// plus `extra` entries (recipient, name).
    pub async fn publish_directory(&mut self, extra: &[(Recipient, String)]) -> Resp {
        self.directory_version += 1;
        let dir = self.directory(self.directory_version, extra);
        self.admin()
            .put_bytes("/v1/directory", dir)
            .await
            .expect(200, "PUT /v1/directory")
    }

    /// A signed directory (bytes) of the staff recipients plus `extra`.
    pub fn directory(&self, version: u64, extra: &[(Recipient, String)]) -> Vec<u8> {
        let t = now();
        let mut entries: Vec<DirectoryEntry> = self
            .staff
            .iter()
            .map(|s| DirectoryEntry {
                recipient: s.recipient(),
                name: s.name.clone(),
                role: "records".to_string(),
            })
            .collect();
        entries.extend(extra.iter().map(|(r, n)| DirectoryEntry {
            recipient: *r,
            name: n.clone(),
            role: "records".to_string(),
        }));
        RecipientDirectory {
            version,
            issued_at: t,
            expires_at: t + 30 * 86_400,
            entries,
        }
        .sign(&self.org)
        .expect("sign the directory")
        .to_bytes()
    }

    /// Creates an enrolment code (admin).
    pub async fn enrolment_code(&self) -> (String, String) {
        let r = self
            .admin()
            .post_json("/v1/enrolments", &create_enrolment(clinician()))
            .await
            .expect(201, "POST /v1/enrolments");
        let created: EnrolmentCreated = r.parse();
        (created.id.to_string(), created.code.expose().to_string())
    }

    /// Enrols a fresh device key with a fresh code: pending.
    pub async fn enrol_pending(&self) -> Device {
        let (_, code) = self.enrolment_code().await;
        let key = Arc::new(DeviceSigningKey::generate());
        let r = self
            .client
            .anonymous()
            .post_json(
                "/v1/enrol",
                &EnrolRequest::new(
                    &OneTimeCode::parse(&code).expect("the store's code parses"),
                    &key,
                ),
            )
            .await
            .expect(201, "POST /v1/enrol");
        let enrolled: Enrolled = r.parse();
        assert_eq!(
            enrolled.state,
            DeviceState::Pending,
            "a freshly enrolled device is pending"
        );
        assert_eq!(
            enrolled.device_id,
            key.public().id(),
            "device_id is the DeviceId"
        );
        Device {
            key,
            certificate: None,
            id: enrolled.device_id.to_string(),
        }
    }

    /// The admin signs and uploads the certificate of a pending device.
    pub async fn activate(&self, device: &mut Device) {
        let cert = certificate_for(&self.org, &device.key.public());
        let r = self
            .admin()
            .put_bytes(
                &format!("/v1/devices/{}/certificate", device.id),
                cert.to_bytes(),
            )
            .await
            .expect(200, "PUT /v1/devices/{id}/certificate");
        assert_eq!(r.parse::<DeviceCertified>().state, DeviceState::Active);
        device.certificate = Some(cert);
    }

    /// Enrols and activates a device.
    pub async fn enrol_device(&self) -> Device {
        let mut d = self.enrol_pending().await;
        self.activate(&mut d).await;
        d
    }

    /// Uploads an envelope as device `d`.
    pub async fn upload(&self, d: &Device, e: &Sealed) -> Resp {
        self.as_(d.auth())
            .put_bytes(&format!("/v1/envelopes/{}", e.id), e.bytes.clone())
            .await
    }

    /// Staff `i`'s inbox: the envelope ids.
    pub async fn inbox(&self, i: usize) -> Vec<String> {
        let r = self
            .staff_actor(i)
            .get("/v1/inbox")
            .await
            .expect(200, "GET /v1/inbox");
        r.parse::<Vec<InboxEntry>>()
            .iter()
            .map(|e| e.envelope_id.to_string())
            .collect()
    }

    /// Staff `i` fetches an envelope.
    pub async fn fetch(&self, i: usize, id: &EnvelopeId) -> Resp {
        self.staff_actor(i)
            .get(&format!("/v1/envelopes/{id}"))
            .await
    }

    /// Staff `i` files an envelope.
    pub async fn filed(&self, i: usize, id: &EnvelopeId) -> Resp {
        self.staff_actor(i)
            .call("POST", &format!("/v1/envelopes/{id}/filed"), Body::Empty)
            .await
    }

    /// Creates a patient link as `creator`; returns (link_id, token).
    pub async fn create_link(&self, creator: &Actor, body: CreateLink) -> (String, String) {
        let r = creator
            .post_json("/v1/links", &body)
            .await
            .expect(201, "POST /v1/links");
        let created: LinkCreated = r.parse();
        (
            created.link_id.to_string(),
            created.token.expose().to_string(),
        )
    }

    /// A link made by staff member `staff` with a capability they sign
    /// (to every recipient in the directory, an hour, `max_uploads`
    /// uploads): returns (link_id, token, capability bytes).
    pub async fn create_vouched_link(
        &self,
        staff: usize,
        max_uploads: u32,
    ) -> (String, String, Vec<u8>) {
        let mut link_id = [0u8; 16];
        getrandom::fill(&mut link_id).expect("random");
        let now = sealcam_platform::clock::unix_now();
        let terms = sealcam_core::keys::LinkTerms {
            org_id: self.org.public().id(),
            link_id,
            created_at: now,
            expires_at: now + 3600,
            max_uploads,
            max_bytes: 32 << 20,
            context_blake3: [0; 32],
            recipients: self.recipients().iter().map(Recipient::id).collect(),
        };
        let capability = sealcam_core::keys::LinkCapability::sign(
            terms,
            sealcam_core::keys::LinkSigner::Staff(&self.staff[staff].key),
        )
        .expect("a capability")
        .to_bytes();
        let (id, token) = self
            .create_link(
                &self.staff_actor(staff),
                CreateLink {
                    capability: Some(capability.clone()),
                    ..CreateLink::default()
                },
            )
            .await;
        (id, token, capability)
    }

    /// A link token client.
    pub fn link(&self, token: &str) -> Actor {
        self.as_(Auth::Link(token.to_string()))
    }

    /// Uploads an envelope through a link.
    pub async fn link_upload(&self, token: &str, e: &Sealed) -> Resp {
        self.link(token)
            .put_bytes(&format!("/v1/link/envelopes/{}", e.id), e.bytes.clone())
            .await
    }
}

/// `POST /v1/bootstrap` signed by `org` with `code`.
pub async fn bootstrap(client: &Client, org: &Arc<OrgSigningKey>, code: &str) -> Resp {
    client
        .as_(Auth::Admin(Arc::clone(org)))
        .post_json(
            "/v1/bootstrap",
            &BootstrapRequest {
                code: CodeInput::new(code),
                org_key: org.public(),
            },
        )
        .await
}
