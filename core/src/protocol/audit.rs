//! The store's audit log as a hash chain, checkable by anyone holding an
//! export (the store's own `audit verify`, `sealcam admin audit verify`).
//!
//! ```text
//! hash_n = SHA-256("sealcam/v1/audit\0" ‖ hash_{n-1} ‖ encode(entry_n)),  hash_0 = 32 zero bytes
//! encode(e) = seq (u64 BE) ‖ at (u64 BE) ‖ for action, actor, subject, detail: len (u32 BE) ‖ UTF-8
//! ```
//!
//! An export is JSON lines, one [`AuditEntry`] each, hashes in lower-case
//! hex. The chain shows an edited, deleted or reordered row to anyone who
//! did not also recompute every later hash; an administrator who keeps the
//! last hash they verified (an anchor) also catches a rewritten history.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::hex::{decode as parse_hex, encode as hex};

/// Domain-separation prefix of every link in the chain.
pub const AUDIT_CONTEXT: &[u8] = b"sealcam/v1/audit\0";

/// One entry of the log, as stored and exported.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditEntry {
    /// Position in the chain, from 1.
    pub seq: u64,
    /// Unix seconds.
    pub at: u64,
    /// What happened (`envelope.upload`, `device.approve`, …).
    pub action: String,
    /// Who: `admin:<id>`, `device:<id>`, `staff:<id>`, `link:<id>`, `anonymous`, `store`.
    pub actor: String,
    /// What it was done to (an id), or empty.
    pub subject: String,
    /// Extra facts as compact JSON, `{}` if none.
    pub detail: String,
    /// The previous entry's hash.
    #[serde(with = "hex32")]
    pub prev_hash: [u8; 32],
    /// This entry's hash.
    #[serde(with = "hex32")]
    pub hash: [u8; 32],
}

