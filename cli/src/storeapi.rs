//! Small helpers shared by the commands that talk to a store (`admin`,
//! `device`, `send`, `link`, `records`): typed answers and refusals
//! (`sealcam_core::protocol::api`), durations, ids, QR codes.

use anyhow::{anyhow, bail, Context, Result};
use sealcam_core::protocol::api::{
    DeviceSummary, EnrolmentSummary, ErrorBody, LinkSummary, StaffSummary,
};
use serde::de::DeserializeOwned;
use serde::Serialize;

/// The typed body of a successful answer, or an error carrying the
/// store's own message (which says what is wrong and never echoes
/// secrets).
pub fn answer<T: DeserializeOwned>(status: u16, body: &[u8]) -> Result<T> {
    if !(200..300).contains(&status) {
        return Err(refusal(status, body));
    }
    serde_json::from_slice(body).context("the store's answer is not the expected JSON")
}

/// A successful answer whose body is not needed (`204`), or the store's
/// refusal.
pub fn accepted(status: u16, body: &[u8]) -> Result<()> {
    if (200..300).contains(&status) {
        Ok(())
    } else {
        Err(refusal(status, body))
    }
}

/// A refusal as an error: the status and the store's message.
pub fn refusal(status: u16, body: &[u8]) -> anyhow::Error {
    let message = ErrorBody::from_json(body).map_or_else(|| "no details".to_owned(), |e| e.message);
    anyhow!("the store answered {status}: {message}")
}

/// Prints a list one JSON object per line, keys sorted (through
/// `serde_json::Value`, as this tool has always printed them).
pub fn print_list<T: Serialize + TableRow>(items: &[T], json: bool) -> Result<()> {
    let mut out = String::new();
    if json {
        for i in items {
            out.push_str(&serde_json::to_string(i)?);
            out.push('\n');
        }
    } else if items.is_empty() {
        out.push_str("(none)\n");
    } else {
        let rows: Vec<Vec<String>> = items.iter().map(TableRow::cells).collect();
        out = table(T::HEADERS, &rows);
    }
    crate::io::print_stdout(&out)
}

/// A list entry as a table row (`sealcam admin … list`).
pub trait TableRow {
    /// Column headings.
    const HEADERS: &'static [&'static str];
    /// The cells, in the order of [`TableRow::HEADERS`].
    fn cells(&self) -> Vec<String>;
}

/// Columns padded to their widest cell, two spaces apart.
fn table(headers: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let mut line = |cells: &mut dyn Iterator<Item = &str>| {
        let mut l = String::new();
        for (i, (cell, w)) in cells.zip(&widths).enumerate() {
            if i > 0 {
                l.push_str("  ");
            }
            l.push_str(cell);
            l.extend(std::iter::repeat_n(' ', w - cell.chars().count()));
        }
        out.push_str(l.trim_end());
        out.push('\n');
    };
    line(&mut headers.iter().copied());
    for row in rows {
        line(&mut row.iter().map(String::as_str));
    }
    out
}

fn who(c: &sealcam_core::record::Clinician) -> String {
    format!(
        "{} ({} {})",
        c.name, c.registration_body, c.registration_number
    )
}

impl TableRow for EnrolmentSummary {
    const HEADERS: &'static [&'static str] =
        &["ENROLMENT", "STATE", "CLINICIAN", "CREATED", "EXPIRES"];
    fn cells(&self) -> Vec<String> {
        vec![
            self.id.to_string(),
            self.state.to_string(),
            who(&self.clinician),
            crate::rfc3339(self.created_at),
            crate::rfc3339(self.expires_at),
        ]
    }
}

impl TableRow for DeviceSummary {
    const HEADERS: &'static [&'static str] = &["DEVICE", "STATE", "CLINICIAN", "ENROLLED"];
    fn cells(&self) -> Vec<String> {
        vec![
            self.device_id.to_string(),
            self.state.to_string(),
            who(&self.clinician),
            crate::rfc3339(self.enrolled_at),
        ]
    }
}

impl TableRow for StaffSummary {
    const HEADERS: &'static [&'static str] = &["STAFF", "STATE", "NAME", "RECIPIENT", "ADDED"];
    fn cells(&self) -> Vec<String> {
        vec![
            self.staff_id.to_string(),
            self.state.to_string(),
            self.name.clone(),
            self.recipient.id().to_string(),
            crate::rfc3339(self.created_at),
        ]
    }
}

impl TableRow for LinkSummary {
    const HEADERS: &'static [&'static str] = &[
        "LINK",
        "STATE",
        "CREATED BY",
        "UPLOADS",
        "MAX BYTES",
        "EXPIRES",
    ];
    fn cells(&self) -> Vec<String> {
        vec![
            self.link_id.to_string(),
            self.state.to_string(),
            self.created_by.to_string(),
            format!("{}/{}", self.uploads, self.max_uploads),
            self.max_bytes.to_string(),
            crate::rfc3339(self.expires_at),
        ]
    }
}

/// Parses an id given on the command line (32 lower-case hex digits)
/// into its type before it goes into a path.
pub fn parse_id<T: std::str::FromStr>(id: &str) -> Result<T> {
    id.trim()
        .parse()
        .map_err(|_| anyhow!("an id is 32 lower-case hexadecimal digits"))
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
    #[test]
    fn tables_line_up_and_say_none_when_empty() {
        let t = table(
            &["ID", "STATE"],
            &[
                vec!["a".into(), "active".into()],
                vec!["bbbb".into(), "revoked".into()],
            ],
        );
        assert_eq!(t, "ID    STATE\na     active\nbbbb  revoked\n");
    }

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
        use sealcam_core::keys::DeviceId;
        use sealcam_core::protocol::api::{LinkId, StaffAdded};
        assert!(parse_id::<LinkId>(&"a".repeat(32)).is_ok());
        assert!(parse_id::<DeviceId>("../etc/passwd").is_err());
        assert!(parse_id::<DeviceId>(&"A".repeat(32)).is_err());
        accepted(204, b"").expect("ok");
        let err =
            accepted(403, br#"{"error":"forbidden","message":"not yours"}"#).expect_err("refused");
        assert!(err.to_string().contains("403: not yours"), "{err}");
        let err = answer::<StaffAdded>(502, b"<html>").expect_err("refused");
        assert!(err.to_string().contains("502: no details"), "{err}");
        let id = "ab".repeat(16);
        let added: StaffAdded =
            answer(201, format!(r#"{{"staff_id":"{id}"}}"#).as_bytes()).expect("typed");
        assert_eq!(added.staff_id.to_string(), id);
        assert!(answer::<StaffAdded>(201, b"{}").is_err());
    }

    #[test]
    fn qr_renders() {
        let q = qr("sealcam-enrol:v1;url=https://127.0.0.1:8443").expect("qr");
        assert!(q.lines().count() > 10);
    }
}
