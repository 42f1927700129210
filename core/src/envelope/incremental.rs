//! Checking an envelope that arrives in pieces (an upload being received),
//! in one pass, without holding it: [`EnvelopeStream`].
//!
//! The header is buffered, at most [`MAX_HEADER_LEN`] bytes, and parsed
//! with the same parser as [`super::inspect`] as soon as it is complete;
//! every byte after it is only hashed, except the 64-byte signature, which
//! is kept aside. One BLAKE3 hasher runs over the whole envelope: its value
//! at the end of the payload is the digest the device signed (docs/FORMAT.md
//! §6), its value at the end is the digest of the whole envelope.
//!
//! The result is the same as the whole-buffer functions on the same bytes:
//! [`StreamedEnvelope::routing`] is what [`super::inspect`] returns,
//! [`StreamedEnvelope::verify`] what [`super::verify`] returns, and every
//! structural error is the [`FormatError`] they would give.

use super::error::{FormatError, VerifyError};
use super::header::{self, Header, Incomplete, MAX_HEADER_LEN, SIGNATURE_LEN};
use super::{check_provenance, routing, RoutingHeader};
use crate::keys::OrgPublicKey;

/// Checks an envelope that arrives in pieces, without holding it: the
/// header is buffered (at most [`MAX_HEADER_LEN`] bytes) and parsed as soon
/// as it is complete; the rest is only hashed (the 64-byte signature is
/// also kept). Feed the bytes in order with [`update`](Self::update), in
/// pieces of any size, then call [`finish`](Self::finish).
///
/// The first error is final: later calls return it again.
pub struct EnvelopeStream {
    /// Over every byte accepted so far.
    hasher: blake3::Hasher,
    /// Bytes passed to `update`, up to and including the call that failed.
    len: u64,
    /// The header's bytes while it is incomplete; emptied (and freed) once
    /// it is parsed. Never longer than [`MAX_HEADER_LEN`].
    head: Vec<u8>,
    /// The parser needs at least this many header bytes to go on.
    need: usize,
    /// Once parsed.
    header: Option<Header>,
    /// BLAKE3 of `envelope[..payload_end]`, once that far.
    signed_digest: Option<blake3::Hash>,
    /// The signature bytes received so far: `signature[..signature_len]`.
    signature: [u8; SIGNATURE_LEN],
    signature_len: usize,
    /// The first error, once one occurred.
    failed: Option<FormatError>,
}

impl Default for EnvelopeStream {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for EnvelopeStream {
    // Never prints envelope bytes.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EnvelopeStream")
            .field("len", &self.len)
            .field("expected_len", &self.expected_len())
            .field("failed", &self.failed)
            .finish_non_exhaustive()
    }
}

impl EnvelopeStream {
    /// A stream at the start of an envelope.
    pub fn new() -> Self {
        EnvelopeStream {
            hasher: blake3::Hasher::new(),
            len: 0,
            head: Vec::new(),
            // The first byte already decides whether the magic can match.
            need: 1,
            header: None,
            signed_digest: None,
            signature: [0; SIGNATURE_LEN],
            signature_len: 0,
            failed: None,
        }
    }

    /// Feeds the next bytes. Fails as soon as the bytes so far cannot be
    /// the start of a well-formed envelope: the header is refused with the
    /// [`FormatError`] [`super::inspect`] would give for it (the magic is
    /// checked byte by byte, the version and flags once the 43 fixed bytes
    /// are in, each further field as it completes), and a byte beyond the
    /// length the header announces is [`FormatError::TrailingBytes`].
    /// Payload bytes are hashed, never copied.
    pub fn update(&mut self, bytes: &[u8]) -> Result<(), FormatError> {
        if let Some(e) = &self.failed {
            return Err(e.clone());
        }
        self.len = self.len.saturating_add(bytes.len() as u64);
        let result = self.feed(bytes);
        if let Err(e) = &result {
            self.failed = Some(e.clone());
            // Nothing more will be read: release the buffer.
            self.head = Vec::new();
        }
        result
    }

    /// Once the header is parsed: the exact total length the envelope must
    /// have, signature included (so an oversized upload can be refused
    /// before it is received). `None` before.
    pub fn expected_len(&self) -> Option<u64> {
        self.header.as_ref().map(|h| h.envelope_len as u64)
    }

