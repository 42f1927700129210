//! Every image in the shared corpus (`images/`), sanitized with
//! `sealcam_core::sanitize::sanitize`:
//!
//! - sanitizing succeeds (HEIC/HEIF in its own test, so its failures show
//!   separately);
//! - the output carries no identifying metadata, by two independent checks:
//!   `kamadak-exif` and this crate's own scanner, plus a search for the
//!   camera make and model strings;
//! - the picture is unchanged: JPEG/PNG/WebP decode to identical pixels
//!   (with `image`) and keep their orientation; HEIC keeps the primary item
//!   (and its grid tiles) byte for byte with its rotation and mirroring.
//!
//! Each test prints a one-line summary to stderr for the docs.

mod image_checks;

use image_checks::exif::{self, ExifSeen};
use image_checks::tally::{Outcome, Tally};
use image_checks::{heif_items, pixels};
use sealcam_core::sanitize::{self, Category, Sanitized};
use sealcam_test_support::heif::Heif;
use sealcam_test_support::manifest::{self, Entry};
use sealcam_test_support::scanner::{self, Kind};
use sealcam_test_support::{
    corpus_dir, file_name, find_bytes, is_heif_name, parallel_map, sample_files, summary,
};
use std::collections::{BTreeMap, BTreeSet};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};

/// Corpus files on which the sanitizer is known to be wrong today, each with
/// the defect. Their problems are printed but do not fail the suite; a file
/// listed here that passes fails it, so the list cannot go stale.
const KNOWN_FAILING: &[(&str, &str)] = &[];

/// The corpus images and their manifest rows.
struct Corpus {
    files: Vec<PathBuf>,
    entries: BTreeMap<String, Entry>,
}

fn corpus() -> Option<Corpus> {
    let images = corpus_dir()?.join("images");
    let entries = manifest::read(&images).unwrap_or_else(|e| panic!("{e}"));
    Some(Corpus {
        files: sample_files(&images),
        entries,
    })
}

impl Corpus {
    fn entry(&self, name: &str) -> Entry {
        self.entries.get(name).cloned().unwrap_or_else(|| Entry {
            file: name.to_string(),
            ..Entry::default()
        })
    }
}

/// Runs the sanitizer, turning a panic into an error naming no values.
fn sanitize_caught(input: &[u8]) -> Result<Sanitized, String> {
    match catch_unwind(AssertUnwindSafe(|| sanitize::sanitize(input))) {
        Ok(Ok(s)) => Ok(s),
        Ok(Err(e)) => Err(format!("sanitize failed: {e} ({e:?})")),
        Err(_) => Err("sanitize PANICKED".to_string()),
    }
}

/// Anything identifying in a sanitized image, by the scanner, by
/// `kamadak-exif`, and by searching for the make and model strings.
fn metadata_problems(entry: &Entry, output: &[u8]) -> Vec<String> {
    let mut problems: Vec<String> = scanner::scan(output)
        .iter()
        .map(|f| format!("scanner: {f}"))
        .collect();
    if let ExifSeen::Other(what) = exif::seen(output) {
        problems.push(format!("kamadak-exif: {what}"));
    }
    for s in entry.identifying_strings() {
        if let Some(at) = scanner::find_outside_icc(output, s.as_bytes()) {
            problems.push(format!("make/model string {s:?} still at byte {at}"));
        }
    }
    problems
}

/// True when the make or model occurs in `output`, but only inside a kept
/// ICC profile (a vendor's copyright line, e.g. "Copyright Apple Inc.").
fn names_maker_only_in_icc(entry: &Entry, output: &[u8]) -> bool {
    entry.identifying_strings().iter().any(|s| {
        find_bytes(output, s.as_bytes()).is_some()
            && scanner::find_outside_icc(output, s.as_bytes()).is_none()
    })
}

