//! The session state machine: connection attempts, login, the post-login
//! sync, live event handling, commands and reconnects.
//!
//! Phases: `Connecting` (sockets racing through the ping/qid handshake) →
//! `LoggingIn` → `Syncing` (§2.6 steps) → `Connected`; any loss goes to
//! `Waiting` (backoff) and back to `Connecting`; `LoggingOut` and `Closed`
//! end it.

use std::collections::{HashMap, HashSet, VecDeque};
use std::time::Instant;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{Map, Value};

use crate::agent::{AgentState, UserStateId, set_status_bodies};
use crate::api::{Action, CloseReason, Command, ConnectionState, Event, RequestId, SessionId, SocketId, Transmit};
use crate::config::Config;
use crate::error::{CommandError, CommandFailure, ConfigError, FrameError, LoginError, MalformedFrame, SyncError};
use crate::line::{Abonent, LineTracker, PhoneState, Rereads, conference_abonents};
use crate::login::{PasswordDigests, md5_cp1251_hex};
use crate::msg::event::LINE_EVENTS;
use crate::msg::reply::{self, Outcome};
use crate::msg::request::{
    CompetitorRef, FlashMode, Invitee, LoginRequest, NewConference, Request, Sequence, SetUserState,
};
use crate::msg::{self, Frame, MULTIPART, ServerEvent, WEBSOCKET_REDIRECT};
use crate::multipart::Reassembler;
use crate::timers::{Timer, Timers};

/// Minimum server dates (`getversion.version.dated`, §2.6).
mod dated {
    /// `getmyuserinfo`: below this the session cannot work.
    pub const USER_INFO: i64 = 120_327;
    /// `pbxmakeflash`, `pbxmaketransfer`, redirect rules, custom events.
    pub const FLASH: i64 = 120_725;
    /// `getallusernumbers`.
    pub const USERS: i64 = 120_920;
    /// `cc_getlunchtypes`.
    pub const LUNCH_TYPES: i64 = 130_101;
    /// `pbxanswercall`.
    pub const ANSWER: i64 = 131_218;
    /// Conference invitations use `number` instead of `intnumber`.
    pub const NUMBER_INVITES: i64 = 140_929;
    /// `ontask` is meaningful.
    pub const ONTASK: i64 = 150_416;
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CandidateState {
    Opening,
    AwaitingPong,
    OpeningSecure,
    Failed,
}

#[derive(Debug)]
struct Candidate {
    socket: SocketId,
    url: String,
    state: CandidateState,
    ping_qid: Option<String>,
}

#[derive(Debug)]
enum Phase {
    Connecting {
        candidates: Vec<Candidate>,
    },
    LoggingIn {
        link: SocketId,
    },
    /// `line_step`: the chain has reached its line read (§2.6 step 14);
    /// before that, events do not trigger line reads (the chain will read).
    Syncing {
        link: SocketId,
        line_step: bool,
    },
    Connected {
        link: SocketId,
    },
    Waiting,
    LoggingOut {
        link: SocketId,
    },
    Closed,
}

/// The §2.6 steps that wait for their reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    Version,
    UserInfo,
    LunchTypes,
    UserState,
    RedirectRules,
    PbxNumbers,
    Users,
    Photos,
}

#[derive(Debug, Clone, PartialEq)]
enum Then {
    Done,
    Status {
        reason: Option<i64>,
        next: Option<SetUserState>,
    },
    ConnectHeld,
    EnterConference(String),
    Ghost,
}

#[derive(Debug, Clone, PartialEq)]
enum Purpose {
    Login { with_password: bool },
    Step(Step),
    LineRead,
    Queue,
    BreakReasons,
    ConferenceInfo(String),
    Subscribe(Vec<String>),
    Ignore,
    Command { id: RequestId, then: Then },
    Logout,
}

#[derive(Debug)]
struct Pending {
    purpose: Purpose,
    method: &'static str,
    deadline: Instant,
}

/// One Oktell client session. See the crate docs for the run loop.
#[derive(Debug)]
pub struct Session {
    config: Config,
    urls: Vec<String>,
    digests: Option<PasswordDigests>,
    session_id: Option<String>,
    rng: StdRng,
    next_serial: u64,
    next_request: u64,
    qid_counter: u64,
    phase: Phase,
    attempt: u32,
    logged_in_once: bool,
    pending: HashMap<String, Pending>,
    subscribed: HashSet<String>,
    timers: Timers,
    reassembler: Reassembler,
    transmits: VecDeque<Transmit>,
    events: VecDeque<Event>,
    actions: VecDeque<Action>,
    user_id: Option<String>,
    dated: Option<i64>,
    my_number: Option<String>,
    reasons: Vec<crate::msg::reply::BreakReason>,
    agent: AgentState,
    redirect_number: Option<String>,
    line: LineTracker,
    rereads: Rereads,
    queue: Vec<Abonent>,
    handled_conference: Option<String>,
}

impl Session {
    /// Validates the configuration and starts the first connection attempt:
    /// the first [`Session::poll_action`]s open one socket per URL.
    pub fn new(config: Config, now: Instant) -> Result<Session, ConfigError> {
        let urls = crate::url::normalize_all(&config.urls, config.secure)?;
        if config.login.trim().is_empty() {
            return Err(ConfigError::NoLogin);
        }
        if config.password.is_none() && config.session_id.is_none() {
            return Err(ConfigError::NoCredentials);
        }
        let mut session = Session {
            digests: config.password.as_deref().map(PasswordDigests::of),
            session_id: config.session_id.clone(),
            rng: StdRng::seed_from_u64(config.seed),
            reassembler: Reassembler::new(config.multipart),
            config,
            urls,
            next_serial: 0,
            next_request: 0,
            qid_counter: 0,
            phase: Phase::Waiting,
            attempt: 0,
            logged_in_once: false,
            pending: HashMap::new(),
            subscribed: HashSet::new(),
            timers: Timers::default(),
            transmits: VecDeque::new(),
            events: VecDeque::new(),
            actions: VecDeque::new(),
            user_id: None,
            dated: None,
            my_number: None,
            reasons: Vec::new(),
            agent: AgentState::disconnected(),
            redirect_number: None,
            line: LineTracker::default(),
            rereads: Rereads::default(),
            queue: Vec::new(),
            handled_conference: None,
        };
        session.start_attempt(now);
        Ok(session)
    }

