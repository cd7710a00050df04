//! Our UAC against our UAS over a virtual link (quinn's `Pair`, str0m's netem): two user
//! agents, a virtual clock, fixed latency and scripted loss. No sockets.

#![cfg(test)]

use std::{
    collections::VecDeque,
    net::SocketAddr,
    time::{Duration, Instant},
};

use sip::invite::{CallHandle, EndReason};
use sip::msg::Uri;
use sip::sdp::{Codec, Direction, MediaConfig};
use sip::ua::{UaConfig, UaEvent, UserAgent};

const LATENCY: Duration = Duration::from_millis(20);

fn config(local: &str, peer: &str, user: &str, codecs: Vec<Codec>, seed: u64) -> UaConfig {
    UaConfig {
        local: local.parse().unwrap(),
        proxy: peer.parse().unwrap(),
        domain: "127.0.0.1".into(),
        user: user.into(),
        display_name: None,
        password: "pw".into(),
        register_expires: 600,
        media: MediaConfig {
            address: "127.0.0.1".into(),
            port: 40000 + seed as u16,
            codecs,
            telephone_event: true,
            ptime: 20,
        },
        timers: Default::default(),
        limits: Default::default(),
        user_agent: format!("pair-{user}"),
        seed,
        refer_policy: Default::default(),
        session_timer: Default::default(),
    }
}

struct Pair {
    a: UserAgent,
    b: UserAgent,
    a_addr: SocketAddr,
    b_addr: SocketAddr,
    now: Instant,
    /// Datagrams in flight: arrival time, destination, source, bytes.
    wire: VecDeque<(Instant, SocketAddr, SocketAddr, Vec<u8>)>,
    /// Drop the next datagrams whose first line starts with one of these.
    drop_next: Vec<&'static str>,
    a_events: Vec<UaEvent>,
    b_events: Vec<UaEvent>,
}

impl Pair {
    fn new() -> Self {
        let (a_addr, b_addr) = ("127.0.0.1:5070", "127.0.0.1:5080");
        Self {
            a: UserAgent::new(config(a_addr, b_addr, "alice", vec![Codec::Opus, Codec::Pcmu], 1)).unwrap(),
            b: UserAgent::new(config(b_addr, a_addr, "bob", vec![Codec::Pcmu, Codec::Opus], 2)).unwrap(),
            a_addr: a_addr.parse().unwrap(),
            b_addr: b_addr.parse().unwrap(),
            now: Instant::now(),
            wire: VecDeque::new(),
            drop_next: Vec::new(),
            a_events: Vec::new(),
            b_events: Vec::new(),
        }
    }

    fn collect(&mut self) {
        for (ua, from, events) in [
            (&mut self.a, self.a_addr, &mut self.a_events),
            (&mut self.b, self.b_addr, &mut self.b_events),
        ] {
            while let Some(t) = ua.poll_transmit() {
                let first_line = String::from_utf8_lossy(&t.bytes)
                    .lines()
                    .next()
                    .unwrap_or_default()
                    .to_owned();
                if let Some(i) = self.drop_next.iter().position(|p| first_line.starts_with(p)) {
                    self.drop_next.remove(i);
                    continue;
                }
                self.wire.push_back((self.now + LATENCY, t.destination, from, t.bytes));
            }
            events.extend(std::iter::from_fn(|| ua.poll_event()));
        }
    }

    /// Advances to the next arrival or timer, whichever is first; false when idle.
    fn step(&mut self, limit: Instant) -> bool {
        self.collect();
        let arrival = self.wire.front().map(|(at, ..)| *at);
        let timer = [self.a.poll_timeout(), self.b.poll_timeout()]
            .into_iter()
            .flatten()
            .min();
        let Some(next) = [arrival, timer].into_iter().flatten().min() else {
            return false;
        };
        if next > limit {
            return false;
        }
        self.now = self.now.max(next);
        if arrival == Some(next) {
            let (_, to, from, bytes) = self.wire.pop_front().unwrap();
            let target = if to == self.a_addr { &mut self.a } else { &mut self.b };
            target.handle_datagram(self.now, from, &bytes);
        } else {
            self.a.handle_timeout(self.now);
            self.b.handle_timeout(self.now);
        }
        self.collect();
        true
    }

    /// Runs for `span` of virtual time (bounded, to catch livelock).
    fn drive(&mut self, span: Duration) {
        let limit = self.now + span;
        for _ in 0..10_000 {
            if !self.step(limit) {
                self.now = self.now.max(limit);
                return;
            }
        }
        panic!("livelock: 10 000 steps without going idle");
    }

    fn incoming(&mut self) -> CallHandle {
        let found = self.b_events.iter().find_map(|e| match e {
            UaEvent::IncomingCall { call, .. } => Some(*call),
            _ => None,
        });
        found.expect("bob was called")
    }
}

fn bob_uri() -> Uri {
    Uri::parse("sip:bob@127.0.0.1:5080").unwrap()
}

