//! Real cpal streams, without a sound card: each test starts a private PulseAudio daemon with
//! null sinks (the recipe in build-and-test.md section 5), plays through our cpal backend and
//! captures the sink's monitor. The backend uses cpal's ALSA host; ALSA's `default` device
//! reaches the daemon through libasound2-plugins' pulse plugin, exactly as on a desktop.
//!
//! cpal reads the server address from the environment only, and a test may not change its own
//! environment (that needs `unsafe` since edition 2024), so the parent test starts the daemon
//! and re-runs this test binary for one `#[ignore]`d child test with `PULSE_SERVER` set. The
//! daemon is stopped (`pactl exit`, then its pid) and its directory removed by a drop guard,
//! also when an assertion fails.
//!
//! Needs the Debian packages `pulseaudio pulseaudio-utils libasound2-plugins`; without them the
//! test fails and says so rather than passing silently.

// Test helpers outside #[test] functions may unwrap too: a failure is the test failing.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::net::SocketAddr;
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use media::stream::{CodecChoice, MediaStream, StreamConfig};
use runtime::audio::backend::cpal::CpalBackend;
use runtime::audio::call_audio::CallAudio;
use runtime::audio::devices::{DevicePreferences, Role, Routed};
use runtime::audio::meter::{Level, tone_dbfs};
use runtime::audio::{AudioBackend, Capture, Direction, FRAME, Playback, frame_samples};

#[path = "../../../tests/support/pulse.rs"]
#[allow(dead_code)]
mod pulse;

use pulse::PulseDaemon;

const TONE_HZ: f64 = 1000.0;
const TONE_AMPLITUDE: f64 = 0.5;
/// An upper bound only: every wait ends as soon as its condition holds. Generous, because CI
/// machines are busy and capture through the ALSA pulse plugin can take 2 s to start.
const TIMEOUT: Duration = Duration::from_secs(30);

fn in_child() -> bool {
    std::env::var_os("PULSE_SERVER").is_some_and(|s| s.to_string_lossy().starts_with("unix:"))
}

