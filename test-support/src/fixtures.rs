//! Fixtures shared by the envelope tests and the test-vector kit: a tiny
//! JPEG made for this project (16×16 gradient, ImageMagick, no metadata),
//! fixed keys, a fictional clinical record, and a deterministic RNG.

use rand_core::{Infallible, TryCryptoRng, TryRng};
use sealcam_core::keys::{DeviceCertificate, DeviceSigningKey, OrgSigningKey, RecipientIdentity};
use sealcam_core::record::{
    BodySite, Capture, ClinicalRecord, Clinician, Consent, ConsentGiver, ConsentMethod,
    ConsentScopes, ImageInfo, Laterality, MediaType, NhsNumber, Patient, PatientName,
    RegistrationBody, Source,
};

/// 309-byte baseline JPEG, 16×16, no metadata: passes the sanitizer's verifier.
pub const TINY_JPEG_HEX: &str = concat!(
    "ffd8ffe000104a46494600010100000100010000ffdb0043000d090a0b0a080d0b0a0b0e0e0d0f13201513121213271c",
    "1e17202e2931302e292d2c333a4a3e333646372c2d405741464c4e525352323e5a615a50604a51524fffdb0043010e0e",
    "0e131113261515264f352d354f4f4f4f4f4f4f4f4f4f4f4f4f4f4f4f4f4f4f4f4f4f4f4f4f4f4f4f4f4f4f4f4f4f4f4f",
    "4f4f4f4f4f4f4f4f4f4f4f4f4f4fffc00011080010001003011100021101031101ffc400160001010100000000000000",
    "000000000000000506ffc400161000030000000000000000000000000000001562ffc400170101010101000000000000",
    "00000000000000040305ffc400161101010100000000000000000000000000001213ffda000c03010002110311003f00",
    "94ba4b756102e91a90d62e939daac81748d487ffd9",
);

pub fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex"))
        .collect()
}

pub fn to_hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

pub fn tiny_jpeg() -> Vec<u8> {
    hex(TINY_JPEG_HEX)
}

/// A structurally valid JPEG of exactly `len` bytes (≥ 309): the tiny JPEG
/// with filler appended to its scan data. It passes `sanitize::verify`
/// (it need not decode to anything sensible).
pub fn jpeg_of_len(len: usize) -> Vec<u8> {
    let mut j = tiny_jpeg();
    assert!(len >= j.len(), "a JPEG needs at least {} bytes", j.len());
    j.truncate(j.len() - 2); // EOI
    j.resize(len - 2, 0x5A);
    j.extend_from_slice(&[0xFF, 0xD9]);
    j
}

/// Deterministic "randomness" for test vectors: BLAKE3 in XOF mode keyed
/// by a seed. Never use outside tests.
pub struct TestRng(blake3::OutputReader);

impl TestRng {
    pub fn new(seed: &str) -> Self {
        TestRng(
            blake3::Hasher::new_derive_key("sealcam test vectors rng")
                .update(seed.as_bytes())
                .finalize_xof(),
        )
    }
}

impl TryRng for TestRng {
    type Error = Infallible;
    fn try_next_u32(&mut self) -> Result<u32, Infallible> {
        let mut b = [0u8; 4];
        self.0.fill(&mut b);
        Ok(u32::from_le_bytes(b))
    }
    fn try_next_u64(&mut self) -> Result<u64, Infallible> {
        let mut b = [0u8; 8];
        self.0.fill(&mut b);
        Ok(u64::from_le_bytes(b))
    }
    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Infallible> {
        self.0.fill(dst);
        Ok(())
    }
}

impl TryCryptoRng for TestRng {}

fn seed32(label: &str) -> [u8; 32] {
    let mut out = [0u8; 32];
    TestRng::new(label).0.fill(&mut out);
    out
}

/// Recipient identity number `n`, fixed.
pub fn identity(n: u32) -> RecipientIdentity {
    RecipientIdentity::from_secret_bytes(seed32(&format!("recipient {n}")))
}

pub fn org() -> OrgSigningKey {
    OrgSigningKey::from_secret_bytes(seed32("organisation"))
}

pub fn other_org() -> OrgSigningKey {
    OrgSigningKey::from_secret_bytes(seed32("another organisation"))
}

pub fn device() -> DeviceSigningKey {
    DeviceSigningKey::from_secret_bytes(seed32("device"))
}

pub fn clinician() -> Clinician {
    Clinician::new("Dr Sam Fictional", RegistrationBody::Gmc, "9999999").expect("clinician")
}

/// 2026-11-21T10:15:30Z
pub const CREATED_AT: u64 = 1_795_256_130;

/// A certificate for [`device`] valid from `not_before` to `not_after`.
pub fn certificate(not_before: u64, not_after: u64) -> DeviceCertificate {
    DeviceCertificate::issue(
        &org(),
        &device().public(),
        &clinician(),
        not_before,
        not_after,
    )
    .expect("issue")
}

/// A certificate valid for a year around [`CREATED_AT`].
pub fn valid_certificate() -> DeviceCertificate {
    certificate(CREATED_AT - 180 * 86_400, CREATED_AT + 180 * 86_400)
}

/// A fictional patient's record for `image` (a JPEG).
pub fn record_for(image: &[u8]) -> ClinicalRecord {
    let at = time::OffsetDateTime::from_unix_timestamp(CREATED_AT as i64).expect("time");
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

/// How many vector files core/tests/vectors holds: a deleted or added
/// file is noticed.
pub const EXPECTED_VECTORS: usize = 30;

/// Envelope layout, docs/FORMAT.md §3–§6 (tests spell it out rather than
/// reuse the crate's private constants, so a change to either is caught).
pub mod layout {
    /// Fixed header fields before the stanzas.
    pub const FIXED: usize = 43;
    /// One recipient stanza.
    pub const STANZA: usize = 96;
    /// The header MAC.
    pub const MAC: usize = 32;
    /// An AES-GCM tag per payload chunk.
    pub const TAG: usize = 16;
    /// The device signature.
    pub const SIG: usize = 64;
    /// Payload chunk size.
    pub const CHUNK: usize = 65_536;
}
