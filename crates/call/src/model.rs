//! The call model: one state machine over the operator's agent status, calls, held parties,
//! conference, queue, directory, history and the health of every system.
//!
//! # Who decides what
//!
//! * **Oktell governs parties** whenever it is connected: a call exists while the Oktell
//!   line names its party (current or held), and hold, transfer, consultation and conference
//!   go through Oktell commands. Each `Line` event is reconciled against the calls.
//! * **The SIP dialog governs the local audio leg**: answering a ringing softphone is a
//!   local `200 OK`, never `pbxanswercall`, unless no softphone is registered. A call that
//!   has lost its Oktell party but still has a live dialog stays until the dialog ends.
//! * **Without Oktell** (not configured), a call is its dialog: hold and resume are
//!   re-INVITEs; transfer, connect and conference need the PBX and are refused.
//! * **While Oktell reconnects**, calls are frozen as they were and only local dialog actions
//!   (answer, decline, hang up) work; the first line report after the reconnect resyncs them
//!   (same call ids, talk time from the PBX's timer).
//!
//! Every input goes through [`CallModel::handle`]; it returns [`Effect`]s in order, the last
//! one being the new view when anything visible changed.

use std::collections::HashMap;
use std::time::{Duration, Instant, SystemTime};

use creatio::calls::{self, CallTimeline, Direction as RecordDirection};
use creatio::identify::Identification;
use oktell::agent::{AgentState, StatusRequest};
use oktell::line::{Abonent, Hold, LineView, PhoneState};
use oktell::msg::reply::{BreakReason, DirectoryUser};
use oktell::msg::request::Sequence;
use oktell::{ConnectionState, Event as OktellEvent};
use rand::rngs::StdRng;
use rand::{RngCore, SeedableRng};
use serde::Deserialize;
use sip::invite::EndReason;
use uuid::Uuid;

use crate::audio::AudioState;
use crate::correlate::{self, Ring};
use crate::effect::{CreatioEffect, Effect, Notification, NotificationKind, SipAction};
use crate::error::{CommandRejected, Feature, Refusal};
use crate::features::{self, Action};
use crate::history::{History, HistoryEntry, Outcome, Source};
use crate::input::{CallInput, CreatioInput, OutboxSummary, SipEvent, StatusChoice, UiCommand};
use crate::phone;
use crate::sentence::{Notice, Phrase, Sentence, Status};
use crate::view::{self, PanelView};

/// When the Creatio card of an identified caller opens by itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CardOpen {
    /// As soon as the call rings (or dials) and the caller is known.
    Ring,
    /// When the call is answered.
    Answer,
    /// Only when the operator asks.
    Never,
}

/// Settings of the model.
#[derive(Debug, Clone)]
pub struct CallConfig {
    /// An Oktell server is configured: calls are controlled through it when connected.
    pub oktell_configured: bool,
    /// A SIP account is configured for the softphone.
    pub sip_configured: bool,
    /// A Creatio site is configured (callers are identified and calls recorded there).
    pub creatio_configured: bool,
    /// The operator's own number, written as the called/caller id of Creatio records.
    pub own_number: String,
    /// When the Creatio card opens.
    pub card_open: CardOpen,
    /// Answer an auto-call's ring-back to the operator without asking.
    pub auto_answer_ring_back: bool,
    /// How far apart an Oktell ring and a SIP INVITE may be to be one call.
    pub correlation_window: Duration,
    /// How many finished calls the history keeps.
    pub history_limit: usize,
    /// Seeds Creatio record ids, so runs are reproducible.
    pub seed: u64,
}

impl Default for CallConfig {
    fn default() -> Self {
        CallConfig {
            oktell_configured: true,
            sip_configured: true,
            creatio_configured: true,
            own_number: String::new(),
            card_open: CardOpen::Ring,
            auto_answer_ring_back: true,
            correlation_window: Duration::from_secs(5),
            history_limit: 50,
            seed: 0,
        }
    }
}

/// A call's id in the model, stable for its whole life (also across Oktell reconnects).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, Deserialize)]
#[serde(transparent)]
pub struct CallId(pub u64);

/// Where a call stands; each variant carries only what is valid in it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Phase {
    /// An incoming call rings the operator.
    Ringing { since: Instant },
    /// An auto-call rings the operator first.
    RingBack { since: Instant },
    /// We dial; the other side has not answered.
    Dialling { since: Instant },
    /// Connected (the talk timer runs from `Call::answered`).
    Talking,
    /// On hold.
    Held { since: Instant },
}

/// The Oktell half of a call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct OktellLeg {
    pub(crate) key: String,
    pub(crate) chain_id: Option<String>,
}

/// The softphone half of a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Dialog<D> {
    pub(crate) handle: D,
    pub(crate) state: DialogState,
    pub(crate) hold: SipHold,
    /// The peer put us on hold (it sent sendonly or inactive).
    pub(crate) held_by_remote: bool,
    /// The operator muted the microphone on this dialog.
    pub(crate) muted: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DialogState {
    /// An incoming INVITE waits for our answer.
    Ringing,
    /// Our 200 OK is out.
    Answering,
    /// Our INVITE is out.
    Outgoing,
    Established,
}

/// Our own re-INVITE hold of a dialog (SIP-only mode).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SipHold {
    None,
    Requested,
    Held,
    ResumeRequested,
}

/// What Creatio said about the number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Lookup {
    NotAsked,
    Pending,
    Done(Identification),
    Failed,
}

/// The other side of a call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Party {
    pub(crate) number: Option<String>,
    pub(crate) name: Option<String>,
    pub(crate) lookup: Lookup,
}

/// One call the operator takes part in.
#[derive(Debug, Clone)]
pub(crate) struct Call<D> {
    pub(crate) id: CallId,
    pub(crate) direction: RecordDirection,
    pub(crate) phase: Phase,
    pub(crate) party: Party,
    pub(crate) oktell: Option<OktellLeg>,
    pub(crate) dialog: Option<Dialog<D>>,
    pub(crate) started: Instant,
    pub(crate) answered: Option<Instant>,
    pub(crate) holds: Vec<(Instant, Option<Instant>)>,
    pub(crate) record_id: Uuid,
    pub(crate) card_opened: bool,
    /// The operator pressed answer before the INVITE reached the softphone (when).
    pub(crate) answer_pending: Option<Instant>,
    pub(crate) declined: bool,
    pub(crate) popup_dismissed: bool,
    pub(crate) notified: bool,
    /// Estimated MOS in tenths (42 = 4.2).
    pub(crate) quality: Option<u8>,
    /// The Creatio `Call` record's create has been written.
    pub(crate) record_created: bool,
    /// What went wrong with the softphone's devices on this call.
    pub(crate) audio: AudioState,
}

