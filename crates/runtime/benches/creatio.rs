//! The Creatio driver against the stand-in of the simulated world on loopback:
//!
//! * ring to identified contact: from the moment the panel asks who calls until the contact card's URL has been
//!   built and handed to the shell (what the runtime does to open a card; the browser is the shell's), over a
//!   world of 2,000 extra contacts. Cold: each number asked for the first time (two OData queries); cached: one
//!   of the last hundred numbers asked (no round trip).
//! * outbox throughput: call writes recorded in one go, each state change committed to an SQLite file with
//!   `synchronous=FULL` (fsync per commit) before its request leaves, until Creatio acknowledged them all.
//!
//! Prints markdown rows `| metric | value | goal |` and appends them to the file named by
//! `OKTELL_PANEL_BENCH_ROWS` (the convention of the root `benches/startup.rs`).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::{Duration, Instant, SystemTime};

use creatio::auth::{Credentials, Secret};
use creatio::calls::{self, CallTimeline, CallWrite, Direction};
use creatio::card::{CardPages, CardUrl, Cards, Ui};
use creatio::identify::{Identification, IdentifyConfig};
use creatio::outbox::OutboxConfig;
use creatio::site::{PlatformChoice, Site};
use runtime::creatio::clock::WallClock;
use runtime::creatio::transport::HttpSettings;
use runtime::creatio::{CreatioLink, CreatioSettings, OutboxStore};
use sim::world::{CreatioContact, Phone, PhoneKind};
use sim::{RunningSim, SimOptions, World};
use tokio::sync::mpsc;
use uuid::Uuid;

const CONTACTS: usize = 2_000;
const COLD: usize = 500;
const CACHED: usize = 2_000;
/// How many of the cold numbers the cached rings repeat: fewer than the cache holds.
const RECENT: usize = 100;
const WRITES: usize = 3_000;

