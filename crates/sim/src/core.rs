//! The sans-IO simulator: the PBX model plus every Oktell session, driven by frames, control
//! commands and time, and emitting frames to send and sockets to close.
//!
//! Run loop (what [`crate::serve`] does): feed one input (`handle_open`, `handle_text`,
//! `handle_closed`, `handle_control` or `handle_timeout`), then drain [`Sim::poll_output`] until it
//! returns `None`, then sleep until [`Sim::poll_timeout`] or the next input.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::net::SocketAddr;
use std::time::Instant;

use ::oktell::login::PasswordDigests;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{Map, Value, json};

use crate::control::{Command, ControlError};
use crate::directory::UserIdx;
use crate::oktell::connection::{ConnId, Connection, Phase, SessionToken};
use crate::oktell::methods::{self, After, Ctx, CustomEvent};
use crate::oktell::wire;
use crate::pbx::{Audience, Notice, Pbx};
use crate::sip::{SipFace, SipOutput};
use crate::world::World;

/// What the driver must do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Output {
    /// Send one text frame on a connection.
    Send { conn: ConnId, text: String },
    /// Close a connection (after the frames queued before this output).
    Close { conn: ConnId },
}

/// The simulated Oktell server.
#[derive(Debug)]
pub struct Sim {
    pbx: Pbx,
    conns: BTreeMap<ConnId, Connection>,
    sessions: HashMap<SessionToken, UserIdx>,
    redirects: HashMap<UserIdx, BTreeMap<String, Value>>,
    digests: Vec<PasswordDigests>,
    next_conn: u64,
    /// Decides random connection drops; separate from the PBX's generator so enabling drops
    /// does not change the GUIDs of a run.
    chaos: StdRng,
    out: VecDeque<Output>,
    /// The PBX's SIP side, once [`Sim::enable_sip`] gave it an address.
    sip: Option<SipFace>,
    seed: u64,
}

impl Sim {
    pub fn new(world: World, seed: u64, now: Instant) -> Self {
        let digests = world.users.iter().map(|u| PasswordDigests::of(&u.password)).collect();
        Sim {
            pbx: Pbx::new(world, seed, now),
            conns: BTreeMap::new(),
            sessions: HashMap::new(),
            redirects: HashMap::new(),
            digests,
            next_conn: 1,
            chaos: StdRng::seed_from_u64(seed ^ 0x5eed_c4a0_5000_0001),
            out: VecDeque::new(),
            sip: None,
            seed,
        }
    }

    /// Turns on the SIP side, listening (as far as the driver is concerned) at `local`.
    pub fn enable_sip(&mut self, local: SocketAddr) {
        self.sip = Some(SipFace::new(local, self.seed ^ 0x5eed_0051_9000_0001));
    }

    /// One datagram on the SIP socket.
    pub fn handle_sip_datagram(&mut self, from: SocketAddr, bytes: &[u8], now: Instant) {
        if let Some(sip) = &mut self.sip {
            sip.handle_datagram(now, from, bytes, &mut self.pbx);
        }
        self.flush_notices(now);
    }

    /// Datagrams to send and media to start or stop.
    pub fn poll_sip_output(&mut self) -> Option<SipOutput> {
        self.sip.as_mut()?.poll_output()
    }

    /// A bound RTP port a SIP leg may use.
    pub fn add_sip_media_port(&mut self, port: u16) {
        if let Some(sip) = &mut self.sip {
            sip.add_media_port(port);
        }
    }

    /// How many RTP ports to add so that `pool` are ready.
    pub fn sip_media_ports_wanted(&self, pool: usize) -> usize {
        self.sip.as_ref().map_or(0, |sip| sip.media_ports_wanted(pool))
    }

    /// A WebSocket connection completed its upgrade.
    pub fn handle_open(&mut self) -> ConnId {
        let id = ConnId(self.next_conn);
        self.next_conn += 1;
        self.conns.insert(id, Connection::new());
        tracing::debug!(conn = id.0, "connection open");
        id
    }

    /// The socket is gone (closed by either side or dropped).
    pub fn handle_closed(&mut self, conn: ConnId) {
        if let Some(connection) = self.conns.remove(&conn) {
            tracing::debug!(conn = conn.0, "connection closed");
            if let Some(user) = connection.user() {
                self.refresh_online(user);
            }
        }
    }

