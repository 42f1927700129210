//! Text forms: bech32m key strings and hex key ids.
//!
//! Every key string is bech32m (BIP 350) with a human-readable part that
//! names its kind. Public keys are written in lower case, secret keys in
//! upper case (as age does). Parsing accepts a string that is entirely
//! lower or entirely upper case, checks the checksum, the kind and the
//! payload length, and accepts only the canonical spelling of the bytes.

use bech32::primitives::decode::{
    CharError, CheckedHrpstring, CheckedHrpstringError, ChecksumError, UncheckedHrpstringError,
};
use bech32::{Bech32m, Hrp};
use zeroize::Zeroizing;

use super::KeyError;

/// Every kind of key string, with its human-readable part.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StrKind {
    Recipient,
    OrgPublic,
    DevicePublic,
    RecipientSecret,
    OrgSecret,
    DeviceSecret,
    StaffPublic,
    StaffSecret,
    StorePublic,
    StoreSecret,
    EncryptedKey,
}

const ALL_KINDS: [StrKind; 11] = [
    StrKind::Recipient,
    StrKind::OrgPublic,
    StrKind::DevicePublic,
    StrKind::RecipientSecret,
    StrKind::OrgSecret,
    StrKind::DeviceSecret,
    StrKind::StaffPublic,
    StrKind::StaffSecret,
    StrKind::StorePublic,
    StrKind::StoreSecret,
    StrKind::EncryptedKey,
];

impl StrKind {
    /// The human-readable part, lower case.
    pub(crate) const fn hrp(self) -> &'static str {
        match self {
            StrKind::Recipient => "sealcam",
            StrKind::OrgPublic => "sealcamorg",
            StrKind::DevicePublic => "sealcamdev",
            StrKind::RecipientSecret => "sealcam-secret-key-",
            StrKind::OrgSecret => "sealcam-org-secret-key-",
            StrKind::DeviceSecret => "sealcam-device-secret-key-",
            StrKind::StaffPublic => "sealcamstaff",
            StrKind::StaffSecret => "sealcam-staff-secret-key-",
            StrKind::StorePublic => "sealcamstore",
            StrKind::StoreSecret => "sealcam-store-secret-key-",
            StrKind::EncryptedKey => "sealcam-encrypted-key-",
        }
    }

    /// A description for error messages (never a value).
    pub(crate) const fn describe(self) -> &'static str {
        match self {
            StrKind::Recipient => "a recipient (sealcam1…)",
            StrKind::OrgPublic => "an organisation public key (sealcamorg1…)",
            StrKind::DevicePublic => "a device public key (sealcamdev1…)",
            StrKind::RecipientSecret => {
                "a recipient SECRET key (SEALCAM-SECRET-KEY-1…), which must never be shared"
            }
            StrKind::OrgSecret => {
                "an organisation SECRET key (SEALCAM-ORG-SECRET-KEY-1…), which must never be shared"
            }
            StrKind::DeviceSecret => {
                "a device SECRET key (SEALCAM-DEVICE-SECRET-KEY-1…), which must never be shared"
            }
            StrKind::StaffPublic => "a staff public key (sealcamstaff1…)",
            StrKind::StaffSecret => {
                "a staff SECRET key (SEALCAM-STAFF-SECRET-KEY-1…), which must never be shared"
            }
            StrKind::StorePublic => "a store public key (sealcamstore1…)",
            StrKind::StoreSecret => {
                "a store SECRET key (SEALCAM-STORE-SECRET-KEY-1…), which must never be shared"
            }
            StrKind::EncryptedKey => "a passphrase-protected key (SEALCAM-ENCRYPTED-KEY-1…)",
        }
    }

    /// Secret key strings are written in upper case.
    const fn upper(self) -> bool {
        !matches!(
            self,
            StrKind::Recipient
                | StrKind::OrgPublic
                | StrKind::DevicePublic
                | StrKind::StaffPublic
                | StrKind::StorePublic
        )
    }

    fn hrp_value(self) -> Hrp {
        // The HRPs above are fixed ASCII strings of 7 to 26 characters in
        // the range 33..=126, so parse_unchecked cannot see an invalid one
        // (checked by a unit test).
        Hrp::parse_unchecked(self.hrp())
    }
}

