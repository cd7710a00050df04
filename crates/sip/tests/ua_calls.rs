//! Call flows through the user agent's single entry point, against a scripted PBX on a
//! virtual clock. Addresses are loopback; nothing here touches a socket.

#![cfg(test)]

mod common;

use std::net::SocketAddr;
use std::time::Instant;

use common::{Clock, parse_bytes};
use sip::invite::EndReason;
use sip::msg::{Message, Method, Request, Response, StatusCode, Uri};
use sip::register::RegisterEvent;
use sip::sdp::{Codec, MediaConfig};
use sip::transaction::TimerConfig;
use sip::ua::{UaConfig, UaEvent, UserAgent};

const PBX: &str = "127.0.0.1:5060";

fn pbx() -> SocketAddr {
    PBX.parse().unwrap()
}

fn config() -> UaConfig {
    UaConfig {
        local: "127.0.0.1:5070".parse().unwrap(),
        proxy: pbx(),
        domain: "pbx.example.com".into(),
        user: "1001".into(),
        display_name: Some("Operator 1".into()),
        password: "secret1001".into(),
        register_expires: 600,
        media: MediaConfig {
            address: "127.0.0.1".into(),
            port: 40000,
            codecs: vec![Codec::Pcma, Codec::Pcmu],
            telephone_event: true,
            ptime: 20,
        },
        timers: TimerConfig::default(),
        limits: Default::default(),
        user_agent: "oktell-panel-test".into(),
        seed: 7,
        refer_policy: Default::default(),
        session_timer: Default::default(),
    }
}

struct Harness {
    ua: UserAgent,
    clock: Clock,
}

impl Harness {
    fn new() -> Self {
        Self {
            ua: UserAgent::new(config()).unwrap(),
            clock: Clock::new(),
        }
    }

    fn at(&self, ms: u64) -> Instant {
        self.clock.at(ms)
    }

    fn sent(&mut self) -> Vec<(SocketAddr, Message)> {
        std::iter::from_fn(|| self.ua.poll_transmit())
            .map(|t| (t.destination, parse_bytes(&t.bytes)))
            .collect()
    }

    fn requests(&mut self) -> Vec<Request> {
        self.sent()
            .into_iter()
            .map(|(to, m)| match m {
                Message::Request(r) => {
                    assert_eq!(to, pbx(), "requests go to the proxy");
                    r
                }
                Message::Response(r) => panic!("unexpected response {}", r.status),
            })
            .collect()
    }

    fn responses(&mut self) -> Vec<Response> {
        self.sent()
            .into_iter()
            .map(|(_, m)| match m {
                Message::Response(r) => r,
                Message::Request(r) => panic!("unexpected request {}", r.method),
            })
            .collect()
    }

    fn events(&mut self) -> Vec<UaEvent> {
        std::iter::from_fn(|| self.ua.poll_event()).collect()
    }

    fn deliver(&mut self, ms: u64, bytes: &[u8]) {
        let now = self.at(ms);
        self.ua.handle_datagram(now, pbx(), bytes);
    }

    fn run_until(&mut self, ms: u64) {
        while let Some(at) = self.ua.poll_timeout() {
            if at > self.at(ms) {
                break;
            }
            self.ua.handle_timeout(at);
        }
    }
}

const PBX_SDP: &str = "v=0\r\no=pbx 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n\
    m=audio 30000 RTP/AVP 8 101\r\na=rtpmap:8 PCMA/8000\r\na=rtpmap:101 telephone-event/8000\r\na=sendrecv\r\n";

fn reply(request: &Request, status: u16, tag: &str, sdp: Option<&str>) -> Vec<u8> {
    let mut r = Response::to_request(request, StatusCode::new(status).unwrap(), "Reason", tag);
    r.headers.push("Contact", "<sip:2002@127.0.0.1:5060>");
    if let Some(sdp) = sdp {
        r.headers.push("Content-Type", "application/sdp");
        r.body = sdp.as_bytes().to_vec();
    }
    r.to_bytes()
}

fn target() -> Uri {
    Uri::parse("sip:2002@pbx.example.com").unwrap()
}

// ---- outgoing ----

