//! DTMF over SIP INFO (the fallback when no telephone-event was negotiated): digits go out
//! one INFO at a time as application/dtmf-relay; both body formats are understood coming in.

#![cfg(test)]

mod net;

use std::time::Duration;

use net::Net;
use sip::ua::{DialogEvent, UaError};

fn digits(net: &mut Net, who: &str) -> Vec<(char, Option<Duration>)> {
    net.node(who)
        .dialog_events()
        .filter_map(|e| match e {
            DialogEvent::Dtmf { digit, duration, .. } => Some((*digit, *duration)),
            _ => None,
        })
        .collect()
}

#[test]
fn digits_go_one_info_at_a_time_and_arrive_in_order() {
    let mut net = Net::three();
    let (alice_bob, bob_alice) = net.connect("alice", "bob");
    let now = net.now;
    net.node("alice")
        .ua
        .send_info_dtmf(now, alice_bob, "1*#d", Duration::from_millis(160))
        .unwrap();
    net.collect();
    assert_eq!(
        net.requests("alice", "INFO").len(),
        1,
        "the next digit waits for the 200"
    );
    net.drive(Duration::from_secs(1));

    let infos = net.requests("alice", "INFO");
    let bodies: Vec<String> = infos
        .iter()
        .map(|i| String::from_utf8_lossy(&i.body).into_owned())
        .collect();
    assert_eq!(
        bodies,
        vec![
            "Signal=1\r\nDuration=160\r\n",
            "Signal=*\r\nDuration=160\r\n",
            "Signal=#\r\nDuration=160\r\n",
            "Signal=D\r\nDuration=160\r\n",
        ]
    );
    assert!(
        infos
            .iter()
            .all(|i| i.headers.get("Content-Type") == Some("application/dtmf-relay"))
    );
    let cseqs: Vec<u32> = infos.iter().map(|i| i.headers.cseq().unwrap().seq).collect();
    assert!(cseqs.windows(2).all(|w| w[1] == w[0] + 1), "{cseqs:?}");
    let ms160 = Some(Duration::from_millis(160));
    assert_eq!(
        digits(&mut net, "bob"),
        vec![('1', ms160), ('*', ms160), ('#', ms160), ('D', ms160)]
    );
    assert!(
        net.node("bob")
            .dialog_events()
            .all(|e| matches!(e, DialogEvent::Dtmf { call, .. } if *call == bob_alice))
    );
}

#[test]
fn sending_checks_digits_and_call_state() {
    let mut net = Net::three();
    let now = net.now;
    let bob = net.uri("bob");
    let ringing = net.node("alice").ua.call(now, &bob).unwrap();
    assert_eq!(
        net.node("alice")
            .ua
            .send_info_dtmf(now, ringing, "5", Duration::from_millis(100)),
        Err(UaError::InvalidState { action: "send DTMF on" })
    );
    assert_eq!(
        net.node("alice")
            .ua
            .send_info_dtmf(now, ringing, "5x", Duration::from_millis(100)),
        Err(UaError::InvalidDigit('x'))
    );
}

fn info(call_id: &str, from_tag: &str, to_tag: &str, cseq: u32, content_type: &str, body: &str) -> String {
    format!(
        "INFO sip:bob@127.0.0.1:5080 SIP/2.0\r\n\
         Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bKinfo{cseq}x{}\r\n\
         From: <sip:alice@127.0.0.1>;tag={from_tag}\r\nTo: <sip:bob@127.0.0.1:5080>;tag={to_tag}\r\n\
         Call-ID: {call_id}\r\nCSeq: {cseq} INFO\r\nContent-Type: {content_type}\r\n\
         Content-Length: {}\r\n\r\n{body}",
        body.len(),
        body.len()
    )
}

#[test]
fn incoming_bodies_of_both_types_are_understood_and_others_refused() {
    let mut net = Net::three();
    let (_, _) = net.connect("alice", "bob");
    let ok = net
        .responses("bob", "INVITE")
        .into_iter()
        .find(|r| r.status.code() == 200)
        .unwrap();
    let call_id = ok.headers.call_id().unwrap().to_owned();
    let bob_tag = ok.headers.to().unwrap().tag().unwrap();
    let alice_tag = ok.headers.from().unwrap().tag().unwrap();
    let send = |net: &mut Net, cseq: u32, kind: &str, body: &str| {
        net.inject("bob", info(&call_id, &alice_tag, &bob_tag, cseq, kind, body).as_bytes());
    };
    send(&mut net, 10, "application/dtmf-relay", "Signal= 7\r\nDuration= 250\r\n");
    send(&mut net, 11, "application/dtmf", "11");
    send(&mut net, 12, "Application/DTMF-Relay; charset=x", "signal=9");
    send(&mut net, 13, "application/dtmf-relay", "Signal=Z\r\n");
    send(&mut net, 14, "application/json", "{}");
    send(&mut net, 15, "application/dtmf-relay", "");
    send(&mut net, 15, "application/dtmf", "5");
    net.inject(
        "bob",
        info(&call_id, &alice_tag, "no-such-tag", 16, "application/dtmf", "5").as_bytes(),
    );

    let statuses: Vec<u16> = net.responses("bob", "INFO").iter().map(|r| r.status.code()).collect();
    assert_eq!(statuses, vec![200, 200, 200, 400, 415, 200, 500, 481]);
    assert_eq!(
        digits(&mut net, "bob"),
        vec![('7', Some(Duration::from_millis(250))), ('#', None), ('9', None)]
    );
    let refused = net.responses("bob", "INFO").remove(4);
    assert!(
        refused
            .headers
            .get("Accept")
            .unwrap()
            .contains("application/dtmf-relay")
    );
}
