//! Fuzz target: `envelope::open` and `envelope::open_owned`, the full
//! recipient path (header parse, stanza lookup, HPKE unwrap, header MAC,
//! device signature, STREAM decryption, record parse, certificate check),
//! with the fixture recipient identity and organisation key.
//!
//! Byte 0 chooses the mode:
//! - even: the rest is an envelope (seeds: envelopes sealed to the fixture
//!   identity by `fuzz/seeds`). `open` and `open_owned` must give the same
//!   answer (the same error, or the same id, time, record, image and
//!   sender), and whatever opens must pass `inspect`.
//! - odd: the rest is a record block: it is sealed (deterministic
//!   randomness from the input, signed by the fixture device) with the
//!   fixture JPEG to the fixture identity, then opened. This reaches the
//!   record parser inside a decrypted envelope, which mutated envelopes
//!   cannot (any change fails the MAC or a tag): what a sender holding a
//!   valid device key can put there. Opening must succeed exactly when
//!   `ClinicalRecord::from_json` accepts the block, with the same record
//!   (or fail with `Record` of the same error), return the image sealed,
//!   and report the certificate verified.
#![no_main]

#[path = "../fixtures/mod.rs"]
mod fixtures;

use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use sealcam_core::envelope::{
    inspect, open, open_owned, seal_parts, CertificateStatus, OpenError, Opened, SealError, Sender,
    Signer, MAX_RECORD_LEN,
};
use sealcam_core::keys::{DeviceCertificate, DeviceSigningKey, OrgPublicKey, RecipientIdentity};
use sealcam_core::record::ClinicalRecord;

struct Keys {
    identity: RecipientIdentity,
    org: OrgPublicKey,
    device: DeviceSigningKey,
    certificate: DeviceCertificate,
    jpeg: Vec<u8>,
}

static KEYS: LazyLock<Keys> = LazyLock::new(|| Keys {
    identity: fixtures::identity(),
    org: fixtures::org().public(),
    device: fixtures::device(),
    certificate: fixtures::certificate(),
    jpeg: fixtures::tiny_jpeg(),
});

fn same(a: &Result<Opened, OpenError>, b: &Result<Opened, OpenError>) -> bool {
    match (a, b) {
        (Err(x), Err(y)) => x == y,
        (Ok(x), Ok(y)) => {
            x.id == y.id
                && x.created_at == y.created_at
                && x.record == y.record
                && *x.image == *y.image
                && format!("{:?}", x.sender) == format!("{:?}", y.sender)
        }
        _ => false,
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let k = &*KEYS;
    if mode % 2 == 0 {
        let borrowed = open(rest, &k.identity, Some(&k.org));
        let owned = open_owned(rest.to_vec(), &k.identity, Some(&k.org));
        assert!(
            same(&borrowed, &owned),
            "open and open_owned disagree: {:?} / {:?}",
            borrowed.as_ref().err(),
            owned.as_ref().err()
        );
        if let Ok(o) = &borrowed {
            let Ok(r) = inspect(rest) else {
                panic!("opened an envelope that inspect refuses");
            };
            assert_eq!(r.id, o.id);
            assert_eq!(r.created_at, o.created_at);
        }
        return;
    }
    let sealed = seal_parts(
        &k.jpeg,
        rest,
        &[k.identity.recipient()],
        Signer::Device {
            key: &k.device,
            certificate: &k.certificate,
        },
        fixtures::NOW,
        &mut fixtures::FuzzRng::new(data),
    );
    let sealed = match sealed {
        Ok(s) => s,
        Err(SealError::TooLarge(_)) if rest.len() > MAX_RECORD_LEN => return,
        Err(e) => panic!("sealing a {}-byte record block failed: {e}", rest.len()),
    };
    let opened = open(&sealed.bytes, &k.identity, Some(&k.org));
    match (ClinicalRecord::from_json(rest), opened) {
        (Ok(want), Ok(o)) => {
            assert_eq!(o.record, want, "the opened record is not the one sealed");
            assert_eq!(*o.image, k.jpeg, "the opened image is not the one sealed");
            assert_eq!(o.id, sealed.id);
            match o.sender {
                Sender::Device {
                    status: CertificateStatus::Verified,
                    ..
                } => {}
                s => panic!("sender not verified: {s:?}"),
            }
        }
        (Err(e), Err(OpenError::Record(why))) => {
            assert_eq!(why, e.to_string(), "open reports another record error")
        }
        (want, got) => panic!(
            "record block: from_json gives {:?}, open gives {:?}",
            want.err(),
            got.err()
        ),
    }
});
