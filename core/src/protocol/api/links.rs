//! Patient links: created by an active device or a staff member
//! (`POST /v1/links`), listed, revoked, and used by a patient with the
//! token (`GET /v1/link`, `PUT /v1/link/envelopes/{envelope_id}`).

use serde::{Deserialize, Serialize};

use super::fields::opt_b64_vec;
use super::ids::{LinkId, LinkToken};
use super::words::{LinkCreator, LinkState};
use super::{parse_json, BodyError, RequestBody};
use crate::protocol::text::parse_b64_vec;

/// Largest opaque context a link may carry, in bytes (decoded).
pub const MAX_LINK_CONTEXT_BYTES: usize = 64 * 1024;

/// `POST /v1/links`: every field optional; the store's defaults and
/// maxima apply (docs/API.md). With a `capability` (the creator's signed
/// `keys::LinkCapability`), the link's id, lifetime, limits and recipients
/// are the capability's, and the other limit fields must be left out.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "RawCreateLink")]
pub struct CreateLink {
    /// The creator's signed link capability (base64url): what lets records
    /// staff file the link's uploads as vouched for.
    #[serde(with = "opt_b64_vec", skip_serializing_if = "Option::is_none")]
    pub capability: Option<Vec<u8>>,
    /// An opaque blob (sealed by the creator to the recipients) attached
    /// to every upload's inbox entry; at most [`MAX_LINK_CONTEXT_BYTES`].
    #[serde(with = "opt_b64_vec", skip_serializing_if = "Option::is_none")]
    pub context: Option<Vec<u8>>,
    /// How long the link works, in seconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires_in_secs: Option<u64>,
    /// The largest upload it accepts, in bytes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_bytes: Option<u64>,
    /// How many uploads it allows.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_uploads: Option<u32>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCreateLink {
    capability: Option<String>,
    context: Option<String>,
    expires_in_secs: Option<u64>,
    max_bytes: Option<u64>,
    max_uploads: Option<u32>,
}

impl TryFrom<RawCreateLink> for CreateLink {
    type Error = BodyError;
    fn try_from(raw: RawCreateLink) -> Result<Self, BodyError> {
        let context = raw
            .context
            .map(|c| {
                parse_b64_vec(&c)
                    .filter(|v| v.len() <= MAX_LINK_CONTEXT_BYTES)
                    .ok_or(BodyError::Field {
                        code: "bad_context",
                        message: "context must be base64url (no padding), at most 64 KiB decoded",
                    })
            })
            .transpose()?;
        let capability = raw
            .capability
            .map(|c| {
                parse_b64_vec(&c)
                    .filter(|v| !v.is_empty() && v.len() <= 4096)
                    .ok_or(BodyError::Field {
                        code: "bad_capability",
                        message: "capability must be base64url (no padding), at most 4 KiB decoded",
                    })
            })
            .transpose()?;
        if capability.is_some()
            && (raw.expires_in_secs.is_some()
                || raw.max_bytes.is_some()
                || raw.max_uploads.is_some())
        {
            return Err(BodyError::Field {
                code: "bad_capability",
                message: "with a capability, the link's lifetime and limits are the capability's: \
                          leave out expires_in_secs, max_bytes and max_uploads",
            });
        }
        Ok(CreateLink {
            capability,
            context,
            expires_in_secs: raw.expires_in_secs,
            max_bytes: raw.max_bytes,
            max_uploads: raw.max_uploads,
        })
    }
}

impl RequestBody for CreateLink {
    fn from_json(body: &[u8]) -> Result<Self, BodyError> {
        parse_json::<RawCreateLink>(body)?.try_into()
    }
}

/// The answer to [`CreateLink`] (201). The token is shown this once; the
/// patient's page is `<public_url>/p#<token>`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkCreated {
    /// When it stops working (Unix seconds).
    pub expires_at: u64,
    /// Its public id.
    pub link_id: LinkId,
    /// The largest upload it accepts, in bytes.
    pub max_bytes: u64,
    /// How many uploads it allows.
    pub max_uploads: u32,
    /// The token (secret: only for the patient).
    pub token: LinkToken,
}

/// One entry of `GET /v1/links`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkSummary {
    /// When it was made (Unix seconds).
    pub created_at: u64,
    /// Who made it.
    pub created_by: LinkCreator,
    /// Its last valid second (Unix seconds).
    pub expires_at: u64,
    /// Its public id.
    pub link_id: LinkId,
    /// The largest upload it accepts, in bytes.
    pub max_bytes: u64,
    /// How many uploads it allows.
    pub max_uploads: u32,
    /// Its state now.
    pub state: LinkState,
    /// Uploads made so far.
    pub uploads: u32,
}

/// `GET /v1/link` (link token): what the patient's page needs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkInfo {
    /// The creator's signed capability (base64url), which the page seals
    /// into each upload's record; left out for a link made without one.
    #[serde(default, with = "opt_b64_vec", skip_serializing_if = "Option::is_none")]
    pub capability: Option<Vec<u8>>,
    /// When it stops working (Unix seconds).
    pub expires_at: u64,
    /// Its public id.
    pub link_id: LinkId,
    /// The largest upload it accepts, in bytes.
    pub max_bytes: u64,
    /// Uploads it still allows.
    pub uploads_left: u32,
}
