//! The pure functions of the bridge, with good and bad input: the codes a
//! user interface acts on, and messages without patient data.

mod support;

use sealcam_bridge::json::RoutingJson;
use sealcam_bridge::{
    check_draft, inspect, sanitize, seal_for_link, seal_to_directory, seal_to_recipients,
    validate_nhs_number, verify_directory, version, BridgeError, DirectoryJson, ErrorCode,
};
use sealcam_core::envelope::{self, Sender};
use sealcam_core::keys::{
    DeviceCertificate, DeviceSigningKey, LinkCapability, LinkSigner, LinkTerms, OrgSigningKey,
    RecipientIdentity, StaffSigningKey,
};
use sealcam_core::record::{Clinician, RegistrationBody, Source};
use support::*;

fn code<T: std::fmt::Debug>(r: Result<T, BridgeError>) -> ErrorCode {
    let e = r.expect_err("should fail");
    assert_value_free(&e.message);
    assert_value_free(&e.to_json());
    e.code
}

fn text(v: &serde_json::Value) -> String {
    v.to_string()
}

#[test]
fn version_is_the_crate_version() {
    assert_eq!(version(), env!("CARGO_PKG_VERSION"));
}

#[test]
fn nhs_numbers() {
    for typed in ["9434765919", " 943 476 5919 ", "943-476-5919"] {
        assert_eq!(validate_nhs_number(typed).expect(typed), NHS);
    }
    for bad in [
        BAD_NHS,
        "943476591",
        "94347659190",
        "943  476 5919",
        "",
        "nine four three",
    ] {
        assert_eq!(
            code(validate_nhs_number(bad)),
            ErrorCode::NhsNumberInvalid,
            "{bad:?}"
        );
    }
}

#[test]
fn drafts_good() {
    check_draft(&text(&draft()), NOW).expect("no clinician: the device supplies it");
    check_draft(&text(&draft_with_clinician()), NOW).expect("with a clinician");
    let minimal = serde_json::json!({
        "patient": {"local_id": "H1"},
        "body_site": {"text": "back"},
        "consent": {"scopes": ["care"], "method": "verbal", "given_by": "patient"},
        "source": "device_capture"
    });
    check_draft(&text(&minimal), NOW).expect("the smallest draft");
}

#[test]
fn drafts_bad_name_the_class_never_the_value() {
    let with = |f: &dyn Fn(&mut serde_json::Value)| {
        let mut d = draft();
        f(&mut d);
        check_draft(&text(&d), NOW)
    };
    let cases: Vec<(&str, Result<(), BridgeError>, ErrorCode)> = vec![
        (
            "wrong check digit",
            with(&|d| d["patient"]["nhs_number"] = BAD_NHS.into()),
            ErrorCode::NhsNumberInvalid,
        ),
        (
            "no identifier",
            with(&|d| d["patient"] = serde_json::json!({"name": PATIENT_NAME})),
            ErrorCode::PatientIdentifierMissing,
        ),
        (
            "born tomorrow + 1",
            with(&|d| d["patient"]["date_of_birth"] = "2026-11-23".into()),
            ErrorCode::PatientDetailsInvalid,
        ),
        (
            "born after today, captured later still",
            with(&|d| {
                d["captured_at"] = "2027-06-01T09:00:00Z".into();
                d["patient"]["date_of_birth"] = "2027-01-01".into();
            }),
            ErrorCode::PatientDetailsInvalid,
        ),
        (
            "name with a control character",
            with(&|d| d["patient"]["name"] = format!("{PATIENT_NAME}\u{7}").into()),
            ErrorCode::PatientDetailsInvalid,
        ),
        (
            "no consent",
            with(&|d| {
                d.as_object_mut().expect("object").remove("consent");
            }),
            ErrorCode::ConsentMissing,
        ),
        (
            "no consent scope",
            with(&|d| d["consent"]["scopes"] = serde_json::json!([])),
            ErrorCode::ConsentMissing,
        ),
        (
            "best interests without notes",
            with(&|d| {
                d["consent"]["given_by"] = "best_interests".into();
                d["consent"]
                    .as_object_mut()
                    .expect("object")
                    .remove("notes");
            }),
            ErrorCode::ConsentInvalid,
        ),
        (
            "bad SNOMED code",
            with(&|d| d["body_site"]["snomed_code"] = "7569004".into()),
            ErrorCode::BodySiteInvalid,
        ),
        (
            "a clinician with no number",
            with(&|d| {
                d["clinician"] = serde_json::json!({
                    "name": PATIENT_NAME, "registration_body": "GMC", "registration_number": ""
                })
            }),
            ErrorCode::ClinicianInvalid,
        ),
        (
            "an unknown field",
            with(&|d| d["patient"]["nickname"] = PATIENT_NAME.into()),
            ErrorCode::InvalidJson,
        ),
        (
            "a field the pipeline sets",
            with(&|d| d["image"] = serde_json::json!({"media_type": "image/jpeg"})),
            ErrorCode::InvalidJson,
        ),
        (
            "a number where text belongs",
            with(&|d| d["patient"]["local_id"] = 42.into()),
            ErrorCode::InvalidJson,
        ),
        (
            "not JSON",
            check_draft(&format!("{{\"patient\": \"{PATIENT_NAME}"), NOW),
            ErrorCode::InvalidJson,
        ),
        (
            "a time no calendar holds",
            check_draft(&text(&draft()), u64::MAX),
            ErrorCode::InvalidArgument,
        ),
    ];
    for (what, result, expected) in cases {
        assert_eq!(code(result), expected, "{what}");
    }
}

