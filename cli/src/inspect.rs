//! `sealcam inspect IN [--json]`: the plaintext routing header, without
//! any key. Nothing shown is authenticated.

use crate::io;
use anyhow::{Context, Result};
use sealcam_core::envelope;
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct InspectArgs {
    /// The envelope, or `-` for stdin.
    input: PathBuf,
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
    /// Refuse envelopes larger than this many bytes.
    #[arg(long, value_name = "BYTES", default_value_t = crate::open::MAX_ENVELOPE_BYTES)]
    max_size: usize,
}

pub fn run(args: InspectArgs) -> Result<()> {
    let bytes = io::read_input(&args.input, args.max_size)?;
    let h = envelope::inspect(&bytes)
        .with_context(|| format!("cannot read {}", args.input.display()))?;
    let created = crate::rfc3339(h.created_at);
    let recipients: Vec<String> = h.recipients.iter().map(ToString::to_string).collect();
    let sender = h.sender.map(|d| d.to_string());
    if args.json {
        let v = serde_json::json!({
            "id": h.id.to_string(),
            "version": envelope::VERSION,
            "created_at": created,
            "created_at_unix": h.created_at,
            "envelope_bytes": h.envelope_len,
            "plaintext_bytes": h.plaintext_len,
            "recipients": recipients,
            "sender_device": sender,
            "signed": sender.is_some(),
        });
        let text = serde_json::to_string_pretty(&v).context("cannot format JSON")?;
        io::print_stdout(&format!("{text}\n"))
    } else {
        use std::fmt::Write as _;
        let mut out = String::new();
        // Writing to a String cannot fail.
        let _ = writeln!(out, "envelope:       {}", h.id);
        let _ = writeln!(out, "version:        {}", envelope::VERSION);
        let _ = writeln!(out, "created:        {created}");
        let _ = writeln!(out, "size:           {} bytes", h.envelope_len);
        let _ = writeln!(out, "plaintext size: {} bytes", h.plaintext_len);
        let _ = writeln!(out, "recipients:     {}", recipients.len());
        for r in &recipients {
            let _ = writeln!(out, "  {r}");
        }
        let sender = sender.as_deref().unwrap_or("unsigned");
        let _ = writeln!(out, "sender device:  {sender}");
        let _ = writeln!(
            out,
            "(not authenticated: `sealcam open` checks all of this)"
        );
        io::print_stdout(&out)
    }
}
