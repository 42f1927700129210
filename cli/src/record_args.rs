//! The record flags of `sealcam seal`, and building the clinical record
//! from them (or from `--record FILE.json`).
//!
//! Values are taken as plain strings and parsed here, so that an invalid
//! value is reported by the record module's value-free errors: clap's own
//! errors would quote the value, and it may be patient data.

use crate::io;
use anyhow::{Context, Result};
use sealcam_core::capture::RecordDraft;
use sealcam_core::record::{
    parse_date_of_birth, BodySite, ClinicalRecord, Clinician, Consent, ConsentGiver, ConsentMethod,
    ConsentScopes, DeviceIdHex, Laterality, LocalPatientId, NhsNumber, Patient, PatientName,
    RegistrationBody, SnomedCode, Source,
};
use sha2::{Digest, Sha256};
use std::path::PathBuf;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

#[derive(clap::Args, Default)]
#[command(next_help_heading = "Clinical record")]
pub struct RecordArgs {
    /// The whole record as JSON (docs/RECORD.md) instead of the flags below.
    /// Its image fields are filled in from the sanitized image.
    #[arg(long, value_name = "FILE.json", conflicts_with_all = [
        "nhs", "local_id", "name", "dob", "site", "snomed", "laterality", "caption",
        "consent", "consent_method", "consent_by", "consent_notes", "consent_at",
        "clinician_name", "registration_body", "registration_number", "captured_at", "source",
    ])]
    pub record: Option<PathBuf>,
    /// Patient's NHS number (10 digits, spaces or hyphens allowed).
    #[arg(long, value_name = "NUMBER")]
    pub nhs: Option<String>,
    /// Patient's local identifier (hospital number).
    #[arg(long, value_name = "ID")]
    pub local_id: Option<String>,
    /// Patient's name.
    #[arg(long)]
    pub name: Option<String>,
    /// Patient's date of birth, YYYY-MM-DD.
    #[arg(long, value_name = "YYYY-MM-DD")]
    pub dob: Option<String>,
    /// Body site, as text (required).
    #[arg(long, value_name = "TEXT")]
    pub site: Option<String>,
    /// SNOMED CT concept id of the body site.
    #[arg(long, value_name = "CODE")]
    pub snomed: Option<String>,
    /// left, right, bilateral or midline.
    #[arg(long)]
    pub laterality: Option<String>,
    /// Caption.
    #[arg(long, value_name = "TEXT")]
    pub caption: Option<String>,
    /// Consent scopes, comma-separated: care, teaching, publication (required).
    #[arg(long, value_name = "SCOPES")]
    pub consent: Option<String>,
    /// verbal, written or signature-image (required).
    #[arg(long, value_name = "METHOD")]
    pub consent_method: Option<String>,
    /// patient, parent, guardian or best-interests (required).
    #[arg(long, value_name = "WHO")]
    pub consent_by: Option<String>,
    /// Consent notes (required with best-interests).
    #[arg(long, value_name = "TEXT")]
    pub consent_notes: Option<String>,
    /// When consent was obtained, RFC 3339 (default: the capture time).
    #[arg(long, value_name = "TIME")]
    pub consent_at: Option<String>,
    /// Clinician's name (default: from the device certificate).
    #[arg(long, value_name = "NAME")]
    pub clinician_name: Option<String>,
    /// Clinician's regulator: GMC, NMC, HCPC, GDC, GPhC or other (default: from the certificate).
    #[arg(long, value_name = "BODY")]
    pub registration_body: Option<String>,
    /// Clinician's registration number (default: from the certificate).
    #[arg(long, value_name = "N")]
    pub registration_number: Option<String>,
    /// When the image was taken, RFC 3339 (default: now).
    #[arg(long, value_name = "TIME")]
    pub captured_at: Option<String>,
    /// device-capture, patient-link or desktop-import (default: desktop-import).
    #[arg(long)]
    pub source: Option<String>,
}

