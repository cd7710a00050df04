//! The softphone half of the panel task: a [`SipLink`] whose events become the model's SIP
//! inputs, and which carries out the model's SIP actions and tones.
//!
//! The link and the model name calls differently: the model asks to dial for its own
//! [`CallId`], and the link reports the new dialog's handle with [`LinkEvent::Dialing`] (or
//! refuses the dial with a `call` [`LinkEvent::CommandFailed`]). The link handles its
//! commands one at a time in order, so the dials in flight form a queue: each dial report
//! belongs to the oldest dial not yet reported.
//!
//! Transfers are REFERs: the user agent ends the dialog itself once the target answers, and a
//! refused or failed transfer comes back as the model's `TransferFailed`.
//!
//! Audio is the operator's microphone and headset when the options name a sound system
//! ([`crate::sip_link::DeviceAudio`]), else the link's own sources (a WAV file or silence).
//! The link's quality estimates, once a second, become the model's `Quality` inputs, and its
//! device news (a headset unplugged and the audio moved to another device, no sound card at
//! all) becomes the model's `Audio` input, which the call card shows.

use std::collections::VecDeque;

use call::{AudioNews, AudioRole, AudioTrouble, CallId, CallInput, SipAction, SipEvent};
use sip::invite::{CallHandle, TransferState};
use sip::ua::DialogEvent;
use tokio::sync::mpsc;

use crate::audio::devices::{DeviceEvent, Role};
use crate::sip_link::{LinkCommand, LinkEvent, SipLink};

/// A started softphone: the link and the SIP domain dialled numbers belong to.
#[derive(Debug)]
pub struct Softphone {
    link: SipLink,
    domain: String,
}

impl Softphone {
    /// Wraps a running link; `domain` completes dialled numbers (`102` → `sip:102@domain`).
    pub fn new(link: SipLink, domain: impl Into<String>) -> Softphone {
        Softphone {
            link,
            domain: domain.into(),
        }
    }

    /// Splits into the command side the panel task keeps and the link whose events it reads.
    pub(super) fn split(self) -> (Dialer, SipLink) {
        let dialer = Dialer {
            commands: self.link.commands(),
            domain: self.domain,
            dials: VecDeque::new(),
        };
        (dialer, self.link)
    }
}

/// What the panel task needs to command the link and read its reports.
#[derive(Debug)]
pub(super) struct Dialer {
    commands: mpsc::Sender<LinkCommand>,
    domain: String,
    /// Dials sent to the link and not yet reported, oldest first.
    dials: VecDeque<CallId>,
}

/// The outcome of a command the link would not even queue.
pub(super) type Unsent = Option<CallInput<CallHandle>>;

impl Dialer {
    /// Sends the link the command for a model action. A dial that cannot be queued comes back
    /// as the model's `DialFailed` input, so the call does not wait for a dialog forever.
    pub(super) fn act(&mut self, action: SipAction<CallHandle>) -> Unsent {
        let command = match action {
            SipAction::Answer { dialog } => LinkCommand::Answer(dialog),
            // The link refuses with 486 Busy Here, the status the model asks for a decline.
            SipAction::Reject { dialog, .. } => LinkCommand::Reject(dialog),
            SipAction::Hangup { dialog } => LinkCommand::Hangup(dialog),
            SipAction::Hold { dialog } => LinkCommand::Hold(dialog),
            SipAction::Resume { dialog } => LinkCommand::Resume(dialog),
            SipAction::Mute { dialog, muted } => LinkCommand::Mute { call: dialog, muted },
            SipAction::Transfer { dialog, to } => LinkCommand::Transfer {
                call: dialog,
                target: target(&to, &self.domain),
            },
            SipAction::AttendedTransfer { dialog, to } => LinkCommand::AttendedTransfer { call: dialog, to },
            SipAction::Dial { call, number } => {
                let target = target(&number, &self.domain);
                if let Err(err) = self.commands.try_send(LinkCommand::Call { target }) {
                    tracing::error!(%err, ?call, "the softphone cannot take the dial");
                    return Some(CallInput::Sip(SipEvent::DialFailed {
                        call,
                        reason: "the softphone is busy or stopped".into(),
                    }));
                }
                self.dials.push_back(call);
                return None;
            }
        };
        self.send(command);
        None
    }

