//! One-time codes (store bootstrap, device enrolment) and the enrolment
//! binding that lets the administrator check, without trusting the store,
//! that a pending device key was registered by whoever held the code.
//!
//! A code is 20 random bytes written as 32 Crockford base32 characters in
//! 8 groups of 4 (`XXXX-XXXX-…`); it is read case-insensitively with
//! dashes and spaces ignored and Crockford's aliases (`O`→`0`, `I`/`L`→`1`).
//! The store keeps only `SHA-256(canonical code)`.
//!
//! Enrolment (docs/API.md, `POST /v1/enrol`,
//! [`crate::protocol::api::EnrolRequest`]): the device sends the code's
//! digest (never the code), its public key, a proof of possession (its
//! signature over `"sealcam/v1/enrol\0" ‖ digest`) and the binding
//!
//! ```text
//! binding = HMAC-SHA256(key = canonical code, "sealcam/v1/enrol-binding\0" ‖ device public key)
//! ```
//!
//! The store cannot compute a binding for a key of its own (it never sees
//! the code); the administrator, who made the code, checks it before
//! signing the device's certificate.

use hmac::{Hmac, KeyInit, Mac};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use crate::keys::DevicePublicKey;

/// Domain-separation prefix of the device's proof of possession.
pub const ENROL_CONTEXT: &[u8] = b"sealcam/v1/enrol\0";
/// Domain-separation prefix of the enrolment binding.
pub const BINDING_CONTEXT: &[u8] = b"sealcam/v1/enrol-binding\0";

/// Crockford base32 alphabet.
const CROCKFORD: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// A one-time code, in canonical form. `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct OneTimeCode(Zeroizing<String>);

impl std::fmt::Debug for OneTimeCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("OneTimeCode(<redacted>)")
    }
}

impl serde::Serialize for OneTimeCode {
    /// The canonical text.
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.expose())
    }
}

impl<'de> serde::Deserialize<'de> for OneTimeCode {
    /// Read as typed ([`OneTimeCode::parse`]).
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = Zeroizing::new(<String as serde::Deserialize>::deserialize(d)?);
        OneTimeCode::parse(&s).ok_or_else(|| {
            serde::de::Error::custom("a one-time code is 32 characters in groups of 4")
        })
    }
}

impl OneTimeCode {
    /// A fresh random code.
    ///
    /// # Panics
    /// If the operating system's random generator fails.
    pub fn generate() -> Self {
        let mut bytes = Zeroizing::new([0u8; 20]);
        crate::keys::random_fill(&mut bytes[..]);
        let mut chars = Zeroizing::new(String::with_capacity(39));
        let mut acc: u64 = 0;
        let mut bits = 0;
        let mut n = 0;
        for &b in bytes.iter() {
            acc = (acc << 8) | u64::from(b);
            bits += 8;
            while bits >= 5 {
                bits -= 5;
                let idx = usize::try_from((acc >> bits) & 31).unwrap_or(0);
                if n > 0 && n % 4 == 0 {
                    chars.push('-');
                }
                chars.push(char::from(CROCKFORD[idx]));
                n += 1;
            }
        }
        OneTimeCode(chars)
    }

    /// Reads a code as typed; `None` if it cannot be a code.
    pub fn parse(s: &str) -> Option<Self> {
        let mut canon = Zeroizing::new(String::with_capacity(39));
        let mut n = 0;
        for c in s.chars() {
            let c = match c.to_ascii_uppercase() {
                '-' | ' ' => continue,
                'O' => '0',
                'I' | 'L' => '1',
                c if c.is_ascii() && CROCKFORD.contains(&(c as u8)) => c,
                _ => return None,
            };
            if n > 0 && n % 4 == 0 {
                canon.push('-');
            }
            canon.push(c);
            n += 1;
        }
        (n == 32).then_some(OneTimeCode(canon))
    }

    /// The canonical text (upper case, dashes): what is shown once.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// SHA-256 of the canonical text: what the store keeps and looks up.
    pub fn digest(&self) -> [u8; 32] {
        Sha256::digest(self.0.as_bytes()).into()
    }

    /// The binding of `device` to this code (see the module docs).
    pub fn binding(&self, device: &DevicePublicKey) -> [u8; 32] {
        // HMAC accepts keys of any length.
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(self.0.as_bytes())
            .expect("HMAC takes keys of any length");
        mac.update(BINDING_CONTEXT);
        mac.update(device.as_bytes());
        mac.finalize().into_bytes().into()
    }

    /// Whether `binding` binds `device` to this code (constant time).
    pub fn verify_binding(&self, device: &DevicePublicKey, binding: &[u8; 32]) -> bool {
        // HMAC accepts keys of any length.
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(self.0.as_bytes())
            .expect("HMAC takes keys of any length");
        mac.update(BINDING_CONTEXT);
        mac.update(device.as_bytes());
        mac.verify_slice(binding).is_ok()
    }
}

/// The message a device signs to prove it holds its key: context ‖ the
/// code's digest.
pub fn proof_message(code_digest: &[u8; 32]) -> Vec<u8> {
    let mut m = ENROL_CONTEXT.to_vec();
    m.extend_from_slice(code_digest);
    m
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::DeviceSigningKey;

    #[test]
    fn codes_generate_parse_and_redact() {
        let c = OneTimeCode::generate();
        assert_eq!(c.expose().len(), 39);
        let typed = c.expose().to_lowercase().replace('-', " ");
        assert_eq!(OneTimeCode::parse(&typed), Some(c.clone()));
        assert!(OneTimeCode::parse("ABCD").is_none());
        assert!(OneTimeCode::parse(&format!("{}U", &c.expose()[..38])).is_none());
        assert_eq!(
            OneTimeCode::parse("O1IL-0000-0000-0000-0000-0000-0000-0000")
                .expect("aliases")
                .expose(),
            "0111-0000-0000-0000-0000-0000-0000-0000"
        );
        assert!(!format!("{c:?}").contains(&c.expose()[..4]));
    }

    #[test]
    fn binding_needs_the_code_and_names_the_key() {
        let code = OneTimeCode::generate();
        let other_code = OneTimeCode::generate();
        let device = DeviceSigningKey::generate().public();
        let other_device = DeviceSigningKey::generate().public();
        let b = code.binding(&device);
        assert!(code.verify_binding(&device, &b));
        assert!(!code.verify_binding(&other_device, &b));
        assert!(!other_code.verify_binding(&device, &b));
        // Knowing only the digest (as the store does) is not enough: the
        // binding is keyed by the code itself.
        let digest = code.digest();
        let mut forged = <Hmac<Sha256> as KeyInit>::new_from_slice(&digest).expect("mac");
        forged.update(BINDING_CONTEXT);
        forged.update(other_device.as_bytes());
        let forged: [u8; 32] = forged.finalize().into_bytes().into();
        assert!(!code.verify_binding(&other_device, &forged));
    }
}
