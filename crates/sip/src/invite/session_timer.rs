//! Session timers (RFC 4028): a dialog whose peer vanished without BYE must not stay up for
//! ever. Both sides agree on an interval and on who refreshes; the refresher re-INVITEs or
//! UPDATEs at half the interval, the other side sends BYE when no refresh arrived in time.
//!
//! Negotiation lives here as pure functions of the messages; the [`SessionTimer`] itself is
//! plain data (deadlines) that the call's timer drives.

use std::time::{Duration, Instant};

use super::{CallHandle, CallState, EndReason};
use crate::{
    msg::{Headers, Method, Refresher, Response, SessionExpires},
    transaction::ClientEvent,
    ua::{Purpose, UserAgent},
};

/// RFC 4028 §4: no interval may be below 90 s.
pub const MIN_SE_FLOOR: u32 = 90;

/// What we ask for and what we accept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionTimerConfig {
    /// The session interval our INVITEs ask for, in seconds; `None` asks for none (a peer's
    /// request is still honoured).
    pub expires: Option<u32>,
    /// The smallest interval we accept (our Min-SE); raised to 90 if lower.
    pub min_se: u32,
}

impl Default for SessionTimerConfig {
    /// 30 minutes, the RFC's recommended default, and the floor of 90 s.
    fn default() -> Self {
        Self {
            expires: Some(1800),
            min_se: MIN_SE_FLOOR,
        }
    }
}

impl SessionTimerConfig {
    pub(crate) fn min_se(&self) -> u32 {
        self.min_se.max(MIN_SE_FLOOR)
    }
}

/// A running session timer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SessionTimer {
    pub(crate) interval: u32,
    pub(crate) we_refresh: bool,
    /// The refresher's next refresh (half the interval).
    refresh_at: Option<Instant>,
    /// The other side's give-up point: the interval less min(32 s, a third of it) (§10).
    expire_at: Option<Instant>,
    /// The peer's Allow lists UPDATE: refresh with it rather than a re-INVITE.
    pub(crate) peer_allows_update: bool,
}

impl SessionTimer {
    pub(crate) fn start(now: Instant, interval: u32, we_refresh: bool, peer_allows_update: bool) -> Self {
        let span = Duration::from_secs(u64::from(interval));
        let (refresh_at, expire_at) = if we_refresh {
            (Some(now + span / 2), None)
        } else {
            let margin = Duration::from_secs(u64::from((interval / 3).min(32)));
            (None, Some(now + span - margin))
        };
        Self {
            interval,
            we_refresh,
            refresh_at,
            expire_at,
            peer_allows_update,
        }
    }

    pub(crate) fn deadline(&self) -> Option<Instant> {
        self.refresh_at.or(self.expire_at)
    }

    /// The header our requests and responses carry while this timer runs; `uac_refreshes`
    /// says whether the refresher is the UAC of the transaction it goes into.
    fn header(&self, uac_refreshes: bool) -> String {
        SessionExpires {
            delta: self.interval,
            refresher: Some(if uac_refreshes { Refresher::Uac } else { Refresher::Uas }),
        }
        .to_string()
    }
}

/// Whether a message's Supported (or Require) lists an option tag.
pub(crate) fn supports(headers: &Headers, tag: &str) -> bool {
    headers
        .get_all("Supported")
        .chain(headers.get_all("Require"))
        .flat_map(|v| v.split(','))
        .any(|t| t.trim().eq_ignore_ascii_case(tag))
}

fn allows_update(headers: &Headers) -> bool {
    headers
        .get_all("Allow")
        .flat_map(|v| v.split(','))
        .any(|m| m.trim() == "UPDATE")
}

/// The UAS's decision on a request's Session-Expires (§9).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum UasTimer {
    /// No timer for this session.
    None,
    /// The interval is too brief: answer 422 with our Min-SE.
    TooBrief { min_se: u32 },
    /// Run this timer; the 2xx carries these headers.
    Run {
        interval: u32,
        we_refresh: bool,
        headers: Vec<(&'static str, String)>,
    },
}

/// What a UAS does with a request (INVITE, re-INVITE or UPDATE) asking for a session timer.
pub(crate) fn negotiate_as_uas(request: &Headers, config: &SessionTimerConfig) -> UasTimer {
    let Ok(asked) = request.session_expires() else {
        return UasTimer::None;
    };
    let uac_supports = supports(request, "timer");
    let min_se = config.min_se();
    let interval = if asked.delta < min_se {
        if uac_supports {
            return UasTimer::TooBrief { min_se };
        }
        // §8.1: a UAC that cannot understand 422 gets the interval raised instead.
        min_se
    } else {
        asked.delta
    };
    // §9: without a preference, a UAC that supports timers refreshes; otherwise we must.
    let refresher = asked
        .refresher
        .unwrap_or(if uac_supports { Refresher::Uac } else { Refresher::Uas });
    let mut headers = vec![(
        "Session-Expires",
        SessionExpires {
            delta: interval,
            refresher: Some(refresher),
        }
        .to_string(),
    )];
    if uac_supports {
        headers.push(("Require", String::from("timer")));
    }
    UasTimer::Run {
        interval,
        we_refresh: refresher == Refresher::Uas,
        headers,
    }
}

