//! Errors of the simulator, grouped by whose fault they are.

use std::net::SocketAddr;
use std::path::PathBuf;

/// Everything that can stop the simulator from starting or loading a world.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SimError {
    /// The world file could not be read.
    #[error("cannot read world file {path}: {source}")]
    WorldFileUnreadable {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The world file is not valid TOML for a [`crate::World`].
    #[error("world file {path} is malformed: {message}")]
    WorldFileMalformed { path: PathBuf, message: String },
    /// The world parses but is inconsistent (duplicate login, unknown department, ...).
    #[error("world is inconsistent: {0}")]
    Config(String),
    /// A listening socket could not be opened.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
}
