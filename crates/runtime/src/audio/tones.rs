//! Call-progress tones and the ringtone, rendered at the device's rate and played on the ringer.
//!
//! Every tone is one pre-rendered cycle that loops: ring-back is 1 s of 425 Hz then 4 s of
//! silence, the Russian and European cadence; busy is 425 Hz 0.35 s on, 0.35 s off. Each
//! burst fades in and out over 5 ms, so the on/off edges do not click. The ringtone is a soft
//! three-note chime (a rising major triad with a bell-like decay), twice, then a pause: it has
//! to be heard across a room of talking operators without being shrill. A bundled WAV can
//! replace it ([`ToneSpec::File`]).
//!
//! [`TonePlayer`] plays a tone on an output role and follows hot-plug like the call does: the
//! ringtone on the ringer device (speakers, usually), separately from the call's headset;
//! ring-back and busy on the headset, where the operator is listening for the call.

use std::f64::consts::PI;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use media::resample::Resampler;

use super::backend::wav::read_mono;
use super::devices::{DeviceEvent, Role, Routed};
use super::{AudioBackend, AudioError, Playback};

/// The European and Russian call-progress frequency.
pub const PROGRESS_HZ: f64 = 425.0;

/// Ring-back: on for this long...
pub const RING_BACK_ON: Duration = Duration::from_secs(1);
/// ...then off for this long.
pub const RING_BACK_OFF: Duration = Duration::from_secs(4);
/// Busy: on and off for this long each.
pub const BUSY_ON_OFF: Duration = Duration::from_millis(350);

/// Progress tones sit around -13 dBFS: clearly audible, well below a voice at full level.
const PROGRESS_AMPLITUDE: f64 = 0.3;
/// Length of the fade at each edge of a burst.
const RAMP: Duration = Duration::from_millis(5);
/// The chime: C major triad, C5 E5 G5.
const CHIME_NOTES: [f64; 3] = [523.25, 659.25, 783.99];
const CHIME_NOTE: Duration = Duration::from_millis(180);
const CHIME_GAP: Duration = Duration::from_millis(250);
const CHIME_PAUSE: Duration = Duration::from_millis(2000);
const CHIME_AMPLITUDE: f64 = 0.35;

/// Which sound to play.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ToneSpec {
    /// What the caller hears while the other side rings.
    RingBack,
    /// The other side is busy.
    Busy,
    /// An incoming call: the built-in chime.
    Ringtone,
    /// An incoming call: a bundled WAV, repeated with `pause` between plays.
    File {
        /// The WAV file.
        path: PathBuf,
        /// Silence after each play.
        pause: Duration,
    },
}

impl ToneSpec {
    /// Renders one cycle at `rate`.
    pub fn render(&self, rate: u32) -> Result<Tone, AudioError> {
        match self {
            ToneSpec::RingBack => Ok(Tone::ring_back(rate)),
            ToneSpec::Busy => Ok(Tone::busy(rate)),
            ToneSpec::Ringtone => Ok(Tone::chime(rate)),
            ToneSpec::File { path, pause } => Tone::from_wav(path, rate, *pause),
        }
    }
}

/// A looping tone at a fixed sample rate.
#[derive(Debug, Clone)]
pub struct Tone {
    rate: u32,
    cycle: Vec<i16>,
    position: usize,
}

fn samples(rate: u32, d: Duration) -> usize {
    (u128::from(rate) * d.as_micros() / 1_000_000) as usize
}

/// A burst of `frequency` with faded edges followed by silence.
fn burst(rate: u32, frequency: f64, amplitude: f64, on: Duration, off: Duration, out: &mut Vec<i16>) {
    let n = samples(rate, on);
    let ramp = samples(rate, RAMP).clamp(1, n.max(2) / 2);
    out.extend((0..n).map(|i| {
        let edge = i.min(n - 1 - i);
        let gain = if edge < ramp {
            0.5 - 0.5 * (PI * edge as f64 / ramp as f64).cos()
        } else {
            1.0
        };
        let phase = 2.0 * PI * frequency * i as f64 / f64::from(rate);
        (amplitude * gain * phase.sin() * 32767.0).round() as i16
    }));
    out.resize(out.len() + samples(rate, off), 0);
}

