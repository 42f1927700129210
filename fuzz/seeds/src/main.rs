//! `sealcam-fuzz-seeds <corpus dir> [<envelope vectors dir>]`: writes
//! valid inputs for every fuzz target into `<corpus dir>/<target>/`
//! (named `seed-…`, overwritten on each run; entries libFuzzer added stay).
//! With the vectors directory (core/tests/vectors), its envelopes are
//! added to the envelope header and stream corpora as well.

#[path = "../../fixtures/mod.rs"]
mod fixtures;

use std::fs;
use std::path::{Path, PathBuf};

use sealcam_core::envelope::{seal_parts, Signer};
use sealcam_core::keys::{
    encode_key_file, encode_key_file_with_params, DirectoryEntry, KdfParams, LinkCapability,
    LinkSigner, LinkTerms, RecipientDirectory, SecretKey,
};
use sealcam_core::protocol::api::{
    AddStaff, BootstrapRequest, CodeInput, CreateEnrolment, CreateLink, EnrolRequest, LinkToken,
    StaffName,
};
use sealcam_core::protocol::enrolment::OneTimeCode;
use sealcam_core::protocol::request::{authorization, content_digest, content_digest_header};
use sealcam_core::protocol::Receipt;
use sealcam_core::record::{Clinician, RegistrationBody};

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

const CODE: &str = "ABCD-EFGH-JKMN-PQRS-TVWX-YZ01-2345-6789";

/// docs/RECORD.md's full example, compact.
const FULL_RECORD: &str = r#"{"version":1,"patient":{"nhs_number":"9434765919","local_id":"RX1-000123","name":"Alex Example-Testpatient","date_of_birth":"1970-01-31"},"body_site":{"text":"Left index finger, dorsal surface","snomed_code":"7569003","laterality":"left","caption":"Pigmented lesion, 6 mm, irregular border"},"captured_at":"2026-11-21T10:15:30Z","clinician":{"name":"Dr Sam Fictional","registration_body":"GMC","registration_number":"9999999"},"device_id":"00112233445566778899aabbccddeeff","consent":{"scopes":["care","teaching"],"method":"verbal","given_by":"patient","obtained_by":{"name":"Dr Sam Fictional","registration_body":"GMC","registration_number":"9999999"},"obtained_at":"2026-11-21T10:12:00Z","notes":"Agreed to teaching within the trust; declined publication."},"source":"device_capture","image":{"media_type":"image/jpeg","width":4032,"height":3024,"sha256":"8c56a126963600db22e099856d36cd382f3678b39e88971c49933b9baadee40d"}}"#;

/// docs/BRIDGE.md's draft example, and variants.
const DRAFTS: [&str; 4] = [
    r#"{"patient":{"nhs_number":"9434765919","name":"Alex Example-Testpatient","date_of_birth":"1970-01-31"},"body_site":{"text":"Left index finger, dorsal surface","snomed_code":"7569003","laterality":"left"},"consent":{"scopes":["care","teaching"],"method":"verbal","given_by":"patient"},"source":"device_capture"}"#,
    r#"{"patient":{"local_id":"H1"},"body_site":{"text":"back"},"consent":{"scopes":["care"],"method":"written","given_by":"patient"},"source":"desktop_import","captured_at":"2026-11-21T10:00:00Z"}"#,
    r#"{"patient":{"local_id":"RX1/7"},"body_site":{"text":"scalp","caption":"x"},"clinician":{"name":"Dr Jo Other","registration_body":"NMC","registration_number":"12A3456B"},"consent":{"scopes":["care","publication"],"method":"verbal","given_by":"patient","obtained_at":"2026-11-21T09:00:00+01:00","notes":"n"},"source":"device_capture"}"#,
    r#"{"patient":{"nhs_number":"943 476 5919"},"body_site":{"text":"left hand","laterality":"left"},"consent":{"scopes":["care"],"method":"verbal","given_by":"patient"},"source":"patient_link","link_capability":"AQ"}"#,
];

struct Corpus(PathBuf);

