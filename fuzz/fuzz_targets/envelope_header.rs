//! Fuzz target: the envelope's routing header, `envelope::inspect` (the
//! strict header parser with the whole-length check) and `envelope::verify`
//! (the store's check: the same parse, then certificate and signature
//! against the fixture organisation key).
//!
//! Properties: `inspect` accepts exactly the envelopes whose length is the
//! one the header announces, with 1 to 64 distinct recipients; `verify`
//! fails with `Format(e)` exactly when `inspect` fails with `e`, and when
//! it succeeds returns what `inspect` returns.
#![no_main]

#[path = "../fixtures/mod.rs"]
mod fixtures;

use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use sealcam_core::envelope::{inspect, verify, VerifyError, MAX_RECIPIENTS};
use sealcam_core::keys::OrgPublicKey;

static ORG: LazyLock<OrgPublicKey> = LazyLock::new(|| fixtures::org().public());

fuzz_target!(|data: &[u8]| {
    let inspected = inspect(data);
    if let Ok(r) = &inspected {
        assert_eq!(
            r.envelope_len,
            data.len() as u64,
            "inspect: envelope_len is not the input's length"
        );
        assert!(
            (1..=MAX_RECIPIENTS).contains(&r.recipients.len()),
            "inspect accepted {} recipients",
            r.recipients.len()
        );
        for (i, a) in r.recipients.iter().enumerate() {
            assert!(
                !r.recipients[i + 1..].contains(a),
                "inspect accepted a repeated recipient"
            );
        }
    }
    let verified = verify(data, &ORG, fixtures::NOW);
    match (&inspected, &verified) {
        (Err(e), Err(VerifyError::Format(f))) => {
            assert_eq!(e, f, "verify and inspect disagree on the format error")
        }
        (Err(e), v) => panic!("inspect failed ({e}) but verify gave {v:?}"),
        (Ok(_), Err(VerifyError::Format(f))) => {
            panic!("inspect accepted what verify calls malformed: {f}")
        }
        (Ok(r), Ok(v)) => assert_eq!(r, v, "verify and inspect return different headers"),
        (Ok(_), Err(_)) => {}
    }
});
