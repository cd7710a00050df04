//! Sans-IO core of the Oktell PBX client protocol (WebSocket, JSON frames),
//! written from PROTOCOL.md (the behaviour of the official oktell.js 1.8.4)
//! without its known bugs, and with reconnects it never had.
//!
//! The crate never touches a socket, a clock or a thread. A driver (the tokio
//! task in `runtime`) owns one [`Session`], feeds it socket events, frames,
//! commands and the current [`std::time::Instant`], and carries out what it
//! asks for.
//!
//! # Run loop
//!
//! ```text
//! let mut session = Session::new(config, Instant::now())?;
//! loop {
//!     // 1. Drain all output, in this order, until each returns None:
//!     while let Some(action) = session.poll_action() { /* Open: connect url with
//!         sub-protocol "json" and report opened/closed with the SocketId;
//!         Close: close that socket, no report needed */ }
//!     while let Some(t) = session.poll_transmit() { /* send t.text on t.socket */ }
//!     while let Some(event) = session.poll_event() { /* forward to the app */ }
//!     // 2. Wait for exactly one input, then make exactly one handle_* call:
//!     select! {
//!         socket opened   => session.handle_socket_opened(now, id),
//!         text frame      => session.handle_frame(now, id, &text)?  // errors: log, go on
//!         socket closed   => session.handle_socket_closed(now, id),
//!         command         => session.command(now, cmd),             // Err: refused now
//!         sleep_until(session.poll_timeout()) => session.handle_timeout(now),
//!     }
//! }
//! ```
//!
//! `now` is read once per wake-up by the driver. Tests drive the same loop on a
//! virtual clock (see `tests/support`).
//!
//! # Sockets and failover
//!
//! Every configured URL (normalised by [`url::normalize`], at most ten) gets
//! its own [`Action::Open`]. Each socket is named by a [`SocketId`]: its
//! candidate (URL index) and a serial unique for the session's life. The first
//! socket that completes the ping/qid handshake (§1.4) wins; the others get
//! [`Action::Close`]. A `websocketredirect` closes that socket and opens the
//! `wss://host:443` form of its URL under a new serial; that socket wins as
//! soon as it opens. Frames from sockets that are not current are ignored.
//!
//! # Connection lifecycle
//!
//! [`ConnectionState`] is reported on every change: `Connecting{attempt}` →
//! `LoggingIn` → `Syncing` (the §2.6 sequence: version, user info, break
//! reasons, user state, redirect rule, number plan, directory, avatars, line)
//! → `Connected` (all subscriptions sent). Any loss, failed attempt, open
//! timeout or transient login refusal goes to `Reconnecting{attempt, delay}`
//! (capped exponential backoff with seeded jitter) and starts over. Reconnects
//! log in with the session id from the last login and fall back to the
//! password when the server no longer knows the session; every piece of state
//! is re-read and every subscription re-sent (including `customevent`, which
//! oktell.js forgets). Final refusals (wrong password, desktop client in use,
//! server too old) and [`Command::Logout`] / [`Command::Shutdown`] end in
//! `Closed(reason)`.
//!
//! # Events
//!
//! [`Event`] is everything the application learns:
//!
//! * connection: [`Event::Connection`], [`Event::LoginFailed`] (with operator
//!   messages, see [`error::LoginError`]), [`Event::SyncFailed`],
//!   [`Event::LoggedIn`] (persist its session id to resume after a restart);
//! * account: [`Event::Version`], [`Event::UserInfo`], [`Event::BreakReasons`],
//!   [`Event::RedirectNumber`];
//! * agent: [`Event::Agent`] with the full [`agent::AgentState`]; its
//!   [`agent::AgentState::status`] is ready / call-center ready / break (with
//!   reason) / DND / redirect / no phone;
//! * line: [`Event::Line`] ([`line::LineView`]: state ready / ring / backring
//!   / call / talk / disconnected, parties, conference, talk start) and
//!   [`Event::Hold`] when the held party changes;
//! * queue: [`Event::Queue`] when the polled queue changes;
//! * directory: [`Event::Numbers`], [`Event::Users`], [`Event::Avatars`] on
//!   each (re)load, [`Event::NumberStates`] for presence changes
//!   (`pbxnumberstatechanged`);
//! * commands: [`Event::CommandSucceeded`] / [`Event::CommandFailed`] with the
//!   [`RequestId`] that [`Session::command`] returned;
//! * other users: [`Event::Custom`] (`customevent`) and [`Event::Native`] for
//!   the extra events named in [`Config::native_events`].
//!
//! # Line state without delays
//!
//! oktell.js re-reads `getextendedlineinfo` 400–700 ms after most events. We
//! re-read at once and coalesce: at most one read in flight and one pending,
//! however many events arrive ([`line::Rereads`]).
//!
//! # Differences from oktell.js, on purpose
//!
//! * Timed-out requests are removed: a late reply is dropped, so the
//!   post-login chain never runs twice.
//! * Multipart parts may arrive out of order, duplicated or split inside a
//!   UTF-8 character; every message is bounded in parts, bytes and lifetime.
//! * Events inside multipart messages are delivered, not lost.
//! * No `getextendedlineinfo` after `logout`.
//! * The remote-answer "3 s check" that disables `answer()` for the page's
//!   life is not reproduced; the panel sees the line state instead.
//! * There is no DTMF: the WebSocket protocol has no DTMF method (oktell.js
//!   sends DTMF only on its WebRTC SIP leg); DTMF belongs to the `sip` crate.

pub mod agent;
pub mod api;
pub mod config;
pub mod error;
pub mod line;
pub mod login;
pub mod msg;
pub mod multipart;
pub mod session;
pub mod timers;
pub mod url;

pub use api::{Action, CloseReason, Command, ConnectionState, Event, RequestId, SessionId, SocketId, Transmit};
pub use config::Config;
pub use session::Session;
