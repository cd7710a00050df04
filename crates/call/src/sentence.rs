//! Sentences for the operator, in a form the UI can translate.
//!
//! Every sentence the model shows a person (a refusal, a notice, a connection's health, the
//! backlog of call records, an audio device's trouble) is a [`Sentence`]: a stable [`Key`], its
//! typed [`Param`]s and the English text. The UI looks the key up in its dictionaries
//! (`ui/i18n.js`, Russian and English) and falls back to the English text for a key it does
//! not know; logs and older readers use the text. A cause that comes from outside (an OS error,
//! a server's message) stays an untranslated [`Param::Text`] inside a translated frame.
//!
//! The typed sources ([`crate::Refusal`], [`Notice`], [`Status`], [`crate::AudioTrouble`])
//! implement [`Phrase`]: their `Display` is the English sentence, and `key` and `params` say
//! the same thing in a form the UI can put in other words. Every key is declared once, in
//! [`Key`], with the names of its parameters, so a test can hold the dictionaries against the
//! complete list.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Serialize, Serializer};

/// Declares [`Key`]: each variant, its dictionary key and the names of its parameters.
macro_rules! keys {
    ($( $(#[$doc:meta])* $variant:ident = $key:literal [$($param:literal),*], )*) => {
        /// The dictionary key of a sentence or a term (serialised as its dotted name).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Key {
            $( $(#[$doc])* $variant, )*
        }

        impl Key {
            /// Every key, in declaration order.
            pub const ALL: &'static [Key] = &[$(Key::$variant,)*];

            /// The dotted name the dictionaries use (`refusal.no_call`).
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Key::$variant => $key,)*
                }
            }

            /// The names of the parameters a sentence of this key carries (`{name}` in its texts).
            pub fn params(self) -> &'static [&'static str] {
                match self {
                    $(Key::$variant => &[$($param),*],)*
                }
            }
        }
    };
}

