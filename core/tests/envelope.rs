//! Envelope round trips, every failure class, tamper sweeps and chunk
//! boundaries. See docs/FORMAT.md.

use sealcam_test_support::fixtures as common;

use common::*;
use proptest::prelude::*;
use sealcam_core::envelope::{
    self, CertificateStatus, FormatError, OpenError, SealError, Sender, Signer, VerifyError,
    CHUNK_SIZE,
};
use sealcam_core::keys::{CertificateError, Recipient, RecipientIdentity};
use sealcam_core::sanitize;

fn seal_signed(image: &[u8], recipients: &[Recipient], seed: &str) -> Vec<u8> {
    let key = device();
    let cert = valid_certificate();
    let record = record_for(image);
    envelope::seal_parts(
        image,
        &record.to_json(),
        recipients,
        Signer::Device {
            key: &key,
            certificate: &cert,
        },
        CREATED_AT,
        &mut TestRng::new(seed),
    )
    .expect("seal")
    .bytes
}

/// `seal_signed` through the owned pipeline: `sanitize_owned` of a buffer
/// with `headroom` spare bytes, then `seal_owned_parts`. Returns the
/// envelope and whether it was written in the image's own buffer.
fn seal_owned_signed(
    image: &[u8],
    headroom: usize,
    recipients: &[Recipient],
    seed: &str,
) -> (Vec<u8>, bool) {
    let key = device();
    let cert = valid_certificate();
    let record = record_for(image);
    let mut buf = Vec::with_capacity(image.len() + headroom);
    buf.extend_from_slice(image);
    let clean = sanitize::sanitize_owned(buf).expect("sanitize_owned");
    assert_eq!(clean.bytes(), image, "test images are already clean");
    let at = clean.bytes().as_ptr();
    let sealed = envelope::seal_owned_parts(
        clean,
        &record.to_json(),
        recipients,
        Signer::Device {
            key: &key,
            certificate: &cert,
        },
        CREATED_AT,
        &mut TestRng::new(seed),
    )
    .expect("seal_owned");
    let in_place = sealed.bytes.as_ptr() == at;
    (sealed.bytes, in_place)
}

/// `open` and `open_owned` agree: both fail, or both give the same image,
/// record, id and sender status.
fn open_both(bytes: &[u8], me: &RecipientIdentity) -> Result<envelope::Opened, OpenError> {
    let org = org().public();
    let borrowed = envelope::open(bytes, me, Some(&org));
    let owned = envelope::open_owned(bytes.to_vec(), me, Some(&org));
    match (&borrowed, &owned) {
        (Ok(b), Ok(o)) => {
            assert!(b.image[..] == o.image[..], "images differ");
            assert_eq!(b.record, o.record);
            assert_eq!(b.id, o.id);
            assert_eq!(b.created_at, o.created_at);
            assert_eq!(format!("{:?}", b.sender), format!("{:?}", o.sender));
        }
        (Err(b), Err(o)) => assert_eq!(b, o),
        _ => panic!(
            "open ok {}, open_owned ok {}",
            borrowed.is_ok(),
            owned.is_ok()
        ),
    }
    owned
}

fn seal_unsigned(image: &[u8], recipients: &[Recipient]) -> Vec<u8> {
    let record = record_for(image);
    envelope::seal_parts(
        image,
        &record.to_json(),
        recipients,
        Signer::Unsigned,
        CREATED_AT,
        &mut TestRng::new("u"),
    )
    .expect("seal")
    .bytes
}

#[test]
fn signed_round_trip_verifies_sender() {
    let image = tiny_jpeg();
    let me = identity(1);
    let bytes = seal_signed(&image, &[me.recipient()], "rt");
    let opened = envelope::open(&bytes, &me, Some(&org().public())).expect("open");
    assert_eq!(&opened.image[..], &image[..]);
    assert_eq!(opened.record, record_for(&image));
    assert_eq!(opened.created_at, CREATED_AT);
    match &opened.sender {
        Sender::Device {
            certificate,
            status,
        } => {
            assert_eq!(status, &CertificateStatus::Verified);
            assert_eq!(certificate.clinician(), &clinician());
        }
        Sender::Unsigned => panic!("expected a signed envelope"),
    }
    // Without the org key the certificate is reported unchecked; with
    // another org's key, rejected.
    let unchecked = envelope::open(&bytes, &me, None).expect("open");
    assert!(matches!(
        unchecked.sender,
        Sender::Device {
            status: CertificateStatus::NotChecked,
            ..
        }
    ));
    let wrong = envelope::open(&bytes, &me, Some(&other_org().public())).expect("open");
    assert!(matches!(
        wrong.sender,
        Sender::Device {
            status: CertificateStatus::Rejected(CertificateError::WrongOrganisation),
            ..
        }
    ));
    // Debug never shows the image or the patient.
    let debug = format!("{opened:?}");
    assert!(
        !debug.contains("Alex") && !debug.contains("9434765919") && !debug.contains("943 476"),
        "{debug}"
    );
}

