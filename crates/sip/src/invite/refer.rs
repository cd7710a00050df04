//! Call transfer: REFER (RFC 3515) with Referred-By (RFC 3892), the implicit `refer`
//! subscription whose NOTIFYs carry the transferee's progress as `message/sipfrag`, and
//! attended transfer with Replaces (RFC 3891).
//!
//! As transferor we REFER an established call, report the 202 and every sipfrag status, and on
//! a 2xx sipfrag hang the original call up (as desk phones do). As transferee we follow the
//! configured [`ReferPolicy`]: refuse with 603, or answer 202, call the Refer-To target (with
//! its embedded Replaces and the Referred-By we were given) and NOTIFY the transferor of that
//! call's progress until it is answered or fails.

use std::time::Instant;

use super::{CallHandle, CallState, EndReason, Role};
use crate::{
    msg::{Method, NameAddr, Replaces, Request, Response, StatusCode, SubscriptionStatus, Uri},
    transaction::{ClientEvent, TransactionKey},
    ua::{DialogEvent, Purpose, Reply, UaError, UaEvent, UserAgent},
};

/// What the user agent does with a REFER from the peer of an established call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ReferPolicy {
    /// Call the target and report its progress to the transferor.
    Accept,
    /// Answer 603 Decline; the call goes on unchanged.
    #[default]
    Reject,
}

/// How a transfer we asked for stands (reported in [`DialogEvent::Transfer`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TransferState {
    /// The transferee accepted the REFER (2xx) and is calling the target.
    Accepted,
    /// The transferee's call to the target progresses: the sipfrag status (100, 180, 183).
    Progress { status: u16 },
    /// The target answered; the original call is hung up (`Ended` with
    /// [`EndReason::Transferred`] follows).
    Succeeded,
    /// The REFER was refused, or the transferee's call failed: the final status when there was
    /// one. The original call stays up.
    Failed { status: Option<u16> },
}

/// Our REFER of a call, until its outcome is known.
#[derive(Debug, Clone)]
pub(crate) struct ReferOut {
    /// The REFER was re-sent with credentials once already.
    pub(crate) auth_retried: bool,
}

/// The peer's REFER we accepted: the call we placed for it, whose progress we NOTIFY.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ReferIn {
    pub(crate) new_call: CallHandle,
}

/// The longest a `refer` subscription is announced for; the last NOTIFY ends it sooner.
const REFER_SUBSCRIPTION_SECS: u32 = 60;

impl UserAgent {
    /// Blind transfer: asks the peer of an established call to call `target` (REFER with
    /// Refer-To and Referred-By). Progress arrives as [`DialogEvent::Transfer`].
    pub fn transfer(&mut self, now: Instant, call: CallHandle, target: &Uri) -> Result<(), UaError> {
        if !target.is_sip() {
            return Err(UaError::InvalidTarget);
        }
        self.send_refer(now, call, target.clone())
    }

    /// Attended transfer: asks the peer of `call` to call the peer of `to`, replacing our
    /// dialog with it (Refer-To = `to`'s remote target with an embedded Replaces). On success
    /// `call` is hung up; `to` is ended by its peer's BYE once the replacement connects.
    pub fn transfer_attended(&mut self, now: Instant, call: CallHandle, to: CallHandle) -> Result<(), UaError> {
        if call == to {
            return Err(UaError::InvalidState {
                action: "transfer a call to itself",
            });
        }
        let other = self.calls.get(&to).ok_or(UaError::UnknownCall)?;
        let dialog = match (&other.dialog, other.state) {
            (Some(dialog), CallState::Established) => dialog,
            _ => return Err(UaError::InvalidState { action: "transfer to" }),
        };
        // RFC 3891 §3: the tags as seen by the one who receives the INVITE with Replaces.
        let replaces = Replaces {
            call_id: dialog.id.call_id.clone(),
            to_tag: dialog.id.remote_tag.clone(),
            from_tag: dialog.id.local_tag.clone(),
            early_only: false,
        };
        let target = dialog
            .remote_target()
            .without_headers()
            .with_header("Replaces", &replaces.to_string());
        self.send_refer(now, call, target)
    }

