//! The FHIR R4 `Media` resource that `sealcam records pull` writes beside
//! each filed image (`media.fhir.json`). The mapping is documented in
//! docs/CLI.md ("records pull", "The FHIR Media resource").
//!
//! The resource is patient data (it names the patient by NHS number and
//! holds the consent notes), like the record it is made from: it is only
//! ever written to the records workstation's output directory, never
//! printed.

use base64::Engine as _;
use sealcam_core::record::{ClinicalRecord, Clinician, RegistrationBody};
use serde_json::{json, Map, Value};
use sha1::{Digest, Sha1};

/// `subject.identifier.system` for an NHS number (NHS England).
pub const NHS_NUMBER_SYSTEM: &str = "https://fhir.nhs.uk/Id/nhs-number";
/// Default `subject.identifier.system` for a local patient id (hospital
/// number), when the record has no NHS number. `--local-id-system` sets
/// the trust's own.
pub const DEFAULT_LOCAL_ID_SYSTEM: &str = "urn:sealcam:local-patient-id";
/// `identifier.system` of the envelope id.
pub const ENVELOPE_SYSTEM: &str = "urn:sealcam:envelope";
/// `device.identifier.system` of a sealcam device id.
pub const DEVICE_SYSTEM: &str = "urn:sealcam:device";
/// SNOMED CT.
pub const SNOMED_SYSTEM: &str = "http://snomed.info/sct";
/// HL7 media type code system (`image`).
pub const MEDIA_TYPE_SYSTEM: &str = "http://terminology.hl7.org/CodeSystem/media-type";
/// Extension: the consent, structured (complex extension).
pub const CONSENT_EXTENSION: &str = "urn:sealcam:fhir:extension:consent";
/// Extension: how the image reached sealcam (`valueCode`: the record's
/// `source`, `device_capture` / `patient_link` / `desktop_import`).
pub const SOURCE_EXTENSION: &str = "urn:sealcam:fhir:extension:source";
/// Extension: what the records workstation verified about the sender
/// (`valueCode`: `verified-device` or `verified-patient-link`).
pub const SENDER_EXTENSION: &str = "urn:sealcam:fhir:extension:sender";

/// Who sent the envelope, as `records pull` established it.
pub enum Sender<'a> {
    /// Signed by an enrolled device whose certificate verified against the
    /// organisation key.
    VerifiedDevice {
        /// The device id (32 hex digits), from the certificate.
        device_id: String,
        /// The clinician the certificate names.
        certified: &'a Clinician,
    },
    /// Unsigned, sent by a patient through an upload link whose creator's
    /// signed capability vouches for it (the patient is not authenticated;
    /// the link is).
    PatientLink {
        /// Who made the link, in words ("device … certified for …", or
        /// "staff key …").
        vouched_by: String,
    },
}

/// Everything the resource is made from.
pub struct MediaInput<'a> {
    /// The envelope id (32 hex digits).
    pub envelope_id: &'a str,
    /// The clinical record, as opened.
    pub record: &'a ClinicalRecord,
    /// The image bytes as written to disk.
    pub image: &'a [u8],
    /// Its media type (`image/jpeg`, ..., `image/heic`, `image/avif`).
    pub content_type: &'a str,
    /// The image's file name beside `media.fhir.json` (`content.url`).
    pub file_name: &'a str,
    /// The verified sender.
    pub sender: Sender<'a>,
    /// `subject.identifier.system` for a local patient id.
    pub local_id_system: &'a str,
}

/// The RFC 3339 form FHIR `dateTime` takes (the record's own offset kept).
fn date_time(t: time::OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339)
        // A record's timestamps are checked RFC 3339 with years 0000-9999,
        // which always format; the fallback is never reached.
        .unwrap_or_else(|_| t.unix_timestamp().to_string())
}

/// The UK Core identifier system of a registration body, if it has one.
fn registration_system(body: &RegistrationBody) -> Option<&'static str> {
    Some(match body {
        RegistrationBody::Gmc => "https://fhir.hl7.org.uk/Id/gmc-number",
        RegistrationBody::Nmc => "https://fhir.hl7.org.uk/Id/nmc-number",
        RegistrationBody::Hcpc => "https://fhir.hl7.org.uk/Id/hcpc-number",
        RegistrationBody::Gdc => "https://fhir.hl7.org.uk/Id/gdc-number",
        RegistrationBody::Gphc => "https://fhir.hl7.org.uk/Id/gphc-number",
        RegistrationBody::Other(_) => return None,
    })
}

