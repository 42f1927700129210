//! Fuzz target: the enrolment payload a device scans or is given
//! (`sealcam_relay::EnrolmentPayload::parse`:
//! `sealcam-enrol:v1;url=…;pin=sha256/…;org=…;code=…`), and one-time
//! codes as typed (`OneTimeCode::parse`, Crockford base32 with aliases).
//!
//! Properties: a payload that parses prints (`Display`) to text that
//! parses to the same payload and prints the same again; its code is in
//! canonical form; a parsed code's canonical text parses to the same code
//! and is 8 groups of 4 characters.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sealcam_core::protocol::enrolment::OneTimeCode;
use sealcam_relay::EnrolmentPayload;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Some(code) = OneTimeCode::parse(text) {
        let canon = code.expose();
        assert_eq!(canon.len(), 39, "a canonical code is not 39 characters");
        assert!(
            canon.split('-').all(|g| g.len() == 4),
            "a canonical code is not groups of 4"
        );
        assert!(
            OneTimeCode::parse(canon) == Some(code.clone()),
            "a canonical code does not parse back"
        );
    }
    let Ok(p) = EnrolmentPayload::parse(text) else {
        return;
    };
    let printed = p.to_string();
    match EnrolmentPayload::parse(&printed) {
        Ok(again) => {
            assert!(again == p, "the payload changed through its text");
            assert_eq!(again.to_string(), printed, "printing is not stable");
        }
        Err(e) => panic!("a payload's own text is refused: {e}"),
    }
    assert!(
        OneTimeCode::parse(&p.code).is_some_and(|c| c.expose() == p.code),
        "a payload's code is not canonical"
    );
});
