//! Every file in the shared corpus `malformed/` (broken or hostile JPEGs):
//! `sanitize` either refuses with a clear message or returns output that
//! both its own verifier and the independent scanner accept. It never panics.

use sealcam_core::sanitize;
use sealcam_test_support::{corpus_dir, file_name, sample_files, scanner, summary};
use std::panic::{catch_unwind, AssertUnwindSafe};

/// Words of which a clear error message names at least one: the format,
/// or what is wrong with the bytes.
const CLEAR_WORDS: &[&str] = &[
    "JPEG",
    "PNG",
    "WebP",
    "HEIF",
    "format",
    "empty",
    "truncated",
    "corrupt",
];

#[test]
fn malformed_files_are_refused_clearly_or_sanitized_cleanly() {
    let Some(corpus) = corpus_dir() else { return };
    let files = sample_files(&corpus.join("malformed"));
    assert!(!files.is_empty(), "malformed/ is empty");
    let (mut errors, mut clean) = (0, 0);
    let mut problems = Vec::new();
    for path in &files {
        let name = file_name(path);
        let input = std::fs::read(path).unwrap_or_else(|e| panic!("{name}: {e}"));
        match catch_unwind(AssertUnwindSafe(|| sanitize::sanitize(&input))) {
            Err(_) => problems.push(format!("{name}: sanitize PANICKED")),
            Ok(Err(e)) => {
                errors += 1;
                let message = e.to_string();
                eprintln!("  {name}: refused: {message}");
                if message.trim().is_empty() || !CLEAR_WORDS.iter().any(|w| message.contains(w)) {
                    problems.push(format!("{name}: unclear error message {message:?}"));
                }
            }
            Ok(Ok(s)) => {
                eprintln!(
                    "  {name}: sanitized, {} -> {} bytes",
                    input.len(),
                    s.bytes.len()
                );
                let mut bad = Vec::new();
                if let Err(e) = sanitize::verify(&s.bytes) {
                    bad.push(format!("verify rejects the output: {e}"));
                }
                bad.extend(
                    scanner::scan(&s.bytes)
                        .iter()
                        .map(|f| format!("scanner: {f}")),
                );
                if s.bytes.len() > input.len() + 64 {
                    bad.push("output more than 64 bytes larger than the input".into());
                }
                if bad.is_empty() {
                    clean += 1;
                }
                problems.extend(bad.into_iter().map(|b| format!("{name}: {b}")));
            }
        }
    }
    summary(&format!(
        "corpus malformed: {} files, {errors} refused with an error, {clean} sanitized to clean output",
        files.len()
    ));
    assert!(
        problems.is_empty(),
        "{} problems:\n  {}",
        problems.len(),
        problems.join("\n  ")
    );
}
