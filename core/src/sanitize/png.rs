//! PNG (and APNG) chunk editing.
//!
//! Kept: the critical chunks (IHDR, PLTE, IDAT, IEND) and the ancillary
//! chunks needed to show the picture correctly: tRNS, gAMA, cHRM, sRGB,
//! iCCP, cICP, mDCV, cLLI, sBIT, bKGD, pHYs, hIST, sPLT, and the APNG chunks
//! acTL, fcTL, fdAT. A minimal eXIf holding Orientation alone is written
//! before the first IDAT when the original eXIf said 2..=8 — wherever that
//! eXIf stood: the PNG spec puts it before IDAT, but readers such as Pillow
//! also honour one after IDAT, and the photo must not turn sideways.
//!
//! Dropped: tEXt, zTXt, iTXt (including XMP and raw IPTC/EXIF profiles),
//! eXIf, tIME, every other ancillary chunk, and every byte after IEND.
//! An unknown critical chunk is an error: the picture may depend on it.
//! Kept chunks' CRCs are checked so a damaged file is refused.

use super::exif;
use super::format::PNG_SIGNATURE;
use super::{Category, ImageFormat, Report, SanitizeError};

const F: ImageFormat = ImageFormat::Png;

const KEEP_ANCILLARY: &[&[u8; 4]] = &[
    b"tRNS", b"gAMA", b"cHRM", b"sRGB", b"iCCP", b"cICP", b"mDCV", b"cLLI", b"sBIT", b"bKGD",
    b"pHYs", b"hIST", b"sPLT", b"acTL", b"fcTL", b"fdAT",
];
const CRITICAL: &[&[u8; 4]] = &[b"IHDR", b"PLTE", b"IDAT", b"IEND"];

/// One chunk: its type and the byte range from its length field to the end of its CRC.
struct Chunk<'a> {
    kind: [u8; 4],
    data: &'a [u8],
    crc: u32,
    start: usize,
    end: usize,
}

pub(crate) fn strip(input: &[u8], report: &mut Report) -> Result<Vec<u8>, SanitizeError> {
    let mut out = Vec::with_capacity(input.len() + 64);
    out.extend_from_slice(PNG_SIGNATURE);
    let mut pos = PNG_SIGNATURE.len();
    let orientation = first_exif_orientation(input);
    let mut exif_written = false;
    let mut first = true;
    loop {
        let chunk = read_chunk(input, pos)?;
        pos = chunk.end;
        if first && &chunk.kind != b"IHDR" {
            return Err(SanitizeError::corrupt(
                F,
                "first chunk is not IHDR",
                chunk.start,
            ));
        }
        first = false;
        let kind = &chunk.kind;
        if kind == b"IDAT" && !exif_written {
            // eXIf must precede the image data; by now every eXIf before
            // IDAT has been seen. One after IDAT is too late to honour.
            write_exif_chunk(&mut out, orientation);
            exif_written = true;
        }
        if CRITICAL.contains(&kind) || KEEP_ANCILLARY.contains(&kind) {
            check_crc(&chunk)?;
            out.extend_from_slice(&input[chunk.start..chunk.end]);
        } else if kind[0].is_ascii_uppercase() {
            return Err(SanitizeError::unsupported(
                F,
                "an unknown critical chunk the picture may depend on",
            ));
        } else {
            report.remove(category(kind, chunk.data), chunk.end - chunk.start);
        }
        if kind == b"IEND" {
            if !exif_written {
                return Err(SanitizeError::corrupt(
                    F,
                    "no image data (IDAT) before IEND",
                    chunk.start,
                ));
            }
            if pos < input.len() {
                report.remove(Category::Trailer, input.len() - pos);
            }
            return Ok(out);
        }
    }
}

/// The Orientation of the first eXIf chunk (with a good CRC) before IEND,
/// before or after the image data. A malformed chunk ends the search; the
/// main pass reports it.
fn first_exif_orientation(input: &[u8]) -> Option<u16> {
    let mut pos = PNG_SIGNATURE.len();
    loop {
        let chunk = read_chunk(input, pos).ok()?;
        if &chunk.kind == b"IEND" {
            return None;
        }
        if &chunk.kind == b"eXIf" && check_crc(&chunk).is_ok() {
            return exif::read_orientation(chunk.data);
        }
        pos = chunk.end;
    }
}

fn category(kind: &[u8; 4], data: &[u8]) -> Category {
    match kind {
        b"eXIf" => Category::Exif,
        b"tIME" => Category::Timestamp,
        b"tEXt" | b"zTXt" | b"iTXt" => {
            let keyword = data.split(|&b| b == 0).next().unwrap_or_default();
            match keyword {
                b"XML:com.adobe.xmp" | b"Raw profile type xmp" => Category::Xmp,
                b"Raw profile type iptc" | b"Raw profile type 8bim" => Category::Iptc,
                b"Raw profile type exif" | b"Raw profile type APP1" => Category::Exif,
                _ => Category::Text,
            }
        }
        _ => Category::Unknown,
    }
}

