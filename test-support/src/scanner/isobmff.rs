//! ISOBMFF / HEIF: top-level boxes, metadata items and references, and the
//! parts of `mdat` that no item points at.

use super::{finding, tiff, Finding, Kind, Scan};
use crate::heif::{fourcc, Heif};

pub(super) fn scan(b: &[u8], out: &mut Scan) {
    let heif = match Heif::parse(b) {
        Ok(h) => h,
        Err(e) => return out.push(finding(Kind::Malformed, 0, format!("HEIF: {e}"))),
    };
    out.icc_profiles.extend(
        heif.properties
            .iter()
            .filter(|p| &p.kind == b"colr")
            .map(|p| (p.body, p.end)),
    );
    let found = &mut out.findings;
    if let Some(at) = heif.trailing_from {
        let n = b.len() - at;
        found.push(finding(
            Kind::Trailer,
            at,
            format!("{n} bytes after the last box"),
        ));
    }
    for bx in &heif.top_level {
        if !matches!(&bx.kind, b"ftyp" | b"meta" | b"mdat") {
            let what = format!("top-level '{}' box", bx.name());
            found.push(finding(Kind::ExtraBox, bx.start, what));
        }
    }
    let meta_at = heif.meta.map_or(0, |m| m.start);
    for item in heif.items.values() {
        let kind = match &item.item_type {
            b"Exif" => Kind::Exif,
            b"mime" if is_xmp(&item.content_type) => Kind::Xmp,
            b"mime" | b"uri " => Kind::MetadataItem,
            _ => continue,
        };
        let mut what = format!("item {} of type '{}'", item.id, fourcc(&item.item_type));
        if kind == Kind::Exif {
            what += &exif_item_notes(b, &heif, item.id);
        }
        found.push(finding(kind, meta_at, what));
    }
    for r in &heif.references {
        let kind = match &r.kind {
            b"thmb" => Kind::Thumbnail,
            b"cdsc" => Kind::ItemReference,
            _ => continue,
        };
        let what = format!("'{}' reference from item {}", fourcc(&r.kind), r.from);
        found.push(finding(kind, meta_at, what));
    }
    found.extend(unreferenced_mdat_bytes(b, &heif));
}

/// What an `Exif` item holds: its data is a 4-byte offset to the TIFF
/// header, then (usually `Exif\0\0` and) the TIFF block.
fn exif_item_notes(b: &[u8], heif: &Heif, id: u32) -> String {
    let data = match heif.item_data(b, id) {
        Ok(d) => d,
        Err(e) => return format!(" (unreadable: {e})"),
    };
    let Some(offset) = data
        .get(..4)
        .map(|o| u32::from_be_bytes([o[0], o[1], o[2], o[3]]))
    else {
        return " (shorter than its header)".into();
    };
    let tiff = data.get(4 + offset as usize..).unwrap_or_default();
    format!(": {}", tiff::inspect(tiff).notes.join(", "))
}

fn is_xmp(content_type: &str) -> bool {
    let t = content_type.to_ascii_lowercase();
    t.contains("xmp") || t.contains("rdf") || t.contains("xml")
}

/// Non-zero bytes inside `mdat` payloads that no item's extents cover.
fn unreferenced_mdat_bytes(b: &[u8], heif: &Heif) -> Vec<Finding> {
    let mut covered: Vec<(usize, usize)> = Vec::new();
    for (&id, item) in &heif.items {
        let in_file = item
            .location
            .as_ref()
            .is_some_and(|l| l.construction_method == 0 && l.data_reference_index == 0);
        if !in_file {
            continue;
        }
        match heif.item_ranges(b.len(), id) {
            Ok(ranges) => covered.extend(ranges),
            Err(e) => return vec![finding(Kind::Malformed, 0, e)],
        }
    }
    covered.sort_unstable();
    let mut found = Vec::new();
    for mdat in heif.top_level.iter().filter(|x| &x.kind == b"mdat") {
        let mut pos = mdat.body;
        let mut nonzero = 0usize;
        let mut first = None;
        for &(s, e) in covered.iter().chain(std::iter::once(&(mdat.end, mdat.end))) {
            let gap_end = s.min(mdat.end);
            if gap_end > pos {
                let gap = &b[pos..gap_end];
                let n = gap.iter().filter(|&&x| x != 0).count();
                if n > 0 && first.is_none() {
                    first = gap.iter().position(|&x| x != 0).map(|i| pos + i);
                }
                nonzero += n;
            }
            pos = pos.max(e);
            if pos >= mdat.end {
                break;
            }
        }
        if nonzero > 0 {
            let at = first.unwrap_or(mdat.start);
            let what = format!("{nonzero} non-zero bytes in mdat that no item points at");
            found.push(finding(Kind::UnreferencedData, at, what));
        }
    }
    found
}
