//! A bounded reader and a writer for the binary structures of this module
//! (device certificates, signed directories, encrypted keys).
//!
//! Integers are unsigned big-endian. Strings are UTF-8 with a length
//! prefix, limited in bytes by the prefix width and in characters by the
//! caller, and must be "clean": no control characters, no leading or
//! trailing white space. The reader never reads past its input and
//! `finish` refuses trailing bytes.

use super::KeyError;

/// Checks the rules every text field shares; returns a reason when broken.
pub(crate) fn check_text(s: &str, min_chars: usize, max_chars: usize) -> Result<(), &'static str> {
    let n = s.chars().count();
    if n < min_chars {
        return Err("a text field is empty");
    }
    if n > max_chars {
        return Err("a text field is too long");
    }
    if !crate::display_text::is_display_safe(s) {
        return Err("a text field contains control or text-direction characters");
    }
    if s.trim() != s {
        return Err("a text field has leading or trailing white space");
    }
    Ok(())
}

/// Reads a byte slice front to back, reporting offsets in errors.
pub(crate) struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
    what: &'static str,
}

impl<'a> Reader<'a> {
    /// A reader over `buf`; `what` names the structure in errors.
    pub(crate) fn new(buf: &'a [u8], what: &'static str) -> Self {
        Reader { buf, pos: 0, what }
    }

    /// An error at the current position.
    pub(crate) fn error(&self, reason: &'static str) -> KeyError {
        self.error_at(self.pos, reason)
    }

    /// An error at a given position.
    pub(crate) fn error_at(&self, offset: usize, reason: &'static str) -> KeyError {
        KeyError::Format {
            what: self.what,
            offset,
            reason,
        }
    }

    /// The current offset.
    pub(crate) fn position(&self) -> usize {
        self.pos
    }

    /// Everything read so far.
    pub(crate) fn consumed(&self) -> &'a [u8] {
        &self.buf[..self.pos]
    }

    /// The next `n` bytes.
    pub(crate) fn bytes(&mut self, n: usize) -> Result<&'a [u8], KeyError> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|&end| end <= self.buf.len())
            .ok_or_else(|| self.error("truncated"))?;
        let out = &self.buf[self.pos..end];
        self.pos = end;
        Ok(out)
    }

    /// The next `N` bytes as an array.
    pub(crate) fn array<const N: usize>(&mut self) -> Result<[u8; N], KeyError> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.bytes(N)?);
        Ok(out)
    }

    /// One byte.
    pub(crate) fn u8(&mut self) -> Result<u8, KeyError> {
        Ok(self.array::<1>()?[0])
    }

    /// A big-endian u16.
    pub(crate) fn u16(&mut self) -> Result<u16, KeyError> {
        Ok(u16::from_be_bytes(self.array()?))
    }

    /// A big-endian u32.
    pub(crate) fn u32(&mut self) -> Result<u32, KeyError> {
        Ok(u32::from_be_bytes(self.array()?))
    }

    /// A big-endian u64.
    pub(crate) fn u64(&mut self) -> Result<u64, KeyError> {
        Ok(u64::from_be_bytes(self.array()?))
    }

    /// A clean UTF-8 string with a one-byte length prefix.
    pub(crate) fn text_u8(&mut self, min: usize, max: usize) -> Result<&'a str, KeyError> {
        let len = usize::from(self.u8()?);
        self.text(len, min, max)
    }

    /// A clean UTF-8 string with a two-byte length prefix.
    pub(crate) fn text_u16(&mut self, min: usize, max: usize) -> Result<&'a str, KeyError> {
        let len = usize::from(self.u16()?);
        self.text(len, min, max)
    }

    fn text(&mut self, len: usize, min: usize, max: usize) -> Result<&'a str, KeyError> {
        let start = self.pos;
        let raw = self.bytes(len)?;
        let s = std::str::from_utf8(raw).map_err(|_| self.error_at(start, "text is not UTF-8"))?;
        check_text(s, min, max).map_err(|reason| self.error_at(start, reason))?;
        Ok(s)
    }

    /// Succeeds only if every byte was read.
    pub(crate) fn finish(self) -> Result<(), KeyError> {
        if self.pos == self.buf.len() {
            Ok(())
        } else {
            Err(self.error("trailing bytes after the end"))
        }
    }
}

/// Appends fields to a byte vector.
#[derive(Default)]
pub(crate) struct Writer {
    buf: Vec<u8>,
}

impl Writer {
    /// An empty writer.
    pub(crate) fn new() -> Self {
        Writer::default()
    }

    /// Raw bytes.
    pub(crate) fn bytes(&mut self, b: &[u8]) {
        self.buf.extend_from_slice(b);
    }

    /// One byte.
    pub(crate) fn u8(&mut self, v: u8) {
        self.buf.push(v);
    }

    /// A big-endian u16.
    pub(crate) fn u16(&mut self, v: u16) {
        self.bytes(&v.to_be_bytes());
    }

    /// A big-endian u32.
    pub(crate) fn u32(&mut self, v: u32) {
        self.bytes(&v.to_be_bytes());
    }

    /// A big-endian u64.
    pub(crate) fn u64(&mut self, v: u64) {
        self.bytes(&v.to_be_bytes());
    }

    /// A string with a one-byte length prefix. The caller has checked the
    /// text (`check_text`) with a character limit that keeps it under 256
    /// bytes; a longer one is refused rather than truncated.
    pub(crate) fn text_u8(&mut self, s: &str) -> Result<(), &'static str> {
        let len = u8::try_from(s.len()).map_err(|_| "a text field is too long")?;
        self.u8(len);
        self.bytes(s.as_bytes());
        Ok(())
    }

    /// A string with a two-byte length prefix.
    pub(crate) fn text_u16(&mut self, s: &str) -> Result<(), &'static str> {
        let len = u16::try_from(s.len()).map_err(|_| "a text field is too long")?;
        self.u16(len);
        self.bytes(s.as_bytes());
        Ok(())
    }

    /// The bytes written.
    pub(crate) fn into_vec(self) -> Vec<u8> {
        self.buf
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reader_bounds_and_trailing() {
        let data = [0u8, 1, 0, 0, 0, 2, 9];
        let mut r = Reader::new(&data, "test");
        assert_eq!(r.u16().expect("u16"), 1);
        assert_eq!(r.u32().expect("u32"), 2);
        assert!(r.u64().is_err());
        let mut r = Reader::new(&data, "test");
        r.bytes(6).expect("six");
        assert!(matches!(
            r.finish(),
            Err(KeyError::Format { offset: 6, .. })
        ));
        let mut r = Reader::new(&data, "test");
        assert!(r.bytes(usize::MAX).is_err());
    }

    #[test]
    fn text_rules() {
        let mut w = Writer::new();
        w.text_u8("Dr A").expect("ok");
        w.text_u16("é").expect("ok");
        let v = w.into_vec();
        let mut r = Reader::new(&v, "test");
        assert_eq!(r.text_u8(1, 10).expect("t"), "Dr A");
        assert_eq!(r.text_u16(1, 1).expect("t"), "é");
        r.finish().expect("done");
        for bad in [
            &[0u8][..],
            &[1, 0xff],
            &[2, b' ', b'a'],
            &[1, b'\n'],
            &[3, b'a', b'b', b'c'],
        ] {
            let mut r = Reader::new(bad, "test");
            assert!(r.text_u8(1, 2).is_err(), "{bad:?}");
        }
        assert!(Writer::new().text_u8(&"x".repeat(256)).is_err());
    }
}