/// The record to seal, before the pipeline fills in the image: a draft,
/// and for `--record FILE.json` the image hash that file claims.
pub struct PreparedRecord {
    /// The record without its image fields.
    pub draft: RecordDraft,
    /// The `image.sha256` of `--record FILE.json`, unless 64 zeros.
    claimed_sha256: Option<[u8; 32]>,
}

impl PreparedRecord {
    /// The SHA-256 of the image as given, when a claim has to be checked
    /// against it (computed before the image's buffer is consumed).
    pub fn input_hash(&self, input: &[u8]) -> Option<[u8; 32]> {
        self.claimed_sha256.map(|_| Sha256::digest(input).into())
    }

    /// Checks `--record FILE.json`'s `image.sha256` against the image as
    /// given (`input_hash`) and as sanitized: a hash of neither suggests
    /// the record belongs to another image, and is refused.
    pub fn check_claim(&self, input_hash: Option<[u8; 32]>, sanitized: &[u8; 32]) -> Result<()> {
        match self.claimed_sha256 {
            Some(claimed) if claimed != *sanitized && Some(claimed) != input_hash => anyhow::bail!(
                "the record's image.sha256 is not the SHA-256 of this image (as given or sanitized): \
                 the record may belong to another image; check it, or set image.sha256 to 64 zeros \
                 to have it filled in"
            ),
            _ => Ok(()),
        }
    }
}

impl RecordArgs {
    /// The record for the pipeline. `signer`: the signing device's
    /// certificate clinician and id, when signing.
    pub fn prepare(&self, signer: Option<(&Clinician, DeviceIdHex)>) -> Result<PreparedRecord> {
        match &self.record {
            Some(path) => from_file(path, signer),
            None => Ok(PreparedRecord {
                draft: self.draft_from_flags(signer.map(|(c, _)| c))?,
                claimed_sha256: None,
            }),
        }
    }

    fn draft_from_flags(&self, signer: Option<&Clinician>) -> Result<RecordDraft> {
        let missing: Vec<&str> = [
            (self.site.is_none(), "--site"),
            (self.consent.is_none(), "--consent"),
            (self.consent_method.is_none(), "--consent-method"),
            (self.consent_by.is_none(), "--consent-by"),
            (
                self.nhs.is_none() && self.local_id.is_none(),
                "--nhs or --local-id",
            ),
        ]
        .into_iter()
        .filter_map(|(m, f)| m.then_some(f))
        .collect();
        if !missing.is_empty() {
            anyhow::bail!(
                "the clinical record needs {}; or give the whole record with --record FILE.json",
                missing.join(", ")
            );
        }
        let patient = Patient::new(
            opt(&self.nhs, NhsNumber::parse, "--nhs")?,
            opt(&self.local_id, LocalPatientId::parse, "--local-id")?,
            opt(&self.name, PatientName::parse, "--name")?,
            opt(
                &self.dob,
                |s| parse_date_of_birth(s, now_utc_date()),
                "--dob",
            )?,
        )
        .context("patient")?;
        let body_site = BodySite::new(
            self.site.as_deref().unwrap_or_default(),
            opt(&self.snomed, SnomedCode::parse, "--snomed")?,
            opt(&self.laterality, Laterality::parse, "--laterality")?,
            self.caption.as_deref(),
        )
        .context("body site (--site, --snomed, --laterality, --caption)")?;
        let captured_at = match &self.captured_at {
            Some(s) => parse_time(s, "--captured-at")?,
            None => now()?,
        };
        let clinician = self.clinician(signer)?;
        let consent = Consent::new(
            req(&self.consent, ConsentScopes::parse, "--consent")?,
            req(
                &self.consent_method,
                ConsentMethod::parse,
                "--consent-method",
            )?,
            req(&self.consent_by, ConsentGiver::parse, "--consent-by")?,
            clinician.clone(),
            match &self.consent_at {
                Some(s) => parse_time(s, "--consent-at")?,
                None => captured_at,
            },
            self.consent_notes.as_deref(),
            None,
        )
        .context("consent")?;
        let source = opt(&self.source, Source::parse, "--source")?.unwrap_or(Source::DesktopImport);
        Ok(RecordDraft {
            patient,
            body_site,
            captured_at: Some(captured_at),
            clinician,
            consent,
            source,
            dimensions: None,
            link_capability: None,
        })
    }

