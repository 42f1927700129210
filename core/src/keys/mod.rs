//! Keys, identities, device certificates and the signed recipient directory.
//!
//! Normative byte-level specification: `docs/FORMAT.md` §8.
//!
//! | type | what | text form |
//! |---|---|---|
//! | [`RecipientIdentity`] / [`Recipient`] | X25519 key pair of a records team or workstation (HPKE DHKEM(X25519, HKDF-SHA256)) | `SEALCAM-SECRET-KEY-1…` / `sealcam1…` |
//! | [`OrgSigningKey`] / [`OrgPublicKey`] | Ed25519 organisation key (administrator, offline) | `SEALCAM-ORG-SECRET-KEY-1…` / `sealcamorg1…` |
//! | [`DeviceSigningKey`] / [`DevicePublicKey`] | Ed25519 key of an enrolled device | `SEALCAM-DEVICE-SECRET-KEY-1…` / `sealcamdev1…` |
//! | [`StaffSigningKey`] / [`StaffPublicKey`] | Ed25519 auth key of a records staff member (signs store requests) | `SEALCAM-STAFF-SECRET-KEY-1…` / `sealcamstaff1…` |
//! | [`StoreSigningKey`] / [`StorePublicKey`] | Ed25519 key of the store (signs upload receipts) | `SEALCAM-STORE-SECRET-KEY-1…` / `sealcamstore1…` |
//! | [`RecipientId`], [`OrgId`], [`DeviceId`], [`StaffId`], [`StoreId`] | 16-byte key ids | 32 lower-case hex characters |
//! | [`DeviceCertificate`] | organisation-signed binding of a device key to a clinician | binary |
//! | [`SignedDirectory`] | organisation-signed list of recipients | binary |
//! | [`LinkCapability`] | a patient link's terms, signed by the device or staff member who made it | binary |
//!
//! Key files (text, one key each, optionally passphrase-protected with
//! Argon2id and AES-256-GCM): [`encode_identity_file`] /
//! [`decode_identity_file`] for recipients, [`encode_key_file`] /
//! [`decode_key_file`] for any [`SecretKey`].
//!
//! Secret key types wipe their bytes when dropped and never print them:
//! their `Debug` shows the public key only.

mod certificate;
mod directory;
mod encoding;
mod error;
mod id;
mod identity_file;
mod kind;
mod link;
mod passphrase;
mod recipient;
mod signing;
mod text;
#[cfg(test)]
mod vectors;

pub use certificate::DeviceCertificate;
pub use directory::{DirectoryEntry, RecipientDirectory, SignedDirectory};
pub use error::{CertificateError, KeyError};
pub use id::{DeviceId, OrgId, RecipientId, StaffId, StoreId};
pub use identity_file::{
    decode_identity_file, decode_key_file, encode_identity_file, encode_key_file,
    encode_key_file_with_params,
};
pub use kind::{SecretKey, SecretKeyKind};
pub use link::{
    context_commitment, LinkCapability, LinkCreator, LinkError, LinkSigner, LinkTerms,
    MAX_LINK_RECIPIENTS,
};
pub use passphrase::KdfParams;
pub use recipient::{Recipient, RecipientIdentity};
pub use signing::{
    DevicePublicKey, DeviceSigningKey, OrgPublicKey, OrgSigningKey, StaffPublicKey,
    StaffSigningKey, StorePublicKey, StoreSigningKey,
};

use zeroize::{ZeroizeOnDrop, Zeroizing};

// The secret key types wipe themselves when dropped: `RecipientIdentity`
// holds its bytes in `Zeroizing`, the signing keys in ed25519-dalek's
// `SigningKey` (zeroize feature on).
impl ZeroizeOnDrop for RecipientIdentity {}
impl ZeroizeOnDrop for OrgSigningKey {}
impl ZeroizeOnDrop for DeviceSigningKey {}
impl ZeroizeOnDrop for StaffSigningKey {}
impl ZeroizeOnDrop for StoreSigningKey {}

/// 32 random bytes from the operating system, wiped when dropped.
///
/// # Panics
/// If the operating system's generator fails: without randomness no key
/// can be made safely, and there is nothing sensible to fall back to.
pub(crate) fn random_secret() -> Zeroizing<[u8; 32]> {
    let mut out = Zeroizing::new([0u8; 32]);
    random_fill(&mut out[..]);
    out
}

/// Fills `buf` from the operating system's generator.
///
/// # Panics
/// If the operating system's generator fails (see [`random_secret`]).
pub(crate) fn random_fill(buf: &mut [u8]) {
    getrandom::fill(buf).expect("the operating system's random number generator failed");
}
