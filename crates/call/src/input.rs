//! Everything that reaches the call model: one enum, fed to [`crate::CallModel::handle`]
//! together with `now`.
//!
//! The SIP side is generic over the dialog handle `D` so the model can be driven without a
//! user agent; the runtime uses [`sip::invite::CallHandle`] and converts each
//! [`sip::ua::UaEvent`] with [`SipEvent::from_ua`].

use std::time::{Duration, SystemTime};

use creatio::identify::Identification;
use creatio::outbox::{OutageKind, OutboxStatus};
use media::quality::QualityEstimate;
use serde::Deserialize;
use sip::invite::{CallHandle, EndReason};
use sip::register::RegisterEvent;
use sip::sdp::Direction;
use sip::ua::UaEvent;

use crate::CallId;
use crate::audio::AudioNews;

/// One input for the model.
#[derive(Debug, Clone, PartialEq)]
pub enum CallInput<D> {
    /// An event of the Oktell session.
    Oktell(oktell::Event),
    /// The Oktell session could not start (settings, trust store, no saved password): the
    /// header shows the sentence until the panel is started again.
    OktellUnavailable(String),
    /// The Oktell session refused a command before sending it
    /// ([`oktell::Session::command`] returned an error).
    OktellRefused(oktell::error::CommandError),
    /// An event of the SIP user agent (or the outcome of a [`crate::SipAction`]).
    Sip(SipEvent<D>),
    /// A Creatio answer or status change.
    Creatio(CreatioInput),
    /// News about the audio devices of a dialog (a headset unplugged, no sound card): shown
    /// on its call until the device is back or the call ends.
    Audio {
        /// The dialog.
        dialog: D,
        /// What happened.
        news: AudioNews,
    },
    /// A fresh quality estimate of a dialog's audio.
    Quality {
        /// The dialog.
        dialog: D,
        /// The E-model estimate from the media stream.
        estimate: QualityEstimate,
    },
    /// The operator clicked, pressed a hotkey or picked a tray menu item.
    Ui(UiCommand),
    /// The wall clock at `now`: re-anchors history times and Creatio record times (send it
    /// at start and after the system clock moves).
    WallClock(SystemTime),
    /// Time passed (the deadline from [`crate::CallModel::poll_timeout`]): timers advance.
    Tick,
}

/// What the SIP side reports, in the model's terms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SipEvent<D> {
    /// The softphone is registered.
    Registered,
    /// A registration attempt failed; another follows after `retry_in`.
    RegistrationFailed {
        /// What went wrong (the SIP error's message).
        reason: String,
        /// When the next attempt starts.
        retry_in: Duration,
    },
    /// The binding is gone.
    Unregistered,
    /// A new INVITE rings the softphone (180 Ringing already sent).
    Incoming {
        /// The dialog.
        dialog: D,
        /// The caller's number (P-Asserted-Identity, else From user part).
        number: Option<String>,
        /// The caller's display name.
        name: Option<String>,
    },
    /// The user agent started the outgoing INVITE asked for by [`crate::SipAction::Dial`].
    Dialling {
        /// The call the dial was for.
        call: CallId,
        /// The new dialog.
        dialog: D,
    },
    /// [`crate::SipAction::Dial`] could not start (bad target, not registered).
    DialFailed {
        /// The call the dial was for.
        call: CallId,
        /// The user agent's message.
        reason: String,
    },
    /// The callee is ringing (180/183).
    Progress {
        /// The dialog.
        dialog: D,
    },
    /// The dialog is confirmed; audio flows.
    Established {
        /// The dialog.
        dialog: D,
    },
    /// A re-INVITE changed the session.
    MediaUpdated {
        /// The dialog.
        dialog: D,
        /// We hold the peer (our direction is sendonly or inactive).
        held_by_us: bool,
        /// The peer holds us.
        held_by_remote: bool,
    },
    /// Our hold or resume re-INVITE was refused; the previous session stays.
    ModifyFailed {
        /// The dialog.
        dialog: D,
        /// The final status.
        status: u16,
    },
    /// The dialog ended.
    Ended {
        /// The dialog.
        dialog: D,
        /// Why.
        reason: EndReason,
    },
    /// The other side of a call transferred us (REFER) and the softphone is calling `number`: a new outgoing
    /// call, as if the operator had dialled it (the transferring call ends by its own `Ended`).
    Referred {
        /// The new dialog.
        dialog: D,
        /// Whom it calls: the user part of the Refer-To URI, or the whole URI.
        number: String,
    },
    /// An INVITE with Replaces took over the conversation of `replaced` (an attended transfer to us): the call
    /// goes on, now with the new dialog and the party who came in its place.
    Replaced {
        /// The dialog taken over (its `Ended` follows and is not a new ending).
        replaced: D,
        /// The dialog that continues it.
        dialog: D,
        /// The new party's number, from its From URI.
        number: Option<String>,
        /// The new party's display name, untrusted text.
        name: Option<String>,
    },
    /// A REFER we sent was refused, or the transferee's call to the target failed; the call
    /// stays as it was.
    TransferFailed {
        /// The dialog we asked to transfer.
        dialog: D,
        /// The final SIP status, when there was one.
        status: Option<u16>,
    },
    /// The softphone is not running (it could not start, or its driver stopped): no
    /// registration and no dialogs until it starts again.
    Stopped {
        /// Why, as a sentence fragment ("cannot bind signalling socket ...").
        reason: String,
    },
}

