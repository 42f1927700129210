//! The exports on the host: handles in, a result handle out with its code;
//! every input consumed, every buffer freed. (The browser test,
//! web/tests/page.test.mjs, runs them in Chromium with real keys.)

use sealcam_web::host::{get, live, put};
use sealcam_web::*;

/// A result's code and text, freed.
fn result(h: u32) -> (u32, String) {
    assert_ne!(h, 0, "a result buffer");
    let code = sealcam_code(h);
    let text = String::from_utf8(get(h).expect("a live result")).expect("UTF-8");
    sealcam_free(h);
    (code, text)
}

#[test]
fn results_errors_and_buffers() {
    // Buffers are per thread (the browser has one); the test harness runs
    // each test on its own thread, so counts start at zero.
    assert_eq!(live(), 0);
    assert_eq!(result(sealcam_version()), (0, "0.1.0".to_string()));
    assert_eq!(
        result(sealcam_validate_nhs_number(put(b"943 476 5919"))),
        (0, "9434765919".to_string())
    );
    let (code, json) = result(sealcam_validate_nhs_number(put(b"9434765918")));
    assert_eq!(code, 41);
    let e: serde_json::Value = serde_json::from_str(&json).expect("error JSON");
    assert_eq!(e["name"], "nhs_number_invalid");
    assert!(!json.contains("9434765918"), "value-free: {json}");
    // Not UTF-8; an unknown handle.
    assert_eq!(result(sealcam_validate_nhs_number(put(&[0xff, 0xfe]))).0, 1);
    assert_eq!(result(sealcam_validate_nhs_number(12_345)).0, 1);
    // A seal that fails consumes every input all the same.
    let h = sealcam_seal_for_link(
        put(b"not a photo"),
        put(b"{}"),
        put(b""),
        put(b""),
        put(b"sealcamorg1nope"),
        put(b"00"),
        1_795_256_130,
    );
    assert_eq!(result(h).0, 1, "invalid_argument: the org fingerprint");
    let h = sealcam_seal_for_link(put(b"x"), 999, put(b""), put(b""), put(b""), put(b""), 0);
    assert_eq!(result(h).0, 1, "an unknown handle");
    assert_eq!(live(), 0, "nothing leaks");
    // An image buffer has room for its envelope; sizes are checked.
    let img = sealcam_alloc_image(1000);
    assert_eq!(sealcam_len(img), 1000);
    sealcam_free(img);
    assert_eq!(sealcam_alloc(u32::MAX), 0, "over 256 MiB");
    assert_eq!(sealcam_code(img), 3, "a freed handle is unknown");
    assert_eq!(sealcam_len(img), 0);
    sealcam_free(img);
    assert_eq!(live(), 0);
}
