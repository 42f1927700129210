//! The recipient directory: the organisation's signed list of who may be
//! sealed to. Devices pin the organisation key at enrolment and seal only
//! to recipients in a directory that verifies under it, so the store that
//! serves the directory cannot add itself (or anyone) as a recipient.
//! Layout and signature input: `docs/FORMAT.md` §8.6.

use std::collections::HashSet;

use super::encoding::{check_text, Reader, Writer};
use super::id::{OrgId, RecipientId};
use super::recipient::Recipient;
use super::signing::{OrgPublicKey, OrgSigningKey};
use super::{CertificateError, KeyError};

/// Domain separation prefix of the signed message.
const SIGNATURE_CONTEXT: &[u8] = b"sealcam/v1/recipient-directory\0";
/// Encoding version.
const FORMAT_VERSION: u8 = 1;
/// Most entries in one directory (the most recipients of one envelope).
pub(crate) const MAX_ENTRIES: usize = 64;
const NAME_CHARS: usize = 200;
const ROLE_CHARS: usize = 64;
/// Largest entry: 32 + (2 + 4·200) + (2 + 4·64).
const MAX_ENTRY_LEN: usize = 32 + 2 + 4 * NAME_CHARS + 2 + 4 * ROLE_CHARS;
/// Largest encoding: header 42, 64 entries, signature 64.
const MAX_LEN: usize = 42 + MAX_ENTRIES * MAX_ENTRY_LEN + 64;
const WHAT: &str = "the recipient directory";

/// One recipient in the directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirectoryEntry {
    /// The recipient's public key.
    pub recipient: Recipient,
    /// Display name, e.g. "Dermatology records" (1 to 200 characters, no
    /// control characters or surrounding white space; unique in the
    /// directory).
    pub name: String,
    /// Role, e.g. "records" (1 to 64 characters, same rules; need not be
    /// unique).
    pub role: String,
}

/// The directory's contents, before signing or after verification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecipientDirectory {
    /// Monotonic directory version: devices must refuse a directory whose
    /// version is lower than the one they already hold (roll-back).
    pub version: u64,
    /// When it was signed, Unix seconds (informational; not checked
    /// against the clock).
    pub issued_at: u64,
    /// Last second of validity, Unix seconds (inclusive).
    pub expires_at: u64,
    /// 1 to 64 entries with distinct recipients and distinct names.
    pub entries: Vec<DirectoryEntry>,
}

impl RecipientDirectory {
    /// Checks the rules every directory must follow: 1 to 64 entries,
    /// recipients and names unique, text fields within limits,
    /// `issued_at ≤ expires_at`.
    pub fn validate(&self) -> Result<(), KeyError> {
        self.check()
            .map_err(|reason| KeyError::Invalid { what: WHAT, reason })
    }

    fn check(&self) -> Result<(), &'static str> {
        if self.entries.is_empty() {
            return Err("it has no entries");
        }
        if self.entries.len() > MAX_ENTRIES {
            return Err("it has more than 64 entries");
        }
        if self.issued_at > self.expires_at {
            return Err("issued_at is after expires_at");
        }
        let mut recipients = HashSet::new();
        let mut names = HashSet::new();
        for e in &self.entries {
            check_text(&e.name, 1, NAME_CHARS)?;
            check_text(&e.role, 1, ROLE_CHARS)?;
            if !recipients.insert(e.recipient) {
                return Err("a recipient appears twice");
            }
            if !names.insert(e.name.as_str()) {
                return Err("a name appears twice");
            }
        }
        Ok(())
    }

    /// The entry for a recipient id, if any.
    pub fn entry(&self, id: &RecipientId) -> Option<&DirectoryEntry> {
        self.entries.iter().find(|e| e.recipient.id() == *id)
    }

    /// Signs the directory with the organisation key. Fails with
    /// [`KeyError::Invalid`] if the directory breaks the rules of
    /// [`RecipientDirectory::validate`].
    pub fn sign(&self, org: &OrgSigningKey) -> Result<SignedDirectory, KeyError> {
        self.validate()?;
        let invalid = |reason| KeyError::Invalid { what: WHAT, reason };
        let org_id = org.public().id();
        let mut w = Writer::new();
        w.u8(FORMAT_VERSION);
        w.bytes(&org_id.0);
        w.u64(self.version);
        w.u64(self.issued_at);
        w.u64(self.expires_at);
        // At most 64 entries, checked by validate.
        w.u8(u8::try_from(self.entries.len()).map_err(|_| invalid("too many entries"))?);
        for e in &self.entries {
            w.bytes(e.recipient.as_bytes());
            w.text_u16(&e.name).map_err(invalid)?;
            w.text_u16(&e.role).map_err(invalid)?;
        }
        let body = w.into_vec();
        let signature = org.sign(&signed_message(&body));
        Ok(SignedDirectory {
            org_id,
            directory: self.clone(),
            body,
            signature,
        })
    }
}

