//! The outbox file against a real SQLite database in a temporary folder: what is committed survives a restart,
//! what was never committed is redone exactly once, and a file that is not a healthy outbox is refused untouched.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "a failure here is a failed test"
)]

use std::path::Path;
use std::time::{Duration, Instant, SystemTime};

use creatio::calls::{self, CallTimeline, CallWrite, Direction};
use creatio::http::HttpResponse;
use creatio::outbox::{Change, Outbox, OutboxConfig, Record, RecordId, RecordState};
use runtime::creatio::store::{OutboxStore, StoreError};
use uuid::Uuid;

fn timeline(n: u128) -> CallTimeline {
    let started = SystemTime::UNIX_EPOCH + Duration::from_secs(1_795_430_700);
    CallTimeline {
        record_id: Uuid::from_u128(0x1000 + n),
        integration_id: format!("chain{n}:4951234567"),
        caption: format!("Incoming call {n}"),
        direction: Direction::Incoming,
        caller_id: "+74951234567".into(),
        called_id: "101".into(),
        started: started.into(),
        answered: Some((started + Duration::from_secs(5)).into()),
        holds: Vec::new(),
        ended: Some((started + Duration::from_secs(65)).into()),
    }
}

fn writes(n: u128) -> Vec<CallWrite> {
    let call = timeline(n);
    vec![calls::created(&call), calls::ended(&call).unwrap()]
}

fn config() -> OutboxConfig {
    OutboxConfig {
        first_retry: Duration::from_millis(10),
        max_retry: Duration::from_millis(100),
        ..Default::default()
    }
}

fn commit(store: &mut OutboxStore, outbox: &mut Outbox) {
    store.apply(&outbox.take_changes()).unwrap();
}

fn reopen(path: &Path) -> (OutboxStore, Vec<Record>) {
    let store = OutboxStore::open(path).unwrap();
    let records = store.load().unwrap();
    (store, records)
}

#[test]
fn committed_records_come_back_in_order_after_reopening() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("outbox.sqlite");
    let mut store = OutboxStore::open(&path).unwrap();
    let mut outbox = Outbox::new(config());
    for write in writes(1).into_iter().chain(writes(2)) {
        outbox.enqueue(write);
    }
    commit(&mut store, &mut outbox);
    let before = outbox.snapshot();
    drop(store);

    let (_store, stored) = reopen(&path);
    assert_eq!(stored, before);
    let mut restored = Outbox::restore(config(), stored);
    let now = Instant::now();
    let first = restored.poll_request(now).unwrap();
    let second = restored.poll_request(now).unwrap();
    // One write per call at a time, creates first.
    assert_eq!(first.request.resource, "Call");
    assert_eq!(second.request.resource, "Call");
    assert!(restored.poll_request(now).is_none());
}

#[test]
fn a_crash_between_take_changes_and_commit_loses_nothing_and_sends_once() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("outbox.sqlite");
    let mut store = OutboxStore::open(&path).unwrap();
    let mut outbox = Outbox::new(config());
    for write in writes(1) {
        outbox.enqueue(write);
    }
    commit(&mut store, &mut outbox);
    let now = Instant::now();
    let request = outbox.poll_request(now).unwrap();
    // The crash: the "sending" change was taken but never committed, so the request never left.
    let lost = outbox.take_changes();
    assert!(!lost.is_empty());
    drop((store, outbox, request));

    let (mut store, stored) = reopen(&path);
    assert_eq!(stored.len(), 2, "both writes are still owed");
    assert!(
        stored
            .iter()
            .all(|r| r.state == RecordState::Pending && r.attempts == 0)
    );
    let mut outbox = Outbox::restore(config(), stored);
    commit(&mut store, &mut outbox);
    let create = outbox.poll_request(now).unwrap();
    assert!(outbox.poll_request(now).is_none(), "the update waits for its create");
    commit(&mut store, &mut outbox);
    outbox.handle_response(now, create.id, &HttpResponse::json(201, "{}"));
    commit(&mut store, &mut outbox);
    let update = outbox.poll_request(now).unwrap();
    commit(&mut store, &mut outbox);
    outbox.handle_response(now, update.id, &HttpResponse::new(204));
    commit(&mut store, &mut outbox);
    drop(store);

    let (_store, stored) = reopen(&path);
    assert!(stored.is_empty(), "everything was delivered once: {stored:?}");
}

#[test]
fn a_crash_after_sending_a_create_makes_its_repeat_confirmed() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("outbox.sqlite");
    let mut store = OutboxStore::open(&path).unwrap();
    let mut outbox = Outbox::new(config());
    outbox.enqueue(writes(3).remove(0));
    commit(&mut store, &mut outbox);
    let _sent = outbox.poll_request(Instant::now()).unwrap();
    commit(&mut store, &mut outbox);
    drop((store, outbox));

    let (_store, stored) = reopen(&path);
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].state, RecordState::Sending);
    let restored = Outbox::restore(config(), stored);
    let record = &restored.snapshot()[0];
    assert_eq!(record.state, RecordState::Pending);
    assert!(
        record.maybe_delivered,
        "the POST may have landed: its repeat must be confirmed, not trusted"
    );
}

