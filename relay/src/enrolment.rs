//! The enrolment payload: what a device needs to join a store, as one line
//! of text (shown by the admin CLI and encoded in a QR code for phones).
//!
//! ```text
//! sealcam-enrol:v1;url=https://store.example:8443;pin=sha256/<44 base64>;org=<32 hex>;code=<one-time code>
//! ```
//!
//! - `url`: the store's base URL (`https://`, no `;`, no spaces);
//! - `pin`: SHA-256 of the store certificate's SubjectPublicKeyInfo, the
//!   TLS pin the device checks on every connection;
//! - `org`: the organisation key's id ([`OrgId`]): the device fetches the
//!   key from the store over the pinned connection and checks its id, then
//!   pins the key itself;
//! - `code`: the one-time enrolment code (secret: never logged).

use super::RelayError;
use sealcam_core::keys::OrgId;
use sealcam_platform::TlsPin;

const PREFIX: &str = "sealcam-enrol:v1;";
const MAX_LEN: usize = 1024;

/// A parsed enrolment payload. `Debug` hides the code.
#[derive(Clone, PartialEq, Eq)]
pub struct EnrolmentPayload {
    /// The store's base URL, without a trailing slash.
    pub url: String,
    /// SHA-256 of the store certificate's SubjectPublicKeyInfo.
    pub pin: TlsPin,
    /// The organisation key's id.
    pub org: OrgId,
    /// The one-time enrolment code.
    pub code: String,
}

impl std::fmt::Debug for EnrolmentPayload {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EnrolmentPayload")
            .field("url", &self.url)
            .field("org", &self.org)
            .finish_non_exhaustive()
    }
}

fn valid_url(url: &str) -> bool {
    url.strip_prefix("https://").is_some_and(|rest| {
        !rest.is_empty()
            && url.len() <= 512
            && url
                .chars()
                .all(|c| c.is_ascii_graphic() && c != ';' && c != '#' && c != '?')
    })
}

fn valid_code(code: &str) -> bool {
    sealcam_core::protocol::enrolment::OneTimeCode::parse(code).is_some_and(|c| c.expose() == code)
}

impl EnrolmentPayload {
    /// Builds a payload, checking each part.
    pub fn new(url: &str, pin: TlsPin, org: OrgId, code: &str) -> Result<Self, RelayError> {
        let url = url.trim_end_matches('/');
        if !valid_url(url) {
            return Err(RelayError::BadPayload(
                "the store URL must start with https:// and contain no ';', '?', '#' or spaces",
            ));
        }
        if !valid_code(code) {
            return Err(RelayError::BadPayload(
                "the enrolment code must be a sealcam code: 8 groups of 4 characters (XXXX-XXXX-…)",
            ));
        }
        Ok(EnrolmentPayload {
            url: url.to_owned(),
            pin,
            org,
            code: code.to_owned(),
        })
    }

    /// Parses the one-line text form (surrounding white space ignored;
    /// fields in the order url, pin, org, code).
    pub fn parse(text: &str) -> Result<Self, RelayError> {
        let text = text.trim();
        if text.len() > MAX_LEN {
            return Err(RelayError::BadPayload("the enrolment payload is too long"));
        }
        let rest = text.strip_prefix(PREFIX).ok_or(RelayError::BadPayload(
            "not a sealcam enrolment payload (it should start with sealcam-enrol:v1;)",
        ))?;
        let mut fields = rest.split(';');
        let mut next = |name: &str| {
            fields
                .next()
                .and_then(|f| f.strip_prefix(name))
                .and_then(|f| f.strip_prefix('='))
                .ok_or(RelayError::BadPayload(
                    "the enrolment payload must have url, pin, org and code, in that order",
                ))
        };
        let url = next("url")?;
        let pin = TlsPin::parse(next("pin")?).ok_or(RelayError::BadPayload(
            "the pin must be sha256/ followed by 44 base64 characters",
        ))?;
        let org = next("org")?
            .parse::<OrgId>()
            .map_err(|_| RelayError::BadPayload("org must be 32 lower-case hex digits"))?;
        let code = next("code")?;
        if fields.next().is_some() {
            return Err(RelayError::BadPayload(
                "unexpected fields after code in the enrolment payload",
            ));
        }
        Self::new(url, pin, org, code)
    }
}

impl std::fmt::Display for EnrolmentPayload {
    /// The one-line text form (contains the secret code).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{PREFIX}url={};pin={};org={};code={}",
            self.url, self.pin, self.org, self.code
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> EnrolmentPayload {
        EnrolmentPayload::new(
            "https://127.0.0.1:8443/",
            TlsPin::from_bytes([7; 32]),
            OrgId([9; 16]),
            "ABCD-EFGH-JKMN-PQRS-TVWX-YZ01-2345-6789",
        )
        .expect("valid")
    }

    #[test]
    fn round_trip() {
        let p = sample();
        let text = p.to_string();
        assert!(text.starts_with("sealcam-enrol:v1;url=https://127.0.0.1:8443;pin=sha256/"));
        assert_eq!(
            EnrolmentPayload::parse(&format!("  {text}\n")).expect("parses"),
            p
        );
        assert!(!format!("{p:?}").contains("ABCD"));
        assert!(EnrolmentPayload::new(
            "https://x",
            TlsPin::from_bytes([0; 32]),
            OrgId([0; 16]),
            "abcd-efgh"
        )
        .is_err());
    }

    #[test]
    fn malformed_refused() {
        let good = sample().to_string();
        for bad in [
            String::new(),
            good.replace("v1", "v2"),
            good.replace("https://", "http://"),
            good.replace(";org=", ";organisation="),
            good.replace("code=ABCD", "code=abcd"),
            good.replace("pin=sha256/", "pin=sha1/"),
            format!("{good};x=1"),
            good.replace("8443", "8443?x"),
            good.replace(";code=ABCD-EFGH-JKMN-PQRS-TVWX-YZ01-2345-6789", ";code=ABC"),
            "x".repeat(2000),
        ] {
            assert!(EnrolmentPayload::parse(&bad).is_err(), "{bad:?} parsed");
        }
    }
}
