//! The durable outbox against the Creatio stand-in of the simulated world, with the writing process killed.
//!
//! A separate process (this test binary re-run as its ignored `outbox_writer_process` test) owns the outbox file
//! and the real driver, and records the call lifecycle writes of a burst of calls: create on ring, the contact on
//! identification, the timings on hang-up (some calls missed, some never identified). The test SIGKILLs it at
//! seeded random moments (while it records and while it only delivers), restarts it on the same file from the
//! first write it had not confirmed as saved, and at the end reads the stand-in's `Call` table and its journal of
//! applied writes: every call exists exactly once with its final columns, each call's writes arrived in order,
//! and the outbox file is empty.
//!
//! Delivery is at least once by design: a write whose answer was lost to a kill is sent again. A create repeated
//! that way is refused as a duplicate key and confirmed by a GET (no second record); a repeated update writes the
//! same columns again right after itself. The journal check therefore folds adjacent identical writes and bounds
//! their number by what the kills can explain.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "a failure here is a failed test"
)]

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant, SystemTime};

#[path = "creatio_support/standin.rs"]
mod standin;

use creatio::calls::{self, CallTimeline, CallWrite, Direction, Hold};
use creatio::identify::{Identification, Subscriber};
use creatio::wire::CreatioTime;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use runtime::creatio::{CreatioLink, CreatioSettings, OutboxStore};
use serde_json::{Map, Value as Json};
use sim::{RunningSim, World};
use standin::{MAX_IN_FLIGHT, control, start_world};
use tokio::io::{AsyncBufReadExt, BufReader, Lines};
use tokio::process::{Child, ChildStdout, Command};
use tokio::sync::mpsc;
use uuid::Uuid;

/// The operator the writer logs in as (default world).
const USER: &str = "op1";
/// How long any one wait of these tests may take before it counts as a hang.
const PATIENCE: Duration = Duration::from_secs(60);

/// Environment of the writer process.
const ENV_DB: &str = "OUTBOX_KILL_DB";
const ENV_SCRIPT: &str = "OUTBOX_KILL_SCRIPT";
const ENV_CREATIO: &str = "OUTBOX_KILL_CREATIO";
const ENV_FROM: &str = "OUTBOX_KILL_FROM";

fn settings(creatio: &str, seed: u64) -> CreatioSettings {
    standin::settings(creatio, USER, seed)
}

// ---------------------------------------------------------------------------------------------------------------
// The writer process.

/// The app side: records the script's writes from `OUTBOX_KILL_FROM` on, one commit each, reporting every saved
/// write on stdout, then waits until the outbox has delivered everything.
#[test]
#[ignore = "the writer process of the kill tests, which start it themselves"]
fn outbox_writer_process() {
    let db = PathBuf::from(std::env::var(ENV_DB).expect("started by the kill tests: OUTBOX_KILL_DB"));
    let script = PathBuf::from(std::env::var(ENV_SCRIPT).unwrap());
    let creatio = std::env::var(ENV_CREATIO).unwrap();
    let from: usize = std::env::var(ENV_FROM).unwrap().parse().unwrap();
    let writes: Vec<CallWrite> = serde_json::from_slice(&std::fs::read(script).unwrap()).unwrap();
    // `RUST_LOG=creatio=debug,runtime=debug` shows what the writer's driver does, on stderr.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_writer(std::io::stderr)
        .try_init();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async move {
        let store = OutboxStore::open(&db).unwrap();
        let (events, mut heard) = mpsc::channel(256);
        tokio::spawn(async move { while heard.recv().await.is_some() {} });
        let seed = u64::try_from(from).unwrap();
        let (link, _task) = CreatioLink::spawn(settings(&creatio, seed), store, events).unwrap();
        for (index, write) in writes.into_iter().enumerate().skip(from) {
            link.record(vec![write]).await.unwrap();
            report(&format!("saved {index}"));
        }
        report("all saved");
        let mut polls = 0u32;
        loop {
            let status = link.status().await.unwrap();
            if status.waiting == 0 {
                break;
            }
            polls += 1;
            if polls.is_multiple_of(200) {
                eprintln!("writer still waiting: {}", status.summary);
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        report("drained");
        link.shutdown().await;
    });
}

fn report(line: &str) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    writeln!(out, "writer: {line}").unwrap();
    out.flush().unwrap();
}

