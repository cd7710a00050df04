//! The SIP face of the simulated PBX: the registrar, and one *leg* per operator phone call,
//! kept in step with the PBX model.
//!
//! The model is the truth; the SIP side follows it ([`SipFace::sync`] runs after every input):
//!
//! | the model says | the SIP side does |
//! |---|---|
//! | the line of a registered user rings (a caller, or an auto-call's back ring) | INVITE to the binding, From = the caller's number and name, offer PCMU/PCMA/telephone-event |
//! | the line is idle again (caller gave up or hung up, Oktell hung up or declined) | CANCEL before the answer, BYE after it |
//! | the operator talks / has the party on hold / dials | the far end sends the caller's voice / the hold melody / silence |
//!
//! and the phone's actions change the model the way the Oktell commands do:
//!
//! | the phone does | the model does |
//! |---|---|
//! | answers (200) a ringing leg | `pbxanswercall` |
//! | refuses it (486, 603, …) | `pbxdeclinecall` |
//! | hangs up (BYE) | `pbxabortcall` |
//! | holds or resumes (re-INVITE `sendonly` / `sendrecv`) | `pbxmakeflash` |
//! | calls a number (INVITE) | `pbxautocallstart` picked up at once: the far end is dialled, 180 until it answers, then 200; a second call while the phone has one gets 486 (consult through Oktell) |
//!
//! Each leg is a [`sip::ua::UserAgent`] of its own (the PBX's end of one call is a UAC or a UAS),
//! whose identity is the caller's and whose "proxy" is the phone, so transactions, dialogs,
//! CANCEL and BYE are the `sip` crate's. Datagrams are routed to legs by Call-ID; REGISTER,
//! OPTIONS and strays are answered here on server transactions.
//!
//! A phone's INVITE is not challenged: it is trusted when it comes from the address its
//! operator's phone registered from (the digest check happened at REGISTER).
//!
//! Gap: when the model answers while the INVITE still rings (the control API's "phone picks
//! up", or the desk phone's automatic pickup of a back ring) the phone keeps ringing until it
//! is answered; the PBX has no way to make a SIP phone pick up that our UA understands (real
//! PBXs use `Call-Info: answer-after=0` on a new INVITE, or a `talk` event).
//!
//! Media is the driver's: a leg asks for an RTP port from the pool the driver keeps filled
//! ([`SipFace::add_media_port`]) and reports [`MediaCommand`]s.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use ::sip::invite::{CallHandle, EndReason, ReferPolicy, SessionTimerConfig};
use ::sip::msg::{self, Limits, Message, Method, Request};
use ::sip::sdp::{Codec, MediaConfig, Negotiated};
use ::sip::transaction::{Reliability, ServerTransaction, TimerConfig, TransactionKey};
use ::sip::ua::{UaConfig, UaEvent, UserAgent};
use rand::rngs::StdRng;
use rand::{RngCore, SeedableRng};
use serde::Serialize;
use serde_json::{Value, json};

use super::audio::AudioSource;
use super::registrar::{self, Registrar};
use crate::directory::UserIdx;
use crate::pbx::{CallId, CallState, FlashMode, Party, Pbx};

/// How soon a leg that waits for an RTP port tries again.
const PORT_RETRY: Duration = Duration::from_millis(20);
/// The `User-Agent` and `Server` of the simulated PBX.
const PRODUCT: &str = "oktell-sim";

/// Identifies a leg in media commands and the control API.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct LegId(pub u64);

/// What the driver must do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SipOutput {
    /// Send one datagram from the SIP socket.
    Datagram {
        to: SocketAddr,
        bytes: Vec<u8>,
    },
    Media(MediaCommand),
}

/// The RTP side of a leg.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MediaCommand {
    /// The leg is up: send `source` from the pooled port `port` to `remote`, count what arrives.
    Start {
        leg: LegId,
        port: u16,
        remote: SocketAddr,
        codec: Codec,
        payload_type: u8,
        telephone_event: Option<u8>,
        source: AudioSource,
    },
    /// Play something else.
    Source { leg: LegId, source: AudioSource },
    /// The leg is over: stop its stream, or release its pooled port if it never started.
    Stop { leg: LegId, port: u16 },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
enum Phase {
    /// Our INVITE rings the phone.
    Inviting,
    /// The phone's INVITE waits for the far end (an operator's own call).
    Dialling,
    Up,
    /// We hung up; waiting for the UA to finish.
    Closing,
}