    /// One text frame from a client.
    pub fn handle_text(&mut self, conn: ConnId, text: &str, now: Instant) {
        let Some(connection) = self.conns.get_mut(&conn) else {
            return;
        };
        if connection.is_closing() {
            return;
        }
        let request = match wire::parse(text) {
            Ok(request) => request,
            Err(error) => {
                tracing::warn!(conn = conn.0, %error, "ignoring frame");
                return;
            }
        };
        if connection.phase == Phase::AwaitingPing {
            if request.name.eq_ignore_ascii_case("ping") && self.pbx.world().server.websocket_redirect {
                connection.phase = Phase::Closing;
                self.send(conn, "websocketredirect", Map::new());
                self.out.push_back(Output::Close { conn });
                return;
            }
            connection.phase = Phase::Anonymous;
        }
        let before = connection.user();
        let mut custom = Vec::new();
        let reply = methods::handle(
            Ctx {
                pbx: &mut self.pbx,
                sessions: &mut self.sessions,
                redirects: &mut self.redirects,
                digests: &self.digests,
                sip_port: self.sip.as_ref().map(|sip| sip.local().port()),
                conn_id: conn,
                conn: connection,
                custom: &mut custom,
                now,
            },
            &request,
        );
        let after_user = connection.user();
        self.send_reply(conn, reply.name, reply.body);
        if reply.after == After::Close {
            self.out.push_back(Output::Close { conn });
        }
        for user in before.into_iter().chain(after_user) {
            self.refresh_online(user);
        }
        self.flush_notices(now);
        for event in custom {
            self.deliver_custom(event);
        }
        self.maybe_drop(conn);
    }

