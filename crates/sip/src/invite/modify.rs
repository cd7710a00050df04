//! Session modification with re-INVITE (RFC 3261 §14, RFC 3264 §8.4): our hold and resume
//! (a=sendonly / a=sendrecv offers), the peer's re-INVITEs (hold from the PBX, codec or target
//! changes), 491 glare with the randomised retry of §14.1, and offer-less re-INVITEs.

use std::time::{Duration, Instant};

use rand::Rng;

use super::{CallHandle, CallState, EndReason, Retransmit, Role};
use crate::{
    msg::{Method, Request, Response, StatusCode},
    sdp::{Direction, SdpError},
    transaction::{ClientEvent, TransactionKey},
    ua::{ALLOW, Purpose, Reply, SUPPORTED, UaError, UaEvent, UserAgent},
};

/// Our re-INVITE in flight, and what to restore if it is refused.
#[derive(Debug, Clone)]
pub(crate) struct ReInvite {
    pub(crate) seq: u32,
    pub(crate) hold_before: bool,
}

impl UserAgent {
    /// Puts an established call on hold: re-INVITE offering `a=sendonly`.
    pub fn hold(&mut self, now: Instant, call: CallHandle) -> Result<(), UaError> {
        self.modify(now, call, true, "hold")
    }

    /// Takes a held call back: re-INVITE offering `a=sendrecv`.
    pub fn resume(&mut self, now: Instant, call: CallHandle) -> Result<(), UaError> {
        self.modify(now, call, false, "resume")
    }

    fn modify(&mut self, now: Instant, call: CallHandle, hold: bool, action: &'static str) -> Result<(), UaError> {
        let c = self.calls.get_mut(&call).ok_or(UaError::UnknownCall)?;
        if c.state != CallState::Established || c.reinvite.is_some() || c.bye_after_ack {
            return Err(UaError::InvalidState { action });
        }
        if c.retransmit.is_some() {
            if !c.modify_after_ack {
                c.reinvite_retry_hold_before = c.local_hold;
            }
            c.local_hold = hold;
            c.modify_after_ack = true;
            return Ok(());
        }
        let hold_before = c.local_hold;
        c.local_hold = hold;
        c.auth_retried = false;
        self.send_reinvite(now, call, hold_before);
        Ok(())
    }

    pub(crate) fn send_reinvite(&mut self, now: Instant, call: CallHandle, hold_before: bool) {
        let via = self.via();
        let contact = self.contact();
        let session_expires = self.session_refresh_header(call);
        let Some(c) = self.calls.get_mut(&call) else {
            return;
        };
        let Some(dialog) = c.dialog.as_mut() else {
            return;
        };
        let direction = if c.local_hold {
            Direction::SendOnly
        } else {
            Direction::SendRecv
        };
        let (sdp, pending) = c.negotiator.create_offer(direction);
        let mut invite = dialog.request(Method::Invite, &via);
        invite.headers.push("Contact", contact);
        invite.headers.push("Allow", ALLOW);
        invite.headers.push("Supported", SUPPORTED);
        if let Some(session_expires) = session_expires {
            invite.headers.push("Session-Expires", session_expires);
        }
        invite.headers.push("Content-Type", "application/sdp");
        invite.body = sdp.into_bytes();
        self.auth.authorize(&mut invite);
        c.pending_offer = Some(pending);
        c.reinvite = Some(ReInvite {
            seq: dialog.local_seq(),
            hold_before,
        });
        c.reinvite_retry_at = None;
        self.start_client(now, call, Purpose::ReInvite, invite);
    }

    pub(crate) fn on_reinvite_event(&mut self, now: Instant, call: CallHandle, event: ClientEvent) {
        match event {
            ClientEvent::Response(response) if response.status.is_provisional() => {}
            ClientEvent::Response(response) if response.status.is_success() => {
                self.on_reinvite_success(now, call, &response);
            }
            ClientEvent::Response(response) => self.on_reinvite_failure(now, call, &response),
            ClientEvent::Timeout => {
                self.send_bye(now, call);
                self.end(call, EndReason::Timeout);
            }
            ClientEvent::TransportError => self.end(call, EndReason::TransportError),
        }
    }

