//! The microphone chain on synthetic signals: an echo of the far end's voice is cancelled, a
//! stationary hiss is suppressed while a voice-like tone survives, a quiet microphone is
//! brought up to speech level without clipping, and mute sends comfort noise while the echo
//! canceller keeps learning. Everything is generated here from fixed seeds: no devices, no
//! files, the same numbers every run.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::f64::consts::PI;
use std::time::Duration;

use media::processing::{COMFORT_NOISE_DBFS, MicProcessor, ProcessingConfig};

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

/// Speech-like far-end audio: noise shaped towards low frequencies (most of speech's energy
/// sits below 1 kHz), in syllables of about 200 ms with short gaps, peaking near -12 dBFS.
fn speech_like(rate: u32, seconds: f64, seed: u64) -> Vec<i16> {
    let mut noise = Noise(seed);
    let n = (f64::from(rate) * seconds) as usize;
    let mut low = 0.0;
    let mut lower = 0.0;
    (0..n)
        .map(|i| {
            let t = i as f64 / f64::from(rate);
            // Two one-pole low-passes: a slope of about -12 dB/octave above 600 Hz.
            let pole = (-2.0 * PI * 600.0 / f64::from(rate)).exp();
            low = pole * low + (1.0 - pole) * noise.next();
            lower = pole * lower + (1.0 - pole) * low;
            let syllable = (2.0 * PI * 2.3 * t).sin().max(0.0).sqrt();
            let shaped = lower * 8.0;
            (shaped * syllable * 9000.0).clamp(-32767.0, 32767.0) as i16
        })
        .collect()
}

fn sine(rate: u32, frequency: f64, amplitude: f64, n: usize) -> Vec<i16> {
    (0..n)
        .map(|i| (amplitude * (2.0 * PI * frequency * i as f64 / f64::from(rate)).sin()) as i16)
        .collect()
}

/// A room: the far end comes back 30 ms later, 8 dB down, with a few reflections.
fn room_echo(far: &[i16], rate: u32) -> Vec<i16> {
    let ms = |m: u32| (rate * m / 1000) as usize;
    let taps = [
        (ms(30), 0.4),
        (ms(31), -0.2),
        (ms(37), 0.12),
        (ms(52), -0.06),
        (ms(80), 0.03),
    ];
    (0..far.len())
        .map(|i| {
            let y: f64 = taps
                .iter()
                .filter(|(d, _)| i >= *d)
                .map(|(d, g)| g * f64::from(far[i - d]))
                .sum();
            y as i16
        })
        .collect()
}

fn energy(block: &[i16]) -> f64 {
    block.iter().map(|&s| f64::from(s).powi(2)).sum()
}

fn rms_dbfs(block: &[i16]) -> f64 {
    10.0 * (energy(block) / block.len().max(1) as f64 / (32768.0f64 * 32768.0))
        .max(1e-12)
        .log10()
}

/// Level of `frequency` in `block` (Goertzel), dBFS RMS.
fn tone_dbfs(block: &[i16], rate: u32, frequency: f64) -> f64 {
    let coeff = 2.0 * (2.0 * PI * frequency / f64::from(rate)).cos();
    let (mut s1, mut s2) = (0.0f64, 0.0f64);
    for &x in block {
        let s0 = f64::from(x) / 32768.0 + coeff * s1 - s2;
        s2 = s1;
        s1 = s0;
    }
    let power = (s1 * s1 + s2 * s2 - coeff * s1 * s2).max(1e-30);
    let amplitude = 2.0 * power.sqrt() / block.len() as f64;
    20.0 * (amplitude / 2f64.sqrt()).log10()
}

