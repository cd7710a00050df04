//! The Creatio card opens by itself at the configured moment: at ring, at answer, or never.

mod support;

use call::{CallConfig, CardOpen, CreatioEffect, Effect, SipEvent, UiCommand};
use creatio::identify::Identification;
use oktell::line::PhoneState;
use support::*;

fn harness(card_open: CardOpen) -> Harness {
    let mut h = Harness::new(CallConfig { card_open, ..config() });
    h.oktell(oktell::Event::Connection(oktell::ConnectionState::Connected));
    h.sip(SipEvent::Registered);
    h
}

/// Rings, identifies the caller, answers and talks; returns how many cards opened at each
/// of the three moments.
fn run(h: &mut Harness) -> (usize, usize, usize) {
    let caller = party("89161234567", "C2");
    let fx = h.line(line(PhoneState::Ring, caller.clone()));
    let at_ring = opened_cards(&fx) + opened_cards(&h.identified(&fx, Identification::One(contact("Anna"))));
    h.invite(7, "89161234567");
    let mut at_answer = opened_cards(&h.ui(UiCommand::Answer));
    at_answer += opened_cards(&h.sip(SipEvent::Established { dialog: 7 }));
    let since = h.now;
    let later = opened_cards(&h.line(talking(caller, since)));
    (at_ring, at_answer, later)
}

#[test]
fn card_opens_at_ring() {
    let mut h = harness(CardOpen::Ring);
    assert_eq!(run(&mut h), (1, 0, 0));
}

#[test]
fn card_opens_at_answer() {
    let mut h = harness(CardOpen::Answer);
    assert_eq!(run(&mut h), (0, 1, 0));
}

#[test]
fn card_never_opens_by_itself_but_on_request() {
    let mut h = harness(CardOpen::Never);
    assert_eq!(run(&mut h), (0, 0, 0));
    let fx = h.ui(UiCommand::OpenCard);
    assert!(fx.iter().any(|e| matches!(
        e,
        Effect::Creatio(CreatioEffect::OpenCard { id, .. }) if *id == contact("Anna").id
    )));
}

#[test]
fn identification_after_the_answer_opens_the_card_at_once() {
    let mut h = harness(CardOpen::Ring);
    let fx = h.line(line(PhoneState::Ring, party("89161234567", "C2")));
    h.invite(7, "89161234567");
    h.ui(UiCommand::Answer);
    h.sip(SipEvent::Established { dialog: 7 });
    let late = h.identified(&fx, Identification::One(contact("Anna")));
    assert_eq!(opened_cards(&late), 1);
}

#[test]
fn unknown_caller_opens_no_card() {
    let mut h = harness(CardOpen::Ring);
    let fx = h.line(line(PhoneState::Ring, party("89161234567", "C2")));
    let fx = h.identified(&fx, Identification::None);
    assert_eq!(opened_cards(&fx), 0);
    let fx = h.ui(UiCommand::OpenCard);
    assert_eq!(
        rejection(&fx).as_deref(),
        Some("The caller has not been found in Creatio.")
    );
}
