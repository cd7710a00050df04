//! The control API: what tests and the demo use to play the world's other side (callers, far
//! ends, colleagues, the network). This module maps HTTP method + path + JSON body to a
//! [`Command`]; [`crate::serve`] serves it on loopback.
//!
//! | request | body | effect | answer |
//! |---|---|---|---|
//! | `GET /state` | – | the server's state | `{"users":[…],"calls":[…],"connections":[…]}` |
//! | `POST /calls` | `{"from":"89161234567","to":"101"}` | a caller dials an operator number, or a service number of the world that routes to a free call-centre operator (rings, or queues while the line is busy) | `{"call":1}` |
//! | `POST /calls/{id}/answer` | – | the party being rung picks up: the far end of an auto-call, or the operator's phone for a ringing/back-ringing call | `{}` |
//! | `POST /calls/{id}/busy` | – | the far end of a dialling auto-call reports busy | `{}` |
//! | `POST /calls/{id}/hangup` | – | the far end hangs up (a ringing caller gives up: missed call) | `{}` |
//! | `POST /connections/drop` | – | every WebSocket connection is closed; sessions survive | `{"dropped":2}` |
//! | `GET /sip` | – | the PBX's SIP side: its address, the phones' bindings, the live legs (phase `inviting`, `dialling`, `up` or `closing`; what the far end plays: `voice`, `hold_music`, `silence`) with their RTP counters, and `rtp`: the counters of every leg that had audio, ended ones included | `{"address":"127.0.0.1:5062","registrations":[{"login":"op1","expires_in":3599,…}],"legs":[{"leg":1,"login":"op1","call":1,"phase":"up","source":"voice","codec":"PCMU","rtp":{"packets_received":250,"packets_sent":251,"inbound_level_dbov":-12.5}}],"rtp":[{"leg":1,"rtp":{…}}]}` |
//! | `POST /users/{login}/state` | `{"userstateid":2,"lunchreasonid":1}` (also `oncallcenter`, `onccmanual`, `onredirect`) | another user's agent state changes; events go to everyone subscribed | the new state |
//! | `GET /creatio/state` | – | the Creatio stand-in: live sessions, faults, rows per collection | `{"sessions":1,"faults":{…},"rows":{…}}` |
//! | `GET /creatio/calls` | – | every `Call` record as OData shows it | `[{"Id":…,"CallerId":…},…]` |
//! | `GET /creatio/calls/journal` | – | every write applied to `Call`, in order (refused writes are absent) | `[{"seq":1,"method":"POST","id":…,"body":{…}},…]` |
//! | `POST /creatio/slow` | `{"delay_ms":3000}` | every Creatio answer waits this long (0 = off) | the Creatio state |
//! | `POST /creatio/fail` | `{"status":500,"count":2}` | the next `count` requests (all, without `count`) answer this status with an OData error | the Creatio state |
//! | `POST /creatio/sessions/expire` | – | every Creatio session ends; the next request gets 401 (or the login redirect) | `{"expired":1}` |
//! | `POST /creatio/down` | – | Creatio closes every connection without answering | the Creatio state |
//! | `POST /creatio/up` | – | Creatio answers again (sessions survive, as after an app-pool recycle with a shared machine key) | the Creatio state |
//! | `POST /creatio/heal` | – | clears slowness, failures and downtime | the Creatio state |
//!
//! Errors answer `{"error":"…"}` with 400 (bad request), 404 (unknown route, call or user) or
//! 409 (the call or line is not in a state that allows it).
//!
//! Examples (`$CONTROL` is [`crate::Endpoints::control`], e.g. `http://127.0.0.1:40123`):
//!
//! ```text
//! $ curl -s $CONTROL/state
//! {"calls":[],"connections":[{"id":1,"login":"op1","subscriptions":["linestatechanged",…]}],
//!  "users":[{"login":"op1","number":"101","presence":{"userstateid":1,…},"line":{…},"connections":1},…]}
//!
//! $ curl -s -X POST $CONTROL/calls -d '{"from":"89161234567","to":"101"}'
//! {"call":1}
//!
//! $ curl -s -X POST $CONTROL/calls/1/answer        # op1's phone picks up (it was ringing)
//! {}
//!
//! $ curl -s -X POST $CONTROL/calls/1/hangup        # the caller hangs up
//! {}
//!
//! $ curl -s -X POST $CONTROL/calls/2/busy          # an auto-call's far end is busy
//! {}
//!
//! $ curl -s -X POST $CONTROL/calls/9/busy
//! {"error":"no call 9"}                             # status 404
//!
//! $ curl -s -X POST $CONTROL/connections/drop
//! {"dropped":2}
//!
//! $ curl -s -X POST $CONTROL/users/op2/state -d '{"userstateid":2,"lunchreasonid":1}'
//! {"lunchreasonid":1,"oncallcenter":true,"onccmanual":false,"onlunch":true,"onredirect":false,"ontask":false,"userstateid":2}
//!
//! $ curl -s $CONTROL/creatio/state
//! {"faults":{"delay_ms":0,"down":false,"fail_count":null,"fail_status":null},
//!  "rows":{"Account":4,"Call":0,"Contact":33,…},"sessions":0}
//!
//! $ curl -s -X POST $CONTROL/creatio/slow -d '{"delay_ms":3000}'      # Creatio answers after 3 s
//! $ curl -s -X POST $CONTROL/creatio/fail -d '{"status":500,"count":2}' # the next two answers are 500
//! $ curl -s -X POST $CONTROL/creatio/fail -d '{"status":503}'           # every answer is 503
//! $ curl -s -X POST $CONTROL/creatio/sessions/expire
//! {"expired":2}
//! $ curl -s -X POST $CONTROL/creatio/down                                # connections closed unanswered
//! $ curl -s -X POST $CONTROL/creatio/up
//! $ curl -s -X POST $CONTROL/creatio/heal                                # all faults off
//! $ curl -s $CONTROL/creatio/calls
//! [{"CallerId":"89161234567","CreatedById":"a1b2c3d4-0001-4000-8000-000000000002",…}]
//! ```

