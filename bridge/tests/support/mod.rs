//! Shared by the bridge tests: drafts with recognisable patient data, the
//! corpus photo, keys and a signed directory.
#![allow(dead_code)]

use sealcam_core::keys::{
    DirectoryEntry, OrgSigningKey, RecipientDirectory, RecipientIdentity, SignedDirectory,
};

/// 2026-11-21T10:15:30Z.
pub const NOW: u64 = 1_795_256_130;

/// Values that must never appear in an error message.
pub const PATIENT_NAME: &str = "Zebedee Quixotic-Marmalade";
/// A valid test NHS number.
pub const NHS: &str = "9434765919";
/// The same with a wrong check digit.
pub const BAD_NHS: &str = "9434765918";
pub const LOCAL_ID: &str = "RX1-777999";
pub const SITE: &str = "Left earlobe, posterior";
pub const NOTES: &str = "Agreed for teaching only, in clinic 7";

/// A complete draft (docs/BRIDGE.md), clinician and times left out.
pub fn draft() -> serde_json::Value {
    serde_json::json!({
        "patient": {
            "nhs_number": NHS,
            "local_id": LOCAL_ID,
            "name": PATIENT_NAME,
            "date_of_birth": "1970-01-31"
        },
        "body_site": {"text": SITE, "laterality": "left"},
        "consent": {
            "scopes": ["care", "teaching"],
            "method": "verbal",
            "given_by": "patient",
            "notes": NOTES
        },
        "source": "patient_link"
    })
}

/// [`draft`] with a clinician.
pub fn draft_with_clinician() -> serde_json::Value {
    let mut d = draft();
    d["clinician"] = serde_json::json!({
        "name": "Dr Sam Fictional",
        "registration_body": "GMC",
        "registration_number": "9999999"
    });
    d
}

/// The corpus photo (a JPEG with GPS metadata), or `None` with a loud
/// message when the corpus is not on this machine.
pub fn photo() -> Option<Vec<u8>> {
    let path = std::path::Path::new("/work/shared/corpus/images/et_GPS.jpg");
    match std::fs::read(path) {
        Ok(b) => Some(b),
        Err(e) => {
            eprintln!(
                "\n*** SKIPPED: the corpus photo {} cannot be read ({e}); \
                 this test checks nothing without it ***\n",
                path.display()
            );
            None
        }
    }
}

/// A signed directory of `recipients`, valid around [`NOW`].
pub fn directory(org: &OrgSigningKey, recipients: &[RecipientIdentity]) -> SignedDirectory {
    directory_until(org, recipients, NOW + 86_400)
}

/// A signed directory of `recipients`, valid until `expires_at`.
pub fn directory_until(
    org: &OrgSigningKey,
    recipients: &[RecipientIdentity],
    expires_at: u64,
) -> SignedDirectory {
    RecipientDirectory {
        version: 3,
        issued_at: NOW - 86_400,
        expires_at,
        entries: recipients
            .iter()
            .enumerate()
            .map(|(i, r)| DirectoryEntry {
                recipient: r.recipient(),
                name: format!("Records team {i}"),
                role: "records".into(),
            })
            .collect(),
    }
    .sign(org)
    .expect("a valid directory")
}

/// Asserts a message (and the error's JSON) says nothing of the patient.
pub fn assert_value_free(text: &str) {
    for secret in [
        PATIENT_NAME,
        "Zebedee",
        NHS,
        BAD_NHS,
        "943 476",
        LOCAL_ID,
        SITE,
        NOTES,
        "1970-01-31",
    ] {
        assert!(!text.contains(secret), "{secret:?} appears in {text:?}");
    }
}
