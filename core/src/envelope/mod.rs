//! The sealed envelope: [`seal`], [`open`], [`verify`] and [`inspect`];
//! [`seal_owned`] and [`open_owned`] do the same inside the caller's buffer;
//! [`EnvelopeStream`] does `inspect` and `verify` on an envelope arriving
//! in pieces, in one pass with bounded memory.
//! The byte format is specified normatively in docs/FORMAT.md.
//!
//! In short: a random 32-byte content key is wrapped to each recipient
//! with RFC 9180 HPKE; keys derived from it MAC the plaintext routing
//! header and encrypt the payload (the clinical record and the sanitized
//! image) with AES-256-GCM in STREAM form; an enrolled device signs the
//! whole envelope with Ed25519, and the envelope carries the device's
//! organisation-signed certificate, so anyone holding the organisation's
//! public key can check provenance offline.

mod error;
mod header;
mod incremental;
mod key_schedule;
mod stanza;
mod stream;

pub use error::{FormatError, OpenError, SealError, VerifyError};
pub use header::{CHUNK_SIZE, MAGIC, MAX_HEADER_LEN, MAX_RECIPIENTS, VERSION};
pub use incremental::{EnvelopeStream, StreamedEnvelope};
pub use stanza::hpke_suite;

use rand_core::CryptoRng;
use zeroize::Zeroizing;

use crate::keys::{
    CertificateError, DeviceCertificate, DeviceId, DeviceSigningKey, OrgPublicKey, Recipient,
    RecipientId, RecipientIdentity,
};
use crate::record::ClinicalRecord;
use crate::sanitize;
use header::{Header, MAC_LEN, SIGNATURE_LEN};

/// Domain-separation prefix of the signed message.
pub const SIGNATURE_CONTEXT: &[u8] = b"sealcam/v1/envelope-signature\0";
/// Largest record block accepted inside an envelope.
pub const MAX_RECORD_LEN: usize = 64 * 1024;
/// How far in the future a creation time may lie before `verify` refuses it.
pub const MAX_CLOCK_SKEW_SECS: u64 = 300;

/// An envelope's random 16-byte identifier. Shown as 32 lower-case hex digits.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EnvelopeId(pub [u8; 16]);

impl EnvelopeId {
    /// A fresh random id.
    pub fn random(rng: &mut impl CryptoRng) -> Self {
        let mut id = [0u8; 16];
        rng.fill_bytes(&mut id);
        EnvelopeId(id)
    }
}

impl std::fmt::Display for EnvelopeId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.iter().try_for_each(|b| write!(f, "{b:02x}"))
    }
}

impl std::fmt::Debug for EnvelopeId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "EnvelopeId({self})")
    }
}

impl std::str::FromStr for EnvelopeId {
    type Err = FormatError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        // One spelling per id: lower case, as it is shown everywhere.
        crate::hex::decode::<16>(s)
            .map(EnvelopeId)
            .ok_or(FormatError::Malformed(
                "an envelope id is 32 lower-case hexadecimal digits",
            ))
    }
}

impl serde::Serialize for EnvelopeId {
    /// 32 lower-case hex digits.
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for EnvelopeId {
    /// Exactly 32 lower-case hex digits (as the store writes them).
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        crate::hex::decode::<16>(&s)
            .map(EnvelopeId)
            .ok_or_else(|| serde::de::Error::custom("an envelope id is 32 lower-case hex digits"))
    }
}

/// Who signs an envelope.
#[derive(Clone, Copy)]
pub enum Signer<'a> {
    /// An enrolled device: its signing key and its organisation-signed
    /// certificate. Recipients and the store can check provenance.
    Device {
        /// The device's Ed25519 key.
        key: &'a DeviceSigningKey,
        /// The certificate binding that key to a clinician.
        certificate: &'a DeviceCertificate,
    },
    /// No signature: confidential and tamper-evident to the recipients, but
    /// anyone could have made it. The store refuses unsigned envelopes.
    Unsigned,
}

/// A sealed envelope.
pub struct Sealed {
    /// Its id (also inside the bytes).
    pub id: EnvelopeId,
    /// The envelope, ready to store or send.
    pub bytes: Vec<u8>,
}

impl std::fmt::Debug for Sealed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Sealed {{ id: {}, {} bytes }}",
            self.id,
            self.bytes.len()
        )
    }
}

