//! Fuzz target: recipient strings (`sealcam1…`, `Recipient::from_str`:
//! bech32m, kind, length, canonical spelling, then the X25519 point
//! checks) and, on the same input, every other public key string
//! (`sealcamorg1…`, `sealcamdev1…`, `sealcamstaff1…`, `sealcamstore1…`:
//! Ed25519 point checks) and the hex key and envelope ids.
//!
//! Properties: a string that parses is the canonical spelling of its
//! value, in lower case or all upper case (printing it gives the input,
//! lower-cased); the value parses back from its printed form; a recipient
//! is never a low-order or non-canonical point (its bytes are accepted by
//! `Recipient::from_bytes`).
#![no_main]

use std::fmt::Display;
use std::str::FromStr;

use libfuzzer_sys::fuzz_target;
use sealcam_core::envelope::EnvelopeId;
use sealcam_core::keys::{
    DeviceId, DevicePublicKey, OrgId, OrgPublicKey, Recipient, RecipientId, StaffId,
    StaffPublicKey, StoreId, StorePublicKey,
};

fn key<T: FromStr + Display + PartialEq>(s: &str) -> Option<T> {
    let v = s.parse::<T>().ok()?;
    let printed = v.to_string();
    assert_eq!(
        printed,
        s.to_ascii_lowercase(),
        "a key string is not canonical"
    );
    assert!(
        printed.parse::<T>().ok() == Some(v),
        "a printed key does not parse back"
    );
    printed.parse::<T>().ok()
}

fn id<T: FromStr + Display>(s: &str) {
    if let Ok(v) = s.parse::<T>() {
        assert_eq!(v.to_string(), s, "an id is not in its one spelling");
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    if let Some(r) = key::<Recipient>(s) {
        assert!(Recipient::from_bytes(*r.as_bytes()).is_ok());
    }
    key::<OrgPublicKey>(s);
    key::<DevicePublicKey>(s);
    key::<StaffPublicKey>(s);
    key::<StorePublicKey>(s);
    id::<RecipientId>(s);
    id::<OrgId>(s);
    id::<DeviceId>(s);
    id::<StaffId>(s);
    id::<StoreId>(s);
    id::<EnvelopeId>(s);
});
