//! Every corpus image, sanitized and sealed to three recipients with a
//! device signature: each recipient opens it to the sanitized bytes and
//! the record, the organisation key verifies the sender, the store's
//! `verify` accepts it, and a key outside the recipients cannot open it.

use sealcam_core::envelope::{self, CertificateStatus, OpenError, Sender, Signer};
use sealcam_core::keys::{DeviceCertificate, DeviceSigningKey, OrgSigningKey, RecipientIdentity};
use sealcam_core::record::{
    BodySite, Capture, ClinicalRecord, Clinician, Consent, ConsentGiver, ConsentMethod,
    ConsentScopes, ImageInfo, NhsNumber, Patient, RegistrationBody, Source,
};
use sealcam_core::sanitize;
use std::io::Write;

fn record_for(image: &[u8], format: sanitize::ImageFormat) -> ClinicalRecord {
    let now = time::OffsetDateTime::now_utc()
        .replace_nanosecond(0)
        .expect("whole seconds");
    let clinician =
        Clinician::new("Dr Sam Fictional", RegistrationBody::Gmc, "9999999").expect("clinician");
    let patient = Patient::new(
        Some(NhsNumber::parse("9434765919").expect("nhs")),
        None,
        None,
        None,
    )
    .expect("patient");
    let consent = Consent::new(
        ConsentScopes::parse("care").expect("scopes"),
        ConsentMethod::Verbal,
        ConsentGiver::Patient,
        clinician.clone(),
        now,
        None,
        None,
    )
    .expect("consent");
    let capture = Capture {
        captured_at: now,
        clinician,
        device_id: None,
    };
    let image = ImageInfo::for_image(format.into(), image, None, None).expect("image");
    let site = BodySite::new("Back", None, None, None).expect("site");
    ClinicalRecord::new(
        patient,
        site,
        capture,
        consent,
        Source::DesktopImport,
        image,
    )
    .expect("record")
}

#[test]
fn every_corpus_image_round_trips_through_an_envelope() {
    let Some(corpus) = sealcam_test_support::corpus_dir() else {
        return;
    };
    let org = OrgSigningKey::generate();
    let device = DeviceSigningKey::generate();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs();
    let clinician =
        Clinician::new("Dr Sam Fictional", RegistrationBody::Gmc, "9999999").expect("clinician");
    let cert = DeviceCertificate::issue(&org, &device.public(), &clinician, now - 60, now + 86_400)
        .expect("issue");
    let team: Vec<RecipientIdentity> = (0..3).map(|_| RecipientIdentity::generate()).collect();
    let recipients: Vec<_> = team.iter().map(RecipientIdentity::recipient).collect();
    let outsider = RecipientIdentity::generate();

    let mut paths: Vec<_> = std::fs::read_dir(corpus.join("images"))
        .expect("corpus images")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e != "tsv"))
        .collect();
    paths.sort();
    // One image per core: each is sealed twice and opened nine times.
    let done = sealcam_test_support::parallel_map(&paths, |path| {
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("?")
            .to_string();
        let raw = std::fs::read(path).expect("read");
        let clean = sanitize::sanitize(&raw).unwrap_or_else(|e| panic!("{name}: {e}"));
        let record = record_for(&clean.bytes, clean.report.format);
        let sealed = envelope::seal(
            &clean.bytes,
            &record,
            &recipients,
            Signer::Device {
                key: &device,
                certificate: &cert,
            },
            sealcam_platform::clock::unix_now(),
        )
        .unwrap_or_else(|e| panic!("{name}: seal: {e}"));
        envelope::verify(&sealed.bytes, &org.public(), now)
            .unwrap_or_else(|e| panic!("{name}: store verify: {e}"));
        for member in &team {
            let opened = envelope::open(&sealed.bytes, member, Some(&org.public()))
                .unwrap_or_else(|e| panic!("{name}: open: {e}"));
            assert!(opened.image[..] == clean.bytes[..], "{name}: image differs");
            assert_eq!(opened.record, record, "{name}: record differs");
            opened
                .record
                .image()
                .verify(&opened.image)
                .unwrap_or_else(|e| panic!("{name}: hash: {e}"));
            assert!(
                matches!(
                    opened.sender,
                    Sender::Device {
                        status: CertificateStatus::Verified,
                        ..
                    }
                ),
                "{name}: sender not verified"
            );
        }
        assert_eq!(
            envelope::open(&sealed.bytes, &outsider, None).err(),
            Some(OpenError::NotARecipient),
            "{name}: an outsider opened it"
        );
        // The owned-buffer pipeline: same sanitized bytes, and an envelope
        // that both opens decrypt to them.
        let owned = sanitize::sanitize_owned(raw).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(
            owned.bytes() == &clean.bytes[..],
            "{name}: owned sanitize differs"
        );
        let sealed = envelope::seal_owned(
            owned,
            &record,
            &recipients,
            Signer::Device {
                key: &device,
                certificate: &cert,
            },
            sealcam_platform::clock::unix_now(),
        )
        .unwrap_or_else(|e| panic!("{name}: seal_owned: {e}"));
        envelope::verify(&sealed.bytes, &org.public(), now)
            .unwrap_or_else(|e| panic!("{name}: store verify (owned): {e}"));
        for member in &team {
            let a = envelope::open(&sealed.bytes, member, Some(&org.public()))
                .unwrap_or_else(|e| panic!("{name}: open (owned seal): {e}"));
            let b = envelope::open_owned(sealed.bytes.clone(), member, Some(&org.public()))
                .unwrap_or_else(|e| panic!("{name}: open_owned: {e}"));
            assert!(a.image[..] == clean.bytes[..], "{name}: image differs");
            assert!(
                b.image[..] == clean.bytes[..],
                "{name}: open_owned image differs"
            );
            assert_eq!(b.record, record, "{name}: open_owned record differs");
        }
    });
    let count = done.len();
    // Straight to stderr (not eprintln!, which the test harness captures).
    let _ = writeln!(
        std::io::stderr(),
        "corpus envelopes: {count} images sealed to 3 recipients (seal and seal_owned), each opened by all 3 (open and open_owned), refused to an outsider"
    );
    assert!(count >= 65, "expected the whole corpus, got {count}");
}