/// Seals a sanitized `image` and its `record` to `recipients`, created at
/// `created_at` (Unix seconds, from the caller's clock: the core reads
/// none), with fresh randomness from the operating system.
///
/// # Panics
/// If the operating system's random number generator fails (as `hpke`'s
/// own key generation does): sealing without randomness must not proceed.
pub fn seal(
    image: &[u8],
    record: &ClinicalRecord,
    recipients: &[Recipient],
    signer: Signer<'_>,
    created_at: u64,
) -> Result<Sealed, SealError> {
    let record_json = Zeroizing::new(record.to_json());
    let mut rng = rand_core::UnwrapErr(getrandom::SysRng);
    seal_parts(
        image,
        &record_json,
        recipients,
        signer,
        created_at,
        &mut rng,
    )
}

/// [`seal`] with the record already serialised, an explicit creation time
/// and an explicit random source: for test vectors and conformance tests.
/// Production code should call [`seal`].
pub fn seal_parts(
    image: &[u8],
    record_json: &[u8],
    recipients: &[Recipient],
    signer: Signer<'_>,
    created_at: u64,
    rng: &mut impl CryptoRng,
) -> Result<Sealed, SealError> {
    sanitize::verify(image).map_err(SealError::NotSanitized)?;
    let p = prepare(
        image.len(),
        record_json,
        recipients,
        signer,
        created_at,
        rng,
    )?;
    // Zero-filled by the allocator (fresh pages need no memset), then
    // every byte is overwritten.
    let mut out = vec![0u8; p.total_len()];
    out[..p.head.len()].copy_from_slice(&p.head);
    let end = p.payload_end();
    if stream::seal_into(
        &p.keys.payload,
        &p.prefix,
        image,
        &mut out[p.head.len()..end],
    )
    .is_err()
    {
        // Cannot happen for lengths `prepare` accepted; a chunk assembled
        // for encryption is wiped all the same.
        zeroize::Zeroize::zeroize(&mut out);
        return Err(SealError::Encrypt);
    }
    p.sign(&mut out);
    Ok(Sealed {
        id: p.id,
        bytes: out,
    })
}

/// Seals a [`sanitize::SanitizedImage`] (from [`sanitize::sanitize_owned`])
/// and its `record`, turning the image's own buffer into the envelope: no
/// second buffer of the image's size is allocated, and the plaintext image
/// is overwritten by ciphertext. The same bytes as [`seal`] would produce
/// with the same randomness. The image is not verified again: a
/// `SanitizedImage` has passed the verifier and cannot have changed since.
///
/// The buffer needs room for the envelope (the image plus the header,
/// 16 bytes per 64 KiB and the signature); a JPEG that lost more metadata
/// than that (the usual case) has it already. Otherwise the envelope is
/// written to a new buffer and the image's buffer is zeroed: never
/// reallocated, which could leave a copy of the image behind. On any error
/// the image is zeroed.
///
/// # Panics
/// If the operating system's random number generator fails, as [`seal`].
pub fn seal_owned(
    image: sanitize::SanitizedImage,
    record: &ClinicalRecord,
    recipients: &[Recipient],
    signer: Signer<'_>,
    created_at: u64,
) -> Result<Sealed, SealError> {
    let record_json = Zeroizing::new(record.to_json());
    let mut rng = rand_core::UnwrapErr(getrandom::SysRng);
    seal_owned_parts(
        image,
        &record_json,
        recipients,
        signer,
        created_at,
        &mut rng,
    )
}

/// [`seal_owned`] with the record already serialised, an explicit creation
/// time and random source, as [`seal_parts`]; gives the same bytes as
/// [`seal_parts`] for the same arguments.
pub fn seal_owned_parts(
    image: sanitize::SanitizedImage,
    record_json: &[u8],
    recipients: &[Recipient],
    signer: Signer<'_>,
    created_at: u64,
    rng: &mut impl CryptoRng,
) -> Result<Sealed, SealError> {
    let image_len = image.bytes().len();
    // On an error `image` drops here, zeroed.
    let p = prepare(image_len, record_json, recipients, signer, created_at, rng)?;
    let mut buf = image.into_bytes();
    let total = p.total_len();
    let h = p.head.len();
    let wipe = |mut v: Vec<u8>| zeroize::Zeroize::zeroize(&mut v);
    let mut out = if buf.capacity() >= total {
        // In place: grows within the capacity (no reallocation).
        buf.resize(total, 0);
        if stream::seal_in_place(&p.keys.payload, &p.prefix, image_len, &mut buf, h).is_err() {
            // Cannot happen for lengths `prepare` accepted; partly
            // encrypted plaintext is wiped all the same.
            wipe(buf);
            return Err(SealError::Encrypt);
        }
        buf
    } else {
        let mut out = vec![0u8; total];
        let r = stream::seal_into(
            &p.keys.payload,
            &p.prefix,
            &buf,
            &mut out[h..total - p.signature_len()],
        );
        wipe(buf);
        if r.is_err() {
            wipe(out);
            return Err(SealError::Encrypt);
        }
        out
    };
    out[..h].copy_from_slice(&p.head);
    p.sign(&mut out);
    Ok(Sealed {
        id: p.id,
        bytes: out,
    })
}