impl<D> Call<D> {
    pub(crate) fn is_ringing(&self) -> bool {
        matches!(self.phase, Phase::Ringing { .. } | Phase::RingBack { .. })
    }

    /// The popup asks the operator to pick up: an incoming call, or a ring-back the model
    /// will not answer by itself.
    pub(crate) fn wants_popup(&self, auto_answer_ring_back: bool) -> bool {
        let asks = match self.phase {
            Phase::Ringing { .. } => true,
            Phase::RingBack { .. } => !auto_answer_ring_back,
            _ => false,
        };
        asks && !self.popup_dismissed
    }

    pub(crate) fn is_held(&self) -> bool {
        matches!(self.phase, Phase::Held { .. })
    }

    fn dialog_in(&self, state: DialogState) -> bool {
        self.dialog.as_ref().is_some_and(|d| d.state == state)
    }
}

/// The Oktell connection as the panel sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum OktellLink {
    NotConfigured,
    Connecting,
    Connected,
    Reconnecting {
        attempt: u32,
    },
    /// Stopped or refused; the sentence says why.
    Down {
        status: Status,
    },
}

/// The softphone registration as the panel sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum SipLink {
    NotConfigured,
    Registering,
    Registered,
    Failed { status: Status },
    Unregistered,
}

/// Who carries out call control right now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Control {
    /// Oktell is connected.
    Oktell,
    /// No Oktell configured: the softphone with a plain SIP server.
    Sip,
    /// Oktell is configured but not connected.
    OktellDown,
}

/// Everything the model mirrors from Oktell besides calls.
#[derive(Debug, Clone)]
pub(crate) struct OktellSide {
    pub(crate) link: OktellLink,
    pub(crate) agent: Option<AgentState>,
    pub(crate) break_reasons: Vec<BreakReason>,
    pub(crate) queue: Vec<Abonent>,
    pub(crate) users: Vec<DirectoryUser>,
    pub(crate) presence: HashMap<String, i64>,
    pub(crate) conference: Option<(String, Vec<Abonent>)>,
}

/// An auto-call we started and whose ring-back we expect.
#[derive(Debug, Clone)]
struct PendingDial {
    number: String,
    at: Instant,
}

/// The operator's whole state. `D` is the SIP dialog handle.
#[derive(Debug)]
pub struct CallModel<D> {
    pub(crate) config: CallConfig,
    rng: StdRng,
    wall: (Instant, SystemTime),
    pub(crate) now: Instant,
    next_call: u64,
    pub(crate) oktell: OktellSide,
    pub(crate) sip: SipLink,
    pub(crate) creatio: OutboxSummary,
    /// Why the records counted in `creatio` wait.
    pub(crate) creatio_wait_reason: Option<String>,
    pub(crate) calls: Vec<Call<D>>,
    pub(crate) history: History,
    pending_dial: Option<PendingDial>,
    pub(crate) notice: Option<Sentence>,
    ringtone: bool,
    popup: bool,
    view: PanelView,
}

impl<D: Copy + Eq + std::fmt::Debug> CallModel<D> {
    /// A model with no calls; `wall` is the wall clock at `now`.
    pub fn new(config: CallConfig, now: Instant, wall: SystemTime) -> CallModel<D> {
        let mut model = CallModel {
            rng: StdRng::seed_from_u64(config.seed),
            wall: (now, wall),
            now,
            next_call: 1,
            oktell: OktellSide {
                link: if config.oktell_configured {
                    OktellLink::Connecting
                } else {
                    OktellLink::NotConfigured
                },
                agent: None,
                break_reasons: Vec::new(),
                queue: Vec::new(),
                users: Vec::new(),
                presence: HashMap::new(),
                conference: None,
            },
            sip: if config.sip_configured {
                SipLink::Registering
            } else {
                SipLink::NotConfigured
            },
            creatio: OutboxSummary::default(),
            creatio_wait_reason: None,
            calls: Vec::new(),
            history: History::new(config.history_limit),
            pending_dial: None,
            notice: None,
            ringtone: false,
            popup: false,
            view: PanelView::default(),
            config,
        };
        let mut first = view::build(&model);
        first.rev = 1;
        model.view = first;
        model
    }

    /// The current view: what the last [`Effect::View`] carried, or the first view (rev 1)
    /// before any input changed anything. A window that opens reads this.
    pub fn view(&self) -> &PanelView {
        &self.view
    }

    /// When to send [`CallInput::Tick`]: once a second while a call exists (its timers show
    /// whole seconds), never otherwise.
    pub fn poll_timeout(&self) -> Option<Instant> {
        (!self.calls.is_empty()).then(|| self.now + Duration::from_secs(1))
    }

    /// The actions possible now (the view's `actions`).
    pub fn allowed(&self) -> Vec<Action> {
        features::allowed(self)
    }

    /// Applies one input; returns the effects in the order to carry them out.
    pub fn handle(&mut self, now: Instant, input: CallInput<D>) -> Vec<Effect<D>> {
        self.now = now;
        let mut fx = Vec::new();
        match input {
            CallInput::Oktell(event) => self.on_oktell(now, event, &mut fx),
            CallInput::OktellUnavailable(reason) => {
                self.oktell.link = OktellLink::Down {
                    status: Status::OktellUnavailable { reason },
                };
            }
            CallInput::OktellRefused(error) => self.say(Notice::PbxCannot {
                error: error.to_string(),
            }),
            CallInput::Sip(event) => self.on_sip(now, event, &mut fx),
            CallInput::Creatio(input) => self.on_creatio(input, &mut fx),
            CallInput::Audio { dialog, news } => {
                if let Some(call) = self.by_dialog_mut(dialog) {
                    call.audio.apply(news);
                }
            }
            CallInput::Quality { dialog, estimate } => {
                if let Some(call) = self.by_dialog_mut(dialog) {
                    call.quality = Some((estimate.mos.clamp(1.0, 5.0) * 10.0).round() as u8);
                }
            }
            CallInput::Ui(command) => {
                if let Err(rejected) = self.command(now, command, &mut fx) {
                    tracing::info!(action = ?rejected.action, reason = %rejected.reason, "command refused");
                    self.notice = Some(rejected.reason.sentence());
                    fx.push(Effect::Rejected(rejected));
                }
            }
            CallInput::WallClock(wall) => self.wall = (now, wall),
            CallInput::Tick => self.answer_fallback(now, &mut fx),
        }
        self.settle(&mut fx);
        fx
    }

