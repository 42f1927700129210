//! JPEG (baseline, progressive, lossless, arithmetic; MPO) container editing.
//!
//! Kept: SOI; APP0 JFIF (with its thumbnail cut off); APP2 ICC_PROFILE;
//! APP14 Adobe; DQT, DHT, DAC, DRI, SOFn, DNL, EXP and DHP; every SOS with
//! its entropy-coded data; the first EOI after the last scan. A minimal EXIF
//! APP1 holding Orientation alone is written when the original EXIF said 2..=8.
//!
//! Dropped: APP1 EXIF and XMP (incl. extended XMP), APP2 MPF and FlashPix,
//! APP13 IPTC/Photoshop, COM, every other APPn, JFXX thumbnails, and every
//! byte after the primary image's EOI (MPF images, motion-photo MP4s, vendor
//! trailers). Stray bytes between segments are an error, not skipped.

use super::exif::{self, EXIF_PREFIX};
use super::{Category, ImageFormat, Report, SanitizeError};

const F: ImageFormat = ImageFormat::Jpeg;

const SOI: u8 = 0xD8;
const EOI: u8 = 0xD9;
const SOS: u8 = 0xDA;
const APP0: u8 = 0xE0;
const APP1: u8 = 0xE1;
const APP2: u8 = 0xE2;
const APP13: u8 = 0xED;
const APP14: u8 = 0xEE;
const COM: u8 = 0xFE;

const JFIF_ID: &[u8] = b"JFIF\0";
/// JFIF APP0 payload up to and including the thumbnail dimensions.
const JFIF_HEADER_LEN: usize = 14;
const ICC_ID: &[u8] = b"ICC_PROFILE\0";
const ADOBE_ID: &[u8] = b"Adobe";
const XMP_ID: &[u8] = b"http://ns.adobe.com/xap/1.0/\0";
const XMP_EXT_ID: &[u8] = b"http://ns.adobe.com/xmp/extension/\0";
const MPF_ID: &[u8] = b"MPF\0";

/// A marker segment with a length field: `marker`, and the byte range of the
/// whole segment (from its 0xFF to the end of its payload).
#[derive(Clone, Copy)]
struct Segment {
    marker: u8,
    start: usize,
    end: usize,
}

impl Segment {
    fn payload<'a>(&self, input: &'a [u8]) -> &'a [u8] {
        &input[self.start + 4..self.end]
    }
    fn len(&self) -> usize {
        self.end - self.start
    }
}

/// What to do with one segment.
enum Action {
    Keep,
    /// Keep the JFIF header without its thumbnail.
    KeepJfifHeader,
    Drop(Category),
}

/// Rewrites `input` into a new buffer.
pub(crate) fn strip(input: &[u8], report: &mut Report) -> Result<Vec<u8>, SanitizeError> {
    Ok(plan(input, report)?.write(input))
}

/// The output as a list of pieces, each copied from the input or new. Built
/// by one read-only pass over the input, then written either into a new
/// buffer ([`Plan::write`]) or, when every piece lands at or before the
/// input bytes still to be read, into the input's own buffer
/// ([`Plan::write_in_place`]). Both give the same bytes.
pub(crate) struct Plan {
    pieces: Vec<Piece>,
    len: usize,
}

/// Longest new piece: the minimal EXIF segment.
const NEW_MAX: usize = 4 + EXIF_PREFIX.len() + exif::MINIMAL_TIFF_LEN;

enum Piece {
    /// `input[start..end]`.
    Copy { start: usize, end: usize },
    /// New bytes: `bytes[..len]`.
    New { bytes: [u8; NEW_MAX], len: usize },
}

impl Piece {
    fn new(b: &[u8]) -> Piece {
        let mut bytes = [0u8; NEW_MAX];
        bytes[..b.len()].copy_from_slice(b);
        Piece::New {
            bytes,
            len: b.len(),
        }
    }
    fn len(&self) -> usize {
        match self {
            Piece::Copy { start, end } => end - start,
            Piece::New { len, .. } => *len,
        }
    }
}

impl Plan {
    fn copy(&mut self, start: usize, end: usize) {
        // Adjacent copies merge: one move per run of kept segments.
        if let Some(Piece::Copy { end: last, .. }) = self.pieces.last_mut() {
            if *last == start {
                *last = end;
                self.len += end - start;
                return;
            }
        }
        self.pieces.push(Piece::Copy { start, end });
        self.len += end - start;
    }
    fn new_bytes(&mut self, b: &[u8]) {
        self.pieces.push(Piece::new(b));
        self.len += b.len();
    }

