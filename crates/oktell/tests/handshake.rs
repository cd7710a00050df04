//! Transport rules of §1: parallel URLs, ping/qid handshake, secure redirect,
//! open timeout, stale sockets.

// Test helpers outside #[test] fns may panic on broken expectations.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::time::Duration;

use oktell::{Action, ConnectionState, SocketId};
use support::*;

fn two_urls() -> oktell::Config {
    let mut c = config();
    c.urls = vec!["127.0.0.1:4066".into(), "ws://127.0.0.2:4066".into()];
    c
}

fn opened(h: &Harness) -> Vec<(SocketId, String)> {
    h.actions
        .iter()
        .filter_map(|a| match a {
            Action::Open { socket, url, .. } => Some((*socket, url.clone())),
            Action::Close { .. } => None,
        })
        .collect()
}

#[test]
fn every_url_is_opened_and_the_first_handshake_wins() {
    let mut h = Harness::new(two_urls());
    let opens = opened(&h);
    assert_eq!(
        opens.iter().map(|(s, u)| (s.candidate, u.as_str())).collect::<Vec<_>>(),
        [(0, "ws://127.0.0.1:4066"), (1, "ws://127.0.0.2:4066")]
    );
    h.accept_sockets();
    let ping0 = h.expect("ping");
    let ping1 = h.expect("ping");
    assert_ne!(ping0.qid(), ping1.qid());
    // The second server answers first.
    h.feed(ping1.socket, &format!(r#"["pong",{{"qid":"{}"}}]"#, ping1.qid()));
    assert!(h.actions.contains(&Action::Close { socket: ping0.socket }));
    let login = h.expect("login");
    assert_eq!(login.socket, ping1.socket);
    // A late pong from the loser changes nothing.
    h.feed(ping0.socket, &format!(r#"["pong",{{"qid":"{}"}}]"#, ping0.qid()));
    h.expect_nothing();
    h.reply(&login, canned("login"));
    h.serve();
    assert!(h.session.is_connected());
}

#[test]
fn other_messages_before_the_pong_are_ignored() {
    let mut h = Harness::new(config());
    h.accept_sockets();
    let ping = h.expect("ping");
    h.feed(ping.socket, r#"["pong",{"qid":"0.999"}]"#);
    h.feed(ping.socket, r#"["userstatechanged",{"userstateid":1}]"#);
    h.expect_nothing();
    h.feed(ping.socket, &format!(r#"["anything",{{"qid":"{}"}}]"#, ping.qid()));
    h.expect("login");
}

#[test]
fn a_failed_url_does_not_stop_the_others() {
    let mut h = Harness::new(two_urls());
    let opens = opened(&h);
    h.opening.clear();
    h.session.handle_socket_closed(h.now, opens[0].0);
    h.session.handle_socket_opened(h.now, opens[1].0);
    h.drain();
    let ping = h.expect("ping");
    h.feed(ping.socket, &format!(r#"["pong",{{"qid":"{}"}}]"#, ping.qid()));
    h.expect("login");
}

#[test]
fn all_urls_failing_schedules_a_reconnect() {
    let mut h = Harness::new(two_urls());
    for (s, _) in opened(&h) {
        h.session.handle_socket_closed(h.now, s);
    }
    h.drain();
    assert!(matches!(
        h.connection_states().last(),
        Some(ConnectionState::Reconnecting { attempt: 2, .. })
    ));
}

#[test]
fn an_unanswered_ping_times_out_after_open_timeout() {
    let mut h = Harness::new(config());
    h.accept_sockets();
    let ping = h.expect("ping");
    h.advance(Duration::from_millis(9_999));
    assert!(matches!(
        h.connection_states().last(),
        Some(ConnectionState::Connecting { .. })
    ));
    h.advance(Duration::from_millis(1));
    assert!(h.actions.contains(&Action::Close { socket: ping.socket }));
    assert!(matches!(
        h.connection_states().last(),
        Some(ConnectionState::Reconnecting { .. })
    ));
}

#[test]
fn websocketredirect_reopens_on_wss_443_and_logs_in_without_ping() {
    let mut h = Harness::new(config());
    h.accept_sockets();
    let ping = h.expect("ping");
    h.feed(ping.socket, r#"["websocketredirect",{}]"#);
    assert!(h.actions.contains(&Action::Close { socket: ping.socket }));
    let (secure, url) = h.opening.last().cloned().unwrap();
    assert_eq!(url, "wss://127.0.0.1:443");
    assert_eq!(secure.candidate, ping.socket.candidate);
    assert_ne!(secure.serial, ping.socket.serial);
    h.opening.clear();
    h.session.handle_socket_opened(h.now, secure);
    h.drain();
    let login = h.expect("login");
    assert_eq!(login.socket, secure);
}

#[test]
fn redirect_without_payload_is_accepted() {
    let mut h = Harness::new(config());
    h.accept_sockets();
    let ping = h.expect("ping");
    h.feed(ping.socket, r#"["websocketredirect"]"#);
    assert!(h.opening.iter().any(|(_, u)| u == "wss://127.0.0.1:443"));
}

#[test]
fn frames_from_a_closed_socket_are_ignored() {
    let mut h = Harness::new(config());
    let s = h.login();
    h.close(s);
    h.events.clear();
    h.feed(s, r#"["userstatechanged",{"userstateid":3}]"#);
    assert!(h.events.is_empty());
}

#[test]
fn malformed_frames_are_errors_and_change_nothing() {
    let mut h = Harness::new(config());
    let s = h.login();
    h.events.clear();
    for bad in ["", "nope", "{}", "[]", "[1,{}]", r#"["x",3]"#, r#"["multipart",{}]"#] {
        assert!(h.session.handle_frame(h.now, s, bad).is_err(), "{bad:?}");
    }
    h.drain();
    assert!(h.events.is_empty());
    assert!(h.session.is_connected());
}

#[test]
fn oversized_frames_are_refused() {
    let mut c = config();
    c.max_frame_len = 64;
    let mut h = Harness::new(c);
    let s = h.accept_sockets()[0];
    let long = format!(r#"["x",{{"pad":"{}"}}]"#, "a".repeat(100));
    assert!(matches!(
        h.session.handle_frame(h.now, s, &long),
        Err(oktell::error::FrameError::Malformed(
            oktell::error::MalformedFrame::TooLarge { .. }
        ))
    ));
}

#[test]
fn bad_configurations_are_refused() {
    let now = std::time::Instant::now();
    let mut c = config();
    c.urls.clear();
    assert_eq!(
        oktell::Session::new(c, now).unwrap_err(),
        oktell::error::ConfigError::NoUrl
    );
    let mut c = config();
    c.password = None;
    assert_eq!(
        oktell::Session::new(c, now).unwrap_err(),
        oktell::error::ConfigError::NoCredentials
    );
    let mut c = config();
    c.urls = vec!["http://pbx".into()];
    assert!(oktell::Session::new(c, now).is_err());
}

#[test]
fn a_socket_that_cannot_open_is_reported_with_its_url_and_reason() {
    let mut h = Harness::new(two_urls());
    let opens = opened(&h);
    h.session.handle_socket_failed(h.now, opens[0].0, "connection refused");
    h.drain();
    assert!(h.events.contains(&oktell::Event::SocketFailed {
        url: "ws://127.0.0.1:4066".into(),
        reason: "connection refused".into(),
    }));
    assert!(
        !h.events
            .iter()
            .any(|e| matches!(e, oktell::Event::Connection(ConnectionState::Reconnecting { .. })))
    );
    // The last candidate failing too starts the backoff; a repeated report is not a second failure.
    h.session.handle_socket_failed(h.now, opens[1].0, "connection refused");
    h.session.handle_socket_failed(h.now, opens[1].0, "connection refused");
    h.drain();
    let failures = h
        .events
        .iter()
        .filter(|e| matches!(e, oktell::Event::SocketFailed { .. }))
        .count();
    assert_eq!(failures, 2);
    assert!(
        h.events
            .iter()
            .any(|e| matches!(e, oktell::Event::Connection(ConnectionState::Reconnecting { .. })))
    );
}