    // ---- Oktell ----

    fn on_oktell(&mut self, now: Instant, event: OktellEvent, fx: &mut Vec<Effect<D>>) {
        match event {
            OktellEvent::Connection(state) => {
                self.oktell.link = match state {
                    ConnectionState::Connecting { attempt } if attempt > 1 => OktellLink::Reconnecting { attempt },
                    ConnectionState::Connecting { .. } | ConnectionState::LoggingIn | ConnectionState::Syncing => {
                        match &self.oktell.link {
                            OktellLink::Reconnecting { attempt } => OktellLink::Reconnecting { attempt: *attempt },
                            _ => OktellLink::Connecting,
                        }
                    }
                    ConnectionState::Connected => OktellLink::Connected,
                    ConnectionState::Reconnecting { attempt, .. } => OktellLink::Reconnecting { attempt },
                    ConnectionState::LoggingOut => OktellLink::Down {
                        status: Status::OktellLoggingOut,
                    },
                    ConnectionState::Closed(reason) => OktellLink::Down {
                        status: closed_status(&reason),
                    },
                };
            }
            OktellEvent::LoginFailed(error) => {
                self.say(Notice::OktellLoginFailed {
                    error: error.to_string(),
                });
            }
            OktellEvent::SyncFailed(error) => {
                self.say(Notice::OktellSyncFailed {
                    error: error.to_string(),
                });
            }
            OktellEvent::Agent(agent) => self.oktell.agent = Some(agent),
            OktellEvent::BreakReasons(reasons) => self.oktell.break_reasons = reasons,
            OktellEvent::Queue(queue) => self.oktell.queue = queue,
            OktellEvent::Users(users) => self.oktell.users = users,
            OktellEvent::NumberStates(states) => {
                for state in states {
                    if let (Some(num), Some(id)) = (state.num, state.numstateid) {
                        self.oktell.presence.insert(num, id);
                    }
                }
            }
            OktellEvent::Line(line) => self.reconcile(now, &line, fx),
            OktellEvent::CommandFailed { failure, .. } => {
                self.say(Notice::PbxRefused {
                    failure: failure.to_string(),
                });
            }
            _ => {}
        }
    }

    /// Brings the calls in line with an Oktell line report.
    fn reconcile(&mut self, now: Instant, line: &LineView, fx: &mut Vec<Effect<D>>) {
        if self.oktell.link != OktellLink::Connected && line.state == PhoneState::Disconnected {
            // The session's own "line gone" on close or during a reconnect: not a fact about
            // the calls, which stay as they are until Oktell reports again.
            return;
        }
        let mut seen: Vec<CallId> = Vec::new();
        self.oktell.conference = line.conference.clone().map(|id| (id, line.abonents.clone()));

        let current = match line.state {
            PhoneState::Ready | PhoneState::Disconnected => None,
            _ if line.conference.is_some() => None,
            state => line.abonents.first().map(|a| (a, state)),
        };
        if let Some((abonent, state)) = current {
            let index = self.find_or_pair(now, abonent, state, fx);
            let talk_since = line.talk_since;
            if let Some(call) = self.calls.get_mut(index) {
                seen.push(call.id);
                let phase = match state {
                    PhoneState::Ring => Phase::Ringing { since: now },
                    PhoneState::BackRing => Phase::RingBack { since: now },
                    PhoneState::Call | PhoneState::BackCall => Phase::Dialling { since: now },
                    _ => Phase::Talking,
                };
                set_phase(call, phase, now, talk_since);
            }
        }
        if line.conference.is_some() {
            for call in self.calls.iter_mut().filter(|c| c.oktell.is_some() && !c.is_held()) {
                seen.push(call.id);
                set_phase(call, Phase::Talking, now, line.talk_since);
            }
        }
        if let Hold::Party(abonent) = &line.hold {
            let index = match self.find_oktell(abonent) {
                Some(index) => index,
                None => self.create(now, RecordDirection::Incoming, abonent_party(abonent), fx),
            };
            if let Some(call) = self.calls.get_mut(index) {
                attach_oktell(call, abonent);
                seen.push(call.id);
                set_phase(call, Phase::Held { since: now }, now, None);
            }
        }

        let gone: Vec<CallId> = self
            .calls
            .iter()
            .filter(|c| c.oktell.is_some() && !seen.contains(&c.id))
            .map(|c| c.id)
            .collect();
        for id in gone {
            let Some(index) = self.index(id) else { continue };
            let live_dialog = self.calls.get(index).is_some_and(|c| c.dialog.is_some());
            if live_dialog {
                // The softphone leg outlives the PBX's report by the BYE/CANCEL round trip.
                if let Some(call) = self.calls.get_mut(index) {
                    call.oktell = None;
                }
            } else {
                self.finish(index, now, fx);
            }
        }
    }

    fn find_oktell(&self, abonent: &Abonent) -> Option<usize> {
        self.calls.iter().position(|c| {
            c.oktell.as_ref().is_some_and(|leg| {
                leg.key == abonent.key || (leg.chain_id.is_some() && leg.chain_id == abonent.chain_id)
            })
        })
    }

    /// The call for the line's current party: known already, the softphone half of the same
    /// call (see [`crate::correlate`]), or a new one.
    fn find_or_pair(&mut self, now: Instant, abonent: &Abonent, state: PhoneState, fx: &mut Vec<Effect<D>>) -> usize {
        let index = self.find_oktell(abonent).or_else(|| {
            let ring_back = matches!(state, PhoneState::BackRing | PhoneState::BackCall);
            let target = Ring {
                at: now,
                number: abonent.phone.as_deref(),
                ring_back,
            };
            let candidates = self
                .calls
                .iter()
                .enumerate()
                .filter(|(_, c)| c.oktell.is_none() && c.dialog.is_some() && c.direction_is_softphone_incoming())
                .map(|(i, c)| {
                    let ring = Ring {
                        at: c.started,
                        number: c.party.number.as_deref(),
                        ring_back: matches!(c.phase, Phase::RingBack { .. }),
                    };
                    (i, ring)
                });
            correlate::best(target, candidates, self.config.correlation_window, true)
        });
        let index = match index {
            Some(index) => index,
            None => {
                let direction = match state {
                    PhoneState::Ring | PhoneState::Talk => RecordDirection::Incoming,
                    _ => RecordDirection::Outgoing,
                };
                if direction == RecordDirection::Outgoing {
                    self.pending_dial = None;
                }
                self.create(now, direction, abonent_party(abonent), fx)
            }
        };
        let number_before = self.calls.get(index).and_then(|c| c.party.number.clone());
        if let Some(call) = self.calls.get_mut(index) {
            attach_oktell(call, abonent);
            if abonent.name.is_some() && abonent.name != abonent.phone {
                call.party.name.clone_from(&abonent.name);
            }
            if call.party.number.is_none() {
                call.party.number.clone_from(&abonent.phone);
            }
        }
        if number_before.is_none() {
            self.identify(index, fx);
        }
        index
    }

