//! Level metering for the settings page ("speak into the microphone") and call diagnostics.
//!
//! [`Level::measure`] turns a frame into RMS and peak in dBFS (0 dBFS is a full-scale square
//! wave; a full-scale sine is -3.01 dBFS RMS). The audio side publishes each frame's level to a
//! [`LevelCell`], which keeps only the newest value: the UI polls it a few times a second and
//! never slows the pump down, and no reading ever queues up behind another. [`MicMeter`] does the
//! same outside a call, for the settings page.

use std::f64::consts::PI;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use super::devices::{DeviceEvent, Role, Routed};
use super::{AudioBackend, AudioError, Capture, frame_samples};

/// The level reported for digital silence: below anything a real microphone produces.
pub const FLOOR_DBFS: f32 = -96.0;

/// The level of one block of audio.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Level {
    /// Root-mean-square level in dBFS.
    pub rms_dbfs: f32,
    /// Highest absolute sample in dBFS.
    pub peak_dbfs: f32,
}

impl Level {
    /// Digital silence.
    pub const SILENT: Level = Level {
        rms_dbfs: FLOOR_DBFS,
        peak_dbfs: FLOOR_DBFS,
    };

    /// Measures `samples`; an empty block is silent.
    pub fn measure(samples: &[i16]) -> Level {
        if samples.is_empty() {
            return Level::SILENT;
        }
        let full_scale = 32768.0_f64;
        let energy: f64 = samples.iter().map(|&s| f64::from(s).powi(2)).sum();
        let rms = (energy / samples.len() as f64).sqrt() / full_scale;
        let peak = samples.iter().map(|&s| i32::from(s).unsigned_abs()).max().unwrap_or(0);
        Level {
            rms_dbfs: to_dbfs(rms),
            peak_dbfs: to_dbfs(f64::from(peak) / full_scale),
        }
    }
}

fn to_dbfs(linear: f64) -> f32 {
    if linear <= 0.0 {
        return FLOOR_DBFS;
    }
    ((20.0 * linear.log10()) as f32).max(FLOOR_DBFS)
}

/// The newest [`Level`], shared between the audio side (writer) and the UI (reader).
///
/// Both values live in one atomic word, so a reader never sees the RMS of one frame with the
/// peak of another, and neither side ever waits.
#[derive(Debug, Clone)]
pub struct LevelCell {
    bits: Arc<AtomicU64>,
}

impl Default for LevelCell {
    fn default() -> Self {
        Self::new()
    }
}

impl LevelCell {
    /// A cell reading silence until the first publication.
    pub fn new() -> Self {
        Self {
            bits: Arc::new(AtomicU64::new(pack(Level::SILENT))),
        }
    }

    /// Replaces the level.
    pub fn publish(&self, level: Level) {
        self.bits.store(pack(level), Ordering::Relaxed);
    }

    /// The newest level.
    pub fn latest(&self) -> Level {
        let bits = self.bits.load(Ordering::Relaxed);
        Level {
            rms_dbfs: f32::from_bits((bits >> 32) as u32),
            peak_dbfs: f32::from_bits(bits as u32),
        }
    }
}

fn pack(level: Level) -> u64 {
    (u64::from(level.rms_dbfs.to_bits()) << 32) | u64::from(level.peak_dbfs.to_bits())
}

/// The settings page's microphone meter: a capture stream on the chosen device whose level is
/// published, latest-wins, as the operator speaks. No call needed.
#[derive(Debug)]
pub struct MicMeter {
    input: Routed<Capture>,
    frame: Vec<i16>,
    cell: LevelCell,
}

impl MicMeter {
    /// Opens `preferred` (or the default, with the event saying so).
    pub fn open(
        backend: Arc<dyn AudioBackend>,
        preferred: Option<&str>,
    ) -> Result<(Self, Option<DeviceEvent>), AudioError> {
        let (input, event) = Routed::<Capture>::open(backend, Role::Microphone, preferred)?;
        let frame = vec![0; frame_samples(input.stream().sample_rate())];
        let meter = Self {
            input,
            frame,
            cell: LevelCell::new(),
        };
        Ok((meter, event))
    }

    /// Where the UI reads the level.
    pub fn level(&self) -> LevelCell {
        self.cell.clone()
    }

    /// The device measured.
    pub fn device(&self) -> &str {
        self.input.stream().device()
    }