/// The report must describe the run and name what the manifest says was there.
fn report_problems(entry: &Entry, input: &[u8], s: &Sanitized) -> Vec<String> {
    let r = &s.report;
    let mut problems = Vec::new();
    if Some(r.format) != sanitize::detect_format(input) {
        problems.push(format!("report format {:?} is not the input's", r.format));
    }
    if r.input_bytes != input.len() as u64 || r.output_bytes != s.bytes.len() as u64 {
        problems.push(format!(
            "report sizes {}/{} but input/output are {}/{}",
            r.input_bytes,
            r.output_bytes,
            input.len(),
            s.bytes.len()
        ));
    }
    if s.bytes.len() > input.len() + 64 {
        problems.push("output more than 64 bytes larger than the input".into());
    }
    let removed: BTreeSet<Category> = r.removed.iter().map(|x| x.category).collect();
    let expect = |flag: bool, any_of: &[Category], what: &str, problems: &mut Vec<String>| {
        if flag && !any_of.iter().any(|c| removed.contains(c)) {
            problems.push(format!(
                "manifest says {what}, report removed none of {any_of:?} (removed {removed:?})"
            ));
        }
    };
    expect(
        entry.has_gps,
        &[Category::Exif, Category::Xmp],
        "GPS",
        &mut problems,
    );
    expect(entry.has_xmp, &[Category::Xmp], "XMP", &mut problems);
    expect(entry.has_iptc, &[Category::Iptc], "IPTC", &mut problems);
    expect(entry.has_mpf, &[Category::Mpf], "MPF", &mut problems);
    expect(
        entry.has_trailer,
        &[Category::Trailer],
        "a trailer",
        &mut problems,
    );
    let thumbs = [
        Category::Exif,
        Category::Thumbnail,
        Category::Iptc,
        Category::SecondaryImage,
    ];
    expect(entry.has_thumbnail, &thumbs, "a thumbnail", &mut problems);
    problems
}

/// JPEG/PNG/WebP: the output's orientation, as every reader sees it, is the
/// input's EXIF orientation when that is 2..=8, and none otherwise.
fn orientation_problems(entry: &Entry, s: &Sanitized) -> Vec<String> {
    let expected = entry.expected_orientation();
    let mut problems = Vec::new();
    if s.report.orientation != expected {
        problems.push(format!(
            "report orientation {:?}, expected {expected:?} (input has {:?})",
            s.report.orientation, entry.orientation
        ));
    }
    match sanitize::verify(&s.bytes) {
        Ok(v) if v.orientation == expected => {}
        Ok(v) => problems.push(format!("verify reads orientation {:?}", v.orientation)),
        Err(e) => problems.push(format!("verify rejects the output: {e}")),
    }
    let seen = exif::seen(&s.bytes);
    let want = match expected {
        Some(o) => ExifSeen::OrientationOnly(u32::from(o)),
        None => ExifSeen::None,
    };
    if seen != want {
        problems.push(format!("kamadak-exif sees {seen:?}, expected {want:?}"));
    }
    problems
}

/// Decodes input and output; pixels must be identical as stored and after
/// applying each file's orientation.
fn pixel_problems(entry: &Entry, input: &[u8], output: &[u8], o: &mut Outcome) -> Vec<String> {
    let decoded_in = match pixels::decode(input) {
        Ok(d) => d,
        Err(in_err) => {
            o.input_decodes = Some(false);
            return match pixels::decode(output) {
                Ok(_) => Vec::new(),
                Err(out_err) if strip_digits(&out_err) == strip_digits(&in_err) => {
                    o.output_fails_the_same_way = true;
                    Vec::new()
                }
                Err(out_err) => vec![format!(
                    "input fails to decode ({in_err}) and output fails differently ({out_err})"
                )],
            };
        }
    };
    o.input_decodes = Some(true);
    let decoded_out = match pixels::decode(output) {
        Ok(d) => d,
        Err(e) => return vec![format!("input decodes, output does not: {e}")],
    };
    let expected = pixels::orientation_of(entry.expected_orientation());
    o.decoder_orientation_differs = decoded_in.orientation != expected;
    let mut problems = Vec::new();
    if decoded_out.orientation != expected {
        problems.push(format!(
            "`image` reads output orientation {:?}, expected {expected:?}",
            decoded_out.orientation
        ));
    }
    if let Some(d) = pixels::difference(&decoded_in.image, &decoded_out.image) {
        problems.push(format!("stored pixels differ: {d}"));
    } else {
        let shown_in = pixels::oriented(&decoded_in.image, expected);
        let shown_out = pixels::oriented(&decoded_out.image, decoded_out.orientation);
        match pixels::difference(&shown_in, &shown_out) {
            None => o.pixel_identical = true,
            Some(d) => problems.push(format!("displayed pixels differ: {d}")),
        }
    }
    problems
}

fn strip_digits(s: &str) -> String {
    s.chars().filter(|c| !c.is_ascii_digit()).collect()
}