/// Encodes `data` as a bech32m string of the given kind.
///
/// The string is written into a buffer of exactly the right capacity, so
/// no partial copy of a secret is left behind by a reallocation.
pub(crate) fn encode(kind: StrKind, data: &[u8]) -> String {
    let hrp = kind.hrp_value();
    let capacity = bech32::encoded_length::<Bech32m>(hrp, data).unwrap_or(256);
    let mut out = String::with_capacity(capacity);
    let result = if kind.upper() {
        bech32::encode_upper_to_fmt::<Bech32m, String>(&mut out, hrp, data)
    } else {
        bech32::encode_lower_to_fmt::<Bech32m, String>(&mut out, hrp, data)
    };
    // Encoding fails only past the bech32m code length (1023 characters);
    // our payloads are at most 90 bytes (173 characters).
    result.expect("key payloads are far below the bech32m length limit");
    out
}

/// Encodes secret bytes; the string is wiped when dropped.
pub(crate) fn encode_secret(kind: StrKind, data: &[u8]) -> Zeroizing<String> {
    Zeroizing::new(encode(kind, data))
}

/// Finds the kind named by a string's human-readable part, if any.
pub(crate) fn kind_of(s: &str) -> Option<StrKind> {
    let sep = s.rfind('1')?;
    let hrp = &s[..sep];
    ALL_KINDS
        .into_iter()
        .find(|k| k.hrp().eq_ignore_ascii_case(hrp))
}

/// Decodes a bech32m string that must be of kind `expected` and carry
/// exactly `len` bytes. The returned bytes are wiped when dropped, since
/// they may be a secret.
pub(crate) fn decode(
    s: &str,
    expected: StrKind,
    len: usize,
) -> Result<Zeroizing<Vec<u8>>, KeyError> {
    let what = expected.describe();
    let malformed = |reason| KeyError::Malformed {
        expected: what,
        reason,
    };
    if s.is_empty() {
        return Err(malformed("the string is empty"));
    }
    if s.len() > 1023 {
        return Err(malformed("the string is far too long"));
    }
    if s.chars().any(char::is_whitespace) {
        return Err(malformed("it contains spaces or line breaks"));
    }
    // Kind first, so that "a device key where a recipient is expected" is
    // reported as such even before the checksum is looked at.
    match kind_of(s) {
        Some(k) if k == expected => {}
        Some(k) => {
            return Err(KeyError::WrongKind {
                expected: what,
                found: k.describe(),
            })
        }
        None => {
            return Err(KeyError::WrongKind {
                expected: what,
                found: "not a sealcam key (unknown prefix)",
            })
        }
    }
    let checked = CheckedHrpstring::new::<Bech32m>(s).map_err(|e| match e {
        CheckedHrpstringError::Checksum(ChecksumError::InvalidResidue(_)) => {
            KeyError::Checksum { expected: what }
        }
        CheckedHrpstringError::Checksum(ChecksumError::CodeLength(_)) => {
            malformed("the string is far too long")
        }
        CheckedHrpstringError::Checksum(_) => malformed("the data part is too short"),
        CheckedHrpstringError::Parse(UncheckedHrpstringError::Char(c)) => match c {
            CharError::MixedCase => malformed("it mixes upper and lower case"),
            CharError::MissingSeparator => malformed("it has no '1' separator"),
            CharError::NothingAfterSeparator => malformed("nothing follows the '1' separator"),
            CharError::InvalidChar(_) => {
                malformed("it contains a character outside the bech32 alphabet")
            }
            _ => malformed("it contains an invalid character"),
        },
        CheckedHrpstringError::Parse(_) => malformed("the prefix is invalid"),
        _ => malformed("it is not bech32m"),
    })?;
    let mut data = Zeroizing::new(Vec::with_capacity(len));
    data.extend(checked.byte_iter());
    if data.len() != len {
        return Err(KeyError::Length {
            expected: what,
            expected_len: len,
            found: data.len(),
        });
    }
    // Only the canonical spelling: re-encode and compare (catches non-zero
    // padding bits and a data part one character too long).
    let again = Zeroizing::new(encode(expected, &data));
    if !again.eq_ignore_ascii_case(s) {
        return Err(KeyError::NonCanonical { expected: what });
    }
    Ok(data)
}