    /// Writes the output into a new buffer of exactly its length.
    pub(crate) fn write(&self, input: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.len);
        for piece in &self.pieces {
            match piece {
                Piece::Copy { start, end } => out.extend_from_slice(&input[*start..*end]),
                Piece::New { bytes, len } => out.extend_from_slice(&bytes[..*len]),
            }
        }
        out
    }

    /// True when [`Plan::write_in_place`] can be used on an input of
    /// `input_len` bytes: no piece, written in order from offset 0,
    /// overwrites input bytes that a later piece still has to copy.
    pub(crate) fn fits_in_place(&self, input_len: usize) -> bool {
        // Where each piece's output ends, against the lowest input offset
        // any later piece copies from.
        let mut limit = input_len;
        let mut limits = vec![0usize; self.pieces.len()];
        for (i, piece) in self.pieces.iter().enumerate().rev() {
            limits[i] = limit;
            if let Piece::Copy { start, .. } = piece {
                limit = limit.min(*start);
            }
        }
        let mut w = 0usize;
        for (piece, limit) in self.pieces.iter().zip(limits) {
            w += piece.len();
            if w > limit {
                return false;
            }
        }
        w <= input_len
    }

    /// Writes the output over the input in `buf` (which must hold exactly
    /// the input the plan was made from, and [`Plan::fits_in_place`]), zeroes
    /// what is left of the input after it and truncates `buf` to the output.
    pub(crate) fn write_in_place(&self, buf: &mut Vec<u8>) {
        let mut w = 0;
        for piece in &self.pieces {
            match piece {
                Piece::Copy { start, end } => {
                    // Pieces only ever move down (or stay): `copy_within`
                    // is a memmove, overlap is fine.
                    buf.copy_within(*start..*end, w);
                    w += end - start;
                }
                Piece::New { bytes, len } => {
                    buf[w..w + len].copy_from_slice(&bytes[..*len]);
                    w += len;
                }
            }
        }
        // The bytes after the output are removed metadata and trailers.
        zeroize::Zeroize::zeroize(&mut buf[w..]);
        buf.truncate(w);
    }
}

/// Reads the whole input once and plans the output.
pub(crate) fn plan(input: &[u8], report: &mut Report) -> Result<Plan, SanitizeError> {
    // The first pass reads only the header segments, up to the first scan,
    // to learn the orientation before anything is written.
    let mut pos = 2;
    let mut header = Vec::new();
    let mut seen_frame = false;
    let first_scan = loop {
        let (marker, at) = read_marker(input, pos)?;
        match marker {
            SOS => {
                if !seen_frame {
                    return Err(SanitizeError::corrupt(
                        F,
                        "scan before any frame header (SOF)",
                        at,
                    ));
                }
                break at;
            }
            _ => {
                let seg = read_segment(input, marker, at)?;
                seen_frame |= is_frame_header(marker);
                if is_frame_header(marker) {
                    check_frame_header(input, &seg)?;
                }
                header.push(seg);
                pos = seg.end;
            }
        }
    };

    let orientation = header
        .iter()
        .find(|s| s.marker == APP1 && s.payload(input).starts_with(EXIF_PREFIX))
        .and_then(|s| exif::read_orientation(s.payload(input)));

    let mut out = Plan {
        pieces: Vec::with_capacity(header.len() + 8),
        len: 0,
    };
    // SOI: detect_format saw FF D8 at offset 0.
    out.copy(0, 2);
    let mut exif_written = orientation.is_none();
    for (i, seg) in header.iter().enumerate() {
        // The minimal EXIF goes right after SOI, or after JFIF APP0 if that
        // is the first segment (JFIF requires APP0 to come first).
        let jfif_first = i == 0 && is_jfif(input, seg);
        if !exif_written && !jfif_first {
            write_minimal_exif(&mut out, orientation);
            exif_written = true;
        }
        apply(input, seg, classify(input, seg), &mut out, report);
    }
    if !exif_written {
        write_minimal_exif(&mut out, orientation);
    }

    // Second part: scans and the segments between them, to the first EOI.
    let mut pos = first_scan;
    loop {
        let (marker, at) = read_marker(input, pos)?;
        match marker {
            EOI => {
                out.copy(at, at + 2); // FF D9, without any fill bytes before it
                let end = at + 2;
                if end < input.len() {
                    report.remove(Category::Trailer, input.len() - end);
                }
                return Ok(out);
            }
            SOS => {
                let seg = read_segment(input, marker, at)?;
                let data_end = entropy_end(input, seg.end)?;
                out.copy(seg.start, data_end);
                pos = data_end;
            }
            _ => {
                let seg = read_segment(input, marker, at)?;
                if is_frame_header(marker) {
                    check_frame_header(input, &seg)?;
                }
                apply(input, &seg, classify(input, &seg), &mut out, report);
                pos = seg.end;
            }
        }
    }
}

