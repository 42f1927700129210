//! Identifiers the store makes itself ([`LinkId`], [`EnrolmentId`]), the
//! patient link token it hands out once ([`LinkToken`]), and a one-time
//! code as a person typed it ([`CodeInput`]).
//!
//! Key ids (`DeviceId`, `StaffId`, `RecipientId`, `OrgId`) are in
//! [`crate::keys`]; [`crate::envelope::EnvelopeId`] in the envelope module;
//! the one-time code itself in [`crate::protocol::enrolment`].

use std::borrow::Cow;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use crate::protocol::text::b64;

/// Why an identifier was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    /// Not 32 lower-case hex digits.
    #[error("an id is 32 lower-case hexadecimal digits")]
    BadId,
}

macro_rules! store_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(pub [u8; 16]);

        impl $name {
            /// A fresh random id.
            ///
            /// # Panics
            /// If the operating system's random generator fails.
            pub fn random() -> Self {
                let mut b = [0u8; 16];
                crate::keys::random_fill(&mut b);
                $name(b)
            }
        }
        impl std::fmt::Display for $name {
            /// 32 lower-case hex digits.
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                crate::hex::write(&self.0, f)
            }
        }
        impl std::fmt::Debug for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                write!(f, concat!(stringify!($name), "({})"), self)
            }
        }
        impl std::str::FromStr for $name {
            type Err = IdError;
            /// Exactly 32 lower-case hex digits.
            fn from_str(s: &str) -> Result<Self, IdError> {
                crate::hex::decode::<16>(s).map($name).ok_or(IdError::BadId)
            }
        }
        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_str(self)
            }
        }
        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = <Cow<'de, str>>::deserialize(d)?;
                s.parse().map_err(serde::de::Error::custom)
            }
        }
    };
}

store_id!(
    /// A patient link's public id (not its token): 16 random bytes, 32
    /// lower-case hex digits.
    LinkId
);
store_id!(
    /// An enrolment code's public id (not the code): 16 random bytes, 32
    /// lower-case hex digits.
    EnrolmentId
);

/// A patient link token: 32 random bytes, base64url without padding (43
/// characters), sent as `Authorization: Sealcam-Link <token>`. The store
/// keeps only its SHA-256. `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct LinkToken(Zeroizing<String>);

impl LinkToken {
    /// A fresh random token.
    ///
    /// # Panics
    /// If the operating system's random generator fails.
    pub fn generate() -> Self {
        let mut bytes = Zeroizing::new([0u8; 32]);
        crate::keys::random_fill(&mut bytes[..]);
        LinkToken(Zeroizing::new(b64(&bytes[..])))
    }

    /// Accepts a presented token if it has the right shape (43 base64url
    /// characters).
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

    /// SHA-256 of the token text: what the store keeps.
    pub fn hash(&self) -> [u8; 32] {
        Sha256::digest(self.0.as_bytes()).into()
    }
}

impl std::fmt::Debug for LinkToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LinkToken(<redacted>)")
    }
}

impl Serialize for LinkToken {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.expose())
    }
}

impl<'de> Deserialize<'de> for LinkToken {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = Zeroizing::new(String::deserialize(d)?);
        LinkToken::parse(&s)
            .ok_or_else(|| serde::de::Error::custom("a link token is 43 base64url characters"))
    }
}

/// A one-time code (bootstrap, enrolment) as a person typed it: any case,
/// with or without dashes and spaces. The store reads it with
/// [`crate::protocol::enrolment::OneTimeCode::parse`] only once the request
/// is otherwise authenticated, so a malformed code is refused like a wrong
/// one. `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct CodeInput(Zeroizing<String>);

impl CodeInput {
    /// The code as typed (surrounding white space removed).
    pub fn new(typed: &str) -> Self {
        CodeInput(Zeroizing::new(typed.trim().to_string()))
    }

    /// The text as typed.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The code, if the text can be one.
    pub fn parse(&self) -> Option<crate::protocol::enrolment::OneTimeCode> {
        crate::protocol::enrolment::OneTimeCode::parse(&self.0)
    }
}

impl From<&crate::protocol::enrolment::OneTimeCode> for CodeInput {
    fn from(code: &crate::protocol::enrolment::OneTimeCode) -> Self {
        CodeInput::new(code.expose())
    }
}

impl std::fmt::Debug for CodeInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CodeInput(<redacted>)")
    }
}

impl Serialize for CodeInput {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.expose())
    }
}

impl<'de> Deserialize<'de> for CodeInput {
    /// Any text: a code is checked when it is used, not when it is read.
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(CodeInput(Zeroizing::new(String::deserialize(d)?)))
    }
}
