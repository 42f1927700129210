//! Device certificates: the organisation's signed statement "this device
//! key belongs to this clinician, from `not_before` to `not_after`".
//!
//! Carried in every signed envelope, so a records workstation can check
//! who took an image with nothing but the pinned organisation public key.
//! Layout and signature input: `docs/FORMAT.md` §8.5.

use crate::record::{Clinician, RegistrationBody};

use super::encoding::{check_text, Reader, Writer};
use super::id::OrgId;
use super::signing::{DevicePublicKey, OrgPublicKey, OrgSigningKey};
use super::{CertificateError, KeyError};

/// Domain separation prefix of the signed message.
const SIGNATURE_CONTEXT: &[u8] = b"sealcam/v1/device-certificate\0";
/// Encoding version.
const VERSION: u8 = 1;
/// Largest encoding: 1 + 16 + 32 + 8 + 8 + (2 + 800) + (1 + 1 + 128) + (1 + 32) + 64.
const MAX_LEN: usize = 1094;
const WHAT: &str = "the device certificate";

/// A device certificate, signed by the organisation key.
///
/// Build with [`DeviceCertificate::issue`]; read with
/// [`DeviceCertificate::from_bytes`], which checks the encoding strictly,
/// then check with [`DeviceCertificate::verify`] before trusting anything
/// in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceCertificate {
    org_id: OrgId,
    device: DevicePublicKey,
    clinician: Clinician,
    not_before: u64,
    not_after: u64,
    /// The encoding without the signature: exactly what was signed.
    body: Vec<u8>,
    signature: [u8; 64],
}

fn body_code(body: &RegistrationBody) -> u8 {
    match body {
        RegistrationBody::Gmc => 1,
        RegistrationBody::Nmc => 2,
        RegistrationBody::Hcpc => 3,
        RegistrationBody::Gdc => 4,
        RegistrationBody::Gphc => 5,
        RegistrationBody::Other(_) => 0xff,
    }
}

/// The checks a clinician must pass to be certified: `Clinician::new`'s
/// rules, already trimmed, and an "other" body that is not a known one.
fn check_clinician(c: &Clinician) -> Result<(), &'static str> {
    let rebuilt = Clinician::new(&c.name, c.registration_body.clone(), &c.registration_number)
        .map_err(|_| "the clinician's name or registration number is invalid")?;
    if rebuilt != *c {
        return Err("the clinician's name or registration number has surrounding white space");
    }
    check_text(&c.name, 1, 200)?;
    if let RegistrationBody::Other(s) = &c.registration_body {
        if RegistrationBody::parse(s) != Ok(RegistrationBody::Other(s.clone())) {
            return Err("an 'other' registration body must be 1 to 32 characters and not a known body's abbreviation");
        }
    }
    Ok(())
}

fn signed_message(body: &[u8]) -> Vec<u8> {
    let mut m = Vec::with_capacity(SIGNATURE_CONTEXT.len() + body.len());
    m.extend_from_slice(SIGNATURE_CONTEXT);
    m.extend_from_slice(body);
    m
}

impl DeviceCertificate {
    /// Issues a certificate binding `device` to `clinician`, valid from
    /// `not_before` to `not_after` inclusive (Unix seconds).
    ///
    /// Fails with [`KeyError::Invalid`] if the clinician's details break
    /// the certificate's rules (those of [`Clinician::new`], without
    /// surrounding white space; an "other" registration body that is not a
    /// known body's abbreviation) or `not_before > not_after`.
    pub fn issue(
        org: &OrgSigningKey,
        device: &DevicePublicKey,
        clinician: &Clinician,
        not_before: u64,
        not_after: u64,
    ) -> Result<Self, KeyError> {
        let invalid = |reason| KeyError::Invalid { what: WHAT, reason };
        check_clinician(clinician).map_err(invalid)?;
        if not_before > not_after {
            return Err(invalid("not_before is after not_after"));
        }
        let org_id = org.public().id();
        let mut w = Writer::new();
        w.u8(VERSION);
        w.bytes(&org_id.0);
        w.bytes(device.as_bytes());
        w.u64(not_before);
        w.u64(not_after);
        w.text_u16(&clinician.name).map_err(invalid)?;
        w.u8(body_code(&clinician.registration_body));
        if let RegistrationBody::Other(s) = &clinician.registration_body {
            w.text_u8(s).map_err(invalid)?;
        }
        w.text_u8(&clinician.registration_number).map_err(invalid)?;
        let body = w.into_vec();
        let signature = org.sign(&signed_message(&body));
        Ok(DeviceCertificate {
            org_id,
            device: *device,
            clinician: clinician.clone(),
            not_before,
            not_after,
            body,
            signature,
        })
    }

