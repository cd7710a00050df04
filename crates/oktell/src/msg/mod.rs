//! Wire messages: the `[name, object]` envelope and typed bodies.
//!
//! Every frame on the Oktell WebSocket is a two-element JSON array (§1.3).
//! [`Frame::decode`] recognises the envelope fully before the session sees it;
//! anything that is not `[string, object]` is a [`MalformedFrame`] value, never
//! a panic. Bodies are then read into the typed structs of [`reply`] and
//! [`event`], which tolerate unknown fields and loosely typed values.

pub mod abonent;
pub mod event;
pub mod lenient;
pub mod reply;
pub mod request;

use serde_json::{Map, Value};

pub use abonent::RawAbonent;
pub use event::ServerEvent;
pub use request::Request;

use crate::error::MalformedFrame;

/// The WebSocket sub-protocol every Oktell socket must negotiate (§1.2).
pub const SUBPROTOCOL: &str = "json";

/// Name of the frame that splits a large server message (§1.5).
pub const MULTIPART: &str = "multipart";

/// Name of the handshake answer that demands a secure socket (§1.4).
pub const WEBSOCKET_REDIRECT: &str = "websocketredirect";

/// One decoded server frame: its name and its payload object.
#[derive(Debug, Clone, PartialEq)]
pub struct Frame {
    /// Element `[0]`: a method reply name, an event name, `multipart`, ...
    pub name: String,
    /// Element `[1]`; an absent or `null` payload reads as an empty object.
    pub body: Map<String, Value>,
}

impl Frame {
    /// Recognises the `[name, object]` envelope of one text frame.
    ///
    /// A missing or `null` payload is accepted as `{}` because the secure
    /// redirect may arrive without one (§1.4); any other non-object payload is
    /// malformed. Elements beyond the second are ignored.
    pub fn decode(text: &str) -> Result<Frame, MalformedFrame> {
        let value: Value = serde_json::from_str(text).map_err(|e| MalformedFrame::NotJson(e.to_string()))?;
        let Value::Array(items) = value else {
            return Err(MalformedFrame::NotAnArray);
        };
        let mut items = items.into_iter();
        let name = match items.next() {
            Some(Value::String(name)) => name,
            Some(_) => return Err(MalformedFrame::NameNotString),
            None => return Err(MalformedFrame::Empty),
        };
        let body = match items.next() {
            Some(Value::Object(body)) => body,
            None | Some(Value::Null) => Map::new(),
            Some(_) => return Err(MalformedFrame::BodyNotObject { name }),
        };
        Ok(Frame { name, body })
    }

    /// The correlation id, when the frame carries one.
    ///
    /// Servers must echo the qid as the identical string; a number is accepted
    /// as its decimal text so that a sloppy server still correlates when the
    /// digits survived.
    pub fn qid(&self) -> Option<String> {
        self.body.get("qid").and_then(lenient::as_text)
    }

    /// The payload as a JSON value, for typed decoding.
    pub fn body_value(&self) -> Value {
        Value::Object(self.body.clone())
    }
}

/// Serialises a request exactly as oktell.js lays it out (§1.3): `userlogin`
/// first when the method carries it, the method's own fields, `qid` last.
pub fn encode(request: &Request, userlogin: &str, qid: &str) -> Result<String, serde_json::Error> {
    // Serialising the typed request straight to text keeps its declared field
    // order (a JSON map would sort the keys); the envelope is spliced around it.
    let fields = serde_json::to_string(request)?;
    let inner = fields
        .strip_prefix('{')
        .and_then(|f| f.strip_suffix('}'))
        .unwrap_or_default();
    let mut text = String::with_capacity(fields.len() + userlogin.len() + qid.len() + 48);
    text.push('[');
    text.push_str(&serde_json::to_string(request.method())?);
    text.push_str(",{");
    if request.carries_userlogin() {
        text.push_str("\"userlogin\":");
        text.push_str(&serde_json::to_string(userlogin)?);
        text.push(',');
    }
    if !inner.is_empty() {
        text.push_str(inner);
        text.push(',');
    }
    text.push_str("\"qid\":");
    text.push_str(&serde_json::to_string(qid)?);
    text.push_str("}]");
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decode_accepts_name_and_object() {
        let f = Frame::decode(r#"["pong",{"qid":"0.5","extra":[1]}]"#).unwrap();
        assert_eq!(f.name, "pong");
        assert_eq!(f.qid().as_deref(), Some("0.5"));
    }

    #[test]
    fn decode_accepts_missing_payload_as_empty() {
        let f = Frame::decode(r#"["websocketredirect"]"#).unwrap();
        assert!(f.body.is_empty());
    }

    #[test]
    fn decode_rejects_shapes_that_break_oktell_js() {
        assert_eq!(Frame::decode("{}"), Err(MalformedFrame::NotAnArray));
        assert_eq!(Frame::decode("[]"), Err(MalformedFrame::Empty));
        assert_eq!(Frame::decode("[1,{}]"), Err(MalformedFrame::NameNotString));
        assert!(matches!(
            Frame::decode(r#"["x",5]"#),
            Err(MalformedFrame::BodyNotObject { .. })
        ));
        assert!(matches!(Frame::decode("[\"x\""), Err(MalformedFrame::NotJson(_))));
    }

    #[test]
    fn encode_puts_userlogin_first_and_qid_last() {
        let text = encode(
            &Request::PbxAutoCallStart {
                sequence: request::Sequence::User,
                intercom: None,
                number: "84951234567".into(),
            },
            "op1",
            "0.1",
        )
        .unwrap();
        assert_eq!(
            text,
            r#"["pbxautocallstart",{"userlogin":"op1","sequence":"user","number":"84951234567","qid":"0.1"}]"#
        );
    }

    #[test]
    fn encode_omits_userlogin_for_ping_and_subscriptions() {
        assert_eq!(
            encode(&Request::Ping {}, "op1", "0.2").unwrap(),
            r#"["ping",{"qid":"0.2"}]"#
        );
        assert_eq!(
            encode(&Request::subscribe("linestatechanged"), "op1", "0.3").unwrap(),
            r#"["subscribeevent",{"eventmethod":["linestatechanged"],"qid":"0.3"}]"#
        );
    }
}
