//! In-process API tests: the real router and storage on a temp data
//! directory, driven without TLS through `tower::ServiceExt::oneshot`.
//! (The end-to-end suites against the real process live in `tests/`.)

use sealcam_test_support::fixtures as common;

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use axum::Router;
use http_body_util::BodyExt;
use sealcam_core::envelope::{self, Signer};
use sealcam_core::keys::{
    DeviceCertificate, DeviceSigningKey, DirectoryEntry, OrgSigningKey, RecipientDirectory,
    StaffSigningKey,
};
use sealcam_core::protocol::api::{
    AddStaff, BootstrapRequest, CodeInput, CreateEnrolment, CreateLink, DeviceMe, DeviceState,
    EnrolRequest, Enrolled, EnrolmentCreated, ErrorBody, InboxEntry, InboxSource, LinkCreated,
    LinkInfo, StaffName,
};
use sealcam_core::protocol::request::{
    authorization, authorize, content_digest, content_digest_header, RequestSigner, RequestTarget,
};
use sealcam_core::protocol::Receipt;
use sealcam_store::config::Config;
use sealcam_store::ids::OneTimeCode;
use sealcam_store::server::{self, Opened};
use sealcam_store::state::AppState;
use serde::de::DeserializeOwned;
use serde::Serialize;
use tower::ServiceExt;

struct Harness {
    _dir: tempfile::TempDir,
    data: std::path::PathBuf,
    state: AppState,
    app: Router,
    bootstrap: Option<OneTimeCode>,
}

fn now() -> u64 {
    sealcam_store::ids::unix_now()
}

fn harness_with(tweak: impl FnOnce(&mut Config)) -> Harness {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut config = Config {
        data: dir.path().join("data"),
        ..Config::default()
    };
    tweak(&mut config);
    let Opened {
        state,
        bootstrap_code,
        ..
    } = server::open(config).expect("open");
    Harness {
        data: dir.path().join("data"),
        _dir: dir,
        app: server::app(state.clone()),
        state,
        bootstrap: bootstrap_code,
    }
}

fn harness() -> Harness {
    harness_with(|_| {})
}

struct Resp {
    status: StatusCode,
    body: Vec<u8>,
}

impl Resp {
    /// The body as the API type `T`.
    fn parse<T: DeserializeOwned>(&self) -> T {
        serde_json::from_slice(&self.body).expect("the API's JSON")
    }
}

impl Harness {
    async fn send(&self, req: Request<Body>) -> Resp {
        let resp = self.app.clone().oneshot(req).await.expect("infallible");
        let status = resp.status();
        let body = resp
            .into_body()
            .collect()
            .await
            .expect("body")
            .to_bytes()
            .to_vec();
        Resp { status, body }
    }

    fn signed_req<K: RequestSigner>(
        &self,
        key: &K,
        method: Method,
        path: &str,
        body: Vec<u8>,
    ) -> Request<Body> {
        let digest = content_digest(&body);
        let store = self.state.store_key.public().id();
        let auth = authorize(
            key,
            &RequestTarget {
                store: &store,
                method: method.as_str(),
                path_and_query: path,
                content_digest: &digest,
            },
            sealcam_platform::clock::unix_now(),
        );
        Request::builder()
            .method(method)
            .uri(path)
            .header(header::AUTHORIZATION, auth)
            .header("x-sealcam-content-blake3", content_digest_header(&digest))
            .body(Body::from(body))
            .expect("request")
    }

    async fn signed<K: RequestSigner>(
        &self,
        key: &K,
        method: Method,
        path: &str,
        body: Vec<u8>,
    ) -> Resp {
        self.send(self.signed_req(key, method, path, body)).await
    }

    async fn json<K: RequestSigner, B: Serialize>(
        &self,
        key: &K,
        method: Method,
        path: &str,
        body: B,
    ) -> Resp {
        let bytes = serde_json::to_vec(&body).expect("json");
        self.signed(key, method, path, bytes).await
    }

    async fn anon<B: Serialize>(&self, method: Method, path: &str, body: B) -> Resp {
        self.send(
            Request::builder()
                .method(method)
                .uri(path)
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(serde_json::to_vec(&body).expect("json")))
                .expect("request"),
        )
        .await
    }

    async fn link(&self, token: &str, method: Method, path: &str, body: Vec<u8>) -> Resp {
        self.send(
            Request::builder()
                .method(method)
                .uri(path)
                .header(header::AUTHORIZATION, format!("Sealcam-Link {token}"))
                .body(Body::from(body))
                .expect("request"),
        )
        .await
    }
}

