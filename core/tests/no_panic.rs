//! No public function of the core panics on any input (the sanitizer has
//! its own property tests, `proptest_sanitize.rs`): random and mutated
//! bytes and text into every parser the front ends and the store reach,
//! and extreme numbers into the functions that take them. Each call may
//! fail; none may panic (a failed arithmetic check panics in these debug
//! builds too).

use sealcam_test_support::fixtures as common;

use common::*;
use proptest::prelude::*;
use sealcam_core::capture::{self, RecordDraft};
use sealcam_core::envelope::{self, EnvelopeStream, Signer};
use sealcam_core::keys::{
    decode_identity_file, decode_key_file, DeviceCertificate, DirectoryEntry, KeyError,
    OrgPublicKey, OrgSigningKey, Recipient, RecipientDirectory, SignedDirectory,
};
use sealcam_core::protocol::audit::{AuditEntry, ChainVerifier};
use sealcam_core::protocol::enrolment::OneTimeCode;
use sealcam_core::protocol::{Receipt, RequestAuth};
use sealcam_core::record::{ClinicalRecord, NhsNumber, SnomedCode};
use sealcam_core::sanitize;
use zeroize::Zeroizing;

fn no_passphrase() -> Result<Zeroizing<String>, KeyError> {
    Err(KeyError::PassphraseUnavailable("none in this test".into()))
}

/// A signed envelope of the tiny JPEG to identity 1.
fn envelope() -> Vec<u8> {
    let image = tiny_jpeg();
    let cert = valid_certificate();
    envelope::seal(
        &image,
        &record_for(&image),
        &[identity(1).recipient()],
        Signer::Device {
            key: &device(),
            certificate: &cert,
        },
        CREATED_AT,
    )
    .expect("seal")
    .bytes
}

/// Every envelope reader on `bytes`.
fn read_envelope(bytes: &[u8]) {
    let _ = envelope::inspect(bytes);
    let _ = envelope::verify(bytes, &org().public(), CREATED_AT);
    let _ = envelope::open(bytes, &identity(1), Some(&org().public()));
    let _ = envelope::open_owned(bytes.to_vec(), &identity(1), None);
    for piece in [1, 7, 4096] {
        let mut s = EnvelopeStream::new();
        for chunk in bytes.chunks(piece) {
            if s.update(chunk).is_err() {
                break;
            }
        }
        if let Ok(done) = s.finish() {
            let _ = done.verify(&org().public(), CREATED_AT);
        }
    }
}

/// Every text parser on `text`.
fn read_text(text: &str) {
    let _ = text.parse::<Recipient>();
    let _ = text.parse::<OrgPublicKey>();
    let _ = text.parse::<envelope::EnvelopeId>();
    let _ = decode_identity_file(text, no_passphrase);
    let _ = decode_key_file::<OrgSigningKey>(text, no_passphrase);
    let _ = Receipt::from_json(text);
    let _ = RequestAuth::parse(text);
    let _ = OneTimeCode::parse(text);
    let _ = NhsNumber::parse(text);
    let _ = SnomedCode::parse(text);
}

/// Every byte parser besides envelopes on `bytes`.
fn read_bytes(bytes: &[u8], now: u64) {
    if let Ok(d) = SignedDirectory::from_bytes(bytes) {
        let _ = d.verify(&org().public(), now);
    }
    let _ = DeviceCertificate::from_bytes(bytes).map(|c| c.verify(&org().public(), now));
    let _ = ClinicalRecord::from_json(bytes);
    if let Some(at) = i64::try_from(now)
        .ok()
        .and_then(|s| time::OffsetDateTime::from_unix_timestamp(s).ok())
    {
        let _ = RecordDraft::from_json(bytes, Some(&clinician()), at);
    }
}