impl Tone {
    /// 425 Hz, 1 s on, 4 s off.
    pub fn ring_back(rate: u32) -> Tone {
        let mut cycle = Vec::new();
        burst(
            rate,
            PROGRESS_HZ,
            PROGRESS_AMPLITUDE,
            RING_BACK_ON,
            RING_BACK_OFF,
            &mut cycle,
        );
        Tone::looping(rate, cycle)
    }

    /// 425 Hz, 0.35 s on, 0.35 s off.
    pub fn busy(rate: u32) -> Tone {
        let mut cycle = Vec::new();
        burst(
            rate,
            PROGRESS_HZ,
            PROGRESS_AMPLITUDE,
            BUSY_ON_OFF,
            BUSY_ON_OFF,
            &mut cycle,
        );
        Tone::looping(rate, cycle)
    }

    /// The built-in ringtone: a rising triad of decaying bell notes, twice, then a pause.
    pub fn chime(rate: u32) -> Tone {
        let note_len = samples(rate, CHIME_NOTE);
        let ramp = samples(rate, RAMP).max(1);
        let mut cycle = Vec::new();
        for _ in 0..2 {
            for frequency in CHIME_NOTES {
                cycle.extend((0..note_len).map(|i| {
                    let t = i as f64 / f64::from(rate);
                    let attack = (i as f64 / ramp as f64).min(1.0);
                    let release = ((note_len - i) as f64 / ramp as f64).min(1.0);
                    let decay = (-t * 12.0).exp();
                    // A touch of the octave makes it a bell rather than a beep.
                    let voice = (2.0 * PI * frequency * t).sin() + 0.25 * (4.0 * PI * frequency * t).sin();
                    (CHIME_AMPLITUDE * attack * release * decay * voice / 1.25 * 32767.0).round() as i16
                }));
            }
            cycle.resize(cycle.len() + samples(rate, CHIME_GAP), 0);
        }
        cycle.resize(cycle.len() + samples(rate, CHIME_PAUSE), 0);
        Tone::looping(rate, cycle)
    }

    /// A WAV file converted to `rate`, followed by `pause` of silence.
    pub fn from_wav(path: &std::path::Path, rate: u32, pause: Duration) -> Result<Tone, AudioError> {
        let (file_rate, pcm) = read_mono(path)?;
        if pcm.is_empty() {
            return Err(AudioError::File {
                path: path.to_owned(),
                message: String::from("no audio in the file"),
            });
        }
        let mut cycle = if file_rate == rate {
            pcm
        } else {
            let mut resampler = Resampler::new(file_rate, rate)?;
            resampler.push(&pcm)?;
            // Flush the converter's look-ahead with silence so the end of the file is kept.
            resampler.push(&vec![0; (file_rate / 10) as usize])?;
            let mut out = vec![0; resampler.available()];
            resampler.pull(&mut out);
            out
        };
        cycle.resize(cycle.len() + samples(rate, pause), 0);
        Ok(Tone::looping(rate, cycle))
    }

    fn looping(rate: u32, cycle: Vec<i16>) -> Tone {
        Tone {
            rate,
            cycle,
            position: 0,
        }
    }

    /// The sample rate it was rendered at.
    pub fn sample_rate(&self) -> u32 {
        self.rate
    }

    /// How long one cycle lasts.
    pub fn cycle(&self) -> Duration {
        Duration::from_secs_f64(self.cycle.len() as f64 / f64::from(self.rate.max(1)))
    }

    /// Fills `out` with the next samples, looping.
    pub fn fill(&mut self, out: &mut [i16]) {
        if self.cycle.is_empty() {
            out.fill(0);
            return;
        }
        for slot in out.iter_mut() {
            *slot = self.cycle.get(self.position).copied().unwrap_or(0);
            self.position = (self.position + 1) % self.cycle.len();
        }
    }
}

