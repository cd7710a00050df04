//! What the drivers must do after an input: the model's only way out.

use creatio::calls::CallWrite;
use creatio::identify::SubscriberKind;
use uuid::Uuid;

use crate::CallId;
use crate::error::CommandRejected;
use crate::view::PanelView;

/// One piece of work for a driver, in the order returned.
#[derive(Debug, Clone, PartialEq)]
pub enum Effect<D> {
    /// Send this command through the Oktell session.
    Oktell(oktell::Command),
    /// Ask the SIP user agent.
    Sip(SipAction<D>),
    /// Ask the Creatio task.
    Creatio(CreatioEffect),
    /// Send these DTMF digits on the dialog's audio stream (RFC 4733 telephone events,
    /// `media::dtmf`), one after another.
    Dtmf {
        /// The dialog.
        dialog: D,
        /// Validated digits: `0`–`9`, `*`, `#`, `A`–`D`.
        digits: String,
    },
    /// Show a desktop notification.
    Notify(Notification),
    /// Start playing the ringtone (the softphone rings).
    StartRingtone,
    /// Stop the ringtone.
    StopRingtone,
    /// Show the incoming-call popup at the tray.
    ShowPopup,
    /// Hide it.
    HidePopup,
    /// A UI command was refused; its sentence is also in the view's `notice`.
    Rejected(CommandRejected),
    /// The view changed: publish it (always the last effect of a `handle`).
    View(Box<PanelView>),
}

/// Work for the SIP user agent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SipAction<D> {
    /// Answer a ringing incoming dialog (`UserAgent::answer`).
    Answer {
        /// The dialog.
        dialog: D,
    },
    /// Refuse a ringing incoming dialog with this status (`UserAgent::reject`).
    Reject {
        /// The dialog.
        dialog: D,
        /// 486 Busy Here for a decline.
        status: u16,
    },
    /// End a dialog: CANCEL or BYE (`UserAgent::hangup`).
    Hangup {
        /// The dialog.
        dialog: D,
    },
    /// Hold by re-INVITE (`UserAgent::hold`).
    Hold {
        /// The dialog.
        dialog: D,
    },
    /// Resume by re-INVITE (`UserAgent::resume`).
    Resume {
        /// The dialog.
        dialog: D,
    },
    /// Mute or unmute our microphone on a dialog (no signalling: the audio only).
    Mute {
        /// The dialog.
        dialog: D,
        /// Muted after the action.
        muted: bool,
    },
    /// Blind transfer by REFER (`UserAgent::transfer`): the peer calls `to`; the user agent
    /// ends our dialog once the target answers, or reports the failure with
    /// [`crate::SipEvent::TransferFailed`].
    Transfer {
        /// The dialog whose peer is transferred.
        dialog: D,
        /// The number (or SIP address) to transfer to.
        to: String,
    },
    /// Attended transfer by REFER with Replaces (`UserAgent::transfer_attended`): the peer of
    /// `dialog` takes the place of the operator in `to`, and both our dialogs end.
    AttendedTransfer {
        /// The held dialog, whose peer is handed on.
        dialog: D,
        /// The current dialog, whose peer receives it.
        to: D,
    },
    /// Place a call (`UserAgent::call` with `sip:<number>@<domain>`); report the new
    /// dialog with [`crate::SipEvent::Dialling`] or the failure with
    /// [`crate::SipEvent::DialFailed`], naming `call`.
    Dial {
        /// The model's call.
        call: CallId,
        /// The number to call.
        number: String,
    },
}

/// Work for the Creatio task.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CreatioEffect {
    /// Look the number up; answer with [`crate::CreatioInput::Identified`] or
    /// [`crate::CreatioInput::IdentifyFailed`].
    Identify {
        /// The call.
        call: CallId,
        /// The number to identify.
        number: String,
    },
    /// Queue this `Call` record write in the outbox.
    Write(CallWrite),
    /// Open this record's card in the browser (built with `creatio::card::Cards::card`).
    OpenCard {
        /// Contact or account.
        kind: SubscriberKind,
        /// Its id.
        id: Uuid,
    },
}

/// A desktop notification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notification {
    /// What it is about.
    pub kind: NotificationKind,
    /// The title line.
    pub title: String,
    /// The text.
    pub body: String,
}

/// Why a notification is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotificationKind {
    /// A call rings.
    Ringing,
    /// A call was missed.
    Missed,
}
