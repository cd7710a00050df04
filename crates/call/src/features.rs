//! Which actions are possible now (Creatio's "call features", oktell.js's phone actions).
//!
//! One function, `check`, decides for every action; the view's `actions` list is every
//! action it accepts, and a command is carried out only after it accepts it, so the buttons
//! the panel shows and the commands the model takes can never disagree.

use creatio::identify::{Identification, SubscriberKind};
use serde::Serialize;
use uuid::Uuid;

use crate::error::{Feature, Refusal};
use crate::input::UiCommand;
use crate::model::{CallModel, Control, DialogState, Lookup, Phase, SipHold, SipLink};

/// An operator action; the view lists those possible now. Serialised in snake_case, the
/// same names as the `action` tag of [`UiCommand`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    Answer,
    Decline,
    Hangup,
    Hold,
    Resume,
    ToggleMute,
    Swap,
    Dial,
    Consult,
    Transfer,
    Connect,
    ConferenceStart,
    ConferenceAddHeld,
    ConferenceLeave,
    Dtmf,
    SetStatus,
    OpenCard,
    DismissPopup,
    MarkMissedSeen,
}

impl Action {
    /// Every action, in the order the view lists them.
    pub const ALL: [Action; 19] = [
        Action::Answer,
        Action::Decline,
        Action::Hangup,
        Action::Hold,
        Action::Resume,
        Action::ToggleMute,
        Action::Swap,
        Action::Dial,
        Action::Consult,
        Action::Transfer,
        Action::Connect,
        Action::ConferenceStart,
        Action::ConferenceAddHeld,
        Action::ConferenceLeave,
        Action::Dtmf,
        Action::SetStatus,
        Action::OpenCard,
        Action::DismissPopup,
        Action::MarkMissedSeen,
    ];

    /// The action a command asks for.
    pub fn of(command: &UiCommand) -> Action {
        match command {
            UiCommand::Answer => Action::Answer,
            UiCommand::Decline => Action::Decline,
            UiCommand::Hangup => Action::Hangup,
            UiCommand::Hold => Action::Hold,
            UiCommand::Resume => Action::Resume,
            UiCommand::ToggleMute => Action::ToggleMute,
            UiCommand::Swap => Action::Swap,
            UiCommand::Dial { .. } => Action::Dial,
            UiCommand::Consult { .. } => Action::Consult,
            UiCommand::Transfer { .. } => Action::Transfer,
            UiCommand::Connect => Action::Connect,
            UiCommand::ConferenceStart => Action::ConferenceStart,
            UiCommand::ConferenceAddHeld => Action::ConferenceAddHeld,
            UiCommand::ConferenceLeave => Action::ConferenceLeave,
            UiCommand::Dtmf { .. } => Action::Dtmf,
            UiCommand::SetStatus(_) => Action::SetStatus,
            UiCommand::OpenCard => Action::OpenCard,
            UiCommand::DismissPopup => Action::DismissPopup,
            UiCommand::MarkMissedSeen => Action::MarkMissedSeen,
        }
    }
}

/// Every action [`check`] accepts now.
pub(crate) fn allowed<D: Copy + Eq + std::fmt::Debug>(model: &CallModel<D>) -> Vec<Action> {
    Action::ALL.into_iter().filter(|a| check(model, *a).is_ok()).collect()
}