    /// Bytes fed so far (by every call to [`update`](Self::update) up to
    /// and including the first that failed).
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Whether no byte has been fed yet.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Ends the stream. [`FormatError::Truncated`] if fewer bytes came than
    /// the header announces (or the header itself is incomplete); the
    /// error of a failed [`update`](Self::update) otherwise.
    pub fn finish(self) -> Result<StreamedEnvelope, FormatError> {
        if let Some(e) = self.failed {
            return Err(e);
        }
        let Some(header) = self.header else {
            // An incomplete header: `parse` of these bytes says `Truncated`
            // too (the parser asked for more than there is).
            return Err(FormatError::Truncated);
        };
        if self.len != header.envelope_len as u64 {
            // Longer would have failed in `update`.
            return Err(FormatError::Truncated);
        }
        let Some(signed_digest) = self.signed_digest else {
            // Set when the payload's last byte came, before the end.
            return Err(FormatError::Truncated);
        };
        Ok(StreamedEnvelope {
            header,
            signed_digest,
            digest: self.hasher.finalize(),
            signature: self.signature,
            signature_len: self.signature_len,
        })
    }

    fn feed(&mut self, mut bytes: &[u8]) -> Result<(), FormatError> {
        if self.header.is_none() {
            bytes = self.feed_header(bytes)?;
            if self.header.is_none() {
                return Ok(());
            }
        }
        self.feed_body(bytes)
    }

    /// Takes the header's bytes from the front of `bytes`, parsing each time
    /// the parser has what it asked for; returns the bytes after the header
    /// (empty while it is incomplete).
    fn feed_header<'a>(&mut self, mut bytes: &'a [u8]) -> Result<&'a [u8], FormatError> {
        if self.head.is_empty() && !bytes.is_empty() {
            // Nothing buffered: try the caller's piece as it is, so that an
            // upload arriving in large pieces is parsed once, without a copy.
            match header::parse_head(bytes) {
                Ok(h) => return Ok(self.header_done(h, bytes)),
                Err(Incomplete::Need(n)) => self.need = n,
                Err(Incomplete::Format(e)) => return Err(e),
            }
        }
        loop {
            // Only header bytes are copied: the parser never asks for more
            // than the header's length.
            let take = bytes.len().min(self.need.saturating_sub(self.head.len()));
            self.head.extend_from_slice(&bytes[..take]);
            bytes = &bytes[take..];
            if self.head.len() < self.need {
                return Ok(bytes);
            }
            match header::parse_head(&self.head) {
                Ok(h) => {
                    let head = std::mem::take(&mut self.head);
                    let rest = self.header_done(h, &head);
                    // The parser's last request was the header's length.
                    debug_assert!(rest.is_empty());
                    return Ok(bytes);
                }
                Err(Incomplete::Need(n)) if n > self.head.len() && n <= MAX_HEADER_LEN => {
                    self.need = n;
                }
                // Cannot happen (the parser asks for more than it has, and
                // never more than the longest header); refuse rather than
                // loop or buffer without bound.
                Err(Incomplete::Need(_)) => {
                    return Err(FormatError::Malformed(
                        "header longer than the format allows",
                    ))
                }
                Err(Incomplete::Format(e)) => return Err(e),
            }
        }
    }

    /// Records the parsed header and hashes its bytes (the front of
    /// `bytes`); returns the rest of `bytes`.
    fn header_done<'a>(&mut self, h: Header, bytes: &'a [u8]) -> &'a [u8] {
        let (head, rest) = bytes.split_at(h.payload_at);
        self.hasher.update(head);
        self.header = Some(h);
        rest
    }

    /// Hashes payload and signature bytes, keeping the signature aside.
    fn feed_body(&mut self, bytes: &[u8]) -> Result<(), FormatError> {
        let Some(h) = &self.header else {
            return Ok(());
        };
        let (payload_end, total) = (h.payload_end as u64, h.envelope_len as u64);
        // Where `bytes` ends (`len` already counts them) and starts.
        let end = self.len;
        if end > total {
            return Err(FormatError::TrailingBytes);
        }
        let start = end - bytes.len() as u64;
        // Fewer than `payload_end` (a `usize`) bytes: the cast is lossless.
        let in_payload = payload_end.saturating_sub(start).min(bytes.len() as u64) as usize;
        let (payload, signature) = bytes.split_at(in_payload);
        if !payload.is_empty() {
            // Plain `update`: many uploads are checked at once on few cores.
            self.hasher.update(payload);
            if start + in_payload as u64 == payload_end {
                self.signed_digest = Some(self.hasher.finalize());
            }
        }
        if !signature.is_empty() {
            self.hasher.update(signature);
            // At most `total - payload_end` ≤ 64 bytes, checked above.
            let at = self.signature_len;
            self.signature[at..at + signature.len()].copy_from_slice(signature);
            self.signature_len += signature.len();
        }
        Ok(())
    }
}

