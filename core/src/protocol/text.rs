//! Hex and base64url: the text forms of the protocol's binary fields, in
//! one place for the core, the relay, the CLI and the store.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;

/// Lower-case hex.
pub fn hex(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(char::from(b"0123456789abcdef"[usize::from(b >> 4)]));
        s.push(char::from(b"0123456789abcdef"[usize::from(b & 0x0f)]));
    }
    s
}

/// Parses exactly `2 * N` lower-case hex digits.
pub fn parse_hex<const N: usize>(s: &str) -> Option<[u8; N]> {
    let bytes = s.as_bytes();
    if bytes.len() != 2 * N {
        return None;
    }
    let nibble = |c: u8| match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        _ => None,
    };
    let mut out = [0u8; N];
    for (o, pair) in out.iter_mut().zip(bytes.chunks_exact(2)) {
        *o = (nibble(pair[0])? << 4) | nibble(pair[1])?;
    }
    Some(out)
}

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
    fn hex_and_b64_round_trip_and_refuse_junk() {
        let bytes = [0u8, 1, 0xab, 0xff];
        assert_eq!(hex(&bytes), "0001abff");
        assert_eq!(parse_hex::<4>("0001abff"), Some(bytes));
        assert_eq!(parse_hex::<4>("0001ABFF"), None);
        assert_eq!(parse_hex::<4>("0001abf"), None);
        let sig = [0x5au8; 64];
        let s = b64(&sig);
        assert_eq!(s.len(), 86);
        assert_eq!(parse_b64::<64>(&s), Some(sig));
        assert_eq!(parse_b64::<64>(&s[..85]), None);
        assert_eq!(parse_b64::<64>(&format!("{s}==")), None);
        assert_eq!(parse_b64::<64>(&s.replace('W', "+")), None);
    }
}
