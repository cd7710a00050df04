//! RFC 3261 §17 transactions (with the RFC 6026 Accepted states): one state machine per
//! request, driven by messages, `now` and timeouts, emitting bytes to send and events for the
//! transaction user. The owner chooses destinations; a transaction only knows what to say.

mod client;
mod key;
mod server;
mod timers;

use std::time::Duration;

pub use client::{ClientEvent, ClientState, ClientTransaction};
pub use key::{TransactionKey, new_branch};
pub use server::{ServerEvent, ServerState, ServerTransaction};
pub use timers::{Timer, TimerTable};

/// Protocol timer bases (RFC 3261 §17.1.1.1, table 4). Defaults are the RFC's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimerConfig {
    /// RTT estimate; retransmissions start here and double.
    pub t1: Duration,
    /// Cap on non-INVITE and response retransmission intervals.
    pub t2: Duration,
    /// How long the network may keep a message around.
    pub t4: Duration,
    /// Timer D over unreliable transports ("at least 32 s").
    pub timer_d: Duration,
    /// Delay before the server INVITE transaction sends 100 Trying on the TU's behalf.
    pub trying_delay: Duration,
}

impl Default for TimerConfig {
    fn default() -> Self {
        Self {
            t1: Duration::from_millis(500),
            t2: Duration::from_secs(4),
            t4: Duration::from_secs(5),
            timer_d: Duration::from_secs(32),
            trying_delay: Duration::from_millis(200),
        }
    }
}

impl TimerConfig {
    /// 64·T1: Timers B, F, H, J, L, M.
    pub fn timeout(&self) -> Duration {
        self.t1 * 64
    }
}

/// Whether the transport retransmits for us (TCP, TLS) or not (UDP).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reliability {
    Unreliable,
    Reliable,
}

/// Things a transaction can be asked to do that make no sense in its state (our bug, not
/// the peer's).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TransactionError {
    #[error("a {status} response cannot be sent in state {state}")]
    ResponseNotAllowed { status: u16, state: &'static str },
    #[error("the request has no usable {0} header")]
    Request(&'static str),
}
