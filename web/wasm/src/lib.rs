//! sealcam-web: the patient page's WebAssembly module. `sealcam-bridge`'s
//! pure functions (built with `default-features = false`) as plain
//! `extern "C"` exports, with no wasm-bindgen glue: `web/page/sealcam.js`
//! is the hand-written loader.
//!
//! # How bytes cross
//!
//! The module owns every buffer. JavaScript asks for one of `len` bytes
//! ([`sealcam_alloc`], or [`sealcam_alloc_image`] for a photo, which
//! leaves room to build the envelope in place), gets back a **handle** (a
//! small number, never 0), asks where its bytes are ([`sealcam_ptr`],
//! [`sealcam_len`]) and writes them into the module's memory there. An
//! entry point takes handles, **consumes** them (each input buffer is
//! wiped and freed, whatever the outcome) and returns the handle of a new
//! result buffer. [`sealcam_code`] gives the result's code: 0 for success
//! (the buffer holds the result), otherwise the pinned error code of
//! docs/BRIDGE.md (the buffer holds the error JSON `{"code", "name",
//! "message"}`). JavaScript copies the result out and calls
//! [`sealcam_free`], which wipes it.
//!
//! Handle 0 from an entry point means the module could not allocate the
//! result; an unknown handle given to an entry point is `invalid_argument`.
//! Times (`now_unix`) are `u64` (a `BigInt` in JavaScript): the module
//! reads no clock (in a browser `SystemTime::now` traps).
//!
//! There is no block of unchecked code: Rust never dereferences a pointer that
//! JavaScript gave it. The addresses handed out are of buffers the module
//! keeps alive until they are freed ([`sealcam_ptr`] exposes their
//! provenance), and JavaScript writes to and reads from them between
//! calls, as any host writes to linear memory. The one `unsafe_code` lint
//! this crate allows is for `#[no_mangle]` on the exports.
//!
//! # Panics
//!
//! Every entry point runs inside `catch_unwind` (docs/BRIDGE.md). In a
//! browser a panic aborts instead (WebAssembly cannot unwind): the call
//! traps with a `RuntimeError`, which the loader reports as `internal`
//! and after which the module must be loaded again.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::panic::{catch_unwind, AssertUnwindSafe};

use sealcam_bridge::{BridgeError, ErrorCode};
use zeroize::Zeroizing;

/// The most recipients a link names: the room [`sealcam_alloc_image`]
/// leaves for the envelope's stanzas.
const MAX_RECIPIENTS: usize = sealcam_core::keys::MAX_LINK_RECIPIENTS;

/// The largest buffer JavaScript may ask for: the sanitizer's limit
/// (256 MiB), plus room for the envelope.
const MAX_BUFFER: usize = 256 << 20;

/// One buffer the module owns, and the code of the call that made it.
struct Slot {
    bytes: Zeroizing<Vec<u8>>,
    code: u32,
}

/// Every live buffer, by handle.
#[derive(Default)]
struct Buffers {
    next: u32,
    slots: BTreeMap<u32, Slot>,
}

thread_local! {
    static BUFFERS: RefCell<Buffers> = RefCell::new(Buffers::default());
}

/// Keeps `bytes` as a new buffer; its handle (never 0).
fn keep(bytes: Vec<u8>, code: u32) -> u32 {
    BUFFERS.with_borrow_mut(|b| {
        // Handles are never reused while live: skip 0 and any in use.
        loop {
            b.next = b.next.wrapping_add(1);
            if b.next != 0 && !b.slots.contains_key(&b.next) {
                break;
            }
        }
        let handle = b.next;
        b.slots.insert(
            handle,
            Slot {
                bytes: Zeroizing::new(bytes),
                code,
            },
        );
        handle
    })
}

/// Takes a buffer out (the caller owns it, wiped when dropped).
fn take(handle: u32) -> Option<Zeroizing<Vec<u8>>> {
    BUFFERS.with_borrow_mut(|b| b.slots.remove(&handle).map(|s| s.bytes))
}

/// Runs `f` on a buffer's slot.
fn with_slot<T>(handle: u32, f: impl FnOnce(&mut Slot) -> T) -> Option<T> {
    BUFFERS.with_borrow_mut(|b| b.slots.get_mut(&handle).map(f))
}

