//! A small TIFF (EXIF) reader: decides whether an EXIF block holds nothing
//! but a lone, valid IFD0 Orientation, and otherwise names what it holds.

const TAG_ORIENTATION: u16 = 0x0112;
const TYPE_SHORT: u16 = 3;
/// More entries than this in one IFD is not a real file; stop reading.
const MAX_ENTRIES: usize = 4096;

/// Tags worth naming when found (IFD0 or the EXIF sub-IFD).
const NOTABLE: &[(u16, &str)] = &[
    (0x010E, "ImageDescription"),
    (0x010F, "Make"),
    (0x0110, "Model"),
    (0x0131, "Software"),
    (0x0132, "DateTime"),
    (0x013B, "Artist"),
    (0x8298, "Copyright"),
    (0x8769, "EXIF IFD"),
    (0x8825, "GPS IFD"),
    (0x9003, "DateTimeOriginal"),
    (0x927C, "MakerNote"),
    (0x9286, "UserComment"),
    (0xA420, "ImageUniqueID"),
    (0xA430, "CameraOwnerName"),
    (0xA431, "BodySerialNumber"),
    (0xA435, "LensSerialNumber"),
];

/// What an EXIF block holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExifSummary {
    /// `Some(o)` when the block is exactly one IFD with one entry,
    /// Orientation = o (SHORT, count 1), no next IFD, and no other non-zero byte.
    pub orientation_only: Option<u16>,
    /// Names of what else is there (tags, IFD1, unreadable structure).
    pub notes: Vec<String>,
}

/// Inspects a TIFF-structured EXIF block, with or without `Exif\0\0` in front.
pub fn inspect(block: &[u8]) -> ExifSummary {
    let tiff = block.strip_prefix(b"Exif\0\0").unwrap_or(block);
    let mut notes = Vec::new();
    let orientation_only = match Tiff::new(tiff) {
        None => {
            notes.push("not a readable TIFF header".to_string());
            None
        }
        Some(t) => t.summarise(&mut notes),
    };
    ExifSummary {
        orientation_only,
        notes,
    }
}

struct Tiff<'a> {
    data: &'a [u8],
    big_endian: bool,
}

struct Entry {
    tag: u16,
    kind: u16,
    count: u32,
    value_at: usize,
}

impl<'a> Tiff<'a> {
    fn new(data: &'a [u8]) -> Option<Self> {
        let big_endian = match data.get(0..2)? {
            b"MM" => true,
            b"II" => false,
            _ => return None,
        };
        let t = Tiff { data, big_endian };
        (t.u16_at(2)? == 42).then_some(t)
    }

    fn u16_at(&self, at: usize) -> Option<u16> {
        let b: [u8; 2] = self.data.get(at..at.checked_add(2)?)?.try_into().ok()?;
        Some(if self.big_endian {
            u16::from_be_bytes(b)
        } else {
            u16::from_le_bytes(b)
        })
    }

    fn u32_at(&self, at: usize) -> Option<u32> {
        let b: [u8; 4] = self.data.get(at..at.checked_add(4)?)?.try_into().ok()?;
        Some(if self.big_endian {
            u32::from_be_bytes(b)
        } else {
            u32::from_le_bytes(b)
        })
    }

    /// The entries of the IFD at `at` and the offset of the next IFD.
    fn ifd(&self, at: usize) -> Option<(Vec<Entry>, u32)> {
        let count = self.u16_at(at)? as usize;
        if count > MAX_ENTRIES {
            return None;
        }
        let mut entries = Vec::with_capacity(count);
        for i in 0..count {
            let e = at + 2 + 12 * i;
            entries.push(Entry {
                tag: self.u16_at(e)?,
                kind: self.u16_at(e + 2)?,
                count: self.u32_at(e + 4)?,
                value_at: e + 8,
            });
        }
        let next = self.u32_at(at + 2 + 12 * count)?;
        Some((entries, next))
    }