/// Runs `mic` and `far` through `processor` in 20 ms frames.
fn run(processor: &mut MicProcessor, mic: &[i16], far: &[i16]) -> Vec<i16> {
    let frame = processor.sample_rate() as usize / 50;
    let mut out = vec![0i16; mic.len()];
    for ((m, f), o) in mic
        .chunks_exact(frame)
        .zip(far.chunks_exact(frame))
        .zip(out.chunks_exact_mut(frame))
    {
        processor.process(m, f, o).unwrap();
    }
    out
}

fn echo_only() -> ProcessingConfig {
    ProcessingConfig {
        echo_cancellation: true,
        ..ProcessingConfig::off()
    }
}

fn seconds(rate: u32, from: f64, to: f64) -> std::ops::Range<usize> {
    (f64::from(rate) * from) as usize..(f64::from(rate) * to) as usize
}

/// Echo return loss enhancement over `range`: echo in versus what is left of it.
fn erle_db(echo: &[i16], out: &[i16], range: std::ops::Range<usize>) -> f64 {
    10.0 * (energy(&echo[range.clone()]) / energy(&out[range]).max(1.0)).log10()
}

#[test]
fn the_echo_of_the_far_end_is_cancelled_once_the_canceller_has_converged() {
    for rate in [8000, 16_000] {
        let far = speech_like(rate, 8.0, 7);
        let echo = room_echo(&far, rate);
        let mut processor = MicProcessor::new(rate, echo_only()).unwrap();
        let out = run(&mut processor, &echo, &far);

        let early = erle_db(&echo, &out, seconds(rate, 0.0, 0.5));
        let late = erle_db(&echo, &out, seconds(rate, 5.0, 8.0));
        assert!(late >= 25.0, "{rate} Hz: ERLE {late:.1} dB after convergence");
        assert!(late > early + 10.0, "{rate} Hz: it learnt ({early:.1} -> {late:.1} dB)");
        let reported = processor.stats().echo_return_loss_enhancement_db.unwrap();
        assert!(
            reported >= 20.0,
            "{rate} Hz: the estimate for diagnostics says {reported:.1} dB"
        );
        assert_eq!(processor.stats().echo_resets, 0);
    }
}

#[test]
fn the_operator_talking_over_the_far_end_is_kept_and_does_not_break_the_canceller() {
    let rate = 8000;
    let far = speech_like(rate, 10.0, 11);
    let echo = room_echo(&far, rate);
    let near_period = seconds(rate, 5.0, 7.0);
    let near = sine(rate, 440.0, 8000.0, near_period.len());
    let mut mic = echo.clone();
    for (m, n) in mic[near_period.clone()].iter_mut().zip(&near) {
        *m = m.saturating_add(*n);
    }
    let mut processor = MicProcessor::new(rate, echo_only()).unwrap();
    let out = run(&mut processor, &mic, &far);

    let kept = tone_dbfs(&out[near_period.clone()], rate, 440.0);
    let said = tone_dbfs(&near, rate, 440.0);
    assert!(
        (kept - said).abs() < 1.0,
        "the operator's voice: {kept:.1} dBFS out of {said:.1}"
    );
    assert!(processor.stats().double_talk_blocks >= 150, "{:?}", processor.stats());
    let after = erle_db(&echo, &out, seconds(rate, 7.5, 10.0));
    assert!(after >= 22.0, "ERLE {after:.1} dB after the double talk");
}

