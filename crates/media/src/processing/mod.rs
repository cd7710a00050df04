//! The microphone chain: echo cancellation, noise suppression, gain control and mute.
//!
//! ```text
//!  mic frame ──► echo canceller ──► noise suppressor ──► muted? ──► comfort noise ──► out
//!  far frame ──┘ (adapts always)    (learns always)        │ no
//!                                                          └──► gain control ──────► out
//! ```
//!
//! [`MicProcessor`] takes frames of any whole number of 10 ms blocks at the codec's rate,
//! the microphone and the far-end audio that went to the speaker at the same time
//! ([`EchoReference`] lines the two up in the call pump), and returns the frame to encode.
//! Each stage can be switched on and off while the call runs ([`MicProcessor::reconfigure`]);
//! a stage whose settings did not change keeps what it has learnt.
//!
//! Mute replaces the output with comfort noise at [`COMFORT_NOISE_DBFS`], while the echo
//! canceller and the noise estimate keep learning, so unmuting is clean at once. Comfort
//! noise rather than digital zeros: a far end (our own [`crate::stream`] among them) takes a
//! stream of exact silence for a PBX that stopped bridging audio, and a dead line makes the
//! customer ask whether the operator is still there.
//!
//! Everything is pure Rust on `f32` blocks: no system library, nothing `unsafe`, and the
//! processor is `Send`, so the pump may live on whichever thread owns the call's audio.

mod echo;
mod gain;
mod noise;
mod reference;
mod spectrum;

use std::time::Duration;

use thiserror::Error;

use echo::EchoCanceller;
use gain::AutomaticGain;
use noise::NoiseSuppressor;
pub use reference::EchoReference;

/// One processing block: 10 ms, the granularity of every stage.
pub const BLOCK: Duration = Duration::from_millis(10);

/// The level of the comfort noise sent while muted (dBFS RMS): below a headset's own noise
/// floor (-60 to -50), above the -70 dBov that counts as a dead line.
pub const COMFORT_NOISE_DBFS: f32 = -65.0;

/// Which stages run, and how.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ProcessingConfig {
    /// Cancel the echo of the far end's voice.
    pub echo_cancellation: bool,
    /// The longest echo path modelled: device buffers plus the room. Longer costs CPU and
    /// converges more slowly.
    pub echo_tail: Duration,
    /// Suppress stationary background noise.
    pub noise_suppression: bool,
    /// How far noise is pushed down, in dB.
    pub noise_suppression_db: f32,
    /// Bring quiet speech up to the target level.
    pub automatic_gain: bool,
    /// The active speech level the gain control aims at, in dBFS RMS.
    pub gain_target_dbfs: f32,
    /// The most the gain control amplifies, in dB.
    pub max_gain_db: f32,
}

impl Default for ProcessingConfig {
    /// Defaults for an operator's headset: everything on, a 200 ms echo tail (the device
    /// rings and the pump keep about 100 ms of audio in flight), 15 dB of noise suppression,
    /// speech aimed at -20 dBFS with up to 30 dB of gain.
    fn default() -> Self {
        Self {
            echo_cancellation: true,
            echo_tail: Duration::from_millis(200),
            noise_suppression: true,
            noise_suppression_db: 15.0,
            automatic_gain: true,
            gain_target_dbfs: -20.0,
            max_gain_db: 30.0,
        }
    }
}

impl ProcessingConfig {
    /// Every stage off: the microphone passes unchanged (mute still works).
    pub fn off() -> Self {
        Self {
            echo_cancellation: false,
            noise_suppression: false,
            automatic_gain: false,
            ..Self::default()
        }
    }

