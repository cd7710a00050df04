//! The view's revision grows by one exactly when something visible changes, and the view
//! serialises with the field names the UI is written against.

mod support;

use std::time::Duration;

use call::{CallInput, UiCommand};
use oktell::line::PhoneState;
use support::*;

#[test]
fn repeated_reports_do_not_bump_the_revision() {
    let mut h = Harness::connected();
    let rev = h.view().rev;
    let fx = h.line(idle());
    assert_eq!(views(&fx), 0);
    assert_eq!(h.view().rev, rev);
    let fx = h.tick();
    assert_eq!(views(&fx), 0, "no call, no timer");
    assert_eq!(h.model.poll_timeout(), None);

    let ring = line(PhoneState::Ring, party("89161234567", "C2"));
    let fx = h.line(ring.clone());
    assert_eq!(views(&fx), 1);
    assert_eq!(h.view().rev, rev + 1);
    let fx = h.line(ring);
    assert_eq!(views(&fx), 0, "the same line again changes nothing");
    assert_eq!(h.view().rev, rev + 1);
}

#[test]
fn timers_bump_the_revision_once_a_second() {
    let mut h = Harness::connected();
    let since = h.now;
    h.line(talking(party("89161234567", "C2"), since));
    let rev = h.view().rev;
    assert_eq!(h.model.poll_timeout(), Some(h.now + Duration::from_secs(1)));
    h.advance(400);
    assert_eq!(views(&h.tick()), 0, "still 0 s");
    h.advance(600);
    assert_eq!(views(&h.tick()), 1);
    assert_eq!(h.view().rev, rev + 1);
    assert_eq!(h.view().call.as_ref().map(|c| c.talk_secs), Some(1));
}

#[test]
fn a_refused_command_changes_the_view_once() {
    let mut h = Harness::connected();
    let rev = h.view().rev;
    assert_eq!(views(&h.ui(UiCommand::Hold)), 1, "the notice appears");
    assert_eq!(views(&h.ui(UiCommand::Hold)), 0, "the same notice again");
    assert_eq!(h.view().rev, rev + 1);
}

#[test]
fn the_view_serialises_with_stable_field_names() {
    let mut h = Harness::connected();
    h.line(line(PhoneState::Ring, party("89161234567", "C2")));
    h.invite(7, "89161234567");
    let json = serde_json::to_value(h.view()).expect("serialisable");
    let keys: Vec<&str> = json
        .as_object()
        .expect("an object")
        .keys()
        .map(String::as_str)
        .collect();
    let mut expected = vec![
        "rev",
        "tray",
        "agent",
        "call",
        "held",
        "conference",
        "popup",
        "queue",
        "directory",
        "history",
        "missed_unseen",
        "health",
        "actions",
        "notice",
        "notice_sentence",
    ];
    expected.sort_unstable();
    let mut keys = keys;
    keys.sort_unstable();
    assert_eq!(keys, expected);
    assert_eq!(json["tray"], "ringing");
    assert_eq!(json["call"]["state"], "ringing");
    assert_eq!(json["call"]["direction"], "incoming");
    assert_eq!(json["call"]["party"]["number_display"], "+7 (916) 123-45-67");
    assert_eq!(json["call"]["via_softphone"], true);
    assert_eq!(json["popup"]["id"], json["call"]["id"]);
    assert_eq!(json["health"]["oktell"]["state"], "ok");
    assert_eq!(json["health"]["creatio"]["state"], "ok");
    assert_eq!(json["call"]["audio_warnings"], serde_json::json!([]));
    assert_eq!(json["notice_sentence"], serde_json::Value::Null);
    assert_eq!(
        json["actions"],
        serde_json::json!(["answer", "decline", "set_status", "dismiss_popup", "mark_missed_seen"])
    );
}

#[test]
fn ui_commands_parse_from_the_ui_json() {
    let parse = |text: &str| serde_json::from_str::<UiCommand>(text).expect(text);
    assert_eq!(parse(r#"{"action":"answer"}"#), UiCommand::Answer);
    assert_eq!(
        parse(r#"{"action":"transfer","to":"104"}"#),
        UiCommand::Transfer { to: "104".into() }
    );
    assert_eq!(
        parse(r#"{"action":"set_status","status":"break","reason":2}"#),
        UiCommand::SetStatus(call::StatusChoice::Break { reason: Some(2) })
    );
    assert_eq!(
        parse(r#"{"action":"set_status","status":"ready_call_center"}"#),
        UiCommand::SetStatus(call::StatusChoice::ReadyCallCenter)
    );
    assert!(serde_json::from_str::<UiCommand>(r#"{"action":"explode"}"#).is_err());
    let _ = CallInput::<u32>::Tick;
}
