//! Blind transfer (RFC 3515) between three of our user agents on a virtual clock: alice
//! (transferor) talks to bob (transferee) and REFERs him to carol (target).

#![cfg(test)]

mod net;

use std::time::Duration;

use net::{Net, Seen};
use sip::invite::{EndReason, ReferPolicy, TransferState};
use sip::msg::{Message, SubscriptionStatus};
use sip::ua::{DialogEvent, UaError, UaEvent};

fn transfer_states(net: &mut Net, who: &str) -> Vec<TransferState> {
    net.node(who)
        .dialog_events()
        .filter_map(|e| match e {
            DialogEvent::Transfer { state, .. } => Some(state.clone()),
            _ => None,
        })
        .collect()
}

/// The sipfrag status lines bob NOTIFYed, with whether each ended the subscription.
fn notified(net: &Net) -> Vec<(String, bool)> {
    net.requests("bob", "NOTIFY")
        .iter()
        .map(|n| {
            assert_eq!(n.headers.event().unwrap().package, "refer");
            assert_eq!(n.headers.get("Content-Type"), Some("message/sipfrag;version=2.0"));
            let terminated = n.headers.subscription_state().unwrap().status == SubscriptionStatus::Terminated;
            (String::from_utf8_lossy(&n.body).trim().to_owned(), terminated)
        })
        .collect()
}

#[test]
fn transferee_calls_the_target_reports_progress_and_the_transferor_hangs_up() {
    let mut net = Net::three();
    let (alice_bob, bob_alice) = net.connect("alice", "bob");
    let carol = net.uri("carol");
    let now = net.now;
    net.node("alice").ua.transfer(now, alice_bob, &carol).unwrap();
    net.drive(Duration::from_millis(500));

    let refer = net.requests("alice", "REFER").remove(0);
    assert_eq!(refer.headers.refer_to().unwrap().uri, carol);
    assert_eq!(refer.headers.referred_by().unwrap().uri.as_str(), "sip:alice@127.0.0.1");
    assert_eq!(net.responses("bob", "REFER")[0].status.code(), 202);

    let referred = net.node("bob").dialog_events().find_map(|e| match e {
        DialogEvent::Referred {
            call,
            target,
            new_call,
            referred_by,
        } => Some((*call, target.clone(), *new_call, referred_by.clone())),
        _ => None,
    });
    let (call, target, new_call, referred_by) = referred.expect("bob reported the REFER");
    assert_eq!((call, target), (bob_alice, carol.clone()));
    assert_eq!(referred_by.unwrap().uri.as_str(), "sip:alice@127.0.0.1");
    let bob_carol = new_call.expect("the accepting policy placed a call");

    let invite = net
        .requests("bob", "INVITE")
        .into_iter()
        .find(|i| i.uri == carol)
        .expect("bob called carol");
    assert_eq!(
        invite.headers.referred_by().unwrap().uri.as_str(),
        "sip:alice@127.0.0.1"
    );
    assert!(invite.headers.get("Replaces").is_none());

    let carol_bob = net.node("carol").incoming();
    let now = net.now;
    net.node("carol").ua.answer(now, carol_bob).unwrap();
    net.drive(Duration::from_secs(1));

    assert!(net.node("bob").established(bob_carol));
    assert!(net.node("carol").established(carol_bob));
    assert_eq!(
        notified(&net),
        vec![
            ("SIP/2.0 100 Trying".to_owned(), false),
            ("SIP/2.0 180 Ringing".to_owned(), false),
            ("SIP/2.0 200 OK".to_owned(), true),
        ]
    );
    assert!(net.responses("alice", "NOTIFY").iter().all(|r| r.status.code() == 200));
    assert_eq!(
        transfer_states(&mut net, "alice"),
        vec![
            TransferState::Accepted,
            TransferState::Progress { status: 100 },
            TransferState::Progress { status: 180 },
            TransferState::Succeeded,
        ]
    );
    assert_eq!(net.node("alice").ended(alice_bob), Some(EndReason::Transferred));
    assert_eq!(net.node("bob").ended(bob_alice), Some(EndReason::RemoteHangup));
    assert_eq!(net.node("bob").ended(bob_carol), None, "the new call stays up");
    assert_eq!(net.node("alice").ua.calls().count(), 0);
}

