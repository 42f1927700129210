//! JPEG: walk every marker from SOI to EOI; allow only structural segments,
//! a thumbnail-free JFIF APP0, ICC_PROFILE APP2, Adobe APP14 and one minimal
//! EXIF APP1; require EOI to be the last two bytes of the file.

use super::minimal_exif::orientation_only;
use crate::sanitize::{ImageFormat, VerifyError};

const F: ImageFormat = ImageFormat::Jpeg;

pub(super) fn verify(b: &[u8]) -> Result<Option<u16>, VerifyError> {
    let bad = |what, at| VerifyError::malformed(F, what, at);
    let found = |what, at| VerifyError::found(F, what, at);
    let mut i = 2;
    let mut scans = 0u32;
    let mut orientation = None;
    loop {
        if b.get(i) != Some(&0xFF) {
            return Err(bad("expected a marker", i));
        }
        while b.get(i + 1) == Some(&0xFF) {
            i += 1;
        }
        let at = i;
        let m = *b
            .get(i + 1)
            .ok_or_else(|| bad("file ends inside a marker", i))?;
        if m == 0xD9 {
            if scans == 0 {
                return Err(bad("end of image before any scan", at));
            }
            if at + 2 != b.len() {
                return Err(found("bytes after the end of the image", at + 2));
            }
            return Ok(orientation);
        }
        let len = match b.get(i + 2..i + 4) {
            Some(l) => u16::from_be_bytes([l[0], l[1]]) as usize,
            None => return Err(bad("file ends inside a segment", at)),
        };
        let end = at + 2 + len;
        if len < 2 || end > b.len() {
            return Err(bad("segment length out of bounds", at));
        }
        let p = &b[at + 4..end];
        match m {
            0xE0..=0xEF => {
                if let Some(o) = check_app(m, p, at)? {
                    if orientation.replace(o).is_some() {
                        return Err(found("a second EXIF segment", at));
                    }
                }
            }
            0xFE => return Err(found("a comment (COM) segment", at)),
            0xDA => {
                scans += 1;
                i = skip_entropy(b, end).ok_or_else(|| bad("scan without end", at))?;
                continue;
            }
            0xC0..=0xCF | 0xDB..=0xDF if m != 0xC8 => {}
            _ => return Err(bad("unexpected marker", at)),
        }
        i = end;
    }
}

/// Checks one APPn segment; returns the orientation of a minimal EXIF.
fn check_app(m: u8, p: &[u8], at: usize) -> Result<Option<u16>, VerifyError> {
    let found = |what| Err(VerifyError::found(F, what, at));
    match m {
        // JFIF header only: identifier, version, units, densities, 0x0 thumbnail.
        0xE0 if p.len() == 14 && p.starts_with(b"JFIF\0") && p[12] == 0 && p[13] == 0 => Ok(None),
        0xE0 => found("an APP0 segment other than a bare JFIF header"),
        0xE1 => match p.strip_prefix(b"Exif\0\0").and_then(orientation_only) {
            Some(o) => Ok(Some(o)),
            None => found("APP1 data beyond a single Orientation tag"),
        },
        0xE2 if p.starts_with(b"ICC_PROFILE\0") => Ok(None),
        0xEE if p.starts_with(b"Adobe") => Ok(None),
        _ => found("an application (APPn) segment"),
    }
}

/// Offset of the 0xFF beginning the next marker after entropy-coded data.
fn skip_entropy(b: &[u8], mut i: usize) -> Option<usize> {
    // 32-byte strides that contain no 0xFF followed by a non-zero byte are
    // data only (stuffed FF00 at most): count candidates without branching
    // and step over the stride when there are none.
    while i + 33 <= b.len() {
        let (here, after) = (&b[i..i + 32], &b[i + 1..i + 33]);
        let candidates = here.iter().zip(after).fold(0u8, |acc, (&x, &y)| {
            acc | (u8::from(x == 0xFF) & u8::from(y != 0x00))
        });
        if candidates == 0 {
            i += 32;
            continue;
        }
        let stop = i + 32;
        while i < stop {
            if b[i] == 0xFF && !matches!(b[i + 1], 0x00 | 0xD0..=0xD7 | 0xFF) {
                return Some(i);
            }
            i += 1;
        }
    }
    while i + 1 < b.len() {
        if b[i] == 0xFF && !matches!(b[i + 1], 0x00 | 0xD0..=0xD7 | 0xFF) {
            return Some(i);
        }
        i += 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::skip_entropy;

    #[test]
    fn stride_scan_finds_the_first_marker_at_every_offset() {
        for len in [2usize, 31, 32, 33, 34, 65, 66, 100] {
            for at in 0..len - 1 {
                let mut b: Vec<u8> = (0..len)
                    .map(|i| {
                        if i % 11 == 3 {
                            0xFF
                        } else if i % 11 == 4 {
                            0x00
                        } else {
                            7
                        }
                    })
                    .collect();
                b[at] = 0xFF;
                b[at + 1] = 0xD9;
                let naive = (0..len - 1)
                    .find(|&p| b[p] == 0xFF && !matches!(b[p + 1], 0x00 | 0xD0..=0xD7 | 0xFF));
                assert_eq!(skip_entropy(&b, 0), naive, "len {len} at {at}");
            }
        }
        assert_eq!(skip_entropy(&[0xFF, 0x00, 0xFF, 0xD7, 0xFF], 0), None);
    }
}
