//! Live call quality: an estimated MOS from the ITU-T G.107 E-model.
//!
//! `R = R0 - Is - Id - Ie,eff + A`, with the G.107 default values for everything we cannot
//! measure (room noise, sidetone, loudness ratings), which give `R0 - Is = 93.2` and `A = 0`.
//!
//! - **Delay impairment `Id`.** We use the widely used simplification of G.107's `Idd` by
//!   Cole and Rosenbluth (2001): `Id = 0.024 Ta + 0.11 (Ta - 177.3) H(Ta - 177.3)` with `Ta`
//!   the one-way mouth-to-ear delay in ms and `H` the step function. It matches the full
//!   formula within about 1 R point below 400 ms, with echo assumed perfectly controlled.
//! - **Equipment impairment `Ie,eff = Ie + (95 - Ie) Ppl / (Ppl / BurstR + Bpl)`** (G.107
//!   7.2), with `Ppl` the packet loss in percent and `BurstR` the burst ratio (1 for random
//!   loss, above 1 for bursty loss).
//! - **Codec constants.** G.711 with Appendix I concealment: `Ie = 0`, `Bpl = 25.1`
//!   (G.113 Appendix I). Opus has no ITU-published values; we assume `Ie = 0`, `Bpl = 30`
//!   for 20 ms voice frames with in-band FEC at 24 kbit/s and above, an estimate to revisit
//!   when measured. The narrowband R scale is used throughout, so the estimates compare.
//! - **MOS** from R by G.107 Annex B: `1 + 0.035 R + 7e-6 R (R - 60) (100 - R)`, clamped to
//!   1.0 below R = 0 and 4.5 above R = 100.

use std::time::Duration;

/// `R0 - Is` with G.107 default parameters.
const R_BASE: f64 = 93.2;

/// Equipment impairment constants of a codec (G.113).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CodecImpairment {
    /// Equipment impairment factor without loss.
    pub ie: f64,
    /// Packet-loss robustness factor.
    pub bpl: f64,
}

impl CodecImpairment {
    /// G.711 with Appendix I packet-loss concealment (G.113 Appendix I).
    pub const G711_PLC: Self = Self { ie: 0.0, bpl: 25.1 };
    /// Opus voice with in-band FEC: our assumption, see the module docs.
    pub const OPUS_FEC: Self = Self { ie: 0.0, bpl: 30.0 };

    /// The constants for an SDP encoding name; unknown codecs are rated like plain G.711
    /// without concealment (`Bpl = 4.3`), the pessimistic choice.
    pub fn for_codec(name: &str) -> Self {
        if name.eq_ignore_ascii_case("PCMU") || name.eq_ignore_ascii_case("PCMA") {
            Self::G711_PLC
        } else if name.eq_ignore_ascii_case("opus") {
            Self::OPUS_FEC
        } else {
            Self { ie: 0.0, bpl: 4.3 }
        }
    }
}

/// What the E-model needs about the call.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct QualityInputs {
    /// The codec's constants.
    pub codec: CodecImpairment,
    /// Packet loss after the jitter buffer (network loss plus late discards), 0.0 to 1.0.
    pub loss_ratio: f64,
    /// Burst ratio (1.0 for random loss).
    pub burst_ratio: f64,
    /// One-way mouth-to-ear delay: half the RTT plus jitter buffer, frame and device delay.
    pub one_way_delay: Duration,
}

/// The E-model result.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct QualityEstimate {
    /// Transmission rating factor R (0 to about 93).
    pub r_factor: f64,
    /// Estimated mean opinion score, 1.0 to 4.5.
    pub mos: f64,
}

/// Evaluates the E-model.
pub fn estimate(inputs: &QualityInputs) -> QualityEstimate {
    let ta = inputs.one_way_delay.as_secs_f64() * 1000.0;
    let id = 0.024 * ta + if ta > 177.3 { 0.11 * (ta - 177.3) } else { 0.0 };
    let ppl = (inputs.loss_ratio * 100.0).clamp(0.0, 100.0);
    let burst = inputs.burst_ratio.max(1.0);
    let CodecImpairment { ie, bpl } = inputs.codec;
    let ie_eff = if ppl > 0.0 {
        ie + (95.0 - ie) * ppl / (ppl / burst + bpl)
    } else {
        ie
    };
    let r = R_BASE - id - ie_eff;
    QualityEstimate {
        r_factor: r,
        mos: mos_from_r(r),
    }
}

/// G.107 Annex B conversion from R to MOS.
pub fn mos_from_r(r: f64) -> f64 {
    if r <= 0.0 {
        1.0
    } else if r >= 100.0 {
        4.5
    } else {
        1.0 + 0.035 * r + 7e-6 * r * (r - 60.0) * (100.0 - r)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inputs(loss: f64, delay_ms: u64) -> QualityInputs {
        QualityInputs {
            codec: CodecImpairment::G711_PLC,
            loss_ratio: loss,
            burst_ratio: 1.0,
            one_way_delay: Duration::from_millis(delay_ms),
        }
    }

    #[test]
    fn a_clean_g711_call_rates_about_4_4() {
        let q = estimate(&inputs(0.0, 0));
        assert!((q.r_factor - 93.2).abs() < 1e-9);
        assert!((q.mos - 4.41).abs() < 0.01, "{q:?}");
    }

    #[test]
    fn loss_and_delay_lower_the_score() {
        let clean = estimate(&inputs(0.0, 100)).mos;
        let lossy = estimate(&inputs(0.05, 100));
        // Ie,eff = 95 * 5 / (5 + 25.1) = 15.78; Id = 2.4.
        assert!((lossy.r_factor - (93.2 - 2.4 - 15.78)).abs() < 0.01, "{lossy:?}");
        assert!(lossy.mos < clean);
        let late = estimate(&inputs(0.0, 300)).mos;
        assert!(late < clean);
        let bursty = estimate(&QualityInputs {
            burst_ratio: 3.0,
            ..inputs(0.05, 100)
        });
        assert!(bursty.mos < lossy.mos);
    }

    #[test]
    fn mos_is_clamped() {
        assert_eq!(mos_from_r(-5.0), 1.0);
        assert_eq!(mos_from_r(120.0), 4.5);
        assert!((mos_from_r(50.0) - 2.58).abs() < 0.01);
        assert_eq!(CodecImpairment::for_codec("pcma"), CodecImpairment::G711_PLC);
        assert_eq!(CodecImpairment::for_codec("G722").bpl, 4.3);
    }
}
