//! Opus (RFC 6716, RTP mapping RFC 7587) through the system libopus.
//!
//! Mono, 20 ms frames, VoIP application. The RTP clock is always 48 kHz (RFC 7587 4.1); the
//! PCM rate is configurable for devices that run at 16 kHz. In-band FEC is switched on and
//! the encoder is told the expected loss, so each packet carries a low-bitrate copy of the
//! previous frame; on a loss the decoder rebuilds the frame from the next packet when the
//! jitter buffer already holds it, and falls back to libopus's own concealment otherwise.

use opus::{Application, Bitrate, Channels, Decoder, Encoder};

use super::{Codec, FRAME_MS};
use crate::error::CodecError;

/// The largest Opus packet we produce: ample for 20 ms of mono voice at any bitrate.
const MAX_PACKET: usize = 1275;

/// Opus settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OpusConfig {
    /// PCM rate: 8000, 12000, 16000, 24000 or 48000.
    pub sample_rate: u32,
    /// Target bitrate in bit/s.
    pub bitrate: i32,
    /// Expected packet loss in percent, which sizes the in-band FEC.
    pub expected_loss_percent: u8,
}

impl Default for OpusConfig {
    fn default() -> Self {
        Self {
            sample_rate: 48000,
            bitrate: 24_000,
            expected_loss_percent: 10,
        }
    }
}

/// An Opus encoder and decoder pair.
pub struct Opus {
    config: OpusConfig,
    encoder: Encoder,
    decoder: Decoder,
    scratch: Vec<i16>,
}

impl std::fmt::Debug for Opus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Opus")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

fn library(e: opus::Error) -> CodecError {
    CodecError::Library {
        codec: "opus",
        message: e.to_string(),
    }
}

impl Opus {
    /// Creates the encoder and decoder with FEC on.
    pub fn new(config: OpusConfig) -> Result<Self, CodecError> {
        if ![8000, 12000, 16000, 24000, 48000].contains(&config.sample_rate) {
            return Err(CodecError::Config(format!(
                "opus: unsupported sample rate {}",
                config.sample_rate
            )));
        }
        let mut encoder = Encoder::new(config.sample_rate, Channels::Mono, Application::Voip).map_err(library)?;
        encoder.set_bitrate(Bitrate::Bits(config.bitrate)).map_err(library)?;
        encoder.set_inband_fec(true).map_err(library)?;
        encoder
            .set_packet_loss_perc(i32::from(config.expected_loss_percent.min(100)))
            .map_err(library)?;
        let decoder = Decoder::new(config.sample_rate, Channels::Mono).map_err(library)?;
        let frame = (config.sample_rate * FRAME_MS / 1000) as usize;
        Ok(Self {
            config,
            encoder,
            decoder,
            scratch: vec![0; frame],
        })
    }
}

