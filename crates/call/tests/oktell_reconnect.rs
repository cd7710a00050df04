//! The Oktell connection drops during a call: the call stays, PBX-only actions wait, and the
//! first line report after the reconnect resyncs the same call.

mod support;

use std::time::Duration;

use call::history::Outcome;
use call::{Action, SipAction, SipEvent, UiCommand};
use oktell::line::{LineView, PhoneState};
use oktell::{ConnectionState, Event};
use support::*;

fn answered_call(h: &mut Harness) -> oktell::line::Abonent {
    let caller = party("89161234567", "C2");
    h.line(line(PhoneState::Ring, caller.clone()));
    h.invite(7, "89161234567");
    h.ui(UiCommand::Answer);
    h.sip(SipEvent::Established { dialog: 7 });
    let since = h.now;
    h.line(talking(caller.clone(), since));
    caller
}

#[test]
fn call_survives_a_reconnect_and_is_resynced() {
    let mut h = Harness::connected();
    let caller = answered_call(&mut h);
    let id = h.view().call.as_ref().map(|c| c.id);
    h.advance(10_000);

    h.oktell(Event::Connection(ConnectionState::Reconnecting {
        attempt: 1,
        delay: Duration::from_secs(1),
    }));
    // The session reports its line as gone while it is not connected.
    h.line(LineView::default());
    let view = h.view();
    assert_eq!(view.call.as_ref().map(|c| c.id), id, "the call is kept");
    assert_eq!(view.health.oktell.state, "connecting");
    assert!(
        view.health
            .oktell
            .message
            .as_deref()
            .is_some_and(|m| m.contains("reconnecting")),
        "{:?}",
        view.health.oktell
    );
    let said = view.health.oktell.sentence.clone().expect("a health sentence");
    assert_eq!(said.key, call::Key::OktellReconnecting);
    assert_eq!(params_json(&said), serde_json::json!({"attempt": 1}));
    assert_eq!(view.health.oktell.message.as_deref(), Some(said.text.as_str()));
    assert!(!h.allows(Action::Hold));
    let fx = h.ui(UiCommand::Hold);
    assert_eq!(
        rejection(&fx).as_deref(),
        Some("The PBX connection is being restored; hold is not available until it is back.")
    );
    assert!(h.allows(Action::Hangup), "the softphone leg can still be hung up");

    h.advance(5_000);
    h.oktell(Event::Connection(ConnectionState::Connecting { attempt: 2 }));
    h.oktell(Event::Connection(ConnectionState::Syncing));
    // The PBX's own talk timer runs a little ahead; the call keeps the answer time the
    // operator has been watching.
    let talk_since = h.now - Duration::from_secs(20);
    h.line(talking(caller, talk_since));
    h.oktell(Event::Connection(ConnectionState::Connected));
    let view = h.view();
    let current = view.call.as_ref().expect("still in the call");
    assert_eq!(Some(current.id), id, "the same call after the resync");
    assert_eq!(current.talk_secs, 15);
    assert!(current.via_oktell && current.via_softphone);
    assert_eq!(view.health.oktell.state, "ok");
    assert!(h.allows(Action::Hold));
}

#[test]
fn a_call_that_ended_during_the_outage_ends_at_the_resync() {
    let mut h = Harness::connected();
    let since = h.now;
    h.line(talking(party("89161234567", "C2"), since));
    h.oktell(Event::Connection(ConnectionState::Reconnecting {
        attempt: 1,
        delay: Duration::from_secs(1),
    }));
    assert!(h.view().call.is_some());
    assert!(
        !h.allows(Action::Hangup),
        "no softphone leg and no PBX to hang up through"
    );
    h.advance(3_000);
    h.oktell(Event::Connection(ConnectionState::Syncing));
    h.line(idle());
    let view = h.view();
    assert!(view.call.is_none());
    assert_eq!(view.history[0].outcome, Outcome::Answered);
}

#[test]
fn hangup_during_the_outage_ends_the_softphone_leg() {
    let mut h = Harness::connected();
    answered_call(&mut h);
    h.oktell(Event::Connection(ConnectionState::Reconnecting {
        attempt: 1,
        delay: Duration::from_secs(1),
    }));
    let fx = h.ui(UiCommand::Hangup);
    assert_eq!(sip_actions(&fx), vec![SipAction::Hangup { dialog: 7 }]);
}

#[test]
fn a_call_in_progress_at_startup_shows_the_pbx_talk_time() {
    let mut h = Harness::new(config());
    h.advance(60_000);
    h.oktell(Event::Connection(ConnectionState::Syncing));
    let talk_since = h.now - Duration::from_secs(42);
    h.line(talking(party("89161234567", "C2"), talk_since));
    h.oktell(Event::Connection(ConnectionState::Connected));
    let view = h.view();
    let current = view.call.as_ref().expect("the call in progress");
    assert_eq!(current.state, "talking");
    assert_eq!(current.talk_secs, 42);
    assert!(current.via_oktell && !current.via_softphone);
}

#[test]
fn the_far_end_hanging_up_during_the_outage_ends_the_call() {
    let mut h = Harness::connected();
    answered_call(&mut h);
    h.oktell(Event::Connection(ConnectionState::Reconnecting {
        attempt: 1,
        delay: Duration::from_secs(1),
    }));
    h.advance(2_000);
    h.sip(SipEvent::Ended {
        dialog: 7,
        reason: sip::invite::EndReason::RemoteHangup,
    });
    let view = h.view();
    assert!(view.call.is_none());
    assert_eq!(view.history[0].outcome, Outcome::Answered);
    h.oktell(Event::Connection(ConnectionState::Connected));
    h.line(idle());
    assert_eq!(h.view().history.len(), 1, "the resync does not record it twice");
}