#[derive(Debug)]
struct Leg {
    user: UserIdx,
    ua: UserAgent,
    handle: CallHandle,
    /// The model call the leg was opened for.
    call: CallId,
    port: u16,
    phase: Phase,
    source: AudioSource,
    media: Option<Negotiated>,
    /// The UA reported the call over; the leg stays until its last transactions finish.
    ended: bool,
}

/// The registrar and the legs.
#[derive(Debug)]
pub struct SipFace {
    local: SocketAddr,
    registrar: Registrar,
    servers: HashMap<TransactionKey, (ServerTransaction, SocketAddr)>,
    legs: BTreeMap<LegId, Leg>,
    by_call_id: HashMap<String, LegId>,
    ports: Vec<u16>,
    starved_since: Option<Instant>,
    next_leg: u64,
    rng: StdRng,
    out: VecDeque<SipOutput>,
}

impl SipFace {
    /// A face listening at `local` (the SIP socket's address, used in Via, Contact and SDP).
    pub fn new(local: SocketAddr, seed: u64) -> Self {
        SipFace {
            local,
            registrar: Registrar::new(),
            servers: HashMap::new(),
            legs: BTreeMap::new(),
            by_call_id: HashMap::new(),
            ports: Vec::new(),
            starved_since: None,
            next_leg: 1,
            rng: StdRng::seed_from_u64(seed),
            out: VecDeque::new(),
        }
    }

    pub fn local(&self) -> SocketAddr {
        self.local
    }

    /// A bound RTP port the next leg may use.
    pub fn add_media_port(&mut self, port: u16) {
        self.ports.push(port);
    }

    /// How many pooled ports the driver should add to keep a few legs ready to start.
    pub fn media_ports_wanted(&self, pool: usize) -> usize {
        pool.saturating_sub(self.ports.len())
    }

    pub fn poll_output(&mut self) -> Option<SipOutput> {
        self.out.pop_front()
    }

    pub fn poll_timeout(&self) -> Option<Instant> {
        let servers = self.servers.values().filter_map(|(tx, _)| tx.poll_timeout());
        let legs = self.legs.values().filter_map(|leg| leg.ua.poll_timeout());
        let retry = self.starved_since.map(|at| at + PORT_RETRY);
        servers
            .chain(legs)
            .chain(self.registrar.poll_timeout())
            .chain(retry)
            .min()
    }

    /// One datagram on the SIP socket.
    pub fn handle_datagram(&mut self, now: Instant, from: SocketAddr, bytes: &[u8], pbx: &mut Pbx) {
        if bytes.iter().all(|b| matches!(b, b'\r' | b'\n')) {
            return;
        }
        let message = match msg::parse(bytes, &Limits::default()) {
            Ok(message) => message,
            Err(error) => {
                tracing::debug!(%error, %from, "malformed SIP datagram");
                if let Some(response) = error.response(&self.new_tag()) {
                    self.send(from, response.to_bytes());
                }
                return;
            }
        };
        let (call_id, request) = match &message {
            Message::Request(request) => (request.headers.call_id().ok().map(str::to_owned), Some(request)),
            Message::Response(response) => (response.headers.call_id().ok().map(str::to_owned), None),
        };
        if let Some(leg) = call_id.as_ref().and_then(|id| self.by_call_id.get(id)).copied() {
            if let Some(entry) = self.legs.get_mut(&leg) {
                entry.ua.handle_datagram(now, from, bytes);
            }
            self.drain_leg(now, leg, pbx);
            return;
        }
        let Some(request) = request else {
            tracing::debug!(%from, "stray SIP response dropped");
            return;
        };
        let request = request.clone();
        if request.method == Method::Invite {
            self.phone_dials(now, from, request, bytes, pbx);
        } else {
            self.serve(now, from, request, pbx);
        }
    }

    /// Timers of transactions, legs and bindings.
    pub fn handle_timeout(&mut self, now: Instant, pbx: &mut Pbx) {
        let keys: Vec<TransactionKey> = self.servers.keys().cloned().collect();
        for key in keys {
            if let Some((tx, _)) = self.servers.get_mut(&key) {
                tx.handle_timeout(now);
            }
            self.drain_server(&key);
        }
        let legs: Vec<LegId> = self.legs.keys().copied().collect();
        for leg in legs {
            let due = self
                .legs
                .get(&leg)
                .and_then(|l| l.ua.poll_timeout())
                .is_some_and(|at| at <= now);
            if due && let Some(entry) = self.legs.get_mut(&leg) {
                entry.ua.handle_timeout(now);
            }
            self.drain_leg(now, leg, pbx);
        }
        self.registrar.expire(now);
    }

