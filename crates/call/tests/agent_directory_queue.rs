//! Agent status, break reasons, the tray icon, the directory with presence and the queue.

mod support;

use call::Action;
use call::view::TrayState;
use oktell::agent::{AgentState, UserStateId};
use oktell::msg::event::NumberState;
use oktell::msg::reply::{BreakReason, DirectoryUser};
use oktell::{ConnectionState, Event};
use support::*;

fn agent(state: UserStateId, reason: Option<i64>) -> AgentState {
    AgentState {
        state,
        break_reason: reason,
        ..AgentState::disconnected()
    }
}

#[test]
fn break_with_a_reason_shows_in_the_agent_view_and_the_tray() {
    let mut h = Harness::connected();
    h.oktell(Event::BreakReasons(vec![
        BreakReason {
            id: 1,
            name: Some("Lunch".into()),
        },
        BreakReason {
            id: 2,
            name: Some("Meeting".into()),
        },
    ]));
    h.oktell(Event::Agent(agent(UserStateId::Ready, None)));
    assert_eq!(h.view().agent.status, "ready");
    assert_eq!(h.view().tray, TrayState::Ready);
    h.oktell(Event::Agent(agent(UserStateId::Break, Some(2))));
    let view = h.view();
    assert_eq!(view.agent.status, "break");
    assert_eq!(view.agent.break_reason.as_deref(), Some("Meeting"));
    assert_eq!(view.agent.break_reasons.len(), 2);
    assert_eq!(view.tray, TrayState::Break);
    assert!(h.allows(Action::SetStatus));
}

#[test]
fn everything_down_is_offline() {
    let mut h = Harness::connected();
    h.oktell(Event::Connection(ConnectionState::Closed(
        oktell::CloseReason::LoginRefused(oktell::error::LoginError::WrongPassword),
    )));
    h.sip(call::SipEvent::Unregistered);
    let view = h.view();
    assert_eq!(view.tray, TrayState::Offline);
    assert_eq!(view.agent.status, "offline");
    assert_eq!(view.health.oktell.state, "down");
    assert_eq!(
        view.health.oktell.message.as_deref(),
        Some("Oktell refused the login: wrong login or password.")
    );
    assert!(!h.allows(Action::Dial));
}

#[test]
fn directory_shows_presence_and_the_queue_its_callers() {
    let mut h = Harness::connected();
    h.oktell(Event::Users(vec![DirectoryUser {
        id: Some("u-102".into()),
        name: Some("Ivan Petrov".into()),
        main: Some("102".into()),
        nums: vec!["102".into()],
        sub: false,
    }]));
    assert_eq!(h.view().directory[0].presence, "unknown");
    h.oktell(Event::NumberStates(vec![NumberState {
        num: Some("102".into()),
        numstateid: Some(5),
    }]));
    let entry = &h.view().directory[0];
    assert_eq!((entry.name.as_str(), entry.presence), ("Ivan Petrov", "busy"));

    h.oktell(Event::Queue(vec![party("84951234567", "Q1")]));
    assert_eq!(h.view().queue[0].display, "+7 (495) 123-45-67");
}
