//! The payload: AES-256-GCM in STREAM form (aead-stream's `StreamBE32`),
//! 64 KiB plaintext chunks, nonce = 7 zero bytes ‖ u32 BE chunk counter ‖
//! last-chunk flag (docs/FORMAT.md §5). Truncation, reordering and chunk
//! swaps all fail authentication.
//!
//! The plaintext is `prefix ‖ image`, where the prefix is the record block
//! (`record_len` ‖ record JSON). Each direction has two forms:
//!
//! - from one buffer into another ([`seal_into`], [`open_into`]): every
//!   chunk is encrypted or decrypted straight from its source to its final
//!   place (AES-GCM in/out), with no copy in between; only a chunk that
//!   holds part of the prefix goes through a 64 KiB scratch buffer;
//! - inside one buffer ([`seal_in_place`], [`open_in_place`]): the image's
//!   own buffer becomes the envelope and back, so no second buffer of the
//!   image's size is ever allocated.
//!
//! A test checks the nonces against aead-stream's `StreamBE32`.

use aes_gcm::aead::inout::InOutBuf;
use aes_gcm::aead::{self, AeadInOut, Nonce};
use aes_gcm::{Aes256Gcm, KeyInit, Tag};
use zeroize::{Zeroize, Zeroizing};

use super::header::{chunk_count, CHUNK_SIZE, TAG_LEN};
use super::MAX_RECORD_LEN;

/// Why [`open_into`] or [`open_in_place`] failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpenFail {
    /// A chunk failed authentication (or the payload is malformed).
    Decrypt,
    /// Every chunk authenticated, but the record block's length is invalid.
    Record(&'static str),
}

fn cipher(key: &[u8; 32]) -> Aes256Gcm {
    <Aes256Gcm as KeyInit>::new(key.into())
}

/// STREAM nonce of chunk `i`: 7 zero bytes ‖ u32 BE `i` ‖ last-chunk flag.
fn nonce(i: usize, last: bool) -> Result<Nonce<Aes256Gcm>, aead::Error> {
    let counter = u32::try_from(i).map_err(|_| aead::Error)?;
    let mut n = Nonce::<Aes256Gcm>::default();
    n[7..11].copy_from_slice(&counter.to_be_bytes());
    n[11] = u8::from(last);
    Ok(n)
}

/// Plaintext length of chunk `i` of `n` for a payload of `len` bytes.
fn chunk_len(len: usize, i: usize, n: usize) -> usize {
    if i + 1 < n {
        CHUNK_SIZE
    } else {
        len - CHUNK_SIZE * (n - 1)
    }
}

/// Encrypts `prefix ‖ image` into `out`, which must be exactly
/// `ciphertext_len(prefix.len() + image.len())` bytes.
pub fn seal_into(
    key: &[u8; 32],
    prefix: &[u8],
    image: &[u8],
    out: &mut [u8],
) -> Result<(), aead::Error> {
    let k = prefix.len();
    let len = k + image.len();
    let n = chunk_count(len as u64) as usize;
    if out.len() != len + n * TAG_LEN {
        return Err(aead::Error);
    }
    let c = cipher(key);
    for i in 0..n {
        let clen = chunk_len(len, i, n);
        let (a, b) = (i * CHUNK_SIZE, i * CHUNK_SIZE + clen);
        let at = i * (CHUNK_SIZE + TAG_LEN);
        let (data, tag_room) = out[at..at + clen + TAG_LEN].split_at_mut(clen);
        let nonce = nonce(i, i + 1 == n)?;
        let tag = if a >= k {
            let buf = InOutBuf::new(&image[a - k..b - k], data).map_err(|_| aead::Error)?;
            c.encrypt_inout_detached(&nonce, b"", buf)?
        } else {
            // Chunk holding (part of) the prefix: assembled in its slot.
            let p = b.min(k) - a;
            data[..p].copy_from_slice(&prefix[a..a + p]);
            data[p..].copy_from_slice(&image[..clen - p]);
            c.encrypt_inout_detached(&nonce, b"", data.into())?
        };
        tag_room.copy_from_slice(&tag);
    }
    Ok(())
}