/// Sanitizes one file and runs every check on it.
fn check_file(corpus: &Corpus, path: &Path) -> Outcome {
    let name = file_name(path);
    let entry = corpus.entry(&name);
    let input = std::fs::read(path).unwrap_or_else(|e| panic!("{name}: {e}"));
    let mut o = Outcome {
        name,
        ..Outcome::default()
    };
    // For HEIC an "unsupported" error is a failure here, not a skip.
    let s = match sanitize_caught(&input) {
        Ok(s) => s,
        Err(e) => {
            o.problems.push(e);
            return o;
        }
    };
    let mut problems = metadata_problems(&entry, &s.bytes);
    o.clean = problems.is_empty();
    o.maker_only_in_icc = names_maker_only_in_icc(&entry, &s.bytes);
    problems.extend(report_problems(&entry, &input, &s));
    match sanitize_caught(&s.bytes) {
        Ok(again) if again.bytes == s.bytes => {}
        Ok(_) => problems.push("sanitizing the output again changes it".into()),
        Err(e) => problems.push(format!("sanitizing the output again: {e}")),
    }
    if is_heif_name(path) {
        let item_problems = heif_items::problems(&input, &s.bytes);
        o.heic_items_identical = item_problems.is_empty();
        problems.extend(item_problems);
    } else {
        problems.extend(orientation_problems(&entry, &s));
        problems.extend(pixel_problems(&entry, &input, &s.bytes, &mut o));
    }
    o.problems = problems;
    o
}

#[test]
fn jpeg_png_webp_images_are_clean_and_pixel_identical() {
    let Some(corpus) = corpus() else { return };
    let files: Vec<&PathBuf> = corpus.files.iter().filter(|p| !is_heif_name(p)).collect();
    assert!(!files.is_empty(), "no JPEG/PNG/WebP files in the corpus");
    let tally = Tally::of(
        parallel_map(&files, |p| check_file(&corpus, p)),
        KNOWN_FAILING,
    );
    tally.finish(&format!(
        "corpus JPEG/PNG/WebP: {} files, {} clean, {}/{} pixel-identical, \
         {} inputs `image` cannot decode ({} outputs fail the same way, the rest decode), \
         {} known failing; {} name the maker only inside their kept ICC profile; \
         `image` reads the input orientation unlike exiftool in {:?}",
        tally.files,
        tally.clean,
        tally.pixel_identical,
        tally.decodable_inputs,
        tally.undecodable_inputs,
        tally.undecodable_outputs_too,
        tally.known.len(),
        tally.maker_only_in_icc,
        tally.decoder_orientation_differs,
    ));
}

#[test]
fn heic_images_are_clean_and_keep_coded_items_identical() {
    let Some(corpus) = corpus() else { return };
    let files: Vec<&PathBuf> = corpus.files.iter().filter(|p| is_heif_name(p)).collect();
    assert!(!files.is_empty(), "no HEIC files in the corpus");
    let tally = Tally::of(
        parallel_map(&files, |p| check_file(&corpus, p)),
        KNOWN_FAILING,
    );
    tally.finish(&format!(
        "corpus HEIC: {} files, {} clean, {} heic-items-identical, {} known failing; \
         {} name the maker only inside their kept ICC profile",
        tally.files,
        tally.clean,
        tally.heic_items_identical,
        tally.known.len(),
        tally.maker_only_in_icc
    ));
}

#[test]
fn every_image_has_a_manifest_row() {
    let Some(corpus) = corpus() else { return };
    let missing: Vec<String> = corpus
        .files
        .iter()
        .map(|p| file_name(p))
        .filter(|n| !corpus.entries.contains_key(n))
        .collect();
    assert!(missing.is_empty(), "not in MANIFEST.tsv: {missing:?}");
    assert_eq!(
        corpus.files.len(),
        corpus.entries.len(),
        "MANIFEST.tsv rows vs files"
    );
}

