//! Which device plays which role, and what happens when it goes away.
//!
//! Call centres ring on the speakers and talk on the headset, so there are three roles
//! ([`Role`]): microphone, speaker (the call's output) and ringer. Each names a preferred
//! device (the settings page stores names) or none for the system default.
//!
//! [`Routed`] holds one role's open stream and keeps it alive through hot-plug:
//! - the preferred device is not connected at start: the default plays the role, and
//!   [`DeviceEvent::PreferredUnavailable`] says so;
//! - the device fails mid-call (a cpal stream error), stops calling back for [`STALL_AFTER`],
//!   or leaves the device list: the default
//!   takes over and [`DeviceEvent::FellBack`] carries "Headset disconnected; using Speakers";
//! - nothing at all can play the role: [`DeviceEvent::NoDevice`], once; the role is retried
//!   on each later check and [`DeviceEvent::FellBack`] follows when a device appears;
//! - the preferred device comes back: it is taken again ([`DeviceEvent::Restored`]);
//! - the stream fails but reopens on the same device (the sound server restarted, or ALSA's
//!   `default` now leads to another sink): no event, only a log line and a restart count.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tracing::{info, warn};

use super::{AudioBackend, AudioError, Capture, DeviceInfo, Direction, Playback};

/// A device that has not moved a sample for this long is treated as gone. Longer than the
/// slowest start-up seen (the first capture callback through ALSA's pulse plugin can take 2 s),
/// short enough that the operator is not left in silence for long.
pub const STALL_AFTER: Duration = Duration::from_secs(3);

/// What a device is used for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    /// The operator's voice.
    Microphone,
    /// The caller's voice (a headset, usually).
    Speaker,
    /// Ringtones, loud enough to hear with the headset off.
    Ringer,
}

impl Role {
    /// Capture or playback.
    pub fn direction(self) -> Direction {
        match self {
            Role::Microphone => Direction::Capture,
            Role::Speaker | Role::Ringer => Direction::Playback,
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Role::Microphone => "microphone",
            Role::Speaker => "speaker",
            Role::Ringer => "ringer",
        })
    }
}

/// The devices the operator chose; `None` follows the system default.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DevicePreferences {
    /// Capture device name.
    pub microphone: Option<String>,
    /// Call output device name.
    pub speaker: Option<String>,
    /// Ringtone output device name.
    pub ringer: Option<String>,
}

impl DevicePreferences {
    /// The preferred device for `role`.
    pub fn for_role(&self, role: Role) -> Option<&str> {
        match role {
            Role::Microphone => self.microphone.as_deref(),
            Role::Speaker => self.speaker.as_deref(),
            Role::Ringer => self.ringer.as_deref(),
        }
        .filter(|name| !name.is_empty())
    }
}

/// A routing change the operator should see.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeviceEvent {
    /// The chosen device could not be opened; the default plays the role instead.
    PreferredUnavailable {
        /// The role.
        role: Role,
        /// The device chosen in the settings.
        preferred: String,
        /// The device now in use.
        using: String,
    },
    /// The device in use disappeared or failed; another took over.
    FellBack {
        /// The role.
        role: Role,
        /// The device that went away.
        lost: String,
        /// The device now in use.
        using: String,
    },
    /// The chosen device is back and in use again.
    Restored {
        /// The role.
        role: Role,
        /// The device now in use.
        using: String,
    },
    /// No device can play the role right now.
    NoDevice {
        /// The role.
        role: Role,
        /// Why the last attempt failed.
        reason: String,
    },
}

impl DeviceEvent {
    /// The role concerned.
    pub fn role(&self) -> Role {
        match self {
            DeviceEvent::PreferredUnavailable { role, .. }
            | DeviceEvent::FellBack { role, .. }
            | DeviceEvent::Restored { role, .. }
            | DeviceEvent::NoDevice { role, .. } => *role,
        }
    }

    /// One sentence for the operator.
    pub fn message(&self) -> String {
        match self {
            DeviceEvent::PreferredUnavailable { preferred, using, .. } => {
                format!("{preferred} is not available; using {using}")
            }
            DeviceEvent::FellBack { lost, using, .. } => {
                format!("{lost} disconnected; using {using}")
            }
            DeviceEvent::Restored { using, .. } => format!("Using {using} again"),
            DeviceEvent::NoDevice { role, .. } => format!("No {role} available"),
        }
    }
}

/// A capture or playback handle, as far as routing cares.
pub trait RoutedStream: Sized {
    /// Capture or playback.
    const DIRECTION: Direction;
    /// Opens `device` (`None`: the default) on `backend`.
    fn open(backend: &dyn AudioBackend, device: Option<&str>) -> Result<Self, AudioError>;
    /// The device it runs on.
    fn device(&self) -> &str;
    /// Whether the device failed.
    fn failed(&self) -> bool;
    /// Samples the device has moved so far.
    fn progress(&self) -> u64;
}

