//! The kinds of secret key a key file can hold, and the sealed trait the
//! three secret key types implement.

use super::text::StrKind;
use super::{DeviceSigningKey, OrgSigningKey, RecipientIdentity, StaffSigningKey, StoreSigningKey};

/// Which kind of secret key a key file holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SecretKeyKind {
    /// A recipient identity (X25519): [`RecipientIdentity`].
    Recipient,
    /// The organisation signing key (Ed25519): [`OrgSigningKey`].
    Organisation,
    /// A device signing key (Ed25519): [`DeviceSigningKey`].
    Device,
    /// A records staff auth key (Ed25519): [`StaffSigningKey`].
    Staff,
    /// The store's receipt signing key (Ed25519): [`StoreSigningKey`].
    Store,
}

impl SecretKeyKind {
    /// The label used as AES-GCM associated data when the key is
    /// passphrase-protected, binding the ciphertext to its kind.
    pub const fn label(self) -> &'static str {
        match self {
            SecretKeyKind::Recipient => "sealcam/v1/recipient-secret-key",
            SecretKeyKind::Organisation => "sealcam/v1/org-secret-key",
            SecretKeyKind::Device => "sealcam/v1/device-secret-key",
            SecretKeyKind::Staff => "sealcam/v1/staff-secret-key",
            SecretKeyKind::Store => "sealcam/v1/store-secret-key",
        }
    }

    /// The kind's code in an encrypted key.
    pub(crate) const fn code(self) -> u8 {
        match self {
            SecretKeyKind::Recipient => 1,
            SecretKeyKind::Organisation => 2,
            SecretKeyKind::Device => 3,
            SecretKeyKind::Staff => 4,
            SecretKeyKind::Store => 5,
        }
    }

    pub(crate) fn from_code(code: u8) -> Option<Self> {
        match code {
            1 => Some(SecretKeyKind::Recipient),
            2 => Some(SecretKeyKind::Organisation),
            3 => Some(SecretKeyKind::Device),
            4 => Some(SecretKeyKind::Staff),
            5 => Some(SecretKeyKind::Store),
            _ => None,
        }
    }

    pub(crate) const fn secret_str(self) -> StrKind {
        match self {
            SecretKeyKind::Recipient => StrKind::RecipientSecret,
            SecretKeyKind::Organisation => StrKind::OrgSecret,
            SecretKeyKind::Device => StrKind::DeviceSecret,
            SecretKeyKind::Staff => StrKind::StaffSecret,
            SecretKeyKind::Store => StrKind::StoreSecret,
        }
    }

    pub(crate) const fn encrypted_description(self) -> &'static str {
        match self {
            SecretKeyKind::Recipient => "a passphrase-protected recipient secret key",
            SecretKeyKind::Organisation => "a passphrase-protected organisation secret key",
            SecretKeyKind::Device => "a passphrase-protected device secret key",
            SecretKeyKind::Staff => "a passphrase-protected staff secret key",
            SecretKeyKind::Store => "a passphrase-protected store secret key",
        }
    }

    pub(crate) const fn headline(self) -> &'static str {
        match self {
            SecretKeyKind::Recipient => "sealcam recipient identity (X25519 secret key): decrypts envelopes sealed to the recipient below. Keep it private.",
            SecretKeyKind::Organisation => "sealcam organisation signing key (Ed25519 secret key): signs device certificates and the recipient directory. Keep it offline.",
            SecretKeyKind::Device => "sealcam device signing key (Ed25519 secret key): signs the envelopes this device seals. Keep it private.",
            SecretKeyKind::Staff => "sealcam staff auth key (Ed25519 secret key): signs this records team member's requests to the store. Keep it private.",
            SecretKeyKind::Store => "sealcam store key (Ed25519 secret key): signs the store's upload receipts. Keep it on the store.",
        }
    }

    pub(crate) const fn public_label(self) -> &'static str {
        match self {
            SecretKeyKind::Recipient => "recipient",
            SecretKeyKind::Organisation
            | SecretKeyKind::Device
            | SecretKeyKind::Staff
            | SecretKeyKind::Store => "public key",
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
/// [`RecipientIdentity`], [`OrgSigningKey`], [`DeviceSigningKey`],
/// [`StaffSigningKey`] and [`StoreSigningKey`] only.
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

macro_rules! signing_secret_key {
    ($ty:ident, $kind:expr) => {
        impl sealed::Sealed for $ty {
            fn secret(&self) -> &[u8; 32] {
                self.secret_bytes()
            }
            fn from_secret(secret: [u8; 32]) -> Self {
                $ty::from_secret_bytes(secret)
            }
        }
        impl SecretKey for $ty {
            const KIND: SecretKeyKind = $kind;
            fn public_string(&self) -> String {
                self.public().to_string()
            }
        }
    };
}

signing_secret_key!(StaffSigningKey, SecretKeyKind::Staff);
signing_secret_key!(StoreSigningKey, SecretKeyKind::Store);
