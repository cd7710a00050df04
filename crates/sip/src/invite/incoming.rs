//! Calls we receive: 180 at once, the application's answer or rejection, 2xx retransmission
//! until the ACK (RFC 3261 §13.3.1.4), CANCEL from the caller (200 + 487) and BYE.

use std::{net::SocketAddr, time::Instant};

use super::{Call, CallHandle, CallState, EndReason, Retransmit, Role};
use crate::{
    dialog::Dialog,
    msg::Request,
    sdp::{Direction, Negotiator},
    transaction::TransactionKey,
    ua::{ALLOW, DialogEvent, Reply, SUPPORTED, UaError, UaEvent, UserAgent},
};

impl UserAgent {
    pub(crate) fn on_invite(&mut self, now: Instant, key: TransactionKey, source: SocketAddr, request: Request) {
        if super::is_reinvite(&request) {
            self.on_reinvite(now, &key, &request);
            return;
        }
        let replaced = match request.headers.get("Replaces").map(|_| request.headers.replaces()) {
            None => None,
            Some(Ok(replaces)) => match self.replaced_call(&replaces) {
                Ok(call) => Some(call),
                Err((status, reason)) => {
                    self.respond(now, &key, Reply::new(status, reason));
                    return;
                }
            },
            Some(Err(_)) => {
                self.respond(now, &key, Reply::new(400, "Bad Request (Replaces)"));
                return;
            }
        };
        if let super::session_timer::UasTimer::TooBrief { min_se } =
            super::session_timer::negotiate_as_uas(&request.headers, &self.config.session_timer)
        {
            let reply = Reply::new(422, "Session Interval Too Small").header("Min-SE", min_se.to_string());
            self.respond(now, &key, reply);
            return;
        }
        let local_tag = self.new_tag();
        let mut negotiator = Negotiator::new(self.config.media.clone(), rand::RngCore::next_u64(&mut self.rng) >> 1);
        let prepared_answer = if request.body.is_empty() {
            None
        } else {
            match negotiator.answer_offer(&String::from_utf8_lossy(&request.body), Direction::SendRecv) {
                Ok(answer) => Some(answer),
                Err(error) => {
                    tracing::info!(%error, "incoming offer not acceptable");
                    let reply = Reply {
                        to_tag: Some(&local_tag),
                        ..Reply::new(488, "Not Acceptable Here")
                    };
                    self.respond(now, &key, reply);
                    return;
                }
            }
        };
        let dialog = match Dialog::from_uas(&request, &local_tag) {
            Ok(dialog) => dialog,
            Err(error) => {
                tracing::info!(%error, "incoming INVITE cannot form a dialog");
                self.respond(now, &key, Reply::new(400, "Bad Request (no Contact)"));
                return;
            }
        };
        let Ok(from) = request.headers.from() else {
            self.respond(now, &key, Reply::new(400, "Bad Request (From)"));
            return;
        };
        let asserted_identity = request
            .headers
            .p_asserted_identity()
            .ok()
            .and_then(|v| v.into_iter().next());
        let handle = self.new_call_handle();
        self.calls.insert(
            handle,
            Call {
                role: Role::Incoming,
                state: CallState::Ringing,
                invite: request,
                invite_key: key.clone(),
                peer: source,
                dialog: Some(dialog),
                negotiator,
                pending_offer: None,
                prepared_answer,
                media: None,
                local_tag: local_tag.clone(),
                ack: None,
                retransmit: None,
                cancel_deadline: None,
                cancel_when_possible: false,
                bye_after_ack: false,
                auth_retried: false,
                local_hold: false,
                reinvite: None,
                reinvite_ack: None,
                reinvite_retry_at: None,
                reinvite_retry_hold_before: false,
                modify_after_ack: false,
                refer_out: None,
                refer_in: None,
                info: Default::default(),
                session: None,
                interval_retried: false,
                early_tag: None,
                replaced: false,
            },
        );
        if let Some(replaced) = replaced {
            self.take_over(now, handle, replaced, from);
            return;
        }
        let contact = self.contact();
        let ringing = Reply {
            to_tag: Some(&local_tag),
            ..Reply::new(180, "Ringing")
        }
        .header("Contact", contact);
        self.respond(now, &key, ringing);
        tracing::info!(call = ?handle, "incoming call");
        self.events.push_back(UaEvent::IncomingCall {
            call: handle,
            from,
            asserted_identity,
        });
    }

    /// RFC 3891 §3: the new call is answered at once and the one it replaces is hung up.
    fn take_over(&mut self, now: Instant, call: CallHandle, replaced: CallHandle, from: crate::msg::NameAddr) {
        tracing::info!(?call, ?replaced, "call replaces an established one");
        self.dialog_event(DialogEvent::Replaced { call, replaced, from });
        if let Err(error) = self.answer(now, call) {
            tracing::warn!(%error, "replacing call could not be answered");
            return;
        }
        let Some(old) = self.calls.get_mut(&replaced) else {
            return;
        };
        if old.state == CallState::Early {
            // Our own call still ringing out: CANCEL it; it ends when the CANCEL is done.
            old.replaced = true;
            self.send_cancel(now, replaced);
        } else {
            self.send_bye(now, replaced);
            self.end(replaced, EndReason::Replaced);
        }
    }

