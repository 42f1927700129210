//! An independent metadata scanner for sanitized images.
//!
//! It shares no code with `sealcam_core::sanitize`: it walks JPEG markers,
//! PNG chunks, WebP RIFF chunks and ISOBMFF boxes itself and reports every
//! structure that can identify a patient, a device or a place, plus any byte
//! after the end of the image. On top of the structural walk it searches the
//! whole file for byte strings that only metadata contains (XMP, Photoshop
//! IRBs, MPF, JFXX, Google camera and motion-photo tags).
//!
//! An empty result means "nothing identifying found".

mod isobmff;
mod jpeg;
mod needles;
mod png;
pub mod tiff;
mod webp;

use std::fmt;

/// What kind of thing was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    /// EXIF holding more than a lone Orientation (or an HEIF Exif item).
    Exif,
    /// XMP packets (JPEG APP1, PNG text, WebP chunk, HEIF mime item).
    Xmp,
    /// IPTC / Photoshop image resources.
    Iptc,
    /// JPEG COM.
    Comment,
    /// JPEG APP2 MPF index.
    Mpf,
    /// Thumbnails: EXIF IFD1, JFIF/JFXX thumbnails, HEIF `thmb` references.
    Thumbnail,
    /// Any other JPEG APPn segment.
    AppSegment,
    /// PNG text chunks.
    Text,
    /// PNG tIME.
    Timestamp,
    /// A PNG or WebP chunk outside the display allowlist.
    UnknownChunk,
    /// Bytes after the end of the image.
    Trailer,
    /// HEIF metadata items (`uri ` or non-XMP `mime`).
    MetadataItem,
    /// HEIF `cdsc` (content-describes) references.
    ItemReference,
    /// ISOBMFF top-level boxes other than ftyp, meta and mdat.
    ExtraBox,
    /// Non-zero bytes in an HEIF `mdat` that no item points at.
    UnreferencedData,
    /// A metadata byte string found somewhere in the file.
    Needle,
    /// The file could not be walked (it is then not known to be clean).
    Malformed,
}

/// One thing found, at a byte offset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub kind: Kind,
    pub offset: usize,
    pub what: String,
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?} at byte {}: {}", self.kind, self.offset, self.what)
    }
}

pub(crate) fn finding(kind: Kind, offset: usize, what: impl Into<String>) -> Finding {
    Finding {
        kind,
        offset,
        what: what.into(),
    }
}

/// The container formats the scanner walks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Container {
    Jpeg,
    Png,
    WebP,
    Isobmff,
}

/// Detects the container from its magic bytes.
pub fn container(bytes: &[u8]) -> Option<Container> {
    if bytes.starts_with(&[0xFF, 0xD8]) {
        Some(Container::Jpeg)
    } else if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some(Container::Png)
    } else if bytes.len() >= 12 && &bytes[..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
        Some(Container::WebP)
    } else if bytes.len() >= 8 && &bytes[4..8] == b"ftyp" {
        Some(Container::Isobmff)
    } else {
        None
    }
}

/// What a structural walk found, and where the kept ICC profiles are.
#[derive(Debug, Default)]
pub struct Scan {
    pub findings: Vec<Finding>,
    /// Byte ranges of ICC profile payloads (JPEG APP2, PNG iCCP, WebP ICCP,
    /// HEIF `colr`). They are kept on purpose; their text (a vendor's
    /// copyright line) may legitimately name a camera maker.
    pub icc_profiles: Vec<(usize, usize)>,
}

impl Scan {
    fn push(&mut self, f: Finding) {
        self.findings.push(f);
    }
}

/// The structural walk plus the byte-string search.
pub fn walk(bytes: &[u8]) -> Scan {
    let mut out = Scan::default();
    match container(bytes) {
        Some(Container::Jpeg) => jpeg::scan(bytes, &mut out),
        Some(Container::Png) => png::scan(bytes, &mut out),
        Some(Container::WebP) => webp::scan(bytes, &mut out),
        Some(Container::Isobmff) => isobmff::scan(bytes, &mut out),
        None => out.push(finding(
            Kind::Malformed,
            0,
            "not a JPEG, PNG, WebP or ISOBMFF file",
        )),
    }
    out.findings.extend(needles::scan(bytes));
    out
}

/// Everything identifying in `bytes`: a structural walk plus a byte-string search.
pub fn scan(bytes: &[u8]) -> Vec<Finding> {
    walk(bytes).findings
}

