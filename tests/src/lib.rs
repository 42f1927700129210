//! Shared helpers for the cross-crate tests in `tests/tests/`.
#![forbid(unsafe_code)]

use std::path::PathBuf;

/// The shared corpus directory (`../shared/corpus` beside the repository),
/// or `SEALCAM_CORPUS` when set. `None`, with a loud message on stderr, when
/// it is missing: the tests that need it then skip.
pub fn corpus_dir() -> Option<PathBuf> {
    let dir = std::env::var_os("SEALCAM_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/corpus"));
    if dir.join("images").is_dir() {
        Some(dir)
    } else {
        eprintln!(
            "\n!!! SKIPPING: test corpus not found at {} (set SEALCAM_CORPUS) !!!\n",
            dir.display()
        );
        None
    }
}