fn apply(input: &[u8], seg: &Segment, action: Action, out: &mut Plan, report: &mut Report) {
    match action {
        Action::Keep => out.copy(seg.start, seg.end),
        Action::KeepJfifHeader => {
            let payload = seg.payload(input);
            out.new_bytes(&[0xFF, APP0, 0, (JFIF_HEADER_LEN + 2) as u8]);
            out.copy(seg.start + 4, seg.start + 4 + JFIF_HEADER_LEN - 2);
            out.new_bytes(&[0, 0]); // no thumbnail
            if payload.len() > JFIF_HEADER_LEN {
                report.remove(Category::Thumbnail, payload.len() - JFIF_HEADER_LEN);
            }
        }
        Action::Drop(category) => report.remove(category, seg.len()),
    }
}

fn write_minimal_exif(out: &mut Plan, orientation: Option<u16>) {
    if let Some(o) = orientation {
        let len = 2 + EXIF_PREFIX.len() + exif::MINIMAL_TIFF_LEN;
        let mut b = [0u8; NEW_MAX];
        b[..2].copy_from_slice(&[0xFF, APP1]);
        b[2..4].copy_from_slice(&(len as u16).to_be_bytes());
        b[4..10].copy_from_slice(EXIF_PREFIX);
        b[10..].copy_from_slice(&exif::minimal_tiff(o));
        out.new_bytes(&b);
    }
}

fn is_jfif(input: &[u8], seg: &Segment) -> bool {
    seg.marker == APP0 && seg.payload(input).starts_with(JFIF_ID)
}

/// Decides what happens to a segment other than SOS.
fn classify(input: &[u8], seg: &Segment) -> Action {
    let p = seg.payload(input);
    match seg.marker {
        APP0 if p.starts_with(JFIF_ID) && p.len() >= JFIF_HEADER_LEN => Action::KeepJfifHeader,
        APP0 if p.starts_with(b"JFXX\0") => Action::Drop(Category::Thumbnail),
        APP1 if p.starts_with(EXIF_PREFIX) => Action::Drop(Category::Exif),
        APP1 if p.starts_with(XMP_ID) || p.starts_with(XMP_EXT_ID) => Action::Drop(Category::Xmp),
        APP2 if p.starts_with(ICC_ID) => Action::Keep,
        APP2 if p.starts_with(MPF_ID) => Action::Drop(Category::Mpf),
        APP13 => Action::Drop(Category::Iptc),
        APP14 if p.starts_with(ADOBE_ID) => Action::Keep,
        0xE0..=0xEF => Action::Drop(Category::ApplicationSegment),
        COM => Action::Drop(Category::Comment),
        _ => Action::Keep, // read_segment admits only the structural markers below
    }
}

/// SOF0..SOF15 except DHT (C4), JPG (C8) and DAC (CC).
fn is_frame_header(marker: u8) -> bool {
    matches!(marker, 0xC0..=0xCF) && !matches!(marker, 0xC4 | 0xC8 | 0xCC)
}

fn check_frame_header(input: &[u8], seg: &Segment) -> Result<(), SanitizeError> {
    let p = seg.payload(input);
    if p.len() < 6 {
        return Err(SanitizeError::corrupt(
            F,
            "frame header too short",
            seg.start,
        ));
    }
    let width = u16::from_be_bytes([p[3], p[4]]);
    let components = p[5] as usize;
    if width == 0 || components == 0 {
        return Err(SanitizeError::corrupt(
            F,
            "frame header declares zero width or no components",
            seg.start,
        ));
    }
    if p.len() < 6 + 3 * components {
        return Err(SanitizeError::corrupt(
            F,
            "frame header too short",
            seg.start,
        ));
    }
    Ok(())
}

/// Reads the marker at `pos`, skipping 0xFF fill bytes. Returns the marker
/// code and the offset of the 0xFF that precedes it.
fn read_marker(input: &[u8], pos: usize) -> Result<(u8, usize), SanitizeError> {
    let mut at = pos;
    match input.get(at) {
        None => {
            return Err(SanitizeError::truncated(
                F,
                "file ends before the end-of-image marker",
                at,
            ))
        }
        Some(0xFF) => {}
        Some(_) => {
            return Err(SanitizeError::corrupt(
                F,
                "stray bytes where a marker was expected",
                at,
            ))
        }
    }
    while input.get(at + 1) == Some(&0xFF) {
        at += 1;
    }
    match input.get(at + 1) {
        None => Err(SanitizeError::truncated(F, "file ends inside a marker", at)),
        Some(&m) => Ok((m, at)),
    }
}

