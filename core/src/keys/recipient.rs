//! Recipients: X25519 key pairs used through HPKE DHKEM(X25519, HKDF-SHA256).
//!
//! A [`RecipientIdentity`] is the secret half, held by a records
//! workstation; its [`Recipient`] is the public half, given to senders as a
//! `sealcam1…` string; its [`RecipientId`] names it in envelopes.

use hpke::kem::X25519HkdfSha256;
use hpke::{Deserializable, Kem, Serializable};
use zeroize::Zeroizing;

use super::id::{derive_id, RecipientId, RECIPIENT_ID_LABEL};
use super::text::{self, StrKind};
use super::{random_secret, KeyError};

type HpkePrivateKey = <X25519HkdfSha256 as Kem>::PrivateKey;

/// A recipient's secret X25519 key: decrypts envelopes sealed to its
/// [`Recipient`].
///
/// The 32 secret bytes are wiped when the value is dropped. `Debug` shows
/// only the public recipient.
pub struct RecipientIdentity {
    secret: Zeroizing<[u8; 32]>,
    recipient: Recipient,
}

impl RecipientIdentity {
    /// A new random identity from the operating system's generator.
    ///
    /// # Panics
    /// If the operating system's random generator fails (no usable
    /// entropy source), which sealcam cannot safely work around.
    pub fn generate() -> Self {
        Self::from_secret_bytes(*random_secret())
    }

    /// The identity with these 32 secret bytes (for test vectors and key
    /// files). Any 32 bytes are a valid X25519 secret: X25519 clamps them.
    pub fn from_secret_bytes(secret: [u8; 32]) -> Self {
        let secret = Zeroizing::new(secret);
        let public = x25519_public(&secret);
        RecipientIdentity {
            secret,
            recipient: Recipient(public),
        }
    }

    /// The public recipient that senders seal to.
    pub fn recipient(&self) -> Recipient {
        self.recipient
    }

    /// The 32 secret bytes, as given (unclamped); HPKE clamps them when it
    /// deserialises the private key.
    pub(crate) fn secret_bytes(&self) -> &[u8; 32] {
        &self.secret
    }

    /// The secret key as one line, `SEALCAM-SECRET-KEY-1…` (bech32m, upper
    /// case). The string is wiped when dropped.
    pub fn to_secret_string(&self) -> Zeroizing<String> {
        text::encode_secret(StrKind::RecipientSecret, &self.secret[..])
    }

    /// Parses a `SEALCAM-SECRET-KEY-1…` string (checksum, kind and length
    /// checked; errors never echo the string).
    pub fn from_secret_string(s: &str) -> Result<Self, KeyError> {
        let bytes = text::decode(s, StrKind::RecipientSecret, 32)?;
        let mut secret = Zeroizing::new([0u8; 32]);
        secret.copy_from_slice(&bytes);
        Ok(Self::from_secret_bytes(*secret))
    }
}

impl std::fmt::Debug for RecipientIdentity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RecipientIdentity")
            .field("recipient", &self.recipient)
            .finish_non_exhaustive()
    }
}

/// X25519(secret, 9): the public key of a secret, through HPKE's own X25519.
fn x25519_public(secret: &[u8; 32]) -> [u8; 32] {
    // Deserialising a 32-byte X25519 private key cannot fail (only the
    // length is checked, and it is 32 by type).
    let sk = HpkePrivateKey::from_bytes(secret).expect("any 32 bytes are an X25519 secret");
    let pk = X25519HkdfSha256::sk_to_pk(&sk).to_bytes();
    let mut out = [0u8; 32];
    out.copy_from_slice(&pk);
    out
}

/// The little-endian u-coordinates of the points of small order on
/// Curve25519 and its twist, in canonical form (below p = 2^255 - 19).
/// X25519 with any of them gives an all-zero shared secret, since a
/// clamped scalar is a multiple of 8.
pub(crate) const LOW_ORDER_POINTS: [[u8; 32]; 5] = [
    // 0: the point (0, 0), order 2
    [0; 32],
    // 1: order 4 on the curve
    [
        1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        0, 0,
    ],
    // 325606250916557431795983626356110631294008115727848805560023387167927233504 (order 8)
    [
        0xe0, 0xeb, 0x7a, 0x7c, 0x3b, 0x41, 0xb8, 0xae, 0x16, 0x56, 0xe3, 0xfa, 0xf1, 0x9f, 0xc4,
        0x6a, 0xda, 0x09, 0x8d, 0xeb, 0x9c, 0x32, 0xb1, 0xfd, 0x86, 0x62, 0x05, 0x16, 0x5f, 0x49,
        0xb8, 0x00,
    ],
    // 39382357235489614581723060781553021112529911719440698176882885853963445705823 (order 8)
    [
        0x5f, 0x9c, 0x95, 0xbc, 0xa3, 0x50, 0x8c, 0x24, 0xb1, 0xd0, 0xb1, 0x55, 0x9c, 0x83, 0xef,
        0x5b, 0x04, 0x44, 0x5c, 0xc4, 0x58, 0x1c, 0x8e, 0x86, 0xd8, 0x22, 0x4e, 0xdd, 0xd0, 0x9f,
        0x11, 0x57,
    ],
    // p - 1: order 4 on the twist
    [
        0xec, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
        0xff, 0x7f,
    ],
];

