//! Criterion benchmark of in-process sanitizing (`sealcam_core::sanitize::sanitize`).
//!
//! Inputs (see docs/BENCHMARKS.md):
//! - `bench-inputs/photo-12mp.jpg` and `bench-inputs/photo-48mp.jpg`, made by
//!   `scripts/gen-bench-inputs.sh` (synthetic 12 MP / 48 MP JPEGs carrying
//!   GPS, serials, MakerNote, thumbnail, XMP, IPTC, ICC and a comment);
//!   `SEALCAM_BENCH_INPUTS` overrides the directory.
//! - one real phone photo from the shared corpus
//!   (`../shared/corpus` beside the repository, or `SEALCAM_CORPUS`).
//!
//! A missing input is skipped with a loud message, never a failure.
//! Targets: 12 MP <= 1 ms, 48 MP <= 4 ms.
//!
//! Besides `sanitize/*` (the figures that count), two groups help read them:
//! `verify/*` times the independent verifier alone on the sanitized output
//! (it is part of every `sanitize` call), and `baseline_copy/*` times one
//! copy of the input into a fresh `Vec`, the floor for any API that returns
//! an owned copy of the image.
//!
//! Run: `cargo bench -p sealcam-core --bench sanitize`

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use sealcam_core::sanitize::{sanitize, verify};
use std::path::{Path, PathBuf};

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from(".."))
}

fn bench_inputs_dir() -> PathBuf {
    std::env::var_os("SEALCAM_BENCH_INPUTS")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_root().join("bench-inputs"))
}

fn corpus_dir() -> PathBuf {
    std::env::var_os("SEALCAM_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_root().join("../shared/corpus"))
}

fn loud(lines: &[String]) {
    let bar = "!".repeat(78);
    eprintln!("\n{bar}");
    for l in lines {
        eprintln!("!! {l}");
    }
    eprintln!("{bar}\n");
}

/// Reads `path` and checks that it sanitizes; `None` (with a loud message) if it is missing.
fn load(path: &Path, hint: &str) -> Option<Vec<u8>> {
    match std::fs::read(path) {
        Ok(bytes) => {
            if let Err(e) = sanitize(&bytes) {
                panic!("benchmark input {} does not sanitize: {e}", path.display());
            }
            Some(bytes)
        }
        Err(e) => {
            loud(&[
                format!("SKIPPED: cannot read {} ({e})", path.display()),
                hint.to_string(),
            ]);
            None
        }
    }
}

fn bench_sanitize(c: &mut Criterion) {
    let gen_hint = "run scripts/gen-bench-inputs.sh to generate the 12 MP and 48 MP inputs";
    let corpus_hint =
        "the shared corpus is expected at ../shared/corpus beside the repository (or set SEALCAM_CORPUS)";
    let inputs = [
        (
            "jpeg_12mp",
            bench_inputs_dir().join("photo-12mp.jpg"),
            gen_hint,
        ),
        (
            "jpeg_48mp",
            bench_inputs_dir().join("photo-48mp.jpg"),
            gen_hint,
        ),
        (
            "corpus_samsung_s7_edge",
            corpus_dir().join("images/mei_Samsung_SM-G935L_Galaxy_S7_Edge.jpg"),
            corpus_hint,
        ),
    ];

    let loaded: Vec<(&str, Vec<u8>)> = inputs
        .iter()
        .filter_map(|(name, path, hint)| load(path, hint).map(|bytes| (*name, bytes)))
        .collect();

    let mut group = c.benchmark_group("sanitize");
    for (name, input) in &loaded {
        group.throughput(Throughput::Bytes(input.len() as u64));
        group.bench_function(*name, |b| b.iter(|| sanitize(black_box(input))));
    }
    group.finish();

    let mut group = c.benchmark_group("verify");
    for (name, input) in &loaded {
        let Ok(clean) = sanitize(input) else {
            continue; // load() already checked that it sanitizes
        };
        group.throughput(Throughput::Bytes(clean.bytes.len() as u64));
        group.bench_function(*name, |b| b.iter(|| verify(black_box(&clean.bytes))));
    }
    group.finish();

    let mut group = c.benchmark_group("baseline_copy");
    for (name, input) in &loaded {
        group.throughput(Throughput::Bytes(input.len() as u64));
        group.bench_function(*name, |b| b.iter(|| black_box(input).to_vec()));
    }
    group.finish();
}

criterion_group!(benches, bench_sanitize);
criterion_main!(benches);
