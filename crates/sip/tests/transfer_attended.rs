//! Attended transfer (RFC 3515 + RFC 3891): alice talks to bob and to carol, then REFERs bob
//! to carol with Replaces; bob's INVITE takes over carol's dialog with alice. Also the
//! recipient's side of Replaces: what matches, what is refused.

#![cfg(test)]

mod net;

use std::time::Duration;

use net::{Net, Seen};
use sip::invite::{EndReason, TransferState};
use sip::msg::{Replaces, Response};
use sip::ua::{DialogEvent, UaError, UaEvent};

#[test]
fn attended_transfer_joins_the_two_peers_and_clears_both_of_our_calls() {
    let mut net = Net::three();
    let (alice_bob, bob_alice) = net.connect("alice", "bob");
    let now = net.now;
    net.node("alice").ua.hold(now, alice_bob).unwrap();
    net.drive(Duration::from_millis(500));
    let (alice_carol, carol_alice) = net.connect("alice", "carol");

    let now = net.now;
    net.node("alice")
        .ua
        .transfer_attended(now, alice_bob, alice_carol)
        .unwrap();
    net.drive(Duration::from_secs(2));

    let refer = net.requests("alice", "REFER").remove(0);
    let refer_to = refer.headers.refer_to().unwrap();
    assert_eq!(refer_to.uri.without_headers().as_str(), "sip:carol@127.0.0.1:5090");
    let replaces = Replaces::parse(&refer_to.uri.header("Replaces").unwrap()).unwrap();
    let carol_ok = net
        .responses("carol", "INVITE")
        .into_iter()
        .find(|r| r.status.code() == 200)
        .unwrap();
    assert_eq!(replaces.call_id, carol_ok.headers.call_id().unwrap());
    assert_eq!(
        Some(replaces.to_tag.clone()),
        carol_ok.headers.to().unwrap().tag(),
        "carol's tag"
    );
    assert_eq!(
        Some(replaces.from_tag.clone()),
        carol_ok.headers.from().unwrap().tag(),
        "alice's tag"
    );

    let invite = net
        .requests("bob", "INVITE")
        .into_iter()
        .find(|i| i.headers.get("Replaces").is_some())
        .expect("bob's INVITE carries Replaces");
    assert_eq!(invite.headers.replaces().unwrap(), replaces);

    let bob_carol = net
        .node("bob")
        .dialog_events()
        .find_map(|e| match e {
            DialogEvent::Referred { new_call, .. } => *new_call,
            _ => None,
        })
        .unwrap();
    let carol_bob = net
        .node("carol")
        .dialog_events()
        .find_map(|e| match e {
            DialogEvent::Replaced { call, replaced, .. } => {
                assert_eq!(*replaced, carol_alice);
                Some(*call)
            }
            _ => None,
        })
        .expect("carol reported the replacement");
    assert!(
        !net.node("carol")
            .seen
            .iter()
            .any(|s| matches!(s, Seen::Ua(UaEvent::IncomingCall { call, .. }) if *call == carol_bob)),
        "a replacing call is not offered to the user: it is answered at once"
    );
    assert!(net.node("bob").established(bob_carol));
    assert!(net.node("carol").established(carol_bob));
    assert_eq!(net.node("carol").ended(carol_alice), Some(EndReason::Replaced));
    assert_eq!(net.node("alice").ended(alice_carol), Some(EndReason::RemoteHangup));
    assert_eq!(net.node("alice").ended(alice_bob), Some(EndReason::Transferred));
    assert_eq!(net.node("bob").ended(bob_alice), Some(EndReason::RemoteHangup));
    assert!(net.node("alice").dialog_events().any(|e| matches!(
        e,
        DialogEvent::Transfer {
            state: TransferState::Succeeded,
            ..
        }
    )));
    assert_eq!(net.node("alice").ua.calls().count(), 0);
    assert_eq!(net.node("bob").ua.calls().collect::<Vec<_>>(), vec![bob_carol]);
    assert_eq!(net.node("carol").ua.calls().collect::<Vec<_>>(), vec![carol_bob]);
}

#[test]
fn attended_transfer_needs_two_distinct_established_calls() {
    let mut net = Net::three();
    let (alice_bob, _) = net.connect("alice", "bob");
    let now = net.now;
    assert!(matches!(
        net.node("alice").ua.transfer_attended(now, alice_bob, alice_bob),
        Err(UaError::InvalidState { .. })
    ));
    let carol = net.uri("carol");
    let ringing = net.node("alice").ua.call(now, &carol).unwrap();
    assert_eq!(
        net.node("alice").ua.transfer_attended(now, alice_bob, ringing),
        Err(UaError::InvalidState { action: "transfer to" })
    );
}

/// An INVITE with Replaces from outside, built against the dialog bob has with alice.
fn replacing_invite(call_id: &str, to_tag: &str, from_tag: &str, extra: &str) -> String {
    let sdp = "v=0\r\no=x 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n\
               m=audio 30000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n";
    format!(
        "INVITE sip:bob@127.0.0.1:5080 SIP/2.0\r\n\
         Via: SIP/2.0/UDP 127.0.0.1:5999;branch=z9hG4bKrep{to_tag}\r\n\
         From: <sip:dave@127.0.0.1:5999>;tag=dave1\r\nTo: <sip:bob@127.0.0.1:5080>\r\n\
         Call-ID: replacing-{to_tag}\r\nCSeq: 1 INVITE\r\nContact: <sip:dave@127.0.0.1:5999>\r\n\
         Replaces: {call_id};to-tag={to_tag};from-tag={from_tag}{extra}\r\nRequire: replaces\r\n\
         Content-Type: application/sdp\r\nContent-Length: {}\r\n\r\n{sdp}",
        sdp.len()
    )
}

