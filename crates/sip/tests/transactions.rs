//! RFC 3261 §17 transactions, every timer and transition, on a virtual clock.

#![cfg(test)]

mod common;

use std::time::{Duration, Instant};

use common::{Clock, parse_bytes, request, response};
use sip::msg::{Message, Method, StatusCode};
use sip::transaction::{
    ClientEvent, ClientState, ClientTransaction, Reliability, ServerEvent, ServerState, ServerTransaction, TimerConfig,
};

const INVITE: &str = "INVITE sip:bob@example.com SIP/2.0
Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKinv1;rport
Max-Forwards: 70
Route: <sip:proxy.example.com;lr>
From: <sip:alice@example.com>;tag=a1
To: <sip:bob@example.com>
Call-ID: call-1@192.0.2.1
CSeq: 7 INVITE
Contact: <sip:alice@192.0.2.1>
Content-Length: 0

";

const OPTIONS: &str = "OPTIONS sip:bob@example.com SIP/2.0
Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKopt1
Max-Forwards: 70
From: <sip:alice@example.com>;tag=a1
To: <sip:bob@example.com>
Call-ID: call-2@192.0.2.1
CSeq: 1 OPTIONS
Content-Length: 0

";

fn reply(status: u16, method: &str, cseq: u32, branch: &str, to_tag: &str) -> sip::msg::Response {
    response(&format!(
        "SIP/2.0 {status} Whatever
Via: SIP/2.0/UDP 192.0.2.1:5060;branch={branch};rport=5060;received=192.0.2.1
From: <sip:alice@example.com>;tag=a1
To: <sip:bob@example.com>;tag={to_tag}
Call-ID: call@192.0.2.1
CSeq: {cseq} {method}
Content-Length: 0

"
    ))
}

fn invite_reply(status: u16) -> sip::msg::Response {
    reply(status, "INVITE", 7, "z9hG4bKinv1", "b1")
}

fn options_reply(status: u16) -> sip::msg::Response {
    reply(status, "OPTIONS", 1, "z9hG4bKopt1", "b1")
}

/// Runs a transaction's timers up to `until`, recording when each transmission happened.
trait Driven {
    fn timeout(&self) -> Option<Instant>;
    fn fire(&mut self, now: Instant);
    fn transmit(&mut self) -> Option<Vec<u8>>;

    fn run_until(&mut self, clock: &Clock, until_ms: u64) -> Vec<u64> {
        let mut sent = Vec::new();
        while let Some(at) = self.timeout() {
            if clock.ms(at) > until_ms {
                break;
            }
            self.fire(at);
            while self.transmit().is_some() {
                sent.push(clock.ms(at));
            }
        }
        sent
    }

    fn drain(&mut self) -> Vec<Vec<u8>> {
        std::iter::from_fn(|| self.transmit()).collect()
    }
}

impl Driven for ClientTransaction {
    fn timeout(&self) -> Option<Instant> {
        self.poll_timeout()
    }
    fn fire(&mut self, now: Instant) {
        self.handle_timeout(now)
    }
    fn transmit(&mut self) -> Option<Vec<u8>> {
        self.poll_transmit()
    }
}

impl Driven for ServerTransaction {
    fn timeout(&self) -> Option<Instant> {
        self.poll_timeout()
    }
    fn fire(&mut self, now: Instant) {
        self.handle_timeout(now)
    }
    fn transmit(&mut self) -> Option<Vec<u8>> {
        self.poll_transmit()
    }
}

fn client(clock: &Clock, text: &str, reliability: Reliability) -> ClientTransaction {
    let mut tx = ClientTransaction::new(clock.at(0), request(text), reliability, TimerConfig::default()).unwrap();
    assert_eq!(tx.drain().len(), 1, "the request goes out at once");
    tx
}

fn server(clock: &Clock, text: &str, reliability: Reliability) -> ServerTransaction {
    let mut tx = ServerTransaction::new(clock.at(0), request(text), reliability, TimerConfig::default()).unwrap();
    assert!(matches!(tx.poll_event(), Some(ServerEvent::Request(_))));
    tx
}