    fn on_reinvite_success(&mut self, now: Instant, call: CallHandle, response: &Response) {
        let via = self.via();
        let Some(c) = self.calls.get_mut(&call) else {
            return;
        };
        let Some(dialog) = c.dialog.as_mut() else {
            return;
        };
        let seq = response.headers.cseq().map(|s| s.seq).unwrap_or_default();
        if c.reinvite.as_ref().map(|r| r.seq) != Some(seq) {
            // A retransmitted 2xx of a re-INVITE already handled: repeat its ACK.
            if let Some((acked, ack)) = &c.reinvite_ack
                && *acked == seq
            {
                let (peer, ack) = (c.peer, ack.clone());
                self.transmit(peer, ack);
            }
            return;
        }
        c.reinvite = None;
        dialog.refresh_target(response);
        let ack = dialog.ack(seq, &via).to_bytes();
        c.reinvite_ack = Some((seq, ack.clone()));
        let peer = c.peer;
        let media = c.pending_offer.take().map(|pending| {
            c.negotiator
                .accept_answer(pending, &String::from_utf8_lossy(&response.body))
        });
        self.transmit(peer, ack);
        self.session_timer_from_response(now, call, response);
        match media {
            Some(Ok(media)) => {
                if let Some(c) = self.calls.get_mut(&call) {
                    c.media = Some(media.clone());
                }
                self.events.push_back(UaEvent::MediaUpdated { call, media });
            }
            _ => {
                self.send_bye(now, call);
                self.end(call, EndReason::MediaNotAcceptable);
            }
        }
    }

    fn on_reinvite_failure(&mut self, now: Instant, call: CallHandle, response: &Response) {
        let status = response.status;
        let Some(c) = self.calls.get_mut(&call) else {
            return;
        };
        let Some(reinvite) = c.reinvite.take() else {
            return;
        };
        if let Some(pending) = c.pending_offer.take() {
            c.negotiator.withdraw(pending);
        }
        let auth = status == StatusCode::UNAUTHORIZED || status == StatusCode::PROXY_AUTHENTICATION_REQUIRED;
        if auth {
            let retried = std::mem::replace(&mut c.auth_retried, true);
            match self.auth.on_challenge(response, retried) {
                Ok(()) => self.send_reinvite(now, call, reinvite.hold_before),
                Err(_) => self.end(call, EndReason::AuthenticationFailed),
            }
            return;
        }
        match status.code() {
            491 => {
                // §14.1: the Call-ID owner waits 2.1–4 s, the other side 0–2 s.
                let ms = match c.role {
                    Role::Outgoing => self.rng.random_range(2100..=4000),
                    Role::Incoming => self.rng.random_range(0..=2000),
                };
                c.reinvite_retry_at = Some(now + Duration::from_millis(ms));
                c.reinvite_retry_hold_before = reinvite.hold_before;
            }
            // §14.1: the dialog is gone.
            408 | 481 => {
                self.send_bye(now, call);
                self.end(
                    call,
                    EndReason::Rejected {
                        status: status.code(),
                        reason: response.reason.clone(),
                    },
                );
            }
            code => {
                c.local_hold = reinvite.hold_before;
                self.events.push_back(UaEvent::ModifyFailed { call, status: code });
            }
        }
    }

