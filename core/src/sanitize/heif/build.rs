//! Serialisation of the rebuilt `meta` box.

use super::boxes::{BoxRef, F};
use super::meta::{Location, Meta};
use super::DISPLAY_PROPERTIES;
use crate::sanitize::{Category, Report, SanitizeError};
use std::collections::HashSet;

/// Where kept `mdat` payloads move: (old body start, old end, new body start).
#[derive(Default)]
pub(super) struct Layout {
    pub mdat_moves: Vec<(usize, usize, usize)>,
}

/// A kept item's location in the output.
pub(super) struct NewLocation {
    item_id: u32,
    construction_method: u8,
    data_reference_index: u16,
    extents: Vec<(u64, u64)>,
}

impl NewLocation {
    /// `loc` with file offsets moved per `layout` (or zeroed when `None`,
    /// for a first pass that only measures the size).
    pub fn from_input(loc: &Location, layout: Option<&Layout>) -> Self {
        let extents = loc
            .extents
            .iter()
            .map(|&(offset, length)| {
                let moved = match (loc.construction_method, layout) {
                    (0, Some(l)) => l
                        .mdat_moves
                        .iter()
                        .find(|&&(s, e, _)| (s as u64) <= offset && offset < e as u64)
                        .map_or(0, |&(s, _, new)| new as u64 + (offset - s as u64)),
                    (0, None) => 0,
                    _ => offset, // idat-relative: idat is copied unchanged
                };
                (moved, length)
            })
            .collect();
        NewLocation {
            item_id: loc.item_id,
            construction_method: loc.construction_method,
            data_reference_index: loc.data_reference_index,
            extents,
        }
    }
}

/// Everything needed to write the new `meta`, decided once.
pub(super) struct MetaPlan<'a> {
    input: &'a [u8],
    meta: &'a Meta,
    primary: u32,
    keep: &'a [u32],
    kept: HashSet<u32>,
    idat: Option<Vec<u8>>,
    offset_size: u8,
    /// Kept `ipco` children, in original order.
    properties: Vec<BoxRef>,
    /// Per kept item: its associations as (essential, new 1-based index).
    associations: Vec<(u32, Vec<(bool, u16)>)>,
}

impl<'a> MetaPlan<'a> {
    pub fn new(
        input: &'a [u8],
        meta: &'a Meta,
        primary: u32,
        keep: &'a [u32],
        idat: Option<Vec<u8>>,
        offset_size: u8,
        report: &mut Report,
    ) -> Result<Self, SanitizeError> {
        for child in &meta.children {
            if !matches!(
                &child.kind,
                b"hdlr" | b"dinf" | b"pitm" | b"iinf" | b"iloc" | b"iref" | b"iprp" | b"idat"
            ) {
                report.remove(Category::Unknown, child.len());
            }
        }
        // Old property index -> new index, for display properties of kept items.
        let mut new_index = vec![0u16; meta.properties.len() + 1];
        for &id in keep {
            for &(essential, index) in meta.associations(id) {
                if index == 0 {
                    continue;
                }
                let prop = meta.property(index).ok_or_else(|| {
                    SanitizeError::corrupt(F, "property association points past ipco", 0)
                })?;
                if DISPLAY_PROPERTIES.contains(&&prop.kind) {
                    new_index[usize::from(index)] = 1; // mark; numbered below
                } else if essential {
                    return Err(SanitizeError::unsupported(
                        F,
                        "an essential item property sealcam does not know",
                    ));
                }
            }
        }
        let mut properties = Vec::new();
        for (old, slot) in new_index.iter_mut().enumerate().skip(1) {
            if *slot != 0 {
                properties.push(meta.properties[old - 1]);
                *slot = u16::try_from(properties.len()).map_err(|_| {
                    SanitizeError::unsupported(F, "more than 65535 item properties")
                })?;
            }
        }
        for (i, p) in meta.properties.iter().enumerate() {
            if new_index[i + 1] == 0 {
                report.remove(Category::Unknown, p.len());
            }
        }
        let associations = keep
            .iter()
            .map(|&id| {
                let props = meta
                    .associations(id)
                    .filter(|&&(_, i)| i != 0 && new_index[usize::from(i)] != 0)
                    .map(|&(e, i)| (e, new_index[usize::from(i)]))
                    .collect();
                (id, props)
            })
            .collect();
        Ok(MetaPlan {
            input,
            meta,
            primary,
            keep,
            kept: keep.iter().copied().collect(),
            idat,
            offset_size,
            properties,
            associations,
        })
    }

