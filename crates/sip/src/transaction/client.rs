//! Client transactions (RFC 3261 §17.1): INVITE (Calling, Proceeding, Completed, and RFC 6026
//! Accepted) and non-INVITE (Trying, Proceeding, Completed).

use std::{collections::VecDeque, time::Instant};

use super::{Reliability, Timer, TimerConfig, TimerTable, TransactionError, TransactionKey};
use crate::msg::{Method, Request, Response};

/// Where a client transaction stands. INVITE starts in `Calling`, others in `Trying`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientState {
    Calling,
    Trying,
    Proceeding,
    Completed,
    /// RFC 6026: an INVITE got a 2xx; further 2xx (from forks) still reach the TU.
    Accepted,
    Terminated,
}

/// What the transaction user learns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientEvent {
    /// A response for the TU: every provisional, the first final, and in Accepted every 2xx.
    Response(Response),
    /// Timer B or F fired before a final response.
    Timeout,
    /// The transport reported the request undeliverable.
    TransportError,
}

/// One client transaction.
#[derive(Debug)]
pub struct ClientTransaction {
    key: TransactionKey,
    request: Request,
    wire: Vec<u8>,
    reliability: Reliability,
    config: TimerConfig,
    state: ClientState,
    timers: TimerTable,
    interval: std::time::Duration,
    ack: Option<Vec<u8>>,
    transmits: VecDeque<Vec<u8>>,
    events: VecDeque<ClientEvent>,
}

impl ClientTransaction {
    /// Starts the transaction and queues the first transmission. The request must carry a top
    /// Via with an RFC 3261 branch; ACK is never sent through a transaction.
    pub fn new(
        now: Instant,
        request: Request,
        reliability: Reliability,
        config: TimerConfig,
    ) -> Result<Self, TransactionError> {
        if request.method == Method::Ack {
            return Err(TransactionError::Request("non-ACK method"));
        }
        let key = TransactionKey::for_client(&request).map_err(|_| TransactionError::Request("Via branch"))?;
        let wire = request.to_bytes();
        let invite = request.method == Method::Invite;
        let mut tx = Self {
            key,
            request,
            wire: wire.clone(),
            reliability,
            config,
            state: if invite {
                ClientState::Calling
            } else {
                ClientState::Trying
            },
            timers: TimerTable::default(),
            interval: config.t1,
            ack: None,
            transmits: VecDeque::from([wire]),
            events: VecDeque::new(),
        };
        let (retransmit, timeout) = if invite {
            (Timer::A, Timer::B)
        } else {
            (Timer::E, Timer::F)
        };
        if reliability == Reliability::Unreliable {
            tx.timers.set(retransmit, now + config.t1);
        }
        tx.timers.set(timeout, now + config.timeout());
        Ok(tx)
    }

    pub fn key(&self) -> &TransactionKey {
        &self.key
    }

    pub fn request(&self) -> &Request {
        &self.request
    }

    pub fn state(&self) -> ClientState {
        self.state
    }

    pub fn is_terminated(&self) -> bool {
        self.state == ClientState::Terminated
    }

    fn is_invite(&self) -> bool {
        self.request.method == Method::Invite
    }

    /// Feeds a response whose key matched this transaction.
    pub fn handle_response(&mut self, now: Instant, response: Response) {
        let status = response.status;
        match (self.state, self.is_invite()) {
            (ClientState::Calling | ClientState::Proceeding, true) => {
                if status.is_provisional() {
                    self.timers.stop(Timer::A);
                    self.timers.stop(Timer::B);
                    self.state = ClientState::Proceeding;
                } else if status.is_success() {
                    self.timers.stop_all();
                    self.timers.set(Timer::M, now + self.config.timeout());
                    self.state = ClientState::Accepted;
                } else {
                    self.timers.stop_all();
                    let ack = ack_for(&self.request, &response).to_bytes();
                    self.transmits.push_back(ack.clone());
                    self.ack = Some(ack);
                    self.enter_completed(now, Timer::D, self.config.timer_d);
                }
                self.events.push_back(ClientEvent::Response(response));
            }
            (ClientState::Accepted, true) => {
                if status.is_success() {
                    self.events.push_back(ClientEvent::Response(response));
                }
            }
            (ClientState::Completed, true) => {
                if !status.is_provisional()
                    && !status.is_success()
                    && let Some(ack) = &self.ack
                {
                    self.transmits.push_back(ack.clone());
                }
            }
            (ClientState::Trying | ClientState::Proceeding, false) => {
                if status.is_provisional() {
                    self.state = ClientState::Proceeding;
                } else {
                    self.timers.stop_all();
                    self.enter_completed(now, Timer::K, self.config.t4);
                }
                self.events.push_back(ClientEvent::Response(response));
            }
            _ => tracing::trace!(status = status.code(), "response absorbed by client transaction"),
        }
    }

