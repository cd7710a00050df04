//! The softphone with a plain SIP server and no Oktell: a call is its dialog, hold is a
//! re-INVITE, and PBX features are refused with a reason (transfers by REFER are in
//! `sip_transfer.rs`).

mod support;

use call::history::Outcome;
use call::{Action, Effect, SipAction, SipEvent, UiCommand};
use sip::invite::EndReason;
use support::*;

fn talking(h: &mut Harness, dialog: u32) {
    h.invite(dialog, "102");
    let fx = h.ui(UiCommand::Answer);
    assert_eq!(sip_actions(&fx), vec![SipAction::Answer { dialog }]);
    h.sip(SipEvent::Established { dialog });
}

#[test]
fn hold_and_resume_by_re_invite() {
    let mut h = Harness::sip_only();
    talking(&mut h, 1);
    assert_eq!(h.view().call.as_ref().map(|c| c.state), Some("talking"));
    let fx = h.ui(UiCommand::Hold);
    assert_eq!(sip_actions(&fx), vec![SipAction::Hold { dialog: 1 }]);
    assert!(!h.allows(Action::Hold), "a re-INVITE is in flight");
    h.sip(SipEvent::MediaUpdated {
        dialog: 1,
        held_by_us: true,
        held_by_remote: false,
    });
    assert_eq!(h.view().held.len(), 1);
    assert!(h.allows(Action::Resume));
    let fx = h.ui(UiCommand::Resume);
    assert_eq!(sip_actions(&fx), vec![SipAction::Resume { dialog: 1 }]);
    h.sip(SipEvent::MediaUpdated {
        dialog: 1,
        held_by_us: false,
        held_by_remote: false,
    });
    assert_eq!(h.view().call.as_ref().map(|c| c.state), Some("talking"));
    let fx = h.ui(UiCommand::Hangup);
    assert_eq!(sip_actions(&fx), vec![SipAction::Hangup { dialog: 1 }]);
    h.sip(SipEvent::Ended {
        dialog: 1,
        reason: EndReason::Local,
    });
    assert_eq!(h.view().history[0].outcome, Outcome::Answered);
}

#[test]
fn refused_hold_keeps_the_call_talking_and_says_why() {
    let mut h = Harness::sip_only();
    talking(&mut h, 1);
    h.ui(UiCommand::Hold);
    h.sip(SipEvent::ModifyFailed { dialog: 1, status: 488 });
    let view = h.view();
    assert_eq!(view.call.as_ref().map(|c| c.state), Some("talking"));
    assert_eq!(
        view.notice.as_deref(),
        Some("The other side refused to hold the call (SIP 488).")
    );
    assert!(h.allows(Action::Hold), "hold can be tried again");
}

#[test]
fn pbx_features_are_refused_with_a_reason() {
    let mut h = Harness::sip_only();
    talking(&mut h, 1);
    for action in [Action::ConferenceStart, Action::SetStatus] {
        assert!(!h.allows(action), "{action:?}");
    }
    let fx = h.ui(UiCommand::ConferenceStart);
    assert_eq!(
        rejection(&fx).as_deref(),
        Some("A conference needs the Oktell PBX; the SIP phone alone cannot do it.")
    );
    assert!(sip_actions(&fx).is_empty());
}

#[test]
fn consultation_holds_the_first_call_and_dials_the_second() {
    let mut h = Harness::sip_only();
    talking(&mut h, 1);
    let fx = h.ui(UiCommand::Consult { number: "103".into() });
    let actions = sip_actions(&fx);
    assert_eq!(actions.first(), Some(&SipAction::Hold { dialog: 1 }));
    let Some(SipAction::Dial { call, number }) = actions.get(1).cloned() else {
        panic!("a dial after the hold: {actions:?}");
    };
    assert_eq!(number, "103");
    h.sip(SipEvent::MediaUpdated {
        dialog: 1,
        held_by_us: true,
        held_by_remote: false,
    });
    h.sip(SipEvent::Dialling { call, dialog: 2 });
    h.sip(SipEvent::Progress { dialog: 2 });
    assert_eq!(h.view().call.as_ref().map(|c| c.state), Some("dialling"));
    h.sip(SipEvent::Established { dialog: 2 });
    assert_eq!(h.view().call.as_ref().map(|c| c.state), Some("talking"));
    assert_eq!(h.view().held.len(), 1);

    let fx = h.ui(UiCommand::Swap);
    assert_eq!(
        sip_actions(&fx),
        vec![SipAction::Hold { dialog: 2 }, SipAction::Resume { dialog: 1 }]
    );
}

