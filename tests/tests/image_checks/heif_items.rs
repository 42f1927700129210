//! HEIC cannot be decoded here, so "the picture is unchanged" is checked on
//! the coded data: the items that make up the primary image must survive
//! byte for byte, with the properties needed to decode and orient them.

use sealcam_test_support::heif::Heif;

/// HEIF: the primary item (and the tiles of a grid primary) must be in the
/// output under the same IDs with identical bytes and the same decoding,
/// rotation and mirroring properties.
pub fn problems(input: &[u8], output: &[u8]) -> Vec<String> {
    let (hin, hout) = match (Heif::parse(input), Heif::parse(output)) {
        (Ok(a), Ok(b)) => (a, b),
        (Err(e), _) => return vec![format!("test HEIF reader cannot read the input: {e}")],
        (_, Err(e)) => return vec![format!("test HEIF reader cannot read the output: {e}")],
    };
    let Some(primary) = hin.primary else {
        return vec!["input has no primary item".into()];
    };
    if hout.primary != Some(primary) {
        return vec![format!("primary item {primary} became {:?}", hout.primary)];
    }
    let mut ids = vec![primary];
    if hin.items.get(&primary).map(|i| &i.item_type) == Some(b"grid") {
        ids.extend(hin.referenced(b"dimg", primary));
        if hout.referenced(b"dimg", primary) != ids[1..] {
            return vec!["grid tile references (dimg) changed".into()];
        }
    }
    let mut problems = Vec::new();
    for &id in &ids {
        let type_in = hin.items.get(&id).map(|i| i.item_type);
        let type_out = hout.items.get(&id).map(|i| i.item_type);
        if type_in != type_out {
            problems.push(format!("item {id} type {type_in:?} became {type_out:?}"));
        }
        match (hin.item_data(input, id), hout.item_data(output, id)) {
            (Ok(a), Ok(b)) if a == b => {}
            (Ok(a), Ok(b)) => problems.push(format!(
                "item {id} bytes differ ({} vs {} bytes)",
                a.len(),
                b.len()
            )),
            (Err(e), _) => problems.push(format!("input item {id}: {e}")),
            (_, Err(e)) => problems.push(format!("output item {id}: {e}")),
        }
        let kept = |id| -> Vec<&[u8]> {
            hout.properties_of(id)
                .iter()
                .map(|p| p.bytes(output))
                .collect()
        };
        let out_props = kept(id);
        let needed: &[&[u8; 4]] = if id == primary {
            &[b"irot", b"imir", b"hvcC", b"av1C", b"ispe", b"clap"]
        } else {
            &[b"hvcC", b"av1C", b"ispe"]
        };
        for p in hin.properties_of(id) {
            if needed.contains(&&p.kind) && !out_props.contains(&p.bytes(input)) {
                problems.push(format!("item {id} lost its '{}' property", p.name()));
            }
        }
    }
    problems
}