    // ---- SIP ----

    fn on_sip(&mut self, now: Instant, event: SipEvent<D>, fx: &mut Vec<Effect<D>>) {
        match event {
            SipEvent::Registered => self.sip = SipLink::Registered,
            SipEvent::RegistrationFailed { reason, retry_in } => {
                self.sip = SipLink::Failed {
                    status: Status::SipRegistrationFailed {
                        reason,
                        retry_secs: retry_in.as_secs().max(1),
                    },
                };
            }
            SipEvent::Unregistered => self.sip = SipLink::Unregistered,
            SipEvent::Incoming { dialog, number, name } => self.on_incoming(now, dialog, number, name, fx),
            SipEvent::Dialling { call, dialog } => {
                if let Some(c) = self.calls.iter_mut().find(|c| c.id == call) {
                    c.dialog = Some(Dialog {
                        handle: dialog,
                        state: DialogState::Outgoing,
                        hold: SipHold::None,
                        held_by_remote: false,
                        muted: false,
                    });
                }
            }
            SipEvent::DialFailed { call, reason } => {
                self.say(Notice::DialFailed { reason });
                if let Some(index) = self.index(call) {
                    self.finish(index, now, fx);
                }
            }
            SipEvent::Progress { .. } => {}
            SipEvent::Established { dialog } => {
                if let Some(call) = self.by_dialog_mut(dialog) {
                    if let Some(d) = call.dialog.as_mut() {
                        d.state = DialogState::Established;
                    }
                    match call.phase {
                        // The operator took the auto-call's ring-back: the PBX now dials.
                        Phase::RingBack { .. } => set_phase(call, Phase::Dialling { since: now }, now, None),
                        // Oktell reports the talk a moment later; the operator hears it now.
                        Phase::Ringing { .. } => set_phase(call, Phase::Talking, now, None),
                        _ if call.oktell.is_none() => set_phase(call, Phase::Talking, now, None),
                        _ => {}
                    }
                }
            }
            SipEvent::MediaUpdated {
                dialog,
                held_by_us,
                held_by_remote,
            } => {
                if let Some(call) = self.by_dialog_mut(dialog) {
                    if let Some(d) = call.dialog.as_mut() {
                        d.hold = if held_by_us { SipHold::Held } else { SipHold::None };
                        d.held_by_remote = held_by_remote;
                    }
                    if call.oktell.is_none() {
                        let phase = if held_by_us {
                            Phase::Held { since: now }
                        } else {
                            Phase::Talking
                        };
                        set_phase(call, phase, now, None);
                    }
                }
            }
            SipEvent::ModifyFailed { dialog, status } => {
                if let Some(call) = self.by_dialog_mut(dialog)
                    && let Some(d) = call.dialog.as_mut()
                {
                    let (was, notice) = match d.hold {
                        SipHold::ResumeRequested => (SipHold::Held, Notice::ResumeRefused { status }),
                        _ => (SipHold::None, Notice::HoldRefused { status }),
                    };
                    d.hold = was;
                    self.say(notice);
                }
            }
            SipEvent::Referred { dialog, number } => {
                let party = Party {
                    number: Some(number),
                    name: None,
                    lookup: Lookup::NotAsked,
                };
                let index = self.create(now, RecordDirection::Outgoing, party, fx);
                if let Some(call) = self.calls.get_mut(index) {
                    call.dialog = Some(Dialog {
                        handle: dialog,
                        state: DialogState::Outgoing,
                        hold: SipHold::None,
                        held_by_remote: false,
                        muted: false,
                    });
                }
            }
            SipEvent::Replaced {
                replaced,
                dialog,
                number,
                name,
            } => {
                let index = self
                    .calls
                    .iter()
                    .position(|c| c.dialog.is_some_and(|d| d.handle == replaced));
                let Some(call) = index.and_then(|i| self.calls.get_mut(i)) else {
                    return;
                };
                if let Some(d) = call.dialog.as_mut() {
                    d.handle = dialog;
                    d.state = DialogState::Established;
                    d.hold = SipHold::None;
                    d.held_by_remote = false;
                }
                if number.is_some() || name.is_some() {
                    call.party = Party {
                        number,
                        name,
                        lookup: Lookup::NotAsked,
                    };
                    if let Some(index) = index {
                        self.identify(index, fx);
                    }
                }
            }
            SipEvent::TransferFailed { dialog, status } => {
                if self.by_dialog_mut(dialog).is_some() {
                    self.say(match status {
                        Some(status) => Notice::TransferFailedStatus { status },
                        None => Notice::TransferFailed,
                    });
                }
            }
            SipEvent::Stopped { reason } => {
                self.sip = SipLink::Failed {
                    status: Status::SipNotRunning { reason },
                };
                // Its dialogs died with it: each ends as if the transport had failed.
                let dialogs: Vec<D> = self.calls.iter().filter_map(|c| c.dialog.map(|d| d.handle)).collect();
                for dialog in dialogs {
                    self.on_sip(
                        now,
                        SipEvent::Ended {
                            dialog,
                            reason: EndReason::TransportError,
                        },
                        fx,
                    );
                }
            }
            SipEvent::Ended { dialog, reason } => {
                let Some(index) = self
                    .calls
                    .iter()
                    .position(|c| c.dialog.is_some_and(|d| d.handle == dialog))
                else {
                    return;
                };
                if let EndReason::Rejected { status, reason } = &reason
                    && self
                        .calls
                        .get(index)
                        .is_some_and(|c| c.answered.is_none() && c.direction == RecordDirection::Outgoing)
                {
                    self.say(Notice::CallNotAccepted {
                        status: *status,
                        reason: reason.clone(),
                    });
                }
                // While Oktell is connected it reports the party's end itself; during an outage
                // the dialog was the only live evidence of the call.
                let oktell_connected = self.control() == Control::Oktell;
                let governed_by_oktell = oktell_connected && self.calls.get(index).is_some_and(|c| c.oktell.is_some());
                if governed_by_oktell {
                    if let Some(call) = self.calls.get_mut(index) {
                        call.dialog = None;
                    }
                } else {
                    self.finish(index, now, fx);
                }
            }
        }
    }

