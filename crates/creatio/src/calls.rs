//! The `Call` record of one phone call, as pure functions from the call's timeline to OData
//! bodies (§5.1–§5.4).
//!
//! Creatio's own CTI lets the server derive timings from state changes (§5.2). An external
//! panel writes the same columns directly (§5.3): create on ring or dial with a client-chosen
//! `Id`, patch `ContactId`/`AccountId` once identified, patch the timings when the call ends.
//! A missed call is an incoming call with `EndDate` set and `TalkTime` 0 (§5.4), so an answered
//! call is always written with at least one second of talk.

use uuid::Uuid;

use crate::http::Method;
use crate::identify::{Subscriber, SubscriberKind};
use crate::session::ApiRequest;
use crate::wire::{
    CALL_DIRECTION_INCOMING, CALL_DIRECTION_NOT_DEFINED, CALL_DIRECTION_OUTGOING, CallPatch, CreatioTime, NewCall,
};

/// A fresh record id (version 4) from caller-supplied random bytes, so the core stays
/// deterministic and the driver decides where randomness comes from.
pub fn new_record_id(random: [u8; 16]) -> Uuid {
    uuid::Builder::from_random_bytes(random).into_uuid()
}

/// The call id Creatio's own Oktell connector uses: `<chainId>:<digits of the number with
/// leading zeros stripped>` (§6.4). Written as `IntegrationId`, it lets records from this
/// panel and from Creatio's connector be matched.
pub fn oktell_integration_id(chain_id: &str, number: &str) -> String {
    let digits: String = number.chars().filter(char::is_ascii_digit).collect();
    format!("{chain_id}:{}", digits.trim_start_matches('0'))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Direction {
    Incoming,
    Outgoing,
    /// Neither side is the operator's own line (e.g. a monitored call).
    Unknown,
}

impl Direction {
    /// The fixed `CallDirection` ids (§5.1).
    pub fn lookup_id(self) -> Uuid {
        match self {
            Direction::Incoming => CALL_DIRECTION_INCOMING,
            Direction::Outgoing => CALL_DIRECTION_OUTGOING,
            Direction::Unknown => CALL_DIRECTION_NOT_DEFINED,
        }
    }
}

/// One hold period; `resumed` is `None` while the call is still on hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Hold {
    pub started: CreatioTime,
    pub resumed: Option<CreatioTime>,
}

/// What the call model knows about a call, in wall-clock UTC.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct CallTimeline {
    /// The Creatio `Call.Id`, chosen when the call appears (see [`new_record_id`]).
    pub record_id: Uuid,
    /// The PBX call id; for Oktell, Creatio uses `<chainId>:<digits>` (§5.3, §6.4).
    pub integration_id: String,
    /// The record's display text, in the operator's language.
    pub caption: String,
    pub direction: Direction,
    pub caller_id: String,
    pub called_id: String,
    /// Ring start (incoming) or dial (outgoing).
    pub started: CreatioTime,
    /// First moment both parties were connected.
    pub answered: Option<CreatioTime>,
    pub holds: Vec<Hold>,
    pub ended: Option<CreatioTime>,
}

/// One write to Creatio's `Call` collection, as the outbox stores and replays it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum CallWrite {
    Create(NewCall),
    Update { id: Uuid, patch: CallPatch },
}

impl CallWrite {
    /// The `Call.Id` this write belongs to: writes of one call are delivered in order.
    pub fn call_id(&self) -> Uuid {
        match self {
            CallWrite::Create(new) => new.id,
            CallWrite::Update { id, .. } => *id,
        }
    }

    pub fn is_create(&self) -> bool {
        matches!(self, CallWrite::Create(_))
    }

    /// `POST Call` or `PATCH Call(<id>)`.
    pub fn request(&self) -> ApiRequest {
        match self {
            CallWrite::Create(new) => ApiRequest {
                method: Method::Post,
                resource: "Call".into(),
                body: serde_json::to_vec(new).ok(),
            },
            CallWrite::Update { id, patch } => ApiRequest {
                method: Method::Patch,
                resource: format!("Call({id})"),
                body: serde_json::to_vec(patch).ok(),
            },
        }
    }

    /// `GET Call(<id>)?$select=Id`: whether an earlier POST did create the record.
    pub fn confirm_request(&self) -> ApiRequest {
        ApiRequest {
            method: Method::Get,
            resource: format!("Call({})?$select=Id", self.call_id()),
            body: None,
        }
    }
}

/// The create, sent on ring or dial.
pub fn created(call: &CallTimeline) -> CallWrite {
    CallWrite::Create(NewCall {
        id: call.record_id,
        caption: call.caption.clone(),
        integration_id: call.integration_id.clone(),
        parent_call_id: String::new(),
        caller_id: call.caller_id.clone(),
        called_id: call.called_id.clone(),
        direction_id: call.direction.lookup_id(),
        start_date: call.started,
    })
}

/// The identification update: a contact brings its account along; an account alone sets
/// only `AccountId` (§5.2, `getCallFieldValuesBySubscriber`).
pub fn identified(record_id: Uuid, subscriber: &Subscriber) -> CallWrite {
    let patch = match subscriber.kind {
        SubscriberKind::Contact => CallPatch {
            contact_id: Some(subscriber.id),
            account_id: subscriber.account_id,
            ..CallPatch::default()
        },
        SubscriberKind::Account => CallPatch {
            account_id: Some(subscriber.id),
            ..CallPatch::default()
        },
    };
    CallWrite::Update { id: record_id, patch }
}

/// A transfer: who transferred (party B) and to whom (party C) (§5.1).
pub fn transferred(record_id: Uuid, redirecting: &str, redirection: &str) -> CallWrite {
    CallWrite::Update {
        id: record_id,
        patch: CallPatch {
            redirecting_id: Some(redirecting.to_owned()),
            redirection_id: Some(redirection.to_owned()),
            ..CallPatch::default()
        },
    }
}

/// Why an ended-call update cannot be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TimelineError {
    #[error("the call has not ended")]
    NotEnded,
}

/// The final update with every timing column, in whole seconds (§5.1):
///
/// * `Duration` = end − start;
/// * `BeforeConnectionTime` = answer − start (0 if never answered: Creatio sets it at the first
///   CONNECTED state, §5.2);
/// * `HoldTime` = the sum of hold periods (a hold still open at the end runs to the end);
/// * `TalkTime` = answer-to-end minus hold, at least 1 for an answered call so it never looks
///   missed, 0 if never answered.
pub fn ended(call: &CallTimeline) -> Result<CallWrite, TimelineError> {
    let end = call.ended.ok_or(TimelineError::NotEnded)?;
    let hold_time: i64 = call
        .holds
        .iter()
        .map(|h| h.started.whole_seconds_until(h.resumed.unwrap_or(end).min(end)))
        .sum();
    let (before_connection, talk) = match call.answered {
        Some(answered) => (
            call.started.whole_seconds_until(answered),
            (answered.whole_seconds_until(end) - hold_time).max(1),
        ),
        None => (0, 0),
    };
    Ok(CallWrite::Update {
        id: call.record_id,
        patch: CallPatch {
            end_date: Some(end),
            duration: Some(call.started.whole_seconds_until(end)),
            before_connection_time: Some(before_connection),
            talk_time: Some(talk),
            hold_time: Some(hold_time),
            ..CallPatch::default()
        },
    })
}