    /// The canonical binary encoding (`docs/FORMAT.md` §8.5).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.body.len() + 64);
        out.extend_from_slice(&self.body);
        out.extend_from_slice(&self.signature);
        out
    }

    /// Parses an encoding strictly: version 1, exact lengths, no trailing
    /// bytes, UTF-8 and field limits, a valid device key, `not_before ≤
    /// not_after`. Does not check the signature: call
    /// [`DeviceCertificate::verify`].
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, KeyError> {
        let mut r = Reader::new(bytes, WHAT);
        if bytes.len() > MAX_LEN {
            return Err(r.error_at(MAX_LEN, "longer than any certificate"));
        }
        if r.u8()? != VERSION {
            return Err(r.error_at(0, "unknown version (this program reads version 1)"));
        }
        let org_id = OrgId(r.array()?);
        let key_at = r.position();
        let device = DevicePublicKey::from_bytes(r.array()?)
            .map_err(|_| r.error_at(key_at, "the device key is not a usable Ed25519 key"))?;
        let not_before = r.u64()?;
        let not_after = r.u64()?;
        if not_before > not_after {
            return Err(r.error_at(key_at + 32, "not_before is after not_after"));
        }
        let name_at = r.position();
        let name = r.text_u16(1, 200)?;
        let code_at = r.position();
        let registration_body = match r.u8()? {
            1 => RegistrationBody::Gmc,
            2 => RegistrationBody::Nmc,
            3 => RegistrationBody::Hcpc,
            4 => RegistrationBody::Gdc,
            5 => RegistrationBody::Gphc,
            0xff => RegistrationBody::Other(r.text_u8(1, 32)?.to_string()),
            _ => return Err(r.error_at(code_at, "unknown registration body code")),
        };
        let number = r.text_u8(1, 32)?;
        let clinician = Clinician {
            name: name.to_string(),
            registration_body,
            registration_number: number.to_string(),
        };
        check_clinician(&clinician).map_err(|reason| r.error_at(name_at, reason))?;
        let body = r.consumed().to_vec();
        let signature = r.array::<64>()?;
        r.finish()?;
        Ok(DeviceCertificate {
            org_id,
            device,
            clinician,
            not_before,
            not_after,
            body,
            signature,
        })
    }

    /// Checks the certificate against the pinned organisation key at time
    /// `now` (Unix seconds): issuer id, signature (strict Ed25519), then
    /// `not_before ≤ now ≤ not_after`.
    pub fn verify(&self, org: &OrgPublicKey, now: u64) -> Result<(), CertificateError> {
        if org.id() != self.org_id {
            return Err(CertificateError::WrongOrganisation);
        }
        org.verify(&signed_message(&self.body), &self.signature)
            .map_err(|_| CertificateError::BadSignature)?;
        if now < self.not_before {
            return Err(CertificateError::NotYetValid);
        }
        if now > self.not_after {
            return Err(CertificateError::Expired);
        }
        Ok(())
    }

    /// The certified device key.
    pub fn device_key(&self) -> &DevicePublicKey {
        &self.device
    }

    /// The clinician the device is bound to.
    pub fn clinician(&self) -> &Clinician {
        &self.clinician
    }

    /// Start of validity, Unix seconds (inclusive).
    pub fn not_before(&self) -> u64 {
        self.not_before
    }

    /// End of validity, Unix seconds (inclusive).
    pub fn not_after(&self) -> u64 {
        self.not_after
    }

    /// The id of the organisation key that signed it (as claimed: trust it
    /// only after [`DeviceCertificate::verify`]).
    pub fn org_id(&self) -> OrgId {
        self.org_id
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::DeviceSigningKey;

    const NB: u64 = 1_700_000_000;
    const NA: u64 = 1_800_000_000;

    fn clinician() -> Clinician {
        Clinician::new("Dr Ada Lovelace-Ñúñez", RegistrationBody::Gmc, "7654321").expect("valid")
    }

    fn issue() -> (OrgSigningKey, DeviceSigningKey, DeviceCertificate) {
        let org = OrgSigningKey::generate();
        let dev = DeviceSigningKey::generate();
        let cert =
            DeviceCertificate::issue(&org, &dev.public(), &clinician(), NB, NA).expect("issue");
        (org, dev, cert)
    }

    #[test]
    fn issue_encode_parse_verify() {
        let (org, dev, cert) = issue();
        cert.verify(&org.public(), NB).expect("valid at start");
        cert.verify(&org.public(), NA).expect("valid at end");
        let bytes = cert.to_bytes();
        let back = DeviceCertificate::from_bytes(&bytes).expect("parse");
        assert_eq!(back, cert);
        assert_eq!(back.to_bytes(), bytes);
        back.verify(&org.public(), NB + 1).expect("valid");
        assert_eq!(back.device_key(), &dev.public());
        assert_eq!(back.clinician(), &clinician());
        assert_eq!((back.not_before(), back.not_after()), (NB, NA));
        assert_eq!(back.org_id(), org.public().id());
        // The signature covers the context prefix and the body.
        let mut msg = b"sealcam/v1/device-certificate\0".to_vec();
        msg.extend_from_slice(&bytes[..bytes.len() - 64]);
        let mut sig = [0u8; 64];
        sig.copy_from_slice(&bytes[bytes.len() - 64..]);
        org.public()
            .verify(&msg, &sig)
            .expect("signature input as specified");
    }

    #[test]
    fn other_body_round_trips() {
        let org = OrgSigningKey::generate();
        let dev = DeviceSigningKey::generate();
        let c = Clinician::new(
            "A Photographer",
            RegistrationBody::Other("IMI".into()),
            "AB-12",
        )
        .expect("valid");
        let cert = DeviceCertificate::issue(&org, &dev.public(), &c, NB, NB).expect("issue");
        let back = DeviceCertificate::from_bytes(&cert.to_bytes()).expect("parse");
        assert_eq!(back.clinician(), &c);
        back.verify(&org.public(), NB)
            .expect("valid for one second");
    }

    #[test]
    fn failure_variants() {
        let (org, _dev, cert) = issue();
        let other = OrgSigningKey::generate();
        assert_eq!(
            cert.verify(&other.public(), NB),
            Err(CertificateError::WrongOrganisation)
        );
        assert_eq!(
            cert.verify(&org.public(), NB - 1),
            Err(CertificateError::NotYetValid)
        );
        assert_eq!(
            cert.verify(&org.public(), NA + 1),
            Err(CertificateError::Expired)
        );
        // A byte of the name changed (still valid text): bad signature.
        let mut bytes = cert.to_bytes();
        bytes[67] = b'X';
        let forged = DeviceCertificate::from_bytes(&bytes).expect("still parses");
        assert_eq!(
            forged.verify(&org.public(), NB),
            Err(CertificateError::BadSignature)
        );
    }

    #[test]
    fn truncation_and_trailing_bytes_refused() {
        let (_org, _dev, cert) = issue();
        let bytes = cert.to_bytes();
        for n in 0..bytes.len() {
            assert!(
                DeviceCertificate::from_bytes(&bytes[..n]).is_err(),
                "prefix {n}"
            );
        }
        let mut long = bytes.clone();
        long.push(0);
        assert!(matches!(
            DeviceCertificate::from_bytes(&long),
            Err(KeyError::Format { .. })
        ));
        let mut v2 = bytes;
        v2[0] = 2;
        assert!(DeviceCertificate::from_bytes(&v2).is_err());
    }

    #[test]
    fn every_single_byte_flip_is_rejected() {
        let (org, _dev, cert) = issue();
        let bytes = cert.to_bytes();
        let mut checked = 0;
        for i in 0..bytes.len() {
            for mask in [0x01u8, 0x80, 0xff] {
                let mut b = bytes.clone();
                b[i] ^= mask;
                if let Ok(c) = DeviceCertificate::from_bytes(&b) {
                    assert!(
                        c.verify(&org.public(), NB + 10).is_err(),
                        "byte {i} ^ {mask:#x}"
                    );
                }
                checked += 1;
            }
        }
        assert_eq!(checked, bytes.len() * 3);
    }

    #[test]
    fn invalid_values_refused_when_issuing() {
        let org = OrgSigningKey::generate();
        let dev = DeviceSigningKey::generate().public();
        let good = clinician();
        assert!(DeviceCertificate::issue(&org, &dev, &good, NA, NB).is_err());
        let mut padded = good.clone();
        padded.name = " Dr A".into();
        assert!(DeviceCertificate::issue(&org, &dev, &padded, NB, NA).is_err());
        let mut fake_other = good.clone();
        fake_other.registration_body = RegistrationBody::Other("GMC".into());
        assert!(DeviceCertificate::issue(&org, &dev, &fake_other, NB, NA).is_err());
        let mut long = good;
        long.name = "é".repeat(201);
        assert!(DeviceCertificate::issue(&org, &dev, &long, NB, NA).is_err());
        long.name = "\u{1F600}".repeat(200); // 4 bytes each: the longest name
        let cert = DeviceCertificate::issue(&org, &dev, &long, NB, NA).expect("200 chars");
        // 1 + 16 + 32 + 8 + 8 + 2 + 800 + 1 + (1 + 7) + 64
        assert_eq!(cert.to_bytes().len(), 940);
        DeviceCertificate::from_bytes(&cert.to_bytes()).expect("parse");
    }

    #[test]
    fn issue_refuses_what_used_to_panic() {
        // `issue` used to panic on these; it now says which rule is broken.
        let org = OrgSigningKey::generate();
        let dev = DeviceSigningKey::generate().public();
        let reversed = DeviceCertificate::issue(&org, &dev, &clinician(), NA, NB);
        assert!(
            matches!(reversed, Err(KeyError::Invalid { reason, .. }) if reason.contains("not_before"))
        );
        let mut empty = clinician();
        empty.name = String::new();
        assert!(matches!(
            DeviceCertificate::issue(&org, &dev, &empty, NB, NA),
            Err(KeyError::Invalid { .. })
        ));
        let mut long_number = clinician();
        long_number.registration_number = "1".repeat(300);
        assert!(DeviceCertificate::issue(&org, &dev, &long_number, NB, NA).is_err());
        let mut long_other = clinician();
        long_other.registration_body = RegistrationBody::Other("x".repeat(300));
        assert!(DeviceCertificate::issue(&org, &dev, &long_other, NB, NA).is_err());
    }
}
