//! Records staff: `POST`/`GET /v1/staff`, `DELETE /v1/staff/{staff_id}`
//! (admin).

use serde::{Deserialize, Serialize, Serializer};

use super::words::StaffState;
use super::{parse_json, BodyError, RequestBody};
use crate::keys::{Recipient, StaffId, StaffPublicKey};

/// A staff member's display name: 1 to 200 characters, no control or
/// text-direction characters ([`crate::display_text`]), no surrounding
/// white space.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct StaffName(String);

impl StaffName {
    /// Longest name, in characters.
    pub const MAX_CHARS: usize = 200;

    /// `name` without surrounding white space, if it is a usable name.
    pub fn new(name: &str) -> Option<Self> {
        let name = name.trim();
        let ok = (1..=Self::MAX_CHARS).contains(&name.chars().count())
            && crate::display_text::is_display_safe(name);
        ok.then(|| StaffName(name.to_string()))
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for StaffName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl Serialize for StaffName {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

/// `POST /v1/staff` (admin): registers a records staff member.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "RawAddStaff")]
pub struct AddStaff {
    /// The key their requests are signed with; its `StaffId` names them.
    pub auth_key: StaffPublicKey,
    /// Their display name.
    pub name: StaffName,
    /// The recipient key they open envelopes for: their inbox lists
    /// envelopes addressed to it.
    pub recipient: Recipient,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAddStaff {
    auth_key: String,
    name: String,
    recipient: String,
}

impl TryFrom<RawAddStaff> for AddStaff {
    type Error = BodyError;
    /// Checked in the order the store always has: name, recipient, auth key.
    fn try_from(raw: RawAddStaff) -> Result<Self, BodyError> {
        let name = StaffName::new(&raw.name).ok_or(BodyError::Field {
            code: "bad_name",
            message: "name must be 1 to 200 characters without control characters",
        })?;
        let recipient = raw.recipient.parse().map_err(|_| BodyError::Field {
            code: "bad_key",
            message: "recipient is not a recipient public key (sealcam1…)",
        })?;
        let auth_key = raw.auth_key.parse().map_err(|_| BodyError::Field {
            code: "bad_key",
            message: "auth_key is not a staff public key (sealcamstaff1…)",
        })?;
        Ok(AddStaff {
            auth_key,
            name,
            recipient,
        })
    }
}

impl RequestBody for AddStaff {
    fn from_json(body: &[u8]) -> Result<Self, BodyError> {
        parse_json::<RawAddStaff>(body)?.try_into()
    }
}

/// The answer to [`AddStaff`] (201).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct StaffAdded {
    /// The `StaffId` of their auth key.
    pub staff_id: StaffId,
}

/// One entry of `GET /v1/staff`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StaffSummary {
    /// Their auth key.
    pub auth_key: StaffPublicKey,
    /// When they were registered (Unix seconds).
    pub created_at: u64,
    /// Their display name.
    pub name: String,
    /// Their recipient key.
    pub recipient: Recipient,
    /// Their id.
    pub staff_id: StaffId,
    /// Whether they were removed.
    pub state: StaffState,
}
