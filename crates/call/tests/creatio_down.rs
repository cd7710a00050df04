//! Creatio is down: calls go on, the lookup shows as failed, and the record backlog shows
//! in the health view.

mod support;

use call::{CallInput, CreatioEffect, CreatioInput, Effect, Key, OutboxSummary, SipAction, SipEvent, UiCommand};
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

/// The backlog's sentences: counts the UI puts in the plural, and the outbox's own words about the outage as an
/// untranslated parameter inside a translated frame.
#[test]
fn the_backlog_sentences_carry_counts_and_the_outage_as_a_parameter() {
    let mut h = Harness::connected();
    h.handle(CallInput::Creatio(CreatioInput::Outbox(OutboxSummary {
        waiting: 3,
        rejected: 1,
        outage: Some("Creatio is unreachable: connection refused".into()),
    })));
    h.handle(CallInput::Creatio(CreatioInput::WaitReason(Some(
        "Creatio unreachable since 10:42: connection refused".into(),
    ))));
    let creatio = h.view().health.creatio.clone();
    let outage = creatio.outage_sentence.clone().expect("the outage");
    assert_eq!(outage.key, Key::CreatioOutage);
    assert_eq!(
        params_json(&outage),
        serde_json::json!({"reason": "Creatio is unreachable: connection refused"})
    );
    let waiting = creatio.waiting_sentence.clone().expect("the waiting records");
    assert_eq!(waiting.key, Key::CreatioWaitingBecause);
    assert_eq!(
        params_json(&waiting),
        serde_json::json!({"count": 3, "reason": "Creatio unreachable since 10:42: connection refused"})
    );
    assert_eq!(
        waiting.text,
        "3 call records are waiting to be saved in Creatio — Creatio unreachable since 10:42: connection refused."
    );
    let rejected = creatio.rejected_sentence.clone().expect("the refused records");
    assert_eq!(rejected.key, Key::CreatioRejected);
    assert_eq!(params_json(&rejected), serde_json::json!({"count": 1}));
    assert_eq!(
        creatio.message,
        Some(format!("{} {} {}", outage.text, waiting.text, rejected.text)),
        "the English message is the three sentences"
    );

    h.handle(CallInput::Creatio(CreatioInput::Outbox(OutboxSummary {
        waiting: 1,
        rejected: 0,
        outage: None,
    })));
    h.handle(CallInput::Creatio(CreatioInput::WaitReason(None)));
    let creatio = &h.view().health.creatio;
    assert_eq!(creatio.outage_sentence, None);
    assert_eq!(creatio.rejected_sentence, None);
    let waiting = creatio.waiting_sentence.clone().expect("the waiting record");
    assert_eq!(waiting.key, Key::CreatioWaiting);
    assert_eq!(waiting.text, "1 call record is waiting to be saved in Creatio.");
}

#[test]
fn the_local_history_says_why_in_a_sentence() {
    let mut h = Harness::connected();
    h.handle(CallInput::Creatio(CreatioInput::History {
        entries: Vec::new(),
        offline: Some("connection refused".into()),
    }));
    let creatio = &h.view().health.creatio;
    assert_eq!(creatio.history_offline.as_deref(), Some("connection refused"));
    let said = creatio.history_offline_sentence.clone().expect("a sentence");
    assert_eq!(said.key, Key::HistoryOffline);
    assert_eq!(params_json(&said), serde_json::json!({"reason": "connection refused"}));
}