/// White noise at -45 dBFS throughout; a 1 kHz tone at -20 dBFS for 300 ms of every 600.
#[test]
fn stationary_noise_is_pushed_down_while_a_voice_like_tone_survives() {
    let rate = 8000;
    let n = rate as usize * 6;
    let mut noise = Noise(3);
    let amplitude = 32768.0 * 10f64.powf(-45.0 / 20.0) * 3f64.sqrt();
    let hiss: Vec<i16> = (0..n).map(|_| (noise.next() * amplitude) as i16).collect();
    let tone = sine(rate, 1000.0, 32768.0 * 0.1 * 2f64.sqrt(), n);
    let period = rate as usize * 6 / 10;
    let voiced = |i: usize| i % period < period / 2;
    let mic: Vec<i16> = (0..n)
        .map(|i| hiss[i].saturating_add(if voiced(i) { tone[i] } else { 0 }))
        .collect();
    let config = ProcessingConfig {
        noise_suppression: true,
        ..ProcessingConfig::off()
    };
    let mut processor = MicProcessor::new(rate, config).unwrap();
    let out = run(&mut processor, &mic, &vec![0; n]);

    // From the fifth period (2.4 s) on, the middle of each gap and each burst (the suppressor delays
    // by one 10 ms block).
    let (mut noise_in, mut noise_out, mut tone_in, mut tone_out) = (vec![], vec![], vec![], vec![]);
    let margin = rate as usize / 20;
    for start in (4 * period..n - period).step_by(period) {
        let burst = start + margin..start + period / 2 - margin;
        let gap = start + period / 2 + margin..start + period - margin;
        tone_in.extend_from_slice(&mic[burst.clone()]);
        tone_out.extend_from_slice(&out[burst]);
        noise_in.extend_from_slice(&mic[gap.clone()]);
        noise_out.extend_from_slice(&out[gap]);
    }
    let reduction = rms_dbfs(&noise_in) - rms_dbfs(&noise_out);
    assert!(reduction >= 10.0, "noise down by {reduction:.1} dB");
    let before = tone_dbfs(&tone_in, rate, 1000.0);
    let after = tone_dbfs(&tone_out, rate, 1000.0);
    assert!((before - after).abs() < 1.0, "tone {before:.1} -> {after:.1} dBFS");
}

/// A microphone 22 dB too quiet: speech-like bursts at -42 dBFS against a -70 dBFS floor.
#[test]
fn a_quiet_microphone_is_brought_up_to_speech_level_without_clipping() {
    let rate = 16_000;
    let config = ProcessingConfig {
        automatic_gain: true,
        ..ProcessingConfig::off()
    };
    let speech = speech_like(rate, 8.0, 5);
    let scale = 10f64.powf((-42.0 - rms_dbfs(&speech)) / 20.0);
    let mut floor = Noise(9);
    let mic: Vec<i16> = speech
        .iter()
        .map(|&s| (f64::from(s) * scale + floor.next() * 18.0) as i16)
        .collect();
    let mut processor = MicProcessor::new(rate, config).unwrap();
    let out = run(&mut processor, &mic, &vec![0; mic.len()]);

    let late = seconds(rate, 5.0, 8.0);
    let level_in = rms_dbfs(&mic[late.clone()]);
    let level_out = rms_dbfs(&out[late]);
    assert!((level_in + 42.0).abs() < 1.0, "input at {level_in:.1} dBFS");
    // The target is for active speech; the syllable gaps pull the long-term RMS below it.
    assert!((-26.0..=-17.0).contains(&level_out), "output at {level_out:.1} dBFS");
    assert!(processor.stats().gain_db.unwrap() > 15.0, "{:?}", processor.stats());
    assert!(
        out.iter().all(|s| s.unsigned_abs() < 32_000),
        "no sample near full scale"
    );
}

#[test]
fn a_loud_microphone_is_neither_raised_nor_clipped() {
    let rate = 8000;
    let config = ProcessingConfig {
        automatic_gain: true,
        ..ProcessingConfig::off()
    };
    // Peaks at 0 dBFS: exactly what the limiter must hold back.
    let mic = sine(rate, 300.0, 32767.0, rate as usize * 3);
    let mut processor = MicProcessor::new(rate, config).unwrap();
    let out = run(&mut processor, &mic, &vec![0; mic.len()]);
    let peak = out.iter().map(|s| s.unsigned_abs()).max().unwrap();
    assert!(peak < 30_000, "peak {peak}");
    assert!(rms_dbfs(&out) <= rms_dbfs(&mic), "not raised");
    assert!(rms_dbfs(&out) > rms_dbfs(&mic) - 1.5, "only the limiter's trim");
}