    /// Measures everything captured since the last call; call every 20-50 ms.
    pub fn pump(&mut self, now: Instant, events: &mut Vec<DeviceEvent>) {
        if self.input.recover(now, events) {
            self.frame.resize(frame_samples(self.input.stream().sample_rate()), 0);
        }
        while self.input.stream_mut().read(&mut self.frame) {
            self.cell.publish(Level::measure(&self.frame));
        }
    }
}

/// The level of one frequency in `samples` (Goertzel), in dBFS like [`Level::rms_dbfs`]: a
/// full-scale sine at `frequency` reads -3.01. This is the speaker-and-microphone test of the
/// settings page (play a tone, find it in the capture) and the check our audio tests make.
pub fn tone_dbfs(samples: &[i16], rate: u32, frequency: f64) -> f32 {
    if samples.is_empty() || rate == 0 {
        return FLOOR_DBFS;
    }
    let n = samples.len() as f64;
    let omega = 2.0 * PI * frequency / f64::from(rate);
    let coeff = 2.0 * omega.cos();
    let (mut s1, mut s2) = (0.0_f64, 0.0_f64);
    for &x in samples {
        let s0 = f64::from(x) / 32768.0 + coeff * s1 - s2;
        s2 = s1;
        s1 = s0;
    }
    let power = (s1 * s1 + s2 * s2 - coeff * s1 * s2).max(0.0);
    // |X(f)| = A*N/2 for a sine of amplitude A; its RMS is A/sqrt(2).
    let amplitude = 2.0 * power.sqrt() / n;
    to_dbfs(amplitude / 2.0_f64.sqrt())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sine(frequency: f64, amplitude: f64, rate: u32, n: usize) -> Vec<i16> {
        (0..n)
            .map(|i| {
                let t = i as f64 / f64::from(rate);
                (amplitude * 32767.0 * (2.0 * PI * frequency * t).sin()).round() as i16
            })
            .collect()
    }

    #[test]
    fn full_scale_sine_reads_minus_three_dbfs_rms_and_zero_peak() {
        let level = Level::measure(&sine(1000.0, 1.0, 48_000, 4800));
        assert!((level.rms_dbfs + 3.01).abs() < 0.05, "{level:?}");
        assert!(level.peak_dbfs.abs() < 0.01, "{level:?}");
    }

    #[test]
    fn half_amplitude_is_six_db_down() {
        let level = Level::measure(&sine(440.0, 0.5, 8000, 1600));
        assert!((level.rms_dbfs + 9.03).abs() < 0.1, "{level:?}");
        assert!((level.peak_dbfs + 6.02).abs() < 0.05, "{level:?}");
    }

    #[test]
    fn silence_and_empty_blocks_read_the_floor() {
        assert_eq!(Level::measure(&[0; 160]), Level::SILENT);
        assert_eq!(Level::measure(&[]), Level::SILENT);
    }

    #[test]
    fn full_scale_square_wave_is_zero_dbfs() {
        let square: Vec<i16> = (0..160).map(|i| if i % 2 == 0 { i16::MAX } else { i16::MIN }).collect();
        let level = Level::measure(&square);
        assert!(level.rms_dbfs.abs() < 0.01, "{level:?}");
        assert!(level.peak_dbfs.abs() < 0.01, "{level:?}");
    }

    #[test]
    fn the_cell_keeps_only_the_newest_level() {
        let cell = LevelCell::new();
        let reader = cell.clone();
        assert_eq!(reader.latest(), Level::SILENT);
        cell.publish(Level {
            rms_dbfs: -20.0,
            peak_dbfs: -10.0,
        });
        cell.publish(Level {
            rms_dbfs: -30.5,
            peak_dbfs: -12.25,
        });
        assert_eq!(
            reader.latest(),
            Level {
                rms_dbfs: -30.5,
                peak_dbfs: -12.25
            }
        );
    }

    #[test]
    fn goertzel_finds_the_tone_and_rejects_others() {
        let samples = sine(425.0, 0.5, 8000, 8000);
        let at_tone = tone_dbfs(&samples, 8000, 425.0);
        assert!((at_tone + 9.03).abs() < 0.1, "{at_tone}");
        assert!(tone_dbfs(&samples, 8000, 1000.0) < at_tone - 40.0);
    }
}
