//! The kinds of secret key a key file can hold, and the sealed trait the
//! three secret key types implement.

use super::text::StrKind;
use super::{DeviceSigningKey, OrgSigningKey, RecipientIdentity};

/// Which kind of secret key a key file holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SecretKeyKind {
    /// A recipient identity (X25519): [`RecipientIdentity`].
    Recipient,
    /// The organisation signing key (Ed25519): [`OrgSigningKey`].
    Organisation,
    /// A device signing key (Ed25519): [`DeviceSigningKey`].
    Device,
}

impl SecretKeyKind {
    /// The label used as AES-GCM associated data when the key is
    /// passphrase-protected, binding the ciphertext to its kind.
    pub const fn label(self) -> &'static str {
        match self {
            SecretKeyKind::Recipient => "sealcam/v1/recipient-secret-key",
            SecretKeyKind::Organisation => "sealcam/v1/org-secret-key",
            SecretKeyKind::Device => "sealcam/v1/device-secret-key",
        }
    }

    /// The kind's code in an encrypted key.
    pub(crate) const fn code(self) -> u8 {
        match self {
            SecretKeyKind::Recipient => 1,
            SecretKeyKind::Organisation => 2,
            SecretKeyKind::Device => 3,
        }
    }

    pub(crate) fn from_code(code: u8) -> Option<Self> {
        match code {
            1 => Some(SecretKeyKind::Recipient),
            2 => Some(SecretKeyKind::Organisation),
            3 => Some(SecretKeyKind::Device),
            _ => None,
        }
    }

    pub(crate) const fn secret_str(self) -> StrKind {
        match self {
            SecretKeyKind::Recipient => StrKind::RecipientSecret,
            SecretKeyKind::Organisation => StrKind::OrgSecret,
            SecretKeyKind::Device => StrKind::DeviceSecret,
        }
    }

    pub(crate) const fn encrypted_description(self) -> &'static str {
        match self {
            SecretKeyKind::Recipient => "a passphrase-protected recipient secret key",
            SecretKeyKind::Organisation => "a passphrase-protected organisation secret key",
            SecretKeyKind::Device => "a passphrase-protected device secret key",
        }
    }

    pub(crate) const fn headline(self) -> &'static str {
        match self {
            SecretKeyKind::Recipient => "sealcam recipient identity (X25519 secret key): decrypts envelopes sealed to the recipient below. Keep it private.",
            SecretKeyKind::Organisation => "sealcam organisation signing key (Ed25519 secret key): signs device certificates and the recipient directory. Keep it offline.",
            SecretKeyKind::Device => "sealcam device signing key (Ed25519 secret key): signs the envelopes this device seals. Keep it private.",
        }
    }

    pub(crate) const fn public_label(self) -> &'static str {
        match self {
            SecretKeyKind::Recipient => "recipient",
            SecretKeyKind::Organisation | SecretKeyKind::Device => "public key",
        }
    }
}

pub(crate) mod sealed {
    /// Access to the raw secret, for this module only.
    pub trait Sealed: Sized {
        fn secret(&self) -> &[u8; 32];
        fn from_secret(secret: [u8; 32]) -> Self;
    }
}

/// A secret key type that can be stored in a key file: implemented by
/// [`RecipientIdentity`], [`OrgSigningKey`] and [`DeviceSigningKey`] only.
pub trait SecretKey: sealed::Sealed {
    /// Which kind of key this is.
    const KIND: SecretKeyKind;
    /// The public half as its one-line string (`sealcam1…`,
    /// `sealcamorg1…`, `sealcamdev1…`).
    fn public_string(&self) -> String;
}

impl sealed::Sealed for RecipientIdentity {
    fn secret(&self) -> &[u8; 32] {
        self.secret_bytes()
    }
    fn from_secret(secret: [u8; 32]) -> Self {
        RecipientIdentity::from_secret_bytes(secret)
    }
}
impl SecretKey for RecipientIdentity {
    const KIND: SecretKeyKind = SecretKeyKind::Recipient;
    fn public_string(&self) -> String {
        self.recipient().to_string()
    }
}
impl sealed::Sealed for OrgSigningKey {
    fn secret(&self) -> &[u8; 32] {
        self.secret_bytes()
    }
    fn from_secret(secret: [u8; 32]) -> Self {
        OrgSigningKey::from_secret_bytes(secret)
    }
}
impl SecretKey for OrgSigningKey {
    const KIND: SecretKeyKind = SecretKeyKind::Organisation;
    fn public_string(&self) -> String {
        self.public().to_string()
    }
}
impl sealed::Sealed for DeviceSigningKey {
    fn secret(&self) -> &[u8; 32] {
        self.secret_bytes()
    }
    fn from_secret(secret: [u8; 32]) -> Self {
        DeviceSigningKey::from_secret_bytes(secret)
    }
}
impl SecretKey for DeviceSigningKey {
    const KIND: SecretKeyKind = SecretKeyKind::Device;
    fn public_string(&self) -> String {
        self.public().to_string()
    }
}
