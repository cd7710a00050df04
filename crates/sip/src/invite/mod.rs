//! INVITE sessions: the per-call state the user agent keeps, split by direction
//! (`outgoing.rs` for calls we place, `incoming.rs` for calls we receive).

mod incoming;
mod info;
mod modify;
mod outgoing;
mod refer;
mod session_timer;
mod update;

pub(crate) use modify::is_reinvite;
pub use refer::{ReferPolicy, TransferState};
pub use session_timer::SessionTimerConfig;

use std::{
    net::SocketAddr,
    time::{Duration, Instant},
};

use crate::{
    dialog::Dialog,
    msg::{Request, Response},
    sdp::{Negotiated, Negotiator, PendingOffer},
    transaction::TransactionKey,
    ua::UserAgent,
};

/// Our handle for one call (not the SIP Call-ID).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CallHandle(pub(crate) u64);

impl CallHandle {
    /// A number for logs and for the outside world (JSON events); unique within one user agent.
    pub fn id(self) -> u64 {
        self.0
    }
}

/// Why a call ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EndReason {
    /// We hung up (BYE, CANCEL or a rejection of an incoming call).
    Local,
    /// The peer sent BYE.
    RemoteHangup,
    /// The caller cancelled before we answered.
    CancelledByRemote,
    /// The callee refused: the final status and reason phrase.
    Rejected { status: u16, reason: String },
    /// No final response (Timer B), or no ACK for our 2xx.
    Timeout,
    /// The transport failed.
    TransportError,
    /// No usable offer/answer (we answered 488 or sent BYE after an unusable answer).
    MediaNotAcceptable,
    /// Digest authentication failed.
    AuthenticationFailed,
    /// We transferred the call (the transfer target answered the transferee) and hung up.
    Transferred,
    /// An INVITE with Replaces took the call over (RFC 3891); we hung this one up.
    Replaced,
    /// The session timer ran out without a refresh (RFC 4028 §10); we sent BYE.
    SessionExpired,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Role {
    Outgoing,
    Incoming,
}

/// Where a call stands; each state names what it waits for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CallState {
    /// Our INVITE is out; no provisional yet.
    Calling,
    /// A provisional arrived; CANCEL is now allowed.
    Early,
    /// We want out; CANCEL sent (or waiting for a provisional to send it).
    Cancelling,
    /// An incoming INVITE waits for the application's answer.
    Ringing,
    /// Our 2xx is out and is retransmitted until the ACK arrives.
    Answered,
    Established,
}

/// The UAS's 2xx retransmission schedule (RFC 3261 §13.3.1.4): T1 doubling to T2, give up
/// at 64·T1.
#[derive(Debug, Clone)]
pub(crate) struct Retransmit {
    pub(crate) bytes: Vec<u8>,
    pub(crate) next: Instant,
    pub(crate) interval: Duration,
    pub(crate) give_up: Instant,
}

