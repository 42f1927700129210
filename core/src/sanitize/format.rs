//! Format detection from the leading bytes (never from a file name).

use super::SanitizeError;

/// An image container format the sanitizer supports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ImageFormat {
    /// JPEG / JFIF / EXIF JPEG, including MPO (multi-picture) files.
    Jpeg,
    /// PNG (including APNG).
    Png,
    /// WebP (lossy VP8, lossless VP8L, extended VP8X).
    #[serde(rename = "webp")]
    WebP,
    /// HEIF family in ISO-BMFF: HEIC, HEIF, AVIF.
    Heif,
}

impl ImageFormat {
    /// The IANA media type of the format.
    pub fn media_type(self) -> &'static str {
        match self {
            ImageFormat::Jpeg => "image/jpeg",
            ImageFormat::Png => "image/png",
            ImageFormat::WebP => "image/webp",
            ImageFormat::Heif => "image/heif",
        }
    }

    /// The usual file extension, without a dot.
    pub fn extension(self) -> &'static str {
        match self {
            ImageFormat::Jpeg => "jpg",
            ImageFormat::Png => "png",
            ImageFormat::WebP => "webp",
            ImageFormat::Heif => "heic",
        }
    }
}

impl std::fmt::Display for ImageFormat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            ImageFormat::Jpeg => "JPEG",
            ImageFormat::Png => "PNG",
            ImageFormat::WebP => "WebP",
            ImageFormat::Heif => "HEIF",
        })
    }
}

pub(crate) const PNG_SIGNATURE: &[u8; 8] = b"\x89PNG\r\n\x1a\n";

/// HEIF-family major/compatible brands that identify a still image file.
const HEIF_BRANDS: &[&[u8; 4]] = &[
    b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"mif1", b"mif2", b"msf1", b"avif",
    b"avis", b"avci",
];

/// Detects the format from the first bytes. `None` if it is none of ours.
pub fn detect_format(bytes: &[u8]) -> Option<ImageFormat> {
    if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        return Some(ImageFormat::Jpeg);
    }
    if bytes.starts_with(PNG_SIGNATURE) {
        return Some(ImageFormat::Png);
    }
    if bytes.len() >= 12 && &bytes[0..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
        return Some(ImageFormat::WebP);
    }
    if is_heif_ftyp(bytes) {
        return Some(ImageFormat::Heif);
    }
    None
}

/// True when `bytes` starts with an `ftyp` box naming a HEIF-family brand.
fn is_heif_ftyp(bytes: &[u8]) -> bool {
    if bytes.len() < 16 || &bytes[4..8] != b"ftyp" {
        return false;
    }
    let size = u32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]) as usize;
    if size < 16 || size > bytes.len() || !size.is_multiple_of(4) {
        return false;
    }
    let major = &bytes[8..12];
    let compatible = bytes[16..size].chunks_exact(4);
    std::iter::once(major)
        .chain(compatible)
        .any(|brand| HEIF_BRANDS.iter().any(|b| &b[..] == brand))
}

/// Builds the error for bytes that [`detect_format`] did not recognise,
/// naming what they look like so the user knows what to do.
pub(crate) fn describe_unknown(bytes: &[u8]) -> SanitizeError {
    let found = if bytes.is_empty() {
        return SanitizeError::Empty;
    } else if bytes.starts_with(&[0xFF, 0xD8]) {
        "JPEG start-of-image not followed by a marker"
    } else if bytes.starts_with(b"GIF8") {
        "GIF"
    } else if bytes.starts_with(b"II*\0") || bytes.starts_with(b"MM\0*") {
        "TIFF or camera raw"
    } else if bytes.starts_with(b"BM") {
        "BMP"
    } else if bytes.starts_with(b"%PDF") {
        "PDF"
    } else if bytes.len() >= 12 && &bytes[4..8] == b"ftyp" {
        "ISO media file that is not a HEIF image (a video?)"
    } else if bytes.starts_with(b"RIFF") {
        "RIFF file that is not WebP"
    } else if bytes.starts_with(&[0x00, 0x00, 0x00, 0x0C, b'j', b'P']) {
        "JPEG 2000"
    } else if bytes.starts_with(&[0xFF, 0x0A]) {
        "JPEG XL"
    } else {
        "unrecognised bytes"
    };
    SanitizeError::UnsupportedFormat { found }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_by_magic_not_name() {
        assert_eq!(
            detect_format(&[0xFF, 0xD8, 0xFF, 0xE0]),
            Some(ImageFormat::Jpeg)
        );
        assert_eq!(detect_format(PNG_SIGNATURE), Some(ImageFormat::Png));
        assert_eq!(
            detect_format(b"RIFF\0\0\0\0WEBPVP8 "),
            Some(ImageFormat::WebP)
        );
        assert_eq!(detect_format(b"RIFF\0\0\0\0WAVEfmt "), None);
        let mut heic = vec![0, 0, 0, 24];
        heic.extend_from_slice(b"ftypmif1\0\0\0\0mif1heic");
        assert_eq!(detect_format(&heic), Some(ImageFormat::Heif));
        let mut mp4 = vec![0, 0, 0, 20];
        mp4.extend_from_slice(b"ftypisom\0\0\0\0isom");
        assert_eq!(detect_format(&mp4), None);
        assert!(matches!(
            describe_unknown(&mp4),
            SanitizeError::UnsupportedFormat { .. }
        ));
        assert_eq!(describe_unknown(&[]), SanitizeError::Empty);
    }
}
