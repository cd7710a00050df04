//! A consultation call while talking (the PBX holds the first party), then connecting both
//! parties (PROTOCOL.md §6b).

mod support;

use call::history::Outcome;
use call::{Action, UiCommand};
use oktell::line::PhoneState;
use oktell::msg::request::Sequence;
use support::*;

#[test]
fn consult_then_connect_both_parties() {
    let mut h = Harness::connected();
    let client = party("89161234567", "C2");
    let since = h.now;
    h.line(talking(client.clone(), since));
    assert!(h.allows(Action::Consult));
    assert!(!h.allows(Action::Connect), "nothing to connect yet");

    let fx = h.ui(UiCommand::Consult { number: "102".into() });
    assert_eq!(
        oktell_commands(&fx),
        vec![oktell::Command::Call {
            number: "102".into(),
            sequence: Sequence::User,
        }]
    );
    h.advance(1);
    let mut colleague = party("102", "C3");
    colleague.name = Some("Ivan Petrov".into());
    h.line(with_hold(line(PhoneState::Call, colleague.clone()), client.clone()));
    let view = h.view();
    let current = view.call.as_ref().expect("the consultation call");
    assert_eq!(current.state, "dialling");
    assert_eq!(current.party.display, "Ivan Petrov");
    assert_eq!(view.held.len(), 1);
    assert_eq!(view.held[0].party.number.as_deref(), Some("89161234567"));
    assert!(h.allows(Action::Connect) && h.allows(Action::Transfer));
    assert!(!h.allows(Action::Hold), "the first party is already on hold");

    h.advance(1500);
    let since = h.now;
    h.line(with_hold(talking(colleague, since), client));
    assert!(h.allows(Action::Swap));
    let fx = h.ui(UiCommand::Connect);
    assert_eq!(oktell_commands(&fx), vec![oktell::Command::Commutate]);
    h.line(idle());
    let view = h.view();
    assert!(view.call.is_none() && view.held.is_empty());
    assert_eq!(view.history.len(), 2);
    assert!(view.history.iter().all(|e| e.outcome == Outcome::Answered));
}

#[test]
fn swap_goes_through_oktell() {
    let mut h = Harness::connected();
    let since = h.now;
    h.line(with_hold(
        talking(party("102", "C3"), since),
        party("89161234567", "C2"),
    ));
    let fx = h.ui(UiCommand::Swap);
    assert_eq!(oktell_commands(&fx), vec![oktell::Command::Toggle]);
}

#[test]
fn an_invite_during_a_consultation_is_not_taken_for_a_ring_back() {
    let mut h = Harness::connected();
    let since = h.now;
    h.line(talking(party("89161234567", "C2"), since));
    h.ui(UiCommand::Consult { number: "102".into() });
    h.advance(100);
    let fx = h.invite(8, "555");
    assert!(
        sip_actions(&fx).is_empty(),
        "a new caller is never answered by itself: {fx:?}"
    );
}