    fn validate(&self) -> Result<(), ProcessingError> {
        let tail_ms = self.echo_tail.as_millis();
        if !(BLOCK.as_millis()..=1000).contains(&tail_ms) {
            return Err(ProcessingError::Config(format!(
                "echo tail of {tail_ms} ms, expected 10 to 1000 ms"
            )));
        }
        if !(0.0..=40.0).contains(&self.noise_suppression_db) {
            return Err(ProcessingError::Config(format!(
                "noise suppression of {} dB, expected 0 to 40 dB",
                self.noise_suppression_db
            )));
        }
        if !(-40.0..=0.0).contains(&self.gain_target_dbfs) {
            return Err(ProcessingError::Config(format!(
                "gain target of {} dBFS, expected -40 to 0 dBFS",
                self.gain_target_dbfs
            )));
        }
        if !(0.0..=40.0).contains(&self.max_gain_db) {
            return Err(ProcessingError::Config(format!(
                "maximum gain of {} dB, expected 0 to 40 dB",
                self.max_gain_db
            )));
        }
        Ok(())
    }

    fn echo_partitions(&self) -> usize {
        self.echo_tail.as_millis().div_ceil(BLOCK.as_millis()) as usize
    }
}

/// Why the microphone chain could not be built or run.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum ProcessingError {
    /// Our own settings are out of range (sample rate, tail, levels).
    #[error("microphone processing configuration: {0}")]
    Config(String),
    /// A frame that is not a whole number of blocks, or microphone and far-end frames of
    /// different lengths: the caller's bug.
    #[error("microphone processing: frame of {got} samples, expected {expected}")]
    FrameLength {
        /// Samples expected (per block, or the microphone frame's length).
        expected: usize,
        /// Samples given.
        got: usize,
    },
    /// The FFT rejected its buffers: our own bug.
    #[error("microphone processing: FFT: {0}")]
    Fft(String),
}

/// What the chain has been doing, for diagnostics.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct ProcessingStats {
    /// Echo return loss enhancement over recent single talk, in dB: how much quieter the far
    /// end's echo leaves than it came in. `None` before the far end has talked.
    pub echo_return_loss_enhancement_db: Option<f32>,
    /// Blocks during which both sides talked and the echo canceller held still.
    pub double_talk_blocks: u64,
    /// Times the echo canceller threw away a filter that made things worse.
    pub echo_resets: u64,
    /// The gain control's gain in force, in dB (`None` while it is off).
    pub gain_db: Option<f32>,
    /// Frames replaced by comfort noise because the microphone was muted.
    pub muted_frames: u64,
}

/// Smoothing of the energies behind the ERLE estimate, per single-talk block.
const ERLE_SMOOTHING: f32 = 0.05;

/// The microphone chain for one call. See the module documentation.
#[derive(Debug)]
pub struct MicProcessor {
    sample_rate: u32,
    block: usize,
    config: ProcessingConfig,
    muted: bool,
    echo: Option<EchoCanceller>,
    noise: Option<NoiseSuppressor>,
    gain: Option<AutomaticGain>,
    comfort: ComfortNoise,
    mic_block: Vec<f32>,
    far_block: Vec<f32>,
    out_block: Vec<f32>,
    echo_in: f32,
    echo_out: f32,
    stats: ProcessingStats,
}

impl MicProcessor {
    /// A chain for audio at `sample_rate` (a multiple of 100 Hz, 8 to 48 kHz).
    pub fn new(sample_rate: u32, config: ProcessingConfig) -> Result<Self, ProcessingError> {
        if !(8000..=48_000).contains(&sample_rate) || !sample_rate.is_multiple_of(100) {
            return Err(ProcessingError::Config(format!(
                "sample rate {sample_rate} Hz, expected a multiple of 100 Hz from 8 to 48 kHz"
            )));
        }
        config.validate()?;
        let block = (sample_rate / 100) as usize;
        let mut processor = Self {
            sample_rate,
            block,
            config: ProcessingConfig::off(),
            muted: false,
            echo: None,
            noise: None,
            gain: None,
            comfort: ComfortNoise::new(u64::from(sample_rate)),
            mic_block: vec![0.0; block],
            far_block: vec![0.0; block],
            out_block: vec![0.0; block],
            echo_in: 0.0,
            echo_out: 0.0,
            stats: ProcessingStats::default(),
        };
        processor.apply(config);
        Ok(processor)
    }

    /// The sample rate frames are expected at.
    pub fn sample_rate(&self) -> u32 {
        self.sample_rate
    }

