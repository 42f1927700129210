//! Input and output for the subcommands: `-` means stdin/stdout; files are
//! written atomically (temporary file in the same directory, fsync, rename,
//! fsync of the directory) with mode 0600, so a failure never leaves a
//! partial or world-readable output behind.

use anyhow::{Context, Result};
use sealcam_platform::fsio;
use std::io::{Read, Write};
use std::path::Path;

/// Reads all of `path` (`-` for stdin), refusing more than `limit` bytes.
pub fn read_input(path: &Path, limit: usize) -> Result<Vec<u8>> {
    read_input_with_capacity(path, limit, |len| len)
}

/// [`read_input`] into a buffer of capacity `capacity(file length)` when
/// the input is a regular file (so that `sealcam seal` can build the
/// envelope in the same buffer without it ever being reallocated).
pub fn read_input_with_capacity(
    path: &Path,
    limit: usize,
    capacity: impl Fn(usize) -> usize,
) -> Result<Vec<u8>> {
    let too_large = |name: &str| {
        anyhow::anyhow!(
            "{name} is larger than the limit of {limit} bytes; send a smaller image or raise --max-size"
        )
    };
    let mut buf = Vec::new();
    let name = if path == Path::new("-") {
        std::io::stdin()
            .lock()
            .take(limit as u64 + 1)
            .read_to_end(&mut buf)
            .context("cannot read standard input")?;
        "standard input".to_string()
    } else {
        let name = path.display().to_string();
        let file = std::fs::File::open(path).with_context(|| format!("cannot open {name}"))?;
        let meta = file
            .metadata()
            .with_context(|| format!("cannot read {name}"))?;
        if meta.is_file() {
            // A regular file: refuse it before reading if it is too large,
            // else read it in one pass into an exactly sized buffer.
            if meta.len() > limit as u64 {
                return Err(too_large(&name));
            }
            let len = meta.len() as usize;
            buf.reserve_exact(capacity(len).max(len));
            (&file)
                .read_to_end(&mut buf)
                .with_context(|| format!("cannot read {name}"))?;
        } else {
            // A pipe or device: its length is unknown, so bound the read.
            file.take(limit as u64 + 1)
                .read_to_end(&mut buf)
                .with_context(|| format!("cannot read {name}"))?;
        }
        name
    };
    if buf.len() > limit {
        return Err(too_large(&name));
    }
    Ok(buf)
}

/// Writes `bytes` to `path` atomically, or to stdout for `-`.
///
/// A regular file (new or existing) is replaced atomically. A symbolic
/// link is followed, so the file it points to is replaced, not the link.
/// A device or FIFO (`/dev/null`, `/dev/stdout`, a named pipe) is written
/// directly: renaming a file over it would replace the device node.
pub fn write_output(path: &Path, bytes: &[u8]) -> Result<()> {
    if path == Path::new("-") {
        let mut out = std::io::stdout().lock();
        out.write_all(bytes)
            .context("cannot write to standard output")?;
        return out.flush().context("cannot write to standard output");
    }
    let target = match std::fs::metadata(path) {
        Ok(m) if m.is_dir() => {
            anyhow::bail!(
                "{} is a directory; give a file name for the output",
                path.display()
            )
        }
        Ok(m) if !m.is_file() => {
            let mut f = std::fs::OpenOptions::new()
                .write(true)
                .open(path)
                .with_context(|| format!("cannot open {}", path.display()))?;
            return f
                .write_all(bytes)
                .with_context(|| format!("cannot write {}", path.display()));
        }
        // An existing regular file, possibly behind symlinks: replace the file itself.
        Ok(_) => std::fs::canonicalize(path)
            .with_context(|| format!("cannot resolve {}", path.display()))?,
        Err(_) => path.to_path_buf(),
    };
    write_atomically(&target, path, bytes, Replace::Yes)
}

/// Prints `text` on standard output. A reader that has gone away (`sealcam
/// inspect … | head`) is not an error: the output was not wanted any more,
/// and `println!` would panic there.
pub fn print_stdout(text: &str) -> Result<()> {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            Err(anyhow::Error::new(e).context("cannot write to standard output"))
        }
        _ => Ok(()),
    }
}

/// Whether [`write_atomically`] may replace an existing file.
#[derive(PartialEq)]
enum Replace {
    Yes,
    No,
}

/// The one durable write (`sealcam_platform::fsio`): a temporary file
/// beside `target`, fsync, rename into place (never replacing an existing
/// file for `Replace::No`, even one created meanwhile), fsync the
/// directory. `shown` is the name used in messages.
fn write_atomically(target: &Path, shown: &Path, bytes: &[u8], replace: Replace) -> Result<()> {
    let written = match replace {
        Replace::Yes => fsio::write_atomic(target, bytes),
        Replace::No => fsio::write_atomic_new(target, bytes),
    };
    written.map_err(|e| {
        if replace == Replace::No && e.kind() == std::io::ErrorKind::AlreadyExists {
            anyhow::anyhow!(
                "{} already exists; choose another file name, or give --force to replace it",
                shown.display()
            )
        } else {
            anyhow::Error::new(e).context(format!("cannot write {}", shown.display()))
        }
    })
}

/// Writes `bytes` to a new file at `path` (mode 0600, atomically), refusing
/// to replace an existing file unless `overwrite`; `-` writes to stdout.
pub fn write_new_output(path: &Path, bytes: &[u8], overwrite: bool) -> Result<()> {
    if overwrite || path == Path::new("-") {
        return write_output(path, bytes);
    }
    if std::fs::symlink_metadata(path).is_ok() {
        anyhow::bail!(
            "{} already exists; choose another file name, or give --force to replace it",
            path.display()
        );
    }
    write_atomically(path, path, bytes, Replace::No)
}

/// Reads a small file (key, certificate, record, recipient list) of at
/// most `limit` bytes; `-` reads stdin. `what` names it in errors.
pub fn read_small(path: &Path, limit: usize, what: &str) -> Result<Vec<u8>> {
    let mut buf = Vec::new();
    let name = path.display();
    if path == Path::new("-") {
        std::io::stdin()
            .lock()
            .take(limit as u64 + 1)
            .read_to_end(&mut buf)
            .with_context(|| format!("cannot read the {what} from standard input"))?;
    } else {
        std::fs::File::open(path)
            .with_context(|| format!("cannot open the {what} {name}"))?
            .take(limit as u64 + 1)
            .read_to_end(&mut buf)
            .with_context(|| format!("cannot read the {what} {name}"))?;
    }
    if buf.len() > limit {
        anyhow::bail!("the {what} {name} is larger than {limit} bytes: is it the right file?");
    }
    Ok(buf)
}

/// [`read_small`] for UTF-8 text.
pub fn read_text(path: &Path, limit: usize, what: &str) -> Result<String> {
    String::from_utf8(read_small(path, limit, what)?)
        .map_err(|_| anyhow::anyhow!("the {what} {} is not UTF-8 text", path.display()))
}