fn signed_message(body: &[u8]) -> Vec<u8> {
    let mut m = Vec::with_capacity(SIGNATURE_CONTEXT.len() + body.len());
    m.extend_from_slice(SIGNATURE_CONTEXT);
    m.extend_from_slice(body);
    m
}

/// A recipient directory with the organisation's signature. The store
/// keeps and serves it but cannot forge or alter it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedDirectory {
    org_id: OrgId,
    directory: RecipientDirectory,
    /// The encoding without the signature: exactly what was signed.
    body: Vec<u8>,
    signature: [u8; 64],
}

impl SignedDirectory {
    /// The canonical binary encoding (`docs/FORMAT.md` §8.6).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.body.len() + 64);
        out.extend_from_slice(&self.body);
        out.extend_from_slice(&self.signature);
        out
    }

    /// Parses an encoding strictly (version, lengths, UTF-8, field limits,
    /// 1 to 64 entries, unique recipients and names, valid recipient keys,
    /// no trailing bytes). Does not check the signature: call
    /// [`SignedDirectory::verify`].
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, KeyError> {
        let mut r = Reader::new(bytes, WHAT);
        if bytes.len() > MAX_LEN {
            return Err(r.error_at(MAX_LEN, "longer than any directory"));
        }
        if r.u8()? != FORMAT_VERSION {
            return Err(r.error_at(0, "unknown version (this program reads version 1)"));
        }
        let org_id = OrgId(r.array()?);
        let version = r.u64()?;
        let issued_at = r.u64()?;
        let expires_at = r.u64()?;
        let count_at = r.position();
        let count = usize::from(r.u8()?);
        if !(1..=MAX_ENTRIES).contains(&count) {
            return Err(r.error_at(count_at, "the entry count must be 1 to 64"));
        }
        let mut entries = Vec::with_capacity(count);
        for _ in 0..count {
            let key_at = r.position();
            let recipient = Recipient::from_bytes(r.array()?).map_err(|_| {
                r.error_at(key_at, "an entry's recipient is not a usable X25519 key")
            })?;
            let name = r.text_u16(1, NAME_CHARS)?.to_string();
            let role = r.text_u16(1, ROLE_CHARS)?.to_string();
            entries.push(DirectoryEntry {
                recipient,
                name,
                role,
            });
        }
        let directory = RecipientDirectory {
            version,
            issued_at,
            expires_at,
            entries,
        };
        directory
            .check()
            .map_err(|reason| r.error_at(count_at, reason))?;
        let body = r.consumed().to_vec();
        let signature = r.array::<64>()?;
        r.finish()?;
        Ok(SignedDirectory {
            org_id,
            directory,
            body,
            signature,
        })
    }

    /// Checks the directory against the pinned organisation key at time
    /// `now` (Unix seconds): issuer id, signature (strict Ed25519), then
    /// `now ≤ expires_at`. Returns the contents only if all pass. The
    /// caller must also refuse a version lower than the one it holds.
    pub fn verify(
        &self,
        org: &OrgPublicKey,
        now: u64,
    ) -> Result<&RecipientDirectory, CertificateError> {
        if org.id() != self.org_id {
            return Err(CertificateError::WrongOrganisation);
        }
        org.verify(&signed_message(&self.body), &self.signature)
            .map_err(|_| CertificateError::BadSignature)?;
        if now > self.directory.expires_at {
            return Err(CertificateError::Expired);
        }
        Ok(&self.directory)
    }

    /// The id of the organisation key that signed it (as claimed: trust it
    /// only after [`SignedDirectory::verify`]).
    pub fn org_id(&self) -> OrgId {
        self.org_id
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::RecipientIdentity;

    fn directory(n: usize) -> RecipientDirectory {
        RecipientDirectory {
            version: 7,
            issued_at: 1_700_000_000,
            expires_at: 1_700_086_400,
            entries: (0..n)
                .map(|i| DirectoryEntry {
                    recipient: RecipientIdentity::generate().recipient(),
                    name: format!("Records team {i}"),
                    role: "records".into(),
                })
                .collect(),
        }
    }

    #[test]
    fn sign_encode_parse_verify() {
        let org = OrgSigningKey::generate();
        let dir = directory(3);
        let signed = dir.sign(&org).expect("sign");
        let bytes = signed.to_bytes();
        let back = SignedDirectory::from_bytes(&bytes).expect("parse");
        assert_eq!(back, signed);
        assert_eq!(back.to_bytes(), bytes);
        assert_eq!(back.org_id(), org.public().id());
        let got = back.verify(&org.public(), dir.issued_at).expect("valid");
        assert_eq!(got, &dir);
        let id = dir.entries[1].recipient.id();
        assert_eq!(
            got.entry(&id).map(|e| e.name.as_str()),
            Some("Records team 1")
        );
        // Signature input as specified.
        let mut msg = b"sealcam/v1/recipient-directory\0".to_vec();
        msg.extend_from_slice(&bytes[..bytes.len() - 64]);
        let mut sig = [0u8; 64];
        sig.copy_from_slice(&bytes[bytes.len() - 64..]);
        org.public().verify(&msg, &sig).expect("verifies");
    }

    #[test]
    fn expiry_wrong_org_and_tamper() {
        let org = OrgSigningKey::generate();
        let dir = directory(2);
        let signed = dir.sign(&org).expect("sign");
        signed
            .verify(&org.public(), dir.expires_at)
            .expect("last second");
        assert_eq!(
            signed.verify(&org.public(), dir.expires_at + 1),
            Err(CertificateError::Expired)
        );
        assert_eq!(
            signed.verify(&OrgSigningKey::generate().public(), dir.issued_at),
            Err(CertificateError::WrongOrganisation)
        );
        // Every single-byte change is refused by from_bytes or verify.
        let bytes = signed.to_bytes();
        for i in 0..bytes.len() {
            for mask in [0x01u8, 0xff] {
                let mut b = bytes.clone();
                b[i] ^= mask;
                if let Ok(d) = SignedDirectory::from_bytes(&b) {
                    assert!(d.verify(&org.public(), dir.issued_at).is_err(), "byte {i}");
                }
            }
        }
        // Swapping a recipient key for the attacker's: bad signature.
        let mut b = bytes.clone();
        let attacker = RecipientIdentity::generate().recipient();
        b[42..74].copy_from_slice(attacker.as_bytes());
        let d = SignedDirectory::from_bytes(&b).expect("parses");
        assert_eq!(
            d.verify(&org.public(), dir.issued_at),
            Err(CertificateError::BadSignature)
        );
        // Truncated and extended encodings.
        for n in 0..bytes.len() {
            assert!(SignedDirectory::from_bytes(&bytes[..n]).is_err());
        }
        let mut long = bytes;
        long.push(0);
        assert!(SignedDirectory::from_bytes(&long).is_err());
    }

    #[test]
    fn rules_enforced() {
        // `sign` used to panic on each of these; it now returns the error.
        let org = OrgSigningKey::generate();
        assert!(directory(0).sign(&org).is_err());
        assert!(directory(65).sign(&org).is_err());
        directory(64).sign(&org).expect("64 entries");
        let mut dup = directory(2);
        dup.entries[1].recipient = dup.entries[0].recipient;
        assert!(matches!(dup.sign(&org), Err(KeyError::Invalid { .. })));
        let mut dup_name = directory(2);
        dup_name.entries[1].name = dup_name.entries[0].name.clone();
        assert!(dup_name.sign(&org).is_err());
        let mut bad = directory(1);
        bad.entries[0].role = "records\n".into();
        assert!(bad.sign(&org).is_err());
        let mut bad = directory(1);
        bad.expires_at = bad.issued_at - 1;
        assert!(bad.sign(&org).is_err());

        // A duplicate smuggled into an encoding (entries copied byte for
        // byte) is refused by from_bytes.
        let signed = directory(2).sign(&org).expect("sign");
        let mut b = signed.to_bytes();
        let entry_len = 32 + 2 + "Records team 0".len() + 2 + "records".len();
        let first = b[42..42 + entry_len].to_vec();
        b[42 + entry_len..42 + 2 * entry_len].copy_from_slice(&first);
        assert!(matches!(
            SignedDirectory::from_bytes(&b),
            Err(KeyError::Format { .. })
        ));
    }

    #[test]
    fn largest_directory_fits_the_limit() {
        let org = OrgSigningKey::generate();
        let mut dir = directory(64);
        for (i, e) in dir.entries.iter_mut().enumerate() {
            e.name = format!("{i:02}{}", "\u{1F600}".repeat(198));
            e.role = "\u{1F600}".repeat(64);
        }
        let bytes = dir.sign(&org).expect("sign").to_bytes();
        assert!(bytes.len() <= MAX_LEN);
        SignedDirectory::from_bytes(&bytes).expect("parse");
    }
}
