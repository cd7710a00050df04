//! The phone against a real baresip restricted to one codec, for each of PCMU, PCMA and Opus,
//! in both directions (we call baresip, baresip calls us): each side sends its own tone and
//! each side's recording must carry the other's, at the frequency sent and near the level
//! sent; DTMF digits sent each way must arrive as the same digits.
//!
//! baresip here loads `opus.so` besides `g711.so` and restricts the account with
//! `audio_codecs`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "a failure here is a failed test"
)]

mod sip_support;

use std::{net::SocketAddr, path::Path, process::ExitCode, time::Duration};

use runtime::phone::{PhoneArgs, parse_codecs};
use serde_json::json;
use sip::sdp::Codec;
use sip_support::{
    TestPhone,
    audio::{read_wav, tone_share, write_tone},
    // baresip's `ausine` tone. Its amplitude is not ours to choose: the level check on our side
    // is against the level baresip itself records of its own microphone (`-enc.wav`).
    baresip::{BARESIP_TONE_HZ, Baresip},
    phone_args,
    saw,
};

/// Our tone, and its amplitude in the file we play (`write_tone` writes 8000 peak).
const OUR_TONE_HZ: f64 = 440.0;
const OUR_TONE_PEAK: f64 = 8000.0;
/// How far a received tone's level may sit from the level sent. G.711 keeps it within a
/// fraction of a dB and Opus within one or two; 3 dB catches a halved or doubled signal.
const LEVEL_TOLERANCE_DB: f64 = 3.0;

/// The codec as baresip's `audio_codecs` (name/rate/channels: a bare `opus` matches
/// nothing, which baresip takes as "no filter"), as our `--codec` and as our `established`
/// event name it.
fn names(codec: Codec) -> (&'static str, &'static str, &'static str) {
    match codec {
        Codec::Pcmu => ("PCMU/8000/1", "pcmu", "PCMU"),
        Codec::Pcma => ("PCMA/8000/1", "pcma", "PCMA"),
        Codec::Opus => ("opus/48000/2", "opus", "OPUS"),
    }
}

/// A baresip limited to one codec, auto-answering; Opus loaded besides G.711.
async fn codec_baresip(codec: Codec) -> Baresip {
    let account = format!(
        "<sip:b@127.0.0.1:{{port}}>;regint=0;answermode=auto;audio_codecs={}",
        names(codec).0
    );
    let baresip = Baresip::start_with(&account, &["opus.so"]).await;
    // An unknown codec spec leaves the account unfiltered: every loaded codec offered.
    assert!(
        !baresip.log().contains("audio codec not found"),
        "baresip is not limited to {codec:?}; log:\n{}",
        baresip.log()
    );
    baresip
}

/// RMS level in dBFS of the loudest half of the 20 ms blocks (the call's audio, not the
/// silence around it).
fn level_dbfs(samples: &[i16], rate: u32) -> f64 {
    let block = (rate / 50) as usize;
    let mut energies: Vec<f64> = samples
        .chunks_exact(block)
        .map(|chunk| chunk.iter().map(|&s| f64::from(s).powi(2)).sum::<f64>() / block as f64)
        .collect();
    energies.sort_by(|a, b| b.total_cmp(a));
    energies.truncate(energies.len().div_ceil(2));
    let mean = energies.iter().sum::<f64>() / energies.len().max(1) as f64;
    10.0 * (mean.max(1e-9) / (32768.0 * 32768.0)).log10()
}

/// Asserts that the recording carries `frequency` (not `absent`) at `expected_dbfs`.
fn assert_tone_at_level(path: &Path, frequency: f64, absent: f64, expected_dbfs: f64) {
    let (samples, rate) = read_wav(path);
    let present = tone_share(&samples, rate, frequency);
    let other = tone_share(&samples, rate, absent);
    let level = level_dbfs(&samples, rate);
    assert!(
        present > 0.5 && other < 0.1 && (level - expected_dbfs).abs() < LEVEL_TOLERANCE_DB,
        "{}: {frequency} Hz share {present:.3} (want > 0.5), {absent} Hz share {other:.3} (want < 0.1), \
         level {level:.1} dBFS (want {expected_dbfs:.1} ± {LEVEL_TOLERANCE_DB}), {} samples at {rate} Hz",
        path.display(),
        samples.len()
    );
}

/// Our phone restricted to `codec`, playing our tone and recording.
fn our_phone(codec: Codec, peer: SocketAddr, files: &Path) -> PhoneArgs {
    write_tone(&files.join("ours.wav"), OUR_TONE_HZ, 16000, 1, 1.0);
    let mut args = phone_args("alice", "127.0.0.1", peer);
    args.register = false;
    args.codecs = parse_codecs(names(codec).1).unwrap();
    args.play = Some(files.join("ours.wav"));
    args.record = Some(files.join("heard.wav"));
    args
}