impl Corpus {
    fn put(&self, target: &str, name: &str, bytes: &[u8]) -> Result<()> {
        let dir = self.0.join(target);
        fs::create_dir_all(&dir)?;
        fs::write(dir.join(format!("seed-{name}")), bytes)?;
        Ok(())
    }
}

fn stream_input(cuts: &[u16], envelope: &[u8]) -> Vec<u8> {
    let mut v = vec![cuts.len() as u8];
    for c in cuts {
        v.extend_from_slice(&c.to_be_bytes());
    }
    v.extend_from_slice(envelope);
    v
}

fn prefixed(byte: u8, rest: &[u8]) -> Vec<u8> {
    let mut v = vec![byte];
    v.extend_from_slice(rest);
    v
}

fn envelopes(c: &Corpus, vectors: Option<&Path>) -> Result<()> {
    let jpeg = fixtures::tiny_jpeg();
    let identity = fixtures::identity();
    let second = fixtures::second_identity();
    let device = fixtures::device();
    let cert = fixtures::certificate();
    let signed = Signer::Device {
        key: &device,
        certificate: &cert,
    };
    let mut big = jpeg.clone();
    big.truncate(big.len() - 2);
    big.resize(70_000 - 2, 0x5A);
    big.extend_from_slice(&[0xFF, 0xD9]);
    let made = [
        (
            "unsigned",
            &jpeg,
            vec![identity.recipient()],
            Signer::Unsigned,
            FULL_RECORD,
        ),
        (
            "signed",
            &jpeg,
            vec![identity.recipient()],
            signed,
            FULL_RECORD,
        ),
        (
            "signed-two",
            &jpeg,
            vec![second.recipient(), identity.recipient()],
            signed,
            fixtures::SMALL_RECORD,
        ),
        (
            "unsigned-other",
            &jpeg,
            vec![second.recipient()],
            Signer::Unsigned,
            fixtures::SMALL_RECORD,
        ),
        (
            "signed-two-chunks",
            &big,
            vec![identity.recipient()],
            signed,
            fixtures::SMALL_RECORD,
        ),
    ];
    for (name, image, recipients, signer, record) in made {
        let env = seal_parts(
            image,
            record.as_bytes(),
            &recipients,
            signer,
            fixtures::NOW,
            &mut fixtures::FuzzRng::new(name.as_bytes()),
        )?
        .bytes;
        c.put("envelope_stream", name, &stream_input(&[], &env))?;
        c.put(
            "envelope_stream",
            &format!("{name}-cut"),
            &stream_input(&[10, 0, 400, 43], &env),
        )?;
        if env.len() < 8192 {
            c.put("envelope_header", name, &env)?;
            c.put("envelope_open", name, &prefixed(0, &env))?;
        }
    }
    for (name, record) in [("full", FULL_RECORD), ("small", fixtures::SMALL_RECORD)] {
        c.put(
            "envelope_open",
            &format!("record-{name}"),
            &prefixed(1, record.as_bytes()),
        )?;
    }
    if let Some(dir) = vectors {
        for entry in fs::read_dir(dir)? {
            let path = entry?.path();
            let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
                continue;
            };
            if name.contains('.') || !path.is_file() {
                continue;
            }
            let bytes = fs::read(&path)?;
            let Some(at) = bytes.windows(2).position(|w| w == b"\n\n") else {
                continue;
            };
            let env = &bytes[at + 2..];
            if env.len() > 8192 {
                continue;
            }
            c.put("envelope_header", &format!("vector-{name}"), env)?;
            c.put(
                "envelope_stream",
                &format!("vector-{name}"),
                &stream_input(&[], env),
            )?;
        }
    }
    Ok(())
}