    /// The settings in force.
    pub fn config(&self) -> ProcessingConfig {
        self.config
    }

    /// Whether the output is comfort noise.
    pub fn is_muted(&self) -> bool {
        self.muted
    }

    /// Counters and estimates for diagnostics.
    pub fn stats(&self) -> ProcessingStats {
        ProcessingStats {
            gain_db: self.gain.as_ref().map(AutomaticGain::gain_db),
            ..self.stats
        }
    }

    /// Mutes or unmutes. The chain keeps learning either way.
    pub fn set_muted(&mut self, muted: bool) {
        self.muted = muted;
    }

    /// Switches stages on or off and changes their settings while the call runs. A stage
    /// that stays on keeps its state, except an echo canceller whose tail changed, which
    /// starts over. Invalid settings are refused and the old ones stay.
    pub fn reconfigure(&mut self, config: ProcessingConfig) -> Result<(), ProcessingError> {
        config.validate()?;
        self.apply(config);
        Ok(())
    }

    fn apply(&mut self, config: ProcessingConfig) {
        let partitions = config.echo_partitions();
        match (&self.echo, config.echo_cancellation) {
            (Some(echo), true) if echo.partitions() == partitions => {}
            (_, true) => {
                self.echo = Some(EchoCanceller::new(self.block, partitions));
                self.echo_in = 0.0;
                self.echo_out = 0.0;
                self.stats.echo_return_loss_enhancement_db = None;
            }
            (_, false) => {
                self.echo = None;
                self.stats.echo_return_loss_enhancement_db = None;
            }
        }
        match (&mut self.noise, config.noise_suppression) {
            (Some(noise), true) => noise.set_depth(config.noise_suppression_db),
            (None, true) => self.noise = Some(NoiseSuppressor::new(self.block, config.noise_suppression_db)),
            (_, false) => self.noise = None,
        }
        match (&mut self.gain, config.automatic_gain) {
            (Some(gain), true) => gain.retarget(config.gain_target_dbfs, config.max_gain_db),
            (None, true) => self.gain = Some(AutomaticGain::new(config.gain_target_dbfs, config.max_gain_db)),
            (_, false) => self.gain = None,
        }
        self.config = config;
    }

    /// Processes one frame: `mic` from the microphone, `far` the far-end audio that went to
    /// the speaker over the same period, `out` the frame to send. All three have the same
    /// length, a whole number of 10 ms blocks.
    pub fn process(&mut self, mic: &[i16], far: &[i16], out: &mut [i16]) -> Result<(), ProcessingError> {
        if far.len() != mic.len() || out.len() != mic.len() {
            return Err(ProcessingError::FrameLength {
                expected: mic.len(),
                got: if far.len() == mic.len() { out.len() } else { far.len() },
            });
        }
        if mic.is_empty() || !mic.len().is_multiple_of(self.block) {
            return Err(ProcessingError::FrameLength {
                expected: self.block,
                got: mic.len(),
            });
        }
        for ((mic, far), out) in mic
            .chunks_exact(self.block)
            .zip(far.chunks_exact(self.block))
            .zip(out.chunks_exact_mut(self.block))
        {
            self.process_block(mic, far, out)?;
        }
        if self.muted {
            self.stats.muted_frames += 1;
        }
        Ok(())
    }

