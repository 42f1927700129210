//! Ed25519 signing keys: the organisation key (held by the administrator,
//! offline), enrolled device keys, records staff auth keys and the store's
//! receipt key. Verification is always strict
//! (`verify_strict`: canonical `S`, no small-order `R` or public key).

use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use zeroize::Zeroizing;

use super::id::{
    derive_id, DeviceId, OrgId, StaffId, StoreId, DEVICE_ID_LABEL, ORG_ID_LABEL, STAFF_ID_LABEL,
    STORE_ID_LABEL,
};
use super::text::{self, StrKind};
use super::{random_secret, KeyError};

/// Checks 32 bytes as an Ed25519 public key: a valid point, canonically
/// encoded, not of small order.
fn parse_verifying_key(bytes: &[u8; 32], what: &'static str) -> Result<VerifyingKey, KeyError> {
    let invalid = |reason| KeyError::InvalidPublicKey { what, reason };
    let vk = VerifyingKey::from_bytes(bytes).map_err(|_| invalid("not a point on Ed25519"))?;
    if vk.to_edwards().compress().to_bytes() != *bytes {
        return Err(invalid("not a canonical Ed25519 encoding"));
    }
    if vk.is_weak() {
        return Err(invalid("a small-order Ed25519 point, not a real key"));
    }
    Ok(vk)
}

macro_rules! signing_pair {
    (
        $(#[$sdoc:meta])* $secret:ident,
        $(#[$pdoc:meta])* $public:ident,
        $id:ident, $id_label:expr,
        $secret_kind:expr, $public_kind:expr, $what:literal
    ) => {
        $(#[$sdoc])*
        ///
        /// The secret bytes are wiped when the value is dropped. `Debug`
        /// shows only the public key.
        pub struct $secret {
            key: SigningKey,
        }

        impl $secret {
            /// A new random key from the operating system's generator.
            ///
            /// # Panics
            /// If the operating system's random generator fails.
            pub fn generate() -> Self {
                Self::from_secret_bytes(*random_secret())
            }

            /// The key with this 32-byte Ed25519 secret (RFC 8032 seed).
            pub fn from_secret_bytes(secret: [u8; 32]) -> Self {
                let secret = Zeroizing::new(secret);
                $secret {
                    key: SigningKey::from_bytes(&secret),
                }
            }

            /// The matching public key.
            pub fn public(&self) -> $public {
                $public(self.key.verifying_key())
            }

            /// Signs `message` (pure Ed25519, RFC 8032).
            pub fn sign(&self, message: &[u8]) -> [u8; 64] {
                self.key.sign(message).to_bytes()
            }

            /// The 32 secret bytes.
            pub(crate) fn secret_bytes(&self) -> &[u8; 32] {
                self.key.as_bytes()
            }

            /// The secret key as one upper-case bech32m line. The string is
            /// wiped when dropped.
            pub fn to_secret_string(&self) -> Zeroizing<String> {
                text::encode_secret($secret_kind, self.key.as_bytes())
            }

            /// Parses the secret key string (checksum, kind and length
            /// checked; errors never echo the string).
            pub fn from_secret_string(s: &str) -> Result<Self, KeyError> {
                let bytes = text::decode(s, $secret_kind, 32)?;
                let mut secret = Zeroizing::new([0u8; 32]);
                secret.copy_from_slice(&bytes);
                Ok(Self::from_secret_bytes(*secret))
            }
        }

        impl std::fmt::Debug for $secret {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.debug_struct(stringify!($secret))
                    .field("public", &self.public())
                    .finish_non_exhaustive()
            }
        }

        $(#[$pdoc])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash)]
        pub struct $public(VerifyingKey);

        impl $public {
            /// Accepts 32 bytes as a public key: a valid Ed25519 point,
            /// canonically encoded, not of small order.
            pub fn from_bytes(bytes: [u8; 32]) -> Result<Self, KeyError> {
                parse_verifying_key(&bytes, $what).map($public)
            }

            /// The 32 public key bytes (compressed Edwards y).
            pub fn as_bytes(&self) -> &[u8; 32] {
                self.0.as_bytes()
            }

            /// Verifies an Ed25519 signature strictly (`verify_strict`).
            pub fn verify(&self, message: &[u8], signature: &[u8; 64]) -> Result<(), KeyError> {
                let sig = Signature::from_bytes(signature);
                self.0
                    .verify_strict(message, &sig)
                    .map_err(|_| KeyError::BadSignature)
            }

            /// The key id: first 16 bytes of SHA-256(label ‖ public key).
            pub fn id(&self) -> $id {
                $id(derive_id($id_label, self.0.as_bytes()))
            }
        }

        impl std::fmt::Display for $public {
            /// Lower-case bech32m.
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&text::encode($public_kind, self.0.as_bytes()))
            }
        }

        impl std::fmt::Debug for $public {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                std::fmt::Display::fmt(self, f)
            }
        }

        impl std::str::FromStr for $public {
            type Err = KeyError;

            /// Parses the bech32m string strictly, then checks the point.
            fn from_str(s: &str) -> Result<Self, KeyError> {
                let bytes = text::decode(s, $public_kind, 32)?;
                let mut pk = [0u8; 32];
                pk.copy_from_slice(&bytes);
                Self::from_bytes(pk)
            }
        }

        impl serde::Serialize for $public {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_str(self)
            }
        }

        impl<'de> serde::Deserialize<'de> for $public {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
                s.parse().map_err(serde::de::Error::custom)
            }
        }
    };
}

