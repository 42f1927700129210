//! A small ISOBMFF / HEIF reader, written for the tests and independent of
//! the sanitizer: top-level boxes, and in `meta` the primary item (`pitm`),
//! item infos (`iinf`/`infe` v2 and v3), item locations (`iloc` v0..v2,
//! construction methods 0 and 1), item references (`iref` v0 and v1) and
//! item properties (`iprp`: `ipco` and `ipma`). Enough to pull an item's
//! bytes out by ID and to see what metadata a file carries.

use std::collections::BTreeMap;

/// A box: its four-character type and byte ranges in the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BoxRef {
    pub kind: [u8; 4],
    /// Offset of the size field.
    pub start: usize,
    /// Offset of the payload (after size, type, largesize and uuid).
    pub body: usize,
    /// Offset one past the last byte.
    pub end: usize,
}

impl BoxRef {
    /// The type as text (non-printable bytes as `?`).
    pub fn name(&self) -> String {
        fourcc(&self.kind)
    }

    /// The whole box, header included.
    pub fn bytes<'a>(&self, file: &'a [u8]) -> &'a [u8] {
        &file[self.start..self.end]
    }
}

/// A four-character code as text.
pub fn fourcc(kind: &[u8; 4]) -> String {
    kind.iter()
        .map(|&b| {
            if b.is_ascii_graphic() || b == b' ' {
                b as char
            } else {
                '?'
            }
        })
        .collect()
}

/// The boxes in `data[start..end]`, and where parsing stopped if the boxes
/// do not tile the range exactly (the offset of the first byte not in a box).
pub fn boxes(data: &[u8], start: usize, end: usize) -> (Vec<BoxRef>, Option<usize>) {
    let mut out = Vec::new();
    let mut pos = start;
    while pos < end {
        match one_box(data, pos, end) {
            Some(b) => {
                out.push(b);
                pos = b.end;
            }
            None => return (out, Some(pos)),
        }
    }
    (out, None)
}

fn one_box(data: &[u8], pos: usize, end: usize) -> Option<BoxRef> {
    let mut r = Reader::new(data, pos, end);
    let size = r.u32().ok()? as u64;
    let kind: [u8; 4] = r.array().ok()?;
    let size = match size {
        0 => (end - pos) as u64,
        1 => r.u64().ok()?,
        n => n,
    };
    if kind == *b"uuid" {
        r.skip(16).ok()?;
    }
    let box_end = pos.checked_add(usize::try_from(size).ok()?)?;
    if box_end > end || box_end < r.pos {
        return None;
    }
    Some(BoxRef {
        kind,
        start: pos,
        body: r.pos,
        end: box_end,
    })
}

/// One item of the `meta` box.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Item {
    pub id: u32,
    pub item_type: [u8; 4],
    /// `mime` items: the content type; `uri ` items: the URI type.
    pub content_type: String,
    pub location: Option<Location>,
}

/// Where an item's bytes are (`iloc`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Location {
    /// 0: file offsets; 1: offsets into `idat`; 2: item offsets (unsupported here).
    pub construction_method: u8,
    pub data_reference_index: u16,
    pub base_offset: u64,
    /// (offset, length); length 0 means "to the end of the source".
    pub extents: Vec<(u64, u64)>,
}

/// An item reference of one type from one item (`iref`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reference {
    pub kind: [u8; 4],
    pub from: u32,
    pub to: Vec<u32>,
}

/// A property associated with an item (`ipma`): 1-based index into `ipco`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Association {
    pub index: u16,
    pub essential: bool,
}

/// A parsed HEIF file.
#[derive(Debug, Clone, Default)]
pub struct Heif {
    pub top_level: Vec<BoxRef>,
    /// Offset of the first byte after the last well-formed top-level box,
    /// when there are such bytes.
    pub trailing_from: Option<usize>,
    pub meta: Option<BoxRef>,
    pub meta_children: Vec<BoxRef>,
    pub primary: Option<u32>,
    pub items: BTreeMap<u32, Item>,
    pub references: Vec<Reference>,
    /// `ipco` children; property index i is `properties[i - 1]`.
    pub properties: Vec<BoxRef>,
    pub associations: BTreeMap<u32, Vec<Association>>,
    /// Payload range of `idat`.
    pub idat: Option<(usize, usize)>,
}

