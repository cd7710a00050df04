//! The user agent on a connection (TCP, TLS): what changes from UDP — the Via token and the Contact's transport,
//! transactions that send once, and a registration that moves with the connection. No sockets: the test is the
//! registrar, with a virtual clock.

#![cfg(test)]

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use sip::msg::{self, Limits, Message, Request};
use sip::register::RegisterEvent;
use sip::sdp::{Codec, MediaConfig};
use sip::ua::{Transport, UaConfig, UaEvent, UserAgent};

const LOCAL: &str = "127.0.0.1:40123";
const PROXY: &str = "127.0.0.1:5060";

fn config() -> UaConfig {
    UaConfig {
        local: LOCAL.parse().unwrap(),
        proxy: PROXY.parse().unwrap(),
        domain: "127.0.0.1".into(),
        user: "101".into(),
        display_name: None,
        password: "pw".into(),
        register_expires: 600,
        media: MediaConfig {
            address: "127.0.0.1".into(),
            port: 40000,
            codecs: vec![Codec::Pcmu],
            telephone_event: true,
            ptime: 20,
        },
        timers: Default::default(),
        limits: Default::default(),
        user_agent: "stream-test".into(),
        seed: 7,
        refer_policy: Default::default(),
        session_timer: Default::default(),
    }
}

fn sent(ua: &mut UserAgent) -> Vec<Request> {
    std::iter::from_fn(|| ua.poll_transmit())
        .map(|t| {
            assert_eq!(
                t.destination,
                PROXY.parse::<SocketAddr>().unwrap(),
                "everything goes to the proxy"
            );
            match msg::parse(&t.bytes, &Limits::default()).unwrap() {
                Message::Request(request) => request,
                Message::Response(response) => panic!("unexpected response {}", response.status),
            }
        })
        .collect()
}

fn header(request: &Request, name: &str) -> Vec<String> {
    request.headers.get_all(name).map(str::to_owned).collect()
}

/// The registrar's 200 for `request`, granting `expires`.
fn ok(request: &Request, expires: u32) -> Vec<u8> {
    let mut text = String::from("SIP/2.0 200 OK\r\n");
    for name in ["Via", "From", "Call-ID", "CSeq"] {
        for value in header(request, name) {
            text.push_str(&format!("{name}: {value}\r\n"));
        }
    }
    for value in header(request, "To") {
        text.push_str(&format!("To: {value};tag=reg\r\n"));
    }
    for value in header(request, "Contact") {
        if !value.contains("expires=0") {
            text.push_str(&format!("Contact: {value};expires={expires}\r\n"));
        }
    }
    text.push_str("Content-Length: 0\r\n\r\n");
    text.into_bytes()
}

#[test]
fn over_tcp_the_register_names_its_transport_and_is_sent_once() {
    let mut ua = UserAgent::with_transport(config(), Transport::Tcp).unwrap();
    let start = Instant::now();
    ua.register(start);
    let register = sent(&mut ua);
    assert_eq!(register.len(), 1);
    let via = header(&register[0], "Via").join(",");
    assert!(via.starts_with("SIP/2.0/TCP 127.0.0.1:40123;"), "{via}");
    let contact = header(&register[0], "Contact").join(",");
    assert!(contact.contains("sip:101@127.0.0.1:40123;transport=tcp"), "{contact}");

    // Timer E would have resent it over UDP at 500 ms, 1 s, 2 s...; a connection delivers or breaks.
    let mut now = start;
    while now < start + Duration::from_secs(33) {
        now += Duration::from_millis(250);
        ua.handle_timeout(now);
        assert!(
            sent(&mut ua).is_empty(),
            "a retransmission over TCP at {:?}",
            now - start
        );
    }
    let timed_out = std::iter::from_fn(|| ua.poll_event())
        .any(|event| matches!(event, UaEvent::Registration(RegisterEvent::Failed { .. })));
    assert!(timed_out, "Timer F still ends an unanswered REGISTER");
}

#[test]
fn tls_says_so_in_via_and_contact() {
    let mut ua = UserAgent::with_transport(config(), Transport::Tls).unwrap();
    ua.register(Instant::now());
    let register = sent(&mut ua);
    assert!(header(&register[0], "Via")[0].starts_with("SIP/2.0/TLS "));
    assert!(header(&register[0], "Contact")[0].contains(";transport=tls"));
}

#[test]
fn a_new_connection_re_registers_from_its_address_and_drops_the_old_binding() {
    let mut ua = UserAgent::with_transport(config(), Transport::Tcp).unwrap();
    let now = Instant::now();
    ua.handle_connected(LOCAL.parse().unwrap());
    ua.register(now);
    let first = sent(&mut ua).remove(0);
    ua.handle_datagram(now, PROXY.parse().unwrap(), &ok(&first, 600));
    assert!(ua.is_registered());

    ua.handle_transport_lost(now + Duration::from_secs(5));
    let reconnected: SocketAddr = "127.0.0.1:40999".parse().unwrap();
    ua.handle_connected(reconnected);
    ua.register(now + Duration::from_secs(6));
    let again = sent(&mut ua);
    assert_eq!(again.len(), 1, "{again:?}");
    let via = header(&again[0], "Via").join(",");
    assert!(via.starts_with("SIP/2.0/TCP 127.0.0.1:40999;"), "{via}");
    let contacts = header(&again[0], "Contact").join(",");
    assert!(contacts.contains("sip:101@127.0.0.1:40999;transport=tcp"), "{contacts}");
    assert!(
        contacts.contains("127.0.0.1:40123;transport=tcp>;expires=0"),
        "the dead connection's binding is not removed: {contacts}"
    );
}