impl SipEvent<CallHandle> {
    /// Converts a user-agent event.
    pub fn from_ua(event: UaEvent) -> SipEvent<CallHandle> {
        match event {
            UaEvent::Registration(RegisterEvent::Registered { .. }) => SipEvent::Registered,
            UaEvent::Registration(RegisterEvent::Failed { reason, retry_in }) => SipEvent::RegistrationFailed {
                reason: reason.to_string(),
                retry_in,
            },
            UaEvent::Registration(RegisterEvent::Unregistered) => SipEvent::Unregistered,
            UaEvent::IncomingCall {
                call,
                from,
                asserted_identity,
            } => {
                let identity = asserted_identity.unwrap_or(from);
                SipEvent::Incoming {
                    dialog: call,
                    number: identity.uri.user().map(str::to_owned),
                    name: identity.display,
                }
            }
            UaEvent::Progress { call, .. } => SipEvent::Progress { dialog: call },
            UaEvent::Established { call, .. } => SipEvent::Established { dialog: call },
            UaEvent::MediaUpdated { call, media } => SipEvent::MediaUpdated {
                dialog: call,
                held_by_us: media.direction == Direction::SendOnly
                    || (media.direction == Direction::Inactive && !media.held_by_remote),
                held_by_remote: media.held_by_remote,
            },
            UaEvent::ModifyFailed { call, status } => SipEvent::ModifyFailed { dialog: call, status },
            UaEvent::Ended { call, reason } => SipEvent::Ended { dialog: call, reason },
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use sip::register::RegisterFailure;

    use super::*;

    #[test]
    fn registration_events_convert() {
        assert_eq!(
            SipEvent::from_ua(UaEvent::Registration(RegisterEvent::Registered { expires: 300 })),
            SipEvent::Registered
        );
        assert_eq!(
            SipEvent::from_ua(UaEvent::Registration(RegisterEvent::Unregistered)),
            SipEvent::Unregistered
        );
        let SipEvent::RegistrationFailed { reason, retry_in } =
            SipEvent::from_ua(UaEvent::Registration(RegisterEvent::Failed {
                reason: RegisterFailure::Timeout,
                retry_in: Duration::from_secs(30),
            }))
        else {
            panic!("a failure");
        };
        assert_eq!(retry_in, Duration::from_secs(30));
        assert_eq!(reason, RegisterFailure::Timeout.to_string());
    }

    #[test]
    fn outbox_status_converts() {
        let status = OutboxStatus {
            waiting: 2,
            rejected: 1,
            outage: None,
        };
        assert_eq!(
            OutboxSummary::from(&status),
            OutboxSummary {
                waiting: 2,
                rejected: 1,
                outage: None
            }
        );
    }
}

/// What comes back from Creatio.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CreatioInput {
    /// The caller lookup asked for by [`crate::CreatioEffect::Identify`] finished.
    Identified {
        /// The call.
        call: CallId,
        /// Who the number belongs to.
        result: Identification,
    },
    /// The lookup failed (Creatio down, logged out, malformed answer).
    IdentifyFailed {
        /// The call.
        call: CallId,
        /// Why, for the diagnostics line.
        reason: String,
    },
    /// The outbox of call records changed.
    Outbox(OutboxSummary),
    /// Why call records wait, for the backlog line ("Creatio unreachable since 10:42: connection refused");
    /// `None` when nothing waiting has failed. Sent with [`CreatioInput::Outbox`], whose counts it explains.
    WaitReason(Option<String>),
    /// The operator's recent calls as Creatio lists them, newest first.
    History {
        /// Creatio's list (with the calls still waiting in the outbox), or the outbox's local copy.
        entries: Vec<creatio::history::HistoryEntry>,
        /// `None`: the list came from Creatio. Otherwise why it is the local copy ("Creatio is unreachable: ...").
        offline: Option<String>,
    },
}

/// The part of the outbox status the panel shows.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct OutboxSummary {
    /// Records not yet written.
    pub waiting: usize,
    /// Records Creatio refused for good.
    pub rejected: usize,
    /// A Creatio-wide problem, as a sentence ("Creatio unreachable: connection refused").
    pub outage: Option<String>,
}

