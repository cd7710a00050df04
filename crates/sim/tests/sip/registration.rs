//! REGISTER with digest against the world's SIP accounts, and what the Oktell login hands out.

use sip::register::{RegisterEvent, RegisterFailure};
use sip::ua::UaEvent;

use crate::oktell_side::Session;
use crate::phone::Phone;
use crate::{control, manual_world, start};

#[tokio::test]
async fn phone_registers_with_digest_and_gets_a_binding() {
    let sim = start(manual_world()).await;
    let phone = Phone::registered(&sim, "101").await;
    let sip = control(&sim, "GET", "/sip", "", 200).await;
    assert_eq!(sip["address"], sim.sip_addr().to_string());
    assert_eq!(sim.endpoints().sip, sim.sip_addr().to_string());
    let registrations = sip["registrations"].as_array().unwrap();
    assert_eq!(registrations.len(), 1, "{sip}");
    assert_eq!(registrations[0]["login"], "op1");
    let expires = registrations[0]["expires_in"].as_u64().unwrap();
    assert!((290..=300).contains(&expires), "the phone asked for 300 s: {expires}");
    drop(phone);
    sim.shutdown().await;
}

#[tokio::test]
async fn login_name_is_accepted_as_the_sip_user_too() {
    let sim = start(manual_world()).await;
    let _phone = Phone::registered(&sim, "op2").await;
    let sip = control(&sim, "GET", "/sip", "", 200).await;
    assert_eq!(sip["registrations"][0]["login"], "op2");
    sim.shutdown().await;
}

#[tokio::test]
async fn wrong_password_is_forbidden_and_binds_nothing() {
    let sim = start(manual_world()).await;
    let mut phone = Phone::new(&sim, "101", "not-the-password").await;
    phone.act(|ua, now| ua.register(now)).await;
    let event = phone
        .wait_for("registration outcome", |e| matches!(e, UaEvent::Registration(_)))
        .await;
    match event {
        UaEvent::Registration(RegisterEvent::Failed {
            reason: RegisterFailure::Rejected { status, .. },
            ..
        }) => assert_eq!(status, 403),
        other => panic!("expected a 403, got {other:?}"),
    }
    let sip = control(&sim, "GET", "/sip", "", 200).await;
    assert_eq!(sip["registrations"], serde_json::json!([]), "{sip}");
    sim.shutdown().await;
}

#[tokio::test]
async fn unknown_account_is_forbidden() {
    let sim = start(manual_world()).await;
    let mut phone = Phone::new(&sim, "999", "demo").await;
    phone.act(|ua, now| ua.register(now)).await;
    let event = phone
        .wait_for("registration outcome", |e| matches!(e, UaEvent::Registration(_)))
        .await;
    assert!(
        matches!(
            event,
            UaEvent::Registration(RegisterEvent::Failed {
                reason: RegisterFailure::Rejected { status: 403, .. },
                ..
            })
        ),
        "{event:?}"
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn unregister_removes_the_binding() {
    let sim = start(manual_world()).await;
    let mut phone = Phone::registered(&sim, "101").await;
    phone.act(|ua, now| ua.unregister(now)).await;
    phone
        .wait_for("unregistered", |e| {
            matches!(e, UaEvent::Registration(RegisterEvent::Unregistered))
        })
        .await;
    let sip = control(&sim, "GET", "/sip", "", 200).await;
    assert_eq!(sip["registrations"], serde_json::json!([]), "{sip}");
    sim.shutdown().await;
}

#[tokio::test]
async fn oktell_login_hands_out_the_sip_account_only_for_usewebrtc() {
    let sim = start(manual_world()).await;
    let webrtc = Session::open(&sim, "op1", true).await;
    assert_eq!(webrtc.login["sipuser"], "101");
    assert_eq!(webrtc.login["sippass"], "demo");
    assert_eq!(webrtc.login["sipport"], sim.sip_addr().port());
    assert_eq!(webrtc.login["sipsecure"], false);
    let plain = Session::open(&sim, "op2", false).await;
    assert!(plain.login.get("sipuser").is_none(), "{}", plain.login);
    sim.shutdown().await;
}

#[tokio::test]
async fn world_sip_fields_override_the_account() {
    let mut world = manual_world();
    let op1 = world.users.iter_mut().find(|u| u.login == "op1").unwrap();
    op1.sip_user = Some("web101".to_owned());
    op1.sip_password = Some("p101".to_owned());
    let sim = start(world).await;
    let mut wrong = Phone::new(&sim, "web101", "demo").await;
    wrong.act(|ua, now| ua.register(now)).await;
    let event = wrong
        .wait_for("registration outcome", |e| matches!(e, UaEvent::Registration(_)))
        .await;
    assert!(
        matches!(event, UaEvent::Registration(RegisterEvent::Failed { .. })),
        "{event:?}"
    );
    let mut right = Phone::new(&sim, "web101", "p101").await;
    right.act(|ua, now| ua.register(now)).await;
    let event = right
        .wait_for("registration outcome", |e| matches!(e, UaEvent::Registration(_)))
        .await;
    assert!(
        matches!(event, UaEvent::Registration(RegisterEvent::Registered { .. })),
        "{event:?}"
    );
    let session = Session::open(&sim, "op1", true).await;
    assert_eq!(session.login["sipuser"], "web101");
    assert_eq!(session.login["sippass"], "p101");
    sim.shutdown().await;
}
