//! The softphone or the Oktell session stops (or never starts): the header says so in words, and the calls
//! it carried lose their softphone leg.

mod support;

use call::{Action, Key, SipEvent, UiCommand};
use oktell::line::PhoneState;
use support::*;

#[test]
fn a_softphone_that_cannot_start_is_down_with_its_reason() {
    let mut h = Harness::connected();
    h.sip(SipEvent::Stopped {
        reason: "cannot bind signalling socket on 127.0.0.1:5060: address in use".into(),
    });
    let health = &h.view().health.sip;
    assert_eq!(health.state, "down");
    assert_eq!(
        health.message.as_deref(),
        Some("The softphone is not running: cannot bind signalling socket on 127.0.0.1:5060: address in use.")
    );
    let said = health.sentence.clone().expect("a health sentence");
    assert_eq!(said.key, Key::SipNotRunning);
    assert_eq!(
        params_json(&said),
        serde_json::json!({"reason": "cannot bind signalling socket on 127.0.0.1:5060: address in use"}),
        "the OS's words stay a parameter, untranslated"
    );
}

#[test]
fn a_failed_registration_says_when_it_retries() {
    let mut h = Harness::connected();
    h.sip(SipEvent::RegistrationFailed {
        reason: "401 Unauthorized".into(),
        retry_in: std::time::Duration::from_millis(200),
    });
    let said = h.view().health.sip.sentence.clone().expect("a health sentence");
    assert_eq!(said.key, Key::SipRegistrationFailed);
    assert_eq!(
        params_json(&said),
        serde_json::json!({"reason": "401 Unauthorized", "retry_secs": 1})
    );
    h.sip(SipEvent::Registered);
    assert_eq!(h.view().health.sip.sentence, None, "nothing to say once registered");
}

#[test]
fn a_sip_only_call_ends_when_the_softphone_stops() {
    let mut h = Harness::sip_only();
    h.invite(4, "102");
    h.ui(UiCommand::Answer);
    h.sip(SipEvent::Established { dialog: 4 });
    assert_eq!(h.view().call.as_ref().map(|c| c.state), Some("talking"));

    h.sip(SipEvent::Stopped {
        reason: "the SIP driver stopped".into(),
    });
    let view = h.view();
    assert!(view.call.is_none(), "the dialog was the call: {:?}", view.call);
    assert_eq!(view.history.len(), 1);
    assert!(!h.allows(Action::Hangup));
}

#[test]
fn an_oktell_call_keeps_its_party_but_loses_the_softphone_leg() {
    let mut h = Harness::connected();
    let caller = party("89161234567", "C9");
    h.line(line(PhoneState::Ring, caller.clone()));
    h.invite(9, "89161234567");
    h.ui(UiCommand::Answer);
    h.sip(SipEvent::Established { dialog: 9 });
    let since = h.now;
    h.line(talking(caller, since));
    assert!(h.view().call.as_ref().is_some_and(|c| c.via_softphone));

    h.sip(SipEvent::Stopped {
        reason: "the SIP driver stopped".into(),
    });
    let call = h.view().call.clone().expect("Oktell still reports the talk");
    assert_eq!(call.state, "talking");
    assert!(!call.via_softphone);
    assert!(call.via_oktell);
    assert!(h.allows(Action::Hangup), "the PBX can still end it");
}

#[test]
fn an_oktell_session_that_cannot_start_is_down_with_its_sentence() {
    let mut h = Harness::new(config());
    assert_eq!(h.view().health.oktell.state, "connecting");
    h.handle(call::CallInput::OktellUnavailable(
        "No Oktell password is saved for op1; save it with `oktell-panel secret set oktell`.".into(),
    ));
    let health = &h.view().health.oktell;
    assert_eq!(health.state, "down");
    assert_eq!(
        health.message.as_deref(),
        Some("No Oktell password is saved for op1; save it with `oktell-panel secret set oktell`.")
    );
    let said = health.sentence.clone().expect("a health sentence");
    assert_eq!(said.key, Key::OktellUnavailable);
    assert_eq!(
        params_json(&said),
        serde_json::json!({"reason": "No Oktell password is saved for op1; save it with `oktell-panel secret set oktell`."})
    );
    assert!(!h.allows(Action::Dial), "nothing can dial: {:?}", h.view().actions);
}