fn final_status(net: &Net, call_id_suffix: &str) -> Vec<u16> {
    net.responses("bob", "INVITE")
        .iter()
        .filter(|r: &&Response| r.headers.call_id().unwrap().ends_with(call_id_suffix))
        .map(|r| r.status.code())
        .collect()
}

#[test]
fn replaces_naming_no_dialog_is_refused_481_and_early_only_on_a_confirmed_one_486() {
    let mut net = Net::three();
    let (_, bob_alice) = net.connect("alice", "bob");
    let ok = net
        .responses("bob", "INVITE")
        .into_iter()
        .find(|r| r.status.code() == 200)
        .unwrap();
    let call_id = ok.headers.call_id().unwrap().to_owned();
    let bob_tag = ok.headers.to().unwrap().tag().unwrap();
    let alice_tag = ok.headers.from().unwrap().tag().unwrap();

    net.inject("bob", replacing_invite(&call_id, "nobody", &alice_tag, "").as_bytes());
    assert_eq!(final_status(&net, "nobody"), vec![481]);
    // Tags swapped: the tags are compared from the recipient's side (RFC 3891 §3).
    net.inject("bob", replacing_invite(&call_id, &alice_tag, &bob_tag, "").as_bytes());
    assert_eq!(final_status(&net, &alice_tag), vec![481]);
    net.inject(
        "bob",
        replacing_invite(&call_id, &bob_tag, &alice_tag, ";early-only").as_bytes(),
    );
    assert_eq!(final_status(&net, &bob_tag), vec![486]);
    net.drive(Duration::from_secs(1));
    assert_eq!(net.node("bob").ended(bob_alice), None, "the call is untouched");
    assert!(
        !net.node("bob")
            .dialog_events()
            .any(|e| matches!(e, DialogEvent::Replaced { .. }))
    );
}

#[test]
fn replaces_cannot_take_over_a_call_still_ringing_here() {
    let mut net = Net::three();
    let now = net.now;
    let bob = net.uri("bob");
    net.node("alice").ua.call(now, &bob).unwrap();
    net.drive(Duration::from_millis(500));
    let ringing = net
        .responses("bob", "INVITE")
        .into_iter()
        .find(|r| r.status.code() == 180)
        .unwrap();
    let call_id = ringing.headers.call_id().unwrap().to_owned();
    let bob_tag = ringing.headers.to().unwrap().tag().unwrap();
    let alice_tag = ringing.headers.from().unwrap().tag().unwrap();
    net.inject("bob", replacing_invite(&call_id, &bob_tag, &alice_tag, "").as_bytes());
    assert_eq!(final_status(&net, &bob_tag), vec![481]);
}

#[test]
fn replacing_invite_with_a_matching_dialog_is_answered_and_the_old_call_hung_up() {
    let mut net = Net::three();
    let (alice_bob, bob_alice) = net.connect("alice", "bob");
    let ok = net
        .responses("bob", "INVITE")
        .into_iter()
        .find(|r| r.status.code() == 200)
        .unwrap();
    let call_id = ok.headers.call_id().unwrap().to_owned();
    let bob_tag = ok.headers.to().unwrap().tag().unwrap();
    let alice_tag = ok.headers.from().unwrap().tag().unwrap();
    net.inject("bob", replacing_invite(&call_id, &bob_tag, &alice_tag, "").as_bytes());
    assert_eq!(
        final_status(&net, &bob_tag),
        vec![200],
        "no 180: the replacement is answered at once"
    );
    net.drive(Duration::from_secs(1));
    assert_eq!(net.node("bob").ended(bob_alice), Some(EndReason::Replaced));
    assert_eq!(net.node("alice").ended(alice_bob), Some(EndReason::RemoteHangup));
}

#[test]
fn replaces_naming_our_call_still_ringing_out_cancels_it_and_answers_the_new_one() {
    let mut net = Net::three();
    let now = net.now;
    let bob = net.uri("bob");
    let alice_bob = net.node("alice").ua.call(now, &bob).unwrap();
    net.drive(Duration::from_millis(500));
    let bob_alice = net.node("bob").incoming();
    let ringing = net
        .responses("bob", "INVITE")
        .into_iter()
        .find(|r| r.status.code() == 180)
        .unwrap();
    let call_id = ringing.headers.call_id().unwrap().to_owned();
    let bob_tag = ringing.headers.to().unwrap().tag().unwrap();
    let alice_tag = ringing.headers.from().unwrap().tag().unwrap();
    // From alice's side the early dialog's local tag is hers, the remote one bob's.
    let invite = replacing_invite(&call_id, &alice_tag, &bob_tag, "")
        .replace("INVITE sip:bob@127.0.0.1:5080", "INVITE sip:alice@127.0.0.1:5070")
        .replace("To: <sip:bob@127.0.0.1:5080>", "To: <sip:alice@127.0.0.1:5070>");
    net.inject("alice", invite.as_bytes());
    let answered: Vec<u16> = net
        .responses("alice", "INVITE")
        .iter()
        .filter(|r| r.headers.call_id().unwrap().ends_with(&alice_tag))
        .map(|r| r.status.code())
        .collect();
    assert_eq!(answered, vec![200]);
    net.drive(Duration::from_secs(1));
    assert_eq!(net.requests("alice", "CANCEL").len(), 1);
    assert_eq!(net.node("alice").ended(alice_bob), Some(EndReason::Replaced));
    assert_eq!(net.node("bob").ended(bob_alice), Some(EndReason::CancelledByRemote));
    assert!(
        net.node("alice")
            .dialog_events()
            .any(|e| matches!(e, DialogEvent::Replaced { replaced, .. } if *replaced == alice_bob))
    );
}