// ---------------------------------------------------------------------------------------------------------------
// The test side.

/// Looks up world contacts through a short-lived driver, keeping the numbers that identify one subscriber.
async fn subscribers(sim: &RunningSim, dir: &Path, wanted: usize) -> Vec<(String, Subscriber)> {
    let store = OutboxStore::open(&dir.join("lookup.sqlite")).unwrap();
    let (events, _heard) = mpsc::channel(64);
    let (link, task) = CreatioLink::spawn(settings(&sim.endpoints().creatio, 1), store, events).unwrap();
    let mut found = Vec::new();
    for contact in &World::default_world().creatio.contacts {
        let Some(phone) = contact.phones.first() else { continue };
        if let Identification::One(subscriber) = link.identify(&phone.number).await.unwrap() {
            found.push((phone.number.clone(), subscriber));
        }
        if found.len() == wanted {
            break;
        }
    }
    link.shutdown().await;
    task.await.unwrap();
    assert_eq!(
        found.len(),
        wanted,
        "the default world has enough uniquely identified callers"
    );
    found
}

/// One call of the burst and the writes the panel makes for it, in its own order.
struct ScriptedCall {
    record_id: Uuid,
    writes: Vec<(Duration, CallWrite)>,
}

/// A burst of `count` incoming calls ringing 1.5 s apart on the operator's line, overlapping: a fifth are missed,
/// a seventh come from numbers Creatio does not know, some are put on hold. Writes are ordered by when the panel
/// would make them, so calls interleave.
fn burst(count: usize, callers: &[(String, Subscriber)], seed: u64) -> (Vec<ScriptedCall>, Vec<CallWrite>) {
    let mut rng = StdRng::seed_from_u64(seed);
    let epoch = SystemTime::UNIX_EPOCH + Duration::from_secs(1_795_430_700);
    let at = |offset: Duration| CreatioTime::from(epoch + offset);
    let mut scripted = Vec::new();
    for n in 0..count {
        let ring = Duration::from_millis(1500 * n as u64);
        let missed = n % 5 == 3;
        let unknown = n % 7 == 5;
        let answered = (!missed).then(|| ring + Duration::from_millis(rng.random_range(2_000..9_000)));
        let hold = answered
            .filter(|_| n % 4 == 1)
            .map(|a| (a + Duration::from_secs(10), a + Duration::from_secs(25)));
        let end = match answered {
            Some(a) => a + Duration::from_secs(rng.random_range(30..400)),
            None => ring + Duration::from_secs(rng.random_range(5..40)),
        };
        let (number, subscriber) = &callers[n % callers.len()];
        let timeline = CallTimeline {
            record_id: calls::new_record_id(rng.random()),
            integration_id: format!(
                "{}:{}",
                7000 + n,
                number.chars().filter(char::is_ascii_digit).collect::<String>()
            ),
            caption: format!("Incoming call from {number}"),
            direction: Direction::Incoming,
            caller_id: if unknown {
                format!("8916000{n:04}")
            } else {
                number.clone()
            },
            called_id: "101".into(),
            started: at(ring),
            answered: answered.map(at),
            holds: hold
                .map(|(started, resumed)| Hold {
                    started: at(started),
                    resumed: Some(at(resumed)),
                })
                .into_iter()
                .collect(),
            ended: Some(at(end)),
        };
        let mut writes = vec![(ring, calls::created(&timeline))];
        if !unknown {
            writes.push((
                ring + Duration::from_millis(300),
                calls::identified(timeline.record_id, subscriber),
            ));
        }
        writes.push((end, calls::ended(&timeline).unwrap()));
        scripted.push(ScriptedCall {
            record_id: timeline.record_id,
            writes,
        });
    }
    let mut ordered: Vec<(Duration, usize, CallWrite)> = scripted
        .iter()
        .enumerate()
        .flat_map(|(n, call)| call.writes.iter().map(move |(at, write)| (*at, n, write.clone())))
        .collect();
    ordered.sort_by_key(|(at, n, _)| (*at, *n));
    (scripted, ordered.into_iter().map(|(_, _, write)| write).collect())
}

