//! `envelope::EnvelopeStream` (the store's one-pass check of an upload)
//! against the whole-buffer `envelope::inspect` and `envelope::verify`: for
//! every test vector, for freshly sealed envelopes, truncated, extended,
//! tampered and randomly mutated ones, fed in one piece, byte by byte and
//! in random pieces, the stream must give the same routing header, the same
//! verification result and the same errors, and its digest must be BLAKE3
//! of the whole envelope. Layout offsets come from docs/FORMAT.md §3.

use sealcam_test_support::fixtures as common;

use std::path::PathBuf;

use common::*;
use sealcam_core::envelope::{
    self, EnvelopeStream, FormatError, Signer, StreamedEnvelope, VerifyError, MAX_HEADER_LEN,
};
use sealcam_core::keys::{OrgPublicKey, Recipient};

use common::layout::{CHUNK, FIXED, MAC, SIG, STANZA};
use common::EXPECTED_VECTORS;

/// Seeds for the random piece sizes.
const SEEDS: u64 = 8;

// ---------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------

/// SplitMix64: a small deterministic generator for piece sizes and mutations.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        Rng(seed ^ 0x5EA1_CA11_0000_0000)
    }
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in `0..n` (n > 0).
    fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }
}

/// Piece sizes summing to `len`, mixing single bytes, small, medium and
/// large pieces (up to a little over 1 MiB).
fn random_pieces(len: usize, seed: u64) -> Vec<usize> {
    let mut rng = Rng::new(seed);
    let mut sizes = Vec::new();
    let mut left = len;
    while left > 0 {
        let max = match rng.below(5) {
            0 => 1,
            1 => 17,
            2 => 1_500,
            3 => 70_000,
            _ => 1 << 20,
        };
        let n = (1 + rng.below(max)).min(left);
        sizes.push(n);
        left -= n;
    }
    sizes
}

/// The ways an envelope of `len` bytes is fed to the stream.
fn strategies(len: usize) -> Vec<(String, Vec<usize>)> {
    let mut s = vec![("one piece".to_string(), vec![len])];
    if len <= 4 * CHUNK {
        s.push(("byte by byte".to_string(), vec![1; len]));
    }
    for seed in 0..SEEDS {
        s.push((
            format!("random pieces, seed {seed}"),
            random_pieces(len, seed),
        ));
    }
    s
}

/// What a stream fed `bytes` in pieces of `sizes` ends with.
struct Fed {
    result: Result<StreamedEnvelope, FormatError>,
    /// The index of the piece whose `update` failed.
    failed_piece: Option<usize>,
    /// `expected_len()` after each successful piece, with the bytes fed so far.
    expected: Vec<(usize, Option<u64>)>,
}

fn feed(bytes: &[u8], sizes: &[usize]) -> Fed {
    assert_eq!(sizes.iter().sum::<usize>(), bytes.len());
    let mut s = EnvelopeStream::new();
    assert_eq!(s.expected_len(), None);
    let mut at = 0;
    let mut expected = Vec::new();
    for (i, &n) in sizes.iter().enumerate() {
        let before = s.expected_len();
        if let Err(e) = s.update(&bytes[at..at + n]) {
            assert_eq!(s.len(), (at + n) as u64, "len counts the failed piece");
            // The error is final.
            assert_eq!(s.update(b"more").as_ref().err(), Some(&e));
            assert_eq!(s.finish().as_ref().err(), Some(&e));
            return Fed {
                result: Err(e),
                failed_piece: Some(i),
                expected,
            };
        }
        at += n;
        assert_eq!(s.len(), at as u64);
        if before.is_some() {
            assert_eq!(s.expected_len(), before, "expected_len changed");
        }
        expected.push((at, s.expected_len()));
    }
    Fed {
        result: s.finish(),
        failed_piece: None,
        expected,
    }
}

/// The header length (offset of the first payload byte) of a well-formed
/// envelope, from FORMAT.md §3.
fn header_len(b: &[u8]) -> usize {
    let n = usize::from(b[42]);
    let mut h = FIXED + STANZA * n;
    if b[9] & 1 != 0 {
        h += 2 + usize::from(u16::from_be_bytes([b[h], b[h + 1]]));
    }
    h + MAC
}