/// The capacity a buffer holding an image of `image_len` bytes needs for
/// [`seal_owned`] to build the envelope inside it, to `recipients`
/// recipients, whatever the record (up to [`MAX_RECORD_LEN`]) and the
/// certificate: a caller reading a photo into a buffer of this capacity
/// never has the image copied. (The sanitized image is never longer than
/// the raw one for JPEG, so the raw photo's length may be given.)
pub fn owned_capacity(image_len: usize, recipients: usize) -> usize {
    // Saturating: absurd arguments give `usize::MAX` (no allocation can
    // be that large), never an overflow.
    let wide = |n: usize| u64::try_from(n).unwrap_or(u64::MAX);
    let plaintext = wide(4 + MAX_RECORD_LEN).saturating_add(wide(image_len));
    let ciphertext = plaintext
        .saturating_add(wide(header::TAG_LEN).saturating_mul(header::chunk_count(plaintext)));
    let fixed = wide(header::FIXED_LEN + 2 + header::MAX_CERTIFICATE_LEN + MAC_LEN + SIGNATURE_LEN);
    let total = fixed
        .saturating_add(wide(recipients).saturating_mul(wide(header::STANZA_LEN)))
        .saturating_add(ciphertext);
    usize::try_from(total).unwrap_or(usize::MAX)
}

/// Everything of a seal that does not depend on the image's bytes: the
/// checks, the randomness (drawn in the order the test vectors fix: id,
/// content key, one stanza per recipient), the header with its MAC and the
/// record block.
struct Prepared<'a> {
    id: EnvelopeId,
    keys: key_schedule::Keys,
    /// Header ‖ header MAC.
    head: Vec<u8>,
    /// `record_len` ‖ record JSON: the start of the plaintext.
    prefix: Zeroizing<Vec<u8>>,
    ciphertext_len: usize,
    signing_key: Option<&'a DeviceSigningKey>,
}

impl Prepared<'_> {
    fn payload_end(&self) -> usize {
        self.head.len() + self.ciphertext_len
    }
    fn signature_len(&self) -> usize {
        if self.signing_key.is_some() {
            SIGNATURE_LEN
        } else {
            0
        }
    }
    fn total_len(&self) -> usize {
        self.payload_end() + self.signature_len()
    }
    /// Signs `out[..payload_end]` into the signature room after it.
    fn sign(&self, out: &mut [u8]) {
        if let Some(key) = self.signing_key {
            let end = self.payload_end();
            let signature = key.sign(&signature_message(&out[..end]));
            out[end..end + SIGNATURE_LEN].copy_from_slice(&signature);
        }
    }
}

