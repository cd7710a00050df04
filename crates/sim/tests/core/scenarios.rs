//! The transcripts of PROTOCOL.md §6 driven from the server side, plus the other call scenarios
//! of the world's clock (busy, no answer, queue, transfer, conference, directory liveness).

use serde_json::json;
use sim::World;
use sim::control::Command;
use sim::directory::PresenceChange;
use sim::world::Pickup;

use crate::harness::Harness;

const ZERO: &str = "00000000-0000-0000-0000-000000000000";

/// A world whose far ends only act when the test says so.
fn manual_world() -> World {
    let mut world = World::default_world();
    world.timing.operator_pickup_ms = None;
    for subscriber in &mut world.subscribers {
        subscriber.pickup = Pickup::Manual;
    }
    world.timing.unknown_number = Pickup::Manual;
    world
}

fn call_id(h: &mut Harness) -> u64 {
    let state = h.control(Command::State);
    state["calls"].as_array().unwrap().last().unwrap()["id"]
        .as_u64()
        .unwrap()
}

#[test]
fn outgoing_autocall_back_rings_dials_talks_holds_resumes_and_hangs_up() {
    // §6a with the world's clock: the desk phone picks up, the subscriber answers.
    let mut h = Harness::quiet();
    let op1 = h.login("op1", "demo");
    let reply = h.request(
        op1,
        "pbxautocallstart",
        json!({"sequence": "user", "number": "84951234567"}),
    );
    assert_eq!(reply[0], "pbxautocallstartresult");
    assert_eq!(reply[1]["result"], 1);
    let frames = h.frames(op1);
    let names: Vec<_> = frames.iter().map(|f| f[0].as_str().unwrap()).collect();
    assert_eq!(
        names,
        ["phoneevent_acmcallstarted", "userstatechanged", "pbxnumberstatechanged"]
    );
    assert_eq!(frames[0][1]["number"], "84951234567");
    assert_eq!(frames[1][1]["userstateid"], 5);
    assert_eq!(frames[2][1]["numbers"], json!([{"num": "101", "numstateid": 5}]));

    // The immediate reload already shows the back ring.
    let line = h.line(op1);
    assert_eq!(line["abonent"]["isringing"], true);
    assert_eq!(line["abonent"]["direction"], "acm_callback");
    assert_eq!(line["abonent"]["number"], "84951234567");
    assert_ne!(line["chainid"], ZERO);

    h.advance(1_500);
    assert_eq!(h.events(op1), ["phoneevent_ringstopped", "linestatechanged"]);
    let line = h.line(op1);
    assert_eq!(line["abonent"]["isautocall"], true);
    assert!(line["abonent"].get("isringing").is_none());

    h.advance(3_000);
    assert_eq!(h.events(op1), ["phoneevent_commstarted", "phoneevent_acmcallstopped"]);
    let line = h.line(op1);
    assert_eq!(line["linestatestr"], "lsCommutated");
    assert_eq!(line["abonent"]["iscommutated"], true);
    assert_eq!(line["abonent"]["name"], "Алексей Иванов");

    h.advance(2_000);
    assert_eq!(h.line(op1)["timertalklensec"], 2);
    let reply = h.request(op1, "pbxmakeflash", json!({"mode": "switch"}));
    assert_eq!(reply[1]["result"], 1);
    assert_eq!(h.events(op1), ["flashstatechanged", "phoneevent_commstopped"]);
    let line = h.line(op1);
    assert_eq!(line["abonent"], json!({}));
    assert_eq!(line["isflashing"], true);
    assert_eq!(line["flashed"]["number"], "84951234567");

    h.request(op1, "pbxmakeflash", json!({"mode": "switch"}));
    assert_eq!(h.events(op1), ["flashstatechanged", "phoneevent_commstarted"]);
    let line = h.line(op1);
    assert_eq!(line["isflashing"], false);
    assert_eq!(line["flashed"], json!(null));
    assert_eq!(line["abonent"]["iscommutated"], true);

    h.request(op1, "pbxabortcall", json!({}));
    assert_eq!(
        h.events(op1),
        [
            "phoneevent_commstopped",
            "linestatechanged",
            "userstatechanged",
            "pbxnumberstatechanged"
        ]
    );
    let line = h.line(op1);
    assert_eq!(line["linestatestr"], "lsFree");
    assert_eq!(line["abonent"], json!({}));
    assert_eq!(line["chainid"], ZERO);
    assert_eq!(h.request(op1, "getuserstate", json!({}))[1]["userstateid"], 1);
}

