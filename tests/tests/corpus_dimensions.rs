//! The stored size the capture pipeline records (`image.width`,
//! `image.height`; FHIR Media width/height), read from each sanitized
//! corpus image's header, against the size Pillow decoded from the
//! original (DETAILS.tsv `pillow_decode`; Pillow does not apply EXIF
//! Orientation; pillow-heif applies a HEIF rotation, so a quarter turn is
//! allowed for HEIF).

use sealcam_core::sanitize;
use sealcam_test_support::{corpus_dir, file_name, manifest, sample_files, summary};

/// `ok 4032x3024 JPEG` → (4032, 3024).
fn pillow_size(entry: &manifest::Entry) -> Option<(u32, u32)> {
    let text = entry.details.get("pillow_decode")?;
    let size = text.strip_prefix("ok ")?.split(' ').next()?;
    let (w, h) = size.split_once('x')?;
    Some((w.parse().ok()?, h.parse().ok()?))
}

#[test]
fn every_sanitized_corpus_image_reports_its_stored_size() {
    let Some(corpus) = corpus_dir() else { return };
    let images = corpus.join("images");
    let entries = manifest::read(&images).expect("manifest");
    let (mut checked, mut without_reference) = (0, 0);
    for path in sample_files(&images) {
        let name = file_name(&path);
        let Some(entry) = entries.get(&name) else {
            continue;
        };
        let input = std::fs::read(&path).expect("read");
        let Ok(clean) = sanitize::sanitize(&input) else {
            continue;
        };
        let got = sanitize::dimensions(&clean.bytes)
            .unwrap_or_else(|| panic!("{name}: no dimensions from the sanitized header"));
        let Some((w, h)) = pillow_size(entry) else {
            without_reference += 1;
            continue;
        };
        let heif = clean.report.format == sanitize::ImageFormat::Heif;
        let got = (got.width, got.height);
        assert!(
            got == (w, h) || (heif && got == (h, w)),
            "{name}: {got:?}, Pillow {:?}",
            (w, h)
        );
        checked += 1;
    }
    summary(&format!(
        "corpus dimensions: {checked} images match Pillow's size, {without_reference} without a Pillow reference"
    ));
    assert!(checked >= 40, "only {checked} images checked");
}
