//! The SIP side of the simulated PBX: a registrar for the operators' phones and a B2BUA face
//! that rings a registered phone whenever the PBX model rings its operator, with real audio.
//!
//! * [`face::SipFace`] — sans-IO: datagrams, `now` and the PBX model in; datagrams, media
//!   commands and a deadline out. It lives inside [`crate::Sim`], which feeds it and runs
//!   [`face::SipFace::sync`] after every input so the SIP legs follow the model.
//! * [`registrar`] — REGISTER with MD5 digest against the world's SIP accounts
//!   ([`crate::world::User::sip_user_name`], [`crate::world::User::sip_secret`]).
//! * [`audio`] — the caller's sentence (espeak-ng, rendered at build time) and the hold melody.
//! * `driver` — the tokio side: the UDP socket, RTP sockets and one stream task per leg.
//!
//! Transport: UDP only, on the simulator's bind address (port in [`crate::SipOptions`]). The
//! Oktell `login` reply carries `sipuser`, `sippass`, `sipport` and `sipsecure: false` when
//! the client asks with `usewebrtc: true` (PROTOCOL.md §2.3); the host is the Oktell server's.

pub mod audio;
pub(crate) mod driver;
pub mod face;
pub mod registrar;

pub use audio::AudioSource;
pub use face::{LegId, MediaCommand, SipFace, SipOutput};