#[test]
fn incoming_call_answered_then_consultation_then_both_parties_connected() {
    // §6b.
    let mut h = Harness::new(manual_world());
    let op1 = h.login("op1", "demo");
    let call = h.incoming("89161234567", "101");
    assert_eq!(
        h.events(op1),
        ["userstatechanged", "pbxnumberstatechanged", "phoneevent_ringstarted"]
    );
    let line = h.line(op1);
    assert_eq!(line["abonent"]["isringing"], true);
    assert_eq!(line["abonent"]["direction"], "in");
    assert_eq!(line["abonent"]["isextline"], true);
    assert_eq!(line["abonent"]["name"], "Елена Васильева");
    assert!(call > 0);

    assert_eq!(h.request(op1, "pbxanswercall", json!({}))[1]["result"], 1);
    assert_eq!(h.events(op1), ["phoneevent_ringstopped", "phoneevent_commstarted"]);
    assert_eq!(h.line(op1)["abonent"]["iscommutated"], true);

    let reply = h.request(op1, "pbxautocallstart", json!({"sequence": "user", "number": "102"}));
    assert_eq!(reply[1]["result"], 1);
    assert_eq!(
        h.events(op1),
        [
            "flashstatechanged",
            "phoneevent_commstopped",
            "phoneevent_acmcallstarted"
        ]
    );
    let line = h.line(op1);
    assert_eq!(line["isflashing"], true);
    assert_eq!(line["flashed"]["number"], "89161234567");
    assert_eq!(line["abonent"]["number"], "102");
    assert_eq!(line["abonent"]["isautocall"], true);
    assert_eq!(line["abonent"]["userlogin"], "op2");
    assert_eq!(line["abonent"]["isextline"], false);

    // Colleague 102 answers after the world's answer delay.
    h.advance(3_000);
    assert_eq!(h.events(op1), ["phoneevent_commstarted", "phoneevent_acmcallstopped"]);
    let line = h.line(op1);
    assert_eq!(line["abonent"]["iscommutated"], true);
    assert_eq!(line["isflashing"], true);

    h.request(op1, "pbxabortcall", json!({}));
    assert_eq!(
        h.events(op1),
        [
            "phoneevent_commstopped",
            "flashstatechanged",
            "linestatechanged",
            "userstatechanged",
            "pbxnumberstatechanged"
        ]
    );
    let line = h.line(op1);
    assert_eq!(line["abonent"], json!({}));
    assert_eq!(line["isflashing"], false);
}

#[test]
fn incoming_call_not_answered_is_missed_when_the_caller_hangs_up() {
    // §6c.
    let mut h = Harness::new(manual_world());
    let op1 = h.login("op1", "demo");
    let call = h.incoming("89161234567", "101");
    h.events(op1);
    h.control(Command::HangUp(sim::pbx::CallId(call)));
    assert_eq!(
        h.events(op1),
        [
            "phoneevent_ringstopped",
            "linestatechanged",
            "userstatechanged",
            "pbxnumberstatechanged"
        ]
    );
    assert_eq!(h.line(op1)["abonent"], json!({}));
}

