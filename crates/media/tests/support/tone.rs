//! Tone generation and Goertzel detection.

use std::f64::consts::PI;

/// A sine of `freq` Hz at `amplitude`, samples `start..start + n` at `rate`.
pub fn sine(freq: f64, amplitude: f64, rate: u32, start: u64, n: usize) -> Vec<i16> {
    (start..start + n as u64)
        .map(|i| (amplitude * (2.0 * PI * freq * i as f64 / f64::from(rate)).sin()) as i16)
        .collect()
}

/// The share of the block's energy at `freq` (Goertzel), 0.0 to about 1.0.
pub fn tone_share(block: &[i16], freq: f64, rate: u32) -> f64 {
    let n = block.len() as f64;
    let coeff = 2.0 * (2.0 * PI * freq / f64::from(rate)).cos();
    let (mut s1, mut s2) = (0.0f64, 0.0f64);
    let mut energy = 0.0;
    for &x in block {
        let x = f64::from(x);
        energy += x * x;
        let s = x + coeff * s1 - s2;
        s2 = s1;
        s1 = s;
    }
    if energy <= 0.0 {
        return 0.0;
    }
    let power = s1 * s1 + s2 * s2 - coeff * s1 * s2;
    2.0 * power / (n * energy)
}

/// RMS of a block.
pub fn rms(block: &[i16]) -> f64 {
    (block.iter().map(|&s| f64::from(s).powi(2)).sum::<f64>() / block.len().max(1) as f64).sqrt()
}