/// A clinician as a FHIR `Reference` by identifier (registration number),
/// with their name as `display`.
fn clinician_reference(c: &Clinician) -> Value {
    let mut identifier = Map::new();
    match registration_system(&c.registration_body) {
        Some(system) => {
            identifier.insert("system".into(), json!(system));
        }
        None => {
            identifier.insert(
                "type".into(),
                json!({ "text": c.registration_body.as_str() }),
            );
        }
    }
    identifier.insert("value".into(), json!(c.registration_number));
    identifier.insert(
        "assigner".into(),
        json!({ "display": c.registration_body.as_str() }),
    );
    json!({ "identifier": identifier, "display": c.name })
}

pub fn clinician_text(c: &Clinician) -> String {
    format!(
        "{} ({} {})",
        c.name, c.registration_body, c.registration_number
    )
}

/// SHA-1 of `bytes`, base64 (FHIR `Attachment.hash`).
pub fn sha1_base64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(Sha1::digest(bytes))
}

/// `resource` as indented JSON with `resourceType` first (as FHIR
/// examples write it; readers accept any order), and a final newline.
pub fn to_pretty_json(resource: &Value) -> serde_json::Result<String> {
    #[derive(serde::Serialize)]
    struct Ordered<'a> {
        #[serde(rename = "resourceType")]
        resource_type: &'a Value,
        #[serde(flatten)]
        rest: Map<String, Value>,
    }
    let mut rest = resource.as_object().cloned().unwrap_or_default();
    let resource_type = resource.get("resourceType").unwrap_or(&Value::Null);
    rest.remove("resourceType");
    let mut text = serde_json::to_string_pretty(&Ordered {
        resource_type,
        rest,
    })?;
    text.push('\n');
    Ok(text)
}

