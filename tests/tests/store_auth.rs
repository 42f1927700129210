//! Who may call what on a real `sealcam-store` (docs/STORE-CONTRACT.md,
//! "Endpoints"): the authorization matrix as data, and the request-signature
//! negatives (bad signature, stale or future timestamp, replayed nonce, body
//! digest mismatch, wrong role claimed).
//!
//! The matrix has one row per endpoint (the API's table,
//! `sealcam_core::protocol::api::Endpoint`, which the store's router is
//! built from) and one column per kind of caller, so a missing cell does
//! not compile and a missing endpoint fails `matrix_covers_every_endpoint`. Every row runs against fresh targets
//! (a fresh victim device, enrolment, staff member, link or envelope), and
//! after a refused request the target is checked to be unchanged. All
//! mismatches are collected and reported together.
//!
//! Cells the contract does not state outright follow its general rule
//! ("unauthenticated or badly signed → 401, authenticated but not allowed →
//! 403"), read as the store reads it: 403 only for a caller authenticated
//! by the scheme the endpoint takes (a signature, or a link token) whose
//! role may not call it; a credential of the other scheme (a link token on
//! a signed endpoint, a signature on a link endpoint) authenticates nothing
//! there: 401. An expired or revoked link token is no credential (401),
//! except on the link endpoints, which answer 410 for it; anonymous
//! endpoints ignore an `Authorization` header; `POST /v1/bootstrap` is
//! authenticated by the org key named in its body, so any other signer
//! gets 401.

use sealcam_core::keys::{DeviceSigningKey, OrgSigningKey, SignedDirectory};
use sealcam_core::protocol::api::Endpoint as Ep;
use sealcam_core::protocol::api::{
    AddStaff, BootstrapRequest, CodeInput, CreateEnrolment, CreateLink, DeviceMe, DeviceState,
    DeviceSummary, EnrolRequest, Enrolled, EnrolmentCreated, EnrolmentState, EnrolmentSummary,
    StaffName,
};
use sealcam_core::protocol::enrolment::OneTimeCode;
use sealcam_test_support::store::{
    certificate_for, clinician, create_enrolment, enrol_proof, now, random16, seal_unsigned, Actor,
    Auth, Body, Device, Resp, SignOpts, StoreProcess, World,
};
use std::sync::Arc;
use std::time::Duration;

/// Generous rate limits: the matrix makes many anonymous and link requests
/// from one IP, and is not about rate limiting.
const CONFIG: &str = "
[rate_limit]
ip_per_minute = 100000
ip_burst = 100000
link_per_minute = 100000
link_burst = 100000
";

/// A link allowing `n` uploads, the store's defaults otherwise.
fn uploads(n: u32) -> CreateLink {
    CreateLink {
        max_uploads: Some(n),
        ..CreateLink::default()
    }
}

/// The kinds of caller, in column order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Who {
    Anonymous,
    Admin,
    PendingDevice,
    ActiveDevice,
    RevokedDevice,
    Staff,
    Link,
    ExpiredLink,
    RevokedLink,
    /// A device key the store never saw.
    UnknownDevice,
    /// Another organisation's key, claiming `role=admin`.
    OtherOrgAdmin,
}

const WHO: [Who; 11] = [
    Who::Anonymous,
    Who::Admin,
    Who::PendingDevice,
    Who::ActiveDevice,
    Who::RevokedDevice,
    Who::Staff,
    Who::Link,
    Who::ExpiredLink,
    Who::RevokedLink,
    Who::UnknownDevice,
    Who::OtherOrgAdmin,
];

const ALL: [u16; 11] = [200; 11];
/// Admin only, answering `ok`.
const fn admin(ok: u16) -> [u16; 11] {
    [401, ok, 403, 403, 401, 403, 401, 401, 401, 401, 401]
}

/// The matrix. Columns:
///  anonymous, admin, pending device, active device, revoked device, staff,
///  link, expired link, revoked link, unknown device key, other org's key.
#[rustfmt::skip]
const MATRIX: &[(Ep, [u16; 11])] = &[
    //                     anon admin pend  act   revk  staff link  xlnk  rlnk  unkn  oorg
    (Ep::Healthz,          ALL),
    (Ep::Metrics,          ALL),
    (Ep::Info,             ALL),
    (Ep::Bootstrap,        [401, 409, 401, 401, 401, 401, 401, 401, 401, 401, 401]),
    (Ep::PublishDirectory, admin(200)),
    (Ep::FetchDirectory,   [401, 200, 403, 200, 401, 200, 200, 410, 410, 401, 401]),
    (Ep::CreateEnrolment,  admin(201)),
    (Ep::ListEnrolments,   admin(200)),
    (Ep::RevokeEnrolment,  admin(204)),
    (Ep::Enrol,            [201, 201, 201, 201, 201, 201, 201, 201, 201, 201, 201]),
    (Ep::ListDevices,      admin(200)),
    (Ep::CertifyDevice,    admin(200)),
    (Ep::RevokeDevice,     admin(204)),
    (Ep::DeviceMe,         [401, 403, 200, 200, 401, 403, 401, 401, 401, 401, 401]),
    (Ep::AddStaff,         admin(201)),
    (Ep::ListStaff,        admin(200)),
    (Ep::RemoveStaff,      admin(204)),
    (Ep::UploadEnvelope,   [401, 403, 403, 201, 401, 403, 401, 401, 401, 401, 401]),
    (Ep::Inbox,            [401, 403, 403, 403, 401, 200, 401, 401, 401, 401, 401]),
    (Ep::FetchEnvelope,    [401, 403, 403, 403, 401, 200, 401, 401, 401, 401, 401]),
    (Ep::FileEnvelope,     [401, 403, 403, 403, 401, 204, 401, 401, 401, 401, 401]),
    (Ep::CreateLink,       [401, 403, 403, 201, 401, 201, 401, 401, 401, 401, 401]),
    (Ep::ListLinks,        [401, 200, 403, 200, 401, 200, 401, 401, 401, 401, 401]),
    (Ep::RevokeLink,       [401, 204, 403, 204, 401, 403, 401, 401, 401, 401, 401]),
    (Ep::LinkInfo,         [401, 401, 401, 401, 401, 401, 200, 410, 410, 401, 401]),
    (Ep::LinkUpload,       [401, 401, 401, 401, 401, 401, 201, 410, 410, 401, 401]),
    (Ep::Audit,            admin(200)),
];

