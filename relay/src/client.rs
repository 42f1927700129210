//! The store's HTTP API as the device uses it (docs/API.md): pinned TLS,
//! signed requests, answers typed with `sealcam_core::protocol::api`.

use std::time::Duration;

use std::io::Read;

use reqwest::blocking::{Body, Client, RequestBuilder, Response};
use reqwest::Method;
use serde::de::DeserializeOwned;
use serde::Serialize;

use super::RelayError;
use sealcam_core::envelope::EnvelopeId;
use sealcam_core::keys::{DeviceSigningKey, StoreId, StorePublicKey};
use sealcam_core::protocol::api::{self, DeviceMe, EnrolRequest, Enrolled, ErrorBody, Info, Route};
use sealcam_core::protocol::enrolment::OneTimeCode;
use sealcam_core::protocol::request::{
    authorize, content_digest, content_digest_header, RequestSigner, RequestTarget,
    CONTENT_DIGEST_HEADER,
};
use sealcam_core::protocol::Receipt;

/// What an upload came to.
#[derive(Debug)]
pub enum Upload {
    /// Stored: the store's receipt (not yet verified).
    Stored(Box<Receipt>),
    /// Refused for good by the store itself (its own error code, not a
    /// proxy's): retrying the same bytes will not help.
    Refused {
        /// HTTP status.
        status: u16,
        /// The store's error code (`invalid_envelope`, `envelope_conflict`, …).
        code: String,
        /// The store's message.
        message: String,
    },
}

/// The store's error codes that mean "these bytes will never be accepted"
/// (docs/API.md). Any other failure, including a 4xx from a proxy in
/// between, is retried: an envelope is never set aside on a guess.
const PERMANENT_UPLOAD_ERRORS: &[&str] = &[
    "invalid_envelope",
    "envelope_conflict",
    "too_large",
    "bad_id",
];

/// The largest answer read for a receipt or an error.
const MAX_ANSWER: u64 = 16 * 1024;

/// Timeouts: connecting, small requests, and uploads (which get a floor of
/// a minute plus one second per 32 KiB, i.e. a 256 kbit/s upstream).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);
const UPLOAD_BYTES_PER_SEC: u64 = 32 * 1024;

/// A client of one store, over TLS pinned to its key.
pub struct StoreClient {
    http: Client,
    base: String,
    /// The store's identity (its receipt key's id), bound into every signed
    /// request; unknown until [`StoreClient::for_store`].
    store: Option<StoreId>,
}

impl std::fmt::Debug for StoreClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoreClient")
            .field("base", &self.base)
            .finish()
    }
}

fn network(e: reqwest::Error) -> RelayError {
    if sealcam_platform::tls_pin::is_pin_mismatch(&e) {
        return RelayError::Network(
            "the store's TLS certificate does not match the pin: check the pin \
             (sha256/…, as the store printed it) or that the URL names the right store"
                .to_owned(),
        );
    }
    // The chain says what failed (connect, TLS pin, timeout); no secrets in it.
    let mut msg = e.to_string();
    let mut source = std::error::Error::source(&e);
    while let Some(s) = source {
        msg.push_str(": ");
        msg.push_str(&s.to_string());
        source = s.source();
    }
    RelayError::Network(msg)
}

/// The largest answer to a small request (JSON bodies, the recipient
/// directory, lists).
pub const MAX_SMALL_ANSWER: u64 = 4 * 1024 * 1024;

/// Reads an answer of at most `limit` bytes, refusing a larger one as it
/// arrives (an announced length over the limit before any byte is read), so
/// a hostile or broken store cannot make a client hold more than `limit`.
/// The buffer is sized from the announced length (at most `limit`), so a
/// large answer is not copied again as it grows.
fn read_limited(response: Response, limit: u64) -> Result<Vec<u8>, RelayError> {
    let announced = response.content_length();
    read_bounded_body(response, announced, limit)
}

/// [`read_limited`] for any body: refuses an announced length over `limit`
/// before reading, and stops reading one byte past `limit`.
fn read_bounded_body(
    body: impl Read,
    announced: Option<u64>,
    limit: u64,
) -> Result<Vec<u8>, RelayError> {
    let too_large = || RelayError::AnswerTooLarge { limit };
    if announced.is_some_and(|n| n > limit) {
        return Err(too_large());
    }
    let capacity = usize::try_from(announced.unwrap_or(0).min(limit)).unwrap_or(0);
    let mut out = Vec::with_capacity(capacity);
    body.take(limit.saturating_add(1))
        .read_to_end(&mut out)
        .map_err(|e| RelayError::Network(format!("reading the store's answer failed: {e}")))?;
    if out.len() as u64 > limit {
        return Err(too_large());
    }
    Ok(out)
}

