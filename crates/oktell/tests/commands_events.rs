//! Command bodies and refusals, conference and ghost flows, custom and
//! native events, multipart replies through the session.

// Test helpers outside #[test] fns may panic on broken expectations.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use base64::Engine;
use oktell::agent::StatusRequest;
use oktell::error::{CommandError, CommandFailure};
use oktell::line::PhoneState;
use oktell::msg::request::{GhostMode, Sequence};
use oktell::{Command, Event};
use serde_json::{Value, json};
use support::*;

fn connected() -> (Harness, oktell::SocketId) {
    let mut c = config();
    c.native_events = vec!["phoneevent_faxreceived".into()];
    let mut h = Harness::new(c);
    let s = h.login();
    h.take_events();
    h.log.clear();
    (h, s)
}

fn set_line(h: &mut Harness, s: oktell::SocketId, reply: Value) {
    h.push(s, "linestatechanged", json!({}));
    while let Some(pos) = h.outbox.iter().position(|f| f.name == "getextendedlineinfo") {
        let f = h.outbox.remove(pos).unwrap();
        h.reply(&f, reply.clone());
    }
}

fn talking() -> Value {
    json!({"result":1,"linestatestr":"lsCommutated","abonent":{"number":"102","iscommutated":true}})
}

#[test]
fn intercom_and_abonent_first_calls_have_their_documented_bodies() {
    let (mut h, _) = connected();
    h.command(Command::Intercom { number: "102".into() }).unwrap();
    assert_eq!(
        h.expect("pbxautocallstart").text.split_once(",\"qid\"").unwrap().0,
        r#"["pbxautocallstart",{"userlogin":"op1","sequence":"user","intercom":true,"number":"102""#
    );
    h.command(Command::Call {
        number: "84951234567".into(),
        sequence: Sequence::Abonent,
    })
    .unwrap();
    assert_eq!(
        h.expect("pbxautocallstart").fields(),
        json!({"userlogin":"op1","sequence":"abonent","number":"84951234567"})
    );
}

#[test]
fn commands_that_make_no_sense_now_are_refused_locally() {
    let (mut h, _) = connected();
    assert_eq!(
        h.command(Command::Answer),
        Err(CommandError::InvalidLineState {
            command: "answer",
            state: "ready"
        })
    );
    assert_eq!(h.command(Command::Toggle), Err(CommandError::NoHold));
    assert_eq!(h.command(Command::Commutate), Err(CommandError::NoHold));
    assert_eq!(
        h.command(Command::Call {
            number: " ".into(),
            sequence: Sequence::User
        }),
        Err(CommandError::NoNumber)
    );
    assert_eq!(
        h.command(Command::ConferenceInvite {
            invitees: vec!["1".into()]
        }),
        Err(CommandError::NotInConference)
    );
    assert!(matches!(
        h.command(Command::Hangup),
        Err(CommandError::InvalidLineState { .. })
    ));
    h.expect_nothing();
}

#[test]
fn commands_before_login_are_refused() {
    let mut h = Harness::new(config());
    assert_eq!(h.command(Command::Answer), Err(CommandError::NotConnected));
}

#[test]
fn a_rejected_command_reports_the_server_error() {
    let (mut h, s) = connected();
    set_line(&mut h, s, talking());
    let id = h.command(Command::Transfer { to: "103".into() }).unwrap();
    let t = h.expect("pbxmaketransfer");
    h.reply(&t, json!({"result":0,"error":7,"errormsg":"busy"}));
    assert!(h.events.contains(&Event::CommandFailed {
        id,
        failure: CommandFailure::Rejected {
            method: "pbxmaketransfer",
            code: Some(7),
            message: "busy".into()
        }
    }));
}

#[test]
fn ringing_can_be_declined_and_auto_call_dialling_aborted() {
    let (mut h, s) = connected();
    set_line(
        &mut h,
        s,
        json!({"abonent":{"number":"5","isringing":true,"direction":"in"}}),
    );
    h.command(Command::Decline).unwrap();
    h.expect("pbxdeclinecall");
    h.command(Command::Hangup).unwrap();
    h.expect("pbxdeclinecall");
    set_line(&mut h, s, json!({"abonent":{"number":"5","isautocall":true}}));
    assert_eq!(h.session.line().state, PhoneState::BackCall);
    h.command(Command::Hangup).unwrap();
    assert_eq!(h.expect("pbxautocallabort").fields(), json!({"userlogin":"op1"}));
}