signing_pair!(
    /// The organisation's secret Ed25519 key: signs device certificates and
    /// the recipient directory. Kept offline by the administrator,
    /// passphrase-protected; never on the store.
    OrgSigningKey,
    /// The organisation's public key, pinned by devices and records
    /// workstations: `sealcamorg1…` (bech32m, lower case).
    OrgPublicKey,
    OrgId,
    ORG_ID_LABEL,
    StrKind::OrgSecret,
    StrKind::OrgPublic,
    "the organisation key"
);

signing_pair!(
    /// An enrolled device's secret Ed25519 key: signs the envelopes the
    /// device seals.
    DeviceSigningKey,
    /// An enrolled device's public key: `sealcamdev1…` (bech32m, lower
    /// case). Bound to a clinician by a device certificate.
    DevicePublicKey,
    DeviceId,
    DEVICE_ID_LABEL,
    StrKind::DeviceSecret,
    StrKind::DevicePublic,
    "the device key"
);

signing_pair!(
    /// A records staff member's secret Ed25519 auth key: signs the
    /// requests they make to the store (their inbox, fetches, filing). It
    /// decrypts nothing; the staff member's recipient identity does that.
    StaffSigningKey,
    /// A staff member's public auth key: `sealcamstaff1…` (bech32m, lower
    /// case). Registered on the store by the administrator.
    StaffPublicKey,
    StaffId,
    STAFF_ID_LABEL,
    StrKind::StaffSecret,
    StrKind::StaffPublic,
    "the staff key"
);

