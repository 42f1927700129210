//! Fixtures shared by the envelope benchmarks: fixed keys, a fictional
//! patient's record, the tiny JPEG, where the inputs live, and the loud
//! message printed when one is missing. (Not a bench target: cargo only
//! picks up `benches/*.rs` and `benches/*/main.rs`.)
#![allow(dead_code)] // each bench uses a different subset

use sealcam_core::envelope::Signer;
use sealcam_core::keys::{
    DeviceCertificate, DeviceSigningKey, OrgSigningKey, Recipient, RecipientIdentity,
};
use sealcam_core::record::{
    BodySite, Capture, ClinicalRecord, Clinician, Consent, ConsentGiver, ConsentMethod,
    ConsentScopes, ImageInfo, Laterality, MediaType, NhsNumber, Patient, PatientName,
    RegistrationBody, Source,
};
use std::path::{Path, PathBuf};

/// Fixed key material for `label` (benchmarks only).
pub fn seed32(label: &str) -> [u8; 32] {
    blake3::derive_key("sealcam bench keys", label.as_bytes())
}

pub fn identity(n: usize) -> RecipientIdentity {
    RecipientIdentity::from_secret_bytes(seed32(&format!("recipient {n}")))
}

pub fn clinician() -> Clinician {
    Clinician::new("Dr Sam Fictional", RegistrationBody::Gmc, "9999999").expect("clinician")
}

pub fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// A fictional patient's record for `image` (a JPEG): computes its SHA-256.
pub fn record_for(image: &[u8]) -> ClinicalRecord {
    let at = time::OffsetDateTime::from_unix_timestamp(now() as i64).expect("time");
    let patient = Patient::new(
        Some(NhsNumber::parse("943 476 5919").expect("nhs")),
        None,
        Some(PatientName::parse("Alex Example-Testpatient").expect("name")),
        Some(time::macros::date!(1970 - 01 - 31)),
    )
    .expect("patient");
    let site = BodySite::new(
        "Left index finger, dorsal",
        None,
        Some(Laterality::Left),
        None,
    )
    .expect("site");
    let consent = Consent::new(
        ConsentScopes::parse("care").expect("scopes"),
        ConsentMethod::Verbal,
        ConsentGiver::Patient,
        clinician(),
        at,
        None,
        None,
    )
    .expect("consent");
    let capture = Capture {
        captured_at: at,
        clinician: clinician(),
        device_id: None,
    };
    let image = ImageInfo::for_image(MediaType::Jpeg, image, None, None).expect("image info");
    ClinicalRecord::new(
        patient,
        site,
        capture,
        consent,
        Source::DeviceCapture,
        image,
    )
    .expect("record")
}

/// 309-byte baseline JPEG, 16×16, no metadata (core/tests/common).
pub const TINY_JPEG_HEX: &str = concat!(
    "ffd8ffe000104a46494600010100000100010000ffdb0043000d090a0b0a080d0b0a0b0e0e0d0f13201513121213271c",
    "1e17202e2931302e292d2c333a4a3e333646372c2d405741464c4e525352323e5a615a50604a51524fffdb0043010e0e",
    "0e131113261515264f352d354f4f4f4f4f4f4f4f4f4f4f4f4f4f4f4f4f4f4f4f4f4f4f4f4f4f4f4f4f4f4f4f4f4f4f4f",
    "4f4f4f4f4f4f4f4f4f4f4f4f4f4fffc00011080010001003011100021101031101ffc400160001010100000000000000",
    "000000000000000506ffc400161000030000000000000000000000000000001562ffc400170101010101000000000000",
    "00000000000000040305ffc400161101010100000000000000000000000000001213ffda000c03010002110311003f00",
    "94ba4b756102e91a90d62e939daac81748d487ffd9",
);

pub fn tiny_jpeg() -> Vec<u8> {
    (0..TINY_JPEG_HEX.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&TINY_JPEG_HEX[i..i + 2], 16).expect("hex"))
        .collect()
}

/// Everything a signed seal and a checked open need.
pub struct Keys {
    pub org: OrgSigningKey,
    pub device: DeviceSigningKey,
    pub certificate: DeviceCertificate,
    pub identities: Vec<RecipientIdentity>,
    pub recipients: Vec<Recipient>,
}

impl Keys {
    /// Keys for a signed seal to `recipients` fixed recipients.
    pub fn new(recipients: usize) -> Self {
        let org = OrgSigningKey::from_secret_bytes(seed32("organisation"));
        let device = DeviceSigningKey::from_secret_bytes(seed32("device"));
        let t = now();
        let certificate = DeviceCertificate::issue(
            &org,
            &device.public(),
            &clinician(),
            t - 180 * 86_400,
            t + 180 * 86_400,
        );
        let identities: Vec<_> = (0..recipients).map(identity).collect();
        let recipients = identities
            .iter()
            .map(RecipientIdentity::recipient)
            .collect();
        Keys {
            org,
            device,
            certificate,
            identities,
            recipients,
        }
    }

    pub fn signer(&self) -> Signer<'_> {
        Signer::Device {
            key: &self.device,
            certificate: &self.certificate,
        }
    }
}

pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from(".."))
}

pub fn bench_inputs_dir() -> PathBuf {
    std::env::var_os("SEALCAM_BENCH_INPUTS")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_root().join("bench-inputs"))
}

pub fn corpus_dir() -> PathBuf {
    std::env::var_os("SEALCAM_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_root().join("../shared/corpus"))
}

pub fn loud(lines: &[String]) {
    let bar = "!".repeat(78);
    eprintln!("\n{bar}");
    for l in lines {
        eprintln!("!! {l}");
    }
    eprintln!("{bar}\n");
}
