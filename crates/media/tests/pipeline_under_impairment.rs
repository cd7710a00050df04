//! A tone sent through the whole pipeline (encoder, RTP, emulated network, jitter buffer,
//! decoder with FEC/PLC) is still heard at the other end, with a frame on every tick and a
//! bounded delay, for each codec and under loss, bursts, jitter, reordering, duplication
//! and sender clock drift.

mod support;

use std::time::Duration;

use media::stream::{CodecChoice, FrameKind, StreamConfig};
use support::harness::{Pair, TONE_HZ};
use support::netem::{GilbertElliott, NetemConfig};
use support::tone::{rms, tone_share};

fn codecs() -> Vec<(CodecChoice, u8)> {
    vec![
        (CodecChoice::Pcmu, 0),
        (CodecChoice::Pcma, 8),
        #[cfg(feature = "opus")]
        (CodecChoice::Opus(media::codec::opus::OpusConfig::default()), 111),
        #[cfg(feature = "opus")]
        (
            CodecChoice::Opus(media::codec::opus::OpusConfig {
                sample_rate: 16000,
                ..Default::default()
            }),
            111,
        ),
    ]
}

fn clean() -> NetemConfig {
    NetemConfig {
        delay: Duration::from_millis(30),
        ..NetemConfig::default()
    }
}

fn rough() -> NetemConfig {
    NetemConfig {
        delay: Duration::from_millis(40),
        jitter: Duration::from_millis(50),
        loss: 0.03,
        burst: Some(GilbertElliott {
            p: 0.005,
            r: 0.4,
            loss_good: 0.0,
            loss_bad: 0.7,
        }),
        duplicate: 0.01,
        reorder: 0.02,
        reorder_delay: Duration::from_millis(30),
    }
}

/// Share of played frames (after `skip`) that carry the tone clearly.
fn tone_frames(pair: &Pair, skip: usize) -> f64 {
    let rate = pair.b.sample_rate();
    let frames = &pair.b_output[skip..];
    let heard = frames
        .iter()
        .filter(|(_, pcm)| rms(pcm) > 1500.0 && tone_share(pcm, TONE_HZ, rate) > 0.6)
        .count();
    heard as f64 / frames.len() as f64
}

#[test]
fn a_tone_crosses_a_clean_link_for_every_codec() {
    for (codec, pt) in codecs() {
        let mut pair = Pair::new(
            StreamConfig::new(codec, pt, 1),
            StreamConfig::new(codec, pt, 2),
            clean(),
            clean(),
            7,
        );
        pair.run(Duration::from_secs(5));
        assert_eq!(pair.b_output.len() as u64, pair.ticks());
        let share = tone_frames(&pair, 25);
        assert!(share > 0.99, "{codec:?}: tone in {share:.3} of frames");
        let stats = pair.b.stats();
        assert_eq!(stats.frames.concealed, 0, "{codec:?}: {stats:?}");
        assert!(
            pair.b_max_delay <= Duration::from_millis(60),
            "{codec:?}: {:?}",
            pair.b_max_delay
        );
        assert!(stats.quality.mos > 4.2, "{codec:?}: {:?}", stats.quality);
        assert!(
            pair.b_output[..4]
                .iter()
                .all(|(k, _)| *k == FrameKind::Prefetching || *k == FrameKind::Empty)
        );
    }
}

#[test]
fn a_rough_link_with_drift_keeps_playout_continuous_and_the_tone_audible() {
    for (codec, pt) in codecs() {
        let mut pair = Pair::new(
            StreamConfig::new(codec, pt, 3),
            StreamConfig::new(codec, pt, 4),
            rough(),
            rough(),
            11,
        );
        // A's sound card runs 300 ppm fast.
        pair.a_period = Duration::from_nanos(19_994_000);
        pair.run(Duration::from_secs(40));
        assert_eq!(pair.b_output.len() as u64, pair.ticks(), "a frame on every tick");
        let stats = pair.b.stats();
        let jb = stats.jitter_buffer;
        assert!(
            pair.b_max_delay <= Duration::from_millis(340),
            "{codec:?}: {:?} {jb:?}",
            pair.b_max_delay
        );
        assert!(
            jb.target_delay >= Duration::from_millis(60),
            "{codec:?}: jitter should raise the target: {jb:?}"
        );
        let share = tone_frames(&pair, 50);
        assert!(share > 0.9, "{codec:?}: tone in {share:.3} of frames; {stats:?}");
        assert!(
            stats.loss_ratio > 0.02 && stats.loss_ratio < 0.12,
            "{codec:?}: {stats:?}"
        );
        assert!(jb.duplicates > 0, "{codec:?}: {jb:?}");
        let drift = jb.drift_ppm.unwrap();
        assert!((drift - 300.0).abs() < 150.0, "{codec:?}: drift {drift}");
        match codec {
            #[cfg(feature = "opus")]
            CodecChoice::Opus(_) => assert!(stats.frames.fec_recovered > 10, "{codec:?}: {:?}", stats.frames),
            _ => assert!(stats.frames.concealed > 10, "{codec:?}: {:?}", stats.frames),
        }
        assert!(
            stats.quality.mos < pair_clean_mos(codec, pt),
            "{codec:?}: loss must lower the MOS"
        );
    }
}

fn pair_clean_mos(codec: CodecChoice, pt: u8) -> f64 {
    let mut pair = Pair::new(
        StreamConfig::new(codec, pt, 5),
        StreamConfig::new(codec, pt, 6),
        clean(),
        clean(),
        13,
    );
    pair.run(Duration::from_secs(3));
    pair.b.stats().quality.mos
}

#[test]
fn a_long_outage_goes_silent_then_recovers() {
    let codec = CodecChoice::Pcma;
    let mut pair = Pair::new(
        StreamConfig::new(codec, 8, 8),
        StreamConfig::new(codec, 8, 9),
        clean(),
        clean(),
        17,
    );
    pair.run(Duration::from_secs(3));
    pair.a_to_b = support::netem::Netem::new(NetemConfig { loss: 1.0, ..clean() }, 1);
    pair.run(Duration::from_secs(1));
    let outage = &pair.b_output[pair.b_output.len() - 40..];
    assert!(outage.iter().filter(|(k, _)| *k == FrameKind::Empty).count() >= 30);
    assert!(
        outage.last().is_some_and(|(_, pcm)| rms(pcm) < 1.0),
        "concealment fades to silence"
    );
    pair.a_to_b = support::netem::Netem::new(clean(), 2);
    let before = pair.b_output.len();
    pair.run(Duration::from_secs(2));
    let after = &pair.b_output[before + 25..];
    assert!(after.iter().all(|(k, _)| *k == FrameKind::Normal), "playout resumes");
    assert!(pair.b.stats().jitter_buffer.underruns >= 1);
}
