//! Enrolment codes (`POST`/`GET /v1/enrolments`, admin) and device
//! enrolment (`POST /v1/enrol`, anonymous, with a code's digest).

use serde::{Deserialize, Serialize};

use super::fields::{b64, hex32};
use super::ids::EnrolmentId;
use super::words::{DeviceState, EnrolmentState};
use super::{parse_json, BodyError, RequestBody};
use crate::keys::{DeviceId, DevicePublicKey, DeviceSigningKey};
use crate::protocol::enrolment::{proof_message, OneTimeCode};
use crate::protocol::text::parse_b64;
use crate::record::Clinician;

/// `POST /v1/enrolments` (admin): a one-time enrolment code for a
/// clinician's device.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateEnrolment {
    /// The clinician a device enrolled with the code will be certified for.
    pub clinician: Clinician,
    /// How long the code is valid, in seconds (default 86400; the store
    /// refuses more than its maximum, 604800 by default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_in_secs: Option<u64>,
}

impl RequestBody for CreateEnrolment {
    fn from_json(body: &[u8]) -> Result<Self, BodyError> {
        parse_json(body)
    }
}

/// The answer to [`CreateEnrolment`] (201). The code is shown this once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnrolmentCreated {
    /// The one-time code (secret: give it only to the device).
    pub code: OneTimeCode,
    /// When the code stops working (Unix seconds).
    pub expires_at: u64,
    /// The enrolment's public id.
    pub id: EnrolmentId,
}

/// One entry of `GET /v1/enrolments` (never the code).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnrolmentSummary {
    /// The enrolment's public id.
    pub id: EnrolmentId,
    /// The clinician it was made for.
    pub clinician: Clinician,
    /// When it was made (Unix seconds).
    pub created_at: u64,
    /// Its last valid second (Unix seconds).
    pub expires_at: u64,
    /// Its state now.
    pub state: EnrolmentState,
}

/// `POST /v1/enrol`: a device registers its key with a code's digest; the
/// code itself never leaves the device (see
/// [`crate::protocol::enrolment`]).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "RawEnrol")]
pub struct EnrolRequest {
    /// HMAC-SHA256 keyed by the code over the device key: checked by the
    /// administrator before certifying.
    #[serde(with = "b64")]
    pub binding: [u8; 32],
    /// SHA-256 of the canonical code.
    #[serde(serialize_with = "hex32")]
    pub code_digest: [u8; 32],
    /// The device's public key.
    pub device_key: DevicePublicKey,
    /// The device key's signature over
    /// [`proof_message`]`(code_digest)`.
    #[serde(with = "b64")]
    pub proof: [u8; 64],
}

impl EnrolRequest {
    /// The request that enrols `key` with `code`.
    pub fn new(code: &OneTimeCode, key: &DeviceSigningKey) -> Self {
        let code_digest = code.digest();
        EnrolRequest {
            binding: code.binding(&key.public()),
            code_digest,
            device_key: key.public(),
            proof: key.sign(&proof_message(&code_digest)),
        }
    }

    /// Whether `proof` is the device key's signature over the code digest.
    pub fn proof_verifies(&self) -> bool {
        self.device_key
            .verify(&proof_message(&self.code_digest), &self.proof)
            .is_ok()
    }
}

impl std::fmt::Debug for EnrolRequest {
    /// The device key only: the digest, proof and binding are derived
    /// from the one-time code.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EnrolRequest")
            .field("device_key", &self.device_key)
            .finish_non_exhaustive()
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEnrol {
    binding: String,
    code_digest: String,
    device_key: String,
    proof: String,
}

impl TryFrom<RawEnrol> for EnrolRequest {
    type Error = BodyError;
    /// Checked in the order the store always has: digest, key, proof,
    /// binding.
    fn try_from(raw: RawEnrol) -> Result<Self, BodyError> {
        let code_digest = crate::hex::decode::<32>(&raw.code_digest).ok_or(BodyError::Field {
            code: "bad_code_digest",
            message: "code_digest must be 64 lower-case hex digits (SHA-256 of the canonical code)",
        })?;
        let device_key = raw.device_key.parse().map_err(|_| BodyError::Field {
            code: "bad_key",
            message: "device_key is not a device public key (sealcamdev1…)",
        })?;
        let proof = parse_b64::<64>(&raw.proof).ok_or(BodyError::Field {
            code: "bad_proof",
            message: "proof must be 86 base64url characters",
        })?;
        let binding = parse_b64::<32>(&raw.binding).ok_or(BodyError::Field {
            code: "bad_binding",
            message: "binding must be 43 base64url characters",
        })?;
        Ok(EnrolRequest {
            binding,
            code_digest,
            device_key,
            proof,
        })
    }
}

impl RequestBody for EnrolRequest {
    fn from_json(body: &[u8]) -> Result<Self, BodyError> {
        parse_json::<RawEnrol>(body)?.try_into()
    }
}

/// The answer to [`EnrolRequest`] (201).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Enrolled {
    /// The device's id (the `DeviceId` of its key).
    pub device_id: DeviceId,
    /// Always [`DeviceState::Pending`]: the administrator approves it.
    pub state: DeviceState,
}
