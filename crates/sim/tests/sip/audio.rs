//! Two-way audio: the caller's voice reaches the phone, the phone's audio is counted, and
//! Oktell's hold switches the far end to the hold melody.

use std::time::Duration;

use serde_json::json;
use sim::sip::audio::HOLD_MELODY_HZ;
use sip::ua::UaEvent;

use crate::oktell_side::Session;
use crate::phone::{Phone, media_address, rms, tone_share};
use crate::{control, eventually, manual_world, start};

/// For each 100 ms window, how much of its energy the strongest melody note holds; the median.
fn melody_likeness(pcm: &[i16]) -> f64 {
    let mut shares: Vec<f64> = pcm
        .chunks_exact(800)
        .map(|window| {
            HOLD_MELODY_HZ
                .iter()
                .map(|&hz| tone_share(window, hz))
                .fold(0.0, f64::max)
        })
        .collect();
    assert!(!shares.is_empty(), "no audio to judge");
    shares.sort_by(f64::total_cmp);
    shares[shares.len() / 2]
}

#[tokio::test]
async fn callers_voice_reaches_the_phone_in_the_negotiated_codec() {
    let sim = start(manual_world()).await;
    let mut phone = Phone::registered(&sim, "101").await;
    control(&sim, "POST", "/calls", r#"{"from":"89161234567","to":"101"}"#, 200).await;
    let (_, media) = phone.answer_next_call().await;
    let (packets, pcm) = phone.receive_audio(Duration::from_millis(1500)).await;
    assert!(packets.len() >= 50, "{} RTP packets in 1.5 s", packets.len());
    assert!(packets.iter().all(|p| p.payload_type == media.payload_type));
    assert!(packets.iter().all(|p| p.payload.len() == 160), "20 ms G.711 frames");
    assert!(rms(&pcm) > 300.0, "the caller is silent: rms {}", rms(&pcm));
    assert!(
        melody_likeness(&pcm) < 0.5,
        "the caller plays the hold melody instead of speaking"
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn phones_audio_is_counted_by_the_simulator() {
    let sim = start(manual_world()).await;
    let mut phone = Phone::registered(&sim, "101").await;
    control(&sim, "POST", "/calls", r#"{"from":"89161234567","to":"101"}"#, 200).await;
    let (_, media) = phone.answer_next_call().await;
    phone.send_tone(media_address(&media), 50).await;
    let sip = eventually(&sim, "/sip", "the phone's RTP is counted", |s| {
        s["legs"][0]["rtp"]["packets_received"].as_u64() >= Some(45)
    })
    .await;
    let level = sip["legs"][0]["rtp"]["inbound_level_dbov"].as_f64().unwrap();
    assert!(level > -30.0, "a loud tone was sent, the simulator heard {level} dBov");
    assert!(sip["legs"][0]["rtp"]["packets_sent"].as_u64() > Some(0));
    sim.shutdown().await;
}

#[tokio::test]
async fn oktell_hold_plays_the_hold_melody_and_resume_brings_the_caller_back() {
    let sim = start(manual_world()).await;
    let mut oktell = Session::open(&sim, "op1", true).await;
    let mut phone = Phone::registered(&sim, "101").await;
    control(&sim, "POST", "/calls", r#"{"from":"89161234567","to":"101"}"#, 200).await;
    phone.answer_next_call().await;
    let reply = oktell
        .call("pbxmakeflash", json!({"userlogin": "op1", "mode": "switch"}))
        .await;
    assert_eq!(reply[1]["result"], 1, "{reply}");
    eventually(&sim, "/sip", "the far end plays hold music", |s| {
        s["legs"][0]["source"] == "hold_music"
    })
    .await;
    // Let the switch reach the stream, then listen.
    phone.receive_audio(Duration::from_millis(100)).await;
    let (_, held) = phone.receive_audio(Duration::from_millis(1200)).await;
    assert!(
        melody_likeness(&held) > 0.6,
        "on hold the phone should hear the melody: {}",
        melody_likeness(&held)
    );
    let reply = oktell
        .call("pbxmakeflash", json!({"userlogin": "op1", "mode": "switch"}))
        .await;
    assert_eq!(reply[1]["result"], 1, "{reply}");
    eventually(&sim, "/sip", "the caller is back", |s| {
        s["legs"][0]["source"] == "voice"
    })
    .await;
    sim.shutdown().await;
}

#[tokio::test]
async fn phone_hold_is_the_pbx_hold() {
    let sim = start(manual_world()).await;
    let mut oktell = Session::open(&sim, "op1", true).await;
    let mut phone = Phone::registered(&sim, "101").await;
    control(&sim, "POST", "/calls", r#"{"from":"89161234567","to":"101"}"#, 200).await;
    let (call, _) = phone.answer_next_call().await;
    phone.act(|ua, now| ua.hold(now, call)).await.unwrap();
    phone
        .wait_for("hold accepted", |e| matches!(e, UaEvent::MediaUpdated { .. }))
        .await;
    oktell.event("flashstatechanged").await;
    let line = crate::line_of(&sim, "op1").await;
    assert_eq!(line["isflashing"], true, "{line}");
    assert_eq!(line["flashed"]["number"], "89161234567", "{line}");
    phone.act(|ua, now| ua.resume(now, call)).await.unwrap();
    phone
        .wait_for("resume accepted", |e| matches!(e, UaEvent::MediaUpdated { .. }))
        .await;
    oktell.event("flashstatechanged").await;
    let line = crate::line_of(&sim, "op1").await;
    assert_eq!(line["isflashing"], false, "{line}");
    assert_eq!(line["linestatestr"], "lsCommutated", "{line}");
    sim.shutdown().await;
}
