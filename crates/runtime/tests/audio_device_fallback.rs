//! Device choice and hot-plug, on the WAV backend: the preferred device is honoured, a missing
//! or unplugged one hands its role to the default with an event the operator can read, and a
//! device that comes back takes its role back.

// Test helpers outside #[test] functions may unwrap too: a failure is the test failing.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::f64::consts::PI;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use media::stream::{CodecChoice, MediaStream, StreamConfig};
use runtime::audio::backend::wav::{WavBackend, read_mono, write_mono};
use runtime::audio::call_audio::CallAudio;
use runtime::audio::devices::{DeviceEvent, DevicePreferences, Role, STALL_AFTER};
use runtime::audio::meter::{Level, tone_dbfs};
use runtime::audio::tones::{PROGRESS_HZ, TonePlayer, ToneSpec};
use runtime::audio::{AudioBackend, AudioError, Direction, FRAME};

const FAR_END_HZ: f64 = 700.0;
/// The built-in ringtone's first note.
const C5: f64 = 523.25;
const RATE: u32 = 48_000;

/// A call whose far end sends a 700 Hz tone, heard through `CallAudio` on a WAV world with a
/// microphone, "Speakers" (the default) and "Headset".
struct Rig {
    dir: tempfile::TempDir,
    wav: WavBackend,
    audio: CallAudio,
    near: MediaStream,
    far: MediaStream,
    now: Instant,
    events: Vec<DeviceEvent>,
}

fn silence_file(path: &Path) {
    write_mono(path, RATE, &vec![0; RATE as usize]).unwrap();
}