keys! {
    // Why a command was refused (`crate::Refusal`).
    NoRingingCall = "refusal.no_ringing_call" [],
    AlreadyAnswering = "refusal.already_answering" [],
    NoCall = "refusal.no_call" [],
    StillRinging = "refusal.still_ringing" [],
    NotTalking = "refusal.not_talking" ["what"],
    NothingOnHold = "refusal.nothing_on_hold" [],
    AlreadyHolding = "refusal.already_holding" [],
    ActiveCall = "refusal.active_call" [],
    HoldInProgress = "refusal.hold_in_progress" [],
    OktellDown = "refusal.oktell_down" ["what"],
    NeedsOktell = "refusal.needs_oktell" ["what"],
    NoPhone = "refusal.no_phone" [],
    NoSoftphoneLeg = "refusal.no_softphone_leg" [],
    BadDigits = "refusal.bad_digits" [],
    EmptyNumber = "refusal.empty_number" [],
    Busy = "refusal.busy" [],
    CannotConsult = "refusal.cannot_consult" [],
    NotInConference = "refusal.not_in_conference" [],
    AlreadyInConference = "refusal.already_in_conference" [],
    NoCard = "refusal.no_card" [],
    NoPopup = "refusal.no_popup" [],
    StatusUnavailable = "refusal.status_unavailable" [],

    // What a refusal names (`crate::error::Feature`), as terms inside a sentence.
    FeatureAnswer = "feature.answer" [],
    FeatureDecline = "feature.decline" [],
    FeatureHangUp = "feature.hang_up" [],
    FeatureDial = "feature.dial" [],
    FeatureHold = "feature.hold" [],
    FeatureResume = "feature.resume" [],
    FeatureSwap = "feature.swap" [],
    FeatureTransfer = "feature.transfer" [],
    FeatureConnect = "feature.connect" [],
    FeatureConference = "feature.conference" [],
    FeatureMute = "feature.mute" [],
    FeatureTones = "feature.tones" [],

    // What happened to a request or a call (`Notice`).
    PbxCannot = "notice.pbx_cannot" ["error"],
    OktellLoginFailed = "notice.oktell_login_failed" ["error"],
    OktellSyncFailed = "notice.oktell_sync_failed" ["error"],
    PbxRefused = "notice.pbx_refused" ["failure"],
    DialFailed = "notice.dial_failed" ["reason"],
    HoldRefused = "notice.hold_refused" ["status"],
    ResumeRefused = "notice.resume_refused" ["status"],
    TransferFailedStatus = "notice.transfer_failed_status" ["status"],
    TransferFailed = "notice.transfer_failed" [],
    CallNotAccepted = "notice.call_not_accepted" ["status", "reason"],

    // The health of each system (`Status`).
    OktellConnecting = "health.oktell.connecting" [],
    OktellReconnecting = "health.oktell.reconnecting" ["attempt"],
    OktellLoggingOut = "health.oktell.logging_out" [],
    OktellLoggedOut = "health.oktell.logged_out" [],
    OktellLoginRefused = "health.oktell.login_refused" ["error"],
    OktellIncompatible = "health.oktell.incompatible" ["error"],
    OktellUnavailable = "health.oktell.unavailable" ["reason"],
    SipRegistering = "health.sip.registering" [],
    SipRegistrationFailed = "health.sip.registration_failed" ["reason", "retry_secs"],
    SipNotRunning = "health.sip.not_running" ["reason"],
    SipUnregistered = "health.sip.unregistered" [],
    CreatioOutage = "health.creatio.outage" ["reason"],
    CreatioWaiting = "health.creatio.waiting" ["count"],
    CreatioWaitingBecause = "health.creatio.waiting_because" ["count", "reason"],
    CreatioRejected = "health.creatio.rejected" ["count"],
    HistoryOffline = "health.creatio.history_offline" ["reason"],

    // A call's audio devices (`crate::AudioTrouble`).
    AudioPreferredUnavailable = "audio.preferred_unavailable" ["role", "preferred", "using"],
    AudioFellBack = "audio.fell_back" ["role", "lost", "using"],
    AudioNoDevice = "audio.no_device" ["role", "reason"],
    AudioFailed = "audio.failed" ["reason"],
    AudioRoleMicrophone = "audio.role.microphone" [],
    AudioRoleHeadset = "audio.role.headset" [],
    AudioRoleRinger = "audio.role.ringer" [],
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for Key {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

/// One parameter of a sentence. Serialised as a number, a string, or `{"term": key}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum Param {
    /// A number: a count (the UI picks the plural form by it), an attempt, a SIP status.
    Count(u64),
    /// Text shown as it is: a device name, or a cause that came from outside (an OS error, a
    /// server's message), which stays untranslated.
    Text(String),
    /// A word the UI translates too (what a refusal is about, a device's role).
    Term {
        /// Its dictionary key.
        term: Key,
    },
}

impl Param {
    /// Text shown as it is.
    pub fn text(text: impl fmt::Display) -> Param {
        Param::Text(text.to_string())
    }

    /// A translated word.
    pub fn term(term: Key) -> Param {
        Param::Term { term }
    }

    /// A count.
    pub fn count(count: impl Into<u64>) -> Param {
        Param::Count(count.into())
    }
}

/// A sentence's parameters by name.
pub type Params = BTreeMap<&'static str, Param>;

/// A sentence for a person: `{"key": "refusal.not_talking", "params": {"what": {"term":
/// "feature.hold"}}, "text": "Hold works only during a conversation."}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Sentence {
    /// What the UI looks up.
    pub key: Key,
    /// What fills the `{name}` places of the translated text.
    pub params: Params,
    /// The English sentence: for logs, and for a UI that does not know the key.
    pub text: String,
}

impl fmt::Display for Sentence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// A typed source of a sentence: its `Display` is the English text.
pub trait Phrase: fmt::Display {
    /// The dictionary key.
    fn key(&self) -> Key;

    /// The parameters, named as [`Key::params`] lists them.
    fn params(&self) -> Params;

    /// The sentence to carry in the view.
    fn sentence(&self) -> Sentence {
        Sentence {
            key: self.key(),
            params: self.params(),
            text: self.to_string(),
        }
    }
}