    /// Completed lingers to absorb retransmissions, but only over unreliable transports.
    fn enter_completed(&mut self, now: Instant, timer: Timer, wait: std::time::Duration) {
        match self.reliability {
            Reliability::Unreliable => {
                self.state = ClientState::Completed;
                self.timers.set(timer, now + wait);
            }
            Reliability::Reliable => self.terminate(),
        }
    }

    fn terminate(&mut self) {
        self.timers.stop_all();
        self.state = ClientState::Terminated;
    }

    pub fn handle_timeout(&mut self, now: Instant) {
        while let Some(timer) = self.timers.pop_expired(now) {
            tracing::trace!(?timer, state = ?self.state, "client transaction timer");
            match timer {
                Timer::A => {
                    self.transmits.push_back(self.wire.clone());
                    self.interval *= 2;
                    self.timers.set(Timer::A, now + self.interval);
                }
                Timer::E => {
                    self.transmits.push_back(self.wire.clone());
                    self.interval = if self.state == ClientState::Proceeding {
                        self.config.t2
                    } else {
                        (self.interval * 2).min(self.config.t2)
                    };
                    self.timers.set(Timer::E, now + self.interval);
                }
                Timer::B | Timer::F => {
                    self.events.push_back(ClientEvent::Timeout);
                    self.terminate();
                }
                _ => self.terminate(),
            }
        }
    }

    /// The transport could not deliver the request (ICMP, TCP reset, ...): RFC 3261 §17.1.4.
    pub fn handle_transport_error(&mut self) {
        if matches!(
            self.state,
            ClientState::Calling | ClientState::Trying | ClientState::Proceeding
        ) {
            self.events.push_back(ClientEvent::TransportError);
        }
        self.terminate();
    }

    pub fn poll_transmit(&mut self) -> Option<Vec<u8>> {
        self.transmits.pop_front()
    }

    pub fn poll_event(&mut self) -> Option<ClientEvent> {
        self.events.pop_front()
    }

    pub fn poll_timeout(&self) -> Option<Instant> {
        self.timers.next().map(|(_, at)| at)
    }
}

/// The ACK for a non-2xx final response (RFC 3261 §17.1.1.3): same Request-URI, top Via,
/// Call-ID, From, CSeq number and Route set as the INVITE; To from the response.
fn ack_for(invite: &Request, response: &Response) -> Request {
    let mut ack = Request::new(Method::Ack, invite.uri.clone());
    if let Some(via) = invite.headers.vias().ok().and_then(|v| v.into_iter().next()) {
        ack.headers.push("Via", via.to_string());
    }
    if let Some(max) = invite.headers.get("Max-Forwards") {
        ack.headers.push("Max-Forwards", max);
    }
    for name in ["From", "Call-ID"] {
        if let Some(value) = invite.headers.get(name) {
            ack.headers.push(name, value);
        }
    }
    if let Some(to) = response.headers.get("To") {
        ack.headers.push("To", to);
    }
    if let Ok(cseq) = invite.headers.cseq() {
        ack.headers.push("CSeq", format!("{} ACK", cseq.seq));
    }
    for route in invite.headers.get_all("Route") {
        ack.headers.push("Route", route);
    }
    ack
}
