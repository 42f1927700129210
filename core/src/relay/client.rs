//! The store's HTTP API as the device uses it (docs/API.md): pinned TLS,
//! signed requests, typed answers.

use std::time::Duration;

use reqwest::blocking::{Client, RequestBuilder, Response};
use reqwest::Method;
use serde::Deserialize;
use sha2::{Digest, Sha256};

use super::RelayError;
use crate::envelope::EnvelopeId;
use crate::keys::{DeviceId, DeviceSigningKey, OrgPublicKey, StorePublicKey};
use crate::protocol::request::{
    authorize_now, content_sha256, content_sha256_header, RequestSigner, RequestTarget,
    CONTENT_SHA256_HEADER,
};
use crate::protocol::Receipt;

/// Label of the proof of possession sent with an enrolment.
pub const ENROL_CONTEXT: &[u8] = b"sealcam/v1/enrol\0";

/// `GET /v1/info`.
#[derive(Debug, Deserialize)]
pub struct StoreInfo {
    /// The store's receipt key.
    pub store_key: StorePublicKey,
    /// The organisation key, once bootstrapped.
    pub org_key: Option<OrgPublicKey>,
}

/// A device's state on the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DeviceState {
    /// Enrolled, waiting for the administrator's certificate.
    Pending,
    /// Approved: it has a certificate.
    Active,
    /// Revoked by the administrator.
    Revoked,
}

/// `GET /v1/devices/me`.
#[derive(Debug, Deserialize)]
pub struct Me {
    /// The device's id.
    pub device_id: DeviceId,
    /// Its state.
    pub state: DeviceState,
    /// Its certificate (base64url), once active.
    pub certificate: Option<String>,
}

/// What an upload came to.
#[derive(Debug)]
pub enum Upload {
    /// Stored: the store's receipt (not yet verified).
    Stored(Box<Receipt>),
    /// Refused for good: retrying the same bytes will not help.
    Refused {
        /// HTTP status.
        status: u16,
        /// The store's message.
        message: String,
    },
}

#[derive(Deserialize)]
struct ErrorBody {
    message: String,
}

/// A client of one store, over TLS pinned to its key.
pub struct StoreClient {
    http: Client,
    base: String,
}

impl std::fmt::Debug for StoreClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoreClient")
            .field("base", &self.base)
            .finish()
    }
}

