//! Identifiers the store makes itself ([`LinkId`], [`EnrolmentId`]) and the
//! secrets it hands out once ([`OneTimeCode`] from `sealcam_core`, [`LinkToken`]).
//!
//! Key ids (`DeviceId`, `StaffId`, `RecipientId`, `OrgId`) and
//! `EnvelopeId` come from `sealcam_core`.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

/// 16 random bytes from the operating system.
///
/// # Panics
/// If the operating system's generator fails: no id or secret can be made
/// safely without it.
pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut b = [0u8; N];
    // The OS generator failing leaves nothing safe to do.
    #[allow(clippy::expect_used)]
    getrandom::fill(&mut b).expect("the operating system's random number generator failed");
    b
}

/// Why an identifier or secret string was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    /// Not 32 lower-case hex digits.
    #[error("an id is 32 lower-case hexadecimal digits")]
    BadId,
}

fn parse_hex16(s: &str) -> Result<[u8; 16], IdError> {
    sealcam_core::hex::decode::<16>(s).ok_or(IdError::BadId)
}

macro_rules! store_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(pub [u8; 16]);

        impl $name {
            /// A fresh random id.
            pub fn random() -> Self {
                $name(random_bytes())
            }
        }
        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                sealcam_core::hex::write(&self.0, f)
            }
        }
        impl std::fmt::Debug for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                write!(f, concat!(stringify!($name), "({})"), self)
            }
        }
        impl std::str::FromStr for $name {
            type Err = IdError;
            fn from_str(s: &str) -> Result<Self, IdError> {
                parse_hex16(s).map($name)
            }
        }
        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_str(self)
            }
        }
    };
}

store_id!(
    /// A patient link's public id (not its token).
    LinkId
);
store_id!(
    /// An enrolment code's public id (not the code).
    EnrolmentId
);

/// One-time codes (bootstrap, enrolment): 20 random bytes as 32 Crockford
/// base32 characters in 8 groups of 4; only `SHA-256(canonical text)` is
/// stored. Shared with the devices and the admin tool.
pub use sealcam_core::protocol::enrolment::OneTimeCode;

/// A patient link token: 32 random bytes, base64url without padding (43
/// characters). Only its SHA-256 is stored. `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct LinkToken(Zeroizing<String>);

impl LinkToken {
    /// A fresh random token.
    pub fn generate() -> Self {
        let bytes = Zeroizing::new(random_bytes::<32>());
        LinkToken(Zeroizing::new(URL_SAFE_NO_PAD.encode(*bytes)))
    }

    /// Accepts a presented token if it has the right shape.
    pub fn parse(s: &str) -> Option<Self> {
        let ok = s.len() == 43
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        ok.then(|| LinkToken(Zeroizing::new(s.to_string())))
    }

    /// The token text, shown once to its creator.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// SHA-256 of the token text: what the catalog stores.
    pub fn hash(&self) -> [u8; 32] {
        Sha256::digest(self.0.as_bytes()).into()
    }
}

impl std::fmt::Debug for LinkToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LinkToken(<redacted>)")
    }
}

pub use sealcam_platform::clock::unix_now;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_shape() {
        let t = LinkToken::generate();
        assert_eq!(t.expose().len(), 43);
        assert!(LinkToken::parse(t.expose()).is_some());
        assert!(LinkToken::parse("short").is_none());
        assert_eq!(format!("{t:?}"), "LinkToken(<redacted>)");
    }

    #[test]
    fn link_id_round_trip() {
        let id = LinkId::random();
        assert_eq!(id.to_string().parse::<LinkId>(), Ok(id));
        assert!("ABCDEF0123456789ABCDEF0123456789"
            .parse::<LinkId>()
            .is_err());
    }
}
