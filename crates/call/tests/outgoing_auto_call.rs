//! An outgoing Oktell auto-call rings the operator's phone first; that ring-back is
//! answered without asking.

mod support;

use call::history::Outcome;
use call::{Action, CallConfig, Effect, SipAction, SipEvent, UiCommand};
use oktell::line::PhoneState;
use oktell::msg::request::Sequence;
use support::*;

#[test]
fn ring_back_after_the_oktell_report_is_auto_answered() {
    let mut h = Harness::connected();
    let fx = h.ui(UiCommand::Dial {
        number: "84951234567".into(),
    });
    assert_eq!(
        oktell_commands(&fx),
        vec![oktell::Command::Call {
            number: "84951234567".into(),
            sequence: Sequence::User,
        }]
    );
    h.advance(10);
    let target = party("84951234567", "C1");
    let fx = h.line(line(PhoneState::BackRing, target.clone()));
    assert!(!has(&fx, &Effect::ShowPopup), "our own call does not pop up");
    assert_eq!(h.view().call.as_ref().map(|c| c.state), Some("ring_back"));
    h.advance(50);
    // The PBX rings the softphone from its own identity.
    let fx = h.invite(11, "900");
    assert_eq!(sip_actions(&fx), vec![SipAction::Answer { dialog: 11 }]);
    assert!(!has(&fx, &Effect::StartRingtone));
    h.sip(SipEvent::Established { dialog: 11 });
    assert_eq!(h.view().call.as_ref().map(|c| c.state), Some("dialling"));
    h.line(line(PhoneState::BackCall, target.clone()));
    h.advance(1500);
    let since = h.now;
    h.line(talking(target, since));
    let view = h.view();
    let current = view.call.as_ref().expect("talking");
    assert_eq!(current.state, "talking");
    assert_eq!(current.direction, call::view::CallDirection::Outgoing);
    assert!(current.via_oktell && current.via_softphone);
    assert!(h.allows(Action::Hold) && h.allows(Action::Transfer));
}

#[test]
fn ring_back_before_the_oktell_report_is_auto_answered_too() {
    let mut h = Harness::connected();
    h.ui(UiCommand::Dial { number: "102".into() });
    h.advance(20);
    let fx = h.invite(12, "900");
    assert_eq!(sip_actions(&fx), vec![SipAction::Answer { dialog: 12 }]);
    assert_eq!(h.view().call.as_ref().map(|c| c.state), Some("ring_back"));
    h.advance(30);
    h.line(line(PhoneState::BackRing, party("102", "C7")));
    let view = h.view();
    let current = view.call.as_ref().expect("one call");
    assert!(current.via_oktell && current.via_softphone, "{current:?}");
    assert_eq!(current.party.number.as_deref(), Some("102"));
}

#[test]
fn ring_back_rings_when_auto_answer_is_off() {
    let mut h = Harness::new(CallConfig {
        auto_answer_ring_back: false,
        ..config()
    });
    h.oktell(oktell::Event::Connection(oktell::ConnectionState::Connected));
    h.sip(SipEvent::Registered);
    h.ui(UiCommand::Dial { number: "102".into() });
    h.line(line(PhoneState::BackRing, party("102", "C7")));
    let fx = h.invite(13, "900");
    assert!(sip_actions(&fx).is_empty());
    assert!(has(&fx, &Effect::StartRingtone), "{fx:?}");
    assert!(h.allows(Action::Answer));
    assert_eq!(h.view().popup.as_ref().map(|c| c.state), Some("ring_back"));
    let fx = h.ui(UiCommand::Answer);
    assert_eq!(sip_actions(&fx), vec![SipAction::Answer { dialog: 13 }]);
}

#[test]
fn unanswered_outgoing_call_is_not_connected_not_missed() {
    let mut h = Harness::connected();
    h.ui(UiCommand::Dial { number: "102".into() });
    h.line(line(PhoneState::Call, party("102", "C8")));
    h.advance(20_000);
    h.line(idle());
    let view = h.view();
    assert_eq!(view.history[0].outcome, Outcome::NotConnected);
    assert_eq!(view.missed_unseen, 0);
}

#[test]
fn dial_without_a_number_is_refused() {
    let mut h = Harness::connected();
    let fx = h.ui(UiCommand::Dial { number: "  ".into() });
    assert_eq!(rejection(&fx).as_deref(), Some("Enter a number to call."));
    assert!(oktell_commands(&fx).is_empty());
}
