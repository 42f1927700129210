//! The routes: [`Endpoint`] is the table the store's router is built from
//! (method and path pattern, axum's `{name}` syntax), [`Route`] a concrete
//! request target with typed ids, as clients sign and send it.

use serde::{Deserialize, Serialize};

use super::ids::{EnrolmentId, LinkId};
use crate::envelope::EnvelopeId;
use crate::keys::{DeviceId, StaffId};

/// The HTTP methods the API uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Method {
    /// `GET`.
    Get,
    /// `PUT`.
    Put,
    /// `POST`.
    Post,
    /// `DELETE`.
    Delete,
}

impl Method {
    /// The method's name, upper case, as signed and sent.
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Put => "PUT",
            Method::Post => "POST",
            Method::Delete => "DELETE",
        }
    }
}

impl std::fmt::Display for Method {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Every endpoint of the store (docs/API.md, "Endpoints").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Endpoint {
    /// `GET /healthz`: liveness, `ok` as text.
    Healthz,
    /// `GET /metrics`: Prometheus text.
    Metrics,
    /// `GET /v1/info`: [`super::Info`].
    Info,
    /// `POST /v1/bootstrap`: [`super::BootstrapRequest`] → [`super::Bootstrapped`].
    Bootstrap,
    /// `PUT /v1/directory`: a signed directory → [`super::DirectoryPublished`].
    PublishDirectory,
    /// `GET /v1/directory`: the signed directory's bytes.
    FetchDirectory,
    /// `POST /v1/enrolments`: [`super::CreateEnrolment`] → [`super::EnrolmentCreated`].
    CreateEnrolment,
    /// `GET /v1/enrolments`: a list of [`super::EnrolmentSummary`].
    ListEnrolments,
    /// `DELETE /v1/enrolments/{id}`: revokes an enrolment code.
    RevokeEnrolment,
    /// `POST /v1/enrol`: [`super::EnrolRequest`] → [`super::Enrolled`].
    Enrol,
    /// `GET /v1/devices`: a list of [`super::DeviceSummary`].
    ListDevices,
    /// `GET /v1/devices/me`: [`super::DeviceMe`].
    DeviceMe,
    /// `PUT /v1/devices/{device_id}/certificate`: a certificate → [`super::DeviceCertified`].
    CertifyDevice,
    /// `DELETE /v1/devices/{device_id}`: revokes a device.
    RevokeDevice,
    /// `POST /v1/staff`: [`super::AddStaff`] → [`super::StaffAdded`].
    AddStaff,
    /// `GET /v1/staff`: a list of [`super::StaffSummary`].
    ListStaff,
    /// `DELETE /v1/staff/{staff_id}`: removes a staff member.
    RemoveStaff,
    /// `PUT /v1/envelopes/{envelope_id}`: an envelope → a [`crate::protocol::Receipt`].
    UploadEnvelope,
    /// `GET /v1/envelopes/{envelope_id}`: the envelope's bytes.
    FetchEnvelope,
    /// `POST /v1/envelopes/{envelope_id}/filed`: marks it filed.
    FileEnvelope,
    /// `GET /v1/inbox`: a list of [`super::InboxEntry`].
    Inbox,
    /// `POST /v1/links`: [`super::CreateLink`] → [`super::LinkCreated`].
    CreateLink,
    /// `GET /v1/links`: a list of [`super::LinkSummary`].
    ListLinks,
    /// `DELETE /v1/links/{link_id}`: revokes a link.
    RevokeLink,
    /// `GET /v1/link`: [`super::LinkInfo`] (link token).
    LinkInfo,
    /// `PUT /v1/link/envelopes/{envelope_id}`: an envelope through a link → a receipt.
    LinkUpload,
    /// `GET /v1/audit?after=&limit=`: audit entries as JSON lines.
    Audit,
}

impl Endpoint {
    /// Every endpoint, in the order of docs/API.md.
    pub const ALL: [Endpoint; 27] = [
        Endpoint::Healthz,
        Endpoint::Metrics,
        Endpoint::Info,
        Endpoint::Bootstrap,
        Endpoint::PublishDirectory,
        Endpoint::FetchDirectory,
        Endpoint::CreateEnrolment,
        Endpoint::ListEnrolments,
        Endpoint::RevokeEnrolment,
        Endpoint::Enrol,
        Endpoint::ListDevices,
        Endpoint::CertifyDevice,
        Endpoint::RevokeDevice,
        Endpoint::DeviceMe,
        Endpoint::AddStaff,
        Endpoint::ListStaff,
        Endpoint::RemoveStaff,
        Endpoint::UploadEnvelope,
        Endpoint::Inbox,
        Endpoint::FetchEnvelope,
        Endpoint::FileEnvelope,
        Endpoint::CreateLink,
        Endpoint::ListLinks,
        Endpoint::RevokeLink,
        Endpoint::LinkInfo,
        Endpoint::LinkUpload,
        Endpoint::Audit,
    ];