#[test]
fn outgoing_call_rings_connects_acks_and_hangs_up() {
    let mut h = Harness::new();
    let call = h.ua.call(h.at(0), &target()).unwrap();
    let invite = h.requests().remove(0);
    assert_eq!(invite.method, Method::Invite);
    assert_eq!(invite.headers.get("Content-Type"), Some("application/sdp"));
    assert!(String::from_utf8_lossy(&invite.body).contains("m=audio 40000 RTP/AVP 8 0 101"));
    assert_eq!(invite.headers.from().unwrap().display.as_deref(), Some("Operator 1"));

    h.deliver(10, &reply(&invite, 100, "", None));
    h.deliver(20, &reply(&invite, 180, "pbx-tag", None));
    assert_eq!(
        h.events(),
        vec![UaEvent::Progress {
            call,
            status: 180,
            early_media: None
        }]
    );

    h.deliver(30, &reply(&invite, 200, "pbx-tag", Some(PBX_SDP)));
    let ack = h.requests().remove(0);
    assert_eq!(ack.method, Method::Ack);
    assert_eq!(
        ack.uri.as_str(),
        "sip:2002@127.0.0.1:5060",
        "ACK goes to the remote target"
    );
    assert_eq!(ack.headers.cseq().unwrap().seq, 1);
    assert_ne!(
        ack.headers.top_via().unwrap().branch(),
        invite.headers.top_via().unwrap().branch()
    );
    let events = h.events();
    let [UaEvent::Established { call: c, media }] = &events[..] else {
        panic!("{events:?}")
    };
    assert_eq!(*c, call);
    assert_eq!(
        (media.codec, media.payload_type, media.telephone_event),
        (Codec::Pcma, 8, Some(101))
    );
    assert_eq!((media.remote_address.as_str(), media.remote_port), ("127.0.0.1", 30000));

    h.deliver(600, &reply(&invite, 200, "pbx-tag", Some(PBX_SDP)));
    let again = h.requests();
    assert_eq!(again.len(), 1, "a retransmitted 2xx is ACKed again");
    assert_eq!(
        again[0].headers.top_via().unwrap().branch(),
        ack.headers.top_via().unwrap().branch()
    );
    assert!(h.events().is_empty());

    h.ua.hangup(h.at(5_000), call).unwrap();
    let bye = h.requests().remove(0);
    assert_eq!(bye.method, Method::Bye);
    assert_eq!(bye.headers.cseq().unwrap().seq, 2);
    assert_eq!(bye.headers.to().unwrap().tag().as_deref(), Some("pbx-tag"));
    assert_eq!(
        h.events(),
        vec![UaEvent::Ended {
            call,
            reason: EndReason::Local
        }]
    );
    h.deliver(5_010, &reply(&bye, 200, "pbx-tag", None));
    assert!(h.events().is_empty());
}

#[test]
fn early_media_from_183_is_reported_and_not_renegotiated_by_the_200() {
    let mut h = Harness::new();
    let call = h.ua.call(h.at(0), &target()).unwrap();
    let invite = h.requests().remove(0);
    h.deliver(10, &reply(&invite, 183, "t", Some(PBX_SDP)));
    let events = h.events();
    let [
        UaEvent::Progress {
            status: 183,
            early_media: Some(media),
            ..
        },
    ] = &events[..]
    else {
        panic!("{events:?}")
    };
    assert_eq!(media.codec, Codec::Pcma);
    h.deliver(20, &reply(&invite, 200, "t", Some(PBX_SDP)));
    assert!(matches!(&h.events()[..], [UaEvent::Established { call: c, .. }] if *c == call));
}

#[test]
fn challenged_invite_is_resent_with_proxy_authorization() {
    let mut h = Harness::new();
    let call = h.ua.call(h.at(0), &target()).unwrap();
    let invite = h.requests().remove(0);
    let mut challenge = Response::to_request(&invite, StatusCode::PROXY_AUTHENTICATION_REQUIRED, "Proxy Auth", "x");
    challenge.headers.push(
        "Proxy-Authenticate",
        r#"Digest realm="pbx", nonce="abc", qop="auth", algorithm=MD5"#,
    );
    h.deliver(10, &challenge.to_bytes());
    let sent = h.requests();
    assert_eq!(sent.len(), 2, "ACK for the 407, then the new INVITE");
    assert_eq!(sent[0].method, Method::Ack);
    let retry = &sent[1];
    assert_eq!(retry.method, Method::Invite);
    assert_eq!(retry.headers.cseq().unwrap().seq, 2);
    assert_eq!(retry.headers.call_id().unwrap(), invite.headers.call_id().unwrap());
    assert!(
        retry
            .headers
            .get("Proxy-Authorization")
            .unwrap()
            .contains("nc=00000001")
    );
    assert_eq!(retry.body, invite.body, "same offer");
    h.deliver(20, &reply(retry, 200, "t", Some(PBX_SDP)));
    assert!(matches!(&h.events()[..], [UaEvent::Established { call: c, .. }] if *c == call));
}