/// A sentence from a notice that came with an event (the refusals are [`crate::Refusal`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Notice {
    /// The Oktell session refused a command before sending it.
    #[error("The PBX cannot do that now: {error}.")]
    PbxCannot { error: String },
    /// Oktell did not accept the login.
    #[error("Oktell login failed: {error}.")]
    OktellLoginFailed { error: String },
    /// Oktell accepted the login but the account could not be loaded.
    #[error("Oktell could not load the account: {error}.")]
    OktellSyncFailed { error: String },
    /// The PBX answered a command with a failure.
    #[error("The PBX refused the request: {failure}.")]
    PbxRefused { failure: String },
    /// The softphone could not start a call.
    #[error("The call could not be placed: {reason}.")]
    DialFailed { reason: String },
    /// The peer refused our hold re-INVITE.
    #[error("The other side refused to hold the call (SIP {status}).")]
    HoldRefused { status: u16 },
    /// The peer refused our resume re-INVITE.
    #[error("The other side refused to resume the call (SIP {status}).")]
    ResumeRefused { status: u16 },
    /// A REFER was refused or the transfer target did not answer.
    #[error("The transfer did not go through (SIP {status}); the call stays with you.")]
    TransferFailedStatus { status: u16 },
    /// A transfer failed without a final status.
    #[error("The transfer did not go through; the call stays with you.")]
    TransferFailed,
    /// The callee refused our call.
    #[error("The call was not accepted: {status} {reason}.")]
    CallNotAccepted { status: u16, reason: String },
}

impl Phrase for Notice {
    fn key(&self) -> Key {
        match self {
            Notice::PbxCannot { .. } => Key::PbxCannot,
            Notice::OktellLoginFailed { .. } => Key::OktellLoginFailed,
            Notice::OktellSyncFailed { .. } => Key::OktellSyncFailed,
            Notice::PbxRefused { .. } => Key::PbxRefused,
            Notice::DialFailed { .. } => Key::DialFailed,
            Notice::HoldRefused { .. } => Key::HoldRefused,
            Notice::ResumeRefused { .. } => Key::ResumeRefused,
            Notice::TransferFailedStatus { .. } => Key::TransferFailedStatus,
            Notice::TransferFailed => Key::TransferFailed,
            Notice::CallNotAccepted { .. } => Key::CallNotAccepted,
        }
    }

    fn params(&self) -> Params {
        match self {
            Notice::PbxCannot { error } | Notice::OktellLoginFailed { error } | Notice::OktellSyncFailed { error } => {
                Params::from([("error", Param::text(error))])
            }
            Notice::PbxRefused { failure } => Params::from([("failure", Param::text(failure))]),
            Notice::DialFailed { reason } => Params::from([("reason", Param::text(reason))]),
            Notice::HoldRefused { status }
            | Notice::ResumeRefused { status }
            | Notice::TransferFailedStatus { status } => Params::from([("status", Param::count(*status))]),
            Notice::TransferFailed => Params::new(),
            Notice::CallNotAccepted { status, reason } => {
                Params::from([("status", Param::count(*status)), ("reason", Param::text(reason))])
            }
        }
    }
}

/// A sentence about the health of a connection: Oktell, the softphone, Creatio.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Status {
    #[error("Connecting to Oktell…")]
    OktellConnecting,
    #[error("The Oktell connection was lost; reconnecting (attempt {attempt}). Calls in progress continue.")]
    OktellReconnecting { attempt: u32 },
    #[error("Logging out of Oktell.")]
    OktellLoggingOut,
    #[error("Logged out of Oktell.")]
    OktellLoggedOut,
    #[error("Oktell refused the login: {error}.")]
    OktellLoginRefused { error: String },
    #[error("This Oktell server cannot be used: {error}.")]
    OktellIncompatible { error: String },
    /// The session could not start (settings, trust store, no saved password); `reason` is
    /// the runtime's sentence.
    #[error("{reason}")]
    OktellUnavailable { reason: String },
    #[error("Registering the softphone…")]
    SipRegistering,
    #[error("The softphone could not register ({reason}); retrying in {retry_secs} s.")]
    SipRegistrationFailed { reason: String, retry_secs: u64 },
    #[error("The softphone is not running: {reason}.")]
    SipNotRunning { reason: String },
    #[error("The softphone is not registered.")]
    SipUnregistered,
    /// A Creatio-wide problem, as the outbox describes it.
    #[error("{reason}.")]
    CreatioOutage { reason: String },
    #[error("{} waiting to be saved in Creatio.", records_waiting(*count))]
    CreatioWaiting { count: usize },
    #[error("{} waiting to be saved in Creatio — {reason}.", records_waiting(*count))]
    CreatioWaitingBecause { count: usize, reason: String },
    #[error("{} refused by Creatio.", records_refused(*count))]
    CreatioRejected { count: usize },
    /// The history shows the outbox's copy of Creatio's list.
    #[error("Creatio's call list is not available, showing the calls saved on this computer: {reason}")]
    HistoryOffline { reason: String },
}

