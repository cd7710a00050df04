//! The SIP message model: requests, responses, ordered header fields and typed views of the
//! headers a user agent needs.
//!
//! Parsing is our own rather than `rsip` 0.4's: rsip's `Method` is a closed enum matched
//! case-insensitively (RFC 4475 §3.1.1.2 and §3.1.1.5 messages cannot be represented), it knows
//! no compact header forms and it enforces none of the framing limits a datagram needs. The
//! facade keeps the rest of the crate independent of whichever model sits underneath.

mod error;
mod grammar;
mod parse;
mod typed;
mod validate;

use std::fmt;

pub use error::{Malformed, ParseError};
pub use grammar::Params;
pub(crate) use grammar::{quote, take_quoted};

/// Splits at `sep` outside quoted strings (for auth-param lists).
pub(crate) fn split_unquoted(s: &str, sep: char) -> Result<Vec<&str>, Malformed> {
    grammar::split_outside(s, sep, false, "auth-param")
}
pub use parse::{Limits, canonical_name, parse};
pub use typed::{
    CSeq, Contact, Event, NameAddr, RAck, Refresher, Replaces, SentBy, SessionExpires, SubscriptionState,
    SubscriptionStatus, Uri, Via,
};

/// A SIP method. Methods are case-sensitive (RFC 3261 §7.1); anything we do not know is kept
/// verbatim as an extension so the UAS can answer 405/501 instead of failing to parse.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Method {
    Invite,
    Ack,
    Bye,
    Cancel,
    Register,
    Options,
    Info,
    Update,
    Prack,
    Subscribe,
    Notify,
    Refer,
    Message,
    Publish,
    Extension(String),
}

impl Method {
    pub fn from_token(token: &str) -> Self {
        match token {
            "INVITE" => Self::Invite,
            "ACK" => Self::Ack,
            "BYE" => Self::Bye,
            "CANCEL" => Self::Cancel,
            "REGISTER" => Self::Register,
            "OPTIONS" => Self::Options,
            "INFO" => Self::Info,
            "UPDATE" => Self::Update,
            "PRACK" => Self::Prack,
            "SUBSCRIBE" => Self::Subscribe,
            "NOTIFY" => Self::Notify,
            "REFER" => Self::Refer,
            "MESSAGE" => Self::Message,
            "PUBLISH" => Self::Publish,
            other => Self::Extension(other.to_owned()),
        }
    }

    pub fn as_str(&self) -> &str {
        match self {
            Self::Invite => "INVITE",
            Self::Ack => "ACK",
            Self::Bye => "BYE",
            Self::Cancel => "CANCEL",
            Self::Register => "REGISTER",
            Self::Options => "OPTIONS",
            Self::Info => "INFO",
            Self::Update => "UPDATE",
            Self::Prack => "PRACK",
            Self::Subscribe => "SUBSCRIBE",
            Self::Notify => "NOTIFY",
            Self::Refer => "REFER",
            Self::Message => "MESSAGE",
            Self::Publish => "PUBLISH",
            Self::Extension(s) => s,
        }
    }
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A response status code, 100..=699.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct StatusCode(u16);

impl StatusCode {
    pub const TRYING: Self = Self(100);
    pub const RINGING: Self = Self(180);
    pub const OK: Self = Self(200);
    pub const BAD_REQUEST: Self = Self(400);
    pub const UNAUTHORIZED: Self = Self(401);
    pub const PROXY_AUTHENTICATION_REQUIRED: Self = Self(407);
    pub const REQUEST_TIMEOUT: Self = Self(408);
    pub const INTERVAL_TOO_BRIEF: Self = Self(423);
    pub const REQUEST_TERMINATED: Self = Self(487);
    pub const VERSION_NOT_SUPPORTED: Self = Self(505);

    /// `None` outside the three-digit range RFC 3261 §7.2 allows.
    pub fn new(code: u16) -> Option<Self> {
        (100..=699).contains(&code).then_some(Self(code))
    }

    pub fn code(self) -> u16 {
        self.0
    }

    pub fn is_provisional(self) -> bool {
        self.0 < 200
    }

    pub fn is_success(self) -> bool {
        (200..300).contains(&self.0)
    }