#[test]
fn conference_create_sends_the_fixed_descriptor_and_enters_the_conference() {
    let (mut h, s) = connected();
    let id = h
        .command(Command::ConferenceCreate {
            invitees: vec!["102".into(), "a1b2c3d4-0000-4000-8000-000000000103".into()],
        })
        .unwrap();
    let c = h.expect("createnewconference");
    let conf = &c.body["conference"];
    let conf_id = conf["id"].as_str().unwrap().to_owned();
    assert_eq!(conf_id.len(), 36);
    assert!(conf["room"].as_u64().unwrap() <= 10_000);
    let mut fixed = conf.clone();
    fixed.as_object_mut().unwrap().remove("id");
    fixed.as_object_mut().unwrap().remove("room");
    assert_eq!(
        fixed,
        json!({"name":"","description":"","accessmode":"free","isselector":false,"record":true,
               "recordrights":"selected","everyonecaninvite":true,"canvieweachother":true})
    );
    assert_eq!(
        c.body["competitors"],
        json!([{"userlogin":"op1"},{"number":"102"},{"userid":"a1b2c3d4-0000-4000-8000-000000000103"}])
    );
    h.reply(&c, json!({"result":1}));
    assert!(h.events.contains(&Event::CommandSucceeded { id }));
    let handle = h.expect("confhandleevent");
    assert_eq!(
        handle.fields(),
        json!({"userlogin":"op1","conferenceid":conf_id,"eventtype":"competitors","handle":true})
    );
    let info = h.expect("getconferenceinfo");
    assert_eq!(info.fields(), json!({"userlogin":"op1","conferenceid":conf_id}));

    // The line then reports the conference; competitors become the parties.
    let line = h.expect("getextendedlineinfo");
    h.reply(&handle, json!({"result":1}));
    h.reply(
        &line,
        json!({"result":1,"linestatestr":"lsCommutated","abonent":{"conferenceid":conf_id,"isconference":true}}),
    );
    h.reply(
        &info,
        json!({"result":1,"conference":{"id":conf_id,"isghost":false},"competitors":[
        {"competitorid":"c1","userid":USER_ID,"number":"101","iscreator":true,"confstatestr":"Connected"},
        {"competitorid":"c2","number":"89031112233","isextline":true,"confstatestr":"Connected"}]}),
    );
    let view = h.session.line();
    assert_eq!(view.state, PhoneState::Talk);
    assert_eq!(view.conference.as_deref(), Some(conf_id.as_str()));
    assert_eq!(
        view.abonents.iter().map(|a| a.key.as_str()).collect::<Vec<_>>(),
        ["c1", "c2"]
    );

    // A competitor leaves.
    h.push(
        s,
        "confcompetitorstatechanged",
        json!({"eventinfo":{"conference":{"id":conf_id},
        "competitor":{"competitorid":"c2","number":"89031112233","confstatestr":"Exited"}}}),
    );
    assert_eq!(h.session.line().abonents.len(), 1);

    h.command(Command::ConferenceDrop {
        competitor_id: "c1".into(),
    })
    .unwrap();
    assert_eq!(
        h.expect("confdisconnectcompetitor").fields(),
        json!({"userlogin":"op1","conferenceid":conf_id,"competitor":{"competitorid":"c1"}})
    );
    h.command(Command::ConferenceInvite {
        invitees: vec!["89031112233".into()],
    })
    .unwrap();
    assert_eq!(
        h.expect("invitetoconference").fields(),
        json!({"userlogin":"op1","conferenceid":conf_id,"competitors":[{"number":"89031112233"}]})
    );
    h.command(Command::GhostMode(GhostMode::Conference)).unwrap();
    assert_eq!(
        h.expect("confsetghostmode").fields(),
        json!({"userlogin":"op1","conferenceid":conf_id,"ghostmode":"conference"})
    );
    h.command(Command::ConferenceLeave).unwrap();
    assert_eq!(
        h.expect("exitconference").fields(),
        json!({"userlogin":"op1","conferenceid":conf_id})
    );

    // Back to idle: the client stops competitor events for that conference.
    set_line(&mut h, s, serde_json::from_str(IDLE).unwrap());
    let off = h.outbox.iter().find(|f| f.name == "confhandleevent").cloned().unwrap();
    assert_eq!(off.body["handle"], false);
}

