//! Sans-IO SIP user-agent core (RFC 3261 and friends).
//!
//! Nothing here reads a clock, touches a socket or draws from an ambient RNG: time arrives as
//! `now: Instant`, bytes arrive as datagrams, randomness comes from an injected seed, and every
//! machine tells its caller what to send and when it next needs to be woken.
//!
//! Layers, bottom up (libre's cut):
//!
//! - [`msg`]: parsing with limits, compact forms, typed headers, printing, the 400 of §8.2.
//! - [`digest`]: RFC 2617/7616/8760 digest authentication.
//! - [`transaction`]: the RFC 3261 §17 machines and their timers, folded into one deadline.
//! - [`dialog`]: dialog identity, CSeq spaces, route set, in-dialog requests.
//! - [`register`]: one account's binding, refreshed and retried.
//! - [`sdp`]: offer/answer for one audio stream.
//! - [`invite`] and [`ua`]: calls (hold, transfer with REFER and Replaces, DTMF over INFO,
//!   UPDATE, session timers) and the single entry point that routes everything.
//!
//! Driving the [`ua::UserAgent`] (the task owning it does exactly this, once per wake-up):
//!
//! ```no_run
//! # use std::time::Instant;
//! # fn drive(ua: &mut sip::ua::UserAgent, datagram: Option<(std::net::SocketAddr, Vec<u8>)>) {
//! let now = Instant::now(); // read once per wake-up, by the driver
//! match datagram {
//!     Some((from, bytes)) => ua.handle_datagram(now, from, &bytes),
//!     None => ua.handle_timeout(now),
//! }
//! while let Some(transmit) = ua.poll_transmit() {
//!     // socket.send_to(&transmit.bytes, transmit.destination)
//!     let _ = transmit;
//! }
//! while let Some(event) = ua.poll_dialog_event() {
//!     // transfer progress, replacements, DTMF over INFO
//!     let _ = event;
//! }
//! while let Some(event) = ua.poll_event() {
//!     // forward to the call model
//!     let _ = event;
//! }
//! let _sleep_until = ua.poll_timeout();
//! # }
//! ```

pub mod dialog;
pub mod digest;
pub mod invite;
pub mod msg;
pub mod register;
pub mod sdp;
pub mod stream;
pub mod transaction;
pub mod ua;
