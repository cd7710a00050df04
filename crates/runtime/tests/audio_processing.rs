//! The microphone chain inside a call: our softphone on a WAV-file world talks over G.711 to
//! a far end that is a bare media stream. What the far end hears is what went on the wire.
//! Muting sends comfort noise while RTP keeps flowing; switching echo cancellation on mid-call
//! removes the far end's own voice coming back through a microphone that picks up the
//! speaker. The test drives the device clock itself, so ten seconds of call take well under
//! a second of it.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::f64::consts::PI;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use media::processing::{COMFORT_NOISE_DBFS, ProcessingConfig, ProcessingError};
use media::stream::{CodecChoice, MediaStream, StreamConfig};
use runtime::audio::backend::wav::{WavBackend, write_mono};
use runtime::audio::call_audio::CallAudio;
use runtime::audio::devices::DevicePreferences;
use runtime::audio::meter::{Level, tone_dbfs};
use runtime::audio::{AudioBackend, FRAME};

const RATE: u32 = 8000;
const FRAME_SAMPLES: usize = 160;

/// Our softphone (devices from WAV files) and a far end without devices.
struct Call {
    wav: WavBackend,
    audio: CallAudio,
    near: MediaStream,
    far: MediaStream,
    near_addr: SocketAddr,
    far_addr: SocketAddr,
    now: Instant,
    ticks: usize,
}

impl Call {
    fn new(dir: &Path, microphone: &[i16], port: u16) -> Call {
        let mic = dir.join("mic.wav");
        write_mono(&mic, RATE, microphone).unwrap();
        let wav = WavBackend::new();
        wav.add_input("Microphone", &mic).unwrap();
        wav.add_output("Headset", RATE, &dir.join("headset.wav")).unwrap();
        let now = Instant::now();
        let near_addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
        let far_addr: SocketAddr = format!("127.0.0.1:{}", port + 2).parse().unwrap();
        let near = MediaStream::new(now, StreamConfig::new(CodecChoice::Pcma, 8, 21)).unwrap();
        let far = MediaStream::new(now, StreamConfig::new(CodecChoice::Pcma, 8, 22)).unwrap();
        let backend: Arc<dyn AudioBackend> = Arc::new(wav.clone());
        let mut events = Vec::new();
        let audio = CallAudio::open(backend, &DevicePreferences::default(), RATE, &mut events).unwrap();
        assert!(events.is_empty(), "{events:?}");
        Call {
            wav,
            audio,
            near,
            far,
            near_addr,
            far_addr,
            now,
            ticks: 0,
        }
    }

    /// 20 ms of call: the far end says `far_says`, our devices and pump run, and the frame
    /// the far end hears from us comes back.
    fn tick(&mut self, far_says: &[i16]) -> Vec<i16> {
        self.now += FRAME;
        self.ticks += 1;
        self.far.send_frame(self.now, far_says).unwrap();
        while let Some(t) = self.far.poll_transmit() {
            self.near.handle_datagram(self.now, self.far_addr, &t.bytes);
        }
        self.wav.advance(FRAME).unwrap();
        let mut events = Vec::new();
        self.audio.pump(self.now, &mut self.near, &mut events).unwrap();
        assert!(events.is_empty(), "{events:?}");
        while let Some(t) = self.near.poll_transmit() {
            self.far.handle_datagram(self.now, self.near_addr, &t.bytes);
        }
        self.far.play_frame(self.now).samples.to_vec()
    }
}

/// A small deterministic generator (xorshift64*), uniform in -1..1.
struct Noise(u64);

impl Noise {
    fn next(&mut self) -> f64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        let x = self.0.wrapping_mul(0x2545_f491_4f6c_dd1d);
        (x >> 11) as f64 / (1u64 << 53) as f64 * 2.0 - 1.0
    }
}

/// Speech-like audio: low-passed noise in syllables of about 200 ms.
fn speech_like(seconds: f64, seed: u64) -> Vec<i16> {
    let mut noise = Noise(seed);
    let pole = (-2.0 * PI * 600.0 / f64::from(RATE)).exp();
    let (mut low, mut lower) = (0.0, 0.0);
    (0..(f64::from(RATE) * seconds) as usize)
        .map(|i| {
            let t = i as f64 / f64::from(RATE);
            low = pole * low + (1.0 - pole) * noise.next();
            lower = pole * lower + (1.0 - pole) * low;
            let syllable = (2.0 * PI * 2.3 * t).sin().max(0.0).sqrt();
            (lower * 8.0 * syllable * 9000.0).clamp(-32767.0, 32767.0) as i16
        })
        .collect()
}

fn sine(frequency: f64, amplitude: f64, n: usize) -> Vec<i16> {
    (0..n)
        .map(|i| (amplitude * (2.0 * PI * frequency * i as f64 / f64::from(RATE)).sin()) as i16)
        .collect()
}

fn energy(frames: &[Vec<i16>]) -> f64 {
    frames.iter().flatten().map(|&s| f64::from(s).powi(2)).sum()
}

