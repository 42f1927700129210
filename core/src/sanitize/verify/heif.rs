//! HEIF: top-level boxes only ftyp, meta and mdat, tiling the file exactly;
//! meta children only hdlr (unnamed), dinf, pitm, iinf, iref, iprp, iloc,
//! idat; items only coded images, without names; no thmb or cdsc
//! references; only display properties; and every byte of every mdat and
//! idat that no item's extent covers is zero.

use crate::sanitize::{ImageFormat, VerifyError};

const F: ImageFormat = ImageFormat::Heif;

const IMAGE_ITEMS: &[&[u8; 4]] = &[
    b"hvc1", b"av01", b"grid", b"iden", b"iovl", b"jpeg", b"tmap", b"unci", b"vvc1", b"j2k1",
    b"avc1",
];
const PROPERTIES: &[&[u8; 4]] = &[
    b"hvcC", b"av1C", b"vvcC", b"avcC", b"jpgC", b"j2kH", b"uncC", b"cmpd", b"ispe", b"pixi",
    b"colr", b"irot", b"imir", b"clap", b"rloc", b"auxC", b"lsel", b"a1op", b"a1lx", b"pasp",
    b"clli", b"mdcv", b"cclv", b"amve", b"oinf", b"tols",
];

/// A box: type, payload start, end.
type Bx = ([u8; 4], usize, usize);

fn malformed(what: &'static str, at: usize) -> VerifyError {
    VerifyError::malformed(F, what, at)
}
fn found(what: &'static str, at: usize) -> VerifyError {
    VerifyError::found(F, what, at)
}

fn boxes(b: &[u8], mut i: usize, end: usize) -> Result<Vec<Bx>, VerifyError> {
    let mut v = Vec::new();
    while i < end {
        let h = b
            .get(i..i + 8)
            .ok_or_else(|| malformed("box header out of bounds", i))?;
        let size = u32::from_be_bytes([h[0], h[1], h[2], h[3]]) as usize;
        let (body, stop) = match size {
            1 => {
                let l = b
                    .get(i + 8..i + 16)
                    .ok_or_else(|| malformed("box header out of bounds", i))?;
                let mut a = [0u8; 8];
                a.copy_from_slice(l);
                (i + 16, i.saturating_add(u64::from_be_bytes(a) as usize))
            }
            0 => (i + 8, end),
            n => (i + 8, i + n),
        };
        if stop > end || stop < body {
            return Err(malformed("box out of bounds", i));
        }
        v.push(([h[4], h[5], h[6], h[7]], body, stop));
        i = stop;
    }
    Ok(v)
}

/// Big-endian reads with bounds checks.
struct R<'a> {
    b: &'a [u8],
    i: usize,
    end: usize,
}
impl R<'_> {
    fn n(&mut self, size: usize) -> Result<u64, VerifyError> {
        if size == 0 {
            return Ok(0);
        }
        let s = self
            .b
            .get(self.i..self.i + size)
            .filter(|_| self.i + size <= self.end);
        let s = s.ok_or_else(|| malformed("field out of bounds", self.i))?;
        self.i += size;
        Ok(s.iter().fold(0u64, |a, &x| (a << 8) | u64::from(x)))
    }
}