#[test]
fn a_file_that_is_not_sqlite_is_refused_and_left_as_it_was() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("outbox.sqlite");
    let garbage: Vec<u8> = (0..8192u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    std::fs::write(&path, &garbage).unwrap();
    let error = OutboxStore::open(&path).unwrap_err();
    assert!(matches!(error, StoreError::Corrupt { .. }), "{error:?}");
    let sentence = error.to_string();
    assert!(
        sentence.contains("outbox.sqlite") && sentence.contains("damaged"),
        "{sentence}"
    );
    assert_eq!(std::fs::read(&path).unwrap(), garbage, "the file must not be touched");
}

#[test]
fn a_damaged_record_is_an_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("outbox.sqlite");
    let mut store = OutboxStore::open(&path).unwrap();
    let mut outbox = Outbox::new(config());
    outbox.enqueue(writes(4).remove(0));
    commit(&mut store, &mut outbox);
    drop(store);
    let raw = rusqlite::Connection::open(&path).unwrap();
    raw.execute("UPDATE record SET body = '{\"id\": 1, \"truncated'", [])
        .unwrap();
    drop(raw);

    let store = OutboxStore::open(&path).unwrap();
    let error = store.load().unwrap_err();
    assert!(matches!(error, StoreError::Corrupt { .. }), "{error:?}");
    assert!(error.to_string().contains("record 1"), "{error}");
}

#[test]
fn another_programs_database_is_refused_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("outbox.sqlite");
    let raw = rusqlite::Connection::open(&path).unwrap();
    raw.execute_batch("CREATE TABLE contacts (name TEXT); INSERT INTO contacts VALUES ('kept');")
        .unwrap();
    drop(raw);

    let error = OutboxStore::open(&path).unwrap_err();
    assert!(matches!(error, StoreError::Foreign { .. }), "{error:?}");
    let raw = rusqlite::Connection::open(&path).unwrap();
    let name: String = raw
        .query_row("SELECT name FROM contacts", [], |row| row.get(0))
        .unwrap();
    assert_eq!(name, "kept");
    let tables: i64 = raw
        .query_row("SELECT count(*) FROM sqlite_schema WHERE type = 'table'", [], |row| {
            row.get(0)
        })
        .unwrap();
    assert_eq!(tables, 1, "no outbox table was added");
}

#[test]
fn a_file_from_a_newer_panel_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("outbox.sqlite");
    drop(OutboxStore::open(&path).unwrap());
    let raw = rusqlite::Connection::open(&path).unwrap();
    raw.pragma_update(None, "user_version", 99).unwrap();
    drop(raw);

    match OutboxStore::open(&path) {
        Err(StoreError::Newer { found: 99, .. }) => {}
        other => panic!("expected a newer-schema error, got {other:?}"),
    }
}

#[test]
fn a_new_file_is_a_versioned_wal_outbox() {
    let dir = tempfile::tempdir().unwrap();
    // The data folder does not exist yet on a workstation's first start.
    let path = dir.path().join("oktell-panel").join("outbox.sqlite");
    drop(OutboxStore::open(&path).unwrap());
    let raw = rusqlite::Connection::open(&path).unwrap();
    let mode: String = raw.query_row("PRAGMA journal_mode", [], |row| row.get(0)).unwrap();
    let version: i32 = raw.query_row("PRAGMA user_version", [], |row| row.get(0)).unwrap();
    let application: i32 = raw.query_row("PRAGMA application_id", [], |row| row.get(0)).unwrap();
    assert_eq!(mode, "wal");
    assert_eq!(version, 2);
    assert_ne!(application, 0);
    drop(raw);
    // Opening again neither fails nor migrates twice.
    let (store, records) = reopen(&path);
    assert!(records.is_empty());
    drop(store);
}

