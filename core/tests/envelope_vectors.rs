//! The declarative envelope test-vector kit (core/tests/vectors/, described
//! in its README.md): one file per vector, a `key: value` header, a blank
//! line, then the raw envelope bytes.
//!
//! * `regenerate_vectors` (ignored) writes the files, deterministically:
//!   `cargo test -p sealcam-core --test envelope_vectors -- --ignored regenerate_vectors`
//! * `vectors_behave_as_declared` runs every file through `envelope::open`,
//!   `envelope::verify` and `envelope::inspect` and checks the declared outcome.
//! * `vectors_are_up_to_date` regenerates in memory and compares byte for byte.
//!
//! The expectations written into the files are declared here by hand, from
//! docs/FORMAT.md (never computed by calling the code under test); the
//! byte surgery uses the offsets of FORMAT.md §3, not the crate's internals.

use sealcam_test_support::fixtures as common;

use std::collections::BTreeMap;
use std::path::PathBuf;

use common::*;
use sealcam_core::envelope::{
    self, CertificateStatus, FormatError, OpenError, Sender, Signer, VerifyError,
};
use sealcam_core::keys::{
    CertificateError, DeviceCertificate, OrgPublicKey, Recipient, RecipientIdentity,
};
use sha2::{Digest, Sha256};

// How many vector files the kit holds: a deleted or added file is noticed.
use common::EXPECTED_VECTORS;

const REGENERATE: &str =
    "cargo test -p sealcam-core --test envelope_vectors -- --ignored regenerate_vectors";

use common::layout::{CHUNK, FIXED, MAC, SIG, STANZA, TAG};
const SIGNATURE_CONTEXT: &[u8] = b"sealcam/v1/envelope-signature\0";

/// Outcome classes of `open` (header `expect`) and of store verification
/// (header `verify`).
const CLASSES: &[&str] = &[
    "success",
    "not_an_envelope",
    "unsupported_version",
    "truncated",
    "trailing_bytes",
    "malformed",
    "not_a_recipient",
    "decrypt_error",
    "bad_signature",
    "invalid_record",
    "unsigned",
    "certificate_wrong_org",
    "certificate_bad_signature",
    "certificate_not_yet_valid",
    "certificate_expired",
    "from_the_future",
];

/// The classes that are decided from structure alone (`inspect` must agree).
const FORMAT_CLASSES: &[&str] = &[
    "not_an_envelope",
    "unsupported_version",
    "truncated",
    "trailing_bytes",
    "malformed",
];

/// Header keys in the order they are written.
const KEYS: &[&str] = &[
    "expect",
    "verify",
    "identity",
    "org",
    "verify_at",
    "image_sha256",
    "record_sha256",
    "sender",
    "certificate",
    "comment",
];

fn vectors_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/vectors")
}

fn sha256_hex(b: &[u8]) -> String {
    to_hex(&Sha256::digest(b))
}

// ---------------------------------------------------------------------------
// Generation
// ---------------------------------------------------------------------------

/// One vector: its file name, header lines and envelope bytes.
struct Vector {
    name: &'static str,
    header: Vec<(&'static str, String)>,
    bytes: Vec<u8>,
}

impl Vector {
    fn file(&self) -> Vec<u8> {
        let mut out = Vec::new();
        for (k, v) in &self.header {
            assert!(!v.contains('\n') && !v.is_empty(), "{}: bad {k}", self.name);
            out.extend_from_slice(format!("{k}: {v}\n").as_bytes());
        }
        out.push(b'\n');
        out.extend_from_slice(&self.bytes);
        out
    }
}

/// What a successful open must yield.
struct Success {
    image: Vec<u8>,
    record_json: Vec<u8>,
    signed: bool,
    /// Certificate status with the vector's `org` (signed only).
    certificate: Option<&'static str>,
}

/// The declaration of one vector.
struct Decl {
    name: &'static str,
    comment: &'static str,
    expect: &'static str,
    verify: &'static str,
    identity: u32,
    org: OrgPublicKey,
    verify_at: u64,
    success: Option<Success>,
    bytes: Vec<u8>,
}

impl Decl {
    fn new(name: &'static str, expect: &'static str, verify: &'static str, bytes: Vec<u8>) -> Self {
        Decl {
            name,
            comment: "",
            expect,
            verify,
            identity: 1,
            org: org().public(),
            verify_at: CREATED_AT,
            success: None,
            bytes,
        }
    }

