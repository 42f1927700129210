//! Patient links: created by a device or staff member, used by a patient
//! with the token (`Authorization: Sealcam-Link <token>`).

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::Json;
use sealcam_core::envelope::EnvelopeId;
use sealcam_core::keys::{context_commitment, LinkCapability, LinkCreator as KeyCreator};
use sealcam_core::protocol::api::{CreateLink, LinkCreated, LinkInfo, LinkSummary};

use crate::audit::{Action, AuditEvent};
use crate::auth::{LinkAuth, Principal, Signed};
use crate::catalog::{Creator, EnvelopeRow, Link, Source};
use crate::error::{ApiError, StoreError};
use crate::ids::{unix_now, LinkId, LinkToken};
use crate::metrics::{inc, GaugeGuard};
use crate::state::AppState;
use crate::upload::{self, CheckMode};

fn creator(who: &Principal) -> Result<Creator, ApiError> {
    match who {
        Principal::Staff(s) => Ok(Creator::Staff(s.staff_id)),
        Principal::Device(_) => Ok(Creator::Device(who.active_device()?.device_id)),
        Principal::Admin(_) => Err(ApiError::forbidden(
            "links are created by a device or a staff member",
        )),
    }
}

fn summary(l: &Link, now: u64) -> LinkSummary {
    LinkSummary {
        created_at: l.created_at,
        created_by: l.created_by,
        expires_at: l.expires_at,
        link_id: l.link_id,
        max_bytes: l.max_bytes,
        max_uploads: l.max_uploads,
        state: l.state(now),
        uploads: l.uploads,
    }
}

/// The terms of a link, from its capability (checked) or from the request.
struct Terms {
    link_id: LinkId,
    created_at: u64,
    expires_at: u64,
    max_uploads: u32,
    max_bytes: u64,
}

/// Checks a creator's capability before a link is made from it: well
/// formed, for this organisation, signed by the caller (a device with a
/// certificate valid now, or the staff member's own auth key), made now,
/// within the store's limits, naming only recipients in the published
/// directory, and committing to the context sent with it.
async fn checked_capability(
    state: &AppState,
    who: &Principal,
    bytes: &[u8],
    context: Option<&[u8]>,
    now: u64,
) -> Result<Terms, ApiError> {
    let bad = |m: &str| ApiError::bad_request("bad_capability", format!("the capability {m}"));
    let cap = LinkCapability::from_bytes(bytes).map_err(|_| bad("is malformed"))?;
    let org = state
        .db(|c| c.org_key())
        .await?
        .ok_or_else(|| bad("cannot be checked before the store is bootstrapped"))?;
    let signed_by_caller = match (cap.creator(), who) {
        (KeyCreator::Device(cert), Principal::Device(d)) => cert.device_key() == &d.device_key,
        (KeyCreator::Staff(key), Principal::Staff(s)) => *key == s.auth_key,
        _ => false,
    };
    if !signed_by_caller {
        return Err(bad("is not made by the caller"));
    }
    let trusted: Vec<_> = match who {
        Principal::Staff(s) => vec![s.auth_key],
        _ => Vec::new(),
    };
    cap.verify_creator(&org, &trusted)
        .map_err(|e| bad(&format!("does not verify: {e}")))?;
    if let KeyCreator::Device(cert) = cap.creator() {
        cert.verify(&org, now)
            .map_err(|e| bad(&format!("names a device certificate not valid now: {e}")))?;
    }
    let t = cap.terms();
    if t.created_at.abs_diff(now) > sealcam_core::envelope::MAX_CLOCK_SKEW_SECS {
        return Err(bad("was not made now (check the creating device's clock)"));
    }
    let d = &state.config.links;
    let lifetime = t.expires_at.saturating_sub(now);
    if lifetime == 0 || lifetime > d.max_expires_in_secs {
        return Err(bad(&format!(
            "must expire within {} seconds from now",
            d.max_expires_in_secs
        )));
    }
    if t.max_uploads > d.max_max_uploads {
        return Err(bad(&format!(
            "allows more than {} uploads",
            d.max_max_uploads
        )));
    }
    if t.max_bytes > state.config.limits.max_envelope_bytes {
        return Err(bad(&format!(
            "allows uploads larger than {} bytes",
            state.config.limits.max_envelope_bytes
        )));
    }
    if t.context_blake3 != context_commitment(context) {
        return Err(bad("does not commit to the context sent with it"));
    }
    let dir = state
        .db(|c| c.directory())
        .await?
        .ok_or_else(|| bad("cannot be checked: no recipient directory is published"))?;
    if let Some(r) = t.recipients.iter().find(|r| !dir.recipients.contains(r)) {
        return Err(bad(&format!(
            "names recipient {r}, not in the published directory"
        )));
    }
    Ok(Terms {
        link_id: LinkId(t.link_id),
        created_at: t.created_at,
        expires_at: t.expires_at,
        max_uploads: t.max_uploads,
        max_bytes: t.max_bytes,
    })
}