#[test]
fn ringing_caller_gives_up_after_the_ring_timeout() {
    let mut h = Harness::new(manual_world());
    let op1 = h.login("op1", "demo");
    h.incoming("89161234567", "101");
    h.events(op1);
    h.advance(29_000);
    assert!(h.events(op1).is_empty());
    h.advance(1_000);
    assert!(h.events(op1).contains(&"phoneevent_ringstopped".to_owned()));
}

#[test]
fn agent_status_ready_cc_break_with_reason_and_back() {
    // §6d.
    let mut h = Harness::quiet();
    let op1 = h.login("op1", "demo");
    let reply = h.request(
        op1,
        "setuserstate",
        json!({"userstateid": 1, "oncallcenter": true, "onredirect": false}),
    );
    assert_eq!(reply[0], "setuserstateresult");
    assert_eq!(reply[1]["userstateid"], 1);
    assert_eq!(reply[1]["oncallcenter"], true);

    let reply = h.request(
        op1,
        "setuserstate",
        json!({"userstateid": 2, "onredirect": false, "lunchreasonid": 2}),
    );
    assert_eq!(reply[1]["userstateid"], 2);
    assert_eq!(reply[1]["onlunch"], true);
    assert_eq!(reply[1]["lunchreasonid"], 2);
    let frames = h.frames(op1);
    assert_eq!(frames[0][0], "userstatechanged");
    assert_eq!(frames[0][1]["lunchreasonid"], 2);
    assert_eq!(
        frames[1],
        json!(["pbxnumberstatechanged", {"numbers": [{"num": "101", "numstateid": 2}]}])
    );

    let reply = h.request(op1, "setuserstate", json!({"userstateid": 1, "onredirect": false}));
    assert_eq!(reply[1]["userstateid"], 1);
    assert_eq!(reply[1]["onlunch"], false);
    assert_eq!(reply[1]["lunchreasonid"], json!(null));
}

#[test]
fn break_requested_during_a_call_starts_when_the_call_ends() {
    let mut h = Harness::new(manual_world());
    let op1 = h.login("op1", "demo");
    let call = h.incoming("89161234567", "101");
    h.request(op1, "pbxanswercall", json!({}));
    let reply = h.request(op1, "setuserstate", json!({"userstateid": 2, "lunchreasonid": 1}));
    assert_eq!(reply[1]["userstateid"], 5);
    assert_eq!(reply[1]["onlunch"], true);
    h.control(Command::HangUp(sim::pbx::CallId(call)));
    let state = h.request(op1, "getuserstate", json!({}));
    assert_eq!(state[1]["userstateid"], 2);
}

#[test]
fn subscriber_busy_ends_the_autocall() {
    let mut h = Harness::quiet();
    let op1 = h.login("op1", "demo");
    // 89031234455 is configured busy in the default world.
    h.request(
        op1,
        "pbxautocallstart",
        json!({"sequence": "user", "number": "89031234455"}),
    );
    h.request(op1, "pbxanswercall", json!({}));
    h.events(op1);
    h.advance(1_000);
    assert_eq!(
        h.events(op1),
        [
            "phoneevent_acmcallstopped",
            "linestatechanged",
            "userstatechanged",
            "pbxnumberstatechanged"
        ]
    );
    assert_eq!(h.line(op1)["abonent"], json!({}));
}

#[test]
fn subscriber_no_answer_is_abandoned_after_the_timeout() {
    let mut h = Harness::quiet();
    let op1 = h.login("op1", "demo");
    // 83432101010 never answers in the default world.
    h.request(
        op1,
        "pbxautocallstart",
        json!({"sequence": "user", "number": "83432101010"}),
    );
    h.advance(1_500);
    h.events(op1);
    h.advance(29_000);
    assert_eq!(h.line(op1)["abonent"]["isautocall"], true);
    h.advance(1_000);
    assert!(h.events(op1).contains(&"phoneevent_acmcallstopped".to_owned()));
    assert_eq!(h.line(op1)["abonent"], json!({}));
}

