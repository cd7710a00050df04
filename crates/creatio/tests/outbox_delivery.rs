//! The outbox, driven through the session against a flaky Creatio stand-in on a virtual clock:
//! outages, lost answers, permanent refusals, crashes mid-send.

// Test helpers outside #[test] functions may panic too: a panic is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use creatio::auth::{Credentials, Secret};
use creatio::calls::{self, CallTimeline, CallWrite, Direction};
use creatio::http::{HttpRequest, HttpResponse, Method, TransportError};
use creatio::identify::{Subscriber, SubscriberKind};
use creatio::outbox::{
    Change, OutageKind, Outbox, OutboxConfig, OutboxEvent, Record, RecordId, RecordState, RequestId,
};
use creatio::session::{Session, SessionEvent};
use creatio::site::{Platform, PlatformChoice, Site};
use creatio::wire::CreatioTime;
use serde_json::Value;
use uuid::Uuid;

const ORIGIN: &str = "https://crm.example.com";
const ODATA: &str = "https://crm.example.com/0/odata/";

/// What the stand-in does with the next requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Up,
    /// Connection refused: nothing reaches the server.
    Down,
    /// The server processes the request but the answer is lost.
    LoseAnswers,
}

/// A small Creatio: login, `Call` POST/PATCH/GET with the documented status codes, session
/// expiry on demand, scripted refusals.
struct FakeCreatio {
    mode: Mode,
    calls: BTreeMap<Uuid, Value>,
    /// (method, call id) of every request that reached the server, in order.
    log: Vec<(Method, Uuid)>,
    logins: u32,
    session: u32,
    expire_next: bool,
    /// Status to answer instead, per call id and method, once.
    refuse: HashMap<(Method, Uuid), (u16, &'static str)>,
}

impl FakeCreatio {
    fn new() -> Self {
        FakeCreatio {
            mode: Mode::Up,
            calls: BTreeMap::new(),
            log: Vec::new(),
            logins: 0,
            session: 0,
            expire_next: false,
            refuse: HashMap::new(),
        }
    }

