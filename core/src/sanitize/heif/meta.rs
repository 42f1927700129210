//! Parsing of the HEIF `meta` box: items (iinf), where their bytes are
//! (iloc), how they relate (iref), their properties (iprp) and `idat`.

use super::boxes::{read_boxes, BoxRef, Cursor, F};
use crate::sanitize::SanitizeError;
use std::collections::HashMap;

/// An item declared in `iinf`.
#[derive(Debug)]
pub(super) struct Item {
    pub id: u32,
    /// Item type (`hvc1`, `grid`, `Exif`, `mime`, ...); zero for infe v0/v1.
    pub kind: [u8; 4],
    /// The infe flags (bit 0: hidden).
    pub flags: u32,
    /// Non-zero when the item is encrypted (protected).
    pub protection_index: u16,
    /// For `mime` items: whether the content type names XMP.
    pub is_xmp: bool,
}

/// Where an item's bytes are (`iloc`).
#[derive(Debug)]
pub(super) struct Location {
    pub item_id: u32,
    /// 0: file offsets; 1: offsets into `idat`; 2: offsets into another item.
    pub construction_method: u8,
    pub data_reference_index: u16,
    /// (offset, length) with the base offset already added.
    pub extents: Vec<(u64, u64)>,
}

/// One `iref` entry: `from` refers to each of `to` with reference type `kind`.
#[derive(Debug)]
pub(super) struct Reference {
    pub kind: [u8; 4],
    pub from: u32,
    pub to: Vec<u32>,
}

/// One item's property associations (`ipma`): (essential, 1-based index).
#[derive(Debug)]
pub(super) struct Association {
    pub item_id: u32,
    pub properties: Vec<(bool, u16)>,
}

/// The parsed `meta` box.
#[derive(Debug, Default)]
pub(super) struct Meta {
    /// Child boxes in file order.
    pub children: Vec<BoxRef>,
    pub primary: Option<u32>,
    pub items: Vec<Item>,
    pub iinf_version: u8,
    pub locations: Vec<Location>,
    pub iloc_version: u8,
    pub references: Vec<Reference>,
    pub iref_version: u8,
    /// `ipco` children; property index `n` is `properties[n - 1]`.
    pub properties: Vec<BoxRef>,
    pub associations: Vec<Association>,
    pub idat: Option<BoxRef>,
    /// Item ID -> index into `items`, `locations`, `associations` (first wins).
    item_index: HashMap<u32, usize>,
    location_index: HashMap<u32, usize>,
    association_index: HashMap<u32, Vec<usize>>,
}

impl Meta {
    pub fn item(&self, id: u32) -> Option<&Item> {
        self.item_index.get(&id).map(|&i| &self.items[i])
    }
    /// Declaration order of item `id` in `iinf`.
    pub fn item_position(&self, id: u32) -> Option<usize> {
        self.item_index.get(&id).copied()
    }
    pub fn location(&self, id: u32) -> Option<&Location> {
        self.location_index.get(&id).map(|&i| &self.locations[i])
    }
    pub fn property(&self, index: u16) -> Option<&BoxRef> {
        self.properties.get(usize::from(index).checked_sub(1)?)
    }
    pub fn associations(&self, id: u32) -> impl Iterator<Item = &(bool, u16)> {
        self.association_index
            .get(&id)
            .into_iter()
            .flatten()
            .flat_map(|&i| self.associations[i].properties.iter())
    }

    fn build_indexes(&mut self) {
        for (i, item) in self.items.iter().enumerate() {
            self.item_index.entry(item.id).or_insert(i);
        }
        for (i, loc) in self.locations.iter().enumerate() {
            self.location_index.entry(loc.item_id).or_insert(i);
        }
        for (i, a) in self.associations.iter().enumerate() {
            self.association_index.entry(a.item_id).or_default().push(i);
        }
    }
}

/// Refuse absurd counts early, before allocating for them.
const MAX_ENTRIES: u32 = 100_000;

