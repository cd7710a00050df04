//! A virtual-clock harness and a scripted Oktell server for the session tests.
//! No sockets, no sleeps: "sockets" are ids, the clock is an `Instant` we move.

#![allow(dead_code)]

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use oktell::{Action, Config, Event, Session, SocketId};
use serde_json::{Map, Value, json};

pub const USER_ID: &str = "a1b2c3d4-0000-4000-8000-000000000101";
pub const SESSION: &str = "6ce69019-2e38-48c3-8ed1-106e08fda2af";
pub const IDLE: &str = r#"{"result":1,"linestatestr":"lsFree","chainid":"00000000-0000-0000-0000-000000000000","calledid":"","timertalklensec":0,"isflashing":false,"flashed":null,"abonent":{}}"#;

/// A frame the client sent.
#[derive(Debug, Clone)]
pub struct Sent {
    pub socket: SocketId,
    pub name: String,
    pub body: Map<String, Value>,
    pub text: String,
}

impl Sent {
    pub fn qid(&self) -> String {
        self.body["qid"].as_str().expect("qid is a string").to_owned()
    }

    /// The body without `qid`, for comparing with the document's shapes.
    pub fn fields(&self) -> Value {
        let mut b = self.body.clone();
        b.remove("qid");
        Value::Object(b)
    }
}

pub fn config() -> Config {
    let mut c = Config::new(vec!["ws://127.0.0.1:4066".into()], "op1");
    c.password = Some("Secret1".into());
    c.seed = 42;
    c
}

pub fn obj(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        other => panic!("not an object: {other}"),
    }
}

/// Canned replies of a healthy server, keyed by method.
pub fn canned(method: &str) -> Value {
    match method {
        "login" => json!({"result":1,"userid":USER_ID,"sessionid":SESSION}),
        "getversion" => {
            json!({"result":1,"version":{"dated":161116,"build":"2.12.3.161116","webserverport":80},"alloweddbstoredprocs":{}})
        }
        "getmyuserinfo" => {
            json!({"result":1,"username":"Operator One","mainpbxnumber":"101","hasline":true,"lineid":"l1","linenumber":"101","isoperator":true})
        }
        "cc_getlunchtypes" => {
            json!({"result":1,"items":[{"id":1,"name":"Обед"},{"id":2,"name":"Meeting"}]})
        }
        "getuserstate" => {
            json!({"result":1,"userstateid":1,"oncallcenter":false,"onccmanual":false,"onlunch":false,"onredirect":false,"lunchreasonid":null,"ontask":false})
        }
        "getredirectrules" => {
            json!({"result":1,"redirectrules":[{"id":"ff6dc3b4-f3fa-a556-634a-681c9b1fa8d5","destinationnumber":"89031112233"}]})
        }
        "getpbxnumbers" => {
            json!({"result":1,"numbers":[{"id":"n1","number":"101","caption":"Operator One","state":1},{"id":"n2","number":"102","caption":"Ivan Petrov","state":1}]})
        }
        "getallusernumbers" => {
            json!({"result":1,"users":[{"id":USER_ID,"name":"Оператор Один","main":"101","nums":["101"],"sub":false},{"id":"a1b2c3d4-0000-4000-8000-000000000102","name":"Ivan Petrov","main":"102","nums":["102"],"sub":true}]})
        }
        "getalluserphotolink" => json!({"result":1,"links":[]}),
        "getextendedlineinfo" => serde_json::from_str(IDLE).unwrap(),
        "getcurrentqueue" => json!({"result":1,"queue":[]}),
        _ => json!({"result":1}),
    }
}

pub struct Harness {
    pub session: Session,
    pub now: Instant,
    pub t0: Instant,
    pub outbox: VecDeque<Sent>,
    pub events: Vec<Event>,
    pub actions: Vec<Action>,
    /// Sockets the client asked to open and we have not reported on yet.
    pub opening: Vec<(SocketId, String)>,
    /// Every method the client sent, in order (for sequence checks).
    pub log: Vec<String>,
}

impl Harness {
    pub fn new(config: Config) -> Harness {
        let now = Instant::now();
        let session = Session::new(config, now).expect("valid config");
        let mut h = Harness {
            session,
            now,
            t0: now,
            outbox: VecDeque::new(),
            events: Vec::new(),
            actions: Vec::new(),
            opening: Vec::new(),
            log: Vec::new(),
        };
        h.drain();
        h
    }