    /// Brings the legs in line with the model.
    pub fn sync(&mut self, now: Instant, pbx: &mut Pbx) {
        self.starved_since = None;
        let users: BTreeSet<UserIdx> = self
            .registrar
            .bindings()
            .map(|(user, _)| user)
            .chain(self.legs.values().map(|leg| leg.user))
            .collect();
        for user in users {
            self.sync_user(now, user, pbx);
        }
    }

    /// The control API's view: bindings and legs.
    pub fn snapshot(&self, now: Instant, pbx: &Pbx) -> Value {
        let login = |user: UserIdx| pbx.directory().person(user).map(|p| p.user.login.clone());
        let registrations: Vec<Value> = self
            .registrar
            .bindings()
            .map(|(user, b)| {
                json!({
                    "login": login(user),
                    "contact": b.contact.as_str(),
                    "source": b.source.to_string(),
                    "expires_in": b.expires_at.saturating_duration_since(now).as_secs(),
                })
            })
            .collect();
        let legs: Vec<Value> = self
            .legs
            .iter()
            .map(|(id, leg)| {
                json!({
                    "leg": id,
                    "login": login(leg.user),
                    "call": leg.call,
                    "phase": leg.phase,
                    "source": leg.source,
                    "rtp_port": leg.port,
                    "codec": leg.media.as_ref().map(|m| codec_name(m.codec)),
                })
            })
            .collect();
        json!({ "address": self.local.to_string(), "registrations": registrations, "legs": legs })
    }

    // ----- the model -> SIP -------------------------------------------------------------------

    fn sync_user(&mut self, now: Instant, user: UserIdx, pbx: &mut Pbx) {
        let (current, held) = line(pbx, user);
        let active = self
            .legs
            .iter()
            .find(|(_, leg)| leg.user == user && leg.phase != Phase::Closing)
            .map(|(id, _)| *id);
        if let Some(id) = active {
            let Some(leg) = self.legs.get(&id) else { return };
            let same_call = current.as_ref().is_some_and(|(call, _)| *call == leg.call)
                || held.is_some_and(|call| call == leg.call);
            let stale = match leg.phase {
                Phase::Inviting | Phase::Dialling => !same_call,
                Phase::Up => current.is_none() && held.is_none(),
                Phase::Closing => false,
            };
            if stale {
                self.close(now, id, pbx);
            } else {
                if leg.phase == Phase::Dialling
                    && current
                        .as_ref()
                        .is_some_and(|(call, state)| *call == leg.call && matches!(state, CallState::Talking { .. }))
                {
                    self.answer_phone(now, id, pbx);
                }
                self.follow_source(id, current.as_ref().map(|(_, s)| s), held.is_some());
                return;
            }
        }
        let ringing = current
            .as_ref()
            .filter(|(_, state)| matches!(state, CallState::Ringing | CallState::BackRing))
            .map(|(call, _)| *call);
        if let Some(call) = ringing {
            self.ring_phone(now, user, call, pbx);
        }
    }

    fn follow_source(&mut self, id: LegId, current: Option<&CallState>, held: bool) {
        let Some(leg) = self.legs.get_mut(&id) else { return };
        if leg.phase != Phase::Up {
            return;
        }
        let source = match current {
            Some(CallState::Talking { .. } | CallState::Conference { .. }) => AudioSource::Voice,
            _ if held => AudioSource::HoldMusic,
            _ => AudioSource::Silence,
        };
        if source != leg.source {
            leg.source = source;
            tracing::debug!(leg = id.0, ?source, "far end plays");
            self.out
                .push_back(SipOutput::Media(MediaCommand::Source { leg: id, source }));
        }
    }