    /// Deadlines of calls and background activity.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.pbx.handle_timeout(now);
        if let Some(sip) = &mut self.sip
            && sip.poll_timeout().is_some_and(|at| at <= now)
        {
            sip.handle_timeout(now, &mut self.pbx);
        }
        self.flush_notices(now);
    }

    /// A command of the control API; returns the JSON body of its answer.
    pub fn handle_control(&mut self, command: Command, now: Instant) -> Result<Value, ControlError> {
        let result = match command {
            Command::State => Ok(self.snapshot(now)),
            Command::IncomingCall { from, to } => self.pbx.incoming(&from, &to, now).map(|id| json!({ "call": id })),
            Command::Answer(id) => self.pbx.answer(id, now).map(|()| json!({})),
            Command::Busy(id) => self.pbx.busy(id, now).map(|()| json!({})),
            Command::HangUp(id) => self.pbx.hang_up(id, now).map(|()| json!({})),
            Command::DropConnections => Ok(json!({ "dropped": self.drop_all() })),
            Command::SipState => Ok(match &self.sip {
                Some(sip) => sip.snapshot(now, &self.pbx),
                None => Value::Null,
            }),
            Command::SetUserState { login, change } => match self.pbx.directory().by_login(&login) {
                Some(user) => self
                    .pbx
                    .set_presence(user, change)
                    .map(|p| Value::Object(p.to_payload())),
                None => Err(crate::pbx::Refused::UnknownUser(login)),
            },
        };
        self.flush_notices(now);
        result.map_err(ControlError::from)
    }

    pub fn poll_output(&mut self) -> Option<Output> {
        self.out.pop_front()
    }

    pub fn poll_timeout(&self) -> Option<Instant> {
        let sip = self.sip.as_ref().and_then(SipFace::poll_timeout);
        self.pbx.poll_timeout().into_iter().chain(sip).min()
    }

    /// Closes every connection (sessions survive, so clients can resume them).
    fn drop_all(&mut self) -> usize {
        let mut dropped = 0;
        for (id, connection) in &mut self.conns {
            if !connection.is_closing() {
                connection.phase = Phase::Closing;
                self.out.push_back(Output::Close { conn: *id });
                dropped += 1;
            }
        }
        dropped
    }

    fn maybe_drop(&mut self, conn: ConnId) {
        let probability = self.pbx.world().server.drop_probability;
        if probability <= 0.0 || self.chaos.random::<f64>() >= probability {
            return;
        }
        if let Some(connection) = self.conns.get_mut(&conn)
            && !connection.is_closing()
        {
            tracing::info!(conn = conn.0, "dropping connection at random");
            connection.phase = Phase::Closing;
            self.out.push_back(Output::Close { conn });
        }
    }

    fn refresh_online(&mut self, user: UserIdx) {
        let online = self.conns.values().any(|c| c.user() == Some(user));
        self.pbx.set_online(user, online);
    }

    fn send(&mut self, conn: ConnId, name: &str, body: Map<String, Value>) {
        self.out.push_back(Output::Send {
            conn,
            text: wire::encode(name, body),
        });
    }

    /// Replies above the threshold go out as multipart; events never do (oktell.js would lose them).
    fn send_reply(&mut self, conn: ConnId, name: String, body: Map<String, Value>) {
        let text = wire::encode(&name, body);
        let threshold = self.pbx.world().server.multipart_threshold;
        if threshold == 0 || text.len() <= threshold {
            self.out.push_back(Output::Send { conn, text });
            return;
        }
        let message_id = self.pbx.guid();
        for part in wire::split_multipart(&text, threshold, &message_id) {
            self.out.push_back(Output::Send { conn, text: part });
        }
    }

    fn flush_notices(&mut self, now: Instant) {
        self.pbx.reap_orphans(now);
        if let Some(sip) = &mut self.sip {
            sip.sync(now, &mut self.pbx);
            self.pbx.reap_orphans(now);
        }
        for Notice {
            audience,
            event,
            payload,
        } in self.pbx.take_notices()
        {
            let targets: Vec<ConnId> = self
                .conns
                .iter()
                .filter(|(_, c)| !c.is_closing() && c.is_subscribed(event))
                .filter(|(_, c)| match audience {
                    Audience::Everyone => c.user().is_some(),
                    Audience::User(user) => c.user() == Some(user),
                })
                .map(|(id, _)| *id)
                .collect();
            for conn in targets {
                self.send(conn, event, payload.clone());
            }
        }
    }

    fn deliver_custom(&mut self, event: CustomEvent) {
        let recipients: Option<BTreeSet<UserIdx>> = event.recipients.as_ref().map(|ids| {
            self.pbx
                .directory()
                .people()
                .filter(|(_, p)| ids.iter().any(|id| id.eq_ignore_ascii_case(&p.id)))
                .map(|(idx, _)| idx)
                .collect()
        });
        let targets: Vec<ConnId> = self
            .conns
            .iter()
            .filter(|(id, c)| {
                let Some(user) = c.user() else {
                    return false;
                };
                let addressed = recipients.as_ref().is_none_or(|r| r.contains(&user));
                let own = **id == event.sender;
                !c.is_closing() && c.is_subscribed("customevent") && (if own { event.sendback } else { addressed })
            })
            .map(|(id, _)| *id)
            .collect();
        for conn in targets {
            self.send(conn, "customevent", event.payload.clone());
        }
    }

    /// The server's state for the control API: users, sessions, calls, queue.
    pub fn snapshot(&self, now: Instant) -> Value {
        let directory = self.pbx.directory();
        let users: Vec<Value> = directory
            .people()
            .map(|(idx, p)| {
                json!({
                    "login": p.user.login,
                    "name": p.user.name,
                    "number": p.user.number,
                    "userid": p.id,
                    "presence": p.presence,
                    "connections": self.conns.values().filter(|c| c.user() == Some(idx)).count(),
                    "line": self.pbx.line_info(idx, now),
                })
            })
            .collect();
        let login_of = |idx: UserIdx| directory.person(idx).map(|p| p.user.login.clone());
        let calls: Vec<Value> = self
            .pbx
            .calls()
            .map(|c| {
                let mut value = serde_json::to_value(c).unwrap_or(Value::Null);
                if let Value::Object(map) = &mut value {
                    map.insert("operator".into(), login_of(c.operator).into());
                }
                value
            })
            .collect();
        let connections: Vec<Value> = self
            .conns
            .iter()
            .map(|(id, c)| {
                json!({
                    "id": id,
                    "login": c.user().and_then(login_of),
                    "subscriptions": c.subscriptions().collect::<Vec<_>>(),
                })
            })
            .collect();
        json!({ "users": users, "calls": calls, "connections": connections })
    }
}