/// Whether 32 bytes are a canonical u-coordinate: bit 255 clear and the
/// value below p = 2^255 - 19.
fn is_canonical_u(u: &[u8; 32]) -> bool {
    if u[31] & 0x80 != 0 {
        return false;
    }
    // u >= p only when u[31] = 0x7f, u[1..31] are all 0xff and u[0] >= 0xed.
    !(u[31] == 0x7f && u[1..31].iter().all(|&b| b == 0xff) && u[0] >= 0xed)
}

/// A recipient: an X25519 public key that envelopes can be sealed to.
///
/// Written as one line, `sealcam1…` (bech32m, lower case); `Debug` is the
/// same string. Only canonical keys that are not of small order exist as
/// values of this type.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Recipient([u8; 32]);

impl Recipient {
    /// Accepts 32 bytes as a recipient, refusing non-canonical encodings
    /// (bit 255 set, or u ≥ 2^255 − 19) and the points of small order
    /// (u = 0, 1, p − 1 and the two points of order 8): none of these is a key
    /// anyone holds the secret of, and sealing to one would leak the
    /// content key to everyone.
    pub fn from_bytes(pk: [u8; 32]) -> Result<Self, KeyError> {
        const WHAT: &str = "the recipient";
        if !is_canonical_u(&pk) {
            return Err(KeyError::InvalidPublicKey {
                what: WHAT,
                reason: "not a canonical X25519 encoding",
            });
        }
        if LOW_ORDER_POINTS.contains(&pk) {
            return Err(KeyError::InvalidPublicKey {
                what: WHAT,
                reason: "a low-order X25519 point, not a real key",
            });
        }
        Ok(Recipient(pk))
    }

    /// The 32 public key bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// The recipient's key id (first 16 bytes of
    /// SHA-256(`"sealcam/v1/recipient-id"` ‖ public key)).
    pub fn id(&self) -> RecipientId {
        RecipientId(derive_id(RECIPIENT_ID_LABEL, &self.0))
    }
}

impl std::fmt::Display for Recipient {
    /// `sealcam1…`, bech32m, lower case.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&text::encode(StrKind::Recipient, &self.0))
    }
}

impl std::fmt::Debug for Recipient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Display::fmt(self, f)
    }
}

impl std::str::FromStr for Recipient {
    type Err = KeyError;

    /// Parses `sealcam1…` strictly: bech32m checksum, kind, length,
    /// canonical spelling, then [`Recipient::from_bytes`].
    fn from_str(s: &str) -> Result<Self, KeyError> {
        let bytes = text::decode(s, StrKind::Recipient, 32)?;
        let mut pk = [0u8; 32];
        pk.copy_from_slice(&bytes);
        Recipient::from_bytes(pk)
    }
}

impl serde::Serialize for Recipient {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Recipient {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 7748 §6.1: Alice's secret and public key.
    const ALICE_SK: &str = "77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a";
    const ALICE_PK: &str = "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a";

    fn hex32(s: &str) -> [u8; 32] {
        let mut out = [0u8; 32];
        for (i, o) in out.iter_mut().enumerate() {
            *o = u8::from_str_radix(&s[2 * i..2 * i + 2], 16).expect("hex");
        }
        out
    }

    #[test]
    fn public_key_matches_rfc7748() {
        let id = RecipientIdentity::from_secret_bytes(hex32(ALICE_SK));
        assert_eq!(id.recipient().as_bytes(), &hex32(ALICE_PK));
    }

    #[test]
    fn string_round_trips() {
        let id = RecipientIdentity::generate();
        let r = id.recipient();
        let s = r.to_string();
        assert!(s.starts_with("sealcam1"), "{s}");
        assert_eq!(s, s.to_lowercase());
        assert_eq!(s.len(), "sealcam1".len() + 52 + 6);
        assert_eq!(s.parse::<Recipient>().expect("parse"), r);
        assert_eq!(format!("{r:?}"), s);

        let secret = id.to_secret_string();
        assert!(secret.starts_with("SEALCAM-SECRET-KEY-1"));
        let back = RecipientIdentity::from_secret_string(&secret).expect("parse");
        assert_eq!(back.recipient(), r);
        assert_eq!(back.secret_bytes(), id.secret_bytes());

        let json = serde_json::to_string(&r).expect("json");
        assert_eq!(serde_json::from_str::<Recipient>(&json).expect("back"), r);
        assert_eq!(r.id().to_string().len(), 32);
    }

