//! Two softphones back to back, each with WAV files for a microphone and a headset: what one
//! says into its microphone must come out of the other's headset, through capture rings,
//! resamplers, G.711, RTP, the jitter buffer and playback rings. The test drives the device
//! clock itself, so three seconds of call take milliseconds.

// Test helpers outside #[test] functions may unwrap too: a failure is the test failing.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::f64::consts::PI;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use media::stream::{CodecChoice, MediaStream, StreamConfig};
use runtime::audio::backend::wav::{WavBackend, read_mono, write_mono};
use runtime::audio::call_audio::CallAudio;
use runtime::audio::devices::DevicePreferences;
use runtime::audio::meter::{Level, tone_dbfs};
use runtime::audio::{AudioBackend, FRAME};

fn tone_file(path: &Path, rate: u32, frequency: f64, seconds: u32) {
    let samples: Vec<i16> = (0..rate * seconds)
        .map(|i| (0.5 * 32767.0 * (2.0 * PI * frequency * f64::from(i) / f64::from(rate)).sin()) as i16)
        .collect();
    write_mono(path, rate, &samples).unwrap();
}

/// One softphone's devices: a microphone WAV with a tone, a headset at some rate.
struct Side {
    name: &'static str,
    mic_rate: u32,
    mic_hz: f64,
    speaker_rate: u32,
    address: SocketAddr,
}

struct Phone {
    wav: WavBackend,
    audio: CallAudio,
    stream: MediaStream,
    address: SocketAddr,
}

impl Phone {
    fn new(dir: &Path, side: Side, peer: SocketAddr, t0: Instant) -> Phone {
        let Side {
            name,
            mic_rate,
            mic_hz,
            speaker_rate,
            address,
        } = side;
        let mic = dir.join(format!("{name}-mic.wav"));
        tone_file(&mic, mic_rate, mic_hz, 4);
        let wav = WavBackend::new();
        wav.add_input("Microphone", &mic).unwrap();
        wav.add_output("Headset", speaker_rate, &dir.join(format!("{name}-headset.wav")))
            .unwrap();
        let mut config = StreamConfig::new(CodecChoice::Pcmu, 0, u64::from(address.port()));
        config.remote = Some(peer);
        let stream = MediaStream::new(t0, config).unwrap();
        let backend: Arc<dyn AudioBackend> = Arc::new(wav.clone());
        let mut events = Vec::new();
        let audio = CallAudio::open(
            backend,
            &DevicePreferences::default(),
            stream.sample_rate(),
            &mut events,
        )
        .unwrap();
        assert!(events.is_empty(), "{events:?}");
        Phone {
            wav,
            audio,
            stream,
            address,
        }
    }

    fn tick(&mut self, now: Instant) {
        self.wav.advance(FRAME).unwrap();
        let mut events = Vec::new();
        self.audio.pump(now, &mut self.stream, &mut events).unwrap();
        assert!(events.is_empty(), "{events:?}");
        if self.stream.poll_timeout() <= now {
            self.stream.handle_timeout(now);
        }
    }

    fn send_to(&mut self, other: &mut Phone, now: Instant) {
        while let Some(transmit) = self.stream.poll_transmit() {
            other.stream.handle_datagram(now, self.address, &transmit.bytes);
        }
    }
}

fn last_second(path: &Path) -> (u32, Vec<i16>) {
    let (rate, pcm) = read_mono(path).unwrap();
    let start = pcm.len() - rate as usize;
    (rate, pcm[start..].to_vec())
}