    // ----- getters -------------------------------------------------------

    /// The current line view.
    pub fn line(&self) -> &crate::line::LineView {
        self.line.view()
    }

    /// The last reported agent state.
    pub fn agent(&self) -> &AgentState {
        &self.agent
    }

    /// The current queue.
    pub fn queue(&self) -> &[Abonent] {
        &self.queue
    }

    /// Whether the session is logged in with all state loaded.
    pub fn is_connected(&self) -> bool {
        matches!(self.phase, Phase::Connected { .. })
    }

    /// Whether the session has stopped for good.
    pub fn is_closed(&self) -> bool {
        matches!(self.phase, Phase::Closed)
    }

    // ----- output --------------------------------------------------------

    /// Next frame to send.
    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        self.transmits.pop_front()
    }

    /// Next event for the application.
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// Next socket action for the driver.
    pub fn poll_action(&mut self) -> Option<Action> {
        self.actions.pop_front()
    }

    /// When to call [`Session::handle_timeout`] next.
    pub fn poll_timeout(&self) -> Option<Instant> {
        [
            self.timers.next().map(|(_, at)| at),
            self.pending.values().map(|p| p.deadline).min(),
            self.reassembler.next_deadline(),
        ]
        .into_iter()
        .flatten()
        .min()
    }

    // ----- input ---------------------------------------------------------

    /// The driver opened this socket.
    pub fn handle_socket_opened(&mut self, now: Instant, socket: SocketId) {
        let Phase::Connecting { candidates } = &mut self.phase else {
            return;
        };
        let Some(c) = candidates.iter_mut().find(|c| c.socket == socket) else {
            return;
        };
        match c.state {
            CandidateState::Opening => {
                let qid = next_qid(&mut self.rng, &mut self.qid_counter);
                c.state = CandidateState::AwaitingPong;
                c.ping_qid = Some(qid.clone());
                if let Ok(text) = msg::encode(&Request::Ping {}, &self.config.login, &qid) {
                    self.transmits.push_back(Transmit { socket, text });
                }
            }
            // After a redirect the secure socket wins as soon as it opens (§1.4).
            CandidateState::OpeningSecure => self.win(now, socket),
            CandidateState::AwaitingPong | CandidateState::Failed => {}
        }
    }

    /// The driver could not open this socket: reports
    /// [`Event::SocketFailed`] with the driver's `reason` (refused, DNS,
    /// TLS, handshake) so the operator sees why, then handles it as closed.
    pub fn handle_socket_failed(&mut self, now: Instant, socket: SocketId, reason: &str) {
        if let Phase::Connecting { candidates } = &self.phase
            && let Some(c) = candidates
                .iter()
                .find(|c| c.socket == socket && c.state != CandidateState::Failed)
        {
            self.events.push_back(Event::SocketFailed {
                url: c.url.clone(),
                reason: reason.to_owned(),
            });
        }
        self.handle_socket_closed(now, socket);
    }

    /// The socket closed or failed (also for sockets that never opened).
    pub fn handle_socket_closed(&mut self, now: Instant, socket: SocketId) {
        match &mut self.phase {
            Phase::Connecting { candidates } => {
                if let Some(c) = candidates.iter_mut().find(|c| c.socket == socket) {
                    c.state = CandidateState::Failed;
                }
                if candidates.iter().all(|c| c.state == CandidateState::Failed) {
                    tracing::info!("no Oktell server reachable");
                    self.lose_connection(now);
                }
            }
            Phase::LoggingOut { link } if *link == socket => self.finish_logout(),
            Phase::LoggingIn { link } | Phase::Syncing { link, .. } | Phase::Connected { link } if *link == socket => {
                tracing::info!("Oktell connection lost");
                self.lose_connection(now);
            }
            _ => {}
        }
    }

    /// One text frame arrived on a socket.
    ///
    /// Malformed input is returned as an error and otherwise ignored; it never
    /// changes the session's state.
    pub fn handle_frame(&mut self, now: Instant, socket: SocketId, text: &str) -> Result<(), FrameError> {
        if text.len() > self.config.max_frame_len {
            return Err(MalformedFrame::TooLarge {
                len: text.len(),
                limit: self.config.max_frame_len,
            }
            .into());
        }
        if let Phase::Connecting { .. } = self.phase {
            let frame = Frame::decode(text)?;
            self.handshake_frame(now, socket, &frame);
            return Ok(());
        }
        if self.link() != Some(socket) {
            return Ok(());
        }
        let frame = Frame::decode(text)?;
        if frame.name == MULTIPART {
            let Some(joined) = self.reassembler.accept(now, &frame.body)? else {
                return Ok(());
            };
            let inner = Frame::decode(&joined).map_err(crate::error::MultipartError::from)?;
            self.message(now, inner);
        } else {
            self.message(now, frame);
        }
        Ok(())
    }

    /// Time passed: fire due timers, request timeouts and multipart expiry.
    pub fn handle_timeout(&mut self, now: Instant) {
        while let Some(timer) = self.timers.pop_expired(now) {
            tracing::debug!(?timer, "timer fired");
            match timer {
                Timer::Keepalive => {
                    if let Some(link) = self.link() {
                        let qid = next_qid(&mut self.rng, &mut self.qid_counter);
                        if let Ok(text) = msg::encode(&Request::Ping {}, &self.config.login, &qid) {
                            self.transmits.push_back(Transmit { socket: link, text });
                        }
                        self.timers.set(Timer::Keepalive, now + self.config.keepalive);
                    }
                }
                Timer::QueuePoll => {
                    if !self.pending.values().any(|p| p.purpose == Purpose::Queue) {
                        self.fire(now, Request::GetCurrentQueue {}, Purpose::Queue);
                    }
                    self.timers.set(Timer::QueuePoll, now + self.config.queue_poll);
                }
                Timer::OpenTimeout => {
                    if let Phase::Connecting { .. } = self.phase {
                        tracing::info!("connection attempt timed out");
                        self.lose_connection(now);
                    }
                }
                Timer::Reconnect => self.start_attempt(now),
                Timer::LogoutGrace => {
                    if let Phase::LoggingOut { link } = self.phase {
                        self.actions.push_back(Action::Close { socket: link });
                        self.finish_logout();
                    }
                }
            }
        }
        let expired: Vec<String> = self
            .pending
            .iter()
            .filter(|(_, p)| p.deadline <= now)
            .map(|(q, _)| q.clone())
            .collect();
        for qid in expired {
            if let Some(p) = self.pending.remove(&qid) {
                self.request_timed_out(now, p);
            }
        }
        for error in self.reassembler.expire(now) {
            tracing::warn!(%error, "multipart message dropped");
        }
    }

    /// Runs an operator command. `Ok` means it was sent; the outcome arrives
    /// as [`Event::CommandSucceeded`] or [`Event::CommandFailed`].
    pub fn command(&mut self, now: Instant, command: Command) -> Result<RequestId, CommandError> {
        match command {
            Command::Shutdown => return Ok(self.shutdown()),
            Command::Logout => return Ok(self.logout(now)),
            _ => {}
        }
        if !matches!(self.phase, Phase::Connected { .. }) {
            return Err(CommandError::NotConnected);
        }
        let id = RequestId(self.next_request);
        self.next_request += 1;
        let (request, then) = self.plan(&command)?;
        self.send(now, request, Purpose::Command { id, then })
            .map_err(|reason| CommandError::Encode {
                method: command.name(),
                reason,
            })?;
        Ok(id)
    }

    // ----- connection ----------------------------------------------------

    fn link(&self) -> Option<SocketId> {
        match self.phase {
            Phase::LoggingIn { link }
            | Phase::Syncing { link, .. }
            | Phase::Connected { link }
            | Phase::LoggingOut { link } => Some(link),
            Phase::Connecting { .. } | Phase::Waiting | Phase::Closed => None,
        }
    }

    fn new_socket(&mut self, candidate: usize) -> SocketId {
        self.next_serial += 1;
        SocketId {
            candidate,
            serial: self.next_serial,
        }
    }

    fn start_attempt(&mut self, now: Instant) {
        self.attempt += 1;
        let mut candidates = Vec::with_capacity(self.urls.len());
        for (index, url) in self.urls.clone().into_iter().enumerate() {
            let socket = self.new_socket(index);
            self.actions.push_back(Action::Open {
                socket,
                url: url.clone(),
                subprotocol: msg::SUBPROTOCOL,
            });
            candidates.push(Candidate {
                socket,
                url,
                state: CandidateState::Opening,
                ping_qid: None,
            });
        }
        self.phase = Phase::Connecting { candidates };
        self.timers.set(Timer::OpenTimeout, now + self.config.open_timeout);
        self.report(ConnectionState::Connecting { attempt: self.attempt });
    }

    fn handshake_frame(&mut self, now: Instant, socket: SocketId, frame: &Frame) {
        let Phase::Connecting { candidates } = &mut self.phase else {
            return;
        };
        let Some(c) = candidates.iter_mut().find(|c| c.socket == socket) else {
            return;
        };
        if c.state != CandidateState::AwaitingPong {
            return;
        }
        if frame.name == WEBSOCKET_REDIRECT {
            let url = crate::url::secure_redirect(&c.url, self.config.secure_redirect_port);
            c.state = CandidateState::Failed;
            let index = socket.candidate;
            self.actions.push_back(Action::Close { socket });
            let secure = self.new_socket(index);
            tracing::info!(%url, "server demands a secure socket");
            self.actions.push_back(Action::Open {
                socket: secure,
                url: url.clone(),
                subprotocol: msg::SUBPROTOCOL,
            });
            if let Phase::Connecting { candidates } = &mut self.phase {
                candidates.push(Candidate {
                    socket: secure,
                    url,
                    state: CandidateState::OpeningSecure,
                    ping_qid: None,
                });
            }
        } else if c.ping_qid.is_some() && frame.qid() == c.ping_qid {
            self.win(now, socket);
        }
    }

    fn win(&mut self, now: Instant, socket: SocketId) {
        let Phase::Connecting { candidates } = std::mem::replace(&mut self.phase, Phase::Waiting) else {
            return;
        };
        for c in candidates {
            if c.socket != socket && c.state != CandidateState::Failed {
                self.actions.push_back(Action::Close { socket: c.socket });
            }
        }
        self.timers.stop(Timer::OpenTimeout);
        self.subscribed.clear();
        self.reassembler.clear();
        self.rereads.reset();
        let with_password = self.digests.is_some() && !(self.logged_in_once && self.session_id.is_some());
        self.phase = Phase::LoggingIn { link: socket };
        self.report(ConnectionState::LoggingIn);
        self.send_login(now, with_password);
    }

    fn send_login(&mut self, now: Instant, with_password: bool) {
        let (typed, lowered, sessionid) = match (&self.digests, with_password) {
            (Some(d), true) => (Some(d.typed.clone()), Some(d.lowered.clone()), None),
            _ => (None, None, self.session_id.clone()),
        };
        let request = Request::Login(LoginRequest {
            typed_digest: typed,
            lowered_digest: lowered,
            sessionid,
            showid: 1,
            usewebrtc: self.config.use_webrtc,
            workplace: self.config.workplace.clone(),
            expires: self.config.expires,
        });
        self.fire(now, request, Purpose::Login { with_password });
    }

    /// The link (or every candidate) is gone: fail what was in flight and
    /// schedule the next attempt.
    fn lose_connection(&mut self, now: Instant) {
        if let Phase::Connecting { candidates } = &self.phase {
            for c in candidates {
                if c.state != CandidateState::Failed {
                    self.actions.push_back(Action::Close { socket: c.socket });
                }
            }
        } else if let Some(link) = self.link() {
            self.actions.push_back(Action::Close { socket: link });
        }
        self.drop_link_state();
        self.phase = Phase::Waiting;
        let delay = self.config.backoff.delay(self.attempt, &mut self.rng);
        self.timers.set(Timer::Reconnect, now + delay);
        self.report(ConnectionState::Reconnecting {
            attempt: self.attempt + 1,
            delay,
        });
    }

    fn drop_link_state(&mut self) {
        for (_, p) in std::mem::take(&mut self.pending) {
            if let Purpose::Command { id, .. } = p.purpose {
                self.events.push_back(Event::CommandFailed {
                    id,
                    failure: CommandFailure::ConnectionLost { method: p.method },
                });
            }
        }
        self.subscribed.clear();
        self.reassembler.clear();
        self.rereads.reset();
        self.line.link_lost();
        self.handled_conference = None;
        self.timers.clear();
    }

    fn close(&mut self, reason: CloseReason) {
        if let Some(link) = self.link() {
            self.actions.push_back(Action::Close { socket: link });
        } else if let Phase::Connecting { candidates } = &self.phase {
            for c in candidates {
                if c.state != CandidateState::Failed {
                    self.actions.push_back(Action::Close { socket: c.socket });
                }
            }
        }
        self.drop_link_state();
        self.phase = Phase::Closed;
        if self.line.force_disconnected() {
            self.events.push_back(Event::Line(self.line.view().clone()));
        }
        self.report(ConnectionState::Closed(reason));
    }

    fn shutdown(&mut self) -> RequestId {
        let id = RequestId(self.next_request);
        self.next_request += 1;
        if !matches!(self.phase, Phase::Closed) {
            self.close(CloseReason::Shutdown);
        }
        id
    }

    /// Logged in: send `logout` and wait for the server to close (§2.7).
    /// Not logged in (connecting, backing off): just stop and forget the session.
    fn logout(&mut self, now: Instant) -> RequestId {
        let id = RequestId(self.next_request);
        self.next_request += 1;
        match self.phase {
            Phase::Syncing { link, .. } | Phase::Connected { link } => {
                self.fire(now, Request::Logout {}, Purpose::Logout);
                self.timers.clear();
                self.phase = Phase::LoggingOut { link };
                self.timers.set(Timer::LogoutGrace, now + self.config.logout_grace);
                self.session_id = None;
                self.report(ConnectionState::LoggingOut);
            }
            Phase::Connecting { .. } | Phase::LoggingIn { .. } | Phase::Waiting => {
                self.session_id = None;
                self.finish_logout();
            }
            Phase::LoggingOut { .. } | Phase::Closed => {}
        }
        id
    }

    fn finish_logout(&mut self) {
        self.agent = AgentState::disconnected();
        self.events.push_back(Event::Agent(self.agent.clone()));
        self.close(CloseReason::LoggedOut);
    }

    fn report(&mut self, state: ConnectionState) {
        self.events.push_back(Event::Connection(state));
    }

    // ----- requests ------------------------------------------------------

    fn send(&mut self, now: Instant, request: Request, purpose: Purpose) -> Result<(), String> {
        let Some(link) = self.link() else {
            return Err("no connection".into());
        };
        let qid = next_qid(&mut self.rng, &mut self.qid_counter);
        let text = msg::encode(&request, &self.config.login, &qid).map_err(|e| e.to_string())?;
        tracing::trace!(method = request.method(), "request");
        self.pending.insert(
            qid,
            Pending {
                purpose,
                method: request.method(),
                deadline: now + self.config.request_timeout,
            },
        );
        self.transmits.push_back(Transmit { socket: link, text });
        Ok(())
    }

    /// Sends a request whose encoding cannot fail in practice (fixed shapes,
    /// string keys); a failure is logged as our bug rather than propagated.
    fn fire(&mut self, now: Instant, request: Request, purpose: Purpose) {
        let method = request.method();
        if let Err(reason) = self.send(now, request, purpose) {
            tracing::error!(method, %reason, "request not sent");
        }
    }

    fn subscribe(&mut self, now: Instant, name: &str) {
        if self.subscribed.insert(name.to_owned()) {
            self.fire(now, Request::subscribe(name), Purpose::Subscribe(vec![name.into()]));
        }
    }

    fn supports(&self, minimum: i64) -> bool {
        self.dated.is_none_or(|d| d >= minimum)
    }

    fn request_timed_out(&mut self, now: Instant, p: Pending) {
        tracing::warn!(method = p.method, "no reply in time");
        let after = self.config.request_timeout;
        match p.purpose {
            Purpose::Login { .. } => self.lose_connection(now),
            Purpose::Step(step) => self.step_done(now, step, None),
            Purpose::LineRead => self.line_read_done(now, None),
            Purpose::Command { id, .. } => self.events.push_back(Event::CommandFailed {
                id,
                failure: CommandFailure::Timeout {
                    method: p.method,
                    after,
                },
            }),
            Purpose::Logout => {}
            Purpose::Queue
            | Purpose::BreakReasons
            | Purpose::ConferenceInfo(_)
            | Purpose::Subscribe(_)
            | Purpose::Ignore => {}
        }
    }

    // ----- incoming ------------------------------------------------------

    fn message(&mut self, now: Instant, frame: Frame) {
        if let Some(p) = frame.qid().and_then(|qid| self.pending.remove(&qid)) {
            return self.reply(now, p, &frame.body);
        }
        let event = ServerEvent::from_frame(&frame.name, &frame.body);
        if frame.qid().is_some() && matches!(event, ServerEvent::Unknown { .. }) {
            // A late, duplicate or foreign reply: never re-run anything.
            tracing::debug!(name = %frame.name, "reply without a pending request dropped");
            return;
        }
        self.server_event(now, event);
    }

    fn reply(&mut self, now: Instant, p: Pending, body: &Map<String, Value>) {
        let outcome = Outcome::of(body);
        match p.purpose {
            Purpose::Login { with_password } => self.login_reply(now, with_password, &outcome, body),
            Purpose::Step(step) => self.step_done(now, step, outcome.ok.then_some(body)),
            Purpose::LineRead => self.line_read_done(now, outcome.ok.then_some(body)),
            Purpose::Queue => {
                if outcome.ok
                    && let Some(q) = reply::decode::<reply::CurrentQueue>(body)
                {
                    let queue: Vec<Abonent> = q.queue.iter().filter_map(Abonent::from_raw).collect();
                    if queue != self.queue {
                        self.queue = queue;
                        self.events.push_back(Event::Queue(self.queue.clone()));
                    }
                }
            }
            Purpose::BreakReasons => self.break_reasons_reply(outcome.ok.then_some(body)),
            Purpose::ConferenceInfo(id) => {
                if outcome.ok
                    && let Some(info) = reply::decode::<reply::ConferenceInfo>(body)
                {
                    let parties = conference_abonents(
                        &info.competitors,
                        info.conference.isghost,
                        self.user_id.as_deref(),
                        self.my_number.as_deref(),
                    );
                    if self.line.set_conference_parties(&id, parties) {
                        self.events.push_back(Event::Line(self.line.view().clone()));
                    }
                }
            }
            Purpose::Subscribe(_) | Purpose::Ignore | Purpose::Logout => {}
            Purpose::Command { id, then } => self.command_reply(now, id, p.method, then, &outcome, body),
        }
    }

    fn login_reply(&mut self, now: Instant, with_password: bool, outcome: &Outcome, body: &Map<String, Value>) {
        let Some(link) = self.link() else { return };
        if !outcome.is_clean_success() {
            let error = LoginError::from_reply(outcome.error, outcome.errormsg.as_deref());
            self.events.push_back(Event::LoginFailed(error.clone()));
            if error == LoginError::SessionExpired && !with_password && self.digests.is_some() {
                tracing::info!("session refused; logging in with the password");
                self.session_id = None;
                self.send_login(now, true);
            } else if error.is_transient() {
                self.lose_connection(now);
            } else {
                if error == LoginError::SessionExpired {
                    self.session_id = None;
                }
                self.close(CloseReason::LoginRefused(error));
            }
            return;
        }
        let login = reply::decode::<reply::LoginReply>(body).unwrap_or_default();
        let Some(user_id) = login.userid.clone() else {
            self.events.push_back(Event::LoginFailed(LoginError::NoUserId));
            self.close(CloseReason::LoginRefused(LoginError::NoUserId));
            return;
        };
        if login.sessionid.is_some() {
            self.session_id.clone_from(&login.sessionid);
        }
        self.user_id = Some(user_id.clone());
        self.logged_in_once = true;
        self.events.push_back(Event::LoggedIn {
            user_id,
            session_id: self.session_id.clone().map(SessionId),
        });
        self.phase = Phase::Syncing { link, line_step: false };
        self.report(ConnectionState::Syncing);
        // §2.6 steps 2–5: queue, subscriptions, version (the chain starts).
        self.fire(now, Request::GetCurrentQueue {}, Purpose::Queue);
        self.timers.set(Timer::QueuePoll, now + self.config.queue_poll);
        self.timers.set(Timer::Keepalive, now + self.config.keepalive);
        // oktell.js forgets `customevent` after a reconnect; we re-send it.
        self.subscribe(now, "customevent");
        self.subscribe(now, "userstatechanged");
        self.fire(
            now,
            Request::GetVersion {
                showalloweddbstoredprocs: 1,
            },
            Purpose::Step(Step::Version),
        );
    }

    /// A chain step finished; `body` is `None` on failure or timeout.
    fn step_done(&mut self, now: Instant, step: Step, body: Option<&Map<String, Value>>) {
        if !matches!(self.phase, Phase::Syncing { .. }) {
            return;
        }
        match step {
            Step::Version => {
                let Some(v) = body.and_then(reply::decode::<reply::VersionReply>) else {
                    return self.sync_failed(now, SyncError::Version);
                };
                self.dated = v.version.dated;
                if let Some(dated) = self.dated
                    && dated < dated::USER_INFO
                {
                    let error = SyncError::TooOld {
                        dated,
                        minimum: dated::USER_INFO,
                    };
                    self.events.push_back(Event::SyncFailed(error.clone()));
                    return self.close(CloseReason::Incompatible(error));
                }
                self.events.push_back(Event::Version(v.version));
                self.next_step(now, Step::UserInfo);
            }
            Step::UserInfo => {
                let Some(info) = body.and_then(reply::decode::<reply::MyUserInfo>) else {
                    return self.sync_failed(now, SyncError::UserInfo);
                };
                self.my_number.clone_from(&info.mainpbxnumber);
                self.events.push_back(Event::UserInfo(info));
                let next = if self.supports(dated::LUNCH_TYPES) {
                    Step::LunchTypes
                } else {
                    Step::UserState
                };
                self.next_step(now, next);
            }
            Step::LunchTypes => {
                self.break_reasons_reply(body);
                self.next_step(now, Step::UserState);
            }
            Step::UserState => {
                if let Some(state) = body.and_then(reply::decode::<reply::UserStateBody>) {
                    self.apply_user_state(now, &state, false);
                }
                let next = if self.supports(dated::FLASH) {
                    Step::RedirectRules
                } else {
                    Step::PbxNumbers
                };
                self.next_step(now, next);
            }
            Step::RedirectRules => {
                if let Some(rules) = body.and_then(reply::decode::<reply::RedirectRules>) {
                    let number = self.own_redirect_number(&rules);
                    self.events.push_back(Event::RedirectNumber(number.clone()));
                    self.redirect_number = number;
                }
                self.next_step(now, Step::PbxNumbers);
            }
            Step::PbxNumbers => {
                if let Some(n) = body.and_then(reply::decode::<reply::PbxNumbers>) {
                    self.events.push_back(Event::Numbers(n.numbers));
                }
                self.subscribe(now, "pbxnumberstatechanged");
                if self.supports(dated::USERS) {
                    self.next_step(now, Step::Users);
                } else {
                    self.sync_line(now);
                }
            }
            Step::Users => match body.and_then(reply::decode::<reply::AllUserNumbers>) {
                Some(u) => {
                    self.events.push_back(Event::Users(u.users));
                    self.next_step(now, Step::Photos);
                }
                None => self.sync_line(now),
            },
            Step::Photos => {
                if let Some(p) = body.and_then(reply::decode::<reply::PhotoLinks>) {
                    self.events.push_back(Event::Avatars(p.links));
                }
                self.sync_line(now);
            }
        }
    }

    fn next_step(&mut self, now: Instant, step: Step) {
        let request = match step {
            Step::Version => Request::GetVersion {
                showalloweddbstoredprocs: 1,
            },
            Step::UserInfo => Request::GetMyUserInfo {},
            Step::LunchTypes => Request::CcGetLunchTypes {},
            Step::UserState => Request::GetUserState {},
            Step::RedirectRules => Request::GetRedirectRules {},
            Step::PbxNumbers => Request::GetPbxNumbers { mode: "full" },
            Step::Users => Request::GetAllUserNumbers { fillsubordinates: true },
            Step::Photos => Request::GetAllUserPhotoLink { mode: "page" },
        };
        self.fire(now, request, Purpose::Step(step));
    }

    fn sync_failed(&mut self, now: Instant, error: SyncError) {
        tracing::warn!(%error, "post-login step failed");
        self.events.push_back(Event::SyncFailed(error));
        self.lose_connection(now);
    }

    /// §2.6 steps 15–18, after the first line read.
    fn finish_sync(&mut self, now: Instant) {
        let Phase::Syncing { link, line_step: true } = self.phase else {
            return;
        };
        for name in LINE_EVENTS {
            self.subscribe(now, name);
        }
        if self.supports(dated::LUNCH_TYPES) {
            self.fire(now, Request::CcGetLunchTypes {}, Purpose::BreakReasons);
        }
        self.subscribe(now, "httpresponsecopy");
        for name in self.config.native_events.clone() {
            self.subscribe(now, &name);
        }
        self.phase = Phase::Connected { link };
        self.attempt = 0;
        self.report(ConnectionState::Connected);
    }

    fn break_reasons_reply(&mut self, body: Option<&Map<String, Value>>) {
        if let Some(types) = body.and_then(reply::decode::<reply::LunchTypes>)
            && types.items != self.reasons
        {
            self.reasons = types.items;
            self.events.push_back(Event::BreakReasons(self.reasons.clone()));
        }
    }

    /// The library's own rule id: MD5 of `lower(userid)` twice (§3.2).
    fn own_redirect_number(&self, rules: &reply::RedirectRules) -> Option<String> {
        let user = self.user_id.as_deref()?.to_lowercase();
        let own = md5_cp1251_hex(&format!("{user}{user}"));
        rules
            .redirectrules
            .iter()
            .find(|r| {
                r.id.as_deref()
                    .is_some_and(|id| id.replace('-', "").to_lowercase() == own)
            })
            .and_then(|r| r.destinationnumber.clone())
    }

    fn apply_user_state(&mut self, now: Instant, body: &reply::UserStateBody, live: bool) {
        let honour = self.supports(dated::ONTASK) && self.dated.is_some();
        let Some(state) = AgentState::from_body(body, honour) else {
            return;
        };
        if state == self.agent {
            return;
        }
        let changed_id = state.state != self.agent.state;
        self.agent = state;
        self.events.push_back(Event::Agent(self.agent.clone()));
        if self.agent.state == UserStateId::NoPhone && self.line.force_disconnected() {
            self.events.push_back(Event::Line(self.line.view().clone()));
        }
        if live && changed_id {
            self.read_line(now);
        }
    }

    // ----- line ------------------------------------------------------------

    /// §2.6 step 14: the chain's own line read; its reply completes the sync.
    fn sync_line(&mut self, now: Instant) {
        if let Phase::Syncing { line_step, .. } = &mut self.phase {
            *line_step = true;
        }
        self.read_line(now);
    }

    fn read_line(&mut self, now: Instant) {
        if let Phase::Syncing { line_step: false, .. } = self.phase {
            return;
        }
        if self.rereads.request() {
            self.fire(now, Request::GetExtendedLineInfo {}, Purpose::LineRead);
        }
    }

    fn line_read_done(&mut self, now: Instant, body: Option<&Map<String, Value>>) {
        if let Some(info) = body.and_then(reply::decode::<reply::LineInfo>) {
            let change = self.line.apply(now, &info);
            if change.hold {
                self.events.push_back(Event::Hold(self.line.view().hold.clone()));
            }
            if change.line {
                self.events.push_back(Event::Line(self.line.view().clone()));
            }
            self.track_conference(now);
        }
        if self.rereads.completed() {
            self.fire(now, Request::GetExtendedLineInfo {}, Purpose::LineRead);
        }
        if matches!(self.phase, Phase::Syncing { line_step: true, .. }) && !self.rereads.in_flight() {
            self.finish_sync(now);
        }
    }

    /// Keeps `confhandleevent` in step with the conference the line is in
    /// and loads its parties (§5.5).
    fn track_conference(&mut self, now: Instant) {
        let current = self.line.view().conference.clone();
        if current == self.handled_conference {
            return;
        }
        if let Some(old) = self.handled_conference.take() {
            self.fire(
                now,
                Request::ConfHandleEvent {
                    conferenceid: old,
                    eventtype: "competitors",
                    handle: false,
                },
                Purpose::Ignore,
            );
        }
        if let Some(id) = current {
            self.enter_conference(now, id);
        }
    }

    fn enter_conference(&mut self, now: Instant, id: String) {
        self.handled_conference = Some(id.clone());
        self.fire(
            now,
            Request::ConfHandleEvent {
                conferenceid: id.clone(),
                eventtype: "competitors",
                handle: true,
            },
            Purpose::Ignore,
        );
        self.fire(
            now,
            Request::GetConferenceInfo {
                conferenceid: id.clone(),
            },
            Purpose::ConferenceInfo(id),
        );
    }

    fn server_event(&mut self, now: Instant, event: ServerEvent) {
        if !matches!(self.phase, Phase::Syncing { .. } | Phase::Connected { .. }) {
            return;
        }
        match event {
            ServerEvent::UserStateChanged(body) => self.apply_user_state(now, &body, true),
            ServerEvent::PbxNumberStateChanged(states) => {
                self.events.push_back(Event::NumberStates(states));
            }
            ServerEvent::AcmCallStarted => {
                self.line.auto_call_started();
                self.read_line(now);
            }
            ServerEvent::IvrStarted { routing } => {
                if routing && self.line.view().state == PhoneState::Ready {
                    self.read_line(now);
                }
            }
            ServerEvent::CommStarted {
                conference: true,
                conference_id: Some(id),
            } => {
                if self.handled_conference.as_deref() != Some(id.as_str()) {
                    self.enter_conference(now, id);
                }
                self.read_line(now);
            }
            ServerEvent::LineStateChanged
            | ServerEvent::FlashStateChanged
            | ServerEvent::AcmCallStopped
            | ServerEvent::RingStarted
            | ServerEvent::RingStopped
            | ServerEvent::CommStarted { .. }
            | ServerEvent::CommStopped => self.read_line(now),
            ServerEvent::ConfCompositionChanged {
                conference_id: Some(id),
                competitors,
            } => {
                let parties =
                    conference_abonents(&competitors, false, self.user_id.as_deref(), self.my_number.as_deref());
                if self.line.set_conference_parties(&id, parties) {
                    self.events.push_back(Event::Line(self.line.view().clone()));
                }
                self.read_line(now);
            }
            ServerEvent::ConfCompetitorStateChanged {
                conference_id: Some(id),
                competitor,
            } => {
                if self.line.update_conference_party(&id, &competitor) {
                    self.events.push_back(Event::Line(self.line.view().clone()));
                }
            }
            ServerEvent::ConfCompositionChanged { .. } | ServerEvent::ConfCompetitorStateChanged { .. } => {}
            ServerEvent::CustomEvent { name, param } => {
                self.events.push_back(Event::Custom { name, param });
            }
            ServerEvent::HttpResponseCopy { .. } => {}
            ServerEvent::Unknown { name, raw } => {
                if self.subscribed.contains(&name) {
                    self.events.push_back(Event::Native { name, raw });
                } else {
                    tracing::debug!(%name, "unsubscribed event ignored");
                }
            }
        }
    }

    // ----- commands ----------------------------------------------------------

    fn plan(&mut self, command: &Command) -> Result<(Request, Then), CommandError> {
        let view = self.line.view();
        let state = view.state;
        let held = view.hold.is_held();
        let conference = view.conference.clone();
        let wrong = |command: &Command| CommandError::InvalidLineState {
            command: command.name(),
            state: state.as_str(),
        };
        let need_flash = |s: &Self| {
            if s.supports(dated::FLASH) {
                Ok(())
            } else {
                Err(CommandError::InvalidLineState {
                    command: command.name(),
                    state: "unsupported by this server",
                })
            }
        };
        let done = |r: Request| Ok((r, Then::Done));
        match command {
            Command::Call { number, sequence } => {
                let number = non_empty(number)?;
                if !(state == PhoneState::Ready || (state == PhoneState::Talk && !held)) {
                    return Err(wrong(command));
                }
                done(Request::PbxAutoCallStart {
                    sequence: *sequence,
                    intercom: None,
                    number,
                })
            }
            Command::Intercom { number } => {
                let number = non_empty(number)?;
                if !(state == PhoneState::Ready || (state == PhoneState::Talk && !held)) {
                    return Err(wrong(command));
                }
                done(Request::PbxAutoCallStart {
                    sequence: Sequence::User,
                    intercom: Some(true),
                    number,
                })
            }
            Command::Answer => {
                if !self.supports(dated::ANSWER) {
                    return Err(CommandError::RemoteAnswerUnsupported);
                }
                if !matches!(state, PhoneState::Ring | PhoneState::BackRing) {
                    return Err(wrong(command));
                }
                done(Request::PbxAnswerCall {})
            }
            Command::Hangup => match state {
                PhoneState::BackCall => done(Request::PbxAutoCallAbort {}),
                PhoneState::Ring | PhoneState::BackRing => done(Request::PbxDeclineCall {}),
                PhoneState::Talk | PhoneState::Call if held => {
                    need_flash(self)?;
                    done(Request::PbxMakeFlash { mode: FlashMode::Abort })
                }
                PhoneState::Talk | PhoneState::Call => done(Request::PbxAbortCall {}),
                PhoneState::Ready if held => done(Request::PbxAbortCall {}),
                PhoneState::Ready | PhoneState::Disconnected => Err(wrong(command)),
            },
            Command::Decline => {
                if !matches!(state, PhoneState::Ring | PhoneState::BackRing) {
                    return Err(wrong(command));
                }
                done(Request::PbxDeclineCall {})
            }
            Command::Hold => {
                need_flash(self)?;
                if state != PhoneState::Talk || held {
                    return Err(wrong(command));
                }
                done(Request::PbxMakeFlash {
                    mode: FlashMode::Switch,
                })
            }
            Command::Resume | Command::Toggle => {
                need_flash(self)?;
                if !held {
                    return Err(CommandError::NoHold);
                }
                done(Request::PbxMakeFlash {
                    mode: FlashMode::Switch,
                })
            }
            Command::Transfer { to } => {
                need_flash(self)?;
                let to = non_empty(to)?;
                if state != PhoneState::Talk {
                    return Err(wrong(command));
                }
                done(Request::PbxMakeTransfer { transferto: to })
            }
            Command::Commutate => {
                if !held {
                    return Err(CommandError::NoHold);
                }
                if !matches!(state, PhoneState::Talk | PhoneState::Call) {
                    return Err(wrong(command));
                }
                done(Request::PbxAbortCall {})
            }
            Command::ConferenceCreate { invitees } => {
                if invitees.iter().all(|i| i.trim().is_empty()) {
                    return Err(CommandError::NoNumber);
                }
                if state != PhoneState::Ready {
                    return Err(wrong(command));
                }
                let id = random_guid(&mut self.rng);
                let room = self.rng.random_range(0..=10_000);
                let mut competitors = vec![Invitee::Userlogin(self.config.login.clone())];
                competitors.extend(self.invitees(invitees));
                Ok((
                    Request::CreateNewConference {
                        conference: NewConference::new(id.clone(), room),
                        competitors,
                    },
                    Then::EnterConference(id),
                ))
            }
            Command::ConferenceFromCall => {
                if state != PhoneState::Talk || conference.is_some() {
                    return Err(wrong(command));
                }
                done(Request::BuildConferenceFromCommutation {})
            }
            Command::ConferenceInvite { invitees } => {
                let id = conference.ok_or(CommandError::NotInConference)?;
                let competitors = self.invitees(invitees);
                if competitors.is_empty() {
                    return Err(CommandError::NoNumber);
                }
                done(Request::InviteToConference {
                    conferenceid: id,
                    competitors,
                })
            }
            Command::ConferenceAddHeld => {
                conference.ok_or(CommandError::NotInConference)?;
                if !held {
                    return Err(CommandError::NoHold);
                }
                Ok((Request::CheckCanConnectTogatherToConference {}, Then::ConnectHeld))
            }
            Command::ConferenceDrop { competitor_id } => {
                let id = conference.ok_or(CommandError::NotInConference)?;
                done(Request::ConfDisconnectCompetitor {
                    conferenceid: id,
                    competitor: CompetitorRef {
                        competitorid: competitor_id.clone(),
                        ghosthelp: None,
                    },
                })
            }
            Command::ConferenceLeave => {
                let id = conference.ok_or(CommandError::NotInConference)?;
                done(Request::ExitConference { conferenceid: id })
            }
            Command::GhostListen { user_id } => {
                if state != PhoneState::Ready {
                    return Err(wrong(command));
                }
                Ok((
                    Request::AttachAsGhost {
                        ghostedid: non_empty(user_id)?,
                    },
                    Then::Ghost,
                ))
            }
            Command::GhostMode(mode) => {
                let id = conference.ok_or(CommandError::NotInConference)?;
                done(Request::ConfSetGhostMode {
                    conferenceid: id,
                    ghostmode: *mode,
                })
            }
            Command::SetStatus(request) => {
                let mut bodies =
                    set_status_bodies(*request, &self.agent, &self.reasons, self.redirect_number.as_deref())?
                        .into_iter();
                let first = bodies.next().ok_or(CommandError::NoBreakReasons)?;
                Ok((
                    Request::SetUserState(first.clone()),
                    Then::Status {
                        reason: first.lunchreasonid,
                        next: bodies.next(),
                    },
                ))
            }
            Command::CustomEvent {
                name,
                param,
                recipients,
                send_back,
            } => {
                need_flash(self)?;
                let user_id = self.user_id.clone().ok_or(CommandError::NotConnected)?;
                done(Request::TriggerCustomEvent {
                    userlogin: self.config.login.clone(),
                    userid: user_id,
                    eventname: non_empty(name)?,
                    eventparam: param.clone(),
                    recipients: recipients
                        .as_ref()
                        .map_or(Value::Bool(false), |r| Value::from(r.clone())),
                    sendback: if *send_back { Value::from(1) } else { Value::from("0") },
                })
            }
            // Handled before planning: they need no connection.
            Command::Logout | Command::Shutdown => Err(CommandError::NotConnected),
        }
    }

    /// GUID-looking entries become `{userid}`, others `{number}` (or
    /// `{intnumber}` for servers older than 140929).
    fn invitees(&self, invitees: &[String]) -> Vec<Invitee> {
        let numbers = self.supports(dated::NUMBER_INVITES);
        invitees
            .iter()
            .map(|i| i.trim())
            .filter(|i| !i.is_empty())
            .map(|i| {
                if looks_like_guid(i) {
                    Invitee::Userid(i.to_owned())
                } else if numbers {
                    Invitee::Number(i.to_owned())
                } else {
                    Invitee::Intnumber(i.to_owned())
                }
            })
            .collect()
    }

    fn command_reply(
        &mut self,
        now: Instant,
        id: RequestId,
        method: &'static str,
        then: Then,
        outcome: &Outcome,
        body: &Map<String, Value>,
    ) {
        if !outcome.ok {
            let failure = if then == Then::Ghost && outcome.error == Some(52710) {
                CommandFailure::NoRights
            } else {
                CommandFailure::Rejected {
                    method,
                    code: outcome.error,
                    message: outcome.errormsg.clone().unwrap_or_else(|| "no message".into()),
                }
            };
            self.events.push_back(Event::CommandFailed { id, failure });
            return;
        }
        match then {
            Then::Done | Then::Ghost => {}
            Then::Status { reason, next } => {
                // The reply is the new full state (§3.2).
                if let Some(mut state) = reply::decode::<reply::UserStateBody>(body)
                    && state.userstateid.is_some()
                {
                    if state.lunchreasonid.is_none() {
                        state.lunchreasonid = reason;
                    }
                    self.apply_user_state(now, &state, true);
                }
                if let Some(next) = next {
                    let then = Then::Status {
                        reason: None,
                        next: None,
                    };
                    self.fire(now, Request::SetUserState(next), Purpose::Command { id, then });
                    return;
                }
            }
            Then::ConnectHeld => {
                let can = reply::decode::<reply::CanConnectTogather>(body).is_some_and(|c| c.canconnecttogather);
                if !can {
                    self.events.push_back(Event::CommandFailed {
                        id,
                        failure: CommandFailure::Rejected {
                            method,
                            code: None,
                            message: "the held party cannot join this conference".into(),
                        },
                    });
                    return;
                }
                self.fire(
                    now,
                    Request::ConnectTogatherToConference {},
                    Purpose::Command { id, then: Then::Done },
                );
                return;
            }
            Then::EnterConference(conference) => {
                if outcome.ok && self.handled_conference.as_deref() != Some(conference.as_str()) {
                    self.enter_conference(now, conference);
                }
                self.read_line(now);
            }
        }
        self.events.push_back(Event::CommandSucceeded { id });
    }
}

