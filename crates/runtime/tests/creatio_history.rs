//! The panel's call history and outbox status through the driver, against the Creatio stand-in of the simulated
//! world on 127.0.0.1: the operator's own calls from Creatio with names, newest first; the local list (with the
//! calls still waiting) while Creatio is down; how long records have waited and why; refused records listed,
//! exported and discarded.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "a failure here is a failed test"
)]

#[path = "creatio_support/standin.rs"]
mod standin;

use std::time::{Duration, Instant, SystemTime};

use creatio::calls::{self, CallTimeline, CallWrite, Direction};
use creatio::history::HistoryEntry;
use creatio::identify::{Identification, Subscriber};
use runtime::creatio::{CreatioLink, CreatioStatus, OutboxStore};
use sim::{RunningSim, World};
use standin::{control, settings, start_world};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use uuid::Uuid;

const PATIENCE: Duration = Duration::from_secs(20);

struct Panel {
    link: CreatioLink,
    task: JoinHandle<()>,
    _dir: tempfile::TempDir,
}

impl Panel {
    fn start(sim: &RunningSim, user: &str) -> Panel {
        let dir = tempfile::tempdir().unwrap();
        let store = OutboxStore::open(&dir.path().join("outbox.sqlite")).unwrap();
        let (events, _heard) = mpsc::channel(256);
        let (link, task) = CreatioLink::spawn(settings(&sim.endpoints().creatio, user, 21), store, events).unwrap();
        Panel { link, task, _dir: dir }
    }

    async fn record(&self, writes: Vec<CallWrite>) {
        self.link.record(writes).await.unwrap();
    }

