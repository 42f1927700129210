//! The store's HTTP API as types (docs/API.md): every JSON request and
//! response body, the error body, and every route's method and path.
//!
//! The store (`sealcam-store`), the relay agent, the CLI and the tests all
//! read and write the wire through these types, so a field is named,
//! typed and documented once. Serde only: nothing here does I/O.
//!
//! | module | holds |
//! |---|---|
//! | [`route`] | [`Method`], [`Endpoint`] (the route table: method and path pattern), [`Route`] (a concrete request target with typed ids), [`AuditQuery`] |
//! | [`ids`] | the store's own ids [`LinkId`], [`EnrolmentId`]; the secrets it hands out once, [`LinkToken`]; a one-time code as typed, [`CodeInput`] |
//! | [`words`] | the API's fixed words: [`DeviceState`], [`EnrolmentState`], [`LinkState`], [`StaffState`], [`InboxSource`], [`LinkCreator`] |
//! | [`store`] | `GET /v1/info`, `POST /v1/bootstrap`, `PUT /v1/directory` |
//! | [`enrolment`] | enrolment codes and `POST /v1/enrol` |
//! | [`devices`] | device listing, certificate, `me` |
//! | [`staff`] | records staff |
//! | [`envelopes`] | the staff inbox (uploads answer a [`super::Receipt`]) |
//! | [`links`] | patient links |
//!
//! Conventions:
//!
//! - Request bodies the store parses refuse unknown fields and are read
//!   with [`RequestBody::from_json`], which says which field was refused
//!   with the store's error code for it ([`BodyError`]); they are also
//!   `Deserialize` with the same checks.
//! - Response fields are declared in the order the store has always sent
//!   them (alphabetical where the store built them as `serde_json` maps),
//!   so the bytes on the wire are unchanged.
//! - Key and id fields are the core's types (`DeviceId`, `OrgPublicKey`,
//!   [`crate::envelope::EnvelopeId`], …): text on the wire, parsed at the
//!   boundary. Binary fields are base64url without padding; digests are
//!   lower-case hex.
//! - `Debug` of anything holding a link token or a one-time code shows
//!   `<redacted>` instead.

pub mod devices;
pub mod enrolment;
pub mod envelopes;
pub mod ids;
pub mod links;
pub mod route;
pub mod staff;
pub mod store;
pub mod words;

mod fields;

pub use devices::{DeviceCertified, DeviceMe, DeviceSummary};
pub use enrolment::{CreateEnrolment, EnrolRequest, Enrolled, EnrolmentCreated, EnrolmentSummary};
pub use envelopes::InboxEntry;
pub use ids::{CodeInput, EnrolmentId, IdError, LinkId, LinkToken};
pub use links::{CreateLink, LinkCreated, LinkInfo, LinkSummary, MAX_LINK_CONTEXT_BYTES};
pub use route::{AuditQuery, Endpoint, Method, Route};
pub use staff::{AddStaff, StaffAdded, StaffName, StaffSummary};
pub use store::{BootstrapRequest, Bootstrapped, DirectoryPublished, Info, InfoLimits};
pub use words::{DeviceState, EnrolmentState, InboxSource, LinkCreator, LinkState, StaffState};

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

/// The body of every error answer: `{"error": code, "message": …}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// The machine-readable code (`bad_json`, `unauthorized`,
    /// `invalid_envelope`, …): stable, what clients branch on.
    pub error: String,
    /// What is wrong and what to do, for a person. Never a token, code,
    /// key or value taken from the request.
    pub message: String,
}

impl ErrorBody {
    /// An error body with this code and message.
    pub fn new(error: impl Into<String>, message: impl Into<String>) -> Self {
        ErrorBody {
            error: error.into(),
            message: message.into(),
        }
    }

    /// Reads an error answer; `None` when the body is not the store's
    /// error JSON (a proxy's page, an empty body).
    pub fn from_json(body: &[u8]) -> Option<Self> {
        serde_json::from_slice(body).ok()
    }
}

/// Why the store refuses a JSON request body (400): the error code it
/// answers and a message that names the field, never its value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BodyError {
    /// Not JSON, or not the body's shape (a missing, unknown or mistyped
    /// field): `bad_json`. The text says where, from serde's message with
    /// any value in it left out.
    #[error("the JSON body is not valid: {0}")]
    Json(String),
    /// A field is well-formed JSON but its value is refused; `code` is the
    /// store's error code for it (`bad_key`, `bad_proof`, …).
    #[error("{message}")]
    Field {
        /// The store's error code.
        code: &'static str,
        /// What the field must be.
        message: &'static str,
    },
}

impl BodyError {
    /// The store's error code for this refusal.
    pub fn code(&self) -> &'static str {
        match self {
            BodyError::Json(_) => "bad_json",
            BodyError::Field { code, .. } => code,
        }
    }

    /// The refusal as the store's error body.
    pub fn to_error_body(&self) -> ErrorBody {
        ErrorBody::new(self.code(), self.to_string())
    }
}

/// A JSON request body the store reads: strictly (unknown fields refused),
/// into typed values, with a field-specific error code when a value is
/// refused.
pub trait RequestBody: Sized {
    /// Parses and checks a body.
    fn from_json(body: &[u8]) -> Result<Self, BodyError>;
}

/// Deserializes `body` as `T`, with an error that never echoes a value
/// from it (serde's messages for bad values quote them).
pub fn parse_json<T: DeserializeOwned>(body: &[u8]) -> Result<T, BodyError> {
    serde_json::from_slice(body).map_err(|e| {
        let msg = e.to_string();
        let safe = msg.starts_with("missing field") || msg.starts_with("unknown field");
        let what = if safe {
            msg.split(" at line")
                .next()
                .unwrap_or("invalid")
                .to_string()
        } else {
            format!(
                "invalid {} at line {} column {}",
                match e.classify() {
                    serde_json::error::Category::Syntax => "JSON syntax",
                    serde_json::error::Category::Eof => "JSON (truncated)",
                    _ => "value",
                },
                e.line(),
                e.column()
            )
        };
        BodyError::Json(what)
    })
}

#[cfg(test)]
mod tests;
