//! base64url: the text forms of the protocol's binary fields, in
//! one place for the core, the relay, the CLI and the store.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;

/// base64url without padding.
pub fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Parses base64url without padding into exactly `N` bytes.
pub fn parse_b64<const N: usize>(s: &str) -> Option<[u8; N]> {
    let mut out = [0u8; N];
    // decode_slice refuses input that would not fit; check the exact length.
    match URL_SAFE_NO_PAD.decode_slice(s, &mut out) {
        Ok(n) if n == N && s.len() == (4 * N).div_ceil(3) => Some(out),
        _ => None,
    }
}

/// Parses base64url without padding into bytes of any length.
pub fn parse_b64_vec(s: &str) -> Option<Vec<u8>> {
    URL_SAFE_NO_PAD.decode(s).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn b64_round_trips_and_refuses_junk() {
        let sig = [0x5au8; 64];
        let s = b64(&sig);
        assert_eq!(s.len(), 86);
        assert_eq!(parse_b64::<64>(&s), Some(sig));
        assert_eq!(parse_b64::<64>(&s[..85]), None);
        assert_eq!(parse_b64::<64>(&format!("{s}==")), None);
        assert_eq!(parse_b64::<64>(&s.replace('W', "+")), None);
    }
}
