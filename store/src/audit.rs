//! The audit log: an append-only, hash-chained list of every action.
//!
//! `hash_n = SHA-256("sealcam/v1/audit\0" ‖ hash_{n-1} ‖ encode(entry_n))`,
//! with `hash_0` = 32 zero bytes, where `encode` is
//! `seq (u64 BE) ‖ at (u64 BE) ‖` then `action`, `actor`, `subject`,
//! `detail`, each as `len (u32 BE) ‖ UTF-8 bytes`.
//!
//! Entries name keys, envelope ids, link ids and enrolment ids, never
//! patient data, tokens, codes or IP addresses.

/// The chain itself (encoding, hashes, verification) is shared with the
/// admin CLI, which verifies exports offline: core::protocol::audit.
pub use sealcam_core::protocol::audit::{
    chain_hash, encode, AuditEntry, ChainBreak, ChainVerifier, AUDIT_CONTEXT,
};

/// What happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// The organisation key was registered with the bootstrap code.
    Bootstrap,
    /// The admin created an enrolment code.
    EnrolmentCreate,
    /// The admin revoked an enrolment code.
    EnrolmentRevoke,
    /// A device enrolled its key with a code (pending).
    DeviceEnrol,
    /// The admin uploaded a device certificate (active).
    DeviceApprove,
    /// The admin revoked a device.
    DeviceRevoke,
    /// The admin registered a staff member.
    StaffAdd,
    /// The admin removed a staff member.
    StaffRemove,
    /// The admin published a recipient directory.
    DirectoryPublish,
    /// An envelope was accepted.
    EnvelopeUpload,
    /// A staff member fetched an envelope.
    EnvelopeFetch,
    /// A staff member marked an envelope filed.
    EnvelopeFiled,
    /// Retention deleted an envelope's ciphertext.
    EnvelopeDelete,
    /// A patient link was created.
    LinkCreate,
    /// An envelope was uploaded through a patient link.
    LinkUse,
    /// A patient link was revoked.
    LinkRevoke,
    /// A request failed authentication (or, with a count, it and its
    /// repeats in an interval: store/src/auth_audit.rs).
    AuthFailure,
    /// Failed authentications beyond the interval's cap, counted.
    AuthFailureSuppressed,
}

impl Action {
    /// The stable name written in the log.
    pub const fn as_str(self) -> &'static str {
        match self {
            Action::Bootstrap => "bootstrap",
            Action::EnrolmentCreate => "enrolment.create",
            Action::EnrolmentRevoke => "enrolment.revoke",
            Action::DeviceEnrol => "device.enrol",
            Action::DeviceApprove => "device.approve",
            Action::DeviceRevoke => "device.revoke",
            Action::StaffAdd => "staff.add",
            Action::StaffRemove => "staff.remove",
            Action::DirectoryPublish => "directory.publish",
            Action::EnvelopeUpload => "envelope.upload",
            Action::EnvelopeFetch => "envelope.fetch",
            Action::EnvelopeFiled => "envelope.filed",
            Action::EnvelopeDelete => "envelope.delete",
            Action::LinkCreate => "link.create",
            Action::LinkUse => "link.use",
            Action::LinkRevoke => "link.revoke",
            Action::AuthFailure => "auth.failure",
            Action::AuthFailureSuppressed => "auth.failure.suppressed",
        }
    }
}

/// An action about to be logged.
#[derive(Debug, Clone)]
pub struct AuditEvent {
    /// What happened.
    pub action: Action,
    /// Who did it: `admin:<org id>`, `device:<id>`, `staff:<id>`,
    /// `link:<link id>`, `anonymous`, `store`.
    pub actor: String,
    /// What it was done to (an id), or empty.
    pub subject: String,
    /// Extra facts as compact JSON (ids, sizes, states), `{}` if none.
    pub detail: String,
}

impl AuditEvent {
    /// An event with empty detail.
    pub fn new(action: Action, actor: impl Into<String>, subject: impl Into<String>) -> Self {
        AuditEvent {
            action,
            actor: actor.into(),
            subject: subject.into(),
            detail: "{}".into(),
        }
    }

    /// The same event with `detail` set from a JSON value.
    pub fn with_detail(mut self, detail: serde_json::Value) -> Self {
        self.detail = detail.to_string();
        self
    }
}

/// The entry recording `event`, following `prev` (seq and hash of the
/// previous entry; `(0, [0; 32])` for the first).
pub fn entry_for(prev: (u64, [u8; 32]), at: u64, event: &AuditEvent) -> AuditEntry {
    AuditEntry::next(
        prev,
        at,
        event.action.as_str(),
        &event.actor,
        &event.subject,
        &event.detail,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chain(n: u64) -> Vec<AuditEntry> {
        let mut out: Vec<AuditEntry> = Vec::new();
        for i in 0..n {
            let prev = out.last().map_or((0, [0; 32]), |e| (e.seq, e.hash));
            let ev = AuditEvent::new(Action::EnvelopeUpload, "device:x", format!("env{i}"));
            out.push(entry_for(prev, 1000 + i, &ev));
        }
        out
    }

    fn verify(entries: &[AuditEntry]) -> Result<u64, ChainBreak> {
        let mut v = ChainVerifier::new();
        for e in entries {
            v.push(e)?;
        }
        Ok(v.head().0)
    }

    #[test]
    fn intact_chain_verifies() {
        assert_eq!(verify(&chain(5)), Ok(5));
    }

    #[test]
    fn edited_entry_is_named() {
        let mut c = chain(5);
        c[2].subject = "other".into();
        assert_eq!(verify(&c).map_err(|b| b.seq), Err(3));
    }

    #[test]
    fn deleted_entry_is_named() {
        let mut c = chain(5);
        c.remove(1);
        assert_eq!(verify(&c).map_err(|b| b.seq), Err(2));
    }

    #[test]
    fn reordered_entries_are_detected() {
        let mut c = chain(5);
        // Swap contents but keep seq numbers in order.
        let (a, b) = (c[1].clone(), c[2].clone());
        c[1] = AuditEntry { seq: 2, ..b };
        c[2] = AuditEntry { seq: 3, ..a };
        assert_eq!(verify(&c).map_err(|b| b.seq), Err(2));
    }
}
