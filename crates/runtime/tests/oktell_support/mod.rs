//! Shared harness of the Oktell link suites and benchmark: a simulator on
//! loopback, a small client for its control API, and a client that folds the
//! link's events into the state the panel would show, so it can be compared
//! with the server's own state.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::net::SocketAddr;
use std::time::Duration;

use oktell::agent::{AgentState, UserStateId};
use oktell::line::{Abonent, Hold, LineView, PhoneState};
use oktell::timers::Backoff;
use oktell::{ConnectionState, Event};
use runtime::oktell_link::{OktellLink, Tls};
use serde_json::{Value, json};
use sim::{RunningSim, SimOptions, World};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// How long any expected change may take before a test fails.
pub const PATIENCE: Duration = Duration::from_secs(10);

/// A simulator serving on loopback.
#[derive(Debug)]
pub struct Simulator {
    pub running: RunningSim,
    pub oktell: String,
    pub control: Control,
}

impl Simulator {
    pub async fn start(world: World, seed: u64) -> Simulator {
        let running = sim::serve(SimOptions {
            bind: [127, 0, 0, 1].into(),
            oktell_port: 0,
            control_port: 0,
            creatio_port: 0,
            world,
            seed,
        })
        .await
        .unwrap();
        let oktell = running.endpoints().oktell.clone();
        let control = Control::new(&running.endpoints().control);
        Simulator {
            running,
            oktell,
            control,
        }
    }
}

/// The default world with a PBX that acts within milliseconds, so scenarios
/// take no longer than their round trips.
pub fn quick_world() -> World {
    let mut world = World::default_world();
    world.timing.operator_pickup_ms = Some(30);
    world.timing.answer_after_ms = 60;
    world.timing.busy_after_ms = 30;
    world.timing.queue_ring_delay_ms = 30;
    world
}

/// The simulator's HTTP control API (see `sim::control`), spoken over plain
/// HTTP/1.1 with one connection per request.
#[derive(Debug, Clone)]
pub struct Control {
    addr: SocketAddr,
}

impl Control {
    pub fn new(endpoint: &str) -> Control {
        let addr = endpoint.strip_prefix("http://").unwrap().parse().unwrap();
        Control { addr }
    }

    /// Sends one request; returns the status and the JSON answer.
    pub async fn request(&self, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
        let body = body.map(|b| b.to_string()).unwrap_or_default();
        let mut stream = TcpStream::connect(self.addr).await.unwrap();
        stream.set_nodelay(true).unwrap();
        let head = format!(
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            self.addr,
            body.len()
        );
        stream.write_all(format!("{head}{body}").as_bytes()).await.unwrap();
        let mut answer = Vec::new();
        stream.read_to_end(&mut answer).await.unwrap();
        let answer = String::from_utf8(answer).unwrap();
        let (head, body) = answer.split_once("\r\n\r\n").unwrap();
        let status = head.split(' ').nth(1).unwrap().parse().unwrap();
        (status, serde_json::from_str(body).unwrap())
    }

    /// A request that must succeed.
    pub async fn post(&self, path: &str, body: Option<Value>) -> Value {
        let (status, answer) = self.request("POST", path, body).await;
        assert_eq!(status, 200, "POST {path}: {answer}");
        answer
    }

    pub async fn state(&self) -> Value {
        let (status, answer) = self.request("GET", "/state", None).await;
        assert_eq!(status, 200, "GET /state: {answer}");
        answer
    }

    /// One user's entry of the state.
    pub async fn user(&self, login: &str) -> Value {
        let state = self.state().await;
        user_of(&state, login)
    }

    /// A caller dials `to`; returns the call id.
    pub async fn call_in(&self, from: &str, to: &str) -> u64 {
        let answer = self.post("/calls", Some(json!({"from": from, "to": to}))).await;
        answer["call"].as_u64().unwrap()
    }

    pub async fn hang_up(&self, call: u64) {
        self.post(&format!("/calls/{call}/hangup"), None).await;
    }

    /// Closes every Oktell connection; returns how many there were.
    pub async fn drop_connections(&self) -> u64 {
        self.post("/connections/drop", None).await["dropped"].as_u64().unwrap()
    }
}

pub fn user_of(state: &Value, login: &str) -> Value {
    state["users"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["login"] == login)
        .cloned()
        .unwrap_or_else(|| panic!("no user {login} in {state}"))
}

/// A link configuration for tests: the world's password, fast reconnects.
pub fn config(url: &str, login: &str, password: &str, seed: u64) -> oktell::Config {
    let mut config = oktell::Config::new(vec![url.to_owned()], login);
    config.password = Some(password.to_owned());
    config.backoff = Backoff {
        initial: Duration::from_millis(5),
        max: Duration::from_millis(20),
    };
    config.open_timeout = Duration::from_secs(2);
    config.request_timeout = Duration::from_secs(5);
    config.queue_poll = Duration::from_millis(100);
    config.seed = seed;
    config
}