#[test]
fn matrix_covers_every_endpoint() {
    // Every endpoint the store's router is built from (the API's table)
    // appears in the matrix exactly once.
    for ep in Ep::ALL {
        let n = MATRIX.iter().filter(|(e, _)| *e == ep).count();
        assert_eq!(n, 1, "{ep} appears {n} times in the matrix");
    }
    assert_eq!(MATRIX.len(), Ep::ALL.len());
}

/// The parties of the matrix.
struct Cast {
    w: World,
    pending: Device,
    revoked: Device,
    link_token: String,
    expired_token: String,
    revoked_token: String,
    unknown: Arc<DeviceSigningKey>,
    other_org: Arc<OrgSigningKey>,
    bootstrap_code: String,
}

impl Cast {
    fn auth(&self, who: Who) -> Auth {
        match who {
            Who::Anonymous => Auth::Anonymous,
            Who::Admin => Auth::Admin(Arc::clone(&self.w.org)),
            Who::PendingDevice => self.pending.auth(),
            Who::ActiveDevice => self.w.devices[0].auth(),
            Who::RevokedDevice => self.revoked.auth(),
            Who::Staff => self.w.staff[0].auth(),
            Who::Link => Auth::Link(self.link_token.clone()),
            Who::ExpiredLink => Auth::Link(self.expired_token.clone()),
            Who::RevokedLink => Auth::Link(self.revoked_token.clone()),
            Who::UnknownDevice => Auth::Device(Arc::clone(&self.unknown)),
            Who::OtherOrgAdmin => Auth::Admin(Arc::clone(&self.other_org)),
        }
    }

    async fn new(store: &StoreProcess) -> Cast {
        let bootstrap_code = store.bootstrap_code.clone().expect("bootstrap code");
        let w = World::new(store, 2, 1).await;
        let pending = w.enrol_pending().await;
        let revoked = w.enrol_device().await;
        w.admin()
            .delete(&format!("/v1/devices/{}", revoked.id))
            .await
            .expect(204, "revoke a device");
        let d0 = w.device_actor(0);
        let (_, link_token) = w.create_link(&d0, uploads(5)).await;
        let (_, expired_token) = w
            .create_link(
                &d0,
                CreateLink {
                    expires_in_secs: Some(1),
                    ..CreateLink::default()
                },
            )
            .await;
        let (revoked_link, revoked_token) = w.create_link(&d0, CreateLink::default()).await;
        w.admin()
            .delete(&format!("/v1/links/{revoked_link}"))
            .await
            .expect(204, "revoke a link");
        let cast = Cast {
            w,
            pending,
            revoked,
            link_token,
            expired_token,
            revoked_token,
            unknown: Arc::new(DeviceSigningKey::generate()),
            other_org: Arc::new(OrgSigningKey::generate()),
            bootstrap_code,
        };
        // The short link expires by the clock: wait for it, by asking.
        let xl = cast.w.link(&cast.expired_token);
        sealcam_test_support::store::eventually(
            "the 1 s link to expire",
            Duration::from_secs(15),
            || {
                let xl = xl.clone();
                async move { (xl.get("/v1/link").await.status != 200).then_some(()) }
            },
        )
        .await;
        cast
    }
}

/// What a row sends, and how to check a refused request changed nothing.
struct Prepared {
    method: &'static str,
    path: String,
    body: Body,
    unchanged: Option<Check>,
}

