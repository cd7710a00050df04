//! The I/O side of Oktell Panel.
//!
//! The protocol cores (`oktell`, `sip`, `media`, `creatio`, `call`) are pure state machines; this crate is where
//! they meet files, the OS keyring, the clock and sockets. The desktop shell (`src-tauri/`) and the command-line
//! tools both stand on it, so everything here is usable without a window.

pub mod audio;
pub mod config;
pub mod creatio;
pub mod logging;
pub mod oktell_link;
pub mod panel;
pub mod paths;
pub mod phone;
pub mod secrets;
pub mod sip_link;
