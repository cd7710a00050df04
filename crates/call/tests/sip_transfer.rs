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
