//! Fuzz target: `envelope::EnvelopeStream`, the store's one-pass check of
//! an upload arriving in pieces, fed the input split at points the fuzzer
//! chooses.
//!
//! Input: byte 0 = number of cuts (mod 16), then two bytes per cut (a
//! piece length, big-endian, 0 allowed), then the envelope bytes.
//!
//! Properties (the contract in core/src/envelope/incremental.rs): the
//! stream gives the same answer as the whole-buffer functions on the same
//! bytes, however they are split: the same `FormatError` as `inspect` (a
//! failed `update` repeats its error in every later call and in `finish`;
//! `len` counts the pieces up to and including the one that failed), the
//! same routing header, BLAKE3 of the
//! whole input, and the same `verify` result against the fixture
//! organisation key; `expected_len`, once known, never changes.
#![no_main]

#[path = "../fixtures/mod.rs"]
mod fixtures;

use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use sealcam_core::envelope::{inspect, verify, EnvelopeStream, FormatError};
use sealcam_core::keys::OrgPublicKey;

static ORG: LazyLock<OrgPublicKey> = LazyLock::new(|| fixtures::org().public());

fuzz_target!(|data: &[u8]| {
    let Some((&cuts, rest)) = data.split_first() else {
        return;
    };
    let cuts = usize::from(cuts % 16);
    if rest.len() < 2 * cuts {
        return;
    }
    let (lens, envelope) = rest.split_at(2 * cuts);
    let mut pieces = Vec::with_capacity(cuts + 1);
    let mut at = 0usize;
    for l in lens.chunks_exact(2) {
        let n = usize::from(u16::from_be_bytes([l[0], l[1]])).min(envelope.len() - at);
        pieces.push(&envelope[at..at + n]);
        at += n;
    }
    pieces.push(&envelope[at..]);

    let mut s = EnvelopeStream::new();
    let mut fed = 0u64;
    let mut failed: Option<FormatError> = None;
    let mut expected = None;
    for p in &pieces {
        let r = s.update(p);
        if failed.is_none() {
            // Every piece up to and including the one that failed.
            fed += p.len() as u64;
        }
        assert_eq!(
            s.len(),
            fed,
            "len is not the bytes fed up to the first failure"
        );
        match (r, &failed) {
            (Err(e), None) => failed = Some(e),
            (Err(e), Some(f)) => assert_eq!(&e, f, "a later update changed the error"),
            (Ok(()), Some(f)) => panic!("update succeeded after failing with {f}"),
            (Ok(()), None) => {}
        }
        if failed.is_none() {
            match (expected, s.expected_len()) {
                (Some(a), Some(b)) => assert_eq!(a, b, "expected_len changed"),
                (Some(_), None) => panic!("expected_len forgotten"),
                (None, b) => expected = b,
            }
        }
    }
    let inspected = inspect(envelope);
    match s.finish() {
        Err(e) => {
            if let Some(f) = &failed {
                assert_eq!(&e, f, "finish changed the update's error");
            }
            assert_eq!(
                inspected.as_ref().err(),
                Some(&e),
                "stream and inspect disagree"
            );
        }
        Ok(streamed) => {
            assert!(failed.is_none());
            let Ok(r) = inspected else {
                panic!("the stream accepted what inspect refuses: {inspected:?}");
            };
            assert_eq!(
                streamed.routing(),
                r,
                "stream and inspect give different headers"
            );
            assert_eq!(
                expected,
                Some(envelope.len() as u64),
                "expected_len is not the length"
            );
            assert_eq!(
                streamed.digest(),
                *blake3::hash(envelope).as_bytes(),
                "digest is not BLAKE3 of the envelope"
            );
            assert_eq!(
                streamed.verify(&ORG, fixtures::NOW),
                verify(envelope, &ORG, fixtures::NOW),
                "stream and whole-buffer verify disagree"
            );
        }
    }
});