fn events_client(tx: &mut ClientTransaction) -> Vec<ClientEvent> {
    std::iter::from_fn(|| tx.poll_event()).collect()
}

fn events_server(tx: &mut ServerTransaction) -> Vec<ServerEvent> {
    std::iter::from_fn(|| tx.poll_event()).collect()
}

fn status_of(bytes: &[u8]) -> u16 {
    match parse_bytes(bytes) {
        Message::Response(r) => r.status.code(),
        Message::Request(r) => panic!("expected a response, got {}", r.method),
    }
}

// ---- client INVITE ----

#[test]
fn timer_a_doubles_without_cap_and_timer_b_times_out_at_64_t1() {
    let clock = Clock::new();
    let mut tx = client(&clock, INVITE, Reliability::Unreliable);
    assert_eq!(tx.state(), ClientState::Calling);
    let sent = tx.run_until(&clock, 40_000);
    assert_eq!(sent, vec![500, 1_500, 3_500, 7_500, 15_500, 31_500]);
    assert_eq!(events_client(&mut tx), vec![ClientEvent::Timeout]);
    assert_eq!(tx.state(), ClientState::Terminated);
    assert_eq!(tx.poll_timeout(), None);
}

#[test]
fn reliable_invite_is_never_retransmitted_but_still_times_out() {
    let clock = Clock::new();
    let mut tx = client(&clock, INVITE, Reliability::Reliable);
    assert_eq!(tx.poll_timeout(), Some(clock.at(32_000)));
    assert!(tx.run_until(&clock, 40_000).is_empty());
    assert_eq!(events_client(&mut tx), vec![ClientEvent::Timeout]);
}

#[test]
fn provisional_moves_to_proceeding_and_stops_a_and_b() {
    let clock = Clock::new();
    let mut tx = client(&clock, INVITE, Reliability::Unreliable);
    tx.handle_response(clock.at(100), invite_reply(180));
    assert_eq!(tx.state(), ClientState::Proceeding);
    assert!(matches!(&events_client(&mut tx)[..], [ClientEvent::Response(r)] if r.status.code() == 180));
    assert_eq!(tx.poll_timeout(), None, "proceeding waits for the TU to CANCEL");
    tx.handle_response(clock.at(200), invite_reply(183));
    assert_eq!(events_client(&mut tx).len(), 1, "every provisional reaches the TU");
}

#[test]
fn non_2xx_final_is_acked_inside_the_transaction_and_timer_d_absorbs_retransmissions() {
    let clock = Clock::new();
    let mut tx = client(&clock, INVITE, Reliability::Unreliable);
    tx.handle_response(clock.at(100), invite_reply(100));
    tx.handle_response(clock.at(900), invite_reply(486));
    assert_eq!(tx.state(), ClientState::Completed);
    let sent = tx.drain();
    assert_eq!(sent.len(), 1);
    let Message::Request(ack) = parse_bytes(&sent[0]) else {
        panic!("ACK expected")
    };
    assert_eq!(ack.method, Method::Ack);
    assert_eq!(ack.uri.as_str(), "sip:bob@example.com");
    assert_eq!(ack.headers.count("Via"), 1);
    assert_eq!(ack.headers.top_via().unwrap().branch().as_deref(), Some("z9hG4bKinv1"));
    assert_eq!(ack.headers.cseq().unwrap().seq, 7);
    assert_eq!(ack.headers.cseq().unwrap().method, Method::Ack);
    assert_eq!(ack.headers.to().unwrap().tag().as_deref(), Some("b1"));
    assert_eq!(ack.headers.from().unwrap().tag().as_deref(), Some("a1"));
    assert_eq!(ack.headers.get("Route"), Some("<sip:proxy.example.com;lr>"));
    let evs = events_client(&mut tx);
    assert_eq!(evs.len(), 2, "100 and 486 both reach the TU");

    tx.handle_response(clock.at(1_500), invite_reply(486));
    assert_eq!(tx.drain().len(), 1, "a retransmitted 486 is ACKed again");
    assert!(events_client(&mut tx).is_empty(), "but not passed up again");

    assert_eq!(tx.poll_timeout(), Some(clock.at(900 + 32_000)));
    tx.handle_timeout(clock.at(32_900));
    assert_eq!(tx.state(), ClientState::Terminated);
}