#[test]
fn several_recipients_each_open_and_outsiders_cannot() {
    let image = jpeg_of_len(200_000);
    let ids: Vec<_> = (1..=5).map(identity).collect();
    let recipients: Vec<_> = ids.iter().map(|i| i.recipient()).collect();
    let bytes = seal_signed(&image, &recipients, "many");
    for id in &ids {
        let opened =
            envelope::open(&bytes, id, Some(&org().public())).expect("each recipient opens");
        assert_eq!(&opened.image[..], &image[..]);
    }
    assert_eq!(
        envelope::open(&bytes, &identity(99), None).err(),
        Some(OpenError::NotARecipient)
    );
    let header = envelope::inspect(&bytes).expect("inspect");
    assert_eq!(
        header.recipients,
        recipients.iter().map(Recipient::id).collect::<Vec<_>>()
    );
    assert_eq!(header.sender, Some(device().public().id()));
}

#[test]
fn unsigned_envelopes_open_but_the_store_refuses_them() {
    let image = tiny_jpeg();
    let me = identity(1);
    let bytes = seal_unsigned(&image, &[me.recipient()]);
    let opened = envelope::open(&bytes, &me, Some(&org().public())).expect("open");
    assert!(matches!(opened.sender, Sender::Unsigned));
    assert_eq!(
        envelope::verify(&bytes, &org().public(), CREATED_AT).err(),
        Some(VerifyError::Unsigned)
    );
}

#[test]
fn store_verification_checks_org_certificate_time_and_signature() {
    let image = tiny_jpeg();
    let bytes = seal_signed(&image, &[identity(1).recipient()], "store");
    let header = envelope::verify(&bytes, &org().public(), CREATED_AT).expect("verifies");
    assert_eq!(header.envelope_len, bytes.len() as u64);
    assert_eq!(
        envelope::verify(&bytes, &other_org().public(), CREATED_AT).err(),
        Some(VerifyError::Certificate(
            CertificateError::WrongOrganisation
        ))
    );
    assert_eq!(
        envelope::verify(&bytes, &org().public(), CREATED_AT - 301).err(),
        Some(VerifyError::FromTheFuture)
    );
    // A certificate that had expired when the envelope was made.
    let expired = certificate(CREATED_AT - 1000, CREATED_AT - 1);
    let key = device();
    let old = envelope::seal_parts(
        &image,
        &record_for(&image).to_json(),
        &[identity(1).recipient()],
        Signer::Device {
            key: &key,
            certificate: &expired,
        },
        CREATED_AT,
        &mut TestRng::new("expired"),
    )
    .expect("seal")
    .bytes;
    assert_eq!(
        envelope::verify(&old, &org().public(), CREATED_AT).err(),
        Some(VerifyError::Certificate(CertificateError::Expired))
    );
    let opened = envelope::open(&old, &identity(1), Some(&org().public())).expect("opens");
    assert!(matches!(
        opened.sender,
        Sender::Device {
            status: CertificateStatus::Rejected(CertificateError::Expired),
            ..
        }
    ));
}