/// A store with an org key, a directory of two recipients, an active
/// device and a staff member for recipient 1.
struct World {
    h: Harness,
    org: OrgSigningKey,
    device: DeviceSigningKey,
    cert: DeviceCertificate,
    staff: StaffSigningKey,
}

fn directory(org: &OrgSigningKey, version: u64) -> Vec<u8> {
    RecipientDirectory {
        version,
        issued_at: now(),
        expires_at: now() + 86_400,
        entries: vec![
            DirectoryEntry {
                recipient: common::identity(1).recipient(),
                name: "Dermatology records".into(),
                role: "records".into(),
            },
            DirectoryEntry {
                recipient: common::identity(2).recipient(),
                name: "Medical photography".into(),
                role: "photography".into(),
            },
        ],
    }
    .sign(org)
    .expect("sign the directory")
    .to_bytes()
}

async fn world_with(tweak: impl FnOnce(&mut Config)) -> World {
    let h = harness_with(tweak);
    let org = OrgSigningKey::generate();
    let code = h.bootstrap.clone().expect("bootstrap code");
    let r = h
        .json(
            &org,
            Method::POST,
            "/v1/bootstrap",
            BootstrapRequest {
                code: CodeInput::from(&code),
                org_key: org.public(),
            },
        )
        .await;
    assert_eq!(
        r.status,
        StatusCode::OK,
        "{:?}",
        String::from_utf8_lossy(&r.body)
    );
    let r = h
        .signed(&org, Method::PUT, "/v1/directory", directory(&org, 1))
        .await;
    assert_eq!(r.status, StatusCode::OK);

    let r = h
        .json(
            &org,
            Method::POST,
            "/v1/enrolments",
            CreateEnrolment {
                clinician: common::clinician(),
                expires_in_secs: None,
            },
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED);
    let code = r.parse::<EnrolmentCreated>().code;
    let device = DeviceSigningKey::generate();
    let r = h
        .anon(Method::POST, "/v1/enrol", EnrolRequest::new(&code, &device))
        .await;
    assert_eq!(
        r.status,
        StatusCode::CREATED,
        "{:?}",
        String::from_utf8_lossy(&r.body)
    );
    assert_eq!(r.parse::<Enrolled>().state, DeviceState::Pending);
    let device_id = device.public().id();

    // Pending: only /v1/devices/me.
    let r = h
        .signed(&device, Method::GET, "/v1/devices/me", vec![])
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.parse::<DeviceMe>().state, DeviceState::Pending);
    let r = h
        .json(&device, Method::POST, "/v1/links", CreateLink::default())
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);

    let cert = DeviceCertificate::issue(
        &org,
        &device.public(),
        &common::clinician(),
        now() - 3600,
        now() + 365 * 86_400,
    )
    .expect("issue");
    let r = h
        .signed(
            &org,
            Method::PUT,
            &format!("/v1/devices/{device_id}/certificate"),
            cert.to_bytes(),
        )
        .await;
    assert_eq!(
        r.status,
        StatusCode::OK,
        "{:?}",
        String::from_utf8_lossy(&r.body)
    );

    let staff = StaffSigningKey::generate();
    let r = h
        .json(
            &org,
            Method::POST,
            "/v1/staff",
            AddStaff {
                auth_key: staff.public(),
                name: StaffName::new("Records clerk").expect("name"),
                recipient: common::identity(1).recipient(),
            },
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED);
    World {
        h,
        org,
        device,
        cert,
        staff,
    }
}

async fn world() -> World {
    world_with(|_| {}).await
}

fn sealed(w: &World, image_len: usize, recipients: &[u32], seed: &str) -> envelope::Sealed {
    let image = common::jpeg_of_len(image_len);
    let recipients: Vec<_> = recipients
        .iter()
        .map(|n| common::identity(*n).recipient())
        .collect();
    envelope::seal_parts(
        &image,
        &common::record_for(&image).to_json(),
        &recipients,
        Signer::Device {
            key: &w.device,
            certificate: &w.cert,
        },
        now(),
        &mut common::TestRng::new(seed),
    )
    .expect("seal")
}