/// The first offset of `needle` in `bytes` outside the kept ICC profiles.
pub fn find_outside_icc(bytes: &[u8], needle: &[u8]) -> Option<usize> {
    let icc = walk(bytes).icc_profiles;
    memchr::memmem::find_iter(bytes, needle)
        .find(|&at| !icc.iter().any(|&(s, e)| at >= s && at + needle.len() <= e))
}

/// A short printable label for an identifier (APPn signature, chunk type):
/// ASCII letters, digits and a few separators only, at most 16 characters.
pub(crate) fn label(bytes: &[u8]) -> String {
    bytes
        .iter()
        .take_while(|&&b| b != 0)
        .take(16)
        .map(|&b| {
            if b.is_ascii_alphanumeric() || b" _-.:/".contains(&b) {
                b as char
            } else {
                '?'
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::heif::fixtures;

    fn kinds(bytes: &[u8]) -> Vec<Kind> {
        scan(bytes).into_iter().map(|f| f.kind).collect()
    }

    fn segment(marker: u8, payload: &[u8]) -> Vec<u8> {
        let mut s = vec![0xFF, marker];
        s.extend_from_slice(&(payload.len() as u16 + 2).to_be_bytes());
        s.extend_from_slice(payload);
        s
    }

    fn orientation_tiff(extra_make: bool) -> Vec<u8> {
        let mut t = b"Exif\0\0MM\0*\0\0\0\x08".to_vec();
        t.extend_from_slice(&[0, if extra_make { 2 } else { 1 }]);
        t.extend_from_slice(&[0x01, 0x12, 0, 3, 0, 0, 0, 1, 0, 6, 0, 0]);
        if extra_make {
            t.extend_from_slice(&[0x01, 0x0F, 0, 2, 0, 0, 0, 4, b'A', b'c', b'm', 0]);
        }
        t.extend_from_slice(&[0, 0, 0, 0]);
        t
    }

    fn jpeg(extra: &[Vec<u8>], trailer: &[u8]) -> Vec<u8> {
        let mut b = vec![0xFF, 0xD8];
        b.extend(segment(0xE0, b"JFIF\0\x01\x02\0\0\x01\0\x01\0\0"));
        extra.iter().for_each(|s| b.extend(s));
        b.extend(segment(0xC0, &[8, 0, 1, 0, 1, 1, 1, 0x11, 0]));
        b.extend(segment(0xDA, &[1, 1, 0, 0, 63, 0]));
        b.extend_from_slice(&[0x12, 0xFF, 0x00, 0x34, 0xFF, 0xD0, 0x56, 0xFF, 0xD9]);
        b.extend_from_slice(trailer);
        b
    }

    #[test]
    fn jpeg_clean_and_dirty() {
        assert_eq!(kinds(&jpeg(&[], b"")), vec![]);
        assert_eq!(
            kinds(&jpeg(&[segment(0xE1, &orientation_tiff(false))], b"")),
            vec![]
        );
        assert_eq!(
            kinds(&jpeg(&[segment(0xE1, &orientation_tiff(true))], b"")),
            vec![Kind::Exif]
        );
        assert_eq!(
            kinds(&jpeg(&[segment(0xFE, b"hi")], b"")),
            vec![Kind::Comment]
        );
        assert_eq!(kinds(&jpeg(&[], b"\0")), vec![Kind::Trailer]);
        let xmp = segment(0xE1, b"http://ns.adobe.com/xap/1.0/\0<x:xmpmeta>");
        assert_eq!(
            kinds(&jpeg(&[xmp], b"")),
            vec![Kind::Xmp, Kind::Needle, Kind::Needle]
        );
        assert_eq!(
            kinds(&jpeg(&[segment(0xE5, b"RMETA\0")], b"")),
            vec![Kind::AppSegment]
        );
        assert_eq!(kinds(&[0xFF, 0xD8, 0xFF]), vec![Kind::Malformed]);
    }

    fn png(chunks: &[(&[u8; 4], &[u8])]) -> Vec<u8> {
        let mut b = b"\x89PNG\r\n\x1a\n".to_vec();
        for (kind, data) in chunks {
            b.extend_from_slice(&(data.len() as u32).to_be_bytes());
            let start = b.len();
            b.extend_from_slice(*kind);
            b.extend_from_slice(data);
            let crc = png::crc32(&b[start..]);
            b.extend_from_slice(&crc.to_be_bytes());
        }
        b
    }

    #[test]
    fn png_clean_and_dirty() {
        let ihdr: (&[u8; 4], &[u8]) = (b"IHDR", &[0, 0, 0, 1, 0, 0, 0, 1, 8, 0, 0, 0, 0]);
        let idat: (&[u8; 4], &[u8]) = (b"IDAT", b"x");
        let iend: (&[u8; 4], &[u8]) = (b"IEND", b"");
        assert_eq!(kinds(&png(&[ihdr, idat, iend])), vec![]);
        let text: (&[u8; 4], &[u8]) = (b"tEXt", b"Author\0someone");
        assert_eq!(kinds(&png(&[ihdr, text, idat, iend])), vec![Kind::Text]);
        let time: (&[u8; 4], &[u8]) = (b"tIME", &[7, 0xE9, 1, 1, 0, 0, 0]);
        assert_eq!(
            kinds(&png(&[ihdr, time, idat, iend])),
            vec![Kind::Timestamp]
        );
        let exif = orientation_tiff(true);
        let exif: (&[u8; 4], &[u8]) = (b"eXIf", &exif[6..]);
        assert_eq!(kinds(&png(&[ihdr, exif, idat, iend])), vec![Kind::Exif]);
        let mut trailing = png(&[ihdr, idat, iend]);
        trailing.push(0);
        assert_eq!(kinds(&trailing), vec![Kind::Trailer]);
        let mut bad_crc = png(&[ihdr, idat, iend]);
        let last = bad_crc.len() - 1;
        bad_crc[last] ^= 1;
        assert_eq!(kinds(&bad_crc), vec![Kind::Malformed]);
    }

    fn webp(chunks: &[(&[u8; 4], &[u8])], trailer: &[u8]) -> Vec<u8> {
        let mut body = Vec::new();
        for (fourcc, data) in chunks {
            body.extend_from_slice(*fourcc);
            body.extend_from_slice(&(data.len() as u32).to_le_bytes());
            body.extend_from_slice(data);
            if data.len() % 2 == 1 {
                body.push(0);
            }
        }
        let mut b = b"RIFF".to_vec();
        b.extend_from_slice(&(body.len() as u32 + 4).to_le_bytes());
        b.extend_from_slice(b"WEBP");
        b.extend(body);
        b.extend_from_slice(trailer);
        b
    }

    #[test]
    fn webp_clean_and_dirty() {
        let vp8x: (&[u8; 4], &[u8]) = (b"VP8X", &[0x08, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
        let vp8: (&[u8; 4], &[u8]) = (b"VP8 ", b"abc");
        let exif = orientation_tiff(false);
        let exif: (&[u8; 4], &[u8]) = (b"EXIF", &exif[6..]);
        assert_eq!(kinds(&webp(&[vp8x, vp8, exif], b"")), vec![]);
        let xmp: (&[u8; 4], &[u8]) = (b"XMP ", b"<x:xmpmeta/>");
        assert_eq!(
            kinds(&webp(&[vp8x, vp8, xmp], b"")),
            vec![Kind::Xmp, Kind::Needle]
        );
        assert_eq!(kinds(&webp(&[vp8], b"zz")), vec![Kind::Trailer]);
        let junk: (&[u8; 4], &[u8]) = (b"JUNK", b"x");
        assert_eq!(
            kinds(&webp(&[vp8x, vp8, junk], b"")),
            vec![Kind::UnknownChunk]
        );
    }

    #[test]
    fn heif_items_references_boxes_and_hidden_mdat_bytes() {
        let found = kinds(&fixtures::sample(b"IMAGE"));
        assert!(
            found.contains(&Kind::Exif) && found.contains(&Kind::Thumbnail),
            "{found:?}"
        );
        assert!(!found.contains(&Kind::UnreferencedData), "{found:?}");
        let hidden = kinds(&fixtures::sample(b"IMAGEhidden"));
        assert!(hidden.contains(&Kind::UnreferencedData), "{hidden:?}");
        let zeroed = kinds(&fixtures::sample(b"IMAGE\0\0\0\0"));
        assert!(!zeroed.contains(&Kind::UnreferencedData), "{zeroed:?}");
        let mut extra = fixtures::sample(b"IMAGE");
        extra.extend(fixtures::bx(b"mpvd", b"video"));
        assert!(kinds(&extra).contains(&Kind::ExtraBox));
    }
}
