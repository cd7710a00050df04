//! The SIP face inside the sans-IO [`Sim`] core, wired to a phone's user agent over a virtual
//! link with a virtual clock: what needs minutes of real time (binding expiry) takes none.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use serde_json::json;
use sim::Sim;
use sim::control::Command;
use sim::sip::{MediaCommand, SipOutput};
use sip::invite::{ReferPolicy, SessionTimerConfig};
use sip::msg::Limits;
use sip::register::RegisterEvent;
use sip::sdp::{Codec, MediaConfig};
use sip::transaction::TimerConfig;
use sip::ua::{UaConfig, UaEvent, UserAgent};

use crate::manual_world;

const PBX: &str = "127.0.0.1:5060";
const PHONE: &str = "127.0.0.1:5070";

struct Pair {
    sim: Sim,
    phone: UserAgent,
    events: Vec<UaEvent>,
    media: Vec<MediaCommand>,
}

impl Pair {
    fn new(now: Instant) -> Pair {
        let mut sim = Sim::new(manual_world(), 5, now);
        sim.enable_sip(PBX.parse().unwrap());
        for port in 40_000..40_004 {
            sim.add_sip_media_port(port);
        }
        let phone = UserAgent::new(UaConfig {
            local: PHONE.parse().unwrap(),
            proxy: PBX.parse().unwrap(),
            domain: "127.0.0.1".to_owned(),
            user: "101".to_owned(),
            display_name: None,
            password: "demo".to_owned(),
            register_expires: 60,
            media: MediaConfig {
                address: "127.0.0.1".to_owned(),
                port: 41_000,
                codecs: vec![Codec::Pcma],
                telephone_event: false,
                ptime: 20,
            },
            timers: TimerConfig::default(),
            limits: Limits::default(),
            user_agent: "pair-phone".to_owned(),
            seed: 3,
            refer_policy: ReferPolicy::Reject,
            session_timer: SessionTimerConfig::default(),
        })
        .unwrap();
        Pair {
            sim,
            phone,
            events: Vec::new(),
            media: Vec::new(),
        }
    }

    /// Carries datagrams both ways until both sides are quiet.
    fn settle(&mut self, now: Instant) {
        let pbx: SocketAddr = PBX.parse().unwrap();
        let phone: SocketAddr = PHONE.parse().unwrap();
        for _ in 0..100 {
            let mut moved = false;
            while let Some(transmit) = self.phone.poll_transmit() {
                assert_eq!(transmit.destination, pbx);
                self.sim.handle_sip_datagram(phone, &transmit.bytes, now);
                moved = true;
            }
            while let Some(output) = self.sim.poll_sip_output() {
                match output {
                    SipOutput::Datagram { to, bytes } => {
                        assert_eq!(to, phone);
                        self.phone.handle_datagram(now, pbx, &bytes);
                        moved = true;
                    }
                    SipOutput::Media(command) => self.media.push(command),
                }
            }
            while let Some(event) = self.phone.poll_event() {
                self.events.push(event);
            }
            if !moved {
                return;
            }
        }
        panic!("the pair never settled");
    }

    fn rings(&self) -> bool {
        self.events.iter().any(|e| matches!(e, UaEvent::IncomingCall { .. }))
    }
}

#[test]
fn binding_expires_on_the_worlds_clock_and_the_phone_is_rung_no_more() {
    let t0 = Instant::now();
    let mut pair = Pair::new(t0);
    pair.phone.register(t0);
    pair.settle(t0);
    assert!(
        pair.events
            .contains(&UaEvent::Registration(RegisterEvent::Registered { expires: 60 })),
        "{:?}",
        pair.events
    );
    let incoming = Command::IncomingCall {
        from: "89161234567".to_owned(),
        to: "101".to_owned(),
    };
    let t1 = t0 + Duration::from_secs(30);
    let call = pair.sim.handle_control(incoming.clone(), t1).unwrap();
    pair.settle(t1);
    assert!(pair.rings(), "a live binding rings: {:?}", pair.events);
    pair.sim
        .handle_control(Command::HangUp(sim::pbx::CallId(call["call"].as_u64().unwrap())), t1)
        .unwrap();
    pair.settle(t1);
    assert!(
        pair.media.iter().all(|m| matches!(m, MediaCommand::Stop { .. })),
        "never answered: no audio"
    );

    // The phone's refresh is never let through: the binding runs out at 60 s.
    let t2 = t0 + Duration::from_secs(61);
    assert!(pair.sim.poll_timeout().is_some_and(|at| at <= t2));
    pair.sim.handle_timeout(t2);
    let state = pair.sim.handle_control(Command::SipState, t2).unwrap();
    assert_eq!(state["registrations"], json!([]), "{state}");
    pair.events.clear();
    pair.sim.handle_control(incoming, t2).unwrap();
    pair.settle(t2);
    assert!(!pair.rings(), "an expired binding rang: {:?}", pair.events);
}