/// A whole, well-formed envelope checked by [`EnvelopeStream`]: its header
/// and digests. Holds no payload byte.
pub struct StreamedEnvelope {
    header: Header,
    /// BLAKE3 of `envelope[..payload_end]`: what the device signed.
    signed_digest: blake3::Hash,
    /// BLAKE3 of the whole envelope.
    digest: blake3::Hash,
    signature: [u8; SIGNATURE_LEN],
    signature_len: usize,
}

impl std::fmt::Debug for StreamedEnvelope {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StreamedEnvelope")
            .field("id", &self.header.id)
            .field("len", &self.header.envelope_len)
            .field("signed", &self.header.certificate.is_some())
            .finish_non_exhaustive()
    }
}

impl StreamedEnvelope {
    /// BLAKE3 of the whole envelope, every byte including the signature.
    pub fn digest(&self) -> [u8; 32] {
        *self.digest.as_bytes()
    }

    /// The routing header: exactly what [`super::inspect`] returns for the
    /// same bytes. Nothing in it is authenticated; see [`Self::verify`].
    pub fn routing(&self) -> RoutingHeader {
        routing(&self.header, self.header.envelope_len)
    }

    /// The store's check: exactly what [`super::verify`] returns for the
    /// same bytes (the same checks in the same order, the same errors).
    pub fn verify(&self, org: &OrgPublicKey, now: u64) -> Result<RoutingHeader, VerifyError> {
        check_provenance(
            &self.header,
            || self.signed_digest,
            &self.signature[..self.signature_len],
            org,
            now,
        )?;
        Ok(self.routing())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::envelope::header::{FIXED_LEN, MAGIC};

    #[test]
    fn max_header_len_is_the_format_limit() {
        // FORMAT.md §3 and §10: 43 fixed bytes, 64 stanzas of 96 bytes,
        // cert_len (2) and a 4096-byte certificate, the 32-byte MAC.
        assert_eq!(MAX_HEADER_LEN, 43 + 64 * 96 + 2 + 4096 + 32);
        assert_eq!(MAX_HEADER_LEN, 10_317);
    }

    #[test]
    fn wrong_first_byte_fails_at_once() {
        let mut s = EnvelopeStream::new();
        assert_eq!(s.update(b"{"), Err(FormatError::NotAnEnvelope));
        // Sticky.
        assert_eq!(s.update(&MAGIC), Err(FormatError::NotAnEnvelope));
        assert_eq!(s.len(), 1);
        assert_eq!(s.finish().err(), Some(FormatError::NotAnEnvelope));
    }

    #[test]
    fn magic_is_checked_byte_by_byte() {
        let mut s = EnvelopeStream::new();
        s.update(&MAGIC[..5]).expect("a prefix of the magic");
        assert_eq!(s.update(b"x"), Err(FormatError::NotAnEnvelope));
    }

    #[test]
    fn version_is_refused_with_the_fixed_fields() {
        let mut b = [0u8; FIXED_LEN];
        b[..8].copy_from_slice(&MAGIC);
        b[8] = 2;
        let mut s = EnvelopeStream::new();
        s.update(&b[..FIXED_LEN - 1]).expect("not complete yet");
        assert!(s.expected_len().is_none());
        assert_eq!(
            s.update(&b[FIXED_LEN - 1..]),
            Err(FormatError::UnsupportedVersion(2))
        );
    }

    #[test]
    fn empty_and_partial_headers_are_truncated() {
        assert_eq!(
            EnvelopeStream::new().finish().err(),
            Some(FormatError::Truncated)
        );
        let mut s = EnvelopeStream::default();
        s.update(&MAGIC).expect("magic");
        assert!(!s.is_empty());
        assert_eq!(s.finish().err(), Some(FormatError::Truncated));
    }

    #[test]
    fn header_buffer_never_exceeds_the_longest_header() {
        // A header announcing 64 recipients and a 4096-byte certificate,
        // fed a byte at a time: the buffer grows only to what the parser
        // asks for, and the stanzas (all zero) are refused as duplicates
        // once the second is complete.
        let mut b = vec![0u8; MAX_HEADER_LEN + 100];
        b[..8].copy_from_slice(&MAGIC);
        b[8] = 1;
        b[9] = 1;
        b[42] = 64;
        let mut s = EnvelopeStream::new();
        let mut failed_at = None;
        for (i, byte) in b.iter().enumerate() {
            assert!(s.head.len() <= MAX_HEADER_LEN);
            if let Err(e) = s.update(std::slice::from_ref(byte)) {
                assert_eq!(
                    e,
                    FormatError::Malformed("the same recipient appears twice")
                );
                failed_at = Some(i);
                break;
            }
        }
        assert_eq!(failed_at, Some(FIXED_LEN + 2 * 96 - 1));
        assert!(s.head.capacity() == 0, "buffer released after the error");
    }
}
