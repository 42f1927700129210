//! Request authentication: signed requests (admin, device, staff) and
//! patient link tokens, as extractors.
//!
//! - [`Signed`]: a signed request with a small body read into memory (the
//!   body digest is checked against the signed one before the handler runs);
//! - [`SignedHead`]: a signed request whose body the handler streams (it
//!   must compare the digest it computes with [`SignedHead::content_digest`]);
//! - [`LinkAuth`]: `Authorization: Sealcam-Link <token>`;
//! - [`AnyAuth`]: either (for `GET /v1/directory`).
//!
//! Failures answer 401 and are audited (`auth.failure`, with the claimed
//! role and key id, never the header; repeats aggregated and bounded:
//! [`crate::auth_audit`]). The `Authorization` header is never logged.

use std::net::{IpAddr, SocketAddr};

use axum::body::{Body, Bytes};
use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Request};
use axum::http::header;
use axum::http::request::Parts;
use sealcam_core::keys::{DeviceId, OrgPublicKey, StaffId};
use sealcam_core::protocol::request::{
    content_digest, parse_content_digest, RequestAuth, RequestTarget, RequestVerifier, LINK_SCHEME,
    NONCE_TTL_SECS, SCHEME,
};
use sealcam_core::protocol::Role;

use crate::catalog::{Device, DeviceState, Link, Staff};
use crate::error::ApiError;
use crate::ids::{unix_now, LinkToken};
use crate::metrics::inc;
use crate::staging::Holder;
use crate::state::AppState;

/// An authenticated caller.
#[derive(Debug, Clone)]
pub enum Principal {
    /// The administrator (organisation key).
    Admin(OrgPublicKey),
    /// An enrolled device (pending or active).
    Device(Device),
    /// A staff member.
    Staff(Staff),
}

impl Principal {
    /// For the audit log: `admin:<org id>`, `device:<id>`, `staff:<id>`.
    pub fn actor(&self) -> String {
        match self {
            Principal::Admin(k) => format!("admin:{}", k.id()),
            Principal::Device(d) => format!("device:{}", d.device_id),
            Principal::Staff(s) => format!("staff:{}", s.staff_id),
        }
    }

    /// Requires the admin.
    pub fn admin(&self) -> Result<&OrgPublicKey, ApiError> {
        match self {
            Principal::Admin(k) => Ok(k),
            _ => Err(ApiError::forbidden("only the administrator may do this")),
        }
    }

    /// Requires a staff member.
    pub fn staff(&self) -> Result<&Staff, ApiError> {
        match self {
            Principal::Staff(s) => Ok(s),
            _ => Err(ApiError::forbidden("only records staff may do this")),
        }
    }

    /// Requires an active device.
    pub fn active_device(&self) -> Result<&Device, ApiError> {
        match self {
            Principal::Device(d) if d.state == DeviceState::Active => Ok(d),
            _ => Err(ApiError::forbidden("only an approved device may do this")),
        }
    }

    /// Whom its uploads' buffers are charged to.
    pub fn holder(&self) -> Holder {
        Holder::Principal(self.actor())
    }

    /// Refuses a pending device (it may call only `GET /v1/devices/me`).
    pub fn not_pending(&self) -> Result<(), ApiError> {
        match self {
            Principal::Device(d) if d.state != DeviceState::Active => Err(ApiError::forbidden(
                "this device is waiting for the administrator's approval",
            )),
            _ => Ok(()),
        }
    }
}

/// The client's IP address (for per-IP rate limits; never audited).
pub fn client_ip(parts: &Parts) -> Option<IpAddr> {
    parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip())
}

/// Applies the per-IP limit.
pub fn limit_ip(state: &AppState, parts: &Parts) -> Result<(), ApiError> {
    let key = client_ip(parts).map_or_else(|| "unknown".to_string(), |ip| ip.to_string());
    state.ip_limiter.check(&key).map_err(|wait| {
        inc(&state.metrics.rate_limited);
        ApiError::rate_limited(wait)
    })
}

fn authorization(parts: &Parts) -> Option<&str> {
    parts
        .headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
}