impl RoutedStream for Capture {
    const DIRECTION: Direction = Direction::Capture;

    fn open(backend: &dyn AudioBackend, device: Option<&str>) -> Result<Self, AudioError> {
        backend.open_capture(device)
    }

    fn device(&self) -> &str {
        Capture::device(self)
    }

    fn failed(&self) -> bool {
        Capture::failed(self)
    }

    fn progress(&self) -> u64 {
        Capture::progress(self)
    }
}

impl RoutedStream for Playback {
    const DIRECTION: Direction = Direction::Playback;

    fn open(backend: &dyn AudioBackend, device: Option<&str>) -> Result<Self, AudioError> {
        backend.open_playback(device)
    }

    fn device(&self) -> &str {
        Playback::device(self)
    }

    fn failed(&self) -> bool {
        Playback::failed(self)
    }

    fn progress(&self) -> u64 {
        Playback::progress(self)
    }
}

/// One role's stream, kept on a working device. See the module documentation.
#[derive(Debug)]
pub struct Routed<S> {
    backend: Arc<dyn AudioBackend>,
    role: Role,
    preferred: Option<String>,
    stream: S,
    /// Set after [`DeviceEvent::NoDevice`]: the stream is dead, and this was the device lost.
    lost: Option<String>,
    /// Streams reopened after a failure, for diagnostics.
    restarts: u64,
    /// The device's progress count when last seen to change, and when that was.
    watch: Option<(u64, Instant)>,
}

impl<S: RoutedStream> Routed<S> {
    /// Opens the preferred device for `role`, or the default if it is not available (with the
    /// event saying so). Fails only if the default cannot be opened either.
    pub fn open(
        backend: Arc<dyn AudioBackend>,
        role: Role,
        preferred: Option<&str>,
    ) -> Result<(Self, Option<DeviceEvent>), AudioError> {
        if role.direction() != S::DIRECTION {
            return Err(AudioError::RoleMismatch {
                role,
                direction: S::DIRECTION,
            });
        }
        let (stream, event) = match preferred {
            Some(name) => match S::open(backend.as_ref(), Some(name)) {
                Ok(stream) => (stream, None),
                Err(e) => {
                    warn!(%role, device = name, error = %e, "preferred device unavailable");
                    let stream = S::open(backend.as_ref(), None)?;
                    let event = DeviceEvent::PreferredUnavailable {
                        role,
                        preferred: name.to_owned(),
                        using: stream.device().to_owned(),
                    };
                    (stream, Some(event))
                }
            },
            None => (S::open(backend.as_ref(), None)?, None),
        };
        info!(%role, device = stream.device(), "audio device open");
        let routed = Self {
            backend,
            role,
            preferred: preferred.map(str::to_owned),
            stream,
            lost: None,
            restarts: 0,
            watch: None,
        };
        Ok((routed, event))
    }

    /// The backend the role's devices come from.
    pub fn backend(&self) -> &dyn AudioBackend {
        self.backend.as_ref()
    }

    /// The open stream.
    pub fn stream(&self) -> &S {
        &self.stream
    }

    /// The open stream, to read or write.
    pub fn stream_mut(&mut self) -> &mut S {
        &mut self.stream
    }

    /// How many times the stream was reopened after its device failed or went away.
    pub fn restarts(&self) -> u64 {
        self.restarts
    }

    /// Whether a working device plays the role now (false after [`DeviceEvent::NoDevice`]).
    pub fn is_live(&self) -> bool {
        self.lost.is_none() && !self.stream.failed()
    }

    /// Cheap, for every pump: if the stream failed, or its device has not moved a sample for
    /// [`STALL_AFTER`], moves the role to the default device. Returns `true` when the stream
    /// was replaced (rate-dependent state must be rebuilt).
    pub fn recover(&mut self, now: Instant, events: &mut Vec<DeviceEvent>) -> bool {
        if self.lost.is_some() {
            return false;
        }
        if self.stream.failed() {
            let lost = self.stream.device().to_owned();
            warn!(role = %self.role, device = %lost, "audio device failed");
            return self.reopen(None, lost, events);
        }
        if self.stalled(now) {
            let lost = self.stream.device().to_owned();
            warn!(role = %self.role, device = %lost, "audio device stopped calling back");
            return self.reopen(None, lost, events);
        }
        false
    }

    fn stalled(&mut self, now: Instant) -> bool {
        let progress = self.stream.progress();
        match self.watch {
            Some((seen, since)) if seen == progress => now.saturating_duration_since(since) >= STALL_AFTER,
            _ => {
                self.watch = Some((progress, now));
                false
            }
        }
    }