#[test]
fn a_refused_outgoing_call_says_why() {
    let mut h = Harness::sip_only();
    let fx = h.ui(UiCommand::Dial { number: "105".into() });
    let Some(SipAction::Dial { call, .. }) = sip_actions(&fx).first().cloned() else {
        panic!("a dial: {fx:?}");
    };
    h.sip(SipEvent::Dialling { call, dialog: 9 });
    let fx = h.sip(SipEvent::Ended {
        dialog: 9,
        reason: EndReason::Rejected {
            status: 486,
            reason: "Busy Here".into(),
        },
    });
    assert!(fx.iter().any(|e| matches!(e, Effect::View(_))));
    let view = h.view();
    assert_eq!(
        view.notice.as_deref(),
        Some("The call was not accepted: 486 Busy Here.")
    );
    assert_eq!(view.history[0].outcome, Outcome::NotConnected);
}

#[test]
fn dialling_needs_a_registered_softphone() {
    let mut h = Harness::sip_only();
    h.sip(SipEvent::Unregistered);
    let fx = h.ui(UiCommand::Dial { number: "105".into() });
    assert_eq!(
        rejection(&fx).as_deref(),
        Some("No phone is available: the softphone is not registered and Oktell is not connected.")
    );
    assert_eq!(h.view().tray, call::view::TrayState::Offline);
}

#[test]
fn remote_hold_and_audio_quality_show_on_the_call() {
    let mut h = Harness::sip_only();
    talking(&mut h, 1);
    h.sip(SipEvent::MediaUpdated {
        dialog: 1,
        held_by_us: false,
        held_by_remote: true,
    });
    let view = h.view();
    let current = view.call.as_ref().expect("still the current call");
    assert_eq!(current.state, "talking", "our side did not hold");
    assert!(current.held_by_remote);
    h.handle(call::CallInput::Quality {
        dialog: 1,
        estimate: media::quality::QualityEstimate {
            r_factor: 80.0,
            mos: 4.03,
        },
    });
    assert_eq!(h.view().call.as_ref().and_then(|c| c.quality_mos_tenths), Some(40));
}

/// Call waiting: a second caller rings during a conversation. The popup offers Hold for the conversation, and
/// answering the waiting call holds the first one before it answers, so the operator never talks to two callers.
#[test]
fn answering_a_waiting_call_holds_the_conversation_first() {
    let mut h = Harness::sip_only();
    talking(&mut h, 1);
    h.invite(2, "103");
    let view = h.view();
    assert_eq!(view.popup.as_ref().and_then(|c| c.party.number.as_deref()), Some("103"));
    assert_eq!(view.call.as_ref().and_then(|c| c.party.number.as_deref()), Some("102"));
    assert!(h.allows(Action::Hold), "the conversation can be held from the popup");
    assert!(h.allows(Action::Answer));

    let fx = h.ui(UiCommand::Answer);
    assert_eq!(
        sip_actions(&fx),
        vec![SipAction::Hold { dialog: 1 }, SipAction::Answer { dialog: 2 }]
    );
    h.sip(SipEvent::MediaUpdated {
        dialog: 1,
        held_by_us: true,
        held_by_remote: false,
    });
    h.sip(SipEvent::Established { dialog: 2 });
    let view = h.view();
    assert_eq!(view.call.as_ref().and_then(|c| c.party.number.as_deref()), Some("103"));
    assert_eq!(view.held.len(), 1, "{:?}", view.held);
    assert!(view.popup.is_none(), "the answered call no longer rings");
    assert!(h.allows(Action::Swap));
}

#[test]
fn a_waiting_call_held_by_hand_is_then_answered_alone() {
    let mut h = Harness::sip_only();
    talking(&mut h, 1);
    h.invite(2, "103");
    assert_eq!(sip_actions(&h.ui(UiCommand::Hold)), vec![SipAction::Hold { dialog: 1 }]);
    h.sip(SipEvent::MediaUpdated {
        dialog: 1,
        held_by_us: true,
        held_by_remote: false,
    });
    let fx = h.ui(UiCommand::Answer);
    assert_eq!(
        sip_actions(&fx),
        vec![SipAction::Answer { dialog: 2 }],
        "nothing left to hold"
    );
}

#[test]
fn with_one_caller_on_hold_and_one_talking_a_third_cannot_be_answered_yet() {
    let mut h = Harness::sip_only();
    talking(&mut h, 1);
    h.invite(2, "103");
    h.ui(UiCommand::Answer);
    h.sip(SipEvent::MediaUpdated {
        dialog: 1,
        held_by_us: true,
        held_by_remote: false,
    });
    h.sip(SipEvent::Established { dialog: 2 });
    h.invite(3, "104");
    assert!(!h.allows(Action::Answer));
    let fx = h.ui(UiCommand::Answer);
    assert!(sip_actions(&fx).is_empty(), "{fx:?}");
    assert!(rejection(&fx).is_some());
    assert!(h.allows(Action::Decline), "the third caller can still be declined");
}
