//! Sealing without a device (the patient page, a kiosk): an unsigned
//! envelope through the one pipeline, `sealcam_core::capture::capture`;
//! and reading an envelope's routing header.

use sealcam_core::capture::{self, RecordDraft};
use sealcam_core::envelope::{self, Signer};
use sealcam_core::keys::{
    CertificateError, LinkCapability, LinkCreator, OrgId, OrgPublicKey, Recipient,
    RecipientDirectory, SignedDirectory,
};
use sealcam_core::record::Source;
use sealcam_core::sanitize;
use sealcam_core::ErrorCode;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::json::{self, RoutingJson};
use crate::record::{parse_draft, time_at};
use crate::BridgeError;

/// A sealed envelope, ready to upload.
pub struct SealResult {
    /// The envelope id, 32 hex digits.
    pub id: String,
    /// The envelope (ciphertext only).
    pub envelope: Vec<u8>,
    /// What was stripped from the photo (docs/BRIDGE.md, "Sanitize report").
    pub report_json: String,
}

impl std::fmt::Debug for SealResult {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SealResult")
            .field("id", &self.id)
            .field("envelope", &format_args!("<{} bytes>", self.envelope.len()))
            .finish_non_exhaustive()
    }
}

/// A verified recipient directory, as [`verify_directory`] shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DirectoryJson {
    /// The directory's version.
    pub version: u64,
    /// Its last second of validity, Unix seconds.
    pub expires_at: u64,
    /// Who the photo will be sealed to.
    pub recipients: Vec<DirectoryEntryJson>,
}

/// One recipient of a directory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DirectoryEntryJson {
    /// Display name ("Dermatology records").
    pub name: String,
    /// Role ("records").
    pub role: String,
    /// The recipient's key id, 32 hex digits.
    pub id: String,
}