    /// Sends DTMF digits on a dialog.
    pub(super) fn tones(&self, dialog: CallHandle, digits: String) {
        self.send(LinkCommand::Dtmf { call: dialog, digits });
    }

    fn send(&self, command: LinkCommand) {
        if let Err(err) = self.commands.try_send(command) {
            tracing::error!(%err, "the softphone command queue is full or closed; command dropped");
        }
    }

    /// The model's input for a link event, if it concerns the model.
    pub(super) fn input(&mut self, event: LinkEvent) -> Option<CallInput<CallHandle>> {
        match event {
            LinkEvent::Sip(event) => Some(CallInput::Sip(SipEvent::from_ua(event))),
            LinkEvent::Dialing { call: dialog, target } => match self.dials.pop_front() {
                Some(call) => Some(CallInput::Sip(SipEvent::Dialling { call, dialog })),
                None => {
                    tracing::warn!(%target, "the softphone dialled a call nobody asked for");
                    None
                }
            },
            LinkEvent::CommandFailed { command: "call", error } => match self.dials.pop_front() {
                Some(call) => Some(CallInput::Sip(SipEvent::DialFailed {
                    call,
                    reason: error.to_string(),
                })),
                None => {
                    tracing::warn!(%error, "a dial nobody asked for failed");
                    None
                }
            },
            LinkEvent::CommandFailed { command, error } => {
                tracing::warn!(command, %error, "the softphone could not carry out a command");
                None
            }
            LinkEvent::Dialog(DialogEvent::Transfer {
                call,
                state: TransferState::Failed { status },
            }) => Some(CallInput::Sip(SipEvent::TransferFailed { dialog: call, status })),
            LinkEvent::Dialog(DialogEvent::Referred {
                call,
                target,
                new_call: Some(new_call),
                ..
            }) => {
                tracing::info!(?call, ?new_call, %target, "the other side transferred us");
                let number = target.user().map_or_else(|| target.to_string(), str::to_owned);
                Some(CallInput::Sip(SipEvent::Referred {
                    dialog: new_call,
                    number,
                }))
            }
            LinkEvent::Dialog(DialogEvent::Replaced { call, replaced, from }) => {
                tracing::info!(?call, ?replaced, "a call took over another (Replaces)");
                Some(CallInput::Sip(SipEvent::Replaced {
                    replaced,
                    dialog: call,
                    number: from.uri.user().map(str::to_owned),
                    name: from.display.clone(),
                }))
            }
            LinkEvent::Dialog(event) => {
                tracing::info!(?event, "softphone dialog news");
                None
            }
            LinkEvent::AudioStarted { call, local, remote } => {
                tracing::info!(?call, %local, %remote, "softphone audio started");
                None
            }
            LinkEvent::Media { call, event } => {
                tracing::debug!(?call, ?event, "softphone audio");
                None
            }
            LinkEvent::Warning(warning) => {
                tracing::warn!(%warning, "softphone");
                None
            }
            LinkEvent::Quality { call, estimate } => Some(CallInput::Quality { dialog: call, estimate }),
            LinkEvent::Device { call, event } => {
                tracing::info!(?call, message = %event.message(), "softphone devices");
                Some(CallInput::Audio {
                    dialog: call,
                    news: audio_news(event),
                })
            }
            LinkEvent::DevicesFailed { call, error } => {
                tracing::warn!(?call, %error, "the softphone's devices failed; the call goes on silent");
                Some(CallInput::Audio {
                    dialog: call,
                    news: AudioNews::Trouble(AudioTrouble::Failed { reason: cause(&error) }),
                })
            }
        }
    }
}

/// The model's words for a routing change: the device names and the sound system's reason go
/// along as they are, the role in the operator's terms (the speaker of a call is the headset).
fn audio_news(event: DeviceEvent) -> AudioNews {
    let role = |role: Role| match role {
        Role::Microphone => AudioRole::Microphone,
        Role::Speaker => AudioRole::Headset,
        Role::Ringer => AudioRole::Ringer,
    };
    match event {
        DeviceEvent::PreferredUnavailable {
            role: r,
            preferred,
            using,
        } => AudioNews::Trouble(AudioTrouble::PreferredUnavailable {
            role: role(r),
            preferred,
            using,
        }),
        DeviceEvent::FellBack { role: r, lost, using } => AudioNews::Trouble(AudioTrouble::FellBack {
            role: role(r),
            lost,
            using,
        }),
        DeviceEvent::Restored { role: r, .. } => AudioNews::Restored(role(r)),
        DeviceEvent::NoDevice { role: r, reason } => AudioNews::Trouble(AudioTrouble::NoDevice {
            role: role(r),
            reason: cause(&reason),
        }),
    }
}

