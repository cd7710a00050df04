//! Server events (S→C frames without a pending `qid`), §4.

use serde::Deserialize;
use serde_json::{Map, Value};

use super::abonent::RawAbonent;
use super::lenient;
use super::reply::{UserStateBody, decode};

/// The names the core subscribes after login, in the order of §2.6 steps
/// 15 (line and phone events).
pub const LINE_EVENTS: [&str; 11] = [
    "linestatechanged",
    "flashstatechanged",
    "confcompositionchanged",
    "confcompetitorstatechanged",
    "phoneevent_acmcallstarted",
    "phoneevent_acmcallstopped",
    "phoneevent_ringstarted",
    "phoneevent_ringstopped",
    "phoneevent_ivrstarted",
    "phoneevent_commstarted",
    "phoneevent_commstopped",
];

/// One number's presence change.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct NumberState {
    /// The number.
    #[serde(deserialize_with = "lenient::text")]
    pub num: Option<String>,
    /// Same codes as `userstateid`.
    #[serde(deserialize_with = "lenient::int")]
    pub numstateid: Option<i64>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct NumberStates {
    #[serde(deserialize_with = "lenient::list")]
    numbers: Vec<NumberState>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct CommStarted {
    #[serde(deserialize_with = "lenient::flag")]
    isconference: bool,
    #[serde(deserialize_with = "lenient::text")]
    confid: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct IvrStarted {
    #[serde(deserialize_with = "lenient::flag")]
    isroutingivr: bool,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Composition {
    #[serde(deserialize_with = "lenient::text")]
    conferenceid: Option<String>,
    #[serde(deserialize_with = "lenient::list")]
    competitorlist: Vec<RawAbonent>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct CompositionEvent {
    eventinfo: Composition,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct ConfRef {
    #[serde(deserialize_with = "lenient::text")]
    id: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct CompetitorInfo {
    conference: ConfRef,
    competitor: RawAbonent,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct CompetitorEvent {
    eventinfo: CompetitorInfo,
}

/// A typed server event. Unknown names keep their raw payload.
#[derive(Debug, Clone, PartialEq)]
pub enum ServerEvent {
    /// The full user state was replaced.
    UserStateChanged(UserStateBody),
    /// Presence of some numbers changed.
    PbxNumberStateChanged(Vec<NumberState>),
    /// Something on the line changed: re-read it.
    LineStateChanged,
    /// The hold changed: re-read the line.
    FlashStateChanged,
    /// An auto-call started (re-read with the auto-call flag).
    AcmCallStarted,
    /// An auto-call ended.
    AcmCallStopped,
    /// The operator's phone started ringing.
    RingStarted,
    /// The operator's phone stopped ringing.
    RingStopped,
    /// An IVR started on the line.
    IvrStarted {
        /// Routing IVR (re-read when the phone is ready).
        routing: bool,
    },
    /// A connection (talk) started.
    CommStarted {
        /// The connection is a conference.
        conference: bool,
        /// The conference id, when it is one.
        conference_id: Option<String>,
    },
    /// A connection ended.
    CommStopped,
    /// The full competitor list of a conference.
    ConfCompositionChanged {
        /// Conference id.
        conference_id: Option<String>,
        /// All competitors.
        competitors: Vec<RawAbonent>,
    },
    /// One competitor of a conference changed.
    ConfCompetitorStateChanged {
        /// Conference id.
        conference_id: Option<String>,
        /// The competitor (boxed: by far the largest payload).
        competitor: Box<RawAbonent>,
    },
    /// An application-defined event (§3.13).
    CustomEvent {
        /// Event name.
        name: String,
        /// Any JSON payload.
        param: Value,
    },
    /// Copy of an HTTP upload response (§3.9).
    HttpResponseCopy {
        /// e.g. `"200 OK"`.
        response: Option<String>,
        /// The temporary HTTP password the upload used.
        password: Option<String>,
        /// Response body.
        content: Option<String>,
    },
    /// Any other event name, with its payload untouched.
    Unknown {
        /// Event name.
        name: String,
        /// Payload object.
        raw: Map<String, Value>,
    },
}

impl ServerEvent {
    /// Types an event frame. Payload fields of the wrong type read as absent;
    /// no payload makes a known event unknowable, so this never fails.
    pub fn from_frame(name: &str, body: &Map<String, Value>) -> ServerEvent {
        let text = |key: &str| body.get(key).and_then(lenient::as_text);
        match name {
            "userstatechanged" => ServerEvent::UserStateChanged(decode(body).unwrap_or_default()),
            "pbxnumberstatechanged" => {
                ServerEvent::PbxNumberStateChanged(decode::<NumberStates>(body).unwrap_or_default().numbers)
            }
            "linestatechanged" => ServerEvent::LineStateChanged,
            "flashstatechanged" => ServerEvent::FlashStateChanged,
            "phoneevent_acmcallstarted" => ServerEvent::AcmCallStarted,
            "phoneevent_acmcallstopped" => ServerEvent::AcmCallStopped,
            "phoneevent_ringstarted" => ServerEvent::RingStarted,
            "phoneevent_ringstopped" => ServerEvent::RingStopped,
            "phoneevent_ivrstarted" => ServerEvent::IvrStarted {
                routing: decode::<IvrStarted>(body).unwrap_or_default().isroutingivr,
            },
            "phoneevent_commstarted" => {
                let e = decode::<CommStarted>(body).unwrap_or_default();
                ServerEvent::CommStarted {
                    conference: e.isconference,
                    conference_id: e.confid,
                }
            }
            "phoneevent_commstopped" => ServerEvent::CommStopped,
            "confcompositionchanged" => {
                let e = decode::<CompositionEvent>(body).unwrap_or_default();
                ServerEvent::ConfCompositionChanged {
                    conference_id: e.eventinfo.conferenceid,
                    competitors: e.eventinfo.competitorlist,
                }
            }
            "confcompetitorstatechanged" => {
                let e = decode::<CompetitorEvent>(body).unwrap_or_default();
                ServerEvent::ConfCompetitorStateChanged {
                    conference_id: e.eventinfo.conference.id,
                    competitor: Box::new(e.eventinfo.competitor),
                }
            }
            "customevent" => match text("eventname") {
                Some(name) => ServerEvent::CustomEvent {
                    name,
                    param: body.get("eventparam").cloned().unwrap_or(Value::Null),
                },
                None => ServerEvent::Unknown {
                    name: name.to_owned(),
                    raw: body.clone(),
                },
            },
            "httpresponsecopy" => ServerEvent::HttpResponseCopy {
                response: text("response"),
                password: text("password"),
                content: text("content"),
            },
            other => ServerEvent::Unknown {
                name: other.to_owned(),
                raw: body.clone(),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::msg::Frame;

    fn event(text: &str) -> ServerEvent {
        let f = Frame::decode(text).unwrap();
        ServerEvent::from_frame(&f.name, &f.body)
    }

    #[test]
    fn number_states_are_typed() {
        let e = event(r#"["pbxnumberstatechanged",{"numbers":[{"num":"101","numstateid":5}]}]"#);
        assert_eq!(
            e,
            ServerEvent::PbxNumberStateChanged(vec![NumberState {
                num: Some("101".into()),
                numstateid: Some(5)
            }])
        );
    }

    #[test]
    fn conference_commstarted_carries_its_id() {
        let e = event(r#"["phoneevent_commstarted",{"isconference":true,"confid":"c1"}]"#);
        assert_eq!(
            e,
            ServerEvent::CommStarted {
                conference: true,
                conference_id: Some("c1".into())
            }
        );
    }

    #[test]
    fn unknown_events_keep_name_and_payload() {
        let e = event(r#"["phoneevent_faxreceived",{"a":1}]"#);
        let ServerEvent::Unknown { name, raw } = e else {
            panic!("expected Unknown");
        };
        assert_eq!(name, "phoneevent_faxreceived");
        assert_eq!(raw.get("a"), Some(&Value::from(1)));
    }

    #[test]
    fn wrongly_typed_payload_fields_read_as_absent() {
        let e = event(r#"["pbxnumberstatechanged",{"numbers":"oops"}]"#);
        assert_eq!(e, ServerEvent::PbxNumberStateChanged(vec![]));
    }
}
