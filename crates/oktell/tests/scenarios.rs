//! PROTOCOL.md §6 transcripts (a)–(e), replayed message by message: the
//! client's frames are checked against the transcript's shapes, the server's
//! frames are fed in, and the session's events are checked.
//!
//! Where oktell.js re-reads the line after 400–700 ms, this client re-reads at
//! once and coalesces (one read in flight, one pending), so the number of
//! `getextendedlineinfo` round-trips differs from the transcript by design.

// Test helpers outside #[test] fns may panic on broken expectations.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use oktell::agent::{AgentStatus, StatusRequest};
use oktell::line::{Hold, PhoneState};
use oktell::msg::request::Sequence;
use oktell::{Command, ConnectionState, Event};
use serde_json::{Value, json};
use support::*;

/// Answers every outstanding line read with `reply`; returns how many there were.
fn line_reads(h: &mut Harness, reply: &Value) -> usize {
    let mut n = 0;
    while let Some(pos) = h.outbox.iter().position(|s| s.name == "getextendedlineinfo") {
        let s = h.outbox.remove(pos).unwrap();
        assert_eq!(s.fields(), json!({"userlogin":"op1"}));
        h.reply(&s, reply.clone());
        n += 1;
        assert!(n <= 3, "re-reads must coalesce");
    }
    n
}

fn line_states(events: &[Event]) -> Vec<PhoneState> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::Line(l) => Some(l.state),
            _ => None,
        })
        .collect()
}

fn holds(events: &[Event]) -> Vec<Hold> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::Hold(h) => Some(h.clone()),
            _ => None,
        })
        .collect()
}

fn logged_in() -> (Harness, oktell::SocketId) {
    let mut h = Harness::new(config());
    let s = h.login();
    h.take_events();
    h.log.clear();
    (h, s)
}

fn busy() -> Value {
    json!({"userstateid":5,"oncallcenter":false,"onccmanual":false,"onlunch":false,"onredirect":false,"ontask":false})
}

fn ready() -> Value {
    json!({"userstateid":1,"oncallcenter":false,"onccmanual":false,"onlunch":false,"onredirect":false,"ontask":false})
}

fn idle() -> Value {
    serde_json::from_str(IDLE).unwrap()
}