    /// The method.
    pub fn method(self) -> Method {
        use Endpoint::*;
        match self {
            Healthz | Metrics | Info | FetchDirectory | ListEnrolments | ListDevices | DeviceMe
            | ListStaff | FetchEnvelope | Inbox | ListLinks | LinkInfo | Audit => Method::Get,
            PublishDirectory | CertifyDevice | UploadEnvelope | LinkUpload => Method::Put,
            Bootstrap | CreateEnrolment | Enrol | AddStaff | FileEnvelope | CreateLink => {
                Method::Post
            }
            RevokeEnrolment | RevokeDevice | RemoveStaff | RevokeLink => Method::Delete,
        }
    }

    /// The path pattern, with `{name}` for each id (axum's syntax, and
    /// docs/API.md's).
    pub fn pattern(self) -> &'static str {
        use Endpoint::*;
        match self {
            Healthz => "/healthz",
            Metrics => "/metrics",
            Info => "/v1/info",
            Bootstrap => "/v1/bootstrap",
            PublishDirectory | FetchDirectory => "/v1/directory",
            CreateEnrolment | ListEnrolments => "/v1/enrolments",
            RevokeEnrolment => "/v1/enrolments/{id}",
            Enrol => "/v1/enrol",
            ListDevices => "/v1/devices",
            DeviceMe => "/v1/devices/me",
            CertifyDevice => "/v1/devices/{device_id}/certificate",
            RevokeDevice => "/v1/devices/{device_id}",
            AddStaff | ListStaff => "/v1/staff",
            RemoveStaff => "/v1/staff/{staff_id}",
            UploadEnvelope | FetchEnvelope => "/v1/envelopes/{envelope_id}",
            FileEnvelope => "/v1/envelopes/{envelope_id}/filed",
            Inbox => "/v1/inbox",
            CreateLink | ListLinks => "/v1/links",
            RevokeLink => "/v1/links/{link_id}",
            LinkInfo => "/v1/link",
            LinkUpload => "/v1/link/envelopes/{envelope_id}",
            Audit => "/v1/audit",
        }
    }
}

impl std::fmt::Display for Endpoint {
    /// `METHOD /pattern`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.method(), self.pattern())
    }
}

/// The query of `GET /v1/audit`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditQuery {
    /// Only entries with `seq` greater than this (default 0).
    pub after: Option<u64>,
    /// At most this many entries (default 1000, at most 10000).
    pub limit: Option<u64>,
}

/// A request target: an endpoint with its ids (and query), as a client
/// signs and sends it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    /// `GET /healthz`.
    Healthz,
    /// `GET /metrics`.
    Metrics,
    /// `GET /v1/info`.
    Info,
    /// `POST /v1/bootstrap`.
    Bootstrap,
    /// `PUT /v1/directory`.
    PublishDirectory,
    /// `GET /v1/directory`.
    FetchDirectory,
    /// `POST /v1/enrolments`.
    CreateEnrolment,
    /// `GET /v1/enrolments`.
    ListEnrolments,
    /// `DELETE /v1/enrolments/{id}`.
    RevokeEnrolment(EnrolmentId),
    /// `POST /v1/enrol`.
    Enrol,
    /// `GET /v1/devices`.
    ListDevices,
    /// `GET /v1/devices/me`.
    DeviceMe,
    /// `PUT /v1/devices/{device_id}/certificate`.
    CertifyDevice(DeviceId),
    /// `DELETE /v1/devices/{device_id}`.
    RevokeDevice(DeviceId),
    /// `POST /v1/staff`.
    AddStaff,
    /// `GET /v1/staff`.
    ListStaff,
    /// `DELETE /v1/staff/{staff_id}`.
    RemoveStaff(StaffId),
    /// `PUT /v1/envelopes/{envelope_id}`.
    UploadEnvelope(EnvelopeId),
    /// `GET /v1/envelopes/{envelope_id}`.
    FetchEnvelope(EnvelopeId),
    /// `POST /v1/envelopes/{envelope_id}/filed`.
    FileEnvelope(EnvelopeId),
    /// `GET /v1/inbox`.
    Inbox,
    /// `POST /v1/links`.
    CreateLink,
    /// `GET /v1/links`.
    ListLinks,
    /// `DELETE /v1/links/{link_id}`.
    RevokeLink(LinkId),
    /// `GET /v1/link`.
    LinkInfo,
    /// `PUT /v1/link/envelopes/{envelope_id}`.
    LinkUpload(EnvelopeId),
    /// `GET /v1/audit?after=&limit=` (only the parameters given).
    Audit(AuditQuery),
}