fn main() {
    if std::env::args().any(|arg| arg == "--list") {
        println!("creatio: bench");
        return;
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let (cold, cached) = runtime.block_on(ring_to_card());
    let (throughput, elapsed) = runtime.block_on(outbox_throughput());
    let mut rows = Vec::new();
    for (name, samples) in [("cold", &cold), ("cached", &cached)] {
        for p in [50, 95, 99] {
            rows.push((
                format!(
                    "Creatio ring to identified contact + card URL handed to the shell, {name}, p{p} of {} (ms)",
                    samples.len()
                ),
                format!("{:.2}", bench_table::percentile(samples, p)),
                if p == 95 { "< 150" } else { "-" }.to_owned(),
            ));
        }
    }
    rows.push((
        format!(
            "Creatio outbox throughput, {WRITES} call writes, fsync per commit, delivered in {:.2} s (records/s)",
            elapsed.as_secs_f64()
        ),
        format!("{throughput:.0}"),
        "-".to_owned(),
    ));
    bench_table::report(&rows).expect("write the bench table");
}

fn world() -> World {
    let mut world = World::default_world();
    world.creatio.contacts.extend((0..CONTACTS).map(|i| CreatioContact {
        name: format!("Абонент {i}"),
        account: None,
        job_title: String::new(),
        phones: vec![Phone {
            kind: PhoneKind::Mobile,
            number: mobile(i),
        }],
    }));
    world
}

fn mobile(i: usize) -> String {
    format!("+7 (917) {:03}-{:02}-{:02}", i / 10_000, (i / 100) % 100, i % 100)
}

async fn start(world: World) -> RunningSim {
    sim::serve(SimOptions {
        bind: [127, 0, 0, 1].into(),
        oktell_port: 0,
        control_port: 0,
        creatio_port: 0,
        world,
        seed: 5,
    })
    .await
    .unwrap()
}

fn settings(creatio: &str) -> CreatioSettings {
    CreatioSettings {
        site: Site::parse(creatio).unwrap(),
        platform: PlatformChoice::Detect,
        credentials: Credentials::Forms {
            user_name: "op1".into(),
            password: Secret::new("demo"),
        },
        identify: IdentifyConfig::default(),
        outbox: OutboxConfig {
            seed: 9,
            ..OutboxConfig::default()
        },
        http: HttpSettings::default(),
        clock: WallClock::with_offset(time::UtcOffset::UTC),
    }
}

/// One ring as the panel task handles it: identify, build the card URL, hand it to the shell.
async fn one_ring(link: &CreatioLink, cards: &Cards, shell: &mpsc::Sender<CardUrl>, number: &str) {
    let Identification::One(subscriber) = link.identify(number).await.unwrap() else {
        panic!("{number} identifies one contact");
    };
    shell.send(cards.card(subscriber.kind, subscriber.id)).await.unwrap();
}

/// Milliseconds per ring: cold (every number new) and cached (numbers asked before).
async fn ring_to_card() -> (Vec<f64>, Vec<f64>) {
    let sim = start(world()).await;
    let dir = tempfile::tempdir().unwrap();
    let store = OutboxStore::open(&dir.path().join("outbox.sqlite")).unwrap();
    let (events, _heard) = mpsc::channel(64);
    let site = Site::parse(&sim.endpoints().creatio).unwrap();
    let (link, task) = CreatioLink::spawn(settings(&sim.endpoints().creatio), store, events).unwrap();
    let cards = Cards::new(site, Ui::Freedom, CardPages::default(), false).unwrap();
    let (shell, mut opened) = mpsc::channel::<CardUrl>(1);
    let shell_task = tokio::spawn(async move {
        let mut count = 0usize;
        while opened.recv().await.is_some() {
            count += 1;
        }
        count
    });
    // Log in and read the number settings outside the measurement, as a running panel has.
    one_ring(&link, &cards, &shell, &mobile(CONTACTS - 1)).await;
    let mut cold = Vec::with_capacity(COLD);
    for i in 0..COLD {
        let number = mobile(i);
        let start = Instant::now();
        one_ring(&link, &cards, &shell, &number).await;
        cold.push(bench_table::millis(start.elapsed()));
    }
    // The last numbers asked, all still in the lookup cache (256 entries, one minute).
    let mut cached = Vec::with_capacity(CACHED);
    for i in 0..CACHED {
        let number = mobile(COLD - RECENT + i % RECENT);
        let start = Instant::now();
        one_ring(&link, &cards, &shell, &number).await;
        cached.push(bench_table::millis(start.elapsed()));
    }
    drop(shell);
    assert_eq!(shell_task.await.unwrap(), 1 + COLD + CACHED);
    link.shutdown().await;
    task.await.unwrap();
    sim.shutdown().await;
    (cold, cached)
}

/// Records per second from recording `WRITES` writes until Creatio acknowledged the last one.
async fn outbox_throughput() -> (f64, Duration) {
    let sim = start(World::default_world()).await;
    let dir = tempfile::tempdir().unwrap();
    let store = OutboxStore::open(&dir.path().join("outbox.sqlite")).unwrap();
    let (events, mut heard) = mpsc::channel(WRITES + 64);
    let (link, task) = CreatioLink::spawn(settings(&sim.endpoints().creatio), store, events).unwrap();
    let writes = call_writes(WRITES);
    // Log in first, so the figure is the outbox's and not the login's.
    link.identify(&mobile(0)).await.unwrap();
    let start = Instant::now();
    link.record(writes).await.unwrap();
    let mut delivered = 0;
    while delivered < WRITES {
        match heard.recv().await.unwrap() {
            runtime::creatio::CreatioEvent::Delivered { .. } => delivered += 1,
            runtime::creatio::CreatioEvent::Rejected { reason, .. } => panic!("a write was rejected: {reason}"),
            _ => {}
        }
    }
    let elapsed = start.elapsed();
    assert_eq!(link.status().await.unwrap().waiting, 0);
    link.shutdown().await;
    task.await.unwrap();
    sim.shutdown().await;
    (WRITES as f64 / elapsed.as_secs_f64(), elapsed)
}

/// `count` writes: the create and the end of `count / 2` calls, interleaved as calls overlap.
fn call_writes(count: usize) -> Vec<CallWrite> {
    let epoch = SystemTime::UNIX_EPOCH + Duration::from_secs(1_795_430_700);
    let timelines: Vec<CallTimeline> = (0..count / 2)
        .map(|n| {
            let started = epoch + Duration::from_secs(n as u64);
            CallTimeline {
                record_id: Uuid::from_u128(0xBE4C_0000 + n as u128),
                integration_id: format!("{n}:79170000000"),
                caption: format!("Incoming call {n}"),
                direction: Direction::Incoming,
                caller_id: "+79170000000".into(),
                called_id: "101".into(),
                started: started.into(),
                answered: Some((started + Duration::from_secs(3)).into()),
                holds: Vec::new(),
                ended: Some((started + Duration::from_secs(60)).into()),
            }
        })
        .collect();
    let mut writes = Vec::with_capacity(count);
    for (n, call) in timelines.iter().enumerate() {
        writes.push(calls::created(call));
        if n >= 2 {
            writes.push(calls::ended(&timelines[n - 2]).unwrap());
        }
    }
    for call in timelines.iter().skip(timelines.len().saturating_sub(2)) {
        writes.push(calls::ended(call).unwrap());
    }
    writes
}
