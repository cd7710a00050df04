//! Audio codecs behind one trait.
//!
//! A codec turns one 20 ms frame of mono 16-bit PCM at its own sample rate into an RTP
//! payload and back, and knows how to fill a frame that never arrived: from in-band FEC
//! carried by the next packet when the codec has it (Opus), else by concealment (PLC).

pub mod g711;
#[cfg(feature = "opus")]
pub mod opus;
pub mod plc;

use crate::error::CodecError;

/// Packetisation time used for every codec: 20 ms, the universal VoIP default.
pub const FRAME_MS: u32 = 20;

/// One audio codec instance (encoder and decoder state for one call direction pair).
pub trait Codec: std::fmt::Debug + Send {
    /// Encoding name as in SDP `rtpmap` (`PCMU`, `PCMA`, `opus`).
    fn name(&self) -> &'static str;

    /// Sample rate of the PCM this codec consumes and produces.
    fn sample_rate(&self) -> u32;

    /// RTP timestamp clock rate (48000 for Opus whatever the audio bandwidth).
    fn rtp_clock_rate(&self) -> u32;

    /// PCM samples in one frame.
    fn frame_samples(&self) -> usize {
        (self.sample_rate() * FRAME_MS / 1000) as usize
    }

    /// RTP timestamp units in one frame.
    fn frame_timestamp_units(&self) -> u32 {
        self.rtp_clock_rate() * FRAME_MS / 1000
    }

    /// Encodes exactly one frame of PCM, replacing the contents of `payload`.
    fn encode(&mut self, pcm: &[i16], payload: &mut Vec<u8>) -> Result<(), CodecError>;

    /// Decodes one payload, appending the samples to `pcm`.
    fn decode(&mut self, payload: &[u8], pcm: &mut Vec<i16>) -> Result<(), CodecError>;

    /// Appends one frame of concealment for a frame that is missing.
    fn conceal(&mut self, pcm: &mut Vec<i16>);

    /// Rebuilds the missing frame from redundancy in the packet that follows it, appending
    /// one frame to `pcm`. Returns `false` (and appends nothing) when the codec or the
    /// packet carries no such redundancy.
    fn recover_from_next(&mut self, _next_payload: &[u8], _pcm: &mut Vec<i16>) -> bool {
        false
    }

    /// Tells the encoder how much of our audio the peer reports losing (from RTCP), so
    /// codecs with in-band FEC can size the redundancy to the network. No-op by default.
    fn set_expected_loss(&mut self, _percent: u8) {}

    /// A cheap guess that this payload carries silence or background noise only, so the
    /// jitter buffer may drop it to shorten the delay without an audible cut.
    fn is_quiet(&self, _payload: &[u8]) -> bool {
        false
    }
}
