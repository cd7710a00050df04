//! The operator's call history: the OData queries, reading Creatio's answer, folding the panel's own writes into
//! local entries, merging both; and the outbox's status figures the history and the UI show beside it.

// Test helpers outside #[test] functions may panic too: a panic is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::{Duration, Instant};

use creatio::calls::{self, CallTimeline, Direction};
use creatio::history::{self, HistoryEntry, HistoryError, HistoryParty};
use creatio::http::{HttpResponse, TransportError};
use creatio::identify::{Subscriber, SubscriberKind};
use creatio::outbox::{Outbox, OutboxConfig};
use creatio::session::RequestFailure;
use creatio::wire::{CALL_DIRECTION_INCOMING, CALL_DIRECTION_OUTGOING, CreatioTime};
use serde_json::json;
use uuid::Uuid;

fn at(hms: &str) -> CreatioTime {
    format!("2026-11-23T{hms}Z").parse().unwrap()
}

const ME: Uuid = Uuid::from_u128(0xA1);
const ANNA: Uuid = Uuid::from_u128(0xC1);
const ACME: Uuid = Uuid::from_u128(0xAC);

fn timeline(n: u128, direction: Direction, started: &str) -> CallTimeline {
    CallTimeline {
        record_id: Uuid::from_u128(0xCA11_0000 + n),
        integration_id: format!("{n}:4951234567"),
        caption: String::new(),
        direction,
        caller_id: "+74951234567".into(),
        called_id: "101".into(),
        started: at(started),
        answered: None,
        holds: Vec::new(),
        ended: None,
    }
}

fn anna() -> Subscriber {
    Subscriber {
        kind: SubscriberKind::Contact,
        id: ANNA,
        name: "Анна Смирнова".into(),
        account_id: Some(ACME),
        account_name: Some("ООО Ромашка".into()),
        number: "+7 495 123-45-67".into(),
        communication_type: None,
    }
}

#[test]
fn the_user_query_escapes_the_login_and_the_calls_query_asks_for_my_newest_calls() {
    let user = history::user_query("o'brien");
    assert_eq!(
        user.resource,
        "SysAdminUnit?$filter=Name%20eq%20'o''brien'&$select=Id,Name,ContactId&$top=1"
    );
    let calls = history::calls_query(ME, 25);
    assert!(calls.resource.starts_with("Call?"), "{}", calls.resource);
    for part in [
        format!("$filter=CreatedById%20eq%20{ME}"),
        "$expand=Contact,Account".to_owned(),
        "$orderby=StartDate%20desc".to_owned(),
        "$top=25".to_owned(),
    ] {
        assert!(calls.resource.contains(&part), "{part} in {}", calls.resource);
    }
}

