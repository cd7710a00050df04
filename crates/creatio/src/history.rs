//! The operator's recent calls, for the panel's history list with call back (§5.4).
//!
//! Creatio's CTI panel lists the calls the user created (`VwRecentCall` by `CreatedById`), newest first, with the
//! contact or account of each. The panel asks OData the same: first which contact the logged-in user is
//! ([`user_query`], once per session), then that contact's `Call` records ordered by `StartDate` desc
//! ([`calls_query`]). An incoming call that ended with no talk time is missed, exactly as Creatio shows it.
//!
//! The same [`HistoryEntry`] is also folded locally from the writes the panel records ([`HistoryEntry::apply`]),
//! so the list survives Creatio being offline and shows calls still waiting in the outbox; [`merge`] joins both.

use uuid::Uuid;

use crate::calls::{CallWrite, Direction};
use crate::error::MalformedError;
use crate::http::{HttpResponse, Method};
use crate::identify::{SubscriberKind, query};
use crate::session::ApiRequest;
use crate::wire::{
    CALL_DIRECTION_INCOMING, CALL_DIRECTION_OUTGOING, CallWithParties, Collection, CreatioTime, ODataError,
    SysAdminUnit,
};

/// How many calls the history shows unless asked otherwise (`CommunicationHistoryRowCount`, `[INF]` value).
pub const DEFAULT_LIMIT: usize = 30;

/// Who the call was with, as Creatio identified them.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct HistoryParty {
    pub kind: SubscriberKind,
    pub id: Uuid,
    /// Empty when only the id is known (a call identified before a restart, shown offline).
    pub name: String,
}

/// One call of the operator's history.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct HistoryEntry {
    /// The `Call.Id`.
    pub call_id: Uuid,
    pub direction: Direction,
    pub caller_id: String,
    pub called_id: String,
    pub started: CreatioTime,
    /// `None` while the call lasts (or its end is not written yet).
    pub ended: Option<CreatioTime>,
    pub talk_seconds: i64,
    pub party: Option<HistoryParty>,
    /// Creatio has the record; `false` for a call whose writes still wait in the outbox.
    pub in_creatio: bool,
}

impl HistoryEntry {
    /// Creatio's rule (§5.4): an incoming call with an end and no talk time is missed.
    pub fn is_missed(&self) -> bool {
        self.direction == Direction::Incoming && self.ended.is_some() && self.talk_seconds == 0
    }

    /// The number to dial to call the other party back.
    pub fn call_back_number(&self) -> &str {
        match self.direction {
            Direction::Outgoing => &self.called_id,
            Direction::Incoming | Direction::Unknown => &self.caller_id,
        }
    }

    /// Folds one recorded write into the local history: a create starts an entry, an update fills it in.
    /// `name_of` gives the display name of an identified contact or account when the panel knows it. An update
    /// for a call this history never saw (`entry` is `None`) has nothing to fill in and yields `None`.
    pub fn apply(
        entry: Option<HistoryEntry>,
        write: &CallWrite,
        name_of: impl Fn(Uuid) -> Option<String>,
    ) -> Option<HistoryEntry> {
        match write {
            CallWrite::Create(new) => Some(HistoryEntry {
                call_id: new.id,
                direction: direction_of(new.direction_id),
                caller_id: new.caller_id.clone(),
                called_id: new.called_id.clone(),
                started: new.start_date,
                ended: None,
                talk_seconds: 0,
                party: None,
                in_creatio: false,
            }),
            CallWrite::Update { patch, .. } => {
                let mut entry = entry?;
                let party = match (patch.contact_id, patch.account_id) {
                    (Some(id), _) => Some((SubscriberKind::Contact, id)),
                    (None, Some(id)) => Some((SubscriberKind::Account, id)),
                    (None, None) => None,
                };
                if let Some((kind, id)) = party {
                    entry.party = Some(HistoryParty {
                        kind,
                        id,
                        name: name_of(id).unwrap_or_default(),
                    });
                }
                if let Some(end) = patch.end_date {
                    entry.ended = Some(end);
                }
                if let Some(talk) = patch.talk_time {
                    entry.talk_seconds = talk;
                }
                Some(entry)
            }
        }
    }
}

/// Why Creatio's history could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum HistoryError {
    #[error(transparent)]
    Malformed(#[from] MalformedError),
    #[error("Creatio refused the call history query (HTTP {status}): {message}")]
    Rejected { status: u16, message: String },
    /// The login has no user row with a contact: Creatio cannot say which calls are the operator's.
    #[error("Creatio has no contact for the user {0}")]
    NoSuchUser(String),
}