/// Whether `action` is possible now, and if not, why.
pub(crate) fn check<D: Copy + Eq + std::fmt::Debug>(model: &CallModel<D>, action: Action) -> Result<(), Refusal> {
    let control = model.control();
    let current = model.current().and_then(|i| model.calls.get(i));
    let held = model.held().and_then(|i| model.calls.get(i));
    let ringing = model.ringing().and_then(|i| model.calls.get(i));
    let talking = current.filter(|c| c.phase == Phase::Talking);
    let in_conference = model.oktell.conference.is_some();
    let no_call = model.calls.is_empty();
    let not_talking = |what| {
        if no_call {
            Refusal::NoCall
        } else {
            Refusal::NotTalking { what }
        }
    };
    let needs_oktell = |what: Feature| match control {
        Control::Oktell => Ok(()),
        Control::OktellDown => Err(Refusal::OktellDown { what }),
        Control::Sip => Err(Refusal::NeedsOktell { what }),
    };
    match action {
        Action::Answer => {
            let call = ringing.ok_or(Refusal::NoRingingCall)?;
            if call.answer_pending.is_some() || call.dialog.is_some_and(|d| d.state == DialogState::Answering) {
                return Err(Refusal::AlreadyAnswering);
            }
            // A waiting call is answered by holding the conversation in progress: that hold must be possible.
            let waiting_on = model
                .ringing()
                .and_then(|i| model.talking_besides(i))
                .and_then(|i| model.calls.get(i));
            if let Some(active) = waiting_on {
                if held.is_some() {
                    return Err(Refusal::AlreadyHolding);
                }
                let by_oktell = control == Control::Oktell && active.oktell.is_some();
                if !by_oktell {
                    sip_hold_state(active.dialog.map(|d| d.hold), SipHold::None)?;
                }
            }
            match control {
                Control::Oktell => Ok(()),
                _ if call.dialog.is_some_and(|d| d.state == DialogState::Ringing) => Ok(()),
                Control::OktellDown => Err(Refusal::OktellDown { what: Feature::Answer }),
                Control::Sip => Err(Refusal::NoRingingCall),
            }
        }
        Action::Decline => {
            let call = ringing
                .filter(|c| matches!(c.phase, Phase::Ringing { .. }))
                .ok_or(Refusal::NoRingingCall)?;
            match control {
                Control::Oktell if call.oktell.is_some() => Ok(()),
                _ if call.dialog.is_some_and(|d| d.state == DialogState::Ringing) => Ok(()),
                Control::OktellDown => Err(Refusal::OktellDown { what: Feature::Decline }),
                _ => Err(Refusal::NoRingingCall),
            }
        }
        Action::Hangup => {
            let call = current.or(held).ok_or(Refusal::NoCall)?;
            // An incoming call that only rings is refused with Decline; offering Hang up beside it says the same
            // thing twice, and the two differ in what the caller hears (busy vs. a dropped line).
            if matches!(call.phase, Phase::Ringing { .. }) {
                return Err(Refusal::StillRinging);
            }
            match control {
                Control::Oktell if call.oktell.is_some() => Ok(()),
                _ if call.dialog.is_some() => Ok(()),
                Control::OktellDown => Err(Refusal::OktellDown { what: Feature::HangUp }),
                _ => Err(Refusal::NoCall),
            }
        }
        Action::Hold => {
            let call = talking.ok_or(not_talking(Feature::Hold))?;
            if held.is_some() {
                return Err(Refusal::AlreadyHolding);
            }
            match control {
                Control::Sip => sip_hold_state(call.dialog.map(|d| d.hold), SipHold::None),
                _ => needs_oktell(Feature::Hold),
            }
        }
        Action::Resume => {
            let call = held.ok_or(Refusal::NothingOnHold)?;
            if current.is_some() {
                return Err(Refusal::ActiveCall);
            }
            match control {
                Control::Sip => sip_hold_state(call.dialog.map(|d| d.hold), SipHold::Held),
                _ => needs_oktell(Feature::Resume),
            }
        }
        Action::Swap => {
            let call = talking.ok_or(not_talking(Feature::Swap))?;
            let other = held.ok_or(Refusal::NothingOnHold)?;
            match control {
                Control::Sip => {
                    sip_hold_state(call.dialog.map(|d| d.hold), SipHold::None)?;
                    sip_hold_state(other.dialog.map(|d| d.hold), SipHold::Held)
                }
                _ => needs_oktell(Feature::Swap),
            }
        }
        Action::Dial => {
            if current.is_some() {
                return Err(Refusal::Busy);
            }
            dial_control(model, control)
        }
        Action::Consult => {
            let call = talking.ok_or(Refusal::CannotConsult)?;
            if held.is_some() || in_conference {
                return Err(Refusal::CannotConsult);
            }
            dial_control(model, control)?;
            match control {
                Control::Sip => sip_hold_state(call.dialog.map(|d| d.hold), SipHold::None),
                _ => Ok(()),
            }
        }
        // Only the softphone has a microphone to mute: a SIP call that is up.
        Action::ToggleMute => {
            let call = talking.ok_or(not_talking(Feature::Mute))?;
            match call.dialog {
                Some(d) if d.state == DialogState::Established => Ok(()),
                _ => Err(Refusal::NoSoftphoneLeg),
            }
        }
        Action::Transfer => {
            let call = current
                .filter(|c| matches!(c.phase, Phase::Talking | Phase::Dialling { .. }))
                .ok_or(not_talking(Feature::Transfer))?;
            match control {
                // A REFER needs a confirmed dialog that is not in the middle of a re-INVITE.
                Control::Sip => {
                    talking.ok_or(not_talking(Feature::Transfer))?;
                    established(call)?;
                    sip_hold_state(call.dialog.map(|d| d.hold), SipHold::None)
                }
                _ => needs_oktell(Feature::Transfer),
            }
        }
        Action::Connect => {
            let call = current
                .filter(|c| matches!(c.phase, Phase::Talking | Phase::Dialling { .. }))
                .ok_or(not_talking(Feature::Connect))?;
            let other = held.ok_or(Refusal::NothingOnHold)?;
            match control {
                Control::Sip => {
                    talking.ok_or(not_talking(Feature::Connect))?;
                    established(call)?;
                    established(other)?;
                    sip_hold_state(other.dialog.map(|d| d.hold), SipHold::Held)
                }
                _ => needs_oktell(Feature::Connect),
            }
        }
        Action::ConferenceStart => {
            if in_conference {
                return Err(Refusal::AlreadyInConference);
            }
            talking.ok_or(not_talking(Feature::Conference))?;
            needs_oktell(Feature::Conference)
        }
        Action::ConferenceAddHeld => {
            if !in_conference {
                return Err(Refusal::NotInConference);
            }
            held.ok_or(Refusal::NothingOnHold)?;
            needs_oktell(Feature::Conference)
        }
        Action::ConferenceLeave => {
            if !in_conference {
                return Err(Refusal::NotInConference);
            }
            needs_oktell(Feature::Conference)
        }
        Action::Dtmf => {
            let call = talking.ok_or(not_talking(Feature::Tones))?;
            match call.dialog {
                Some(d) if d.state == DialogState::Established => Ok(()),
                _ => Err(Refusal::NoSoftphoneLeg),
            }
        }
        Action::SetStatus => match control {
            Control::Oktell => Ok(()),
            _ => Err(Refusal::StatusUnavailable),
        },
        Action::OpenCard => {
            if model.calls.is_empty() {
                return Err(Refusal::NoCall);
            }
            card_target(model).map(|_| ()).ok_or(Refusal::NoCard)
        }
        Action::DismissPopup => {
            if model
                .calls
                .iter()
                .any(|c| c.wants_popup(model.config.auto_answer_ring_back))
            {
                Ok(())
            } else {
                Err(Refusal::NoPopup)
            }
        }
        Action::MarkMissedSeen => Ok(()),
    }
}

