//! `PanelView`: everything the panel window and the tray popup render, as one serialisable
//! snapshot. The UI is written against these field names: keep them stable.
//!
//! `rev` grows by one each time anything else in the view changes, and only then, so a
//! window can drop a view whose `rev` it has already shown. Times are whole seconds counted
//! by the model (`elapsed_secs`, `talk_secs`, refreshed by the once-a-second tick) or Unix
//! milliseconds (`started_unix_ms`); the UI keeps no clock of its own.
//!
//! Every sentence for the operator comes twice: as English text (`notice`, `message`, ...),
//! which logs and older readers use, and as a [`Sentence`] (`notice_sentence`, `sentence`,
//! ...) with a key the UI translates.

use creatio::calls::Direction as RecordDirection;
use creatio::identify::{Identification, SubscriberKind};
use oktell::agent::AgentStatus;
use oktell::line::Abonent;
use serde::Serialize;
use uuid::Uuid;

use crate::features::{self, Action};
use crate::history::HistoryEntry;
use crate::model::{Call, CallModel, Control, Lookup, OktellLink, Party, Phase, SipLink};
use crate::sentence::{Phrase, Sentence, Status};
use crate::{CallId, phone};

/// The whole panel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default)]
pub struct PanelView {
    /// Revision, starting at 1; grows by one on every change.
    pub rev: u64,
    /// The tray icon to show.
    pub tray: TrayState,
    /// The operator's agent status.
    pub agent: AgentView,
    /// The call the operator deals with now (ringing, dialling, talking), if any.
    pub call: Option<CallView>,
    /// Calls on hold (at most one with Oktell).
    pub held: Vec<CallView>,
    /// The conference the operator is in.
    pub conference: Option<ConferenceView>,
    /// The incoming-call popup's content while it should be visible.
    pub popup: Option<CallView>,
    /// Callers waiting in the queue.
    pub queue: Vec<PartyView>,
    /// Colleagues from the Oktell directory, with presence.
    pub directory: Vec<DirectoryEntry>,
    /// Finished calls, newest first: the panel's own and those Creatio lists for the operator.
    pub history: Vec<HistoryEntry>,
    /// Missed calls the operator has not looked at (the badge).
    pub missed_unseen: usize,
    /// Connection health of each system.
    pub health: HealthView,
    /// The actions possible now; show only these buttons.
    pub actions: Vec<Action>,
    /// The last refusal or error, as a sentence; cleared by the next accepted command.
    pub notice: Option<String>,
    /// The same, to translate.
    pub notice_sentence: Option<Sentence>,
}

/// The tray icon.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum TrayState {
    /// Neither Oktell nor the softphone is usable.
    #[default]
    Offline,
    /// Ready for calls.
    Ready,
    /// A call rings.
    Ringing,
    /// In a call (dialling, talking or holding).
    Talking,
    /// On a break or do-not-disturb.
    Break,
}

/// The agent status.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default)]
pub struct AgentView {
    /// `offline`, `ready`, `ready_call_center`, `ready_call_center_manual`, `break`, `dnd`,
    /// `redirect` or `no_phone`.
    pub status: &'static str,
    /// The break reason's name while on a break.
    pub break_reason: Option<String>,
    /// The reasons the operator can pick for a break.
    pub break_reasons: Vec<BreakReasonView>,
}

/// One break reason.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BreakReasonView {
    /// Id to send back in `set_status`.
    pub id: i64,
    /// Display name.
    pub name: String,
}

/// `incoming` or `outgoing`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CallDirection {
    Incoming,
    Outgoing,
}

/// One call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CallView {
    /// Stable id.
    pub id: CallId,
    /// Direction.
    pub direction: CallDirection,
    /// `ringing`, `ring_back` (an auto-call rings the operator first), `dialling`,
    /// `talking` or `held`.
    pub state: &'static str,
    /// The other side.
    pub party: PartyView,
    /// Seconds in the current state (ringing, dialling, on hold) or since the answer.
    pub elapsed_secs: u64,
    /// Seconds since the answer (0 before).
    pub talk_secs: u64,
    /// The PBX (Oktell) knows this call.
    pub via_oktell: bool,
    /// The softphone carries its audio.
    pub via_softphone: bool,
    /// The other side put the call on hold (its music or silence is expected).
    pub held_by_remote: bool,
    /// Estimated audio quality, MOS in tenths (42 = 4.2), while known.
    pub quality_mos_tenths: Option<u8>,
    /// The operator muted the softphone's microphone on this call.
    pub muted: bool,
    /// What is wrong with the softphone's devices on this call (a headset unplugged, no
    /// sound), oldest first; empty when all is well.
    pub audio_warnings: Vec<Sentence>,
}