signing_pair!(
    /// The store's secret Ed25519 key: signs upload receipts. Generated by
    /// the store on first start and kept in its data directory.
    StoreSigningKey,
    /// The store's public key: `sealcamstore1…` (bech32m, lower case).
    /// Pinned by devices at enrolment to check receipts.
    StorePublicKey,
    StoreId,
    STORE_ID_LABEL,
    StrKind::StoreSecret,
    StrKind::StorePublic,
    "the store key"
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc8032_test_1() {
        // RFC 8032 §7.1, TEST 1 (empty message).
        let sk = hex::<32>("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60");
        let pk = hex::<32>("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a");
        let sig = hex::<64>(
            "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e06522490155\
             5fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b",
        );
        let key = DeviceSigningKey::from_secret_bytes(sk);
        assert_eq!(key.public().as_bytes(), &pk);
        assert_eq!(key.sign(b""), sig);
        key.public().verify(b"", &sig).expect("verifies");
    }

    fn hex<const N: usize>(s: &str) -> [u8; N] {
        let mut out = [0u8; N];
        for (i, o) in out.iter_mut().enumerate() {
            *o = u8::from_str_radix(&s[2 * i..2 * i + 2], 16).expect("hex");
        }
        out
    }

    #[test]
    fn sign_verify_and_strings() {
        let org = OrgSigningKey::generate();
        let public = org.public();
        let sig = org.sign(b"message");
        public.verify(b"message", &sig).expect("verifies");
        assert_eq!(public.verify(b"messagf", &sig), Err(KeyError::BadSignature));
        let mut bad = sig;
        bad[63] ^= 0x10; // S no longer canonical or wrong
        assert_eq!(public.verify(b"message", &bad), Err(KeyError::BadSignature));

        let s = public.to_string();
        assert!(s.starts_with("sealcamorg1"), "{s}");
        assert_eq!(s.parse::<OrgPublicKey>().expect("parse"), public);
        assert_eq!(format!("{public:?}"), s);
        let secret = org.to_secret_string();
        assert!(secret.starts_with("SEALCAM-ORG-SECRET-KEY-1"));
        let back = OrgSigningKey::from_secret_string(&secret).expect("parse");
        assert_eq!(back.public(), public);
        assert_eq!(back.secret_bytes(), org.secret_bytes());

        let dev = DeviceSigningKey::generate();
        let ds = dev.public().to_string();
        assert!(ds.starts_with("sealcamdev1"), "{ds}");
        assert_eq!(ds.parse::<DevicePublicKey>().expect("parse"), dev.public());
        let dsec = dev.to_secret_string();
        assert!(dsec.starts_with("SEALCAM-DEVICE-SECRET-KEY-1"));
        assert_eq!(
            DeviceSigningKey::from_secret_string(&dsec)
                .expect("parse")
                .public(),
            dev.public()
        );
        // Kinds do not mix.
        assert!(matches!(
            ds.parse::<OrgPublicKey>(),
            Err(KeyError::WrongKind { .. })
        ));
        assert!(matches!(
            OrgSigningKey::from_secret_string(&dsec),
            Err(KeyError::WrongKind { .. })
        ));
        assert_ne!(
            public.id().0,
            OrgPublicKey::from_bytes(*dev.public().as_bytes())
                .expect("ok")
                .id()
                .0
        );
        let json = serde_json::to_string(&dev.public()).expect("json");
        assert_eq!(
            serde_json::from_str::<DevicePublicKey>(&json).expect("back"),
            dev.public()
        );
    }

    #[test]
    fn staff_and_store_strings() {
        let staff = StaffSigningKey::generate();
        let s = staff.public().to_string();
        assert!(s.starts_with("sealcamstaff1"), "{s}");
        assert_eq!(s.parse::<StaffPublicKey>().expect("parse"), staff.public());
        assert!(staff
            .to_secret_string()
            .starts_with("SEALCAM-STAFF-SECRET-KEY-1"));
        let store = StoreSigningKey::generate();
        let t = store.public().to_string();
        assert!(t.starts_with("sealcamstore1"), "{t}");
        assert!(store
            .to_secret_string()
            .starts_with("SEALCAM-STORE-SECRET-KEY-1"));
        let sig = store.sign(b"receipt");
        store.public().verify(b"receipt", &sig).expect("verifies");
        // The same 32 bytes in two roles give different ids and strings
        // that do not parse as each other.
        let same = StaffPublicKey::from_bytes(*store.public().as_bytes()).expect("point");
        assert_ne!(same.id().0, store.public().id().0);
        assert!(matches!(
            t.parse::<StaffPublicKey>(),
            Err(KeyError::WrongKind { .. })
        ));
        assert!(!format!("{staff:?}").contains(staff.to_secret_string().as_str()));
    }

    #[test]
    fn flipped_character_rejected() {
        let s = OrgSigningKey::generate().public().to_string();
        let i = s.len() - 10;
        let c = if &s[i..=i] == "q" { "p" } else { "q" };
        let mut t = s.clone();
        t.replace_range(i..=i, c);
        assert!(matches!(
            t.parse::<OrgPublicKey>(),
            Err(KeyError::Checksum { .. })
        ));
    }

    #[test]
    fn invalid_public_keys_refused() {
        // The identity point (small order) and a non-canonical encoding of it.
        let mut identity = [0u8; 32];
        identity[0] = 1;
        assert!(matches!(
            DevicePublicKey::from_bytes(identity),
            Err(KeyError::InvalidPublicKey { .. })
        ));
        let mut neg_zero = identity;
        neg_zero[31] |= 0x80;
        assert!(DevicePublicKey::from_bytes(neg_zero).is_err());
        // y = p + 1 ≡ 1 (non-canonical).
        let mut y = [0xffu8; 32];
        y[31] = 0x7f;
        y[0] = 0xee;
        assert!(OrgPublicKey::from_bytes(y).is_err());
        // y = 2: not on the curve.
        let mut two = [0u8; 32];
        two[0] = 2;
        assert!(OrgPublicKey::from_bytes(two).is_err());
    }

    #[test]
    fn debug_is_redacted() {
        let key = OrgSigningKey::from_secret_bytes([0xcd; 32]);
        let dbg = format!("{key:?}");
        assert!(dbg.contains(&key.public().to_string()), "{dbg}");
        assert!(!dbg.contains(key.to_secret_string().as_str()));
        assert!(!dbg.to_lowercase().contains("cdcd"), "{dbg}");
        assert!(!dbg.contains("205"), "{dbg}");
        let dev = DeviceSigningKey::from_secret_bytes([0xcd; 32]);
        let dbg = format!("{dev:?}");
        assert!(!dbg.contains(dev.to_secret_string().as_str()));
        assert!(
            !dbg.to_lowercase().contains("cdcd") && !dbg.contains("205"),
            "{dbg}"
        );
    }
}