/// The writer process, running.
struct Writer {
    child: Child,
    lines: Lines<BufReader<ChildStdout>>,
}

impl Writer {
    fn start(db: &Path, script: &Path, creatio: &str, from: usize) -> Writer {
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args([
                "outbox_writer_process",
                "--exact",
                "--ignored",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(ENV_DB, db)
            .env(ENV_SCRIPT, script)
            .env(ENV_CREATIO, creatio)
            .env(ENV_FROM, from.to_string())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let lines = BufReader::new(child.stdout.take().unwrap()).lines();
        Writer { child, lines }
    }

    /// The writer's next report (`saved 12`, `all saved`, `drained`); `None` once its output ended.
    async fn next(&mut self) -> Option<String> {
        loop {
            let line = tokio::time::timeout(PATIENCE, self.lines.next_line())
                .await
                .expect("the writer reports within the patience")
                .unwrap()?;
            // libtest's "test outbox_writer_process ... " has no line end, so the first report follows it.
            if let Some((_, report)) = line.split_once("writer: ") {
                return Some(report.to_owned());
            }
        }
    }

    /// SIGKILLs the writer and reads what it reported before it died; `false` if it had ended on its own first
    /// (it exits cleanly only once drained).
    async fn kill(mut self, progress: &mut Progress) -> bool {
        self.child.start_kill().unwrap();
        let killed = !self.child.wait().await.unwrap().success();
        // Reports written before the signal are still in the pipe. Each is one write of a few bytes, which a pipe
        // takes whole (up to PIPE_BUF), so none is cut short.
        while let Ok(Some(line)) = self.lines.next_line().await {
            if let Some((_, report)) = line.split_once("writer: ") {
                progress.take(report);
            }
        }
        killed
    }

    async fn finish(mut self) {
        let status = tokio::time::timeout(PATIENCE, self.child.wait())
            .await
            .unwrap()
            .unwrap();
        assert!(status.success(), "the writer ends cleanly once drained: {status}");
    }
}

/// What a run of the writer saw before it was killed or drained.
#[derive(Debug, Default)]
struct Progress {
    /// The writes confirmed as saved, counted from the start of the script.
    saved: usize,
    all_saved: bool,
    drained: bool,
}

impl Progress {
    fn take(&mut self, report: &str) {
        if let Some(index) = report.strip_prefix("saved ") {
            let index: usize = index.parse().unwrap();
            assert_eq!(index, self.saved, "the writer saves the script in order");
            self.saved = index + 1;
        } else if report == "all saved" {
            self.all_saved = true;
        } else if report == "drained" {
            self.drained = true;
        } else {
            panic!("unexpected writer report {report}");
        }
    }
}

/// Compares a written value with what the stand-in shows: instants by value (the stand-in normalises their text).
fn same_value(written: &Json, shown: &Json) -> bool {
    match (written.as_str(), shown.as_str()) {
        (Some(a), Some(b)) => match (a.parse::<CreatioTime>(), b.parse::<CreatioTime>()) {
            (Ok(a), Ok(b)) => a == b,
            _ => a.eq_ignore_ascii_case(b),
        },
        _ => written == shown,
    }
}

fn body_of(write: &CallWrite) -> (String, Json) {
    let request = write.request();
    let body = serde_json::from_slice(&request.body.unwrap()).unwrap();
    (format!("{:?}", request.method).to_uppercase(), body)
}

/// Checks the stand-in against the script: every call once, final columns, per-call order. Returns how many
/// writes arrived again right after themselves (retransmissions after a lost answer).
async fn check_delivered(sim: &RunningSim, calls: &[ScriptedCall]) -> usize {
    let rows = control(sim, "GET", "/creatio/calls").await;
    let rows = rows.as_array().unwrap();
    assert_eq!(rows.len(), calls.len(), "one Call record per call, no more, no fewer");
    let by_id: HashMap<&str, &Map<String, Json>> = rows
        .iter()
        .map(|row| {
            let row = row.as_object().unwrap();
            (row["Id"].as_str().unwrap(), row)
        })
        .collect();
    let journal = control(sim, "GET", "/creatio/calls/journal").await;
    let mut applied: BTreeMap<Uuid, Vec<(String, Json)>> = BTreeMap::new();
    for entry in journal.as_array().unwrap() {
        let id: Uuid = entry["id"].as_str().unwrap().parse().unwrap();
        let method = entry["method"].as_str().unwrap().to_owned();
        applied.entry(id).or_default().push((method, entry["body"].clone()));
    }
    let mut repeats = 0;
    for call in calls {
        let id = call.record_id.to_string();
        let row = by_id
            .get(id.as_str())
            .unwrap_or_else(|| panic!("call {id} is in Creatio"));
        let expected: Vec<(String, Json)> = call.writes.iter().map(|(_, w)| body_of(w)).collect();
        for (_, body) in &expected {
            for (column, value) in body.as_object().unwrap() {
                assert!(
                    same_value(value, &row[column]),
                    "call {id}: {column} is {} in Creatio, {value} was written",
                    row[column]
                );
            }
        }
        let mut arrived = applied.remove(&call.record_id).unwrap_or_default();
        let before = arrived.len();
        arrived.dedup();
        repeats += before - arrived.len();
        assert_eq!(arrived, expected, "call {id}: its writes arrived once each, in order");
    }
    assert!(applied.is_empty(), "no writes to calls outside the script: {applied:?}");
    repeats
}

fn outbox_is_empty(db: &Path) {
    let store = OutboxStore::open(db).unwrap();
    assert_eq!(store.load().unwrap(), Vec::new(), "nothing remains in the outbox");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkilled_writer_loses_and_duplicates_nothing_in_a_burst_of_200_calls() {
    const CALLS: usize = 200;
    const KILLS_WHILE_SAVING: usize = 5;
    let seed = 0x5EED_0200;
    let started = Instant::now();
    let sim = start_world(11).await;
    let dir = tempfile::tempdir().unwrap();
    let callers = subscribers(&sim, dir.path(), 6).await;
    let (calls, script) = burst(CALLS, &callers, seed);
    let script_file = dir.path().join("script.json");
    std::fs::write(&script_file, serde_json::to_vec(&script).unwrap()).unwrap();
    let db = dir.path().join("outbox.sqlite");
    let creatio = sim.endpoints().creatio.clone();

    let mut rng = StdRng::seed_from_u64(seed);
    let mut progress = Progress::default();
    let mut kills = 0;
    // Kills while the writer records (and delivers), each after a random number of saved writes plus a random
    // few milliseconds; then one while it only delivers; then a last run to the end.
    for round in 0..=KILLS_WHILE_SAVING + 1 {
        eprintln!("run {round}: from write {} of {}", progress.saved, script.len());
        let mut writer = Writer::start(&db, &script_file, &creatio, progress.saved);
        let last_run = round == KILLS_WHILE_SAVING + 1;
        let kill_at = progress.saved + rng.random_range(20..script.len() / KILLS_WHILE_SAVING);
        loop {
            let report = writer.next().await;
            let Some(report) = report else {
                panic!("the writer ended without draining the outbox");
            };
            progress.take(&report);
            if progress.drained {
                break;
            }
            let saving_kill = round < KILLS_WHILE_SAVING && progress.saved >= kill_at;
            let delivering_kill = round == KILLS_WHILE_SAVING && progress.all_saved;
            if !last_run && (saving_kill || delivering_kill) {
                break;
            }
        }
        if progress.drained {
            writer.finish().await;
            break;
        }
        tokio::time::sleep(Duration::from_millis(rng.random_range(0..30))).await;
        if !writer.kill(&mut progress).await {
            progress.drained = true;
            break;
        }
        kills += 1;
    }
    assert!(progress.drained, "the last run delivered everything");
    assert!(kills >= KILLS_WHILE_SAVING, "the writer was killed {kills} times");

    let repeats = check_delivered(&sim, &calls).await;
    // A kill leaves at most the in-flight answers unseen, plus one write saved but not yet reported.
    assert!(
        repeats <= kills * (MAX_IN_FLIGHT + 1),
        "{repeats} writes arrived twice; {kills} kills explain at most {}",
        kills * (MAX_IN_FLIGHT + 1)
    );
    outbox_is_empty(&db);
    eprintln!(
        "{CALLS} calls, {} writes, {kills} kills, {repeats} idempotent repeats, {:?}",
        script.len(),
        started.elapsed()
    );
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_recorded_while_creatio_is_down_arrive_after_a_kill_once_it_is_back() {
    const CALLS: usize = 6;
    let sim = start_world(11).await;
    let dir = tempfile::tempdir().unwrap();
    let callers = subscribers(&sim, dir.path(), 3).await;
    let (calls, script) = burst(CALLS, &callers, 17);
    let script_file = dir.path().join("script.json");
    std::fs::write(&script_file, serde_json::to_vec(&script).unwrap()).unwrap();
    let db = dir.path().join("outbox.sqlite");
    let creatio = sim.endpoints().creatio.clone();

    control(&sim, "POST", "/creatio/down").await;
    // The whole of every call happens while Creatio is down; the app is then killed with all of it waiting.
    let mut writer = Writer::start(&db, &script_file, &creatio, 0);
    let mut progress = Progress::default();
    while !progress.all_saved {
        progress.take(&writer.next().await.expect("the writer saves every write"));
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        writer.kill(&mut progress).await,
        "nothing can drain while Creatio is down"
    );
    let waiting = OutboxStore::open(&db).unwrap().load().unwrap();
    assert_eq!(waiting.len(), script.len(), "every write waits in the outbox file");
    assert_eq!(control(&sim, "GET", "/creatio/calls").await, Json::Array(Vec::new()));

    // Restarted while Creatio is still down, then Creatio comes back.
    let mut writer = Writer::start(&db, &script_file, &creatio, script.len());
    assert_eq!(writer.next().await.as_deref(), Some("all saved"));
    tokio::time::sleep(Duration::from_millis(300)).await;
    control(&sim, "POST", "/creatio/up").await;
    assert_eq!(writer.next().await.as_deref(), Some("drained"));
    writer.finish().await;

    let repeats = check_delivered(&sim, &calls).await;
    assert_eq!(
        repeats, 0,
        "nothing reached Creatio while it was down, so nothing arrives twice"
    );
    outbox_is_empty(&db);
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_made_while_creatio_is_down_waits_visibly_and_arrives_when_it_is_back() {
    let sim = start_world(11).await;
    let dir = tempfile::tempdir().unwrap();
    let callers = subscribers(&sim, dir.path(), 1).await;
    let (calls, script) = burst(1, &callers, 5);
    control(&sim, "POST", "/creatio/down").await;
    let store = OutboxStore::open(&dir.path().join("outbox.sqlite")).unwrap();
    let (events, _heard) = mpsc::channel(64);
    let (link, task) = CreatioLink::spawn(settings(&sim.endpoints().creatio, 3), store, events).unwrap();
    for write in &script {
        link.record(vec![write.clone()]).await.unwrap();
    }
    let deadline = Instant::now() + PATIENCE;
    let status = loop {
        let status = link.status().await.unwrap();
        if status.summary.contains("unreachable") {
            break status;
        }
        assert!(Instant::now() < deadline, "the outage shows: {status:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(status.waiting, script.len());
    assert!(
        status
            .summary
            .starts_with(&format!("{} records waiting; Creatio unreachable since ", script.len())),
        "{}",
        status.summary
    );

    control(&sim, "POST", "/creatio/up").await;
    loop {
        let status = link.status().await.unwrap();
        if status.waiting == 0 {
            assert_eq!(status.summary, "All calls are saved in Creatio");
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the outbox drains once Creatio is back: {status:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(check_delivered(&sim, &calls).await, 0);
    link.shutdown().await;
    task.await.unwrap();
    sim.shutdown().await;
}