    /// INVITEs the user's phone for a ringing model call.
    fn ring_phone(&mut self, now: Instant, user: UserIdx, call: CallId, pbx: &mut Pbx) {
        let Some(binding) = self.registrar.binding(user).cloned() else {
            return;
        };
        let Some(port) = self.take_port(now) else {
            return;
        };
        let Some(remote) = pbx.calls().find(|c| c.id == call).map(|c| c.remote.clone()) else {
            return;
        };
        let (number, name) = caller_identity(pbx, &remote);
        let mut ua = match self.user_agent(binding.source, &number, name, port) {
            Ok(ua) => ua,
            Err(error) => {
                tracing::warn!(%error, "cannot form the caller's SIP identity");
                self.release_port(port);
                return;
            }
        };
        let handle = match ua.call(now, &binding.contact) {
            Ok(handle) => handle,
            Err(error) => {
                tracing::warn!(%error, "cannot INVITE the phone");
                self.release_port(port);
                return;
            }
        };
        let transmits: Vec<_> = std::iter::from_fn(|| ua.poll_transmit()).collect();
        let Some(call_id) = transmits.first().and_then(|t| call_id_of(&t.bytes)) else {
            tracing::warn!("the INVITE to the phone did not form");
            self.release_port(port);
            return;
        };
        for transmit in transmits {
            self.send(transmit.destination, transmit.bytes);
        }
        let id = self.new_leg_id();
        tracing::info!(leg = id.0, user = user.0, call = call.0, "ringing the phone");
        self.insert_leg(
            id,
            call_id,
            Leg {
                user,
                ua,
                handle,
                call,
                port,
                phase: Phase::Inviting,
                source: AudioSource::Silence,
                media: None,
                ended: false,
            },
        );
        self.drain_leg(now, id, pbx);
    }

    fn close(&mut self, now: Instant, id: LegId, pbx: &mut Pbx) {
        let Some(leg) = self.legs.get_mut(&id) else { return };
        let dialling = leg.phase == Phase::Dialling;
        leg.phase = Phase::Closing;
        tracing::info!(leg = id.0, "the model ended the call; hanging up the phone");
        let outcome = if dialling {
            leg.ua.reject(now, leg.handle, 486, "Busy Here")
        } else {
            leg.ua.hangup(now, leg.handle)
        };
        if let Err(error) = outcome {
            tracing::debug!(leg = id.0, %error, "leg already ending");
        }
        self.drain_leg(now, id, pbx);
    }

    fn answer_phone(&mut self, now: Instant, id: LegId, pbx: &mut Pbx) {
        let Some(leg) = self.legs.get_mut(&id) else { return };
        if let Err(error) = leg.ua.answer(now, leg.handle) {
            tracing::debug!(leg = id.0, %error, "cannot answer the phone's call");
            return;
        }
        leg.phase = Phase::Up;
        self.drain_leg(now, id, pbx);
    }

    // ----- SIP -> the model -------------------------------------------------------------------

    fn drain_leg(&mut self, now: Instant, id: LegId, pbx: &mut Pbx) {
        let Some(leg) = self.legs.get_mut(&id) else { return };
        let transmits: Vec<_> = std::iter::from_fn(|| leg.ua.poll_transmit()).collect();
        let events: Vec<UaEvent> = std::iter::from_fn(|| leg.ua.poll_event()).collect();
        // Transfers and INFO DTMF: the PBX declines REFER and has no use for the phone's digits.
        while leg.ua.poll_dialog_event().is_some() {}
        for transmit in transmits {
            self.send(transmit.destination, transmit.bytes);
        }
        for event in events {
            self.on_leg_event(now, id, event, pbx);
        }
        let finished = self.legs.get(&id).is_some_and(|leg| leg.ended && leg.ua.is_idle());
        if finished {
            self.remove_leg(id);
        }
    }

