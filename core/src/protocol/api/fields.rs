//! Serde helpers for the binary fields of the API: base64url without
//! padding (`#[serde(with = "b64")]`, fixed length; `opt_b64_vec`, any
//! length or `null`) and lower-case hex digests (`hex32`).

use serde::{Deserialize, Deserializer, Serializer};
use std::borrow::Cow;

use crate::protocol::text::{b64 as encode_b64, parse_b64, parse_b64_vec};

/// `[u8; N]` as base64url without padding, exactly `N` bytes.
pub(crate) mod b64 {
    use super::*;

    pub(crate) fn serialize<S: Serializer, const N: usize>(
        b: &[u8; N],
        s: S,
    ) -> Result<S::Ok, S::Error> {
        s.serialize_str(&encode_b64(b))
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>, const N: usize>(
        d: D,
    ) -> Result<[u8; N], D::Error> {
        let s = <Cow<'de, str>>::deserialize(d)?;
        parse_b64::<N>(&s).ok_or_else(|| {
            serde::de::Error::custom(format!("expected {N} bytes as base64url without padding"))
        })
    }
}

/// `Option<Vec<u8>>` as base64url without padding, or `null`.
pub(crate) mod opt_b64_vec {
    use super::*;

    pub(crate) fn serialize<S: Serializer>(b: &Option<Vec<u8>>, s: S) -> Result<S::Ok, S::Error> {
        match b {
            Some(b) => s.serialize_some(&encode_b64(b)),
            None => s.serialize_none(),
        }
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<Vec<u8>>, D::Error> {
        match <Option<Cow<'de, str>>>::deserialize(d)? {
            Some(s) => parse_b64_vec(&s)
                .map(Some)
                .ok_or_else(|| serde::de::Error::custom("expected base64url without padding")),
            None => Ok(None),
        }
    }
}

/// `[u8; 32]` as 64 lower-case hex digits (`#[serde(serialize_with)]`;
/// request bodies read digests in their own checks).
pub(crate) fn hex32<S: Serializer>(b: &[u8; 32], s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&crate::hex::encode(b))
}