    #[test]
    fn every_single_character_change_is_caught() {
        let s = RecipientIdentity::generate().recipient().to_string();
        let charset = "qpzry9x8gf2tvdw0s3jn54khce6mua7l";
        for i in "sealcam1".len()..s.len() {
            for c in charset.chars() {
                let mut t = s.clone();
                if t[i..].starts_with(c) {
                    continue;
                }
                t.replace_range(i..i + 1, &c.to_string());
                assert!(t.parse::<Recipient>().is_err(), "{t}");
            }
        }
        let mut t = s.clone();
        t.pop();
        assert!(matches!(
            t.parse::<Recipient>(),
            Err(KeyError::Checksum { .. })
        ));
    }

    #[test]
    fn wrong_kinds_are_named() {
        let secret = RecipientIdentity::generate().to_secret_string();
        let err = secret
            .parse::<Recipient>()
            .expect_err("secret is no recipient");
        assert!(matches!(err, KeyError::WrongKind { .. }));
        let msg = err.to_string();
        assert!(msg.contains("SECRET"), "{msg}");
        assert!(
            !msg.contains(&secret[20..]),
            "the error must not echo the key"
        );

        let dev = super::super::DeviceSigningKey::generate()
            .public()
            .to_string();
        let msg = dev
            .parse::<Recipient>()
            .expect_err("device key")
            .to_string();
        assert!(
            msg.contains("device public key") && msg.contains("expected a recipient"),
            "{msg}"
        );
        assert!(RecipientIdentity::from_secret_string(&dev).is_err());
        assert!(matches!(
            "age1qqqq".parse::<Recipient>(),
            Err(KeyError::WrongKind { .. })
        ));
        assert!("".parse::<Recipient>().is_err());
        assert!(format!(" {}", RecipientIdentity::generate().recipient())
            .parse::<Recipient>()
            .is_err());
    }

    #[test]
    fn low_order_and_non_canonical_points_refused() {
        for p in LOW_ORDER_POINTS {
            assert!(Recipient::from_bytes(p).is_err(), "{p:?}");
            // The same points with bit 255 set (X25519 ignores that bit).
            let mut high = p;
            high[31] |= 0x80;
            assert!(Recipient::from_bytes(high).is_err());
        }
        // p and p + 1 (non-canonical 0 and 1), and 2^255 - 1.
        let mut p = [0xffu8; 32];
        p[31] = 0x7f;
        p[0] = 0xed;
        assert!(Recipient::from_bytes(p).is_err());
        p[0] = 0xee;
        assert!(Recipient::from_bytes(p).is_err());
        p[0] = 0xff;
        assert!(Recipient::from_bytes(p).is_err());
        // p - 2 is canonical and not of small order: accepted.
        p[0] = 0xeb;
        assert!(Recipient::from_bytes(p).is_ok());
        // A string carrying a low-order point is refused too.
        let s = text::encode(StrKind::Recipient, &[0u8; 32]);
        assert!(matches!(
            s.parse::<Recipient>(),
            Err(KeyError::InvalidPublicKey { .. })
        ));
    }

    #[test]
    fn low_order_table_matches_hpke() {
        // Every listed point makes HPKE's X25519 give the all-zero secret
        // (decap fails); an ordinary key does not.
        let sk = HpkePrivateKey::from_bytes(&[0x11; 32]).expect("sk");
        type Enc = <X25519HkdfSha256 as Kem>::EncappedKey;
        for p in LOW_ORDER_POINTS {
            let enc = Enc::from_bytes(&p).expect("32 bytes");
            assert!(X25519HkdfSha256::decap(&sk, None, &enc).is_err(), "{p:?}");
        }
        let ok = RecipientIdentity::generate().recipient();
        let enc = Enc::from_bytes(ok.as_bytes()).expect("32 bytes");
        assert!(X25519HkdfSha256::decap(&sk, None, &enc).is_ok());
    }

    #[test]
    fn debug_is_redacted() {
        let id = RecipientIdentity::from_secret_bytes([0xab; 32]);
        let dbg = format!("{id:?}");
        let secret = id.to_secret_string();
        assert!(dbg.contains(&id.recipient().to_string()), "{dbg}");
        assert!(!dbg.contains(secret.as_str()));
        assert!(!dbg.to_lowercase().contains("abab"), "{dbg}");
        assert!(!dbg.contains("171"), "{dbg}"); // 0xab as decimal bytes
    }
}
