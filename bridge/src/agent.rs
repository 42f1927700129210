//! [`Agent`]: the device agent behind one opaque handle (feature `agent`),
//! over `sealcam_relay::Relay`: enrolment, capture to the outbox, sync,
//! the background uploader, events by polling, patient links.

use std::path::Path;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, TryRecvError};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use sealcam_relay::{Backoff, DeviceState, EnrolmentPayload, Event, Relay, UploaderHandle};
use zeroize::Zeroizing;

use crate::json::{
    self, ClinicianJson, DeviceStateJson, ErrorJson, EventJson, LinkJson, LinkRequestJson,
    OutboxEntryJson, RefreshJson, StatusJson, SyncReportJson,
};
use crate::record::{parse_draft, time_at};
use crate::BridgeError;

/// The uploader's first retry wait, doubling up to [`RETRY_CAP`].
const RETRY_BASE: Duration = Duration::from_secs(2);
/// The uploader's longest retry wait.
const RETRY_CAP: Duration = Duration::from_secs(300);
/// How often an idle uploader looks for envelopes another process queued.
const IDLE_POLL: Duration = Duration::from_secs(60);

/// An enrolled device: the handle the phone bridges hold. `Send + Sync`:
/// share it between threads (an `Arc` in the bridge crate); every call
/// blocks, so make them off the UI thread.
pub struct Agent {
    relay: Arc<Relay>,
    events: Mutex<Receiver<Event>>,
    uploader: Mutex<Option<UploaderHandle>>,
}

impl std::fmt::Debug for Agent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Agent")
            .field("relay", &self.relay)
            .finish_non_exhaustive()
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // Plain data behind these locks, no invariant spanning a call: a
    // poisoned lock is still usable.
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn home(home_dir: &str) -> Result<&Path, BridgeError> {
    if home_dir.is_empty() {
        return Err(BridgeError::invalid(
            "home_dir is empty: give the app-private directory for the device's files",
        ));
    }
    Ok(Path::new(home_dir))
}

impl Agent {
    /// Enrols this device with the store named in `payload_text` (the
    /// enrolment QR code's text, `sealcam-enrol:v1;…`), keeping its files in
    /// `home_dir` (app-private, excluded from backups). The device is then
    /// pending until the administrator approves it; call
    /// [`Agent::refresh`].
    ///
    /// Errors: `bad_enrolment_payload`, `already_enrolled`, `network`,
    /// `org_mismatch`, `code_refused`, `store_refused`, `io`.
    pub fn enroll(home_dir: &str, payload_text: &str) -> Result<Agent, BridgeError> {
        let home = home(home_dir)?;
        let payload = EnrolmentPayload::parse(payload_text)?;
        Ok(Agent::wrap(Relay::enroll(home, &payload)?))
    }

    /// Opens the device enrolled in `home_dir` (no network).
    ///
    /// Errors: `not_enrolled`, `damaged_home`, `io`.
    pub fn open(home_dir: &str) -> Result<Agent, BridgeError> {
        Ok(Agent::wrap(Relay::open(home(home_dir)?)?))
    }

    fn wrap(relay: Relay) -> Agent {
        let (sender, receiver) = mpsc::channel();
        relay.subscribe(sender);
        Agent {
            relay: Arc::new(relay),
            events: Mutex::new(receiver),
            uploader: Mutex::new(None),
        }
    }

    /// Asks the store for this device's certificate (once approved) and the
    /// current recipient directory, checks both against the organisation
    /// key pinned at enrolment, and keeps them. Returns
    /// `{"state": "pending" | "active" | "revoked"}`.
    ///
    /// Errors: `network`, `untrusted`, `no_directory`, `store_refused`, `io`.
    pub fn refresh(&self) -> Result<String, BridgeError> {
        let state = match self.relay.refresh()? {
            DeviceState::Pending => DeviceStateJson::Pending,
            DeviceState::Active => DeviceStateJson::Active,
            DeviceState::Revoked => DeviceStateJson::Revoked,
        };
        json::to_string(&RefreshJson { state })
    }