    /// Writes the complete `meta` box.
    pub fn build(&self, locations: &[NewLocation]) -> Vec<u8> {
        let mut w = Writer::default();
        let meta = w.begin(b"meta");
        w.full(0, 0);
        self.hdlr(&mut w);
        for child in &self.meta.children {
            match &child.kind {
                b"dinf" => self.dinf(&mut w),
                b"pitm" => self.pitm(&mut w),
                b"iinf" => self.iinf(&mut w),
                b"iref" => self.iref(&mut w),
                b"iprp" => self.iprp(&mut w),
                b"iloc" => self.iloc(&mut w, locations),
                b"idat" => {
                    let b = w.begin(b"idat");
                    w.bytes(self.idat.as_deref().unwrap_or_default());
                    w.end(b);
                }
                _ => {}
            }
        }
        w.end(meta);
        w.0
    }

    /// A handler box with no name.
    fn hdlr(&self, w: &mut Writer) {
        let b = w.begin(b"hdlr");
        w.full(0, 0);
        w.u32(0); // pre_defined
        w.bytes(b"pict");
        w.bytes(&[0; 12]); // reserved
        w.u8(0); // empty name
        w.end(b);
    }

    /// Data information: one self-contained entry (the data is in this file).
    fn dinf(&self, w: &mut Writer) {
        let dinf = w.begin(b"dinf");
        let dref = w.begin(b"dref");
        w.full(0, 0);
        w.u32(1);
        let url = w.begin(b"url ");
        w.full(0, 1);
        w.end(url);
        w.end(dref);
        w.end(dinf);
    }

    fn pitm(&self, w: &mut Writer) {
        let b = w.begin(b"pitm");
        let wide = self.primary > 0xFFFF;
        w.full(u8::from(wide), 0);
        w.id(self.primary, wide);
        w.end(b);
    }

    /// Item infos of the kept items, without names.
    fn iinf(&self, w: &mut Writer) {
        let b = w.begin(b"iinf");
        let wide = self.keep.len() > 0xFFFF;
        w.full(u8::from(wide), 0);
        if wide {
            w.u32(self.keep.len() as u32);
        } else {
            w.u16(self.keep.len() as u16);
        }
        for &id in self.keep {
            let Some(item) = self.meta.item(id) else {
                continue;
            };
            let infe = w.begin(b"infe");
            let wide_id = id > 0xFFFF;
            w.full(if wide_id { 3 } else { 2 }, item.flags & 1);
            w.id(id, wide_id);
            w.u16(0); // protection index: none
            w.bytes(&item.kind);
            w.u8(0); // empty item name
            w.end(infe);
        }
        w.end(b);
    }

    /// References among kept items only (never thmb or cdsc).
    fn iref(&self, w: &mut Writer) {
        let refs: Vec<(&[u8; 4], u32, Vec<u32>)> = self
            .meta
            .references
            .iter()
            .filter(|r| self.kept.contains(&r.from) && !matches!(&r.kind, b"thmb" | b"cdsc"))
            .map(|r| {
                let to: Vec<u32> =
                    r.to.iter()
                        .copied()
                        .filter(|t| self.kept.contains(t))
                        .collect();
                (&r.kind, r.from, to)
            })
            .filter(|(_, _, to)| !to.is_empty())
            .collect();
        if refs.is_empty() {
            return;
        }
        let wide = refs
            .iter()
            .any(|(_, f, to)| *f > 0xFFFF || to.iter().any(|&t| t > 0xFFFF));
        let b = w.begin(b"iref");
        w.full(u8::from(wide), 0);
        for (kind, from, to) in refs {
            let r = w.begin(kind);
            w.id(from, wide);
            w.u16(to.len() as u16);
            for t in to {
                w.id(t, wide);
            }
            w.end(r);
        }
        w.end(b);
    }