/// Feeds `bytes` in pieces of `sizes` and checks the stream against the
/// whole-buffer functions, verifying with each of `checks` (org, now).
/// Returns what was fed, for further assertions.
fn assert_same(what: &str, bytes: &[u8], sizes: &[usize], checks: &[(OrgPublicKey, u64)]) -> Fed {
    let fed = feed(bytes, sizes);
    let inspected = envelope::inspect(bytes);
    match &fed.result {
        Ok(streamed) => {
            assert_eq!(
                inspected.as_ref(),
                Ok(&streamed.routing()),
                "{what}: routing"
            );
            assert_eq!(
                streamed.digest(),
                *blake3::hash(bytes).as_bytes(),
                "{what}: digest"
            );
            for (org, now) in checks {
                assert_eq!(
                    streamed.verify(org, *now),
                    envelope::verify(bytes, org, *now),
                    "{what}: verify at {now}"
                );
            }
            // The total is known exactly when the header is complete.
            let h = header_len(bytes);
            for &(at, expected) in &fed.expected {
                let want = (at >= h).then_some(bytes.len() as u64);
                assert_eq!(expected, want, "{what}: expected_len after {at} bytes");
            }
        }
        Err(e) => {
            assert_eq!(inspected.as_ref().err(), Some(e), "{what}: error");
            for (org, now) in checks {
                assert_eq!(
                    envelope::verify(bytes, org, *now).err(),
                    Some(VerifyError::Format(e.clone())),
                    "{what}: verify error"
                );
            }
            // Truncated only at the end; trailing bytes only in an update.
            match e {
                FormatError::Truncated => assert!(fed.failed_piece.is_none(), "{what}"),
                FormatError::TrailingBytes => assert!(fed.failed_piece.is_some(), "{what}"),
                _ => {}
            }
        }
    }
    fed
}

fn seal(image: &[u8], recipients: &[u32], signed: bool, seed: &str) -> Vec<u8> {
    let key = device();
    let cert = valid_certificate();
    let recipients: Vec<Recipient> = recipients
        .iter()
        .map(|&n| identity(n).recipient())
        .collect();
    let signer = if signed {
        Signer::Device {
            key: &key,
            certificate: &cert,
        }
    } else {
        Signer::Unsigned
    };
    envelope::seal_parts(
        image,
        &record_for(image).to_json(),
        &recipients,
        signer,
        CREATED_AT,
        &mut TestRng::new(seed),
    )
    .expect("seal")
    .bytes
}

/// Freshly sealed envelopes: signed and unsigned, 1, 3 and 64 recipients,
/// a tiny image and a multi-chunk one (> 64 KiB).
fn fresh() -> Vec<(String, Vec<u8>)> {
    let tiny = tiny_jpeg();
    let large = jpeg_of_len(150_000);
    let all: Vec<u32> = (1..=64).collect();
    let mut out = Vec::new();
    for signed in [true, false] {
        for (rname, recipients) in [("1", &[1][..]), ("3", &[1, 2, 3][..]), ("64", &all[..])] {
            for (iname, image) in [("tiny", &tiny), ("multi-chunk", &large)] {
                let name = format!(
                    "{} to {rname}, {iname}",
                    if signed { "signed" } else { "unsigned" }
                );
                let bytes = seal(image, recipients, signed, &name);
                out.push((name, bytes));
            }
        }
    }
    out
}

/// Verification settings exercising every `verify` outcome: good, wrong
/// organisation, and a store clock far behind the envelope's.
fn checks() -> Vec<(OrgPublicKey, u64)> {
    vec![
        (org().public(), CREATED_AT),
        (other_org().public(), CREATED_AT),
        (org().public(), CREATED_AT - 3_600),
    ]
}

fn signed_small() -> Vec<u8> {
    seal(&tiny_jpeg(), &[1, 2], true, "small signed")
}

// ---------------------------------------------------------------------------
// Vectors
// ---------------------------------------------------------------------------