/// A zeroed buffer of `len` bytes with room for `capacity`, or `None`
/// when too large or out of memory.
fn zeroed(len: usize, capacity: usize) -> Option<Vec<u8>> {
    if len > MAX_BUFFER || capacity > MAX_BUFFER + (MAX_BUFFER >> 4) {
        return None;
    }
    let mut v = Vec::new();
    v.try_reserve_exact(capacity.max(len)).ok()?;
    v.resize(len, 0);
    Some(v)
}

/// A result buffer for `r`: the bytes with code 0, or the error's JSON
/// with its code.
fn result(r: Result<Vec<u8>, BridgeError>) -> u32 {
    match r {
        Ok(bytes) => keep(bytes, 0),
        Err(e) => keep(e.to_json().into_bytes(), e.code_number()),
    }
}

/// Runs an entry point: panics become `internal` (docs/BRIDGE.md).
fn entry(f: impl FnOnce() -> Result<Vec<u8>, BridgeError>) -> u32 {
    result(catch_unwind(AssertUnwindSafe(f)).unwrap_or_else(|_| Err(BridgeError::panicked())))
}

/// The bytes of an input handle, consumed.
fn input(handle: u32, what: &str) -> Result<Zeroizing<Vec<u8>>, BridgeError> {
    take(handle).ok_or_else(|| {
        BridgeError::new(
            ErrorCode::InvalidArgument,
            format!("{what}: no such buffer (a bug in the page)"),
        )
    })
}

/// A text input (UTF-8), consumed.
fn text(handle: u32, what: &str) -> Result<Zeroizing<String>, BridgeError> {
    let bytes = input(handle, what)?;
    match std::str::from_utf8(&bytes) {
        Ok(s) => Ok(Zeroizing::new(s.to_owned())),
        Err(_) => Err(BridgeError::new(
            ErrorCode::InvalidArgument,
            format!("{what} is not UTF-8 text"),
        )),
    }
}

/// What [`sealcam_seal_for_link`] returns on success (JSON).
#[derive(serde::Serialize)]
struct SealJson<'a> {
    /// The envelope id, 32 hex digits.
    id: &'a str,
    /// The handle of the buffer holding the envelope (free it too).
    envelope: u32,
    /// The sanitize report (docs/BRIDGE.md).
    report: serde_json::Value,
}

/// The exports. `#[no_mangle]` is the one `unsafe_code` lint allowed: it
/// names each function in the module's export table (all start with
/// `sealcam_`, so they cannot clash with another symbol).
#[allow(unsafe_code)]
mod exports {
    use super::*;

    /// A zeroed buffer of `len` bytes; its handle, or 0 when too large
    /// (over 256 MiB) or out of memory.
    #[no_mangle]
    pub extern "C" fn sealcam_alloc(len: u32) -> u32 {
        let len = len as usize;
        zeroed(len, len).map_or(0, |v| keep(v, 0))
    }

    /// A zeroed buffer of `len` bytes for a photo, with room to build the
    /// envelope in place (no second copy of the photo is made).
    #[no_mangle]
    pub extern "C" fn sealcam_alloc_image(len: u32) -> u32 {
        let len = len as usize;
        let room = sealcam_core::envelope::owned_capacity(len, MAX_RECIPIENTS);
        zeroed(len, room).map_or(0, |v| keep(v, 0))
    }

    /// Where a buffer's bytes are in the module's memory, or 0 for an
    /// unknown handle (or on a 64-bit host, where addresses do not fit).
    /// Valid until the next call into the module (which may grow memory)
    /// and only while the buffer lives.
    #[no_mangle]
    pub extern "C" fn sealcam_ptr(handle: u32) -> u32 {
        with_slot(handle, |s| {
            u32::try_from(s.bytes.as_mut_ptr().expose_provenance()).unwrap_or(0)
        })
        .unwrap_or(0)
    }

    /// A buffer's length, 0 for an unknown handle.
    #[no_mangle]
    pub extern "C" fn sealcam_len(handle: u32) -> u32 {
        with_slot(handle, |s| u32::try_from(s.bytes.len()).unwrap_or(0)).unwrap_or(0)
    }

    /// A result's code: 0 for success, else the error code
    /// (docs/BRIDGE.md); 3 (`internal`) for an unknown handle.
    #[no_mangle]
    pub extern "C" fn sealcam_code(handle: u32) -> u32 {
        with_slot(handle, |s| s.code).unwrap_or(ErrorCode::Internal.as_u32())
    }

    /// Wipes and frees a buffer (an unknown handle is ignored).
    #[no_mangle]
    pub extern "C" fn sealcam_free(handle: u32) {
        drop(take(handle));
    }