fn prepare<'a>(
    image_len: usize,
    record_json: &[u8],
    recipients: &[Recipient],
    signer: Signer<'a>,
    created_at: u64,
    rng: &mut impl CryptoRng,
) -> Result<Prepared<'a>, SealError> {
    if recipients.is_empty() || recipients.len() > MAX_RECIPIENTS {
        return Err(SealError::Recipients("give between 1 and 64 recipients"));
    }
    let ids: std::collections::HashSet<RecipientId> =
        recipients.iter().map(Recipient::id).collect();
    if ids.len() != recipients.len() {
        return Err(SealError::Recipients("the same recipient is given twice"));
    }
    if record_json.len() > MAX_RECORD_LEN {
        return Err(SealError::TooLarge(record_json.len() as u64));
    }
    let (certificate, signing_key) = match signer {
        Signer::Device { key, certificate } => {
            if certificate.device_key() != &key.public() {
                return Err(SealError::SignerMismatch);
            }
            (Some(certificate.to_bytes()), Some(key))
        }
        Signer::Unsigned => (None, None),
    };
    let plaintext_len = 4 + record_json.len() as u64 + image_len as u64;
    if plaintext_len > header::MAX_PLAINTEXT_LEN {
        return Err(SealError::TooLarge(plaintext_len));
    }

    let id = EnvelopeId::random(rng);
    let mut content_key = Zeroizing::new([0u8; 32]);
    rng.fill_bytes(content_key.as_mut());
    let stanzas = recipients
        .iter()
        .map(|r| stanza::wrap(&content_key, r, &id, rng))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|_| SealError::BadRecipient)?;
    let keys = key_schedule::derive(&content_key, &id);

    let mut head = Vec::with_capacity(
        header::FIXED_LEN
            + stanzas.len() * header::STANZA_LEN
            + 2
            + certificate.as_ref().map_or(0, Vec::len)
            + MAC_LEN,
    );
    header::encode(
        &id,
        created_at,
        plaintext_len,
        &stanzas,
        certificate.as_deref(),
        &mut head,
    );
    let mac = key_schedule::header_mac(&keys.header_mac, &head);
    head.extend_from_slice(&mac);
    let mut prefix = Zeroizing::new(Vec::with_capacity(4 + record_json.len()));
    prefix.extend_from_slice(&(record_json.len() as u32).to_be_bytes());
    prefix.extend_from_slice(record_json);
    Ok(Prepared {
        id,
        keys,
        head,
        prefix,
        ciphertext_len: header::ciphertext_len(plaintext_len) as usize,
        signing_key,
    })
}

/// What [`open`] returns: the image, its record and who sent it.
pub struct Opened {
    /// The envelope's id.
    pub id: EnvelopeId,
    /// Creation time claimed by the sender (unix seconds).
    pub created_at: u64,
    /// The clinical record.
    pub record: ClinicalRecord,
    /// The sanitized image, zeroed when dropped.
    pub image: Zeroizing<Vec<u8>>,
    /// Who sealed it.
    pub sender: Sender,
}

impl std::fmt::Debug for Opened {
    // Never prints the image or the record's patient data.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Opened")
            .field("id", &self.id)
            .field("created_at", &self.created_at)
            .field("image", &format_args!("<{} bytes>", self.image.len()))
            .field("sender", &self.sender)
            .finish_non_exhaustive()
    }
}

/// The sender of an opened envelope.
#[derive(Debug, Clone)]
pub enum Sender {
    /// Unsigned: provenance unknown.
    Unsigned,
    /// Signed by a device; the signature verified against the certificate's key.
    Device {
        /// The certificate carried in the envelope.
        certificate: Box<DeviceCertificate>,
        /// Whether the certificate chains to the organisation key.
        status: CertificateStatus,
    },
}

/// Result of checking a device certificate against the organisation key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CertificateStatus {
    /// Signed by the organisation and valid when the envelope was made.
    Verified,
    /// No organisation key was given, so it was not checked.
    NotChecked,
    /// Rejected, and why.
    Rejected(CertificateError),
}

/// Opens `envelope` with `identity`. With `org`, also checks the sender's
/// certificate against the organisation key (valid at the envelope's
/// creation time). No plaintext is returned unless every check passed.
pub fn open(
    envelope: &[u8],
    identity: &RecipientIdentity,
    org: Option<&OrgPublicKey>,
) -> Result<Opened, OpenError> {
    let (h, keys) = authenticate(envelope, identity)?;
    let plaintext = stream::open_into(
        &keys.payload,
        &envelope[h.payload_at..h.payload_end],
        h.plaintext_len as usize,
    );
    finish_open(h, plaintext, org)
}

/// [`open`], decrypting inside the envelope's own buffer: the image is
/// returned in the buffer that held the envelope, at offset 0, so no second
/// buffer of the image's size is allocated. The same checks in the same
/// order; no plaintext is returned unless every one passed, and on a
/// failure after decryption began the buffer is zeroed.
pub fn open_owned(
    envelope: Vec<u8>,
    identity: &RecipientIdentity,
    org: Option<&OrgPublicKey>,
) -> Result<Opened, OpenError> {
    let (h, keys) = authenticate(&envelope, identity)?;
    let plaintext = stream::open_in_place(
        &keys.payload,
        envelope,
        h.payload_at,
        h.plaintext_len as usize,
    );
    finish_open(h, plaintext, org)
}

