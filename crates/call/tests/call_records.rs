//! The Creatio `Call` record of each call: created once with Creatio's Oktell call id,
//! patched with the contact, finished with the timings.

mod support;

use call::{CreatioEffect, Effect, SipEvent};
use creatio::calls::CallWrite;
use creatio::identify::Identification;
use oktell::line::PhoneState;
use sip::invite::EndReason;
use support::*;

fn writes(fx: &Fx) -> Vec<CallWrite> {
    fx.iter()
        .filter_map(|e| match e {
            Effect::Creatio(CreatioEffect::Write(w)) => Some(w.clone()),
            _ => None,
        })
        .collect()
}

fn json(write: &CallWrite) -> serde_json::Value {
    match write {
        CallWrite::Create(new) => to_json(new),
        CallWrite::Update { patch, .. } => to_json(patch),
    }
}

#[test]
fn softphone_first_call_waits_for_the_oktell_chain_id() {
    let mut h = Harness::connected();
    let fx = h.invite(3, "89161234567");
    assert!(writes(&fx).is_empty(), "the Oktell half may still come");
    h.advance(200);
    let fx = h.line(line(PhoneState::Ring, party("89161234567", "C9")));
    let written = writes(&fx);
    assert_eq!(written.len(), 1);
    assert!(written[0].is_create());
    assert_eq!(json(&written[0])["IntegrationId"], "C9:89161234567");
}

#[test]
fn softphone_only_call_is_recorded_after_the_window() {
    let mut h = Harness::connected();
    h.invite(3, "102");
    h.advance(4_000);
    assert!(writes(&h.tick()).is_empty());
    h.advance(1_000);
    let written = writes(&h.tick());
    assert_eq!(written.len(), 1);
    assert!(written[0].is_create());
    assert_eq!(json(&written[0])["CallerId"], "102");
}

#[test]
fn a_contact_found_before_the_create_is_patched_right_after_it() {
    let mut h = Harness::connected();
    let fx = h.invite(3, "89161234567");
    let fx = h.identified(&fx, Identification::One(contact("Anna")));
    assert!(writes(&fx).is_empty(), "no patch before the create");
    let fx = h.line(line(PhoneState::Ring, party("89161234567", "C9")));
    let written = writes(&fx);
    assert_eq!(written.len(), 2);
    assert!(written[0].is_create());
    assert_eq!(json(&written[1])["ContactId"], contact("Anna").id.to_string());
    assert_eq!(written[0].call_id(), written[1].call_id());
}

#[test]
fn a_missed_call_is_finished_with_no_talk_time() {
    let mut h = Harness::connected();
    h.line(line(PhoneState::Ring, party("89161234567", "C4")));
    h.invite(9, "89161234567");
    h.advance(12_000);
    h.line(idle());
    let fx = h.sip(SipEvent::Ended {
        dialog: 9,
        reason: EndReason::CancelledByRemote,
    });
    let written = writes(&fx);
    assert_eq!(written.len(), 1);
    let patch = json(&written[0]);
    assert_eq!(patch["TalkTime"], 0, "{patch}");
    assert_eq!(patch["EndDate"], "2026-01-01T00:00:12.0000000Z");
}

#[test]
fn the_callers_company_from_creatio_reaches_the_view_and_the_popup() {
    let mut h = Harness::connected();
    let fx = h.invite(3, "89161234567");
    let mut anna = contact("Anna");
    anna.account_name = Some("ООО «Ромашка»".into());
    h.identified(&fx, Identification::One(anna));
    let view = h.view();
    let found = view
        .call
        .as_ref()
        .and_then(|c| c.party.contact.as_ref())
        .expect("a contact");
    assert_eq!(found.name, "Anna");
    assert_eq!(found.company.as_deref(), Some("ООО «Ромашка»"));
    let popup = view
        .popup
        .as_ref()
        .and_then(|c| c.party.contact.as_ref())
        .expect("the popup's contact");
    assert_eq!(popup.company.as_deref(), Some("ООО «Ромашка»"));
}
