//! The softphone's devices misbehave mid-call (a headset unplugged, no sound card): the call goes on, and the
//! call card says what happened until the device is back or the call ends.

mod support;

use call::{AudioNews, AudioRole, AudioTrouble, CallInput, Effect, Key, SipEvent, UiCommand};
use support::*;

fn talking_on(h: &mut Harness, dialog: u32, number: &str) {
    h.invite(dialog, number);
    h.ui(UiCommand::Answer);
    h.sip(SipEvent::Established { dialog });
}

fn unplugged() -> AudioNews {
    AudioNews::Trouble(AudioTrouble::FellBack {
        role: AudioRole::Headset,
        lost: "Jabra Evolve 40".into(),
        using: "Built-in Audio Analog Stereo".into(),
    })
}

fn warnings(h: &Harness) -> Vec<call::Sentence> {
    h.view()
        .call
        .as_ref()
        .map(|c| c.audio_warnings.clone())
        .unwrap_or_default()
}

#[test]
fn a_headset_unplugged_mid_call_shows_on_the_call_with_the_device_it_fell_back_to() {
    let mut h = Harness::sip_only();
    talking_on(&mut h, 4, "102");
    assert!(warnings(&h).is_empty());

    let fx = h.handle(CallInput::Audio {
        dialog: 4,
        news: unplugged(),
    });
    assert_eq!(views(&fx), 1, "the card changes");
    let shown = warnings(&h);
    assert_eq!(shown.len(), 1);
    let said = &shown[0];
    assert_eq!(said.key, Key::AudioFellBack);
    assert_eq!(
        params_json(said),
        serde_json::json!({
            "role": {"term": "audio.role.headset"},
            "lost": "Jabra Evolve 40",
            "using": "Built-in Audio Analog Stereo"
        })
    );
    assert_eq!(
        said.text,
        "Headset: Jabra Evolve 40 was disconnected; using Built-in Audio Analog Stereo."
    );
    assert_eq!(
        h.view().call.as_ref().map(|c| c.state),
        Some("talking"),
        "the call goes on"
    );
}

#[test]
fn the_device_coming_back_ends_the_warning_and_the_call_ending_clears_it() {
    let mut h = Harness::sip_only();
    talking_on(&mut h, 4, "102");
    h.handle(CallInput::Audio {
        dialog: 4,
        news: unplugged(),
    });
    h.handle(CallInput::Audio {
        dialog: 4,
        news: AudioNews::Trouble(AudioTrouble::PreferredUnavailable {
            role: AudioRole::Microphone,
            preferred: "Jabra Evolve 40 Mono".into(),
            using: "Built-in Audio".into(),
        }),
    });
    assert_eq!(
        warnings(&h).iter().map(|s| s.key).collect::<Vec<_>>(),
        [Key::AudioFellBack, Key::AudioPreferredUnavailable]
    );
    h.handle(CallInput::Audio {
        dialog: 4,
        news: AudioNews::Restored(AudioRole::Headset),
    });
    assert_eq!(
        warnings(&h).iter().map(|s| s.key).collect::<Vec<_>>(),
        [Key::AudioPreferredUnavailable]
    );

    h.ui(UiCommand::Hangup);
    h.sip(SipEvent::Ended {
        dialog: 4,
        reason: sip::invite::EndReason::Local,
    });
    assert!(h.view().call.is_none());
    talking_on(&mut h, 5, "103");
    assert!(warnings(&h).is_empty(), "the next call starts clean");
}

#[test]
fn no_sound_at_all_says_the_call_goes_on_silent_with_the_sound_systems_words() {
    let mut h = Harness::sip_only();
    talking_on(&mut h, 4, "102");
    h.handle(CallInput::Audio {
        dialog: 4,
        news: unplugged(),
    });
    h.handle(CallInput::Audio {
        dialog: 4,
        news: AudioNews::Trouble(AudioTrouble::Failed {
            reason: "no sound card".into(),
        }),
    });
    let shown = warnings(&h);
    assert_eq!(shown.len(), 1, "silence is the whole story: {shown:?}");
    assert_eq!(shown[0].key, Key::AudioFailed);
    assert_eq!(params_json(&shown[0]), serde_json::json!({"reason": "no sound card"}));
}

#[test]
fn news_about_a_dialog_the_model_does_not_know_changes_nothing() {
    let mut h = Harness::sip_only();
    talking_on(&mut h, 4, "102");
    let fx = h.handle(CallInput::Audio {
        dialog: 99,
        news: unplugged(),
    });
    assert!(!fx.iter().any(|e| matches!(e, Effect::View(_))));
    assert!(warnings(&h).is_empty());
}

#[test]
fn the_warning_stays_with_its_call_when_it_goes_on_hold() {
    let mut h = Harness::sip_only();
    talking_on(&mut h, 4, "102");
    h.handle(CallInput::Audio {
        dialog: 4,
        news: unplugged(),
    });
    h.ui(UiCommand::Hold);
    h.sip(SipEvent::MediaUpdated {
        dialog: 4,
        held_by_us: true,
        held_by_remote: false,
    });
    let view = h.view();
    assert!(view.call.is_none());
    assert_eq!(view.held.len(), 1);
    assert_eq!(view.held[0].audio_warnings.len(), 1);
}