/// Encrypts `prefix ‖ image` where the image is `buf[..image_len]`, writing
/// the ciphertext to `buf[payload_at .. payload_at + ciphertext_len]` (the
/// caller has grown `buf` to hold it, and writes the header in front).
///
/// Chunks are done from the last to the first: chunk `i`'s ciphertext goes
/// to `payload_at + 16·i + (its plaintext offset)`, at or after where its
/// image bytes are now, and after every image byte of the chunks before it,
/// so nothing is overwritten before it is encrypted.
pub fn seal_in_place(
    key: &[u8; 32],
    prefix: &[u8],
    image_len: usize,
    buf: &mut [u8],
    payload_at: usize,
) -> Result<(), aead::Error> {
    let k = prefix.len();
    let len = k + image_len;
    let n = chunk_count(len as u64) as usize;
    if buf.len() < payload_at + len + n * TAG_LEN || buf.len() < image_len {
        return Err(aead::Error);
    }
    let c = cipher(key);
    for i in (0..n).rev() {
        let clen = chunk_len(len, i, n);
        let (a, b) = (i * CHUNK_SIZE, i * CHUNK_SIZE + clen);
        let at = payload_at + i * (CHUNK_SIZE + TAG_LEN);
        if b > k {
            let from = a.max(k);
            // memmove: may overlap its own source, never an earlier chunk's.
            buf.copy_within(from - k..b - k, at + (from - a));
        }
        if a < k {
            buf[at..at + (b.min(k) - a)].copy_from_slice(&prefix[a..b.min(k)]);
        }
        let (data, tag_room) = buf[at..at + clen + TAG_LEN].split_at_mut(clen);
        let tag = c.encrypt_inout_detached(&nonce(i, i + 1 == n)?, b"", data.into())?;
        tag_room.copy_from_slice(&tag);
    }
    Ok(())
}

/// Where the record block ends (`4 + record_len`), read from the start of
/// the plaintext, or why it is invalid.
fn prefix_len(first: &[u8], len: usize) -> Result<usize, &'static str> {
    let b = first.get(..4).ok_or("missing record length")?;
    let record_len = u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as usize;
    if record_len > MAX_RECORD_LEN || 4 + record_len > len {
        return Err("record length out of range");
    }
    Ok(4 + record_len)
}

/// Decrypts a whole STREAM payload for a plaintext of `len` bytes into a
/// new record block (`record_len` ‖ record) and a new image buffer. Every
/// chunk is authenticated before anything is returned; on error everything
/// decrypted so far is zeroed.
///
/// The output buffer is allocated at the plaintext's length, zero-filled by
/// the allocator. Chunk 0 is decrypted at its start; once it gives the record
/// length, the record block is copied out and the image's first bytes moved
/// to offset 0 (at most 64 KiB); later chunks are decrypted straight to
/// their final place.
#[allow(clippy::type_complexity)]
pub fn open_into(
    key: &[u8; 32],
    ciphertext: &[u8],
    len: usize,
) -> Result<(Zeroizing<Vec<u8>>, Zeroizing<Vec<u8>>), OpenFail> {
    let n = chunk_count(len as u64) as usize;
    if ciphertext.len() != len + n * TAG_LEN {
        return Err(OpenFail::Decrypt);
    }
    let c = cipher(key);
    let mut prefix = Zeroizing::new(Vec::new());
    let mut out = Zeroizing::new(vec![0u8; len]);
    // The prefix length, once chunk 0 has told it (or why it is bad).
    let mut k: Result<usize, &'static str> = Err("");
    for i in 0..n {
        let clen = chunk_len(len, i, n);
        let (a, b) = (i * CHUNK_SIZE, i * CHUNK_SIZE + clen);
        let at = i * (CHUNK_SIZE + TAG_LEN);
        let (data, tag) = ciphertext[at..at + clen + TAG_LEN].split_at(clen);
        let mut t = Tag::default();
        t.copy_from_slice(tag);
        let nonce = nonce(i, i + 1 == n).map_err(|_| OpenFail::Decrypt)?;
        // Where this chunk's plaintext goes: its image part's final place;
        // with a bad record length, anywhere (only authenticated).
        let to = match k {
            Ok(k) if a >= k => a - k,
            _ => 0,
        };
        let buf = InOutBuf::new(data, &mut out[to..to + clen]).map_err(|_| OpenFail::Decrypt)?;
        // On an error `Zeroizing` wipes `out` and `prefix` as they drop.
        c.decrypt_inout_detached(&nonce, b"", buf, &t)
            .map_err(|_| OpenFail::Decrypt)?;
        if i == 0 {
            k = prefix_len(&out[..clen], len);
        }
        if let Ok(k) = k {
            if a < k {
                // Only chunks 0 and 1 can hold prefix bytes; both were
                // decrypted at offset 0.
                prefix.extend_from_slice(&out[..b.min(k) - a]);
                if b > k {
                    out.copy_within(k - a..clen, 0);
                }
            }
        }
    }
    match k {
        Ok(k) => {
            out[len - k..].zeroize();
            out.truncate(len - k);
            Ok((prefix, out))
        }
        Err(why) => Err(OpenFail::Record(why)),
    }
}

