//! DTMF over SIP INFO, the fallback for peers that negotiated no RFC 4733 telephone-event:
//! `application/dtmf-relay` (`Signal=5` / `Duration=160`, the de facto format of Cisco and
//! most PBXs) out, and both it and the bare `application/dtmf` in.
//!
//! Digits go one INFO at a time: a new INFO leaves only after the previous one's final
//! response, so the peer sees them in order (two non-INVITE transactions may overtake each
//! other on UDP).

use std::{collections::VecDeque, time::Duration, time::Instant};

use super::{CallHandle, CallState};
use crate::{
    msg::{Method, Request},
    transaction::{ClientEvent, TransactionKey},
    ua::{DialogEvent, Purpose, Reply, UaError, UserAgent},
};

/// The body types of DTMF INFO we understand (sent in Accept).
pub(crate) const DTMF_TYPES: [&str; 2] = ["application/dtmf-relay", "application/dtmf"];

/// A call's digits waiting for their INFO.
#[derive(Debug, Clone, Default)]
pub(crate) struct InfoQueue {
    pending: VecDeque<(char, Duration)>,
    in_flight: bool,
}

impl UserAgent {
    /// Sends `digits` (0-9, *, #, A-D) as SIP INFO, one request per digit, in order. Used
    /// when the call's session has no telephone-event; a driver decides by
    /// [`Negotiated::telephone_event`](crate::sdp::Negotiated).
    pub fn send_info_dtmf(
        &mut self,
        now: Instant,
        call: CallHandle,
        digits: &str,
        duration: Duration,
    ) -> Result<(), UaError> {
        if let Some(bad) = digits.chars().find(|d| signal_of(*d).is_none()) {
            return Err(UaError::InvalidDigit(bad));
        }
        let c = self.calls.get_mut(&call).ok_or(UaError::UnknownCall)?;
        if c.state != CallState::Established || c.dialog.is_none() {
            return Err(UaError::InvalidState { action: "send DTMF on" });
        }
        let normalized = digits.chars().map(|d| (d.to_ascii_uppercase(), duration));
        c.info.pending.extend(normalized);
        self.send_next_info(now, call);
        Ok(())
    }

    fn send_next_info(&mut self, now: Instant, call: CallHandle) {
        let via = self.via();
        let Some(c) = self.calls.get_mut(&call) else {
            return;
        };
        if c.info.in_flight {
            return;
        }
        let Some((digit, duration)) = c.info.pending.pop_front() else {
            return;
        };
        let Some(dialog) = c.dialog.as_mut() else {
            return;
        };
        let mut info = dialog.request(Method::Info, &via);
        info.headers.push("Content-Type", "application/dtmf-relay");
        info.body = format!("Signal={digit}\r\nDuration={}\r\n", duration.as_millis()).into_bytes();
        self.auth.authorize(&mut info);
        c.info.in_flight = true;
        self.start_client(now, call, Purpose::Info, info);
    }

    pub(crate) fn on_info_event(&mut self, now: Instant, call: CallHandle, request: &Request, event: ClientEvent) {
        let delivered = match event {
            ClientEvent::Response(response) if response.status.is_provisional() => return,
            ClientEvent::Response(response) if response.status.is_success() => true,
            ClientEvent::Response(response) if super::refer::is_challenge(&response) => {
                // Retried once: a request that already carried credentials is not retried again.
                let carried = request.headers.get("Authorization").is_some()
                    || request.headers.get("Proxy-Authorization").is_some();
                if !carried && self.retry_in_dialog(now, call, Purpose::Info, request, &response) {
                    return;
                }
                false
            }
            ClientEvent::Response(response) => {
                tracing::info!(?call, status = response.status.code(), "DTMF INFO refused");
                false
            }
            ClientEvent::Timeout | ClientEvent::TransportError => false,
        };
        if let Some(c) = self.calls.get_mut(&call) {
            if delivered {
                c.info.in_flight = false;
            } else {
                // The rest of the digits would arrive out of context: forget them.
                c.info = InfoQueue::default();
            }
        }
        self.send_next_info(now, call);
    }

    /// An INFO in a call's dialog: a DTMF digit, or an empty INFO (a keepalive some PBXs send).
    pub(crate) fn on_info(&mut self, now: Instant, key: &TransactionKey, request: &Request) {
        let Some(call) = self.in_dialog(now, key, request) else {
            return;
        };
        if request.body.is_empty() {
            self.respond(now, key, Reply::new(200, "OK"));
            return;
        }
        let kind = request
            .headers
            .get("Content-Type")
            .map(|t| t.split(';').next().unwrap_or_default().trim().to_ascii_lowercase())
            .unwrap_or_default();
        if !DTMF_TYPES.contains(&kind.as_str()) {
            let reply = Reply::new(415, "Unsupported Media Type").header("Accept", DTMF_TYPES.join(", "));
            self.respond(now, key, reply);
            return;
        }
        let text = String::from_utf8_lossy(&request.body);
        let parsed = if kind == "application/dtmf" {
            digit_of(text.trim()).map(|d| (d, None))
        } else {
            parse_dtmf_relay(&text)
        };
        let Some((digit, duration)) = parsed else {
            self.respond(now, key, Reply::new(400, "Bad Request (DTMF body)"));
            return;
        };
        self.respond(now, key, Reply::new(200, "OK"));
        tracing::debug!(?call, "DTMF received over INFO");
        self.dialog_event(DialogEvent::Dtmf { call, digit, duration });
    }
}

/// `Signal=5\r\nDuration=160`: keys case-insensitive, spaces around `=` tolerated, the
/// duration optional.
fn parse_dtmf_relay(text: &str) -> Option<(char, Option<Duration>)> {
    let mut digit = None;
    let mut duration = None;
    for line in text.lines() {
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        let value = value.trim();
        match key.trim().to_ascii_lowercase().as_str() {
            "signal" => digit = Some(digit_of(value)?),
            "duration" => duration = value.parse::<u64>().ok().map(Duration::from_millis),
            _ => {}
        }
    }
    digit.map(|d| (d, duration))
}

/// A DTMF digit from its text: the character itself, or the RFC 4733 event number some
/// senders use (10 = `*`, 11 = `#`, 12-15 = A-D).
fn digit_of(value: &str) -> Option<char> {
    let mut chars = value.chars();
    if let (Some(c), None) = (chars.next(), chars.clone().next()) {
        let c = c.to_ascii_uppercase();
        return signal_of(c).map(|_| c);
    }
    match value {
        "10" => Some('*'),
        "11" => Some('#'),
        "12" => Some('A'),
        "13" => Some('B'),
        "14" => Some('C'),
        "15" => Some('D'),
        _ => None,
    }
}

/// The digits a keypad can send (RFC 4733 events 0-15).
fn signal_of(digit: char) -> Option<char> {
    matches!(digit.to_ascii_uppercase(), '0'..='9' | '*' | '#' | 'A'..='D').then_some(digit)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dtmf_relay_bodies() {
        assert_eq!(
            parse_dtmf_relay("Signal=5\r\nDuration=160\r\n"),
            Some(('5', Some(Duration::from_millis(160))))
        );
        assert_eq!(parse_dtmf_relay("signal = #\nduration= x"), Some(('#', None)));
        assert_eq!(parse_dtmf_relay("Signal=11"), Some(('#', None)));
        assert_eq!(parse_dtmf_relay("Signal=b"), Some(('B', None)));
        assert_eq!(parse_dtmf_relay("Signal=E"), None);
        assert_eq!(parse_dtmf_relay("Duration=100"), None);
        assert_eq!(digit_of("16"), None);
    }
}