/// What a party with no name and no number is called.
pub(crate) const UNKNOWN_NUMBER: &str = "Unknown number";

/// A party: caller, callee, queue entry or conference member.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PartyView {
    /// The number as reported, if any.
    pub number: Option<String>,
    /// What to show as the main line: the Creatio name, else the PBX name, else the
    /// formatted number, else "Unknown number".
    pub display: String,
    /// Nobody to show: no name and no number (`display` is the English fallback; the UI words it).
    pub unknown: bool,
    /// The formatted number (PROTOCOL.md §5.10).
    pub number_display: Option<String>,
    /// `none` (no number), `pending`, `found`, `several`, `not_found` or `failed`.
    pub lookup: &'static str,
    /// The Creatio record when exactly one was found.
    pub contact: Option<ContactView>,
}

/// A Creatio contact or account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ContactView {
    /// `contact` or `account`.
    pub kind: &'static str,
    /// Record id.
    pub id: Uuid,
    /// Name.
    pub name: String,
    /// For a contact, the company it works for (Creatio's account), when Creatio told it.
    pub company: Option<String>,
}

/// The conference.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ConferenceView {
    /// Oktell conference id.
    pub id: String,
    /// Visible members.
    pub parties: Vec<PartyView>,
}

/// A colleague.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DirectoryEntry {
    /// Oktell user id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Main number.
    pub number: Option<String>,
    /// `ready`, `busy`, `break`, `dnd`, `offline` or `unknown`.
    pub presence: &'static str,
}

/// Health of every system.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default)]
pub struct HealthView {
    /// The Oktell PBX connection.
    pub oktell: SystemHealth,
    /// The softphone registration.
    pub sip: SystemHealth,
    /// Creatio and the backlog of call records.
    pub creatio: CreatioHealth,
}

/// One connection.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default)]
pub struct SystemHealth {
    /// `ok`, `connecting`, `down` or `not_configured`.
    pub state: &'static str,
    /// A sentence for anything but `ok`.
    pub message: Option<String>,
    /// The same, to translate.
    pub sentence: Option<Sentence>,
}

/// Creatio's state as the outbox sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default)]
pub struct CreatioHealth {
    /// `ok`, `behind` (records waiting) or `down` (an outage).
    pub state: &'static str,
    /// A sentence for anything but `ok`: the outage, the waiting and the refused records together.
    pub message: Option<String>,
    /// The outage, to translate.
    pub outage_sentence: Option<Sentence>,
    /// The waiting records and why they wait, to translate.
    pub waiting_sentence: Option<Sentence>,
    /// The refused records, to translate.
    pub rejected_sentence: Option<Sentence>,
    /// Call records waiting to be written.
    pub waiting: usize,
    /// Call records Creatio refused.
    pub rejected: usize,
    /// Why the waiting records wait ("Creatio unreachable since 10:42: connection refused").
    pub wait_reason: Option<String>,
    /// Why the history shows the outbox's local copy of Creatio's list, as a sentence; `None` when Creatio answered.
    pub history_offline: Option<String>,
    /// The same in a sentence, to translate.
    pub history_offline_sentence: Option<Sentence>,
}

/// Builds the view of the model's state (with `rev` 0: the model numbers it).
pub(crate) fn build<D: Copy + Eq + std::fmt::Debug>(model: &CallModel<D>) -> PanelView {
    let current = model.current().and_then(|i| model.calls.get(i));
    PanelView {
        rev: 0,
        tray: tray(model),
        agent: agent(model),
        call: current.map(|c| call(model, c)),
        held: model
            .calls
            .iter()
            .filter(|c| c.is_held())
            .map(|c| call(model, c))
            .collect(),
        conference: model.oktell.conference.as_ref().map(|(id, parties)| ConferenceView {
            id: id.clone(),
            parties: parties.iter().map(abonent).collect(),
        }),
        popup: model
            .calls
            .iter()
            .find(|c| c.wants_popup(model.config.auto_answer_ring_back))
            .map(|c| call(model, c)),
        queue: model.oktell.queue.iter().map(abonent).collect(),
        directory: model
            .oktell
            .users
            .iter()
            .filter_map(|u| {
                Some(DirectoryEntry {
                    id: u.id.clone()?,
                    name: u.name.clone().unwrap_or_default(),
                    number: u.main.clone(),
                    presence: presence(u.main.as_ref().and_then(|n| model.oktell.presence.get(n)).copied()),
                })
            })
            .collect(),
        history: model.history.entries(),

        missed_unseen: model.history.unseen_missed(),
        health: health(model),
        actions: features::allowed(model),
        notice: model.notice.as_ref().map(|s| s.text.clone()),
        notice_sentence: model.notice.clone(),
    }
}