pub(super) fn parse(input: &[u8], meta: &BoxRef) -> Result<Meta, SanitizeError> {
    let mut c = Cursor::new(input, meta.body, meta.end);
    c.full_box("meta header")?;
    let mut m = Meta {
        children: read_boxes(input, c.pos, meta.end)?,
        ..Meta::default()
    };
    let hdlr = m.children.first().filter(|b| &b.kind == b"hdlr");
    let handler = hdlr
        .map(|b| {
            let mut c = Cursor::new(input, b.body, b.end);
            c.take(8, "hdlr")?; // version, flags, pre_defined
            c.fourcc("hdlr handler type")
        })
        .transpose()?;
    if handler != Some(*b"pict") {
        return Err(SanitizeError::unsupported(
            F,
            "a meta box that does not describe a picture (no 'pict' handler)",
        ));
    }
    for child in m.children.clone() {
        match &child.kind {
            b"pitm" => m.primary = Some(parse_pitm(input, &child)?),
            b"iinf" => parse_iinf(input, &child, &mut m)?,
            b"iloc" => parse_iloc(input, &child, &mut m)?,
            b"iref" => parse_iref(input, &child, &mut m)?,
            b"iprp" => parse_iprp(input, &child, &mut m)?,
            b"idat" => m.idat = Some(child),
            _ => {}
        }
    }
    if m.items.len() > MAX_ENTRIES as usize || m.references.len() > MAX_ENTRIES as usize {
        return Err(SanitizeError::unsupported(
            F,
            "more than 100000 items or references",
        ));
    }
    m.build_indexes();
    Ok(m)
}

fn parse_pitm(input: &[u8], b: &BoxRef) -> Result<u32, SanitizeError> {
    let mut c = Cursor::new(input, b.body, b.end);
    let (version, _) = c.full_box("pitm")?;
    c.item_id(version != 0, "pitm item ID")
}

fn parse_iinf(input: &[u8], b: &BoxRef, m: &mut Meta) -> Result<(), SanitizeError> {
    let mut c = Cursor::new(input, b.body, b.end);
    let (version, _) = c.full_box("iinf")?;
    m.iinf_version = version;
    let count = if version == 0 {
        u32::from(c.u16("iinf entry count")?)
    } else {
        c.u32("iinf entry count")?
    };
    let entries = read_boxes(input, c.pos, b.end)?;
    if entries.len() as u64 != u64::from(count) {
        return Err(SanitizeError::corrupt(
            F,
            "iinf entry count does not match its boxes",
            b.start,
        ));
    }
    for e in entries.iter().filter(|e| &e.kind == b"infe") {
        let mut c = Cursor::new(input, e.body, e.end);
        let (v, flags) = c.full_box("infe")?;
        let id = c.item_id(v >= 3, "infe item ID")?;
        let protection_index = c.u16("infe protection index")?;
        let (kind, is_xmp) = if v >= 2 {
            let kind = c.fourcc("infe item type")?;
            c.cstring("infe item name")?;
            let is_xmp = &kind == b"mime" && c.cstring("infe content type").is_ok_and(names_xmp);
            (kind, is_xmp)
        } else {
            ([0; 4], false)
        };
        m.items.push(Item {
            id,
            kind,
            flags,
            protection_index,
            is_xmp,
        });
    }
    Ok(())
}

