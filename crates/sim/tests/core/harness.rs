//! A virtual-clock harness around the sans-IO core: clients speak exactly as oktell.js does and
//! collect what the server sends them.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use sim::control::Command;
use sim::{ConnId, Output, Sim, World};

/// Every event oktell.js subscribes to during its post-login sequence (PROTOCOL.md §2.6).
pub const OKTELL_JS_EVENTS: [&str; 15] = [
    "customevent",
    "userstatechanged",
    "pbxnumberstatechanged",
    "linestatechanged",
    "flashstatechanged",
    "confcompositionchanged",
    "confcompetitorstatechanged",
    "phoneevent_acmcallstarted",
    "phoneevent_acmcallstopped",
    "phoneevent_ringstarted",
    "phoneevent_ringstopped",
    "phoneevent_ivrstarted",
    "phoneevent_commstarted",
    "phoneevent_commstopped",
    "httpresponsecopy",
];

pub struct Harness {
    pub sim: Sim,
    pub now: Instant,
    inbox: BTreeMap<ConnId, Vec<Value>>,
    pub closed: BTreeSet<ConnId>,
    logins: BTreeMap<ConnId, String>,
    qid: u64,
}

impl Harness {
    pub fn new(world: World) -> Self {
        let now = Instant::now();
        Harness {
            sim: Sim::new(world, 7, now),
            now,
            inbox: BTreeMap::new(),
            closed: BTreeSet::new(),
            logins: BTreeMap::new(),
            qid: 0,
        }
    }

    pub fn quiet() -> Self {
        Harness::new(World::default_world())
    }

    fn drain(&mut self) {
        while let Some(output) = self.sim.poll_output() {
            match output {
                Output::Send { conn, text } => {
                    assert!(!self.closed.contains(&conn), "frame after close: {text}");
                    let value: Value = serde_json::from_str(&text).unwrap();
                    let array = value.as_array().unwrap();
                    assert_eq!(array.len(), 2, "{text}");
                    assert!(array[1].is_object(), "{text}");
                    self.inbox.entry(conn).or_default().push(value);
                }
                Output::Close { conn } => {
                    self.closed.insert(conn);
                }
            }
        }
    }

    pub fn open(&mut self) -> ConnId {
        self.sim.handle_open()
    }

    /// Sends a raw text frame.
    pub fn send_raw(&mut self, conn: ConnId, text: &str) {
        self.sim.handle_text(conn, text, self.now);
        self.drain();
    }

    pub fn next_qid(&mut self) -> String {
        self.qid += 1;
        format!("0.{}{}", self.qid, "5226786025210892")
    }

    /// Sends `[name, {userlogin, ...fields, qid}]` as oktell.js's normal request path does and
    /// returns the reply carrying that qid.
    pub fn request(&mut self, conn: ConnId, name: &str, fields: Value) -> Value {
        let mut body = serde_json::Map::new();
        if let Some(login) = self.logins.get(&conn) {
            body.insert("userlogin".into(), login.clone().into());
        }
        if let Value::Object(fields) = fields {
            body.extend(fields);
        }
        self.raw_request(conn, name, body)
    }

    /// Like [`request`] but without `userlogin` (ping, subscribeevent).
    pub fn raw_request(&mut self, conn: ConnId, name: &str, mut body: serde_json::Map<String, Value>) -> Value {
        let qid = self.next_qid();
        body.insert("qid".into(), qid.clone().into());
        let text = json!([name, body]).to_string();
        self.send_raw(conn, &text);
        let inbox = self.inbox.entry(conn).or_default();
        let index = inbox
            .iter()
            .position(|m| m[1]["qid"] == qid.as_str())
            .unwrap_or_else(|| panic!("no reply to {name}"));
        inbox.remove(index)
    }

    /// Handshake ping and password login, then the subscriptions oktell.js makes.
    pub fn login(&mut self, login: &str, password: &str) -> ConnId {
        let conn = self.open();
        let pong = self.raw_request(conn, "ping", Default::default());
        assert_eq!(pong[0], "pong");
        let reply = self.password_login(conn, login, password);
        assert_eq!(reply[1]["result"], 1, "{reply}");
        self.subscribe_all(conn);
        self.events(conn);
        conn
    }

    pub fn password_login(&mut self, conn: ConnId, login: &str, password: &str) -> Value {
        let digests = oktell::login::PasswordDigests::of(password);
        self.logins.insert(conn, login.to_owned());
        self.request(
            conn,
            "login",
            json!({"Password": digests.typed, "password": digests.lowered, "showid": 1, "usewebrtc": false}),
        )
    }

    pub fn session_login(&mut self, conn: ConnId, login: &str, session: &str) -> Value {
        self.logins.insert(conn, login.to_owned());
        self.request(
            conn,
            "login",
            json!({"sessionid": session, "showid": 1, "usewebrtc": false}),
        )
    }

    pub fn subscribe_all(&mut self, conn: ConnId) {
        for event in OKTELL_JS_EVENTS {
            let mut body = serde_json::Map::new();
            body.insert("eventmethod".into(), json!([event]));
            let reply = self.raw_request(conn, "subscribeevent", body);
            assert_eq!(reply[0], "subscribeeventresult");
            assert_eq!(reply[1]["result"], 1);
        }
    }

    /// Takes every frame received on `conn` that was not taken as a reply.
    pub fn frames(&mut self, conn: ConnId) -> Vec<Value> {
        self.inbox.remove(&conn).unwrap_or_default()
    }

    /// Names of the received events, in order.
    pub fn events(&mut self, conn: ConnId) -> Vec<String> {
        self.frames(conn)
            .into_iter()
            .map(|f| f[0].as_str().unwrap().to_owned())
            .collect()
    }

    pub fn line(&mut self, conn: ConnId) -> Value {
        let reply = self.request(conn, "getextendedlineinfo", json!({}));
        assert_eq!(reply[0], "getextendedlineinforesult");
        assert!(
            reply[1]["abonent"].is_object(),
            "abonent must always be present: {reply}"
        );
        reply[1].clone()
    }

    pub fn control(&mut self, command: Command) -> Value {
        let answer = self.sim.handle_control(command, self.now).unwrap();
        self.drain();
        answer
    }

    pub fn incoming(&mut self, from: &str, to: &str) -> u64 {
        let answer = self.control(Command::IncomingCall {
            from: from.into(),
            to: to.into(),
        });
        answer["call"].as_u64().unwrap()
    }

    /// Moves the virtual clock forward, firing every deadline on the way in order.
    pub fn advance(&mut self, ms: u64) {
        let end = self.now + Duration::from_millis(ms);
        while let Some(deadline) = self.sim.poll_timeout().filter(|d| *d <= end) {
            self.now = self.now.max(deadline);
            self.sim.handle_timeout(self.now);
            self.drain();
        }
        self.now = end;
    }
}