pub(crate) async fn create(
    State(state): State<AppState>,
    req: Signed,
) -> Result<(StatusCode, Json<LinkCreated>), ApiError> {
    let by = creator(&req.who)?;
    // The context is checked here (base64url, at most 64 KiB).
    let b: CreateLink = super::body(&req.body)?;
    let now = unix_now();
    let terms = match &b.capability {
        Some(cap) => checked_capability(&state, &req.who, cap, b.context.as_deref(), now).await?,
        None => request_terms(&state, &b, now)?,
    };
    let token = LinkToken::generate();
    let link = Link {
        link_id: terms.link_id,
        created_by: by,
        created_at: terms.created_at,
        expires_at: terms.expires_at,
        uploads: 0,
        max_uploads: terms.max_uploads,
        max_bytes: terms.max_bytes,
        revoked_at: None,
        context: b.context,
        capability: b.capability,
    };
    let (link_id, expires_at, max_uploads, max_bytes) = (
        link.link_id,
        link.expires_at,
        link.max_uploads,
        link.max_bytes,
    );
    let hash = token.hash();
    let ev = AuditEvent::new(Action::LinkCreate, req.who.actor(), link_id.to_string()).with_detail(
        serde_json::json!({"expires_at": expires_at, "max_uploads": max_uploads, "max_bytes": max_bytes}),
    );
    let made = state
        .db(move |c| match c.create_link(&link, hash, ev) {
            Err(StoreError::Conflict) => Ok(false),
            other => other.map(|()| true),
        })
        .await?;
    if !made {
        return Err(ApiError::conflict(
            "link_exists",
            "a link with this id exists: make a new capability (a fresh link id)",
        ));
    }
    Ok((
        StatusCode::CREATED,
        Json(LinkCreated {
            expires_at,
            link_id,
            max_bytes,
            max_uploads,
            token,
        }),
    ))
}

/// The terms of a link made without a capability: the request's values or
/// the store's defaults, within its maxima.
fn request_terms(state: &AppState, b: &CreateLink, now: u64) -> Result<Terms, ApiError> {
    let d = &state.config.links;
    let bad = |code, m: String| ApiError::bad_request(code, m);
    let lifetime = b.expires_in_secs.unwrap_or(d.default_expires_in_secs);
    if lifetime == 0 || lifetime > d.max_expires_in_secs {
        return Err(bad(
            "bad_expiry",
            format!("expires_in_secs must be 1 to {}", d.max_expires_in_secs),
        ));
    }
    let max_uploads = b.max_uploads.unwrap_or(d.default_max_uploads);
    if max_uploads == 0 || max_uploads > d.max_max_uploads {
        return Err(bad(
            "bad_max_uploads",
            format!("max_uploads must be 1 to {}", d.max_max_uploads),
        ));
    }
    let ceiling = state.config.limits.max_envelope_bytes;
    let max_bytes = b.max_bytes.unwrap_or(d.default_max_bytes.min(ceiling));
    if max_bytes == 0 || max_bytes > ceiling {
        return Err(bad(
            "bad_max_bytes",
            format!("max_bytes must be 1 to {ceiling}"),
        ));
    }
    Ok(Terms {
        link_id: LinkId::random(),
        created_at: now,
        expires_at: now + lifetime,
        max_uploads,
        max_bytes,
    })
}

pub(crate) async fn list(
    State(state): State<AppState>,
    req: Signed,
) -> Result<Json<Vec<LinkSummary>>, ApiError> {
    let filter = match &req.who {
        Principal::Admin(_) => None,
        who => Some(creator(who)?),
    };
    let now = unix_now();
    let links = state.db(move |c| c.list_links(filter)).await?;
    Ok(Json(links.iter().map(|l| summary(l, now)).collect()))
}