/// Steps 1–5 of docs/FORMAT.md §7: structure, own stanza, content key,
/// header MAC, signature. Returns the header and the derived keys.
fn authenticate(
    envelope: &[u8],
    identity: &RecipientIdentity,
) -> Result<(Header, key_schedule::Keys), OpenError> {
    let h = header::parse(envelope)?;
    let me = identity.recipient().id();
    let stanza = h
        .stanzas
        .iter()
        .find(|s| s.recipient == me)
        .ok_or(OpenError::NotARecipient)?;
    let content_key = stanza::unwrap(stanza, identity, &h.id).map_err(|_| OpenError::Decrypt)?;
    let keys = key_schedule::derive(&content_key, &h.id);
    if !key_schedule::check_header_mac(&keys.header_mac, &envelope[..h.mac_at], h.mac(envelope)) {
        return Err(OpenError::Decrypt);
    }
    if let Some(cert) = &h.certificate {
        check_signature(envelope, &h, cert).map_err(|()| OpenError::BadSignature)?;
    }
    Ok((h, keys))
}

/// Steps 6–7: the payload's outcome, the record parsed, the sender checked.
#[allow(clippy::type_complexity)]
fn finish_open(
    h: Header,
    plaintext: Result<(Zeroizing<Vec<u8>>, Zeroizing<Vec<u8>>), stream::OpenFail>,
    org: Option<&OrgPublicKey>,
) -> Result<Opened, OpenError> {
    let (record_block, image) = plaintext.map_err(|e| match e {
        stream::OpenFail::Decrypt => OpenError::Decrypt,
        stream::OpenFail::Record(why) => OpenError::Record(why.to_string()),
    })?;
    // On an error here `image` drops, zeroed.
    let record = ClinicalRecord::from_json(&record_block[4..])
        .map_err(|e| OpenError::Record(e.to_string()))?;
    let sender = match h.certificate {
        None => Sender::Unsigned,
        Some(certificate) => {
            let status = match org {
                None => CertificateStatus::NotChecked,
                Some(org) => match certificate.verify(org, h.created_at) {
                    Ok(()) => CertificateStatus::Verified,
                    Err(e) => CertificateStatus::Rejected(e),
                },
            };
            Sender::Device {
                certificate: Box::new(certificate),
                status,
            }
        }
    };
    Ok(Opened {
        id: h.id,
        created_at: h.created_at,
        record,
        image,
        sender,
    })
}

/// The plaintext routing header: what the store may see.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoutingHeader {
    /// Envelope id.
    pub id: EnvelopeId,
    /// Creation time claimed by the sender (unix seconds).
    pub created_at: u64,
    /// Total envelope length in bytes.
    pub envelope_len: u64,
    /// Inner plaintext length (record block + image).
    pub plaintext_len: u64,
    /// The recipients' key ids, in stanza order.
    pub recipients: Vec<RecipientId>,
    /// The signing device, for signed envelopes.
    pub sender: Option<DeviceId>,
}

/// Parses the routing header without any key: structure and lengths only.
/// Nothing here is authenticated; use [`verify`] or [`open`] for that.
/// [`EnvelopeStream`] gives the same answer for an envelope arriving in pieces.
pub fn inspect(envelope: &[u8]) -> Result<RoutingHeader, FormatError> {
    header::parse(envelope).map(|h| routing(&h, envelope.len()))
}

/// Checks an envelope without a recipient key, as the store does on
/// receipt: its structure, that it is signed, that the device certificate
/// chains to `org` and is valid both at the envelope's creation time and at
/// `now` (the time of receipt: the creation time is the signer's word, so
/// an envelope sealed with a clock set back does not outlive its
/// certificate), that the creation time is not in the future (beyond
/// [`MAX_CLOCK_SKEW_SECS`] after `now`), and the device signature over the
/// header and ciphertext.
///
/// [`EnvelopeStream`] gives the same answer for an envelope arriving in pieces.
pub fn verify(envelope: &[u8], org: &OrgPublicKey, now: u64) -> Result<RoutingHeader, VerifyError> {
    let h = header::parse(envelope)?;
    check_provenance(
        &h,
        || blake3_digest(&envelope[..h.payload_end]),
        &envelope[h.payload_end..],
        org,
        now,
    )?;
    Ok(routing(&h, envelope.len()))
}