#[test]
fn adding_the_held_party_checks_first() {
    let (mut h, s) = connected();
    set_line(
        &mut h,
        s,
        json!({"linestatestr":"lsCommutated","isflashing":true,"flashed":{"number":"7"},
        "abonent":{"conferenceid":"conf-1","isconference":true}}),
    );
    h.outbox.clear();
    let id = h.command(Command::ConferenceAddHeld).unwrap();
    let check = h.expect("checkcanconnecttogathertoconference");
    h.reply(&check, json!({"result":1,"canconnecttogather":true}));
    let connect = h.expect("connecttogathertoconference");
    h.reply(&connect, json!({"result":1}));
    assert!(h.events.contains(&Event::CommandSucceeded { id }));
}

#[test]
fn ghost_listen_without_rights_is_a_clear_failure() {
    let (mut h, _) = connected();
    let id = h
        .command(Command::GhostListen {
            user_id: "a1b2c3d4-0000-4000-8000-000000000102".into(),
        })
        .unwrap();
    let g = h.expect("attachasghost");
    assert_eq!(
        g.fields(),
        json!({"userlogin":"op1","ghostedid":"a1b2c3d4-0000-4000-8000-000000000102"})
    );
    h.reply(&g, json!({"result":0,"error":52710,"errormsg":"no rights"}));
    assert!(h.events.contains(&Event::CommandFailed {
        id,
        failure: CommandFailure::NoRights
    }));
}

#[test]
fn redirect_status_is_two_requests() {
    let (mut h, _) = connected();
    let id = h.command(Command::SetStatus(StatusRequest::Redirect)).unwrap();
    let first = h.expect("setuserstate");
    assert_eq!(
        first.fields(),
        json!({"userlogin":"op1","userstateid":3,"oncallcenter":false})
    );
    h.expect_nothing();
    h.reply(&first, json!({"result":1,"userstateid":3}));
    // The state change re-reads the line; the redirect flag follows.
    h.outbox.retain(|f| f.name != "getextendedlineinfo");
    let second = h.expect("setuserstate");
    assert_eq!(second.fields(), json!({"userlogin":"op1","onredirect":true}));
    assert!(!h.events.contains(&Event::CommandSucceeded { id }));
    h.reply(&second, json!({"result":1,"userstateid":3,"onredirect":true}));
    assert!(h.events.contains(&Event::CommandSucceeded { id }));
    assert_eq!(h.session.agent().status(), oktell::agent::AgentStatus::Redirect);
}

#[test]
fn custom_events_go_out_and_come_in() {
    let (mut h, s) = connected();
    h.command(Command::CustomEvent {
        name: "hello".into(),
        param: json!({"a":1}),
        recipients: None,
        send_back: true,
    })
    .unwrap();
    let t = h.expect("triggercustomevent");
    assert!(t.text.starts_with(
        r#"["triggercustomevent",{"userlogin":"op1","userid":"a1b2c3d4-0000-4000-8000-000000000101","eventname":"hello","eventparam":{"a":1},"recipients":false,"sendback":1,"qid":"#
    ));
    h.command(Command::CustomEvent {
        name: "x".into(),
        param: Value::Null,
        recipients: Some(vec!["u2".into()]),
        send_back: false,
    })
    .unwrap();
    let t = h.expect("triggercustomevent");
    assert_eq!(t.body["recipients"], json!(["u2"]));
    assert_eq!(t.body["sendback"], json!("0"));

    h.push(s, "customevent", json!({"eventname":"hello","eventparam":{"a":1}}));
    assert!(h.events.contains(&Event::Custom {
        name: "hello".into(),
        param: json!({"a":1})
    }));
}

#[test]
fn subscribed_native_events_are_passed_through_and_others_dropped() {
    let (mut h, s) = connected();
    h.push(s, "phoneevent_faxreceived", json!({"file":"f.tif"}));
    h.push(s, "closeform", json!({}));
    let natives: Vec<_> = h.events.iter().filter(|e| matches!(e, Event::Native { .. })).collect();
    assert_eq!(natives.len(), 1);
    assert!(matches!(natives[0], Event::Native { name, .. } if name == "phoneevent_faxreceived"));
}