#[test]
fn scenario_6a_auto_call_answered_hold_resume_hang_up() {
    let (mut h, s) = logged_in();
    let id = h
        .command(Command::Call {
            number: "84951234567".into(),
            sequence: Sequence::User,
        })
        .unwrap();
    let call = h.expect("pbxautocallstart");
    assert_eq!(
        call.fields(),
        json!({"userlogin":"op1","sequence":"user","number":"84951234567"})
    );
    h.reply(&call, json!({"result":1}));
    assert!(h.events.contains(&Event::CommandSucceeded { id }));

    h.push(
        s,
        "phoneevent_acmcallstarted",
        json!({"chainid":"C1","number":"84951234567"}),
    );
    h.push(s, "userstatechanged", busy());
    h.push(
        s,
        "pbxnumberstatechanged",
        json!({"numbers":[{"num":"101","numstateid":5}]}),
    );
    let backring = json!({"result":1,"linestatestr":"lsRinging","chainid":"C1","abonent":
        {"number":"84951234567","isextline":true,"isringing":true,"direction":"acm_callback"}});
    assert_eq!(line_reads(&mut h, &backring), 2, "one read, one coalesced re-read");
    h.push(s, "phoneevent_ringstarted", json!({"chainid":"C1"}));
    line_reads(&mut h, &backring);

    h.push(s, "phoneevent_ringstopped", json!({"chainid":"C1"}));
    h.push(s, "linestatechanged", json!({}));
    let dialling = json!({"result":1,"linestatestr":"lsHookUp","chainid":"C1","abonent":
        {"number":"84951234567","isextline":true,"isautocall":true}});
    line_reads(&mut h, &dialling);

    h.push(
        s,
        "phoneevent_commstarted",
        json!({"chainid":"C1","isconference":false}),
    );
    h.push(s, "phoneevent_acmcallstopped", json!({"chainid":"C1"}));
    let talk = json!({"result":1,"linestatestr":"lsCommutated","chainid":"C1","timertalklensec":0,
        "abonent":{"number":"84951234567","isextline":true,"iscommutated":true}});
    line_reads(&mut h, &talk);
    assert!(h.session.line().talk_since.is_some());

    h.command(Command::Hold).unwrap();
    let flash = h.expect("pbxmakeflash");
    assert_eq!(flash.fields(), json!({"userlogin":"op1","mode":"switch"}));
    h.reply(&flash, json!({"result":1}));
    h.push(s, "flashstatechanged", json!({}));
    h.push(s, "phoneevent_commstopped", json!({"chainid":"C1"}));
    let held = json!({"result":1,"linestatestr":"lsHookUp","chainid":"00000000-0000-0000-0000-000000000000",
        "isflashing":true,"flashed":{"number":"84951234567","isextline":true,"chainid":"C1"},"abonent":{}});
    line_reads(&mut h, &held);

    h.command(Command::Resume).unwrap();
    let flash = h.expect("pbxmakeflash");
    assert_eq!(flash.fields(), json!({"userlogin":"op1","mode":"switch"}));
    h.reply(&flash, json!({"result":1}));
    h.push(s, "flashstatechanged", json!({}));
    h.push(
        s,
        "phoneevent_commstarted",
        json!({"chainid":"C1","isconference":false}),
    );
    let resumed = json!({"result":1,"linestatestr":"lsCommutated","chainid":"C1","isflashing":false,
        "flashed":null,"abonent":{"number":"84951234567","iscommutated":true}});
    line_reads(&mut h, &resumed);

    h.command(Command::Hangup).unwrap();
    let abort = h.expect("pbxabortcall");
    assert_eq!(abort.fields(), json!({"userlogin":"op1"}));
    h.reply(&abort, json!({"result":1}));
    h.push(s, "phoneevent_commstopped", json!({"chainid":"C1"}));
    h.push(s, "linestatechanged", json!({}));
    h.push(s, "userstatechanged", ready());
    h.push(
        s,
        "pbxnumberstatechanged",
        json!({"numbers":[{"num":"101","numstateid":1}]}),
    );
    line_reads(&mut h, &idle());

    assert_eq!(
        line_states(&h.events),
        [
            PhoneState::BackRing,
            PhoneState::BackCall,
            PhoneState::Talk,
            PhoneState::Ready,
            PhoneState::Talk,
            PhoneState::Ready
        ]
    );
    let holds = holds(&h.events);
    assert_eq!(holds.len(), 2);
    assert!(matches!(&holds[0], Hold::Party(a) if a.key == "84951234567"));
    assert_eq!(holds[1], Hold::None);
    assert!(
        h.events
            .iter()
            .any(|e| matches!(e, Event::NumberStates(n) if n[0].numstateid == Some(5)))
    );
    let statuses: Vec<_> = h
        .events
        .iter()
        .filter_map(|e| match e {
            Event::Agent(a) => Some(a.state),
            _ => None,
        })
        .collect();
    assert_eq!(
        statuses,
        [oktell::agent::UserStateId::Busy, oktell::agent::UserStateId::Ready]
    );
    assert!(h.session.line().abonents.is_empty());
    h.expect_nothing();
}