#[test]
fn control_answer_and_busy_drive_manual_far_ends() {
    let mut h = Harness::new(manual_world());
    let op1 = h.login("op1", "demo");
    h.request(
        op1,
        "pbxautocallstart",
        json!({"sequence": "user", "number": "84951234567"}),
    );
    let id = sim::pbx::CallId(call_id(&mut h));
    // First answer: the operator's desk phone; second: the subscriber.
    h.control(Command::Answer(id));
    assert_eq!(h.line(op1)["abonent"]["isautocall"], true);
    h.events(op1);
    h.control(Command::Answer(id));
    assert_eq!(h.events(op1), ["phoneevent_commstarted", "phoneevent_acmcallstopped"]);
    assert_eq!(h.line(op1)["abonent"]["iscommutated"], true);
    let error = h.sim.handle_control(Command::Busy(id), h.now).unwrap_err();
    assert_eq!(error.status(), 409);
}

#[test]
fn declining_a_ringing_call_frees_the_line() {
    let mut h = Harness::new(manual_world());
    let op1 = h.login("op1", "demo");
    h.incoming("89161234567", "101");
    h.events(op1);
    assert_eq!(h.request(op1, "pbxdeclinecall", json!({}))[1]["result"], 1);
    assert_eq!(h.line(op1)["abonent"], json!({}));
    assert_eq!(h.request(op1, "pbxdeclinecall", json!({}))[1]["result"], 0);
}

#[test]
fn autocall_abort_while_back_ringing() {
    let mut h = Harness::new(manual_world());
    let op1 = h.login("op1", "demo");
    h.request(
        op1,
        "pbxautocallstart",
        json!({"sequence": "user", "number": "84951234567"}),
    );
    h.events(op1);
    h.request(op1, "pbxautocallabort", json!({}));
    let events = h.events(op1);
    assert!(events.starts_with(&[
        "phoneevent_ringstopped".to_owned(),
        "phoneevent_acmcallstopped".to_owned()
    ]));
    assert_eq!(h.line(op1)["abonent"], json!({}));
}

#[test]
fn second_caller_waits_in_the_queue_and_rings_when_the_line_frees() {
    let mut h = Harness::new(manual_world());
    let op1 = h.login("op1", "demo");
    let first = h.incoming("89161234567", "101");
    h.request(op1, "pbxanswercall", json!({}));
    h.incoming("84957654321", "101");
    let queue = h.request(op1, "getcurrentqueue", json!({}));
    let queue = queue[1]["queue"].as_array().unwrap().clone();
    assert_eq!(queue.len(), 1);
    assert_eq!(queue[0]["number"], "84957654321");
    assert!(queue[0]["chainid"].is_string());
    h.events(op1);

    h.control(Command::HangUp(sim::pbx::CallId(first)));
    h.events(op1);
    h.advance(1_000);
    assert_eq!(
        h.events(op1),
        ["userstatechanged", "pbxnumberstatechanged", "phoneevent_ringstarted"]
    );
    assert_eq!(h.line(op1)["abonent"]["number"], "84957654321");
    assert_eq!(h.request(op1, "getcurrentqueue", json!({}))[1]["queue"], json!([]));
}

#[test]
fn blind_transfer_rings_the_colleague_and_frees_the_operator() {
    let mut h = Harness::new(manual_world());
    let op1 = h.login("op1", "demo");
    let op2 = h.login("op2", "demo");
    h.incoming("89161234567", "101");
    h.request(op1, "pbxanswercall", json!({}));
    h.events(op1);
    h.events(op2);
    let reply = h.request(op1, "pbxmaketransfer", json!({"transferto": "102"}));
    assert_eq!(reply[1]["result"], 1);
    assert_eq!(h.line(op1)["abonent"], json!({}));
    let events = h.events(op2);
    assert!(events.contains(&"phoneevent_ringstarted".to_owned()), "{events:?}");
    let line = h.line(op2);
    assert_eq!(line["abonent"]["number"], "89161234567");
    assert_eq!(line["abonent"]["isringing"], true);
}

