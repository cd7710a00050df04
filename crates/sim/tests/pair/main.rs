//! Our own Oktell client core (crate `oktell`) against the simulator core, both sans-IO, over a
//! virtual link and a virtual clock: the two were written independently from PROTOCOL.md, so
//! this is where a disagreement about the protocol shows up.

// Test helpers outside #[test] functions may panic: a failed expectation is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::HashMap;
use std::time::{Duration, Instant};

use oktell::line::PhoneState;
use oktell::{Action, Command, Config, ConnectionState, Event, Session, SocketId};
use sim::control::Command as Control;
use sim::pbx::CallId;
use sim::world::Pickup;
use sim::{ConnId, Output, Sim, World};

struct Pair {
    client: Session,
    server: Sim,
    now: Instant,
    sockets: HashMap<SocketId, ConnId>,
    events: Vec<Event>,
}

impl Pair {
    fn new(world: World, password: &str) -> Pair {
        let now = Instant::now();
        let mut config = Config::new(vec!["ws://127.0.0.1:4066".to_owned()], "op1");
        config.password = Some(password.to_owned());
        Pair {
            client: Session::new(config, now).unwrap(),
            server: Sim::new(world, 3, now),
            now,
            sockets: HashMap::new(),
            events: Vec::new(),
        }
    }

    /// Moves every message across until neither side has anything to say.
    fn settle(&mut self) {
        loop {
            let mut moved = false;
            while let Some(action) = self.client.poll_action() {
                moved = true;
                match action {
                    Action::Open {
                        socket, subprotocol, ..
                    } => {
                        assert_eq!(subprotocol, "json");
                        let conn = self.server.handle_open();
                        self.sockets.insert(socket, conn);
                        self.client.handle_socket_opened(self.now, socket);
                    }
                    Action::Close { socket } => {
                        if let Some(conn) = self.sockets.remove(&socket) {
                            self.server.handle_closed(conn);
                        }
                    }
                }
            }
            while let Some(transmit) = self.client.poll_transmit() {
                moved = true;
                if let Some(conn) = self.sockets.get(&transmit.socket) {
                    self.server.handle_text(*conn, &transmit.text, self.now);
                }
            }
            while let Some(output) = self.server.poll_output() {
                moved = true;
                match output {
                    Output::Send { conn, text } => {
                        let socket = self.socket_of(conn);
                        if let Some(socket) = socket {
                            self.client.handle_frame(self.now, socket, &text).unwrap();
                        }
                    }
                    Output::Close { conn } => {
                        if let Some(socket) = self.socket_of(conn) {
                            self.sockets.remove(&socket);
                            self.server.handle_closed(conn);
                            self.client.handle_socket_closed(self.now, socket);
                        }
                    }
                }
            }
            while let Some(event) = self.client.poll_event() {
                moved = true;
                self.events.push(event);
            }
            if !moved {
                return;
            }
        }
    }

    fn socket_of(&self, conn: ConnId) -> Option<SocketId> {
        self.sockets.iter().find(|(_, c)| **c == conn).map(|(s, _)| *s)
    }

    /// Runs both sides on the virtual clock for `ms`.
    fn run(&mut self, ms: u64) {
        let end = self.now + Duration::from_millis(ms);
        self.settle();
        loop {
            let next = [self.client.poll_timeout(), self.server.poll_timeout()]
                .into_iter()
                .flatten()
                .min()
                .filter(|at| *at <= end);
            let Some(at) = next else {
                break;
            };
            self.now = self.now.max(at);
            self.client.handle_timeout(self.now);
            self.server.handle_timeout(self.now);
            self.settle();
        }
        self.now = end;
    }

    fn command(&mut self, command: Command) {
        self.client.command(self.now, command).unwrap();
        self.settle();
    }

    fn control(&mut self, command: Control) -> serde_json::Value {
        let answer = self.server.handle_control(command, self.now).unwrap();
        self.settle();
        answer
    }

