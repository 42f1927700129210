//! Per-recipient wrapping of the content key with RFC 9180 HPKE, base mode,
//! DHKEM(X25519, HKDF-SHA256) / HKDF-SHA256 / AES-256-GCM
//! (suite 0x0020 / 0x0001 / 0x0002), docs/FORMAT.md §4.

use hpke::aead::AesGcm256;
use hpke::kdf::HkdfSha256;
use hpke::kem::X25519HkdfSha256;
use hpke::{Deserializable, OpModeR, OpModeS, Serializable};
use rand_core::CryptoRng;
use zeroize::Zeroizing;

use super::header::Stanza;
use super::EnvelopeId;
use crate::keys::{Recipient, RecipientIdentity};

/// HPKE `info` prefix; the envelope id follows.
pub const INFO_PREFIX: &[u8] = b"sealcam/v1/stanza";

/// `info` = "sealcam/v1/stanza" ‖ envelope id: a stanza cannot be moved to
/// another envelope.
pub fn info(id: &EnvelopeId) -> Vec<u8> {
    let mut info = INFO_PREFIX.to_vec();
    info.extend_from_slice(&id.0);
    info
}

/// Wraps `content_key` to `recipient`. AAD = the recipient id, binding the
/// stanza to the key it names.
pub fn wrap(
    content_key: &[u8; 32],
    recipient: &Recipient,
    id: &EnvelopeId,
    rng: &mut impl CryptoRng,
) -> Result<Stanza, hpke::HpkeError> {
    let rid = recipient.id();
    let (enc, ciphertext) =
        hpke_suite::seal_base(recipient.as_bytes(), &info(id), &rid.0, content_key, rng)?;
    let wrapped_key: [u8; 48] = ciphertext
        .as_slice()
        .try_into()
        .map_err(|_| hpke::HpkeError::EncapError)?;
    Ok(Stanza {
        recipient: rid,
        enc,
        wrapped_key,
    })
}

/// Unwraps the content key from `stanza` with `identity`. Any failure
/// (including an all-zero X25519 shared secret) is one coarse error.
pub fn unwrap(
    stanza: &Stanza,
    identity: &RecipientIdentity,
    id: &EnvelopeId,
) -> Result<Zeroizing<[u8; 32]>, hpke::HpkeError> {
    let plaintext = hpke_suite::open_base(
        identity.secret_bytes(),
        &stanza.enc,
        &info(id),
        &stanza.recipient.0,
        &stanza.wrapped_key,
    )?;
    let key: [u8; 32] = plaintext
        .as_slice()
        .try_into()
        .map_err(|_| hpke::HpkeError::OpenError)?;
    Ok(Zeroizing::new(key))
}

/// The HPKE suite of the envelope, base mode, single shot: exposed so the
/// RFC 9180 test vectors run through exactly the code the stanzas use.
pub mod hpke_suite {
    use super::*;

    /// RFC 9180 `SealBase`: returns (enc, ciphertext ‖ tag). The ephemeral
    /// key is `DeriveKeyPair` of 32 bytes drawn from `rng`.
    pub fn seal_base(
        recipient_public: &[u8; 32],
        info: &[u8],
        aad: &[u8],
        plaintext: &[u8],
        rng: &mut impl CryptoRng,
    ) -> Result<([u8; 32], Vec<u8>), hpke::HpkeError> {
        let pk = <X25519HkdfSha256 as hpke::Kem>::PublicKey::from_bytes(recipient_public)?;
        let (enc, ciphertext) = hpke::single_shot_seal_with_rng::<
            AesGcm256,
            HkdfSha256,
            X25519HkdfSha256,
        >(&OpModeS::Base, &pk, info, plaintext, aad, rng)?;
        let enc: [u8; 32] = enc
            .to_bytes()
            .as_slice()
            .try_into()
            .map_err(|_| hpke::HpkeError::EncapError)?;
        Ok((enc, ciphertext))
    }

    /// RFC 9180 `OpenBase`. Fails on a wrong key, a bad tag or an all-zero
    /// shared secret.
    pub fn open_base(
        recipient_secret: &[u8; 32],
        enc: &[u8; 32],
        info: &[u8],
        aad: &[u8],
        ciphertext: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>, hpke::HpkeError> {
        let sk = <X25519HkdfSha256 as hpke::Kem>::PrivateKey::from_bytes(recipient_secret)?;
        let enc = <X25519HkdfSha256 as hpke::Kem>::EncappedKey::from_bytes(enc)?;
        hpke::single_shot_open::<AesGcm256, HkdfSha256, X25519HkdfSha256>(
            &OpModeR::Base,
            &sk,
            &enc,
            info,
            ciphertext,
            aad,
        )
        .map(Zeroizing::new)
    }
}
