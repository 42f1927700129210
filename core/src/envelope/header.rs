//! The plaintext routing header: what the store and a network observer may
//! see. It names the envelope, its recipients' key ids, sizes, the time and
//! the sender's certificate — never patient data. Encoding and strict
//! parsing per docs/FORMAT.md §3.

use super::error::FormatError;
use super::EnvelopeId;
use crate::keys::{DeviceCertificate, RecipientId};

/// First bytes of every envelope: PNG-style, so 7-bit transport and
/// newline conversion are detected.
pub const MAGIC: [u8; 8] = [0x89, b'S', b'C', b'M', 0x0D, 0x0A, 0x1A, 0x0A];
/// The only format version this code reads and writes.
pub const VERSION: u8 = 1;
/// Flags bit 0: the envelope carries a device certificate and signature.
pub const FLAG_SIGNED: u8 = 0x01;
/// Plaintext bytes per STREAM chunk.
pub const CHUNK_SIZE: usize = 64 * 1024;
/// AES-GCM tag length.
pub const TAG_LEN: usize = 16;
/// Ed25519 signature length.
pub const SIGNATURE_LEN: usize = 64;
/// Header MAC length (HMAC-SHA256).
pub const MAC_LEN: usize = 32;
/// One recipient stanza: recipient id (16), HPKE encapsulated key (32),
/// wrapped content key (32 + 16 tag).
pub const STANZA_LEN: usize = 16 + 32 + 48;
/// At most this many recipients.
pub const MAX_RECIPIENTS: usize = 64;
/// Largest certificate accepted.
pub const MAX_CERTIFICATE_LEN: usize = 4096;
/// Largest inner plaintext (record + image): 256 MiB of image plus 1 MiB.
pub const MAX_PLAINTEXT_LEN: u64 = 257 * 1024 * 1024;
/// Bytes before the stanzas: magic, version, flags, id, created_at, plaintext_len, count.
pub const FIXED_LEN: usize = 8 + 1 + 1 + 16 + 8 + 8 + 1;
/// Longest possible header, MAC included (the offset of the first payload
/// byte): the 43 fixed bytes, [`MAX_RECIPIENTS`] stanzas of 96 bytes, the
/// longest certificate (4096 bytes) with its 2-byte length, and the 32-byte
/// MAC: 10 317 bytes (docs/FORMAT.md §10). An incremental reader never
/// buffers more.
pub const MAX_HEADER_LEN: usize =
    FIXED_LEN + MAX_RECIPIENTS * STANZA_LEN + 2 + MAX_CERTIFICATE_LEN + MAC_LEN;

/// One recipient's stanza: the content key wrapped to them with HPKE.
#[derive(Clone, PartialEq, Eq)]
pub struct Stanza {
    /// Which recipient key this is for.
    pub recipient: RecipientId,
    /// HPKE encapsulated (ephemeral public) key.
    pub enc: [u8; 32],
    /// The 32-byte content key sealed with HPKE, plus its 16-byte tag.
    pub wrapped_key: [u8; 48],
}

impl std::fmt::Debug for Stanza {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Stanza({})", self.recipient)
    }
}

/// A parsed header plus where the parts of the envelope lie.
#[derive(Debug, Clone)]
pub struct Header {
    /// The envelope's random identifier.
    pub id: EnvelopeId,
    /// Creation time claimed by the sender (unix seconds).
    pub created_at: u64,
    /// Length of the inner plaintext (record block + image).
    pub plaintext_len: u64,
    /// One stanza per recipient.
    pub stanzas: Vec<Stanza>,
    /// The sender's device certificate, for signed envelopes.
    pub certificate: Option<DeviceCertificate>,
    /// Offset of the header MAC (= length of the MAC input).
    pub mac_at: usize,
    /// Offset of the first payload byte (= header length).
    pub payload_at: usize,
    /// Offset one past the payload (= where the signature starts).
    pub payload_end: usize,
    /// The exact length the whole envelope must have (signature included).
    pub envelope_len: usize,
}

impl Header {
    /// The header MAC as stored.
    pub fn mac<'a>(&self, envelope: &'a [u8]) -> &'a [u8] {
        &envelope[self.mac_at..self.payload_at]
    }
}

/// Number of STREAM chunks for a plaintext of `len` bytes (at least one).
pub fn chunk_count(len: u64) -> u64 {
    len.div_ceil(CHUNK_SIZE as u64).max(1)
}

/// Ciphertext length of a plaintext of `len` bytes.
pub fn ciphertext_len(len: u64) -> u64 {
    len + TAG_LEN as u64 * chunk_count(len)
}

/// Writes the header up to (not including) the MAC.
pub fn encode(
    id: &EnvelopeId,
    created_at: u64,
    plaintext_len: u64,
    stanzas: &[Stanza],
    certificate: Option<&[u8]>,
    out: &mut Vec<u8>,
) {
    out.extend_from_slice(&MAGIC);
    out.push(VERSION);
    out.push(if certificate.is_some() {
        FLAG_SIGNED
    } else {
        0
    });
    out.extend_from_slice(&id.0);
    out.extend_from_slice(&created_at.to_be_bytes());
    out.extend_from_slice(&plaintext_len.to_be_bytes());
    out.push(stanzas.len() as u8);
    for s in stanzas {
        out.extend_from_slice(&s.recipient.0);
        out.extend_from_slice(&s.enc);
        out.extend_from_slice(&s.wrapped_key);
    }
    if let Some(cert) = certificate {
        out.extend_from_slice(&(cert.len() as u16).to_be_bytes());
        out.extend_from_slice(cert);
    }
}

