//! Any SDP body, as an offer to answer and as an answer to our offer: errors, never panics.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sip::sdp::{Codec, Direction, MediaConfig, Negotiator, SessionDescription};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let _ = SessionDescription::parse(&text);
    let config = MediaConfig {
        address: "127.0.0.1".into(),
        port: 40000,
        codecs: vec![Codec::Opus, Codec::Pcmu, Codec::Pcma],
        telephone_event: true,
        ptime: 20,
    };
    let _ = Negotiator::new(config.clone(), 1).answer_offer(&text, Direction::SendRecv);
    let mut ours = Negotiator::new(config, 2);
    let (_, pending) = ours.create_offer(Direction::SendOnly);
    let _ = ours.accept_answer(pending, &text);
});
