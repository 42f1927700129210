//! The payload: AES-256-GCM in STREAM form (aead-stream's `StreamBE32`),
//! 64 KiB plaintext chunks, nonce = 7 zero bytes ‖ u32 BE chunk counter ‖
//! last-chunk flag (docs/FORMAT.md §5). Truncation, reordering and chunk
//! swaps all fail authentication.
//!
//! Both directions work in place inside one buffer: no per-chunk copies
//! beyond the one that places the data.

use aead_stream::aead::{self, Buffer};
use aead_stream::{NewStream, StreamBE32, StreamPrimitive};
use aes_gcm::{Aes256Gcm, KeyInit};

use super::header::{chunk_count, CHUNK_SIZE, TAG_LEN};

/// One chunk's room inside a larger buffer: `len` bytes of data followed by
/// spare room for the tag. Lets aead-stream encrypt in place.
struct Slot<'a> {
    room: &'a mut [u8],
    len: usize,
}

impl AsRef<[u8]> for Slot<'_> {
    fn as_ref(&self) -> &[u8] {
        &self.room[..self.len]
    }
}

impl AsMut<[u8]> for Slot<'_> {
    fn as_mut(&mut self) -> &mut [u8] {
        &mut self.room[..self.len]
    }
}

impl Buffer for Slot<'_> {
    fn extend_from_slice(&mut self, other: &[u8]) -> aead::Result<()> {
        let end = self.len + other.len();
        if end > self.room.len() {
            return Err(aead::Error);
        }
        self.room[self.len..end].copy_from_slice(other);
        self.len = end;
        Ok(())
    }

    fn truncate(&mut self, len: usize) {
        self.len = self.len.min(len);
    }
}

fn stream(key: &[u8; 32]) -> StreamBE32<Aes256Gcm> {
    let aead = <Aes256Gcm as KeyInit>::new(key.into());
    StreamBE32::from_aead(aead, &Default::default()) // 7-byte prefix of zeros
}

/// Plaintext length of chunk `i` of `n` for a payload of `len` bytes.
fn chunk_len(len: usize, i: usize, n: usize) -> usize {
    if i + 1 < n {
        CHUNK_SIZE
    } else {
        len - CHUNK_SIZE * (n - 1)
    }
}

/// Copies `parts` (in order, `len` bytes in all) into `out` at their chunk
/// positions and encrypts each chunk in place, appending its tag. `out`
/// must be exactly `ciphertext_len(len)` bytes.
pub fn seal(
    key: &[u8; 32],
    parts: &[&[u8]],
    len: usize,
    out: &mut [u8],
) -> Result<(), aead::Error> {
    let n = chunk_count(len as u64) as usize;
    let mut parts = parts.iter().copied();
    let mut current: &[u8] = parts.next().unwrap_or_default();
    let s = stream(key);
    for i in 0..n {
        let clen = chunk_len(len, i, n);
        let at = i * (CHUNK_SIZE + TAG_LEN);
        let room = &mut out[at..at + clen + TAG_LEN];
        // Fill the chunk from the parts.
        let mut filled = 0;
        while filled < clen {
            if current.is_empty() {
                current = parts.next().ok_or(aead::Error)?;
                continue;
            }
            let take = current.len().min(clen - filled);
            room[filled..filled + take].copy_from_slice(&current[..take]);
            current = &current[take..];
            filled += take;
        }
        let counter = u32::try_from(i).map_err(|_| aead::Error)?;
        let mut slot = Slot { room, len: clen };
        s.encrypt_in_place(counter, i + 1 == n, b"", &mut slot)?;
    }
    Ok(())
}

/// Decrypts `ciphertext` (a whole STREAM payload for a plaintext of `len`
/// bytes) into `out`, which is cleared first. On error `out` holds no
/// plaintext (it is zeroed and emptied).
pub fn open(
    key: &[u8; 32],
    ciphertext: &[u8],
    len: usize,
    out: &mut Vec<u8>,
) -> Result<(), aead::Error> {
    out.clear();
    // Room for one tag past the end: each chunk is decrypted in place at its
    // final position, its tag spilling over where the next chunk will go.
    out.resize(len + TAG_LEN, 0);
    let n = chunk_count(len as u64) as usize;
    let s = stream(key);
    let result = (|| {
        for i in 0..n {
            let clen = chunk_len(len, i, n);
            let from = i * (CHUNK_SIZE + TAG_LEN);
            let to = i * CHUNK_SIZE;
            let room = &mut out[to..to + clen + TAG_LEN];
            room.copy_from_slice(&ciphertext[from..from + clen + TAG_LEN]);
            let counter = u32::try_from(i).map_err(|_| aead::Error)?;
            let mut slot = Slot {
                room,
                len: clen + TAG_LEN,
            };
            s.decrypt_in_place(counter, i + 1 == n, b"", &mut slot)?;
        }
        Ok(())
    })();
    match result {
        Ok(()) => {
            out.truncate(len);
            Ok(())
        }
        Err(e) => {
            zeroize::Zeroize::zeroize(out);
            Err(e)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::envelope::header::ciphertext_len;

    fn round_trip(len: usize) {
        let key = [7u8; 32];
        let data: Vec<u8> = (0..len).map(|i| (i * 31 % 251) as u8).collect();
        let (a, b) = data.split_at(len / 3);
        let mut ct = vec![0u8; ciphertext_len(len as u64) as usize];
        seal(&key, &[a, b], len, &mut ct).expect("seal");
        let mut out = Vec::new();
        open(&key, &ct, len, &mut out).expect("open");
        assert_eq!(out, data, "len {len}");
    }

    #[test]
    fn round_trips_at_chunk_boundaries() {
        for len in [
            0,
            1,
            CHUNK_SIZE - 1,
            CHUNK_SIZE,
            CHUNK_SIZE + 1,
            2 * CHUNK_SIZE,
            3 * CHUNK_SIZE + 5,
        ] {
            round_trip(len);
        }
    }

    #[test]
    fn any_damage_leaves_no_plaintext_behind() {
        let key = [9u8; 32];
        let len = 2 * CHUNK_SIZE + 100;
        let data = vec![0x42u8; len];
        let mut ct = vec![0u8; ciphertext_len(len as u64) as usize];
        seal(&key, &[&data], len, &mut ct).expect("seal");
        // Damage only the last chunk: the first two decrypt fine, yet
        // nothing of them may remain in the output.
        let last = ct.len() - 1;
        ct[last] ^= 1;
        let mut out = Vec::new();
        assert!(open(&key, &ct, len, &mut out).is_err());
        assert!(out.iter().all(|&b| b == 0), "plaintext left in the buffer");
        // Swapping the last flag: a non-final chunk presented as final.
        let mut out = Vec::new();
        let first_two = 2 * (CHUNK_SIZE + TAG_LEN);
        assert!(open(&key, &ct[..first_two], 2 * CHUNK_SIZE, &mut out).is_err());
    }

    #[test]
    fn parts_shorter_than_declared_fail() {
        let mut ct = vec![0u8; ciphertext_len(10) as usize];
        assert!(seal(&[1; 32], &[b"short"], 10, &mut ct).is_err());
    }
}