#[test]
fn the_users_contact_is_read_and_an_unknown_login_is_an_error() {
    let found = HttpResponse::json(
        200,
        &json!({"value": [{"Id": Uuid::from_u128(9), "Name": "op1", "ContactId": ME}]}).to_string(),
    );
    assert_eq!(history::user_contact("op1", &found), Ok(ME));
    let none = HttpResponse::json(200, r#"{"value":[]}"#);
    assert_eq!(
        history::user_contact("ghost", &none),
        Err(HistoryError::NoSuchUser("ghost".into()))
    );
    let page = HttpResponse::new(200)
        .with_header("Content-Type", "text/html")
        .with_body("<html>login</html>");
    assert!(matches!(
        history::user_contact("op1", &page),
        Err(HistoryError::Rejected { status: 200, .. })
    ));
}

#[test]
fn creatios_calls_become_entries_with_their_party_and_missed_ones_look_missed() {
    let answer = json!({
        "@odata.context": "http://crm/0/odata/$metadata#Call",
        "value": [
            {
                "Id": Uuid::from_u128(1), "CallerId": "+74951234567", "CalledId": "101",
                "DirectionId": CALL_DIRECTION_INCOMING, "StartDate": "2026-11-23T10:42:00.0000000Z",
                "EndDate": "2026-11-23T10:42:20.0000000Z", "TalkTime": 0,
                "ContactId": ANNA, "AccountId": ACME,
                "Contact": {"Id": ANNA, "Name": "Анна Смирнова", "Unknown": 1},
                "Account": {"Id": ACME, "Name": "ООО Ромашка"}
            },
            {
                "Id": Uuid::from_u128(2), "CallerId": "101", "CalledId": "+74957654321",
                "DirectionId": CALL_DIRECTION_OUTGOING, "StartDate": "2026-11-23T10:30:00.0000000Z",
                "EndDate": "0001-01-01T00:00:00Z", "TalkTime": 0,
                "ContactId": "00000000-0000-0000-0000-000000000000", "AccountId": ACME,
                "Contact": null, "Account": {"Id": ACME, "Name": "ООО Ромашка"}
            },
            {
                "Id": Uuid::from_u128(3), "StartDate": "0001-01-01T00:00:00Z"
            }
        ]
    });
    let entries = history::from_creatio(&HttpResponse::json(200, &answer.to_string())).unwrap();
    assert_eq!(entries.len(), 2, "a record without a start is not a call to list");
    let missed = &entries[0];
    assert!(missed.is_missed());
    assert!(missed.in_creatio);
    assert_eq!(missed.call_back_number(), "+74951234567");
    assert_eq!(
        missed.party,
        Some(HistoryParty {
            kind: SubscriberKind::Contact,
            id: ANNA,
            name: "Анна Смирнова".into()
        })
    );
    let outgoing = &entries[1];
    assert_eq!(outgoing.direction, Direction::Outgoing);
    assert!(!outgoing.is_missed(), "outgoing calls are never missed");
    assert_eq!(outgoing.ended, None, "the empty date is no end");
    assert_eq!(outgoing.call_back_number(), "+74957654321");
    assert_eq!(outgoing.party.as_ref().map(|p| p.kind), Some(SubscriberKind::Account));
}

#[test]
fn refusals_and_garbage_are_errors_not_empty_histories() {
    let refused = HttpResponse::json(403, r#"{"error":{"code":"","message":"no rights"}}"#);
    assert_eq!(
        history::from_creatio(&refused),
        Err(HistoryError::Rejected {
            status: 403,
            message: "no rights".into()
        })
    );
    assert!(matches!(
        history::from_creatio(&HttpResponse::json(200, r#"{"value":[{"Id":"not a guid"}]}"#)),
        Err(HistoryError::Malformed(_))
    ));
}

#[test]
fn the_panels_own_writes_fold_into_a_local_entry() {
    let mut call = timeline(1, Direction::Incoming, "10:00:00");
    let names = |id: Uuid| (id == ANNA).then(|| "Анна Смирнова".to_owned());
    let entry = HistoryEntry::apply(None, &calls::created(&call), names).unwrap();
    assert_eq!(entry.call_id, call.record_id);
    assert_eq!(entry.started, at("10:00:00"));
    assert!(!entry.in_creatio);
    assert!(!entry.is_missed(), "a call still ringing is not missed yet");

    let entry = HistoryEntry::apply(Some(entry), &calls::identified(call.record_id, &anna()), names).unwrap();
    assert_eq!(entry.party.as_ref().map(|p| p.name.as_str()), Some("Анна Смирнова"));

    call.ended = Some(at("10:00:30"));
    let entry = HistoryEntry::apply(Some(entry), &calls::ended(&call).unwrap(), names).unwrap();
    assert_eq!(entry.ended, Some(at("10:00:30")));
    assert!(entry.is_missed(), "never answered: missed, as Creatio will show it");

    call.answered = Some(at("10:00:05"));
    let answered = HistoryEntry::apply(Some(entry), &calls::ended(&call).unwrap(), names).unwrap();
    assert_eq!(answered.talk_seconds, 25);
    assert!(!answered.is_missed());

    let unknown_update = calls::identified(Uuid::from_u128(77), &anna());
    assert_eq!(HistoryEntry::apply(None, &unknown_update, names), None);
}

#[test]
fn merging_keeps_creatios_copy_adds_waiting_calls_and_sorts_newest_first() {
    let local_entry = |n: u128, started: &str, in_creatio: bool| {
        let mut entry = HistoryEntry::apply(
            None,
            &calls::created(&timeline(n, Direction::Incoming, started)),
            |_| None,
        )
        .unwrap();
        entry.in_creatio = in_creatio;
        entry
    };
    let mut from_creatio = local_entry(1, "10:00:00", true);
    from_creatio.party = Some(HistoryParty {
        kind: SubscriberKind::Contact,
        id: ANNA,
        name: "Анна Смирнова".into(),
    });
    let creatio = vec![from_creatio.clone(), local_entry(2, "09:00:00", true)];
    let local = vec![
        local_entry(3, "11:00:00", false),
        local_entry(1, "10:00:00", false),
        local_entry(4, "08:00:00", true),
    ];
    let merged = history::merge(creatio.clone(), local.clone(), 10);
    let ids: Vec<u128> = merged.iter().map(|e| e.call_id.as_u128() - 0xCA11_0000).collect();
    assert_eq!(
        ids,
        [3, 1, 2],
        "the waiting call joins; a delivered one is Creatio's to list"
    );
    assert_eq!(merged[1], from_creatio);
    assert_eq!(history::merge(creatio, local, 2).len(), 2);
}

#[test]
fn the_outbox_tells_how_old_its_oldest_waiting_record_is_and_why_it_waits() {
    let now = Instant::now();
    let mut outbox = Outbox::new(OutboxConfig::default());
    let first = timeline(1, Direction::Incoming, "10:00:00");
    let second = timeline(2, Direction::Incoming, "10:05:00");
    outbox.enqueue_at(calls::created(&first), at("10:00:01"));
    outbox.enqueue_at(calls::created(&second), at("10:05:01"));
    assert_eq!(outbox.oldest_queued(), Some(at("10:00:01")));
    assert!(outbox.holds_call(first.record_id));
    assert!(!outbox.holds_call(Uuid::from_u128(5)));
    assert_eq!(outbox.failure(|_| "10:42".into()), None, "nothing failed yet");

    let request = outbox.poll_request(now).unwrap();
    outbox.handle_failure(
        now,
        request.id,
        &RequestFailure::Transport(TransportError::Unreachable("connection refused".into())),
    );
    assert_eq!(
        outbox.failure(|_| "10:42".into()).as_deref(),
        Some("Creatio unreachable since 10:42: connection refused")
    );

    // Creatio is back but refuses the record for now (500): the outage is over, the record's reason remains.
    let later = now + Duration::from_secs(3600);
    let request = outbox.poll_request(later).unwrap();
    outbox.handle_response(
        later,
        request.id,
        &HttpResponse::json(500, r#"{"error":{"message":"deadlock"}}"#),
    );
    let failure = outbox.failure(|_| "10:42".into()).unwrap();
    assert!(failure.contains("HTTP 500: deadlock"), "{failure}");
}