#[test]
fn over_reliable_transport_a_non_2xx_terminates_at_once() {
    let clock = Clock::new();
    let mut tx = client(&clock, INVITE, Reliability::Reliable);
    tx.handle_response(clock.at(50), invite_reply(603));
    assert_eq!(tx.drain().len(), 1, "ACK still sent");
    assert_eq!(tx.state(), ClientState::Terminated);
}

#[test]
fn success_enters_accepted_passes_forked_2xx_and_ends_with_timer_m() {
    let clock = Clock::new();
    let mut tx = client(&clock, INVITE, Reliability::Unreliable);
    tx.handle_response(clock.at(700), invite_reply(200));
    assert_eq!(tx.state(), ClientState::Accepted);
    assert!(tx.drain().is_empty(), "ACK for 2xx is the dialog's job");
    tx.handle_response(clock.at(800), reply(200, "INVITE", 7, "z9hG4bKinv1", "fork2"));
    tx.handle_response(clock.at(900), invite_reply(486));
    tx.handle_response(clock.at(950), invite_reply(180));
    let evs = events_client(&mut tx);
    assert_eq!(evs.len(), 2, "both 2xx, nothing else: {evs:?}");
    assert_eq!(tx.poll_timeout(), Some(clock.at(700 + 32_000)));
    tx.handle_timeout(clock.at(32_700));
    assert_eq!(tx.state(), ClientState::Terminated);
}

#[test]
fn transport_error_ends_the_client_transaction() {
    let clock = Clock::new();
    let mut tx = client(&clock, INVITE, Reliability::Unreliable);
    tx.handle_transport_error();
    assert_eq!(events_client(&mut tx), vec![ClientEvent::TransportError]);
    assert!(tx.is_terminated());
    assert_eq!(tx.poll_timeout(), None);
}

// ---- client non-INVITE ----

#[test]
fn timer_e_doubles_up_to_t2_and_timer_f_times_out() {
    let clock = Clock::new();
    let mut tx = client(&clock, OPTIONS, Reliability::Unreliable);
    assert_eq!(tx.state(), ClientState::Trying);
    let sent = tx.run_until(&clock, 40_000);
    assert_eq!(
        sent,
        vec![500, 1_500, 3_500, 7_500, 11_500, 15_500, 19_500, 23_500, 27_500, 31_500]
    );
    assert_eq!(events_client(&mut tx), vec![ClientEvent::Timeout]);
    assert!(tx.is_terminated());
}

#[test]
fn in_proceeding_timer_e_fires_every_t2() {
    let clock = Clock::new();
    let mut tx = client(&clock, OPTIONS, Reliability::Unreliable);
    assert_eq!(tx.run_until(&clock, 600), vec![500]);
    tx.handle_response(clock.at(700), options_reply(100));
    assert_eq!(tx.state(), ClientState::Proceeding);
    let sent = tx.run_until(&clock, 14_000);
    assert_eq!(sent, vec![1_500, 5_500, 9_500, 13_500]);
}

#[test]
fn non_invite_final_waits_timer_k_absorbing_retransmissions() {
    let clock = Clock::new();
    let mut tx = client(&clock, OPTIONS, Reliability::Unreliable);
    tx.handle_response(clock.at(300), options_reply(200));
    assert_eq!(tx.state(), ClientState::Completed);
    tx.handle_response(clock.at(400), options_reply(200));
    assert_eq!(events_client(&mut tx).len(), 1);
    assert!(tx.drain().is_empty());
    assert_eq!(tx.poll_timeout(), Some(clock.at(300 + 5_000)));
    tx.handle_timeout(clock.at(5_300));
    assert!(tx.is_terminated());
}