#[tokio::test]
async fn upload_inbox_fetch_filed_and_audit() {
    // Policy any (the default is all): filing by the one staff member
    // releases the bytes although the envelope names a second recipient.
    let w =
        world_with(|c| c.retention.filed_policy = sealcam_store::config::FiledPolicy::Any).await;
    let h = &w.h;
    let env = sealed(&w, 20_000, &[1, 2], "one");
    let path = format!("/v1/envelopes/{}", env.id);
    let r = h
        .signed(&w.device, Method::PUT, &path, env.bytes.clone())
        .await;
    assert_eq!(
        r.status,
        StatusCode::CREATED,
        "{:?}",
        String::from_utf8_lossy(&r.body)
    );
    let receipt = Receipt::from_json(std::str::from_utf8(&r.body).expect("utf8")).expect("receipt");
    receipt
        .confirms(&h.state.store_key.public(), &env.bytes)
        .expect("receipt confirms the bytes");

    // Same bytes again: same receipt, 200.
    let again = h
        .signed(&w.device, Method::PUT, &path, env.bytes.clone())
        .await;
    assert_eq!(again.status, StatusCode::OK);
    assert_eq!(again.body, r.body);

    // Different bytes under the same id: 409 (same seed = same id).
    let other = sealed(&w, 21_000, &[1, 2], "one");
    assert_eq!(other.id, env.id);
    let r = h.signed(&w.device, Method::PUT, &path, other.bytes).await;
    assert_eq!(r.status, StatusCode::CONFLICT);

    // Staff inbox, fetch, filed.
    let r = h.signed(&w.staff, Method::GET, "/v1/inbox", vec![]).await;
    assert_eq!(r.status, StatusCode::OK);
    let inbox: Vec<InboxEntry> = r.parse();
    assert_eq!(inbox.len(), 1);
    assert_eq!(inbox[0].envelope_id, env.id);
    assert_eq!(inbox[0].source, InboxSource::Device);
    let r = h.signed(&w.staff, Method::GET, &path, vec![]).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body, env.bytes);
    // Not for the device, nor the admin.
    let r = h.signed(&w.device, Method::GET, &path, vec![]).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = h.signed(&w.org, Method::GET, "/v1/inbox", vec![]).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = h
        .signed(&w.staff, Method::POST, &format!("{path}/filed"), vec![])
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    let r = h
        .signed(&w.staff, Method::POST, &format!("{path}/filed"), vec![])
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "filed is idempotent");
    let r = h.signed(&w.staff, Method::GET, "/v1/inbox", vec![]).await;
    assert_eq!(r.parse::<Vec<InboxEntry>>().len(), 0);

    // Retention (policy any): the filed envelope's bytes go.
    let n = sealcam_store::retention::sweep(&h.state)
        .await
        .expect("sweep");
    assert_eq!(n, 1);
    let r = h.signed(&w.staff, Method::GET, &path, vec![]).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    // A retry of the upload still gets its receipt.
    let r = h
        .signed(&w.device, Method::PUT, &path, env.bytes.clone())
        .await;
    assert_eq!(r.status, StatusCode::OK);

    // Audit: admin reads JSON lines; the chain verifies offline.
    let r = h
        .signed(&w.org, Method::GET, "/v1/audit?after=0&limit=100", vec![])
        .await;
    assert_eq!(r.status, StatusCode::OK);
    let text = String::from_utf8(r.body).expect("utf8");
    for action in [
        "bootstrap",
        "directory.publish",
        "enrolment.create",
        "device.enrol",
        "device.approve",
        "staff.add",
        "envelope.upload",
        "envelope.fetch",
        "envelope.filed",
        "envelope.delete",
    ] {
        assert!(
            text.contains(&format!("\"action\":\"{action}\"")),
            "{action} audited"
        );
    }
    let n = sealcam_store::offline::verify_audit(&h.data).expect("chain intact");
    assert!(n >= 10);
}

