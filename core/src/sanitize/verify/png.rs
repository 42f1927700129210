//! PNG: every chunk must be critical or on the display allowlist, or a
//! minimal eXIf; IEND must end the file.

use super::minimal_exif::orientation_only;
use crate::sanitize::{ImageFormat, VerifyError};

const F: ImageFormat = ImageFormat::Png;

const ALLOWED: &[&[u8; 4]] = &[
    b"IHDR", b"PLTE", b"IDAT", b"IEND", b"tRNS", b"gAMA", b"cHRM", b"sRGB", b"iCCP", b"cICP",
    b"mDCV", b"cLLI", b"sBIT", b"bKGD", b"pHYs", b"hIST", b"sPLT", b"acTL", b"fcTL", b"fdAT",
];

pub(super) fn verify(b: &[u8]) -> Result<Option<u16>, VerifyError> {
    let mut i = 8;
    let mut orientation = None;
    let mut exif_chunks = 0;
    loop {
        let head = b
            .get(i..i + 8)
            .ok_or_else(|| VerifyError::malformed(F, "missing IEND", i))?;
        let len = u32::from_be_bytes([head[0], head[1], head[2], head[3]]) as usize;
        let kind: [u8; 4] = [head[4], head[5], head[6], head[7]];
        let end = i + 12 + len;
        if end > b.len() {
            return Err(VerifyError::malformed(F, "chunk out of bounds", i));
        }
        let data = &b[i + 8..i + 8 + len];
        if &kind == b"eXIf" {
            exif_chunks += 1;
            match orientation_only(data) {
                Some(o) if exif_chunks == 1 => orientation = Some(o),
                _ => {
                    return Err(VerifyError::found(
                        F,
                        "eXIf beyond a single Orientation tag",
                        i,
                    ))
                }
            }
        } else if !ALLOWED.contains(&&kind) {
            return Err(VerifyError::found(
                F,
                "a chunk outside the display allowlist",
                i,
            ));
        }
        if &kind == b"IEND" {
            if end != b.len() {
                return Err(VerifyError::found(F, "bytes after IEND", end));
            }
            return Ok(orientation);
        }
        i = end;
    }
}