/// Trust settings for plain `ws://` tests: the system roots (never used).
pub fn plain_tls() -> Tls {
    Tls::new(None).unwrap()
}

/// What the panel would show, folded from the link's events.
#[derive(Debug, Clone)]
pub struct Mirror {
    pub connection: ConnectionState,
    pub line: LineView,
    pub agent: AgentState,
    pub queue: Vec<Abonent>,
    pub users: usize,
    pub numbers: usize,
    pub number_states: Vec<(String, i64)>,
    pub socket_failures: Vec<(String, String)>,
    pub login_failures: Vec<oktell::error::LoginError>,
    /// How many times the session reached `Connected`.
    pub connects: usize,
    pub succeeded: Vec<oktell::RequestId>,
    pub failed: Vec<oktell::RequestId>,
}

impl Mirror {
    fn new() -> Mirror {
        Mirror {
            connection: ConnectionState::Connecting { attempt: 1 },
            line: LineView::default(),
            agent: AgentState::disconnected(),
            queue: Vec::new(),
            users: 0,
            numbers: 0,
            number_states: Vec::new(),
            socket_failures: Vec::new(),
            login_failures: Vec::new(),
            connects: 0,
            succeeded: Vec::new(),
            failed: Vec::new(),
        }
    }

    fn apply(&mut self, event: Event) {
        match event {
            Event::Connection(state) => {
                if state == ConnectionState::Connected {
                    self.connects += 1;
                }
                self.connection = state;
            }
            Event::Line(view) => self.line = view,
            Event::Hold(hold) => self.line.hold = hold,
            Event::Agent(agent) => self.agent = agent,
            Event::Queue(queue) => self.queue = queue,
            Event::Users(users) => self.users = users.len(),
            Event::Numbers(numbers) => self.numbers = numbers.len(),
            Event::NumberStates(states) => self
                .number_states
                .extend(states.into_iter().filter_map(|s| Some((s.num?, s.numstateid?)))),
            Event::SocketFailed { url, reason } => self.socket_failures.push((url, reason)),
            Event::LoginFailed(error) => self.login_failures.push(error),
            Event::CommandSucceeded { id } => self.succeeded.push(id),
            Event::CommandFailed { id, .. } => self.failed.push(id),
            _ => {}
        }
    }

    pub fn phone(&self) -> PhoneState {
        self.line.state
    }

    /// The number of the first current party.
    pub fn party(&self) -> Option<&str> {
        self.line.abonents.first().and_then(|a| a.phone.as_deref())
    }

    pub fn held(&self) -> Option<&str> {
        match &self.line.hold {
            Hold::Party(a) => a.phone.as_deref(),
            Hold::Conference { id, .. } => Some(id),
            Hold::None => None,
        }
    }

    pub fn is_connected(&self) -> bool {
        self.connection == ConnectionState::Connected
    }

    /// Compares with the server's view of `login` (an entry of `GET /state`)
    /// and its queue; `Err` says what differs.
    pub fn compare(&self, state: &Value, login: &str) -> Result<(), String> {
        let user = user_of(state, login);
        let mut diffs = Vec::new();
        if !self.is_connected() {
            diffs.push(format!("not connected: {:?}", self.connection));
        }
        let line = &user["line"];
        let abonent = &line["abonent"];
        let want = expected_phone(line);
        if self.phone().as_str() != want.as_str() {
            diffs.push(format!("phone {:?}, server {want:?} ({line})", self.phone()));
        }
        if matches!(want, PhoneState::Talk | PhoneState::Ring | PhoneState::BackCall) {
            match abonent["conferenceid"].as_str() {
                Some(id) if self.line.conference.as_deref() != Some(id) => {
                    diffs.push(format!("conference {:?}, server {id}", self.line.conference));
                }
                Some(_) => {}
                None if self.party() != abonent["number"].as_str() => {
                    diffs.push(format!("party {:?}, server {}", self.party(), abonent["number"]));
                }
                None => {}
            }
        }
        let held = if line["isflashing"] == true {
            line["flashed"]["number"]
                .as_str()
                .or(line["flashed"]["conferenceid"].as_str())
        } else {
            None
        };
        if self.held() != held {
            diffs.push(format!("held {:?}, server {held:?}", self.held()));
        }
        let presence = &user["presence"];
        let state_id = UserStateId::from_code(presence["userstateid"].as_i64().unwrap_or(-1));
        if self.agent.state != state_id
            || Some(self.agent.call_center) != presence["oncallcenter"].as_bool()
            || Some(self.agent.on_break) != presence["onlunch"].as_bool()
        {
            diffs.push(format!("agent {:?}, server {presence}", self.agent));
        }
        let mut queued: Vec<&str> = state["calls"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c["operator"] == login && c["state"] == "queued")
            .filter_map(|c| c["remote"]["number"].as_str())
            .collect();
        queued.sort_unstable();
        let mut mine: Vec<&str> = self.queue.iter().filter_map(|a| a.phone.as_deref()).collect();
        mine.sort_unstable();
        if mine != queued {
            diffs.push(format!("queue {mine:?}, server {queued:?}"));
        }
        if diffs.is_empty() {
            Ok(())
        } else {
            Err(diffs.join("; "))
        }
    }
}