/// A check that the target of a refused request is as it was.
enum Check {
    DirectoryVersion(u64),
    EnrolmentOpen(String),
    DeviceState(String, &'static str),
    StaffListed(String),
    NotInInbox(String),
    InInbox(String),
    LinkUsable(String),
}

async fn prepare(c: &mut Cast, ep: Ep, who: Who) -> Prepared {
    let (method, template) = (ep.method().as_str(), ep.pattern());
    let w = &mut c.w;
    let simple = |path: &str, body: Body| Prepared {
        method,
        path: path.to_string(),
        body,
        unchanged: None,
    };
    match ep {
        Ep::Healthz | Ep::Metrics | Ep::Info | Ep::ListEnrolments | Ep::ListDevices => {
            simple(template, Body::Empty)
        }
        Ep::DeviceMe | Ep::ListStaff | Ep::Inbox | Ep::ListLinks | Ep::LinkInfo => {
            simple(template, Body::Empty)
        }
        Ep::FetchDirectory => simple(template, Body::Empty),
        Ep::Audit => simple("/v1/audit?after=0&limit=10", Body::Empty),
        Ep::Bootstrap => simple(
            template,
            Body::json(&BootstrapRequest {
                code: CodeInput::new(&c.bootstrap_code),
                org_key: w.org.public(),
            }),
        ),
        Ep::PublishDirectory => {
            let current = w.directory_version;
            let next = current + 1;
            if who == Who::Admin {
                w.directory_version = next;
            }
            Prepared {
                method,
                path: template.to_string(),
                body: Body::Bytes(w.directory(next, &[])),
                unchanged: Some(Check::DirectoryVersion(current)),
            }
        }
        Ep::CreateEnrolment => simple(template, Body::json(&create_enrolment(clinician()))),
        Ep::RevokeEnrolment => {
            let (id, _) = w.enrolment_code().await;
            Prepared {
                method,
                path: format!("/v1/enrolments/{id}"),
                body: Body::Empty,
                unchanged: Some(Check::EnrolmentOpen(id)),
            }
        }
        Ep::Enrol => {
            let (_, code) = w.enrolment_code().await;
            let key = DeviceSigningKey::generate();
            simple(
                template,
                Body::json(&EnrolRequest::new(
                    &OneTimeCode::parse(&code).expect("the store's code parses"),
                    &key,
                )),
            )
        }
        Ep::CertifyDevice => {
            let victim = w.enrol_pending().await;
            let cert = certificate_for(&w.org, &victim.key.public());
            Prepared {
                method,
                path: format!("/v1/devices/{}/certificate", victim.id),
                body: Body::Bytes(cert.to_bytes()),
                unchanged: Some(Check::DeviceState(victim.id.clone(), "pending")),
            }
        }
        Ep::RevokeDevice => {
            let victim = w.enrol_device().await;
            Prepared {
                method,
                path: format!("/v1/devices/{}", victim.id),
                body: Body::Empty,
                unchanged: Some(Check::DeviceState(victim.id.clone(), "active")),
            }
        }
        Ep::AddStaff => {
            let key = sealcam_core::keys::StaffSigningKey::generate();
            let r = sealcam_core::keys::RecipientIdentity::generate().recipient();
            let name = format!(
                "Staff {}",
                sealcam_test_support::store::hex(&random16()[..4])
            );
            simple(
                template,
                Body::json(&AddStaff {
                    auth_key: key.public(),
                    name: StaffName::new(&name).expect("name"),
                    recipient: r,
                }),
            )
        }
        Ep::RemoveStaff => {
            let victim = w
                .add_staff(&format!(
                    "Victim {}",
                    sealcam_test_support::store::hex(&random16()[..4])
                ))
                .await;
            Prepared {
                method,
                path: format!("/v1/staff/{}", victim.id),
                body: Body::Empty,
                unchanged: Some(Check::StaffListed(victim.id.clone())),
            }
        }
        Ep::UploadEnvelope => {
            // The caller's own envelope where the caller is the active
            // device; otherwise the active device's (auth must fail first).
            let e = w.devices[0].seal(&w.recipients());
            Prepared {
                method,
                path: format!("/v1/envelopes/{}", e.id),
                body: Body::Bytes(e.bytes),
                unchanged: Some(Check::NotInInbox(e.id.to_string())),
            }
        }
        Ep::FetchEnvelope | Ep::FileEnvelope => {
            let e = w.devices[0].seal(&w.recipients());
            w.upload(&w.devices[0], &e)
                .await
                .expect(201, "upload for the matrix");
            let path = if ep == Ep::FileEnvelope {
                format!("/v1/envelopes/{}/filed", e.id)
            } else {
                format!("/v1/envelopes/{}", e.id)
            };
            Prepared {
                method,
                path,
                body: Body::Empty,
                unchanged: (ep == Ep::FileEnvelope).then(|| Check::InInbox(e.id.to_string())),
            }
        }
        Ep::CreateLink => simple(template, Body::json(&uploads(1))),
        Ep::RevokeLink => {
            let (id, token) = w
                .create_link(&w.device_actor(0), CreateLink::default())
                .await;
            Prepared {
                method,
                path: format!("/v1/links/{id}"),
                body: Body::Empty,
                unchanged: Some(Check::LinkUsable(token)),
            }
        }
        Ep::LinkUpload => {
            let e = seal_unsigned(&w.recipients());
            Prepared {
                method,
                path: format!("/v1/link/envelopes/{}", e.id),
                body: Body::Bytes(e.bytes),
                unchanged: Some(Check::NotInInbox(e.id.to_string())),
            }
        }
    }
}

/// Checks the target of a refused request; `Err` says what changed.
async fn still_unchanged(c: &Cast, check: &Check) -> Result<(), String> {
    let w = &c.w;
    let admin = w.admin();
    match check {
        Check::DirectoryVersion(v) => {
            let r = admin.get("/v1/directory").await;
            let d = SignedDirectory::from_bytes(&r.body).map_err(|e| e.to_string())?;
            let got = d
                .verify(&w.org.public(), now())
                .map_err(|e| e.to_string())?
                .version;
            (got == *v)
                .then_some(())
                .ok_or(format!("directory version is now {got}, was {v}"))
        }
        Check::EnrolmentOpen(id) => {
            let list: Vec<EnrolmentSummary> = admin.get("/v1/enrolments").await.parse();
            match list.iter().find(|e| e.id.to_string() == *id) {
                Some(e) if e.state == EnrolmentState::Open => Ok(()),
                Some(e) => Err(format!("enrolment state is now {}", e.state)),
                None => Err("enrolment gone from the list".into()),
            }
        }
        Check::DeviceState(id, state) => {
            let list: Vec<DeviceSummary> = admin.get("/v1/devices").await.parse();
            match list.iter().find(|d| d.device_id.to_string() == *id) {
                Some(d) if d.state.as_str() == *state => Ok(()),
                Some(d) => Err(format!("device state is now {}, was {state}", d.state)),
                None => Err("device gone from the list".into()),
            }
        }
        Check::StaffListed(id) => {
            let text = admin.get("/v1/staff").await.text();
            text.contains(id.as_str())
                .then_some(())
                .ok_or("staff member gone from the list".into())
        }
        Check::NotInInbox(id) => {
            let inbox = w.inbox(0).await;
            (!inbox.contains(id))
                .then_some(())
                .ok_or("the envelope was stored (it is in the inbox)".into())
        }
        Check::InInbox(id) => {
            let inbox = w.inbox(0).await;
            inbox
                .contains(id)
                .then_some(())
                .ok_or("the envelope left the inbox (filed)".into())
        }
        Check::LinkUsable(token) => {
            let s = w.link(token).get("/v1/link").await.status;
            (s == 200)
                .then_some(())
                .ok_or(format!("the link answers {s} now (revoked?)"))
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn authorization_matrix() {
    let store = StoreProcess::start_with_config(CONFIG);
    let mut cast = Cast::new(&store).await;
    let mut failures = Vec::new();
    let mut cells = 0;
    for (ep, expected) in MATRIX {
        for (who, want) in WHO.iter().zip(expected) {
            let p = prepare(&mut cast, *ep, *who).await;
            let actor: Actor = cast.w.as_(cast.auth(*who));
            let r: Resp = actor.call(p.method, &p.path, p.body.clone()).await;
            cells += 1;
            let (m, t) = (ep.method(), ep.pattern());
            if r.status != *want {
                failures.push(format!(
                    "{m} {t} as {who:?}: expected {want}, got {} {}",
                    r.status,
                    r.error_code()
                ));
            }
            if r.status == 401 {
                let h = r.header("www-authenticate").unwrap_or_default();
                if !h.contains("Sealcam-Signature") {
                    failures.push(format!(
                        "{m} {t} as {who:?}: 401 without `www-authenticate: Sealcam-Signature`"
                    ));
                }
            }
            if !(200..300).contains(&r.status) {
                if let Some(check) = &p.unchanged {
                    if let Err(what) = still_unchanged(&cast, check).await {
                        failures.push(format!(
                            "{m} {t} as {who:?}: refused with {} but {what}",
                            r.status
                        ));
                    }
                }
            }
        }
    }
    sealcam_test_support::summary(&format!(
        "authorization matrix: {cells} cells, {} mismatches",
        failures.len()
    ));
    assert!(
        failures.is_empty(),
        "{} of {cells} cells differ from the contract:\n  {}",
        failures.len(),
        failures.join("\n  ")
    );
}

// ---------------------------------------------------------------------------
// Request-auth negatives

fn replace_field(header: &str, field: &str, value: &str) -> String {
    header
        .split(',')
        .map(|part| {
            let (name, _) = part.split_once('=').unwrap_or((part, ""));
            let bare = name.rsplit(' ').next().unwrap_or(name);
            if bare == field {
                format!("{}={value}", name)
            } else {
                part.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join(",")
}

#[tokio::test(flavor = "multi_thread")]
async fn request_signature_negatives() {
    use sealcam_test_support::store::auth_headers;
    let store = StoreProcess::start_with_config(CONFIG);
    let w = World::new(&store, 1, 1).await;
    let client = &w.client;
    let device = w.devices[0].auth();
    let staff = w.staff[0].auth();
    let me = "/v1/devices/me";

    // Baseline: a correct request is accepted.
    client
        .send(&device, "GET", me, vec![], &SignOpts::default(), &[])
        .await
        .expect(200, "signed GET /v1/devices/me");

    let mut failures = Vec::new();

    // Bad signature: one character of sig changed.
    let mut h = auth_headers(&device, &client.store, "GET", me, b"", &SignOpts::default());
    let sig = h[0].1.rsplit("sig=").next().unwrap_or_default().to_string();
    let flipped = format!(
        "{}{}",
        if sig.starts_with('A') { "B" } else { "A" },
        &sig[1..]
    );
    h[0].1 = replace_field(&h[0].1, "sig", &flipped);
    expect(
        &mut failures,
        "bad signature",
        client.send_raw("GET", me, vec![], &h, &[]).await,
        401,
    );

    // Timestamps: inside the window accepted, outside refused.
    for (what, ts, want) in [
        ("ts 290 s in the past", now() - 290, 200),
        ("ts 290 s in the future", now() + 290, 200),
        ("ts 301 s in the past", now() - 301, 401),
        ("ts 301 s in the future", now() + 301, 401),
        ("ts an hour in the past", now() - 3600, 401),
        ("ts 0", 0, 401),
    ] {
        let opts = SignOpts {
            ts: Some(ts),
            ..SignOpts::default()
        };
        expect(
            &mut failures,
            what,
            client.send(&device, "GET", me, vec![], &opts, &[]).await,
            want,
        );
    }

    // Replay: the same request twice; the second is refused.
    let h = auth_headers(&device, &client.store, "GET", me, b"", &SignOpts::default());
    expect(
        &mut failures,
        "first of a replayed pair",
        client.send_raw("GET", me, vec![], &h, &[]).await,
        200,
    );
    expect(
        &mut failures,
        "replayed request (same nonce)",
        client.send_raw("GET", me, vec![], &h, &[]).await,
        401,
    );
    // The same nonce on a different request by the same key is a replay too.
    let nonce = random16();
    let opts = SignOpts {
        nonce: Some(nonce),
        ..SignOpts::default()
    };
    expect(
        &mut failures,
        "fresh nonce",
        client
            .send(&staff, "GET", "/v1/inbox", vec![], &opts, &[])
            .await,
        200,
    );
    expect(
        &mut failures,
        "nonce reused on another path",
        client
            .send(&staff, "GET", "/v1/directory", vec![], &opts, &[])
            .await,
        401,
    );
    // A replayed upload stores nothing new and gets no second receipt.
    let e = w.devices[0].seal(&w.recipients());
    let path = format!("/v1/envelopes/{}", e.id);
    let h = auth_headers(
        &device,
        &client.store,
        "PUT",
        &path,
        &e.bytes,
        &SignOpts::default(),
    );
    expect(
        &mut failures,
        "upload",
        client
            .send_raw("PUT", &path, e.bytes.clone(), &h, &[])
            .await,
        201,
    );
    expect(
        &mut failures,
        "replayed upload",
        client
            .send_raw("PUT", &path, e.bytes.clone(), &h, &[])
            .await,
        401,
    );

    // Body digest mismatch: the signature covers a digest, the body is
    // another (JSON endpoint and streamed upload).
    let body = serde_json::to_vec(&uploads(1)).expect("json");
    let other = serde_json::to_vec(&uploads(2)).expect("json");
    let h = auth_headers(
        &device,
        &client.store,
        "POST",
        "/v1/links",
        &other,
        &SignOpts::default(),
    );
    expect(
        &mut failures,
        "JSON body differs from the signed digest",
        client
            .send_raw(
                "POST",
                "/v1/links",
                body,
                &h,
                &[("content-type", "application/json")],
            )
            .await,
        401,
    );
    let e = w.devices[0].seal(&w.recipients());
    let path = format!("/v1/envelopes/{}", e.id);
    let before = store.blob_files();
    let h = auth_headers(
        &device,
        &client.store,
        "PUT",
        &path,
        b"some other envelope",
        &SignOpts::default(),
    );
    expect(
        &mut failures,
        "envelope differs from the signed digest",
        client
            .send_raw("PUT", &path, e.bytes.clone(), &h, &[])
            .await,
        401,
    );
    if store.blob_files() != before {
        failures.push("a digest-mismatched upload left a blob".into());
    }
    // The signature checks out over the digest header, but the header was
    // changed after signing.
    let mut h = auth_headers(
        &device,
        &client.store,
        "PUT",
        &path,
        &e.bytes,
        &SignOpts::default(),
    );
    h[1].1 = sealcam_test_support::store::hex(&sealcam_test_support::store::blake3(b"x"));
    expect(
        &mut failures,
        "content header changed after signing",
        client
            .send_raw("PUT", &path, e.bytes.clone(), &h, &[])
            .await,
        401,
    );
    // No content header at all.
    let opts = SignOpts {
        no_content_header: true,
        ..SignOpts::default()
    };
    expect(
        &mut failures,
        "no content header",
        client.send(&device, "GET", me, vec![], &opts, &[]).await,
        401,
    );

    // Signed for another path or method.
    let h = auth_headers(
        &device,
        &client.store,
        "GET",
        "/v1/directory",
        b"",
        &SignOpts::default(),
    );
    expect(
        &mut failures,
        "signed for another path",
        client.send_raw("GET", me, vec![], &h, &[]).await,
        401,
    );
    let h = auth_headers(
        &staff,
        &client.store,
        "DELETE",
        "/v1/inbox",
        b"",
        &SignOpts::default(),
    );
    expect(
        &mut failures,
        "signed for another method",
        client.send_raw("GET", "/v1/inbox", vec![], &h, &[]).await,
        401,
    );

    // Wrong role claimed: the header says staff (or admin), the key is a
    // device's; and the other way round.
    for (what, role) in [
        ("device key claiming staff", "staff"),
        ("device key claiming admin", "admin"),
    ] {
        let mut h = auth_headers(
            &device,
            &client.store,
            "GET",
            "/v1/inbox",
            b"",
            &SignOpts::default(),
        );
        h[0].1 = h[0].1.replace("role=device", &format!("role={role}"));
        expect(
            &mut failures,
            what,
            client.send_raw("GET", "/v1/inbox", vec![], &h, &[]).await,
            401,
        );
    }
    let mut h = auth_headers(&staff, &client.store, "GET", me, b"", &SignOpts::default());
    h[0].1 = h[0].1.replace("role=staff", "role=device");
    expect(
        &mut failures,
        "staff key claiming device",
        client.send_raw("GET", me, vec![], &h, &[]).await,
        401,
    );
    // A correctly signed message claiming another role (signed over
    // role=staff by the device key, naming the device's key id).
    let h = forged_role(&w.devices[0], "staff", "GET", "/v1/inbox");
    expect(
        &mut failures,
        "device key, signature over role=staff",
        client.send_raw("GET", "/v1/inbox", vec![], &h, &[]).await,
        401,
    );

    // Malformed headers.
    for (what, value) in [
        ("empty Authorization", String::new()),
        ("unknown scheme", "Bearer abc".to_string()),
        ("version 2", {
            let h = auth_headers(&device, &client.store, "GET", me, b"", &SignOpts::default());
            h[0].1.replace("v=1", "v=2")
        }),
    ] {
        let mut h = auth_headers(&device, &client.store, "GET", me, b"", &SignOpts::default());
        h[0].1 = value;
        expect(
            &mut failures,
            what,
            client.send_raw("GET", me, vec![], &h, &[]).await,
            401,
        );
    }

    assert!(
        failures.is_empty(),
        "request-auth negatives:\n  {}",
        failures.join("\n  ")
    );
}

/// Headers for a request whose message claims `role` but is signed by the
/// device key (built from the contract's bytes, independently of core).
fn forged_role(d: &Device, role: &str, method: &str, path: &str) -> Vec<(String, String)> {
    use sealcam_test_support::store::{b64, blake3, hex};
    let key = hex(&d.key.public().id().0);
    let ts = now().to_string();
    let nonce = hex(&random16());
    let digest = hex(&blake3(b""));
    let mut m = b"sealcam/v1/request\0".to_vec();
    for f in [role, &key, &ts, &nonce, method, path] {
        m.extend_from_slice(f.as_bytes());
        m.push(b'\n');
    }
    m.extend_from_slice(digest.as_bytes());
    let sig = b64(&d.key.sign(&m));
    vec![
        (
            "authorization".into(),
            format!("Sealcam-Signature v=1,role={role},key={key},ts={ts},nonce={nonce},sig={sig}"),
        ),
        ("x-sealcam-content-blake3".into(), digest),
    ]
}

/// The contract's signed-message bytes, built here from the text of
/// docs/STORE-CONTRACT.md, give the same header as core's implementation.
#[test]
fn core_request_signing_matches_the_contract_bytes() {
    use sealcam_core::protocol::request::{authorization, content_digest, RequestTarget};
    use sealcam_test_support::store::{b64, hex};
    let key = DeviceSigningKey::from_secret_bytes([7; 32]);
    let body = b"{\"max_uploads\":1}";
    let digest = content_digest(body);
    let nonce = [0x42u8; 16];
    let ts = 1_795_256_130u64;
    let store = sealcam_core::keys::StoreId([0x5e; 16]);
    let target = RequestTarget {
        store: &store,
        method: "POST",
        path_and_query: "/v1/links?x=1",
        content_digest: &digest,
    };
    let from_core = authorization(&key, &target, ts, nonce);
    let key_hex = hex(&key.public().id().0);
    let store_hex = hex(&store.0);
    let mut m = b"sealcam/v1/request\0".to_vec();
    for f in [
        store_hex.as_str(),
        "device",
        key_hex.as_str(),
        &ts.to_string(),
        &hex(&nonce),
        "POST",
        "/v1/links?x=1",
    ] {
        m.extend_from_slice(f.as_bytes());
        m.push(b'\n');
    }
    m.extend_from_slice(hex(&digest).as_bytes());
    let expected = format!(
        "Sealcam-Signature v=1,role=device,key={key_hex},ts={ts},nonce={},sig={}",
        hex(&nonce),
        b64(&key.sign(&m))
    );
    assert_eq!(from_core, expected);
}

/// Records a mismatch (and a 401 without `www-authenticate`).
fn expect(failures: &mut Vec<String>, what: &str, r: Resp, want: u16) {
    if r.status != want {
        failures.push(format!(
            "{what}: expected {want}, got {} {}",
            r.status,
            r.error_code()
        ));
    } else if want == 401
        && !r
            .header("www-authenticate")
            .unwrap_or_default()
            .contains("Sealcam-Signature")
    {
        failures.push(format!("{what}: 401 without www-authenticate"));
    }
}

// ---------------------------------------------------------------------------
// Enrolment codes and device certificates

/// The code as a person might type it: lower case, no dashes, and
/// Crockford's aliases for 0 and 1.
fn as_typed(code: &str) -> String {
    code.replace('-', "")
        .to_lowercase()
        .replace('0', "o")
        .replace('1', "l")
}

#[tokio::test(flavor = "multi_thread")]
async fn enrolment_codes_and_device_certificates() {
    use sealcam_core::keys::DeviceCertificate;
    let store = StoreProcess::start_with_config(CONFIG);
    let w = World::new(&store, 1, 1).await;
    let anon = w.client.anonymous();
    // The body a device sends for the code as typed (canonicalised on the
    // device), with the proof over `proof_code`'s digest.
    let enrol = |typed: String, key: &DeviceSigningKey, proof_code: &str| {
        let code = OneTimeCode::parse(&typed).expect("the test's code parses");
        let mut body = EnrolRequest::new(&code, key);
        body.proof = sealcam_core::protocol::text::parse_b64(&enrol_proof(key, proof_code))
            .expect("a proof is 64 bytes");
        body
    };

    // Typed loosely, proof over the canonical form: accepted.
    let (enrolment_id, code) = w.enrolment_code().await;
    let key = DeviceSigningKey::generate();
    let r = anon
        .post_json("/v1/enrol", &enrol(as_typed(&code), &key, &code))
        .await
        .expect(
            201,
            "enrol with the code typed in lower case, aliases, no dashes",
        );
    assert_eq!(r.parse::<Enrolled>().state, DeviceState::Pending);
    // The store lists the device's binding; the admin, who holds the code,
    // can check it (the store, which never saw the code, could not have
    // made it for a key of its own).
    let devices: Vec<DeviceSummary> = w
        .admin()
        .get("/v1/devices")
        .await
        .expect(200, "devices")
        .parse();
    let listed = devices
        .iter()
        .find(|d| d.device_id == key.public().id())
        .expect("the enrolled device is listed");
    assert_eq!(listed.state, DeviceState::Pending);
    assert_eq!(listed.enrolment_id.to_string(), enrolment_id);
    {
        let binding = listed.binding;
        let the_code = OneTimeCode::parse(&code).expect("code");
        assert!(
            the_code.verify_binding(&key.public(), &binding),
            "the listed binding does not verify under the code"
        );
        assert!(
            !OneTimeCode::generate().verify_binding(&key.public(), &binding),
            "the binding verifies under another code"
        );
        assert!(
            !the_code.verify_binding(&DeviceSigningKey::generate().public(), &binding),
            "the binding verifies for another device key"
        );
    }
    // The listing never shows a code.
    let list = w.admin().get("/v1/enrolments").await.expect(200, "list");
    assert!(
        !list.text().contains(&code),
        "GET /v1/enrolments shows a code"
    );
    assert!(
        !list.text().contains(&code.replace('-', "")),
        "GET /v1/enrolments shows a code"
    );

    // Used, revoked, expired, unknown: 403, one message for all.
    let mut messages = Vec::new();
    let key2 = DeviceSigningKey::generate();
    let r = anon
        .post_json("/v1/enrol", &enrol(code.clone(), &key2, &code))
        .await
        .expect(403, "enrol with a used code");
    messages.push(r.text());
    let (id, revoked) = w.enrolment_code().await;
    w.admin()
        .delete(&format!("/v1/enrolments/{id}"))
        .await
        .expect(204, "revoke an enrolment");
    let r = anon
        .post_json("/v1/enrol", &enrol(revoked.clone(), &key2, &revoked))
        .await
        .expect(403, "enrol with a revoked code");
    messages.push(r.text());
    let r = w
        .admin()
        .post_json(
            "/v1/enrolments",
            &CreateEnrolment {
                clinician: clinician(),
                expires_in_secs: Some(1),
            },
        )
        .await
        .expect(201, "a 1 s enrolment code");
    let created: EnrolmentCreated = r.parse();
    let short = created.code.expose().to_string();
    let short_id = created.id;
    // Wait for the listing to say expired (asking does not use the code).
    let admin = w.admin();
    sealcam_test_support::store::eventually(
        "the 1 s enrolment code to be listed as expired",
        Duration::from_secs(15),
        || {
            let admin = admin.clone();
            async move {
                let list: Vec<EnrolmentSummary> = admin.get("/v1/enrolments").await.parse();
                list.iter()
                    .any(|e| e.id == short_id && e.state == EnrolmentState::Expired)
                    .then_some(())
            }
        },
    )
    .await;
    let r = anon
        .post_json("/v1/enrol", &enrol(short.clone(), &key2, &short))
        .await
        .expect(403, "enrol with an expired code");
    messages.push(r.text());
    let unknown = "0123-4567-89AB-CDEF-GHJK-MNPQ-RSTV-WXYZ";
    let r = anon
        .post_json("/v1/enrol", &enrol(unknown.into(), &key2, unknown))
        .await
        .expect(403, "enrol with an unknown code");
    messages.push(r.text());
    assert!(
        messages.windows(2).all(|m| m[0] == m[1]),
        "used/revoked/expired/unknown codes are told apart by the answer"
    );
    // A proof over another text than the canonical code is refused and
    // enrols nothing.
    let (_, code3) = w.enrolment_code().await;
    let key3 = DeviceSigningKey::generate();
    let r = anon
        .post_json("/v1/enrol", &enrol(code3.clone(), &key3, &as_typed(&code3)))
        .await;
    assert!(
        (400..500).contains(&r.status),
        "enrolment proof over a non-canonical code: {r:?}"
    );
    let devices = w
        .admin()
        .get("/v1/devices")
        .await
        .expect(200, "devices")
        .text();
    assert!(
        !devices.contains(&key3.public().id().to_string()),
        "a device with a bad proof was enrolled"
    );

    // Certificates.
    let mut pending = w.enrol_pending().await;
    let me: DeviceMe = w
        .as_(pending.auth())
        .get("/v1/devices/me")
        .await
        .expect(200, "me (pending)")
        .parse();
    assert_eq!(me.state, DeviceState::Pending);
    assert_eq!(me.certificate, None);
    let put = |id: &str, cert: &DeviceCertificate| {
        let admin = w.admin();
        let path = format!("/v1/devices/{id}/certificate");
        let bytes = cert.to_bytes();
        async move { admin.put_bytes(&path, bytes).await }
    };
    let t = now();
    let other_org = OrgSigningKey::generate();
    let other_key = DeviceSigningKey::generate();
    let other_clinician = sealcam_core::record::Clinician::new(
        "Dr Other Person",
        sealcam_core::record::RegistrationBody::Gmc,
        "1234567",
    )
    .expect("clinician");
    let pk = pending.key.public();
    for (what, cert) in [
        (
            "signed by another organisation",
            DeviceCertificate::issue(&other_org, &pk, &clinician(), t - 60, t + 86_400)
                .expect("issue"),
        ),
        (
            "for another device key",
            certificate_for(&w.org, &other_key.public()),
        ),
        (
            "for another clinician",
            DeviceCertificate::issue(&w.org, &pk, &other_clinician, t - 60, t + 86_400)
                .expect("issue"),
        ),
        (
            "expired",
            DeviceCertificate::issue(&w.org, &pk, &clinician(), t - 7200, t - 3600).expect("issue"),
        ),
        (
            "not yet valid",
            DeviceCertificate::issue(&w.org, &pk, &clinician(), t + 3600, t + 7200).expect("issue"),
        ),
    ] {
        put(&pending.id, &cert)
            .await
            .expect(400, &format!("certificate {what}"));
    }
    let me: DeviceMe = w
        .as_(pending.auth())
        .get("/v1/devices/me")
        .await
        .expect(200, "me (still pending)")
        .parse();
    assert_eq!(
        me.state,
        DeviceState::Pending,
        "a refused certificate activated it"
    );
    w.activate(&mut pending).await;
    let me: DeviceMe = w
        .as_(pending.auth())
        .get("/v1/devices/me")
        .await
        .expect(200, "me (active)")
        .parse();
    assert_eq!(me.state, DeviceState::Active);
    let cert_bytes = pending.certificate.as_ref().expect("cert").to_bytes();
    assert_eq!(
        me.certificate,
        Some(cert_bytes),
        "devices/me returns the certificate uploaded"
    );
    // Renewal of an active device's certificate.
    let renewed =
        DeviceCertificate::issue(&w.org, &pk, &clinician(), t - 30, t + 2 * 86_400).expect("issue");
    put(&pending.id, &renewed)
        .await
        .expect(200, "renewed certificate for an active device");
    // Unknown device: 404; revoked device: 409.
    put(&sealcam_test_support::store::hex(&[0x5a; 16]), &renewed)
        .await
        .expect(404, "certificate for an unknown device");
    w.admin()
        .delete(&format!("/v1/devices/{}", pending.id))
        .await
        .expect(204, "revoke");
    put(&pending.id, &renewed)
        .await
        .expect(409, "certificate for a revoked device");
    w.as_(pending.auth())
        .get("/v1/devices/me")
        .await
        .expect(401, "a revoked device");
}

#[tokio::test(flavor = "multi_thread")]
async fn bootstrap_code_is_new_at_every_start_until_bootstrapped() {
    let mut store = StoreProcess::start();
    let first = store.bootstrap_code.clone().expect("code");
    store.restart();
    let second = store.bootstrap_code.clone().expect("code after restart");
    assert_ne!(first, second, "the same bootstrap code after a restart");
    let org = Arc::new(OrgSigningKey::generate());
    let client = store.client();
    sealcam_test_support::store::bootstrap(&client, &org, &first)
        .await
        .expect(403, "bootstrap with the previous start's code");
    sealcam_test_support::store::bootstrap(&client, &org, &as_typed(&second))
        .await
        .expect(200, "bootstrap with the current code, typed loosely");
}

#[tokio::test(flavor = "multi_thread")]
async fn anonymous_endpoints_are_rate_limited_per_ip() {
    let store = StoreProcess::start_with_config(
        "
[rate_limit]
ip_per_minute = 1
ip_burst = 3
link_per_minute = 100000
link_burst = 100000
",
    );
    let anon = store.client().anonymous();
    let key = DeviceSigningKey::generate();
    let code = "0123-4567-89AB-CDEF-GHJK-MNPQ-RSTV-WXYZ";
    let body = EnrolRequest::new(&OneTimeCode::parse(code).expect("a well-formed code"), &key);
    let mut statuses = Vec::new();
    let mut limited = None;
    for _ in 0..10 {
        let r = anon.post_json("/v1/enrol", &body).await;
        statuses.push(r.status);
        if r.status == 429 {
            limited = Some(r);
            break;
        }
    }
    let r = limited.unwrap_or_else(|| {
        panic!("10 anonymous enrolments with burst 3, 1/min: never 429 ({statuses:?})")
    });
    assert!(
        statuses[..statuses.len() - 1].iter().all(|s| *s == 403),
        "before the limit, an unknown code is 403: {statuses:?}"
    );
    assert!(statuses.len() >= 4, "429 within the burst: {statuses:?}");
    let retry = r.header("retry-after").expect("429 carries retry-after");
    assert!(
        retry.trim().parse::<u64>().is_ok_and(|s| s >= 1),
        "retry-after is not a number of seconds: {retry}"
    );
    // Bootstrap is anonymous too: limited from the same IP.
    let org = Arc::new(OrgSigningKey::generate());
    let code = store.bootstrap_code.clone().expect("code");
    sealcam_test_support::store::bootstrap(&store.client(), &org, &code)
        .await
        .expect(429, "bootstrap from a rate-limited IP");
    // Signed requests are not: /healthz and /v1/info are not anonymous-
    // limited endpoints either.
    anon.get("/healthz")
        .await
        .expect(200, "healthz from a rate-limited IP");
}
