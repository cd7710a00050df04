//! Session timers (RFC 4028) on a virtual clock: negotiation in INVITE and 2xx, 422 and the
//! retry, refreshes by UPDATE (or re-INVITE when the peer does not allow UPDATE) at half the
//! interval, BYE when the refresher falls silent, and UPDATE from the peer answered.

#![cfg(test)]

mod net;

use std::time::Duration;

use net::Net;
use sip::invite::{EndReason, SessionTimerConfig};
use sip::msg::{Message, Refresher, Response, StatusCode};
use sip::ua::UaEvent;

const SDP: &str = "v=0\r\no=x 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n\
                   m=audio 30000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n";

fn pair(alice: SessionTimerConfig, bob: SessionTimerConfig) -> Net {
    let mut a = net::config("127.0.0.1:5070", "alice", 1);
    a.session_timer = alice;
    let mut b = net::config("127.0.0.1:5080", "bob", 2);
    b.session_timer = bob;
    Net::new(vec![("alice", a), ("bob", b)])
}

fn asking(seconds: u32) -> SessionTimerConfig {
    SessionTimerConfig {
        expires: Some(seconds),
        min_se: 90,
    }
}

fn secs_since(at: std::time::Instant, since: std::time::Instant) -> f64 {
    at.duration_since(since).as_secs_f64()
}

#[test]
fn the_caller_refreshes_by_update_at_half_the_interval_and_the_call_survives() {
    let mut net = pair(asking(90), SessionTimerConfig::default());
    let (alice_bob, bob_alice) = net.connect("alice", "bob");
    let established = net.now;

    let invite = net.requests("alice", "INVITE").remove(0);
    assert_eq!(invite.headers.session_expires().unwrap().delta, 90);
    assert_eq!(invite.headers.min_se().unwrap(), 90);
    assert!(invite.headers.get("Supported").unwrap().contains("timer"));
    let ok = net
        .responses("bob", "INVITE")
        .into_iter()
        .find(|r| r.status == StatusCode::OK)
        .unwrap();
    let granted = ok.headers.session_expires().unwrap();
    assert_eq!((granted.delta, granted.refresher), (90, Some(Refresher::Uac)));
    assert_eq!(ok.headers.get("Require"), Some("timer"));

    net.drive(Duration::from_secs(200));
    let updates: Vec<_> = net
        .log
        .iter()
        .filter(|w| matches!(&w.message, Message::Request(r) if r.method.as_str() == "UPDATE"))
        .map(|w| w.at)
        .collect();
    assert_eq!(updates.len(), 4, "one refresh every 45 s in 200 s");
    let first = secs_since(updates[0], established);
    assert!((44.0..=46.0).contains(&first), "first refresh after {first} s");
    let update = net.requests("alice", "UPDATE").remove(0);
    assert!(update.body.is_empty(), "a refresh carries no offer");
    assert_eq!(update.headers.get("Session-Expires"), Some("90;refresher=uac"));
    assert!(
        net.responses("bob", "UPDATE")
            .iter()
            .all(|r| r.status == StatusCode::OK)
    );
    assert_eq!(net.node("alice").ended(alice_bob), None);
    assert_eq!(net.node("bob").ended(bob_alice), None);
}

#[test]
fn the_other_side_hangs_up_when_the_refresher_falls_silent() {
    let mut net = pair(asking(90), SessionTimerConfig::default());
    let (_, bob_alice) = net.connect("alice", "bob");
    let established = net.now;
    net.drop_all.push("UPDATE".into());
    net.drive(Duration::from_secs(120));
    assert_eq!(net.node("bob").ended(bob_alice), Some(EndReason::SessionExpired));
    let bye = net
        .log
        .iter()
        .find(|w| matches!(&w.message, Message::Request(r) if r.method.as_str() == "BYE"))
        .expect("bob sent BYE")
        .clone();
    assert_eq!(bye.from, net.node("bob").addr);
    let after = secs_since(bye.at, established);
    // §10: the interval less min(32 s, a third of it) = 60 s.
    assert!((59.0..=61.0).contains(&after), "BYE after {after} s");
}

#[test]
fn too_brief_an_interval_is_refused_422_and_the_caller_asks_again_for_min_se() {
    let mut net = pair(
        asking(90),
        SessionTimerConfig {
            expires: None,
            min_se: 300,
        },
    );
    let (alice_bob, _) = net.connect("alice", "bob");
    let statuses: Vec<u16> = net.responses("bob", "INVITE").iter().map(|r| r.status.code()).collect();
    assert_eq!(statuses.first(), Some(&422));
    let refusal = net.responses("bob", "INVITE").remove(0);
    assert_eq!(refusal.headers.min_se().unwrap(), 300);
    let invites = net.requests("alice", "INVITE");
    assert_eq!(invites.len(), 2);
    assert_eq!(invites[1].headers.session_expires().unwrap().delta, 300);
    assert_eq!(invites[1].headers.min_se().unwrap(), 300);
    assert_eq!(
        invites[1].headers.cseq().unwrap().seq,
        invites[0].headers.cseq().unwrap().seq + 1
    );
    assert!(net.node("alice").established(alice_bob));
    net.drive(Duration::from_secs(149));
    assert!(net.requests("alice", "UPDATE").is_empty(), "no refresh before 150 s");
    net.drive(Duration::from_secs(2));
    assert_eq!(net.requests("alice", "UPDATE").len(), 1);
}

