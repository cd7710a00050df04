//! Audio errors, grouped by whose fault they are.

use std::path::PathBuf;

use super::Direction;
use super::devices::Role;

/// Why an audio device or file could not be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AudioError {
    /// The sound system itself is not there (no PulseAudio/PipeWire server, no ALSA card).
    #[error("the audio system is unavailable: {0}")]
    Unavailable(String),
    /// The named device is not connected.
    #[error("{direction} device {name:?} is not connected")]
    DeviceMissing {
        /// Capture or playback.
        direction: Direction,
        /// The name asked for.
        name: String,
    },
    /// There is no default device for this direction.
    #[error("there is no default {direction} device")]
    NoDefault {
        /// Capture or playback.
        direction: Direction,
    },
    /// The device exists but offers no format we can use.
    #[error("{direction} device {device:?} has no usable format: {message}")]
    Unsupported {
        /// Capture or playback.
        direction: Direction,
        /// The device.
        device: String,
        /// What the backend said.
        message: String,
    },
    /// The device refused to open or start a stream.
    #[error("{direction} device {device:?} failed: {message}")]
    Device {
        /// Capture or playback.
        direction: Direction,
        /// The device.
        device: String,
        /// What the backend said.
        message: String,
    },
    /// A WAV file (a test device or a bundled ringtone) could not be read or written.
    #[error("audio file {path}: {message}")]
    File {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
    /// Our own bug: a role was opened in the wrong direction (a microphone as an output).
    #[error("the {role} cannot be opened for {direction}")]
    RoleMismatch {
        /// The role.
        role: Role,
        /// The direction asked for.
        direction: Direction,
    },
    /// The sample-rate converter rejected its settings.
    #[error("resampler: {0}")]
    Resample(#[from] media::CodecError),
}