    /// Slower, every second or two: compares with the device list. A device no longer listed
    /// counts as failed; a role without a device tries again; a preferred device that came
    /// back is taken again. Returns `true` when the stream was replaced.
    pub fn follow(&mut self, devices: &[DeviceInfo], events: &mut Vec<DeviceEvent>) -> bool {
        let listed = |name: &str| devices.iter().any(|d| d.direction == S::DIRECTION && d.name == name);
        if let Some(lost) = self.lost.clone() {
            if devices.iter().any(|d| d.direction == S::DIRECTION) {
                return self.reopen(self.preferred.clone().filter(|p| listed(p)), lost, events);
            }
            return false;
        }
        if self.stream.failed() || !listed(self.stream.device()) {
            let lost = self.stream.device().to_owned();
            warn!(role = %self.role, device = %lost, "audio device gone");
            return self.reopen(None, lost, events);
        }
        match self.preferred.clone() {
            Some(preferred) if preferred != self.stream.device() && listed(&preferred) => {
                match S::open(self.backend.as_ref(), Some(&preferred)) {
                    Ok(stream) => {
                        info!(role = %self.role, device = %preferred, "preferred device back");
                        self.stream = stream;
                        self.watch = None;
                        events.push(DeviceEvent::Restored {
                            role: self.role,
                            using: preferred,
                        });
                        true
                    }
                    Err(_) => false,
                }
            }
            _ => false,
        }
    }

    fn reopen(&mut self, device: Option<String>, lost: String, events: &mut Vec<DeviceEvent>) -> bool {
        let opened = match device {
            Some(name) => S::open(self.backend.as_ref(), Some(&name)).or_else(|_| S::open(self.backend.as_ref(), None)),
            None => S::open(self.backend.as_ref(), None),
        };
        match opened {
            Ok(stream) => {
                let using = stream.device().to_owned();
                self.stream = stream;
                self.lost = None;
                self.watch = None;
                self.restarts += 1;
                if using == lost {
                    // The same device again (a server restart, or ALSA's `default` whose sink
                    // the server replaced): nothing the operator needs to act on.
                    info!(role = %self.role, device = %using, "audio stream restarted");
                    return true;
                }
                info!(role = %self.role, device = %using, "audio moved");
                events.push(if self.preferred.as_deref() == Some(using.as_str()) {
                    DeviceEvent::Restored { role: self.role, using }
                } else {
                    DeviceEvent::FellBack {
                        role: self.role,
                        lost,
                        using,
                    }
                });
                true
            }
            Err(e) => {
                if self.lost.is_none() {
                    warn!(role = %self.role, error = %e, "no audio device for the role");
                    events.push(DeviceEvent::NoDevice {
                        role: self.role,
                        reason: e.to_string(),
                    });
                }
                self.lost = Some(lost);
                false
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_preference_means_the_system_default() {
        let preferences = DevicePreferences {
            microphone: Some(String::new()),
            speaker: Some("Headset".into()),
            ringer: None,
        };
        assert_eq!(preferences.for_role(Role::Microphone), None);
        assert_eq!(preferences.for_role(Role::Speaker), Some("Headset"));
        assert_eq!(preferences.for_role(Role::Ringer), None);
    }

    #[test]
    fn roles_map_to_directions() {
        assert_eq!(Role::Microphone.direction(), Direction::Capture);
        assert_eq!(Role::Speaker.direction(), Direction::Playback);
        assert_eq!(Role::Ringer.direction(), Direction::Playback);
    }

    #[test]
    fn every_event_reads_as_one_sentence_for_the_operator() {
        let cases = [
            (
                DeviceEvent::PreferredUnavailable {
                    role: Role::Microphone,
                    preferred: "Jabra".into(),
                    using: "Built-in Microphone".into(),
                },
                "Jabra is not available; using Built-in Microphone",
            ),
            (
                DeviceEvent::FellBack {
                    role: Role::Speaker,
                    lost: "Headset".into(),
                    using: "Speakers".into(),
                },
                "Headset disconnected; using Speakers",
            ),
            (
                DeviceEvent::Restored {
                    role: Role::Ringer,
                    using: "Speakers".into(),
                },
                "Using Speakers again",
            ),
            (
                DeviceEvent::NoDevice {
                    role: Role::Microphone,
                    reason: "no default".into(),
                },
                "No microphone available",
            ),
        ];
        for (event, message) in cases {
            assert_eq!(event.message(), message);
        }
    }
}

#[cfg(test)]
mod routing_tests {
    use super::*;
    use crate::audio::backend::wav::WavBackend;

    #[test]
    fn a_role_opened_in_the_wrong_direction_is_refused() {
        let backend: Arc<dyn AudioBackend> = Arc::new(WavBackend::new());
        let err = Routed::<Playback>::open(backend, Role::Microphone, None).unwrap_err();
        assert!(
            matches!(
                err,
                AudioError::RoleMismatch {
                    role: Role::Microphone,
                    direction: Direction::Playback
                }
            ),
            "{err:?}"
        );
    }
}
