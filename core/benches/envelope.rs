//! Criterion benchmark of sealing and opening envelopes
//! (`sealcam_core::envelope::{seal, open}`), see docs/BENCHMARKS.md, "Envelope".
//!
//! Inputs: `bench-inputs/photo-12mp.jpg` (made by `scripts/gen-bench-inputs.sh`;
//! `SEALCAM_BENCH_INPUTS` overrides the directory) and, when present, one
//! real phone photo from the shared corpus (`../shared/corpus` beside the
//! repository, or `SEALCAM_CORPUS`). A missing input is skipped with a loud
//! message, never a failure.
//!
//! Groups (all with a device signer, i.e. a signed envelope, and the
//! organisation key checked on open):
//!
//! - `seal/12mp_1_recipient`: `sanitize(raw photo)` + `envelope::seal` to one
//!   recipient. This is the "seal" (sanitize + encrypt), target
//!   <= 3 ms. The record is built once, outside the loop, for the sanitized
//!   image (its SHA-256 is therefore not in this figure, see the next two).
//! - `seal/12mp_N_recipients`, N = 2, 4, 8, 16: the same to N recipients;
//!   with N = 1 above they give the per-extra-recipient slope (target
//!   <= 100 us), which the bench prints as a least-squares fit.
//! - `record/sha256_12mp`: `ImageInfo::for_image` on the sanitized image,
//!   the SHA-256 the record must carry.
//! - `pipeline/12mp`: sanitize + SHA-256/record + seal, the honest total
//!   cost of turning a raw photo into an envelope in process.
//! - `seal_only/12mp`: `envelope::seal` of an already sanitized image (it
//!   still re-verifies the image, as `seal` always does).
//! - `open/12mp`: `envelope::open` of the signed 12 MP envelope, target <= 3 ms,
//!   including dropping the result (which zeroes the returned image).
//! - `open_no_drop/12mp`: the same with the drop outside the timing
//!   (criterion's `iter_with_large_drop`), to show what the zeroing costs.
//! - `owned/*`: the owned-buffer pipeline (`sanitize_owned` edits the JPEG
//!   in its own buffer, `seal_owned` turns that buffer into the envelope,
//!   `open_owned` decrypts inside the envelope's buffer). The input `Vec`
//!   (raw photo, or envelope) is cloned in criterion's setup, outside the
//!   timing (`iter_batched`, `BatchSize::LargeInput`), as a capture pipeline
//!   owns its camera buffer; the result is dropped inside the timing.
//!   `owned/seal_12mp` is sanitize + seal (the "seal"),
//!   `owned/pipeline_12mp` adds the record's SHA-256, `owned/open_12mp` is
//!   open including the zeroizing drop of the image, `owned/sanitize_12mp`
//!   is `sanitize_owned` alone.
//! - `recipients/tiny_N`: seal of a 309-byte JPEG to N = 1..16 recipients,
//!   the per-recipient cost without 5 MB of payload noise around it.
//! - `component/*`: the primitives seal and open are made of, on the same
//!   bytes, to read the totals: AES-256-GCM over 64 KiB chunks, BLAKE3
//!   (the signed digest) on one thread and on all cores (`update_rayon`,
//!   what the envelope uses), the sanitizer's verifier and one copy.
//! - `*/corpus_samsung_s7_edge`: seal, pipeline and open of a real photo.
//!
//! The heavy groups use criterion's flat sampling (equal iteration counts
//! per sample), so a short `--measurement-time` stays short. Each iteration
//! includes dropping its result (for `open`, zeroing the returned image).
//!
//! Run: `cargo bench -p sealcam-core --bench envelope`

use aes_gcm::{AeadInOut, Aes256Gcm, KeyInit};
use criterion::{
    black_box, criterion_group, criterion_main, BatchSize, Criterion, SamplingMode, Throughput,
};
use sealcam_core::envelope::{self, Signer, CHUNK_SIZE};
use sealcam_core::keys::Recipient;
use sealcam_core::record::{ClinicalRecord, ImageInfo, MediaType};
use sealcam_core::sanitize::{sanitize, sanitize_owned, verify};
use std::path::{Path, PathBuf};