    pub fn is_final(self) -> bool {
        self.0 >= 200
    }
}

impl fmt::Display for StatusCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// One header field; `name` is the canonical long form for every header we know
/// (compact forms and odd capitalisation are normalised while parsing).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    pub name: String,
    pub value: String,
}

/// Header fields in the order received (order matters for Via, Route and challenges).
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Headers(Vec<Header>);

/// Headers whose values are credentials: never shown by `Debug`.
const SECRET_HEADERS: [&str; 2] = ["Authorization", "Proxy-Authorization"];

impl fmt::Debug for Headers {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(self.0.iter().map(|h| {
                let value = if SECRET_HEADERS.contains(&h.name.as_str()) {
                    "<redacted>"
                } else {
                    &h.value
                };
                (h.name.as_str(), value)
            }))
            .finish()
    }
}

impl Headers {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn iter(&self) -> impl Iterator<Item = &Header> {
        self.0.iter()
    }

    /// Every field named `name` (any spelling or compact form), in order.
    pub fn get_all<'a>(&'a self, name: &str) -> impl Iterator<Item = &'a str> + 'a {
        let name = canonical_name(name);
        self.0
            .iter()
            .filter(move |h| h.name.eq_ignore_ascii_case(&name))
            .map(|h| h.value.as_str())
    }

    /// The first field named `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.get_all(name).next()
    }

    pub fn count(&self, name: &str) -> usize {
        self.get_all(name).count()
    }

    /// Appends a field, keeping any existing ones.
    pub fn push(&mut self, name: &str, value: impl Into<String>) {
        self.0.push(Header {
            name: canonical_name(name),
            value: value.into(),
        });
    }

    /// Replaces every field named `name` with one value, at the position of the first.
    pub fn set(&mut self, name: &str, value: impl Into<String>) {
        let canonical = canonical_name(name);
        let value = value.into();
        match self.0.iter().position(|h| h.name.eq_ignore_ascii_case(&canonical)) {
            Some(first) => {
                if let Some(slot) = self.0.get_mut(first) {
                    slot.value = value;
                }
                let mut index = 0;
                self.0.retain(|h| {
                    let keep = index <= first || !h.name.eq_ignore_ascii_case(&canonical);
                    index += 1;
                    keep
                });
            }
            None => self.0.push(Header { name: canonical, value }),
        }
    }

    /// Puts a field first (a new top Via).
    pub fn prepend(&mut self, name: &str, value: impl Into<String>) {
        self.0.insert(
            0,
            Header {
                name: canonical_name(name),
                value: value.into(),
            },
        );
    }

    pub fn remove(&mut self, name: &str) {
        let name = canonical_name(name);
        self.0.retain(|h| !h.name.eq_ignore_ascii_case(&name));
    }

    fn write_to(&self, out: &mut Vec<u8>, body_len: usize) {
        for h in self.0.iter().filter(|h| h.name != "Content-Length") {
            out.extend_from_slice(h.name.as_bytes());
            out.extend_from_slice(b": ");
            out.extend_from_slice(h.value.as_bytes());
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(format!("Content-Length: {body_len}\r\n\r\n").as_bytes());
    }
}

/// A SIP request. The Request-URI is kept exactly as received: digest `uri=` must match it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub method: Method,
    pub uri: Uri,
    pub headers: Headers,
    pub body: Vec<u8>,
}

impl Request {
    pub fn new(method: Method, uri: Uri) -> Self {
        Self {
            method,
            uri,
            headers: Headers::new(),
            body: Vec::new(),
        }
    }

    /// Wire form; Content-Length is always written from the body actually carried.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(512 + self.body.len());
        out.extend_from_slice(format!("{} {} SIP/2.0\r\n", self.method, self.uri).as_bytes());
        self.headers.write_to(&mut out, self.body.len());
        out.extend_from_slice(&self.body);
        out
    }
}

/// A SIP response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    pub status: StatusCode,
    pub reason: String,
    pub headers: Headers,
    pub body: Vec<u8>,
}

