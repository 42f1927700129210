//! HTTP routes (docs/API.md). One module per resource.

mod audit;
mod bootstrap;
mod devices;
mod directory;
mod enrolment;
mod envelopes;
mod inbox;
mod links;
mod ops;
mod staff;

use axum::body::Bytes;
use axum::routing::{on, MethodFilter, MethodRouter};
use axum::Router;
use sealcam_core::protocol::api::{BodyError, Endpoint, Method, RequestBody};

use crate::error::ApiError;
use crate::state::AppState;

/// The route table the router is built from: every endpoint of the API
/// (`sealcam_core::protocol::api::Endpoint`: method and path pattern).
/// docs/API.md is checked against it (store/tests/api_doc.rs).
pub fn route_table() -> &'static [Endpoint] {
    &Endpoint::ALL
}

/// The store's routes (without middleware): one per entry of
/// [`route_table`].
pub fn router() -> Router<AppState> {
    route_table()
        .iter()
        .fold(Router::new(), |r, &e| r.route(e.pattern(), handler(e)))
}

/// The handler of an endpoint, on its method (exhaustive: a new endpoint
/// needs one).
fn handler(e: Endpoint) -> MethodRouter<AppState> {
    let m = match e.method() {
        Method::Get => MethodFilter::GET,
        Method::Put => MethodFilter::PUT,
        Method::Post => MethodFilter::POST,
        Method::Delete => MethodFilter::DELETE,
    };
    match e {
        Endpoint::Healthz => on(m, ops::healthz),
        Endpoint::Metrics => on(m, ops::metrics),
        Endpoint::Info => on(m, ops::info),
        Endpoint::Bootstrap => on(m, bootstrap::bootstrap),
        Endpoint::PublishDirectory => on(m, directory::publish),
        Endpoint::FetchDirectory => on(m, directory::fetch),
        Endpoint::CreateEnrolment => on(m, enrolment::create),
        Endpoint::ListEnrolments => on(m, enrolment::list),
        Endpoint::RevokeEnrolment => on(m, enrolment::revoke),
        Endpoint::Enrol => on(m, enrolment::enrol),
        Endpoint::ListDevices => on(m, devices::list),
        Endpoint::DeviceMe => on(m, devices::me),
        Endpoint::CertifyDevice => on(m, devices::certify),
        Endpoint::RevokeDevice => on(m, devices::revoke),
        Endpoint::AddStaff => on(m, staff::add),
        Endpoint::ListStaff => on(m, staff::list),
        Endpoint::RemoveStaff => on(m, staff::remove),
        Endpoint::UploadEnvelope => on(m, envelopes::upload),
        Endpoint::FetchEnvelope => on(m, envelopes::fetch),
        Endpoint::FileEnvelope => on(m, envelopes::filed),
        Endpoint::Inbox => on(m, inbox::inbox),
        Endpoint::CreateLink => on(m, links::create),
        Endpoint::ListLinks => on(m, links::list),
        Endpoint::RevokeLink => on(m, links::revoke),
        Endpoint::LinkInfo => on(m, links::info),
        Endpoint::LinkUpload => on(m, links::upload),
        Endpoint::Audit => on(m, audit::entries),
    }
}

impl From<BodyError> for ApiError {
    fn from(e: BodyError) -> Self {
        ApiError::bad_request(e.code(), e.to_string())
    }
}

/// Parses a JSON request body into its API type; refusals name the field
/// and never echo values from it.
pub(crate) fn body<T: RequestBody>(body: &Bytes) -> Result<T, ApiError> {
    Ok(T::from_json(body)?)
}

/// Parses a path id, 404 if malformed (no oracle beyond "not found").
pub(crate) fn path_id<T: std::str::FromStr>(s: &str) -> Result<T, ApiError> {
    s.parse()
        .map_err(|_| ApiError::not_found("no such resource (ids are 32 lower-case hex digits)"))
}