/// The phone state our client must derive from a server line (the
/// simulator's `linestatestr` choices are listed in `sim::pbx`).
pub fn expected_phone(line: &Value) -> PhoneState {
    let abonent = &line["abonent"];
    match line["linestatestr"].as_str().unwrap_or_default() {
        "lsRinging" if abonent["direction"] == "acm_callback" => PhoneState::BackRing,
        "lsRinging" => PhoneState::Ring,
        "lsHookUp" if abonent["isautocall"] == true => PhoneState::BackCall,
        "lsCommutated" => PhoneState::Talk,
        "lsDisconnected" => PhoneState::Disconnected,
        _ => PhoneState::Ready,
    }
}

/// A link under test and the state its events describe.
#[derive(Debug)]
pub struct Client {
    pub link: OktellLink,
    pub task: JoinHandle<()>,
    events: mpsc::Receiver<Event>,
    pub mirror: Mirror,
}

impl Client {
    pub fn spawn(config: oktell::Config, tls: Tls) -> Client {
        let (tx, events) = mpsc::channel(256);
        let (link, task) = OktellLink::spawn(config, tls, tx).unwrap();
        Client {
            link,
            task,
            events,
            mirror: Mirror::new(),
        }
    }

    /// Logs `login` (password `demo`) into the simulator and waits until connected.
    pub async fn connect(sim: &Simulator, login: &str, seed: u64) -> Client {
        let mut client = Client::spawn(config(&sim.oktell, login, "demo", seed), plain_tls());
        client.until("connected", Mirror::is_connected).await;
        client
    }

    /// Applies one event; `None` when the session task has ended.
    pub async fn next(&mut self) -> Option<()> {
        let event = self.events.recv().await?;
        self.mirror.apply(event);
        Some(())
    }

    /// Applies whatever events are already queued.
    pub fn drain(&mut self) {
        while let Ok(event) = self.events.try_recv() {
            self.mirror.apply(event);
        }
    }

    /// Applies events until `done` holds; fails after [`PATIENCE`].
    pub async fn until(&mut self, what: &str, done: impl Fn(&Mirror) -> bool) {
        let waited = tokio::time::timeout(PATIENCE, async {
            while !done(&self.mirror) {
                if self.next().await.is_none() {
                    return false;
                }
            }
            true
        })
        .await;
        match waited {
            Ok(true) => {}
            Ok(false) => panic!("session ended while waiting for {what}: {:#?}", self.mirror),
            Err(_) => panic!("timed out waiting for {what}: {:#?}", self.mirror),
        }
    }

    /// Waits until the mirrored state equals the server's state of `login`,
    /// re-reading the server while events arrive; fails after [`PATIENCE`]
    /// with the last difference.
    pub async fn converge(&mut self, control: &Control, login: &str) {
        let deadline = tokio::time::Instant::now() + PATIENCE;
        loop {
            self.drain();
            let state = control.state().await;
            let verdict = self.mirror.compare(&state, login);
            match verdict {
                Ok(()) => return,
                Err(diff) if tokio::time::Instant::now() >= deadline => {
                    panic!(
                        "client never matched the server: {diff}\nserver: {}",
                        user_of(&state, login)
                    )
                }
                Err(_) => {
                    let _ = tokio::time::timeout(Duration::from_millis(5), self.next()).await;
                }
            }
        }
    }

    /// Runs a command that the session must accept.
    pub async fn command(&mut self, command: oktell::Command) -> oktell::RequestId {
        let name = command.name();
        self.link
            .command(command)
            .await
            .unwrap_or_else(|e| panic!("{name} refused: {e}"))
    }

    /// Runs a command and waits for the server's positive answer.
    pub async fn succeed(&mut self, command: oktell::Command) {
        let id = self.command(command).await;
        self.until("the command's success", |m| {
            assert!(!m.failed.contains(&id), "command failed: {m:#?}");
            m.succeeded.contains(&id)
        })
        .await;
    }
}
