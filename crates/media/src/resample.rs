//! Sample-rate conversion between the audio device and the codec, with a drift trim.
//!
//! Devices run at 44.1 or 48 kHz, G.711 at 8 kHz, Opus at 16 or 48 kHz. A [`Resampler`]
//! is a FIFO: push device (or decoder) PCM of any length, pull whole frames at the other
//! rate. It wraps rubato's asynchronous sinc resampler because that one accepts a ratio
//! change while running: [`Resampler::set_playout_rate`] applies the jitter buffer's drift
//! estimate ([`crate::jitter::JitterStats::playout_rate`]) as a small, smooth speed change
//! instead of the frame drops and insertions the buffer otherwise falls back to.
//!
//! Processing runs in 10 ms input chunks; the sinc filter adds a few milliseconds of delay.
//! All buffers are allocated up front, so steady-state processing does not allocate.

use std::collections::VecDeque;

use rubato::audioadapter_buffers::direct::InterleavedSlice;
use rubato::{Adjustable, Async, FixedAsync, Resampler as _, SincInterpolationParameters, WindowFunction};

use crate::error::CodecError;

/// The largest playout-rate trim accepted: 1 %, far beyond real clock drift (< 0.1 %).
const MAX_TRIM: f64 = 1.01;

fn library(e: impl std::fmt::Display) -> CodecError {
    CodecError::Library {
        codec: "resampler",
        message: e.to_string(),
    }
}

/// A mono streaming resampler.
pub struct Resampler {
    from_rate: u32,
    to_rate: u32,
    inner: Async<f32>,
    pending: Vec<f32>,
    scratch: Vec<f32>,
    ready: VecDeque<i16>,
}

impl std::fmt::Debug for Resampler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Resampler")
            .field("from_rate", &self.from_rate)
            .field("to_rate", &self.to_rate)
            .field("pending", &self.pending.len())
            .field("ready", &self.ready.len())
            .finish_non_exhaustive()
    }
}

impl Resampler {
    /// Converts from `from_rate` to `to_rate` (both in Hz).
    pub fn new(from_rate: u32, to_rate: u32) -> Result<Self, CodecError> {
        if from_rate == 0 || to_rate == 0 {
            return Err(CodecError::Config(format!("resampler: rates {from_rate} -> {to_rate}")));
        }
        let chunk = (from_rate / 100).max(1) as usize;
        let params = SincInterpolationParameters::new(128, WindowFunction::BlackmanHarris2);
        let ratio = f64::from(to_rate) / f64::from(from_rate);
        let inner = Async::<f32>::new_sinc(ratio, MAX_TRIM, &params, chunk, 1, FixedAsync::Input).map_err(library)?;
        let scratch = vec![0.0; inner.output_frames_max()];
        Ok(Self {
            from_rate,
            to_rate,
            pending: Vec::with_capacity(chunk * 4),
            scratch,
            ready: VecDeque::with_capacity(inner.output_frames_max() * 4),
            inner,
        })
    }

    /// Input rate.
    pub fn from_rate(&self) -> u32 {
        self.from_rate
    }

    /// Output rate.
    pub fn to_rate(&self) -> u32 {
        self.to_rate
    }

    /// Samples ready to pull.
    pub fn available(&self) -> usize {
        self.ready.len()
    }

    /// Feeds input samples; converts every whole chunk now available.
    pub fn push(&mut self, pcm: &[i16]) -> Result<(), CodecError> {
        self.pending.extend(pcm.iter().map(|&s| f32::from(s)));
        loop {
            let need = self.inner.input_frames_next();
            if self.pending.len() < need {
                return Ok(());
            }
            let input = InterleavedSlice::new(&self.pending[..need], 1, need).map_err(library)?;
            let capacity = self.scratch.len();
            let mut output = InterleavedSlice::new_mut(&mut self.scratch, 1, capacity).map_err(library)?;
            let (used, written) = self
                .inner
                .process_into_buffer(&input, &mut output, None)
                .map_err(library)?;
            self.pending.drain(..used.min(self.pending.len()));
            self.ready.extend(
                self.scratch
                    .iter()
                    .take(written)
                    .map(|&s| s.round().clamp(f32::from(i16::MIN), f32::from(i16::MAX)) as i16),
            );
        }
    }

