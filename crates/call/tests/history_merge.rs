//! The history joins the panel's own calls with the list Creatio keeps for the operator: each call once, the
//! panel's view of a call it saw winning, Creatio's missed rule for the rest, and a sentence when the list is
//! only the outbox's local copy. The backlog line says why call records wait.

#![allow(clippy::expect_used, reason = "a failure here is a failed test")]

mod support;

use std::time::{Duration, SystemTime};

use call::history::{Outcome, Source};
use call::view::CallDirection;
use call::{CallInput, CreatioEffect, CreatioInput, Effect, OutboxSummary};
use creatio::calls::{CallWrite, Direction};
use creatio::history::{HistoryEntry, HistoryParty};
use creatio::identify::SubscriberKind;
use creatio::wire::CreatioTime;
use oktell::line::PhoneState;
use support::*;
use uuid::Uuid;

fn at(secs_after_start: u64) -> CreatioTime {
    CreatioTime::from(SystemTime::UNIX_EPOCH + Duration::from_secs(WALL_START_SECS + secs_after_start))
}

fn ms(secs_after_start: u64) -> u64 {
    (WALL_START_SECS + secs_after_start) * 1000
}

fn creatio_call(id: u128, direction: Direction, started: u64, talk: i64) -> HistoryEntry {
    HistoryEntry {
        call_id: Uuid::from_u128(id),
        direction,
        caller_id: "89035550101".into(),
        called_id: "89167770202".into(),
        started: at(started),
        ended: Some(at(started + 60)),
        talk_seconds: talk,
        party: None,
        in_creatio: true,
    }
}

fn created_record(fx: &Fx) -> Option<Uuid> {
    fx.iter().find_map(|e| match e {
        Effect::Creatio(CreatioEffect::Write(CallWrite::Create(new))) => Some(new.id),
        _ => None,
    })
}

/// An Oktell-only call from 89161234567 that rings for a second and is missed; its `Call.Id`.
fn missed_call(h: &mut Harness) -> Uuid {
    let mut fx = h.line(line(PhoneState::Ring, party("89161234567", "C4")));
    h.advance(1000);
    fx.extend(h.line(idle()));
    created_record(&fx).expect("the call is recorded in Creatio")
}

fn history(h: &mut Harness, entries: Vec<HistoryEntry>, offline: Option<&str>) {
    h.handle(CallInput::Creatio(CreatioInput::History {
        entries,
        offline: offline.map(str::to_owned),
    }));
}

#[test]
fn a_call_the_panel_saw_is_listed_once_as_the_panel_saw_it() {
    let mut h = Harness::connected();
    let record = missed_call(&mut h);
    let mut same = creatio_call(0, Direction::Incoming, 0, 42);
    same.call_id = record;
    same.in_creatio = false;
    history(&mut h, vec![same], None);

    let view = h.view();
    assert_eq!(view.history.len(), 1, "one entry per call: {:?}", view.history);
    let entry = &view.history[0];
    assert_eq!(entry.record, record);
    assert_eq!(entry.source, Source::Panel);
    assert_eq!(entry.outcome, Outcome::Missed, "the panel knows it was missed");
    assert!(entry.id.is_some());
    assert!(entry.unseen);
    assert_eq!(view.health.creatio.history_offline, None);
}

#[test]
fn creatio_calls_join_the_list_newest_first_with_creatio_missed_rule() {
    let mut h = Harness::connected();
    h.advance(600_000);
    let record = missed_call(&mut h);
    let mut missed = creatio_call(1, Direction::Incoming, 60, 0);
    missed.party = Some(HistoryParty {
        kind: SubscriberKind::Contact,
        id: Uuid::from_u128(77),
        name: "Ivan Petrov".into(),
    });
    let answered_out = creatio_call(2, Direction::Outgoing, 3600, 95);
    let not_connected = creatio_call(3, Direction::Outgoing, 30, 0);
    let mut still_going = creatio_call(4, Direction::Incoming, 3700, 0);
    still_going.ended = None;
    history(&mut h, vec![still_going, answered_out, missed, not_connected], None);

    let view = h.view();
    let listed: Vec<(Uuid, Source, Outcome)> = view.history.iter().map(|e| (e.record, e.source, e.outcome)).collect();
    assert_eq!(
        listed,
        vec![
            (Uuid::from_u128(2), Source::Creatio, Outcome::Answered),
            (record, Source::Panel, Outcome::Missed),
            (Uuid::from_u128(1), Source::Creatio, Outcome::Missed),
            (Uuid::from_u128(3), Source::Creatio, Outcome::NotConnected),
        ],
        "a call without an end is not history yet"
    );

    let out = &view.history[0];
    assert_eq!(out.direction, CallDirection::Outgoing);
    assert_eq!(
        out.party.number.as_deref(),
        Some("89167770202"),
        "call back dials whom we called"
    );
    assert_eq!(out.talk_secs, 95);
    assert_eq!(out.started_unix_ms, ms(3600));
    assert!(out.id.is_none());

    let missed = &view.history[2];
    assert_eq!(
        missed.party.number.as_deref(),
        Some("89035550101"),
        "call back dials who called"
    );
    assert_eq!(missed.party.display, "Ivan Petrov");
    assert_eq!(missed.party.contact.as_ref().map(|c| c.kind), Some("contact"));
    assert!(!missed.unseen, "the panel never announced it");
    assert_eq!(view.missed_unseen, 1, "only the panel's own missed call counts");
}

#[test]
fn a_fresh_list_replaces_the_previous_one_and_says_when_it_is_offline() {
    let mut h = Harness::connected();
    history(&mut h, vec![creatio_call(1, Direction::Incoming, 0, 10)], None);
    assert_eq!(h.view().history.len(), 1);

    history(
        &mut h,
        vec![creatio_call(2, Direction::Outgoing, 10, 5)],
        Some("Creatio is unreachable: connection refused"),
    );
    let view = h.view();
    let records: Vec<Uuid> = view.history.iter().map(|e| e.record).collect();
    assert_eq!(records, vec![Uuid::from_u128(2)]);
    assert_eq!(
        view.health.creatio.history_offline.as_deref(),
        Some("Creatio is unreachable: connection refused")
    );
    let json = to_json(view);
    assert_eq!(json["history"][0]["source"], "creatio");
    assert_eq!(json["history"][0]["id"], serde_json::Value::Null);
}

#[test]
fn the_backlog_line_says_why_records_wait() {
    let mut h = Harness::connected();
    h.handle(CallInput::Creatio(CreatioInput::Outbox(OutboxSummary {
        waiting: 3,
        rejected: 1,
        outage: None,
    })));
    h.handle(CallInput::Creatio(CreatioInput::WaitReason(Some(
        "Creatio unreachable since 10:42: connection refused".into(),
    ))));
    let creatio = &h.view().health.creatio;
    assert_eq!(creatio.state, "behind");
    assert_eq!(
        creatio.wait_reason.as_deref(),
        Some("Creatio unreachable since 10:42: connection refused")
    );
    assert_eq!(
        creatio.message.as_deref(),
        Some(
            "3 call records are waiting to be saved in Creatio — Creatio unreachable since 10:42: connection \
             refused. 1 call record was refused by Creatio."
        )
    );

    h.handle(CallInput::Creatio(CreatioInput::Outbox(OutboxSummary {
        waiting: 0,
        rejected: 1,
        outage: None,
    })));
    let creatio = &h.view().health.creatio;
    assert_eq!(creatio.wait_reason, None, "nothing waits, so nothing to explain");
    assert_eq!(
        creatio.message.as_deref(),
        Some("1 call record was refused by Creatio.")
    );
}