    fn comment(mut self, c: &'static str) -> Self {
        self.comment = c;
        self
    }

    fn identity(mut self, n: u32) -> Self {
        self.identity = n;
        self
    }

    fn org(mut self, org: OrgPublicKey) -> Self {
        self.org = org;
        self
    }

    fn verify_at(mut self, t: u64) -> Self {
        self.verify_at = t;
        self
    }

    fn success(mut self, s: Success) -> Self {
        self.success = Some(s);
        self
    }

    fn into_vector(self) -> Vector {
        assert!(!self.comment.is_empty(), "{}: no comment", self.name);
        assert_eq!(
            self.expect == "success",
            self.success.is_some(),
            "{}: success details exactly for success vectors",
            self.name
        );
        let mut header = vec![
            ("expect", self.expect.to_string()),
            ("verify", self.verify.to_string()),
            (
                "identity",
                identity(self.identity).to_secret_string().to_string(),
            ),
            ("org", self.org.to_string()),
            ("verify_at", self.verify_at.to_string()),
        ];
        if let Some(s) = &self.success {
            header.push(("image_sha256", sha256_hex(&s.image)));
            header.push(("record_sha256", sha256_hex(&s.record_json)));
            if s.signed {
                header.push(("sender", format!("device {}", device().public().id())));
                header.push(("certificate", s.certificate.expect("status").to_string()));
            } else {
                assert!(s.certificate.is_none());
                header.push(("sender", "unsigned".to_string()));
            }
        }
        header.push(("comment", self.comment.to_string()));
        Vector {
            name: self.name,
            header,
            bytes: self.bytes,
        }
    }
}

/// Seals deterministically with seed `vector/<name>`.
fn seal(
    name: &str,
    image: &[u8],
    record_json: &[u8],
    recipients: &[Recipient],
    cert: Option<&DeviceCertificate>,
) -> Vec<u8> {
    let key = device();
    let signer = match cert {
        Some(certificate) => Signer::Device {
            key: &key,
            certificate,
        },
        None => Signer::Unsigned,
    };
    envelope::seal_parts(
        image,
        record_json,
        recipients,
        signer,
        CREATED_AT,
        &mut TestRng::new(&format!("vector/{name}")),
    )
    .unwrap_or_else(|e| panic!("sealing vector {name}: {e}"))
    .bytes
}

/// A vector's inputs: image, its record, recipients and certificate.
struct Input {
    image: Vec<u8>,
    record_json: Vec<u8>,
    recipients: Vec<Recipient>,
    cert: Option<DeviceCertificate>,
}

impl Input {
    fn new(image: Vec<u8>, recipients: &[u32], cert: Option<DeviceCertificate>) -> Self {
        Input {
            record_json: record_for(&image).to_json(),
            image,
            recipients: recipients
                .iter()
                .map(|&n| identity(n).recipient())
                .collect(),
            cert,
        }
    }

    fn seal(&self, name: &str) -> Vec<u8> {
        seal(
            name,
            &self.image,
            &self.record_json,
            &self.recipients,
            self.cert.as_ref(),
        )
    }