impl Heif {
    /// Parses the top level and the `meta` box.
    pub fn parse(file: &[u8]) -> Result<Heif, String> {
        let (top_level, trailing_from) = boxes(file, 0, file.len());
        let mut heif = Heif {
            top_level,
            trailing_from,
            ..Heif::default()
        };
        if heif.top_level.first().map(|b| &b.kind) != Some(b"ftyp") {
            return Err("first box is not ftyp".into());
        }
        let metas: Vec<BoxRef> = heif
            .top_level
            .iter()
            .filter(|b| &b.kind == b"meta")
            .copied()
            .collect();
        let [meta] = metas.as_slice() else {
            return Err(format!("{} top-level meta boxes, expected 1", metas.len()));
        };
        heif.meta = Some(*meta);
        // meta is a FullBox: 4 bytes of version and flags before its children.
        let (children, stop) = boxes(file, meta.body + 4, meta.end);
        if let Some(at) = stop {
            return Err(format!("meta children do not parse at byte {at}"));
        }
        heif.meta_children = children.clone();
        for child in &children {
            let r = Reader::new(file, child.body, child.end);
            match &child.kind {
                b"pitm" => heif.primary = Some(parse_pitm(r)?),
                b"iinf" => parse_iinf(file, r, &mut heif.items)?,
                b"iloc" => parse_iloc(r, &mut heif.items)?,
                b"iref" => heif.references = parse_iref(r)?,
                b"iprp" => heif.parse_iprp(file, child)?,
                b"idat" => heif.idat = Some((child.body, child.end)),
                _ => {}
            }
        }
        Ok(heif)
    }

    fn parse_iprp(&mut self, file: &[u8], iprp: &BoxRef) -> Result<(), String> {
        let (children, stop) = boxes(file, iprp.body, iprp.end);
        if stop.is_some() {
            return Err("iprp children do not parse".into());
        }
        for child in children {
            match &child.kind {
                b"ipco" => {
                    let (props, stop) = boxes(file, child.body, child.end);
                    if stop.is_some() {
                        return Err("ipco children do not parse".into());
                    }
                    self.properties = props;
                }
                b"ipma" => parse_ipma(
                    Reader::new(file, child.body, child.end),
                    &mut self.associations,
                )?,
                _ => {}
            }
        }
        Ok(())
    }

    /// The items that `from` references with references of type `kind`.
    pub fn referenced(&self, kind: &[u8; 4], from: u32) -> Vec<u32> {
        self.references
            .iter()
            .filter(|r| &r.kind == kind && r.from == from)
            .flat_map(|r| r.to.iter().copied())
            .collect()
    }

    /// The property boxes associated with item `id`.
    pub fn properties_of(&self, id: u32) -> Vec<BoxRef> {
        self.associations
            .get(&id)
            .into_iter()
            .flatten()
            .filter_map(|a| {
                self.properties
                    .get(usize::from(a.index).checked_sub(1)?)
                    .copied()
            })
            .collect()
    }

    /// The byte ranges of item `id` in the file, in order.
    pub fn item_ranges(&self, file_len: usize, id: u32) -> Result<Vec<(usize, usize)>, String> {
        let item = self.items.get(&id).ok_or_else(|| format!("no item {id}"))?;
        let loc = item
            .location
            .as_ref()
            .ok_or_else(|| format!("item {id} has no iloc entry"))?;
        let (src_start, src_end) = match loc.construction_method {
            0 if loc.data_reference_index == 0 => (0, file_len),
            0 => return Err(format!("item {id} is in another file")),
            1 => self
                .idat
                .ok_or_else(|| format!("item {id} is in idat, but there is none"))?,
            m => return Err(format!("item {id}: construction method {m} unsupported")),
        };
        let mut ranges = Vec::new();
        for &(offset, length) in &loc.extents {
            let start = loc
                .base_offset
                .checked_add(offset)
                .and_then(|o| usize::try_from(o).ok())
                .and_then(|o| o.checked_add(src_start))
                .ok_or_else(|| format!("item {id}: extent offset overflows"))?;
            let end = if length == 0 {
                src_end
            } else {
                usize::try_from(length)
                    .ok()
                    .and_then(|l| start.checked_add(l))
                    .ok_or_else(|| format!("item {id}: extent length overflows"))?
            };
            if start > end || end > src_end {
                return Err(format!(
                    "item {id}: extent {start}..{end} outside its source"
                ));
            }
            ranges.push((start, end));
        }
        Ok(ranges)
    }