/// The scanner must be able to fail: on the ORIGINAL files it must find
/// what the manifest (exiftool) says they contain.
#[test]
fn scanner_finds_the_metadata_the_manifest_lists() {
    let Some(corpus) = corpus() else { return };
    let mut misses = Vec::new();
    let mut checked = 0;
    for path in &corpus.files {
        let name = file_name(path);
        let entry = corpus.entry(&name);
        let input = std::fs::read(path).unwrap_or_else(|e| panic!("{name}: {e}"));
        let findings = scanner::scan(&input);
        let has = |kind: Kind, text: &str| {
            findings
                .iter()
                .any(|f| f.kind == kind && f.what.contains(text))
        };
        let thumbnail_tags = entry
            .details
            .get("thumbnail_tags")
            .cloned()
            .unwrap_or_default();
        let expectations = [
            (
                entry.has_gps,
                has(Kind::Exif, "GPS") || has(Kind::Xmp, ""),
                "GPS",
            ),
            (entry.has_xmp, has(Kind::Xmp, ""), "XMP"),
            (entry.has_iptc, has(Kind::Iptc, ""), "IPTC"),
            (entry.has_mpf, has(Kind::Mpf, ""), "MPF"),
            (entry.has_trailer, has(Kind::Trailer, ""), "trailer"),
            (
                thumbnail_tags.contains("ThumbnailOffset"),
                has(Kind::Exif, "IFD1"),
                "EXIF IFD1 thumbnail",
            ),
            (
                thumbnail_tags.contains("iref/thmb"),
                has(Kind::Thumbnail, "thmb"),
                "thmb reference",
            ),
            (
                thumbnail_tags.contains("PhotoshopThumbnail"),
                has(Kind::Iptc, ""),
                "Photoshop thumbnail",
            ),
        ];
        for (listed, found, what) in expectations {
            if listed {
                checked += 1;
                if !found {
                    misses.push(format!(
                        "{name}: {what} not found; scanner saw {findings:?}"
                    ));
                }
            }
        }
        for s in entry.identifying_strings() {
            checked += 1;
            if find_bytes(&input, s.as_bytes()).is_none() {
                misses.push(format!("{name}: make/model {s:?} not in the original"));
            }
        }
    }
    summary(&format!(
        "scanner self-check on originals: {checked} expectations from the manifest"
    ));
    assert!(checked > 50, "too few expectations checked: {checked}");
    assert!(
        misses.is_empty(),
        "scanner missed:\n  {}",
        misses.join("\n  ")
    );
}

/// The comparisons above must be able to fail: a changed pixel, a changed
/// orientation, a changed HEIF tile byte or rotation, and metadata in an
/// original file are all caught.
#[test]
fn the_checks_catch_what_they_claim_to() {
    use image::metadata::Orientation;
    use image::{DynamicImage, Rgb, RgbImage};

    let a = DynamicImage::ImageRgb8(RgbImage::from_fn(3, 2, |x, y| Rgb([x as u8, y as u8, 7])));
    let mut b = a.to_rgb8();
    b.put_pixel(2, 1, Rgb([9, 9, 9]));
    assert!(pixels::difference(&a, &a).is_none());
    assert!(pixels::difference(&a, &DynamicImage::ImageRgb8(b)).is_some());
    let turned = pixels::oriented(&a, Orientation::Rotate90);
    assert!(pixels::difference(&a, &turned).is_some());
    assert_eq!(pixels::orientation_of(Some(6)), Orientation::Rotate90);
    assert_eq!(pixels::orientation_of(Some(0)), Orientation::NoTransforms);

    let Some(corpus) = corpus() else { return };
    let mut heics = 0;
    for path in corpus.files.iter().filter(|p| is_heif_name(p)) {
        let name = file_name(path);
        let input = std::fs::read(path).unwrap_or_else(|e| panic!("{name}: {e}"));
        let same = heif_items::problems(&input, &input);
        assert!(same.is_empty(), "{name} compared with itself: {same:?}");
        let heif = Heif::parse(&input).unwrap_or_else(|e| panic!("{name}: {e}"));
        let primary = heif.primary.unwrap_or_else(|| panic!("{name}: no primary"));
        let target = heif
            .referenced(b"dimg", primary)
            .last()
            .copied()
            .unwrap_or(primary);
        let ranges = heif
            .item_ranges(input.len(), target)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let (start, end) = ranges[0];
        let mut changed = input.clone();
        changed[(start + end) / 2] ^= 0x01;
        assert!(
            !heif_items::problems(&input, &changed).is_empty(),
            "{name}: a flipped bit in item {target} went unnoticed"
        );
        if let Some(irot) = heif
            .properties_of(primary)
            .iter()
            .find(|p| &p.kind == b"irot")
        {
            let mut turned = input.clone();
            turned[irot.end - 1] ^= 0x01;
            let problems = heif_items::problems(&input, &turned);
            assert!(
                problems.iter().any(|p| p.contains("irot")),
                "{name}: a changed irot went unnoticed: {problems:?}"
            );
        }
        heics += 1;
    }
    assert!(heics > 0, "no HEIC in the corpus");

    let mut originals_with_gps = 0;
    for path in &corpus.files {
        let name = file_name(path);
        let entry = corpus.entry(&name);
        if !entry.has_gps {
            continue;
        }
        let input = std::fs::read(path).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(
            !metadata_problems(&entry, &input).is_empty(),
            "{name}: GPS original passes the metadata checks"
        );
        if entry.details.get("gps_ifd_present").map(String::as_str) == Some("yes") {
            assert!(
                matches!(exif::seen(&input), ExifSeen::Other(_)),
                "{name}: kamadak-exif check passes an original with a GPS IFD"
            );
        }
        originals_with_gps += 1;
    }
    assert!(originals_with_gps > 0);
}