#[test]
fn rejecting_policy_answers_603_and_the_call_goes_on() {
    let mut configs = vec![
        ("alice", net::config("127.0.0.1:5070", "alice", 1)),
        ("bob", net::config("127.0.0.1:5080", "bob", 2)),
    ];
    configs[1].1.refer_policy = ReferPolicy::Reject;
    let mut net = Net::new(configs);
    let (alice_bob, bob_alice) = net.connect("alice", "bob");
    let target = sip::msg::Uri::parse("sip:carol@127.0.0.1:5090").unwrap();
    let now = net.now;
    net.node("alice").ua.transfer(now, alice_bob, &target).unwrap();
    net.drive(Duration::from_secs(1));

    assert_eq!(net.responses("bob", "REFER")[0].status.code(), 603);
    assert_eq!(
        transfer_states(&mut net, "alice"),
        vec![TransferState::Failed { status: Some(603) }]
    );
    assert!(net.node("bob").seen.contains(&Seen::Dialog(DialogEvent::Referred {
        call: bob_alice,
        target,
        referred_by: Some(sip::msg::NameAddr::new(
            sip::msg::Uri::parse("sip:alice@127.0.0.1").unwrap()
        )),
        new_call: None,
    })));
    assert!(net.requests("bob", "INVITE").is_empty(), "nobody was called");
    assert_eq!(net.node("alice").ended(alice_bob), None);
    assert_eq!(net.node("bob").ended(bob_alice), None);

    // The refused transfer leaves the call usable: another one may be tried.
    let (now, other) = (net.now, net.uri("bob"));
    net.node("alice")
        .ua
        .transfer(now, alice_bob, &other)
        .expect("a new transfer after a refused one");
}

#[test]
fn busy_target_fails_the_transfer_and_keeps_the_original_call() {
    let mut net = Net::three();
    let (alice_bob, bob_alice) = net.connect("alice", "bob");
    let carol = net.uri("carol");
    let now = net.now;
    net.node("alice").ua.transfer(now, alice_bob, &carol).unwrap();
    net.drive(Duration::from_millis(500));
    let carol_bob = net.node("carol").incoming();
    let now = net.now;
    net.node("carol").ua.reject(now, carol_bob, 486, "Busy Here").unwrap();
    net.drive(Duration::from_secs(1));

    assert_eq!(notified(&net).last(), Some(&("SIP/2.0 486 Busy Here".to_owned(), true)));
    assert_eq!(
        transfer_states(&mut net, "alice").last(),
        Some(&TransferState::Failed { status: Some(486) })
    );
    assert_eq!(
        net.node("alice").ended(alice_bob),
        None,
        "the transferor keeps the call"
    );
    assert_eq!(net.node("bob").ended(bob_alice), None);
    assert!(net.requests("alice", "BYE").is_empty());
}

#[test]
fn transferee_hanging_up_the_new_call_reports_487() {
    let mut net = Net::three();
    let (alice_bob, _) = net.connect("alice", "bob");
    let now = net.now;
    let carol = net.uri("carol");
    net.node("alice").ua.transfer(now, alice_bob, &carol).unwrap();
    net.drive(Duration::from_millis(500));
    let bob_carol = net
        .node("bob")
        .dialog_events()
        .find_map(|e| match e {
            DialogEvent::Referred { new_call, .. } => *new_call,
            _ => None,
        })
        .unwrap();
    let now = net.now;
    net.node("bob").ua.hangup(now, bob_carol).unwrap();
    net.drive(Duration::from_secs(1));
    assert_eq!(
        notified(&net).last(),
        Some(&("SIP/2.0 487 Request Terminated".to_owned(), true))
    );
    assert_eq!(
        transfer_states(&mut net, "alice").last(),
        Some(&TransferState::Failed { status: Some(487) })
    );
}

