//! The phone against a real kamailio (registrar and proxy with digest auth): registration
//! with MD5 and SHA-256 challenges, refresh, a wrong password, and a call between two of our
//! phones through it with a tone each way and DTMF.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "a failure here is a failed test"
)]

mod sip_support;

use std::{process::ExitCode, time::Duration};

use runtime::phone::{PasswordSource, PhoneArgs};
use serde_json::json;
use sip_support::{
    TestPhone,
    audio::{assert_tone, write_tone},
    kamailio::{Algorithm, DOMAIN, Kamailio, USERS},
    phone_args, saw,
};

fn account(kamailio: &Kamailio, index: usize) -> PhoneArgs {
    let (user, password) = USERS[index];
    let mut args = phone_args(user, DOMAIN, kamailio.addr);
    args.password = PasswordSource::Value(password.to_owned());
    args
}

async fn registers_refreshes_and_unregisters(algorithm: Algorithm) {
    let kamailio = Kamailio::start(algorithm);
    let mut args = account(&kamailio, 0);
    // Kamailio grants what we ask (min_expires 1): a refresh is due after 80 % of 2 s.
    args.register_expires = 2;
    let mut phone = TestPhone::spawn("1001", args);
    let first = phone.expect("registered").await;
    assert_eq!(first["expires"], json!(2), "{first}");
    let refreshed = tokio::time::timeout(Duration::from_secs(4), phone.expect("registered")).await;
    assert!(refreshed.is_ok(), "no refresh within 4 s; saw {:#?}", phone.history);
    let (code, events) = phone.quit().await;
    assert_eq!(code, ExitCode::SUCCESS);
    assert!(
        events.iter().any(|e| e["event"] == "unregistered"),
        "no unregistration; saw {events:#?}\nkamailio log:\n{}",
        kamailio.log()
    );
    assert!(!events.iter().any(|e| e["event"] == "register_failed"), "{events:#?}");
}

#[tokio::test]
async fn registers_with_md5_digest_refreshes_and_unregisters() {
    registers_refreshes_and_unregisters(Algorithm::Md5).await;
}

#[tokio::test]
async fn registers_with_sha256_digest_refreshes_and_unregisters() {
    registers_refreshes_and_unregisters(Algorithm::Sha256).await;
}

#[tokio::test]
async fn wrong_password_is_reported_as_a_registration_failure() {
    let kamailio = Kamailio::start(Algorithm::Md5);
    let mut args = account(&kamailio, 0);
    args.password = PasswordSource::Value(String::from("not the password"));
    let mut phone = TestPhone::spawn("1001", args);
    let failed = phone.expect("register_failed").await;
    let reason = failed["reason"].as_str().unwrap();
    assert!(reason.contains("authentication"), "{failed}");
    assert!(
        !phone.history.iter().any(|e| e["event"] == "registered"),
        "{:#?}",
        phone.history
    );
    phone.quit().await;
}

/// 1001 calls 1002 through kamailio (SHA-256 challenges for REGISTER and INVITE); each plays
/// its own tone and must hear the other's; a DTMF digit crosses; the caller hangs up.
#[tokio::test]
async fn two_phones_call_each_other_through_kamailio_with_audio_both_ways() {
    let kamailio = Kamailio::start(Algorithm::Sha256);
    let files = tempfile::tempdir().unwrap();
    let path = |name: &str| files.path().join(name);
    write_tone(&path("a.wav"), 440.0, 8000, 1, 1.0);
    // The callee's file is 48 kHz stereo: the phone must mix down and resample.
    write_tone(&path("b.wav"), 1300.0, 48000, 2, 1.0);

    let mut callee_args = account(&kamailio, 1);
    callee_args.auto_answer = true;
    callee_args.play = Some(path("b.wav"));
    callee_args.record = Some(path("b-heard.wav"));
    let mut callee = TestPhone::spawn("1002", callee_args);
    callee.expect("registered").await;

    let mut caller_args = account(&kamailio, 0);
    caller_args.dial = Some(format!("sip:1002@{DOMAIN}"));
    caller_args.play = Some(path("a.wav"));
    caller_args.record = Some(path("a-heard.wav"));
    let mut caller = TestPhone::spawn("1001", caller_args);

    let incoming = callee.expect("incoming").await;
    assert!(
        incoming["from"]
            .as_str()
            .unwrap()
            .contains(&format!("sip:1001@{DOMAIN}")),
        "{incoming}"
    );
    let established = caller.expect("established").await;
    assert_eq!(established["codec"], "PCMU");
    callee.expect("established").await;
    caller.expect("audio").await;
    callee.expect("audio").await;

    caller.stays_up_for(Duration::from_millis(1500)).await;
    caller.send("dtmf 7").await;
    let digit = callee.expect("dtmf").await;
    assert_eq!(digit["digit"], "7");
    caller.send("hangup").await;

    let closed = callee.expect("closed").await;
    assert_eq!(closed["cause"], "remote_hangup", "{closed}");
    let (code, events) = caller.finish().await;
    assert_eq!(code, ExitCode::SUCCESS, "{events:#?}");
    assert!(saw(&events, "closed", "cause", &json!("local_hangup")), "{events:#?}");
    callee.quit().await;

    assert_tone(&path("b-heard.wav"), 440.0, 1300.0);
    assert_tone(&path("a-heard.wav"), 1300.0, 440.0);
}
