//! The API types: routes agree with their patterns, the JSON is the bytes
//! the store sent before these types existed, request bodies are refused
//! with the store's codes, and secrets stay out of `Debug`.

use serde_json::json;

use super::*;
use crate::envelope::EnvelopeId;
use crate::keys::{
    DeviceId, DeviceSigningKey, OrgSigningKey, RecipientIdentity, StaffId, StaffSigningKey,
    StoreSigningKey,
};
use crate::protocol::enrolment::OneTimeCode;
use crate::record::{Clinician, RegistrationBody};

fn clinician() -> Clinician {
    Clinician::new("Dr A Example", RegistrationBody::Gmc, "1234567").expect("clinician")
}

/// The same bytes as the `serde_json::Value` the store used to build.
#[track_caller]
fn same_bytes<T: serde::Serialize>(typed: &T, hand_built: serde_json::Value) {
    assert_eq!(
        serde_json::to_string(typed).expect("typed"),
        serde_json::to_string(&hand_built).expect("hand-built")
    );
}

/// A route of each endpoint, with ids.
fn sample(e: Endpoint) -> Route {
    let env = EnvelopeId([0xee; 16]);
    match e {
        Endpoint::Healthz => Route::Healthz,
        Endpoint::Metrics => Route::Metrics,
        Endpoint::Info => Route::Info,
        Endpoint::Bootstrap => Route::Bootstrap,
        Endpoint::PublishDirectory => Route::PublishDirectory,
        Endpoint::FetchDirectory => Route::FetchDirectory,
        Endpoint::CreateEnrolment => Route::CreateEnrolment,
        Endpoint::ListEnrolments => Route::ListEnrolments,
        Endpoint::RevokeEnrolment => Route::RevokeEnrolment(EnrolmentId([1; 16])),
        Endpoint::Enrol => Route::Enrol,
        Endpoint::ListDevices => Route::ListDevices,
        Endpoint::DeviceMe => Route::DeviceMe,
        Endpoint::CertifyDevice => Route::CertifyDevice(DeviceId([2; 16])),
        Endpoint::RevokeDevice => Route::RevokeDevice(DeviceId([2; 16])),
        Endpoint::AddStaff => Route::AddStaff,
        Endpoint::ListStaff => Route::ListStaff,
        Endpoint::RemoveStaff => Route::RemoveStaff(StaffId([3; 16])),
        Endpoint::UploadEnvelope => Route::UploadEnvelope(env),
        Endpoint::FetchEnvelope => Route::FetchEnvelope(env),
        Endpoint::FileEnvelope => Route::FileEnvelope(env),
        Endpoint::Inbox => Route::Inbox,
        Endpoint::CreateLink => Route::CreateLink,
        Endpoint::ListLinks => Route::ListLinks,
        Endpoint::RevokeLink => Route::RevokeLink(LinkId([4; 16])),
        Endpoint::LinkInfo => Route::LinkInfo,
        Endpoint::LinkUpload => Route::LinkUpload(env),
        Endpoint::Audit => Route::Audit(AuditQuery::default()),
    }
}

/// Whether `path` is an instance of `pattern` (`{name}` = 32 hex digits).
fn matches(pattern: &str, path: &str) -> bool {
    let p: Vec<&str> = pattern.split('/').collect();
    let q: Vec<&str> = path.split('/').collect();
    p.len() == q.len()
        && p.iter().zip(&q).all(|(p, q)| {
            if p.starts_with('{') && p.ends_with('}') {
                q.len() == 32 && q.bytes().all(|b| b.is_ascii_hexdigit())
            } else {
                p == q
            }
        })
}

#[test]
fn every_route_is_an_instance_of_its_endpoint() {
    let mut seen = std::collections::HashSet::new();
    for e in Endpoint::ALL {
        assert!(
            seen.insert((e.method(), e.pattern())),
            "{e} is in the table twice"
        );
        let r = sample(e);
        assert_eq!(r.endpoint(), e);
        assert_eq!(r.method(), e.method());
        assert!(matches(e.pattern(), &r.path()), "{r} is not {e}");
    }
    assert_eq!(seen.len(), Endpoint::ALL.len());
}

#[test]
fn audit_query_takes_only_the_parameters_given() {
    let q = |after, limit| Route::Audit(AuditQuery { after, limit }).path();
    assert_eq!(q(None, None), "/v1/audit");
    assert_eq!(q(Some(3), None), "/v1/audit?after=3");
    assert_eq!(q(None, Some(10)), "/v1/audit?limit=10");
    assert_eq!(q(Some(3), Some(10)), "/v1/audit?after=3&limit=10");
    assert_eq!(
        Route::RevokeLink(LinkId([0xab; 16])).to_string(),
        format!("DELETE /v1/links/{}", "ab".repeat(16))
    );
}

