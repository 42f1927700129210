//! WebP: check the RIFF size against the file, then walk the chunks.

use super::{finding, label, tiff, Kind, Scan};

const FLAG_XMP: u8 = 0x04;

pub(super) fn scan(b: &[u8], out: &mut Scan) {
    let riff_end = 8 + u32::from_le_bytes([b[4], b[5], b[6], b[7]]) as usize;
    if riff_end > b.len() {
        out.push(finding(
            Kind::Malformed,
            4,
            "RIFF size past the end of the file",
        ));
        return;
    }
    if riff_end < b.len() {
        let n = b.len() - riff_end;
        out.push(finding(
            Kind::Trailer,
            riff_end,
            format!("{n} bytes past the RIFF size"),
        ));
    }
    walk(b, 12, riff_end, out);
}

/// Walks the chunks between `start` and `end`, recursing into ANMF frames.
fn walk(b: &[u8], start: usize, end: usize, out: &mut Scan) {
    let mut pos = start;
    while pos < end {
        let Some(head) = b.get(pos..pos + 8).filter(|_| pos + 8 <= end) else {
            out.push(finding(
                Kind::Malformed,
                pos,
                "chunk header past the RIFF size",
            ));
            return;
        };
        let fourcc: [u8; 4] = [head[0], head[1], head[2], head[3]];
        let len = u32::from_le_bytes([head[4], head[5], head[6], head[7]]) as usize;
        let data_end = pos + 8 + len;
        if data_end > end {
            out.push(finding(Kind::Malformed, pos, "chunk past the RIFF size"));
            return;
        }
        let data = &b[pos + 8..data_end];
        match &fourcc {
            b"VP8X" if data.first().is_some_and(|f| f & FLAG_XMP != 0) => {
                out.push(finding(Kind::Xmp, pos, "VP8X announces XMP"));
            }
            b"EXIF" => {
                let s = tiff::inspect(data);
                if s.orientation_only.is_none() {
                    let what = format!("EXIF chunk: {}", s.notes.join(", "));
                    out.push(finding(Kind::Exif, pos, what));
                }
            }
            b"XMP " => out.push(finding(Kind::Xmp, pos, "XMP chunk")),
            b"ICCP" => out.icc_profiles.push((pos + 8, data_end)),
            b"ANMF" if len >= 16 => walk(b, pos + 8 + 16, data_end, out),
            b"VP8X" | b"VP8 " | b"VP8L" | b"ALPH" | b"ANIM" | b"ANMF" => {}
            other => {
                let what = format!("chunk {}", label(other));
                out.push(finding(Kind::UnknownChunk, pos, what));
            }
        }
        pos = data_end + (len & 1);
    }
}