    fn process_block(&mut self, mic: &[i16], far: &[i16], out: &mut [i16]) -> Result<(), ProcessingError> {
        for (dst, &src) in self.mic_block.iter_mut().zip(mic) {
            *dst = f32::from(src);
        }
        let mut far_end_alone = false;
        if let Some(echo) = &mut self.echo {
            for (dst, &src) in self.far_block.iter_mut().zip(far) {
                *dst = f32::from(src);
            }
            let report = echo.process(&self.mic_block, &self.far_block, &mut self.out_block)?;
            self.mic_block.copy_from_slice(&self.out_block);
            far_end_alone = report.echo_only;
            if report.single_talk {
                self.echo_in += ERLE_SMOOTHING * (report.mic_energy - self.echo_in);
                self.echo_out += ERLE_SMOOTHING * (report.out_energy - self.echo_out);
                self.stats.echo_return_loss_enhancement_db =
                    Some(10.0 * (self.echo_in.max(1.0) / self.echo_out.max(1.0)).log10());
            }
            self.stats.double_talk_blocks += u64::from(report.double_talk);
            self.stats.echo_resets += u64::from(report.reset);
        }
        if let Some(noise) = &mut self.noise {
            noise.process(&mut self.mic_block)?;
        }
        if self.muted {
            self.comfort.fill(out);
            return Ok(());
        }
        if let Some(gain) = &mut self.gain {
            gain.process(&mut self.mic_block, far_end_alone);
        }
        for (dst, &src) in out.iter_mut().zip(&self.mic_block) {
            *dst = src.round().clamp(f32::from(i16::MIN), f32::from(i16::MAX)) as i16;
        }
        Ok(())
    }
}

/// Low white noise for a muted microphone, from a fixed-seed xorshift generator: the same
/// every run, and no RNG state shared with anything else.
#[derive(Debug)]
struct ComfortNoise {
    state: u64,
    amplitude: f32,
}

impl ComfortNoise {
    fn new(seed: u64) -> Self {
        // Uniform noise in ±a has an RMS of a/√3.
        let rms = 32768.0 * 10f32.powf(COMFORT_NOISE_DBFS / 20.0);
        Self {
            state: seed | 1,
            amplitude: rms * 3f32.sqrt(),
        }
    }

    fn fill(&mut self, out: &mut [i16]) {
        for sample in out {
            self.state ^= self.state << 13;
            self.state ^= self.state >> 7;
            self.state ^= self.state << 17;
            let unit = (self.state >> 40) as f32 / (1u64 << 24) as f32 * 2.0 - 1.0;
            *sample = (unit * self.amplitude).round() as i16;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_out_of_range_are_refused_and_the_old_ones_stay() {
        assert!(matches!(
            MicProcessor::new(44_123, ProcessingConfig::default()),
            Err(ProcessingError::Config(_))
        ));
        let mut processor = MicProcessor::new(8000, ProcessingConfig::default()).unwrap();
        let bad = ProcessingConfig {
            echo_tail: Duration::from_secs(5),
            ..ProcessingConfig::default()
        };
        assert!(matches!(processor.reconfigure(bad), Err(ProcessingError::Config(_))));
        assert_eq!(processor.config(), ProcessingConfig::default());
    }

    #[test]
    fn frames_that_are_not_whole_blocks_or_differ_in_length_are_errors() {
        let mut processor = MicProcessor::new(8000, ProcessingConfig::off()).unwrap();
        let mut out = [0i16; 160];
        assert_eq!(
            processor.process(&[0; 160], &[0; 80], &mut out),
            Err(ProcessingError::FrameLength { expected: 160, got: 80 })
        );
        let mut out = [0i16; 100];
        assert_eq!(
            processor.process(&[0; 100], &[0; 100], &mut out),
            Err(ProcessingError::FrameLength { expected: 80, got: 100 })
        );
    }

    #[test]
    fn with_every_stage_off_the_microphone_passes_unchanged() {
        let mut processor = MicProcessor::new(16_000, ProcessingConfig::off()).unwrap();
        let mic: Vec<i16> = (0..320).map(|i| ((i * 37) % 2000 - 1000) as i16).collect();
        let mut out = vec![0i16; 320];
        processor.process(&mic, &[0; 320], &mut out).unwrap();
        assert_eq!(out, mic);
    }

    #[test]
    fn comfort_noise_sits_at_its_level() {
        let mut noise = ComfortNoise::new(8000);
        let mut out = vec![0i16; 8000];
        noise.fill(&mut out);
        let rms = (out.iter().map(|&s| f64::from(s).powi(2)).sum::<f64>() / out.len() as f64).sqrt();
        let dbfs = 20.0 * (rms / 32768.0).log10();
        assert!((dbfs - f64::from(COMFORT_NOISE_DBFS)).abs() < 1.0, "{dbfs}");
    }
}