#[test]
fn transfer_with_a_hold_hands_over_the_current_party_and_returns_to_the_held_one() {
    let mut h = Harness::new(manual_world());
    let op1 = h.login("op1", "demo");
    h.incoming("89161234567", "101");
    h.request(op1, "pbxanswercall", json!({}));
    h.request(
        op1,
        "pbxautocallstart",
        json!({"sequence": "user", "number": "84951234567"}),
    );
    let id = sim::pbx::CallId(call_id(&mut h));
    h.control(Command::Answer(id));
    h.events(op1);
    h.request(op1, "pbxmaketransfer", json!({"transferto": "89031112233"}));
    assert_eq!(
        h.events(op1),
        ["phoneevent_commstopped", "flashstatechanged", "phoneevent_commstarted"]
    );
    let line = h.line(op1);
    assert_eq!(line["abonent"]["number"], "89161234567");
    assert_eq!(line["isflashing"], false);
}

#[test]
fn flash_toggle_swaps_and_abort_returns_to_the_held_party() {
    let mut h = Harness::new(manual_world());
    let op1 = h.login("op1", "demo");
    h.incoming("89161234567", "101");
    h.request(op1, "pbxanswercall", json!({}));
    h.request(
        op1,
        "pbxautocallstart",
        json!({"sequence": "user", "number": "84951234567"}),
    );
    let id = sim::pbx::CallId(call_id(&mut h));
    h.control(Command::Answer(id));
    h.request(op1, "pbxmakeflash", json!({"mode": "switch"}));
    let line = h.line(op1);
    assert_eq!(line["abonent"]["number"], "89161234567");
    assert_eq!(line["flashed"]["number"], "84951234567");
    h.events(op1);
    h.request(op1, "pbxmakeflash", json!({"mode": "abort"}));
    assert_eq!(
        h.events(op1),
        ["phoneevent_commstopped", "flashstatechanged", "phoneevent_commstarted"]
    );
    let line = h.line(op1);
    assert_eq!(line["abonent"]["number"], "84951234567");
    assert_eq!(line["isflashing"], false);
    assert_eq!(h.request(op1, "pbxmakeflash", json!({"mode": "next"}))[1]["result"], 0);
}

#[test]
fn conference_built_from_a_call_then_the_held_party_joins() {
    let mut h = Harness::new(manual_world());
    let op1 = h.login("op1", "demo");
    h.incoming("89161234567", "101");
    h.request(op1, "pbxanswercall", json!({}));
    h.request(
        op1,
        "pbxautocallstart",
        json!({"sequence": "user", "number": "84951234567"}),
    );
    let id = sim::pbx::CallId(call_id(&mut h));
    h.control(Command::Answer(id));
    h.events(op1);

    h.request(op1, "buildconferencefromcommutation", json!({}));
    let frames = h.frames(op1);
    assert_eq!(frames[0][0], "phoneevent_commstarted");
    assert_eq!(frames[0][1]["isconference"], true);
    let conference = frames[0][1]["confid"].as_str().unwrap().to_owned();
    let line = h.line(op1);
    assert_eq!(line["abonent"]["conferenceid"], conference.as_str());
    assert_eq!(line["abonent"]["isconference"], true);

    let check = h.request(op1, "checkcanconnecttogathertoconference", json!({}));
    assert_eq!(check[1]["canconnecttogather"], true);
    h.request(op1, "connecttogathertoconference", json!({}));
    assert_eq!(h.events(op1), ["flashstatechanged", "confcompositionchanged"]);
    let info = h.request(op1, "getconferenceinfo", json!({"conferenceid": conference}));
    let competitors = info[1]["competitors"].as_array().unwrap();
    assert_eq!(competitors.len(), 3);
    assert_eq!(competitors[0]["iscreator"], true);
    assert_eq!(h.line(op1)["isflashing"], false);

    let kicked = competitors[2]["competitorid"].as_str().unwrap().to_owned();
    h.request(
        op1,
        "confdisconnectcompetitor",
        json!({"conferenceid": conference, "competitor": {"competitorid": kicked}}),
    );
    let frames = h.frames(op1);
    let list = frames[0][1]["eventinfo"]["competitorlist"].as_array().unwrap();
    assert!(list.iter().any(|c| c["confstatestr"] == "Exited"));
    h.request(op1, "exitconference", json!({"conferenceid": conference}));
    assert_eq!(h.line(op1)["abonent"], json!({}));
}