pub(super) fn verify(b: &[u8]) -> Result<Option<u16>, VerifyError> {
    let top = boxes(b, 0, b.len())?;
    if top.first().map(|t| &t.0) != Some(b"ftyp") {
        return Err(malformed("first box is not ftyp", 0));
    }
    let mut meta = None;
    let mut mdats = Vec::new();
    for &(kind, body, end) in &top[1..] {
        match &kind {
            b"meta" if meta.is_none() => meta = Some((body, end)),
            b"mdat" => mdats.push((body, end)),
            _ => {
                return Err(found(
                    "a top-level box other than ftyp, meta and mdat",
                    body,
                ))
            }
        }
    }
    let (mbody, mend) = meta.ok_or_else(|| malformed("no meta box", 0))?;
    let children = boxes(b, mbody + 4, mend)?;
    let mut idat = None;
    let mut extents: Vec<(u8, usize, usize)> = Vec::new(); // (method, start, end)
    for &(kind, body, end) in &children {
        match &kind {
            b"hdlr" => {
                // version/flags, pre_defined, handler, 12 reserved, empty name
                if end - body != 25 || &b[body + 8..body + 12] != b"pict" || b[end - 1] != 0 {
                    return Err(found("a handler box with a name", body));
                }
            }
            b"dinf" | b"pitm" => {}
            b"iinf" => check_items(b, body, end)?,
            b"iref" => {
                for (r, rb, _) in boxes(b, body + 4, end)? {
                    if matches!(&r, b"thmb" | b"cdsc") {
                        return Err(found("a thumbnail or metadata reference", rb));
                    }
                }
            }
            b"iprp" => {
                for (k, pb, pe) in boxes(b, body, end)? {
                    if &k == b"ipco" {
                        for (p, at, _) in boxes(b, pb, pe)? {
                            if !PROPERTIES.contains(&&p) {
                                return Err(found(
                                    "an item property outside the display allowlist",
                                    at,
                                ));
                            }
                        }
                    }
                }
            }
            b"iloc" => extents = read_extents(b, body, end)?,
            b"idat" => idat = Some((body, end)),
            _ => return Err(found("a meta box child outside the allowlist", body)),
        }
    }
    // Every container byte outside the items' extents must be zero.
    for &(s, e) in &mdats {
        let covered: Vec<_> = extents
            .iter()
            .filter(|x| x.0 == 0)
            .map(|x| (x.1, x.2))
            .collect();
        check_zero_outside(b, s, e, &covered)?;
    }
    if let Some((s, e)) = idat {
        let covered: Vec<_> = extents
            .iter()
            .filter(|x| x.0 == 1)
            .map(|x| (s + x.1, s + x.2))
            .collect();
        check_zero_outside(b, s, e, &covered)?;
    }
    for &(method, s, e) in &extents {
        let inside = match method {
            0 => mdats.iter().any(|&(ms, me)| ms <= s && e <= me),
            _ => idat.is_some_and(|(is, ie)| s <= e && is + e <= ie),
        };
        if !inside {
            return Err(malformed("item extent outside mdat/idat", s));
        }
    }
    Ok(None) // orientation is carried by irot/imir properties
}

fn check_items(b: &[u8], body: usize, end: usize) -> Result<(), VerifyError> {
    let version = b[body];
    let skip = if version == 0 { 6 } else { 8 };
    for (kind, ib, ie) in boxes(b, body + skip, end)? {
        if &kind != b"infe" {
            return Err(found("a non-infe box in iinf", ib));
        }
        let v = b[ib];
        if v < 2 {
            return Err(found("an item without a type (infe v0/v1)", ib));
        }
        let t = ib + 4 + if v == 2 { 2 } else { 4 } + 2;
        let kind = b
            .get(t..t + 4)
            .ok_or_else(|| malformed("infe out of bounds", ib))?;
        if !IMAGE_ITEMS.iter().any(|k| &k[..] == kind) {
            return Err(found("a non-image item (Exif, XMP or other metadata)", ib));
        }
        if t + 5 != ie || b[t + 4] != 0 {
            return Err(found("an item name or extra item data", ib));
        }
    }
    Ok(())
}

/// (construction method, start, end) of every extent; file offsets for
/// method 0, idat-relative for method 1.
fn read_extents(b: &[u8], body: usize, end: usize) -> Result<Vec<(u8, usize, usize)>, VerifyError> {
    let mut r = R { b, i: body, end };
    let version = r.n(1)? as u8;
    r.n(3)?;
    let sizes = r.n(2)?;
    let (os, ls, bs) = (
        (sizes >> 12) as usize,
        ((sizes >> 8) & 15) as usize,
        ((sizes >> 4) & 15) as usize,
    );
    let is = if version >= 1 {
        (sizes & 15) as usize
    } else {
        0
    };
    let count = r.n(if version < 2 { 2 } else { 4 })?;
    let mut out = Vec::new();
    for _ in 0..count {
        r.n(if version < 2 { 2 } else { 4 })?;
        let method = if version >= 1 {
            (r.n(2)? & 15) as u8
        } else {
            0
        };
        if method > 1 {
            return Err(malformed("unexpected construction method", r.i));
        }
        r.n(2)?;
        let base = r.n(bs)?;
        for _ in 0..r.n(2)? {
            r.n(is)?;
            let off = base.saturating_add(r.n(os)?) as usize;
            let len = r.n(ls)? as usize;
            out.push((method, off, off.saturating_add(len)));
        }
    }
    Ok(out)
}

fn check_zero_outside(
    b: &[u8],
    s: usize,
    e: usize,
    covered: &[(usize, usize)],
) -> Result<(), VerifyError> {
    let mut ranges: Vec<_> = covered
        .iter()
        .filter(|r| r.0 < e && r.1 > s)
        .copied()
        .collect();
    ranges.sort_unstable();
    let mut i = s;
    for (rs, re) in ranges {
        if rs > i && b[i..rs.min(e)].iter().any(|&x| x != 0) {
            return Err(found("data in mdat/idat that belongs to no image item", i));
        }
        i = i.max(re);
    }
    if i < e && b[i..e].iter().any(|&x| x != 0) {
        return Err(found("data in mdat/idat that belongs to no image item", i));
    }
    Ok(())
}