#[test]
fn a_challenged_bye_is_resent_once_with_credentials() {
    let mut h = Harness::new();
    let call = h.ua.call(h.at(0), &target()).unwrap();
    let invite = h.requests().remove(0);
    h.deliver(10, &reply(&invite, 200, "pbx-tag", Some(PBX_SDP)));
    h.requests();
    h.events();
    h.ua.hangup(h.at(1_000), call).unwrap();
    let bye = h.requests().remove(0);
    let mut challenge = Response::to_request(&bye, StatusCode::PROXY_AUTHENTICATION_REQUIRED, "Auth", "pbx-tag");
    challenge
        .headers
        .push("Proxy-Authenticate", r#"Digest realm="pbx", nonce="b1", qop="auth""#);
    h.deliver(1_010, &challenge.to_bytes());
    let retry = h.requests().remove(0);
    assert_eq!(retry.method, Method::Bye);
    assert_eq!(retry.headers.cseq().unwrap().seq, bye.headers.cseq().unwrap().seq + 1);
    assert!(retry.headers.get("Proxy-Authorization").is_some());
    challenge.headers.set("Via", retry.headers.get("Via").unwrap());
    challenge.headers.set("CSeq", retry.headers.get("CSeq").unwrap());
    h.deliver(1_020, &challenge.to_bytes());
    assert!(h.requests().is_empty(), "never a second retry");
}

#[test]
fn the_next_call_is_preauthorised_and_survives_a_fresh_challenge() {
    let mut h = Harness::new();
    let first = h.ua.call(h.at(0), &target()).unwrap();
    let invite = h.requests().remove(0);
    let mut challenge = Response::to_request(&invite, StatusCode::PROXY_AUTHENTICATION_REQUIRED, "Auth", "x");
    challenge
        .headers
        .push("Proxy-Authenticate", r#"Digest realm="pbx", nonce="n1", qop="auth""#);
    h.deliver(10, &challenge.to_bytes());
    let retry = h.requests().pop().unwrap();
    h.deliver(20, &reply(&retry, 486, "x", None));
    h.requests();
    assert!(matches!(&h.events()[..], [UaEvent::Ended { call, .. }] if *call == first));

    let second = h.ua.call(h.at(1_000), &target()).unwrap();
    let invite = h.requests().remove(0);
    assert!(
        invite
            .headers
            .get("Proxy-Authorization")
            .unwrap()
            .contains("nc=00000002")
    );
    let mut fresh = Response::to_request(&invite, StatusCode::PROXY_AUTHENTICATION_REQUIRED, "Auth", "y");
    fresh
        .headers
        .push("Proxy-Authenticate", r#"Digest realm="pbx", nonce="n2", qop="auth""#);
    h.deliver(1_010, &fresh.to_bytes());
    let retry = h.requests().pop().unwrap();
    assert!(
        retry
            .headers
            .get("Proxy-Authorization")
            .unwrap()
            .contains("nonce=\"n2\"")
    );
    assert!(h.events().is_empty(), "not an authentication failure");
    let mut refused = Response::to_request(&retry, StatusCode::PROXY_AUTHENTICATION_REQUIRED, "Auth", "z");
    refused
        .headers
        .push("Proxy-Authenticate", r#"Digest realm="pbx", nonce="n3", qop="auth""#);
    h.deliver(1_020, &refused.to_bytes());
    assert_eq!(
        h.events(),
        vec![UaEvent::Ended {
            call: second,
            reason: EndReason::AuthenticationFailed
        }]
    );
}

#[test]
fn hangup_while_ringing_cancels_and_the_487_ends_the_call() {
    let mut h = Harness::new();
    let call = h.ua.call(h.at(0), &target()).unwrap();
    let invite = h.requests().remove(0);
    h.deliver(10, &reply(&invite, 180, "t", None));
    h.events();
    h.ua.hangup(h.at(100), call).unwrap();
    let cancel = h.requests().remove(0);
    assert_eq!(cancel.method, Method::Cancel);
    assert_eq!(cancel.uri, invite.uri);
    assert_eq!(
        cancel.headers.top_via().unwrap().branch(),
        invite.headers.top_via().unwrap().branch()
    );
    assert_eq!(cancel.headers.cseq().unwrap().to_string(), "1 CANCEL");
    assert_eq!(cancel.headers.get("To"), invite.headers.get("To"), "To without the tag");
    h.deliver(110, &reply(&cancel, 200, "t", None));
    h.deliver(120, &reply(&invite, 487, "t", None));
    let ack = h.requests().remove(0);
    assert_eq!(ack.method, Method::Ack, "the 487 is ACKed by the transaction");
    assert_eq!(
        h.events(),
        vec![UaEvent::Ended {
            call,
            reason: EndReason::Local
        }]
    );
}

#[test]
fn cancel_waits_for_a_provisional_response() {
    let mut h = Harness::new();
    let call = h.ua.call(h.at(0), &target()).unwrap();
    let invite = h.requests().remove(0);
    h.ua.hangup(h.at(5), call).unwrap();
    assert!(
        h.requests().is_empty(),
        "no CANCEL before a provisional (RFC 3261 §9.1)"
    );
    h.deliver(10, &reply(&invite, 100, "", None));
    let cancel = h.requests().remove(0);
    assert_eq!(
        cancel.method,
        Method::Cancel,
        "any provisional, 100 included, allows the CANCEL"
    );
    assert!(h.events().is_empty(), "100 Trying is no progress event");
}

#[test]
fn cancel_is_given_up_after_64_t1_without_a_final_response() {
    let mut h = Harness::new();
    let call = h.ua.call(h.at(0), &target()).unwrap();
    let invite = h.requests().remove(0);
    h.deliver(10, &reply(&invite, 180, "t", None));
    h.events();
    h.ua.hangup(h.at(100), call).unwrap();
    h.requests();
    h.run_until(32_099);
    assert!(h.events().is_empty());
    h.run_until(32_100);
    assert_eq!(
        h.events(),
        vec![UaEvent::Ended {
            call,
            reason: EndReason::Local
        }]
    );
}

#[test]
fn a_2xx_racing_the_cancel_is_acked_then_byed() {
    let mut h = Harness::new();
    let call = h.ua.call(h.at(0), &target()).unwrap();
    let invite = h.requests().remove(0);
    h.deliver(10, &reply(&invite, 180, "t", None));
    h.ua.hangup(h.at(20), call).unwrap();
    h.requests();
    h.events();
    h.deliver(30, &reply(&invite, 200, "t", Some(PBX_SDP)));
    let methods: Vec<Method> = h.requests().into_iter().map(|r| r.method).collect();
    assert_eq!(methods, vec![Method::Ack, Method::Bye]);
    assert_eq!(
        h.events(),
        vec![UaEvent::Ended {
            call,
            reason: EndReason::Local
        }]
    );
}

#[test]
fn busy_is_reported_with_its_status() {
    let mut h = Harness::new();
    let call = h.ua.call(h.at(0), &target()).unwrap();
    let invite = h.requests().remove(0);
    h.deliver(10, &reply(&invite, 486, "t", None));
    assert_eq!(h.requests()[0].method, Method::Ack);
    assert_eq!(
        h.events(),
        vec![UaEvent::Ended {
            call,
            reason: EndReason::Rejected {
                status: 486,
                reason: "Reason".into()
            }
        }]
    );
}

#[test]
fn unanswered_invite_times_out() {
    let mut h = Harness::new();
    let call = h.ua.call(h.at(0), &target()).unwrap();
    h.requests();
    h.run_until(40_000);
    assert_eq!(h.requests().len(), 6, "Timer A retransmissions");
    assert_eq!(
        h.events(),
        vec![UaEvent::Ended {
            call,
            reason: EndReason::Timeout
        }]
    );
}

#[test]
fn answer_without_a_common_codec_is_acked_and_byed() {
    let mut h = Harness::new();
    let call = h.ua.call(h.at(0), &target()).unwrap();
    let invite = h.requests().remove(0);
    let g729 = PBX_SDP
        .replace("RTP/AVP 8 101", "RTP/AVP 18")
        .replace("a=rtpmap:8 PCMA/8000\r\n", "");
    h.deliver(10, &reply(&invite, 200, "t", Some(&g729)));
    let methods: Vec<Method> = h.requests().into_iter().map(|r| r.method).collect();
    assert_eq!(methods, vec![Method::Ack, Method::Bye]);
    assert_eq!(
        h.events(),
        vec![UaEvent::Ended {
            call,
            reason: EndReason::MediaNotAcceptable
        }]
    );
}

// ---- incoming ----

const INCOMING: &str = "INVITE sip:1001@127.0.0.1:5070 SIP/2.0\r\n\
Via: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bKin1;rport\r\n\
Max-Forwards: 69\r\n\
From: \"Caller\" <sip:3003@pbx.example.com>;tag=pbx1\r\n\
To: <sip:1001@pbx.example.com>\r\n\
Call-ID: in-1@127.0.0.1\r\n\
CSeq: 20 INVITE\r\n\
Contact: <sip:3003@127.0.0.1:5060>\r\n\
P-Asserted-Identity: \"Customer\" <sip:+15550001@pbx.example.com>\r\n\
Content-Type: application/sdp\r\n";

fn incoming(sdp: &str) -> Vec<u8> {
    format!("{INCOMING}Content-Length: {}\r\n\r\n{sdp}", sdp.len()).into_bytes()
}

fn in_dialog(method: &str, cseq: u32, to_tag: &str, branch: &str) -> Vec<u8> {
    format!(
        "{method} sip:1001@127.0.0.1:5070 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5060;branch={branch}\r\n\
         From: <sip:3003@pbx.example.com>;tag=pbx1\r\nTo: <sip:1001@pbx.example.com>;tag={to_tag}\r\n\
         Call-ID: in-1@127.0.0.1\r\nCSeq: {cseq} {method}\r\nContent-Length: 0\r\n\r\n"
    )
    .into_bytes()
}

fn ring(h: &mut Harness) -> (sip::invite::CallHandle, String) {
    h.deliver(0, &incoming(PBX_SDP));
    let ringing = h.responses().remove(0);
    assert_eq!(ringing.status.code(), 180);
    let tag = ringing.headers.to().unwrap().tag().unwrap();
    let events = h.events();
    let [
        UaEvent::IncomingCall {
            call,
            from,
            asserted_identity,
        },
    ] = &events[..]
    else {
        panic!("{events:?}")
    };
    assert_eq!(from.uri.as_str(), "sip:3003@pbx.example.com");
    assert_eq!(asserted_identity.as_ref().unwrap().display.as_deref(), Some("Customer"));
    (*call, tag)
}

#[test]
fn incoming_call_is_answered_retransmitted_until_ack_and_ended_by_remote_bye() {
    let mut h = Harness::new();
    let (call, tag) = ring(&mut h);
    h.run_until(150);
    assert!(h.responses().is_empty(), "180 already sent: no automatic 100");

    h.ua.answer(h.at(1_000), call).unwrap();
    let ok = h.responses().remove(0);
    assert_eq!(ok.status, StatusCode::OK);
    assert_eq!(ok.headers.to().unwrap().tag(), Some(tag.clone()), "same tag as the 180");
    assert_eq!(ok.headers.get("Contact"), Some("<sip:1001@127.0.0.1:5070>"));
    let via = ok.headers.top_via().unwrap();
    assert_eq!(via.rport(), Some(Some(5060)), "rport filled from the source");
    let body = String::from_utf8(ok.body.clone()).unwrap();
    assert!(body.contains("m=audio 40000 RTP/AVP 8 101"), "{body}");

    h.run_until(2_600);
    let retransmitted: Vec<u16> = h.responses().iter().map(|r| r.status.code()).collect();
    assert_eq!(retransmitted, vec![200, 200], "at T1 and 3·T1 after the answer");

    h.deliver(2_700, &in_dialog("ACK", 20, &tag, "z9hG4bKack1"));
    let events = h.events();
    assert!(
        matches!(&events[..], [UaEvent::Established { media, .. }] if media.codec == Codec::Pcma),
        "{events:?}"
    );
    h.run_until(10_000);
    assert!(h.responses().is_empty(), "no retransmission after the ACK");

    h.deliver(20_000, &in_dialog("BYE", 21, &tag, "z9hG4bKbye1"));
    assert_eq!(h.responses()[0].status, StatusCode::OK);
    assert_eq!(
        h.events(),
        vec![UaEvent::Ended {
            call,
            reason: EndReason::RemoteHangup
        }]
    );
}

#[test]
fn an_rfc2543_caller_whose_ack_reuses_the_invite_identity_is_connected() {
    let mut h = Harness::new();
    let legacy = String::from_utf8(incoming(PBX_SDP))
        .unwrap()
        .replace(";branch=z9hG4bKin1;rport", "");
    h.deliver(0, legacy.as_bytes());
    let tag = h.responses()[0].headers.to().unwrap().tag().unwrap();
    let [UaEvent::IncomingCall { call, .. }] = h.events()[..] else {
        panic!()
    };
    h.ua.answer(h.at(10), call).unwrap();
    h.responses();
    let ack = String::from_utf8(in_dialog("ACK", 20, &tag, "x"))
        .unwrap()
        .replace(";branch=x", "");
    h.deliver(20, ack.as_bytes());
    assert!(matches!(&h.events()[..], [UaEvent::Established { .. }]));
}

#[test]
fn caller_cancel_gets_200_and_487() {
    let mut h = Harness::new();
    let (call, _) = ring(&mut h);
    let cancel = String::from_utf8(incoming(PBX_SDP))
        .unwrap()
        .replacen("INVITE sip", "CANCEL sip", 1)
        .replace("20 INVITE", "20 CANCEL");
    let cancel = cancel.split("Content-Type").next().unwrap().to_owned() + "Content-Length: 0\r\n\r\n";
    h.deliver(500, cancel.as_bytes());
    let statuses: Vec<(u16, Method)> = h
        .responses()
        .iter()
        .map(|r| (r.status.code(), r.headers.cseq().unwrap().method))
        .collect();
    assert_eq!(statuses, vec![(200, Method::Cancel), (487, Method::Invite)]);
    assert_eq!(
        h.events(),
        vec![UaEvent::Ended {
            call,
            reason: EndReason::CancelledByRemote
        }]
    );
}

#[test]
fn rejecting_sends_the_status_and_ends_the_call() {
    let mut h = Harness::new();
    let (call, tag) = ring(&mut h);
    h.ua.reject(h.at(100), call, 486, "Busy Here").unwrap();
    let busy = h.responses().remove(0);
    assert_eq!(busy.status.code(), 486);
    assert_eq!(busy.headers.to().unwrap().tag(), Some(tag));
    assert_eq!(
        h.events(),
        vec![UaEvent::Ended {
            call,
            reason: EndReason::Local
        }]
    );
    assert!(h.ua.answer(h.at(200), call).is_err());
}

#[test]
fn missing_ack_ends_the_call_with_bye_after_64_t1() {
    let mut h = Harness::new();
    let (call, _) = ring(&mut h);
    h.ua.answer(h.at(0), call).unwrap();
    h.responses();
    h.run_until(31_999);
    assert!(h.events().is_empty());
    h.run_until(32_000);
    let sent = h.sent();
    assert!(
        sent.iter()
            .any(|(_, m)| matches!(m, Message::Request(r) if r.method == Method::Bye))
    );
    assert_eq!(
        h.events(),
        vec![UaEvent::Ended {
            call,
            reason: EndReason::Timeout
        }]
    );
}

#[test]
fn hangup_before_the_ack_sends_bye_once_it_arrives() {
    let mut h = Harness::new();
    let (call, tag) = ring(&mut h);
    h.ua.answer(h.at(0), call).unwrap();
    h.responses();
    h.ua.hangup(h.at(100), call).unwrap();
    assert_eq!(
        h.events(),
        vec![UaEvent::Ended {
            call,
            reason: EndReason::Local
        }]
    );
    assert!(h.requests().is_empty(), "no BYE before the ACK (RFC 3261 §15)");
    h.deliver(200, &in_dialog("ACK", 20, &tag, "z9hG4bKack2"));
    let bye = h.requests().remove(0);
    assert_eq!(bye.method, Method::Bye);
    assert_eq!(bye.headers.to().unwrap().tag().as_deref(), Some("pbx1"));
    assert!(h.events().is_empty(), "Ended was reported once");
}

#[test]
fn offer_without_a_common_codec_is_refused_with_488() {
    let mut h = Harness::new();
    let g729 = PBX_SDP
        .replace("RTP/AVP 8 101", "RTP/AVP 18")
        .replace("a=rtpmap:8 PCMA/8000\r\n", "");
    h.deliver(0, &incoming(&g729));
    assert_eq!(h.responses()[0].status.code(), 488);
    assert!(h.events().is_empty());
}

#[test]
fn offerless_invite_gets_our_offer_and_the_ack_carries_the_answer() {
    let mut h = Harness::new();
    let text = format!(
        "{}Content-Length: 0\r\n\r\n",
        INCOMING.replace("Content-Type: application/sdp\r\n", "")
    );
    h.deliver(0, text.as_bytes());
    let tag = h.responses()[0].headers.to().unwrap().tag().unwrap();
    let [UaEvent::IncomingCall { call, .. }] = h.events()[..] else {
        panic!()
    };
    h.ua.answer(h.at(10), call).unwrap();
    let offer = String::from_utf8(h.responses()[0].body.clone()).unwrap();
    assert!(offer.contains("m=audio 40000 RTP/AVP 8 0 101"));
    let ack = String::from_utf8(in_dialog("ACK", 20, &tag, "z9hG4bKack3"))
        .unwrap()
        .replace(
            "Content-Length: 0\r\n\r\n",
            &format!(
                "Content-Type: application/sdp\r\nContent-Length: {}\r\n\r\n{PBX_SDP}",
                PBX_SDP.len()
            ),
        );
    h.deliver(20, ack.as_bytes());
    assert!(matches!(&h.events()[..], [UaEvent::Established { media, .. }] if media.codec == Codec::Pcma));
}

#[test]
fn requests_outside_any_dialog_get_481() {
    let mut h = Harness::new();
    h.deliver(0, &in_dialog("BYE", 5, "nope", "z9hG4bKx1"));
    assert_eq!(h.responses()[0].status.code(), 481);
}

// ---- re-INVITE: hold and resume ----

/// An outgoing call established with the PBX; returns the handle and the PBX's 200 for reuse.
fn established_outgoing(h: &mut Harness) -> (sip::invite::CallHandle, Request) {
    let call = h.ua.call(h.at(0), &target()).unwrap();
    let invite = h.requests().remove(0);
    h.deliver(10, &reply(&invite, 200, "pbx-tag", Some(PBX_SDP)));
    h.requests();
    assert!(matches!(&h.events()[..], [UaEvent::Established { .. }]));
    (call, invite)
}

fn with_direction(direction: &str) -> String {
    PBX_SDP.replace("a=sendrecv", &format!("a={direction}"))
}

#[test]
fn hold_offers_sendonly_and_resume_sendrecv_within_the_dialog() {
    let mut h = Harness::new();
    let (call, invite) = established_outgoing(&mut h);
    h.ua.hold(h.at(1_000), call).unwrap();
    let hold = h.requests().remove(0);
    assert_eq!(hold.method, Method::Invite);
    assert_eq!(hold.uri.as_str(), "sip:2002@127.0.0.1:5060");
    assert_eq!(hold.headers.cseq().unwrap().seq, 2);
    assert_eq!(hold.headers.call_id().unwrap(), invite.headers.call_id().unwrap());
    assert_eq!(hold.headers.to().unwrap().tag().as_deref(), Some("pbx-tag"));
    let body = String::from_utf8(hold.body.clone()).unwrap();
    assert!(body.contains("a=sendonly"), "{body}");
    assert!(h.ua.hold(h.at(1_001), call).is_err(), "one re-INVITE at a time");

    h.deliver(1_010, &reply(&hold, 200, "pbx-tag", Some(&with_direction("recvonly"))));
    let ack = h.requests().remove(0);
    assert_eq!((ack.method.clone(), ack.headers.cseq().unwrap().seq), (Method::Ack, 2));
    let events = h.events();
    let [UaEvent::MediaUpdated { media, .. }] = &events[..] else {
        panic!("{events:?}")
    };
    assert_eq!(media.direction, sip::sdp::Direction::SendOnly);

    h.deliver(1_500, &reply(&hold, 200, "pbx-tag", Some(&with_direction("recvonly"))));
    assert_eq!(
        h.requests()[0].headers.cseq().unwrap().seq,
        2,
        "retransmitted 2xx re-ACKed"
    );
    assert!(h.events().is_empty());

    h.ua.resume(h.at(5_000), call).unwrap();
    let resume = h.requests().remove(0);
    assert_eq!(resume.headers.cseq().unwrap().seq, 3);
    assert!(String::from_utf8_lossy(&resume.body).contains("a=sendrecv"));
    h.deliver(5_010, &reply(&resume, 200, "pbx-tag", Some(PBX_SDP)));
    h.requests();
    let events = h.events();
    assert!(
        matches!(&events[..], [UaEvent::MediaUpdated { media, .. }] if media.direction == sip::sdp::Direction::SendRecv)
    );
}

#[test]
fn refused_hold_keeps_the_session_and_reports_it() {
    let mut h = Harness::new();
    let (call, _) = established_outgoing(&mut h);
    h.ua.hold(h.at(1_000), call).unwrap();
    let hold = h.requests().remove(0);
    h.deliver(1_010, &reply(&hold, 488, "pbx-tag", None));
    let ack = h.requests().remove(0);
    assert_eq!((ack.method, ack.headers.cseq().unwrap().seq), (Method::Ack, 2));
    assert_eq!(h.events(), vec![UaEvent::ModifyFailed { call, status: 488 }]);
    h.ua.hold(h.at(2_000), call).unwrap();
    let again = h.requests().remove(0);
    assert_eq!(again.headers.cseq().unwrap().seq, 3);
}

#[test]
fn glare_491_retries_after_the_owner_backoff() {
    let mut h = Harness::new();
    let (call, _) = established_outgoing(&mut h);
    h.ua.hold(h.at(1_000), call).unwrap();
    let hold = h.requests().remove(0);
    h.deliver(1_010, &reply(&hold, 491, "pbx-tag", None));
    h.requests();
    let retry_at = h.ua.poll_timeout().unwrap();
    let wait = retry_at.duration_since(h.at(1_010));
    assert!((2_100..=4_000).contains(&wait.as_millis()), "{wait:?}");
    h.ua.handle_timeout(retry_at);
    let retry = h.requests().remove(0);
    assert_eq!(retry.method, Method::Invite);
    assert_eq!(retry.headers.cseq().unwrap().seq, 3);
    assert!(String::from_utf8_lossy(&retry.body).contains("a=sendonly"));
    assert!(h.events().is_empty());
}

#[test]
fn remote_hold_is_answered_recvonly_and_reported() {
    let mut h = Harness::new();
    let (call, tag) = ring(&mut h);
    h.ua.answer(h.at(0), call).unwrap();
    h.deliver(100, &in_dialog("ACK", 20, &tag, "z9hG4bKack4"));
    h.responses();
    h.events();
    let sdp = with_direction("sendonly");
    let reinvite = String::from_utf8(in_dialog("INVITE", 21, &tag, "z9hG4bKre1")).unwrap().replace(
        "Content-Length: 0\r\n\r\n",
        &format!("Contact: <sip:3003@127.0.0.1:5060>\r\nContent-Type: application/sdp\r\nContent-Length: {}\r\n\r\n{sdp}", sdp.len()),
    );
    h.deliver(200, reinvite.as_bytes());
    let ok = h.responses().remove(0);
    assert_eq!(ok.status, StatusCode::OK);
    assert!(String::from_utf8_lossy(&ok.body).contains("a=recvonly"));
    let events = h.events();
    let [UaEvent::MediaUpdated { media, .. }] = &events[..] else {
        panic!("{events:?}")
    };
    assert!(media.held_by_remote);
    h.run_until(800);
    assert_eq!(h.responses().len(), 1, "2xx retransmitted until the ACK");
    h.deliver(900, &in_dialog("ACK", 21, &tag, "z9hG4bKack5"));
    h.run_until(10_000);
    assert!(h.responses().is_empty());
    assert!(h.events().is_empty(), "the call stays up");
}

#[test]
fn offerless_reinvite_gets_our_offer_and_the_ack_answer_applies() {
    let mut h = Harness::new();
    let (call, tag) = ring(&mut h);
    h.ua.answer(h.at(0), call).unwrap();
    h.deliver(100, &in_dialog("ACK", 20, &tag, "z9hG4bKack6"));
    h.responses();
    h.events();
    h.deliver(200, &in_dialog("INVITE", 21, &tag, "z9hG4bKre2"));
    let ok = h.responses().remove(0);
    assert!(String::from_utf8_lossy(&ok.body).contains("m=audio 40000"));
    let sdp = with_direction("recvonly");
    let ack = String::from_utf8(in_dialog("ACK", 21, &tag, "z9hG4bKack7"))
        .unwrap()
        .replace(
            "Content-Length: 0\r\n\r\n",
            &format!(
                "Content-Type: application/sdp\r\nContent-Length: {}\r\n\r\n{sdp}",
                sdp.len()
            ),
        );
    h.deliver(300, ack.as_bytes());
    let events = h.events();
    assert!(
        matches!(&events[..], [UaEvent::MediaUpdated { media, .. }] if media.direction == sip::sdp::Direction::SendOnly),
        "{events:?}"
    );
}

#[test]
fn peer_reinvite_during_ours_gets_491() {
    let mut h = Harness::new();
    let (call, _) = established_outgoing(&mut h);
    h.ua.hold(h.at(1_000), call).unwrap();
    let ours = h.requests().remove(0);
    let theirs = format!(
        "INVITE sip:1001@127.0.0.1:5070 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bKglare\r\n\
         From: <sip:2002@pbx.example.com>;tag=pbx-tag\r\nTo: <sip:1001@pbx.example.com>;tag={}\r\n\
         Call-ID: {}\r\nCSeq: 50 INVITE\r\nContact: <sip:2002@127.0.0.1:5060>\r\nContent-Length: 0\r\n\r\n",
        ours.headers.from().unwrap().tag().unwrap(),
        ours.headers.call_id().unwrap(),
    );
    h.deliver(1_005, theirs.as_bytes());
    assert_eq!(h.responses()[0].status.code(), 491);
    assert!(h.events().is_empty());
}

// ---- registration through the UA ----

#[test]
fn registration_goes_to_the_proxy_and_events_are_forwarded() {
    let mut h = Harness::new();
    h.ua.register(h.at(0));
    let register = h.requests().remove(0);
    assert_eq!(register.method, Method::Register);
    assert_eq!(register.headers.get("Contact"), Some("<sip:1001@127.0.0.1:5070>"));
    assert_eq!(register.headers.get("Expires"), Some("600"));
    let mut ok = Response::to_request(&register, StatusCode::OK, "OK", "r");
    ok.headers.push("Contact", "<sip:1001@127.0.0.1:5070>;expires=300");
    h.deliver(10, &ok.to_bytes());
    assert_eq!(
        h.events(),
        vec![UaEvent::Registration(RegisterEvent::Registered { expires: 300 })]
    );
    h.ua.unregister(h.at(20));
    let bye = h.requests().remove(0);
    assert_eq!(bye.headers.get("Expires"), Some("0"));
}

#[test]
fn options_are_answered_with_allow_and_stray_responses_ignored() {
    let mut h = Harness::new();
    h.deliver(0, &in_dialog("OPTIONS", 1, "x", "z9hG4bKo1"));
    let ok = h.responses().remove(0);
    assert_eq!(ok.status, StatusCode::OK);
    assert!(ok.headers.get("Allow").unwrap().contains("INVITE"));
    h.deliver(10, b"SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bKstray\r\nFrom: <sip:a@b>;tag=1\r\nTo: <sip:a@b>\r\nCall-ID: s\r\nCSeq: 1 OPTIONS\r\n\r\n");
    assert!(h.sent().is_empty() && h.events().is_empty());
}

#[test]
fn keepalive_crlf_is_ignored() {
    let mut h = Harness::new();
    h.deliver(0, b"\r\n\r\n");
    assert!(h.sent().is_empty());
}

/// RFC 3261 §12.1.1: the caller learns the route set from our 180 and 200, so both must carry
/// the INVITE's Record-Route (kamailio does not add it to responses; without it the caller's
/// ACK and BYE bypass the proxy and get lost).
#[test]
fn dialog_creating_responses_copy_the_record_route() {
    let mut h = Harness::new();
    let rr = "Record-Route: <sip:127.0.0.1:5060;lr;ftag=pbx1>\r\nRecord-Route: <sip:10.0.0.1;lr>\r\n";
    let invite = format!("{INCOMING}{rr}Content-Length: {}\r\n\r\n{PBX_SDP}", PBX_SDP.len());
    h.deliver(0, invite.as_bytes());
    let ringing = h.responses().remove(0);
    let call = match &h.events()[..] {
        [UaEvent::IncomingCall { call, .. }] => *call,
        events => panic!("{events:?}"),
    };
    h.ua.answer(h.at(100), call).unwrap();
    let ok = h.responses().remove(0);
    for response in [&ringing, &ok] {
        let routes: Vec<&str> = response.headers.get_all("Record-Route").collect();
        assert_eq!(
            routes,
            vec!["<sip:127.0.0.1:5060;lr;ftag=pbx1>", "<sip:10.0.0.1;lr>"],
            "{}",
            response.status
        );
    }
}