#[test]
fn call_hold_resume_and_hangup_between_two_user_agents() {
    let mut p = Pair::new();
    let call_a = p.a.call(p.now, &bob_uri()).unwrap();
    p.drive(Duration::from_secs(1));
    let call_b = p.incoming();
    assert!(
        p.a_events
            .iter()
            .any(|e| matches!(e, UaEvent::Progress { status: 180, .. }))
    );

    p.b.answer(p.now, call_b).unwrap();
    p.drive(Duration::from_secs(1));
    let established = |events: &[UaEvent]| {
        events.iter().find_map(|e| match e {
            UaEvent::Established { media, .. } => Some(media.clone()),
            _ => None,
        })
    };
    let media_a = established(&p.a_events).expect("alice established");
    let media_b = established(&p.b_events).expect("bob established");
    assert_eq!(
        media_b.codec,
        Codec::Pcmu,
        "the answerer's preference decides among common codecs"
    );
    assert_eq!(media_a.codec, Codec::Pcmu, "the offerer uses what the answer chose");
    assert_eq!(media_a.remote_port, 40002);
    assert_eq!(media_b.remote_port, 40001);

    p.a.hold(p.now, call_a).unwrap();
    p.drive(Duration::from_secs(1));
    let updated = |events: &[UaEvent]| {
        events.iter().rev().find_map(|e| match e {
            UaEvent::MediaUpdated { media, .. } => Some(media.clone()),
            _ => None,
        })
    };
    let held = updated(&p.b_events).expect("bob saw the hold");
    assert!(held.held_by_remote);
    assert_eq!(held.direction, Direction::RecvOnly);
    assert_eq!(updated(&p.a_events).unwrap().direction, Direction::SendOnly);

    p.a.resume(p.now, call_a).unwrap();
    p.drive(Duration::from_secs(1));
    assert_eq!(updated(&p.b_events).unwrap().direction, Direction::SendRecv);
    assert_eq!(updated(&p.a_events).unwrap().direction, Direction::SendRecv);

    p.b.hangup(p.now, call_b).unwrap();
    p.drive(Duration::from_secs(40));
    assert!(p.a_events.contains(&UaEvent::Ended {
        call: call_a,
        reason: EndReason::RemoteHangup
    }));
    assert!(p.b_events.contains(&UaEvent::Ended {
        call: call_b,
        reason: EndReason::Local
    }));
    assert_eq!(p.a.poll_timeout(), None, "everything wound down");
    assert_eq!(p.b.poll_timeout(), None);
}

#[test]
fn hold_asked_while_the_peers_re_invite_awaits_its_ack_goes_out_after_the_ack() {
    let mut p = Pair::new();
    let call_a = p.a.call(p.now, &bob_uri()).unwrap();
    p.drive(Duration::from_secs(1));
    let call_b = p.incoming();
    p.b.answer(p.now, call_b).unwrap();
    p.drive(Duration::from_secs(1));

    p.a.hold(p.now, call_a).unwrap();
    let limit = p.now + Duration::from_secs(1);
    let bob_saw_hold = |events: &[UaEvent]| events.iter().any(|e| matches!(e, UaEvent::MediaUpdated { .. }));
    while !bob_saw_hold(&p.b_events) {
        assert!(p.step(limit), "bob never saw alice's hold");
    }
    // Bob's 200 to the re-INVITE is on the wire and its ACK is not back yet: his own hold must wait, not fail.
    p.b.hold(p.now, call_b)
        .expect("a hold while the ACK is pending is deferred");
    p.drive(Duration::from_secs(2));

    let last_update = |events: &[UaEvent]| {
        events.iter().rev().find_map(|e| match e {
            UaEvent::MediaUpdated { media, .. } => Some(media.clone()),
            _ => None,
        })
    };
    assert!(
        last_update(&p.a_events).expect("alice saw bob's offer").held_by_remote,
        "bob's hold reached alice"
    );
    assert_eq!(
        last_update(&p.b_events).expect("bob's hold was answered").direction,
        Direction::Inactive
    );
    assert!(
        !p.a_events
            .iter()
            .chain(&p.b_events)
            .any(|e| matches!(e, UaEvent::ModifyFailed { .. }))
    );
}

#[test]
fn lost_invite_lost_200_and_lost_ack_are_all_recovered() {
    let mut p = Pair::new();
    p.drop_next = vec!["INVITE", "SIP/2.0 200", "ACK"];
    let call_a = p.a.call(p.now, &bob_uri()).unwrap();
    p.drive(Duration::from_secs(2));
    let call_b = p.incoming();
    p.b.answer(p.now, call_b).unwrap();
    p.drive(Duration::from_secs(5));
    assert!(
        p.a_events
            .iter()
            .any(|e| matches!(e, UaEvent::Established { call, .. } if *call == call_a))
    );
    assert!(
        p.b_events
            .iter()
            .any(|e| matches!(e, UaEvent::Established { call, .. } if *call == call_b))
    );
    assert!(p.drop_next.is_empty(), "every scripted loss happened");
}

#[test]
fn caller_gives_up_before_the_answer() {
    let mut p = Pair::new();
    let call_a = p.a.call(p.now, &bob_uri()).unwrap();
    p.drive(Duration::from_secs(1));
    let call_b = p.incoming();
    p.a.hangup(p.now, call_a).unwrap();
    p.drive(Duration::from_secs(40));
    assert!(p.a_events.contains(&UaEvent::Ended {
        call: call_a,
        reason: EndReason::Local
    }));
    assert!(p.b_events.contains(&UaEvent::Ended {
        call: call_b,
        reason: EndReason::CancelledByRemote
    }));
    assert_eq!(p.a.poll_timeout(), None);
    assert_eq!(p.b.poll_timeout(), None);
}