/// Reads at most [`MAX_ANSWER`] bytes of an answer.
fn read_bounded(response: Response) -> Vec<u8> {
    let mut out = Vec::new();
    let _ = response.take(MAX_ANSWER).read_to_end(&mut out);
    out
}

/// The store's error body of a refusal; for a body that is not the
/// store's JSON error (a proxy's page), an empty code.
fn error_body(body: &[u8]) -> ErrorBody {
    ErrorBody::from_json(body)
        .unwrap_or_else(|| ErrorBody::new("", "no details (not the store's answer)"))
}

/// The status and the store's error body of a refusal.
fn error_parts(response: Response) -> (u16, ErrorBody) {
    let status = response.status().as_u16();
    (status, error_body(&read_bounded(response)))
}

fn store_error(response: Response) -> RelayError {
    let (status, e) = error_parts(response);
    RelayError::Store {
        status,
        message: e.message,
    }
}

/// A successful answer's JSON as `T`.
fn parse_answer<T: DeserializeOwned>(body: &[u8]) -> Result<T, RelayError> {
    serde_json::from_slice(body)
        .map_err(|_| RelayError::Network("the store's answer is not the expected JSON".to_owned()))
}

/// The HTTP method of a route.
fn method(route: &Route) -> Method {
    match route.method() {
        api::Method::Get => Method::GET,
        api::Method::Put => Method::PUT,
        api::Method::Post => Method::POST,
        api::Method::Delete => Method::DELETE,
    }
}

/// Checks a path before it is signed and sent: it must reach the server
/// exactly as signed (absolute, printable ASCII, no dot segments, no
/// fragment), since the store checks the signature over what it receives.
fn checked_path(path_and_query: &str) -> Result<&str, RelayError> {
    let path = path_and_query.split('?').next().unwrap_or_default();
    let ok = path_and_query.starts_with('/')
        && path_and_query
            .bytes()
            .all(|b| b.is_ascii_graphic() && b != b'#')
        && !path.split('/').any(|seg| seg == "." || seg == "..")
        && !path.contains("//");
    if ok {
        Ok(path_and_query)
    } else {
        Err(RelayError::BadRequestPath)
    }
}

impl StoreClient {
    /// A client for the store at `base_url` (`https://host[:port]`, no
    /// path) whose TLS key hashes to `pin`. Plain HTTP and redirects are
    /// refused: the pin must cover every byte.
    pub fn new(base_url: &str, pin: sealcam_platform::TlsPin) -> Result<Self, RelayError> {
        let url = reqwest::Url::parse(base_url).map_err(|_| RelayError::BadStoreUrl)?;
        if url.scheme() != "https"
            || url.host_str().is_none()
            || !matches!(url.path(), "" | "/")
            || url.query().is_some()
            || url.fragment().is_some()
            || !url.username().is_empty()
            || url.password().is_some()
        {
            return Err(RelayError::BadStoreUrl);
        }
        let tls = sealcam_platform::tls_pin::client_config(pin)
            .map_err(|e| RelayError::Network(format!("TLS setup failed: {e}")))?;
        let http = Client::builder()
            .use_preconfigured_tls(tls)
            .https_only(true)
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(CONNECT_TIMEOUT)
            .tcp_keepalive(Duration::from_secs(30))
            // Per request instead (uploads get longer).
            .timeout(None)
            .build()
            .map_err(network)?;
        Ok(StoreClient {
            http,
            base: url.as_str().trim_end_matches('/').to_owned(),
            store: None,
        })
    }