impl Codec for Opus {
    fn name(&self) -> &'static str {
        "opus"
    }

    fn sample_rate(&self) -> u32 {
        self.config.sample_rate
    }

    fn rtp_clock_rate(&self) -> u32 {
        48000
    }

    fn encode(&mut self, pcm: &[i16], payload: &mut Vec<u8>) -> Result<(), CodecError> {
        if pcm.len() != self.frame_samples() {
            return Err(CodecError::Config(format!(
                "opus: frame of {} samples, expected {}",
                pcm.len(),
                self.frame_samples()
            )));
        }
        payload.resize(MAX_PACKET, 0);
        let n = self.encoder.encode(pcm, payload).map_err(library)?;
        payload.truncate(n);
        Ok(())
    }

    fn decode(&mut self, payload: &[u8], pcm: &mut Vec<i16>) -> Result<(), CodecError> {
        // A peer may send longer packets than ours; size the buffer from the packet itself.
        let samples = opus::packet::get_nb_samples(payload, self.config.sample_rate).map_err(library)?;
        self.scratch.resize(samples.max(self.frame_samples()), 0);
        let n = self
            .decoder
            .decode(payload, &mut self.scratch, false)
            .map_err(library)?;
        pcm.extend_from_slice(self.scratch.get(..n).unwrap_or_default());
        Ok(())
    }

    fn conceal(&mut self, pcm: &mut Vec<i16>) {
        let frame = self.frame_samples();
        self.scratch.resize(frame, 0);
        let n = self.decoder.decode(&[], &mut self.scratch[..frame], false).unwrap_or(0);
        if n == frame {
            pcm.extend_from_slice(self.scratch.get(..n).unwrap_or_default());
        } else {
            pcm.resize(pcm.len() + frame, 0);
        }
    }

    fn recover_from_next(&mut self, next_payload: &[u8], pcm: &mut Vec<i16>) -> bool {
        let frame = self.frame_samples();
        self.scratch.resize(frame, 0);
        match self.decoder.decode(next_payload, &mut self.scratch[..frame], true) {
            Ok(n) if n == frame => {
                pcm.extend_from_slice(self.scratch.get(..n).unwrap_or_default());
                true
            }
            _ => false,
        }
    }

    fn set_expected_loss(&mut self, percent: u8) {
        // Never below the configured floor: reports lag, and a burst is what FEC is for.
        let percent = percent.max(self.config.expected_loss_percent).min(100);
        if let Err(e) = self.encoder.set_packet_loss_perc(i32::from(percent)) {
            tracing::warn!(error = %e, "opus: could not update expected loss");
        }
    }

    fn is_quiet(&self, payload: &[u8]) -> bool {
        // DTX and comfort-noise frames are one to a few bytes; speech never is.
        payload.len() <= 3
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tone(n: usize, start: usize, rate: u32) -> Vec<i16> {
        (start..start + n)
            .map(|i| (8000.0 * (2.0 * std::f32::consts::PI * 440.0 * i as f32 / rate as f32).sin()) as i16)
            .collect()
    }

    fn energy(x: &[i16]) -> f64 {
        x.iter().map(|&s| f64::from(s).powi(2)).sum::<f64>() / x.len().max(1) as f64
    }

    #[test]
    fn encodes_and_decodes_20ms_frames() {
        let mut codec = Opus::new(OpusConfig::default()).unwrap();
        assert_eq!(codec.frame_samples(), 960);
        assert_eq!(codec.frame_timestamp_units(), 960);
        let mut payload = Vec::new();
        let mut out = Vec::new();
        for k in 0..10 {
            codec.encode(&tone(960, k * 960, 48000), &mut payload).unwrap();
            assert!(payload.len() > 3 && payload.len() < 400, "{}", payload.len());
            out.clear();
            codec.decode(&payload, &mut out).unwrap();
            assert_eq!(out.len(), 960);
        }
        let e = energy(&out);
        assert!(e > 0.3 * energy(&tone(960, 0, 48000)), "decoded energy {e}");
    }

    #[test]
    fn a_lost_frame_is_rebuilt_from_the_next_packets_fec() {
        let mut codec = Opus::new(OpusConfig {
            sample_rate: 16000,
            ..OpusConfig::default()
        })
        .unwrap();
        let mut packets = Vec::new();
        for k in 0..12 {
            let mut p = Vec::new();
            codec.encode(&tone(320, k * 320, 16000), &mut p).unwrap();
            packets.push(p);
        }
        let mut out = Vec::new();
        for p in &packets[..10] {
            codec.decode(p, &mut out).unwrap();
        }
        out.clear();
        assert!(codec.recover_from_next(&packets[11], &mut out));
        assert_eq!(out.len(), 320);
        assert!(energy(&out) > 0.1 * energy(&tone(320, 0, 16000)));
        out.clear();
        codec.conceal(&mut out);
        assert_eq!(out.len(), 320);
    }

    #[test]
    fn garbage_payload_is_an_error_not_a_panic() {
        let mut codec = Opus::new(OpusConfig::default()).unwrap();
        let mut out = Vec::new();
        for junk in [&[0xffu8, 0xff, 0xff][..], &[], &[0x03]] {
            let _ = codec.decode(junk, &mut out);
        }
        assert!(
            Opus::new(OpusConfig {
                sample_rate: 44100,
                ..OpusConfig::default()
            })
            .is_err()
        );
    }
}