fn write_exif_chunk(out: &mut Vec<u8>, orientation: Option<u16>) {
    let Some(o) = orientation else { return };
    let tiff = exif::minimal_tiff(o);
    out.extend_from_slice(&(tiff.len() as u32).to_be_bytes());
    let crc_start = out.len();
    out.extend_from_slice(b"eXIf");
    out.extend_from_slice(&tiff);
    let crc = crc32fast::hash(&out[crc_start..]);
    out.extend_from_slice(&crc.to_be_bytes());
}

fn read_chunk(input: &[u8], pos: usize) -> Result<Chunk<'_>, SanitizeError> {
    let Some(head) = input.get(pos..pos + 8) else {
        return Err(SanitizeError::truncated(
            F,
            "file ends before the IEND chunk",
            pos,
        ));
    };
    let len = u32::from_be_bytes([head[0], head[1], head[2], head[3]]) as usize;
    if len > 0x7FFF_FFFF {
        return Err(SanitizeError::corrupt(F, "chunk length over 2^31-1", pos));
    }
    let kind: [u8; 4] = [head[4], head[5], head[6], head[7]];
    if !kind.iter().all(u8::is_ascii_alphabetic) {
        return Err(SanitizeError::corrupt(
            F,
            "chunk type is not four letters",
            pos,
        ));
    }
    let end = pos
        .checked_add(12)
        .and_then(|e| e.checked_add(len))
        .filter(|&e| e <= input.len())
        .ok_or_else(|| SanitizeError::truncated(F, "chunk runs past the end of the file", pos))?;
    let crc = &input[end - 4..end];
    Ok(Chunk {
        kind,
        data: &input[pos + 8..pos + 8 + len],
        crc: u32::from_be_bytes([crc[0], crc[1], crc[2], crc[3]]),
        start: pos,
        end,
    })
}

fn check_crc(chunk: &Chunk<'_>) -> Result<(), SanitizeError> {
    let mut h = crc32fast::Hasher::new();
    h.update(&chunk.kind);
    h.update(chunk.data);
    if h.finalize() != chunk.crc {
        return Err(SanitizeError::corrupt(F, "chunk CRC mismatch", chunk.start));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chunk(kind: &[u8; 4], data: &[u8]) -> Vec<u8> {
        let mut out = (data.len() as u32).to_be_bytes().to_vec();
        out.extend_from_slice(kind);
        out.extend_from_slice(data);
        let crc = crc32fast::hash(&out[4..]);
        out.extend_from_slice(&crc.to_be_bytes());
        out
    }

    fn png(chunks: &[Vec<u8>]) -> Vec<u8> {
        let mut out = PNG_SIGNATURE.to_vec();
        // 1x1 RGB, 8 bits.
        out.extend(chunk(b"IHDR", &[0, 0, 0, 1, 0, 0, 0, 1, 8, 2, 0, 0, 0]));
        for c in chunks {
            out.extend_from_slice(c);
        }
        out.extend(chunk(b"IEND", &[]));
        out
    }

    /// A big-endian TIFF with Orientation and a Make tag.
    fn exif_with_orientation(o: u16) -> Vec<u8> {
        let mut t = b"MM\0\x2a\0\0\0\x08\0\x02".to_vec();
        t.extend_from_slice(&[0x01, 0x12, 0, 3, 0, 0, 0, 1]);
        t.extend_from_slice(&o.to_be_bytes());
        t.extend_from_slice(&[0, 0]);
        t.extend_from_slice(&[0x01, 0x0f, 0, 2, 0, 0, 0, 4, b'A', b'c', b'm', 0]);
        t.extend_from_slice(&[0, 0, 0, 0]);
        t
    }

    const IDAT: &[u8] = &[0x78, 0x9c, 0x63, 0x60, 0x60, 0x60, 0, 0, 0, 4, 0, 1];

    fn orientation_of(input: &[u8]) -> Option<u16> {
        let mut report = Report::new(F, input.len() as u64);
        let out = strip(input, &mut report).expect("strips");
        crate::sanitize::verify::verify(&out)
            .expect("verifies")
            .orientation
    }

    #[test]
    fn orientation_is_kept_whether_exif_comes_before_or_after_the_image_data() {
        let exif = chunk(b"eXIf", &exif_with_orientation(6));
        let before = png(&[exif.clone(), chunk(b"IDAT", IDAT)]);
        let after = png(&[chunk(b"IDAT", IDAT), exif]);
        assert_eq!(orientation_of(&before), Some(6));
        assert_eq!(orientation_of(&after), Some(6), "eXIf after IDAT");
        let none = png(&[chunk(b"IDAT", IDAT)]);
        assert_eq!(orientation_of(&none), None);
    }

    #[test]
    fn the_first_exif_wins_and_a_damaged_one_is_ignored() {
        let mut damaged = chunk(b"eXIf", &exif_with_orientation(3));
        let last = damaged.len() - 1;
        damaged[last] ^= 1;
        let input = png(&[
            damaged,
            chunk(b"IDAT", IDAT),
            chunk(b"eXIf", &exif_with_orientation(8)),
            chunk(b"eXIf", &exif_with_orientation(6)),
        ]);
        assert_eq!(orientation_of(&input), Some(8));
    }
}
