//! Link capabilities: the signed statement with which the device or staff
//! member who creates a patient upload link vouches for it: "uploads
//! through link L, to these recipients, from `created_at` to `expires_at`,
//! with this context, are asked for by me".
//!
//! The patient's page seals the capability inside the envelope (the
//! record's `link_capability`, docs/RECORD.md), so a records workstation
//! can check, with nothing but the organisation key (and the staff keys it
//! trusts), that a patient upload came through a link an enrolled key
//! created — which a store cannot mint. Layout and signature input:
//! `docs/FORMAT.md` §8.6a.

use super::certificate::DeviceCertificate;
use super::encoding::{Reader, Writer};
use super::id::{OrgId, RecipientId};
use super::signing::{
    DevicePublicKey, DeviceSigningKey, OrgPublicKey, StaffPublicKey, StaffSigningKey,
};
use super::{CertificateError, KeyError};

/// Domain separation prefix of the signed message.
const SIGNATURE_CONTEXT: &[u8] = b"sealcam/v1/link-capability\0";
/// Encoding version.
const VERSION: u8 = 1;
/// At most as many recipients as an envelope has stanzas.
pub const MAX_LINK_RECIPIENTS: usize = 64;
/// Largest encoding: fixed part, 64 recipients, a certificate.
const MAX_LEN: usize = 1 + 16 + 16 + 8 + 8 + 4 + 8 + 32 + 1 + 64 * 16 + 1 + 2 + 1094 + 64;
const WHAT: &str = "the link capability";

/// What a capability commits to for a link's context blob: its BLAKE3, or
/// all zeros for a link without one.
pub fn context_commitment(context: Option<&[u8]>) -> [u8; 32] {
    context.map_or([0; 32], |c| *blake3::hash(c).as_bytes())
}

/// Who created the link and signs the capability.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LinkCreator {
    /// An enrolled device: its organisation-signed certificate, so the
    /// signature can be checked offline.
    Device(DeviceCertificate),
    /// A records staff member: their auth key (trusted only where the
    /// workstation knows it).
    Staff(StaffPublicKey),
}

/// What a link allows, as its creator states it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkTerms {
    /// The organisation (checked against the pinned key).
    pub org_id: OrgId,
    /// The link's id (chosen by the creator; the store uses it).
    pub link_id: [u8; 16],
    /// When it was made (Unix seconds).
    pub created_at: u64,
    /// Its last valid second.
    pub expires_at: u64,
    /// How many uploads it allows.
    pub max_uploads: u32,
    /// The largest upload, in bytes.
    pub max_bytes: u64,
    /// BLAKE3 of the link's sealed context blob (all zeros: none).
    pub context_blake3: [u8; 32],
    /// Who may receive uploads through it.
    pub recipients: Vec<RecipientId>,
}

/// Why a capability does not vouch for an upload.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LinkError {
    /// Made for another organisation.
    #[error("the link was made for another organisation")]
    WrongOrganisation,
    /// The creating device's certificate does not verify (or did not when
    /// the link was made).
    #[error("the device that made the link is not certified: {0}")]
    Certificate(#[source] CertificateError),
    /// The creator is a staff key this workstation does not trust.
    #[error("the link was made by a staff key this workstation does not trust")]
    UntrustedStaff,
    /// The signature does not verify.
    #[error("the link's signature does not verify: it was altered or forged")]
    BadSignature,
    /// The upload arrived outside the link's lifetime.
    #[error("the upload arrived outside the link's lifetime")]
    OutsideLifetime,
    /// The envelope is addressed to someone the link does not name.
    #[error("the upload is addressed to a recipient the link does not name")]
    OtherRecipient,
}

/// A link capability, signed by its creator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkCapability {
    terms: LinkTerms,
    creator: LinkCreator,
    /// The encoding without the signature: exactly what was signed.
    body: Vec<u8>,
    signature: [u8; 64],
}

fn signed_message(body: &[u8]) -> Vec<u8> {
    let mut m = Vec::with_capacity(SIGNATURE_CONTEXT.len() + body.len());
    m.extend_from_slice(SIGNATURE_CONTEXT);
    m.extend_from_slice(body);
    m
}

