//! The user agent: the single entry point over registration, transactions, dialogs and calls.
//!
//! One way in (`handle_datagram`, `handle_timeout`, commands), one way out (`poll_transmit`,
//! `poll_event`, `poll_timeout`), as in str0m and quinn. Every request goes to the configured
//! outbound proxy (the PBX); every response goes back to where its request came from
//! (symmetric signalling, RFC 3581). After each input, drain `poll_transmit` and `poll_event`,
//! then sleep until `poll_timeout`.

use std::{
    collections::{BTreeMap, HashMap, VecDeque},
    fmt,
    net::SocketAddr,
    time::{Duration, Instant},
};

use rand::{RngCore, SeedableRng, rngs::StdRng};

use crate::{
    digest::{Authenticator, Credentials},
    invite::{Call, CallHandle, EndReason, ReferPolicy, SessionTimerConfig, TransferState},
    msg::{self, Limits, Message, Method, NameAddr, Request, Response, SentBy, StatusCode, Uri, Via},
    register::{RegisterConfig, RegisterEvent, Registration},
    sdp::{MediaConfig, Negotiated},
    transaction::{
        ClientEvent, ClientState, ClientTransaction, Reliability, ServerEvent, ServerTransaction, TimerConfig,
        TransactionKey, new_branch,
    },
};

/// Methods we answer; sent in Allow.
pub(crate) const ALLOW: &str = "INVITE, ACK, CANCEL, BYE, OPTIONS, REFER, NOTIFY, INFO, UPDATE";
/// Option tags we implement (RFC 3891 Replaces, RFC 4028 session timers); sent in Supported and
/// accepted in Require.
pub(crate) const SUPPORTED: &str = "replaces, timer";
/// Body types we accept in requests (OPTIONS answers list them).
const ACCEPT: &str = "application/sdp, application/dtmf-relay, application/dtmf, message/sipfrag";

/// One account on one PBX.
#[derive(Clone)]
pub struct UaConfig {
    /// Our bound UDP address (Via sent-by and Contact).
    pub local: SocketAddr,
    /// Where every request is sent: the PBX or an outbound proxy.
    pub proxy: SocketAddr,
    /// SIP domain of the account (`pbx.example.com`).
    pub domain: String,
    pub user: String,
    pub display_name: Option<String>,
    pub password: String,
    pub register_expires: u32,
    pub media: MediaConfig,
    pub timers: TimerConfig,
    pub limits: Limits,
    pub user_agent: String,
    /// Seeds every random choice (tags, branches, Call-IDs, cnonces, jitter).
    pub seed: u64,
    /// What to do when the peer of a call asks us to transfer it (REFER).
    pub refer_policy: ReferPolicy,
    /// RFC 4028 session timers: what we ask for and the least we accept.
    pub session_timer: SessionTimerConfig,
}

impl fmt::Debug for UaConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UaConfig")
            .field("local", &self.local)
            .field("proxy", &self.proxy)
            .field("domain", &self.domain)
            .field("user", &self.user)
            .finish_non_exhaustive()
    }
}

/// The transport the account's signalling uses: one flow to the proxy, a socket or a connection.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Transport {
    #[default]
    Udp,
    /// A TCP connection; the driver frames it with [`crate::stream::StreamFramer`].
    Tcp,
    /// TLS over TCP, framed like TCP.
    Tls,
}

impl Transport {
    /// The Via transport token.
    pub fn token(self) -> &'static str {
        match self {
            Transport::Udp => "UDP",
            Transport::Tcp => "TCP",
            Transport::Tls => "TLS",
        }
    }

    /// Streams deliver and retransmit for us: transactions send once (RFC 3261 §17).
    pub fn reliability(self) -> Reliability {
        match self {
            Transport::Udp => Reliability::Unreliable,
            Transport::Tcp | Transport::Tls => Reliability::Reliable,
        }
    }

    /// Whether messages arrive as a byte stream to frame.
    pub fn is_stream(self) -> bool {
        self != Transport::Udp
    }

    /// The Contact's `transport` parameter, so requests to us come back over the same kind of flow.
    fn contact_param(self) -> &'static str {
        match self {
            Transport::Udp => "",
            Transport::Tcp => ";transport=tcp",
            Transport::Tls => ";transport=tls",
        }
    }
}