use serde::Deserialize;

use crate::creatio;
use crate::directory::PresenceChange;
use crate::pbx::{CallId, Refused};

/// One control request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    State,
    IncomingCall { from: String, to: String },
    Answer(CallId),
    Busy(CallId),
    HangUp(CallId),
    DropConnections,
    SipState,
    SetUserState { login: String, change: PresenceChange },
}

/// A control request that cannot be carried out.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ControlError {
    #[error("no such route")]
    NotFound,
    #[error("bad request: {0}")]
    BadRequest(String),
    #[error(transparent)]
    Refused(#[from] Refused),
}

impl ControlError {
    /// The HTTP status that reports this error.
    pub fn status(&self) -> u16 {
        match self {
            ControlError::NotFound
            | ControlError::Refused(Refused::UnknownCall(_) | Refused::UnknownNumber(_) | Refused::UnknownUser(_)) => {
                404
            }
            ControlError::BadRequest(_) | ControlError::Refused(Refused::BadArgument(_)) => 400,
            ControlError::Refused(_) => 409,
        }
    }
}

#[derive(Deserialize)]
struct IncomingBody {
    from: String,
    to: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StateBody {
    userstateid: Option<u8>,
    oncallcenter: Option<bool>,
    onccmanual: Option<bool>,
    onredirect: Option<bool>,
    lunchreasonid: Option<u32>,
}

fn json<'a, T: Deserialize<'a>>(body: &'a [u8]) -> Result<T, ControlError> {
    serde_json::from_slice(body).map_err(|e| ControlError::BadRequest(e.to_string()))
}

fn call_id(text: &str) -> Result<CallId, ControlError> {
    text.parse()
        .map(CallId)
        .map_err(|_| ControlError::BadRequest(format!("bad call id {text}")))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SlowBody {
    delay_ms: u64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FailBody {
    status: u16,
    #[serde(default)]
    count: Option<u32>,
}

/// Maps a request under `/creatio/` to the stand-in's command; `None` for other paths.
pub fn route_creatio(method: &str, path: &str, body: &[u8]) -> Option<Result<creatio::Control, ControlError>> {
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    let rest = segments.strip_prefix(&["creatio"])?;
    Some(match (method, rest) {
        ("GET", ["state"]) => Ok(creatio::Control::State),
        ("GET", ["calls"]) => Ok(creatio::Control::Calls),
        ("GET", ["calls", "journal"]) => Ok(creatio::Control::CallJournal),
        ("POST", ["slow"]) => json::<SlowBody>(body).map(|b| creatio::Control::Slow { delay_ms: b.delay_ms }),
        ("POST", ["fail"]) => json::<FailBody>(body).and_then(|b| {
            if (400..=599).contains(&b.status) {
                Ok(creatio::Control::Fail {
                    status: b.status,
                    count: b.count,
                })
            } else {
                Err(ControlError::BadRequest(format!(
                    "status {} is not an error status",
                    b.status
                )))
            }
        }),
        ("POST", ["sessions", "expire"]) => Ok(creatio::Control::ExpireSessions),
        ("POST", ["down"]) => Ok(creatio::Control::Down),
        ("POST", ["up"]) => Ok(creatio::Control::Up),
        ("POST", ["heal"]) => Ok(creatio::Control::Heal),
        _ => Err(ControlError::NotFound),
    })
}

/// Maps a request to its command.
pub fn route(method: &str, path: &str, body: &[u8]) -> Result<Command, ControlError> {
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    match (method, segments.as_slice()) {
        ("GET", ["state"]) => Ok(Command::State),
        ("POST", ["calls"]) => {
            let IncomingBody { from, to } = json(body)?;
            Ok(Command::IncomingCall { from, to })
        }
        ("POST", ["calls", id, "answer"]) => Ok(Command::Answer(call_id(id)?)),
        ("POST", ["calls", id, "busy"]) => Ok(Command::Busy(call_id(id)?)),
        ("POST", ["calls", id, "hangup"]) => Ok(Command::HangUp(call_id(id)?)),
        ("POST", ["connections", "drop"]) => Ok(Command::DropConnections),
        ("GET", ["sip"]) => Ok(Command::SipState),
        ("POST", ["users", login, "state"]) => {
            let b: StateBody = json(body)?;
            Ok(Command::SetUserState {
                login: (*login).to_owned(),
                change: PresenceChange {
                    userstateid: b.userstateid,
                    oncallcenter: b.oncallcenter,
                    onccmanual: b.onccmanual,
                    onredirect: b.onredirect,
                    lunchreasonid: b.lunchreasonid,
                },
            })
        }
        _ => Err(ControlError::NotFound),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_every_documented_endpoint() {
        assert_eq!(route("GET", "/state", b""), Ok(Command::State));
        assert_eq!(
            route("POST", "/calls", br#"{"from":"89161234567","to":"101"}"#),
            Ok(Command::IncomingCall {
                from: "89161234567".into(),
                to: "101".into()
            })
        );
        assert_eq!(route("POST", "/calls/7/answer", b""), Ok(Command::Answer(CallId(7))));
        assert_eq!(route("POST", "/calls/7/busy", b""), Ok(Command::Busy(CallId(7))));
        assert_eq!(route("POST", "/calls/7/hangup", b""), Ok(Command::HangUp(CallId(7))));
        assert_eq!(route("POST", "/connections/drop", b""), Ok(Command::DropConnections));
        assert_eq!(route("GET", "/sip", b""), Ok(Command::SipState));
        assert_eq!(
            route("POST", "/users/op2/state", br#"{"userstateid":2,"lunchreasonid":1}"#),
            Ok(Command::SetUserState {
                login: "op2".into(),
                change: PresenceChange {
                    userstateid: Some(2),
                    lunchreasonid: Some(1),
                    ..PresenceChange::default()
                }
            })
        );
    }

    #[test]
    fn routes_every_creatio_endpoint() {
        use crate::creatio::Control;
        let route = |method, path, body: &[u8]| route_creatio(method, path, body).unwrap();
        assert_eq!(route("GET", "/creatio/state", b""), Ok(Control::State));
        assert_eq!(route("GET", "/creatio/calls", b""), Ok(Control::Calls));
        assert_eq!(route("GET", "/creatio/calls/journal", b""), Ok(Control::CallJournal));
        assert_eq!(
            route("POST", "/creatio/slow", br#"{"delay_ms":250}"#),
            Ok(Control::Slow { delay_ms: 250 })
        );
        assert_eq!(
            route("POST", "/creatio/fail", br#"{"status":500,"count":2}"#),
            Ok(Control::Fail {
                status: 500,
                count: Some(2)
            })
        );
        assert_eq!(
            route("POST", "/creatio/fail", br#"{"status":503}"#),
            Ok(Control::Fail {
                status: 503,
                count: None
            })
        );
        assert_eq!(
            route("POST", "/creatio/sessions/expire", b""),
            Ok(Control::ExpireSessions)
        );
        assert_eq!(route("POST", "/creatio/down", b""), Ok(Control::Down));
        assert_eq!(route("POST", "/creatio/up", b""), Ok(Control::Up));
        assert_eq!(route("POST", "/creatio/heal", b""), Ok(Control::Heal));
        assert_eq!(
            route("POST", "/creatio/fail", br#"{"status":200}"#)
                .unwrap_err()
                .status(),
            400
        );
        assert_eq!(route("POST", "/creatio/slow", b"{").unwrap_err().status(), 400);
        assert_eq!(route("GET", "/creatio/nope", b"").unwrap_err().status(), 404);
        assert!(route_creatio("GET", "/state", b"").is_none());
    }

    #[test]
    fn bad_requests_are_errors_with_statuses() {
        assert_eq!(route("GET", "/nope", b"").unwrap_err().status(), 404);
        assert_eq!(route("GET", "/calls", b"").unwrap_err().status(), 404);
        assert_eq!(route("POST", "/calls", b"{").unwrap_err().status(), 400);
        assert_eq!(route("POST", "/calls/x/answer", b"").unwrap_err().status(), 400);
        assert_eq!(
            route("POST", "/users/op1/state", br#"{"bogus":1}"#)
                .unwrap_err()
                .status(),
            400
        );
    }
}
