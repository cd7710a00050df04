//! UPDATE from the peer (RFC 3311): a session refresh without a body (RFC 4028), or a new
//! offer within an established call, answered like a re-INVITE but in one transaction.

use std::time::Instant;

use super::{CallState, session_timer::UasTimer};
use crate::{
    msg::Request,
    sdp::{Direction, SdpError},
    transaction::TransactionKey,
    ua::{Reply, UaEvent, UserAgent},
};

impl UserAgent {
    pub(crate) fn on_update(&mut self, now: Instant, key: &TransactionKey, request: &Request) {
        let Some(call) = self.in_dialog(now, key, request) else {
            return;
        };
        let decision = super::session_timer::negotiate_as_uas(&request.headers, &self.config.session_timer);
        if let UasTimer::TooBrief { min_se } = decision {
            self.respond(
                now,
                key,
                Reply::new(422, "Session Interval Too Small").header("Min-SE", min_se.to_string()),
            );
            return;
        }
        let Some(c) = self.calls.get_mut(&call) else {
            return;
        };
        let mut answer = None;
        if !request.body.is_empty() {
            // An offer while ours is outstanding, or before the call is up, collides (§5.2).
            if c.state != CallState::Established || c.pending_offer.is_some() || c.reinvite.is_some() {
                self.respond(now, key, Reply::new(491, "Request Pending"));
                return;
            }
            let direction = if c.local_hold {
                Direction::SendOnly
            } else {
                Direction::SendRecv
            };
            match c
                .negotiator
                .answer_offer(&String::from_utf8_lossy(&request.body), direction)
            {
                Ok(done) => answer = Some(done),
                Err(SdpError::Glare) => {
                    self.respond(now, key, Reply::new(491, "Request Pending"));
                    return;
                }
                Err(error) => {
                    tracing::info!(%error, "UPDATE offer refused");
                    self.respond(now, key, Reply::new(488, "Not Acceptable Here"));
                    return;
                }
            }
        }
        let tag = c.local_tag.clone();
        let contact = self.contact();
        let timer_headers = self.session_timer_for_request(now, call, decision, &request.headers);
        let mut reply = Reply {
            to_tag: Some(&tag),
            sdp: answer.as_ref().map(|(sdp, _)| sdp.as_str()),
            ..Reply::new(200, "OK")
        }
        .header("Contact", contact);
        reply.headers.extend(timer_headers);
        self.respond(now, key, reply);
        if let Some((_, media)) = answer {
            if let Some(c) = self.calls.get_mut(&call) {
                c.media = Some(media.clone());
            }
            self.events.push_back(UaEvent::MediaUpdated { call, media });
        }
    }
}