    fn on_incoming(
        &mut self,
        now: Instant,
        dialog: D,
        number: Option<String>,
        name: Option<String>,
        fx: &mut Vec<Effect<D>>,
    ) {
        let fresh = Dialog {
            handle: dialog,
            state: DialogState::Ringing,
            hold: SipHold::None,
            held_by_remote: false,
            muted: false,
        };
        let expecting_ring_back = self
            .pending_dial
            .as_ref()
            .is_some_and(|p| now.saturating_duration_since(p.at) <= self.config.correlation_window);
        let target = Ring {
            at: now,
            number: number.as_deref(),
            ring_back: expecting_ring_back,
        };
        let candidates = self
            .calls
            .iter()
            .enumerate()
            .filter(|(_, c)| c.dialog.is_none() && c.oktell.is_some() && c.is_ringing())
            .map(|(i, c)| {
                let at = match c.phase {
                    Phase::Ringing { since } | Phase::RingBack { since } => since,
                    _ => c.started,
                };
                let ring = Ring {
                    at,
                    number: c.party.number.as_deref(),
                    ring_back: matches!(c.phase, Phase::RingBack { .. }),
                };
                (i, ring)
            });
        let index = match correlate::best(target, candidates, self.config.correlation_window, false) {
            Some(index) => index,
            None if expecting_ring_back => {
                let pending = self.pending_dial.take();
                let party = Party {
                    number: pending.map(|p| p.number),
                    name: None,
                    lookup: Lookup::NotAsked,
                };
                let index = self.create(now, RecordDirection::Outgoing, party, fx);
                if let Some(call) = self.calls.get_mut(index) {
                    call.phase = Phase::RingBack { since: now };
                }
                index
            }
            None => {
                let party = Party {
                    number,
                    name,
                    lookup: Lookup::NotAsked,
                };
                self.create(now, RecordDirection::Incoming, party, fx)
            }
        };
        let Some(call) = self.calls.get_mut(index) else { return };
        call.dialog = Some(fresh);
        let answer = call.answer_pending.is_some()
            || (self.config.auto_answer_ring_back && matches!(call.phase, Phase::RingBack { .. }));
        if answer {
            answer_dialog(call, fx);
        }
    }

    // ---- Creatio ----

    fn on_creatio(&mut self, input: CreatioInput, fx: &mut Vec<Effect<D>>) {
        match input {
            CreatioInput::Identified { call, result } => {
                let Some(c) = self.calls.iter_mut().find(|c| c.id == call) else {
                    return;
                };
                if let Identification::One(subscriber) = &result
                    && c.record_created
                {
                    fx.push(Effect::Creatio(CreatioEffect::Write(calls::identified(
                        c.record_id,
                        subscriber,
                    ))));
                }
                c.party.lookup = Lookup::Done(result);
            }
            CreatioInput::IdentifyFailed { call, reason } => {
                tracing::info!(?call, %reason, "caller lookup failed");
                if let Some(c) = self.calls.iter_mut().find(|c| c.id == call) {
                    c.party.lookup = Lookup::Failed;
                }
            }
            CreatioInput::Outbox(summary) => self.creatio = summary,
            CreatioInput::WaitReason(reason) => self.creatio_wait_reason = reason,
            CreatioInput::History { entries, offline } => self.history.set_creatio(&entries, offline),
        }
    }

    // ---- UI commands ----

