//! What the store accepts as vouched for (issue 11, "Provenance"), on a
//! real `sealcam-store`: an envelope signed by a revoked device is refused
//! on every route, also through a patient link; revoking a device (or
//! removing a staff member) stops the links it made; a link made with a
//! capability sends only to the recipients its creator named; the inbox
//! carries the store's signed receipt; a capability that is not the
//! caller's, or names recipients outside the directory, is refused.

use sealcam_core::keys::{
    LinkCapability, LinkSigner, LinkTerms, RecipientIdentity, StaffSigningKey,
};
use sealcam_core::protocol::api::{CreateLink, InboxEntry};
use sealcam_test_support::store::{now, StoreProcess, World};

/// Rate limits out of the way.
const NO_RATE_LIMITS: &str = "
[rate_limit]
ip_per_minute = 100000
ip_burst = 100000
link_per_minute = 100000
link_burst = 100000
";

#[tokio::test]
async fn an_envelope_signed_by_a_revoked_device_is_refused_also_through_a_link() {
    let store = StoreProcess::start_with_config(NO_RATE_LIMITS);
    let w = World::new(&store, 1, 2).await;
    let (_, token, _) = w.create_vouched_link(0, 5).await;
    // Sealed while device 0 was active; uploaded after its revocation.
    let sealed = w.devices[0].seal(&w.recipients());
    w.admin()
        .delete(&format!("/v1/devices/{}", w.devices[0].id))
        .await
        .expect(204, "revoke device 0");
    let r = w.link_upload(&token, &sealed).await;
    assert_eq!(
        (r.status, r.json()["error"].as_str().unwrap_or_default()),
        (400, "invalid_envelope"),
        "a revoked device's signature through a link: {}",
        r.text()
    );
    assert!(w.inbox(0).await.is_empty(), "nothing reached the inbox");
    // The same link still takes an active device's envelope.
    let ok = w.devices[1].seal(&w.recipients());
    w.link_upload(&token, &ok)
        .await
        .expect(201, "an active device's envelope");
}

#[tokio::test]
async fn revoking_a_device_or_removing_staff_stops_the_links_they_made() {
    let store = StoreProcess::start_with_config(NO_RATE_LIMITS);
    let w = World::new(&store, 2, 1).await;
    let (_, device_token) = w
        .create_link(
            &w.device_actor(0),
            CreateLink {
                max_uploads: Some(5),
                ..CreateLink::default()
            },
        )
        .await;
    let (_, staff_token, _) = w.create_vouched_link(1, 5).await;
    for token in [&device_token, &staff_token] {
        w.link(token).get("/v1/link").await.expect(200, "usable");
    }
    w.admin()
        .delete(&format!("/v1/devices/{}", w.devices[0].id))
        .await
        .expect(204, "revoke the device");
    w.admin()
        .delete(&format!("/v1/staff/{}", w.staff[1].id))
        .await
        .expect(204, "remove the staff member");
    let unsigned = sealcam_test_support::store::seal_unsigned(&w.recipients()[..1]);
    for token in [&device_token, &staff_token] {
        w.link(token)
            .get("/v1/link")
            .await
            .expect(410, "revoked with its creator");
        w.link_upload(token, &unsigned)
            .await
            .expect(410, "no upload through it");
    }
}

#[tokio::test]
async fn a_vouched_link_sends_only_to_its_recipients_and_the_inbox_carries_receipts() {
    let store = StoreProcess::start_with_config(NO_RATE_LIMITS);
    let w = World::new(&store, 2, 0).await;
    // Staff 0's link names staff 0's team only.
    let mut link_id = [0u8; 16];
    getrandom::fill(&mut link_id).expect("random");
    let t = now();
    let team = w.recipients()[0];
    let terms = LinkTerms {
        org_id: w.org.public().id(),
        link_id,
        created_at: t,
        expires_at: t + 3600,
        max_uploads: 5,
        max_bytes: 1 << 20,
        context_blake3: [0; 32],
        recipients: vec![team.id()],
    };
    let capability = LinkCapability::sign(terms.clone(), LinkSigner::Staff(&w.staff[0].key))
        .expect("sign")
        .to_bytes();
    let (_, token) = w
        .create_link(
            &w.staff_actor(0),
            CreateLink {
                capability: Some(capability.clone()),
                ..CreateLink::default()
            },
        )
        .await;
    let info = w
        .link(&token)
        .get("/v1/link")
        .await
        .expect(200, "link info");
    assert_eq!(
        info.json()["capability"],
        sealcam_core::protocol::text::b64(&capability),
        "the page gets the capability"
    );
    // To the other team as well: refused.
    let both = sealcam_test_support::store::seal_unsigned(&w.recipients());
    let r = w.link_upload(&token, &both).await;
    assert_eq!(
        (r.status, r.json()["error"].as_str().unwrap_or_default()),
        (400, "invalid_envelope")
    );
    // To its own team: accepted, and the inbox entry carries the receipt.
    // (What the record inside says is the records workstation's to check.)
    let mine = sealcam_test_support::store::seal_unsigned(&[team]);
    w.link_upload(&token, &mine)
        .await
        .expect(201, "to its own team");
    let entries: Vec<InboxEntry> = w
        .staff_actor(0)
        .get("/v1/inbox")
        .await
        .expect(200, "inbox")
        .parse();
    assert_eq!(entries.len(), 1);
    entries[0]
        .receipt
        .confirms(&w.store_key, &mine.bytes)
        .expect("the inbox receipt is the store's, for these bytes");
    assert!(entries[0].receipt.received_at >= t);

    // A capability signed by someone other than the caller, one naming a
    // recipient outside the directory, or one reusing a link id: refused.
    let stranger = StaffSigningKey::generate();
    let outsider = RecipientIdentity::generate().recipient().id();
    let fresh = |mut terms: LinkTerms| {
        getrandom::fill(&mut terms.link_id).expect("random");
        terms
    };
    let cases = [
        (
            LinkCapability::sign(fresh(terms.clone()), LinkSigner::Staff(&stranger)),
            400,
            "not the caller's",
        ),
        (
            LinkCapability::sign(
                LinkTerms {
                    recipients: vec![team.id(), outsider],
                    ..fresh(terms.clone())
                },
                LinkSigner::Staff(&w.staff[0].key),
            ),
            400,
            "a recipient outside the directory",
        ),
        (
            LinkCapability::sign(terms.clone(), LinkSigner::Staff(&w.staff[0].key)),
            409,
            "a link id used before",
        ),
    ];
    for (cap, status, what) in cases {
        let r = w
            .staff_actor(0)
            .post_json(
                "/v1/links",
                &CreateLink {
                    capability: Some(cap.expect("sign").to_bytes()),
                    ..CreateLink::default()
                },
            )
            .await;
        assert_eq!(r.status, status, "{what}: {}", r.text());
    }
}