    /// Checks a record draft as [`Agent::capture`] would read it now: with
    /// the certificate's clinician as the default. See
    /// [`crate::check_draft`].
    pub fn check_draft(&self, draft_json: &str) -> Result<(), BridgeError> {
        let clinician = self.relay.certificate().map(|c| c.clinician().clone());
        let now = time_at(sealcam_platform::clock::unix_now())?;
        parse_draft(draft_json, clinician.as_ref(), now).map(|_| ())
    }

    /// Captures a photo: strips it, completes the draft (its `clinician`
    /// defaults to the one in the device certificate), seals it to the
    /// recipient directory, signed by this device, and queues it durably in
    /// the outbox before returning its envelope id (32 hex digits). No
    /// network: the uploader, or [`Agent::sync`], sends it. `image` is
    /// consumed: stripped and sealed in its own buffer, and wiped whatever
    /// happens.
    ///
    /// Errors: `not_approved`, `revoked`, `certificate_expired`,
    /// `certificate_not_yet_valid`, `no_directory`, `untrusted`, the record
    /// codes, the image codes, `seal_failed`, `io`.
    pub fn capture(&self, image: Vec<u8>, draft_json: &str) -> Result<String, BridgeError> {
        let mut image = Zeroizing::new(image);
        // Not being able to seal is the first thing to tell the user.
        self.relay.check_ready()?;
        let clinician = self.relay.certificate().map(|c| c.clinician().clone());
        let now = time_at(sealcam_platform::clock::unix_now())?;
        let draft = parse_draft(draft_json, clinician.as_ref(), now)?;
        let id = self
            .relay
            .capture_owned(std::mem::take(&mut *image), &draft)?;
        Ok(id.to_string())
    }

    /// Sends what is queued, oldest first, now (blocking). Returns
    /// `{"uploaded", "rejected", "remaining"}`.
    ///
    /// Errors: `network` (everything stays queued), `bad_receipt`,
    /// `store_refused`, `io`.
    pub fn sync(&self) -> Result<String, BridgeError> {
        let r = self.relay.sync()?;
        json::to_string(&SyncReportJson {
            uploaded: r.uploaded as u64,
            rejected: r.rejected as u64,
            remaining: r.remaining as u64,
        })
    }

    /// The device and its outbox at a glance (no network); see
    /// docs/BRIDGE.md ("Status").
    pub fn status(&self) -> Result<String, BridgeError> {
        let s = self.relay.status()?;
        let entry = |e: &sealcam_relay::OutboxEntry| OutboxEntryJson {
            id: e.id.to_string(),
            size: e.size,
            queued_at: e.queued_at,
        };
        let clinician = self.relay.certificate().map(|c| {
            let c = c.clinician();
            ClinicianJson {
                name: c.name.clone(),
                registration_body: c.registration_body.to_string(),
                registration_number: c.registration_number.clone(),
            }
        });
        json::to_string(&StatusJson {
            device_id: s.device_id,
            approved: s.approved,
            revoked: s.revoked,
            certificate_valid: s.certificate_valid,
            directory_version: s.directory_version,
            clinician,
            queued: s.queued.iter().map(entry).collect(),
            rejected: s.rejected.iter().map(entry).collect(),
            last_error: s.last_error.map(|(code, message)| ErrorJson {
                code: code.as_u32(),
                name: code.name().to_owned(),
                message,
            }),
        })
    }

    /// Starts the background uploader (once; a second call does nothing): it
    /// sends after every capture, retries with backoff when the store
    /// cannot be reached, and looks for work every minute when idle.
    /// Progress arrives as events.
    pub fn start_uploader(&self) {
        let mut uploader = lock(&self.uploader);
        if uploader.is_none() {
            *uploader = Some(
                self.relay
                    .spawn_uploader(Backoff::new(RETRY_BASE, RETRY_CAP), IDLE_POLL),
            );
        }
    }

    /// Stops the background uploader after its current upload, and waits
    /// for it. Does nothing if it is not running.
    pub fn stop_uploader(&self) {
        let handle = lock(&self.uploader).take();
        if let Some(h) = handle {
            h.stop();
        }
    }