    fn success(&self, certificate: Option<&'static str>) -> Success {
        Success {
            image: self.image.clone(),
            record_json: self.record_json.clone(),
            signed: self.cert.is_some(),
            certificate,
        }
    }
}

/// Where the parts of an envelope lie, from FORMAT.md §3 (trusting the header).
struct Layout {
    signed: bool,
    payload_at: usize,
    payload_end: usize,
}

fn layout(b: &[u8]) -> Layout {
    let signed = b[9] & 1 == 1;
    let n = usize::from(b[42]);
    let mut at = FIXED + STANZA * n;
    if signed {
        at += 2 + usize::from(u16::from_be_bytes([b[at], b[at + 1]]));
    }
    let payload_at = at + MAC;
    let p = u64::from_be_bytes(b[34..42].try_into().expect("8 bytes")) as usize;
    let chunks = p.div_ceil(CHUNK).max(1);
    Layout {
        signed,
        payload_at,
        payload_end: payload_at + p + TAG * chunks,
    }
}

/// Replaces the signature with a fresh, valid one by the fixture device
/// over the (possibly altered) envelope: what a malicious recipient could
/// not do, but what isolates the check under test from the signature.
fn resign(b: &mut [u8]) {
    let l = layout(b);
    assert!(l.signed && b.len() == l.payload_end + SIG);
    let mut m = SIGNATURE_CONTEXT.to_vec();
    m.extend_from_slice(blake3::hash(&b[..l.payload_end]).as_bytes());
    let sig = device().sign(&m);
    b[l.payload_end..].copy_from_slice(&sig);
}

/// Removes stanza `index`, fixing the count so the envelope still parses.
fn without_stanza(b: &[u8], index: usize) -> Vec<u8> {
    let n = usize::from(b[42]);
    let mut out = b[..FIXED].to_vec();
    out[42] -= 1;
    for i in (0..n).filter(|&i| i != index) {
        out.extend_from_slice(&b[FIXED + i * STANZA..FIXED + (i + 1) * STANZA]);
    }
    out.extend_from_slice(&b[FIXED + n * STANZA..]);
    out
}

/// A JPEG whose envelope plaintext (4 + record + image) is exactly `p` bytes.
fn image_for_plaintext_len(p: usize) -> Vec<u8> {
    let mut guess = p - 4 - 2000;
    for _ in 0..10 {
        let record_len = record_for(&jpeg_of_len(guess)).to_json().len();
        let want = p - 4 - record_len;
        if want == guess {
            return jpeg_of_len(guess);
        }
        guess = want;
    }
    panic!("no image length gives a plaintext of {p} bytes");
}

/// Checks the `plaintext_len` field (FORMAT.md §3, offset 34).
fn assert_plaintext_len(b: &[u8], p: usize) -> Vec<u8> {
    let field = u64::from_be_bytes(b[34..42].try_into().expect("8 bytes"));
    assert_eq!(field, p as u64, "plaintext_len");
    b.to_vec()
}

/// Three chunks: two full ones and a short last one.
const MULTI_CHUNK_IMAGE_LEN: usize = 2 * CHUNK + 1000;

fn generate() -> Vec<Vector> {
    let signed1 = || Input::new(tiny_jpeg(), &[1], Some(valid_certificate()));
    let unsigned1 = || Input::new(tiny_jpeg(), &[1], None);
    let mut v: Vec<Decl> = Vec::new();

    // --- success -----------------------------------------------------------
    let i = signed1();
    v.push(
        Decl::new("success-signed", "success", "success", i.seal("success-signed"))
            .success(i.success(Some("verified")))
            .comment("signed by an enrolled device, one recipient: opens, certificate verified, store accepts"),
    );

    let i = Input::new(tiny_jpeg(), &[1, 2, 3], Some(valid_certificate()));
    v.push(
        Decl::new(
            "success-three-recipients",
            "success",
            "success",
            i.seal("success-three-recipients"),
        )
        .identity(2)
        .success(i.success(Some("verified")))
        .comment("signed, three recipients, opened by the second (stanza 1 of 0..2)"),
    );

    let i = unsigned1();
    v.push(
        Decl::new(
            "success-unsigned",
            "success",
            "unsigned",
            i.seal("success-unsigned"),
        )
        .success(i.success(None))
        .comment("unsigned: opens and reports the sender as unsigned; the store refuses it"),
    );

    let i = Input::new(
        jpeg_of_len(MULTI_CHUNK_IMAGE_LEN),
        &[1],
        Some(valid_certificate()),
    );
    v.push(
        Decl::new(
            "success-multi-chunk",
            "success",
            "success",
            i.seal("success-multi-chunk"),
        )
        .success(i.success(Some("verified")))
        .comment("signed, plaintext of three chunks (two full 64 KiB chunks and a short last one)"),
    );

    let i = Input::new(
        image_for_plaintext_len(CHUNK),
        &[1],
        Some(valid_certificate()),
    );
    v.push(
        Decl::new(
            "success-one-full-chunk",
            "success",
            "success",
            assert_plaintext_len(&i.seal("success-one-full-chunk"), CHUNK),
        )
        .success(i.success(Some("verified")))
        .comment("plaintext of exactly 65536 bytes: one chunk, full, with the last-chunk flag"),
    );

    let i = Input::new(
        image_for_plaintext_len(2 * CHUNK),
        &[1],
        Some(valid_certificate()),
    );
    v.push(
        Decl::new(
            "success-two-full-chunks",
            "success",
            "success",
            assert_plaintext_len(&i.seal("success-two-full-chunks"), 2 * CHUNK),
        )
        .success(i.success(Some("verified")))
        .comment("plaintext of exactly 131072 bytes: two full chunks, no empty third chunk"),
    );

    let i = Input::new(
        tiny_jpeg(),
        &[1],
        Some(certificate(CREATED_AT - 1000, CREATED_AT - 1)),
    );
    v.push(
        Decl::new("success-certificate-expired", "success", "certificate_expired", i.seal("success-certificate-expired"))
            .success(i.success(Some("expired")))
            .comment("certificate expired 1 s before created_at: opens with certificate expired; the store refuses it"),
    );

    let i = Input::new(
        tiny_jpeg(),
        &[1],
        Some(certificate(CREATED_AT + 1, CREATED_AT + 1000)),
    );
    v.push(
        Decl::new("success-certificate-not-yet-valid", "success", "certificate_not_yet_valid", i.seal("success-certificate-not-yet-valid"))
            .success(i.success(Some("not_yet_valid")))
            .comment("certificate valid only from 1 s after created_at: opens with certificate not_yet_valid; the store refuses it"),
    );

    let mut forged = valid_certificate().to_bytes();
    let at = forged.len() - 64;
    forged[at] ^= 0x01;
    let forged = DeviceCertificate::from_bytes(&forged).expect("still parses");
    let i = Input::new(tiny_jpeg(), &[1], Some(forged));
    v.push(
        Decl::new("success-certificate-bad-org-signature", "success", "certificate_bad_signature", i.seal("success-certificate-bad-org-signature"))
            .success(i.success(Some("bad_org_signature")))
            .comment("certificate's organisation signature altered (first byte), envelope properly signed by the device: opens with certificate bad_org_signature; the store refuses it"),
    );

    let i = signed1();
    v.push(
        Decl::new("success-certificate-wrong-org", "success", "certificate_wrong_org", i.seal("success-certificate-wrong-org"))
            .org(other_org().public())
            .success(i.success(Some("wrong_org")))
            .comment("checked against another organisation's key: opens with certificate wrong_org; the store refuses it"),
    );

    let i = signed1();
    v.push(
        Decl::new(
            "success-clock-skew-limit",
            "success",
            "success",
            i.seal("success-clock-skew-limit"),
        )
        .verify_at(CREATED_AT - 300)
        .success(i.success(Some("verified")))
        .comment("created_at exactly 300 s after the store's clock: still accepted"),
    );

    let i = signed1();
    v.push(
        Decl::new(
            "success-from-the-future",
            "success",
            "from_the_future",
            i.seal("success-from-the-future"),
        )
        .verify_at(CREATED_AT - 301)
        .success(i.success(Some("verified")))
        .comment("created_at 301 s after the store's clock: opens, but the store refuses it"),
    );

    // --- recipient and key failures -----------------------------------------
    let i = signed1();
    v.push(
        Decl::new(
            "not-a-recipient",
            "not_a_recipient",
            "success",
            i.seal("not-a-recipient"),
        )
        .identity(4)
        .comment("sealed to recipient 1, opened with recipient 4: no stanza names the key"),
    );

    let i = signed1();
    let mut b = i.seal("decrypt-error-zero-enc");
    b[FIXED + 16..FIXED + 48].fill(0);
    v.push(
        Decl::new("decrypt-error-zero-enc", "decrypt_error", "bad_signature", b)
            .comment("stanza enc replaced by the all-zero X25519 point: all-zero shared secret, HPKE must refuse"),
    );

    let i = Input::new(tiny_jpeg(), &[1, 2], Some(valid_certificate()));
    let b = without_stanza(&i.seal("decrypt-error-removed-recipient"), 1);
    v.push(
        Decl::new("decrypt-error-removed-recipient", "decrypt_error", "bad_signature", b)
            .comment("recipient 2's stanza removed and the count fixed: recipient 1 unwraps K but the header MAC fails"),
    );

    // --- header tampering ---------------------------------------------------
    let i = signed1();
    let mut b = i.seal("decrypt-error-modified-created-at");
    b[33] ^= 1;
    v.push(
        Decl::new("decrypt-error-modified-created-at", "decrypt_error", "bad_signature", b)
            .comment("created_at changed by one second: the header MAC fails before the signature is checked"),
    );

    let i = signed1();
    let mut b = i.seal("decrypt-error-modified-created-at-resigned");
    b[33] ^= 1;
    resign(&mut b);
    v.push(
        Decl::new("decrypt-error-modified-created-at-resigned", "decrypt_error", "success", b)
            .comment("created_at changed and the envelope re-signed by the device: the signature holds, the header MAC does not"),
    );

    // --- payload tampering --------------------------------------------------
    let i = unsigned1();
    let mut b = i.seal("decrypt-error-bad-tag");
    let l = layout(&b);
    b[l.payload_at] ^= 0x01;
    v.push(
        Decl::new("decrypt-error-bad-tag", "decrypt_error", "unsigned", b)
            .comment("unsigned; first ciphertext byte flipped: the chunk's GCM tag fails"),
    );

    let i = signed1();
    let mut b = i.seal("decrypt-error-bad-tag-resigned");
    let l = layout(&b);
    b[l.payload_end - 1] ^= 0x80;
    resign(&mut b);
    v.push(
        Decl::new("decrypt-error-bad-tag-resigned", "decrypt_error", "success", b)
            .comment("last tag byte flipped and the envelope re-signed: the store accepts it, the recipient's GCM check fails"),
    );

    let i = Input::new(jpeg_of_len(MULTI_CHUNK_IMAGE_LEN), &[1], None);
    let mut b = i.seal("decrypt-error-reordered-chunks");
    let l = layout(&b);
    let c = CHUNK + TAG;
    let (first, second) = (
        b[l.payload_at..l.payload_at + c].to_vec(),
        b[l.payload_at + c..l.payload_at + 2 * c].to_vec(),
    );
    b[l.payload_at..l.payload_at + c].copy_from_slice(&second);
    b[l.payload_at + c..l.payload_at + 2 * c].copy_from_slice(&first);
    v.push(
        Decl::new(
            "decrypt-error-reordered-chunks",
            "decrypt_error",
            "unsigned",
            b,
        )
        .comment("unsigned, three chunks; chunks 0 and 1 swapped: the STREAM counter fails"),
    );

    let i = Input::new(jpeg_of_len(MULTI_CHUNK_IMAGE_LEN), &[1], None);
    let b = i.seal("decrypt-error-truncated-length-fixed");
    let l = layout(&b);
    let mut b = b[..l.payload_at + 2 * (CHUNK + TAG)].to_vec();
    b[34..42].copy_from_slice(&(2 * CHUNK as u64).to_be_bytes());
    v.push(
        Decl::new("decrypt-error-truncated-length-fixed", "decrypt_error", "unsigned", b)
            .comment("unsigned; last chunk cut off and plaintext_len set to match: well-formed, but the header MAC fails"),
    );

    // --- signature ----------------------------------------------------------
    let i = signed1();
    let mut b = i.seal("bad-signature");
    let at = b.len() - SIG;
    b[at] ^= 0x01;
    v.push(
        Decl::new("bad-signature", "bad_signature", "bad_signature", b)
            .comment("first byte of the Ed25519 signature (R) flipped"),
    );

    // --- record -------------------------------------------------------------
    let mut i = signed1();
    i.record_json = b"{}".to_vec();
    v.push(
        Decl::new(
            "invalid-record",
            "invalid_record",
            "success",
            i.seal("invalid-record"),
        )
        .comment(
            "signed and intact, but the record block is {}: decrypts, then the record is refused",
        ),
    );

    // --- structure ----------------------------------------------------------
    let i = Input::new(jpeg_of_len(MULTI_CHUNK_IMAGE_LEN), &[1], None);
    let b = i.seal("truncated-at-chunk-boundary");
    let l = layout(&b);
    let b = b[..l.payload_at + 2 * (CHUNK + TAG)].to_vec();
    v.push(
        Decl::new("truncated-at-chunk-boundary", "truncated", "truncated", b)
            .comment("unsigned, three chunks; cut after chunk 1 (a chunk boundary): shorter than the header says"),
    );

    let i = unsigned1();
    let b = i.seal("truncated-last-tag");
    let b = b[..b.len() - TAG].to_vec();
    v.push(
        Decl::new("truncated-last-tag", "truncated", "truncated", b)
            .comment("unsigned; the last chunk's 16-byte tag removed"),
    );

    let i = signed1();
    let mut b = i.seal("trailing-bytes");
    b.push(0);
    v.push(
        Decl::new("trailing-bytes", "trailing_bytes", "trailing_bytes", b)
            .comment("signed; one zero byte appended after the signature"),
    );

    let i = signed1();
    let mut b = i.seal("unsupported-version");
    b[8] = 2;
    v.push(
        Decl::new(
            "unsupported-version",
            "unsupported_version",
            "unsupported_version",
            b,
        )
        .comment("version byte 2: refused as unsupported before anything else is read"),
    );

    let i = unsigned1();
    let mut b = i.seal("malformed-unknown-flag");
    b[9] |= 0x02;
    v.push(
        Decl::new("malformed-unknown-flag", "malformed", "malformed", b)
            .comment("unsigned; flags bit 1 set, which must be zero"),
    );

    let i = Input::new(tiny_jpeg(), &[1, 2], Some(valid_certificate()));
    let mut b = i.seal("malformed-duplicate-recipient");
    b.copy_within(FIXED..FIXED + STANZA, FIXED + STANZA);
    v.push(
        Decl::new("malformed-duplicate-recipient", "malformed", "malformed", b)
            .comment("two stanzas with the same recipient_id (stanza 0 copied over stanza 1)"),
    );

    v.push(
        Decl::new(
            "not-an-envelope",
            "not_an_envelope",
            "not_an_envelope",
            tiny_jpeg(),
        )
        .comment("a bare JPEG: wrong magic bytes"),
    );

    v.into_iter().map(Decl::into_vector).collect()
}

// ---------------------------------------------------------------------------
// Checking
// ---------------------------------------------------------------------------

fn format_class(e: &FormatError) -> &'static str {
    match e {
        FormatError::NotAnEnvelope => "not_an_envelope",
        FormatError::UnsupportedVersion(_) => "unsupported_version",
        FormatError::Truncated => "truncated",
        FormatError::TrailingBytes => "trailing_bytes",
        FormatError::Malformed(_) => "malformed",
    }
}