/// Reads the length-prefixed segment of `marker` whose 0xFF is at `at`.
fn read_segment(input: &[u8], marker: u8, at: usize) -> Result<Segment, SanitizeError> {
    let known = matches!(marker, 0xC0..=0xCF | 0xDA..=0xDF | 0xE0..=0xEF | COM) && marker != 0xC8;
    if !known {
        return Err(match marker {
            SOI => SanitizeError::corrupt(F, "second start-of-image inside the image", at),
            EOI => SanitizeError::corrupt(F, "end of image before any scan", at),
            0xD0..=0xD7 => SanitizeError::corrupt(F, "restart marker outside a scan", at),
            0xC8 | 0xF0..=0xFD => {
                SanitizeError::unsupported(F, "JPEG extension markers (JPEG-LS or JPEG XT)")
            }
            _ => SanitizeError::corrupt(F, "invalid marker code", at),
        });
    }
    let Some(len_bytes) = input.get(at + 2..at + 4) else {
        return Err(SanitizeError::truncated(
            F,
            "file ends inside a segment header",
            at,
        ));
    };
    let len = u16::from_be_bytes([len_bytes[0], len_bytes[1]]) as usize;
    if len < 2 {
        return Err(SanitizeError::corrupt(F, "segment length below 2", at));
    }
    let end = at + 2 + len;
    if end > input.len() {
        return Err(SanitizeError::truncated(
            F,
            "segment runs past the end of the file",
            at,
        ));
    }
    Ok(Segment {
        marker,
        start: at,
        end,
    })
}

/// Finds the end of the entropy-coded data that starts at `start`: the
/// offset of the 0xFF that begins the next marker (not a stuffed 0xFF00,
/// not a restart marker RST0..RST7, not a fill byte before a marker).
fn entropy_end(input: &[u8], start: usize) -> Result<usize, SanitizeError> {
    // Entropy-coded data holds a stuffed FF00 every few hundred bytes, so
    // searching for 0xFF alone stops far too often. Skip whole blocks in
    // which no 0xFF is followed by a non-zero byte (a test the compiler
    // vectorises), and look closely only at the rare blocks that have one.
    const BLOCK: usize = 64;
    let mut i = start;
    while let Some(window) = input.get(i..i + BLOCK + 1) {
        if block_may_hold_marker(window) {
            for p in i..i + BLOCK {
                if is_marker_at(input, p) {
                    return Ok(p);
                }
            }
        }
        i += BLOCK;
    }
    for p in i..input.len() {
        if is_marker_at(input, p) {
            return Ok(p);
        }
    }
    Err(SanitizeError::truncated(
        F,
        "image data ends without an end-of-image marker",
        start,
    ))
}

/// True when some 0xFF among the first 64 bytes of `w` (65 bytes) is
/// followed by a non-zero byte. Branch-free, so it vectorises.
fn block_may_hold_marker(w: &[u8]) -> bool {
    let (bytes, next) = (&w[..64], &w[1..65]);
    let mut hits = 0u8;
    for (&b, &n) in bytes.iter().zip(next) {
        hits |= u8::from(b == 0xFF) & u8::from(n != 0);
    }
    hits != 0
}

/// True when a marker other than RSTn begins at `p`: 0xFF followed by a
/// byte that is not 0x00 (stuffing), 0xD0..=0xD7 (restart) or 0xFF (fill).
fn is_marker_at(input: &[u8], p: usize) -> bool {
    input[p] == 0xFF && !matches!(input.get(p + 1), None | Some(0x00 | 0xD0..=0xD7 | 0xFF))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The obvious byte-by-byte definition the block scan must agree with.
    fn naive_end(b: &[u8], start: usize) -> Option<usize> {
        (start..b.len()).find(|&p| is_marker_at(b, p))
    }

    #[test]
    fn block_scan_agrees_with_naive_scan_at_every_offset() {
        for len in [0usize, 1, 2, 63, 64, 65, 66, 127, 128, 129, 200] {
            for marker_at in 0..len.saturating_sub(1) {
                for prefix in [&[][..], &[0xFF, 0x00], &[0xFF, 0xD3], &[0xFF, 0xFF]] {
                    // Filler with stuffed bytes and restart markers.
                    let mut b: Vec<u8> = (0..len)
                        .map(|i| match i % 37 {
                            5 => 0xFF,
                            6 => 0x00,
                            20 => 0xFF,
                            21 => 0xD5,
                            _ => 0x42,
                        })
                        .collect();
                    b[marker_at] = 0xFF;
                    b[marker_at + 1] = 0xC4;
                    if marker_at >= prefix.len() {
                        b[marker_at - prefix.len()..marker_at].copy_from_slice(prefix);
                    }
                    let expected = naive_end(&b, 0);
                    assert_eq!(
                        entropy_end(&b, 0).ok(),
                        expected,
                        "len {len} at {marker_at}"
                    );
                }
            }
        }
    }

    #[test]
    fn scan_without_marker_is_truncated() {
        let data = [0x12, 0xFF, 0x00, 0xFF, 0xD0, 0x34, 0xFF];
        assert!(matches!(
            entropy_end(&data, 0),
            Err(SanitizeError::Truncated { .. })
        ));
    }
}
