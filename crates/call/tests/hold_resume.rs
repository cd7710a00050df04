//! Hold and resume through Oktell (`pbxmakeflash`), with the hold time in the Creatio record.

mod support;

use call::{Action, CreatioEffect, Effect, UiCommand};
use creatio::calls::CallWrite;
use support::*;

fn talking_call() -> (Harness, oktell::line::Abonent) {
    let mut h = Harness::connected();
    let caller = party("84951234567", "C1");
    let since = h.now;
    h.line(talking(caller.clone(), since));
    (h, caller)
}

#[test]
fn hold_then_resume_through_oktell() {
    let (mut h, caller) = talking_call();
    assert!(h.allows(Action::Hold) && !h.allows(Action::Resume));
    let fx = h.ui(UiCommand::Hold);
    assert_eq!(oktell_commands(&fx), vec![oktell::Command::Hold]);
    h.advance(500);
    h.line(ready_with_hold(caller.clone()));
    let view = h.view();
    assert!(view.call.is_none(), "nobody is talking");
    assert_eq!(view.held.len(), 1);
    assert_eq!(view.held[0].state, "held");
    assert!(h.allows(Action::Resume) && !h.allows(Action::Hold));
    assert!(h.allows(Action::Dial), "ready with a hold may dial");
    assert_eq!(view.tray, call::view::TrayState::Talking);

    h.advance(4_000);
    h.tick();
    assert_eq!(h.view().held[0].elapsed_secs, 4);
    let fx = h.ui(UiCommand::Resume);
    assert_eq!(oktell_commands(&fx), vec![oktell::Command::Resume]);
    h.advance(500);
    let since = h.now;
    h.line(talking(caller, since));
    let view = h.view();
    assert_eq!(view.call.as_ref().map(|c| c.state), Some("talking"));
    assert!(view.held.is_empty());
    assert_eq!(
        view.call.as_ref().map(|c| c.talk_secs),
        Some(5),
        "the talk timer counts from the first answer"
    );
}

#[test]
fn the_call_record_carries_the_hold_time() {
    let (mut h, caller) = talking_call();
    h.advance(1_000);
    h.line(ready_with_hold(caller.clone()));
    h.advance(7_000);
    let since = h.now;
    h.line(talking(caller, since));
    h.advance(2_000);
    let fx = h.line(idle());
    let patch = fx
        .iter()
        .find_map(|e| match e {
            Effect::Creatio(CreatioEffect::Write(CallWrite::Update { patch, .. })) => Some(patch.clone()),
            _ => None,
        })
        .expect("the final record update");
    let json = serde_json::to_value(&patch).expect("serialisable");
    assert_eq!(json["HoldTime"], 7, "{json}");
}