/// The store's checks after the structure (docs/FORMAT.md §6, steps 2–4),
/// in order: signed at all, certificate against `org` at `created_at`, not
/// from the future, device signature. The one implementation, for
/// [`verify`] and [`StreamedEnvelope::verify`]. `signed_digest` gives
/// BLAKE3 of `envelope[..payload_end]`; it is only called once the cheaper
/// checks have passed. `signature` is `envelope[payload_end..]`.
fn check_provenance(
    h: &Header,
    signed_digest: impl FnOnce() -> blake3::Hash,
    signature: &[u8],
    org: &OrgPublicKey,
    now: u64,
) -> Result<(), VerifyError> {
    let cert = h.certificate.as_ref().ok_or(VerifyError::Unsigned)?;
    cert.verify(org, h.created_at)
        .map_err(VerifyError::Certificate)?;
    if h.created_at > now.saturating_add(MAX_CLOCK_SKEW_SECS) {
        return Err(VerifyError::FromTheFuture);
    }
    cert.verify(org, now)
        .map_err(VerifyError::CertificateAtReceipt)?;
    check_device_signature(cert, &signed_digest(), signature)
        .map_err(|()| VerifyError::BadSignature)
}

fn routing(h: &Header, len: usize) -> RoutingHeader {
    RoutingHeader {
        id: h.id,
        created_at: h.created_at,
        envelope_len: len as u64,
        plaintext_len: h.plaintext_len,
        recipients: h.stanzas.iter().map(|s| s.recipient).collect(),
        sender: h.certificate.as_ref().map(|c| c.device_key().id()),
    }
}

/// The message the device signs: context ‖ BLAKE3(everything before the signature).
fn signature_message(signed_part: &[u8]) -> Vec<u8> {
    signature_message_of(&blake3_digest(signed_part))
}

/// The signed message, from the digest of the signed part.
fn signature_message_of(signed_digest: &blake3::Hash) -> Vec<u8> {
    let mut m = SIGNATURE_CONTEXT.to_vec();
    m.extend_from_slice(signed_digest.as_bytes());
    m
}

/// Inputs from this size on are hashed on all cores (blake3's `rayon`
/// feature; the same digest, BLAKE3 is a tree). Not in WebAssembly, which
/// has no threads here.
#[cfg(not(target_family = "wasm"))]
const PARALLEL_BLAKE3_FROM: usize = 256 * 1024;

/// BLAKE3 of `data`, on every core for large inputs.
pub(crate) fn blake3_digest(data: &[u8]) -> blake3::Hash {
    #[cfg(not(target_family = "wasm"))]
    if data.len() >= PARALLEL_BLAKE3_FROM {
        let mut h = blake3::Hasher::new();
        h.update_rayon(data);
        return h.finalize();
    }
    blake3::hash(data)
}

/// The device signature of a parsed, signed `envelope`.
fn check_signature(envelope: &[u8], h: &Header, cert: &DeviceCertificate) -> Result<(), ()> {
    check_device_signature(
        cert,
        &blake3_digest(&envelope[..h.payload_end]),
        &envelope[h.payload_end..],
    )
}

/// Ed25519 (strict) of `signature` over the message for `signed_digest`,
/// with the certificate's device key. A `signature` that is not exactly
/// [`SIGNATURE_LEN`] bytes fails (after [`header::parse`] it always is).
fn check_device_signature(
    cert: &DeviceCertificate,
    signed_digest: &blake3::Hash,
    signature: &[u8],
) -> Result<(), ()> {
    let sig = <[u8; SIGNATURE_LEN]>::try_from(signature).map_err(|_| ())?;
    cert.device_key()
        .verify(&signature_message_of(signed_digest), &sig)
        .map_err(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn owned_capacity_adds_up_and_saturates() {
        let expected = header::FIXED_LEN
            + 2 * header::STANZA_LEN
            + 2
            + header::MAX_CERTIFICATE_LEN
            + MAC_LEN
            + header::ciphertext_len((4 + MAX_RECORD_LEN + 1000) as u64) as usize
            + SIGNATURE_LEN;
        assert_eq!(owned_capacity(1000, 2), expected);
        // These used to overflow (a panic in a debug build).
        assert_eq!(owned_capacity(usize::MAX, 1), usize::MAX);
        assert_eq!(owned_capacity(0, usize::MAX), usize::MAX);
        assert_eq!(owned_capacity(usize::MAX - 70_000, 64), usize::MAX);
    }
}
