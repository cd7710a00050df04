//! The tone oracle the peer tests rely on must itself tell tones apart, or a passing audio
//! test would prove nothing.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "a failure here is a failed test"
)]

mod sip_support;

use sip_support::audio::{read_wav, tone_share, write_tone};

#[test]
fn the_oracle_finds_the_tone_written_and_not_another() {
    let files = tempfile::tempdir().unwrap();
    let path = files.path().join("tone.wav");
    write_tone(&path, 440.0, 8000, 1, 0.5);
    let (samples, rate) = read_wav(&path);
    assert!(tone_share(&samples, rate, 440.0) > 0.9);
    assert!(tone_share(&samples, rate, 1000.0) < 0.01);
    assert!(tone_share(&samples, rate, 1300.0) < 0.01);
}

#[test]
fn silence_and_a_mix_of_two_tones_do_not_pass_for_one_tone() {
    let silence = vec![0i16; 8000];
    assert_eq!(tone_share(&silence, 8000, 440.0), 0.0);
    let mix: Vec<i16> = (0..8000)
        .map(|n| {
            let t = f64::from(n) / 8000.0;
            let value = (t * 440.0 * std::f64::consts::TAU).sin() + (t * 1000.0 * std::f64::consts::TAU).sin();
            (value * 4000.0) as i16
        })
        .collect();
    let share = tone_share(&mix, 8000, 440.0);
    assert!((0.3..0.7).contains(&share), "{share}");
}