fn tray<D: Copy + Eq + std::fmt::Debug>(model: &CallModel<D>) -> TrayState {
    if model.calls.iter().any(Call::is_ringing) {
        return TrayState::Ringing;
    }
    if !model.calls.is_empty() {
        return TrayState::Talking;
    }
    let usable = model.oktell.link == OktellLink::Connected || model.sip == SipLink::Registered;
    if !usable {
        return TrayState::Offline;
    }
    match model.oktell.agent.as_ref().map(|a| a.status()) {
        Some(AgentStatus::Break | AgentStatus::Dnd) if model.control() == Control::Oktell => TrayState::Break,
        _ => TrayState::Ready,
    }
}

fn agent<D: Copy + Eq + std::fmt::Debug>(model: &CallModel<D>) -> AgentView {
    let reasons = &model.oktell.break_reasons;
    let state = model
        .oktell
        .agent
        .as_ref()
        .filter(|_| model.control() == Control::Oktell);
    let status = match state.map(|a| a.status()) {
        None | Some(AgentStatus::Disconnected) => "offline",
        Some(AgentStatus::Ready) => "ready",
        Some(AgentStatus::ReadyCallCenter) => "ready_call_center",
        Some(AgentStatus::ReadyCallCenterManual) => "ready_call_center_manual",
        Some(AgentStatus::Break) => "break",
        Some(AgentStatus::Dnd) => "dnd",
        Some(AgentStatus::Redirect) => "redirect",
        Some(AgentStatus::NoPhone) => "no_phone",
    };
    let break_reason = state
        .and_then(|a| a.current_break_reason(reasons))
        .and_then(|id| reasons.iter().find(|r| r.id == id))
        .and_then(|r| r.name.clone());
    AgentView {
        status,
        break_reason,
        break_reasons: reasons
            .iter()
            .map(|r| BreakReasonView {
                id: r.id,
                name: r.name.clone().unwrap_or_else(|| format!("Break {}", r.id)),
            })
            .collect(),
    }
}

fn call<D: Copy + Eq + std::fmt::Debug>(model: &CallModel<D>, c: &Call<D>) -> CallView {
    let now = model.now;
    let secs = |from: std::time::Instant| now.saturating_duration_since(from).as_secs();
    let talk_secs = c.answered.map_or(0, secs);
    let (state, elapsed_secs) = match c.phase {
        Phase::Ringing { since } => ("ringing", secs(since)),
        Phase::RingBack { since } => ("ring_back", secs(since)),
        Phase::Dialling { since } => ("dialling", secs(since)),
        Phase::Talking => ("talking", talk_secs),
        Phase::Held { since } => ("held", secs(since)),
    };
    CallView {
        id: c.id,
        direction: direction(c.direction),
        state,
        party: party(&c.party),
        elapsed_secs,
        talk_secs,
        via_oktell: c.oktell.is_some(),
        via_softphone: c.dialog.is_some(),
        held_by_remote: c.dialog.is_some_and(|d| d.held_by_remote),
        quality_mos_tenths: c.quality,
        muted: c.dialog.is_some_and(|d| d.muted),
        audio_warnings: c.audio.troubles().iter().map(Phrase::sentence).collect(),
    }
}

pub(crate) fn direction(direction: RecordDirection) -> CallDirection {
    match direction {
        RecordDirection::Outgoing => CallDirection::Outgoing,
        _ => CallDirection::Incoming,
    }
}

