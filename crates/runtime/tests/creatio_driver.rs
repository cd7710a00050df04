//! The Creatio driver over real HTTP against a scripted server on 127.0.0.1: login, call records created and
//! patched in order, an answer lost after the server acted, a period with the server down, caller lookup, and a
//! driver killed mid-send then restarted on the same outbox file.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "a failure here is a failed test"
)]

mod creatio_support;

use std::path::Path;
use std::time::{Duration, SystemTime};

use creatio::auth::{Credentials, Secret};
use creatio::calls::{self, CallTimeline, CallWrite, Direction};
use creatio::identify::{Identification, IdentifyConfig};
use creatio::outbox::OutboxConfig;
use creatio::site::{PlatformChoice, Site};
use creatio_support::{FakeCreatio, PASSWORD, Person, USER, eventually};
use runtime::creatio::clock::WallClock;
use runtime::creatio::transport::HttpSettings;
use runtime::creatio::{CreatioEvent, CreatioLink, CreatioSettings, OutboxStore};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use uuid::Uuid;

const PATIENCE: Duration = Duration::from_secs(10);

fn timeline(n: u128) -> CallTimeline {
    let started = SystemTime::UNIX_EPOCH + Duration::from_secs(1_795_430_700);
    CallTimeline {
        record_id: Uuid::from_u128(0xC000 + n),
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

fn call_writes(n: u128) -> Vec<CallWrite> {
    let call = timeline(n);
    vec![calls::created(&call), calls::ended(&call).unwrap()]
}

fn settings(server: &FakeCreatio) -> CreatioSettings {
    CreatioSettings {
        site: Site::parse(&server.url()).unwrap(),
        platform: PlatformChoice::Detect,
        credentials: Credentials::Forms {
            user_name: USER.into(),
            password: Secret::new(PASSWORD),
        },
        identify: IdentifyConfig::default(),
        outbox: OutboxConfig {
            first_retry: Duration::from_millis(40),
            max_retry: Duration::from_millis(200),
            seed: 7,
            max_in_flight: 4,
        },
        http: HttpSettings {
            timeout: Duration::from_millis(400),
            ca_file: None,
        },
        clock: WallClock::with_offset(time::UtcOffset::UTC),
    }
}

struct Running {
    link: CreatioLink,
    task: JoinHandle<()>,
    events: mpsc::Receiver<CreatioEvent>,
}

fn start(server: &FakeCreatio, path: &Path) -> Running {
    let store = OutboxStore::open(path).unwrap();
    let (tx, events) = mpsc::channel(256);
    let (link, task) = CreatioLink::spawn(settings(server), store, tx).unwrap();
    Running { link, task, events }
}

impl Running {
    /// Collects events until `count` deliveries were reported.
    async fn deliveries(&mut self, count: usize) -> Vec<Uuid> {
        let mut delivered = Vec::new();
        tokio::time::timeout(PATIENCE, async {
            while delivered.len() < count {
                match self.events.recv().await {
                    Some(CreatioEvent::Delivered { call, .. }) => delivered.push(call),
                    Some(CreatioEvent::Rejected { reason, .. }) => panic!("a write was rejected: {reason}"),
                    Some(_) => {}
                    None => panic!("the driver stopped"),
                }
            }
        })
        .await
        .unwrap_or_else(|_| panic!("only {} of {count} writes delivered", delivered.len()));
        delivered
    }
}

#[tokio::test]
async fn a_call_is_created_then_patched_after_one_login() {
    let server = FakeCreatio::start().await;
    let dir = tempfile::tempdir().unwrap();
    let mut panel = start(&server, &dir.path().join("outbox.sqlite"));

    let records = panel.link.record(call_writes(1)).await.unwrap();
    assert_eq!(records.len(), 2);
    let delivered = panel.deliveries(2).await;
    let id = Uuid::from_u128(0xC001);
    assert_eq!(delivered, vec![id, id]);

    {
        let world = server.world();
        assert_eq!(world.logins, 1);
        assert_eq!(world.posts, vec![id]);
        assert_eq!(world.patches, vec![id]);
        let call = &world.calls[&id];
        assert_eq!(call["CallerId"], "+74951234567");
        assert_eq!(call["Duration"], 65);
        assert_eq!(call["TalkTime"], 60);
    }
    let status = panel.link.status().await.unwrap();
    assert_eq!((status.waiting, status.rejected), (0, 0));
    assert!(status.logged_in);
    assert_eq!(status.summary, "All calls are saved in Creatio");
}

#[tokio::test]
async fn a_lost_created_answer_does_not_create_a_second_record() {
    let server = FakeCreatio::start().await;
    server.world().lose_create_answers = 1;
    let dir = tempfile::tempdir().unwrap();
    let mut panel = start(&server, &dir.path().join("outbox.sqlite"));

    panel.link.record(call_writes(2)).await.unwrap();
    panel.deliveries(2).await;

    let id = Uuid::from_u128(0xC002);
    let world = server.world();
    assert_eq!(
        world.posts,
        vec![id, id],
        "the create was repeated after its answer was lost"
    );
    assert_eq!(world.calls.len(), 1, "yet only one record exists");
    assert_eq!(world.calls[&id]["Duration"], 65, "and the update reached it");
}

#[tokio::test]
async fn writes_wait_while_creatio_is_down_and_go_when_it_is_back() {
    let server = FakeCreatio::start().await;
    let dir = tempfile::tempdir().unwrap();
    let mut panel = start(&server, &dir.path().join("outbox.sqlite"));
    // Log in first, so the outage hits requests of a live session.
    panel.link.record(call_writes(3)).await.unwrap();
    panel.deliveries(2).await;

    server.down().await;
    panel.link.record(call_writes(4)).await.unwrap();
    let summary = tokio::time::timeout(PATIENCE, async {
        loop {
            let summary = panel.link.status().await.unwrap().summary;
            if summary.contains("Creatio unreachable since") {
                return summary;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await
    .expect("the status reports the outage");
    assert!(summary.starts_with("2 records waiting"), "{summary}");
    assert!(summary.contains("UTC"), "{summary}");
    assert!(server.world().calls.len() == 1);

    server.up().await;
    let delivered = panel.deliveries(2).await;
    assert_eq!(delivered, vec![Uuid::from_u128(0xC004); 2]);
    assert_eq!(server.world().calls.len(), 2);
    assert_eq!(panel.link.status().await.unwrap().waiting, 0);
}

#[tokio::test]
async fn a_caller_is_identified_once_then_from_the_cache() {
    let server = FakeCreatio::start().await;
    let ivan = Person {
        id: Uuid::from_u128(0xA1),
        name: "Ivan Petrov".into(),
        number: "+7 (495) 123-45-67".into(),
    };
    server.world().people.push(ivan.clone());
    let dir = tempfile::tempdir().unwrap();
    let panel = start(&server, &dir.path().join("outbox.sqlite"));

    let found = panel.link.identify("8 495 1234567").await.unwrap();
    match &found {
        Identification::One(subscriber) => {
            assert_eq!(subscriber.id, ivan.id);
            assert_eq!(subscriber.name, "Ivan Petrov");
        }
        other => panic!("expected Ivan, got {other:?}"),
    }
    assert_eq!(panel.link.identify("+74951234567").await.unwrap(), found);
    assert_eq!(server.world().lookups, 1, "the second call came from the cache");
    assert_eq!(panel.link.identify("+74959999999").await.unwrap(), Identification::None);
}

#[tokio::test]
async fn a_driver_killed_mid_send_delivers_every_record_exactly_once_after_restart() {
    let server = FakeCreatio::start().await;
    server.world().hold_creates = true;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("outbox.sqlite");

    let first = start(&server, &path);
    for n in 10..13 {
        first.link.record(call_writes(n)).await.unwrap();
    }
    eventually(PATIENCE, "every create reached the server", || {
        server.world().posts.len() == 3
    })
    .await;
    first.task.abort();
    assert!(first.task.await.unwrap_err().is_cancelled());
    drop(first.link);

    server.world().hold_creates = false;
    let mut second = start(&server, &path);
    second.deliveries(6).await;

    {
        let world = server.world();
        let ids: Vec<Uuid> = (10..13).map(|n| Uuid::from_u128(0xC000 + n)).collect();
        assert_eq!(
            world.posts.len(),
            6,
            "each create was repeated once after the restart: {:?}",
            world.posts
        );
        assert_eq!(
            world.calls.keys().copied().collect::<Vec<_>>(),
            ids,
            "yet one record per call, no duplicate"
        );
        for id in &ids {
            assert_eq!(world.calls[id]["Duration"], 65, "{id} got its update");
            assert_eq!(
                world.patches.iter().filter(|p| *p == id).count(),
                1,
                "{id} patched once"
            );
        }
    }
    second.link.shutdown().await;
    second.task.await.unwrap();
    let stored = OutboxStore::open(&path).unwrap().load().unwrap();
    assert!(stored.is_empty(), "the outbox file is empty: {stored:?}");
}

#[tokio::test]
async fn a_refused_password_stops_logins_until_the_operator_gives_a_new_one() {
    let server = FakeCreatio::start().await;
    let dir = tempfile::tempdir().unwrap();
    let store = OutboxStore::open(&dir.path().join("outbox.sqlite")).unwrap();
    let mut wrong = settings(&server);
    wrong.credentials = Credentials::Forms {
        user_name: USER.into(),
        password: Secret::new("wrong"),
    };
    let (tx, events) = mpsc::channel(64);
    let (link, task) = CreatioLink::spawn(wrong, store, tx).unwrap();
    let mut panel = Running { link, task, events };

    panel.link.record(call_writes(20)).await.unwrap();
    let refused = tokio::time::timeout(PATIENCE, async {
        loop {
            if let Some(CreatioEvent::AuthFailed(error)) = panel.events.recv().await {
                return error;
            }
        }
    })
    .await
    .unwrap();
    assert!(
        refused.to_string().contains("Invalid user name or password"),
        "{refused}"
    );
    // Several retry periods pass: none of them may try the refused password again (it could lock the account).
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(server.world().logins, 1);
    let status = panel.link.status().await.unwrap();
    assert_eq!(status.waiting, 2);
    assert!(status.refusal.is_some());
    assert!(status.summary.contains("Creatio login failing"), "{}", status.summary);

    let fixed = Credentials::Forms {
        user_name: USER.into(),
        password: Secret::new(PASSWORD),
    };
    panel.link.set_credentials(fixed).await.unwrap();
    panel.deliveries(2).await;
    assert_eq!(server.world().calls.len(), 1);
    assert!(panel.link.status().await.unwrap().refusal.is_none());
}

#[tokio::test]
async fn a_refused_call_is_kept_exported_and_discarded_on_request() {
    let server = FakeCreatio::start().await;
    server.world().refuse_creates = Some("Column CallerId is too long".into());
    let dir = tempfile::tempdir().unwrap();
    let mut panel = start(&server, &dir.path().join("outbox.sqlite"));

    let records = panel.link.record(call_writes(30)).await.unwrap();
    let mut rejected = Vec::new();
    tokio::time::timeout(PATIENCE, async {
        while rejected.len() < 2 {
            if let Some(CreatioEvent::Rejected { record, reason, .. }) = panel.events.recv().await {
                rejected.push((record, reason));
            }
        }
    })
    .await
    .unwrap();
    assert_eq!(
        rejected.iter().map(|(r, _)| *r).collect::<Vec<_>>(),
        records,
        "the create and its update"
    );
    assert!(
        rejected[0].1.contains("Column CallerId is too long"),
        "{:?}",
        rejected[0]
    );
    assert_eq!(
        server.world().patches.len(),
        0,
        "the update never went out without its record"
    );

    let exported: serde_json::Value = serde_json::from_str(&panel.link.export_rejected().await.unwrap()).unwrap();
    assert_eq!(exported.as_array().unwrap().len(), 2, "{exported:#}");
    let status = panel.link.status().await.unwrap();
    assert_eq!((status.waiting, status.rejected), (0, 2));
    assert_eq!(status.summary, "2 records rejected by Creatio");

    for record in &records {
        assert!(panel.link.discard_rejected(*record).await.unwrap());
    }
    assert!(!panel.link.discard_rejected(records[0]).await.unwrap(), "already gone");
    assert_eq!(panel.link.status().await.unwrap().rejected, 0);
    panel.link.shutdown().await;
    panel.task.await.unwrap();
    let stored = OutboxStore::open(&dir.path().join("outbox.sqlite"))
        .unwrap()
        .load()
        .unwrap();
    assert!(stored.is_empty(), "{stored:?}");
}

#[test]
fn settings_come_from_the_workstation_configuration() {
    use runtime::config::CreatioConfig;
    let mut config = CreatioConfig {
        url: "https://crm.example.com/".into(),
        user: " op1 ".into(),
        ui: Default::default(),
        open_card: Default::default(),
        ca_file: Some("/etc/ssl/office-ca.pem".into()),
    };
    let clock = WallClock::with_offset(time::UtcOffset::UTC);
    let password = runtime::secrets::Secret::new("pw");
    let settings = CreatioSettings::from_config(&config, &password, clock).unwrap();
    assert_eq!(settings.site.origin(), "https://crm.example.com");
    assert_eq!(settings.platform, PlatformChoice::Detect);
    assert_eq!(
        settings.credentials,
        Credentials::Forms {
            user_name: "op1".into(),
            password: Secret::new("pw")
        }
    );
    assert_eq!(
        settings.http.ca_file.as_deref(),
        Some(std::path::Path::new("/etc/ssl/office-ca.pem"))
    );
    config.url = "https://crm.example.com/0/odata".into();
    let error = CreatioSettings::from_config(&config, &password, clock).unwrap_err();
    assert!(error.to_string().contains("without '/odata'"), "{error}");
}

#[tokio::test]
async fn nothing_is_sent_while_the_outbox_file_cannot_be_written() {
    let server = FakeCreatio::start().await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("outbox.sqlite");
    let store = OutboxStore::open(&path).unwrap();
    store.set_lock_wait(Duration::from_millis(20)).unwrap();
    let (tx, events) = mpsc::channel(64);
    let (link, task) = CreatioLink::spawn(settings(&server), store, tx).unwrap();
    let mut panel = Running { link, task, events };

    // Another process (a backup tool, say) holds the write lock.
    let blocker = rusqlite::Connection::open(&path).unwrap();
    blocker.execute_batch("BEGIN IMMEDIATE").unwrap();
    match panel.link.record(call_writes(40)).await {
        Err(runtime::creatio::LinkError::NotSaved { records, reason }) => {
            assert_eq!(records.len(), 2);
            assert!(reason.contains("outbox.sqlite"), "{reason}");
        }
        other => panic!("expected the write to be reported as not saved, got {other:?}"),
    }
    let failed = tokio::time::timeout(PATIENCE, async {
        loop {
            if let Some(CreatioEvent::StoreFailed(reason)) = panel.events.recv().await {
                return reason;
            }
        }
    })
    .await
    .unwrap();
    assert!(failed.contains("outbox.sqlite"), "{failed}");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(server.world().posts.is_empty(), "a write went out that was not on disk");
    let status = panel.link.status().await.unwrap();
    assert!(status.summary.contains("cannot be written"), "{}", status.summary);

    blocker.execute_batch("ROLLBACK").unwrap();
    drop(blocker);
    panel.deliveries(2).await;
    assert_eq!(server.world().posts, vec![Uuid::from_u128(0xC000 + 40)]);
    let status = panel.link.status().await.unwrap();
    assert_eq!(status.summary, "All calls are saved in Creatio");
}
