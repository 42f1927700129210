//! Fuzz target: `sealcam_core::sanitize::sanitize` on arbitrary bytes.
//!
//! Properties checked whenever the first pass succeeds:
//! 1. the output passes the independent verifier (`verify`);
//! 2. sanitizing the output again succeeds, and reports the same format;
//! 3. for JPEG, PNG and WebP the second pass is byte-for-byte identical to
//!    the first (idempotence). HEIF is only required to pass 1 and 2.
//!
//! Errors are fine (malformed input must be refused); panics, hangs, and
//! broken properties are bugs.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sealcam_core::sanitize::{sanitize, verify, ImageFormat};

fuzz_target!(|data: &[u8]| {
    let Ok(first) = sanitize(data) else {
        return;
    };
    if let Err(e) = verify(&first.bytes) {
        panic!("sanitize output fails verify: {e}");
    }
    let second = match sanitize(&first.bytes) {
        Ok(s) => s,
        Err(e) => panic!(
            "sanitizing the sanitized {} output again failed: {e}",
            first.report.format
        ),
    };
    assert_eq!(
        second.report.format, first.report.format,
        "second pass detected another format"
    );
    match first.report.format {
        ImageFormat::Jpeg | ImageFormat::Png | ImageFormat::WebP => {
            if second.bytes != first.bytes {
                let at = first
                    .bytes
                    .iter()
                    .zip(&second.bytes)
                    .position(|(a, b)| a != b)
                    .unwrap_or(first.bytes.len().min(second.bytes.len()));
                panic!(
                    "{} sanitize is not idempotent: pass 1 gave {} bytes, pass 2 gave {} bytes, first difference at byte {at}",
                    first.report.format,
                    first.bytes.len(),
                    second.bytes.len()
                );
            }
        }
        ImageFormat::Heif => {}
    }
});
