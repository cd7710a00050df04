//! The audio device layer: sound cards in, sound cards out, and the pump that joins them to a call.
//!
//! ```text
//!  microphone ─► capture callback ─► SPSC ring ─┐                       ┌─► MediaStream::send_frame
//!               (mono i16, device rate,         │  call_audio::CallAudio│      (codec rate, 20 ms)
//!                no lock, no alloc, no log)     └─► resample ───────────┘
//!
//!  MediaStream::play_frame ─► resample (+ drift trim) ─► SPSC ring ─► playback callback ─► headset
//!       pulled only when the playback ring has room: the sound card's clock sets the pace
//!
//!  tones::TonePlayer ─► SPSC ring ─► ringer device (speakers), independent of the call path
//! ```
//!
//! - [`backend`]: the [`backend::AudioBackend`] trait with the real one (cpal) and a WAV-file one
//!   that tests drive without real time;
//! - [`devices`]: which device plays which role, the fallback to the default, and the events that
//!   tell the operator ("Headset disconnected; using Speakers");
//! - [`tones`]: ring-back and ringtone generators (425 Hz cadences, a soft chime, or a bundled file);
//! - [`meter`]: RMS and peak in dBFS, published latest-wins for the settings page;
//! - [`call_audio`]: the per-call pump between the rings and the media engine.
//!
//! Threads: only the device callbacks are real-time, and they touch nothing but the rings and
//! a few atomics. Everything else runs where its owner runs. Opening a device, listing devices
//! and reopening one after a failure talk to the sound server and can block for a while (up to
//! cpal's 5 s open timeout), so an async owner calls `open`, `follow_devices` and `pump` from a
//! blocking-friendly context (`spawn_blocking` or a dedicated media thread), not from a tokio
//! worker that also serves sockets. In steady state `pump` does not block: it only moves
//! samples between the rings and the media stream.

pub mod backend;
pub mod call_audio;
pub mod devices;
pub mod error;
pub mod meter;
pub mod tones;

pub use backend::{AudioBackend, Capture, DeviceInfo, Direction, Playback};
pub use error::AudioError;

/// One frame of audio: the media engine, the rings and the pump all think in 20 ms.
pub const FRAME: std::time::Duration = std::time::Duration::from_millis(20);

/// Samples in one [`FRAME`] at `rate` Hz.
pub fn frame_samples(rate: u32) -> usize {
    (rate / 50) as usize
}
