//! Decoding with the `image` crate: raw pixels and the orientation the
//! decoder reads from the file.

use image::metadata::Orientation;
use image::{DynamicImage, ImageDecoder, ImageReader};
use std::io::Cursor;

/// A decoded image as stored, and the orientation its file asks for.
pub struct Decoded {
    pub image: DynamicImage,
    pub orientation: Orientation,
}

/// Decodes `bytes` without applying the orientation.
pub fn decode(bytes: &[u8]) -> Result<Decoded, String> {
    let reader = ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|e| format!("cannot guess the format: {e}"))?;
    let mut decoder = reader.into_decoder().map_err(|e| e.to_string())?;
    let orientation = decoder.orientation().map_err(|e| e.to_string())?;
    let image = DynamicImage::from_decoder(decoder).map_err(|e| e.to_string())?;
    Ok(Decoded { image, orientation })
}

/// The orientation for an EXIF value (1..=8); none for anything else.
pub fn orientation_of(exif_value: Option<u16>) -> Orientation {
    exif_value
        .and_then(|v| u8::try_from(v).ok())
        .and_then(Orientation::from_exif)
        .unwrap_or(Orientation::NoTransforms)
}

/// Why two images differ, or `None` when they are pixel-identical.
pub fn difference(a: &DynamicImage, b: &DynamicImage) -> Option<String> {
    if a.color() != b.color() {
        return Some(format!("colour type {:?} vs {:?}", a.color(), b.color()));
    }
    if (a.width(), a.height()) != (b.width(), b.height()) {
        return Some(format!(
            "size {}x{} vs {}x{}",
            a.width(),
            a.height(),
            b.width(),
            b.height()
        ));
    }
    let (pa, pb) = (a.as_bytes(), b.as_bytes());
    let first = pa.iter().zip(pb).position(|(x, y)| x != y)?;
    let differing = pa.iter().zip(pb).filter(|(x, y)| x != y).count();
    Some(format!("{differing} sample bytes differ, first at {first}"))
}

/// `image` after applying `orientation`.
pub fn oriented(image: &DynamicImage, orientation: Orientation) -> DynamicImage {
    let mut out = image.clone();
    out.apply_orientation(orientation);
    out
}
