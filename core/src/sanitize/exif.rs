//! The two things the sanitizer does with EXIF: read the Orientation tag out
//! of an EXIF block it is about to drop, and write a minimal block holding
//! Orientation alone.

/// The `Exif\0\0` prefix of a JPEG APP1 EXIF segment (also found, wrongly,
/// at the start of some WebP EXIF chunks and PNG eXIf chunks).
pub(crate) const EXIF_PREFIX: &[u8; 6] = b"Exif\0\0";

const TAG_ORIENTATION: u16 = 0x0112;
const TYPE_SHORT: u16 = 3;
/// More IFD0 entries than this is not a real camera file; stop looking.
const MAX_IFD0_ENTRIES: usize = 1024;

/// Reads IFD0 Orientation from a TIFF-structured EXIF block (with or without
/// the `Exif\0\0` prefix). Returns `Some(2..=8)` when the image must be
/// rotated or mirrored; `None` for 1 (upright), out-of-range values, a
/// missing tag or an unreadable block: the image is then shown as stored.
pub(crate) fn read_orientation(block: &[u8]) -> Option<u16> {
    let tiff = block.strip_prefix(EXIF_PREFIX).unwrap_or(block);
    let big_endian = match tiff.get(0..2)? {
        b"MM" => true,
        b"II" => false,
        _ => return None,
    };
    let u16_at = |at: usize| -> Option<u16> {
        let b: [u8; 2] = tiff.get(at..at.checked_add(2)?)?.try_into().ok()?;
        Some(if big_endian {
            u16::from_be_bytes(b)
        } else {
            u16::from_le_bytes(b)
        })
    };
    let u32_at = |at: usize| -> Option<u32> {
        let b: [u8; 4] = tiff.get(at..at.checked_add(4)?)?.try_into().ok()?;
        Some(if big_endian {
            u32::from_be_bytes(b)
        } else {
            u32::from_le_bytes(b)
        })
    };
    if u16_at(2)? != 42 {
        return None;
    }
    let ifd0 = u32_at(4)? as usize;
    let count = (u16_at(ifd0)? as usize).min(MAX_IFD0_ENTRIES);
    for i in 0..count {
        let entry = ifd0 + 2 + i * 12;
        if u16_at(entry)? != TAG_ORIENTATION {
            continue;
        }
        if u16_at(entry + 2)? != TYPE_SHORT || u32_at(entry + 4)? != 1 {
            return None;
        }
        let value = u16_at(entry + 8)?;
        return (2..=8).contains(&value).then_some(value);
    }
    None
}

/// Length of the TIFF block written by [`minimal_tiff`].
pub(crate) const MINIMAL_TIFF_LEN: usize = 26;

/// A big-endian TIFF block with one IFD holding one entry, Orientation, and
/// no next IFD.
pub(crate) fn minimal_tiff(orientation: u16) -> [u8; MINIMAL_TIFF_LEN] {
    let mut t = [0u8; MINIMAL_TIFF_LEN];
    t[0..4].copy_from_slice(b"MM\0*");
    t[4..8].copy_from_slice(&8u32.to_be_bytes()); // IFD0 right after the header
    t[8..10].copy_from_slice(&1u16.to_be_bytes()); // one entry
    t[10..12].copy_from_slice(&TAG_ORIENTATION.to_be_bytes());
    t[12..14].copy_from_slice(&TYPE_SHORT.to_be_bytes());
    t[14..18].copy_from_slice(&1u32.to_be_bytes()); // count
    t[18..20].copy_from_slice(&orientation.to_be_bytes()); // value, left-justified
                                                           // t[20..22]: value padding; t[22..26]: next IFD offset 0 (none).
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minimal_block_round_trips_every_orientation() {
        for o in 2..=8 {
            assert_eq!(read_orientation(&minimal_tiff(o)), Some(o));
        }
        assert_eq!(read_orientation(&minimal_tiff(1)), None);
        assert_eq!(read_orientation(&minimal_tiff(0)), None);
        assert_eq!(read_orientation(&minimal_tiff(9)), None);
    }

    #[test]
    fn little_endian_and_prefixed_blocks() {
        let mut le = vec![b'I', b'I', 42, 0, 8, 0, 0, 0, 2, 0];
        le.extend_from_slice(&[0x0F, 0x01, 2, 0, 4, 0, 0, 0, 26, 0, 0, 0]); // Make
        le.extend_from_slice(&[0x12, 0x01, 3, 0, 1, 0, 0, 0, 6, 0, 0, 0]); // Orientation 6
        le.extend_from_slice(&[0, 0, 0, 0]);
        assert_eq!(read_orientation(&le), Some(6));
        let mut prefixed = EXIF_PREFIX.to_vec();
        prefixed.extend_from_slice(&le);
        assert_eq!(read_orientation(&prefixed), Some(6));
    }

    #[test]
    fn garbage_is_no_orientation() {
        assert_eq!(read_orientation(b""), None);
        assert_eq!(read_orientation(b"MM\0*\xff\xff\xff\xff"), None);
        assert_eq!(read_orientation(b"\xff\xff\0*\0\0\0\x08"), None);
    }
}