#[test]
fn the_store_judges_the_certificate_when_it_receives_the_envelope() {
    // Valid for a day from CREATED_AT - 100: the envelope's own creation
    // time (the signer's clock) falls inside; the store receives it after
    // the certificate expired (a clock set back, or a device used after
    // its certificate ran out).
    let image = tiny_jpeg();
    let cert = certificate(CREATED_AT - 100, CREATED_AT + 86_400);
    let key = device();
    let backdated = envelope::seal_parts(
        &image,
        &record_for(&image).to_json(),
        &[identity(1).recipient()],
        Signer::Device {
            key: &key,
            certificate: &cert,
        },
        CREATED_AT,
        &mut TestRng::new("backdated"),
    )
    .expect("seal")
    .bytes;
    envelope::verify(&backdated, &org().public(), CREATED_AT + 86_400).expect("valid until then");
    assert_eq!(
        envelope::verify(&backdated, &org().public(), CREATED_AT + 86_401).err(),
        Some(VerifyError::CertificateAtReceipt(CertificateError::Expired))
    );
    // The streaming check agrees.
    let mut stream = envelope::EnvelopeStream::new();
    stream.update(&backdated).expect("structure");
    let streamed = stream.finish().expect("complete");
    assert_eq!(
        streamed.verify(&org().public(), CREATED_AT + 86_401).err(),
        Some(VerifyError::CertificateAtReceipt(CertificateError::Expired))
    );
}

#[test]
fn every_single_byte_flip_is_rejected() {
    let image = tiny_jpeg();
    let me = identity(1);
    for bytes in [
        seal_signed(&image, &[me.recipient()], "flip"),
        seal_unsigned(&image, &[me.recipient()]),
    ] {
        let signed = envelope::inspect(&bytes).expect("inspect").sender.is_some();
        for i in 0..bytes.len() {
            for mask in [0x01u8, 0x80] {
                let mut t = bytes.clone();
                t[i] ^= mask;
                assert!(
                    envelope::open(&t, &me, None).is_err(),
                    "flip of byte {i} (mask {mask:#x}) opened"
                );
                assert!(
                    envelope::open_owned(t.clone(), &me, None).is_err(),
                    "flip of byte {i} (mask {mask:#x}) opened in place"
                );
                if signed {
                    assert!(
                        envelope::verify(&t, &org().public(), CREATED_AT).is_err(),
                        "flip of byte {i} verified"
                    );
                }
            }
        }
    }
}

#[test]
fn truncation_and_trailing_bytes_are_rejected_before_crypto() {
    let image = tiny_jpeg();
    let me = identity(1);
    let bytes = seal_signed(&image, &[me.recipient()], "trunc");
    for len in 0..bytes.len() {
        let r = envelope::open(&bytes[..len], &me, None);
        assert!(r.is_err(), "truncated to {len} opened");
    }
    assert_eq!(
        envelope::inspect(&bytes[..bytes.len() - 1]).err(),
        Some(FormatError::Truncated)
    );
    let mut longer = bytes.clone();
    longer.push(0);
    assert_eq!(
        envelope::inspect(&longer).err(),
        Some(FormatError::TrailingBytes)
    );
    let mut future = bytes.clone();
    future[8] = 2;
    assert_eq!(
        envelope::inspect(&future).err(),
        Some(FormatError::UnsupportedVersion(2))
    );
    assert_eq!(
        envelope::inspect(b"not an envelope at all, really").err(),
        Some(FormatError::NotAnEnvelope)
    );
}

/// Removes stanza `index` from an envelope, fixing the count so it still parses.
fn without_stanza(bytes: &[u8], index: usize) -> Vec<u8> {
    const FIXED: usize = 43;
    const STANZA: usize = 96;
    let mut out = bytes[..FIXED].to_vec();
    out[42] -= 1;
    let n = usize::from(bytes[42]);
    for i in (0..n).filter(|&i| i != index) {
        out.extend_from_slice(&bytes[FIXED + i * STANZA..FIXED + (i + 1) * STANZA]);
    }
    out.extend_from_slice(&bytes[FIXED + n * STANZA..]);
    out
}

#[test]
fn removing_a_recipient_is_detected() {
    let image = tiny_jpeg();
    let (a, b) = (identity(1), identity(2));
    for bytes in [
        seal_signed(&image, &[a.recipient(), b.recipient()], "rm"),
        seal_unsigned(&image, &[a.recipient(), b.recipient()]),
    ] {
        let cut = without_stanza(&bytes, 1);
        envelope::inspect(&cut).expect("still well-formed");
        assert_eq!(
            envelope::open(&cut, &a, None).err(),
            Some(OpenError::Decrypt)
        );
    }
}