#[test]
fn muting_sends_comfort_noise_on_the_wire_while_the_call_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let voice = sine(1000.0, 12_000.0, RATE as usize * 4);
    let mut call = Call::new(dir.path(), &voice, 41_000);
    call.audio.set_processing(ProcessingConfig::default()).unwrap();
    let silence = [0i16; FRAME_SAMPLES];
    let mut heard = Vec::new();
    let mut received_when_muted = 0;
    for tick in 0..150 {
        if tick == 50 {
            call.audio.set_muted(true);
            received_when_muted = call.far.stats().packets_received;
        }
        if tick == 100 {
            assert!(call.audio.is_muted());
            call.audio.set_muted(false);
            let during = call.far.stats().packets_received - received_when_muted;
            assert!(during >= 48, "RTP kept flowing while muted: {during} packets");
        }
        heard.push(call.tick(&silence));
    }

    let level = |from: usize, to: usize| {
        let pcm: Vec<i16> = heard[from..to].concat();
        (Level::measure(&pcm).rms_dbfs, tone_dbfs(&pcm, RATE, 1000.0))
    };
    // The jitter buffer delays what the far end hears by a few frames: skip the edges.
    let (_, before) = level(20, 50);
    assert!(before > -12.0, "the voice before muting: {before:.1} dBFS");
    let (muted_rms, muted_tone) = level(60, 100);
    assert!(muted_tone < -70.0, "no voice while muted: {muted_tone:.1} dBFS");
    assert!(
        (muted_rms - COMFORT_NOISE_DBFS).abs() < 3.0,
        "comfort noise, not a dead line: {muted_rms:.1} dBFS"
    );
    let (_, after) = level(110, 150);
    assert!(after > -12.0, "the voice after unmuting: {after:.1} dBFS");
    assert!(call.audio.processing_stats().muted_frames >= 48);
    let sent = call.audio.stats().frames_sent;
    assert!((148..=150).contains(&sent), "a frame every 20 ms: {sent}");
}

/// The headset leaks: the microphone picks up the far end's voice 120 ms after the far end
/// sent it (jitter buffer, playback ring, the room), 10 dB down with a reflection.
/// With the chain off the far end hears itself; once echo cancellation is switched on it
/// learns the path within seconds and the far end's own voice is gone from what it hears.
#[test]
fn switching_echo_cancellation_on_mid_call_removes_the_far_ends_voice_coming_back() {
    const SECONDS: usize = 12;
    const SWITCH_AT: usize = 4;
    let dir = tempfile::tempdir().unwrap();
    let far_voice = speech_like(SECONDS as f64, 31);
    let delay = RATE as usize * 120 / 1000;
    let reflection = delay + RATE as usize / 100;
    let mic: Vec<i16> = (0..far_voice.len())
        .map(|i| {
            let direct = if i >= delay {
                0.3 * f64::from(far_voice[i - delay])
            } else {
                0.0
            };
            let echo = if i >= reflection {
                -0.1 * f64::from(far_voice[i - reflection])
            } else {
                0.0
            };
            (direct + echo) as i16
        })
        .collect();
    let mut call = Call::new(dir.path(), &mic, 41_010);
    assert_eq!(
        call.audio.processing(),
        ProcessingConfig::off(),
        "a call opens with the chain off"
    );

    let mut heard = Vec::new();
    for (tick, says) in far_voice.chunks_exact(FRAME_SAMPLES).enumerate() {
        if tick == SWITCH_AT * 50 {
            let too_long = ProcessingConfig {
                echo_tail: Duration::from_secs(3),
                ..ProcessingConfig::default()
            };
            assert!(matches!(
                call.audio.set_processing(too_long),
                Err(ProcessingError::Config(_))
            ));
            assert_eq!(call.audio.processing(), ProcessingConfig::off(), "refused, unchanged");
            call.audio.set_processing(ProcessingConfig::default()).unwrap();
        }
        heard.push(call.tick(says));
    }

    let sent = energy(&far_voice.chunks(FRAME_SAMPLES).map(<[i16]>::to_vec).collect::<Vec<_>>()[50..SWITCH_AT * 50]);
    let echo_off = energy(&heard[50..SWITCH_AT * 50]);
    let echo_on = energy(&heard[(SECONDS - 3) * 50..]) * (SWITCH_AT - 1) as f64 / 3.0;
    let return_loss = 10.0 * (sent / echo_off).log10();
    let enhancement = 10.0 * (echo_off / echo_on.max(1.0)).log10();
    assert!(
        (8.0..14.0).contains(&return_loss),
        "without cancellation the far end hears itself {return_loss:.1} dB down"
    );
    assert!(
        enhancement >= 25.0,
        "cancellation took the echo down by only {enhancement:.1} dB more"
    );
    let stats = call.audio.processing_stats();
    assert!(stats.echo_return_loss_enhancement_db.unwrap() >= 25.0, "{stats:?}");
    assert_eq!(
        stats.gain_db,
        Some(0.0),
        "the gain control did not learn the echo as speech"
    );
    assert_eq!(stats.echo_resets, 0, "{stats:?}");
}

#[test]
fn the_call_pump_can_move_to_the_thread_that_owns_the_call() {
    fn assert_send<T: Send>() {}
    assert_send::<CallAudio>();
}