pub(crate) fn party(p: &Party) -> PartyView {
    let number_display = p.number.as_deref().filter(|n| !n.trim().is_empty()).map(phone::format);
    let (lookup, contact) = match &p.lookup {
        Lookup::NotAsked => ("none", None),
        Lookup::Pending => ("pending", None),
        Lookup::Failed => ("failed", None),
        Lookup::Done(Identification::None) => ("not_found", None),
        Lookup::Done(Identification::Several(_)) => ("several", None),
        Lookup::Done(Identification::One(s)) => (
            "found",
            Some(ContactView {
                kind: match s.kind {
                    SubscriberKind::Contact => "contact",
                    SubscriberKind::Account => "account",
                },
                id: s.id,
                name: s.name.clone(),
                company: s.account_name.clone(),
            }),
        ),
    };
    let shown = contact
        .as_ref()
        .map(|c| c.name.clone())
        .or_else(|| p.name.clone().filter(|n| !n.trim().is_empty()))
        .or_else(|| number_display.clone());
    PartyView {
        number: p.number.clone(),
        unknown: shown.is_none(),
        display: shown.unwrap_or_else(|| UNKNOWN_NUMBER.into()),
        number_display,
        lookup,
        contact,
    }
}

fn abonent(a: &Abonent) -> PartyView {
    party(&Party {
        number: a.phone.clone(),
        name: a.name.clone(),
        lookup: Lookup::NotAsked,
    })
}

/// Oktell number state codes (same as `userstateid`).
fn presence(code: Option<i64>) -> &'static str {
    match code {
        Some(1) => "ready",
        Some(5 | 6) => "busy",
        Some(2) => "break",
        Some(3) => "dnd",
        Some(0 | 7) => "offline",
        _ => "unknown",
    }
}

fn health<D: Copy + Eq + std::fmt::Debug>(model: &CallModel<D>) -> HealthView {
    let oktell = match &model.oktell.link {
        OktellLink::NotConfigured => SystemHealth::new("not_configured", None),
        OktellLink::Connecting => SystemHealth::new("connecting", Some(Status::OktellConnecting)),
        OktellLink::Connected => SystemHealth::new("ok", None),
        OktellLink::Reconnecting { attempt } => {
            SystemHealth::new("connecting", Some(Status::OktellReconnecting { attempt: *attempt }))
        }
        OktellLink::Down { status } => SystemHealth::new("down", Some(status.clone())),
    };
    let sip = match &model.sip {
        SipLink::NotConfigured => SystemHealth::new("not_configured", None),
        SipLink::Registering => SystemHealth::new("connecting", Some(Status::SipRegistering)),
        SipLink::Registered => SystemHealth::new("ok", None),
        SipLink::Failed { status } => SystemHealth::new("down", Some(status.clone())),
        SipLink::Unregistered => SystemHealth::new("down", Some(Status::SipUnregistered)),
    };
    let outbox = &model.creatio;
    let wait_reason = model.creatio_wait_reason.clone().filter(|_| outbox.waiting > 0);
    let waiting = match (outbox.waiting, &wait_reason) {
        (0, _) => None,
        (count, Some(reason)) => Some(Status::CreatioWaitingBecause {
            count,
            reason: reason.clone(),
        }),
        (count, None) => Some(Status::CreatioWaiting { count }),
    };
    let rejected = (outbox.rejected > 0).then_some(Status::CreatioRejected { count: outbox.rejected });
    let (state, outage) = match &outbox.outage {
        _ if !model.config.creatio_configured => ("not_configured", None),
        Some(outage) => ("down", Some(Status::CreatioOutage { reason: outage.clone() })),
        None if outbox.waiting > 0 || outbox.rejected > 0 => ("behind", None),
        None => ("ok", None),
    };
    let sentences: Vec<String> = [&outage, &waiting, &rejected]
        .into_iter()
        .flatten()
        .map(ToString::to_string)
        .collect();
    let history_offline = model.history.offline().map(str::to_owned);
    HealthView {
        oktell,
        sip,
        creatio: CreatioHealth {
            state,
            message: (!sentences.is_empty()).then(|| sentences.join(" ")),
            outage_sentence: outage.as_ref().map(Phrase::sentence),
            waiting_sentence: waiting.as_ref().map(Phrase::sentence),
            rejected_sentence: rejected.as_ref().map(Phrase::sentence),
            waiting: outbox.waiting,
            rejected: outbox.rejected,
            wait_reason,
            history_offline_sentence: history_offline
                .clone()
                .map(|reason| Status::HistoryOffline { reason }.sentence()),
            history_offline,
        },
    }
}

impl SystemHealth {
    fn new(state: &'static str, status: Option<Status>) -> SystemHealth {
        SystemHealth {
            state,
            message: status.as_ref().map(ToString::to_string),
            sentence: status.as_ref().map(Phrase::sentence),
        }
    }
}
