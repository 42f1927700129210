//! The JSON shapes that cross the bridge (docs/BRIDGE.md gives each with
//! an example). The record draft is not here: it is the record JSON of
//! docs/RECORD.md, read by `sealcam_core::capture::RecordDraft::from_json`.
//!
//! Output shapes are written by this crate and may gain fields (readers
//! must ignore fields they do not know); input shapes refuse unknown
//! fields, so a misspelt option is an error rather than silently ignored.

use serde::{Deserialize, Serialize};

/// An error: `{"code", "name", "message"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorJson {
    /// The code's number ([`sealcam_core::ErrorCode`]).
    pub code: u32,
    /// The code's name (`not_enrolled`).
    pub name: String,
    /// What went wrong (no patient data).
    pub message: String,
}

/// What [`crate::inspect`] returns: the envelope's plaintext routing
/// header (nothing in it is authenticated).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoutingJson {
    /// The envelope id, 32 hex digits.
    pub id: String,
    /// The creation time the sender claims, Unix seconds.
    pub created_at: u64,
    /// The envelope's length in bytes.
    pub envelope_len: u64,
    /// The encrypted payload's plaintext length in bytes.
    pub plaintext_len: u64,
    /// The recipients' key ids (32 hex digits each), in stanza order.
    pub recipients: Vec<String>,
    /// The signing device's key id, or `null` for an unsigned envelope.
    pub sender: Option<String>,
}

/// A device state after `Agent::refresh`: `{"state": "active"}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefreshJson {
    /// Where the device stands.
    pub state: DeviceStateJson,
}

/// `pending`, `active` or `revoked`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeviceStateJson {
    /// Enrolled; waiting for the administrator's approval.
    Pending,
    /// Approved, with a certificate and a recipient directory.
    Active,
    /// Revoked by the administrator.
    Revoked,
}

/// Something the user interface may show, from
/// `Agent::next_event`. Tagged by `type`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum EventJson {
    /// A photo was sealed and queued: `{"type":"queued","id":"…","size":123}`.
    Queued {
        /// The envelope id.
        id: String,
        /// Its size in bytes.
        size: u64,
    },
    /// An envelope is being sent.
    Uploading {
        /// The envelope id.
        id: String,
    },
    /// The store confirmed an envelope; it left the outbox.
    Uploaded {
        /// The envelope id.
        id: String,
    },
    /// The store refused an envelope for good (kept aside; see
    /// `Agent::requeue_rejected`).
    Rejected {
        /// The envelope id.
        id: String,
        /// The store's HTTP status.
        status: u16,
    },
    /// Sending failed; the outbox is kept and will be retried.
    Retrying {
        /// The error code's number.
        code: u32,
        /// The error code's name.
        name: String,
        /// Milliseconds until the next attempt (0 when not known).
        delay_ms: u64,
    },
}

/// What one `Agent::sync` pass did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncReportJson {
    /// Envelopes the store confirmed.
    pub uploaded: u64,
    /// Envelopes the store refused for good.
    pub rejected: u64,
    /// Envelopes still queued.
    pub remaining: u64,
}

/// One envelope in the outbox.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutboxEntryJson {
    /// The envelope id.
    pub id: String,
    /// Its size in bytes.
    pub size: u64,
    /// When it was queued, Unix seconds.
    pub queued_at: u64,
}

/// The device at a glance, from `Agent::status`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusJson {
    /// The device's key id (32 hex digits): what the administrator approves.
    pub device_id: String,
    /// Whether the device holds a certificate.
    pub approved: bool,
    /// Whether the last refresh found the device revoked.
    pub revoked: bool,
    /// Whether the certificate is valid now.
    pub certificate_valid: bool,
    /// The version of the valid recipient directory held, or `null`.
    pub directory_version: Option<u64>,
    /// The clinician the certificate names (the default for drafts), or
    /// `null` before approval.
    pub clinician: Option<ClinicianJson>,
    /// Envelopes waiting to be sent, oldest first.
    pub queued: Vec<OutboxEntryJson>,
    /// Envelopes the store refused for good.
    pub rejected: Vec<OutboxEntryJson>,
    /// The error of the last failed sync, or `null`.
    pub last_error: Option<ErrorJson>,
}

/// A clinician as in docs/RECORD.md.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClinicianJson {
    /// The name.
    pub name: String,
    /// `GMC`, `NMC`, … or another body's abbreviation.
    pub registration_body: String,
    /// The registration number.
    pub registration_number: String,
}

/// The argument of `Agent::create_link`; every field optional
/// (`{}` takes the store's defaults).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LinkRequestJson {
    /// How long the link works, in seconds.
    #[serde(default)]
    pub expires_in_secs: Option<u64>,
    /// How many uploads it allows.
    #[serde(default)]
    pub max_uploads: Option<u64>,
    /// The largest upload it accepts, in bytes.
    #[serde(default)]
    pub max_bytes: Option<u64>,
    /// An opaque blob, already sealed by the caller to the recipients,
    /// that the store attaches to every upload through the link:
    /// base64url without padding.
    #[serde(default)]
    pub context: Option<String>,
}

/// A patient link as created. `url` holds the token (the capability):
/// show it once, to be sent to the patient, and do not log it.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkJson {
    /// The link's id (for listing and revoking).
    pub link_id: String,
    /// The page URL for the patient; the token is in its fragment.
    pub url: String,
    /// When it stops working, Unix seconds.
    pub expires_at: u64,
    /// How many uploads it allows.
    pub max_uploads: u64,
    /// The largest upload it accepts, in bytes.
    pub max_bytes: u64,
}

impl std::fmt::Debug for LinkJson {
    // The URL holds the token.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LinkJson")
            .field("link_id", &self.link_id)
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

/// Writes a shape as compact JSON. These shapes are plain structs of
/// strings, numbers, booleans and lists with string keys, which serde_json
/// always serialises; a failure is reported as an internal error all the
/// same.
pub(crate) fn to_string<T: Serialize>(value: &T) -> Result<String, crate::BridgeError> {
    serde_json::to_string(value).map_err(|_| {
        crate::BridgeError::new(
            sealcam_core::ErrorCode::Internal,
            "internal error: a result could not be written as JSON",
        )
    })
}
