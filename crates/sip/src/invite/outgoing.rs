//! Calls we place: INVITE with an SDP offer, provisional responses and early media, the 2xx
//! and its ACK (a new transaction, re-sent for every 2xx retransmission), digest retries,
//! CANCEL (only once a provisional allows it, RFC 3261 §9.1) and BYE.

use std::time::Instant;

use rand::RngCore;

use super::{Call, CallHandle, CallState, EndReason, Role, rejection};
use crate::{
    dialog::Dialog,
    msg::{Method, NameAddr, Request, Response, StatusCode, Uri},
    sdp::{Direction, Negotiator},
    transaction::{ClientEvent, TransactionKey},
    ua::{ALLOW, Purpose, SUPPORTED, UaError, UaEvent, UserAgent},
};

impl UserAgent {
    /// Places a call to `target`. Progress arrives as [`UaEvent`]s.
    pub fn call(&mut self, now: Instant, target: &Uri) -> Result<CallHandle, UaError> {
        self.place_call(now, target, &[])
    }

    /// Places a call with extra headers (Replaces and Referred-By when a REFER asks for it).
    pub(crate) fn place_call(
        &mut self,
        now: Instant,
        target: &Uri,
        extra: &[(&'static str, String)],
    ) -> Result<CallHandle, UaError> {
        if !target.is_sip() {
            return Err(UaError::InvalidTarget);
        }
        let handle = self.new_call_handle();
        let local_tag = self.new_tag();
        let call_id = format!("{:016x}@{}", self.rng.next_u64(), self.config.local.ip());
        let mut negotiator = Negotiator::new(self.config.media.clone(), self.rng.next_u64() >> 1);
        let (sdp, pending) = negotiator.create_offer(Direction::SendRecv);
        let mut from = self.local_identity();
        from.params.set("tag", Some(&local_tag));
        let mut invite = Request::new(Method::Invite, target.clone());
        let via = self.via();
        let h = &mut invite.headers;
        h.push("Via", via.to_string());
        h.push("Max-Forwards", "70");
        h.push("From", from.to_string());
        h.push("To", NameAddr::new(target.clone()).to_string());
        h.push("Call-ID", call_id);
        h.push("CSeq", "1 INVITE");
        h.push("Contact", self.contact());
        h.push("Allow", ALLOW);
        h.push("Supported", SUPPORTED);
        for (name, value) in self
            .session_timer_headers(None)
            .into_iter()
            .chain(extra.iter().cloned())
        {
            h.push(name, value);
        }
        h.push("User-Agent", self.config.user_agent.clone());
        h.push("Content-Type", "application/sdp");
        invite.body = sdp.into_bytes();
        self.auth.authorize(&mut invite);
        let invite_key = TransactionKey::for_client(&invite).map_err(|_| UaError::InvalidTarget)?;
        self.calls.insert(
            handle,
            Call {
                role: Role::Outgoing,
                state: CallState::Calling,
                invite: invite.clone(),
                invite_key,
                peer: self.config.proxy,
                dialog: None,
                negotiator,
                pending_offer: Some(pending),
                prepared_answer: None,
                media: None,
                local_tag,
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
        tracing::info!(call = ?handle, "placing call");
        self.start_client(now, handle, Purpose::Invite, invite);
        Ok(handle)
    }

    /// Ends a call in whatever way its state allows: CANCEL before an answer, 603 for an
    /// incoming call still ringing, BYE once established. `Ended` follows at once.
    pub fn hangup(&mut self, now: Instant, call: CallHandle) -> Result<(), UaError> {
        let mark = self.events.len();
        let result = self.hangup_call(now, call);
        // A call placed for a transferor ends: it learns so.
        self.report_referrals(now, mark);
        result
    }

    fn hangup_call(&mut self, now: Instant, call: CallHandle) -> Result<(), UaError> {
        let c = self.calls.get_mut(&call).ok_or(UaError::UnknownCall)?;
        match c.state {
            CallState::Calling => {
                c.cancel_when_possible = true;
                c.state = CallState::Cancelling;
            }
            CallState::Early => self.send_cancel(now, call),
            CallState::Cancelling => {}
            CallState::Ringing => return self.reject(now, call, 603, "Decline"),
            CallState::Answered => {
                // §15: no BYE before the ACK of our 2xx; it goes out when the ACK arrives.
                c.bye_after_ack = true;
                self.events.push_back(UaEvent::Ended {
                    call,
                    reason: EndReason::Local,
                });
            }
            CallState::Established => {
                self.send_bye(now, call);
                self.end(call, EndReason::Local);
            }
        }
        Ok(())
    }

    /// CANCEL per RFC 3261 §9.1: the INVITE's Request-URI, top Via, Call-ID, From, To, Route
    /// and CSeq number.
    pub(crate) fn send_cancel(&mut self, now: Instant, call: CallHandle) {
        let Some(c) = self.calls.get_mut(&call) else {
            return;
        };
        let invite = &c.invite;
        let mut cancel = Request::new(Method::Cancel, invite.uri.clone());
        if let Ok(via) = invite.headers.top_via() {
            cancel.headers.push("Via", via.to_string());
        }
        cancel.headers.push("Max-Forwards", "70");
        for name in ["From", "To", "Call-ID"] {
            if let Some(value) = invite.headers.get(name) {
                cancel.headers.push(name, value);
            }
        }
        let seq = invite.headers.cseq().map(|c| c.seq).unwrap_or(1);
        cancel.headers.push("CSeq", format!("{seq} CANCEL"));
        for route in invite.headers.get_all("Route") {
            cancel.headers.push("Route", route);
        }
        c.state = CallState::Cancelling;
        c.cancel_when_possible = false;
        // §9.1: without a final response 64·T1 after the CANCEL, the INVITE is given up.
        c.cancel_deadline = Some(now + self.config.timers.timeout());
        self.start_client(now, call, Purpose::Cancel, cancel);
    }

    /// Sends BYE within the call's dialog (pre-authorised if a challenge is cached).
    pub(crate) fn send_bye(&mut self, now: Instant, call: CallHandle) {
        let via = self.via();
        let Some(dialog) = self.calls.get_mut(&call).and_then(|c| c.dialog.as_mut()) else {
            return;
        };
        let mut bye = dialog.request(Method::Bye, &via);
        bye.headers.push("User-Agent", self.config.user_agent.clone());
        self.auth.authorize(&mut bye);
        self.start_client(now, call, Purpose::Bye, bye);
    }

    pub(crate) fn on_client_event(
        &mut self,
        now: Instant,
        call: CallHandle,
        purpose: Purpose,
        request: &Request,
        event: ClientEvent,
    ) {
        match (purpose, event) {
            (Purpose::Invite, event) => self.on_invite_event(now, call, event),
            (Purpose::ReInvite, event) => self.on_reinvite_event(now, call, event),
            (Purpose::Refer, event) => self.on_refer_event(now, call, request, event),
            (Purpose::Info, event) => self.on_info_event(now, call, request, event),
            (Purpose::Update, event) => self.on_update_event(now, call, request, event),
            (Purpose::Bye, ClientEvent::Response(response))
                if response.status == StatusCode::UNAUTHORIZED
                    || response.status == StatusCode::PROXY_AUTHENTICATION_REQUIRED =>
            {
                self.retry_bye(now, call, request, &response);
            }
            // The INVITE's 487 (or the CANCEL deadline) decides; a BYE's outcome changes
            // nothing for a call already reported as ended.
            (purpose, event) => tracing::debug!(?call, ?purpose, ?event, "transaction outcome"),
        }
    }

    /// PBXs challenge BYE too: answer once, or the far end would keep the call up.
    fn retry_bye(&mut self, now: Instant, call: CallHandle, bye: &Request, challenge: &Response) {
        if let Err(error) = self.auth.on_challenge(challenge, false) {
            tracing::warn!(%error, "BYE authentication failed");
            return;
        }
        let via = self.via();
        let mut retry = bye.clone();
        let seq = bye.headers.cseq().map(|c| c.seq).unwrap_or_default();
        retry.headers.set("Via", via.to_string());
        retry.headers.set("CSeq", format!("{} BYE", seq.saturating_add(1)));
        self.auth.authorize(&mut retry);
        self.start_client(now, call, Purpose::AuthenticatedBye, retry);
    }

    fn on_invite_event(&mut self, now: Instant, call: CallHandle, event: ClientEvent) {
        let Some(c) = self.calls.get(&call) else {
            return;
        };
        let cancelling = c.state == CallState::Cancelling;
        let interval_retried = c.interval_retried;
        match event {
            ClientEvent::Response(response) => {
                let status = response.status;
                if status.is_provisional() {
                    self.on_provisional(now, call, &response);
                } else if status.is_success() {
                    self.on_success(now, call, &response);
                } else if (status == StatusCode::UNAUTHORIZED || status == StatusCode::PROXY_AUTHENTICATION_REQUIRED)
                    && !cancelling
                {
                    self.retry_authenticated(now, call, &response);
                } else if status.code() == 422 && !cancelling && !interval_retried {
                    self.retry_session_interval(now, call, &response);
                } else if cancelling {
                    self.end(call, EndReason::Local);
                } else {
                    self.end(call, rejection(&response));
                }
            }
            ClientEvent::Timeout if cancelling => self.end(call, EndReason::Local),
            ClientEvent::Timeout => self.end(call, EndReason::Timeout),
            ClientEvent::TransportError => self.end(call, EndReason::TransportError),
        }
    }

    fn on_provisional(&mut self, now: Instant, call: CallHandle, response: &Response) {
        let Some(c) = self.calls.get_mut(&call) else {
            return;
        };
        if c.cancel_when_possible {
            self.send_cancel(now, call);
            return;
        }
        if c.state == CallState::Calling {
            c.state = CallState::Early;
        }
        if c.early_tag.is_none() {
            c.early_tag = response.headers.to().ok().and_then(|to| to.tag());
        }
        let mut early_media = None;
        if !response.body.is_empty()
            && let Some(pending) = c.pending_offer.take()
        {
            match c
                .negotiator
                .accept_answer(pending, &String::from_utf8_lossy(&response.body))
            {
                Ok(media) => {
                    c.media = Some(media.clone());
                    early_media = Some(media);
                }
                Err(error) => tracing::warn!(%error, "unusable early SDP answer"),
            }
        }
        // 100 Trying only tells us a CANCEL is now allowed; it is not news for the operator.
        if response.status != StatusCode::TRYING {
            let status = response.status.code();
            self.events.push_back(UaEvent::Progress {
                call,
                status,
                early_media,
            });
        }
    }

    fn on_success(&mut self, now: Instant, call: CallHandle, response: &Response) {
        let via = self.via();
        let Some(c) = self.calls.get_mut(&call) else {
            return;
        };
        if let Some(dialog) = &c.dialog {
            // A retransmitted 2xx: the ACK is ours to repeat (§13.2.2.4). A 2xx from another
            // fork gets no ACK here; the single-line softphone keeps the first dialog.
            let same =
                response.headers.to().ok().and_then(|t| t.tag()).as_deref() == Some(dialog.id.remote_tag.as_str());
            if let (true, Some(ack)) = (same, c.ack.clone()) {
                let peer = c.peer;
                self.transmit(peer, ack);
            }
            return;
        }
        let dialog = match Dialog::from_uac(&c.invite, response) {
            Ok(dialog) => dialog,
            Err(error) => {
                tracing::warn!(%error, "2xx cannot form a dialog");
                self.end(
                    call,
                    EndReason::Rejected {
                        status: response.status.code(),
                        reason: response.reason.clone(),
                    },
                );
                return;
            }
        };
        let seq = c.invite.headers.cseq().map(|s| s.seq).unwrap_or(1);
        let ack = dialog.ack(seq, &via).to_bytes();
        c.dialog = Some(dialog);
        c.ack = Some(ack.clone());
        let peer = c.peer;
        if c.media.is_none()
            && let Some(pending) = c.pending_offer.take()
        {
            c.media = c
                .negotiator
                .accept_answer(pending, &String::from_utf8_lossy(&response.body))
                .ok();
        }
        let media = c.media.clone();
        let cancelling = c.state == CallState::Cancelling;
        self.transmit(peer, ack);
        match (cancelling, media) {
            (true, _) => {
                // CANCEL lost the race with the 2xx: acknowledge, then hang up.
                self.send_bye(now, call);
                self.end(call, EndReason::Local);
            }
            (false, None) => {
                self.send_bye(now, call);
                self.end(call, EndReason::MediaNotAcceptable);
            }
            (false, Some(media)) => {
                if let Some(c) = self.calls.get_mut(&call) {
                    c.state = CallState::Established;
                }
                self.session_timer_from_response(now, call, response);
                tracing::info!(?call, codec = ?media.codec, "call established");
                self.events.push_back(UaEvent::Established { call, media });
            }
        }
    }

    /// 422 (RFC 4028 §7.3): the INVITE again, asking for at least the peer's Min-SE.
    fn retry_session_interval(&mut self, now: Instant, call: CallHandle, response: &Response) {
        let Ok(min_se) = response.headers.min_se() else {
            self.end(call, rejection(response));
            return;
        };
        let headers = self.session_timer_headers(Some(min_se));
        let via = self.via();
        let Some(c) = self.calls.get_mut(&call) else {
            return;
        };
        c.interval_retried = true;
        let mut invite = c.invite.clone();
        let seq = invite.headers.cseq().map(|s| s.seq).unwrap_or(1);
        invite.headers.set("Via", via.to_string());
        invite.headers.set("CSeq", format!("{} INVITE", seq + 1));
        for (name, value) in headers {
            invite.headers.set(name, value);
        }
        self.auth.authorize(&mut invite);
        let Ok(key) = TransactionKey::for_client(&invite) else {
            return;
        };
        c.invite = invite.clone();
        c.invite_key = key;
        self.start_client(now, call, Purpose::Invite, invite);
    }

    /// Re-sends the INVITE with credentials: same Call-ID and tags, CSeq + 1, new branch.
    fn retry_authenticated(&mut self, now: Instant, call: CallHandle, response: &Response) {
        let retried = self.calls.get(&call).is_some_and(|c| c.auth_retried);
        if let Err(error) = self.auth.on_challenge(response, retried) {
            tracing::warn!(%error, "INVITE authentication failed");
            self.end(call, EndReason::AuthenticationFailed);
            return;
        }
        let via = self.via();
        let Some(c) = self.calls.get_mut(&call) else {
            return;
        };
        c.auth_retried = true;
        let mut invite = c.invite.clone();
        let seq = invite.headers.cseq().map(|s| s.seq).unwrap_or(1);
        invite.headers.set("Via", via.to_string());
        invite.headers.set("CSeq", format!("{} INVITE", seq + 1));
        self.auth.authorize(&mut invite);
        let Ok(key) = TransactionKey::for_client(&invite) else {
            return;
        };
        c.invite = invite.clone();
        c.invite_key = key;
        self.start_client(now, call, Purpose::Invite, invite);
    }
}
