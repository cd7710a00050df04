//! Errors, grouped by whose fault they are.
//!
//! Everything that arrives from the network is parsed into typed values; bytes we cannot
//! parse become [`Malformed`], never a panic. Codec failures are a separate enum because
//! they come from our own configuration or from the codec library, not from the wire.

use thiserror::Error;

/// Bytes from the peer that we could not parse.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum Malformed {
    /// The datagram ended before a field we needed.
    #[error("{what}: truncated, need {need} bytes, have {have}")]
    Truncated {
        /// Which structure was being read.
        what: &'static str,
        /// Bytes needed.
        need: usize,
        /// Bytes available.
        have: usize,
    },
    /// The version field was not 2.
    #[error("{what}: unsupported version {version}")]
    Version {
        /// Which structure was being read.
        what: &'static str,
        /// The version found.
        version: u8,
    },
    /// The padding count points outside the packet.
    #[error("RTP padding of {padding} bytes exceeds the {available} bytes after the header")]
    Padding {
        /// The padding count from the last byte.
        padding: usize,
        /// Bytes available after the header.
        available: usize,
    },
    /// A length field disagrees with the bytes present.
    #[error("{what}: bad length {length}")]
    Length {
        /// Which structure was being read.
        what: &'static str,
        /// The length found.
        length: usize,
    },
    /// A telephone-event payload had the wrong size.
    #[error("telephone-event payload of {0} bytes, expected 4")]
    TelephoneEvent(usize),
}

/// A codec could not be created or failed on a frame.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum CodecError {
    /// Our own settings are wrong (frame size, rate): a bug or bad configuration.
    #[error("codec configuration: {0}")]
    Config(String),
    /// The codec library rejected a payload or failed internally.
    #[error("codec {codec}: {message}")]
    Library {
        /// Codec name.
        codec: &'static str,
        /// The library's description.
        message: String,
    },
}
