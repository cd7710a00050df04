//! Commands the state does not allow are refused with a sentence, never carried out, and
//! the view lists exactly the actions that would be accepted.

mod support;

use call::{Action, CallInput, Effect, Key, Phrase, UiCommand};
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

/// The refusal reaches the UI twice, as the English sentence and as a key with typed parameters the panel
/// translates; the two always say the same thing.
#[test]
fn a_refusal_carries_its_key_and_what_it_is_about() {
    let mut h = Harness::connected();
    h.line(line(PhoneState::Ring, party("89161234567", "C2")));
    let fx = h.ui(UiCommand::Hold);
    let Some(Effect::Rejected(rejected)) = fx.iter().find(|e| matches!(e, Effect::Rejected(_))) else {
        panic!("a rejection");
    };
    let said = h.view().notice_sentence.clone().expect("a notice");
    assert_eq!(said, rejected.reason.sentence());
    assert_eq!(said.key, Key::NotTalking);
    assert_eq!(said.key.as_str(), "refusal.not_talking");
    assert_eq!(
        params_json(&said),
        serde_json::json!({"what": {"term": "feature.hold"}})
    );
    assert_eq!(Some(said.text.as_str()), h.view().notice.as_deref());

    h.ui(UiCommand::Dial { number: "102".into() });
    assert_eq!(h.view().notice_sentence.as_ref().map(|s| s.key), Some(Key::Busy));
    h.ui(UiCommand::Answer);
    assert_eq!(h.view().notice_sentence, None, "an accepted command clears both forms");
    assert_eq!(h.view().notice, None);
}

#[test]
fn refusals_while_oktell_is_away_or_absent_name_the_feature() {
    let mut h = Harness::connected();
    h.oktell(oktell::Event::Connection(oktell::ConnectionState::Reconnecting {
        attempt: 2,
        delay: std::time::Duration::from_secs(1),
    }));
    h.ui(UiCommand::Dial { number: "102".into() });
    let said = h.view().notice_sentence.clone().expect("a notice");
    assert_eq!(said.key, Key::OktellDown);
    assert_eq!(
        params_json(&said),
        serde_json::json!({"what": {"term": "feature.dial"}})
    );
    assert_eq!(
        said.text,
        "The PBX connection is being restored; dialling is not available until it is back."
    );

    let mut h = Harness::sip_only();
    h.invite(4, "102");
    h.ui(UiCommand::Answer);
    h.sip(call::SipEvent::Established { dialog: 4 });
    h.ui(UiCommand::ConferenceStart);
    let said = h.view().notice_sentence.clone().expect("a notice");
    assert_eq!(said.key, Key::NeedsOktell);
    assert_eq!(
        params_json(&said),
        serde_json::json!({"what": {"term": "feature.conference"}})
    );
    assert_eq!(
        said.text,
        "A conference needs the Oktell PBX; the SIP phone alone cannot do it."
    );
}

#[test]
fn a_pbx_failure_is_a_notice_with_the_pbx_words_as_a_parameter() {
    let mut h = Harness::sip_only();
    h.sip(call::SipEvent::Incoming {
        dialog: 5,
        number: Some("102".into()),
        name: None,
    });
    h.ui(UiCommand::Answer);
    h.sip(call::SipEvent::Established { dialog: 5 });
    h.ui(UiCommand::Hold);
    h.sip(call::SipEvent::ModifyFailed { dialog: 5, status: 488 });
    let said = h.view().notice_sentence.clone().expect("a notice");
    assert_eq!(said.key, Key::HoldRefused);
    assert_eq!(params_json(&said), serde_json::json!({"status": 488}));
    assert_eq!(said.text, "The other side refused to hold the call (SIP 488).");
}