mod hex32 {
    use super::{hex, parse_hex};
    pub fn serialize<S: serde::Serializer>(b: &[u8; 32], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex(b))
    }
    pub fn deserialize<'de, D: serde::Deserializer<'de>>(d: D) -> Result<[u8; 32], D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        parse_hex::<32>(&s)
            .ok_or_else(|| serde::de::Error::custom("expected 64 lower-case hex digits"))
    }
    use serde::Deserialize;
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
        Vec::with_capacity(32 + action.len() + actor.len() + subject.len() + detail.len());
    out.extend_from_slice(&seq.to_be_bytes());
    out.extend_from_slice(&at.to_be_bytes());
    for field in [action, actor, subject, detail] {
        // Fields are short strings built by the store, far below 4 GiB.
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
    /// The entry following `prev` (seq and hash of the previous entry;
    /// `(0, [0; 32])` for the first). After `u64::MAX` the sequence number
    /// stays there, and [`ChainVerifier`] refuses the repeat.
    pub fn next(
        prev: (u64, [u8; 32]),
        at: u64,
        action: &str,
        actor: &str,
        subject: &str,
        detail: &str,
    ) -> Self {
        let seq = prev.0.saturating_add(1);
        let hash = chain_hash(&prev.1, &encode(seq, at, action, actor, subject, detail));
        AuditEntry {
            seq,
            at,
            action: action.to_owned(),
            actor: actor.to_owned(),
            subject: subject.to_owned(),
            detail: detail.to_owned(),
            prev_hash: prev.1,
            hash,
        }
    }

    /// Recomputes this entry's hash from its content and `prev`.
    pub fn expected_hash(&self, prev: &[u8; 32]) -> [u8; 32] {
        chain_hash(
            prev,
            &encode(
                self.seq,
                self.at,
                &self.action,
                &self.actor,
                &self.subject,
                &self.detail,
            ),
        )
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

/// Walks entries in order and checks every link.
#[derive(Debug, Default, Clone)]
pub struct ChainVerifier {
    last_seq: u64,
    last_hash: [u8; 32],
}

impl ChainVerifier {
    /// A verifier expecting the first entry.
    pub fn new() -> Self {
        Self::default()
    }

    /// A verifier continuing after an entry already verified (an anchor).
    pub fn after(seq: u64, hash: [u8; 32]) -> Self {
        ChainVerifier {
            last_seq: seq,
            last_hash: hash,
        }
    }

    /// Checks the next entry.
    pub fn push(&mut self, e: &AuditEntry) -> Result<(), ChainBreak> {
        let brk = |reason| ChainBreak { seq: e.seq, reason };
        let Some(expected) = self.last_seq.checked_add(1) else {
            return Err(brk("the chain is at the largest sequence number"));
        };
        if e.seq != expected {
            return Err(ChainBreak {
                seq: expected,
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

    /// The last entry checked: `(seq, hash)`; `(0, zeros)` before any.
    pub fn head(&self) -> (u64, [u8; 32]) {
        (self.last_seq, self.last_hash)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chain(n: u64) -> Vec<AuditEntry> {
        let mut out: Vec<AuditEntry> = Vec::new();
        for i in 0..n {
            let prev = out.last().map_or((0, [0; 32]), |e| (e.seq, e.hash));
            out.push(AuditEntry::next(
                prev,
                1000 + i,
                "envelope.upload",
                "device:ab",
                &format!("{i:032x}"),
                "{}",
            ));
        }
        out
    }

    fn verify(entries: &[AuditEntry]) -> Result<(u64, [u8; 32]), ChainBreak> {
        let mut v = ChainVerifier::new();
        entries.iter().try_for_each(|e| v.push(e))?;
        Ok(v.head())
    }

    #[test]
    fn intact_chain_verifies_and_round_trips_as_json() {
        let c = chain(5);
        assert_eq!(verify(&c).expect("intact").0, 5);
        for e in &c {
            let line = serde_json::to_string(e).expect("json");
            assert_eq!(&serde_json::from_str::<AuditEntry>(&line).expect("back"), e);
        }
    }

    #[test]
    fn edits_deletions_and_reorders_are_named() {
        let mut c = chain(5);
        c[2].subject.push('x');
        assert_eq!(verify(&c).expect_err("edited").seq, 3);
        let mut c = chain(5);
        c.remove(1);
        assert_eq!(verify(&c).expect_err("deleted").seq, 2);
        let mut c = chain(5);
        c.swap(1, 2);
        assert_eq!(verify(&c).expect_err("reordered").seq, 2);
    }

    #[test]
    fn an_anchor_catches_a_rewritten_history() {
        let c = chain(5);
        let anchor = (c[2].seq, c[2].hash);
        // The store rewrites everything, consistently, from entry 2 on.
        let mut forged = chain(2);
        for i in 2..6 {
            let prev = forged.last().map(|e| (e.seq, e.hash)).expect("prev");
            forged.push(AuditEntry::next(
                prev,
                5000 + i,
                "envelope.delete",
                "store",
                "",
                "{}",
            ));
        }
        assert!(verify(&forged).is_ok(), "a full rewrite is self-consistent");
        let mut v = ChainVerifier::after(anchor.0, anchor.1);
        assert!(
            v.push(&forged[3]).is_err(),
            "but it does not extend the anchor"
        );
        let mut v = ChainVerifier::after(anchor.0, anchor.1);
        assert!(v.push(&c[3]).is_ok());
    }

    #[test]
    fn encoding_is_spelled_out() {
        let e = encode(1, 2, "a", "bc", "", "{}");
        let mut want = vec![0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 2];
        want.extend_from_slice(&[
            0, 0, 0, 1, b'a', 0, 0, 0, 2, b'b', b'c', 0, 0, 0, 0, 0, 0, 0, 2, b'{', b'}',
        ]);
        assert_eq!(e, want);
    }

    #[test]
    fn the_largest_sequence_number_does_not_panic() {
        // `next` and `push` used to add 1 without a check here.
        let last = AuditEntry::next((u64::MAX - 1, [7; 32]), 1, "a", "store", "", "{}");
        assert_eq!(last.seq, u64::MAX);
        let mut v = ChainVerifier::after(u64::MAX - 1, [7; 32]);
        v.push(&last).expect("the last entry there can be");
        let stuck = AuditEntry::next((last.seq, last.hash), 2, "a", "store", "", "{}");
        assert_eq!(stuck.seq, u64::MAX);
        assert!(v.push(&stuck).is_err());
    }
}