    fn send_refer(&mut self, now: Instant, call: CallHandle, target: Uri) -> Result<(), UaError> {
        let via = self.via();
        let contact = self.contact();
        let referred_by = NameAddr::new(self.local_identity().uri).to_string();
        let user_agent = self.config.user_agent.clone();
        let c = self.calls.get_mut(&call).ok_or(UaError::UnknownCall)?;
        let dialog = match (c.dialog.as_mut(), c.state) {
            (Some(dialog), CallState::Established) if c.refer_out.is_none() => dialog,
            _ => return Err(UaError::InvalidState { action: "transfer" }),
        };
        let mut refer = dialog.request(Method::Refer, &via);
        refer.headers.push("Refer-To", NameAddr::new(target).to_string());
        refer.headers.push("Referred-By", referred_by);
        refer.headers.push("Contact", contact);
        refer.headers.push("User-Agent", user_agent);
        self.auth.authorize(&mut refer);
        c.refer_out = Some(ReferOut { auth_retried: false });
        tracing::info!(?call, "transfer requested");
        self.start_client(now, call, Purpose::Refer, refer);
        Ok(())
    }

    pub(crate) fn on_refer_event(&mut self, now: Instant, call: CallHandle, refer: &Request, event: ClientEvent) {
        let status = match event {
            ClientEvent::Response(response) if response.status.is_provisional() => return,
            ClientEvent::Response(response) if response.status.is_success() => {
                if self.calls.get(&call).is_some_and(|c| c.refer_out.is_some()) {
                    self.dialog_event(DialogEvent::Transfer {
                        call,
                        state: TransferState::Accepted,
                    });
                }
                return;
            }
            ClientEvent::Response(response) if is_challenge(&response) => {
                let retried = self
                    .calls
                    .get_mut(&call)
                    .and_then(|c| c.refer_out.as_mut())
                    .map(|r| std::mem::replace(&mut r.auth_retried, true));
                if retried == Some(false) && self.retry_in_dialog(now, call, Purpose::Refer, refer, &response) {
                    return;
                }
                Some(response.status.code())
            }
            ClientEvent::Response(response) => Some(response.status.code()),
            ClientEvent::Timeout => Some(StatusCode::REQUEST_TIMEOUT.code()),
            ClientEvent::TransportError => None,
        };
        self.transfer_failed(call, status);
    }

    fn transfer_failed(&mut self, call: CallHandle, status: Option<u16>) {
        if let Some(c) = self.calls.get_mut(&call)
            && c.refer_out.take().is_some()
        {
            tracing::info!(?call, ?status, "transfer failed");
            self.dialog_event(DialogEvent::Transfer {
                call,
                state: TransferState::Failed { status },
            });
        }
    }

    /// A NOTIFY of the `refer` subscription our REFER created: the transferee's progress.
    pub(crate) fn on_notify(&mut self, now: Instant, key: &TransactionKey, request: &Request) {
        let Some(call) = self.in_dialog(now, key, request) else {
            return;
        };
        if !request.headers.event().is_ok_and(|e| e.package == "refer") {
            self.respond(now, key, Reply::new(489, "Bad Event").header("Allow-Events", "refer"));
            return;
        }
        if self.calls.get(&call).is_none_or(|c| c.refer_out.is_none()) {
            self.respond(now, key, Reply::new(481, "Subscription Does Not Exist"));
            return;
        }
        let Some(status) = sipfrag_status(&request.body) else {
            self.respond(now, key, Reply::new(400, "Bad Request (sipfrag)"));
            return;
        };
        let terminated = request
            .headers
            .subscription_state()
            .is_ok_and(|s| s.status == SubscriptionStatus::Terminated);
        self.respond(now, key, Reply::new(200, "OK"));
        match status {
            200..=299 => {
                if let Some(c) = self.calls.get_mut(&call) {
                    c.refer_out = None;
                }
                tracing::info!(?call, "transfer succeeded");
                self.dialog_event(DialogEvent::Transfer {
                    call,
                    state: TransferState::Succeeded,
                });
                self.send_bye(now, call);
                self.end(call, EndReason::Transferred);
            }
            300.. => self.transfer_failed(call, Some(status)),
            // The subscription ended without telling how the call went (RFC 3515 §2.4.7).
            _ if terminated => self.transfer_failed(call, None),
            _ => self.dialog_event(DialogEvent::Transfer {
                call,
                state: TransferState::Progress { status },
            }),
        }
    }