fn open_class(e: &OpenError) -> &'static str {
    match e {
        OpenError::Format(f) => format_class(f),
        OpenError::NotARecipient => "not_a_recipient",
        OpenError::Decrypt => "decrypt_error",
        OpenError::BadSignature => "bad_signature",
        OpenError::Record(_) => "invalid_record",
    }
}

fn certificate_error_class(e: &CertificateError) -> &'static str {
    match e {
        CertificateError::WrongOrganisation => "certificate_wrong_org",
        CertificateError::BadSignature => "certificate_bad_signature",
        CertificateError::NotYetValid => "certificate_not_yet_valid",
        CertificateError::Expired => "certificate_expired",
    }
}

fn verify_class(e: &VerifyError) -> &'static str {
    match e {
        VerifyError::Format(f) => format_class(f),
        VerifyError::Unsigned => "unsigned",
        VerifyError::Certificate(c) => certificate_error_class(c),
        VerifyError::CertificateAtReceipt(_) => "certificate_at_receipt",
        VerifyError::BadSignature => "bad_signature",
        VerifyError::FromTheFuture => "from_the_future",
    }
}

/// Header value of `certificate:` for a certificate status.
fn status_name(s: &CertificateStatus) -> &'static str {
    match s {
        CertificateStatus::Verified => "verified",
        CertificateStatus::NotChecked => "not_checked",
        CertificateStatus::Rejected(CertificateError::WrongOrganisation) => "wrong_org",
        CertificateStatus::Rejected(CertificateError::BadSignature) => "bad_org_signature",
        CertificateStatus::Rejected(CertificateError::NotYetValid) => "not_yet_valid",
        CertificateStatus::Rejected(CertificateError::Expired) => "expired",
    }
}

