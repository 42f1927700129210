//! The clinical record sealed with each image (never in plaintext).
//! See DESIGN.md ("The clinical record") and docs/RECORD.md (the JSON format).
//!
//! Build the parts with their constructors and parse functions, each of
//! which checks its own rules (parse, don't validate), then put them together
//! with [`ClinicalRecord::new`], which checks the rules that span parts:
//!
//! - [`Patient`]: [`NhsNumber`] (Modulus 11) and/or [`LocalPatientId`],
//!   optional [`PatientName`] and date of birth ([`parse_date_of_birth`]);
//! - [`BodySite`]: text, optional [`SnomedCode`] (Verhoeff), [`Laterality`],
//!   caption;
//! - [`Capture`]: time, [`Clinician`], optional [`DeviceIdHex`];
//! - [`Consent`]: [`ConsentScopes`], [`ConsentMethod`], [`ConsentGiver`],
//!   who obtained it and when, notes;
//! - [`Source`] and [`ImageInfo`] ([`MediaType`], dimensions, SHA-256).
//!
//! Privacy: this is patient data. No `Debug` output, error message or panic
//! in this module contains a patient's identifiers, name, date of birth,
//! body site, caption or consent notes. Errors say which field broke which
//! rule, never what the value was.

mod body_site;
mod capture;
mod clinical;
mod clinician;
mod consent;
mod error;
mod image;
mod nhs;
mod patient;
mod snomed;
mod wire;

pub use body_site::{BodySite, Laterality};
pub use capture::{Capture, DeviceIdHex, Source};
pub use clinical::{ClinicalRecord, MAX_JSON_BYTES};
pub use clinician::{Clinician, ClinicianError, RegistrationBody};
pub use consent::{Consent, ConsentGiver, ConsentMethod, ConsentScope, ConsentScopes};
pub use error::RecordError;
pub use image::{ImageInfo, MediaType};
pub use nhs::NhsNumber;
pub use patient::{
    check_date_of_birth, parse_date_of_birth, LocalPatientId, Patient, PatientName,
    EARLIEST_DATE_OF_BIRTH,
};
pub use snomed::SnomedCode;
pub(crate) use wire::{format_rfc3339, parse_strict_object};