    fn serve(&mut self, request: &HttpRequest) -> HttpResponse {
        if request.url.ends_with("/ServiceModel/AuthService.svc/Login") {
            self.logins += 1;
            self.session += 1;
            let s = self.session;
            return HttpResponse::json(
                200,
                r#"{"Code":0,"Message":"","Exception":null,"PasswordChangeUrl":null,"RedirectUrl":null}"#,
            )
            .with_header("Set-Cookie", &format!(".ASPXAUTH=a{s}; path=/; HttpOnly"))
            .with_header("Set-Cookie", &format!("BPMCSRF=c{s}; path=/"));
        }
        let csrf = format!("c{}", self.session);
        if self.expire_next || request.header("BPMCSRF") != Some(csrf.as_str()) {
            self.expire_next = false;
            return HttpResponse::new(401);
        }
        let resource = request.url.strip_prefix(ODATA).expect("an OData URL");
        let id = resource
            .strip_prefix("Call(")
            .and_then(|r| r.split(')').next())
            .map(|id| Uuid::parse_str(id).unwrap());
        let body: Option<Value> = request.body.as_deref().map(|b| serde_json::from_slice(b).unwrap());
        let id = id.unwrap_or_else(|| {
            let body = body.as_ref().expect("a POST body");
            Uuid::parse_str(body["Id"].as_str().unwrap()).unwrap()
        });
        self.log.push((request.method, id));
        if let Some((status, message)) = self.refuse.remove(&(request.method, id)) {
            return error(status, message);
        }
        match request.method {
            Method::Post => {
                if self.calls.contains_key(&id) {
                    return error(500, "Violation of PRIMARY KEY constraint 'PKCall'");
                }
                let body = body.unwrap();
                self.calls.insert(id, body.clone());
                HttpResponse::json(201, &body.to_string())
            }
            Method::Patch => match self.calls.get_mut(&id) {
                Some(row) => {
                    for (k, v) in body.unwrap().as_object().unwrap() {
                        row[k] = v.clone();
                    }
                    HttpResponse::new(204)
                }
                None => error(404, "Call not found"),
            },
            Method::Get => match self.calls.get(&id) {
                Some(_) => HttpResponse::json(200, &format!(r#"{{"Id":"{id}"}}"#)),
                None => error(404, "Call not found"),
            },
            Method::Delete => error(405, "not allowed"),
        }
    }

    fn methods_for(&self, call: Uuid) -> Vec<Method> {
        self.log.iter().filter(|(_, id)| *id == call).map(|(m, _)| *m).collect()
    }
}

fn error(status: u16, message: &str) -> HttpResponse {
    HttpResponse::json(status, &format!(r#"{{"error":{{"code":"","message":"{message}"}}}}"#))
}

/// The runtime's loop in miniature: outbox -> store -> session -> Creatio and back.
struct World {
    now: Instant,
    start: Instant,
    outbox: Outbox,
    session: Session<RequestId>,
    creatio: FakeCreatio,
    /// The durable store, mirrored from the outbox's changes before anything is sent.
    store: BTreeMap<RecordId, Record>,
    events: Vec<OutboxEvent>,
    /// When set, the world crashes right after the next request reaches Creatio.
    crash_after_send: bool,
    crashed: bool,
    /// Requests that found Creatio down.
    refused_connections: u32,
}

fn config() -> OutboxConfig {
    OutboxConfig {
        seed: 42,
        ..OutboxConfig::default()
    }
}

fn new_session() -> Session<RequestId> {
    Session::new(
        Site::parse(ORIGIN).unwrap(),
        PlatformChoice::Known(Platform::NetFramework),
        Credentials::Forms {
            user_name: "operator".into(),
            password: Secret::new("pw"),
        },
    )
}

impl World {
    fn new() -> Self {
        let now = Instant::now();
        World {
            now,
            start: now,
            outbox: Outbox::new(config()),
            session: new_session(),
            creatio: FakeCreatio::new(),
            store: BTreeMap::new(),
            events: Vec::new(),
            crash_after_send: false,
            crashed: false,
            refused_connections: 0,
        }
    }

    fn persist(&mut self) {
        for change in self.outbox.take_changes() {
            match change {
                Change::Upsert(record) => {
                    self.store.insert(record.id, *record);
                }
                Change::Remove(id) => {
                    self.store.remove(&id);
                }
            }
        }
    }

    fn enqueue(&mut self, write: CallWrite) {
        self.outbox.enqueue(write);
        self.persist();
    }

    /// Runs until nothing more happens at the current instant.
    fn settle(&mut self) {
        loop {
            let mut progressed = false;
            while let Some(out) = self.outbox.poll_request(self.now) {
                self.persist();
                self.session.submit(self.now, out.id, out.request);
                progressed = true;
            }
            while let Some(request) = self.session.poll_transmit() {
                progressed = true;
                match self.creatio.mode {
                    Mode::Down => {
                        self.refused_connections += 1;
                        self.session.handle_transport_error(
                            self.now,
                            request.id,
                            TransportError::Unreachable("connection refused".into()),
                        );
                    }
                    Mode::LoseAnswers if !request.url.contains("AuthService") => {
                        self.creatio.serve(&request);
                        self.session
                            .handle_transport_error(self.now, request.id, TransportError::Timeout);
                    }
                    Mode::Up | Mode::LoseAnswers => {
                        let response = self.creatio.serve(&request);
                        if self.crash_after_send && !request.url.contains("AuthService") {
                            self.crashed = true;
                            return;
                        }
                        self.session.handle_response(self.now, request.id, response);
                    }
                }
            }
            while let Some(event) = self.session.poll_event() {
                progressed = true;
                match event {
                    SessionEvent::Response { tag, response } => {
                        self.outbox.handle_response(self.now, tag, &response);
                    }
                    SessionEvent::Failed { tag, error } => {
                        self.outbox.handle_failure(self.now, tag, &error);
                    }
                    SessionEvent::LoggedIn { .. } | SessionEvent::AuthFailed(_) => {}
                }
                self.persist();
            }
            while let Some(event) = self.outbox.poll_event() {
                self.events.push(event);
            }
            if !progressed {
                return;
            }
        }
    }

    /// Advances the virtual clock from deadline to deadline for `span`.
    fn run_for(&mut self, span: Duration) {
        let end = self.now + span;
        loop {
            self.settle();
            if self.crashed {
                return;
            }
            match self.outbox.poll_timeout() {
                Some(at) if at <= end => self.now = self.now.max(at),
                _ => {
                    self.now = end;
                    self.settle();
                    return;
                }
            }
        }
    }

    /// Simulates a crash and restart: only the store survives, through JSON.
    fn restart(&mut self) {
        let saved = serde_json::to_string(&self.store.values().collect::<Vec<_>>()).unwrap();
        let records: Vec<Record> = serde_json::from_str(&saved).unwrap();
        self.outbox = Outbox::restore(config(), records);
        self.persist();
        self.session = new_session();
        self.crash_after_send = false;
        self.crashed = false;
    }
}

fn at(secs: u64) -> CreatioTime {
    let base: CreatioTime = "2026-11-23T10:42:00Z".parse().unwrap();
    (std::time::SystemTime::from(base) + Duration::from_secs(secs)).into()
}

fn timeline(n: u8) -> CallTimeline {
    CallTimeline {
        record_id: calls::new_record_id([n; 16]),
        integration_id: format!("{n}:4951234567"),
        caption: "Incoming call".into(),
        direction: Direction::Incoming,
        caller_id: "+74951234567".into(),
        called_id: "101".into(),
        started: at(0),
        answered: Some(at(5)),
        holds: vec![],
        ended: Some(at(65)),
    }
}

fn contact() -> Subscriber {
    Subscriber {
        kind: SubscriberKind::Contact,
        id: Uuid::from_u128(77),
        name: "Ivan".into(),
        account_id: None,
        account_name: None,
        number: "+7 495 123-45-67".into(),
        communication_type: None,
    }
}

/// Create, identify, end: the three writes of one call.
fn whole_call(world: &mut World, n: u8) -> Uuid {
    let call = timeline(n);
    world.enqueue(calls::created(&call));
    world.enqueue(calls::identified(call.record_id, &contact()));
    world.enqueue(calls::ended(&call).unwrap());
    call.record_id
}

#[test]
fn creatio_down_for_a_whole_call_then_back_delivers_everything_once_in_order() {
    let mut world = World::new();
    world.creatio.mode = Mode::Down;
    let a = whole_call(&mut world, 1);
    let b = whole_call(&mut world, 2);
    world.run_for(Duration::from_secs(600));

    assert!(world.creatio.log.is_empty());
    assert_eq!(world.store.len(), 6, "all six writes are stored while Creatio is down");
    let status = world.outbox.status();
    assert_eq!(status.waiting, 6);
    let outage = status.outage.clone().unwrap();
    assert_eq!(outage.kind, OutageKind::Unreachable);
    assert_eq!(outage.since, world.start);
    assert_eq!(
        status.describe(|_| "10:42".into()),
        "6 records waiting; Creatio unreachable since 10:42: connection refused"
    );
    // Capped exponential backoff, one probe at a time: a handful in ten minutes, not hundreds.
    assert!(
        (6..=12).contains(&world.refused_connections),
        "{} connection attempts",
        world.refused_connections
    );

    world.creatio.mode = Mode::Up;
    world.run_for(Duration::from_secs(600));
    assert!(world.store.is_empty(), "{:?}", world.store);
    for call in [a, b] {
        assert_eq!(
            world.creatio.methods_for(call),
            [Method::Post, Method::Patch, Method::Patch],
            "once each, create first"
        );
        let row = &world.creatio.calls[&call];
        assert_eq!(row["ContactId"], Uuid::from_u128(77).to_string());
        assert_eq!(row["TalkTime"], 60);
    }
    assert_eq!(world.outbox.status().outage, None);
    assert_eq!(
        world.outbox.status().describe(|_| unreachable!()),
        "All calls are saved in Creatio"
    );
}

#[test]
fn backoff_while_down_is_capped_exponential_and_seeded() {
    let probe_times = |seed: u64| {
        let mut world = World::new();
        world.outbox = Outbox::new(OutboxConfig { seed, ..config() });
        world.creatio.mode = Mode::Down;
        world.enqueue(calls::created(&timeline(1)));
        let mut times = Vec::new();
        for _ in 0..12 {
            world.settle();
            times.push(world.now - world.start);
            world.now = world.outbox.poll_timeout().unwrap();
        }
        times
    };
    let times = probe_times(42);
    let gaps: Vec<Duration> = times.windows(2).map(|w| w[1] - w[0]).collect();
    for pair in gaps.windows(2).take(6) {
        assert!(pair[1] > pair[0], "gaps grow: {gaps:?}");
    }
    let cap = OutboxConfig::default().max_retry;
    assert!(gaps.iter().all(|g| *g <= cap), "{gaps:?}");
    assert!(gaps.last().unwrap() >= &(cap * 3 / 4));
    assert_eq!(times, probe_times(42), "same seed, same schedule");
    assert_ne!(times, probe_times(7), "another seed, another schedule");
}

#[test]
fn lost_201_is_confirmed_by_get_and_never_duplicated() {
    let mut world = World::new();
    let call = timeline(3);
    world.enqueue(calls::created(&call));
    world.creatio.mode = Mode::LoseAnswers;
    world.settle();
    assert_eq!(world.creatio.calls.len(), 1, "the POST did land");
    assert!(world.store.values().next().unwrap().maybe_delivered);

    world.creatio.mode = Mode::Up;
    world.enqueue(calls::ended(&call).unwrap());
    world.run_for(Duration::from_secs(600));
    assert_eq!(
        world.creatio.methods_for(call.record_id),
        [Method::Post, Method::Post, Method::Get, Method::Patch]
    );
    assert_eq!(world.creatio.calls.len(), 1);
    assert!(world.store.is_empty());
    assert!(world.events.iter().all(|e| matches!(e, OutboxEvent::Delivered { .. })));
}

#[test]
fn refused_repeat_that_did_not_land_is_judged_by_its_own_status() {
    let mut world = World::new();
    world.enqueue(calls::created(&timeline(40)));
    world.settle();
    assert!(world.session.is_logged_in());
    let call = timeline(4);
    world.creatio.mode = Mode::Down;
    world.enqueue(calls::created(&call));
    world.settle();
    assert!(world.store.values().next().unwrap().maybe_delivered);
    world.creatio.mode = Mode::Up;
    world
        .creatio
        .refuse
        .insert((Method::Post, call.record_id), (400, "Invalid value for CallerId"));
    world.run_for(Duration::from_secs(600));
    // Refused connection on the POST -> maybe delivered; the 400 is checked with a GET first.
    assert_eq!(world.creatio.methods_for(call.record_id), [Method::Post, Method::Get]);
    let record = world.store.values().next().unwrap();
    assert_eq!(
        record.state,
        RecordState::Rejected {
            reason: "HTTP 400: Invalid value for CallerId".into()
        }
    );
}

#[test]
fn permanent_400_is_rejected_kept_and_visible() {
    let mut world = World::new();
    let call = timeline(5);
    world.creatio.refuse.insert(
        (Method::Patch, call.record_id),
        (400, "Column ContactId: invalid lookup"),
    );
    let id = whole_call(&mut world, 5);
    world.run_for(Duration::from_secs(60));
    // The identification update is refused; the end update still lands.
    assert_eq!(
        world.creatio.methods_for(id),
        [Method::Post, Method::Patch, Method::Patch]
    );
    assert_eq!(world.creatio.calls[&id]["TalkTime"], 60);
    let kept: Vec<&Record> = world.store.values().collect();
    assert_eq!(kept.len(), 1);
    assert!(matches!(&kept[0].state, RecordState::Rejected { reason } if reason.contains("invalid lookup")));
    assert_eq!(world.outbox.snapshot(), kept.into_iter().cloned().collect::<Vec<_>>());
    let status = world.outbox.status();
    assert_eq!((status.waiting, status.rejected), (0, 1));
    assert_eq!(status.describe(|_| String::new()), "1 record rejected by Creatio");

    // Discarding is explicit and only for rejected records.
    let rejected = world.store.keys().next().copied().unwrap();
    assert!(world.outbox.discard_rejected(rejected));
    world.persist();
    assert!(world.store.is_empty());
}

#[test]
fn rejected_create_holds_back_its_updates_but_not_other_calls() {
    let mut world = World::new();
    let bad = timeline(6);
    world
        .creatio
        .refuse
        .insert((Method::Post, bad.record_id), (400, "Invalid value for StartDate"));
    whole_call(&mut world, 6);
    let good = whole_call(&mut world, 7);
    world.run_for(Duration::from_secs(60));
    // The refusal could have been a duplicate: the GET shows the record does not exist, so it is refused for good.
    assert_eq!(world.creatio.methods_for(bad.record_id), [Method::Post, Method::Get]);
    assert_eq!(world.creatio.methods_for(good).len(), 3);
    assert_eq!(world.store.len(), 3, "the create and both updates are kept");
    assert!(
        world
            .store
            .values()
            .all(|r| matches!(r.state, RecordState::Rejected { .. }))
    );
    // A late write for the same call is kept too, not sent.
    world.enqueue(calls::transferred(bad.record_id, "101", "205"));
    world.run_for(Duration::from_secs(60));
    assert_eq!(world.creatio.methods_for(bad.record_id), [Method::Post, Method::Get]);
    assert_eq!(world.outbox.status().rejected, 4);
}

#[test]
fn an_update_never_overtakes_its_create() {
    let mut world = World::new();
    let call = timeline(8);
    world
        .creatio
        .refuse
        .insert((Method::Post, call.record_id), (503, "Service Unavailable"));
    whole_call(&mut world, 8);
    world.settle();
    assert_eq!(world.creatio.methods_for(call.record_id), [Method::Post]);
    assert_eq!(world.outbox.status().outage.unwrap().kind, OutageKind::Unavailable);
    world.run_for(Duration::from_secs(600));
    assert_eq!(
        world.creatio.methods_for(call.record_id),
        [Method::Post, Method::Post, Method::Patch, Method::Patch]
    );
}

#[test]
fn server_error_on_one_call_does_not_hold_up_another() {
    let mut world = World::new();
    let slow = timeline(9);
    world
        .creatio
        .refuse
        .insert((Method::Post, slow.record_id), (500, "Deadlock"));
    world.enqueue(calls::created(&slow));
    let fast = timeline(10);
    world.enqueue(calls::created(&fast));
    world.settle();
    assert_eq!(world.creatio.methods_for(fast.record_id), [Method::Post]);
    assert_eq!(world.store.len(), 1);
    world.run_for(Duration::from_secs(60));
    assert_eq!(
        world.creatio.methods_for(slow.record_id),
        [Method::Post, Method::Get, Method::Post]
    );
    assert!(world.store.is_empty());
}

#[test]
fn session_expiry_is_repaired_by_the_session_not_counted_by_the_outbox() {
    let mut world = World::new();
    let call = timeline(11);
    world.enqueue(calls::created(&call));
    world.settle();
    world.creatio.expire_next = true;
    world.enqueue(calls::ended(&call).unwrap());
    world.settle();
    assert_eq!(world.creatio.logins, 2);
    assert!(world.store.is_empty());
    assert_eq!(world.outbox.status().outage, None);
    assert_eq!(world.creatio.calls[&call.record_id]["Duration"], 65);
}

#[test]
fn restart_after_the_post_landed_but_before_its_answer() {
    let mut world = World::new();
    let id = whole_call(&mut world, 12);
    world.crash_after_send = true;
    world.settle();
    assert!(world.crashed);
    assert_eq!(world.creatio.calls.len(), 1, "the POST reached Creatio");
    let stored = world.store.values().next().unwrap();
    assert_eq!(stored.state, RecordState::Sending, "persisted before it was sent");

    world.restart();
    world.run_for(Duration::from_secs(60));
    assert_eq!(
        world.creatio.methods_for(id),
        [Method::Post, Method::Post, Method::Get, Method::Patch, Method::Patch]
    );
    assert_eq!(world.creatio.calls.len(), 1, "no duplicate");
    assert!(world.store.is_empty(), "nothing lost, nothing left");
}

#[test]
fn restart_with_records_that_never_left() {
    let mut world = World::new();
    world.creatio.mode = Mode::Down;
    let a = whole_call(&mut world, 13);
    world.settle();
    world.restart();
    world.creatio.mode = Mode::Up;
    let b = whole_call(&mut world, 14);
    world.run_for(Duration::from_secs(60));
    for call in [a, b] {
        let methods = world.creatio.methods_for(call);
        assert_eq!(methods.first(), Some(&Method::Post));
        assert_eq!(methods.iter().filter(|m| **m == Method::Patch).count(), 2);
    }
    assert_eq!(world.creatio.calls.len(), 2);
    assert!(world.store.is_empty());
}

#[test]
fn any_ordinary_answer_ends_the_outage_even_an_error() {
    let mut world = World::new();
    let call = timeline(15);
    world.creatio.mode = Mode::Down;
    world.enqueue(calls::created(&call));
    world.settle();
    assert!(world.outbox.status().outage.is_some());
    world.creatio.mode = Mode::Up;
    world
        .creatio
        .refuse
        .insert((Method::Post, call.record_id), (500, "Deadlock"));
    world.now = world.outbox.poll_timeout().unwrap();
    world.settle();
    assert_eq!(world.outbox.status().outage, None);
    let record = world.store.values().next().unwrap();
    assert_eq!(record.state, RecordState::Pending);
    assert_eq!(record.last_error.as_deref(), Some("HTTP 500: Deadlock"));
    // Only the login met the refused connection, so the POST was never in doubt; a refused create is still
    // looked up once, as it could be a duplicate.
    assert!(!record.maybe_delivered);
    assert_eq!(world.creatio.methods_for(call.record_id), [Method::Post, Method::Get]);
    world.run_for(Duration::from_secs(60));
    assert_eq!(
        world.creatio.methods_for(call.record_id),
        [Method::Post, Method::Get, Method::Post]
    );
    assert!(world.store.is_empty());
    assert_eq!(world.creatio.calls.len(), 1);
}

#[test]
fn the_same_create_recorded_twice_is_delivered_once_and_does_not_block_its_call() {
    // The panel recorded a create, crashed before it knew the write was saved, and recorded it again: the second
    // copy's POST meets the record the first one created. Found by the SIGKILL test of the runtime.
    let mut world = World::new();
    let call = timeline(16);
    world.enqueue(calls::created(&call));
    world.settle();
    world.enqueue(calls::created(&call));
    world.enqueue(calls::ended(&call).unwrap());
    world.run_for(Duration::from_secs(60));
    assert_eq!(
        world.creatio.methods_for(call.record_id),
        [Method::Post, Method::Post, Method::Get, Method::Patch]
    );
    assert_eq!(world.creatio.calls.len(), 1);
    assert!(world.store.is_empty(), "nothing left waiting: {:?}", world.store);
}
