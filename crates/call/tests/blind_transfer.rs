//! Blind transfer of the current call.

mod support;

use call::history::Outcome;
use call::{Action, UiCommand};
use support::*;

#[test]
fn transfer_sends_the_destination_to_oktell() {
    let mut h = Harness::connected();
    let since = h.now;
    h.line(talking(party("89161234567", "C2"), since));
    assert!(h.allows(Action::Transfer));
    let fx = h.ui(UiCommand::Transfer { to: " 104 ".into() });
    assert_eq!(
        oktell_commands(&fx),
        vec![oktell::Command::Transfer { to: "104".into() }]
    );
    h.advance(2_000);
    h.line(idle());
    assert_eq!(h.view().history[0].outcome, Outcome::Answered);
}

#[test]
fn transfer_needs_a_destination_and_a_call() {
    let mut h = Harness::connected();
    let fx = h.ui(UiCommand::Transfer { to: "104".into() });
    assert_eq!(
        rejection(&fx).as_deref(),
        Some("There is no call right now."),
        "no call to transfer"
    );
    let since = h.now;
    h.line(talking(party("89161234567", "C2"), since));
    let fx = h.ui(UiCommand::Transfer { to: "".into() });
    assert_eq!(rejection(&fx).as_deref(), Some("Enter a number to call."));
    assert!(oktell_commands(&fx).is_empty());
}