#[test]
fn muting_sends_comfort_noise_and_unmuting_brings_the_voice_back() {
    let rate = 8000;
    let voice = sine(rate, 700.0, 6000.0, rate as usize * 3);
    let mut processor = MicProcessor::new(rate, ProcessingConfig::default()).unwrap();
    let silence = vec![0i16; voice.len()];
    let frame = rate as usize / 50;
    let mut out = vec![0i16; voice.len()];
    for (i, ((m, f), o)) in voice
        .chunks_exact(frame)
        .zip(silence.chunks_exact(frame))
        .zip(out.chunks_exact_mut(frame))
        .enumerate()
    {
        // Muted for the second second.
        processor.set_muted((50..100).contains(&i));
        processor.process(m, f, o).unwrap();
    }
    let muted = &out[seconds(rate, 1.1, 2.0)];
    let level = rms_dbfs(muted);
    assert!(
        (level - f64::from(COMFORT_NOISE_DBFS)).abs() < 1.5,
        "comfort noise at {level:.1} dBFS"
    );
    assert!(tone_dbfs(muted, rate, 700.0) < -80.0, "no voice while muted");
    let unmuted = tone_dbfs(&out[seconds(rate, 2.1, 3.0)], rate, 700.0);
    assert!(
        unmuted > tone_dbfs(&voice, rate, 700.0) - 3.0,
        "voice back at {unmuted:.1}"
    );
    assert_eq!(processor.stats().muted_frames, 50);
}

#[test]
fn the_echo_canceller_keeps_learning_while_muted() {
    let rate = 8000;
    let far = speech_like(rate, 7.0, 13);
    let echo = room_echo(&far, rate);
    let mut processor = MicProcessor::new(rate, echo_only()).unwrap();
    let frame = rate as usize / 50;
    let mut out = vec![0i16; far.len()];
    for (i, ((m, f), o)) in echo
        .chunks_exact(frame)
        .zip(far.chunks_exact(frame))
        .zip(out.chunks_exact_mut(frame))
        .enumerate()
    {
        // Muted for the first five seconds, then the echo must already be gone.
        processor.set_muted(i < 250);
        processor.process(m, f, o).unwrap();
    }
    let right_after = erle_db(&echo, &out, seconds(rate, 5.0, 6.0));
    assert!(
        right_after >= 22.0,
        "ERLE {right_after:.1} dB in the first second unmuted"
    );
}

#[test]
fn switching_a_stage_on_mid_call_keeps_what_the_others_learnt() {
    let rate = 8000;
    let far = speech_like(rate, 8.0, 17);
    let echo = room_echo(&far, rate);
    let mut processor = MicProcessor::new(rate, echo_only()).unwrap();
    let half = far.len() / 2;
    let first = run(&mut processor, &echo[..half], &far[..half]);
    let before = erle_db(&echo[..half], &first, seconds(rate, 3.0, 4.0));
    assert!(before >= 20.0, "ERLE {before:.1} dB before the switch");
    processor
        .reconfigure(ProcessingConfig {
            automatic_gain: true,
            ..echo_only()
        })
        .unwrap();
    let second = run(&mut processor, &echo[half..], &far[half..]);
    let right_after = erle_db(&echo[half..], &second, seconds(rate, 0.0, 1.0));
    assert!(right_after >= 18.0, "ERLE {right_after:.1} dB right after the switch");

    processor
        .reconfigure(ProcessingConfig {
            echo_tail: Duration::from_millis(120),
            ..echo_only()
        })
        .unwrap();
    let restarted = run(&mut processor, &echo[..rate as usize / 2], &far[..rate as usize / 2]);
    let fresh = erle_db(&echo, &restarted, seconds(rate, 0.0, 0.5));
    assert!(fresh < 15.0, "a new tail starts over ({fresh:.1} dB)");
}
