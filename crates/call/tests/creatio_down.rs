//! Creatio is down: calls go on, the lookup shows as failed, and the record backlog shows
//! in the health view.

mod support;

use call::{CallInput, CreatioEffect, CreatioInput, Effect, OutboxSummary, SipAction, SipEvent, UiCommand};
use creatio::calls::CallWrite;
use creatio::identify::Identification;
use oktell::line::PhoneState;
use support::*;

#[test]
fn calls_proceed_and_the_backlog_is_shown() {
    let mut h = Harness::connected();
    let fx = h.line(line(PhoneState::Ring, party("89161234567", "C2")));
    let call = fx
        .iter()
        .find_map(|e| match e {
            Effect::Creatio(CreatioEffect::Identify { call, number }) => {
                assert_eq!(number, "89161234567");
                Some(*call)
            }
            _ => None,
        })
        .expect("a lookup");
    let created = fx
        .iter()
        .find_map(|e| match e {
            Effect::Creatio(CreatioEffect::Write(CallWrite::Create(new))) => Some(new.clone()),
            _ => None,
        })
        .expect("the Call record is created at ring");
    let created = serde_json::to_value(&created).expect("serialisable");
    assert_eq!(
        created["IntegrationId"], "C2:89161234567",
        "Creatio's Oktell call id: {created}"
    );
    assert_eq!(created["CallerId"], "89161234567");
    assert_eq!(created["CalledId"], "101");
    assert_eq!(h.view().call.as_ref().map(|c| c.party.lookup), Some("pending"));

    h.handle(CallInput::Creatio(CreatioInput::IdentifyFailed {
        call,
        reason: "connection refused".into(),
    }));
    h.handle(CallInput::Creatio(CreatioInput::Outbox(OutboxSummary {
        waiting: 3,
        rejected: 0,
        outage: Some("Creatio is unreachable: connection refused".into()),
    })));
    let view = h.view();
    assert_eq!(view.call.as_ref().map(|c| c.party.lookup), Some("failed"));
    assert_eq!(
        view.call.as_ref().map(|c| c.party.display.as_str()),
        Some("+7 (916) 123-45-67")
    );
    assert_eq!(view.health.creatio.state, "down");
    assert_eq!(view.health.creatio.waiting, 3);
    assert_eq!(
        view.health.creatio.message.as_deref(),
        Some("Creatio is unreachable: connection refused. 3 call records are waiting to be saved in Creatio.")
    );

    h.invite(7, "89161234567");
    let fx = h.ui(UiCommand::Answer);
    assert_eq!(sip_actions(&fx), vec![SipAction::Answer { dialog: 7 }]);
    h.sip(SipEvent::Established { dialog: 7 });
    assert_eq!(h.view().call.as_ref().map(|c| c.state), Some("talking"));

    h.handle(CallInput::Creatio(CreatioInput::Outbox(OutboxSummary::default())));
    assert_eq!(h.view().health.creatio.state, "ok");
    assert_eq!(h.view().health.creatio.message, None);
}

#[test]
fn a_found_contact_names_the_caller_and_patches_the_record() {
    let mut h = Harness::connected();
    let fx = h.line(line(PhoneState::Ring, party("89161234567", "C2")));
    let fx = h.identified(&fx, Identification::One(contact("Anna Smirnova")));
    assert!(
        fx.iter()
            .any(|e| matches!(e, Effect::Creatio(CreatioEffect::Write(w)) if !w.is_create())),
        "ContactId is patched into the record"
    );
    let view = h.view();
    let party = &view.call.as_ref().expect("ringing").party;
    assert_eq!(party.display, "Anna Smirnova");
    assert_eq!(party.lookup, "found");
    assert_eq!(party.contact.as_ref().map(|c| c.kind), Some("contact"));
}

#[test]
fn without_a_creatio_site_the_header_says_not_configured() {
    let h = Harness::new(call::CallConfig {
        creatio_configured: false,
        ..config()
    });
    let health = &h.view().health.creatio;
    assert_eq!(health.state, "not_configured");
    assert_eq!(health.message, None);
}
