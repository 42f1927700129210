//! PNG: walk the chunks from the signature to IEND.

use super::{finding, label, tiff, Finding, Kind, Scan};

/// Chunks that only affect how the picture is shown (or are the picture).
const DISPLAY: &[&[u8; 4]] = &[
    b"IHDR", b"PLTE", b"IDAT", b"IEND", b"tRNS", b"gAMA", b"cHRM", b"sRGB", b"iCCP", b"cICP",
    b"mDCV", b"cLLI", b"sBIT", b"bKGD", b"pHYs", b"hIST", b"sPLT", b"acTL", b"fcTL", b"fdAT",
];

pub(super) fn scan(b: &[u8], out: &mut Scan) {
    let mut pos = 8;
    loop {
        let Some(head) = b.get(pos..pos + 8) else {
            out.push(finding(Kind::Malformed, pos, "no IEND chunk"));
            return;
        };
        let len = u32::from_be_bytes([head[0], head[1], head[2], head[3]]) as usize;
        let kind: [u8; 4] = [head[4], head[5], head[6], head[7]];
        let end = pos + 12 + len;
        if end > b.len() {
            out.push(finding(Kind::Malformed, pos, "chunk runs past the end"));
            return;
        }
        let data = &b[pos + 8..pos + 8 + len];
        let crc = u32::from_be_bytes([b[end - 4], b[end - 3], b[end - 2], b[end - 1]]);
        if crc32(&b[pos + 4..end - 4]) != crc {
            out.push(finding(
                Kind::Malformed,
                pos,
                format!("{} CRC mismatch", label(&kind)),
            ));
        }
        if &kind == b"iCCP" {
            out.icc_profiles.push((pos + 8, pos + 8 + len));
        }
        if let Some(f) = check_chunk(&kind, data, pos) {
            out.push(f);
        }
        if &kind == b"IEND" {
            if end < b.len() {
                let n = b.len() - end;
                out.push(finding(Kind::Trailer, end, format!("{n} bytes after IEND")));
            }
            return;
        }
        pos = end;
    }
}

fn check_chunk(kind: &[u8; 4], data: &[u8], at: usize) -> Option<Finding> {
    let f = |k, what: String| Some(finding(k, at, what));
    match kind {
        b"tEXt" | b"zTXt" | b"iTXt" => {
            let keyword = keyword(data);
            let k = match keyword.as_str() {
                "XML:com.adobe.xmp" | "Raw profile type xmp" => Kind::Xmp,
                "Raw profile type iptc" | "Raw profile type 8bim" => Kind::Iptc,
                "Raw profile type exif" | "Raw profile type APP1" => Kind::Exif,
                _ => Kind::Text,
            };
            f(k, format!("{} '{keyword}'", label(kind)))
        }
        b"tIME" => f(Kind::Timestamp, "tIME".into()),
        b"eXIf" => {
            let s = tiff::inspect(data);
            match s.orientation_only {
                Some(_) => None,
                _ => f(Kind::Exif, format!("eXIf: {}", s.notes.join(", "))),
            }
        }
        k if DISPLAY.contains(&k) => None,
        _ => f(Kind::UnknownChunk, format!("chunk {}", label(kind))),
    }
}

/// A text chunk's keyword (Latin-1, 1..=79 bytes, NUL-terminated), printable.
fn keyword(data: &[u8]) -> String {
    data.iter()
        .take_while(|&&b| b != 0)
        .take(79)
        .map(|&b| {
            if b.is_ascii_graphic() || b == b' ' {
                b as char
            } else {
                '?'
            }
        })
        .collect()
}

/// CRC-32 (ISO 3309 / PNG), bitwise: small and independent.
pub(crate) fn crc32(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &byte in data {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                0xEDB8_8320 ^ (crc >> 1)
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

#[cfg(test)]
mod tests {
    #[test]
    fn crc_matches_the_png_check_value() {
        assert_eq!(super::crc32(b"123456789"), 0xCBF4_3926);
        assert_eq!(super::crc32(b"IEND"), 0xAE42_6082);
    }
}
