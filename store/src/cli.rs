//! The `sealcam-store` command line: serve, or check/export the audit log
//! offline. [`main`] is the whole binary (`src/main.rs`), and the copy the
//! end-to-end tests run (`tests/src/bin/e2e-sealcam-store.rs`).

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use crate::config::{Config, DEFAULT_DATA};
use crate::offline::{self, OfflineError};
use crate::server;
use anyhow::Context;
use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "sealcam-store", version, about = "sealcam clinical store")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the store over TLS.
    Serve {
        /// Data directory (catalog, blobs, TLS, store key).
        #[arg(long)]
        data: Option<PathBuf>,
        /// Listen address (port 0: any free port).
        #[arg(long)]
        listen: Option<std::net::SocketAddr>,
        /// TOML configuration file.
        #[arg(long)]
        config: Option<PathBuf>,
        /// Operator certificate chain (PEM); with --tls-key.
        #[arg(long, requires = "tls_key")]
        tls_cert: Option<PathBuf>,
        /// Operator private key (PEM); with --tls-cert.
        #[arg(long, requires = "tls_cert")]
        tls_key: Option<PathBuf>,
        /// The URL clients use (its host is added to a generated certificate).
        #[arg(long)]
        public_url: Option<String>,
    },
    /// The audit log.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
}

#[derive(Subcommand)]
enum AuditCommand {
    /// Check the hash chain; exit 1 naming the first bad entry.
    Verify {
        /// Data directory.
        #[arg(long, default_value = DEFAULT_DATA)]
        data: PathBuf,
    },
    /// Print every entry as a JSON line.
    Export {
        /// Data directory.
        #[arg(long, default_value = DEFAULT_DATA)]
        data: PathBuf,
    },
}

/// Logs go to stderr: text by default, JSON lines with
/// `SEALCAM_LOG_FORMAT=json`; filter from `SEALCAM_LOG` (default `info`).
/// They carry method, route template, status, ids and sizes: never
/// headers, tokens, codes, keys or envelope bytes.
fn init_logging() {
    // Protocol crates stay quiet by default: their debug output is not
    // for operators and could show headers.
    let filter = tracing_subscriber::EnvFilter::try_from_env("SEALCAM_LOG").unwrap_or_else(|_| {
        tracing_subscriber::EnvFilter::new("info,h2=warn,hyper=warn,rustls=warn")
    });
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(false);
    if std::env::var("SEALCAM_LOG_FORMAT").is_ok_and(|v| v == "json") {
        builder.json().init();
    } else {
        builder.init();
    }
}

/// Runs the `sealcam-store` command line on this process's arguments and
/// returns its exit code.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("sealcam-store: error: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Serve {
            data,
            listen,
            config,
            tls_cert,
            tls_key,
            public_url,
        } => {
            init_logging();
            let mut cfg = match &config {
                Some(p) => Config::load(p)?,
                None => Config::default(),
            };
            if let Some(d) = data {
                cfg.data = d;
            }
            if let Some(l) = listen {
                cfg.listen = l;
            }
            if tls_cert.is_some() {
                cfg.tls.cert = tls_cert;
                cfg.tls.key = tls_key;
            }
            if public_url.is_some() {
                cfg.public_url = public_url;
            }
            // Blocking threads (file writes, catalog calls) are bounded so
            // that memory does not grow with the number of concurrent
            // uploads: each thread has its own stack and malloc cache.
            let rt = tokio::runtime::Builder::new_multi_thread()
                .max_blocking_threads(server::MAX_BLOCKING_THREADS)
                .enable_all()
                .build()
                .context("starting the async runtime")?;
            rt.block_on(async {
                let shutdown =
                    server::shutdown_signal().context("installing the signal handlers")?;
                server::serve(
                    cfg,
                    |banner| {
                        let mut out = std::io::stdout().lock();
                        for line in banner.lines() {
                            let _ = writeln!(out, "{line}");
                        }
                        let _ = out.flush();
                    },
                    shutdown,
                )
                .await
                .map_err(anyhow::Error::from)
            })?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Audit { command } => match command {
            AuditCommand::Verify { data } => match offline::verify_audit(&data) {
                Ok(n) => {
                    println!("audit chain intact: {n} entries");
                    Ok(ExitCode::SUCCESS)
                }
                Err(OfflineError::Broken(b)) => {
                    println!("audit chain BROKEN at seq {}: {}", b.seq, b.reason);
                    Ok(ExitCode::from(1))
                }
                Err(e) => Err(e.into()),
            },
            AuditCommand::Export { data } => {
                let stdout = std::io::stdout();
                let mut out = std::io::BufWriter::new(stdout.lock());
                offline::export_audit(&data, &mut out)?;
                out.flush()?;
                Ok(ExitCode::SUCCESS)
            }
        },
    }
}