/// Splits a vector file into its header (strictly parsed) and envelope bytes.
fn parse_vector(name: &str, file: &[u8]) -> (BTreeMap<String, String>, Vec<u8>) {
    let split = file
        .windows(2)
        .position(|w| w == b"\n\n")
        .unwrap_or_else(|| panic!("{name}: no blank line after the header"));
    let text = std::str::from_utf8(&file[..split])
        .unwrap_or_else(|_| panic!("{name}: header is not UTF-8"));
    let mut header = BTreeMap::new();
    for line in text.lines() {
        let (k, v) = line
            .split_once(": ")
            .unwrap_or_else(|| panic!("{name}: header line {line:?} is not `key: value`"));
        assert!(KEYS.contains(&k), "{name}: unknown header key {k:?}");
        assert!(
            header.insert(k.to_string(), v.to_string()).is_none(),
            "{name}: header key {k:?} given twice"
        );
    }
    (header, file[split + 2..].to_vec())
}

/// Runs one vector; returns a description of every mismatch.
fn check_vector(name: &str, file: &[u8]) -> Vec<String> {
    let (h, bytes) = parse_vector(name, file);
    let mut errors = Vec::new();
    let get = |k: &str| -> &str {
        h.get(k)
            .map(String::as_str)
            .unwrap_or_else(|| panic!("{name}: missing header {k:?}"))
    };
    let expect = get("expect");
    let expect_verify = get("verify");
    assert!(CLASSES.contains(&expect), "{name}: unknown class {expect}");
    assert!(
        CLASSES.contains(&expect_verify),
        "{name}: unknown class {expect_verify}"
    );
    get("comment");
    let identity = RecipientIdentity::from_secret_string(get("identity"))
        .unwrap_or_else(|e| panic!("{name}: identity: {e}"));
    let org: OrgPublicKey = get("org")
        .parse()
        .unwrap_or_else(|e| panic!("{name}: org: {e}"));
    let verify_at: u64 = get("verify_at")
        .parse()
        .unwrap_or_else(|e| panic!("{name}: verify_at: {e}"));
    let success_keys = ["image_sha256", "record_sha256", "sender"];
    if expect != "success" {
        for k in success_keys.iter().chain(&["certificate"]) {
            assert!(!h.contains_key(*k), "{name}: {k} given for a failure");
        }
    }

    // inspect: structure only.
    let inspected = envelope::inspect(&bytes);
    let inspect_class = match &inspected {
        Ok(_) => "success",
        Err(e) => format_class(e),
    };
    let want_inspect = if FORMAT_CLASSES.contains(&expect) {
        expect
    } else {
        "success"
    };
    if inspect_class != want_inspect {
        errors.push(format!("inspect: got {inspect_class}, want {want_inspect}"));
    }

    // verify: the store's check.
    let got = match envelope::verify(&bytes, &org, verify_at) {
        Ok(_) => "success",
        Err(e) => verify_class(&e),
    };
    if got != expect_verify {
        errors.push(format!("verify: got {got}, want {expect_verify}"));
    }

    // open, with and without the organisation key.
    match envelope::open(&bytes, &identity, Some(&org)) {
        Err(e) => {
            let got = open_class(&e);
            if got != expect {
                errors.push(format!("open: got {got} ({e}), want {expect}"));
            }
        }
        Ok(_) if expect != "success" => errors.push(format!("open: succeeded, want {expect}")),
        Ok(opened) => {
            for k in success_keys {
                get(k);
            }
            let image = sha256_hex(&opened.image);
            if image != get("image_sha256") {
                errors.push(format!("image_sha256: got {image}"));
            }
            let record = sha256_hex(&opened.record.to_json());
            if record != get("record_sha256") {
                errors.push(format!("record_sha256: got {record}"));
            }
            let inspected_sender = inspected.as_ref().ok().and_then(|r| r.sender);
            match (&opened.sender, get("sender")) {
                (Sender::Unsigned, "unsigned") => {
                    if h.contains_key("certificate") {
                        errors.push("certificate: given for an unsigned envelope".into());
                    }
                    if inspected_sender.is_some() {
                        errors.push("inspect: names a sender of an unsigned envelope".into());
                    }
                }
                (
                    Sender::Device {
                        certificate,
                        status,
                    },
                    want,
                ) => {
                    let id = certificate.device_key().id();
                    if want != format!("device {id}") {
                        errors.push(format!("sender: got device {id}, want {want}"));
                    }
                    if inspected_sender != Some(id) {
                        errors.push(format!("inspect: sender {inspected_sender:?}"));
                    }
                    let got = status_name(status);
                    if got != get("certificate") {
                        errors.push(format!("certificate: got {got}"));
                    }
                }
                (got, want) => errors.push(format!("sender: got {got:?}, want {want}")),
            }
        }
    }
    match envelope::open(&bytes, &identity, None) {
        Err(e) if open_class(&e) != expect => {
            errors.push(format!("open without org: got {}", open_class(&e)));
        }
        Err(_) => {}
        Ok(_) if expect != "success" => {
            errors.push(format!("open without org: succeeded, want {expect}"));
        }
        Ok(opened) => {
            if let Sender::Device { status, .. } = &opened.sender {
                if status != &CertificateStatus::NotChecked {
                    errors.push(format!("open without org: certificate {status:?}"));
                }
            }
        }
    }
    errors
}

