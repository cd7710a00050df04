//! What the outbox and history tests read from the stand-in: the journal of applied `Call` writes (order per
//! record, refused writes absent) and the query that lists a user's recent calls through `SysAdminUnit`.

use serde_json::{Value, json};
use sim::creatio::Control;

use crate::Harness;

const FIRST: &str = "0b7c5d2e-0000-4000-8000-000000000001";
const SECOND: &str = "0b7c5d2e-0000-4000-8000-000000000002";

fn call(h: &mut Harness, id: &str, start: &str) -> u16 {
    let body = json!({"Id": id, "CallerId": "+74951234567", "CalledId": "101", "StartDate": start});
    h.send(h.authed("POST", "/0/odata/Call", Some(body))).status
}

fn patch(h: &mut Harness, id: &str, body: Value) -> u16 {
    h.send(h.authed("PATCH", &format!("/0/odata/Call({id})"), Some(body)))
        .status
}

#[test]
fn the_journal_lists_applied_call_writes_in_order_and_leaves_refused_ones_out() {
    let mut h = Harness::new();
    h.login("op1", "demo");
    assert_eq!(call(&mut h, FIRST, "2026-11-23T10:00:00Z"), 201);
    assert_eq!(call(&mut h, SECOND, "2026-11-23T10:01:00Z"), 201);
    assert_eq!(
        call(&mut h, FIRST, "2026-11-23T10:00:00Z"),
        500,
        "a repeated create is a duplicate key"
    );
    assert_eq!(patch(&mut h, FIRST, json!({"TalkTime": 12})), 204);
    assert_eq!(
        patch(&mut h, "0b7c5d2e-0000-4000-8000-0000000000ff", json!({"TalkTime": 1})),
        404
    );
    assert_eq!(patch(&mut h, FIRST, json!({"Nonsense": 1})), 400);

    let journal = h.crm.handle_control(h.now, Control::CallJournal);
    let entries: Vec<(u64, &str, &str, &Value)> = journal
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["seq"].as_u64().unwrap(),
                e["method"].as_str().unwrap(),
                e["id"].as_str().unwrap(),
                &e["body"],
            )
        })
        .collect();
    assert_eq!(entries.len(), 3, "{journal}");
    assert_eq!((entries[0].0, entries[0].1, entries[0].2), (1, "POST", FIRST));
    assert_eq!((entries[1].0, entries[1].1, entries[1].2), (2, "POST", SECOND));
    assert_eq!((entries[2].0, entries[2].1, entries[2].2), (3, "PATCH", FIRST));
    assert_eq!(entries[2].3, &json!({"TalkTime": 12}), "the body as sent");
    assert_eq!(h.crm.journal().len(), 3);
}

#[test]
fn a_users_recent_calls_are_found_through_its_contact_newest_first() {
    let mut op1 = Harness::new();
    op1.login("op1", "demo");
    let (status, user) =
        op1.get_json("/0/odata/SysAdminUnit?$filter=Name%20eq%20'op1'&$select=Id,Name,ContactId&$top=1");
    assert_eq!(status, 200, "{user}");
    let contact = user["value"][0]["ContactId"].as_str().unwrap().to_owned();
    let (_, me) = op1.get_json(&format!("/0/odata/Contact({contact})"));
    assert_eq!(me["Name"], "Анна Смирнова", "op1's employee contact");

    assert_eq!(call(&mut op1, FIRST, "2026-11-23T10:00:00Z"), 201);
    assert_eq!(call(&mut op1, SECOND, "2026-11-23T11:00:00Z"), 201);
    let mut op2 = Harness {
        crm: op1.crm,
        now: op1.now,
        cookies: Vec::new(),
    };
    op2.login("op2", "demo");
    assert_eq!(
        call(&mut op2, "0b7c5d2e-0000-4000-8000-000000000003", "2026-11-23T12:00:00Z"),
        201
    );

    let query = format!(
        "/0/odata/Call?$filter=CreatedById%20eq%20{contact}&$select=Id,StartDate,ContactId&$expand=Contact,Account\
         &$orderby=StartDate%20desc&$top=10"
    );
    let (status, calls) = op2.get_json(&query);
    assert_eq!(status, 200, "{calls}");
    let ids: Vec<&str> = calls["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["Id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [SECOND, FIRST], "op1's calls only, newest first");
    assert_eq!(calls["value"][0]["Contact"], Value::Null, "no contact identified yet");
}