mod support;
use support::*;

const RECIPIENT_COUNTS: [usize; 5] = [1, 2, 4, 8, 16];

// --- fixtures (the few lines of sealcam-test-support needed here) -------------

/// One input photo: raw bytes, sanitized bytes, its record, and a signed
/// envelope of it to recipient 0.
struct Photo {
    name: &'static str,
    raw: Vec<u8>,
    clean: Vec<u8>,
    record: ClinicalRecord,
    sealed: Vec<u8>,
}

fn load(name: &'static str, path: &Path, hint: &str, keys: &Keys) -> Option<Photo> {
    let raw = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) => {
            loud(&[
                format!("SKIPPED: cannot read {} ({e})", path.display()),
                hint.to_string(),
            ]);
            return None;
        }
    };
    let clean = match sanitize(&raw) {
        Ok(s) => s.bytes,
        Err(e) => panic!("benchmark input {} does not sanitize: {e}", path.display()),
    };
    let record = record_for(&clean);
    let sealed = envelope::seal(
        &clean,
        &record,
        &keys.recipients[..1],
        keys.signer(),
        sealcam_platform::clock::unix_now(),
    )
    .expect("seal")
    .bytes;
    // Check once that it opens, with the organisation key, to the same image.
    let opened =
        envelope::open(&sealed, &keys.identities[0], Some(&keys.org.public())).expect("open");
    assert_eq!(&opened.image[..], &clean[..], "round trip");
    assert!(matches!(
        opened.sender,
        envelope::Sender::Device {
            status: envelope::CertificateStatus::Verified,
            ..
        }
    ));
    Some(Photo {
        name,
        raw,
        clean,
        record,
        sealed,
    })
}

/// What `seal/*` times: sanitize the raw photo, then seal it.
fn sanitize_and_seal(raw: &[u8], record: &ClinicalRecord, to: &[Recipient], s: Signer) -> usize {
    let clean = sanitize(raw).expect("sanitize");
    let sealed = envelope::seal(
        &clean.bytes,
        record,
        to,
        s,
        sealcam_platform::clock::unix_now(),
    )
    .expect("seal");
    sealed.bytes.len()
}

/// What `pipeline/*` times: sanitize, hash into the record, seal.
fn pipeline(raw: &[u8], to: &[Recipient], s: Signer) -> usize {
    let clean = sanitize(raw).expect("sanitize");
    let record = record_for(&clean.bytes);
    let sealed = envelope::seal(
        &clean.bytes,
        &record,
        to,
        s,
        sealcam_platform::clock::unix_now(),
    )
    .expect("seal");
    sealed.bytes.len()
}

/// What `owned/seal_*` times: sanitize the raw photo in its own buffer and
/// seal it into the same buffer.
fn owned_sanitize_and_seal(
    raw: Vec<u8>,
    record: &ClinicalRecord,
    to: &[Recipient],
    s: Signer,
) -> usize {
    let clean = sanitize_owned(raw).expect("sanitize_owned");
    let sealed = envelope::seal_owned(clean, record, to, s, sealcam_platform::clock::unix_now())
        .expect("seal_owned");
    sealed.bytes.len()
}

/// What `owned/pipeline_*` times: the same with the record's SHA-256.
fn owned_pipeline(raw: Vec<u8>, to: &[Recipient], s: Signer) -> usize {
    let clean = sanitize_owned(raw).expect("sanitize_owned");
    let record = record_for(clean.bytes());
    let sealed = envelope::seal_owned(clean, &record, to, s, sealcam_platform::clock::unix_now())
        .expect("seal_owned");
    sealed.bytes.len()
}

