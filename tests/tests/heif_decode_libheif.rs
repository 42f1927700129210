//! HEIC/HEIF outputs decode with a real decoder (libheif, through
//! pillow-heif) to exactly the original pixels, rotation included.
//!
//! Skips loudly when python3 or pillow-heif is missing, unless
//! `SEALCAM_REQUIRE_LIBHEIF=1` (set by `.ci/run`), which turns that into a
//! failure.

use sealcam_core::sanitize;
use std::path::Path;
use std::process::Command;

#[test]
fn heif_outputs_decode_to_identical_pixels_with_libheif() {
    let Some(corpus) = sealcam_test_support::corpus_dir() else {
        return;
    };
    let dir = tempfile::tempdir().expect("temp dir");
    let mut args = Vec::new();
    for entry in std::fs::read_dir(corpus.join("images")).expect("corpus images") {
        let path = entry.expect("dir entry").path();
        let input = std::fs::read(&path).expect("read corpus file");
        if sanitize::detect_format(&input) != Some(sanitize::ImageFormat::Heif) {
            continue;
        }
        let clean = sanitize::sanitize(&input).expect("HEIF sanitizes");
        let out = dir.path().join(path.file_name().expect("file name"));
        std::fs::write(&out, &clean.bytes).expect("write output");
        args.push(path);
        args.push(out);
    }
    assert!(args.len() >= 2, "no HEIF files in the corpus");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/heif_pixels.py");
    let status = Command::new("python3").arg(&script).args(&args).status();
    let required = std::env::var("SEALCAM_REQUIRE_LIBHEIF").is_ok_and(|v| v == "1");
    match status.map(|s| s.code()) {
        Ok(Some(0)) => {}
        Ok(Some(3)) | Err(_) if !required => {
            eprintln!("\n!!! SKIPPING libheif decode check: python3 with pillow-heif not available (pip install pillow-heif) !!!\n");
        }
        other => panic!("libheif pixel comparison failed: {other:?}"),
    }
}