    /// The peer asks us to call someone (a transfer); the configured policy decides.
    pub(crate) fn on_refer(&mut self, now: Instant, key: &TransactionKey, request: &Request) {
        let Some(call) = self.in_dialog(now, key, request) else {
            return;
        };
        let Ok(refer_to) = request.headers.refer_to() else {
            self.respond(now, key, Reply::new(400, "Bad Request (Refer-To)"));
            return;
        };
        if !refer_to.uri.is_sip() {
            self.respond(now, key, Reply::new(416, "Unsupported URI Scheme"));
            return;
        }
        let replaces = match refer_to.uri.header("Replaces").map(|v| Replaces::parse(&v)) {
            Some(Ok(replaces)) => Some(replaces),
            Some(Err(_)) => {
                self.respond(now, key, Reply::new(400, "Bad Request (Replaces in Refer-To)"));
                return;
            }
            None => None,
        };
        let referred_by = request.headers.referred_by().ok();
        let target = refer_to.uri.without_headers();
        let Some(c) = self.calls.get(&call) else {
            return;
        };
        if c.state != CallState::Established {
            self.respond(now, key, Reply::new(403, "Forbidden (call not established)"));
            return;
        }
        if c.refer_in.is_some() {
            self.respond(now, key, Reply::new(491, "Request Pending"));
            return;
        }
        let tag = c.local_tag.clone();
        if self.config.refer_policy == ReferPolicy::Reject {
            tracing::info!(?call, "transfer request declined by policy");
            self.respond(
                now,
                key,
                Reply {
                    to_tag: Some(&tag),
                    ..Reply::new(603, "Decline")
                },
            );
            self.dialog_event(DialogEvent::Referred {
                call,
                target,
                referred_by,
                new_call: None,
            });
            return;
        }
        let contact = self.contact();
        self.respond(
            now,
            key,
            Reply {
                to_tag: Some(&tag),
                ..Reply::new(202, "Accepted")
            }
            .header("Contact", contact),
        );
        let mut extra = Vec::new();
        if let Some(replaces) = &replaces {
            extra.push(("Replaces", replaces.to_string()));
        }
        if let Some(referred_by) = &referred_by {
            extra.push(("Referred-By", referred_by.to_string()));
        }
        match self.place_call(now, &target, &extra) {
            Ok(new_call) => {
                tracing::info!(?call, ?new_call, "transfer request accepted");
                if let Some(c) = self.calls.get_mut(&call) {
                    c.refer_in = Some(ReferIn { new_call });
                }
                self.notify_referrer(now, call, 100, "Trying", false);
                self.dialog_event(DialogEvent::Referred {
                    call,
                    target,
                    referred_by,
                    new_call: Some(new_call),
                });
            }
            Err(error) => {
                tracing::info!(%error, "cannot call the transfer target");
                self.notify_referrer(now, call, 400, "Bad Request", true);
            }
        }
    }

    /// Reports what happened since `mark` to the calls' transferors: each provisional, the
    /// answer or the failure of a call placed for an accepted REFER becomes a NOTIFY.
    pub(crate) fn report_referrals(&mut self, now: Instant, mark: usize) {
        let news: Vec<(CallHandle, u16, String, bool)> = self
            .events
            .range(mark..)
            .filter_map(|event| match event {
                UaEvent::Progress { call, status, .. } => Some((*call, *status, reason_of(*status), false)),
                UaEvent::Established { call, .. } => Some((*call, 200, String::from("OK"), true)),
                UaEvent::Ended { call, reason } => {
                    let (status, reason) = sipfrag_for(reason);
                    Some((*call, status, reason, true))
                }
                _ => None,
            })
            .collect();
        for (new_call, status, reason, last) in news {
            let origin = self
                .calls
                .iter_mut()
                .find(|(_, c)| c.refer_in.is_some_and(|r| r.new_call == new_call));
            let Some((&origin, c)) = origin else {
                continue;
            };
            if last {
                c.refer_in = None;
            }
            self.notify_referrer(now, origin, status, &reason, last);
        }
    }

