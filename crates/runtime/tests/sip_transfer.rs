//! Call transfer over real sockets: our phone REFERs a real baresip to a second phone of ours
//! (blind transfer, direct, no registrar); baresip REFERs our phone to a third account
//! through kamailio (our phone follows the REFER and reports the progress in NOTIFYs); and an
//! attended transfer with Replaces among three of our phones through kamailio.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "a failure here is a failed test"
)]

mod sip_support;

use std::process::ExitCode;

use runtime::phone::PasswordSource;
use serde_json::json;
use sip_support::{
    TestPhone,
    baresip::Baresip,
    kamailio::{Algorithm, DOMAIN, Kamailio, USERS},
    phone_args, saw,
};

/// alice (ours) calls baresip, then transfers it to carol (ours, auto-answering): baresip
/// calls carol, NOTIFYs alice of the progress, and alice hangs up once carol answered.
#[tokio::test]
async fn we_transfer_baresip_to_another_phone_and_it_connects() {
    let mut baresip = Baresip::start("<sip:b@127.0.0.1:{port}>;regint=0;answermode=auto;audio_codecs=PCMU").await;

    let mut carol_args = phone_args("carol", "127.0.0.1", baresip.addr);
    carol_args.register = false;
    carol_args.auto_answer = true;
    let mut carol = TestPhone::spawn("carol", carol_args);
    let carol_addr = carol.expect("started").await["local"].as_str().unwrap().to_owned();

    let mut alice_args = phone_args("alice", "127.0.0.1", baresip.addr);
    alice_args.register = false;
    alice_args.dial = Some(format!("sip:b@{}", baresip.addr));
    let mut alice = TestPhone::spawn("alice", alice_args);
    alice.expect("established").await;
    baresip.expect_event("CALL_ESTABLISHED").await;

    alice.send(&format!("transfer sip:carol@{carol_addr}")).await;
    let accepted = alice.expect("transfer").await;
    assert_eq!(accepted["state"], "accepted", "{accepted}");

    let incoming = carol.expect("incoming").await;
    assert!(
        incoming["from"].as_str().unwrap().contains("sip:b@127.0.0.1"),
        "carol is called by baresip: {incoming}"
    );
    carol.expect("established").await;
    carol.expect("audio").await;

    let succeeded = loop {
        let event = alice.expect("transfer").await;
        match event["state"].as_str() {
            Some("progress") => continue,
            _ => break event,
        }
    };
    assert_eq!(succeeded["state"], "succeeded", "{succeeded}");
    let closed = alice.expect("closed").await;
    assert_eq!(closed["cause"], "transferred", "{closed}");
    // The --dial call is over: the phone exits by itself, successfully (it was established).
    let (code, events) = alice.finish().await;
    assert_eq!(code, ExitCode::SUCCESS, "{events:#?}");

    carol.send("hangup").await;
    let closed = carol.expect("closed").await;
    assert_eq!(closed["cause"], "local_hangup", "{closed}");
    let (code, _) = carol.quit().await;
    assert_eq!(code, ExitCode::SUCCESS);
}

/// baresip (1002) calls alice (1001, ours) through kamailio and transfers her to carol (1003,
/// ours): alice accepts the REFER, calls carol through kamailio with Referred-By, and NOTIFYs
/// baresip, which hangs up its call with alice once carol answered.
#[tokio::test]
async fn baresip_transfers_us_and_we_call_the_target() {
    let kamailio = Kamailio::start(Algorithm::Md5);
    let (user, password) = USERS[1];
    let mut baresip = Baresip::start(&format!(
        "<sip:{user}@{DOMAIN}>;auth_pass={password};outbound=\"sip:{}\";regint=60;audio_codecs=PCMU",
        kamailio.addr
    ))
    .await;
    baresip.wait_registered().await;

    let registered_phone = |index: usize| {
        let (user, password) = USERS[index];
        let mut args = phone_args(user, DOMAIN, kamailio.addr);
        args.password = PasswordSource::Value(password.to_owned());
        args.auto_answer = true;
        args
    };
    let mut alice = TestPhone::spawn("1001", registered_phone(0));
    alice.expect("registered").await;
    let mut carol = TestPhone::spawn("1003", registered_phone(2));
    carol.expect("registered").await;

    baresip.command(&format!("dial sip:1001@{DOMAIN}")).await;
    let first = alice.expect("established").await;
    baresip.expect_event("CALL_ESTABLISHED").await;

    baresip.command(&format!("transfer sip:1003@{DOMAIN}")).await;
    let referred = alice.expect("referred").await;
    assert_eq!(referred["accepted"], true, "{referred}");
    assert_eq!(referred["call"], first["call"], "{referred}");
    assert_eq!(referred["target"], format!("sip:1003@{DOMAIN}"), "{referred}");
    let new_call = referred["new_call"].clone();

    let incoming = carol.expect("incoming").await;
    assert!(
        incoming["from"].as_str().unwrap().contains("1001@"),
        "carol is called by alice: {incoming}"
    );
    carol.expect("established").await;
    let second = alice.expect("established").await;
    assert_eq!(second["call"], new_call, "{second}");

    // The transferor learns of the success from our NOTIFY and hangs up the first call.
    let closed = alice.expect("closed").await;
    assert_eq!(closed["call"], first["call"], "{closed}");
    assert_eq!(closed["cause"], "remote_hangup", "{closed}");
    // The new call's audio may have started before or after that BYE.
    while !saw(&alice.history, "audio", "call", &new_call) {
        alice.expect("audio").await;
    }

    alice.send("hangup").await;
    carol.expect("closed").await;
    let (code, events) = alice.quit().await;
    assert_eq!(code, ExitCode::SUCCESS);
    assert!(saw(&events, "closed", "call", &new_call), "{events:#?}");
    assert!(!saw(&events, "error", "command", &json!("transfer")), "{events:#?}");
    let (code, _) = carol.quit().await;
    assert_eq!(code, ExitCode::SUCCESS);
}

