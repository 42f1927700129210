//! Fuzz target: the JSON request bodies the store reads with
//! `RequestBody::from_json` (strict: unknown fields refused, each value
//! checked): `POST /v1/enrol` (`EnrolRequest`: the enrolment request from
//! a device holding only a one-time code), `POST /v1/enrolments`
//! (`CreateEnrolment`), `POST /v1/bootstrap` (`BootstrapRequest`),
//! `POST /v1/links` (`CreateLink`) and `POST /v1/staff` (`AddStaff`).
//!
//! Byte 0 chooses the body type; the rest is the JSON.
//!
//! Properties: a body that parses serializes to JSON that parses to the
//! same value; for an enrolment request, `proof_verifies` runs (no panic
//! on any key and proof).
#![no_main]

use libfuzzer_sys::fuzz_target;
use sealcam_core::protocol::api::{
    AddStaff, BootstrapRequest, CreateEnrolment, CreateLink, EnrolRequest, RequestBody,
};
use serde::Serialize;

fn round_trip<T: RequestBody + Serialize + PartialEq>(json: &[u8]) -> Option<T> {
    let v = T::from_json(json).ok()?;
    let again = match serde_json::to_vec(&v) {
        Ok(j) => j,
        Err(e) => panic!("a parsed body does not serialize: {e}"),
    };
    match T::from_json(&again) {
        Ok(back) => assert!(back == v, "the body changed through its JSON"),
        Err(e) => panic!("a body's own JSON is refused: {e}"),
    }
    Some(v)
}

fuzz_target!(|data: &[u8]| {
    let Some((&which, json)) = data.split_first() else {
        return;
    };
    match which % 5 {
        0 => {
            if let Some(r) = round_trip::<EnrolRequest>(json) {
                let _ = r.proof_verifies();
            }
        }
        1 => {
            round_trip::<CreateEnrolment>(json);
        }
        2 => {
            round_trip::<BootstrapRequest>(json);
        }
        3 => {
            round_trip::<CreateLink>(json);
        }
        _ => {
            round_trip::<AddStaff>(json);
        }
    }
});