/// `SysAdminUnit?$filter=Name eq '<login>'`: the user's contact.
pub fn user_query(login: &str) -> ApiRequest {
    let literal = login.replace('\'', "''");
    ApiRequest {
        method: Method::Get,
        resource: query(
            "SysAdminUnit",
            &[
                ("$filter", format!("Name eq '{literal}'")),
                ("$select", "Id,Name,ContactId".into()),
                ("$top", "1".into()),
            ],
        ),
        body: None,
    }
}

/// The contact of the user asked for by [`user_query`].
pub fn user_contact(login: &str, response: &HttpResponse) -> Result<Uuid, HistoryError> {
    if !response.is_success() || response.looks_like_html() {
        return Err(rejected(response));
    }
    let rows: Collection<SysAdminUnit> =
        serde_json::from_slice(&response.body).map_err(|e| MalformedError::json("the user's contact", &e))?;
    rows.value
        .into_iter()
        .find_map(|user| user.contact_id)
        .ok_or_else(|| HistoryError::NoSuchUser(login.to_owned()))
}

/// The newest `limit` calls the user's contact created, with their contact and account.
pub fn calls_query(contact: Uuid, limit: usize) -> ApiRequest {
    ApiRequest {
        method: Method::Get,
        resource: query(
            "Call",
            &[
                ("$filter", format!("CreatedById eq {contact}")),
                (
                    "$select",
                    "Id,CallerId,CalledId,DirectionId,StartDate,EndDate,TalkTime,ContactId,AccountId".into(),
                ),
                ("$expand", "Contact,Account".into()),
                ("$orderby", "StartDate desc".into()),
                ("$top", limit.to_string()),
            ],
        ),
        body: None,
    }
}

/// The entries of an answer to [`calls_query`], in Creatio's order. A row without a start date is skipped: it
/// is not a call a history can place.
pub fn from_creatio(response: &HttpResponse) -> Result<Vec<HistoryEntry>, HistoryError> {
    if !response.is_success() || response.looks_like_html() {
        return Err(rejected(response));
    }
    let rows: Collection<CallWithParties> =
        serde_json::from_slice(&response.body).map_err(|e| MalformedError::json("the call history", &e))?;
    Ok(rows
        .value
        .into_iter()
        .filter_map(|row| {
            let call = row.call;
            let party = match (row.contact, row.account) {
                (Some(contact), _) => Some(HistoryParty {
                    kind: SubscriberKind::Contact,
                    id: contact.id,
                    name: contact.name,
                }),
                (None, Some(account)) => Some(HistoryParty {
                    kind: SubscriberKind::Account,
                    id: account.id,
                    name: account.name,
                }),
                (None, None) => None,
            };
            Some(HistoryEntry {
                call_id: call.id,
                direction: call.direction_id.map_or(Direction::Unknown, direction_of),
                caller_id: call.caller_id,
                called_id: call.called_id,
                started: call.start_date?,
                ended: call.end_date,
                talk_seconds: call.talk_time,
                party,
                in_creatio: true,
            })
        })
        .collect())
}

/// Creatio's entries plus the local ones Creatio does not have yet (still in the outbox), newest first, at most
/// `limit`. Creatio's copy wins for a call both have: it carries names the panel may not know.
pub fn merge(creatio: Vec<HistoryEntry>, local: Vec<HistoryEntry>, limit: usize) -> Vec<HistoryEntry> {
    let mut entries = creatio;
    let missing: Vec<HistoryEntry> = local
        .into_iter()
        .filter(|l| !l.in_creatio && !entries.iter().any(|e| e.call_id == l.call_id))
        .collect();
    entries.extend(missing);
    entries.sort_by_key(|e| std::cmp::Reverse(e.started));
    entries.truncate(limit);
    entries
}

fn direction_of(id: Uuid) -> Direction {
    match id {
        CALL_DIRECTION_INCOMING => Direction::Incoming,
        CALL_DIRECTION_OUTGOING => Direction::Outgoing,
        _ => Direction::Unknown,
    }
}

fn rejected(response: &HttpResponse) -> HistoryError {
    let message = ODataError::parse(&response.body)
        .map(|e| e.best_message().to_owned())
        .unwrap_or_default();
    HistoryError::Rejected {
        status: response.status,
        message,
    }
}