/// The vector files on disk, by name (README.md excluded).
fn read_vectors() -> BTreeMap<String, Vec<u8>> {
    let dir = vectors_dir();
    let entries = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}; run `{REGENERATE}`", dir.display()));
    let mut files = BTreeMap::new();
    for entry in entries {
        let path = entry.expect("dir entry").path();
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .expect("UTF-8 file name")
            .to_string();
        if name == "README.md" || name.starts_with('.') {
            continue;
        }
        files.insert(name, std::fs::read(&path).expect("read vector"));
    }
    files
}

#[test]
fn vectors_behave_as_declared() {
    let files = read_vectors();
    assert_eq!(
        files.len(),
        EXPECTED_VECTORS,
        "expected {EXPECTED_VECTORS} vectors in core/tests/vectors, found {}: {:?}",
        files.len(),
        files.keys().collect::<Vec<_>>()
    );
    let mut failures = Vec::new();
    let mut classes = BTreeMap::<String, usize>::new();
    for (name, file) in &files {
        let (h, _) = parse_vector(name, file);
        *classes.entry(h["expect"].clone()).or_default() += 1;
        for e in check_vector(name, file) {
            failures.push(format!("{name}: {e}"));
        }
    }
    eprintln!("vector classes (expect): {classes:?}");
    assert!(
        failures.is_empty(),
        "vectors do not behave as declared:\n{}",
        failures.join("\n")
    );
}

