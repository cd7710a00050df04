//! An incoming call reported by Oktell (ring) and by the softphone (INVITE) is one call;
//! answering it answers the SIP leg locally.

mod support;

use call::history::Outcome;
use call::{Action, Effect, SipAction, SipEvent, UiCommand};
use oktell::line::PhoneState;
use sip::invite::EndReason;
use support::*;

#[test]
fn oktell_ring_and_sip_invite_are_one_call_answered_on_the_softphone() {
    let mut h = Harness::connected();
    let caller = party("89161234567", "C2");
    let fx = h.line(line(PhoneState::Ring, caller.clone()));
    assert!(has(&fx, &Effect::ShowPopup));
    assert!(h.allows(Action::Answer));
    h.advance(60);
    let fx = h.invite(7, "+79161234567");
    assert!(has(&fx, &Effect::StartRingtone), "the softphone rings: {fx:?}");
    let view = h.view();
    let call = view.call.as_ref().expect("one current call");
    assert_eq!(call.state, "ringing");
    assert!(call.via_oktell && call.via_softphone, "both halves merged: {call:?}");
    assert!(view.held.is_empty());
    assert_eq!(view.tray, call::view::TrayState::Ringing);

    let fx = h.ui(UiCommand::Answer);
    assert_eq!(sip_actions(&fx), vec![SipAction::Answer { dialog: 7 }]);
    assert!(oktell_commands(&fx).is_empty(), "no pbxanswercall with a local phone");
    assert!(has(&fx, &Effect::StopRingtone), "the ringtone stops with the 200 OK");
    h.advance(40);
    let fx = h.sip(SipEvent::Established { dialog: 7 });
    assert!(has(&fx, &Effect::HidePopup));
    assert_eq!(h.view().call.as_ref().map(|c| c.state), Some("talking"));

    h.advance(100);
    let since = h.now;
    h.line(talking(caller, since));
    let id = h.view().call.as_ref().map(|c| c.id);
    h.advance(30_000);
    h.tick();
    let call = h.view().call.clone().expect("still talking");
    assert_eq!(Some(call.id), id, "the Oktell talk report is the same call");
    assert_eq!(call.talk_secs, 30);

    let fx = h.ui(UiCommand::Hangup);
    assert_eq!(oktell_commands(&fx), vec![oktell::Command::Hangup]);
    h.line(idle());
    assert!(h.view().call.is_some(), "the softphone leg is up until its BYE");
    h.sip(SipEvent::Ended {
        dialog: 7,
        reason: EndReason::RemoteHangup,
    });
    let view = h.view();
    assert!(view.call.is_none());
    assert_eq!(view.history.len(), 1);
    assert_eq!(view.history[0].outcome, Outcome::Answered);
    assert_eq!(view.history[0].talk_secs, 30);
    assert_eq!(view.missed_unseen, 0);
}

#[test]
fn the_invite_may_arrive_before_the_oktell_ring() {
    let mut h = Harness::connected();
    h.invite(3, "89161234567");
    h.advance(200);
    h.line(line(PhoneState::Ring, party("89161234567", "C9")));
    let view = h.view();
    assert!(view.held.is_empty());
    let call = view.call.as_ref().expect("one call");
    assert!(call.via_oktell && call.via_softphone);
    let ids: Vec<_> = view.call.iter().map(|c| c.id).collect();
    assert_eq!(ids.len(), 1);
}

#[test]
fn a_different_caller_ringing_the_softphone_is_a_separate_call() {
    let mut h = Harness::connected();
    h.line(line(PhoneState::Ring, party("89161234567", "C2")));
    h.invite(4, "102");
    let view = h.view();
    let current = view.call.as_ref().expect("the Oktell call");
    assert!(current.via_oktell && !current.via_softphone, "not merged: {current:?}");
}

#[test]
fn without_a_registered_softphone_answer_uses_pbxanswercall() {
    let mut h = Harness::connected();
    h.sip(SipEvent::Unregistered);
    h.line(line(PhoneState::Ring, party("89161234567", "C2")));
    let fx = h.ui(UiCommand::Answer);
    assert_eq!(oktell_commands(&fx), vec![oktell::Command::Answer]);
    assert!(sip_actions(&fx).is_empty());
}

#[test]
fn answer_before_the_invite_arrives_answers_it_on_arrival() {
    let mut h = Harness::connected();
    h.line(line(PhoneState::Ring, party("89161234567", "C2")));
    let fx = h.ui(UiCommand::Answer);
    assert!(oktell_commands(&fx).is_empty() && sip_actions(&fx).is_empty());
    assert!(!h.allows(Action::Answer), "already being answered");
    h.advance(300);
    let fx = h.invite(5, "89161234567");
    assert_eq!(sip_actions(&fx), vec![SipAction::Answer { dialog: 5 }]);
    assert!(!has(&fx, &Effect::StartRingtone), "answered at once, never rings");
}

#[test]
fn answer_falls_back_to_the_pbx_when_no_invite_comes() {
    let mut h = Harness::connected();
    h.line(line(PhoneState::Ring, party("89161234567", "C2")));
    h.ui(UiCommand::Answer);
    h.advance(4_000);
    let fx = h.tick();
    assert!(oktell_commands(&fx).is_empty(), "still inside the window");
    h.advance(1_000);
    let fx = h.tick();
    assert_eq!(oktell_commands(&fx), vec![oktell::Command::Answer]);
    h.advance(1_000);
    let fx = h.tick();
    assert!(oktell_commands(&fx).is_empty(), "asked once");
}
