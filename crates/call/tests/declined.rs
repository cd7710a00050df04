//! The operator refuses a ringing call.

mod support;

use call::history::Outcome;
use call::{Action, SipAction, SipEvent, UiCommand};
use oktell::line::PhoneState;
use sip::invite::EndReason;
use support::*;

#[test]
fn decline_goes_through_oktell_and_is_recorded_as_declined() {
    let mut h = Harness::connected();
    h.line(line(PhoneState::Ring, party("89161234567", "C5")));
    h.invite(2, "89161234567");
    let fx = h.ui(UiCommand::Decline);
    assert_eq!(oktell_commands(&fx), vec![oktell::Command::Decline]);
    assert!(sip_actions(&fx).is_empty(), "the PBX cancels the INVITE itself");
    h.line(idle());
    h.sip(SipEvent::Ended {
        dialog: 2,
        reason: EndReason::CancelledByRemote,
    });
    let view = h.view();
    assert_eq!(view.history[0].outcome, Outcome::Declined);
    assert_eq!(view.missed_unseen, 0, "a declined call is not a missed one");
}

#[test]
fn decline_without_oktell_rejects_the_invite_busy_here() {
    let mut h = Harness::sip_only();
    h.invite(4, "102");
    let fx = h.ui(UiCommand::Decline);
    assert_eq!(sip_actions(&fx), vec![SipAction::Reject { dialog: 4, status: 486 }]);
    h.sip(SipEvent::Ended {
        dialog: 4,
        reason: EndReason::Local,
    });
    assert_eq!(h.view().history[0].outcome, Outcome::Declined);
}

#[test]
fn a_call_that_only_rings_is_declined_not_hung_up() {
    let mut h = Harness::sip_only();
    h.invite(4, "102");
    assert!(h.allows(Action::Decline));
    assert!(
        !h.allows(Action::Hangup),
        "Hang up beside Decline on a ringing call says the same thing twice"
    );
    let fx = h.ui(UiCommand::Hangup);
    assert!(sip_actions(&fx).is_empty(), "a refused hang-up still reached the phone");
    assert_eq!(
        rejection(&fx).as_deref(),
        Some("The call is still ringing: answer or decline it.")
    );

    h.ui(UiCommand::Answer);
    h.sip(SipEvent::Established { dialog: 4 });
    assert!(h.allows(Action::Hangup), "an answered call is hung up");
}