    /// This client for the store whose receipt key is `store_key` (pinned
    /// at enrolment or bootstrap, or read from `GET /v1/info` over the
    /// pinned connection): signed requests name it, so no other store
    /// accepts them.
    pub fn for_store(mut self, store_key: &StorePublicKey) -> Self {
        self.store = Some(store_key.id());
        self
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// A signed request whose body has BLAKE3 `digest`.
    fn signed_with_digest<K: RequestSigner>(
        &self,
        key: &K,
        method: Method,
        path: &str,
        digest: &[u8; 32],
    ) -> Result<RequestBuilder, RelayError> {
        let path = checked_path(path)?;
        let store = self.store.ok_or(RelayError::Internal(
            "a signed request before the store is known",
        ))?;
        let auth = authorize(
            key,
            &RequestTarget {
                store: &store,
                method: method.as_str(),
                path_and_query: path,
                content_digest: digest,
            },
            sealcam_platform::clock::unix_now(),
        );
        Ok(self
            .http
            .request(method, self.url(path))
            .timeout(REQUEST_TIMEOUT)
            .header(reqwest::header::AUTHORIZATION, auth)
            .header(CONTENT_DIGEST_HEADER, content_digest_header(digest)))
    }

    fn signed<K: RequestSigner>(
        &self,
        key: &K,
        method: Method,
        path: &str,
        body: Vec<u8>,
    ) -> Result<RequestBuilder, RelayError> {
        let digest = content_digest(&body);
        Ok(self
            .signed_with_digest(key, method, path, &digest)?
            .body(body))
    }

    /// Any signed request, for the records and admin tools: returns the
    /// status and body. `body` is sent as `content_type` when non-empty.
    /// The answer is read up to `limit` bytes
    /// ([`RelayError::AnswerTooLarge`] beyond, before more is read).
    pub fn signed_request<K: RequestSigner>(
        &self,
        key: &K,
        route: &Route,
        body: Vec<u8>,
        content_type: &str,
        limit: u64,
    ) -> Result<(u16, Vec<u8>), RelayError> {
        let has_body = !body.is_empty();
        let mut req = self.signed(key, method(route), &route.path(), body)?;
        if has_body {
            req = req.header(reqwest::header::CONTENT_TYPE, content_type);
        }
        let r = req.send().map_err(network)?;
        let status = r.status().as_u16();
        let bytes = read_limited(r, limit)?;
        Ok((status, bytes))
    }

    /// A signed request with `body` as JSON, its answer parsed as `T`; a
    /// refusal is [`RelayError::Store`] with the store's message.
    pub fn signed_json<K: RequestSigner, B: Serialize, T: DeserializeOwned>(
        &self,
        key: &K,
        route: &Route,
        body: &B,
    ) -> Result<T, RelayError> {
        let json = serde_json::to_vec(body)
            .map_err(|_| RelayError::Network("the request cannot be written as JSON".to_owned()))?;
        let (status, bytes) =
            self.signed_request(key, route, json, "application/json", MAX_SMALL_ANSWER)?;
        if !(200..300).contains(&status) {
            return Err(RelayError::Store {
                status,
                message: error_body(&bytes).message,
            });
        }
        parse_answer(&bytes)
    }

    /// `GET /v1/info`.
    pub fn info(&self) -> Result<Info, RelayError> {
        let r = self
            .http
            .get(self.url(&Route::Info.path()))
            .timeout(REQUEST_TIMEOUT)
            .send()
            .map_err(network)?;
        if !r.status().is_success() {
            return Err(store_error(r));
        }
        parse_answer(&read_bounded(r))
    }

    /// `POST /v1/enrol`: registers `key` with the one-time `code`. Only the
    /// code's digest and the binding are sent, never the code.
    pub fn enrol(&self, code: &str, key: &DeviceSigningKey) -> Result<DeviceMe, RelayError> {
        let code = OneTimeCode::parse(code).ok_or(RelayError::BadPayload(
            "the enrolment code is not a sealcam code (32 characters in groups of 4)",
        ))?;
        let r = self
            .http
            .post(self.url(&Route::Enrol.path()))
            .timeout(REQUEST_TIMEOUT)
            .json(&EnrolRequest::new(&code, key))
            .send()
            .map_err(network)?;
        match r.status().as_u16() {
            200 | 201 => {
                let e: Enrolled = parse_answer(&read_bounded(r))?;
                Ok(DeviceMe {
                    certificate: None,
                    device_id: e.device_id,
                    state: e.state,
                })
            }
            403 => Err(RelayError::CodeRefused),
            _ => Err(store_error(r)),
        }
    }

    /// `GET /v1/devices/me`.
    pub fn me(&self, key: &DeviceSigningKey) -> Result<DeviceMe, RelayError> {
        let route = Route::DeviceMe;
        let r = self
            .signed(key, method(&route), &route.path(), Vec::new())?
            .send()
            .map_err(network)?;
        if !r.status().is_success() {
            return Err(store_error(r));
        }
        parse_answer(&read_bounded(r))
    }

    /// `GET /v1/directory`: the signed directory's bytes (not yet verified).
    pub fn directory(&self, key: &DeviceSigningKey) -> Result<Vec<u8>, RelayError> {
        let route = Route::FetchDirectory;
        let r = self
            .signed(key, method(&route), &route.path(), Vec::new())?
            .send()
            .map_err(network)?;
        match r.status().as_u16() {
            200 => read_limited(r, MAX_SMALL_ANSWER),
            404 => Err(RelayError::NoDirectory),
            _ => Err(store_error(r)),
        }
    }

    /// `PUT /v1/envelopes/{id}`, streaming the envelope from `file`
    /// (`size` bytes with BLAKE3 `digest`, computed by the caller).
    pub fn upload(
        &self,
        key: &DeviceSigningKey,
        id: &EnvelopeId,
        file: std::fs::File,
        size: u64,
        digest: &[u8; 32],
    ) -> Result<Upload, RelayError> {
        let route = Route::UploadEnvelope(*id);
        let timeout = REQUEST_TIMEOUT + Duration::from_secs(size / UPLOAD_BYTES_PER_SEC);
        let r = self
            .signed_with_digest(key, method(&route), &route.path(), digest)?
            .timeout(timeout)
            .header(reqwest::header::CONTENT_TYPE, "application/octet-stream")
            .body(Body::sized(file, size))
            .send()
            .map_err(network)?;
        match r.status().as_u16() {
            200 | 201 => {
                let body = read_bounded(r);
                let text = std::str::from_utf8(&body).map_err(|_| RelayError::BadReceipt)?;
                Receipt::from_json(text)
                    .map(|r| Upload::Stored(Box::new(r)))
                    .map_err(|_| RelayError::BadReceipt)
            }
            _ => {
                let (status, e) = error_parts(r);
                if PERMANENT_UPLOAD_ERRORS.contains(&e.error.as_str()) {
                    Ok(Upload::Refused {
                        status,
                        code: e.error,
                        message: e.message,
                    })
                } else {
                    Err(RelayError::Store {
                        status,
                        message: e.message,
                    })
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_https_origins_are_accepted() {
        for good in [
            "https://127.0.0.1:8443",
            "https://store.example/",
            "https://[::1]:1",
        ] {
            assert!(
                StoreClient::new(good, sealcam_platform::TlsPin::from_bytes([0; 32])).is_ok(),
                "{good}"
            );
        }
        for bad in [
            "http://127.0.0.1:8443",
            "https://store.example/prefix",
            "https://store.example/?x=1",
            "https://user:pw@store.example",
            "https://store.example/#frag",
            "ftp://store.example",
            "store.example",
            "",
        ] {
            assert!(
                matches!(
                    StoreClient::new(bad, sealcam_platform::TlsPin::from_bytes([0; 32])),
                    Err(RelayError::BadStoreUrl)
                ),
                "{bad:?} accepted"
            );
        }
    }

    #[test]
    fn only_canonical_paths_are_signed() {
        for good in [
            "/v1/inbox",
            "/v1/audit?after=3&limit=10",
            "/v1/envelopes/00ff/filed",
        ] {
            assert!(checked_path(good).is_ok(), "{good}");
        }
        for bad in [
            "v1/inbox",
            "/v1/../admin",
            "/v1/./inbox",
            "/v1//inbox",
            "/v1/in box",
            "/v1/inbox\n",
            "/v1/inbox#x",
            "/v1/é",
        ] {
            assert!(checked_path(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn only_the_stores_own_refusals_are_permanent() {
        for code in [
            "invalid_envelope",
            "envelope_conflict",
            "too_large",
            "bad_id",
        ] {
            assert!(PERMANENT_UPLOAD_ERRORS.contains(&code));
        }
        // A proxy's error page has no store code; an interrupted body is
        // the store asking for a resend.
        for code in [
            "",
            "body_interrupted",
            "unauthorized",
            "rate_limited",
            "internal",
        ] {
            assert!(!PERMANENT_UPLOAD_ERRORS.contains(&code), "{code}");
        }
        let transient = |status| RelayError::Store {
            status,
            message: String::new(),
        };
        assert!(transient(503).is_transient());
        assert!(transient(401).is_transient());
        assert!(!transient(403).is_transient());
    }

    /// A body that counts what is read from it and never ends.
    struct Endless<'a>(&'a std::cell::Cell<u64>);

    impl Read for Endless<'_> {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            buf.fill(0x5a);
            self.0.set(self.0.get() + buf.len() as u64);
            Ok(buf.len())
        }
    }

    #[test]
    fn answers_are_read_bounded_as_they_arrive() {
        let read = std::cell::Cell::new(0);
        // An announced length over the limit: refused before any byte.
        assert!(matches!(
            read_bounded_body(Endless(&read), Some(1 << 30), 1000),
            Err(RelayError::AnswerTooLarge { limit: 1000 })
        ));
        assert_eq!(read.get(), 0);
        // An endless body without a length: refused just past the limit.
        assert!(matches!(
            read_bounded_body(Endless(&read), None, 1000),
            Err(RelayError::AnswerTooLarge { .. })
        ));
        assert!(read.get() <= 1001 + 8192, "read {} bytes", read.get());
        // Within the limit: the bytes.
        let body = read_bounded_body(&b"hello"[..], Some(5), 5).expect("fits");
        assert_eq!(body, b"hello");
    }
}
