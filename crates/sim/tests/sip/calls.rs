//! Calls: the PBX model rings the phone, the phone's answers and hang-ups drive the model, and
//! the model's hang-ups reach the phone.

use std::time::Duration;

use serde_json::json;
use sip::invite::EndReason;
use sip::ua::UaEvent;

use crate::oktell_side::Session;
use crate::phone::Phone;
use crate::{control, eventually, line_of, manual_world, start};

/// A caller from the world's subscribers dials op1.
async fn caller_dials_op1(sim: &sim::RunningSim) -> u64 {
    let call = control(sim, "POST", "/calls", r#"{"from":"89161234567","to":"101"}"#, 200).await;
    call["call"].as_u64().unwrap()
}

#[tokio::test]
async fn ringing_operator_rings_the_phone_with_the_callers_identity() {
    let sim = start(manual_world()).await;
    let mut phone = Phone::registered(&sim, "101").await;
    caller_dials_op1(&sim).await;
    let event = phone
        .wait_for("incoming call", |e| matches!(e, UaEvent::IncomingCall { .. }))
        .await;
    let UaEvent::IncomingCall { from, .. } = event else {
        unreachable!()
    };
    assert_eq!(from.uri.user(), Some("89161234567"));
    assert_eq!(from.display.as_deref(), Some("Елена Васильева"));
    assert_eq!(line_of(&sim, "op1").await["linestatestr"], "lsRinging");
    sim.shutdown().await;
}

#[tokio::test]
async fn unregistered_operator_is_rung_only_through_oktell() {
    let sim = start(manual_world()).await;
    let mut phone = Phone::registered(&sim, "102").await;
    caller_dials_op1(&sim).await;
    assert_eq!(line_of(&sim, "op1").await["linestatestr"], "lsRinging");
    assert!(
        phone
            .stays_quiet(Duration::from_millis(300), |e| matches!(
                e,
                UaEvent::IncomingCall { .. }
            ))
            .await,
        "op2's phone rang for op1's call"
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn answering_on_the_phone_answers_in_the_model_and_oktell_says_so() {
    let sim = start(manual_world()).await;
    let mut oktell = Session::open(&sim, "op1", true).await;
    let mut phone = Phone::registered(&sim, "101").await;
    caller_dials_op1(&sim).await;
    oktell.event("phoneevent_ringstarted").await;
    phone.answer_next_call().await;
    oktell.event("phoneevent_commstarted").await;
    assert_eq!(line_of(&sim, "op1").await["linestatestr"], "lsCommutated");
    let sip = control(&sim, "GET", "/sip", "", 200).await;
    assert_eq!(sip["legs"][0]["phase"], "up", "{sip}");
    assert_eq!(sip["legs"][0]["source"], "voice", "{sip}");
    sim.shutdown().await;
}

#[tokio::test]
async fn phone_hanging_up_ends_the_call_in_the_model() {
    let sim = start(manual_world()).await;
    let mut oktell = Session::open(&sim, "op1", true).await;
    let mut phone = Phone::registered(&sim, "101").await;
    caller_dials_op1(&sim).await;
    let (call, _) = phone.answer_next_call().await;
    phone.act(|ua, now| ua.hangup(now, call)).await.unwrap();
    oktell.event("phoneevent_commstopped").await;
    eventually(&sim, "/state", "the call is gone from the model", |s| {
        s["calls"] == json!([])
    })
    .await;
    assert_eq!(line_of(&sim, "op1").await["linestatestr"], "lsFree");
    sim.shutdown().await;
}

#[tokio::test]
async fn caller_hanging_up_sends_bye_to_the_phone() {
    let sim = start(manual_world()).await;
    let mut phone = Phone::registered(&sim, "101").await;
    let id = caller_dials_op1(&sim).await;
    phone.answer_next_call().await;
    control(&sim, "POST", &format!("/calls/{id}/hangup"), "", 200).await;
    let event = phone
        .wait_for("end of call", |e| matches!(e, UaEvent::Ended { .. }))
        .await;
    assert!(
        matches!(
            event,
            UaEvent::Ended {
                reason: EndReason::RemoteHangup,
                ..
            }
        ),
        "{event:?}"
    );
    eventually(&sim, "/sip", "the leg is gone", |s| s["legs"] == json!([])).await;
    sim.shutdown().await;
}

#[tokio::test]
async fn oktell_hang_up_sends_bye_to_the_phone() {
    let sim = start(manual_world()).await;
    let mut oktell = Session::open(&sim, "op1", true).await;
    let mut phone = Phone::registered(&sim, "101").await;
    caller_dials_op1(&sim).await;
    phone.answer_next_call().await;
    let reply = oktell.call("pbxabortcall", json!({"userlogin": "op1"})).await;
    assert_eq!(reply[1]["result"], 1, "{reply}");
    let event = phone
        .wait_for("end of call", |e| matches!(e, UaEvent::Ended { .. }))
        .await;
    assert!(
        matches!(
            event,
            UaEvent::Ended {
                reason: EndReason::RemoteHangup,
                ..
            }
        ),
        "{event:?}"
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn caller_giving_up_cancels_the_ringing_phone() {
    let sim = start(manual_world()).await;
    let mut phone = Phone::registered(&sim, "101").await;
    let id = caller_dials_op1(&sim).await;
    phone
        .wait_for("incoming call", |e| matches!(e, UaEvent::IncomingCall { .. }))
        .await;
    control(&sim, "POST", &format!("/calls/{id}/hangup"), "", 200).await;
    let event = phone
        .wait_for("end of call", |e| matches!(e, UaEvent::Ended { .. }))
        .await;
    assert!(
        matches!(
            event,
            UaEvent::Ended {
                reason: EndReason::CancelledByRemote,
                ..
            }
        ),
        "{event:?}"
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn declining_on_the_phone_declines_in_the_model() {
    let sim = start(manual_world()).await;
    let mut oktell = Session::open(&sim, "op1", true).await;
    let mut phone = Phone::registered(&sim, "101").await;
    caller_dials_op1(&sim).await;
    let UaEvent::IncomingCall { call, .. } = phone
        .wait_for("incoming call", |e| matches!(e, UaEvent::IncomingCall { .. }))
        .await
    else {
        unreachable!()
    };
    phone
        .act(|ua, now| ua.reject(now, call, 486, "Busy Here"))
        .await
        .unwrap();
    oktell.event("phoneevent_ringstopped").await;
    eventually(&sim, "/state", "the declined call is gone", |s| s["calls"] == json!([])).await;
    sim.shutdown().await;
}

#[tokio::test]
async fn phone_dialling_a_number_places_the_operators_call() {
    let sim = start(manual_world()).await;
    let mut phone = Phone::registered(&sim, "101").await;
    phone.dial("89161234567").await;
    let state = eventually(&sim, "/state", "the model dials", |s| {
        s["calls"][0]["state"] == "dialling"
    })
    .await;
    assert_eq!(state["calls"][0]["operator"], "op1");
    assert_eq!(state["calls"][0]["remote"]["number"], "89161234567");
    let id = state["calls"][0]["id"].as_u64().unwrap();
    control(&sim, "POST", &format!("/calls/{id}/answer"), "", 200).await;
    let event = phone
        .wait_for("established", |e| matches!(e, UaEvent::Established { .. }))
        .await;
    assert!(matches!(event, UaEvent::Established { .. }));
    assert_eq!(line_of(&sim, "op1").await["linestatestr"], "lsCommutated");
    sim.shutdown().await;
}

#[tokio::test]
async fn busy_far_end_refuses_the_phones_call() {
    let sim = start(manual_world()).await;
    let mut phone = Phone::registered(&sim, "101").await;
    phone.dial("89161234567").await;
    let state = eventually(&sim, "/state", "the model dials", |s| {
        s["calls"][0]["state"] == "dialling"
    })
    .await;
    let id = state["calls"][0]["id"].as_u64().unwrap();
    control(&sim, "POST", &format!("/calls/{id}/busy"), "", 200).await;
    let event = phone
        .wait_for("end of call", |e| matches!(e, UaEvent::Ended { .. }))
        .await;
    assert!(
        matches!(
            event,
            UaEvent::Ended {
                reason: EndReason::Rejected { status: 486, .. },
                ..
            }
        ),
        "{event:?}"
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn phone_giving_up_on_its_call_stops_the_dialling() {
    let sim = start(manual_world()).await;
    let mut phone = Phone::registered(&sim, "101").await;
    let call = phone.dial("89161234567").await;
    phone
        .wait_for("ringing", |e| matches!(e, UaEvent::Progress { status: 180, .. }))
        .await;
    eventually(&sim, "/state", "the model dials", |s| {
        s["calls"][0]["state"] == "dialling"
    })
    .await;
    phone.act(|ua, now| ua.hangup(now, call)).await.unwrap();
    phone
        .wait_for("end of call", |e| matches!(e, UaEvent::Ended { .. }))
        .await;
    eventually(&sim, "/state", "the dialling stopped", |s| s["calls"] == json!([])).await;
    assert_eq!(line_of(&sim, "op1").await["linestatestr"], "lsFree");
    sim.shutdown().await;
}

#[tokio::test]
async fn second_call_from_a_busy_phone_is_refused_and_the_first_goes_on() {
    let sim = start(manual_world()).await;
    let mut phone = Phone::registered(&sim, "101").await;
    caller_dials_op1(&sim).await;
    let (first, _) = phone.answer_next_call().await;
    let second = phone.dial("84951234567").await;
    let event = phone
        .wait_for(
            "refusal",
            |e| matches!(e, UaEvent::Ended { call, .. } if *call == second),
        )
        .await;
    assert!(
        matches!(
            event,
            UaEvent::Ended {
                reason: EndReason::Rejected { status: 486, .. },
                ..
            }
        ),
        "{event:?}"
    );
    let state = control(&sim, "GET", "/state", "", 200).await;
    assert_eq!(state["calls"].as_array().unwrap().len(), 1, "{state}");
    assert_eq!(state["calls"][0]["state"], "talking", "{state}");
    assert!(phone.ua.calls().any(|c| c == first));
    sim.shutdown().await;
}
