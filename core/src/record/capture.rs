//! How the image was taken: when, by whom, on which device, through which
//! route ([`Source`]).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use time::OffsetDateTime;

use super::wire::{self, word_enum};
use super::{Clinician, RecordError};

word_enum! {
    /// The route by which the image reached sealcam.
    pub enum Source (RecordError::Source) {
        /// Taken in the sealcam phone app by the clinician.
        DeviceCapture = "device_capture",
        /// Sent by the patient through a secure upload link.
        PatientLink = "patient_link",
        /// Imported on a desktop (medical photography PC, `sealcam send`).
        DesktopImport = "desktop_import",
    }
}

/// The 16-byte id of the enrolled device that sealed the image, written as
/// exactly 32 lowercase hexadecimal characters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct DeviceIdHex([u8; 16]);

impl DeviceIdHex {
    /// Wraps a device id.
    pub fn from_bytes(bytes: [u8; 16]) -> Self {
        DeviceIdHex(bytes)
    }

    /// Parses exactly 32 lowercase hexadecimal characters.
    pub fn parse(s: &str) -> Result<Self, RecordError> {
        wire::parse_hex_lower::<16>(s)
            .map(DeviceIdHex)
            .ok_or(RecordError::DeviceId)
    }

    /// The device id's bytes.
    pub fn as_bytes(&self) -> &[u8; 16] {
        &self.0
    }
}

impl fmt::Display for DeviceIdHex {
    /// Writes the 32 lowercase hexadecimal characters.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&wire::hex_lower(&self.0))
    }
}

impl FromStr for DeviceIdHex {
    type Err = RecordError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        DeviceIdHex::parse(s)
    }
}

impl From<[u8; 16]> for DeviceIdHex {
    fn from(bytes: [u8; 16]) -> Self {
        DeviceIdHex(bytes)
    }
}

impl Serialize for DeviceIdHex {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for DeviceIdHex {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        wire::deserialize_string_with(deserializer, DeviceIdHex::parse, RecordError::DeviceId)
    }
}

/// The capture details passed to [`super::ClinicalRecord::new`]. In JSON
/// these three are top-level fields of the record (`captured_at`,
/// `clinician`, `device_id`), not an object of their own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Capture {
    /// When the image was taken (or received, for a patient link; imported,
    /// for a desktop import). Must be writable as RFC 3339: years 0 to 9999,
    /// an offset of whole minutes.
    pub captured_at: OffsetDateTime,
    /// The clinician responsible: who took the image, issued the patient
    /// link, or imported it.
    pub clinician: Clinician,
    /// The enrolled device that sealed the image, when there is one.
    pub device_id: Option<DeviceIdHex>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn device_id_is_32_lowercase_hex() {
        let id = DeviceIdHex::parse("00112233445566778899aabbccddeeff").expect("valid");
        assert_eq!(id.as_bytes()[15], 0xff);
        assert_eq!(id.to_string(), "00112233445566778899aabbccddeeff");
        assert_eq!(DeviceIdHex::from([0xab; 16]).to_string(), "ab".repeat(16));
        for bad in [
            "00112233445566778899AABBCCDDEEFF",
            "00112233445566778899aabbccddeef",
            "00112233445566778899aabbccddeeff0",
            " 00112233445566778899aabbccddeeff",
            "0011223344556677-8899aabbccddeef",
        ] {
            assert_eq!(DeviceIdHex::parse(bad), Err(RecordError::DeviceId), "{bad}");
        }
        let json = serde_json::to_string(&id).expect("ser");
        assert_eq!(json, "\"00112233445566778899aabbccddeeff\"");
        assert_eq!(serde_json::from_str::<DeviceIdHex>(&json).expect("de"), id);
    }

    #[test]
    fn source_words() {
        assert_eq!("patient-link".parse::<Source>(), Ok(Source::PatientLink));
        assert_eq!(
            Source::from_canonical("desktop_import"),
            Ok(Source::DesktopImport)
        );
        assert_eq!(Source::from_canonical("upload"), Err(RecordError::Source));
        assert_eq!(
            serde_json::to_string(&Source::DeviceCapture).expect("ser"),
            "\"device_capture\""
        );
    }
}