fn records_waiting(count: usize) -> String {
    match count {
        1 => "1 call record is".to_owned(),
        n => format!("{n} call records are"),
    }
}

fn records_refused(count: usize) -> String {
    match count {
        1 => "1 call record was".to_owned(),
        n => format!("{n} call records were"),
    }
}

fn count(n: usize) -> Param {
    Param::Count(u64::try_from(n).unwrap_or(u64::MAX))
}

impl Phrase for Status {
    fn key(&self) -> Key {
        match self {
            Status::OktellConnecting => Key::OktellConnecting,
            Status::OktellReconnecting { .. } => Key::OktellReconnecting,
            Status::OktellLoggingOut => Key::OktellLoggingOut,
            Status::OktellLoggedOut => Key::OktellLoggedOut,
            Status::OktellLoginRefused { .. } => Key::OktellLoginRefused,
            Status::OktellIncompatible { .. } => Key::OktellIncompatible,
            Status::OktellUnavailable { .. } => Key::OktellUnavailable,
            Status::SipRegistering => Key::SipRegistering,
            Status::SipRegistrationFailed { .. } => Key::SipRegistrationFailed,
            Status::SipNotRunning { .. } => Key::SipNotRunning,
            Status::SipUnregistered => Key::SipUnregistered,
            Status::CreatioOutage { .. } => Key::CreatioOutage,
            Status::CreatioWaiting { .. } => Key::CreatioWaiting,
            Status::CreatioWaitingBecause { .. } => Key::CreatioWaitingBecause,
            Status::CreatioRejected { .. } => Key::CreatioRejected,
            Status::HistoryOffline { .. } => Key::HistoryOffline,
        }
    }

    fn params(&self) -> Params {
        match self {
            Status::OktellConnecting
            | Status::OktellLoggingOut
            | Status::OktellLoggedOut
            | Status::SipRegistering
            | Status::SipUnregistered => Params::new(),
            Status::OktellReconnecting { attempt } => Params::from([("attempt", Param::count(*attempt))]),
            Status::OktellLoginRefused { error } | Status::OktellIncompatible { error } => {
                Params::from([("error", Param::text(error))])
            }
            Status::OktellUnavailable { reason }
            | Status::SipNotRunning { reason }
            | Status::CreatioOutage { reason }
            | Status::HistoryOffline { reason } => Params::from([("reason", Param::text(reason))]),
            Status::SipRegistrationFailed { reason, retry_secs } => Params::from([
                ("reason", Param::text(reason)),
                ("retry_secs", Param::count(*retry_secs)),
            ]),
            Status::CreatioWaiting { count: n } | Status::CreatioRejected { count: n } => {
                Params::from([("count", count(*n))])
            }
            Status::CreatioWaitingBecause { count: n, reason } => {
                Params::from([("count", count(*n)), ("reason", Param::text(reason))])
            }
        }
    }
}