#[test]
fn sanitize_a_photo() {
    let Some(photo) = photo() else { return };
    let out = sanitize(photo.clone()).expect("the corpus photo strips");
    sealcam_core::sanitize::verify(&out.image).expect("verified output");
    assert!(out.image.len() < photo.len());
    let report: sealcam_core::sanitize::Report =
        serde_json::from_str(&out.report_json).expect("report JSON");
    assert_eq!(report.format, sealcam_core::sanitize::ImageFormat::Jpeg);
    assert_eq!(report.input_bytes, photo.len() as u64);
    assert!(report
        .removed(sealcam_core::sanitize::Category::Exif)
        .is_some());
    assert!(format!("{out:?}").contains(&format!("<{} bytes>", out.image.len())));
}

#[test]
fn sanitize_refuses_what_is_not_a_photo() {
    assert_eq!(code(sanitize(Vec::new())), ErrorCode::NotAnImage);
    assert_eq!(
        code(sanitize(PATIENT_NAME.as_bytes().to_vec())),
        ErrorCode::NotAnImage
    );
    assert_eq!(
        code(sanitize(b"\xff\xd8\xff\xe1\x00\x10Exif".to_vec())),
        ErrorCode::ImageDamaged
    );
    if let Some(photo) = photo() {
        assert_eq!(
            code(sanitize(photo[..photo.len() / 3].to_vec())),
            ErrorCode::ImageDamaged
        );
    }
}

#[test]
fn seal_to_recipients_then_open() {
    let Some(photo) = photo() else { return };
    let (alice, bob) = (RecipientIdentity::generate(), RecipientIdentity::generate());
    let list = serde_json::json!([alice.recipient().to_string(), bob.recipient().to_string()]);
    let sealed = seal_to_recipients(
        photo.clone(),
        &text(&draft_with_clinician()),
        &list.to_string(),
        NOW,
    )
    .expect("seal");
    assert_eq!(sealed.id.len(), 32);
    let stripped = sanitize(photo).expect("strip");
    for who in [&alice, &bob] {
        let opened = envelope::open(&sealed.envelope, who, None).expect("open");
        assert_eq!(opened.id.to_string(), sealed.id);
        assert_eq!(opened.created_at, NOW);
        assert!(matches!(opened.sender, Sender::Unsigned));
        assert_eq!(*opened.image, stripped.image);
        let record = opened.record;
        assert_eq!(
            record.patient().nhs_number().map(|n| n.canonical()),
            Some(NHS.to_owned())
        );
        assert_eq!(record.captured_at().unix_timestamp(), NOW as i64);
        assert_eq!(record.consent().obtained_by(), record.clinician());
    }
    assert_eq!(sealed.report_json, stripped.report_json);

    let routing: RoutingJson =
        serde_json::from_str(&inspect(&sealed.envelope).expect("inspect")).expect("JSON");
    assert_eq!(routing.id, sealed.id);
    assert_eq!(routing.created_at, NOW);
    assert_eq!(routing.envelope_len, sealed.envelope.len() as u64);
    assert_eq!(
        routing.recipients,
        vec![
            alice.recipient().id().to_string(),
            bob.recipient().id().to_string()
        ]
    );
    assert_eq!(routing.sender, None);
}