#[test]
fn each_side_hears_the_other_sides_microphone_and_not_its_own() {
    let dir = tempfile::tempdir().unwrap();
    let t0 = Instant::now();
    let a_addr: SocketAddr = "127.0.0.1:40000".parse().unwrap();
    let b_addr: SocketAddr = "127.0.0.1:40002".parse().unwrap();
    // Different device rates on purpose: 48 kHz and 16 kHz microphones, 48 and 44.1 kHz headsets.
    let a_side = Side {
        name: "a",
        mic_rate: 48_000,
        mic_hz: 1000.0,
        speaker_rate: 48_000,
        address: a_addr,
    };
    let b_side = Side {
        name: "b",
        mic_rate: 16_000,
        mic_hz: 600.0,
        speaker_rate: 44_100,
        address: b_addr,
    };
    let mut a = Phone::new(dir.path(), a_side, b_addr, t0);
    let mut b = Phone::new(dir.path(), b_side, a_addr, t0);

    let mut now = t0;
    for _ in 0..150 {
        now += FRAME;
        a.tick(now);
        b.tick(now);
        a.send_to(&mut b, now);
        b.send_to(&mut a, now);
    }
    a.wav.finish().unwrap();
    b.wav.finish().unwrap();

    let (rate, heard_by_a) = last_second(&dir.path().join("a-headset.wav"));
    assert_eq!(rate, 48_000);
    let wanted = tone_dbfs(&heard_by_a, rate, 600.0);
    assert!(wanted > -12.0, "A hears B's 600 Hz at {wanted:.1} dBFS");
    assert!(
        tone_dbfs(&heard_by_a, rate, 1000.0) < wanted - 40.0,
        "A does not hear itself"
    );

    let (rate, heard_by_b) = last_second(&dir.path().join("b-headset.wav"));
    assert_eq!(rate, 44_100);
    let wanted = tone_dbfs(&heard_by_b, rate, 1000.0);
    assert!(wanted > -12.0, "B hears A's 1 kHz at {wanted:.1} dBFS");
    assert!(
        tone_dbfs(&heard_by_b, rate, 600.0) < wanted - 40.0,
        "B does not hear itself"
    );

    for phone in [&a, &b] {
        let stats = phone.audio.stats();
        assert!((148..=150).contains(&stats.frames_sent), "{stats:?}");
        assert!((148..=153).contains(&stats.frames_played), "{stats:?}");
        assert_eq!(stats.underruns, 0, "the pump kept the headset fed: {stats:?}");
        assert_eq!(stats.overruns, 0, "{stats:?}");
    }
}

#[test]
fn the_microphone_level_is_published_for_the_settings_page() {
    let dir = tempfile::tempdir().unwrap();
    let t0 = Instant::now();
    let a_addr: SocketAddr = "127.0.0.1:40010".parse().unwrap();
    let b_addr: SocketAddr = "127.0.0.1:40012".parse().unwrap();
    let a_side = Side {
        name: "a",
        mic_rate: 48_000,
        mic_hz: 1000.0,
        speaker_rate: 48_000,
        address: a_addr,
    };
    let mut a = Phone::new(dir.path(), a_side, b_addr, t0);
    let meter = a.audio.mic_level();
    assert_eq!(meter.latest(), Level::SILENT);
    a.tick(t0 + FRAME);
    let level = meter.latest();
    // A 0.5-amplitude sine: -6 dBFS peak, -9 dBFS RMS.
    assert!((level.peak_dbfs + 6.02).abs() < 0.1, "{level:?}");
    assert!((level.rms_dbfs + 9.03).abs() < 0.1, "{level:?}");
}

#[test]
fn a_pump_that_falls_behind_the_speaker_counts_underruns() {
    let dir = tempfile::tempdir().unwrap();
    let t0 = Instant::now();
    let a_addr: SocketAddr = "127.0.0.1:40020".parse().unwrap();
    let b_addr: SocketAddr = "127.0.0.1:40022".parse().unwrap();
    let a_side = Side {
        name: "a",
        mic_rate: 48_000,
        mic_hz: 1000.0,
        speaker_rate: 48_000,
        address: a_addr,
    };
    let mut a = Phone::new(dir.path(), a_side, b_addr, t0);
    a.tick(t0 + FRAME);
    assert_eq!(a.audio.stats().underruns, 0);
    // The device keeps playing for 100 ms while the pump sleeps: 40 ms queued, then dry.
    for _ in 0..5 {
        a.wav.advance(FRAME).unwrap();
    }
    assert!(a.audio.stats().underruns >= 2, "{:?}", a.audio.stats());
}