    fn on_leg_event(&mut self, now: Instant, id: LegId, event: UaEvent, pbx: &mut Pbx) {
        let Some(leg) = self.legs.get_mut(&id) else { return };
        let user = leg.user;
        match event {
            UaEvent::Established { media, .. } => {
                let answered_ring = leg.phase == Phase::Inviting;
                if leg.phase != Phase::Closing {
                    leg.phase = Phase::Up;
                }
                self.start_media(id, media);
                if answered_ring {
                    let ringing = matches!(
                        line(pbx, user).0,
                        Some((call, CallState::Ringing | CallState::BackRing)) if Some(call) == self.legs.get(&id).map(|l| l.call)
                    );
                    if ringing && let Err(refusal) = pbx.operator_answers(user, now) {
                        tracing::debug!(%refusal, "phone answered a call the model no longer rings");
                    }
                }
            }
            UaEvent::MediaUpdated { media, .. } => {
                let holds = media.held_by_remote;
                tracing::debug!(leg = id.0, holds, "phone changed the session");
                leg.media = Some(media);
                self.phone_holds(now, user, holds, pbx);
            }
            UaEvent::Ended { reason, .. } => {
                let by_phone = leg.phase != Phase::Closing;
                leg.phase = Phase::Closing;
                leg.ended = true;
                let port = leg.port;
                self.out
                    .push_back(SipOutput::Media(MediaCommand::Stop { leg: id, port }));
                if by_phone {
                    self.phone_ended(now, user, reason, pbx);
                }
            }
            // Progress, refused modifications, DTMF and REFER (declined by policy) change nothing.
            _ => {}
        }
    }

    fn start_media(&mut self, id: LegId, media: Negotiated) {
        let Some(leg) = self.legs.get_mut(&id) else { return };
        let remote = format!("{}:{}", media.remote_address, media.remote_port).parse::<SocketAddr>();
        let remote = match remote {
            Ok(remote) => remote,
            Err(_) => {
                tracing::info!(leg = id.0, address = %media.remote_address, "phone's media address is not an IP address");
                leg.media = Some(media);
                return;
            }
        };
        self.out.push_back(SipOutput::Media(MediaCommand::Start {
            leg: id,
            port: leg.port,
            remote,
            codec: media.codec,
            payload_type: media.payload_type,
            telephone_event: media.telephone_event,
            source: leg.source,
        }));
        leg.media = Some(media);
    }

    /// The phone's own hold or resume (a re-INVITE, as a softphone does without Oktell) is the
    /// PBX's hold: the same as `pbxmakeflash`, so the model and its Oktell events agree.
    fn phone_holds(&mut self, now: Instant, user: UserIdx, holds: bool, pbx: &mut Pbx) {
        let (current, held) = line(pbx, user);
        let talking = matches!(current, Some((_, CallState::Talking { .. })));
        let toggle = if holds {
            talking && held.is_none()
        } else {
            current.is_none() && held.is_some()
        };
        if toggle && let Err(refusal) = pbx.flash(user, FlashMode::Switch, now) {
            tracing::debug!(%refusal, "the phone's hold does not fit the line");
        }
    }

    /// The phone refused, hung up or vanished: the model hears it as the operator's command.
    fn phone_ended(&mut self, now: Instant, user: UserIdx, reason: EndReason, pbx: &mut Pbx) {
        let (current, held) = line(pbx, user);
        let ringing = matches!(current, Some((_, CallState::Ringing | CallState::BackRing)));
        let outcome = match reason {
            EndReason::Rejected { .. } if ringing => pbx.decline(user, now),
            // The phone hung up (BYE) or gave up on its own call (CANCEL).
            EndReason::RemoteHangup | EndReason::CancelledByRemote if current.is_some() || held.is_some() => {
                pbx.abort_call(user, now)
            }
            // A ringing phone that never answers, or a leg the model ended: the model goes on.
            _ => Ok(()),
        };
        tracing::info!(user = user.0, ?reason, "the phone ended its call");
        if let Err(refusal) = outcome {
            tracing::debug!(%refusal, "the model had already moved on");
        }
    }