/// The vector files (name, org, verify_at, envelope bytes), as described in
/// core/tests/vectors/README.md.
fn vectors() -> Vec<(String, OrgPublicKey, u64, Vec<u8>)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/vectors");
    let mut out = Vec::new();
    for entry in std::fs::read_dir(&dir).expect("vectors dir") {
        let path = entry.expect("dir entry").path();
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .expect("UTF-8 name")
            .to_string();
        if name == "README.md" || name.starts_with('.') {
            continue;
        }
        let file = std::fs::read(&path).expect("read vector");
        let split = file
            .windows(2)
            .position(|w| w == b"\n\n")
            .expect("blank line after the header");
        let text = std::str::from_utf8(&file[..split]).expect("UTF-8 header");
        let get = |k: &str| {
            text.lines()
                .find_map(|l| l.strip_prefix(k).and_then(|r| r.strip_prefix(": ")))
                .unwrap_or_else(|| panic!("{name}: no {k}"))
                .to_string()
        };
        let org: OrgPublicKey = get("org").parse().expect("org");
        let verify_at: u64 = get("verify_at").parse().expect("verify_at");
        out.push((name, org, verify_at, file[split + 2..].to_vec()));
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

#[test]
fn every_vector_streams_like_the_whole_buffer() {
    let vectors = vectors();
    assert_eq!(vectors.len(), EXPECTED_VECTORS);
    let mut outcomes = std::collections::BTreeMap::<String, usize>::new();
    for (name, org, verify_at, bytes) in &vectors {
        let checks = [
            (*org, *verify_at),
            (*org, CREATED_AT),
            (other_org().public(), *verify_at),
        ];
        for (how, sizes) in strategies(bytes.len()) {
            let fed = assert_same(&format!("{name}, {how}"), bytes, &sizes, &checks);
            if how == "one piece" {
                let outcome = match &fed.result {
                    Ok(s) => match s.verify(org, *verify_at) {
                        Ok(_) => "verified".to_string(),
                        Err(e) => format!("{e:?}"),
                    },
                    Err(e) => format!("{e:?}"),
                };
                *outcomes.entry(outcome).or_default() += 1;
            }
        }
    }
    eprintln!("stream outcomes over the vectors: {outcomes:#?}");
    // The kit covers every structural error and every verify failure.
    for want in [
        "NotAnEnvelope",
        "UnsupportedVersion",
        "Truncated",
        "TrailingBytes",
        "Malformed",
        "Unsigned",
        "Certificate",
        "FromTheFuture",
        "BadSignature",
        "verified",
    ] {
        assert!(
            outcomes.keys().any(|k| k.starts_with(want)),
            "no vector gives {want}: {outcomes:?}"
        );
    }
}

// ---------------------------------------------------------------------------
// Fresh envelopes
// ---------------------------------------------------------------------------

#[test]
fn fresh_envelopes_stream_like_the_whole_buffer() {
    let checks = checks();
    for (name, bytes) in fresh() {
        let h = header_len(&bytes);
        assert!(h <= MAX_HEADER_LEN);
        for (how, sizes) in strategies(bytes.len()) {
            let fed = assert_same(&format!("{name}, {how}"), &bytes, &sizes, &checks);
            let streamed = fed.result.expect("a fresh envelope streams");
            let want_signed = name.starts_with("signed");
            assert_eq!(
                streamed.verify(&checks[0].0, checks[0].1).is_ok(),
                want_signed,
                "{name}"
            );
        }
    }
}

#[test]
fn expected_len_is_known_exactly_when_the_header_is() {
    for signed in [true, false] {
        let bytes = seal(&tiny_jpeg(), &[1, 2, 3], signed, "expected_len");
        let h = header_len(&bytes);
        let mut s = EnvelopeStream::new();
        for (i, b) in bytes.iter().enumerate() {
            s.update(std::slice::from_ref(b)).expect("update");
            let want = (i + 1 >= h).then_some(bytes.len() as u64);
            assert_eq!(s.expected_len(), want, "after {} bytes", i + 1);
        }
        // Header bytes in one piece with the first payload byte.
        let mut s = EnvelopeStream::new();
        s.update(&bytes[..h - 1]).expect("update");
        assert_eq!(s.expected_len(), None);
        s.update(&bytes[h - 1..h + 1]).expect("update");
        assert_eq!(s.expected_len(), Some(bytes.len() as u64));
    }
}

// ---------------------------------------------------------------------------
// Truncation, trailing bytes, tampering
// ---------------------------------------------------------------------------

/// Every cut inside the header, a sample inside the payload (chunk
/// boundaries included) and inside the signature: `Truncated` at `finish`,
/// never at `update`, as `inspect` says.
#[test]
fn truncation_is_reported_at_finish() {
    let image = jpeg_of_len(140_000);
    for signed in [true, false] {
        let bytes = seal(&image, &[1, 2], signed, "truncation");
        let h = header_len(&bytes);
        let payload_end = if signed {
            bytes.len() - SIG
        } else {
            bytes.len()
        };
        let mut cuts: Vec<usize> = (0..=h + 1).collect();
        cuts.extend([
            h + 100,
            h + CHUNK + 16 - 1,
            h + CHUNK + 16,
            h + CHUNK + 16 + 1,
            payload_end - 1,
        ]);
        if signed {
            cuts.extend([
                payload_end,
                payload_end + 1,
                payload_end + 32,
                payload_end + 63,
            ]);
        }
        for (k, &cut) in cuts.iter().enumerate() {
            let prefix = &bytes[..cut];
            assert_eq!(envelope::inspect(prefix), Err(FormatError::Truncated));
            for sizes in [vec![cut], random_pieces(cut, k as u64)] {
                let fed = assert_same(&format!("cut at {cut}"), prefix, &sizes, &checks());
                assert_eq!(fed.result.err(), Some(FormatError::Truncated), "cut {cut}");
                assert!(fed.failed_piece.is_none());
                // The total is known once the header is in.
                let last = fed.expected.last().and_then(|&(_, e)| e);
                let want = (cut >= h).then_some(bytes.len() as u64);
                assert_eq!(last, want, "cut {cut}");
            }
        }
    }
}

/// One byte (or more) too many fails in the `update` that brings it, not
/// only at the end.
#[test]
fn trailing_bytes_are_refused_by_update() {
    for signed in [true, false] {
        let bytes = seal(&jpeg_of_len(70_000), &[1], signed, "trailing");
        // Whole, then one byte.
        let mut s = EnvelopeStream::new();
        s.update(&bytes).expect("the envelope itself");
        assert_eq!(s.update(&[0]), Err(FormatError::TrailingBytes));
        assert_eq!(s.finish().err(), Some(FormatError::TrailingBytes));
        // An empty update at the end is fine.
        let mut s = EnvelopeStream::new();
        s.update(&bytes).expect("the envelope itself");
        s.update(&[]).expect("empty");
        assert!(s.finish().is_ok());

        for extra in [1usize, 2, 100] {
            let mut longer = bytes.clone();
            longer.extend(std::iter::repeat_n(0xAB, extra));
            assert_eq!(envelope::inspect(&longer), Err(FormatError::TrailingBytes));
            let mut all = vec![("one piece".to_string(), vec![longer.len()])];
            all.extend(
                (0..SEEDS).map(|seed| (format!("seed {seed}"), random_pieces(longer.len(), seed))),
            );
            for (how, sizes) in all {
                let fed = assert_same(&format!("{extra} extra, {how}"), &longer, &sizes, &checks());
                assert_eq!(fed.result.err(), Some(FormatError::TrailingBytes));
                // Refused in the piece that carries byte number len + 1.
                let mut end = 0;
                let first_extra = sizes
                    .iter()
                    .position(|n| {
                        end += n;
                        end > bytes.len()
                    })
                    .expect("some piece carries the extra bytes");
                assert_eq!(fed.failed_piece, Some(first_extra), "{how}");
            }
        }
    }
}

/// A changed ciphertext, MAC or signature byte: the header still parses
/// (routing as `inspect`), verification says `BadSignature`, and the
/// digest changes.
#[test]
fn tampering_is_a_bad_signature() {
    let bytes = seal(&jpeg_of_len(100_000), &[1, 2], true, "tamper");
    let h = header_len(&bytes);
    let payload_end = bytes.len() - SIG;
    let original = blake3::hash(&bytes);
    let (org, now) = (org().public(), CREATED_AT);
    for at in [
        h - MAC,
        h - 1,
        h,
        h + CHUNK,
        payload_end - 1,
        payload_end,
        bytes.len() - 1,
    ] {
        let mut t = bytes.clone();
        t[at] ^= 0x01;
        for (how, sizes) in [
            ("one piece", vec![t.len()]),
            ("random", random_pieces(t.len(), at as u64)),
        ] {
            let what = format!("byte {at} changed, {how}");
            let fed = assert_same(&what, &t, &sizes, &checks());
            let streamed = fed.result.expect("structure unchanged");
            assert_eq!(
                streamed.routing(),
                envelope::inspect(&bytes).expect("inspect")
            );
            assert_eq!(
                streamed.verify(&org, now),
                Err(VerifyError::BadSignature),
                "{what}"
            );
            assert_ne!(streamed.digest(), *original.as_bytes());
        }
    }
}

// ---------------------------------------------------------------------------
// Random mutations
// ---------------------------------------------------------------------------

/// Random damage, mostly to the header (bytes flipped or set to edge
/// values, cuts, extensions), fed in random pieces: the stream agrees with
/// the whole-buffer functions on every outcome.
#[test]
fn random_mutations_stream_like_the_whole_buffer() {
    const ROUNDS: u64 = 600;
    let bases = [
        signed_small(),
        seal(&tiny_jpeg(), &[1, 2], false, "small unsigned"),
        seal(&tiny_jpeg(), &[4], true, "one recipient"),
    ];
    let checks = checks();
    let mut counts = std::collections::BTreeMap::<String, usize>::new();
    for round in 0..ROUNDS {
        let mut rng = Rng::new(1_000 + round);
        let mut b = bases[rng.below(bases.len())].clone();
        let h = header_len(&b);
        for _ in 0..1 + rng.below(3) {
            match rng.below(6) {
                // Flip a bit in the header (MAC included).
                0 | 1 => {
                    let i = rng.below(h.min(b.len()).max(1));
                    if let Some(x) = b.get_mut(i) {
                        *x ^= 1 << rng.below(8);
                    }
                }
                // An edge value in a field that the parser checks.
                2 => {
                    let fields = [8, 9, 34, 41, 42, FIXED + 2 * STANZA, FIXED + 2 * STANZA + 1];
                    let i = fields[rng.below(fields.len())];
                    let values = [0x00, 0x01, 0x02, 0x40, 0x41, 0x80, 0xFF];
                    if let Some(x) = b.get_mut(i) {
                        *x = values[rng.below(values.len())];
                    }
                }
                // Copy one stanza's recipient id over another's.
                3 => {
                    if b.len() > FIXED + 2 * STANZA {
                        let (src, dst) = (FIXED, FIXED + STANZA);
                        let id: Vec<u8> = b[src..src + 16].to_vec();
                        b[dst..dst + 16].copy_from_slice(&id);
                    }
                }
                // Cut.
                4 => {
                    let n = rng.below(b.len() + 1);
                    b.truncate(n);
                }
                // Extend.
                _ => {
                    let n = 1 + rng.below(80);
                    b.extend((0..n).map(|_| rng.next_u64() as u8));
                }
            }
        }
        let sizes = random_pieces(b.len(), round);
        let fed = assert_same(&format!("round {round}"), &b, &sizes, &checks);
        let outcome = match &fed.result {
            Ok(s) => match s.verify(&checks[0].0, checks[0].1) {
                Ok(_) => "verified".to_string(),
                Err(e) => format!("{e:?}"),
            },
            Err(e) => format!("{e:?}"),
        };
        *counts.entry(outcome).or_default() += 1;
    }
    eprintln!("random mutation outcomes: {counts:#?}");
    assert!(counts.len() >= 6, "too few distinct outcomes: {counts:?}");
}
