//! Key ids: 16-byte names of public keys, written as 32 lower-case hex
//! characters. `id = SHA-256(label ‖ public key)[..16]`, with a label per
//! key kind so that the same bytes never give the same id in two roles.

use sha2::{Digest, Sha256};

use super::text::{hex16, parse_hex16};
use super::KeyError;

/// Label of recipient ids.
pub(crate) const RECIPIENT_ID_LABEL: &[u8] = b"sealcam/v1/recipient-id";
/// Label of organisation ids.
pub(crate) const ORG_ID_LABEL: &[u8] = b"sealcam/v1/org-id";
/// Label of device ids.
pub(crate) const DEVICE_ID_LABEL: &[u8] = b"sealcam/v1/device-id";
/// Label of staff (records team member) auth key ids.
pub(crate) const STAFF_ID_LABEL: &[u8] = b"sealcam/v1/staff-id";
/// Label of store key ids.
pub(crate) const STORE_ID_LABEL: &[u8] = b"sealcam/v1/store-id";

/// First 16 bytes of SHA-256(label ‖ key).
pub(crate) fn derive_id(label: &[u8], key: &[u8; 32]) -> [u8; 16] {
    let digest = Sha256::new()
        .chain_update(label)
        .chain_update(key)
        .finalize();
    let mut id = [0u8; 16];
    id.copy_from_slice(&digest[..16]);
    id
}

macro_rules! key_id {
    ($(#[$doc:meta])* $name:ident, $what:literal) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(pub [u8; 16]);

        impl $name {
            /// The id's 16 bytes.
            pub fn as_bytes(&self) -> &[u8; 16] {
                &self.0
            }
        }

        impl std::fmt::Display for $name {
            /// 32 lower-case hex characters.
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                hex16(&self.0, f)
            }
        }

        impl std::fmt::Debug for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                hex16(&self.0, f)
            }
        }

        impl std::str::FromStr for $name {
            type Err = KeyError;
            /// Parses exactly 32 lower-case hex characters.
            fn from_str(s: &str) -> Result<Self, KeyError> {
                parse_hex16(s, $what).map($name)
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_str(self)
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
                s.parse().map_err(serde::de::Error::custom)
            }
        }
    };
}

key_id!(
    /// A recipient's key id, as named in envelope stanzas and by the store:
    /// the first 16 bytes of SHA-256(`"sealcam/v1/recipient-id"` ‖ X25519
    /// public key).
    RecipientId,
    "a recipient id"
);
key_id!(
    /// An organisation's key id: the first 16 bytes of
    /// SHA-256(`"sealcam/v1/org-id"` ‖ Ed25519 public key).
    OrgId,
    "an organisation id"
);
key_id!(
    /// An enrolled device's key id: the first 16 bytes of
    /// SHA-256(`"sealcam/v1/device-id"` ‖ Ed25519 public key).
    DeviceId,
    "a device id"
);
key_id!(
    /// A staff member's auth key id: the first 16 bytes of
    /// SHA-256(`"sealcam/v1/staff-id"` ‖ Ed25519 public key).
    StaffId,
    "a staff id"
);
key_id!(
    /// A store's key id: the first 16 bytes of
    /// SHA-256(`"sealcam/v1/store-id"` ‖ Ed25519 public key).
    StoreId,
    "a store id"
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_display_parse_and_differ_by_label() {
        let key = [0x42u8; 32];
        let r = RecipientId(derive_id(RECIPIENT_ID_LABEL, &key));
        let o = OrgId(derive_id(ORG_ID_LABEL, &key));
        let d = DeviceId(derive_id(DEVICE_ID_LABEL, &key));
        assert_ne!(r.0, o.0);
        assert_ne!(o.0, d.0);
        let s = r.to_string();
        assert_eq!(s.len(), 32);
        assert_eq!(format!("{r:?}"), s);
        assert_eq!(s.parse::<RecipientId>().expect("parse"), r);
        assert!(s.to_uppercase().parse::<RecipientId>().is_err());
        let json = serde_json::to_string(&d).expect("json");
        assert_eq!(serde_json::from_str::<DeviceId>(&json).expect("back"), d);
        // The derivation, spelled out.
        let mut input = b"sealcam/v1/org-id".to_vec();
        input.extend_from_slice(&key);
        assert_eq!(&Sha256::digest(&input)[..16], &o.0);
    }
}
