//! A caller who hangs up before the operator answers becomes a missed call.

mod support;

use call::history::Outcome;
use call::{Effect, NotificationKind, SipEvent, UiCommand};
use oktell::line::PhoneState;
use sip::invite::EndReason;
use support::*;

fn missed_notifications(fx: &Fx) -> usize {
    fx.iter()
        .filter(|e| matches!(e, Effect::Notify(n) if n.kind == NotificationKind::Missed))
        .count()
}

#[test]
fn caller_hangs_up_while_ringing() {
    let mut h = Harness::connected();
    let fx = h.line(line(PhoneState::Ring, party("89161234567", "C4")));
    assert!(
        fx.iter()
            .any(|e| matches!(e, Effect::Notify(n) if n.kind == NotificationKind::Ringing))
    );
    h.invite(9, "89161234567");
    h.advance(1500);
    let fx = h.line(idle());
    assert_eq!(missed_notifications(&fx), 0, "the softphone leg is still ringing");
    let fx = h.sip(SipEvent::Ended {
        dialog: 9,
        reason: EndReason::CancelledByRemote,
    });
    assert_eq!(missed_notifications(&fx), 1);
    assert!(has(&fx, &Effect::StopRingtone));
    assert!(has(&fx, &Effect::HidePopup));
    let view = h.view();
    assert!(view.call.is_none());
    assert_eq!(view.history[0].outcome, Outcome::Missed);
    assert!(view.history[0].unseen, "missed calls are highlighted");
    assert_eq!(view.missed_unseen, 1);
    assert_eq!(view.tray, call::view::TrayState::Ready);
}

#[test]
fn oktell_only_missed_call_and_marking_it_seen() {
    let mut h = Harness::connected();
    h.line(line(PhoneState::Ring, party("89161234567", "C4")));
    h.advance(1000);
    let fx = h.line(idle());
    assert_eq!(missed_notifications(&fx), 1);
    let entry = &h.view().history[0];
    assert_eq!(entry.outcome, Outcome::Missed);
    assert_eq!(entry.party.number_display.as_deref(), Some("+7 (916) 123-45-67"));
    assert_eq!(entry.started_unix_ms, WALL_START_SECS * 1000);
    h.ui(UiCommand::MarkMissedSeen);
    assert_eq!(h.view().missed_unseen, 0);
    assert!(!h.view().history[0].unseen);
}

/// A caller who sends neither a name nor a number is "unknown" in the view, so the UI words it in the operator's
/// language; an empty number counts as none.
#[test]
fn a_caller_without_name_or_number_is_marked_unknown() {
    let mut h = Harness::sip_only();
    h.sip(call::SipEvent::Incoming {
        dialog: 1,
        number: Some(" ".into()),
        name: None,
    });
    let view = h.view();
    let party = &view.popup.as_ref().expect("it rings").party;
    assert!(party.unknown, "{party:?}");
    assert_eq!(party.number_display, None);

    let mut h = Harness::sip_only();
    h.invite(2, "102");
    let view = h.view();
    let party = &view.popup.as_ref().expect("it rings").party;
    assert!(!party.unknown, "{party:?}");
    assert_eq!(party.display, "102");
}