/// Records an authentication failure (counted always; audited within the
/// bounds of [`crate::auth_audit`]) and builds the 401.
async fn fail(state: &AppState, claimed: Option<&RequestAuth>, reason: &'static str) -> ApiError {
    inc(&state.metrics.auth_failures);
    let actor = claimed.map_or_else(
        || "anonymous".to_string(),
        |a| format!("{}:{}", a.role, sealcam_core::hex::encode(&a.key_id)),
    );
    if let Some(ev) = state.auth_audit.record(actor, reason) {
        let now = unix_now();
        if let Err(e) = state.db(move |c| c.append_audit(now, ev)).await {
            tracing::warn!(status = %e.status, "could not audit an authentication failure");
        }
        tracing::info!(reason, "authentication failed");
    } else {
        // Repeats: counted, not logged one by one (a flood would fill the
        // log as it once filled the audit log).
        tracing::debug!(reason, "authentication failed");
    }
    ApiError::unauthorized(format!(
        "request not authenticated: {reason}; sign it with an enrolled key (see docs/API.md)"
    ))
}

/// Parses the signature header (unverified).
pub(crate) fn parse_signature(parts: &Parts) -> Result<RequestAuth, &'static str> {
    let h = authorization(parts).ok_or("no Authorization header")?;
    if !h.starts_with(SCHEME) {
        return Err("expected a Sealcam-Signature Authorization header");
    }
    RequestAuth::parse(h).map_err(|_| "malformed Sealcam-Signature header")
}

/// The signed content digest header.
pub(crate) fn declared_digest(parts: &Parts) -> Result<[u8; 32], &'static str> {
    let v = parts
        .headers
        .get("x-sealcam-content-blake3")
        .and_then(|v| v.to_str().ok())
        .ok_or("missing X-Sealcam-Content-BLAKE3 header")?;
    parse_content_digest(v).map_err(|_| "malformed X-Sealcam-Content-BLAKE3 header")
}

/// Checks a parsed header against `key`, the request line and the nonce cache.
pub(crate) async fn check_signature<K: RequestVerifier>(
    state: &AppState,
    parts: &Parts,
    auth: &RequestAuth,
    key: &K,
    digest: &[u8; 32],
) -> Result<(), &'static str> {
    let path_and_query = parts
        .uri
        .path_and_query()
        .map_or_else(|| parts.uri.path(), |pq| pq.as_str());
    let store = state.store_key.public().id();
    let target = RequestTarget {
        store: &store,
        method: parts.method.as_str(),
        path_and_query,
        content_digest: digest,
    };
    let now = unix_now();
    auth.verify(key, &target, now)
        .map_err(|_| "bad signature, wrong key or timestamp out of window")?;
    let nonce_key = format!("{}:{}", auth.role, sealcam_core::hex::encode(&auth.key_id));
    let nonce = auth.nonce;
    let fresh = state
        .db(move |c| c.use_nonce(&nonce_key, &nonce, now, NONCE_TTL_SECS))
        .await
        .map_err(|_| "the replay cache is unavailable")?;
    if !fresh {
        return Err("nonce already used (replayed request)");
    }
    Ok(())
}

/// Authenticates a signed request whose body digest is `body_digest` (when
/// already known) and returns the caller and the signed digest.
async fn authenticate(
    state: &AppState,
    parts: &Parts,
    body_digest: Option<[u8; 32]>,
) -> Result<(Principal, [u8; 32]), ApiError> {
    let auth = match parse_signature(parts) {
        Ok(a) => a,
        Err(reason) => return Err(fail(state, None, reason).await),
    };
    let digest = match declared_digest(parts) {
        Ok(d) => d,
        Err(reason) => return Err(fail(state, Some(&auth), reason).await),
    };
    if body_digest.is_some_and(|d| d != digest) {
        return Err(fail(
            state,
            Some(&auth),
            "the body does not match its signed digest",
        )
        .await);
    }
    let key_id = auth.key_id;
    let principal = match auth.role {
        Role::Admin => {
            let org = state.db(|c| c.org_key()).await?;
            match org {
                Some(k) if k.id().0 == key_id => check_signature(state, parts, &auth, &k, &digest)
                    .await
                    .map(|()| Principal::Admin(k)),
                _ => Err("unknown administrator key"),
            }
        }
        Role::Device => {
            let d = state.db(move |c| c.device(DeviceId(key_id))).await?;
            match d {
                Some(d) if d.state != DeviceState::Revoked => {
                    let key = d.device_key;
                    check_signature(state, parts, &auth, &key, &digest)
                        .await
                        .map(|()| Principal::Device(d))
                }
                _ => Err("unknown or revoked device"),
            }
        }
        Role::Staff => {
            let s = state.db(move |c| c.staff(StaffId(key_id))).await?;
            match s {
                Some(s) if s.removed_at.is_none() => {
                    let key = s.auth_key;
                    check_signature(state, parts, &auth, &key, &digest)
                        .await
                        .map(|()| Principal::Staff(s))
                }
                _ => Err("unknown or removed staff key"),
            }
        }
    };
    match principal {
        Ok(p) => Ok((p, digest)),
        Err(reason) => Err(fail(state, Some(&auth), reason).await),
    }
}

