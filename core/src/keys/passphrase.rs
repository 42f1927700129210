//! Passphrase protection of a secret key: Argon2id derives a key from the
//! passphrase, AES-256-GCM encrypts the 32-byte secret with the key kind's
//! label as associated data. Layout: `docs/FORMAT.md` §8.7.2.

use aes_gcm::aead::AeadInOut;
use aes_gcm::{Aes256Gcm, KeyInit};
use argon2::{Algorithm, Argon2, Params, Version};
use zeroize::Zeroizing;

use super::encoding::{Reader, Writer};
use super::kind::SecretKeyKind;
use super::{random_fill, KeyError};

/// Argon2id cost parameters of a passphrase-protected key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KdfParams {
    /// Memory, KiB.
    pub m_cost_kib: u32,
    /// Passes.
    pub t_cost: u32,
    /// Lanes.
    pub p_cost: u32,
}

impl KdfParams {
    /// What [`encode_key_file`](super::encode_key_file) uses: 64 MiB, 3 passes, 1 lane.
    pub const DEFAULT: KdfParams = KdfParams {
        m_cost_kib: 64 * 1024,
        t_cost: 3,
        p_cost: 1,
    };
    /// The weakest parameters a reader accepts (OWASP's Argon2id minimum,
    /// 19 MiB and 2 passes): weaker ones are refused as a downgrade.
    pub const MINIMUM: KdfParams = KdfParams {
        m_cost_kib: 19 * 1024,
        t_cost: 2,
        p_cost: 1,
    };
    /// The dearest parameters a reader accepts (4 GiB, 16 passes, 16
    /// lanes): dearer ones are refused as a denial of service.
    pub const MAXIMUM: KdfParams = KdfParams {
        m_cost_kib: 4 * 1024 * 1024,
        t_cost: 16,
        p_cost: 16,
    };

    /// Checks the parameters against `minimum` and [`KdfParams::MAXIMUM`].
    pub(crate) fn check(self, minimum: KdfParams) -> Result<(), KeyError> {
        let KdfParams {
            m_cost_kib,
            t_cost,
            p_cost,
        } = self;
        if m_cost_kib > Self::MAXIMUM.m_cost_kib
            || t_cost > Self::MAXIMUM.t_cost
            || p_cost > Self::MAXIMUM.p_cost
        {
            return Err(KeyError::KdfTooExpensive {
                m_cost_kib,
                t_cost,
                p_cost,
            });
        }
        if m_cost_kib < minimum.m_cost_kib || t_cost < minimum.t_cost {
            return Err(KeyError::WeakKdf { m_cost_kib, t_cost });
        }
        if p_cost < 1 || m_cost_kib < 8 * p_cost {
            return Err(KeyError::Format {
                what: WHAT_ENCRYPTED,
                offset: 2,
                reason: "Argon2id needs 1 to 16 lanes and at least 8 KiB of memory per lane",
            });
        }
        Ok(())
    }
}

impl Default for KdfParams {
    fn default() -> Self {
        KdfParams::DEFAULT
    }
}

const WHAT_ENCRYPTED: &str = "the encrypted key";
const ENCRYPTED_VERSION: u8 = 1;
/// version 1, kind 1, params 12, salt 16, nonce 12, ciphertext 32, tag 16.
pub(crate) const ENCRYPTED_LEN: usize = 1 + 1 + 12 + 16 + 12 + 32 + 16;

/// Argon2id(passphrase, salt) → 32-byte key.
fn derive_key(
    passphrase: &str,
    salt: &[u8; 16],
    params: KdfParams,
) -> Result<Zeroizing<[u8; 32]>, KeyError> {
    let failed = || KeyError::KdfFailed {
        m_cost_kib: params.m_cost_kib,
    };
    let p = Params::new(params.m_cost_kib, params.t_cost, params.p_cost, Some(32))
        .map_err(|_| failed())?;
    let mut key = Zeroizing::new([0u8; 32]);
    Argon2::new(Algorithm::Argon2id, Version::V0x13, p)
        .hash_password_into(passphrase.as_bytes(), salt, &mut key[..])
        .map_err(|_| failed())?;
    Ok(key)
}

/// The 90-byte encrypted key payload.
pub(crate) fn encrypt_secret(
    kind: SecretKeyKind,
    secret: &[u8; 32],
    passphrase: &str,
    params: KdfParams,
) -> Result<Vec<u8>, KeyError> {
    let mut salt = [0u8; 16];
    random_fill(&mut salt);
    let mut nonce = [0u8; 12];
    random_fill(&mut nonce);
    let key = derive_key(passphrase, &salt, params)?;
    let cipher = Aes256Gcm::new(&(*key).into());
    let mut buf = Zeroizing::new(*secret);
    let tag = cipher
        .encrypt_inout_detached(
            &nonce.into(),
            kind.label().as_bytes(),
            (&mut buf[..]).into(),
        )
        // AES-GCM refuses only messages over 64 GiB; this one is 32 bytes.
        .expect("AES-GCM encrypts 32 bytes");
    let mut w = Writer::new();
    w.u8(ENCRYPTED_VERSION);
    w.u8(kind.code());
    w.u32(params.m_cost_kib);
    w.u32(params.t_cost);
    w.u32(params.p_cost);
    w.bytes(&salt);
    w.bytes(&nonce);
    w.bytes(&buf[..]);
    w.bytes(&tag);
    Ok(w.into_vec())
}

/// Parses and decrypts an encrypted key payload of the expected kind.
pub(crate) fn decrypt_secret(
    kind: SecretKeyKind,
    payload: &[u8],
    passphrase: impl FnOnce() -> Result<Zeroizing<String>, KeyError>,
    minimum: KdfParams,
) -> Result<Zeroizing<[u8; 32]>, KeyError> {
    let mut r = Reader::new(payload, WHAT_ENCRYPTED);
    if r.u8()? != ENCRYPTED_VERSION {
        return Err(r.error_at(0, "unknown version (this program reads version 1)"));
    }
    let code = r.u8()?;
    let found = SecretKeyKind::from_code(code).ok_or_else(|| r.error_at(1, "unknown key kind"))?;
    if found != kind {
        return Err(KeyError::WrongKind {
            expected: kind.encrypted_description(),
            found: found.encrypted_description(),
        });
    }
    let params = KdfParams {
        m_cost_kib: r.u32()?,
        t_cost: r.u32()?,
        p_cost: r.u32()?,
    };
    let salt: [u8; 16] = r.array()?;
    let nonce: [u8; 12] = r.array()?;
    let mut buf = Zeroizing::new(r.array::<32>()?);
    let tag: [u8; 16] = r.array()?;
    r.finish()?;
    // Refuse a downgrade before asking for the passphrase.
    params.check(minimum)?;
    let passphrase = passphrase()?;
    let key = derive_key(&passphrase, &salt, params)?;
    let cipher = Aes256Gcm::new(&(*key).into());
    cipher
        .decrypt_inout_detached(
            &nonce.into(),
            kind.label().as_bytes(),
            (&mut buf[..]).into(),
            &tag.into(),
        )
        .map_err(|_| KeyError::Decrypt)?;
    Ok(buf)
}