#[test]
fn seal_to_recipients_refusals() {
    let photo = photo().unwrap_or_default();
    let one =
        serde_json::json!([RecipientIdentity::generate().recipient().to_string()]).to_string();
    let draft = text(&draft_with_clinician());
    assert_eq!(
        code(seal_to_recipients(photo.clone(), &draft, "[]", NOW)),
        ErrorCode::BadRecipients
    );
    assert_eq!(
        code(seal_to_recipients(
            photo.clone(),
            &draft,
            r#"["sealcam1nope"]"#,
            NOW
        )),
        ErrorCode::BadRecipients
    );
    assert_eq!(
        code(seal_to_recipients(photo.clone(), &draft, "sealcam1…", NOW)),
        ErrorCode::InvalidJson
    );
    assert_eq!(
        code(seal_to_recipients(
            PATIENT_NAME.as_bytes().to_vec(),
            &draft,
            &one,
            NOW
        )),
        ErrorCode::NotAnImage
    );
    if photo.is_empty() {
        return;
    }
    // No device to take a clinician from.
    assert_eq!(
        code(seal_to_recipients(
            photo.clone(),
            &text(&support::draft()),
            &one,
            NOW
        )),
        ErrorCode::ClinicianInvalid
    );
    let mut bad = draft_with_clinician();
    bad["patient"]["nhs_number"] = BAD_NHS.into();
    assert_eq!(
        code(seal_to_recipients(photo, &text(&bad), &one, NOW)),
        ErrorCode::NhsNumberInvalid
    );
}

#[test]
fn seal_to_directory_checks_the_organisation() {
    let org = OrgSigningKey::generate();
    let team = [RecipientIdentity::generate(), RecipientIdentity::generate()];
    let dir = directory(&org, &team).to_bytes();
    let key = org.public().to_string();
    let fingerprint = org.public().id().to_string();

    let shown: DirectoryJson =
        serde_json::from_str(&verify_directory(&dir, &key, &fingerprint, NOW).expect("verifies"))
            .expect("JSON");
    assert_eq!(shown.version, 3);
    assert_eq!(shown.recipients.len(), 2);
    assert_eq!(shown.recipients[0].name, "Records team 0");
    assert_eq!(shown.recipients[1].id, team[1].recipient().id().to_string());

    let draft = text(&draft_with_clinician());
    if let Some(photo) = photo() {
        let sealed = seal_to_directory(photo, &draft, &dir, &key, &fingerprint, NOW).expect("seal");
        for who in &team {
            envelope::open(&sealed.envelope, who, None).expect("every recipient opens it");
        }
    }

    let other = OrgSigningKey::generate();
    let forged = directory(&other, &team).to_bytes();
    let expired = directory_until(&org, &team, NOW - 1).to_bytes();
    let cases = [
        // The store serves another key than the link names.
        (
            verify_directory(&dir, &other.public().to_string(), &fingerprint, NOW),
            ErrorCode::Untrusted,
        ),
        // A directory signed by someone else, with their key.
        (
            verify_directory(&forged, &other.public().to_string(), &fingerprint, NOW),
            ErrorCode::Untrusted,
        ),
        // A directory signed by someone else, with the right key.
        (
            verify_directory(&forged, &key, &fingerprint, NOW),
            ErrorCode::Untrusted,
        ),
        (
            verify_directory(&dir[..dir.len() - 1], &key, &fingerprint, NOW),
            ErrorCode::Untrusted,
        ),
        (
            verify_directory(b"", &key, &fingerprint, NOW),
            ErrorCode::Untrusted,
        ),
        (
            verify_directory(&expired, &key, &fingerprint, NOW),
            ErrorCode::NoDirectory,
        ),
        (
            verify_directory(&dir, "sealcamorg1nope", &fingerprint, NOW),
            ErrorCode::InvalidArgument,
        ),
        (
            verify_directory(&dir, &key, "ABCD", NOW),
            ErrorCode::InvalidArgument,
        ),
    ];
    for (i, (result, expected)) in cases.into_iter().enumerate() {
        assert_eq!(code(result), expected, "case {i}");
    }
    // The seal refuses exactly as the check does, whatever the photo.
    assert_eq!(
        code(seal_to_directory(
            photo().unwrap_or_default(),
            &draft,
            &forged,
            &key,
            &fingerprint,
            NOW
        )),
        ErrorCode::Untrusted
    );
}