    /// A re-INVITE from the peer: answered with 200 and our SDP, retransmitted until its ACK.
    pub(crate) fn on_reinvite(&mut self, now: Instant, key: &TransactionKey, request: &Request) {
        let found = self
            .calls
            .iter_mut()
            .find(|(_, c)| c.dialog.as_ref().is_some_and(|d| d.matches(request)));
        let Some((&call, c)) = found else {
            self.respond(now, key, Reply::new(481, "Call/Transaction Does Not Exist"));
            return;
        };
        if c.state != CallState::Established || c.reinvite.is_some() || c.retransmit.is_some() {
            self.respond(now, key, Reply::new(491, "Request Pending"));
            return;
        }
        if let Some(dialog) = c.dialog.as_mut()
            && dialog.receive(request).is_err()
        {
            self.respond(now, key, Reply::new(500, "Server Internal Error"));
            return;
        }
        let decision = super::session_timer::negotiate_as_uas(&request.headers, &self.config.session_timer);
        if let super::session_timer::UasTimer::TooBrief { min_se } = decision {
            let reply = Reply::new(422, "Session Interval Too Small").header("Min-SE", min_se.to_string());
            self.respond(now, key, reply);
            return;
        }
        let Some(c) = self.calls.get_mut(&call) else {
            return;
        };
        let direction = if c.local_hold {
            Direction::SendOnly
        } else {
            Direction::SendRecv
        };
        let (sdp, media) = if request.body.is_empty() {
            let (offer, pending) = c.negotiator.create_offer(direction);
            c.pending_offer = Some(pending);
            (offer, None)
        } else {
            match c
                .negotiator
                .answer_offer(&String::from_utf8_lossy(&request.body), direction)
            {
                Ok((answer, media)) => (answer, Some(media)),
                Err(SdpError::Glare) => {
                    self.respond(now, key, Reply::new(491, "Request Pending"));
                    return;
                }
                Err(error) => {
                    tracing::info!(%error, "re-INVITE offer refused");
                    self.respond(now, key, Reply::new(488, "Not Acceptable Here"));
                    return;
                }
            }
        };
        let tag = c.local_tag.clone();
        let contact = self.contact();
        let timer_headers = self.session_timer_for_request(now, call, decision, &request.headers);
        let mut reply = Reply {
            to_tag: Some(&tag),
            sdp: Some(&sdp),
            ..Reply::new(200, "OK")
        }
        .header("Contact", contact)
        .header("Allow", ALLOW)
        .header("Supported", SUPPORTED);
        reply.headers.extend(timer_headers);
        let Some(bytes) = self.respond(now, key, reply) else {
            return;
        };
        let t1 = self.config.timers.t1;
        let give_up = now + self.config.timers.timeout();
        if let Some(c) = self.calls.get_mut(&call) {
            c.retransmit = Some(Retransmit {
                bytes,
                next: now + t1,
                interval: t1,
                give_up,
            });
            if let Some(media) = media {
                c.media = Some(media.clone());
                self.events.push_back(UaEvent::MediaUpdated { call, media });
            }
        }
    }

    /// The ACK of our 2xx to a re-INVITE; carries the answer if we made the offer.
    pub(crate) fn on_reinvite_ack(&mut self, now: Instant, call: CallHandle, ack: &Request) {
        let Some(c) = self.calls.get_mut(&call) else {
            return;
        };
        c.retransmit = None;
        let deferred = std::mem::take(&mut c.modify_after_ack).then_some(c.reinvite_retry_hold_before);
        if let Some(pending) = c.pending_offer.take() {
            match c.negotiator.accept_answer(pending, &String::from_utf8_lossy(&ack.body)) {
                Ok(media) => {
                    c.media = Some(media.clone());
                    self.events.push_back(UaEvent::MediaUpdated { call, media });
                }
                Err(error) => {
                    tracing::warn!(%error, "answer in ACK unusable; keeping the previous session")
                }
            }
        }
        if let Some(hold_before) = deferred {
            if let Some(c) = self.calls.get_mut(&call) {
                c.auth_retried = false;
            }
            self.send_reinvite(now, call, hold_before);
        }
    }

    /// A 491 back-off elapsed: offer again.
    pub(crate) fn retry_reinvite(&mut self, now: Instant, call: CallHandle) {
        let Some(c) = self.calls.get_mut(&call) else {
            return;
        };
        c.reinvite_retry_at = None;
        let hold_before = c.reinvite_retry_hold_before;
        if c.state == CallState::Established && c.reinvite.is_none() {
            self.send_reinvite(now, call, hold_before);
        }
    }
}

/// Whether a request is our peer's re-INVITE (an INVITE with a To tag).
pub(crate) fn is_reinvite(request: &Request) -> bool {
    request.method == Method::Invite && request.headers.to().ok().and_then(|t| t.tag()).is_some()
}