    fn clinician(&self, signer: Option<&Clinician>) -> Result<Clinician> {
        let given = [
            &self.clinician_name,
            &self.registration_body,
            &self.registration_number,
        ];
        if given.iter().all(|g| g.is_none()) {
            return match signer {
                Some(c) => Ok(c.clone()),
                None => anyhow::bail!(
                    "an unsigned envelope needs the clinician: give --clinician-name, \
                     --registration-body and --registration-number"
                ),
            };
        }
        let from_cert = signer;
        let name = match (&self.clinician_name, from_cert) {
            (Some(n), _) => n.clone(),
            (None, Some(c)) => c.name.clone(),
            (None, None) => anyhow::bail!("give --clinician-name as well"),
        };
        let body = match (&self.registration_body, from_cert) {
            (Some(b), _) => {
                RegistrationBody::parse(b).context("--registration-body is not usable")?
            }
            (None, Some(c)) => c.registration_body.clone(),
            (None, None) => anyhow::bail!("give --registration-body as well"),
        };
        let number = match (&self.registration_number, from_cert) {
            (Some(n), _) => n.clone(),
            (None, Some(c)) => c.registration_number.clone(),
            (None, None) => anyhow::bail!("give --registration-number as well"),
        };
        Clinician::new(&name, body, &number).context("the clinician's details are not usable")
    }
}

/// Reads `--record FILE.json`. Its `image.sha256` must be the SHA-256 of
/// either the image as given or its sanitized form, or 64 zeros (a
/// placeholder): [`PreparedRecord::check_claim`] checks it once the image
/// is sanitized. The media type and hash are then set from the sanitized
/// image; width and height are kept. A `device_id` must match the signing
/// device, and is filled in when absent.
fn from_file(
    path: &std::path::Path,
    signer: Option<(&Clinician, DeviceIdHex)>,
) -> Result<PreparedRecord> {
    let json = zeroize::Zeroizing::new(io::read_small(
        path,
        sealcam_core::record::MAX_JSON_BYTES,
        "record",
    )?);
    let given = ClinicalRecord::from_json(&json)
        .with_context(|| format!("the record {} is not valid", path.display()))?;
    if let (Some(d), Some((_, signer))) = (given.device_id(), signer) {
        if *d != signer {
            anyhow::bail!(
                "the record's device_id is not the signing device's id ({signer}); \
                 correct it or leave it out"
            );
        }
    }
    let claimed = *given.image().sha256();
    Ok(PreparedRecord {
        draft: RecordDraft::from_record(&given),
        claimed_sha256: (claimed != [0; 32]).then_some(claimed),
    })
}

fn opt<T>(
    v: &Option<String>,
    parse: impl FnOnce(&str) -> Result<T, sealcam_core::record::RecordError>,
    flag: &str,
) -> Result<Option<T>> {
    v.as_deref()
        .map(|s| parse(s).with_context(|| format!("{flag} is not usable")))
        .transpose()
}

fn req<T>(
    v: &Option<String>,
    parse: impl FnOnce(&str) -> Result<T, sealcam_core::record::RecordError>,
    flag: &str,
) -> Result<T> {
    opt(v, parse, flag)?.ok_or_else(|| anyhow::anyhow!("{flag} is required"))
}

fn parse_time(s: &str, flag: &str) -> Result<OffsetDateTime> {
    OffsetDateTime::parse(s.trim(), &Rfc3339).map_err(|_| {
        anyhow::anyhow!("{flag} must be an RFC 3339 time such as 2026-11-21T10:15:30Z")
    })
}

fn now() -> Result<OffsetDateTime> {
    OffsetDateTime::now_utc()
        .replace_nanosecond(0)
        .context("cannot read the clock")
}

/// Today's date in UTC, for the date-of-birth check (the core reads no
/// clock).
fn now_utc_date() -> time::Date {
    OffsetDateTime::now_utc().date()
}