    fn command(&mut self, now: Instant, command: UiCommand, fx: &mut Vec<Effect<D>>) -> Result<(), CommandRejected> {
        let action = Action::of(&command);
        let refuse = |reason| CommandRejected { action, reason };
        features::check(self, action).map_err(refuse)?;
        let control = self.control();
        match command {
            UiCommand::Answer => {
                let index = self.ringing().ok_or(refuse(Refusal::NoRingingCall))?;
                // Call waiting: the conversation in progress goes on hold first, as on every desk phone, so the
                // operator never talks to two callers at once.
                if let Some(active) = self.talking_besides(index) {
                    let by_oktell =
                        control == Control::Oktell && self.calls.get(active).is_some_and(|c| c.oktell.is_some());
                    if by_oktell {
                        fx.push(Effect::Oktell(oktell::Command::Hold));
                    } else {
                        self.sip_hold(active, true, fx);
                    }
                }
                let registered = self.sip == SipLink::Registered;
                let call = self.calls.get_mut(index).ok_or(refuse(Refusal::NoRingingCall))?;
                if call.dialog_in(DialogState::Ringing) {
                    answer_dialog(call, fx);
                } else if control == Control::Oktell && !registered {
                    fx.push(Effect::Oktell(oktell::Command::Answer));
                } else {
                    // The INVITE is on its way; answer it the moment it rings the softphone
                    // (or through the PBX if it never comes, see `answer_fallback`).
                    call.answer_pending = Some(now);
                }
            }
            UiCommand::Decline => {
                let index = self.ringing().ok_or(refuse(Refusal::NoRingingCall))?;
                let call = self.calls.get_mut(index).ok_or(refuse(Refusal::NoRingingCall))?;
                call.declined = true;
                if control == Control::Oktell && call.oktell.is_some() {
                    fx.push(Effect::Oktell(oktell::Command::Decline));
                } else if let Some(d) = call.dialog {
                    fx.push(Effect::Sip(SipAction::Reject {
                        dialog: d.handle,
                        status: 486,
                    }));
                }
            }
            UiCommand::Hangup => {
                let index = self.current().or_else(|| self.held()).ok_or(refuse(Refusal::NoCall))?;
                let call = self.calls.get(index).ok_or(refuse(Refusal::NoCall))?;
                if control == Control::Oktell && call.oktell.is_some() {
                    fx.push(Effect::Oktell(oktell::Command::Hangup));
                } else if let Some(d) = call.dialog {
                    fx.push(Effect::Sip(match d.state {
                        DialogState::Ringing => SipAction::Reject {
                            dialog: d.handle,
                            status: 486,
                        },
                        _ => SipAction::Hangup { dialog: d.handle },
                    }));
                }
            }
            UiCommand::Hold => match control {
                Control::Oktell => fx.push(Effect::Oktell(oktell::Command::Hold)),
                _ => {
                    let index = self
                        .current()
                        .ok_or(refuse(Refusal::NotTalking { what: Feature::Hold }))?;
                    self.sip_hold(index, true, fx);
                }
            },
            UiCommand::Resume => match control {
                Control::Oktell => fx.push(Effect::Oktell(oktell::Command::Resume)),
                _ => {
                    let index = self.held().ok_or(refuse(Refusal::NothingOnHold))?;
                    self.sip_hold(index, false, fx);
                }
            },
            UiCommand::ToggleMute => {
                let dialog = self
                    .current()
                    .and_then(|index| self.calls.get_mut(index))
                    .and_then(|call| call.dialog.as_mut())
                    .ok_or(refuse(Refusal::NoSoftphoneLeg))?;
                dialog.muted = !dialog.muted;
                fx.push(Effect::Sip(SipAction::Mute {
                    dialog: dialog.handle,
                    muted: dialog.muted,
                }));
            }
            UiCommand::Swap => match control {
                Control::Oktell => fx.push(Effect::Oktell(oktell::Command::Toggle)),
                _ => {
                    let current = self
                        .current()
                        .ok_or(refuse(Refusal::NotTalking { what: Feature::Swap }))?;
                    let held = self.held().ok_or(refuse(Refusal::NothingOnHold))?;
                    self.sip_hold(current, true, fx);
                    self.sip_hold(held, false, fx);
                }
            },
            UiCommand::Dial { number } | UiCommand::Consult { number } => {
                let number = number.trim().to_owned();
                if phone::digits(&number).is_empty() && !number.contains('@') {
                    return Err(refuse(Refusal::EmptyNumber));
                }
                match control {
                    Control::Oktell => {
                        fx.push(Effect::Oktell(oktell::Command::Call {
                            number: number.clone(),
                            sequence: Sequence::User,
                        }));
                        // From an idle phone the PBX rings the operator first; during a talk
                        // (consultation) the operator is already connected and nothing rings.
                        if action == Action::Dial {
                            self.pending_dial = Some(PendingDial { number, at: now });
                        }
                    }
                    _ => {
                        if action == Action::Consult
                            && let Some(current) = self.current()
                        {
                            self.sip_hold(current, true, fx);
                        }
                        let party = Party {
                            number: Some(number.clone()),
                            name: None,
                            lookup: Lookup::NotAsked,
                        };
                        let index = self.create(now, RecordDirection::Outgoing, party, fx);
                        if let Some(call) = self.calls.get(index) {
                            fx.push(Effect::Sip(SipAction::Dial { call: call.id, number }));
                        }
                    }
                }
            }
            UiCommand::Transfer { to } => {
                let to = to.trim().to_owned();
                if phone::digits(&to).is_empty() && !(control == Control::Sip && to.contains('@')) {
                    return Err(refuse(Refusal::EmptyNumber));
                }
                match control {
                    Control::Oktell => fx.push(Effect::Oktell(oktell::Command::Transfer { to })),
                    _ => {
                        let dialog = self
                            .current()
                            .and_then(|i| self.calls.get(i))
                            .and_then(|c| c.dialog)
                            .ok_or(refuse(Refusal::NoSoftphoneLeg))?;
                        fx.push(Effect::Sip(SipAction::Transfer {
                            dialog: dialog.handle,
                            to,
                        }));
                    }
                }
            }
            UiCommand::Connect => match control {
                Control::Oktell => fx.push(Effect::Oktell(oktell::Command::Commutate)),
                _ => {
                    let dialog_of = |index: Option<usize>| {
                        index
                            .and_then(|i| self.calls.get(i))
                            .and_then(|c| c.dialog)
                            .map(|d| d.handle)
                    };
                    let held = dialog_of(self.held()).ok_or(refuse(Refusal::NothingOnHold))?;
                    let current = dialog_of(self.current()).ok_or(refuse(Refusal::NoSoftphoneLeg))?;
                    fx.push(Effect::Sip(SipAction::AttendedTransfer {
                        dialog: held,
                        to: current,
                    }));
                }
            },
            UiCommand::ConferenceStart => fx.push(Effect::Oktell(oktell::Command::ConferenceFromCall)),
            UiCommand::ConferenceAddHeld => fx.push(Effect::Oktell(oktell::Command::ConferenceAddHeld)),
            UiCommand::ConferenceLeave => fx.push(Effect::Oktell(oktell::Command::ConferenceLeave)),
            UiCommand::Dtmf { digits } => {
                let digits = digits.trim().to_ascii_uppercase();
                if digits.is_empty() || !digits.chars().all(|c| matches!(c, '0'..='9' | '*' | '#' | 'A'..='D')) {
                    return Err(refuse(Refusal::BadDigits));
                }
                let dialog = self
                    .current()
                    .and_then(|i| self.calls.get(i))
                    .and_then(|c| c.dialog)
                    .ok_or(refuse(Refusal::NoSoftphoneLeg))?;
                fx.push(Effect::Dtmf {
                    dialog: dialog.handle,
                    digits,
                });
            }
            UiCommand::SetStatus(choice) => {
                let request = match choice {
                    StatusChoice::Ready => StatusRequest::Ready,
                    StatusChoice::ReadyCallCenter => StatusRequest::ReadyCallCenter,
                    StatusChoice::Break { reason } => StatusRequest::Break(reason),
                    StatusChoice::Dnd => StatusRequest::Dnd,
                };
                fx.push(Effect::Oktell(oktell::Command::SetStatus(request)));
            }
            UiCommand::OpenCard => {
                let (kind, id) = features::card_target(self).ok_or(refuse(Refusal::NoCard))?;
                fx.push(Effect::Creatio(CreatioEffect::OpenCard { kind, id }));
            }
            UiCommand::DismissPopup => {
                for call in self.calls.iter_mut().filter(|c| c.is_ringing()) {
                    call.popup_dismissed = true;
                }
            }
            UiCommand::MarkMissedSeen => self.history.mark_seen(),
        }
        self.notice = None;
        Ok(())
    }

    /// An answer waiting for an INVITE that did not come within the correlation window: the
    /// PBX rang another device of the operator (a desk phone), so answer through Oktell.
    fn answer_fallback(&mut self, now: Instant, fx: &mut Vec<Effect<D>>) {
        if self.control() != Control::Oktell {
            return;
        }
        let window = self.config.correlation_window;
        for call in &mut self.calls {
            if call.dialog.is_none()
                && call.is_ringing()
                && call
                    .answer_pending
                    .is_some_and(|at| now.saturating_duration_since(at) >= window)
            {
                call.answer_pending = None;
                tracing::info!(id = ?call.id, "no INVITE reached the softphone; answering through the PBX");
                fx.push(Effect::Oktell(oktell::Command::Answer));
            }
        }
    }

