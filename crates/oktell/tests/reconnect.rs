//! Reconnects: a drop at every step of the post-login sequence recovers the
//! full state; backoff grows; sessions are resumed and fall back to passwords.

// Test helpers outside #[test] fns may panic on broken expectations.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::time::Duration;

use oktell::agent::AgentStatus;
use oktell::line::{Hold, PhoneState};
use oktell::{ConnectionState, Event};
use serde_json::{Value, json};
use support::*;

/// What the server reports on the second connection: everything differs
/// from the first, so a stale value cannot pass for a resynced one.
fn changed_world(s: &Sent) -> Option<Value> {
    Some(match s.name.as_str() {
        "getuserstate" => json!({"result":1,"userstateid":2,"oncallcenter":true,"onccmanual":false,
            "onlunch":true,"onredirect":false,"lunchreasonid":2,"ontask":false}),
        "getextendedlineinfo" => {
            json!({"result":1,"linestatestr":"lsCommutated","timertalklensec":42,
            "isflashing":true,"flashed":{"number":"89161234567"},
            "abonent":{"number":"102","iscommutated":true}})
        }
        "getcurrentqueue" => {
            json!({"result":1,"queue":[{"number":"89990001122","name":"Waiting"}]})
        }
        "getallusernumbers" => json!({"result":1,"users":[
            {"id":"u1","name":"A","main":"101","nums":["101"]},
            {"id":"u2","name":"B","main":"102","nums":["102"]},
            {"id":"u3","name":"C","main":"103","nums":["103"]}]}),
        "getredirectrules" => json!({"result":1,"redirectrules":[]}),
        _ => return None,
    })
}