#[test]
fn reordered_chunks_are_rejected() {
    let image = jpeg_of_len(3 * CHUNK_SIZE);
    let me = identity(1);
    let bytes = seal_unsigned(&image, &[me.recipient()]);
    let payload_at = 43 + 96 + 32;
    let c = CHUNK_SIZE + 16;
    let mut swapped = bytes.clone();
    swapped[payload_at..payload_at + c].copy_from_slice(&bytes[payload_at + c..payload_at + 2 * c]);
    swapped[payload_at + c..payload_at + 2 * c].copy_from_slice(&bytes[payload_at..payload_at + c]);
    assert_eq!(
        envelope::open(&swapped, &me, None).err(),
        Some(OpenError::Decrypt)
    );
}

#[test]
fn a_zero_encapsulated_key_is_rejected() {
    // enc = the all-zero X25519 point gives an all-zero shared secret,
    // which HPKE must refuse (RFC 9180 §7.1.4).
    let image = tiny_jpeg();
    let me = identity(1);
    let mut bytes = seal_unsigned(&image, &[me.recipient()]);
    bytes[43 + 16..43 + 48].fill(0);
    assert_eq!(
        envelope::open(&bytes, &me, None).err(),
        Some(OpenError::Decrypt)
    );
}

#[test]
fn seal_refuses_unsanitized_images_and_bad_arguments() {
    let mut with_exif = tiny_jpeg();
    // APP1 Exif with a Make tag after SOI.
    let app1 = hex("ffe1001e4578696600004d4d002a00000008000101100002000000024100000000000000");
    with_exif.splice(2..2, app1[..32].iter().copied());
    let me = identity(1).recipient();
    let record = record_for(&with_exif).to_json();
    let r = envelope::seal_parts(
        &with_exif,
        &record,
        &[me],
        Signer::Unsigned,
        CREATED_AT,
        &mut TestRng::new("x"),
    );
    assert!(matches!(r, Err(SealError::NotSanitized(_))), "{r:?}");
    let image = tiny_jpeg();
    let record = record_for(&image).to_json();
    let seal = |rs: &[Recipient], signer| {
        envelope::seal_parts(
            &image,
            &record,
            rs,
            signer,
            CREATED_AT,
            &mut TestRng::new("y"),
        )
    };
    assert!(matches!(
        seal(&[], Signer::Unsigned),
        Err(SealError::Recipients(_))
    ));
    assert!(matches!(
        seal(&[me, me], Signer::Unsigned),
        Err(SealError::Recipients(_))
    ));
    let many: Vec<_> = (0..65).map(|n| identity(n).recipient()).collect();
    assert!(matches!(
        seal(&many, Signer::Unsigned),
        Err(SealError::Recipients(_))
    ));
    let other = sealcam_core::keys::DeviceSigningKey::from_secret_bytes([7; 32]);
    let cert = valid_certificate();
    assert_eq!(
        seal(
            &[me],
            Signer::Device {
                key: &other,
                certificate: &cert
            }
        )
        .err(),
        Some(SealError::SignerMismatch)
    );
}

#[test]
fn sealing_is_deterministic_given_the_rng_and_random_otherwise() {
    let image = tiny_jpeg();
    let me = identity(1).recipient();
    assert_eq!(
        seal_signed(&image, &[me], "same"),
        seal_signed(&image, &[me], "same")
    );
    assert_ne!(
        seal_signed(&image, &[me], "same"),
        seal_signed(&image, &[me], "other")
    );
    let a = envelope::seal(
        &image,
        &record_for(&image),
        &[me],
        Signer::Unsigned,
        sealcam_platform::clock::unix_now(),
    )
    .expect("seal");
    let b = envelope::seal(
        &image,
        &record_for(&image),
        &[me],
        Signer::Unsigned,
        sealcam_platform::clock::unix_now(),
    )
    .expect("seal");
    assert_ne!(a.id, b.id);
    assert_ne!(a.bytes, b.bytes);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    /// Plaintexts of k·64 KiB − 1, k·64 KiB and k·64 KiB + 1 bytes.
    #[test]
    fn round_trips_around_chunk_boundaries(k in 1usize..5, delta in -1isize..=1, recipients in 1u32..4) {
        let image = tiny_jpeg();
        let record_len = record_for(&image).to_json().len();
        // plaintext = 4 + record + image; choose the image length to hit the target.
        let target = (k * CHUNK_SIZE) as isize + delta;
        let image_len = (target - 4 - record_len as isize).max(309) as usize;
        let image = jpeg_of_len(image_len);
        let ids: Vec<_> = (0..recipients).map(identity).collect();
        let rs: Vec<_> = ids.iter().map(|i| i.recipient()).collect();
        let seed = format!("{k}/{delta}");
        let bytes = seal_signed(&image, &rs, &seed);
        for id in &ids {
            let opened = open_both(&bytes, id).expect("open");
            prop_assert_eq!(&opened.image[..], &image[..]);
        }
        // The owned seal, in place and into a new buffer, gives the same bytes.
        for headroom in [0, 4096 + 16 * (k + 2)] {
            let (owned, in_place) = seal_owned_signed(&image, headroom, &rs, &seed);
            prop_assert!(owned == bytes, "seal_owned differs (headroom {})", headroom);
            prop_assert_eq!(in_place, headroom > 0);
        }
        // Damage to the last byte of the payload: both opens refuse.
        let mut bad = bytes.clone();
        let last_ct = bad.len() - 65;
        bad[last_ct] ^= 1;
        prop_assert!(open_both(&bad, &ids[0]).is_err());
    }
}