    /// One NOTIFY of the `refer` subscription in `call`'s dialog (RFC 3515 §2.4.4).
    fn notify_referrer(&mut self, now: Instant, call: CallHandle, status: u16, reason: &str, last: bool) {
        let via = self.via();
        let contact = self.contact();
        let Some(dialog) = self.calls.get_mut(&call).and_then(|c| c.dialog.as_mut()) else {
            return;
        };
        let mut notify = dialog.request(Method::Notify, &via);
        notify.headers.push("Event", "refer");
        let state = if last {
            String::from("terminated;reason=noresource")
        } else {
            format!("active;expires={REFER_SUBSCRIPTION_SECS}")
        };
        notify.headers.push("Subscription-State", state);
        notify.headers.push("Contact", contact);
        notify.headers.push("Content-Type", "message/sipfrag;version=2.0");
        notify.body = format!("SIP/2.0 {status} {reason}\r\n").into_bytes();
        self.auth.authorize(&mut notify);
        self.start_client(now, call, Purpose::Notify, notify);
    }

    /// An INVITE with Replaces (RFC 3891 §3): the dialog it names, or the status refusing it.
    /// Confirmed dialogs match by their identity; our own outgoing early dialogs by the
    /// INVITE's Call-ID and From tag and the provisional's To tag.
    pub(crate) fn replaced_call(&self, replaces: &Replaces) -> Result<CallHandle, (u16, &'static str)> {
        let found = self.calls.iter().find(|(_, c)| match (&c.dialog, c.state) {
            (Some(d), _) => {
                d.id.call_id == replaces.call_id
                    && d.id.local_tag == replaces.to_tag
                    && d.id.remote_tag == replaces.from_tag
            }
            (None, CallState::Early) => {
                c.invite.headers.call_id().is_ok_and(|id| id == replaces.call_id)
                    && c.local_tag == replaces.to_tag
                    && c.early_tag.as_deref() == Some(replaces.from_tag.as_str())
            }
            _ => false,
        });
        match found {
            Some((&call, c)) if c.state == CallState::Early && c.role == Role::Outgoing => Ok(call),
            Some((&call, c)) if c.state == CallState::Established && !c.bye_after_ack => {
                if replaces.early_only {
                    Err((486, "Busy Here"))
                } else {
                    Ok(call)
                }
            }
            // An early dialog we did not initiate (our ringing incoming call) is not replaceable.
            _ => Err((481, "Call/Transaction Does Not Exist")),
        }
    }
}

/// The status code of a `message/sipfrag` body's status line (`SIP/2.0 180 Ringing`).
fn sipfrag_status(body: &[u8]) -> Option<u16> {
    let text = std::str::from_utf8(body).ok()?;
    let line = text.lines().next()?.trim();
    let mut words = line.split_whitespace();
    let version = words.next()?;
    if !version.eq_ignore_ascii_case("SIP/2.0") {
        return None;
    }
    let code: u16 = words.next()?.parse().ok()?;
    StatusCode::new(code).map(StatusCode::code)
}

fn reason_of(status: u16) -> String {
    match status {
        180 => "Ringing",
        181 => "Call Is Being Forwarded",
        182 => "Queued",
        183 => "Session Progress",
        _ => "Trying",
    }
    .to_owned()
}

/// The status line reported to a transferor for a call that ended before it was answered.
fn sipfrag_for(reason: &EndReason) -> (u16, String) {
    let (status, text) = match reason {
        EndReason::Rejected { status, reason } => return (*status, reason.clone()),
        EndReason::Timeout => (408, "Request Timeout"),
        EndReason::MediaNotAcceptable => (488, "Not Acceptable Here"),
        EndReason::AuthenticationFailed => (403, "Forbidden"),
        EndReason::TransportError => (503, "Service Unavailable"),
        _ => (487, "Request Terminated"),
    };
    (status, text.to_owned())
}

/// Whether a final response to our REFER or NOTIFY is one the caller may retry with
/// credentials.
pub(crate) fn is_challenge(response: &Response) -> bool {
    response.status == StatusCode::UNAUTHORIZED || response.status == StatusCode::PROXY_AUTHENTICATION_REQUIRED
}