/// Serves the first connection until the client's `k`-th request (pings
/// excluded), then drops the socket instead of answering. Returns whether
/// the drop happened (false: the sequence had fewer than `k` requests).
fn serve_until_drop(h: &mut Harness, k: usize) -> bool {
    let mut count = 0;
    while let Some(s) = h.outbox.pop_front() {
        if s.name == "ping" {
            h.feed(s.socket, &format!(r#"["pong",{{"qid":"{}"}}]"#, s.qid()));
            continue;
        }
        if count == k {
            h.outbox.clear();
            h.close(s.socket);
            return true;
        }
        count += 1;
        h.reply(&s, canned(&s.name));
    }
    false
}

#[test]
fn a_drop_at_every_post_login_step_recovers_the_full_state() {
    let mut steps_covered = 0;
    for k in 0.. {
        let mut h = Harness::new(config());
        h.handshake();
        if !serve_until_drop(&mut h, k) {
            assert!(h.session.is_connected());
            break;
        }
        steps_covered += 1;
        let Some(ConnectionState::Reconnecting { delay, .. }) = h.connection_states().last().cloned() else {
            panic!("step {k}: no reconnect: {:?}", h.connection_states());
        };
        h.events.clear();
        h.log.clear();
        h.advance(delay);
        h.handshake();
        h.serve_with(changed_world);
        assert!(h.session.is_connected(), "step {k}: {:?}", h.events);

        assert_eq!(h.log[..2], ["ping", "login"], "step {k}");
        let agent = h.session.agent();
        assert_eq!(agent.status(), AgentStatus::Break, "step {k}");
        assert_eq!(agent.break_reason, Some(2), "step {k}");
        let line = h.session.line();
        assert_eq!(line.state, PhoneState::Talk, "step {k}");
        assert!(
            matches!(&line.hold, Hold::Party(a) if a.key == "89161234567"),
            "step {k}"
        );
        assert_eq!(h.session.queue().len(), 1, "step {k}");
        assert!(
            h.events.iter().any(|e| matches!(e, Event::Users(u) if u.len() == 3)),
            "step {k}"
        );
        assert!(h.events.contains(&Event::RedirectNumber(None)), "step {k}");
        for name in [
            "getversion",
            "getmyuserinfo",
            "getuserstate",
            "getpbxnumbers",
            "getextendedlineinfo",
        ] {
            assert_eq!(
                h.log.iter().filter(|m| *m == name).count(),
                1,
                "step {k}: {name} once per connection"
            );
        }
    }
    assert!(steps_covered >= 12, "covered {steps_covered} steps");
}

#[test]
fn every_subscription_is_resent_after_a_reconnect_including_customevent() {
    let mut h = Harness::new(config());
    let s = h.login();
    h.close(s);
    let Some(ConnectionState::Reconnecting { delay, .. }) = h.connection_states().last().cloned() else {
        panic!()
    };
    h.advance(delay);
    h.handshake();
    let mut subscribed = Vec::new();
    h.serve_with(|s| {
        if s.name == "subscribeevent" {
            subscribed.push(s.body["eventmethod"][0].as_str().unwrap().to_owned());
        }
        None
    });
    for name in [
        "customevent",
        "userstatechanged",
        "pbxnumberstatechanged",
        "linestatechanged",
        "flashstatechanged",
        "phoneevent_commstopped",
        "httpresponsecopy",
    ] {
        assert!(subscribed.iter().any(|n| n == name), "{name} not re-subscribed");
    }
    assert_eq!(subscribed.len(), 15);
}

#[test]
fn resume_uses_the_session_and_falls_back_to_the_password_when_refused() {
    let mut h = Harness::new(config());
    let s = h.login();
    h.close(s);
    let Some(ConnectionState::Reconnecting { delay, .. }) = h.connection_states().last().cloned() else {
        panic!()
    };
    h.advance(delay);
    h.handshake();
    let login = h.expect("login");
    assert_eq!(login.body["sessionid"], SESSION);
    assert!(login.body.get("password").is_none());
    h.reply(
        &login,
        json!({"result":0,"errormsg":"Bad request. Session does not exist"}),
    );
    let retry = h.expect("login");
    assert_eq!(retry.body["password"], "e52d98c459819a11775936d8dfbb7929");
    assert!(retry.body.get("sessionid").is_none());
    h.reply(&retry, canned("login"));
    h.serve();
    assert!(h.session.is_connected());
}

#[test]
fn backoff_grows_with_each_failed_attempt_and_resets_after_success() {
    let mut h = Harness::new(config());
    let mut delays = Vec::new();
    for _ in 0..6 {
        let (socket, _) = h.opening.pop().expect("an open request");
        h.session.handle_socket_closed(h.now, socket);
        h.drain();
        let Some(ConnectionState::Reconnecting { delay, .. }) = h.connection_states().last().cloned() else {
            panic!()
        };
        delays.push(delay);
        h.advance(delay);
    }
    assert!(delays[5] > delays[0] * 4, "{delays:?}");
    assert!(delays.iter().all(|d| *d <= Duration::from_secs(30)));
    let link = h.login();
    h.close(link);
    let Some(ConnectionState::Reconnecting { attempt: 1, delay }) = h.connection_states().last().cloned() else {
        panic!("{:?}", h.connection_states().last())
    };
    assert!(delay <= Duration::from_millis(500), "reset after a good session");
}

#[test]
fn commands_in_flight_fail_when_the_connection_drops() {
    let mut h = Harness::new(config());
    let s = h.login();
    let id = h
        .command(oktell::Command::SetStatus(oktell::agent::StatusRequest::Dnd))
        .unwrap();
    h.close(s);
    assert!(h.events.iter().any(|e| matches!(e,
        Event::CommandFailed { id: i, failure: oktell::error::CommandFailure::ConnectionLost { method: "setuserstate" } } if *i == id)));
}

#[test]
fn an_auto_call_cut_off_by_a_drop_does_not_outlive_the_link() {
    let mut h = Harness::new(config());
    let s = h.login();
    // The auto-call starts; the link drops before the line re-read is answered.
    h.push(
        s,
        "phoneevent_acmcallstarted",
        json!({"chainid": "C3", "number": "102"}),
    );
    h.expect("getextendedlineinfo");
    h.outbox.clear();
    h.close(s);
    let Some(ConnectionState::Reconnecting { delay, .. }) = h.connection_states().last().cloned() else {
        panic!("no reconnect: {:?}", h.connection_states());
    };
    h.advance(delay);
    h.handshake();
    // Meanwhile the far end answered: the server reports a connected call.
    h.serve_with(|s| {
        (s.name == "getextendedlineinfo").then(|| {
            json!({"result":1,"linestatestr":"lsCommutated","timertalklensec":3,
                "abonent":{"number":"102","iscommutated":true}})
        })
    });
    assert!(h.session.is_connected());
    assert_eq!(h.session.line().state, PhoneState::Talk);
}