/// The signing key of a creator.
pub enum LinkSigner<'a> {
    /// A device and its certificate.
    Device {
        /// The device's key.
        key: &'a DeviceSigningKey,
        /// Its certificate (its device key must be `key`'s).
        certificate: &'a DeviceCertificate,
    },
    /// A staff member's auth key.
    Staff(&'a StaffSigningKey),
}

fn encode_body(terms: &LinkTerms, creator: &LinkCreator) -> Result<Vec<u8>, KeyError> {
    let invalid = |reason| KeyError::Invalid { what: WHAT, reason };
    if terms.recipients.is_empty() || terms.recipients.len() > MAX_LINK_RECIPIENTS {
        return Err(invalid("a link names 1 to 64 recipients"));
    }
    if terms.created_at > terms.expires_at {
        return Err(invalid("created_at is after expires_at"));
    }
    if terms.max_uploads == 0 || terms.max_bytes == 0 {
        return Err(invalid("max_uploads and max_bytes must be at least 1"));
    }
    let mut w = Writer::new();
    w.u8(VERSION);
    w.bytes(&terms.org_id.0);
    w.bytes(&terms.link_id);
    w.u64(terms.created_at);
    w.u64(terms.expires_at);
    w.u32(terms.max_uploads);
    w.u64(terms.max_bytes);
    w.bytes(&terms.context_blake3);
    // At most 64: checked above.
    w.u8(terms.recipients.len() as u8);
    for r in &terms.recipients {
        w.bytes(&r.0);
    }
    match creator {
        LinkCreator::Device(cert) => {
            let c = cert.to_bytes();
            w.u8(1);
            w.u16(u16::try_from(c.len()).map_err(|_| invalid("the certificate is too long"))?);
            w.bytes(&c);
        }
        LinkCreator::Staff(key) => {
            w.u8(2);
            w.bytes(key.as_bytes());
        }
    }
    Ok(w.into_vec())
}

impl LinkCapability {
    /// Signs `terms` as `signer`. Fails with [`KeyError::Invalid`] when the
    /// terms break the rules (1 to 64 recipients, `created_at ≤
    /// expires_at`, limits at least 1) or a device key is not its
    /// certificate's.
    pub fn sign(terms: LinkTerms, signer: LinkSigner<'_>) -> Result<Self, KeyError> {
        let creator = match &signer {
            LinkSigner::Device { key, certificate } => {
                if certificate.device_key() != &key.public() {
                    return Err(KeyError::Invalid {
                        what: WHAT,
                        reason: "the device key is not the certificate's",
                    });
                }
                LinkCreator::Device((*certificate).clone())
            }
            LinkSigner::Staff(key) => LinkCreator::Staff(key.public()),
        };
        let body = encode_body(&terms, &creator)?;
        let message = signed_message(&body);
        let signature = match signer {
            LinkSigner::Device { key, .. } => key.sign(&message),
            LinkSigner::Staff(key) => key.sign(&message),
        };
        Ok(LinkCapability {
            terms,
            creator,
            body,
            signature,
        })
    }

