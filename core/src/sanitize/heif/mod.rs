//! HEIF / HEIC / AVIF (ISO-BMFF) editing.
//!
//! Kept: `ftyp`; a rebuilt `meta` that declares only the primary image item
//! and what it needs to be shown (grid tiles and other `dimg` inputs, and an
//! alpha plane), with their display properties (`hvcC`, `ispe`, `colr`,
//! `irot`, `imir`, `clap`, ... — rotation and mirroring therefore survive);
//! the `mdat` boxes holding that data, at the same relative positions.
//!
//! Dropped: Exif and XMP (`mime`) items, thumbnails (`thmb`), depth maps,
//! gain maps and any other item not needed for the primary image, their
//! `cdsc`/`thmb`/`auxl` references, item names, the handler name, unknown
//! properties and boxes, and every other top-level box: motion-photo video
//! (`mpvd`), Samsung `sefd`, `free`/`skip`, `uuid`, ...
//!
//! Coded image bytes are never moved inside their `mdat`: every byte of an
//! `mdat` or `idat` that is not part of a kept item is overwritten with
//! zeros, and an `mdat` holding no kept item is left out. `iloc` offsets
//! are rewritten for the new positions of the boxes.

mod boxes;
mod build;
mod meta;

use self::boxes::{read_boxes, BoxRef, Cursor, F};
use self::build::{Layout, NewLocation};
use self::meta::Meta;
use crate::sanitize::{Category, Report, SanitizeError};
use std::collections::{HashMap, HashSet};

/// Grid images from phones have up to a few hundred tiles.
const MAX_KEPT_ITEMS: usize = 4096;

/// Item types that are (parts of) pictures.
const IMAGE_ITEM_TYPES: &[&[u8; 4]] = &[
    b"hvc1", b"av01", b"grid", b"iden", b"iovl", b"jpeg", b"tmap", b"unci", b"vvc1", b"j2k1",
    b"avc1",
];

/// Item properties kept when a kept item uses them: the ones needed to
/// decode and show the picture. Anything else (e.g. `udes` user
/// descriptions) is dropped, or refused if marked essential.
pub(crate) const DISPLAY_PROPERTIES: &[&[u8; 4]] = &[
    b"hvcC", b"av1C", b"vvcC", b"avcC", b"jpgC", b"j2kH", b"uncC", b"cmpd", b"ispe", b"pixi",
    b"colr", b"irot", b"imir", b"clap", b"rloc", b"auxC", b"lsel", b"a1op", b"a1lx", b"pasp",
    b"clli", b"mdcv", b"cclv", b"amve", b"oinf", b"tols",
];

/// The primary item's stored size, from its `ispe` property; `None` when
/// the file does not say.
pub(crate) fn primary_size(input: &[u8]) -> Option<(u32, u32)> {
    let top = read_boxes(input, 0, input.len()).ok()?;
    let meta_box = top.iter().find(|b| &b.kind == b"meta")?;
    let meta = meta::parse(input, meta_box).ok()?;
    let primary = meta.primary?;
    let size = meta.associations(primary).find_map(|&(_, index)| {
        let property = meta.property(index)?;
        if &property.kind != b"ispe" {
            return None;
        }
        // Full box: version and flags, then width and height.
        let payload = property.payload(input);
        let w = u32::from_be_bytes(payload.get(4..8)?.try_into().ok()?);
        let h = u32::from_be_bytes(payload.get(8..12)?.try_into().ok()?);
        Some((w, h))
    });
    size
}

