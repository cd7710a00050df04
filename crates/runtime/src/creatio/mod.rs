//! The I/O side of the Creatio integration: the driver task, the durable outbox file and the administrator's
//! checks. The protocol itself (login, identification, call records, delivery rules) is the `creatio` crate.
//!
//! * [`store`]: the outbox in SQLite, committed before anything it announces is sent.
//! * [`transport`]: HTTP with reqwest and rustls, redirects off, failures sorted for the core.
//! * `driver`: the one task that owns the session, the outbox and the identifier.
//! * [`link`]: [`CreatioLink`], the handle to that task, and the values that cross it: caller lookup, call writes,
//!   the outbox status ([`CreatioStatus`]), refused records (list, JSON export, discard) and the operator's call
//!   history ([`CallHistory`]: Creatio's list merged with the calls still waiting, or the local one offline).
//! * [`admin`]: `check` and `lookup` for the command line.
//! * [`clock`]: monotonic instants shown as wall-clock times.

pub mod admin;
pub mod clock;
mod driver;
pub mod link;
pub mod store;
pub mod transport;

pub use link::{
    CallHistory, CreatioEvent, CreatioLink, CreatioSettings, CreatioStatus, IdentifyError, LinkError, StartError,
};
pub use store::{OutboxStore, RejectedRecord, StoreError};
