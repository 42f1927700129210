//! WebP (RIFF) chunk editing.
//!
//! Kept: the image chunks VP8, VP8L and ALPH; VP8X (its EXIF and XMP flags
//! fixed); ICCP; the animation chunks ANIM and ANMF. A minimal EXIF chunk
//! holding Orientation alone is written after the image data when the
//! original EXIF said 2..=8, and the VP8X EXIF flag set to match.
//!
//! Dropped: EXIF, XMP and every unknown chunk, and every byte past the RIFF
//! size. The RIFF size is rewritten.

use super::exif;
use super::{Category, ImageFormat, Report, SanitizeError};

const F: ImageFormat = ImageFormat::WebP;

const FLAG_ICC: u8 = 0x20;
const FLAG_EXIF: u8 = 0x08;
const FLAG_XMP: u8 = 0x04;
const RIFF_HEADER_LEN: usize = 12;
const VP8X_PAYLOAD_LEN: usize = 10;

struct Chunk<'a> {
    fourcc: [u8; 4],
    data: &'a [u8],
    start: usize,
    /// End including the pad byte, if any.
    end: usize,
}

pub(crate) fn strip(input: &[u8], report: &mut Report) -> Result<Vec<u8>, SanitizeError> {
    let riff_size = u32::from_le_bytes([input[4], input[5], input[6], input[7]]) as usize;
    let riff_end = 8usize
        .checked_add(riff_size)
        .filter(|&e| e <= input.len())
        .ok_or_else(|| SanitizeError::truncated(F, "RIFF size runs past the end of the file", 4))?;
    if riff_size < 4 + 8 {
        return Err(SanitizeError::corrupt(
            F,
            "RIFF size too small for any chunk",
            4,
        ));
    }
    let body = &input[..riff_end];

    let mut chunks = Vec::new();
    let mut pos = RIFF_HEADER_LEN;
    while pos < riff_end {
        let chunk = read_chunk(body, pos)?;
        pos = chunk.end;
        chunks.push(chunk);
    }

    let mut out = Vec::with_capacity(input.len() + 64);
    out.extend_from_slice(b"RIFF\0\0\0\0WEBP");
    let first = &chunks[0];
    match &first.fourcc {
        b"VP8 " | b"VP8L" => {
            // Simple format: one image chunk and nothing else.
            out.extend_from_slice(&body[first.start..first.end]);
            if out.len() % 2 == 1 {
                out.push(0); // restore an omitted pad byte
            }
            for c in &chunks[1..] {
                report.remove(category(&c.fourcc), c.end - c.start);
            }
        }
        b"VP8X" => extended(body, &chunks, &mut out, report)?,
        _ => {
            return Err(SanitizeError::corrupt(
                F,
                "first chunk is not VP8, VP8L or VP8X",
                first.start,
            ))
        }
    }
    if riff_end < input.len() {
        report.remove(Category::Trailer, input.len() - riff_end);
    }
    let size = u32::try_from(out.len() - 8)
        .map_err(|_| SanitizeError::unsupported(F, "files over 4 GiB"))?;
    out[4..8].copy_from_slice(&size.to_le_bytes());
    Ok(out)
}

