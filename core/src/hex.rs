//! Lower-case hexadecimal, the one implementation: ids, hashes and digests
//! in the record, the protocol, the key files, the CLI and the store.
//! Parsing is strict (exact length, lower case only), so every value has
//! one spelling.

const DIGITS: &[u8; 16] = b"0123456789abcdef";

/// Lower-case hex of `bytes`.
pub fn encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0x0f)]));
    }
    out
}

/// Writes the lower-case hex of `bytes` to a formatter (no allocation).
pub fn write(bytes: &[u8], f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
    for b in bytes {
        write!(f, "{b:02x}")?;
    }
    Ok(())
}

/// Parses exactly `2 * N` lower-case hex digits; `None` otherwise
/// (upper case, odd length, any other character).
pub fn decode<const N: usize>(s: &str) -> Option<[u8; N]> {
    fn nibble(c: u8) -> Option<u8> {
        match c {
            b'0'..=b'9' => Some(c - b'0'),
            b'a'..=b'f' => Some(c - b'a' + 10),
            _ => None,
        }
    }
    let bytes = s.as_bytes();
    if bytes.len() != 2 * N {
        return None;
    }
    let mut out = [0u8; N];
    for (slot, pair) in out.iter_mut().zip(bytes.chunks_exact(2)) {
        *slot = (nibble(pair[0])? << 4) | nibble(pair[1])?;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_strictness() {
        let bytes = [0u8, 0x1f, 0xa0, 0xff];
        assert_eq!(encode(&bytes), "001fa0ff");
        assert_eq!(decode::<4>("001fa0ff"), Some(bytes));
        assert_eq!(decode::<4>("001FA0FF"), None, "upper case refused");
        assert_eq!(decode::<4>("001fa0f"), None);
        assert_eq!(decode::<4>("001fa0fg"), None);
        assert_eq!(decode::<4>("001fa0ff00"), None);
        assert_eq!(decode::<2>("é1"), None, "non-ASCII refused");
        assert_eq!(decode::<2>("%41"), None);
        struct Shown([u8; 3]);
        impl std::fmt::Display for Shown {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                write(&self.0, f)
            }
        }
        assert_eq!(Shown([1, 2, 0xfe]).to_string(), "0102fe");
    }
}
