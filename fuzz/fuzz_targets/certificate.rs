//! Fuzz target: `DeviceCertificate::from_bytes` (read from every signed
//! envelope's header, link capabilities and the device home) and
//! `verify` against the fixture organisation key.
//!
//! Properties: the encoding is canonical (`to_bytes` gives the input
//! back); issuing a certificate with the parsed fields gives the same
//! encoded body (every byte but the issuer id and the signature), so the
//! parser and the writer agree; a certificate that verifies is exactly the
//! one the fixture organisation issues for those fields (Ed25519 is
//! deterministic).
#![no_main]

#[path = "../fixtures/mod.rs"]
mod fixtures;

use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use sealcam_core::keys::{DeviceCertificate, OrgSigningKey};

static ORG: LazyLock<OrgSigningKey> = LazyLock::new(fixtures::org);

fuzz_target!(|data: &[u8]| {
    let Ok(cert) = DeviceCertificate::from_bytes(data) else {
        return;
    };
    assert!(
        cert.to_bytes() == data,
        "to_bytes does not give the input back"
    );
    assert!(cert.not_before() <= cert.not_after());
    let reissued = match DeviceCertificate::issue(
        &ORG,
        cert.device_key(),
        cert.clinician(),
        cert.not_before(),
        cert.not_after(),
    ) {
        Ok(c) => c,
        Err(e) => panic!("a parsed certificate's fields cannot be issued: {e}"),
    };
    let again = reissued.to_bytes();
    assert_eq!(
        again.len(),
        data.len(),
        "reissued certificate has another length"
    );
    assert!(
        again[0] == data[0] && again[17..again.len() - 64] == data[17..data.len() - 64],
        "reissued certificate has another body"
    );
    if cert.verify(&ORG.public(), fixtures::NOW).is_ok() {
        assert!(
            again == data,
            "a verified certificate is not the one the key issues"
        );
    }
});