/// [`open_into`] inside the envelope's own buffer `buf`, whose payload
/// starts at `payload_at`: each chunk is decrypted where it lies, then its
/// image bytes move down to their place (image at offset 0; every
/// destination lies before its source and before the next chunk). Returns
/// the record block and `buf` truncated to the image, with the bytes after
/// the image zeroed. On error the whole buffer is zeroed.
#[allow(clippy::type_complexity)]
pub fn open_in_place(
    key: &[u8; 32],
    mut buf: Vec<u8>,
    payload_at: usize,
    len: usize,
) -> Result<(Zeroizing<Vec<u8>>, Zeroizing<Vec<u8>>), OpenFail> {
    let n = chunk_count(len as u64) as usize;
    if buf.len() < payload_at + len + n * TAG_LEN {
        return Err(OpenFail::Decrypt);
    }
    let c = cipher(key);
    let mut prefix = Zeroizing::new(Vec::new());
    let mut k: Result<usize, &'static str> = Err("");
    let mut result = Ok(());
    for i in 0..n {
        let clen = chunk_len(len, i, n);
        let (a, b) = (i * CHUNK_SIZE, i * CHUNK_SIZE + clen);
        let at = payload_at + i * (CHUNK_SIZE + TAG_LEN);
        let (data, tag) = buf[at..at + clen + TAG_LEN].split_at_mut(clen);
        let mut t = Tag::default();
        t.copy_from_slice(tag);
        result = nonce(i, i + 1 == n)
            .and_then(|nonce| c.decrypt_inout_detached(&nonce, b"", data.into(), &t));
        if result.is_err() {
            break;
        }
        if i == 0 {
            k = prefix_len(&buf[at..at + clen], len);
        }
        if let Ok(k) = k {
            prefix.extend_from_slice(&buf[at..at + b.min(k).saturating_sub(a)]);
            if b > k {
                let from = a.max(k);
                buf.copy_within(at + (from - a)..at + clen, from - k);
            }
        }
    }
    match (result, k) {
        (Ok(()), Ok(k)) => {
            // What lies after the image: moved plaintext, tags, the header.
            buf[len - k..].zeroize();
            buf.truncate(len - k);
            Ok((prefix, Zeroizing::new(buf)))
        }
        (Ok(()), Err(why)) => {
            buf.zeroize();
            Err(OpenFail::Record(why))
        }
        (Err(_), _) => {
            buf.zeroize();
            Err(OpenFail::Decrypt)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::envelope::header::ciphertext_len;

    fn data(len: usize) -> Vec<u8> {
        (0..len).map(|i| (i * 31 % 251) as u8).collect()
    }

    /// Record block of `record_len` bytes of JSON-ish filler.
    fn prefix(record_len: usize) -> Vec<u8> {
        let mut p = (record_len as u32).to_be_bytes().to_vec();
        p.extend(std::iter::repeat_n(b'r', record_len));
        p
    }

    /// aead-stream's StreamBE32, the construction FORMAT.md §5 names.
    fn reference_seal(key: &[u8; 32], plaintext: &[u8]) -> Vec<u8> {
        use aead_stream::{NewStream, StreamBE32, StreamPrimitive};
        let s = StreamBE32::from_aead(cipher(key), &Default::default());
        let n = chunk_count(plaintext.len() as u64) as usize;
        let mut out = Vec::new();
        for i in 0..n {
            let chunk =
                &plaintext[i * CHUNK_SIZE..(i * CHUNK_SIZE + CHUNK_SIZE).min(plaintext.len())];
            let mut v = chunk.to_vec();
            s.encrypt_in_place(i as u32, i + 1 == n, b"", &mut v)
                .expect("reference");
            out.extend_from_slice(&v);
        }
        out
    }

    fn all_paths_agree(record_len: usize, image_len: usize) {
        let key = [7u8; 32];
        let p = prefix(record_len);
        let image = data(image_len);
        let plaintext = [&p[..], &image].concat();
        let expected = reference_seal(&key, &plaintext);
        let ct_len = ciphertext_len(plaintext.len() as u64) as usize;
        assert_eq!(expected.len(), ct_len);

        let mut ct = vec![0u8; ct_len];
        seal_into(&key, &p, &image, &mut ct).expect("seal_into");
        assert!(ct == expected, "seal_into r{record_len} i{image_len}");

        for payload_at in [0usize, 5, 300] {
            let mut buf = image.clone();
            buf.resize(image_len.max(payload_at + ct_len), 0xEE);
            seal_in_place(&key, &p, image_len, &mut buf, payload_at).expect("in place");
            assert!(
                buf[payload_at..payload_at + ct_len] == expected[..],
                "seal_in_place r{record_len} i{image_len} at {payload_at}"
            );

            let mut env = vec![0xABu8; payload_at];
            env.extend_from_slice(&expected);
            let (rp, ri) = open_in_place(&key, env, payload_at, plaintext.len()).expect("open");
            assert_eq!(rp[..], p[..]);
            assert!(
                ri[..] == image[..],
                "open_in_place r{record_len} i{image_len}"
            );
        }
        let (rp, ri) = open_into(&key, &expected, plaintext.len()).expect("open_into");
        assert_eq!(rp[..], p[..]);
        assert!(ri[..] == image[..], "open_into r{record_len} i{image_len}");
    }

    #[test]
    fn every_path_matches_aead_stream_at_chunk_boundaries() {
        let c = CHUNK_SIZE;
        for record_len in [0, 10, c - 4, c - 3, MAX_RECORD_LEN] {
            for image_len in [0, 1, c - 15, c - 14, c, c + 1, 2 * c, 3 * c + 5] {
                all_paths_agree(record_len, image_len);
            }
        }
    }

    #[test]
    fn any_damage_leaves_no_plaintext_behind() {
        let key = [9u8; 32];
        let p = prefix(20);
        let image = vec![0x42u8; 2 * CHUNK_SIZE + 100];
        let len = p.len() + image.len();
        let mut ct = vec![0u8; ciphertext_len(len as u64) as usize];
        seal_into(&key, &p, &image, &mut ct).expect("seal");
        // Damage only the last chunk: the first two decrypt fine, yet
        // nothing of them may be returned.
        let last = ct.len() - 1;
        ct[last] ^= 1;
        assert_eq!(open_into(&key, &ct, len).err(), Some(OpenFail::Decrypt));
        assert_eq!(
            open_in_place(&key, ct.clone(), 0, len).err(),
            Some(OpenFail::Decrypt)
        );
        // A non-final chunk presented as final.
        let first_two = 2 * (CHUNK_SIZE + TAG_LEN);
        assert!(open_into(&key, &ct[..first_two], 2 * CHUNK_SIZE).is_err());
        assert!(open_in_place(&key, ct[..first_two].to_vec(), 0, 2 * CHUNK_SIZE).is_err());
    }

    #[test]
    fn bad_record_lengths_are_reported_after_authentication() {
        let key = [3u8; 32];
        for (p, why) in [
            (vec![0u8, 0, 1], "missing record length"),
            (
                (70_000u32).to_be_bytes().to_vec(),
                "record length out of range",
            ),
            ([0u8, 0, 0, 9, 1].to_vec(), "record length out of range"),
        ] {
            let mut ct = vec![0u8; ciphertext_len(p.len() as u64) as usize];
            seal_into(&key, &p, &[], &mut ct).expect("seal");
            assert_eq!(
                open_into(&key, &ct, p.len()).err(),
                Some(OpenFail::Record(why))
            );
            assert_eq!(
                open_in_place(&key, ct.clone(), 0, p.len()).err(),
                Some(OpenFail::Record(why))
            );
            // With a damaged chunk, the decryption failure wins.
            ct[0] ^= 1;
            assert_eq!(open_into(&key, &ct, p.len()).err(), Some(OpenFail::Decrypt));
        }
    }

    #[test]
    fn wrong_output_sizes_fail() {
        let mut ct = vec![0u8; ciphertext_len(10) as usize + 1];
        assert!(seal_into(&[1; 32], b"short", b"", &mut ct).is_err());
        let mut small = vec![0u8; 20];
        assert!(seal_in_place(&[1; 32], b"abcd", 10, &mut small, 0).is_err());
    }
}