#[test]
fn new_conference_from_idle_with_the_client_generated_id() {
    let mut h = Harness::new(manual_world());
    let op1 = h.login("op1", "demo");
    let id = "5d1c6a2e-7a0f-4b0e-9a53-0c1f6a7d2e11";
    let reply = h.request(
        op1,
        "createnewconference",
        json!({"conference": {"id": id, "room": 4711}, "competitors": [{"userlogin": "op1"}, {"number": "102"}, {"number": "89031112233"}]}),
    );
    assert_eq!(reply[1]["result"], 1);
    let line = h.line(op1);
    assert_eq!(line["abonent"]["conferenceid"], id);
    let info = h.request(op1, "getconferenceinfo", json!({"conferenceid": id}));
    assert_eq!(info[1]["competitors"].as_array().unwrap().len(), 3);
    h.request(
        op1,
        "invitetoconference",
        json!({"conferenceid": id, "competitors": [{"number": "103"}]}),
    );
    let info = h.request(op1, "getconferenceinfo", json!({"conferenceid": id}));
    assert_eq!(info[1]["competitors"].as_array().unwrap().len(), 4);
}

#[test]
fn another_users_state_change_reaches_every_subscriber() {
    let mut h = Harness::quiet();
    let op1 = h.login("op1", "demo");
    let op2 = h.login("op2", "demo");
    h.control(Command::SetUserState {
        login: "op2".into(),
        change: PresenceChange {
            userstateid: Some(2),
            lunchreasonid: Some(1),
            ..PresenceChange::default()
        },
    });
    assert_eq!(
        h.frames(op1),
        [json!(["pbxnumberstatechanged", {"numbers": [{"num": "102", "numstateid": 2}]}])]
    );
    assert_eq!(h.events(op2), ["userstatechanged", "pbxnumberstatechanged"]);
    let numbers = h.request(op1, "getpbxnumbers", json!({"mode": "full"}));
    let n102 = numbers[1]["numbers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["number"] == "102")
        .unwrap()
        .clone();
    assert_eq!(n102["state"], 2);
}

#[test]
fn directory_liveness_changes_colleagues_without_sessions() {
    let mut world = World::default_world();
    world.activity.presence_change_every_ms = Some(1_000);
    let mut h = Harness::new(world);
    let op1 = h.login("op1", "demo");
    h.advance(30_000);
    let frames = h.frames(op1);
    assert!(!frames.is_empty());
    for frame in &frames {
        assert_eq!(frame[0], "pbxnumberstatechanged");
        assert_ne!(frame[1]["numbers"][0]["num"], "101", "a logged-in user is left alone");
    }
}

#[test]
fn background_callers_ring_logged_in_operators() {
    let mut world = World::default_world();
    world.activity.incoming_call_every_ms = Some(5_000);
    world.users.retain(|u| u.login == "op1");
    let mut h = Harness::new(world);
    let op1 = h.login("op1", "demo");
    h.advance(5_000);
    assert!(h.events(op1).contains(&"phoneevent_ringstarted".to_owned()));
    assert_eq!(h.line(op1)["abonent"]["isringing"], true);
}

#[test]
fn colleague_call_rings_the_logged_in_colleague_and_connects_both_lines() {
    let mut h = Harness::new(manual_world());
    let op1 = h.login("op1", "demo");
    let op2 = h.login("op2", "demo");
    h.request(op1, "pbxautocallstart", json!({"sequence": "user", "number": "102"}));
    // op1's number state is public: op2 hears it.
    assert_eq!(h.events(op2), ["pbxnumberstatechanged"]);
    h.request(op1, "pbxanswercall", json!({}));
    h.events(op1);
    assert_eq!(
        h.events(op2),
        ["userstatechanged", "pbxnumberstatechanged", "phoneevent_ringstarted"]
    );
    let line = h.line(op2);
    assert_eq!(line["abonent"]["number"], "101");
    assert_eq!(line["abonent"]["userlogin"], "op1");
    assert_eq!(line["abonent"]["isringing"], true);
    assert_eq!(h.line(op1)["abonent"]["isautocall"], true);

    h.request(op2, "pbxanswercall", json!({}));
    assert_eq!(h.events(op1), ["phoneevent_commstarted", "phoneevent_acmcallstopped"]);
    assert_eq!(h.line(op1)["abonent"]["iscommutated"], true);
    assert_eq!(h.line(op2)["abonent"]["iscommutated"], true);

    h.events(op2);
    h.request(op2, "pbxabortcall", json!({}));
    assert_eq!(
        h.events(op1),
        [
            "pbxnumberstatechanged",
            "phoneevent_commstopped",
            "linestatechanged",
            "userstatechanged",
            "pbxnumberstatechanged"
        ]
    );
    assert_eq!(h.line(op1)["abonent"], json!({}));
    assert_eq!(h.line(op2)["abonent"], json!({}));
}

#[test]
fn colleague_declining_ends_the_autocall() {
    let mut h = Harness::new(manual_world());
    let op1 = h.login("op1", "demo");
    let op2 = h.login("op2", "demo");
    h.request(op1, "pbxautocallstart", json!({"sequence": "user", "number": "102"}));
    h.request(op1, "pbxanswercall", json!({}));
    h.events(op1);
    h.request(op2, "pbxdeclinecall", json!({}));
    // 102 is free again (public), then op1's auto-call ends and op1 is free too.
    assert_eq!(
        h.events(op1),
        [
            "pbxnumberstatechanged",
            "phoneevent_acmcallstopped",
            "linestatechanged",
            "userstatechanged",
            "pbxnumberstatechanged"
        ]
    );
    assert_eq!(h.line(op1)["abonent"], json!({}));
}

#[test]
fn colleague_on_the_phone_reports_busy() {
    let mut h = Harness::new(manual_world());
    let op1 = h.login("op1", "demo");
    let op2 = h.login("op2", "demo");
    h.incoming("89161234567", "102");
    h.request(op2, "pbxanswercall", json!({}));
    h.request(op1, "pbxautocallstart", json!({"sequence": "user", "number": "102"}));
    h.request(op1, "pbxanswercall", json!({}));
    h.events(op1);
    h.advance(1_000);
    assert!(h.events(op1).contains(&"phoneevent_acmcallstopped".to_owned()));
    assert_eq!(h.line(op2)["abonent"]["number"], "89161234567");
}

#[test]
fn commutation_hands_the_colleague_over_to_the_held_caller() {
    let mut h = Harness::new(manual_world());
    let op1 = h.login("op1", "demo");
    let op2 = h.login("op2", "demo");
    h.incoming("89161234567", "101");
    h.request(op1, "pbxanswercall", json!({}));
    h.request(op1, "pbxautocallstart", json!({"sequence": "user", "number": "102"}));
    h.request(op2, "pbxanswercall", json!({}));
    h.events(op2);
    h.request(op1, "pbxabortcall", json!({}));
    assert_eq!(h.line(op1)["abonent"], json!({}));
    assert!(h.events(op2).contains(&"linestatechanged".to_owned()));
    let line = h.line(op2);
    assert_eq!(line["abonent"]["number"], "89161234567");
    assert_eq!(line["abonent"]["iscommutated"], true);
}

#[test]
fn sequence_abonent_dials_first_then_rings_the_operator() {
    let mut h = Harness::quiet();
    let op1 = h.login("op1", "demo");
    h.request(
        op1,
        "pbxautocallstart",
        json!({"sequence": "abonent", "number": "84951234567"}),
    );
    assert_eq!(
        h.events(op1),
        ["phoneevent_acmcallstarted", "userstatechanged", "pbxnumberstatechanged"]
    );
    assert_eq!(h.line(op1)["abonent"]["isautocall"], true);
    h.advance(3_000);
    assert_eq!(h.events(op1), ["phoneevent_ringstarted"]);
    let line = h.line(op1);
    assert_eq!(line["abonent"]["isringing"], true);
    assert_eq!(line["abonent"]["direction"], "acm_callback");
    h.advance(1_500);
    assert_eq!(
        h.events(op1),
        [
            "phoneevent_ringstopped",
            "phoneevent_commstarted",
            "phoneevent_acmcallstopped"
        ]
    );
    assert_eq!(h.line(op1)["abonent"]["iscommutated"], true);
}

#[test]
fn unplugged_phone_shows_a_disconnected_line_and_refuses_calls() {
    let mut h = Harness::quiet();
    let op1 = h.login("op1", "demo");
    h.control(Command::SetUserState {
        login: "op1".into(),
        change: PresenceChange {
            userstateid: Some(7),
            ..PresenceChange::default()
        },
    });
    assert_eq!(h.events(op1), ["userstatechanged", "pbxnumberstatechanged"]);
    assert_eq!(h.line(op1)["linestatestr"], "lsDisconnected");
    let reply = h.request(op1, "pbxautocallstart", json!({"sequence": "user", "number": "102"}));
    assert_eq!(reply[1]["result"], 0);
    h.request(op1, "setuserstate", json!({"userstateid": 1}));
    assert_eq!(h.line(op1)["linestatestr"], "lsFree");
}

#[test]
fn service_number_routes_to_a_free_call_center_operator_then_queues() {
    // 600 is the sales queue: op1 and op2 are its call-centre operators.
    let mut h = Harness::new(manual_world());
    let op1 = h.login("op1", "demo");
    let op2 = h.login("op2", "demo");
    h.incoming("89161234567", "600");
    assert_eq!(h.line(op1)["abonent"]["isringing"], true);
    h.incoming("84957654321", "600");
    assert_eq!(h.line(op2)["abonent"]["isringing"], true);
    h.incoming("84951234567", "600");
    let queued = h.request(op1, "getcurrentqueue", json!({}))[1]["queue"].clone();
    assert_eq!(queued[0]["number"], "84951234567");
    let state = h.control(Command::State);
    let last = state["calls"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["state"], "queued");
    assert_eq!(last["operator"], "op1");
    assert_eq!(state["calls"][0]["pending"], "caller_gives_up");
    let error = h
        .sim
        .handle_control(
            Command::IncomingCall {
                from: "1".into(),
                to: "999".into(),
            },
            h.now,
        )
        .unwrap_err();
    assert_eq!(error.status(), 404);
}

#[test]
fn offline_colleagues_answer_by_their_directory_state() {
    // op4 (104) starts in DND in the default world: busy. op3 (103) is ready: answers.
    let mut h = Harness::quiet();
    let op1 = h.login("op1", "demo");
    h.request(op1, "pbxautocallstart", json!({"sequence": "user", "number": "104"}));
    h.advance(1_500);
    h.events(op1);
    h.advance(1_000);
    assert!(h.events(op1).contains(&"phoneevent_acmcallstopped".to_owned()));
    assert_eq!(h.line(op1)["abonent"], json!({}));

    h.request(op1, "pbxautocallstart", json!({"sequence": "user", "number": "103"}));
    h.advance(4_500);
    let line = h.line(op1);
    assert_eq!(line["abonent"]["iscommutated"], true);
    assert_eq!(line["abonent"]["userlogin"], "op3");
}