/// The FHIR R4 `Media` resource for one filed image.
pub fn media(input: &MediaInput<'_>) -> Value {
    let r = input.record;
    let mut m = Map::new();
    m.insert("resourceType".into(), json!("Media"));

    // Extensions: the structured consent, the route, what was verified.
    let consent = r.consent();
    let mut consent_ext: Vec<Value> = consent
        .scopes()
        .iter()
        .map(|s| json!({ "url": "scope", "valueCode": s.as_str() }))
        .collect();
    consent_ext.push(json!({ "url": "method", "valueCode": consent.method().as_str() }));
    consent_ext.push(json!({ "url": "givenBy", "valueCode": consent.given_by().as_str() }));
    consent_ext.push(json!({
        "url": "obtainedBy",
        "valueReference": clinician_reference(consent.obtained_by()),
    }));
    consent_ext.push(json!({
        "url": "obtainedAt",
        "valueDateTime": date_time(consent.obtained_at()),
    }));
    if let Some(notes) = consent.notes() {
        consent_ext.push(json!({ "url": "notes", "valueString": notes }));
    }
    if let Some(sha) = consent.signature_image_sha256() {
        consent_ext.push(
            json!({ "url": "signatureImageSha256", "valueString": sealcam_core::hex::encode(sha) }),
        );
    }
    let sender_code = match input.sender {
        Sender::VerifiedDevice { .. } => "verified-device",
        Sender::PatientLink { .. } => "verified-patient-link",
    };
    m.insert(
        "extension".into(),
        json!([
            { "url": CONSENT_EXTENSION, "extension": consent_ext },
            { "url": SOURCE_EXTENSION, "valueCode": r.source().as_str() },
            { "url": SENDER_EXTENSION, "valueCode": sender_code },
        ]),
    );

    m.insert(
        "identifier".into(),
        json!([{ "system": ENVELOPE_SYSTEM, "value": input.envelope_id }]),
    );
    m.insert("status".into(), json!("completed"));
    m.insert(
        "type".into(),
        json!({ "coding": [{ "system": MEDIA_TYPE_SYSTEM, "code": "image", "display": "Image" }] }),
    );

    // Subject: the NHS number, else the local id; the name as display.
    let patient = r.patient();
    let mut subject = Map::new();
    let identifier = match (patient.nhs_number(), patient.local_id()) {
        (Some(nhs), _) => json!({ "system": NHS_NUMBER_SYSTEM, "value": nhs.canonical() }),
        (None, Some(local)) => json!({ "system": input.local_id_system, "value": local.as_str() }),
        // ClinicalRecord guarantees one of the two; an empty identifier
        // would fail validation rather than silently name nobody.
        (None, None) => json!({}),
    };
    subject.insert("identifier".into(), identifier);
    if let Some(name) = patient.name() {
        subject.insert("display".into(), json!(name.as_str()));
    }
    m.insert("subject".into(), Value::Object(subject));

    m.insert("createdDateTime".into(), json!(date_time(r.captured_at())));

    // Operator: who took the image. For a patient link that is the
    // patient; the record's clinician issued the link and goes in a note.
    if !matches!(input.sender, Sender::PatientLink { .. }) {
        m.insert("operator".into(), clinician_reference(r.clinician()));
    }

    // Body site: SNOMED CT coding when coded; text with the laterality.
    let site = r.body_site();
    let mut body_site = Map::new();
    if let Some(code) = site.snomed_code() {
        body_site.insert(
            "coding".into(),
            json!([{ "system": SNOMED_SYSTEM, "code": code.to_string() }]),
        );
    }
    let site_text = match site.laterality() {
        Some(l) => format!("{} (laterality: {})", site.text(), l.as_str()),
        None => site.text().to_string(),
    };
    body_site.insert("text".into(), json!(site_text));
    m.insert("bodySite".into(), Value::Object(body_site));

    if let Sender::VerifiedDevice {
        device_id,
        certified,
    } = &input.sender
    {
        m.insert(
            "device".into(),
            json!({
                "identifier": { "system": DEVICE_SYSTEM, "value": device_id },
                "display": format!(
                    "sealcam device {device_id}, certified for {}",
                    clinician_text(certified)
                ),
            }),
        );
    }

    if let (Some(w), Some(h)) = (r.image().width(), r.image().height()) {
        m.insert("width".into(), json!(w));
        m.insert("height".into(), json!(h));
    }

    m.insert(
        "content".into(),
        json!({
            "contentType": input.content_type,
            "url": input.file_name,
            "size": input.image.len(),
            "hash": sha1_base64(input.image),
            "title": site.caption().unwrap_or(site.text()),
            "creation": date_time(r.captured_at()),
        }),
    );

    // Notes: the consent in words; for a patient link, who sent it.
    let mut consent_text = format!(
        "Consent: {}. Method: {}. Given by: {}. Obtained by {} at {}.",
        consent
            .scopes()
            .iter()
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join(", "),
        consent.method().as_str().replace('_', " "),
        consent.given_by().as_str().replace('_', " "),
        clinician_text(consent.obtained_by()),
        date_time(consent.obtained_at()),
    );
    if let Some(sha) = consent.signature_image_sha256() {
        consent_text.push_str(&format!(
            " Signature image SHA-256: {}.",
            sealcam_core::hex::encode(sha)
        ));
    }
    if let Some(notes) = consent.notes() {
        consent_text.push_str(" Notes: ");
        consent_text.push_str(notes);
    }
    let mut notes = vec![json!({ "text": consent_text })];
    if let Sender::PatientLink { vouched_by } = &input.sender {
        notes.push(json!({
            "text": format!(
                "Submitted by the patient through a sealcam upload link issued by {}, made \
                 by {vouched_by}, which signed the link. The patient who sent it is not \
                 authenticated (anyone holding the link could).",
                clinician_text(r.clinician())
            )
        }));
    }
    if let Some(caption) = site.caption() {
        notes.push(json!({ "text": format!("Caption: {caption}") }));
    }
    m.insert("note".into(), Value::Array(notes));
    Value::Object(m)
}

#[cfg(test)]
mod tests {
    use super::*;
    use sealcam_core::record::ClinicalRecord;

    const FULL: &str = r#"{"version":1,"patient":{"nhs_number":"9434765919","local_id":"RX1-000123","name":"Alex Example-Testpatient","date_of_birth":"1970-01-31"},"body_site":{"text":"Left index finger, dorsal surface","snomed_code":"7569003","laterality":"left","caption":"Pigmented lesion, 6 mm"},"captured_at":"2026-11-21T10:15:30+01:00","clinician":{"name":"Dr Sam Fictional","registration_body":"GMC","registration_number":"9999999"},"device_id":"00112233445566778899aabbccddeeff","consent":{"scopes":["care","teaching"],"method":"verbal","given_by":"patient","obtained_by":{"name":"Nurse Pat Fictional","registration_body":{"other":"IHCD"},"registration_number":"A-12"},"obtained_at":"2026-11-21T10:12:00Z","notes":"Declined publication."},"source":"device_capture","image":{"media_type":"image/jpeg","width":4032,"height":3024,"sha256":"8c56a126963600db22e099856d36cd382f3678b39e88971c49933b9baadee40d"}}"#;

