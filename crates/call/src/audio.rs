//! Trouble with a call's audio devices: the headset unplugged mid-call (the softphone fell
//! back to another device), the chosen microphone missing, no sound card at all.
//!
//! The call goes on in every case; the operator must know why they suddenly hear the caller
//! from the laptop's speakers, or why the caller hears nothing. Each trouble stays on the call
//! it concerns until the device is back or the call ends, at most one per role.

use std::fmt;

use crate::sentence::{Key, Param, Params, Phrase};

/// What a device is used for, in the operator's words.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AudioRole {
    /// The operator's voice.
    Microphone,
    /// The caller's voice.
    Headset,
    /// Ringtones.
    Ringer,
}

impl AudioRole {
    /// Every role.
    pub const ALL: [AudioRole; 3] = [AudioRole::Microphone, AudioRole::Headset, AudioRole::Ringer];

    /// Its dictionary key.
    pub fn key(self) -> Key {
        match self {
            AudioRole::Microphone => Key::AudioRoleMicrophone,
            AudioRole::Headset => Key::AudioRoleHeadset,
            AudioRole::Ringer => Key::AudioRoleRinger,
        }
    }
}

impl fmt::Display for AudioRole {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            AudioRole::Microphone => "Microphone",
            AudioRole::Headset => "Headset",
            AudioRole::Ringer => "Ringer",
        })
    }
}

/// What happened to a call's audio devices.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AudioTrouble {
    /// The device chosen in the settings could not be opened; another plays the role.
    #[error("{role}: {preferred} is not available; using {using}.")]
    PreferredUnavailable {
        role: AudioRole,
        /// The chosen device.
        preferred: String,
        /// The device in use instead.
        using: String,
    },
    /// The device in use went away or failed (a headset unplugged); another took over.
    #[error("{role}: {lost} was disconnected; using {using}.")]
    FellBack {
        role: AudioRole,
        /// The device that went away.
        lost: String,
        /// The device in use now.
        using: String,
    },
    /// No device can play the role.
    #[error("{role}: no device is available ({reason}).")]
    NoDevice {
        role: AudioRole,
        /// Why the last attempt failed (the sound system's words).
        reason: String,
    },
    /// The devices could not be opened or failed: the call goes on without sound.
    #[error("The audio devices failed; the call goes on without sound: {reason}.")]
    Failed {
        /// The sound system's words.
        reason: String,
    },
}

impl AudioTrouble {
    /// The role concerned; `None` for all of them.
    pub fn role(&self) -> Option<AudioRole> {
        match self {
            AudioTrouble::PreferredUnavailable { role, .. }
            | AudioTrouble::FellBack { role, .. }
            | AudioTrouble::NoDevice { role, .. } => Some(*role),
            AudioTrouble::Failed { .. } => None,
        }
    }
}

impl Phrase for AudioTrouble {
    fn key(&self) -> Key {
        match self {
            AudioTrouble::PreferredUnavailable { .. } => Key::AudioPreferredUnavailable,
            AudioTrouble::FellBack { .. } => Key::AudioFellBack,
            AudioTrouble::NoDevice { .. } => Key::AudioNoDevice,
            AudioTrouble::Failed { .. } => Key::AudioFailed,
        }
    }

    fn params(&self) -> Params {
        match self {
            AudioTrouble::PreferredUnavailable { role, preferred, using } => Params::from([
                ("role", Param::term(role.key())),
                ("preferred", Param::text(preferred)),
                ("using", Param::text(using)),
            ]),
            AudioTrouble::FellBack { role, lost, using } => Params::from([
                ("role", Param::term(role.key())),
                ("lost", Param::text(lost)),
                ("using", Param::text(using)),
            ]),
            AudioTrouble::NoDevice { role, reason } => {
                Params::from([("role", Param::term(role.key())), ("reason", Param::text(reason))])
            }
            AudioTrouble::Failed { reason } => Params::from([("reason", Param::text(reason))]),
        }
    }
}

/// What the softphone reports about a call's devices.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AudioNews {
    /// Something went wrong; the call goes on.
    Trouble(AudioTrouble),
    /// The chosen device of `role` is back and in use: its trouble is over.
    Restored(AudioRole),
}

/// The standing troubles of one call, oldest first, at most one per role.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct AudioState {
    troubles: Vec<AudioTrouble>,
}

impl AudioState {
    /// Applies the news: a trouble replaces the older one of its role (a failure of every
    /// device replaces all), a restored role drops its own.
    pub(crate) fn apply(&mut self, news: AudioNews) {
        match news {
            AudioNews::Trouble(trouble) => {
                match trouble.role() {
                    Some(role) => self.troubles.retain(|t| t.role() != Some(role) && t.role().is_some()),
                    None => self.troubles.clear(),
                }
                self.troubles.push(trouble);
            }
            AudioNews::Restored(role) => self.troubles.retain(|t| t.role() != Some(role)),
        }
    }

    /// The troubles standing now, oldest first.
    pub(crate) fn troubles(&self) -> &[AudioTrouble] {
        &self.troubles
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fell_back(role: AudioRole) -> AudioTrouble {
        AudioTrouble::FellBack {
            role,
            lost: "Jabra Evolve".into(),
            using: "Built-in Audio".into(),
        }
    }

    #[test]
    fn a_newer_trouble_replaces_the_older_one_of_its_role() {
        let mut state = AudioState::default();
        state.apply(AudioNews::Trouble(fell_back(AudioRole::Headset)));
        state.apply(AudioNews::Trouble(fell_back(AudioRole::Microphone)));
        let none = AudioTrouble::NoDevice {
            role: AudioRole::Headset,
            reason: "no sink".into(),
        };
        state.apply(AudioNews::Trouble(none.clone()));
        assert_eq!(state.troubles(), [fell_back(AudioRole::Microphone), none]);
    }

    #[test]
    fn a_restored_device_ends_only_its_own_trouble() {
        let mut state = AudioState::default();
        state.apply(AudioNews::Trouble(fell_back(AudioRole::Headset)));
        state.apply(AudioNews::Trouble(fell_back(AudioRole::Microphone)));
        state.apply(AudioNews::Restored(AudioRole::Headset));
        assert_eq!(state.troubles(), [fell_back(AudioRole::Microphone)]);
    }

    #[test]
    fn silence_replaces_every_fallback_and_a_fallback_after_it_replaces_the_silence() {
        let mut state = AudioState::default();
        state.apply(AudioNews::Trouble(fell_back(AudioRole::Headset)));
        let failed = AudioTrouble::Failed {
            reason: "no sound card".into(),
        };
        state.apply(AudioNews::Trouble(failed.clone()));
        assert_eq!(state.troubles(), [failed]);
        state.apply(AudioNews::Trouble(fell_back(AudioRole::Headset)));
        assert_eq!(state.troubles(), [fell_back(AudioRole::Headset)]);
    }

    #[test]
    fn troubles_read_as_sentences() {
        assert_eq!(
            fell_back(AudioRole::Headset).to_string(),
            "Headset: Jabra Evolve was disconnected; using Built-in Audio."
        );
        assert_eq!(
            AudioTrouble::Failed {
                reason: "no sound card".into()
            }
            .to_string(),
            "The audio devices failed; the call goes on without sound: no sound card."
        );
    }
}
