//! Server transactions (RFC 3261 §17.2): INVITE (Proceeding, Completed, Confirmed, and RFC 6026
//! Accepted) and non-INVITE (Trying, Proceeding, Completed).

use std::{collections::VecDeque, time::Instant};

use super::{Reliability, Timer, TimerConfig, TimerTable, TransactionError, TransactionKey};
use crate::msg::{Method, Request, Response, StatusCode};

/// Where a server transaction stands. INVITE starts in `Proceeding`, others in `Trying`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServerState {
    Trying,
    Proceeding,
    Completed,
    Confirmed,
    /// RFC 6026: a 2xx was sent; INVITE retransmissions are absorbed, ACKs reach the TU.
    Accepted,
    Terminated,
}

impl ServerState {
    fn name(self) -> &'static str {
        match self {
            Self::Trying => "Trying",
            Self::Proceeding => "Proceeding",
            Self::Completed => "Completed",
            Self::Confirmed => "Confirmed",
            Self::Accepted => "Accepted",
            Self::Terminated => "Terminated",
        }
    }
}

/// What the transaction user learns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServerEvent {
    /// The request that created the transaction (once; retransmissions are absorbed).
    Request(Request),
    /// An ACK for our 2xx that arrived while the INVITE transaction was Accepted.
    Ack(Request),
    /// Timer H: no ACK ever came for our non-2xx final response.
    Timeout,
    /// The transport could not deliver a response.
    TransportError,
}

/// One server transaction.
#[derive(Debug)]
pub struct ServerTransaction {
    key: TransactionKey,
    request: Request,
    reliability: Reliability,
    config: TimerConfig,
    state: ServerState,
    timers: TimerTable,
    interval: std::time::Duration,
    last_response: Option<Vec<u8>>,
    transmits: VecDeque<Vec<u8>>,
    events: VecDeque<ServerEvent>,
}

impl ServerTransaction {
    /// Creates the transaction for a new request and hands it to the TU. An INVITE arms the
    /// 200 ms timer after which we send 100 Trying ourselves.
    pub fn new(
        now: Instant,
        request: Request,
        reliability: Reliability,
        config: TimerConfig,
    ) -> Result<Self, TransactionError> {
        if request.method == Method::Ack {
            return Err(TransactionError::Request("non-ACK method"));
        }
        let key = TransactionKey::for_request(&request).map_err(|_| TransactionError::Request("Via"))?;
        let invite = request.method == Method::Invite;
        let mut timers = TimerTable::default();
        if invite {
            timers.set(Timer::Trying, now + config.trying_delay);
        }
        Ok(Self {
            key,
            request: request.clone(),
            reliability,
            config,
            state: if invite {
                ServerState::Proceeding
            } else {
                ServerState::Trying
            },
            timers,
            interval: config.t1,
            last_response: None,
            transmits: VecDeque::new(),
            events: VecDeque::from([ServerEvent::Request(request)]),
        })
    }

    pub fn key(&self) -> &TransactionKey {
        &self.key
    }

    pub fn request(&self) -> &Request {
        &self.request
    }

    pub fn state(&self) -> ServerState {
        self.state
    }

    pub fn is_terminated(&self) -> bool {
        self.state == ServerState::Terminated
    }

    fn is_invite(&self) -> bool {
        self.request.method == Method::Invite
    }

    /// A request whose key matched: a retransmission, or the ACK of our INVITE response.
    pub fn handle_request(&mut self, now: Instant, request: Request) {
        if request.method == Method::Ack {
            match self.state {
                ServerState::Completed => {
                    self.timers.stop(Timer::G);
                    self.timers.stop(Timer::H);
                    match self.reliability {
                        Reliability::Unreliable => {
                            self.state = ServerState::Confirmed;
                            self.timers.set(Timer::I, now + self.config.t4);
                        }
                        Reliability::Reliable => self.terminate(),
                    }
                }
                ServerState::Accepted => self.events.push_back(ServerEvent::Ack(request)),
                _ => {}
            }
            return;
        }
        match self.state {
            ServerState::Proceeding | ServerState::Completed => {
                if let Some(last) = &self.last_response {
                    self.transmits.push_back(last.clone());
                }
            }
            _ => tracing::trace!(state = self.state.name(), "request retransmission absorbed"),
        }
    }

    /// The TU's response. Provisional responses keep the transaction open; a final one moves
    /// it on. A 2xx after a 2xx (Accepted) is the TU's own retransmission and is sent as is.
    pub fn respond(&mut self, now: Instant, response: Response) -> Result<(), TransactionError> {
        let status = response.status;
        let allowed = match self.state {
            ServerState::Trying | ServerState::Proceeding => true,
            ServerState::Accepted => status.is_success(),
            _ => false,
        };
        if !allowed {
            return Err(TransactionError::ResponseNotAllowed {
                status: status.code(),
                state: self.state.name(),
            });
        }
        let wire = response.to_bytes();
        self.transmits.push_back(wire.clone());
        self.last_response = Some(wire);
        self.timers.stop(Timer::Trying);
        if status.is_provisional() {
            self.state = ServerState::Proceeding;
        } else if self.is_invite() && status.is_success() {
            if self.state != ServerState::Accepted {
                self.state = ServerState::Accepted;
                self.timers.set(Timer::L, now + self.config.timeout());
            }
        } else if self.is_invite() {
            self.state = ServerState::Completed;
            if self.reliability == Reliability::Unreliable {
                self.interval = self.config.t1;
                self.timers.set(Timer::G, now + self.interval);
            }
            self.timers.set(Timer::H, now + self.config.timeout());
        } else {
            match self.reliability {
                Reliability::Unreliable => {
                    self.state = ServerState::Completed;
                    self.timers.set(Timer::J, now + self.config.timeout());
                }
                Reliability::Reliable => self.terminate(),
            }
        }
        Ok(())
    }

    fn terminate(&mut self) {
        self.timers.stop_all();
        self.state = ServerState::Terminated;
    }

    pub fn handle_timeout(&mut self, now: Instant) {
        while let Some(timer) = self.timers.pop_expired(now) {
            tracing::trace!(?timer, state = self.state.name(), "server transaction timer");
            match timer {
                Timer::Trying => {
                    let trying = Response::to_request(&self.request, StatusCode::TRYING, "Trying", "");
                    let wire = trying.to_bytes();
                    self.transmits.push_back(wire.clone());
                    self.last_response = Some(wire);
                }
                Timer::G => {
                    if let Some(last) = &self.last_response {
                        self.transmits.push_back(last.clone());
                    }
                    self.interval = (self.interval * 2).min(self.config.t2);
                    self.timers.set(Timer::G, now + self.interval);
                }
                Timer::H => {
                    self.events.push_back(ServerEvent::Timeout);
                    self.terminate();
                }
                _ => self.terminate(),
            }
        }
    }

    /// The transport failed to deliver a response (RFC 3261 §17.2.4).
    pub fn handle_transport_error(&mut self) {
        self.events.push_back(ServerEvent::TransportError);
        self.terminate();
    }

    pub fn poll_transmit(&mut self) -> Option<Vec<u8>> {
        self.transmits.pop_front()
    }

    pub fn poll_event(&mut self) -> Option<ServerEvent> {
        self.events.pop_front()
    }

    pub fn poll_timeout(&self) -> Option<Instant> {
        self.timers.next().map(|(_, at)| at)
    }
}
