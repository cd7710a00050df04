//! The softphone's registration lapses and comes back during a call: the call is untouched.

mod support;

use std::time::Duration;

use call::{SipEvent, UiCommand};
use oktell::line::PhoneState;
use support::*;

#[test]
fn registration_failure_during_a_call_only_shows_in_health() {
    let mut h = Harness::connected();
    let caller = party("89161234567", "C2");
    h.line(line(PhoneState::Ring, caller.clone()));
    h.invite(7, "89161234567");
    h.ui(UiCommand::Answer);
    h.sip(SipEvent::Established { dialog: 7 });
    let since = h.now;
    h.line(talking(caller, since));
    let before = h.view().clone();

    h.advance(1_000);
    h.sip(SipEvent::RegistrationFailed {
        reason: "no response from the registrar".into(),
        retry_in: Duration::from_secs(30),
    });
    let view = h.view().clone();
    assert_eq!(view.call.as_ref().map(|c| c.id), before.call.as_ref().map(|c| c.id));
    assert_eq!(view.call.as_ref().map(|c| c.state), Some("talking"));
    assert!(view.call.as_ref().is_some_and(|c| c.via_softphone));
    assert_eq!(
        view.actions, before.actions,
        "call control does not depend on the binding"
    );
    assert_eq!(view.health.sip.state, "down");
    assert_eq!(
        view.health.sip.message.as_deref(),
        Some("The softphone could not register (no response from the registrar); retrying in 30 s.")
    );

    h.sip(SipEvent::Registered);
    assert_eq!(h.view().health.sip.state, "ok");
    assert!(h.view().call.is_some());
}

#[test]
fn sip_only_call_survives_a_lost_binding() {
    let mut h = Harness::sip_only();
    h.invite(3, "102");
    h.ui(UiCommand::Answer);
    h.sip(SipEvent::Established { dialog: 3 });
    h.sip(SipEvent::Unregistered);
    assert_eq!(h.view().call.as_ref().map(|c| c.state), Some("talking"));
    assert!(h.allows(call::Action::Hold), "hold is a re-INVITE in the dialog");
}
