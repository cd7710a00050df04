//! The README's test for a UA: every RFC 4475 message, sent as one datagram, gets the reaction
//! the RFC expects, and a fresh OPTIONS afterwards is still answered.

#![cfg(test)]

use std::{net::SocketAddr, path::PathBuf, time::Instant};

use sip::sdp::{Codec, MediaConfig};
use sip::ua::{UaConfig, UaEvent, UserAgent};

fn ua() -> UserAgent {
    UserAgent::new(UaConfig {
        local: "127.0.0.1:5070".parse().unwrap(),
        proxy: "127.0.0.1:5060".parse().unwrap(),
        domain: "pbx.example.com".into(),
        user: "1001".into(),
        display_name: None,
        password: "pw".into(),
        register_expires: 600,
        media: MediaConfig {
            address: "127.0.0.1".into(),
            port: 40000,
            codecs: vec![Codec::Pcmu, Codec::Pcma],
            telephone_event: true,
            ptime: 20,
        },
        timers: Default::default(),
        limits: Default::default(),
        user_agent: "test".into(),
        seed: 1,
        refer_policy: Default::default(),
        session_timer: Default::default(),
    })
    .unwrap()
}

/// The first response the UA sends, if any, and whether it surfaced an incoming call.
fn reaction(ua: &mut UserAgent, now: Instant, bytes: &[u8]) -> (Option<u16>, bool) {
    let from: SocketAddr = "127.0.0.1:5999".parse().unwrap();
    ua.handle_datagram(now, from, bytes);
    let mut first = None;
    while let Some(t) = ua.poll_transmit() {
        assert_eq!(t.destination, from, "answers go back to the source");
        // A 400 copies the peer's own (possibly broken) header values verbatim, as RFC 3261
        // §8.2.6.2 requires, so read only its status line.
        if first.is_none() {
            first = status_line(&t.bytes);
        }
    }
    let incoming = std::iter::from_fn(|| ua.poll_event()).any(|e| matches!(e, UaEvent::IncomingCall { .. }));
    (first, incoming)
}

fn status_line(bytes: &[u8]) -> Option<u16> {
    let text = std::str::from_utf8(bytes.get(..12)?).ok()?;
    text.strip_prefix("SIP/2.0 ")?.get(..3)?.parse().ok()
}

const OPTIONS: &[u8] = b"OPTIONS sip:1001@127.0.0.1:5070 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5999;branch=z9hG4bKfresh\r\n\
From: <sip:probe@127.0.0.1>;tag=p\r\nTo: <sip:1001@127.0.0.1>\r\nCall-ID: probe-1\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n";

/// (file, first response status, incoming call surfaced)
const TABLE: &[(&str, Option<u16>, bool)] = &[
    // Its To carries a tag that names no dialog of ours: §12.2.2 says 481.
    ("valid/wsinv", Some(481), false),
    ("valid/intmeth", Some(405), false),
    ("valid/esc01", Some(180), true),
    ("valid/escnull", Some(405), false),
    ("valid/esc02", Some(405), false),
    ("valid/lwsdisp", Some(200), false),
    ("valid/longreq", Some(180), true),
    ("valid/dblreq", Some(405), false),
    ("valid/semiuri", Some(200), false),
    ("valid/transports", Some(200), false),
    ("valid/mpart01", Some(405), false),
    ("valid/unreason", None, false),
    ("valid/noreason", None, false),
    ("valid/badbranch", Some(200), false),
    ("valid/unkscm", Some(416), false),
    ("valid/novelsc", Some(416), false),
    ("valid/unksm2", Some(405), false),
    ("valid/bext01", Some(420), false),
    ("valid/invut", Some(415), false),
    ("valid/regaut01", Some(405), false),
    ("valid/bcast", None, false),
    ("valid/zeromf", Some(200), false),
    ("valid/cparam01", Some(405), false),
    ("valid/cparam02", Some(405), false),
    ("valid/regescrt", Some(405), false),
    ("valid/sdp01", Some(406), false),
    ("valid/inv2543", Some(180), true),
    ("invalid/badinv01", Some(400), false),
    ("invalid/clerr", Some(400), false),
    ("invalid/ncl", Some(400), false),
    ("invalid/scalar02", Some(400), false),
    ("invalid/scalarlg", None, false),
    ("invalid/quotbal", Some(400), false),
    ("invalid/ltgtruri", Some(400), false),
    ("invalid/lwsruri", Some(400), false),
    ("invalid/lwsstart", Some(400), false),
    ("invalid/trws", Some(400), false),
    ("invalid/escruri", Some(400), false),
    ("invalid/baddate", Some(400), false),
    ("invalid/regbadct", Some(400), false),
    ("invalid/badaspec", Some(400), false),
    ("invalid/baddn", Some(400), false),
    ("invalid/badvers", Some(505), false),
    ("invalid/mismatch01", Some(400), false),
    ("invalid/mismatch02", Some(400), false),
    ("invalid/bigcode", None, false),
    ("invalid/insuf", None, false),
    ("invalid/multi01", None, false),
    ("invalid/mcl01", Some(400), false),
];

#[test]
fn each_torture_message_gets_the_expected_reaction_and_the_ua_survives() {
    let dir = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/sip/rfc4475"));
    let now = Instant::now();
    let mut wrong = Vec::new();
    for (name, status, incoming) in TABLE {
        let mut ua = ua();
        let bytes = std::fs::read(dir.join(format!("{name}.dat"))).unwrap();
        let got = reaction(&mut ua, now, &bytes);
        if got != (*status, *incoming) {
            wrong.push(format!("{name}: expected {:?}, got {got:?}", (status, incoming)));
        }
        if reaction(&mut ua, now, OPTIONS).0 != Some(200) {
            wrong.push(format!("{name}: the UA no longer answers OPTIONS"));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn the_table_covers_all_49_messages() {
    assert_eq!(TABLE.len(), 49);
}
