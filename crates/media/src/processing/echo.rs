//! Acoustic echo cancellation: a partitioned-block frequency-domain adaptive filter.
//!
//! The far end's voice leaves the speaker, comes back into the microphone delayed and
//! coloured by the room (or leaks inside a headset), and the far end hears itself. The
//! canceller learns that echo path as a filter of `tail` length applied to what went to the
//! speaker, and subtracts its estimate from the microphone.
//!
//! ```text
//!  far block ─► [prev | cur] ─► FFT ─► X₀ ┐  X₁ … X_{M-1}: the M previous blocks' spectra
//!                                         ▼
//!                          Y = Σ Wₖ·Xₖ ─► IFFT ─► last half = echo estimate
//!  mic block ───────────────────────────────────────────► e = mic − estimate ─► out
//!                                                          │
//!        Wₖ += μ·conj(Xₖ)·E / (Σₖ|Xₖ|² + δ), then each Wₖ cut to B taps (gradient constraint)
//! ```
//!
//! The filter is split into M partitions of one block (10 ms) each, so the delay through the
//! canceller is zero and the cost grows with the tail only linearly (overlap-save, FFT of two
//! blocks). The step is normalised per frequency bin by the far end's power over the whole
//! tail, which makes speech (most energy below 1 kHz) converge about as fast as white noise.
//!
//! Adaptation runs only while the far end talks and the near end does not: a Geigel detector
//! (microphone peak above half the far end's recent peak) freezes the filter during double
//! talk, because the operator's own voice in the error would otherwise drag the filter away
//! from the echo path. It assumes the echo returns at least 6 dB below the far end, which
//! holds for headsets and for desk phones at sane volumes. The canceller never makes things
//! worse: a block whose output is louder than its input is replaced by the input, and a
//! filter that stays that way for half a second is reset.

use std::collections::VecDeque;

use tracing::debug;

use super::ProcessingError;
use super::spectrum::{Bin, Transform};

/// Adaptation step (1.0 is the normalised LMS's half step: fast and still quiet).
const STEP: f32 = 1.0;

/// Near-end peak above this share of the far end's recent peak means the operator talks.
const GEIGEL_THRESHOLD: f32 = 0.5;

/// Blocks the filter stays frozen after double talk was last seen.
const DOUBLE_TALK_HANGOVER: u32 = 5;

/// Far-end blocks quieter than this RMS (about -50 dBFS) teach the filter nothing.
const FAR_ACTIVE_RMS: f32 = 100.0;

/// Regularisation of the per-bin normalisation, as an RMS amplitude (about -60 dBFS).
const REGULARISATION_RMS: f32 = 32.0;

/// Consecutive blocks whose output is louder than twice the input before the filter resets.
const DIVERGED_RESET_BLOCKS: u32 = 50;

/// What one block did, for the processor's statistics.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct EchoBlock {
    /// The far end was talking (and the near end was not): an ERLE sample.
    pub(crate) single_talk: bool,
    /// The far end talked within the tail, so its echo may still be arriving, and the near
    /// end does not talk.
    pub(crate) echo_only: bool,
    /// Double talk froze adaptation.
    pub(crate) double_talk: bool,
    /// The filter was reset because it diverged.
    pub(crate) reset: bool,
    /// Energy of the microphone block.
    pub(crate) mic_energy: f32,
    /// Energy of the output block.
    pub(crate) out_energy: f32,
}

/// The echo canceller for one call. See the module documentation.
#[derive(Debug)]
pub(crate) struct EchoCanceller {
    block: usize,
    transform: Transform,
    /// The previous and the current far-end block.
    far_window: Vec<f32>,
    /// Spectra of the last M far-end windows; partition k (k blocks old) at `(newest + k) % M`.
    far_spectra: Vec<Vec<Bin>>,
    newest: usize,
    /// Peak of each far-end block over the tail, newest first (for the double-talk detector).
    far_peaks: VecDeque<f32>,
    weights: Vec<Vec<Bin>>,
    regularisation: f32,
    hangover: u32,
    diverged_blocks: u32,
    /// Microphone minus echo estimate (before the never-worse substitution).
    error: Vec<f32>,
    time: Vec<f32>,
    spectrum: Vec<Bin>,
    power: Vec<f32>,
}

impl EchoCanceller {
    /// A canceller for blocks of `block` samples modelling `partitions` blocks of echo path.
    pub(crate) fn new(block: usize, partitions: usize) -> Self {
        let transform = Transform::new(2 * block);
        let bins = transform.bins();
        let partitions = partitions.max(1);
        Self {
            block,
            far_window: vec![0.0; 2 * block],
            far_spectra: vec![vec![Bin::default(); bins]; partitions],
            newest: 0,
            far_peaks: VecDeque::with_capacity(partitions + 1),
            weights: vec![vec![Bin::default(); bins]; partitions],
            regularisation: partitions as f32 * (2 * block) as f32 * REGULARISATION_RMS * REGULARISATION_RMS,
            hangover: 0,
            diverged_blocks: 0,
            error: vec![0.0; block],
            time: vec![0.0; 2 * block],
            spectrum: vec![Bin::default(); bins],
            power: vec![0.0; bins],
            transform,
        }
    }

