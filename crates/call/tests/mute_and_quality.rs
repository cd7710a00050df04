//! The softphone's microphone mute and the quality line: mute is possible only while a SIP
//! call is up, toggles with one command, reaches the link as an action and shows in the view;
//! the link's quality estimates become the call's MOS.

mod support;

use call::{Action, CallInput, SipAction, SipEvent, UiCommand};
use media::quality::QualityEstimate;
use support::*;

fn talking(h: &mut Harness, dialog: u32) {
    h.invite(dialog, "102");
    h.ui(UiCommand::Answer);
    h.sip(SipEvent::Established { dialog });
}

fn muted(h: &Harness) -> Option<bool> {
    h.view().call.as_ref().map(|c| c.muted)
}

#[test]
fn mute_toggles_the_microphone_of_the_talking_dialog() {
    let mut h = Harness::sip_only();
    talking(&mut h, 7);
    assert!(h.allows(Action::ToggleMute));
    assert_eq!(muted(&h), Some(false));
    let fx = h.ui(UiCommand::ToggleMute);
    assert_eq!(sip_actions(&fx), vec![SipAction::Mute { dialog: 7, muted: true }]);
    assert_eq!(muted(&h), Some(true));
    assert_eq!(to_json(&h.view().call)["muted"], true);
    let fx = h.ui(UiCommand::ToggleMute);
    assert_eq!(
        sip_actions(&fx),
        vec![SipAction::Mute {
            dialog: 7,
            muted: false
        }]
    );
    assert_eq!(muted(&h), Some(false));
}

#[test]
fn mute_is_refused_without_a_sip_call_up() {
    let mut h = Harness::sip_only();
    assert!(!h.allows(Action::ToggleMute), "no call");
    let fx = h.ui(UiCommand::ToggleMute);
    assert!(sip_actions(&fx).is_empty());
    assert!(rejection(&fx).is_some());
    h.invite(3, "102");
    assert!(!h.allows(Action::ToggleMute), "still ringing");
    h.ui(UiCommand::Answer);
    assert!(!h.allows(Action::ToggleMute), "the 200 OK is not acknowledged yet");
    h.sip(SipEvent::Established { dialog: 3 });
    assert!(h.allows(Action::ToggleMute));
}

#[test]
fn an_oktell_call_without_the_softphone_cannot_be_muted() {
    let mut h = Harness::connected();
    h.line(talking_line());
    assert!(!h.allows(Action::ToggleMute));
}

fn talking_line() -> oktell::line::LineView {
    support::talking(party("102", "chain-1"), std::time::Instant::now())
}

#[test]
fn quality_estimates_show_as_the_calls_mos() {
    let mut h = Harness::sip_only();
    talking(&mut h, 5);
    assert_eq!(h.view().call.as_ref().and_then(|c| c.quality_mos_tenths), None);
    h.handle(CallInput::Quality {
        dialog: 5,
        estimate: QualityEstimate {
            r_factor: 88.0,
            mos: 4.26,
        },
    });
    assert_eq!(h.view().call.as_ref().and_then(|c| c.quality_mos_tenths), Some(43));
}
