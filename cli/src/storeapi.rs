//! Small helpers shared by the commands that talk to a store (`admin`,
//! `device`, `send`, `link`): answers, durations, ids, QR codes.

use anyhow::{bail, Context, Result};

/// Turns a store answer into JSON, or an error carrying the store's own
/// message (which says what is wrong and never echoes secrets).
pub fn json_answer(status: u16, body: &[u8]) -> Result<serde_json::Value> {
    if (200..300).contains(&status) {
        if body.is_empty() {
            return Ok(serde_json::Value::Null);
        }
        return serde_json::from_slice(body).context("the store's answer is not JSON");
    }
    let message = serde_json::from_slice::<serde_json::Value>(body)
        .ok()
        .and_then(|v| v.get("message").and_then(|m| m.as_str()).map(str::to_owned))
        .unwrap_or_else(|| "no details".to_owned());
    bail!("the store answered {status}: {message}")
}

/// A string field of a JSON object.
pub fn str_field<'a>(v: &'a serde_json::Value, name: &str) -> Result<&'a str> {
    v.get(name)
        .and_then(|f| f.as_str())
        .with_context(|| format!("the store's answer has no {name}"))
}

/// An integer field of a JSON object.
pub fn u64_field(v: &serde_json::Value, name: &str) -> Result<u64> {
    v.get(name)
        .and_then(serde_json::Value::as_u64)
        .with_context(|| format!("the store's answer has no {name}"))
}

/// Prints a JSON list one object per line.
pub fn print_list(v: &serde_json::Value) {
    match v.as_array() {
        Some(items) if items.is_empty() => println!("(none)"),
        Some(items) => items.iter().for_each(|i| println!("{i}")),
        None => println!("{v}"),
    }
}

/// Checks an id given on the command line before it goes into a path:
/// 32 lower-case hex digits.
pub fn path_id(id: &str) -> Result<&str> {
    let id = id.trim();
    if id.len() == 32
        && id
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    {
        Ok(id)
    } else {
        bail!("an id is 32 lower-case hexadecimal digits")
    }
}

/// Parses a duration: a number of seconds, or a number followed by `s`,
/// `m`, `h` or `d`.
pub fn parse_duration(s: &str) -> Result<u64> {
    let s = s.trim();
    let (number, unit) = match s.char_indices().last() {
        Some((i, c)) if c.is_ascii_alphabetic() => (&s[..i], c),
        _ => (s, 's'),
    };
    let n: u64 = number
        .parse()
        .with_context(|| format!("{s:?} is not a duration; write e.g. 3600, 90m, 24h or 7d"))?;
    let factor = match unit {
        's' => 1,
        'm' => 60,
        'h' => 3_600,
        'd' => 86_400,
        _ => bail!("{s:?}: the unit must be s, m, h or d"),
    };
    n.checked_mul(factor)
        .filter(|&secs| secs > 0)
        .with_context(|| format!("{s:?} is not a usable duration"))
}

/// A QR code of `text` for a terminal (Unicode half blocks, quiet zone).
pub fn qr(text: &str) -> Result<String> {
    use qrcode::render::unicode::Dense1x2;
    let code = qrcode::QrCode::with_error_correction_level(text.as_bytes(), qrcode::EcLevel::M)
        .context("the text is too long for a QR code")?;
    Ok(code
        .render::<Dense1x2>()
        .dark_color(Dense1x2::Light)
        .light_color(Dense1x2::Dark)
        .quiet_zone(true)
        .build())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("3600").expect("ok"), 3600);
        assert_eq!(parse_duration("90m").expect("ok"), 5400);
        assert_eq!(parse_duration("24h").expect("ok"), 86_400);
        assert_eq!(parse_duration("7d").expect("ok"), 604_800);
        for bad in ["", "0", "h", "7w", "-1d", "1.5h", "99999999999999999999d"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn ids_and_answers() {
        assert!(path_id(&"a".repeat(32)).is_ok());
        assert!(path_id("../etc/passwd").is_err());
        assert!(path_id(&"A".repeat(32)).is_err());
        assert_eq!(json_answer(204, b"").expect("ok"), serde_json::Value::Null);
        let err = json_answer(403, br#"{"error":"forbidden","message":"not yours"}"#)
            .expect_err("refused");
        assert!(err.to_string().contains("403: not yours"), "{err}");
    }

    #[test]
    fn qr_renders() {
        let q = qr("sealcam-enrol:v1;url=https://127.0.0.1:8443").expect("qr");
        assert!(q.lines().count() > 10);
    }
}
