//! The simulated world that serves the demo mode and every test: an Oktell server that the real
//! oktell.js and our own `oktell` client both accept unchanged (PROTOCOL.md §7), with a PBX
//! behind it that rings, dials, holds, transfers and conferences on the world's clock, and a
//! Creatio stand-in ([`creatio`], CREATIO.md §9) holding the world's contacts and accounts.
//!
//! * [`World`] — who and what exists (TOML world file format documented in [`world`]).
//! * [`Sim`] — the sans-IO core: frames, control commands and `now` in; frames to send, sockets
//!   to close and the next deadline out. Tests drive it with a virtual clock.
//! * [`creatio::Creatio`] — the sans-IO Creatio stand-in: HTTP requests and `now` in, answers out.
//! * [`sip`] — the PBX's SIP side: a registrar for the operators' phones and a leg per phone
//!   call that follows the PBX model, with the caller's voice and hold music over RTP.
//! * [`serve`] — the tokio driver: Oktell WebSocket (sub-protocol `json`), the Creatio HTTP site,
//!   the PBX's SIP socket (UDP, [`serve_with`] picks its port) and the loopback HTTP control API
//!   documented in [`control`] (with its fault injection).
//!
//! `cargo run -p sim --example serve -- demo` serves the demo world by hand (try it with oktell.js
//! or curl). The simulator's choices that PROTOCOL.md leaves open (event order, `linestatestr`
//! values, the queue, colleague calls) follow the §6 transcripts and §7 checklist; where Oktell's
//! real behaviour is unknown the module docs say what the simulator does instead.
//!
//! ```no_run
//! # async fn demo() -> Result<(), sim::SimError> {
//! let sim = sim::serve(sim::SimOptions {
//!     bind: [127, 0, 0, 1].into(),
//!     oktell_port: 0,
//!     control_port: 0,
//!     creatio_port: 0,
//!     world: sim::World::default_world(),
//!     seed: 1,
//! })
//! .await?;
//! println!("connect oktell.js to {}", sim.endpoints().oktell);
//! println!("register the phone (101 / demo) at {}", sim.sip_addr());
//! sim.shutdown().await;
//! # Ok(()) }
//! ```

pub mod control;
mod core;
pub mod creatio;
pub mod directory;
mod error;
pub mod oktell;
pub mod pbx;
mod server;
pub mod sip;
pub mod world;

pub use crate::core::{Output, Sim};
pub use error::SimError;
pub use oktell::connection::ConnId;
pub use server::{Endpoints, RunningSim, SimOptions, SipOptions, serve, serve_with};
pub use world::World;