#[test]
fn inspect_refusals() {
    // Empty: the start of an envelope, cut short.
    assert_eq!(code(inspect(b"")), ErrorCode::EnvelopeDamaged);
    assert_eq!(
        code(inspect(PATIENT_NAME.as_bytes())),
        ErrorCode::NotAnEnvelope
    );
    let Some(photo) = photo() else { return };
    let one =
        serde_json::json!([RecipientIdentity::generate().recipient().to_string()]).to_string();
    let sealed =
        seal_to_recipients(photo, &text(&draft_with_clinician()), &one, NOW).expect("seal");
    let e = &sealed.envelope;
    assert_eq!(code(inspect(&e[..e.len() - 1])), ErrorCode::EnvelopeDamaged);
    let mut longer = e.clone();
    longer.push(0);
    assert_eq!(code(inspect(&longer)), ErrorCode::EnvelopeDamaged);
    let mut v2 = e.clone();
    v2[8] = 2;
    assert_eq!(code(inspect(&v2)), ErrorCode::EnvelopeUnsupportedVersion);
}

/// A link capability for `recipients`, made by a device certified for
/// "Dr Sam Fictional" (or by a staff key), valid around [`NOW`].
fn capability(
    org: &OrgSigningKey,
    recipients: &[RecipientIdentity],
    staff: Option<&StaffSigningKey>,
) -> Vec<u8> {
    let terms = LinkTerms {
        org_id: org.public().id(),
        link_id: [9; 16],
        created_at: NOW - 60,
        expires_at: NOW + 86_400,
        max_uploads: 5,
        max_bytes: 32 << 20,
        context_blake3: [0; 32],
        recipients: recipients.iter().map(|r| r.recipient().id()).collect(),
    };
    let cap = match staff {
        Some(key) => LinkCapability::sign(terms, LinkSigner::Staff(key)),
        None => {
            let key = DeviceSigningKey::generate();
            let clinician = Clinician::new("Dr Sam Fictional", RegistrationBody::Gmc, "9999999")
                .expect("a valid clinician");
            let certificate =
                DeviceCertificate::issue(org, &key.public(), &clinician, NOW - 600, NOW + 86_400)
                    .expect("issue");
            LinkCapability::sign(
                terms,
                LinkSigner::Device {
                    key: &key,
                    certificate: &certificate,
                },
            )
        }
    };
    cap.expect("sign").to_bytes()
}