impl UserAgent {
    /// Session-Expires and Min-SE for our initial INVITE (`interval` overrides the
    /// configuration after a 422).
    pub(crate) fn session_timer_headers(&self, interval: Option<u32>) -> Vec<(&'static str, String)> {
        let config = self.config.session_timer;
        match interval.or(config.expires) {
            Some(asked) => {
                let min_se = config.min_se().max(interval.unwrap_or(0));
                vec![
                    ("Session-Expires", asked.max(min_se).to_string()),
                    ("Min-SE", min_se.to_string()),
                ]
            }
            None => Vec::new(),
        }
    }

    /// A 2xx to an INVITE, re-INVITE or UPDATE we sent: the timer the UAS settled on (§7.2).
    pub(crate) fn session_timer_from_response(&mut self, now: Instant, call: CallHandle, response: &Response) {
        let Some(c) = self.calls.get_mut(&call) else {
            return;
        };
        let peer_allows_update =
            allows_update(&response.headers) || c.session.as_ref().is_some_and(|s| s.peer_allows_update);
        c.session = match response.headers.session_expires() {
            Ok(granted) => Some(SessionTimer::start(
                now,
                granted.delta,
                granted.refresher != Some(Refresher::Uas),
                peer_allows_update,
            )),
            // Our refresh was answered without the header: the peer keeps no timer, but we
            // asked for one and keep refreshing (§7.4).
            Err(_) => c
                .session
                .as_ref()
                .filter(|s| s.we_refresh)
                .map(|s| SessionTimer::start(now, s.interval, true, peer_allows_update)),
        };
    }

    /// A request from the peer that we answer 2xx (INVITE, re-INVITE, UPDATE): starts or
    /// restarts the timer, and returns the headers our 2xx carries.
    pub(crate) fn session_timer_for_request(
        &mut self,
        now: Instant,
        call: CallHandle,
        decision: UasTimer,
        request: &Headers,
    ) -> Vec<(&'static str, String)> {
        let Some(c) = self.calls.get_mut(&call) else {
            return Vec::new();
        };
        let peer_allows_update = allows_update(request) || c.session.as_ref().is_some_and(|s| s.peer_allows_update);
        match decision {
            UasTimer::Run {
                interval,
                we_refresh,
                headers,
            } => {
                c.session = Some(SessionTimer::start(now, interval, we_refresh, peer_allows_update));
                headers
            }
            // A refresh without the header from a peer that keeps no timer: the session is
            // alive, so our timer restarts as it was.
            UasTimer::None | UasTimer::TooBrief { .. } => {
                c.session = c
                    .session
                    .as_ref()
                    .map(|s| SessionTimer::start(now, s.interval, s.we_refresh, peer_allows_update));
                Vec::new()
            }
        }
    }

    /// The Session-Expires our own re-INVITE or UPDATE carries while a timer runs (we are the
    /// UAC of that transaction; the refresher stays who it was).
    pub(crate) fn session_refresh_header(&self, call: CallHandle) -> Option<String> {
        let timer = self.calls.get(&call)?.session.as_ref()?;
        Some(timer.header(timer.we_refresh))
    }

    /// The session timer fired: refresh (we are the refresher) or hang up (§10).
    pub(crate) fn on_session_timer(&mut self, now: Instant, call: CallHandle) {
        let Some(c) = self.calls.get_mut(&call) else {
            return;
        };
        let Some(timer) = c.session.as_mut() else {
            return;
        };
        if timer.expire_at.is_some_and(|at| at <= now) {
            tracing::info!(?call, "session expired without a refresh");
            c.session = None;
            self.send_bye(now, call);
            self.end(call, EndReason::SessionExpired);
            return;
        }
        if timer.refresh_at.is_none_or(|at| at > now) {
            return;
        }
        timer.refresh_at = None;
        let use_update = timer.peer_allows_update;
        let busy = c.state != CallState::Established || c.reinvite.is_some() || c.retransmit.is_some();
        if busy {
            // An offer/answer exchange is under way; its 2xx refreshes the session. Should
            // it fail, the timer restarts on the next success; the peer's own timer guards us.
            return;
        }
        tracing::debug!(?call, use_update, "refreshing the session");
        if use_update {
            self.send_update_refresh(now, call);
        } else {
            let hold = c.local_hold;
            c.auth_retried = false;
            self.send_reinvite(now, call, hold);
        }
    }