pub(crate) fn strip(input: &[u8], report: &mut Report) -> Result<Vec<u8>, SanitizeError> {
    let top = read_boxes(input, 0, input.len())?;
    if top.first().map(|b| &b.kind) != Some(b"ftyp") {
        return Err(SanitizeError::corrupt(F, "first box is not ftyp", 0));
    }
    let mut metas = top.iter().filter(|b| &b.kind == b"meta");
    let (Some(meta_box), None) = (metas.next(), metas.next()) else {
        return Err(SanitizeError::unsupported(
            F,
            "a file without exactly one top-level meta box (an image sequence?)",
        ));
    };
    let meta = meta::parse(input, meta_box)?;
    let primary = meta
        .primary
        .ok_or_else(|| SanitizeError::corrupt(F, "no primary item (pitm)", meta_box.start))?;
    let keep = keep_set(input, &meta, primary)?;

    let kept: HashSet<u32> = keep.iter().copied().collect();
    let thumbnails: HashSet<u32> = meta
        .references
        .iter()
        .filter(|r| &r.kind == b"thmb")
        .map(|r| r.from)
        .collect();
    for item in meta.items.iter().filter(|i| !kept.contains(&i.id)) {
        let bytes: u64 = meta
            .location(item.id)
            .map(|l| l.extents.iter().map(|e| e.1).sum())
            .unwrap_or(0);
        report.remove(
            removed_category(item, thumbnails.contains(&item.id)),
            bytes as usize,
        );
    }

    // Where each kept item's bytes are, by container.
    let mdats: Vec<&BoxRef> = top.iter().filter(|b| &b.kind == b"mdat").collect();
    let mut kept_in_mdat: Vec<Vec<(usize, usize)>> = vec![Vec::new(); mdats.len()];
    let mut kept_in_idat: Vec<(usize, usize)> = Vec::new();
    for &id in &keep {
        let loc = meta.location(id).ok_or_else(|| {
            SanitizeError::corrupt(F, "image item without a location (iloc)", meta_box.start)
        })?;
        if loc.data_reference_index > 1 || loc.extents.is_empty() {
            return Err(SanitizeError::unsupported(
                F,
                "image data stored outside this file",
            ));
        }
        for &(offset, length) in &loc.extents {
            let range = to_range(offset, length)?;
            match loc.construction_method {
                0 => {
                    let m = mdats
                        .iter()
                        .position(|m| m.body <= range.0 && range.1 <= m.end)
                        .ok_or_else(|| {
                            SanitizeError::unsupported(F, "image data outside an mdat box")
                        })?;
                    kept_in_mdat[m].push(range);
                }
                1 => {
                    let idat = meta.idat.as_ref().ok_or_else(|| {
                        SanitizeError::corrupt(F, "item stored in a missing idat", meta_box.start)
                    })?;
                    if range.1 > idat.end - idat.body {
                        return Err(SanitizeError::truncated(
                            F,
                            "item runs past the end of idat",
                            idat.start,
                        ));
                    }
                    kept_in_idat.push(range);
                }
                _ => {
                    return Err(SanitizeError::unsupported(
                        F,
                        "items built from other items (iloc construction method 2)",
                    ))
                }
            }
        }
    }

    // The output: ftyp, the rebuilt meta and the mdats that hold kept data,
    // in their original order. Everything else is reported and left out.
    let offset_size: u8 = if input.len() as u64 + (1 << 20) > u64::from(u32::MAX) {
        8
    } else {
        4
    };
    let new_locations = |layout: Option<&Layout>| -> Vec<NewLocation> {
        keep.iter()
            .filter_map(|&id| meta.location(id))
            .map(|loc| NewLocation::from_input(loc, layout))
            .collect()
    };
    let idat = meta
        .idat
        .map(|b| zero_outside(b.payload(input), &kept_in_idat));
    let plan = build::MetaPlan::new(input, &meta, primary, &keep, idat, offset_size, report)?;
    let meta_len = plan.build(&new_locations(None)).len();

    let mut layout = Layout::default();
    let mut pos = 0usize;
    for b in &top {
        match &b.kind {
            b"ftyp" if b.start == 0 => pos += b.len(),
            b"meta" => pos += meta_len,
            b"mdat" => {
                let m = mdats
                    .iter()
                    .position(|m| m.start == b.start)
                    .unwrap_or(usize::MAX);
                if kept_in_mdat.get(m).is_some_and(|k| !k.is_empty()) {
                    let header = if b.end - b.body + 8 > u32::MAX as usize {
                        16
                    } else {
                        8
                    };
                    layout.mdat_moves.push((b.body, b.end, pos + header));
                    pos += header + (b.end - b.body);
                }
            }
            _ => {}
        }
    }
    let new_meta = plan.build(&new_locations(Some(&layout)));
    debug_assert_eq!(new_meta.len(), meta_len);

    let mut out = Vec::with_capacity(pos);
    for b in &top {
        match &b.kind {
            b"ftyp" if b.start == 0 => out.extend_from_slice(&input[b.start..b.end]),
            b"meta" => out.extend_from_slice(&new_meta),
            b"mdat" => {
                let m = mdats
                    .iter()
                    .position(|m| m.start == b.start)
                    .unwrap_or(usize::MAX);
                match kept_in_mdat.get(m) {
                    Some(kept) if !kept.is_empty() => {
                        let size = (b.end - b.body + 8) as u64;
                        if size > u64::from(u32::MAX) {
                            out.extend_from_slice(&1u32.to_be_bytes());
                            out.extend_from_slice(b"mdat");
                            out.extend_from_slice(&(size + 8).to_be_bytes());
                        } else {
                            out.extend_from_slice(&(size as u32).to_be_bytes());
                            out.extend_from_slice(b"mdat");
                        }
                        let body_at = out.len();
                        out.extend_from_slice(b.payload(input));
                        let shifted: Vec<_> = kept
                            .iter()
                            .map(|&(s, e)| (s - b.body, e - b.body))
                            .collect();
                        zero_gaps(&mut out[body_at..], &shifted);
                    }
                    _ => {} // only removed items' data: already reported
                }
            }
            b"mpvd" => report.remove(Category::MotionPhoto, b.len()),
            _ => report.remove(Category::Unknown, b.len()),
        }
    }
    debug_assert_eq!(out.len(), pos);
    Ok(out)
}

