//! Envelopes as staff see them: `GET /v1/inbox`. (Uploads answer a
//! [`crate::protocol::Receipt`]; fetches the envelope's bytes.)

use serde::{Deserialize, Serialize};

use super::fields::opt_b64_vec;
use super::ids::LinkId;
use super::words::InboxSource;
use crate::envelope::EnvelopeId;
use crate::protocol::Receipt;

/// One entry of `GET /v1/inbox`: an envelope with a stanza for the
/// caller's recipient key, not yet filed for it, bytes still held.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InboxEntry {
    /// The opaque context of the link it came through, if it has one.
    #[serde(default, with = "opt_b64_vec", skip_serializing_if = "Option::is_none")]
    pub context: Option<Vec<u8>>,
    /// The creation time its header claims (Unix seconds).
    pub created_at: u64,
    /// Its id.
    pub envelope_id: EnvelopeId,
    /// The link it came through, when [`InboxSource::Link`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link_id: Option<LinkId>,
    /// The store's signed receipt for it (the one the uploader got): what
    /// a records workstation judges the sender's certificate at, with the
    /// store's signature on the time of receipt.
    pub receipt: Receipt,
    /// When the store accepted it (Unix seconds).
    pub received_at: u64,
    /// Its length in bytes.
    pub size: u64,
    /// How it arrived.
    pub source: InboxSource,
}