    /// UPDATE without an offer: the cheapest refresh (§7.4 recommends it).
    fn send_update_refresh(&mut self, now: Instant, call: CallHandle) {
        let via = self.via();
        let contact = self.contact();
        let header = self.session_refresh_header(call);
        let Some(dialog) = self.calls.get_mut(&call).and_then(|c| c.dialog.as_mut()) else {
            return;
        };
        let mut update = dialog.request(Method::Update, &via);
        update.headers.push("Contact", contact);
        update.headers.push("Supported", crate::ua::SUPPORTED);
        if let Some(header) = header {
            update.headers.push("Session-Expires", header);
        }
        self.auth.authorize(&mut update);
        self.start_client(now, call, Purpose::Update, update);
    }

    pub(crate) fn on_update_event(
        &mut self,
        now: Instant,
        call: CallHandle,
        request: &crate::msg::Request,
        event: ClientEvent,
    ) {
        match event {
            ClientEvent::Response(response) if response.status.is_provisional() => {}
            ClientEvent::Response(response) if response.status.is_success() => {
                if let Some(dialog) = self.calls.get_mut(&call).and_then(|c| c.dialog.as_mut()) {
                    dialog.refresh_target(&response);
                }
                self.session_timer_from_response(now, call, &response);
            }
            ClientEvent::Response(response) if super::refer::is_challenge(&response) => {
                let carried = request.headers.get("Authorization").is_some()
                    || request.headers.get("Proxy-Authorization").is_some();
                if !carried {
                    self.retry_in_dialog(now, call, Purpose::Update, request, &response);
                }
            }
            // §7.4 and RFC 3261 §12.2.1.2: the dialog is gone.
            ClientEvent::Response(response) if matches!(response.status.code(), 408 | 481) => {
                self.send_bye(now, call);
                self.end(call, super::rejection(&response));
            }
            ClientEvent::Response(response) => {
                // A peer that refuses UPDATE (405, 501) gets re-INVITEs from now on.
                tracing::info!(?call, status = response.status.code(), "session refresh refused");
                if let Some(timer) = self.calls.get_mut(&call).and_then(|c| c.session.as_mut()) {
                    timer.peer_allows_update = false;
                    timer.refresh_at = Some(now);
                }
            }
            ClientEvent::Timeout => {
                self.send_bye(now, call);
                self.end(call, EndReason::Timeout);
            }
            ClientEvent::TransportError => self.end(call, EndReason::TransportError),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(fields: &[(&str, &str)]) -> Headers {
        let mut h = Headers::new();
        for (n, v) in fields {
            h.push(n, *v);
        }
        h
    }

    #[test]
    fn uas_negotiation() {
        let config = SessionTimerConfig::default();
        assert_eq!(negotiate_as_uas(&headers(&[]), &config), UasTimer::None);
        assert_eq!(
            negotiate_as_uas(&headers(&[("Session-Expires", "60"), ("Supported", "timer")]), &config),
            UasTimer::TooBrief { min_se: 90 }
        );
        let UasTimer::Run {
            interval,
            we_refresh,
            headers: out,
        } = negotiate_as_uas(&headers(&[("Session-Expires", "60")]), &config)
        else {
            panic!()
        };
        assert_eq!(
            (interval, we_refresh),
            (90, true),
            "no timer support: raised, we refresh"
        );
        assert_eq!(out, vec![("Session-Expires", "90;refresher=uas".to_owned())]);
        let UasTimer::Run {
            we_refresh,
            headers: out,
            ..
        } = negotiate_as_uas(&headers(&[("x", "1800"), ("k", "timer, replaces")]), &config)
        else {
            panic!()
        };
        assert!(!we_refresh, "a UAC that supports timers refreshes");
        assert!(out.contains(&("Require", "timer".to_owned())));
    }

    #[test]
    fn timer_deadlines() {
        let now = Instant::now();
        let ours = SessionTimer::start(now, 90, true, false);
        assert_eq!(ours.deadline(), Some(now + Duration::from_secs(45)));
        let theirs = SessionTimer::start(now, 1800, false, false);
        assert_eq!(theirs.deadline(), Some(now + Duration::from_secs(1800 - 32)));
        let short = SessionTimer::start(now, 90, false, false);
        assert_eq!(short.deadline(), Some(now + Duration::from_secs(60)));
    }
}
