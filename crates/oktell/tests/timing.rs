//! Request timeouts, keepalive, queue polling and late replies, on the
//! virtual clock.

// Test helpers outside #[test] fns may panic on broken expectations.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::time::Duration;

use oktell::agent::StatusRequest;
use oktell::error::{CommandFailure, SyncError};
use oktell::{Command, ConnectionState, Event};
use serde_json::json;
use support::*;

#[test]
fn a_command_without_reply_fails_after_the_request_timeout_and_a_late_reply_is_dropped() {
    let mut h = Harness::new(config());
    h.login();
    h.take_events();
    let id = h.command(Command::SetStatus(StatusRequest::Dnd)).unwrap();
    let set = h.expect("setuserstate");
    h.serve(); // answer the periodic traffic only
    h.advance(Duration::from_millis(19_999));
    assert!(!h.events.iter().any(|e| matches!(e, Event::CommandFailed { .. })));
    h.advance(Duration::from_millis(1));
    assert!(h.events.contains(&Event::CommandFailed {
        id,
        failure: CommandFailure::Timeout {
            method: "setuserstate",
            after: Duration::from_secs(20)
        }
    }));
    h.take_events();
    h.reply(&set, json!({"result":1,"userstateid":3,"oncallcenter":false}));
    assert!(
        h.events.is_empty(),
        "late reply must not complete anything: {:?}",
        h.events
    );
}

#[test]
fn a_late_sync_reply_does_not_run_the_chain_twice() {
    let mut h = Harness::new(config());
    h.handshake();
    let mut withheld = None;
    while let Some(s) = h.outbox.pop_front() {
        if s.name == "ping" {
            h.feed(s.socket, &format!(r#"["pong",{{"qid":"{}"}}]"#, s.qid()));
        } else if s.name == "getredirectrules" {
            withheld = Some(s);
        } else {
            h.reply(&s, canned(&s.name));
        }
    }
    let withheld = withheld.expect("getredirectrules sent");
    assert!(!h.session.is_connected());
    h.advance(Duration::from_secs(20));
    h.serve();
    assert!(h.session.is_connected(), "a timed-out step continues the chain");
    let before = h.log.clone();
    h.reply(&withheld, canned("getredirectrules"));
    h.serve();
    assert_eq!(
        h.log.iter().filter(|m| *m == "getpbxnumbers").count(),
        before.iter().filter(|m| *m == "getpbxnumbers").count(),
        "the late reply re-ran nothing"
    );
    assert_eq!(h.log.iter().filter(|m| *m == "getpbxnumbers").count(), 1);
}

#[test]
fn a_timed_out_getmyuserinfo_is_a_sync_failure() {
    let mut h = Harness::new(config());
    h.handshake();
    while let Some(s) = h.outbox.pop_front() {
        if s.name == "ping" {
            h.feed(s.socket, &format!(r#"["pong",{{"qid":"{}"}}]"#, s.qid()));
        } else if s.name != "getmyuserinfo" {
            h.reply(&s, canned(&s.name));
        }
    }
    h.advance(Duration::from_secs(20));
    assert!(h.events.contains(&Event::SyncFailed(SyncError::UserInfo)));
    assert!(
        h.connection_states()
            .iter()
            .any(|c| matches!(c, ConnectionState::Reconnecting { .. }))
    );
}

#[test]
fn keepalive_pings_every_15_s_and_the_queue_is_polled_every_5_s() {
    let mut h = Harness::new(config());
    h.login();
    h.log.clear();
    for _ in 0..6 {
        h.advance(Duration::from_secs(5));
        h.serve();
    }
    let pings = h.log.iter().filter(|m| *m == "ping").count();
    let polls = h.log.iter().filter(|m| *m == "getcurrentqueue").count();
    assert_eq!(pings, 2, "{:?}", h.log);
    assert_eq!(polls, 6, "{:?}", h.log);
}

#[test]
fn keepalive_pings_carry_no_userlogin() {
    let mut h = Harness::new(config());
    h.login();
    h.advance(Duration::from_secs(15));
    let ping = h.outbox.iter().find(|s| s.name == "ping").cloned().unwrap();
    assert_eq!(ping.fields(), json!({}));
}

#[test]
fn queue_changes_are_reported_and_unchanged_polls_are_silent() {
    let mut h = Harness::new(config());
    h.login();
    h.take_events();
    h.advance(Duration::from_secs(5));
    h.serve_with(|s| {
        (s.name == "getcurrentqueue").then(|| {
            json!({"result":1,"queue":[{"number":"89990001122","chainid":"11111111-2222-4333-8444-555555555555","name":"Waiting client"}]})
        })
    });
    let queues: Vec<_> = h
        .events
        .iter()
        .filter(|e| matches!(e, Event::Queue(_)))
        .cloned()
        .collect();
    assert_eq!(queues.len(), 1);
    let Event::Queue(q) = &queues[0] else { unreachable!() };
    assert_eq!(q[0].key, "89990001122");
    assert_eq!(q[0].name.as_deref(), Some("Waiting client"));
    h.take_events();
    h.advance(Duration::from_secs(5));
    h.serve_with(|s| {
        (s.name == "getcurrentqueue").then(|| {
            json!({"result":1,"queue":[{"number":"89990001122","chainid":"11111111-2222-4333-8444-555555555555","name":"Waiting client"}]})
        })
    });
    assert!(!h.events.iter().any(|e| matches!(e, Event::Queue(_))));
}

#[test]
fn a_slow_queue_reply_is_not_doubled_by_the_next_poll() {
    let mut h = Harness::new(config());
    h.login();
    h.log.clear();
    h.advance(Duration::from_secs(5));
    h.advance(Duration::from_secs(5));
    assert_eq!(h.log.iter().filter(|m| *m == "getcurrentqueue").count(), 1);
}

#[test]
fn an_unanswered_line_read_releases_the_coalescer_on_timeout() {
    let mut h = Harness::new(config());
    let s = h.login();
    h.log.clear();
    h.push(s, "linestatechanged", json!({}));
    h.push(s, "linestatechanged", json!({}));
    assert_eq!(h.log.iter().filter(|m| *m == "getextendedlineinfo").count(), 1);
    h.outbox.retain(|f| f.name != "getextendedlineinfo");
    h.advance(Duration::from_secs(20));
    assert_eq!(
        h.log.iter().filter(|m| *m == "getextendedlineinfo").count(),
        2,
        "the pending re-read goes out after the timeout"
    );
}

#[test]
fn poll_timeout_is_the_earliest_deadline() {
    let mut h = Harness::new(config());
    // Connecting: the open timeout.
    assert_eq!(h.session.poll_timeout(), Some(h.now + Duration::from_secs(10)));
    h.login();
    // Logged in, all answered: the 5 s queue poll is next.
    assert_eq!(h.session.poll_timeout(), Some(h.now + Duration::from_secs(5)));
}