/// How far ahead the tone is queued on the device.
const TONE_AHEAD: Duration = Duration::from_millis(60);

/// Plays a [`Tone`] on an output role until dropped.
///
/// The ringtone belongs on [`Role::Ringer`] (the speakers, heard with the headset off).
/// Ring-back and busy are call progress the operator hears in the call: [`Role::Speaker`].
#[derive(Debug)]
pub struct TonePlayer {
    output: Routed<Playback>,
    spec: ToneSpec,
    tone: Tone,
    scratch: Vec<i16>,
}

impl TonePlayer {
    /// Starts `spec` on `role`'s preferred device (or the default, with the event saying so).
    pub fn start(
        backend: Arc<dyn AudioBackend>,
        role: Role,
        preferred: Option<&str>,
        spec: ToneSpec,
    ) -> Result<(Self, Option<DeviceEvent>), AudioError> {
        let (output, event) = Routed::<Playback>::open(backend, role, preferred)?;
        let tone = spec.render(output.stream().sample_rate())?;
        let mut player = Self {
            output,
            spec,
            tone,
            scratch: Vec::new(),
        };
        player.top_up();
        Ok((player, event))
    }

    /// The device it plays on.
    pub fn device(&self) -> &str {
        self.output.stream().device()
    }

    /// Keeps the device fed; call every 10-20 ms. Device changes are appended to `events`.
    pub fn pump(&mut self, now: Instant, events: &mut Vec<DeviceEvent>) -> Result<(), AudioError> {
        if self.output.recover(now, events) {
            self.rerender()?;
        }
        self.top_up();
        Ok(())
    }

    /// Checks the device list (see [`Routed::follow`]); call every second or two.
    pub fn follow_devices(&mut self, events: &mut Vec<DeviceEvent>) -> Result<(), AudioError> {
        let devices = self.output.backend().devices()?;
        if self.output.follow(&devices, events) {
            self.rerender()?;
        }
        Ok(())
    }

    fn rerender(&mut self) -> Result<(), AudioError> {
        let rate = self.output.stream().sample_rate();
        if rate != self.tone.sample_rate() {
            let position = self.tone.position as f64 / f64::from(self.tone.sample_rate().max(1));
            self.tone = self.spec.render(rate)?;
            self.tone.position = (position * f64::from(rate)) as usize % self.tone.cycle.len().max(1);
        }
        Ok(())
    }

