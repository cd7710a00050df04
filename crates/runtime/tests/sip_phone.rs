//! The `phone` command's own contract, without a third-party peer: startup errors and exit
//! codes, stdin commands it refuses, `--duration`, and a rejected call between two phones.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "a failure here is a failed test"
)]

mod sip_support;

use std::{process::ExitCode, time::Duration};

use runtime::phone::{PasswordSource, PhoneArgs, Transport};
use serde_json::json;
use sip_support::{TestPhone, loopback, phone_args, saw};

/// A phone that registers nowhere; requests would go to a port nobody answers on.
fn offline_phone() -> PhoneArgs {
    let mut args = phone_args("alice", "127.0.0.1", loopback(9));
    args.register = false;
    args
}

#[tokio::test]
async fn a_tls_account_with_an_unreadable_ca_file_fails_at_start_with_exit_code_1() {
    let mut args = offline_phone();
    args.transport = Transport::Tls;
    args.ca_file = Some("/nonexistent/office-ca.pem".into());
    let mut phone = TestPhone::spawn("alice", args);
    let error = phone.expect("error").await;
    assert!(
        error["message"]
            .as_str()
            .unwrap()
            .contains("/nonexistent/office-ca.pem"),
        "{error}"
    );
    let (code, _) = phone.finish().await;
    assert_eq!(code, ExitCode::from(1));
}

#[tokio::test]
async fn a_missing_password_variable_fails_at_start_and_names_the_variable() {
    let mut args = offline_phone();
    args.password = PasswordSource::Env(String::from("OKTELL_TEST_PASSWORD_THAT_IS_NOT_SET"));
    let mut phone = TestPhone::spawn("alice", args);
    let error = phone.expect("error").await;
    assert!(
        error["message"]
            .as_str()
            .unwrap()
            .contains("OKTELL_TEST_PASSWORD_THAT_IS_NOT_SET"),
        "{error}"
    );
    let (code, _) = phone.finish().await;
    assert_eq!(code, ExitCode::from(1));
}

#[tokio::test]
async fn a_play_file_that_is_not_wav_fails_at_start() {
    let files = tempfile::tempdir().unwrap();
    std::fs::write(files.path().join("tone.wav"), b"not a wav file").unwrap();
    let mut args = offline_phone();
    args.play = Some(files.path().join("tone.wav"));
    let mut phone = TestPhone::spawn("alice", args);
    let error = phone.expect("error").await;
    assert!(error["message"].as_str().unwrap().contains("tone.wav"), "{error}");
    let (code, _) = phone.finish().await;
    assert_eq!(code, ExitCode::from(1));
}

#[tokio::test]
async fn commands_that_cannot_run_are_answered_with_error_events() {
    let mut phone = TestPhone::spawn("alice", offline_phone());
    phone.expect("started").await;
    phone.send("transfer sip:bob@127.0.0.1").await;
    let error = phone.expect("error").await;
    assert_eq!(
        error,
        json!({ "event": "error", "command": "transfer", "message": "no call" })
    );
    phone.send("attended 1 2").await;
    let error = phone.expect("error").await;
    assert_eq!(error["command"], "attended");
    phone.send("hangup").await;
    let error = phone.expect("error").await;
    assert_eq!(
        error,
        json!({ "event": "error", "command": "hangup", "message": "no call" })
    );
    phone.send("frobnicate").await;
    let error = phone.expect("error").await;
    assert_eq!(error["command"], "frobnicate");
    let (code, _) = phone.quit().await;
    assert_eq!(code, ExitCode::SUCCESS);
}

#[tokio::test]
async fn duration_ends_the_run_by_itself() {
    let mut args = offline_phone();
    args.duration = Some(Duration::from_millis(300));
    let phone = TestPhone::spawn("alice", args);
    let (code, events) = phone.finish().await;
    assert_eq!(code, ExitCode::SUCCESS, "{events:#?}");
    assert_eq!(events[0]["event"], "started");
}

/// Two phones straight to each other: the callee rejects; the caller reports the status and
/// exits with 2 because its `--dial` call never connected.
#[tokio::test]
async fn a_rejected_dial_is_reported_and_exits_with_code_2() {
    let mut callee = TestPhone::spawn("bob", offline_phone());
    let started = callee.expect("started").await;
    let bob = started["local"].as_str().unwrap().parse().unwrap();

    let mut args = phone_args("alice", "127.0.0.1", bob);
    args.register = false;
    args.dial = Some(format!("sip:bob@{bob}"));
    let mut caller = TestPhone::spawn("alice", args);
    caller.expect("ringing").await;
    callee.expect("incoming").await;
    callee.send("reject").await;

    let (code, events) = caller.finish().await;
    assert_eq!(code, ExitCode::from(2), "{events:#?}");
    assert!(saw(&events, "closed", "status", &json!(486)), "{events:#?}");
    assert!(saw(&events, "closed", "cause", &json!("rejected")), "{events:#?}");
    let closed = callee.expect("closed").await;
    assert_eq!(closed["cause"], "local_hangup", "{closed}");
    callee.quit().await;
}

/// Bound to every interface, the phone must still advertise a routable address (the one
/// toward its proxy), never 0.0.0.0, in Via, Contact and SDP.
#[tokio::test]
async fn a_wildcard_bind_advertises_the_address_toward_the_proxy() {
    let mut args = PhoneArgs::new("alice", "127.0.0.1", loopback(9));
    args.register = false;
    let mut phone = TestPhone::spawn("alice", args);
    let started = phone.expect("started").await;
    let callee: std::net::SocketAddr = started["local"].as_str().unwrap().parse().unwrap();
    assert_eq!(callee.ip(), std::net::Ipv4Addr::LOCALHOST, "{started}");
    assert_ne!(callee.port(), 0, "{started}");

    // A call from a second wildcard-bound phone: its SDP must name loopback too.
    let mut args = PhoneArgs::new("bob", "127.0.0.1", callee);
    args.register = false;
    args.dial = Some(format!("sip:alice@{callee}"));
    let mut caller = TestPhone::spawn("bob", args);
    phone.expect("incoming").await;
    phone.send("answer").await;
    let rtp = caller.expect("rtp").await;
    let remote: std::net::SocketAddr = rtp["remote"].as_str().unwrap().parse().unwrap();
    let local: std::net::SocketAddr = rtp["local"].as_str().unwrap().parse().unwrap();
    assert_eq!(remote.ip(), std::net::Ipv4Addr::LOCALHOST, "{rtp}");
    assert_eq!(local.ip(), std::net::Ipv4Addr::LOCALHOST, "{rtp}");
    caller.send("hangup").await;
    caller.finish().await;
    phone.quit().await;
}