#[test]
fn reliable_non_invite_has_no_timer_e_and_no_timer_k() {
    let clock = Clock::new();
    let mut tx = client(&clock, OPTIONS, Reliability::Reliable);
    assert_eq!(tx.poll_timeout(), Some(clock.at(32_000)));
    tx.handle_response(clock.at(10), options_reply(404));
    assert!(tx.is_terminated());
}

#[test]
fn t1_t2_t4_are_configurable() {
    let clock = Clock::new();
    let config = TimerConfig {
        t1: Duration::from_millis(100),
        t2: Duration::from_millis(300),
        t4: Duration::from_millis(700),
        ..TimerConfig::default()
    };
    let mut tx = ClientTransaction::new(clock.at(0), request(OPTIONS), Reliability::Unreliable, config).unwrap();
    tx.drain();
    assert_eq!(tx.run_until(&clock, 1_000), vec![100, 300, 600, 900]);
    tx.handle_response(clock.at(1_000), options_reply(200));
    assert_eq!(tx.poll_timeout(), Some(clock.at(1_700)), "Timer K = T4");
    assert_eq!(config.timeout(), Duration::from_millis(6_400));
}

#[test]
fn ack_cannot_start_a_transaction() {
    let clock = Clock::new();
    let ack = INVITE.replace("INVITE", "ACK");
    assert!(
        ClientTransaction::new(
            clock.at(0),
            request(&ack),
            Reliability::Unreliable,
            TimerConfig::default()
        )
        .is_err()
    );
    assert!(
        ServerTransaction::new(
            clock.at(0),
            request(&ack),
            Reliability::Unreliable,
            TimerConfig::default()
        )
        .is_err()
    );
}

// ---- server INVITE ----

#[test]
fn server_sends_100_trying_after_200_ms_of_tu_silence() {
    let clock = Clock::new();
    let mut tx = server(&clock, INVITE, Reliability::Unreliable);
    assert_eq!(tx.state(), ServerState::Proceeding);
    assert_eq!(tx.poll_timeout(), Some(clock.at(200)));
    tx.handle_timeout(clock.at(200));
    let sent = tx.drain();
    assert_eq!(sent.len(), 1);
    let Message::Response(trying) = parse_bytes(&sent[0]) else {
        panic!()
    };
    assert_eq!(trying.status, StatusCode::TRYING);
    assert_eq!(trying.headers.to().unwrap().tag(), None, "100 carries no To tag");
    assert_eq!(
        trying.headers.get("Via"),
        Some("SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKinv1;rport")
    );
    tx.handle_request(clock.at(500), request(INVITE));
    assert_eq!(tx.drain().len(), 1, "a retransmitted INVITE gets the 100 again");
}

#[test]
fn no_automatic_100_when_the_tu_answers_first() {
    let clock = Clock::new();
    let mut tx = server(&clock, INVITE, Reliability::Unreliable);
    let ringing = sip::msg::Response::to_request(tx.request(), StatusCode::RINGING, "Ringing", "b1");
    tx.respond(clock.at(50), ringing).unwrap();
    assert_eq!(tx.drain().iter().map(|b| status_of(b)).collect::<Vec<_>>(), vec![180]);
    assert_eq!(tx.poll_timeout(), None);
    tx.handle_request(clock.at(500), request(INVITE));
    assert_eq!(tx.drain().iter().map(|b| status_of(b)).collect::<Vec<_>>(), vec![180]);
    assert!(events_server(&mut tx).is_empty(), "retransmissions never reach the TU");
}

#[test]
fn retransmission_before_any_response_is_silently_absorbed() {
    let clock = Clock::new();
    let mut tx = server(&clock, INVITE, Reliability::Unreliable);
    tx.handle_request(clock.at(100), request(INVITE));
    assert!(tx.drain().is_empty());
}

