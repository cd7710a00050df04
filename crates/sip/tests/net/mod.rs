//! Several user agents behind one stateless "proxy" on a virtual clock: every UA sends its
//! requests to 127.0.0.1:5060, and the proxy forwards each request to the host:port of its
//! Request-URI and each response to its top Via's sent-by (no Record-Route, no Via of its
//! own). Enough for three-party flows (transfer) without sockets. Every datagram is logged so
//! tests can inspect what went over the wire.

#![allow(dead_code)]

use std::{
    collections::VecDeque,
    net::SocketAddr,
    time::{Duration, Instant},
};

use sip::{
    invite::{CallHandle, ReferPolicy},
    msg::{Limits, Message, Request, Response, parse},
    sdp::{Codec, MediaConfig},
    ua::{DialogEvent, UaConfig, UaEvent, UserAgent},
};

pub const PROXY: &str = "127.0.0.1:5060";
const LATENCY: Duration = Duration::from_millis(10);

pub fn proxy() -> SocketAddr {
    PROXY.parse().unwrap()
}

/// Both kinds of event, in the order each queue produced them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Seen {
    Ua(UaEvent),
    Dialog(DialogEvent),
}

pub struct Node {
    pub name: &'static str,
    pub addr: SocketAddr,
    pub ua: UserAgent,
    pub seen: Vec<Seen>,
}

impl Node {
    pub fn ua_events(&self) -> impl Iterator<Item = &UaEvent> {
        self.seen.iter().filter_map(|s| match s {
            Seen::Ua(e) => Some(e),
            Seen::Dialog(_) => None,
        })
    }

    pub fn dialog_events(&self) -> impl Iterator<Item = &DialogEvent> {
        self.seen.iter().filter_map(|s| match s {
            Seen::Dialog(e) => Some(e),
            Seen::Ua(_) => None,
        })
    }

    /// The newest incoming call.
    pub fn incoming(&self) -> CallHandle {
        self.ua_events()
            .filter_map(|e| match e {
                UaEvent::IncomingCall { call, .. } => Some(*call),
                _ => None,
            })
            .last()
            .unwrap_or_else(|| panic!("{} was not called: {:#?}", self.name, self.seen))
    }

    pub fn established(&self, call: CallHandle) -> bool {
        self.ua_events()
            .any(|e| matches!(e, UaEvent::Established { call: c, .. } if *c == call))
    }

    pub fn ended(&self, call: CallHandle) -> Option<sip::invite::EndReason> {
        self.ua_events().find_map(|e| match e {
            UaEvent::Ended { call: c, reason } if *c == call => Some(reason.clone()),
            _ => None,
        })
    }
}

pub fn config(addr: &str, user: &str, seed: u64) -> UaConfig {
    UaConfig {
        local: addr.parse().unwrap(),
        proxy: proxy(),
        domain: "127.0.0.1".into(),
        user: user.into(),
        display_name: None,
        password: "pw".into(),
        register_expires: 600,
        media: MediaConfig {
            address: "127.0.0.1".into(),
            port: 40000 + 2 * seed as u16,
            codecs: vec![Codec::Pcmu, Codec::Pcma],
            telephone_event: true,
            ptime: 20,
        },
        timers: Default::default(),
        limits: Default::default(),
        user_agent: format!("net-{user}"),
        seed,
        refer_policy: ReferPolicy::Accept,
        session_timer: Default::default(),
    }
}

/// One datagram as it crossed the proxy.
#[derive(Debug, Clone)]
pub struct Wire {
    pub at: Instant,
    pub from: SocketAddr,
    pub to: SocketAddr,
    pub message: Message,
}

pub struct Net {
    pub nodes: Vec<Node>,
    pub now: Instant,
    pub start: Instant,
    /// In flight: arrival, destination, bytes.
    in_flight: VecDeque<(Instant, SocketAddr, Vec<u8>)>,
    /// Datagrams whose first line starts with one of these are dropped, every time.
    pub drop_all: Vec<String>,
    pub log: Vec<Wire>,
}