#[test]
fn scenario_6b_incoming_answer_consultation_commutate() {
    let (mut h, s) = logged_in();
    h.push(s, "userstatechanged", busy());
    h.push(
        s,
        "pbxnumberstatechanged",
        json!({"numbers":[{"num":"101","numstateid":5}]}),
    );
    h.push(
        s,
        "phoneevent_ringstarted",
        json!({"chainid":"C2","callerid":"89161234567"}),
    );
    let ringing = json!({"result":1,"linestatestr":"lsRinging","chainid":"C2","abonent":
        {"number":"89161234567","isextline":true,"name":"Client A","isringing":true,"direction":"in"}});
    line_reads(&mut h, &ringing);
    assert_eq!(h.session.line().state, PhoneState::Ring);
    assert_eq!(h.session.line().abonents[0].name.as_deref(), Some("Client A"));

    h.command(Command::Answer).unwrap();
    let answer = h.expect("pbxanswercall");
    assert_eq!(answer.fields(), json!({"userlogin":"op1"}));
    h.reply(&answer, json!({"result":1}));
    h.push(s, "phoneevent_ringstopped", json!({"chainid":"C2"}));
    h.push(
        s,
        "phoneevent_commstarted",
        json!({"chainid":"C2","isconference":false}),
    );
    let talk_a = json!({"result":1,"linestatestr":"lsCommutated","chainid":"C2","abonent":
        {"number":"89161234567","name":"Client A","iscommutated":true}});
    line_reads(&mut h, &talk_a);
    assert_eq!(h.session.line().state, PhoneState::Talk);

    h.command(Command::Call {
        number: "102".into(),
        sequence: Sequence::User,
    })
    .unwrap();
    let call = h.expect("pbxautocallstart");
    assert_eq!(
        call.fields(),
        json!({"userlogin":"op1","sequence":"user","number":"102"})
    );
    h.reply(&call, json!({"result":1}));
    h.push(s, "flashstatechanged", json!({}));
    h.push(s, "phoneevent_commstopped", json!({"chainid":"C2"}));
    h.push(s, "phoneevent_acmcallstarted", json!({"chainid":"C3","number":"102"}));
    let dialling_b = json!({"result":1,"linestatestr":"lsHookUp","chainid":"C3","isflashing":true,
        "flashed":{"number":"89161234567","isextline":true,"chainid":"C2"},
        "abonent":{"number":"102","name":"Ivan Petrov","userid":"a1b2c3d4-0000-4000-8000-000000000102",
                   "username":"Ivan Petrov","userlogin":"op2","isautocall":true}});
    line_reads(&mut h, &dialling_b);
    assert_eq!(h.session.line().state, PhoneState::BackCall);
    assert!(matches!(&h.session.line().hold, Hold::Party(a) if a.key == "89161234567"));

    h.push(
        s,
        "phoneevent_commstarted",
        json!({"chainid":"C3","isconference":false}),
    );
    h.push(s, "phoneevent_acmcallstopped", json!({"chainid":"C3"}));
    let talk_b = json!({"result":1,"linestatestr":"lsCommutated","chainid":"C3","isflashing":true,
        "flashed":{"number":"89161234567","isextline":true},
        "abonent":{"number":"102","name":"Ivan Petrov","iscommutated":true}});
    line_reads(&mut h, &talk_b);
    assert_eq!(h.session.line().state, PhoneState::Talk);
    assert_eq!(h.session.line().abonents[0].key, "102");

    // Connect A and B: pbxabortcall with a held party (§3.3, §6b).
    h.command(Command::Commutate).unwrap();
    let abort = h.expect("pbxabortcall");
    assert_eq!(abort.fields(), json!({"userlogin":"op1"}));
    h.reply(&abort, json!({"result":1}));
    h.push(s, "phoneevent_commstopped", json!({"chainid":"C3"}));
    h.push(s, "flashstatechanged", json!({}));
    h.push(s, "linestatechanged", json!({}));
    h.push(s, "userstatechanged", ready());
    line_reads(&mut h, &idle());

    assert_eq!(
        line_states(&h.events),
        [
            PhoneState::Ring,
            PhoneState::Talk,
            PhoneState::BackCall,
            PhoneState::Talk,
            PhoneState::Ready
        ]
    );
    let holds = holds(&h.events);
    assert!(matches!(&holds[..], [Hold::Party(_), Hold::None]));
    h.expect_nothing();
}

