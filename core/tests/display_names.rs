//! Names people read (clinicians in records and certificates, teams in the
//! recipient directory, staff on the store) refuse control characters and
//! the characters that reorder text (issue: a device could make one
//! clinician's name display as another's).

use sealcam_core::keys::{
    DeviceCertificate, DeviceSigningKey, DirectoryEntry, OrgSigningKey, RecipientDirectory,
    RecipientIdentity,
};
use sealcam_core::protocol::api::StaffName;
use sealcam_core::record::{Clinician, RegistrationBody};

const TRICKS: [&str; 5] = [
    "Dr Eve \u{202E}nosirraH",
    "Dr \u{2067}Eve\u{2069}",
    "Dr Eve\u{200F}",
    "Dr Eve\u{061C}",
    "Dr\tEve",
];

#[test]
fn clinician_names_with_reordering_characters_are_refused() {
    for name in TRICKS {
        assert!(
            Clinician::new(name, RegistrationBody::Gmc, "1234567").is_err(),
            "{name:?}"
        );
    }
    // And so a certificate cannot carry one (built around the check).
    let forged = Clinician {
        name: TRICKS[0].to_owned(),
        registration_body: RegistrationBody::Gmc,
        registration_number: "1234567".to_owned(),
    };
    let org = OrgSigningKey::generate();
    let device = DeviceSigningKey::generate().public();
    assert!(DeviceCertificate::issue(&org, &device, &forged, 0, 10).is_err());
}

#[test]
fn directory_and_staff_names_with_reordering_characters_are_refused() {
    let org = OrgSigningKey::generate();
    for name in TRICKS {
        let dir = RecipientDirectory {
            version: 1,
            issued_at: 0,
            expires_at: 10,
            entries: vec![DirectoryEntry {
                recipient: RecipientIdentity::generate().recipient(),
                name: name.to_owned(),
                role: "records".to_owned(),
            }],
        };
        assert!(dir.sign(&org).is_err(), "{name:?}");
        assert!(StaffName::new(name).is_none(), "{name:?}");
    }
    assert!(StaffName::new("A. Clerk").is_some());
}