/// Bytes for the socket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transmit {
    pub destination: SocketAddr,
    pub bytes: Vec<u8>,
}

/// What the application learns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UaEvent {
    Registration(RegisterEvent),
    /// A new call waits for `answer` or `reject`; we already sent 180 Ringing.
    IncomingCall {
        call: CallHandle,
        from: NameAddr,
        asserted_identity: Option<NameAddr>,
    },
    /// Our outgoing call got a provisional response (180/183), with early media if the
    /// response carried the SDP answer.
    Progress {
        call: CallHandle,
        status: u16,
        early_media: Option<Negotiated>,
    },
    /// Both sides agreed; media flows as negotiated.
    Established {
        call: CallHandle,
        media: Negotiated,
    },
    /// A re-INVITE (ours or the peer's) changed the session: hold, resume, new codec or address.
    MediaUpdated {
        call: CallHandle,
        media: Negotiated,
    },
    /// Our hold/resume re-INVITE was refused; the previous session stays in effect.
    ModifyFailed {
        call: CallHandle,
        status: u16,
    },
    /// The call ended; it is forgotten.
    Ended {
        call: CallHandle,
        reason: EndReason,
    },
}

/// What the application learns about features within a call's dialog: transfer, DTMF over
/// INFO, replacement. Kept apart from [`UaEvent`] so that consumers matching `UaEvent`
/// exhaustively keep their meaning; poll both after every input
/// ([`UserAgent::poll_dialog_event`] first).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DialogEvent {
    /// A transfer we asked for (REFER) moved on.
    Transfer { call: CallHandle, state: TransferState },
    /// The peer of `call` asked us to call `target`. With the accepting policy `new_call` is
    /// the call we placed (its progress arrives as usual `UaEvent`s and is reported to the
    /// transferor); `None` when the policy refused.
    Referred {
        call: CallHandle,
        target: Uri,
        referred_by: Option<NameAddr>,
        new_call: Option<CallHandle>,
    },
    /// An INVITE with Replaces took over `replaced` (RFC 3891): `call` is answered at once
    /// (`Established` follows) and `replaced` is hung up (`Ended` with
    /// [`EndReason::Replaced`]).
    Replaced {
        call: CallHandle,
        replaced: CallHandle,
        from: NameAddr,
    },
    /// A DTMF digit received over SIP INFO (RFC 4733 digits arrive with the media instead).
    Dtmf {
        call: CallHandle,
        digit: char,
        duration: Option<Duration>,
    },
}