#[test]
fn lost_refer_times_out_as_a_failed_transfer() {
    let mut net = Net::three();
    let (alice_bob, _) = net.connect("alice", "bob");
    net.drop_all.push("REFER".into());
    let now = net.now;
    let carol = net.uri("carol");
    net.node("alice").ua.transfer(now, alice_bob, &carol).unwrap();
    net.drive(Duration::from_secs(40));
    assert!(net.requests("alice", "REFER").len() > 5, "REFER was retransmitted");
    assert_eq!(
        transfer_states(&mut net, "alice"),
        vec![TransferState::Failed { status: Some(408) }]
    );
    assert_eq!(net.node("alice").ended(alice_bob), None);
}

#[test]
fn transfer_needs_an_established_call_and_a_sip_target() {
    let mut net = Net::three();
    let now = net.now;
    let bob = net.uri("bob");
    let ringing = net.node("alice").ua.call(now, &bob).unwrap();
    assert_eq!(
        net.node("alice").ua.transfer(now, ringing, &bob),
        Err(UaError::InvalidState { action: "transfer" })
    );
    let tel = sip::msg::Uri::parse("tel:+15551234").unwrap();
    assert_eq!(
        net.node("alice").ua.transfer(now, ringing, &tel),
        Err(UaError::InvalidTarget)
    );
    net.drive(Duration::from_millis(500));
    let callee = net.node("bob").incoming();
    let now = net.now;
    net.node("bob").ua.answer(now, callee).unwrap();
    net.drive(Duration::from_millis(500));
    let carol = net.uri("carol");
    let now = net.now;
    net.node("alice").ua.transfer(now, ringing, &carol).unwrap();
    assert_eq!(
        net.node("alice").ua.transfer(now, ringing, &carol),
        Err(UaError::InvalidState { action: "transfer" }),
        "one transfer at a time"
    );
}

/// NOTIFYs that do not belong to a transfer of ours are refused with the RFC 6665 statuses.
#[test]
fn stray_and_malformed_notifies_are_refused() {
    let mut net = Net::three();
    let (alice_bob, _) = net.connect("alice", "bob");
    let ok = net
        .responses("bob", "INVITE")
        .into_iter()
        .find(|r| r.status.code() == 200)
        .unwrap();
    let to_tag = ok.headers.to().unwrap().tag().unwrap();
    let from_tag = ok.headers.from().unwrap().tag().unwrap();
    let call_id = ok.headers.call_id().unwrap().to_owned();
    let notify = |cseq: u32, event: &str, body: &str| {
        format!(
            "NOTIFY sip:alice@127.0.0.1:5070 SIP/2.0\r\n\
             Via: SIP/2.0/UDP 127.0.0.1:5080;branch=z9hG4bKn{cseq}\r\n\
             From: <sip:bob@127.0.0.1:5080>;tag={to_tag}\r\n\
             To: <sip:alice@127.0.0.1>;tag={from_tag}\r\n\
             Call-ID: {call_id}\r\nCSeq: {cseq} NOTIFY\r\nEvent: {event}\r\n\
             Subscription-State: active\r\nContent-Type: message/sipfrag\r\n\
             Content-Length: {}\r\n\r\n{body}",
            body.len()
        )
    };
    net.inject("alice", notify(100, "refer", "SIP/2.0 200 OK\r\n").as_bytes());
    net.inject("alice", notify(101, "presence", "").as_bytes());
    let carol = net.uri("carol");
    let now = net.now;
    net.drop_all.push("REFER".into());
    net.node("alice").ua.transfer(now, alice_bob, &carol).unwrap();
    net.inject("alice", notify(102, "refer", "not a status line").as_bytes());
    let statuses: Vec<u16> = net
        .responses("alice", "NOTIFY")
        .iter()
        .map(|r| r.status.code())
        .collect();
    assert_eq!(statuses, vec![481, 489, 400]);
    assert_eq!(net.node("alice").ended(alice_bob), None, "nothing counted as success");
    assert!(
        !net.node("alice")
            .seen
            .iter()
            .any(|s| matches!(s, Seen::Ua(UaEvent::Ended { .. })))
    );
    assert!(
        net.log
            .iter()
            .all(|w| !matches!(&w.message, Message::Request(r) if r.method.as_str() == "BYE"))
    );
}