/// Seals a photo and its record draft, unsigned, to the recipients in
/// `recipients_json` (`["sealcam1…", …]`), created at `now_unix`. The photo
/// is stripped once, inside the pipeline; `image` is consumed and wiped.
/// The draft must name its `clinician` (there is no device certificate to
/// take one from).
///
/// Errors: `invalid_json` (the list), `bad_recipients`, the record codes,
/// the image codes, `seal_failed`, `invalid_argument` (`now_unix`).
pub fn seal_to_recipients(
    image: Vec<u8>,
    draft_json: &str,
    recipients_json: &str,
    now_unix: u64,
) -> Result<SealResult, BridgeError> {
    let image = Zeroizing::new(image);
    let texts: Vec<String> =
        serde_json::from_str(recipients_json).map_err(|e| BridgeError::json("recipients", &e))?;
    let recipients = texts
        .iter()
        .enumerate()
        .map(|(i, t)| {
            t.trim().parse::<Recipient>().map_err(|e| {
                BridgeError::new(
                    ErrorCode::BadRecipients,
                    format!("recipient {} of the list: {e}", i + 1),
                )
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    seal_unsigned(image, draft_json, &recipients, now_unix)
}

/// The patient page's seal: checks that `org_key` (the organisation public
/// key `sealcamorg1…`, as the store serves it) has the fingerprint
/// `org_id` (32 hex digits, from the link the patient was sent) and that
/// `directory` (the org-signed recipient directory the store serves)
/// verifies under it and has not expired at `now_unix`; then seals, as
/// [`seal_to_recipients`], to every recipient in it. Refuses to seal
/// otherwise: the store, which serves both, cannot add a recipient.
///
/// Errors: `invalid_argument` (`org_key`, `org_id`), `untrusted` (the key
/// is not the one in the link, or the directory is malformed or not
/// signed by it), `no_directory` (expired), then those of
/// [`seal_to_recipients`].
pub fn seal_to_directory(
    image: Vec<u8>,
    draft_json: &str,
    directory: &[u8],
    org_key: &str,
    org_id: &str,
    now_unix: u64,
) -> Result<SealResult, BridgeError> {
    let image = Zeroizing::new(image);
    let signed = checked_directory(directory, org_key, org_id, now_unix)?;
    let recipients: Vec<Recipient> = signed.entries.iter().map(|e| e.recipient).collect();
    seal_unsigned(image, draft_json, &recipients, now_unix)
}

/// The patient page's seal for a link: a `patient_link` record carrying
/// the link's `capability` (the bytes `GET /v1/link` serves, decoded from
/// base64url), sealed to the capability's recipients.
///
/// The store serves the organisation key, the directory and the
/// capability, so none is trusted: `org_key` must have the fingerprint
/// `org_id` (from the link's URL fragment), `directory` must verify under
/// it at `now_unix` (as [`seal_to_directory`]), the capability must be
/// made for that organisation and its signature must verify (a device
/// creator's certificate against `org_key` at the link's creation time; a
/// staff creator's signature under the key it names, which only a records
/// workstation that trusts that key can judge). Every recipient the
/// capability names must be in the directory, which gives its public key;
/// the envelope goes to exactly those recipients, so the store accepts it
/// for the link and `sealcam records pull` files it as a verified patient
/// upload. The link's lifetime and upload count are the store's to judge
/// (with its clock), not the page's.
///
/// The draft's `source` must be `patient_link`; it may leave out
/// `clinician` when a device made the link (the clinician its certificate
/// names); a `link_capability` in the draft must be this capability.
/// `image` is consumed and wiped.
///
/// Errors: `invalid_argument` (`org_key`, `org_id`, `now_unix`),
/// `untrusted` (the key is not the link's; the directory or capability is
/// malformed, for another organisation or not signed as it claims),
/// `no_directory` (expired), `bad_recipients` (a recipient of the link is
/// not in the directory), `record_invalid` (not a `patient_link` draft, or
/// another capability in it), then those of [`seal_to_recipients`].
pub fn seal_for_link(
    image: Vec<u8>,
    draft_json: &str,
    capability: &[u8],
    directory: &[u8],
    org_key: &str,
    org_id: &str,
    now_unix: u64,
) -> Result<SealResult, BridgeError> {
    let image = Zeroizing::new(image);
    let org = checked_org(org_key, org_id)?;
    let dir = verified_directory(directory, &org, now_unix)?;
    let untrusted = |why: &str| {
        BridgeError::new(
            ErrorCode::Untrusted,
            format!("the link's capability {why}; refusing to seal"),
        )
    };
    let cap = LinkCapability::from_bytes(capability).map_err(|_| untrusted("is malformed"))?;
    let staff_key = match cap.creator() {
        LinkCreator::Device(_) => Vec::new(),
        LinkCreator::Staff(key) => vec![*key],
    };
    cap.verify_creator(&org, &staff_key)
        .map_err(|e| untrusted(&format!("does not verify ({e})")))?;
    let recipients = cap
        .terms()
        .recipients
        .iter()
        .map(|id| {
            dir.entries
                .iter()
                .find(|e| e.recipient.id() == *id)
                .map(|e| e.recipient)
                .ok_or_else(|| {
                    BridgeError::new(
                        ErrorCode::BadRecipients,
                        "the link names a recipient the organisation's directory no longer \
                         lists; ask the clinic for a new link",
                    )
                })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let default_clinician = match cap.creator() {
        LinkCreator::Device(cert) => Some(cert.clinician()),
        LinkCreator::Staff(_) => None,
    };
    let mut draft = parse_draft(draft_json, default_clinician, time_at(now_unix)?)?;
    if draft.source != Source::PatientLink {
        return Err(BridgeError::new(
            ErrorCode::RecordInvalid,
            "a link upload's draft must have source patient_link",
        ));
    }
    if draft
        .link_capability
        .as_deref()
        .is_some_and(|c| c != capability)
    {
        return Err(BridgeError::new(
            ErrorCode::RecordInvalid,
            "the draft carries another link_capability than the link's",
        ));
    }
    draft.link_capability = Some(capability.to_vec());
    seal_draft(image, &draft, &recipients, now_unix)
}

/// The checks of [`seal_to_directory`] alone, to show the patient who the
/// photo will go to before they fill in the form. Returns
/// `{"version", "expires_at", "recipients": [{"name", "role", "id"}]}`.
pub fn verify_directory(
    directory: &[u8],
    org_key: &str,
    org_id: &str,
    now_unix: u64,
) -> Result<String, BridgeError> {
    let dir = checked_directory(directory, org_key, org_id, now_unix)?;
    json::to_string(&DirectoryJson {
        version: dir.version,
        expires_at: dir.expires_at,
        recipients: dir
            .entries
            .iter()
            .map(|e| DirectoryEntryJson {
                name: e.name.clone(),
                role: e.role.clone(),
                id: e.recipient.id().to_string(),
            })
            .collect(),
    })
}

/// Reads an envelope's plaintext routing header (no key needed; nothing
/// in it is authenticated): `{"id", "created_at", "envelope_len",
/// "plaintext_len", "recipients", "sender"}`.
///
/// Errors: `not_an_envelope`, `envelope_unsupported_version`,
/// `envelope_damaged`.
pub fn inspect(envelope: &[u8]) -> Result<String, BridgeError> {
    let h = envelope::inspect(envelope)?;
    json::to_string(&RoutingJson {
        id: h.id.to_string(),
        created_at: h.created_at,
        envelope_len: h.envelope_len,
        plaintext_len: h.plaintext_len,
        recipients: h.recipients.iter().map(ToString::to_string).collect(),
        sender: h.sender.map(|s| s.to_string()),
    })
}

/// The directory, once the key matches the fingerprint and the directory
/// verifies under the key at `now_unix`.
fn checked_directory(
    directory: &[u8],
    org_key: &str,
    org_id: &str,
    now_unix: u64,
) -> Result<RecipientDirectory, BridgeError> {
    verified_directory(directory, &checked_org(org_key, org_id)?, now_unix)
}

/// The organisation key, once it has the fingerprint from the link.
fn checked_org(org_key: &str, org_id: &str) -> Result<OrgPublicKey, BridgeError> {
    let org_id: OrgId = org_id
        .trim()
        .parse()
        .map_err(|_| BridgeError::invalid("org_id must be 32 lower-case hexadecimal digits"))?;
    let org_key: OrgPublicKey = org_key.trim().parse().map_err(|e| {
        BridgeError::invalid(format!("org_key is not an organisation public key: {e}"))
    })?;
    if org_key.id() != org_id {
        return Err(BridgeError::new(
            ErrorCode::Untrusted,
            "the organisation key is not the one named in the link; refusing to seal",
        ));
    }
    Ok(org_key)
}

/// The directory, once it verifies under `org_key` at `now_unix`.
fn verified_directory(
    directory: &[u8],
    org_key: &OrgPublicKey,
    now_unix: u64,
) -> Result<RecipientDirectory, BridgeError> {
    let signed = SignedDirectory::from_bytes(directory).map_err(|e| {
        BridgeError::new(
            ErrorCode::Untrusted,
            format!("the recipient directory is malformed ({e}); refusing to seal"),
        )
    })?;
    match signed.verify(org_key, now_unix) {
        Ok(dir) => Ok(dir.clone()),
        Err(CertificateError::Expired) => Err(BridgeError::new(
            ErrorCode::NoDirectory,
            "the organisation's recipient directory has expired; ask the clinic for a new link",
        )),
        Err(_) => Err(BridgeError::new(
            ErrorCode::Untrusted,
            "the recipient directory is not signed by the organisation named in the link; refusing to seal",
        )),
    }
}

/// The pipeline, unsigned. `image` is wiped whatever happens.
fn seal_unsigned(
    image: Zeroizing<Vec<u8>>,
    draft_json: &str,
    recipients: &[Recipient],
    now_unix: u64,
) -> Result<SealResult, BridgeError> {
    let draft = parse_draft(draft_json, None, time_at(now_unix)?)?;
    seal_draft(image, &draft, recipients, now_unix)
}

/// The pipeline, unsigned, for a parsed draft. `image` is wiped whatever
/// happens.
fn seal_draft(
    mut image: Zeroizing<Vec<u8>>,
    draft: &RecordDraft,
    recipients: &[Recipient],
    now_unix: u64,
) -> Result<SealResult, BridgeError> {
    let captured = capture::capture(
        std::mem::take(&mut *image),
        draft,
        recipients,
        Signer::Unsigned,
        now_unix,
        &sanitize::Options::default(),
    )?;
    Ok(SealResult {
        id: captured.id.to_string(),
        report_json: json::to_string(&captured.report)?,
        envelope: captured.envelope,
    })
}