#[test]
fn owned_seal_equals_seal_parts_and_opens_in_place() {
    let me = identity(2);
    for image in [tiny_jpeg(), jpeg_of_len(3 * CHUNK_SIZE + 100)] {
        let reference = seal_signed(&image, &[me.recipient()], "owned");
        let (tight, in_place) = seal_owned_signed(&image, 0, &[me.recipient()], "owned");
        assert!(!in_place, "no room: a new buffer");
        assert!(tight == reference);
        let (roomy, in_place) = seal_owned_signed(&image, 8192, &[me.recipient()], "owned");
        assert!(in_place, "room enough: the image's own buffer");
        assert!(roomy == reference);
        let room = envelope::owned_capacity(image.len(), 1) - image.len();
        let (advised, in_place) = seal_owned_signed(&image, room, &[me.recipient()], "owned");
        assert!(in_place, "owned_capacity is enough");
        assert!(advised == reference);
        let at = reference.as_ptr();
        let opened = envelope::open_owned(reference, &me, Some(&org().public())).expect("open");
        assert!(opened.image[..] == image[..]);
        assert_eq!(opened.image.as_ptr(), at, "opened in the envelope's buffer");
        assert_eq!(opened.record, record_for(&image));
    }
}

#[test]
fn owned_seal_refuses_bad_arguments() {
    let me = identity(1).recipient();
    let clean = || sanitize::sanitize_owned(tiny_jpeg()).expect("clean");
    let record = record_for(&tiny_jpeg());
    let r = envelope::seal_owned(
        clean(),
        &record,
        &[],
        Signer::Unsigned,
        sealcam_platform::clock::unix_now(),
    );
    assert!(matches!(r, Err(SealError::Recipients(_))));
    let r = envelope::seal_owned(
        clean(),
        &record,
        &[me, me],
        Signer::Unsigned,
        sealcam_platform::clock::unix_now(),
    );
    assert!(matches!(r, Err(SealError::Recipients(_))));
    let other = sealcam_core::keys::DeviceSigningKey::from_secret_bytes([9; 32]);
    let cert = valid_certificate();
    let r = envelope::seal_owned(
        clean(),
        &record,
        &[me],
        Signer::Device {
            key: &other,
            certificate: &cert,
        },
        sealcam_platform::clock::unix_now(),
    );
    assert!(matches!(r, Err(SealError::SignerMismatch)));
    let sealed = envelope::seal_owned(
        clean(),
        &record,
        &[me],
        Signer::Unsigned,
        sealcam_platform::clock::unix_now(),
    )
    .expect("seal");
    let opened = envelope::open_owned(sealed.bytes, &identity(1), None).expect("open");
    assert!(opened.image[..] == tiny_jpeg()[..]);
}

#[test]
fn several_mebibytes_round_trip() {
    let image = jpeg_of_len(5 * 1024 * 1024 + 17);
    let me = identity(3);
    let bytes = seal_signed(&image, &[me.recipient()], "big");
    let opened = open_both(&bytes, &me).expect("open");
    assert_eq!(opened.image.len(), image.len());
    assert!(opened.image[..] == image[..]);
    let (owned, in_place) = seal_owned_signed(&image, 4096, &[me.recipient()], "big");
    assert!(in_place);
    assert!(owned == bytes);
}