/// The primary item and everything it needs: `dimg` inputs (grid tiles,
/// overlay and tone-map inputs), recursively, and alpha auxiliary images.
fn keep_set(input: &[u8], meta: &Meta, primary: u32) -> Result<Vec<u32>, SanitizeError> {
    let mut inputs: HashMap<u32, Vec<u32>> = HashMap::new(); // dimg: derived -> inputs
    let mut alphas: HashMap<u32, Vec<u32>> = HashMap::new(); // auxl: image -> alpha planes
    for r in &meta.references {
        match &r.kind {
            b"dimg" => inputs.entry(r.from).or_default().extend(&r.to),
            b"auxl" if is_alpha(input, meta, r.from) => {
                for &to in &r.to {
                    alphas.entry(to).or_default().push(r.from);
                }
            }
            _ => {}
        }
    }
    let mut keep = vec![primary];
    let mut seen: HashSet<u32> = keep.iter().copied().collect();
    let mut i = 0;
    while let Some(&id) = keep.get(i) {
        i += 1;
        let item = meta
            .item(id)
            .ok_or_else(|| SanitizeError::corrupt(F, "referenced item not declared in iinf", 0))?;
        if !IMAGE_ITEM_TYPES.contains(&&item.kind) {
            return Err(SanitizeError::unsupported(
                F,
                "a primary item that is not a coded image",
            ));
        }
        if item.protection_index != 0 {
            return Err(SanitizeError::unsupported(
                F,
                "encrypted (protected) image items",
            ));
        }
        let needed = inputs.get(&id).into_iter().chain(alphas.get(&id)).flatten();
        for &n in needed {
            if seen.insert(n) {
                if keep.len() >= MAX_KEPT_ITEMS {
                    return Err(SanitizeError::unsupported(F, "more than 4096 image items"));
                }
                keep.push(n);
            }
        }
    }
    // Keep the original declaration order.
    keep.sort_by_key(|&id| meta.item_position(id));
    Ok(keep)
}

/// True when `id` is an auxiliary image of type alpha.
fn is_alpha(input: &[u8], meta: &Meta, id: u32) -> bool {
    meta.associations(id)
        .filter_map(|&(_, index)| meta.property(index))
        .filter(|p| &p.kind == b"auxC")
        .any(|p| {
            let mut c = Cursor::new(input, p.body, p.end);
            c.full_box("auxC").is_ok()
                && c.cstring("auxC type").is_ok_and(|t| {
                    t == b"urn:mpeg:hevc:2015:auxid:1" || t.windows(5).any(|w| w == b"alpha")
                })
        })
}

fn removed_category(item: &meta::Item, is_thumbnail: bool) -> Category {
    match &item.kind {
        b"Exif" => Category::Exif,
        b"mime" if item.is_xmp => Category::Xmp,
        _ if is_thumbnail => Category::Thumbnail,
        k if IMAGE_ITEM_TYPES.contains(&k) => Category::SecondaryImage,
        _ => Category::Unknown,
    }
}

fn to_range(offset: u64, length: u64) -> Result<(usize, usize), SanitizeError> {
    if length == 0 {
        return Err(SanitizeError::unsupported(
            F,
            "image extents of unspecified length",
        ));
    }
    let start = usize::try_from(offset)
        .map_err(|_| SanitizeError::truncated(F, "item data past the end of the file", 0))?;
    let end = usize::try_from(length)
        .ok()
        .and_then(|l| start.checked_add(l))
        .ok_or_else(|| SanitizeError::truncated(F, "item data past the end of the file", 0))?;
    Ok((start, end))
}

/// A copy of `data` with every byte outside `keep` ranges set to zero.
fn zero_outside(data: &[u8], keep: &[(usize, usize)]) -> Vec<u8> {
    let mut v = data.to_vec();
    zero_gaps(&mut v, keep);
    v
}

/// Sets every byte of `data` not covered by a `keep` range to zero.
fn zero_gaps(data: &mut [u8], keep: &[(usize, usize)]) {
    let mut ranges = keep.to_vec();
    ranges.sort_unstable();
    let mut covered = 0;
    for (s, e) in ranges {
        if s > covered {
            data[covered..s].fill(0);
        }
        covered = covered.max(e);
    }
    if covered < data.len() {
        data[covered..].fill(0);
    }
}