/// Parses and checks the header of `b`, and that the whole envelope has
/// exactly the length the header implies. No cryptography.
pub fn parse(b: &[u8]) -> Result<Header, FormatError> {
    let h = parse_prefix(b)?;
    match b.len().cmp(&h.envelope_len) {
        std::cmp::Ordering::Less => Err(FormatError::Truncated),
        std::cmp::Ordering::Greater => Err(FormatError::TrailingBytes),
        std::cmp::Ordering::Equal => Ok(h),
    }
}

/// Parses and checks the header (up to and including its MAC) at the start
/// of `b`, which may be only a prefix of the envelope: what follows the
/// header is not looked at. [`FormatError::Truncated`] if `b` ends before
/// the header does. No cryptography.
pub fn parse_prefix(b: &[u8]) -> Result<Header, FormatError> {
    parse_head(b).map_err(|e| match e {
        Incomplete::Need(_) => FormatError::Truncated,
        Incomplete::Format(e) => e,
    })
}

/// Why [`parse_head`] returned no header.
#[derive(Debug)]
pub(crate) enum Incomplete {
    /// `b` ends before the header does; nothing read so far is wrong. The
    /// parser cannot go further with fewer than this many bytes (always
    /// more than it was given, at most [`MAX_HEADER_LEN`]).
    Need(usize),
    /// The bytes read so far cannot start a well-formed envelope, whatever
    /// follows them.
    Format(FormatError),
}

impl From<FormatError> for Incomplete {
    fn from(e: FormatError) -> Self {
        Incomplete::Format(e)
    }
}

/// The header parser behind [`parse_prefix`] and [`parse`]. The fields are
/// read in order and every check depends only on bytes already read, so a
/// prefix of an envelope gives either the envelope's own header, or the
/// error the whole envelope gives, or [`Incomplete::Need`]: an incremental
/// reader can run it on what it has so far.
pub(crate) fn parse_head(b: &[u8]) -> Result<Header, Incomplete> {
    if b.len() < FIXED_LEN {
        return Err(if b.starts_with(&MAGIC) || MAGIC.starts_with(b) {
            // Each further byte of the magic may still prove it wrong;
            // after the magic, the fixed fields are read together.
            Incomplete::Need(if b.len() < MAGIC.len() {
                b.len() + 1
            } else {
                FIXED_LEN
            })
        } else {
            Incomplete::Format(FormatError::NotAnEnvelope)
        });
    }
    if b[..8] != MAGIC {
        return Err(FormatError::NotAnEnvelope.into());
    }
    if b[8] != VERSION {
        return Err(FormatError::UnsupportedVersion(b[8]).into());
    }
    let flags = b[9];
    if flags & !FLAG_SIGNED != 0 {
        return Err(FormatError::Malformed("unknown flag bits set").into());
    }
    let signed = flags & FLAG_SIGNED != 0;
    let mut id = [0u8; 16];
    id.copy_from_slice(&b[10..26]);
    let created_at = u64::from_be_bytes(array8(&b[26..34]));
    let plaintext_len = u64::from_be_bytes(array8(&b[34..42]));
    if plaintext_len > MAX_PLAINTEXT_LEN {
        return Err(FormatError::Malformed("payload larger than the format allows").into());
    }
    let count = usize::from(b[42]);
    if count == 0 || count > MAX_RECIPIENTS {
        return Err(FormatError::Malformed("recipient count must be 1 to 64").into());
    }
    let mut at = FIXED_LEN;
    let mut stanzas = Vec::with_capacity(count);
    for _ in 0..count {
        let s = field(b, at, STANZA_LEN)?;
        let mut recipient = [0u8; 16];
        recipient.copy_from_slice(&s[..16]);
        let mut enc = [0u8; 32];
        enc.copy_from_slice(&s[16..48]);
        let mut wrapped_key = [0u8; 48];
        wrapped_key.copy_from_slice(&s[48..96]);
        let recipient = RecipientId(recipient);
        if stanzas.iter().any(|x: &Stanza| x.recipient == recipient) {
            return Err(FormatError::Malformed("the same recipient appears twice").into());
        }
        stanzas.push(Stanza {
            recipient,
            enc,
            wrapped_key,
        });
        at += STANZA_LEN;
    }
    let certificate = if signed {
        let len = field(b, at, 2)?;
        let len = usize::from(u16::from_be_bytes([len[0], len[1]]));
        if len == 0 || len > MAX_CERTIFICATE_LEN {
            return Err(FormatError::Malformed("certificate length out of range").into());
        }
        let cert = field(b, at + 2, len)?;
        at += 2 + len;
        Some(
            DeviceCertificate::from_bytes(cert)
                .map_err(|_| FormatError::Malformed("invalid device certificate"))?,
        )
    } else {
        None
    };
    let mac_at = at;
    let payload_at = mac_at + MAC_LEN;
    let payload_end = usize::try_from(ciphertext_len(plaintext_len))
        .ok()
        .and_then(|c| payload_at.checked_add(c))
        .ok_or(FormatError::Malformed("payload length overflows"))?;
    let envelope_len = payload_end
        .checked_add(if signed { SIGNATURE_LEN } else { 0 })
        .ok_or(FormatError::Malformed("payload length overflows"))?;
    if b.len() < payload_at {
        return Err(Incomplete::Need(payload_at));
    }
    Ok(Header {
        id: EnvelopeId(id),
        created_at,
        plaintext_len,
        stanzas,
        certificate,
        mac_at,
        payload_at,
        payload_end,
        envelope_len,
    })
}

/// `b[at .. at + len)`, or how many bytes are needed for it.
fn field(b: &[u8], at: usize, len: usize) -> Result<&[u8], Incomplete> {
    b.get(at..at + len).ok_or(Incomplete::Need(at + len))
}

fn array8(s: &[u8]) -> [u8; 8] {
    let mut a = [0u8; 8];
    a.copy_from_slice(s);
    a
}