    fn connected(&self) -> bool {
        self.events
            .iter()
            .rev()
            .find_map(|e| match e {
                Event::Connection(state) => Some(state == &ConnectionState::Connected),
                _ => None,
            })
            .unwrap_or(false)
    }

    fn phone(&self) -> Option<PhoneState> {
        self.events.iter().rev().find_map(|e| match e {
            Event::Line(view) => Some(view.state),
            _ => None,
        })
    }
}

fn manual_world() -> World {
    let mut world = World::default_world();
    world.timing.operator_pickup_ms = None;
    for subscriber in &mut world.subscribers {
        subscriber.pickup = Pickup::Manual;
    }
    world
}

#[test]
fn client_logs_in_and_syncs_against_the_simulator() {
    let mut pair = Pair::new(World::default_world(), "demo");
    pair.run(1_000);
    assert!(pair.connected(), "{:#?}", pair.events);
    assert!(pair.events.iter().any(|e| matches!(e, Event::LoggedIn { .. })));
    assert!(
        pair.events
            .iter()
            .any(|e| matches!(e, Event::BreakReasons(r) if r.len() == 5))
    );
    assert!(
        pair.events
            .iter()
            .any(|e| matches!(e, Event::Numbers(n) if !n.is_empty()))
    );
    assert_eq!(pair.phone(), Some(PhoneState::Ready));
}

#[test]
fn client_reports_a_wrong_password_as_a_login_failure() {
    let mut pair = Pair::new(World::default_world(), "nope");
    pair.run(1_000);
    assert!(
        pair.events.iter().any(|e| matches!(e, Event::LoginFailed(_))),
        "{:#?}",
        pair.events
    );
    assert!(!pair.connected());
}

#[test]
fn incoming_call_rings_is_answered_and_ends_on_the_client() {
    let mut pair = Pair::new(manual_world(), "demo");
    pair.run(1_000);
    let call = pair.control(Control::IncomingCall {
        from: "89161234567".into(),
        to: "101".into(),
    });
    pair.run(100);
    assert_eq!(pair.phone(), Some(PhoneState::Ring));
    pair.command(Command::Answer);
    pair.run(100);
    assert_eq!(pair.phone(), Some(PhoneState::Talk));
    pair.control(Control::HangUp(CallId(call["call"].as_u64().unwrap())));
    pair.run(100);
    assert_eq!(pair.phone(), Some(PhoneState::Ready));
}

#[test]
fn outgoing_call_with_hold_and_resume_follows_the_world_clock() {
    let mut pair = Pair::new(World::default_world(), "demo");
    pair.run(1_000);
    pair.command(Command::Call {
        number: "84951234567".into(),
        sequence: oktell::msg::request::Sequence::User,
    });
    pair.run(100);
    assert_eq!(pair.phone(), Some(PhoneState::BackRing));
    pair.run(1_500);
    assert!(matches!(pair.phone(), Some(PhoneState::BackCall | PhoneState::Call)));
    pair.run(3_000);
    assert_eq!(pair.phone(), Some(PhoneState::Talk));
    pair.command(Command::Hold);
    pair.run(100);
    assert_eq!(pair.phone(), Some(PhoneState::Ready));
    pair.command(Command::Resume);
    pair.run(100);
    assert_eq!(pair.phone(), Some(PhoneState::Talk));
    pair.command(Command::Hangup);
    pair.run(100);
    assert_eq!(pair.phone(), Some(PhoneState::Ready));
}

#[test]
fn client_reconnects_with_its_session_after_the_server_drops_it() {
    let mut pair = Pair::new(World::default_world(), "demo");
    pair.run(1_000);
    assert!(pair.connected());
    let dropped = pair.control(Control::DropConnections);
    assert_eq!(dropped["dropped"], 1);
    assert!(!pair.connected());
    pair.run(60_000);
    assert!(
        pair.connected(),
        "{:#?}",
        &pair.events[pair.events.len().saturating_sub(10)..]
    );
}