#[derive(Clone, Copy, PartialEq)]
enum Caller {
    Us,
    Baresip,
}

/// One call in `codec`: established with that codec, two seconds of tones both ways, digits
/// both ways, then the caller hangs up; both recordings are checked.
async fn call_with_tones_and_digits(codec: Codec, caller: Caller) {
    let mut baresip = codec_baresip(codec).await;
    let files = tempfile::tempdir().unwrap();
    let mut args = our_phone(codec, baresip.addr, files.path());
    match caller {
        Caller::Us => args.dial = Some(format!("sip:b@{}", baresip.addr)),
        Caller::Baresip => args.auto_answer = true,
    }
    let mut phone = TestPhone::spawn("alice", args);
    if caller == Caller::Baresip {
        let started = phone.expect("started").await;
        let local = started["local"].as_str().unwrap().to_owned();
        baresip.command(&format!("dial sip:alice@{local}")).await;
        phone.expect("incoming").await;
    }
    let established = phone.expect("established").await;
    assert_eq!(established["codec"], names(codec).2, "{established}");
    phone.expect("audio").await;
    baresip.expect_event("CALL_ESTABLISHED").await;
    phone.stays_up_for(Duration::from_millis(1500)).await;

    for digit in ["3", "#"] {
        baresip.command(&format!("sndcode {digit}")).await;
        let received = phone.expect("dtmf").await;
        assert_eq!(received["digit"], digit, "{received}");
    }
    phone.send("dtmf 7*").await;
    for digit in ["7", "*"] {
        let pressed = baresip.expect_event("CALL_DTMF_START").await;
        assert_eq!(pressed["param"], digit, "{pressed}");
    }
    phone.stays_up_for(Duration::from_millis(500)).await;

    match caller {
        Caller::Us => {
            phone.send("hangup").await;
            baresip.expect_event("CALL_CLOSED").await;
            let (code, events) = phone.finish().await;
            assert_eq!(code, ExitCode::SUCCESS, "{events:#?}");
            assert!(saw(&events, "closed", "cause", &json!("local_hangup")), "{events:#?}");
        }
        Caller::Baresip => {
            baresip.command("hangup").await;
            let closed = phone.expect("closed").await;
            assert_eq!(closed["cause"], "remote_hangup", "{closed}");
            let (code, _) = phone.quit().await;
            assert_eq!(code, ExitCode::SUCCESS);
        }
    }

    let heard = files.path().join("heard.wav");
    let (_, rate) = read_wav(&heard);
    let expected_rate = if codec == Codec::Opus { 48000 } else { 8000 };
    assert_eq!(rate, expected_rate, "our recording runs at the codec's rate");
    let (baresip_own, baresip_rate) = read_wav(&baresip.recording("-enc.wav").await);
    let baresip_sent = level_dbfs(&baresip_own, baresip_rate);
    assert_tone_at_level(&heard, BARESIP_TONE_HZ, OUR_TONE_HZ, baresip_sent);
    let ours_sent = 20.0 * (OUR_TONE_PEAK / 32768.0 / std::f64::consts::SQRT_2).log10();
    assert_tone_at_level(
        &baresip.recording("-dec.wav").await,
        OUR_TONE_HZ,
        BARESIP_TONE_HZ,
        ours_sent,
    );
}

#[tokio::test]
async fn pcmu_we_call_baresip_tones_and_digits_cross_both_ways() {
    call_with_tones_and_digits(Codec::Pcmu, Caller::Us).await;
}

#[tokio::test]
async fn pcmu_baresip_calls_us_tones_and_digits_cross_both_ways() {
    call_with_tones_and_digits(Codec::Pcmu, Caller::Baresip).await;
}

#[tokio::test]
async fn pcma_we_call_baresip_tones_and_digits_cross_both_ways() {
    call_with_tones_and_digits(Codec::Pcma, Caller::Us).await;
}

#[tokio::test]
async fn pcma_baresip_calls_us_tones_and_digits_cross_both_ways() {
    call_with_tones_and_digits(Codec::Pcma, Caller::Baresip).await;
}

#[tokio::test]
async fn opus_we_call_baresip_tones_and_digits_cross_both_ways() {
    call_with_tones_and_digits(Codec::Opus, Caller::Us).await;
}

#[tokio::test]
async fn opus_baresip_calls_us_tones_and_digits_cross_both_ways() {
    call_with_tones_and_digits(Codec::Opus, Caller::Baresip).await;
}

#[test]
fn codec_lists_keep_their_order_and_refuse_unknown_names() {
    assert_eq!(parse_codecs("Opus, pcmu,opus").unwrap(), vec![Codec::Opus, Codec::Pcmu]);
    assert_eq!(parse_codecs("pcma").unwrap(), vec![Codec::Pcma]);
    assert!(parse_codecs("g729").unwrap_err().contains("g729"));
    assert!(parse_codecs(" , ").is_err());
}