impl Rig {
    fn new(preferences: DevicePreferences) -> Rig {
        let dir = tempfile::tempdir().unwrap();
        let wav = WavBackend::new();
        let mic = dir.path().join("mic.wav");
        silence_file(&mic);
        wav.add_input("Microphone", &mic).unwrap();
        wav.add_output("Speakers", RATE, &dir.path().join("speakers.wav"))
            .unwrap();
        wav.add_output("Headset", RATE, &dir.path().join("headset.wav"))
            .unwrap();
        let now = Instant::now();
        let near = MediaStream::new(now, StreamConfig::new(CodecChoice::Pcmu, 0, 1)).unwrap();
        let far = MediaStream::new(now, StreamConfig::new(CodecChoice::Pcmu, 0, 2)).unwrap();
        let backend: Arc<dyn AudioBackend> = Arc::new(wav.clone());
        let mut events = Vec::new();
        let audio = CallAudio::open(backend, &preferences, near.sample_rate(), &mut events).unwrap();
        Rig {
            dir,
            wav,
            audio,
            near,
            far,
            now,
            events,
        }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Runs the call for `d`, the far end talking.
    fn run(&mut self, d: Duration) {
        let far_from: SocketAddr = "127.0.0.1:41000".parse().unwrap();
        let frames = d.as_millis() / FRAME.as_millis();
        for _ in 0..frames {
            self.now += FRAME;
            let t = self.now;
            let start = self.far.stats().packets_sent as usize * 160;
            let pcm: Vec<i16> = (start..start + 160)
                .map(|i| (16000.0 * (2.0 * PI * FAR_END_HZ * i as f64 / 8000.0).sin()) as i16)
                .collect();
            self.far.send_frame(t, &pcm).unwrap();
            while let Some(transmit) = self.far.poll_transmit() {
                self.near.handle_datagram(t, far_from, &transmit.bytes);
            }
            self.wav.advance(FRAME).unwrap();
            self.audio.pump(t, &mut self.near, &mut self.events).unwrap();
        }
    }
}

fn far_end_level(path: &Path, from: Duration, to: Duration) -> f32 {
    let (rate, pcm) = read_mono(path).unwrap();
    let at = |d: Duration| ((u128::from(rate) * d.as_millis() / 1000) as usize).min(pcm.len());
    tone_dbfs(&pcm[at(from)..at(to)], rate, FAR_END_HZ)
}

fn headset_preferred() -> DevicePreferences {
    DevicePreferences {
        speaker: Some("Headset".into()),
        ..DevicePreferences::default()
    }
}

#[test]
fn the_call_plays_on_the_preferred_device_not_the_default() {
    let mut rig = Rig::new(headset_preferred());
    assert!(rig.events.is_empty(), "{:?}", rig.events);
    assert_eq!(rig.audio.stats().speaker, "Headset");
    rig.run(Duration::from_secs(1));
    rig.wav.finish().unwrap();
    let headset = far_end_level(
        &rig.path("headset.wav"),
        Duration::from_millis(300),
        Duration::from_secs(1),
    );
    let speakers = far_end_level(&rig.path("speakers.wav"), Duration::ZERO, Duration::from_secs(1));
    assert!(headset > -20.0, "{headset}");
    assert!(speakers < -80.0, "{speakers}");
}

#[test]
fn a_preferred_device_that_is_not_connected_falls_back_to_the_default_with_an_event() {
    let rig = Rig::new(DevicePreferences {
        speaker: Some("USB Headset 2".into()),
        ..DevicePreferences::default()
    });
    assert_eq!(
        rig.events,
        [DeviceEvent::PreferredUnavailable {
            role: Role::Speaker,
            preferred: "USB Headset 2".into(),
            using: "Speakers".into(),
        }]
    );
    assert_eq!(
        rig.events[0].message(),
        "USB Headset 2 is not available; using Speakers"
    );
    assert_eq!(rig.audio.stats().speaker, "Speakers");
}

#[test]
fn headset_unplugged_mid_call_moves_the_call_to_the_default_and_tells_the_operator() {
    let mut rig = Rig::new(headset_preferred());
    rig.run(Duration::from_secs(1));
    rig.wav.unplug("Headset").unwrap();
    rig.run(Duration::from_secs(1));
    rig.wav.finish().unwrap();

    assert_eq!(
        rig.events,
        [DeviceEvent::FellBack {
            role: Role::Speaker,
            lost: "Headset".into(),
            using: "Speakers".into(),
        }]
    );
    assert_eq!(rig.events[0].message(), "Headset disconnected; using Speakers");
    assert_eq!(rig.audio.stats().speaker, "Speakers");
    let before = far_end_level(&rig.path("speakers.wav"), Duration::ZERO, Duration::from_millis(950));
    let after = far_end_level(
        &rig.path("speakers.wav"),
        Duration::from_millis(1100),
        Duration::from_secs(2),
    );
    assert!(
        before < -80.0,
        "silent on the speakers while the headset played: {before}"
    );
    assert!(after > -20.0, "the call continues on the speakers: {after}");
}

#[test]
fn a_replugged_headset_takes_the_call_back() {
    let mut rig = Rig::new(headset_preferred());
    rig.run(Duration::from_millis(500));
    rig.wav.unplug("Headset").unwrap();
    rig.run(Duration::from_millis(500));
    rig.events.clear();
    let replugged = rig.path("headset-again.wav");
    rig.wav.add_output("Headset", RATE, &replugged).unwrap();
    rig.audio.follow_devices(&mut rig.events).unwrap();
    assert_eq!(
        rig.events,
        [DeviceEvent::Restored {
            role: Role::Speaker,
            using: "Headset".into(),
        }]
    );
    assert_eq!(rig.events[0].message(), "Using Headset again");
    rig.run(Duration::from_secs(1));
    rig.wav.finish().unwrap();
    assert!(far_end_level(&replugged, Duration::from_millis(200), Duration::from_secs(1)) > -20.0);
}

#[test]
fn losing_every_speaker_reports_once_and_the_next_device_plugged_in_is_used() {
    let mut rig = Rig::new(DevicePreferences::default());
    rig.run(Duration::from_millis(200));
    rig.wav.unplug("Speakers").unwrap();
    rig.run(Duration::from_millis(200));
    // The system default moved to the headset, so the call follows it there.
    assert_eq!(
        rig.events,
        [DeviceEvent::FellBack {
            role: Role::Speaker,
            lost: "Speakers".into(),
            using: "Headset".into(),
        }]
    );
    rig.events.clear();
    rig.wav.unplug("Headset").unwrap();
    rig.run(Duration::from_millis(500));
    rig.audio.follow_devices(&mut rig.events).unwrap();
    assert_eq!(rig.events.len(), 1, "reported once, not per pump: {:?}", rig.events);
    assert!(matches!(
        &rig.events[0],
        DeviceEvent::NoDevice {
            role: Role::Speaker,
            ..
        }
    ));
    assert_eq!(rig.events[0].message(), "No speaker available");

    rig.events.clear();
    let dock = rig.path("dock.wav");
    rig.wav.add_output("Dock speaker", RATE, &dock).unwrap();
    rig.audio.follow_devices(&mut rig.events).unwrap();
    assert_eq!(
        rig.events,
        [DeviceEvent::FellBack {
            role: Role::Speaker,
            lost: "Headset".into(),
            using: "Dock speaker".into(),
        }]
    );
    rig.run(Duration::from_secs(1));
    rig.wav.finish().unwrap();
    assert!(far_end_level(&dock, Duration::from_millis(200), Duration::from_secs(1)) > -20.0);
}

#[test]
fn opening_a_call_without_any_microphone_is_an_error_naming_the_direction() {
    let dir = tempfile::tempdir().unwrap();
    let wav = WavBackend::new();
    wav.add_output("Speakers", RATE, &dir.path().join("s.wav")).unwrap();
    let backend: Arc<dyn AudioBackend> = Arc::new(wav);
    let err = CallAudio::open(backend, &DevicePreferences::default(), 8000, &mut Vec::new()).unwrap_err();
    assert!(
        matches!(
            err,
            AudioError::NoDefault {
                direction: Direction::Capture
            }
        ),
        "{err:?}"
    );
}

#[test]
fn the_ringtone_plays_on_the_ringer_device_while_the_call_stays_on_the_headset() {
    let mut rig = Rig::new(headset_preferred());
    let backend: Arc<dyn AudioBackend> = Arc::new(rig.wav.clone());
    let (mut ringer, event) = TonePlayer::start(backend, Role::Ringer, Some("Speakers"), ToneSpec::Ringtone).unwrap();
    assert_eq!(event, None);
    assert_eq!(ringer.device(), "Speakers");
    let mut events = Vec::new();
    for _ in 0..100 {
        rig.run(FRAME);
        ringer.pump(rig.now, &mut events).unwrap();
    }
    drop(ringer);
    rig.wav.finish().unwrap();
    assert!(events.is_empty(), "{events:?}");

    let (rate, speakers) = read_mono(&rig.path("speakers.wav")).unwrap();
    let (_, headset) = read_mono(&rig.path("headset.wav")).unwrap();
    let ms = |m: usize| m * rate as usize / 1000;
    // The chime opens with C5 for 180 ms and pauses from about 1.6 s.
    let chime = tone_dbfs(&speakers[ms(10)..ms(170)], rate, C5);
    assert!(chime > -30.0, "a decaying bell note: {chime}");
    // Digital silence in the chime's pause: none of the call leaks onto the speakers.
    assert_eq!(
        Level::measure(&speakers[ms(1650)..ms(2000)]),
        Level::SILENT,
        "cadence pause"
    );
    // G.711 noise and the far end's tone leak a little into any Goertzel bin.
    let leak = tone_dbfs(&headset[ms(10)..ms(170)], rate, C5);
    assert!(leak < chime - 25.0, "no ringtone in the headset: {leak}");
    assert!(tone_dbfs(&headset[ms(300)..ms(2000)], rate, FAR_END_HZ) > -20.0);
}

#[test]
fn ring_back_plays_in_the_headset_where_the_operator_listens() {
    let dir = tempfile::tempdir().unwrap();
    let wav = WavBackend::new();
    wav.add_output("Speakers", RATE, &dir.path().join("speakers.wav"))
        .unwrap();
    wav.add_output("Headset", RATE, &dir.path().join("headset.wav"))
        .unwrap();
    let backend: Arc<dyn AudioBackend> = Arc::new(wav.clone());
    let (mut tone, _) = TonePlayer::start(backend, Role::Speaker, Some("Headset"), ToneSpec::RingBack).unwrap();
    let mut now = Instant::now();
    let mut events = Vec::new();
    for _ in 0..100 {
        now += FRAME;
        wav.advance(FRAME).unwrap();
        tone.pump(now, &mut events).unwrap();
    }
    wav.finish().unwrap();
    let (rate, headset) = read_mono(&dir.path().join("headset.wav")).unwrap();
    let (_, speakers) = read_mono(&dir.path().join("speakers.wav")).unwrap();
    let ms = |m: usize| m * rate as usize / 1000;
    assert!(tone_dbfs(&headset[ms(100)..ms(900)], rate, PROGRESS_HZ) > -16.0);
    assert_eq!(
        Level::measure(&headset[ms(1100)..ms(2000)]),
        Level::SILENT,
        "1 s on, then off"
    );
    assert_eq!(Level::measure(&speakers), Level::SILENT);
}

#[test]
fn the_ringer_follows_its_device_when_it_is_unplugged() {
    let dir = tempfile::tempdir().unwrap();
    let wav = WavBackend::new();
    wav.add_output("Speakers", 44_100, &dir.path().join("speakers.wav"))
        .unwrap();
    wav.add_output("USB speakerphone", 16_000, &dir.path().join("usb.wav"))
        .unwrap();
    let backend: Arc<dyn AudioBackend> = Arc::new(wav.clone());
    let (mut ringer, _) = TonePlayer::start(backend, Role::Ringer, Some("USB speakerphone"), ToneSpec::Busy).unwrap();
    let mut events = Vec::new();
    let mut now = Instant::now();
    for _ in 0..10 {
        now += FRAME;
        wav.advance(FRAME).unwrap();
        ringer.pump(now, &mut events).unwrap();
    }
    wav.unplug("USB speakerphone").unwrap();
    for _ in 0..50 {
        now += FRAME;
        wav.advance(FRAME).unwrap();
        ringer.pump(now, &mut events).unwrap();
    }
    wav.finish().unwrap();
    assert_eq!(events[0].message(), "USB speakerphone disconnected; using Speakers");
    assert_eq!(events[0].role(), Role::Ringer);
    let (rate, speakers) = read_mono(&dir.path().join("speakers.wav")).unwrap();
    assert_eq!(rate, 44_100);
    // The busy tone carries on, re-rendered at the new device's rate: one 350 ms burst.
    let heard = &speakers[speakers.len() - rate as usize..];
    let bursts = heard
        .chunks(rate as usize * 35 / 100)
        .map(|window| tone_dbfs(window, rate, PROGRESS_HZ))
        .fold(f32::MIN, f32::max);
    assert!(bursts > -20.0, "{bursts}");
}

#[test]
fn a_headset_that_silently_stops_playing_is_abandoned_after_the_stall_timeout() {
    let mut rig = Rig::new(headset_preferred());
    rig.run(Duration::from_millis(500));
    rig.wav.freeze("Headset");
    rig.run(STALL_AFTER - Duration::from_millis(100));
    assert!(rig.events.is_empty(), "not yet: {:?}", rig.events);
    rig.run(Duration::from_millis(1500));
    assert_eq!(
        rig.events,
        [DeviceEvent::FellBack {
            role: Role::Speaker,
            lost: "Headset".into(),
            using: "Speakers".into(),
        }]
    );
    rig.wav.finish().unwrap();
    let total = Duration::from_millis(500) + STALL_AFTER + Duration::from_millis(1400);
    let after = far_end_level(&rig.path("speakers.wav"), total - Duration::from_millis(800), total);
    let (rate, pcm) = read_mono(&rig.path("speakers.wav")).unwrap();
    eprintln!("len {} ms", pcm.len() as u32 * 1000 / rate);
    for (i, c) in pcm.chunks(rate as usize / 5).enumerate() {
        eprintln!("{} {:?} {}", i * 200, Level::measure(c), tone_dbfs(c, rate, FAR_END_HZ));
    }
    eprintln!("{:?} {:?}", rig.near.stats().frames, rig.audio.stats());
    assert!(after > -20.0, "the call continues on the speakers: {after}");
}

#[test]
fn a_frozen_microphone_is_replaced_by_silence_so_rtp_keeps_flowing() {
    let mut rig = Rig::new(DevicePreferences::default());
    rig.run(Duration::from_millis(500));
    let before = rig.near.stats().packets_sent;
    assert!(before >= 23, "{before}");
    rig.wav.freeze("Microphone");
    rig.run(Duration::from_secs(1));
    let during = rig.near.stats().packets_sent - before;
    assert!(
        (48..=50).contains(&during),
        "one packet per 20 ms without a microphone: {during}"
    );
    let stats = rig.audio.stats();
    assert!(stats.silent_frames_sent >= 45, "{stats:?}");
    assert!(
        rig.events.is_empty(),
        "the same microphone is retried silently: {:?}",
        rig.events
    );
}
