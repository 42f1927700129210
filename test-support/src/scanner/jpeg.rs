//! JPEG: walk the markers from SOI to the first EOI after a scan.

use super::{finding, label, tiff, Finding, Kind, Scan};

const XMP: &[u8] = b"http://ns.adobe.com/xap/1.0/\0";
const XMP_EXTENSION: &[u8] = b"http://ns.adobe.com/xmp/extension/\0";

pub(super) fn scan(b: &[u8], out: &mut Scan) {
    let mut pos = 2;
    loop {
        if pos >= b.len() {
            out.push(finding(Kind::Malformed, pos, "no end-of-image marker"));
            return;
        }
        if b[pos] != 0xFF {
            out.push(finding(
                Kind::Malformed,
                pos,
                "stray bytes between segments",
            ));
            return;
        }
        while b.get(pos + 1) == Some(&0xFF) {
            pos += 1;
        }
        let Some(&marker) = b.get(pos + 1) else {
            out.push(finding(Kind::Malformed, pos, "file ends inside a marker"));
            return;
        };
        match marker {
            0xD9 => {
                let after = pos + 2;
                if after < b.len() {
                    let n = b.len() - after;
                    out.push(finding(
                        Kind::Trailer,
                        after,
                        format!("{n} bytes after EOI"),
                    ));
                }
                return;
            }
            0x01 | 0xD0..=0xD7 => {
                pos += 2;
                continue;
            }
            0xD8 | 0x00 => {
                out.push(finding(Kind::Malformed, pos, "unexpected SOI or 0xFF00"));
                return;
            }
            _ => {}
        }
        let Some(len) = b
            .get(pos + 2..pos + 4)
            .map(|l| u16::from_be_bytes([l[0], l[1]]))
        else {
            out.push(finding(Kind::Malformed, pos, "file ends inside a segment"));
            return;
        };
        let end = pos + 2 + len as usize;
        if len < 2 || end > b.len() {
            out.push(finding(
                Kind::Malformed,
                pos,
                "segment length out of bounds",
            ));
            return;
        }
        let payload = &b[pos + 4..end];
        if marker == 0xE2 && payload.starts_with(b"ICC_PROFILE\0") {
            out.icc_profiles.push((pos + 4, end));
        }
        if let Some(f) = check_segment(marker, payload, pos) {
            out.push(f);
        }
        pos = if marker == 0xDA {
            match skip_scan_data(b, end) {
                Some(next) => next,
                None => {
                    out.push(finding(Kind::Malformed, end, "scan data without end"));
                    return;
                }
            }
        } else {
            end
        };
    }
}

/// Decides whether one segment is identifying.
fn check_segment(marker: u8, p: &[u8], at: usize) -> Option<Finding> {
    let f = |kind, what: String| Some(finding(kind, at, what));
    match marker {
        0xE0 if p.starts_with(b"JFIF\0") => {
            let thumb = p.len() != 14 || p.get(12..14) != Some(&[0, 0]);
            thumb.then(|| finding(Kind::Thumbnail, at, "JFIF APP0 with a thumbnail"))
        }
        0xE0 if p.starts_with(b"JFXX\0") => f(Kind::Thumbnail, "JFXX thumbnail".into()),
        0xE1 if p.starts_with(b"Exif\0\0") => {
            let s = tiff::inspect(p);
            match s.orientation_only {
                Some(_) => None,
                _ => f(Kind::Exif, format!("APP1 EXIF: {}", s.notes.join(", "))),
            }
        }
        0xE1 if p.starts_with(XMP) || p.starts_with(XMP_EXTENSION) => {
            f(Kind::Xmp, "APP1 XMP".into())
        }
        0xE2 if p.starts_with(b"ICC_PROFILE\0") => None,
        0xE2 if p.starts_with(b"MPF\0") => f(Kind::Mpf, "APP2 MPF".into()),
        0xED => f(Kind::Iptc, format!("APP13 {}", label(p))),
        0xEE if p.starts_with(b"Adobe") => None,
        0xE0..=0xEF => f(
            Kind::AppSegment,
            format!("APP{} {}", marker - 0xE0, label(p)),
        ),
        0xFE => f(Kind::Comment, format!("COM of {} bytes", p.len())),
        _ => None,
    }
}

/// Offset of the marker that ends the entropy-coded data starting at `i`.
fn skip_scan_data(b: &[u8], mut i: usize) -> Option<usize> {
    loop {
        i += b.get(i..)?.iter().position(|&x| x == 0xFF)?;
        match *b.get(i + 1)? {
            0x00 | 0xD0..=0xD7 | 0xFF => i += 1,
            _ => return Some(i),
        }
    }
}
