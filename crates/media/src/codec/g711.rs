//! G.711 PCMU (mu-law) and PCMA (A-law), bit-exact with ITU-T G.711, plus concealment.
//!
//! The converters are the classic segment-search formulation (as in the ITU G.191 software
//! tools): mu-law works on the 14 most significant bits with a bias of 33, A-law on the 13
//! most significant bits with the even bits inverted (XOR 0x55). No tables, so nothing to
//! get out of sync; a test checks every one of the 256 codes round-trips.

use super::plc::Plc;
use super::{Codec, FRAME_MS};
use crate::error::CodecError;

const SAMPLE_RATE: u32 = 8000;

/// Upper bounds of the eight mu-law segments, in 14-bit biased magnitude.
const ULAW_SEGMENT_END: [i32; 8] = [0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF, 0x1FFF];
/// Upper bounds of the eight A-law segments, in 13-bit magnitude.
const ALAW_SEGMENT_END: [i32; 8] = [0x1F, 0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF];
/// mu-law bias (33 in 14-bit units, 0x84 in 16-bit units).
const ULAW_BIAS: i32 = 0x84;
/// Largest 14-bit magnitude before the bias pushes it out of the last segment.
const ULAW_CLIP: i32 = 8159;

fn segment(value: i32, ends: &[i32; 8]) -> usize {
    ends.iter().position(|&end| value <= end).unwrap_or(8)
}

/// Encodes one linear sample to mu-law.
pub fn linear_to_ulaw(sample: i16) -> u8 {
    let mut v = i32::from(sample) >> 2;
    // Negative values use the ones' complement magnitude, as in G.191's `ulaw_compress`.
    let mask = if v < 0 {
        v = !v;
        0x7F
    } else {
        0xFF
    };
    let v = v.min(ULAW_CLIP) + (ULAW_BIAS >> 2);
    let seg = segment(v, &ULAW_SEGMENT_END);
    if seg >= 8 {
        return (0x7F ^ mask) as u8;
    }
    let code = ((seg as i32) << 4) | ((v >> (seg + 1)) & 0x0F);
    (code ^ mask) as u8
}

/// Decodes one mu-law code to linear.
pub fn ulaw_to_linear(code: u8) -> i16 {
    let u = !code;
    let mut t = (i32::from(u & 0x0F) << 3) + ULAW_BIAS;
    t <<= (u & 0x70) >> 4;
    (if u & 0x80 != 0 { ULAW_BIAS - t } else { t - ULAW_BIAS }) as i16
}

/// Encodes one linear sample to A-law.
pub fn linear_to_alaw(sample: i16) -> u8 {
    let mut v = i32::from(sample) >> 3;
    let mask = if v >= 0 {
        0xD5
    } else {
        v = -v - 1;
        0x55
    };
    let seg = segment(v, &ALAW_SEGMENT_END);
    if seg >= 8 {
        return (0x7F ^ mask) as u8;
    }
    let mut code = (seg as i32) << 4;
    code |= if seg < 2 { (v >> 1) & 0x0F } else { (v >> seg) & 0x0F };
    (code ^ mask) as u8
}

/// Decodes one A-law code to linear.
pub fn alaw_to_linear(code: u8) -> i16 {
    let a = code ^ 0x55;
    let mut t = i32::from(a & 0x0F) << 4;
    let seg = (a & 0x70) >> 4;
    match seg {
        0 => t += 8,
        1 => t += 0x108,
        _ => {
            t += 0x108;
            t <<= seg - 1;
        }
    }
    (if a & 0x80 != 0 { t } else { -t }) as i16
}

/// Which G.711 companding law.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Law {
    /// mu-law, RTP payload type 0 (North America, Japan).
    Ulaw,
    /// A-law, RTP payload type 8 (Europe, Russia: the usual choice with Oktell).
    Alaw,
}

impl Law {
    /// The static RTP payload type (RFC 3551).
    pub fn payload_type(self) -> u8 {
        match self {
            Law::Ulaw => 0,
            Law::Alaw => 8,
        }
    }

    fn encode(self, sample: i16) -> u8 {
        match self {
            Law::Ulaw => linear_to_ulaw(sample),
            Law::Alaw => linear_to_alaw(sample),
        }
    }

    fn decode(self, code: u8) -> i16 {
        match self {
            Law::Ulaw => ulaw_to_linear(code),
            Law::Alaw => alaw_to_linear(code),
        }
    }
}

/// Mean absolute level below which a frame counts as quiet: about -50 dBov.
const QUIET_MEAN_ABS: u32 = 80;

/// A G.711 codec with G.711 Appendix I style concealment.
#[derive(Debug)]
pub struct G711 {
    law: Law,
    plc: Plc,
    scratch: Vec<i16>,
}

impl G711 {
    /// A codec for `law` at 8 kHz.
    pub fn new(law: Law) -> Self {
        let frame = (SAMPLE_RATE * FRAME_MS / 1000) as usize;
        Self {
            law,
            plc: Plc::new(SAMPLE_RATE),
            scratch: Vec::with_capacity(frame),
        }
    }
}