/// A signed request with its (small) body.
pub struct Signed {
    /// The caller.
    pub who: Principal,
    /// The body (digest verified).
    pub body: Bytes,
}

impl FromRequest<AppState> for Signed {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, ApiError> {
        let (parts, body) = req.into_parts();
        let limit = state.config.limits.max_json_bytes;
        let body = read_small_body(body, limit).await?;
        let digest = content_digest(&body);
        let (who, _) = authenticate(state, &parts, Some(digest)).await?;
        Ok(Signed { who, body })
    }
}

/// Whether a body error (or one of its causes) is a length-limit error.
pub fn is_length_limit(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = cur {
        if err.is::<http_body_util::LengthLimitError>() {
            return true;
        }
        cur = err.source();
    }
    false
}

/// Reads a body of at most `limit` bytes (413 beyond; 408 when it came
/// slower than the minimum rate, [`crate::pace`]).
pub async fn read_small_body(body: Body, limit: usize) -> Result<Bytes, ApiError> {
    axum::body::to_bytes(body, limit).await.map_err(|e| {
        if is_length_limit(&e) {
            ApiError::too_large(limit as u64)
        } else if let Some(slow) = crate::pace::too_slow(&e) {
            ApiError::new(
                axum::http::StatusCode::REQUEST_TIMEOUT,
                "body_too_slow",
                format!(
                    "the request body arrived slower than {} bytes per second; send it again",
                    slow.floor
                ),
            )
        } else {
            ApiError::bad_request("bad_body", "the request body could not be read")
        }
    })
}

/// A signed request whose body is streamed by the handler.
pub struct SignedHead {
    /// The caller.
    pub who: Principal,
    /// The body digest the caller signed: compare before committing.
    pub content_digest: [u8; 32],
}

impl FromRequestParts<AppState> for SignedHead {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let (who, content_digest) = authenticate(state, parts, None).await?;
        Ok(SignedHead {
            who,
            content_digest,
        })
    }
}

/// A request with a patient link token (rate limited per IP and per link).
pub struct LinkAuth {
    /// The link (any state: handlers decide what an unusable link may do).
    pub link: Link,
    /// The client's address (for its share of upload buffers).
    pub ip: Option<IpAddr>,
}

impl LinkAuth {
    /// Whom its uploads' buffers are charged to: the link and the client
    /// address.
    pub fn holders(&self) -> Vec<Holder> {
        let mut h = vec![Holder::Principal(format!("link:{}", self.link.link_id))];
        h.extend(
            self.ip
                .map(|ip| Holder::Ip(crate::conn_limit::client_key(ip))),
        );
        h
    }
}

async fn link_auth(state: &AppState, parts: &Parts) -> Result<Link, ApiError> {
    limit_ip(state, parts)?;
    let token = authorization(parts)
        .and_then(|h| h.strip_prefix(LINK_SCHEME))
        .and_then(|r| r.strip_prefix(' '))
        .and_then(|t| LinkToken::parse(t.trim()));
    let Some(token) = token else {
        return Err(fail(state, None, "missing or malformed link token").await);
    };
    let hash = token.hash();
    let link = state.db(move |c| c.link_by_token(hash)).await?;
    let Some(link) = link else {
        return Err(fail(state, None, "unknown link token").await);
    };
    state
        .link_limiter
        .check(&link.link_id.to_string())
        .map_err(|wait| {
            inc(&state.metrics.rate_limited);
            ApiError::rate_limited(wait)
        })?;
    Ok(link)
}

impl FromRequestParts<AppState> for LinkAuth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        Ok(LinkAuth {
            link: link_auth(state, parts).await?,
            ip: client_ip(parts),
        })
    }
}

/// Either a signed request (no body) or a link token.
pub enum AnyAuth {
    /// Signed.
    Signed(Box<Principal>),
    /// Link token.
    Link(Link),
}

impl FromRequestParts<AppState> for AnyAuth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        if authorization(parts).is_some_and(|h| h.starts_with(LINK_SCHEME)) {
            return Ok(AnyAuth::Link(link_auth(state, parts).await?));
        }
        let empty = content_digest(b"");
        let (who, _) = authenticate(state, parts, Some(empty)).await?;
        Ok(AnyAuth::Signed(Box::new(who)))
    }
}
