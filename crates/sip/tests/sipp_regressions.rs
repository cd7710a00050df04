//! Bugs SIPp found (runtime/tests/sip_sipp.rs), pinned at the core on a virtual clock:
//!
//! * the 200 for a CANCEL carried a fresh To tag instead of the dialog's, so a caller that
//!   ACKs with the tag it saw last (SIPp's `[peer_tag_param]`) missed the dialog and our 2xx
//!   was retransmitted until Timer H ended the call;
//! * a 407 for a proxy realm after the registrar's 401 had been answered was taken for a
//!   refusal of our credentials, and the call ended with `AuthenticationFailed`.

#![cfg(test)]

mod common;

use std::net::SocketAddr;

use common::{Clock, parse_bytes};
use sip::invite::EndReason;
use sip::msg::{Message, Method, Request, Response, Uri};
use sip::sdp::{Codec, MediaConfig};
use sip::transaction::TimerConfig;
use sip::ua::{UaConfig, UaEvent, UserAgent};

fn peer() -> SocketAddr {
    "127.0.0.1:5080".parse().unwrap()
}

fn user_agent() -> UserAgent {
    UserAgent::new(UaConfig {
        local: "127.0.0.1:5070".parse().unwrap(),
        proxy: peer(),
        domain: "127.0.0.1".into(),
        user: "alice".into(),
        display_name: None,
        password: "wonderland".into(),
        register_expires: 300,
        media: MediaConfig {
            address: "127.0.0.1".into(),
            port: 40000,
            codecs: vec![Codec::Pcmu],
            telephone_event: false,
            ptime: 20,
        },
        timers: TimerConfig::default(),
        limits: Default::default(),
        user_agent: "oktell-panel-test".into(),
        seed: 11,
        refer_policy: Default::default(),
        session_timer: Default::default(),
    })
    .unwrap()
}

fn sent(ua: &mut UserAgent) -> Vec<Message> {
    std::iter::from_fn(|| ua.poll_transmit())
        .map(|t| parse_bytes(&t.bytes))
        .collect()
}

fn responses(ua: &mut UserAgent) -> Vec<Response> {
    sent(ua)
        .into_iter()
        .filter_map(|m| match m {
            Message::Response(r) => Some(r),
            Message::Request(_) => None,
        })
        .collect()
}

fn requests(ua: &mut UserAgent) -> Vec<Request> {
    sent(ua)
        .into_iter()
        .filter_map(|m| match m {
            Message::Request(r) => Some(r),
            Message::Response(_) => None,
        })
        .collect()
}

fn events(ua: &mut UserAgent) -> Vec<UaEvent> {
    std::iter::from_fn(|| ua.poll_event()).collect()
}

const SDP: &str = "v=0\r\no=sipp 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n\
                   m=audio 6000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n";