    /// The library version (`"0.1.0"`), UTF-8.
    #[no_mangle]
    pub extern "C" fn sealcam_version() -> u32 {
        entry(|| Ok(sealcam_bridge::version().into_bytes()))
    }

    /// `validate_nhs_number(text)`: the ten digits, UTF-8.
    #[no_mangle]
    pub extern "C" fn sealcam_validate_nhs_number(text_h: u32) -> u32 {
        entry(|| {
            let t = text(text_h, "the NHS number")?;
            sealcam_bridge::validate_nhs_number(&t).map(String::into_bytes)
        })
    }

    /// `check_draft(draft_json, now_unix)`: an empty result when valid.
    #[no_mangle]
    pub extern "C" fn sealcam_check_draft(draft_h: u32, now_unix: u64) -> u32 {
        entry(|| {
            let d = text(draft_h, "the draft")?;
            sealcam_bridge::check_draft(&d, now_unix).map(|()| Vec::new())
        })
    }

    /// `verify_directory(directory, org_key, org_id, now_unix)`: the
    /// directory JSON.
    #[no_mangle]
    pub extern "C" fn sealcam_verify_directory(
        directory_h: u32,
        org_key_h: u32,
        org_id_h: u32,
        now_unix: u64,
    ) -> u32 {
        entry(|| {
            let dir = input(directory_h, "the directory")?;
            let key = text(org_key_h, "the organisation key")?;
            let id = text(org_id_h, "the organisation fingerprint")?;
            sealcam_bridge::verify_directory(&dir, &key, &id, now_unix).map(String::into_bytes)
        })
    }

    /// `inspect(envelope)`: the routing header JSON.
    #[no_mangle]
    pub extern "C" fn sealcam_inspect(envelope_h: u32) -> u32 {
        entry(|| {
            let env = input(envelope_h, "the envelope")?;
            sealcam_bridge::inspect(&env).map(String::into_bytes)
        })
    }

    /// `seal_for_link(image, draft_json, capability, directory, org_key,
    /// org_id, now_unix)`: `{"id", "envelope": <handle>, "report": {…}}`;
    /// the envelope's bytes are in the buffer `envelope` names (free it
    /// too). The photo's buffer is consumed and wiped.
    #[no_mangle]
    pub extern "C" fn sealcam_seal_for_link(
        image_h: u32,
        draft_h: u32,
        capability_h: u32,
        directory_h: u32,
        org_key_h: u32,
        org_id_h: u32,
        now_unix: u64,
    ) -> u32 {
        entry(|| {
            // Every input is taken first, so each is freed whatever fails.
            let image = input(image_h, "the photo");
            let draft = text(draft_h, "the draft");
            let cap = input(capability_h, "the link capability");
            let dir = input(directory_h, "the directory");
            let key = text(org_key_h, "the organisation key");
            let id = text(org_id_h, "the organisation fingerprint");
            let mut image = image?;
            let sealed = sealcam_bridge::seal_for_link(
                std::mem::take(&mut *image),
                &draft?,
                &cap?,
                &dir?,
                &key?,
                &id?,
                now_unix,
            )?;
            let report: serde_json::Value =
                serde_json::from_str(&sealed.report_json).map_err(|_| internal())?;
            let envelope = keep(sealed.envelope, 0);
            let json = serde_json::to_vec(&SealJson {
                id: &sealed.id,
                envelope,
                report,
            });
            json.map_err(|_| {
                sealcam_free(envelope);
                internal()
            })
        })
    }
}

pub use exports::*;

/// A result that cannot fail failed.
fn internal() -> BridgeError {
    BridgeError::new(
        ErrorCode::Internal,
        "internal error: a result could not be written",
    )
}

/// Host-side helpers for tests: write into and read out of buffers
/// without addresses (on a 64-bit host they do not fit in a `u32`).
#[doc(hidden)]
pub mod host {
    use super::*;

    /// A new buffer holding `bytes` (as JavaScript would fill one).
    pub fn put(bytes: &[u8]) -> u32 {
        let h = sealcam_alloc(u32::try_from(bytes.len()).unwrap_or(u32::MAX));
        with_slot(h, |s| s.bytes.copy_from_slice(bytes));
        h
    }

    /// A copy of a buffer's bytes.
    pub fn get(handle: u32) -> Option<Vec<u8>> {
        with_slot(handle, |s| s.bytes.to_vec())
    }

    /// How many buffers are live (to check nothing leaks).
    pub fn live() -> usize {
        BUFFERS.with_borrow(|b| b.slots.len())
    }
}