    /// The next event (`{"type": "queued" | "uploading" | "uploaded" |
    /// "rejected" | "retrying", …}`), waiting up to `timeout_ms`
    /// milliseconds (0: do not wait); `None` if there is none by then.
    /// Events queue up in memory until polled: poll from one thread.
    pub fn next_event(&self, timeout_ms: u64) -> Option<String> {
        let receiver = lock(&self.events);
        let event = if timeout_ms == 0 {
            match receiver.try_recv() {
                Ok(e) => e,
                Err(TryRecvError::Empty | TryRecvError::Disconnected) => return None,
            }
        } else {
            match receiver.recv_timeout(Duration::from_millis(timeout_ms)) {
                Ok(e) => e,
                Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => return None,
            }
        };
        json::to_string(&event_json(&event)).ok()
    }

    /// Creates a patient link on the store, this device as its creator.
    /// `request_json`: `{"expires_in_secs", "max_uploads", "max_bytes",
    /// "context"}`, each optional (`{}` for the store's defaults). Returns
    /// `{"link_id", "url", "expires_at", "max_uploads", "max_bytes"}`; the
    /// token is in `url` and nowhere else: show it once, do not log it.
    ///
    /// Errors: `invalid_json`, `invalid_argument` (`context` not base64url),
    /// `network`, `store_refused`.
    pub fn create_link(&self, request_json: &str) -> Result<String, BridgeError> {
        let request: LinkRequestJson = serde_json::from_str(request_json)
            .map_err(|e| BridgeError::json("the link request", &e))?;
        let context = request
            .context
            .as_deref()
            .map(|c| {
                sealcam_core::protocol::text::parse_b64_vec(c).ok_or_else(|| {
                    BridgeError::invalid("context must be base64url without padding")
                })
            })
            .transpose()?;
        let link = self.relay.create_link(
            request.expires_in_secs,
            request.max_uploads,
            request.max_bytes,
            context.as_deref(),
        )?;
        json::to_string(&LinkJson {
            link_id: link.link_id.clone(),
            url: link.url.clone(),
            expires_at: link.expires_at,
            max_uploads: link.max_uploads,
            max_bytes: link.max_bytes,
        })
    }

    /// Puts every envelope the store refused back in the queue (after the
    /// cause has been fixed). Returns how many.
    ///
    /// Errors: `io`.
    pub fn requeue_rejected(&self) -> Result<u64, BridgeError> {
        Ok(self.relay.requeue_rejected()? as u64)
    }
}

/// The JSON form of a relay event.
pub(crate) fn event_json(event: &Event) -> EventJson {
    match event {
        Event::Queued { id, size } => EventJson::Queued {
            id: id.to_string(),
            size: *size,
        },
        Event::Uploading { id } => EventJson::Uploading { id: id.to_string() },
        Event::Uploaded { id } => EventJson::Uploaded { id: id.to_string() },
        Event::Rejected { id, status } => EventJson::Rejected {
            id: id.to_string(),
            status: *status,
        },
        Event::Retrying { code, delay_ms } => EventJson::Retrying {
            code: code.as_u32(),
            name: code.name().to_owned(),
            delay_ms: *delay_ms,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sealcam_core::envelope::EnvelopeId;
    use sealcam_core::ErrorCode;

    #[test]
    fn the_handle_is_send_and_sync() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<Agent>();
    }

    #[test]
    fn events_as_json() {
        let id = EnvelopeId([0xab; 16]);
        let cases = [
            (
                Event::Queued { id, size: 7 },
                r#"{"type":"queued","id":"abababababababababababababababab","size":7}"#,
            ),
            (
                Event::Uploading { id },
                r#"{"type":"uploading","id":"abababababababababababababababab"}"#,
            ),
            (
                Event::Uploaded { id },
                r#"{"type":"uploaded","id":"abababababababababababababababab"}"#,
            ),
            (
                Event::Rejected { id, status: 422 },
                r#"{"type":"rejected","id":"abababababababababababababababab","status":422}"#,
            ),
            (
                Event::Retrying {
                    code: ErrorCode::Network,
                    delay_ms: 2000,
                },
                r#"{"type":"retrying","code":20,"name":"network","delay_ms":2000}"#,
            ),
        ];
        for (event, text) in cases {
            let json = json::to_string(&event_json(&event)).expect("JSON");
            assert_eq!(json, text);
            let back: EventJson = serde_json::from_str(&json).expect("round trip");
            assert_eq!(back, event_json(&event));
        }
    }
}