/// A command that does not fit the call's state (the application's mistake).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum UaError {
    #[error("no such call")]
    UnknownCall,
    #[error("cannot {action} a call in this state")]
    InvalidState { action: &'static str },
    #[error("target is not a SIP URI")]
    InvalidTarget,
    #[error("configuration: {0}")]
    Config(&'static str),
    #[error("`{0}` is not a DTMF digit")]
    InvalidDigit(char),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Purpose {
    Invite,
    ReInvite,
    Cancel,
    Bye,
    /// A BYE re-sent with credentials after a challenge; never retried again.
    AuthenticatedBye,
    Refer,
    Notify,
    Info,
    /// An UPDATE refreshing the session (RFC 4028).
    Update,
}

#[derive(Debug)]
pub(crate) struct ClientEntry {
    pub(crate) tx: ClientTransaction,
    pub(crate) call: CallHandle,
    pub(crate) purpose: Purpose,
}

#[derive(Debug)]
pub(crate) struct ServerEntry {
    pub(crate) tx: ServerTransaction,
    pub(crate) source: SocketAddr,
}

/// The SIP user agent for one account.
#[derive(Debug)]
pub struct UserAgent {
    pub(crate) config: UaConfig,
    transport: Transport,
    pub(crate) rng: StdRng,
    pub(crate) auth: Authenticator,
    registration: Registration,
    pub(crate) clients: HashMap<TransactionKey, ClientEntry>,
    pub(crate) servers: HashMap<TransactionKey, ServerEntry>,
    pub(crate) calls: BTreeMap<CallHandle, Call>,
    next_call: u64,
    transmits: VecDeque<Transmit>,
    pub(crate) events: VecDeque<UaEvent>,
    dialog_events: VecDeque<DialogEvent>,
}

impl UserAgent {
    /// A user agent on UDP. Fails only when the account settings cannot form SIP URIs.
    pub fn new(config: UaConfig) -> Result<Self, UaError> {
        Self::with_transport(config, Transport::Udp)
    }

    /// A user agent whose signalling flow is `transport`; `config.local` is then the local address of the
    /// connection (Via and Contact).
    pub fn with_transport(config: UaConfig, transport: Transport) -> Result<Self, UaError> {
        let mut rng = StdRng::seed_from_u64(config.seed);
        let credentials = Credentials {
            username: config.user.clone(),
            password: config.password.clone(),
        };
        let mut register = RegisterConfig::new(
            sip_uri(None, &config.domain)?,
            sip_uri(Some(&config.user), &config.domain)?,
            sip_uri(
                Some(&config.user),
                &format!("{}{}", config.local, transport.contact_param()),
            )?,
            sent_by(config.local),
        );
        register.transport = transport.token().to_owned();
        register.reliability = transport.reliability();
        // On a connection the registrar reaches us over the connection itself (RFC 5923 style reuse); the address
        // it saw is the NAT's, where nothing listens.
        register.learn_public_address = !transport.is_stream();
        register.expires = config.register_expires;
        register.timers = config.timers;
        register.user_agent = Some(config.user_agent.clone());
        let registration = Registration::new(register, credentials.clone(), rng.next_u64());
        let auth = Authenticator::new(credentials, rng.next_u64());
        Ok(Self {
            config,
            transport,
            rng,
            auth,
            registration,
            clients: HashMap::new(),
            servers: HashMap::new(),
            calls: BTreeMap::new(),
            next_call: 1,
            transmits: VecDeque::new(),
            events: VecDeque::new(),
            dialog_events: VecDeque::new(),
        })
    }

    // ---- commands ----

    pub fn register(&mut self, now: Instant) {
        self.registration.register(now);
        self.drain_registration();
    }

    /// Removes our binding; call before shutting down and wait for `Unregistered`.
    pub fn unregister(&mut self, now: Instant) {
        self.registration.unregister(now);
        self.drain_registration();
    }

    /// The RTP port that calls created from now on advertise. A driver that gives each call
    /// its own socket binds the next one ahead and sets its port here after every new call.
    pub fn set_media_port(&mut self, port: u16) {
        self.config.media.port = port;
    }

    // ---- getters ----

    /// The calls the user agent knows, oldest first.
    pub fn calls(&self) -> impl Iterator<Item = CallHandle> + '_ {
        self.calls.keys().copied()
    }

    pub fn is_registered(&self) -> bool {
        self.registration.is_registered()
    }

    /// No request of ours still waits for its final response: a driver that is shutting down
    /// may stop once this holds (and no call remains).
    pub fn is_idle(&self) -> bool {
        !self.registration.is_busy()
            && self.clients.values().all(|e| {
                matches!(
                    e.tx.state(),
                    ClientState::Completed | ClientState::Accepted | ClientState::Terminated
                )
            })
    }

    // ---- input ----

    /// One datagram from `from`. Malformed requests get their 400 (RFC 3261 §8.2); malformed
    /// or stray responses are dropped.
    pub fn handle_datagram(&mut self, now: Instant, from: SocketAddr, bytes: &[u8]) {
        if bytes.iter().all(|b| matches!(b, b'\r' | b'\n')) {
            return;
        }
        let mark = self.events.len();
        match msg::parse(bytes, &self.config.limits) {
            Ok(Message::Request(request)) => self.on_request(now, from, request),
            Ok(Message::Response(response)) => self.on_response(now, response),
            Err(error) => {
                tracing::debug!(%error, %from, "malformed SIP message");
                let tag = self.new_tag();
                if let Some(response) = error.response(&tag) {
                    self.transmit(from, response.to_bytes());
                }
            }
        }
        self.report_referrals(now, mark);
    }

    /// The connection to the proxy broke (streams only): requests in flight fail as a transport error (RFC 3261
    /// §8.1.3.1), the registration waits for [`Self::handle_connected`].
    pub fn handle_transport_lost(&mut self, now: Instant) {
        let mark = self.events.len();
        self.registration.handle_transport_error(now);
        self.drain_registration();
        let keys: Vec<TransactionKey> = self.clients.keys().cloned().collect();
        for key in keys {
            if let Some(entry) = self.clients.get_mut(&key) {
                entry.tx.handle_transport_error();
            }
            self.drain_client(now, &key);
        }
        self.report_referrals(now, mark);
    }

    /// A new connection to the proxy is up, from `local` (streams only): Via and Contact move to it, and the next
    /// REGISTER (the driver sends it now) also removes the binding of the old connection.
    pub fn handle_connected(&mut self, local: SocketAddr) {
        if local == self.config.local {
            return;
        }
        match sip_uri(
            Some(&self.config.user),
            &format!("{local}{}", self.transport.contact_param()),
        ) {
            Ok(contact) => {
                self.config.local = local;
                self.registration.rebind(contact, sent_by(local));
            }
            Err(error) => tracing::warn!(%error, %local, "cannot form a Contact for the new connection"),
        }
    }

    pub fn handle_timeout(&mut self, now: Instant) {
        let mark = self.events.len();
        self.registration.handle_timeout(now);
        self.drain_registration();
        let keys: Vec<TransactionKey> = self.clients.keys().cloned().collect();
        for key in keys {
            if let Some(entry) = self.clients.get_mut(&key) {
                entry.tx.handle_timeout(now);
            }
            self.drain_client(now, &key);
        }
        let keys: Vec<TransactionKey> = self.servers.keys().cloned().collect();
        for key in keys {
            if let Some(entry) = self.servers.get_mut(&key) {
                entry.tx.handle_timeout(now);
            }
            self.drain_server(now, &key);
        }
        let due: Vec<CallHandle> = self
            .calls
            .iter()
            .filter(|(_, c)| c.timeout().is_some_and(|at| at <= now))
            .map(|(h, _)| *h)
            .collect();
        for handle in due {
            self.on_call_timer(now, handle);
        }
        self.report_referrals(now, mark);
    }

    // ---- output ----

    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        self.transmits.pop_front()
    }

    pub fn poll_event(&mut self) -> Option<UaEvent> {
        self.events.pop_front()
    }

    /// Transfer, replacement and INFO DTMF news. Drain it before `poll_event` after each
    /// input: a transfer's outcome then comes before the `Ended` it causes.
    pub fn poll_dialog_event(&mut self) -> Option<DialogEvent> {
        self.dialog_events.pop_front()
    }

    pub fn poll_timeout(&self) -> Option<Instant> {
        let clients = self.clients.values().filter_map(|e| e.tx.poll_timeout());
        let servers = self.servers.values().filter_map(|e| e.tx.poll_timeout());
        let calls = self.calls.values().filter_map(Call::timeout);
        clients
            .chain(servers)
            .chain(calls)
            .chain(self.registration.poll_timeout())
            .min()
    }

    // ---- routing ----

    fn on_response(&mut self, now: Instant, response: Response) {
        if self.registration.handle_response(now, response.clone()) {
            self.drain_registration();
            return;
        }
        let Ok(key) = TransactionKey::for_response(&response) else {
            return;
        };
        match self.clients.get_mut(&key) {
            Some(entry) => {
                entry.tx.handle_response(now, response);
                self.drain_client(now, &key);
            }
            None => tracing::debug!(status = response.status.code(), "stray response dropped"),
        }
    }

    fn on_request(&mut self, now: Instant, source: SocketAddr, mut request: Request) {
        if let Ok(mut via) = request.headers.top_via() {
            via.stamp_source(source);
            let _ = request.headers.replace_top_via(&via);
        }
        let Ok(key) = TransactionKey::for_request(&request) else {
            return;
        };
        if let Some(entry) = self.servers.get_mut(&key) {
            entry.tx.handle_request(now, request);
            self.drain_server(now, &key);
            return;
        }
        if request.method == Method::Ack {
            self.on_ack(now, request);
            return;
        }
        let tx = match ServerTransaction::new(now, request.clone(), self.transport.reliability(), self.config.timers) {
            Ok(tx) => tx,
            Err(error) => {
                tracing::debug!(%error, "request cannot start a server transaction");
                return;
            }
        };
        self.servers.insert(key.clone(), ServerEntry { tx, source });
        self.drain_server(now, &key);
        if let Some(reply) = precheck(&request) {
            self.respond(now, &key, reply);
            return;
        }
        match request.method {
            Method::Invite => self.on_invite(now, key, source, request),
            Method::Cancel => self.on_cancel(now, key, &request),
            Method::Bye => self.on_bye(now, key, &request),
            Method::Refer => self.on_refer(now, &key, &request),
            Method::Notify => self.on_notify(now, &key, &request),
            Method::Info => self.on_info(now, &key, &request),
            Method::Update => self.on_update(now, &key, &request),
            // Inside a dialog or not, OPTIONS says what we can do (RFC 3261 §11.2); in a dialog
            // the response keeps the request's To tag.
            Method::Options => {
                let reply = Reply::new(200, "OK")
                    .header("Allow", ALLOW)
                    .header("Accept", ACCEPT)
                    .header("Supported", SUPPORTED);
                self.respond(now, &key, reply);
            }
            _ => {
                self.respond(now, &key, Reply::new(405, "Method Not Allowed").header("Allow", ALLOW));
            }
        }
    }

    /// Answers the request of a server transaction; returns the bytes sent.
    pub(crate) fn respond(&mut self, now: Instant, key: &TransactionKey, reply: Reply<'_>) -> Option<Vec<u8>> {
        let fresh_tag = self.new_tag();
        let entry = self.servers.get_mut(key)?;
        let status = StatusCode::new(reply.status)?;
        let to_tag = reply.to_tag.unwrap_or(&fresh_tag);
        let mut response = Response::to_request(entry.tx.request(), status, reply.reason, to_tag);
        // §12.1.1: a dialog-creating response carries the request's Record-Route, so that the
        // caller learns the same route set (proxies such as kamailio do not add it).
        if entry.tx.request().method == Method::Invite && (101..300).contains(&reply.status) {
            for route in entry.tx.request().headers.get_all("Record-Route") {
                response.headers.push("Record-Route", route);
            }
        }
        for (name, value) in reply.headers {
            response.headers.push(name, value);
        }
        if let Some(sdp) = reply.sdp {
            response.headers.push("Content-Type", "application/sdp");
            response.body = sdp.as_bytes().to_vec();
        }
        let bytes = response.to_bytes();
        if let Err(error) = entry.tx.respond(now, response) {
            tracing::warn!(%error, "response not sent");
            return None;
        }
        self.drain_server(now, key);
        Some(bytes)
    }

    // ---- draining ----

    fn drain_registration(&mut self) {
        while let Some(bytes) = self.registration.poll_transmit() {
            self.transmit(self.config.proxy, bytes);
        }
        while let Some(event) = self.registration.poll_event() {
            self.events.push_back(UaEvent::Registration(event));
        }
    }

    pub(crate) fn drain_client(&mut self, now: Instant, key: &TransactionKey) {
        let Some(entry) = self.clients.get_mut(key) else {
            return;
        };
        let bytes: Vec<Vec<u8>> = std::iter::from_fn(|| entry.tx.poll_transmit()).collect();
        let events: Vec<ClientEvent> = std::iter::from_fn(|| entry.tx.poll_event()).collect();
        let (call, purpose) = (entry.call, entry.purpose);
        let request = (!events.is_empty()).then(|| entry.tx.request().clone());
        if entry.tx.is_terminated() {
            self.clients.remove(key);
        }
        for b in bytes {
            self.transmit(self.config.proxy, b);
        }
        if let Some(request) = request {
            for event in events {
                self.on_client_event(now, call, purpose, &request, event);
            }
        }
    }

    pub(crate) fn drain_server(&mut self, now: Instant, key: &TransactionKey) {
        let Some(entry) = self.servers.get_mut(key) else {
            return;
        };
        let bytes: Vec<Vec<u8>> = std::iter::from_fn(|| entry.tx.poll_transmit()).collect();
        let events: Vec<ServerEvent> = std::iter::from_fn(|| entry.tx.poll_event()).collect();
        let source = entry.source;
        if entry.tx.is_terminated() {
            self.servers.remove(key);
        }
        for b in bytes {
            self.transmit(source, b);
        }
        for event in events {
            match event {
                ServerEvent::Timeout | ServerEvent::TransportError => {
                    tracing::debug!(?event, "server transaction ended without ACK")
                }
                // A 2xx ACK reusing the INVITE's transaction identity (RFC 2543 peers
                // without a branch cookie): hand it to the dialog like any other.
                ServerEvent::Ack(ack) => self.on_ack(now, ack),
                // The initial request is dispatched by `on_request`.
                ServerEvent::Request(_) => {}
            }
        }
    }

    pub(crate) fn transmit(&mut self, destination: SocketAddr, bytes: Vec<u8>) {
        self.transmits.push_back(Transmit { destination, bytes });
    }

    /// Starts a client transaction for a call's request and sends it.
    pub(crate) fn start_client(&mut self, now: Instant, call: CallHandle, purpose: Purpose, request: Request) {
        match ClientTransaction::new(now, request, self.transport.reliability(), self.config.timers) {
            Ok(tx) => {
                let key = tx.key().clone();
                self.clients.insert(key.clone(), ClientEntry { tx, call, purpose });
                self.drain_client(now, &key);
            }
            Err(error) => tracing::error!(%error, "could not start a client transaction"),
        }
    }

    // ---- shared helpers ----

    pub(crate) fn new_tag(&mut self) -> String {
        format!("{:016x}", self.rng.next_u64())
    }

    pub(crate) fn new_call_handle(&mut self) -> CallHandle {
        let handle = CallHandle(self.next_call);
        self.next_call += 1;
        handle
    }

    pub(crate) fn via(&mut self) -> Via {
        let branch = new_branch(&mut self.rng);
        let mut via = Via::new(self.transport.token(), sent_by(self.config.local), &branch);
        via.params.set("rport", None);
        via
    }

    /// Our Contact (validated in `new`, so the URI always forms).
    pub(crate) fn contact(&self) -> String {
        self.registration.contact().to_string()
    }

    pub(crate) fn local_identity(&self) -> NameAddr {
        let mut from = NameAddr::new(self.registration.aor().clone());
        from.display.clone_from(&self.config.display_name);
        from
    }

    pub(crate) fn dialog_event(&mut self, event: DialogEvent) {
        self.dialog_events.push_back(event);
    }

    /// The call whose dialog a request belongs to; answers 481 when none, or 500 when its CSeq
    /// is out of order (§12.2.2), and returns `None` then.
    pub(crate) fn in_dialog(&mut self, now: Instant, key: &TransactionKey, request: &Request) -> Option<CallHandle> {
        let found = self
            .calls
            .iter_mut()
            .find(|(_, c)| c.dialog.as_ref().is_some_and(|d| d.matches(request)));
        let Some((&call, c)) = found else {
            self.respond(now, key, Reply::new(481, "Call/Transaction Does Not Exist"));
            return None;
        };
        if let Some(dialog) = c.dialog.as_mut()
            && let Err(error) = dialog.receive(request)
        {
            tracing::debug!(%error, method = %request.method, "in-dialog request out of order");
            self.respond(now, key, Reply::new(500, "Server Internal Error"));
            return None;
        }
        Some(call)
    }

    /// Re-sends a challenged in-dialog request with credentials and the dialog's next CSeq;
    /// `false` when the challenge cannot be answered.
    pub(crate) fn retry_in_dialog(
        &mut self,
        now: Instant,
        call: CallHandle,
        purpose: Purpose,
        request: &Request,
        challenge: &Response,
    ) -> bool {
        if let Err(error) = self.auth.on_challenge(challenge, false) {
            tracing::warn!(%error, method = %request.method, "in-dialog authentication failed");
            return false;
        }
        let via = self.via();
        let Some(dialog) = self.calls.get_mut(&call).and_then(|c| c.dialog.as_mut()) else {
            return false;
        };
        let fresh = dialog.request(request.method.clone(), &via);
        let mut retry = request.clone();
        for name in ["Via", "CSeq"] {
            if let Some(value) = fresh.headers.get(name) {
                retry.headers.set(name, value);
            }
        }
        self.auth.authorize(&mut retry);
        self.start_client(now, call, purpose, retry);
        true
    }

    pub(crate) fn end(&mut self, call: CallHandle, reason: EndReason) {
        if let Some(c) = self.calls.remove(&call) {
            let reason = if c.replaced { EndReason::Replaced } else { reason };
            tracing::info!(?call, ?reason, "call ended");
            self.events.push_back(UaEvent::Ended { call, reason });
        }
    }
}