/// Attended transfer through kamailio, with our phone in all three roles (baresip 1.0 cannot
/// be the transferee: it copies the Refer-To URI, escaped Replaces and all, into its
/// Request-URI, half-decoded, and sends no Replaces header). alice (1001) talks to bob (1002)
/// and to carol (1003), then REFERs bob to carol with Replaces: bob's INVITE takes over
/// carol's call with alice, carol hangs up on alice, and alice hangs up on bob once the
/// NOTIFY says 200.
#[tokio::test]
async fn attended_transfer_through_kamailio_replaces_the_consultation_call() {
    let kamailio = Kamailio::start(Algorithm::Md5);
    let registered_phone = |index: usize| {
        let (user, password) = USERS[index];
        let mut args = phone_args(user, DOMAIN, kamailio.addr);
        args.password = PasswordSource::Value(password.to_owned());
        args.auto_answer = true;
        args
    };
    let mut alice = TestPhone::spawn("1001", registered_phone(0));
    let mut bob = TestPhone::spawn("1002", registered_phone(1));
    let mut carol = TestPhone::spawn("1003", registered_phone(2));
    for phone in [&mut alice, &mut bob, &mut carol] {
        phone.expect("registered").await;
    }

    alice.send(&format!("dial sip:1002@{DOMAIN}")).await;
    let to_bob = alice.expect("established").await["call"].clone();
    let bob_first = bob.expect("established").await["call"].clone();
    alice.send("hold").await;
    alice.expect("held").await;
    alice.send(&format!("dial sip:1003@{DOMAIN}")).await;
    let to_carol = alice.expect("established").await["call"].clone();
    let carol_first = carol.expect("established").await["call"].clone();

    alice.send(&format!("attended {to_bob} {to_carol}")).await;
    let referred = bob.expect("referred").await;
    assert_eq!(referred["call"], bob_first, "{referred}");
    assert!(
        referred["target"].as_str().unwrap().starts_with("sip:1003@127.0.0.1:"),
        "bob is sent to carol's contact: {referred}"
    );
    let replaced = carol.expect("replaced").await;
    assert_eq!(replaced["replaced"], carol_first, "{replaced}");
    let carol_second = replaced["call"].clone();
    assert_eq!(carol.expect("established").await["call"], carol_second);
    assert_eq!(bob.expect("established").await["call"], referred["new_call"]);

    let outcome = loop {
        let event = alice.expect("transfer").await;
        if event["state"] != "accepted" && event["state"] != "progress" {
            break event;
        }
    };
    assert_eq!(outcome["state"], "succeeded", "{outcome}");
    // Carol's BYE and the NOTIFY race each other: take both closings in either order.
    let closings = |history: &[serde_json::Value]| history.iter().filter(|e| e["event"] == "closed").count();
    while closings(&alice.history) < 2 {
        alice.expect("closed").await;
    }
    let mut closed: Vec<_> = alice
        .history
        .iter()
        .filter(|e| e["event"] == "closed")
        .map(|e| (e["call"].clone(), e["cause"].clone()))
        .collect();
    closed.sort_by_key(|(call, _)| call.as_u64());
    assert_eq!(
        closed,
        vec![(to_bob, json!("transferred")), (to_carol, json!("remote_hangup"))]
    );
    let closed = bob.expect("closed").await;
    assert_eq!(
        (&closed["call"], &closed["cause"]),
        (&bob_first, &json!("remote_hangup"))
    );
    let (code, _) = alice.quit().await;
    assert_eq!(code, ExitCode::SUCCESS);

    bob.send("hangup").await;
    let closed = carol.expect("closed").await;
    assert_eq!(
        (&closed["call"], &closed["cause"]),
        (&carol_second, &json!("remote_hangup"))
    );
    let (code, events) = carol.quit().await;
    assert_eq!(code, ExitCode::SUCCESS);
    assert!(saw(&events, "closed", "cause", &json!("replaced")), "{events:#?}");
    let (code, _) = bob.quit().await;
    assert_eq!(code, ExitCode::SUCCESS);
}

/// DTMF as SIP INFO (`info-dtmf`, the fallback for peers without telephone-event) reaches a
/// real baresip as the same key press as RFC 4733 digits.
#[tokio::test]
async fn info_dtmf_reaches_baresip() {
    let mut baresip = Baresip::start("<sip:b@127.0.0.1:{port}>;regint=0;answermode=auto;audio_codecs=PCMU").await;
    let mut args = phone_args("alice", "127.0.0.1", baresip.addr);
    args.register = false;
    args.dial = Some(format!("sip:b@{}", baresip.addr));
    let mut alice = TestPhone::spawn("alice", args);
    alice.expect("established").await;
    baresip.expect_event("CALL_ESTABLISHED").await;
    alice.send("info-dtmf 7#").await;
    for digit in ["7", "#"] {
        let pressed = baresip.expect_event("CALL_DTMF_START").await;
        assert_eq!(pressed["param"], digit, "{pressed}");
    }
    alice.stays_up_for(std::time::Duration::from_millis(200)).await;
    alice.send("hangup").await;
    let (code, events) = alice.finish().await;
    assert_eq!(code, ExitCode::SUCCESS, "{events:#?}");
}
