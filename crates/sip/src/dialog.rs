//! Dialog state (RFC 3261 §12): identity, CSeq spaces, remote target and route set, and the
//! requests built inside a dialog.

use std::fmt;

use crate::msg::{Malformed, Method, NameAddr, Request, Response, Uri, Via};

/// Call-ID plus both tags: what identifies a dialog on the wire.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DialogId {
    pub call_id: String,
    pub local_tag: String,
    pub remote_tag: String,
}

impl fmt::Display for DialogId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{};local={};remote={}",
            self.call_id, self.local_tag, self.remote_tag
        )
    }
}

/// Why a message does not fit the dialog.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DialogError {
    #[error(transparent)]
    Malformed(#[from] Malformed),
    /// The response that should create the dialog has no To tag (RFC 2543 peer).
    #[error("dialog-creating message lacks a tag")]
    MissingTag,
    /// A request's CSeq is lower than one already seen (answer 500, §12.2.2).
    #[error("CSeq {got} is below the last remote CSeq {last}")]
    CSeqOutOfOrder { got: u32, last: u32 },
}

/// One dialog, from our side.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dialog {
    pub id: DialogId,
    local: NameAddr,
    remote: NameAddr,
    remote_target: Uri,
    /// Route set in the order requests must carry it.
    route_set: Vec<NameAddr>,
    local_seq: u32,
    remote_seq: Option<u32>,
}

impl Dialog {
    /// The UAC side, from the INVITE we sent and a 1xx/2xx that carries a To tag (§12.1.2).
    pub fn from_uac(request: &Request, response: &Response) -> Result<Self, DialogError> {
        let to = response.headers.to()?;
        let remote_tag = to.tag().ok_or(DialogError::MissingTag)?;
        let from = request.headers.from()?;
        let local_tag = from.tag().ok_or(DialogError::MissingTag)?;
        let mut route_set = response.headers.routes("Record-Route")?;
        route_set.reverse();
        Ok(Self {
            id: DialogId {
                call_id: request.headers.call_id()?.to_owned(),
                local_tag,
                remote_tag,
            },
            local: from,
            remote: to,
            remote_target: remote_target(&response.headers).unwrap_or_else(|| request.uri.clone()),
            route_set,
            local_seq: request.headers.cseq()?.seq,
            remote_seq: None,
        })
    }

    /// The UAS side, from the request received and the tag we put in To (§12.1.1).
    pub fn from_uas(request: &Request, local_tag: &str) -> Result<Self, DialogError> {
        let from = request.headers.from()?;
        let remote_tag = from.tag().unwrap_or_default();
        let mut local = request.headers.to()?;
        local.params.set("tag", Some(local_tag));
        // RFC 2543 peers may omit Contact; their From URI is then the only target we have.
        let remote_target = remote_target(&request.headers).unwrap_or_else(|| from.uri.clone());
        Ok(Self {
            id: DialogId {
                call_id: request.headers.call_id()?.to_owned(),
                local_tag: local_tag.to_owned(),
                remote_tag,
            },
            local,
            remote: from,
            remote_target,
            route_set: request.headers.routes("Record-Route")?,
            local_seq: 0,
            remote_seq: Some(request.headers.cseq()?.seq),
        })
    }

    /// Whether a request received belongs to this dialog (§12.2.2: Call-ID, To tag = ours,
    /// From tag = theirs).
    pub fn matches(&self, request: &Request) -> bool {
        let to_tag = request.headers.to().ok().and_then(|t| t.tag());
        let from_tag = request.headers.from().ok().and_then(|f| f.tag()).unwrap_or_default();
        request.headers.call_id().is_ok_and(|id| id == self.id.call_id)
            && to_tag.as_deref() == Some(self.id.local_tag.as_str())
            && from_tag == self.id.remote_tag
    }

    /// Accepts a request within the dialog: enforces CSeq order and refreshes the remote
    /// target on re-INVITE/UPDATE. ACK and CANCEL reuse their INVITE's CSeq and skip the check.
    pub fn receive(&mut self, request: &Request) -> Result<(), DialogError> {
        let seq = request.headers.cseq()?.seq;
        if !matches!(request.method, Method::Ack | Method::Cancel) {
            if let Some(last) = self.remote_seq
                && seq <= last
            {
                return Err(DialogError::CSeqOutOfOrder { got: seq, last });
            }
            self.remote_seq = Some(seq);
        }
        if matches!(request.method, Method::Invite | Method::Update)
            && let Some(target) = remote_target(&request.headers)
        {
            self.remote_target = target;
        }
        Ok(())
    }

    /// A 2xx to our target-refresh request (re-INVITE/UPDATE) may move the remote target.
    pub fn refresh_target(&mut self, response: &Response) {
        if let Some(target) = remote_target(&response.headers) {
            self.remote_target = target;
        }
    }

    pub fn remote_target(&self) -> &Uri {
        &self.remote_target
    }

    pub fn local_seq(&self) -> u32 {
        self.local_seq
    }

    /// A new in-dialog request with the next local CSeq (§12.2.1.1, loose routing).
    pub fn request(&mut self, method: Method, via: &Via) -> Request {
        self.local_seq += 1;
        self.build(method, self.local_seq, via)
    }

    /// The ACK for a 2xx to the INVITE sent with `invite_seq` (a new transaction, §13.2.2.4).
    pub fn ack(&self, invite_seq: u32, via: &Via) -> Request {
        self.build(Method::Ack, invite_seq, via)
    }