    fn iprp(&self, w: &mut Writer) {
        let iprp = w.begin(b"iprp");
        let ipco = w.begin(b"ipco");
        for p in &self.properties {
            w.bytes(&self.input[p.start..p.end]);
        }
        w.end(ipco);
        let entries: Vec<_> = self
            .associations
            .iter()
            .filter(|(_, p)| !p.is_empty())
            .collect();
        let wide_id = entries.iter().any(|(id, _)| *id > 0xFFFF);
        let wide_index = self.properties.len() > 0x7F;
        let ipma = w.begin(b"ipma");
        w.full(u8::from(wide_id), u32::from(wide_index));
        w.u32(entries.len() as u32);
        for (id, props) in entries {
            w.id(*id, wide_id);
            w.u8(props.len().min(255) as u8);
            for &(essential, index) in props.iter().take(255) {
                if wide_index {
                    w.u16(index | if essential { 0x8000 } else { 0 });
                } else {
                    w.u8(index as u8 | if essential { 0x80 } else { 0 });
                }
            }
        }
        w.end(ipma);
        w.end(iprp);
    }

    fn iloc(&self, w: &mut Writer, locations: &[NewLocation]) {
        let wide_id = locations.iter().any(|l| l.item_id > 0xFFFF);
        let any_idat = locations.iter().any(|l| l.construction_method != 0);
        let version = if wide_id { 2 } else { u8::from(any_idat) };
        let length_size: u8 = if locations
            .iter()
            .flat_map(|l| &l.extents)
            .any(|e| e.1 > u64::from(u32::MAX))
        {
            8
        } else {
            4
        };
        let b = w.begin(b"iloc");
        w.full(version, 0);
        // offset_size, length_size, base_offset_size = 0, index_size = 0
        w.u16((u16::from(self.offset_size) << 12) | (u16::from(length_size) << 8));
        if version < 2 {
            w.u16(locations.len() as u16);
        } else {
            w.u32(locations.len() as u32);
        }
        for l in locations {
            w.id(l.item_id, version == 2);
            if version >= 1 {
                w.u16(u16::from(l.construction_method));
            }
            w.u16(l.data_reference_index);
            w.u16(l.extents.len() as u16);
            for &(offset, length) in &l.extents {
                w.uint(offset, self.offset_size);
                w.uint(length, length_size);
            }
        }
        w.end(b);
    }
}

/// A growing byte buffer with box framing.
#[derive(Default)]
struct Writer(Vec<u8>);

impl Writer {
    fn begin(&mut self, kind: &[u8; 4]) -> usize {
        let at = self.0.len();
        self.0.extend_from_slice(&[0, 0, 0, 0]);
        self.0.extend_from_slice(kind);
        at
    }
    fn end(&mut self, at: usize) {
        let size = (self.0.len() - at) as u32;
        self.0[at..at + 4].copy_from_slice(&size.to_be_bytes());
    }
    fn full(&mut self, version: u8, flags: u32) {
        self.u32((u32::from(version) << 24) | (flags & 0x00FF_FFFF));
    }
    fn bytes(&mut self, b: &[u8]) {
        self.0.extend_from_slice(b);
    }
    fn u8(&mut self, v: u8) {
        self.0.push(v);
    }
    fn u16(&mut self, v: u16) {
        self.0.extend_from_slice(&v.to_be_bytes());
    }
    fn u32(&mut self, v: u32) {
        self.0.extend_from_slice(&v.to_be_bytes());
    }
    fn id(&mut self, id: u32, wide: bool) {
        if wide {
            self.u32(id);
        } else {
            self.u16(id as u16);
        }
    }
    fn uint(&mut self, v: u64, size: u8) {
        if size == 8 {
            self.0.extend_from_slice(&v.to_be_bytes());
        } else {
            self.u32(v as u32);
        }
    }
}