    fn sip_hold(&mut self, index: usize, hold: bool, fx: &mut Vec<Effect<D>>) {
        let Some(dialog) = self.calls.get_mut(index).and_then(|c| c.dialog.as_mut()) else {
            return;
        };
        if hold {
            dialog.hold = SipHold::Requested;
            fx.push(Effect::Sip(SipAction::Hold { dialog: dialog.handle }));
        } else {
            dialog.hold = SipHold::ResumeRequested;
            fx.push(Effect::Sip(SipAction::Resume { dialog: dialog.handle }));
        }
    }

    /// Shows a notice until the next accepted command.
    fn say(&mut self, notice: Notice) {
        self.notice = Some(notice.sentence());
    }

    // ---- queries used by features and view ----

    pub(crate) fn control(&self) -> Control {
        if self.oktell.link == OktellLink::Connected {
            Control::Oktell
        } else if self.config.oktell_configured {
            Control::OktellDown
        } else {
            Control::Sip
        }
    }

    /// The call the operator deals with now: not on hold (the conference call in a
    /// conference).
    pub(crate) fn current(&self) -> Option<usize> {
        self.calls.iter().position(|c| !c.is_held())
    }

    pub(crate) fn held(&self) -> Option<usize> {
        self.calls.iter().position(Call::is_held)
    }

    pub(crate) fn ringing(&self) -> Option<usize> {
        self.calls.iter().position(Call::is_ringing)
    }

    /// A conversation in progress other than the call at `ringing`: the one a waiting call would put on hold.
    pub(crate) fn talking_besides(&self, ringing: usize) -> Option<usize> {
        self.calls
            .iter()
            .enumerate()
            .find(|(i, c)| *i != ringing && c.phase == Phase::Talking)
            .map(|(i, _)| i)
    }

    pub(crate) fn wall_ms(&self, at: Instant) -> u64 {
        let (anchor, wall) = self.wall;
        let moment = if at >= anchor {
            wall.checked_add(at - anchor)
        } else {
            wall.checked_sub(anchor - at)
        }
        .unwrap_or(wall);
        moment
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
    }

    fn wall_at(&self, at: Instant) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_millis(self.wall_ms(at))
    }

    fn index(&self, id: CallId) -> Option<usize> {
        self.calls.iter().position(|c| c.id == id)
    }

    fn by_dialog_mut(&mut self, dialog: D) -> Option<&mut Call<D>> {
        self.calls
            .iter_mut()
            .find(|c| c.dialog.is_some_and(|d| d.handle == dialog))
    }

    // ---- lifecycle ----

    fn create(&mut self, now: Instant, direction: RecordDirection, party: Party, fx: &mut Vec<Effect<D>>) -> usize {
        let id = CallId(self.next_call);
        self.next_call += 1;
        let mut random = [0u8; 16];
        self.rng.fill_bytes(&mut random);
        let phase = match direction {
            RecordDirection::Outgoing => Phase::Dialling { since: now },
            _ => Phase::Ringing { since: now },
        };
        tracing::info!(?id, ?direction, "call appeared");
        self.calls.push(Call {
            id,
            direction,
            phase,
            party,
            oktell: None,
            dialog: None,
            started: now,
            answered: None,
            holds: Vec::new(),
            record_id: calls::new_record_id(random),
            card_opened: false,
            answer_pending: None,
            declined: false,
            popup_dismissed: false,
            notified: false,
            quality: None,
            record_created: false,
            audio: AudioState::default(),
        });
        let index = self.calls.len() - 1;
        self.identify(index, fx);
        index
    }

    /// Creates the Creatio record of every call that is ready for it: at once for a call
    /// Oktell knows (its chain id makes the integration id), after the correlation window for
    /// a softphone-only call while Oktell is in control (the Oktell half may still come).
    fn write_records(&mut self, fx: &mut Vec<Effect<D>>) {
        let oktell_in_control = self.control() == Control::Oktell;
        let window = self.config.correlation_window;
        let now = self.now;
        let due: Vec<usize> = (0..self.calls.len())
            .filter(|&i| {
                self.calls.get(i).is_some_and(|c| {
                    !c.record_created
                        && (c.oktell.is_some()
                            || !oktell_in_control
                            || now.saturating_duration_since(c.started) >= window)
                })
            })
            .collect();
        for index in due {
            self.write_created(index, fx);
        }
    }

    /// The record's create, then its contact patch if the caller is already known.
    fn write_created(&mut self, index: usize, fx: &mut Vec<Effect<D>>) {
        let Some(call) = self.calls.get(index) else { return };
        fx.push(Effect::Creatio(CreatioEffect::Write(calls::created(
            &self.timeline(call, None),
        ))));
        if let Lookup::Done(Identification::One(subscriber)) = &call.party.lookup {
            fx.push(Effect::Creatio(CreatioEffect::Write(calls::identified(
                call.record_id,
                subscriber,
            ))));
        }
        if let Some(call) = self.calls.get_mut(index) {
            call.record_created = true;
        }
    }

    fn identify(&mut self, index: usize, fx: &mut Vec<Effect<D>>) {
        let Some(call) = self.calls.get_mut(index) else { return };
        let Some(number) = call.party.number.clone() else {
            return;
        };
        if call.party.lookup != Lookup::NotAsked || phone::digits(&number).is_empty() {
            return;
        }
        call.party.lookup = Lookup::Pending;
        fx.push(Effect::Creatio(CreatioEffect::Identify { call: call.id, number }));
    }

    fn timeline(&self, call: &Call<D>, ended: Option<Instant>) -> CallTimeline {
        let number = call.party.number.clone().unwrap_or_default();
        let shown = call.party.name.clone().unwrap_or_else(|| phone::format(&number));
        let (caption, caller_id, called_id) = match call.direction {
            RecordDirection::Outgoing => (
                format!("Outgoing call to {shown}"),
                self.config.own_number.clone(),
                number.clone(),
            ),
            _ => (
                format!("Incoming call from {shown}"),
                number.clone(),
                self.config.own_number.clone(),
            ),
        };
        let integration_id = match call.oktell.as_ref().and_then(|l| l.chain_id.as_deref()) {
            Some(chain) => calls::oktell_integration_id(chain, &number),
            None => call.record_id.to_string(),
        };
        CallTimeline {
            record_id: call.record_id,
            integration_id,
            caption,
            direction: call.direction,
            caller_id,
            called_id,
            started: self.wall_at(call.started).into(),
            answered: call.answered.map(|at| self.wall_at(at).into()),
            holds: call
                .holds
                .iter()
                .map(|(start, end)| calls::Hold {
                    started: self.wall_at(*start).into(),
                    resumed: end.map(|at| self.wall_at(at).into()),
                })
                .collect(),
            ended: ended.map(|at| self.wall_at(at).into()),
        }
    }

    fn finish(&mut self, index: usize, now: Instant, fx: &mut Vec<Effect<D>>) {
        if index >= self.calls.len() {
            return;
        }
        if self.calls.get(index).is_some_and(|c| !c.record_created) {
            self.write_created(index, fx);
        }
        let mut call = self.calls.remove(index);
        if let Some((_, end @ None)) = call.holds.last_mut() {
            *end = Some(now);
        }
        let outcome = match (call.answered, call.direction) {
            (Some(_), _) => Outcome::Answered,
            (None, _) if call.declined => Outcome::Declined,
            (None, RecordDirection::Outgoing) => Outcome::NotConnected,
            (None, _) => Outcome::Missed,
        };
        tracing::info!(id = ?call.id, ?outcome, "call finished");
        match calls::ended(&self.timeline(&call, Some(now))) {
            Ok(write) => fx.push(Effect::Creatio(CreatioEffect::Write(write))),
            Err(error) => tracing::warn!(%error, "call record not finished"),
        }
        let party = view::party(&call.party);
        if outcome == Outcome::Missed {
            fx.push(Effect::Notify(Notification {
                kind: NotificationKind::Missed,
                title: "Missed call".into(),
                body: party.display.clone(),
            }));
        }
        self.history.push(HistoryEntry {
            id: Some(call.id),
            record: call.record_id,
            source: Source::Panel,
            direction: view::direction(call.direction),
            party,
            outcome,
            started_unix_ms: self.wall_ms(call.started),
            talk_secs: call
                .answered
                .map_or(0, |at| now.saturating_duration_since(at).as_secs()),
            unseen: outcome == Outcome::Missed,
        });
    }

    /// Derived effects common to every input: Creatio records, card opening, ringing notification, ringtone,
    /// popup, and the view.
    fn settle(&mut self, fx: &mut Vec<Effect<D>>) {
        self.write_records(fx);
        let card_open = self.config.card_open;
        for call in &mut self.calls {
            if !call.notified && matches!(call.phase, Phase::Ringing { .. }) {
                call.notified = true;
                fx.push(Effect::Notify(Notification {
                    kind: NotificationKind::Ringing,
                    title: "Incoming call".into(),
                    body: view::party(&call.party).display,
                }));
            }
            let moment = match card_open {
                CardOpen::Ring => true,
                CardOpen::Answer => call.answered.is_some(),
                CardOpen::Never => false,
            };
            if moment
                && !call.card_opened
                && let Lookup::Done(Identification::One(subscriber)) = &call.party.lookup
            {
                call.card_opened = true;
                fx.push(Effect::Creatio(CreatioEffect::OpenCard {
                    kind: subscriber.kind,
                    id: subscriber.id,
                }));
            }
        }
        let ringtone = self
            .calls
            .iter()
            .any(|c| c.is_ringing() && c.dialog_in(DialogState::Ringing));
        if ringtone != self.ringtone {
            self.ringtone = ringtone;
            fx.push(if ringtone {
                Effect::StartRingtone
            } else {
                Effect::StopRingtone
            });
        }
        let auto_answer = self.config.auto_answer_ring_back;
        let popup = self.calls.iter().any(|c| c.wants_popup(auto_answer));
        if popup != self.popup {
            self.popup = popup;
            fx.push(if popup { Effect::ShowPopup } else { Effect::HidePopup });
        }
        let mut next = view::build(self);
        next.rev = self.view.rev;
        if next != self.view {
            next.rev += 1;
            self.view = next;
            fx.push(Effect::View(Box::new(self.view.clone())));
        }
    }
}