#[test]
fn vectors_are_up_to_date() {
    let generated = generate();
    assert_eq!(generated.len(), EXPECTED_VECTORS, "update EXPECTED_VECTORS");
    let files = read_vectors();
    let mut problems = Vec::new();
    for v in &generated {
        match files.get(v.name) {
            None => problems.push(format!("{}: missing", v.name)),
            Some(f) if f != &v.file() => problems.push(format!("{}: differs", v.name)),
            Some(_) => {}
        }
    }
    for name in files.keys() {
        if !generated.iter().any(|v| v.name == name) {
            problems.push(format!("{name}: not produced by the generator"));
        }
    }
    assert!(
        problems.is_empty(),
        "core/tests/vectors is out of date with the code; run `{REGENERATE}` \
         (and review the diff):\n{}",
        problems.join("\n")
    );
}

/// The generator's own vectors must also pass the checker (so a change to
/// the code under test shows up as a behaviour failure, not only a diff).
#[test]
fn generated_vectors_behave_as_declared() {
    let mut failures = Vec::new();
    for v in generate() {
        for e in check_vector(v.name, &v.file()) {
            failures.push(format!("{}: {e}", v.name));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
#[ignore = "writes core/tests/vectors; run explicitly to regenerate"]
fn regenerate_vectors() {
    let dir = vectors_dir();
    std::fs::create_dir_all(&dir).expect("create vectors dir");
    let generated = generate();
    let names: Vec<&str> = generated.iter().map(|v| v.name).collect();
    for stale in read_vectors().keys() {
        if !names.contains(&stale.as_str()) {
            std::fs::remove_file(dir.join(stale)).expect("remove stale vector");
        }
    }
    for v in &generated {
        std::fs::write(dir.join(v.name), v.file()).expect("write vector");
    }
    eprintln!("wrote {} vectors to {}", generated.len(), dir.display());
}
