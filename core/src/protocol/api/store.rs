//! The store as a whole: `GET /v1/info`, `POST /v1/bootstrap`,
//! `PUT /v1/directory`.

use serde::{Deserialize, Serialize};

use super::ids::CodeInput;
use super::{parse_json, BodyError, RequestBody};
use crate::keys::{OrgPublicKey, StorePublicKey};

/// `GET /v1/info` (anonymous).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Info {
    /// The limits clients should respect.
    pub limits: InfoLimits,
    /// The organisation key, once bootstrapped (`null` before).
    pub org_key: Option<OrgPublicKey>,
    /// The store's receipt-signing key.
    pub store_key: StorePublicKey,
    /// The SPKI pin of the store's TLS certificate, `sha256/<base64>`.
    pub tls_pin: String,
    /// The store's version (`sealcam-store` package version).
    pub version: String,
}

/// The limits in [`Info`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct InfoLimits {
    /// A patient link's lifetime when its creator gives none, in seconds.
    pub link_default_expires_in_secs: u64,
    /// A patient link's largest upload when its creator gives none.
    pub link_default_max_bytes: u64,
    /// A patient link's number of uploads when its creator gives none.
    pub link_default_max_uploads: u32,
    /// The largest envelope accepted, in bytes.
    pub max_envelope_bytes: u64,
    /// The largest JSON (or small binary) request body accepted, in bytes.
    pub max_json_bytes: u64,
}

/// `POST /v1/bootstrap`: registers the organisation key, signed
/// (`role=admin`) by that key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "RawBootstrap")]
pub struct BootstrapRequest {
    /// The bootstrap code the store printed, as typed.
    pub code: CodeInput,
    /// The organisation's public key.
    pub org_key: OrgPublicKey,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawBootstrap {
    code: CodeInput,
    org_key: String,
}

impl TryFrom<RawBootstrap> for BootstrapRequest {
    type Error = BodyError;
    fn try_from(raw: RawBootstrap) -> Result<Self, BodyError> {
        let org_key = raw.org_key.parse().map_err(|_| BodyError::Field {
            code: "bad_key",
            message: "org_key is not an organisation public key (sealcamorg1…)",
        })?;
        Ok(BootstrapRequest {
            code: raw.code,
            org_key,
        })
    }
}

impl RequestBody for BootstrapRequest {
    fn from_json(body: &[u8]) -> Result<Self, BodyError> {
        parse_json::<RawBootstrap>(body)?.try_into()
    }
}

/// The answer to a bootstrap (200).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Bootstrapped {
    /// The organisation key now registered.
    pub org_key: OrgPublicKey,
}

/// The answer to `PUT /v1/directory` (200).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct DirectoryPublished {
    /// The version now published.
    pub version: u64,
}