fn non_empty(text: &str) -> Result<String, CommandError> {
    let t = text.trim();
    if t.is_empty() {
        Err(CommandError::NoNumber)
    } else {
        Ok(t.to_owned())
    }
}

/// A qid in the form oktell.js produces (`Math.random().toString()`): a
/// decimal string in (0, 1). The random half keeps ids unguessable across
/// sessions; the counter half makes them unique within one.
fn next_qid(rng: &mut StdRng, counter: &mut u64) -> String {
    *counter += 1;
    format!(
        "0.{:08}{:08}",
        rng.random_range(0..100_000_000u64),
        *counter % 100_000_000
    )
}

fn random_guid(rng: &mut StdRng) -> String {
    let mut b: [u8; 16] = rng.random();
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        h.get(0..8).unwrap_or_default(),
        h.get(8..12).unwrap_or_default(),
        h.get(12..16).unwrap_or_default(),
        h.get(16..20).unwrap_or_default(),
        h.get(20..32).unwrap_or_default()
    )
}

fn looks_like_guid(text: &str) -> bool {
    let groups: Vec<&str> = text.split('-').collect();
    groups.len() == 5
        && groups
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(g, n)| g.len() == n && g.bytes().all(|b| b.is_ascii_hexdigit()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn qids_are_unique_decimal_fractions() {
        let mut rng = StdRng::seed_from_u64(1);
        let mut counter = 0;
        let mut seen = HashSet::new();
        for _ in 0..1000 {
            let q = next_qid(&mut rng, &mut counter);
            assert!(q.starts_with("0."));
            assert!(q[2..].bytes().all(|b| b.is_ascii_digit()));
            assert!(seen.insert(q));
        }
    }

    #[test]
    fn guids_look_like_guids() {
        let mut rng = StdRng::seed_from_u64(1);
        let g = random_guid(&mut rng);
        assert!(looks_like_guid(&g), "{g}");
        assert!(!looks_like_guid("102"));
    }

    #[test]
    fn own_redirect_rule_id_matches_the_document() {
        let user = "a1b2c3d4-0000-4000-8000-000000000101";
        assert_eq!(
            md5_cp1251_hex(&format!("{user}{user}")),
            "ff6dc3b4f3faa556634a681c9b1fa8d5"
        );
    }
}