/// The sound system's reason as a clause: its own final full stop would double the sentence's.
fn cause(reason: &str) -> String {
    reason.trim().trim_end_matches('.').trim_end().to_owned()
}

/// The request URI for a dialled number: a SIP URI as given, `user@host` with the scheme
/// added, anything else as a user in the account's domain.
fn target(number: &str, domain: &str) -> String {
    let number = number.trim();
    if number.starts_with("sip:") || number.starts_with("sips:") {
        number.to_owned()
    } else if number.contains('@') {
        format!("sip:{number}")
    } else {
        let user: String = number.chars().filter(|c| !matches!(c, ' ' | '-' | '(' | ')')).collect();
        format!("sip:{user}@{domain}")
    }
}

#[cfg(test)]
mod tests {
    use std::collections::VecDeque;

    use std::net::SocketAddr;
    use std::time::Instant;

    use call::{AudioNews, AudioRole, AudioTrouble, CallInput, SipAction, SipEvent};
    use media::quality::QualityEstimate;
    use sip::invite::{CallHandle, ReferPolicy, SessionTimerConfig};
    use sip::msg::{Limits, NameAddr, Uri};
    use sip::sdp::{Codec, MediaConfig};
    use sip::transaction::TimerConfig;
    use sip::ua::{DialogEvent, UaConfig, UserAgent};
    use tokio::sync::mpsc;

    use super::{Dialer, target};
    use crate::audio::devices::{DeviceEvent, Role};
    use crate::sip_link::{LinkCommand, LinkEvent};

    fn dialer() -> (Dialer, mpsc::Receiver<LinkCommand>) {
        let (commands, sent) = mpsc::channel(4);
        let dialer = Dialer {
            commands,
            domain: "pbx.local".into(),
            dials: VecDeque::new(),
        };
        (dialer, sent)
    }

    /// A handle as the link would report it: a call placed by a user agent (no I/O happens).
    fn handle() -> CallHandle {
        handles(1)[0]
    }

    /// `count` distinct handles of one user agent.
    fn handles(count: usize) -> Vec<CallHandle> {
        let loopback = SocketAddr::from(([127, 0, 0, 1], 5060));
        let mut ua = UserAgent::new(UaConfig {
            local: loopback,
            proxy: loopback,
            domain: "pbx.local".into(),
            user: "101".into(),
            display_name: None,
            password: String::new(),
            register_expires: 300,
            media: MediaConfig {
                address: "127.0.0.1".into(),
                port: 4000,
                codecs: vec![Codec::Pcmu],
                telephone_event: true,
                ptime: 20,
            },
            timers: TimerConfig::default(),
            limits: Limits::default(),
            user_agent: "softphone-unit-test".into(),
            seed: 1,
            refer_policy: ReferPolicy::Reject,
            session_timer: SessionTimerConfig::default(),
        })
        .unwrap();
        (0..count)
            .map(|_| {
                ua.call(Instant::now(), &Uri::parse("sip:102@pbx.local").unwrap())
                    .unwrap()
            })
            .collect()
    }

    #[test]
    fn being_transferred_or_replaced_reaches_the_model_with_the_new_party() {
        let (mut dialer, _sent) = dialer();
        let calls = handles(2);
        let (old, new) = (calls[0], calls[1]);
        let referred = LinkEvent::Dialog(DialogEvent::Referred {
            call: old,
            target: Uri::parse("sip:104@pbx.local").unwrap(),
            referred_by: None,
            new_call: Some(new),
        });
        assert_eq!(
            dialer.input(referred),
            Some(CallInput::Sip(SipEvent::Referred {
                dialog: new,
                number: "104".into()
            }))
        );
        let refused = LinkEvent::Dialog(DialogEvent::Referred {
            call: old,
            target: Uri::parse("sip:104@pbx.local").unwrap(),
            referred_by: None,
            new_call: None,
        });
        assert_eq!(dialer.input(refused), None, "a refused REFER changes nothing");

        let mut from = NameAddr::new(Uri::parse("sip:105@pbx.local").unwrap());
        from.display = Some("Борис".into());
        let replaced = LinkEvent::Dialog(DialogEvent::Replaced {
            call: new,
            replaced: old,
            from,
        });
        assert_eq!(
            dialer.input(replaced),
            Some(CallInput::Sip(SipEvent::Replaced {
                replaced: old,
                dialog: new,
                number: Some("105".into()),
                name: Some("Борис".into()),
            }))
        );
    }