/// Checks every new request must pass before its method is considered (RFC 3261 §8.2.2,
/// §8.2.3): scheme, extensions, body type, acceptable response types.
fn precheck(request: &Request) -> Option<Reply<'static>> {
    if !request.uri.is_sip() {
        return Some(Reply::new(416, "Unsupported URI Scheme"));
    }
    if !matches!(request.method, Method::Ack | Method::Cancel) {
        let supported: Vec<&str> = SUPPORTED.split(',').map(str::trim).collect();
        let required: Vec<&str> = request
            .headers
            .get_all("Require")
            .flat_map(|v| v.split(','))
            .map(str::trim)
            .filter(|t| !t.is_empty() && !supported.iter().any(|s| s.eq_ignore_ascii_case(t)))
            .collect();
        if !required.is_empty() {
            return Some(Reply::new(420, "Bad Extension").header("Unsupported", required.join(", ")));
        }
    }
    if request.method == Method::Invite {
        if let Some(kind) = request.headers.get("Content-Type")
            && !request.body.is_empty()
            && !media_type(kind).eq_ignore_ascii_case("application/sdp")
        {
            return Some(Reply::new(415, "Unsupported Media Type").header("Accept", "application/sdp"));
        }
        if let Some(accept) = request.headers.get("Accept")
            && !accept.split(',').map(media_type).any(|t| {
                t.eq_ignore_ascii_case("application/sdp") || t == "*/*" || t.eq_ignore_ascii_case("application/*")
            })
        {
            return Some(Reply::new(406, "Not Acceptable").header("Accept", "application/sdp"));
        }
    }
    None
}