fn busy(tx: &ServerTransaction) -> sip::msg::Response {
    sip::msg::Response::to_request(tx.request(), StatusCode::new(486).unwrap(), "Busy Here", "b1")
}

#[test]
fn timer_g_retransmits_the_final_response_capped_at_t2_until_timer_h() {
    let clock = Clock::new();
    let mut tx = server(&clock, INVITE, Reliability::Unreliable);
    tx.respond(clock.at(0), busy(&tx)).unwrap();
    assert_eq!(tx.state(), ServerState::Completed);
    tx.drain();
    let sent = tx.run_until(&clock, 40_000);
    assert_eq!(
        sent,
        vec![500, 1_500, 3_500, 7_500, 11_500, 15_500, 19_500, 23_500, 27_500, 31_500]
    );
    assert_eq!(events_server(&mut tx), vec![ServerEvent::Timeout]);
    assert!(tx.is_terminated());
}

#[test]
fn ack_confirms_stops_g_and_timer_i_ends_it() {
    let clock = Clock::new();
    let mut tx = server(&clock, INVITE, Reliability::Unreliable);
    tx.respond(clock.at(0), busy(&tx)).unwrap();
    tx.drain();
    tx.handle_request(clock.at(300), request(INVITE));
    assert_eq!(tx.drain().iter().map(|b| status_of(b)).collect::<Vec<_>>(), vec![486]);
    let ack = INVITE.replace("INVITE sip", "ACK sip").replace("7 INVITE", "7 ACK");
    tx.handle_request(clock.at(400), request(&ack));
    assert_eq!(tx.state(), ServerState::Confirmed);
    assert_eq!(
        tx.poll_timeout(),
        Some(clock.at(400 + 5_000)),
        "G and H stopped, I = T4"
    );
    tx.handle_request(clock.at(500), request(&ack));
    assert!(
        tx.drain().is_empty() && events_server(&mut tx).is_empty(),
        "ACKs absorbed"
    );
    tx.handle_timeout(clock.at(5_400));
    assert!(tx.is_terminated());
}

#[test]
fn reliable_server_invite_has_no_g_and_ack_terminates() {
    let clock = Clock::new();
    let mut tx = server(&clock, INVITE, Reliability::Reliable);
    tx.respond(clock.at(0), busy(&tx)).unwrap();
    assert_eq!(tx.poll_timeout(), Some(clock.at(32_000)), "only H");
    let ack = INVITE.replace("INVITE sip", "ACK sip").replace("7 INVITE", "7 ACK");
    tx.handle_request(clock.at(10), request(&ack));
    assert!(tx.is_terminated());
}

#[test]
fn success_enters_accepted_where_acks_reach_the_tu_until_timer_l() {
    let clock = Clock::new();
    let mut tx = server(&clock, INVITE, Reliability::Unreliable);
    let ok = sip::msg::Response::to_request(tx.request(), StatusCode::OK, "OK", "b1");
    tx.respond(clock.at(100), ok.clone()).unwrap();
    assert_eq!(tx.state(), ServerState::Accepted);
    tx.drain();
    tx.handle_request(clock.at(200), request(INVITE));
    assert!(
        tx.drain().is_empty(),
        "INVITE retransmissions absorbed; the TU resends 2xx"
    );
    tx.respond(clock.at(600), ok).unwrap();
    assert_eq!(tx.drain().len(), 1, "TU's 2xx retransmission goes out");
    assert!(tx.respond(clock.at(700), busy(&tx)).is_err(), "no non-2xx after a 2xx");
    let ack = INVITE.replace("INVITE sip", "ACK sip").replace("7 INVITE", "7 ACK");
    tx.handle_request(clock.at(800), request(&ack));
    assert!(matches!(&events_server(&mut tx)[..], [ServerEvent::Ack(_)]));
    assert_eq!(tx.poll_timeout(), Some(clock.at(100 + 32_000)));
    tx.handle_timeout(clock.at(32_100));
    assert!(tx.is_terminated());
}

