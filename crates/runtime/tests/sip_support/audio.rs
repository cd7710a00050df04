//! The audio oracle: write a pure tone, then ask whether a recording carries it.

use std::path::Path;

/// Writes `seconds` of a sine at `frequency` Hz, at `rate` Hz with `channels` channels.
pub fn write_tone(path: &Path, frequency: f64, rate: u32, channels: u16, seconds: f64) {
    let spec = hound::WavSpec {
        channels,
        sample_rate: rate,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut writer = hound::WavWriter::create(path, spec).unwrap();
    let total = (f64::from(rate) * seconds) as u32;
    for n in 0..total {
        let value = (f64::from(n) * frequency * std::f64::consts::TAU / f64::from(rate)).sin();
        let sample = (value * 8000.0) as i16;
        for _ in 0..channels {
            writer.write_sample(sample).unwrap();
        }
    }
    writer.finalize().unwrap();
}

/// Mono samples of a 16-bit WAV (the first channel) and its rate.
pub fn read_wav(path: &Path) -> (Vec<i16>, u32) {
    let reader = hound::WavReader::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let spec = reader.spec();
    let channels = usize::from(spec.channels);
    let samples: Vec<i16> = reader.into_samples::<i16>().map(Result::unwrap).collect();
    (samples.into_iter().step_by(channels).collect(), spec.sample_rate)
}

/// Share of the signal's energy at `frequency` (Goertzel over 20 ms blocks), 0.0 to 1.0,
/// over the loudest blocks only, so the silence before and after the call does not dilute it.
/// A pure tone scores near 1; speech, noise or another tone score near 0.
pub fn tone_share(samples: &[i16], rate: u32, frequency: f64) -> f64 {
    let block = (rate / 50) as usize;
    let mut shares: Vec<(f64, f64)> = samples
        .chunks_exact(block)
        .map(|chunk| {
            let energy: f64 = chunk.iter().map(|&s| f64::from(s).powi(2)).sum();
            (energy, goertzel_power(chunk, rate, frequency) / energy.max(1.0))
        })
        .filter(|(energy, _)| *energy / block as f64 > 100.0 * 100.0)
        .collect();
    if shares.is_empty() {
        return 0.0;
    }
    shares.sort_by(|a, b| b.0.total_cmp(&a.0));
    shares.truncate(shares.len().div_ceil(2));
    shares.iter().map(|(_, share)| share).sum::<f64>() / shares.len() as f64
}

/// Energy of one frequency in a block, scaled by 2/N so that a pure tone at that frequency
/// scores the block's total energy (|X|² = (A·N/2)², energy = N·A²/2).
fn goertzel_power(block: &[i16], rate: u32, frequency: f64) -> f64 {
    let n = block.len() as f64;
    let omega = std::f64::consts::TAU * frequency / f64::from(rate);
    let coefficient = 2.0 * omega.cos();
    let (mut s1, mut s2) = (0.0, 0.0);
    for &sample in block {
        let s0 = f64::from(sample) + coefficient * s1 - s2;
        s2 = s1;
        s1 = s0;
    }
    (s1 * s1 + s2 * s2 - coefficient * s1 * s2) * 2.0 / n
}

/// Asserts that the recording at `path` carries `frequency` and not `absent`.
pub fn assert_tone(path: &Path, frequency: f64, absent: f64) {
    let (samples, rate) = read_wav(path);
    let present = tone_share(&samples, rate, frequency);
    let other = tone_share(&samples, rate, absent);
    assert!(
        present > 0.5 && other < 0.1,
        "{}: {frequency} Hz share {present:.3} (want > 0.5), {absent} Hz share {other:.3} (want < 0.1), {} samples",
        path.display(),
        samples.len()
    );
}

/// Like [`assert_tone`] over the last `seconds` of the recording only.
pub fn assert_tone_in_tail(path: &Path, frequency: f64, absent: f64, seconds: f64) {
    let (samples, rate) = read_wav(path);
    let tail = samples.len().saturating_sub((f64::from(rate) * seconds) as usize);
    let samples = &samples[tail..];
    let present = tone_share(samples, rate, frequency);
    let other = tone_share(samples, rate, absent);
    assert!(
        present > 0.5 && other < 0.1,
        "{} (last {seconds} s): {frequency} Hz share {present:.3} (want > 0.5), {absent} Hz share {other:.3} (want < 0.1)",
        path.display(),
    );
}