#[derive(Debug)]
pub(crate) struct Call {
    pub(crate) role: Role,
    pub(crate) state: CallState,
    /// The INVITE that created the call (ours, or the peer's as received).
    pub(crate) invite: Request,
    /// Key of that INVITE's transaction.
    pub(crate) invite_key: TransactionKey,
    /// Where the peer's messages come from (incoming) or where ours go (outgoing).
    pub(crate) peer: SocketAddr,
    pub(crate) dialog: Option<Dialog>,
    pub(crate) negotiator: Negotiator,
    pub(crate) pending_offer: Option<PendingOffer>,
    /// An incoming call's prepared answer (SDP body) and its outcome.
    pub(crate) prepared_answer: Option<(String, Negotiated)>,
    pub(crate) media: Option<Negotiated>,
    pub(crate) local_tag: String,
    /// UAC: the ACK for the 2xx, re-sent when the 2xx is retransmitted.
    pub(crate) ack: Option<Vec<u8>>,
    /// UAS: our 2xx until its ACK.
    pub(crate) retransmit: Option<Retransmit>,
    /// Outgoing: when to give up on a cancelled INVITE that never got its final response.
    pub(crate) cancel_deadline: Option<Instant>,
    /// The application hung up before a provisional allowed a CANCEL.
    pub(crate) cancel_when_possible: bool,
    /// The application hung up while our 2xx waited for its ACK (BYE must wait, §15).
    pub(crate) bye_after_ack: bool,
    /// The INVITE or re-INVITE in flight answers a challenge (see `Authenticator::on_challenge`).
    pub(crate) auth_retried: bool,
    /// Whether we hold the call (our offers and answers say sendonly).
    pub(crate) local_hold: bool,
    /// Our re-INVITE in flight.
    pub(crate) reinvite: Option<modify::ReInvite>,
    /// CSeq and bytes of the ACK for our last re-INVITE's 2xx.
    pub(crate) reinvite_ack: Option<(u32, Vec<u8>)>,
    /// After a 491: when to offer again, and the hold state to restore if that fails too.
    pub(crate) reinvite_retry_at: Option<Instant>,
    pub(crate) reinvite_retry_hold_before: bool,
    /// The application asked for hold or resume while our 2xx to the peer's re-INVITE waited for its ACK; our
    /// offer goes out when the ACK arrives (§14.1: one INVITE transaction at a time, and the ACK may carry an
    /// answer). `reinvite_retry_hold_before` keeps the state to restore if it is refused.
    pub(crate) modify_after_ack: bool,
    /// Our REFER of this call, until its outcome.
    pub(crate) refer_out: Option<refer::ReferOut>,
    /// The peer's REFER we accepted, until the call we placed for it is answered or fails.
    pub(crate) refer_in: Option<refer::ReferIn>,
    /// Digits waiting to go out as INFO.
    pub(crate) info: info::InfoQueue,
    /// RFC 4028: the negotiated session interval and its timers.
    pub(crate) session: Option<session_timer::SessionTimer>,
    /// Our INVITE was re-sent after a 422 already.
    pub(crate) interval_retried: bool,
    /// Outgoing: the To tag of the first provisional (the early dialog Replaces may name).
    pub(crate) early_tag: Option<String>,
    /// An INVITE with Replaces took this call over; it ends as [`EndReason::Replaced`].
    pub(crate) replaced: bool,
}

impl Call {
    pub(crate) fn timeout(&self) -> Option<Instant> {
        let retransmit = self.retransmit.as_ref().map(|r| r.next.min(r.give_up));
        let session = self.session.as_ref().and_then(session_timer::SessionTimer::deadline);
        [retransmit, self.cancel_deadline, self.reinvite_retry_at, session]
            .into_iter()
            .flatten()
            .min()
    }
}

/// Only the parts of a final response the call model needs.
pub(crate) fn rejection(response: &Response) -> EndReason {
    EndReason::Rejected {
        status: response.status.code(),
        reason: response.reason.clone(),
    }
}

impl UserAgent {
    /// The call's own timers: our 2xx until its ACK, the CANCEL deadline, the 491 back-off.
    pub(crate) fn on_call_timer(&mut self, now: Instant, call: CallHandle) {
        let t2 = self.config.timers.t2;
        let Some(c) = self.calls.get_mut(&call) else {
            return;
        };
        if c.session
            .as_ref()
            .and_then(session_timer::SessionTimer::deadline)
            .is_some_and(|at| at <= now)
        {
            self.on_session_timer(now, call);
            return;
        }
        if c.reinvite_retry_at.is_some_and(|at| at <= now) {
            self.retry_reinvite(now, call);
            return;
        }
        if c.cancel_deadline.is_some_and(|at| at <= now) {
            let key = c.invite_key.clone();
            self.clients.remove(&key);
            self.end(call, EndReason::Local);
            return;
        }
        let Some(retransmit) = c.retransmit.as_mut() else {
            return;
        };
        if retransmit.give_up <= now {
            // No ACK: §13.3.1.4 says end the dialog with BYE.
            c.retransmit = None;
            let reported = c.bye_after_ack;
            self.send_bye(now, call);
            if reported {
                self.calls.remove(&call);
            } else {
                self.end(call, EndReason::Timeout);
            }
            return;
        }
        if retransmit.next <= now {
            let bytes = retransmit.bytes.clone();
            retransmit.interval = (retransmit.interval * 2).min(t2);
            retransmit.next = now + retransmit.interval;
            let peer = c.peer;
            self.transmit(peer, bytes);
        }
    }
}