#[test]
fn answered_leg_starts_the_far_ends_audio_in_the_negotiated_codec() {
    let t0 = Instant::now();
    let mut pair = Pair::new(t0);
    pair.phone.register(t0);
    pair.settle(t0);
    pair.sim
        .handle_control(
            Command::IncomingCall {
                from: "89161234567".to_owned(),
                to: "101".to_owned(),
            },
            t0,
        )
        .unwrap();
    pair.settle(t0);
    let Some(UaEvent::IncomingCall { call, .. }) = pair
        .events
        .iter()
        .find(|e| matches!(e, UaEvent::IncomingCall { .. }))
        .cloned()
    else {
        panic!("not rung: {:?}", pair.events);
    };
    pair.phone.answer(t0, call).unwrap();
    pair.settle(t0);
    let start = pair.media.iter().find_map(|m| match m {
        MediaCommand::Start {
            codec,
            payload_type,
            remote,
            port,
            ..
        } => Some((*codec, *payload_type, *remote, *port)),
        _ => None,
    });
    let (codec, payload_type, remote, port) = start.expect("no audio started");
    assert_eq!((codec, payload_type), (Codec::Pcma, 8), "the phone supports only PCMA");
    assert_eq!(remote, "127.0.0.1:41000".parse().unwrap());
    assert!((40_000..40_004).contains(&port), "a pooled port: {port}");
    let state = pair.sim.handle_control(Command::State, t0).unwrap();
    assert_eq!(state["users"][0]["line"]["linestatestr"], "lsCommutated");
}

/// Answers the SIP face sends to a lone datagram from `from`, as status codes.
fn answers(sim: &mut Sim, from: &str, datagram: &[u8], now: Instant) -> Vec<u16> {
    sim.handle_sip_datagram(from.parse().unwrap(), datagram, now);
    std::iter::from_fn(|| sim.poll_sip_output())
        .filter_map(|output| match output {
            SipOutput::Datagram { bytes, .. } => {
                let text = String::from_utf8_lossy(&bytes).into_owned();
                text.strip_prefix("SIP/2.0 ")
                    .and_then(|rest| rest.get(..3))
                    .and_then(|code| code.parse().ok())
            }
            SipOutput::Media(_) => None,
        })
        .collect()
}

/// A request from a stranger; `extra` headers make each one a new transaction.
fn request(method: &str, extra: &str) -> Vec<u8> {
    let branch = extra.len();
    format!(
        "{method} sip:101@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5999;branch=z9hG4bK-{method}-{branch}\r\n\
         From: <sip:666@127.0.0.1>;tag=a\r\nTo: <sip:101@127.0.0.1>\r\nCall-ID: hostile-{method}\r\n\
         CSeq: 1 {method}\r\nMax-Forwards: 70\r\nContact: <sip:666@127.0.0.1:5999>\r\n{extra}Content-Length: 0\r\n\r\n"
    )
    .into_bytes()
}

#[test]
fn hostile_datagrams_are_answered_or_dropped_never_panicked_on() {
    let now = Instant::now();
    let mut sim = Sim::new(manual_world(), 5, now);
    sim.enable_sip(PBX.parse().unwrap());
    let stranger = "127.0.0.1:5999";
    assert_eq!(
        answers(&mut sim, stranger, &request("INVITE", ""), now),
        [403],
        "unregistered caller"
    );
    assert_eq!(
        answers(&mut sim, stranger, &request("BYE", ""), now),
        [481],
        "unknown dialog"
    );
    assert_eq!(answers(&mut sim, stranger, &request("OPTIONS", ""), now), [200]);
    assert_eq!(
        answers(
            &mut sim,
            stranger,
            &request("REGISTER", "Authorization: Digest username=\"101\"\r\n"),
            now
        ),
        [400],
        "credentials missing their parameters"
    );
    assert_eq!(
        answers(
            &mut sim,
            stranger,
            &request(
                "REGISTER",
                "Authorization: Digest username=\"101\", realm=\"oktell-sim\", nonce=\"never-issued\", uri=\"sip:127.0.0.1\", response=\"00\"\r\n"
            ),
            now
        ),
        [401],
        "an unknown nonce is stale"
    );
    for junk in [
        &b""[..],
        b"\r\n\r\n",
        b"\x00\xff\xfe garbage",
        b"SIP/2.0 200 OK\r\nCall-ID: nobody\r\n\r\n",
        b"INVITE sip:x SIP/2.0\r\nVia: broken\r\n\r\n",
        b"REGISTER sip:127.0.0.1 SIP/2.0\r\nContent-Length: 99999999999\r\n\r\n",
    ] {
        answers(&mut sim, stranger, junk, now);
    }
    let state = sim.handle_control(Command::SipState, now).unwrap();
    assert_eq!(state["registrations"], json!([]));
    assert_eq!(state["legs"], json!([]));
}