impl<D> Call<D> {
    /// A dialog the PBX sent us (not one we dialled): only those pair with Oktell rings.
    fn direction_is_softphone_incoming(&self) -> bool {
        !self.dialog_in(DialogState::Outgoing)
    }
}

fn answer_dialog<D: Copy>(call: &mut Call<D>, fx: &mut Vec<Effect<D>>) {
    if let Some(d) = call.dialog.as_mut()
        && d.state == DialogState::Ringing
    {
        d.state = DialogState::Answering;
        call.answer_pending = None;
        fx.push(Effect::Sip(SipAction::Answer { dialog: d.handle }));
    }
}

fn attach_oktell<D>(call: &mut Call<D>, abonent: &Abonent) {
    call.oktell = Some(OktellLeg {
        key: abonent.key.clone(),
        chain_id: abonent.chain_id.clone(),
    });
}

fn abonent_party(abonent: &Abonent) -> Party {
    Party {
        number: abonent.phone.clone(),
        name: abonent.name.clone().filter(|n| Some(n) != abonent.phone.as_ref()),
        lookup: Lookup::NotAsked,
    }
}

/// Moves a call to `phase`, keeping the answer time and the hold periods.
/// `talk_since` is the PBX's own talk start, used when we learn of a talk late (a resync).
fn set_phase<D>(call: &mut Call<D>, phase: Phase, now: Instant, talk_since: Option<Instant>) {
    let same_kind = std::mem::discriminant(&call.phase) == std::mem::discriminant(&phase);
    if same_kind {
        return;
    }
    if call.is_held()
        && let Some((_, end @ None)) = call.holds.last_mut()
    {
        *end = Some(now);
    }
    match phase {
        Phase::Talking if call.answered.is_none() => call.answered = Some(talk_since.unwrap_or(now).min(now)),
        Phase::Held { .. } => {
            call.answered.get_or_insert(now);
            call.holds.push((now, None));
        }
        _ => {}
    }
    call.phase = phase;
}

fn closed_status(reason: &oktell::CloseReason) -> Status {
    match reason {
        oktell::CloseReason::LoggedOut | oktell::CloseReason::Shutdown => Status::OktellLoggedOut,
        oktell::CloseReason::LoginRefused(error) => Status::OktellLoginRefused {
            error: error.to_string(),
        },
        oktell::CloseReason::Incompatible(error) => Status::OktellIncompatible {
            error: error.to_string(),
        },
    }
}
