//! Upload receipts: the store's signed statement that it holds an envelope.
//!
//! ```json
//! {"envelope_id": "<32 hex>", "blake3": "<64 hex>", "size": 5117591, "received_at": 1795256130,
//!  "store_key": "sealcamstore1…", "signature": "<86 base64url>"}
//! ```
//!
//! The signature is Ed25519 by the store key over
//!
//! ```text
//! "sealcam/v1/receipt\0" ‖ envelope id (16) ‖ BLAKE3 of the envelope (32)
//!   ‖ size (u64 BE) ‖ received_at (u64 BE) ‖ store key id (16)
//! ```
//!
//! A device deletes an envelope from its outbox only after
//! [`Receipt::confirms`] says the receipt is from the store it enrolled with
//! and names the exact bytes it sent.

use serde::{Deserialize, Serialize};

use super::text::{b64, parse_b64};
use crate::envelope::EnvelopeId;
use crate::hex::{decode as parse_hex, encode as hex};
use crate::keys::{StorePublicKey, StoreSigningKey};

/// Domain-separation prefix of the signed message.
pub const RECEIPT_CONTEXT: &[u8] = b"sealcam/v1/receipt\0";
/// Where the id sits in an envelope (docs/FORMAT.md §3: magic (8) ‖
/// version (1) ‖ flags (1) ‖ id (16)).
const ENVELOPE_ID_AT: usize = 10;
/// Largest receipt JSON accepted.
const MAX_RECEIPT_JSON: usize = 1024;

/// Why a receipt was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReceiptError {
    /// The JSON is not a receipt.
    #[error("the receipt is malformed: {0}")]
    Malformed(&'static str),
    /// It was signed by another store than the one expected.
    #[error("the receipt is from a different store than the one this device enrolled with")]
    WrongStore,
    /// The signature does not verify.
    #[error("the receipt's signature does not verify")]
    BadSignature,
    /// It names another envelope, other bytes or another size.
    #[error("the receipt does not match the envelope sent")]
    Mismatch,
}

/// A store's signed receipt for one envelope.
#[derive(Clone, PartialEq, Eq)]
pub struct Receipt {
    /// The envelope's id.
    pub envelope_id: EnvelopeId,
    /// BLAKE3 of the envelope bytes as stored (the request content
    /// digest of its upload, [`super::request::content_digest`]).
    pub blake3: [u8; 32],
    /// The envelope's length in bytes.
    pub size: u64,
    /// Unix seconds when the store first accepted it.
    pub received_at: u64,
    /// The store's public key.
    pub store_key: StorePublicKey,
    signature: [u8; 64],
}

impl std::fmt::Debug for Receipt {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Receipt")
            .field("envelope_id", &self.envelope_id)
            .field("size", &self.size)
            .field("received_at", &self.received_at)
            .finish_non_exhaustive()
    }
}

fn message(
    envelope_id: &EnvelopeId,
    blake3: &[u8; 32],
    size: u64,
    received_at: u64,
    store: &StorePublicKey,
) -> Vec<u8> {
    let mut m = RECEIPT_CONTEXT.to_vec();
    m.extend_from_slice(&envelope_id.0);
    m.extend_from_slice(blake3);
    m.extend_from_slice(&size.to_be_bytes());
    m.extend_from_slice(&received_at.to_be_bytes());
    m.extend_from_slice(&store.id().0);
    m
}

/// The JSON shape.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Wire {
    envelope_id: String,
    blake3: String,
    size: u64,
    received_at: u64,
    store_key: StorePublicKey,
    signature: String,
}

impl Receipt {
    /// The store signs a receipt for an envelope it has made durable.
    pub fn sign(
        key: &StoreSigningKey,
        envelope_id: EnvelopeId,
        blake3: [u8; 32],
        size: u64,
        received_at: u64,
    ) -> Self {
        let store_key = key.public();
        let signature = key.sign(&message(
            &envelope_id,
            &blake3,
            size,
            received_at,
            &store_key,
        ));
        Receipt {
            envelope_id,
            blake3,
            size,
            received_at,
            store_key,
            signature,
        }
    }

    /// Checks the signature, and that it is `store`'s.
    pub fn verify(&self, store: &StorePublicKey) -> Result<(), ReceiptError> {
        if &self.store_key != store {
            return Err(ReceiptError::WrongStore);
        }
        let m = message(
            &self.envelope_id,
            &self.blake3,
            self.size,
            self.received_at,
            &self.store_key,
        );
        store
            .verify(&m, &self.signature)
            .map_err(|_| ReceiptError::BadSignature)
    }

    /// Checks the receipt is `store`'s and names exactly `envelope`: what a
    /// device must check before deleting its copy.
    pub fn confirms(&self, store: &StorePublicKey, envelope: &[u8]) -> Result<(), ReceiptError> {
        let id = envelope
            .get(ENVELOPE_ID_AT..ENVELOPE_ID_AT + 16)
            .and_then(|b| <[u8; 16]>::try_from(b).ok())
            .ok_or(ReceiptError::Mismatch)?;
        let digest = super::request::content_digest(envelope);
        self.confirms_digest(store, &EnvelopeId(id), &digest, envelope.len() as u64)
    }

