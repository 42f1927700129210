//! ISO-BMFF box headers and a bounds-checked big-endian field reader.

use crate::sanitize::{ImageFormat, SanitizeError};

pub(super) const F: ImageFormat = ImageFormat::Heif;

/// One box: its type and byte ranges in the input.
#[derive(Debug, Clone, Copy)]
pub(super) struct BoxRef {
    pub kind: [u8; 4],
    /// Offset of the size field.
    pub start: usize,
    /// Offset of the payload (after size, type and any 64-bit size).
    pub body: usize,
    /// Offset one past the end of the box.
    pub end: usize,
}

impl BoxRef {
    pub fn payload<'a>(&self, input: &'a [u8]) -> &'a [u8] {
        &input[self.body..self.end]
    }
    pub fn len(&self) -> usize {
        self.end - self.start
    }
}

/// The boxes laid end to end in `input[start..end]`. Sizes must tile the
/// range exactly.
pub(super) fn read_boxes(
    input: &[u8],
    start: usize,
    end: usize,
) -> Result<Vec<BoxRef>, SanitizeError> {
    let mut boxes = Vec::new();
    let mut pos = start;
    while pos < end {
        let mut c = Cursor::new(input, pos, end);
        let size32 = c.u32("box header")?;
        let kind = c.fourcc("box header")?;
        let size = match size32 {
            0 => (end - pos) as u64, // extends to the end of its container
            1 => c.u64("64-bit box size")?,
            n => u64::from(n),
        };
        let body = c.pos;
        let box_end = usize::try_from(size)
            .ok()
            .and_then(|s| pos.checked_add(s))
            .ok_or_else(|| {
                SanitizeError::truncated(F, "box runs past the end of its container", pos)
            })?;
        if box_end < body {
            return Err(SanitizeError::corrupt(
                F,
                "box size smaller than its header",
                pos,
            ));
        }
        if box_end > end {
            return Err(SanitizeError::truncated(
                F,
                "box runs past the end of its container",
                pos,
            ));
        }
        boxes.push(BoxRef {
            kind,
            start: pos,
            body,
            end: box_end,
        });
        pos = box_end;
    }
    Ok(boxes)
}

/// A big-endian reader over `input[pos..end]` whose errors name the
/// structure being read and its offset.
pub(super) struct Cursor<'a> {
    input: &'a [u8],
    pub pos: usize,
    end: usize,
}

impl<'a> Cursor<'a> {
    pub fn new(input: &'a [u8], pos: usize, end: usize) -> Self {
        Cursor { input, pos, end }
    }

    pub fn take(&mut self, n: usize, what: &'static str) -> Result<&'a [u8], SanitizeError> {
        let start = self.pos;
        let stop = start
            .checked_add(n)
            .filter(|&s| s <= self.end)
            .ok_or_else(|| SanitizeError::truncated(F, what, start))?;
        self.pos = stop;
        Ok(&self.input[start..stop])
    }

    pub fn u8(&mut self, what: &'static str) -> Result<u8, SanitizeError> {
        Ok(self.take(1, what)?[0])
    }
    pub fn u16(&mut self, what: &'static str) -> Result<u16, SanitizeError> {
        let b = self.take(2, what)?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    }
    pub fn u32(&mut self, what: &'static str) -> Result<u32, SanitizeError> {
        let b = self.take(4, what)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }
    pub fn u64(&mut self, what: &'static str) -> Result<u64, SanitizeError> {
        let b = self.take(8, what)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(u64::from_be_bytes(a))
    }
    pub fn fourcc(&mut self, what: &'static str) -> Result<[u8; 4], SanitizeError> {
        let b = self.take(4, what)?;
        Ok([b[0], b[1], b[2], b[3]])
    }
    /// An unsigned integer of `size` bytes (0, 4 or 8 in iloc; 0 reads as 0).
    pub fn uint(&mut self, size: u8, what: &'static str) -> Result<u64, SanitizeError> {
        match size {
            0 => Ok(0),
            4 => self.u32(what).map(u64::from),
            8 => self.u64(what),
            _ => Err(SanitizeError::corrupt(
                F,
                "field size not 0, 4 or 8",
                self.pos,
            )),
        }
    }
    /// A 16-bit item ID in version 0 structures, 32-bit otherwise.
    pub fn item_id(&mut self, wide: bool, what: &'static str) -> Result<u32, SanitizeError> {
        if wide {
            self.u32(what)
        } else {
            self.u16(what).map(u32::from)
        }
    }
    /// Version and flags of a FullBox.
    pub fn full_box(&mut self, what: &'static str) -> Result<(u8, u32), SanitizeError> {
        let v = self.u32(what)?;
        Ok(((v >> 24) as u8, v & 0x00FF_FFFF))
    }
    /// A NUL-terminated string (without the NUL).
    pub fn cstring(&mut self, what: &'static str) -> Result<&'a [u8], SanitizeError> {
        let rest = &self.input[self.pos..self.end];
        let n =
            memchr::memchr(0, rest).ok_or_else(|| SanitizeError::truncated(F, what, self.pos))?;
        let s = &rest[..n];
        self.pos += n + 1;
        Ok(s)
    }
}