    /// The bytes of item `id`, its extents concatenated.
    pub fn item_data(&self, file: &[u8], id: u32) -> Result<Vec<u8>, String> {
        Ok(self
            .item_ranges(file.len(), id)?
            .into_iter()
            .flat_map(|(s, e)| file[s..e].iter().copied())
            .collect())
    }
}

fn parse_pitm(mut r: Reader<'_>) -> Result<u32, String> {
    let (version, _) = r.full_box()?;
    if version == 0 {
        Ok(u32::from(r.u16()?))
    } else {
        r.u32()
    }
}

fn parse_iinf(
    file: &[u8],
    mut r: Reader<'_>,
    items: &mut BTreeMap<u32, Item>,
) -> Result<(), String> {
    let (version, _) = r.full_box()?;
    let _count = if version == 0 {
        u32::from(r.u16()?)
    } else {
        r.u32()?
    };
    let (entries, stop) = boxes(file, r.pos, r.end);
    if stop.is_some() {
        return Err("iinf entries do not parse".into());
    }
    for infe in entries.iter().filter(|b| &b.kind == b"infe") {
        let mut r = Reader::new(file, infe.body, infe.end);
        let (version, _) = r.full_box()?;
        let id = match version {
            2 => u32::from(r.u16()?),
            3 => r.u32()?,
            v => return Err(format!("infe version {v} unsupported")),
        };
        let _protection = r.u16()?;
        let item_type: [u8; 4] = r.array()?;
        let _name = r.cstring();
        let content_type = match &item_type {
            b"mime" | b"uri " => r.cstring(),
            _ => String::new(),
        };
        let item = items.entry(id).or_default();
        item.id = id;
        item.item_type = item_type;
        item.content_type = content_type;
    }
    Ok(())
}

fn parse_iloc(mut r: Reader<'_>, items: &mut BTreeMap<u32, Item>) -> Result<(), String> {
    let (version, _) = r.full_box()?;
    if version > 2 {
        return Err(format!("iloc version {version} unsupported"));
    }
    let sizes = r.u16()?;
    let offset_size = (sizes >> 12) as u8;
    let length_size = ((sizes >> 8) & 0xF) as u8;
    let base_offset_size = ((sizes >> 4) & 0xF) as u8;
    let index_size = if version >= 1 { (sizes & 0xF) as u8 } else { 0 };
    let count = if version < 2 {
        u32::from(r.u16()?)
    } else {
        r.u32()?
    };
    for _ in 0..count {
        let id = if version < 2 {
            u32::from(r.u16()?)
        } else {
            r.u32()?
        };
        let construction_method = if version >= 1 {
            (r.u16()? & 0xF) as u8
        } else {
            0
        };
        let data_reference_index = r.u16()?;
        let base_offset = r.sized(base_offset_size)?;
        let extent_count = r.u16()?;
        let mut extents = Vec::with_capacity(usize::from(extent_count).min(1024));
        for _ in 0..extent_count {
            let _index = r.sized(index_size)?;
            let offset = r.sized(offset_size)?;
            let length = r.sized(length_size)?;
            extents.push((offset, length));
        }
        let item = items.entry(id).or_default();
        item.id = id;
        item.location = Some(Location {
            construction_method,
            data_reference_index,
            base_offset,
            extents,
        });
    }
    Ok(())
}

