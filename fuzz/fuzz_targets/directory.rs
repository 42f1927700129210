//! Fuzz target: `SignedDirectory::from_bytes` (the recipient directory a
//! device downloads from the store) and `verify` against the fixture
//! organisation key.
//!
//! Properties: the encoding is canonical (`to_bytes` gives the input
//! back); a directory that verifies validates, and signing its contents
//! again with the fixture key gives exactly the input (Ed25519 is
//! deterministic), so the parser and the writer agree.
#![no_main]

#[path = "../fixtures/mod.rs"]
mod fixtures;

use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use sealcam_core::keys::{OrgSigningKey, SignedDirectory};

static ORG: LazyLock<OrgSigningKey> = LazyLock::new(fixtures::org);

fuzz_target!(|data: &[u8]| {
    let Ok(signed) = SignedDirectory::from_bytes(data) else {
        return;
    };
    assert!(
        signed.to_bytes() == data,
        "to_bytes does not give the input back"
    );
    // Any time: the signature is what matters here, then expiry.
    if let Ok(dir) = signed.verify(&ORG.public(), 0) {
        if let Err(e) = dir.validate() {
            panic!("a verified directory does not validate: {e}");
        }
        for e in &dir.entries {
            assert!(dir.entry(&e.recipient.id()).is_some());
        }
        match dir.sign(&ORG) {
            Ok(again) => assert!(again.to_bytes() == data, "re-signing gives other bytes"),
            Err(e) => panic!("a verified directory cannot be signed again: {e}"),
        }
    }
});
