//! Why a UI command was refused, in sentences the operator can act on.
//!
//! A refusal is the operator asking for something the current state does not allow (the
//! button should not have been there, or the state changed under the click). It is a value,
//! never a panic, and its `Display` is the sentence the panel shows.

use crate::features::Action;

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
    #[error("{what} works only during a conversation.")]
    NotTalking { what: &'static str },
    #[error("No call is on hold.")]
    NothingOnHold,
    #[error("A call is already on hold: swap, connect or end the calls first.")]
    AlreadyHolding,
    #[error("Another call is in progress; swap to switch to the held call.")]
    ActiveCall,
    #[error("The hold or resume is still being set up; wait a moment.")]
    HoldInProgress,
    #[error("The PBX connection is being restored; {what} is not available until it is back.")]
    OktellDown { what: &'static str },
    #[error("{what} needs the Oktell PBX; the SIP phone alone cannot do it.")]
    NeedsOktell { what: &'static str },
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
            reason: Refusal::NeedsOktell { what: "Transfer" },
        };
        assert_eq!(
            rejected.to_string(),
            "Transfer needs the Oktell PBX; the SIP phone alone cannot do it."
        );
        assert_eq!(
            Refusal::OktellDown { what: "hold" }.to_string(),
            "The PBX connection is being restored; hold is not available until it is back."
        );
    }
}