fn parse_iref(r: Reader<'_>) -> Result<Vec<Reference>, String> {
    let mut r = r;
    let (version, _) = r.full_box()?;
    let (children, stop) = boxes(r.data, r.pos, r.end);
    if stop.is_some() {
        return Err("iref children do not parse".into());
    }
    let mut out = Vec::new();
    for child in children {
        let mut c = Reader::new(r.data, child.body, child.end);
        let id = |c: &mut Reader<'_>| -> Result<u32, String> {
            if version == 0 {
                Ok(u32::from(c.u16()?))
            } else {
                c.u32()
            }
        };
        let from = id(&mut c)?;
        let count = c.u16()?;
        let to = (0..count).map(|_| id(&mut c)).collect::<Result<_, _>>()?;
        out.push(Reference {
            kind: child.kind,
            from,
            to,
        });
    }
    Ok(out)
}

fn parse_ipma(mut r: Reader<'_>, out: &mut BTreeMap<u32, Vec<Association>>) -> Result<(), String> {
    let (version, flags) = r.full_box()?;
    let count = r.u32()?;
    for _ in 0..count {
        let id = if version < 1 {
            u32::from(r.u16()?)
        } else {
            r.u32()?
        };
        let n = r.u8()?;
        let list = out.entry(id).or_default();
        for _ in 0..n {
            let (index, essential) = if flags & 1 != 0 {
                let v = r.u16()?;
                (v & 0x7FFF, v & 0x8000 != 0)
            } else {
                let v = r.u8()?;
                (u16::from(v & 0x7F), v & 0x80 != 0)
            };
            list.push(Association { index, essential });
        }
    }
    Ok(())
}

/// A bounds-checked big-endian reader over `data[pos..end]`.
struct Reader<'a> {
    data: &'a [u8],
    pos: usize,
    end: usize,
}

impl<'a> Reader<'a> {
    fn new(data: &'a [u8], pos: usize, end: usize) -> Self {
        Reader {
            data,
            pos,
            end: end.min(data.len()),
        }
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], String> {
        let end = self.pos.checked_add(n).filter(|&e| e <= self.end);
        let end = end.ok_or_else(|| format!("box content ends early at byte {}", self.pos))?;
        let s = &self.data[self.pos..end];
        self.pos = end;
        Ok(s)
    }

    fn skip(&mut self, n: usize) -> Result<(), String> {
        self.take(n).map(|_| ())
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], String> {
        let s = self.take(N)?;
        let mut a = [0; N];
        a.copy_from_slice(s);
        Ok(a)
    }

    fn u8(&mut self) -> Result<u8, String> {
        Ok(self.array::<1>()?[0])
    }

    fn u16(&mut self) -> Result<u16, String> {
        Ok(u16::from_be_bytes(self.array()?))
    }

    fn u32(&mut self) -> Result<u32, String> {
        Ok(u32::from_be_bytes(self.array()?))
    }

    fn u64(&mut self) -> Result<u64, String> {
        Ok(u64::from_be_bytes(self.array()?))
    }

    /// An unsigned integer of 0, 4 or 8 bytes (iloc field sizes).
    fn sized(&mut self, size: u8) -> Result<u64, String> {
        match size {
            0 => Ok(0),
            4 => Ok(u64::from(self.u32()?)),
            8 => self.u64(),
            n => Err(format!("iloc field size {n} invalid")),
        }
    }

    /// FullBox version and flags.
    fn full_box(&mut self) -> Result<(u8, u32), String> {
        let v = self.u32()?;
        Ok(((v >> 24) as u8, v & 0x00FF_FFFF))
    }

    /// A NUL-terminated string (or the rest of the box when unterminated).
    fn cstring(&mut self) -> String {
        let rest = &self.data[self.pos.min(self.end)..self.end];
        let len = rest.iter().position(|&b| b == 0).unwrap_or(rest.len());
        self.pos = (self.pos + len + 1).min(self.end);
        String::from_utf8_lossy(&rest[..len]).into_owned()
    }
}

/// Test fixtures: tiny hand-built HEIF files.
#[cfg(test)]
pub(crate) mod fixtures {
    pub fn bx(kind: &[u8; 4], payload: &[u8]) -> Vec<u8> {
        let mut b = ((payload.len() + 8) as u32).to_be_bytes().to_vec();
        b.extend_from_slice(kind);
        b.extend_from_slice(payload);
        b
    }

