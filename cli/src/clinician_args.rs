//! The clinician flags shared by `certify` and `admin enrol create`.

use anyhow::{Context, Result};
use sealcam_core::record::{Clinician, RegistrationBody};

#[derive(clap::Args)]
pub struct ClinicianArgs {
    /// The clinician's name, as registered.
    #[arg(long)]
    name: String,
    /// The clinician's regulator: GMC, NMC, HCPC, GDC, GPhC or another body's abbreviation.
    #[arg(long, value_name = "BODY")]
    registration_body: String,
    /// The clinician's registration number with that regulator.
    #[arg(long, value_name = "N")]
    registration_number: String,
}

impl ClinicianArgs {
    /// The clinician, checked (errors name the flag, never the value).
    pub fn clinician(&self) -> Result<Clinician> {
        let body = RegistrationBody::parse(&self.registration_body)
            .context("--registration-body is not usable")?;
        Clinician::new(&self.name, body, &self.registration_number)
            .context("the clinician's details are not usable")
    }
}
