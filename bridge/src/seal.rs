//! Sealing without a device (the patient page, a kiosk): an unsigned
//! envelope through the one pipeline, `sealcam_core::capture::capture`;
//! and reading an envelope's routing header.

use sealcam_core::capture;
use sealcam_core::envelope::{self, Signer};
use sealcam_core::keys::{
    CertificateError, OrgId, OrgPublicKey, Recipient, RecipientDirectory, SignedDirectory,
};
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
    let signed = SignedDirectory::from_bytes(directory).map_err(|e| {
        BridgeError::new(
            ErrorCode::Untrusted,
            format!("the recipient directory is malformed ({e}); refusing to seal"),
        )
    })?;
    match signed.verify(&org_key, now_unix) {
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
    mut image: Zeroizing<Vec<u8>>,
    draft_json: &str,
    recipients: &[Recipient],
    now_unix: u64,
) -> Result<SealResult, BridgeError> {
    let draft = parse_draft(draft_json, None, time_at(now_unix)?)?;
    let captured = capture::capture(
        std::mem::take(&mut *image),
        &draft,
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