/// SIPp's INVITE (or, with `method` CANCEL, its CANCEL of it: same branch, no body).
fn from_caller(method: &str) -> Vec<u8> {
    let body = if method == "INVITE" { SDP } else { "" };
    let content_type = if body.is_empty() {
        ""
    } else {
        "Content-Type: application/sdp\r\n"
    };
    format!(
        "{method} sip:service@127.0.0.1:5070 SIP/2.0\r\n\
         Via: SIP/2.0/UDP 127.0.0.1:5080;branch=z9hG4bK-1-1-invite\r\n\
         From: sipp <sip:sipp@127.0.0.1:5080>;tag=sipp1\r\n\
         To: <sip:service@127.0.0.1:5070>\r\n\
         Call-ID: cancel-tag@127.0.0.1\r\n\
         CSeq: 1 {method}\r\n\
         Contact: <sip:sipp@127.0.0.1:5080>\r\n\
         Max-Forwards: 70\r\n\
         {content_type}Content-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

fn to_tag(response: &Response) -> String {
    response.headers.to().unwrap().tag().unwrap().to_owned()
}

#[test]
fn the_200_for_a_cancel_after_our_answer_carries_the_dialog_tag() {
    let clock = Clock::new();
    let mut ua = user_agent();
    ua.handle_datagram(clock.at(0), peer(), &from_caller("INVITE"));
    let call = match events(&mut ua).as_slice() {
        [UaEvent::IncomingCall { call, .. }] => *call,
        other => panic!("{other:?}"),
    };
    responses(&mut ua);
    ua.answer(clock.at(10), call).unwrap();
    let ok = responses(&mut ua).remove(0);
    assert_eq!(ok.status.code(), 200);
    ua.handle_datagram(clock.at(20), peer(), &from_caller("CANCEL"));
    let cancel_ok = responses(&mut ua);
    assert_eq!(cancel_ok.len(), 1, "{cancel_ok:?}");
    assert_eq!(cancel_ok[0].headers.cseq().unwrap().method, Method::Cancel);
    assert_eq!(to_tag(&cancel_ok[0]), to_tag(&ok), "RFC 3261 §9.2: the same To tag");
    // An ACK with that tag establishes the call.
    let ack = format!(
        "ACK sip:alice@127.0.0.1:5070 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5080;branch=z9hG4bK-1-1-6\r\n\
         From: sipp <sip:sipp@127.0.0.1:5080>;tag=sipp1\r\nTo: <sip:service@127.0.0.1:5070>;tag={}\r\n\
         Call-ID: cancel-tag@127.0.0.1\r\nCSeq: 1 ACK\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n",
        to_tag(&cancel_ok[0])
    );
    ua.handle_datagram(clock.at(30), peer(), ack.as_bytes());
    assert!(
        matches!(events(&mut ua).as_slice(), [UaEvent::Established { call: c, .. }] if *c == call),
        "the ACK did not reach the dialog"
    );
}

#[test]
fn the_200_for_a_cancel_while_ringing_carries_the_tag_of_the_487() {
    let clock = Clock::new();
    let mut ua = user_agent();
    ua.handle_datagram(clock.at(0), peer(), &from_caller("INVITE"));
    let ringing = responses(&mut ua).pop().unwrap();
    assert_eq!(ringing.status.code(), 180);
    ua.handle_datagram(clock.at(20), peer(), &from_caller("CANCEL"));
    let answers = responses(&mut ua);
    let codes: Vec<u16> = answers.iter().map(|r| r.status.code()).collect();
    assert_eq!(codes, vec![200, 487]);
    for answer in &answers {
        assert_eq!(to_tag(answer), to_tag(&ringing), "{answer:?}");
    }
}

/// Our call's response to one challenge: the 401/407 the callee sends for `invite`.
fn challenge(invite: &Request, status: &str, header: &str, realm: &str, nonce: &str) -> Vec<u8> {
    let h = &invite.headers;
    format!(
        "SIP/2.0 {status}\r\nVia: {}\r\nFrom: {}\r\nTo: {};tag=callee\r\nCall-ID: {}\r\nCSeq: {}\r\n\
         {header}: Digest realm=\"{realm}\", nonce=\"{nonce}\", algorithm=MD5\r\nContent-Length: 0\r\n\r\n",
        h.get("Via").unwrap(),
        h.get("From").unwrap(),
        h.get("To").unwrap(),
        h.get("Call-ID").unwrap(),
        h.get("CSeq").unwrap(),
    )
    .into_bytes()
}

fn invite_of(sent: Vec<Request>) -> Request {
    let mut invites: Vec<Request> = sent.into_iter().filter(|r| r.method == Method::Invite).collect();
    assert_eq!(invites.len(), 1, "{invites:?}");
    invites.remove(0)
}

fn realms(request: &Request, header: &str) -> Vec<String> {
    request
        .headers
        .get_all(header)
        .map(|v| {
            let start = v.find("realm=\"").unwrap() + 7;
            v[start..].split('"').next().unwrap().to_owned()
        })
        .collect()
}

#[test]
fn a_407_for_a_new_realm_after_an_answered_401_is_answered_too() {
    let clock = Clock::new();
    let mut ua = user_agent();
    let target = Uri::parse("sip:service@127.0.0.1:5080").unwrap();
    let call = ua.call(clock.at(0), &target).unwrap();
    let first = invite_of(requests(&mut ua));
    ua.handle_datagram(
        clock.at(10),
        peer(),
        &challenge(&first, "401 Unauthorized", "WWW-Authenticate", "sipp.test", "n1"),
    );
    let second = invite_of(requests(&mut ua));
    assert_eq!(realms(&second, "Authorization"), vec!["sipp.test"]);
    ua.handle_datagram(
        clock.at(20),
        peer(),
        &challenge(
            &second,
            "407 Proxy Authentication Required",
            "Proxy-Authenticate",
            "proxy.test",
            "n2",
        ),
    );
    assert!(
        !events(&mut ua)
            .iter()
            .any(|e| matches!(e, UaEvent::Ended { call: c, .. } if *c == call)),
        "the 407 ended the call"
    );
    let third = invite_of(requests(&mut ua));
    assert_eq!(realms(&third, "Authorization"), vec!["sipp.test"]);
    assert_eq!(realms(&third, "Proxy-Authorization"), vec!["proxy.test"]);
    // The same realm challenged again without stale=true is a refusal: no endless retries.
    ua.handle_datagram(
        clock.at(30),
        peer(),
        &challenge(
            &third,
            "407 Proxy Authentication Required",
            "Proxy-Authenticate",
            "proxy.test",
            "n3",
        ),
    );
    assert!(
        events(&mut ua).iter().any(|e| matches!(
            e,
            UaEvent::Ended { call: c, reason: EndReason::AuthenticationFailed } if *c == call
        )),
        "a refused credential must end the call"
    );
    assert!(requests(&mut ua).iter().all(|r| r.method != Method::Invite));
}
