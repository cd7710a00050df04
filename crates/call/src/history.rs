//! Recent calls, newest first, with the missed ones the operator has not looked at yet.

use std::collections::VecDeque;

use serde::Serialize;

use crate::CallId;
use crate::view::{CallDirection, PartyView};

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
    /// The model's call id.
    pub id: CallId,
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

/// The bounded history.
#[derive(Debug, Clone)]
pub(crate) struct History {
    entries: VecDeque<HistoryEntry>,
    limit: usize,
}

impl History {
    pub(crate) fn new(limit: usize) -> History {
        History {
            entries: VecDeque::new(),
            limit,
        }
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

    pub(crate) fn entries(&self) -> impl Iterator<Item = &HistoryEntry> {
        self.entries.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(id: u64, outcome: Outcome) -> HistoryEntry {
        HistoryEntry {
            id: CallId(id),
            direction: CallDirection::Incoming,
            party: PartyView {
                number: None,
                display: "Unknown number".into(),
                number_display: None,
                lookup: "none",
                contact: None,
            },
            outcome,
            started_unix_ms: 0,
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
        let ids: Vec<u64> = history.entries().map(|e| e.id.0).collect();
        assert_eq!(ids, vec![3, 2]);
        assert_eq!(history.unseen_missed(), 1, "the oldest missed call fell off");
        history.mark_seen();
        assert_eq!(history.unseen_missed(), 0);
    }
}
