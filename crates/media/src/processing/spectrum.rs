//! A real FFT pair of one length, with its scratch space, shared by the echo canceller and the
//! noise suppressor.
//!
//! The inverse is scaled by 1/N, so `inverse(forward(x)) == x`: callers think in signal
//! amplitudes, never in FFT conventions.

use std::sync::Arc;

use realfft::num_complex::Complex;
use realfft::{ComplexToReal, RealFftPlanner, RealToComplex};

use super::ProcessingError;

/// One complex spectrum bin.
pub(crate) type Bin = Complex<f32>;

/// Forward and inverse real FFTs of `len` points.
pub(crate) struct Transform {
    forward: Arc<dyn RealToComplex<f32>>,
    inverse: Arc<dyn ComplexToReal<f32>>,
    scratch: Vec<Bin>,
    scale: f32,
}

impl std::fmt::Debug for Transform {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Transform")
            .field("len", &self.len())
            .finish_non_exhaustive()
    }
}

fn fft_failed(e: realfft::FftError) -> ProcessingError {
    ProcessingError::Fft(e.to_string())
}

impl Transform {
    /// Plans both directions for `len` real samples (`len / 2 + 1` bins).
    pub(crate) fn new(len: usize) -> Self {
        let mut planner = RealFftPlanner::<f32>::new();
        let forward = planner.plan_fft_forward(len);
        let inverse = planner.plan_fft_inverse(len);
        let scratch_len = forward.get_scratch_len().max(inverse.get_scratch_len());
        Self {
            forward,
            inverse,
            scratch: vec![Bin::default(); scratch_len],
            scale: 1.0 / len as f32,
        }
    }

    /// Real samples per transform.
    pub(crate) fn len(&self) -> usize {
        self.forward.len()
    }

    /// Bins per spectrum.
    pub(crate) fn bins(&self) -> usize {
        self.len() / 2 + 1
    }

    /// Spectrum of `time` (which is used as scratch and left undefined).
    pub(crate) fn forward(&mut self, time: &mut [f32], spectrum: &mut [Bin]) -> Result<(), ProcessingError> {
        self.forward
            .process_with_scratch(time, spectrum, &mut self.scratch)
            .map_err(fft_failed)
    }

    /// Signal of `spectrum` (which is used as scratch and left undefined), scaled by 1/N.
    pub(crate) fn inverse(&mut self, spectrum: &mut [Bin], time: &mut [f32]) -> Result<(), ProcessingError> {
        // A real signal's DC and Nyquist bins are real; rounding leaves a trace of imaginary
        // part that the inverse would otherwise report as invalid input.
        if let Some(dc) = spectrum.first_mut() {
            dc.im = 0.0;
        }
        if let Some(nyquist) = spectrum.last_mut() {
            nyquist.im = 0.0;
        }
        self.inverse
            .process_with_scratch(spectrum, time, &mut self.scratch)
            .map_err(fft_failed)?;
        for sample in time.iter_mut() {
            *sample *= self.scale;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inverse_undoes_forward_at_the_block_lengths_in_use() {
        for len in [160, 320, 960] {
            let mut transform = Transform::new(len);
            let signal: Vec<f32> = (0..len).map(|i| ((i * 7919) % 200) as f32 - 100.0).collect();
            let mut time = signal.clone();
            let mut spectrum = vec![Bin::default(); transform.bins()];
            transform.forward(&mut time, &mut spectrum).unwrap();
            let mut back = vec![0.0; len];
            transform.inverse(&mut spectrum, &mut back).unwrap();
            for (a, b) in signal.iter().zip(&back) {
                assert!((a - b).abs() < 1e-3, "{len}: {a} vs {b}");
            }
        }
    }
}
