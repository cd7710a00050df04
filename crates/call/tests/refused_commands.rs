//! Commands the state does not allow are refused with a sentence, never carried out, and
//! the view lists exactly the actions that would be accepted.

mod support;

use call::{Action, CallInput, Effect, UiCommand};
use oktell::line::PhoneState;
use support::*;

#[test]
fn answer_without_a_ringing_call_is_refused_with_a_sentence() {
    let mut h = Harness::connected();
    let fx = h.ui(UiCommand::Answer);
    assert_eq!(rejection(&fx).as_deref(), Some("There is no ringing call to answer."));
    assert!(oktell_commands(&fx).is_empty() && sip_actions(&fx).is_empty());
    assert_eq!(h.view().notice.as_deref(), Some("There is no ringing call to answer."));
    let Some(Effect::Rejected(rejected)) = fx.iter().find(|e| matches!(e, Effect::Rejected(_))) else {
        panic!("a rejection");
    };
    assert_eq!(rejected.action, Action::Answer);
}

#[test]
fn an_accepted_command_clears_the_notice() {
    let mut h = Harness::connected();
    h.ui(UiCommand::Hold);
    assert!(h.view().notice.is_some());
    h.ui(UiCommand::Dial { number: "102".into() });
    assert_eq!(h.view().notice, None);
}

#[test]
fn hold_while_ringing_and_resume_with_nothing_held_are_refused() {
    let mut h = Harness::connected();
    h.line(line(PhoneState::Ring, party("89161234567", "C2")));
    let fx = h.ui(UiCommand::Hold);
    assert_eq!(
        rejection(&fx).as_deref(),
        Some("Hold works only during a conversation.")
    );
    let fx = h.ui(UiCommand::Resume);
    assert_eq!(rejection(&fx).as_deref(), Some("No call is on hold."));
    let fx = h.ui(UiCommand::Dial { number: "102".into() });
    assert_eq!(
        rejection(&fx).as_deref(),
        Some("Finish or hold the current call before dialling another number.")
    );
}

#[test]
fn status_changes_need_oktell() {
    let mut h = Harness::sip_only();
    let fx = h.ui(UiCommand::SetStatus(call::StatusChoice::Dnd));
    assert_eq!(
        rejection(&fx).as_deref(),
        Some("The agent status can be changed only while connected to Oktell.")
    );
    let mut h = Harness::connected();
    let fx = h.ui(UiCommand::SetStatus(call::StatusChoice::Break { reason: Some(2) }));
    assert_eq!(
        oktell_commands(&fx),
        vec![oktell::Command::SetStatus(oktell::agent::StatusRequest::Break(Some(2)))]
    );
}

/// Every listed action is accepted and every unlisted one refused, in each state a call
/// goes through.
#[test]
fn the_action_list_matches_what_is_accepted() {
    let mut h = Harness::connected();
    let caller = party("89161234567", "C2");
    let since = h.now;
    let states = [
        idle(),
        line(PhoneState::Ring, caller.clone()),
        talking(caller.clone(), since),
        ready_with_hold(caller.clone()),
        with_hold(line(PhoneState::Call, party("102", "C3")), caller.clone()),
    ];
    for state in states {
        h.line(state.clone());
        let listed = h.view().actions.clone();
        for action in Action::ALL {
            let command = match action {
                Action::Answer => UiCommand::Answer,
                Action::Decline => UiCommand::Decline,
                Action::Hangup => UiCommand::Hangup,
                Action::Hold => UiCommand::Hold,
                Action::Resume => UiCommand::Resume,
                Action::ToggleMute => UiCommand::ToggleMute,
                Action::Swap => UiCommand::Swap,
                Action::Dial => UiCommand::Dial { number: "102".into() },
                Action::Consult => UiCommand::Consult { number: "103".into() },
                Action::Transfer => UiCommand::Transfer { to: "104".into() },
                Action::Connect => UiCommand::Connect,
                Action::ConferenceStart => UiCommand::ConferenceStart,
                Action::ConferenceAddHeld => UiCommand::ConferenceAddHeld,
                Action::ConferenceLeave => UiCommand::ConferenceLeave,
                Action::Dtmf => UiCommand::Dtmf { digits: "1".into() },
                Action::SetStatus => UiCommand::SetStatus(call::StatusChoice::Ready),
                Action::OpenCard => UiCommand::OpenCard,
                Action::DismissPopup => UiCommand::DismissPopup,
                Action::MarkMissedSeen => UiCommand::MarkMissedSeen,
            };
            // Try each command on a copy of the state: the model is rebuilt by replaying.
            let mut probe = Harness::connected();
            probe.line(state.clone());
            let fx = probe.handle(CallInput::Ui(command));
            let refused = rejection(&fx).is_some();
            assert_eq!(
                listed.contains(&action),
                !refused,
                "{action:?} in {:?}: listed {listed:?}, outcome {fx:?}",
                state.state
            );
        }
    }
}