/// The Creatio card to open: the identified party of the current call, else of any call.
pub(crate) fn card_target<D: Copy + Eq + std::fmt::Debug>(model: &CallModel<D>) -> Option<(SubscriberKind, Uuid)> {
    let first = model.current().into_iter().chain(0..model.calls.len());
    first
        .filter_map(|i| model.calls.get(i))
        .find_map(|c| match &c.party.lookup {
            Lookup::Done(Identification::One(s)) => Some((s.kind, s.id)),
            _ => None,
        })
}

fn dial_control<D: Copy + Eq + std::fmt::Debug>(model: &CallModel<D>, control: Control) -> Result<(), Refusal> {
    match control {
        Control::Oktell => Ok(()),
        Control::OktellDown => Err(Refusal::OktellDown { what: Feature::Dial }),
        Control::Sip if model.sip == SipLink::Registered => Ok(()),
        Control::Sip => Err(Refusal::NoPhone),
    }
}

/// A REFER needs the call's dialog confirmed.
fn established<D>(call: &crate::model::Call<D>) -> Result<(), Refusal> {
    match &call.dialog {
        Some(d) if d.state == DialogState::Established => Ok(()),
        _ => Err(Refusal::NoSoftphoneLeg),
    }
}

/// A SIP hold change needs the dialog settled in `expected` (no re-INVITE in flight).
fn sip_hold_state(actual: Option<SipHold>, expected: SipHold) -> Result<(), Refusal> {
    match actual {
        Some(hold) if hold == expected => Ok(()),
        Some(_) => Err(Refusal::HoldInProgress),
        None => Err(Refusal::NotTalking { what: Feature::Hold }),
    }
}