/// Lower-case hex of a 16-byte id.
pub(crate) fn hex16(bytes: &[u8; 16], f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
    crate::hex::write(bytes, f)
}

/// Parses exactly 32 lower-case hex characters.
pub(crate) fn parse_hex16(s: &str, what: &'static str) -> Result<[u8; 16], KeyError> {
    crate::hex::decode::<16>(s).ok_or(KeyError::InvalidId { what })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hrps_are_valid_and_distinct() {
        for k in ALL_KINDS {
            let parsed = Hrp::parse(k.hrp()).expect("valid hrp");
            assert_eq!(parsed.to_lowercase(), k.hrp());
            assert!(!k.hrp().contains('1'), "the separator is the last '1'");
            for other in ALL_KINDS {
                if other != k {
                    assert_ne!(k.hrp(), other.hrp());
                }
            }
        }
    }

    #[test]
    fn round_trip_and_case() {
        let data = [7u8; 32];
        let s = encode(StrKind::Recipient, &data);
        assert!(s.starts_with("sealcam1"), "{s}");
        assert_eq!(*decode(&s, StrKind::Recipient, 32).expect("ok"), data);
        // All upper case is the same string (QR alphanumeric mode).
        let up = s.to_ascii_uppercase();
        assert_eq!(*decode(&up, StrKind::Recipient, 32).expect("ok"), data);
        // Mixed case is refused.
        let mut mixed = s.clone();
        mixed.replace_range(0..1, "S");
        assert!(matches!(
            decode(&mixed, StrKind::Recipient, 32),
            Err(KeyError::Malformed { .. })
        ));
        let secret = encode(StrKind::RecipientSecret, &data);
        assert_eq!(secret.capacity(), secret.len(), "exact allocation");
        let long = encode(StrKind::EncryptedKey, &[0u8; 90]);
        assert_eq!((long.len(), long.capacity()), (173, 173));
        assert!(secret.starts_with("SEALCAM-SECRET-KEY-1"), "{secret}");
    }

    #[test]
    fn wrong_length_and_bech32_checksum_refused() {
        let s = encode(StrKind::Recipient, &[1u8; 31]);
        assert_eq!(
            decode(&s, StrKind::Recipient, 32),
            Err(KeyError::Length {
                expected: StrKind::Recipient.describe(),
                expected_len: 32,
                found: 31
            })
        );
        // The same payload with a plain bech32 (not bech32m) checksum.
        let b32 =
            bech32::encode_lower::<bech32::Bech32>(Hrp::parse_unchecked("sealcam"), &[1u8; 32])
                .expect("encode");
        assert!(matches!(
            decode(&b32, StrKind::Recipient, 32),
            Err(KeyError::Checksum { .. })
        ));
    }

    #[test]
    fn non_canonical_padding_refused() {
        // 32 bytes = 256 bits = 51.2 characters: the last character holds
        // one data bit and four padding bits. Set a padding bit and fix the
        // checksum: the bytes are the same, the string is not canonical.
        use bech32::{ByteIterExt, Fe32, Fe32IterExt};
        let data = [0u8; 32];
        let mut fes: Vec<Fe32> = data.iter().copied().bytes_to_fes().collect();
        let last = fes.len() - 1;
        fes[last] = Fe32::P; // value 1: a padding bit set
        let s: String = fes
            .into_iter()
            .with_checksum::<Bech32m>(&Hrp::parse_unchecked("sealcam"))
            .chars()
            .collect();
        assert!(matches!(
            decode(&s, StrKind::Recipient, 32),
            Err(KeyError::NonCanonical { .. })
        ));
    }

    #[test]
    fn hex_ids() {
        let id = parse_hex16("000102030405060708090a0b0c0d0e0f", "id").expect("ok");
        assert_eq!(id[15], 15);
        assert!(parse_hex16("000102030405060708090A0B0C0D0E0F", "id").is_err());
        assert!(parse_hex16("00", "id").is_err());
        assert!(parse_hex16("000102030405060708090a0b0c0d0e0g", "id").is_err());
    }
}