/// The far end's RTP clock runs 0.8 % fast against our sound card (cheap USB headsets and
/// PBX clocks differ by up to 0.1 %; this is eight times worse, so that an uncorrected drift
/// shows within seconds). Because the pump pulls frames only when the card has played some,
/// the jitter buffer measures the drift on the card's clock; once it has (about 10 s), the
/// resampler plays that much faster and the buffer no longer has to drop frames to keep the
/// delay down.
#[test]
fn clock_drift_between_the_sound_card_and_the_far_end_is_absorbed() {
    const FAR_HZ: f64 = 800.0;
    const SECONDS: u32 = 20;
    const CORRECTED_FROM: u32 = 12;
    let dir = tempfile::tempdir().unwrap();
    let mic = dir.path().join("mic.wav");
    write_mono(&mic, 16_000, &vec![0; 16_000]).unwrap();
    let wav = WavBackend::new();
    wav.add_input("Microphone", &mic).unwrap();
    let headset = dir.path().join("headset.wav");
    // A wideband headset keeps the resampling work (and the debug-build test time) down.
    wav.add_output("Headset", 16_000, &headset).unwrap();
    let t0 = Instant::now();
    let mut near = MediaStream::new(t0, StreamConfig::new(CodecChoice::Pcmu, 0, 11)).unwrap();
    let mut far = MediaStream::new(t0, StreamConfig::new(CodecChoice::Pcmu, 0, 12)).unwrap();
    let backend: Arc<dyn AudioBackend> = Arc::new(wav.clone());
    let mut events = Vec::new();
    let mut audio = CallAudio::open(backend, &DevicePreferences::default(), 8000, &mut events).unwrap();
    let far_addr: SocketAddr = "127.0.0.1:40030".parse().unwrap();

    let ticks = SECONDS * 50;
    let mut far_frames = 0u32;
    let mut dropped_before = 0;
    for tick in 1..=ticks {
        let now = t0 + FRAME * tick;
        // The far end has produced 1.008 frames per 20 ms of our time.
        while f64::from(far_frames) < f64::from(tick) * 1.008 {
            let pcm: Vec<i16> = (0..160)
                .map(|i| {
                    let n = f64::from(far_frames * 160 + i);
                    (16384.0 * (2.0 * PI * FAR_HZ * n / 8000.0).sin()) as i16
                })
                .collect();
            far.send_frame(now, &pcm).unwrap();
            far_frames += 1;
        }
        while let Some(t) = far.poll_transmit() {
            near.handle_datagram(now, far_addr, &t.bytes);
        }
        wav.advance(FRAME).unwrap();
        audio.pump(now, &mut near, &mut events).unwrap();
        if tick == CORRECTED_FROM * 50 {
            dropped_before = near.stats().jitter_buffer.discarded;
        }
    }
    wav.finish().unwrap();

    let jitter = near.stats().jitter_buffer;
    let drift = jitter.drift_ppm.unwrap_or(0.0);
    assert!(
        (7000.0..9000.0).contains(&drift),
        "drift measured on the device clock: {drift} ppm"
    );
    // Uncorrected, 8 s at 0.8 % would pile up 64 ms: about three frames dropped.
    assert_eq!(jitter.discarded, dropped_before, "no drops once corrected: {jitter:?}");
    // Within the frame of slack the buffer allows itself before it drops anything.
    assert!(
        jitter.current_delay <= jitter.target_delay + FRAME,
        "delay did not grow: {jitter:?}"
    );
    assert_eq!(audio.stats().underruns, 0, "{:?}", audio.stats());

    // The last four seconds: the voice is there in (nearly) every 20 ms window.
    let (rate, pcm) = read_mono(&headset).unwrap();
    let tail = &pcm[pcm.len() - 4 * rate as usize..];
    let windows: Vec<f32> = tail
        .chunks(rate as usize / 50)
        .map(|w| tone_dbfs(w, rate, FAR_HZ))
        .collect();
    let expected = -9.0;
    let good = windows.iter().filter(|l| (**l - expected).abs() < 3.0).count();
    assert!(
        good * 100 >= windows.len() * 95,
        "{good} of {} windows carry the voice",
        windows.len()
    );
}