#[test]
fn scenario_6b_alternatives_toggle_drop_and_transfer() {
    let (mut h, s) = logged_in();
    h.push(s, "linestatechanged", json!({}));
    let talk_b = json!({"result":1,"linestatestr":"lsCommutated","isflashing":true,
        "flashed":{"number":"89161234567"},"abonent":{"number":"102","iscommutated":true}});
    line_reads(&mut h, &talk_b);

    h.command(Command::Toggle).unwrap();
    assert_eq!(
        h.expect("pbxmakeflash").fields(),
        json!({"userlogin":"op1","mode":"switch"})
    );
    h.command(Command::Hangup).unwrap();
    assert_eq!(
        h.expect("pbxmakeflash").fields(),
        json!({"userlogin":"op1","mode":"abort"})
    );
    h.command(Command::Transfer { to: "103".into() }).unwrap();
    assert_eq!(
        h.expect("pbxmaketransfer").fields(),
        json!({"userlogin":"op1","transferto":"103"})
    );
    h.command(Command::ConferenceFromCall).unwrap();
    assert_eq!(
        h.expect("buildconferencefromcommutation").fields(),
        json!({"userlogin":"op1"})
    );
}

#[test]
fn scenario_6c_missed_incoming_call() {
    let (mut h, s) = logged_in();
    h.push(s, "userstatechanged", busy());
    h.push(
        s,
        "pbxnumberstatechanged",
        json!({"numbers":[{"num":"101","numstateid":5}]}),
    );
    h.push(
        s,
        "phoneevent_ringstarted",
        json!({"chainid":"C4","callerid":"89161234567"}),
    );
    let ringing = json!({"result":1,"linestatestr":"lsRinging","chainid":"C4","abonent":
        {"number":"89161234567","isextline":true,"isringing":true,"direction":"in"}});
    line_reads(&mut h, &ringing);
    h.push(s, "phoneevent_ringstopped", json!({"chainid":"C4"}));
    h.push(s, "linestatechanged", json!({}));
    h.push(s, "userstatechanged", ready());
    h.push(
        s,
        "pbxnumberstatechanged",
        json!({"numbers":[{"num":"101","numstateid":1}]}),
    );
    line_reads(&mut h, &idle());
    assert_eq!(line_states(&h.events), [PhoneState::Ring, PhoneState::Ready]);
    assert!(h.session.line().abonents.is_empty());
    assert_eq!(h.session.agent().status(), AgentStatus::Ready);
}

#[test]
fn scenario_6d_status_ready_cc_break_ready() {
    let (mut h, s) = logged_in();
    let id = h.command(Command::SetStatus(StatusRequest::ReadyCallCenter)).unwrap();
    let set = h.expect("setuserstate");
    assert_eq!(
        set.fields(),
        json!({"userlogin":"op1","userstateid":1,"oncallcenter":true,"onredirect":false})
    );
    h.reply(
        &set,
        json!({"result":1,"userstateid":1,"oncallcenter":true,"onccmanual":false,
        "onlunch":false,"onredirect":false,"ontask":false}),
    );
    assert!(h.events.contains(&Event::CommandSucceeded { id }));
    assert_eq!(h.session.agent().status(), AgentStatus::ReadyCallCenter);
    h.push(
        s,
        "userstatechanged",
        json!({"userstateid":1,"oncallcenter":true,"onccmanual":false,
        "onlunch":false,"onredirect":false,"ontask":false}),
    );
    h.expect_nothing();

    h.command(Command::SetStatus(StatusRequest::Break(Some(2)))).unwrap();
    let set = h.expect("setuserstate");
    assert_eq!(
        set.fields(),
        json!({"userlogin":"op1","userstateid":2,"onredirect":false,"lunchreasonid":2})
    );
    h.reply(
        &set,
        json!({"result":1,"userstateid":2,"oncallcenter":true,"onccmanual":false,
        "onlunch":true,"onredirect":false,"ontask":false}),
    );
    assert_eq!(h.session.agent().status(), AgentStatus::Break);
    assert_eq!(
        h.session.agent().break_reason,
        Some(2),
        "missing reason filled from the request"
    );
    line_reads(&mut h, &idle());

    h.command(Command::SetStatus(StatusRequest::ReadyCallCenter)).unwrap();
    let set = h.expect("setuserstate");
    assert_eq!(
        set.fields(),
        json!({"userlogin":"op1","userstateid":1,"onredirect":false})
    );
    h.reply(
        &set,
        json!({"result":1,"userstateid":1,"oncallcenter":true,"onccmanual":false,
        "onlunch":false,"onredirect":false,"ontask":false}),
    );
    assert_eq!(h.session.agent().status(), AgentStatus::ReadyCallCenter);

    let statuses: Vec<_> = h
        .events
        .iter()
        .filter_map(|e| match e {
            Event::Agent(a) => Some(a.status()),
            _ => None,
        })
        .collect();
    assert_eq!(
        statuses,
        [
            AgentStatus::ReadyCallCenter,
            AgentStatus::Break,
            AgentStatus::ReadyCallCenter
        ]
    );
}