#[test]
fn answers_are_the_bytes_the_store_always_sent() {
    same_bytes(
        &ErrorBody::new("bad_json", "no"),
        json!({"error": "bad_json", "message": "no"}),
    );
    let store = StoreSigningKey::from_secret_bytes([4; 32]).public();
    let org = OrgSigningKey::generate().public();
    let info = Info {
        limits: InfoLimits {
            link_default_expires_in_secs: 1,
            link_default_max_bytes: 2,
            link_default_max_uploads: 3,
            max_envelope_bytes: 4,
            max_json_bytes: 5,
        },
        org_key: None,
        store_key: store,
        tls_pin: "sha256/x".into(),
        version: "0.1.0".into(),
    };
    same_bytes(
        &info,
        json!({
            "store_key": store.to_string(),
            "org_key": None::<String>,
            "tls_pin": "sha256/x",
            "version": "0.1.0",
            "limits": {
                "max_envelope_bytes": 4,
                "max_json_bytes": 5,
                "link_default_max_bytes": 2,
                "link_default_max_uploads": 3,
                "link_default_expires_in_secs": 1,
            },
        }),
    );
    same_bytes(
        &Bootstrapped { org_key: org },
        json!({"org_key": org.to_string()}),
    );

    let device = DeviceSigningKey::from_secret_bytes([5; 32]).public();
    let enrolment = EnrolmentId([6; 16]);
    same_bytes(
        &DeviceSummary {
            binding: [7; 32],
            clinician: clinician(),
            device_id: device.id(),
            device_key: device,
            enrolled_at: 10,
            enrolment_id: enrolment,
            state: DeviceState::Pending,
        },
        json!({
            "device_id": device.id(),
            "device_key": device.to_string(),
            "clinician": clinician(),
            "state": "pending",
            "enrolled_at": 10,
            "enrolment_id": enrolment,
            "binding": crate::protocol::text::b64(&[7; 32]),
        }),
    );
    same_bytes(
        &DeviceMe {
            certificate: None,
            device_id: device.id(),
            state: DeviceState::Active,
        },
        json!({"device_id": device.id(), "state": "active", "certificate": None::<String>}),
    );
    same_bytes(
        &DeviceMe {
            certificate: Some(vec![1, 2, 3]),
            device_id: device.id(),
            state: DeviceState::Active,
        },
        json!({"device_id": device.id(), "state": "active", "certificate": "AQID"}),
    );
    let code = OneTimeCode::generate();
    same_bytes(
        &EnrolmentCreated {
            code: code.clone(),
            expires_at: 9,
            id: enrolment,
        },
        json!({"id": enrolment, "code": code.expose(), "expires_at": 9}),
    );
    // Listed with the order of the store's old derived struct.
    assert_eq!(
        serde_json::to_string(&EnrolmentSummary {
            id: enrolment,
            clinician: clinician(),
            created_at: 1,
            expires_at: 2,
            state: EnrolmentState::Expired,
        })
        .expect("json"),
        format!(
            r#"{{"id":"{enrolment}","clinician":{},"created_at":1,"expires_at":2,"state":"expired"}}"#,
            serde_json::to_string(&clinician()).expect("clinician")
        )
    );

    let staff = StaffSigningKey::from_secret_bytes([8; 32]).public();
    let recipient = RecipientIdentity::generate().recipient();
    same_bytes(
        &StaffSummary {
            auth_key: staff,
            created_at: 3,
            name: "Records".into(),
            recipient,
            staff_id: staff.id(),
            state: StaffState::Removed,
        },
        json!({
            "staff_id": staff.id(),
            "name": "Records",
            "recipient": recipient.to_string(),
            "auth_key": staff.to_string(),
            "created_at": 3,
            "state": "removed",
        }),
    );

    let env = EnvelopeId([9; 16]);
    let link = LinkId([10; 16]);
    let store = crate::keys::StoreSigningKey::generate();
    let receipt = crate::protocol::Receipt::sign(&store, env, [7; 32], 3, 2);
    let mut entry = InboxEntry {
        context: None,
        created_at: 1,
        envelope_id: env,
        link_id: None,
        receipt: receipt.clone(),
        received_at: 2,
        size: 3,
        source: InboxSource::Device,
    };
    let mut v = json!({
        "envelope_id": env.to_string(),
        "size": 3,
        "created_at": 1,
        "received_at": 2,
        "receipt": serde_json::from_str::<serde_json::Value>(&receipt.to_json()).expect("json"),
        "source": "device",
    });
    // The receipt is new in inbox entries (its own field order is the
    // receipt's): compared as JSON values, the rest byte for byte.
    let same_value = |entry: &InboxEntry, v: serde_json::Value| {
        assert_eq!(serde_json::to_value(entry).expect("typed"), v);
    };
    same_value(&entry, v.clone());
    entry.source = InboxSource::Link;
    entry.link_id = Some(link);
    entry.context = Some(b"ctx".to_vec());
    v["source"] = json!("link");
    v["link_id"] = json!(link);
    v["context"] = json!(crate::protocol::text::b64(b"ctx"));
    same_value(&entry, v);

    let token = LinkToken::generate();
    same_bytes(
        &LinkCreated {
            expires_at: 5,
            link_id: link,
            max_bytes: 6,
            max_uploads: 7,
            token: token.clone(),
        },
        json!({
            "link_id": link,
            "token": token.expose(),
            "expires_at": 5,
            "max_uploads": 7,
            "max_bytes": 6,
        }),
    );
    same_bytes(
        &LinkSummary {
            created_at: 1,
            created_by: LinkCreator::Staff(staff.id()),
            expires_at: 2,
            link_id: link,
            max_bytes: 3,
            max_uploads: 4,
            state: LinkState::Used,
            uploads: 4,
        },
        json!({
            "link_id": link,
            "created_by": format!("staff:{}", staff.id()),
            "created_at": 1,
            "expires_at": 2,
            "uploads": 4,
            "max_uploads": 4,
            "max_bytes": 3,
            "state": "used",
        }),
    );
    same_bytes(
        &LinkInfo {
            capability: None,
            expires_at: 1,
            link_id: link,
            max_bytes: 2,
            uploads_left: 3,
        },
        json!({"link_id": link, "expires_at": 1, "uploads_left": 3, "max_bytes": 2}),
    );
    same_bytes(&DirectoryPublished { version: 4 }, json!({"version": 4}));
    same_bytes(
        &StaffAdded {
            staff_id: staff.id(),
        },
        json!({"staff_id": staff.id()}),
    );
    same_bytes(
        &Enrolled {
            device_id: device.id(),
            state: DeviceState::Pending,
        },
        json!({"device_id": device.id(), "state": "pending"}),
    );
    same_bytes(
        &DeviceCertified {
            state: DeviceState::Active,
        },
        json!({"state": "active"}),
    );
}

