//! Devices: `GET /v1/devices` (admin), `PUT /v1/devices/{id}/certificate`
//! (admin), `GET /v1/devices/me` (the device).

use serde::{Deserialize, Serialize};

use super::fields::{b64, opt_b64_vec};
use super::ids::EnrolmentId;
use super::words::DeviceState;
use crate::keys::{DeviceId, DevicePublicKey};
use crate::record::Clinician;

/// One entry of `GET /v1/devices`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceSummary {
    /// The device's enrolment binding (HMAC keyed by the code over its
    /// key): the administrator checks it before certifying.
    #[serde(with = "b64")]
    pub binding: [u8; 32],
    /// The clinician its enrolment code named.
    pub clinician: Clinician,
    /// The device's id.
    pub device_id: DeviceId,
    /// The device's public key.
    pub device_key: DevicePublicKey,
    /// When it enrolled (Unix seconds).
    pub enrolled_at: u64,
    /// The enrolment (code) it registered with.
    pub enrolment_id: EnrolmentId,
    /// Its state.
    pub state: DeviceState,
}

/// The answer to `PUT /v1/devices/{device_id}/certificate` (200).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceCertified {
    /// Always [`DeviceState::Active`].
    pub state: DeviceState,
}

/// `GET /v1/devices/me`: the calling device (pending allowed).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceMe {
    /// Its organisation-signed certificate (FORMAT.md §8.5), once
    /// approved; `null` before.
    #[serde(with = "opt_b64_vec")]
    pub certificate: Option<Vec<u8>>,
    /// The device's id.
    pub device_id: DeviceId,
    /// Its state.
    pub state: DeviceState,
}