    /// Fills `out` completely if enough output is ready; returns `false` (and leaves `out`
    /// untouched) otherwise.
    pub fn pull(&mut self, out: &mut [i16]) -> bool {
        if self.ready.len() < out.len() {
            return false;
        }
        let n = out.len();
        for (dst, src) in out.iter_mut().zip(self.ready.drain(..n)) {
            *dst = src;
        }
        true
    }

    /// Plays the input `rate` times faster than nominal (1.0005 consumes 0.05 % more input
    /// per output second), ramping smoothly over the next chunk. Clamped to +/- 1 %.
    pub fn set_playout_rate(&mut self, rate: f64) -> Result<(), CodecError> {
        let rate = if rate.is_finite() {
            rate.clamp(1.0 / MAX_TRIM, MAX_TRIM)
        } else {
            1.0
        };
        // rubato's relative ratio is output over input: faster playout means less output.
        self.inner
            .set_resample_ratio_relative(1.0 / rate, true)
            .map_err(library)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sine(freq: f64, rate: u32, n: usize) -> Vec<i16> {
        (0..n)
            .map(|i| (8000.0 * (2.0 * std::f64::consts::PI * freq * i as f64 / f64::from(rate)).sin()) as i16)
            .collect()
    }

    /// Amplitude of `freq` in `x` by correlation with a quadrature pair.
    fn amplitude(x: &[i16], freq: f64, rate: u32) -> f64 {
        let (mut re, mut im) = (0.0, 0.0);
        for (i, &s) in x.iter().enumerate() {
            let phase = 2.0 * std::f64::consts::PI * freq * i as f64 / f64::from(rate);
            re += f64::from(s) * phase.cos();
            im += f64::from(s) * phase.sin();
        }
        2.0 * (re * re + im * im).sqrt() / x.len() as f64
    }

    #[test]
    fn device_rate_to_g711_and_back_keeps_a_tone() {
        let mut down = Resampler::new(48000, 8000).unwrap();
        let mut up = Resampler::new(8000, 48000).unwrap();
        let input = sine(1000.0, 48000, 24000);
        for block in input.chunks(441) {
            down.push(block).unwrap();
        }
        let mut narrow = vec![0i16; down.available()];
        assert!(down.pull(&mut narrow));
        assert!((3800..=4000).contains(&narrow.len()), "{}", narrow.len());
        let steady = &narrow[400..3600];
        let a = amplitude(steady, 1000.0, 8000);
        assert!((a - 8000.0).abs() < 400.0, "amplitude {a}");
        up.push(&narrow).unwrap();
        let mut wide = vec![0i16; up.available()];
        assert!(up.pull(&mut wide));
        let a = amplitude(&wide[2400..21000], 1000.0, 48000);
        assert!((a - 8000.0).abs() < 600.0, "amplitude {a}");
    }

    #[test]
    fn content_above_the_new_nyquist_is_filtered_out() {
        let mut down = Resampler::new(48000, 8000).unwrap();
        down.push(&sine(6000.0, 48000, 12000)).unwrap();
        let mut out = vec![0i16; down.available()];
        assert!(down.pull(&mut out));
        let rms = (out[400..].iter().map(|&s| f64::from(s).powi(2)).sum::<f64>() / (out.len() - 400) as f64).sqrt();
        assert!(rms < 100.0, "6 kHz leaked through as {rms}");
    }

    #[test]
    fn playout_rate_trims_the_output_length() {
        let input = sine(440.0, 8000, 8000 * 4);
        let run = |rate: f64| {
            let mut r = Resampler::new(8000, 16000).unwrap();
            r.set_playout_rate(rate).unwrap();
            r.push(&input).unwrap();
            r.available() as f64
        };
        let nominal = run(1.0);
        let fast = run(1.001);
        let ratio = fast / nominal;
        assert!((ratio - 1.0 / 1.001).abs() < 0.0002, "{ratio}");
        assert!(Resampler::new(0, 8000).is_err());
    }

    #[test]
    fn pull_waits_for_a_whole_frame() {
        let mut r = Resampler::new(8000, 16000).unwrap();
        let mut frame = [7i16; 320];
        r.push(&[0; 40]).unwrap();
        assert!(!r.pull(&mut frame));
        assert!(frame.iter().all(|&s| s == 7));
    }
}