fn network(e: reqwest::Error) -> RelayError {
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

fn error_parts(response: Response) -> (u16, String) {
    let status = response.status().as_u16();
    let message = response
        .text()
        .ok()
        .and_then(|t| serde_json::from_str::<ErrorBody>(&t).ok())
        .map_or_else(|| "no details".to_owned(), |b| b.message);
    (status, message)
}

fn store_error(response: Response) -> RelayError {
    let (status, message) = error_parts(response);
    RelayError::Store { status, message }
}

impl StoreClient {
    /// A client for the store at `base_url` whose TLS key hashes to `pin`.
    pub fn new(base_url: &str, pin: [u8; 32]) -> Result<Self, RelayError> {
        let tls = super::pin::client_config(pin)
            .map_err(|e| RelayError::Network(format!("TLS setup failed: {e}")))?;
        let http = Client::builder()
            .use_preconfigured_tls(tls)
            .connect_timeout(Duration::from_secs(10))
            .timeout(Duration::from_secs(120))
            .build()
            .map_err(network)?;
        Ok(StoreClient {
            http,
            base: base_url.trim_end_matches('/').to_owned(),
        })
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    fn signed<K: RequestSigner>(
        &self,
        key: &K,
        method: Method,
        path: &str,
        body: Vec<u8>,
    ) -> RequestBuilder {
        let digest = content_sha256(&body);
        let auth = authorize_now(
            key,
            &RequestTarget {
                method: method.as_str(),
                path_and_query: path,
                content_sha256: &digest,
            },
        );
        self.http
            .request(method, self.url(path))
            .header(reqwest::header::AUTHORIZATION, auth)
            .header(CONTENT_SHA256_HEADER, content_sha256_header(&digest))
            .body(body)
    }

    /// Any signed request, for the records and admin tools: returns the
    /// status and body. `body` is sent as `content_type` when non-empty.
    pub fn signed_request<K: RequestSigner>(
        &self,
        key: &K,
        method: &str,
        path_and_query: &str,
        body: Vec<u8>,
        content_type: &str,
    ) -> Result<(u16, Vec<u8>), RelayError> {
        let method = Method::from_bytes(method.as_bytes())
            .map_err(|_| RelayError::Network("invalid HTTP method".to_owned()))?;
        let has_body = !body.is_empty();
        let mut req = self.signed(key, method, path_and_query, body);
        if has_body {
            req = req.header(reqwest::header::CONTENT_TYPE, content_type);
        }
        let r = req.send().map_err(network)?;
        let status = r.status().as_u16();
        let bytes = r.bytes().map_err(network)?.to_vec();
        Ok((status, bytes))
    }

    /// Any unsigned request (bootstrap, info): returns the status and body.
    pub fn anonymous_request(
        &self,
        method: &str,
        path_and_query: &str,
        json: Option<&serde_json::Value>,
    ) -> Result<(u16, Vec<u8>), RelayError> {
        let method = Method::from_bytes(method.as_bytes())
            .map_err(|_| RelayError::Network("invalid HTTP method".to_owned()))?;
        let mut req = self.http.request(method, self.url(path_and_query));
        if let Some(j) = json {
            req = req.json(j);
        }
        let r = req.send().map_err(network)?;
        let status = r.status().as_u16();
        let bytes = r.bytes().map_err(network)?.to_vec();
        Ok((status, bytes))
    }

    /// `GET /v1/info`.
    pub fn info(&self) -> Result<StoreInfo, RelayError> {
        let r = self
            .http
            .get(self.url("/v1/info"))
            .send()
            .map_err(network)?;
        if !r.status().is_success() {
            return Err(store_error(r));
        }
        r.json().map_err(network)
    }

    /// `POST /v1/enrol`: registers `key` with the one-time `code`.
    pub fn enrol(&self, code: &str, key: &DeviceSigningKey) -> Result<Me, RelayError> {
        let mut proof_message = ENROL_CONTEXT.to_vec();
        proof_message.extend_from_slice(&Sha256::digest(code.as_bytes()));
        let proof = crate::protocol::text::b64(&key.sign(&proof_message));
        let body = serde_json::json!({
            "code": code,
            "device_key": key.public().to_string(),
            "proof": proof,
        });
        let r = self
            .http
            .post(self.url("/v1/enrol"))
            .json(&body)
            .send()
            .map_err(network)?;
        match r.status().as_u16() {
            200 | 201 => {
                #[derive(Deserialize)]
                struct Enrolled {
                    device_id: DeviceId,
                    state: DeviceState,
                }
                let e: Enrolled = r.json().map_err(network)?;
                Ok(Me {
                    device_id: e.device_id,
                    state: e.state,
                    certificate: None,
                })
            }
            403 => Err(RelayError::CodeRefused),
            _ => Err(store_error(r)),
        }
    }

    /// `GET /v1/devices/me`.
    pub fn me(&self, key: &DeviceSigningKey) -> Result<Me, RelayError> {
        let r = self
            .signed(key, Method::GET, "/v1/devices/me", Vec::new())
            .send()
            .map_err(network)?;
        if !r.status().is_success() {
            return Err(store_error(r));
        }
        r.json().map_err(network)
    }

    /// `GET /v1/directory`: the signed directory's bytes (not yet verified).
    pub fn directory(&self, key: &DeviceSigningKey) -> Result<Vec<u8>, RelayError> {
        let r = self
            .signed(key, Method::GET, "/v1/directory", Vec::new())
            .send()
            .map_err(network)?;
        match r.status().as_u16() {
            200 => Ok(r.bytes().map_err(network)?.to_vec()),
            404 => Err(RelayError::NoDirectory),
            _ => Err(store_error(r)),
        }
    }

    /// `PUT /v1/envelopes/{id}`.
    pub fn upload(
        &self,
        key: &DeviceSigningKey,
        id: &EnvelopeId,
        envelope: Vec<u8>,
    ) -> Result<Upload, RelayError> {
        let path = format!("/v1/envelopes/{id}");
        let r = self
            .signed(key, Method::PUT, &path, envelope)
            .header(reqwest::header::CONTENT_TYPE, "application/octet-stream")
            .send()
            .map_err(network)?;
        match r.status().as_u16() {
            200 | 201 => {
                let text = r.text().map_err(network)?;
                Receipt::from_json(&text)
                    .map(|r| Upload::Stored(Box::new(r)))
                    .map_err(|_| RelayError::BadReceipt)
            }
            // Busy, overloaded, or a signature the store saw as stale
            // (clock drift, retried later with a fresh one): try again.
            401 | 408 | 429 | 500..=599 => Err(store_error(r)),
            _ => {
                let (status, message) = error_parts(r);
                Ok(Upload::Refused { status, message })
            }
        }
    }
}