#[test]
fn no_phone_user_state_forces_the_line_disconnected() {
    let (mut h, s) = connected();
    set_line(&mut h, s, talking());
    h.push(s, "userstatechanged", json!({"userstateid":7}));
    assert_eq!(h.session.line().state, PhoneState::Disconnected);
}

#[test]
fn number_presence_changes_are_forwarded() {
    let (mut h, s) = connected();
    h.push(
        s,
        "pbxnumberstatechanged",
        json!({"numbers":[{"num":"102","numstateid":5}]}),
    );
    assert!(
        h.events
            .iter()
            .any(|e| matches!(e, Event::NumberStates(n) if n[0].num.as_deref() == Some("102")))
    );
}

#[test]
fn a_multipart_reply_out_of_order_completes_its_request() {
    let mut h = Harness::new(config());
    h.handshake();
    let mut numbers_seen = false;
    while let Some(s) = h.outbox.pop_front() {
        if s.name == "getpbxnumbers" {
            let reply = serde_json::to_string(&json!(["getpbxnumbersresult", {"qid": s.qid(), "result":1,
                "numbers":[{"number":"101","caption":"Оператор Один","state":1}]}]))
            .unwrap();
            let bytes = reply.as_bytes();
            // Split inside a Cyrillic character on purpose.
            let cut = reply.find('О').unwrap() + 1;
            let parts = [&bytes[..cut], &bytes[cut..]];
            for i in [1usize, 0] {
                let content = base64::engine::general_purpose::STANDARD.encode(parts[i]);
                h.push(
                    s.socket,
                    "multipart",
                    json!({"message-id":"m-1","packetcount":2,"packetnumber":i,"content":content}),
                );
            }
            numbers_seen = true;
            continue;
        }
        if s.name == "ping" {
            h.feed(s.socket, &format!(r#"["pong",{{"qid":"{}"}}]"#, s.qid()));
        } else {
            h.reply(&s, canned(&s.name));
        }
    }
    assert!(numbers_seen);
    assert!(h.session.is_connected());
    assert!(
        h.events
            .iter()
            .any(|e| matches!(e, Event::Numbers(n) if n[0].caption.as_deref() == Some("Оператор Один")))
    );
}

#[test]
fn an_event_sent_as_multipart_is_still_delivered() {
    let (mut h, s) = connected();
    let text = r#"["customevent",{"eventname":"big","eventparam":"Привет"}]"#;
    let bytes = text.as_bytes();
    let cut = bytes.len() / 2;
    for (i, part) in [&bytes[..cut], &bytes[cut..]].into_iter().enumerate() {
        let content = base64::engine::general_purpose::STANDARD.encode(part);
        h.push(
            s,
            "multipart",
            json!({"message-id":"e-1","packetcount":2,"packetnumber":i,"content":content}),
        );
    }
    assert!(h.events.contains(&Event::Custom {
        name: "big".into(),
        param: json!("Привет")
    }));
}

#[test]
fn conference_composition_replaces_the_parties() {
    let (mut h, s) = connected();
    set_line(
        &mut h,
        s,
        json!({"linestatestr":"lsCommutated","abonent":{"conferenceid":"conf-9","isconference":true}}),
    );
    h.push(
        s,
        "confcompositionchanged",
        json!({"eventinfo":{"conferenceid":"conf-9","competitorlist":[
            {"competitorid":"a","number":"101"},
            {"competitorid":"b","number":"102","confstatestr":"MisInviteBusy"},
            {"competitorid":"c","number":"103"}]}}),
    );
    let keys: Vec<_> = h.session.line().abonents.iter().map(|a| a.key.clone()).collect();
    assert_eq!(keys, ["a", "c"]);
    // Another conference's composition is ignored.
    h.push(
        s,
        "confcompositionchanged",
        json!({"eventinfo":{"conferenceid":"other","competitorlist":[{"competitorid":"z"}]}}),
    );
    assert_eq!(h.session.line().abonents.len(), 2);
}