fn media_type(value: &str) -> &str {
    value.split(';').next().unwrap_or_default().trim()
}

pub(crate) fn sent_by(addr: SocketAddr) -> SentBy {
    let host = match addr {
        SocketAddr::V4(v4) => v4.ip().to_string(),
        SocketAddr::V6(v6) => format!("[{}]", v6.ip()),
    };
    SentBy {
        host,
        port: Some(addr.port()),
    }
}

pub(crate) fn sip_uri(user: Option<&str>, host: &str) -> Result<Uri, UaError> {
    let text = match user {
        Some(user) => format!("sip:{user}@{host}"),
        None => format!("sip:{host}"),
    };
    Uri::parse(&text).map_err(|_| UaError::Config("user or domain is not valid in a SIP URI"))
}

/// A response the UA is about to send on a server transaction.
#[derive(Debug, Clone)]
pub(crate) struct Reply<'a> {
    pub(crate) status: u16,
    pub(crate) reason: &'a str,
    /// The dialog's tag; a fresh one when `None`.
    pub(crate) to_tag: Option<&'a str>,
    pub(crate) headers: Vec<(&'static str, String)>,
    pub(crate) sdp: Option<&'a str>,
}

impl<'a> Reply<'a> {
    pub(crate) fn new(status: u16, reason: &'a str) -> Self {
        Self {
            status,
            reason,
            to_tag: None,
            headers: Vec::new(),
            sdp: None,
        }
    }

    pub(crate) fn header(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }
}