    const MINIMAL: &str = r#"{"version":1,"patient":{"local_id":"H1"},"body_site":{"text":"back"},"captured_at":"2026-11-21T10:15:30Z","clinician":{"name":"Dr Sam Fictional","registration_body":"GMC","registration_number":"9999999"},"consent":{"scopes":["care"],"method":"verbal","given_by":"patient","obtained_by":{"name":"Dr Sam Fictional","registration_body":"GMC","registration_number":"9999999"},"obtained_at":"2026-11-21T10:12:00Z"},"source":"patient_link","image":{"media_type":"image/png","sha256":"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"}}"#;

    fn record(json: &str) -> ClinicalRecord {
        ClinicalRecord::from_json(json.as_bytes()).expect("test record parses")
    }

    fn certified() -> Clinician {
        Clinician::new("Dr Sam Fictional", RegistrationBody::Gmc, "9999999").expect("clinician")
    }

    #[test]
    fn resource_type_comes_first() {
        let v = json!({"b": 1, "resourceType": "Media", "a": {"z": 1, "y": 2}});
        let text = to_pretty_json(&v).expect("json");
        assert!(
            text.starts_with("{\n  \"resourceType\": \"Media\",\n"),
            "{text}"
        );
        assert!(text.ends_with("}\n"));
        let back: Value = serde_json::from_str(&text).expect("parses");
        assert_eq!(back, v);
    }

    #[test]
    fn sha1_of_known_input() {
        // SHA-1("abc") = a9993e36 4706816a ba3e2571 7850c26c 9cd0d89d.
        assert_eq!(sha1_base64(b"abc"), "qZk+NkcGgWq6PiVxeFDCbJzQ2J0=");
        assert_eq!(sha1_base64(b""), "2jmj7l5rSw0yVb/vlWAYkK/YBwk=");
    }

    #[test]
    fn signed_device_capture_maps_every_field() {
        let r = record(FULL);
        let c = certified();
        let image = b"not really a jpeg";
        let m = media(&MediaInput {
            envelope_id: "83596fb93e4df806b93a32db351e4035",
            record: &r,
            image,
            content_type: "image/jpeg",
            file_name: "image.jpg",
            sender: Sender::VerifiedDevice {
                device_id: "00112233445566778899aabbccddeeff".into(),
                certified: &c,
            },
            local_id_system: DEFAULT_LOCAL_ID_SYSTEM,
        });
        assert_eq!(m["resourceType"], "Media");
        assert_eq!(m["status"], "completed");
        assert_eq!(
            m["identifier"][0],
            json!({"system": ENVELOPE_SYSTEM, "value": "83596fb93e4df806b93a32db351e4035"})
        );
        assert_eq!(m["type"]["coding"][0]["system"], MEDIA_TYPE_SYSTEM);
        assert_eq!(m["type"]["coding"][0]["code"], "image");
        assert_eq!(
            m["subject"]["identifier"],
            json!({"system": NHS_NUMBER_SYSTEM, "value": "9434765919"})
        );
        assert_eq!(m["subject"]["display"], "Alex Example-Testpatient");
        assert_eq!(m["createdDateTime"], "2026-11-21T10:15:30+01:00");
        assert_eq!(
            m["bodySite"]["coding"][0],
            json!({"system": SNOMED_SYSTEM, "code": "7569003"})
        );
        assert_eq!(
            m["bodySite"]["text"],
            "Left index finger, dorsal surface (laterality: left)"
        );
        assert_eq!(m["operator"]["display"], "Dr Sam Fictional");
        assert_eq!(
            m["operator"]["identifier"]["system"],
            "https://fhir.hl7.org.uk/Id/gmc-number"
        );
        assert_eq!(m["operator"]["identifier"]["value"], "9999999");
        assert_eq!(
            m["device"]["identifier"]["value"],
            "00112233445566778899aabbccddeeff"
        );
        assert_eq!(m["width"], 4032);
        assert_eq!(m["height"], 3024);
        let content = &m["content"];
        assert_eq!(content["contentType"], "image/jpeg");
        assert_eq!(content["size"], image.len());
        assert_eq!(content["hash"], sha1_base64(image));
        assert_eq!(content["title"], "Pigmented lesion, 6 mm");
        assert_eq!(content["url"], "image.jpg");
        // Consent: in words and structured.
        let note = m["note"][0]["text"].as_str().expect("note");
        assert!(note.contains("care, teaching"), "{note}");
        assert!(note.contains("Method: verbal"), "{note}");
        assert!(note.contains("Given by: patient"), "{note}");
        assert!(note.contains("Nurse Pat Fictional (IHCD A-12)"), "{note}");
        assert!(note.contains("2026-11-21T10:12:00Z"), "{note}");
        assert!(note.contains("Declined publication."), "{note}");
        // Consent was taken by an IHCD-registered nurse: no regulator is
        // named that did not register anyone here.
        assert!(note.starts_with("Consent: care, teaching."), "{note}");
        assert!(!note.contains("GMC"), "{note}");
        let ext = &m["extension"][0];
        assert_eq!(ext["url"], CONSENT_EXTENSION);
        let sub: Vec<&Value> = ext["extension"].as_array().expect("sub").iter().collect();
        let scopes: Vec<&str> = sub
            .iter()
            .filter(|e| e["url"] == "scope")
            .map(|e| e["valueCode"].as_str().expect("code"))
            .collect();
        assert_eq!(scopes, ["care", "teaching"]);
        let by = sub
            .iter()
            .find(|e| e["url"] == "obtainedBy")
            .expect("obtainedBy");
        // Another body: no system, the body as the identifier's type.
        assert_eq!(by["valueReference"]["identifier"]["type"]["text"], "IHCD");
        assert!(by["valueReference"]["identifier"].get("system").is_none());
        assert_eq!(m["extension"][1]["valueCode"], "device_capture");
        assert_eq!(m["extension"][2]["valueCode"], "verified-device");
    }

