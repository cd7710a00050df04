//! DTMF tones go on the softphone's audio stream of the current call.

mod support;

use call::{Action, Effect, SipEvent, UiCommand};
use oktell::line::PhoneState;
use support::*;

#[test]
fn tones_are_sent_on_the_current_softphone_call() {
    let mut h = Harness::connected();
    let caller = party("88005553535", "C2");
    h.line(line(PhoneState::Ring, caller.clone()));
    h.invite(7, "88005553535");
    assert!(!h.allows(Action::Dtmf), "not while ringing");
    h.ui(UiCommand::Answer);
    h.sip(SipEvent::Established { dialog: 7 });
    assert!(h.allows(Action::Dtmf));
    let fx = h.ui(UiCommand::Dtmf {
        digits: " 12#a ".into(),
    });
    assert!(has(
        &fx,
        &Effect::Dtmf {
            dialog: 7,
            digits: "12#A".into()
        }
    ));
    let fx = h.ui(UiCommand::Dtmf { digits: "9x".into() });
    assert_eq!(
        rejection(&fx).as_deref(),
        Some("Only the digits 0-9, *, # and A-D can be sent as tones.")
    );
}

#[test]
fn a_desk_phone_call_cannot_send_tones_from_the_panel() {
    let mut h = Harness::connected();
    let since = h.now;
    h.line(talking(party("88005553535", "C2"), since));
    assert!(!h.allows(Action::Dtmf));
    let fx = h.ui(UiCommand::Dtmf { digits: "1".into() });
    assert_eq!(
        rejection(&fx).as_deref(),
        Some("Tones can be sent only in a call on this softphone.")
    );
}