impl Net {
    /// alice on 5070, bob on 5080, carol on 5090 (as many as `configs`).
    pub fn new(configs: Vec<(&'static str, UaConfig)>) -> Self {
        let now = Instant::now();
        let nodes = configs
            .into_iter()
            .map(|(name, config)| Node {
                name,
                addr: config.local,
                ua: UserAgent::new(config).unwrap(),
                seen: Vec::new(),
            })
            .collect();
        Self {
            nodes,
            now,
            start: now,
            in_flight: VecDeque::new(),
            drop_all: Vec::new(),
            log: Vec::new(),
        }
    }

    pub fn three() -> Self {
        Self::new(vec![
            ("alice", config("127.0.0.1:5070", "alice", 1)),
            ("bob", config("127.0.0.1:5080", "bob", 2)),
            ("carol", config("127.0.0.1:5090", "carol", 3)),
        ])
    }

    pub fn node(&mut self, name: &str) -> &mut Node {
        self.nodes.iter_mut().find(|n| n.name == name).unwrap()
    }

    pub fn uri(&self, name: &str) -> sip::msg::Uri {
        let node = self.nodes.iter().find(|n| n.name == name).unwrap();
        sip::msg::Uri::parse(&format!("sip:{name}@{}", node.addr)).unwrap()
    }

    /// Collects what every UA wants to send and what it reports.
    pub fn collect(&mut self) {
        for node in &mut self.nodes {
            while let Some(t) = node.ua.poll_transmit() {
                assert_eq!(t.destination, proxy(), "{} sends everything to the proxy", node.name);
                let message = parse(&t.bytes, &Limits::default()).expect("we send what we can parse");
                let to = route(&message);
                self.log.push(Wire {
                    at: self.now,
                    from: node.addr,
                    to,
                    message,
                });
                let first_line = String::from_utf8_lossy(&t.bytes)
                    .lines()
                    .next()
                    .unwrap_or_default()
                    .to_owned();
                if self.drop_all.iter().any(|p| first_line.starts_with(p.as_str())) {
                    continue;
                }
                self.in_flight.push_back((self.now + LATENCY, to, t.bytes));
            }
            while let Some(e) = node.ua.poll_event() {
                node.seen.push(Seen::Ua(e));
            }
            while let Some(e) = node.ua.poll_dialog_event() {
                node.seen.push(Seen::Dialog(e));
            }
        }
    }

    /// Sends raw bytes to a UA as if from the proxy, now.
    pub fn inject(&mut self, to: &str, bytes: &[u8]) {
        let now = self.now;
        let node = self.node(to);
        node.ua.handle_datagram(now, proxy(), bytes);
        self.collect();
    }

    /// Next arrival or timer; false when idle up to `limit`.
    pub fn step(&mut self, limit: Instant) -> bool {
        self.collect();
        let arrival = self.in_flight.front().map(|(at, ..)| *at);
        let timer = self.nodes.iter().filter_map(|n| n.ua.poll_timeout()).min();
        let Some(next) = [arrival, timer].into_iter().flatten().min() else {
            return false;
        };
        if next > limit {
            return false;
        }
        self.now = self.now.max(next);
        if arrival == Some(next) {
            let (_, to, bytes) = self.in_flight.pop_front().unwrap();
            let now = self.now;
            if let Some(node) = self.nodes.iter_mut().find(|n| n.addr == to) {
                node.ua.handle_datagram(now, proxy(), &bytes);
            }
        } else {
            let now = self.now;
            for node in &mut self.nodes {
                if node.ua.poll_timeout().is_some_and(|at| at <= now) {
                    node.ua.handle_timeout(now);
                }
            }
        }
        self.collect();
        true
    }

    /// Runs for `span` of virtual time (bounded, to catch livelock).
    pub fn drive(&mut self, span: Duration) {
        let limit = self.now + span;
        for _ in 0..100_000 {
            if !self.step(limit) {
                self.now = self.now.max(limit);
                return;
            }
        }
        panic!("livelock");
    }

    /// `from` calls `to`, `to` answers; returns both handles once established.
    pub fn connect(&mut self, from: &str, to: &str) -> (CallHandle, CallHandle) {
        let uri = self.uri(to);
        let now = self.now;
        let caller = self.node(from).ua.call(now, &uri).unwrap();
        self.drive(Duration::from_millis(500));
        let callee = self.node(to).incoming();
        let now = self.now;
        self.node(to).ua.answer(now, callee).unwrap();
        self.drive(Duration::from_millis(500));
        assert!(self.node(from).established(caller), "{from} established");
        assert!(self.node(to).established(callee), "{to} established");
        (caller, callee)
    }

    /// Requests of `method` sent by `from`, in order.
    pub fn requests(&self, from: &str, method: &str) -> Vec<Request> {
        let addr = self.nodes.iter().find(|n| n.name == from).unwrap().addr;
        self.log
            .iter()
            .filter(|w| w.from == addr)
            .filter_map(|w| match &w.message {
                Message::Request(r) if r.method.as_str() == method => Some(r.clone()),
                _ => None,
            })
            .collect()
    }

    /// Responses sent by `from` to requests of `method`, in order.
    pub fn responses(&self, from: &str, method: &str) -> Vec<Response> {
        let addr = self.nodes.iter().find(|n| n.name == from).unwrap().addr;
        self.log
            .iter()
            .filter(|w| w.from == addr)
            .filter_map(|w| match &w.message {
                Message::Response(r) if r.headers.cseq().is_ok_and(|c| c.method.as_str() == method) => Some(r.clone()),
                _ => None,
            })
            .collect()
    }
}

fn route(message: &Message) -> SocketAddr {
    let host_port = match message {
        Message::Request(r) => r.uri.host_port().to_owned(),
        Message::Response(r) => r.headers.top_via().unwrap().sent_by.to_string(),
    };
    host_port
        .parse()
        .unwrap_or_else(|_| panic!("the test net routes only to loopback literals, not {host_port}"))
}
