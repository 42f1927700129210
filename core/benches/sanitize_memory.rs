//! Peak extra heap memory of one `sealcam_core::sanitize::sanitize` call.
//!
//! For each input the file is read first (outside the measurement), then a
//! fresh `dhat` heap profiler is started, `sanitize` runs once, and the
//! profiler's global peak (`HeapStats::max_bytes`) is the peak extra heap
//! the call needed on top of the input buffer: output, report and any
//! scratch. Target: at most 1x the input size. The run exits non-zero when
//! any ratio exceeds `SEALCAM_MEM_MAX_RATIO` (default 1.02: 1.0 plus a
//! little slack for the report and segment tables), so CI catches
//! regressions such as an extra full copy of the image.
//!
//! Inputs: `bench-inputs/photo-12mp.jpg` and `photo-48mp.jpg` (made by
//! `scripts/gen-bench-inputs.sh`; `SEALCAM_BENCH_INPUTS` overrides the
//! directory), one corpus phone photo (`../shared/corpus` or
//! `SEALCAM_CORPUS`), plus any file paths given as arguments. Missing
//! default inputs are skipped with a loud message.
//!
//! Run: `cargo bench -p sealcam-core --bench sanitize_memory [-- FILE...]`

use sealcam_core::sanitize::sanitize;
use std::process::ExitCode;

mod support;
use support::*;

#[global_allocator]
static ALLOC: dhat::Alloc = dhat::Alloc;

const DEFAULT_MAX_RATIO: f64 = 1.02;

struct Measurement {
    input: usize,
    output: usize,
    peak_extra: usize,
    blocks_at_peak: usize,
    total_blocks: u64,
}

/// Measures one sanitize call on `input` (allocated before profiling starts).
fn measure(input: &[u8]) -> Result<Measurement, String> {
    let profiler = dhat::Profiler::builder().testing().build();
    let result = sanitize(std::hint::black_box(input));
    let stats = dhat::HeapStats::get();
    let output = result
        .as_ref()
        .map(|s| s.bytes.len())
        .map_err(|e| e.to_string());
    drop(result);
    drop(profiler);
    let output = output?;
    Ok(Measurement {
        input: input.len(),
        output,
        peak_extra: stats.max_bytes,
        blocks_at_peak: stats.max_blocks,
        total_blocks: stats.total_blocks,
    })
}

fn main() -> ExitCode {
    let max_ratio = match std::env::var("SEALCAM_MEM_MAX_RATIO") {
        Ok(v) => match v.parse::<f64>() {
            Ok(r) if r > 0.0 => r,
            _ => {
                eprintln!("SEALCAM_MEM_MAX_RATIO={v:?} is not a positive number");
                return ExitCode::FAILURE;
            }
        },
        Err(_) => DEFAULT_MAX_RATIO,
    };

    let (inputs, explicit) = inputs_or_args(vec![
        (bench_inputs_dir().join("photo-12mp.jpg"), GEN_HINT),
        (bench_inputs_dir().join("photo-48mp.jpg"), GEN_HINT),
        (corpus_phone_photo(), CORPUS_HINT),
    ]);

    println!(
        "{:<48} {:>12} {:>12} {:>12} {:>7} {:>7} {:>6}",
        "input", "input B", "output B", "peak extra B", "ratio", "blocks", "peak#"
    );
    let mut failed = false;
    let mut measured = 0;
    for (path, hint) in &inputs {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| path.display().to_string());
        let input = match std::fs::read(path) {
            Ok(b) => b,
            Err(e) if !explicit => {
                loud(&[
                    format!("SKIPPED: cannot read {} ({e})", path.display()),
                    hint.to_string(),
                ]);
                continue;
            }
            Err(e) => {
                eprintln!("cannot read {}: {e}", path.display());
                failed = true;
                continue;
            }
        };
        let m = match measure(&input) {
            Ok(m) => m,
            Err(e) => {
                eprintln!("{name}: sanitize failed: {e}");
                failed = true;
                continue;
            }
        };
        measured += 1;
        let ratio = m.peak_extra as f64 / m.input as f64;
        let verdict = if ratio > max_ratio {
            failed = true;
            "  OVER LIMIT"
        } else {
            ""
        };
        println!(
            "{:<48} {:>12} {:>12} {:>12} {:>7.4} {:>7} {:>6}{verdict}",
            name, m.input, m.output, m.peak_extra, ratio, m.total_blocks, m.blocks_at_peak
        );
    }
    println!("limit: peak extra heap <= {max_ratio} x input size ({measured} input(s) measured)");
    if measured == 0 {
        loud(&["no input was measured: nothing checked".to_string()]);
    }
    if failed {
        eprintln!("sanitize_memory: FAILED");
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}
