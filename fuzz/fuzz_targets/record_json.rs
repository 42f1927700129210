//! Fuzz target: the clinical record's JSON, `ClinicalRecord::from_json`
//! (what `open` runs on every decrypted record block) and the `serde`
//! path used when a record is embedded in other JSON.
//!
//! Properties: a record that parses prints (`to_json`) to JSON that parses
//! to the same record and prints to the same bytes again (one canonical
//! form); the embedded (`Deserialize`) path accepts it too, with the same
//! value; `from_json` never accepts more than `MAX_JSON_BYTES`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sealcam_core::record::{ClinicalRecord, MAX_JSON_BYTES};

fuzz_target!(|data: &[u8]| {
    let Ok(record) = ClinicalRecord::from_json(data) else {
        return;
    };
    assert!(data.len() <= MAX_JSON_BYTES);
    let json = record.to_json();
    let again = match ClinicalRecord::from_json(&json) {
        Ok(r) => r,
        Err(e) => panic!("a parsed record's own JSON is refused: {e}"),
    };
    assert!(
        again == record,
        "the record changed through to_json and from_json"
    );
    assert!(again.to_json() == json, "to_json is not canonical");
    match serde_json::from_slice::<ClinicalRecord>(data) {
        Ok(embedded) => assert!(
            embedded == record,
            "the embedded parse gives another record"
        ),
        Err(e) => panic!("from_json accepts a record the embedded parse refuses: {e}"),
    }
});
