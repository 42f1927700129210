//! `sanitize_owned`: the in-place JPEG path and its copying fallback give
//! exactly `sanitize`'s output. (The corpus-wide comparison is in
//! tests/tests/corpus_images.rs; random soups in proptest_sanitize.rs.)

use sealcam_test_support::fixtures as common;

use common::*;
use sealcam_core::sanitize::{self, SanitizeError};

/// APP1 EXIF holding only Orientation = `o` (big-endian TIFF, one entry).
fn exif_segment(o: u16) -> Vec<u8> {
    let mut tiff = b"MM\0\x2a\0\0\0\x08\0\x01".to_vec();
    tiff.extend_from_slice(&[0x01, 0x12, 0x00, 0x03, 0x00, 0x00, 0x00, 0x01]);
    tiff.extend_from_slice(&o.to_be_bytes());
    tiff.extend_from_slice(&[0, 0, 0, 0, 0, 0]);
    let mut seg = vec![0xFF, 0xE1];
    seg.extend_from_slice(&((2 + 6 + tiff.len()) as u16).to_be_bytes());
    seg.extend_from_slice(b"Exif\0\0");
    seg.extend_from_slice(&tiff);
    seg
}

/// The tiny JPEG with `segment` inserted at byte offset `at`.
fn with_segment_at(at: usize, segment: &[u8]) -> Vec<u8> {
    let mut j = tiny_jpeg();
    j.splice(at..at, segment.iter().copied());
    j
}

/// Runs both paths; returns whether the owned one kept its buffer.
fn same_output(input: &[u8]) -> bool {
    let borrowed = sanitize::sanitize(input).expect("sanitize");
    let owned_input = input.to_vec();
    let buffer = owned_input.as_ptr();
    let owned = sanitize::sanitize_owned(owned_input).expect("sanitize_owned");
    assert_eq!(borrowed.bytes, owned.bytes());
    assert_eq!(&borrowed.report, owned.report());
    owned.bytes().as_ptr() == buffer
}

#[test]
fn jpeg_is_edited_in_its_own_buffer() {
    // EXIF right after JFIF: the minimal EXIF takes its place.
    let mut junk = vec![0xFF, 0xFE, 0x01, 0x02];
    junk.extend(std::iter::repeat_n(b'c', 0x100));
    let input = with_segment_at(20, &[exif_segment(6), junk].concat());
    assert!(same_output(&input), "expected the in-place path");
    assert_eq!(
        sanitize::sanitize(&input).expect("ok").report.orientation,
        Some(6)
    );
}

#[test]
fn jpeg_whose_minimal_exif_would_overwrite_unread_input_is_copied() {
    // JFIF, DQT…, then EXIF just before SOS: the minimal EXIF belongs
    // after JFIF, over the DQT not yet read. Same output, new buffer.
    let j = tiny_jpeg();
    let sos = (0..j.len() - 1)
        .find(|&i| j[i] == 0xFF && j[i + 1] == 0xDA)
        .expect("SOS");
    let input = with_segment_at(sos, &exif_segment(6));
    assert!(!same_output(&input), "expected the copying fallback");
}

#[test]
fn metadata_free_jpeg_stays_in_place_unchanged() {
    let j = jpeg_of_len(200_000);
    assert!(same_output(&j));
    assert_eq!(
        sanitize::sanitize_owned(j.clone()).expect("ok").bytes(),
        &j[..]
    );
}

#[test]
fn other_formats_and_errors_match() {
    // Not an image, too large, truncated JPEG: the same errors.
    let cases: Vec<Vec<u8>> = vec![
        b"hello".to_vec(),
        tiny_jpeg()[..100].to_vec(),
        vec![0xFF, 0xD8, 0xFF],
    ];
    for c in &cases {
        let b = sanitize::sanitize(c).expect_err("refused");
        let o = sanitize::sanitize_owned(c.clone()).expect_err("refused");
        assert_eq!(b.to_string(), o.to_string());
    }
    let small = sanitize::Options {
        max_input_bytes: 10,
    };
    assert!(matches!(
        sanitize::sanitize_owned_with(tiny_jpeg(), &small),
        Err(SanitizeError::TooLarge { .. })
    ));
}

#[test]
fn debug_never_prints_the_image() {
    let s = sanitize::sanitize_owned(tiny_jpeg()).expect("ok");
    let d = format!("{s:?}");
    assert!(d.contains("<309 bytes>"), "{d}");
    assert!(!d.contains("255, 216"), "{d}");
}