impl From<&OutboxStatus> for OutboxSummary {
    fn from(status: &OutboxStatus) -> Self {
        OutboxSummary {
            waiting: status.waiting,
            rejected: status.rejected,
            outage: status.outage.as_ref().map(|o| {
                let what = match o.kind {
                    OutageKind::Unreachable => "Creatio is unreachable",
                    OutageKind::Login => "Creatio login is failing",
                    OutageKind::Unavailable => "Creatio is unavailable",
                };
                format!("{what}: {}", o.reason)
            }),
        }
    }
}

/// An agent status the operator picks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum StatusChoice {
    /// Ready.
    Ready,
    /// Ready in the call-center.
    ReadyCallCenter,
    /// A break, with a reason id from the view's `agent.break_reasons`.
    Break {
        /// Reason id; `None` uses the first.
        #[serde(default)]
        reason: Option<i64>,
    },
    /// Do not disturb.
    Dnd,
}

/// What the operator asks for. The JSON form is `{"action": "<snake_case>", ...fields}`,
/// the same names as [`crate::Action`].
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum UiCommand {
    /// Answer the ringing call.
    Answer,
    /// Refuse the ringing call.
    Decline,
    /// End the current call (in a consultation: drop the consulted party, back to the held one).
    Hangup,
    /// Hold the current call.
    Hold,
    /// Take the held call back.
    Resume,
    /// Mute the microphone on the current softphone call, or unmute it (the view's
    /// `muted` says which): the call and its audio from the peer go on.
    ToggleMute,
    /// Swap the current and the held call.
    Swap,
    /// Call a number.
    Dial {
        /// The number.
        number: String,
    },
    /// Call a number while talking: the current call goes on hold.
    Consult {
        /// The number.
        number: String,
    },
    /// Blind transfer of the current call.
    Transfer {
        /// Destination number.
        to: String,
    },
    /// Connect the held and the current party and leave.
    Connect,
    /// Turn the current call into a conference.
    ConferenceStart,
    /// Bring the held party into the conference.
    ConferenceAddHeld,
    /// Leave the conference.
    ConferenceLeave,
    /// Change the agent status.
    SetStatus(StatusChoice),
    /// Send DTMF tones in the current call (IVR menus, extensions).
    Dtmf {
        /// `0`–`9`, `*`, `#` and `A`–`D`.
        digits: String,
    },
    /// Open the Creatio card of the current caller.
    OpenCard,
    /// Close the incoming-call popup without answering.
    DismissPopup,
    /// The operator looked at the missed calls.
    MarkMissedSeen,
}