    /// Answers a ringing incoming call with 200 and our SDP (an answer, or an offer when the
    /// INVITE had none). `Established` follows when the caller's ACK arrives.
    pub fn answer(&mut self, now: Instant, call: CallHandle) -> Result<(), UaError> {
        let c = self.calls.get_mut(&call).ok_or(UaError::UnknownCall)?;
        if c.role != Role::Incoming || c.state != CallState::Ringing {
            return Err(UaError::InvalidState { action: "answer" });
        }
        let sdp = match c.prepared_answer.take() {
            Some((body, media)) => {
                c.media = Some(media);
                body
            }
            None => {
                let (body, pending) = c.negotiator.create_offer(Direction::SendRecv);
                c.pending_offer = Some(pending);
                body
            }
        };
        let key = c.invite_key.clone();
        let tag = c.local_tag.clone();
        let decision = super::session_timer::negotiate_as_uas(&c.invite.headers, &self.config.session_timer);
        let invite_headers = c.invite.headers.clone();
        let contact = self.contact();
        let timer_headers = self.session_timer_for_request(now, call, decision, &invite_headers);
        let mut reply = Reply {
            to_tag: Some(&tag),
            sdp: Some(&sdp),
            ..Reply::new(200, "OK")
        }
        .header("Contact", contact)
        .header("Allow", ALLOW)
        .header("Supported", SUPPORTED);
        reply.headers.extend(timer_headers);
        let Some(bytes) = self.respond(now, &key, reply) else {
            return Err(UaError::InvalidState { action: "answer" });
        };
        let t1 = self.config.timers.t1;
        let give_up = now + self.config.timers.timeout();
        if let Some(c) = self.calls.get_mut(&call) {
            c.state = CallState::Answered;
            c.retransmit = Some(Retransmit {
                bytes,
                next: now + t1,
                interval: t1,
                give_up,
            });
        }
        Ok(())
    }

    /// Refuses a ringing incoming call with a final status (486 Busy Here, 603 Decline...).
    pub fn reject(&mut self, now: Instant, call: CallHandle, status: u16, reason: &str) -> Result<(), UaError> {
        let c = self.calls.get(&call).ok_or(UaError::UnknownCall)?;
        if c.role != Role::Incoming || c.state != CallState::Ringing || !(300..700).contains(&status) {
            return Err(UaError::InvalidState { action: "reject" });
        }
        let (key, tag) = (c.invite_key.clone(), c.local_tag.clone());
        self.respond(
            now,
            &key,
            Reply {
                to_tag: Some(&tag),
                ..Reply::new(status, reason)
            },
        );
        self.end(call, EndReason::Local);
        Ok(())
    }

    /// The ACK for our 2xx (a transaction of its own, matched by dialog).
    pub(crate) fn on_ack(&mut self, now: Instant, ack: Request) {
        let Some((&call, c)) = self
            .calls
            .iter_mut()
            .find(|(_, c)| c.dialog.as_ref().is_some_and(|d| d.matches(&ack)))
        else {
            tracing::debug!("ACK matches no dialog");
            return;
        };
        if c.state == CallState::Established {
            if c.retransmit.is_some() {
                self.on_reinvite_ack(now, call, &ack);
            }
            return;
        }
        if c.state != CallState::Answered {
            return;
        }
        c.retransmit = None;
        if let Some(pending) = c.pending_offer.take() {
            c.media = c
                .negotiator
                .accept_answer(pending, &String::from_utf8_lossy(&ack.body))
                .ok();
        }
        if c.bye_after_ack {
            self.send_bye(now, call);
            self.calls.remove(&call);
            return;
        }
        match c.media.clone() {
            Some(media) => {
                c.state = CallState::Established;
                tracing::info!(?call, codec = ?media.codec, "call established");
                self.events.push_back(UaEvent::Established { call, media });
            }
            None => {
                self.send_bye(now, call);
                self.end(call, EndReason::MediaNotAcceptable);
            }
        }
    }

    pub(crate) fn on_cancel(&mut self, now: Instant, key: TransactionKey, cancel: &Request) {
        let target = TransactionKey::cancelled_by(cancel).ok();
        let found = self
            .calls
            .iter()
            .find(|(_, c)| c.role == Role::Incoming && Some(&c.invite_key) == target.as_ref())
            .map(|(h, c)| (*h, c.state, c.invite_key.clone(), c.local_tag.clone()));
        let Some((call, state, invite_key, tag)) = found else {
            self.respond(now, &key, Reply::new(481, "Call/Transaction Does Not Exist"));
            return;
        };
        // §9.2: the CANCEL's 200 carries the To tag of our responses to the INVITE; a peer
        // that ACKs with the tag it saw last (SIPp's [peer_tag_param]) would miss the dialog.
        self.respond(
            now,
            &key,
            Reply {
                to_tag: Some(&tag),
                ..Reply::new(200, "OK")
            },
        );
        if state == CallState::Ringing {
            self.respond(
                now,
                &invite_key,
                Reply {
                    to_tag: Some(&tag),
                    ..Reply::new(487, "Request Terminated")
                },
            );
            self.end(call, EndReason::CancelledByRemote);
        }
    }

    pub(crate) fn on_bye(&mut self, now: Instant, key: TransactionKey, bye: &Request) {
        let found = self
            .calls
            .iter_mut()
            .find(|(_, c)| c.dialog.as_ref().is_some_and(|d| d.matches(bye)));
        let Some((&call, c)) = found else {
            self.respond(now, &key, Reply::new(481, "Call/Transaction Does Not Exist"));
            return;
        };
        if let Some(dialog) = c.dialog.as_mut()
            && let Err(error) = dialog.receive(bye)
        {
            tracing::debug!(%error, "BYE out of order");
            self.respond(now, &key, Reply::new(500, "Server Internal Error"));
            return;
        }
        // Hung up locally while our 2xx awaited its ACK: `Ended` was already reported.
        let reported = c.bye_after_ack;
        self.respond(now, &key, Reply::new(200, "OK"));
        if reported {
            self.calls.remove(&call);
        } else {
            self.end(call, EndReason::RemoteHangup);
        }
    }
}