fn parse_iloc(input: &[u8], b: &BoxRef, m: &mut Meta) -> Result<(), SanitizeError> {
    let mut c = Cursor::new(input, b.body, b.end);
    let (version, _) = c.full_box("iloc")?;
    if version > 2 {
        return Err(SanitizeError::unsupported(F, "iloc version above 2"));
    }
    m.iloc_version = version;
    let sizes = c.u16("iloc field sizes")?;
    let offset_size = (sizes >> 12) as u8;
    let length_size = ((sizes >> 8) & 0xF) as u8;
    let base_offset_size = ((sizes >> 4) & 0xF) as u8;
    let index_size = if version >= 1 { (sizes & 0xF) as u8 } else { 0 };
    let count = if version < 2 {
        u32::from(c.u16("iloc item count")?)
    } else {
        c.u32("iloc item count")?
    };
    if count > MAX_ENTRIES {
        return Err(SanitizeError::corrupt(
            F,
            "implausible iloc item count",
            b.start,
        ));
    }
    for _ in 0..count {
        let item_id = c.item_id(version == 2, "iloc item ID")?;
        let construction_method = if version >= 1 {
            (c.u16("iloc construction method")? & 0xF) as u8
        } else {
            0
        };
        let data_reference_index = c.u16("iloc data reference index")?;
        let base = c.uint(base_offset_size, "iloc base offset")?;
        let extent_count = c.u16("iloc extent count")?;
        let mut extents = Vec::with_capacity(usize::from(extent_count).min(1024));
        for _ in 0..extent_count {
            c.uint(index_size, "iloc extent index")?;
            let offset = c.uint(offset_size, "iloc extent offset")?;
            let length = c.uint(length_size, "iloc extent length")?;
            let offset = base
                .checked_add(offset)
                .ok_or_else(|| SanitizeError::corrupt(F, "iloc offset overflows", b.start))?;
            extents.push((offset, length));
        }
        m.locations.push(Location {
            item_id,
            construction_method,
            data_reference_index,
            extents,
        });
    }
    Ok(())
}

fn parse_iref(input: &[u8], b: &BoxRef, m: &mut Meta) -> Result<(), SanitizeError> {
    let mut c = Cursor::new(input, b.body, b.end);
    let (version, _) = c.full_box("iref")?;
    m.iref_version = version;
    for r in read_boxes(input, c.pos, b.end)? {
        let mut c = Cursor::new(input, r.body, r.end);
        let from = c.item_id(version != 0, "iref from-item")?;
        let n = c.u16("iref reference count")?;
        let to = (0..n)
            .map(|_| c.item_id(version != 0, "iref to-item"))
            .collect::<Result<_, _>>()?;
        m.references.push(Reference {
            kind: r.kind,
            from,
            to,
        });
    }
    Ok(())
}

fn parse_iprp(input: &[u8], b: &BoxRef, m: &mut Meta) -> Result<(), SanitizeError> {
    for child in read_boxes(input, b.body, b.end)? {
        match &child.kind {
            b"ipco" => m.properties = read_boxes(input, child.body, child.end)?,
            b"ipma" => parse_ipma(input, &child, m)?,
            _ => {}
        }
    }
    Ok(())
}

fn parse_ipma(input: &[u8], b: &BoxRef, m: &mut Meta) -> Result<(), SanitizeError> {
    let mut c = Cursor::new(input, b.body, b.end);
    let (version, flags) = c.full_box("ipma")?;
    let count = c.u32("ipma entry count")?;
    if count > MAX_ENTRIES {
        return Err(SanitizeError::corrupt(
            F,
            "implausible ipma entry count",
            b.start,
        ));
    }
    for _ in 0..count {
        let item_id = c.item_id(version >= 1, "ipma item ID")?;
        let n = c.u8("ipma association count")?;
        let mut properties = Vec::with_capacity(usize::from(n));
        for _ in 0..n {
            let (essential, index) = if flags & 1 != 0 {
                let v = c.u16("ipma association")?;
                (v & 0x8000 != 0, v & 0x7FFF)
            } else {
                let v = c.u8("ipma association")?;
                (v & 0x80 != 0, u16::from(v & 0x7F))
            };
            properties.push((essential, index));
        }
        m.associations.push(Association {
            item_id,
            properties,
        });
    }
    Ok(())
}

/// True for content types such as `application/rdf+xml` that carry XMP.
fn names_xmp(content_type: &[u8]) -> bool {
    content_type
        .windows(3)
        .any(|w| w.eq_ignore_ascii_case(b"xml") || w.eq_ignore_ascii_case(b"xmp"))
}