fn keys(c: &Corpus) -> Result<()> {
    let org = fixtures::org();
    let device = fixtures::device();
    let staff = fixtures::staff();
    let cert = fixtures::certificate();
    c.put("certificate", "gmc", &cert.to_bytes())?;
    let other = Clinician::new(
        "Ms Ada Ñúñez-Lovelace",
        RegistrationBody::parse("RCVS").map_err(|e| format!("{e:?}"))?,
        "1234567",
    )
    .map_err(|e| format!("{e:?}"))?;
    let cert2 =
        sealcam_core::keys::DeviceCertificate::issue(&org, &device.public(), &other, 0, u64::MAX)?;
    c.put("certificate", "other-body", &cert2.to_bytes())?;

    let dir = RecipientDirectory {
        version: 3,
        issued_at: fixtures::NOW,
        expires_at: fixtures::NOW + 30 * 86_400,
        entries: vec![
            DirectoryEntry {
                recipient: fixtures::identity().recipient(),
                name: "Dermatology records".into(),
                role: "records".into(),
            },
            DirectoryEntry {
                recipient: fixtures::second_identity().recipient(),
                name: "Medical illustration — Ñ".into(),
                role: "photography".into(),
            },
        ],
    };
    c.put("directory", "two", &dir.sign(&org)?.to_bytes())?;
    let one = RecipientDirectory {
        entries: dir.entries[..1].to_vec(),
        ..dir.clone()
    };
    c.put("directory", "one", &one.sign(&org)?.to_bytes())?;

    let terms = LinkTerms {
        org_id: org.public().id(),
        link_id: [7; 16],
        created_at: fixtures::NOW,
        expires_at: fixtures::NOW + 86_400,
        max_uploads: 3,
        max_bytes: 20 << 20,
        context_blake3: sealcam_core::keys::context_commitment(Some(b"context")),
        recipients: vec![
            fixtures::identity().recipient().id(),
            fixtures::second_identity().recipient().id(),
        ],
    };
    let by_staff = LinkCapability::sign(terms.clone(), LinkSigner::Staff(&staff))?;
    c.put("link_capability", "staff", &by_staff.to_bytes())?;
    let by_device = LinkCapability::sign(
        terms,
        LinkSigner::Device {
            key: &device,
            certificate: &cert,
        },
    )?;
    c.put("link_capability", "device", &by_device.to_bytes())?;
    c.put(
        "api_body",
        "create-link",
        &prefixed(
            3,
            &serde_json::to_vec(&CreateLink {
                capability: Some(by_staff.to_bytes()),
                context: Some(b"context".to_vec()),
                ..CreateLink::default()
            })?,
        ),
    )?;
    c.put(
        "api_body",
        "create-link-limits",
        &prefixed(
            3,
            br#"{"expires_in_secs":86400,"max_bytes":1000000,"max_uploads":2}"#,
        ),
    )?;
    Ok(())
}

fn key_file<K: SecretKey>(c: &Corpus, name: &str, key: &K) -> Result<()> {
    c.put(
        "key_file",
        name,
        encode_key_file(key, None, fixtures::NOW)?.as_bytes(),
    )?;
    Ok(())
}

fn key_files(c: &Corpus) -> Result<()> {
    key_file(c, "recipient", &fixtures::identity())?;
    key_file(c, "org", &fixtures::org())?;
    key_file(c, "device", &fixtures::device())?;
    key_file(c, "staff", &fixtures::staff())?;
    key_file(c, "store", &fixtures::store())?;
    // One Argon2id run here (at the minimum parameters), never in the target.
    let protected = encode_key_file_with_params(
        &fixtures::org(),
        "correct horse",
        KdfParams::MINIMUM,
        fixtures::NOW,
    )?;
    c.put("key_file", "org-protected", protected.as_bytes())?;
    c.put(
        "key_file",
        "recipient-line",
        fixtures::identity().to_secret_string().as_bytes(),
    )?;
    c.put(
        "key_file",
        "device-line-lower",
        fixtures::device()
            .to_secret_string()
            .to_ascii_lowercase()
            .as_bytes(),
    )?;

    let strings = [
        ("recipient", fixtures::identity().recipient().to_string()),
        ("org", fixtures::org().public().to_string()),
        ("device", fixtures::device().public().to_string()),
        ("staff", fixtures::staff().public().to_string()),
        ("store", fixtures::store().public().to_string()),
        (
            "recipient-upper",
            fixtures::identity()
                .recipient()
                .to_string()
                .to_ascii_uppercase(),
        ),
        (
            "recipient-id",
            fixtures::identity().recipient().id().to_string(),
        ),
        ("device-id", fixtures::device().public().id().to_string()),
    ];
    for (name, s) in strings {
        c.put("recipient", name, s.as_bytes())?;
    }
    Ok(())
}