    #[test]
    fn the_models_mute_reaches_the_link_and_the_links_quality_reaches_the_model() {
        let (mut dialer, mut sent) = dialer();
        let call = handle();
        assert!(
            dialer
                .act(SipAction::Mute {
                    dialog: call,
                    muted: true
                })
                .is_none()
        );
        assert_eq!(sent.try_recv().ok(), Some(LinkCommand::Mute { call, muted: true }));
        let estimate = QualityEstimate {
            r_factor: 90.0,
            mos: 4.3,
        };
        assert_eq!(
            dialer.input(LinkEvent::Quality { call, estimate }),
            Some(CallInput::Quality { dialog: call, estimate })
        );
    }

    #[test]
    fn device_trouble_reaches_the_model_on_its_call_with_the_role_in_the_operators_terms() {
        let (mut dialer, _sent) = dialer();
        let call = handle();
        let unplugged = LinkEvent::Device {
            call,
            event: DeviceEvent::FellBack {
                role: Role::Speaker,
                lost: "Jabra Evolve 40".into(),
                using: "Built-in Audio".into(),
            },
        };
        assert_eq!(
            dialer.input(unplugged),
            Some(CallInput::Audio {
                dialog: call,
                news: AudioNews::Trouble(AudioTrouble::FellBack {
                    role: AudioRole::Headset,
                    lost: "Jabra Evolve 40".into(),
                    using: "Built-in Audio".into(),
                }),
            })
        );
        let missing = LinkEvent::Device {
            call,
            event: DeviceEvent::PreferredUnavailable {
                role: Role::Microphone,
                preferred: "USB mic".into(),
                using: "Built-in Audio".into(),
            },
        };
        assert_eq!(
            dialer.input(missing),
            Some(CallInput::Audio {
                dialog: call,
                news: AudioNews::Trouble(AudioTrouble::PreferredUnavailable {
                    role: AudioRole::Microphone,
                    preferred: "USB mic".into(),
                    using: "Built-in Audio".into(),
                }),
            })
        );
        let back = LinkEvent::Device {
            call,
            event: DeviceEvent::Restored {
                role: Role::Speaker,
                using: "Jabra Evolve 40".into(),
            },
        };
        assert_eq!(
            dialer.input(back),
            Some(CallInput::Audio {
                dialog: call,
                news: AudioNews::Restored(AudioRole::Headset),
            })
        );
        let none = LinkEvent::Device {
            call,
            event: DeviceEvent::NoDevice {
                role: Role::Ringer,
                reason: "no sink".into(),
            },
        };
        assert_eq!(
            dialer.input(none),
            Some(CallInput::Audio {
                dialog: call,
                news: AudioNews::Trouble(AudioTrouble::NoDevice {
                    role: AudioRole::Ringer,
                    reason: "no sink".into(),
                }),
            })
        );
        // The sound system's own full stop is dropped: the sentence ends with one.
        let failed = LinkEvent::DevicesFailed {
            call,
            error: "no sound card. ".into(),
        };
        assert_eq!(
            dialer.input(failed),
            Some(CallInput::Audio {
                dialog: call,
                news: AudioNews::Trouble(AudioTrouble::Failed {
                    reason: "no sound card".into()
                }),
            })
        );
    }

    #[test]
    fn dialled_numbers_become_request_uris_in_the_account_domain() {
        assert_eq!(target("102", "pbx.local"), "sip:102@pbx.local");
        assert_eq!(target("+7 (495) 123-45-67", "pbx.local"), "sip:+74951234567@pbx.local");
        assert_eq!(target("alice@example.com", "pbx.local"), "sip:alice@example.com");
        assert_eq!(target("sip:200@10.0.0.1:5080", "pbx.local"), "sip:200@10.0.0.1:5080");
    }
}
