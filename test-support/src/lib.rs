//! `sealcam-test-support`: what the test suites share, as one crate
//! instead of files included by path.
//!
//! - [`fixtures`]: fixed keys, a fictional clinical record, a tiny real JPEG
//!   and a deterministic RNG (core's tests and benches, the store's API
//!   tests, the harnesses below);
//! - the corpus ([`corpus_dir`], [`sample_files`]), its [`manifest`], an
//!   independent metadata [`scanner`] and a small [`heif`] reader;
//! - real processes: [`binaries`] (which binaries are under test),
//!   [`cli`] (running `sealcam`), [`store`] (a `sealcam-store` process and
//!   a signing HTTPS client), [`proxy`] (a flaky TCP proxy) and
//!   [`deployment`] (a whole deployment driven the way the README does).
#![forbid(unsafe_code)]

pub mod binaries;
pub mod cli;
pub mod deployment;
pub mod fixtures;
pub mod heif;
pub mod manifest;
pub mod proxy;
pub mod scanner;
pub mod store;

use std::path::{Path, PathBuf};

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
        // Straight to stderr, past the harness's capture: a skip must be seen.
        summary(&format!(
            "\n!!! SKIPPING: test corpus not found at {} (set SEALCAM_CORPUS) !!!\n",
            dir.display()
        ));
        None
    }
}

/// The sample files in `dir` (the `.tsv` and `.md` descriptions left out),
/// sorted by name.
pub fn sample_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()))
        .map(|entry| {
            entry
                .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()))
                .path()
        })
        .filter(|p| p.is_file())
        .filter(|p| !matches!(p.extension().and_then(|e| e.to_str()), Some("tsv" | "md")))
        .collect();
    files.sort();
    files
}

/// The file name of `path` as text.
pub fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// True for `.heic` / `.heif` files.
pub fn is_heif_name(path: &Path) -> bool {
    matches!(
        path.extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase)
            .as_deref(),
        Some("heic" | "heif")
    )
}

/// Offset of the first occurrence of `needle` in `haystack`.
pub fn find_bytes(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    memchr::memmem::find(haystack, needle)
}

/// Applies `f` to every item on all available cores (at most 4 threads),
/// returning the results in input order. For slow per-file checks in debug
/// builds; a panic in `f` propagates.
pub fn parallel_map<T: Sync, R: Send>(items: &[T], f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Mutex;
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .clamp(1, 4);
    let next = AtomicUsize::new(0);
    let results = Mutex::new(Vec::with_capacity(items.len()));
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(item) = items.get(i) else { break };
                let r = f(item);
                results
                    .lock()
                    .unwrap_or_else(|poisoned| poisoned.into_inner())
                    .push((i, r));
            });
        }
    });
    let mut results = results
        .into_inner()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    results.sort_by_key(|(i, _)| *i);
    results.into_iter().map(|(_, r)| r).collect()
}

/// Prints a summary line straight to stderr, past the test harness's output
/// capture, so counts show in a plain `cargo test` run (and can be quoted).
pub fn summary(line: &str) {
    use std::io::Write;
    let mut err = std::io::stderr().lock();
    let _ = writeln!(err, "{line}");
}