fn extended(
    body: &[u8],
    chunks: &[Chunk<'_>],
    out: &mut Vec<u8>,
    report: &mut Report,
) -> Result<(), SanitizeError> {
    let vp8x = &chunks[0];
    if vp8x.data.len() < VP8X_PAYLOAD_LEN {
        return Err(SanitizeError::corrupt(
            F,
            "VP8X chunk too short",
            vp8x.start,
        ));
    }
    let orientation = chunks
        .iter()
        .find(|c| &c.fourcc == b"EXIF")
        .and_then(|c| exif::read_orientation(c.data));
    let has_icc = chunks.iter().any(|c| &c.fourcc == b"ICCP");
    let has_image = chunks
        .iter()
        .any(|c| matches!(&c.fourcc, b"VP8 " | b"VP8L" | b"ANMF"));
    if !has_image {
        return Err(SanitizeError::corrupt(F, "no image data chunk", vp8x.start));
    }

    let mut flags = vp8x.data[0] & !(FLAG_EXIF | FLAG_XMP | FLAG_ICC);
    if has_icc {
        flags |= FLAG_ICC;
    }
    if orientation.is_some() {
        flags |= FLAG_EXIF;
    }
    out.extend_from_slice(b"VP8X");
    out.extend_from_slice(&(VP8X_PAYLOAD_LEN as u32).to_le_bytes());
    out.push(flags);
    out.extend_from_slice(&vp8x.data[1..VP8X_PAYLOAD_LEN]);
    if vp8x.data.len() > VP8X_PAYLOAD_LEN {
        report.remove(Category::Unknown, vp8x.data.len() - VP8X_PAYLOAD_LEN);
    }

    for c in &chunks[1..] {
        match &c.fourcc {
            b"ICCP" | b"ANIM" | b"ALPH" | b"VP8 " | b"VP8L" => {
                out.extend_from_slice(&body[c.start..c.end])
            }
            b"ANMF" => frame(body, c, out, report)?,
            b"VP8X" => return Err(SanitizeError::corrupt(F, "second VP8X chunk", c.start)),
            other => report.remove(category(other), c.end - c.start),
        }
    }
    if out.len() % 2 == 1 {
        out.push(0); // restore a pad byte the input's last chunk omitted
    }
    if let Some(o) = orientation {
        let tiff = exif::minimal_tiff(o);
        out.extend_from_slice(b"EXIF");
        out.extend_from_slice(&(tiff.len() as u32).to_le_bytes());
        out.extend_from_slice(&tiff); // even length: no pad byte
    }
    Ok(())
}

/// Length of the ANMF frame header (position, size, duration, flags).
const ANMF_HEADER_LEN: usize = 16;

/// Copies an animation frame with only its image sub-chunks (ALPH, VP8,
/// VP8L); the format allows unknown chunks inside a frame, which are dropped.
fn frame(
    body: &[u8],
    anmf: &Chunk<'_>,
    out: &mut Vec<u8>,
    report: &mut Report,
) -> Result<(), SanitizeError> {
    if anmf.data.len() < ANMF_HEADER_LEN {
        return Err(SanitizeError::corrupt(
            F,
            "ANMF chunk too short",
            anmf.start,
        ));
    }
    let data_start = anmf.start + 8;
    let data_end = data_start + anmf.data.len();
    let frame_body = &body[..data_end];
    let mut kept = Vec::new();
    let mut pos = data_start + ANMF_HEADER_LEN;
    while pos < data_end {
        let sub = read_chunk(frame_body, pos)?;
        pos = sub.end;
        match &sub.fourcc {
            b"ALPH" | b"VP8 " | b"VP8L" => kept.push((sub.start, sub.end)),
            other => report.remove(category(other), sub.end - sub.start),
        }
    }
    if kept.is_empty() {
        return Err(SanitizeError::corrupt(
            F,
            "animation frame without image data",
            anmf.start,
        ));
    }
    let size: usize = ANMF_HEADER_LEN + kept.iter().map(|(s, e)| e - s).sum::<usize>();
    let size_with_pad = size + (size & 1);
    out.extend_from_slice(b"ANMF");
    out.extend_from_slice(&(size_with_pad as u32).to_le_bytes());
    out.extend_from_slice(&anmf.data[..ANMF_HEADER_LEN]);
    for (s, e) in kept {
        out.extend_from_slice(&body[s..e]);
    }
    if size & 1 == 1 {
        out.push(0); // a sub-chunk whose pad byte the input omitted
    }
    Ok(())
}

fn category(fourcc: &[u8; 4]) -> Category {
    match fourcc {
        b"EXIF" => Category::Exif,
        b"XMP " => Category::Xmp,
        _ => Category::Unknown,
    }
}

fn read_chunk(body: &[u8], pos: usize) -> Result<Chunk<'_>, SanitizeError> {
    let Some(head) = body.get(pos..pos + 8) else {
        return Err(SanitizeError::truncated(
            F,
            "chunk header runs past the RIFF size",
            pos,
        ));
    };
    let fourcc = [head[0], head[1], head[2], head[3]];
    let len = u32::from_le_bytes([head[4], head[5], head[6], head[7]]) as usize;
    let data_end = (pos + 8)
        .checked_add(len)
        .filter(|&e| e <= body.len())
        .ok_or_else(|| SanitizeError::truncated(F, "chunk runs past the RIFF size", pos))?;
    // Odd-sized chunks are followed by one pad byte. A missing pad at the
    // very end of the RIFF data is tolerated (some encoders omit it) and is
    // added back by copying whole chunks only when present.
    let end = (data_end + (len & 1)).min(body.len());
    Ok(Chunk {
        fourcc,
        data: &body[pos + 8..data_end],
        start: pos,
        end,
    })
}
