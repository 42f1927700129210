//! Acceptance test for an EXIF block: exactly one IFD with exactly one
//! entry, Orientation (SHORT, count 1, 2..=8), no next IFD, no extra bytes.

/// IFD header (8) + entry count (2) + one entry (12) + next-IFD offset (4).
const EXACT_LEN: usize = 26;

/// Returns the orientation if `tiff` is a minimal Orientation-only block.
pub(super) fn orientation_only(tiff: &[u8]) -> Option<u16> {
    if tiff.len() != EXACT_LEN {
        return None;
    }
    let be = match &tiff[0..2] {
        b"MM" => true,
        b"II" => false,
        _ => return None,
    };
    let r16 = |i: usize| {
        let b = [tiff[i], tiff[i + 1]];
        if be {
            u16::from_be_bytes(b)
        } else {
            u16::from_le_bytes(b)
        }
    };
    let r32 = |i: usize| {
        let b = [tiff[i], tiff[i + 1], tiff[i + 2], tiff[i + 3]];
        if be {
            u32::from_be_bytes(b)
        } else {
            u32::from_le_bytes(b)
        }
    };
    let well_formed = r16(2) == 42
        && r32(4) == 8
        && r16(8) == 1
        && r16(10) == 0x0112
        && r16(12) == 3
        && r32(14) == 1
        && r16(20) == 0
        && r32(22) == 0;
    let value = r16(18);
    (well_formed && (2..=8).contains(&value)).then_some(value)
}