fn protocol(c: &Corpus) -> Result<()> {
    let store = fixtures::store_id();
    let digest = content_digest(b"");
    let target = fixtures::target(&store, &digest);
    let digest_line = content_digest_header(&digest);
    let headers = [
        (
            "admin",
            authorization(&fixtures::org(), &target, fixtures::NOW, [1; 16]),
        ),
        (
            "device",
            authorization(&fixtures::device(), &target, fixtures::NOW + 100, [2; 16]),
        ),
        (
            "staff",
            authorization(&fixtures::staff(), &target, fixtures::NOW - 299, [3; 16]),
        ),
    ];
    for (name, h) in headers {
        c.put(
            "request_auth",
            name,
            format!("{h}\n{digest_line}").as_bytes(),
        )?;
    }
    c.put(
        "request_auth",
        "link",
        format!("Sealcam-Link {}", LinkToken::generate().expose()).as_bytes(),
    )?;

    let r = Receipt::sign(
        &fixtures::store(),
        sealcam_core::envelope::EnvelopeId([0x42; 16]),
        *blake3::hash(b"x").as_bytes(),
        5_117_591,
        fixtures::NOW,
    );
    c.put("receipt", "one", r.to_json().as_bytes())?;

    let code = OneTimeCode::parse(CODE).ok_or("fixture code")?;
    let pin = "sha256/AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
    let org_id = fixtures::org().public().id();
    c.put(
        "enrolment_payload",
        "one",
        format!(
            "sealcam-enrol:v1;url=https://store.example:8443;pin={pin};org={org_id};code={CODE}"
        )
        .as_bytes(),
    )?;
    c.put(
        "enrolment_payload",
        "ip",
        format!(
            "  sealcam-enrol:v1;url=https://127.0.0.1:8443/;pin={pin};org={org_id};code={CODE}\n"
        )
        .as_bytes(),
    )?;
    c.put(
        "enrolment_payload",
        "code-typed",
        b"abcd efgh jkmn pqrs tvwx yz01 2345 67lo",
    )?;

    c.put(
        "api_body",
        "enrol",
        &prefixed(
            0,
            &serde_json::to_vec(&EnrolRequest::new(&code, &fixtures::device()))?,
        ),
    )?;
    c.put(
        "api_body",
        "create-enrolment",
        &prefixed(
            1,
            &serde_json::to_vec(&CreateEnrolment {
                clinician: fixtures::clinician(),
                expires_in_secs: Some(86_400),
            })?,
        ),
    )?;
    c.put(
        "api_body",
        "bootstrap",
        &prefixed(
            2,
            &serde_json::to_vec(&BootstrapRequest {
                code: CodeInput::from(&code),
                org_key: fixtures::org().public(),
            })?,
        ),
    )?;
    c.put(
        "api_body",
        "add-staff",
        &prefixed(
            4,
            &serde_json::to_vec(&AddStaff {
                auth_key: fixtures::staff().public(),
                name: StaffName::new("Records Team A").ok_or("staff name")?,
                recipient: fixtures::identity().recipient(),
            })?,
        ),
    )?;
    Ok(())
}

fn records(c: &Corpus) -> Result<()> {
    c.put("record_json", "small", fixtures::SMALL_RECORD.as_bytes())?;
    c.put("record_json", "full", FULL_RECORD.as_bytes())?;
    for (i, d) in DRAFTS.iter().enumerate() {
        c.put("record_draft", &format!("draft-{i}"), d.as_bytes())?;
    }
    Ok(())
}

fn main() -> Result<()> {
    let mut args = std::env::args_os().skip(1);
    let out = args
        .next()
        .ok_or("usage: sealcam-fuzz-seeds <corpus dir> [<vectors dir>]")?;
    let vectors = args.next().map(PathBuf::from);
    let c = Corpus(PathBuf::from(out));
    envelopes(&c, vectors.as_deref().filter(|d| d.is_dir()))?;
    keys(&c)?;
    key_files(&c)?;
    protocol(&c)?;
    records(&c)?;
    Ok(())
}
