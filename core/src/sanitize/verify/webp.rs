//! WebP: the RIFF size must cover the file exactly; chunks must be image,
//! animation, ICC or one minimal EXIF; VP8X flags must match.

use super::minimal_exif::orientation_only;
use crate::sanitize::{ImageFormat, VerifyError};

const F: ImageFormat = ImageFormat::WebP;

pub(super) fn verify(b: &[u8]) -> Result<Option<u16>, VerifyError> {
    let riff = u32::from_le_bytes([b[4], b[5], b[6], b[7]]) as usize;
    if riff + 8 != b.len() {
        return Err(VerifyError::found(F, "bytes outside the RIFF size", 4));
    }
    let chunks = chunks(b, 12, b.len())?;
    let Some(&(first, first_at, first_data)) = chunks.first() else {
        return Err(VerifyError::malformed(F, "no chunks", 12));
    };
    if &first != b"VP8X" {
        return match (&first, chunks.len()) {
            (b"VP8 " | b"VP8L", 1) => Ok(None),
            _ => Err(VerifyError::found(
                F,
                "chunks beside a simple-format image",
                first_at,
            )),
        };
    }
    let flags = *b
        .get(first_data.0)
        .ok_or_else(|| VerifyError::malformed(F, "empty VP8X", first_at))?;
    if first_data.1 - first_data.0 != 10 {
        return Err(VerifyError::found(F, "VP8X of unexpected size", first_at));
    }
    if flags & 0x04 != 0 {
        return Err(VerifyError::found(F, "VP8X XMP flag set", first_at));
    }
    let mut orientation = None;
    for &(kind, at, (s, e)) in &chunks[1..] {
        match &kind {
            b"ICCP" | b"ANIM" | b"ALPH" | b"VP8 " | b"VP8L" => {}
            b"ANMF" => {
                // 16 bytes of frame header, then only image sub-chunks.
                for (sub, sub_at, _) in chunks_in(b, s + 16, e)? {
                    if !matches!(&sub, b"ALPH" | b"VP8 " | b"VP8L") {
                        return Err(VerifyError::found(
                            F,
                            "a non-image chunk inside ANMF",
                            sub_at,
                        ));
                    }
                }
            }
            b"EXIF" => match orientation_only(&b[s..e]) {
                Some(o) if orientation.is_none() => orientation = Some(o),
                _ => {
                    return Err(VerifyError::found(
                        F,
                        "EXIF beyond a single Orientation tag",
                        at,
                    ))
                }
            },
            _ => {
                return Err(VerifyError::found(
                    F,
                    "a chunk outside the display allowlist",
                    at,
                ))
            }
        }
    }
    if (flags & 0x08 != 0) != orientation.is_some() {
        return Err(VerifyError::found(
            F,
            "VP8X EXIF flag does not match the chunks",
            first_at,
        ));
    }
    Ok(orientation)
}

type ChunkRef = ([u8; 4], usize, (usize, usize));

fn chunks(b: &[u8], start: usize, end: usize) -> Result<Vec<ChunkRef>, VerifyError> {
    chunks_in(b, start, end)
}

/// Chunks between `start` and `end`: fourcc, offset, data range.
fn chunks_in(b: &[u8], start: usize, end: usize) -> Result<Vec<ChunkRef>, VerifyError> {
    let mut out = Vec::new();
    let mut i = start;
    while i < end {
        let head = b
            .get(i..i + 8)
            .filter(|_| i + 8 <= end)
            .ok_or_else(|| VerifyError::malformed(F, "chunk header out of bounds", i))?;
        let len = u32::from_le_bytes([head[4], head[5], head[6], head[7]]) as usize;
        let data_end = i + 8 + len;
        let next = data_end + (len & 1);
        if next > end {
            return Err(VerifyError::malformed(F, "chunk out of bounds", i));
        }
        out.push(([head[0], head[1], head[2], head[3]], i, (i + 8, data_end)));
        i = next;
    }
    Ok(out)
}
