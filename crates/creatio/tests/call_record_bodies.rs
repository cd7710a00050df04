//! The OData bodies written for answered, missed and outgoing calls.

// Test helpers outside #[test] functions may panic too: a panic is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use creatio::calls::{self, CallTimeline, CallWrite, Direction, Hold, new_record_id, oktell_integration_id};
use creatio::http::Method;
use creatio::identify::{Subscriber, SubscriberKind};
use creatio::wire::CreatioTime;
use serde_json::{Value, json};
use uuid::Uuid;

fn at(hms: &str) -> CreatioTime {
    format!("2026-11-23T{hms}Z").parse().unwrap()
}

fn incoming() -> CallTimeline {
    CallTimeline {
        record_id: new_record_id([7; 16]),
        integration_id: "1187:4951234567".into(),
        caption: "Incoming call from +7 495 123-45-67".into(),
        direction: Direction::Incoming,
        caller_id: "+74951234567".into(),
        called_id: "101".into(),
        started: at("10:42:00.250"),
        answered: None,
        holds: vec![],
        ended: None,
    }
}

fn body(write: &CallWrite) -> (Method, String, Value) {
    let request = write.request();
    let body = serde_json::from_slice(request.body.as_deref().unwrap()).unwrap();
    (request.method, request.resource, body)
}

#[test]
fn record_ids_are_version_4_and_come_from_the_given_bytes() {
    let id = new_record_id([0xAB; 16]);
    assert_eq!(id.get_version_num(), 4);
    assert_eq!(id, new_record_id([0xAB; 16]));
    assert_ne!(id, new_record_id([0xAC; 16]));
}

#[test]
fn create_on_ring_carries_the_client_id_and_direction() {
    let call = incoming();
    let (method, resource, json) = body(&calls::created(&call));
    assert_eq!((method, resource.as_str()), (Method::Post, "Call"));
    assert_eq!(
        json,
        json!({
            "Id": call.record_id.to_string(),
            "Caption": "Incoming call from +7 495 123-45-67",
            "IntegrationId": "1187:4951234567",
            "CallerId": "+74951234567",
            "CalledId": "101",
            "DirectionId": "1d96a65f-2131-4916-8825-2d142b1000b2",
            "StartDate": "2026-11-23T10:42:00.2500000Z"
        })
    );
}

#[test]
fn identification_of_a_contact_brings_its_account() {
    let call = incoming();
    let contact = Subscriber {
        kind: SubscriberKind::Contact,
        id: Uuid::from_u128(1),
        name: "Ivan".into(),
        account_id: Some(Uuid::from_u128(2)),
        account_name: Some("Acme".into()),
        number: "+7 495 123-45-67".into(),
        communication_type: None,
    };
    let (method, resource, json) = body(&calls::identified(call.record_id, &contact));
    assert_eq!(method, Method::Patch);
    assert_eq!(resource, format!("Call({})", call.record_id));
    assert_eq!(
        json,
        json!({"ContactId": Uuid::from_u128(1).to_string(), "AccountId": Uuid::from_u128(2).to_string()}),
        "the company's name is for the screen; the record links the account by id"
    );
    let account = Subscriber {
        kind: SubscriberKind::Account,
        account_id: None,
        account_name: None,
        ..contact
    };
    let (_, _, json) = body(&calls::identified(call.record_id, &account));
    assert_eq!(json, json!({"AccountId": Uuid::from_u128(1).to_string()}));
}

#[test]
fn answered_call_with_two_holds() {
    let call = CallTimeline {
        answered: Some(at("10:42:08")),
        holds: vec![
            Hold {
                started: at("10:43:00"),
                resumed: Some(at("10:43:30")),
            },
            Hold {
                started: at("10:44:00"),
                resumed: None,
            },
        ],
        ended: Some(at("10:44:10.900")),
        ..incoming()
    };
    let (method, _, json) = body(&calls::ended(&call).unwrap());
    assert_eq!(method, Method::Patch);
    assert_eq!(
        json,
        json!({
            "EndDate": "2026-11-23T10:44:10.9000000Z",
            "Duration": 130,
            "BeforeConnectionTime": 7,
            "TalkTime": 82,
            "HoldTime": 40
        })
    );
}

#[test]
fn missed_incoming_call_has_end_date_and_zero_talk_time() {
    let call = CallTimeline {
        ended: Some(at("10:42:25")),
        ..incoming()
    };
    let (_, _, json) = body(&calls::ended(&call).unwrap());
    assert_eq!(
        json,
        json!({
            "EndDate": "2026-11-23T10:42:25.0000000Z",
            "Duration": 24,
            "BeforeConnectionTime": 0,
            "TalkTime": 0,
            "HoldTime": 0
        })
    );
}

#[test]
fn answered_call_shorter_than_a_second_never_looks_missed() {
    let call = CallTimeline {
        answered: Some(at("10:42:05")),
        ended: Some(at("10:42:05.400")),
        ..incoming()
    };
    let (_, _, json) = body(&calls::ended(&call).unwrap());
    assert_eq!(json["TalkTime"], 1);
}

#[test]
fn outgoing_call_and_a_clock_step_backwards() {
    let call = CallTimeline {
        direction: Direction::Outgoing,
        caller_id: "101".into(),
        called_id: "84951234567".into(),
        answered: Some(at("10:41:59")),
        ended: Some(at("10:41:58")),
        ..incoming()
    };
    let (_, _, created) = body(&calls::created(&call));
    assert_eq!(created["DirectionId"], "53f71b5f-7e17-4cf5-bf14-6a59212db422");
    let (_, _, json) = body(&calls::ended(&call).unwrap());
    assert_eq!(json["Duration"], 0);
    assert_eq!(json["BeforeConnectionTime"], 0);
}

#[test]
fn a_call_still_in_progress_has_no_end_update() {
    assert_eq!(calls::ended(&incoming()), Err(calls::TimelineError::NotEnded));
}

#[test]
fn transfer_parties_and_confirmation_query() {
    let call = incoming();
    let write = calls::transferred(call.record_id, "101", "205");
    let (_, _, json) = body(&write);
    assert_eq!(json, json!({"RedirectingId": "101", "RedirectionId": "205"}));
    let confirm = write.confirm_request();
    assert_eq!(confirm.method, Method::Get);
    assert_eq!(confirm.resource, format!("Call({})?$select=Id", call.record_id));
}

#[test]
fn oktell_integration_id_matches_creatios_connector() {
    assert_eq!(oktell_integration_id("8f1c", "+7 (495) 123-45-67"), "8f1c:74951234567");
    assert_eq!(oktell_integration_id("42", "0049 30 1234"), "42:49301234");
    assert_eq!(oktell_integration_id("42", "000"), "42:");
}
