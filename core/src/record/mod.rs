//! The clinical record sealed with each image (never in plaintext).
//! See DESIGN.md ("The clinical record").

mod clinician;

pub use clinician::{Clinician, ClinicianError, RegistrationBody};