    pub fn full(kind: &[u8; 4], version: u8, payload: &[u8]) -> Vec<u8> {
        let mut p = vec![version, 0, 0, 0];
        p.extend_from_slice(payload);
        bx(kind, &p)
    }

    /// ftyp; meta with pitm 1, item 1 `hvc1` (the first 5 bytes of mdat),
    /// item 2 `Exif` (4 bytes in idat), a `thmb` reference 2 -> 1; then an
    /// mdat holding `mdat_payload`.
    pub fn sample(mdat_payload: &[u8]) -> Vec<u8> {
        let ftyp = bx(b"ftyp", b"heic\0\0\0\0mif1heic");
        let hdlr = full(b"hdlr", 0, b"\0\0\0\0pict\0\0\0\0\0\0\0\0\0\0\0\0\0");
        let pitm = full(b"pitm", 0, &1u16.to_be_bytes());
        let mut infes = 2u16.to_be_bytes().to_vec();
        infes.extend(full(b"infe", 2, b"\0\x01\0\0hvc1\0"));
        infes.extend(full(b"infe", 2, b"\0\x02\0\0Exif\0"));
        let iinf = full(b"iinf", 0, &infes);
        let iref = full(b"iref", 0, &bx(b"thmb", b"\0\x02\0\x01\0\x01"));
        let idat = bx(b"idat", b"EXIFDATA");
        // iloc v1: offset_size 4, length_size 4, base_offset_size 0, index_size 0.
        let mut iloc = vec![0x44, 0x00, 0, 2];
        // Item 1: method 0, one extent (offset patched below), length 5.
        iloc.extend_from_slice(&[0, 1, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 5]);
        // Item 2: method 1 (idat), one extent at 4, length 4.
        iloc.extend_from_slice(&[0, 2, 0, 1, 0, 0, 0, 1, 0, 0, 0, 4, 0, 0, 0, 4]);
        let iloc = full(b"iloc", 1, &iloc);
        let meta = full(b"meta", 0, &[hdlr, pitm, iinf, iref, idat, iloc].concat());
        let mut file = [ftyp, meta].concat();
        let mdat_start = file.len() + 8;
        file.extend(bx(b"mdat", mdat_payload));
        // Item 1's extent offset: after "iloc", version/flags, sizes, count,
        // item ID, construction method, data reference index, extent count.
        let iloc_at = file.windows(4).position(|w| w == b"iloc").unwrap_or(0);
        let extent_at = iloc_at + 4 + 4 + 2 + 2 + 2 + 2 + 2 + 2;
        file[extent_at..extent_at + 4].copy_from_slice(&(mdat_start as u32).to_be_bytes());
        file
    }
}

#[cfg(test)]
mod tests {
    use super::fixtures::sample;
    use super::*;

    #[test]
    fn reads_items_references_and_data() {
        let file = sample(b"IMAGE");
        let heif = Heif::parse(&file).expect("parses");
        assert_eq!(heif.primary, Some(1));
        assert_eq!(heif.items.len(), 2);
        assert_eq!(&heif.items[&2].item_type, b"Exif");
        assert_eq!(heif.item_data(&file, 1).expect("item 1"), b"IMAGE");
        assert_eq!(heif.item_data(&file, 2).expect("item 2"), b"DATA");
        assert_eq!(heif.referenced(b"thmb", 2), vec![1]);
        assert_eq!(heif.trailing_from, None);
    }

    #[test]
    fn reports_trailing_bytes() {
        let mut file = sample(b"IMAGE");
        let len = file.len();
        file.extend_from_slice(b"xyz");
        let heif = Heif::parse(&file).expect("parses");
        assert_eq!(heif.trailing_from, Some(len));
    }

    #[test]
    fn refuses_what_it_cannot_read() {
        assert!(Heif::parse(b"").is_err());
        assert!(
            Heif::parse(b"\0\0\0\x10ftypheic\0\0\0\0").is_err(),
            "no meta"
        );
        let file = sample(b"IMAGE");
        let heif = Heif::parse(&file).expect("parses");
        assert!(heif.item_data(&file, 7).is_err(), "no such item");
        assert!(
            heif.item_data(&file[..file.len() - 2], 1).is_err(),
            "extent past the end"
        );
    }
}