    /// [`Receipt::confirms`] for a sender that hashed the envelope as it
    /// streamed it: the id, BLAKE3 and size it sent.
    pub fn confirms_digest(
        &self,
        store: &StorePublicKey,
        id: &EnvelopeId,
        blake3: &[u8; 32],
        size: u64,
    ) -> Result<(), ReceiptError> {
        self.verify(store)?;
        if *id != self.envelope_id || *blake3 != self.blake3 || size != self.size {
            return Err(ReceiptError::Mismatch);
        }
        Ok(())
    }

    /// The receipt as one line of JSON.
    pub fn to_json(&self) -> String {
        // Serialising a struct of strings and integers cannot fail.
        serde_json::to_string(&self.to_wire()).expect("a receipt serialises")
    }

    fn to_wire(&self) -> Wire {
        Wire {
            envelope_id: self.envelope_id.to_string(),
            blake3: hex(&self.blake3),
            size: self.size,
            received_at: self.received_at,
            store_key: self.store_key,
            signature: b64(&self.signature),
        }
    }

    /// Parses a receipt (strictly; the signature is not checked here: call
    /// [`Receipt::verify`] or [`Receipt::confirms`]).
    pub fn from_json(json: &str) -> Result<Self, ReceiptError> {
        if json.len() > MAX_RECEIPT_JSON {
            return Err(ReceiptError::Malformed("it is too long"));
        }
        let wire: Wire =
            serde_json::from_str(json).map_err(|_| ReceiptError::Malformed("not receipt JSON"))?;
        Self::from_wire(wire)
    }

    fn from_wire(wire: Wire) -> Result<Self, ReceiptError> {
        let envelope_id =
            parse_hex::<16>(&wire.envelope_id)
                .map(EnvelopeId)
                .ok_or(ReceiptError::Malformed(
                    "envelope_id must be 32 lower-case hex digits",
                ))?;
        let blake3 = parse_hex::<32>(&wire.blake3).ok_or(ReceiptError::Malformed(
            "blake3 must be 64 lower-case hex digits",
        ))?;
        let signature = parse_b64::<64>(&wire.signature).ok_or(ReceiptError::Malformed(
            "signature must be 86 base64url characters",
        ))?;
        Ok(Receipt {
            envelope_id,
            blake3,
            size: wire.size,
            received_at: wire.received_at,
            store_key: wire.store_key,
            signature,
        })
    }
}

/// A receipt inside other JSON (the store's inbox entries): the same
/// object [`Receipt::to_json`] writes, parsed as strictly.
impl Serialize for Receipt {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.to_wire().serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for Receipt {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Receipt::from_wire(Wire::deserialize(deserializer)?).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fake_envelope(id: [u8; 16]) -> Vec<u8> {
        let mut e = vec![0x89, b'S', b'C', b'M', 0x0d, 0x0a, 0x1a, 0x0a, 0, 1];
        e.extend_from_slice(&id);
        e.extend_from_slice(&[0x55; 100]);
        e
    }

    #[test]
    fn sign_json_verify_confirm() {
        let store = StoreSigningKey::from_secret_bytes([4; 32]);
        let envelope = fake_envelope([0x42; 16]);
        let digest = crate::protocol::request::content_digest(&envelope);
        let r = Receipt::sign(
            &store,
            EnvelopeId([0x42; 16]),
            digest,
            envelope.len() as u64,
            1_795_256_130,
        );
        let json = r.to_json();
        let back = Receipt::from_json(&json).expect("parses");
        assert_eq!(back, r);
        assert_eq!(back.to_json(), json, "stable bytes");
        back.verify(&store.public()).expect("verifies");
        back.confirms(&store.public(), &envelope).expect("confirms");

        let other_store = StoreSigningKey::from_secret_bytes([5; 32]).public();
        assert_eq!(back.verify(&other_store), Err(ReceiptError::WrongStore));
        let mut changed = envelope.clone();
        changed[50] ^= 1;
        assert_eq!(
            back.confirms(&store.public(), &changed),
            Err(ReceiptError::Mismatch)
        );
        assert_eq!(
            back.confirms(&store.public(), &fake_envelope([0x43; 16])),
            Err(ReceiptError::Mismatch)
        );
        let mut longer = envelope.clone();
        longer.push(0);
        assert_eq!(
            back.confirms(&store.public(), &longer),
            Err(ReceiptError::Mismatch)
        );
    }

    #[test]
    fn every_field_is_signed() {
        let store = StoreSigningKey::from_secret_bytes([4; 32]);
        let r = Receipt::sign(&store, EnvelopeId([1; 16]), [2; 32], 3, 4);
        let mut variants = vec![r.clone(), r.clone(), r.clone(), r.clone()];
        variants[0].envelope_id.0[0] ^= 1;
        variants[1].blake3[0] ^= 1;
        variants[2].size += 1;
        variants[3].received_at += 1;
        for v in variants {
            assert_eq!(v.verify(&store.public()), Err(ReceiptError::BadSignature));
        }
    }

    #[test]
    fn malformed_json_refused() {
        let store = StoreSigningKey::from_secret_bytes([4; 32]);
        let json = Receipt::sign(&store, EnvelopeId([1; 16]), [2; 32], 3, 4).to_json();
        for bad in [
            String::new(),
            json.replacen('}', ",\"extra\":1}", 1),
            json.replacen("0101", "01", 1),
            json.replacen("\"signature\":\"", "\"signature\":\"=", 1),
            "x".repeat(2000),
        ] {
            assert!(Receipt::from_json(&bad).is_err());
        }
    }
}
