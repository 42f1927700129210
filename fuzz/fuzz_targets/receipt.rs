//! Fuzz target: `Receipt::from_json`, the store's signed upload receipt
//! that a device checks before deleting its copy of an envelope
//! (`verify`, `confirms`), against the fixture store key.
//!
//! Properties: a receipt that parses prints (`to_json`) to JSON that
//! parses to the same receipt; the embedded (`Deserialize`) path agrees
//! with `from_json` on input it accepts; a receipt that verifies is exactly
//! the one the fixture store key signs for those fields; `confirms` on the
//! input bytes as an "envelope" never passes without `verify` passing.
#![no_main]

#[path = "../fixtures/mod.rs"]
mod fixtures;

use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use sealcam_core::keys::StoreSigningKey;
use sealcam_core::protocol::Receipt;

static STORE: LazyLock<StoreSigningKey> = LazyLock::new(fixtures::store);

fuzz_target!(|data: &[u8]| {
    let Ok(json) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(r) = Receipt::from_json(json) else {
        return;
    };
    let printed = r.to_json();
    match Receipt::from_json(&printed) {
        Ok(again) => assert!(again == r, "the receipt changed through its JSON"),
        Err(e) => panic!("a receipt's own JSON is refused: {e}"),
    }
    match serde_json::from_str::<Receipt>(json) {
        Ok(embedded) => assert!(embedded == r, "the embedded parse gives another receipt"),
        Err(e) => panic!("from_json accepts a receipt the embedded parse refuses: {e}"),
    }
    let public = STORE.public();
    let verified = r.verify(&public).is_ok();
    if verified {
        let signed = Receipt::sign(&STORE, r.envelope_id, r.blake3, r.size, r.received_at);
        assert!(
            signed == r,
            "a verified receipt is not the one the key signs"
        );
    }
    if r.confirms(&public, data).is_ok() {
        assert!(verified, "confirms passed without verify");
    }
});
