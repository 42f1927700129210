//! From the random content key to the payload key and the header MAC key
//! (docs/FORMAT.md §4), and the header MAC itself.

use hmac::{KeyInit, Mac};
use sha2::Sha256;
use zeroize::Zeroizing;

use super::EnvelopeId;

/// HKDF `info` for the payload (STREAM) key.
pub const PAYLOAD_KEY_INFO: &[u8] = b"sealcam/v1/payload-key";
/// HKDF `info` for the header MAC key.
pub const HEADER_MAC_KEY_INFO: &[u8] = b"sealcam/v1/header-mac-key";

/// The two keys derived from one envelope's content key.
pub struct Keys {
    /// AES-256-GCM key of the STREAM payload.
    pub payload: Zeroizing<[u8; 32]>,
    /// HMAC-SHA256 key of the header MAC.
    pub header_mac: Zeroizing<[u8; 32]>,
}

/// HKDF-SHA256 with salt = envelope id, IKM = content key.
pub fn derive(content_key: &[u8; 32], id: &EnvelopeId) -> Keys {
    let hk = hkdf::Hkdf::<Sha256>::new(Some(&id.0), content_key);
    let mut payload = Zeroizing::new([0u8; 32]);
    let mut header_mac = Zeroizing::new([0u8; 32]);
    // Expanding 32 bytes from SHA-256 HKDF cannot fail (limit 255 * 32).
    let ok = hk.expand(PAYLOAD_KEY_INFO, payload.as_mut()).is_ok()
        && hk.expand(HEADER_MAC_KEY_INFO, header_mac.as_mut()).is_ok();
    debug_assert!(ok);
    Keys {
        payload,
        header_mac,
    }
}

/// HMAC-SHA256 of the header bytes before the MAC.
pub fn header_mac(key: &[u8; 32], header: &[u8]) -> [u8; 32] {
    let mut mac = <hmac::Hmac<Sha256> as KeyInit>::new_from_slice(key)
        .unwrap_or_else(|_| unreachable!("HMAC accepts keys of any length"));
    mac.update(header);
    mac.finalize().into_bytes().into()
}

/// Constant-time check of a stored header MAC.
pub fn check_header_mac(key: &[u8; 32], header: &[u8], stored: &[u8]) -> bool {
    let mut mac = <hmac::Hmac<Sha256> as KeyInit>::new_from_slice(key)
        .unwrap_or_else(|_| unreachable!("HMAC accepts keys of any length"));
    mac.update(header);
    mac.verify_slice(stored).is_ok()
}