/// AES-256-GCM over `buf` in place, 64 KiB chunks, one tag each: the
/// payload encryption without the envelope around it.
fn aes_gcm_chunks(aead: &Aes256Gcm, buf: &mut [u8]) -> u8 {
    let mut acc = 0u8;
    for (i, chunk) in buf.chunks_mut(CHUNK_SIZE).enumerate() {
        let mut nonce = [0u8; 12];
        nonce[7..11].copy_from_slice(&(i as u32).to_be_bytes());
        let tag = aead
            .encrypt_inout_detached(&nonce.into(), b"", chunk.into())
            .expect("encrypt");
        acc ^= tag[0];
    }
    acc
}

/// Where criterion writes its results (its own rule: `CRITERION_HOME`,
/// else `$CARGO_TARGET_DIR/criterion`, else the workspace's target/criterion).
fn criterion_home() -> PathBuf {
    if let Some(home) = std::env::var_os("CRITERION_HOME") {
        return PathBuf::from(home);
    }
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_root().join("target"))
        .join("criterion")
}

/// Prints the medians of the benchmarks `ids` (one per recipient count in
/// [`RECIPIENT_COUNTS`]) and the least-squares slope of time against
/// recipient count: the cost of each extra recipient.
/// Estimates older than `since` (left by an earlier run, for example when
/// a filter skipped some counts) are not used.
fn print_slope(label: &str, ids: &[String], since: std::time::SystemTime) {
    let mut points = Vec::new();
    for (n, id) in RECIPIENT_COUNTS.iter().zip(ids) {
        let file = criterion_home().join(id).join("new/estimates.json");
        let fresh = std::fs::metadata(&file)
            .and_then(|m| m.modified())
            .is_ok_and(|t| t >= since);
        let Some(median) = std::fs::read_to_string(&file)
            .ok()
            .filter(|_| fresh)
            .and_then(|t| median_ns(&t))
        else {
            eprintln!(
                "{label}: no estimate from this run at {} (slope not computed)",
                file.display()
            );
            return;
        };
        points.push((*n as f64, median));
    }
    let k = points.len() as f64;
    let mx = points.iter().map(|p| p.0).sum::<f64>() / k;
    let my = points.iter().map(|p| p.1).sum::<f64>() / k;
    let sxy: f64 = points.iter().map(|(x, y)| (x - mx) * (y - my)).sum();
    let sxx: f64 = points.iter().map(|(x, _)| (x - mx) * (x - mx)).sum();
    let syy: f64 = points.iter().map(|(_, y)| (y - my) * (y - my)).sum();
    let slope = sxy / sxx;
    // Coefficient of determination: how much of the spread the line explains.
    let r2 = if syy > 0.0 {
        sxy * sxy / (sxx * syy)
    } else {
        1.0
    };
    let medians: Vec<String> = points
        .iter()
        .map(|(n, y)| format!("{n} -> {:.1} us", y / 1e3))
        .collect();
    let verdict = if slope < 0.0 || r2 < 0.9 {
        "NOT JUDGED: the medians do not grow linearly with the recipient count \
         (noise, or page faults that come and go with the allocation sizes)"
    } else if slope <= 100e3 {
        "met"
    } else {
        "MISSED"
    };
    println!(
        "{label}: medians {}\n{label}: least-squares slope {:.1} us per extra recipient, \
         intercept {:.1} us, R^2 {r2:.3} (target <= 100 us per recipient: {verdict})",
        medians.join(", "),
        slope / 1e3,
        (my - slope * mx) / 1e3,
    );
}

/// Criterion's median point estimate, in ns, from an estimates.json.
fn median_ns(json: &str) -> Option<f64> {
    let v: serde_json::Value = serde_json::from_str(json).ok()?;
    v.get("median")?.get("point_estimate")?.as_f64()
}

fn bench_name(prefix: &str, n: usize) -> String {
    if n == 1 {
        format!("{prefix}_1_recipient")
    } else {
        format!("{prefix}_{n}_recipients")
    }
}

// --- benchmarks ------------------------------------------------------------