    fn summarise(&self, notes: &mut Vec<String>) -> Option<u16> {
        let ifd0 = self.u32_at(4)? as usize;
        let Some((entries, next)) = self.ifd(ifd0) else {
            notes.push("IFD0 unreadable".to_string());
            return None;
        };
        self.note_tags(&entries, "IFD0", notes);
        if let Some(exif_ifd) = entries.iter().find(|e| e.tag == 0x8769) {
            if let Some((sub, _)) = self
                .u32_at(exif_ifd.value_at)
                .and_then(|at| self.ifd(at as usize))
            {
                self.note_tags(&sub, "EXIF IFD", notes);
            }
        }
        if next != 0 {
            notes.push("IFD1 (thumbnail IFD)".to_string());
        }
        let [only] = entries.as_slice() else {
            notes.push(format!("IFD0 has {} entries", entries.len()));
            return None;
        };
        if only.tag != TAG_ORIENTATION {
            notes.push(format!("IFD0 tag 0x{:04X}", only.tag));
            return None;
        }
        let value = self.u16_at(only.value_at)?;
        if only.kind != TYPE_SHORT || only.count != 1 || !(1..=8).contains(&value) {
            notes.push("malformed Orientation entry".to_string());
            return None;
        }
        if next != 0 {
            return None;
        }
        // Every byte outside the header and the IFD must be zero padding.
        let ifd_end = ifd0 + 2 + 12 + 4;
        let hidden = self
            .data
            .iter()
            .enumerate()
            .filter(|&(i, &b)| b != 0 && i >= 8 && !(ifd0..ifd_end).contains(&i))
            .count();
        if hidden > 0 {
            notes.push(format!("{hidden} non-zero bytes outside the IFD"));
            return None;
        }
        Some(value)
    }

    fn note_tags(&self, entries: &[Entry], ifd: &str, notes: &mut Vec<String>) {
        for e in entries {
            if let Some((_, name)) = NOTABLE.iter().find(|(t, _)| *t == e.tag) {
                notes.push(format!("{ifd} {name}"));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn block(entries: &[(u16, u16, u32, u32)], next: u32) -> Vec<u8> {
        let mut b = b"MM\0*\0\0\0\x08".to_vec();
        b.extend_from_slice(&(entries.len() as u16).to_be_bytes());
        for &(tag, kind, count, value) in entries {
            b.extend_from_slice(&tag.to_be_bytes());
            b.extend_from_slice(&kind.to_be_bytes());
            b.extend_from_slice(&count.to_be_bytes());
            b.extend_from_slice(&value.to_be_bytes());
        }
        b.extend_from_slice(&next.to_be_bytes());
        b
    }

    #[test]
    fn lone_orientation_is_accepted() {
        let b = block(&[(0x0112, 3, 1, 6 << 16)], 0);
        assert_eq!(inspect(&b).orientation_only, Some(6));
        let mut prefixed = b"Exif\0\0".to_vec();
        prefixed.extend_from_slice(&b);
        assert_eq!(inspect(&prefixed).orientation_only, Some(6));
    }

    #[test]
    fn anything_more_is_named() {
        let gps = block(&[(0x0112, 3, 1, 6 << 16), (0x8825, 4, 1, 100)], 0);
        let s = inspect(&gps);
        assert_eq!(s.orientation_only, None);
        assert!(s.notes.iter().any(|n| n.contains("GPS")), "{:?}", s.notes);

        let thumb = block(&[(0x0112, 3, 1, 6 << 16)], 40);
        assert!(inspect(&thumb).notes.iter().any(|n| n.contains("IFD1")));

        let mut hidden = block(&[(0x0112, 3, 1, 6 << 16)], 0);
        hidden.extend_from_slice(b"serial 1234");
        assert_eq!(inspect(&hidden).orientation_only, None);

        assert_eq!(inspect(b"garbage").orientation_only, None);
        assert_eq!(inspect(b"").orientation_only, None);
    }
}
