//! `sealcam strip IN -o OUT [--report]`: lossless metadata removal.

use crate::io;
use anyhow::{Context, Result};
use sealcam_core::sanitize::{self, Options};
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct StripArgs {
    /// Image to strip (JPEG, PNG, WebP or HEIC/HEIF), or `-` for stdin.
    input: PathBuf,
    /// Where to write the stripped image, or `-` for stdout. Written
    /// atomically with mode 0600; never created when stripping fails.
    #[arg(short, long)]
    output: PathBuf,
    /// Print a JSON report of what was removed (categories and byte counts,
    /// never values) to stdout, or to stderr when the image goes to stdout.
    #[arg(long)]
    report: bool,
    /// Refuse inputs larger than this many bytes.
    #[arg(long, value_name = "BYTES", default_value_t = sanitize::DEFAULT_MAX_INPUT_BYTES)]
    max_size: usize,
}

pub fn run(args: StripArgs) -> Result<()> {
    let input = io::read_input(&args.input, args.max_size)?;
    let options = Options {
        max_input_bytes: args.max_size,
    };
    let clean = sanitize::sanitize_with(&input, &options)
        .with_context(|| format!("cannot strip {}", args.input.display()))?;
    io::write_output(&args.output, &clean.bytes)?;
    if args.report {
        let json =
            serde_json::to_string_pretty(&clean.report).context("cannot format the report")?;
        if args.output == std::path::Path::new("-") {
            eprintln!("{json}");
        } else {
            println!("{json}");
        }
    }
    Ok(())
}