    /// The phone calls a number: an operator's own call, dialled at once.
    fn phone_dials(&mut self, now: Instant, from: SocketAddr, request: Request, bytes: &[u8], pbx: &mut Pbx) {
        let caller = request
            .headers
            .from()
            .ok()
            .and_then(|f| f.uri.user().map(str::to_owned))
            .and_then(|name| registrar::find_user(pbx.directory(), &name));
        let registered = caller.filter(|user| self.registrar.binding(*user).is_some_and(|b| b.source == from));
        let Some(user) = registered else {
            tracing::info!(%from, "INVITE from a phone that is not registered");
            self.respond_once(now, from, request, 403, "Forbidden");
            return;
        };
        // One phone, one line: a second call goes through Oktell (hold, then dial), as the line
        // model has a single leg per operator.
        if self
            .legs
            .values()
            .any(|leg| leg.user == user && leg.phase != Phase::Closing)
        {
            self.respond_once(now, from, request, 486, "Busy Here");
            return;
        }
        let Some(number) = request.uri.user().map(str::to_owned) else {
            self.respond_once(now, from, request, 404, "Not Found");
            return;
        };
        let Some(port) = self.take_port(now) else {
            self.respond_once(now, from, request, 503, "Service Unavailable");
            return;
        };
        let name = pbx.directory().person(user).map(|p| p.user.name.clone());
        let own_number = pbx
            .directory()
            .person(user)
            .map(|p| p.user.number.clone())
            .unwrap_or_default();
        let Ok(mut ua) = self.user_agent(from, &own_number, name, port) else {
            self.release_port(port);
            self.respond_once(now, from, request, 500, "Server Internal Error");
            return;
        };
        ua.handle_datagram(now, from, bytes);
        let handle = std::iter::from_fn(|| ua.poll_event()).find_map(|event| match event {
            UaEvent::IncomingCall { call, .. } => Some(call),
            _ => None,
        });
        let transmits: Vec<_> = std::iter::from_fn(|| ua.poll_transmit()).collect();
        for transmit in transmits {
            self.send(transmit.destination, transmit.bytes);
        }
        let Some(handle) = handle else {
            self.release_port(port);
            return;
        };
        // From an idle line the PBX would ring the operator back first; the phone is off-hook
        // already, so that ring is picked up at once.
        let dialled = pbx.autocall(user, &number, false, now).and_then(|call| {
            let rings_back = pbx.calls().any(|c| c.id == call && c.state == CallState::BackRing);
            if rings_back {
                pbx.operator_answers(user, now)?;
            }
            Ok(call)
        });
        let id = self.new_leg_id();
        let call = match dialled {
            Ok(call) => call,
            Err(refusal) => {
                tracing::info!(%refusal, "the phone's call refused by the model");
                if let Err(error) = ua.reject(now, handle, 486, "Busy Here") {
                    tracing::debug!(%error, "cannot refuse the phone's call");
                }
                for transmit in std::iter::from_fn(|| ua.poll_transmit()) {
                    self.send(transmit.destination, transmit.bytes);
                }
                self.release_port(port);
                return;
            }
        };
        tracing::info!(leg = id.0, user = user.0, call = call.0, "the phone dials");
        let call_id = request.headers.call_id().map(str::to_owned).unwrap_or_default();
        self.insert_leg(
            id,
            call_id,
            Leg {
                user,
                ua,
                handle,
                call,
                port,
                phase: Phase::Dialling,
                source: AudioSource::Silence,
                media: None,
                ended: false,
            },
        );
    }

    /// REGISTER, OPTIONS and requests for dialogs we do not know.
    fn serve(&mut self, now: Instant, from: SocketAddr, request: Request, pbx: &Pbx) {
        let Ok(key) = TransactionKey::for_request(&request) else {
            return;
        };
        if let Some((tx, _)) = self.servers.get_mut(&key) {
            tx.handle_request(now, request);
            self.drain_server(&key);
            return;
        }
        match request.method {
            Method::Ack => {}
            Method::Register => {
                let tag = self.new_tag();
                let response =
                    self.registrar
                        .handle_register(now, from, &request, pbx.directory(), &mut self.rng, &tag);
                self.respond_on(now, from, request, response);
            }
            Method::Options => {
                let tag = self.new_tag();
                let mut response = registrar::response(&request, 200, "OK", &tag);
                response
                    .headers
                    .push("Allow", "INVITE, ACK, CANCEL, BYE, OPTIONS, REGISTER");
                self.respond_on(now, from, request, response);
            }
            _ => self.respond_once(now, from, request, 481, "Call/Transaction Does Not Exist"),
        }
    }

    fn respond_once(&mut self, now: Instant, from: SocketAddr, request: Request, status: u16, reason: &str) {
        let tag = self.new_tag();
        let response = registrar::response(&request, status, reason, &tag);
        self.respond_on(now, from, request, response);
    }

    fn respond_on(&mut self, now: Instant, from: SocketAddr, request: Request, mut response: msg::Response) {
        response.headers.push("Server", PRODUCT);
        let tx = ServerTransaction::new(now, request, Reliability::Unreliable, TimerConfig::default());
        let mut tx = match tx {
            Ok(tx) => tx,
            Err(error) => {
                tracing::debug!(%error, "request cannot start a server transaction");
                return;
            }
        };
        if let Err(error) = tx.respond(now, response) {
            tracing::debug!(%error, "response not sent");
        }
        let key = tx.key().clone();
        self.servers.insert(key.clone(), (tx, from));
        self.drain_server(&key);
    }