    #[test]
    fn patient_link_is_marked_and_has_no_operator_or_device() {
        let r = record(MINIMAL);
        let m = media(&MediaInput {
            envelope_id: "00000000000000000000000000000001",
            record: &r,
            image: b"",
            content_type: "image/png",
            file_name: "image.png",
            sender: Sender::PatientLink {
                vouched_by: "device 00112233445566778899aabbccddeeff".into(),
            },
            local_id_system: "https://trust.example/Id/mrn",
        });
        assert_eq!(
            m["subject"]["identifier"],
            json!({"system": "https://trust.example/Id/mrn", "value": "H1"})
        );
        assert!(m["subject"].get("display").is_none());
        assert!(m.get("operator").is_none());
        assert!(m.get("device").is_none());
        assert!(m.get("width").is_none());
        assert!(m["bodySite"].get("coding").is_none());
        assert_eq!(m["bodySite"]["text"], "back");
        assert_eq!(m["content"]["title"], "back");
        assert_eq!(m["content"]["size"], 0);
        assert_eq!(m["extension"][1]["valueCode"], "patient_link");
        assert_eq!(m["extension"][2]["valueCode"], "verified-patient-link");
        let notes: Vec<&str> = m["note"]
            .as_array()
            .expect("notes")
            .iter()
            .map(|n| n["text"].as_str().expect("text"))
            .collect();
        assert!(notes[1].contains("patient through a sealcam upload link"));
        assert!(notes[1].contains("device 00112233445566778899aabbccddeeff"));
        assert!(notes[1].contains("not authenticated"));
    }

    #[test]
    fn every_value_is_a_string_number_or_structure_fhir_accepts() {
        // No nulls and no empty strings/arrays/objects anywhere: FHIR JSON
        // forbids them.
        fn walk(v: &Value, path: &str) {
            match v {
                Value::Null => panic!("null at {path}"),
                Value::String(s) => assert!(!s.is_empty(), "empty string at {path}"),
                Value::Array(a) => {
                    assert!(!a.is_empty(), "empty array at {path}");
                    for (i, x) in a.iter().enumerate() {
                        walk(x, &format!("{path}[{i}]"));
                    }
                }
                Value::Object(o) => {
                    assert!(!o.is_empty(), "empty object at {path}");
                    for (k, x) in o {
                        walk(x, &format!("{path}.{k}"));
                    }
                }
                _ => {}
            }
        }
        let c = certified();
        for (json, sender) in [
            (
                FULL,
                Sender::PatientLink {
                    vouched_by: "staff key 00112233445566778899aabbccddeeff".into(),
                },
            ),
            (
                MINIMAL,
                Sender::VerifiedDevice {
                    device_id: "00112233445566778899aabbccddeeff".into(),
                    certified: &c,
                },
            ),
        ] {
            let r = record(json);
            let m = media(&MediaInput {
                envelope_id: "00000000000000000000000000000001",
                record: &r,
                image: b"x",
                content_type: "image/png",
                file_name: "image.png",
                sender,
                local_id_system: DEFAULT_LOCAL_ID_SYSTEM,
            });
            walk(&m, "Media");
        }
    }
}