    /// The canonical binary encoding (`docs/FORMAT.md` §8.6a).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.body.len() + 64);
        out.extend_from_slice(&self.body);
        out.extend_from_slice(&self.signature);
        out
    }

    /// Parses an encoding strictly (version 1, exact lengths, no trailing
    /// bytes, the terms' rules). Does not check the signature: call
    /// [`LinkCapability::verify_creator`].
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, KeyError> {
        let mut r = Reader::new(bytes, WHAT);
        if bytes.len() > MAX_LEN {
            return Err(r.error_at(MAX_LEN, "longer than any link capability"));
        }
        if r.u8()? != VERSION {
            return Err(r.error_at(0, "unknown version (this program reads version 1)"));
        }
        let org_id = OrgId(r.array()?);
        let link_id = r.array()?;
        let times_at = r.position();
        let created_at = r.u64()?;
        let expires_at = r.u64()?;
        if created_at > expires_at {
            return Err(r.error_at(times_at, "created_at is after expires_at"));
        }
        let limits_at = r.position();
        let max_uploads = r.u32()?;
        let max_bytes = r.u64()?;
        if max_uploads == 0 || max_bytes == 0 {
            return Err(r.error_at(limits_at, "max_uploads and max_bytes must be at least 1"));
        }
        let context_blake3 = r.array()?;
        let count_at = r.position();
        let count = usize::from(r.u8()?);
        if count == 0 || count > MAX_LINK_RECIPIENTS {
            return Err(r.error_at(count_at, "a link names 1 to 64 recipients"));
        }
        let mut recipients = Vec::with_capacity(count);
        for _ in 0..count {
            recipients.push(RecipientId(r.array()?));
        }
        let kind_at = r.position();
        let creator = match r.u8()? {
            1 => {
                let len = usize::from(r.u16()?);
                let cert_at = r.position();
                let cert = DeviceCertificate::from_bytes(r.bytes(len)?)
                    .map_err(|_| r.error_at(cert_at, "the creator's certificate is malformed"))?;
                LinkCreator::Device(cert)
            }
            2 => {
                let key_at = r.position();
                LinkCreator::Staff(
                    StaffPublicKey::from_bytes(r.array()?)
                        .map_err(|_| r.error_at(key_at, "the staff key is not a usable key"))?,
                )
            }
            _ => return Err(r.error_at(kind_at, "unknown creator kind")),
        };
        let body = r.consumed().to_vec();
        let signature = r.array::<64>()?;
        r.finish()?;
        Ok(LinkCapability {
            terms: LinkTerms {
                org_id,
                link_id,
                created_at,
                expires_at,
                max_uploads,
                max_bytes,
                context_blake3,
                recipients,
            },
            creator,
            body,
            signature,
        })
    }

    /// The terms (as claimed: trust them only after
    /// [`LinkCapability::verify_creator`]).
    pub fn terms(&self) -> &LinkTerms {
        &self.terms
    }

    /// Who signed it (as claimed).
    pub fn creator(&self) -> &LinkCreator {
        &self.creator
    }

    /// Checks who made the link: the organisation, then a device creator's
    /// certificate against `org` at `created_at` and its signature, or a
    /// staff creator's key among `trusted_staff` and its signature.
    pub fn verify_creator(
        &self,
        org: &OrgPublicKey,
        trusted_staff: &[StaffPublicKey],
    ) -> Result<(), LinkError> {
        if org.id() != self.terms.org_id {
            return Err(LinkError::WrongOrganisation);
        }
        let message = signed_message(&self.body);
        match &self.creator {
            LinkCreator::Device(cert) => {
                cert.verify(org, self.terms.created_at)
                    .map_err(LinkError::Certificate)?;
                let key: &DevicePublicKey = cert.device_key();
                key.verify(&message, &self.signature)
                    .map_err(|_| LinkError::BadSignature)
            }
            LinkCreator::Staff(key) => {
                if !trusted_staff.contains(key) {
                    return Err(LinkError::UntrustedStaff);
                }
                key.verify(&message, &self.signature)
                    .map_err(|_| LinkError::BadSignature)
            }
        }
    }

    /// Checks that an upload received at `received_at` (the store's signed
    /// time), addressed to `recipients`, is one the link allows: creator
    /// first ([`LinkCapability::verify_creator`]), then the lifetime and
    /// that every recipient is one the link names.
    pub fn vouches_for(
        &self,
        org: &OrgPublicKey,
        trusted_staff: &[StaffPublicKey],
        received_at: u64,
        recipients: &[RecipientId],
    ) -> Result<(), LinkError> {
        self.verify_creator(org, trusted_staff)?;
        if received_at < self.terms.created_at || received_at > self.terms.expires_at {
            return Err(LinkError::OutsideLifetime);
        }
        if recipients
            .iter()
            .any(|r| !self.terms.recipients.contains(r))
        {
            return Err(LinkError::OtherRecipient);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::{OrgSigningKey, RecipientIdentity};
    use crate::record::{Clinician, RegistrationBody};

    const T: u64 = 1_800_000_000;

    fn terms(org: &OrgSigningKey, recipients: Vec<RecipientId>) -> LinkTerms {
        LinkTerms {
            org_id: org.public().id(),
            link_id: [7; 16],
            created_at: T,
            expires_at: T + 7 * 86_400,
            max_uploads: 5,
            max_bytes: 32 << 20,
            context_blake3: [0; 32],
            recipients,
        }
    }

    fn device(org: &OrgSigningKey) -> (DeviceSigningKey, DeviceCertificate) {
        let key = DeviceSigningKey::generate();
        let clinician =
            Clinician::new("Dr Sam Fictional", RegistrationBody::Gmc, "9999999").expect("valid");
        let cert = DeviceCertificate::issue(org, &key.public(), &clinician, T - 10, T + 86_400)
            .expect("issue");
        (key, cert)
    }

    #[test]
    fn a_device_link_round_trips_and_vouches_only_within_its_terms() {
        let org = OrgSigningKey::generate();
        let (key, cert) = device(&org);
        let team = RecipientIdentity::generate().recipient().id();
        let other = RecipientIdentity::generate().recipient().id();
        let cap = LinkCapability::sign(
            terms(&org, vec![team]),
            LinkSigner::Device {
                key: &key,
                certificate: &cert,
            },
        )
        .expect("sign");
        let back = LinkCapability::from_bytes(&cap.to_bytes()).expect("parse");
        assert_eq!(back, cap);
        assert_eq!(back.to_bytes(), cap.to_bytes());
        let org_pub = org.public();
        back.vouches_for(&org_pub, &[], T + 60, &[team])
            .expect("vouches");
        assert_eq!(
            back.vouches_for(&org_pub, &[], T + 60, &[team, other]),
            Err(LinkError::OtherRecipient)
        );
        assert_eq!(
            back.vouches_for(&org_pub, &[], T + 8 * 86_400, &[team]),
            Err(LinkError::OutsideLifetime)
        );
        assert_eq!(
            back.vouches_for(&OrgSigningKey::generate().public(), &[], T + 60, &[team]),
            Err(LinkError::WrongOrganisation)
        );
        // Any change to the signed bytes breaks the signature.
        let mut tampered = cap.to_bytes();
        tampered[40] ^= 1; // created_at
        let tampered = LinkCapability::from_bytes(&tampered).expect("still parses");
        assert_eq!(
            tampered.verify_creator(&org_pub, &[]),
            Err(LinkError::BadSignature)
        );
    }

    #[test]
    fn a_staff_link_needs_a_trusted_key_and_a_device_its_certificate() {
        let org = OrgSigningKey::generate();
        let team = RecipientIdentity::generate().recipient().id();
        let staff = StaffSigningKey::generate();
        let cap =
            LinkCapability::sign(terms(&org, vec![team]), LinkSigner::Staff(&staff)).expect("sign");
        let back = LinkCapability::from_bytes(&cap.to_bytes()).expect("parse");
        assert_eq!(
            back.verify_creator(&org.public(), &[]),
            Err(LinkError::UntrustedStaff)
        );
        back.verify_creator(&org.public(), &[staff.public()])
            .expect("trusted");
        // A device key with another device's certificate cannot sign.
        let (_, cert) = device(&org);
        let stranger = DeviceSigningKey::generate();
        assert!(LinkCapability::sign(
            terms(&org, vec![team]),
            LinkSigner::Device {
                key: &stranger,
                certificate: &cert,
            },
        )
        .is_err());
        // A certificate from another organisation does not vouch.
        let other_org = OrgSigningKey::generate();
        let (key, foreign) = device(&other_org);
        let cap = LinkCapability::sign(
            terms(&org, vec![team]),
            LinkSigner::Device {
                key: &key,
                certificate: &foreign,
            },
        )
        .expect("sign");
        assert!(matches!(
            cap.verify_creator(&org.public(), &[]),
            Err(LinkError::Certificate(CertificateError::WrongOrganisation))
        ));
    }

    #[test]
    fn malformed_encodings_are_refused() {
        let org = OrgSigningKey::generate();
        let staff = StaffSigningKey::generate();
        let team = RecipientIdentity::generate().recipient().id();
        let good = LinkCapability::sign(terms(&org, vec![team]), LinkSigner::Staff(&staff))
            .expect("sign")
            .to_bytes();
        for n in 0..good.len() {
            assert!(
                LinkCapability::from_bytes(&good[..n]).is_err(),
                "truncated at {n}"
            );
        }
        let mut longer = good.clone();
        longer.push(0);
        assert!(LinkCapability::from_bytes(&longer).is_err());
        let mut version = good.clone();
        version[0] = 2;
        assert!(LinkCapability::from_bytes(&version).is_err());
        assert!(LinkCapability::sign(terms(&org, vec![]), LinkSigner::Staff(&staff)).is_err());
    }
}
