//! Why a UI command was refused, in sentences the operator can act on.
//!
//! A refusal is the operator asking for something the current state does not allow (the
//! button should not have been there, or the state changed under the click). It is a value,
//! never a panic, and its `Display` is the English sentence; [`Phrase`] gives the same in a form
//! the panel translates.

use std::fmt;

use crate::features::Action;
use crate::sentence::{Key, Param, Params, Phrase};

/// What a refusal is about, when the sentence names it ("Hold works only during a
/// conversation"): a term the UI translates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Feature {
    Answer,
    Decline,
    HangUp,
    Dial,
    Hold,
    Resume,
    Swap,
    Transfer,
    Connect,
    Conference,
    Mute,
    Tones,
}

impl Feature {
    /// Every feature a refusal can name.
    pub const ALL: [Feature; 12] = [
        Feature::Answer,
        Feature::Decline,
        Feature::HangUp,
        Feature::Dial,
        Feature::Hold,
        Feature::Resume,
        Feature::Swap,
        Feature::Transfer,
        Feature::Connect,
        Feature::Conference,
        Feature::Mute,
        Feature::Tones,
    ];

    /// Its dictionary key.
    pub fn key(self) -> Key {
        match self {
            Feature::Answer => Key::FeatureAnswer,
            Feature::Decline => Key::FeatureDecline,
            Feature::HangUp => Key::FeatureHangUp,
            Feature::Dial => Key::FeatureDial,
            Feature::Hold => Key::FeatureHold,
            Feature::Resume => Key::FeatureResume,
            Feature::Swap => Key::FeatureSwap,
            Feature::Transfer => Key::FeatureTransfer,
            Feature::Connect => Key::FeatureConnect,
            Feature::Conference => Key::FeatureConference,
            Feature::Mute => Key::FeatureMute,
            Feature::Tones => Key::FeatureTones,
        }
    }

    /// The English words, as they read inside a sentence.
    fn english(self) -> &'static str {
        match self {
            Feature::Answer => "answering",
            Feature::Decline => "declining",
            Feature::HangUp => "hanging up",
            Feature::Dial => "dialling",
            Feature::Hold => "hold",
            Feature::Resume => "resuming",
            Feature::Swap => "swapping calls",
            Feature::Transfer => "transfer",
            Feature::Connect => "connecting two calls",
            Feature::Conference => "a conference",
            Feature::Mute => "mute",
            Feature::Tones => "sending tones",
        }
    }

    /// The English words at the start of a sentence.
    fn capitalised(self) -> Capitalised {
        Capitalised(self.english())
    }
}

impl fmt::Display for Feature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.english())
    }
}

/// Words written with a capital first letter.
struct Capitalised(&'static str);

impl fmt::Display for Capitalised {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut chars = self.0.chars();
        if let Some(first) = chars.next() {
            write!(f, "{}", first.to_uppercase())?;
        }
        f.write_str(chars.as_str())
    }
}

/// Why an action is not possible now.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Refusal {
    #[error("There is no ringing call to answer.")]
    NoRingingCall,
    #[error("The call is already being answered.")]
    AlreadyAnswering,
    #[error("There is no call right now.")]
    NoCall,
    #[error("The call is still ringing: answer or decline it.")]
    StillRinging,
    #[error("{} works only during a conversation.", what.capitalised())]
    NotTalking { what: Feature },
    #[error("No call is on hold.")]
    NothingOnHold,
    #[error("A call is already on hold: swap, connect or end the calls first.")]
    AlreadyHolding,
    #[error("Another call is in progress; swap to switch to the held call.")]
    ActiveCall,
    #[error("The hold or resume is still being set up; wait a moment.")]
    HoldInProgress,
    #[error("The PBX connection is being restored; {what} is not available until it is back.")]
    OktellDown { what: Feature },
    #[error("{} needs the Oktell PBX; the SIP phone alone cannot do it.", what.capitalised())]
    NeedsOktell { what: Feature },
    #[error("No phone is available: the softphone is not registered and Oktell is not connected.")]
    NoPhone,
    #[error("Tones can be sent only in a call on this softphone.")]
    NoSoftphoneLeg,
    #[error("Only the digits 0-9, *, # and A-D can be sent as tones.")]
    BadDigits,
    #[error("Enter a number to call.")]
    EmptyNumber,
    #[error("Finish or hold the current call before dialling another number.")]
    Busy,
    #[error("Consultation calls are possible only during a conversation with nobody on hold.")]
    CannotConsult,
    #[error("There is no conference right now.")]
    NotInConference,
    #[error("A conference is already in progress.")]
    AlreadyInConference,
    #[error("The caller has not been found in Creatio.")]
    NoCard,
    #[error("No incoming call window is open.")]
    NoPopup,
    #[error("The agent status can be changed only while connected to Oktell.")]
    StatusUnavailable,
}

impl Phrase for Refusal {
    fn key(&self) -> Key {
        match self {
            Refusal::NoRingingCall => Key::NoRingingCall,
            Refusal::AlreadyAnswering => Key::AlreadyAnswering,
            Refusal::NoCall => Key::NoCall,
            Refusal::StillRinging => Key::StillRinging,
            Refusal::NotTalking { .. } => Key::NotTalking,
            Refusal::NothingOnHold => Key::NothingOnHold,
            Refusal::AlreadyHolding => Key::AlreadyHolding,
            Refusal::ActiveCall => Key::ActiveCall,
            Refusal::HoldInProgress => Key::HoldInProgress,
            Refusal::OktellDown { .. } => Key::OktellDown,
            Refusal::NeedsOktell { .. } => Key::NeedsOktell,
            Refusal::NoPhone => Key::NoPhone,
            Refusal::NoSoftphoneLeg => Key::NoSoftphoneLeg,
            Refusal::BadDigits => Key::BadDigits,
            Refusal::EmptyNumber => Key::EmptyNumber,
            Refusal::Busy => Key::Busy,
            Refusal::CannotConsult => Key::CannotConsult,
            Refusal::NotInConference => Key::NotInConference,
            Refusal::AlreadyInConference => Key::AlreadyInConference,
            Refusal::NoCard => Key::NoCard,
            Refusal::NoPopup => Key::NoPopup,
            Refusal::StatusUnavailable => Key::StatusUnavailable,
        }
    }

    fn params(&self) -> Params {
        match self {
            Refusal::NotTalking { what } | Refusal::OktellDown { what } | Refusal::NeedsOktell { what } => {
                Params::from([("what", Param::term(what.key()))])
            }
            _ => Params::new(),
        }
    }
}

/// A UI command that was not carried out, with the sentence to show.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{reason}")]
pub struct CommandRejected {
    /// What the operator asked for.
    pub action: Action,
    /// Why it is not possible now.
    pub reason: Refusal,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejections_read_as_sentences() {
        let rejected = CommandRejected {
            action: Action::Transfer,
            reason: Refusal::NeedsOktell {
                what: Feature::Transfer,
            },
        };
        assert_eq!(
            rejected.to_string(),
            "Transfer needs the Oktell PBX; the SIP phone alone cannot do it."
        );
        assert_eq!(
            Refusal::OktellDown { what: Feature::Hold }.to_string(),
            "The PBX connection is being restored; hold is not available until it is back."
        );
        assert_eq!(
            Refusal::NotTalking { what: Feature::Swap }.to_string(),
            "Swapping calls works only during a conversation."
        );
    }
}