#[tokio::test]
async fn request_auth_rejects_replay_tamper_and_unknown_keys() {
    let w = world().await;
    let h = &w.h;
    let req = || w.h.signed_req(&w.staff, Method::GET, "/v1/inbox", vec![]);
    // Build one request and send an identical copy twice.
    let first = req();
    let (parts, _) = first.into_parts();
    let copy = |p: &axum::http::request::Parts| {
        let mut b = Request::builder()
            .method(p.method.clone())
            .uri(p.uri.clone());
        for (k, v) in &p.headers {
            b = b.header(k, v);
        }
        b.body(Body::empty()).expect("request")
    };
    assert_eq!(h.send(copy(&parts)).await.status, StatusCode::OK);
    let replay = h.send(copy(&parts)).await;
    assert_eq!(
        replay.status,
        StatusCode::UNAUTHORIZED,
        "nonce replay refused"
    );

    // Signature over a different path.
    let mut r = w.h.signed_req(&w.staff, Method::GET, "/v1/inbox", vec![]);
    *r.uri_mut() = "/v1/links".parse().expect("uri");
    assert_eq!(h.send(r).await.status, StatusCode::UNAUTHORIZED);

    // Body that does not match the signed digest.
    let r =
        w.h.signed_req(&w.org, Method::POST, "/v1/enrolments", b"{}".to_vec());
    let (p, _) = r.into_parts();
    let r = Request::from_parts(p, Body::from("{\"x\":1}"));
    assert_eq!(h.send(r).await.status, StatusCode::UNAUTHORIZED);

    // Stale timestamp.
    let digest = content_digest(b"");
    let store = w.h.state.store_key.public().id();
    let stale = authorization(
        &w.staff,
        &RequestTarget {
            store: &store,
            method: "GET",
            path_and_query: "/v1/inbox",
            content_digest: &digest,
        },
        now() - 3600,
        [9; 16],
    );
    let r = Request::builder()
        .uri("/v1/inbox")
        .header(header::AUTHORIZATION, stale)
        .header("x-sealcam-content-blake3", content_digest_header(&digest))
        .body(Body::empty())
        .expect("request");
    assert_eq!(h.send(r).await.status, StatusCode::UNAUTHORIZED);

    // Unknown staff key; no header at all.
    let stranger = StaffSigningKey::generate();
    assert_eq!(
        h.signed(&stranger, Method::GET, "/v1/inbox", vec![])
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );
    let r = Request::builder()
        .uri("/v1/inbox")
        .body(Body::empty())
        .expect("request");
    assert_eq!(h.send(r).await.status, StatusCode::UNAUTHORIZED);

    // Removed staff and revoked devices fail from then on.
    let sid = w.staff.public().id();
    let r = h
        .signed(&w.org, Method::DELETE, &format!("/v1/staff/{sid}"), vec![])
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert_eq!(
        h.signed(&w.staff, Method::GET, "/v1/inbox", vec![])
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );
    let did = w.device.public().id();
    let r = h
        .signed(
            &w.org,
            Method::DELETE,
            &format!("/v1/devices/{did}"),
            vec![],
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert_eq!(
        h.signed(&w.device, Method::GET, "/v1/directory", vec![])
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );
    // Auth failures are audited.
    let text = h
        .signed(&w.org, Method::GET, "/v1/audit?limit=1000", vec![])
        .await
        .body;
    assert!(String::from_utf8_lossy(&text).contains("auth.failure"));
}

#[tokio::test]
async fn bootstrap_and_enrolment_codes_are_single_use() {
    let w = world().await;
    let h = &w.h;
    let org2 = OrgSigningKey::generate();
    let r = h
        .json(
            &org2,
            Method::POST,
            "/v1/bootstrap",
            BootstrapRequest {
                code: CodeInput::new("AAAA-AAAA-AAAA-AAAA-AAAA-AAAA-AAAA-AAAA"),
                org_key: org2.public(),
            },
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT);

    let r = h
        .json(
            &w.org,
            Method::POST,
            "/v1/enrolments",
            CreateEnrolment {
                clinician: common::clinician(),
                expires_in_secs: Some(600),
            },
        )
        .await;
    let code = r.parse::<EnrolmentCreated>().code;
    let enrol = |key: &DeviceSigningKey| EnrolRequest::new(&code, key);
    let d1 = DeviceSigningKey::generate();
    let d2 = DeviceSigningKey::generate();
    assert_eq!(
        h.anon(Method::POST, "/v1/enrol", enrol(&d1)).await.status,
        StatusCode::CREATED
    );
    assert_eq!(
        h.anon(Method::POST, "/v1/enrol", enrol(&d2)).await.status,
        StatusCode::FORBIDDEN
    );
    // A proof by another key is refused.
    let mut bad = enrol(&d2);
    bad.device_key = DeviceSigningKey::generate().public();
    assert_eq!(
        h.anon(Method::POST, "/v1/enrol", bad).await.status,
        StatusCode::BAD_REQUEST
    );
    // A certificate for another clinician is refused.
    let other = sealcam_core::record::Clinician::new(
        "Dr Other",
        sealcam_core::record::RegistrationBody::Nmc,
        "12AB",
    )
    .expect("clinician");
    let cert = DeviceCertificate::issue(&w.org, &d1.public(), &other, now() - 10, now() + 1000)
        .expect("issue");
    let r = h
        .signed(
            &w.org,
            Method::PUT,
            &format!("/v1/devices/{}/certificate", d1.public().id()),
            cert.to_bytes(),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    // The listing never shows codes.
    let r = h
        .signed(&w.org, Method::GET, "/v1/enrolments", vec![])
        .await;
    assert!(!String::from_utf8_lossy(&r.body).contains(code.expose()));
    // Directory versions must increase.
    let r = h
        .signed(&w.org, Method::PUT, "/v1/directory", directory(&w.org, 1))
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT);
}

#[tokio::test]
async fn upload_rejects() {
    let w = world_with(|c| c.limits.max_envelope_bytes = 100_000).await;
    let h = &w.h;
    // Unknown recipient (3 is not in the directory).
    let env = sealed(&w, 2_000, &[1, 3], "r1");
    let r = h
        .signed(
            &w.device,
            Method::PUT,
            &format!("/v1/envelopes/{}", env.id),
            env.bytes,
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    // Path id differs from the id inside.
    let env = sealed(&w, 2_000, &[1], "r2");
    let r = h
        .signed(
            &w.device,
            Method::PUT,
            "/v1/envelopes/00000000000000000000000000000000",
            env.bytes.clone(),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    // Tampered byte: signature fails.
    let mut bad = env.bytes.clone();
    let n = bad.len();
    bad[n - 100] ^= 1;
    let r = h
        .signed(
            &w.device,
            Method::PUT,
            &format!("/v1/envelopes/{}", env.id),
            bad,
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    // Too large.
    let env = sealed(&w, 150_000, &[1], "r3");
    let r = h
        .signed(
            &w.device,
            Method::PUT,
            &format!("/v1/envelopes/{}", env.id),
            env.bytes,
        )
        .await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE);
    // Nothing was stored; no staging files are left behind.
    assert_eq!(h.state.blobs.list().expect("list").len(), 0);
    let tmp: Vec<_> = std::fs::read_dir(h.data.join("blobs/tmp"))
        .expect("tmp")
        .collect();
    assert!(tmp.is_empty(), "staging emptied");
}

#[tokio::test]
async fn patient_link_flow() {
    let w = world().await;
    let h = &w.h;
    let ctx = b"opaque sealed context".to_vec();
    let r = h
        .json(
            &w.staff,
            Method::POST,
            "/v1/links",
            CreateLink {
                context: Some(ctx.clone()),
                max_uploads: Some(1),
                ..CreateLink::default()
            },
        )
        .await;
    assert_eq!(
        r.status,
        StatusCode::CREATED,
        "{:?}",
        String::from_utf8_lossy(&r.body)
    );
    let link: LinkCreated = r.parse();
    let token = link.token.expose().to_string();
    assert_eq!(token.len(), 43);
    let r = h.link(&token, Method::GET, "/v1/link", vec![]).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.parse::<LinkInfo>().uploads_left, 1);
    let r = h.link(&token, Method::GET, "/v1/directory", vec![]).await;
    assert_eq!(r.status, StatusCode::OK);

    // An unsigned envelope, as the patient page makes.
    let image = common::jpeg_of_len(5_000);
    let env = envelope::seal_parts(
        &image,
        &common::record_for(&image).to_json(),
        &[common::identity(1).recipient()],
        Signer::Unsigned,
        now(),
        &mut common::TestRng::new("patient"),
    )
    .expect("seal");
    let path = format!("/v1/link/envelopes/{}", env.id);
    let r = h.link(&token, Method::PUT, &path, env.bytes.clone()).await;
    assert_eq!(
        r.status,
        StatusCode::CREATED,
        "{:?}",
        String::from_utf8_lossy(&r.body)
    );
    // Retry: same receipt even though the link is used up.
    let r = h.link(&token, Method::PUT, &path, env.bytes.clone()).await;
    assert_eq!(r.status, StatusCode::OK);
    // Used up.
    let env2 = envelope::seal_parts(
        &image,
        b"{}",
        &[common::identity(1).recipient()],
        Signer::Unsigned,
        now(),
        &mut common::TestRng::new("patient 2"),
    )
    .expect("seal");
    let r = h
        .link(
            &token,
            Method::PUT,
            &format!("/v1/link/envelopes/{}", env2.id),
            env2.bytes,
        )
        .await;
    assert_eq!(r.status, StatusCode::GONE);
    // Unsigned envelopes are refused on the device route.
    let r = h
        .signed(
            &w.device,
            Method::PUT,
            &format!("/v1/envelopes/{}", env.id),
            env.bytes.clone(),
        )
        .await;
    assert_eq!(
        r.status,
        StatusCode::OK,
        "already stored: same bytes, same receipt"
    );

    let inbox: Vec<InboxEntry> = h
        .signed(&w.staff, Method::GET, "/v1/inbox", vec![])
        .await
        .parse();
    assert_eq!(inbox[0].source, InboxSource::Link);
    assert_eq!(inbox[0].context, Some(ctx));
    assert_eq!(inbox[0].link_id, Some(link.link_id));

    // Revoke by its creator; then the token is refused with 410.
    let r = h
        .signed(
            &w.staff,
            Method::DELETE,
            &format!("/v1/links/{}", link.link_id),
            vec![],
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert_eq!(
        h.link(&token, Method::GET, "/v1/link", vec![]).await.status,
        StatusCode::GONE
    );
    // A wrong token: 401.
    let r = h
        .link(&"A".repeat(43), Method::GET, "/v1/link", vec![])
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    // The audit log never holds the token.
    let text = h
        .signed(&w.org, Method::GET, "/v1/audit", vec![])
        .await
        .body;
    let text = String::from_utf8_lossy(&text);
    assert!(text.contains("link.use") && !text.contains(&token));
}

#[tokio::test]
async fn link_rate_limit() {
    let w = world_with(|c| {
        c.rate_limit.link_burst = 2;
        c.rate_limit.link_per_minute = 1;
    })
    .await;
    let h = &w.h;
    let r = h
        .json(&w.device, Method::POST, "/v1/links", CreateLink::default())
        .await;
    assert_eq!(r.status, StatusCode::CREATED);
    let token = r.parse::<LinkCreated>().token.expose().to_string();
    for _ in 0..2 {
        assert_eq!(
            h.link(&token, Method::GET, "/v1/link", vec![]).await.status,
            StatusCode::OK
        );
    }
    let r = h.link(&token, Method::GET, "/v1/link", vec![]).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
}

#[test]
fn blobs_without_rows_are_removed_at_start() {
    let h = harness();
    let staged = h.state.blobs.staging_path();
    std::fs::write(&staged, b"orphan").expect("write");
    let id = sealcam_core::envelope::EnvelopeId([3; 16]);
    h.state.blobs.commit(id, &staged).expect("commit");
    let partial = h.state.blobs.staging_path();
    std::fs::write(&partial, b"half").expect("write");
    let removed =
        server::recover(h.state.catalog.as_ref(), h.state.blobs.as_ref()).expect("recover");
    assert_eq!(removed, 1);
    assert!(h.state.blobs.open(id).expect("open").is_none());
    assert!(!partial.exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_uploads_of_one_id_do_not_corrupt_each_other() {
    let w = world().await;
    let a = sealed(&w, 50_000, &[1], "race");
    let b = sealed(&w, 60_000, &[1], "race");
    assert_eq!(a.id, b.id);
    let path = format!("/v1/envelopes/{}", a.id);
    let mut tasks = Vec::new();
    for i in 0..8 {
        let bytes = if i % 2 == 0 {
            a.bytes.clone()
        } else {
            b.bytes.clone()
        };
        let req = w.h.signed_req(&w.device, Method::PUT, &path, bytes);
        let app = w.h.app.clone();
        tasks.push(tokio::spawn(async move {
            app.oneshot(req).await.expect("infallible").status()
        }));
    }
    let mut statuses = Vec::new();
    for t in tasks {
        statuses.push(t.await.expect("join"));
    }
    let created = statuses
        .iter()
        .filter(|s| **s == StatusCode::CREATED)
        .count();
    let ok = statuses.iter().filter(|s| **s == StatusCode::OK).count();
    let conflict = statuses
        .iter()
        .filter(|s| **s == StatusCode::CONFLICT)
        .count();
    assert_eq!(created, 1, "{statuses:?}");
    assert_eq!(ok + conflict, 7, "{statuses:?}");
    assert_eq!(ok, 3, "the winner's 3 twins get its receipt: {statuses:?}");
    // Whatever won, the stored bytes are exactly one of the two.
    let r = w.h.signed(&w.staff, Method::GET, &path, vec![]).await;
    assert!(r.body == a.bytes || r.body == b.bytes);
}

#[tokio::test]
async fn link_uploads_verify_signed_envelopes_in_full() {
    let w = world().await;
    let h = &w.h;
    let r = h
        .json(&w.staff, Method::POST, "/v1/links", CreateLink::default())
        .await;
    let token = r.parse::<LinkCreated>().token.expose().to_string();
    let env = sealed(&w, 3_000, &[1], "signed via link");
    let mut bad = env.bytes.clone();
    let n = bad.len();
    bad[n - 1] ^= 1; // in the signature
    let path = format!("/v1/link/envelopes/{}", env.id);
    let r = h.link(&token, Method::PUT, &path, bad).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    let r = h.link(&token, Method::PUT, &path, env.bytes.clone()).await;
    assert_eq!(r.status, StatusCode::CREATED);
}

/// Every error is the JSON error body, also the ones the router makes
/// itself; a path with percent-encoding or an id in upper case is refused,
/// so a resource has one spelling (issue 11 #17).
#[tokio::test]
async fn errors_are_json_and_paths_have_one_spelling() {
    let w = world().await;
    let plain = |method: Method, path: &str| {
        Request::builder()
            .method(method)
            .uri(path)
            .body(Body::empty())
            .expect("request")
    };
    for (req, status, code) in [
        (plain(Method::GET, "/v1/nothing-here"), 404, "not_found"),
        (plain(Method::DELETE, "/healthz"), 405, "method_not_allowed"),
        (
            plain(Method::GET, &format!("/v1/envelopes/{}", "%61".repeat(32))),
            400,
            "bad_path",
        ),
    ] {
        let r = w.h.send(req).await;
        assert_eq!(
            r.status.as_u16(),
            status,
            "{}",
            String::from_utf8_lossy(&r.body)
        );
        let e: ErrorBody = r.parse();
        assert_eq!(e.error, code);
    }
    let upper = "AB".repeat(16);
    let r =
        w.h.signed(
            &w.device,
            Method::PUT,
            &format!("/v1/envelopes/{upper}"),
            vec![0; 100],
        )
        .await;
    assert_eq!(
        r.status.as_u16(),
        400,
        "{}",
        String::from_utf8_lossy(&r.body)
    );
    let e: ErrorBody = r.parse();
    assert_eq!(e.error, "bad_id");
}

/// A request signed for another store (same organisation key, say a second
/// store an admin also runs) is refused: the store's identity is in the
/// signed message (issue 11 #12).
#[tokio::test]
async fn a_request_signed_for_another_store_is_refused() {
    let w = world().await;
    let digest = content_digest(b"");
    let sign_for = |store: &sealcam_core::keys::StoreId| {
        let auth = authorize(
            &w.staff,
            &RequestTarget {
                store,
                method: "GET",
                path_and_query: "/v1/inbox",
                content_digest: &digest,
            },
            now(),
        );
        Request::builder()
            .uri("/v1/inbox")
            .header(header::AUTHORIZATION, auth)
            .header("x-sealcam-content-blake3", content_digest_header(&digest))
            .body(Body::empty())
            .expect("request")
    };
    let other = sealcam_core::keys::StoreSigningKey::generate()
        .public()
        .id();
    assert_eq!(
        w.h.send(sign_for(&other)).await.status,
        StatusCode::UNAUTHORIZED
    );
    let this = w.h.state.store_key.public().id();
    assert_eq!(w.h.send(sign_for(&this)).await.status, StatusCode::OK);
}