impl Codec for G711 {
    fn name(&self) -> &'static str {
        match self.law {
            Law::Ulaw => "PCMU",
            Law::Alaw => "PCMA",
        }
    }

    fn sample_rate(&self) -> u32 {
        SAMPLE_RATE
    }

    fn rtp_clock_rate(&self) -> u32 {
        SAMPLE_RATE
    }

    fn encode(&mut self, pcm: &[i16], payload: &mut Vec<u8>) -> Result<(), CodecError> {
        if pcm.len() != self.frame_samples() {
            return Err(CodecError::Config(format!(
                "{}: frame of {} samples, expected {}",
                self.name(),
                pcm.len(),
                self.frame_samples()
            )));
        }
        payload.clear();
        payload.extend(pcm.iter().map(|&s| self.law.encode(s)));
        Ok(())
    }

    fn decode(&mut self, payload: &[u8], pcm: &mut Vec<i16>) -> Result<(), CodecError> {
        self.scratch.clear();
        self.scratch.extend(payload.iter().map(|&c| self.law.decode(c)));
        self.plc.good_frame(&mut self.scratch);
        pcm.extend_from_slice(&self.scratch);
        Ok(())
    }

    fn conceal(&mut self, pcm: &mut Vec<i16>) {
        let start = pcm.len();
        pcm.resize(start + self.frame_samples(), 0);
        if let Some(frame) = pcm.get_mut(start..) {
            self.plc.conceal(frame);
        }
    }

    fn is_quiet(&self, payload: &[u8]) -> bool {
        if payload.is_empty() {
            return true;
        }
        let sum: u32 = payload
            .iter()
            .map(|&c| u32::from(self.law.decode(c).unsigned_abs()))
            .sum();
        sum / payload.len() as u32 <= QUIET_MEAN_ABS
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_mu_law_values() {
        assert_eq!(linear_to_ulaw(0), 0xFF);
        assert_eq!(linear_to_ulaw(-1), 0x7F);
        assert_eq!(linear_to_ulaw(i16::MAX), 0x80);
        assert_eq!(linear_to_ulaw(i16::MIN), 0x00);
        assert_eq!(ulaw_to_linear(0xFF), 0);
        assert_eq!(ulaw_to_linear(0x80), 32124);
        assert_eq!(ulaw_to_linear(0x00), -32124);
        assert_eq!(ulaw_to_linear(0xF0), 120);
        assert_eq!(linear_to_ulaw(1000), 0xCE);
        assert_eq!(ulaw_to_linear(0xCE), 988);
    }

    #[test]
    fn known_a_law_values() {
        assert_eq!(linear_to_alaw(0), 0xD5);
        assert_eq!(linear_to_alaw(-1), 0x55);
        assert_eq!(linear_to_alaw(i16::MAX), 0xAA);
        assert_eq!(linear_to_alaw(i16::MIN), 0x2A);
        assert_eq!(alaw_to_linear(0xD5), 8);
        assert_eq!(alaw_to_linear(0x55), -8);
        assert_eq!(alaw_to_linear(0xAA), 32256);
        assert_eq!(alaw_to_linear(0x2A), -32256);
        assert_eq!(linear_to_alaw(1000), 0xFA);
        assert_eq!(alaw_to_linear(0xFA), 1008);
    }

    #[test]
    fn every_code_round_trips() {
        for code in 0..=255u8 {
            assert_eq!(linear_to_alaw(alaw_to_linear(code)), code, "A-law {code:#04x}");
            // mu-law has two zeros; negative zero (0x7F) decodes to 0 and re-encodes as 0xFF.
            let expect = if code == 0x7F { 0xFF } else { code };
            assert_eq!(linear_to_ulaw(ulaw_to_linear(code)), expect, "mu-law {code:#04x}");
        }
    }

    #[test]
    fn companding_is_monotonic_and_error_is_bounded() {
        let mut prev_u = i16::MIN;
        let mut prev_a = i16::MIN;
        for s in (i16::MIN..=i16::MAX).step_by(7) {
            let u = ulaw_to_linear(linear_to_ulaw(s));
            let a = alaw_to_linear(linear_to_alaw(s));
            assert!(u >= prev_u && a >= prev_a, "not monotonic at {s}");
            prev_u = u;
            prev_a = a;
            let err_u = (i32::from(u) - i32::from(s)).abs();
            let err_a = (i32::from(a) - i32::from(s)).abs();
            let bound = (i32::from(s).abs() / 16).max(16) + 1;
            assert!(
                err_u <= bound.max(1100) && err_a <= bound.max(1100),
                "{s}: {err_u} {err_a}"
            );
            if i32::from(s).abs() < 30000 {
                assert!(err_u <= bound && err_a <= bound, "{s}: {err_u} {err_a} > {bound}");
            }
        }
    }

    #[test]
    fn codec_frames_are_160_bytes_and_decode_back() {
        for law in [Law::Ulaw, Law::Alaw] {
            let mut codec = G711::new(law);
            let pcm: Vec<i16> = (0..160).map(|i| ((i as f32 * 0.3).sin() * 8000.0) as i16).collect();
            let mut payload = Vec::new();
            codec.encode(&pcm, &mut payload).unwrap();
            assert_eq!(payload.len(), 160);
            let mut out = Vec::new();
            codec.decode(&payload, &mut out).unwrap();
            assert_eq!(out.len(), 160);
            for (a, b) in pcm.iter().zip(&out) {
                assert!((i32::from(*a) - i32::from(*b)).abs() < 300);
            }
            assert!(codec.encode(&pcm[..100], &mut payload).is_err());
            assert!(!codec.is_quiet(&payload));
            codec.encode(&[3; 160], &mut payload).unwrap();
            assert!(codec.is_quiet(&payload));
        }
    }
}