#[test]
fn a_peer_that_does_not_allow_update_is_refreshed_by_re_invite() {
    let mut net = pair(asking(90), SessionTimerConfig::default());
    let dave = sip::msg::Uri::parse("sip:dave@127.0.0.1:5999").unwrap();
    let now = net.now;
    let call = net.node("alice").ua.call(now, &dave).unwrap();
    net.collect();
    let invite = net.requests("alice", "INVITE").remove(0);
    let mut ok = Response::to_request(&invite, StatusCode::OK, "OK", "dave-tag");
    ok.headers.push("Contact", "<sip:dave@127.0.0.1:5999>");
    ok.headers.push("Allow", "INVITE, ACK, BYE, CANCEL");
    ok.headers.push("Session-Expires", "90;refresher=uac");
    ok.headers.push("Content-Type", "application/sdp");
    ok.body = SDP.as_bytes().to_vec();
    net.inject("alice", &ok.to_bytes());
    assert!(net.node("alice").established(call));
    net.drive(Duration::from_secs(46));
    let mut invites = net.requests("alice", "INVITE");
    invites.dedup_by_key(|i| i.headers.cseq().unwrap().seq);
    assert_eq!(
        invites.len(),
        2,
        "a re-INVITE (retransmitted: dave is silent) refreshed the session"
    );
    assert_eq!(invites[1].headers.to().unwrap().tag().as_deref(), Some("dave-tag"));
    assert_eq!(invites[1].headers.get("Session-Expires"), Some("90;refresher=uac"));
    assert!(net.requests("alice", "UPDATE").is_empty());
}

fn update(call_id: &str, from_tag: &str, to_tag: &str, cseq: u32, sdp: Option<&str>) -> String {
    let (kind, body) = match sdp {
        Some(sdp) => ("Content-Type: application/sdp\r\n", sdp),
        None => ("", ""),
    };
    format!(
        "UPDATE sip:bob@127.0.0.1:5080 SIP/2.0\r\n\
         Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bKupd{cseq}\r\n\
         From: <sip:alice@127.0.0.1>;tag={from_tag}\r\nTo: <sip:bob@127.0.0.1:5080>;tag={to_tag}\r\n\
         Call-ID: {call_id}\r\nCSeq: {cseq} UPDATE\r\nContact: <sip:alice@127.0.0.1:5070>\r\n\
         {kind}Content-Length: {}\r\n\r\n{body}",
        body.len()
    )
}

#[test]
fn update_from_the_peer_is_answered_with_and_without_an_offer() {
    let mut net = pair(
        SessionTimerConfig {
            expires: None,
            min_se: 90,
        },
        SessionTimerConfig::default(),
    );
    let (_, bob_alice) = net.connect("alice", "bob");
    let ok = net
        .responses("bob", "INVITE")
        .into_iter()
        .find(|r| r.status == StatusCode::OK)
        .unwrap();
    assert!(ok.headers.get("Session-Expires").is_none(), "nobody asked for a timer");
    let call_id = ok.headers.call_id().unwrap().to_owned();
    let bob_tag = ok.headers.to().unwrap().tag().unwrap();
    let alice_tag = ok.headers.from().unwrap().tag().unwrap();
    let before = net.node("bob").ua_events().count();

    net.inject("bob", update(&call_id, &alice_tag, &bob_tag, 50, None).as_bytes());
    let held = SDP.replace("a=rtpmap:0 PCMU/8000\r\n", "a=rtpmap:0 PCMU/8000\r\na=sendonly\r\n");
    net.inject(
        "bob",
        update(&call_id, &alice_tag, &bob_tag, 51, Some(&held)).as_bytes(),
    );
    let replies = net.responses("bob", "UPDATE");
    assert_eq!(replies.len(), 2);
    assert!(replies.iter().all(|r| r.status == StatusCode::OK));
    assert!(replies[0].body.is_empty());
    let answer = String::from_utf8_lossy(&replies[1].body).into_owned();
    assert!(answer.contains("a=recvonly"), "{answer}");
    let events: Vec<&UaEvent> = net.node("bob").ua_events().skip(before).collect();
    assert!(
        matches!(events[..], [UaEvent::MediaUpdated { call, media }] if *call == bob_alice && media.held_by_remote),
        "{events:?}"
    );

    // An interval below our Min-SE in an UPDATE is refused like in an INVITE.
    let brief = update(&call_id, &alice_tag, &bob_tag, 52, None).replace(
        "Content-Length",
        "Session-Expires: 30\r\nSupported: timer\r\nContent-Length",
    );
    net.inject("bob", brief.as_bytes());
    let refusal = net.responses("bob", "UPDATE").remove(2);
    assert_eq!(refusal.status.code(), 422);
    assert_eq!(refusal.headers.min_se().unwrap(), 90);
}