#[test]
fn answers_parse_back() {
    let token = LinkToken::generate();
    let created = LinkCreated {
        expires_at: 5,
        link_id: LinkId([1; 16]),
        max_bytes: 6,
        max_uploads: 7,
        token,
    };
    let back: LinkCreated =
        serde_json::from_str(&serde_json::to_string(&created).expect("json")).expect("back");
    assert_eq!(back, created);
    let receipt = crate::protocol::Receipt::sign(
        &crate::keys::StoreSigningKey::generate(),
        EnvelopeId([0xab; 16]),
        [1; 32],
        1,
        3,
    );
    let receipt: serde_json::Value = serde_json::from_str(&receipt.to_json()).expect("json");
    let entry: InboxEntry = serde_json::from_value(json!({
        "envelope_id": "ab".repeat(16), "size": 1, "created_at": 2, "received_at": 3,
        "source": "device", "receipt": receipt,
    }))
    .expect("an entry without link");
    assert_eq!(entry.link_id, None);
    assert_eq!(entry.context, None);
    assert_eq!(entry.receipt.received_at, 3);
    // Ids are lower-case hex, as the store writes them.
    assert!(serde_json::from_value::<InboxEntry>(json!({
        "envelope_id": "AB".repeat(16), "size": 1, "created_at": 2, "received_at": 3,
        "source": "device", "receipt": receipt,
    }))
    .is_err());
    // An entry must carry its receipt.
    assert!(serde_json::from_value::<InboxEntry>(json!({
        "envelope_id": "ab".repeat(16), "size": 1, "created_at": 2, "received_at": 3,
        "source": "device",
    }))
    .is_err());
    assert_eq!(
        ErrorBody::from_json(br#"{"error":"forbidden","message":"not yours"}"#),
        Some(ErrorBody::new("forbidden", "not yours"))
    );
    assert_eq!(ErrorBody::from_json(b"<html>bad gateway</html>"), None);
    for s in DeviceState::ALL {
        assert_eq!(s.as_str().parse::<DeviceState>(), Ok(*s));
    }
    for s in LinkState::ALL {
        assert_eq!(s.to_string().parse::<LinkState>(), Ok(*s));
    }
    let c = LinkCreator::Device(DeviceId([3; 16]));
    assert_eq!(c.to_string().parse::<LinkCreator>(), Ok(c));
    assert!("admin:00".parse::<LinkCreator>().is_err());
}

#[test]
fn requests_round_trip_through_the_stores_parser() {
    let org = OrgSigningKey::generate();
    let code = OneTimeCode::generate();
    let b = BootstrapRequest {
        code: CodeInput::from(&code),
        org_key: org.public(),
    };
    let json = serde_json::to_vec(&b).expect("json");
    assert_eq!(BootstrapRequest::from_json(&json), Ok(b.clone()));
    assert_eq!(
        serde_json::from_slice::<BootstrapRequest>(&json).expect("serde"),
        b
    );

    let key = DeviceSigningKey::generate();
    let e = EnrolRequest::new(&code, &key);
    assert!(e.proof_verifies());
    let json = serde_json::to_vec(&e).expect("json");
    assert_eq!(EnrolRequest::from_json(&json), Ok(e.clone()));
    let v: serde_json::Value = serde_json::from_slice(&json).expect("value");
    assert_eq!(v["code_digest"], crate::hex::encode(&code.digest()));
    assert_eq!(v["device_key"], key.public().to_string());

    let staff = AddStaff {
        auth_key: StaffSigningKey::generate().public(),
        name: StaffName::new("  Records team ").expect("name"),
        recipient: RecipientIdentity::generate().recipient(),
    };
    assert_eq!(staff.name.as_str(), "Records team");
    let json = serde_json::to_vec(&staff).expect("json");
    assert_eq!(AddStaff::from_json(&json), Ok(staff));

    let c = CreateEnrolment {
        clinician: clinician(),
        expires_in_secs: None,
    };
    let json = serde_json::to_string(&c).expect("json");
    assert!(!json.contains("expires_in_secs"), "absent, not null");
    assert_eq!(CreateEnrolment::from_json(json.as_bytes()), Ok(c));

    assert_eq!(
        serde_json::to_string(&CreateLink::default()).expect("json"),
        "{}"
    );
    let l = CreateLink {
        capability: None,
        context: Some(b"opaque".to_vec()),
        expires_in_secs: Some(60),
        max_bytes: None,
        max_uploads: Some(2),
    };
    let json = serde_json::to_vec(&l).expect("json");
    assert_eq!(CreateLink::from_json(&json), Ok(l));
    // With a capability, the limits are the capability's alone.
    let with = CreateLink {
        capability: Some(vec![1, 2, 3]),
        ..CreateLink::default()
    };
    let json = serde_json::to_vec(&with).expect("json");
    assert_eq!(CreateLink::from_json(&json), Ok(with));
    let both = br#"{"capability":"AQID","max_uploads":2}"#;
    assert!(matches!(
        CreateLink::from_json(both),
        Err(BodyError::Field {
            code: "bad_capability",
            ..
        })
    ));
    assert_eq!(CreateLink::from_json(b"{}"), Ok(CreateLink::default()));
}

#[test]
fn requests_are_refused_with_the_stores_codes() {
    let code = |r: Result<(), BodyError>| r.err().map(|e| e.code());
    let enrol =
        |v: serde_json::Value| code(EnrolRequest::from_json(v.to_string().as_bytes()).map(drop));
    let key = DeviceSigningKey::generate();
    let good =
        serde_json::to_value(EnrolRequest::new(&OneTimeCode::generate(), &key)).expect("value");
    assert_eq!(enrol(good.clone()), None);
    let with = |field: &str, value: serde_json::Value| {
        let mut v = good.clone();
        v[field] = value;
        v
    };
    assert_eq!(
        enrol(with("code_digest", json!("AB".repeat(32)))),
        Some("bad_code_digest")
    );
    assert_eq!(
        enrol(with("device_key", json!("sealcam1x"))),
        Some("bad_key")
    );
    assert_eq!(enrol(with("proof", json!("short"))), Some("bad_proof"));
    assert_eq!(enrol(with("binding", json!("short"))), Some("bad_binding"));
    assert_eq!(enrol(with("extra", json!(1))), Some("bad_json"));
    assert_eq!(enrol(with("proof", json!(5))), Some("bad_json"));
    assert_eq!(
        code(EnrolRequest::from_json(b"{\"device_key\":").map(drop)),
        Some("bad_json")
    );

    let org = OrgSigningKey::generate().public();
    let boot = |v: serde_json::Value| {
        code(BootstrapRequest::from_json(v.to_string().as_bytes()).map(drop))
    };
    // A malformed code is not refused here: the store checks the
    // signature first, then refuses the code with 403.
    assert_eq!(boot(json!({"code": "x", "org_key": org.to_string()})), None);
    assert_eq!(boot(json!({"code": "x", "org_key": "y"})), Some("bad_key"));
    assert_eq!(boot(json!({"code": "x"})), Some("bad_json"));

    let recipient = RecipientIdentity::generate().recipient().to_string();
    let auth_key = StaffSigningKey::generate().public().to_string();
    let staff = |name: &str, r: &str, a: &str| {
        code(
            AddStaff::from_json(
                json!({"name": name, "recipient": r, "auth_key": a})
                    .to_string()
                    .as_bytes(),
            )
            .map(drop),
        )
    };
    assert_eq!(staff("A", &recipient, &auth_key), None);
    assert_eq!(staff("  ", &recipient, &auth_key), Some("bad_name"));
    assert_eq!(
        staff(&"x".repeat(201), &recipient, &auth_key),
        Some("bad_name")
    );
    assert_eq!(staff("A\u{7}", &recipient, &auth_key), Some("bad_name"));
    assert_eq!(staff("A", &auth_key, &auth_key), Some("bad_key"));
    assert_eq!(staff("A", &recipient, &recipient), Some("bad_key"));

    let link =
        |v: serde_json::Value| code(CreateLink::from_json(v.to_string().as_bytes()).map(drop));
    assert_eq!(link(json!({"context": "AAAA"})), None);
    assert_eq!(link(json!({"context": "A+=="})), Some("bad_context"));
    let big = crate::protocol::text::b64(&vec![0; MAX_LINK_CONTEXT_BYTES + 1]);
    assert_eq!(link(json!({ "context": big })), Some("bad_context"));
    assert_eq!(link(json!({"max_uploads": -1})), Some("bad_json"));
    assert_eq!(link(json!({"max_uploads": 1, "x": 1})), Some("bad_json"));
    assert_eq!(
        code(CreateEnrolment::from_json(b"{\"clinician\":{}}").map(drop)),
        Some("bad_json")
    );
}

#[test]
fn refusals_never_echo_values() {
    let secret = "sealcamorg1SECRETSECRET";
    let e = BootstrapRequest::from_json(
        json!({"code": "x", "org_key": secret})
            .to_string()
            .as_bytes(),
    )
    .expect_err("refused");
    assert!(!e.to_string().contains("SECRET"), "{e}");
    let e = EnrolRequest::from_json(json!({"proof": 5, "secret": secret}).to_string().as_bytes())
        .expect_err("refused");
    assert!(!e.to_string().contains("SECRET"), "{e}");
    assert_eq!(e.to_error_body().error, "bad_json");
}

#[test]
fn debug_never_shows_tokens_or_codes() {
    let code = OneTimeCode::generate();
    let token = LinkToken::generate();
    let typed = CodeInput::new(&format!(" {} ", code.expose()));
    assert_eq!(typed.expose(), code.expose());
    assert_eq!(typed.parse(), Some(code.clone()));
    let key = DeviceSigningKey::generate();
    let shown = [
        format!("{token:?}"),
        format!("{typed:?}"),
        format!(
            "{:?}",
            EnrolmentCreated {
                code: code.clone(),
                expires_at: 1,
                id: EnrolmentId([0; 16]),
            }
        ),
        format!(
            "{:?}",
            LinkCreated {
                expires_at: 1,
                link_id: LinkId([0; 16]),
                max_bytes: 1,
                max_uploads: 1,
                token: token.clone(),
            }
        ),
        format!(
            "{:?}",
            BootstrapRequest {
                code: typed.clone(),
                org_key: OrgSigningKey::generate().public(),
            }
        ),
        format!("{:?}", EnrolRequest::new(&code, &key)),
    ];
    let digest = crate::hex::encode(&code.digest());
    for s in shown {
        assert!(!s.contains(&code.expose()[..9]), "{s}");
        assert!(!s.contains(&token.expose()[..12]), "{s}");
        assert!(!s.contains(&digest[..16]), "{s}");
    }
}