impl Route {
    /// The endpoint this targets.
    pub fn endpoint(&self) -> Endpoint {
        match self {
            Route::Healthz => Endpoint::Healthz,
            Route::Metrics => Endpoint::Metrics,
            Route::Info => Endpoint::Info,
            Route::Bootstrap => Endpoint::Bootstrap,
            Route::PublishDirectory => Endpoint::PublishDirectory,
            Route::FetchDirectory => Endpoint::FetchDirectory,
            Route::CreateEnrolment => Endpoint::CreateEnrolment,
            Route::ListEnrolments => Endpoint::ListEnrolments,
            Route::RevokeEnrolment(_) => Endpoint::RevokeEnrolment,
            Route::Enrol => Endpoint::Enrol,
            Route::ListDevices => Endpoint::ListDevices,
            Route::DeviceMe => Endpoint::DeviceMe,
            Route::CertifyDevice(_) => Endpoint::CertifyDevice,
            Route::RevokeDevice(_) => Endpoint::RevokeDevice,
            Route::AddStaff => Endpoint::AddStaff,
            Route::ListStaff => Endpoint::ListStaff,
            Route::RemoveStaff(_) => Endpoint::RemoveStaff,
            Route::UploadEnvelope(_) => Endpoint::UploadEnvelope,
            Route::FetchEnvelope(_) => Endpoint::FetchEnvelope,
            Route::FileEnvelope(_) => Endpoint::FileEnvelope,
            Route::Inbox => Endpoint::Inbox,
            Route::CreateLink => Endpoint::CreateLink,
            Route::ListLinks => Endpoint::ListLinks,
            Route::RevokeLink(_) => Endpoint::RevokeLink,
            Route::LinkInfo => Endpoint::LinkInfo,
            Route::LinkUpload(_) => Endpoint::LinkUpload,
            Route::Audit(_) => Endpoint::Audit,
        }
    }

    /// The method.
    pub fn method(&self) -> Method {
        self.endpoint().method()
    }

    /// The path and query, as signed and sent.
    pub fn path(&self) -> String {
        match self {
            Route::RevokeEnrolment(id) => format!("/v1/enrolments/{id}"),
            Route::CertifyDevice(id) => format!("/v1/devices/{id}/certificate"),
            Route::RevokeDevice(id) => format!("/v1/devices/{id}"),
            Route::RemoveStaff(id) => format!("/v1/staff/{id}"),
            Route::UploadEnvelope(id) | Route::FetchEnvelope(id) => format!("/v1/envelopes/{id}"),
            Route::FileEnvelope(id) => format!("/v1/envelopes/{id}/filed"),
            Route::RevokeLink(id) => format!("/v1/links/{id}"),
            Route::LinkUpload(id) => format!("/v1/link/envelopes/{id}"),
            Route::Audit(q) => {
                let mut p = String::from("/v1/audit");
                let mut sep = '?';
                for (name, value) in [("after", q.after), ("limit", q.limit)] {
                    if let Some(v) = value {
                        p.push_str(&format!("{sep}{name}={v}"));
                        sep = '&';
                    }
                }
                p
            }
            // No ids: the pattern is the path.
            Route::Healthz
            | Route::Metrics
            | Route::Info
            | Route::Bootstrap
            | Route::PublishDirectory
            | Route::FetchDirectory
            | Route::CreateEnrolment
            | Route::ListEnrolments
            | Route::Enrol
            | Route::ListDevices
            | Route::DeviceMe
            | Route::AddStaff
            | Route::ListStaff
            | Route::Inbox
            | Route::CreateLink
            | Route::ListLinks
            | Route::LinkInfo => self.endpoint().pattern().to_string(),
        }
    }
}

impl std::fmt::Display for Route {
    /// `METHOD /path?query`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.method(), self.path())
    }
}