impl Response {
    /// A response to `request` per RFC 3261 §8.2.6.2: Via, From, To, Call-ID and CSeq copied,
    /// and `to_tag` added to To when it has none (never for 100 Trying, §8.2.6.1).
    pub fn to_request(request: &Request, status: StatusCode, reason: &str, to_tag: &str) -> Self {
        Self::for_request_headers(&request.headers, status, reason, to_tag)
    }

    pub(crate) fn for_request_headers(request: &Headers, status: StatusCode, reason: &str, to_tag: &str) -> Self {
        let mut headers = Headers::new();
        for via in request.get_all("Via") {
            headers.push("Via", via);
        }
        for name in ["From", "To", "Call-ID", "CSeq"] {
            if let Some(value) = request.get(name) {
                let value = if name == "To" && status.code() > 100 {
                    typed::with_tag(value, to_tag)
                } else {
                    value.to_owned()
                };
                headers.push(name, value);
            }
        }
        Self {
            status,
            reason: reason.to_owned(),
            headers,
            body: Vec::new(),
        }
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(512 + self.body.len());
        out.extend_from_slice(format!("SIP/2.0 {} {}\r\n", self.status, self.reason).as_bytes());
        self.headers.write_to(&mut out, self.body.len());
        out.extend_from_slice(&self.body);
        out
    }
}

/// A parsed message of either kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    Request(Request),
    Response(Response),
}

impl Message {
    pub fn headers(&self) -> &Headers {
        match self {
            Self::Request(r) => &r.headers,
            Self::Response(r) => &r.headers,
        }
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        match self {
            Self::Request(r) => r.to_bytes(),
            Self::Response(r) => r.to_bytes(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_edits_keep_order_and_names_canonical() {
        let mut h = Headers::new();
        h.push("v", "SIP/2.0/UDP a;branch=z9hG4bK1");
        h.push("Route", "<sip:p1;lr>");
        h.push("route", "<sip:p2;lr>");
        h.push("X-Custom", "1");
        assert_eq!(
            h.get_all("ROUTE").collect::<Vec<_>>(),
            vec!["<sip:p1;lr>", "<sip:p2;lr>"]
        );
        h.set("Route", "<sip:p3;lr>");
        assert_eq!(h.get_all("Route").collect::<Vec<_>>(), vec!["<sip:p3;lr>"]);
        h.prepend("Via", "SIP/2.0/UDP b;branch=z9hG4bK2");
        let names: Vec<&str> = h.iter().map(|x| x.name.as_str()).collect();
        assert_eq!(names, vec!["Via", "Via", "Route", "X-Custom"]);
        h.remove("x-custom");
        assert_eq!(h.get("X-Custom"), None);
        assert_eq!(h.count("Via"), 2);
    }

    #[test]
    fn debug_output_redacts_credentials() {
        let mut h = Headers::new();
        h.push("Authorization", r#"Digest username="1001", response="0123abcd""#);
        h.push("Proxy-Authorization", r#"Digest response="4567ef""#);
        h.push("Call-ID", "visible");
        let shown = format!("{h:?}");
        assert!(!shown.contains("0123abcd") && !shown.contains("4567ef"), "{shown}");
        assert!(shown.contains("visible"));
    }

    #[test]
    fn status_code_classes() {
        assert!(StatusCode::new(99).is_none() && StatusCode::new(700).is_none());
        let ringing = StatusCode::RINGING;
        assert!(ringing.is_provisional() && !ringing.is_final());
        assert!(StatusCode::OK.is_success() && StatusCode::OK.is_final());
        assert!(!StatusCode::BAD_REQUEST.is_success());
    }

    #[test]
    fn foreign_protocol_version_is_answered_505() {
        let text = "OPTIONS sip:a@b SIP/3.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nFrom: <sip:c@d>;tag=1\r\n\
                    To: <sip:a@b>\r\nCall-ID: x\r\nCSeq: 1 OPTIONS\r\n\r\n";
        let err = parse(text.as_bytes(), &Limits::default()).unwrap_err();
        assert_eq!(err.malformed, Malformed::Version);
        let resp = err.response("t").unwrap();
        assert_eq!(resp.status, StatusCode::VERSION_NOT_SUPPORTED);
        assert!(err.request_headers().is_some());
    }
}