/// Plays a tone into `playback` and collects `capture` frames (20 ms) until `enough` of them
/// carry the tone, or fails after [`TIMEOUT`]. Polls every few milliseconds: the exit condition
/// is the captured audio, never a fixed wait.
fn record_tone(playback: &mut Playback, capture: &mut Capture, enough: usize) -> Vec<Vec<i16>> {
    let rate = playback.sample_rate();
    let ahead = frame_samples(rate) * 3;
    let mut phase = 0usize;
    let mut tone = vec![0i16; frame_samples(rate)];
    let mut frame = vec![0i16; frame_samples(capture.sample_rate())];
    let mut with_tone = Vec::new();
    let mut frames = 0usize;
    let deadline = Instant::now() + TIMEOUT;
    while with_tone.len() < enough {
        assert!(
            Instant::now() < deadline,
            "only {} of {enough} frames with the tone within {TIMEOUT:?} ({frames} captured, {} underruns)",
            with_tone.len(),
            playback.underruns()
        );
        while playback.queued() < ahead {
            for s in tone.iter_mut() {
                let t = phase as f64 / f64::from(rate);
                *s = (TONE_AMPLITUDE * 32767.0 * (2.0 * std::f64::consts::PI * TONE_HZ * t).sin()).round() as i16;
                phase += 1;
            }
            playback.write(&tone);
        }
        while capture.read(&mut frame) {
            frames += 1;
            if Level::measure(&frame).rms_dbfs > -20.0 {
                with_tone.push(frame.clone());
            }
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    with_tone
}

fn median(mut values: Vec<f32>) -> f32 {
    values.sort_by(f32::total_cmp);
    values[values.len() / 2]
}

/// The sent tone's level in dBFS RMS.
fn sent_dbfs() -> f32 {
    (20.0 * (TONE_AMPLITUDE / 2f64.sqrt()).log10()) as f32
}

#[test]
fn a_tone_played_through_cpal_comes_back_from_the_null_sink_monitor() {
    let daemon = PulseDaemon::start();
    daemon.run_child("child_tone_loopback");
}

#[test]
#[ignore = "run by a_tone_played_through_cpal_comes_back_from_the_null_sink_monitor against its own daemon"]
fn child_tone_loopback() {
    assert!(in_child(), "run by the parent test with PULSE_SERVER set");
    let backend = CpalBackend::new();
    let devices = backend.devices().unwrap();
    for direction in [Direction::Capture, Direction::Playback] {
        assert!(
            devices.iter().any(|d| d.direction == direction && d.is_default),
            "{devices:?}"
        );
        assert!(
            devices
                .iter()
                .any(|d| d.direction == direction && d.name.contains("PulseAudio")),
            "the pulse plugin's device is listed while the server runs: {devices:?}"
        );
    }

    let mut playback = backend.open_playback(None).unwrap();
    let mut capture = backend.open_capture(None).unwrap();
    // Half a second of frames carrying the tone.
    let frames = record_tone(&mut playback, &mut capture, 25);

    let rate = capture.sample_rate();
    // 20 ms windows hold whole cycles of every frequency checked, so the bins do not leak.
    let at_tone = median(frames.iter().map(|f| tone_dbfs(f, rate, TONE_HZ)).collect());
    assert!(
        (at_tone - sent_dbfs()).abs() < 1.0,
        "1 kHz at {at_tone:.2} dBFS, sent {:.2}",
        sent_dbfs()
    );
    for other in [500.0, 2000.0, 3000.0] {
        let leak = median(frames.iter().map(|f| tone_dbfs(f, rate, other)).collect());
        assert!(leak < at_tone - 40.0, "{other} Hz at {leak:.1} dBFS");
    }
    let rms = median(frames.iter().map(|f| Level::measure(f).rms_dbfs).collect());
    assert!((rms - sent_dbfs()).abs() < 1.0, "{rms:.2} dBFS RMS");
}

#[test]
fn a_sink_removed_mid_stream_leaves_playback_on_the_new_default_without_a_device_message() {
    let daemon = PulseDaemon::start();
    daemon.pactl_ok(&["set-default-source", "ci_speakers.monitor"]);
    daemon.run_child("child_sink_removed");
}

#[test]
#[ignore = "run by a_sink_removed_mid_stream_leaves_playback_on_the_new_default_without_a_device_message against its own daemon"]
fn child_sink_removed() {
    assert!(in_child(), "run by the parent test with PULSE_SERVER set");
    let backend: Arc<dyn AudioBackend> = Arc::new(CpalBackend::new());
    let (mut speaker, event) = Routed::<Playback>::open(Arc::clone(&backend), Role::Speaker, None).unwrap();
    assert_eq!(event, None);
    let mut capture = backend.open_capture(None).unwrap();

    // Mid-stream means the device is already playing: through ALSA's pulse plugin the stream reaches the server
    // only once the first period is played (0.3–2 s), and a stream that connects after the unload simply lands on
    // the new default sink with nothing to recover from.
    let started = Instant::now() + TIMEOUT;
    let silence = vec![0i16; frame_samples(speaker.stream().sample_rate())];
    while speaker.stream().progress() == 0 {
        assert!(Instant::now() < started, "the headset sink never started playing");
        speaker.stream_mut().write(&silence);
        std::thread::sleep(Duration::from_millis(5));
    }

    // Pull the headset: unload its null sink, as unplugging a USB headset removes its sink.
    // Without module-rescue-streams (the daemon runs with -n) the stream on it is killed.
    let pactl = |args: &[&str]| {
        let out = Command::new("pactl").args(args).output().unwrap();
        assert!(out.status.success(), "pactl {args:?}");
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let modules = pactl(&["list", "short", "modules"]);
    let id = modules
        .lines()
        .find(|l| l.contains("sink_name=ci_headset"))
        .and_then(|l| l.split_whitespace().next())
        .unwrap()
        .to_owned();
    pactl(&["set-default-sink", "ci_speakers"]);
    pactl(&["unload-module", &id]);

    // Two outcomes are right, and which one happens depends on timing inside ALSA's pulse plugin: the killed
    // stream fails and our layer reopens `default` (now the speakers), or the plugin's own recovery re-attaches
    // the PCM to the new default sink and the stream never fails. Either way the operator must keep hearing the
    // call on the speakers without a device message; a stream that plays into nothing fails the tone check below.
    let mut events = Vec::new();
    let grace = Instant::now() + Duration::from_secs(3);
    let mut silence = vec![0i16; frame_samples(speaker.stream().sample_rate())];
    while Instant::now() < grace && !speaker.recover(Instant::now(), &mut events) {
        // Keep writing, as a call would: the device notices the loss when it next plays.
        speaker.stream_mut().write(&silence);
        silence.fill(0);
        std::thread::sleep(Duration::from_millis(5));
    }
    // ALSA's `default` device now leads to the speakers' sink: the same device name, so a restart happens without
    // bothering the operator.
    assert_eq!(events, [], "{events:?}");
    assert!(
        speaker.restarts() <= 1,
        "{} restarts for one lost sink",
        speaker.restarts()
    );
    let frames = record_tone(speaker.stream_mut(), &mut capture, 10);
    let rate = capture.sample_rate();
    let at_tone = median(frames.iter().map(|f| tone_dbfs(f, rate, TONE_HZ)).collect());
    assert!(
        (at_tone - sent_dbfs()).abs() < 1.0,
        "the tone now plays on the speakers: {at_tone:.2}"
    );
}

#[test]
fn a_call_pumped_through_real_devices_carries_the_far_ends_voice_there_and_back() {
    let daemon = PulseDaemon::start();
    daemon.run_child("child_call_round_trip");
}

/// The far end talks; our `CallAudio` plays it on the headset sink; the sink's monitor is our
/// microphone, so the same voice goes back to the far end, which must hear its own tone. Real
/// device clocks on both sides, RTP timing from the wall clock.
#[test]
#[ignore = "run by a_call_pumped_through_real_devices_carries_the_far_ends_voice_there_and_back against its own daemon"]
fn child_call_round_trip() {
    assert!(in_child(), "run by the parent test with PULSE_SERVER set");
    let backend: Arc<dyn AudioBackend> = Arc::new(CpalBackend::new());
    let start = Instant::now();
    let near_addr: SocketAddr = "127.0.0.1:42000".parse().unwrap();
    let far_addr: SocketAddr = "127.0.0.1:42002".parse().unwrap();
    let mut near = MediaStream::new(start, StreamConfig::new(CodecChoice::Pcmu, 0, 7)).unwrap();
    let mut far = MediaStream::new(start, StreamConfig::new(CodecChoice::Pcmu, 0, 8)).unwrap();
    let mut events = Vec::new();
    let mut audio = CallAudio::open(backend, &DevicePreferences::default(), near.sample_rate(), &mut events).unwrap();
    assert!(events.is_empty(), "{events:?}");

    let mut far_ticks = 0u32;
    let mut heard = Vec::new();
    let mut far_pcm = vec![0i16; 160];
    let deadline = start + TIMEOUT;
    while heard.len() < 25 {
        let now = Instant::now();
        assert!(
            now < deadline,
            "the far end heard its tone in only {} frames",
            heard.len()
        );
        // The far end: one frame out and one frame of playout per 20 ms of wall time.
        while start + FRAME * far_ticks <= now {
            for (i, s) in far_pcm.iter_mut().enumerate() {
                let t = (far_ticks as usize * 160 + i) as f64 / 8000.0;
                *s = (TONE_AMPLITUDE * 32767.0 * (2.0 * std::f64::consts::PI * TONE_HZ * t).sin()) as i16;
            }
            far.send_frame(now, &far_pcm).unwrap();
            let played = far.play_frame(now);
            if Level::measure(played.samples).rms_dbfs > -20.0 {
                heard.push(played.samples.to_vec());
            }
            far_ticks += 1;
        }
        while let Some(t) = far.poll_transmit() {
            near.handle_datagram(now, far_addr, &t.bytes);
        }
        audio.pump(now, &mut near, &mut events).unwrap();
        while let Some(t) = near.poll_transmit() {
            far.handle_datagram(now, near_addr, &t.bytes);
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    assert!(events.is_empty(), "{events:?}");
    let at_tone = median(heard.iter().map(|f| tone_dbfs(f, 8000, TONE_HZ)).collect());
    // Two G.711 passes and two resamplings: within 1.5 dB of what was sent.
    assert!(
        (at_tone - sent_dbfs()).abs() < 1.5,
        "round trip at {at_tone:.2} dBFS, sent {:.2}",
        sent_dbfs()
    );
    let stats = audio.stats();
    assert!(stats.frames_sent > 0 && stats.frames_played > 0, "{stats:?}");
}
