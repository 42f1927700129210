//! An image's size in pixels as stored (before any EXIF Orientation or
//! HEIF rotation, as docs/RECORD.md defines `image.width`/`height`), read
//! from its header for the clinical record and the FHIR Media resource.
//! Nothing is decoded.
//!
//! JPEG: the first SOFn frame header. PNG: IHDR. WebP: the VP8X canvas, or
//! the VP8/VP8L frame header. HEIF/AVIF: the primary item's `ispe`
//! property.

use super::heif;
use super::verify;

/// Width and height in pixels, as stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Dimensions {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
}

/// The stored size of a sanitized image; `None` when its header does not
/// say (or the image is not one the sanitizer writes).
pub fn dimensions(image: &[u8]) -> Option<Dimensions> {
    let verified = verify::verify(image).ok()?;
    let (width, height) = match verified.format {
        super::ImageFormat::Jpeg => jpeg(image)?,
        super::ImageFormat::Png => png(image)?,
        super::ImageFormat::WebP => webp(image)?,
        super::ImageFormat::Heif => heif::primary_size(image)?,
    };
    (width > 0 && height > 0).then_some(Dimensions { width, height })
}

fn be16(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from(u16::from_be_bytes([
        *b.get(at)?,
        *b.get(at + 1)?,
    ])))
}

fn le16(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from(u16::from_le_bytes([
        *b.get(at)?,
        *b.get(at + 1)?,
    ])))
}

fn le24(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes([
        *b.get(at)?,
        *b.get(at + 1)?,
        *b.get(at + 2)?,
        0,
    ]))
}

/// Walks the marker segments to the first frame header (SOF0..SOF15 but
/// DHT, JPG and DAC).
fn jpeg(b: &[u8]) -> Option<(u32, u32)> {
    let mut i = 2;
    loop {
        if *b.get(i)? != 0xFF {
            return None;
        }
        let marker = *b.get(i + 1)?;
        match marker {
            0xFF => {
                i += 1;
                continue;
            }
            0xD8 | 0x01 | 0xD0..=0xD7 => {
                i += 2;
                continue;
            }
            0xD9 | 0xDA => return None,
            _ => {}
        }
        let len = usize::try_from(be16(b, i + 2)?).ok()?;
        if matches!(marker, 0xC0..=0xCF) && !matches!(marker, 0xC4 | 0xC8 | 0xCC) {
            let height = be16(b, i + 5)?;
            let width = be16(b, i + 7)?;
            return Some((width, height));
        }
        i = i.checked_add(2 + len)?;
    }
}

fn png(b: &[u8]) -> Option<(u32, u32)> {
    if b.get(12..16)? != b"IHDR" {
        return None;
    }
    let w = u32::from_be_bytes(b.get(16..20)?.try_into().ok()?);
    let h = u32::from_be_bytes(b.get(20..24)?.try_into().ok()?);
    Some((w, h))
}

fn webp(b: &[u8]) -> Option<(u32, u32)> {
    let chunk = b.get(12..16)?;
    let data = 20;
    match chunk {
        b"VP8X" => Some((le24(b, data + 4)? + 1, le24(b, data + 7)? + 1)),
        b"VP8 " => {
            // Frame tag (3 bytes), start code 9d 01 2a, then 14-bit sizes.
            if b.get(data + 3..data + 6)? != [0x9d, 0x01, 0x2a] {
                return None;
            }
            Some((le16(b, data + 6)? & 0x3fff, le16(b, data + 8)? & 0x3fff))
        }
        b"VP8L" => {
            if *b.get(data)? != 0x2f {
                return None;
            }
            let bits = u32::from_le_bytes(b.get(data + 1..data + 5)?.try_into().ok()?);
            Some(((bits & 0x3fff) + 1, ((bits >> 14) & 0x3fff) + 1))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn png_ihdr() {
        let mut b = b"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR".to_vec();
        b.extend_from_slice(&640u32.to_be_bytes());
        b.extend_from_slice(&480u32.to_be_bytes());
        assert_eq!(png(&b), Some((640, 480)));
        assert_eq!(png(&b[..20]), None);
    }

    #[test]
    fn jpeg_frame_header_after_other_segments() {
        let mut b = vec![0xFF, 0xD8];
        b.extend_from_slice(&[0xFF, 0xE0, 0, 4, 0, 0]); // APP0, 2 bytes of data
        b.extend_from_slice(&[0xFF, 0xC4, 0, 2]); // an empty DHT
        b.extend_from_slice(&[0xFF, 0xC2, 0, 11, 8, 0x0B, 0xD0, 0x0F, 0xC0, 1, 1, 0x11, 0]);
        assert_eq!(jpeg(&b), Some((4032, 3024)));
        assert_eq!(jpeg(&b[..b.len() - 6]), None, "truncated");
    }

    #[test]
    fn webp_headers() {
        let mut x = b"RIFF\0\0\0\0WEBPVP8X\x0a\0\0\0\0\0\0\0".to_vec();
        x.extend_from_slice(&[0x7f, 0x07, 0x00, 0xdf, 0x05, 0x00]); // 1920 x 1504
        assert_eq!(webp(&x), Some((1920, 1504)));
        let mut lossy = b"RIFF\0\0\0\0WEBPVP8 \0\0\0\0".to_vec();
        lossy.extend_from_slice(&[0, 0, 0, 0x9d, 0x01, 0x2a, 0x80, 0x02, 0xe0, 0x01]);
        assert_eq!(webp(&lossy), Some((640, 480)));
        let mut lossless = b"RIFF\0\0\0\0WEBPVP8L\0\0\0\0\x2f".to_vec();
        let bits: u32 = (100 - 1) | ((50 - 1) << 14);
        lossless.extend_from_slice(&bits.to_le_bytes());
        assert_eq!(webp(&lossless), Some((100, 50)));
    }
}