    /// The echo path modelled, in blocks.
    pub(crate) fn partitions(&self) -> usize {
        self.weights.len()
    }

    /// Removes the echo of `far` (what the speaker played) from `mic` into `out`; all three
    /// are one block long.
    pub(crate) fn process(&mut self, mic: &[f32], far: &[f32], out: &mut [f32]) -> Result<EchoBlock, ProcessingError> {
        let b = self.block;
        if mic.len() != b || far.len() != b || out.len() != b {
            return Err(ProcessingError::FrameLength {
                expected: b,
                got: mic.len().min(far.len()).min(out.len()),
            });
        }
        let m = self.partitions();

        self.far_window.copy_within(b.., 0);
        self.far_window[b..].copy_from_slice(far);
        self.newest = (self.newest + m - 1) % m;
        self.time.copy_from_slice(&self.far_window);
        self.transform
            .forward(&mut self.time, &mut self.far_spectra[self.newest])?;

        // The echo estimate: the last half of the circular convolution is the linear one.
        self.spectrum.fill(Bin::default());
        for (k, weights) in self.weights.iter().enumerate() {
            let x = &self.far_spectra[(self.newest + k) % m];
            for ((acc, w), x) in self.spectrum.iter_mut().zip(weights).zip(x) {
                *acc += w * x;
            }
        }
        self.transform.inverse(&mut self.spectrum, &mut self.time)?;
        for ((e, d), y) in self.error.iter_mut().zip(mic).zip(&self.time[b..]) {
            *e = d - y;
        }
        out.copy_from_slice(&self.error);

        let mic_energy = energy(mic);
        let out_energy = energy(out);
        let far_energy = energy(far);
        let far_peak = peak(far);
        self.far_peaks.push_front(far_peak);
        self.far_peaks.truncate(m + 1);
        let far_recent_peak = self.far_peaks.iter().copied().fold(0.0, f32::max);
        let far_active = far_energy > FAR_ACTIVE_RMS * FAR_ACTIVE_RMS * b as f32;
        let far_recent = far_recent_peak > FAR_ACTIVE_RMS;
        let double_talk = far_active && peak(mic) > GEIGEL_THRESHOLD * far_recent_peak;
        if double_talk {
            self.hangover = DOUBLE_TALK_HANGOVER;
        }
        let frozen = self.hangover > 0;
        self.hangover = self.hangover.saturating_sub(1);

        // Never louder than the microphone: a wrong estimate is not subtracted.
        let mut reset = false;
        if out_energy > mic_energy {
            out.copy_from_slice(mic);
            if out_energy > 2.0 * mic_energy && mic_energy > 0.0 {
                self.diverged_blocks += 1;
            }
            if self.diverged_blocks >= DIVERGED_RESET_BLOCKS {
                debug!(blocks = self.diverged_blocks, "echo canceller diverged; filter reset");
                self.reset_filter();
                reset = true;
            }
        } else {
            self.diverged_blocks = 0;
        }

        let single_talk = far_active && !frozen;
        let echo_only = far_recent && !frozen;
        if single_talk && !reset {
            self.adapt()?;
        }
        Ok(EchoBlock {
            single_talk,
            echo_only,
            double_talk: far_active && frozen,
            reset,
            mic_energy,
            out_energy: energy(out),
        })
    }

    /// One normalised gradient step from the error of the last block.
    fn adapt(&mut self) -> Result<(), ProcessingError> {
        let b = self.block;
        let m = self.partitions();
        self.time[..b].fill(0.0);
        self.time[b..].copy_from_slice(&self.error);
        self.transform.forward(&mut self.time, &mut self.spectrum)?;

        self.power.fill(self.regularisation);
        for x in &self.far_spectra {
            for (p, x) in self.power.iter_mut().zip(x) {
                *p += x.norm_sqr();
            }
        }
        for (k, weights) in self.weights.iter_mut().enumerate() {
            let x = &self.far_spectra[(self.newest + k) % m];
            for (((w, x), e), p) in weights.iter_mut().zip(x).zip(&self.spectrum).zip(&self.power) {
                *w += x.conj() * e * (STEP / p);
            }
            // Gradient constraint: a partition models one block of the echo path, so its
            // taps beyond B (circular wrap-around) must stay zero.
            self.transform.inverse(weights, &mut self.time)?;
            for tap in &mut self.time[b..] {
                *tap = 0.0;
            }
            self.transform.forward(&mut self.time, weights)?;
        }
        Ok(())
    }

    fn reset_filter(&mut self) {
        for weights in &mut self.weights {
            weights.fill(Bin::default());
        }
        self.diverged_blocks = 0;
    }
}

fn energy(block: &[f32]) -> f32 {
    block.iter().map(|s| s * s).sum()
}

fn peak(block: &[f32]) -> f32 {
    block.iter().fold(0.0, |m, s| m.max(s.abs()))
}
