//! Byte strings that only metadata contains, searched for in the whole file.

use super::{finding, Finding, Kind};

/// The strings, each with a printable name.
pub const NEEDLES: &[(&[u8], &str)] = &[
    (b"http://ns.adobe.com/xap/1.0/", "XMP namespace"),
    (b"<x:xmpmeta", "XMP packet"),
    (b"Photoshop 3.0", "Photoshop IRB"),
    (b"MPF\0", "MPF identifier"),
    (b"JFXX", "JFXX thumbnail"),
    (b"GCamera", "Google camera XMP"),
    (b"MotionPhoto", "motion photo XMP"),
];

pub(super) fn scan(b: &[u8]) -> Vec<Finding> {
    NEEDLES
        .iter()
        .filter_map(|(needle, name)| {
            memchr::memmem::find(b, needle).map(|at| finding(Kind::Needle, at, *name))
        })
        .collect()
}