/// A small deterministic xorshift generator, so failures reproduce.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// Real files with a few bytes overwritten in their headers (the first
/// 64 KiB; for HEIC the `meta` box): whatever `sanitize` accepts must pass
/// the independent scanner too. Fail-closed under damage, checked by a
/// parser that is not the sanitizer's own verifier.
#[test]
fn damaged_images_are_refused_or_come_out_clean() {
    const VARIANTS: usize = 24;
    let Some(corpus) = corpus() else { return };
    let mut rng = XorShift(0x5EA1_CA11_D00D_F00D);
    let (mut tried, mut accepted, mut problems) = (0, 0, Vec::new());
    for path in &corpus.files {
        let name = file_name(path);
        let original = std::fs::read(path).unwrap_or_else(|e| panic!("{name}: {e}"));
        let region = if is_heif_name(path) {
            match Heif::parse(&original).ok().and_then(|h| h.meta) {
                Some(meta) => (meta.start, meta.end),
                None => continue,
            }
        } else if original.len() <= 512 * 1024 {
            (0, original.len().min(64 * 1024))
        } else {
            continue; // large JPEGs: the truncation and soup properties cover them
        };
        for _ in 0..VARIANTS {
            let mut bytes = original.clone();
            let edits = 1 + rng.below(3);
            for _ in 0..edits {
                let at = region.0 + rng.below(region.1 - region.0);
                bytes[at] = rng.next() as u8;
            }
            tried += 1;
            match sanitize_caught(&bytes) {
                Ok(s) => {
                    accepted += 1;
                    let found = scanner::scan(&s.bytes);
                    if !found.is_empty() {
                        problems.push(format!("{name} (damaged): scanner found {found:?}"));
                    }
                }
                Err(e) if e.contains("PANICKED") => problems.push(format!("{name}: {e}")),
                Err(_) => {}
            }
        }
    }
    summary(&format!(
        "damaged corpus images: {tried} variants, {accepted} accepted, all accepted ones scanner-clean: {}",
        problems.is_empty()
    ));
    assert!(tried > 0);
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// `sanitize_owned` gives byte for byte what `sanitize` gives on every
/// corpus image (and on the malformed files: the same error), and edits
/// the JPEGs in their own buffer.
#[test]
fn owned_sanitize_matches_copying_sanitize() {
    let Some(dir) = corpus_dir() else {
        return;
    };
    let mut files = sample_files(&dir.join("images"));
    if dir.join("malformed").is_dir() {
        files.extend(sample_files(&dir.join("malformed")));
    }
    let (mut same, mut in_place, mut jpegs, mut errors) = (0, 0, 0, 0);
    for path in &files {
        let name = file_name(path);
        let input = std::fs::read(path).unwrap_or_else(|e| panic!("{name}: {e}"));
        let borrowed = sanitize::sanitize(&input);
        match (borrowed, sanitize::sanitize_owned(input.clone())) {
            (Ok(b), Ok(o)) => {
                assert!(b.bytes == o.bytes(), "{name}: owned output differs");
                assert_eq!(&b.report, o.report(), "{name}: report differs");
                same += 1;
            }
            (Err(b), Err(o)) => {
                assert_eq!(b.to_string(), o.to_string(), "{name}: errors differ");
                errors += 1;
            }
            (b, o) => panic!("{name}: borrowed ok {}, owned ok {}", b.is_ok(), o.is_ok()),
        }
        // Same input again, checking where the output lives.
        if sanitize::detect_format(&input) == Some(sanitize::ImageFormat::Jpeg) {
            let copy = input.clone();
            let buffer = copy.as_ptr();
            if let Ok(o) = sanitize::sanitize_owned(copy) {
                jpegs += 1;
                in_place += usize::from(o.bytes().as_ptr() == buffer);
            }
        }
    }
    let _ = std::io::Write::write_fmt(
        &mut std::io::stderr(),
        format_args!(
            "owned sanitize: {same} outputs identical, {errors} errors identical; \
         {in_place} of {jpegs} sanitized JPEGs edited in their own buffer\n"
        ),
    );
    assert!(same >= 65, "expected the whole corpus, got {same}");
    // Every corpus JPEG puts its minimal EXIF where metadata was removed.
    assert_eq!(
        in_place, jpegs,
        "some JPEGs were copied, not edited in place"
    );
}
