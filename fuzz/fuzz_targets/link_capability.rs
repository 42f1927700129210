//! Fuzz target: `LinkCapability::from_bytes` (a patient link's signed
//! terms: the upload page receives them from the store and seals them in
//! the record; records staff check them), `verify_creator` and
//! `vouches_for` against the fixture organisation and staff keys.
//!
//! Properties: the encoding is canonical (`to_bytes` gives the input
//! back); the parsed terms, signed again by the fixture staff key, parse
//! back to the same terms; a capability whose creator verifies as the
//! fixture staff key is exactly the one that key signs.
#![no_main]

#[path = "../fixtures/mod.rs"]
mod fixtures;

use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use sealcam_core::keys::{
    LinkCapability, LinkCreator, LinkSigner, OrgPublicKey, StaffPublicKey, StaffSigningKey,
};

struct Keys {
    org: OrgPublicKey,
    staff: StaffSigningKey,
    trusted: [StaffPublicKey; 1],
}

static KEYS: LazyLock<Keys> = LazyLock::new(|| {
    let staff = fixtures::staff();
    let trusted = [staff.public()];
    Keys {
        org: fixtures::org().public(),
        staff,
        trusted,
    }
});

fuzz_target!(|data: &[u8]| {
    let Ok(cap) = LinkCapability::from_bytes(data) else {
        return;
    };
    assert!(
        cap.to_bytes() == data,
        "to_bytes does not give the input back"
    );
    let k = &*KEYS;
    let terms = cap.terms().clone();
    let resigned = match LinkCapability::sign(terms.clone(), LinkSigner::Staff(&k.staff)) {
        Ok(c) => c,
        Err(e) => panic!("parsed terms cannot be signed again: {e}"),
    };
    match LinkCapability::from_bytes(&resigned.to_bytes()) {
        Ok(back) => assert!(
            *back.terms() == terms,
            "terms changed through sign and parse"
        ),
        Err(e) => panic!("a re-signed capability is refused: {e}"),
    }
    let verified = cap.verify_creator(&k.org, &k.trusted).is_ok();
    if verified && matches!(cap.creator(), LinkCreator::Staff(_)) {
        assert!(
            resigned.to_bytes() == data,
            "a verified capability is not the one the key signs"
        );
    }
    let at = terms.created_at;
    let vouched = cap.vouches_for(&k.org, &k.trusted, at, &terms.recipients);
    assert_eq!(
        vouched.is_ok(),
        verified,
        "vouches_for disagrees with verify_creator"
    );
});