fn bench_envelope(c: &mut Criterion) {
    let started = std::time::SystemTime::now();
    let keys = Keys::new(RECIPIENT_COUNTS[RECIPIENT_COUNTS.len() - 1]);
    let org_public = keys.org.public();
    let gen_hint = "run scripts/gen-bench-inputs.sh to generate the 12 MP input";
    let corpus_hint =
        "the shared corpus is expected at ../shared/corpus beside the repository (or set SEALCAM_CORPUS)";
    let twelve = load(
        "12mp",
        &bench_inputs_dir().join("photo-12mp.jpg"),
        gen_hint,
        &keys,
    );
    let corpus = load(
        "corpus_samsung_s7_edge",
        &corpus_dir().join("images/mei_Samsung_SM-G935L_Galaxy_S7_Edge.jpg"),
        corpus_hint,
        &keys,
    );
    let photos: Vec<&Photo> = twelve.iter().chain(corpus.iter()).collect();

    // seal = sanitize + seal, 1..16 recipients for the 12 MP photo, 1 for the corpus photo.
    let mut group = c.benchmark_group("seal");
    group.sampling_mode(SamplingMode::Flat);
    for p in &photos {
        group.throughput(Throughput::Bytes(p.raw.len() as u64));
        let counts: &[usize] = if p.name == "12mp" {
            &RECIPIENT_COUNTS
        } else {
            &[1]
        };
        for &n in counts {
            let name = if p.name == "12mp" {
                bench_name("12mp", n)
            } else {
                p.name.to_string()
            };
            let to = &keys.recipients[..n];
            group.bench_function(name, |b| {
                b.iter(|| sanitize_and_seal(black_box(&p.raw), &p.record, to, keys.signer()))
            });
        }
    }
    group.finish();

    let mut group = c.benchmark_group("record");
    group.sampling_mode(SamplingMode::Flat);
    for p in &photos {
        group.throughput(Throughput::Bytes(p.clean.len() as u64));
        group.bench_function(format!("sha256_{}", p.name), |b| {
            b.iter(|| ImageInfo::for_image(MediaType::Jpeg, black_box(&p.clean), None, None))
        });
    }
    group.finish();

    let mut group = c.benchmark_group("pipeline");
    group.sampling_mode(SamplingMode::Flat);
    for p in &photos {
        group.throughput(Throughput::Bytes(p.raw.len() as u64));
        group.bench_function(p.name, |b| {
            b.iter(|| pipeline(black_box(&p.raw), &keys.recipients[..1], keys.signer()))
        });
    }
    group.finish();

    let mut group = c.benchmark_group("seal_only");
    group.sampling_mode(SamplingMode::Flat);
    for p in &photos {
        group.throughput(Throughput::Bytes(p.clean.len() as u64));
        group.bench_function(p.name, |b| {
            b.iter(|| {
                envelope::seal(
                    black_box(&p.clean),
                    &p.record,
                    &keys.recipients[..1],
                    keys.signer(),
                    sealcam_platform::clock::unix_now(),
                )
                .expect("seal")
            })
        });
    }
    group.finish();

    let mut group = c.benchmark_group("open");
    group.sampling_mode(SamplingMode::Flat);
    for p in &photos {
        group.throughput(Throughput::Bytes(p.sealed.len() as u64));
        group.bench_function(p.name, |b| {
            b.iter(|| {
                envelope::open(black_box(&p.sealed), &keys.identities[0], Some(&org_public))
                    .expect("open")
            })
        });
    }
    group.finish();

    // Diagnostic: open without dropping the result inside the timed loop
    // (dropping `Opened` zeroes the image byte by byte; `open/*` includes it).
    let mut group = c.benchmark_group("open_no_drop");
    group.sampling_mode(SamplingMode::Flat);
    for p in &photos {
        group.throughput(Throughput::Bytes(p.sealed.len() as u64));
        group.bench_function(p.name, |b| {
            b.iter_with_large_drop(|| {
                envelope::open(black_box(&p.sealed), &keys.identities[0], Some(&org_public))
                    .expect("open")
            })
        });
    }
    group.finish();

    // The owned-buffer paths: input Vec cloned in the (untimed) setup.
    let mut group = c.benchmark_group("owned");
    group.sampling_mode(SamplingMode::Flat);
    for p in &photos {
        let to = &keys.recipients[..1];
        group.throughput(Throughput::Bytes(p.raw.len() as u64));
        group.bench_function(format!("seal_{}", p.name), |b| {
            b.iter_batched(
                || p.raw.clone(),
                |raw| owned_sanitize_and_seal(raw, &p.record, to, keys.signer()),
                BatchSize::LargeInput,
            )
        });
        group.bench_function(format!("pipeline_{}", p.name), |b| {
            b.iter_batched(
                || p.raw.clone(),
                |raw| owned_pipeline(raw, to, keys.signer()),
                BatchSize::LargeInput,
            )
        });
        group.bench_function(format!("sanitize_{}", p.name), |b| {
            b.iter_batched(
                || p.raw.clone(),
                // `into_bytes`: the buffer is dropped unwiped, as the
                // `sanitize` bench drops its output (a `SanitizedImage`
                // dropped unused would zero its 5 MB first).
                |raw| {
                    sanitize_owned(raw)
                        .expect("sanitize_owned")
                        .into_bytes()
                        .len()
                },
                BatchSize::LargeInput,
            )
        });
        group.throughput(Throughput::Bytes(p.sealed.len() as u64));
        group.bench_function(format!("open_{}", p.name), |b| {
            b.iter_batched(
                || p.sealed.clone(),
                |env| {
                    let o = envelope::open_owned(env, &keys.identities[0], Some(&org_public))
                        .expect("open_owned");
                    o.image.len()
                },
                BatchSize::LargeInput,
            )
        });
    }
    group.finish();

    let tiny = tiny_jpeg();
    let tiny_record = record_for(&tiny);
    let mut group = c.benchmark_group("recipients");
    group.sampling_mode(SamplingMode::Flat);
    for n in RECIPIENT_COUNTS {
        let to = &keys.recipients[..n];
        group.bench_function(format!("tiny_{n}"), |b| {
            b.iter(|| {
                envelope::seal(
                    black_box(&tiny),
                    &tiny_record,
                    to,
                    keys.signer(),
                    sealcam_platform::clock::unix_now(),
                )
                .expect("seal")
            })
        });
    }
    group.finish();

    if let Some(p) = &twelve {
        let mut group = c.benchmark_group("component");
        group.sampling_mode(SamplingMode::Flat);
        group.throughput(Throughput::Bytes(p.clean.len() as u64));
        let aead = Aes256Gcm::new(&[0x42u8; 32].into());
        let mut buf = p.clean.clone();
        group.bench_function("aes256gcm_12mp", |b| {
            b.iter(|| aes_gcm_chunks(&aead, black_box(&mut buf)))
        });
        group.bench_function("blake3_12mp", |b| {
            b.iter(|| blake3::hash(black_box(&p.sealed)))
        });
        // What the envelope uses from 256 KiB on: blake3's rayon feature.
        group.bench_function("blake3_rayon_12mp", |b| {
            b.iter(|| {
                let mut h = blake3::Hasher::new();
                h.update_rayon(black_box(&p.sealed));
                h.finalize()
            })
        });
        group.bench_function("verify_12mp", |b| b.iter(|| verify(black_box(&p.clean))));
        group.bench_function("copy_12mp", |b| b.iter(|| black_box(&p.clean).to_vec()));
        group.finish();
    }

    println!();
    if twelve.is_some() {
        let ids: Vec<String> = RECIPIENT_COUNTS
            .iter()
            .map(|&n| format!("seal/{}", bench_name("12mp", n)))
            .collect();
        print_slope("seal/12mp (sanitize + seal)", &ids, started);
    }
    let ids: Vec<String> = RECIPIENT_COUNTS
        .iter()
        .map(|n| format!("recipients/tiny_{n}"))
        .collect();
    print_slope("recipients/tiny (seal of a 309-byte JPEG)", &ids, started);
}

criterion_group!(benches, bench_envelope);
criterion_main!(benches);
