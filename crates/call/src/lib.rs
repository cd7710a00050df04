//! The call model: one pure state machine that merges Oktell line and agent events, SIP
//! dialogs and Creatio identification into the operator's state, and the one view the UI
//! renders.
//!
//! Like the protocol cores, it never reads a clock, sleeps or touches I/O: the panel task
//! feeds each [`CallInput`] with `now` to [`CallModel::handle`] and carries out the
//! returned [`Effect`]s in order (Oktell commands, SIP actions, DTMF, Creatio lookups and record
//! writes, notifications, ringtone, popup). When anything visible changed, the last effect
//! is [`Effect::View`] with the new [`PanelView`], whose `rev` grew by one. While a call
//! exists, [`CallModel::poll_timeout`] asks for a [`CallInput::Tick`] each second so the
//! timers advance.
//!
//! The model is generic over the SIP dialog handle `D`: the runtime uses
//! `sip::invite::CallHandle` and converts user-agent events with [`SipEvent::from_ua`]; the
//! tests use plain numbers. Nothing else about SIP leaks in.
//!
//! ```text
//! loop {
//!     let input = select! { oktell event, sip event, creatio answer, ui command, sleep_until(model.poll_timeout()) };
//!     for effect in model.handle(Instant::now(), input) { dispatch(effect) }
//! }
//! ```
//!
//! Modules: [`input`] (what comes in), [`model`] (the state and its transitions),
//! [`correlate`] (one call from an Oktell ring and a SIP INVITE), [`features`] (what is
//! possible now), [`effect`] (what goes out), [`view`] (what the UI renders), [`history`],
//! [`phone`] (number matching and display), [`error`] (refusals as sentences), [`sentence`]
//! (every sentence for the operator, with a key the UI translates), [`audio`] (a call's
//! device trouble).

pub mod audio;
pub mod correlate;
pub mod effect;
pub mod error;
pub mod features;
pub mod history;
pub mod input;
pub mod model;
pub mod phone;
pub mod sentence;
pub mod view;

pub use audio::{AudioNews, AudioRole, AudioTrouble};
pub use effect::{CreatioEffect, Effect, Notification, NotificationKind, SipAction};
pub use error::{CommandRejected, Feature, Refusal};
pub use features::Action;
pub use history::{HistoryEntry, Outcome};
pub use input::{CallInput, CreatioInput, OutboxSummary, SipEvent, StatusChoice, UiCommand};
pub use model::{CallConfig, CallId, CallModel, CardOpen};
pub use sentence::{Key, Notice, Param, Phrase, Sentence, Status};
pub use view::PanelView;