    fn top_up(&mut self) {
        let playback = self.output.stream_mut();
        let ahead = (u128::from(playback.sample_rate()) * TONE_AHEAD.as_millis() / 1000) as usize;
        let wanted = ahead.saturating_sub(playback.queued());
        if wanted == 0 {
            return;
        }
        self.scratch.resize(wanted, 0);
        self.tone.fill(&mut self.scratch);
        // The ring holds more than TONE_AHEAD and only the device empties it, so it all fits.
        playback.write(&self.scratch);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audio::meter::{Level, tone_dbfs};

    const RATE: u32 = 8000;

    fn take(tone: &mut Tone, d: Duration) -> Vec<i16> {
        let mut out = vec![0; samples(RATE, d)];
        tone.fill(&mut out);
        out
    }

    fn window(pcm: &[i16], from_ms: u64, to_ms: u64) -> &[i16] {
        &pcm[samples(RATE, Duration::from_millis(from_ms))..samples(RATE, Duration::from_millis(to_ms))]
    }

    #[test]
    fn ring_back_is_425_hz_for_one_second_then_four_seconds_of_silence() {
        let mut tone = Tone::ring_back(RATE);
        assert_eq!(tone.cycle(), Duration::from_secs(5));
        let pcm = take(&mut tone, Duration::from_secs(10));
        for cycle_ms in [0, 5000] {
            let on = window(&pcm, cycle_ms + 50, cycle_ms + 950);
            assert!(tone_dbfs(on, RATE, PROGRESS_HZ) > -14.0, "burst at {cycle_ms} ms");
            assert!(tone_dbfs(on, RATE, 1000.0) < -50.0, "burst is a pure tone");
            let off = window(&pcm, cycle_ms + 1000, cycle_ms + 5000);
            assert_eq!(Level::measure(off), Level::SILENT, "pause at {cycle_ms} ms");
        }
    }

    #[test]
    fn busy_alternates_every_350_ms() {
        let mut tone = Tone::busy(RATE);
        assert_eq!(tone.cycle(), Duration::from_millis(700));
        let pcm = take(&mut tone, Duration::from_millis(1400));
        assert!(tone_dbfs(window(&pcm, 20, 330), RATE, PROGRESS_HZ) > -14.0);
        assert_eq!(Level::measure(window(&pcm, 350, 700)), Level::SILENT);
        assert!(tone_dbfs(window(&pcm, 720, 1030), RATE, PROGRESS_HZ) > -14.0);
        assert_eq!(Level::measure(window(&pcm, 1050, 1400)), Level::SILENT);
    }

    #[test]
    fn bursts_fade_in_instead_of_clicking() {
        let mut tone = Tone::ring_back(RATE);
        let pcm = take(&mut tone, Duration::from_millis(20));
        let first_ms = Level::measure(&pcm[..8]);
        let later = Level::measure(&pcm[80..160]);
        assert!(first_ms.peak_dbfs < later.peak_dbfs - 20.0, "{first_ms:?} vs {later:?}");
    }

    #[test]
    fn the_chime_plays_its_three_notes_in_rising_order_then_pauses() {
        let mut tone = Tone::chime(RATE);
        let cycle = tone.cycle();
        let pcm = take(&mut tone, cycle);
        for (i, note) in CHIME_NOTES.iter().enumerate() {
            let start = i as u64 * 180;
            let slice = window(&pcm, start + 10, start + 170);
            let others = CHIME_NOTES.iter().filter(|n| *n != note);
            for other in others {
                assert!(
                    tone_dbfs(slice, RATE, *note) > tone_dbfs(slice, RATE, *other) + 10.0,
                    "note {i}"
                );
            }
        }
        let tail = window(&pcm, 1400, 3000);
        assert_eq!(Level::measure(tail), Level::SILENT);
        assert!(Level::measure(&pcm).peak_dbfs < -6.0, "not shrill");
    }

    #[test]
    fn a_bundled_file_is_converted_to_the_device_rate_and_loops_with_a_pause() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ring.wav");
        let source: Vec<i16> = (0..16_000)
            .map(|i| (8000.0 * (2.0 * PI * 800.0 * f64::from(i) / 16_000.0).sin()) as i16)
            .collect();
        crate::audio::backend::wav::write_mono(&path, 16_000, &source).unwrap();
        let mut tone = ToneSpec::File {
            path,
            pause: Duration::from_secs(1),
        }
        .render(RATE)
        .unwrap();
        let cycle = tone.cycle();
        assert!(
            cycle >= Duration::from_millis(1990) && cycle <= Duration::from_millis(2150),
            "{cycle:?}"
        );
        let pcm = take(&mut tone, Duration::from_millis(1500));
        assert!(tone_dbfs(window(&pcm, 100, 900), RATE, 800.0) > -16.0);
        let after = take(
            &mut tone,
            cycle - Duration::from_millis(1500) + Duration::from_millis(500),
        );
        let len = after.len();
        assert!(
            tone_dbfs(&after[len - 2000..], RATE, 800.0) > -16.0,
            "loops back to the start"
        );
    }

    #[test]
    fn an_unreadable_file_is_an_error_not_a_panic() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("not-a.wav");
        std::fs::write(&path, b"RIFF garbage").unwrap();
        let spec = ToneSpec::File {
            path,
            pause: Duration::ZERO,
        };
        assert!(matches!(spec.render(RATE), Err(AudioError::File { .. })));
    }
}