    pub fn drain(&mut self) {
        while let Some(a) = self.session.poll_action() {
            if let Action::Open { socket, url, .. } = &a {
                self.opening.push((*socket, url.clone()));
            }
            self.actions.push(a);
        }
        while let Some(t) = self.session.poll_transmit() {
            let v: Value = serde_json::from_str(&t.text).expect("client sends JSON");
            let arr = v.as_array().expect("client sends arrays");
            assert_eq!(arr.len(), 2, "two-element envelope: {}", t.text);
            let name = arr[0].as_str().expect("name").to_owned();
            let body = obj(arr[1].clone());
            self.log.push(name.clone());
            self.outbox.push_back(Sent {
                socket: t.socket,
                name,
                body,
                text: t.text,
            });
        }
        while let Some(e) = self.session.poll_event() {
            self.events.push(e);
        }
    }

    /// Opens every socket the client asked for and answers their pings.
    pub fn accept_sockets(&mut self) -> Vec<SocketId> {
        let opening = std::mem::take(&mut self.opening);
        let mut ids = Vec::new();
        for (s, _) in opening {
            self.session.handle_socket_opened(self.now, s);
            ids.push(s);
        }
        self.drain();
        ids
    }

    /// Connects: open the single socket, answer the ping with pong.
    pub fn handshake(&mut self) -> SocketId {
        let ids = self.accept_sockets();
        let s = ids[0];
        let ping = self.expect("ping");
        assert_eq!(ping.fields(), json!({}), "handshake ping carries only qid");
        self.feed(s, &format!(r#"["pong",{{"qid":"{}"}}]"#, ping.qid()));
        s
    }

    pub fn feed(&mut self, socket: SocketId, text: &str) {
        self.session
            .handle_frame(self.now, socket, text)
            .unwrap_or_else(|e| panic!("frame refused: {e}: {text}"));
        self.drain();
    }

    /// Runs a command and collects what it produced.
    pub fn command(&mut self, command: oktell::Command) -> Result<oktell::RequestId, oktell::error::CommandError> {
        let r = self.session.command(self.now, command);
        self.drain();
        r
    }

    pub fn close(&mut self, socket: SocketId) {
        self.session.handle_socket_closed(self.now, socket);
        self.drain();
    }

    /// The next client frame, which must be `method`.
    pub fn expect(&mut self, method: &str) -> Sent {
        let s = self
            .outbox
            .pop_front()
            .unwrap_or_else(|| panic!("expected {method}, client sent nothing"));
        assert_eq!(s.name, method, "client frame: {}", s.text);
        s
    }

    pub fn expect_nothing(&mut self) {
        assert!(
            self.outbox.is_empty(),
            "unexpected frames: {:?}",
            self.outbox.iter().map(|s| &s.text).collect::<Vec<_>>()
        );
    }

    /// Replies to a request with `<method>result` and these fields.
    pub fn reply(&mut self, to: &Sent, fields: Value) {
        let mut body = obj(fields);
        body.insert("qid".into(), Value::String(to.qid()));
        let text = serde_json::to_string(&json!([format!("{}result", to.name), body])).unwrap();
        self.feed(to.socket, &text);
    }

    /// Sends a server event.
    pub fn push(&mut self, socket: SocketId, name: &str, payload: Value) {
        let text = serde_json::to_string(&json!([name, payload])).unwrap();
        self.feed(socket, &text);
    }

    /// Answers every outstanding client frame with canned replies (and
    /// whatever they trigger) until the client is quiet. Pings get pongs.
    pub fn serve(&mut self) {
        self.serve_with(|_| None);
    }

    /// Like [`serve`], with per-method overrides (`Some(reply fields)`).
    pub fn serve_with(&mut self, mut custom: impl FnMut(&Sent) -> Option<Value>) {
        let mut guard = 0;
        while let Some(s) = self.outbox.pop_front() {
            guard += 1;
            assert!(guard < 1000, "client keeps talking");
            if s.name == "ping" {
                self.feed(s.socket, &format!(r#"["pong",{{"qid":"{}"}}]"#, s.qid()));
                continue;
            }
            let fields = custom(&s).unwrap_or_else(|| canned(&s.name));
            self.reply(&s, fields);
        }
    }

    /// Full login with a healthy server.
    pub fn login(&mut self) -> SocketId {
        let s = self.handshake();
        self.serve();
        assert!(self.session.is_connected(), "events: {:?}", self.events);
        s
    }

    /// Moves the virtual clock, firing every deadline on the way.
    pub fn advance(&mut self, by: Duration) {
        let until = self.now + by;
        while let Some(at) = self.session.poll_timeout() {
            if at > until {
                break;
            }
            self.now = self.now.max(at);
            self.session.handle_timeout(self.now);
            self.drain();
        }
        self.now = until;
        self.session.handle_timeout(self.now);
        self.drain();
    }

    pub fn take_events(&mut self) -> Vec<Event> {
        std::mem::take(&mut self.events)
    }

    pub fn connection_states(&self) -> Vec<oktell::ConnectionState> {
        self.events
            .iter()
            .filter_map(|e| match e {
                Event::Connection(c) => Some(c.clone()),
                _ => None,
            })
            .collect()
    }
}
