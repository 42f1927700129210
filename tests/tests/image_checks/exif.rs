//! The second, library-based EXIF check: `kamadak-exif` must find either no
//! EXIF at all or EXIF whose only field is Orientation in the primary IFD.

use exif::{In, Reader, Tag};
use std::io::Cursor;

/// What `kamadak-exif` sees in an image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExifSeen {
    /// No EXIF block.
    None,
    /// EXIF whose only field is a primary-IFD Orientation with this value.
    OrientationOnly(u32),
    /// Anything else: the fields found (tag and IFD, never values), or the
    /// reader's error.
    Other(String),
}

/// Reads the EXIF of `image` (JPEG, PNG, WebP or HEIF) with `kamadak-exif`.
pub fn seen(image: &[u8]) -> ExifSeen {
    let exif = match Reader::new().read_from_container(&mut Cursor::new(image)) {
        Ok(exif) => exif,
        Err(exif::Error::NotFound(_)) => return ExifSeen::None,
        Err(e) => return ExifSeen::Other(format!("kamadak-exif cannot read it: {e}")),
    };
    let fields: Vec<_> = exif.fields().collect();
    if let [f] = fields.as_slice() {
        if f.tag == Tag::Orientation && f.ifd_num == In::PRIMARY {
            if let Some(v) = f.value.get_uint(0) {
                return ExifSeen::OrientationOnly(v);
            }
        }
    }
    let names: Vec<String> = fields
        .iter()
        .take(12)
        .map(|f| format!("{} in IFD{}", f.tag, f.ifd_num.index()))
        .collect();
    let more = fields.len().saturating_sub(names.len());
    ExifSeen::Other(format!(
        "{} EXIF fields: {}{}",
        fields.len(),
        names.join(", "),
        if more > 0 {
            format!(" and {more} more")
        } else {
            String::new()
        }
    ))
}
