//! `sealcam`: the command-line tool. See `sealcam --help`.
#![forbid(unsafe_code)]

mod io;
mod strip;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "sealcam",
    version,
    about = "Secure clinical photography: strip, seal and open clinical images"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Remove identifying metadata from an image, losslessly.
    Strip(strip::StripArgs),
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Strip(args) => strip::run(args),
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("sealcam: error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
