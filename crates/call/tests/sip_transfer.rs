//! Transfers with a plain SIP server and no Oktell: blind transfer is a REFER of the current
//! dialog, "connect" after a consultation is a REFER with Replaces of the held dialog.

mod support;

use call::history::Outcome;
use call::{Action, SipAction, SipEvent, UiCommand};
use sip::invite::EndReason;
use support::*;

fn talking(h: &mut Harness, dialog: u32) {
    h.invite(dialog, "102");
    h.ui(UiCommand::Answer);
    h.sip(SipEvent::Established { dialog });
}

#[test]
fn blind_transfer_refers_the_dialog_and_the_call_ends_when_the_target_answers() {
    let mut h = Harness::sip_only();
    assert!(!h.allows(Action::Transfer), "nothing to transfer yet");
    talking(&mut h, 1);
    assert!(h.allows(Action::Transfer));
    let fx = h.ui(UiCommand::Transfer { to: " 104 ".into() });
    assert_eq!(
        sip_actions(&fx),
        vec![SipAction::Transfer {
            dialog: 1,
            to: "104".into()
        }]
    );
    assert!(h.view().call.is_some(), "the call stays until the target answers");

    h.sip(SipEvent::Ended {
        dialog: 1,
        reason: EndReason::Transferred,
    });
    let view = h.view();
    assert!(view.call.is_none());
    assert_eq!(view.history[0].outcome, Outcome::Answered);
}

#[test]
fn a_refused_transfer_leaves_the_call_and_says_so() {
    let mut h = Harness::sip_only();
    talking(&mut h, 1);
    h.ui(UiCommand::Transfer {
        to: "sip:200@example.com".into(),
    });
    h.sip(SipEvent::TransferFailed {
        dialog: 1,
        status: Some(603),
    });
    let view = h.view();
    assert_eq!(view.call.as_ref().map(|c| c.state), Some("talking"));
    assert_eq!(
        view.notice.as_deref(),
        Some("The transfer did not go through (SIP 603); the call stays with you.")
    );
    assert!(h.allows(Action::Transfer), "it can be tried again");
}

#[test]
fn no_transfer_while_a_hold_re_invite_is_in_flight() {
    let mut h = Harness::sip_only();
    talking(&mut h, 1);
    h.ui(UiCommand::Hold);
    assert!(!h.allows(Action::Transfer));
    let fx = h.ui(UiCommand::Transfer { to: "104".into() });
    assert!(rejection(&fx).is_some());
    assert!(sip_actions(&fx).is_empty());
}

#[test]
fn connect_after_a_consultation_refers_the_held_caller_to_the_consulted_party() {
    let mut h = Harness::sip_only();
    talking(&mut h, 1);
    let fx = h.ui(UiCommand::Consult { number: "103".into() });
    let Some(SipAction::Dial { call, .. }) = sip_actions(&fx).get(1).cloned() else {
        panic!("a dial after the hold: {fx:?}");
    };
    h.sip(SipEvent::MediaUpdated {
        dialog: 1,
        held_by_us: true,
        held_by_remote: false,
    });
    h.sip(SipEvent::Dialling { call, dialog: 2 });
    assert!(!h.allows(Action::Connect), "the consulted party has not answered");
    h.sip(SipEvent::Established { dialog: 2 });
    assert!(h.allows(Action::Connect));

    let fx = h.ui(UiCommand::Connect);
    assert_eq!(sip_actions(&fx), vec![SipAction::AttendedTransfer { dialog: 1, to: 2 }]);
    for dialog in [2, 1] {
        h.sip(SipEvent::Ended {
            dialog,
            reason: EndReason::Transferred,
        });
    }
    let view = h.view();
    assert!(view.call.is_none() && view.held.is_empty());
    assert_eq!(view.history.len(), 2);
}

/// The other side transfers the operator (REFER to us): the softphone calls the target, and the panel shows
/// that call like one the operator dialled, while the transferring call ends with its own BYE.
#[test]
fn being_transferred_shows_the_new_call_to_the_target() {
    let mut h = Harness::sip_only();
    talking(&mut h, 1);
    let fx = h.sip(SipEvent::Referred {
        dialog: 5,
        number: "104".into(),
    });
    assert!(
        fx.iter().any(
            |e| matches!(e, call::Effect::Creatio(call::CreatioEffect::Identify { number, .. }) if number == "104")
        ),
        "the new party is looked up in Creatio: {fx:?}"
    );
    h.sip(SipEvent::Ended {
        dialog: 1,
        reason: EndReason::RemoteHangup,
    });
    let view = h.view();
    let call = view.call.as_ref().expect("the call to the target");
    assert_eq!(call.direction, call::view::CallDirection::Outgoing);
    assert_eq!(call.party.number.as_deref(), Some("104"));
    assert_eq!(call.state, "dialling");
    assert_eq!(
        view.history[0].outcome,
        Outcome::Answered,
        "the first call ended answered"
    );

    h.sip(SipEvent::Established { dialog: 5 });
    assert_eq!(h.view().call.as_ref().map(|c| c.state), Some("talking"));
    assert_eq!(
        sip_actions(&h.ui(UiCommand::Hangup)),
        vec![SipAction::Hangup { dialog: 5 }]
    );
}

/// An attended transfer to the operator: a new INVITE with Replaces takes over the conversation. The call goes
/// on with the party who came in, and the replaced dialog's end is not the call's end.
#[test]
fn a_call_taken_over_by_replaces_goes_on_with_the_new_party() {
    let mut h = Harness::sip_only();
    talking(&mut h, 1);
    let fx = h.sip(SipEvent::Replaced {
        replaced: 1,
        dialog: 7,
        number: Some("105".into()),
        name: Some("Борис".into()),
    });
    assert!(
        fx.iter().any(
            |e| matches!(e, call::Effect::Creatio(call::CreatioEffect::Identify { number, .. }) if number == "105")
        ),
        "{fx:?}"
    );
    h.sip(SipEvent::Ended {
        dialog: 1,
        reason: EndReason::Replaced,
    });
    let view = h.view();
    let call = view.call.as_ref().expect("the call goes on");
    assert_eq!(call.state, "talking");
    assert_eq!(call.party.number.as_deref(), Some("105"));
    assert_eq!(call.party.display, "Борис");
    assert!(view.history.is_empty(), "nothing ended: {:?}", view.history);
    assert_eq!(
        sip_actions(&h.ui(UiCommand::Hangup)),
        vec![SipAction::Hangup { dialog: 7 }]
    );
}
