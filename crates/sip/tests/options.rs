//! OPTIONS (RFC 3261 §11) answered 200 with what we implement, out of dialog and within one.

#![cfg(test)]

mod net;

use net::Net;

fn options(to_tag: Option<&str>, call_id: &str) -> String {
    let branch = if to_tag.is_some() { "in-dialog" } else { "outside" };
    let to_tag = to_tag.map(|t| format!(";tag={t}")).unwrap_or_default();
    format!(
        "OPTIONS sip:bob@127.0.0.1:5080 SIP/2.0\r\n\
         Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bKopt-{branch}\r\n\
         From: <sip:alice@127.0.0.1>;tag=probe\r\nTo: <sip:bob@127.0.0.1:5080>{to_tag}\r\n\
         Call-ID: {call_id}\r\nCSeq: 77 OPTIONS\r\nAccept: application/sdp\r\nContent-Length: 0\r\n\r\n"
    )
}

fn listed(value: Option<&str>) -> Vec<String> {
    value
        .unwrap_or_default()
        .split(',')
        .map(|m| m.trim().to_owned())
        .collect()
}

#[test]
fn options_out_of_dialog_lists_methods_bodies_and_extensions() {
    let mut net = Net::three();
    net.inject("bob", options(None, "probe-1").as_bytes());
    let reply = net.responses("bob", "OPTIONS").remove(0);
    assert_eq!(reply.status.code(), 200);
    let allow = listed(reply.headers.get("Allow"));
    for method in [
        "INVITE", "ACK", "CANCEL", "BYE", "OPTIONS", "REFER", "NOTIFY", "INFO", "UPDATE",
    ] {
        assert!(allow.iter().any(|m| m == method), "{method} missing from {allow:?}");
    }
    let accept = listed(reply.headers.get("Accept"));
    for kind in ["application/sdp", "application/dtmf-relay", "message/sipfrag"] {
        assert!(accept.iter().any(|k| k == kind), "{kind} missing from {accept:?}");
    }
    assert_eq!(listed(reply.headers.get("Supported")), vec!["replaces", "timer"]);
    assert!(reply.headers.to().unwrap().tag().is_some());
}

#[test]
fn options_within_a_dialog_keep_its_tag_and_leave_the_call_alone() {
    let mut net = Net::three();
    let (_, bob_alice) = net.connect("alice", "bob");
    let ok = net
        .responses("bob", "INVITE")
        .into_iter()
        .find(|r| r.status.code() == 200)
        .unwrap();
    let bob_tag = ok.headers.to().unwrap().tag().unwrap();
    let call_id = ok.headers.call_id().unwrap().to_owned();
    net.inject("bob", options(Some(&bob_tag), &call_id).as_bytes());
    let reply = net.responses("bob", "OPTIONS").remove(0);
    assert_eq!(reply.status.code(), 200);
    assert_eq!(reply.headers.to().unwrap().tag(), Some(bob_tag));
    assert!(listed(reply.headers.get("Allow")).contains(&"REFER".to_owned()));
    assert_eq!(net.node("bob").ended(bob_alice), None);
}
