//! Conferences through Oktell.

mod support;

use call::{Action, UiCommand};
use oktell::line::{LineView, PhoneState};
use support::*;

fn member(number: &str, id: &str) -> oktell::line::Abonent {
    let mut a = party(number, "C2");
    a.key = id.into();
    a.competitor_id = Some(id.into());
    a
}

#[test]
fn start_a_conference_then_leave_it() {
    let mut h = Harness::connected();
    let since = h.now;
    h.line(talking(party("89161234567", "C2"), since));
    assert!(h.allows(Action::ConferenceStart));
    assert!(!h.allows(Action::ConferenceLeave));
    let fx = h.ui(UiCommand::ConferenceStart);
    assert_eq!(oktell_commands(&fx), vec![oktell::Command::ConferenceFromCall]);

    h.advance(300);
    h.line(LineView {
        state: PhoneState::Talk,
        abonents: vec![member("89161234567", "k1"), member("101", "k2")],
        conference: Some("conf-1".into()),
        talk_since: Some(since),
        ..LineView::default()
    });
    let view = h.view();
    let conference = view.conference.as_ref().expect("in a conference");
    assert_eq!(conference.id, "conf-1");
    assert_eq!(conference.parties.len(), 2);
    assert_eq!(view.call.as_ref().map(|c| c.state), Some("talking"), "the call goes on");
    assert!(h.allows(Action::ConferenceLeave));
    assert!(!h.allows(Action::ConferenceStart));
    assert!(!h.allows(Action::ConferenceAddHeld), "nobody on hold");
    assert!(!h.allows(Action::Consult));

    let fx = h.ui(UiCommand::ConferenceLeave);
    assert_eq!(oktell_commands(&fx), vec![oktell::Command::ConferenceLeave]);
    h.line(idle());
    let view = h.view();
    assert!(view.conference.is_none() && view.call.is_none());
    assert_eq!(view.history.len(), 1);
}

#[test]
fn the_held_party_can_join_the_conference() {
    let mut h = Harness::connected();
    let since = h.now;
    h.line(with_hold(
        LineView {
            state: PhoneState::Talk,
            abonents: vec![member("102", "k1")],
            conference: Some("conf-2".into()),
            talk_since: Some(since),
            ..LineView::default()
        },
        party("89161234567", "C2"),
    ));
    assert!(h.allows(Action::ConferenceAddHeld));
    let fx = h.ui(UiCommand::ConferenceAddHeld);
    assert_eq!(oktell_commands(&fx), vec![oktell::Command::ConferenceAddHeld]);
}