    fn build(&self, method: Method, seq: u32, via: &Via) -> Request {
        let mut request = Request::new(method.clone(), self.remote_target.clone());
        let h = &mut request.headers;
        h.push("Via", via.to_string());
        h.push("Max-Forwards", "70");
        h.push("From", self.local.to_string());
        h.push("To", self.remote.to_string());
        h.push("Call-ID", self.id.call_id.clone());
        h.push("CSeq", format!("{seq} {method}"));
        for route in &self.route_set {
            h.push("Route", route.to_string());
        }
        request
    }
}

fn remote_target(headers: &crate::msg::Headers) -> Option<Uri> {
    headers.contacts().ok()?.into_iter().find_map(|c| match c {
        crate::msg::Contact::Address(a) => Some(a.uri),
        crate::msg::Contact::Star => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::msg::{Limits, Message, SentBy, parse};

    fn message(text: &str) -> Message {
        parse(text.replace('\n', "\r\n").as_bytes(), &Limits::default()).unwrap()
    }

    const INVITE: &str = "INVITE sip:bob@example.com SIP/2.0
Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK1
From: \"Alice\" <sip:alice@example.com>;tag=a1
To: <sip:bob@example.com>
Call-ID: d1@192.0.2.1
CSeq: 10 INVITE
Contact: <sip:alice@192.0.2.1>
Record-Route: <sip:p1.example.com;lr>, <sip:p2.example.com;lr>
Content-Length: 0

";

    const OK: &str = "SIP/2.0 200 OK
Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK1
From: \"Alice\" <sip:alice@example.com>;tag=a1
To: <sip:bob@example.com>;tag=b1
Call-ID: d1@192.0.2.1
CSeq: 10 INVITE
Contact: <sip:bob@192.0.2.2:5062>
Record-Route: <sip:p1.example.com;lr>, <sip:p2.example.com;lr>
Content-Length: 0

";

    fn via() -> Via {
        Via::new(
            "UDP",
            SentBy {
                host: "192.0.2.1".into(),
                port: None,
            },
            "z9hG4bKnew",
        )
    }

    fn uac() -> Dialog {
        let (Message::Request(inv), Message::Response(ok)) = (message(INVITE), message(OK)) else {
            panic!()
        };
        Dialog::from_uac(&inv, &ok).unwrap()
    }

    #[test]
    fn uac_dialog_reverses_record_route_and_targets_the_contact() {
        let mut d = uac();
        assert_eq!(
            d.id,
            DialogId {
                call_id: "d1@192.0.2.1".into(),
                local_tag: "a1".into(),
                remote_tag: "b1".into()
            }
        );
        let bye = d.request(Method::Bye, &via());
        assert_eq!(bye.uri.as_str(), "sip:bob@192.0.2.2:5062");
        let routes: Vec<&str> = bye.headers.get_all("Route").collect();
        assert_eq!(routes, vec!["<sip:p2.example.com;lr>", "<sip:p1.example.com;lr>"]);
        assert_eq!(bye.headers.cseq().unwrap().seq, 11);
        assert_eq!(bye.headers.to().unwrap().tag().as_deref(), Some("b1"));
        assert_eq!(bye.headers.from().unwrap().tag().as_deref(), Some("a1"));
        let ack = d.ack(10, &via());
        assert_eq!(ack.headers.cseq().unwrap().to_string(), "10 ACK");
        assert_eq!(d.local_seq(), 11, "ACK does not consume a CSeq");
    }

    #[test]
    fn uas_dialog_keeps_record_route_order_and_checks_remote_cseq() {
        let Message::Request(inv) = message(INVITE) else {
            panic!()
        };
        let mut d = Dialog::from_uas(&inv, "b9").unwrap();
        assert_eq!(d.id.remote_tag, "a1");
        let bye = d.request(Method::Bye, &via());
        assert_eq!(bye.uri.as_str(), "sip:alice@192.0.2.1");
        assert_eq!(bye.headers.get("Route"), Some("<sip:p1.example.com;lr>"));
        assert_eq!(bye.headers.to().unwrap().tag().as_deref(), Some("a1"));
        assert_eq!(bye.headers.from().unwrap().tag().as_deref(), Some("b9"));

        let incoming = |cseq: u32, method: &str| {
            let text = INVITE
                .replace("INVITE sip", &format!("{method} sip"))
                .replace("10 INVITE", &format!("{cseq} {method}"))
                .replace("To: <sip:bob@example.com>", "To: <sip:bob@example.com>;tag=b9")
                .replace("<sip:alice@192.0.2.1>", "<sip:alice@192.0.2.77>");
            let Message::Request(r) = message(&text) else { panic!() };
            r
        };
        assert!(d.matches(&incoming(11, "BYE")));
        assert!(!d.matches(&inv), "no To tag: not in the dialog");
        assert_eq!(
            d.receive(&incoming(10, "BYE")),
            Err(DialogError::CSeqOutOfOrder { got: 10, last: 10 })
        );
        d.receive(&incoming(12, "INVITE")).unwrap();
        assert_eq!(
            d.remote_target().as_str(),
            "sip:alice@192.0.2.77",
            "re-INVITE refreshes the target"
        );
        d.receive(&incoming(12, "ACK")).unwrap();
    }

    #[test]
    fn response_without_to_tag_cannot_create_a_dialog() {
        let (Message::Request(inv), Message::Response(ok)) = (message(INVITE), message(&OK.replace(";tag=b1", "")))
        else {
            panic!()
        };
        assert_eq!(Dialog::from_uac(&inv, &ok), Err(DialogError::MissingTag));
    }
}
