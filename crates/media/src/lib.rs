//! Sans-IO audio over RTP for the Oktell Panel softphone.
//!
//! Everything here is plain data driven by the caller: datagrams and PCM frames go in with
//! the [`std::time::Instant`] they arrived at, datagrams and PCM frames come out. Nothing in
//! this crate reads a clock, sleeps, opens a socket or touches an audio device; randomness
//! (SSRC, initial sequence and timestamp) comes from a seed the caller injects.
//!
//! Layers, bottom up:
//! - wire formats: [`rtp`], [`rtcp`], and [`demux`] which sorts datagrams at the edge;
//! - [`codec`]: G.711 (with Appendix I style concealment) and Opus behind one trait;
//! - [`jitter`]: the adaptive jitter buffer, put on arrival and get on the playout tick;
//! - [`dtmf`]: RFC 4733 telephone events;
//! - [`stats`] and [`quality`]: RFC 3550 receiver statistics and an E-model MOS;
//! - [`resample`]: device rate to codec rate and back, with the clock-drift trim;
//! - [`stream`]: one call's send and receive pipelines built from the above.

pub mod codec;
pub mod demux;
pub mod dtmf;
pub mod error;
pub mod jitter;
pub mod processing;
pub mod quality;
pub mod resample;
pub mod rtcp;
pub mod rtp;
pub mod stats;
pub mod stream;

pub use error::{CodecError, Malformed};