#[cfg(test)]
mod dictionaries;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audio::{AudioRole, AudioTrouble};
    use crate::error::{Feature, Refusal};

    /// One sentence of every kind the model builds.
    pub(crate) fn samples() -> Vec<Sentence> {
        let text = || "connection refused".to_owned();
        let refusals = [
            Refusal::NoRingingCall,
            Refusal::AlreadyAnswering,
            Refusal::NoCall,
            Refusal::StillRinging,
            Refusal::NotTalking { what: Feature::Hold },
            Refusal::NothingOnHold,
            Refusal::AlreadyHolding,
            Refusal::ActiveCall,
            Refusal::HoldInProgress,
            Refusal::OktellDown { what: Feature::Dial },
            Refusal::NeedsOktell {
                what: Feature::Transfer,
            },
            Refusal::NoPhone,
            Refusal::NoSoftphoneLeg,
            Refusal::BadDigits,
            Refusal::EmptyNumber,
            Refusal::Busy,
            Refusal::CannotConsult,
            Refusal::NotInConference,
            Refusal::AlreadyInConference,
            Refusal::NoCard,
            Refusal::NoPopup,
            Refusal::StatusUnavailable,
        ];
        let notices = [
            Notice::PbxCannot { error: text() },
            Notice::OktellLoginFailed { error: text() },
            Notice::OktellSyncFailed { error: text() },
            Notice::PbxRefused { failure: text() },
            Notice::DialFailed { reason: text() },
            Notice::HoldRefused { status: 488 },
            Notice::ResumeRefused { status: 488 },
            Notice::TransferFailedStatus { status: 603 },
            Notice::TransferFailed,
            Notice::CallNotAccepted {
                status: 486,
                reason: "Busy Here".into(),
            },
        ];
        let statuses = [
            Status::OktellConnecting,
            Status::OktellReconnecting { attempt: 2 },
            Status::OktellLoggingOut,
            Status::OktellLoggedOut,
            Status::OktellLoginRefused { error: text() },
            Status::OktellIncompatible { error: text() },
            Status::OktellUnavailable { reason: text() },
            Status::SipRegistering,
            Status::SipRegistrationFailed {
                reason: text(),
                retry_secs: 30,
            },
            Status::SipNotRunning { reason: text() },
            Status::SipUnregistered,
            Status::CreatioOutage { reason: text() },
            Status::CreatioWaiting { count: 3 },
            Status::CreatioWaitingBecause {
                count: 3,
                reason: text(),
            },
            Status::CreatioRejected { count: 1 },
            Status::HistoryOffline { reason: text() },
        ];
        let troubles = [
            AudioTrouble::PreferredUnavailable {
                role: AudioRole::Headset,
                preferred: "Jabra".into(),
                using: "Built-in Audio".into(),
            },
            AudioTrouble::FellBack {
                role: AudioRole::Microphone,
                lost: "Jabra".into(),
                using: "Built-in Audio".into(),
            },
            AudioTrouble::NoDevice {
                role: AudioRole::Ringer,
                reason: text(),
            },
            AudioTrouble::Failed { reason: text() },
        ];
        refusals
            .iter()
            .map(Phrase::sentence)
            .chain(notices.iter().map(Phrase::sentence))
            .chain(statuses.iter().map(Phrase::sentence))
            .chain(troubles.iter().map(Phrase::sentence))
            .collect()
    }

    #[test]
    fn every_sentence_carries_the_parameters_its_key_declares() {
        for sentence in samples() {
            let names: Vec<&str> = sentence.params.keys().copied().collect();
            let mut declared = sentence.key.params().to_vec();
            declared.sort_unstable();
            assert_eq!(names, declared, "{}", sentence.key);
            for param in sentence.params.values() {
                if let Param::Term { term } = param {
                    assert!(term.params().is_empty(), "a term has no parameters: {term}");
                }
            }
        }
    }

    #[test]
    fn every_key_is_a_sampled_sentence_or_a_term() {
        let said: Vec<Key> = samples()
            .iter()
            .map(|s| s.key)
            .chain(Feature::ALL.map(Feature::key))
            .chain(AudioRole::ALL.map(AudioRole::key))
            .collect();
        for key in Key::ALL {
            assert!(said.contains(key), "nothing says {key}");
        }
    }

    #[test]
    fn keys_are_unique_and_dotted() {
        let mut names: Vec<&str> = Key::ALL.iter().map(|k| k.as_str()).collect();
        names.sort_unstable();
        let before = names.len();
        names.dedup();
        assert_eq!(names.len(), before, "a key is declared twice");
        assert!(names.iter().all(|n| n.contains('.') && !n.contains(' ')));
    }

    #[test]
    fn a_sentence_serialises_as_key_params_and_text() {
        let sentence = Refusal::NotTalking { what: Feature::Hold }.sentence();
        let json = serde_json::to_value(&sentence).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "key": "refusal.not_talking",
                "params": {"what": {"term": "feature.hold"}},
                "text": "Hold works only during a conversation."
            })
        );
        let waiting = Status::CreatioWaitingBecause {
            count: 3,
            reason: "Creatio unreachable since 10:42: connection refused".into(),
        }
        .sentence();
        assert_eq!(
            serde_json::to_value(&waiting).unwrap(),
            serde_json::json!({
                "key": "health.creatio.waiting_because",
                "params": {"count": 3, "reason": "Creatio unreachable since 10:42: connection refused"},
                "text": "3 call records are waiting to be saved in Creatio — Creatio unreachable since 10:42: connection refused."
            })
        );
    }

    #[test]
    fn counts_read_in_the_singular_and_the_plural() {
        assert_eq!(
            Status::CreatioWaiting { count: 1 }.to_string(),
            "1 call record is waiting to be saved in Creatio."
        );
        assert_eq!(
            Status::CreatioRejected { count: 2 }.to_string(),
            "2 call records were refused by Creatio."
        );
    }
}
