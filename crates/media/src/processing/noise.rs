//! Noise suppression: a Wiener filter per frequency bin over a tracked noise spectrum.
//!
//! ```text
//!  block ─► [prev | cur] × √Hann ─► FFT ─► |X|² ─► noise estimate N (per bin)
//!                                        │        a-priori SNR ξ (decision-directed)
//!                                        ▼        gain G = max(ξ/(1+ξ), floor)
//!                          X·G ─► IFFT × √Hann ─► overlap-add ─► block (one block later)
//! ```
//!
//! The noise estimate follows a bin quickly while it looks like noise (within 6 dB of the
//! estimate) and creeps up only slowly while something louder sits on it, so a voice, which
//! is never stationary for long, is not learnt as noise, while a fan that starts mid-call is
//! within a few seconds. The estimate starts low and may rise fast during the first
//! [`STARTUP`] blocks: the call's background is learnt within two seconds, but an operator
//! who is already talking when the call starts is not.
//!
//! The decision-directed a-priori SNR (Ephraim and Malah) smooths the gain over time, which
//! keeps the residual noise from "warbling" (musical noise); the gain floor bounds how far
//! the noise is pushed down, because a line that goes dead between words sounds broken.
//! Square-root Hann windows at 50 % overlap sum to one, so with the gain at one the block
//! comes out unchanged, one block later.

use super::ProcessingError;
use super::spectrum::{Bin, Transform};

/// Blocks (10 ms each) of fast start-up learning: noise up to 50 dB above the starting
/// point (-30 dBFS, a loud room) is learnt within them.
const STARTUP: u32 = 200;

/// Start-up rise of the noise estimate per block: 25 dB/s.
const STARTUP_RISE: f32 = 1.059_254;

/// Rise per block while a bin holds more than noise: about 0.9 dB/s.
const SLOW_RISE: f32 = 1.002;

/// A bin within this power ratio of the estimate counts as noise (6 dB).
const NOISE_LIKE: f32 = 4.0;

/// How fast a noise-like bin pulls the estimate (per block).
const NOISE_SMOOTHING: f32 = 0.05;

/// Decision-directed weighting of the previous block's clean-speech estimate.
const DECISION_DIRECTED: f32 = 0.98;

/// The estimate's starting point and lower bound, as an RMS level (-80 dBFS).
const FLOOR_RMS: f32 = 3.3;

/// The noise suppressor for one call. See the module documentation.
#[derive(Debug)]
pub(crate) struct NoiseSuppressor {
    block: usize,
    transform: Transform,
    window: Vec<f32>,
    input: Vec<f32>,
    overlap: Vec<f32>,
    time: Vec<f32>,
    spectrum: Vec<Bin>,
    noise: Vec<f32>,
    previous_gain: Vec<f32>,
    previous_snr: Vec<f32>,
    floor_gain: f32,
    noise_floor: f32,
    blocks: u32,
}

impl NoiseSuppressor {
    /// A suppressor for blocks of `block` samples that lowers noise by up to `depth_db`.
    pub(crate) fn new(block: usize, depth_db: f32) -> Self {
        let transform = Transform::new(2 * block);
        let bins = transform.bins();
        let n = 2 * block;
        // Periodic √Hann: sin(πi/N); its square at 50 % overlap sums to exactly one.
        let window = (0..n)
            .map(|i| (std::f32::consts::PI * i as f32 / n as f32).sin())
            .collect();
        // A bin's expected |X|² for white noise of RMS σ under this window is σ²·N/2.
        let noise_floor = FLOOR_RMS * FLOOR_RMS * n as f32 / 2.0;
        Self {
            block,
            window,
            input: vec![0.0; n],
            overlap: vec![0.0; block],
            time: vec![0.0; n],
            spectrum: vec![Bin::default(); bins],
            noise: vec![noise_floor; bins],
            previous_gain: vec![1.0; bins],
            previous_snr: vec![1.0; bins],
            floor_gain: floor_gain(depth_db),
            noise_floor,
            blocks: 0,
            transform,
        }
    }

    /// Changes how far the noise is pushed down, keeping what was learnt.
    pub(crate) fn set_depth(&mut self, depth_db: f32) {
        self.floor_gain = floor_gain(depth_db);
    }

    /// Suppresses noise in `block`, in place; the output lags the input by one block.
    pub(crate) fn process(&mut self, block: &mut [f32]) -> Result<(), ProcessingError> {
        let b = self.block;
        if block.len() != b {
            return Err(ProcessingError::FrameLength {
                expected: b,
                got: block.len(),
            });
        }
        self.input.copy_within(b.., 0);
        self.input[b..].copy_from_slice(block);
        for ((t, x), w) in self.time.iter_mut().zip(&self.input).zip(&self.window) {
            *t = x * w;
        }
        self.transform.forward(&mut self.time, &mut self.spectrum)?;

        let rise = if self.blocks < STARTUP { STARTUP_RISE } else { SLOW_RISE };
        self.blocks = self.blocks.saturating_add(1);
        for (((x, noise), previous_gain), previous_snr) in self
            .spectrum
            .iter_mut()
            .zip(&mut self.noise)
            .zip(&mut self.previous_gain)
            .zip(&mut self.previous_snr)
        {
            let power = x.norm_sqr();
            if power < NOISE_LIKE * *noise {
                *noise += NOISE_SMOOTHING * (power - *noise);
            } else {
                *noise *= rise;
            }
            *noise = noise.max(self.noise_floor);
            let posterior = power / *noise;
            let prior = DECISION_DIRECTED * *previous_gain * *previous_gain * *previous_snr
                + (1.0 - DECISION_DIRECTED) * (posterior - 1.0).max(0.0);
            let gain = (prior / (1.0 + prior)).max(self.floor_gain);
            *previous_gain = gain;
            *previous_snr = posterior;
            *x *= gain;
        }

        self.transform.inverse(&mut self.spectrum, &mut self.time)?;
        for (t, w) in self.time.iter_mut().zip(&self.window) {
            *t *= w;
        }
        for ((out, overlap), t) in block.iter_mut().zip(&self.overlap).zip(&self.time) {
            *out = overlap + t;
        }
        self.overlap.copy_from_slice(&self.time[b..]);
        Ok(())
    }
}

fn floor_gain(depth_db: f32) -> f32 {
    10f32.powf(-depth_db.abs() / 20.0)
}