#[test]
fn server_transport_error_is_reported() {
    let clock = Clock::new();
    let mut tx = server(&clock, INVITE, Reliability::Unreliable);
    tx.handle_transport_error();
    assert_eq!(events_server(&mut tx), vec![ServerEvent::TransportError]);
    assert!(tx.is_terminated());
}

// ---- server non-INVITE ----

#[test]
fn server_non_invite_trying_proceeding_completed_and_timer_j() {
    let clock = Clock::new();
    let mut tx = server(&clock, OPTIONS, Reliability::Unreliable);
    assert_eq!(tx.state(), ServerState::Trying);
    assert_eq!(tx.poll_timeout(), None, "no automatic 100 for non-INVITE");
    tx.handle_request(clock.at(100), request(OPTIONS));
    assert!(tx.drain().is_empty());
    let trying = sip::msg::Response::to_request(tx.request(), StatusCode::TRYING, "Trying", "");
    tx.respond(clock.at(200), trying).unwrap();
    assert_eq!(tx.state(), ServerState::Proceeding);
    tx.drain();
    tx.handle_request(clock.at(300), request(OPTIONS));
    assert_eq!(tx.drain().iter().map(|b| status_of(b)).collect::<Vec<_>>(), vec![100]);
    let ok = sip::msg::Response::to_request(tx.request(), StatusCode::OK, "OK", "b1");
    tx.respond(clock.at(400), ok.clone()).unwrap();
    assert_eq!(tx.state(), ServerState::Completed);
    tx.drain();
    tx.handle_request(clock.at(500), request(OPTIONS));
    assert_eq!(tx.drain().iter().map(|b| status_of(b)).collect::<Vec<_>>(), vec![200]);
    assert!(tx.respond(clock.at(600), ok).is_err());
    assert_eq!(tx.poll_timeout(), Some(clock.at(400 + 32_000)));
    tx.handle_timeout(clock.at(32_400));
    assert!(tx.is_terminated());
}

#[test]
fn reliable_server_non_invite_terminates_on_final() {
    let clock = Clock::new();
    let mut tx = server(&clock, OPTIONS, Reliability::Reliable);
    let ok = sip::msg::Response::to_request(tx.request(), StatusCode::OK, "OK", "b1");
    tx.respond(clock.at(0), ok).unwrap();
    assert!(tx.is_terminated());
    assert_eq!(tx.drain().len(), 1);
}

// ---- both ends over a lossy virtual link ----

#[test]
fn lost_invite_and_lost_busy_are_recovered_by_timers_a_and_g() {
    let clock = Clock::new();
    let mut uac = ClientTransaction::new(
        clock.at(0),
        request(INVITE),
        Reliability::Unreliable,
        TimerConfig::default(),
    )
    .unwrap();
    uac.drain(); // the first INVITE is lost
    assert_eq!(uac.run_until(&clock, 600), vec![500]);
    // The retransmission at 500 ms arrives.
    let mut uas = ServerTransaction::new(
        clock.at(510),
        request(INVITE),
        Reliability::Unreliable,
        TimerConfig::default(),
    )
    .unwrap();
    events_server(&mut uas);
    let resp = busy(&uas);
    uas.respond(clock.at(520), resp).unwrap();
    uas.drain(); // the 486 is lost
    uas.handle_timeout(clock.at(1_020)); // Timer G
    let retransmitted = uas.drain();
    assert_eq!(retransmitted.len(), 1);
    let Message::Response(busy_resp) = parse_bytes(&retransmitted[0]) else {
        panic!()
    };
    uac.handle_response(clock.at(1_030), busy_resp);
    let ack_bytes = uac.drain();
    let Message::Request(ack) = parse_bytes(&ack_bytes[0]) else {
        panic!()
    };
    uas.handle_request(clock.at(1_040), ack);
    assert_eq!(uac.state(), ClientState::Completed);
    assert_eq!(uas.state(), ServerState::Confirmed);
    assert_eq!(
        uas.key(),
        &sip::transaction::TransactionKey::for_request(uac.request()).unwrap()
    );
}