#[test]
fn rejected_records_export_as_json_with_their_reason() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("outbox.sqlite");
    let mut store = OutboxStore::open(&path).unwrap();
    let mut outbox = Outbox::new(config());
    for write in writes(5) {
        outbox.enqueue(write);
    }
    outbox.enqueue(writes(6).remove(0));
    commit(&mut store, &mut outbox);
    let now = Instant::now();
    let first = outbox.poll_request(now).unwrap();
    let _other_call = outbox.poll_request(now).unwrap();
    commit(&mut store, &mut outbox);
    let refusal = r#"{"error":{"code":"","message":"Column CallerId is too long"}}"#;
    outbox.handle_response(now, first.id, &HttpResponse::json(400, refusal));
    // A refused create could be a duplicate; the GET finds no record, so the refusal stands.
    let lookup = outbox.poll_request(now).unwrap();
    assert_eq!(lookup.request.method, creatio::http::Method::Get);
    outbox.handle_response(
        now,
        lookup.id,
        &HttpResponse::json(404, r#"{"error":{"message":"not found"}}"#),
    );
    commit(&mut store, &mut outbox);

    let exported: serde_json::Value = serde_json::from_str(&store.export_rejected().unwrap()).unwrap();
    let entries = exported.as_array().unwrap();
    // The create was refused, and its update with it; the other call is not exported.
    assert_eq!(entries.len(), 2, "{exported:#}");
    let call = Uuid::from_u128(0x1005).to_string();
    assert!(entries.iter().all(|e| e["call_id"] == call.as_str()), "{exported:#}");
    assert!(
        entries[0]["reason"]
            .as_str()
            .unwrap()
            .contains("Column CallerId is too long"),
        "{exported:#}"
    );
    assert!(entries[0]["write"]["Create"]["CallerId"].is_string(), "{exported:#}");
}

#[test]
fn a_batch_that_fails_halfway_leaves_nothing_behind() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("outbox.sqlite");
    let mut store = OutboxStore::open(&path).unwrap();
    let mut outbox = Outbox::new(config());
    outbox.enqueue(writes(7).remove(0));
    let mut batch = outbox.take_changes();
    let Change::Upsert(first) = &batch[0] else {
        panic!("an enqueue is an upsert")
    };
    // A record SQLite cannot key: the write fails after the first row went into the transaction.
    let unkeyable = Record {
        id: RecordId(u64::MAX),
        ..(**first).clone()
    };
    batch.push(Change::Upsert(Box::new(unkeyable)));

    let error = store.apply(&batch).unwrap_err();
    assert!(error.to_string().contains("out of range"), "{error}");
    drop(store);
    let (_store, stored) = reopen(&path);
    assert!(
        stored.is_empty(),
        "the first row was rolled back with the batch: {stored:?}"
    );
}

#[test]
fn a_first_version_file_keeps_its_waiting_records_and_gains_the_local_history() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("outbox.sqlite");
    let mut outbox = Outbox::new(config());
    outbox.enqueue(writes(3).remove(0));
    let Change::Upsert(record) = outbox.take_changes().remove(0) else {
        panic!("an enqueue is an upsert")
    };
    // The body as the first version wrote it: no `queued_at`.
    let mut body = serde_json::to_value(&*record).unwrap();
    body.as_object_mut().unwrap().remove("queued_at");
    let raw = rusqlite::Connection::open(&path).unwrap();
    raw.execute_batch(
        "CREATE TABLE record (id INTEGER PRIMARY KEY, call_id TEXT NOT NULL, state TEXT NOT NULL, body TEXT NOT NULL)
         STRICT;
         CREATE INDEX record_by_state ON record (state);
         PRAGMA application_id = 1330335823;
         PRAGMA user_version = 1;",
    )
    .unwrap();
    raw.execute(
        "INSERT INTO record (id, call_id, state, body) VALUES (1, ?1, 'pending', ?2)",
        [record.write.call_id().to_string(), body.to_string()],
    )
    .unwrap();
    drop(raw);

    let (mut store, records) = reopen(&path);
    assert_eq!(records, vec![*record], "the waiting record survives the migration");
    let raw = rusqlite::Connection::open(&path).unwrap();
    let version: i32 = raw.query_row("PRAGMA user_version", [], |row| row.get(0)).unwrap();
    assert_eq!(version, 2);
    drop(raw);
    store.remember_calls(&writes(3), |_| None).unwrap();
    let history = store.recent_calls(10).unwrap();
    assert_eq!(history.len(), 1);
    assert_eq!(history[0].call_id, timeline(3).record_id);
    assert_eq!(history[0].talk_seconds, 60, "the end write was folded in");
}

#[test]
fn the_local_history_keeps_the_newest_calls_newest_first() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = OutboxStore::open(&dir.path().join("outbox.sqlite")).unwrap();
    let epoch = SystemTime::UNIX_EPOCH + Duration::from_secs(1_795_430_700);
    let creates: Vec<CallWrite> = (0..520u64)
        .map(|n| {
            let mut call = timeline(u128::from(n));
            call.started = (epoch + Duration::from_secs(n * 60)).into();
            calls::created(&call)
        })
        .collect();
    store.remember_calls(&creates, |_| None).unwrap();
    let all = store.recent_calls(1000).unwrap();
    assert_eq!(all.len(), 500, "older calls are let go");
    assert_eq!(all[0].call_id, timeline(519).record_id);
    assert_eq!(all[499].call_id, timeline(20).record_id);
    let newest = store.recent_calls(3).unwrap();
    assert_eq!(newest.len(), 3);
    // An update of a call the history let go of, or never saw, adds nothing.
    store.remember_calls(&writes(0)[1..], |_| None).unwrap();
    assert_eq!(store.recent_calls(1000).unwrap().len(), 500);
}