    async fn status_until(&self, what: &str, done: impl Fn(&CreatioStatus) -> bool) -> CreatioStatus {
        let deadline = Instant::now() + PATIENCE;
        loop {
            let status = self.link.status().await.unwrap();
            if done(&status) {
                return status;
            }
            assert!(Instant::now() < deadline, "timed out waiting until {what}: {status:?}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    async fn stop(self) {
        self.link.shutdown().await;
        self.task.await.unwrap();
    }
}

/// A world contact whose number identifies exactly one subscriber.
async fn caller(panel: &Panel) -> (String, Subscriber) {
    for contact in &World::default_world().creatio.contacts {
        let Some(phone) = contact.phones.first() else { continue };
        if let Identification::One(subscriber) = panel.link.identify(&phone.number).await.unwrap() {
            return (phone.number.clone(), subscriber);
        }
    }
    panic!("the default world has a uniquely identified caller");
}

fn timeline(n: u128, direction: Direction, number: &str, minute: u64, talk: Option<u64>) -> CallTimeline {
    let started = SystemTime::UNIX_EPOCH + Duration::from_secs(1_795_430_400 + minute * 60);
    let (caller_id, called_id) = match direction {
        Direction::Outgoing => ("101".to_owned(), number.to_owned()),
        _ => (number.to_owned(), "101".to_owned()),
    };
    CallTimeline {
        record_id: Uuid::from_u128(0x415_0000 + n),
        integration_id: format!("{n}:{number}"),
        caption: format!("Call {n}"),
        direction,
        caller_id,
        called_id,
        started: started.into(),
        answered: talk.map(|_| (started + Duration::from_secs(4)).into()),
        holds: Vec::new(),
        ended: Some((started + Duration::from_secs(4 + talk.unwrap_or(10))).into()),
    }
}

fn whole_call(call: &CallTimeline, subscriber: Option<&Subscriber>) -> Vec<CallWrite> {
    let mut writes = vec![calls::created(call)];
    writes.extend(subscriber.map(|s| calls::identified(call.record_id, s)));
    writes.push(calls::ended(call).unwrap());
    writes
}

fn ids(entries: &[HistoryEntry]) -> Vec<u128> {
    entries.iter().map(|e| e.call_id.as_u128() - 0x415_0000).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn history_lists_the_operators_own_calls_from_creatio_and_the_local_ones_while_it_is_down() {
    let sim = start_world(31).await;
    let op1 = Panel::start(&sim, "op1");
    let op2 = Panel::start(&sim, "op2");
    let (number, anna) = caller(&op1).await;
    let answered = timeline(1, Direction::Incoming, &number, 0, Some(95));
    let missed = timeline(2, Direction::Incoming, &number, 5, None);
    let outgoing = timeline(3, Direction::Outgoing, "+74957770000", 9, Some(30));
    op1.record(whole_call(&answered, Some(&anna))).await;
    op1.record(whole_call(&missed, Some(&anna))).await;
    op1.record(whole_call(&outgoing, None)).await;
    op2.record(whole_call(
        &timeline(4, Direction::Incoming, &number, 7, Some(5)),
        Some(&anna),
    ))
    .await;
    op1.status_until("op1's calls are in Creatio", |s| s.waiting == 0).await;
    op2.status_until("op2's call is in Creatio", |s| s.waiting == 0).await;

    let history = op1.link.history(10).await.unwrap();
    assert_eq!(history.offline, None, "read from Creatio");
    assert_eq!(ids(&history.entries), [3, 2, 1], "op1's calls only, newest first");
    let [latest, middle, first] = &history.entries[..] else {
        panic!("three entries")
    };
    assert!(history.entries.iter().all(|e| e.in_creatio));
    assert_eq!(latest.direction, Direction::Outgoing);
    assert_eq!(latest.call_back_number(), "+74957770000");
    assert_eq!(latest.party, None);
    assert!(middle.is_missed(), "never answered: missed, as in Creatio");
    assert!(!first.is_missed());
    assert_eq!(first.talk_seconds, 95);
    assert_eq!(
        first.party.as_ref().map(|p| (p.id, p.name.as_str())),
        Some((anna.id, anna.name.as_str()))
    );
    assert_eq!(
        ids(&op1.link.history(2).await.unwrap().entries),
        [3, 2],
        "at most the limit"
    );

    // Creatio goes down; a call happens meanwhile.
    control(&sim, "POST", "/creatio/down").await;
    let during = timeline(5, Direction::Incoming, &number, 20, None);
    op1.record(vec![
        calls::created(&during),
        calls::identified(during.record_id, &anna),
    ])
    .await;
    let history = op1.link.history(10).await.unwrap();
    let reason = history.offline.expect("the local list, and why");
    assert!(!reason.is_empty());
    assert_eq!(
        ids(&history.entries),
        [5, 3, 2, 1],
        "the local history, the waiting call first"
    );
    let waiting = &history.entries[0];
    assert!(!waiting.in_creatio, "still in the outbox");
    assert_eq!(waiting.ended, None, "not over yet");
    assert_eq!(
        waiting.party.as_ref().map(|p| p.name.as_str()),
        Some(anna.name.as_str())
    );
    assert!(
        history.entries[1..].iter().all(|e| e.in_creatio),
        "delivered before the outage"
    );
    assert!(history.entries[2].is_missed());

    let status = op1.status_until("the outage shows", |s| s.last_failure.is_some()).await;
    let failure = status.last_failure.clone().unwrap();
    assert!(failure.starts_with("Creatio unreachable since "), "{failure}");
    assert!(failure.contains(" UTC"), "a wall-clock time: {failure}");
    assert_eq!(status.waiting, 2);
    assert!(status.oldest_waiting.is_some_and(|age| age < PATIENCE), "{status:?}");

    control(&sim, "POST", "/creatio/up").await;
    op1.status_until("the waiting call is in Creatio", |s| s.waiting == 0)
        .await;
    let history = op1.link.history(10).await.unwrap();
    assert_eq!(history.offline, None);
    assert_eq!(ids(&history.entries), [5, 3, 2, 1]);
    assert!(history.entries.iter().all(|e| e.in_creatio));
    let status = op1.link.status().await.unwrap();
    assert_eq!((status.oldest_waiting, status.last_failure), (None, None));

    op1.stop().await;
    op2.stop().await;
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_record_is_kept_listed_exportable_and_only_then_discarded() {
    let sim = start_world(32).await;
    let panel = Panel::start(&sim, "op1");
    let never_created = Uuid::from_u128(0xDEAD);
    let update = CallWrite::Update {
        id: never_created,
        patch: creatio::wire::CallPatch {
            talk_time: Some(12),
            ..Default::default()
        },
    };
    panel.record(vec![update.clone()]).await;
    let status = panel.status_until("Creatio refused it", |s| s.rejected == 1).await;
    assert_eq!(status.waiting, 0);
    assert!(
        status.summary.contains("1 record rejected by Creatio"),
        "{}",
        status.summary
    );

    let rejected = panel.link.rejected().await.unwrap();
    assert_eq!(rejected.len(), 1);
    assert_eq!(rejected[0].call_id, never_created.to_string());
    assert!(rejected[0].reason.contains("HTTP 404"), "{}", rejected[0].reason);
    assert_eq!(rejected[0].write, update);

    let exported: serde_json::Value = serde_json::from_str(&panel.link.export_rejected().await.unwrap()).unwrap();
    assert_eq!(exported.as_array().map(Vec::len), Some(1));
    assert_eq!(exported[0]["call_id"], never_created.to_string());
    assert_eq!(exported[0]["write"]["Update"]["patch"]["TalkTime"], 12);

    let record = creatio::outbox::RecordId(rejected[0].record);
    assert!(panel.link.discard_rejected(record).await.unwrap());
    assert!(panel.link.rejected().await.unwrap().is_empty());
    assert_eq!(panel.link.status().await.unwrap().rejected, 0);
    panel.stop().await;
    sim.shutdown().await;
}
