//! The audit log: an append-only, hash-chained list of every action.
//!
//! `hash_n = SHA-256("sealcam/v1/audit\0" ‖ hash_{n-1} ‖ encode(entry_n))`,
//! with `hash_0` = 32 zero bytes, where `encode` is
//! `seq (u64 BE) ‖ at (u64 BE) ‖` then `action`, `actor`, `subject`,
//! `detail`, each as `len (u32 BE) ‖ UTF-8 bytes`.
//!
//! Entries name keys, envelope ids, link ids and enrolment ids, never
//! patient data, tokens, codes or IP addresses.

use serde::Serialize;
use sha2::{Digest, Sha256};

/// Domain-separation prefix of the chain hash.
pub const AUDIT_CONTEXT: &[u8] = b"sealcam/v1/audit\0";

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
    /// A request failed authentication.
    AuthFailure,
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

/// A stored audit entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuditEntry {
    /// Position in the chain, from 1.
    pub seq: u64,
    /// Unix seconds.
    pub at: u64,
    /// [`Action::as_str`].
    pub action: String,
    /// Who.
    pub actor: String,
    /// What.
    pub subject: String,
    /// Extra facts (JSON text).
    pub detail: String,
    /// The previous entry's hash (hex in JSON).
    #[serde(serialize_with = "as_hex")]
    pub prev_hash: [u8; 32],
    /// This entry's hash (hex in JSON).
    #[serde(serialize_with = "as_hex")]
    pub hash: [u8; 32],
}

fn as_hex<S: serde::Serializer>(b: &[u8; 32], s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&hex::encode(b))
}

/// The canonical encoding of an entry's content (everything but hashes).
pub fn encode(
    seq: u64,
    at: u64,
    action: &str,
    actor: &str,
    subject: &str,
    detail: &str,
) -> Vec<u8> {
    let mut out =
        Vec::with_capacity(16 + 16 + action.len() + actor.len() + subject.len() + detail.len());
    out.extend_from_slice(&seq.to_be_bytes());
    out.extend_from_slice(&at.to_be_bytes());
    for field in [action, actor, subject, detail] {
        // Fields are short strings built by the store; u32 cannot overflow.
        let len = u32::try_from(field.len()).unwrap_or(u32::MAX);
        out.extend_from_slice(&len.to_be_bytes());
        out.extend_from_slice(field.as_bytes());
    }
    out
}

/// `SHA-256(AUDIT_CONTEXT ‖ prev ‖ encoded)`.
pub fn chain_hash(prev: &[u8; 32], encoded: &[u8]) -> [u8; 32] {
    Sha256::new()
        .chain_update(AUDIT_CONTEXT)
        .chain_update(prev)
        .chain_update(encoded)
        .finalize()
        .into()
}

impl AuditEntry {
    /// Builds the entry following `prev` (seq and hash of the previous entry;
    /// `(0, [0; 32])` for the first).
    pub fn next(prev: (u64, [u8; 32]), at: u64, event: &AuditEvent) -> Self {
        let seq = prev.0 + 1;
        let action = event.action.as_str();
        let enc = encode(seq, at, action, &event.actor, &event.subject, &event.detail);
        AuditEntry {
            seq,
            at,
            action: action.to_string(),
            actor: event.actor.clone(),
            subject: event.subject.clone(),
            detail: event.detail.clone(),
            prev_hash: prev.1,
            hash: chain_hash(&prev.1, &enc),
        }
    }

    /// Recomputes this entry's hash from its content and `prev`.
    pub fn expected_hash(&self, prev: &[u8; 32]) -> [u8; 32] {
        let enc = encode(
            self.seq,
            self.at,
            &self.action,
            &self.actor,
            &self.subject,
            &self.detail,
        );
        chain_hash(prev, &enc)
    }
}

/// Where the chain breaks.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("audit chain broken at seq {seq}: {reason}")]
pub struct ChainBreak {
    /// The first entry that does not follow from the ones before it.
    pub seq: u64,
    /// What is wrong with it.
    pub reason: &'static str,
}

/// Walks entries in stored order and checks the chain.
#[derive(Debug, Default)]
pub struct ChainVerifier {
    last_seq: u64,
    last_hash: [u8; 32],
}

impl ChainVerifier {
    /// A verifier expecting the first entry.
    pub fn new() -> Self {
        Self::default()
    }

    /// Checks the next entry.
    pub fn push(&mut self, e: &AuditEntry) -> Result<(), ChainBreak> {
        let brk = |reason| ChainBreak { seq: e.seq, reason };
        if e.seq != self.last_seq + 1 {
            // A missing row (or one moved elsewhere) shows as a gap.
            return Err(ChainBreak {
                seq: self.last_seq + 1,
                reason: "entry missing or out of order",
            });
        }
        if e.prev_hash != self.last_hash {
            return Err(brk("previous-hash link does not match the entry before it"));
        }
        if e.expected_hash(&self.last_hash) != e.hash {
            return Err(brk("entry content does not match its hash (edited)"));
        }
        self.last_seq = e.seq;
        self.last_hash = e.hash;
        Ok(())
    }

    /// Entries checked so far.
    pub fn count(&self) -> u64 {
        self.last_seq
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chain(n: u64) -> Vec<AuditEntry> {
        let mut out: Vec<AuditEntry> = Vec::new();
        for i in 0..n {
            let prev = out.last().map_or((0, [0; 32]), |e| (e.seq, e.hash));
            let ev = AuditEvent::new(Action::EnvelopeUpload, "device:x", format!("env{i}"));
            out.push(AuditEntry::next(prev, 1000 + i, &ev));
        }
        out
    }

    fn verify(entries: &[AuditEntry]) -> Result<u64, ChainBreak> {
        let mut v = ChainVerifier::new();
        for e in entries {
            v.push(e)?;
        }
        Ok(v.count())
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
