//! Fuzz target: `capture::RecordDraft::from_json`, the record draft the
//! phone and web bridges and `sealcam send` pass to the capture pipeline
//! (docs/BRIDGE.md), with and without a default clinician.
//!
//! Properties: a draft that parses completes (`RecordDraft::complete`,
//! with the fixture JPEG) into a record, whose JSON parses back to the
//! same record; `RecordDraft::from_record` of that record keeps the
//! draft's patient, body site, clinician, consent, source and link
//! capability.
#![no_main]

#[path = "../fixtures/mod.rs"]
mod fixtures;

use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use sealcam_core::capture::RecordDraft;
use sealcam_core::record::{ClinicalRecord, Clinician, MediaType};
use time::OffsetDateTime;

struct Fixed {
    clinician: Clinician,
    jpeg: Vec<u8>,
    now: OffsetDateTime,
}

static FIXED: LazyLock<Fixed> = LazyLock::new(|| Fixed {
    clinician: fixtures::clinician(),
    jpeg: fixtures::tiny_jpeg(),
    now: match OffsetDateTime::from_unix_timestamp(fixtures::NOW as i64) {
        Ok(t) => t,
        Err(e) => panic!("fixture time: {e}"),
    },
});

fn check(draft: &RecordDraft, f: &Fixed) {
    let record = match draft.complete(MediaType::Jpeg, &f.jpeg, None, f.now) {
        Ok(r) => r,
        Err(e) => panic!("a draft that parsed does not complete: {e}"),
    };
    let again = match ClinicalRecord::from_json(&record.to_json()) {
        Ok(r) => r,
        Err(e) => panic!("a completed record's JSON is refused: {e}"),
    };
    assert!(
        again == record,
        "the completed record changed through its JSON"
    );
    let back = RecordDraft::from_record(&record);
    assert!(back.patient == draft.patient, "patient changed");
    assert!(back.body_site == draft.body_site, "body site changed");
    assert!(back.clinician == draft.clinician, "clinician changed");
    assert!(back.consent == draft.consent, "consent changed");
    assert!(back.source == draft.source, "source changed");
    assert!(
        back.link_capability == draft.link_capability,
        "link capability changed"
    );
    assert_eq!(back.captured_at, Some(draft.captured_at.unwrap_or(f.now)));
}

fuzz_target!(|data: &[u8]| {
    let f = &*FIXED;
    let with_default = RecordDraft::from_json(data, Some(&f.clinician), f.now);
    if let Ok(d) = &with_default {
        check(d, f);
    }
    if let Ok(d) = RecordDraft::from_json(data, None, f.now) {
        check(&d, f);
        match &with_default {
            Ok(w) => assert!(
                *w == d,
                "a default clinician changed a draft that names one"
            ),
            Err(e) => panic!("a draft parses without a default clinician but not with one: {e}"),
        }
    }
});