    fn drain_server(&mut self, key: &TransactionKey) {
        let Some((tx, source)) = self.servers.get_mut(key) else {
            return;
        };
        let source = *source;
        let bytes: Vec<Vec<u8>> = std::iter::from_fn(|| tx.poll_transmit()).collect();
        while tx.poll_event().is_some() {}
        if tx.is_terminated() {
            self.servers.remove(key);
        }
        for b in bytes {
            self.send(source, b);
        }
    }

    // ----- helpers ----------------------------------------------------------------------------

    fn user_agent(
        &mut self,
        phone: SocketAddr,
        user: &str,
        display_name: Option<String>,
        port: u16,
    ) -> Result<UserAgent, ::sip::ua::UaError> {
        UserAgent::new(UaConfig {
            local: self.local,
            proxy: phone,
            domain: self.local.ip().to_string(),
            user: user.to_owned(),
            display_name,
            password: String::new(),
            register_expires: registrar::MAX_EXPIRES,
            media: MediaConfig {
                address: self.local.ip().to_string(),
                port,
                codecs: vec![Codec::Pcmu, Codec::Pcma],
                telephone_event: true,
                ptime: 20,
            },
            timers: TimerConfig::default(),
            limits: Limits::default(),
            user_agent: PRODUCT.to_owned(),
            seed: self.rng.next_u64(),
            // Transfers go through Oktell (`pbxmaketransfer`), never through the phone.
            refer_policy: ReferPolicy::Reject,
            // Loopback legs need no keep-alive re-INVITEs.
            session_timer: SessionTimerConfig {
                expires: None,
                ..SessionTimerConfig::default()
            },
        })
    }

    fn insert_leg(&mut self, id: LegId, call_id: String, leg: Leg) {
        self.by_call_id.insert(call_id, id);
        self.legs.insert(id, leg);
    }

    fn remove_leg(&mut self, id: LegId) {
        self.legs.remove(&id);
        self.by_call_id.retain(|_, leg| *leg != id);
    }

    fn new_leg_id(&mut self) -> LegId {
        let id = LegId(self.next_leg);
        self.next_leg += 1;
        id
    }

    fn take_port(&mut self, now: Instant) -> Option<u16> {
        let port = self.ports.pop();
        if port.is_none() {
            tracing::debug!("no RTP port ready; the leg waits");
            self.starved_since = Some(now);
        }
        port
    }

    fn release_port(&mut self, port: u16) {
        self.ports.push(port);
    }

    fn new_tag(&mut self) -> String {
        format!("{:016x}", self.rng.next_u64())
    }

    fn send(&mut self, to: SocketAddr, bytes: Vec<u8>) {
        self.out.push_back(SipOutput::Datagram { to, bytes });
    }
}

/// The current call (with its state) and the held call of a user's line.
fn line(pbx: &Pbx, user: UserIdx) -> (Option<(CallId, CallState)>, Option<CallId>) {
    let mut current = None;
    let mut held = None;
    for call in pbx.calls().filter(|c| c.operator == user) {
        match call.state {
            CallState::Queued => {}
            CallState::OnHold => held = Some(call.id),
            ref state => current = Some((call.id, state.clone())),
        }
    }
    (current, held)
}

/// The number and name the phone shows for the far end.
fn caller_identity(pbx: &Pbx, party: &Party) -> (String, Option<String>) {
    match party {
        Party::External { number, name } => (number.clone(), name.clone()),
        Party::Internal { user, number } => (
            number.clone(),
            pbx.directory().person(*user).map(|p| p.user.name.clone()),
        ),
    }
}

fn codec_name(codec: Codec) -> &'static str {
    match codec {
        Codec::Pcmu => "PCMU",
        Codec::Pcma => "PCMA",
        Codec::Opus => "opus",
    }
}

/// The Call-ID of a message we built.
fn call_id_of(bytes: &[u8]) -> Option<String> {
    match msg::parse(bytes, &Limits::default()).ok()? {
        Message::Request(request) => request.headers.call_id().ok().map(str::to_owned),
        Message::Response(response) => response.headers.call_id().ok().map(str::to_owned),
    }
}