#[test]
fn seal_for_link_seals_a_patient_link_record_to_the_links_recipients() {
    let org = OrgSigningKey::generate();
    let team = [
        RecipientIdentity::generate(),
        RecipientIdentity::generate(),
        RecipientIdentity::generate(),
    ];
    let dir = directory(&org, &team).to_bytes();
    let key = org.public().to_string();
    let fingerprint = org.public().id().to_string();
    // The link names two of the directory's three recipients.
    let cap = capability(&org, &team[..2], None);
    let Some(photo) = photo() else { return };
    let stripped = sanitize(photo.clone()).expect("strip").image.clone();

    // No clinician in the draft: the link's creator, from its certificate.
    let sealed = seal_for_link(
        photo.clone(),
        &text(&draft()),
        &cap,
        &dir,
        &key,
        &fingerprint,
        NOW,
    )
    .expect("seal");
    let header: RoutingJson =
        serde_json::from_str(&inspect(&sealed.envelope).expect("inspect")).expect("JSON");
    assert_eq!(
        header.recipients,
        vec![
            team[0].recipient().id().to_string(),
            team[1].recipient().id().to_string()
        ],
        "exactly the link's recipients"
    );
    assert_eq!(header.sender, None);
    for who in &team[..2] {
        let opened = envelope::open(&sealed.envelope, who, None).expect("a recipient opens it");
        assert!(matches!(opened.sender, Sender::Unsigned));
        assert_eq!(opened.record.source(), Source::PatientLink);
        assert_eq!(opened.record.link_capability(), Some(&cap[..]));
        assert_eq!(opened.record.clinician().name, "Dr Sam Fictional");
        assert_eq!(
            &opened.image[..],
            &stripped[..],
            "stripped once, as sanitize"
        );
        // What `records pull` checks: the capability vouches for it.
        LinkCapability::from_bytes(opened.record.link_capability().expect("carried"))
            .expect("parses")
            .vouches_for(&org.public(), &[], NOW, &[who.recipient().id()])
            .expect("vouches");
    }
    assert!(envelope::open(&sealed.envelope, &team[2], None).is_err());

    // A staff-made link: the draft names the clinician; the same
    // capability in the draft is accepted.
    let staff = StaffSigningKey::generate();
    let staff_cap = capability(&org, &team[..1], Some(&staff));
    let mut d = draft_with_clinician();
    d["link_capability"] = serde_json::json!(b64url(&staff_cap));
    seal_for_link(
        photo.clone(),
        &text(&d),
        &staff_cap,
        &dir,
        &key,
        &fingerprint,
        NOW,
    )
    .expect("a staff link");
    assert_eq!(
        code(seal_for_link(
            photo.clone(),
            &text(&draft()),
            &staff_cap,
            &dir,
            &key,
            &fingerprint,
            NOW
        )),
        ErrorCode::ClinicianInvalid,
        "a staff link names no clinician: the draft must"
    );
}

#[test]
fn seal_for_link_refusals() {
    let org = OrgSigningKey::generate();
    let team = [RecipientIdentity::generate(), RecipientIdentity::generate()];
    let dir = directory(&org, &team[..1]).to_bytes();
    let key = org.public().to_string();
    let fingerprint = org.public().id().to_string();
    let good = capability(&org, &team[..1], None);
    let photo = photo().unwrap_or_default();
    let draft = text(&draft());
    let seal = |cap: &[u8], draft: &str| {
        seal_for_link(photo.clone(), draft, cap, &dir, &key, &fingerprint, NOW)
    };

    let mut tampered = good.clone();
    let last = tampered.len() - 1;
    tampered[last] ^= 1; // the signature
    let other_org = capability(&OrgSigningKey::generate(), &team[..1], None);
    let outside = capability(&org, &team, None);
    let mut device_capture = serde_json::from_str::<serde_json::Value>(&draft).expect("JSON");
    device_capture["source"] = serde_json::json!("device_capture");
    let mut another = serde_json::from_str::<serde_json::Value>(&draft).expect("JSON");
    another["link_capability"] = serde_json::json!(b64url(&other_org));
    let cases = [
        (seal(b"", &draft), ErrorCode::Untrusted),
        (seal(&good[..good.len() - 1], &draft), ErrorCode::Untrusted),
        (seal(&tampered, &draft), ErrorCode::Untrusted),
        (seal(&other_org, &draft), ErrorCode::Untrusted),
        // The link names a recipient the directory does not list.
        (seal(&outside, &draft), ErrorCode::BadRecipients),
        (
            seal(&good, &text(&device_capture)),
            ErrorCode::RecordInvalid,
        ),
        (seal(&good, &text(&another)), ErrorCode::RecordInvalid),
        // The organisation checks come first, as for seal_to_directory.
        (
            seal_for_link(
                photo.clone(),
                &draft,
                &good,
                &dir,
                &key,
                &"0".repeat(32),
                NOW,
            ),
            ErrorCode::Untrusted,
        ),
        (
            seal_for_link(
                photo.clone(),
                &draft,
                &good,
                &directory_until(&org, &team[..1], NOW - 1).to_bytes(),
                &key,
                &fingerprint,
                NOW,
            ),
            ErrorCode::NoDirectory,
        ),
        (
            seal_for_link(
                b"not a photo".to_vec(),
                &draft,
                &good,
                &dir,
                &key,
                &fingerprint,
                NOW,
            ),
            ErrorCode::NotAnImage,
        ),
    ];
    for (i, (result, expected)) in cases.into_iter().enumerate() {
        assert_eq!(code(result), expected, "case {i}");
    }
}

fn b64url(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}