#[test]
fn scenario_6e_server_drop_resumes_with_the_stored_session() {
    let (mut h, s) = logged_in();
    h.close(s);
    let Some(ConnectionState::Reconnecting { attempt: 1, delay }) = h.connection_states().last().cloned() else {
        panic!("{:?}", h.connection_states());
    };
    assert!(h.command(Command::Hangup).is_err());
    h.advance(delay);
    assert_eq!(h.opening.len(), 1);
    h.handshake();
    let login = h.expect("login");
    assert_eq!(
        login.fields(),
        json!({"userlogin":"op1","sessionid":SESSION,"showid":1,"usewebrtc":false})
    );
    h.reply(&login, canned("login"));
    h.serve();
    assert!(h.session.is_connected());
    let subs: Vec<_> = h.log.iter().zip(0..).map(|(m, _)| m.clone()).collect();
    assert!(subs.contains(&"subscribeevent".to_owned()));
    assert!(
        h.events
            .iter()
            .any(|e| matches!(e, Event::Connection(ConnectionState::Connected)))
    );
}

#[test]
fn scenario_6e_logout_waits_for_the_server_to_close() {
    let (mut h, s) = logged_in();
    h.command(Command::Logout).unwrap();
    let logout = h.expect("logout");
    assert_eq!(logout.fields(), json!({"userlogin":"op1"}));
    h.expect_nothing();
    h.reply(&logout, json!({"result":1}));
    assert!(h.connection_states().contains(&ConnectionState::LoggingOut));
    h.close(s);
    assert_eq!(
        h.connection_states().last(),
        Some(&ConnectionState::Closed(oktell::CloseReason::LoggedOut))
    );
    assert_eq!(h.session.line().state, PhoneState::Disconnected);
    h.advance(std::time::Duration::from_secs(60));
    assert!(h.opening.is_empty(), "no reconnect after logout");
}

#[test]
fn logout_closes_itself_when_the_server_does_not() {
    let (mut h, _) = logged_in();
    h.command(Command::Logout).unwrap();
    h.expect("logout");
    h.advance(std::time::Duration::from_secs(5));
    assert!(h.session.is_closed());
    assert!(h.actions.iter().any(|a| matches!(a, oktell::Action::Close { .. })));
}

#[test]
fn logout_while_reconnecting_stops_without_sending_anything() {
    let (mut h, s) = logged_in();
    h.close(s);
    h.outbox.clear();
    h.command(Command::Logout).unwrap();
    h.expect_nothing();
    assert_eq!(
        h.connection_states().last(),
        Some(&ConnectionState::Closed(oktell::CloseReason::LoggedOut))
    );
    h.advance(std::time::Duration::from_secs(60));
    assert!(h.opening.is_empty(), "no reconnect after logout");
}