pub(crate) async fn revoke(
    State(state): State<AppState>,
    Path(id): Path<String>,
    req: Signed,
) -> Result<StatusCode, ApiError> {
    req.who.not_pending()?;
    let id: LinkId = super::path_id(&id)?;
    let link = state.db(move |c| c.link(id)).await?;
    let link = link.ok_or_else(|| ApiError::not_found("no such link"))?;
    let allowed = match &req.who {
        Principal::Admin(_) => true,
        who => creator(who).is_ok_and(|c| c == link.created_by),
    };
    if !allowed {
        return Err(ApiError::forbidden(
            "only the link's creator or the administrator may revoke it",
        ));
    }
    let ev = AuditEvent::new(Action::LinkRevoke, req.who.actor(), id.to_string());
    state.db(move |c| c.revoke_link(id, unix_now(), ev)).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub(crate) async fn info(auth: LinkAuth) -> Result<Json<LinkInfo>, ApiError> {
    let l = &auth.link;
    if !l.usable(unix_now()) {
        return Err(ApiError::gone());
    }
    Ok(Json(LinkInfo {
        capability: l.capability.clone(),
        expires_at: l.expires_at,
        link_id: l.link_id,
        max_bytes: l.max_bytes,
        uploads_left: l.max_uploads.saturating_sub(l.uploads),
    }))
}

pub(crate) async fn upload(
    State(state): State<AppState>,
    Path(id): Path<String>,
    auth: LinkAuth,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let holders = auth.holders();
    let link = auth.link;
    let id: EnvelopeId = id
        .parse()
        .map_err(|_| ApiError::bad_request("bad_id", "the envelope id must be 32 hex digits"))?;
    let limit = link.max_bytes.min(state.config.limits.max_envelope_bytes);
    let _gauge = GaugeGuard::new(&state.metrics.uploads_in_flight);
    let r = async {
        if !link.usable(unix_now()) {
            // A retry of an upload already made through this link may
            // still get its receipt; anything else is refused unread.
            let row = state.db(move |c| c.envelope(id)).await?;
            return match row {
                Some(r) if r.link_id == Some(link.link_id) => {
                    let staged = upload::receive(&state, body, limit, &holders).await?;
                    upload::existing(&state, &staged, &r)
                }
                _ => Err(ApiError::gone()),
            };
        }
        upload::check_length(&headers, limit)?;
        let staged = upload::receive(&state, body, limit, &holders).await?;
        if let Some(resp) = upload::precheck(&state, &staged, id).await? {
            return Ok(resp);
        }
        let org = state.db(|c| c.org_key()).await?.map(Box::new);
        let h = upload::check(&state, &staged, id, CheckMode::Link { org }).await?;
        // A link sends only to the recipients its creator named.
        if let Some(bytes) = &link.capability {
            let cap = LinkCapability::from_bytes(bytes).map_err(|_| ApiError::internal())?;
            if let Some(r) = h
                .recipients
                .iter()
                .find(|r| !cap.terms().recipients.contains(r))
            {
                return Err(ApiError::bad_request(
                    "invalid_envelope",
                    format!("recipient {r} is not one this link sends to"),
                ));
            }
        }
        let row = EnvelopeRow {
            id,
            blake3: staged.blake3,
            size: staged.size,
            created_at: h.created_at,
            received_at: unix_now(),
            source: Source::Link,
            // Verified when present (a signed envelope is checked in full).
            sender: h.sender,
            link_id: Some(link.link_id),
            context: link.context.clone(),
            recipients: h.recipients,
            blob_deleted_at: None,
        };
        let actor = format!("link:{}", link.link_id);
        let audit = vec![
            AuditEvent::new(Action::EnvelopeUpload, actor.clone(), id.to_string()).with_detail(
                serde_json::json!({"size": staged.size, "blake3": sealcam_core::hex::encode(&staged.blake3)}),
            ),
            AuditEvent::new(Action::LinkUse, actor, link.link_id.to_string())
                .with_detail(serde_json::json!({"envelope_id": id.to_string()})),
        ];
        upload::commit(&state, staged, row, audit).await
    }
    .await;
    if matches!(&r, Err(e) if e.status.is_client_error() && e.status != StatusCode::CONFLICT && e.status != StatusCode::GONE)
    {
        inc(&state.metrics.uploads_rejected);
    }
    r
}
