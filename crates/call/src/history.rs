//! Recent calls, newest first, with the missed ones the operator has not looked at yet.
//!
//! The panel's own calls are joined with the list Creatio keeps for the operator (calls from before this start, or
//! taken at another workstation): a call the panel saw is shown as the panel saw it, because the panel knows how it
//! ended even when Creatio has not been told yet.

use std::collections::{HashSet, VecDeque};
use std::time::SystemTime;

use creatio::calls::Direction;
use creatio::identify::SubscriberKind;
use serde::Serialize;
use uuid::Uuid;

use crate::CallId;
use crate::phone;
use crate::view::{CallDirection, ContactView, PartyView, UNKNOWN_NUMBER};

/// How a finished call ended, from the operator's side.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Both sides talked.
    Answered,
    /// An incoming call nobody answered (shown highlighted).
    Missed,
    /// The operator refused an incoming call.
    Declined,
    /// An outgoing call that never connected.
    NotConnected,
}

/// One finished call as the history list shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HistoryEntry {
    /// The model's call id; `None` for a call only Creatio knows.
    pub id: Option<CallId>,
    /// The `Call.Id` of its Creatio record.
    pub record: Uuid,
    /// `panel` (this panel saw the call) or `creatio` (known from Creatio's list only).
    pub source: Source,
    /// `incoming` or `outgoing`.
    pub direction: CallDirection,
    /// The other party.
    pub party: PartyView,
    /// How it ended.
    pub outcome: Outcome,
    /// When it began ringing or dialling, in milliseconds since the Unix epoch.
    pub started_unix_ms: u64,
    /// Whole seconds of conversation (0 when never answered).
    pub talk_secs: u64,
    /// A missed call the operator has not looked at yet: highlight it.
    pub unseen: bool,
}

/// Where a history entry comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// The panel saw the call itself.
    Panel,
    /// Only Creatio's list has it.
    Creatio,
}

impl HistoryEntry {
    /// An entry of Creatio's list as the panel shows it; `None` for a call without an end yet (still going, or
    /// its end not written), which the history does not list. Missed follows Creatio's rule, so the panel and
    /// Creatio's own screens agree. Creatio's entries are never `unseen`: the operator was not told of them here.
    pub fn from_creatio(entry: &creatio::history::HistoryEntry) -> Option<HistoryEntry> {
        entry.ended?;
        let direction = match entry.direction {
            Direction::Outgoing => CallDirection::Outgoing,
            Direction::Incoming | Direction::Unknown => CallDirection::Incoming,
        };
        let talk_secs = u64::try_from(entry.talk_seconds).unwrap_or(0);
        let outcome = if entry.is_missed() {
            Outcome::Missed
        } else if talk_secs > 0 {
            Outcome::Answered
        } else {
            Outcome::NotConnected
        };
        let number = Some(entry.call_back_number().trim())
            .filter(|n| !n.is_empty())
            .map(str::to_owned);
        let number_display = number.as_deref().map(phone::format);
        let contact = entry
            .party
            .as_ref()
            .filter(|p| !p.name.is_empty())
            .map(|p| ContactView {
                kind: match p.kind {
                    SubscriberKind::Contact => "contact",
                    SubscriberKind::Account => "account",
                },
                id: p.id,
                name: p.name.clone(),
                // Creatio's history gives the party, not its company.
                company: None,
            });
        let shown = contact
            .as_ref()
            .map(|c| c.name.clone())
            .or_else(|| number_display.clone());
        let started = SystemTime::from(entry.started)
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
        Some(HistoryEntry {
            id: None,
            record: entry.call_id,
            source: Source::Creatio,
            direction,
            party: PartyView {
                number,
                unknown: shown.is_none(),
                display: shown.unwrap_or_else(|| UNKNOWN_NUMBER.into()),
                number_display,
                lookup: if contact.is_some() { "found" } else { "none" },
                contact,
            },
            outcome,
            started_unix_ms: started,
            talk_secs,
            unseen: false,
        })
    }
}

/// The bounded history: the panel's own calls and the last list Creatio gave.
#[derive(Debug, Clone)]
pub(crate) struct History {
    entries: VecDeque<HistoryEntry>,
    creatio: Vec<HistoryEntry>,
    offline: Option<String>,
    limit: usize,
}

impl History {
    pub(crate) fn new(limit: usize) -> History {
        History {
            entries: VecDeque::new(),
            creatio: Vec::new(),
            offline: None,
            limit,
        }
    }

    /// Replaces Creatio's list. `offline` says why it is the outbox's local copy rather than Creatio's own.
    pub(crate) fn set_creatio(&mut self, entries: &[creatio::history::HistoryEntry], offline: Option<String>) {
        self.creatio = entries.iter().filter_map(HistoryEntry::from_creatio).collect();
        self.offline = offline;
    }

    /// Why Creatio's list could not be fetched, if it could not.
    pub(crate) fn offline(&self) -> Option<&str> {
        self.offline.as_deref()
    }

    /// Adds a finished call in front, dropping the oldest beyond the limit.
    pub(crate) fn push(&mut self, entry: HistoryEntry) {
        self.entries.push_front(entry);
        self.entries.truncate(self.limit);
    }

    /// The operator saw the missed calls.
    pub(crate) fn mark_seen(&mut self) {
        for entry in &mut self.entries {
            entry.unseen = false;
        }
    }

    pub(crate) fn unseen_missed(&self) -> usize {
        self.entries.iter().filter(|e| e.unseen).count()
    }

    /// The panel's calls and Creatio's, newest first, each call once (the panel's entry wins), within the limit.
    pub(crate) fn entries(&self) -> Vec<HistoryEntry> {
        let seen: HashSet<Uuid> = self.entries.iter().map(|e| e.record).collect();
        let mut merged: Vec<HistoryEntry> = self
            .entries
            .iter()
            .chain(self.creatio.iter().filter(|e| !seen.contains(&e.record)))
            .cloned()
            .collect();
        merged.sort_by_key(|e| std::cmp::Reverse(e.started_unix_ms));
        merged.truncate(self.limit);
        merged
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(id: u64, outcome: Outcome) -> HistoryEntry {
        HistoryEntry {
            id: Some(CallId(id)),
            record: Uuid::from_u128(u128::from(id)),
            source: Source::Panel,
            direction: CallDirection::Incoming,
            party: PartyView {
                number: None,
                unknown: true,
                display: UNKNOWN_NUMBER.into(),
                number_display: None,
                lookup: "none",
                contact: None,
            },
            outcome,
            started_unix_ms: id,
            talk_secs: 0,
            unseen: outcome == Outcome::Missed,
        }
    }

    #[test]
    fn keeps_the_newest_within_the_limit() {
        let mut history = History::new(2);
        history.push(entry(1, Outcome::Missed));
        history.push(entry(2, Outcome::Answered));
        history.push(entry(3, Outcome::Missed));
        let ids: Vec<u64> = history.entries().iter().filter_map(|e| e.id).map(|e| e.0).collect();
        assert_eq!(ids, vec![3, 2]);
        assert_eq!(history.unseen_missed(), 1, "the oldest missed call fell off");
        history.mark_seen();
        assert_eq!(history.unseen_missed(), 0);
    }
}