fn directory_bytes() -> Vec<u8> {
    RecipientDirectory {
        version: 1,
        issued_at: CREATED_AT,
        expires_at: CREATED_AT + 1,
        entries: vec![DirectoryEntry {
            recipient: identity(1).recipient(),
            name: "Records".into(),
            role: "records".into(),
        }],
    }
    .sign(&org())
    .expect("sign")
    .to_bytes()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    #[test]
    fn random_bytes(bytes in prop::collection::vec(any::<u8>(), 0..600), now in any::<u64>()) {
        read_envelope(&bytes);
        read_bytes(&bytes, now);
        read_text(&String::from_utf8_lossy(&bytes));
    }

    #[test]
    fn an_envelope_with_bytes_changed(
        edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..6),
        cut in any::<prop::sample::Index>(),
    ) {
        let mut e = envelope();
        for (at, b) in &edits {
            let i = at.index(e.len());
            e[i] = *b;
        }
        read_envelope(&e);
        read_envelope(&e[..cut.index(e.len())]);
    }

    #[test]
    fn a_directory_or_certificate_with_bytes_changed(
        edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..4),
        now in any::<u64>(),
    ) {
        for mut b in [directory_bytes(), valid_certificate().to_bytes()] {
            for (at, v) in &edits {
                let i = at.index(b.len());
                b[i] = *v;
            }
            read_bytes(&b, now);
        }
    }

    #[test]
    fn record_json_with_characters_changed(
        edits in prop::collection::vec((any::<prop::sample::Index>(), any::<char>()), 1..4),
        now in any::<u64>(),
    ) {
        let json = String::from_utf8(record_for(&tiny_jpeg()).to_json()).expect("UTF-8");
        let mut chars: Vec<char> = json.chars().collect();
        for (at, c) in &edits {
            let i = at.index(chars.len());
            chars[i] = *c;
        }
        let text: String = chars.into_iter().collect();
        read_bytes(text.as_bytes(), now);
    }

    #[test]
    fn numbers_at_the_edges(a in any::<u64>(), b in any::<u64>(), n in any::<usize>()) {
        let _ = envelope::owned_capacity(n, n);
        let _ = DeviceCertificate::issue(&org(), &device().public(), &clinician(), a, b);
        let _ = RecipientDirectory {
            version: a,
            issued_at: a,
            expires_at: b,
            entries: vec![DirectoryEntry {
                recipient: identity(1).recipient(),
                name: "Records".into(),
                role: "records".into(),
            }],
        }
        .sign(&org());
        let _ = AuditEntry::next((a, [0; 32]), b, "a", "b", "c", "{}");
        let mut v = ChainVerifier::after(a, [0; 32]);
        let _ = v.push(&AuditEntry::next((a, [0; 32]), b, "a", "b", "c", "{}"));
    }
}

#[test]
fn capture_and_seal_at_the_edges_of_time() {
    let image = tiny_jpeg();
    let record = record_for(&image);
    let draft = RecordDraft::from_record(&record);
    let to = [identity(1).recipient()];
    for now in [0, 1, i64::MAX as u64, u64::MAX] {
        let _ = capture::capture(
            image.clone(),
            &draft,
            &to,
            Signer::Unsigned,
            now,
            &sanitize::Options::default(),
        );
        let _ = envelope::seal(&image, &record, &to, Signer::Unsigned, now);
        let _ = envelope::verify(&envelope(), &org().public(), now);
    }
    let tiny_limit = sanitize::Options { max_input_bytes: 0 };
    let _ = capture::capture(image, &draft, &to, Signer::Unsigned, 1, &tiny_limit);
    // The largest and the last moment a record can hold.
    let offset = |h| time::UtcOffset::from_hms(h, 0, 0).expect("offset");
    for at in [
        time::OffsetDateTime::UNIX_EPOCH,
        time::PrimitiveDateTime::MAX.assume_utc(),
        // Dates whose UTC date the calendar cannot hold.
        time::PrimitiveDateTime::MAX.assume_offset(offset(-12)),
        time::PrimitiveDateTime::MIN.assume_offset(offset(12)),
    ] {
        let _ = RecordDraft::from_json(b"{}", Some(&clinician()), at);
        let json = String::from_utf8(record.to_json()).expect("UTF-8");
        let mut v: serde_json::Value = serde_json::from_str(&json).expect("JSON");
        let o = v.as_object_mut().expect("object");
        for field in ["version", "device_id", "image", "captured_at"] {
            o.remove(field);
        }
        let _ = RecordDraft::from_json(v.to_string().as_bytes(), None, at);
    }
}
