//! The phone against a real baresip: calls both ways with audio checked by tone in both
//! recordings (ours, and baresip's `sndfile` dump), hold and resume from both sides, BYE
//! from both sides, and calls both ways through kamailio with digest auth.

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
    audio::{assert_tone, assert_tone_in_tail, write_tone},
    baresip::{BARESIP_TONE_HZ, Baresip},
    kamailio::{Algorithm, DOMAIN, Kamailio, USERS},
    phone_args, saw,
};

const OUR_TONE_HZ: f64 = 440.0;

/// A phone that talks to baresip directly (no registrar), playing our tone and recording.
fn direct_phone(baresip: &Baresip, files: &std::path::Path) -> PhoneArgs {
    write_tone(&files.join("ours.wav"), OUR_TONE_HZ, 8000, 1, 1.0);
    let mut args = phone_args("alice", "127.0.0.1", baresip.addr);
    args.register = false;
    args.play = Some(files.join("ours.wav"));
    args.record = Some(files.join("heard.wav"));
    args
}

#[tokio::test]
async fn we_call_baresip_tones_and_dtmf_cross_both_ways_and_we_hang_up() {
    let mut baresip = Baresip::start("<sip:b@127.0.0.1:{port}>;regint=0;answermode=auto;audio_codecs=PCMU").await;
    let files = tempfile::tempdir().unwrap();
    let mut args = direct_phone(&baresip, files.path());
    args.dial = Some(format!("sip:b@{}", baresip.addr));
    let mut phone = TestPhone::spawn("alice", args);

    phone.expect("established").await;
    phone.expect("audio").await;
    baresip.expect_event("CALL_ESTABLISHED").await;
    phone.stays_up_for(Duration::from_millis(1000)).await;
    baresip.command("sndcode 5").await;
    let digit = phone.expect("dtmf").await;
    assert_eq!(digit["digit"], "5", "{digit}");
    phone.send("dtmf 9").await;
    let pressed = baresip.expect_event("CALL_DTMF_START").await;
    assert_eq!(pressed["param"], "9", "{pressed}");
    phone.stays_up_for(Duration::from_millis(500)).await;
    phone.send("hangup").await;
    baresip.expect_event("CALL_CLOSED").await;
    let (code, events) = phone.finish().await;
    assert_eq!(code, ExitCode::SUCCESS, "{events:#?}");
    assert!(saw(&events, "closed", "cause", &json!("local_hangup")), "{events:#?}");

    assert_tone(&files.path().join("heard.wav"), BARESIP_TONE_HZ, OUR_TONE_HZ);
    assert_tone(&baresip.received_audio().await, OUR_TONE_HZ, BARESIP_TONE_HZ);
}

#[tokio::test]
async fn baresip_calls_us_both_sides_hold_and_resume_and_baresip_hangs_up() {
    let mut baresip = Baresip::start("<sip:b@127.0.0.1:{port}>;regint=0;audio_codecs=PCMU").await;
    let files = tempfile::tempdir().unwrap();
    let mut args = direct_phone(&baresip, files.path());
    args.auto_answer = true;
    let mut phone = TestPhone::spawn("alice", args);
    let started = phone.expect("started").await;
    let local = started["local"].as_str().unwrap().to_owned();

    baresip.command(&format!("dial sip:alice@{local}")).await;
    let incoming = phone.expect("incoming").await;
    assert!(
        incoming["from"].as_str().unwrap().contains("sip:b@127.0.0.1"),
        "{incoming}"
    );
    phone.expect("established").await;
    phone.expect("audio").await;
    baresip.expect_event("CALL_ESTABLISHED").await;

    baresip.command("hold").await;
    let held = phone.expect("held").await;
    assert_eq!(held["by"], "remote", "{held}");
    baresip.command("resume").await;
    let resumed = phone.expect("resumed").await;
    assert_eq!(resumed["by"], "remote", "{resumed}");

    phone.send("hold").await;
    let held = phone.expect("held").await;
    assert_eq!(held["by"], "local", "{held}");
    phone.send("resume").await;
    let resumed = phone.expect("resumed").await;
    assert_eq!(resumed["by"], "local", "{resumed}");

    // After the hold round trips audio still flows: the second half of the call is the check.
    phone.stays_up_for(Duration::from_millis(1000)).await;
    baresip.command("hangup").await;
    let closed = phone.expect("closed").await;
    assert_eq!(closed["cause"], "remote_hangup", "{closed}");
    let (code, _) = phone.quit().await;
    assert_eq!(code, ExitCode::SUCCESS);

    // The recording stops with the call, so its tail is the audio after both resumes.
    // (baresip's own dump is no witness here: its sndfile filter names files by the second
    // and reopens them at every re-INVITE, clobbering the first.)
    assert_tone_in_tail(&files.path().join("heard.wav"), BARESIP_TONE_HZ, OUR_TONE_HZ, 0.6);
}

/// baresip registers as 1002 and our phone as 1001 with kamailio (MD5); we call baresip, then
/// baresip calls us; each call carries baresip's tone to us.
#[tokio::test]
async fn calls_to_and_from_baresip_through_kamailio() {
    let kamailio = Kamailio::start(Algorithm::Md5);
    let (user, password) = USERS[1];
    let mut baresip = Baresip::start(&format!(
        "<sip:{user}@{DOMAIN}>;auth_pass={password};outbound=\"sip:{}\";regint=60;answermode=auto;audio_codecs=PCMU",
        kamailio.addr
    ))
    .await;
    baresip.wait_registered().await;

    let files = tempfile::tempdir().unwrap();
    write_tone(&files.path().join("ours.wav"), OUR_TONE_HZ, 8000, 1, 1.0);
    let (user, password) = USERS[0];
    let mut args = phone_args(user, DOMAIN, kamailio.addr);
    args.password = PasswordSource::Value(password.to_owned());
    args.auto_answer = true;
    args.play = Some(files.path().join("ours.wav"));
    args.record = Some(files.path().join("heard.wav"));
    let mut phone = TestPhone::spawn("1001", args);
    phone.expect("registered").await;

    phone.send(&format!("dial sip:1002@{DOMAIN}")).await;
    phone.expect("established").await;
    let first_rtp = phone.expect("rtp").await;
    phone.expect("audio").await;
    phone.stays_up_for(Duration::from_millis(1000)).await;
    phone.send("hangup").await;
    let closed = phone.expect("closed").await;
    assert_eq!(closed["cause"], "local_hangup", "{closed}");
    baresip.expect_event("CALL_CLOSED").await;

    baresip.command(&format!("dial sip:1001@{DOMAIN}")).await;
    phone.expect("incoming").await;
    phone.expect("established").await;
    let second_rtp = phone.expect("rtp").await;
    assert_ne!(
        first_rtp["local"], second_rtp["local"],
        "each call has its own RTP socket"
    );
    phone.expect("audio").await;
    phone.stays_up_for(Duration::from_millis(1000)).await;
    baresip.command("hangup").await;
    let closed = phone.expect("closed").await;
    assert_eq!(closed["cause"], "remote_hangup", "{closed}");
    let (code, _) = phone.quit().await;
    assert_eq!(code, ExitCode::SUCCESS);

    assert_tone(&files.path().join("heard.wav"), BARESIP_TONE_HZ, OUR_TONE_HZ);
}
